/* header_encode: see header_encode.h. */
#include "msg/header_encode.h"

#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#include "util/utf8.h"

void header_encoded_words(struct strbuf *out, const char *v, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t take = n - i > 45 ? 45 : n - i;
		/* Never split a UTF-8 sequence between two words. */
		while (take < n - i && take > 0 && ((unsigned char)v[i + take] & 0xC0) == 0x80)
			take--;
		if (take == 0) /* not UTF-8 after all: cut anywhere rather than loop */
			take = n - i > 45 ? 45 : n - i;
		unsigned char b64[64];
		int len = EVP_EncodeBlock(b64, (const unsigned char *)v + i, (int)take);
		if (i > 0)
			strbuf_add(out, "\r\n ", 3);
		strbuf_add(out, "=?UTF-8?B?", 10);
		strbuf_add(out, b64, (size_t)len);
		strbuf_add(out, "?=", 2);
		i += take;
	}
}

static int is_address_field(const char *name, size_t n)
{
	static const char *const names[] = {"From", "To", "Cc", "Bcc", "Reply-To", "Sender"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && strncasecmp(name, names[i], n) == 0)
			return 1;
	return 0;
}

/* Fields whose text is not for people, or whose syntax 2047 must not touch. */
static int is_left_alone(const char *name, size_t n)
{
	static const char *const names[] = {"Content-Type",
	                                    "Content-Transfer-Encoding",
	                                    "Content-Disposition",
	                                    "MIME-Version",
	                                    "Message-ID",
	                                    "References",
	                                    "In-Reply-To",
	                                    "Received",
	                                    "Date",
	                                    "Return-Path",
	                                    "List-Unsubscribe",
	                                    "DKIM-Signature"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && strncasecmp(name, names[i], n) == 0)
			return 1;
	return 0;
}

static int has_placeholder(const char *p, size_t n)
{
	return memmem(p, n, "{{", 2) != NULL;
}

/* Unstructured text: each run of words with 8-bit bytes (and the spaces
 * between them) becomes encoded words; the rest is copied. */
static void encode_text(struct strbuf *out, const char *p, size_t n)
{
	size_t i = 0;
	int after_placeholder = 0; /* the word before ends a {{placeholder}} */

	while (i < n) {
		size_t ws = i;
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		size_t start = i;
		size_t end = start, last8 = start;
		int any = 0;
		/* extend the run over consecutive 8-bit words */
		for (;;) {
			size_t w = end;
			while (w < n && p[w] != ' ' && p[w] != '\t')
				w++;
			int eight =
			    utf8_has_8bit(p + end, w - end) && !has_placeholder(p + end, w - end);
			if (!eight)
				break;
			any = 1;
			last8 = w;
			size_t k = w;
			while (k < n && (p[k] == ' ' || p[k] == '\t'))
				k++;
			if (k == w || k >= n)
				break;
			end = k;
		}
		strbuf_add(out, p + ws, start - ws);
		if (any && after_placeholder && start > ws) {
			/* A placeholder may render as an encoded word itself, and
			 * the space between two encoded words is dropped when they
			 * are decoded (RFC 2047 6.2): the space goes inside too. */
			struct strbuf w = STRBUF_INIT;
			strbuf_addc(&w, ' ');
			strbuf_add(&w, p + start, last8 - start);
			header_encoded_words(out, w.data, w.len);
			strbuf_free(&w);
			i = last8;
		} else if (any) {
			header_encoded_words(out, p + start, last8 - start);
			i = last8;
		} else {
			while (i < n && p[i] != ' ' && p[i] != '\t')
				i++;
			strbuf_add(out, p + start, i - start);
		}
		after_placeholder = i >= 2 && p[i - 1] == '}' && p[i - 2] == '}';
	}
}

/* One mailbox of an address list: "phrase <addr>", "\"quoted\" <addr>" or
 * "addr". Only the phrase is encoded. */
static void encode_mailbox(struct strbuf *out, const char *p, size_t n)
{
	const char *lt = memchr(p, '<', n);
	size_t pl = lt ? (size_t)(lt - p) : 0;

	if (!lt || !utf8_has_8bit(p, pl) || has_placeholder(p, pl)) {
		strbuf_add(out, p, n);
		return;
	}
	size_t a = 0, b = pl;
	while (a < b && (p[a] == ' ' || p[a] == '\t'))
		a++;
	while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t'))
		b--;
	strbuf_add(out, p, a);
	if (b - a >= 2 && p[a] == '"' && p[b - 1] == '"') {
		struct strbuf q = STRBUF_INIT; /* the quoted string's content, unescaped */
		for (size_t i = a + 1; i + 1 < b; i++) {
			if (p[i] == '\\' && i + 2 < b)
				i++;
			strbuf_addc(&q, p[i]);
		}
		header_encoded_words(out, q.data ? q.data : "", q.len);
		strbuf_free(&q);
	} else {
		header_encoded_words(out, p + a, b - a);
	}
	strbuf_add(out, p + b, n - b);
}

