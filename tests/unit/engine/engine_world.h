/* engine_world: fakes of the delivery engine's ports (src/engine/ports.h)
 * and a driver, for the engine's unit tests: a clock the test steps (and the
 * engine's timers on it), a store in memory, a resolver that answers at once
 * (every domain has one MX, mx.<domain>) and SMTP peers that reply from a
 * script per recipient. A real event_base runs the engine (its 5 ms
 * group-commit tick and the fake connections' steps); configured minutes and
 * days pass in milliseconds with world_advance. The delivery log is the real
 * one, in a temporary directory. Include once, after cmocka.h. */
#ifndef SLUICE_TESTS_UNIT_ENGINE_WORLD_H
#define SLUICE_TESTS_UNIT_ENGINE_WORLD_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "dlog/dlog.h"
#include "engine/scheduler.h"
#include "mail/classify.h"
#include "mail/config.h"
#include "mail/fields.h"
#include "msg/template.h"
#include "shape/rules.h"
#include "unit.h"

#define T0_WALL_MS   1767225600000LL /* 2026-01-01T00:00:00Z */
#define T0_S         (T0_WALL_MS / 1000)
#define T0_MONO_MS   1000000LL
#define REAL_WAIT_MS 500 /* the most a condition may take in real time */
#define RCPTS_MAX    64
#define TIMERS_MAX   128

static const char template_text[] = "From: news@news.example.com\nTo: {{email}}\n"
                                    "Subject: hello\n\nHello\n";

/* One reply of a scripted peer: the stage it came at and its lines. */
struct script_reply {
	enum stage stage;
	const char *line; /* "550 5.1.1 no such user" */
};

/* A row of the in-memory store, and what its peer says to its attempts. */
struct fake_rcpt {
	int64_t id;
	char mailbox[64], domain[32];
	char *fields;
	size_t fields_len;
	int state, attempts, code;
	int64_t queued_at_s, next_attempt_s;
	int64_t send_at_s, expires_at_s; /* its own times (0: none) */
	char stage[16], category[32];
	int updates, postpones, tries;     /* store updates; postponements; SMTP transactions */
	const struct script_reply *script; /* replies to its transactions in turn, then 250 */
	size_t nscript;
};

struct fake_timer {
	struct event *ev;
	int64_t at_ms;
};

struct world {
	struct event_base *base;
	int64_t mono_ms, wall_ms;
	struct fake_timer timers[TIMERS_MAX];
	size_t ntimers;
	struct fake_rcpt rcpts[RCPTS_MAX];
	size_t nrcpts;
	int signs, pauses;
	char last_sign[32];
	struct smtp_client *conns; /* open fake connections */
	int conns_started;
	int conns_open, conns_open_max; /* now, and the most at once */
	/* provider totals (store/provider_state.h): the last snapshot, and
	 * the most connections one showed */
	int provider_snaps, provider_conns_max, provider_conn_limit;
	int broke; /* the scheduler broke the loop (finished) */
	struct config cfg;
	const struct source *pool[4];
	struct rules *rules;
	struct classifier *cls;
	struct dlog *log;
	char dir[64];
	struct template tpl;
	struct scheduler *s;
	/* the operator's controls (as `sluice site` / `campaign cancel` leave them) */
	struct site_pause pause; /* scope NULL: none */
	char cancelled[64];      /* a cancelled campaign's id, or "" */
	int due_now;             /* rows made due by rcpt_due_domain */
	/* one one-shot control (retry, purge, move) asked; kind NULL: none */
	struct control_request req;
	int req_done;
	char req_result[160];
	int all_pools;        /* the engine gets every source of the config, not sender.pool's */
	char last_source[64]; /* the source IP of the last connection */
	/* learned limits (store/learned.h): one row kept, of learned_site */
	char learned_site[64];
	struct store_learned learned;
	int learned_puts;
};

/* ---- the clock ---- */

static int64_t fake_wall_ms(void *ctx)
{
	return ((struct world *)ctx)->wall_ms;
}

static int64_t fake_mono_ms(void *ctx)
{
	return ((struct world *)ctx)->mono_ms;
}

