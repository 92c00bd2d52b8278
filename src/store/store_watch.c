/*
 * store_watch: what the store keeps beside the queue, for shaping and
 * watching (store_int.h): warm-up counts per source and site, the monitor's
 * danger signs and campaign pauses, the HELO each source showed, and the
 * sending history the monitor compares against.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/events.h"
#include "store/store.h"
#include "store/store_int.h"

static void first_day_row(sqlite3_stmt *st, void *arg)
{
	*(int64_t *)arg = sqlite3_column_int64(st, 0);
}

int store_warmup_first_day(struct store *s, const char *ip, int64_t today, int64_t *first,
                           struct err *e)
{
	if (store_begin(s, e))
		return -1;
	*first = today;
	if (store_each_row(s, "INSERT OR IGNORE INTO warmup_source(ip, first_day) VALUES (?1, ?2)",
	                   ip, today, first_day_row, first, e) != 0)
		return -1;
	return store_each_row(s, "SELECT first_day FROM warmup_source WHERE ip = ?1", ip, 0,
	                      first_day_row, first, e);
}

struct warmup_cb {
	store_warmup_fn cb;
	void *arg;
};

static void warmup_row(sqlite3_stmt *st, void *arg)
{
	struct warmup_cb *w = arg;
	w->cb(w->arg, store_col_text(st, 0), sqlite3_column_int64(st, 1));
}

int store_warmup_counts(struct store *s, const char *ip, int64_t day, store_warmup_fn cb, void *arg,
                        struct err *e)
{
	struct warmup_cb w = {cb, arg};
	return store_each_row(s, "SELECT site, sent FROM warmup_count WHERE ip = ?1 AND day = ?2",
	                      ip, day, warmup_row, &w, e);
}

int store_warmup_add(struct store *s, const char *ip, int64_t day, const char *site, struct err *e)
{
	sqlite3_stmt *st = s->db.st[ST_WARMUP_ADD];

	if (store_begin(s, e))
		return -1;
	sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, day);
	sqlite3_bind_text(st, 3, site, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "warm-up count");
}

/* ---- health-gated warm-up ---- */

#define WARMUP_SENT_KEEP_DAYS 30

static sqlite3_stmt *prep_ip_grp(struct store *s, const char *sql, const char *ip, const char *grp,
                                 const char *what, struct err *e)
{
	sqlite3_stmt *st;

	if (store_begin(s, e))
		return NULL;
	if (sqlite3_prepare_v2(s->db.h, sql, -1, &st, NULL) != SQLITE_OK) {
		store_db_err(s, e, what);
		return NULL;
	}
	sqlite3_bind_text(st, 1, ip, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, grp, -1, SQLITE_TRANSIENT);
	return st;
}

static int step_done(struct store *s, sqlite3_stmt *st, const char *what, struct err *e)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, what);
}

int store_warmup_health_add(struct store *s, const char *ip, int64_t day, const char *grp,
                            const struct store_warmup_health *d, struct err *e)
{
	const char *what = "warm-up health count";
	sqlite3_stmt *st = prep_ip_grp(
	    s,
	    "INSERT INTO warmup_health(ip, grp, day, attempts, deferred, blocked, complaints)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(ip, day, grp) DO UPDATE SET"
	    " attempts = attempts + ?4, deferred = deferred + ?5, blocked = blocked + ?6,"
	    " complaints = complaints + ?7",
	    ip, grp, what, e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 3, day);
	sqlite3_bind_int64(st, 4, d->attempts);
	sqlite3_bind_int64(st, 5, d->deferred);
	sqlite3_bind_int64(st, 6, d->blocked);
	sqlite3_bind_int64(st, 7, d->complaints);
	return step_done(s, st, what, e);
}

int store_warmup_health_get(struct store *s, const char *ip, int64_t day, const char *grp,
                            struct store_warmup_health *out, struct err *e)
{
	const char *what = "warm-up health";
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = prep_ip_grp(s,
	                               "SELECT attempts, deferred, blocked, complaints FROM"
	                               " warmup_health WHERE ip = ?1 AND grp = ?2 AND day = ?3",
	                               ip, grp, what, e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 3, day);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->attempts = sqlite3_column_int64(st, 0);
		out->deferred = sqlite3_column_int64(st, 1);
		out->blocked = sqlite3_column_int64(st, 2);
		out->complaints = sqlite3_column_int64(st, 3);
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, what);
}

int store_warmup_level_get(struct store *s, const char *ip, const char *grp,
                           struct store_warmup_level *out, struct err *e)
{
	const char *what = "warm-up level";
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st =
	    prep_ip_grp(s, "SELECT day, level, reason FROM warmup_level WHERE ip = ?1 AND grp = ?2",
	                ip, grp, what, e);
	if (!st)
		return -1;
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		out->day = sqlite3_column_int64(st, 0);
		out->level = sqlite3_column_int64(st, 1);
		snprintf(out->reason, sizeof(out->reason), "%s", store_col_text(st, 2));
		found = 1;
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? found : store_db_err(s, e, what);
}

