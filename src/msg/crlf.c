/* crlf: see crlf.h. */
#include "msg/crlf.h"

#include <stdlib.h>
#include <string.h>

int crlf_only(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n'))
			return 0;
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return 0;
	}
	return 1;
}

void crlf_normalize(struct strbuf *b)
{
	struct strbuf out = STRBUF_INIT;

	if (crlf_only(b->data, b->len))
		return;
	strbuf_reserve(&out, b->len + b->len / 8 + 2);
	for (size_t i = 0; i < b->len; i++) {
		char c = b->data[i];
		if (c == '\r' && i + 1 < b->len && b->data[i + 1] == '\n') {
			strbuf_add(&out, "\r\n", 2);
			i++;
		} else if (c == '\r' || c == '\n') {
			strbuf_add(&out, "\r\n", 2);
		} else {
			strbuf_addc(&out, c);
		}
	}
	free(b->data);
	*b = out;
}
