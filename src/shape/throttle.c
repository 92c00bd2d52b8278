/* throttle: see throttle.h. */
#include "shape/throttle.h"

#include <stdio.h>
#include <string.h>

#define CONN_FAILURES_BEFORE_SUSPEND 3
#define CONN_SUSPEND_FIRST_MS        (60 * 1000)
#define CONN_SUSPEND_MAX_MS          (30 * 60 * 1000)
#define RATE_WINDOW_MS               5000
#define MSGS_PER_SESSION_PER_S       5.0
#define LEARNED_RATE_MIN             (1.0 / 60) /* one message a minute */

double throttle_message_rate(const struct throttle *t)
{
	double r = t->base.message_rate * t->factor;

	if (t->ceil_rate > 0 && (r <= 0 || t->ceil_rate < r))
		r = t->ceil_rate;
	return r;
}

static void set_rates(struct throttle *t, int64_t now_ms)
{
	bucket_set_rate(&t->messages, throttle_message_rate(t), now_ms);
	bucket_set_rate(&t->connections, t->base.connection_rate * t->factor, now_ms);
}

void throttle_init(struct throttle *t, const struct policy *p, int initial, int64_t now_ms)
{
	memset(t, 0, sizeof(*t));
	t->base = *p;
	t->factor = 1.0;
	t->ramp = initial > 0 ? initial : p->max_connections;
	bucket_init(&t->messages, p->message_rate, now_ms);
	bucket_init(&t->connections, p->connection_rate, now_ms);
}

void throttle_set_policy(struct throttle *t, const struct policy *was, const struct policy *p,
                         int64_t now_ms)
{
	double rate = t->base.message_rate;

	t->base = *p;
	if (p->message_rate <= 0 && was->message_rate <= 0)
		t->base.message_rate = rate; /* learned (throttle_apply), or still none */
	set_rates(t, now_ms);
}

/* A ceiling doubles per step and goes once it no longer limits anything
 * (past the policy's value, or past 64 times itself when the policy has no
 * limit). */
static double ceiling_step(double ceil, double base, double first)
{
	double next = ceil * 2;
	return (base > 0 && next >= base) || (base <= 0 && next >= first * 64) ? 0 : next;
}

/* Steps the factor and the ceilings back up, one doubling per quiet duration. */
static void restore(struct throttle *t, int64_t now_ms)
{
	while ((t->factor < 1.0 || t->ceil_rate > 0 || t->ceil_connections > 0) &&
	       t->restore_at_ms && now_ms >= t->restore_at_ms) {
		t->factor = t->factor * 2 >= 1.0 ? 1.0 : t->factor * 2;
		t->ceil_rate = ceiling_step(t->ceil_rate, t->base.message_rate, t->first_ceil_rate);
		t->ceil_connections = (int)ceiling_step(
		    t->ceil_connections, t->base.max_connections, t->first_ceil_connections);
		if (t->factor >= 1.0 && !t->ceil_rate && !t->ceil_connections)
			t->restore_at_ms = 0;
		else
			t->restore_at_ms += t->step_ms;
		set_rates(t, now_ms);
	}
}

int throttle_suspended(const struct throttle *t, int64_t now_ms)
{
	return t->suspended_until_ms > now_ms;
}

int throttle_max_connections(struct throttle *t, int64_t now_ms)
{
	restore(t, now_ms);
	int n = (int)(t->base.max_connections * t->factor);
	if (t->ceil_connections > 0 && t->ceil_connections < n)
		n = t->ceil_connections;
	if (t->ramp < n)
		n = t->ramp;
	/* A rate-limited site needs no more sessions than the rate can feed
	 * (a session sends a few messages a second): never idle connections. */
	double rate = throttle_message_rate(t);
	if (rate > 0 && rate / MSGS_PER_SESSION_PER_S < n)
		n = (int)(rate / MSGS_PER_SESSION_PER_S) + 1;
	return n < 1 ? 1 : n;
}

int64_t throttle_wait_message(struct throttle *t, int64_t now_ms)
{
	restore(t, now_ms);
	if (throttle_suspended(t, now_ms))
		return t->suspended_until_ms - now_ms;
	return bucket_take(&t->messages, now_ms);
}

