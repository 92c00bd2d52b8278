/* libFuzzer target: SMTP reply lines (what a hostile server can send). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mail/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reply r;
	struct err e;
	const char *p = (const char *)data, *end = p + size;

	reply_reset(&r);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > REPLY_LINE_MAX)
			n = REPLY_LINE_MAX;
		enum reply_status st = reply_feed_line(&r, p, n, &e);
		if (st != REPLY_MORE)
			reply_reset(&r);
		p += n + 1;
	}
	return 0;
}
