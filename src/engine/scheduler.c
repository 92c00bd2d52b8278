/*
 * scheduler: see scheduler.h.
 *
 * Invariants:
 * - A loaded recipient (a job) is in exactly one place: waiting for its MX
 *   answer, in its site's queue, or in a session's transaction. It leaves
 *   memory when its outcome is recorded (or, on stop, untouched in the store).
 * - The store is only told an outcome after the receiver's reply; a job in
 *   flight when the process dies is still queued there and is sent again
 *   (at-least-once).
 * - site->starting counts sessions that have not yet asked for work; a new
 *   session is opened only while the site has more queued jobs than that,
 *   so a handful of messages never fans out over many connections.
 */
#include "engine/scheduler.h"
#include "engine/scheduler_int.h"

#include <event2/event.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/outcome.h"
#include "mail/classify.h"
#include "dns/mx.h"
#include "store/suppress.h"
#include "msg/assemble.h"
#include "msg/dkim.h"
#include "dlog/dlog.h"
#include "store/store.h"
#include "shape/rules.h"
#include "shape/throttle.h"
#include "shape/warmup.h"
#include "smtp/client.h"
#include "util/strbuf.h"
#include "util/strmap.h"
#include "util/xmalloc.h"

#define COMMIT_INTERVAL_MS 5    /* group commit period */
#define SNAPSHOT_MS        1000 /* how often sites are written for `sluice queue` */

static const struct smtp_client_ops session_ops;

/* Scheduler CPU accounting (SLUICE_SCHED_CPU=1, for the benchmark): the
 * thread CPU time spent in the scheduler's callbacks (loading, queues,
 * rendering, outcomes, the group commit), outermost call only; the SMTP
 * client's own I/O and libevent's are outside. */
static int64_t cpu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t sched_cpu_enter(struct scheduler *s)
{
	if (!s->cpu_on || s->cpu_depth++ > 0)
		return 0;
	return cpu_now_ns();
}

void sched_cpu_leave(struct scheduler *s, int64_t t0)
{
	if (s->cpu_on && --s->cpu_depth == 0)
		s->st.cpu_ns += cpu_now_ns() - t0;
}

int64_t scheduler_backoff_s(int attempts, int64_t min_s, int64_t max_s)
{
	int64_t b = min_s;

	for (int i = 1; i < attempts && b < max_s; i++)
		b *= 2;
	return b > max_s ? max_s : b;
}

void sched_fail(struct scheduler *s, const struct err *e)
{
	if (!s->failed) {
		s->failed = 1;
		s->err = *e;
	}
	scheduler_stop(s);
}

void job_free(struct job *j)
{
	if (j->camp)
		j->camp->loaded--;
	queued_rcpt_free(j->r);
	strbuf_free(&j->data);
	free(j->dkim_error);
	free(j);
}

/* ---- outcomes ---- */

/* A prompt stop: how long a message already sent waits for its answer. */
#define STOP_GRACE_MS 1000

struct attempt {
	enum stage stage;
	const struct reply *reply;
	const struct smtp_peer *peer;
	int retry_now;
	const char *suppressed; /* not attempted: suppressed since queued (the reason) */
};

void site_push_front(struct site *site, struct job *j);
void site_kick(struct site *site);

/* Classifies the reply and decides what it means (engine/outcome.h). */
static void decide(struct scheduler *s, const struct job *j, const struct attempt *a, int64_t now_s,
                   struct classification *c, struct outcome *o)
{
	const struct queued_rcpt *r = j->r;

	classify(s->p.classifier, a->stage, a->reply->code, a->reply->enhanced, a->reply->text, c);
	struct outcome_in in = {
	    .stage = a->stage,
	    .reply = a->reply,
	    .cls = c,
	    .cfg = s->p.cfg,
	    .now_s = now_s,
	    .attempts = r->attempts,
	    .queued_at_s = r->queued_at_s,
	    .due_s = r->next_attempt_s,
	    .suppressed = a->suppressed,
	    .retry_now = a->retry_now && j->site && !s->stopping,
	    .at_site = j->site != NULL,
	    .rules = s->rules,
	    .mx_host = a->peer ? a->peer->host : NULL,
	};
	outcome_decide(&in, o);
}