int64_t throttle_wait_connection(struct throttle *t, int64_t now_ms)
{
	restore(t, now_ms);
	if (throttle_suspended(t, now_ms))
		return t->suspended_until_ms - now_ms;
	return bucket_take(&t->connections, now_ms);
}

void throttle_apply(struct throttle *t, const struct reply_rule *r, const char *reply_text,
                    int64_t now_ms)
{
	int64_t suspend = r->suspend_ms > RULE_SUSPEND_MAX_MS ? RULE_SUSPEND_MAX_MS : r->suspend_ms;

	if (suspend && now_ms + suspend > t->suspended_until_ms)
		t->suspended_until_ms = now_ms + suspend;
	if (r->factor > 0 && t->base.message_rate <= 0) {
		/* No configured rate: the rate that got us throttled is the base
		 * (learned once; the factor then does the rest). */
		double seen = t->observed_rate;
		if (now_ms - t->window_start_ms > 0 && t->window_count > 0) {
			double cur = (double)t->window_count * 1000.0 /
			             (double)(now_ms - t->window_start_ms);
			if (cur > seen)
				seen = cur;
		}
		/* Nothing accepted yet (a refusal at the greeting): there is no rate
		 * to learn, only the connection cap is scaled. */
		if (seen > 0)
			t->base.message_rate = seen > LEARNED_RATE_MIN ? seen : LEARNED_RATE_MIN;
	}
	if (r->factor > 0) {
		double f = t->factor * r->factor;
		t->factor = f < RULE_FACTOR_MIN ? RULE_FACTOR_MIN : f;
	}
	if (r->set_rate > 0) /* a ceiling only lowers: two rules keep the lower */
		t->ceil_rate = t->first_ceil_rate =
		    t->ceil_rate > 0 && t->ceil_rate < r->set_rate ? t->ceil_rate : r->set_rate;
	if (r->set_connections > 0)
		t->ceil_connections = t->first_ceil_connections =
		    t->ceil_connections > 0 && t->ceil_connections < r->set_connections
		        ? t->ceil_connections
		        : r->set_connections;
	if (r->factor > 0 || r->set_rate > 0 || r->set_connections > 0) {
		t->step_ms = r->duration_ms > 0 ? r->duration_ms : 15 * 60 * 1000;
		/* the new limits start after the suspension; restoring after that */
		t->restore_at_ms = (suspend ? now_ms + suspend : now_ms) + t->step_ms;
		set_rates(t, now_ms);
	}
	snprintf(t->reason, sizeof(t->reason), "rule %s: %s", r->name, reply_text);
}

void throttle_connection_failed(struct throttle *t, const char *why, int64_t now_ms)
{
	if (++t->conn_failures < CONN_FAILURES_BEFORE_SUSPEND)
		return;
	int64_t ms = CONN_SUSPEND_FIRST_MS;
	for (int i = CONN_FAILURES_BEFORE_SUSPEND; i < t->conn_failures && ms < CONN_SUSPEND_MAX_MS;
	     i++)
		ms *= 2;
	if (ms > CONN_SUSPEND_MAX_MS)
		ms = CONN_SUSPEND_MAX_MS;
	t->suspended_until_ms = now_ms + ms;
	snprintf(t->reason, sizeof(t->reason), "%d connection failures in a row: %s",
	         t->conn_failures, why);
}

void throttle_connection_worked(struct throttle *t)
{
	t->conn_failures = 0;
}

void throttle_delivered(struct throttle *t, int64_t now_ms)
{
	if (t->ramp < t->base.max_connections)
		t->ramp++;
	if (t->window_start_ms == 0)
		t->window_start_ms = now_ms;
	if (now_ms - t->window_start_ms >= RATE_WINDOW_MS) {
		t->observed_rate =
		    (double)t->window_count * 1000.0 / (double)(now_ms - t->window_start_ms);
		t->window_start_ms = now_ms;
		t->window_count = 0;
	}
	t->window_count++;
}
