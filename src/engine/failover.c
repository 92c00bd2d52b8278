/*
 * failover: source failover and reply-rule triggers (scheduler_int.h).
 *
 * A reply rule with action block_source (the built-in blocklist rules,
 * shape/rules.c, or a config rule) blocks the (site, source IP) pair, or
 * (provider, source IP) with scope provider, for the rule's block_for:
 * kept in the store (store/srcblock.h) so a restart keeps it, logged, and
 * the site moves to the next healthy source of its pool within the pool's
 * failover width (shape/srcblock.h decides which). When every allowed
 * source is blocked, site_admit parks the site's mail until the earliest
 * block ends; when a block ends the site goes back to its home source.
 *
 * A rule's trigger (count within a window) is counted per target of its
 * scope; a rule whose scope is the provider or the source applies its
 * throttle to every site of it, one whose scope is the campaign or the
 * tenant pauses it (the store's campaign pause, the rule's name as reason).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlog/dlog.h"
#include "engine/scheduler_int.h"
#include "mail/reply.h"
#include "shape/srcblock.h"
#include "shape/throttle.h"
#include "util/log.h"
#include "util/when.h"
#include "util/xmalloc.h"

/* 1 when the reply names one of the check.dnsbl zones: the watcher's
 * check tells whether that listing is gone (serve/watch.c). */
static int names_a_zone(const struct config *cfg, const char *text)
{
	const char *z = cfg->check_dnsbl;
	char zone[256];

	while (z && *z && text) {
		size_t n = strcspn(z, ", ");
		if (n > 0 && n < sizeof(zone)) {
			memcpy(zone, z, n);
			zone[n] = '\0';
			if (strcasestr(text, zone))
				return 1;
		}
		z += n;
		z += strspn(z, ", ");
	}
	return 0;
}

static void load_row(void *arg, const struct store_srcblock *r)
{
	struct scheduler *s = arg;
	srcblocks_set_at(s->blocks, r->site, r->source_ip, r->until_s, r->created_s * 1000,
	                 names_a_zone(s->p.cfg, r->reply));
}

/* The blocks kept in the store, once. */
static void blocks_load(struct scheduler *s)
{
	struct err e;

	if (s->blocks)
		return;
	s->blocks = srcblocks_new();
	if (s->p.store.srcblock_list &&
	    s->p.store.srcblock_list(s->p.store.ctx, sched_wall_ms(s) / 1000, load_row, s, &e) != 0)
		sched_fail(s, &e);
}

/* "provider:NAME" for the site's provider (its provider-wide limits' name,
 * else the built-in provider's), or NULL. */
static const char *provider_key(const struct scheduler *s, const struct site *site, char *buf,
                                size_t n)
{
	const char *name = site->pv ? site->pv->name : NULL;
	struct provider_limits pl;

	if (!name && !config_provider_for(s->p.cfg, site->addrs[0].host, &name, &pl))
		name = NULL;
	if (!name && site->provider)
		name = site->provider->name;
	if (!name)
		return NULL;
	snprintf(buf, n, "provider:%s", name);
	return buf;
}

/* The index in site->pool of the source it should send from now, or -1
 * with *until set (every allowed source is blocked). */
static int choose(struct scheduler *s, const struct site *site, int64_t now_s, int64_t *until)
{
	const char *ips[SOURCES_MAX];
	size_t home = 0;
	char pk[200];

	for (size_t i = 0; i < site->npool && i < SOURCES_MAX; i++) {
		ips[i] = site->pool[i]->ip;
		if (site->pool[i] == site->home)
			home = i;
	}
	return srcblocks_pick(s->blocks, site->key, provider_key(s, site, pk, sizeof(pk)), ips,
	                      site->npool, home, site->failover_width, now_s, until);
}

void failover_site_init(struct scheduler *s, struct site *site, const struct sched_campaign *c)
{
	int64_t until;

	site->home = site->source;
	site->npool = c->npool;
	site->pool = xcalloc(c->npool ? c->npool : 1, sizeof(*site->pool));
	memcpy(site->pool, c->pool, c->npool * sizeof(*site->pool));
	site->failover_width =
	    config_failover_width(s->p.cfg, c->npool ? c->pool[0]->pool : s->p.cfg->pool);
	blocks_load(s);
	int i = choose(s, site, sched_wall_ms(s) / 1000, &until);
	if (i >= 0 && site->pool[i] != site->source)
		log_info("site %s: starts on source %s (its own, %s, is blocked)", site->key,
		         site->pool[i]->ip, site->source->ip);
	if (i >= 0)
		site->source = site->pool[i]; /* its provider and warm-up are set after */
}

