/* plain: see plain.h. */
#include "bounce/plain.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define WINDOW_LINES 6 /* how far above a reply its address may be */

int plain_enhanced_in(const char *text, int cls, char out[16])
{
	for (const char *p = text; *p; p++) {
		if (!(p[0] >= '2' && p[0] <= '5') || p[1] != '.' || !isdigit((unsigned char)p[2]))
			continue;
		if (cls && p[0] - '0' != cls)
			continue;
		if (p > text && !strchr("#([' :", p[-1]))
			continue;
		const char *q = p + 2;
		while (isdigit((unsigned char)*q) && q - p < 6)
			q++;
		if (*q != '.' || !isdigit((unsigned char)q[1]))
			continue;
		q++;
		while (isdigit((unsigned char)*q) && q - p < 10)
			q++;
		if (isdigit((unsigned char)*q) || *q == '.')
			continue; /* a version number or an address, not a status */
		snprintf(out, 16, "%.*s", (int)(q - p), p);
		return 1;
	}
	return 0;
}

static int addr_char(int c)
{
	return isalnum(c) || (c && strchr(".!#$%&'*+-/=?^_`{|}~", c));
}

/* The first address on a line ("<a@b.c>" preferred, else a bare a@b.c). */
static int line_address(const char *s, size_t n, char *out, size_t on)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			if (s[i] != '@' || i == 0)
				continue;
			size_t a = i, b = i + 1;
			while (a > 0 && addr_char((unsigned char)s[a - 1]))
				a--;
			while (b < n &&
			       (isalnum((unsigned char)s[b]) || s[b] == '.' || s[b] == '-'))
				b++;
			while (b > i + 1 && s[b - 1] == '.')
				b--;
			if (a == i || !memchr(s + i + 1, '.', b - i - 1))
				continue;
			int bracketed = a > 0 && s[a - 1] == '<' && b < n && s[b] == '>';
			if (pass == 0 && !bracketed)
				continue;
			snprintf(out, on, "%.*s", (int)(b - a), s + a);
			for (char *c = strchr(out, '@'); c && *c; c++)
				*c = (char)tolower((unsigned char)*c);
			return 1;
		}
	}
	return 0;
}

/* A line that is an address alone ("<a@b.c>:", "a@b.c"), as qmail and
 * others write the failed recipient above the reply. */
static int address_line(const char *s, size_t n, char *out, size_t on)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == ':'))
		n--;
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	if (n < 3 || memchr(s, ' ', n) || memchr(s, '\t', n) || !memchr(s, '@', n))
		return 0;
	return line_address(s, n, out, on);
}

/* Where the returned original starts: the scan stops there. */
static int original_begins(const char *s, size_t n)
{
	static const char *const marks[] = {"below this line is a copy",
	                                    "original message follows",
	                                    "------ this is a copy of the message",
	                                    "--- original message",
	                                    "----- original message",
	                                    "the header of the original message",
	                                    NULL};
	char line[160];

	snprintf(line, sizeof(line), "%.*s", (int)(n < 159 ? n : 159), s);
	for (int i = 0; marks[i]; i++)
		if (strcasestr(line, marks[i]))
			return 1;
	return (n >= 9 && strncmp(s, "Received:", 9) == 0) ||
	       (n >= 12 && strncmp(s, "Return-Path:", 12) == 0);
}

/* The decoded text parts of m (the body itself when it is not multipart). */
static void text_of(const struct mime_entity *m, struct strbuf *out, int depth)
{
	char type[128];
	struct strbuf b = STRBUF_INIT;

	if (depth > MIME_DEPTH_MAX || out->len >= PLAIN_TEXT_MAX)
		return;
	mime_type(m, type, sizeof(type));
	if (strncmp(type, "multipart/", 10) == 0) {
		struct mime_entity parts[MIME_PARTS_MAX];
		size_t n = mime_parts(m, parts, MIME_PARTS_MAX);
		for (size_t i = 0; i < n; i++)
			text_of(&parts[i], out, depth + 1);
		if (n)
			return;
		/* a multipart whose delimiters are missing: its body is text */
	} else if (strncmp(type, "text/", 5) != 0 || strcmp(type, "text/rfc822-headers") == 0) {
		return;
	}
	mime_decoded_body(m, &b);
	size_t room = PLAIN_TEXT_MAX - out->len;
	strbuf_add(out, b.data, b.len < room ? b.len : room);
	strbuf_addc(out, '\n');
	strbuf_free(&b);
}

