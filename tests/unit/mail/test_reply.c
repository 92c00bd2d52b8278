/* Unit tests for src/mail/reply.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "mail/reply.h"

static enum reply_status feed(struct reply *r, const char *line)
{
	struct err e;
	return reply_feed_line(r, line, strlen(line), &e);
}

static void test_single_line_with_enhanced_code(void **state)
{
	struct reply r;

	(void)state;
	reply_reset(&r);
	assert_int_equal(feed(&r, "550 5.1.1 <x@y>: User unknown"), REPLY_DONE);
	assert_int_equal(r.code, 550);
	assert_string_equal(r.enhanced, "5.1.1");
	assert_string_equal(r.text, "<x@y>: User unknown");
}

static void test_multi_line_joined(void **state)
{
	struct reply r;

	(void)state;
	reply_reset(&r);
	assert_int_equal(feed(&r, "421-4.7.0 [TSS04] Messages from 192.0.2.1"), REPLY_MORE);
	assert_int_equal(feed(&r, "421-4.7.0 temporarily deferred due to"), REPLY_MORE);
	assert_int_equal(feed(&r, "421 4.7.0 unexpected volume"), REPLY_DONE);
	assert_int_equal(r.nlines, 3);
	assert_string_equal(r.enhanced, "4.7.0");
	assert_string_equal(r.text, "[TSS04] Messages from 192.0.2.1 temporarily deferred due to "
	                            "unexpected volume");
}

static void test_no_enhanced_code_and_bare_code(void **state)
{
	struct reply r;

	(void)state;
	reply_reset(&r);
	assert_int_equal(feed(&r, "250"), REPLY_DONE);
	assert_int_equal(r.code, 250);
	reply_reset(&r);
	assert_int_equal(feed(&r, "452 Mailbox full"), REPLY_DONE);
	assert_string_equal(r.enhanced, "");
	/* an enhanced code of the wrong class is text, not a code */
	reply_reset(&r);
	assert_int_equal(feed(&r, "550 4.1.1 odd"), REPLY_DONE);
	assert_string_equal(r.enhanced, "");
}

static void test_malformed(void **state)
{
	struct reply r;

	(void)state;
	reply_reset(&r);
	assert_int_equal(feed(&r, "hello"), REPLY_BAD);
	reply_reset(&r);
	assert_int_equal(feed(&r, "999 nope"), REPLY_BAD);
	reply_reset(&r);
	assert_int_equal(feed(&r, "250x"), REPLY_BAD);
	reply_reset(&r);
	assert_int_equal(feed(&r, "250-first"), REPLY_MORE);
	assert_int_equal(feed(&r, "550 changed code"), REPLY_BAD);
}

static void test_bounded(void **state)
{
	struct reply r;
	char line[REPLY_LINE_MAX];

	(void)state;
	reply_reset(&r);
	memset(line, 'x', sizeof(line) - 1);
	memcpy(line, "250-", 4);
	line[sizeof(line) - 1] = '\0';
	for (int i = 0; i < REPLY_LINES_MAX - 1; i++)
		assert_int_equal(feed(&r, line), REPLY_MORE);
	assert_true(r.text_len < REPLY_TEXT_MAX);
	assert_int_equal(feed(&r, line), REPLY_MORE);
	assert_int_equal(feed(&r, line), REPLY_BAD); /* more than REPLY_LINES_MAX lines */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_line_with_enhanced_code),
	    cmocka_unit_test(test_multi_line_joined),
	    cmocka_unit_test(test_no_enhanced_code_and_bare_code),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
