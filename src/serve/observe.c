/*
 * observe: see observe.h. Three parts: the store counts (a worker thread
 * with its own store connection), what only serve sees (signs, loop lag),
 * and the two HTTP handlers.
 */
#include "serve/observe.h"

#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/scheduler.h"
#include "http/metrics.h"
#include "http/server.h"
#include "mail/config.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/histogram.h"
#include "util/log.h"
#include "util/prom.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/workers.h"
#include "util/xmalloc.h"
#include "webhook/webhook.h"

#define COUNT_COST_FACTOR 20 /* a recount waits 20 times what the last one took */
#define SIGN_KIND_LEN     40

/* One campaign as last counted. */
struct count_row {
	char *id;
	int64_t created_s;
	int64_t counts[RS_COUNT];
	int64_t ready, later; /* queued and due now, queued for later */
	char *paused;         /* the reason, or NULL */
	char *tenant;         /* its owner, or NULL */
	int priority;
};

/* A recount, handed to the worker: it touches only this and o->st (one
 * count at a time uses that connection). */
struct count_job {
	struct observe *o;
	struct count_row *rows;
	size_t n, cap;
	int64_t now_s, took_ms;
	json_t *controls; /* the operator's one-shot controls, pending or of the last hour */
	json_t *pauses;   /* the operator's pauses in force (sites, providers, sources, tenants) */
	int failed;
	struct err e;
};

struct observe {
	struct observe_params p;
	struct store *st; /* the counting thread's own connection */
	struct workers *w;
	struct scheduler *sched;
	struct webhook *wh; /* its backlog and failures, or NULL */
	int64_t start_s;
	/* the last count */
	struct count_row *rows;
	size_t nrows;
	json_t *controls; /* as last read (count_job) */
	json_t *pauses;   /* likewise */
	int counted, counting;
	int64_t counted_at_ms, count_cost_ms, asked_at_ms, count_warned;
	struct event *count_timer;
	/* danger signs by kind; [OBSERVE_SIGN_KINDS] is "other" */
	struct metrics_sign signs[OBSERVE_SIGN_KINDS + 1];
	char sign_kind[OBSERVE_SIGN_KINDS][SIGN_KIND_LEN];
	size_t nsigns;
	int64_t signs_other;
	/* the loop's lag */
	struct event *lag_timer;
	int64_t lag_due_us;
	struct histogram lag;
	/* the last /metrics body */
	struct strbuf cache;
	int64_t cache_at_ms;
	int cached;
};

static const double lag_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                    0.25,  0.5,    1,     2.5,  5,     10};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void rows_free(struct count_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].id);
		free(rows[i].paused);
		free(rows[i].tenant);
	}
	free(rows);
}

/* ---- counting, on the worker ---- */

static void collect_campaign(void *arg, const char *id, int64_t created_s)
{
	struct count_job *j = arg;

	if (j->n >= j->o->p.campaigns_max)
		return;
	if (j->n == j->cap) {
		j->cap = j->cap ? 2 * j->cap : 16;
		j->rows = xrealloc(j->rows, j->cap * sizeof(*j->rows));
	}
	struct count_row *r = &j->rows[j->n++];
	memset(r, 0, sizeof(*r));
	r->id = xstrdup(id);
	r->created_s = created_s;
}

static void collect_pause(void *arg, const struct site_pause *p)
{
	json_t *j =
	    json_pack("{s:s, s:s, s:s, s:o, s:I}", "scope", p->scope, "target", p->target, "reason",
	              p->reason, "until", p->until_s ? json_integer(p->until_s) : json_null(),
	              "since", (json_int_t)p->time_s);
	if (j)
		json_array_append_new(arg, j);
}

static void collect_control(void *arg, const struct control_request *r)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:s, s:I, s:b, s:o}", "kind", r->kind, "scope",
	                      r->scope, "target", r->target, "campaign",
	                      r->campaign ? json_string(r->campaign) : json_null(), "reason",
	                      r->reason, "time", (json_int_t)r->time_s, "done", r->done, "result",
	                      r->result ? json_string(r->result) : json_null());
	if (j)
		json_array_append_new(arg, j);
}

