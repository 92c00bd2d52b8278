/*
 * scheduler: see scheduler.h.
 *
 * Invariants:
 * - A loaded recipient (a job) is in exactly one place: waiting for its MX
 *   answer, in its site's queue, or in a session's transaction. It leaves
 *   memory when its outcome is recorded (or, on stop, untouched in the store).
 * - The store is only told an outcome after the receiver's reply; a job in
 *   flight when the process dies is still queued there and is sent again
 *   (at-least-once).
 * - site->starting counts sessions that have not yet asked for work; a new
 *   session is opened only while the site has more queued jobs than that,
 *   so a handful of messages never fans out over many connections.
 */
#include "engine/scheduler.h"
#include "engine/scheduler_int.h"

#include <event2/event.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/suppress.h"
#include "dlog/dlog.h"
#include "shape/warmup.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define COMMIT_INTERVAL_MS 5    /* group commit period */
#define SNAPSHOT_MS        1000 /* how often sites are written for `sluice queue` */
#define STOP_GRACE_MS      1000 /* a prompt stop: how long a message sent waits for its answer */

/* Scheduler CPU accounting (SLUICE_SCHED_CPU=1, for the benchmark): the
 * thread CPU time spent in the scheduler's callbacks (loading, queues,
 * rendering, outcomes, the group commit), outermost call only; the SMTP
 * client's own I/O and libevent's are outside. */
static int64_t cpu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t sched_cpu_enter(struct scheduler *s)
{
	if (!s->cpu_on || s->cpu_depth++ > 0)
		return 0;
	return cpu_now_ns();
}

void sched_cpu_leave(struct scheduler *s, int64_t t0)
{
	if (s->cpu_on && --s->cpu_depth == 0)
		s->st.cpu_ns += cpu_now_ns() - t0;
}

/* A measurement, not a time the engine acts on (those come from s->p.clock,
 * which a test steps): how long the group commit really took. */
static int64_t real_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The group commit's latency buckets, in seconds. */
static const double commit_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                       0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};

void sched_fail(struct scheduler *s, const struct err *e)
{
	if (!s->failed) {
		s->failed = 1;
		s->err = *e;
	}
	scheduler_stop(s);
}

/* Tells everyone waiting for a commit how it went (callbacks may ask for
 * the next one: they go to a fresh list). */
static void commit_waits_done(struct scheduler *s, int ok)
{
	struct commit_wait *w = s->commit_waits;
	size_t n = s->ncommit_waits;

	s->commit_waits = NULL;
	s->ncommit_waits = s->commit_waits_cap = 0;
	for (size_t i = 0; i < n; i++)
		w[i].done(w[i].arg, ok);
	free(w);
}

void scheduler_commit_then(struct scheduler *s, void (*done)(void *arg, int ok), void *arg)
{
	if (s->failed) {
		done(arg, 0);
		return;
	}
	if (s->ncommit_waits == s->commit_waits_cap) {
		s->commit_waits_cap = s->commit_waits_cap ? 2 * s->commit_waits_cap : 16;
		s->commit_waits =
		    xrealloc(s->commit_waits, s->commit_waits_cap * sizeof(*s->commit_waits));
	}
	s->commit_waits[s->ncommit_waits++] = (struct commit_wait){done, arg};
}

static void on_tick_work(evutil_socket_t fd, short what, void *arg)
{
	struct scheduler *s = arg;
	int64_t now_ms = sched_wall_ms(s);
	struct err e;

	(void)fd, (void)what;
	if (warmup_day_of(now_ms / 1000) != s->warm_today && !s->failed)
		sched_warm_load(s, warmup_day_of(now_ms / 1000));
	if (now_ms >= s->next_snapshot_ms && !s->failed) {
		sched_snapshot_sites(s);
		s->next_snapshot_ms = now_ms + SNAPSHOT_MS;
	}
	if (s->dirty || s->ncommit_waits) {
		int64_t t0 = real_mono_ns();
		s->dirty = 0;
		if (dlog_flush(s->p.log, &e) != 0 || s->p.store.commit(s->p.store.ctx, &e) != 0 ||
		    suppress_commit(s->p.suppress, &e) != 0)
			sched_fail(s, &e);
		histogram_observe(&s->counters.commit, (double)(real_mono_ns() - t0) / 1e9);
		commit_waits_done(s, !s->failed);
	}
	sched_controls(s, now_ms);
	/* in batches: each read of the store costs a walk of its index past
	 * what is already loaded, so a trickle of small reads costs more */
	if (!s->stopping && s->loaded + FETCH_BATCH <= LOADED_MAX)
		sched_fetch(s, now_ms);
	sched_check_finished(s, now_ms);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct scheduler *s = arg;
	int64_t t0 = sched_cpu_enter(s);
	on_tick_work(fd, what, arg);
	sched_cpu_leave(s, t0);
}