static void fake_arm(void *ctx, struct event *ev, int64_t wait_ms)
{
	struct world *w = ctx;

	for (size_t i = 0; i < w->ntimers; i++)
		if (w->timers[i].ev == ev)
			return; /* armed already */
	assert_true(w->ntimers < TIMERS_MAX);
	w->timers[w->ntimers++] = (struct fake_timer){ev, w->mono_ms + wait_ms};
}

/* Runs the timers that are due (on the loop's next turn). */
static void fire_timers(struct world *w)
{
	for (size_t i = 0; i < w->ntimers;) {
		if (w->timers[i].at_ms > w->mono_ms) {
			i++;
			continue;
		}
		event_active(w->timers[i].ev, EV_TIMEOUT, 1);
		w->timers[i] = w->timers[--w->ntimers];
	}
}

/* ---- the store ---- */

static struct fake_rcpt *rcpt_by_id(struct world *w, int64_t id)
{
	for (size_t i = 0; i < w->nrcpts; i++)
		if (w->rcpts[i].id == id)
			return &w->rcpts[i];
	fail_msg("no recipient %lld", (long long)id);
	return NULL;
}

static int after(const struct fake_rcpt *r, int64_t due, int64_t id)
{
	return r->next_attempt_s > due || (r->next_attempt_s == due && r->id > id);
}

/* The next due row past the cursor, in (next_attempt, id) order, or NULL. */
static struct fake_rcpt *next_ready(struct world *w, const struct store_cursor *cur, int64_t now_s)
{
	struct fake_rcpt *best = NULL;

	for (size_t i = 0; i < w->nrcpts; i++) {
		struct fake_rcpt *r = &w->rcpts[i];
		if (r->state != RS_QUEUED || r->next_attempt_s > now_s ||
		    !after(r, cur->due, cur->id))
			continue;
		if (!best || after(best, r->next_attempt_s, r->id))
			best = r;
	}
	return best;
}

static char *dup_bytes(const char *p, size_t n)
{
	char *d = malloc(n + 1);
	memcpy(d, p, n);
	d[n] = 0;
	return d;
}

static int fake_fetch_ready(void *ctx, const char *campaign, struct store_cursor *cur,
                            int64_t now_s, int limit, store_rcpt_fn cb, void *arg, struct err *e)
{
	struct world *w = ctx;
	struct fake_rcpt *f;
	int n = 0;

	(void)campaign, (void)e;
	while (n < limit && (f = next_ready(w, cur, now_s)) != NULL) {
		struct queued_rcpt *r = calloc(1, sizeof(*r));
		r->id = f->id;
		r->mailbox = strdup(f->mailbox);
		r->domain = strdup(f->domain);
		r->fields = dup_bytes(f->fields, f->fields_len);
		r->fields_len = f->fields_len;
		r->attempts = f->attempts;
		r->queued_at_s = f->queued_at_s;
		r->next_attempt_s = f->next_attempt_s;
		r->send_at_s = f->send_at_s;
		r->expires_at_s = f->expires_at_s;
		cur->due = f->next_attempt_s;
		cur->id = f->id;
		n++;
		cb(arg, r);
	}
	return n;
}

static int fake_next_due(void *ctx, const char *campaign, int64_t *due, struct err *e)
{
	struct world *w = ctx;

	(void)campaign, (void)e;
	*due = -1;
	for (size_t i = 0; i < w->nrcpts; i++)
		if (w->rcpts[i].state == RS_QUEUED &&
		    (*due < 0 || w->rcpts[i].next_attempt_s < *due))
			*due = w->rcpts[i].next_attempt_s;
	return 0;
}

static int fake_rcpt_update(void *ctx, int64_t id, const struct rcpt_outcome *o, struct err *e)
{
	struct fake_rcpt *r = rcpt_by_id(ctx, id);

	(void)e;
	r->state = o->state;
	r->attempts = o->attempts;
	r->next_attempt_s = o->next_attempt_s;
	r->code = o->code;
	snprintf(r->stage, sizeof(r->stage), "%s", o->stage);
	snprintf(r->category, sizeof(r->category), "%s", o->category);
	r->updates++;
	return 0;
}