static void count_outcome(struct scheduler *s, enum outcome_count n)
{
	int64_t *c[] = {[OC_DELIVERED] = &s->st.delivered,
	                [OC_BOUNCED] = &s->st.bounced,
	                [OC_DEFERRED] = &s->st.deferred,
	                [OC_EXPIRED] = &s->st.expired,
	                [OC_SUPPRESSED] = &s->st.suppressed};
	(*c[n])++;
}

/* The site's throttle and warm-up: a reply rule, or a delivery. */
static void apply_site(struct scheduler *s, struct site *site, const struct outcome *o,
                       const struct reply *reply)
{
	if (o->rule)
		throttle_apply(&site->thr, o->rule, reply->text, sched_mono_ms(s));
	else if (o->site_delivered) {
		site_warm_count(s, site);
		throttle_connection_worked(&site->thr);
		throttle_delivered(&site->thr, sched_mono_ms(s));
	}
}

static void update_store(struct scheduler *s, const struct job *j, const struct attempt *a,
                         const struct outcome *o)
{
	struct rcpt_outcome ro = {
	    .state = o->state,
	    .attempts = o->attempts,
	    .next_attempt_s = o->next_attempt_s,
	    .code = a->reply->code,
	    .enhanced = a->reply->enhanced,
	    .text = a->reply->text,
	    .stage = stage_name(a->stage),
	    .category = category_name(o->category),
	    .mx = a->peer && a->peer->host[0] ? a->peer->host : NULL,
	};
	struct err e;
	if (s->p.store.rcpt_update(s->p.store.ctx, j->r->id, &ro, &e) != 0)
		sched_fail(s, &e);
}

/* The list action through the suppression list; returns what the log says. */
static const char *apply_list(struct scheduler *s, const struct job *j, const struct attempt *a,
                              const struct outcome *o, int64_t now_s)
{
	const struct config *cfg = s->p.cfg;
	const char *action = NULL;
	struct err e;

	if (!s->p.suppress || o->list == OUTCOME_LIST_NONE)
		return NULL;
	struct outcome_subject who = {
	    .address = j->r->mailbox,
	    .scope = cfg->suppression.scope == SCOPE_SENDER_DOMAIN ? cfg->from_domain : "",
	    .stage = a->stage,
	    .code = a->reply->code,
	    .evidence = a->reply->text,
	    .now_s = now_s,
	};
	if (outcome_list_apply(s->p.suppress, &cfg->suppression, o->list, &who, &action, &e) != 0)
		sched_fail(s, &e);
	return action;
}

static void log_outcome(struct scheduler *s, const struct job *j, const struct attempt *a,
                        const struct outcome *o, const char *list_action, int64_t now_ms)
{
	const struct queued_rcpt *r = j->r;
	struct dlog_rec rec = {
	    .time_ms = now_ms,
	    .campaign = j->camp->id,
	    .recipient = r->mailbox,
	    .domain = r->domain,
	    .site = j->site ? j->site->key : NULL,
	    .mx_host = a->peer ? a->peer->host : NULL,
	    .mx_ip = a->peer ? a->peer->ip : NULL,
	    .source_ip = j->site ? j->site->source->ip : NULL,
	    .helo = j->site ? j->site->source->helo : NULL,
	    .tls = a->peer ? a->peer->tls : NULL,
	    .stage = stage_name(a->stage),
	    .code = a->reply->code,
	    .enhanced = a->reply->enhanced,
	    .text = a->reply->text,
	    .outcome = o->name,
	    .category = category_name(o->category),
	    .rule = o->rule ? o->rule->name : NULL,
	    .list_action = a->suppressed ? a->suppressed : list_action,
	    .return_path = j->mail_from[0] ? j->mail_from : NULL,
	    .attempt = o->attempts,
	    .queue_time_s = now_ms / 1000 - r->queued_at_s,
	    .message_id = j->msgid[0] ? j->msgid : NULL,
	};
	dlog_add(s->p.log, &rec);
	s->dirty = 1;
}

/* Records what one attempt did: decides (engine/outcome.c), then applies
 * each effect through its owner: the site's throttle, the store, the
 * suppression list, the delivery log, the monitor, the lane. Frees the
 * job unless it goes round again. */
