/*
 * site: the scheduler's destination sites (scheduler_int.h): each site's
 * queue of ready jobs, the source it sticks to, admission (site_admit:
 * paused by the operator, suspended by its throttle or over its warm-up cap, when the site's queue
 * is parked back in the store; site_pace: the message and connection rates),
 * the warm-up counts, the per-second snapshots `sluice queue` reads, and
 * the limits the site's throttle learned (shape/learn.h), read from the
 * store when the site is made and written back in the group commit. A
 * site of a provider learns as the provider (its sched_provider's learn,
 * kept as "provider:NAME"): its own throttle only suspends it.
 */
#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlog/dlog.h"
#include "engine/outcome.h"
#include "engine/scheduler_int.h"
#include "mail/category.h"
#include "mail/stage.h"
#include "shape/provlimit.h"
#include "shape/warmup.h"
#include "util/when.h"
#include "util/xmalloc.h"

static void on_site_timer(evutil_socket_t fd, short what, void *arg);
static struct sched_provider *provider_get(struct scheduler *s, struct site *site, const char *name,
                                           const char *mx, const struct provider_limits *pl);
static void providers_set_limits(struct scheduler *s);

/* The source a site is sent from: by weight, from a hash of the site, so
 * the same site sees the same IP on every run and from every campaign. A
 * site first reached by a campaign below the spread threshold gets the
 * first (heaviest) source. */
