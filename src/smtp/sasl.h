/*
 * sasl: the pure parts of SMTP AUTH (RFC 4954) for the server: strict
 * base64 decoding of a client's response and the PLAIN message (RFC 4616)
 * split into its user and password. No sockets and no state, so that they
 * are tested alone (tests/unit/smtp/test_sasl.c).
 *
 * Limits: a response is at most SASL_B64_MAX characters of base64; user
 * names and passwords at most SASL_USER_MAX / SASL_PASS_MAX octets, with no
 * NUL (PLAIN's separator) and, for user names, no control characters.
 * Decoded secrets are written only into the caller's buffers, and
 * intermediate copies are wiped (OPENSSL_cleanse) before returning.
 */
#ifndef SLUICE_SMTP_SASL_H
#define SLUICE_SMTP_SASL_H

#include <stddef.h>

#define SASL_B64_MAX  1000 /* a response line's base64 (bounded by the line length) */
#define SASL_USER_MAX 255
#define SASL_PASS_MAX 255

/* Decodes strict base64 (RFC 4648 alphabet, padding required, no white
 * space) into out (n octets at most); *len gets the decoded length. "" and
 * "=" (RFC 4954: an empty response) decode to nothing. 0, or -1 when in is
 * not base64 or does not fit; out is then undefined (and wiped). */
int sasl_b64_decode(const char *in, unsigned char *out, size_t n, size_t *len);

/* Decodes an AUTH PLAIN response ("[authzid] NUL authcid NUL passwd" in
 * base64) into user and pass (NUL-terminated; room for SASL_USER_MAX + 1
 * and SASL_PASS_MAX + 1). 0; -1 not base64 or not that shape (a missing
 * separator, an empty user, a field too long, a control character in the
 * user); -2 an authorization identity other than the user (acting for
 * someone else is not supported). On failure user and pass are empty. */
int sasl_plain_decode(const char *b64, char *user, char *pass);

/* Decodes one field of AUTH LOGIN (the user name or the password) into out
 * (NUL-terminated, room for max + 1). 0, or -1 (not base64, empty when
 * user is set, too long, a NUL, or a control character in a user name). */
int sasl_login_decode(const char *b64, char *out, size_t max, int user);

#endif
