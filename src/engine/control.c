/*
 * control: the operator's controls as the scheduler sees them
 * (scheduler_int.h). Every CONTROL_POLL_MS the tick reads, through the
 * store port, the site pauses in force and whether a campaign it delivers
 * was cancelled (`sluice site pause`, `sluice campaign cancel` write them
 * to the store, from any process). A paused site is held by site_admit
 * (site.c) like a suspension: its queue parked in the store, idle sessions
 * told to QUIT, no new transaction. When its pause ends (resumed, or its
 * --for ran out) the recipients of its domains the pause parked become due
 * at once.
 *
 * A cancel is performed here when `sluice campaign cancel` (or the API)
 * asks it of the running process: the campaign's jobs leave memory,
 * messages in flight finish and are recorded as what they were, and once
 * none of its recipients is in memory its queued ones end as cancelled,
 * each logged; so no recipient is both cancelled and delivered. A cancel
 * performed by the CLI itself (nothing was delivering) only empties memory.
 */
#include <stdlib.h>
#include <string.h>

#include "dlog/dlog.h"
#include "engine/scheduler_int.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define CANCEL_REQUESTS_MAX 64 /* performed per poll; more wait for the next */

struct cancel_req {
	char *campaign, *reason;
};

struct cancel_reqs {
	struct cancel_req r[CANCEL_REQUESTS_MAX];
	size_t n;
};

static void collect_request(void *arg, const char *campaign, const char *reason)
{
	struct cancel_reqs *q = arg;
	if (q->n < CANCEL_REQUESTS_MAX)
		q->r[q->n++] = (struct cancel_req){xstrdup(campaign), xstrdup(reason)};
}

struct cancel_log {
	struct scheduler *s;
	const struct cancel_req *req;
	const char *tenant;
	int64_t now_ms;
};

static void log_cancelled(void *arg, const char *mailbox, const char *domain, int attempts,
                          int64_t queued_at_s)
{
	struct cancel_log *cl = arg;
	struct dlog_rec rec = {
	    .time_ms = cl->now_ms,
	    .campaign = cl->req->campaign,
	    .tenant = cl->tenant,
	    .recipient = mailbox,
	    .domain = domain,
	    .stage = "cancel",
	    .text = cl->req->reason,
	    .outcome = "cancelled",
	    .category = "cancelled",
	    .attempt = attempts,
	    .queue_time_s = cl->now_ms / 1000 - queued_at_s,
	};
	dlog_add(cl->s->p.log, &rec);
}

/* Ends the campaign's queued recipients as cancelled, logged, and marks
 * the request done (in the next group commit). */
static void perform_cancel(struct scheduler *s, const struct cancel_req *req, const char *tenant)
{
	struct cancel_log cl = {s, req, tenant, sched_wall_ms(s)};
	int64_t n = 0;
	struct err e;

	if (s->p.store.cancel_queued(s->p.store.ctx, req->campaign, req->reason, log_cancelled, &cl,
	                             &n, &e) != 0 ||
	    s->p.store.cancel_done(s->p.store.ctx, req->campaign, &e) != 0) {
		sched_fail(s, &e);
		return;
	}
	s->dirty = 1;
	log_info("campaign %s cancelled: %lld queued recipients ended (%s)", req->campaign,
	         (long long)n, req->reason);
}

/* The cancels asked of this process: performed once nothing of the
 * campaign is in memory (at once for one it does not deliver). */
static void cancels_look(struct scheduler *s)
{
	struct cancel_reqs q = {.n = 0};
	struct err e;

	if (!s->p.store.cancel_requests)
		return;
	if (s->p.store.cancel_requests(s->p.store.ctx, collect_request, &q, &e) != 0)
		sched_fail(s, &e);
	for (size_t i = 0; i < q.n && !s->failed; i++) {
		struct sched_campaign *c = s->campaigns;
		while (c && strcmp(c->id, q.r[i].campaign) != 0)
			c = c->next;
		if (c && !c->cancelled) {
			c->cancelled = 1;
			monitor_stop_campaign(s, c); /* what waits leaves memory */
		}
		if (!c || c->loaded == 0)
			perform_cancel(s, &q.r[i], c ? c->tenant : NULL);
	}
	for (size_t i = 0; i < q.n; i++) {
		free(q.r[i].campaign);
		free(q.r[i].reason);
	}
}