static const struct source *pick_source(const struct scheduler *s, const struct sched_campaign *c,
                                        const char *site)
{
	uint32_t h = 2166136261u, total = 0;

	if (c->npool == 1 || c->size < s->p.cfg->spread_threshold)
		return c->pool[0];
	for (const char *k = site; *k; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	for (size_t i = 0; i < c->npool; i++)
		total += (uint32_t)c->pool[i]->weight;
	uint32_t pick = h % total;
	for (size_t i = 0; i < c->npool; i++) {
		if (pick < (uint32_t)c->pool[i]->weight)
			return c->pool[i];
		pick -= (uint32_t)c->pool[i]->weight;
	}
	return c->pool[0];
}

/* What the store kept for (key, ip): 1 and k, 0 nothing, -1 failed (the
 * engine stops, as on any failed store read). */
static int learned_read(struct scheduler *s, const char *key, const char *ip, struct learn_kept *k)
{
	struct store_learned row;
	struct err e;
	int rc = s->p.store.learned_get(s->p.store.ctx, key, ip, &row, &e);

	if (rc < 0)
		sched_fail(s, &e);
	if (rc != 1)
		return rc;
	*k = (struct learn_kept){
	    .rate = row.rate,
	    .ceiling = row.ceiling,
	    .connections = row.connections,
	    .level = row.level,
	    .throttled_s = row.throttled_s,
	    .suspended_until_s = row.suspended_until_s,
	};
	return 1;
}

/* Keeps k for (key, ip), in the group commit. */
static void learned_write(struct scheduler *s, const char *key, const char *ip,
                          const struct learn_kept *k, int64_t now_s)
{
	struct store_learned row = {
	    .site = key,
	    .source_ip = ip,
	    .rate = k->rate,
	    .ceiling = k->ceiling,
	    .connections = k->connections,
	    .level = k->level,
	    .throttled_s = k->throttled_s,
	    .suspended_until_s = k->suspended_until_s,
	    .updated_s = now_s,
	};
	struct err e;

	if (s->p.store.learned_put(s->p.store.ctx, &row, &e) != 0)
		sched_fail(s, &e);
}

/* What the store kept of the site's limits, into its throttle. */
static void site_learned_load(struct scheduler *s, struct site *site)
{
	struct learn_kept k;

	if (!s->p.store.learned_get || site->pv) /* a provider's site: the provider learns */
		return;
	if (learned_read(s, site->key, site->source->ip, &k) != 1)
		return;
	throttle_restore_learned(&site->thr, &k, sched_mono_ms(s), sched_wall_ms(s) / 1000);
	site->learned_saved_ms = sched_mono_ms(s);
}

/* Writes what the site's throttle learned, when it changed and was not
 * written in the last LEARN_SAVE_MS (or the site is idle: the run may end). */
static void site_learned_save(struct scheduler *s, struct site *site, int64_t now_mono,
                              int64_t now_s)
{
	struct learn_kept k;
	int idle = site->active == 0 && site->queued == 0;

	if (!s->p.store.learned_put || site->pv || !site->thr.lr.changed ||
	    (!idle && now_mono - site->learned_saved_ms < LEARN_SAVE_MS))
		return;
	if (!throttle_learned_changed(&site->thr, now_mono, now_s, &k))
		return;
	learned_write(s, site->key, site->source->ip, &k, now_s);
	site->learned_saved_ms = now_mono;
}

/* A recipient a throttling reply deferred is due when the site's suspension
 * ends if that comes before its backoff: the refusal was the site's, not
 * the recipient's. */
int64_t site_throttled_retry_s(const struct site *site, int64_t due_s)
{
	int64_t mono = sched_mono_ms(site->s);

	if (!throttle_suspended(&site->thr, mono))
		return due_s;
	int64_t end = site_suspension_end_s(site, mono);
	return end < due_s ? end : due_s;
}

struct site *site_get(struct scheduler *s, const struct sched_campaign *c, const char *domain,
                      const struct mx_result *res)
{
	/* a site is a destination and a pool: each pool has its own (named
	 * "MXSET@POOL" beside sender.pool's plain "MXSET") */
	char *key = xstrdup(res->site);
	if (c->pool_name) {
		free(key);
		key = xmalloc(strlen(res->site) + strlen(c->pool_name) + 2);
		sprintf(key, "%s@%s", res->site, c->pool_name);
	}
	struct site *site = strmap_get(s->sites, key);

	if (site) {
		free(key);
		return site;
	}
	site = xcalloc(1, sizeof(*site));
	site->key = key;
	site->domain = xstrdup(domain);
	site->naddrs = res->naddrs;
	site->addrs = xcalloc(res->naddrs, sizeof(*site->addrs));
	memcpy(site->addrs, res->addrs, res->naddrs * sizeof(*site->addrs));
	/* Policies match the first recipient domain and MX host that made the site. */
	site->pol = config_policy_for(s->p.cfg, domain, res->addrs[0].host);
	site->s = s;
	site->source = pick_source(s, c, res->site);
	site->provider = provider_for_mx(res->addrs[0].host);
	failover_site_init(s, site, c); /* a blocked home: the next healthy source */
	const char *pname;
	struct provider_limits pl;
	if (config_provider_for(s->p.cfg, res->addrs[0].host, &pname, &pl)) {
		site->pv = provider_get(s, site, pname, res->addrs[0].host, &pl);
		site->pv->nsites++;
	}
	size_t wi = source_index(s, site->source);
	site->warm_sent =
	    s->warm_site_sent[wi] ? (intptr_t)strmap_get(s->warm_site_sent[wi], site->key) : 0;
	throttle_init(&site->thr, &site->pol, s->p.cfg->initial_connections, sched_mono_ms(s));
	site->thr.rate_elsewhere = site->pv != NULL;
	site_learned_load(s, site);
	site->timer = evtimer_new(s->p.base, on_site_timer, site);
	site->domains = strmap_new();
	strmap_put(s->sites, site->key, site);
	failover_site_made(s, site); /* a provider or source rule's suspension */
	return site;
}

void site_free(void *p)
{
	struct site *site = p;

	site_free_lanes(site);
	if (site->timer)
		event_free(site->timer);
	strmap_free(site->domains, NULL);
	free(site->key);
	free(site->domain);
	free(site->addrs);
	free(site->pool);
	free(site);
}

void site_set_policies(struct scheduler *s)
{
	size_t pos = 0;
	const char *key;
	void *v;
	int64_t now_ms = sched_mono_ms(s);

	while (strmap_next(s->sites, &pos, &key, &v)) {
		struct site *site = v;
		struct policy pol = config_policy_for(s->p.cfg, site->domain, site->addrs[0].host);
		throttle_set_policy(&site->thr, &site->pol, &pol, now_ms);
		site->pol = pol;
		if (site->npool) /* failover.c: the pool's width again */
			site->failover_width = config_failover_width(s->p.cfg, site->pool[0]->pool);
	}
	providers_set_limits(s);
}

void site_wait_for_capacity(struct scheduler *s, struct site *site)
{
	if (site->waiting)
		return;
	site->waiting = 1;
	site->wait_next = NULL;
	if (s->wait_tail)
		s->wait_tail->wait_next = site;
	else
		s->wait_head = site;
	s->wait_tail = site;
}

/* Puts a loaded job back in the store, due at due_s, without an attempt:
 * memory is for work that can go now, not for a suspended or slow site. */
void sched_park(struct scheduler *s, struct job *j, int64_t due_s)
{
	struct err e;

	/* never past its own expiry: loaded then, it expires (load.c) */
	if (j->r->expires_at_s > 0 && due_s > j->r->expires_at_s)
		due_s = j->r->expires_at_s;
	if (s->p.store.rcpt_postpone(s->p.store.ctx, j->r->id, due_s, &e) != 0)
		sched_fail(s, &e);
	s->dirty = 1;
	s->loaded--;
	job_free(j);
}

/* Seconds since the epoch when the site's suspension ends. */
int64_t site_suspension_end_s(const struct site *site, int64_t mono_ms)
{
	return sched_wall_ms(site->s) / 1000 + (site->thr.suspended_until_ms - mono_ms) / 1000 + 1;
}

/* Everything queued for the suspended site goes back to the store, due when
 * the suspension ends. */
static void site_park_suspended(struct scheduler *s, struct site *site, int64_t mono_ms)
{
	int64_t due = site_suspension_end_s(site, mono_ms);
	struct job *j;

	while ((j = site_pop(site)) != NULL)
		sched_park(s, j, due);
}

/* The most a rate-limited site keeps in memory; 0: no limit (not rate-limited). */
size_t site_backlog_max(const struct site *site)
{
	double rate = throttle_message_rate(&site->thr);
	if (rate <= 0)
		return 0;
	size_t n = (size_t)(rate * BACKLOG_SECONDS);
	return n < BACKLOG_MIN ? BACKLOG_MIN : n;
}

/* ---- warm-up ---- */

size_t source_index(const struct scheduler *s, const struct source *src)
{
	for (size_t i = 0; i < s->p.nsources; i++)
		if (s->p.sources[i] == src)
			return i;
	return 0;
}

static void warm_site_row(void *arg, const char *site, int64_t sent)
{
	strmap_put(arg, site, (void *)(intptr_t)sent);
}

/* Loads today's counts (at start, and when the UTC day changes). */
void sched_warm_load(struct scheduler *s, int64_t today)
{
	struct err e;
	size_t pos = 0;
	const char *key;
	void *v;

	s->warm_today = today;
	sched_warm_levels_reset(s); /* a new day: each group's level again */
	for (size_t i = 0; i < s->p.nsources && i < SOURCES_MAX; i++) {
		const struct source *src = s->p.sources[i];
		if (!warmup_enabled(src))
			continue;
		strmap_free(s->warm_site_sent[i], NULL);
		s->warm_site_sent[i] = strmap_new();
		if (s->p.store.warmup_first_day(s->p.store.ctx, src->ip, today,
		                                &s->warm_first_day[i], &e) != 0 ||
		    s->p.store.warmup_counts(s->p.store.ctx, src->ip, today, warm_site_row,
		                             s->warm_site_sent[i], &e) != 0) {
			sched_fail(s, &e);
			return;
		}
		s->warm_sent[i] = (intptr_t)strmap_get(s->warm_site_sent[i], "");
	}
	while (strmap_next(s->sites, &pos, &key, &v)) {
		struct site *site = v;
		size_t i = source_index(s, site->source);
		site->warm_sent =
		    s->warm_site_sent[i] ? (intptr_t)strmap_get(s->warm_site_sent[i], key) : 0;
	}
	s->dirty = 1;
}

/* Whether the site's source may send it one more message today. */
static int site_warm_allows(struct scheduler *s, struct site *site, char *why, size_t n)
{
	const struct source *src = site->source;
	size_t i = source_index(s, src);
	int64_t overall, per_site, in_flight = 0;
	size_t pos = 0;
	const char *key;
	void *v;

	if (!warmup_enabled(src))
		return 1;
	int64_t day = s->warm_today - s->warm_first_day[i] + 1, unused;
	const char *held_all, *held_site, *grp = sched_warm_group(site);
	int64_t lv_all = sched_warm_level(s, i, "", &held_all);
	int64_t lv_site = sched_warm_level(s, i, grp, &held_site);
	warmup_caps(src, lv_all, &overall, &unused); /* the health gate (warm_health.c) */
	warmup_caps(src, lv_site, &unused, &per_site);
	while (strmap_next(s->sites, &pos, &key, &v))
		if (((struct site *)v)->source == src)
			in_flight += ((struct site *)v)->in_flight;
	if (per_site != WARMUP_NO_CAP && site->warm_sent + site->in_flight >= per_site) {
		snprintf(why, n,
		         "warm-up: day %lld cap of %lld messages per site from %s reached%s%s%s",
		         (long long)day, (long long)per_site, src->ip, held_site[0] ? " (" : "",
		         held_site, held_site[0] ? ")" : "");
		return 0;
	}
	if (overall != WARMUP_NO_CAP && s->warm_sent[i] + in_flight >= overall) {
		snprintf(why, n, "warm-up: day %lld cap of %lld messages from %s reached%s%s%s",
		         (long long)day, (long long)overall, src->ip, held_all[0] ? " (" : "",
		         held_all, held_all[0] ? ")" : "");
		return 0;
	}
	return 1;
}

/* Everything queued for the site waits for the next day: logged as deferred
 * (stage "warmup"), never bounced, no attempt counted. */
static void site_park_warmup(struct scheduler *s, struct site *site, const char *why)
{
	int64_t now_ms = sched_wall_ms(s), due = warmup_next_day_s(now_ms / 1000);
	struct job *j;
	struct reply r;

	reply_set_local(&r, 451, "4.7.0", why);
	while ((j = site_pop(site)) != NULL) {
		struct dlog_rec rec = {
		    .time_ms = now_ms,
		    .campaign = j->camp->id,
		    .tenant = j->camp->tenant,
		    .recipient = j->r->mailbox,
		    .domain = j->r->domain,
		    .site = site->key,
		    .source_ip = site->source->ip,
		    .helo = site->source->helo,
		    .stage = stage_name(STAGE_WARMUP),
		    .code = r.code,
		    .enhanced = r.enhanced,
		    .text = r.text,
		    .outcome = "deferred",
		    .category = category_name(CAT_RATE_LIMITED),
		    .rule = "warm-up",
		    .attempt = j->r->attempts,
		    .queue_time_s = now_ms / 1000 - j->r->queued_at_s,
		};
		dlog_add(s->p.log, &rec);
		s->st.deferred++;
		sched_count_attempt(s, OC_DEFERRED, CAT_RATE_LIMITED, site, j->camp->tenant);
		sched_park(s, j, due);
	}
}

void site_warm_count(struct scheduler *s, struct site *site)
{
	struct err e;
	size_t i = source_index(s, site->source);

	if (!warmup_enabled(site->source))
		return;
	site->warm_sent++;
	s->warm_sent[i]++;
	if (s->p.store.warmup_add(s->p.store.ctx, site->source->ip, s->warm_today, site->key, &e) !=
	        0 ||
	    s->p.store.warmup_add(s->p.store.ctx, site->source->ip, s->warm_today, "", &e) != 0)
		sched_fail(s, &e);
}

/* Wakes the site (site_open_sessions) in wait_ms, unless already armed. */
static void site_arm(struct site *site, int64_t wait_ms)
{
	const struct engine_clock *clock = &site->s->p.clock;

	clock->arm(clock->ctx, site->timer, wait_ms);
}

/* ---- provider-wide limits (struct sched_provider) ---- */

#define PROVIDER_WINDOW_MS  10000 /* the observed rate's window */
#define PROVIDER_RECHECK_MS 100   /* waiters left while room was handed out */

static void on_provider_timer(evutil_socket_t fd, short what, void *arg);
static void on_provider_msg_timer(evutil_socket_t fd, short what, void *arg);

/* ---- what the provider taught (its struct learn, kept per source) ---- */

/* The store's key of a provider's learned limits (beside sites' keys). */
static void provider_learned_key(const struct sched_provider *pv, char *buf, size_t size)
{
	snprintf(buf, size, "provider:%s", pv->name);
}

/* The learned rate in force, stepped up per quiet interval, into the
 * provider's bucket (the lower of it and the configured rate). */
static void provider_learned_apply(struct sched_provider *pv, int64_t now_ms)
{
	learn_step(&pv->lr, now_ms);
	if (learn_rate(&pv->lr) != pv->lim.learned_rate)
		provlimit_set_learned(&pv->lim, learn_rate(&pv->lr), now_ms);
}

static void provider_learned_load(struct scheduler *s, struct sched_provider *pv)
{
	struct learn_kept k;
	char key[300];

	learn_init(&pv->lr);
	pv->learned_saved_ms = sched_mono_ms(s);
	if (!s->p.store.learned_get)
		return;
	provider_learned_key(pv, key, sizeof(key));
	if (learned_read(s, key, pv->source->ip, &k) != 1)
		return;
	learn_restore(&pv->lr, &k, sched_mono_ms(s), sched_wall_ms(s) / 1000);
	provider_learned_apply(pv, sched_mono_ms(s));
}

/* Writes what the provider learned, when it changed and was not written
 * in the last LEARN_SAVE_MS (or none of its connections is open). */
static void provider_learned_save(struct scheduler *s, struct sched_provider *pv, int64_t now_mono,
                                  int64_t now_s)
{
	struct learn_kept k;
	char key[300];

	if (!s->p.store.learned_put || !pv->lr.changed ||
	    (pv->lim.open > 0 && now_mono - pv->learned_saved_ms < LEARN_SAVE_MS))
		return;
	learn_kept_of(&pv->lr, now_mono, now_s, &k);
	provider_learned_key(pv, key, sizeof(key));
	learned_write(s, key, pv->source->ip, &k, now_s);
	pv->learned_saved_ms = now_mono;
}

void site_provider_throttled(struct scheduler *s, struct site *site, const struct reply_rule *r,
                             int64_t now_ms)
{
	struct sched_provider *pv = site->pv;

	if (!pv || !r || r->suspend_ms <= 0)
		return;
	(void)s;
	(void)learn_throttled(&pv->lr, r->suspend_ms, now_ms);
	provider_learned_apply(pv, now_ms);
}

void site_provider_delivered(struct site *site, int64_t now_ms)
{
	if (site->pv)
		learn_delivered(&site->pv->lr, now_ms);
}

/* The provider aggregate of (name, the site's source), made at first use. */
static struct sched_provider *provider_get(struct scheduler *s, struct site *site, const char *name,
                                           const char *mx, const struct provider_limits *pl)
{
	char key[300];
	struct sched_provider *pv;

	snprintf(key, sizeof(key), "%s@%s", name, site->source->ip);
	if (!s->providers)
		s->providers = strmap_new();
	if ((pv = strmap_get(s->providers, key)) != NULL)
		return pv;
	pv = xcalloc(1, sizeof(*pv));
	pv->s = s;
	pv->key = xstrdup(key);
	pv->name = xstrdup(name);
	pv->mx = xstrdup(mx);
	pv->source = site->source;
	provlimit_init(&pv->lim, pl->max_connections, pl->message_rate, pl->connection_rate,
	               sched_mono_ms(s));
	pv->timer[SITE_PACE_CONNECTION] = evtimer_new(s->p.base, on_provider_timer, pv);
	pv->timer[SITE_PACE_MESSAGE] = evtimer_new(s->p.base, on_provider_msg_timer, pv);
	pv->window_start_ms = sched_mono_ms(s);
	strmap_put(s->providers, pv->key, pv);
	provider_learned_load(s, pv);
	return pv;
}

static void provider_free(void *p)
{
	struct sched_provider *pv = p;

	for (int k = 0; k < 2; k++)
		if (pv->timer[k])
			event_free(pv->timer[k]);
	free(pv->key);
	free(pv->name);
	free(pv->mx);
	free(pv);
}

void sched_providers_free(struct scheduler *s)
{
	strmap_free(s->providers, provider_free);
	s->providers = NULL;
}

/* The provider's limits again from the config (a reload). */
static void providers_set_limits(struct scheduler *s)
{
	size_t pos = 0;
	const char *key, *name;
	void *v;
	struct provider_limits pl;

	while (s->providers && strmap_next(s->providers, &pos, &key, &v)) {
		struct sched_provider *pv = v;
		if (!config_provider_for(s->p.cfg, pv->mx, &name, &pl) || strcmp(name, pv->name))
			pl = (struct provider_limits){0}; /* no longer limited */
		provlimit_set(&pv->lim, pl.max_connections, pl.message_rate, pl.connection_rate,
		              sched_mono_ms(s));
	}
}

/* What the provider allows now: 0 go, PROVLIMIT_FULL, or ms to wait. */
static int64_t provider_wait(struct sched_provider *pv, enum site_pace what, int64_t now_ms)
{
	provider_learned_apply(pv, now_ms);
	int64_t w = what == SITE_PACE_CONNECTION ? provlimit_connection_wait(&pv->lim, now_ms)
	                                         : provlimit_message_wait(&pv->lim, now_ms);
	/* a throttle at one of its sites suspends them all: the receiver
	 * counts the source across them */
	if (w != PROVLIMIT_FULL && pv->lr.suspended_until_ms - now_ms > w)
		w = pv->lr.suspended_until_ms - now_ms;
	return w;
}

static void provider_take(struct sched_provider *pv, enum site_pace what, int64_t now_ms)
{
	if (what == SITE_PACE_CONNECTION) {
		provlimit_connection_take(&pv->lim, now_ms);
		return;
	}
	provlimit_message_take(&pv->lim, now_ms);
	if (now_ms - pv->window_start_ms >= PROVIDER_WINDOW_MS) {
		pv->observed_rate =
		    (double)pv->window_count * 1000.0 / (double)(now_ms - pv->window_start_ms);
		pv->window_start_ms = now_ms;
		pv->window_count = 0;
	}
	pv->window_count++;
}

/* The provider's connections held by idle sessions of its sites with
 * nothing queued say QUIT now: others of its sites wait for them. */
static void provider_release_idle(struct sched_provider *pv)
{
	size_t pos = 0;
	const char *key;
	void *v;

	while (strmap_next(pv->s->sites, &pos, &key, &v)) {
		struct site *site = v;
		if (site->pv == pv && site->queued == 0 && site->active > 0)
			site_finish_idle(site);
	}
}

int site_provider_contended(const struct site *site)
{
	return site->pv && site->pv->nwait[SITE_PACE_CONNECTION] > 0;
}

/* The site waits (once) at the tail of the provider's list for what; the
 * provider's timer is armed when time, not a closing connection, brings
 * room. */
static void provider_enqueue(struct sched_provider *pv, struct site *site, enum site_pace what,
                             int64_t wait_ms)
{
	const struct engine_clock *clock = &pv->s->p.clock;

	if (!site->pv_waiting[what]) {
		site->pv_waiting[what] = 1;
		site->pv_next[what] = NULL;
		if (pv->wait_tail[what])
			pv->wait_tail[what]->pv_next[what] = site;
		else
			pv->wait_head[what] = site;
		pv->wait_tail[what] = site;
		pv->nwait[what]++;
		if (what == SITE_PACE_CONNECTION && wait_ms == PROVLIMIT_FULL)
			provider_release_idle(pv);
	}
	if (wait_ms > 0)
		clock->arm(clock->ctx, pv->timer[what], wait_ms);
}

static struct site *provider_dequeue(struct sched_provider *pv, enum site_pace what)
{
	struct site *site = pv->wait_head[what];

	if (!site)
		return NULL;
	pv->wait_head[what] = site->pv_next[what];
	if (!pv->wait_head[what])
		pv->wait_tail[what] = NULL;
	site->pv_next[what] = NULL;
	site->pv_waiting[what] = 0;
	pv->nwait[what]--;
	return site;
}

/* Wakes the sites waiting for what, in turn, at most as many as there is
 * room for now (a woken site that still finds none goes to the tail). */
static void provider_wake(struct sched_provider *pv, enum site_pace what)
{
	struct scheduler *s = pv->s;
	int64_t now = sched_mono_ms(s);
	int room = what == SITE_PACE_CONNECTION ? provlimit_connection_room(&pv->lim, now)
	                                        : provlimit_message_room(&pv->lim, now);
	size_t n = pv->nwait[what];

	for (size_t i = 0; i < n && room > 0; i++, room--) {
		struct site *site = provider_dequeue(pv, what);
		site_open_sessions(s, site);
	}
	if (pv->nwait[what] == 0)
		return;
	int64_t wait = provider_wait(pv, what, sched_mono_ms(s));
	const struct engine_clock *clock = &s->p.clock;
	if (wait > 0)
		clock->arm(clock->ctx, pv->timer[what], wait);
	else if (wait == 0) /* room handed out may go unused: look again soon */
		clock->arm(clock->ctx, pv->timer[what], PROVIDER_RECHECK_MS);
}

static void on_provider_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	provider_wake(arg, SITE_PACE_CONNECTION);
}

