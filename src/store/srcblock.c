/* srcblock: see srcblock.h. A row is written when a block fires (rarely). */
#include "store/srcblock.h"

#include <sqlite3.h>
#include <string.h>

#include "store/store_int.h"

static const char srcblock_schema[] =
    "CREATE TABLE IF NOT EXISTS source_block(site TEXT NOT NULL, source_ip TEXT NOT NULL,"
    " until INTEGER NOT NULL, rule TEXT NOT NULL, reply TEXT NOT NULL,"
    " created INTEGER NOT NULL, PRIMARY KEY(site, source_ip));";

int store_srcblock_init(struct store *s, struct err *e)
{
	return db_exec(&s->db, srcblock_schema, "source_block table", e);
}

int store_srcblock_put(struct store *s, const struct store_srcblock *r, struct err *e)
{
	sqlite3_stmt *st;

	if (store_begin(s, e))
		return -1;
	if (sqlite3_prepare_v2(s->db.h,
	                       "INSERT OR REPLACE INTO source_block(site, source_ip, until, rule,"
	                       " reply, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "keep a source block");
	sqlite3_bind_text(st, 1, r->site, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->source_ip, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, r->until_s);
	sqlite3_bind_text(st, 4, r->rule ? r->rule : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->reply ? r->reply : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, r->created_s);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "keep a source block");
}

static void list_row(sqlite3_stmt *st, void *arg)
{
	struct cb_pair *p = arg;
	struct store_srcblock r = {
	    .site = store_col_text(st, 0),
	    .source_ip = store_col_text(st, 1),
	    .until_s = sqlite3_column_int64(st, 2),
	    .rule = store_col_text(st, 3),
	    .reply = store_col_text(st, 4),
	    .created_s = sqlite3_column_int64(st, 5),
	};
	((store_srcblock_fn)p->cb)(p->arg, &r);
}

int store_srcblock_list(struct store *s, int64_t now_s, store_srcblock_fn cb, void *arg,
                        struct err *e)
{
	struct cb_pair p = {(void *)cb, arg};
	return store_each_row(
	    s,
	    "SELECT site, source_ip, until, rule, reply, created FROM source_block"
	    " WHERE until > ?2 ORDER BY until DESC, site",
	    NULL, now_s, list_row, &p, e);
}
