/*
 * scheduler: decides what goes next. It reads ready recipients from the
 * store in batches (never the whole queue), resolves their domains to sites
 * (the MX host set), keeps a queue per site, opens SMTP sessions within the
 * per-site and global connection caps, renders each message when a session
 * asks for it, and turns every outcome into a store update and a log record:
 * delivered, bounced, deferred with exponential backoff, or expired.
 * State changes are group-committed by a timer every COMMIT_INTERVAL_MS.
 */
#ifndef SLUICE_ENGINE_SCHEDULER_H
#define SLUICE_ENGINE_SCHEDULER_H

#include <stdint.h>

#include "engine/monitor.h"
#include "engine/ports.h"
#include "mail/category.h"
#include "mail/config.h"
#include "mail/providers.h"
#include "store/store.h"
#include "util/err.h"
#include "util/histogram.h"

struct event_base;
struct ssl_ctx_st;
struct dlog;
struct template;
struct rules;
struct classifier;
struct suppress;
struct dkim_signer;
struct scheduler;

struct scheduler_params {
	struct event_base *base;
	const struct config *cfg;
	/* the world (engine/ports.h): the server's are engine_clock_real,
	 * engine_store_sqlite, engine_resolver_mx and engine_smtp_real */
	struct engine_clock clock;
	struct engine_store store;
	struct engine_resolver mx;
	struct engine_smtp smtp;
	struct dlog *log;
	struct ssl_ctx_st *ssl_ctx;
	/* the pool, heaviest first: each site sticks to one of them, chosen by
	 * weight from the site's name; a site first reached by a campaign
	 * smaller than cfg->spread_threshold uses only the first */
	const struct source *const *sources;
	size_t nsources;
	const struct rules *rules; /* reply rules (shape/rules.h) */
	const struct classifier *classifier;
	struct suppress *suppress;      /* list hygiene from outcomes; NULL: none */
	const struct dkim_signer *dkim; /* signs each rendered message; NULL: none */
	struct monitor_sink sink;       /* where danger signs go (engine/monitor.h) */
	/* 1: keep running when every campaign is done (serve adds more);
	 * 0: break the event loop then */
	int keep_running;
};

/* Counters since start (this run only). */
struct scheduler_stats {
	int64_t delivered, bounced, expired, deferred; /* attempts by outcome */
	int64_t suppressed;  /* ended unsent: suppressed after they were queued */
	int64_t in_flight;   /* recipients loaded, not yet final */
	int64_t connections; /* open now */
	int64_t cpu_ns;      /* in the scheduler's callbacks (SLUICE_SCHED_CPU set), else 0 */
	int64_t signs;       /* danger signs fired (engine/monitor.c) */
	char last_sign[160];
};

/* Counters for the life of the scheduler, for metrics (serve's /metrics):
 * they only grow. An attempt is counted once its outcome is recorded, by
 * outcome (scheduler_outcome_name: the delivery log's "outcome"), reply
 * category (mail/category.h) and provider (provider_index of the site's
 * provider; PROVIDERS_MAX for every other site and for outcomes that
 * reached no site, such as a domain without MX). */
#define SCHED_OUTCOMES 5 /* delivered, bounced, deferred, expired, suppressed */
/* The same by tenant (its campaign's) and category: one row per tenant
 * seen, at most SCHED_TENANTS_MAX (tenants come from the config, so a
 * few); the row after them counts any more, named SCHED_TENANTS_OTHER. */
#define SCHED_TENANTS_MAX   64
#define SCHED_TENANTS_OTHER "(other)"
struct scheduler_tenant_counts {
	char name[TENANT_NAME_MAX + 1];
	int64_t attempts[SCHED_OUTCOMES][CAT_COUNT];
};
struct scheduler_counters {
	int64_t attempts[SCHED_OUTCOMES][CAT_COUNT][PROVIDERS_MAX + 1];
	struct scheduler_tenant_counts tenants[SCHED_TENANTS_MAX + 1];
	size_t ntenants;         /* rows of tenants in use before the "(other)" one */
	struct histogram commit; /* seconds one group commit took (log, queue, list) */
};

/* One campaign to deliver. Campaigns share the sites, their connections
 * and their rates: at a site, jobs of a higher priority go first, and
 * campaigns of equal priority take turns, one message each. */
