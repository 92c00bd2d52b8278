/* Unit tests for src/api/request.c: JSON requests of POST /v1/messages
 * read and checked (each refusal's status, code and field), and the MIME
 * message built from the parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/request.h"

#define NOW 1767225600 /* 2026-01-01T00:00:00Z */

static void expect(const char *json, int status, const char *code, const char *field)
{
	struct api_message m;
	struct api_error e;

	assert_int_equal(api_parse_message(json, strlen(json), NOW, &m, &e), -1);
	assert_int_equal(e.status, status);
	assert_string_equal(e.code, code);
	assert_string_equal(e.field, field);
}

static void test_refusals(void **state)
{
	(void)state;
	expect("{\"from\": ", 400, "invalid_json", "");
	expect("[1]", 400, "invalid_json", "");
	expect("{\"from\":\"a@x.test\",\"from\":\"b@x.test\"}", 400, "invalid_json", "");
	expect("{\"from\":\"a@x.test\",\"to\":[\"b@y.test\"],\"text\":\"t\",\"colour\":1}", 400,
	       "unknown_field", "colour");
	expect("{\"to\":[\"b@y.test\"],\"text\":\"t\"}", 400, "missing_field", "from");
	expect("{\"from\":\"a@x.test\",\"text\":\"t\"}", 400, "missing_field", "to");
	expect("{\"from\":\"a@x.test\",\"to\":[],\"text\":\"t\"}", 400, "invalid_type", "to");
	expect("{\"from\":\"a@x.test\",\"to\":[\"b@y.test\", 3],\"text\":\"t\"}", 400,
	       "invalid_type", "to[1]");
	expect("{\"from\":\"a@x.test\",\"to\":[\"nope\"],\"text\":\"t\"}", 422, "invalid_address",
	       "to[0]");
	expect("{\"from\":\"a@x.test\",\"to\":[\"b@y.test\"]}", 400, "missing_field", "text");
	expect("{\"from\":\"a@x.test\",\"to\":[\"b@y.test\"],\"raw\":\"x\",\"text\":\"t\"}", 400,
	       "conflicting_fields", "raw");
	expect("{\"from\":\"a@x.test\",\"to\":[\"b@y.test\"],\"text\":\"t\",\"send_at\":\"soon\"}",
	       400, "invalid_time", "send_at");
	expect("{\"from\":\"a@x.test\",\"to\":[\"b@y.test\"],\"text\":\"t\","
	       "\"send_at\":\"2026-02-01T00:00:00Z\",\"expires_at\":\"2026-01-15T00:00:00Z\"}",
	       422, "invalid_time", "expires_at");
	expect("{\"from\":\"a@x.test\",\"to\":[\"b@y.test\"],\"text\":\"t\",\"headers\":[]}", 400,
	       "invalid_type", "headers");
}

static void test_line_and_column(void **state)
{
	struct api_message m;
	struct api_error e;
	const char *j = "{\n  \"from\": ,\n}";
	(void)state;
	assert_int_equal(api_parse_message(j, strlen(j), NOW, &m, &e), -1);
	assert_non_null(strstr(e.message, "line 2 column"));
}

static void test_built_message(void **state)
{
	struct api_message m;
	struct api_error e;
	struct strbuf b = STRBUF_INIT;
	const char *j = "{\"from\":\"a@x.test\",\"to\":[\"b@y.test\",\"c@y.test\"],"
	                "\"subject\":\"Gr\\u00fc\\u00dfe\",\"text\":\"caf\\u00e9 = ok\\n\","
	                "\"html\":\"<p>hi</p>\",\"headers\":{\"X-Order\":\"42\"},"
	                "\"send_at\":\"2026-02-01T08:00:00+01:00\"}";
	(void)state;
	assert_int_equal(api_parse_message(j, strlen(j), NOW, &m, &e), 0);
	assert_int_equal(m.send_at_s, 1769929200);
	assert_int_equal(api_build_message(&m, &b, &e), 0);
	assert_non_null(strstr(b.data, "From: a@x.test\r\nTo: b@y.test,\r\n c@y.test\r\n"));
	assert_non_null(strstr(b.data, "Subject: =?UTF-8?B?"));
	assert_non_null(strstr(b.data, "X-Order: 42\r\n"));
	assert_non_null(strstr(b.data, "multipart/alternative"));
	assert_non_null(strstr(b.data, "caf=C3=A9 =3D ok\r\n"));
	for (size_t i = 0; i < b.len; i++) /* 7-bit, CRLF only */
		assert_true((unsigned char)b.data[i] < 128 &&
		            (b.data[i] != '\n' || (i > 0 && b.data[i - 1] == '\r')));
	api_message_free(&m);
	strbuf_free(&b);
}

