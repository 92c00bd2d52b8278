/* Unit tests for src/msg/assemble.c: the Message-ID and return path of one
 * recipient, List-Unsubscribe only when configured, what the transaction
 * needs, and render errors handed back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mail/fields.h"
#include "msg/assemble.h"
#include "msg/verp.h"

#define SECRET "0123456789abcdef-test"

static char *names[] = {"email", "name"};

struct fixture {
	struct config cfg;
	struct template tpl;
	struct strbuf fields, data;
	struct assemble_in in;
	struct assembled out;
};

/* A template bound to (email, name), one recipient's fields, and a config
 * with a secret but no bounce domain nor unsubscribe URL. */
static void setup(struct fixture *f, const char *text, const char *email, const char *name)
{
	struct err e;

	memset(f, 0, sizeof(*f));
	f->cfg.secret = SECRET;
	f->cfg.from_domain = "news.example.com";
	f->cfg.verp_prefix = "bounces";
	f->cfg.unsubscribe_mailto = 1;
	if (template_parse("t.eml", text, strlen(text), &f->tpl, &e) != 0)
		fail_msg("parse: %s", e.msg);
	if (template_bind(&f->tpl, names, 2, &e) != 0)
		fail_msg("bind: %s", e.msg);
	fields_add(&f->fields, email, strlen(email));
	fields_add(&f->fields, name, strlen(name));
	f->in = (struct assemble_in){
	    .cfg = &f->cfg,
	    .tpl = &f->tpl,
	    .salt = "00ff",
	    .envelope_from = "bounces@news.example.com",
	    .rcpt_id = 7,
	    .fields = f->fields.data,
	    .fields_len = f->fields.len,
	    .date_s = 1700000000,
	};
	f->out.data = &f->data;
}

static void teardown(struct fixture *f)
{
	template_free(&f->tpl);
	strbuf_free(&f->fields);
	strbuf_free(&f->data);
}

static const char plain[] = "From: a@news.example.com\nTo: {{email}}\nSubject: Hi {{name}}\n\n"
                            "Hello {{name}}\n";

static void test_message_id_and_return_path(void **state)
{
	struct fixture f;
	struct err e;
	char want[ASSEMBLE_MSGID_MAX], line[ASSEMBLE_MSGID_MAX + 20];

	(void)state;
	setup(&f, plain, "u@example.org", "Ann");
	assert_int_equal(assemble_message(&f.in, &f.out, &e), 0);
	verp_message_id(SECRET, "00ff", 7, "news.example.com", want, sizeof(want));
	assert_string_equal(f.out.message_id, want);
	snprintf(line, sizeof(line), "Message-ID: %s\r\n", want);
	assert_non_null(strstr(f.data.data, line));
	assert_non_null(strstr(f.data.data, "Subject: Hi Ann\r\n"));
	assert_non_null(strstr(f.data.data, "\r\n\r\nHello Ann\r\n"));
	/* no bounce domain: the campaign's envelope sender as it is */
	assert_string_equal(f.out.mail_from, "bounces@news.example.com");
	/* a bounce domain: the recipient's VERP address, the same on every try */
	f.cfg.bounce_domain = "bounce.example.com";
	assert_int_equal(assemble_message(&f.in, &f.out, &e), 0);
	verp_address(SECRET, "bounces", "bounce.example.com", "00ff", 7, want, sizeof(want));
	assert_string_equal(f.out.mail_from, want);
	assert_true(strncmp(f.out.mail_from, "bounces+00ff.7.", 15) == 0);
	/* the buffer is replaced, not appended to */
	const char *subject = strstr(f.data.data, "Subject: ");
	assert_non_null(subject);
	assert_null(strstr(subject + 1, "Subject: "));
	/* a fixed Message-ID (the dry run's) is used as given */
	f.in.message_id = "<dry-run@news.example.com>";
	assert_int_equal(assemble_message(&f.in, &f.out, &e), 0);
	assert_string_equal(f.out.message_id, "<dry-run@news.example.com>");
	assert_non_null(strstr(f.data.data, "Message-ID: <dry-run@news.example.com>\r\n"));
	teardown(&f);
}

static void test_list_unsubscribe_only_when_configured(void **state)
{
	struct fixture f;
	struct err e;

	(void)state;
	setup(&f, plain, "u@example.org", "Ann");
	assert_int_equal(assemble_message(&f.in, &f.out, &e), 0);
	assert_null(strstr(f.data.data, "List-Unsubscribe"));
	f.cfg.unsubscribe_url = "https://u.example.com/unsub";
	assert_int_equal(assemble_message(&f.in, &f.out, &e), 0);
	assert_non_null(
	    strstr(f.data.data, "List-Unsubscribe: <https://u.example.com/unsub/00ff.7."));
	assert_non_null(
	    strstr(f.data.data, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
	assert_null(strstr(f.data.data, "mailto:"));
	/* with a bounce domain, also the mailto form */
	f.cfg.bounce_domain = "bounce.example.com";
	assert_int_equal(assemble_message(&f.in, &f.out, &e), 0);
	assert_non_null(strstr(f.data.data, "<mailto:unsubscribe+00ff.7."));
	teardown(&f);
}

static void test_needs_for_a_utf8_recipient(void **state)
{
	struct fixture f;
	struct err e;

	(void)state;
	setup(&f, plain, "u@example.org", "Ann");
	assert_int_equal(assemble_message(&f.in, &f.out, &e), 0);
	assert_int_equal(f.out.needs, 0);
	teardown(&f);
	/* an ASCII message to a UTF-8 mailbox still needs both extensions */
	setup(&f, "From: a@news.example.com\nTo: friend\n\nHello {{name}}\n", "üser@example.org",
	      "Ann");
	f.in.utf8 = 1;
	assert_int_equal(assemble_message(&f.in, &f.out, &e), 0);
	assert_int_equal(f.out.needs, RENDER_SMTPUTF8 | RENDER_8BITMIME);
	teardown(&f);
	/* an 8-bit body alone needs 8BITMIME only */
	setup(&f, plain, "u@example.org", "Zoë");
	assert_int_equal(assemble_message(&f.in, &f.out, &e), 0);
	assert_int_equal(f.out.needs, RENDER_8BITMIME);
	teardown(&f);
}

static void test_render_error_is_returned(void **state)
{
	struct fixture f;
	struct err e;
	char big[1200];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	setup(&f, plain, "u@example.org", big);
	f.cfg.bounce_domain = "bounce.example.com";
	assert_int_equal(assemble_message(&f.in, &f.out, &e), -1);
	assert_non_null(strstr(e.msg, "longer than 998"));
	/* the Message-ID is known (the outcome logs it), the return path is not */
	assert_true(strncmp(f.out.message_id, "<00ff.7.", 8) == 0);
	assert_string_equal(f.out.mail_from, "");
	teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_message_id_and_return_path),
	    cmocka_unit_test(test_list_unsubscribe_only_when_configured),
	    cmocka_unit_test(test_needs_for_a_utf8_recipient),
	    cmocka_unit_test(test_render_error_is_returned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
