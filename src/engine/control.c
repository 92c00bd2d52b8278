/*
 * control: the operator's controls as the scheduler sees them
 * (scheduler_int.h). Every CONTROL_POLL_MS the tick reads, through the
 * store port, the site pauses in force and whether a campaign it delivers
 * was cancelled (`sluice site pause`, `sluice campaign cancel` write them
 * to the store, from any process). A paused site is held by site_admit
 * (site.c) like a suspension: its queue parked in the store, idle sessions
 * told to QUIT, no new transaction. When its pause ends (resumed, or its
 * --for ran out) the recipients of its domains the pause parked become due
 * at once.
 *
 * A cancel is performed here when `sluice campaign cancel` (or the API)
 * asks it of the running process: the campaign's jobs leave memory,
 * messages in flight finish and are recorded as what they were, and once
 * none of its recipients is in memory its queued ones end as cancelled,
 * each logged; so no recipient is both cancelled and delivered. A cancel
 * performed by the CLI itself (nothing was delivering) only empties memory.
 *
 * One-shot requests (store: control_request), each performed once and
 * marked done with what it did:
 * - retry (`sluice site retry`): the matching sites' reply-rule or
 *   connection suspension ends now (what shape/learn learned stays), the
 *   queued recipients of their domains due later become due now (never
 *   before their send time), and the sites open connections.
 * - purge (`sluice purge`): the domain's jobs waiting in memory are
 *   dropped and none is loaded meanwhile; once none of the domain's
 *   messages is in flight or being signed, its queued recipients end as
 *   bounced (stage purge, category purged), each logged, no suppression.
 *   So no recipient is both sent and purged.
 * - move (`sluice campaign move`; the store's campaign row is changed by
 *   the caller): the campaign is held and its waiting jobs go back to the
 *   store; once none is in memory (in flight ones finish) its sources are
 *   those of the new pool and it is fetched again from the start. A move
 *   with --for leaves a move_back row: when it is due, the poll here puts
 *   the old pool back in the row and asks a move like any other.
 */
#include <stdlib.h>
#include <string.h>

#include "dlog/dlog.h"
#include "engine/scheduler_int.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define CANCEL_REQUESTS_MAX 64 /* performed per poll; more wait for the next */

struct cancel_req {
	char *campaign, *reason;
};

struct cancel_reqs {
	struct cancel_req r[CANCEL_REQUESTS_MAX];
	size_t n;
};

static void collect_request(void *arg, const char *campaign, const char *reason)
{
	struct cancel_reqs *q = arg;
	if (q->n < CANCEL_REQUESTS_MAX)
		q->r[q->n++] = (struct cancel_req){xstrdup(campaign), xstrdup(reason)};
}

struct cancel_log {
	struct scheduler *s;
	const struct cancel_req *req;
	const char *tenant;
	int64_t now_ms;
};

static void log_cancelled(void *arg, const char *mailbox, const char *domain, int attempts,
                          int64_t queued_at_s)
{
	struct cancel_log *cl = arg;
	struct dlog_rec rec = {
	    .time_ms = cl->now_ms,
	    .campaign = cl->req->campaign,
	    .tenant = cl->tenant,
	    .recipient = mailbox,
	    .domain = domain,
	    .stage = "cancel",
	    .text = cl->req->reason,
	    .outcome = "cancelled",
	    .category = "cancelled",
	    .attempt = attempts,
	    .queue_time_s = cl->now_ms / 1000 - queued_at_s,
	};
	dlog_add(cl->s->p.log, &rec);
}

/* Ends the campaign's queued recipients as cancelled, logged, and marks
 * the request done (in the next group commit). */
static void perform_cancel(struct scheduler *s, const struct cancel_req *req, const char *tenant)
{
	struct cancel_log cl = {s, req, tenant, sched_wall_ms(s)};
	int64_t n = 0;
	struct err e;

	if (s->p.store.cancel_queued(s->p.store.ctx, req->campaign, req->reason, log_cancelled, &cl,
	                             &n, &e) != 0 ||
	    s->p.store.cancel_done(s->p.store.ctx, req->campaign, &e) != 0) {
		sched_fail(s, &e);
		return;
	}
	s->dirty = 1;
	log_info("campaign %s cancelled: %lld queued recipients ended (%s)", req->campaign,
	         (long long)n, req->reason);
}

