/* dsn: see dsn.h. */
#include "msg/dsn.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "msg/verp.h"
#include "util/clock.h"
#include "util/utf8.h"

#define DATE_MAX  64
#define MSGID_MAX (DSN_ADDR_MAX + 64)
#define BOUND_MAX 64

static const char SUBJECT_FAILED[] = "Undelivered Mail Returned to Sender";
static const char SUBJECT_DELAYED[] = "Delayed Mail (still being retried)";

static const char TEXT_FAILED[] =
    "Your message could not be delivered to one or more of its recipients. This is a "
    "permanent error: the mail system will not try again. Each recipient is listed below "
    "with the reason its mail server gave, when it gave one.";
static const char TEXT_DELAYED[] =
    "Your message has not been delivered yet to one or more of its recipients. The mail "
    "system will keep trying; you do not need to send it again. Each recipient is listed "
    "below with the reason its mail server gave, when it gave one.";

/* ---- what comes from outside ---- */

static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* s as one line of printable ASCII: runs of whitespace one space, no
 * leading or trailing one, other controls and 8-bit bytes '?', cut after
 * DSN_TEXT_MAX bytes with " [...]". Appended to out. */
static void add_clean(struct strbuf *out, const char *s)
{
	size_t start = out->len;
	int space = 0;

	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (is_ws(*c)) {
			space = out->len > start;
			continue;
		}
		if (out->len - start + (size_t)space + 1 > DSN_TEXT_MAX) {
			strbuf_adds(out, " [...]");
			return;
		}
		if (space)
			strbuf_addc(out, ' ');
		space = 0;
		strbuf_addc(out, *c < 0x20 || *c >= 0x7f ? '?' : (char)*c);
	}
}

/* A host name from outside: its first word, made clean. */
static void add_host(struct strbuf *out, const char *s)
{
	size_t start = out->len;

	add_clean(out, s);
	char *sp = out->len > start ? memchr(out->data + start, ' ', out->len - start) : NULL;
	if (sp) {
		out->len = (size_t)(sp - out->data);
		out->data[out->len] = '\0';
	}
}

/* 1 if s is one word fit for a header: printable, no space, no <>()",;
 * and 8-bit bytes only when allowed. */
static int one_word(const char *s, int allow_8bit)
{
	if (!s || !*s || strlen(s) > DSN_ADDR_MAX)
		return 0;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c <= 0x20 || *c == 0x7f || strchr("<>()\",;", *c))
			return 0;
		if (*c >= 0x80 && !allow_8bit)
			return 0;
	}
	return 1;
}

/* The code point of the UTF-8 sequence at s (of *len bytes, set), or
 * U+FFFD for a byte that starts no well-formed sequence (*len 1). */
