/*
 * lookup: what the HTTP API shows of the queue: a recipient address's rows
 * in every campaign (newest first, at most STORE_LOOKUP_MAX), for
 * GET /v1/recipients/{address}, and a submitted message's recipients by
 * its queue id for GET /v1/messages/{id}.
 * Read-only; strings in the callback live for the call only.
 */
#ifndef SLUICE_STORE_LOOKUP_H
#define SLUICE_STORE_LOOKUP_H

#include <stdint.h>

#include "util/err.h"

#define STORE_LOOKUP_MAX        200
#define STORE_MESSAGE_RCPTS_MAX 10000 /* recipients of one message shown */

struct store;

struct rcpt_row {
	int64_t id;
	const char *campaign, *mailbox;
	int state; /* enum rcpt_state */
	int attempts;
	int64_t queued_at_s, next_attempt_s;
	int last_code; /* 0: no reply yet */
	const char *last_enhanced, *last_reply, *last_stage, *category;
	const char *last_mx; /* "" when no MX answered yet */
};

typedef void (*store_rcpt_row_fn)(void *arg, const struct rcpt_row *r);
/* The rows whose mailbox is mailbox (as queued: lowercase domain). 0 or -1. */
int store_rcpt_lookup(struct store *s, const char *mailbox, store_rcpt_row_fn cb, void *arg,
                      struct err *e);
/* The rows of campaign with ids in [first, last]. 0 or -1. */
int store_rcpt_range(struct store *s, const char *campaign, int64_t first, int64_t last,
                     store_rcpt_row_fn cb, void *arg, struct err *e);

/* A submitted message (table message) as GET /v1/messages/{id} shows it. */
struct store_message_info {
	int64_t id;
	char mail_from[512]; /* the envelope sender ("" for a DSN) */
	int64_t created_s;
};
/* The message of queue id qid if it is tenant's: 1, out filled and cb
 * called for each of its recipients (at most STORE_MESSAGE_RCPTS_MAX, in
 * order); 0 if there is none (or it is another tenant's); -1 with e. */
int store_message_lookup(struct store *s, const char *qid, const char *tenant,
                         struct store_message_info *out, store_rcpt_row_fn cb, void *arg,
                         struct err *e);

#endif
