/* throttle: see throttle.h. */
#include "shape/throttle.h"

#include <stdio.h>
#include <string.h>

#define CONN_FAILURES_BEFORE_SUSPEND 3
#define CONN_SUSPEND_FIRST_MS        (60 * 1000)
#define CONN_SUSPEND_MAX_MS          (30 * 60 * 1000)
#define RATE_WINDOW_MS               5000
#define MSGS_PER_SESSION_PER_S       5.0
#define RAMP_STEP_MS                 200

double throttle_message_rate(const struct throttle *t)
{
	double r = t->base.message_rate * t->factor;

	if (t->ceil_rate > 0 && (r <= 0 || t->ceil_rate < r))
		r = t->ceil_rate;
	double learned = t->rate_elsewhere ? 0 : learn_rate(&t->lr);
	if (learned > 0 && (r <= 0 || learned < r))
		r = learned;
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
	t->ramp_ms = now_ms;
	learn_init(&t->lr);
	bucket_init(&t->messages, p->message_rate, now_ms);
	bucket_init(&t->connections, p->connection_rate, now_ms);
}

void throttle_set_policy(struct throttle *t, const struct policy *was, const struct policy *p,
                         int64_t now_ms)
{
	(void)was;
	t->base = *p;
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

/* Steps the factor and the ceilings back up, one doubling per quiet
 * duration, and the learned rate per quiet interval (learn_step). */
static void restore(struct throttle *t, int64_t now_ms)
{
	if (t->lr.step_at_ms && now_ms >= t->lr.step_at_ms) {
		learn_step(&t->lr, now_ms);
		set_rates(t, now_ms);
	}
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
	int learned = learn_connections(&t->lr);
	if (learned > 0 && learned < n)
		n = learned;
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

	snprintf(t->reason, sizeof(t->reason), "rule %s: %s", r->name, reply_text);
	if (suspend) {
		/* refusals of what was under way when the first came: one episode */
		if (throttle_suspended(t, now_ms))
			return;
		int64_t len = learn_throttled(&t->lr, suspend, now_ms);
		if (len && now_ms + len > t->suspended_until_ms)
			t->suspended_until_ms = now_ms + len;
		suspend = len;
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
	}
	set_rates(t, now_ms);
}

int throttle_refused_connection(struct throttle *t, const char *why, int64_t now_ms)
{
	if (!learn_refused_connection(&t->lr, t->established, now_ms))
		return 0;
	snprintf(t->reason, sizeof(t->reason), "%d connections accepted, one more refused: %s",
	         t->established, why);
	return 1;
}

void throttle_set_established(struct throttle *t, int n)
{
	t->established = n;
}

void throttle_restore_learned(struct throttle *t, const struct learn_kept *k, int64_t now_ms,
                              int64_t now_s)
{
	learn_restore(&t->lr, k, now_ms, now_s);
	if (t->lr.suspended_until_ms > t->suspended_until_ms)
		t->suspended_until_ms = t->lr.suspended_until_ms;
	/* a cap the site has shown it accepts needs no slow start */
	if (t->lr.connections > t->ramp)
		t->ramp = t->lr.connections;
	if (t->lr.rate > 0 || t->lr.connections > 0)
		snprintf(t->reason, sizeof(t->reason), "learned: %.1f msg/min, %d connections",
		         t->lr.rate * 60, t->lr.connections);
	set_rates(t, now_ms);
}

int throttle_learned_changed(struct throttle *t, int64_t now_ms, int64_t now_s,
                             struct learn_kept *k)
{
	restore(t, now_ms);
	if (!t->lr.changed)
		return 0;
	learn_kept_of(&t->lr, now_ms, now_s, k);
	return 1;
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
	/* slow start: one more only when every connection it may have is open
	 * and accepted (it has shown it takes them), and not too fast */
	if (t->ramp < t->base.max_connections && t->established >= t->ramp &&
	    now_ms - t->ramp_ms >= RAMP_STEP_MS) {
		t->ramp++;
		t->ramp_ms = now_ms;
	}
	learn_delivered(&t->lr, now_ms);
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