static unsigned utf8_point(const unsigned char *s, size_t *len)
{
	unsigned char c = s[0];
	size_t k = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 ? 4 : 0;

	*len = 1;
	if (k == 0 || strnlen((const char *)s, k) < k || !utf8_valid((const char *)s, k))
		return 0xfffd;
	unsigned cp = c & (k == 2 ? 0x1f : k == 3 ? 0x0f : 0x07);
	for (size_t i = 1; i < k; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	*len = k;
	return cp;
}

/* "rfc822;ADDR" for a printable ASCII address, else "utf-8;ADDR" in
 * utf-8-addr-xtext (RFC 6533); at most DSN_ADDR_MAX bytes of ADDR. */
static void add_address(struct strbuf *out, const char *a)
{
	int plain = 1;
	size_t start;

	for (const unsigned char *c = (const unsigned char *)a; *c; c++)
		plain &= *c > 0x20 && *c < 0x7f;
	if (plain) {
		strbuf_adds(out, "rfc822;");
		strbuf_add(out, a, strnlen(a, DSN_ADDR_MAX));
		return;
	}
	strbuf_adds(out, "utf-8;");
	start = out->len;
	for (const unsigned char *c = (const unsigned char *)a; *c;) {
		size_t k = 1;
		unsigned cp = *c;
		if (*c >= 0x80)
			cp = utf8_point(c, &k);
		char one[16];
		if (cp > 0x20 && cp < 0x7f && !strchr("\\+=", (int)cp))
			snprintf(one, sizeof(one), "%c", (char)cp);
		else
			snprintf(one, sizeof(one), "\\x{%X}", cp);
		if (out->len - start + strlen(one) > DSN_ADDR_MAX)
			return;
		strbuf_adds(out, one);
		c += k;
	}
}

/* ---- lines ---- */

/* Appends text (one line with single spaces, from add_clean) at column
 * col, breaking before a word that would pass DSN_FOLD_COLS with CRLF and
 * indent; then CRLF. With indent " " this is RFC 5322 folding: unfolding
 * gives text back. A word longer than a line stays whole (bounded by
 * DSN_TEXT_MAX, so under 998 octets). */
static void add_wrapped(struct strbuf *out, const char *text, size_t col, const char *indent)
{
	size_t ind = strlen(indent);
	int first = 1;

	for (const char *p = text; *p;) {
		size_t w = strcspn(p, " ");
		if (!first && col + 1 + w > DSN_FOLD_COLS) {
			strbuf_adds(out, "\r\n");
			strbuf_adds(out, indent);
			col = ind;
		} else if (!first) {
			strbuf_addc(out, ' ');
			col++;
		}
		strbuf_add(out, p, w);
		col += w;
		first = 0;
		p += w;
		if (*p == ' ')
			p++;
	}
	strbuf_adds(out, "\r\n");
}

/* "Name: value" folded (value from add_clean). */
static void add_field(struct strbuf *out, const char *name, const char *value)
{
	strbuf_adds(out, name);
	strbuf_adds(out, ": ");
	add_wrapped(out, value, strlen(name) + 2, " ");
}

/* Quoted-printable (RFC 2045 6.7) of s[0..n): CRLF stays a line break,
 * every other byte that is not printable ASCII is =XX, lines <= 76. */
static void add_qp(struct strbuf *out, const char *s, size_t n)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' && i + 1 < n && s[i + 1] == '\n') {
			strbuf_adds(out, "\r\n");
			col = 0;
			i++;
			continue;
		}
		int at_end = i + 1 == n || (s[i + 1] == '\r' && i + 2 < n && s[i + 2] == '\n');
		int lit = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_end);
		size_t w = lit ? 1 : 3;
		if (col + w > 75) {
			strbuf_adds(out, "=\r\n");
			col = 0;
		}
		if (lit)
			strbuf_addc(out, (char)c);
		else
			strbuf_addf(out, "=%02X", c);
		col += w;
	}
}

/* ---- the original ---- */

/* The length of m's header block, its last line end included: up to the
 * first empty line, or all of m; then cut at a line end within
 * DSN_HEADERS_MAX. */
static size_t header_block(const char *m, size_t len)
{
	size_t h = len;

	if ((len >= 1 && m[0] == '\n') || (len >= 2 && m[0] == '\r' && m[1] == '\n'))
		return 0;
	for (size_t i = 0; i + 1 < len; i++) {
		if (m[i] != '\n')
			continue;
		if (m[i + 1] == '\n' || (i + 2 < len && m[i + 1] == '\r' && m[i + 2] == '\n')) {
			h = i + 1;
			break;
		}
	}
	if (h > DSN_HEADERS_MAX) {
		size_t cut = DSN_HEADERS_MAX;
		while (cut > 0 && m[cut - 1] != '\n')
			cut--;
		h = cut ? cut : DSN_HEADERS_MAX;
	}
	return h;
}

/* 1 if h[0..n) can go as it is: printable ASCII and HT, CRLF line ends
 * only, lines of at most 998 octets. */
static int headers_as_is(const char *h, size_t n)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c == '\r' && i + 1 < n && h[i + 1] == '\n') {
			i++;
			col = 0;
			continue;
		}
		if ((c < 0x20 && c != '\t') || c >= 0x7f || ++col > 998)
			return 0;
	}
	return 1;
}

/* Part 3: its MIME header and the header block; 0 when there is none. */
static int part_headers(const struct dsn_params *p, struct strbuf *part)
{
	size_t h = p->original ? header_block(p->original, p->original_len) : 0;

	if (h == 0)
		return 0;
	int as_is = headers_as_is(p->original, h);
	strbuf_adds(part, "Content-Description: Undelivered Message Headers\r\n"
	                  "Content-Type: text/rfc822-headers\r\n");
	if (!as_is)
		strbuf_adds(part, "Content-Transfer-Encoding: quoted-printable\r\n");
	strbuf_adds(part, "\r\n");
	if (as_is)
		strbuf_add(part, p->original, h);
	else
		add_qp(part, p->original, h);
	if (part->len < 2 || memcmp(part->data + part->len - 2, "\r\n", 2) != 0)
		strbuf_adds(part, "\r\n");
	return 1;
}

