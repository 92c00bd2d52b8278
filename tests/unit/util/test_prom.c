/* Unit tests for src/util/prom.c and histogram.c: the Prometheus text
 * format (escaping, values, histogram buckets). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/histogram.h"
#include "util/prom.h"

static void test_label_escaping(void **state)
{
	struct strbuf b = STRBUF_INIT;
	struct prom_label l[2] = {{"campaign", "a\"b\\c\nd"}, {"site", NULL}};

	(void)state;
	prom_sample(&b, "m", l, 2, 3);
	assert_string_equal(b.data, "m{campaign=\"a\\\"b\\\\c\\nd\",site=\"\"} 3\n");
	strbuf_reset(&b);
	/* not UTF-8: the byte is written as the text \xFF, its backslash escaped */
	struct prom_label bad = {"x", "caf\xff"};
	prom_sample(&b, "m", &bad, 1, 1);
	assert_string_equal(b.data, "m{x=\"caf\\\\xFF\"} 1\n");
	strbuf_reset(&b);
	prom_sample(&b, "m", NULL, 0, 0.25);
	assert_string_equal(b.data, "m 0.25\n");
	strbuf_free(&b);
}

static void test_help_and_values(void **state)
{
	struct strbuf b = STRBUF_INIT;

	(void)state;
	prom_family(&b, "m_total", "counter", "a \"quoted\" back\\slash\nnewline");
	/* in HELP, only backslash and line feed are escaped */
	assert_string_equal(b.data, "# HELP m_total a \"quoted\" back\\\\slash\\nnewline\n"
	                            "# TYPE m_total counter\n");
	strbuf_reset(&b);
	prom_value(&b, 1e15);
	strbuf_addc(&b, ' ');
	prom_value(&b, -2);
	strbuf_addc(&b, ' ');
	prom_value(&b, INFINITY);
	strbuf_addc(&b, ' ');
	prom_value(&b, -INFINITY);
	strbuf_addc(&b, ' ');
	prom_value(&b, NAN);
	strbuf_addc(&b, ' ');
	prom_value(&b, 1e300);
	assert_string_equal(b.data, "1000000000000000 -2 +Inf -Inf NaN 1e+300");
	strbuf_free(&b);
}

static void test_histogram_buckets(void **state)
{
	static const double bounds[] = {0.001, 0.01, 0.1};
	struct histogram h;
	struct strbuf b = STRBUF_INIT;
	struct prom_label l = {"k", "v"};

	(void)state;
	histogram_init(&h, bounds, 3);
	histogram_observe(&h, 0.0005); /* first bucket */
	histogram_observe(&h, 0.001);  /* a bound is inclusive (le) */
	histogram_observe(&h, 0.05);
	histogram_observe(&h, 7); /* only +Inf */
	assert_int_equal(h.count, 4);
	assert_int_equal(histogram_cumulative(&h, 0), 2);
	assert_int_equal(histogram_cumulative(&h, 1), 2);
	assert_int_equal(histogram_cumulative(&h, 2), 3);
	assert_int_equal(histogram_cumulative(&h, 3), 4);
	prom_histogram(&b, "lat_seconds", &l, 1, &h);
	assert_string_equal(b.data, "lat_seconds_bucket{k=\"v\",le=\"0.001\"} 2\n"
	                            "lat_seconds_bucket{k=\"v\",le=\"0.01\"} 2\n"
	                            "lat_seconds_bucket{k=\"v\",le=\"0.1\"} 3\n"
	                            "lat_seconds_bucket{k=\"v\",le=\"+Inf\"} 4\n"
	                            "lat_seconds_sum{k=\"v\"} 7.0515\n"
	                            "lat_seconds_count{k=\"v\"} 4\n");
	strbuf_free(&b);
}

static void test_histogram_bounded(void **state)
{
	static double many[HISTOGRAM_BUCKETS_MAX + 5];
	struct histogram h;

	(void)state;
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
		many[i] = (double)(i + 1);
	histogram_init(&h, many, sizeof(many) / sizeof(many[0]));
	assert_int_equal(h.n, HISTOGRAM_BUCKETS_MAX); /* never past its array */
	histogram_observe(&h, 1000);
	assert_int_equal(h.counts[HISTOGRAM_BUCKETS_MAX], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_label_escaping),
	    cmocka_unit_test(test_help_and_values),
	    cmocka_unit_test(test_histogram_buckets),
	    cmocka_unit_test(test_histogram_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
