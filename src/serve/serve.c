/*
 * serve: see serve.h. Three parts on one loop: inbound (the listener's two
 * callbacks and the parse-on-a-worker hand-off), delivery (which stored
 * campaigns run, which pause) and setup.
 */
#include "serve/serve.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce/parse.h"
#include "dlog/dlog.h"
#include "engine/env.h"
#include "engine/scheduler.h"
#include "http/server.h"
#include "http/unsubscribe.h"
#include "inbound/inbound.h"
#include "mail/classify.h"
#include "mail/config.h"
#include "mail/fields.h"
#include "msg/template.h"
#include "serve/api_wiring.h"
#include "serve/observe.h"
#include "serve/reload.h"
#include "serve/submission.h"
#include "serve/watch.h"
#include "shape/rules.h"
#include "smtp/server.h"
#include "store/store.h"
#include "store/suppress.h"
#include "submit/submit.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/workers.h"
#include "util/xmalloc.h"
#include "webhook/webhook.h"

/* A config loaded by a reload, with what was built from it. The one
 * before is freed when the next is in force: the scheduler and inbound use
 * the config only while they act, sites get their limits again, and an SMTP
 * session keeps a copy of its timeouts. The config serve_params gave stays
 * (the sources, the DKIM signer, DNS and the listeners were made from it). */
struct serve_gen {
	struct config cfg;
	struct rules *rules;
	struct classifier *cls;
};

struct serve {
	const struct config *cfg; /* the one in force: serve_params' or the last reload's */
	const char *config_path;
	struct serve_gen *gen;    /* the last reload's; NULL: none yet */
	struct monitor_sink sink; /* where danger signs go (serve_params) */
	const char *state_dir, *version;
	struct event_base *base;
	struct store *st;
	struct suppress *sp;
	struct delivery_env env;
	struct inbound in;
	struct smtp_server *smtp;
	struct http_server *http; /* unsubscribe, /metrics, /status */
	struct unsub_http unsub;
	struct observe *obs;          /* /metrics and /status (with an HTTP listener) */
	struct submit *submit;        /* messages from applications (submit/submit.h) */
	struct submission *subm;      /* SMTP submission listeners, or NULL */
	struct api_wiring *api;       /* the HTTP API (api.listen), while the scheduler runs */
	struct workers *parsers;      /* a thread that parses inbound messages */
	struct webhook *wh;           /* events to webhooks (webhook/webhook.h), or NULL */
	const struct config *wh_cfg;  /* the config wh borrows */
	struct webhook *wh_old;       /* told to stop by a reload, not yet joined */
	struct serve_gen *wh_old_gen; /* the config wh_old borrows, freed with it */
	struct event *wh_restart;     /* on_webhooks_restart */
	struct watch *watch;          /* re-checks the sources' identity (serve/watch.h), or NULL */
	/* delivery: one scheduler for every campaign */
	struct scheduler *sched;
	struct loaded *loaded;
	struct event *poll;
	int stopping;
};

/* ---- inbound ---- */

static int on_rcpt(void *arg, const struct smtp_server_peer *p, const char *from, const char *rcpt,
                   char *reply, size_t n)
{
	struct serve *sv = arg;
	char why[200];
	struct err e;

	(void)p, (void)from;
	int k = inbound_accepts(&sv->in, rcpt, why, sizeof(why), &e);
	if (k < 0) {
		log_error("inbound: %s", e.msg);
		snprintf(reply, n, "451 4.3.0 temporary failure, try again later");
		return -1;
	}
	if (k == IR_REJECT) {
		snprintf(reply, n, "550 %s", why);
		return -1;
	}
	return 0;
}

/* A message read by the listener: parsed on the inbound worker (a report
 * of megabytes must not hold the loop), then acted on and committed here,
 * on the loop, and only then answered. */
struct inbound_job {
	struct serve *sv;
	struct smtp_server_msg *m;
	struct bounce_report rep;
};

static void parse_work(void *arg)
{
	struct inbound_job *j = arg;
	bounce_parse(j->m->data, j->m->len, &j->rep);
}