/* X-Failed-Recipients: a, b */
static size_t failed_header(const struct mime_entity *m, char list[][BOUNCE_FIELD_MAX], size_t max)
{
	struct strbuf v = STRBUF_INIT;
	size_t n = 0;

	if (mime_header(m, "X-Failed-Recipients", &v))
		for (char *save, *tok = strtok_r(v.data, ", '\"<>", &save); tok && n < max;
		     tok = strtok_r(NULL, ", '\"<>", &save))
			if (strchr(tok, '@'))
				snprintf(list[n++], BOUNCE_FIELD_MAX, "%s", tok);
	strbuf_free(&v);
	return n;
}

static int in_list(char list[][BOUNCE_FIELD_MAX], size_t n, const char *addr)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(list[i], addr) == 0)
			return 1;
	return 0;
}

/* A line that says only a 4/5 enhanced code, without a reply code: a
 * qmail "... (#5.1.1)", a line that starts with "5.2.2 ", a DSN's
 * "Status: 5.1.1" quoted as text, Zoho's "ERROR_CODE :5.2.1". */
static int status_only(const char *line, char enh[16])
{
	const char *s = line;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!plain_enhanced_in(line, 0, enh) || (enh[0] != '4' && enh[0] != '5'))
		return 0;
	size_t el = strlen(enh);
	return strstr(line, "(#") || strstr(line, "ERROR_CODE :") ||
	       (strncmp(s, enh, el) == 0 && (s[el] == ' ' || !s[el])) ||
	       (strncasecmp(s, "Status:", 7) == 0);
}

/* A DSN's "Final-Recipient: rfc822; a@b" (or Original-) quoted as text. */
static int recipient_field(const char *s, size_t n, char *out, size_t on)
{
	if (!(n > 16 && strncasecmp(s, "Final-Recipient:", 16) == 0) &&
	    !(n > 19 && strncasecmp(s, "Original-Recipient:", 19) == 0))
		return 0;
	return line_address(s, n, out, on);
}

/* The reply text of a recipient a quoted Status line named already: its
 * words (and a more specific code) complete the entry. */
static void add_diagnostic(struct bounce_report *r, const char *addr, int code, const char *enh,
                           const char *text)
{
	for (size_t i = 0; i < r->nrcpts; i++) {
		struct bounce_rcpt *x = &r->rcpts[i];
		if (strcasecmp(x->final, addr) != 0)
			continue;
		snprintf(x->diagnostic, sizeof(x->diagnostic), "%s", text);
		x->code = code;
		if (enh[0] && enh[0] == x->status[0] && strcmp(x->status + 1, ".0.0") == 0) {
			snprintf(x->enhanced, sizeof(x->enhanced), "%s", enh);
			memcpy(x->status, x->enhanced, sizeof(x->enhanced));
		}
		return;
	}
}

static int known(const struct bounce_report *r, const char *addr)
{
	for (size_t i = 0; i < r->nrcpts; i++)
		if (strcasecmp(r->rcpts[i].final, addr) == 0)
			return 1;
	return 0;
}

/* One line with a reply: a failed recipient, if its address is new. */
static void reply_line(struct bounce_report *r, const char *line, int code, const char *enh,
                       const char *text, const char *addr)
{
	if (r->nrcpts >= BOUNCE_RCPTS_MAX || (addr[0] && known(r, addr)))
		return;
	if (!addr[0] && r->nrcpts > 0 && !r->rcpts[r->nrcpts - 1].final[0])
		return; /* one address-less reply is enough */
	struct bounce_rcpt *x = &r->rcpts[r->nrcpts++];
	memset(x, 0, sizeof(*x));
	x->code = code;
	snprintf(x->enhanced, sizeof(x->enhanced), "%s", enh);
	if (!x->enhanced[0])
		plain_enhanced_in(line, code / 100, x->enhanced);
	memcpy(x->status, x->enhanced, sizeof(x->enhanced)); /* sizeof status > enhanced */
	if (!x->status[0] && code >= 400 && code < 600)
		snprintf(x->status, sizeof(x->status), "%d.0.0", code / 100); /* RFC 3463 */
	snprintf(x->diagnostic, sizeof(x->diagnostic), "%s", text);
	snprintf(x->action, sizeof(x->action), "failed");
	snprintf(x->final, sizeof(x->final), "%s", addr);
}

