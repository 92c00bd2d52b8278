/* Unit tests for src/webhook/payload.c: the signature (a vector computed
 * with Python's hmac), the backoff schedule, batches as JSON, endpoint
 * labels; and the store's events as the dispatcher reads them
 * (store/events.c: order, cursors, skipping, pruning). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "../unit.h"
#include "mail/webhook_conf.h"
#include "store/events.h"
#include "store/store.h"
#include "webhook/webhook.h"

static void test_signature_vector(void **state)
{
	char sig[WEBHOOK_SIG_MAX];
	const char *body = "{\"events\":[]}";

	(void)state;
	/* python3: hmac.new(b"whsec_0123456789abcdef", b'1700000000.{"events":[]}',
	 *                   hashlib.sha256).hexdigest() */
	webhook_sign("whsec_0123456789abcdef", 1700000000, body, strlen(body), sig);
	assert_string_equal(sig,
	                    "v1=473a4242de662e4ffdbf788af4dc5863afc5ecc969d6d7fd36377e754b00d93e");
	webhook_sign("whsec_0123456789abcdeg", 1700000000, body, strlen(body), sig);
	assert_string_not_equal(
	    sig, "v1=473a4242de662e4ffdbf788af4dc5863afc5ecc969d6d7fd36377e754b00d93e");
}

static void test_backoff_schedule(void **state)
{
	(void)state;
	assert_int_equal(webhook_backoff_ms(1), 1000);
	assert_int_equal(webhook_backoff_ms(2), 2000);
	assert_int_equal(webhook_backoff_ms(3), 4000);
	assert_int_equal(webhook_backoff_ms(10), 512000);
	assert_int_equal(webhook_backoff_ms(11), 600000); /* capped at 10 min */
	assert_int_equal(webhook_backoff_ms(1000), 600000);
	/* retried for at least 24 hours: the waits of the first tries add up
	 * to less than a day, so the endpoint is tried many times in it */
	int64_t total = 0;
	int tries = 0;
	while (total < 24 * 3600 * 1000LL)
		total += webhook_backoff_ms(++tries);
	assert_true(tries > 140);
}

static void test_batch_json(void **state)
{
	struct store_event_row rows[2] = {
	    {1, "00112233445566778899aabbccddeeff", "acme", "delivered", 1700000000, "c1",
	     "a@example.com", "{\"code\":250,\"stage\":\"dot\"}"},
	    {2, "ffeeddccbbaa99887766554433221100", "", "site_suspended", 1700000001, NULL, NULL,
	     "not json"},
	};
	struct webhook_batch *b = webhook_batch_new();

	(void)state;
	assert_int_equal(webhook_batch_add(b, &rows[0]), 1);
	assert_int_equal(webhook_batch_add(b, &rows[1]), 2);
	char *body = webhook_batch_body(b);
	json_t *j = json_loads(body, 0, NULL);
	assert_non_null(j);
	json_t *evs = json_object_get(j, "events");
	assert_int_equal(json_array_size(evs), 2);
	json_t *e0 = json_array_get(evs, 0), *e1 = json_array_get(evs, 1);
	assert_string_equal(json_string_value(json_object_get(e0, "id")),
	                    "00112233445566778899aabbccddeeff");
	assert_string_equal(json_string_value(json_object_get(e0, "type")), "delivered");
	assert_int_equal(json_integer_value(json_object_get(e0, "time")), 1700000000);
	assert_string_equal(json_string_value(json_object_get(e0, "tenant")), "acme");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(e0, "data"), "code")),
	                 250);
	assert_true(json_is_null(json_object_get(e1, "tenant")));
	assert_true(json_is_null(json_object_get(e1, "recipient")));
	assert_true(json_is_object(json_object_get(e1, "data"))); /* bad data: {} */
	json_decref(j);
	free(body);
	webhook_batch_free(b);
}

static void test_filter_and_label(void **state)
{
	char *types[] = {"bounced", "complained"};
	struct webhook_conf w = {.url = "https://u:p@hooks.example.com/in?token=s#x",
	                         .tenant = "acme",
	                         .events = types,
	                         .nevents = 2};
	char label[WEBHOOK_LABEL_MAX];

	(void)state;
	assert_true(webhook_conf_wants(&w, "acme", "bounced"));
	assert_false(webhook_conf_wants(&w, "acme", "delivered"));
	assert_false(webhook_conf_wants(&w, "other", "bounced"));
	w.tenant = NULL;
	w.nevents = 0;
	assert_true(webhook_conf_wants(&w, "", "site_suspended"));
	webhook_endpoint_label(w.url, label, sizeof(label));
	assert_string_equal(label, "https://hooks.example.com/in");
	webhook_endpoint_label("http://127.0.8.1:8080/h\"x", label, sizeof(label));
	assert_string_equal(label, "http://127.0.8.1:8080/hx");
	assert_true(webhook_event_known("campaign_finished"));
	assert_false(webhook_event_known("opened"));
}

static void collect(void *arg, const struct store_event_row *r)
{
	int64_t *ids = arg;
	ids[++ids[0]] = r->id;
	assert_int_equal(strlen(r->uid), STORE_EVENT_UID_LEN);
}

static void test_store_events(void **state)
{
	char dir[64];
	struct store *st;
	struct err e;
	int64_t ids[16] = {0}, n, last, oldest;

	(void)state;
	assert_non_null(unit_tmpdir(dir, sizeof(dir)));
	assert_int_equal(store_open(dir, &st, &e), 0);
	for (int i = 0; i < 5; i++) {
		struct store_event ev = {"acme", "delivered",     1000 + i,
		                         "c1",   "a@example.com", "{}"};
		if (i == 4)
			ev.tenant = "other";
		assert_int_equal(store_event_add(st, &ev, &e), 0);
	}
	assert_int_equal(store_commit(st, &e), 0);
	assert_int_equal(store_events_after(st, 2, 10, collect, ids, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ids[1], 3);
	assert_int_equal(ids[3], 5);
	assert_int_equal(store_event_last_id(st, &last, &e), 0);
	assert_int_equal(last, 5);
	assert_int_equal(store_events_pending(st, 1, "acme", &n, &oldest, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(oldest, 1001);
	/* skipping what is older than 1003 lands just before event 4 */
	assert_int_equal(store_event_skip_to(st, 1, 1003, &last, &e), 0);
	assert_int_equal(last, 3);
	assert_int_equal(store_webhook_cursor(st, "http://x/", &last, &e), 0);
	assert_int_equal(store_webhook_cursor_set(st, "http://x/", 4, &e), 0);
	assert_int_equal(store_commit(st, &e), 0);
	assert_int_equal(store_webhook_cursor(st, "http://x/", &last, &e), 1);
	assert_int_equal(last, 4);
	/* pruning keeps the newest row, so ids keep growing; in batches, the
	 * oldest first */
	assert_int_equal(store_events_prune(st, 5000, 100, 3, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_commit(st, &e), 0);
	ids[0] = 0;
	assert_int_equal(store_events_after(st, 0, 10, collect, ids, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ids[1], 4);
	assert_int_equal(store_events_prune(st, 5000, 100, 3, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_commit(st, &e), 0);
	assert_int_equal(store_event_last_id(st, &last, &e), 0);
	assert_int_equal(last, 5);
	store_close(st);
	unit_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_signature_vector), cmocka_unit_test(test_backoff_schedule),
	    cmocka_unit_test(test_batch_json),       cmocka_unit_test(test_filter_and_label),
	    cmocka_unit_test(test_store_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
