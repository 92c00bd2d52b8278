/*
 * record: what one attempt did, applied (scheduler_int.h). The meaning of a
 * reply is decided in one place, outcome_decide (engine/outcome.h); this
 * file applies each effect through its owner, in this order: the site's
 * throttle and warm-up count, the recipient's row in the store, the
 * suppression list, the delivery log, the event (events.c), the monitor,
 * the site's lane (the sender probe, a refusal at MAIL FROM), and the job
 * itself (retried at once from memory, or freed).
 */
#include <stdio.h>
#include <string.h>

#include "dlog/dlog.h"
#include "engine/outcome.h"
#include "engine/scheduler_int.h"
#include "mail/classify.h"
#include "shape/rules.h"
#include "shape/throttle.h"
#include "store/suppress.h"
#include "util/when.h"

/* Classifies the reply and decides what it means (engine/outcome.h). */
static void decide(struct scheduler *s, const struct job *j, const struct attempt *a, int64_t now_s,
                   struct classification *c, struct outcome *o)
{
	const struct queued_rcpt *r = j->r;

	classify(s->p.classifier, a->stage, a->reply->code, a->reply->enhanced, a->reply->text, c);
	struct outcome_in in = {
	    .stage = a->stage,
	    .reply = a->reply,
	    .cls = c,
	    .cfg = s->p.cfg,
	    .now_s = now_s,
	    .attempts = r->attempts,
	    .queued_at_s = r->queued_at_s,
	    .due_s = r->next_attempt_s,
	    .send_at_s = r->send_at_s,
	    .expires_at_s = r->expires_at_s,
	    .suppressed = a->suppressed,
	    .retry_now = a->retry_now && j->site && !s->stopping,
	    .at_site = j->site != NULL,
	    .rules = s->rules,
	    .mx_host = a->peer ? a->peer->host : NULL,
	};
	outcome_decide(&in, o);
}

_Static_assert(OC_SUPPRESSED + 1 == SCHED_OUTCOMES, "scheduler_counters has a row per outcome");

const char *scheduler_outcome_name(int outcome)
{
	static const char *const names[SCHED_OUTCOMES] = {[OC_DELIVERED] = "delivered",
	                                                  [OC_BOUNCED] = "bounced",
	                                                  [OC_DEFERRED] = "deferred",
	                                                  [OC_EXPIRED] = "expired",
	                                                  [OC_SUPPRESSED] = "suppressed"};
	return outcome >= 0 && outcome < SCHED_OUTCOMES ? names[outcome] : NULL;
}

/* The tenant's row of counts (the "(other)" row once the table is full). */
static struct scheduler_tenant_counts *tenant_counts(struct scheduler_counters *c,
                                                     const char *tenant)
{
	size_t i;

	for (i = 0; i < c->ntenants; i++)
		if (strcmp(c->tenants[i].name, tenant) == 0)
			return &c->tenants[i];
	if (c->ntenants < SCHED_TENANTS_MAX && strlen(tenant) <= TENANT_NAME_MAX) {
		snprintf(c->tenants[i].name, sizeof(c->tenants[i].name), "%s", tenant);
		c->ntenants++;
		return &c->tenants[i];
	}
	snprintf(c->tenants[SCHED_TENANTS_MAX].name, sizeof(c->tenants[0].name), "%s",
	         SCHED_TENANTS_OTHER);
	return &c->tenants[SCHED_TENANTS_MAX];
}

void sched_count_attempt(struct scheduler *s, int outcome, enum category cat,
                         const struct site *site, const char *tenant)
{
	int p = site ? provider_index(site->provider) : -1;

	if (outcome < 0 || outcome >= SCHED_OUTCOMES || (int)cat < 0 || cat >= CAT_COUNT)
		return;
	s->counters.attempts[outcome][cat][p < 0 || p >= PROVIDERS_MAX ? PROVIDERS_MAX : p]++;
	tenant_counts(&s->counters, tenant ? tenant : TENANT_DEFAULT)->attempts[outcome][cat]++;
}

