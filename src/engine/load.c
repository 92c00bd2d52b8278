/*
 * load: the scheduler's loading half (scheduler_int.h): reading due
 * recipients from the store in batches, campaign by campaign (priority
 * first, memory shared), turning their domains into sites through the MX
 * cache, and deciding when there is nothing left to do.
 */
#include <event2/event.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "dns/mx.h"
#include "engine/outcome.h"
#include "store/suppress.h"
#include "engine/scheduler_int.h"
#include "store/store.h"
#include "shape/throttle.h"
#include "util/xmalloc.h"

static void on_mx(void *arg, const char *domain, const struct mx_result *res);

static void on_mx_work(void *arg, const char *domain, const struct mx_result *res)
{
	struct job *j = arg;
	struct scheduler *s = j->s;

	s->pending_dns--;
	if (s->stopping || j->camp->paused || j->camp->cancelled ||
	    sched_purging(s, j)) { /* still queued in the store */
		s->loaded--;
		job_free(j);
		return;
	}
	switch (res->status) {
	case MX_OK: {
		struct site *site = site_get(s, j->camp, domain, res);
		int64_t now = sched_mono_ms(s);
		if (!strmap_get(site->domains, domain))
			strmap_put(site->domains, domain, site);
		size_t max = site_backlog_max(site);
		j->site = site;
		if (throttle_suspended(&site->thr, now)) {
			sched_park(s, j, site_suspension_end_s(site, now));
			break;
		}
		int64_t refused = site_refuses(site, j->camp, sched_wall_ms(s) / 1000);
		if (refused) {
			sched_park(s, j, refused);
			break;
		}
		if (max && site->queued >= max) {
			double rate = throttle_message_rate(&site->thr);
			sched_park(s, j,
			           sched_wall_ms(s) / 1000 + 1 +
			               (int64_t)((double)site->queued / rate));
			break;
		}
		site_push(site, j);
		site_open_sessions(s, site);
		break;
	}
	case MX_NULL_MX:
		sched_local_outcome(s, j, STAGE_DNS, 556, "5.1.10", res->error);
		break;
	case MX_NXDOMAIN:
		sched_local_outcome(s, j, STAGE_DNS, 550, "5.1.2", res->error);
		break;
	case MX_NO_HOST:
		sched_local_outcome(s, j, STAGE_DNS, 550, "5.4.4", res->error);
		break;
	case MX_TEMPFAIL:
		sched_local_outcome(s, j, STAGE_DNS, 451, "4.4.3", res->error);
		break;
	}
}

static void on_mx(void *arg, const char *domain, const struct mx_result *res)
{
	struct scheduler *s = ((struct job *)arg)->s;
	int64_t t0 = sched_cpu_enter(s);
	on_mx_work(arg, domain, res); /* may free the job */
	sched_cpu_leave(s, t0);
}

/* 1 if j's recipient was suppressed after it was queued (an unsubscribe,
 * a complaint or a bounce in another campaign meanwhile): it is ended so.
 * One indexed look-up per loaded recipient (about 3 us; BENCHMARKS.md). */
static int suppressed_since(struct scheduler *s, struct job *j)
{
	char reason[32];
	struct err e;

	if (!s->p.suppress)
		return 0;
	int r = suppress_check(s->p.suppress, j->r->mailbox,
	                       tenant_scope_by_name(s->p.cfg, j->camp->tenant), reason, &e);
	if (r < 0)
		sched_fail(s, &e);
	if (r != 1)
		return 0;
	sched_suppressed(s, j, reason);
	return 1;
}

static void on_fetched(void *arg, struct queued_rcpt *r)
{
	struct sched_campaign *c = arg;
	struct scheduler *s = c->s;
	struct job *j = xcalloc(1, sizeof(*j));

	j->s = s;
	j->camp = c;
	j->r = r;
	s->loaded++;
	c->loaded++;
	if (sched_purging(s, j)) { /* still queued: control.c ends it as purged */
		s->loaded--;
		job_free(j);
		return;
	}
	/* past its own expiry (it was capped at it, or loaded late): it
	 * expires here, no look-up, no connection */
	if (outcome_past_expiry(r->expires_at_s, sched_wall_ms(s) / 1000)) {
		sched_expired(s, j);
		return;
	}
	if (c->check_suppression && suppressed_since(s, j))
		return;
	s->pending_dns++;
	s->p.mx.lookup(s->p.mx.ctx, r->domain, on_mx, j);
}