int64_t failover_admit(struct scheduler *s, struct site *site, int64_t now_s)
{
	int64_t until = 0;

	if (!s->blocks || (srcblocks_count(s->blocks) == 0 && site->source == site->home))
		return 0;
	if (now_s - s->blocks_pruned_s >= 60) { /* ended blocks cost nothing once gone */
		srcblocks_prune(s->blocks, now_s);
		s->blocks_pruned_s = now_s;
	}
	int i = choose(s, site, now_s, &until);
	if (i < 0)
		return until;
	if (site->pool[i] != site->source) {
		log_info("site %s: sends from source %s again (%s)", site->key, site->pool[i]->ip,
		         site->pool[i] == site->home ? "its home source, no longer blocked"
		                                     : "the next healthy source");
		site_set_source(s, site, site->pool[i]);
	}
	return 0;
}

/* The block in the delivery log: site, source, reply, rule (no recipient). */
static void log_block(struct scheduler *s, const struct site *site, const struct source *src,
                      const struct reply_rule *rule, const struct reply *reply, const char *mx_host,
                      const char *outcome)
{
	struct dlog_rec rec = {
	    .time_ms = sched_wall_ms(s),
	    .site = site->key,
	    .mx_host = mx_host,
	    .source_ip = src->ip,
	    .helo = src->helo,
	    .code = reply->code,
	    .enhanced = reply->enhanced,
	    .text = reply->text,
	    .outcome = outcome,
	    .rule = rule->name,
	};
	dlog_add(s->p.log, &rec);
	s->dirty = 1;
}

void failover_block(struct scheduler *s, struct site *site, const struct source *src,
                    const struct reply_rule *rule, const struct reply *reply, const char *mx_host)
{
	int64_t now_s = sched_wall_ms(s) / 1000, wait = 0;
	int64_t until = now_s + (rule->block_ms ? rule->block_ms : RULE_BLOCK_DEFAULT_MS) / 1000;
	char pk[200], when[WHEN_TEXT_MAX], text[600];
	const char *key = site->key;
	struct err e;

	blocks_load(s);
	if (rule->scope == RSCOPE_PROVIDER && provider_key(s, site, pk, sizeof(pk)))
		key = pk;
	int64_t had = srcblocks_until(s->blocks, key, src->ip, now_s);
	snprintf(text, sizeof(text), "%d %s %s", reply->code, reply->enhanced, reply->text);
	srcblocks_set_at(s->blocks, key, src->ip, until, sched_wall_ms(s),
	                 names_a_zone(s->p.cfg, text));
	if (!had || until - had >= 60) { /* kept: a restart keeps the block */
		struct store_srcblock row = {.site = key,
		                             .source_ip = src->ip,
		                             .rule = rule->name,
		                             .reply = text,
		                             .until_s = until,
		                             .created_s = now_s};
		if (s->p.store.srcblock_put &&
		    s->p.store.srcblock_put(s->p.store.ctx, &row, &e) != 0)
			sched_fail(s, &e);
		s->dirty = 1;
	}
	if (had)
		return; /* known: the site has moved already */
	when_format(until, when, sizeof(when));
	log_warn("site %s: source %s blocked at %s until %s (rule %s): %s", site->key, src->ip, key,
	         when, rule->name, text);
	log_block(s, site, src, rule, reply, mx_host, "source_blocked");
	if (src != site->source)
		return; /* the site left that source already */
	int i = choose(s, site, now_s, &wait);
	if (i >= 0 && site->pool[i] != site->source) {
		log_warn("site %s: fails over from source %s to %s (failover width %d)", site->key,
		         src->ip, site->pool[i]->ip, site->failover_width);
		site_set_source(s, site, site->pool[i]);
	} else if (i < 0) {
		when_format(wait, when, sizeof(when));
		log_warn(
		    "site %s: every source it may use (failover width %d) is blocked: its mail "
		    "waits until %s",
		    site->key, site->failover_width, when);
	}
}

/* ---- blocks ended early: the listing is gone (serve/watch.c) ---- */

struct lift {
	struct scheduler *s;
	const char *ip, *why;
	size_t n;
};

/* The mail the site parked for the block (due at its end at the latest)
 * is due again now; campaigns fetch again (as a pause's end does). */
