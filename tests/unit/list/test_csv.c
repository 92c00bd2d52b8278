/* Unit tests for src/list/csv.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "list/csv.h"

static FILE *mem(const char *text)
{
	return fmemopen((void *)text, strlen(text), "r");
}

static void expect_field(struct csv_reader *r, size_t i, const char *want)
{
	size_t n;
	const char *s = csv_field(r, i, &n);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(s, want, n);
}

static void test_rfc4180(void **state)
{
	(void)state;
	FILE *f = mem("a,b,c\r\n\"x,1\",\"say \"\"hi\"\"\",\r\n\"multi\nline\",2,3\nlast,,");
	struct csv_reader r;
	struct err e;
	csv_init(&r, f);
	assert_int_equal(csv_next(&r, &e), 1);
	assert_int_equal(r.nfields, 3);
	expect_field(&r, 2, "c");
	assert_int_equal(csv_next(&r, &e), 1);
	assert_int_equal(r.record_line, 2);
	expect_field(&r, 0, "x,1");
	expect_field(&r, 1, "say \"hi\"");
	expect_field(&r, 2, "");
	assert_int_equal(csv_next(&r, &e), 1);
	assert_int_equal(r.record_line, 3);
	expect_field(&r, 0, "multi\nline");
	assert_int_equal(csv_next(&r, &e), 1);
	assert_int_equal(r.record_line, 5);
	assert_int_equal(r.nfields, 3);
	assert_int_equal(csv_next(&r, &e), 0);
	csv_free(&r);
	fclose(f);
}

static void test_errors_skip_and_continue(void **state)
{
	(void)state;
	FILE *f = mem("ok,1\nba\"d,2\n\"q\"x,3\nbad\xff,4\nfine,5\n\"open,6\n");
	struct csv_reader r;
	struct err e;
	csv_init(&r, f);
	assert_int_equal(csv_next(&r, &e), 1);
	assert_int_equal(csv_next(&r, &e), -1);
	assert_string_equal(e.msg, "line 2, column 3: quote inside an unquoted field");
	assert_int_equal(csv_next(&r, &e), -1);
	assert_string_equal(e.msg, "line 3, column 4: text after a closing quote");
	assert_int_equal(csv_next(&r, &e), -1);
	assert_string_equal(e.msg, "line 4, column 1: field is not valid UTF-8");
	assert_int_equal(csv_next(&r, &e), 1);
	expect_field(&r, 0, "fine");
	assert_int_equal(r.record_line, 5);
	assert_int_equal(csv_next(&r, &e), -1);
	assert_string_equal(e.msg, "line 6, column 1: quoted field never closed");
	assert_int_equal(csv_next(&r, &e), 0);
	csv_free(&r);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc4180),
	    cmocka_unit_test(test_errors_skip_and_continue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
