/* Unit tests for src/msg/crlf.c: every line end a CRLF, so no receiver can
 * find the end of a message before ours (SMTP smuggling). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "msg/crlf.h"

static void check(const char *in, const char *want)
{
	struct strbuf b = STRBUF_INIT;

	strbuf_adds(&b, in);
	crlf_normalize(&b);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	assert_true(crlf_only(b.data, b.len));
	strbuf_free(&b);
}

static void test_crlf_only(void **state)
{
	(void)state;
	assert_true(crlf_only("", 0));
	assert_true(crlf_only("a\r\nb\r\n", 6));
	assert_false(crlf_only("a\nb", 3));
	assert_false(crlf_only("a\rb", 3));
	assert_false(crlf_only("a\r", 2));
	assert_false(crlf_only("\n", 1));
}

static void test_normalize(void **state)
{
	(void)state;
	check("a\r\nb\r\n", "a\r\nb\r\n");
	check("a\nb\n", "a\r\nb\r\n");
	check("a\r.\rMAIL FROM:<x@y>\r\n", "a\r\n.\r\nMAIL FROM:<x@y>\r\n");
	check("a\n.\nb", "a\r\n.\r\nb");
	check("a\r\r\n", "a\r\n\r\n");
	check("\r", "\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crlf_only),
	    cmocka_unit_test(test_normalize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