static void parse_done(void *arg)
{
	struct inbound_job *j = arg;
	struct serve *sv = j->sv;
	struct smtp_server_msg *m = j->m;
	struct inbound_result res[4];
	size_t nres = 0;
	struct err e;

	if (inbound_apply(&sv->in, m->rcpts, m->nrcpts, m->mail_from, &j->rep, res, 4, &nres, &e) !=
	    0) {
		log_error("inbound from %s: %s", m->peer->client_ip, e.msg);
		smtp_server_done(m, "451 4.3.0 could not record this message, try again later");
	} else {
		for (size_t i = 0; i < nres; i++)
			if (res[i].recipient[0])
				log_info("inbound from %s: %s for %s%s%s", m->peer->client_ip,
				         res[i].kind, res[i].recipient, res[i].action ? ": " : "",
				         res[i].action ? res[i].action : "");
		smtp_server_done(m, NULL);
	}
	free(j);
}

static void on_message(void *arg, struct smtp_server_msg *m)
{
	struct serve *sv = arg;
	struct inbound_job *j = xcalloc(1, sizeof(*j));

	j->sv = sv;
	j->m = m;
	if (sv->parsers) {
		workers_submit(sv->parsers, parse_work, parse_done, j);
	} else {
		parse_work(j);
		parse_done(j);
	}
}

static int on_unsubscribe(void *arg, const char *token, size_t len, const char *via, char *who,
                          size_t n)
{
	struct serve *sv = arg;
	struct inbound_result res;
	struct err e;

	int r = inbound_unsubscribe(&sv->in, token, len, via, &res, &e);
	if (r < 0)
		log_error("unsubscribe: %s", e.msg);
	if (r == 1) {
		snprintf(who, n, "%s", res.recipient);
		log_info("unsubscribed %s (%s)", res.recipient, via);
	}
	return r;
}

/* A danger sign from a complaint: printed, and a campaign it paused stops
 * in this scheduler at once (other processes learn it from the store).
 * It comes before inbound commits: if that commit fails (the reply is
 * 451), the campaign stays stopped here until the next poll of the store
 * finds it not paused and adds it again, about two seconds later. */
static void on_sign(void *arg, const struct monitor_sign *sg)
{
	struct serve *sv = arg;

	observe_sign(sv->obs, sg);
	if (sv->sink.fn)
		sv->sink.fn(sv->sink.arg, sg);
	if (sg->paused && sv->sched)
		scheduler_pause_campaign(sv->sched, sg->campaign);
}

/* A danger sign from delivery: counted, then where the CLI wants it. */
static void on_delivery_sign(void *arg, const struct monitor_sign *sg)
{
	struct serve *sv = arg;

	observe_sign(sv->obs, sg);
	if (sv->sink.fn)
		sv->sink.fn(sv->sink.arg, sg);
}

/* ---- delivery ---- */

/* A campaign loaded into the scheduler: its record and bound template,
 * kept until serve exits (the scheduler borrows the template). */
struct loaded {
	struct campaign_rec rec;
	struct template tpl;
	struct loaded *next;
};

static int scheduler_has(const struct serve *sv, const char *id)
{
	return sv->sched && scheduler_has_campaign(sv->sched, id);
}

/* A danger sign of the identity watcher (serve/watch.c): counted and
 * printed, and kept with every campaign being delivered (`sluice report`). */
static void on_watch_sign(void *arg, const struct monitor_sign *sg)
{
	struct serve *sv = arg;
	struct err e;

	on_delivery_sign(sv, sg);
	for (const struct loaded *l = sv->loaded; l; l = l->next)
		if (scheduler_has(sv, l->rec.id) &&
		    store_sign_add(sv->st, l->rec.id, clock_wall_ms() / 1000, sg->kind, sg->detail,
		                   &e) != 0)
			log_error("watch: %s", e.msg);
}

static void poll_soon(struct serve *sv, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_add(sv->poll, &tv);
}

struct pick {
	char *ids[CAMPAIGNS_MAX];
	size_t n;
};

