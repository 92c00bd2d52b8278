/* lookup: see lookup.h. */
#include "store/lookup.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

#define COLS                                                                                       \
	"SELECT id, campaign, mailbox, state, attempts, queued_at, next_attempt,"                  \
	" coalesce(last_code, 0), last_enhanced, last_reply, last_stage, category, last_mx"        \
	" FROM recipient "

static int each(struct store *s, sqlite3_stmt *st, store_rcpt_row_fn cb, void *arg, struct err *e)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct rcpt_row r = {
		    .id = sqlite3_column_int64(st, 0),
		    .campaign = store_col_text(st, 1),
		    .mailbox = store_col_text(st, 2),
		    .state = sqlite3_column_int(st, 3),
		    .attempts = sqlite3_column_int(st, 4),
		    .queued_at_s = sqlite3_column_int64(st, 5),
		    .next_attempt_s = sqlite3_column_int64(st, 6),
		    .last_code = sqlite3_column_int(st, 7),
		    .last_enhanced = store_col_text(st, 8),
		    .last_reply = store_col_text(st, 9),
		    .last_stage = store_col_text(st, 10),
		    .category = store_col_text(st, 11),
		    .last_mx = store_col_text(st, 12),
		};
		cb(arg, &r);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "recipient lookup");
}

int store_rcpt_lookup(struct store *s, const char *mailbox, store_rcpt_row_fn cb, void *arg,
                      struct err *e)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db.h, COLS "WHERE mailbox = ?1 ORDER BY id DESC LIMIT ?2", -1,
	                       &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "recipient lookup");
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, STORE_LOOKUP_MAX);
	return each(s, st, cb, arg, e);
}

int store_rcpt_range(struct store *s, const char *campaign, int64_t first, int64_t last,
                     store_rcpt_row_fn cb, void *arg, struct err *e)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(
	        s->db.h, COLS "WHERE campaign = ?1 AND id BETWEEN ?2 AND ?3 ORDER BY id LIMIT ?4",
	        -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "recipient lookup");
	sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, first);
	sqlite3_bind_int64(st, 3, last);
	sqlite3_bind_int(st, 4, STORE_LOOKUP_MAX);
	return each(s, st, cb, arg, e);
}

int store_message_lookup(struct store *s, const char *qid, const char *tenant,
                         struct store_message_info *out, store_rcpt_row_fn cb, void *arg,
                         struct err *e)
{
	sqlite3_stmt *st;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(s->db.h,
	                       "SELECT id, mail_from, created FROM message"
	                       " WHERE qid = ?1 AND tenant = ?2",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "message lookup");
	sqlite3_bind_text(st, 1, qid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(st, 0);
		snprintf(out->mail_from, sizeof(out->mail_from), "%s", store_col_text(st, 1));
		out->created_s = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return store_db_err(s, e, "message lookup");
	if (sqlite3_prepare_v2(s->db.h, COLS "WHERE message = ?1 ORDER BY id LIMIT ?2", -1, &st,
	                       NULL) != SQLITE_OK)
		return store_db_err(s, e, "message lookup");
	sqlite3_bind_int64(st, 1, out->id);
	sqlite3_bind_int(st, 2, STORE_MESSAGE_RCPTS_MAX);
	return each(s, st, cb, arg, e) == 0 ? 1 : -1;
}
