/* Unit tests for src/list/recipients.c: a row's send time and expiry from
 * its send_at, expires_at and tz columns and the campaign's defaults; bad
 * values are errors of their row, naming the line and the column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "unit.h"

#include "list/recipients.h"

#define T_0800Z 1796284800LL /* 2026-12-03T08:00:00Z */
#define NOW     (T_0800Z - 12 * 3600)
#define HOUR_S  3600

struct got {
	int rc;
	int64_t send, expires;
	char err[ERR_MSG_MAX];
};

/* Reads the list csv with the campaign's times t; one result per row. */
static size_t read_rows(const char *csv, const struct recipient_times *t, struct got *out,
                        size_t max)
{
	char path[64];
	struct recipient_list l;
	struct recipient_row row = {0};
	struct err e;
	size_t n = 0;
	int rc;

	unit_tmpfile(path, sizeof(path), ".csv", csv);
	assert_int_equal(recipients_open(&l, path, &e), 0);
	if (t)
		recipients_set_times(&l, t);
	while ((rc = recipients_next(&l, &row, &e)) != 0 && n < max) {
		out[n] = (struct got){.rc = rc};
		if (rc == 1) {
			out[n].send = row.send_at_s;
			out[n].expires = row.expires_at_s;
		} else {
			snprintf(out[n].err, sizeof(out[n].err), "%s", strchr(e.msg, ':') + 1);
		}
		n++;
	}
	recipient_row_free(&row);
	strbuf_free(&row.fields);
	recipients_close(&l);
	unlink(path);
	return n;
}

static void test_no_times(void **state)
{
	struct got g[2];

	(void)state;
	assert_int_equal(read_rows("email\na@x.test\n", NULL, g, 2), 1);
	assert_int_equal(g[0].rc, 1);
	assert_int_equal(g[0].send, 0);
	assert_int_equal(g[0].expires, 0);
}

static void test_columns_and_zones(void **state)
{
	struct recipient_times t = {.now_s = NOW};
	struct got g[8];

	(void)state;
	size_t n =
	    read_rows("email,send_at,expires_at,tz\n"
	              "a@x.test,2026-12-03T08:00:00Z,,\n"
	              "b@x.test,08:00,10:00,Europe/Berlin\n"
	              "c@x.test,2026-12-03 08:00,2026-12-03T09:00:00-05:00,America/New_York\n"
	              "d@x.test,,2026-12-04T00:00:00Z,\n"
	              "e@x.test,08:00,,+01:00\n",
	              &t, g, 8);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(g[i].rc, 1);
	assert_int_equal(g[0].send, T_0800Z);
	assert_int_equal(g[0].expires, 0);
	/* 08:00 and 10:00 in Berlin (UTC+1 in December): the next ones */
	assert_int_equal(g[1].send, T_0800Z - HOUR_S);
	assert_int_equal(g[1].expires, T_0800Z + HOUR_S);
	assert_int_equal(g[2].send, T_0800Z + 5 * HOUR_S);
	assert_int_equal(g[2].expires, T_0800Z + 6 * HOUR_S);
	assert_int_equal(g[3].send, 0);
	assert_int_equal(g[3].expires, T_0800Z + 16 * HOUR_S);
	assert_int_equal(g[4].send, T_0800Z - HOUR_S);
}

/* The campaign's times fill the empty cells; a local one is read in the
 * row's tz; an expiry in counts from the row's send time. */
static void test_defaults(void **state)
{
	struct recipient_times t = {
	    .send_at = "2026-12-03 08:00", .expires_in_s = 2 * HOUR_S, .now_s = NOW};
	struct got g[4];

	(void)state;
	size_t n = read_rows("email,tz,send_at\n"
	                     "a@x.test,UTC,\n"
	                     "b@x.test,Asia/Tokyo,\n"
	                     "c@x.test,UTC,2026-12-03T10:00:00Z\n",
	                     &t, g, 4);
	assert_int_equal(n, 3);
	assert_int_equal(g[0].send, T_0800Z);
	assert_int_equal(g[0].expires, T_0800Z + 2 * HOUR_S);
	assert_int_equal(g[1].send, T_0800Z - 9 * HOUR_S);
	assert_int_equal(g[1].expires, T_0800Z - 7 * HOUR_S);
	assert_int_equal(g[2].send, T_0800Z + 2 * HOUR_S);
	assert_int_equal(g[2].expires, T_0800Z + 4 * HOUR_S);
	/* an expiry alone counts from the queueing */
	t = (struct recipient_times){.expires_in_s = 900, .now_s = NOW};
	assert_int_equal(read_rows("email\na@x.test\n", &t, g, 1), 1);
	assert_int_equal(g[0].send, 0);
	assert_int_equal(g[0].expires, NOW + 900);
}

static void test_bad_values_are_row_errors(void **state)
{
	struct recipient_times t = {.now_s = NOW};
	struct got g[8];

	(void)state;
	size_t n = read_rows("email,send_at,expires_at,tz\n"
	                     "a@x.test,tomorrow,,\n"
	                     "b@x.test,08:00,,Europe/Berln\n"
	                     "c@x.test,,2026-13-01T00:00Z,\n"
	                     "d@x.test,2026-12-03T08:00Z,2026-12-03T08:00Z,\n"
	                     "e@x.test,2026-03-29 02:30,,Europe/Berlin\n"
	                     "f@x.test,2026-12-03T08:00Z,,\n",
	                     &t, g, 8);
	assert_int_equal(n, 6);
	assert_int_equal(g[0].rc, -1);
	assert_non_null(strstr(g[0].err, "2: column send_at: 'tomorrow' is not a time"));
	assert_int_equal(g[1].rc, -1);
	assert_non_null(strstr(g[1].err, "3: column tz: unknown time zone 'Europe/Berln'"));
	assert_int_equal(g[2].rc, -1);
	assert_non_null(
	    strstr(g[2].err, "4: column expires_at: '2026-13-01T00:00Z' is not a time"));
	assert_int_equal(g[3].rc, -1);
	assert_non_null(strstr(g[3].err, "5: column expires_at: expires at 2026-12-03T08:00:00Z, "
	                                 "not after its send time 2026-12-03T08:00:00Z"));
	assert_int_equal(g[4].rc, -1);
	assert_non_null(strstr(g[4].err, "6: column send_at: '2026-03-29 02:30' does not exist in "
	                                 "Europe/Berlin"));
	assert_int_equal(g[5].rc, 1); /* reading goes on */
	/* a campaign's time that a row's zone skips names the option */
	t = (struct recipient_times){.send_at = "2026-03-29 02:30", .now_s = NOW};
	n = read_rows("email,tz\na@x.test,Europe/Berlin\nb@x.test,UTC\n", &t, g, 2);
	assert_int_equal(g[0].rc, -1);
	assert_non_null(strstr(g[0].err, "2: --send-at: '2026-03-29 02:30' does not exist"));
	assert_int_equal(g[1].rc, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_times),
	    cmocka_unit_test(test_columns_and_zones),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_bad_values_are_row_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
