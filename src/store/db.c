/* db: see db.h. */
#include "store/db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "util/xmalloc.h"

#define BUSY_TIMEOUT_MS 5000

static const char pragmas[] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;";

/* SQLite says "disk I/O error" for several causes; name the likely one. */
static const char *fs_hint(const char *dir)
{
	struct statvfs vfs;

	if (dir && statvfs(dir, &vfs) == 0 && vfs.f_bavail * vfs.f_frsize < 64 * 1024)
		return " (the state directory's filesystem is full)";
	return "";
}

int db_fail(struct db *d, struct err *e, const char *op)
{
	return err_set(e, "%s %s: %s: %s%s", d->what, d->path, op,
	               d->h ? sqlite3_errmsg(d->h) : "no memory", fs_hint(d->dir));
}

int db_exec(struct db *d, const char *sql, const char *op, struct err *e)
{
	char *msg = NULL;

	if (sqlite3_exec(d->h, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	err_set(e, "%s %s: %s: %s%s", d->what, d->path, op, msg ? msg : sqlite3_errmsg(d->h),
	        fs_hint(d->dir));
	sqlite3_free(msg);
	return -1;
}

int db_open(struct db *d, const char *what, const char *dir, const char *file, const char *schema,
            const char *begin_sql, struct err *e)
{
	struct stat sb;

	memset(d, 0, sizeof(*d));
	d->what = what;
	if (mkdir(dir, 0750) != 0 && errno != EEXIST)
		return err_set(e, "state directory %s: cannot create: %s", dir, strerror(errno));
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return err_set(e, "state directory %s: not a directory", dir);
	d->dir = xstrdup(dir);
	size_t n = strlen(dir) + strlen(file) + 2;
	d->path = xmalloc(n);
	snprintf(d->path, n, "%s/%s", dir, file);
	if (sqlite3_open_v2(d->path, &d->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		db_fail(d, e, "open");
		db_close(d);
		return -1;
	}
	sqlite3_busy_timeout(d->h, BUSY_TIMEOUT_MS);
	if (db_exec(d, pragmas, "pragmas", e) != 0 ||
	    (schema && db_exec(d, schema, "schema", e) != 0)) {
		db_close(d);
		return -1;
	}
	if (sqlite3_prepare_v3(d->h, begin_sql, -1, SQLITE_PREPARE_PERSISTENT, &d->begin, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v3(d->h, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &d->commit, NULL) !=
	        SQLITE_OK) {
		db_fail(d, e, "prepare");
		db_close(d);
		return -1;
	}
	return 0;
}

int db_prepare(struct db *d, const char *const *sql, size_t n, struct err *e)
{
	d->st = xcalloc(n, sizeof(*d->st));
	d->nst = n;
	for (size_t i = 0; i < n; i++)
		if (sqlite3_prepare_v3(d->h, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &d->st[i],
		                       NULL) != SQLITE_OK)
			return db_fail(d, e, "prepare");
	return 0;
}

sqlite3_stmt *db_stmt(struct db *d, size_t i)
{
	sqlite3_reset(d->st[i]);
	sqlite3_clear_bindings(d->st[i]);
	return d->st[i];
}

int db_begin(struct db *d, struct err *e)
{
	if (d->in_txn)
		return 0;
	int rc = sqlite3_step(d->begin);
	sqlite3_reset(d->begin);
	if (rc != SQLITE_DONE)
		return db_fail(d, e, "begin");
	d->in_txn = 1;
	return 0;
}

int db_commit(struct db *d, struct err *e)
{
	if (!d->in_txn)
		return 0;
	int rc = sqlite3_step(d->commit);
	sqlite3_reset(d->commit);
	d->in_txn = 0;
	if (rc == SQLITE_DONE)
		return 0;
	db_fail(d, e, "commit");
	/* SQLite rolls back on a full disk; leave no transaction half-open. */
	if (!sqlite3_get_autocommit(d->h))
		sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

void db_close(struct db *d)
{
	struct err e;

	if (d->h)
		db_commit(d, &e);
	for (size_t i = 0; i < d->nst; i++)
		sqlite3_finalize(d->st[i]);
	sqlite3_finalize(d->begin);
	sqlite3_finalize(d->commit);
	sqlite3_close(d->h);
	free(d->st);
	free(d->dir);
	free(d->path);
	memset(d, 0, sizeof(*d));
}
