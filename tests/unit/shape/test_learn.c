/* Unit tests for shape/learn through a site's throttle: a simulated world
 * with a stepped clock, a receiver that allows LIMIT messages per WINDOW
 * and MAX_CONNS connections per client (a "421 RP-001" past either, the
 * connection closed), and a sender that does what the engine does with the
 * throttle's answers (opens connections up to its cap, sends a message
 * when the rate allows, one at a time per connection, 5 ms per round trip). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "shape/learn.h"
#include "shape/throttle.h"

#define RTT_MS   5
#define CONNS    16
#define SENT_MAX 4096

struct receiver {
	int limit, max_conns;
	int64_t window_ms;
	int64_t accepted[SENT_MAX]; /* times */
	int naccepted, open;
};

struct conn {
	int state;     /* 0 closed, 1 greeting, 2 open */
	int64_t at_ms; /* greeting or answer due */
	int busy;      /* a message under way */
};

struct sim {
	struct receiver rcv;
	struct throttle thr;
	struct reply_rule rule;
	struct conn c[CONNS];
	int64_t now_ms;
	int pending, delivered;
	int refused, conn_refused;
	int64_t first_refusal_ms, last_refusal_ms, done_ms;
	int64_t suspensions[32]; /* each suspension's length */
	int nsusp;
};

static int receiver_count(struct receiver *r, int64_t now)
{
	int n = 0;
	for (int i = 0; i < r->naccepted; i++)
		if (now - r->accepted[i] < r->window_ms)
			n++;
	return n;
}

static void sim_init(struct sim *s, int limit, int64_t window_ms, int max_conns, int64_t rule_max)
{
	struct policy p = {.max_connections = 10};

	memset(s, 0, sizeof(*s));
	s->rcv.limit = limit;
	s->rcv.window_ms = window_ms;
	s->rcv.max_conns = max_conns;
	s->rule.name = "outlook-rp";
	s->rule.suspend_ms = rule_max;
	s->rule.factor = 0.5;
	s->rule.duration_ms = 15 * 60000;
	s->now_ms = 1000;
	throttle_init(&s->thr, &p, 2, s->now_ms);
}

static int established(const struct sim *s)
{
	int n = 0;
	for (int i = 0; i < CONNS; i++)
		n += s->c[i].state == 2;
	return n;
}

static int opened(const struct sim *s)
{
	int n = 0;
	for (int i = 0; i < CONNS; i++)
		n += s->c[i].state != 0;
	return n;
}

static void conn_close(struct sim *s, struct conn *c)
{
	c->state = 0;
	c->busy = 0;
	s->rcv.open--;
	throttle_set_established(&s->thr, established(s));
}

static void refusal(struct sim *s)
{
	if (!s->first_refusal_ms)
		s->first_refusal_ms = s->now_ms;
	s->last_refusal_ms = s->now_ms;
	int was = throttle_suspended(&s->thr, s->now_ms);
	throttle_apply(&s->thr, &s->rule, "421 RP-001", s->now_ms);
	if (!was && throttle_suspended(&s->thr, s->now_ms) && s->nsusp < 32)
		s->suspensions[s->nsusp++] = s->thr.suspended_until_ms - s->now_ms;
}

static void answers(struct sim *s)
{
	for (int i = 0; i < CONNS; i++) {
		struct conn *c = &s->c[i];
		if (c->state == 1 && c->at_ms <= s->now_ms) {
			if (established(s) >= s->rcv.max_conns) { /* refused at the greeting */
				s->conn_refused++;
				conn_close(s, c);
				if (!throttle_refused_connection(&s->thr, "421 RP-001", s->now_ms))
					refusal(s);
				continue;
			}
			c->state = 2;
			throttle_set_established(&s->thr, established(s));
		}
		if (c->state == 2 && c->busy && c->at_ms <= s->now_ms) {
			c->busy = 0;
			if (receiver_count(&s->rcv, s->now_ms) >= s->rcv.limit) {
				s->refused++;
				s->pending++;
				conn_close(s, c); /* RP-001 closes the connection */
				refusal(s);
				continue;
			}
			assert_true(s->rcv.naccepted < SENT_MAX);
			s->rcv.accepted[s->rcv.naccepted++] = s->now_ms;
			s->delivered++;
			throttle_delivered(&s->thr, s->now_ms);
		}
	}
}

