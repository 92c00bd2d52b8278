/* Unit tests for src/store/store.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "unit.h"

#include "store/store.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return unit_tmpdir(dir, sizeof(dir)) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return unit_rmtree(dir);
}

struct fetched {
	int64_t ids[16];
	int n;
};

static void collect(void *arg, struct queued_rcpt *r)
{
	struct fetched *f = arg;
	f->ids[f->n++] = r->id;
	queued_rcpt_free(r);
}

static void test_queue_fetch_update_reopen(void **state)
{
	struct store *s;
	struct err e;

	(void)state;
	assert_int_equal(store_open(dir, &s, &e), 0);
	struct campaign_rec c = {.id = "c1",
	                         .template_text = "From: a@b.c\r\n\r\nx\r\n",
	                         .template_len = 18,
	                         .template_path = "t.eml",
	                         .names = "",
	                         .names_len = 0,
	                         .envelope_from = "b@x.test",
	                         .salt = "s",
	                         .created_s = 1};
	assert_int_equal(store_campaign_add(s, &c, &e), 0);
	assert_int_equal(
	    store_rcpt_add(s, "c1", "a@x.test", "a@x.test", "x.test", "", 0, 0, 100, &e), 1);
	assert_int_equal(
	    store_rcpt_add(s, "c1", "b@x.test", "b@x.test", "x.test", "", 0, 0, 100, &e), 1);
	assert_int_equal(
	    store_rcpt_add(s, "c1", "a@x.test", "a@x.test", "x.test", "", 0, 0, 100, &e), 0);
	assert_int_equal(
	    store_rcpt_add(s, "c1", "c@x.test", "c@x.test", "x.test", "", 0, 0, 100, &e), 1);
	/* another spelling of a queued mailbox: the key decides */
	assert_int_equal(
	    store_rcpt_add(s, "c1", "A@x.test", "a@x.test", "x.test", "", 0, 0, 100, &e), 0);
	assert_int_equal(store_commit(s, &e), 0);

	struct fetched f = {0};
	struct store_cursor cur = STORE_CURSOR_START;
	assert_int_equal(store_fetch_ready(s, "c1", &cur, 1000, 2, collect, &f, &e), 2);
	assert_int_equal(store_fetch_ready(s, "c1", &cur, 1000, 10, collect, &f, &e), 1);
	assert_int_equal(store_fetch_ready(s, "c1", &cur, 1000, 10, collect, &f, &e), 0);
	assert_int_equal(f.n, 3);
	/* each reader has its own cursor */
	struct store_cursor other = STORE_CURSOR_START;
	struct fetched g = {0};
	assert_int_equal(store_fetch_ready(s, "c1", &other, 1000, 10, collect, &g, &e), 3);

	struct rcpt_outcome delivered = {.state = RS_DELIVERED, .attempts = 1, .code = 250};
	struct rcpt_outcome deferred = {.state = RS_QUEUED,
	                                .attempts = 1,
	                                .next_attempt_s = 2000,
	                                .code = 451,
	                                .enhanced = "4.3.0",
	                                .text = "later"};
	assert_int_equal(store_rcpt_update(s, f.ids[0], &delivered, &e), 0);
	assert_int_equal(store_rcpt_update(s, f.ids[1], &deferred, &e), 0);
	assert_int_equal(store_commit(s, &e), 0);
	int64_t due;
	assert_int_equal(store_next_due(s, "c1", &due, &e), 0);
	assert_int_equal(due, 0); /* c@ was never tried */
	store_close(s);

	/* reopen: a new cursor, and only queued, due recipients come */
	assert_int_equal(store_open(dir, &s, &e), 0);
	struct campaign_rec got;
	assert_int_equal(store_campaign_get(s, "c1", &got, &e), 1);
	assert_int_equal(got.template_len, 18);
	store_campaign_free(&got);
	assert_int_equal(got.priority, 0);
	memset(&f, 0, sizeof(f));
	cur = STORE_CURSOR_START;
	assert_int_equal(store_fetch_ready(s, "c1", &cur, 1000, 10, collect, &f, &e), 1);
	assert_int_equal(f.ids[0], 3);
	assert_int_equal(store_fetch_ready(s, "c1", &cur, 2000, 10, collect, &f, &e), 1); /* due */
	int64_t counts[RS_COUNT];
	assert_int_equal(store_counts(s, "c1", counts, &e), 0);
	assert_int_equal(counts[RS_QUEUED], 2);
	assert_int_equal(counts[RS_DELIVERED], 1);
	store_close(s);
}

struct timed {
	int64_t next[4], send[4], expires[4];
	int n;
};

static void collect_times(void *arg, struct queued_rcpt *r)
{
	struct timed *t = arg;
	t->next[t->n] = r->next_attempt_s;
	t->send[t->n] = r->send_at_s;
	t->expires[t->n++] = r->expires_at_s;
	queued_rcpt_free(r);
}

static void add_campaign(struct store *s, const char *id)
{
	struct err e;
	struct campaign_rec c = {.id = (char *)id,
	                         .template_text = "x",
	                         .template_len = 1,
	                         .template_path = "t.eml",
	                         .names = "",
	                         .envelope_from = "b@x.test",
	                         .salt = "s2",
	                         .created_s = 1};
	assert_int_equal(store_campaign_add(s, &c, &e), 0);
}

/* A send time is the first next attempt: not fetched before it; an expiry
 * comes back with the row. */
