/*
 * throttle: one site's pacing, as limits (from its policy) and the state the
 * reply rules put it in. Owned by the scheduler's site; it only answers "may
 * I open a connection / send a message now, and if not, when".
 *
 * Invariant: whatever rules fire, a suspension ends (bounded by the rule)
 * and the factor never drops below RULE_FACTOR_MIN nor the connection cap
 * below one, so no rule can stop a site forever.
 */
#ifndef SLUICE_SHAPE_THROTTLE_H
#define SLUICE_SHAPE_THROTTLE_H

#include <stdint.h>

#include "mail/config.h"
#include "shape/bucket.h"

#define THROTTLE_REASON_MAX 300

struct throttle {
	struct policy base; /* the configured limits */
	struct bucket messages, connections;
	double factor;          /* 1: as configured; less after throttling replies */
	double ceil_rate;       /* a rule's "rate": at most this (0: none) */
	int ceil_connections;   /* a rule's "connections": at most this (0: none) */
	double first_ceil_rate; /* the ceilings as the rule set them */
	int first_ceil_connections;
	int64_t suspended_until_ms; /* 0: not suspended */
	int64_t restore_at_ms;      /* when the factor next steps back up */
	int64_t step_ms;            /* the duration of the rule that fired last */
	int conn_failures;          /* consecutive sessions that got nowhere */
	int ramp;                   /* slow start: the connection cap earned so far */
	/* the rate the site accepted lately, so that a rule can scale a site
	 * that has no configured rate: counts per window, the last full one */
	int64_t window_start_ms;
	int64_t window_count;
	double observed_rate;             /* messages per second in the last full window */
	char reason[THROTTLE_REASON_MAX]; /* the rule and reply behind the state */
};

/* initial: the connection cap at first (slow start), growing by one per
 * delivery up to the policy's max_connections. */
void throttle_init(struct throttle *t, const struct policy *p, int initial, int64_t now_ms);
/* New configured limits (a reload): was is the policy t was configured
 * with, p the new one. The state the reply rules put the site in
 * (suspension, factor, ceilings) and slow start are kept; a rate learned
 * because none was configured is kept while none is. */
void throttle_set_policy(struct throttle *t, const struct policy *was, const struct policy *p,
                         int64_t now_ms);
/* The connection cap now (at least one). */
int throttle_max_connections(struct throttle *t, int64_t now_ms);
/* 0: go ahead (a token was taken); else milliseconds to wait. */
int64_t throttle_wait_message(struct throttle *t, int64_t now_ms);
int64_t throttle_wait_connection(struct throttle *t, int64_t now_ms);
/* A rule fired on a reply (text for the reason). */
void throttle_apply(struct throttle *t, const struct reply_rule *r, const char *reply_text,
                    int64_t now_ms);
/* A session could not reach the site at all / delivered something. Repeated
 * failures suspend the site for 1, 2, 4 ... at most 30 minutes. */
void throttle_connection_failed(struct throttle *t, const char *why, int64_t now_ms);
void throttle_connection_worked(struct throttle *t);
/* A message was accepted (feeds the observed rate). */
void throttle_delivered(struct throttle *t, int64_t now_ms);
/* The message rate in force now (per second; 0: unlimited). */
double throttle_message_rate(const struct throttle *t);
int throttle_suspended(const struct throttle *t, int64_t now_ms);

#endif
