/* Unit tests for src/smtp/auth_throttle.c: growing delays, lockout after
 * max failures within the window, its end, clearing on success, and the
 * bounded table's eviction (unlocked keys first). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/auth_throttle.h"

static const struct auth_throttle_params P = {
    .max_failures = 3, .window_ms = 60000, .lockout_ms = 900000, .delay_ms = 1000};

static void test_delays_and_lockout(void **state)
{
	struct auth_throttle *t = auth_throttle_new(10, &P);
	int locked;
	(void)state;
	assert_int_equal(auth_throttle_locked(t, "192.0.2.1", 0), 0);
	assert_int_equal(auth_throttle_fail(t, "192.0.2.1", 0, &locked), 1000);
	assert_int_equal(locked, 0);
	assert_int_equal(auth_throttle_fail(t, "192.0.2.1", 10, &locked), 2000);
	assert_int_equal(locked, 0);
	assert_int_equal(auth_throttle_locked(t, "192.0.2.1", 20), 0);
	assert_int_equal(auth_throttle_fail(t, "192.0.2.1", 20, &locked), 3000);
	assert_int_equal(locked, 1);
	assert_int_equal(auth_throttle_locked(t, "192.0.2.1", 20), 900000);
	assert_int_equal(auth_throttle_locked(t, "192.0.2.1", 900019), 1);
	/* another key is not touched */
	assert_int_equal(auth_throttle_locked(t, "192.0.2.2", 20), 0);
	/* the lockout ends, and the count starts again */
	assert_int_equal(auth_throttle_locked(t, "192.0.2.1", 900020), 0);
	assert_int_equal(auth_throttle_failures(t, "192.0.2.1"), 0);
	assert_int_equal(auth_throttle_fail(t, "192.0.2.1", 900030, &locked), 1000);
	assert_int_equal(locked, 0);
	auth_throttle_free(t);
}

static void test_delay_cap_and_window(void **state)
{
	struct auth_throttle_params p = P;
	p.max_failures = 100;
	struct auth_throttle *t = auth_throttle_new(10, &p);
	int64_t d = 0;
	(void)state;
	for (int i = 0; i < 20; i++)
		d = auth_throttle_fail(t, "bob", i, NULL);
	assert_int_equal(d, 1000 * SMTP_AUTH_DELAY_STEPS);
	assert_int_equal(auth_throttle_failures(t, "bob"), 20);
	/* failures older than the window are forgotten */
	assert_int_equal(auth_throttle_fail(t, "bob", 100000, NULL), 1000);
	assert_int_equal(auth_throttle_failures(t, "bob"), 1);
	auth_throttle_free(t);
}

static void test_clear(void **state)
{
	struct auth_throttle *t = auth_throttle_new(10, &P);
	(void)state;
	auth_throttle_fail(t, "alice", 0, NULL);
	auth_throttle_fail(t, "alice", 0, NULL);
	auth_throttle_clear(t, "alice");
	assert_int_equal(auth_throttle_failures(t, "alice"), 0);
	assert_int_equal(auth_throttle_count(t), 0);
	for (int i = 0; i < 3; i++)
		auth_throttle_fail(t, "alice", 0, NULL);
	assert_true(auth_throttle_locked(t, "alice", 1) > 0);
	auth_throttle_clear(t, "alice"); /* a success lifts it */
	assert_int_equal(auth_throttle_locked(t, "alice", 1), 0);
	auth_throttle_free(t);
}

static void test_bounded_table(void **state)
{
	struct auth_throttle *t = auth_throttle_new(3, &P);
	char k[32];
	(void)state;
	for (int i = 0; i < 3; i++)
		auth_throttle_fail(t, "locked", 0, NULL);
	for (int i = 0; i < 50; i++) {
		snprintf(k, sizeof(k), "user%d", i);
		auth_throttle_fail(t, k, i, NULL);
		assert_true(auth_throttle_count(t) <= 3);
	}
	/* a flood of names forgets the unlocked ones, not the lockout */
	assert_true(auth_throttle_locked(t, "locked", 100) > 0);
	assert_int_equal(auth_throttle_failures(t, "user0"), 0);
	assert_int_equal(auth_throttle_failures(t, "user49"), 1);
	/* all locked: the oldest goes */
	struct auth_throttle *u = auth_throttle_new(2, &P);
	for (int i = 0; i < 3; i++) {
		auth_throttle_fail(u, "a", 0, NULL);
		auth_throttle_fail(u, "b", 1, NULL);
	}
	for (int i = 0; i < 3; i++)
		auth_throttle_fail(u, "c", 2, NULL);
	assert_int_equal(auth_throttle_count(u), 2);
	assert_int_equal(auth_throttle_locked(u, "a", 3), 0);
	assert_true(auth_throttle_locked(u, "b", 3) > 0);
	assert_true(auth_throttle_locked(u, "c", 3) > 0);
	/* a very long key is cut, not overflowed */
	char longkey[1000];
	memset(longkey, 'x', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	auth_throttle_fail(u, longkey, 5, NULL);
	assert_int_equal(auth_throttle_failures(u, longkey), 1);
	auth_throttle_free(u);
	auth_throttle_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_delays_and_lockout),
	    cmocka_unit_test(test_delay_cap_and_window),
	    cmocka_unit_test(test_clear),
	    cmocka_unit_test(test_bounded_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
