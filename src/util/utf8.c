/* utf8: see utf8.h. */
#include "util/utf8.h"

#include <stdio.h>

int utf8_has_8bit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

int utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		unsigned cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			k = 1, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			k = 2, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			k = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* The length of the well-formed sequence at s[0..n), or 0. */
static size_t sequence_len(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];
	size_t k = c < 0x80             ? 1
	           : (c & 0xE0) == 0xC0 ? 2
	           : (c & 0xF0) == 0xE0 ? 3
	           : (c & 0xF8) == 0xF0 ? 4
	                                : 0;

	return k && k <= n && utf8_valid(s, k) ? k : 0;
}

void utf8_escape_invalid(const char *s, size_t n, struct strbuf *out)
{
	size_t i = 0;

	while (i < n) {
		size_t k = sequence_len(s + i, n - i);
		if (k) {
			strbuf_add(out, s + i, k);
			i += k;
		} else {
			strbuf_addf(out, "\\x%02X", (unsigned char)s[i]);
			i++;
		}
	}
}