/* ---- the report ---- */

/* 1 if s is an enhanced status code "C.SSS.DDD" (RFC 3463) of class 2, 4 or 5. */
static int status_ok(const char *s)
{
	if (!s || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	const char *c = s + 2;
	for (int part = 0; part < 2; part++) {
		int d = 0;
		while (*c >= '0' && *c <= '9' && d < 4) {
			c++;
			d++;
		}
		if (d == 0 || d > 3)
			return 0;
		if (part == 0 && *c++ != '.')
			return 0;
	}
	return *c == '\0';
}

static int has_code(const struct dsn_rcpt *r)
{
	return r->code >= 200 && r->code <= 599;
}

/* The reply's text made clean, without the code when it starts with it. */
static void reply_text(const struct dsn_rcpt *r, struct strbuf *out)
{
	char code[8];
	struct strbuf t = STRBUF_INIT;

	if (!r->reply)
		return;
	add_clean(&t, r->reply);
	size_t k = (size_t)snprintf(code, sizeof(code), "%d", r->code);
	const char *s = t.data ? t.data : "";
	if (has_code(r) && strncmp(s, code, k) == 0 && (s[k] == ' ' || s[k] == '-' || !s[k]))
		s += k + (s[k] != '\0');
	strbuf_adds(out, s);
	strbuf_free(&t);
}

/* The status given, else the enhanced code the reply starts with when its
 * class is the code's, else C.0.0 with the class of the code or action. */
static void status_of(const struct dsn_rcpt *r, char out[16])
{
	struct strbuf t = STRBUF_INIT;
	int cls;

	if (status_ok(r->status)) {
		snprintf(out, 16, "%s", r->status);
		return;
	}
	cls = has_code(r) && r->code / 100 >= 4  ? r->code / 100
	      : strcmp(r->action, "failed") == 0 ? 5
	                                         : 4;
	snprintf(out, 16, "%d.0.0", cls);
	reply_text(r, &t);
	size_t k = t.len ? strcspn(t.data, " ") : 0;
	if (has_code(r) && k > 0 && k < 16 && t.data[0] == '0' + cls) {
		char cand[16];
		memcpy(cand, t.data, k);
		cand[k] = '\0';
		if (status_ok(cand))
			memcpy(out, cand, k + 1);
	}
	strbuf_free(&t);
}

/* "smtp; CODE TEXT", "X-Sluice; TEXT", or "" (then no field). */
static void diagnostic(const struct dsn_rcpt *r, struct strbuf *out)
{
	struct strbuf t = STRBUF_INIT;

	reply_text(r, &t);
	if (has_code(r))
		strbuf_addf(out, "smtp; %d%s%s", r->code, t.len ? " " : "", t.len ? t.data : "");
	else if (t.len)
		strbuf_addf(out, "X-Sluice; %s", t.data);
	strbuf_free(&t);
}

static void add_date_field(struct strbuf *out, const char *name, int64_t s)
{
	char date[DATE_MAX];

	clock_rfc5322_date(s, date, sizeof(date));
	strbuf_addf(out, "%s: %s\r\n", name, date);
}

/* Part 2: message/delivery-status. */
static void part_status(const struct dsn_params *p, const struct dsn_rcpt *r, size_t n,
                        struct strbuf *part)
{
	struct strbuf v = STRBUF_INIT;

	strbuf_adds(part, "Content-Description: Delivery report\r\n"
	                  "Content-Type: message/delivery-status\r\n\r\n");
	strbuf_addf(part, "Reporting-MTA: dns; %s\r\n", p->reporting_mta);
	if (p->envelope_id && *p->envelope_id) {
		add_clean(&v, p->envelope_id);
		add_field(part, "Original-Envelope-Id", v.data ? v.data : "");
	}
	if (p->queue_id && *p->queue_id) {
		strbuf_reset(&v);
		add_clean(&v, p->queue_id);
		add_field(part, "X-Sluice-Queue-ID", v.data ? v.data : "");
	}
	if (p->arrival_s > 0)
		add_date_field(part, "Arrival-Date", p->arrival_s);
	for (size_t i = 0; i < n; i++) {
		char status[16];
		status_of(&r[i], status);
		strbuf_adds(part, "\r\nFinal-Recipient: ");
		add_address(part, r[i].address);
		strbuf_addf(part, "\r\nAction: %s\r\nStatus: %s\r\n", r[i].action, status);
		strbuf_reset(&v);
		if (r[i].remote_mta)
			add_host(&v, r[i].remote_mta);
		if (v.len)
			strbuf_addf(part, "Remote-MTA: dns; %s\r\n", v.data);
		strbuf_reset(&v);
		diagnostic(&r[i], &v);
		if (v.len)
			add_field(part, "Diagnostic-Code", v.data);
		if (r[i].last_attempt_s > 0)
			add_date_field(part, "Last-Attempt-Date", r[i].last_attempt_s);
	}
	strbuf_free(&v);
}

/* Part 1: what a person reads. */
static void part_text(const struct dsn_params *p, const struct dsn_rcpt *r, size_t n, int failed,
                      struct strbuf *part)
{
	struct strbuf v = STRBUF_INIT;

	strbuf_adds(part, "Content-Description: Notification\r\n"
	                  "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
	strbuf_addf(part, "This is the mail system at host %s.\r\n\r\n", p->reporting_mta);
	add_wrapped(part, failed ? TEXT_FAILED : TEXT_DELAYED, 0, "");
	for (size_t i = 0; i < n; i++) {
		char status[16];
		int fail = strcmp(r[i].action, "failed") == 0;
		status_of(&r[i], status);
		strbuf_adds(part, "\r\n");
		strbuf_reset(&v);
		add_address(&v, r[i].address);
		const char *a = strchr(v.data, ';') + 1;
		strbuf_addf(part, "<%s>: %s (status %s)\r\n", a,
		            fail ? "could not be delivered" : "not delivered yet, still trying",
		            status);
		strbuf_reset(&v);
		reply_text(&r[i], &v);
		if (has_code(&r[i])) {
			struct strbuf said = STRBUF_INIT;
			strbuf_adds(&said, "host ");
			if (r[i].remote_mta)
				add_host(&said, r[i].remote_mta);
			if (said.len == 5)
				strbuf_reset(&said); /* no host known */
			strbuf_adds(&said, said.len ? " said: " : "the receiving server said: ");
			strbuf_addf(&said, "%d%s%s", r[i].code, v.len ? " " : "",
			            v.len ? v.data : "");
			strbuf_adds(part, "    ");
			add_wrapped(part, said.data, 4, "    ");
			strbuf_free(&said);
		} else if (v.len) {
			strbuf_adds(part, "    ");
			add_wrapped(part, v.data, 4, "    ");
		}
	}
	strbuf_free(&v);
}

/* ---- the message ---- */

/* A digest of what makes this DSN itself: its Message-ID and boundary
 * come from it (hex, 64 characters). */
static void inputs_digest(const struct dsn_params *p, const struct dsn_rcpt *r, size_t n,
                          char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct strbuf in = STRBUF_INIT;

	memset(md, 0, sizeof(md));
	strbuf_addf(&in, "%s\n%s\n%s\n%s\n%lld\n", p->reporting_mta, p->to,
	            p->envelope_id ? p->envelope_id : "", p->queue_id ? p->queue_id : "",
	            (long long)p->now_s);
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&in, "%s\n%s\n%d\n", r[i].address, r[i].action, r[i].code);
	if (EVP_Digest(in.data, in.len, md, &mdlen, EVP_sha256(), NULL) != 1)
		memset(md, 0, sizeof(md));
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	strbuf_free(&in);
}

static int occurs(const struct strbuf *b, const char *s)
{
	return b->len && memmem(b->data, b->len, s, strlen(s)) != NULL;
}

/* A boundary from the digest that none of the parts holds. */
static void pick_boundary(const char *hex, struct strbuf *const *parts, size_t nparts,
                          char out[BOUND_MAX])
{
	for (unsigned k = 0;; k++) {
		int clash = 0;
		if (k == 0)
			snprintf(out, BOUND_MAX, "=_dsn_%.24s", hex + 16);
		else
			snprintf(out, BOUND_MAX, "=_dsn_%.24s_%u", hex + 16, k);
		for (size_t i = 0; i < nparts && !clash; i++)
			clash = occurs(parts[i], out);
		if (!clash)
			return; /* ends: the parts can hold only so many of these */
	}
}

static int check(const struct dsn_params *p, const struct dsn_rcpt *r, size_t n, int *failed,
                 struct err *e)
{
	if (!p->to || !*p->to || strcmp(p->to, "<>") == 0)
		return err_set(e, "dsn: no recipient for the DSN (null sender): none is sent");
	if (!one_word(p->to, 1))
		return err_set(e, "dsn: the DSN's recipient is not one address");
	if (!one_word(p->reporting_mta, 0))
		return err_set(e, "dsn: reporting MTA \"%s\" is not one host name",
		               p->reporting_mta ? p->reporting_mta : "");
	if (p->postmaster && !one_word(p->postmaster, 0))
		return err_set(e, "dsn: postmaster address \"%s\" is not one address",
		               p->postmaster);
	if (p->message_id_domain && !one_word(p->message_id_domain, 0))
		return err_set(e, "dsn: Message-ID domain \"%s\" is not one domain",
		               p->message_id_domain);
	if (n == 0)
		return err_set(e, "dsn: no recipient to report");
	*failed = 0;
	for (size_t i = 0; i < n; i++) {
		if (!r[i].address || !*r[i].address)
			return err_set(e, "dsn: recipient %zu has no address", i + 1);
		if (!r[i].action ||
		    (strcmp(r[i].action, "failed") != 0 && strcmp(r[i].action, "delayed") != 0))
			return err_set(e,
			               "dsn: recipient %zu: action \"%.40s\" (failed or delayed)",
			               i + 1, r[i].action ? r[i].action : "");
		*failed |= strcmp(r[i].action, "failed") == 0;
	}
	return 0;
}

int dsn_build(const struct dsn_params *p, const struct dsn_rcpt *r, size_t n, struct strbuf *out,
              struct err *e)
{
	struct strbuf text = STRBUF_INIT, status = STRBUF_INIT, hdrs = STRBUF_INIT;
	struct strbuf *parts[] = {&text, &status, &hdrs};
	char hex[65], mid[MSGID_MAX], bound[BOUND_MAX], date[DATE_MAX], salt[17];
	int failed = 0;

	if (check(p, r, n, &failed, e) != 0)
		return -1;
	part_text(p, r, n, failed, &text);
	part_status(p, r, n, &status);
	size_t nparts = part_headers(p, &hdrs) ? 3 : 2;

	inputs_digest(p, r, n, hex);
	snprintf(salt, sizeof(salt), "%.16s", hex);
	verp_message_id(NULL, salt, p->now_s,
	                p->message_id_domain ? p->message_id_domain : p->reporting_mta, mid,
	                sizeof(mid));
	pick_boundary(hex, parts, nparts, bound);
	clock_rfc5322_date(p->now_s, date, sizeof(date));

	if (p->postmaster)
		strbuf_addf(out, "From: Mail Delivery System <%s>\r\n", p->postmaster);
	else
		strbuf_addf(out, "From: Mail Delivery System <postmaster@%s>\r\n",
		            p->reporting_mta);
	strbuf_addf(out, "To: <%s>\r\n", p->to);
	strbuf_addf(out, "Subject: %s\r\n", failed ? SUBJECT_FAILED : SUBJECT_DELAYED);
	strbuf_addf(out, "Date: %s\r\nMessage-ID: %s\r\n", date, mid);
	strbuf_addf(out,
	            "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
	            "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	            "\tboundary=\"%s\"\r\n\r\n"
	            "This is a MIME-encapsulated message.\r\n",
	            bound);
	for (size_t i = 0; i < nparts; i++) {
		strbuf_addf(out, "\r\n--%s\r\n", bound);
		strbuf_add(out, parts[i]->data, parts[i]->len);
	}
	strbuf_addf(out, "\r\n--%s--\r\n", bound);
	for (size_t i = 0; i < 3; i++)
		strbuf_free(parts[i]);
	return 0;
}
