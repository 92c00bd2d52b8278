/* api_wiring: see api_wiring.h. */
#include "serve/api_wiring.h"

#include <stdlib.h>

#include "api/api.h"
#include "engine/scheduler.h"
#include "http/server.h"
#include "mail/config.h"
#include "submit/submit.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct api_wiring {
	struct http_server *http;
	struct api *api;
	struct submit *own; /* made here when serve had none */
	struct submit *submit;
};

static void commit(void *owner, void (*done)(void *arg, int ok), void *arg)
{
	scheduler_commit_then(owner, done, arg);
}

/* A stream with new mail: serve's poll of the store adds it to the
 * scheduler within SERVE_POLL_MS. */
static void wake(void *owner, const char *campaign)
{
	(void)owner, (void)campaign;
}

static int queue(void *ctx, const struct submit_msg *m, char qid[SUBMIT_QUEUE_ID_MAX],
                 struct submit_refusal *r)
{
	return submit_queue(ctx, m, qid, r);
}

static void flush(void *ctx, void (*done)(void *arg, int ok), void *arg)
{
	submit_flush(ctx, done, arg);
}

int api_wiring_start(const struct api_wiring_params *p, struct api_wiring **out, struct err *e)
{
	const struct config *cfg = p->cfg;

	*out = NULL;
	if (!cfg->api_listen)
		return 0;
	struct api_wiring *w = xcalloc(1, sizeof(*w));
	w->submit = p->submit;
	if (!w->submit) {
		struct submit_params sp = {p->base, cfg, p->store, p->sp, commit, wake, p->sched};
		if (submit_new(&sp, &w->own, e) != 0) {
			free(w);
			return -1;
		}
		w->submit = w->own;
	}
	struct api_params ap = {cfg, p->store, p->sp, p->log, {queue, flush, w->submit}};
	w->api = api_new(&ap);
	struct http_server_params hp = {
	    .base = p->base,
	    .listen = cfg->api_listen,
	    .what = "HTTP API",
	    .max_connections = cfg->api_max_connections,
	    .max_per_ip = cfg->api_max_per_ip,
	    .timeout_ms = cfg->api_timeout_ms,
	    .body_max = (size_t)cfg->api_max_body,
	    .rate_per_ip = API_RATE_PER_IP,
	    .keep_alive = 1,
	};
	const struct http_route routes[] = {{"/v1/", api_handle, w->api, 1}};
	if (http_server_new(&hp, routes, 1, &w->http, e) != 0) {
		api_wiring_stop(w);
		return -1;
	}
	log_info("HTTP API on %s", cfg->api_listen);
	*out = w;
	return 0;
}

void api_wiring_reconfigure(struct api_wiring *w, const struct config *cfg)
{
	if (!w)
		return;
	api_reconfigure(w->api, cfg);
	if (w->own)
		submit_reconfigure(w->own, cfg);
}

void api_wiring_close_listener(struct api_wiring *w)
{
	if (!w)
		return;
	http_server_free(w->http); /* owed answers are dropped from here on */
	w->http = NULL;
}

void api_wiring_stop(struct api_wiring *w)
{
	if (!w)
		return;
	api_wiring_close_listener(w); /* first: no answer can reach a freed api */
	api_free(w->api);
	submit_free(w->own);
	free(w);
}
