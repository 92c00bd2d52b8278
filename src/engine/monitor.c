/*
 * monitor: the danger signs of a campaign, read from its outcomes as they
 * come (scheduler_int.h), and of its complaints (monitor.h). What an
 * outcome counts as is decided by engine/outcome.c (struct outcome_signs);
 * here are the counts, the thresholds and the signs. A sender rejection (a
 * permanent rejection at MAIL FROM or DATA, or a reputation or spam-content
 * rejection anywhere) says the receiver dislikes the sender or the
 * content: it is reported at once, and after
 * monitor.pause_after_sender_rejections of them the campaign pauses itself.
 * A RCPT TO failure rate above monitor.rcpt_failure_warn (once
 * monitor.min_messages are known) is a stale or bought list: a warning, and
 * a pause above monitor.rcpt_failure_pause when set; a rate that is
 * monitor.rcpt_spike_factor times the sender's usual one (its earlier
 * campaigns in this state directory) is a list from elsewhere: a warning,
 * or a pause with monitor.rcpt_spike_pause. Deferrals above
 * monitor.deferral_warn of the attempts at one large provider (greylisting
 * aside) say that provider is slowing the sender down: a warning.
 * Complaints per delivered message above monitor.complaint_warn warn, above
 * monitor.complaint_pause pause. Every sign is kept in the store (for
 * `sluice report`), goes to the sink (the CLI prints it on stderr) and,
 * for the scheduler's, to the delivery log and the progress line. A paused
 * campaign's work waits in the store until `sluice campaign resume`.
 */
#include "engine/monitor.h"

#include <stdio.h>
#include <string.h>

#include "dlog/dlog.h"
#include "engine/outcome.h"
#include "engine/scheduler_int.h"

static void report(const struct monitor_sink *sink, const char *campaign, const char *kind,
                   const char *detail, int from_delivery, int paused)
{
	struct monitor_sign sg = {campaign, kind, detail, from_delivery, paused};

	if (sink && sink->fn)
		sink->fn(sink->arg, &sg);
}

/* A sign of the scheduler's: stored, logged, reported, counted. */
static void sign(struct scheduler *s, struct sched_campaign *c, const char *kind,
                 const char *detail, int paused)
{
	struct err e;
	int64_t now_ms = sched_wall_ms(s);

	if (s->p.store.sign_add(s->p.store.ctx, c->id, now_ms / 1000, kind, detail, &e) != 0) {
		sched_fail(s, &e);
		return;
	}
	struct dlog_rec rec = {
	    .time_ms = now_ms,
	    .campaign = c->id,
	    .stage = stage_name(STAGE_MONITOR),
	    .outcome = "danger",
	    .category = kind,
	    .text = detail,
	};
	dlog_add(s->p.log, &rec);
	report(&s->p.sink, c->id, kind, detail, 1, paused);
	s->st.signs++;
	snprintf(s->st.last_sign, sizeof(s->st.last_sign), "%s", kind);
	s->dirty = 1;
}

void monitor_stop_campaign(struct scheduler *s, struct sched_campaign *c)
{
	size_t pos = 0;
	const char *key;
	void *v;

	c->paused = 1;
	/* what waits at the sites leaves memory, still queued in the store */
	while (strmap_next(s->sites, &pos, &key, &v))
		s->loaded -= (int64_t)site_drop_campaign(v, c);
}

static void pause_campaign(struct scheduler *s, struct sched_campaign *c, const char *why)
{
	struct err e;

	if (s->p.store.campaign_pause(s->p.store.ctx, c->id, why, sched_wall_ms(s) / 1000, &e) !=
	    0) {
		sched_fail(s, &e);
		return;
	}
	sign(s, c, "paused", why, 1);
	monitor_stop_campaign(s, c);
}

void monitor_campaign_start(struct scheduler *s, struct sched_campaign *c)
{
	int64_t refused, judged;
	struct err e;

	c->mon_usual_rcpt_failure = -1;
	const struct monitor_policy *m = tenant_monitor(s->p.cfg, c->tenant);

	if (m->rcpt_spike_factor <= 0)
		return;
	if (s->p.store.rcpt_history(s->p.store.ctx, c->id, &refused, &judged, &e) != 0) {
		sched_fail(s, &e);
		return;
	}
	if (judged >= m->min_messages)
		c->mon_usual_rcpt_failure = (double)refused / (double)judged;
}

