/*
 * session: the engine's SMTP sessions (scheduler_int.h), the SMTP client's
 * owner. A site opens sessions while it has more sendable jobs than
 * sessions still starting, within its own and the global connection caps
 * (site_open_sessions); a session asks for work when it is ready
 * (session_next_work: admission and pace asked of site.c, the message
 * assembled by msg/assemble.c and signed, on a worker when there are
 * some), hands each answer to sched_record_outcome, and when it closes
 * gives back what it held (a failure before any transaction is the
 * outcome of every job it was given, and may be a reply rule's match).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlog/dlog.h"
#include "engine/outcome.h"
#include "engine/scheduler_int.h"
#include "msg/assemble.h"
#include "msg/dkim.h"
#include "shape/rules.h"
#include "shape/throttle.h"
#include "smtp/client.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static const struct smtp_client_ops session_ops;

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
	sess->source = site->source;
	sess->pv = site->pv;
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
	j->source = site->source;
	site->in_flight++;
	return &j->msg;
}

/* A submitted message's body, read from the store when it is about to be
 * sent (only then is it in memory); its tenant's settings say whether it
 * gets a VERP return path and List-Unsubscribe. 0, or -1 when its outcome
 * is recorded (the body is gone, or could not be read). */
static int session_raw(struct scheduler *s, struct job *j, struct assemble_in *in, char **body,
                       char **mail_from)
{
	const struct tenant *t = tenant_by_name(s->p.cfg, j->camp->tenant);
	struct err e;
	int rc = s->p.store.message_get(s->p.store.ctx, j->r->message, body, &in->raw_len,
	                                mail_from, &e);

	if (rc < 0) { /* the store failed: tried again later */
		sched_local_outcome(s, j, STAGE_RENDER, 451, "4.3.0", e.msg);
		return -1;
	}
	if (rc == 0) {
		sched_local_outcome(s, j, STAGE_RENDER, 554, "5.6.0",
		                    "the submitted message is no longer in the queue");
		return -1;
	}
	in->raw = *body;
	in->envelope_from = *mail_from;
	in->verp = t ? t->verp : 1;
	in->list_unsubscribe = t ? t->list_unsubscribe : 0;
	return 0;
}

/* Assembles j's message (msg/assemble.h) for its session: 0, or -1 when
 * its outcome is recorded (the template could not be rendered for it). */
static int session_assemble(struct scheduler *s, struct job *j)
{
	const struct queued_rcpt *r = j->r;
	const struct sched_campaign *camp = j->camp;
	char *body = NULL, *mail_from = NULL;
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
	char fid[ASSEMBLE_FEEDBACK_ID_MAX];
	assemble_feedback_id(camp->id, camp->tenant,
	                     r->message           ? "submitted"
	                     : camp->priority > 0 ? "transactional"
	                                          : "bulk",
	                     s->p.cfg->from_domain, fid, sizeof(fid));
	in.feedback_id = fid;
	if (r->message && session_raw(s, j, &in, &body, &mail_from) != 0)
		return -1;
	int rc = assemble_message(&in, &out, &e);

	free(body);
	free(mail_from);
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
		throttle_set_established(&site->thr, site->active - site->starting);
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
	if (site_admit(s, site, now) != SITE_ADMIT_OPEN || sess->source != site->source) {
		/* held, or the site moved to another source (failover.c) */
		s->p.smtp.finish(c); /* the current transaction is over: QUIT */
		return NULL;
	}
	while (!s->stopping && site->queued > 0) {
		if (!site_pace(site, SITE_PACE_MESSAGE, now))
			return NULL; /* idle until then, or QUIT after idle_timeout */
		if (!(j = site_pop_to_send(site)))
			return NULL; /* only work behind a probe: idle until it is answered */
		if (outcome_past_expiry(j->r->expires_at_s, sched_wall_ms(s) / 1000)) {
			sched_expired(s, j); /* it waited at the site past its expiry */
			continue;
		}
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
	if (site->queued == 0 && site_provider_contended(site))
		s->p.smtp.finish(c); /* its provider connection is wanted elsewhere */
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

	sched_record_outcome(sess->s, j, &a);
}

/* A reply rule fired on a connection that carried no message (a "421 too
 * many connections" greeting): one record for the site, no recipient. */
static void log_site_throttled(struct scheduler *s, const struct site *site,
                               const struct source *src, struct smtp_client *c,
                               const struct smtp_result *failure, const struct reply_rule *rule)
{
	const struct smtp_peer *peer = s->p.smtp.peer(c);
	struct dlog_rec rec = {
	    .time_ms = sched_wall_ms(s),
	    .site = site->key,
	    .mx_host = peer ? peer->host : NULL,
	    .mx_ip = peer ? peer->ip : NULL,
	    .source_ip = src->ip,
	    .helo = src->helo,
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
	struct sched_provider *pv = sess->pv;
	int blocked = 0;

	dkim_jobs_session_closed(s, sess);
	if (!sess->asked)
		site->starting--;
	site->active--;
	s->active--;
	throttle_set_established(&site->thr, site->active - site->starting);
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
		const struct smtp_peer *peer = s->p.smtp.peer(c);
		const struct reply_rule *rule = rules_match(
		    s->rules, failure->stage, &failure->reply, peer ? peer->host : NULL);
		if (rule && !failure->local && rule->action == RULE_BLOCK_SOURCE) {
			if (failover_rule_fires(s, site, NULL, rule, failure->reply.text)) {
				failover_block(s, site, sess->source, rule, &failure->reply,
				               peer ? peer->host : NULL);
				blocked = 1; /* what waits goes from another source, or waits */
			}
		} else if (rule && !failure->local &&
		           failover_rule_fires(s, site, NULL, rule, failure->reply.text)) {
			/* refused while others were accepted: the connection cap */
			if (sess->asked || !throttle_refused_connection(
			                       &site->thr, failure->reply.text, sched_mono_ms(s))) {
				throttle_apply(&site->thr, rule, failure->reply.text,
				               sched_mono_ms(s));
				site_provider_throttled(s, site, rule, sched_mono_ms(s));
			}
			log_site_throttled(s, site, sess->source, c, failure, rule);
		} else if (!sess->asked && failure->stage == STAGE_BANNER &&
		           throttle_refused_connection(&site->thr, failure->reply.text,
		                                       sched_mono_ms(s))) {
			/* lost at the greeting while others were accepted: the same */
		} else
			throttle_connection_failed(&site->thr, failure->reply.text,
			                           sched_mono_ms(s));
	}
	if (failure && site->active == 0 && !blocked) {
		struct job *j;
		struct attempt a = {
		    .stage = failure->stage,
		    .reply = &failure->reply,
		    .peer = s->p.smtp.peer(c),
		};
		while ((j = site_pop(site)) != NULL)
			sched_record_outcome(s, j, &a);
	}
	free(sess);
	/* the provider's freed connection goes to its longest-waiting site
	 * first, then this one asks again (round-robin across its sites) */
	site_connection_closed(s, site, pv);
	if (!failure || blocked)
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
