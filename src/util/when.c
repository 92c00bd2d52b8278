/* when: see when.h. */
#include "util/when.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/xmalloc.h"

#define ZONE_NAME_MAX 200
#define DAY_S         86400
#define NEXT_DAYS_MAX 3 /* a time of day may be skipped by a DST change on one day */

enum zone_kind { ZONE_HOST, ZONE_FIXED, ZONE_NAMED };

struct zone {
	enum zone_kind kind;
	int offset_s;     /* ZONE_FIXED: east of UTC */
	const char *name; /* ZONE_NAMED */
};

/* A date and time of day as written (local unless has_offset). */
struct fields {
	int has_date, y, mon, d, h, mi, sec;
	int has_offset, offset_s;
};

/* ---- the calendar (proleptic Gregorian, days since 1970-01-01) ---- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m)
{
	static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : n[m - 1];
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ---- zones ---- */

/* "+01:00", "-0500", "+01": seconds east of UTC into *out; 0, or -1. */
static int parse_offset(const char *s, size_t n, int *out)
{
	int hh, mm = 0;

	if (n < 3 || (s[0] != '+' && s[0] != '-') || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2]))
		return -1;
	hh = (s[1] - '0') * 10 + (s[2] - '0');
	size_t i = 3;
	if (i < n && s[i] == ':')
		i++;
	if (i < n) {
		if (n - i != 2 || !isdigit((unsigned char)s[i]) ||
		    !isdigit((unsigned char)s[i + 1]))
			return -1;
		mm = (s[i] - '0') * 10 + (s[i + 1] - '0');
	} else if (i != 3) {
		return -1; /* "+01:" */
	}
	if (hh > 23 || mm > 59)
		return -1;
	*out = (s[0] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
	return 0;
}

/* Whether name is a zone of the tz database: a safe relative name of a
 * TZif file under TZDIR (or /usr/share/zoneinfo). */
static int named_zone_exists(const char *name)
{
	const char *dir = getenv("TZDIR");
	char path[4200], magic[4];

	if (!*name || strlen(name) > ZONE_NAME_MAX || name[0] == '/' || name[0] == '.')
		return 0;
	for (const char *p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("/_+-.", *p))
			return 0;
		if (*p == '/' && p[1] == '.')
			return 0; /* no "..", no hidden files */
	}
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	int ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return ok;
}

static int zone_get(const char *s, struct zone *z, struct err *e)
{
	*z = (struct zone){ZONE_HOST, 0, NULL};
	if (!s || !*s)
		return 0;
	if (strcasecmp(s, "UTC") == 0 || strcasecmp(s, "Z") == 0) {
		z->kind = ZONE_FIXED;
		return 0;
	}
	if (s[0] == '+' || s[0] == '-') {
		z->kind = ZONE_FIXED;
		if (parse_offset(s, strlen(s), &z->offset_s) != 0)
			return err_set(e, "'%.40s' is not a UTC offset such as +01:00", s);
		return 0;
	}
	if (!named_zone_exists(s))
		return err_set(e, "unknown time zone '%.60s' (not in the tz database)", s);
	z->kind = ZONE_NAMED;
	z->name = s;
	return 0;
}

int when_zone_ok(const char *zone, struct err *e)
{
	struct zone z;
	return zone_get(zone, &z, e) == 0;
}

/* The process's TZ is the zone's while a named zone is converted (when.h:
 * single-threaded callers only); restored after. */
struct tz_saved {
	int active, had;
	char *old;
};

static void tz_enter(const struct zone *z, struct tz_saved *sv)
{
	*sv = (struct tz_saved){0};
	if (z->kind != ZONE_NAMED)
		return;
	const char *old = getenv("TZ");
	sv->active = 1;
	sv->had = old != NULL;
	sv->old = old ? xstrdup(old) : NULL;
	setenv("TZ", z->name, 1);
	tzset();
}