static void on_provider_msg_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	provider_wake(arg, SITE_PACE_MESSAGE);
}

void site_connection_closed(struct scheduler *s, struct site *site, struct sched_provider *pv)
{
	(void)s, (void)site;
	if (!pv)
		return;
	provlimit_connection_closed(&pv->lim);
	provider_wake(pv, SITE_PACE_CONNECTION);
}

/* Takes the site off pv's wait lists (it moves to another source's). */
static void provider_unlink(struct sched_provider *pv, struct site *site)
{
	for (int w = 0; w < 2; w++) {
		struct site **pp = &pv->wait_head[w], *prev = NULL;
		if (!site->pv_waiting[w])
			continue;
		while (*pp && *pp != site)
			prev = *pp, pp = &(*pp)->pv_next[w];
		if (*pp) {
			*pp = site->pv_next[w];
			if (pv->wait_tail[w] == site)
				pv->wait_tail[w] = prev;
			pv->nwait[w]--;
		}
		site->pv_next[w] = NULL;
		site->pv_waiting[w] = 0;
	}
}

void site_set_source(struct scheduler *s, struct site *site, const struct source *src)
{
	if (site->source == src)
		return;
	/* the limits learned are per (site, source): the old source's are
	 * kept, the new one's read (or a fresh start, slow) */
	site->learned_saved_ms = INT64_MIN / 2;
	site_learned_save(s, site, sched_mono_ms(s), sched_wall_ms(s) / 1000);
	site->source = src;
	throttle_init(&site->thr, &site->pol, s->p.cfg->initial_connections, sched_mono_ms(s));
	throttle_set_established(&site->thr, site->active - site->starting);
	site->thr.rate_elsewhere = site->pv != NULL;
	site_learned_load(s, site);
	if (site->pv) { /* the provider's limits hold per source: its aggregate follows */
		const char *pname;
		struct provider_limits pl;
		struct sched_provider *old = site->pv;
		provider_unlink(old, site);
		old->nsites--;
		if (config_provider_for(s->p.cfg, site->addrs[0].host, &pname, &pl)) {
			site->pv = provider_get(s, site, pname, site->addrs[0].host, &pl);
			site->pv->nsites++;
		} else {
			site->pv = NULL;
		}
	}
	size_t wi = source_index(s, src);
	site->warm_sent =
	    s->warm_site_sent[wi] ? (intptr_t)strmap_get(s->warm_site_sent[wi], site->key) : 0;
	site_finish_idle(site); /* sessions from the old source go; busy ones after their message */
}

