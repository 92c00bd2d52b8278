/* store: see store.h. The queue itself (campaigns, recipients, fetching,
 * outcomes) lives here; store_watch.c holds the bookkeeping beside it. */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/tenant.h"
#include <sys/stat.h>
#include <sys/file.h>
#include <unistd.h>

#include "store/events.h"
#include "store/idempotency.h"
#include "store/learned.h"
#include "store/srcblock.h"
#include "store/provider_state.h"
#include "store/store_int.h"
#include "util/xmalloc.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS campaign("
    " id TEXT PRIMARY KEY, template BLOB NOT NULL, template_path TEXT,"
    " names BLOB NOT NULL, envelope_from TEXT NOT NULL, salt TEXT NOT NULL,"
    " created INTEGER NOT NULL, priority INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS recipient("
    " id INTEGER PRIMARY KEY, campaign TEXT NOT NULL, mailbox TEXT NOT NULL,"
    " domain TEXT NOT NULL, fields BLOB NOT NULL, utf8 INTEGER NOT NULL DEFAULT 0,"
    " state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt INTEGER NOT NULL DEFAULT 0, queued_at INTEGER NOT NULL,"
    " last_code INTEGER, last_enhanced TEXT, last_reply TEXT, last_stage TEXT,"
    " category TEXT, last_mx TEXT, mkey TEXT, send_at INTEGER, expires_at INTEGER,"
    " message INTEGER);"
    "CREATE INDEX IF NOT EXISTS recipient_ready"
    " ON recipient(campaign, state, next_attempt, id);"
    "CREATE TABLE IF NOT EXISTS site_state("
    " site TEXT PRIMARY KEY, campaign TEXT, queued INTEGER, in_flight INTEGER,"
    " conns INTEGER, conn_limit INTEGER, rate REAL, rate_limit REAL,"
    " suspended_until INTEGER, reason TEXT, updated INTEGER);"
    "CREATE TABLE IF NOT EXISTS sign(campaign TEXT NOT NULL, time INTEGER NOT NULL,"
    " kind TEXT NOT NULL, detail TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS campaign_pause(campaign TEXT PRIMARY KEY, reason TEXT NOT NULL,"
    " time INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS warmup_source(ip TEXT PRIMARY KEY, first_day INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS source_identity(ip TEXT PRIMARY KEY, helo TEXT NOT NULL,"
    " since INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS warmup_count(ip TEXT NOT NULL, day INTEGER NOT NULL,"
    " site TEXT NOT NULL, sent INTEGER NOT NULL, PRIMARY KEY(ip, day, site));"
    "CREATE TABLE IF NOT EXISTS site_pause(scope TEXT NOT NULL, target TEXT NOT NULL,"
    " reason TEXT NOT NULL, until INTEGER NOT NULL, time INTEGER NOT NULL,"
    " PRIMARY KEY(scope, target));"
    "CREATE TABLE IF NOT EXISTS warmup_health(ip TEXT NOT NULL, day INTEGER NOT NULL,"
    " grp TEXT NOT NULL, attempts INTEGER NOT NULL, deferred INTEGER NOT NULL,"
    " blocked INTEGER NOT NULL, complaints INTEGER NOT NULL, PRIMARY KEY(ip, day, grp));"
    "CREATE TABLE IF NOT EXISTS warmup_level(ip TEXT NOT NULL, grp TEXT NOT NULL,"
    " day INTEGER NOT NULL, level INTEGER NOT NULL, reason TEXT NOT NULL,"
    " PRIMARY KEY(ip, grp));"
    "CREATE TABLE IF NOT EXISTS warmup_sent(campaign TEXT NOT NULL, mailbox TEXT NOT NULL,"
    " ip TEXT NOT NULL, grp TEXT NOT NULL, day INTEGER NOT NULL,"
    " PRIMARY KEY(campaign, mailbox));"
    "CREATE TABLE IF NOT EXISTS message(id INTEGER PRIMARY KEY, qid TEXT NOT NULL UNIQUE,"
    " tenant TEXT NOT NULL, mail_from TEXT NOT NULL, body BLOB NOT NULL,"
    " created INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS message_tenant ON message(tenant, created);"
    "CREATE TABLE IF NOT EXISTS campaign_cancel(campaign TEXT PRIMARY KEY, reason TEXT NOT NULL,"
    " time INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE IF NOT EXISTS control_request(id INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
    " scope TEXT NOT NULL, target TEXT NOT NULL, campaign TEXT, reason TEXT NOT NULL,"
    " time INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0, result TEXT);"
    "CREATE TABLE IF NOT EXISTS move_back(campaign TEXT PRIMARY KEY, pool TEXT NOT NULL,"
    " due INTEGER NOT NULL, reason TEXT NOT NULL, time INTEGER NOT NULL);";

