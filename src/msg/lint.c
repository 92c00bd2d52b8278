/*
 * lint: see lint.h. The template's text is walked with the MIME reader of
 * src/bounce (header fields, parts, transfer decoding); placeholders stay as
 * they are ("{{name}}"), which changes nothing the checks look at.
 */
#include "msg/lint.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mail/mime.h"
#include "util/strbuf.h"

/* What the walk over the MIME tree found. */
struct shape {
	int html, text;        /* parts of each type (outside attachments) */
	int html_without_text; /* a multipart/alternative (or the top) with HTML only */
	int unsub_link;        /* a text part mentions unsubscribing near a link */
	char broken[200];      /* the first structural problem, or "" */
};

static const char *text_of(const struct strbuf *b)
{
	return b->data ? b->data : "";
}

/* Words that say "unsubscribe" in the languages senders write most. */
static int says_unsubscribe(const char *b)
{
	static const char *const words[] = {"unsubscribe",   "opt-out",     "opt out",
	                                    "abmelden",      "désabonner",  "désinscri",
	                                    "darse de baja", "disiscriviti"};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasestr(b, words[i]))
			return 1;
	return 0;
}

static int known_encoding(const char *v)
{
	static const char *const ok[] = {"7bit", "8bit", "binary", "quoted-printable", "base64"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcasecmp(v, ok[i]) == 0)
			return 1;
	return 0;
}

static void walk(const struct mime_entity *m, int depth, struct shape *sh)
{
	char type[100], boundary[100];
	struct strbuf v = STRBUF_INIT;

	mime_type(m, type, sizeof(type));
	if (mime_header(m, "Content-Transfer-Encoding", &v) && !known_encoding(text_of(&v)) &&
	    !sh->broken[0])
		snprintf(sh->broken, sizeof(sh->broken), "unknown Content-Transfer-Encoding '%s'",
		         v.data);
	int attachment = mime_header(m, "Content-Disposition", &v) &&
	                 strncasecmp(text_of(&v), "attachment", 10) == 0;
	if (strncmp(type, "multipart/", 10) == 0) {
		struct mime_entity parts[MIME_PARTS_MAX];
		mime_header(m, "Content-Type", &v);
		size_t n = 0;
		if (!mime_param(text_of(&v), "boundary", boundary, sizeof(boundary))) {
			if (!sh->broken[0])
				snprintf(sh->broken, sizeof(sh->broken), "%s without a boundary",
				         type);
		} else if ((n = mime_parts(m, parts, MIME_PARTS_MAX)) == 0 && !sh->broken[0]) {
			snprintf(sh->broken, sizeof(sh->broken), "%s with no parts (boundary '%s')",
			         type, boundary);
		}
		int html = sh->html, text = sh->text;
		for (size_t i = 0; i < n && depth < MIME_DEPTH_MAX; i++)
			walk(&parts[i], depth + 1, sh);
		if (strcmp(type, "multipart/alternative") == 0 && sh->html > html &&
		    sh->text == text)
			sh->html_without_text = 1;
	} else if (!attachment && (!strcmp(type, "text/html") || !strcmp(type, "text/plain"))) {
		int is_html = type[5] == 'h';
		struct strbuf body = STRBUF_INIT;
		mime_decoded_body(m, &body);
		const char *b = body.data ? body.data : "";
		if (strcasestr(b, "{{unsubscribe_url}}") ||
		    (says_unsubscribe(b) && strcasestr(b, "http")))
			sh->unsub_link = 1;
		if (is_html)
			sh->html++;
		else
			sh->text++;
		if (is_html && depth == 0)
			sh->html_without_text = 1;
		strbuf_free(&body);
	}
	strbuf_free(&v);
}

static void from_name(const struct mime_entity *top, lint_report_fn report, void *arg)
{
	struct strbuf from = STRBUF_INIT;
	char d[300];

	if (!mime_header(top, "From", &from)) {
		report(arg, LINT_FAIL, "from-name", "the template has no From header");
	} else {
		const char *f = text_of(&from), *lt = strchr(f, '<');
		size_t name = 0;
		for (const char *p = f; lt && p < lt; p++)
			name += !isspace((unsigned char)*p) && *p != '"';
		snprintf(d, sizeof(d),
		         name ? "From: %.200s"
		              : "From: %.200s has no display name: "
		                "write From: \"Your Name\" <addr>",
		         f);
		report(arg, name ? LINT_PASS : LINT_WARN, "from-name", d);
	}
	strbuf_free(&from);
}

