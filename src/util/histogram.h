/*
 * histogram: a fixed-bucket histogram of observations (latencies, in
 * seconds), the shape the Prometheus text format exposes (util/prom.h):
 * a count per bucket of upper bounds, plus everything above the last one,
 * the number of observations and their sum. Recording is one comparison
 * walk over at most HISTOGRAM_BUCKETS_MAX bounds: cheap on a hot path.
 */
#ifndef SLUICE_UTIL_HISTOGRAM_H
#define SLUICE_UTIL_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define HISTOGRAM_BUCKETS_MAX 16

struct histogram {
	const double *bounds; /* upper bounds, increasing; static, borrowed */
	size_t n;
	uint64_t
	    counts[HISTOGRAM_BUCKETS_MAX + 1]; /* per bucket, not cumulative; [n]: above the last */
	uint64_t count;
	double sum;
};

/* bounds (n <= HISTOGRAM_BUCKETS_MAX, increasing) must outlive h. */
void histogram_init(struct histogram *h, const double *bounds, size_t n);
/* Counts one observation v in the first bucket whose bound is >= v. */
void histogram_observe(struct histogram *h, double v);
/* Observations <= bounds[i] (cumulative, as the format wants); i == n: all. */
uint64_t histogram_cumulative(const struct histogram *h, size_t i);

#endif