static const char *const stmt_sql[ST_MAX] = {
    [ST_RCPT_BY_SALT] = "SELECT r.mailbox, c.id FROM campaign c JOIN recipient r"
                        " ON r.campaign = c.id WHERE c.salt = ?1 AND r.id = ?2",
    [ST_CAMPAIGN_GET] = "SELECT template, template_path, names, envelope_from, salt, created,"
                        " priority, tenant, kind, pool FROM campaign WHERE id = ?1",
    [ST_CAMPAIGN_ADD] = "INSERT INTO campaign(id, template, template_path, names,"
                        " envelope_from, salt, created, priority, tenant, kind, pool)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_MESSAGE_ADD] = "INSERT INTO message(qid, tenant, mail_from, body, created)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_MESSAGE_GET] = "SELECT body, mail_from FROM message WHERE id = ?1",
    [ST_RCPT_ADD_MSG] = "INSERT OR IGNORE INTO recipient(campaign, mailbox, domain, fields, utf8,"
                        " queued_at, mkey, next_attempt, send_at, expires_at, message)"
                        " VALUES (?1, ?2, ?3, x'', ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [ST_RCPT_ADD] = "INSERT OR IGNORE INTO recipient(campaign, mailbox, domain, fields, utf8,"
                    " queued_at, mkey, next_attempt, send_at, expires_at)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [ST_FETCH] = "SELECT id, mailbox, domain, fields, utf8, attempts, queued_at, next_attempt,"
                 " coalesce(send_at, 0), coalesce(expires_at, 0), coalesce(message, 0)"
                 " FROM recipient WHERE campaign = "
                 "?1 AND state = 0 AND next_attempt <= ?2"
                 " AND (next_attempt, id) > (?3, ?4) ORDER BY next_attempt, id LIMIT ?5",
    [ST_NEXT_DUE] = "SELECT min(next_attempt) FROM recipient WHERE campaign = ?1 AND state = 0",
    [ST_UPDATE] = "UPDATE recipient SET state = ?2, attempts = ?3, next_attempt = ?4,"
                  " last_code = ?5, last_enhanced = ?6, last_reply = ?7, last_stage = ?8,"
                  " category = ?9, last_mx = coalesce(?10, last_mx) WHERE id = ?1",
    [ST_COUNTS] = "SELECT state, count(*) FROM recipient WHERE campaign = ?1 GROUP BY state",
    [ST_POSTPONE] = "UPDATE recipient SET next_attempt = ?2 WHERE id = ?1 AND state = 0",
    [ST_WARMUP_ADD] = "INSERT INTO warmup_count(ip, day, site, sent) VALUES (?1, ?2, ?3, 1)"
                      " ON CONFLICT(ip, day, site) DO UPDATE SET sent = sent + 1",
    [ST_SITE_SNAPSHOT] = "INSERT OR REPLACE INTO site_state(site, campaign, queued, in_flight,"
                         " conns, conn_limit, rate, rate_limit, suspended_until, reason, updated)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_EVENT_ADD] = STORE_EVENT_ADD_SQL,
};

int store_db_err(struct store *s, struct err *e, const char *what)
{
	return db_fail(&s->db, e, what);
}

void store_bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

int store_begin(struct store *s, struct err *e)
{
	return db_begin(&s->db, e);
}

/* Queues made before submitted messages had UNIQUE(campaign, mailbox),
 * which a tenant's stream (many messages to one address) cannot keep:
 * the table is rebuilt once without it. Duplicates stay refused by the
 * (campaign, mkey) index; rows from before mkey get their folded address. */
