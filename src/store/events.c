/* events: see events.h. The hot path (store_event_add, one row per
 * outcome) uses a statement prepared once with the store's others; the
 * rest prepare per call (a few per second at most). */
#include "store/events.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"

static const char events_schema[] =
    "CREATE TABLE IF NOT EXISTS event(id INTEGER PRIMARY KEY, uid TEXT NOT NULL,"
    " tenant TEXT NOT NULL, type TEXT NOT NULL, time INTEGER NOT NULL, campaign TEXT,"
    " recipient TEXT, data TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS webhook_cursor(url TEXT PRIMARY KEY, last_id INTEGER NOT NULL);";

int store_events_init(struct store *s, struct err *e)
{
	return db_exec(&s->db, events_schema, "event tables", e);
}

/* A uid as UUIDv7 does it: 48 bits of the time in milliseconds, then 80
 * random bits (sqlite3_randomness), in hex: two events of the same
 * millisecond collide with a chance of 2^-80. Nothing looks an event up by
 * it (the dispatcher reads by id), so it has no index: a UNIQUE index cost
 * a fifth of what writing an event costs. Queues made before keep theirs. */
static void new_uid(char out[STORE_EVENT_UID_LEN + 1])
{
	struct timespec ts;
	unsigned char r[10];

	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	sqlite3_randomness(sizeof(r), r);
	snprintf(out, 13, "%012llx", (unsigned long long)(ms & 0xffffffffffffULL));
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(out + 12 + 2 * i, 3, "%02x", r[i]);
}

int store_event_add(struct store *s, const struct store_event *ev, struct err *e)
{
	sqlite3_stmt *st = s->db.st[ST_EVENT_ADD];
	char uid[STORE_EVENT_UID_LEN + 1];

	if (store_begin(s, e))
		return -1;
	sqlite3_bind_text(st, 1, ev->tenant ? ev->tenant : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ev->type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, ev->time_s);
	if (ev->campaign)
		sqlite3_bind_text(st, 4, ev->campaign, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	if (ev->recipient)
		sqlite3_bind_text(st, 5, ev->recipient, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_text(st, 6, ev->data ? ev->data : "{}", -1, SQLITE_STATIC);
	new_uid(uid);
	sqlite3_bind_text(st, 7, uid, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "record an event");
}

/* One write in the open transaction: texts ?1..?3 (NULL: null), number ?4. */
static int write3(struct store *s, const char *sql, const char *a, const char *b, const char *c,
                  int64_t n, const char *what, struct err *e)
{
	sqlite3_stmt *st;

	if (store_begin(s, e))
		return -1;
	if (sqlite3_prepare_v2(s->db.h, sql, -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, what);
	store_bind_text_or_null(st, 1, a);
	store_bind_text_or_null(st, 2, b);
	store_bind_text_or_null(st, 3, c);
	sqlite3_bind_int64(st, 4, n);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, what);
}

int store_event_campaign(struct store *s, const char *campaign, const char *type,
                         const char *reason, int64_t now_s, struct err *e)
{
	return write3(s,
	              "INSERT INTO event(uid, tenant, type, time, campaign, data)"
	              " SELECT lower(hex(randomblob(16))),"
	              " coalesce((SELECT tenant FROM campaign WHERE id = ?1), 'default'),"
	              " ?2, ?4, ?1, CASE WHEN ?3 IS NULL THEN '{}'"
	              " ELSE json_object('reason', ?3) END",
	              campaign, type, reason, now_s, "record a campaign's event", e);
}

int store_events_cancelled(struct store *s, const char *campaign, const char *reason, struct err *e)
{
	return write3(s,
	              "INSERT INTO event(uid, tenant, type, time, campaign, recipient, data)"
	              " SELECT lower(hex(randomblob(16))),"
	              " coalesce((SELECT tenant FROM campaign WHERE id = ?1), 'default'),"
	              " 'cancelled', CAST(strftime('%s', 'now') AS INTEGER), ?1, mailbox,"
	              " json_object('reason', ?2, 'attempts', attempts)"
	              " FROM recipient WHERE campaign = ?1 AND state = 0 ORDER BY id",
	              campaign, reason, NULL, 0, "record cancelled recipients' events", e);
}

/* ---- reading (the dispatcher's connection) ---- */

static const char *col_or_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : store_col_text(st, i);
}

int store_events_after(struct store *s, int64_t after_id, int limit, store_event_fn cb, void *arg,
                       int64_t *n, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if (sqlite3_prepare_v2(s->db.h,
	                       "SELECT id, uid, tenant, type, time, campaign, recipient, data"
	                       " FROM event WHERE id > ?1 ORDER BY id LIMIT ?2",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "read events");
	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_event_row r = {
		    .id = sqlite3_column_int64(st, 0),
		    .uid = store_col_text(st, 1),
		    .tenant = store_col_text(st, 2),
		    .type = store_col_text(st, 3),
		    .time_s = sqlite3_column_int64(st, 4),
		    .campaign = col_or_null(st, 5),
		    .recipient = col_or_null(st, 6),
		    .data = store_col_text(st, 7),
		};
		cb(arg, &r);
		(*n)++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "read events");
}

/* A query of one row of up to two numbers, ?1 a number, ?2 a text or NULL. */
static int one_row(struct store *s, const char *sql, int64_t a, const char *b, int64_t *x,
                   int64_t *y, const char *what, struct err *e)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db.h, sql, -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, what);
	sqlite3_bind_int64(st, 1, a);
	store_bind_text_or_null(st, 2, b);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*x = sqlite3_column_int64(st, 0);
		if (y)
			*y = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_db_err(s, e, what);
}

