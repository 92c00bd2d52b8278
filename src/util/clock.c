/* clock: see clock.h. */
#include "util/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int64_t ts_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SLUICE_TEST_NOW_OFFSET_S moves the wall clock (test-only: warm-up days,
 * retry dates); monotonic time is never moved. */
static int64_t wall_offset_ms(void)
{
	static int64_t offset = -1;

	if (offset < 0) {
		const char *env = getenv("SLUICE_TEST_NOW_OFFSET_S");
		offset = env ? strtoll(env, NULL, 10) * 1000 : 0;
		if (offset < 0)
			offset = 0;
	}
	return offset;
}

int64_t clock_wall_ms(void)
{
	return ts_ms(CLOCK_REALTIME) + wall_offset_ms();
}

int64_t clock_mono_ms(void)
{
	return ts_ms(CLOCK_MONOTONIC);
}

void clock_rfc5322_date(int64_t wall_s, char *buf, size_t size)
{
	time_t t = (time_t)wall_s;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, size, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

void clock_iso8601(int64_t wall_ms, char *buf, size_t size)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	char head[32];

	gmtime_r(&t, &tm);
	strftime(head, sizeof(head), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03dZ", head, (int)(wall_ms % 1000));
}
