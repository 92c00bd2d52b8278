/* Unit tests for src/shape/srcblock.c (source failover's blocks and the
 * failover width; rule triggers by count within a window) and the built-in
 * blocklist rules of src/shape/rules.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mail/reply.h"
#include "shape/rules.h"
#include "shape/srcblock.h"

static const char *const ips[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"};
#define NIPS 4

static void test_block_until_and_expiry(void **state)
{
	(void)state;
	struct srcblocks *b = srcblocks_new();
	assert_int_equal(srcblocks_until(b, "site", "10.0.0.1", 100), 0);
	srcblocks_set(b, "site", "10.0.0.1", 200);
	assert_int_equal(srcblocks_until(b, "site", "10.0.0.1", 100), 200);
	assert_int_equal(srcblocks_until(b, "other", "10.0.0.1", 100), 0); /* per site */
	assert_int_equal(srcblocks_until(b, "site", "10.0.0.2", 100), 0);  /* per source */
	srcblocks_set(b, "site", "10.0.0.1", 150); /* the later block stays */
	assert_int_equal(srcblocks_until(b, "site", "10.0.0.1", 100), 200);
	assert_int_equal(srcblocks_until(b, "site", "10.0.0.1", 200), 0); /* ended */
	srcblocks_prune(b, 200);
	assert_int_equal(srcblocks_count(b), 0);
	srcblocks_free(b);
}

static void test_pick_next_healthy_within_width(void **state)
{
	(void)state;
	struct srcblocks *b = srcblocks_new();
	int64_t until = 0;
	/* nothing blocked: the home source */
	assert_int_equal(srcblocks_pick(b, "s", NULL, ips, NIPS, 1, 2, 100, &until), 1);
	/* home blocked: the next one after it */
	srcblocks_set(b, "s", "10.0.0.2", 500);
	assert_int_equal(srcblocks_pick(b, "s", NULL, ips, NIPS, 1, 2, 100, &until), 2);
	/* the width bounds it: with both of width 2 blocked, the site waits for
	 * the earliest end, never a third source */
	srcblocks_set(b, "s", "10.0.0.3", 300);
	assert_int_equal(srcblocks_pick(b, "s", NULL, ips, NIPS, 1, 2, 100, &until), -1);
	assert_int_equal(until, 300);
	/* width 3 allows the third */
	assert_int_equal(srcblocks_pick(b, "s", NULL, ips, NIPS, 1, 3, 100, &until), 3);
	/* width 1: never another source */
	assert_int_equal(srcblocks_pick(b, "s", NULL, ips, NIPS, 1, 1, 100, &until), -1);
	assert_int_equal(until, 500);
	/* after the first block ends: back to the first healthy in order */
	assert_int_equal(srcblocks_pick(b, "s", NULL, ips, NIPS, 1, 2, 300, &until), 2);
	assert_int_equal(srcblocks_pick(b, "s", NULL, ips, NIPS, 1, 2, 500, &until), 1);
	srcblocks_free(b);
}

static void test_pick_wraps_and_width_larger_than_pool(void **state)
{
	(void)state;
	struct srcblocks *b = srcblocks_new();
	int64_t until = 0;
	srcblocks_set(b, "s", "10.0.0.4", 500);
	/* the home is the last: the next one wraps to the first */
	assert_int_equal(srcblocks_pick(b, "s", NULL, ips, NIPS, 3, 2, 100, &until), 0);
	/* a width above the pool's size is the pool's size */
	for (int i = 0; i < NIPS; i++)
		srcblocks_set(b, "s", ips[i], 400 + i);
	assert_int_equal(srcblocks_pick(b, "s", NULL, ips, NIPS, 0, 64, 100, &until), -1);
	assert_int_equal(until, 400);
	/* one source only: blocked means wait */
	assert_int_equal(srcblocks_pick(b, "s", NULL, ips, 1, 0, 2, 100, &until), -1);
	srcblocks_free(b);
}

