/* suppress: see suppress.h. */
#include "store/suppress.h"

#include <ctype.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/db.h"
#include "util/strmap.h"
#include "util/xmalloc.h"

#define DAY_S       86400
#define ADDRESS_MAX 512

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS suppression (address TEXT NOT NULL, scope TEXT NOT NULL,"
    " reason TEXT NOT NULL, evidence TEXT NOT NULL, created INTEGER NOT NULL,"
    " PRIMARY KEY (address, scope));"
    "CREATE TABLE IF NOT EXISTS strike (address TEXT NOT NULL, kind TEXT NOT NULL,"
    " day INTEGER NOT NULL, evidence TEXT NOT NULL, PRIMARY KEY (address, kind, day));";

enum {
	SQ_ADD,
	SQ_REMOVE,
	SQ_REMOVE_ALL,
	SQ_CHECK,
	SQ_LIST,
	SQ_STRIKE,
	SQ_STRIKES,
	SQ_CLEAR,
	SQ_STRUCK,
	SQ_MAX
};

static const char *const sql[SQ_MAX] = {
    [SQ_ADD] = "INSERT OR IGNORE INTO suppression (address, scope, reason, evidence, created)"
               " VALUES (?1, ?2, ?3, ?4, ?5)",
    [SQ_REMOVE] = "DELETE FROM suppression WHERE address = ?1 AND scope = ?2",
    [SQ_REMOVE_ALL] = "DELETE FROM suppression WHERE address = ?1",
    [SQ_CHECK] = "SELECT reason FROM suppression WHERE address = ?1 AND scope IN ('', ?2)"
                 " LIMIT 1",
    [SQ_LIST] = "SELECT address, scope, reason, evidence, created FROM suppression"
                " ORDER BY created, address",
    [SQ_STRIKE] = "INSERT OR IGNORE INTO strike (address, kind, day, evidence)"
                  " VALUES (?1, ?2, ?3, ?4)",
    [SQ_STRIKES] = "SELECT count(*), min(day), max(day) FROM strike WHERE address = ?1 AND"
                   " kind = ?2",
    [SQ_CLEAR] = "DELETE FROM strike WHERE address = ?1",
    [SQ_STRUCK] = "SELECT DISTINCT address FROM strike",
};

struct suppress {
	struct db db;          /* suppress.db (store/db.h) */
	struct strmap *struck; /* addresses with strikes: a delivery clears them */
};

static void norm(const char *in, char out[ADDRESS_MAX])
{
	size_t i = 0;
	for (; in[i] && i + 1 < ADDRESS_MAX; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

int64_t suppress_version(struct suppress *s)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(s->db.h, "PRAGMA data_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int suppress_commit(struct suppress *s, struct err *e)
{
	return s ? db_commit(&s->db, e) : 0;
}

int suppress_open(const char *dir, struct suppress **out, struct err *e)
{
	struct suppress *s = xcalloc(1, sizeof(*s));

	*out = NULL;
	if (db_open(&s->db, "suppression list", dir, "suppress.db", schema, "BEGIN IMMEDIATE", e) !=
	    0) {
		free(s);
		return -1;
	}
	if (db_prepare(&s->db, sql, SQ_MAX, e) != 0) {
		suppress_close(s);
		return -1;
	}
	s->struck = strmap_new();
	sqlite3_stmt *st = db_stmt(&s->db, SQ_STRUCK);
	while (sqlite3_step(st) == SQLITE_ROW)
		strmap_put(s->struck, (const char *)sqlite3_column_text(st, 0), (void *)1);
	*out = s;
	return 0;
}

void suppress_close(struct suppress *s)
{
	if (!s)
		return;
	db_close(&s->db);
	if (s->struck)
		strmap_free(s->struck, NULL);
	free(s);
}

int suppress_add(struct suppress *s, const char *address, const char *scope, const char *reason,
                 const char *evidence, int64_t now_s, struct err *e)
{
	char a[ADDRESS_MAX];

	norm(address, a);
	if (db_begin(&s->db, e) != 0)
		return -1;
	sqlite3_stmt *st = db_stmt(&s->db, SQ_ADD);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, scope ? scope : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, evidence ? evidence : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_s);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(&s->db, e, "add");
	return sqlite3_changes(s->db.h) > 0;
}

static int clear_strikes(struct suppress *s, const char *a, struct err *e)
{
	sqlite3_stmt *st = db_stmt(&s->db, SQ_CLEAR);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(&s->db, e, "clear strikes");
	strmap_remove(s->struck, a);
	return 0;
}

int suppress_remove(struct suppress *s, const char *address, const char *scope, struct err *e)
{
	char a[ADDRESS_MAX];

	norm(address, a);
	if (db_begin(&s->db, e) != 0)
		return -1;
	sqlite3_stmt *st = db_stmt(&s->db, scope ? SQ_REMOVE : SQ_REMOVE_ALL);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (scope)
		sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(&s->db, e, "remove");
	int n = sqlite3_changes(s->db.h);
	return clear_strikes(s, a, e) != 0 ? -1 : n;
}

int suppress_check(struct suppress *s, const char *address, const char *sender_domain,
                   char reason[32], struct err *e)
{
	char a[ADDRESS_MAX];

	norm(address, a);
	sqlite3_stmt *st = db_stmt(&s->db, SQ_CHECK);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sender_domain ? sender_domain : "", -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(reason, 32, "%s", (const char *)sqlite3_column_text(st, 0));
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : db_fail(&s->db, e, "check");
}

int suppress_list(struct suppress *s, suppress_fn cb, void *arg, struct err *e)
{
	sqlite3_stmt *st = db_stmt(&s->db, SQ_LIST);
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct suppression r = {
		    .address = (const char *)sqlite3_column_text(st, 0),
		    .scope = (const char *)sqlite3_column_text(st, 1),
		    .reason = (const char *)sqlite3_column_text(st, 2),
		    .evidence = (const char *)sqlite3_column_text(st, 3),
		    .created_s = sqlite3_column_int64(st, 4),
		};
		cb(arg, &r);
	}
	return rc == SQLITE_DONE ? 0 : db_fail(&s->db, e, "list");
}

static const char *const strike_kinds[] = {[STRIKE_RCPT] = "rcpt", [STRIKE_SOFT] = "soft"};

int suppress_strike(struct suppress *s, const char *address, enum suppress_strike kind,
                    const char *evidence, int64_t now_s, int *days, int64_t *span_s, struct err *e)
{
	char a[ADDRESS_MAX];

	norm(address, a);
	if (db_begin(&s->db, e) != 0)
		return -1;
	sqlite3_stmt *st = db_stmt(&s->db, SQ_STRIKE);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, strike_kinds[kind], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_s / DAY_S);
	sqlite3_bind_text(st, 4, evidence ? evidence : "", -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(&s->db, e, "strike");
	strmap_put(s->struck, a, (void *)1);
	st = db_stmt(&s->db, SQ_STRIKES);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, strike_kinds[kind], -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_fail(&s->db, e, "strikes");
	*days = sqlite3_column_int(st, 0);
	*span_s = (sqlite3_column_int64(st, 2) - sqlite3_column_int64(st, 1)) * DAY_S;
	return 0;
}

int suppress_clear_strikes(struct suppress *s, const char *address, struct err *e)
{
	char a[ADDRESS_MAX];

	norm(address, a);
	if (!strmap_get(s->struck, a))
		return 0; /* the hot path: nothing to clear */
	if (db_begin(&s->db, e) != 0 || clear_strikes(s, a, e) != 0)
		return -1;
	return 1;
}
