/* mime: see mime.h. */
#include "mail/mime.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#define FIELD_MAX 16384 /* an unfolded header field we keep */

/* The end of the line starting at p (at the LF, or end). */
static const char *eol(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl : end;
}

static int blank_line(const char *p, const char *e)
{
	return p == e || (e - p == 1 && *p == '\r');
}

void mime_entity(const char *p, size_t len, struct mime_entity *out)
{
	const char *end = p + len, *line = p;

	out->hdr = p;
	while (line < end) {
		const char *e = eol(line, end);
		if (blank_line(line, e)) {
			out->hlen = (size_t)(line - p);
			out->body = e < end ? e + 1 : end;
			out->blen = (size_t)(end - out->body);
			return;
		}
		line = e < end ? e + 1 : end;
	}
	out->hlen = len; /* headers only */
	out->body = end;
	out->blen = 0;
}

int mime_header(const struct mime_entity *m, const char *name, struct strbuf *out)
{
	const char *end = m->hdr + m->hlen, *line = m->hdr;
	size_t n = strlen(name);

	strbuf_reset(out);
	strbuf_reserve(out, 0); /* out->data is never NULL, even for a value not kept */
	while (line < end) {
		const char *e = eol(line, end);
		if ((size_t)(e - line) > n && line[n] == ':' && strncasecmp(line, name, n) == 0) {
			const char *v = line + n + 1;
			for (;;) { /* this line, then its continuation lines */
				const char *ve = e > v && e[-1] == '\r' ? e - 1 : e;
				if (out->len + (size_t)(ve - v) < FIELD_MAX)
					strbuf_add(out, v, (size_t)(ve - v));
				if (e >= end || e + 1 >= end || (e[1] != ' ' && e[1] != '\t'))
					break;
				v = e + 1;
				e = eol(v, end);
			}
			size_t a = 0, b = out->len;
			while (a < b && isspace((unsigned char)out->data[a]))
				a++;
			while (b > a && isspace((unsigned char)out->data[b - 1]))
				b--;
			memmove(out->data, out->data + a, b - a);
			out->len = b - a;
			out->data[out->len] = '\0';
			for (size_t i = 0; i < out->len; i++) /* folding whitespace to spaces */
				if (out->data[i] == '\t' || out->data[i] == '\r' ||
				    out->data[i] == '\n')
					out->data[i] = ' ';
			return 1;
		}
		line = e < end ? e + 1 : end;
	}
	return 0;
}

int mime_param(const char *value, const char *param, char *out, size_t n)
{
	size_t pl = strlen(param);
	const char *p = value;

	while ((p = strchr(p, ';'))) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, param, pl) != 0)
			continue;
		const char *q = p + pl;
		while (*q == ' ')
			q++;
		if (*q != '=')
			continue;
		q++;
		while (*q == ' ')
			q++;
		size_t k = 0;
		if (*q == '"') {
			for (q++; *q && *q != '"' && k + 1 < n; q++) {
				if (*q == '\\' && q[1])
					q++;
				out[k++] = *q;
			}
		} else {
			for (; *q && *q != ';' && !isspace((unsigned char)*q) && k + 1 < n; q++)
				out[k++] = *q;
		}
		out[k] = '\0';
		return k > 0;
	}
	return 0;
}

void mime_type(const struct mime_entity *m, char *out, size_t n)
{
	struct strbuf v = STRBUF_INIT;
	size_t k = 0;

	if (mime_header(m, "Content-Type", &v))
		for (; k < v.len && k + 1 < n && v.data[k] != ';' &&
		       !isspace((unsigned char)v.data[k]);
		     k++)
			out[k] = (char)tolower((unsigned char)v.data[k]);
	out[k] = '\0';
	if (k == 0)
		snprintf(out, n, "text/plain");
	strbuf_free(&v);
}

/* 1 if the line [p, e) is "--boundary" (closing set when "--boundary--"),
 * with optional trailing whitespace. */
static int boundary_line(const char *p, const char *e, const char *b, size_t bl, int *closing)
{
	if ((size_t)(e - p) < bl + 2 || p[0] != '-' || p[1] != '-' || memcmp(p + 2, b, bl) != 0)
		return 0;
	const char *q = p + 2 + bl;
	*closing = e - q >= 2 && q[0] == '-' && q[1] == '-';
	if (*closing)
		q += 2;
	while (q < e && (*q == ' ' || *q == '\t' || *q == '\r'))
		q++;
	return q == e;
}

