/*
 * dsn_demo: prints a DSN built by dsn_build (src/msg/dsn.h) for fixed
 * inputs, for tests/e2e/test_dsn_format.py to read with an independent
 * parser (Python's email package). Built for the tests only, never
 * installed. Usage: dsn_demo failed|delayed|hostile; the DSN on stdout, in
 * UTC; exit 0, or 1 and the error on stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg/dsn.h"

#define NOW_S 1767225600 /* 2026-01-01T00:00:00Z */

static const char ORIGINAL[] = "Return-Path: <app@submit.example>\r\n"
                               "From: App <app@submit.example>\r\n"
                               "To: <alice@example.net>, <bob@example.org>\r\n"
                               "Subject: Your receipt\r\n"
                               "Message-ID: <r-42@submit.example>\r\n"
                               "\r\n"
                               "SECRET BODY TEXT: never in a DSN\r\n";

/* A header with 8-bit bytes (raw UTF-8) and a reply that tries to inject
 * a header and a MIME part. */
static const char ORIGINAL_8BIT[] = "From: =?utf-8?q?Jos=C3=A9?= <app@submit.example>\r\n"
                                    "Subject: Caf\xc3\xa9 receipt\r\n"
                                    "Message-ID: <r-43@submit.example>\r\n"
                                    "\r\n"
                                    "SECRET BODY TEXT\r\n";

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "failed";
	struct dsn_rcpt r[2] = {
	    {.address = "alice@example.net",
	     .action = "failed",
	     .status = "5.1.1",
	     .code = 550,
	     .reply = "5.1.1 <alice@example.net>: Recipient address rejected: User unknown in "
	              "virtual mailbox table",
	     .remote_mta = "mx1.example.net",
	     .last_attempt_s = NOW_S - 60},
	    {.address = "bob@example.org",
	     .action = "failed",
	     .code = 0,
	     .reply = "no MX host answered for 5 days: message expired",
	     .last_attempt_s = NOW_S - 30},
	};
	struct dsn_params p = {
	    .reporting_mta = "out.sluice.example",
	    .to = "app@submit.example",
	    .envelope_id = "receipt-42",
	    .queue_id = "Q7F3A",
	    .original = ORIGINAL,
	    .original_len = sizeof(ORIGINAL) - 1,
	    .arrival_s = NOW_S - 5 * 86400,
	    .now_s = NOW_S,
	    .message_id_domain = "sluice.example",
	};
	size_t n = 2;

	setenv("TZ", "UTC", 1);
	tzset();
	if (strcmp(which, "delayed") == 0) {
		r[0].action = "delayed";
		r[0].status = NULL;
		r[0].code = 451;
		r[0].reply = "4.7.1 Greylisted, try again later";
		n = 1;
	} else if (strcmp(which, "hostile") == 0) {
		r[0].reply = "5.1.1 unknown\r\nBcc: victim@evil.example\r\n\r\n--x\r\n"
		             "Content-Type: text/html\r\n\r\n<b>\x01\x7f\xff</b>";
		r[0].remote_mta = "mx1.example.net\r\nX-Injected: yes";
		r[1].address = "j\xc3\xb6rg+tag@example.org";
		p.envelope_id = "env\r\nX-Injected: yes";
		p.original = ORIGINAL_8BIT;
		p.original_len = sizeof(ORIGINAL_8BIT) - 1;
	} else if (strcmp(which, "failed") != 0) {
		fprintf(stderr, "usage: dsn_demo failed|delayed|hostile\n");
		return 2;
	}
	struct strbuf out = STRBUF_INIT;
	struct err e;
	if (dsn_build(&p, r, n, &out, &e) != 0) {
		fprintf(stderr, "dsn_demo: %s\n", e.msg);
		return 1;
	}
	fwrite(out.data, 1, out.len, stdout);
	strbuf_free(&out);
	return 0;
}
