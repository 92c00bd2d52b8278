/*
 * when: points in time given as text (a send time, an expiry), turned into
 * seconds since the epoch. Knows nothing of mail; `sluice send` and the
 * recipient list reader (list/recipients.c) use it.
 *
 * Accepted (when_parse):
 *   2026-12-03T08:00:00Z, 2026-12-03T08:00+01:00, 2026-12-03 08:00:00-0500
 *       RFC 3339 (the T may be a space, seconds and fractions optional):
 *       an absolute time, the zone argument is not used;
 *   2026-12-03 08:00[:00]   a local date and time in zone;
 *   08:00[:00]              the next such local time in zone at or after
 *                           not_before_s.
 * A zone (when_zone_ok) is NULL or "" for the host's zone (TZ, else
 * /etc/localtime), "UTC" or "Z", a fixed offset ("+01:00", "-0500"), or an
 * IANA name ("Europe/Berlin") found in the system's tz database (TZDIR,
 * else /usr/share/zoneinfo). A local time that a daylight-saving change
 * skips does not exist and is an error; one it repeats is its first (the
 * earlier) instant.
 *
 * Thread safety: converting a local time in an IANA zone sets the process's
 * TZ for the call (the C library offers no other way to read its tz
 * database), then restores it. Call when_parse with an IANA zone only
 * while the process has a single thread (queueing a list in `sluice send`,
 * `sluice list check`); the other forms touch no global state.
 */
#ifndef SLUICE_UTIL_WHEN_H
#define SLUICE_UTIL_WHEN_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define WHEN_TEXT_MAX 32 /* room for when_format's text */

/* 1 if zone is one when_parse accepts, 0 if not (e says why). */
int when_zone_ok(const char *zone, struct err *e);
/* Parses s (n bytes) as above into *out: 0, or -1 with e saying why (the
 * caller adds the place). */
int when_parse(const char *s, size_t n, const char *zone, int64_t not_before_s, int64_t *out,
               struct err *e);
/* t as RFC 3339 UTC, "2026-12-03T07:00:00Z", into buf (WHEN_TEXT_MAX). */
void when_format(int64_t t, char *buf, size_t size);

#endif
