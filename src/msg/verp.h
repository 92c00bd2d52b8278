/*
 * verp: signed tokens that name one recipient of one campaign, for VERP
 * return paths (prefix+TOKEN@bounce-domain) and unsubscribe links.
 * A token is "SALT.ID.MAC": the campaign's salt (hex, random per campaign),
 * the recipient's row id, and the first 64 bits of HMAC-SHA256(secret,
 * purpose ":" SALT "." ID) in hex. Lower case only, so a receiver that
 * folds the local part's case cannot break it; the same for every retry
 * (greylisting keys on the envelope sender). A purpose ("bounce", "unsub")
 * keeps a token for one use from working for the other.
 */
#ifndef SLUICE_MSG_VERP_H
#define SLUICE_MSG_VERP_H

#include <stddef.h>
#include <stdint.h>

#define VERP_TOKEN_MAX 64
#define VERP_SALT_MAX  24

enum verp_check { VERP_OK = 0, VERP_MALFORMED = -1, VERP_FORGED = -2 };

/* Writes the token (NUL-terminated, at most VERP_TOKEN_MAX bytes). */
void verp_token(const char *secret, const char *purpose, const char *salt, int64_t id, char *out,
                size_t n);
/* Checks a token (of len bytes; case-insensitive) and returns its salt and id. */
enum verp_check verp_token_check(const char *secret, const char *purpose, const char *tok,
                                 size_t len, char salt[VERP_SALT_MAX], int64_t *id);
/* "prefix+TOKEN@domain" for the bounce purpose. */
void verp_address(const char *secret, const char *prefix, const char *domain, const char *salt,
                  int64_t id, char *out, size_t n);
/* If local (len bytes) is "prefix+TOKEN" (prefix case-insensitive), sets
 * *tok and *toklen to the token and returns 1; else 0. */
int verp_split(const char *prefix, const char *local, size_t len, const char **tok, size_t *toklen);

/* The Message-ID of one recipient's copy: "<TOKEN@domain>" with a token
 * of the "msgid" purpose when a secret is set (a report that quotes it can
 * be trusted to be about that recipient), else "<ID.SALT@domain>", which
 * anyone holding one copy can vary and so proves nothing. */
void verp_message_id(const char *secret, const char *salt, int64_t id, const char *domain,
                     char *out, size_t n);

/* The List-Unsubscribe header lines (RFC 2369, RFC 8058) for one recipient
 * as configured: an http(s) one-click URL (url + "/" + token) with
 * List-Unsubscribe-Post, and/or a mailto to unsubscribe+TOKEN@domain.
 * Writes "" when neither is configured. link (if not NULL) gets the https
 * URL alone, for {{unsubscribe_url}} in the body ("" without a url). */
void verp_unsubscribe_headers(const char *secret, const char *url, const char *mailto_domain,
                              const char *salt, int64_t id, char *out, size_t n, char *link,
                              size_t link_n);

#endif
