/*
 * tls: a server's OpenSSL context from a certificate chain file and a
 * private key file (PEM), for listeners that speak TLS (the SMTP server's
 * STARTTLS and implicit TLS). TLS 1.2 at least, no renegotiation, the
 * library's default ciphers. The caller owns the context (SSL_CTX_free).
 */
#ifndef SLUICE_UTIL_TLS_H
#define SLUICE_UTIL_TLS_H

#include "util/err.h"

struct ssl_ctx_st;

/* 0 with *out set, or -1 with e naming the file that could not be used
 * and OpenSSL's reason (a missing file, not PEM, a key that does not match
 * the certificate). Nothing is left allocated on failure. */
int tls_server_ctx_new(const char *cert_file, const char *key_file, struct ssl_ctx_st **out,
                       struct err *e);

#endif
