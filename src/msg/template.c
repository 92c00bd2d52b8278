/* template: see template.h. */
#include "msg/template.h"
#include "msg/header_encode.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/fields.h"
#include "util/clock.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

#define MIME_DEPTH_MAX 8
#define BOUNDARY_MAX   70 /* RFC 2046 */

struct mime_frame {
	char boundary[BOUNDARY_MAX + 1];
	size_t len;
};

/* Parser state: where we are in the MIME tree, and the entity being read. */
struct parser {
	struct template *t;
	struct err *e;
	struct mime_frame stack[MIME_DEPTH_MAX];
	int depth;
	int in_headers;
	int top_level; /* reading the message's own headers */
	int has_from;
	int seen_header;          /* a continuation needs a field before it */
	struct strbuf ctype, cte; /* the current entity's unfolded headers */
	struct strbuf *current;   /* which of the two a continuation extends */
	enum tpl_ctx body_ctx;
	int body_encoded;
	size_t cursor; /* start of the literal not yet in a segment */
	long line;
};

static int perr(struct parser *p, long col, const char *fmt, const char *arg)
{
	char msg[300];

	snprintf(msg, sizeof(msg), fmt, arg);
	return err_set(p->e, "%s:%ld:%ld: %s", p->t->path, p->line, col, msg);
}

static void add_seg(struct parser *p, size_t lit_end, int has_field)
{
	struct template *t = p->t;

	t->segs = xrealloc(t->segs, (t->nsegs + 1) * sizeof(*t->segs));
	struct tpl_seg *s = &t->segs[t->nsegs++];
	memset(s, 0, sizeof(*s));
	s->off = p->cursor;
	s->len = lit_end - p->cursor;
	s->has_field = has_field;
}

static int name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

/* Finds the placeholders of one line [lo, hi) of t->text. */
static int scan_placeholders(struct parser *p, size_t lo, size_t hi, enum tpl_ctx ctx)
{
	const char *s = p->t->text;

	for (size_t i = lo; i + 1 < hi; i++) {
		if (s[i] != '{' || s[i + 1] != '{')
			continue;
		int raw = i + 2 < hi && s[i + 2] == '{';
		size_t open = raw ? 3 : 2;
		const char *close = raw ? "}}}" : "}}";
		size_t j = i + open;
		while (j + open <= hi && memcmp(s + j, close, open) != 0)
			j++;
		if (j + open > hi)
			return perr(p, (long)(i - lo + 1), "placeholder '%s' is never closed",
			            raw ? "{{{" : "{{");
		size_t a = i + open, b = j;
		while (a < b && s[a] == ' ')
			a++;
		while (b > a && s[b - 1] == ' ')
			b--;
		if (a == b)
			return perr(p, (long)(i - lo + 1), "empty placeholder%s", "");
		for (size_t k = a; k < b; k++)
			if (!name_char(s[k]))
				return perr(p, (long)(k - lo + 1),
				            "bad character in placeholder name%s", "");
		if (p->body_encoded && (ctx == TPL_TEXT || ctx == TPL_HTML))
			return perr(p, (long)(i - lo + 1),
			            "placeholder in a base64 or quoted-printable part: write "
			            "that part as 8bit%s",
			            "");
		enum tpl_ctx fctx = raw ? TPL_RAW : ctx;
		size_t lit_end = i, after = j + open;
		/* The opening quote must not be the closing quote of the placeholder
		 * before ("{{a}}"{{b}}"): that one has consumed it already. */
		if (ctx == TPL_HEADER && !raw && i > lo && i - 1 >= p->cursor && s[i - 1] == '"' &&
		    after < hi && s[after] == '"') {
			fctx = TPL_HEADER_QUOTED;
			lit_end = i - 1;
			after++;
		}
		add_seg(p, lit_end, 1);
		struct tpl_seg *seg = &p->t->segs[p->t->nsegs - 1];
		seg->ctx = fctx;
		seg->name = xstrndup(s + a, b - a);
		seg->line = p->line;
		seg->column = (long)(i - lo + 1);
		p->cursor = after;
		i = after - 1;
	}
	return 0;
}

