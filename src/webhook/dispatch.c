/*
 * dispatch: the webhook thread (webhook.h). One loop over the endpoints:
 * an endpoint due for a try (and with no POST under way) reads the events
 * after its cursor, keeps those it wants (tenant, types) up to max_batch,
 * and starts POSTing them in a libcurl multi handle, where every
 * endpoint's POST runs at once: a slow or silent endpoint delays none of
 * the others (only itself, up to its timeout). A 2xx moves
 * its cursor past every event read (wanted or not), a failure schedules
 * the next try by webhook_backoff_ms. Events pending longer than
 * WEBHOOK_OLD_S are warned about hourly; longer than WEBHOOK_GIVE_UP_S
 * (the endpoint failing for three days) they are skipped with a logged
 * count, so that the table can be pruned: events every cursor has passed,
 * older than WEBHOOK_KEEP_S, are deleted hourly. Cursors and backlogs are
 * written and counted at most every WEBHOOK_SAVE_MS. The counters /metrics
 * shows are behind a mutex; everything else belongs to the thread.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "webhook/webhook.h"

#define SCAN_ROWS_MIN 1000 /* events read per look, wanted or not */

struct endpoint {
	const struct webhook_conf *c;
	char label[WEBHOOK_LABEL_MAX];
	int64_t cursor, saved; /* the last event passed; the value in the store */
	int failures;          /* in a row */
	int64_t next_try_ms;   /* monotonic */
	int64_t warned_old_ms;
	/* its POST under way, if any (in the multi handle) */
	CURL *curl;
	struct curl_slist *hs;
	char *body;
	int in_flight;
	int64_t batch_last;       /* the last event read that the batch covers */
	int64_t batch_first_time; /* the time of its first event */
	size_t batch_count;
	/* for /metrics (under the mutex) */
	int64_t backlog, failures_total, delivered_total;
};

struct webhook {
	const struct config *cfg;
	struct store *st; /* the thread's own connection */
	struct endpoint *eps;
	size_t neps;
	CURLM *multi; /* every endpoint's POST at once: a slow one delays no other */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_int stop;
	atomic_int finished; /* run() has returned (webhook_finished) */
	char *state_dir;
	int64_t next_save_ms, next_prune_ms;
	int64_t pruned; /* by the batches of this pruning so far */
};

/* ---- one POST ---- */

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p, (void)arg;
	return size * n;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct webhook *w = arg;
	(void)a, (void)b, (void)c, (void)d;
	return atomic_load(&w->stop) ? 1 : 0; /* nonzero: abandon the transfer */
}

/* Starts POSTing ep->body (taken) in the multi handle; the answer comes
 * to post_done. */
static void post_start(struct webhook *w, struct endpoint *ep)
{
	char sig[WEBHOOK_SIG_MAX], h_ts[64], h_sig[96];
	int64_t ts = clock_wall_ms() / 1000;
	size_t len = strlen(ep->body);

	webhook_sign(ep->c->secret, ts, ep->body, len, sig);
	snprintf(h_ts, sizeof(h_ts), "X-Sluice-Timestamp: %lld", (long long)ts);
	snprintf(h_sig, sizeof(h_sig), "X-Sluice-Signature: %s", sig);
	struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: application/json");
	hs = curl_slist_append(hs, h_ts);
	hs = curl_slist_append(hs, h_sig);
	hs = curl_slist_append(hs, "Expect:"); /* no 100-continue round trip */
	ep->hs = hs;
	CURL *c = ep->curl;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, ep->c->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, ep->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)ep->c->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sluice-webhook/1");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_PRIVATE, ep);
	ep->in_flight = 1;
	curl_multi_add_handle(w->multi, c);
}

/* The POST ended: frees what it held. */
static void post_end(struct webhook *w, struct endpoint *ep)
{
	curl_multi_remove_handle(w->multi, ep->curl);
	curl_slist_free_all(ep->hs);
	ep->hs = NULL;
	free(ep->body);
	ep->body = NULL;
	ep->in_flight = 0;
}

/* ---- an endpoint's turn ---- */

struct scan {
	const struct endpoint *ep;
	struct webhook_batch *b;
	int64_t last;       /* the last event read that the batch covers */
	int64_t first_time; /* the time of the first wanted event */
	int full;
};

static void scan_row(void *arg, const struct store_event_row *r)
{
	struct scan *sc = arg;

	if (sc->full)
		return;
	sc->last = r->id;
	if (!webhook_conf_wants(sc->ep->c, r->tenant, r->type))
		return;
	if (webhook_batch_count(sc->b) == 0)
		sc->first_time = r->time_s;
	if (webhook_batch_add(sc->b, r) >= (size_t)sc->ep->c->max_batch)
		sc->full = 1;
}