size_t plain_bounce_read(const struct mime_entity *m, struct bounce_report *r)
{
	struct strbuf text = STRBUF_INIT;
	char failed[BOUNCE_RCPTS_MAX][BOUNCE_FIELD_MAX];
	size_t nfailed = failed_header(m, failed, BOUNCE_RCPTS_MAX), next_failed = 0;
	const char *lines[WINDOW_LINES] = {0};
	char marker[BOUNCE_FIELD_MAX] = ""; /* the last line that was an address alone */
	int marker_line = 0;
	size_t lens[WINDOW_LINES] = {0};

	text_of(m, &text, 0);
	const char *p = text.data ? text.data : "", *end = p + text.len;
	for (int k = 0; p < end; k++) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		size_t n = e ? (size_t)(e - p) : (size_t)(end - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (original_begins(p, n))
			break;
		char line[1024], enh[16], addr[BOUNCE_FIELD_MAX] = "";
		const char *t;
		snprintf(line, sizeof(line), "%.*s", (int)(n < 1023 ? n : 1023), p);
		int code = bounce_reply_in(line, enh, &t);
		if (code < 400 && status_only(line, enh)) /* qmail "(#5.1.1)", "5.2.2 <a@b>..." */
			code = enh[0] == '4' ? 450 : 550, t = line;
		if (code >= 400 && marker[0] && k - marker_line < WINDOW_LINES &&
		    strncasecmp(line, "Diagnostic-Code:", 16) == 0 && known(r, marker)) {
			add_diagnostic(r, marker, code, enh, t); /* the same group's reply */
			code = 0;
		}
		if (code >= 400) {
			if (marker[0] && k - marker_line < WINDOW_LINES)
				snprintf(addr, sizeof(addr), "%s", marker); /* qmail's "<a@b>:" */
			else if (!line_address(p, n, addr, sizeof(addr)))
				for (int w = 1; w < WINDOW_LINES && w <= k && !addr[0]; w++) {
					int i = (k - w) % WINDOW_LINES;
					if (lines[i])
						line_address(lines[i], lens[i], addr, sizeof(addr));
				}
			/* with X-Failed-Recipients, an address the text names is
			 * taken only if the header names it too (texts quote the
			 * sender's address as well) */
			if (nfailed && addr[0] && !in_list(failed, nfailed, addr))
				addr[0] = '\0';
			while (!addr[0] && next_failed < nfailed)
				if (!known(r, failed[next_failed++]))
					snprintf(addr, sizeof(addr), "%s", failed[next_failed - 1]);
			reply_line(r, line, code, enh, t, addr);
		}
		if (address_line(p, n, marker, sizeof(marker)) ||
		    recipient_field(p, n, marker, sizeof(marker)))
			marker_line = k;
		lines[k % WINDOW_LINES] = p;
		lens[k % WINDOW_LINES] = n;
		p = e ? e + 1 : end;
	}
	/* failed recipients the header names that no reply line did */
	for (size_t i = next_failed; i < nfailed && r->nrcpts < BOUNCE_RCPTS_MAX; i++)
		if (!known(r, failed[i])) {
			struct bounce_rcpt *x = &r->rcpts[r->nrcpts++];
			memset(x, 0, sizeof(*x));
			snprintf(x->action, sizeof(x->action), "failed");
			snprintf(x->final, sizeof(x->final), "%s", failed[i]);
		}
	strbuf_free(&text);
	return r->nrcpts;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static int ses_read(const char *text, size_t len, struct bounce_report *r)
{
	const char *start = memmem(text, len, "{\"notificationType\"", 19);
	json_error_t err;

	if (!start)
		return 0;
	json_t *j = json_loadb(start, len - (size_t)(start - text), JSON_DISABLE_EOF_CHECK, &err);
	if (!j)
		return 0;
	const char *type = jstr(j, "notificationType");
	json_t *list = NULL, *inner = NULL;
	if (strcmp(type, "Bounce") == 0) {
		inner = json_object_get(j, "bounce");
		list = json_object_get(inner, "bouncedRecipients");
		r->kind = RK_DSN;
		snprintf(r->reporting_mta, sizeof(r->reporting_mta), "%s",
		         jstr(inner, "reportingMTA"));
	} else if (strcmp(type, "Complaint") == 0) {
		inner = json_object_get(j, "complaint");
		list = json_object_get(inner, "complainedRecipients");
		r->kind = RK_ARF;
		snprintf(r->feedback_type, sizeof(r->feedback_type), "%s",
		         jstr(inner, "complaintFeedbackType")[0]
		             ? jstr(inner, "complaintFeedbackType")
		             : "abuse");
		snprintf(r->user_agent, sizeof(r->user_agent), "%s", jstr(inner, "userAgent"));
	}
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x)
	{
		if (r->nrcpts >= BOUNCE_RCPTS_MAX)
			break;
		if (!strchr(jstr(x, "emailAddress"), '@'))
			continue; /* not a recipient entry */
		struct bounce_rcpt *rc = &r->rcpts[r->nrcpts++];
		memset(rc, 0, sizeof(*rc));
		snprintf(rc->final, sizeof(rc->final), "%s", jstr(x, "emailAddress"));
		snprintf(rc->action, sizeof(rc->action), "%s",
		         jstr(x, "action")[0] ? jstr(x, "action") : "failed");
		snprintf(rc->status, sizeof(rc->status), "%s", jstr(x, "status"));
		const char *d = jstr(x, "diagnosticCode"), *t;
		d = strchr(d, ';') ? strchr(d, ';') + 1 : d;
		while (*d == ' ')
			d++;
		snprintf(rc->diagnostic, sizeof(rc->diagnostic), "%s", d);
		rc->code = bounce_reply_in(rc->diagnostic, rc->enhanced, &t);
		if (!rc->enhanced[0]) {
			size_t k = strnlen(rc->status, sizeof(rc->enhanced) - 1);
			memcpy(rc->enhanced, rc->status, k);
			rc->enhanced[k] = '\0';
		}
	}
	if (r->kind == RK_ARF && r->nrcpts)
		snprintf(r->original_rcpt, sizeof(r->original_rcpt), "%s", r->rcpts[0].final);
	json_t *mail = json_object_get(j, "mail");
	snprintf(r->why, sizeof(r->why), "Amazon SES %s notification (message %s)", type,
	         jstr(mail, "messageId"));
	json_decref(j);
	return r->kind == RK_DSN || r->kind == RK_ARF;
}