static void test_header_injection_refused(void **state)
{
	struct api_message m;
	struct api_error e;
	struct strbuf b = STRBUF_INIT;
	const char *j = "{\"from\":\"a@x.test\",\"to\":[\"b@y.test\"],\"text\":\"t\","
	                "\"headers\":{\"X-A\":\"v\\r\\nBcc: evil@z.test\"}}";
	const char *j2 = "{\"from\":\"a@x.test\",\"to\":[\"b@y.test\"],\"text\":\"t\","
	                 "\"headers\":{\"Content-Type\":\"text/evil\"}}";
	(void)state;
	assert_int_equal(api_parse_message(j, strlen(j), NOW, &m, &e), 0);
	assert_int_equal(api_build_message(&m, &b, &e), -1);
	assert_string_equal(e.code, "invalid_header");
	assert_string_equal(e.field, "headers.X-A");
	api_message_free(&m);
	assert_int_equal(api_parse_message(j2, strlen(j2), NOW, &m, &e), 0);
	assert_int_equal(api_build_message(&m, &b, &e), -1);
	assert_string_equal(e.field, "headers.Content-Type");
	api_message_free(&m);
	strbuf_free(&b);
}

static void test_raw_gets_crlf(void **state)
{
	struct api_message m;
	struct api_error e;
	struct strbuf b = STRBUF_INIT;
	const char *j = "{\"from\":\"a@x.test\",\"to\":[\"b@y.test\"],"
	                "\"raw\":\"From: a@x.test\\nSubject: s\\n\\nbody\"}";
	(void)state;
	assert_int_equal(api_parse_message(j, strlen(j), NOW, &m, &e), 0);
	assert_int_equal(api_build_message(&m, &b, &e), 0);
	assert_string_equal(b.data, "From: a@x.test\r\nSubject: s\r\n\r\nbody\r\n");
	api_message_free(&m);
	strbuf_free(&b);
}

/* template_id: from optional, fields an object of scalars, no parts. */
static void test_template_use(void **state)
{
	struct api_message m;
	struct api_error e;
	const char *j = "{\"template_id\":\"welcome\",\"to\":[\"b@y.test\"],"
	                "\"fields\":{\"name\":\"Ann\",\"n\":2,\"ok\":true}}";
	(void)state;
	assert_int_equal(api_parse_message(j, strlen(j), NOW, &m, &e), 0);
	assert_string_equal(m.template_id, "welcome");
	assert_null(m.from);
	assert_non_null(m.fields);
	assert_int_equal(m.nto, 1);
	api_message_free(&m);
	j = "{\"template_id\":\"welcome\",\"to\":[\"b@y.test\"]}";
	assert_int_equal(api_parse_message(j, strlen(j), NOW, &m, &e), 0);
	assert_null(m.fields);
	api_message_free(&m);
	expect("{\"template_id\":\"w\",\"to\":[\"b@y.test\"],\"text\":\"t\"}", 400,
	       "conflicting_fields", "text");
	expect("{\"template_id\":\"w\",\"to\":[\"b@y.test\"],\"fields\":[]}", 400, "invalid_type",
	       "fields");
	expect("{\"template_id\":\"w\",\"to\":[\"b@y.test\"],\"fields\":{\"a\":{}}}", 400,
	       "invalid_type", "fields");
	expect("{\"template_id\":\"\",\"to\":[\"b@y.test\"]}", 400, "invalid_value", "template_id");
	expect("{\"template_id\":\"w\",\"from\":\"nope\",\"to\":[\"b@y.test\"]}", 422,
	       "invalid_address", "from");
	expect("{\"template_id\":\"w\"}", 400, "missing_field", "to");
	expect("{\"from\":\"a@x.test\",\"to\":[\"b@y.test\"],\"text\":\"t\",\"fields\":{}}", 400,
	       "conflicting_fields", "fields");
}

/* A parser's message that quotes the client's invalid UTF-8 still makes a
 * JSON error body (found by fuzz/fuzz_api.c: jansson refused it and the
 * answer was NULL). */
static void test_error_body_with_invalid_utf8(void **state)
{
	static const char body[] = "{\"subject\":\"Caf\\u0\xd0\x98\"}";
	struct api_message m;
	struct api_error e;
	char *json;

	(void)state;
	assert_int_equal(api_parse_message(body, strlen(body), NOW, &m, &e), -1);
	assert_string_equal(e.code, "invalid_json");
	strcpy(e.field, "f\xc3"); /* a field name cut inside a character */
	json = api_error_json(&e);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"code\":\"invalid_json\""));
	assert_non_null(strstr(json, "f\\\\xC3"));
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_line_and_column),
	    cmocka_unit_test(test_built_message),
	    cmocka_unit_test(test_header_injection_refused),
	    cmocka_unit_test(test_raw_gets_crlf),
	    cmocka_unit_test(test_template_use),
	    cmocka_unit_test(test_error_body_with_invalid_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
