/*
 * ports: what the delivery engine needs from the world outside it, as small
 * structs of function pointers, each with its context: the clock (and its
 * timers), the store, the MX resolver and the SMTP connection. Each names
 * only what the engine calls. The server installs the real ones (ports.c:
 * util/clock, the SQLite store of store/store.h, the dns/mx cache, the
 * smtp/client); the engine's unit test installs fakes (a clock it steps, a
 * store in memory, scripted peers), and a Redis store or any other backend
 * stands beside the real ones the same way. The engine reaches the world
 * only through these (and the delivery log, list hygiene and DKIM, which it
 * is given as objects).
 */
#ifndef SLUICE_ENGINE_PORTS_H
#define SLUICE_ENGINE_PORTS_H

#include <stdint.h>

#include "dns/mx.h"
#include "smtp/client.h"
#include "store/events.h"
#include "store/learned.h"
#include "store/provider_state.h"
#include "store/srcblock.h"
#include "store/store.h"
#include "util/err.h"

struct event;
struct event_base;

/* Time: wall time for records and retry dates, monotonic time for rates,
 * suspensions and timers. */
struct engine_clock {
	int64_t (*wall_ms)(void *ctx); /* milliseconds since the epoch */
	int64_t (*mono_ms)(void *ctx); /* monotonic milliseconds */
	/* Runs ev's callback once after wait_ms of this clock's monotonic time;
	 * nothing if ev is armed already. ev is a timer event of the engine's
	 * event_base, freed by the engine (which never arms a freed one). */
	void (*arm)(void *ctx, struct event *ev, int64_t wait_ms);
	void *ctx;
};

/* What the engine needs from a queue store; the types and promises are
 * those of store/store.h. Rows handed to fetch_ready's callback belong to
 * the engine, which frees them with queued_rcpt_free. */