static void count_work(void *arg)
{
	struct count_job *j = arg;
	struct store *st = j->o->st;
	int64_t t0 = clock_mono_ms();
	char reason[256];

	if (store_campaigns(st, collect_campaign, j, &j->e) != 0) {
		j->failed = 1;
		return;
	}
	for (size_t i = 0; i < j->n && !j->failed; i++) {
		struct count_row *r = &j->rows[i];
		int paused;
		char owner[TENANT_NAME_MAX + 1];
		if (store_campaign_owner(st, r->id, owner, sizeof(owner), &j->e) == 1)
			r->tenant = xstrdup(owner);
		if (store_campaign_priority(st, r->id, &r->priority, &j->e) < 0 ||
		    store_counts(st, r->id, r->counts, &j->e) != 0 ||
		    store_ready_counts(st, r->id, j->now_s, &r->ready, &r->later, &j->e) != 0 ||
		    (paused = store_campaign_paused(st, r->id, reason, &j->e)) < 0)
			j->failed = 1;
		else if (paused == 1)
			r->paused = xstrdup(reason);
	}
	j->controls = json_array();
	j->pauses = json_array();
	if (!j->failed && (store_control_requests(st, j->now_s - 3600, collect_control, j->controls,
	                                          &j->e) != 0 ||
	                   store_site_pauses(st, j->now_s, collect_pause, j->pauses, &j->e) != 0))
		j->failed = 1;
	j->took_ms = clock_mono_ms() - t0;
}

static void count_done(void *arg)
{
	struct count_job *j = arg;
	struct observe *o = j->o;

	o->counting = 0;
	o->count_cost_ms = j->took_ms;
	o->counted_at_ms = clock_mono_ms();
	if (j->failed) {
		if (!o->count_warned++)
			log_warn("metrics: counting the queue: %s", j->e.msg);
		rows_free(j->rows, j->n);
		json_decref(j->controls);
		json_decref(j->pauses);
	} else {
		rows_free(o->rows, o->nrows);
		json_decref(o->controls);
		json_decref(o->pauses);
		o->controls = j->controls;
		o->pauses = j->pauses;
		o->rows = j->rows;
		o->nrows = j->n;
		o->counted = 1;
	}
	free(j);
}

/* Starts a recount when one is due: nobody waits for it. */
static void maybe_count(struct observe *o)
{
	int64_t now = clock_mono_ms();
	int64_t gap = o->count_cost_ms * COUNT_COST_FACTOR;

	if (o->counting || (o->counted && now - o->asked_at_ms > OBSERVE_IDLE_MS))
		return;
	if (o->counted &&
	    now - o->counted_at_ms < (gap > OBSERVE_COUNT_MIN_MS ? gap : OBSERVE_COUNT_MIN_MS))
		return;
	struct count_job *j = xcalloc(1, sizeof(*j));
	j->o = o;
	j->now_s = clock_wall_ms() / 1000;
	o->counting = 1;
	workers_submit(o->w, count_work, count_done, j);
}

static void on_count_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	maybe_count(arg);
}

/* ---- what only serve sees ---- */

static void arm_lag(struct observe *o)
{
	struct timeval tv = {0, OBSERVE_LAG_MS * 1000};

	o->lag_due_us = mono_us() + OBSERVE_LAG_MS * 1000;
	event_add(o->lag_timer, &tv);
}

static void on_lag_timer(evutil_socket_t fd, short what, void *arg)
{
	struct observe *o = arg;
	int64_t late = mono_us() - o->lag_due_us;

	(void)fd, (void)what;
	histogram_observe(&o->lag, late > 0 ? (double)late / 1e6 : 0);
	arm_lag(o);
}