/* Deferrals at one large provider (greylisting is expected, not counted). */
static void watch_deferrals(struct scheduler *s, struct sched_campaign *c, const struct site *site,
                            const struct outcome_signs *o, int code, const char *text)
{
	const struct monitor_policy *m = tenant_monitor(s->p.cfg, c->tenant);
	int i = site ? provider_index(site->provider) : -1;
	char detail[600];

	if (i < 0 || m->deferral_warn <= 0 || !o->provider_tried)
		return;
	c->mon_tried[i]++;
	c->mon_deferred[i] += o->provider_deferred;
	double rate = (double)c->mon_deferred[i] / (double)c->mon_tried[i];
	if (c->mon_tried[i] < m->min_messages || rate <= m->deferral_warn ||
	    (c->mon_warned_deferral & (1u << i)))
		return;
	c->mon_warned_deferral |= 1u << i;
	snprintf(detail, sizeof(detail),
	         "%s: %.1f%% of %lld attempts deferred (last: %d %s): it is slowing this "
	         "sender down",
	         site->provider->name, rate * 100, (long long)c->mon_tried[i], code,
	         text ? text : "");
	sign(s, c, "deferral_rate", detail, 0);
}

/* Sender rejections add up per egress source and for the sending domain
 * across every campaign of the run: several campaigns each under their
 * own threshold can still be telling that one IP, or the domain, is
 * blocked. A warning on the campaign that crossed it. */
static void watch_across_campaigns(struct scheduler *s, struct sched_campaign *c,
                                   const struct site *site, const char *detail)
{
	int64_t limit = s->p.cfg->monitor.pause_after_sender_rejections;
	char what[800];

	if (limit <= 0)
		return;
	if (site) {
		size_t i = source_index(s, site->source);
		/* only when other campaigns add to it: alone, the campaign's own
		 * sign and pause say it already */
		if (++s->mon_source_rejected[i] >= limit &&
		    s->mon_source_rejected[i] > c->mon_sender_rejected &&
		    !(s->mon_source_warned & (1ull << i))) {
			s->mon_source_warned |= 1ull << i;
			snprintf(
			    what, sizeof(what),
			    "source %s (%s): %lld permanent sender rejections across campaigns; "
			    "last: %s",
			    site->source->ip, site->source->helo,
			    (long long)s->mon_source_rejected[i], detail);
			sign(s, c, "source_rejected", what, 0);
		}
	}
	if (++s->mon_domain_rejected >= limit && s->mon_domain_rejected > c->mon_sender_rejected &&
	    !s->mon_domain_warned) {
		s->mon_domain_warned = 1;
		snprintf(what, sizeof(what),
		         "%s: %lld permanent sender rejections across campaigns; last: %s",
		         s->p.cfg->from_domain, (long long)s->mon_domain_rejected, detail);
		sign(s, c, "domain_rejected", what, 0);
	}
}

/* The RCPT TO failure rate against this sender's earlier campaigns. */
static void watch_spike(struct scheduler *s, struct sched_campaign *c, double rate)
{
	const struct monitor_policy *m = tenant_monitor(s->p.cfg, c->tenant);
	double usual = c->mon_usual_rcpt_failure;
	char detail[600];

	/* below 1% a list is clean whatever the ratio */
	if (usual < 0 || m->rcpt_spike_factor <= 0 || rate < 0.01 ||
	    rate <= usual * m->rcpt_spike_factor || c->mon_warned_spike)
		return;
	c->mon_warned_spike = 1;
	snprintf(detail, sizeof(detail),
	         "%.1f%% of RCPT TO refused, %.1fx this sender's usual %.2f%%: a list from "
	         "elsewhere?",
	         rate * 100, usual > 0 ? rate / usual : 0.0, usual * 100);
	if (m->rcpt_spike_pause)
		pause_campaign(s, c, detail);
	else
		sign(s, c, "rcpt_failure_spike", detail, 0);
}

void monitor_outcome(struct scheduler *s, struct sched_campaign *c, const struct site *site,
                     const struct outcome_signs *o, enum stage stage, const struct reply *r,
                     enum category category, const char *mx)
{
	int code = r->code;
	const char *text = r->text;
	const struct monitor_policy *m = tenant_monitor(s->p.cfg, c->tenant);
	char detail[600];

