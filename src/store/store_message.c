/*
 * store_message: submitted messages in queue.db (store.h): the body once
 * in `message`, each recipient a row of its tenant's stream campaign that
 * names it. The engine reads the body when it assembles one recipient's
 * copy, so memory holds a body only while it is being sent.
 */
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_int.h"
#include "util/xmalloc.h"

int store_message_add(struct store *s, const char *qid, const char *tenant, const char *mail_from,
                      const char *body, size_t len, int64_t now_s, int64_t *id, struct err *e)
{
	sqlite3_stmt *st = s->db.st[ST_MESSAGE_ADD];

	if (store_begin(s, e))
		return -1;
	sqlite3_bind_text(st, 1, qid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, mail_from, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 4, body, len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_s);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_db_err(s, e, "store a message");
	*id = sqlite3_last_insert_rowid(s->db.h);
	return 0;
}

int store_message_get(struct store *s, int64_t id, char **body, size_t *len, char **mail_from,
                      struct err *e)
{
	sqlite3_stmt *st = s->db.st[ST_MESSAGE_GET];

	*body = *mail_from = NULL;
	*len = 0;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);
		*len = (size_t)sqlite3_column_bytes(st, 0);
		*body = xstrndup(p ? p : "", *len);
		*mail_from = xstrdup(store_col_text(st, 1));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "read a message");
}

int store_rcpt_add_message(struct store *s, const char *campaign, const char *mailbox,
                           const char *key, const char *domain, int utf8, int64_t message,
                           int64_t now_s, const struct rcpt_times *t, struct err *e)
{
	sqlite3_stmt *st = s->db.st[ST_RCPT_ADD_MSG];
	char mkey[600];

	if (store_begin(s, e))
		return -1;
	/* one row per message and address: the same address twice in one
	 * message is one recipient, in two messages two */
	snprintf(mkey, sizeof(mkey), "%lld/%s", (long long)message, key);
	sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, domain, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, utf8);
	sqlite3_bind_int64(st, 5, now_s);
	sqlite3_bind_text(st, 6, mkey, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, t && t->send_at_s ? t->send_at_s : 0);
	if (t && t->send_at_s)
		sqlite3_bind_int64(st, 8, t->send_at_s);
	else
		sqlite3_bind_null(st, 8);
	if (t && t->expires_at_s)
		sqlite3_bind_int64(st, 9, t->expires_at_s);
	else
		sqlite3_bind_null(st, 9);
	sqlite3_bind_int64(st, 10, message);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_db_err(s, e, "queue recipient");
	return sqlite3_changes(s->db.h) > 0 ? 1 : 0;
}

int store_message_count(struct store *s, const char *tenant, int64_t since_s, int64_t *n,
                        struct err *e)
{
	sqlite3_stmt *st;

	*n = 0;
	if (sqlite3_prepare_v2(s->db.h,
	                       "SELECT count(*) FROM message WHERE tenant = ?1 AND created >= ?2",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "count messages");
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since_s);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : store_db_err(s, e, "count messages");
}

void store_new_qid(char *out)
{
	unsigned char b[10];
	static const char digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; /* Crockford base32 */

	if (RAND_bytes(b, sizeof(b)) != 1)
		abort(); /* no randomness: nothing sensible to do */
	for (size_t i = 0; i < 16; i++) {
		size_t bit = i * 5, k = bit / 8;
		unsigned v = (unsigned)b[k] << 8 | (k + 1 < sizeof(b) ? b[k + 1] : 0);
		out[i] = digits[(v >> (11 - bit % 8)) & 31];
	}
	out[16] = '\0';
}