static int fake_rcpt_postpone(void *ctx, int64_t id, int64_t due_s, struct err *e)
{
	struct fake_rcpt *r = rcpt_by_id(ctx, id);

	(void)e;
	if (r->state == RS_QUEUED)
		r->next_attempt_s = due_s;
	r->postpones++;
	return 0;
}

static int fake_commit(void *ctx, struct err *e)
{
	(void)ctx, (void)e;
	return 0;
}

static int fake_site_snapshot(void *ctx, const struct site_snapshot *snap, struct err *e)
{
	(void)ctx, (void)snap, (void)e;
	return 0;
}

static int fake_provider_snapshot(void *ctx, const struct provider_snapshot *snap, struct err *e)
{
	struct world *w = ctx;

	(void)e;
	w->provider_snaps++;
	w->provider_conn_limit = snap->conn_limit;
	if (snap->conns > w->provider_conns_max)
		w->provider_conns_max = snap->conns;
	return 0;
}

static int fake_warmup_first_day(void *ctx, const char *ip, int64_t today, int64_t *first,
                                 struct err *e)
{
	(void)ctx, (void)ip, (void)e;
	*first = today;
	return 0;
}

static int fake_warmup_counts(void *ctx, const char *ip, int64_t day, store_warmup_fn cb, void *arg,
                              struct err *e)
{
	(void)ctx, (void)ip, (void)day, (void)cb, (void)arg, (void)e;
	return 0;
}

static int fake_warmup_add(void *ctx, const char *ip, int64_t day, const char *site, struct err *e)
{
	(void)ctx, (void)ip, (void)day, (void)site, (void)e;
	return 0;
}

static int fake_identity_set(void *ctx, const char *ip, const char *helo, int64_t now_s,
                             struct err *e)
{
	(void)ctx, (void)ip, (void)helo, (void)now_s, (void)e;
	return 0;
}

static int fake_sign_add(void *ctx, const char *campaign, int64_t time_s, const char *kind,
                         const char *detail, struct err *e)
{
	struct world *w = ctx;

	(void)campaign, (void)time_s, (void)detail, (void)e;
	w->signs++;
	snprintf(w->last_sign, sizeof(w->last_sign), "%s", kind);
	return 0;
}

static int fake_campaign_pause(void *ctx, const char *campaign, const char *reason, int64_t now_s,
                               struct err *e)
{
	(void)campaign, (void)reason, (void)now_s, (void)e;
	((struct world *)ctx)->pauses++;
	return 0;
}

static int fake_site_pauses(void *ctx, int64_t now_s, store_pause_fn cb, void *arg, struct err *e)
{
	struct world *w = ctx;
	(void)e;
	if (w->pause.scope && (w->pause.until_s == 0 || w->pause.until_s > now_s))
		cb(arg, &w->pause);
	return 0;
}

static int fake_campaign_cancelled(void *ctx, const char *campaign, char reason[256], struct err *e)
{
	struct world *w = ctx;
	(void)e;
	if (strcmp(w->cancelled, campaign) != 0)
		return 0;
	snprintf(reason, 256, "wrong list");
	return 1;
}

static int fake_rcpt_due_domain(void *ctx, const char *domain, int64_t due_s, int64_t upto_s,
                                struct err *e)
{
	struct world *w = ctx;
	(void)e;
	for (size_t i = 0; i < w->nrcpts; i++) {
		struct fake_rcpt *r = &w->rcpts[i];
		if (r->state == RS_QUEUED && strcmp(r->domain, domain) == 0 &&
		    r->next_attempt_s > due_s && r->next_attempt_s <= upto_s) {
			r->next_attempt_s = due_s;
			w->due_now++;
		}
	}
	return 0;
}

static int fake_control_requests(void *ctx, int64_t since_s, store_control_fn cb, void *arg,
                                 struct err *e)
{
	struct world *w = ctx;
	(void)since_s, (void)e;
	if (w->req.kind && !w->req_done)
		cb(arg, &w->req);
	return 0;
}

