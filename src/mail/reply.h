/*
 * reply: SMTP replies (RFC 5321 4.2), parsed whole.
 * A reply is one or more lines "NNN-text" ending with "NNN text"; every line
 * must carry the same code. The enhanced status code (RFC 3463) is taken from
 * the start of the first line's text when its class matches the reply code.
 * Lengths are bounded: a longer reply is cut, never grown without limit.
 */
#ifndef SLUICE_MAIL_REPLY_H
#define SLUICE_MAIL_REPLY_H

#include <stddef.h>

#include "util/err.h"

#define REPLY_LINE_MAX  2048 /* octets per line we accept (RFC: 512) */
#define REPLY_LINES_MAX 100
#define REPLY_TEXT_MAX  4096 /* joined text kept for logs */

struct reply {
	int code;                  /* 200..599 */
	char enhanced[16];         /* "5.1.1", or "" when absent */
	char text[REPLY_TEXT_MAX]; /* the lines' texts joined with " " */
	size_t text_len;
	int nlines;
	int local; /* 1: sluice made it (reply_set_local), no receiver said it */
};

enum reply_status { REPLY_MORE, REPLY_DONE, REPLY_BAD };

void reply_reset(struct reply *r);
/* Feeds one line without its CRLF. REPLY_MORE: more lines follow; REPLY_DONE: r is
 * complete; REPLY_BAD: not an SMTP reply (e set, r unusable until reset). */
enum reply_status reply_feed_line(struct reply *r, const char *line, size_t len, struct err *e);
/* Fills r with a reply sluice makes itself (local errors, timeouts). */
void reply_set_local(struct reply *r, int code, const char *enhanced, const char *text);

#endif