static int store_migrate_unique(struct store *s, struct err *e)
{
	sqlite3_stmt *st;
	int old = 0;

	if (sqlite3_prepare_v2(s->db.h, "SELECT sql FROM sqlite_master WHERE name = 'recipient'",
	                       -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "schema");
	if (sqlite3_step(st) == SQLITE_ROW)
		old = strstr(store_col_text(st, 0), "UNIQUE(campaign, mailbox)") != NULL;
	sqlite3_finalize(st);
	if (!old)
		return 0;
	static const char rebuild[] =
	    "BEGIN IMMEDIATE;"
	    "UPDATE recipient SET mkey = lower(mailbox) WHERE mkey IS NULL;"
	    "CREATE TABLE recipient_new("
	    " id INTEGER PRIMARY KEY, campaign TEXT NOT NULL, mailbox TEXT NOT NULL,"
	    " domain TEXT NOT NULL, fields BLOB NOT NULL, utf8 INTEGER NOT NULL DEFAULT 0,"
	    " state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
	    " next_attempt INTEGER NOT NULL DEFAULT 0, queued_at INTEGER NOT NULL,"
	    " last_code INTEGER, last_enhanced TEXT, last_reply TEXT, last_stage TEXT,"
	    " category TEXT, last_mx TEXT, mkey TEXT, send_at INTEGER, expires_at INTEGER,"
	    " message INTEGER);"
	    "INSERT INTO recipient_new SELECT id, campaign, mailbox, domain, fields, utf8, state,"
	    " attempts, next_attempt, queued_at, last_code, last_enhanced, last_reply, last_stage,"
	    " category, last_mx, mkey, send_at, expires_at, message FROM recipient;"
	    "DROP TABLE recipient;"
	    "ALTER TABLE recipient_new RENAME TO recipient;"
	    "CREATE INDEX recipient_ready ON recipient(campaign, state, next_attempt, id);"
	    "COMMIT;";
	if (sqlite3_exec(s->db.h, rebuild, NULL, NULL, NULL) != SQLITE_OK) {
		store_db_err(s, e, "rebuild the recipient table");
		sqlite3_exec(s->db.h, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* Columns added since the first queues: each looked for first, each ALTER
 * on its own, and only "there already" taken as done. Any other failure (a full disk) is an
 * error: ignored, it left a queue without a column that the next start, its
 * first ALTER then failing as "duplicate", would never add. */
static int store_add_columns(struct store *s, struct err *e)
{
	static const char *const cols[][2] = {
	    {"campaign", "priority INTEGER NOT NULL DEFAULT 0"},
	    {"recipient", "last_mx TEXT"},
	    /* the duplicate key (the mailbox, its local part folded unless the
	     * config says otherwise): rows queued before it get theirs in
	     * store_migrate_unique */
	    {"recipient", "mkey TEXT"},
	    /* send time and expiry: NULL in rows queued before them */
	    {"recipient", "send_at INTEGER"},
	    {"recipient", "expires_at INTEGER"},
	    /* tenants and submitted messages: a campaign's owner, kind and
	     * pool; a recipient's message (NULL: rendered from its campaign) */
	    {"campaign", "tenant TEXT NOT NULL DEFAULT 'default'"},
	    {"campaign", "kind INTEGER NOT NULL DEFAULT 0"},
	    {"campaign", "pool TEXT"},
	    {"recipient", "message INTEGER"},
	    /* a cancel requested of the running engine (done 0) or performed */
	    {"campaign_cancel", "done INTEGER NOT NULL DEFAULT 1"},
	};
	char sql[200], name[64];

	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		sqlite3_stmt *st;
		int have = 0;
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(cols[i][1], " "), cols[i][1]);
		snprintf(sql, sizeof(sql), "SELECT 1 FROM pragma_table_info('%s') WHERE name = ?1",
		         cols[i][0]);
		if (sqlite3_prepare_v2(s->db.h, sql, -1, &st, NULL) != SQLITE_OK)
			return store_db_err(s, e, "read the schema");
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		have = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
		if (have) /* the usual case: read only, so it never waits for a writer */
			continue;
		snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s", cols[i][0], cols[i][1]);
		if (sqlite3_exec(s->db.h, sql, NULL, NULL, NULL) != SQLITE_OK &&
		    !strstr(sqlite3_errmsg(s->db.h), "duplicate column name"))
			return store_db_err(s, e, "add a column");
	}
	return 0;
}

int store_open(const char *dir, struct store **out, struct err *e)
{
	*out = NULL;
	struct store *s = xcalloc(1, sizeof(*s));
	s->lock_fd = -1;
	if (db_open(&s->db, "queue store", dir, "queue.db", schema, "BEGIN", e) != 0) {
		free(s);
		return -1;
	}
	/* columns a queue made by an earlier sluice lacks (store_add_columns) */
	if (store_add_columns(s, e) != 0) {
		store_close(s);
		return -1;
	}
	if (store_migrate_unique(s, e) != 0) {
		store_close(s);
		return -1;
	}
	if (db_exec(&s->db,
	            "CREATE UNIQUE INDEX IF NOT EXISTS recipient_mkey ON recipient(campaign, mkey)",
	            "index", e) != 0 ||
	    /* a submitted message's recipients (GET /v1/messages/{id}) */
	    db_exec(&s->db,
	            "CREATE INDEX IF NOT EXISTS recipient_message ON recipient(message)"
	            " WHERE message IS NOT NULL",
	            "index", e) != 0 ||
	    store_idem_init(s, e) != 0 ||           /* the API's tables (idempotency.c) */
	    store_learned_init(s, e) != 0 ||        /* learned limits (learned.c) */
	    store_srcblock_init(s, e) != 0 ||       /* source failover's blocks (srcblock.c) */
	    store_events_init(s, e) != 0 ||         /* events and webhook cursors (events.c) */
	    store_provider_state_init(s, e) != 0 || /* provider totals (provider_state.c) */
	    db_prepare(&s->db, stmt_sql, ST_MAX, e) != 0) {
		store_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

int store_lock_delivery(struct store *s, long *holder, struct err *e)
{
	char path[4096], buf[32];

	*holder = 0;
	snprintf(path, sizeof(path), "%s/deliver.lock", s->db.dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return err_set(e, "%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		*holder = strtol(buf, NULL, 10);
		close(fd);
		return 0;
	}
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		/* the pid is for messages only; the lock is what counts */
	}
	s->lock_fd = fd;
	return 1;
}

int store_commit(struct store *s, struct err *e)
{
	return db_commit(&s->db, e);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	db_close(&s->db);
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* releases the flock */
	free(s);
}

static char *col_dup(sqlite3_stmt *st, int i, size_t *len)
{
	const void *p = sqlite3_column_blob(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);
	if (len)
		*len = n;
	return xstrndup(p ? p : "", n);
}

int store_campaign_get(struct store *s, const char *id, struct campaign_rec *out, struct err *e)
{
	sqlite3_stmt *st = s->db.st[ST_CAMPAIGN_GET];
	int rc;

	memset(out, 0, sizeof(*out));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->id = xstrdup(id);
		out->template_text = col_dup(st, 0, &out->template_len);
		out->template_path = col_dup(st, 1, NULL);
		out->names = col_dup(st, 2, &out->names_len);
		out->envelope_from = col_dup(st, 3, NULL);
		out->salt = col_dup(st, 4, NULL);
		out->created_s = sqlite3_column_int64(st, 5);
		out->priority = sqlite3_column_int(st, 6);
		out->tenant = col_dup(st, 7, NULL);
		out->kind = sqlite3_column_int(st, 8);
		out->pool = sqlite3_column_type(st, 9) == SQLITE_NULL ? NULL : col_dup(st, 9, NULL);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "campaign lookup");
}

int store_rcpt_by_salt(struct store *s, const char *salt, int64_t id, char *mailbox, size_t mn,
                       char *campaign, size_t cn, struct err *e)
{
	sqlite3_stmt *st = s->db.st[ST_RCPT_BY_SALT];

	sqlite3_bind_text(st, 1, salt, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(mailbox, mn, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(campaign, cn, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "recipient lookup");
}

int store_campaign_add(struct store *s, const struct campaign_rec *c, struct err *e)
{
	sqlite3_stmt *st = s->db.st[ST_CAMPAIGN_ADD];

	if (store_begin(s, e))
		return -1;
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, c->template_text, (int)c->template_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->template_path, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, c->names, (int)c->names_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, c->envelope_from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, c->salt, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, c->created_s);
	sqlite3_bind_int(st, 8, c->priority);
	sqlite3_bind_text(st, 9, c->tenant ? c->tenant : TENANT_DEFAULT, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 10, c->kind);
	store_bind_text_or_null(st, 11, c->pool);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "add campaign");
}

void store_campaign_free(struct campaign_rec *c)
{
	free(c->id);
	free(c->template_text);
	free(c->template_path);
	free(c->names);
	free(c->envelope_from);
	free(c->salt);
	free(c->tenant);
	free(c->pool);
	memset(c, 0, sizeof(*c));
}

int store_rcpt_add(struct store *s, const char *campaign, const char *mailbox, const char *key,
                   const char *domain, const char *fields, size_t fields_len, int utf8,
                   int64_t now_s, struct err *e)
{
	return store_rcpt_add_at(s, campaign, mailbox, key, domain, fields, fields_len, utf8, now_s,
	                         NULL, e);
}

static void bind_time_or_null(sqlite3_stmt *st, int i, int64_t t)
{
	if (t)
		sqlite3_bind_int64(st, i, t);
	else
		sqlite3_bind_null(st, i);
}

int store_rcpt_add_at(struct store *s, const char *campaign, const char *mailbox, const char *key,
                      const char *domain, const char *fields, size_t fields_len, int utf8,
                      int64_t now_s, const struct rcpt_times *t, struct err *e)
{
	sqlite3_stmt *st = s->db.st[ST_RCPT_ADD];
	struct rcpt_times none = {0, 0};

	if (store_begin(s, e))
		return -1;
	sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, domain, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, fields, (int)fields_len, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, utf8);
	sqlite3_bind_int64(st, 6, now_s);
	sqlite3_bind_text(st, 7, key, -1, SQLITE_STATIC);
	if (!t)
		t = &none;
	sqlite3_bind_int64(st, 8, t->send_at_s); /* 0: due at once, as before */
	bind_time_or_null(st, 9, t->send_at_s);
	bind_time_or_null(st, 10, t->expires_at_s);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_db_err(s, e, "queue recipient");
	return sqlite3_changes(s->db.h) > 0 ? 1 : 0;
}

int store_fetch_ready(struct store *s, const char *campaign, struct store_cursor *cur,
                      int64_t now_s, int limit, store_rcpt_fn cb, void *arg, struct err *e)
{
	sqlite3_stmt *st = s->db.st[ST_FETCH];
	int n = 0, rc;

	sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_s);
	sqlite3_bind_int64(st, 3, cur->due);
	sqlite3_bind_int64(st, 4, cur->id);
	sqlite3_bind_int(st, 5, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct queued_rcpt *r = xcalloc(1, sizeof(*r));
		r->id = sqlite3_column_int64(st, 0);
		r->mailbox = col_dup(st, 1, NULL);
		r->domain = col_dup(st, 2, NULL);
		r->fields = col_dup(st, 3, &r->fields_len);
		r->utf8 = sqlite3_column_int(st, 4);
		r->attempts = sqlite3_column_int(st, 5);
		r->queued_at_s = sqlite3_column_int64(st, 6);
		r->next_attempt_s = sqlite3_column_int64(st, 7);
		r->send_at_s = sqlite3_column_int64(st, 8);
		r->expires_at_s = sqlite3_column_int64(st, 9);
		r->message = sqlite3_column_int64(st, 10);
		cur->due = r->next_attempt_s;
		cur->id = r->id;
		n++;
		cb(arg, r);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? n : store_db_err(s, e, "fetch ready recipients");
}

int store_next_due(struct store *s, const char *campaign, int64_t *due, struct err *e)
{
	sqlite3_stmt *st = s->db.st[ST_NEXT_DUE];

	*due = -1;
	sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*due = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : store_db_err(s, e, "next due time");
}

int store_group_counts(struct store *s, const char *campaign, const char *by, store_group_fn cb,
                       void *arg, struct err *e)
{
	const char *sql;
	sqlite3_stmt *st;
	int rc;

	if (strcmp(by, "domain") == 0)
		sql = "SELECT domain, state, count(*) AS n FROM recipient WHERE campaign = ?1"
		      " GROUP BY domain, state ORDER BY n DESC";
	else if (strcmp(by, "mx") == 0)
		sql = "SELECT coalesce(last_mx, ''), state, count(*) AS n FROM recipient"
		      " WHERE campaign = ?1 GROUP BY 1, state ORDER BY n DESC";
	else if (strcmp(by, "category") == 0)
		sql = "SELECT coalesce(category, 'not tried yet'), state, count(*) AS n FROM "
		      "recipient"
		      " WHERE campaign = ?1 GROUP BY 1, state ORDER BY n DESC";
	else
		return err_set(e, "queue store: cannot group by %s", by);
	if (sqlite3_prepare_v2(s->db.h, sql, -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "summary");
	sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int(st, 1),
		   sqlite3_column_int64(st, 2));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "summary");
}

int store_rcpt_update(struct store *s, int64_t id, const struct rcpt_outcome *o, struct err *e)
{
	sqlite3_stmt *st = s->db.st[ST_UPDATE];

	if (store_begin(s, e))
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, o->state);
	sqlite3_bind_int(st, 3, o->attempts);
	sqlite3_bind_int64(st, 4, o->next_attempt_s);
	sqlite3_bind_int(st, 5, o->code);
	store_bind_text_or_null(st, 6, o->enhanced);
	store_bind_text_or_null(st, 7, o->text);
	store_bind_text_or_null(st, 8, o->stage);
	store_bind_text_or_null(st, 9, o->category);
	store_bind_text_or_null(st, 10, o->mx);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "update recipient");
}