/* Lowercase media type ("multipart/alternative") and boundary of a Content-Type value. */
static void parse_ctype(const char *v, char *type, size_t tsize, char *boundary, size_t bsize)
{
	size_t n = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	while (*v && *v != ';' && *v != ' ' && n + 1 < tsize)
		type[n++] = (char)tolower((unsigned char)*v++);
	type[n] = '\0';
	boundary[0] = '\0';
	const char *b = strcasestr(v, "boundary=");
	if (!b)
		return;
	b += 9;
	n = 0;
	if (*b == '"') {
		b++;
		while (*b && *b != '"' && n + 1 < bsize)
			boundary[n++] = *b++;
	} else {
		while (*b && *b != ';' && *b != ' ' && n + 1 < bsize)
			boundary[n++] = *b++;
	}
	boundary[n] = '\0';
}

static int end_of_headers(struct parser *p)
{
	char type[128], boundary[BOUNDARY_MAX + 2];

	if (p->top_level && !p->has_from)
		return perr(p, 1, "the template has no From header%s", "");
	parse_ctype(p->ctype.len ? p->ctype.data : "text/plain", type, sizeof(type), boundary,
	            sizeof(boundary));
	p->body_ctx = strcmp(type, "text/html") == 0 ? TPL_HTML : TPL_TEXT;
	const char *cte = p->cte.len ? p->cte.data : "";
	while (*cte == ' ')
		cte++;
	p->body_encoded =
	    strncasecmp(cte, "base64", 6) == 0 || strncasecmp(cte, "quoted-printable", 16) == 0;
	if (strncmp(type, "multipart/", 10) == 0) {
		if (!boundary[0])
			return perr(p, 1, "multipart entity without a boundary parameter%s", "");
		if (strlen(boundary) > BOUNDARY_MAX)
			return perr(p, 1, "MIME boundary longer than 70 characters%s", "");
		if (p->depth == MIME_DEPTH_MAX)
			return perr(p, 1, "MIME nesting deeper than %s levels", "8");
		struct mime_frame *f = &p->stack[p->depth++];
		f->len = strlen(boundary);
		memcpy(f->boundary, boundary, f->len + 1);
		p->body_ctx = TPL_TEXT; /* preamble */
		p->body_encoded = 0;
	}
	p->in_headers = 0;
	p->top_level = 0;
	return 0;
}

static int header_line(struct parser *p, const char *s, size_t lo, size_t hi)
{
	const char *line = s + lo;
	size_t n = hi - lo;

	if (line[0] == ' ' || line[0] == '\t') {
		if (!p->seen_header)
			return perr(p, 1, "continuation line before any header field%s", "");
		if (p->current)
			strbuf_add(p->current, line, n);
		return scan_placeholders(p, lo, hi, TPL_HEADER);
	}
	size_t k = 0;
	while (k < n && line[k] != ':' && line[k] > 32 && line[k] < 127)
		k++;
	if (k == 0 || k == n || line[k] != ':')
		return perr(p, (long)k + 1, "malformed header field (expected 'Name: value')%s",
		            "");
	p->seen_header = 1;
	p->current = NULL;
	if (k == 12 && strncasecmp(line, "Content-Type", k) == 0)
		p->current = &p->ctype;
	else if (k == 25 && strncasecmp(line, "Content-Transfer-Encoding", k) == 0)
		p->current = &p->cte;
	if (p->current) {
		strbuf_reset(p->current);
		strbuf_add(p->current, line + k + 1, n - k - 1);
	}
	if (p->top_level) {
		if (k == 4 && strncasecmp(line, "From", 4) == 0)
			p->has_from = 1;
		else if (k == 10 && strncasecmp(line, "Message-ID", 10) == 0)
			p->t->has_message_id = 1;
		else if (k == 4 && strncasecmp(line, "Date", 4) == 0)
			p->t->has_date = 1;
		else if (k == 12 && strncasecmp(line, "Content-Type", 12) == 0)
			p->t->has_mime |= 1;
		else if (k == 12 && strncasecmp(line, "MIME-Version", 12) == 0)
			p->t->has_mime |= 2;
		else if (k == 16 && strncasecmp(line, "List-Unsubscribe", 16) == 0)
			p->t->has_list_unsubscribe = 1;
		else if (k == 11 && strncasecmp(line, "Feedback-ID", 11) == 0)
			p->t->has_feedback_id = 1;
	}
	return scan_placeholders(p, lo, hi, TPL_HEADER);
}