/* An SNS envelope ({"Type": "Notification", "Message": "{...}"}): the
 * notification is the Message string. */
static int sns_read(const char *text, size_t len, struct bounce_report *r)
{
	const char *start = memchr(text, '{', len);
	json_error_t err;
	int found = 0;

	if (!start || !memmem(text, len, "\\\"notificationType\\\"", 20))
		return 0;
	json_t *j = json_loadb(start, len - (size_t)(start - text), JSON_DISABLE_EOF_CHECK, &err);
	const char *msg = json_string_value(json_object_get(j, "Message"));
	if (msg)
		found = ses_read(msg, strlen(msg), r);
	json_decref(j);
	return found;
}

int plain_ses_message(const struct mime_entity *m, struct bounce_report *r)
{
	struct strbuf text = STRBUF_INIT, flat = STRBUF_INIT;

	text_of(m, &text, 0);
	if (!text.len || !memmem(text.data, text.len, "notificationType", 16)) {
		strbuf_free(&text); /* the common case: no SES notification, no copy */
		return 0;
	}
	/* lines of over 998 octets arrive folded: JSON has no line breaks of its
	 * own that matter, so they go before parsing */
	for (size_t i = 0; i < text.len; i++)
		if (text.data[i] != '\r' && text.data[i] != '\n')
			strbuf_addc(&flat, text.data[i]);
	int found =
	    flat.len && (ses_read(flat.data, flat.len, r) || sns_read(flat.data, flat.len, r));
	strbuf_free(&text);
	strbuf_free(&flat);
	return found;
}
