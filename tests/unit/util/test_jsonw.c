/* Unit tests for src/util/jsonw.c: what it writes, jansson reads back the
 * same (strings with quotes, backslashes, control characters, UTF-8), and
 * any bytes at all make valid JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "util/jsonw.h"

static void test_round_trip(void **state)
{
	struct strbuf b = STRBUF_INIT;
	json_t *j;

	(void)state;
	jsonw_begin(&b);
	jsonw_end(&b);
	assert_string_equal(b.data, "{}");
	jsonw_begin(&b);
	jsonw_str(&b, "reply", "550 5.1.1 \"no\" \\ such\tuser\r\n");
	jsonw_str(&b, "none", NULL);
	jsonw_int(&b, "code", -550);
	jsonw_str(&b, "who", "Grüße");
	jsonw_int(&b, "big", INT64_MAX);
	jsonw_end(&b);
	j = json_loads(b.data, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "reply")),
	                    "550 5.1.1 \"no\" \\ such\tuser\r\n");
	assert_null(json_object_get(j, "none"));
	assert_int_equal(json_integer_value(json_object_get(j, "code")), -550);
	assert_string_equal(json_string_value(json_object_get(j, "who")), "Grüße");
	assert_true(json_integer_value(json_object_get(j, "big")) == INT64_MAX);
	json_decref(j);
	strbuf_free(&b);
}

static void test_invalid_utf8_escaped(void **state)
{
	struct strbuf b = STRBUF_INIT;
	json_t *j;

	(void)state;
	jsonw_begin(&b);
	jsonw_str(&b, "t", "caf\xe9");
	jsonw_end(&b);
	j = json_loads(b.data, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "t")), "caf\\xE9");
	json_decref(j);
	strbuf_free(&b);
}

static void test_any_bytes_make_json(void **state)
{
	struct strbuf b = STRBUF_INIT;
	char s[40];

	(void)state;
	srand(7);
	for (int n = 0; n < 20000; n++) {
		size_t len = (size_t)(rand() % 39);
		for (size_t i = 0; i < len; i++)
			s[i] = (char)(1 + rand() % 255);
		s[len] = '\0';
		jsonw_begin(&b);
		jsonw_str(&b, "k", s);
		jsonw_end(&b);
		json_t *j = json_loads(b.data, 0, NULL);
		assert_non_null(j);
		json_decref(j);
	}
	strbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_invalid_utf8_escaped),
	    cmocka_unit_test(test_any_bytes_make_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