/* Pending past WEBHOOK_GIVE_UP_S while failing: the cursor skips to the
 * first event younger than that, with a count in the log. */
static void skip_old(struct webhook *w, struct endpoint *ep, int64_t first_time)
{
	int64_t now_s = clock_wall_ms() / 1000, to, before = 0, after = 0;
	struct err e;

	if (first_time == 0 || now_s - first_time < WEBHOOK_GIVE_UP_S)
		return;
	if (store_events_pending(w->st, ep->cursor, ep->c->tenant, &before, NULL, &e) != 0 ||
	    store_event_skip_to(w->st, ep->cursor, now_s - WEBHOOK_GIVE_UP_S, &to, &e) != 0 ||
	    store_events_pending(w->st, to, ep->c->tenant, &after, NULL, &e) != 0) {
		log_warn("webhook %s: %s", ep->label, e.msg);
		return;
	}
	ep->cursor = to;
	log_warn("webhook %s: failing for more than %d hours: %lld events older than that "
	         "skipped, never delivered",
	         ep->label, WEBHOOK_GIVE_UP_S / 3600, (long long)(before - after));
}

static void failed(struct webhook *w, struct endpoint *ep, long status, const char *why,
                   int64_t first_time)
{
	int64_t now = clock_mono_ms(), wait;

	ep->failures++;
	wait = webhook_backoff_ms(ep->failures);
	ep->next_try_ms = now + wait;
	pthread_mutex_lock(&w->mu);
	ep->failures_total++;
	pthread_mutex_unlock(&w->mu);
	/* the first failure, then each doubling of the wait: a few lines a day */
	if (wait < WEBHOOK_BACKOFF_MAX_MS || ep->failures % 16 == 0) {
		if (status)
			log_warn("webhook %s: HTTP %ld (try %d; next in %llds)", ep->label, status,
			         ep->failures, (long long)(wait / 1000));
		else
			log_warn("webhook %s: %s (try %d; next in %llds)", ep->label, why,
			         ep->failures, (long long)(wait / 1000));
	}
	int64_t now_s = clock_wall_ms() / 1000;
	if (first_time && now_s - first_time >= WEBHOOK_OLD_S &&
	    (ep->warned_old_ms == 0 || now - ep->warned_old_ms >= 3600 * 1000)) {
		ep->warned_old_ms = now;
		log_warn("webhook %s: events waiting for more than %d hours (retried until %d "
		         "hours, then skipped)",
		         ep->label, WEBHOOK_OLD_S / 3600, WEBHOOK_GIVE_UP_S / 3600);
	}
	skip_old(w, ep, first_time);
}

/* One look at ep (not in flight): reads the events after its cursor and
 * starts POSTing those it wants. 1 if it did something (more may be
 * waiting), 0 idle. */
static int endpoint_step(struct webhook *w, struct endpoint *ep)
{
	int scan_max = ep->c->max_batch * 4 > SCAN_ROWS_MIN ? ep->c->max_batch * 4 : SCAN_ROWS_MIN;
	struct scan sc = {ep, webhook_batch_new(), ep->cursor, 0, 0};
	int64_t n;
	struct err e;

	if (store_events_after(w->st, ep->cursor, scan_max, scan_row, &sc, &n, &e) != 0) {
		log_warn("webhook %s: %s", ep->label, e.msg);
		webhook_batch_free(sc.b);
		ep->next_try_ms = clock_mono_ms() + WEBHOOK_BACKOFF_MIN_MS;
		return 0;
	}
	size_t count = webhook_batch_count(sc.b);
	if (count == 0) {
		ep->cursor = sc.last; /* nothing wanted in what was read */
		webhook_batch_free(sc.b);
		return n > 0;
	}
	char *body = webhook_batch_body(sc.b);
	webhook_batch_free(sc.b);
	ep->body = body ? body : xstrdup("{\"events\":[]}");
	ep->batch_last = sc.last;
	ep->batch_first_time = sc.first_time;
	ep->batch_count = count;
	post_start(w, ep);
	return 1;
}

/* ep's POST ended with rc (and the HTTP status when rc is CURLE_OK). */
static void endpoint_done(struct webhook *w, struct endpoint *ep, CURLcode rc)
{
	long status = 0;
	char why[CURL_ERROR_SIZE] = "";

	if (rc == CURLE_OK)
		curl_easy_getinfo(ep->curl, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(rc));
	post_end(w, ep);
	if (atomic_load(&w->stop))
		return;
	if (status >= 200 && status < 300) {
		ep->cursor = ep->batch_last;
		ep->failures = 0;
		pthread_mutex_lock(&w->mu);
		ep->delivered_total += (int64_t)ep->batch_count;
		pthread_mutex_unlock(&w->mu);
		ep->next_try_ms = 0; /* more may wait: look again at once */
		return;
	}
	failed(w, ep, status, why, ep->batch_first_time);
}

