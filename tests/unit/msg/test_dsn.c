/* Unit tests for src/msg/dsn.c: the report's structure and fields, what
 * comes from outside made safe, the original's headers only, bounds, and
 * sluice's own DSN reader (bounce_parse) recognising what it writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "bounce/parse.h"
#include "mail/mime.h"
#include "msg/dsn.h"

#define NOW_S 1767225600 /* 2026-01-01T00:00:00Z */

static const char ORIGINAL[] = "Return-Path: <app@submit.example>\r\n"
                               "From: App <app@submit.example>\r\n"
                               "Subject: Your receipt\r\n"
                               "Message-ID: <r-42@submit.example>\r\n"
                               "\r\n"
                               "SECRET BODY TEXT\r\n";

static struct dsn_params params(void)
{
	struct dsn_params p = {
	    .reporting_mta = "out.sluice.example",
	    .to = "app@submit.example",
	    .envelope_id = "receipt-42",
	    .queue_id = "Q7F3A",
	    .original = ORIGINAL,
	    .original_len = sizeof(ORIGINAL) - 1,
	    .now_s = NOW_S,
	    .message_id_domain = "sluice.example",
	};
	return p;
}

static struct dsn_rcpt rcpt(const char *address, const char *action, const char *status, int code,
                            const char *reply, const char *mx)
{
	struct dsn_rcpt r = {address, action, status, code, reply, mx, NOW_S - 60};
	return r;
}

/* Every line ends in CRLF, no CR or LF elsewhere, no line over 998
 * octets, no NUL; 7-bit everywhere when seven is set. */
static void assert_lines(const struct strbuf *b, int seven)
{
	size_t col = 0;
	assert_true(b->len >= 2 && memcmp(b->data + b->len - 2, "\r\n", 2) == 0);
	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];
		if (c == '\r') {
			assert_true(i + 1 < b->len && b->data[i + 1] == '\n');
			i++;
			col = 0;
			continue;
		}
		assert_int_not_equal(c, '\n');
		assert_int_not_equal(c, 0);
		if (seven)
			assert_true(c < 0x80);
		assert_true(++col <= 998);
	}
}

/* 1 if a line of b starts with s. */
static int line_starts(const struct strbuf *b, const char *s)
{
	size_t k = strlen(s);
	for (size_t i = 0; i + k <= b->len; i++)
		if ((i == 0 || b->data[i - 1] == '\n') && strncasecmp(b->data + i, s, k) == 0)
			return 1;
	return 0;
}

static void header(const struct mime_entity *m, const char *name, struct strbuf *v)
{
	if (!mime_header(m, name, v))
		fail_msg("no %s header", name);
}

/* The message, its three parts and the delivery-status body. */
struct view {
	struct mime_entity top, parts[8];
	size_t nparts;
	struct strbuf status;
};

static void view(const struct strbuf *b, struct view *v)
{
	mime_entity(b->data, b->len, &v->top);
	v->nparts = mime_parts(&v->top, v->parts, 8);
	memset(&v->status, 0, sizeof(v->status));
	if (v->nparts >= 2)
		mime_decoded_body(&v->parts[1], &v->status);
}

static void build(const struct dsn_params *p, const struct dsn_rcpt *r, size_t n,
                  struct strbuf *out)
{
	struct err e;
	if (dsn_build(p, r, n, out, &e) != 0)
		fail_msg("dsn_build: %s", e.msg);
}

