/* Unit tests for src/submit/submit.c: a tenant's checks, the headers
 * sluice adds and takes, and what is stored. A real store in a temporary
 * directory; the commit is the store's own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mail/config.h"
#include "store/store.h"
#include "submit/submit.h"
#include "unit.h"

static char dir[64];
static struct config cfg;
static struct store *st;
static struct submit *sb;
static int woken;

static void commit_now(void *owner, void (*done)(void *, int), void *arg)
{
	struct err e;
	(void)owner;
	done(arg, store_commit(st, &e) == 0);
}

static void wake(void *owner, const char *campaign)
{
	(void)owner;
	woken += strcmp(campaign, "submit-acme") == 0;
}

static int setup(void **state)
{
	struct err e;
	char path[64];

	(void)state;
	unit_tmpfile(path, sizeof(path), ".yaml",
	             "sources:\n  - ip: 192.0.2.10\n    helo: mta1.example.com\n"
	             "  - ip: 192.0.2.11\n    helo: mta2.example.com\n    pool: other\n"
	             "sender:\n  envelope_from: bounces@news.example.com\n"
	             "tenants:\n  - name: acme\n    sender_domains: [acme.example]\n"
	             "    per_minute: 3\n    max_recipients: 2\n");
	if (config_load(path, &cfg, &e) != 0 || !unit_tmpdir(dir, sizeof(dir)) ||
	    store_open(dir, &st, &e) != 0)
		return -1;
	unlink(path);
	struct submit_params p = {.cfg = &cfg, .store = st, .commit = commit_now, .wake = wake};
	return submit_new(&p, &sb, &e);
}

static int teardown(void **state)
{
	(void)state;
	submit_free(sb);
	store_close(st);
	config_free(&cfg);
	return unit_rmtree(dir);
}

static void flushed(void *arg, int ok)
{
	*(int *)arg = ok;
}

struct got {
	int64_t message;
	int64_t send_at;
	char rcpt[64];
};

static void one(void *arg, struct queued_rcpt *r)
{
	struct got *g = arg;
	g->message = r->message;
	g->send_at = r->send_at_s;
	snprintf(g->rcpt, sizeof(g->rcpt), "%s", r->mailbox);
	queued_rcpt_free(r);
}

static void test_stored_with_headers_added_and_taken(void **state)
{
	const struct tenant *t = tenant_by_name(&cfg, "acme");
	const char *rcpts[] = {"Bob@Example.org"};
	const char msg[] = "From: App <app@acme.example>\r\n"
	                   "X-Sluice-Send-At: 2099-01-02T03:04:05Z\r\n"
	                   "X-Sluice-Expires:\r\n"
	                   "\t2099-01-03T00:00:00Z\r\n"
	                   "Subject: hi\r\n\r\nbody\r\n";
	struct submit_msg m = {t, "app@acme.example", rcpts, 1, msg, sizeof(msg) - 1, 0, 0, NULL,
	                       0};
	char qid[SUBMIT_QUEUE_ID_MAX];
	struct submit_refusal r;
	int ok = -1;

	(void)state;
	assert_int_equal(submit_queue(sb, &m, qid, &r), 0);
	assert_int_equal(strlen(qid), 16);
	submit_flush(sb, flushed, &ok);
	assert_int_equal(ok, 1);
	assert_int_equal(woken, 1);
	struct got g = {0};
	struct store_cursor cur = STORE_CURSOR_START;
	struct err e;
	assert_int_equal(
	    store_fetch_ready(st, "submit-acme", &cur, 4102444800LL + 86400, 10, one, &g, &e), 1);
	assert_string_equal(g.rcpt, "Bob@example.org");
	assert_int_equal(g.send_at, 4071006245LL); /* 2099-01-02T03:04:05Z */
	char *body, *from;
	size_t len;
	assert_int_equal(store_message_get(st, g.message, &body, &len, &from, &e), 1);
	assert_string_equal(from, "app@acme.example");
	assert_non_null(strstr(body, "Message-ID: <"));
	assert_non_null(strstr(body, "@acme.example>\r\n"));
	assert_non_null(strstr(body, "Date: "));
	assert_null(strstr(body, "X-Sluice"));
	assert_null(strstr(body, "2099-01-03")); /* its folded line went with it */
	assert_non_null(strstr(body, "Subject: hi\r\n\r\nbody\r\n"));
	free(body);
	free(from);
}

static void expect(const char *from, const char *hdr_from, size_t nrcpts, const char *extra,
                   enum submit_code code, const char *text)
{
	const struct tenant *t = tenant_by_name(&cfg, "acme");
	const char *rcpts[] = {"a@example.org", "b@example.org", "c@example.org"};
	char msg[512], qid[SUBMIT_QUEUE_ID_MAX];
	struct submit_refusal r;

