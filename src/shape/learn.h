/*
 * learn: what a site has taught about its receiver's limits, given only
 * its replies and the times they came (pure: no clock, no store). The
 * site's throttle (shape/throttle.h) owns one and asks it how long to
 * suspend, at what rate to send and over how many connections; the engine
 * feeds it and the store keeps its struct learn_kept between runs.
 *
 * The model, for a receiver that allows N messages per window W per client:
 *  - a throttle suspends for the current level's length, 1 minute (the
 *    shortest common window) doubled per level, at most the rule's maximum;
 *    each throttle raises the level (by two when it refuses the probe
 *    after a suspension: nothing was accepted since, so the window is
 *    longer than that suspension), each quiet interval (no throttle for
 *    the level's length) lowers it again;
 *  - the suspension's length is also the guess of W: the safe rate becomes
 *    what was accepted over it, minus a margin (LEARN_MARGIN); a throttle
 *    with nothing accepted since the last one (a refused probe) halves the
 *    rate instead, the window being longer than guessed;
 *  - after a suspension the site probes (one connection) until a message
 *    is accepted; then the rate steps up by LEARN_STEP per quiet interval,
 *    never past the ceiling (the safe rate learned at the last throttle,
 *    which grows by LEARN_DAY_GROWTH per day without throttling);
 *  - a throttle at the greeting while other connections of the site are
 *    open and accepted teaches the connection cap: the number open.
 *
 * Invariants: a suspension is never longer than the rule allows; the rate
 * never drops below LEARN_RATE_MIN; the connection cap never below one.
 */
#ifndef SLUICE_SHAPE_LEARN_H
#define SLUICE_SHAPE_LEARN_H

#include <stdint.h>

#define LEARN_SUSPEND_FIRST_MS (60 * 1000) /* the shortest common window */
#define LEARN_MARGIN           0.9         /* of the rate achieved over the window */
#define LEARN_STEP             1.1         /* rate growth per quiet interval */
#define LEARN_DAY_GROWTH       1.1         /* ceiling growth per day without throttling */
#define LEARN_RATE_MIN         (1.0 / 600) /* one message per ten minutes */
#define LEARN_LEVEL_MAX        16
#define LEARN_FINE_SLOT_MS     5000 /* accepted counts: 12 slots of 5 s ... */
#define LEARN_FINE_SLOTS       12
#define LEARN_COARSE_SLOT_MS   60000 /* ... and 60 of a minute */
#define LEARN_COARSE_SLOTS     60

/* What the store keeps per (site, source), in wall seconds. */
struct learn_kept {
	double rate;               /* messages per second in force; 0: none learned */
	double ceiling;            /* the most the rate restores to, as set by the last throttle */
	int connections;           /* the connection cap; 0: none learned */
	int level;                 /* the next suspension is 1 min << level (bounded) */
	int64_t throttled_s;       /* the last throttle; 0: never */
	int64_t suspended_until_s; /* 0: not suspended */
};

struct learn {
	double rate, ceiling;
	int connections, level;
	int64_t throttled_ms;       /* monotonic; 0: never */
	int64_t suspended_until_ms; /* the suspension it last asked for */
	int64_t step_at_ms;         /* the next quiet-interval step; 0: none due */
	int64_t max_ms;             /* the longest suspension the last rule allows */
	double growth;              /* LEARN_DAY_GROWTH ^ quiet days */
	int probing;                /* after a suspension, until a message is accepted */
	int64_t delivered_since;    /* accepted since the last throttle */
	int changed;                /* since learn_kept_of: worth writing */
	/* accepted messages per slot, rings indexed by slot number */
	uint32_t fine[LEARN_FINE_SLOTS], coarse[LEARN_COARSE_SLOTS];
	int64_t fine_at, coarse_at; /* the slot numbers last counted in */
};

void learn_init(struct learn *l);
/* Picks up what the store kept (now: monotonic ms and wall seconds); the
 * ceiling grows per full day since the last throttle, the level drops per
 * quiet interval since. */
void learn_restore(struct learn *l, const struct learn_kept *k, int64_t now_ms, int64_t now_s);
/* What to keep (suspension as the throttle has it now). Clears changed. */
void learn_kept_of(struct learn *l, int64_t now_ms, int64_t now_s, struct learn_kept *k);
/* A message was accepted. */
void learn_delivered(struct learn *l, int64_t now_ms);
/* A throttling reply (a rule allowing max_ms of suspension): returns how
 * long to suspend (0 when already suspended: the same episode). */
int64_t learn_throttled(struct learn *l, int64_t max_ms, int64_t now_ms);
/* A connection refused at the greeting (a throttling reply or a close)
 * while established others were open and accepted: 1 if that taught the
 * connection cap (no suspension needed), 0 if it is a throttle (none open). */
int learn_refused_connection(struct learn *l, int established, int64_t now_ms);
/* Quiet intervals that passed by now: the level drops, the rate steps up. */
void learn_step(struct learn *l, int64_t now_ms);
/* The rate in force (per second; 0: none learned) and the connection cap
 * (0: none; 1 while probing). */
double learn_rate(const struct learn *l);
int learn_connections(const struct learn *l);
/* Messages accepted over the last window_ms (per slot: up to a slot more). */
int64_t learn_accepted(struct learn *l, int64_t window_ms, int64_t now_ms);

#endif
