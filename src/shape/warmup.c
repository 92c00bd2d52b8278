/* warmup: see warmup.h. */
#include "shape/warmup.h"

#include <stdio.h>

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

static int over(int64_t k, int64_t n, double limit, const char *what, char *why, size_t len)
{
	if (n <= 0 || (double)k <= limit * (double)n)
		return 0;
	snprintf(why, len, "%lld of %lld attempts %s (%.1f%%, over %.1f%%)", (long long)k,
	         (long long)n, what, 100.0 * (double)k / (double)n, 100.0 * limit);
	return 1;
}

enum warmup_step warmup_judge(const struct warmup_health *h, const struct warmup_limits *l,
                              char *why, size_t n)
{
	why[0] = '\0';
	if (over(h->blocked, h->attempts, l->blocks, "blocked", why, n) ||
	    over(h->complaints, h->attempts, l->complaints, "drew complaints", why, n))
		return WARMUP_BACK;
	if (over(h->deferred, h->attempts, l->deferrals, "deferred", why, n))
		return WARMUP_HOLD;
	return WARMUP_GROW;
}

int64_t warmup_step_level(int64_t level, enum warmup_step step)
{
	if (step == WARMUP_GROW)
		return level + 1;
	if (step == WARMUP_BACK && level > 1)
		return level - 1;
	return level < 1 ? 1 : level;
}
