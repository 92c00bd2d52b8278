/* warmup: see warmup.h. */
#include "shape/warmup.h"

#define DAY_S 86400

int warmup_enabled(const struct source *src)
{
	return src->warmup_day1 > 0;
}

void warmup_caps(const struct source *src, int64_t day, int64_t *overall, int64_t *per_site)
{
	double cap = (double)src->warmup_day1, site = (double)src->warmup_site_day1;

	for (int64_t d = 1; d < day && cap <= (double)src->warmup_until; d++) {
		cap *= src->warmup_growth;
		site *= src->warmup_growth;
	}
	if (!warmup_enabled(src) || cap > (double)src->warmup_until) {
		*overall = *per_site = WARMUP_NO_CAP;
		return;
	}
	*overall = (int64_t)cap;
	*per_site = src->warmup_site_day1 > 0 ? (int64_t)site : WARMUP_NO_CAP;
}

int64_t warmup_day_of(int64_t wall_s)
{
	return wall_s / DAY_S;
}

int64_t warmup_next_day_s(int64_t wall_s)
{
	return (wall_s / DAY_S + 1) * DAY_S;
}
