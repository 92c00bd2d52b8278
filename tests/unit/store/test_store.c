/* Unit tests for src/store/store.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_queue_fetch_update_reopen),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
