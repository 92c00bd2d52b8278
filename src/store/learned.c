/* learned: see learned.h. Statements are prepared per call: a site's row
 * is written at most every few seconds, and read once when the site is made. */
#include "store/learned.h"

#include <sqlite3.h>
#include <string.h>

#include "store/store_int.h"

static const char learned_schema[] =
    "CREATE TABLE IF NOT EXISTS learned(site TEXT NOT NULL, source_ip TEXT NOT NULL,"
    " rate REAL NOT NULL, ceiling REAL NOT NULL, connections INTEGER NOT NULL,"
    " level INTEGER NOT NULL, throttled INTEGER NOT NULL, suspended_until INTEGER NOT NULL,"
    " updated INTEGER NOT NULL, PRIMARY KEY(site, source_ip));";

#define COLUMNS                                                                                    \
	"site, source_ip, rate, ceiling, connections, level, throttled, suspended_until, updated"

int store_learned_init(struct store *s, struct err *e)
{
	return db_exec(&s->db, learned_schema, "learned table", e);
}

static void row_of(sqlite3_stmt *st, struct store_learned *r)
{
	r->site = store_col_text(st, 0);
	r->source_ip = store_col_text(st, 1);
	r->rate = sqlite3_column_double(st, 2);
	r->ceiling = sqlite3_column_double(st, 3);
	r->connections = sqlite3_column_int(st, 4);
	r->level = sqlite3_column_int(st, 5);
	r->throttled_s = sqlite3_column_int64(st, 6);
	r->suspended_until_s = sqlite3_column_int64(st, 7);
	r->updated_s = sqlite3_column_int64(st, 8);
}

int store_learned_get(struct store *s, const char *site, const char *ip, struct store_learned *out,
                      struct err *e)
{
	sqlite3_stmt *st;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(s->db.h,
	                       "SELECT " COLUMNS " FROM learned WHERE site = ?1 AND source_ip = ?2",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "learned limits");
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ip, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_of(st, out);
		out->site = site, out->source_ip = ip;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "learned limits");
}

int store_learned_put(struct store *s, const struct store_learned *r, struct err *e)
{
	sqlite3_stmt *st;

	if (store_begin(s, e))
		return -1;
	if (sqlite3_prepare_v2(s->db.h,
	                       "INSERT OR REPLACE INTO learned(" COLUMNS ")"
	                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "keep learned limits");
	sqlite3_bind_text(st, 1, r->site, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->source_ip, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, r->rate);
	sqlite3_bind_double(st, 4, r->ceiling);
	sqlite3_bind_int(st, 5, r->connections);
	sqlite3_bind_int(st, 6, r->level);
	sqlite3_bind_int64(st, 7, r->throttled_s);
	sqlite3_bind_int64(st, 8, r->suspended_until_s);
	sqlite3_bind_int64(st, 9, r->updated_s);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "keep learned limits");
}

static void list_row(sqlite3_stmt *st, void *arg)
{
	struct cb_pair *p = arg;
	struct store_learned r;

	row_of(st, &r);
	((store_learned_fn)p->cb)(p->arg, &r);
}

int store_learned_list(struct store *s, store_learned_fn cb, void *arg, struct err *e)
{
	struct cb_pair p = {(void *)cb, arg};
	return store_each_row(s, "SELECT " COLUMNS " FROM learned ORDER BY updated DESC, site",
	                      NULL, 0, list_row, &p, e);
}
