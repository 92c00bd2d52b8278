/*
 * store_control: the operator's controls (store_int.h, store.h): site
 * pauses (by site, provider or source IP, for a while or until resumed),
 * cancelled campaigns and the one-shot requests (retry, purge, move), in
 * the tables site_pause, campaign_cancel and control_request of queue.db. `sluice site` and `sluice
 * campaign` write them; a running engine reads them on its tick (engine/control.c), so a control
 * survives a restart and reaches a running process within about a second.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/events.h"
#include "store/store.h"
#include "store/store_int.h"

/* One statement with texts ?1..?3 (NULL: unbound) and numbers ?4, ?5. */
static int run_sql(struct store *s, const char *sql, const char *a, const char *b, const char *c,
                   int64_t n4, int64_t n5, const char *what, struct err *e)
{
	sqlite3_stmt *st;

	if (store_begin(s, e))
		return -1;
	if (sqlite3_prepare_v2(s->db.h, sql, -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, what);
	if (a)
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	if (c)
		sqlite3_bind_text(st, 3, c, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, n4);
	sqlite3_bind_int64(st, 5, n5);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, what);
}

/* The event of an operator's pause or resumption: "site_paused" or
 * "site_resumed" for a site, provider or source (no tenant), "tenant_paused"
 * or "tenant_resumed" for a tenant (its own). */
static int pause_event(struct store *s, const struct site_pause *p, int resumed, struct err *e)
{
	int tenant = strcmp(p->scope, "tenant") == 0, campaign = strcmp(p->scope, "campaign") == 0;
	const char *type = tenant     ? (resumed ? "tenant_resumed" : "tenant_paused")
	                   : campaign ? (resumed ? "campaign_resumed" : "campaign_paused")
	                              : (resumed ? "site_resumed" : "site_paused");
	sqlite3_stmt *st;

	/* a campaign's: its tenant's, and its campaign named */
	if (sqlite3_prepare_v2(s->db.h,
	                       "INSERT INTO event(uid, tenant, type, time, campaign, data)"
	                       " VALUES (lower(hex(randomblob(16))),"
	                       " CASE WHEN ?3 = 'campaign' THEN coalesce((SELECT tenant FROM"
	                       " campaign WHERE id = ?4), '') ELSE ?1 END, ?2, ?6,"
	                       " CASE WHEN ?3 = 'campaign' THEN ?4 ELSE NULL END,"
	                       " json_object('scope', ?3, 'target', ?4, 'reason', ?5,"
	                       " 'until', CASE WHEN ?7 > 0 THEN ?7 ELSE NULL END))",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "record a pause's event");
	sqlite3_bind_text(st, 1, tenant ? p->target : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, p->scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, p->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, p->reason ? p->reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, p->time_s);
	sqlite3_bind_int64(st, 7, p->until_s);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "record a pause's event");
}

int store_site_pause(struct store *s, const struct site_pause *p, struct err *e)
{
	if (run_sql(s,
	            "INSERT OR REPLACE INTO site_pause(scope, target, reason, until, time)"
	            " VALUES (?1, ?2, ?3, ?4, ?5)",
	            p->scope, p->target, p->reason, p->until_s, p->time_s, "pause a site", e) != 0)
		return -1;
	return pause_event(s, p, 0, e);
}

int store_site_resume_why(struct store *s, const char *scope, const char *target,
                          const char *reason, int64_t now_s, struct err *e)
{
	if (run_sql(s, "DELETE FROM site_pause WHERE scope = ?1 AND target = ?2", scope, target,
	            NULL, 0, 0, "resume a site", e) != 0)
		return -1;
	if (sqlite3_changes(s->db.h) == 0)
		return 0;
	struct site_pause p = {scope, target, reason, 0, now_s};
	return pause_event(s, &p, 1, e) == 0 ? 1 : -1;
}

int store_site_resume(struct store *s, const char *scope, const char *target, struct err *e)
{
	return store_site_resume_why(s, scope, target, "resumed by the operator",
	                             (int64_t)time(NULL), e);
}

/* Whether sql (one row or none, its ?1 the time now_s) finds a row: 1, 0,
 * or -1 with e. A read, so no write transaction opens when nothing is due. */
static int any_due(struct store *s, const char *sql, int64_t now_s, const char *what, struct err *e)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db.h, sql, -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, what);
	sqlite3_bind_int64(st, 1, now_s);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_db_err(s, e, what);
}

