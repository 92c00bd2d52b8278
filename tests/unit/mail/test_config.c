/* Unit tests for src/mail/config.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mail/config.h"
#include "mail/providers.h"
#include "util/strbuf.h"
#include "unit.h"

static const char good[] = "dns:\n"
                           "  resolvers: [127.0.0.1, \"127.0.0.2:5353\"]\n"
                           "sources:\n"
                           "  - ip: 192.0.2.10\n"
                           "    helo: mta1.example.com\n"
                           "sender:\n"
                           "  envelope_from: bounces@news.example.com\n"
                           "delivery:\n"
                           "  max_connections_per_site: 4\n"
                           "  tls: required\n"
                           "retry:\n"
                           "  min_backoff: 1m\n"
                           "  max_lifetime: 2d\n"
                           "timeouts:\n"
                           "  rcpt: 250ms\n"
                           "policies:\n"
                           "  - mx: \"*.protection.outlook.com\"\n"
                           "    max_connections: 2\n"
                           "  - domain: example.org\n"
                           "    tls: off\n";

static int load(const char *text, struct config *c, struct err *e)
{
	char path[64];
	unit_tmpfile(path, sizeof(path), ".yaml", text);
	int rc = config_load(path, c, e);
	unlink(path);
	return rc;
}

static void test_good_config_and_defaults(void **state)
{
	struct config c;
	struct err e;

	(void)state;
	assert_int_equal(load(good, &c, &e), 0);
	assert_int_equal(c.nresolvers, 2);
	assert_string_equal(c.resolvers[1], "127.0.0.2:5353");
	assert_string_equal(c.sources[0].helo, "mta1.example.com");
	assert_string_equal(c.from_domain, "news.example.com"); /* from envelope_from */
	assert_int_equal(c.defaults.max_connections, 4);
	assert_int_equal(c.defaults.max_messages_per_connection, 100); /* default */
	assert_int_equal(c.defaults.tls, TLS_REQUIRED);
	assert_int_equal(c.min_backoff_s, 60);
	assert_int_equal(c.max_lifetime_s, 2 * 86400);
	assert_int_equal(c.timeouts.rcpt_ms, 250);
	assert_int_equal(c.timeouts.dot_ms, 600000); /* RFC 5321 default */
	assert_int_equal(c.port, 25);

	struct policy p =
	    config_policy_for(&c, "hotmail.com", "HOTMAIL-com.olc.protection.outlook.com");
	assert_int_equal(p.max_connections, 2);
	assert_int_equal(p.tls, TLS_REQUIRED);
	p = config_policy_for(&c, "example.org", "mx.example.org");
	assert_int_equal(p.tls, TLS_OFF);
	assert_int_equal(p.max_connections, 4);
	config_free(&c);
}

static void expect_error(const char *text, const char *where, const char *what)
{
	struct config c;
	struct err e;

	assert_int_equal(load(text, &c, &e), -1);
	if (!strstr(e.msg, where) || !strstr(e.msg, what))
		fail_msg("got '%s', expected '%s' and '%s'", e.msg, where, what);
	config_free(&c);
}

