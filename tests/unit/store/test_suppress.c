/* Unit tests for src/store/suppress.c: the list and its strikes (the SQL).
 * Which of these writes an outcome calls for is the outcome module's, tested
 * in tests/unit/engine/test_outcome.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "unit.h"

#include "store/suppress.h"

#define DAY 86400
#define T0  1700000000

static char dir[64];
static struct suppress *sp;

static int setup(void **state)
{
	struct err e;
	(void)state;
	if (!unit_tmpdir(dir, sizeof(dir)) || suppress_open(dir, &sp, &e) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	suppress_close(sp);
	return unit_rmtree(dir);
}

static int suppressed(const char *addr, const char *domain)
{
	char reason[32];
	struct err e;
	return suppress_check(sp, addr, domain, reason, &e);
}

/* A strike on day; returns the distinct days, *span_days the span. */
static int strike(const char *addr, enum suppress_strike kind, int64_t day, int64_t *span_days)
{
	int days = 0;
	int64_t span = 0;
	struct err e;
	assert_int_equal(suppress_strike(sp, addr, kind, "550 x", T0 + day * DAY, &days, &span, &e),
	                 0);
	*span_days = span / DAY;
	return days;
}

static void test_add_and_check_ignore_case(void **state)
{
	(void)state;
	char reason[32];
	struct err e;
	assert_int_equal(suppress_add(sp, "Gone@Example.org", "", "hard_bounce",
	                              "rcpt: 550 User unknown", T0, &e),
	                 1);
	assert_int_equal(suppress_check(sp, "gone@example.org", "x.test", reason, &e), 1);
	assert_string_equal(reason, "hard_bounce");
	assert_int_equal(suppressed("other@example.org", NULL), 0);
}

static void test_strikes_count_distinct_days(void **state)
{
	(void)state;
	int64_t span;
	assert_int_equal(strike("b@example.org", STRIKE_RCPT, 0, &span), 1);
	assert_int_equal(strike("B@example.org", STRIKE_RCPT, 0, &span), 1); /* same day */
	assert_int_equal(strike("b@example.org", STRIKE_RCPT, 1, &span), 2);
	assert_int_equal(span, 1);
	/* the kinds are counted apart */
	assert_int_equal(strike("b@example.org", STRIKE_SOFT, 5, &span), 1);
	assert_int_equal(span, 0);
	assert_int_equal(strike("b@example.org", STRIKE_SOFT, 11, &span), 2);
	assert_int_equal(span, 6);
	/* a strike is not a suppression */
	assert_int_equal(suppressed("b@example.org", NULL), 0);
}

static void test_clear_strikes(void **state)
{
	(void)state;
	struct err e;
	int64_t span;
	assert_int_equal(suppress_clear_strikes(sp, "c@example.org", &e), 0); /* none */
	assert_int_equal(strike("c@example.org", STRIKE_RCPT, 0, &span), 1);
	assert_int_equal(strike("c@example.org", STRIKE_RCPT, 1, &span), 2);
	assert_int_equal(suppress_clear_strikes(sp, "C@Example.org", &e), 1);
	assert_int_equal(suppress_clear_strikes(sp, "c@example.org", &e), 0);
	assert_int_equal(strike("c@example.org", STRIKE_RCPT, 2, &span), 1); /* from the start */
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
	    cmocka_unit_test(test_add_and_check_ignore_case),
	    cmocka_unit_test(test_strikes_count_distinct_days),
	    cmocka_unit_test(test_clear_strikes),
	    cmocka_unit_test(test_scope_and_manual),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
