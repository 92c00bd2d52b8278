/*
 * webhook: events (store/events.h) pushed to the endpoints of the config's
 * `webhooks:` list (mail/webhook_conf.h; docs/operations.md, "Webhooks").
 * One thread with its own connection to queue.db (WAL: its reads never
 * block the engine's writer) and a libcurl multi handle where the
 * endpoints' POSTs run side by side, so a slow or dead endpoint never
 * slows delivery nor another endpoint. Per endpoint a durable
 * cursor (table webhook_cursor): events go in id order, in JSON batches
 * {"events": [...]}, signed (webhook_sign); a 2xx moves the cursor past the
 * batch, anything else (or a timeout) is retried after webhook_backoff_ms.
 * The cursor is saved about once a second, so after a crash a batch may
 * come again: receivers deduplicate by the event's id. Sits beside submit
 * and inbound; serve starts and stops it and shows its numbers in /metrics.
 */
#ifndef SLUICE_WEBHOOK_WEBHOOK_H
#define SLUICE_WEBHOOK_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "mail/config.h"
#include "store/events.h"
#include "util/err.h"
#include "util/strbuf.h"

#define WEBHOOK_SIG_MAX        (3 + 64 + 1) /* "v1=" + 64 hex digits + NUL */
#define WEBHOOK_BACKOFF_MIN_MS 1000
#define WEBHOOK_BACKOFF_MAX_MS (10 * 60 * 1000)
#define WEBHOOK_OLD_S          (24 * 3600)     /* pending longer: warned about, hourly */
#define WEBHOOK_GIVE_UP_S      (72 * 3600)     /* pending longer: skipped, with a count */
#define WEBHOOK_KEEP_S         (7 * 24 * 3600) /* delivered events are pruned after */
#define WEBHOOK_SAVE_MS        1000            /* cursors and backlogs, at most this often */
#define WEBHOOK_PRUNE_MS       (3600 * 1000)
#define WEBHOOK_PRUNE_BATCH    10000 /* events deleted per statement and commit */
#define WEBHOOK_PRUNE_PAUSE_MS 50    /* between two batches of one pruning */
#define WEBHOOK_IDLE_MS        200   /* a look for new events when idle */
#define WEBHOOK_LABEL_MAX      200

struct webhook;

/* Starts the dispatcher for cfg's webhooks (cfg borrowed until
 * webhook_stop): its thread opens its connection to the queue in state_dir
 * (a failure there is logged; the thread ends) and gives
 * each endpoint seen for the first time a cursor at the newest event (an
 * endpoint gets what happens from its first start on). *out NULL when no
 * webhook is configured. 0, or -1 with e. */
int webhook_start(const struct config *cfg, const char *state_dir, struct webhook **out,
                  struct err *e);
/* Asks the thread to stop (a POST under way is abandoned): returns at
 * once; w may be NULL. */
void webhook_request_stop(struct webhook *w);
/* 1 once the thread has ended (after webhook_request_stop, its last save
 * done): webhook_stop then joins at once. */
int webhook_finished(struct webhook *w);
/* Stops (saving the cursors), joins and frees; w may be NULL. */
void webhook_stop(struct webhook *w);
/* Appends the Prometheus text of the endpoints' backlog and failures:
 * sluice_webhook_backlog{endpoint}, sluice_webhook_failures_total{endpoint},
 * sluice_webhook_delivered_total{endpoint}. w may be NULL (nothing). */
void webhook_metrics(struct webhook *w, struct strbuf *out);

/* ---- pure parts (payload.c) ---- */

/* "v1=" + hex HMAC-SHA256(secret, "<ts>." + body) into out. */
void webhook_sign(const char *secret, int64_t ts, const char *body, size_t len,
                  char out[WEBHOOK_SIG_MAX]);
/* The wait before the next try after failures (>= 1) failed tries: 1 s,
 * doubling, at most 10 min. */
int64_t webhook_backoff_ms(int failures);
/* A batch being built: add events, then take the body. */
struct webhook_batch;
struct webhook_batch *webhook_batch_new(void);
/* Adds r (its data parsed as JSON; data that is not an object is given as
 * {}); returns the number of events in the batch. */
size_t webhook_batch_add(struct webhook_batch *b, const struct store_event_row *r);
size_t webhook_batch_count(const struct webhook_batch *b);
/* {"events": [...]} (owned by the caller), each event
 * {"id", "type", "time", "tenant", "campaign", "recipient", "data"}. */
char *webhook_batch_body(const struct webhook_batch *b);
void webhook_batch_free(struct webhook_batch *b);
/* What /metrics calls an endpoint: its URL without user info, query or
 * fragment (they may hold secrets), quotes and backslashes dropped. */
void webhook_endpoint_label(const char *url, char *out, size_t n);

#endif