static void test_send_at_and_expiry_stored(void **state)
{
	struct store *s;
	struct err e;
	struct rcpt_times later = {.send_at_s = 5000, .expires_at_s = 5600};
	struct rcpt_times expiring = {.send_at_s = 0, .expires_at_s = 900};

	(void)state;
	assert_int_equal(store_open(dir, &s, &e), 0);
	add_campaign(s, "timed");
	assert_int_equal(store_rcpt_add_at(s, "timed", "a@x.test", "a@x.test", "x.test", "", 0, 0,
	                                   100, &later, &e),
	                 1);
	assert_int_equal(store_rcpt_add_at(s, "timed", "b@x.test", "b@x.test", "x.test", "", 0, 0,
	                                   100, &expiring, &e),
	                 1);
	assert_int_equal(store_commit(s, &e), 0);
	int64_t due, ready, waiting;
	assert_int_equal(store_next_due(s, "timed", &due, &e), 0);
	assert_int_equal(due, 0);
	assert_int_equal(store_ready_counts(s, "timed", 1000, &ready, &waiting, &e), 0);
	assert_int_equal(ready, 1);
	assert_int_equal(waiting, 1);
	struct timed t = {0};
	struct store_cursor cur = STORE_CURSOR_START;
	assert_int_equal(store_fetch_ready(s, "timed", &cur, 4999, 10, collect_times, &t, &e), 1);
	assert_int_equal(t.send[0], 0);
	assert_int_equal(t.expires[0], 900);
	assert_int_equal(store_fetch_ready(s, "timed", &cur, 5000, 10, collect_times, &t, &e), 1);
	assert_int_equal(t.next[1], 5000);
	assert_int_equal(t.send[1], 5000);
	assert_int_equal(t.expires[1], 5600);
	store_close(s);
}

/* A queue made before send times and expiries (and duplicate keys) opens,
 * and its rows have neither. */
static void test_old_queue_gains_the_columns(void **state)
{
	char sub[128], path[160];
	sqlite3 *db;
	struct store *s;
	struct err e;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/old", dir);
	snprintf(path, sizeof(path), "%s/queue.db", sub);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
	                 "CREATE TABLE campaign(id TEXT PRIMARY KEY, template BLOB NOT NULL,"
	                 " template_path TEXT, names BLOB NOT NULL, envelope_from TEXT NOT NULL,"
	                 " salt TEXT NOT NULL, created INTEGER NOT NULL);"
	                 "CREATE TABLE recipient(id INTEGER PRIMARY KEY, campaign TEXT NOT NULL,"
	                 " mailbox TEXT NOT NULL, domain TEXT NOT NULL, fields BLOB NOT NULL,"
	                 " utf8 INTEGER NOT NULL DEFAULT 0, state INTEGER NOT NULL DEFAULT 0,"
	                 " attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL"
	                 " DEFAULT 0, queued_at INTEGER NOT NULL, last_code INTEGER, last_enhanced"
	                 " TEXT, last_reply TEXT, last_stage TEXT, category TEXT,"
	                 " UNIQUE(campaign, mailbox));"
	                 "INSERT INTO campaign VALUES('old', 'x', 't.eml', '', 'b@x.test', 's', 1);"
	                 "INSERT INTO recipient(campaign, mailbox, domain, fields, queued_at)"
	                 " VALUES('old', 'a@x.test', 'x.test', '', 100);",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(sub, &s, &e), 0);
	struct timed t = {0};
	struct store_cursor cur = STORE_CURSOR_START;
	assert_int_equal(store_fetch_ready(s, "old", &cur, 1000, 10, collect_times, &t, &e), 1);
	assert_int_equal(t.send[0], 0);
	assert_int_equal(t.expires[0], 0);
	struct rcpt_times tt = {.send_at_s = 2000, .expires_at_s = 3000};
	assert_int_equal(
	    store_rcpt_add_at(s, "old", "b@x.test", "b@x.test", "x.test", "", 0, 0, 100, &tt, &e),
	    1);
	assert_int_equal(store_commit(s, &e), 0);
	assert_int_equal(store_fetch_ready(s, "old", &cur, 2000, 10, collect_times, &t, &e), 1);
	assert_int_equal(t.expires[1], 3000);
	/* rebuilt without UNIQUE(campaign, mailbox): the old row is still a
	 * duplicate by its key (filled in from its address) ... */
	assert_int_equal(
	    store_rcpt_add(s, "old", "A@x.test", "a@x.test", "x.test", "", 0, 0, 100, &e), 0);
	/* ... its campaign belongs to the implicit tenant ... */
	char owner[64];
	assert_int_equal(store_campaign_owner(s, "old", owner, sizeof(owner), &e), 1);
	assert_string_equal(owner, "default");
	/* ... and two submitted messages to one address are two rows */
	int64_t m1, m2;
	assert_int_equal(store_message_add(s, "Q1", "default", "b@x.test", "m1", 2, 100, &m1, &e),
	                 0);
	assert_int_equal(store_message_add(s, "Q2", "default", "b@x.test", "m2", 2, 100, &m2, &e),
	                 0);
	assert_int_equal(store_rcpt_add_message(s, "old", "a@x.test", "a@x.test", "x.test", 0, m1,
	                                        100, NULL, &e),
	                 1);
	assert_int_equal(store_rcpt_add_message(s, "old", "a@x.test", "a@x.test", "x.test", 0, m2,
	                                        100, NULL, &e),
	                 1);
	assert_int_equal(store_rcpt_add_message(s, "old", "a@x.test", "a@x.test", "x.test", 0, m2,
	                                        100, NULL, &e),
	                 0);
	char *body, *from;
	size_t len;
	assert_int_equal(store_message_get(s, m2, &body, &len, &from, &e), 1);
	assert_string_equal(body, "m2");
	assert_string_equal(from, "b@x.test");
	free(body);
	free(from);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_queue_fetch_update_reopen),
	    cmocka_unit_test(test_send_at_and_expiry_stored),
	    cmocka_unit_test(test_old_queue_gains_the_columns),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
