/*
 * watch: see watch.h. A one-second tick decides when to check; a check
 * runs on the watcher's own worker thread (one at a time) and its findings
 * come back to the loop, where the store's pauses are read and written.
 */
#include "serve/watch.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlog/dlog.h"
#include "engine/scheduler.h"
#include "mail/stage.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/workers.h"
#include "util/xmalloc.h"

#define WATCH_TICK_MS 1000

struct watch {
	struct watch_params p;
	struct workers *wk;
	struct event *tick;
	struct watch_memory mem[SOURCES_MAX];
	int64_t next_due_ms;                            /* the next scheduled check (monotonic) */
	int64_t last_start_ms;                          /* the last check's start; 0: none */
	int64_t last_start_wall_ms, prev_start_wall_ms; /* the last two checks' (wall) */
	int64_t blocks_seen; /* reputation_block attempts counted so far */
	int running, stopping;
};

/* One check: every source, on the worker. */
struct watch_job {
	struct watch *w;
	int64_t before_ms; /* the check before this one started then (wall; 0: none) */
	struct preflight_watch found[SOURCES_MAX];
	int failed[SOURCES_MAX];
	char why[SOURCES_MAX][ERR_MSG_MAX];
};

enum watch_act watch_decide(const struct preflight_watch *f, struct watch_memory *m,
                            enum watch_paused paused, char *reason, size_t n)
{
	const char *why = NULL;

	if (f->rdns == 1)
		m->rdns_ok_seen = 1;
	if (f->spf == 1)
		m->spf_ok_seen = 1;
	if (f->listed == 1)
		snprintf(reason, n, WATCH_REASON_PREFIX "listed on %s", f->listed_why);
	else if (f->rdns == 0 && (m->rdns_ok_seen || paused == WATCH_PAUSED_BY_WATCH))
		why = f->rdns_why;
	else if (f->spf == 0 && (m->spf_ok_seen || paused == WATCH_PAUSED_BY_WATCH))
		why = f->spf_why;
	if (why)
		snprintf(reason, n, WATCH_REASON_PREFIX "%s", why);
	if (f->listed == 1 || why) {
		int was = m->bad;
		m->bad = 1;
		if (paused == WATCH_NOT_PAUSED)
			return WATCH_PAUSE;
		return paused == WATCH_PAUSED_BY_OPERATOR && !was ? WATCH_SIGN : WATCH_NONE;
	}
	if (f->listed < 0 || f->rdns < 0 || f->spf < 0)
		return WATCH_NONE; /* no answer: judge nothing */
	m->bad = 0;
	return paused == WATCH_PAUSED_BY_WATCH ? WATCH_LIFT : WATCH_NONE;
}

int watch_ends_blocks(const struct preflight_watch *f, int have_zones, int64_t set_ms,
                      int64_t before_ms)
{
	return have_zones && f->listed == 0 && before_ms > 0 && set_ms < before_ms;
}

static void check_work(void *arg)
{
	struct watch_job *j = arg;
	const struct watch_params *p = &j->w->p;
	struct err e;

	for (size_t i = 0; i < p->nsources; i++)
		if (preflight_watch_source(p->cfg, p->sources[i], &j->found[i], &e) != 0) {
			j->failed[i] = 1;
			snprintf(j->why[i], sizeof(j->why[i]), "%s", e.msg);
		}
}

struct pause_find {
	const char *ip;
	enum watch_paused paused;
};

static void pause_row(void *arg, const struct site_pause *sp)
{
	struct pause_find *f = arg;

	if (strcmp(sp->scope, "source") != 0 || strcmp(sp->target, f->ip) != 0)
		return;
	f->paused = strncmp(sp->reason, WATCH_REASON_PREFIX, strlen(WATCH_REASON_PREFIX)) == 0
	                ? WATCH_PAUSED_BY_WATCH
	                : WATCH_PAUSED_BY_OPERATOR;
}

static void committed(void *arg, int ok)
{
	(void)arg;
	if (!ok)
		log_error("watch: the store could not commit a source's pause or resume");
}

/* The danger sign: logged, in the delivery log, to the sink. */
static void sign(struct watch *w, const char *ip, const char *kind, const char *detail, int paused)
{
	char text[600];
	struct dlog_rec rec = {
	    .time_ms = clock_wall_ms(),
	    .source_ip = ip,
	    .stage = stage_name(STAGE_MONITOR),
	    .outcome = "danger",
	    .category = kind,
	    .text = text,
	};
	snprintf(text, sizeof(text), "source %s: %s%s", ip, detail,
	         paused ? " (paused; the other sources go on)" : "");
	dlog_add(w->p.log, &rec);
	struct monitor_sign sg = {"*", kind, text, 1, 0};
	if (w->p.sink.fn)
		w->p.sink.fn(w->p.sink.arg, &sg);
}

/* The listing is gone: the source blocks of blocklist-style replies that
 * named a check.dnsbl zone and came before the previous check end now
 * (watch_ends_blocks; the scheduler holds them). */
static void end_blocks(struct watch *w, const struct source *src, const struct preflight_watch *f,
                       int64_t before_ms)
{
	const char *z = w->p.cfg->check_dnsbl;

	if (!w->p.sched || !watch_ends_blocks(f, z && *z, before_ms - 1, before_ms))
		return;
	size_t n = scheduler_lift_source_blocks(
	    w->p.sched, src->ip, before_ms, "watch: listed on none of the check.dnsbl zones now");
	if (!n)
		return;
	scheduler_commit_then(w->p.sched, committed, NULL);
	log_info("watch: source %s is on none of the check.dnsbl zones: %zu block(s) of it "
	         "ended early",
	         src->ip, n);
}

