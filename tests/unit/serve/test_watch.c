/* Unit tests of serve/watch.c's decision: when the identity watcher pauses
 * a source, only signs, lifts its own pause, or judges nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "serve/watch.h"
#include "unit.h"

static struct preflight_watch good(void)
{
	struct preflight_watch f = {.listed = 0, .rdns = 1, .spf = 1};
	return f;
}

static void test_listed_pauses_then_lifts(void **state)
{
	struct watch_memory m = {0};
	struct preflight_watch f = good();
	char why[400];

	(void)state;
	assert_int_equal(watch_decide(&f, &m, WATCH_NOT_PAUSED, why, sizeof(why)), WATCH_NONE);
	f.listed = 1;
	snprintf(f.listed_why, sizeof(f.listed_why), "bl.example: spam seen");
	assert_int_equal(watch_decide(&f, &m, WATCH_NOT_PAUSED, why, sizeof(why)), WATCH_PAUSE);
	assert_string_equal(why, "watch: listed on bl.example: spam seen");
	/* still listed, still paused: nothing more */
	assert_int_equal(watch_decide(&f, &m, WATCH_PAUSED_BY_WATCH, why, sizeof(why)), WATCH_NONE);
	/* the listing is gone: the watcher's pause is lifted */
	f = good();
	assert_int_equal(watch_decide(&f, &m, WATCH_PAUSED_BY_WATCH, why, sizeof(why)), WATCH_LIFT);
	assert_int_equal(watch_decide(&f, &m, WATCH_NOT_PAUSED, why, sizeof(why)), WATCH_NONE);
}

static void test_operator_pause_is_kept(void **state)
{
	struct watch_memory m = {0};
	struct preflight_watch f = good();
	char why[400];

	(void)state;
	f.listed = 1;
	snprintf(f.listed_why, sizeof(f.listed_why), "bl.example: x");
	/* a sign once, no pause written over the operator's */
	assert_int_equal(watch_decide(&f, &m, WATCH_PAUSED_BY_OPERATOR, why, sizeof(why)),
	                 WATCH_SIGN);
	assert_int_equal(watch_decide(&f, &m, WATCH_PAUSED_BY_OPERATOR, why, sizeof(why)),
	                 WATCH_NONE);
	/* good again: the operator's pause is the operator's to lift */
	f = good();
	assert_int_equal(watch_decide(&f, &m, WATCH_PAUSED_BY_OPERATOR, why, sizeof(why)),
	                 WATCH_NONE);
}

static void test_rdns_and_spf_count_once_they_passed(void **state)
{
	struct watch_memory m = {0};
	struct preflight_watch f = good();
	char why[400];

	(void)state;
	/* never passed since start: the operator's known state, no pause */
	f.rdns = 0;
	snprintf(f.rdns_why, sizeof(f.rdns_why), "fcrdns: does not resolve back");
	assert_int_equal(watch_decide(&f, &m, WATCH_NOT_PAUSED, why, sizeof(why)), WATCH_NONE);
	/* passed, then broke: paused */
	f.rdns = 1;
	assert_int_equal(watch_decide(&f, &m, WATCH_NOT_PAUSED, why, sizeof(why)), WATCH_NONE);
	f.rdns = 0;
	assert_int_equal(watch_decide(&f, &m, WATCH_NOT_PAUSED, why, sizeof(why)), WATCH_PAUSE);
	assert_string_equal(why, "watch: fcrdns: does not resolve back");
	/* SPF likewise */
	struct watch_memory m2 = {0};
	f = good();
	assert_int_equal(watch_decide(&f, &m2, WATCH_NOT_PAUSED, why, sizeof(why)), WATCH_NONE);
	f.spf = 0;
	snprintf(f.spf_why, sizeof(f.spf_why), "SPF of example.com: fail (-all)");
	assert_int_equal(watch_decide(&f, &m2, WATCH_NOT_PAUSED, why, sizeof(why)), WATCH_PAUSE);
	assert_string_equal(why, "watch: SPF of example.com: fail (-all)");
}

static void test_after_restart_own_pause_still_holds(void **state)
{
	struct watch_memory m = {0}; /* a new process: nothing remembered */
	struct preflight_watch f = good();
	char why[400];

	(void)state;
	f.rdns = 0;
	snprintf(f.rdns_why, sizeof(f.rdns_why), "ptr: none");
	assert_int_equal(watch_decide(&f, &m, WATCH_PAUSED_BY_WATCH, why, sizeof(why)), WATCH_NONE);
	f = good();
	assert_int_equal(watch_decide(&f, &m, WATCH_PAUSED_BY_WATCH, why, sizeof(why)), WATCH_LIFT);
}

static void test_no_answer_judges_nothing(void **state)
{
	struct watch_memory m = {0};
	struct preflight_watch f = good();
	char why[400];

	(void)state;
	f.listed = -1; /* the blocklist did not answer */
	assert_int_equal(watch_decide(&f, &m, WATCH_PAUSED_BY_WATCH, why, sizeof(why)), WATCH_NONE);
	f = good();
	f.spf = -1;
	assert_int_equal(watch_decide(&f, &m, WATCH_PAUSED_BY_WATCH, why, sizeof(why)), WATCH_NONE);
}

/* Blocks end early only when zones are configured, the source is on none
 * of them, and the block came before the previous check started. */
static void test_blocks_end_when_the_listing_is_gone(void **state)
{
	struct preflight_watch f = good();

	(void)state;
	/* the check the block triggered at once: the previous one was before it */
	assert_false(watch_ends_blocks(&f, 1, 5000, 4000));
	assert_false(watch_ends_blocks(&f, 1, 5000, 5000));
	/* the check after: the previous check started after the block */
	assert_true(watch_ends_blocks(&f, 1, 5000, 5001));
	/* no zones: the watcher cannot tell; no check before: neither */
	assert_false(watch_ends_blocks(&f, 0, 5000, 6000));
	assert_false(watch_ends_blocks(&f, 1, 5000, 0));
	/* listed, or no answer: the block keeps its time */
	f.listed = 1;
	assert_false(watch_ends_blocks(&f, 1, 5000, 6000));
	f.listed = -1;
	assert_false(watch_ends_blocks(&f, 1, 5000, 6000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_listed_pauses_then_lifts),
	    cmocka_unit_test(test_operator_pause_is_kept),
	    cmocka_unit_test(test_rdns_and_spf_count_once_they_passed),
	    cmocka_unit_test(test_after_restart_own_pause_still_holds),
	    cmocka_unit_test(test_no_answer_judges_nothing),
	    cmocka_unit_test(test_blocks_end_when_the_listing_is_gone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
