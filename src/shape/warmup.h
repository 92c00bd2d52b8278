/*
 * warmup: a new source IP's daily caps, growing day by day from its first
 * use (days are UTC days). Pure arithmetic; the scheduler keeps the counts
 * (persisted in the store, so a restart does not reset a day).
 */
#ifndef SLUICE_SHAPE_WARMUP_H
#define SLUICE_SHAPE_WARMUP_H

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

#endif