int store_rcpt_postpone(struct store *s, int64_t id, int64_t due_s, struct err *e)
{
	sqlite3_stmt *st = s->db.st[ST_POSTPONE];

	if (store_begin(s, e))
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, due_s);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "postpone recipient");
}

int store_site_snapshot(struct store *s, const struct site_snapshot *snap, struct err *e)
{
	sqlite3_stmt *st = s->db.st[ST_SITE_SNAPSHOT];

	if (store_begin(s, e))
		return -1;
	sqlite3_bind_text(st, 1, snap->site, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, snap->campaign, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, snap->queued);
	sqlite3_bind_int64(st, 4, snap->in_flight);
	sqlite3_bind_int(st, 5, snap->conns);
	sqlite3_bind_int(st, 6, snap->conn_limit);
	sqlite3_bind_double(st, 7, snap->rate);
	sqlite3_bind_double(st, 8, snap->rate_limit);
	sqlite3_bind_int64(st, 9, snap->suspended_until_s);
	store_bind_text_or_null(st, 10, snap->reason && snap->reason[0] ? snap->reason : NULL);
	sqlite3_bind_int64(st, 11, snap->updated_s);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "site snapshot");
}

/* Runs a one-off read query, calling row for each row. */
int store_each_row(struct store *s, const char *sql, const char *bind1, int64_t bind2,
                   void (*row)(sqlite3_stmt *st, void *arg), void *arg, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db.h, sql, -1, &st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "query");
	if (bind1)
		sqlite3_bind_text(st, 1, bind1, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, bind2);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		row(st, arg);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "query");
}

