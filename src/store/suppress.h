/*
 * suppress: the suppression list and the strikes that lead to it, SQLite in
 * the state directory (suppress.db, its own file: `sluice suppress` and a
 * running send/serve can both write it; the queue's single writer is never
 * held up by it). This module owns that file and its SQL.
 *
 * An address is suppressed with a reason (hard_bounce, rcpt_strikes,
 * soft_bounce_limit, complaint, unsubscribe, manual), its evidence (the reply
 * or report that caused it) and the time; in a scope: "" for every sender,
 * or one sender domain. Addresses are compared case-insensitively (ASCII).
 *
 * Strikes are kept per address, kind and day (one a day counts); how many
 * days and over what span is what the list policy reads. Which of these
 * writes an outcome calls for, and when strikes become a suppression, is
 * not decided here: that is the outcome module's (engine/outcome.h).
 * Writes go into an open transaction committed by suppress_commit (the
 * caller's group commit).
 */
#ifndef SLUICE_STORE_SUPPRESS_H
#define SLUICE_STORE_SUPPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "mail/config.h"
#include "util/err.h"

struct suppress;

struct suppression {
	const char *address, *scope, *reason, *evidence;
	int64_t created_s;
};

int suppress_open(const char *dir, struct suppress **out, struct err *e);
void suppress_close(struct suppress *s); /* commits what is pending */
int suppress_commit(struct suppress *s, struct err *e);
/* Changes when another process commits to the list (SQLite's data_version;
 * this connection's own writes leave it alone); -1 on error. */
int64_t suppress_version(struct suppress *s);

/* 1 added, 0 already suppressed in that scope, -1 error. */
int suppress_add(struct suppress *s, const char *address, const char *scope, const char *reason,
                 const char *evidence, int64_t now_s, struct err *e);
/* Removes the address from scope (NULL: every scope) and clears its
 * strikes; returns how many entries went, or -1. */
int suppress_remove(struct suppress *s, const char *address, const char *scope, struct err *e);
/* 1 if the address is suppressed for every sender or for sender_domain
 * (reason copied into reason[32]), 0 if not, -1 on error. */
int suppress_check(struct suppress *s, const char *address, const char *sender_domain,
                   char reason[32], struct err *e);
typedef void (*suppress_fn)(void *arg, const struct suppression *r);
int suppress_list(struct suppress *s, suppress_fn cb, void *arg, struct err *e);

/* The kinds of strike: an ambiguous 5xx at RCPT, and a soft bounce (a full
 * mailbox, or a recipient that expired after 4xx replies). */
enum suppress_strike { STRIKE_RCPT, STRIKE_SOFT };

/* Records a strike of kind for the day of now_s (evidence: the reply);
 * sets *days to the distinct days with one and *span_s to the time from
 * the first of them to the last. 0 or -1. */
int suppress_strike(struct suppress *s, const char *address, enum suppress_strike kind,
                    const char *evidence, int64_t now_s, int *days, int64_t *span_s, struct err *e);
/* Clears the address's strikes: 1 if it had some, 0 if not (known from
 * memory, no SQL: every delivery asks), -1 on error. */
int suppress_clear_strikes(struct suppress *s, const char *address, struct err *e);

#endif