/* ---- the public face ---- */

struct scheduler *scheduler_new(const struct scheduler_params *p)
{
	struct scheduler *s = xcalloc(1, sizeof(*s));

	s->p = *p;
	s->rules = p->rules;
	s->sites = strmap_new();
	s->cpu_on = getenv("SLUICE_SCHED_CPU") != NULL;
	s->tick = event_new(p->base, -1, EV_PERSIST, on_tick, s);
	histogram_init(&s->counters.commit, commit_bounds,
	               sizeof(commit_bounds) / sizeof(commit_bounds[0]));
	sched_warm_load(s, warmup_day_of(sched_wall_ms(s) / 1000));
	dkim_jobs_init(s);
	return s;
}

/* The campaign's sources: those of p.sources in its pool (all of them
 * were resolved once, at scheduler_new, so a reload leaves sites' sources
 * alone). An unknown pool sends from sender.pool, logged. */
void sched_campaign_pool(struct scheduler *s, struct sched_campaign *c, const char *pool)
{
	const char *dflt = s->p.sources[0]->pool;

	if (pool && strcmp(pool, dflt) != 0) {
		for (size_t i = 0; i < s->p.nsources && c->npool < SOURCES_MAX; i++)
			if (strcmp(s->p.sources[i]->pool, pool) == 0)
				c->pool[c->npool++] = s->p.sources[i];
		if (c->npool) {
			c->pool_name = xstrdup(pool);
			return;
		}
		log_warn("campaign %s: pool '%s' has no source this process started with; "
		         "sending from pool '%s'",
		         c->id, pool, dflt);
	}
	for (size_t i = 0; i < s->p.nsources && c->npool < SOURCES_MAX; i++)
		if (strcmp(s->p.sources[i]->pool, dflt) == 0)
			c->pool[c->npool++] = s->p.sources[i];
}

/* A tenant paused by the operator (tenants[].paused, in force after a
 * reload, or `sluice tenant pause`: control.c) has none of its campaigns
 * delivered; nor is a campaign paused for a while (`sluice campaign pause
 * --for`). */
static int tenant_paused(struct scheduler *s, const struct sched_campaign *c)
{
	return sched_tenant_paused(s, c->tenant) || sched_campaign_held(s, c->id);
}

int scheduler_tenant_paused(struct scheduler *s, const char *tenant)
{
	return sched_tenant_paused(s, tenant ? tenant : TENANT_DEFAULT);
}

int scheduler_campaign_held(struct scheduler *s, const char *id)
{
	return sched_campaign_held(s, id);
}

const struct config *scheduler_config(const struct scheduler *s)
{
	return s->p.cfg;
}

void scheduler_add_campaign(struct scheduler *s, const struct sched_campaign_desc *d)
{
	struct sched_campaign *c, **tail = &s->campaigns;

	for (c = s->campaigns; c; c = c->next) {
		if (strcmp(c->id, d->id) == 0) {
			if (tenant_paused(s, c) || c->cancelled || c->moving)
				return; /* held until its tenant is resumed, for good, or
				         * until its move (control.c) starts it over */
			if (c->finished || c->paused) { /* more queued, or resumed: start over */
				c->finished = 0;
				c->paused = 0;
				c->tenant_held = 0;
				c->cur = STORE_CURSOR_START;
			}
			/* new rows come after the cursor (row ids grow, due now) */
			c->next_fetch_ms = 0;
			return;
		}
		tail = &c->next;
	}
	c = xcalloc(1, sizeof(*c));
	c->s = s;
	c->id = xstrdup(d->id);
	c->salt = xstrdup(d->salt);
	c->envelope_from = xstrdup(d->envelope_from);
	c->tpl = d->tpl;
	c->tenant = xstrdup(d->tenant ? d->tenant : TENANT_DEFAULT);
	sched_campaign_pool(s, c, d->pool);
	c->priority = d->priority;
	c->size = d->size;
	c->clean_version = d->clean_version;
	c->check_suppression = d->clean_version < 0;
	c->cur = STORE_CURSOR_START;
	c->paused = c->tenant_held = tenant_paused(s, c);
	*tail = c;
	s->ncampaigns++;
	monitor_campaign_start(s, c);
}

