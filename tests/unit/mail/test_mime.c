/* Unit tests for src/mail/mime.c and the bounds of bounce/parse.c: base64 with
 * lines of every length across the decoder's internal slices (a 4,094-char
 * line once overflowed a stack buffer), quoted-printable, and a report
 * made of a million tiny field groups parsed in bounded time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "mail/mime.h"
#include "bounce/parse.h"
#include "util/strbuf.h"

/* A base64 entity of n pseudo-random bytes, wrapped every line_len chars. */
static void base64_entity(size_t n, size_t line_len, struct strbuf *msg, unsigned char **raw)
{
	unsigned char *b = malloc(n);
	char *enc = malloc(4 * (n / 3 + 2) + 1);
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)((i * 2654435761u) >> 13);
	int el = EVP_EncodeBlock((unsigned char *)enc, b, (int)n);
	strbuf_adds(msg,
	            "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n");
	for (int off = 0; off < el; off += (int)line_len) {
		int k = el - off < (int)line_len ? el - off : (int)line_len;
		strbuf_add(msg, enc + off, (size_t)k);
		strbuf_adds(msg, "\r\n");
	}
	free(enc);
	*raw = b;
}

static void test_base64_any_line_length(void **state)
{
	static const size_t lens[] = {76, 1000, 4094, 4095, 4096, 4097, 8190, 30000};
	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct strbuf msg = STRBUF_INIT, out = STRBUF_INIT;
		unsigned char *raw;
		struct mime_entity m;
		base64_entity(30000, lens[i], &msg, &raw);
		mime_entity(msg.data, msg.len, &m);
		mime_decoded_body(&m, &out);
		assert_int_equal(out.len, 30000);
		assert_memory_equal(out.data, raw, 30000);
		free(raw);
		strbuf_free(&msg);
		strbuf_free(&out);
	}
}

static void test_quoted_printable(void **state)
{
	const char *msg = "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	                  "550 5.1.1=\r\n user=3Dunknown=\n end=4";
	struct strbuf out = STRBUF_INIT;
	struct mime_entity m;
	(void)state;
	mime_entity(msg, strlen(msg), &m);
	mime_decoded_body(&m, &out);
	assert_string_equal(out.data, "550 5.1.1 user=unknown end=4");
	strbuf_free(&out);
}

/* 8 MB of "X: y" groups in a delivery-status part: bounded work. */
static void test_report_parse_is_bounded(void **state)
{
	struct strbuf msg = STRBUF_INIT;
	struct bounce_report *r = calloc(1, sizeof(*r));
	(void)state;
	strbuf_adds(&msg, "From: MAILER-DAEMON@example.com\r\nContent-Type: multipart/report; "
	                  "report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\n"
	                  "Content-Type: message/delivery-status\r\n\r\n"
	                  "Reporting-MTA: dns; mx.example.com\r\n\r\n");
	while (msg.len < 8 * 1024 * 1024)
		strbuf_adds(&msg, "X: y\r\n\r\n");
	strbuf_adds(&msg, "Final-Recipient: rfc822; late@example.com\r\nAction: failed\r\n"
	                  "Status: 5.1.1\r\n\r\n--b--\r\n");
	clock_t t0 = clock();
	bounce_parse(msg.data, msg.len, r);
	double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_int_equal(r->kind, RK_DSN);
	assert_int_equal(r->nrcpts, 0); /* the recipient group lies past the bound */
	assert_true(s < 2.0);           /* generous for sanitizers; ~10 ms here */
	free(r);
	strbuf_free(&msg);
}

/* A header field longer than what is kept (16 KB): found, empty, never a
 * NULL buffer (a 20 KB From: line once crashed serve's parser). */
static void test_header_longer_than_kept(void **state)
{
	struct strbuf msg = STRBUF_INIT, v = STRBUF_INIT;
	struct bounce_report *r = calloc(1, sizeof(*r));
	struct mime_entity m;
	(void)state;
	strbuf_adds(&msg, "From: ");
	for (int i = 0; i < 20000; i++)
		strbuf_addc(&msg, 'a');
	strbuf_adds(&msg, "\r\nX-Failed-Recipients: ");
	for (int i = 0; i < 20000; i++)
		strbuf_addc(&msg, 'b');
	strbuf_adds(&msg, "\r\n\r\nbody\r\n");
	mime_entity(msg.data, msg.len, &m);
	assert_int_equal(mime_header(&m, "From", &v), 1);
	assert_non_null(v.data);
	bounce_parse(msg.data, msg.len, r);
	free(r);
	strbuf_free(&v);
	strbuf_free(&msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64_any_line_length),
	    cmocka_unit_test(test_quoted_printable),
	    cmocka_unit_test(test_report_parse_is_bounded),
	    cmocka_unit_test(test_header_longer_than_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
