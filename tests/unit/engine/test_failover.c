/* Unit tests for src/engine/failover.c over fake ports (engine_world.h):
 * a blocklist refusal moves the site to the pool's other source at once
 * (no bounce, no strike); with a failover width of 1 the site waits; a
 * reply rule with a trigger count of 3 does not fire on 2 matches and fires
 * on the 3rd; a campaign-scoped rule pauses the campaign. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "engine_world.h"

#define MIN_BACKOFF_S 300
#define SUSPEND_S     60 /* the first suspension: a minute (the rule allows 10) */

#define BASE                                                                                       \
	"sources:\n"                                                                               \
	"  - ip: 192.0.2.10\n"                                                                     \
	"    helo: mta1.example.com\n"                                                             \
	"  - ip: 192.0.2.11\n"                                                                     \
	"    helo: mta2.example.com\n"                                                             \
	"sender:\n"                                                                                \
	"  envelope_from: bounces@news.example.com\n"                                              \
	"delivery:\n"                                                                              \
	"  idle_timeout: 1s\n"                                                                     \
	"  provider_policies: false\n"                                                             \
	"  signing_threads: 0\n"                                                                   \
	"  max_messages_per_connection: 1\n"                                                       \
	"retry:\n"                                                                                 \
	"  min_backoff: 5m\n"                                                                      \
	"  max_backoff: 4000s\n"                                                                   \
	"  max_lifetime: 5d\n"

static const struct script_reply blocked[] = {
    {STAGE_RCPT, "554 5.7.1 Client host [192.0.2.10] blocked using zen.spamhaus.org"}};

static int delivered(struct world *w, const void *arg)
{
	(void)w;
	return ((const struct fake_rcpt *)arg)->state == RS_DELIVERED;
}

static void test_blocklist_reply_fails_over_to_the_next_source(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, BASE);
	w.all_pools = 1;
	struct fake_rcpt *a = add_rcpt(&w, "a@one.test", T0_S, blocked, 1);
	world_start(&w);
	run_until(&w, delivered, a, "a goes from the other source");
	assert_int_equal(a->tries, 2);
	assert_string_equal(w.last_source, "192.0.2.11");
	assert_true(w.wall_ms / 1000 < T0_S + 5); /* at once, not after a backoff */
	char *log = log_text(&w);
	assert_int_equal(count(log, "\"outcome\":\"source_blocked\""), 1);
	assert_int_equal(count(log, "\"outcome\":\"bounced\""), 0);
	assert_int_equal(count(log, "\"list_action\":\"strike\""), 0);
	assert_int_equal(count(log, "\"list_action\":\"hard_bounce\""), 0);
	assert_int_equal(count(log, "\"rule\":\"blocklist-blocked-using\""), 2);
	free(log);
	world_close(&w);
}

static void test_width_one_waits_never_bounces(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, BASE "pools:\n  - name: default\n    failover_width: 1\n"
	                    "rules:\n  - name: short-block\n    text: blocked using\n"
	                    "    action: block_source\n    block_for: 10m\n");
	w.all_pools = 1;
	struct fake_rcpt *a = add_rcpt(&w, "a@one.test", T0_S, blocked, 1);
	world_start(&w);
	run_until_updates(&w, a, 1, "the refusal is recorded");
	struct rcpt_count parked = {a, 1};
	run_until(&w, has_postpones, &parked, "retried at once, then parked for the block");
	settle(&w);
	assert_int_equal(a->state, RS_QUEUED);
	assert_int_equal(a->tries, 1);
	assert_string_equal(w.last_source, "192.0.2.10"); /* never the other */
	assert_int_equal(a->next_attempt_s, T0_S + 600);  /* when the block ends */
	world_advance(&w, 601 * 1000);
	run_until(&w, delivered, a, "after the block, from the same source");
	assert_string_equal(w.last_source, "192.0.2.10");
	world_close(&w);
}

/* A block longer than the lifetime: the mail waits to the lifetime's end,
 * then expires (never bounced, never sent from the blocked source again). */
static void test_blocked_past_the_lifetime_expires(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, BASE "pools:\n  - name: default\n    failover_width: 1\n"
	                    "rules:\n  - name: long-block\n    text: blocked using\n"
	                    "    action: block_source\n    block_for: 7d\n");
	w.all_pools = 1;
	struct fake_rcpt *a = add_rcpt(&w, "a@one.test", T0_S, blocked, 1);
	world_start(&w);
	struct rcpt_count parked = {a, 1};
	run_until(&w, has_postpones, &parked, "parked for the block");
	assert_int_equal(a->next_attempt_s, T0_S + 5 * 86400); /* the lifetime's end */
	world_advance(&w, 5 * 86400 * 1000LL);
	run_until(&w, broke, NULL, "it expires at the lifetime's end");
	assert_int_equal(a->state, RS_EXPIRED);
	assert_int_equal(a->tries, 1);
	world_close(&w);
}

static const struct script_reply rate_limited[] = {
    {STAGE_RCPT, "421 4.7.0 rate limit exceeded, slow down"}};