int store_warmup_level_set(struct store *s, const char *ip, const char *grp,
                           const struct store_warmup_level *l, struct err *e)
{
	const char *what = "warm-up level";
	sqlite3_stmt *st = prep_ip_grp(s,
	                               "INSERT OR REPLACE INTO warmup_level(ip, grp, day, level,"
	                               " reason) VALUES (?1, ?2, ?3, ?4, ?5)",
	                               ip, grp, what, e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 3, l->day);
	sqlite3_bind_int64(st, 4, l->level);
	sqlite3_bind_text(st, 5, l->reason, -1, SQLITE_TRANSIENT);
	if (step_done(s, st, what, e) != 0)
		return -1;
	/* once a day per group: what a complaint can no longer be about goes */
	st = prep_ip_grp(s, "DELETE FROM warmup_sent WHERE ip = ?1 AND grp = ?2 AND day < ?3", ip,
	                 grp, what, e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 3, l->day - WARMUP_SENT_KEEP_DAYS);
	return step_done(s, st, what, e);
}

struct level_cb {
	store_warmup_level_fn cb;
	void *arg;
};

static void level_row(sqlite3_stmt *st, void *arg)
{
	struct level_cb *c = arg;
	struct store_warmup_level l = {sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
	                               ""};

	snprintf(l.reason, sizeof(l.reason), "%s", store_col_text(st, 4));
	c->cb(c->arg, store_col_text(st, 0), store_col_text(st, 1), &l);
}

int store_warmup_levels(struct store *s, store_warmup_level_fn cb, void *arg, struct err *e)
{
	struct level_cb c = {cb, arg};
	return store_each_row(s,
	                      "SELECT ip, grp, day, level, reason FROM warmup_level"
	                      " ORDER BY ip, grp",
	                      NULL, 0, level_row, &c, e);
}

int store_warmup_sent_add(struct store *s, const char *campaign, const char *mailbox,
                          const char *ip, const char *grp, int64_t day, struct err *e)
{
	const char *what = "warm-up delivery";
	sqlite3_stmt *st = prep_ip_grp(s,
	                               "INSERT OR REPLACE INTO warmup_sent(ip, grp, day, campaign,"
	                               " mailbox) VALUES (?1, ?2, ?3, ?4, ?5)",
	                               ip, grp, what, e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 3, day);
	sqlite3_bind_text(st, 4, campaign, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, mailbox, -1, SQLITE_TRANSIENT);
	return step_done(s, st, what, e);
}

struct sent_row {
	char ip[64], grp[512];
	int found;
};

static void sent_row(sqlite3_stmt *st, void *arg)
{
	struct sent_row *r = arg;
	snprintf(r->ip, sizeof(r->ip), "%s", store_col_text(st, 0));
	snprintf(r->grp, sizeof(r->grp), "%s", store_col_text(st, 1));
	r->found = 1;
}

int store_warmup_complaint(struct store *s, const char *campaign, const char *mailbox, int64_t day,
                           struct err *e)
{
	const char *what = "warm-up complaint";
	struct sent_row r = {.found = 0};
	struct store_warmup_health one = {.complaints = 1};
	sqlite3_stmt *st =
	    prep_ip_grp(s, "SELECT ip, grp FROM warmup_sent WHERE campaign = ?1 AND mailbox = ?2",
	                campaign, mailbox, what, e);
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		sent_row(st, &r);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_db_err(s, e, what);
	if (!r.found)
		return 0;
	if (store_warmup_health_add(s, r.ip, day, r.grp, &one, e) != 0 ||
	    store_warmup_health_add(s, r.ip, day, "", &one, e) != 0)
		return -1;
	return 1;
}

/* ---- danger signs and pauses (the monitor's) ---- */

/* One write with up to two texts (?1, ?2) and a number (?3), in the open
 * transaction; parameters the statement does not use are ignored. */
static int write_sql(struct store *s, const char *sql, const char *a, const char *b, int64_t n,
                     const char *what, struct err *e)
{
	sqlite3_stmt *st;

	if (store_begin(s, e))
		return -1;
	if (sqlite3_prepare_v2(s->db.h, sql, -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, what);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, what);
}

int store_sign_add(struct store *s, const char *campaign, int64_t time_s, const char *kind,
                   const char *detail, struct err *e)
{
	sqlite3_stmt *st;

	if (store_begin(s, e))
		return -1;
	if (sqlite3_prepare_v2(s->db.h,
	                       "INSERT INTO sign(campaign, time, kind, detail)"
	                       " VALUES (?1, ?2, ?3, ?4)",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "record a danger sign");
	sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, time_s);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, detail, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "record a danger sign");
}

static void sign_row(sqlite3_stmt *st, void *arg)
{
	struct cb_pair *p = arg;
	((store_sign_fn)p->cb)(p->arg, sqlite3_column_int64(st, 0), store_col_text(st, 1),
	                       store_col_text(st, 2));
}

