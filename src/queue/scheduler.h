/*
 * scheduler: decides what goes next. It reads ready recipients from the
 * store in batches (never the whole queue), resolves their domains to sites
 * (the MX host set), keeps a queue per site, opens SMTP sessions within the
 * per-site and global connection caps, renders each message when a session
 * asks for it, and turns every outcome into a store update and a log record:
 * delivered, bounced, deferred with exponential backoff, or expired.
 * State changes are group-committed by a timer every COMMIT_INTERVAL_MS.
 */
#ifndef SLUICE_QUEUE_SCHEDULER_H
#define SLUICE_QUEUE_SCHEDULER_H

#include <stdint.h>

#include "mail/config.h"
#include "util/err.h"

struct event_base;
struct ssl_ctx_st;
struct store;
struct dlog;
struct mx_cache;
struct template;
struct rules;
struct classifier;
struct suppress;
struct scheduler;

struct scheduler_params {
	struct event_base *base;
	const struct config *cfg;
	struct store *store;
	struct dlog *log;
	struct mx_cache *mx;
	struct ssl_ctx_st *ssl_ctx;
	/* the campaign's pool, heaviest first: each site sticks to one of them,
	 * chosen by weight; a campaign smaller than cfg->spread_threshold uses
	 * only the first */
	const struct source *const *sources;
	size_t nsources;
	int64_t campaign_size;
	const char *campaign;
	const struct template *tpl; /* bound to the campaign's columns */
	const char *envelope_from;
	const char *salt;          /* Message-ID uniqueness */
	const struct rules *rules; /* reply rules (shape/rules.h) */
	const struct classifier *classifier;
	struct suppress *suppress; /* list hygiene from outcomes; NULL: none */
	/* when the work is done: on_done(done_arg) if set (call scheduler_free
	 * later, not from inside it), else the event loop breaks */
	void (*on_done)(void *arg);
	void *done_arg;
	/* > 0: also done when nothing is due within this many seconds (serve
	 * turns to the next campaign) */
	int64_t yield_when_idle_s;
};

/* Counters since start (this run only). */
struct scheduler_stats {
	int64_t delivered, bounced, expired, deferred; /* attempts by outcome */
	int64_t in_flight;                             /* recipients loaded, not yet final */
	int64_t connections;                           /* open now */
};

struct scheduler *scheduler_new(const struct scheduler_params *p);
/* Starts work; when every recipient is final (or after scheduler_stop, when the
 * sessions have finished), breaks the event loop. */
void scheduler_start(struct scheduler *s);
/* Graceful stop: no new sessions or fetches; open sessions QUIT after their
 * current transaction; nothing queued is touched. */
void scheduler_stop(struct scheduler *s);
/* 1 once the work is done (after on_done was called). */
int scheduler_done(const struct scheduler *s);
/* 0 while fine; -1 with e set once the store or log failed (the run ends). */
int scheduler_error(const struct scheduler *s, struct err *e);
void scheduler_stats(const struct scheduler *s, struct scheduler_stats *out);
/* Commits pending changes and frees (call after the loop returned). */
int scheduler_free(struct scheduler *s, struct err *e);

/* Backoff before attempt n+1 after n failed attempts: min * 2^(n-1), capped. */
int64_t scheduler_backoff_s(int attempts, int64_t min_s, int64_t max_s);

#endif