static void test_trigger_count_three(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, BASE "rules:\n  - name: third-time\n    code: 421\n"
	                    "    text: rate limit\n    suspend: 10m\n"
	                    "    trigger: {count: 3, within: 10m}\n");
	struct fake_rcpt *a = add_rcpt(&w, "a@one.test", T0_S, rate_limited, 1);
	world_start(&w);
	run_until_updates(&w, a, 1, "the first 421");
	/* one match: a plain deferral, the backoff, no suspension */
	assert_int_equal(a->next_attempt_s, T0_S + MIN_BACKOFF_S);
	struct fake_rcpt *b = add_rcpt(&w, "b@one.test", T0_S, rate_limited, 1);
	world_advance(&w, 1000);
	run_until_updates(&w, b, 1, "the second 421");
	assert_int_equal(b->next_attempt_s, T0_S + 1 + MIN_BACKOFF_S); /* still no rule */
	char *log = log_text(&w);
	assert_int_equal(count(log, "\"rule\":\"third-time\""), 0);
	free(log);
	struct fake_rcpt *c = add_rcpt(&w, "c@one.test", T0_S, rate_limited, 1);
	world_advance(&w, 1000);
	run_until_updates(&w, c, 1, "the third 421");
	/* the third fires: the site is suspended, c is due at its end */
	assert_int_equal(c->next_attempt_s, T0_S + 2 + SUSPEND_S + 1);
	log = log_text(&w);
	assert_int_equal(count(log, "\"rule\":\"third-time\""), 1);
	free(log);
	world_close(&w);
}

/* scope source: a match at one site suspends every site sent from that
 * source (here two.test too) */
static void test_source_scope_suspends_every_site_of_the_source(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, BASE "rules:\n  - name: ip-wide\n    code: 421\n"
	                    "    text: rate limit\n    suspend: 10m\n    scope: source\n");
	struct fake_rcpt *b = add_rcpt(&w, "b@two.test", T0_S, NULL, 0);
	world_start(&w);
	run_until(&w, delivered, b, "two.test is known (and its site made)");
	struct fake_rcpt *a = add_rcpt(&w, "a@one.test", T0_S, rate_limited, 1);
	world_advance(&w, 1000);
	run_until_updates(&w, a, 1, "one.test's 421");
	struct fake_rcpt *c = add_rcpt(&w, "c@two.test", T0_S, NULL, 0);
	world_advance(&w, 1000);
	settle(&w);
	assert_int_equal(c->tries, 0); /* two.test is suspended too */
	world_advance(&w, (SUSPEND_S + 1) * 1000);
	run_until(&w, delivered, c, "after the suspension");
	world_close(&w);
}

/* A site made after a source-scoped rule fired (a destination never seen
 * before, from that source) starts under the same suspension, until it
 * ends; one made after it ended is not held. */
static void test_source_scope_holds_sites_made_later(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, BASE "rules:\n  - name: ip-wide\n    code: 421\n"
	                    "    text: rate limit\n    suspend: 10m\n    scope: source\n");
	struct fake_rcpt *a = add_rcpt(&w, "a@one.test", T0_S, rate_limited, 1);
	world_start(&w);
	run_until_updates(&w, a, 1, "one.test's 421");
	world_advance(&w, 1000);
	struct fake_rcpt *c = add_rcpt(&w, "c@three.test", T0_S, NULL, 0);
	world_advance(&w, 1000);
	settle(&w);
	assert_int_equal(c->tries, 0); /* three.test was made suspended */
	world_advance(&w, (SUSPEND_S + 1) * 1000);
	run_until(&w, delivered, c, "after the suspension");
	struct fake_rcpt *d = add_rcpt(&w, "d@four.test", T0_S, NULL, 0);
	world_advance(&w, 1000);
	run_until(&w, delivered, d, "a site made after it ended goes at once");
	world_close(&w);
}

static void test_campaign_scope_pauses_the_campaign(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, BASE "rules:\n  - name: stop-it\n    code: 421\n"
	                    "    text: rate limit\n    suspend: 1m\n    scope: campaign\n"
	                    "    trigger: {count: 2, within: 10m}\n");
	struct fake_rcpt *a = add_rcpt(&w, "a@one.test", T0_S, rate_limited, 1);
	struct fake_rcpt *b = add_rcpt(&w, "b@two.test", T0_S, rate_limited, 1);
	world_start(&w);
	run_until_updates(&w, a, 1, "a's 421");
	run_until_updates(&w, b, 1, "b's 421");
	settle(&w);
	assert_int_equal(w.pauses, 1); /* the second match, across sites, pauses it */
	world_close(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blocklist_reply_fails_over_to_the_next_source),
	    cmocka_unit_test(test_width_one_waits_never_bounces),
	    cmocka_unit_test(test_blocked_past_the_lifetime_expires),
	    cmocka_unit_test(test_trigger_count_three),
	    cmocka_unit_test(test_source_scope_suspends_every_site_of_the_source),
	    cmocka_unit_test(test_source_scope_holds_sites_made_later),
	    cmocka_unit_test(test_campaign_scope_pauses_the_campaign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
