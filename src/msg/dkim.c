/* dkim: see dkim.h. */
#include "msg/dkim.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xmalloc.h"

/* What is signed when present (RFC 6376 5.4.1 and what receivers check). */
static const char *const DKIM_HEADERS[] = {
    "from",
    "to",
    "cc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-id",
    "feedback-id",
    "in-reply-to",
    "references",
};
#define NHEADERS   (sizeof(DKIM_HEADERS) / sizeof(DKIM_HEADERS[0]))
#define B64_LINE   72 /* folding width of bh= and b= */
#define FIELDS_MAX 256

struct dkim_key {
	char *domain, *selector;
	EVP_PKEY *pkey;
	int ed25519;
	int relaxed_header, relaxed_body;
};

struct dkim_signer {
	struct dkim_key *keys;
	size_t nkeys;
};

size_t dkim_signer_keys(const struct dkim_signer *s)
{
	return s ? s->nkeys : 0;
}

int dkim_signer_new(const struct config *cfg, struct dkim_signer **out, struct err *e)
{
	struct dkim_signer *s = xcalloc(1, sizeof(*s));

	*out = s;
	s->keys = xcalloc(cfg->ndkim ? cfg->ndkim : 1, sizeof(*s->keys));
	for (size_t i = 0; i < cfg->ndkim; i++) {
		const struct dkim_conf *c = &cfg->dkim[i];
		struct dkim_key *k = &s->keys[s->nkeys];
		FILE *f = fopen(c->key, "r");
		if (!f) {
			dkim_signer_free(s);
			*out = NULL;
			return err_set(e, "dkim key %s: cannot open: %m", c->key);
		}
		k->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		int type = k->pkey ? EVP_PKEY_get_base_id(k->pkey) : 0;
		if (type != EVP_PKEY_RSA && type != EVP_PKEY_ED25519) {
			EVP_PKEY_free(k->pkey);
			dkim_signer_free(s);
			*out = NULL;
			return err_set(e, "dkim key %s: not a PEM RSA or Ed25519 private key",
			               c->key);
		}
		if (type == EVP_PKEY_RSA &&
		    (EVP_PKEY_get_bits(k->pkey) < 1024 || EVP_PKEY_get_bits(k->pkey) > 4096)) {
			int bits = EVP_PKEY_get_bits(k->pkey);
			EVP_PKEY_free(k->pkey);
			dkim_signer_free(s);
			*out = NULL;
			return err_set(e,
			               "dkim key %s: RSA keys must have 1024 to 4096 bits, not %d",
			               c->key, bits);
		}
		k->ed25519 = type == EVP_PKEY_ED25519;
		k->domain = xstrdup(c->domain);
		k->selector = xstrdup(c->selector);
		k->relaxed_header = c->relaxed_header;
		k->relaxed_body = c->relaxed_body;
		s->nkeys++;
	}
	return 0;
}

void dkim_signer_free(struct dkim_signer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nkeys; i++) {
		EVP_PKEY_free(s->keys[i].pkey);
		free(s->keys[i].domain);
		free(s->keys[i].selector);
	}
	free(s->keys);
	free(s);
}

int dkim_key_public(const char *path, char *out, size_t n, int *ed25519, struct err *e)
{
	FILE *f = fopen(path, "r");
	unsigned char raw[8192], *p = raw;
	size_t len = sizeof(raw);

	if (!f)
		return err_set(e, "dkim key %s: cannot open: %m", path);
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k)
		return err_set(e, "dkim key %s: not a PEM private key", path);
	*ed25519 = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519;
	int need = *ed25519 ? 0 : i2d_PUBKEY(k, NULL); /* measured before it is written */
	int ok = *ed25519 ? EVP_PKEY_get_raw_public_key(k, raw, &len) == 1
	                  : need > 0 && (size_t)need <= sizeof(raw) &&
	                        (len = (size_t)i2d_PUBKEY(k, &p)) == (size_t)need;
	EVP_PKEY_free(k);
	if (!ok || 4 * ((len + 2) / 3) + 1 > n)
		return err_set(e, "dkim key %s: cannot write its public key", path);
	EVP_EncodeBlock((unsigned char *)out, raw, (int)len);
	return 0;
}

/* ---- canonicalization (RFC 6376 3.4) ---- */

static int wsp(char c)
{
	return c == ' ' || c == '\t';
}