int store_pauses_expire(struct store *s, int64_t now_s, int64_t *n, struct err *e)
{
	*n = 0;
	/* a read first: no write transaction is opened when nothing ended */
	int rc = any_due(s, "SELECT 1 FROM site_pause WHERE until > 0 AND until <= ?1 LIMIT 1",
	                 now_s, "look for ended pauses", e);
	if (rc <= 0)
		return rc;
	if (run_sql(s,
	            "INSERT INTO event(uid, tenant, type, time, campaign, data)"
	            " SELECT lower(hex(randomblob(16))),"
	            " CASE WHEN scope = 'tenant' THEN target WHEN scope = 'campaign' THEN"
	            " coalesce((SELECT tenant FROM campaign WHERE id = target), '') ELSE '' END,"
	            " CASE WHEN scope = 'tenant' THEN 'tenant_resumed' WHEN scope = 'campaign'"
	            " THEN 'campaign_resumed' ELSE 'site_resumed' END,"
	            " ?4, CASE WHEN scope = 'campaign' THEN target ELSE NULL END,"
	            " json_object('scope', scope, 'target', target,"
	            " 'reason', 'its time ran out (paused: ' || reason || ')')"
	            " FROM site_pause WHERE until > 0 AND until <= ?4 ORDER BY time",
	            NULL, NULL, NULL, now_s, 0, "record ended pauses' events", e) != 0 ||
	    run_sql(s, "DELETE FROM site_pause WHERE until > 0 AND until <= ?4", NULL, NULL, NULL,
	            now_s, 0, "forget ended pauses", e) != 0)
		return -1;
	*n = sqlite3_changes(s->db.h);
	return 0;
}

int store_tenant_paused(struct store *s, const char *tenant, int64_t now_s, char reason[256],
                        int64_t *until_s, struct err *e)
{
	sqlite3_stmt *st;
	int found = 0;

	if (sqlite3_prepare_v2(s->db.h,
	                       "SELECT reason, until FROM site_pause WHERE scope = 'tenant'"
	                       " AND target = ?1 AND (until = 0 OR until > ?2)",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "look up a tenant's pause");
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_s);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		found = 1;
		if (reason)
			snprintf(reason, 256, "%s", store_col_text(st, 0));
		if (until_s)
			*until_s = sqlite3_column_int64(st, 1);
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? found : store_db_err(s, e, "look up a tenant's pause");
}

static void pause_row(sqlite3_stmt *st, void *arg)
{
	struct cb_pair *p = arg;
	struct site_pause sp = {
	    .scope = store_col_text(st, 0),
	    .target = store_col_text(st, 1),
	    .reason = store_col_text(st, 2),
	    .until_s = sqlite3_column_int64(st, 3),
	    .time_s = sqlite3_column_int64(st, 4),
	};
	((store_pause_fn)p->cb)(p->arg, &sp);
}

int store_site_pauses(struct store *s, int64_t now_s, store_pause_fn cb, void *arg, struct err *e)
{
	struct cb_pair p = {(void *)cb, arg};
	return store_each_row(s,
	                      "SELECT scope, target, reason, until, time FROM site_pause"
	                      " WHERE until = 0 OR until > ?2 ORDER BY scope, target",
	                      NULL, now_s, pause_row, &p, e);
}

int store_campaign_cancel(struct store *s, const char *campaign, const char *reason, int64_t now_s,
                          struct err *e)
{
	if (run_sql(s,
	            "INSERT OR REPLACE INTO campaign_cancel(campaign, reason, time)"
	            " VALUES (?1, ?2, ?4)",
	            campaign, reason, NULL, now_s, 0, "cancel a campaign", e) != 0)
		return -1;
	return store_event_campaign(s, campaign, "campaign_cancelled", reason, now_s, e);
}

int store_campaign_cancel_request(struct store *s, const char *campaign, const char *reason,
                                  int64_t now_s, struct err *e)
{
	return run_sql(s,
	               "INSERT OR REPLACE INTO campaign_cancel(campaign, reason, time, done)"
	               " VALUES (?1, ?2, ?4, 0)",
	               campaign, reason, NULL, now_s, 0, "request a campaign's cancel", e);
}

int store_campaign_cancel_done(struct store *s, const char *campaign, struct err *e)
{
	return run_sql(s, "UPDATE campaign_cancel SET done = 1 WHERE campaign = ?1", campaign, NULL,
	               NULL, 0, 0, "cancel done", e);
}

static void request_row(sqlite3_stmt *st, void *arg)
{
	struct cb_pair *p = arg;
	((store_request_fn)p->cb)(p->arg, store_col_text(st, 0), store_col_text(st, 1));
}

int store_cancel_requests(struct store *s, store_request_fn cb, void *arg, struct err *e)
{
	struct cb_pair p = {(void *)cb, arg};
	return store_each_row(s, "SELECT campaign, reason FROM campaign_cancel WHERE done = 0",
	                      NULL, 0, request_row, &p, e);
}