static void record_outcome(struct scheduler *s, struct job *j, const struct attempt *a)
{
	int64_t now_ms = sched_wall_ms(s), now_s = now_ms / 1000;
	struct classification c;
	struct outcome o;

	decide(s, j, a, now_s, &c, &o);
	count_outcome(s, o.count);
	if (j->site)
		apply_site(s, j->site, &o, a->reply);
	update_store(s, j, a, &o);
	const char *list_action = apply_list(s, j, a, &o, now_s);
	log_outcome(s, j, a, &o, list_action, now_ms);
	monitor_outcome(s, j->camp, j->site, &o.signs, a->stage, a->reply, o.category,
	                a->peer ? a->peer->host : NULL);
	if (j->site)
		site_lane_outcome(j->site, j->camp, o.passed_mail);
	if (o.refuse_campaign && !j->camp->paused)
		site_refuse_campaign(s, j->site, j->camp, o.next_attempt_s);
	if (o.retry_now && !j->camp->paused) {
		j->r->attempts = o.attempts;
		site_push_front(j->site, j);
		site_kick(j->site);
		return;
	}
	s->loaded--;
	job_free(j);
}

void sched_suppressed(struct scheduler *s, struct job *j, const char *reason)
{
	struct reply r;
	char text[96];

	snprintf(text, sizeof(text), "not sent: suppressed since queued (%s)", reason);
	reply_set_local(&r, 550, "5.7.1", text);
	struct attempt a = {.stage = STAGE_LOAD, .reply = &r, .suppressed = reason};
	record_outcome(s, j, &a);
}

void sched_local_outcome(struct scheduler *s, struct job *j, enum stage stage, int code,
                         const char *enh, const char *text)
{
	struct reply r;

	reply_set_local(&r, code, enh, text);
	struct attempt a = {.stage = stage, .reply = &r};
	record_outcome(s, j, &a);
}

static void start_session(struct scheduler *s, struct site *site)
{
	const struct config *cfg = s->p.cfg;
	struct session *sess = xcalloc(1, sizeof(*sess));
	struct smtp_params sp = {
	    .addrs = site->addrs,
	    .naddrs = site->naddrs,
	    .source_ip = site->source->ip,
	    .helo = site->source->helo,
	    .port = cfg->port,
	    .tls = site->pol.tls,
	    .timeouts = &cfg->timeouts,
	    .max_messages = site->pol.max_messages_per_connection,
	    .idle_ms = cfg->idle_timeout_ms,
	    .ssl_ctx = s->p.ssl_ctx,
	};

	sess->s = s;
	sess->site = site;
	sess->next = site->sessions;
	if (site->sessions)
		site->sessions->prev = sess;
	site->sessions = sess;
	site->active++;
	site->starting++;
	s->active++;
	s->st.connections = s->active;
	sess->c = s->p.smtp.start(s->p.smtp.ctx, s->p.base, &sp, &session_ops, sess);
}

/* Gives queued work to the site's idle sessions. */
void site_kick(struct site *site)
{
	const struct engine_smtp *smtp = &site->s->p.smtp;

	for (struct session *x = site->sessions; x && site->queued > 0; x = x->next)
		if (smtp->is_idle(x->c))
			smtp->wake(x->c);
}

void site_open_sessions(struct scheduler *s, struct site *site)
{
	int64_t now = sched_mono_ms(s);

	if (s->stopping || site_admit(s, site, now) != SITE_ADMIT_OPEN)
		return;
	site_kick(site);
	while (site_sendable(site) > (size_t)site->starting &&
	       site->active < throttle_max_connections(&site->thr, now)) {
		if (s->active >= s->p.cfg->max_connections) {
			site_wait_for_capacity(s, site);
			return;
		}
		if (!site_pace(site, SITE_PACE_CONNECTION, now))
			return;
		start_session(s, site);
	}
}

/* ---- sessions (the SMTP client's owner) ---- */

static struct smtp_msg *hand_over(struct site *site, struct job *j)
{
	j->msg.data = j->data.data;
	j->msg.len = j->data.len;
	site->in_flight++;
	return &j->msg;
}

/* Assembles j's message (msg/assemble.h) for its session: 0, or -1 when
 * its outcome is recorded (the template could not be rendered for it). */