/* What `sluice queue` shows of a provider (strings borrowed from it). */
static void provider_snapshot_of(struct sched_provider *pv, int64_t now_mono, int64_t now_s,
                                 struct provider_snapshot *out)
{
	if (now_mono - pv->window_start_ms >= 2 * PROVIDER_WINDOW_MS)
		pv->observed_rate = 0; /* nothing sent for a whole window */
	*out = (struct provider_snapshot){
	    .provider = pv->name,
	    .source_ip = pv->source->ip,
	    .sites = pv->nsites,
	    .waiting = (int)(pv->nwait[0] + pv->nwait[1]),
	    .conns = pv->lim.open,
	    .conn_limit = pv->lim.max_connections,
	    .rate = pv->observed_rate,
	    .rate_limit = provlimit_message_rate(&pv->lim), /* the lower of configured, learned */
	    .conn_rate_limit = pv->lim.connection_rate,
	    .updated_s = now_s,
	};
}

static void sched_snapshot_providers(struct scheduler *s, int64_t now_s)
{
	size_t pos = 0;
	const char *key;
	void *v;
	struct err e;

	while (s->providers && strmap_next(s->providers, &pos, &key, &v)) {
		struct provider_snapshot snap;
		provider_snapshot_of(v, sched_mono_ms(s), now_s, &snap);
		if (s->p.store.provider_snapshot &&
		    s->p.store.provider_snapshot(s->p.store.ctx, &snap, &e) != 0) {
			sched_fail(s, &e);
			return;
		}
		provider_learned_save(s, v, sched_mono_ms(s), now_s);
	}
}

