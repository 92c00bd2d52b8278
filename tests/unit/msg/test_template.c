/* Unit tests for src/msg/template.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "mail/fields.h"
#include "msg/template.h"

static char *names[] = {"email", "name", "code"};

static void render(const char *tpl_text, const char *email, const char *name, const char *code,
                   struct strbuf *out, unsigned *needs)
{
	struct template t;
	struct err e;
	struct strbuf f = STRBUF_INIT;

	if (template_parse("t.eml", tpl_text, strlen(tpl_text), &t, &e) != 0)
		fail_msg("parse: %s", e.msg);
	if (template_bind(&t, names, 3, &e) != 0)
		fail_msg("bind: %s", e.msg);
	fields_add(&f, email, strlen(email));
	fields_add(&f, name, strlen(name));
	fields_add(&f, code, strlen(code));
	struct render_in in = {f.data, f.len, "<id@x.test>", 0, NULL, NULL, NULL};
	if (template_render(&t, &in, out, needs, &e) != 0)
		fail_msg("render: %s", e.msg);
	strbuf_free(&f);
	template_free(&t);
}

static const char *body_of(const struct strbuf *b)
{
	const char *p = strstr(b->data, "\r\n\r\n");
	return p ? p + 4 : "";
}

static void test_headers_encoding_and_added_fields(void **state)
{
	struct strbuf out = STRBUF_INIT;
	unsigned needs;

	(void)state;
	render("From: a@x.test\nTo: \"{{name}}\" <{{email}}>\nSubject: Hi {{name}}\n\nHello\n",
	       "u@x.test", "Zoë \"Z\"", "1", &out, &needs);
	assert_non_null(strstr(out.data, "Message-ID: <id@x.test>\r\n"));
	assert_non_null(strstr(out.data, "\r\nDate: "));
	assert_non_null(strstr(out.data, "MIME-Version: 1.0\r\n"));
	assert_non_null(strstr(out.data, "Content-Type: text/plain; charset=utf-8\r\n"));
	assert_non_null(strstr(out.data, "To: =?UTF-8?B?Wm/DqyAiWiI=?= <u@x.test>\r\n"));
	assert_non_null(strstr(out.data, "Subject: Hi =?UTF-8?B?Wm/DqyAiWiI=?=\r\n"));
	assert_int_equal(needs, 0);
	strbuf_reset(&out);
	render("From: a@x.test\nTo: \"{{name}}\" <{{email}}>\n\nx\n", "u@x.test", "A \"B\" \\C",
	       "1", &out, &needs);
	assert_non_null(strstr(out.data, "To: \"A \\\"B\\\" \\\\C\" <u@x.test>\r\n"));
	strbuf_free(&out);
}

static void test_adjacent_quoted_placeholders(void **state)
{
	struct strbuf out = STRBUF_INIT;
	unsigned needs;

	(void)state;
	/* found by fuzz_template: the second placeholder must not reuse the
	 * closing quote of the first as its opening quote */
	render("From: a@x.test\nTo: \"{{name}}\"{{name}}\" <{{email}}>\n\nx\n", "u@x.test", "N",
	       "1", &out, &needs);
	assert_non_null(strstr(out.data, "To: \"N\"N\" <u@x.test>\r\n"));
	strbuf_free(&out);
}

static void test_long_values_fold_into_several_encoded_words(void **state)
{
	struct strbuf out = STRBUF_INIT;
	unsigned needs;
	char name[301];

	(void)state;
	for (int i = 0; i < 150; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2); /* é x 150 */
	name[300] = '\0';
	render("From: a@x.test\nSubject: {{name}}\n\nx\n", "u@x.test", name, "1", &out, &needs);
	const char *s = strstr(out.data, "Subject: ");
	int words = 0;
	for (const char *p = s; (p = strstr(p, "=?UTF-8?B?")); p++)
		words++;
	assert_true(words >= 7);
	assert_non_null(strstr(s, "?=\r\n =?UTF-8?B?")); /* folded */
	strbuf_free(&out);
}

static void test_html_escaping_raw_and_newlines(void **state)
{
	struct strbuf out = STRBUF_INIT;
	unsigned needs;

	(void)state;
	render("From: a@x.test\nContent-Type: multipart/alternative; boundary=\"b\"\n\n--b\n"
	       "Content-Type: text/plain\n\n{{name}}\n--b\nContent-Type: text/html\n\n"
	       "<b>{{name}}</b>{{{code}}}\n--b--\n",
	       "u@x.test", "<A&B>\nline2", "<i>raw</i>", &out, &needs);
	assert_non_null(strstr(out.data, "\r\n\r\n<A&B>\r\nline2\r\n--b\r\n"));
	assert_non_null(strstr(out.data, "<b>&lt;A&amp;B&gt;\r\nline2</b><i>raw</i>\r\n--b--\r\n"));
	assert_int_equal(needs, 0);
	strbuf_free(&out);
}

static void test_needs_8bitmime_and_smtputf8(void **state)
{
	struct strbuf out = STRBUF_INIT;
	unsigned needs;

	(void)state;
	render("From: a@x.test\n\nHej {{name}}\n", "u@x.test", "Åsa", "1", &out, &needs);
	assert_int_equal(needs, RENDER_8BITMIME);
	assert_string_equal(body_of(&out), "Hej Åsa\r\n");
	strbuf_reset(&out);
	render("From: a@x.test\nTo: {{email}}\n\nx\n", "üser@x.test", "A", "1", &out, &needs);
	assert_int_equal(needs, RENDER_8BITMIME | RENDER_SMTPUTF8);
	assert_non_null(strstr(out.data, "To: üser@x.test\r\n"));
	strbuf_free(&out);
}

