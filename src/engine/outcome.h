/*
 * outcome: what one reply means, decided in one place. Given the stage, the
 * reply, its classification (mail/classify.h), the recipient's attempts and
 * queued time, the config and a few flags, outcome_decide says
 *  - the recipient's fate: its state, the outcome name the delivery log
 *    prints, its next attempt when deferred;
 *  - the category the log prints;
 *  - the list action: suppress now, count a strike, count a soft bounce,
 *    clear strikes, or nothing (the thresholds that turn strikes into a
 *    suppression are outcome_strike_verdict's);
 *  - the site action: apply a reply rule, count a delivery, refuse the
 *    campaign at this site after the receiver refused its sender;
 *  - what the danger-sign monitor counts (engine/monitor.h).
 * It is a pure function: no I/O, no globals, the clock passed in. The
 * scheduler's record_outcome applies each effect through its owner (the
 * store, the suppression list, the throttle, the log, the monitor, the
 * lane); the inbound service applies the list action of a DSN with
 * outcome_list_action and outcome_list_apply, the same decision.
 *
 * The rule: the reply's code class decides the recipient's fate (2xx
 * delivered; 5xx bounced; 4xx deferred with backoff until
 * delivery.max_lifetime, then expired), with one exception that is about
 * who was refused, not how hard: a receiver's 5xx at MAIL FROM refuses the
 * sender, so the recipient stays queued for a later attempt. The
 * classifier's `permanent` is read only by list hygiene (whether an
 * invalid_recipient or mailbox_disabled reply suppresses at once or counts
 * a strike); the category never changes a fate, it only shortens a
 * greylisted deferral and steers the list and the monitor.
 *
 * Time limits: the lifetime (retry.max_lifetime) counts from the later of
 * the queueing and the recipient's send time, and a last attempt is made at
 * its end. A recipient's own expiry (expires_at), when it comes first, is
 * stricter: no retry is set past it (the next attempt is capped at it) and
 * nothing is sent at or after it (outcome_past_expiry, asked when a
 * recipient is loaded and when it is handed to a session): it ends as
 * expired at stage STAGE_EXPIRY with category CAT_EXPIRED, no attempt
 * counted. An expiry the sender chose says nothing of the address: it
 * never counts a soft bounce.
 */
#ifndef SLUICE_ENGINE_OUTCOME_H
#define SLUICE_ENGINE_OUTCOME_H

#include <stdint.h>

#include "mail/category.h"
#include "mail/config.h"
#include "mail/reply.h"
#include "mail/stage.h"
#include "store/store.h"
#include "util/err.h"

struct classification;
struct rules;
struct reply_rule;
struct suppress;

/* What list hygiene does with an outcome. */
enum outcome_list {
	OUTCOME_LIST_NONE = 0,
	OUTCOME_LIST_SUPPRESS,    /* hard_bounce: the address is dead, suppress now */
	OUTCOME_LIST_STRIKE,      /* an ambiguous 5xx about the recipient */
	OUTCOME_LIST_SOFT_BOUNCE, /* a full mailbox, or expired after 4xx replies */
	OUTCOME_LIST_CLEAR,       /* delivered: its strikes go */
};

/* Which scheduler counter (scheduler_stats) an outcome adds to. */
enum outcome_count { OC_DELIVERED, OC_BOUNCED, OC_DEFERRED, OC_EXPIRED, OC_SUPPRESSED };

struct outcome_in {
	enum stage stage;
	const struct reply *reply;
	const struct classification *cls;
	const struct config *cfg;
	int64_t now_s;             /* wall clock */
	int attempts;              /* made before this one */
	int64_t queued_at_s;       /* when the recipient was queued */
	int64_t due_s;             /* its next attempt time as fetched (kept by retry_now) */
	int64_t send_at_s;         /* its send time, 0: none (the lifetime counts from it) */
	int64_t expires_at_s;      /* its own expiry, 0: none */
	const char *suppressed;    /* not attempted: suppressed since queued (the reason) */
	int retry_now;             /* the connection dropped after deliveries on it: go
	                            * again at once from memory (the caller only sets it
	                            * for a recipient at a site while not stopping) */
	int at_site;               /* the recipient reached a site (its MX answer) */
	const struct rules *rules; /* reply rules; NULL: none */
	const char *mx_host;       /* who answered, for site-specific rules; may be NULL */
};