static int body_line(struct parser *p, const char *s, size_t lo, size_t hi)
{
	if (p->depth > 0) {
		struct mime_frame *f = &p->stack[p->depth - 1];
		size_t n = hi - lo;
		if (n >= 2 + f->len && s[lo] == '-' && s[lo + 1] == '-' &&
		    memcmp(s + lo + 2, f->boundary, f->len) == 0) {
			const char *rest = s + lo + 2 + f->len;
			size_t rn = n - 2 - f->len;
			if (rn >= 2 && rest[0] == '-' && rest[1] == '-') {
				p->depth--; /* closing: the epilogue follows */
				p->body_ctx = TPL_TEXT;
				p->body_encoded = 0;
				return 0;
			}
			p->in_headers = 1;
			p->seen_header = 0;
			p->current = NULL;
			strbuf_reset(&p->ctype);
			strbuf_reset(&p->cte);
			return 0;
		}
	}
	return scan_placeholders(p, lo, hi, p->body_ctx);
}

/* Copies data into t->text with CRLF endings, checking NULs and line lengths. */
static int normalize(struct parser *p, const char *data, size_t len)
{
	struct strbuf b = STRBUF_INIT;
	size_t lo = 0;

	strbuf_reserve(&b, len + len / 32 + 2);
	p->line = 1;
	while (lo < len) {
		const char *nl = memchr(data + lo, '\n', len - lo);
		size_t hi = nl ? (size_t)(nl - data) : len;
		size_t end = hi > lo && data[hi - 1] == '\r' ? hi - 1 : hi;
		if (end - lo > TEMPLATE_LINE_MAX) {
			strbuf_free(&b);
			return perr(p, TEMPLATE_LINE_MAX + 1, "line longer than %s octets", "998");
		}
		if (memchr(data + lo, '\0', end - lo)) {
			strbuf_free(&b);
			return perr(p, 1, "NUL byte in the template%s", "");
		}
		strbuf_add(&b, data + lo, end - lo);
		strbuf_add(&b, "\r\n", 2);
		lo = hi + 1;
		p->line++;
	}
	p->t->text = strbuf_detach(&b);
	p->t->len = strlen(p->t->text);
	return 0;
}

static int parse(const char *path, const char *data, size_t len, struct template *t, struct err *e)
{
	struct parser p = {.t = t, .e = e, .in_headers = 1, .top_level = 1};
	int rc;

	memset(t, 0, sizeof(*t));
	t->path = xstrdup(path);
	if (len == 0)
		return err_set(e, "%s: empty template", path);
	if (normalize(&p, data, len) != 0)
		return -1;
	p.line = 1;
	rc = 0;
	for (size_t lo = 0; lo < t->len && rc == 0; p.line++) {
		size_t hi =
		    (size_t)((const char *)memmem(t->text + lo, t->len - lo, "\r\n", 2) - t->text);
		if (p.in_headers && hi == lo)
			rc = end_of_headers(&p);
		else if (p.in_headers)
			rc = header_line(&p, t->text, lo, hi);
		else
			rc = body_line(&p, t->text, lo, hi);
		lo = hi + 2;
	}
	if (rc == 0 && p.in_headers && p.top_level && !p.has_from)
		rc = perr(&p, 1, "the template has no From header%s", "");
	if (rc == 0 && p.depth > 0)
		rc = err_set(e, "%s: multipart boundary '%s' is never closed", path,
		             p.stack[p.depth - 1].boundary);
	if (rc == 0)
		add_seg(&p, t->len, 0);
	strbuf_free(&p.ctype);
	strbuf_free(&p.cte);
	return rc;
}

/* Parses the template as written (errors name its lines and columns);
 * then, when its own header text has 8-bit bytes, the same template with
 * that text as RFC 2047 encoded words (msg/header_encode.h), so that only
 * a UTF-8 address needs SMTPUTF8. */
