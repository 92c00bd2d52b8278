/* Unit tests for src/store/suppress.c: the store and the policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mail/classify.h"
#include "store/suppress.h"

#define DAY 86400

static char dir[64];
static struct suppress *sp;
static struct classifier *cls;
static const struct suppression_policy pol = {
    .scope = SCOPE_GLOBAL, .rcpt_strikes = 3, .soft_bounces = 3, .soft_span_s = 10 * DAY};

static int setup(void **state)
{
	struct err e;
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sluice-supp-XXXXXX");
	if (!mkdtemp(dir) || suppress_open(dir, &sp, &e) != 0 || classifier_new(NULL, 0, &cls, &e))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	suppress_close(sp);
	classifier_free(cls);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* Feeds one reply through classifier and policy; returns the action. */
static const char *outcome(const char *addr, const char *stage, int code, const char *enh,
                           const char *text, int64_t day, int expired)
{
	struct classification c;
	struct err e;
	const char *act = NULL;
	classify(cls, stage, code, enh, text, &c);
	struct suppress_event ev = {.address = addr,
	                            .scope = "",
	                            .stage = stage,
	                            .code = code,
	                            .cls = &c,
	                            .delivered = code / 100 == 2,
	                            .expired = expired,
	                            .evidence = text,
	                            .now_s = 1700000000 + day * DAY};
	assert_int_equal(suppress_outcome(sp, &pol, &ev, &act, &e), 0);
	return act ? act : "none";
}

static int suppressed(const char *addr, const char *domain)
{
	char reason[32];
	struct err e;
	return suppress_check(sp, addr, domain, reason, &e);
}

static void test_hard_bounce_at_once(void **state)
{
	(void)state;
	assert_string_equal(outcome("Gone@Example.org", "rcpt", 550, "5.1.1",
	                            "<gone@example.org>: Recipient address rejected: User unknown",
	                            0, 0),
	                    "hard_bounce");
	assert_int_equal(suppressed("gone@example.org", "x.test"), 1);
}

static void test_sender_side_never(void **state)
{
	(void)state;
	/* rejections at MAIL FROM and DATA say nothing about the recipient */
	assert_string_equal(outcome("a@example.org", "mail", 550, "5.1.1", "User unknown", 0, 0),
	                    "none");
	assert_string_equal(outcome("a@example.org", "dot", 554, "5.7.1", "spam", 0, 0), "none");
	/* nor do reputation or rate replies at RCPT */
	assert_string_equal(
	    outcome("a@example.org", "rcpt", 550, "5.7.1", "blocked using zen.spamhaus.org", 0, 0),
	    "none");
	assert_int_equal(suppressed("a@example.org", NULL), 0);
}

static void test_ambiguous_needs_days(void **state)
{
	(void)state;
	const char *t = "Requested action not taken: mailbox unavailable";
	assert_string_equal(outcome("b@example.org", "rcpt", 550, "", t, 0, 0), "strike");
	assert_string_equal(outcome("b@example.org", "rcpt", 550, "", t, 0, 0), "strike");
	assert_string_equal(outcome("b@example.org", "rcpt", 550, "", t, 1, 0), "strike");
	assert_int_equal(suppressed("b@example.org", NULL), 0); /* two days so far */
	/* a success in between clears them */
	assert_string_equal(outcome("b@example.org", "dot", 250, "2.0.0", "ok", 2, 0), "cleared");
	assert_string_equal(outcome("b@example.org", "rcpt", 550, "", t, 3, 0), "strike");
	assert_string_equal(outcome("b@example.org", "rcpt", 550, "", t, 4, 0), "strike");
	assert_string_equal(outcome("b@example.org", "rcpt", 550, "", t, 5, 0), "rcpt_strikes");
	assert_int_equal(suppressed("b@example.org", NULL), 1);
}

static void test_soft_bounces_span(void **state)
{
	(void)state;
	const char *t = "4.2.2 mailbox full";
	assert_string_equal(outcome("c@example.org", "rcpt", 452, "4.2.2", t, 0, 1), "soft_bounce");
	assert_string_equal(outcome("c@example.org", "rcpt", 452, "4.2.2", t, 1, 1), "soft_bounce");
	/* three, but within two days: not yet */
	assert_string_equal(outcome("c@example.org", "rcpt", 452, "4.2.2", t, 2, 1), "soft_bounce");
	assert_string_equal(outcome("c@example.org", "rcpt", 452, "4.2.2", t, 11, 1),
	                    "soft_bounce_limit");
	assert_int_equal(suppressed("c@example.org", NULL), 1);
}

static void test_scope_and_manual(void **state)
{
	(void)state;
	struct err e;
	assert_int_equal(
	    suppress_add(sp, "d@example.org", "news.example.com", "unsubscribe", "", 1, &e), 1);
	assert_int_equal(
	    suppress_add(sp, "d@example.org", "news.example.com", "unsubscribe", "", 1, &e), 0);
	assert_int_equal(suppressed("d@example.org", "news.example.com"), 1);
	assert_int_equal(suppressed("d@example.org", "shop.example.com"), 0);
	assert_int_equal(suppress_remove(sp, "D@example.org", NULL, &e), 1);
	assert_int_equal(suppressed("d@example.org", "news.example.com"), 0);
	assert_int_equal(suppress_commit(sp, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hard_bounce_at_once),  cmocka_unit_test(test_sender_side_never),
	    cmocka_unit_test(test_ambiguous_needs_days), cmocka_unit_test(test_soft_bounces_span),
	    cmocka_unit_test(test_scope_and_manual),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