/* ---- admission: may the site go on now? ---- */

/* Everything queued for the paused site goes back to the store, due when
 * the pause ends (a pause until resumed: looked at again in PAUSE_PARK_S;
 * a resume makes it due at once, control.c); idle sessions say QUIT. */
static void site_park_paused(struct scheduler *s, struct site *site, const struct sched_pause *p)
{
	int64_t due = p->until_s ? p->until_s : sched_wall_ms(s) / 1000 + PAUSE_PARK_S;
	struct job *j;

	while ((j = site_pop(site)) != NULL)
		sched_park(s, j, due);
	site_finish_idle(site);
}

/* Everything queued for the site waits in the store until until_s (the
 * earliest end of its sources' blocks, failover.c), or the end of its
 * lifetime if that comes first; at that end it expires (deferred until
 * then, never bounced). */
static void site_park_blocked(struct scheduler *s, struct site *site, int64_t until_s)
{
	int64_t now_s = sched_wall_ms(s) / 1000;
	struct job *j;
	char text[160], when[WHEN_TEXT_MAX];

	when_format(until_s, when, sizeof(when));
	snprintf(text, sizeof(text), "not sent: every source this site may use is held until %s",
	         when);
	while ((j = site_pop(site)) != NULL) {
		const struct queued_rcpt *r = j->r;
		int64_t end = (r->send_at_s > r->queued_at_s ? r->send_at_s : r->queued_at_s) +
		              s->p.cfg->max_lifetime_s;
		if (now_s >= end)
			sched_local_outcome(s, j, STAGE_LOAD, 451, "4.7.1", text); /* expires */
		else
			sched_park(s, j, until_s < end ? until_s : end);
	}
	site_finish_idle(site);
}