static void test_errors_name_line_and_column(void **state)
{
	(void)state;
	expect_error("sources:\n  - ip: 192.0.2.1\n    helo: 192.0.2.1\nsender:\n  envelope_from: "
	             "a@b.com\n",
	             ".yaml:2:5:", "fully qualified host name");
	expect_error("sources:\n  - ip: 192.0.2.1\n    helo: mail\n",
	             ".yaml:2:5:", "fully qualified");
	expect_error("delivery:\n  max_connections: many\n", ".yaml:2:20:", "whole number");
	expect_error("delivery:\n  tls: maybe\n", ".yaml:2:8:", "off, opportunistic or required");
	expect_error("retry:\n  min_backoff: 5 minutes\n", ".yaml:2:16:", "bad duration");
	expect_error("delivery:\n  colour: blue\n", ".yaml:2:3:", "unknown setting 'colour'");
	expect_error("colour: blue\n", ".yaml:1:1:", "unknown section 'colour'");
	expect_error("policies:\n  - domain: a.com\n    mx: b.com\n",
	             ".yaml:2:5:", "exactly one of");
	expect_error("dns:\n  resolvers: [not-an-ip]\n", ".yaml:2:15:", "not an IP address");
	expect_error("a: [1, 2\n", ".yaml:2:1:", "did not find expected ',' or ']'");
	expect_error(": \n%\xa4", ".yaml:2:2:", "not UTF-8 text");             /* hung libfyaml */
	expect_error("? r:\t:", ".yaml:1:", "mapping values are not allowed"); /* crashed it */
	expect_error("delivery:\n  tls: off\n  tls: required\n",
	             ".yaml:3:3:", "duplicate key 'tls' (first at line 2)");
	expect_error("sender: &s\n  from_domain: a.com\nbounce: *s\n",
	             ".yaml:1:1:", "anchors and aliases are not supported");
	expect_error("delivery: {}\n---\nretry: {}\n", ".yaml:2:1:", "only one YAML document");
	expect_error("state_dir:\n", ".yaml:1:1:", "'state_dir' needs a value");
	expect_error("sender:\n  envelope_from: b@x.com\n", ".yaml", "'sources' is required");
	expect_error("sources:\n  - ip: 192.0.2.1\n    helo: a.example.com\n", ".yaml",
	             "'sender.envelope_from' is required");
	/* the issue-4 and issue-5 sections */
	expect_error("dkim:\n  - domain: x.com\n    key: k.pem\n",
	             ".yaml:2:5:", "needs 'domain', 'selector' and 'key'");
	expect_error("dkim:\n  - {domain: x.com, selector: s, key: k, canonicalization: loose}\n",
	             ".yaml:2:5:", "relaxed/relaxed");
	expect_error("classify:\n  - {code: 5xx, category: gone}\n",
	             ".yaml:2:", "unknown category");
	expect_error("inbound:\n  max_message_size: huge\n", ".yaml:2:21:", "bad size");
	expect_error("suppression:\n  scope: everyone\n", ".yaml:2:10:", "global or sender_domain");
	/* the settings serve's limits added (issue 9) and the duplicate key (issue 14) */
	expect_error("inbound:\n  idle_timeout: 0s\n", ".yaml:2:17:", "bad duration");
	expect_error("inbound:\n  session_timeout: forever\n", ".yaml:2:20:", "bad duration");
	expect_error("inbound:\n  min_data_rate: fast\n", ".yaml:2:18:", "bad size");
	expect_error("inbound:\n  memory_limit: 10KB\n", ".yaml:2:17:", "bad size");
	expect_error("inbound:\n  http_max_connections: 0\n", ".yaml:2:25:", "whole number");
	expect_error("inbound:\n  http_max_connections_per_ip: lots\n",
	             ".yaml:2:32:", "whole number");
	expect_error("inbound:\n  http_timeout: 10ms\n", ".yaml:2:17:", "bad duration");
	expect_error("hygiene:\n  case_sensitive_local_parts: maybe\n",
	             ".yaml:2:31:", "true or false");
}

static void test_inbound_limits(void **state)
{
	struct config c;
	struct err e;
	(void)state;
	char text[2048];
	snprintf(text, sizeof(text), "%s%s", good,
	         "inbound:\n  idle_timeout: 2m\n  session_timeout: 10m\n"
	         "  min_data_rate: 512\n  memory_limit: 1GB\n"
	         "  http_max_connections: 64\n  http_max_connections_per_ip: 4\n"
	         "  http_timeout: 5s\nhygiene:\n  case_sensitive_local_parts: true\n");
	assert_int_equal(load(text, &c, &e), 0);
	assert_int_equal(c.inbound_idle_ms, 120000);
	assert_int_equal(c.inbound_session_ms, 600000);
	assert_int_equal(c.inbound_min_data_rate, 512);
	assert_true(c.inbound_memory_limit == INT64_C(1024) * 1024 * 1024);
	assert_int_equal(c.http_max_connections, 64);
	assert_int_equal(c.http_max_per_ip, 4);
	assert_int_equal(c.http_timeout_ms, 5000);
	assert_int_equal(c.case_sensitive_local, 1);
	config_free(&c);
}