void dkim_canon_body(const char *body, size_t len, int relaxed, struct strbuf *out)
{
	const char *p = body, *end = body + len;
	size_t keep = 0; /* out's length after the last non-empty line */

	strbuf_reset(out);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *ce = le > p && le[-1] == '\r' ? le - 1 : le; /* content end */
		size_t start = out->len;
		if (relaxed) {
			for (const char *q = p; q < ce;) {
				if (!wsp(*q)) {
					strbuf_add(out, q++, 1);
					continue;
				}
				while (q < ce && wsp(*q))
					q++;
				if (q < ce) /* a run inside the line: one space; at its end: none */
					strbuf_add(out, " ", 1);
			}
		} else {
			strbuf_add(out, p, (size_t)(ce - p));
		}
		int empty = out->len == start;
		strbuf_add(out, "\r\n", 2); /* a last line without CRLF gets one */
		if (!empty)
			keep = out->len;
		p = nl ? nl + 1 : end;
	}
	out->len = keep; /* trailing empty lines go */
	if (out->data)
		out->data[out->len] = '\0';
	if (!relaxed && out->len == 0)
		strbuf_add(out, "\r\n", 2); /* simple: an empty body is one CRLF */
}

void dkim_canon_header(const char *field, size_t len, int relaxed, struct strbuf *out)
{
	strbuf_reset(out);
	if (!relaxed) {
		strbuf_add(out, field, len);
		return;
	}
	const char *colon = memchr(field, ':', len), *end = field + len;
	if (!colon)
		return;
	const char *ne = colon;
	while (ne > field && wsp(ne[-1]))
		ne--;
	for (const char *q = field; q < ne; q++) {
		char c = (char)tolower((unsigned char)*q);
		strbuf_add(out, &c, 1);
	}
	strbuf_add(out, ":", 1);
	/* unfolded; whitespace runs become one space, none at either end */
	int pending = 0, started = 0;
	for (const char *v = colon + 1; v < end; v++) {
		if (*v == '\r' || *v == '\n' || wsp(*v)) {
			pending = started;
			continue;
		}
		if (pending)
			strbuf_add(out, " ", 1);
		pending = 0;
		started = 1;
		strbuf_add(out, v, 1);
	}
}

/* ---- signing ---- */

struct field {
	const char *p;
	size_t len; /* without the final CRLF */
};

/* The header fields of msg, in order; *body gets where the body starts. */
static size_t header_fields(const char *msg, size_t len, struct field *f, size_t max, size_t *body)
{
	const char *p = msg, *end = msg + len;
	size_t n = 0;

	*body = len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		if (nl == p || (nl == p + 1 && *p == '\r')) {
			*body = (size_t)(nl + 1 - msg);
			break;
		}
		if (wsp(*p) && n > 0) { /* a continuation line */
			f[n - 1].len = (size_t)(nl - f[n - 1].p);
		} else if (n < max) {
			f[n].p = p;
			f[n].len = (size_t)(nl - p);
			n++;
		}
		p = nl + 1;
	}
	for (size_t i = 0; i < n; i++) /* drop the CR of each last line */
		if (f[i].len && f[i].p[f[i].len - 1] == '\r')
			f[i].len--;
	return n;
}

static int field_is(const struct field *f, const char *name)
{
	size_t n = strlen(name);
	return f->len > n && strncasecmp(f->p, name, n) == 0 && (f->p[n] == ':' || wsp(f->p[n]));
}

/* The domain of the From address (lowercase), or "" */
static void from_domain(const struct field *f, size_t n, char *out, size_t on)
{
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!field_is(&f[i], "from"))
			continue;
		const char *end = f[i].p + f[i].len, *lt = memchr(f[i].p, '<', f[i].len);
		const char *start = lt ? lt + 1 : f[i].p + 5;
		const char *at = memchr(start, '@', (size_t)(end - start));
		if (!at)
			return;
		size_t k = 0;
		for (const char *q = at + 1;
		     q < end && *q != '>' && !isspace((unsigned char)*q) && k + 1 < on; q++)
			out[k++] = (char)tolower((unsigned char)*q);
		out[k] = '\0';
		return;
	}
}

static void b64(const unsigned char *in, size_t n, struct strbuf *out)
{
	char *buf = xmalloc(4 * ((n + 2) / 3) + 1);
	int k = EVP_EncodeBlock((unsigned char *)buf, in, (int)n);
	strbuf_add(out, buf, (size_t)k);
	free(buf);
}

/* Appends s folded into lines of at most B64_LINE characters. */
static void add_folded(struct strbuf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i += B64_LINE) {
		if (i)
			strbuf_adds(out, "\r\n\t ");
		strbuf_add(out, s + i, n - i < B64_LINE ? n - i : B64_LINE);
	}
}

