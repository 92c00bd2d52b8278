/*
 * dkim: DKIM signatures (RFC 6376) on rendered messages, rsa-sha256 and
 * ed25519-sha256 (RFC 8463), relaxed or simple canonicalization. Keys come
 * from the config's `dkim` list (domain, selector, key file); a message is
 * signed by every key of its From domain (an RSA and an Ed25519 signature
 * side by side is the usual pair). The signed headers are the ones a
 * receiver relies on (DKIM_HEADERS) that the message has, with From signed
 * once more than it occurs, so that no From can be added.
 */
#ifndef SLUICE_MSG_DKIM_H
#define SLUICE_MSG_DKIM_H

#include <stddef.h>
#include <stdint.h>

#include "mail/config.h"
#include "util/err.h"
#include "util/strbuf.h"

struct dkim_signer;

/* Loads every key of cfg->dkim; -1 with e naming the key file. NULL (0
 * keys) is a valid signer that signs nothing. */
int dkim_signer_new(const struct config *cfg, struct dkim_signer **out, struct err *e);
void dkim_signer_free(struct dkim_signer *s);
/* The number of keys (0 for NULL). */
size_t dkim_signer_keys(const struct dkim_signer *s);
/* Prepends a DKIM-Signature per key of msg's From domain (msg: CRLF lines,
 * not dot-stuffed). 0 (also when there is no key for that domain), or -1
 * with e set. */
int dkim_sign(const struct dkim_signer *s, struct strbuf *msg, int64_t now_s, struct err *e);

/* The public key of a private key file as DNS publishes it (p=): base64 of
 * the SubjectPublicKeyInfo for RSA, of the raw 32 bytes for Ed25519 (RFC
 * 8463); *ed25519 says which. 0, or -1 with e naming the file. */
int dkim_key_public(const char *path, char *out, size_t n, int *ed25519, struct err *e);

/* Canonicalization, exposed for the tests (RFC 6376 3.4): body[len] into
 * out, relaxed or simple. */
void dkim_canon_body(const char *body, size_t len, int relaxed, struct strbuf *out);
/* One header field (name: value, folded, without its final CRLF). */
void dkim_canon_header(const char *field, size_t len, int relaxed, struct strbuf *out);

#endif
