/* Unit tests for src/list/hygiene.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "list/hygiene.h"

static void test_typos(void **state)
{
	(void)state;
	assert_string_equal(hygiene_typo_of("gmial.com"), "gmail.com");
	assert_string_equal(hygiene_typo_of("gamil.com"), "gmail.com");
	assert_string_equal(hygiene_typo_of("hotmial.com"), "hotmail.com");
	assert_string_equal(hygiene_typo_of("yaho.com"), "yahoo.com");
	assert_string_equal(hygiene_typo_of("gmail.con"), "gmail.com");
	assert_string_equal(hygiene_typo_of("outlok.com"), "outlook.com");
	assert_string_equal(hygiene_typo_of("yahooo.com"), "yahoo.com");
	/* real domains stay */
	assert_null(hygiene_typo_of("gmail.com"));
	assert_null(hygiene_typo_of("mail.com"));
	assert_null(hygiene_typo_of("gmx.de"));
	assert_null(hygiene_typo_of("example.com"));
	assert_null(hygiene_typo_of("yahoo.co.jp"));
	assert_null(hygiene_typo_of("ok.test"));
}

static void test_roles(void **state)
{
	(void)state;
	assert_true(hygiene_is_role("postmaster@example.com"));
	assert_true(hygiene_is_role("Abuse@example.com"));
	assert_true(hygiene_is_role("no-reply+x@example.com"));
	assert_false(hygiene_is_role("postmasters@example.com"));
	assert_false(hygiene_is_role("info@example.com"));
	assert_false(hygiene_is_role("alice@example.com"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_typos),
	                                   cmocka_unit_test(test_roles)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
