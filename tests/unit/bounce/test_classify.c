/* Unit tests for src/bounce/classify.c (the built-in first rules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "bounce/classify.h"

static void test_categories(void **state)
{
	(void)state;
	assert_string_equal(classify_reply("dot", 250, "2.0.0", "ok"), "delivered");
	assert_string_equal(classify_reply("rcpt", 550, "5.1.1", "User unknown"),
	                    "invalid_recipient");
	assert_string_equal(classify_reply("rcpt", 452, "4.2.2", "Mailbox full"), "mailbox_full");
	assert_string_equal(classify_reply("rcpt", 450, "4.7.1", "Greylisted, see x"),
	                    "greylisted");
	assert_string_equal(classify_reply("mail", 421, "4.7.0",
	                                   "[TSS04] Messages temporarily deferred due to "
	                                   "unexpected volume or user complaints"),
	                    "rate_limited");
	assert_string_equal(classify_reply("rcpt", 421, "", "RP-001 rate limit exceeded"),
	                    "rate_limited");
	assert_string_equal(classify_reply("dns", 550, "5.1.2", "NXDOMAIN"), "dns_or_routing");
	assert_string_equal(classify_reply("dot", 554, "5.7.1", "Message content rejected"),
	                    "policy_other");
	assert_string_equal(classify_reply("dot", 550, "5.7.26", "DMARC policy"), "auth_failure");
	assert_string_equal(classify_reply("mail", 554, "5.6.3", "no 8BITMIME"), "protocol_error");
	assert_string_equal(classify_reply("mail", 552, "5.3.4", "too big"), "message_too_large");
	assert_string_equal(classify_reply("starttls", 451, "4.7.10", "TLS required"),
	                    "tls_required");
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_categories)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