static void test_structure(void **state)
{
	(void)state;
	struct dsn_params p = params();
	struct dsn_rcpt r[] = {rcpt("alice@example.net", "failed", "5.1.1", 550,
	                            "5.1.1 <alice@example.net>: User unknown", "mx1.example.net")};
	struct strbuf out = STRBUF_INIT, v = STRBUF_INIT;
	struct view w;
	char type[64];

	build(&p, r, 1, &out);
	assert_lines(&out, 1);
	view(&out, &w);
	header(&w.top, "From", &v);
	assert_string_equal(v.data, "Mail Delivery System <postmaster@out.sluice.example>");
	header(&w.top, "To", &v);
	assert_string_equal(v.data, "<app@submit.example>");
	header(&w.top, "Subject", &v);
	assert_string_equal(v.data, "Undelivered Mail Returned to Sender");
	header(&w.top, "Date", &v);
	assert_string_equal(v.data, "Thu, 01 Jan 2026 00:00:00 +0000");
	header(&w.top, "Message-ID", &v);
	assert_true(v.data[0] == '<' && strstr(v.data, "@sluice.example>"));
	header(&w.top, "Auto-Submitted", &v);
	assert_string_equal(v.data, "auto-replied");
	header(&w.top, "MIME-Version", &v);
	assert_string_equal(v.data, "1.0");
	mime_type(&w.top, type, sizeof(type));
	assert_string_equal(type, "multipart/report");
	header(&w.top, "Content-Type", &v);
	char rt[64];
	assert_true(mime_param(v.data, "report-type", rt, sizeof(rt)));
	assert_string_equal(rt, "delivery-status");

	assert_int_equal(w.nparts, 3);
	mime_type(&w.parts[0], type, sizeof(type));
	assert_string_equal(type, "text/plain");
	mime_type(&w.parts[1], type, sizeof(type));
	assert_string_equal(type, "message/delivery-status");
	mime_type(&w.parts[2], type, sizeof(type));
	assert_string_equal(type, "text/rfc822-headers");
	/* the human part names the recipient and what its MX said */
	assert_non_null(memmem(w.parts[0].body, w.parts[0].blen, "<alice@example.net>", 19));
	assert_non_null(
	    memmem(w.parts[0].body, w.parts[0].blen, "host mx1.example.net said: 550 5.1.1", 36));
	/* the report's fields, per message then per recipient */
	const char *want[] = {
	    "Reporting-MTA: dns; out.sluice.example\r\n",
	    "Original-Envelope-Id: receipt-42\r\n",
	    "X-Sluice-Queue-ID: Q7F3A\r\n",
	    "\r\n\r\nFinal-Recipient: rfc822;alice@example.net\r\n",
	    "Action: failed\r\n",
	    "Status: 5.1.1\r\n",
	    "Remote-MTA: dns; mx1.example.net\r\n",
	    "Diagnostic-Code: smtp; 550 5.1.1 <alice@example.net>: User unknown\r\n",
	    "Last-Attempt-Date: Wed, 31 Dec 2025 23:59:00 +0000\r\n"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(w.status.data, want[i]))
			fail_msg("no %s in:\n%s", want[i], w.status.data);
	assert_null(strstr(w.status.data, "Arrival-Date")); /* not given */
	/* the original's headers, never its body */
	assert_non_null(memmem(w.parts[2].body, w.parts[2].blen, "Message-ID: <r-42@", 18));
	assert_null(memmem(out.data, out.len, "SECRET", 6));
	strbuf_free(&w.status);
	strbuf_free(&out);
	strbuf_free(&v);
}

static void test_recipients_and_bounce_parse(void **state)
{
	(void)state;
	struct dsn_params p = params();
	struct dsn_rcpt r[] = {
	    rcpt("alice@example.net", "failed", "5.1.1", 550, "5.1.1 User unknown",
	         "mx1.example.net"),
	    rcpt("bob@example.org", "delayed", NULL, 451, "4.7.1 Greylisted", "mx.example.org"),
	    rcpt("carol@example.com", "failed", NULL, 0, "no MX host answered: expired", NULL),
	};
	struct strbuf out = STRBUF_INIT;
	struct bounce_report *rep = calloc(1, sizeof(*rep));

	p.arrival_s = NOW_S - 86400;
	build(&p, r, 3, &out);
	assert_lines(&out, 1);
	assert_true(line_starts(&out, "Subject: Undelivered Mail")); /* any failed */
	assert_true(line_starts(&out, "Arrival-Date: Wed, 31 Dec 2025 00:00:00 +0000"));
	assert_true(line_starts(&out, "Status: 4.7.1\r\n")); /* the reply's own */
	bounce_parse(out.data, out.len, rep);
	assert_int_equal(rep->kind, RK_DSN);
	assert_string_equal(rep->reporting_mta, "out.sluice.example");
	assert_int_equal(rep->nrcpts, 3);
	assert_string_equal(rep->rcpts[0].final, "alice@example.net");
	assert_string_equal(rep->rcpts[0].action, "failed");
	assert_string_equal(rep->rcpts[0].status, "5.1.1");
	assert_int_equal(rep->rcpts[0].code, 550);
	assert_string_equal(rep->rcpts[0].remote_mta, "mx1.example.net");
	assert_string_equal(rep->rcpts[1].final, "bob@example.org");
	assert_string_equal(rep->rcpts[1].action, "delayed");
	assert_string_equal(rep->rcpts[1].status, "4.7.1"); /* the reply's */
	assert_int_equal(rep->rcpts[1].code, 451);
	assert_string_equal(rep->rcpts[2].final, "carol@example.com");
	assert_string_equal(rep->rcpts[2].status, "5.0.0"); /* from the action */
	assert_string_equal(rep->rcpts[2].diagnostic, "no MX host answered: expired");
	assert_string_equal(rep->orig_message_id, "<r-42@submit.example>");
	assert_string_equal(rep->orig_return_path, "app@submit.example");
	free(rep);
	strbuf_free(&out);
}

