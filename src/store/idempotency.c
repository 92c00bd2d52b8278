/* idempotency: see idempotency.h. Statements are prepared per call: the
 * API writes a few of these per request, next to much bigger writes. */
#include "store/idempotency.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util/xmalloc.h"

static const char idem_schema[] =
    "CREATE TABLE IF NOT EXISTS idempotency(tenant TEXT NOT NULL, key TEXT NOT NULL,"
    " hash BLOB NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL,"
    " created INTEGER NOT NULL, PRIMARY KEY(tenant, key));"
    "CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency(created);";

int store_idem_init(struct store *s, struct err *e)
{
	return db_exec(&s->db, idem_schema, "idempotency tables", e);
}

int store_idem_get(struct store *s, const char *tenant, const char *key, int64_t since_s,
                   struct store_idem *out, struct err *e)
{
	sqlite3_stmt *st;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(s->db.h,
	                       "SELECT hash, status, body, created FROM idempotency"
	                       " WHERE tenant = ?1 AND key = ?2 AND created >= ?3",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "idempotency lookup");
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, since_s);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(st, 0);
		if (h && sqlite3_column_bytes(st, 0) == (int)sizeof(out->hash))
			memcpy(out->hash, h, sizeof(out->hash));
		out->status = sqlite3_column_int(st, 1);
		out->body = xstrdup(store_col_text(st, 2));
		out->created_s = sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "idempotency lookup");
}

int store_idem_put(struct store *s, const char *tenant, const char *key, const struct store_idem *r,
                   struct err *e)
{
	sqlite3_stmt *st;

	if (store_begin(s, e))
		return -1;
	if (sqlite3_prepare_v2(s->db.h,
	                       "INSERT OR REPLACE INTO idempotency(tenant, key, hash, status, body,"
	                       " created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "idempotency record");
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, r->hash, sizeof(r->hash), SQLITE_STATIC);
	sqlite3_bind_int(st, 4, r->status);
	sqlite3_bind_text(st, 5, r->body ? r->body : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, r->created_s);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "idempotency record");
}

int store_idem_expire(struct store *s, int64_t before_s, int64_t *n, struct err *e)
{
	sqlite3_stmt *st;

	if (store_begin(s, e))
		return -1;
	if (sqlite3_prepare_v2(s->db.h, "DELETE FROM idempotency WHERE created < ?1", -1, &st,
	                       NULL) != SQLITE_OK)
		return store_db_err(s, e, "idempotency expiry");
	sqlite3_bind_int64(st, 1, before_s);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_db_err(s, e, "idempotency expiry");
	if (n)
		*n = sqlite3_changes(s->db.h);
	return 0;
}

void store_idem_free(struct store_idem *r)
{
	free(r->body);
	r->body = NULL;
}
