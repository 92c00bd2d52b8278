/* reply: see reply.h. */
#include "mail/reply.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void reply_reset(struct reply *r)
{
	r->code = 0;
	r->enhanced[0] = '\0';
	r->text[0] = '\0';
	r->text_len = 0;
	r->nlines = 0;
	r->local = 0;
}

static void text_append(struct reply *r, const char *s, size_t n)
{
	if (r->text_len && r->text_len < REPLY_TEXT_MAX - 1)
		r->text[r->text_len++] = ' ';
	size_t room = REPLY_TEXT_MAX - 1 - r->text_len;
	if (n > room)
		n = room;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		r->text[r->text_len++] = (c < 32 || c == 127) ? ' ' : (char)c;
	}
	r->text[r->text_len] = '\0';
}

/* Length of an enhanced code "c.sss.ddd" at s (class must be cls), or 0. */
static size_t enhanced_len(const char *s, size_t n, char cls)
{
	size_t i = 0, part = 0, digits = 0;

	if (n < 5 || s[0] != cls || s[1] != '.')
		return 0;
	for (i = 2; i < n; i++) {
		if (isdigit((unsigned char)s[i])) {
			if (++digits > 3)
				return 0;
		} else if (s[i] == '.' && digits > 0 && part == 0) {
			part = 1;
			digits = 0;
		} else {
			break;
		}
	}
	if (part != 1 || digits == 0)
		return 0;
	if (i < n && s[i] != ' ')
		return 0;
	return i;
}

enum reply_status reply_feed_line(struct reply *r, const char *line, size_t len, struct err *e)
{
	if (len < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2])) {
		err_set(e, "malformed reply line (no 3-digit code)");
		return REPLY_BAD;
	}
	int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (code < 200 || code > 599) {
		err_set(e, "reply code %d out of range", code);
		return REPLY_BAD;
	}
	if (len > 3 && line[3] != ' ' && line[3] != '-') {
		err_set(e, "malformed reply line (bad separator after code)");
		return REPLY_BAD;
	}
	if (r->nlines > 0 && code != r->code) {
		err_set(e, "multi-line reply changes code from %d to %d", r->code, code);
		return REPLY_BAD;
	}
	if (r->nlines >= REPLY_LINES_MAX) {
		err_set(e, "reply longer than %d lines", REPLY_LINES_MAX);
		return REPLY_BAD;
	}
	r->code = code;
	const char *text = len > 4 ? line + 4 : "";
	size_t tn = len > 4 ? len - 4 : 0;
	size_t en = enhanced_len(text, tn, line[0]);
	if (en > 0) {
		if (r->nlines == 0 && en < sizeof(r->enhanced)) {
			memcpy(r->enhanced, text, en);
			r->enhanced[en] = '\0';
		}
		/* Continuation lines usually repeat the code: keep the text only. */
		if (r->nlines > 0 || en < sizeof(r->enhanced)) {
			text += en;
			tn -= en;
			while (tn && *text == ' ')
				text++, tn--;
		}
	}
	text_append(r, text, tn);
	r->nlines++;
	return (len == 3 || line[3] == ' ') ? REPLY_DONE : REPLY_MORE;
}

void reply_set_local(struct reply *r, int code, const char *enhanced, const char *text)
{
	reply_reset(r);
	r->code = code;
	snprintf(r->enhanced, sizeof(r->enhanced), "%s", enhanced ? enhanced : "");
	text_append(r, text, strlen(text));
	r->nlines = 1;
	r->local = 1;
}