static void sends(struct sim *s)
{
	int cap = throttle_max_connections(&s->thr, s->now_ms);

	for (int i = 0; i < CONNS; i++) { /* idle ones beyond the cap, or with no work, QUIT */
		struct conn *c = &s->c[i];
		if (c->state == 2 && !c->busy && (s->pending == 0 || opened(s) > cap))
			conn_close(s, c);
	}
	for (int i = 0; i < CONNS && s->pending > 0; i++) {
		struct conn *c = &s->c[i];
		if (c->state == 2 && !c->busy && throttle_wait_message(&s->thr, s->now_ms) == 0) {
			c->busy = 1;
			c->at_ms = s->now_ms + RTT_MS;
			s->pending--;
		}
	}
	for (int i = 0; i < CONNS && s->pending > opened(s) - established(s); i++) {
		struct conn *c = &s->c[i];
		if (c->state || opened(s) >= cap ||
		    throttle_wait_connection(&s->thr, s->now_ms) != 0)
			continue;
		c->state = 1;
		c->at_ms = s->now_ms + RTT_MS;
		s->rcv.open++;
	}
}

/* Sends n messages; returns when all are delivered or after until_ms. */
static void sim_run(struct sim *s, int n, int64_t step_ms, int64_t until_ms)
{
	int64_t start = s->now_ms;

	s->pending += n;
	s->delivered = 0;
	while (s->delivered < n && s->now_ms - start < until_ms) {
		answers(s);
		sends(s);
		s->now_ms += step_ms;
	}
	s->done_ms = s->now_ms - start;
}

/* A restart: a new throttle from what the old one would have kept. */
static void sim_restart(struct sim *s)
{
	struct learn_kept k;
	struct policy p = {.max_connections = 10};
	int64_t wall_s = 1767225600 + s->now_ms / 1000;

	learn_kept_of(&s->thr.lr, s->now_ms, wall_s, &k);
	s->now_ms += 2000; /* the process is down for two seconds */
	throttle_init(&s->thr, &p, 2, s->now_ms);
	throttle_restore_learned(&s->thr, &k, s->now_ms, wall_s + 2);
	for (int i = 0; i < CONNS; i++)
		if (s->c[i].state)
			conn_close(s, &s->c[i]);
}

/* The webmail-like receiver: 60 a minute, 3 connections per client.
 * At most 3 refusals in all to learn both limits, the delivery within 1.3
 * times what the receiver allows (150 messages at 60 a minute: 150 s); the
 * next campaign, after a restart, draws none. */
static void test_learns_a_minute_window_in_few_refusals(void **state)
{
	static struct sim s;

	(void)state;
	sim_init(&s, 60, 60000, 3, 15 * 60000);
	sim_run(&s, 150, 1, 600000);
	print_message("60/min, 3 conns: 150 delivered in %.1f s (allowed 150 s), %d refused "
	              "messages, %d refused connections, learned %.2f/s %d conns\n",
	              (double)s.done_ms / 1000, s.refused, s.conn_refused, s.thr.lr.rate,
	              s.thr.lr.connections);
	assert_int_equal(s.delivered, 150);
	assert_true(s.refused + s.conn_refused <= 3);
	assert_true(s.done_ms <= 150000 * 13 / 10);
	assert_true(s.nsusp == 1 && s.suspensions[0] == 60000); /* a minute, once */

	sim_restart(&s);
	int before = s.refused + s.conn_refused;
	sim_run(&s, 100, 1, 600000);
	print_message("after a restart: 100 delivered in %.1f s, %d refusals\n",
	              (double)s.done_ms / 1000, s.refused + s.conn_refused - before);
	assert_int_equal(s.delivered, 100);
	assert_int_equal(s.refused + s.conn_refused, before);
	assert_true(s.done_ms <= 100000 * 13 / 10);
}