static void test_delayed_and_status(void **state)
{
	(void)state;
	struct dsn_params p = params();
	/* the code at the start of the reply is not written twice; a
	 * malformed status is derived from the code, not from an enhanced code
	 * of another class */
	struct dsn_rcpt r[] = {
	    rcpt("a@example.net", "delayed", "4.7", 421, "421 5.7.0 Try again later", NULL)};
	struct strbuf out = STRBUF_INIT;

	build(&p, r, 1, &out);
	assert_true(line_starts(&out, "Subject: Delayed Mail (still being retried)\r\n"));
	assert_true(line_starts(&out, "Status: 4.0.0\r\n"));
	assert_true(line_starts(&out, "Diagnostic-Code: smtp; 421 5.7.0 Try again later\r\n"));
	assert_true(line_starts(&out, "    the receiving server said: 421 5.7.0 Try again"));
	assert_false(line_starts(&out, "Remote-MTA"));
	strbuf_free(&out);
}

static void test_injection(void **state)
{
	(void)state;
	struct dsn_params p = params();
	struct dsn_rcpt r[] = {rcpt("a@example.net", "failed", "5.1.1", 550,
	                            "5.1.1 no\r\nBcc: victim@evil.example\r\n\r\n--x\r\n"
	                            "Content-Type: text/html\r\n\x01\x7f\xff end",
	                            "mx.example.net\r\nX-Injected: yes")};
	struct strbuf out = STRBUF_INIT;
	struct view w;
	struct bounce_report *rep = calloc(1, sizeof(*rep));

	p.envelope_id = "env\nX-Injected: yes";
	build(&p, r, 1, &out);
	assert_lines(&out, 1);
	assert_false(line_starts(&out, "Bcc:"));
	assert_false(line_starts(&out, "X-Injected"));
	assert_false(line_starts(&out, "--x"));
	assert_false(line_starts(&out, "Content-Type: text/html"));
	assert_true(line_starts(&out, "Original-Envelope-Id: env X-Injected: yes\r\n"));
	assert_true(line_starts(&out, "Remote-MTA: dns; mx.example.net\r\n"));
	assert_non_null(strstr(out.data, "Content-Type: text/html ??? end\r\n"));
	view(&out, &w);
	assert_int_equal(w.nparts, 3);
	bounce_parse(out.data, out.len, rep);
	assert_int_equal(rep->nrcpts, 1);
	assert_non_null(strstr(rep->rcpts[0].diagnostic, "Bcc: victim@evil.example"));
	strbuf_free(&w.status);
	free(rep);
	strbuf_free(&out);
}

static void test_utf8_address(void **state)
{
	(void)state;
	struct dsn_params p = params();
	struct dsn_rcpt r[] = {rcpt("j\xc3\xb6rg+x@example.org", "failed", NULL, 550, NULL, NULL),
	                       rcpt("bad\xff@example.org", "failed", NULL, 550, NULL, NULL)};
	struct strbuf out = STRBUF_INIT;

	build(&p, r, 2, &out);
	assert_lines(&out, 1);
	assert_true(line_starts(&out, "Final-Recipient: utf-8;j\\x{F6}rg\\x{2B}x@example.org\r\n"));
	assert_true(line_starts(&out, "Final-Recipient: utf-8;bad\\x{FFFD}@example.org\r\n"));
	assert_true(line_starts(&out, "Diagnostic-Code: smtp; 550\r\n"));
	strbuf_free(&out);
}