static void collect(void *arg, const char *id, int64_t created)
{
	struct pick *p = arg;
	(void)created;
	if (p->n < CAMPAIGNS_MAX)
		p->ids[p->n++] = xstrdup(id);
}

static struct loaded *find_loaded(struct serve *sv, const char *id)
{
	for (struct loaded *l = sv->loaded; l; l = l->next)
		if (strcmp(l->rec.id, id) == 0)
			return l;
	return NULL;
}

/* Loads a queued campaign's stored template, bound to its stored columns. */
static struct loaded *load_campaign(struct serve *sv, const char *id, struct err *e)
{
	struct loaded *l = xcalloc(1, sizeof(*l));
	if (store_campaign_get(sv->st, id, &l->rec, e) != 1) {
		free(l);
		return NULL;
	}
	if (l->rec.kind == CAMPAIGN_STREAM) { /* submitted mail: no template */
		l->next = sv->loaded;
		sv->loaded = l;
		return l;
	}
	char *names[1024];
	size_t nn = 0, len;
	const char *v;
	while (nn < 1024 && (v = fields_get(l->rec.names, l->rec.names_len, nn, &len)))
		names[nn++] = xstrndup(v, len);
	int rc = template_parse(l->rec.template_path, l->rec.template_text, l->rec.template_len,
	                        &l->tpl, e) != 0 ||
	         template_bind(&l->tpl, names, nn, e) != 0;
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	if (rc) {
		template_free(&l->tpl);
		store_campaign_free(&l->rec);
		free(l);
		return NULL;
	}
	l->next = sv->loaded;
	sv->loaded = l;
	return l;
}

/* Hands the scheduler every campaign with queued work it does not have:
 * campaigns queued by `sluice send` since, or more rows of an old one. */
static void add_campaigns(struct serve *sv)
{
	struct pick p = {.n = 0};
	struct err e;
	int64_t due;

	if (store_campaigns(sv->st, collect, &p, &e) != 0) {
		log_error("%s", e.msg);
		return;
	}
	for (size_t k = 0; k < p.n; k++) {
		const char *id = p.ids[k];
		char paused[256];
		int running = scheduler_has_campaign(sv->sched, id);
		int is_paused = store_campaign_paused(sv->st, id, paused, &e);
		if (running && is_paused == 1) /* paused by another process (a bounces import) */
			scheduler_pause_campaign(sv->sched, id);
		if (running || is_paused != 0 || store_next_due(sv->st, id, &due, &e) != 0 ||
		    due < 0)
			continue; /* running, done, or paused until `sluice campaign resume` */
		struct loaded *l = find_loaded(sv, id);
		if (!l && !(l = load_campaign(sv, id, &e))) {
			log_error("campaign %s: %s", id, e.msg);
			continue;
		}
		if (scheduler_tenant_paused(sv->sched, l->rec.tenant) ||
		    scheduler_campaign_held(sv->sched, id))
			continue; /* held with its tenant (tenants[].paused, `sluice tenant pause`)
			           */
		int64_t counts[RS_COUNT], total = 0;
		if (store_counts(sv->st, id, counts, &e) == 0)
			for (int i = 0; i < RS_COUNT; i++)
				total += counts[i];
		log_info("delivering campaign %s (%lld queued, priority %d)", id,
		         (long long)counts[RS_QUEUED], l->rec.priority);
		delivery_env_add_campaign(sv->sched, &l->rec, &l->tpl, total, -1);
	}
	for (size_t i = 0; i < p.n; i++)
		free(p.ids[i]);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct serve *sv = arg;

	(void)fd, (void)what;
	if (sv->stopping)
		return;
	add_campaigns(sv);
	poll_soon(sv, SERVE_POLL_MS);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct serve *sv = arg;

	(void)what;
	if (sv->stopping++) {
		event_base_loopbreak(sv->base);
		return;
	}
	log_info("%s: stopping (open transactions finish first)",
	         sig == SIGINT ? "interrupted" : "terminated");
	smtp_server_free(sv->smtp);
	sv->smtp = NULL;
	http_server_free(sv->http);
	sv->http = NULL;
	api_wiring_close_listener(sv->api);
	submission_close_listener(sv->subm); /* its sessions go on until serve closes */
	webhook_request_stop(sv->wh);        /* what is not delivered goes after a restart */
	scheduler_stop(sv->sched);           /* the loop ends when its sessions have */
	watch_stop(sv->watch);
}