void observe_sign(struct observe *o, const struct monitor_sign *sg)
{
	if (!o || !sg->kind)
		return;
	for (size_t i = 0; i < o->nsigns; i++)
		if (strcmp(o->sign_kind[i], sg->kind) == 0) {
			o->signs[i].n++;
			return;
		}
	if (o->nsigns == OBSERVE_SIGN_KINDS || strlen(sg->kind) >= SIGN_KIND_LEN) {
		o->signs_other++;
		return;
	}
	snprintf(o->sign_kind[o->nsigns], SIGN_KIND_LEN, "%s", sg->kind);
	o->signs[o->nsigns] = (struct metrics_sign){o->sign_kind[o->nsigns], 1};
	o->nsigns++;
}

void observe_scheduler(struct observe *o, struct scheduler *s)
{
	if (o) {
		o->sched = s;
		o->cached = 0;
	}
}

void observe_reconfigure(struct observe *o, const struct config *cfg)
{
	if (o) {
		o->p.cfg = cfg;
		o->cached = 0;
	}
}

void observe_webhooks(struct observe *o, struct webhook *w)
{
	if (o) {
		o->wh = w;
		o->cached = 0;
	}
}

/* ---- the handlers ---- */

/* 1 if the request may go on; otherwise resp says why not. */
static int allowed(const struct observe *o, const struct http_request *req,
                   struct http_response *resp, int public)
{
	const char *token = o->p.cfg->http_status_token;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		resp->status = 405;
		resp->reason = "Method Not Allowed";
		resp->headers = "Allow: GET, HEAD\r\n";
		strbuf_adds(&resp->body, "405 Method Not Allowed\n");
		return 0;
	}
	if (public)
		return 1;
	if (!token) {
		resp->status = 404;
		resp->reason = "Not Found";
		strbuf_adds(&resp->body, "404 Not Found (no http.status_token configured)\n");
		return 0;
	}
	if (!http_bearer_ok(req, token)) {
		resp->status = 401;
		resp->reason = "Unauthorized";
		resp->headers = "WWW-Authenticate: Bearer realm=\"sluice\"\r\n";
		strbuf_adds(&resp->body, "401 Unauthorized\n");
		return 0;
	}
	return 1;
}

struct site_list {
	struct metrics_site *v;
	size_t n, cap;
};

static void gather_site(void *arg, const struct site_snapshot *snap, const char *provider)
{
	struct site_list *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = (struct metrics_site){*snap, provider};
}

static void render_metrics(struct observe *o, struct strbuf *out)
{
	struct metrics_campaign *camps = xcalloc(o->nrows + 1, sizeof(*camps));
	struct metrics_sign signs[OBSERVE_SIGN_KINDS + 1];
	struct site_list sites = {NULL, 0, 0};
	struct scheduler_stats st;
	size_t nsigns = o->nsigns;

	for (size_t i = 0; i < o->nrows; i++) {
		const char *t = o->rows[i].tenant;
		camps[i].id = o->rows[i].id;
		camps[i].priority = o->rows[i].priority;
		memcpy(camps[i].counts, o->rows[i].counts, sizeof(camps[i].counts));
		/* tenant labels are the config's (bounded); any other is "(other)" */
		camps[i].tenant = !t ? NULL : tenant_by_name(o->p.cfg, t) ? t : SCHED_TENANTS_OTHER;
	}
	memcpy(signs, o->signs, nsigns * sizeof(*signs));
	if (o->signs_other)
		signs[nsigns++] = (struct metrics_sign){"other", o->signs_other};
	struct metrics_input in = {
	    .version = o->p.version,
	    .start_time_s = o->start_s,
	    .now_s = clock_wall_ms() / 1000,
	    .campaigns = camps,
	    .ncampaigns = o->nrows,
	    .signs = signs,
	    .nsigns = nsigns,
	    .loop_lag = &o->lag,
	};
	if (o->sched) {
		scheduler_stats(o->sched, &st);
		scheduler_sites(o->sched, gather_site, &sites);
		in.have_scheduler = 1;
		in.in_flight = st.in_flight;
		in.connections = st.connections;
		in.counters = scheduler_counters(o->sched);
		in.sites = sites.v;
		in.nsites = sites.n;
	}
	metrics_write(&in, out);
	webhook_metrics(o->wh, out);
	free(sites.v);
	free(camps);
}

