/* histogram: see histogram.h. */
#include "util/histogram.h"

#include <string.h>

void histogram_init(struct histogram *h, const double *bounds, size_t n)
{
	memset(h, 0, sizeof(*h));
	h->bounds = bounds;
	h->n = n > HISTOGRAM_BUCKETS_MAX ? HISTOGRAM_BUCKETS_MAX : n;
}

void histogram_observe(struct histogram *h, double v)
{
	size_t i = 0;

	while (i < h->n && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += v;
}

uint64_t histogram_cumulative(const struct histogram *h, size_t i)
{
	uint64_t c = 0;

	for (size_t k = 0; k <= i && k <= h->n; k++)
		c += h->counts[k];
	return c;
}
