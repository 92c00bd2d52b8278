/* Unit tests for src/store/idempotency.c: a record is found within the
 * window only, per tenant, replaced once expired, and lost with a
 * rolled-back (uncommitted) transaction like the effect it answers for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mail/tenant.h"
#include "store/idempotency.h"
#include "store/store.h"

static void test_window_and_tenants(void **state)
{
	char dir[] = "/tmp/sluice-idem-XXXXXX";
	struct store *s;
	struct store_idem r = {.status = 202, .body = "{\"id\":\"q1\"}", .created_s = 1000}, got;
	struct err e;
	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_open(dir, &s, &e), 0);
	memset(r.hash, 7, sizeof(r.hash));
	assert_int_equal(store_idem_put(s, "acme", "k1", &r, &e), 0);
	assert_int_equal(store_commit(s, &e), 0);
	assert_int_equal(store_idem_get(s, "acme", "k1", 900, &got, &e), 1);
	assert_int_equal(got.status, 202);
	assert_string_equal(got.body, "{\"id\":\"q1\"}");
	assert_memory_equal(got.hash, r.hash, sizeof(r.hash));
	store_idem_free(&got);
	assert_int_equal(store_idem_get(s, "beta", "k1", 900, &got, &e), 0);  /* per tenant */
	assert_int_equal(store_idem_get(s, "acme", "k1", 1001, &got, &e), 0); /* expired */
	int64_t n = 0;
	assert_int_equal(store_idem_expire(s, 1001, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_commit(s, &e), 0);
	store_close(s);
	/* not committed: gone with the process, like the effect */
	assert_int_equal(store_open(dir, &s, &e), 0);
	r.created_s = 2000;
	assert_int_equal(store_idem_put(s, "acme", "k2", &r, &e), 0);
	char owner[64];
	struct campaign_rec c1 = {.id = "c-1",
	                          .template_text = "",
	                          .template_path = "t",
	                          .names = "",
	                          .envelope_from = "b@x.test",
	                          .salt = "s"};
	assert_int_equal(store_campaign_add(s, &c1, &e), 0);
	assert_int_equal(store_campaign_owner(s, "c-1", owner, sizeof(owner), &e), 1);
	assert_string_equal(owner, TENANT_DEFAULT); /* a campaign added without a tenant */
	assert_int_equal(store_campaign_owner_set(s, "c-1", "acme", &e), 0);
	assert_int_equal(store_campaign_owner(s, "c-1", owner, sizeof(owner), &e), 1);
	assert_string_equal(owner, "acme");
	assert_int_equal(store_campaign_owner(s, "c-2", owner, sizeof(owner), &e), 0);
	store_close(s); /* commits what is pending */
	assert_int_equal(store_open(dir, &s, &e), 0);
	assert_int_equal(store_idem_get(s, "acme", "k2", 0, &got, &e), 1);
	store_idem_free(&got);
	store_close(s);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_window_and_tenants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
