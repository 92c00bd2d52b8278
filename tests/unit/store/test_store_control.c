/* Unit tests for src/store/store_control.c's one-shot controls: a request
 * is pending until done (then listed with its result only when asked for
 * the recent ones), a purge ends only the domain's (and campaign's) queued
 * rows as bounced/purged and survives a reopen, a move changes the row's
 * pool. */
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

static void add_campaign(struct store *s, const char *id)
{
	struct err e;
	struct campaign_rec c = {.id = (char *)id,
	                         .template_text = "From: a@b.c\r\n\r\nx\r\n",
	                         .template_len = 18,
	                         .template_path = "t.eml",
	                         .names = "",
	                         .names_len = 0,
	                         .envelope_from = "b@x.test",
	                         .salt = "s",
	                         .created_s = 1};
	assert_int_equal(store_campaign_add(s, &c, &e), 0);
}

struct seen {
	int n, pending;
	int64_t id;
	char result[160], campaign[32];
};

static void see(void *arg, const struct control_request *r)
{
	struct seen *v = arg;
	v->n++;
	v->pending += !r->done;
	v->id = r->id;
	snprintf(v->result, sizeof(v->result), "%s", r->result ? r->result : "(null)");
	snprintf(v->campaign, sizeof(v->campaign), "%s", r->campaign ? r->campaign : "(null)");
}

static void test_request_pending_then_done(void **state)
{
	struct store *s;
	struct err e;
	struct seen v = {0};

	(void)state;
	assert_int_equal(store_open(dir, &s, &e), 0);
	struct control_request r = {
	    .kind = "retry", .scope = "site", .target = "mx.x.test", .reason = "r", .time_s = 100};
	assert_int_equal(store_control_request(s, &r, &e), 0);
	assert_int_equal(store_control_requests(s, 0, see, &v, &e), 0);
	assert_int_equal(v.n, 1);
	assert_int_equal(v.pending, 1);
	assert_string_equal(v.campaign, "(null)");
	assert_int_equal(store_control_done(s, v.id, "2 sites retried now", &e), 0);
	assert_int_equal(store_commit(s, &e), 0);
	memset(&v, 0, sizeof(v));
	assert_int_equal(store_control_requests(s, 0, see, &v, &e), 0);
	assert_int_equal(v.n, 0); /* done: not asked of anyone any more */
	assert_int_equal(store_control_requests(s, 50, see, &v, &e), 0);
	assert_int_equal(v.n, 1); /* but shown as recent */
	assert_string_equal(v.result, "2 sites retried now");
	memset(&v, 0, sizeof(v));
	assert_int_equal(store_control_requests(s, 101, see, &v, &e), 0);
	assert_int_equal(v.n, 0); /* older than asked for */
	store_close(s);
}

struct purged {
	int n;
	char last[64];
};

static void on_purged(void *arg, const char *campaign, const char *mailbox, const char *domain,
                      int attempts, int64_t queued_at_s)
{
	struct purged *p = arg;
	(void)domain, (void)attempts, (void)queued_at_s;
	p->n++;
	snprintf(p->last, sizeof(p->last), "%s %s", campaign, mailbox);
}

static void test_purge_ends_only_the_domain(void **state)
{
	struct store *s;
	struct err e;
	struct purged p = {0};
	int64_t n = -1, counts[RS_COUNT];

	(void)state;
	assert_int_equal(store_open(dir, &s, &e), 0);
	add_campaign(s, "c1");
	add_campaign(s, "c2");
	store_rcpt_add(s, "c1", "a@x.test", "a@x.test", "x.test", "", 0, 0, 100, &e);
	store_rcpt_add(s, "c1", "b@y.test", "b@y.test", "y.test", "", 0, 0, 100, &e);
	store_rcpt_add(s, "c2", "c@x.test", "c@x.test", "x.test", "", 0, 0, 100, &e);
	assert_int_equal(store_purge_queued(s, "x.test", "c1", "sold", on_purged, &p, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.last, "c1 a@x.test");
	assert_int_equal(store_commit(s, &e), 0);
	store_close(s);
	assert_int_equal(store_open(dir, &s, &e), 0);
	assert_int_equal(store_counts(s, "c1", counts, &e), 0);
	assert_int_equal(counts[RS_BOUNCED], 1);
	assert_int_equal(counts[RS_QUEUED], 1);
	assert_int_equal(store_counts(s, "c2", counts, &e), 0);
	assert_int_equal(counts[RS_QUEUED], 1); /* another campaign: untouched */
	/* every campaign: c2's x.test row too, and nothing twice */
	assert_int_equal(store_purge_queued(s, "x.test", NULL, "sold", on_purged, &p, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(p.last, "c2 c@x.test");
	store_close(s);
}

static void test_move_changes_the_pool(void **state)
{
	struct store *s;
	struct err e;
	struct campaign_rec rec;

	(void)state;
	assert_int_equal(store_open(dir, &s, &e), 0);
	add_campaign(s, "c1");
	assert_int_equal(store_campaign_set_pool(s, "c1", "warm", &e), 1);
	assert_int_equal(store_campaign_set_pool(s, "nope", "warm", &e), 0);
	assert_int_equal(store_campaign_get(s, "c1", &rec, &e), 1);
	assert_string_equal(rec.pool, "warm");
	store_campaign_free(&rec);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_request_pending_then_done, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_purge_ends_only_the_domain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_move_changes_the_pool, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
