/* ports: see ports.h. The real ports are thin adapters: the context is the
 * backend's own handle (the store, the MX cache), or unused. */
#include "engine/ports.h"

#include <event2/event.h>

#include "util/clock.h"

/* ---- clock: util/clock, libevent timers ---- */

static int64_t real_wall_ms(void *ctx)
{
	(void)ctx;
	return clock_wall_ms();
}

static int64_t real_mono_ms(void *ctx)
{
	(void)ctx;
	return clock_mono_ms();
}

static void real_arm(void *ctx, struct event *ev, int64_t wait_ms)
{
	struct timeval tv = {wait_ms / 1000, (wait_ms % 1000) * 1000};

	(void)ctx;
	if (!evtimer_pending(ev, NULL))
		evtimer_add(ev, &tv);
}

struct engine_clock engine_clock_real(void)
{
	return (struct engine_clock){
	    .wall_ms = real_wall_ms, .mono_ms = real_mono_ms, .arm = real_arm};
}

/* ---- store: SQLite (store/store.h) ---- */

static int sq_fetch_ready(void *ctx, const char *campaign, struct store_cursor *cur, int64_t now_s,
                          int limit, store_rcpt_fn cb, void *arg, struct err *e)
{
	return store_fetch_ready(ctx, campaign, cur, now_s, limit, cb, arg, e);
}

static int sq_next_due(void *ctx, const char *campaign, int64_t *due, struct err *e)
{
	return store_next_due(ctx, campaign, due, e);
}

static int sq_rcpt_update(void *ctx, int64_t id, const struct rcpt_outcome *o, struct err *e)
{
	return store_rcpt_update(ctx, id, o, e);
}

static int sq_rcpt_postpone(void *ctx, int64_t id, int64_t due_s, struct err *e)
{
	return store_rcpt_postpone(ctx, id, due_s, e);
}

static int sq_commit(void *ctx, struct err *e)
{
	return store_commit(ctx, e);
}

static int sq_site_snapshot(void *ctx, const struct site_snapshot *snap, struct err *e)
{
	return store_site_snapshot(ctx, snap, e);
}

static int sq_learned_get(void *ctx, const char *site, const char *ip, struct store_learned *out,
                          struct err *e)
{
	return store_learned_get(ctx, site, ip, out, e);
}

static int sq_provider_snapshot(void *ctx, const struct provider_snapshot *snap, struct err *e)
{
	return store_provider_snapshot(ctx, snap, e);
}

static int sq_learned_put(void *ctx, const struct store_learned *row, struct err *e)
{
	return store_learned_put(ctx, row, e);
}

static int sq_srcblock_put(void *ctx, const struct store_srcblock *row, struct err *e)
{
	return store_srcblock_put(ctx, row, e);
}

static int sq_srcblock_list(void *ctx, int64_t now_s, store_srcblock_fn cb, void *arg,
                            struct err *e)
{
	return store_srcblock_list(ctx, now_s, cb, arg, e);
}

static int sq_warmup_first_day(void *ctx, const char *ip, int64_t today, int64_t *first,
                               struct err *e)
{
	return store_warmup_first_day(ctx, ip, today, first, e);
}

static int sq_warmup_counts(void *ctx, const char *ip, int64_t day, store_warmup_fn cb, void *arg,
                            struct err *e)
{
	return store_warmup_counts(ctx, ip, day, cb, arg, e);
}

static int sq_warmup_add(void *ctx, const char *ip, int64_t day, const char *site, struct err *e)
{
	return store_warmup_add(ctx, ip, day, site, e);
}

static int sq_warmup_health_add(void *ctx, const char *ip, int64_t day, const char *grp,
                                const struct store_warmup_health *d, struct err *e)
{
	return store_warmup_health_add(ctx, ip, day, grp, d, e);
}

static int sq_warmup_health_get(void *ctx, const char *ip, int64_t day, const char *grp,
                                struct store_warmup_health *out, struct err *e)
{
	return store_warmup_health_get(ctx, ip, day, grp, out, e);
}

static int sq_warmup_level_get(void *ctx, const char *ip, const char *grp,
                               struct store_warmup_level *out, struct err *e)
{
	return store_warmup_level_get(ctx, ip, grp, out, e);
}