/* The cancels asked of this process: performed once nothing of the
 * campaign is in memory (at once for one it does not deliver). */
static void cancels_look(struct scheduler *s)
{
	struct cancel_reqs q = {.n = 0};
	struct err e;

	if (!s->p.store.cancel_requests)
		return;
	if (s->p.store.cancel_requests(s->p.store.ctx, collect_request, &q, &e) != 0)
		sched_fail(s, &e);
	for (size_t i = 0; i < q.n && !s->failed; i++) {
		struct sched_campaign *c = s->campaigns;
		while (c && strcmp(c->id, q.r[i].campaign) != 0)
			c = c->next;
		if (c && !c->cancelled) {
			c->cancelled = 1;
			monitor_stop_campaign(s, c); /* what waits leaves memory */
		}
		if (!c || c->loaded == 0)
			perform_cancel(s, &q.r[i], c ? c->tenant : NULL);
	}
	for (size_t i = 0; i < q.n; i++) {
		free(q.r[i].campaign);
		free(q.r[i].reason);
	}
}

static void pauses_free(struct scheduler *s)
{
	for (size_t i = 0; i < s->npauses; i++) {
		free(s->pauses[i].scope);
		free(s->pauses[i].target);
		free(s->pauses[i].reason);
	}
	free(s->pauses);
	s->pauses = NULL;
	s->npauses = 0;
}

void sched_controls_free(struct scheduler *s)
{
	for (size_t i = 0; i < s->npurges; i++) {
		free(s->purges[i].domain);
		free(s->purges[i].campaign);
		free(s->purges[i].reason);
	}
	free(s->purges);
	s->purges = NULL;
	s->npurges = 0;
	pauses_free(s);
}

static void pause_row(void *arg, const struct site_pause *p)
{
	struct scheduler *s = arg;

	s->pauses = xrealloc(s->pauses, (s->npauses + 1) * sizeof(*s->pauses));
	s->pauses[s->npauses++] = (struct sched_pause){
	    .scope = xstrdup(p->scope),
	    .target = xstrdup(p->target),
	    .reason = xstrdup(p->reason),
	    .until_s = p->until_s,
	};
}

/* The pauses in force now, from the store; 0 or -1 (the engine failed). */
static int read_pauses(struct scheduler *s, int64_t now_s)
{
	struct err e;

	pauses_free(s);
	s->pauses_read = 1;
	if (!s->p.store.site_pauses)
		return 0;
	if (s->p.store.site_pauses(s->p.store.ctx, now_s, pause_row, s, &e) != 0) {
		sched_fail(s, &e);
		return -1;
	}
	return 0;
}

int sched_tenant_paused(struct scheduler *s, const char *tenant)
{
	const struct tenant *t = tenant_by_name(s->p.cfg, tenant);
	int64_t now_s = sched_wall_ms(s) / 1000;

	if (t && t->paused)
		return 1;
	if (!s->pauses_read && read_pauses(s, now_s) != 0)
		return 0;
	for (size_t i = 0; i < s->npauses; i++) {
		const struct sched_pause *p = &s->pauses[i];
		if (strcmp(p->scope, "tenant") == 0 && strcmp(p->target, tenant) == 0 &&
		    (p->until_s == 0 || now_s < p->until_s))
			return 1;
	}
	return 0;
}

/* Whether campaign id has a pause of its own for a while (`sluice campaign
 * pause --for`: scope "campaign") in force. */
int sched_campaign_held(struct scheduler *s, const char *id)
{
	int64_t now_s = sched_wall_ms(s) / 1000;

	if (!s->pauses_read && read_pauses(s, now_s) != 0)
		return 0;
	for (size_t i = 0; i < s->npauses; i++) {
		const struct sched_pause *p = &s->pauses[i];
		if (strcmp(p->scope, "campaign") == 0 && strcmp(p->target, id) == 0 &&
		    (p->until_s == 0 || now_s < p->until_s))
			return 1;
	}
	return 0;
}