/* ---- submitted mail ---- */

/* The commit a submitted message waits for: the scheduler's group commit. */
static void submit_commit(void *owner, void (*done)(void *arg, int ok), void *arg)
{
	struct serve *sv = owner;
	struct err e;

	if (sv->sched) {
		scheduler_commit_then(sv->sched, done, arg);
		return;
	}
	int rc = store_commit(sv->st, &e); /* no delivery running: commit now */
	if (rc != 0)
		log_error("%s", e.msg);
	done(arg, rc == 0);
}

/* A tenant's stream has new mail: delivery picks it up now, not at the
 * next poll. */
static void submit_wake(void *owner, const char *campaign)
{
	struct serve *sv = owner;
	struct err e;
	struct loaded *l = find_loaded(sv, campaign);

	if (!sv->sched || sv->stopping)
		return;
	if (!l && !(l = load_campaign(sv, campaign, &e))) {
		log_error("campaign %s: %s", campaign, e.msg);
		return;
	}
	delivery_env_add_campaign(sv->sched, &l->rec, NULL, 0, -1);
}

static int open_submission(struct serve *sv, struct err *e)
{
	const struct config *cfg = sv->cfg;
	struct submit_params p = {
	    .base = sv->base,
	    .cfg = cfg,
	    .store = sv->st,
	    .sp = sv->sp,
	    .commit = submit_commit,
	    .wake = submit_wake,
	    .owner = sv,
	};
	if (submit_new(&p, &sv->submit, e) != 0)
		return -1;
	struct submission_params sp = {
	    .base = sv->base,
	    .cfg = cfg,
	    .submit = sv->submit,
	    .hostname = cfg->inbound_hostname ? cfg->inbound_hostname : cfg->sources[0].helo,
	};
	return submission_start(&sp, &sv->subm, e);
}

/* ---- reload (SIGHUP) ---- */

static void gen_free(struct serve_gen *g)
{
	if (!g)
		return;
	rules_free(g->rules);
	classifier_free(g->cls);
	config_free(&g->cfg);
	free(g);
}

/* logrotate moved delivery.log away: what is buffered goes to the moved
 * file, what follows to a new one at the path. */
static void reopen_log(struct serve *sv)
{
	struct err e;
	int r = dlog_reopen(sv->env.log, &e);

	if (r < 0)
		log_error("reload: %s (records go on to the file open until now)", e.msg);
	else if (r > 0)
		log_warn("reload: %s (the records not written go to the new file)", e.msg);
	else
		log_info("reload: delivery log reopened");
}

/* Loads and checks the whole config and builds what is built from it;
 * NULL with e set if any of it fails. */
static struct serve_gen *load_gen(const char *path, struct err *e)
{
	struct serve_gen *g = xcalloc(1, sizeof(*g));

	if (config_load(path, &g->cfg, e) != 0 ||
	    (!g->cfg.inbound_listen &&
	     err_set(e, "%s: serve needs inbound.listen (ip:port)", path) != 0) ||
	    rules_new(&g->cfg, &g->rules, e) != 0 ||
	    classifier_new(g->cfg.classify, g->cfg.nclassify, &g->cls, e) != 0) {
		gen_free(g);
		return NULL;
	}
	return g;
}

/* The dispatcher told to stop by a reload has ended: joined (at once),
 * the config it borrowed freed, and the one for the config now in force
 * started. Polled: its last save may wait for the engine's commit, which
 * only this loop makes. */