/* The monitor's input (engine/monitor.h): what this outcome counts as. */
struct outcome_signs {
	int counted;           /* 0: no attempt was made (suppressed since queued) */
	int delivered;         /* 2xx */
	int rcpt_failed;       /* 5xx at RCPT TO */
	int sender_rejected;   /* the receiver refused the sender or the content */
	int provider_tried;    /* an attempt towards a provider's deferral rate (not greylisted) */
	int provider_deferred; /* ... and it was deferred (4xx) */
};

struct outcome {
	/* the recipient */
	enum rcpt_state state;
	const char *name; /* delivered, bounced, deferred, expired, suppressed */
	enum outcome_count count;
	int attempts;           /* with this one */
	int64_t next_attempt_s; /* while queued */
	int retry_now;          /* queued and to be retried at once from memory */
	int own_expiry;         /* expired at the recipient's own expiry (not the lifetime) */
	enum category category;
	/* the suppression list */
	enum outcome_list list;
	/* the site */
	const struct reply_rule *rule; /* apply it to the site's throttle, or NULL */
	int site_delivered;            /* count a delivery (warm-up, pacing) */
	int refuse_campaign;           /* sender refused at MAIL FROM: the campaign starts
	                                * nothing at this site until next_attempt_s */
	int passed_mail;               /* the transaction got past MAIL FROM (lane) */
	int source_blocked;            /* a block_source rule matched: deferred, never
	                                * bounced; the caller blocks the source and
	                                * retries from the next healthy one */
	/* the monitor */
	struct outcome_signs signs;
};

/* Decides what one attempt (or a recipient ended unsent) means. A
 * recipient ended at its own expiry is decided at stage STAGE_EXPIRY. */
void outcome_decide(const struct outcome_in *in, struct outcome *out);
/* 1 if a recipient with expiry expires_at_s (0: none) must not be sent at
 * now_s: it is ended at stage STAGE_EXPIRY instead. */
static inline int outcome_past_expiry(int64_t expires_at_s, int64_t now_s)
{
	return expires_at_s > 0 && now_s >= expires_at_s;
}
/* Backoff before attempt n+1 after n failed attempts: min * 2^(n-1), capped. */
int64_t outcome_backoff_s(int attempts, int64_t min_s, int64_t max_s);

/* The list action for a reply at stage: code and classification c; expired
 * 1 when the recipient ended as expired. delivered (2xx) clears; failures
 * at MAIL FROM, DATA, the dot or the connection, and categories about the
 * sender, the content or the moment, never touch the recipient. */
enum outcome_list outcome_list_action(enum stage stage, int code, const struct classification *c,
                                      int expired);

/* After a strike (OUTCOME_LIST_STRIKE or _SOFT_BOUNCE) the address has one
 * on days different days spanning span_s: the action the log prints
 * ("strike", "rcpt_strikes", "soft_bounce", "soft_bounce_limit"); *suppress
 * set to 1 when that many suppress the address (the name is the reason). */
const char *outcome_strike_verdict(const struct suppression_policy *pol, enum outcome_list act,
                                   int days, int64_t span_s, int *suppress);

/* The recipient a list action is about, and the reply that caused it. */
struct outcome_subject {
	const char *address, *scope; /* scope: "" or the sender domain */
	enum stage stage;
	int code;
	const char *evidence; /* the reply text */
	int64_t now_s;
};

/* Writes list action act through the suppression list (store/suppress.h);
 * *action (may be NULL) is set to what the log prints: NULL, "cleared",
 * "strike", "soft_bounce" or the suppression reason. 0 or -1. */
int outcome_list_apply(struct suppress *sp, const struct suppression_policy *pol,
                       enum outcome_list act, const struct outcome_subject *who,
                       const char **action, struct err *e);

#endif
