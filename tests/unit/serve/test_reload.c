/* Unit tests of serve/reload.c: which changed settings a reload leaves to
 * the next restart, named as in the config file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mail/config.h"
#include "serve/reload.h"
#include "unit.h"

static const char *BASE = "sources:\n"
                          "  - {ip: 192.0.2.1, helo: mta1.example.com}\n"
                          "sender: {envelope_from: b@example.com, from_domain: example.com}\n"
                          "inbound: {listen: 127.0.0.1:2525, max_connections: 10}\n";

static void load(const char *text, struct config *c)
{
	char path[64];
	struct err e;

	unit_tmpfile(path, sizeof(path), ".yaml", text);
	if (config_load(path, c, &e) != 0)
		fail_msg("%s", e.msg);
	unlink(path);
}

static size_t changes(const char *a, const char *b, const char **out)
{
	struct config x, y;

	load(a, &x);
	load(b, &y);
	size_t n = serve_restart_changes(&x, &y, out, RELOAD_RESTART_MAX);
	config_free(&x);
	config_free(&y);
	return n;
}

static void test_nothing_changed(void **state)
{
	const char *out[RELOAD_RESTART_MAX];

	(void)state;
	assert_int_equal(changes(BASE, BASE, out), 0);
}

/* Policies, rules, monitor and retry settings apply at once: not named. */
static void test_policies_need_no_restart(void **state)
{
	const char *out[RELOAD_RESTART_MAX];
	char next[2048];

	(void)state;
	snprintf(next, sizeof(next),
	         "%sretry: {max_lifetime: 1d}\nmonitor: {complaint_pause: 1%%}\n"
	         "policies:\n  - {domain: example.net, max_connections: 2}\n"
	         "classify:\n  - {code: 5xx, text: vacation, category: mailbox_disabled}\n",
	         BASE);
	assert_int_equal(changes(BASE, next, out), 0);
}

static void test_restart_settings_are_named(void **state)
{
	const char *out[RELOAD_RESTART_MAX];
	const char *next = "state_dir: /srv/other\n"
	                   "sources:\n"
	                   "  - {ip: 192.0.2.2, helo: mta2.example.com}\n"
	                   "sender: {envelope_from: b@example.com, from_domain: example.com}\n"
	                   "dns: {resolvers: [192.0.2.53]}\n"
	                   "inbound: {listen: 127.0.0.1:25, max_connections: 20,\n"
	                   "          http_listen: 127.0.0.1:8080}\n"
	                   "http: {status_token: 0123456789abcdef0123456789abcdef}\n";

	(void)state;
	size_t n = changes(BASE, next, out);
	const char *want[] = {"state_dir",        "dns.resolvers",       "sources",
	                      "inbound.listen",   "inbound.http_listen", "inbound.max_connections",
	                      "http.status_token"};
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++) {
		int found = 0;
		for (size_t k = 0; k < n; k++)
			found |= strcmp(out[k], want[i]) == 0;
		if (!found)
			fail_msg("%s not named", want[i]);
	}
}

/* With submission and the API: every listener setting is named; a tenant's
 * password and the Idempotency-Key window are not (read when used). */
static const char *SUBMIT = "tenants:\n"
                            "  - name: news\n"
                            "    sender_domains: [example.com]\n"
                            "    smtp_users:\n"
                            "      - user: news-app\n"
                            "        password_hash: \"$6$saltsalt$%s\"\n"
                            "submission: {listen: 127.0.0.1:587, listen_tls: 127.0.0.1:465,\n"
                            "             tls_cert: /etc/%s.pem, tls_key: /etc/%s.key%s}\n"
                            "api: {listen: 127.0.0.1:%d%s}\n";

/* webhooks: a change among endpoints is applied by serve (its dispatcher
 * starts again); only webhooks where there were none need a restart (the
 * engine writes no events): named once, as "webhooks". */
