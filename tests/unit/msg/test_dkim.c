/* Unit tests for src/msg/dkim.c: canonicalization (RFC 6376 3.4.5's own
 * example) and key errors. Signatures are verified end to end by
 * independent verifiers in tests/e2e/test_dkim.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "msg/dkim.h"

static void canon_h(const char *in, int relaxed, const char *want)
{
	struct strbuf out = STRBUF_INIT;
	dkim_canon_header(in, strlen(in), relaxed, &out);
	assert_int_equal(out.len, strlen(want));
	assert_memory_equal(out.data, want, out.len);
	strbuf_free(&out);
}

static void canon_b(const char *in, int relaxed, const char *want)
{
	struct strbuf out = STRBUF_INIT;
	dkim_canon_body(in, strlen(in), relaxed, &out);
	assert_int_equal(out.len, strlen(want));
	if (out.len)
		assert_memory_equal(out.data, want, out.len);
	strbuf_free(&out);
}

static void test_rfc6376_example(void **state)
{
	(void)state;
	/* RFC 6376 3.4.5 */
	canon_h("A: X", 1, "a:X");
	canon_h("B : Y\t\r\n\tZ  ", 1, "b:Y Z");
	canon_b(" C \r\nD \t E\r\n\r\n\r\n", 1, " C\r\nD E\r\n");
	canon_h("B : Y\t\r\n\tZ  ", 0, "B : Y\t\r\n\tZ  ");
	canon_b(" C \r\nD \t E\r\n\r\n\r\n", 0, " C \r\nD \t E\r\n");
}

static void test_edges(void **state)
{
	(void)state;
	canon_b("", 0, "\r\n"); /* simple: an empty body is one CRLF */
	canon_b("", 1, "");
	canon_b("\r\n\r\n", 1, "");
	canon_b("x", 1, "x\r\n"); /* a last line gets its CRLF */
	canon_b("x  \r\n \t \r\n", 1, "x\r\n");
	/* a colon inside the value keeps the space after it */
	canon_h("Subject:  a: b ", 1, "subject:a: b");
}

static void test_key_errors(void **state)
{
	(void)state;
	struct config c;
	struct dkim_conf d = {.domain = "x.test", .selector = "s", .key = "/nonexistent/k.pem"};
	struct dkim_signer *s = NULL;
	struct err e;
	config_defaults(&c);
	c.dkim = &d;
	c.ndkim = 1;
	assert_int_equal(dkim_signer_new(&c, &s, &e), -1);
	assert_non_null(strstr(e.msg, "/nonexistent/k.pem"));
	assert_null(s);
	d.key = "Makefile"; /* a file, not a key (tests run from the repository root) */
	assert_int_equal(dkim_signer_new(&c, &s, &e), -1);
	assert_non_null(strstr(e.msg, "not a PEM RSA or Ed25519 private key"));
	/* no keys: a signer that signs nothing */
	c.ndkim = 0;
	assert_int_equal(dkim_signer_new(&c, &s, &e), 0);
	struct strbuf m = STRBUF_INIT;
	strbuf_adds(&m, "From: a@x.test\r\n\r\nhi\r\n");
	assert_int_equal(dkim_sign(s, &m, 0, &e), 0);
	assert_null(strstr(m.data, "DKIM-Signature"));
	strbuf_free(&m);
	dkim_signer_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc6376_example),
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_key_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