static int session_assemble(struct scheduler *s, struct job *j)
{
	const struct queued_rcpt *r = j->r;
	const struct sched_campaign *camp = j->camp;
	struct assemble_in in = {
	    .cfg = s->p.cfg,
	    .tpl = camp->tpl,
	    .salt = camp->salt,
	    .envelope_from = camp->envelope_from,
	    .rcpt_id = r->id,
	    .fields = r->fields,
	    .fields_len = r->fields_len,
	    .utf8 = r->utf8,
	    .date_s = sched_wall_ms(s) / 1000,
	};
	struct assembled out = {.data = &j->data};
	struct err e;
	int rc = assemble_message(&in, &out, &e);

	memcpy(j->msgid, out.message_id, sizeof(j->msgid));
	if (rc != 0) {
		sched_local_outcome(s, j, STAGE_RENDER, 554, "5.6.0", e.msg);
		return -1;
	}
	memcpy(j->mail_from, out.mail_from, sizeof(j->mail_from));
	j->msg.mail_from = j->mail_from;
	j->msg.rcpt = r->mailbox;
	j->msg.needs = (out.needs & RENDER_8BITMIME ? SMTP_NEEDS_8BITMIME : 0) |
	               (out.needs & RENDER_SMTPUTF8 ? SMTP_NEEDS_SMTPUTF8 : 0);
	j->date_s = in.date_s;
	return 0;
}

static struct smtp_msg *session_next_work(void *arg, struct smtp_client *c)
{
	struct session *sess = arg;
	struct scheduler *s = sess->s;
	struct site *site = sess->site;
	struct job *j;

	if (!sess->asked) {
		sess->asked = 1;
		site->starting--;
	}
	if (sess->dkim_pending)
		return NULL;   /* woken when the worker is done (dkim_jobs.c) */
	if (sess->dkim_done) { /* admitted by the checks below before signing */
		j = sess->dkim_done;
		sess->dkim_done = NULL;
		if (!dkim_jobs_dropped(s, j))
			return hand_over(site, j);
	}
	int64_t now = sched_mono_ms(s);
	if (site_admit(s, site, now) != SITE_ADMIT_OPEN) {
		s->p.smtp.finish(c); /* the current transaction is over: QUIT */
		return NULL;
	}
	while (!s->stopping && site->queued > 0) {
		if (!site_pace(site, SITE_PACE_MESSAGE, now))
			return NULL; /* idle until then, or QUIT after idle_timeout */
		if (!(j = site_pop_to_send(site)))
			return NULL; /* only work behind a probe: idle until it is answered */
		if (session_assemble(s, j) != 0)
			continue;
		if (dkim_jobs_submit(s, sess, j))
			return NULL;
		struct err e;
		if (dkim_sign(s->p.dkim, &j->data, j->date_s, &e) != 0) {
			sched_local_outcome(s, j, STAGE_RENDER, 451, "4.3.0",
			                    e.msg); /* retried later */
			continue;
		}
		return hand_over(site, j);
	}
	return NULL;
}

static void session_done_work(void *arg, struct smtp_client *c, struct smtp_msg *m,
                              const struct smtp_result *res)
{
	struct session *sess = arg;
	struct job *j = (struct job *)(void *)((char *)m - offsetof(struct job, msg));
	sess->site->in_flight--;
	struct attempt a = {
	    .stage = res->stage,
	    .reply = &res->reply,
	    .peer = sess->s->p.smtp.peer(c),
	    .retry_now = res->retry_now,
	};

	record_outcome(sess->s, j, &a);
}

/* A reply rule fired on a connection that carried no message (a "421 too
 * many connections" greeting): one record for the site, no recipient. */
static void log_site_throttled(struct scheduler *s, const struct site *site, struct smtp_client *c,
                               const struct smtp_result *failure, const struct reply_rule *rule)
{
	const struct smtp_peer *peer = s->p.smtp.peer(c);
	struct dlog_rec rec = {
	    .time_ms = sched_wall_ms(s),
	    .site = site->key,
	    .mx_host = peer ? peer->host : NULL,
	    .mx_ip = peer ? peer->ip : NULL,
	    .source_ip = site->source->ip,
	    .helo = site->source->helo,
	    .stage = stage_name(failure->stage),
	    .code = failure->reply.code,
	    .enhanced = failure->reply.enhanced,
	    .text = failure->reply.text,
	    .outcome = "site_throttled",
	    .rule = rule->name,
	};
	dlog_add(s->p.log, &rec);
	s->dirty = 1;
}

