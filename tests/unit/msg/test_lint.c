/* Unit tests for src/msg/lint.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "msg/lint.h"
#include "msg/template.h"

struct verdicts {
	char text[2000];
};

static void collect(void *arg, enum lint_level level, const char *check, const char *detail)
{
	struct verdicts *v = arg;
	static const char *const names[] = {"PASS", "WARN", "FAIL"};
	size_t n = strlen(v->text);

	snprintf(v->text + n, sizeof(v->text) - n, "%s %s: %s\n", names[level], check, detail);
}

/* The verdicts on text as "LEVEL check: detail" lines. */
static void lint(const char *text, int bulk, struct verdicts *v)
{
	struct template t;
	struct err e;

	v->text[0] = '\0';
	if (template_parse("t.eml", text, strlen(text), &t, &e) != 0)
		fail_msg("parse: %s", e.msg);
	lint_template(&t, bulk, collect, v);
	template_free(&t);
}

static void test_good_template_passes(void **state)
{
	(void)state;
	struct verdicts v;
	lint("From: \"News\" <n@x.test>\nSubject: s\nMIME-Version: 1.0\n"
	     "Content-Type: multipart/alternative; boundary=\"b\"\n\n"
	     "--b\nContent-Type: text/plain\n\nhi {{unsubscribe_url}}\n"
	     "--b\nContent-Type: text/html\n\n<a href=\"{{unsubscribe_url}}\">Unsubscribe</a>\n"
	     "--b--\n",
	     1, &v);
	assert_null(strstr(v.text, "WARN"));
	assert_null(strstr(v.text, "FAIL"));
	assert_non_null(strstr(v.text, "PASS text-part: HTML with a text/plain alternative"));
}

static void test_what_receivers_dislike(void **state)
{
	(void)state;
	struct verdicts v;
	const char *html_only = "From: n@x.test\nContent-Type: text/html\n\n<p>buy</p>\n";
	lint(html_only, 1, &v);
	assert_non_null(strstr(v.text, "WARN from-name"));
	assert_non_null(strstr(v.text, "FAIL unsubscribe"));
	assert_non_null(strstr(v.text, "WARN text-part"));
	lint(html_only, 0, &v); /* transactional */
	assert_non_null(strstr(v.text, "PASS unsubscribe: transactional"));
	/* an alternative with HTML only is as bad as HTML alone */
	lint(
	    "From: \"N\" <n@x.test>\nContent-Type: multipart/alternative; boundary=b\n\n"
	    "--b\nContent-Type: text/html\n\n<a href=\"https://x.test/u\">unsubscribe</a>\n--b--\n",
	    1, &v);
	assert_non_null(strstr(v.text, "WARN text-part"));
	assert_non_null(strstr(v.text, "PASS unsubscribe"));
	/* an unknown transfer encoding is broken MIME */
	lint("From: \"N\" <n@x.test>\nContent-Transfer-Encoding: x-zip\n\nhi\n", 0, &v);
	assert_non_null(strstr(v.text, "FAIL mime: unknown Content-Transfer-Encoding 'x-zip'"));
}

static void test_size(void **state)
{
	(void)state;
	struct verdicts v;
	size_t n = 120 * 1024;
	char *text = malloc(n + 100);
	strcpy(text, "From: \"N\" <n@x.test>\n\n");
	size_t at = strlen(text);
	while (at < n) { /* lines of 79 characters */
		memset(text + at, 'a', 79);
		text[at + 79] = '\n';
		at += 80;
	}
	text[at] = '\0';
	lint(text, 0, &v);
	assert_non_null(strstr(v.text, "WARN size: 12"));
	assert_non_null(strstr(v.text, "Gmail clips"));
	free(text);
}

static void test_link_hosts(void **state)
{
	(void)state;
	struct template t;
	struct err e;
	char hosts[8][LINT_HOST_LEN];
	const char *text =
	    "From: n@x.test\nContent-Type: multipart/alternative; boundary=b\n\n"
	    "--b\nContent-Type: text/plain\n\nsee http://WWW.Example.COM/a and "
	    "https://user@shop.example.org:443/x, https://{{host}}/y, http://192.0.2.1/z,\n"
	    "http://www.example.com/again\n"
	    "--b\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n"
	    "<a href=3D\"https://qp.example.net/\">x</a>\n--b--\n";
	assert_int_equal(template_parse("t.eml", text, strlen(text), &t, &e), 0);
	size_t n = lint_link_hosts(&t, "https://unsub.example.com/u", hosts, 8);
	assert_int_equal(n, 4);
	assert_string_equal(hosts[0], "www.example.com");
	assert_string_equal(hosts[1], "shop.example.org");
	assert_string_equal(hosts[2], "qp.example.net");
	assert_string_equal(hosts[3], "unsub.example.com");
	template_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_template_passes),
	    cmocka_unit_test(test_what_receivers_dislike),
	    cmocka_unit_test(test_size),
	    cmocka_unit_test(test_link_hosts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