int template_parse(const char *path, const char *data, size_t len, struct template *t,
                   struct err *e)
{
	struct strbuf enc = STRBUF_INIT;
	struct template t2;

	if (parse(path, data, len, t, e) != 0)
		return -1;
	if (header_encode_8bit(t->text, t->len, &enc)) {
		if (parse(path, enc.data, enc.len, &t2, e) == 0) {
			template_free(t);
			*t = t2;
		} else {
			template_free(&t2); /* keep it as written: it needs SMTPUTF8 */
		}
	}
	strbuf_free(&enc);
	return 0;
}

int template_load(const char *path, struct template *t, struct err *e)
{
	FILE *f = fopen(path, "rb");
	struct strbuf b = STRBUF_INIT;
	char buf[65536];
	size_t n;

	memset(t, 0, sizeof(*t));
	if (!f)
		return err_set(e, "%s: cannot open: %s", path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		strbuf_add(&b, buf, n);
		if (b.len > TEMPLATE_SIZE_MAX) {
			fclose(f);
			strbuf_free(&b);
			return err_set(e, "%s: larger than %d bytes", path, TEMPLATE_SIZE_MAX);
		}
	}
	fclose(f);
	int rc = template_parse(path, b.data ? b.data : "", b.len, t, e);
	strbuf_free(&b);
	return rc;
}

int template_bind(struct template *t, char *const *names, size_t n, struct err *e)
{
	t->email_col = (size_t)-1;
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(names[i], "email") == 0)
			t->email_col = i;
	for (size_t i = 0; i < t->nsegs; i++) {
		struct tpl_seg *s = &t->segs[i];
		if (!s->has_field)
			continue;
		size_t k = 0;
		while (k < n && strcasecmp(names[k], s->name) != 0)
			k++;
		if (k == n && strcasecmp(s->name, "unsubscribe_url") == 0) {
			s->col = TPL_COL_UNSUBSCRIBE;
			t->uses_unsubscribe_url = 1;
			continue;
		}
		if (k == n)
			return err_set(e,
			               "%s:%ld:%ld: unknown placeholder '%s' (not a column of "
			               "the recipient list)",
			               t->path, s->line, s->column, s->name);
		s->col = k;
	}
	return 0;
}

void template_free(struct template *t)
{
	for (size_t i = 0; i < t->nsegs; i++)
		free(t->segs[i].name);
	free(t->segs);
	free(t->text);
	free(t->path);
	memset(t, 0, sizeof(*t));
}

/* ---- rendering ---- */

/* A header value: CR, LF and other controls become spaces (no header injection). */
static void add_header_text(struct strbuf *out, const char *v, size_t n, int quoted)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 32 || c == 127)
			c = ' ';
		if (quoted && (c == '"' || c == '\\'))
			strbuf_addc(out, '\\');
		strbuf_addc(out, (char)c);
	}
}

static void add_body_text(struct strbuf *out, const char *v, size_t n, int html)
{
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (c == '\r' || c == '\n') {
			if (c == '\r' && i + 1 < n && v[i + 1] == '\n')
				i++;
			strbuf_add(out, "\r\n", 2);
		} else if (html && c == '&') {
			strbuf_add(out, "&amp;", 5);
		} else if (html && c == '<') {
			strbuf_add(out, "&lt;", 4);
		} else if (html && c == '>') {
			strbuf_add(out, "&gt;", 4);
		} else if (html && c == '"') {
			strbuf_add(out, "&quot;", 6);
		} else if (html && c == '\'') {
			strbuf_add(out, "&#39;", 5);
		} else {
			strbuf_addc(out, c);
		}
	}
}

/* An 8-bit value as encoded words. Right after another encoded word and
 * one space, that space goes inside this word: decoders drop the space
 * between two encoded words (RFC 2047 6.2), and "Zürich, {{name}}" must
 * not read "Zürich,Zoë". */
