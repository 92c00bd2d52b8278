/*
 * control: the operator's controls as the scheduler sees them
 * (scheduler_int.h). Every CONTROL_POLL_MS the tick reads, through the
 * store port, the site pauses in force and whether a campaign it delivers
 * was cancelled (`sluice site pause`, `sluice campaign cancel` write them
 * to the store, from any process). A paused site is held by site_admit
 * (site.c) like a suspension: its queue parked in the store, idle sessions
 * told to QUIT, no new transaction. When its pause ends (resumed, or its
 * --for ran out) the recipients of its domains the pause parked become due
 * at once. A cancelled campaign's jobs leave memory (the store already
 * ended them as cancelled); messages in flight finish.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/scheduler_int.h"
#include "util/xmalloc.h"

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
	sites_look(s, now_ms);
}
