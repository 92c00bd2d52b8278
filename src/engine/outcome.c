/* outcome: see outcome.h. Pure: no I/O, no globals, no clock of its own. */
#include "engine/outcome.h"

#include <stddef.h>

#include "mail/classify.h"
#include "shape/rules.h"

/* How long a campaign starts nothing at a site that refused its sender at
 * MAIL FROM: the longest retry backoff, at least a minute. */
#define SENDER_REFUSED_WAIT_S(cfg) ((cfg)->max_backoff_s > 60 ? (cfg)->max_backoff_s : 60)

int64_t outcome_backoff_s(int attempts, int64_t min_s, int64_t max_s)
{
	int64_t b = min_s;

	for (int i = 1; i < attempts && b < max_s; i++)
		b *= 2;
	return b > max_s ? max_s : b;
}

/* Categories that speak of the sender, the content or the moment, never of
 * the recipient's address: they never count against it. */
static int about_sender(enum category c)
{
	switch (c) {
	case CAT_GREYLISTED:
	case CAT_RATE_LIMITED:
	case CAT_REPUTATION_BLOCK:
	case CAT_SPAM_CONTENT:
	case CAT_AUTH_FAILURE:
	case CAT_MESSAGE_TOO_LARGE:
	case CAT_TLS_REQUIRED:
	case CAT_PROTOCOL_ERROR:
		return 1;
	default:
		return 0;
	}
}

/* Categories about the recipient: a refusal after the dot with one of
 * them is that recipient's outcome, not a danger sign. */
static int about_recipient(enum category c)
{
	return c == CAT_INVALID_RECIPIENT || c == CAT_MAILBOX_FULL || c == CAT_MAILBOX_DISABLED ||
	       c == CAT_MESSAGE_TOO_LARGE;
}

/* Whether a reply rejects the sender or the content (a danger sign), from
 * its stage and category together: a permanent refusal by the receiver at
 * MAIL FROM, DATA or after the dot, unless its category is about the
 * recipient, or a reputation or spam refusal at any stage. A refusal
 * sluice made itself (local) is never one. */
static int sender_rejection(enum stage stage, int code, enum category c, int local)
{
	if (local || code / 100 != 5 || about_recipient(c))
		return 0;
	return stage == STAGE_MAIL || stage == STAGE_DATA || stage == STAGE_DOT ||
	       c == CAT_REPUTATION_BLOCK || c == CAT_SPAM_CONTENT;
}

enum outcome_list outcome_list_action(enum stage stage, int code, const struct classification *c,
                                      int expired)
{
	if (code / 100 == 2)
		return OUTCOME_LIST_CLEAR;
	if ((stage != STAGE_RCPT && stage != STAGE_DSN) || about_sender(c->category))
		return OUTCOME_LIST_NONE; /* MAIL FROM, DATA, the connection: never the recipient's
		                           */
	if (code / 100 == 5 && c->permanent &&
	    (c->category == CAT_INVALID_RECIPIENT || c->category == CAT_MAILBOX_DISABLED))
		return OUTCOME_LIST_SUPPRESS;
	if (c->category == CAT_MAILBOX_FULL || (expired && code / 100 == 4))
		return OUTCOME_LIST_SOFT_BOUNCE;
	if (code / 100 == 5)
		return OUTCOME_LIST_STRIKE;
	return OUTCOME_LIST_NONE;
}

const char *outcome_strike_verdict(const struct suppression_policy *pol, enum outcome_list act,
                                   int days, int64_t span_s, int *suppress)
{
	if (act == OUTCOME_LIST_SOFT_BOUNCE) {
		*suppress = days >= pol->soft_bounces && span_s >= pol->soft_span_s;
		return *suppress ? "soft_bounce_limit" : "soft_bounce";
	}
	*suppress = days >= pol->rcpt_strikes;
	return *suppress ? "rcpt_strikes" : "strike";
}

static void set_fate(struct outcome *o, enum rcpt_state state, const char *name,
                     enum outcome_count count)
{
	o->state = state;
	o->name = name;
	o->count = count;
}

/* When the recipient's lifetime ends: retry.max_lifetime after it was
 * queued or after its send time, whichever is later. */
static int64_t lifetime_end(const struct outcome_in *in)
{
	int64_t start = in->send_at_s > in->queued_at_s ? in->send_at_s : in->queued_at_s;
	return start + in->cfg->max_lifetime_s;
}

/* Its own expiry when that comes no later than the lifetime's end, else 0. */
static int64_t own_expiry(const struct outcome_in *in)
{
	return in->expires_at_s > 0 && in->expires_at_s <= lifetime_end(in) ? in->expires_at_s : 0;
}

/* The last time it may be tried: its own expiry (not tried then: it expires
 * when loaded) or the end of its lifetime (tried a last time then). */
static int64_t last_retry(const struct outcome_in *in)
{
	int64_t own = own_expiry(in);
	return own ? own : lifetime_end(in);
}

/* A deferral: backoff (a greylisting server's short delay instead), never
 * past the recipient's lifetime or its own expiry; retried at once from
 * memory when the connection dropped under it. */
static void defer(const struct outcome_in *in, struct outcome *o)
{
	const struct config *cfg = in->cfg;
	int64_t wait = outcome_backoff_s(o->attempts, cfg->min_backoff_s, cfg->max_backoff_s);
	int64_t last = last_retry(in);

	/* a greylisting server wants the same retry soon, not a long backoff */
	if (in->cls->category == CAT_GREYLISTED)
		wait = cfg->greylist_delay_s;
	o->next_attempt_s = in->now_s + wait > last ? last : in->now_s + wait;
	/* Retried at once from memory: the row keeps the due time it was
	 * fetched at, which is behind the store's cursor, so a later fetch
	 * cannot hand it out a second time. */
	if (in->retry_now)
		o->next_attempt_s = in->due_s;
}

