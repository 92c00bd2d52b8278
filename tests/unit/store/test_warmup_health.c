/* Unit tests of the health-gated warm-up's store (store_watch.c): counts
 * per source, day and group; a group's level with its reason; a complaint
 * about a warm-up delivery counted against its source and group; all kept
 * across a reopen (a restart). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/store.h"
#include "unit.h"

static void test_counts_levels_and_complaints_survive_a_reopen(void **state)
{
	char dir[64];
	struct store *s;
	struct err e;
	struct store_warmup_health h, d = {.attempts = 1, .deferred = 1};
	struct store_warmup_level l = {.day = 100, .level = 3, .reason = "held"};

	(void)state;
	assert_non_null(unit_tmpdir(dir, sizeof(dir)));
	assert_int_equal(store_open(dir, &s, &e), 0);
	assert_int_equal(store_warmup_health_add(s, "192.0.2.1", 100, "gmail", &d, &e), 0);
	d.deferred = 0;
	assert_int_equal(store_warmup_health_add(s, "192.0.2.1", 100, "gmail", &d, &e), 0);
	assert_int_equal(store_warmup_level_set(s, "192.0.2.1", "gmail", &l, &e), 0);
	assert_int_equal(
	    store_warmup_sent_add(s, "c1", "a@example.com", "192.0.2.1", "gmail", 100, &e), 0);
	assert_int_equal(store_commit(s, &e), 0);
	store_close(s);

	assert_int_equal(store_open(dir, &s, &e), 0);
	assert_int_equal(store_warmup_health_get(s, "192.0.2.1", 100, "gmail", &h, &e), 0);
	assert_int_equal(h.attempts, 2);
	assert_int_equal(h.deferred, 1);
	assert_int_equal(h.complaints, 0);
	assert_int_equal(store_warmup_health_get(s, "192.0.2.1", 99, "gmail", &h, &e), 0);
	assert_int_equal(h.attempts, 0); /* a day without attempts */
	assert_int_equal(store_warmup_level_get(s, "192.0.2.1", "gmail", &l, &e), 1);
	assert_int_equal(l.day, 100);
	assert_int_equal(l.level, 3);
	assert_string_equal(l.reason, "held");
	assert_int_equal(store_warmup_level_get(s, "192.0.2.1", "yahoo", &l, &e), 0);
	/* a complaint two days later counts on its own day, for gmail and all */
	assert_int_equal(store_warmup_complaint(s, "c1", "a@example.com", 102, &e), 1);
	assert_int_equal(store_warmup_complaint(s, "c1", "b@example.com", 102, &e), 0);
	assert_int_equal(store_warmup_health_get(s, "192.0.2.1", 102, "gmail", &h, &e), 0);
	assert_int_equal(h.complaints, 1);
	assert_int_equal(store_warmup_health_get(s, "192.0.2.1", 102, "", &h, &e), 0);
	assert_int_equal(h.complaints, 1);
	/* 30 days on, the delivery is forgotten with the next day's level */
	l.day = 131;
	assert_int_equal(store_warmup_level_set(s, "192.0.2.1", "gmail", &l, &e), 0);
	assert_int_equal(store_warmup_complaint(s, "c1", "a@example.com", 131, &e), 0);
	assert_int_equal(store_commit(s, &e), 0);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts_levels_and_complaints_survive_a_reopen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