static int fake_control_done(void *ctx, int64_t id, const char *result, struct err *e)
{
	struct world *w = ctx;
	(void)e;
	assert_int_equal(id, w->req.id);
	w->req_done = 1;
	snprintf(w->req_result, sizeof(w->req_result), "%s", result);
	return 0;
}

static int fake_purge_queued(void *ctx, const char *domain, const char *campaign,
                             const char *reason, store_purge_fn cb, void *arg, int64_t *n,
                             struct err *e)
{
	struct world *w = ctx;
	(void)reason, (void)e;
	*n = 0;
	for (size_t i = 0; i < w->nrcpts; i++) {
		struct fake_rcpt *r = &w->rcpts[i];
		if (r->state != RS_QUEUED || strcmp(r->domain, domain) != 0 ||
		    (campaign && strcmp(campaign, "c1") != 0))
			continue;
		cb(arg, "c1", r->mailbox, r->domain, r->attempts, r->queued_at_s);
		r->state = RS_BOUNCED;
		snprintf(r->stage, sizeof(r->stage), "purge");
		snprintf(r->category, sizeof(r->category), "purged");
		(*n)++;
	}
	return 0;
}

static int fake_campaign_paused(void *ctx, const char *campaign, char reason[256], struct err *e)
{
	(void)ctx, (void)campaign, (void)reason, (void)e;
	return 0;
}

static int fake_rcpt_history(void *ctx, const char *except, int64_t *refused, int64_t *judged,
                             struct err *e)
{
	(void)ctx, (void)except, (void)e;
	*refused = *judged = 0;
	return 0;
}

static int fake_learned_get(void *ctx, const char *site, const char *ip, struct store_learned *out,
                            struct err *e)
{
	struct world *w = ctx;
	(void)e;
	if (strcmp(site, w->learned_site) != 0)
		return 0;
	*out = w->learned;
	out->site = site, out->source_ip = ip;
	return 1;
}

static int fake_learned_put(void *ctx, const struct store_learned *row, struct err *e)
{
	struct world *w = ctx;
	(void)e;
	snprintf(w->learned_site, sizeof(w->learned_site), "%s", row->site);
	w->learned = *row;
	w->learned.site = w->learned.source_ip = NULL;
	w->learned_puts++;
	return 0;
}

/* ---- the resolver: every domain has one MX, mx.<domain> ---- */

static void fake_lookup(void *ctx, const char *domain, mx_cb cb, void *arg)
{
	struct mx_addr a;
	char site[300];

	(void)ctx;
	memset(&a, 0, sizeof(a));
	snprintf(a.host, sizeof(a.host), "mx.%s", domain);
	snprintf(a.ip, sizeof(a.ip), "192.0.2.25");
	snprintf(site, sizeof(site), "%s", a.host);
	struct mx_result res = {.status = MX_OK, .addrs = &a, .naddrs = 1, .site = site};
	cb(arg, domain, &res); /* as from the cache: before returning */
}

static void fake_cancel(void *ctx)
{
	(void)ctx; /* nothing is ever under way */
}

/* ---- SMTP peers ---- */

enum fc_state { FC_CONNECTING, FC_READY, FC_SENT, FC_IDLE };

/* A fake connection. The engine only holds the pointer and hands it back to
 * the port, so the test defines the type (the real one is private to
 * smtp/client.c and never seen here). */
struct smtp_client {
	struct world *w;
	const struct smtp_client_ops *ops;
	void *arg;
	struct smtp_peer peer;
	struct event *step; /* the connection's next move, on the loop */
	enum fc_state st;
	struct smtp_msg *m; /* sent, not answered yet */
	int sent, max_messages, finishing;
	int64_t idle_since_ms;
	struct smtp_client *next;
};

static void conn_close(struct smtp_client *c, const struct smtp_result *failure)
{
	struct smtp_client **p = &c->w->conns;

	while (*p != c)
		p = &(*p)->next;
	*p = c->next;
	c->w->conns_open--;
	c->ops->closed(c->arg, c, failure); /* last call */
	event_free(c->step);
	free(c);
}

static void conn_soon(struct smtp_client *c, enum fc_state st)
{
	c->st = st;
	event_active(c->step, EV_TIMEOUT, 1);
}