static void on_webhooks_restart(evutil_socket_t fd, short what, void *arg)
{
	struct serve *sv = arg;
	struct timeval tv = {0, 100 * 1000};
	struct err e;

	(void)fd, (void)what;
	if (!webhook_finished(sv->wh_old)) {
		event_add(sv->wh_restart, &tv);
		return;
	}
	webhook_stop(sv->wh_old);
	sv->wh_old = NULL;
	gen_free(sv->wh_old_gen);
	sv->wh_old_gen = NULL;
	if (sv->stopping || sv->cfg->nwebhooks == 0)
		return;
	if (webhook_start(sv->cfg, sv->state_dir, &sv->wh, &e) != 0) {
		log_error("reload: %s (events are kept; they go out after a restart)", e.msg);
		return;
	}
	sv->wh_cfg = sv->cfg;
	observe_webhooks(sv->obs, sv->wh);
	log_info("reload: webhooks started again with %zu endpoint%s", sv->cfg->nwebhooks,
	         sv->cfg->nwebhooks == 1 ? "" : "s");
}

/* A reload's webhooks: the dispatcher starts again with the new endpoints
 * when they changed (cursors are durable, per URL: a batch under way is
 * sent again, and receivers deduplicate by id), or when the config it
 * borrows is the one about to be freed. With none left it stops; events
 * are still recorded until a restart. From none, a restart is needed
 * (serve_restart_changes says so): the engine writes no events. Returns 1
 * when the running generation must be kept for the dispatcher that is
 * stopping (on_webhooks_restart frees it). */
static int reload_webhooks(struct serve *sv, const struct config *next)
{
	int borrowed = sv->gen && sv->wh_cfg == &sv->gen->cfg;
	struct timeval now = {0, 0};

	if (!sv->wh || (!serve_webhooks_differ(sv->wh_cfg, next) && !borrowed))
		return 0;
	observe_webhooks(sv->obs, NULL);
	webhook_request_stop(sv->wh);
	sv->wh_old = sv->wh;
	sv->wh_old_gen = borrowed ? sv->gen : NULL;
	sv->wh = NULL;
	sv->wh_cfg = NULL;
	if (next->nwebhooks == 0)
		log_warn("reload: no webhooks any more: events are recorded (and not sent) until "
		         "serve restarts");
	event_add(sv->wh_restart, &now);
	return borrowed;
}

/* Reads the config file again: refused whole on any error (the running
 * config stays), else applied to delivery and inbound at once; settings
 * read only at start are named in a warning each. */
static void reload_config(struct serve *sv)
{
	struct err e;
	struct serve_gen *g = load_gen(sv->config_path, &e);

	if (!g) {
		log_error("reload: config: %s; still running with the config loaded before", e.msg);
		return;
	}
	const char *changed[RELOAD_RESTART_MAX];
	size_t n = serve_restart_changes(sv->cfg, &g->cfg, changed, RELOAD_RESTART_MAX);
	for (size_t i = 0; i < n; i++)
		log_warn("reload: %s changed in %s: it takes effect when serve restarts",
		         changed[i], sv->config_path);
	sv->cfg = &g->cfg;
	if (sv->sched)
		scheduler_reconfigure(sv->sched, &g->cfg, g->rules, g->cls);
	inbound_reconfigure(&sv->in, &g->cfg, g->cls);
	submit_reconfigure(sv->submit, &g->cfg);
	submission_reconfigure(sv->subm, &g->cfg);
	api_wiring_reconfigure(sv->api, &g->cfg);
	observe_reconfigure(sv->obs, &g->cfg);
	if (!reload_webhooks(sv, &g->cfg))
		gen_free(sv->gen); /* nothing points into it any more */
	sv->gen = g;
	log_info("reload: config %s in force", sv->config_path);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct serve *sv = arg;

	(void)sig, (void)what;
	if (sv->stopping)
		return;
	reopen_log(sv);
	if (sv->config_path)
		reload_config(sv);
}

/* ---- setup ---- */

