/* Unit tests for src/shape: token buckets, throttle state, reply rules. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "shape/bucket.h"
#include "shape/provlimit.h"
#include "shape/rules.h"
#include "shape/throttle.h"
#include "shape/warmup.h"

static void test_bucket(void **state)
{
	struct bucket b;

	(void)state;
	bucket_init(&b, 0, 0); /* unlimited */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(bucket_take(&b, 0), 0);
	bucket_init(&b, 10.0 / 60, 0); /* 10/min: burst 1 */
	assert_int_equal(bucket_take(&b, 0), 0);
	int64_t wait = bucket_take(&b, 0);
	assert_true(wait > 5900 && wait <= 6001);
	assert_int_equal(bucket_take(&b, 6001), 0);
	bucket_init(&b, 5, 0); /* 5/s: a burst of 5, then one per 200 ms */
	for (int i = 0; i < 5; i++)
		assert_int_equal(bucket_take(&b, 0), 0);
	assert_true(bucket_take(&b, 0) > 0);
	assert_int_equal(bucket_take(&b, 201), 0);
}

static struct reply_rule rule(double factor, int64_t suspend_ms, int64_t duration_ms)
{
	struct reply_rule r;
	memset(&r, 0, sizeof(r));
	r.name = "test";
	r.factor = factor;
	r.suspend_ms = suspend_ms;
	r.duration_ms = duration_ms;
	return r;
}

static void test_throttle_suspend_scale_restore(void **state)
{
	struct policy p = {.max_connections = 8, .message_rate = 100};
	struct throttle t;

	(void)state;
	throttle_init(&t, &p, 0, 0);
	assert_int_equal(throttle_max_connections(&t, 0), 8);
	struct reply_rule r = rule(0.5, 1000, 10000);
	throttle_apply(&t, &r, "421 RP-001", 0);
	assert_true(throttle_suspended(&t, 500));
	assert_int_equal(throttle_wait_message(&t, 500), 500);
	assert_false(throttle_suspended(&t, 1000));
	assert_int_equal(throttle_max_connections(&t, 1000), 1); /* a probe first */
	throttle_delivered(&t, 1000);
	assert_int_equal(throttle_max_connections(&t, 1000), 4);
	assert_true(strstr(t.reason, "rule test: 421 RP-001") != NULL);
	/* quiet for a duration after the suspension: back to full */
	assert_int_equal(throttle_max_connections(&t, 11001), 8);
	/* the factor never drops below the floor, the cap never below one */
	r = rule(0.01, 0, 10000);
	for (int i = 0; i < 10; i++)
		throttle_apply(&t, &r, "x", 20000);
	assert_true(t.factor >= RULE_FACTOR_MIN);
	assert_int_equal(throttle_max_connections(&t, 20000), 1);
	/* suspensions are bounded */
	r = rule(0, 7LL * 24 * 3600 * 1000, 0);
	throttle_apply(&t, &r, "x", 0);
	assert_true(t.suspended_until_ms <= RULE_SUSPEND_MAX_MS);
}

/* "rate" and "connections" set ceilings that double back, one per quiet
 * duration, until they no longer limit anything. */
static void test_throttle_set_ceilings(void **state)
{
	struct policy p = {.max_connections = 10, .message_rate = 500};
	struct throttle t;
	struct reply_rule r = rule(0, 0, 1000);

	(void)state;
	r.set_rate = 50;
	r.set_connections = 2;
	throttle_init(&t, &p, 0, 0);
	throttle_apply(&t, &r, "421 too much mail", 0);
	assert_int_equal(throttle_max_connections(&t, 10), 2);
	assert_true(throttle_message_rate(&t) == 50);
	assert_int_equal(throttle_max_connections(&t, 1000), 4); /* one quiet duration */
	assert_true(throttle_message_rate(&t) == 100);
	assert_int_equal(throttle_max_connections(&t, 2000), 8);
	assert_int_equal(throttle_max_connections(&t, 3000), 10); /* 16 >= 10: gone */
	assert_true(throttle_message_rate(&t) == 400);
	throttle_max_connections(&t, 4000);
	assert_true(throttle_message_rate(&t) == 500); /* 800 >= 500: gone */
	assert_int_equal(t.restore_at_ms, 0);
	/* a site with no rate of its own gets the ceiling as its rate */
	struct policy free = {.max_connections = 10};
	throttle_init(&t, &free, 0, 0);
	r.set_connections = 0;
	r.set_rate = 5;
	throttle_apply(&t, &r, "x", 0);
	assert_true(throttle_message_rate(&t) == 5);
	assert_int_equal(throttle_max_connections(&t, 0), 2); /* 5/s feeds two sessions */
}

/* The rate learned is what went through over the first suspension's
 * length (a minute: the guess of the receiver's window), minus a margin. */