/* An address list, split at the commas outside quotes and angle brackets. */
static void encode_addresses(struct strbuf *out, const char *p, size_t n)
{
	size_t start = 0;
	int quoted = 0, angle = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n) {
			if (p[i] == '"' && (i == 0 || p[i - 1] != '\\'))
				quoted = !quoted;
			else if (!quoted && p[i] == '<')
				angle = 1;
			else if (!quoted && p[i] == '>')
				angle = 0;
			if (quoted || angle || p[i] != ',')
				continue;
		}
		encode_mailbox(out, p + start, i - start);
		if (i < n)
			strbuf_addc(out, ',');
		start = i + 1;
	}
}

/* Appends field (one or more lines, CRLF-ended) to out, folded before a
 * space wherever a line would pass FOLD_AT: encoded words carry no spaces,
 * so they are never cut, and no line reaches 998 octets. */
#define FOLD_AT 76
static void add_folded(struct strbuf *out, const char *f, size_t n)
{
	size_t line_start = 0, last_ws = 0;

	for (size_t i = 0; i < n; i++) {
		if (f[i] == '\r' && i + 1 < n && f[i + 1] == '\n') {
			strbuf_add(out, f + line_start, i + 2 - line_start);
			line_start = i + 2, last_ws = 0;
			i++;
			continue;
		}
		if ((f[i] == ' ' || f[i] == '\t') && i > line_start)
			last_ws = i;
		if (i - line_start >= FOLD_AT && last_ws > line_start) {
			strbuf_add(out, f + line_start, last_ws - line_start);
			strbuf_add(out, "\r\n", 2);
			line_start = last_ws, last_ws = 0;
		}
	}
	strbuf_add(out, f + line_start, n - line_start);
}

/* One field, unfolded into value (without CRLFs), rewritten into out. */
static void encode_field(struct strbuf *out, const char *f, size_t n)
{
	const char *colon = memchr(f, ':', n);
	size_t nl = (size_t)(colon - f);
	struct strbuf v = STRBUF_INIT;

	for (size_t i = nl + 1; i < n; i++) /* unfold: a CRLF before WSP goes */
		if (!(f[i] == '\r' && i + 1 < n && f[i + 1] == '\n'))
			strbuf_addc(&v, f[i] == '\n' ? ' ' : f[i]);
		else
			i++;
	struct strbuf w = STRBUF_INIT;
	strbuf_add(&w, f, nl + 1);
	if (is_address_field(f, nl))
		encode_addresses(&w, v.data, v.len);
	else
		encode_text(&w, v.data, v.len);
	strbuf_add(&w, "\r\n", 2);
	add_folded(out, w.data, w.len);
	strbuf_free(&w);
	strbuf_free(&v);
}

int header_encode_8bit(const char *msg, size_t len, struct strbuf *out)
{
	const char *end = memmem(msg, len, "\r\n\r\n", 4);
	size_t hlen = end ? (size_t)(end - msg) + 2 : len;

	if (!utf8_has_8bit(msg, hlen))
		return 0;
	struct strbuf b = STRBUF_INIT;
	int changed = 0;
	size_t i = 0;
	while (i < hlen) {
		/* a field: its first line and the continuation lines after it */
		size_t j = i;
		do {
			const char *nl = memmem(msg + j, hlen - j, "\r\n", 2);
			j = nl ? (size_t)(nl - msg) + 2 : hlen;
		} while (j < hlen && (msg[j] == ' ' || msg[j] == '\t'));
		const char *colon = memchr(msg + i, ':', j - i);
		size_t nl = colon ? (size_t)(colon - (msg + i)) : 0;
		if (colon && utf8_has_8bit(msg + i, j - i) && !is_left_alone(msg + i, nl) &&
		    utf8_valid(msg + i, j - i)) {
			encode_field(&b, msg + i, j - i - 2 * (msg[j - 1] == '\n'));
			changed = 1;
		} else {
			strbuf_add(&b, msg + i, j - i);
		}
		i = j;
	}
	if (!changed) {
		strbuf_free(&b);
		return 0;
	}
	strbuf_add(&b, msg + hlen, len - hlen);
	strbuf_reset(out);
	strbuf_add(out, b.data, b.len);
	strbuf_free(&b);
	return 1;
}