enum site_admit site_admit(struct scheduler *s, struct site *site, int64_t now_ms)
{
	char why[200];
	const struct sched_pause *p = sched_site_pause(s, site, sched_wall_ms(s) / 1000);

	if (p) {
		site_park_paused(s, site, p);
		return SITE_ADMIT_PAUSED;
	}
	int64_t blocked_until = failover_admit(s, site, sched_wall_ms(s) / 1000);
	if (blocked_until) { /* every source it may use is blocked: it waits */
		site_park_blocked(s, site, blocked_until);
		return SITE_ADMIT_SUSPENDED;
	}
	if (throttle_suspended(&site->thr, now_ms)) {
		site_park_suspended(s, site, now_ms);
		return SITE_ADMIT_SUSPENDED;
	}
	if (site->queued > 0 && !site_warm_allows(s, site, why, sizeof(why))) {
		site_park_warmup(s, site, why);
		return SITE_ADMIT_WARMUP;
	}
	return SITE_ADMIT_OPEN;
}

int site_pace(struct site *site, enum site_pace what, int64_t now_ms)
{
	/* the provider is asked first and takes last: a site's token is not
	 * spent on a message the provider holds back */
	if (site->pv) {
		int64_t pw = provider_wait(site->pv, what, now_ms);
		if (pw != 0) {
			provider_enqueue(site->pv, site, what, pw);
			return 0;
		}
	}
	int64_t wait = what == SITE_PACE_CONNECTION ? throttle_wait_connection(&site->thr, now_ms)
	                                            : throttle_wait_message(&site->thr, now_ms);
	if (wait > 0) {
		site_arm(site, wait); /* a session idles until then, or QUITs after idle_timeout */
		return 0;
	}
	if (site->pv)
		provider_take(site->pv, what, now_ms);
	return 1;
}