/* Asks the engine for the next message (after EHLO and after each answer). */
static void conn_ask(struct smtp_client *c)
{
	if (c->finishing || c->sent >= c->max_messages) {
		conn_close(c, NULL); /* QUIT */
		return;
	}
	struct smtp_msg *m = c->ops->next(c->arg, c);
	if (m) {
		c->m = m;
		conn_soon(c, FC_SENT);
	} else if (c->finishing) {
		conn_close(c, NULL);
	} else {
		c->st = FC_IDLE;
		c->idle_since_ms = c->w->mono_ms;
	}
}

static struct fake_rcpt *rcpt_by_mailbox(struct world *w, const char *mailbox)
{
	for (size_t i = 0; i < w->nrcpts; i++)
		if (!strcmp(w->rcpts[i].mailbox, mailbox))
			return &w->rcpts[i];
	fail_msg("no recipient %s", mailbox);
	return NULL;
}

static void set_reply(struct reply *r, const char *line)
{
	struct err e;

	reply_reset(r);
	if (reply_feed_line(r, line, strlen(line), &e) != REPLY_DONE)
		fail_msg("bad scripted reply %s", line);
}

/* The peer's answer to the transaction out: the recipient's script. */
static void conn_answer(struct smtp_client *c)
{
	struct fake_rcpt *r = rcpt_by_mailbox(c->w, c->m->rcpt);
	struct smtp_result res = {.stage = STAGE_DOT};
	struct smtp_msg *m = c->m;
	const char *line = "250 2.0.0 queued";

	assert_non_null(strstr(m->data, "Subject: hello\r\n"));
	if ((size_t)r->tries < r->nscript) {
		res.stage = r->script[r->tries].stage;
		line = r->script[r->tries].line;
	}
	r->tries++;
	set_reply(&res.reply, line);
	c->m = NULL;
	c->sent++;
	c->st = FC_READY;
	c->ops->done(c->arg, c, m, &res);
	if (res.reply.code == 421)
		conn_close(c, NULL); /* the server closes the connection */
	else
		conn_soon(c, FC_READY);
}

static void conn_step(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_client *c = arg;

	(void)fd, (void)what;
	if (c->st == FC_CONNECTING || c->st == FC_READY)
		conn_ask(c);
	else if (c->st == FC_SENT)
		conn_answer(c);
}

static struct smtp_client *fake_start(void *ctx, struct event_base *base,
                                      const struct smtp_params *p,
                                      const struct smtp_client_ops *ops, void *arg)
{
	struct world *w = ctx;
	struct smtp_client *c = calloc(1, sizeof(*c));

	assert_true(p->naddrs > 0);
	if (!w->all_pools) {
		assert_string_equal(p->source_ip, "192.0.2.10");
		assert_string_equal(p->helo, "mta1.example.com");
	}
	snprintf(w->last_source, sizeof(w->last_source), "%s", p->source_ip);
	c->w = w;
	c->ops = ops;
	c->arg = arg;
	snprintf(c->peer.host, sizeof(c->peer.host), "%s", p->addrs[0].host);
	snprintf(c->peer.ip, sizeof(c->peer.ip), "%s", p->addrs[0].ip);
	c->max_messages = p->max_messages;
	c->step = event_new(base, -1, 0, conn_step, c);
	c->next = w->conns;
	w->conns = c;
	w->conns_started++;
	if (++w->conns_open > w->conns_open_max)
		w->conns_open_max = w->conns_open;
	conn_soon(c, FC_CONNECTING);
	return c;
}

static void fake_wake(struct smtp_client *c)
{
	if (c->st == FC_IDLE)
		conn_soon(c, FC_READY);
}

static void fake_finish(struct smtp_client *c)
{
	c->finishing = 1;
	if (c->st == FC_IDLE)
		conn_soon(c, FC_READY);
}

static void fake_stop(struct smtp_client *c, int grace_ms)
{
	(void)grace_ms;
	if (c->st == FC_SENT) {
		struct smtp_result res = {.stage = STAGE_DOT, .local = 1};
		struct smtp_msg *m = c->m;
		reply_set_local(&res.reply, 421, "4.4.2", "stopped by sluice");
		c->m = NULL;
		c->ops->done(c->arg, c, m, &res);
	}
	conn_close(c, NULL);
}