void lint_template(const struct template *t, int bulk, lint_report_fn report, void *arg)
{
	struct mime_entity top;
	struct shape sh = {0};
	char d[300];

	mime_entity(t->text, t->len, &top);
	from_name(&top, report, arg);
	walk(&top, 0, &sh);
	if (sh.unsub_link)
		report(arg, LINT_PASS, "unsubscribe", "the body has an unsubscribe link");
	else if (!bulk)
		report(arg, LINT_PASS, "unsubscribe",
		       "transactional mail: no unsubscribe link needed");
	else
		report(arg, LINT_FAIL, "unsubscribe",
		       "no visible unsubscribe link in the body: add {{unsubscribe_url}} "
		       "(large receivers require one besides List-Unsubscribe)");
	if (sh.html && sh.html_without_text)
		report(arg, LINT_WARN, "text-part",
		       "HTML without a text/plain alternative: HTML-only mail scores as spam; "
		       "use multipart/alternative with both");
	else
		report(arg, LINT_PASS, "text-part",
		       sh.html ? "HTML with a text/plain alternative" : "plain text");
	snprintf(d, sizeof(d), "%zu KB before personalisation", (t->len + 1023) / 1024);
	if (t->len > LINT_SIZE_WARN)
		snprintf(d + strlen(d), sizeof(d) - strlen(d),
		         ": Gmail clips messages over 102 KB and hides the rest (and the "
		         "unsubscribe link); link to large content instead");
	report(arg, t->len > LINT_SIZE_WARN ? LINT_WARN : LINT_PASS, "size", d);
	if (sh.broken[0])
		report(arg, LINT_FAIL, "mime", sh.broken);
	else
		report(arg, LINT_PASS, "mime", "the MIME structure holds together");
}

/* ---- links ---- */

static void add_host(char (*hosts)[LINT_HOST_LEN], size_t *n, size_t max, const char *h, size_t len)
{
	char buf[LINT_HOST_LEN];

	while (len && h[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof(buf) || memmem(h, len, "{{", 2) || !memchr(h, '.', len) ||
	    strspn(h, "0123456789.") >= len) /* an IP literal is no domain */
		return;
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)tolower((unsigned char)h[i]);
	buf[len] = '\0';
	for (size_t i = 0; i < *n; i++)
		if (strcmp(hosts[i], buf) == 0)
			return;
	if (*n < max)
		memcpy(hosts[(*n)++], buf, len + 1);
}

static void scan_links(const char *b, size_t len, char (*hosts)[LINT_HOST_LEN], size_t *n,
                       size_t max)
{
	for (size_t i = 0; i + 8 < len; i++) {
		size_t skip = strncasecmp(b + i, "https://", 8) == 0  ? 8
		              : strncasecmp(b + i, "http://", 7) == 0 ? 7
		                                                      : 0;
		if (!skip)
			continue;
		size_t s = i + skip, e = s;
		while (e < len && !strchr("/:?#\"'<> \t\r\n)]}", b[e]))
			e++;
		if (e + 1 < len && b[e] == '}' && b[e + 1] == '}') /* a placeholder host */
			continue;
		const char *at = memchr(b + s, '@', e - s); /* user@host */
		if (at)
			s = (size_t)(at - b) + 1;
		add_host(hosts, n, max, b + s, e - s);
		i = e;
	}
}

static void collect(const struct mime_entity *m, int depth, char (*hosts)[LINT_HOST_LEN], size_t *n,
                    size_t max)
{
	char type[100];

	mime_type(m, type, sizeof(type));
	if (strncmp(type, "multipart/", 10) == 0 && depth < MIME_DEPTH_MAX) {
		struct mime_entity parts[MIME_PARTS_MAX];
		size_t np = mime_parts(m, parts, MIME_PARTS_MAX);
		for (size_t i = 0; i < np; i++)
			collect(&parts[i], depth + 1, hosts, n, max);
	} else if (strncmp(type, "text/", 5) == 0) {
		struct strbuf body = STRBUF_INIT;
		mime_decoded_body(m, &body);
		scan_links(body.data ? body.data : "", body.len, hosts, n, max);
		strbuf_free(&body);
	}
}

size_t lint_link_hosts(const struct template *t, const char *also, char (*hosts)[LINT_HOST_LEN],
                       size_t max)
{
	struct mime_entity top;
	size_t n = 0;

	mime_entity(t->text, t->len, &top);
	collect(&top, 0, hosts, &n, max);
	if (also)
		scan_links(also, strlen(also), hosts, &n, max);
	return n;
}
