/* verp: see verp.h. */
#include "msg/verp.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAC_BYTES 8 /* 64 bits: forging one takes ~2^63 tries against the listener */

static void mac_hex(const char *secret, const char *purpose, const char *salt, int64_t id,
                    char out[2 * MAC_BYTES + 1])
{
	char msg[128];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int n = snprintf(msg, sizeof(msg), "%s:%s.%lld", purpose, salt, (long long)id);

	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, (size_t)n, md,
	     &mdlen);
	for (int i = 0; i < MAC_BYTES; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void verp_token(const char *secret, const char *purpose, const char *salt, int64_t id, char *out,
                size_t n)
{
	char mac[2 * MAC_BYTES + 1];

	mac_hex(secret, purpose, salt, id, mac);
	snprintf(out, n, "%s.%lld.%s", salt, (long long)id, mac);
}

enum verp_check verp_token_check(const char *secret, const char *purpose, const char *tok,
                                 size_t len, char salt[VERP_SALT_MAX], int64_t *id)
{
	char buf[VERP_TOKEN_MAX + 1];

	if (len == 0 || len > VERP_TOKEN_MAX)
		return VERP_MALFORMED;
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)tolower((unsigned char)tok[i]);
	buf[len] = '\0';
	char *dot1 = strchr(buf, '.');
	char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (!dot1 || !dot2 || dot1 == buf || (size_t)(dot1 - buf) >= VERP_SALT_MAX ||
	    strlen(dot2 + 1) != 2 * MAC_BYTES)
		return VERP_MALFORMED;
	for (char *p = buf; p < dot1; p++)
		if (!isxdigit((unsigned char)*p))
			return VERP_MALFORMED;
	char *end, canon[24];
	long long v = strtoll(dot1 + 1, &end, 10);
	if (end != dot2 || end == dot1 + 1 || v <= 0)
		return VERP_MALFORMED;
	/* one spelling per token: "007" or "+7" would pass the MAC for 7 */
	int cl = snprintf(canon, sizeof(canon), "%lld", v);
	if (cl != dot2 - dot1 - 1 || memcmp(canon, dot1 + 1, (size_t)cl) != 0)
		return VERP_MALFORMED;
	*dot1 = '\0';
	char mac[2 * MAC_BYTES + 1];
	mac_hex(secret, purpose, buf, v, mac);
	if (CRYPTO_memcmp(mac, dot2 + 1, 2 * MAC_BYTES) != 0)
		return VERP_FORGED;
	snprintf(salt, VERP_SALT_MAX, "%s", buf);
	*id = v;
	return VERP_OK;
}

void verp_address(const char *secret, const char *prefix, const char *domain, const char *salt,
                  int64_t id, char *out, size_t n)
{
	char tok[VERP_TOKEN_MAX + 1];

	verp_token(secret, "bounce", salt, id, tok, sizeof(tok));
	snprintf(out, n, "%s+%s@%s", prefix, tok, domain);
}

void verp_message_id(const char *secret, const char *salt, int64_t id, const char *domain,
                     char *out, size_t n)
{
	char tok[VERP_TOKEN_MAX + 1];

	if (!secret) {
		snprintf(out, n, "<%lld.%s@%s>", (long long)id, salt, domain);
		return;
	}
	verp_token(secret, "msgid", salt, id, tok, sizeof(tok));
	snprintf(out, n, "<%s@%s>", tok, domain);
}

int verp_split(const char *prefix, const char *local, size_t len, const char **tok, size_t *toklen)
{
	size_t pl = strlen(prefix);

	if (len <= pl + 1 || strncasecmp(local, prefix, pl) != 0 || local[pl] != '+')
		return 0;
	*tok = local + pl + 1;
	*toklen = len - pl - 1;
	return 1;
}

void verp_unsubscribe_headers(const char *secret, const char *url, const char *mailto_domain,
                              const char *salt, int64_t id, char *out, size_t n, char *link,
                              size_t link_n)
{
	char tok[VERP_TOKEN_MAX + 1];
	size_t ul = url ? strlen(url) : 0;

	out[0] = '\0';
	if (link)
		link[0] = '\0';
	if (!url && !mailto_domain)
		return;
	verp_token(secret, "unsub", salt, id, tok, sizeof(tok));
	if (link && url)
		snprintf(link, link_n, "%s%s%s", url, ul && url[ul - 1] == '/' ? "" : "/", tok);
	if (url && mailto_domain)
		snprintf(out, n,
		         "List-Unsubscribe: <%s%s%s>,\r\n <mailto:unsubscribe+%s@%s>\r\n"
		         "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
		         url, ul && url[ul - 1] == '/' ? "" : "/", tok, tok, mailto_domain);
	else if (url)
		snprintf(out, n,
		         "List-Unsubscribe: <%s%s%s>\r\n"
		         "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
		         url, ul && url[ul - 1] == '/' ? "" : "/", tok);
	else
		snprintf(out, n, "List-Unsubscribe: <mailto:unsubscribe+%s@%s>\r\n", tok,
		         mailto_domain);
}