static void session_closed_work(void *arg, struct smtp_client *c, const struct smtp_result *failure)
{
	struct session *sess = arg;
	struct scheduler *s = sess->s;
	struct site *site = sess->site;

	dkim_jobs_session_closed(s, sess);
	if (!sess->asked)
		site->starting--;
	site->active--;
	s->active--;
	s->st.connections = s->active;
	if (sess->prev)
		sess->prev->next = sess->next;
	else
		site->sessions = sess->next;
	if (sess->next)
		sess->next->prev = sess->prev;
	/* No session of the site got through: what waits for it is deferred
	 * (or bounced, if every address said 5xx), not retried in a tight loop. */
	if (failure) {
		/* "421 too many connections" at the greeting is a throttle, not an
		 * unreachable host: a matching rule decides, else it counts as a
		 * failure towards backing the site off */
		const struct reply_rule *rule =
		    rules_match(s->rules, failure->stage, &failure->reply, s->p.smtp.peer(c)->host);
		if (rule && !failure->local) {
			throttle_apply(&site->thr, rule, failure->reply.text, sched_mono_ms(s));
			log_site_throttled(s, site, c, failure, rule);
		} else
			throttle_connection_failed(&site->thr, failure->reply.text,
			                           sched_mono_ms(s));
	}
	if (failure && site->active == 0) {
		struct job *j;
		struct attempt a = {
		    .stage = failure->stage,
		    .reply = &failure->reply,
		    .peer = s->p.smtp.peer(c),
		};
		while ((j = site_pop(site)) != NULL)
			record_outcome(s, j, &a);
	}
	free(sess);
	if (!failure)
		site_open_sessions(s, site);
	while (s->wait_head && s->active < s->p.cfg->max_connections) {
		struct site *w = s->wait_head;
		s->wait_head = w->wait_next;
		if (!s->wait_head)
			s->wait_tail = NULL;
		w->waiting = 0;
		site_open_sessions(s, w);
	}
}

static struct smtp_msg *session_next(void *arg, struct smtp_client *c)
{
	struct scheduler *s = ((struct session *)arg)->s;
	int64_t t0 = sched_cpu_enter(s);
	struct smtp_msg *m = session_next_work(arg, c);
	sched_cpu_leave(s, t0);
	return m;
}

static void session_done(void *arg, struct smtp_client *c, struct smtp_msg *m,
                         const struct smtp_result *res)
{
	struct scheduler *s = ((struct session *)arg)->s;
	int64_t t0 = sched_cpu_enter(s);
	session_done_work(arg, c, m, res);
	sched_cpu_leave(s, t0);
}

static void session_closed(void *arg, struct smtp_client *c, const struct smtp_result *failure)
{
	struct scheduler *s = ((struct session *)arg)->s;
	int64_t t0 = sched_cpu_enter(s);
	session_closed_work(arg, c, failure); /* frees the session */
	sched_cpu_leave(s, t0);
}

static const struct smtp_client_ops session_ops = {
    .next = session_next,
    .done = session_done,
    .closed = session_closed,
};

static void on_tick_work(evutil_socket_t fd, short what, void *arg)
{
	struct scheduler *s = arg;
	int64_t now_ms = sched_wall_ms(s);
	struct err e;

	(void)fd, (void)what;
	if (warmup_day_of(now_ms / 1000) != s->warm_today && !s->failed)
		sched_warm_load(s, warmup_day_of(now_ms / 1000));
	if (now_ms >= s->next_snapshot_ms && !s->failed) {
		sched_snapshot_sites(s);
		s->next_snapshot_ms = now_ms + SNAPSHOT_MS;
	}
	if (s->dirty) {
		s->dirty = 0;
		if (dlog_flush(s->p.log, &e) != 0 || s->p.store.commit(s->p.store.ctx, &e) != 0 ||
		    suppress_commit(s->p.suppress, &e) != 0)
			sched_fail(s, &e);
	}
	/* in batches: each read of the store costs a walk of its index past
	 * what is already loaded, so a trickle of small reads costs more */
	if (!s->stopping && s->loaded + FETCH_BATCH <= LOADED_MAX)
		sched_fetch(s, now_ms);
	sched_check_finished(s, now_ms);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct scheduler *s = arg;
	int64_t t0 = sched_cpu_enter(s);
	on_tick_work(fd, what, arg);
	sched_cpu_leave(s, t0);
}

/* ---- the public face ---- */

struct scheduler *scheduler_new(const struct scheduler_params *p)
{
	struct scheduler *s = xcalloc(1, sizeof(*s));

