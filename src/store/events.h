/*
 * events: what happened, for the list owner's systems (table event of
 * queue.db; docs/operations.md, "Webhooks"). Every outcome of a recipient
 * (delivered, deferred, bounced, expired, suppressed, cancelled,
 * complained, unsubscribed) and a campaign's pauses, resumptions and end
 * is one row, written into the store's open transaction next to the
 * outcome itself: one group commit makes both durable, or neither. Each
 * row has a stable uid (32 hex digits: 48 bits of the time in ms and 80
 * random bits, as in UUIDv7) that receivers deduplicate by, and an id
 * that only grows (webhook cursors follow it). The webhook dispatcher
 * (src/webhook) reads the rows on its own connection and keeps one cursor
 * per endpoint (table webhook_cursor). Events are written only while
 * webhooks are configured (the engine's and inbound's; a campaign's
 * pause, resume and cancel are written by these functions always).
 */
#ifndef SLUICE_STORE_EVENTS_H
#define SLUICE_STORE_EVENTS_H

#include <stdint.h>

#include "util/err.h"

struct store;

#define STORE_EVENT_UID_LEN 32 /* hex digits */

/* One event to record; strings borrowed for the call. data is a JSON
 * object (text); campaign and recipient may be NULL. tenant "" belongs to
 * no tenant (a site's events). */
struct store_event {
	const char *tenant, *type;
	int64_t time_s;
	const char *campaign, *recipient;
	const char *data;
};

/* One recorded event, as read back; strings borrowed for the callback. */
struct store_event_row {
	int64_t id;
	const char *uid, *tenant, *type;
	int64_t time_s;
	const char *campaign, *recipient; /* NULL when none */
	const char *data;
};

/* Creates the tables if missing (store_open calls it). 0 or -1. */
int store_events_init(struct store *s, struct err *e);
/* Records ev in the open transaction (a prepared statement: one per
 * delivery). 0 or -1. */
int store_event_add(struct store *s, const struct store_event *ev, struct err *e);
/* A campaign's own event (type "campaign_paused", ...) with its tenant
 * looked up and data {"reason": reason} (reason may be NULL). 0 or -1. */
int store_event_campaign(struct store *s, const char *campaign, const char *type,
                         const char *reason, int64_t now_s, struct err *e);
/* A "cancelled" event for each queued recipient of campaign (call before
 * they are ended). 0 or -1. */
int store_events_cancelled(struct store *s, const char *campaign, const char *reason,
                           struct err *e);

/* Reading, for the dispatcher (its own connection). Calls cb for up to
 * limit events with id > after_id in id order; *n how many. */
typedef void (*store_event_fn)(void *arg, const struct store_event_row *r);
int store_events_after(struct store *s, int64_t after_id, int limit, store_event_fn cb, void *arg,
                       int64_t *n, struct err *e);
/* The highest event id (0: none) into *id. */
int store_event_last_id(struct store *s, int64_t *id, struct err *e);
/* Events with id > after_id (of tenant, or all when NULL) into *n, and the
 * time of the first of them (0: none) into *oldest_s (may be NULL). */
int store_events_pending(struct store *s, int64_t after_id, const char *tenant, int64_t *n,
                         int64_t *oldest_s, struct err *e);
/* The first event id > after_id with time >= since_s, minus one (where a
 * cursor skipping what is older lands), into *id. */
int store_event_skip_to(struct store *s, int64_t after_id, int64_t since_s, int64_t *id,
                        struct err *e);
/* An endpoint's cursor: 1 and *last_id, 0 if it has none, -1. */
int store_webhook_cursor(struct store *s, const char *url, int64_t *last_id, struct err *e);
/* Sets it in the open transaction (store_commit makes it durable). */
int store_webhook_cursor_set(struct store *s, const char *url, int64_t last_id, struct err *e);
/* Deletes events at or before upto_id older than before_s, never the
 * newest row (ids must keep growing), the oldest first and at most limit
 * of them (<= 0: all); *n how many. */
int store_events_prune(struct store *s, int64_t before_s, int64_t upto_id, int64_t limit,
                       int64_t *n, struct err *e);

#endif