/* Drives the POSTs under way; the ended ones go to endpoint_done. 1 if one ended. */
static int drive(struct webhook *w)
{
	struct CURLMsg *m;
	int running, left, ended = 0;

	curl_multi_perform(w->multi, &running);
	while ((m = curl_multi_info_read(w->multi, &left))) {
		struct endpoint *ep = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&ep);
		if (ep) {
			endpoint_done(w, ep, m->data.result);
			ended = 1;
		}
	}
	return ended;
}

/* ---- bookkeeping ---- */

static void save_cursors(struct webhook *w)
{
	struct err e;
	int changed = 0;

	for (size_t i = 0; i < w->neps; i++) {
		struct endpoint *ep = &w->eps[i];
		if (ep->cursor == ep->saved)
			continue;
		if (store_webhook_cursor_set(w->st, ep->c->url, ep->cursor, &e) != 0) {
			log_warn("webhook %s: %s", ep->label, e.msg);
			return;
		}
		changed = 1;
	}
	if (changed && store_commit(w->st, &e) != 0) {
		log_warn("webhooks: %s", e.msg);
		return;
	}
	for (size_t i = 0; i < w->neps; i++)
		w->eps[i].saved = w->eps[i].cursor;
}

static void count_backlogs(struct webhook *w)
{
	struct err e;

	for (size_t i = 0; i < w->neps; i++) {
		struct endpoint *ep = &w->eps[i];
		int64_t n;
		if (store_events_pending(w->st, ep->cursor, ep->c->tenant, &n, NULL, &e) != 0)
			continue;
		pthread_mutex_lock(&w->mu);
		ep->backlog = n;
		pthread_mutex_unlock(&w->mu);
	}
}

/* One batch of WEBHOOK_PRUNE_BATCH old events deleted and committed (a
 * short write transaction: the engine's group commits do not wait behind
 * one big DELETE): 1 if more may be left (prune again soon), else 0. */
static int prune(struct webhook *w)
{
	int64_t upto = INT64_MAX, n;
	struct err e;

	for (size_t i = 0; i < w->neps; i++)
		if (w->eps[i].saved < upto)
			upto = w->eps[i].saved;
	if (store_events_prune(w->st, clock_wall_ms() / 1000 - WEBHOOK_KEEP_S, upto,
	                       WEBHOOK_PRUNE_BATCH, &n, &e) != 0 ||
	    store_commit(w->st, &e) != 0) {
		log_warn("webhooks: %s", e.msg);
		w->pruned = 0;
		return 0;
	}
	w->pruned += n;
	if (n >= WEBHOOK_PRUNE_BATCH)
		return 1;
	if (w->pruned > 0)
		log_info("webhooks: %lld delivered events older than %d days pruned",
		         (long long)w->pruned, WEBHOOK_KEEP_S / 86400);
	w->pruned = 0;
	return 0;
}

static void wait_a_while(struct webhook *w, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->mu);
	if (!atomic_load(&w->stop))
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	pthread_mutex_unlock(&w->mu);
}

static int load_cursors(struct webhook *w, struct err *e);

static void *run(void *arg)
{
	struct webhook *w = arg;
	struct err e;

	/* here, not in webhook_start: the engine may hold a write transaction
	 * that only the event loop webhook_start runs on would commit */
	if (store_open(w->state_dir, &w->st, &e) != 0 || load_cursors(w, &e) != 0) {
		log_error("webhooks: %s (events are kept; they go out after a restart)", e.msg);
		atomic_store(&w->finished, 1);
		return NULL;
	}
	while (!atomic_load(&w->stop)) {
		int64_t now = clock_mono_ms(), next = now + WEBHOOK_IDLE_MS;
		int worked = 0, in_flight = 0;
		for (size_t i = 0; i < w->neps && !atomic_load(&w->stop); i++) {
			struct endpoint *ep = &w->eps[i];
			if (!ep->in_flight && now >= ep->next_try_ms)
				worked |= endpoint_step(w, ep);
			if (!ep->in_flight && ep->next_try_ms > now && ep->next_try_ms < next)
				next = ep->next_try_ms;
		}
		worked |= drive(w);
		for (size_t i = 0; i < w->neps; i++)
			in_flight |= w->eps[i].in_flight;
		now = clock_mono_ms();
		if (now >= w->next_save_ms) {
			save_cursors(w);
			count_backlogs(w);
			w->next_save_ms = now + WEBHOOK_SAVE_MS;
		}
		if (now >= w->next_prune_ms)
			w->next_prune_ms =
			    now + (prune(w) ? WEBHOOK_PRUNE_PAUSE_MS : WEBHOOK_PRUNE_MS);
		if (worked || next <= now)
			continue;
		if (in_flight) /* until a socket is ready, the next try is due, or a stop */
			curl_multi_poll(w->multi, NULL, 0, (int)(next - now), NULL);
		else
			wait_a_while(w, next - now);
	}
	/* a POST under way is abandoned: what it carried goes again next time */
	for (size_t i = 0; i < w->neps; i++)
		if (w->eps[i].in_flight)
			post_end(w, &w->eps[i]);
	save_cursors(w);
	atomic_store(&w->finished, 1);
	return NULL;
}

