/*
 * store_int: the store's private parts, shared by store.c (opening, the
 * queue: campaigns, recipients, fetching, outcomes, site snapshots) and
 * store_watch.c (what is kept beside the queue: warm-up counts, danger
 * signs and pauses, source identities, sending history) and
 * store_control.c (the operator's site pauses and cancels). Only these
 * files speak SQL to queue.db.
 */
#ifndef SLUICE_STORE_STORE_INT_H
#define SLUICE_STORE_STORE_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "store/db.h"
#include "store/store.h"
#include "util/err.h"

enum stmt_id {
	ST_CAMPAIGN_GET,
	ST_CAMPAIGN_ADD,
	ST_RCPT_ADD,
	ST_FETCH,
	ST_NEXT_DUE,
	ST_UPDATE,
	ST_COUNTS,
	ST_POSTPONE,
	ST_SITE_SNAPSHOT,
	ST_WARMUP_ADD,
	ST_RCPT_BY_SALT,
	ST_MESSAGE_ADD,
	ST_MESSAGE_GET,
	ST_RCPT_ADD_MSG,
	ST_EVENT_ADD, /* events.c */
	ST_MAX
};

/* An event into the open transaction (events.c); its uid made there. */
#define STORE_EVENT_ADD_SQL                                                                        \
	"INSERT INTO event(uid, tenant, type, time, campaign, recipient, data)"                    \
	" VALUES (?7, ?1, ?2, ?3, ?4, ?5, ?6)"

struct store {
	struct db db; /* queue.db (store/db.h) */
	int lock_fd;  /* deliver.lock, or -1 */
};

/* A row callback's callback and its argument. */
struct cb_pair {
	void *cb;
	void *arg;
};

/* e = "queue store PATH: what: SQLite's message" (with a hint when the disk is full); -1. */
int store_db_err(struct store *s, struct err *e, const char *what);
/* Binds v, or NULL when v is NULL. */
void store_bind_text_or_null(sqlite3_stmt *st, int i, const char *v);
/* Opens the group-commit transaction if none is open. */
int store_begin(struct store *s, struct err *e);
/* Runs sql with ?1 = bind1 (if not NULL) and ?2 = bind2, calling row per row. */
int store_each_row(struct store *s, const char *sql, const char *bind1, int64_t bind2,
                   void (*row)(sqlite3_stmt *st, void *arg), void *arg, struct err *e);
/* Column i as text ("" for NULL). */
const char *store_col_text(sqlite3_stmt *st, int i);

#endif