static void tz_leave(struct tz_saved *sv)
{
	if (!sv->active)
		return;
	if (sv->had)
		setenv("TZ", sv->old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(sv->old);
}

/* The local date of t in z (TZ already the zone's for a named one). */
static void local_date(const struct zone *z, int64_t t, int *y, int *m, int *d)
{
	if (z->kind == ZONE_FIXED) {
		civil_from_days(floor_div(t + z->offset_s, DAY_S), y, m, d);
		return;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	*y = tm.tm_year + 1900, *m = tm.tm_mon + 1, *d = tm.tm_mday;
}

/* The instant of local time f in z: 0, or -1 if a DST change skips it. Of
 * two instants (a repeated hour), the earlier. */
static int local_to_utc(const struct zone *z, const struct fields *f, int64_t *out)
{
	int64_t wall =
	    days_from_civil(f->y, f->mon, f->d) * DAY_S + f->h * 3600 + f->mi * 60 + f->sec;
	int found = 0;

	if (z->kind == ZONE_FIXED) {
		*out = wall - z->offset_s;
		return 0;
	}
	for (int dst = 0; dst <= 1; dst++) {
		struct tm tm = {.tm_year = f->y - 1900,
		                .tm_mon = f->mon - 1,
		                .tm_mday = f->d,
		                .tm_hour = f->h,
		                .tm_min = f->mi,
		                .tm_sec = f->sec,
		                .tm_isdst = dst};
		time_t t = mktime(&tm);
		struct tm back;
		if (t == (time_t)-1 || !localtime_r(&t, &back))
			continue;
		/* mktime moves a time it cannot find to one it can: keep only
		 * an instant whose local reading is the time asked for */
		int64_t got =
		    days_from_civil(back.tm_year + 1900, back.tm_mon + 1, back.tm_mday) * DAY_S +
		    back.tm_hour * 3600 + back.tm_min * 60 + back.tm_sec;
		if (got != wall)
			continue;
		if (!found || (int64_t)t < *out)
			*out = (int64_t)t;
		found = 1;
	}
	return found ? 0 : -1;
}

/* ---- the text ---- */

static int num(const char *s, size_t n, size_t *i, int width, int *v)
{
	*v = 0;
	for (int k = 0; k < width; k++, (*i)++) {
		if (*i >= n || !isdigit((unsigned char)s[*i]))
			return -1;
		*v = *v * 10 + (s[*i] - '0');
	}
	return 0;
}

/* HH:MM[:SS[.frac]] from s[*i]. */
static int parse_clock(const char *s, size_t n, size_t *i, struct fields *f)
{
	if (num(s, n, i, 2, &f->h) || *i >= n || s[(*i)++] != ':' || num(s, n, i, 2, &f->mi))
		return -1;
	if (*i < n && s[*i] == ':') {
		(*i)++;
		if (num(s, n, i, 2, &f->sec))
			return -1;
		if (*i < n && s[*i] == '.') { /* fractions of a second: dropped */
			(*i)++;
			if (*i >= n || !isdigit((unsigned char)s[*i]))
				return -1;
			while (*i < n && isdigit((unsigned char)s[*i]))
				(*i)++;
		}
	}
	return f->h > 23 || f->mi > 59 || f->sec > 60 ? -1 : 0;
}

static int parse_fields(const char *s, size_t n, struct fields *f)
{
	size_t i = 0;

	memset(f, 0, sizeof(*f));
	if (n >= 10 && s[4] == '-') {
		f->has_date = 1;
		if (num(s, n, &i, 4, &f->y) || s[i++] != '-' || num(s, n, &i, 2, &f->mon) ||
		    i >= n || s[i++] != '-' || num(s, n, &i, 2, &f->d))
			return -1;
		if (f->mon < 1 || f->mon > 12 || f->d < 1 || f->d > days_in_month(f->y, f->mon))
			return -1;
		if (i >= n || (s[i] != 'T' && s[i] != 't' && s[i] != ' '))
			return -1; /* a date alone is not a time */
		i++;
	}
	if (parse_clock(s, n, &i, f) != 0)
		return -1;
	if (i == n)
		return 0;
	f->has_offset = 1;
	if (n - i == 1 && (s[i] == 'Z' || s[i] == 'z'))
		return 0;
	return parse_offset(s + i, n - i, &f->offset_s);
}

/* The next local time of day f (no date) in z at or after not_before_s. */
static int next_time_of_day(const struct zone *z, struct fields *f, int64_t not_before_s,
                            int64_t *out)
{
	int y, m, d;

	local_date(z, not_before_s, &y, &m, &d);
	int64_t day = days_from_civil(y, m, d);
	for (int k = 0; k < NEXT_DAYS_MAX; k++) {
		civil_from_days(day + k, &f->y, &f->mon, &f->d);
		if (local_to_utc(z, f, out) == 0 && *out >= not_before_s)
			return 0;
	}
	return -1;
}

int when_parse(const char *s, size_t n, const char *zone, int64_t not_before_s, int64_t *out,
               struct err *e)
{
	struct fields f;
	struct zone z;
	struct tz_saved sv;

	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (parse_fields(s, n, &f) != 0)
		return err_set(e,
		               "'%.*s' is not a time (RFC 3339 such as 2026-12-03T08:00:00+01:00, "
		               "or a local 2026-12-03 08:00, or 08:00)",
		               (int)(n > 60 ? 60 : n), s);
	if (f.has_offset) {
		z = (struct zone){ZONE_FIXED, f.offset_s, NULL};
	} else if (zone_get(zone, &z, e) != 0) {
		return -1;
	}
	if (f.has_date && (f.has_offset || z.kind == ZONE_FIXED)) {
		int64_t wall =
		    days_from_civil(f.y, f.mon, f.d) * DAY_S + f.h * 3600 + f.mi * 60 + f.sec;
		*out = wall - z.offset_s;
		return 0;
	}
	if (f.sec > 59)
		return err_set(e, "'%.*s': a local time has no leap second", (int)n, s);
	tz_enter(&z, &sv);
	int rc =
	    f.has_date ? local_to_utc(&z, &f, out) : next_time_of_day(&z, &f, not_before_s, out);
	tz_leave(&sv);
	if (rc != 0)
		return err_set(e, "'%.*s' does not exist in %s (a daylight-saving change skips it)",
		               (int)n, s, z.kind == ZONE_NAMED ? z.name : "the host's time zone");
	return 0;
}

void when_format(int64_t t, char *buf, size_t size)
{
	int y, m, d;
	int64_t day = floor_div(t, DAY_S), sod = t - day * DAY_S;

	civil_from_days(day, &y, &m, &d);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(sod / 3600),
	         (int)(sod / 60 % 60), (int)(sod % 60));
}
