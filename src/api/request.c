/* request: see request.h. */
#include "api/request.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/address.h"
#include "msg/crlf.h"
#include "msg/header_encode.h"
#include "util/utf8.h"
#include "util/when.h"
#include "util/xmalloc.h"

#define QP_LINE_MAX      76
#define HEADER_NAME_MAX  76
#define HEADER_VALUE_MAX 998

int api_fail(struct api_error *e, int status, const char *code, const char *field, const char *fmt,
             ...)
{
	va_list ap;

	e->status = status;
	e->code = code;
	e->line = 0;
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* A JSON string of text that may quote the client's bytes (a parser's
 * message, a field name cut at its bound): invalid UTF-8 is written \xNN,
 * since jansson refuses it and the answer would be lost. */
static json_t *json_text(const char *s)
{
	struct strbuf b = STRBUF_INIT;
	json_t *j;

	utf8_escape_invalid(s, strlen(s), &b);
	j = json_string(b.data ? b.data : "");
	strbuf_free(&b);
	return j;
}

char *api_error_json(const struct api_error *e)
{
	json_t *err = json_object();

	json_object_set_new(err, "code", json_string(e->code));
	json_object_set_new(err, "message", json_text(e->message));
	if (e->field[0])
		json_object_set_new(err, "field", json_text(e->field));
	if (e->line > 0)
		json_object_set_new(err, "line", json_integer(e->line));
	json_t *o = json_pack("{s:o}", "error", err);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

void *api_parse_object(const char *body, size_t len, const char *const *allowed,
                       struct api_error *e)
{
	json_error_t je;
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	const char *k;
	json_t *v;

	if (!o) {
		api_fail(e, 400, "invalid_json", NULL, "line %d column %d: %s", je.line, je.column,
		         je.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		api_fail(e, 400, "invalid_json", NULL, "the body must be a JSON object");
		return NULL;
	}
	json_object_foreach(o, k, v)
	{
		size_t i = 0;
		while (allowed[i] && strcmp(allowed[i], k) != 0)
			i++;
		if (!allowed[i]) { /* k belongs to o: said before o goes */
			api_fail(e, 400, "unknown_field", k, "unknown field '%.100s'", k);
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* The string at key, or NULL if absent; -1 with e if not a string. */
static int get_string(json_t *o, const char *key, const char **out, size_t *len,
                      struct api_error *e)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return api_fail(e, 400, "invalid_type", key, "'%s' must be a string", key);
	*out = json_string_value(v);
	if (len)
		*len = json_string_length(v);
	if (!len && strlen(*out) != json_string_length(v))
		return api_fail(e, 400, "invalid_value", key, "'%s' has a NUL character", key);
	return 0;
}

static int check_address(const char *s, const char *field, struct api_error *e)
{
	struct address a;
	struct err ae;

	if (address_parse(s, strlen(s), &a, &ae) != 0)
		return api_fail(e, 422, "invalid_address", field, "%s", ae.msg);
	address_free(&a);
	return 0;
}

static int get_time(json_t *o, const char *key, int64_t now_s, int64_t *out, struct api_error *e)
{
	const char *s;
	struct err te;

	*out = 0;
	if (get_string(o, key, &s, NULL, e) != 0)
		return -1;
	if (s && when_parse(s, strlen(s), "UTC", now_s, out, &te) != 0)
		return api_fail(e, 400, "invalid_time", key, "'%s': %s", key, te.msg);
	return 0;
}

static int parse_to(json_t *o, struct api_message *m, struct api_error *e)
{
	json_t *to = json_object_get(o, "to"), *v;
	size_t i;
	char field[32];

	if (!to)
		return api_fail(e, 400, "missing_field", "to", "'to' is required");
	if (!json_is_array(to) || json_array_size(to) == 0)
		return api_fail(e, 400, "invalid_type", "to",
		                "'to' must be an array of one or more addresses");
	if (json_array_size(to) > API_RCPTS_MAX)
		return api_fail(e, 422, "too_many_recipients", "to", "at most %d recipients",
		                API_RCPTS_MAX);
	json_array_foreach(to, i, v)
	{
		snprintf(field, sizeof(field), "to[%zu]", i);
		if (!json_is_string(v))
			return api_fail(e, 400, "invalid_type", field, "'%s' must be a string",
			                field);
		if (check_address(json_string_value(v), field, e) != 0)
			return -1;
		m->to[m->nto++] = json_string_value(v);
	}
	return 0;
}

static int parse_headers(json_t *o, struct api_message *m, struct api_error *e)
{
	json_t *h = json_object_get(o, "headers"), *v;
	const char *k;

	if (!h)
		return 0;
	if (!json_is_object(h))
		return api_fail(e, 400, "invalid_type", "headers",
		                "'headers' must be an object of names and strings");
	if (json_object_size(h) > API_HEADERS_MAX)
		return api_fail(e, 422, "too_many_headers", "headers", "at most %d headers",
		                API_HEADERS_MAX);
	json_object_foreach(h, k, v)
	{
		if (!json_is_string(v))
			return api_fail(e, 400, "invalid_type", "headers",
			                "header '%.80s' must be a string", k);
		m->hname[m->nheaders] = k;
		m->hvalue[m->nheaders++] = json_string_value(v);
	}
	return 0;
}

/* template_id given: fields an object of strings, numbers or booleans, and
 * none of the keys of a message given whole or in parts. */
static int parse_template_use(json_t *o, struct api_message *m, struct api_error *e)
{
	static const char *const parts[] = {"raw", "subject", "text", "html", "headers", NULL};
	json_t *f = json_object_get(o, "fields"), *v;
	const char *k;

	for (size_t i = 0; parts[i]; i++)
		if (json_object_get(o, parts[i]))
			return api_fail(e, 400, "conflicting_fields", parts[i],
			                "'template_id' is the whole message: no '%s' with it",
			                parts[i]);
	if (!m->template_id[0])
		return api_fail(e, 400, "invalid_value", "template_id",
		                "'template_id' names one of your campaigns");
	if (f && !json_is_null(f) && !json_is_object(f))
		return api_fail(e, 400, "invalid_type", "fields",
		                "'fields' must be an object of names and values");
	json_object_foreach(f, k, v)
	{
		if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
			return api_fail(e, 400, "invalid_type", "fields",
			                "field '%.80s' must be a string, number or boolean", k);
	}
	m->fields = json_is_object(f) ? f : NULL;
	return 0;
}

static const char *const message_keys[] = {
    "from",    "to",         "raw",  "subject",     "text",   "html", "headers",
    "send_at", "expires_at", "pool", "template_id", "fields", NULL};

int api_parse_message(const char *body, size_t len, int64_t now_s, struct api_message *m,
                      struct api_error *e)
{
	memset(m, 0, sizeof(*m));
	json_t *o = api_parse_object(body, len, message_keys, e);
	if (!o)
		return -1;
	m->json = o;
	if (get_string(o, "from", &m->from, NULL, e) != 0 ||
	    get_string(o, "raw", &m->raw, &m->raw_len, e) != 0 ||
	    get_string(o, "subject", &m->subject, NULL, e) != 0 ||
	    get_string(o, "text", &m->text, NULL, e) != 0 ||
	    get_string(o, "html", &m->html, NULL, e) != 0 ||
	    get_string(o, "pool", &m->pool, NULL, e) != 0 ||
	    get_string(o, "template_id", &m->template_id, NULL, e) != 0)
		goto bad;
	if (m->template_id) {
		if (parse_template_use(o, m, e) != 0)
			goto bad;
	} else if (json_object_get(o, "fields")) {
		api_fail(e, 400, "conflicting_fields", "fields",
		         "'fields' go with 'template_id' (a stored template)");
		goto bad;
	} else if (!m->from) {
		api_fail(e, 400, "missing_field", "from", "'from' is required");
		goto bad;
	}
	if ((m->from && check_address(m->from, "from", e) != 0) || parse_to(o, m, e) != 0 ||
	    parse_headers(o, m, e) != 0)
		goto bad;
	if (m->raw && (m->subject || m->text || m->html || m->nheaders)) {
		api_fail(e, 400, "conflicting_fields", "raw",
		         "'raw' is the whole message: no subject, text, html or headers with it");
		goto bad;
	}
	if (!m->template_id && !m->raw && !m->text && !m->html) {
		api_fail(e, 400, "missing_field", "text",
		         "'raw', or 'text' or 'html', is required");
		goto bad;
	}
	if (get_time(o, "send_at", now_s, &m->send_at_s, e) != 0 ||
	    get_time(o, "expires_at", m->send_at_s ? m->send_at_s : now_s, &m->expires_at_s, e) !=
	        0)
		goto bad;
	if (m->expires_at_s && m->expires_at_s <= (m->send_at_s > now_s ? m->send_at_s : now_s)) {
		api_fail(e, 422, "invalid_time", "expires_at",
		         "'expires_at' must be after the send time");
		goto bad;
	}
	return 0;
bad:
	api_message_free(m);
	return -1;
}

void api_message_free(struct api_message *m)
{
	json_decref(m->json);
	memset(m, 0, sizeof(*m));
}

/* ---- building the message ---- */

static int reserved_header(const char *name)
{
	static const char *const names[] = {"From",
	                                    "To",
	                                    "Subject",
	                                    "Bcc",
	                                    "MIME-Version",
	                                    "Content-Type",
	                                    "Content-Transfer-Encoding",
	                                    NULL};
	for (size_t i = 0; names[i]; i++)
		if (strcasecmp(names[i], name) == 0)
			return 1;
	return 0;
}

static int has_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/* "Name: value" CRLF, the value in encoded words when 8-bit; -1 if the
 * value could end the header (CR, LF) or is too long. */
static int add_header(struct strbuf *out, const char *name, const char *v, const char *field,
                      struct api_error *e)
{
	if (strpbrk(v, "\r\n") || strlen(v) > HEADER_VALUE_MAX)
		return api_fail(e, 422, "invalid_header", field,
		                "%s: a value without CR or LF, at most %d bytes", name,
		                HEADER_VALUE_MAX);
	strbuf_addf(out, "%s: ", name);
	if (has_8bit(v))
		header_encoded_words(out, v, strlen(v));
	else
		strbuf_adds(out, v);
	strbuf_adds(out, "\r\n");
	return 0;
}

static int header_name_ok(const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > HEADER_NAME_MAX)
		return 0;
	for (; *n; n++)
		if (*n < 33 || *n > 126 || *n == ':')
			return 0;
	return 1;
}

/* Quoted-printable (RFC 2045 6.7) of UTF-8 text, its line ends made CRLF. */
static void add_qp(struct strbuf *out, const char *s)
{
	size_t col = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		if (*p == '\n') {
			strbuf_adds(out, "\r\n");
			col = 0;
			continue;
		}
		int ws_at_end =
		    (*p == ' ' || *p == '\t') && (p[1] == '\n' || p[1] == '\r' || !p[1]);
		int plain = (*p >= 33 && *p <= 126 && *p != '=') ||
		            ((*p == ' ' || *p == '\t') && !ws_at_end);
		size_t w = plain ? 1 : 3;
		if (col + w > QP_LINE_MAX - 1) {
			strbuf_adds(out, "=\r\n");
			col = 0;
		}
		if (plain)
			strbuf_addc(out, (char)*p);
		else
			strbuf_addf(out, "=%02X", *p);
		col += w;
	}
	strbuf_adds(out, "\r\n");
}

static void add_part(struct strbuf *out, const char *type, const char *body)
{
	strbuf_addf(out,
	            "Content-Type: text/%s; charset=utf-8\r\n"
	            "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
	            type);
	add_qp(out, body);
}

/* raw as given, each bare LF or bare CR made a CRLF (msg/crlf.h) */
static void add_raw(struct strbuf *out, const char *s, size_t n)
{
	size_t start = out->len;

	strbuf_add(out, s, n);
	if (n == 0 || (s[n - 1] != '\n' && s[n - 1] != '\r'))
		strbuf_adds(out, "\r\n");
	if (!crlf_only(out->data + start, out->len - start)) {
		struct strbuf msg = STRBUF_INIT;
		strbuf_add(&msg, out->data + start, out->len - start);
		crlf_normalize(&msg);
		out->len = start;
		strbuf_add(out, msg.data, msg.len);
		strbuf_free(&msg);
	}
}

int api_build_message(const struct api_message *m, struct strbuf *out, struct api_error *e)
{
	if (m->raw) {
		add_raw(out, m->raw, m->raw_len);
		return 0;
	}
	strbuf_addf(out, "From: %s\r\nTo: ", m->from);
	for (size_t i = 0; i < m->nto; i++)
		strbuf_addf(out, "%s%s", i ? ",\r\n " : "", m->to[i]);
	strbuf_adds(out, "\r\n");
	if (m->subject && add_header(out, "Subject", m->subject, "subject", e) != 0)
		return -1;
	for (size_t i = 0; i < m->nheaders; i++) {
		char field[API_FIELD_MAX];
		snprintf(field, sizeof(field), "headers.%s", m->hname[i]);
		if (!header_name_ok(m->hname[i]) || reserved_header(m->hname[i]))
			return api_fail(e, 422, "invalid_header", field,
			                "'%.80s' is not a header name an application may set",
			                m->hname[i]);
		if (add_header(out, m->hname[i], m->hvalue[i], field, e) != 0)
			return -1;
	}
	strbuf_adds(out, "MIME-Version: 1.0\r\n");
	if (m->text && m->html) {
		unsigned char rnd[12];
		char b[64];
		RAND_bytes(rnd, sizeof(rnd));
		int n = snprintf(b, sizeof(b), "=_sluice_");
		for (size_t i = 0; i < sizeof(rnd); i++)
			n += snprintf(b + n, sizeof(b) - (size_t)n, "%02x", rnd[i]);
		strbuf_addf(out, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", b);
		strbuf_addf(out, "--%s\r\n", b);
		add_part(out, "plain", m->text);
		strbuf_addf(out, "--%s\r\n", b);
		add_part(out, "html", m->html);
		strbuf_addf(out, "--%s--\r\n", b);
	} else {
		add_part(out, m->text ? "plain" : "html", m->text ? m->text : m->html);
	}
	return 0;
}