static void test_provider_block_holds_for_its_sites(void **state)
{
	(void)state;
	struct srcblocks *b = srcblocks_new();
	int64_t until = 0;
	srcblocks_set(b, "provider:outlook", "10.0.0.1", 900);
	assert_int_equal(
	    srcblocks_pick(b, "a.site", "provider:outlook", ips, NIPS, 0, 2, 100, &until), 1);
	assert_int_equal(
	    srcblocks_pick(b, "b.site", "provider:outlook", ips, NIPS, 0, 2, 100, &until), 1);
	assert_int_equal(
	    srcblocks_pick(b, "c.site", "provider:gmail", ips, NIPS, 0, 2, 100, &until), 0);
	srcblocks_free(b);
}

static void test_trigger_count_within_window(void **state)
{
	(void)state;
	struct triggers *t = triggers_new();
	/* count 1: every match fires */
	assert_true(triggers_hit(t, "r", "site", 1, 0, 0));
	/* count 3 within 10 minutes: 2 matches do not fire, the 3rd does */
	int64_t w = 10 * 60 * 1000;
	assert_false(triggers_hit(t, "r3", "site", 3, w, 1000));
	assert_false(triggers_hit(t, "r3", "site", 3, w, 2000));
	assert_true(triggers_hit(t, "r3", "site", 3, w, 3000));
	/* counting starts again after it fired */
	assert_false(triggers_hit(t, "r3", "site", 3, w, 4000));
	assert_false(triggers_hit(t, "r3", "site", 3, w, 5000));
	assert_true(triggers_hit(t, "r3", "site", 3, w, 6000));
	/* matches that left the window do not count */
	assert_false(triggers_hit(t, "r3", "other", 3, w, 0));
	assert_false(triggers_hit(t, "r3", "other", 3, w, 1000));
	assert_false(triggers_hit(t, "r3", "other", 3, w, w + 500)); /* the first left */
	assert_true(triggers_hit(t, "r3", "other", 3, w, w + 600));
	/* per target and per rule */
	assert_false(triggers_hit(t, "r3", "third", 3, w, 0));
	assert_false(triggers_hit(t, "r2", "site", 2, w, 0));
	assert_true(triggers_hit(t, "r2", "site", 2, w, 1));
	triggers_free(t);
}

/* The built-in blocklist rules: their action, and what they leave alone. */
static void test_builtin_blocklist_rules(void **state)
{
	(void)state;
	struct config c;
	struct rules *r;
	struct err e;
	struct reply rep;
	memset(&c, 0, sizeof(c));
	assert_int_equal(rules_new(&c, &r, &e), 0);
	static const char *const blocks[] = {
	    "Client host [192.0.2.1] blocked using zen.spamhaus.org",
	    "Your IP 192.0.2.1 is listed at dnsbl.sorbs.net",
	    "Rejected: 192.0.2.1 listed in bl.spamcop.net",
	    "blocked using Barracuda Reputation; http://www.barracudanetworks.com/reputation/?ip=1",
	    "Unfortunately, messages from [192.0.2.1] weren't sent. (S3150)",
	    "[BL21] Connections will not be accepted from 192.0.2.1",
	};
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		reply_set_local(&rep, 554, "5.7.1", blocks[i]);
		const struct reply_rule *m = rules_match(r, STAGE_RCPT, &rep, "mx.example.com");
		assert_non_null(m);
		assert_int_equal(m->action, RULE_BLOCK_SOURCE);
		assert_int_equal(m->block_ms, RULE_BLOCK_DEFAULT_MS);
	}
	reply_set_local(&rep, 550, "5.7.606", "Access denied, banned sending IP [192.0.2.1]");
	assert_int_equal(rules_match(r, STAGE_RCPT, &rep, NULL)->action, RULE_BLOCK_SOURCE);
	/* throttles stay throttles; a recipient's refusal is no block */
	reply_set_local(&rep, 421, "4.7.0", "RP-001 rate limited");
	assert_int_equal(rules_match(r, STAGE_RCPT, &rep, NULL)->action, RULE_THROTTLE);
	reply_set_local(&rep, 550, "5.1.1", "User not listed in Domino Directory");
	assert_null(rules_match(r, STAGE_RCPT, &rep, NULL));
	reply_set_local(&rep, 550, "5.1.1", "User unknown");
	assert_null(rules_match(r, STAGE_RCPT, &rep, NULL));
	/* a listed domain or link is not the source IP: no failover */
	reply_set_local(&rep, 554, "5.7.1",
	                "Sender address rejected: domain listed in dbl.spamhaus.org");
	assert_null(rules_match(r, STAGE_RCPT, &rep, NULL));
	reply_set_local(&rep, 554, "5.7.1", "message rejected: URL listed in multi.uribl.com");
	assert_null(rules_match(r, STAGE_DOT, &rep, NULL));
	rules_free(r);
}