void observe_metrics(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct observe *o = arg;
	int64_t now = clock_mono_ms();

	if (!allowed(o, req, resp, o->p.cfg->http_metrics_public))
		return;
	o->asked_at_ms = now;
	maybe_count(o);
	if (!o->cached || now - o->cache_at_ms >= OBSERVE_CACHE_MS) {
		strbuf_reset(&o->cache);
		render_metrics(o, &o->cache);
		o->cache_at_ms = now;
		o->cached = 1;
	}
	resp->content_type = PROM_CONTENT_TYPE;
	strbuf_add(&resp->body, o->cache.data, o->cache.len);
}

/* A JSON string of text from outside (a reply's text): valid UTF-8. */
static json_t *jstr(const char *s)
{
	if (!s)
		return json_null();
	if (utf8_valid(s, strlen(s)))
		return json_string(s);
	struct strbuf b = STRBUF_INIT;
	utf8_escape_invalid(s, strlen(s), &b);
	json_t *j = json_string(b.data ? b.data : "");
	strbuf_free(&b);
	return j;
}

static json_t *status_campaigns(const struct observe *o)
{
	json_t *a = json_array();

	for (size_t i = 0; i < o->nrows; i++) {
		const struct count_row *r = &o->rows[i];
		int64_t total = 0;
		for (int s = 0; s < RS_COUNT; s++)
			total += r->counts[s];
		json_array_append_new(
		    a, json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "id",
		                 jstr(r->id), "created", (json_int_t)r->created_s, "ready",
		                 (json_int_t)r->ready, "later", (json_int_t)r->later, "delivered",
		                 (json_int_t)r->counts[RS_DELIVERED], "bounced",
		                 (json_int_t)r->counts[RS_BOUNCED], "expired",
		                 (json_int_t)r->counts[RS_EXPIRED], "suppressed",
		                 (json_int_t)r->counts[RS_SUPPRESSED], "total", (json_int_t)total,
		                 "paused", jstr(r->paused)));
	}
	return a;
}

static json_t *status_site(const struct metrics_site *s, int64_t now_s)
{
	const struct site_snapshot *n = &s->snap;
	json_t *j = json_pack("{s:o, s:s, s:o, s:I, s:I, s:i, s:i, s:f, s:f}", "site",
	                      jstr(n->site), "provider", s->provider ? s->provider : "other",
	                      "campaign", jstr(n->campaign), "queued", (json_int_t)n->queued,
	                      "in_flight", (json_int_t)n->in_flight, "connections", n->conns,
	                      "connection_limit", n->conn_limit, "messages_per_minute",
	                      n->rate * 60, "message_limit_per_minute", n->rate_limit * 60);

	json_object_set_new(j, "suspended_until",
	                    n->suspended_until_s > now_s ? json_integer(n->suspended_until_s)
	                                                 : json_null());
	json_object_set_new(j, "reason", n->reason && n->reason[0] ? jstr(n->reason) : json_null());
	return j;
}

