/* libFuzzer target: the HTTP API's message requests (api/request.h), the
 * JSON body a tenant POSTs to /v1/messages, read and, when it is accepted,
 * made into the message to queue. Beyond memory errors it checks what the
 * header promises: a refusal names a status and a stable code and its JSON
 * error body parses; an accepted structured message is CRLF lines only (no
 * bare CR or LF, so no header can be smuggled in through a value) whose
 * header lines before the first empty line are fields or folds. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/request.h"
#include "util/strbuf.h"

#define NOW_S 1790000000 /* 2026-09-21: send_at/expires_at are judged from it */

static void check_crlf_only(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n'))
			abort();
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			abort();
	}
}

static void check_header_lines(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *eol = memchr(p + i, '\n', n - i);
		size_t len = eol ? (size_t)(eol - (p + i)) - 1 : n - i;

		if (len == 0)
			return; /* the body starts */
		if (p[i] != ' ' && p[i] != '\t') {
			const char *colon = memchr(p + i, ':', len);
			if (!colon || colon == p + i)
				abort();
			for (const char *c = p + i; c < colon; c++)
				if (*c <= ' ' || *c > '~')
					abort();
		}
		if (!eol)
			return;
		i = (size_t)(eol - p) + 1;
	}
}

static void check_error(const struct api_error *e)
{
	char *body;
	json_t *j;

	if (e->status < 400 || e->status > 599 || !e->code || !e->code[0])
		abort();
	body = api_error_json(e);
	j = json_loads(body, 0, NULL);
	if (!j)
		abort();
	json_decref(j);
	free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_message m;
	struct api_error e;
	struct strbuf out = STRBUF_INIT;

	memset(&e, 0, sizeof(e));
	if (api_parse_message((const char *)data, size, NOW_S, &m, &e) != 0) {
		check_error(&e);
		return 0;
	}
	if (m.template_id) {
		api_message_free(&m);
		return 0; /* rendered against a stored campaign: not reachable here */
	}
	memset(&e, 0, sizeof(e));
	if (api_build_message(&m, &out, &e) != 0) {
		check_error(&e);
	} else {
		check_crlf_only(out.data, out.len);
		if (!m.raw)
			check_header_lines(out.data, out.len);
	}
	strbuf_free(&out);
	api_message_free(&m);
	return 0;
}