static int start_listeners(struct serve *sv, struct err *e)
{
	const struct config *cfg = sv->cfg;
	struct smtp_server_params sp = {
	    .base = sv->base,
	    .listen = cfg->inbound_listen,
	    .hostname = cfg->inbound_hostname ? cfg->inbound_hostname : cfg->sources[0].helo,
	    .max_size = cfg->inbound_max_size,
	    .max_sessions = cfg->inbound_max_connections,
	    .max_per_ip = cfg->inbound_max_per_ip,
	    .message_rate_per_ip = cfg->inbound_rate_per_ip,
	    .idle_ms = cfg->inbound_idle_ms,
	    .session_ms = cfg->inbound_session_ms,
	    .min_data_rate = cfg->inbound_min_data_rate,
	    .memory_limit = cfg->inbound_memory_limit,
	};
	static const struct smtp_server_ops ops = {.rcpt = on_rcpt, .message = on_message};

	if (smtp_server_new(&sp, &ops, sv, &sv->smtp, e) != 0)
		return -1;
	log_info("inbound SMTP on %s", cfg->inbound_listen);
	if (cfg->http_listen) {
		struct http_server_params hp = {
		    .base = sv->base,
		    .listen = cfg->http_listen,
		    .what = "HTTP",
		    .max_connections = cfg->http_max_connections,
		    .max_per_ip = cfg->http_max_per_ip,
		    .timeout_ms = cfg->http_timeout_ms,
		    .body_max = UNSUB_HTTP_BODY_MAX,
		    .rate_per_ip = HTTP_SERVER_RATE_PER_IP,
		};
		struct observe_params op = {sv->base, cfg, sv->state_dir, sv->version,
		                            CAMPAIGNS_MAX};
		if (observe_new(&op, &sv->obs, e) != 0)
			return -1;
		sv->unsub = (struct unsub_http){on_unsubscribe, sv};
		const struct http_route routes[] = {
		    {"/metrics", observe_metrics, sv->obs, 0},
		    {"/status", observe_status, sv->obs, 0},
		    {NULL, unsub_http_handle, &sv->unsub, 0}, /* any other path: a token */
		};
		if (http_server_new(&hp, routes, sizeof(routes) / sizeof(routes[0]), &sv->http,
		                    e) != 0)
			return -1;
		log_info("HTTP on %s (unsubscribe, /metrics, /status)", cfg->http_listen);
	}
	return 0;
}

/* The delivery lock, the engine, inbound and the listeners. */
static int open_parts(struct serve *sv, const char *state_dir, struct err *e)
{
	long holder;
	int got = store_lock_delivery(sv->st, &holder, e);

	if (got < 0)
		return -1;
	if (got == 0)
		return err_set(e,
		               "another sluice (pid %ld) delivers from %s; one serve per state "
		               "directory",
		               holder, state_dir);
	if (delivery_env_open(sv->cfg, sv->base, state_dir, &sv->env, e) != 0)
		return -1;
	inbound_init(&sv->in, sv->cfg, sv->st, sv->sp, sv->env.log, sv->env.cls);
	sv->in.sink = (struct monitor_sink){on_sign, sv};
	sv->parsers = workers_new(sv->base, 1); /* NULL: parse on the loop */
	return start_listeners(sv, e) != 0 ? -1 : open_submission(sv, e);
}

int serve_open(const struct serve_params *p, struct serve **out, struct err *e)
{
	struct serve *sv = xcalloc(1, sizeof(*sv));

	sv->cfg = p->cfg;
	sv->config_path = p->config_path;
	sv->sink = p->sink;
	sv->state_dir = p->state_dir;
	sv->version = p->version;
	sv->base = event_base_new();
	if (store_open(p->state_dir, &sv->st, e) != 0 ||
	    suppress_open(p->state_dir, &sv->sp, e) != 0 || open_parts(sv, p->state_dir, e) != 0) {
		serve_close(sv);
		*out = NULL;
		return -1;
	}
	*out = sv;
	return 0;
}

/* The loop has ended (a stop): the group commit that ended it may have
 * answered submitted messages whose 250 is still in the session's buffer,
 * and a client may still be waiting for a commit. Turns the loop (the
 * scheduler still commits on its tick) until every answer is out, at most
 * SERVE_FLUSH_MS; not after a second signal, nor with nothing owed. */