/* A connection limit without a rate limit: the cap is learned from the
 * refusal at the greeting, nothing is suspended. */
static void test_learns_the_connection_cap(void **state)
{
	static struct sim s;
	struct policy p = {.max_connections = 10};

	(void)state;
	sim_init(&s, 100000, 60000, 3, 15 * 60000);
	throttle_init(&s.thr, &p, 5, s.now_ms); /* Postfix's start: five at once */
	sim_run(&s, 500, 1, 600000);
	assert_int_equal(s.delivered, 500);
	assert_int_equal(s.thr.lr.connections, 3);
	assert_int_equal(s.nsusp, 0);
	assert_true(s.conn_refused <= 2);
	int before = s.conn_refused;
	sim_run(&s, 500, 1, 600000);
	assert_int_equal(s.conn_refused, before); /* then never again */
}

/* A receiver whose window is an hour (100 an hour): the suspension grows
 * fourfold per refused probe (1, 4, 16, 60 minutes)
 * up to it within a few refusals, one probe each, never hammering; then
 * the learned rate holds with no more refusals. */
static void test_an_hour_window_is_reached_in_a_few_refusals(void **state)
{
	static struct sim s;

	(void)state;
	sim_init(&s, 100, 3600000, 10, 3600000);
	sim_run(&s, 300, 10, 6 * 3600000LL);
	print_message("100/hour: 300 delivered in %.1f h (allowed 3 h), %d refusals, "
	              "suspensions (min):",
	              (double)s.done_ms / 3600000, s.refused + s.conn_refused);
	for (int i = 0; i < s.nsusp; i++)
		print_message(" %lld", (long long)s.suspensions[i] / 60000);
	print_message("\n");
	assert_int_equal(s.delivered, 300);
	assert_true(s.nsusp <= 6);
	int64_t longest = 0;
	for (int i = 0; i < s.nsusp; i++) {
		if (i > 0) /* each repeated throttle lengthens it (bounded by the hour) */
			assert_true(s.suspensions[i] >= s.suspensions[i - 1] ||
			            s.suspensions[i] == 3600000);
		longest = s.suspensions[i] > longest ? s.suspensions[i] : longest;
	}
	assert_true(longest >= 32 * 60000);
	assert_true(s.nsusp >= 4 && s.suspensions[3] == 3600000); /* the hour, fourth time */
	assert_true(s.refused + s.conn_refused <= 8 + 2); /* a burst's first in-flight pair */
	assert_true(s.done_ms <= 3 * 3600000LL * 13 / 10 + 3600000);
}

/* What the store keeps comes back: suspension, level, rate, connections;
 * days without throttling let the rate and the cap grow. */
static void test_restore_and_daily_growth(void **state)
{
	struct learn l;
	struct learn_kept k = {.rate = 1.0,
	                       .ceiling = 1.0,
	                       .connections = 3,
	                       .level = 2,
	                       .throttled_s = 1000,
	                       .suspended_until_s = 1100};

	(void)state;
	learn_restore(&l, &k, 50000, 1030); /* 70 s of suspension left */
	assert_int_equal(l.suspended_until_ms, 50000 + 70000);
	assert_int_equal(learn_connections(&l), 1); /* a probe first */
	learn_delivered(&l, 120000);
	assert_int_equal(learn_connections(&l), 3);
	assert_true(learn_rate(&l) == 1.0);

	learn_restore(&l, &k, 50000, 1000 + 3 * 86400 + 5); /* three quiet days */
	assert_true(learn_rate(&l) > 1.33 && learn_rate(&l) < 1.34);
	assert_int_equal(learn_connections(&l), 6);
	assert_int_equal(l.level, 0);
	struct learn_kept back;
	learn_kept_of(&l, 50000, 1000 + 3 * 86400 + 5, &back);
	assert_true(back.ceiling == 1.0 && back.connections == 3); /* growth is not compounded */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_learns_a_minute_window_in_few_refusals),
	    cmocka_unit_test(test_learns_the_connection_cap),
	    cmocka_unit_test(test_an_hour_window_is_reached_in_a_few_refusals),
	    cmocka_unit_test(test_restore_and_daily_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
