/* Unit tests for src/mail/config_tenant.c: the tenants list and lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mail/config.h"
#include "mail/tenant.h"
#include "unit.h"

#define HEAD                                                                                       \
	"sources:\n"                                                                               \
	"  - ip: 192.0.2.10\n"                                                                     \
	"    helo: mta1.example.com\n"                                                             \
	"  - ip: 192.0.2.11\n"                                                                     \
	"    helo: mta2.example.com\n"                                                             \
	"    pool: acme\n"                                                                         \
	"sender:\n"                                                                                \
	"  envelope_from: bounces@news.example.com\n"

static int load(const char *text, struct config *c, struct err *e)
{
	char path[64];
	unit_tmpfile(path, sizeof(path), ".yaml", text);
	int rc = config_load(path, c, e);
	unlink(path);
	return rc;
}

static void test_implicit_tenant(void **state)
{
	struct config c;
	struct err e;

	(void)state;
	assert_int_equal(load(HEAD, &c, &e), 0);
	assert_int_equal(c.ntenants, 1);
	assert_string_equal(c.tenants[0].name, TENANT_DEFAULT);
	assert_true(c.tenants[0].implicit);
	assert_true(tenant_owns_domain(&c.tenants[0], "NEWS.example.com"));
	assert_null(tenant_by_api_key(&c, "anything", 8)); /* nothing authenticates as it */
	config_free(&c);
}

static void test_tenants(void **state)
{
	struct config c;
	struct err e;
	char line[80];

	(void)state;
	tenant_hash_api_key("sk_test", 7, line, sizeof(line));
	char text[2048];
	snprintf(text, sizeof(text),
	         HEAD "tenants:\n"
	              "  - name: acme\n"
	              "    pool: acme\n"
	              "    sender_domains: [Acme.example, mail.acme.example]\n"
	              "    smtp_users:\n"
	              "      - user: app@acme\n"
	              "        password_hash: \"$6$saltsalt$abcdefghijklmnopqrstuv\"\n"
	              "    api_keys: [\"%s\"]\n"
	              "    per_minute: 600\n"
	              "    max_recipients: 20\n"
	              "    suppression: global\n"
	              "  - name: beta\n"
	              "    sender_domains: [beta.example]\n",
	         line);
	assert_int_equal(load(text, &c, &e), 0);
	assert_int_equal(c.ntenants, 2);
	const struct tenant *a = tenant_by_name(&c, "acme");
	assert_non_null(a);
	assert_string_equal(a->pool, "acme");
	assert_int_equal(a->per_minute, 600);
	assert_int_equal(a->max_recipients, 20);
	assert_int_equal(a->scope, TSCOPE_GLOBAL);
	assert_true(tenant_owns_domain(a, "acme.example"));
	assert_false(tenant_owns_domain(a, "sub.acme.example"));
	const char *hash;
	assert_ptr_equal(tenant_by_user(&c, "app@acme", &hash), a);
	assert_string_equal(hash, "$6$saltsalt$abcdefghijklmnopqrstuv");
	assert_null(tenant_by_user(&c, "APP@acme", &hash));
	assert_ptr_equal(tenant_by_api_key(&c, "sk_test", 7), a);
	assert_null(tenant_by_api_key(&c, "sk_tesu", 7));
	const struct tenant *b = tenant_by_name(&c, "beta");
	assert_int_equal(b->max_recipients, TENANT_RCPTS_DEFAULT);
	assert_int_equal(b->scope, TSCOPE_TENANT);
	config_free(&c);
}

static void test_tenant_monitor(void **state)
{
	struct config c;
	struct err e;

	(void)state;
	assert_int_equal(load(HEAD "tenants:\n"
	                           "  - name: strict\n"
	                           "    sender_domains: [strict.example]\n"
	                           "    monitor:\n"
	                           "      complaint_pause: 0.1%\n"
	                           "      rcpt_spike_pause: true\n"
	                           "  - name: plain\n"
	                           "    sender_domains: [plain.example]\n"
	                           "monitor:\n"
	                           "  rcpt_failure_warn: 5%\n",
	                      &c, &e),
	                 0);
	const struct monitor_policy *s = tenant_monitor(&c, "strict");
	const struct monitor_policy *p = tenant_monitor(&c, "plain");
	assert_true(s->complaint_pause > 0.00099 && s->complaint_pause < 0.00101);
	assert_int_equal(s->rcpt_spike_pause, 1);
	assert_true(s->rcpt_failure_warn > 0.0499 && s->rcpt_failure_warn < 0.0501); /* inherited */
	assert_true(p->complaint_pause > 0.0029 && p->complaint_pause < 0.0031);     /* default */
	assert_int_equal(p->rcpt_spike_pause, 0);
	assert_ptr_equal(tenant_monitor(&c, "nobody"), &c.monitor);
	config_free(&c);
}

static void expect_error(const char *tenants, const char *what)
{
	struct config c;
	struct err e;
	char text[2048];

	snprintf(text, sizeof(text), HEAD "tenants:\n%s", tenants);
	assert_int_not_equal(load(text, &c, &e), 0);
	if (!strstr(e.msg, what))
		fail_msg("expected '%s' in: %s", what, e.msg);
	config_free(&c);
}

static void test_tenant_errors(void **state)
{
	(void)state;
	expect_error("  - name: a\n", "needs 'sender_domains'");
	expect_error("  - sender_domains: [a.example]\n", "needs a 'name'");
	expect_error("  - name: a b\n    sender_domains: [a.example]\n", "letters, digits");
	expect_error("  - name: a\n    sender_domains: [a.example]\n    pool: nope\n",
	             "pool 'nope' names no source's pool");
	expect_error("  - name: a\n    sender_domains: [a.example]\n"
	             "  - name: a\n    sender_domains: [b.example]\n",
	             "declared twice");
	expect_error("  - name: a\n    sender_domains: [a.example]\n"
	             "  - name: b\n    sender_domains: [A.example]\n",
	             "belongs to tenants 'a' and 'b'");
	expect_error("  - name: a\n    sender_domains: [a.example]\n    api_keys: [sk_plain]\n",
	             "must be stored as its hash");
	expect_error("  - name: a\n    sender_domains: [a.example]\n    smtp_users:\n"
	             "      - user: u\n        password_hash: hunter2\n",
	             "not a crypt(3) hash");
	expect_error("  - name: a\n    sender_domains: [a.example]\n    frobnicate: 1\n",
	             "unknown setting 'frobnicate'");
	expect_error("  - name: a\n    sender_domains: [a.example]\n    suppression: none\n",
	             "'tenant' or 'global'");
	/* the place is named */
	expect_error("  - name: a\n    sender_domains: [a.example]\n    api_keys: [x]\n",
	             ":12:16:");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_implicit_tenant),
	    cmocka_unit_test(test_tenants),
	    cmocka_unit_test(test_tenant_errors),
	    cmocka_unit_test(test_tenant_monitor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