static int sign_one(const struct dkim_key *k, const struct field *f, size_t nf, const char *body,
                    size_t blen, int64_t now_s, struct strbuf *hdr, struct err *e)
{
	struct strbuf canon = STRBUF_INIT, data = STRBUF_INIT, h = STRBUF_INIT, tmp = STRBUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int rc = -1;

	/* body hash */
	dkim_canon_body(body, blen, k->relaxed_body, &canon);
	EVP_Digest(canon.data ? canon.data : "", canon.len, md, &mdlen, EVP_sha256(), NULL);
	struct strbuf bh = STRBUF_INIT;
	b64(md, mdlen, &bh);
	/* the headers, each name as often as it occurs (last first), From once more */
	for (size_t i = 0; i < NHEADERS; i++) {
		for (size_t j = nf; j-- > 0;) {
			if (!field_is(&f[j], DKIM_HEADERS[i]))
				continue;
			dkim_canon_header(f[j].p, f[j].len, k->relaxed_header, &tmp);
			strbuf_add(&data, tmp.data, tmp.len);
			strbuf_add(&data, "\r\n", 2);
			strbuf_addf(&h, "%s%s", h.len ? ":" : "", DKIM_HEADERS[i]);
		}
		if (i == 0) /* over-sign From: an added From would break the signature */
			strbuf_addf(&h, "%s%s", h.len ? ":" : "", "from");
	}
	strbuf_reset(hdr);
	strbuf_addf(
	    hdr, "DKIM-Signature: v=1; a=%s; c=%s/%s; d=%s; s=%s;\r\n\tt=%lld; h=",
	    k->ed25519 ? "ed25519-sha256" : "rsa-sha256", k->relaxed_header ? "relaxed" : "simple",
	    k->relaxed_body ? "relaxed" : "simple", k->domain, k->selector, (long long)now_s);
	strbuf_add(hdr, h.data, h.len);
	strbuf_adds(hdr, ";\r\n\tbh=");
	add_folded(hdr, bh.data, bh.len);
	strbuf_adds(hdr, ";\r\n\tb=");
	dkim_canon_header(hdr->data, hdr->len, k->relaxed_header, &tmp);
	strbuf_add(&data, tmp.data, tmp.len); /* no CRLF after the signature's own field */
	/* sign: RSA over the data with SHA-256; Ed25519 (RFC 8463) over its SHA-256 */
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	int ok;
	if (k->ed25519) {
		EVP_Digest(data.data, data.len, md, &mdlen, EVP_sha256(), NULL);
		ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
		     EVP_DigestSign(ctx, sig, &siglen, md, mdlen) == 1;
	} else {
		ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
		     EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data.data,
		                    data.len) == 1;
	}
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		err_set(e, "dkim: signing with %s._domainkey.%s failed", k->selector, k->domain);
	} else {
		strbuf_reset(&tmp);
		b64(sig, siglen, &tmp);
		add_folded(hdr, tmp.data, tmp.len);
		strbuf_adds(hdr, "\r\n");
		rc = 0;
	}
	strbuf_free(&bh);
	strbuf_free(&canon);
	strbuf_free(&data);
	strbuf_free(&h);
	strbuf_free(&tmp);
	return rc;
}

int dkim_sign(const struct dkim_signer *s, struct strbuf *msg, int64_t now_s, struct err *e)
{
	struct field f[FIELDS_MAX];
	size_t body;
	char domain[256];

	if (!s || s->nkeys == 0)
		return 0;
	size_t nf = header_fields(msg->data, msg->len, f, FIELDS_MAX, &body);
	from_domain(f, nf, domain, sizeof(domain));
	struct strbuf sigs = STRBUF_INIT, one = STRBUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < s->nkeys && rc == 0; i++) {
		if (strcasecmp(s->keys[i].domain, domain) != 0)
			continue;
		rc =
		    sign_one(&s->keys[i], f, nf, msg->data + body, msg->len - body, now_s, &one, e);
		strbuf_add(&sigs, one.data, one.len);
	}
	if (rc == 0 && sigs.len) { /* the signatures go first */
		strbuf_add(&sigs, msg->data, msg->len);
		strbuf_free(msg);
		*msg = sigs;
		sigs = (struct strbuf)STRBUF_INIT;
	}
	strbuf_free(&sigs);
	strbuf_free(&one);
	return rc;
}
