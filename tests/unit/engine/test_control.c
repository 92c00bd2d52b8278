/* Unit tests for src/engine/control.c's one-shot controls over fake ports
 * (engine_world.h): a retry makes a deferred recipient due now and ends a
 * reply rule's suspension; a purge ends a domain's queued recipients as
 * bounced (purged), the one waiting in memory unsent; a move sends the rest
 * of a campaign from the other pool's source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "engine_world.h"

#define MIN_BACKOFF_S 300
#define SUSPEND_S     60

static const char config_yaml[] = "sources:\n"
                                  "  - ip: 192.0.2.10\n"
                                  "    helo: mta1.example.com\n"
                                  "  - ip: 192.0.2.11\n"
                                  "    helo: mta2.example.com\n"
                                  "    pool: other\n"
                                  "sender:\n"
                                  "  envelope_from: bounces@news.example.com\n"
                                  "delivery:\n"
                                  "  idle_timeout: 1s\n"
                                  "  provider_policies: false\n"
                                  "  signing_threads: 0\n"
                                  "retry:\n"
                                  "  min_backoff: 5m\n"
                                  "  max_backoff: 4000s\n"
                                  "  max_lifetime: 5d\n"
                                  "policies:\n"
                                  "  - domain: slow.test\n"
                                  "    message_rate: 1/min\n"
                                  "rules:\n"
                                  "  - name: test-rate-limit\n"
                                  "    code: 421\n"
                                  "    text: \"rate limit\"\n"
                                  "    suspend: 10m\n";

static const struct script_reply try_later[] = {
    {STAGE_RCPT, "451 4.3.0 local error in processing"}};

static const struct script_reply rate_limited[] = {
    {STAGE_RCPT, "421 4.7.0 rate limit exceeded, slow down"}};

static int delivered(struct world *w, const void *arg)
{
	(void)w;
	return ((const struct fake_rcpt *)arg)->state == RS_DELIVERED;
}

static int bounced(struct world *w, const void *arg)
{
	(void)w;
	return ((const struct fake_rcpt *)arg)->state == RS_BOUNCED;
}

static int req_done(struct world *w, const void *arg)
{
	(void)arg;
	return w->req_done;
}

static void ask(struct world *w, const char *kind, const char *scope, const char *target,
                const char *campaign)
{
	w->req = (struct control_request){.id = 7,
	                                  .kind = kind,
	                                  .scope = scope,
	                                  .target = target,
	                                  .campaign = campaign,
	                                  .reason = "operator says so",
	                                  .time_s = w->wall_ms / 1000};
	w->req_done = 0;
}

/* A deferred recipient (due after its backoff) goes again at once. */
static void test_retry_skips_the_backoff(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	struct fake_rcpt *a = add_rcpt(&w, "a@one.test", T0_S, try_later, 1);
	world_start(&w);
	run_until_updates(&w, a, 1, "the first attempt is deferred");
	assert_int_equal(a->next_attempt_s, T0_S + MIN_BACKOFF_S);
	world_advance(&w, 10 * 1000);
	settle(&w);
	assert_int_equal(a->tries, 1);
	ask(&w, "retry", "site", "mx.one.test", NULL);
	world_advance(&w, 1000);
	run_until(&w, req_done, NULL, "the retry is performed");
	assert_string_equal(w.req_result, "1 sites retried now");
	assert_true(w.due_now >= 1);
	world_advance(&w, 1000);
	run_until(&w, broke, NULL, "retried now: delivered");
	assert_int_equal(a->state, RS_DELIVERED);
	assert_int_equal(a->attempts, 2);
	assert_true(w.wall_ms / 1000 < T0_S + MIN_BACKOFF_S);
	world_close(&w);
}