static void site_wake(struct scheduler *s, struct site *site, int64_t until_s)
{
	int64_t now_s = sched_wall_ms(s) / 1000;
	size_t pos = 0;
	const char *domain;
	void *v;
	struct err e;

	while (s->p.store.rcpt_due_domain && strmap_next(site->domains, &pos, &domain, &v))
		if (s->p.store.rcpt_due_domain(s->p.store.ctx, domain, now_s + 1, until_s, &e) !=
		    0) {
			sched_fail(s, &e);
			return;
		}
	for (struct sched_campaign *c = s->campaigns; c; c = c->next)
		if (!c->finished && !c->paused)
			c->next_fetch_ms = (now_s + 1) * 1000;
}

static void lifted(void *arg, const char *key, int64_t until_s)
{
	struct lift *l = arg;
	struct scheduler *s = l->s;
	int64_t now_s = sched_wall_ms(s) / 1000;
	struct store_srcblock row = {.site = key,
	                             .source_ip = l->ip,
	                             .rule = "",
	                             .reply = l->why,
	                             .until_s = now_s,
	                             .created_s = now_s};
	struct err e;
	size_t pos = 0;
	const char *k;
	void *v;

	l->n++;
	if (s->p.store.srcblock_put && s->p.store.srcblock_put(s->p.store.ctx, &row, &e) != 0)
		sched_fail(s, &e);
	log_info("source %s: its block at %s ends early: %s", l->ip, key, l->why);
	while (strmap_next(s->sites, &pos, &k, &v)) {
		struct site *site = v;
		char pk[200];
		const char *xp = provider_key(s, site, pk, sizeof(pk));
		if (strcmp(site->key, key) == 0 || (xp && strcmp(xp, key) == 0))
			site_wake(s, site, until_s);
	}
}

size_t scheduler_lift_source_blocks(struct scheduler *s, const char *ip, int64_t before_ms,
                                    const char *why)
{
	struct lift l = {s, ip, why, 0};

	blocks_load(s);
	srcblocks_lift(s->blocks, ip, before_ms, lifted, &l);
	if (l.n)
		s->dirty = 1;
	return l.n;
}

/* ---- rule triggers and scopes ---- */

static struct sched_campaign *campaign_of(const struct site *site, const struct job *j)
{
	if (j)
		return j->camp;
	return site->turn ? site->turn->camp : site->lanes ? site->lanes->camp : NULL;
}

static void pause_campaign(struct scheduler *s, struct sched_campaign *c, const char *why)
{
	struct err e;

	if (c->paused || c->cancelled)
		return;
	if (s->p.store.campaign_pause(s->p.store.ctx, c->id, why, sched_wall_ms(s) / 1000, &e) !=
	    0) {
		sched_fail(s, &e);
		return;
	}
	log_warn("campaign %s paused: %s", c->id, why);
	monitor_stop_campaign(s, c);
}

/* A provider- or source-scoped suspension in force, for sites made while
 * it lasts (failover_site_made). */
struct scoped {
	int scope;
	char target[200];
	char rule[100];
	char reason[THROTTLE_REASON_MAX];
	int64_t until_ms; /* monotonic */
};

static void scoped_keep(struct scheduler *s, const struct reply_rule *rule, const char *target,
                        const char *reason, int64_t until_ms)
{
	char key[260];
	struct scoped *x;

	snprintf(key, sizeof(key), "%d\n%s", rule->scope, target);
	if (!s->scoped)
		s->scoped = strmap_new();
	x = strmap_get(s->scoped, key);
	if (!x) {
		x = xcalloc(1, sizeof(*x));
		strmap_put(s->scoped, key, x);
	}
	x->scope = rule->scope;
	snprintf(x->target, sizeof(x->target), "%s", target);
	snprintf(x->rule, sizeof(x->rule), "%s", rule->name);
	snprintf(x->reason, sizeof(x->reason), "%s", reason);
	if (until_ms > x->until_ms)
		x->until_ms = until_ms;
}

