/* suppress: see suppress.h. */
#include "store/suppress.h"

#include <ctype.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/strmap.h"
#include "util/xmalloc.h"

#define DAY_S       86400
#define ADDRESS_MAX 512

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
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
	SQ_BEGIN,
	SQ_COMMIT,
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
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
};

struct suppress {
	sqlite3 *db;
	sqlite3_stmt *st[SQ_MAX];
	int in_tx;
	struct strmap *struck; /* addresses with strikes: a delivery clears them */
};

static int db_fail(struct suppress *s, struct err *e, const char *what)
{
	return err_set(e, "suppression list: %s: %s", what, sqlite3_errmsg(s->db));
}

static void norm(const char *in, char out[ADDRESS_MAX])
{
	size_t i = 0;
	for (; in[i] && i + 1 < ADDRESS_MAX; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

static sqlite3_stmt *stmt(struct suppress *s, int i)
{
	sqlite3_reset(s->st[i]);
	sqlite3_clear_bindings(s->st[i]);
	return s->st[i];
}

static int begin(struct suppress *s, struct err *e)
{
	if (s->in_tx)
		return 0;
	if (sqlite3_step(stmt(s, SQ_BEGIN)) != SQLITE_DONE)
		return db_fail(s, e, "begin");
	s->in_tx = 1;
	return 0;
}

int64_t suppress_version(struct suppress *s)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int suppress_commit(struct suppress *s, struct err *e)
{
	if (!s || !s->in_tx)
		return 0;
	if (sqlite3_step(stmt(s, SQ_COMMIT)) != SQLITE_DONE)
		return db_fail(s, e, "commit");
	s->in_tx = 0;
	return 0;
}

int suppress_open(const char *dir, struct suppress **out, struct err *e)
{
	char path[4096];
	struct suppress *s = xcalloc(1, sizeof(*s));

	*out = NULL;
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		free(s);
		return err_set(e, "state directory %s: cannot create: %s", dir, strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/suppress.db", dir);
	char *msg = NULL;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	        SQLITE_OK ||
	    (sqlite3_busy_timeout(s->db, 5000), 0) ||
	    sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(e, "suppression list %s: %s", path,
		        msg     ? msg
		        : s->db ? sqlite3_errmsg(s->db)
		                : "no memory");
		sqlite3_free(msg);
		suppress_close(s);
		return -1;
	}
	for (int i = 0; i < SQ_MAX; i++)
		if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
		                       NULL) != SQLITE_OK) {
			db_fail(s, e, "prepare");
			suppress_close(s);
			return -1;
		}
	s->struck = strmap_new();
	sqlite3_stmt *st = stmt(s, SQ_STRUCK);
	while (sqlite3_step(st) == SQLITE_ROW)
		strmap_put(s->struck, (const char *)sqlite3_column_text(st, 0), (void *)1);
	*out = s;
	return 0;
}

void suppress_close(struct suppress *s)
{
	struct err e;

	if (!s)
		return;
	if (s->db)
		suppress_commit(s, &e);
	for (int i = 0; i < SQ_MAX; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	if (s->struck)
		strmap_free(s->struck, NULL);
	free(s);
}

int suppress_add(struct suppress *s, const char *address, const char *scope, const char *reason,
                 const char *evidence, int64_t now_s, struct err *e)
{
	char a[ADDRESS_MAX];

	norm(address, a);
	if (begin(s, e) != 0)
		return -1;
	sqlite3_stmt *st = stmt(s, SQ_ADD);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, scope ? scope : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, evidence ? evidence : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_s);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, e, "add");
	return sqlite3_changes(s->db) > 0;
}

static int clear_strikes(struct suppress *s, const char *a, struct err *e)
{
	sqlite3_stmt *st = stmt(s, SQ_CLEAR);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, e, "clear strikes");
	strmap_remove(s->struck, a);
	return 0;
}

int suppress_remove(struct suppress *s, const char *address, const char *scope, struct err *e)
{
	char a[ADDRESS_MAX];

	norm(address, a);
	if (begin(s, e) != 0)
		return -1;
	sqlite3_stmt *st = stmt(s, scope ? SQ_REMOVE : SQ_REMOVE_ALL);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (scope)
		sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, e, "remove");
	int n = sqlite3_changes(s->db);
	return clear_strikes(s, a, e) != 0 ? -1 : n;
}

int suppress_check(struct suppress *s, const char *address, const char *sender_domain,
                   char reason[32], struct err *e)
{
	char a[ADDRESS_MAX];

	norm(address, a);
	sqlite3_stmt *st = stmt(s, SQ_CHECK);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sender_domain ? sender_domain : "", -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(reason, 32, "%s", (const char *)sqlite3_column_text(st, 0));
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : db_fail(s, e, "check");
}

int suppress_list(struct suppress *s, suppress_fn cb, void *arg, struct err *e)
{
	sqlite3_stmt *st = stmt(s, SQ_LIST);
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
	return rc == SQLITE_DONE ? 0 : db_fail(s, e, "list");
}

static const char *const strike_kinds[] = {[STRIKE_RCPT] = "rcpt", [STRIKE_SOFT] = "soft"};

int suppress_strike(struct suppress *s, const char *address, enum suppress_strike kind,
                    const char *evidence, int64_t now_s, int *days, int64_t *span_s, struct err *e)
{
	char a[ADDRESS_MAX];

	norm(address, a);
	if (begin(s, e) != 0)
		return -1;
	sqlite3_stmt *st = stmt(s, SQ_STRIKE);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, strike_kinds[kind], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_s / DAY_S);
	sqlite3_bind_text(st, 4, evidence ? evidence : "", -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, e, "strike");
	strmap_put(s->struck, a, (void *)1);
	st = stmt(s, SQ_STRIKES);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, strike_kinds[kind], -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_fail(s, e, "strikes");
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
	if (begin(s, e) != 0 || clear_strikes(s, a, e) != 0)
		return -1;
	return 1;
}