/* http: the /status (and /metrics) token, inline or from a file. */
static void test_http_status_token(void **state)
{
	struct config c;
	struct err e;
	char text[2048], tok[64];

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(load(good, &c, &e), 0);
	assert_null(c.http_status_token); /* off by default */
	assert_int_equal(c.http_metrics_public, 0);
	config_free(&c);
	snprintf(text, sizeof(text),
	         "%shttp:\n  status_token: s3cret-s3cret-s3cret\n"
	         "  metrics_public: true\n",
	         good);
	assert_int_equal(load(text, &c, &e), 0);
	assert_string_equal(c.http_status_token, "s3cret-s3cret-s3cret");
	assert_int_equal(c.http_metrics_public, 1);
	config_free(&c);
	unit_tmpfile(tok, sizeof(tok), ".token", "from-a-file-0123456789\n");
	snprintf(text, sizeof(text), "%shttp:\n  status_token_file: %s\n", good, tok);
	assert_int_equal(load(text, &c, &e), 0);
	assert_string_equal(c.http_status_token, "from-a-file-0123456789");
	config_free(&c);
	snprintf(text, sizeof(text), "%shttp:\n  status_token_file: %s\n  status_token: x\n", good,
	         tok);
	assert_int_equal(load(text, &c, &e), -1);
	assert_non_null(strstr(e.msg, "give one of them"));
	config_free(&c);
	unlink(tok);
	snprintf(text, sizeof(text), "%shttp:\n  status_token_file: %s\n", good, tok);
	assert_int_equal(load(text, &c, &e), -1);
	assert_non_null(strstr(e.msg, "No such file"));
	config_free(&c);
	snprintf(text, sizeof(text), "%shttp:\n  status_token: short\n", good);
	assert_int_equal(load(text, &c, &e), -1);
	assert_non_null(strstr(e.msg, "at least 16 characters"));
	assert_null(strstr(e.msg, "short")); /* a secret is never echoed */
	config_free(&c);
	snprintf(text, sizeof(text), "%shttp:\n  status_tokn: abc\n", good);
	assert_int_equal(load(text, &c, &e), -1);
	assert_non_null(strstr(e.msg, "unknown setting 'status_tokn' in 'http'"));
	config_free(&c);
}