static void test_original_headers_only(void **state)
{
	(void)state;
	struct dsn_params p = params();
	struct dsn_rcpt r[] = {rcpt("a@example.net", "failed", NULL, 550, "no", NULL)};
	struct strbuf out = STRBUF_INIT;
	struct view w;
	static const char hdrs[] = "Subject: only headers\r\nMessage-ID: <h@x.example>";

	p.original = hdrs;
	p.original_len = sizeof(hdrs) - 1;
	build(&p, r, 1, &out);
	assert_lines(&out, 1);
	view(&out, &w);
	assert_int_equal(w.nparts, 3);
	assert_int_equal(w.parts[2].blen, sizeof(hdrs) - 1 + 2); /* and its CRLF */
	assert_memory_equal(w.parts[2].body, hdrs, sizeof(hdrs) - 1);
	strbuf_free(&w.status);

	/* no original, or one without headers: no third part */
	const char *none[] = {NULL, "\r\nbody only\r\n"};
	for (size_t i = 0; i < 2; i++) {
		strbuf_reset(&out);
		p.original = none[i];
		p.original_len = none[i] ? strlen(none[i]) : 0;
		build(&p, r, 1, &out);
		view(&out, &w);
		assert_int_equal(w.nparts, 2);
		assert_null(memmem(out.data, out.len, "body only", 9));
		strbuf_free(&w.status);
	}
	strbuf_free(&out);
}

static void test_original_8bit_header(void **state)
{
	(void)state;
	struct dsn_params p = params();
	struct dsn_rcpt r[] = {rcpt("a@example.net", "failed", NULL, 550, "no", NULL)};
	struct strbuf out = STRBUF_INIT, dec = STRBUF_INIT, v = STRBUF_INIT;
	struct view w;
	static const char orig[] = "Subject: Caf\xc3\xa9 =?x?= \r\n"
	                           "X-Bare: a\nb\r\n"
	                           "Message-ID: <8@x.example>\r\n"
	                           "\r\n"
	                           "body \xc3\xa9\r\n";
	size_t hlen = strstr(orig, "\r\n\r\n") + 2 - orig;

	p.original = orig;
	p.original_len = sizeof(orig) - 1;
	build(&p, r, 1, &out);
	assert_lines(&out, 1); /* the DSN stays 7-bit */
	view(&out, &w);
	assert_int_equal(w.nparts, 3);
	header(&w.parts[2], "Content-Transfer-Encoding", &v);
	assert_string_equal(v.data, "quoted-printable");
	mime_decoded_body(&w.parts[2], &dec);
	assert_int_equal(dec.len, hlen); /* byte for byte */
	assert_memory_equal(dec.data, orig, hlen);
	strbuf_free(&w.status);
	strbuf_free(&dec);
	strbuf_free(&v);
	strbuf_free(&out);
}

static void test_refusals(void **state)
{
	(void)state;
	struct dsn_params p = params();
	struct dsn_rcpt r[] = {rcpt("a@example.net", "failed", NULL, 550, "no", NULL)};
	struct strbuf out = STRBUF_INIT;
	struct err e;
	const char *bad_to[] = {
	    NULL, "", "<>", "a b@x.example", "a@x.example\r\nBcc: v@y", "<a@x.example>"};

	strbuf_adds(&out, "kept");
	for (size_t i = 0; i < sizeof(bad_to) / sizeof(bad_to[0]); i++) {
		p.to = bad_to[i];
		e.msg[0] = '\0';
		assert_int_equal(dsn_build(&p, r, 1, &out, &e), -1);
		assert_true(e.msg[0] != '\0');
		assert_int_equal(out.len, 4);
	}
	p = params();
	assert_int_equal(dsn_build(&p, r, 0, &out, &e), -1);
	assert_non_null(strstr(e.msg, "no recipient"));
	r[0].action = "delivered";
	assert_int_equal(dsn_build(&p, r, 1, &out, &e), -1);
	r[0].action = "failed";
	r[0].address = "";
	assert_int_equal(dsn_build(&p, r, 1, &out, &e), -1);
	r[0].address = "a@example.net";
	p.reporting_mta = "host\r\nX: y";
	assert_int_equal(dsn_build(&p, r, 1, &out, &e), -1);
	assert_int_equal(out.len, 4);
	/* a UTF-8 submitter is allowed: To is then its only 8-bit header */
	p = params();
	p.to = "j\xc3\xb6rg@example.org";
	assert_int_equal(dsn_build(&p, r, 1, &out, &e), 0);
	strbuf_free(&out);
}

