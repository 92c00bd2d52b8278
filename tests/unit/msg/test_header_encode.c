/* Unit tests for src/msg/header_encode.c: the template's own 8-bit header
 * text becomes RFC 2047 encoded words; addresses, placeholders, ASCII and
 * the body stay as written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "msg/header_encode.h"
#include "util/utf8.h"

static const char *enc(const char *msg, struct strbuf *out)
{
	strbuf_reset(out);
	return header_encode_8bit(msg, strlen(msg), out) ? out->data : NULL;
}

static void test_ascii_untouched(void **state)
{
	struct strbuf b = STRBUF_INIT;
	(void)state;
	assert_null(enc("From: a <a@x.test>\r\nSubject: hi {{name}}\r\n\r\nbödy\r\n", &b));
	strbuf_free(&b);
}

static void test_subject_and_display_names(void **state)
{
	struct strbuf b = STRBUF_INIT;
	(void)state;
	const char *m = enc("From: \"Sluice N\xc3\xabws\" <news@x.test>\r\n"
	                    "To: Zo\xc3\xab <{{email}}>, plain <p@x.test>\r\n"
	                    "Subject: Gr\xc3\xbc\xc3\x9f"
	                    "e an alle, {{name}}!\r\n"
	                    "\r\nb\xc3\xb6"
	                    "dy stays\r\n",
	                    &b);
	assert_non_null(m);
	assert_false(utf8_has_8bit(m, (size_t)(strstr(m, "\r\n\r\n") - m)));
	/* "Sluice Nëws" and "Zoë" as encoded words, the addresses as written */
	assert_non_null(strstr(m, "From: =?UTF-8?B?U2x1aWNlIE7Dq3dz?= <news@x.test>\r\n"));
	assert_non_null(strstr(m, "To: =?UTF-8?B?Wm/Dqw==?= <{{email}}>, plain <p@x.test>\r\n"));
	/* only the 8-bit word of the subject; the placeholder is left alone */
	assert_non_null(strstr(m, "Subject: =?UTF-8?B?R3LDvMOfZQ==?= an alle, {{name}}!\r\n"));
	assert_non_null(strstr(m, "\r\n\r\nb\xc3\xb6"
	                          "dy stays\r\n"));
	strbuf_free(&b);
}

static void test_runs_and_folding(void **state)
{
	struct strbuf b = STRBUF_INIT;
	(void)state;
	/* consecutive 8-bit words are one run; a long one folds into words of
	 * at most 75 characters on continuation lines */
	const char *m = enc("Subject: \xc3\xa9t\xc3\xa9 \xc3\xa0 Paris "
	                    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	                    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	                    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\r\n"
	                    "From: a@x.test\r\n\r\n",
	                    &b);
	assert_non_null(m);
	assert_non_null(strstr(m, "Subject: =?UTF-8?B?w6l0w6kgw6A=?= Paris"));
	assert_non_null(strstr(m, "?=\r\n =?UTF-8?B?"));
	for (const char *l = m; *l;) {
		const char *e = strstr(l, "\r\n");
		assert_true(e - l <= 998);
		l = e + 2;
	}
	/* a folded field is unfolded first; a MIME field is left alone */
	m = enc("Subject: caf\xc3\xa9\r\n  cr\xc3\xa8me\r\nContent-Type: text/plain; "
	        "name=\"\xc3\xa9\"\r\n\r\n",
	        &b);
	assert_non_null(m);
	assert_non_null(strstr(m, "Subject: =?UTF-8?B?Y2Fmw6kgIGNyw6htZQ==?=\r\n"));
	assert_non_null(strstr(m, "Content-Type: text/plain; name=\"\xc3\xa9\"\r\n"));
	strbuf_free(&b);
}

/* A folded field with one 8-bit word is unfolded to encode it, then folded
 * again: no line passes 76 octets plus its CRLF (RFC 2047 2, RFC 5322 2.1.1). */
static void test_refolded(void **state)
{
	struct strbuf in = STRBUF_INIT, b = STRBUF_INIT;
	(void)state;
	strbuf_adds(&in, "Subject: caf\xc3\xa9");
	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < 100; k++)
			strbuf_adds(&in, " word");
		strbuf_adds(&in, "\r\n");
	}
	strbuf_adds(&in, "From: a@x.test\r\n\r\nbody\r\n");
	assert_int_equal(header_encode_8bit(in.data, in.len, &b), 1);
	for (const char *l = b.data; *l;) {
		const char *e = strstr(l, "\r\n");
		assert_non_null(e);
		assert_true(e - l <= 76);
		l = e + 2;
	}
	assert_non_null(strstr(b.data, "\r\n\r\nbody\r\n"));
	strbuf_free(&in);
	strbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ascii_untouched),
	    cmocka_unit_test(test_subject_and_display_names),
	    cmocka_unit_test(test_runs_and_folding),
	    cmocka_unit_test(test_refolded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