static void test_throttle_learns_a_rate_when_none_is_set(void **state)
{
	struct policy p = {.max_connections = 10};
	struct throttle t;

	(void)state;
	throttle_init(&t, &p, 0, 1);
	for (int i = 0; i < 100; i++)
		throttle_delivered(&t, 1 + i * 10); /* 100 messages in a second */
	struct reply_rule r = rule(0.5, 15 * 60000, 60000);
	throttle_apply(&t, &r, "421 too much mail", 1000);
	assert_true(throttle_suspended(&t, 60999) && !throttle_suspended(&t, 61000));
	double rate = throttle_message_rate(&t);
	assert_true(rate > 1.49 && rate < 1.51); /* 0.9 * 100 / 60 s */
}

/* A reload gives a site new limits: what a rule did (suspension, factor)
 * stays; a learned rate stays while no rate is configured. */
static void test_throttle_set_policy(void **state)
{
	struct policy was = {.max_connections = 8, .message_rate = 100};
	struct policy now = {.max_connections = 4, .message_rate = 10};
	struct throttle t;

	(void)state;
	throttle_init(&t, &was, 0, 0);
	struct reply_rule r = rule(0.5, 1000, 60000);
	throttle_apply(&t, &r, "421 slow down", 0);
	throttle_set_policy(&t, &was, &now, 10);
	assert_true(throttle_suspended(&t, 500));
	throttle_delivered(&t, 2000);                            /* the probe went through */
	assert_int_equal(throttle_max_connections(&t, 2000), 2); /* 4 * 0.5 */
	assert_true(throttle_message_rate(&t) == 5);

	/* no rate configured before or after: the learned one stays */
	struct policy none = {.max_connections = 10}, none2 = {.max_connections = 20};
	throttle_init(&t, &none, 0, 1);
	for (int i = 0; i < 100; i++)
		throttle_delivered(&t, 1 + i * 10);
	throttle_apply(&t, &r, "421 too much mail", 1000);
	double learned = throttle_message_rate(&t);
	throttle_set_policy(&t, &none, &none2, 1001);
	assert_true(throttle_message_rate(&t) == learned);
	/* a rate configured before, none now: unlimited again */
	throttle_init(&t, &was, 0, 0);
	throttle_set_policy(&t, &was, &none, 1);
	assert_true(throttle_message_rate(&t) == 0);
	assert_int_equal(throttle_wait_message(&t, 1), 0);
}

static void test_slow_start(void **state)
{
	struct policy p = {.max_connections = 4};
	struct throttle t;

	(void)state;
	throttle_init(&t, &p, 2, 0);
	assert_int_equal(throttle_max_connections(&t, 0), 2);
	throttle_delivered(&t, 1);
	assert_int_equal(throttle_max_connections(&t, 1), 2); /* none shown accepted yet */
	throttle_set_established(&t, 2);
	throttle_delivered(&t, 100);
	assert_int_equal(throttle_max_connections(&t, 100), 2); /* not that fast */
	throttle_delivered(&t, 300);
	assert_int_equal(throttle_max_connections(&t, 300), 3);
	throttle_delivered(&t, 600); /* the third is not open yet */
	assert_int_equal(throttle_max_connections(&t, 600), 3);
	throttle_set_established(&t, 3);
	for (int i = 0; i < 10; i++)
		throttle_delivered(&t, 1000 + i * 300);
	assert_int_equal(throttle_max_connections(&t, 5000), 4); /* never past the policy */
}

static void test_warmup_caps(void **state)
{
	struct source src = {
	    .warmup_day1 = 50, .warmup_site_day1 = 20, .warmup_growth = 2, .warmup_until = 1000};
	int64_t all, site;

	(void)state;
	warmup_caps(&src, 1, &all, &site);
	assert_int_equal(all, 50);
	assert_int_equal(site, 20);
	warmup_caps(&src, 3, &all, &site);
	assert_int_equal(all, 200);
	assert_int_equal(site, 80);
	warmup_caps(&src, 6, &all, &site); /* 1600 > until: warm-up is over */
	assert_int_equal(all, WARMUP_NO_CAP);
	assert_int_equal(site, WARMUP_NO_CAP);
	src.warmup_day1 = 0;
	warmup_caps(&src, 1, &all, &site);
	assert_int_equal(all, WARMUP_NO_CAP);
	assert_int_equal(warmup_day_of(86400 * 3 + 5), 3);
	assert_int_equal(warmup_next_day_s(86400 * 3 + 5), 86400 * 4);
}

static void test_connection_failures_back_off(void **state)
{
	struct policy p = {.max_connections = 10};
	struct throttle t;

	(void)state;
	throttle_init(&t, &p, 0, 0);
	throttle_connection_failed(&t, "refused", 0);
	throttle_connection_failed(&t, "refused", 0);
	assert_false(throttle_suspended(&t, 0));
	throttle_connection_failed(&t, "refused", 0);
	assert_true(throttle_suspended(&t, 59000));
	assert_false(throttle_suspended(&t, 60001));
	throttle_connection_failed(&t, "refused", 60001);
	assert_true(throttle_suspended(&t, 60001 + 119000)); /* doubled */
	throttle_connection_worked(&t);
	assert_int_equal(t.conn_failures, 0);
}