const char *store_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

static void site_row(sqlite3_stmt *st, void *arg)
{
	struct cb_pair *p = arg;
	struct site_snapshot snap = {
	    .site = store_col_text(st, 0),
	    .campaign = store_col_text(st, 1),
	    .queued = sqlite3_column_int64(st, 2),
	    .in_flight = sqlite3_column_int64(st, 3),
	    .conns = sqlite3_column_int(st, 4),
	    .conn_limit = sqlite3_column_int(st, 5),
	    .rate = sqlite3_column_double(st, 6),
	    .rate_limit = sqlite3_column_double(st, 7),
	    .suspended_until_s = sqlite3_column_int64(st, 8),
	    .reason = store_col_text(st, 9),
	    .updated_s = sqlite3_column_int64(st, 10),
	};
	((store_site_fn)p->cb)(p->arg, &snap);
}

int store_site_snapshots(struct store *s, store_site_fn cb, void *arg, struct err *e)
{
	struct cb_pair p = {(void *)cb, arg};
	return store_each_row(s,
	                      "SELECT site, campaign, queued, in_flight, conns, conn_limit, rate,"
	                      " rate_limit, suspended_until, reason, updated FROM site_state"
	                      " ORDER BY updated DESC, queued DESC, site",
	                      NULL, 0, site_row, &p, e);
}