struct lifted {
	char sites[4][64];
	int64_t until[4];
	int n;
};

static void on_lift(void *arg, const char *site, int64_t until_s)
{
	struct lifted *l = arg;
	snprintf(l->sites[l->n], sizeof(l->sites[0]), "%s", site);
	l->until[l->n++] = until_s;
}

/* The listing is gone: only the watched blocks of that IP set before the
 * previous check end; a block renewed since, or one not watched (its reply
 * named no check.dnsbl zone), or of another IP, stays. */
static void test_lift_watched_blocks_set_before(void **state)
{
	struct srcblocks *b = srcblocks_new();
	struct lifted l = {0};

	(void)state;
	srcblocks_set_at(b, "a.test", "10.0.0.1", 5000, 1000000, 1);
	srcblocks_set_at(b, "provider:big", "10.0.0.1", 6000, 1500000, 1);
	srcblocks_set_at(b, "b.test", "10.0.0.1", 5000, 2500000, 1);  /* after the check */
	srcblocks_set_at(b, "c.test", "10.0.0.1", 5000, 1000000, 0);  /* not watched */
	srcblocks_set_at(b, "a.test", "10.0.0.11", 5000, 1000000, 1); /* another IP */
	assert_int_equal(srcblocks_lift(b, "10.0.0.1", 2000000, on_lift, &l), 2);
	assert_int_equal(l.n, 2);
	int a = strcmp(l.sites[0], "a.test") == 0 ? 0 : 1;
	assert_string_equal(l.sites[a], "a.test");
	assert_int_equal(l.until[a], 5000);
	assert_string_equal(l.sites[1 - a], "provider:big");
	assert_int_equal(srcblocks_until(b, "a.test", "10.0.0.1", 100), 0);
	assert_int_equal(srcblocks_until(b, "b.test", "10.0.0.1", 100), 5000);
	assert_int_equal(srcblocks_until(b, "c.test", "10.0.0.1", 100), 5000);
	assert_int_equal(srcblocks_until(b, "a.test", "10.0.0.11", 100), 5000);
	/* a renewal moves the block's time on: a later check lifts it */
	srcblocks_set_at(b, "b.test", "10.0.0.1", 5000, 2600000, 0);
	assert_int_equal(srcblocks_lift(b, "10.0.0.1", 2550000, NULL, NULL), 0);
	assert_int_equal(srcblocks_lift(b, "10.0.0.1", 2700000, NULL, NULL), 1);
	assert_int_equal(srcblocks_count(b), 2);
	srcblocks_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_block_until_and_expiry),
	    cmocka_unit_test(test_pick_next_healthy_within_width),
	    cmocka_unit_test(test_pick_wraps_and_width_larger_than_pool),
	    cmocka_unit_test(test_provider_block_holds_for_its_sites),
	    cmocka_unit_test(test_trigger_count_within_window),
	    cmocka_unit_test(test_builtin_blocklist_rules),
	    cmocka_unit_test(test_lift_watched_blocks_set_before),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
