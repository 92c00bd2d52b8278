/* jsonw: see jsonw.h. */
#include "util/jsonw.h"

#include <inttypes.h>
#include <string.h>

#include "util/utf8.h"

void jsonw_begin(struct strbuf *b)
{
	strbuf_reset(b);
	strbuf_addc(b, '{');
}

static void escaped(struct strbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	strbuf_addc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		strbuf_add(b, s + run, i - run);
		run = i + 1;
		if (c == '"' || c == '\\') {
			strbuf_addc(b, '\\');
			strbuf_addc(b, (char)c);
		} else {
			char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			strbuf_add(b, u, sizeof(u));
		}
	}
	strbuf_add(b, s + run, n - run);
	strbuf_addc(b, '"');
}

static void key(struct strbuf *b, const char *k)
{
	if (b->len > 1)
		strbuf_addc(b, ',');
	escaped(b, k, strlen(k));
	strbuf_addc(b, ':');
}

void jsonw_str(struct strbuf *b, const char *k, const char *v)
{
	size_t n;

	if (!v)
		return;
	key(b, k);
	n = strlen(v);
	if (utf8_valid(v, n)) {
		escaped(b, v, n);
		return;
	}
	struct strbuf t = STRBUF_INIT;
	utf8_escape_invalid(v, n, &t);
	escaped(b, t.data ? t.data : "", t.len);
	strbuf_free(&t);
}

void jsonw_int(struct strbuf *b, const char *k, int64_t v)
{
	key(b, k);
	strbuf_addf(b, "%" PRId64, v);
}

void jsonw_end(struct strbuf *b)
{
	strbuf_addc(b, '}');
}