static void count_outcome(struct scheduler *s, const struct job *j, const struct outcome *o)
{
	int64_t *c[] = {[OC_DELIVERED] = &s->st.delivered,
	                [OC_BOUNCED] = &s->st.bounced,
	                [OC_DEFERRED] = &s->st.deferred,
	                [OC_EXPIRED] = &s->st.expired,
	                [OC_SUPPRESSED] = &s->st.suppressed};
	(*c[o->count])++;
	sched_count_attempt(s, (int)o->count, o->category, j->site, j->camp->tenant);
	sched_warm_outcome(s, j, (int)o->count, o->category);
}

/* The site's throttle and warm-up: a reply rule (when its trigger fires;
 * a block_source rule blocks the source the job went from), or a
 * delivery. Returns 1 when a source block fired. */
static int apply_site(struct scheduler *s, struct site *site, const struct job *j,
                      const struct attempt *a, struct outcome *o)
{
	const struct reply *reply = a->reply;

	if (o->rule && !failover_rule_fires(s, site, j, o->rule, reply->text)) {
		o->rule = NULL; /* counted; its action waits for its trigger (or applied
		                 * to its scope's targets by failover.c) */
		return 0;
	}
	if (o->rule && o->rule->action == RULE_BLOCK_SOURCE) {
		failover_block(s, site, j->source ? j->source : site->source, o->rule, reply,
		               a->peer ? a->peer->host : NULL);
		return 1;
	}
	if (o->rule) {
		int was = throttle_suspended(&site->thr, sched_mono_ms(s));
		throttle_apply(&site->thr, o->rule, reply->text, sched_mono_ms(s));
		site_provider_throttled(s, site, o->rule, sched_mono_ms(s));
		if (!was && throttle_suspended(&site->thr, sched_mono_ms(s)))
			sched_event_site(s, site, "site_suspended", o->rule->name,
			                 site_suspension_end_s(site, sched_mono_ms(s)));
	} else if (o->site_delivered) {
		site_warm_count(s, site);
		throttle_connection_worked(&site->thr);
		throttle_delivered(&site->thr, sched_mono_ms(s));
		site_provider_delivered(site, sched_mono_ms(s));
	}
	return 0;
}

static void update_store(struct scheduler *s, const struct job *j, const struct attempt *a,
                         const struct outcome *o)
{
	struct rcpt_outcome ro = {
	    .state = o->state,
	    .attempts = o->attempts,
	    .next_attempt_s = o->next_attempt_s,
	    .code = a->reply->code,
	    .enhanced = a->reply->enhanced,
	    .text = a->reply->text,
	    .stage = stage_name(a->stage),
	    .category = category_name(o->category),
	    .mx = a->peer && a->peer->host[0] ? a->peer->host : NULL,
	};
	struct err e;
	if (s->p.store.rcpt_update(s->p.store.ctx, j->r->id, &ro, &e) != 0)
		sched_fail(s, &e);
}

/* The list action through the suppression list; returns what the log says. */
static const char *apply_list(struct scheduler *s, const struct job *j, const struct attempt *a,
                              const struct outcome *o, int64_t now_s)
{
	const struct config *cfg = s->p.cfg;
	const char *action = NULL;
	struct err e;

	if (!s->p.suppress || o->list == OUTCOME_LIST_NONE)
		return NULL;
	struct outcome_subject who = {
	    .address = j->r->mailbox,
	    .scope = tenant_scope_by_name(cfg, j->camp->tenant),
	    .stage = a->stage,
	    .code = a->reply->code,
	    .evidence = a->reply->text,
	    .now_s = now_s,
	};
	if (outcome_list_apply(s->p.suppress, &cfg->suppression, o->list, &who, &action, &e) != 0)
		sched_fail(s, &e);
	return action;
}