static void campaign_row(sqlite3_stmt *st, void *arg)
{
	struct cb_pair *p = arg;
	((store_campaign_fn)p->cb)(p->arg, store_col_text(st, 0), sqlite3_column_int64(st, 1));
}

int store_campaigns(struct store *s, store_campaign_fn cb, void *arg, struct err *e)
{
	struct cb_pair p = {(void *)cb, arg};
	return store_each_row(s, "SELECT id, created FROM campaign ORDER BY created", NULL, 0,
	                      campaign_row, &p, e);
}

struct ready_counts {
	int64_t *ready, *later;
};

static void ready_row(sqlite3_stmt *st, void *arg)
{
	struct ready_counts *c = arg;
	*c->ready = sqlite3_column_int64(st, 0);
	*c->later = sqlite3_column_int64(st, 1);
}

int store_ready_counts(struct store *s, const char *campaign, int64_t now_s, int64_t *ready,
                       int64_t *later, struct err *e)
{
	struct ready_counts c = {ready, later};
	*ready = *later = 0;
	return store_each_row(
	    s,
	    "SELECT coalesce(sum(next_attempt <= ?2), 0), coalesce(sum(next_attempt > ?2), 0)"
	    " FROM recipient WHERE campaign = ?1 AND state = 0",
	    campaign, now_s, ready_row, &c, e);
}