static void test_boundary_collision(void **state)
{
	(void)state;
	struct dsn_params p = params();
	struct dsn_rcpt r[] = {rcpt("a@example.net", "failed", NULL, 550, "no", NULL)};
	struct strbuf out = STRBUF_INIT, v = STRBUF_INIT, trap = STRBUF_INIT;
	struct view w;
	char b1[80], b2[80];

	build(&p, r, 1, &out);
	view(&out, &w);
	header(&w.top, "Content-Type", &v);
	assert_true(mime_param(v.data, "boundary", b1, sizeof(b1)));
	strbuf_free(&w.status);
	/* the same inputs give the same bytes */
	struct strbuf again = STRBUF_INIT;
	build(&p, r, 1, &again);
	assert_int_equal(again.len, out.len);
	assert_memory_equal(again.data, out.data, out.len);
	strbuf_free(&again);
	/* an original that holds that boundary gets another one */
	strbuf_addf(&trap, "Subject: trap\r\nX-Trap: --%s\r\n\r\nbody\r\n", b1);
	p.original = trap.data;
	p.original_len = trap.len;
	strbuf_reset(&out);
	build(&p, r, 1, &out);
	view(&out, &w);
	header(&w.top, "Content-Type", &v);
	assert_true(mime_param(v.data, "boundary", b2, sizeof(b2)));
	assert_string_not_equal(b1, b2);
	assert_int_equal(w.nparts, 3);
	assert_non_null(memmem(w.parts[2].body, w.parts[2].blen, "X-Trap", 6));
	strbuf_free(&w.status);
	strbuf_free(&trap);
	strbuf_free(&v);
	strbuf_free(&out);
}

static void test_bounded(void **state)
{
	(void)state;
	struct dsn_params p = params();
	struct strbuf orig = STRBUF_INIT, out = STRBUF_INIT;
	char *reply = malloc(10 * 1024 + 1);
	struct bounce_report *rep = calloc(1, sizeof(*rep));

	/* a 10-KB reply of short words, and a 200-KB original: 150 KB of
	 * header lines, then a body */
	for (size_t i = 0; i < 10 * 1024; i++)
		reply[i] = i % 7 == 6 ? ' ' : 'a' + (char)(i % 26);
	reply[10 * 1024] = '\0';
	for (int i = 0; orig.len < 150 * 1024; i++)
		strbuf_addf(&orig, "X-Filler-%05d: %0100d\r\n", i, i);
	strbuf_adds(&orig, "\r\n");
	while (orig.len < 200 * 1024)
		strbuf_adds(&orig, "SECRET body line\r\n");
	struct dsn_rcpt r[] = {rcpt("a@example.net", "failed", NULL, 550, reply, NULL)};
	p.original = orig.data;
	p.original_len = orig.len;
	build(&p, r, 1, &out);
	assert_lines(&out, 1);
	assert_true(out.len < DSN_HEADERS_MAX + 8 * 1024);
	assert_null(memmem(out.data, out.len, "SECRET", 6));
	assert_non_null(strstr(out.data, " [...]\r\n"));
	bounce_parse(out.data, out.len, rep);
	assert_int_equal(rep->nrcpts, 1);
	assert_int_equal(rep->rcpts[0].code, 550);

	/* one header line of 200 KB, no line end, and a 10-KB reply without a
	 * space: cut, quoted-printable, still bounded */
	strbuf_reset(&orig);
	strbuf_adds(&orig, "X-Long: ");
	while (orig.len < 200 * 1024)
		strbuf_addc(&orig, 'x');
	memset(reply, 'y', 10 * 1024);
	p.original = orig.data;
	p.original_len = orig.len;
	strbuf_reset(&out);
	build(&p, r, 1, &out);
	assert_lines(&out, 1);
	assert_true(out.len < DSN_HEADERS_MAX * 11 / 10 + 8 * 1024);
	free(rep);
	free(reply);
	strbuf_free(&orig);
	strbuf_free(&out);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_structure),
	    cmocka_unit_test(test_recipients_and_bounce_parse),
	    cmocka_unit_test(test_delayed_and_status),
	    cmocka_unit_test(test_injection),
	    cmocka_unit_test(test_utf8_address),
	    cmocka_unit_test(test_original_headers_only),
	    cmocka_unit_test(test_original_8bit_header),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_boundary_collision),
	    cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