	s->p = *p;
	s->rules = p->rules;
	s->sites = strmap_new();
	s->cpu_on = getenv("SLUICE_SCHED_CPU") != NULL;
	s->tick = event_new(p->base, -1, EV_PERSIST, on_tick, s);
	sched_warm_load(s, warmup_day_of(sched_wall_ms(s) / 1000));
	dkim_jobs_init(s);
	return s;
}

void scheduler_add_campaign(struct scheduler *s, const struct sched_campaign_desc *d)
{
	struct sched_campaign *c, **tail = &s->campaigns;

	for (c = s->campaigns; c; c = c->next) {
		if (strcmp(c->id, d->id) == 0) {
			if (c->finished || c->paused) { /* more queued, or resumed: start over */
				c->finished = 0;
				c->paused = 0;
				c->cur = STORE_CURSOR_START;
				c->next_fetch_ms = 0;
			}
			return;
		}
		tail = &c->next;
	}
	c = xcalloc(1, sizeof(*c));
	c->s = s;
	c->id = xstrdup(d->id);
	c->salt = xstrdup(d->salt);
	c->envelope_from = xstrdup(d->envelope_from);
	c->tpl = d->tpl;
	c->priority = d->priority;
	c->size = d->size;
	c->clean_version = d->clean_version;
	c->check_suppression = d->clean_version < 0;
	c->cur = STORE_CURSOR_START;
	*tail = c;
	s->ncampaigns++;
	monitor_campaign_start(s, c);
}

void scheduler_pause_campaign(struct scheduler *s, const char *id)
{
	for (struct sched_campaign *c = s->campaigns; c; c = c->next)
		if (strcmp(c->id, id) == 0 && !c->paused && !c->finished)
			monitor_stop_campaign(s, c);
}

int scheduler_has_campaign(const struct scheduler *s, const char *id)
{
	for (const struct sched_campaign *c = s->campaigns; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return !c->finished && !c->paused;
	return 0;
}

void scheduler_start(struct scheduler *s)
{
	struct timeval tv = {0, COMMIT_INTERVAL_MS * 1000};
	struct err e;

	/* what receivers will see from each source, for `sluice check` to
	 * compare next time (a HELO that changes looks like a bot) */
	for (size_t i = 0; i < s->p.nsources; i++)
		if (s->p.store.identity_set(s->p.store.ctx, s->p.sources[i]->ip,
		                            s->p.sources[i]->helo, sched_wall_ms(s) / 1000,
		                            &e) != 0) {
			sched_fail(s, &e);
			break;
		}
	s->dirty = 1;
	event_add(s->tick, &tv);
}

void scheduler_stop(struct scheduler *s)
{
	size_t pos = 0;
	const char *key;
	void *v;

	if (s->stopping)
		return;
	s->stopping = 1;
	while (strmap_next(s->sites, &pos, &key, &v)) {
		struct site *site = v;
		struct job *j;
		while ((j = site_pop(site)) != NULL) { /* still queued in the store */
			s->loaded--;
			job_free(j);
		}
		for (struct session *x = site->sessions, *next; x; x = next) {
			next = x->next; /* x may be freed */
			s->p.smtp.stop(x->c, STOP_GRACE_MS);
		}
	}
	s->p.mx.cancel(s->p.mx.ctx); /* jobs waiting for DNS leave memory now */
}

int scheduler_error(const struct scheduler *s, struct err *e)
{
	if (!s->failed)
		return 0;
	*e = s->err;
	return -1;
}

void scheduler_stats(const struct scheduler *s, struct scheduler_stats *out)
{
	*out = s->st;
	out->in_flight = s->loaded;
}

int scheduler_free(struct scheduler *s, struct err *e)
{
	int rc = 0;

	dkim_jobs_free(s);
	if (!s->failed)
		sched_snapshot_sites(s); /* the final state: connections closed */
	if (dlog_flush(s->p.log, e) != 0 || s->p.store.commit(s->p.store.ctx, e) != 0 ||
	    suppress_commit(s->p.suppress, e) != 0)
		rc = -1;
	event_free(s->tick);
	strmap_free(s->sites, site_free);
	while (s->campaigns) {
		struct sched_campaign *c = s->campaigns;
		s->campaigns = c->next;
		free(c->id);
		free(c->salt);
		free(c->envelope_from);
		free(c);
	}
	for (size_t i = 0; i < SOURCES_MAX; i++)
		strmap_free(s->warm_site_sent[i], NULL);
	free(s);
	return rc;
}
