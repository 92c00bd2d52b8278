/*
 * api_wiring: the HTTP API's listener in `sluice serve` (api.listen): an
 * http_server with keep-alive, api.max_body and the API's limits, one
 * prefix route "/v1/" to api/api.h, and the submit module it queues
 * through, committed by the scheduler's group commit. Started once the
 * scheduler exists; its listener closed with the others on SIGTERM, the
 * rest freed after the scheduler (whose commit calls back); a reload hands it the new
 * config (the listener's own settings wait for a restart).
 */
#ifndef SLUICE_SERVE_API_WIRING_H
#define SLUICE_SERVE_API_WIRING_H

#include "util/err.h"

#define API_RATE_PER_IP 0 /* requests a second per client: none (tenants have limits) */

struct event_base;
struct config;
struct store;
struct suppress;
struct dlog;
struct scheduler;
struct submit;
struct api_wiring;

struct api_wiring_params {
	struct event_base *base;
	const struct config *cfg;
	struct store *store;
	struct suppress *sp;
	struct dlog *log;
	struct scheduler *sched;
	struct submit *submit; /* serve's, shared with SMTP submission; NULL: one of its own */
};

/* Listens on cfg->api_listen (*out NULL and 0 when it is not set). 0, or
 * -1 with e (nothing left open). */
int api_wiring_start(const struct api_wiring_params *p, struct api_wiring **out, struct err *e);
void api_wiring_reconfigure(struct api_wiring *w, const struct config *cfg);
/* Stops listening (SIGTERM); answers still owed are dropped. */
void api_wiring_close_listener(struct api_wiring *w);
/* Frees it all: after the scheduler is freed, since a commit the scheduler
 * still owes calls back into submit and the api. NULL is a no-op. */
void api_wiring_stop(struct api_wiring *w);

#endif