static void test_injection_in_headers_is_flattened(void **state)
{
	struct strbuf out = STRBUF_INIT;
	unsigned needs;

	(void)state;
	render("From: a@x.test\nSubject: {{name}}\n\nx\n", "u@x.test", "x\r\nBcc: v@x.test", "1",
	       &out, &needs);
	assert_non_null(strstr(out.data, "Subject: x  Bcc: v@x.test\r\n"));
	strbuf_free(&out);
}

static void test_rendered_line_too_long(void **state)
{
	struct template t;
	struct err e;
	struct strbuf f = STRBUF_INIT, out = STRBUF_INIT;
	char big[1200];
	unsigned needs;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	const char *text = "From: a@x.test\n\nbody {{name}}\n";
	assert_int_equal(template_parse("t.eml", text, strlen(text), &t, &e), 0);
	assert_int_equal(template_bind(&t, names, 3, &e), 0);
	fields_add(&f, "u@x.test", 8);
	fields_add(&f, big, strlen(big));
	fields_add(&f, "1", 1);
	struct render_in in = {f.data, f.len, "<id@x.test>", 0, NULL, NULL, NULL};
	assert_int_equal(template_render(&t, &in, &out, &needs, &e), -1);
	assert_non_null(strstr(e.msg, "longer than 998"));
	strbuf_free(&f);
	strbuf_free(&out);
	template_free(&t);
}

/* {{unsubscribe_url}} is sluice's, not a list column: the recipient's link. */
static void test_unsubscribe_url(void **state)
{
	(void)state;
	struct template t;
	struct err e;
	struct strbuf f = STRBUF_INIT, out = STRBUF_INIT;
	unsigned needs;
	const char *text = "From: a@x.test\nContent-Type: text/html\n\n"
	                   "<a href=\"{{unsubscribe_url}}\">Unsubscribe</a>\n";
	assert_int_equal(template_parse("t.eml", text, strlen(text), &t, &e), 0);
	assert_int_equal(template_bind(&t, names, 3, &e), 0);
	assert_true(t.uses_unsubscribe_url);
	fields_add(&f, "u@x.test", 8);
	fields_add(&f, "U", 1);
	fields_add(&f, "1", 1);
	struct render_in in = {
	    f.data, f.len, "<id@x.test>", 0, NULL, "https://u.test/unsub/ab.1.cd", NULL};
	assert_int_equal(template_render(&t, &in, &out, &needs, &e), 0);
	assert_non_null(strstr(out.data, "<a href=\"https://u.test/unsub/ab.1.cd\">"));
	in.unsubscribe_url = "";
	assert_int_equal(template_render(&t, &in, &out, &needs, &e), -1);
	assert_non_null(strstr(e.msg, "needs unsubscribe.url"));
	strbuf_free(&f);
	strbuf_free(&out);
	template_free(&t);
}

static void expect_parse_error_n(const char *text, size_t len, const char *msg)
{
	struct template t;
	struct err e;

	if (template_parse("t.eml", text, len, &t, &e) == 0 && template_bind(&t, names, 3, &e) == 0)
		fail_msg("expected '%s'", msg);
	if (!strstr(e.msg, msg))
		fail_msg("got '%s', expected '%s'", e.msg, msg);
	template_free(&t);
}

static void expect_parse_error(const char *text, const char *msg)
{
	expect_parse_error_n(text, strlen(text), msg);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_parse_error("From: a@x.test\n\n{{nope}}\n", "t.eml:3:1: unknown placeholder 'nope'");
	expect_parse_error("From: a@x.test\n\n{{name\n",
	                   "t.eml:3:1: placeholder '{{' is never closed");
	expect_parse_error("From: a@x.test\n\n{{}}\n", "t.eml:3:1: empty placeholder");
	expect_parse_error("From: a@x.test\n\n{{na me}}\n", "t.eml:3:5: bad character");
	expect_parse_error("From: a@x.test\nBad header\n\nx\n", "t.eml:2:4: malformed header");
	expect_parse_error(" cont\nFrom: a@x.test\n\nx\n", "t.eml:1:1: continuation line");
	expect_parse_error("Subject: x\n\nbody\n", "the template has no From header");
	expect_parse_error("From: a@x.test\nContent-Type: multipart/mixed\n\nx\n",
	                   "without a boundary");
	expect_parse_error("From: a@x.test\nContent-Type: multipart/mixed; boundary=q\n\n--q\n"
	                   "Content-Transfer-Encoding: base64\n\n{{name}}\n--q--\n",
	                   "base64 or quoted-printable");
	expect_parse_error_n("From: a@x.test\n\nnul\0byte\n", 24, "t.eml:3:1: NUL byte");
	expect_parse_error("", "empty template");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_headers_encoding_and_added_fields),
	    cmocka_unit_test(test_adjacent_quoted_placeholders),
	    cmocka_unit_test(test_long_values_fold_into_several_encoded_words),
	    cmocka_unit_test(test_html_escaping_raw_and_newlines),
	    cmocka_unit_test(test_needs_8bitmime_and_smtputf8),
	    cmocka_unit_test(test_injection_in_headers_is_flattened),
	    cmocka_unit_test(test_rendered_line_too_long),
	    cmocka_unit_test(test_unsubscribe_url),
	    cmocka_unit_test(test_parse_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
