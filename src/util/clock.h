/*
 * clock: time for the scheduler and the log.
 * Wall time is for records and retry dates (seconds since the epoch, stored);
 * monotonic time is for timeouts and rates.
 */
#ifndef SLUICE_UTIL_CLOCK_H
#define SLUICE_UTIL_CLOCK_H

#include <stdint.h>
#include <stddef.h>

int64_t clock_wall_ms(void); /* milliseconds since the epoch */
int64_t clock_mono_ms(void); /* monotonic milliseconds */
/* RFC 5322 date-time of a wall time in seconds, local zone, into buf. */
void clock_rfc5322_date(int64_t wall_s, char *buf, size_t size);
/* ISO 8601 UTC with milliseconds, e.g. 2026-11-26T23:34:48.123Z. */
void clock_iso8601(int64_t wall_ms, char *buf, size_t size);

#endif
