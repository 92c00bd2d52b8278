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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nothing_changed),
	    cmocka_unit_test(test_policies_need_no_restart),
	    cmocka_unit_test(test_restart_settings_are_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