	snprintf(msg, sizeof(msg), "From: <%s>\r\n%s\r\nbody\r\n", hdr_from, extra);
	struct submit_msg m = {t, from, rcpts, nrcpts, msg, strlen(msg), 0, 0, NULL, 0};
	assert_int_equal(submit_queue(sb, &m, qid, &r), -1);
	assert_int_equal(r.code, code);
	if (!strstr(r.reply, text))
		fail_msg("expected '%s' in: %s", text, r.reply);
	assert_null(strpbrk(r.reply, "\r\n"));
}

static void test_refusals(void **state)
{
	(void)state;
	expect("x@other.example", "x@acme.example", 1, "", SUBMIT_SENDER_DOMAIN,
	       "553 5.7.1 Sender domain other.example");
	expect("x@acme.example", "ceo@bank.example", 1, "", SUBMIT_SENDER_DOMAIN,
	       "550 5.7.1 From domain bank.example");
	expect("x@acme.example", "x@acme.example", 3, "", SUBMIT_TOO_MANY_RCPTS, "452 4.5.3");
	expect("x@acme.example", "x@acme.example", 1, "X-Sluice-Expires: 2001-01-01T00:00:00Z\r\n",
	       SUBMIT_BAD_HEADER, "expired before it was queued");
	expect("x@acme.example", "x@acme.example", 1, "X-Sluice-Send-At: soon\r\n",
	       SUBMIT_BAD_HEADER, "X-Sluice-Send-At");
	expect("", "x@acme.example", 1, "", SUBMIT_BAD_ADDRESS, "553 5.1.7");
	expect("x@acme.example", "x@acme.example", 0, "", SUBMIT_BAD_ADDRESS, "554 5.5.1");
}

static void test_rate_per_minute(void **state)
{
	const struct tenant *t = tenant_by_name(&cfg, "acme");
	const char *rcpts[] = {"a@example.org"};
	const char msg[] = "From: <x@acme.example>\r\n\r\nbody\r\n";
	struct submit_msg m = {t, "x@acme.example", rcpts, 1, msg, sizeof(msg) - 1, 0, 0, NULL, 0};
	char qid[SUBMIT_QUEUE_ID_MAX];
	struct submit_refusal r;
	int n = 0;

	(void)state;
	while (n < 10 && submit_queue(sb, &m, qid, &r) == 0)
		n++;
	assert_int_equal(n, 1); /* the tests before queued two of the 3 a minute */
	assert_int_equal(r.code, SUBMIT_RATE);
	assert_true(r.temporary);
	assert_non_null(strstr(r.reply, "451 4.7.0 Tenant acme is over its limit of 3 messages a "
	                                "minute"));
}

static void test_pool_of_a_message(void **state)
{
	const struct tenant *t = tenant_by_name(&cfg, "acme");
	const char *rcpts[] = {"a@example.org"};
	const char msg[] = "From: <x@acme.example>\r\n\r\nbody\r\n";
	struct submit_msg m = {t, "x@acme.example", rcpts, 1, msg, sizeof(msg) - 1, 0,
	                       0, "nope",           0};
	char qid[SUBMIT_QUEUE_ID_MAX], owner[64];
	struct submit_refusal r;
	struct campaign_rec rec;
	struct err e;

	(void)state;
	assert_int_equal(submit_queue(sb, &m, qid, &r), -1);
	assert_int_equal(r.code, SUBMIT_BAD_POOL);
	assert_string_equal(r.field, "pool");
	m.pool = "other"; /* the rate allows it: the minute's count is full, so wait */
	submit_free(sb);
	struct submit_params p = {.cfg = &cfg, .store = st, .commit = commit_now, .wake = wake};
	assert_int_equal(submit_new(&p, &sb, &e), 0);
	int rc = submit_queue(sb, &m, qid, &r);
	if (rc != 0 && r.code == SUBMIT_RATE)
		skip(); /* counted from the store: the earlier tests used the minute */
	assert_int_equal(rc, 0);
	assert_int_equal(store_campaign_get(st, "submit-acme@other", &rec, &e), 1);
	assert_string_equal(rec.pool, "other");
	store_campaign_free(&rec);
	assert_int_equal(store_campaign_owner(st, "submit-acme@other", owner, sizeof(owner), &e),
	                 1);
	assert_string_equal(owner, "acme");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stored_with_headers_added_and_taken),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_pool_of_a_message),
	    cmocka_unit_test(test_rate_per_minute),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
