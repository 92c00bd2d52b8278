/*
 * throttle: one site's pacing, as limits (from its policy) and the state the
 * reply rules put it in. Owned by the scheduler's site; it only answers "may
 * I open a connection / send a message now, and if not, when".
 *
 * A rule that suspends does so adaptively (shape/learn.h): a minute first,
 * doubling per repeated throttle up to the rule's suspend, and the site's
 * learned rate and connection cap come on top of its policy. Slow start:
 * a new site gets `initial` connections and one more per delivery only
 * when every connection it has is open and accepted, at most one more per
 * RAMP_STEP_MS.
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
#include "shape/learn.h"

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
	int64_t ramp_ms;            /* when it last grew */
	int established;            /* connections open and accepted now (the engine's count) */
	struct learn lr;            /* what the receiver taught (shape/learn.h) */
	int rate_elsewhere;         /* the learned rate is kept elsewhere (a provider's,
	                             * engine/site.c): lr only suspends and caps connections */
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
 * (suspension, factor, ceilings), slow start and what was learned are kept. */
void throttle_set_policy(struct throttle *t, const struct policy *was, const struct policy *p,
                         int64_t now_ms);
/* The connection cap now (at least one). */
int throttle_max_connections(struct throttle *t, int64_t now_ms);
/* 0: go ahead (a token was taken); else milliseconds to wait. */
int64_t throttle_wait_message(struct throttle *t, int64_t now_ms);
int64_t throttle_wait_connection(struct throttle *t, int64_t now_ms);
/* A rule fired on a reply (text for the reason). A suspending rule
 * suspends adaptively (learn_throttled); while suspended, further matches
 * (refusals of messages already under way) only update the reason. */
void throttle_apply(struct throttle *t, const struct reply_rule *r, const char *reply_text,
                    int64_t now_ms);
/* A session could not reach the site at all / delivered something. Repeated
 * failures suspend the site for 1, 2, 4 ... at most 30 minutes. */
void throttle_connection_failed(struct throttle *t, const char *why, int64_t now_ms);
void throttle_connection_worked(struct throttle *t);
/* A connection was refused at the greeting by a reply rule r (or closed
 * there): 1 if other connections were open and accepted (the learned cap
 * becomes their number; nothing else happens), else 0 (the caller applies
 * the rule as a throttle). */
int throttle_refused_connection(struct throttle *t, const char *why, int64_t now_ms);
/* The engine's count of the site's connections open and accepted. */
void throttle_set_established(struct throttle *t, int n);
/* A message was accepted (feeds the observed rate and the learning). */
void throttle_delivered(struct throttle *t, int64_t now_ms);
/* What the store kept (learn_restore): suspension, rate, connections. */
void throttle_restore_learned(struct throttle *t, const struct learn_kept *k, int64_t now_ms,
                              int64_t now_s);
/* 1 and *k filled when the learned state changed since the last call. */
int throttle_learned_changed(struct throttle *t, int64_t now_ms, int64_t now_s,
                             struct learn_kept *k);
/* The message rate in force now (per second; 0: unlimited). */
double throttle_message_rate(const struct throttle *t);
int throttle_suspended(const struct throttle *t, int64_t now_ms);

#endif
