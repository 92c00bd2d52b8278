/*
 * observe: what `sluice serve` tells operators over its HTTP listener
 * (http/server.h, inbound.http_listen), beside the unsubscribe endpoint:
 *   GET /metrics  the Prometheus text format (http/metrics.h);
 *   GET /status   what `sluice queue` shows, as JSON: campaigns with their
 *                 counts, and the sites the scheduler is sending to.
 * Both need "Authorization: Bearer TOKEN" with http.status_token (compared
 * in constant time; 401 without it), /metrics not with http.metrics_public;
 * with no token configured, what needs one answers 404.
 *
 * Costs: the scheduler's counters and sites are read live (no SQL). The
 * counts of recipients by campaign and state come from the queue store,
 * read on a worker thread over a connection of its own (WAL: the delivery
 * engine's writes are not held up, and the loop never waits for a count),
 * at most every OBSERVE_COUNT_MIN_MS and never more than 1/20 of the time,
 * while /metrics or /status was asked within OBSERVE_IDLE_MS; they are as
 * of the last commit that count saw. A /metrics body is reused for
 * OBSERVE_CACHE_MS, so a flood of scrapes costs one rendering a second (and
 * the listener's per-client request rate caps it anyway).
 *
 * It also keeps what only serve sees: danger signs by kind (observe_sign),
 * and the event loop's lag (a timer every OBSERVE_LAG_MS, measuring how
 * late it fires).
 */
#ifndef SLUICE_SERVE_OBSERVE_H
#define SLUICE_SERVE_OBSERVE_H

#include "engine/monitor.h"
#include "util/err.h"

#define OBSERVE_COUNT_MIN_MS 1000   /* recounts of the store at most this often */
#define OBSERVE_IDLE_MS      300000 /* no recounts when nobody asked for this long */
#define OBSERVE_CACHE_MS     1000   /* a rendered /metrics is reused this long */
#define OBSERVE_LAG_MS       100    /* the lag timer's period */
#define OBSERVE_SIGN_KINDS   16     /* distinct sign kinds counted; more are "other" */
#define OBSERVE_STATUS_SITES 1000   /* sites listed by /status, busiest first */

struct event_base;
struct config;
struct scheduler;
struct observe;
struct http_request;
struct http_response;

struct observe_params {
	struct event_base *base;
	const struct config *cfg; /* borrowed until observe_free */
	const char *state_dir;
	const char *version;  /* static */
	size_t campaigns_max; /* campaigns counted (serve: CAMPAIGNS_MAX) */
};

/* Opens its own connection to the queue store, its counting thread and the
 * lag timer. 0, or -1 with e set (nothing left open). */
int observe_new(const struct observe_params *p, struct observe **out, struct err *e);
/* The scheduler whose counters and sites to show; NULL before it is freed. */
void observe_scheduler(struct observe *o, struct scheduler *s);
/* A reloaded config (SIGHUP) in place of the one before (borrowed). */
void observe_reconfigure(struct observe *o, const struct config *cfg);
/* The webhook dispatcher whose numbers /metrics shows (NULL: none). */
struct webhook;
void observe_webhooks(struct observe *o, struct webhook *w);
/* Counts a danger sign (NULL o: nothing). */
void observe_sign(struct observe *o, const struct monitor_sign *sg);
/* The handlers (http/server.h), arg the struct observe. */
void observe_metrics(void *arg, const struct http_request *req, struct http_response *resp);
void observe_status(void *arg, const struct http_request *req, struct http_response *resp);
/* Waits for a count under way, closes everything. NULL is a no-op. */
void observe_free(struct observe *o);

#endif