static int fake_is_idle(const struct smtp_client *c)
{
	return c->st == FC_IDLE;
}

static const struct smtp_peer *fake_peer(const struct smtp_client *c)
{
	return &c->peer;
}

/* ---- the world ---- */

/* Time passes: timers that come due run, idle connections say QUIT after
 * the idle timeout (as the real client does). */
static void world_advance(struct world *w, int64_t ms)
{
	w->mono_ms += ms;
	w->wall_ms += ms;
	fire_timers(w);
	for (struct smtp_client *c = w->conns; c; c = c->next)
		if (c->st == FC_IDLE && c->idle_since_ms + w->cfg.idle_timeout_ms <= w->mono_ms)
			fake_finish(c);
}

static void loop_once(struct world *w)
{
	event_base_loop(w->base, EVLOOP_ONCE);
	if (event_base_got_break(w->base))
		w->broke = 1;
}

static int64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the loop a few ticks, for what should (not) happen at this time. */
static void settle(struct world *w)
{
	int64_t end = real_ms() + 30;

	while (!w->broke && real_ms() < end)
		loop_once(w);
}

typedef int (*world_pred)(struct world *w, const void *arg);

/* Runs the loop until pred holds (at most REAL_WAIT_MS of real time). */
static void run_until(struct world *w, world_pred pred, const void *arg, const char *what)
{
	int64_t end = real_ms() + REAL_WAIT_MS;

	while (!pred(w, arg) && !w->broke && real_ms() < end)
		loop_once(w);
	if (!pred(w, arg))
		fail_msg("never happened: %s", what);
}

static int broke(struct world *w, const void *arg)
{
	(void)arg;
	return w->broke;
}

/* A recipient's n-th store update (attempt outcome) or postponement. */
struct rcpt_count {
	const struct fake_rcpt *r;
	int n;
};

static int has_updates(struct world *w, const void *arg)
{
	const struct rcpt_count *x = arg;
	(void)w;
	return x->r->updates >= x->n;
}

static int has_postpones(struct world *w, const void *arg)
{
	const struct rcpt_count *x = arg;
	(void)w;
	return x->r->postpones >= x->n;
}

static void run_until_updates(struct world *w, const struct fake_rcpt *r, int n, const char *what)
{
	struct rcpt_count x = {r, n};
	run_until(w, has_updates, &x, what);
}

static struct fake_rcpt *add_rcpt(struct world *w, const char *mailbox, int64_t queued_at_s,
                                  const struct script_reply *script, size_t nscript)
{
	struct fake_rcpt *r = &w->rcpts[w->nrcpts];
	struct strbuf f = STRBUF_INIT;

	assert_true(w->nrcpts < RCPTS_MAX);
	memset(r, 0, sizeof(*r));
	r->id = (int64_t)++w->nrcpts;
	snprintf(r->mailbox, sizeof(r->mailbox), "%s", mailbox);
	snprintf(r->domain, sizeof(r->domain), "%s", strchr(mailbox, '@') + 1);
	fields_add(&f, mailbox, strlen(mailbox));
	r->fields = dup_bytes(f.data, f.len);
	r->fields_len = f.len;
	strbuf_free(&f);
	r->queued_at_s = queued_at_s;
	r->next_attempt_s = w->wall_ms / 1000;
	r->script = script;
	r->nscript = nscript;
	return r;
}

/* A world on config (YAML text); add recipients, then world_start. */
static void world_open(struct world *w, const char *config)
{
	static char *names[] = {"email"};
	char path[64];
	struct err e;

	memset(w, 0, sizeof(*w));
	w->mono_ms = T0_MONO_MS;
	w->wall_ms = T0_WALL_MS;
	w->base = event_base_new();
	unit_tmpfile(path, sizeof(path), ".yaml", config);
	if (config_load(path, &w->cfg, &e) != 0)
		fail_msg("config: %s", e.msg);
	unlink(path);
	assert_non_null(unit_tmpdir(w->dir, sizeof(w->dir)));
	if (rules_new(&w->cfg, &w->rules, &e) != 0 ||
	    classifier_new(w->cfg.classify, w->cfg.nclassify, &w->cls, &e) != 0 ||
	    dlog_open(w->dir, &w->log, &e) != 0 ||
	    template_parse("t.eml", template_text, strlen(template_text), &w->tpl, &e) != 0 ||
	    template_bind(&w->tpl, names, 1, &e) != 0)
		fail_msg("setup: %s", e.msg);
}

