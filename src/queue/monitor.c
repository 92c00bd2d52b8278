/*
 * monitor: the danger signs of a campaign, read from its outcomes as they
 * come (scheduler_int.h). A permanent rejection at MAIL FROM or DATA, or a
 * reputation or spam-content rejection anywhere, says the receiver dislikes
 * the sender or the content: it is reported at once, and after
 * monitor.pause_after_sender_rejections of them the campaign pauses itself.
 * A RCPT TO failure rate above monitor.rcpt_failure_warn (once
 * monitor.min_messages are known) is a stale or bought list: a warning, and
 * a pause above monitor.rcpt_failure_pause when set. Every sign is kept in
 * the store (for `sluice report`), the delivery log and on stderr. A paused
 * campaign's work waits in the store until `sluice campaign resume`.
 */
#include <stdio.h>
#include <string.h>

#include "queue/dlog.h"
#include "queue/scheduler_int.h"
#include "util/clock.h"

static void sign(struct scheduler *s, struct sched_campaign *c, const char *kind,
                 const char *detail)
{
	struct err e;
	int64_t now_ms = clock_wall_ms();

	if (store_sign_add(s->p.store, c->id, now_ms / 1000, kind, detail, &e) != 0) {
		sched_fail(s, &e);
		return;
	}
	struct dlog_rec rec = {
	    .time_ms = now_ms,
	    .campaign = c->id,
	    .stage = "monitor",
	    .outcome = "danger",
	    .category = kind,
	    .text = detail,
	};
	dlog_add(s->p.log, &rec);
	fprintf(stderr, "\nsluice: danger: campaign %s: %s: %s\n", c->id, kind, detail);
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

	if (store_campaign_pause(s->p.store, c->id, why, clock_wall_ms() / 1000, &e) != 0) {
		sched_fail(s, &e);
		return;
	}
	sign(s, c, "paused", why);
	monitor_stop_campaign(s, c);
}

static int sender_rejection(const char *stage, int code, const char *category)
{
	if (code / 100 != 5)
		return 0;
	return !strcmp(stage, "mail") || !strcmp(stage, "data") || !strcmp(stage, "dot") ||
	       !strcmp(category, "reputation_block") || !strcmp(category, "spam_content");
}

void monitor_outcome(struct scheduler *s, struct sched_campaign *c, const char *stage, int code,
                     const char *category, const char *text, const char *mx)
{
	const struct monitor_policy *m = &s->p.cfg->monitor;
	char detail[600];

	if (c->paused)
		return;
	if (code / 100 == 2)
		c->mon_delivered++;
	else if (code / 100 == 5 && !strcmp(stage, "rcpt"))
		c->mon_rcpt_failed++;
	if (sender_rejection(stage, code, category)) {
		c->mon_sender_rejected++;
		snprintf(detail, sizeof(detail), "%d %s at %s from %s (%s; %lld so far)", code,
		         text ? text : "", stage, mx ? mx : "?", category,
		         (long long)c->mon_sender_rejected);
		if (c->mon_sender_rejected == 1)
			sign(s, c, "sender_rejected", detail);
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
	snprintf(detail, sizeof(detail), "%.1f%% of RCPT TO refused (%lld of %lld): a stale list?",
	         rate * 100, (long long)c->mon_rcpt_failed, (long long)judged);
	if (m->rcpt_failure_pause > 0 && rate > m->rcpt_failure_pause) {
		pause_campaign(s, c, detail);
	} else if (m->rcpt_failure_warn > 0 && rate > m->rcpt_failure_warn && !c->mon_warned_rcpt) {
		c->mon_warned_rcpt = 1;
		sign(s, c, "rcpt_failure_rate", detail);
	}
}