static void act(struct watch *w, const struct source *src, const struct preflight_watch *f,
                struct watch_memory *m, int64_t before_ms)
{
	struct pause_find pf = {src->ip, WATCH_NOT_PAUSED};
	char reason[400];
	int64_t now_s = clock_wall_ms() / 1000;
	struct err e;

	if (store_site_pauses(w->p.st, now_s, pause_row, &pf, &e) != 0) {
		log_error("watch: %s", e.msg);
		return;
	}
	end_blocks(w, src, f, before_ms);
	enum watch_act a = watch_decide(f, m, pf.paused, reason, sizeof(reason));
	const char *kind = f->listed == 1 ? "source_listed" : "source_identity";
	const char *detail = reason + strlen(WATCH_REASON_PREFIX);
	if (a == WATCH_PAUSE) {
		struct site_pause sp = {"source", src->ip, reason, 0, now_s};
		if (store_site_pause(w->p.st, &sp, &e) != 0) {
			log_error("watch: pausing source %s: %s", src->ip, e.msg);
			return;
		}
		scheduler_commit_then(w->p.sched, committed, NULL);
		log_warn("watch: source %s paused: %s", src->ip, detail);
		sign(w, src->ip, kind, detail, 1);
	} else if (a == WATCH_SIGN) {
		log_warn("watch: source %s (paused by the operator): %s", src->ip, detail);
		sign(w, src->ip, kind, detail, 0);
		scheduler_commit_then(w->p.sched, committed, NULL);
	} else if (a == WATCH_LIFT) {
		if (store_site_resume(w->p.st, "source", src->ip, &e) < 0) {
			log_error("watch: resuming source %s: %s", src->ip, e.msg);
			return;
		}
		scheduler_commit_then(w->p.sched, committed, NULL);
		log_info("watch: source %s is fine again (not listed, rDNS and SPF pass): the "
		         "watcher's pause is lifted",
		         src->ip);
	}
}

static void check_done(void *arg)
{
	struct watch_job *j = arg;
	struct watch *w = j->w;

	w->running = 0;
	for (size_t i = 0; !w->stopping && i < w->p.nsources; i++) {
		if (j->failed[i])
			log_warn("watch: source %s not checked: %s", w->p.sources[i]->ip,
			         j->why[i]);
		else
			act(w, w->p.sources[i], &j->found[i], &w->mem[i], j->before_ms);
	}
	free(j);
}

static int64_t blocks_now(const struct watch *w)
{
	const struct scheduler_counters *c = scheduler_counters(w->p.sched);
	int64_t n = 0;

	for (int o = 0; o < SCHED_OUTCOMES; o++)
		for (int p = 0; p <= PROVIDERS_MAX; p++)
			n += c->attempts[o][CAT_REPUTATION_BLOCK][p];
	return n;
}

/* why: for a reader of the call ("scheduled", "after a block") */
static void start_check(struct watch *w, int64_t now_ms, const char *why)
{
	struct watch_job *j = xcalloc(1, sizeof(*j));

	j->w = w;
	w->running = 1;
	w->last_start_ms = now_ms;
	w->prev_start_wall_ms = w->last_start_wall_ms;
	w->last_start_wall_ms = clock_wall_ms();
	j->before_ms = w->prev_start_wall_ms;
	w->next_due_ms = now_ms + w->p.cfg->watch_interval_ms;
	(void)why;
	workers_submit(w->wk, check_work, check_done, j);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	int64_t now = clock_mono_ms();

	(void)fd, (void)what;
	if (w->running || w->stopping)
		return;
	int64_t blocks = w->p.sched ? blocks_now(w) : 0;
	if (now >= w->next_due_ms) {
		w->blocks_seen = blocks;
		start_check(w, now, "scheduled");
	} else if (blocks > w->blocks_seen &&
	           now - w->last_start_ms >= w->p.cfg->watch_after_block_ms) {
		w->blocks_seen = blocks;
		start_check(w, now, "after a blocklist-style reply");
	}
}

int watch_start(const struct watch_params *p, struct watch **out, struct err *e)
{
	*out = NULL;
	if (p->cfg->watch_interval_ms <= 0 || p->nsources == 0)
		return 0;
	struct watch *w = xcalloc(1, sizeof(*w));
	w->p = *p;
	if (w->p.nsources > SOURCES_MAX)
		w->p.nsources = SOURCES_MAX;
	w->wk = workers_new(p->base, 1);
	if (!w->wk) {
		free(w);
		return err_set(e, "watch: cannot start its thread");
	}
	w->tick = event_new(p->base, -1, EV_PERSIST, on_tick, w);
	struct timeval tv = {WATCH_TICK_MS / 1000, (WATCH_TICK_MS % 1000) * 1000};
	event_add(w->tick, &tv);
	w->next_due_ms = clock_mono_ms(); /* the first check at once */
	log_info("watch: checking the identity of %zu source(s) every %ds%s", w->p.nsources,
	         p->cfg->watch_interval_ms / 1000,
	         p->cfg->check_dnsbl ? "" : " (no check.dnsbl zones: rDNS and SPF only)");
	*out = w;
	return 0;
}

void watch_stop(struct watch *w)
{
	if (w)
		w->stopping = 1;
}

void watch_free(struct watch *w)
{
	if (!w)
		return;
	w->stopping = 1;
	event_free(w->tick);
	workers_free(w->wk); /* a check under way finishes; its done acts on nothing */
	free(w);
}
