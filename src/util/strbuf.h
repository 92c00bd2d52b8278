/*
 * strbuf: a growable byte string (sized, always NUL-terminated).
 * Used to build messages and log records without fixed-size buffers.
 */
#ifndef SLUICE_UTIL_STRBUF_H
#define SLUICE_UTIL_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *data; /* owned; NUL-terminated when cap > 0 */
	size_t len;
	size_t cap;
};

#define STRBUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void strbuf_reserve(struct strbuf *b, size_t extra); /* room for extra more bytes */
/* The capacity b would have after strbuf_reserve(b, extra): what memory
 * accounting should charge (it grows by doubling). */
size_t strbuf_cap_for(const struct strbuf *b, size_t extra);
void strbuf_add(struct strbuf *b, const void *p, size_t n);
void strbuf_adds(struct strbuf *b, const char *s);
void strbuf_addc(struct strbuf *b, char c);
void strbuf_addf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_reset(struct strbuf *b); /* len = 0, keeps the memory */
void strbuf_free(struct strbuf *b);
char *strbuf_detach(struct strbuf *b); /* caller owns the string; b is emptied */

#endif