/* Every source of the config (all_pools), in config order. */
static size_t world_all_sources(struct world *w)
{
	size_t n = 0;
	for (; n < w->cfg.nsources && n < 4; n++)
		w->pool[n] = &w->cfg.sources[n];
	return n;
}

static void world_start(struct world *w)
{
	struct scheduler_params p = {
	    .base = w->base,
	    .cfg = &w->cfg,
	    .clock = {fake_wall_ms, fake_mono_ms, fake_arm, w},
	    .store = {.fetch_ready = fake_fetch_ready,
	              .next_due = fake_next_due,
	              .rcpt_update = fake_rcpt_update,
	              .rcpt_postpone = fake_rcpt_postpone,
	              .commit = fake_commit,
	              .site_snapshot = fake_site_snapshot,
	              .provider_snapshot = fake_provider_snapshot,
	              .warmup_first_day = fake_warmup_first_day,
	              .warmup_counts = fake_warmup_counts,
	              .warmup_add = fake_warmup_add,
	              .identity_set = fake_identity_set,
	              .sign_add = fake_sign_add,
	              .campaign_pause = fake_campaign_pause,
	              .rcpt_history = fake_rcpt_history,
	              .site_pauses = fake_site_pauses,
	              .campaign_cancelled = fake_campaign_cancelled,
	              .rcpt_due_domain = fake_rcpt_due_domain,
	              .campaign_paused = fake_campaign_paused,
	              .control_requests = fake_control_requests,
	              .control_done = fake_control_done,
	              .purge_queued = fake_purge_queued,
	              .learned_get = fake_learned_get,
	              .learned_put = fake_learned_put,
	              .ctx = w}, /* complaints (sign_seen, ...) are not the scheduler's */
	    .mx = {fake_lookup, fake_cancel, w},
	    .smtp = {fake_start, fake_wake, fake_finish, fake_stop, fake_is_idle, fake_peer, w},
	    .log = w->log,
	    .sources = w->pool,
	    .nsources = w->all_pools ? world_all_sources(w)
	                             : config_pool_sources(&w->cfg, w->cfg.pool, w->pool, 4),
	    .rules = w->rules,
	    .classifier = w->cls,
	};
	struct sched_campaign_desc d = {
	    .id = "c1",
	    .salt = "salt1",
	    .envelope_from = "bounces@news.example.com",
	    .tpl = &w->tpl,
	    .size = (int64_t)w->nrcpts,
	    .clean_version = -1,
	};
	w->s = scheduler_new(&p);
	scheduler_add_campaign(w->s, &d);
	scheduler_start(w->s);
}

/* The delivery log so far (flushed), for strstr; caller frees. */
static char *log_text(struct world *w)
{
	char path[128];
	struct err e;

	assert_int_equal(dlog_flush(w->log, &e), 0);
	snprintf(path, sizeof(path), "%s/delivery.log", w->dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = calloc(1, 1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void world_close(struct world *w)
{
	struct err e;
	char path[128];

	if (!w->broke) {
		scheduler_stop(w->s);
		run_until(w, broke, NULL, "the scheduler stops");
	}
	assert_int_equal(scheduler_free(w->s, &e), 0);
	assert_null(w->conns);
	dlog_close(w->log);
	snprintf(path, sizeof(path), "%s/delivery.log", w->dir);
	unlink(path);
	rmdir(w->dir);
	template_free(&w->tpl);
	rules_free(w->rules);
	classifier_free(w->cls);
	config_free(&w->cfg);
	for (size_t i = 0; i < w->nrcpts; i++)
		free(w->rcpts[i].fields);
	event_base_free(w->base);
}

#endif