static void log_outcome(struct scheduler *s, const struct job *j, const struct attempt *a,
                        const struct outcome *o, const char *list_action, int64_t now_ms)
{
	const struct queued_rcpt *r = j->r;
	struct dlog_rec rec = {
	    .time_ms = now_ms,
	    .campaign = j->camp->id,
	    .tenant = j->camp->tenant,
	    .recipient = r->mailbox,
	    .domain = r->domain,
	    .site = j->site ? j->site->key : NULL,
	    .mx_host = a->peer ? a->peer->host : NULL,
	    .mx_ip = a->peer ? a->peer->ip : NULL,
	    .source_ip = j->source ? j->source->ip
	                 : j->site ? j->site->source->ip
	                           : NULL,
	    .helo = j->source ? j->source->helo
	            : j->site ? j->site->source->helo
	                      : NULL,
	    .tls = a->peer ? a->peer->tls : NULL,
	    .stage = stage_name(a->stage),
	    .code = a->reply->code,
	    .enhanced = a->reply->enhanced,
	    .text = a->reply->text,
	    .outcome = o->name,
	    .category = category_name(o->category),
	    .rule = o->rule ? o->rule->name : NULL,
	    .list_action = a->suppressed ? a->suppressed : list_action,
	    .return_path = j->mail_from[0] ? j->mail_from : NULL,
	    .attempt = o->attempts,
	    .queue_time_s = now_ms / 1000 - r->queued_at_s,
	    .message_id = j->msgid[0] ? j->msgid : NULL,
	};
	dlog_add(s->p.log, &rec);
	s->dirty = 1;
}

/* Records what one attempt did: decides (engine/outcome.c), then applies
 * each effect through its owner: the site's throttle, the store, the
 * suppression list, the delivery log, the event (events.c), the monitor, the lane. Frees the
 * job unless it goes round again. */
void sched_record_outcome(struct scheduler *s, struct job *j, const struct attempt *a)
{
	int64_t now_ms = sched_wall_ms(s), now_s = now_ms / 1000;
	struct classification c;
	struct outcome o;

	decide(s, j, a, now_s, &c, &o);
	count_outcome(s, j, &o);
	int blocked = j->site && apply_site(s, j->site, j, a, &o);
	if (blocked && o.state == RS_QUEUED && !s->stopping) {
		/* from the next healthy source at once (or parked by site_admit
		 * until a block ends): the row keeps the due time it was fetched at */
		o.retry_now = 1;
		o.next_attempt_s = j->r->next_attempt_s;
	}
	if (j->site && o.rule && o.state == RS_QUEUED && !o.retry_now)
		o.next_attempt_s = site_throttled_retry_s(j->site, o.next_attempt_s);
	update_store(s, j, a, &o);
	sched_notify_failure(s, j, a, o.state, now_s);
	const char *list_action = apply_list(s, j, a, &o, now_s);
	log_outcome(s, j, a, &o, list_action, now_ms);
	sched_event_outcome(s, j, a, &o, list_action, now_s);
	monitor_outcome(s, j->camp, j->site, &o.signs, a->stage, a->reply, o.category,
	                a->peer ? a->peer->host : NULL);
	if (j->site && site_lane_outcome(j->site, j->camp, o.passed_mail))
		site_open_sessions(s, j->site); /* what waited behind the probe */
	if (o.refuse_campaign && !j->camp->paused)
		site_refuse_campaign(s, j->site, j->camp, o.next_attempt_s);
	if (o.retry_now && !j->camp->paused) {
		j->r->attempts = o.attempts;
		site_push_front(j->site, j);
		site_kick(j->site);
		return;
	}
	s->loaded--;
	job_free(j);
}

void sched_suppressed(struct scheduler *s, struct job *j, const char *reason)
{
	struct reply r;
	char text[96];

	snprintf(text, sizeof(text), "not sent: suppressed since queued (%s)", reason);
	reply_set_local(&r, 550, "5.7.1", text);
	struct attempt a = {.stage = STAGE_LOAD, .reply = &r, .suppressed = reason};
	sched_record_outcome(s, j, &a);
}

void sched_expired(struct scheduler *s, struct job *j)
{
	struct reply r;
	char when[WHEN_TEXT_MAX], text[96];

	when_format(j->r->expires_at_s, when, sizeof(when));
	snprintf(text, sizeof(text), "expired before delivery (expires-at %s)", when);
	reply_set_local(&r, 451, "4.4.7", text);
	struct attempt a = {.stage = STAGE_EXPIRY, .reply = &r};
	sched_record_outcome(s, j, &a);
}

void sched_local_outcome(struct scheduler *s, struct job *j, enum stage stage, int code,
                         const char *enh, const char *text)
{
	struct reply r;

	reply_set_local(&r, code, enh, text);
	struct attempt a = {.stage = stage, .reply = &r};
	sched_record_outcome(s, j, &a);
}