/* The receiver refused the sender, not this recipient: it stays queued
 * (until its lifetime or its own expiry ends) and the campaign starts
 * nothing more at this site for a while. Counted as deferred even when it
 * expires here. */
static void sender_refused(const struct outcome_in *in, struct outcome *o)
{
	const struct config *cfg = in->cfg;
	int64_t last = last_retry(in);

	set_fate(o, RS_QUEUED, "deferred", OC_DEFERRED);
	o->next_attempt_s = in->now_s + SENDER_REFUSED_WAIT_S(cfg);
	if (o->next_attempt_s > last)
		o->next_attempt_s = last;
	if (in->now_s >= last) {
		o->state = RS_EXPIRED, o->name = "expired";
		o->own_expiry = own_expiry(in) > 0;
	}
	o->refuse_campaign = in->at_site;
}

/* A blocklist-style refusal (a block_source rule): about the source IP,
 * never the recipient, so never a bounce: deferred (the caller retries it
 * at once when the block moved the site to another source), expired only
 * at the end of its lifetime. */
static void source_blocked(const struct outcome_in *in, struct outcome *o)
{
	o->source_blocked = 1;
	if (own_expiry(in) && in->now_s >= own_expiry(in)) {
		set_fate(o, RS_EXPIRED, "expired", OC_EXPIRED);
		o->own_expiry = 1;
	} else if (in->now_s >= lifetime_end(in)) {
		set_fate(o, RS_EXPIRED, "expired", OC_EXPIRED);
	} else {
		set_fate(o, RS_QUEUED, "deferred", OC_DEFERRED);
		defer(in, o);
	}
}

static void decide_fate(const struct outcome_in *in, struct outcome *o)
{
	int cls = in->reply->code / 100;

	if (in->suppressed) {
		set_fate(o, RS_SUPPRESSED, "suppressed", OC_SUPPRESSED);
		o->category = CAT_SUPPRESSED;
	} else if (in->stage == STAGE_EXPIRY) {
		set_fate(o, RS_EXPIRED, "expired", OC_EXPIRED);
		o->category = CAT_EXPIRED;
		o->own_expiry = 1;
	} else if (cls != 2 && !in->reply->local && o->rule &&
	           o->rule->action == RULE_BLOCK_SOURCE) {
		source_blocked(in, o);
	} else if (cls == 5 && !in->reply->local && in->stage == STAGE_MAIL) {
		sender_refused(in, o);
	} else if (cls == 2) {
		set_fate(o, RS_DELIVERED, "delivered", OC_DELIVERED);
	} else if (cls == 5) {
		set_fate(o, RS_BOUNCED, "bounced", OC_BOUNCED);
	} else if (own_expiry(in) && in->now_s >= own_expiry(in)) {
		set_fate(o, RS_EXPIRED, "expired", OC_EXPIRED); /* a reply that came too late */
		o->own_expiry = 1;
	} else if (in->now_s >= lifetime_end(in)) {
		set_fate(o, RS_EXPIRED, "expired", OC_EXPIRED);
	} else {
		set_fate(o, RS_QUEUED, "deferred", OC_DEFERRED);
		defer(in, o);
	}
	o->retry_now = o->state == RS_QUEUED && in->retry_now;
}

/* The site: a reply rule for a refusal (its throttle), or a delivery. */
static void decide_site(const struct outcome_in *in, struct outcome *o)
{
	if (!in->at_site || in->stage == STAGE_EXPIRY)
		return; /* no reply came from the site */
	if (in->reply->code / 100 != 2) {
		if (in->rules)
			o->rule = rules_match(in->rules, in->stage, in->reply, in->mx_host);
	} else {
		o->site_delivered = 1;
	}
}

static void decide_signs(const struct outcome_in *in, struct outcome *o)
{
	struct outcome_signs *m = &o->signs;
	int code = in->reply->code;

	if (in->suppressed || in->stage == STAGE_EXPIRY)
		return; /* no attempt was made */
	m->counted = 1;
	m->delivered = code / 100 == 2;
	m->rcpt_failed = code / 100 == 5 && in->stage == STAGE_RCPT;
	/* a blocked source is failed over (failover.c), not a campaign's danger sign */
	m->sender_rejected =
	    !o->source_blocked && sender_rejection(in->stage, code, o->category, in->reply->local);
	m->provider_tried = o->category != CAT_GREYLISTED;
	m->provider_deferred = m->provider_tried && code / 100 == 4;
}

void outcome_decide(const struct outcome_in *in, struct outcome *o)
{
	/* ended at its expiry: no attempt made, none counted */
	int attempted = in->stage != STAGE_EXPIRY;

	*o = (struct outcome){.attempts = in->attempts + attempted, .category = in->cls->category};
	decide_site(in, o); /* first: a block_source rule decides the fate */
	decide_fate(in, o);
	if (!in->suppressed && attempted && (in->reply->code / 100 == 2 || o->state != RS_QUEUED))
		o->list = outcome_list_action(in->stage, in->reply->code, in->cls,
		                              o->state == RS_EXPIRED && !o->own_expiry);
	o->passed_mail = !in->suppressed && (in->stage == STAGE_RCPT || in->stage == STAGE_DATA ||
	                                     in->stage == STAGE_DOT);
	decide_signs(in, o);
}