static void flush_submission(struct serve *sv)
{
	int64_t until = clock_mono_ms() + SERVE_FLUSH_MS;

	if (!sv->stopping) { /* ended by a failure: no signal closed the listener */
		sv->stopping = 1;
		submission_close_listener(sv->subm);
	}
	while (sv->stopping == 1 && !submission_flushed(sv->subm) && clock_mono_ms() < until)
		event_base_loop(sv->base, EVLOOP_ONCE);
}

int serve_run(struct serve *sv, struct err *e)
{
	struct scheduler_params params;

	delivery_env_params(&sv->env, sv->cfg, sv->st, sv->sp, &params);
	params.sink = (struct monitor_sink){on_delivery_sign, sv};
	params.keep_running = 1;
	sv->sched = scheduler_new(&params);
	struct api_wiring_params ap = {sv->base,    sv->cfg,   sv->st,    sv->sp,
	                               sv->env.log, sv->sched, sv->submit};
	if (api_wiring_start(&ap, &sv->api, e) != 0) {
		struct err fe;
		scheduler_free(sv->sched, &fe);
		sv->sched = NULL;
		return -1;
	}
	observe_scheduler(sv->obs, sv->sched);
	if (webhook_start(sv->cfg, sv->state_dir, &sv->wh, e) != 0)
		log_error("%s (events are kept; they go out after a restart)", e->msg);
	sv->wh_cfg = sv->cfg;
	sv->wh_restart = evtimer_new(sv->base, on_webhooks_restart, sv);
	observe_webhooks(sv->obs, sv->wh);
	scheduler_start(sv->sched);
	/* the config serve_params gave stays for the run (a reload's does not) */
	struct watch_params wp = {sv->base,  sv->cfg,      sv->st,        sv->env.log,
	                          sv->sched, sv->env.pool, sv->env.npool, {on_watch_sign, sv}};
	if (watch_start(&wp, &sv->watch, e) != 0)
		log_error("%s (the sources are not watched)", e->msg);
	struct event *sigint = evsignal_new(sv->base, SIGINT, on_signal, sv);
	struct event *sigterm = evsignal_new(sv->base, SIGTERM, on_signal, sv);
	struct event *sighup = evsignal_new(sv->base, SIGHUP, on_hup, sv);
	sv->poll = event_new(sv->base, -1, 0, on_poll, sv);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	event_add(sighup, NULL);
	poll_soon(sv, 0);
	event_base_dispatch(sv->base);
	flush_submission(sv);
	watch_free(sv->watch);
	sv->watch = NULL;
	int rc = scheduler_error(sv->sched, e);
	struct err fe;
	observe_scheduler(sv->obs, NULL);
	observe_webhooks(sv->obs, NULL);
	webhook_stop(sv->wh);
	sv->wh = NULL;
	webhook_stop(sv->wh_old); /* a reload's, still ending */
	sv->wh_old = NULL;
	gen_free(sv->wh_old_gen);
	sv->wh_old_gen = NULL;
	event_free(sv->wh_restart);
	sv->wh_restart = NULL;
	if (scheduler_free(sv->sched, &fe) != 0 && rc == 0) {
		*e = fe;
		rc = -1;
	}
	sv->sched = NULL;
	api_wiring_stop(sv->api); /* after the scheduler: its last commit calls back */
	sv->api = NULL;
	event_free(sigint);
	event_free(sigterm);
	event_free(sighup);
	event_free(sv->poll);
	sv->poll = NULL;
	return rc;
}

void serve_close(struct serve *sv)
{
	if (!sv)
		return;
	submission_stop(sv->subm); /* its messages were answered by the last commit */
	submit_free(sv->submit);
	smtp_server_free(sv->smtp);
	http_server_free(sv->http);
	observe_free(sv->obs);
	workers_free(sv->parsers); /* what is still being parsed is acted on, unanswered */
	while (sv->loaded) {
		struct loaded *l = sv->loaded;
		sv->loaded = l->next;
		template_free(&l->tpl);
		store_campaign_free(&l->rec);
		free(l);
	}
	delivery_env_close(&sv->env);
	gen_free(sv->gen);
	suppress_close(sv->sp);
	store_close(sv->st);
	event_base_free(sv->base);
	free(sv);
}