/* A tenant paused since the last look has its campaigns held (what waits
 * in memory goes back to the store, messages in flight finish); one
 * resumed (or past its --for) has them fetched again at once, unless a
 * campaign is paused on its own (`sluice campaign pause`, the monitor). */
static void tenants_look(struct scheduler *s)
{
	char reason[256];
	struct err e;

	for (struct sched_campaign *c = s->campaigns; c; c = c->next) {
		if (c->finished || c->cancelled || c->moving)
			continue;
		int by_tenant = sched_tenant_paused(s, c->tenant);
		int held = by_tenant || sched_campaign_held(s, c->id);
		if (held && !c->tenant_held) {
			if (!c->paused)
				monitor_stop_campaign(s, c);
			c->tenant_held = 1;
			if (by_tenant)
				log_info("campaign %s held: its tenant %s is paused", c->id,
				         c->tenant);
			else
				log_info("campaign %s held: paused for a while", c->id);
		} else if (!held && c->tenant_held) {
			c->tenant_held = 0;
			int own =
			    s->p.store.campaign_paused
			        ? s->p.store.campaign_paused(s->p.store.ctx, c->id, reason, &e)
			        : 0;
			if (own < 0) {
				sched_fail(s, &e);
				return;
			}
			if (own)
				continue; /* stays paused until `sluice campaign resume` */
			c->paused = 0;
			c->cur = STORE_CURSOR_START;
			c->next_fetch_ms = 0;
			log_info("campaign %s goes on: no longer paused (its own pause or its "
			         "tenant's)",
			         c->id);
		}
	}
}

/* Whether a control of scope and target (a pause, a retry) names the site. */
static int scope_matches(const char *scope, const char *target, const struct site *site)
{
	if (strcmp(scope, "site") == 0) { /* "MXSET" names it in every pool, "MXSET@POOL" in one */
		size_t n = strlen(target);
		return strncmp(target, site->key, n) == 0 &&
		       (site->key[n] == '\0' || (site->key[n] == '@' && !strchr(target, '@')));
	}
	if (strcmp(scope, "provider") == 0)
		return site->provider && strcmp(target, site->provider->name) == 0;
	if (strcmp(scope, "source") == 0)
		return strcmp(target, site->source->ip) == 0;
	return 0;
}

static int pause_matches(const struct sched_pause *p, const struct site *site)
{
	return scope_matches(p->scope, p->target, site);
}

const struct sched_pause *sched_site_pause(const struct scheduler *s, const struct site *site,
                                           int64_t now_s)
{
	for (size_t i = 0; i < s->npauses; i++) {
		const struct sched_pause *p = &s->pauses[i];
		if ((p->until_s == 0 || now_s < p->until_s) && pause_matches(p, site))
			return p;
	}
	return NULL;
}

/* The site's pause ended: what it parked is due now (at the next second,
 * which is past every fetch cursor), and the campaigns look again. */
static void site_unpaused(struct scheduler *s, struct site *site, int64_t now_s)
{
	size_t pos = 0;
	const char *domain;
	void *v;
	struct err e;

	while (strmap_next(site->domains, &pos, &domain, &v))
		if (s->p.store.rcpt_due_domain(s->p.store.ctx, domain, now_s + 1,
		                               site->paused_until_s, &e) != 0) {
			sched_fail(s, &e);
			return;
		}
	for (struct sched_campaign *c = s->campaigns; c; c = c->next)
		if (!c->finished && !c->paused)
			c->next_fetch_ms = (now_s + 1) * 1000;
	s->dirty = 1;
}