static void test_builtin_rules_match_known_replies(void **state)
{
	struct config c;
	struct rules *rs;
	struct err e;
	struct reply r;

	(void)state;
	config_defaults(&c);
	assert_int_equal(rules_new(&c, &rs, &e), 0);
	reply_set_local(&r, 421, "",
	                "RP-001 (BAY004-MC1F24) Unfortunately, some messages from 192.0.2.1 "
	                "weren't sent.");
	assert_string_equal(rules_match(rs, STAGE_RCPT, &r, "mx.hotmail.com")->name, "outlook-rp");
	reply_set_local(&r, 421, "4.7.0",
	                "[TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected "
	                "volume or user complaints");
	assert_string_equal(rules_match(rs, STAGE_MAIL, &r, "mta5.am0.yahoodns.net")->name,
	                    "yahoo-tss04");
	reply_set_local(&r, 421, "4.7.28", "Our system has detected an unusual rate");
	assert_string_equal(rules_match(rs, STAGE_DOT, &r, "gmail-smtp-in.l.google.com")->name,
	                    "gmail-4.7.28");
	reply_set_local(&r, 451, "4.7.500", "Server busy");
	assert_string_equal(rules_match(rs, STAGE_RCPT, &r, "x.mail.protection.outlook.com")->name,
	                    "outlook-4.7.5xx");
	assert_null(rules_match(rs, STAGE_RCPT, &r, "mx.example.com")); /* not Outlook */
	reply_set_local(&r, 421, "4.7.0", "Too many concurrent connections from your IP");
	assert_string_equal(rules_match(rs, STAGE_BANNER, &r, "mx.example.com")->name,
	                    "too-many-connections");
	reply_set_local(&r, 550, "5.1.1", "User unknown");
	assert_null(rules_match(rs, STAGE_RCPT, &r, "mx.example.com"));
	reply_set_local(&r, 250, "2.0.0", "RP-001 in a 250 is fine");
	assert_null(rules_match(rs, STAGE_DOT, &r, "mx.example.com"));
	rules_free(rs);
	config_free(&c);
}

/* provlimit: a connection cap and two buckets shared by a provider's sites;
 * the questions take nothing, the takes count. */
static void test_provlimit(void **state)
{
	struct provlimit p;

	(void)state;
	provlimit_init(&p, 2, 4, 0, 0); /* 2 open, 4 messages/s, new connections unlimited */
	assert_int_equal(provlimit_connection_wait(&p, 0), 0);
	assert_int_equal(provlimit_connection_wait(&p, 0), 0); /* asking takes nothing */
	assert_int_equal(provlimit_connection_room(&p, 0), 2);
	provlimit_connection_take(&p, 0);
	provlimit_connection_take(&p, 0);
	assert_int_equal(provlimit_connection_wait(&p, 0), PROVLIMIT_FULL);
	assert_int_equal(provlimit_connection_room(&p, 0), 0);
	provlimit_connection_closed(&p);
	assert_int_equal(provlimit_connection_wait(&p, 0), 0);
	assert_int_equal(provlimit_connection_room(&p, 0), 1);
	/* the message bucket: a second's burst, then one per 250 ms */
	assert_int_equal(provlimit_message_room(&p, 0), 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(provlimit_message_wait(&p, 0), 0);
		provlimit_message_take(&p, 0);
	}
	int64_t w = provlimit_message_wait(&p, 0);
	assert_true(w > 240 && w <= 251);
	assert_int_equal(provlimit_message_room(&p, 0), 0);
	assert_int_equal(provlimit_message_wait(&p, 251), 0);
	/* a connection rate and a reload: the open count is kept */
	provlimit_set(&p, 1, 0, 1, 1000);
	assert_int_equal(p.open, 1);
	assert_int_equal(provlimit_connection_wait(&p, 1000), PROVLIMIT_FULL);
	assert_int_equal(provlimit_message_room(&p, 1000), INT_MAX); /* rate 0: none */
	provlimit_connection_closed(&p);
	provlimit_connection_take(&p, 1000);
	provlimit_connection_closed(&p);
	w = provlimit_connection_wait(&p, 1000); /* 1/s: the next in a second */
	assert_true(w > 0 && w <= 1001);
	provlimit_connection_closed(&p); /* never below zero */
	assert_int_equal(p.open, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bucket),
	    cmocka_unit_test(test_throttle_suspend_scale_restore),
	    cmocka_unit_test(test_throttle_set_ceilings),
	    cmocka_unit_test(test_throttle_learns_a_rate_when_none_is_set),
	    cmocka_unit_test(test_slow_start),
	    cmocka_unit_test(test_warmup_caps),
	    cmocka_unit_test(test_throttle_set_policy),
	    cmocka_unit_test(test_connection_failures_back_off),
	    cmocka_unit_test(test_builtin_rules_match_known_replies),
	    cmocka_unit_test(test_provlimit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