int store_signs(struct store *s, const char *campaign, store_sign_fn cb, void *arg, struct err *e)
{
	struct cb_pair p = {(void *)cb, arg};
	return store_each_row(
	    s, "SELECT time, kind, detail FROM sign WHERE campaign = ?1 ORDER BY rowid", campaign,
	    0, sign_row, &p, e);
}

int store_campaign_pause(struct store *s, const char *campaign, const char *reason, int64_t now_s,
                         struct err *e)
{
	if (write_sql(s,
	              "INSERT OR REPLACE INTO campaign_pause(campaign, reason, time)"
	              " VALUES (?1, ?2, ?3)",
	              campaign, reason, now_s, "pause a campaign", e) != 0)
		return -1;
	return store_event_campaign(s, campaign, "campaign_paused", reason, now_s, e);
}

int store_campaign_resume(struct store *s, const char *campaign, struct err *e)
{
	if (write_sql(s, "DELETE FROM campaign_pause WHERE campaign = ?1", campaign, NULL, 0,
	              "resume a campaign", e) != 0)
		return -1;
	if (sqlite3_changes(s->db.h) == 0)
		return 0;
	return store_event_campaign(s, campaign, "campaign_resumed", NULL, time(NULL), e) ? -1 : 1;
}

static void pause_row(sqlite3_stmt *st, void *arg)
{
	snprintf(arg, 256, "%s", store_col_text(st, 0));
}

int store_campaign_paused(struct store *s, const char *campaign, char reason[256], struct err *e)
{
	reason[0] = '\0';
	if (store_each_row(s, "SELECT reason FROM campaign_pause WHERE campaign = ?1", campaign, 0,
	                   pause_row, reason, e) != 0)
		return -1;
	return reason[0] != '\0';
}

static void count_row(sqlite3_stmt *st, void *arg)
{
	*(int64_t *)arg = sqlite3_column_int64(st, 0);
}

int store_sign_count(struct store *s, const char *campaign, const char *kind, int64_t *n,
                     struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if (sqlite3_prepare_v2(s->db.h,
	                       "SELECT count(*) FROM sign WHERE campaign = ?1 AND kind = ?2", -1,
	                       &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "count danger signs");
	sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		count_row(st, n);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : store_db_err(s, e, "count danger signs");
}

int store_sign_seen(struct store *s, const char *campaign, const char *kind, const char *detail,
                    struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(
	        s->db.h,
	        "SELECT 1 FROM sign WHERE campaign = ?1 AND kind = ?2 AND detail = ?3"
	        " LIMIT 1",
	        -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "look up a danger sign");
	sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, detail, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "look up a danger sign");
}

/* ---- the identity each source showed (sluice check compares) ---- */

struct identity_out {
	char *helo;
	size_t n;
	int64_t since;
	int found;
};

static void identity_row(sqlite3_stmt *st, void *arg)
{
	struct identity_out *o = arg;
	snprintf(o->helo, o->n, "%s", store_col_text(st, 0));
	o->since = sqlite3_column_int64(st, 1);
	o->found = 1;
}

int store_identity_get(struct store *s, const char *ip, char *helo, size_t n, int64_t *since,
                       struct err *e)
{
	struct identity_out o = {helo, n, 0, 0};

	if (store_each_row(s, "SELECT helo, since FROM source_identity WHERE ip = ?1", ip, 0,
	                   identity_row, &o, e) != 0)
		return -1;
	*since = o.since;
	return o.found;
}

int store_identity_set(struct store *s, const char *ip, const char *helo, int64_t now_s,
                       struct err *e)
{
	sqlite3_stmt *st;

	if (store_begin(s, e))
		return -1;
	if (sqlite3_prepare_v2(s->db.h,
	                       "INSERT INTO source_identity(ip, helo, since) VALUES (?1, ?2, ?3)"
	                       " ON CONFLICT(ip) DO UPDATE SET helo = ?2, since = ?3"
	                       " WHERE helo <> ?2",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "source identity");
	sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, helo, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_s);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "source identity");
}

struct pair_out {
	int64_t a, b;
};

static void pair_row(sqlite3_stmt *st, void *arg)
{
	struct pair_out *o = arg;
	o->a = sqlite3_column_int64(st, 0);
	o->b = sqlite3_column_int64(st, 1);
}

int store_rcpt_history(struct store *s, const char *except, int64_t *refused, int64_t *judged,
                       struct err *e)
{
	struct pair_out o = {0, 0};
	int rc =
	    store_each_row(s,
	                   "SELECT coalesce(sum(state = 2 AND last_stage = 'rcpt'), 0),"
	                   " coalesce(sum(state = 1 OR (state = 2 AND last_stage = 'rcpt')), 0)"
	                   " FROM recipient WHERE campaign <> ?1",
	                   except, 0, pair_row, &o, e);
	*refused = o.a;
	*judged = o.b;
	return rc;
}

int store_deferred_count(struct store *s, const char *campaign, int64_t *n, struct err *e)
{
	*n = 0;
	return store_each_row(s,
	                      "SELECT count(*) FROM recipient WHERE campaign = ?1 AND state = 0"
	                      " AND attempts > 0",
	                      campaign, 0, count_row, n, e);
}
