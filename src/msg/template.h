/*
 * template: a campaign's message template, an RFC 5322 message (any MIME
 * structure) with {{field}} placeholders, and its rendering per recipient.
 *
 * Parsing checks everything that can be checked once: line lengths (998),
 * header syntax, MIME boundaries, placeholders and where each stands (header,
 * quoted header word, text part, HTML part, raw). Binding resolves names to
 * the list's columns, so an unknown placeholder is an error before anything
 * is queued. Rendering is then a walk over segments: header values that are
 * not ASCII become RFC 2047 encoded words, values in text/html parts are
 * HTML-escaped ({{{field}}} inserts raw), CR and LF in header values become
 * spaces (no header injection), and every line ends in CRLF. Dot-stuffing is
 * the SMTP client's job, not the renderer's.
 */
#ifndef SLUICE_MSG_TEMPLATE_H
#define SLUICE_MSG_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/strbuf.h"

#define TEMPLATE_LINE_MAX 998
#define TEMPLATE_SIZE_MAX (10 * 1024 * 1024)

enum tpl_ctx { TPL_HEADER, TPL_HEADER_QUOTED, TPL_TEXT, TPL_HTML, TPL_RAW };

struct tpl_seg {
	size_t off, len; /* literal bytes in text, before the field */
	int has_field;   /* 0 for the closing literal */
	enum tpl_ctx ctx;
	char *name; /* placeholder name, owned */
	size_t col; /* column index after template_bind */
	long line, column;
};

struct template
{
	char *path;
	char *text; /* the template with CRLF line endings, owned */
	size_t len;
	struct tpl_seg *segs;
	size_t nsegs;
	int has_message_id, has_date, has_mime;
	int has_list_unsubscribe; /* the template sets its own: sluice adds none */
	int has_feedback_id;      /* likewise Feedback-ID */
	int uses_unsubscribe_url; /* {{unsubscribe_url}}: the recipient's own link */
	size_t email_col;         /* after bind: the 'email' column (raw in headers) */
};

#define RENDER_8BITMIME 1u /* the body has octets >= 0x80 */
#define RENDER_SMTPUTF8 2u /* a header has raw UTF-8 */

struct render_in {
	const char *fields; /* packed, mail/fields.h */
	size_t fields_len;
	const char *message_id;      /* "<...>", used when the template has none */
	int64_t date_s;              /* for the Date header when the template has none */
	const char *extra_headers;   /* CRLF-terminated lines (List-Unsubscribe), or NULL */
	const char *unsubscribe_url; /* for {{unsubscribe_url}}, or NULL */
	const char *feedback_id;     /* a Feedback-ID value, or NULL (the template's own wins) */
};

/* The column of {{unsubscribe_url}} when the list has no such column: the
 * recipient's one-click unsubscribe link, made by sluice. */
#define TPL_COL_UNSUBSCRIBE ((size_t)-2)

/* Parses data (len bytes; the name is for messages); 0, or -1 with e as "path:line:col: why". */
int template_parse(const char *path, const char *data, size_t len, struct template *t,
                   struct err *e);
/* Reads and parses a file. */
int template_load(const char *path, struct template *t, struct err *e);
/* Resolves placeholder names against the list's columns (case-insensitive). */
int template_bind(struct template *t, char *const *names, size_t n, struct err *e);
/* Appends the message for one recipient to out; *needs gets RENDER_* flags.
 * -1 with e set if a rendered line exceeds 998 octets or fields are missing. */
int template_render(const struct template *t, const struct render_in *in, struct strbuf *out,
                    unsigned *needs, struct err *e);
void template_free(struct template *t);

#endif
