/* fields: see fields.h. */
#include "mail/fields.h"

#include <stdint.h>

void fields_add(struct strbuf *blob, const char *value, size_t len)
{
	unsigned char n[4] = {(unsigned char)len, (unsigned char)(len >> 8),
	                      (unsigned char)(len >> 16), (unsigned char)(len >> 24)};
	strbuf_add(blob, n, 4);
	strbuf_add(blob, value, len);
}

const char *fields_get(const char *blob, size_t bloblen, size_t i, size_t *len)
{
	size_t off = 0;

	for (;;) {
		if (bloblen - off < 4 || off > bloblen)
			return NULL;
		const unsigned char *p = (const unsigned char *)blob + off;
		size_t n =
		    (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
		if (n > bloblen - off - 4)
			return NULL;
		if (i == 0) {
			*len = n;
			return blob + off + 4;
		}
		off += 4 + n;
		i--;
	}
}
