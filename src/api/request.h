/*
 * request: the API's JSON requests read and checked (pure: no store, no
 * loop; tests/unit/api). Every failure is an api_error with an HTTP
 * status, a stable code and the field at fault, so the handler only has to
 * write it out. Bounds: API_RCPTS_MAX recipients, API_HEADERS_MAX extra
 * headers, field values within the body (itself bounded by api.max_body).
 *
 * api_build_message makes the RFC 5322 message of a structured request:
 * From, To, Subject (RFC 2047 encoded words when 8-bit), the caller's extra
 * headers (names checked, no CR or LF in values, the ones sluice writes
 * itself refused), MIME-Version, and a text/plain or text/html part, or
 * multipart/alternative of both, in UTF-8 quoted-printable. Message-ID and
 * Date are submit's to add.
 */
#ifndef SLUICE_API_REQUEST_H
#define SLUICE_API_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

#define API_RCPTS_MAX   1000 /* to[] entries, before the tenant's own limit */
#define API_HEADERS_MAX 50
#define API_FIELD_MAX   128

/* A refusal of the request: what the JSON error says. */
struct api_error {
	int status;                /* 400, 401, 404, 409, 413, 415, 422, 429, 503 */
	const char *code;          /* stable: "invalid_json", "unknown_field", ... (static) */
	char field[API_FIELD_MAX]; /* "" when no one field is at fault */
	char message[300];
	long line; /* the line of an uploaded list at fault (0: none) */
};

/* Sets e and returns -1. */
int api_fail(struct api_error *e, int status, const char *code, const char *field, const char *fmt,
             ...) __attribute__((format(printf, 5, 6)));

/* POST /v1/messages, read. Strings point into the parsed JSON (json). */
struct api_message {
	void *json; /* json_t *, owned: api_message_free */
	const char *from;
	const char *to[API_RCPTS_MAX];
	size_t nto;
	const char *raw; /* or the parts: */
	size_t raw_len;
	const char *subject, *text, *html;
	const char *hname[API_HEADERS_MAX], *hvalue[API_HEADERS_MAX];
	size_t nheaders;
	int64_t send_at_s, expires_at_s; /* 0: none */
	const char *pool;
	/* or a stored template (api_tplmsg.c): the id of one of the tenant's
	 * campaigns and the merge fields (json_t * object, borrowed from json;
	 * NULL: none); from is then optional */
	const char *template_id;
	void *fields;
};

/* Parses body (len bytes) into m: 0, or -1 with e (m then holds nothing). */
int api_parse_message(const char *body, size_t len, int64_t now_s, struct api_message *m,
                      struct api_error *e);
void api_message_free(struct api_message *m);
/* The message to queue, CRLF lines, into out: raw as given (bare LF made
 * CRLF), or built from the parts. 0, or -1 with e (a bad extra header). */
int api_build_message(const struct api_message *m, struct strbuf *out, struct api_error *e);

/* A JSON body that must be an object with only the keys in allowed (NULL
 * ended): the object (json_t *, caller's to json_decref), or NULL with e. */
void *api_parse_object(const char *body, size_t len, const char *const *allowed,
                       struct api_error *e);

/* The JSON error body {"error":{"code","field","message","line"}} (field
 * and line only when set; malloc'd). */
char *api_error_json(const struct api_error *e);

#endif