void sched_controls_free(struct scheduler *s)
{
	for (size_t i = 0; i < s->npauses; i++) {
		free(s->pauses[i].scope);
		free(s->pauses[i].target);
		free(s->pauses[i].reason);
	}
	free(s->pauses);
	s->pauses = NULL;
	s->npauses = 0;
}

static void pause_row(void *arg, const struct site_pause *p)
{
	struct scheduler *s = arg;

	s->pauses = xrealloc(s->pauses, (s->npauses + 1) * sizeof(*s->pauses));
	s->pauses[s->npauses++] = (struct sched_pause){
	    .scope = xstrdup(p->scope),
	    .target = xstrdup(p->target),
	    .reason = xstrdup(p->reason),
	    .until_s = p->until_s,
	};
}

static int pause_matches(const struct sched_pause *p, const struct site *site)
{
	if (strcmp(p->scope, "site") ==
	    0) { /* "MXSET" holds it in every pool, "MXSET@POOL" in one */
		size_t n = strlen(p->target);
		return strncmp(p->target, site->key, n) == 0 &&
		       (site->key[n] == '\0' || (site->key[n] == '@' && !strchr(p->target, '@')));
	}
	if (strcmp(p->scope, "provider") == 0)
		return site->provider && strcmp(p->target, site->provider->name) == 0;
	if (strcmp(p->scope, "source") == 0)
		return strcmp(p->target, site->source->ip) == 0;
	return 0;
}

const struct sched_pause *sched_site_pause(const struct scheduler *s, const struct site *site,
                                           int64_t now_s)
{
	for (size_t i = 0; i < s->npauses; i++) {
		const struct sched_pause *p = &s->pauses[i];
		if ((p->until_s == 0 || now_s < p->until_s) && pause_matches(p, site))
			return p;
	}
	return NULL;
}

/* The site's pause ended: what it parked is due now (at the next second,
 * which is past every fetch cursor), and the campaigns look again. */
static void site_unpaused(struct scheduler *s, struct site *site, int64_t now_s)
{
	size_t pos = 0;
	const char *domain;
	void *v;
	struct err e;

	while (strmap_next(site->domains, &pos, &domain, &v))
		if (s->p.store.rcpt_due_domain(s->p.store.ctx, domain, now_s + 1,
		                               site->paused_until_s, &e) != 0) {
			sched_fail(s, &e);
			return;
		}
	for (struct sched_campaign *c = s->campaigns; c; c = c->next)
		if (!c->finished && !c->paused)
			c->next_fetch_ms = (now_s + 1) * 1000;
	s->dirty = 1;
}

static void sites_look(struct scheduler *s, int64_t now_ms)
{
	int64_t now_s = now_ms / 1000;
	size_t pos = 0;
	const char *key;
	void *v;

	while (strmap_next(s->sites, &pos, &key, &v)) {
		struct site *site = v;
		const struct sched_pause *p = sched_site_pause(s, site, now_s);
		if (p) {
			site->was_paused = 1;
			/* parks until the latest end a parked row may carry */
			int64_t until = p->until_s ? p->until_s : now_s + PAUSE_PARK_S;
			if (until > site->paused_until_s)
				site->paused_until_s = until;
			site_admit(s, site, sched_mono_ms(s)); /* parks, idle sessions QUIT */
		} else if (site->was_paused) {
			site->was_paused = 0;
			site_unpaused(s, site, now_s);
			site->paused_until_s = 0;
			site_open_sessions(s, site);
		}
	}
}

static void campaigns_look(struct scheduler *s)
{
	char reason[256];
	struct err e;

	for (struct sched_campaign *c = s->campaigns; c; c = c->next) {
		if (c->cancelled || c->finished)
			continue;
		int r = s->p.store.campaign_cancelled(s->p.store.ctx, c->id, reason, &e);
		if (r < 0) {
			sched_fail(s, &e);
			return;
		}
		if (r == 1) {
			c->cancelled = 1;
			monitor_stop_campaign(s, c); /* its jobs leave memory */
		}
	}
}

void sched_controls(struct scheduler *s, int64_t now_ms)
{
	struct err e;

	if (now_ms < s->next_control_ms || s->failed)
		return;
	s->next_control_ms = now_ms + CONTROL_POLL_MS;
	sched_controls_free(s);
	if (s->p.store.site_pauses(s->p.store.ctx, now_ms / 1000, pause_row, s, &e) != 0) {
		sched_fail(s, &e);
		return;
	}
	campaigns_look(s);
	cancels_look(s);
	sites_look(s, now_ms);
}
