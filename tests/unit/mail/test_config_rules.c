/* Unit tests for src/mail/config_rules.c: a reply rule's action
 * (block_source, block_for), trigger (count within) and scope, and the
 * pools list (failover_width); errors name file:line:column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mail/config.h"
#include "unit.h"

#define HEAD                                                                                       \
	"sources:\n"                                                                               \
	"  - ip: 192.0.2.10\n"                                                                     \
	"    helo: mta1.example.com\n"                                                             \
	"  - ip: 192.0.2.11\n"                                                                     \
	"    helo: mta2.example.com\n"                                                             \
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

static void test_rule_action_trigger_scope(void **state)
{
	struct config c;
	struct err e;
	(void)state;
	assert_int_equal(load(HEAD "rules:\n"
	                           "  - text: 'listed at'\n"
	                           "    action: block_source\n"
	                           "    block_for: 2h\n"
	                           "  - text: 'too much mail'\n"
	                           "    suspend: 5m\n"
	                           "    trigger: {count: 3, within: 10m}\n"
	                           "    scope: provider\n"
	                           "  - text: 'policy'\n"
	                           "    suspend: 1m\n"
	                           "pools:\n"
	                           "  - name: default\n"
	                           "    failover_width: 3\n",
	                      &c, &e),
	                 0);
	assert_int_equal(c.nrules, 3);
	assert_int_equal(c.rules[0].action, RULE_BLOCK_SOURCE);
	assert_int_equal(c.rules[0].block_ms, 2 * 3600 * 1000);
	assert_int_equal(c.rules[0].trigger_count, 1);
	assert_int_equal(c.rules[1].action, RULE_THROTTLE);
	assert_int_equal(c.rules[1].trigger_count, 3);
	assert_int_equal(c.rules[1].trigger_within_ms, 600 * 1000);
	assert_int_equal(c.rules[1].scope, RSCOPE_PROVIDER);
	assert_int_equal(c.rules[2].scope, RSCOPE_SITE); /* defaults: today's behaviour */
	assert_int_equal(c.rules[2].trigger_count, 1);
	assert_int_equal(config_failover_width(&c, "default"), 3);
	assert_int_equal(config_failover_width(&c, "other"), FAILOVER_WIDTH_DEFAULT);
	config_free(&c);
	/* block_source's default time */
	assert_int_equal(
	    load(HEAD "rules:\n  - enhanced: 5.7.606\n    action: block_source\n", &c, &e), 0);
	assert_int_equal(c.rules[0].block_ms, RULE_BLOCK_DEFAULT_MS);
	assert_int_equal(config_failover_width(&c, "default"), 2);
	config_free(&c);
}

static void expect_error(const char *text, const char *where, const char *what)
{
	struct config c;
	struct err e;
	assert_int_not_equal(load(text, &c, &e), 0);
	config_free(&c); /* the caller frees what was read before the error */
	if (!strstr(e.msg, where) || !strstr(e.msg, what))
		fail_msg("got: %s", e.msg);
}

static void test_errors_name_the_place(void **state)
{
	(void)state;
	expect_error(HEAD "rules:\n  - text: x\n    action: explode\n",
	             ":10:13:", "unknown rule action 'explode'");
	expect_error(HEAD "rules:\n  - text: x\n    action: block_source\n    block_for: 9d\n",
	             ":11:16:", "'block_for': bad duration");
	expect_error(HEAD
	             "rules:\n  - text: x\n    suspend: 1m\n    trigger: {count: 0, within: 1m}\n",
	             ":11:22:", "'trigger.count' must be a number from 1 to 1000");
	expect_error(HEAD "rules:\n  - text: x\n    suspend: 1m\n    trigger: {count: 3}\n",
	             ":9:5:", "needs 'within'");
	expect_error(HEAD "rules:\n  - text: x\n    suspend: 1m\n    trigger: {often: 3}\n",
	             ":11:15:", "unknown setting 'often' in 'trigger'");
	expect_error(HEAD "rules:\n  - text: x\n    suspend: 1m\n    scope: planet\n",
	             ":11:12:", "unknown rule scope 'planet'");
	expect_error(HEAD "rules:\n  - text: x\n    action: block_source\n    scope: campaign\n",
	             ":9:5:", "its scope is site or provider");
	expect_error(HEAD "rules:\n  - text: x\n    suspend: 1m\n    block_for: 1h\n",
	             ":9:5:", "'block_for' needs 'action: block_source'");
	expect_error(HEAD "pools:\n  - name: default\n    failover_width: 0\n",
	             ":10:21:", "failover_width");
	expect_error(HEAD "pools:\n  - failover_width: 2\n", ":9:5:", "a pool needs a 'name'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rule_action_trigger_scope),
	    cmocka_unit_test(test_errors_name_the_place),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