static int sq_warmup_level_set(void *ctx, const char *ip, const char *grp,
                               const struct store_warmup_level *l, struct err *e)
{
	return store_warmup_level_set(ctx, ip, grp, l, e);
}

static int sq_warmup_sent_add(void *ctx, const char *campaign, const char *mailbox, const char *ip,
                              const char *grp, int64_t day, struct err *e)
{
	return store_warmup_sent_add(ctx, campaign, mailbox, ip, grp, day, e);
}

static int sq_identity_set(void *ctx, const char *ip, const char *helo, int64_t now_s,
                           struct err *e)
{
	return store_identity_set(ctx, ip, helo, now_s, e);
}

static int sq_sign_add(void *ctx, const char *campaign, int64_t time_s, const char *kind,
                       const char *detail, struct err *e)
{
	return store_sign_add(ctx, campaign, time_s, kind, detail, e);
}

static int sq_campaign_pause(void *ctx, const char *campaign, const char *reason, int64_t now_s,
                             struct err *e)
{
	return store_campaign_pause(ctx, campaign, reason, now_s, e);
}

static int sq_rcpt_history(void *ctx, const char *except, int64_t *refused, int64_t *judged,
                           struct err *e)
{
	return store_rcpt_history(ctx, except, refused, judged, e);
}

static int sq_sign_seen(void *ctx, const char *campaign, const char *kind, const char *detail,
                        struct err *e)
{
	return store_sign_seen(ctx, campaign, kind, detail, e);
}

static int sq_sign_count(void *ctx, const char *campaign, const char *kind, int64_t *n,
                         struct err *e)
{
	return store_sign_count(ctx, campaign, kind, n, e);
}

static int sq_counts(void *ctx, const char *campaign, int64_t counts[RS_COUNT], struct err *e)
{
	return store_counts(ctx, campaign, counts, e);
}

static int sq_campaign_paused(void *ctx, const char *campaign, char reason[256], struct err *e)
{
	return store_campaign_paused(ctx, campaign, reason, e);
}

static int sq_site_pauses(void *ctx, int64_t now_s, store_pause_fn cb, void *arg, struct err *e)
{
	return store_site_pauses(ctx, now_s, cb, arg, e);
}

static int sq_pauses_expire(void *ctx, int64_t now_s, int64_t *n, struct err *e)
{
	return store_pauses_expire(ctx, now_s, n, e);
}

static int sq_move_backs_due(void *ctx, int64_t now_s, int64_t *n, struct err *e)
{
	return store_move_backs_due(ctx, now_s, n, e);
}

static int sq_campaign_cancelled(void *ctx, const char *campaign, char reason[256], struct err *e)
{
	return store_campaign_cancelled(ctx, campaign, reason, e);
}

static int sq_rcpt_due_domain(void *ctx, const char *domain, int64_t due_s, int64_t upto_s,
                              struct err *e)
{
	return store_rcpt_due_domain(ctx, domain, due_s, upto_s, e);
}

static int sq_message_get(void *ctx, int64_t id, char **body, size_t *len, char **mail_from,
                          struct err *e)
{
	return store_message_get(ctx, id, body, len, mail_from, e);
}

static int sq_message_add(void *ctx, const char *qid, const char *tenant, const char *mail_from,
                          const char *body, size_t len, int64_t now_s, int64_t *id, struct err *e)
{
	return store_message_add(ctx, qid, tenant, mail_from, body, len, now_s, id, e);
}

static int sq_rcpt_add_message(void *ctx, const char *campaign, const char *mailbox,
                               const char *key, const char *domain, int utf8, int64_t message,
                               int64_t now_s, const struct rcpt_times *t, struct err *e)
{
	return store_rcpt_add_message(ctx, campaign, mailbox, key, domain, utf8, message, now_s, t,
	                              e);
}

static int sq_cancel_requests(void *ctx, store_request_fn cb, void *arg, struct err *e)
{
	return store_cancel_requests(ctx, cb, arg, e);
}

static int sq_cancel_queued(void *ctx, const char *campaign, const char *reason, store_cancel_fn cb,
                            void *arg, int64_t *n, struct err *e)
{
	return store_cancel_queued(ctx, campaign, reason, cb, arg, n, e);
}

