/*
 * warmup: a new source IP's daily caps, growing day by day from its first
 * use (days are UTC days). Pure arithmetic; the scheduler keeps the counts
 * (persisted in the store, so a restart does not reset a day).
 */
#ifndef SLUICE_SHAPE_WARMUP_H
#define SLUICE_SHAPE_WARMUP_H

#include <stddef.h>
#include <stdint.h>

#include "mail/config.h"

#define WARMUP_NO_CAP (-1)

/* 1 if the source has a warm-up schedule at all. */
int warmup_enabled(const struct source *src);
/* The caps of day (1 = the day of first use): in all and per site, or
 * WARMUP_NO_CAP once the schedule is over (or for per-site when unset). */
void warmup_caps(const struct source *src, int64_t day, int64_t *overall, int64_t *per_site);
/* The UTC day number of a wall time, and the first second of the next day. */
int64_t warmup_day_of(int64_t wall_s);
int64_t warmup_next_day_s(int64_t wall_s);

/* Health-gated growth. A source's caps at a provider (or a site) are those
 * of a schedule day, its level: level n + 1 tomorrow when today's attempts
 * there stayed under every limit, n again when deferrals (greylisting
 * aside) passed theirs, n - 1 (at least 1) when blocks or complaints did. */
struct warmup_health {
	int64_t attempts;   /* delivered, deferred and bounced attempts */
	int64_t deferred;   /* deferred, greylisting not counted */
	int64_t blocked;    /* reputation_block replies */
	int64_t complaints; /* complaints about what was delivered */
};
struct warmup_limits {
	double deferrals, blocks, complaints; /* shares of attempts (warmup.max_*) */
};
enum warmup_step { WARMUP_GROW, WARMUP_HOLD, WARMUP_BACK };
/* What day's health h allows the next day; why (n bytes) says what passed
 * its limit ("" for growth). */
enum warmup_step warmup_judge(const struct warmup_health *h, const struct warmup_limits *l,
                              char *why, size_t n);
int64_t warmup_step_level(int64_t level, enum warmup_step step);

#endif