static void add_encoded_field(struct strbuf *out, const char *v, size_t n)
{
	if (out->len >= 3 && memcmp(out->data + out->len - 3, "?= ", 3) == 0) {
		struct strbuf w = STRBUF_INIT;
		strbuf_addc(&w, ' ');
		strbuf_add(&w, v, n);
		header_encoded_words(out, w.data, w.len);
		strbuf_free(&w);
		return;
	}
	header_encoded_words(out, v, n);
}

static void add_field(const struct template *t, const struct tpl_seg *s, const char *v, size_t n,
                      struct strbuf *out)
{
	int eightbit = utf8_has_8bit(v, n);

	switch (s->ctx) {
	case TPL_HEADER:
		if (eightbit && s->col != t->email_col)
			add_encoded_field(out, v, n);
		else
			add_header_text(out, v, n, 0);
		break;
	case TPL_HEADER_QUOTED:
		if (eightbit) {
			header_encoded_words(out, v, n);
		} else {
			strbuf_addc(out, '"');
			add_header_text(out, v, n, 1);
			strbuf_addc(out, '"');
		}
		break;
	case TPL_TEXT:
	case TPL_RAW:
		add_body_text(out, v, n, 0);
		break;
	case TPL_HTML:
		add_body_text(out, v, n, 1);
		break;
	}
}

/* Checks line lengths of out[from..] and finds which extensions it needs. */
static int check_rendered(const struct strbuf *out, size_t from, unsigned *needs, struct err *e)
{
	const char *s = out->data + from, *end = out->data + out->len;
	int in_headers = 1;
	long line = 1;

	*needs = 0;
	while (s < end) {
		const char *nl = memmem(s, (size_t)(end - s), "\r\n", 2);
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		if (n > TEMPLATE_LINE_MAX)
			return err_set(e, "rendered line %ld is longer than 998 octets", line);
		if (utf8_has_8bit(s, n))
			*needs |= in_headers ? RENDER_SMTPUTF8 : RENDER_8BITMIME;
		if (n == 0)
			in_headers = 0;
		s += n + 2;
		line++;
	}
	if (*needs & RENDER_SMTPUTF8)
		*needs |= RENDER_8BITMIME; /* RFC 6531: SMTPUTF8 mail is 8BITMIME mail */
	return 0;
}

int template_render(const struct template *t, const struct render_in *in, struct strbuf *out,
                    unsigned *needs, struct err *e)
{
	size_t start = out->len;

	if (!t->has_message_id)
		strbuf_addf(out, "Message-ID: %s\r\n", in->message_id);
	if (!t->has_date) {
		char date[64];
		clock_rfc5322_date(in->date_s, date, sizeof(date));
		strbuf_addf(out, "Date: %s\r\n", date);
	}
	if (in->extra_headers && !t->has_list_unsubscribe)
		strbuf_adds(out, in->extra_headers);
	if (in->feedback_id && !t->has_feedback_id)
		strbuf_addf(out, "Feedback-ID: %s\r\n", in->feedback_id);
	if (!(t->has_mime & 2))
		strbuf_add(out, "MIME-Version: 1.0\r\n", 19);
	if (!(t->has_mime & 1))
		strbuf_adds(out, "Content-Type: text/plain; charset=utf-8\r\n"
		                 "Content-Transfer-Encoding: 8bit\r\n");
	for (size_t i = 0; i < t->nsegs; i++) {
		const struct tpl_seg *s = &t->segs[i];
		strbuf_add(out, t->text + s->off, s->len);
		if (!s->has_field)
			continue;
		size_t n;
		const char *v = s->col == TPL_COL_UNSUBSCRIBE
		                    ? in->unsubscribe_url
		                    : fields_get(in->fields, in->fields_len, s->col, &n);
		if (s->col == TPL_COL_UNSUBSCRIBE && v)
			n = strlen(v);
		if (!v || (s->col == TPL_COL_UNSUBSCRIBE && !v[0]))
			return err_set(e,
			               s->col == TPL_COL_UNSUBSCRIBE
			                   ? "{{%s}} needs unsubscribe.url in the configuration"
			                   : "the recipient has no field '%s'",
			               s->name);
		add_field(t, s, v, n, out);
	}
	return check_rendered(out, start, needs, e);
}