struct sched_campaign_desc {
	const char *id, *salt, *envelope_from; /* copied */
	const struct template *tpl;            /* bound to its columns; must outlive the scheduler;
	                                        * NULL for a stream (each recipient names its message) */
	const char *tenant;                    /* its owner (copied; NULL: "default") */
	const char *pool; /* the pool its sites are sent from (NULL: sender.pool) */
	int priority;
	int64_t size; /* its recipients (the source spread threshold) */
	/* suppress_version() when every queued recipient was last checked
	 * against the list (send: just before queueing); -1: unknown. While the
	 * list's version is still that, loading skips the per-recipient check. */
	int64_t clean_version;
};

struct scheduler *scheduler_new(const struct scheduler_params *p);
/* Source failover (engine/failover.c): the listing behind ip's blocks is
 * gone (serve/watch.c found it on none of the check.dnsbl zones): its
 * blocks whose reply named such a zone, set or renewed before before_ms
 * (wall), end now (logged with why, kept in the store; the sites go back
 * to their own source, the mail they parked is due). Returns how many. */
size_t scheduler_lift_source_blocks(struct scheduler *s, const char *ip, int64_t before_ms,
                                    const char *why);
/* Adds a campaign (again: wakes it up, e.g. after more was queued). */
void scheduler_add_campaign(struct scheduler *s, const struct sched_campaign_desc *d);
/* The config in force (scheduler_new's, or the last reconfigure's). */
const struct config *scheduler_config(const struct scheduler *s);
/* Commits everything written to the store on this loop (the scheduler's
 * and others', e.g. submitted messages) with the next group commit, then
 * calls done(arg, ok): ok 0 when the commit failed (or the scheduler had;
 * after scheduler_stop the last commit, in scheduler_free, answers). Nothing may be acknowledged
 * before ok 1. */
void scheduler_commit_then(struct scheduler *s, void (*done)(void *arg, int ok), void *arg);
/* Stops delivering campaign id (paused in the store by someone else): what
 * waits in memory goes back to waiting in the store. */
void scheduler_pause_campaign(struct scheduler *s, const char *id);
/* 1 if the tenant's campaigns are held: paused in the config or by the
 * operator (`sluice tenant pause`, POST /v1/pause; engine/control.c). */
int scheduler_tenant_paused(struct scheduler *s, const char *tenant);
/* 1 if campaign id is paused for a while (`sluice campaign pause --for`). */
int scheduler_campaign_held(struct scheduler *s, const char *id);
/* 1 if the scheduler has campaign id and it is not finished. */
int scheduler_has_campaign(const struct scheduler *s, const char *id);
/* A reloaded config (serve, SIGHUP): cfg, rules and classifier replace
 * those of scheduler_new (borrowed likewise). From its return nothing of
 * the scheduler points into the config, rules or classifier it had (sites
 * resolve their policies again; an SMTP session copied its timeouts),
 * except p->sources, which stay those of scheduler_new. Every
 * site's limits are resolved again from cfg's policies, keeping what reply
 * rules did to it; what reads the config when it acts (retry and expiry,
 * timeouts of new sessions, connection caps, the monitor, list hygiene)
 * follows cfg from now on. Sources, DKIM keys and the DNS resolver stay.
 * Campaigns of a tenant cfg pauses leave memory and wait (still queued);
 * when it is resumed, the next scheduler_add_campaign starts them again. */
void scheduler_reconfigure(struct scheduler *s, const struct config *cfg, const struct rules *rules,
                           const struct classifier *classifier);
/* Starts work; when every recipient of every campaign is final (unless
 * keep_running), or after scheduler_stop when the sessions have finished,
 * breaks the event loop. */
void scheduler_start(struct scheduler *s);
/* Graceful stop: no new sessions or fetches; open sessions QUIT after their
 * current transaction; nothing queued is touched. */
void scheduler_stop(struct scheduler *s);
/* 0 while fine; -1 with e set once the store or log failed (the run ends). */
int scheduler_error(const struct scheduler *s, struct err *e);
void scheduler_stats(const struct scheduler *s, struct scheduler_stats *out);
/* The counters above; borrowed until scheduler_free. */
const struct scheduler_counters *scheduler_counters(const struct scheduler *s);
/* "delivered", "bounced", "deferred", "expired", "suppressed" for 0..4. */
const char *scheduler_outcome_name(int outcome);
/* Calls fn for every site the scheduler knows, with what `sluice queue`
 * shows of it (the snapshot written every second, but live) and its large
 * provider's name, or NULL. Everything is borrowed for the call. */
typedef void (*scheduler_site_fn)(void *arg, const struct site_snapshot *snap,
                                  const char *provider);
void scheduler_sites(const struct scheduler *s, scheduler_site_fn fn, void *arg);
/* Commits pending changes and frees (call after the loop returned). */
int scheduler_free(struct scheduler *s, struct err *e);

#endif