/* A reply rule's suspension ends: what it parked goes now. */
static void test_retry_ends_a_suspension(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	struct fake_rcpt *a = add_rcpt(&w, "a@one.test", T0_S, rate_limited, 1);
	struct fake_rcpt *b = add_rcpt(&w, "b@one.test", T0_S, NULL, 0);
	world_start(&w);
	run_until_updates(&w, a, 1, "the 421 suspends the site");
	struct rcpt_count parked = {b, 1};
	run_until(&w, has_postpones, &parked, "b is parked until the suspension ends");
	assert_int_equal(a->next_attempt_s, T0_S + SUSPEND_S + 1);
	assert_int_equal(b->tries, 0);
	world_advance(&w, 5 * 1000);
	settle(&w);
	int conns = w.conns_started;
	ask(&w, "retry", "source", "192.0.2.10", NULL);
	world_advance(&w, 1000);
	run_until(&w, req_done, NULL, "the retry is performed");
	world_advance(&w, 1000);
	run_until(&w, broke, NULL, "both delivered before the suspension's end");
	assert_int_equal(a->state, RS_DELIVERED);
	assert_int_equal(b->state, RS_DELIVERED);
	assert_true(w.conns_started > conns);
	assert_true(w.wall_ms / 1000 < T0_S + SUSPEND_S);
	world_close(&w);
}

/* The recipient waiting at the site in memory is dropped and ends purged,
 * never sent; the one already delivered stays delivered; another domain
 * is untouched. */
static void test_purge_ends_a_domain_unsent(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	struct fake_rcpt *a = add_rcpt(&w, "a@slow.test", T0_S, NULL, 0);
	struct fake_rcpt *b = add_rcpt(&w, "b@slow.test", T0_S, NULL, 0);
	struct fake_rcpt *c = add_rcpt(&w, "c@one.test", T0_S, try_later, 1);
	world_start(&w);
	run_until(&w, delivered, a, "the first goes at once");
	run_until_updates(&w, c, 1, "the other domain's is deferred");
	settle(&w);
	assert_int_equal(b->tries, 0); /* 1/min: waits at the site */
	ask(&w, "purge", "domain", "slow.test", NULL);
	world_advance(&w, 1000);
	run_until(&w, bounced, b, "b is purged");
	assert_true(w.req_done);
	assert_string_equal(w.req_result, "1 queued recipients purged");
	world_advance(&w, 120 * 1000);
	settle(&w);
	assert_int_equal(b->tries, 0);
	assert_string_equal(b->category, "purged");
	assert_int_equal(a->state, RS_DELIVERED);
	assert_int_equal(c->state, RS_QUEUED);
	char *log = log_text(&w);
	assert_int_equal(count(log, "\"stage\":\"purge\""), 1);
	assert_int_equal(count(log, "\"category\":\"purged\""), 1);
	assert_int_equal(count(log, "operator says so"), 1);
	free(log);
	world_close(&w);
}

/* The campaign's waiting recipient goes back to the store and leaves from
 * the other pool's source, at once (a new site there, its own rate). */
static void test_move_sends_the_rest_from_the_other_pool(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	w.all_pools = 1;
	struct fake_rcpt *a = add_rcpt(&w, "a@slow.test", T0_S, NULL, 0);
	struct fake_rcpt *b = add_rcpt(&w, "b@slow.test", T0_S, NULL, 0);
	world_start(&w);
	run_until(&w, delivered, a, "the first goes at once");
	assert_string_equal(w.last_source, "192.0.2.10");
	settle(&w);
	assert_int_equal(b->tries, 0);
	ask(&w, "move", "pool", "other", "c1");
	world_advance(&w, 1000);
	run_until(&w, req_done, NULL, "the move is performed");
	run_until(&w, delivered, b, "b leaves from the other pool");
	assert_int_equal(b->tries, 1);
	assert_string_equal(w.last_source, "192.0.2.11");
	assert_true(w.wall_ms / 1000 < T0_S + 60); /* not after the old site's rate */
	char *log = log_text(&w);
	assert_int_equal(count(log, "\"source_ip\":\"192.0.2.11\""), 1);
	free(log);
	world_close(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retry_skips_the_backoff),
	    cmocka_unit_test(test_retry_ends_a_suspension),
	    cmocka_unit_test(test_purge_ends_a_domain_unsent),
	    cmocka_unit_test(test_move_sends_the_rest_from_the_other_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
