/* learn: see learn.h. */
#include "shape/learn.h"

#include <string.h>

#include "mail/config.h"

#define DAY_S          86400
#define QUIET_DAYS_MAX 60

void learn_init(struct learn *l)
{
	memset(l, 0, sizeof(*l));
	l->growth = 1.0;
	l->max_ms = RULE_SUSPEND_MAX_MS;
}

/* The suspension at a level: a minute doubled per level, at most max_ms. */
static int64_t interval_ms(int level, int64_t max_ms)
{
	int64_t ms = LEARN_SUSPEND_FIRST_MS;

	for (int i = 0; i < level && ms < max_ms; i++)
		ms *= 2;
	return ms > max_ms ? max_ms : ms;
}

/* Moves a ring to slot now_slot, emptying the slots skipped. */
static void ring_advance(uint32_t *ring, int nslots, int64_t *at, int64_t now_slot)
{
	if (now_slot <= *at)
		return;
	int64_t gap = now_slot - *at;
	for (int64_t i = 1; i <= gap && i <= nslots; i++)
		ring[(*at + i) % nslots] = 0;
	*at = now_slot;
}

static void rings_advance(struct learn *l, int64_t now_ms)
{
	ring_advance(l->fine, LEARN_FINE_SLOTS, &l->fine_at, now_ms / LEARN_FINE_SLOT_MS);
	ring_advance(l->coarse, LEARN_COARSE_SLOTS, &l->coarse_at, now_ms / LEARN_COARSE_SLOT_MS);
}

int64_t learn_accepted(struct learn *l, int64_t window_ms, int64_t now_ms)
{
	int64_t n = 0;

	rings_advance(l, now_ms);
	if (window_ms <= LEARN_FINE_SLOTS * LEARN_FINE_SLOT_MS) {
		int64_t k = (window_ms + LEARN_FINE_SLOT_MS - 1) / LEARN_FINE_SLOT_MS;
		for (int64_t i = 0; i < k; i++)
			n += l->fine[(l->fine_at - i + LEARN_FINE_SLOTS) % LEARN_FINE_SLOTS];
		return n;
	}
	int64_t k = (window_ms + LEARN_COARSE_SLOT_MS - 1) / LEARN_COARSE_SLOT_MS;
	if (k > LEARN_COARSE_SLOTS)
		k = LEARN_COARSE_SLOTS;
	for (int64_t i = 0; i < k; i++)
		n += l->coarse[(l->coarse_at - i + LEARN_COARSE_SLOTS) % LEARN_COARSE_SLOTS];
	return n;
}

void learn_delivered(struct learn *l, int64_t now_ms)
{
	rings_advance(l, now_ms);
	l->fine[l->fine_at % LEARN_FINE_SLOTS]++;
	l->coarse[l->coarse_at % LEARN_COARSE_SLOTS]++;
	l->delivered_since++;
	if (l->probing)
		l->probing = 0, l->changed = 1;
}

static double ceiling_now(const struct learn *l)
{
	return l->ceiling * l->growth;
}

void learn_step(struct learn *l, int64_t now_ms)
{
	while (l->step_at_ms && now_ms >= l->step_at_ms) {
		if (l->level > 0)
			l->level--;
		if (l->rate > 0 && l->rate < ceiling_now(l)) {
			l->rate *= LEARN_STEP;
			if (l->rate > ceiling_now(l))
				l->rate = ceiling_now(l);
		}
		l->changed = 1;
		if (l->level == 0 && (l->rate <= 0 || l->rate >= ceiling_now(l)))
			l->step_at_ms = 0;
		else
			l->step_at_ms += interval_ms(l->level, l->max_ms);
	}
}

