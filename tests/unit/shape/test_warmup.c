/* Unit tests of shape/warmup.c's health gate: which day's health lets the
 * caps grow, holds them, or steps them back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "shape/warmup.h"
#include "unit.h"

static const struct warmup_limits LIM = {0.10, 0.01, 0.001};

static void test_a_healthy_day_grows(void **state)
{
	struct warmup_health h = {.attempts = 100, .deferred = 10, .blocked = 1};
	char why[200];

	(void)state;
	/* at the limits is still under them */
	assert_int_equal(warmup_judge(&h, &LIM, why, sizeof(why)), WARMUP_GROW);
	assert_string_equal(why, "");
	assert_int_equal(warmup_step_level(3, WARMUP_GROW), 4);
	/* an idle day grows too: nothing went wrong */
	struct warmup_health idle = {0};
	assert_int_equal(warmup_judge(&idle, &LIM, why, sizeof(why)), WARMUP_GROW);
}

static void test_deferrals_hold(void **state)
{
	struct warmup_health h = {.attempts = 10, .deferred = 3};
	char why[200];

	(void)state;
	assert_int_equal(warmup_judge(&h, &LIM, why, sizeof(why)), WARMUP_HOLD);
	assert_string_equal(why, "3 of 10 attempts deferred (30.0%, over 10.0%)");
	assert_int_equal(warmup_step_level(1, WARMUP_HOLD), 1);
	assert_int_equal(warmup_step_level(4, WARMUP_HOLD), 4);
}

static void test_blocks_and_complaints_step_back(void **state)
{
	struct warmup_health h = {.attempts = 100, .deferred = 50, .blocked = 2};
	char why[200];

	(void)state;
	/* blocks weigh more than deferrals */
	assert_int_equal(warmup_judge(&h, &LIM, why, sizeof(why)), WARMUP_BACK);
	assert_string_equal(why, "2 of 100 attempts blocked (2.0%, over 1.0%)");
	struct warmup_health c = {.attempts = 1000, .complaints = 2};
	assert_int_equal(warmup_judge(&c, &LIM, why, sizeof(why)), WARMUP_BACK);
	assert_int_equal(warmup_step_level(4, WARMUP_BACK), 3);
	assert_int_equal(warmup_step_level(1, WARMUP_BACK), 1); /* never below day 1 */
}

static void test_caps_follow_the_level(void **state)
{
	struct source src = {
	    .warmup_day1 = 10, .warmup_site_day1 = 7, .warmup_growth = 2, .warmup_until = 1000000};
	int64_t all, site;

	(void)state;
	warmup_caps(&src, warmup_step_level(1, WARMUP_HOLD), &all, &site);
	assert_int_equal(all, 10);
	assert_int_equal(site, 7);
	warmup_caps(&src, warmup_step_level(1, WARMUP_GROW), &all, &site);
	assert_int_equal(all, 20);
	assert_int_equal(site, 14);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_healthy_day_grows),
	    cmocka_unit_test(test_deferrals_hold),
	    cmocka_unit_test(test_blocks_and_complaints_step_back),
	    cmocka_unit_test(test_caps_follow_the_level),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