static void reason_row(sqlite3_stmt *st, void *arg)
{
	snprintf(arg, 256, "%s", store_col_text(st, 0));
}

int store_campaign_cancelled(struct store *s, const char *campaign, char reason[256], struct err *e)
{
	reason[0] = '\0';
	if (store_each_row(s, "SELECT reason FROM campaign_cancel WHERE campaign = ?1", campaign, 0,
	                   reason_row, reason, e) != 0)
		return -1;
	return reason[0] != '\0';
}

static void queued_row(sqlite3_stmt *st, void *arg)
{
	struct cb_pair *p = arg;
	((store_cancel_fn)p->cb)(p->arg, store_col_text(st, 0), store_col_text(st, 1),
	                         (int)sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
}

int store_cancel_queued(struct store *s, const char *campaign, const char *reason,
                        store_cancel_fn cb, void *arg, int64_t *n, struct err *e)
{
	struct cb_pair p = {(void *)cb, arg};

	*n = 0;
	if (store_begin(s, e) ||
	    store_each_row(s,
	                   "SELECT mailbox, domain, attempts, queued_at FROM recipient"
	                   " WHERE campaign = ?1 AND state = 0 ORDER BY id",
	                   campaign, 0, queued_row, &p, e) != 0 ||
	    store_events_cancelled(s, campaign, reason, e) != 0)
		return -1;
	if (run_sql(s,
	            "UPDATE recipient SET state = 5, last_stage = 'cancelled', last_reply = ?2,"
	            " category = 'cancelled' WHERE campaign = ?1 AND state = 0",
	            campaign, reason, NULL, 0, 0, "cancel a campaign's recipients", e) != 0)
		return -1;
	*n = sqlite3_changes(s->db.h);
	return 0;
}

int store_rcpt_due_domain(struct store *s, const char *domain, int64_t due_s, int64_t upto_s,
                          struct err *e)
{
	return run_sql(
	    s,
	    "UPDATE recipient SET next_attempt = ?4"
	    " WHERE domain = ?1 AND state = 0 AND next_attempt > ?4 AND next_attempt <= ?5"
	    " AND (send_at IS NULL OR send_at <= ?4)",
	    domain, NULL, NULL, due_s, upto_s, "make a domain's recipients due", e);
}

int store_control_request(struct store *s, const struct control_request *r, struct err *e)
{
	sqlite3_stmt *st;

	if (store_begin(s, e))
		return -1;
	if (sqlite3_prepare_v2(s->db.h,
	                       "INSERT INTO control_request(kind, scope, target, campaign, reason,"
	                       " time, done, result) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "record a control");
	sqlite3_bind_text(st, 1, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->target, -1, SQLITE_STATIC);
	store_bind_text_or_null(st, 4, r->campaign);
	sqlite3_bind_text(st, 5, r->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, r->time_s);
	sqlite3_bind_int(st, 7, r->done);
	store_bind_text_or_null(st, 8, r->result);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "record a control");
}

static const char *col_or_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : store_col_text(st, i);
}

static void control_row(sqlite3_stmt *st, void *arg)
{
	struct cb_pair *p = arg;
	struct control_request r = {
	    .id = sqlite3_column_int64(st, 0),
	    .kind = store_col_text(st, 1),
	    .scope = store_col_text(st, 2),
	    .target = store_col_text(st, 3),
	    .campaign = col_or_null(st, 4),
	    .reason = store_col_text(st, 5),
	    .time_s = sqlite3_column_int64(st, 6),
	    .done = sqlite3_column_int(st, 7),
	    .result = col_or_null(st, 8),
	};
	((store_control_fn)p->cb)(p->arg, &r);
}

int store_control_requests(struct store *s, int64_t since_s, store_control_fn cb, void *arg,
                           struct err *e)
{
	struct cb_pair p = {(void *)cb, arg};
	return store_each_row(s,
	                      "SELECT id, kind, scope, target, campaign, reason, time, done, result"
	                      " FROM control_request WHERE done = 0 OR (?2 > 0 AND time >= ?2)"
	                      " ORDER BY id",
	                      NULL, since_s, control_row, &p, e);
}

int store_control_done(struct store *s, int64_t id, const char *result, struct err *e)
{
	return run_sql(s, "UPDATE control_request SET done = 1, result = ?1 WHERE id = ?4", result,
	               NULL, NULL, id, 0, "mark a control done", e);
}

static void purge_row(sqlite3_stmt *st, void *arg)
{
	struct cb_pair *p = arg;
	((store_purge_fn)p->cb)(p->arg, store_col_text(st, 0), store_col_text(st, 1),
	                        store_col_text(st, 2), (int)sqlite3_column_int64(st, 3),
	                        sqlite3_column_int64(st, 4));
}

int store_purge_queued(struct store *s, const char *domain, const char *campaign,
                       const char *reason, store_purge_fn cb, void *arg, int64_t *n, struct err *e)
{
	struct cb_pair p = {(void *)cb, arg};
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if (store_begin(s, e))
		return -1;
	if (sqlite3_prepare_v2(
	        s->db.h,
	        "SELECT campaign, mailbox, domain, attempts, queued_at FROM recipient"
	        " WHERE domain = ?1 AND state = 0 AND (?3 IS NULL OR campaign = ?3)"
	        " ORDER BY id",
	        -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "purge a domain");
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	store_bind_text_or_null(st, 3, campaign);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		purge_row(st, &p);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_db_err(s, e, "purge a domain");
	if (run_sql(s,
	            "UPDATE recipient SET state = 2, last_stage = 'purge', last_reply = ?2,"
	            " category = 'purged', last_code = NULL, last_enhanced = NULL"
	            " WHERE domain = ?1 AND state = 0 AND (?3 IS NULL OR campaign = ?3)",
	            domain, reason, campaign, 0, 0, "purge a domain", e) != 0)
		return -1;
	*n = sqlite3_changes(s->db.h);
	return 0;
}

int store_campaign_set_pool(struct store *s, const char *campaign, const char *pool, struct err *e)
{
	if (run_sql(s, "UPDATE campaign SET pool = ?2 WHERE id = ?1", campaign, pool, NULL, 0, 0,
	            "move a campaign", e) != 0)
		return -1;
	return sqlite3_changes(s->db.h) > 0 ? 1 : 0;
}

/* ---- moves for a while (move_back) ---- */

int store_move_back_set(struct store *s, const char *campaign, const char *pool, int64_t due_s,
                        const char *reason, int64_t now_s, struct err *e)
{
	return run_sql(s,
	               "INSERT INTO move_back(campaign, pool, due, reason, time)"
	               " VALUES (?1, ?2, ?4, ?3, ?5) ON CONFLICT(campaign) DO UPDATE"
	               " SET due = ?4, reason = ?3, time = ?5",
	               campaign, pool, reason, due_s, now_s, "record a move back", e);
}

int store_move_back_cancel(struct store *s, const char *campaign, struct err *e)
{
	return run_sql(s, "DELETE FROM move_back WHERE campaign = ?1", campaign, NULL, NULL, 0, 0,
	               "forget a move back", e);
}

int store_move_backs_due(struct store *s, int64_t now_s, int64_t *n, struct err *e)
{
	*n = 0;
	/* a read first: no write transaction is opened when none is due */
	int rc = any_due(s, "SELECT 1 FROM move_back WHERE due <= ?1 LIMIT 1", now_s,
	                 "look for moves back", e);
	if (rc <= 0)
		return rc;
	if (run_sql(s,
	            "UPDATE campaign SET pool = (SELECT pool FROM move_back m"
	            " WHERE m.campaign = campaign.id)"
	            " WHERE id IN (SELECT campaign FROM move_back WHERE due <= ?4)",
	            NULL, NULL, NULL, now_s, 0, "move a campaign back", e) != 0 ||
	    run_sql(s,
	            "INSERT INTO control_request(kind, scope, target, campaign, reason, time, done)"
	            " SELECT 'move', 'pool', pool, campaign,"
	            " 'back after its --for (moved: ' || reason || ')', ?4, 0"
	            " FROM move_back WHERE due <= ?4 ORDER BY due",
	            NULL, NULL, NULL, now_s, 0, "move a campaign back", e) != 0)
		return -1;
	*n = sqlite3_changes(s->db.h);
	return run_sql(s, "DELETE FROM move_back WHERE due <= ?4", NULL, NULL, NULL, now_s, 0,
	               "move a campaign back", e);
}

static void move_back_row(sqlite3_stmt *st, void *arg)
{
	struct cb_pair *p = arg;
	((store_move_back_fn)p->cb)(p->arg, store_col_text(st, 0), store_col_text(st, 1),
	                            sqlite3_column_int64(st, 2), store_col_text(st, 3));
}

int store_move_backs(struct store *s, store_move_back_fn cb, void *arg, struct err *e)
{
	struct cb_pair p = {(void *)cb, arg};
	return store_each_row(s, "SELECT campaign, pool, due, reason FROM move_back ORDER BY due",
	                      NULL, 0, move_back_row, &p, e);
}