static int sq_cancel_done(void *ctx, const char *campaign, struct err *e)
{
	return store_campaign_cancel_done(ctx, campaign, e);
}

static int sq_event_add(void *ctx, const struct store_event *ev, struct err *e)
{
	return store_event_add(ctx, ev, e);
}

static int sq_control_requests(void *ctx, int64_t since_s, store_control_fn cb, void *arg,
                               struct err *e)
{
	return store_control_requests(ctx, since_s, cb, arg, e);
}

static int sq_control_done(void *ctx, int64_t id, const char *result, struct err *e)
{
	return store_control_done(ctx, id, result, e);
}

static int sq_purge_queued(void *ctx, const char *domain, const char *campaign, const char *reason,
                           store_purge_fn cb, void *arg, int64_t *n, struct err *e)
{
	return store_purge_queued(ctx, domain, campaign, reason, cb, arg, n, e);
}

struct engine_store engine_store_sqlite(struct store *st)
{
	return (struct engine_store){
	    .fetch_ready = sq_fetch_ready,
	    .next_due = sq_next_due,
	    .rcpt_update = sq_rcpt_update,
	    .rcpt_postpone = sq_rcpt_postpone,
	    .commit = sq_commit,
	    .site_snapshot = sq_site_snapshot,
	    .warmup_first_day = sq_warmup_first_day,
	    .warmup_counts = sq_warmup_counts,
	    .warmup_add = sq_warmup_add,
	    .warmup_health_add = sq_warmup_health_add,
	    .warmup_health_get = sq_warmup_health_get,
	    .warmup_level_get = sq_warmup_level_get,
	    .warmup_level_set = sq_warmup_level_set,
	    .warmup_sent_add = sq_warmup_sent_add,
	    .identity_set = sq_identity_set,
	    .sign_add = sq_sign_add,
	    .campaign_pause = sq_campaign_pause,
	    .rcpt_history = sq_rcpt_history,
	    .sign_seen = sq_sign_seen,
	    .sign_count = sq_sign_count,
	    .counts = sq_counts,
	    .campaign_paused = sq_campaign_paused,
	    .site_pauses = sq_site_pauses,
	    .pauses_expire = sq_pauses_expire,
	    .move_backs_due = sq_move_backs_due,
	    .campaign_cancelled = sq_campaign_cancelled,
	    .rcpt_due_domain = sq_rcpt_due_domain,
	    .message_get = sq_message_get,
	    .cancel_requests = sq_cancel_requests,
	    .cancel_queued = sq_cancel_queued,
	    .cancel_done = sq_cancel_done,
	    .control_requests = sq_control_requests,
	    .control_done = sq_control_done,
	    .purge_queued = sq_purge_queued,
	    .message_add = sq_message_add,
	    .rcpt_add_message = sq_rcpt_add_message,
	    .learned_get = sq_learned_get,
	    .learned_put = sq_learned_put,
	    .srcblock_put = sq_srcblock_put,
	    .srcblock_list = sq_srcblock_list,
	    .event_add = sq_event_add,
	    .provider_snapshot = sq_provider_snapshot,
	    .ctx = st,
	};
}

/* ---- resolver: the dns/mx cache ---- */

static void mx_lookup_port(void *ctx, const char *domain, mx_cb cb, void *arg)
{
	mx_lookup(ctx, domain, cb, arg);
}

static void mx_cancel_port(void *ctx)
{
	mx_cache_cancel(ctx);
}

struct engine_resolver engine_resolver_mx(struct mx_cache *mx)
{
	return (struct engine_resolver){
	    .lookup = mx_lookup_port, .cancel = mx_cancel_port, .ctx = mx};
}

/* ---- SMTP: smtp/client ---- */

static struct smtp_client *client_start(void *ctx, struct event_base *base,
                                        const struct smtp_params *p,
                                        const struct smtp_client_ops *ops, void *arg)
{
	(void)ctx;
	return smtp_client_start(base, p, ops, arg);
}

struct engine_smtp engine_smtp_real(void)
{
	return (struct engine_smtp){
	    .start = client_start,
	    .wake = smtp_client_wake,
	    .finish = smtp_client_finish,
	    .stop = smtp_client_stop,
	    .is_idle = smtp_client_is_idle,
	    .peer = smtp_client_peer,
	};
}