static void sites_look(struct scheduler *s, int64_t now_ms)
{
	int64_t now_s = now_ms / 1000;
	size_t pos = 0;
	const char *key;
	void *v;

	while (strmap_next(s->sites, &pos, &key, &v)) {
		struct site *site = v;
		const struct sched_pause *p = sched_site_pause(s, site, now_s);
		if (p) {
			site->was_paused = 1;
			/* parks until the latest end a parked row may carry */
			int64_t until = p->until_s ? p->until_s : now_s + PAUSE_PARK_S;
			if (until > site->paused_until_s)
				site->paused_until_s = until;
			site_admit(s, site, sched_mono_ms(s)); /* parks, idle sessions QUIT */
		} else if (site->was_paused) {
			site->was_paused = 0;
			site_unpaused(s, site, now_s);
			site->paused_until_s = 0;
			sched_event_site(s, site, "site_restored", "its pause ended", 0);
			site_open_sessions(s, site);
		}
		/* a reply rule's suspension that ended (its time, or a retry) */
		if (throttle_suspended(&site->thr, sched_mono_ms(s))) {
			site->was_suspended = 1;
		} else if (site->was_suspended) {
			site->was_suspended = 0;
			sched_event_site(s, site, "site_restored", "its suspension ended", 0);
			s->dirty = 1;
		}
	}
}

static void campaigns_look(struct scheduler *s)
{
	char reason[256];
	struct err e;

	for (struct sched_campaign *c = s->campaigns; c; c = c->next) {
		if (c->cancelled || c->finished)
			continue;
		int r = s->p.store.campaign_cancelled(s->p.store.ctx, c->id, reason, &e);
		if (r < 0) {
			sched_fail(s, &e);
			return;
		}
		if (r == 1) {
			c->cancelled = 1;
			monitor_stop_campaign(s, c); /* its jobs leave memory */
			continue;
		}
		/* paused by another process (`sluice campaign pause`, the API) */
		if (c->paused || !s->p.store.campaign_paused)
			continue;
		r = s->p.store.campaign_paused(s->p.store.ctx, c->id, reason, &e);
		if (r < 0) {
			sched_fail(s, &e);
			return;
		}
		if (r == 1) {
			monitor_stop_campaign(s, c);
			log_info("campaign %s held: paused (%s)", c->id, reason);
		}
	}
}

/* ---- one-shot requests: retry, purge, move ---- */

struct ctl_req {
	int64_t id;
	char *kind, *scope, *target, *campaign, *reason;
};

struct ctl_reqs {
	struct ctl_req r[CANCEL_REQUESTS_MAX];
	size_t n;
};

static void collect_control(void *arg, const struct control_request *r)
{
	struct ctl_reqs *q = arg;
	if (q->n < CANCEL_REQUESTS_MAX && !r->done)
		q->r[q->n++] = (struct ctl_req){r->id,
		                                xstrdup(r->kind),
		                                xstrdup(r->scope),
		                                xstrdup(r->target),
		                                r->campaign ? xstrdup(r->campaign) : NULL,
		                                xstrdup(r->reason)};
}

static void request_done(struct scheduler *s, const struct ctl_req *q, const char *result)
{
	struct err e;

	if (s->p.store.control_done(s->p.store.ctx, q->id, result, &e) != 0)
		sched_fail(s, &e);
	s->dirty = 1;
}

/* The recipients of the site's domains (and of target, when the operator
 * named a domain) due later become due now; the suspension ends. */
static void perform_retry(struct scheduler *s, const struct ctl_req *q)
{
	int64_t now_s = sched_wall_ms(s) / 1000;
	size_t pos = 0, nsites = 0;
	const char *key;
	void *v;
	struct err e;
	char result[160];

	while (strmap_next(s->sites, &pos, &key, &v)) {
		struct site *site = v;
		size_t dpos = 0;
		const char *domain;
		void *dv;
		if (!scope_matches(q->scope, q->target, site))
			continue;
		nsites++;
		/* the suspension ends; what the site taught (its learned rate,
		 * connections and level) stays */
		site->thr.suspended_until_ms = 0;
		site->thr.lr.suspended_until_ms = 0;
		while (strmap_next(site->domains, &dpos, &domain, &dv))
			if (s->p.store.rcpt_due_domain(s->p.store.ctx, domain, now_s + 1, INT64_MAX,
			                               &e) != 0) {
				sched_fail(s, &e);
				return;
			}
		site_open_sessions(s, site);
	}
	if (strcmp(q->scope, "site") == 0 &&
	    s->p.store.rcpt_due_domain(s->p.store.ctx, q->target, now_s + 1, INT64_MAX, &e) != 0) {
		sched_fail(s, &e);
		return;
	}
	for (struct sched_campaign *c = s->campaigns; c; c = c->next)
		if (!c->finished && !c->paused)
			c->next_fetch_ms = (now_s + 1) * 1000;
	snprintf(result, sizeof(result), "%zu sites retried now", nsites);
	request_done(s, q, result);
	log_info("site retry %s %s: %s (%s)", q->scope, q->target, result, q->reason);
}