static void on_site_timer(evutil_socket_t fd, short what, void *arg)
{
	struct site *site = arg;

	(void)fd, (void)what;
	site_open_sessions(site->s, site);
}

/* What `sluice queue` shows of a site (its strings borrowed from it). */
static void site_snapshot_of(struct site *site, int64_t now_mono, int64_t now_s,
                             struct site_snapshot *out)
{
	struct throttle *t = &site->thr;
	int suspended = throttle_suspended(t, now_mono);
	const struct sched_pause *p = sched_site_pause(site->s, site, now_s);

	*out = (struct site_snapshot){
	    .site = site->key,
	    .campaign = site->turn    ? site->turn->camp->id
	                : site->lanes ? site->lanes->camp->id
	                              : NULL,
	    .queued = (int64_t)site->queued,
	    .in_flight = site->in_flight,
	    .conns = site->active,
	    .conn_limit = throttle_max_connections(t, now_mono),
	    .rate = t->observed_rate,
	    .rate_limit = throttle_message_rate(t),
	    .suspended_until_s =
	        suspended ? now_s + (t->suspended_until_ms - now_mono) / 1000 + 1 : 0,
	    .reason = t->reason,
	    .updated_s = now_s,
	};
	if (p) { /* the operator's pause shows as a suspension */
		out->suspended_until_s = p->until_s;
		snprintf(site->pause_why, sizeof(site->pause_why), "paused: %s", p->reason);
		out->reason = site->pause_why;
	}
}