int store_event_last_id(struct store *s, int64_t *id, struct err *e)
{
	*id = 0;
	return one_row(s, "SELECT coalesce(max(id), 0) FROM event", 0, NULL, id, NULL,
	               "read events", e) < 0
	           ? -1
	           : 0;
}

int store_events_pending(struct store *s, int64_t after_id, const char *tenant, int64_t *n,
                         int64_t *oldest_s, struct err *e)
{
	int64_t oldest = 0;

	*n = 0;
	int rc = one_row(s,
	                 "SELECT count(*), coalesce(min(time), 0) FROM event"
	                 " WHERE id > ?1 AND (?2 IS NULL OR tenant = ?2)",
	                 after_id, tenant, n, &oldest, "count events", e);
	if (oldest_s)
		*oldest_s = oldest;
	return rc < 0 ? -1 : 0;
}

int store_event_skip_to(struct store *s, int64_t after_id, int64_t since_s, int64_t *id,
                        struct err *e)
{
	int64_t first = 0;
	char since[32];

	snprintf(since, sizeof(since), "%lld", (long long)since_s);
	int rc = one_row(s,
	                 "SELECT coalesce(min(id), (SELECT coalesce(max(id), 0) + 1 FROM event))"
	                 " FROM event WHERE id > ?1 AND time >= CAST(?2 AS INTEGER)",
	                 after_id, since, &first, NULL, "read events", e);
	if (rc < 0)
		return -1;
	*id = first - 1 > after_id ? first - 1 : after_id;
	return 0;
}

int store_webhook_cursor(struct store *s, const char *url, int64_t *last_id, struct err *e)
{
	sqlite3_stmt *st;

	*last_id = 0;
	if (sqlite3_prepare_v2(s->db.h, "SELECT last_id FROM webhook_cursor WHERE url = ?1", -1,
	                       &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "read a webhook cursor");
	sqlite3_bind_text(st, 1, url, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*last_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_db_err(s, e, "read a cursor");
}

int store_webhook_cursor_set(struct store *s, const char *url, int64_t last_id, struct err *e)
{
	return write3(s, "INSERT OR REPLACE INTO webhook_cursor(url, last_id) VALUES (?1, ?4)", url,
	              NULL, NULL, last_id, "write a webhook cursor", e);
}

int store_events_prune(struct store *s, int64_t before_s, int64_t upto_id, int64_t limit,
                       int64_t *n, struct err *e)
{
	sqlite3_stmt *st;

	*n = 0;
	if (store_begin(s, e))
		return -1;
	/* the oldest first, by the primary key: a batch never scans far */
	if (sqlite3_prepare_v2(s->db.h,
	                       "DELETE FROM event WHERE id IN (SELECT id FROM event"
	                       " WHERE id <= ?2 AND time < ?1 AND id < (SELECT max(id) FROM event)"
	                       " ORDER BY id LIMIT ?3)",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "prune events");
	sqlite3_bind_int64(st, 1, before_s);
	sqlite3_bind_int64(st, 2, upto_id);
	sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_db_err(s, e, "prune events");
	*n = sqlite3_changes(s->db.h);
	return 0;
}
