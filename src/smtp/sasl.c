/* sasl: see sasl.h. */
#include "smtp/sasl.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

static int b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

int sasl_b64_decode(const char *in, unsigned char *out, size_t n, size_t *len)
{
	size_t l = strlen(in);
	unsigned char tmp[SASL_B64_MAX / 4 * 3 + 3];

	*len = 0;
	if (l == 0 || (l == 1 && in[0] == '='))
		return 0;
	if (l % 4 != 0 || l > SASL_B64_MAX)
		return -1;
	size_t pad = in[l - 1] == '=' ? (in[l - 2] == '=' ? 2 : 1) : 0;
	for (size_t i = 0; i < l - pad; i++)
		if (!b64_char((unsigned char)in[i]))
			return -1;
	/* EVP_DecodeBlock keeps padding as zero octets: cut them off */
	int got = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)l);
	if (got < 0 || (size_t)got < pad || (size_t)got - pad > n) {
		OPENSSL_cleanse(tmp, sizeof(tmp));
		return -1;
	}
	*len = (size_t)got - pad;
	memcpy(out, tmp, *len);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return 0;
}

static int has_ctl(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 1;
	return 0;
}

int sasl_plain_decode(const char *b64, char *user, char *pass)
{
	unsigned char buf[SASL_B64_MAX / 4 * 3];
	size_t n;
	int rc = -1;

	user[0] = pass[0] = '\0';
	if (sasl_b64_decode(b64, buf, sizeof(buf), &n) != 0)
		return -1;
	unsigned char *z = memchr(buf, '\0', n);
	unsigned char *c = z ? memchr(z + 1, '\0', n - (size_t)(z + 1 - buf)) : NULL;
	if (!c)
		goto out;
	size_t zl = (size_t)(z - buf), ul = (size_t)(c - z - 1), pl = n - (size_t)(c + 1 - buf);
	if (ul == 0 || ul > SASL_USER_MAX || pl > SASL_PASS_MAX || has_ctl(z + 1, ul) ||
	    memchr(c + 1, '\0', pl))
		goto out;
	if (zl && (zl != ul || memcmp(buf, z + 1, ul) != 0)) {
		rc = -2;
		goto out;
	}
	memcpy(user, z + 1, ul);
	user[ul] = '\0';
	memcpy(pass, c + 1, pl);
	pass[pl] = '\0';
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

int sasl_login_decode(const char *b64, char *out, size_t max, int user)
{
	unsigned char buf[SASL_B64_MAX / 4 * 3];
	size_t n;
	int rc = -1;

	out[0] = '\0';
	if (sasl_b64_decode(b64, buf, sizeof(buf), &n) != 0)
		return -1;
	if (n > max || memchr(buf, '\0', n) || (user && (n == 0 || has_ctl(buf, n))))
		goto out;
	memcpy(out, buf, n);
	out[n] = '\0';
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}