/* Reads due recipients into memory, the highest priority first; campaigns
 * share the room (at most LOADED_MAX in all): each may hold its share, so a
 * big campaign never keeps a later one out of memory. */
void sched_fetch(struct scheduler *s, int64_t now_ms)
{
	size_t active = 0;
	struct err e;

	for (struct sched_campaign *c = s->campaigns; c; c = c->next)
		active += !c->finished && !c->paused;
	if (!active)
		return;
	int64_t share = LOADED_MAX / (int64_t)active;
	if (share < FETCH_BATCH)
		share = FETCH_BATCH;
	for (int prio = INT_MAX, done = 0; !done && !s->failed;) {
		int next = INT_MIN;
		for (struct sched_campaign *c = s->campaigns; c; c = c->next)
			if (!c->finished && c->priority < prio && c->priority > next)
				next = c->priority;
		if (next == INT_MIN)
			break;
		prio = next;
		for (struct sched_campaign *c = s->campaigns; c; c = c->next) {
			int64_t n = FETCH_BATCH, room = LOADED_MAX - s->loaded;
			if (c->finished || c->paused || c->priority != prio ||
			    now_ms < c->next_fetch_ms)
				continue;
			n = n < room ? n : room;
			n = n < share - c->loaded ? n : share - c->loaded;
			if (room < FETCH_MIN) {
				done = 1;
				break;
			}
			if (n < FETCH_MIN)
				continue;
			/* another process may have suppressed someone since the list
			 * was checked: then every recipient loaded is looked up */
			if (!c->check_suppression && s->p.suppress &&
			    suppress_version(s->p.suppress) != c->clean_version)
				c->check_suppression = 1;
			int got = s->p.store.fetch_ready(s->p.store.ctx, c->id, &c->cur,
			                                 now_ms / 1000, (int)n, on_fetched, c, &e);
			if (got < 0) {
				sched_fail(s, &e);
				return;
			}
			c->next_fetch_ms = got < n ? now_ms + POLL_DUE_MS : 0;
		}
	}
}

static void finish(struct scheduler *s)
{
	s->finished = 1;
	event_base_loopbreak(s->p.base);
}

/* Nothing in memory and nothing due in the store: idle sessions say QUIT now
 * instead of waiting out idle_timeout. */
static void finish_idle_sessions(struct scheduler *s)
{
	size_t pos = 0;
	const char *key;
	void *v;

	while (strmap_next(s->sites, &pos, &key, &v))
		site_finish_idle(v);
}

/* The earliest due time of the unfinished campaigns (-1: nothing queued);
 * marks the campaigns with nothing queued and nothing in memory finished. */
static int next_due(struct scheduler *s, int64_t now_ms, int64_t *earliest)
{
	struct err e;

	*earliest = -1;
	for (struct sched_campaign *c = s->campaigns; c; c = c->next) {
		int64_t due;
		if (c->finished || (c->paused && c->loaded == 0))
			continue;
		if (s->p.store.next_due(s->p.store.ctx, c->id, &due, &e) != 0) {
			sched_fail(s, &e);
			return -1;
		}
		if (due == -1 && c->loaded == 0) {
			c->finished = 1; /* every recipient is final */
			if (c->tpl)      /* a stream never finishes */
				sched_event_campaign(s, c, "campaign_finished");
			continue;
		}
		if (due >= 0 && due * 1000 > now_ms)
			c->next_fetch_ms = due * 1000;
		else if (due >= 0 && c->loaded == 0 && c->next_fetch_ms)
			/* due now but behind the cursor (queued after it passed):
			 * nothing of it is in memory, so reading it again is safe */
			c->cur = STORE_CURSOR_START;
		if (due >= 0 && (*earliest < 0 || due < *earliest))
			*earliest = due;
	}
	return 0;
}

void sched_check_finished(struct scheduler *s, int64_t now_ms)
{
	int64_t due;

	if (s->loaded == 0 && s->pending_dns == 0 && s->active > 0 && !s->stopping &&
	    next_due(s, now_ms, &due) == 0 &&
	    (due < 0 || due * 1000 > now_ms + s->p.cfg->idle_timeout_ms))
		finish_idle_sessions(s);
	if (s->loaded > 0 || s->pending_dns > 0 || s->active > 0 || s->dirty)
		return;
	if (s->stopping) {
		finish(s);
		return;
	}
	if (next_due(s, now_ms, &due) != 0)
		return;
	if (due == -1 && !s->p.keep_running)
		finish(s); /* every recipient of every campaign is final */
}