void queued_rcpt_free(struct queued_rcpt *r)
{
	if (!r)
		return;
	free(r->mailbox);
	free(r->domain);
	free(r->fields);
	free(r);
}

int store_counts(struct store *s, const char *campaign, int64_t counts[RS_COUNT], struct err *e)
{
	sqlite3_stmt *st = s->db.st[ST_COUNTS];
	int rc;

	for (int i = 0; i < RS_COUNT; i++)
		counts[i] = 0;
	sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int state = sqlite3_column_int(st, 0);
		if (state >= 0 && state < RS_COUNT)
			counts[state] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "count recipients");
}

int store_campaign_owner_set(struct store *s, const char *campaign, const char *tenant,
                             struct err *e)
{
	sqlite3_stmt *st;

	if (store_begin(s, e))
		return -1;
	if (sqlite3_prepare_v2(s->db.h, "UPDATE campaign SET tenant = ?2 WHERE id = ?1", -1, &st,
	                       NULL) != SQLITE_OK)
		return store_db_err(s, e, "campaign owner");
	sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "campaign owner");
}

int store_campaign_priority(struct store *s, const char *campaign, int *out, struct err *e)
{
	sqlite3_stmt *st;

	*out = 0;
	if (sqlite3_prepare_v2(s->db.h, "SELECT priority FROM campaign WHERE id = ?1", -1, &st,
	                       NULL) != SQLITE_OK)
		return store_db_err(s, e, "campaign priority");
	sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW    ? 1
	       : rc == SQLITE_DONE ? 0
	                           : store_db_err(s, e, "campaign priority");
}

int store_campaign_owner(struct store *s, const char *campaign, char *out, size_t n, struct err *e)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db.h, "SELECT tenant FROM campaign WHERE id = ?1", -1, &st,
	                       NULL) != SQLITE_OK)
		return store_db_err(s, e, "campaign owner");
	sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(out, n, "%s", store_col_text(st, 0));
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "campaign owner");
}
