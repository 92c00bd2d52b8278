/* tls: see tls.h. */
#include "util/tls.h"

#include <stdio.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

/* OpenSSL's last reason, or what; its error queue is emptied. */
static const char *ssl_reason(char *buf, size_t n, const char *what)
{
	unsigned long code = ERR_peek_last_error();

	if (code)
		ERR_error_string_n(code, buf, n);
	else
		snprintf(buf, n, "%s", what);
	ERR_clear_error();
	return buf;
}

int tls_server_ctx_new(const char *cert_file, const char *key_file, struct ssl_ctx_st **out,
                       struct err *e)
{
	char why[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	ERR_clear_error();
	if (!ctx)
		return err_set(e, "cannot make a TLS context: %s",
		               ssl_reason(why, sizeof(why), "unknown error"));
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		SSL_CTX_free(ctx);
		return err_set(e, "TLS certificate %s: %s", cert_file,
		               ssl_reason(why, sizeof(why), "cannot read it"));
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		SSL_CTX_free(ctx);
		return err_set(e, "TLS key %s: %s", key_file,
		               ssl_reason(why, sizeof(why), "cannot read it"));
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		SSL_CTX_free(ctx);
		return err_set(e, "TLS key %s does not match the certificate %s: %s", key_file,
		               cert_file, ssl_reason(why, sizeof(why), "mismatch"));
	}
	*out = ctx;
	return 0;
}