static json_t *status_delivery(struct observe *o, int64_t now_s, json_t *root)
{
	struct scheduler_stats st;
	struct site_list sites = {NULL, 0, 0};
	json_t *a = json_array();

	if (!o->sched)
		return a;
	scheduler_stats(o->sched, &st);
	scheduler_sites(o->sched, gather_site, &sites);
	metrics_rank_sites(sites.v, sites.n, now_s);
	for (size_t i = 0; i < sites.n && i < OBSERVE_STATUS_SITES; i++)
		json_array_append_new(a, status_site(&sites.v[i], now_s));
	json_object_set_new(root, "sites_total", json_integer((json_int_t)sites.n));
	json_object_set_new(
	    root, "delivery",
	    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "in_flight",
	              (json_int_t)st.in_flight, "connections", (json_int_t)st.connections,
	              "delivered", (json_int_t)st.delivered, "bounced", (json_int_t)st.bounced,
	              "deferred", (json_int_t)st.deferred, "expired", (json_int_t)st.expired,
	              "suppressed", (json_int_t)st.suppressed, "danger_signs", (json_int_t)st.signs,
	              "last_sign", st.last_sign[0] ? jstr(st.last_sign) : json_null()));
	free(sites.v);
	return a;
}

/* The operator's pauses in force: those of the store (as last read) and
 * the tenants the config pauses (tenants[].paused). */
static json_t *status_pauses(const struct observe *o)
{
	json_t *a = o->pauses ? json_deep_copy(o->pauses) : json_array();
	const struct config *cfg = o->p.cfg;

	for (size_t i = 0; i < cfg->ntenants; i++)
		if (cfg->tenants[i].paused)
			json_array_append_new(
			    a, json_pack("{s:s, s:s, s:s, s:n, s:n}", "scope", "tenant", "target",
			                 cfg->tenants[i].name, "reason",
			                 "tenants[].paused in the config", "until", "since"));
	return a;
}

void observe_status(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct observe *o = arg;
	int64_t now_s = clock_wall_ms() / 1000;

	if (!allowed(o, req, resp, 0))
		return;
	o->asked_at_ms = clock_mono_ms();
	maybe_count(o);
	json_t *root =
	    json_pack("{s:s, s:I, s:I}", "version", o->p.version ? o->p.version : "unknown",
	              "started", (json_int_t)o->start_s, "now", (json_int_t)now_s);
	json_object_set_new(root, "campaigns_counted", o->counted ? json_true() : json_false());
	json_object_set_new(root, "campaigns", status_campaigns(o));
	json_object_set_new(root, "sites", status_delivery(o, now_s, root));
	json_object_set_new(root, "controls",
	                    o->controls ? json_deep_copy(o->controls) : json_array());
	json_object_set_new(root, "pauses", status_pauses(o));
	char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	resp->content_type = "application/json";
	if (text) {
		strbuf_adds(&resp->body, text);
		strbuf_addc(&resp->body, '\n');
		free(text);
	}
}

/* ---- setup ---- */

int observe_new(const struct observe_params *p, struct observe **out, struct err *e)
{
	struct observe *o = xcalloc(1, sizeof(*o));
	struct timeval every = {OBSERVE_COUNT_MIN_MS / 1000, (OBSERVE_COUNT_MIN_MS % 1000) * 1000};

	o->p = *p;
	o->start_s = clock_wall_ms() / 1000;
	histogram_init(&o->lag, lag_bounds, sizeof(lag_bounds) / sizeof(lag_bounds[0]));
	if (store_open(p->state_dir, &o->st, e) != 0) {
		free(o);
		return -1;
	}
	if (!(o->w = workers_new(p->base, 1))) {
		store_close(o->st);
		free(o);
		return err_set(e, "metrics: cannot start a thread to count the queue");
	}
	o->count_timer = event_new(p->base, -1, EV_PERSIST, on_count_timer, o);
	event_add(o->count_timer, &every);
	o->lag_timer = evtimer_new(p->base, on_lag_timer, o);
	arm_lag(o);
	maybe_count(o); /* the first scrape finds counts */
	*out = o;
	return 0;
}

void observe_free(struct observe *o)
{
	if (!o)
		return;
	event_free(o->count_timer);
	event_free(o->lag_timer);
	workers_free(o->w); /* a count under way finishes (its done frees it) */
	store_close(o->st);
	rows_free(o->rows, o->nrows);
	json_decref(o->controls);
	json_decref(o->pauses);
	strbuf_free(&o->cache);
	free(o);
}