static void test_rules_and_rates(void **state)
{
	struct config c;
	struct err e;

	(void)state;
	assert_int_equal(load("sources:\n  - ip: 192.0.2.1\n    helo: a.example.com\n"
	                      "sender:\n  envelope_from: b@example.com\n"
	                      "delivery:\n  message_rate: 600/min\n"
	                      "policies:\n  - mx: \"*.yahoodns.net\"\n    message_rate: 20000/h\n"
	                      "rules:\n  - text: \"TS0[1-3]\"\n    code: 421\n    stage: mail\n"
	                      "    suspend: 1h\n    scale: 0.25\n",
	                      &c, &e),
	                 0);
	assert_true(c.defaults.message_rate > 9.99 && c.defaults.message_rate < 10.01);
	assert_int_equal(c.nrules, 1);
	assert_int_equal(c.rules[0].suspend_ms, 3600000);
	assert_int_equal(c.rules[0].duration_ms, 15 * 60000); /* default */
	assert_string_equal(c.rules[0].name, "TS0[1-3]");
	struct policy p = config_policy_for(&c, "yahoo.com", "mta6.am0.yahoodns.net");
	assert_true(p.message_rate > 5.55 && p.message_rate < 5.56);
	/* what the config leaves to Yahoo's built-in limits */
	assert_int_equal(p.max_connections, 5);
	assert_int_equal(p.max_messages_per_connection, 20);
	/* Gmail's built-in rate; an unknown MX keeps the delivery defaults */
	p = config_policy_for(&c, "gmail.com", "gmail-smtp-in.l.google.com");
	assert_true(p.message_rate > 19.99 && p.message_rate < 20.01);
	p = config_policy_for(&c, "example.org", "mx.example.org");
	assert_true(p.message_rate > 9.99 && p.message_rate < 10.01);
	assert_int_equal(p.max_connections, 10);
	config_free(&c);
	/* and none of them when turned off */
	assert_int_equal(load("sources:\n  - ip: 192.0.2.1\n    helo: a.example.com\n"
	                      "sender:\n  envelope_from: b@example.com\n"
	                      "delivery:\n  provider_policies: false\n",
	                      &c, &e),
	                 0);
	p = config_policy_for(&c, "gmail.com", "gmail-smtp-in.l.google.com");
	assert_true(p.message_rate == 0);
	assert_int_equal(p.max_connections, 10);
	assert_string_equal(provider_for_mx("HOTMAIL-com.olc.protection.outlook.com")->name,
	                    "microsoft");
	assert_null(provider_for_mx("mx.example.org"));
	config_free(&c);
	assert_true(config_parse_rate("5/m") > 0.083 && config_parse_rate("5/m") < 0.084);
	assert_true(config_parse_rate("10 per second") < 0);
	assert_true(config_parse_rate("10/fortnight") < 0);
	expect_error("delivery:\n  message_rate: fast\n", ".yaml:2:17:", "bad rate 'fast'");
	expect_error("rules:\n  - text: \"([unclosed\"\n    suspend: 1m\n",
	             ".yaml:2:11:", "bad regular expression");
	expect_error("rules:\n  - text: x\n    scale: 2\n", ".yaml:3:12:", "from 0.05 to 1");
	expect_error("rules:\n  - text: x\n    suspend: 2d\n", ".yaml:3:14:", "at most 24h");
	expect_error("rules:\n  - text: x\n    stage: lunch\n    suspend: 1m\n",
	             ".yaml:3:12:", "must be a stage");
	expect_error("rules:\n  - suspend: 1m\n", ".yaml:2:5:", "at least one of code");
	expect_error("rules:\n  - code: 421\n", ".yaml:2:5:", "needs an action");
	expect_error("monitor:\n  rcpt_spike_factor: lots\n",
	             ".yaml:2:22:", "factor from 1 to 1000");
	expect_error("monitor:\n  deferral_warn: 2\n", ".yaml:2:18:", "percentage");
	expect_error("delivery:\n  signing_threads: 100\n", ".yaml:2:20:", "0 to 64");
	expect_error("delivery:\n  provider_policies: maybe\n", ".yaml:2:22:", "true or false");
	expect_error("check:\n  uri_blocklists: [a, b]\n", ".yaml:2:", "single value");
	expect_error("rules:\n  - code: 421\n    connections: 0\n",
	             ".yaml:3:18:", "from 1 to 10000");
	{
		struct config c;
		struct err e;
		assert_int_equal(
		    load("sources:\n  - ip: 192.0.2.1\n    helo: a.example.com\n"
		         "sender:\n  envelope_from: b@example.com\n"
		         "rules:\n  - code: 421\n    rate: 300/min\n    connections: 2\n",
		         &c, &e),
		    0);
		assert_true(c.rules[0].set_rate > 4.99 && c.rules[0].set_rate < 5.01);
		assert_int_equal(c.rules[0].set_connections, 2);
		config_free(&c);
	}
	expect_error("rules:\n  - code: 421\n    pause: 1m\n",
	             ".yaml:3:5:", "unknown setting 'pause' in a rule");
}

