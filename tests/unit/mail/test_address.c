/* Unit tests for src/mail/address.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "mail/address.h"

static void parse_ok(const char *in, const char *mailbox, const char *domain, int utf8)
{
	struct address a;
	struct err e;

	assert_int_equal(address_parse(in, strlen(in), &a, &e), 0);
	assert_string_equal(a.mailbox, mailbox);
	assert_string_equal(a.domain, domain);
	assert_int_equal(a.utf8_local, utf8);
	address_free(&a);
}

static void parse_bad(const char *in, const char *why)
{
	struct address a;
	struct err e;

	assert_int_equal(address_parse(in, strlen(in), &a, &e), -1);
	assert_non_null(strstr(e.msg, why));
}

static void test_canonical_forms(void **state)
{
	(void)state;
	parse_ok("Alice@Example.COM", "Alice@example.com", "example.com", 0);
	parse_ok("a.b+tag@sub.example.org", "a.b+tag@sub.example.org", "sub.example.org", 0);
	parse_ok("\"john doe\"@example.com", "\"john doe\"@example.com", "example.com", 0);
	parse_ok("user@café.example", "user@xn--caf-dma.example", "xn--caf-dma.example", 0);
	parse_ok("üser@example.com", "üser@example.com", "example.com", 1);
}

static void test_rejections(void **state)
{
	(void)state;
	parse_bad("", "empty address");
	parse_bad("no-at-sign", "no @");
	parse_bad("@example.com", "empty local part");
	parse_bad("a@", "empty domain");
	parse_bad(".a@example.com", "misplaced dot");
	parse_bad("a..b@example.com", "misplaced dot");
	parse_bad("a b@example.com", "bad character");
	parse_bad("a@[192.0.2.1]", "address literals");
	parse_bad("a@localhost", "bad domain");
	parse_bad("a@exa_mple.com", "bad domain");
	parse_bad("a@-example.com", "bad domain");
	parse_bad("a@example.123", "bad domain");
	parse_bad("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com",
	          "local part longer");
}

static void test_hostname(void **state)
{
	(void)state;
	assert_true(domain_is_hostname("mta1.example.com"));
	assert_false(domain_is_hostname("localhost"));
	assert_false(domain_is_hostname("192.0.2.1"));
	assert_false(domain_is_hostname("a..b.com"));
	assert_false(domain_is_hostname("a.b.com."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_canonical_forms),
	    cmocka_unit_test(test_rejections),
	    cmocka_unit_test(test_hostname),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