void failover_site_made(struct scheduler *s, struct site *site)
{
	int64_t now = sched_mono_ms(s);
	size_t pos = 0, n = 0;
	const char *key;
	void *v;
	char pk[200], *gone[16];

	if (!s->scoped)
		return;
	const char *xp = provider_key(s, site, pk, sizeof(pk));
	while (strmap_next(s->scoped, &pos, &key, &v)) {
		const struct scoped *x = v;
		if (x->until_ms <= now) {
			if (n < 16)
				gone[n++] = xstrdup(key);
			continue;
		}
		int hit = x->scope == RSCOPE_SOURCE ? strcmp(site->source->ip, x->target) == 0
		                                    : xp && strcmp(xp, x->target) == 0;
		if (!hit || x->until_ms <= site->thr.suspended_until_ms)
			continue;
		site->thr.suspended_until_ms = x->until_ms;
		snprintf(site->thr.reason, sizeof(site->thr.reason), "%s", x->reason);
		log_info("site %s: starts suspended by reply rule %s (%s %s)", site->key, x->rule,
		         config_rule_scope_name(x->scope), x->target);
		sched_event_site(s, site, "site_suspended", x->rule,
		                 site_suspension_end_s(site, now));
	}
	for (size_t i = 0; i < n; i++) {
		free(strmap_remove(s->scoped, gone[i]));
		free(gone[i]);
	}
}

/* A fired rule of scope provider, source, campaign or tenant, applied. */
static void apply_scope(struct scheduler *s, struct site *site, const struct job *j,
                        const struct reply_rule *rule, const char *text, const char *target)
{
	char why[300];
	size_t pos = 0;
	const char *key;
	void *v;

	snprintf(why, sizeof(why), "reply rule %s (%s %s)", rule->name,
	         config_rule_scope_name(rule->scope), target);
	if (rule->scope == RSCOPE_CAMPAIGN || rule->scope == RSCOPE_TENANT) {
		struct sched_campaign *c = campaign_of(site, j);
		for (struct sched_campaign *x = s->campaigns; c && x; x = x->next)
			if (x == c || (rule->scope == RSCOPE_TENANT && x->tenant && c->tenant &&
			               strcmp(x->tenant, c->tenant) == 0))
				pause_campaign(s, x, why);
		return;
	}
	log_warn("%s: applied to every site of it", why);
	int64_t now = sched_mono_ms(s), until = 0;
	while (strmap_next(s->sites, &pos, &key, &v)) {
		struct site *x = v;
		char pk[200];
		const char *xp = provider_key(s, x, pk, sizeof(pk));
		int hit = rule->scope == RSCOPE_SOURCE ? strcmp(x->source->ip, target) == 0
		                                       : xp && strcmp(xp, target) == 0;
		if (!hit && x != site)
			continue;
		int was = throttle_suspended(&x->thr, now);
		throttle_apply(&x->thr, rule, text, now);
		if (!throttle_suspended(&x->thr, now))
			continue;
		if (x->thr.suspended_until_ms > until) {
			until = x->thr.suspended_until_ms;
			snprintf(why, sizeof(why), "%s", x->thr.reason);
		}
		if (!was)
			sched_event_site(s, x, "site_suspended", rule->name,
			                 site_suspension_end_s(x, now));
	}
	if (until > now) /* sites made while it lasts start under it */
		scoped_keep(s, rule, target, why, until);
}

int failover_rule_fires(struct scheduler *s, struct site *site, const struct job *j,
                        const struct reply_rule *rule, const char *text)
{
	char buf[300];
	const char *target = site->key;

	if (rule->trigger_count <= 1 &&
	    (rule->scope == RSCOPE_SITE || rule->action == RULE_BLOCK_SOURCE))
		return 1; /* today's behaviour: each match, at the site */
	const struct sched_campaign *c = campaign_of(site, j);
	switch (rule->scope) {
	case RSCOPE_PROVIDER:
		target = provider_key(s, site, buf, sizeof(buf)) ? buf : site->key;
		break;
	case RSCOPE_SOURCE:
		target = (j && j->source ? j->source : site->source)->ip;
		break;
	case RSCOPE_CAMPAIGN:
		target = c ? c->id : "";
		break;
	case RSCOPE_TENANT:
		target = c && c->tenant ? c->tenant : "";
		break;
	default:
		break;
	}
	if (!s->triggers)
		s->triggers = triggers_new();
	if (!triggers_hit(s->triggers, rule->name, target, rule->trigger_count,
	                  rule->trigger_within_ms, sched_mono_ms(s)))
		return 0;
	if (rule->action == RULE_BLOCK_SOURCE || rule->scope == RSCOPE_SITE)
		return 1;
	apply_scope(s, site, j, rule, text, target);
	return 0;
}

void failover_free(struct scheduler *s)
{
	srcblocks_free(s->blocks);
	s->blocks = NULL;
	triggers_free(s->triggers);
	s->triggers = NULL;
	strmap_free(s->scoped, free);
	s->scoped = NULL;
}