struct engine_store {
	int (*fetch_ready)(void *ctx, const char *campaign, struct store_cursor *cur, int64_t now_s,
	                   int limit, store_rcpt_fn cb, void *arg, struct err *e);
	int (*next_due)(void *ctx, const char *campaign, int64_t *due, struct err *e);
	int (*rcpt_update)(void *ctx, int64_t id, const struct rcpt_outcome *o, struct err *e);
	int (*rcpt_postpone)(void *ctx, int64_t id, int64_t due_s, struct err *e);
	int (*commit)(void *ctx, struct err *e); /* the group commit */
	int (*site_snapshot)(void *ctx, const struct site_snapshot *snap, struct err *e);
	int (*warmup_first_day)(void *ctx, const char *ip, int64_t today, int64_t *first,
	                        struct err *e);
	int (*warmup_counts)(void *ctx, const char *ip, int64_t day, store_warmup_fn cb, void *arg,
	                     struct err *e);
	int (*warmup_add)(void *ctx, const char *ip, int64_t day, const char *site, struct err *e);
	/* health-gated warm-up (NULL: the schedule alone) */
	int (*warmup_health_add)(void *ctx, const char *ip, int64_t day, const char *grp,
	                         const struct store_warmup_health *delta, struct err *e);
	int (*warmup_health_get)(void *ctx, const char *ip, int64_t day, const char *grp,
	                         struct store_warmup_health *out, struct err *e);
	int (*warmup_level_get)(void *ctx, const char *ip, const char *grp,
	                        struct store_warmup_level *out, struct err *e);
	int (*warmup_level_set)(void *ctx, const char *ip, const char *grp,
	                        const struct store_warmup_level *l, struct err *e);
	int (*warmup_sent_add)(void *ctx, const char *campaign, const char *mailbox, const char *ip,
	                       const char *grp, int64_t day, struct err *e);
	int (*identity_set)(void *ctx, const char *ip, const char *helo, int64_t now_s,
	                    struct err *e);
	int (*sign_add)(void *ctx, const char *campaign, int64_t time_s, const char *kind,
	                const char *detail, struct err *e);
	int (*campaign_pause)(void *ctx, const char *campaign, const char *reason, int64_t now_s,
	                      struct err *e);
	int (*rcpt_history)(void *ctx, const char *except, int64_t *refused, int64_t *judged,
	                    struct err *e);
	/* for complaints (monitor_complaint) */
	int (*sign_seen)(void *ctx, const char *campaign, const char *kind, const char *detail,
	                 struct err *e);
	int (*sign_count)(void *ctx, const char *campaign, const char *kind, int64_t *n,
	                  struct err *e);
	int (*counts)(void *ctx, const char *campaign, int64_t counts[RS_COUNT], struct err *e);
	int (*campaign_paused)(void *ctx, const char *campaign, char reason[256], struct err *e);
	/* the operator's controls (engine/control.c) */
	int (*site_pauses)(void *ctx, int64_t now_s, store_pause_fn cb, void *arg, struct err *e);
	int (*pauses_expire)(void *ctx, int64_t now_s, int64_t *n, struct err *e);
	int (*move_backs_due)(void *ctx, int64_t now_s, int64_t *n, struct err *e);
	int (*campaign_cancelled)(void *ctx, const char *campaign, char reason[256], struct err *e);
	int (*rcpt_due_domain)(void *ctx, const char *domain, int64_t due_s, int64_t upto_s,
	                       struct err *e);
	/* cancels the operator asked of this process, and performing one */
	int (*cancel_requests)(void *ctx, store_request_fn cb, void *arg, struct err *e);
	int (*cancel_queued)(void *ctx, const char *campaign, const char *reason,
	                     store_cancel_fn cb, void *arg, int64_t *n, struct err *e);
	int (*cancel_done)(void *ctx, const char *campaign, struct err *e);
	/* one-shot controls (retry, purge, move) asked of this process; may
	 * be NULL: none are read */
	int (*control_requests)(void *ctx, int64_t since_s, store_control_fn cb, void *arg,
	                        struct err *e);
	int (*control_done)(void *ctx, int64_t id, const char *result, struct err *e);
	int (*purge_queued)(void *ctx, const char *domain, const char *campaign, const char *reason,
	                    store_purge_fn cb, void *arg, int64_t *n, struct err *e);
	/* provider totals per source for `sluice queue` (store/provider_state.h);
	 * NULL: not written */
	int (*provider_snapshot)(void *ctx, const struct provider_snapshot *snap, struct err *e);
	/* learned limits per (site, source) (store/learned.h); either may be
	 * NULL: nothing is kept */
	int (*learned_get)(void *ctx, const char *site, const char *ip, struct store_learned *out,
	                   struct err *e);
	int (*learned_put)(void *ctx, const struct store_learned *row, struct err *e);
	/* source failover's blocks (store/srcblock.h); either may be NULL */
	int (*srcblock_put)(void *ctx, const struct store_srcblock *row, struct err *e);
	int (*srcblock_list)(void *ctx, int64_t now_s, store_srcblock_fn cb, void *arg,
	                     struct err *e);
	/* a submitted message's body and envelope sender (store_message_get) */
	int (*message_get)(void *ctx, int64_t id, char **body, size_t *len, char **mail_from,
	                   struct err *e);
	/* queueing a DSN to a submitter (engine/notify.c) */
	int (*message_add)(void *ctx, const char *qid, const char *tenant, const char *mail_from,
	                   const char *body, size_t len, int64_t now_s, int64_t *id, struct err *e);
	int (*rcpt_add_message)(void *ctx, const char *campaign, const char *mailbox,
	                        const char *key, const char *domain, int utf8, int64_t message,
	                        int64_t now_s, const struct rcpt_times *t, struct err *e);
	/* an event (store/events.h) into the open transaction, beside the
	 * outcome it tells of; NULL: events are not kept (engine/events.c) */
	int (*event_add)(void *ctx, const struct store_event *ev, struct err *e);
	void *ctx;
};

/* Where a domain's mail goes (dns/mx.h). */
struct engine_resolver {
	/* Calls cb once, maybe before returning, maybe later. */
	void (*lookup)(void *ctx, const char *domain, mx_cb cb, void *arg);
	/* Every lookup under way is answered now, as a temporary failure. */
	void (*cancel)(void *ctx);
	void *ctx;
};

/* One outbound SMTP connection (smtp/client.h): start gives a handle that
 * calls ops as the real client does (next, done, closed: last, once); the
 * other calls take that handle. */
struct engine_smtp {
	struct smtp_client *(*start)(void *ctx, struct event_base *base,
	                             const struct smtp_params *p, const struct smtp_client_ops *ops,
	                             void *arg);
	void (*wake)(struct smtp_client *c);
	void (*finish)(struct smtp_client *c);
	void (*stop)(struct smtp_client *c,
	             int grace_ms); /* may run ops->closed before returning */
	int (*is_idle)(const struct smtp_client *c);
	const struct smtp_peer *(*peer)(const struct smtp_client *c);
	void *ctx;
};

/* The real ones: util/clock with libevent timers; the SQLite store st; the
 * MX cache mx; the smtp/client. */
struct engine_clock engine_clock_real(void);
struct engine_store engine_store_sqlite(struct store *st);
struct engine_resolver engine_resolver_mx(struct mx_cache *mx);
struct engine_smtp engine_smtp_real(void);

#endif