void scheduler_pause_campaign(struct scheduler *s, const char *id)
{
	for (struct sched_campaign *c = s->campaigns; c; c = c->next)
		if (strcmp(c->id, id) == 0 && !c->paused && !c->finished)
			monitor_stop_campaign(s, c);
}

int scheduler_has_campaign(const struct scheduler *s, const char *id)
{
	for (const struct sched_campaign *c = s->campaigns; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return !c->finished && !c->paused;
	return 0;
}

void scheduler_start(struct scheduler *s)
{
	struct timeval tv = {0, COMMIT_INTERVAL_MS * 1000};
	struct err e;

	/* what receivers will see from each source, for `sluice check` to
	 * compare next time (a HELO that changes looks like a bot) */
	for (size_t i = 0; i < s->p.nsources; i++)
		if (s->p.store.identity_set(s->p.store.ctx, s->p.sources[i]->ip,
		                            s->p.sources[i]->helo, sched_wall_ms(s) / 1000,
		                            &e) != 0) {
			sched_fail(s, &e);
			break;
		}
	s->dirty = 1;
	event_add(s->tick, &tv);
}

void scheduler_reconfigure(struct scheduler *s, const struct config *cfg, const struct rules *rules,
                           const struct classifier *classifier)
{
	s->p.cfg = cfg;
	s->p.rules = s->rules = rules;
	s->p.classifier = classifier;
	site_set_policies(s);
	for (struct sched_campaign *c = s->campaigns; c; c = c->next)
		if (tenant_paused(s, c) && !c->paused && !c->finished) {
			log_info("campaign %s held: its tenant %s is paused", c->id, c->tenant);
			monitor_stop_campaign(s, c);
			c->tenant_held = 1;
		}
}

void scheduler_stop(struct scheduler *s)
{
	size_t pos = 0;
	const char *key;
	void *v;

	if (s->stopping)
		return;
	s->stopping = 1;
	while (strmap_next(s->sites, &pos, &key, &v)) {
		struct site *site = v;
		struct job *j;
		while ((j = site_pop(site)) != NULL) { /* still queued in the store */
			s->loaded--;
			job_free(j);
		}
		for (struct session *x = site->sessions, *next; x; x = next) {
			next = x->next; /* x may be freed */
			s->p.smtp.stop(x->c, STOP_GRACE_MS);
		}
	}
	s->p.mx.cancel(s->p.mx.ctx); /* jobs waiting for DNS leave memory now */
}

int scheduler_error(const struct scheduler *s, struct err *e)
{
	if (!s->failed)
		return 0;
	*e = s->err;
	return -1;
}

void scheduler_stats(const struct scheduler *s, struct scheduler_stats *out)
{
	*out = s->st;
	out->in_flight = s->loaded;
}

const struct scheduler_counters *scheduler_counters(const struct scheduler *s)
{
	return &s->counters;
}

int scheduler_free(struct scheduler *s, struct err *e)
{
	int rc = 0;

	dkim_jobs_free(s);
	if (!s->failed)
		sched_snapshot_sites(s); /* the final state: connections closed */
	if (dlog_flush(s->p.log, e) != 0 || s->p.store.commit(s->p.store.ctx, e) != 0 ||
	    suppress_commit(s->p.suppress, e) != 0)
		rc = -1;
	commit_waits_done(s, rc == 0 && !s->failed);
	event_free(s->tick);
	strmap_free(s->sites, site_free);
	sched_providers_free(s);
	failover_free(s);
	while (s->campaigns) {
		struct sched_campaign *c = s->campaigns;
		s->campaigns = c->next;
		free(c->id);
		free(c->salt);
		free(c->envelope_from);
		free(c->tenant);
		free(c->pool_name);
		free(c);
	}
	for (size_t i = 0; i < SOURCES_MAX; i++)
		strmap_free(s->warm_site_sent[i], NULL);
	sched_warm_levels_reset(s);
	sched_controls_free(s);
	strbuf_free(&s->event_json);
	free(s);
	return rc;
}
