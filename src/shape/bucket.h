/*
 * bucket: a token bucket for rates (messages or connections per unit of
 * time). A rate of 0 means unlimited. Time is passed in, so tests and
 * callers choose the clock.
 */
#ifndef SLUICE_SHAPE_BUCKET_H
#define SLUICE_SHAPE_BUCKET_H

#include <stdint.h>

struct bucket {
	double per_ms; /* tokens added per millisecond; 0: unlimited */
	double burst;  /* the most tokens it holds */
	double tokens;
	int64_t last_ms;
};

/* per_second 0: unlimited. The burst is a second's worth, at least one. */
void bucket_init(struct bucket *b, double per_second, int64_t now_ms);
/* Changes the rate, keeping the tokens it has (capped to the new burst). */
void bucket_set_rate(struct bucket *b, double per_second, int64_t now_ms);
/* 0: a token was taken. Otherwise the milliseconds until one is there. */
int64_t bucket_take(struct bucket *b, int64_t now_ms);
/* As bucket_take without taking: 0 when a token is there. */
int64_t bucket_peek(struct bucket *b, int64_t now_ms);

#endif