/* ---- setup ---- */

/* Each endpoint's cursor; one seen for the first time starts at the newest
 * event, saved at once (a crash before the first save must not move it). */
static int load_cursors(struct webhook *w, struct err *e)
{
	int64_t last;

	if (store_event_last_id(w->st, &last, e) != 0)
		return -1;
	for (size_t i = 0; i < w->neps; i++) {
		struct endpoint *ep = &w->eps[i];
		int r = store_webhook_cursor(w->st, ep->c->url, &ep->cursor, e);
		if (r < 0)
			return -1;
		if (r == 0) {
			ep->cursor = last;
			if (store_webhook_cursor_set(w->st, ep->c->url, last, e) != 0)
				return -1;
		}
		ep->saved = ep->cursor;
	}
	return store_commit(w->st, e);
}

static void webhook_free(struct webhook *w)
{
	for (size_t i = 0; i < w->neps; i++)
		if (w->eps[i].curl)
			curl_easy_cleanup(w->eps[i].curl);
	if (w->multi)
		curl_multi_cleanup(w->multi);
	store_close(w->st);
	free(w->state_dir);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->eps);
	free(w);
}

int webhook_start(const struct config *cfg, const char *state_dir, struct webhook **out,
                  struct err *e)
{
	*out = NULL;
	if (cfg->nwebhooks == 0)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(e, "webhooks: libcurl cannot start");
	struct webhook *w = xcalloc(1, sizeof(*w));
	w->cfg = cfg;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->neps = cfg->nwebhooks;
	w->eps = xcalloc(w->neps, sizeof(*w->eps));
	for (size_t i = 0; i < w->neps; i++) {
		w->eps[i].c = &cfg->webhooks[i];
		webhook_endpoint_label(cfg->webhooks[i].url, w->eps[i].label, WEBHOOK_LABEL_MAX);
	}
	int curl_ok = (w->multi = curl_multi_init()) != NULL;
	for (size_t i = 0; i < w->neps && curl_ok; i++)
		curl_ok = (w->eps[i].curl = curl_easy_init()) != NULL;
	if (!curl_ok) {
		webhook_free(w);
		return err_set(e, "webhooks: libcurl cannot start");
	}
	w->state_dir = xstrdup(state_dir);
	if (pthread_create(&w->thread, NULL, run, w) != 0) {
		err_set(e, "webhooks: cannot start the thread");
		webhook_free(w);
		return -1;
	}
	*out = w;
	return 0;
}

void webhook_request_stop(struct webhook *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->stop, 1);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	curl_multi_wakeup(w->multi); /* out of a curl_multi_poll */
}

int webhook_finished(struct webhook *w)
{
	return w ? atomic_load(&w->finished) : 1;
}

void webhook_stop(struct webhook *w)
{
	if (!w)
		return;
	webhook_request_stop(w);
	pthread_join(w->thread, NULL);
	webhook_free(w);
}

void webhook_metrics(struct webhook *w, struct strbuf *out)
{
	if (!w)
		return;
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} m[] = {
	    {"sluice_webhook_backlog", "gauge",
	     "Events not yet delivered to the endpoint (counted about once a second).",
	     offsetof(struct endpoint, backlog)},
	    {"sluice_webhook_failures_total", "counter",
	     "Failed POSTs to the endpoint (an answer other than 2xx, or none).",
	     offsetof(struct endpoint, failures_total)},
	    {"sluice_webhook_delivered_total", "counter",
	     "Events the endpoint acknowledged with a 2xx.",
	     offsetof(struct endpoint, delivered_total)},
	};
	pthread_mutex_lock(&w->mu);
	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		strbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help, m[k].name,
		            m[k].type);
		for (size_t i = 0; i < w->neps; i++)
			strbuf_addf(
			    out, "%s{endpoint=\"%s\"} %lld\n", m[k].name, w->eps[i].label,
			    (long long)*(const int64_t *)((const char *)&w->eps[i] + m[k].off));
	}
	pthread_mutex_unlock(&w->mu);
}