static void test_pools(void **state)
{
	struct config c;
	struct err e;
	const struct source *pool[8];

	(void)state;
	assert_int_equal(load("sources:\n  - ip: 192.0.2.1\n    helo: a.example.com\n"
	                      "  - ip: 192.0.2.2\n    helo: b.example.com\n    pool: bulk\n"
	                      "  - ip: 192.0.2.3\n    helo: c.example.com\n    pool: bulk\n"
	                      "    weight: 3\n"
	                      "sender:\n  envelope_from: b@example.com\n  pool: bulk\n",
	                      &c, &e),
	                 0);
	assert_string_equal(c.sources[0].pool, "default");
	assert_int_equal(c.sources[0].weight, 1);
	assert_int_equal(config_pool_sources(&c, "bulk", pool, 8), 2);
	assert_string_equal(pool[0]->ip, "192.0.2.3"); /* heaviest first */
	assert_int_equal(c.spread_threshold, 10000);
	config_free(&c);
	expect_error("sources:\n  - ip: 192.0.2.1\n    helo: a.example.com\n"
	             "sender:\n  envelope_from: b@example.com\n  pool: nope\n",
	             ".yaml", "sender.pool 'nope' names no source's pool");
	expect_error("sources:\n  - ip: 192.0.2.1\n    helo: a.example.com\n"
	             "  - ip: \"2001:db8::1\"\n    helo: b.example.com\n"
	             "sender:\n  envelope_from: b@example.com\n",
	             ".yaml", "mixes IPv4 and IPv6");
	expect_error("sources:\n  - ip: 192.0.2.1\n    helo: a.example.com\n    weight: 0\n",
	             ".yaml:4:13:", "whole number from 1 to 1000");
}

/* A pool holds at most SOURCES_MAX sources: one more is refused where it
 * stands, never cut silently; another pool has its own count. */
static void test_pool_size_limit(void **state)
{
	struct strbuf y = STRBUF_INIT;
	struct config c;
	struct err e;

	(void)state;
	strbuf_adds(&y, "sources:\n");
	for (int i = 0; i < SOURCES_MAX; i++)
		strbuf_addf(&y, "  - ip: 10.0.%d.%d\n    helo: m%d.example.com\n    pool: bulk\n",
		            i / 250, i % 250 + 1, i);
	strbuf_adds(&y, "  - ip: 10.9.0.1\n    helo: other.example.com\n");
	size_t full = y.len;
	strbuf_adds(&y, "sender:\n  envelope_from: b@example.com\n  pool: bulk\n");
	assert_int_equal(load(y.data, &c, &e), 0);
	const struct source *pool[SOURCES_MAX + 1];
	assert_int_equal(config_pool_sources(&c, "bulk", pool, SOURCES_MAX + 1), SOURCES_MAX);
	config_free(&c);
	/* one more in bulk: its line (3 lines per source, after "sources:") */
	y.len = full;
	strbuf_adds(&y, "  - ip: 10.9.0.2\n    helo: last.example.com\n    pool: bulk\n"
	                "sender:\n  envelope_from: b@example.com\n  pool: bulk\n");
	char where[32];
	snprintf(where, sizeof(where), ".yaml:%d:5:", 2 + 3 * SOURCES_MAX + 2);
	expect_error(y.data, where, "pool 'bulk' has more sources than the 64 a pool may have");
	strbuf_free(&y);
}

static void test_durations(void **state)
{
	(void)state;
	assert_int_equal(config_parse_duration_ms("250ms", 5), 250);
	assert_int_equal(config_parse_duration_ms("30", 2), 30000);
	assert_int_equal(config_parse_duration_ms("1h6m40s", 7), 4000000);
	assert_int_equal(config_parse_duration_ms("5d", 2), 5LL * 86400000);
	assert_int_equal(config_parse_duration_ms("5x", 2), -1);
	assert_int_equal(config_parse_duration_ms("", 0), -1);
	assert_int_equal(config_parse_duration_ms("m", 1), -1);
}

/* `providers`: limits across every site of a provider (config_provider.c). */
#define PV_BASE                                                                                    \
	"sources:\n  - ip: 192.0.2.1\n    helo: a.example.com\n"                                   \
	"sender:\n  envelope_from: b@example.com\n"