	if (c->paused || !o->counted)
		return;
	watch_deferrals(s, c, site, o, code, text);
	if (o->delivered)
		c->mon_delivered++;
	else if (o->rcpt_failed)
		c->mon_rcpt_failed++;
	if (o->sender_rejected) {
		c->mon_sender_rejected++;
		snprintf(detail, sizeof(detail),
		         "%d %s at %s from %s to source %s (%s; %lld so far)", code,
		         text ? text : "", stage_name(stage), mx ? mx : "?",
		         site ? site->source->ip : "?", category_name(category),
		         (long long)c->mon_sender_rejected);
		if (c->mon_sender_rejected == 1)
			sign(s, c, "sender_rejected", detail, 0);
		watch_across_campaigns(s, c, site, detail);
		if (m->pause_after_sender_rejections &&
		    c->mon_sender_rejected >= m->pause_after_sender_rejections) {
			char why[700];
			snprintf(why, sizeof(why),
			         "%lld permanent rejections of the sender or content; last: %s",
			         (long long)c->mon_sender_rejected, detail);
			pause_campaign(s, c, why);
			return;
		}
	}
	int64_t judged = c->mon_delivered + c->mon_rcpt_failed;
	if (judged < m->min_messages || !c->mon_rcpt_failed)
		return;
	double rate = (double)c->mon_rcpt_failed / (double)judged;
	watch_spike(s, c, rate);
	if (c->paused)
		return;
	snprintf(detail, sizeof(detail), "%.1f%% of RCPT TO refused (%lld of %lld): a stale list?",
	         rate * 100, (long long)c->mon_rcpt_failed, (long long)judged);
	if (m->rcpt_failure_pause > 0 && rate > m->rcpt_failure_pause) {
		pause_campaign(s, c, detail);
	} else if (m->rcpt_failure_warn > 0 && rate > m->rcpt_failure_warn && !c->mon_warned_rcpt) {
		c->mon_warned_rcpt = 1;
		sign(s, c, "rcpt_failure_rate", detail, 0);
	}
}

/* ---- complaints (the inbound service), from the store alone ---- */

/* Past the pause threshold: pauses the campaign in the store, once. */
static int complaint_pause(const struct engine_store *st, const char *campaign, const char *detail,
                           int64_t now, const struct monitor_sink *sink, struct err *e)
{
	char paused[256];
	int already = st->campaign_paused(st->ctx, campaign, paused, e);

	if (already != 0)
		return already < 0 ? -1 : 0;
	if (st->campaign_pause(st->ctx, campaign, detail, now, e) != 0 ||
	    st->sign_add(st->ctx, campaign, now, "paused", detail, e) != 0)
		return -1;
	report(sink, campaign, "paused", detail, 0, 1);
	return 0;
}

int monitor_complaint(const struct engine_store *st, const struct monitor_policy *m,
                      const char *campaign, const char *recipient, int64_t now,
                      const struct monitor_sink *sink, struct err *e)
{
	int64_t counts[RS_COUNT], complaints, warned;
	char detail[300];

	int seen = st->sign_seen(st->ctx, campaign, "complaint", recipient, e);
	if (seen != 0)
		return seen < 0 ? -1 : 0; /* one complaint per recipient per campaign */
	if (st->sign_add(st->ctx, campaign, now, "complaint", recipient, e) != 0 ||
	    st->sign_count(st->ctx, campaign, "complaint", &complaints, e) != 0 ||
	    st->sign_count(st->ctx, campaign, "complaint_rate", &warned, e) != 0 ||
	    st->counts(st->ctx, campaign, counts, e) != 0)
		return -1;
	int64_t delivered = counts[RS_DELIVERED];
	if (delivered < m->min_messages)
		return 0;
	double rate = (double)complaints / (double)delivered;
	snprintf(detail, sizeof(detail), "%.2f%% complaints (%lld for %lld delivered)", rate * 100,
	         (long long)complaints, (long long)delivered);
	if (m->complaint_pause > 0 && rate > m->complaint_pause)
		return complaint_pause(st, campaign, detail, now, sink, e);
	if (m->complaint_warn > 0 && rate > m->complaint_warn && !warned) {
		if (st->sign_add(st->ctx, campaign, now, "complaint_rate", detail, e) != 0)
			return -1;
		report(sink, campaign, "complaint_rate", detail, 0, 0);
	}
	return 0;
}
