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
 * The policy (suppress_outcome) reads one delivery outcome:
 *  - MAIL FROM, DATA and connection-level failures never touch the recipient;
 *  - at RCPT (or in a DSN), a permanent invalid_recipient/mailbox_disabled
 *    reply suppresses at once; another 5xx that is about the recipient counts
 *    a strike, and strikes on policy.rcpt_strikes different days suppress;
 *  - mailbox_full, or a recipient that expired after 4xx replies about it,
 *    counts a soft bounce; policy.soft_bounces of them on different days
 *    spanning at least policy.soft_span_s suppress;
 *  - a delivery clears the address's strikes.
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
struct classification;

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

/* One outcome for the policy: stage is where it failed ("rcpt", "mail",
 * "dsn", ...), final is 1 when the recipient is done (bounced or expired),
 * delivered 1 on success. */
struct suppress_event {
	const char *address;
	const char *scope; /* "" or the sender domain (config suppression.scope) */
	const char *stage;
	int code;
	const struct classification *cls;
	int delivered, expired;
	const char *evidence;
	int64_t now_s;
};

/* Applies the policy; *action (may be NULL) is set to what it did: NULL,
 * "strike", "soft_bounce", "cleared" or the suppression reason. 0 or -1. */
int suppress_outcome(struct suppress *s, const struct suppression_policy *pol,
                     const struct suppress_event *ev, const char **action, struct err *e);

#endif
