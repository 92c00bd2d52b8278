/*
 * db: what the store's SQLite files have in common (queue.db in store.c,
 * suppress.db in suppress.c): opening one in the state directory with the
 * same pragmas (WAL, synchronous=FULL, a 5 s busy timeout) and its schema,
 * a table of prepared statements, one transaction at a time, and errors
 * that name the file and, when the disk is full, say so. Private to
 * src/store/: no other folder speaks SQL.
 */
#ifndef SLUICE_STORE_DB_H
#define SLUICE_STORE_DB_H

#include <sqlite3.h>
#include <stddef.h>

#include "util/err.h"

struct db {
	const char *what; /* "queue store", "suppression list": the start of its errors */
	char *dir, *path;
	sqlite3 *h;
	sqlite3_stmt **st; /* prepared statements, by the owner's index */
	size_t nst;
	sqlite3_stmt *begin, *commit;
	int in_txn;
};

/* Opens (creating) dir/file: the state directory is made if missing, the
 * pragmas set and schema run (SQL, may be NULL); begin_sql starts its
 * transactions ("BEGIN" or "BEGIN IMMEDIATE"). 0, or -1 with e naming the
 * file (d is then closed). */
int db_open(struct db *d, const char *what, const char *dir, const char *file, const char *schema,
            const char *begin_sql, struct err *e);
/* Prepares the owner's n statements (once its schema is complete). 0 or -1. */
int db_prepare(struct db *d, const char *const *sql, size_t n, struct err *e);
/* Statement i, reset and with its bindings cleared. */
sqlite3_stmt *db_stmt(struct db *d, size_t i);
/* Runs SQL that returns nothing; 0, or -1 with e (op names it). */
int db_exec(struct db *d, const char *sql, const char *op, struct err *e);
/* Starts a transaction unless one is open. 0 or -1. */
int db_begin(struct db *d, struct err *e);
/* Commits the open transaction, if any. A failed commit (a full disk) is
 * rolled back, so no transaction stays half-open: what it held is lost,
 * and the caller must treat it as not done (the engine stops with the
 * error; inbound answers 451, so the sender tries again). 0 or -1. */
int db_commit(struct db *d, struct err *e);
/* Sets e to "WHAT PATH: op: SQLite's message" (and a full-disk hint); -1. */
int db_fail(struct db *d, struct err *e, const char *op);
/* Commits what is open, finalizes, closes; d may be half-opened. */
void db_close(struct db *d);

#endif
