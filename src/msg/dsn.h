/*
 * dsn: the delivery status notification sluice sends to a submitter when a
 * submitted message's recipient fails for good (refused at RCPT or DATA,
 * or expired after retries) or is still being retried (RFC 3464 report,
 * RFC 6522 multipart/report, RFC 3461 fields, RFC 3834 Auto-Submitted).
 * A pure function: the whole message text from its inputs, no I/O, no
 * clock, no randomness; the same inputs give the same bytes.
 *
 * The message:
 *   From: Mail Delivery System <postmaster>, To: the submitter, Subject
 *   ("Undelivered Mail Returned to Sender" when any recipient failed, else
 *   "Delayed Mail (still being retried)"), Date (clock_rfc5322_date of
 *   now_s), Message-ID (verp_message_id without a secret: now_s and a
 *   digest of the inputs), Auto-Submitted: auto-replied, MIME-Version and
 *   multipart/report; report-type=delivery-status with three parts:
 *   1. text/plain (us-ascii): each recipient and what its MX said;
 *   2. message/delivery-status: Reporting-MTA, Original-Envelope-Id (the
 *      submitter's ENVID, when given), X-Sluice-Queue-ID (ours, when given),
 *      Arrival-Date (when given); per recipient Final-Recipient, Action,
 *      Status, Remote-MTA (when known), Diagnostic-Code ("smtp; CODE TEXT"
 *      when a receiver replied; "X-Sluice; TEXT" for a reason of our own
 *      with no code) and Last-Attempt-Date (when given);
 *   3. text/rfc822-headers: the original's header block alone, never its
 *      body; left out when there is no original. As written when it is
 *      7-bit with lines of at most 998 octets and only CRLF line ends,
 *      else quoted-printable (an 8-bit or broken header stays evidence,
 *      byte for byte, and the DSN stays 7-bit). Cut at a line end past
 *      DSN_HEADERS_MAX bytes.
 *
 * What comes from outside is made safe, never trusted: reply texts, hosts
 * and ENVIDs have every run of CR, LF, HT and SP made one space (so no
 * CRLF can start a header or a MIME part), other control bytes and 8-bit
 * bytes replaced by '?', and are cut at DSN_TEXT_MAX bytes (" [...]"
 * marks the cut). Diagnostic-Code is folded at spaces (RFC 5322 folding:
 * unfolding gives the text back) to 78 columns where a word allows; with
 * the cut, no line passes 998 octets. A recipient address is written
 * "rfc822;ADDR" when it is printable ASCII, else "utf-8;ADDR" with each
 * non-ASCII character, control, space, '\', '+' and '=' as \x{HEX}
 * (RFC 6533 utf-8-addr-xtext), cut at DSN_ADDR_MAX bytes. The boundary is
 * derived from the inputs and checked against the parts' bytes (a counter
 * is added until it does not occur in them).
 *
 * Every header but To is 7-bit; To is the submitter's address as given,
 * so a UTF-8 submitter's DSN needs SMTPUTF8 (utf8_has_8bit(to)). The
 * caller sends it with the null envelope sender (MAIL FROM:<>), so that a
 * DSN never causes another, and honours NOTIFY (RFC 3461) before calling.
 * Sits in src/msg, over util/ and mail/.
 */
#ifndef SLUICE_MSG_DSN_H
#define SLUICE_MSG_DSN_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/strbuf.h"

#define DSN_TEXT_MAX    900         /* bytes kept of a reply text, host or ENVID */
#define DSN_ADDR_MAX    512         /* bytes of an address as written (encoded) */
#define DSN_HEADERS_MAX (64 * 1024) /* bytes of the original's header block kept */
#define DSN_FOLD_COLS   78          /* where header and text lines are folded */

struct dsn_rcpt {
	const char *address;    /* the original recipient (Final-Recipient); required */
	const char *action;     /* "failed" or "delayed"; anything else is refused */
	const char *status;     /* "5.1.1"; NULL or malformed: the one the reply starts
	                           with (of the code's class), else 5.0.0 or 4.0.0, from
	                           the code's class, else from the action */
	int code;               /* the receiver's reply code, 0 if none (expired, no MX) */
	const char *reply;      /* the reply text (without the code, or with it: it is
	                           not repeated), a reason of ours when code is 0, or NULL */
	const char *remote_mta; /* the MX host that answered, or NULL */
	int64_t last_attempt_s; /* wall seconds of the last attempt; 0: none */
};

struct dsn_params {
	const char *reporting_mta;     /* our host name (Reporting-MTA: dns;...); required */
	const char *postmaster;        /* the From address; NULL: postmaster@reporting_mta */
	const char *to;                /* the submitter's envelope sender; required */
	const char *envelope_id;       /* the submitter's ENVID, xtext-decoded, or NULL */
	const char *queue_id;          /* our id of the message (X-Sluice-Queue-ID), or NULL */
	const char *original;          /* the original message (CRLF), or NULL */
	size_t original_len;           /* its bytes */
	int64_t arrival_s;             /* when it was accepted (Arrival-Date); 0: left out */
	int64_t now_s;                 /* the DSN's Date, and its Message-ID */
	const char *message_id_domain; /* the Message-ID's right side; NULL: reporting_mta */
};

/* Builds the DSN for r[0..n) into out (appended; CRLF line ends, lines of
 * at most 998 octets, no dot-stuffing); 0, or -1 with e set and out as it
 * was: no recipient, a recipient without an address or with another action,
 * a NULL, empty or "<>" to (never a DSN to the null sender), or a to,
 * reporting_mta, postmaster or message_id_domain that is not one printable
 * word (controls, spaces, <>; 8-bit bytes are allowed in to only). */
int dsn_build(const struct dsn_params *p, const struct dsn_rcpt *r, size_t n, struct strbuf *out,
              struct err *e);

#endif