/* Writes every site's state for `sluice queue` (in the group commit). */
void sched_snapshot_sites(struct scheduler *s)
{
	int64_t now_mono = sched_mono_ms(s), now_s = sched_wall_ms(s) / 1000;
	size_t pos = 0;
	const char *key;
	void *v;
	struct err e;

	while (strmap_next(s->sites, &pos, &key, &v)) {
		struct site_snapshot snap;
		site_snapshot_of(v, now_mono, now_s, &snap);
		if (s->p.store.site_snapshot(s->p.store.ctx, &snap, &e) != 0) {
			sched_fail(s, &e);
			return;
		}
		site_learned_save(s, v, now_mono, now_s);
	}
	sched_snapshot_providers(s, now_s);
	s->dirty = 1;
}

void scheduler_sites(const struct scheduler *s, scheduler_site_fn fn, void *arg)
{
	int64_t now_mono = sched_mono_ms(s), now_s = sched_wall_ms(s) / 1000;
	size_t pos = 0;
	const char *key;
	void *v;

	while (strmap_next(s->sites, &pos, &key, &v)) {
		struct site *site = v;
		struct site_snapshot snap;
		site_snapshot_of(site, now_mono, now_s, &snap);
		fn(arg, &snap, site->provider ? site->provider->name : NULL);
	}
}

void site_refuse_campaign(struct scheduler *s, struct site *site, struct sched_campaign *c,
                          int64_t until_s)
{
	struct job *j = site_lane_refuse(site, c, until_s), *next;
	int64_t due_s = site_refuses(site, c, 0); /* the later of two refusals */

	for (; j; j = next) {
		next = j->next;
		j->next = NULL;
		sched_park(s, j, due_s);
	}
	if (site->queued == 0)
		site_finish_idle(site);
}

void site_finish_idle(struct site *site)
{
	const struct engine_smtp *smtp = &site->s->p.smtp;

	for (struct session *x = site->sessions; x; x = x->next)
		if (smtp->is_idle(x->c))
			smtp->finish(x->c);
}
