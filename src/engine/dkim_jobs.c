/*
 * dkim_jobs: DKIM signatures off the event loop (in the engine, "sign"
 * means DKIM signing and nothing else). RSA signing costs a fifth of a
 * millisecond (2048 bits) to a few milliseconds (4096): on the loop it caps
 * the whole server's rate and stalls every connection meanwhile. A session
 * that takes a message assembles it on the loop (msg/assemble), hands it
 * to a worker (util/workers) and idles; the signed message comes back on
 * the loop and wakes the session, which sends it. The worker touches only the job's
 * text; everything else stays on the loop.
 */
#include <stddef.h>
#include <stdlib.h>

#include "msg/dkim.h"
#include "engine/scheduler_int.h"
#include "util/workers.h"
#include "util/xmalloc.h"

void dkim_jobs_init(struct scheduler *s)
{
	int n = s->p.cfg->signing_threads;

	if (n < 0)
		n = workers_cpus();
	/* a session waits for its signature idle: with no idle time it would
	 * say QUIT instead, so then sign on the loop */
	if (n > 0 && dkim_signer_keys(s->p.dkim) > 0 && s->p.cfg->idle_timeout_ms > 0)
		s->dkim_workers = workers_new(s->p.base, n); /* NULL: sign on the loop */
}

int dkim_jobs_dropped(struct scheduler *s, struct job *j)
{
	if (!s->stopping && !j->camp->paused)
		return 0;
	s->loaded--;
	job_free(j);
	return 1;
}

static void dkim_jobs_work(void *arg)
{
	struct job *j = arg;

	struct err e;

	if (dkim_sign(j->s->p.dkim, &j->data, j->date_s, &e) != 0)
		j->dkim_error = xstrdup(e.msg);
}

static void dkim_jobs_back(void *arg)
{
	struct job *j = arg;
	struct scheduler *s = j->s;
	struct site *site = j->site;
	struct session *sess = j->sess;
	int64_t t0 = sched_cpu_enter(s);

	j->sess = NULL;
	if (sess)
		sess->dkim_pending = NULL;
	char *why = j->dkim_error;
	j->dkim_error = NULL;
	if (why) /* a key that cannot sign: retried later */
		sched_local_outcome(s, j, STAGE_RENDER, 451, "4.3.0", why);
	else if (dkim_jobs_dropped(s, j))
		(void)0; /* freed: stopping, or its campaign paused meanwhile */
	else if (sess)
		sess->dkim_done = j;
	else
		site_push_front(site, j); /* its session closed meanwhile */
	free(why);
	if (sess)
		s->p.smtp.wake(sess->c); /* takes it, or the next one */
	else if (!s->stopping)
		site_open_sessions(s, site);
	sched_cpu_leave(s, t0);
}

int dkim_jobs_submit(struct scheduler *s, struct session *sess, struct job *j)
{
	if (!s->dkim_workers)
		return 0;
	j->sess = sess;
	sess->dkim_pending = j;
	workers_submit(s->dkim_workers, dkim_jobs_work, dkim_jobs_back, j);
	return 1;
}

void dkim_jobs_session_closed(struct scheduler *s, struct session *sess)
{
	struct job *j = sess->dkim_done;

	if (sess->dkim_pending)
		sess->dkim_pending->sess = NULL; /* dkim_jobs_back gives it to the site */
	sess->dkim_pending = sess->dkim_done = NULL;
	if (j && !dkim_jobs_dropped(s, j))
		site_push_front(j->site, j);
}

void dkim_jobs_free(struct scheduler *s)
{
	workers_free(s->dkim_workers); /* runs what is left of dkim_jobs_back */
	s->dkim_workers = NULL;
}