static int purge_matches(const struct sched_purge *p, const struct job *j)
{
	return strcmp(j->r->domain, p->domain) == 0 &&
	       (!p->campaign || strcmp(j->camp->id, p->campaign) == 0);
}

static int purge_match_job(const struct job *j, void *arg)
{
	return purge_matches(arg, j);
}

int sched_purging(const struct scheduler *s, const struct job *j)
{
	for (size_t i = 0; i < s->npurges; i++)
		if (purge_matches(&s->purges[i], j))
			return 1;
	return 0;
}

/* Drops the purge's jobs waiting at sites; 1 when none of its domain's
 * messages is in flight, being signed or being looked up any more. */
static int purge_ready(struct scheduler *s, const struct sched_purge *p)
{
	size_t pos = 0;
	const char *key;
	void *v;
	int ready = s->pending_dns == 0;

	while (strmap_next(s->sites, &pos, &key, &v)) {
		struct site *site = v;
		if (!strmap_get(site->domains, p->domain))
			continue;
		s->loaded -= (int64_t)site_drop_matching(site, purge_match_job, (void *)p);
		if (site->in_flight > 0)
			ready = 0;
		for (struct session *ss = site->sessions; ss; ss = ss->next)
			if (ss->dkim_pending || ss->dkim_done)
				ready = 0;
	}
	return ready;
}

struct purge_log {
	struct scheduler *s;
	const struct sched_purge *p;
	int64_t now_ms;
};

static void log_purged(void *arg, const char *campaign, const char *mailbox, const char *domain,
                       int attempts, int64_t queued_at_s)
{
	struct purge_log *pl = arg;
	const char *tenant = NULL;

	for (struct sched_campaign *c = pl->s->campaigns; c && !tenant; c = c->next)
		if (strcmp(c->id, campaign) == 0)
			tenant = c->tenant;
	struct dlog_rec rec = {
	    .time_ms = pl->now_ms,
	    .campaign = campaign,
	    .tenant = tenant,
	    .recipient = mailbox,
	    .domain = domain,
	    .stage = "purge",
	    .text = pl->p->reason,
	    .outcome = "bounced",
	    .category = "purged",
	    .attempt = attempts,
	    .queue_time_s = pl->now_ms / 1000 - queued_at_s,
	};
	dlog_add(pl->s->p.log, &rec);
}

static void perform_purge(struct scheduler *s, const struct ctl_req *q, const struct sched_purge *p)
{
	struct purge_log pl = {s, p, sched_wall_ms(s)};
	int64_t n = 0;
	char result[160];
	struct err e;

	if (s->p.store.purge_queued(s->p.store.ctx, p->domain, p->campaign, p->reason, log_purged,
	                            &pl, &n, &e) != 0) {
		sched_fail(s, &e);
		return;
	}
	snprintf(result, sizeof(result), "%lld queued recipients purged", (long long)n);
	request_done(s, q, result);
	log_info("purge %s%s%s: %s (%s)", p->domain, p->campaign ? " of campaign " : "",
	         p->campaign ? p->campaign : "", result, p->reason);
}

/* A purge asked: held (nothing of it loaded) until it can be performed. */
static void look_purge(struct scheduler *s, const struct ctl_req *q)
{
	s->purges = xrealloc(s->purges, (s->npurges + 1) * sizeof(*s->purges));
	struct sched_purge *p = &s->purges[s->npurges++];
	*p = (struct sched_purge){q->id, xstrdup(q->target),
	                          q->campaign ? xstrdup(q->campaign) : NULL, xstrdup(q->reason)};
	if (!purge_ready(s, p))
		return;
	perform_purge(s, q, p);
	/* done: mail queued for the domain from now on goes as usual */
	free(p->domain);
	free(p->campaign);
	free(p->reason);
	s->npurges--;
}