static void test_webhooks_are_named(void **state)
{
	const char *out[RELOAD_RESTART_MAX];
	char a[2048], b[2048], c[2048];
	const char *hook = "webhooks:\n  - {url: \"http://127.0.0.1:9/h\", secret: "
	                   "\"0123456789abcdef0123456789abcdef\"%s}\n";

	(void)state;
	snprintf(a, sizeof(a), "%s", BASE);
	snprintf(a + strlen(a), sizeof(a) - strlen(a), hook, "");
	snprintf(b, sizeof(b), "%s", BASE);
	snprintf(b + strlen(b), sizeof(b) - strlen(b), hook, ", events: [bounced]");
	snprintf(c, sizeof(c), "%s", BASE);
	assert_int_equal(changes(a, a, out), 0);
	assert_int_equal(changes(a, b, out), 0);
	assert_int_equal(changes(a, c, out), 0);
	assert_int_equal(changes(c, a, out), 1);
	assert_string_equal(out[0], "webhooks");
}

static void test_submission_and_api_listeners_are_named(void **state)
{
	const char *out[RELOAD_RESTART_MAX];
	char a[2048], b[2048], c[2048];

	(void)state;
	snprintf(a, sizeof(a), "%s", BASE);
	snprintf(a + strlen(a), sizeof(a) - strlen(a), SUBMIT, "abcdefghijklmnopqrstuv", "one",
	         "one", "", 8080, "");
	snprintf(b, sizeof(b), "%s", BASE);
	snprintf(
	    b + strlen(b), sizeof(b) - strlen(b), SUBMIT, "abcdefghijklmnopqrstuv", "two", "two",
	    ", max_message_size: 10MB, max_connections: 5, max_connections_per_ip: 2,\n"
	    "             auth_max_failures: 9, auth_lockout: 1h, idle_timeout: 30s",
	    8081, ", max_body: 1MB, max_connections: 7, max_connections_per_ip: 3, timeout: 5s");
	size_t n = changes(a, b, out);
	const char *want[] = {"submission.tls_cert",
	                      "submission.tls_key",
	                      "submission.max_message_size",
	                      "submission.max_connections",
	                      "submission.max_connections_per_ip",
	                      "submission.auth_max_failures",
	                      "submission.auth_lockout",
	                      "submission.idle_timeout",
	                      "api.listen",
	                      "api.max_body",
	                      "api.max_connections",
	                      "api.max_connections_per_ip",
	                      "api.timeout"};
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++)
		assert_string_equal(out[i], want[i]);

	/* a new password hash and idempotency window: in force at once */
	snprintf(c, sizeof(c), "%s", BASE);
	snprintf(c + strlen(c), sizeof(c) - strlen(c), SUBMIT, "zyxwvutsrqponmlkjihgfe", "one",
	         "one", "", 8080, ", idempotency_window: 48h");
	assert_int_equal(changes(a, c, out), 0);

	/* the listeners' addresses, and one turned off */
	snprintf(c, sizeof(c),
	         "%stenants:\n  - name: news\n    sender_domains: [example.com]\n"
	         "    smtp_users:\n      - user: news-app\n"
	         "        password_hash: \"$6$saltsalt$abcdefghijklmnopqrstuv\"\n"
	         "submission: {listen: 127.0.0.1:2587, auth_without_tls: true}\n",
	         BASE);
	n = changes(a, c, out);
	const char *want2[] = {"submission.listen",           "submission.listen_tls",
	                       "submission.tls_cert",         "submission.tls_key",
	                       "submission.auth_without_tls", "api.listen"};
	assert_int_equal(n, sizeof(want2) / sizeof(want2[0]));
	for (size_t i = 0; i < n; i++)
		assert_string_equal(out[i], want2[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nothing_changed),
	    cmocka_unit_test(test_policies_need_no_restart),
	    cmocka_unit_test(test_restart_settings_are_named),
	    cmocka_unit_test(test_webhooks_are_named),
	    cmocka_unit_test(test_submission_and_api_listeners_are_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
