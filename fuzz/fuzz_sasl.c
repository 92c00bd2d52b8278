/* libFuzzer target: the SASL decoders of SMTP AUTH (smtp/sasl.h), what a
 * client sends after "AUTH PLAIN", "AUTH LOGIN" or a 334. The input is one
 * response line (cut at a NUL or a line end, as the server's line reader
 * hands it over; longer than a command line is allowed, to cross the
 * decoder's own bound). Beyond memory errors, each answer is checked against
 * a plain reference decoder written here from the header's contract:
 * strict RFC 4648 base64 with padding, "" and "=" empty, PLAIN's
 * [authzid] NUL user NUL password, LOGIN's one field. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/sasl.h"

#define LINE_MAX_FUZZ 4096

static int val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* The reference: 0 and out/len, or -1. No output bound (out is big). */
static int ref_decode(const char *in, unsigned char *out, size_t *len)
{
	size_t l = strlen(in), n = 0;

	*len = 0;
	if (l == 0 || (l == 1 && in[0] == '='))
		return 0;
	if (l % 4 != 0 || l > SASL_B64_MAX)
		return -1;
	for (size_t i = 0; i < l; i += 4) {
		int v[4], last = i + 4 == l;
		size_t pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];
			if (c == '=' && last && (k == 3 || (k == 2 && in[i + 3] == '='))) {
				v[k] = 0;
				pad++;
				continue;
			}
			if ((v[k] = val(c)) < 0)
				return -1;
		}
		unsigned w = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
		out[n++] = (unsigned char)(w >> 16);
		if (pad < 2)
			out[n++] = (unsigned char)(w >> 8);
		if (pad < 1)
			out[n++] = (unsigned char)w;
	}
	*len = n;
	return 0;
}

static int has_ctl(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 1;
	return 0;
}

static void check_b64(const char *line, size_t n_out)
{
	unsigned char ref[LINE_MAX_FUZZ];
	size_t rlen, len;
	int rr = ref_decode(line, ref, &rlen);
	unsigned char *out = malloc(n_out ? n_out : 1); /* exactly n_out: ASan sees an overrun */
	int rc = sasl_b64_decode(line, out, n_out, &len);

	if (rr == 0 && rlen <= n_out) {
		if (rc != 0 || len != rlen || memcmp(out, ref, len) != 0)
			abort(); /* good base64 that fits refused, or decoded wrong */
	} else if (rc != 0 ? len != 0 : 1) {
		abort(); /* bad or too long accepted, or a length left behind */
	}
	free(out);
}

static void check_plain(const char *line)
{
	unsigned char ref[LINE_MAX_FUZZ];
	size_t rlen;
	char user[SASL_USER_MAX + 1], pass[SASL_PASS_MAX + 1];
	int rc = sasl_plain_decode(line, user, pass);
	int want = -1;

	if (ref_decode(line, ref, &rlen) == 0) {
		unsigned char *z = memchr(ref, '\0', rlen);
		unsigned char *c = z ? memchr(z + 1, '\0', rlen - (size_t)(z + 1 - ref)) : NULL;
		if (c) {
			size_t zl = (size_t)(z - ref), ul = (size_t)(c - z - 1);
			size_t pl = rlen - (size_t)(c + 1 - ref);
			if (ul == 0 || ul > SASL_USER_MAX || pl > SASL_PASS_MAX ||
			    has_ctl(z + 1, ul) || memchr(c + 1, '\0', pl))
				want = -1;
			else if (zl && (zl != ul || memcmp(ref, z + 1, ul) != 0))
				want = -2;
			else if (strlen(user) != ul || memcmp(user, z + 1, ul) != 0 ||
			         strlen(pass) != pl || memcmp(pass, c + 1, pl) != 0)
				abort(); /* accepted, but not the user and password sent */
			else
				want = 0;
		}
	}
	if (rc != want || (rc != 0 && (user[0] || pass[0])))
		abort();
}

static void check_login(const char *line, size_t max, int is_user)
{
	unsigned char ref[LINE_MAX_FUZZ];
	size_t rlen;
	char *out = malloc(max + 1);
	int rc = sasl_login_decode(line, out, max, is_user);
	int want = ref_decode(line, ref, &rlen) == 0 && rlen <= max && !memchr(ref, '\0', rlen) &&
	                   (!is_user || (rlen && !has_ctl(ref, rlen)))
	               ? 0
	               : -1;

	if (rc != want || (rc == 0 && (strlen(out) != rlen || memcmp(out, ref, rlen) != 0)) ||
	    (rc != 0 && out[0]))
		abort();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[LINE_MAX_FUZZ + 1];
	size_t n = 0, bound;

	if (size < 1)
		return 0;
	/* the first octet picks the output bounds, the rest is the line */
	bound = data[0];
	data++, size--;
	while (n < size && n < LINE_MAX_FUZZ && data[n] != '\0' && data[n] != '\n' &&
	       data[n] != '\r')
		line[n] = (char)data[n], n++;
	line[n] = '\0';

	check_b64(line, bound * 4); /* 0..1020: around SASL_B64_MAX's 750 */
	check_b64(line, SASL_B64_MAX / 4 * 3);
	check_plain(line);
	check_login(line, SASL_USER_MAX, 1);
	check_login(line, SASL_PASS_MAX, 0);
	check_login(line, bound, bound & 1);
	return 0;
}