static struct sched_campaign *campaign_find(struct scheduler *s, const char *id)
{
	struct sched_campaign *c = s->campaigns;
	while (c && strcmp(c->id, id) != 0)
		c = c->next;
	return c;
}

/* A move asked: the campaign is held until none of it is in memory, then
 * takes the new pool's sources and starts over from the store. */
static void look_move(struct scheduler *s, const struct ctl_req *q)
{
	struct sched_campaign *c = q->campaign ? campaign_find(s, q->campaign) : NULL;
	char reason[256], result[160];
	struct err e;

	if (c && !c->finished) {
		c->moving = 1;
		monitor_stop_campaign(s, c); /* what waits at sites goes back to the store */
		if (c->loaded > 0)
			return; /* messages in flight finish first */
	}
	if (c) {
		free(c->pool_name);
		c->pool_name = NULL;
		c->npool = 0;
		sched_campaign_pool(s, c, q->target);
		int held = s->p.store.campaign_paused(s->p.store.ctx, c->id, reason, &e);
		if (held < 0) {
			sched_fail(s, &e);
			return;
		}
		const struct tenant *t = tenant_by_name(s->p.cfg, c->tenant);
		if (c->moving && !held && !c->cancelled && !(t && t->paused)) {
			c->paused = 0;
			c->cur = STORE_CURSOR_START;
			c->next_fetch_ms = 0;
		}
		c->moving = 0;
	}
	snprintf(result, sizeof(result), "%s to pool %s",
	         c ? "moved" : "not delivering here: the store's pool", q->target);
	request_done(s, q, result);
	log_info("campaign %s moved to pool %s (%s)", q->campaign ? q->campaign : "?", q->target,
	         q->reason);
}

static void requests_look(struct scheduler *s)
{
	struct ctl_reqs q = {.n = 0};
	struct err e;

	if (!s->p.store.control_requests)
		return;
	if (s->p.store.control_requests(s->p.store.ctx, 0, collect_control, &q, &e) != 0)
		sched_fail(s, &e);
	for (size_t i = 0; i < q.n && !s->failed; i++) {
		if (strcmp(q.r[i].kind, "retry") == 0)
			perform_retry(s, &q.r[i]);
		else if (strcmp(q.r[i].kind, "purge") == 0)
			look_purge(s, &q.r[i]);
		else if (strcmp(q.r[i].kind, "move") == 0)
			look_move(s, &q.r[i]);
		else
			request_done(s, &q.r[i], "unknown control: ignored");
	}
	for (size_t i = 0; i < q.n; i++) {
		free(q.r[i].kind);
		free(q.r[i].scope);
		free(q.r[i].target);
		free(q.r[i].campaign);
		free(q.r[i].reason);
	}
}

void sched_controls(struct scheduler *s, int64_t now_ms)
{
	struct err e;

	if (now_ms < s->next_control_ms || s->failed)
		return;
	s->next_control_ms = now_ms + CONTROL_POLL_MS;
	sched_controls_free(s);
	if (read_pauses(s, now_ms / 1000) != 0)
		return;
	if (s->p.store.pauses_expire) { /* each ended --for: forgotten, with its event */
		int64_t n = 0;
		if (s->p.store.pauses_expire(s->p.store.ctx, now_ms / 1000, &n, &e) != 0) {
			sched_fail(s, &e);
			return;
		}
		if (n > 0)
			s->dirty = 1;
	}
	if (s->p.store.move_backs_due) { /* a move's --for ended: a move back is asked */
		int64_t n = 0;
		if (s->p.store.move_backs_due(s->p.store.ctx, now_ms / 1000, &n, &e) != 0) {
			sched_fail(s, &e);
			return;
		}
		if (n > 0)
			s->dirty = 1;
	}
	campaigns_look(s);
	tenants_look(s);
	cancels_look(s);
	requests_look(s);
	sites_look(s, now_ms);
}