int64_t learn_throttled(struct learn *l, int64_t max_ms, int64_t now_ms)
{
	learn_step(l, now_ms);
	if (l->suspended_until_ms > now_ms)
		return 0; /* refusals of messages already under way: the same episode */
	if (max_ms > RULE_SUSPEND_MAX_MS)
		max_ms = RULE_SUSPEND_MAX_MS;
	/* a probe refused after a suspension: the window is longer than that
	 * suspension, so the next is four times it, not two (an hour's window
	 * is reached in four refusals: 1, 4, 16, 60 minutes) */
	if (l->throttled_ms && l->delivered_since == 0 && l->level > 0 &&
	    l->level < LEARN_LEVEL_MAX && interval_ms(l->level, max_ms) < max_ms)
		l->level++;
	int64_t len = interval_ms(l->level, max_ms);

	if (l->delivered_since > 0) {
		/* the guess of the window is the suspension's length: what it
		 * took over that, minus a margin, and less than what drew this */
		int64_t n = learn_accepted(l, len, now_ms);
		double r = LEARN_MARGIN * (double)n * 1000.0 / (double)len;
		if (l->rate > 0 && r > l->rate * LEARN_MARGIN)
			r = l->rate * LEARN_MARGIN;
		if (r < LEARN_RATE_MIN)
			r = LEARN_RATE_MIN;
		l->rate = l->ceiling = r;
		l->growth = 1.0;
	} else if (l->rate > 0) {
		/* nothing got through since the last one (a refused probe): the
		 * window is longer than guessed, so was what it counted */
		l->rate /= 2;
		if (l->rate < LEARN_RATE_MIN)
			l->rate = LEARN_RATE_MIN;
	}
	l->throttled_ms = now_ms;
	l->max_ms = max_ms;
	l->suspended_until_ms = now_ms + len;
	l->step_at_ms = l->suspended_until_ms + len;
	if (l->level < LEARN_LEVEL_MAX && len < max_ms)
		l->level++;
	l->probing = 1;
	l->delivered_since = 0;
	l->changed = 1;
	return len;
}

int learn_refused_connection(struct learn *l, int established, int64_t now_ms)
{
	if (established <= 0)
		return 0;
	if (l->connections != established)
		l->changed = 1;
	l->connections = established;
	l->throttled_ms = now_ms;
	return 1;
}

double learn_rate(const struct learn *l)
{
	return l->rate;
}

int learn_connections(const struct learn *l)
{
	if (l->probing)
		return 1;
	if (l->connections <= 0)
		return 0;
	/* a connection more per day without throttling (growth counts them) */
	int n = l->connections;
	for (double g = l->growth; g > 1.0 + 1e-9 && n < 1000; g /= LEARN_DAY_GROWTH)
		n++;
	return n;
}

void learn_restore(struct learn *l, const struct learn_kept *k, int64_t now_ms, int64_t now_s)
{
	learn_init(l);
	l->rate = k->rate > 0 ? k->rate : 0;
	l->ceiling = k->ceiling > 0 ? k->ceiling : l->rate;
	l->connections = k->connections > 0 ? k->connections : 0;
	l->level = k->level < 0 ? 0 : k->level > LEARN_LEVEL_MAX ? LEARN_LEVEL_MAX : k->level;
	if (k->throttled_s <= 0)
		return;
	int64_t ago_s = now_s > k->throttled_s ? now_s - k->throttled_s : 0;
	l->throttled_ms = now_ms - ago_s * 1000;
	int64_t days = ago_s / DAY_S;
	for (int64_t d = 0; d < days && d < QUIET_DAYS_MAX; d++)
		l->growth *= LEARN_DAY_GROWTH;
	if (days >= 1 && l->ceiling > 0) {
		l->rate = ceiling_now(l); /* no throttling for days: restored, and a bit more */
		l->level = 0;
		return;
	}
	if (k->suspended_until_s > now_s) {
		l->suspended_until_ms = now_ms + (k->suspended_until_s - now_s) * 1000;
		l->probing = 1;
		l->step_at_ms =
		    l->suspended_until_ms + interval_ms(l->level > 0 ? l->level - 1 : 0, l->max_ms);
		return;
	}
	/* quiet since the suspension ended (or the throttle): catch up */
	int64_t end_s =
	    k->suspended_until_s > k->throttled_s ? k->suspended_until_s : k->throttled_s;
	int64_t end_ms = now_ms - (now_s > end_s ? now_s - end_s : 0) * 1000;
	if (l->level > 0 || (l->rate > 0 && l->rate < ceiling_now(l))) {
		l->step_at_ms = end_ms + interval_ms(l->level > 0 ? l->level - 1 : 0, l->max_ms);
		learn_step(l, now_ms);
	}
	l->changed = 0;
}

void learn_kept_of(struct learn *l, int64_t now_ms, int64_t now_s, struct learn_kept *k)
{
	*k = (struct learn_kept){
	    .rate = l->rate,
	    .ceiling = l->ceiling,
	    .connections = l->connections,
	    .level = l->level,
	    .throttled_s = l->throttled_ms ? now_s - (now_ms - l->throttled_ms) / 1000 : 0,
	    .suspended_until_s = l->suspended_until_ms > now_ms
	                             ? now_s + (l->suspended_until_ms - now_ms + 999) / 1000
	                             : 0,
	};
	l->changed = 0;
}