size_t mime_parts(const struct mime_entity *m, struct mime_entity *parts, size_t max)
{
	struct strbuf ct = STRBUF_INIT;
	char b[256];
	size_t n = 0;

	if (!mime_header(m, "Content-Type", &ct) ||
	    !mime_param(ct.data, "boundary", b, sizeof(b))) {
		strbuf_free(&ct);
		return 0;
	}
	strbuf_free(&ct);
	size_t bl = strlen(b);
	const char *end = m->body + m->blen, *line = m->body, *start = NULL;
	while (line < end && n < max) {
		const char *e = eol(line, end);
		int closing = 0;
		if (boundary_line(line, e, b, bl, &closing)) {
			if (start) {
				/* the CRLF before the boundary belongs to the boundary */
				const char *pe = line;
				if (pe > start && pe[-1] == '\n')
					pe--;
				if (pe > start && pe[-1] == '\r')
					pe--;
				mime_entity(start, (size_t)(pe - start), &parts[n++]);
			}
			if (closing)
				break;
			start = e < end ? e + 1 : end;
		}
		line = e < end ? e + 1 : end;
	}
	if (start && line >= end && n < max && start < end) /* no closing delimiter */
		mime_entity(start, (size_t)(end - start), &parts[n++]);
	return n;
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Base64 in slices straight into out. EVP_DecodeUpdate carries up to a
 * block of undecoded input over from one call to the next, so one call may
 * write more than its own slice decodes to: room is reserved for the slice
 * plus that carry (DECODE_CARRY_MAX characters), never a fixed buffer. */
#define DECODE_SLICE     4096
#define DECODE_CARRY_MAX 80 /* >= OpenSSL's EVP_ENCODE_CTX block (64) */
static void base64_body(const struct mime_entity *m, struct strbuf *out)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	int k;

	EVP_DecodeInit(ctx);
	for (size_t off = 0; off < m->blen; off += DECODE_SLICE) {
		size_t n = m->blen - off < DECODE_SLICE ? m->blen - off : DECODE_SLICE;
		strbuf_reserve(out, EVP_DECODE_LENGTH(n + DECODE_CARRY_MAX));
		if (EVP_DecodeUpdate(ctx, (unsigned char *)out->data + out->len, &k,
		                     (const unsigned char *)m->body + off, (int)n) < 0)
			break;
		out->len += (size_t)k;
	}
	strbuf_reserve(out, DECODE_CARRY_MAX);
	if (EVP_DecodeFinal(ctx, (unsigned char *)out->data + out->len, &k) > 0)
		out->len += (size_t)k;
	out->data[out->len] = '\0';
	EVP_ENCODE_CTX_free(ctx);
}

/* Quoted-printable: the output is never longer than the input. */
static void qp_body(const struct mime_entity *m, struct strbuf *out)
{
	const char *p = m->body, *end = m->body + m->blen;
	char *w;

	strbuf_reserve(out, m->blen);
	w = out->data + out->len;
	while (p < end) {
		int h1, h2;
		if (*p == '=' && p + 1 < end && (p[1] == '\n' || p[1] == '\r')) {
			p += p[1] == '\r' && p + 2 < end && p[2] == '\n' ? 3 : 2; /* soft break */
		} else if (*p == '=' && p + 2 < end && (h1 = hexval((unsigned char)p[1])) >= 0 &&
		           (h2 = hexval((unsigned char)p[2])) >= 0) {
			*w++ = (char)(h1 * 16 + h2);
			p += 3;
		} else {
			*w++ = *p++;
		}
	}
	out->len = (size_t)(w - out->data);
	out->data[out->len] = '\0';
}

void mime_decoded_body(const struct mime_entity *m, struct strbuf *out)
{
	struct strbuf cte = STRBUF_INIT;

	strbuf_reset(out);
	strbuf_reserve(out, 0); /* out->data is never NULL after this */
	mime_header(m, "Content-Transfer-Encoding", &cte);
	if (cte.len && strcasecmp(cte.data, "base64") == 0)
		base64_body(m, out);
	else if (cte.len && strcasecmp(cte.data, "quoted-printable") == 0)
		qp_body(m, out);
	else
		strbuf_add(out, m->body, m->blen);
	strbuf_free(&cte);
}
