/* Unit tests for src/util: strmap, strbuf, utf8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/strbuf.h"
#include "util/strmap.h"
#include "util/utf8.h"

static void test_strmap_put_get_remove_grow(void **state)
{
	struct strmap *m = strmap_new();
	char key[32];

	(void)state;
	for (intptr_t i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%ld", (long)i);
		assert_null(strmap_put(m, key, (void *)(i + 1)));
	}
	assert_int_equal(strmap_count(m), 5000);
	for (intptr_t i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof(key), "k%ld", (long)i);
		assert_ptr_equal(strmap_remove(m, key), (void *)(i + 1));
	}
	for (intptr_t i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%ld", (long)i);
		void *v = strmap_get(m, key);
		if (i % 2)
			assert_ptr_equal(v, (void *)(i + 1));
		else
			assert_null(v);
	}
	size_t pos = 0, n = 0;
	const char *k;
	void *v;
	while (strmap_next(m, &pos, &k, &v))
		n++;
	assert_int_equal(n, 2500);
	strmap_free(m, NULL);
}

static void test_strbuf(void **state)
{
	struct strbuf b = STRBUF_INIT;

	(void)state;
	strbuf_adds(&b, "a");
	strbuf_addf(&b, "%0300d", 7);
	assert_int_equal(b.len, 301);
	assert_int_equal(b.data[b.len], '\0');
	char *s = strbuf_detach(&b);
	assert_int_equal(strlen(s), 301);
	free(s);
	assert_null(b.data);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(utf8_valid("plain", 5));
	assert_true(utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
	assert_false(utf8_valid("\xc3", 1));         /* truncated */
	assert_false(utf8_valid("\xc0\xaf", 2));     /* overlong */
	assert_false(utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
	assert_false(utf8_valid("\xff", 1));
	assert_true(utf8_has_8bit("a\xc3\xa9", 3));
	assert_false(utf8_has_8bit("abc", 3));
}

static void test_utf8_escape_invalid(void **state)
{
	struct strbuf b = STRBUF_INIT;
	(void)state;
	utf8_escape_invalid("a\xff\xc3\xa9"
	                    "b\xc3",
	                    6, &b);
	assert_string_equal(b.data, "a\\xFF\xc3\xa9"
	                            "b\\xC3");
	assert_true(utf8_valid(b.data, b.len));
	strbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strmap_put_get_remove_grow),
	    cmocka_unit_test(test_strbuf),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_utf8_escape_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
