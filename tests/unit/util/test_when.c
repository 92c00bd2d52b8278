/* Unit tests for src/util/when.c: times as text (RFC 3339, local times in
 * the host's zone, in a fixed offset and in an IANA zone, times of day),
 * daylight-saving gaps and repeats, bad text and unknown zones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "util/when.h"

#define T_0800Z 1796284800LL /* 2026-12-03T08:00:00Z */
#define HOUR_S  3600

static int64_t parse_ok(const char *s, const char *zone, int64_t not_before)
{
	struct err e;
	int64_t t = 0;

	if (when_parse(s, strlen(s), zone, not_before, &t, &e) != 0)
		fail_msg("'%s' in %s: %s", s, zone ? zone : "(host)", e.msg);
	return t;
}

static const char *parse_err(const char *s, const char *zone)
{
	static struct err e;
	int64_t t;

	assert_int_equal(when_parse(s, strlen(s), zone, 0, &t, &e), -1);
	return e.msg;
}

static void test_rfc3339(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2026-12-03T08:00:00Z", NULL, 0), T_0800Z);
	assert_int_equal(parse_ok("2026-12-03t08:00z", NULL, 0), T_0800Z);
	assert_int_equal(parse_ok("2026-12-03 08:00:00.250Z", NULL, 0), T_0800Z);
	assert_int_equal(parse_ok("2026-12-03T09:00:00+01:00", NULL, 0), T_0800Z);
	assert_int_equal(parse_ok("2026-12-03T03:00-0500", NULL, 0), T_0800Z);
	/* an explicit offset wins over the zone */
	assert_int_equal(parse_ok("2026-12-03T08:00:00Z", "Europe/Berlin", 0), T_0800Z);
	assert_int_equal(parse_ok(" 1969-12-31T23:00:00Z ", NULL, 0), -HOUR_S);
}

static void test_local_in_zones(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2026-12-03 08:00", "UTC", 0), T_0800Z);
	assert_int_equal(parse_ok("2026-12-03 09:30", "+01:30", 0), T_0800Z);
	/* Berlin in December is UTC+1, in July UTC+2; New York UTC-5 */
	assert_int_equal(parse_ok("2026-12-03 08:00", "Europe/Berlin", 0), T_0800Z - HOUR_S);
	assert_int_equal(parse_ok("2026-07-01 08:00", "Europe/Berlin", 0), 1782885600LL);
	assert_int_equal(parse_ok("2026-12-03 08:00", "America/New_York", 0), T_0800Z + 5 * HOUR_S);
	/* the host's zone: TZ as the process has it, and left so */
	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	assert_int_equal(parse_ok("2026-12-03 17:00", NULL, 0), T_0800Z);
	assert_int_equal(parse_ok("2026-12-03 08:00", "Europe/Berlin", 0), T_0800Z - HOUR_S);
	assert_string_equal(getenv("TZ"), "Asia/Tokyo");
	assert_int_equal(parse_ok("2026-12-03 17:00", NULL, 0), T_0800Z);
	unsetenv("TZ");
	tzset();
}

static void test_time_of_day_is_the_next_one(void **state)
{
	(void)state;
	/* at 07:00Z, 08:00 UTC is in an hour; at 08:00Z it is now; after, tomorrow */
	assert_int_equal(parse_ok("08:00", "UTC", T_0800Z - HOUR_S), T_0800Z);
	assert_int_equal(parse_ok("08:00", "UTC", T_0800Z), T_0800Z);
	assert_int_equal(parse_ok("08:00", "UTC", T_0800Z + 1), T_0800Z + 86400);
	/* 08:00 in Berlin (07:00Z) has passed at 07:30Z: tomorrow's */
	assert_int_equal(parse_ok("08:00", "Europe/Berlin", T_0800Z - 1800),
	                 T_0800Z - HOUR_S + 86400);
	/* 08:00 in New York (13:00Z) is later the same day */
	assert_int_equal(parse_ok("08:00:00", "America/New_York", T_0800Z), T_0800Z + 5 * HOUR_S);
	assert_int_equal(parse_ok("09:00+01:00", NULL, T_0800Z - 1), T_0800Z);
}

static void test_daylight_saving_changes(void **state)
{
	(void)state;
	/* 2026-03-29 02:00 -> 03:00 in Berlin: 02:30 never happens */
	const char *m = parse_err("2026-03-29 02:30", "Europe/Berlin");
	assert_non_null(strstr(m, "does not exist in Europe/Berlin"));
	/* 2026-10-25 03:00 -> 02:00: 02:30 happens twice, the first (CEST) counts */
	assert_int_equal(parse_ok("2026-10-25 02:30", "Europe/Berlin", 0), 1792888200LL);
	/* a time of day skipped today is tomorrow's */
	int64_t before_gap = 1774742400LL; /* 2026-03-29T00:00:00Z */
	assert_int_equal(parse_ok("02:30", "Europe/Berlin", before_gap),
	                 before_gap + 86400 + 30 * 60); /* 03-30 02:30 CEST = 00:30Z */
}

static void test_bad_text_and_zones(void **state)
{
	struct err e;

	(void)state;
	const char *bad[] = {"",
	                     "tomorrow",
	                     "2026-12-03",
	                     "2026-13-03 08:00",
	                     "2026-02-29 08:00",
	                     "2026-12-03 24:00",
	                     "2026-12-03 08:60",
	                     "2026-12-03T08:00+25:00",
	                     "2026-12-03T08:00+01:",
	                     "8:00",
	                     "2026-12-03 08:00 CET",
	                     "2026-12-03 08:00:00."};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_non_null(strstr(parse_err(bad[i], "UTC"), "is not a time"));
	assert_non_null(strstr(parse_err("2026-12-03 08:00", "Europe/Berln"), "unknown time zone"));
	assert_non_null(strstr(parse_err("08:00", "../../etc/passwd"), "unknown time zone"));
	assert_non_null(strstr(parse_err("08:00", "/usr/share/zoneinfo/UTC"), "unknown time zone"));
	assert_non_null(strstr(parse_err("08:00", "+1:00"), "not a UTC offset"));
	assert_int_equal(when_zone_ok("Europe/Berlin", &e), 1);
	assert_int_equal(when_zone_ok("utc", &e), 1);
	assert_int_equal(when_zone_ok("-05:00", &e), 1);
	assert_int_equal(when_zone_ok("", &e), 1);
	assert_int_equal(when_zone_ok("Mars/Olympus", &e), 0);
	assert_int_equal(when_zone_ok("zone.tab", &e), 0); /* a file, not a TZif zone */
}

static void test_format(void **state)
{
	char buf[WHEN_TEXT_MAX];

	(void)state;
	when_format(T_0800Z, buf, sizeof(buf));
	assert_string_equal(buf, "2026-12-03T08:00:00Z");
	when_format(-1, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc3339),
	    cmocka_unit_test(test_local_in_zones),
	    cmocka_unit_test(test_time_of_day_is_the_next_one),
	    cmocka_unit_test(test_daylight_saving_changes),
	    cmocka_unit_test(test_bad_text_and_zones),
	    cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