static void test_providers(void **state)
{
	struct config c;
	struct err e;
	struct provider_limits pl;
	const char *name;

	(void)state;
	assert_int_equal(load(PV_BASE "providers:\n"
	                              "  - name: tenants\n"
	                              "    mx: ['mx.p*.provider.test', '*.hosted.test']\n"
	                              "    max_connections: 3\n"
	                              "    message_rate: 600/min\n"
	                              "  - name: microsoft\n"
	                              "    max_connections: 20\n",
	                      &c, &e),
	                 0);
	assert_int_equal(c.nproviders, 2);
	assert_int_equal(config_provider_for(&c, "MX.p7.provider.test", &name, &pl), 1);
	assert_string_equal(name, "tenants");
	assert_int_equal(pl.max_connections, 3);
	assert_true(pl.message_rate > 9.99 && pl.message_rate < 10.01);
	assert_true(pl.connection_rate == 0); /* unset: none */
	assert_int_equal(config_provider_for(&c, "a.b.hosted.test", &name, &pl), 1);
	/* a Microsoft 365 tenant: the built-in provider, its cap from the entry */
	assert_int_equal(
	    config_provider_for(&c, "contoso-com.mail.protection.outlook.com", &name, &pl), 1);
	assert_string_equal(name, "microsoft");
	assert_int_equal(pl.max_connections, 20);
	assert_true(pl.message_rate > 0 && pl.connection_rate > 0); /* the built-in's */
	/* Google Workspace */
	assert_int_equal(config_provider_for(&c, "alt1.aspmx.l.google.com", &name, &pl), 1);
	assert_string_equal(name, "google");
	assert_int_equal(config_provider_for(&c, "mx.example.org", &name, &pl), 0);
	c.provider_policies = 0; /* built-ins off: only what the config names */
	assert_int_equal(config_provider_for(&c, "aspmx.l.google.com", &name, &pl), 0);
	assert_int_equal(
	    config_provider_for(&c, "contoso-com.mail.protection.outlook.com", &name, &pl), 1);
	assert_int_equal(pl.max_connections, 20);
	assert_true(pl.message_rate == 0);
	config_free(&c);

	expect_error(PV_BASE "providers:\n  - mx: '*.x.test'\n    max_connections: 2\n",
	             ".yaml:7:5:", "a provider needs a 'name'");
	expect_error(PV_BASE "providers:\n  - name: x\n    max_connections: 2\n",
	             ".yaml:7:5:", "provider 'x' needs 'mx'");
	expect_error(PV_BASE "providers:\n  - name: x\n    mx: '*.x.test'\n",
	             ".yaml:7:5:", "sets none of max_connections");
	expect_error(PV_BASE "providers:\n  - name: x\n    mx: '*.x.test'\n"
	                     "    message_rate: fast\n",
	             ".yaml:9:19:", "bad rate 'fast'");
	expect_error(PV_BASE "providers:\n  - name: x\n    mx: [[a]]\n    max_connections: 1\n",
	             ".yaml:8:10:", "'mx' entries are MX host globs");
	expect_error(PV_BASE "providers:\n  - name: x\n    mx: a\n    max_connections: 1\n"
	                     "  - name: x\n    mx: b\n    max_connections: 1\n",
	             ".yaml:10:5:", "provider 'x' is listed twice");
	expect_error(PV_BASE "providers:\n  - name: x\n    mx: a\n    colour: 1\n",
	             ".yaml:9:5:", "unknown setting 'colour' in a provider");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_config_and_defaults),
	    cmocka_unit_test(test_errors_name_line_and_column),
	    cmocka_unit_test(test_inbound_limits),
	    cmocka_unit_test(test_http_status_token),
	    cmocka_unit_test(test_rules_and_rates),
	    cmocka_unit_test(test_pools),
	    cmocka_unit_test(test_providers),
	    cmocka_unit_test(test_pool_size_limit),
	    cmocka_unit_test(test_durations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
