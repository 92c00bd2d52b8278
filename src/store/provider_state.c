/* provider_state: see provider_state.h. Statements are prepared per call:
 * a row is written once a second per (provider, source) at most. */
#include "store/provider_state.h"

#include <sqlite3.h>
#include <string.h>

#include "store/store_int.h"

static const char provider_schema[] =
    "CREATE TABLE IF NOT EXISTS provider_state(provider TEXT NOT NULL,"
    " source_ip TEXT NOT NULL, sites INTEGER NOT NULL, waiting INTEGER NOT NULL,"
    " conns INTEGER NOT NULL, conn_limit INTEGER NOT NULL, rate REAL NOT NULL,"
    " rate_limit REAL NOT NULL, conn_rate_limit REAL NOT NULL, updated INTEGER NOT NULL,"
    " PRIMARY KEY(provider, source_ip));";

#define COLUMNS                                                                                    \
	"provider, source_ip, sites, waiting, conns, conn_limit, rate, rate_limit,"                \
	" conn_rate_limit, updated"

int store_provider_state_init(struct store *s, struct err *e)
{
	return db_exec(&s->db, provider_schema, "provider_state table", e);
}

int store_provider_snapshot(struct store *s, const struct provider_snapshot *r, struct err *e)
{
	sqlite3_stmt *st;

	if (store_begin(s, e))
		return -1;
	if (sqlite3_prepare_v2(s->db.h,
	                       "INSERT OR REPLACE INTO provider_state(" COLUMNS ")"
	                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "provider snapshot");
	sqlite3_bind_text(st, 1, r->provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->source_ip, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, r->sites);
	sqlite3_bind_int(st, 4, r->waiting);
	sqlite3_bind_int(st, 5, r->conns);
	sqlite3_bind_int(st, 6, r->conn_limit);
	sqlite3_bind_double(st, 7, r->rate);
	sqlite3_bind_double(st, 8, r->rate_limit);
	sqlite3_bind_double(st, 9, r->conn_rate_limit);
	sqlite3_bind_int64(st, 10, r->updated_s);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "provider snapshot");
}

static void list_row(sqlite3_stmt *st, void *arg)
{
	struct cb_pair *p = arg;
	struct provider_snapshot r = {
	    .provider = store_col_text(st, 0),
	    .source_ip = store_col_text(st, 1),
	    .sites = sqlite3_column_int(st, 2),
	    .waiting = sqlite3_column_int(st, 3),
	    .conns = sqlite3_column_int(st, 4),
	    .conn_limit = sqlite3_column_int(st, 5),
	    .rate = sqlite3_column_double(st, 6),
	    .rate_limit = sqlite3_column_double(st, 7),
	    .conn_rate_limit = sqlite3_column_double(st, 8),
	    .updated_s = sqlite3_column_int64(st, 9),
	};
	((store_provider_fn)p->cb)(p->arg, &r);
}

int store_provider_snapshots(struct store *s, store_provider_fn cb, void *arg, struct err *e)
{
	struct cb_pair p = {(void *)cb, arg};
	return store_each_row(s,
	                      "SELECT " COLUMNS " FROM provider_state ORDER BY provider, source_ip",
	                      NULL, 0, list_row, &p, e);
}
