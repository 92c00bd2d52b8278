/* recipients: see recipients.h. */
#include "list/recipients.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/fields.h"
#include "util/strmap.h"
#include "util/when.h"
#include "util/xmalloc.h"

#define WHEN_CACHE_MAX  10000 /* distinct (zone, time) pairs remembered */
#define WHEN_CACHED_MAX 100   /* longer texts are parsed every time */
#define ZONE_MAX        64

/* Trims spaces and tabs around a field (an address cell often has them). */
static const char *trim(const char *s, size_t *len)
{
	size_t n = *len;

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	*len = n;
	return s;
}

int recipients_open(struct recipient_list *l, const char *path, struct err *e)
{
	FILE *f = fopen(path, "r");

	if (!f) {
		memset(l, 0, sizeof(*l));
		l->path = xstrdup(path);
		return err_set(e, "%s: cannot open: %m", path);
	}
	return recipients_open_stream(l, path, f, e);
}

int recipients_open_stream(struct recipient_list *l, const char *name, FILE *f, struct err *e)
{
	struct err ce;
	const char *path = name;

	memset(l, 0, sizeof(*l));
	l->send_at_col = l->expires_at_col = l->tz_col = -1;
	l->path = xstrdup(name);
	l->f = f;
	csv_init(&l->csv, l->f);
	int rc = csv_next(&l->csv, &ce);
	if (rc == 0)
		return err_set(
		    e, "%s: empty file (a header row with an 'email' column is required)", path);
	if (rc < 0)
		return err_set(e, "%s: header row: %s", path, ce.msg);
	int found = 0;
	l->names = xcalloc(l->csv.nfields, sizeof(char *));
	for (size_t i = 0; i < l->csv.nfields; i++) {
		size_t n;
		const char *s = csv_field(&l->csv, i, &n);
		s = trim(s, &n);
		if (i == 0 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
			s += 3, n -= 3; /* a byte-order mark from spreadsheet exports */
		l->names[i] = xstrndup(s, n);
		l->nnames++;
		if (n == 0)
			return err_set(e, "%s:1: column %zu has no name", path, i + 1);
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(l->names[j], l->names[i]) == 0)
				return err_set(e, "%s:1: column name '%s' appears twice", path,
				               l->names[i]);
		if (strcasecmp(l->names[i], "email") == 0) {
			l->email_col = i;
			found = 1;
		} else if (strcasecmp(l->names[i], "send_at") == 0) {
			l->send_at_col = (long)i;
		} else if (strcasecmp(l->names[i], "expires_at") == 0) {
			l->expires_at_col = (long)i;
		} else if (strcasecmp(l->names[i], "tz") == 0) {
			l->tz_col = (long)i;
		}
	}
	if (!found)
		return err_set(e, "%s:1: no 'email' column in the header row", path);
	return 0;
}

void recipients_set_times(struct recipient_list *l, const struct recipient_times *t)
{
	l->times = *t;
}

/* The cell of column col in the current record, trimmed; NULL when there
 * is no such column or the cell is empty. */
static const char *cell(const struct recipient_list *l, long col, size_t *n)
{
	if (col < 0)
		return NULL;
	const char *s = csv_field(&l->csv, (size_t)col, n);
	s = trim(s, n);
	return *n ? s : NULL;
}

static void cache_put(struct recipient_list *l, const char *key, int64_t v)
{
	if (!l->when_cache)
		l->when_cache = strmap_new();
	if (strmap_count(l->when_cache) >= WHEN_CACHE_MAX)
		return;
	int64_t *p = xmalloc(sizeof(*p));
	*p = v;
	free(strmap_put(l->when_cache, key, p));
}

/* when_parse, remembered: a list holds few distinct times and zones, and
 * reading a zone costs a file (when.h). */
static int parse_time(struct recipient_list *l, const char *s, size_t n, const char *zone,
                      int64_t ref_s, int64_t *out, struct err *e)
{
	char key[WHEN_CACHED_MAX + ZONE_MAX + 48];

	if (n > WHEN_CACHED_MAX)
		return when_parse(s, n, zone, ref_s, out, e);
	snprintf(key, sizeof(key), "t\x1f%s\x1f%lld\x1f%.*s", zone, (long long)ref_s, (int)n, s);
	int64_t *v = l->when_cache ? strmap_get(l->when_cache, key) : NULL;
	if (v) {
		*out = *v;
		return 0;
	}
	if (when_parse(s, n, zone, ref_s, out, e) != 0)
		return -1;
	cache_put(l, key, *out);
	return 0;
}

/* The row's tz cell into zone ("" when none): 0, or -1 if it names no
 * zone. */
static int row_zone(struct recipient_list *l, char zone[ZONE_MAX], struct err *e)
{
	char key[ZONE_MAX + 8];
	size_t n;
	const char *z = cell(l, l->tz_col, &n);

	zone[0] = '\0';
	if (!z) {
		snprintf(zone, ZONE_MAX, "%s", l->times.default_zone ? l->times.default_zone : "");
		return 0;
	}
	if (n >= ZONE_MAX)
		return err_set(e, "unknown time zone '%.40s...'", z);
	memcpy(zone, z, n);
	zone[n] = '\0';
	if (l->times.fixed_zones && strcasecmp(zone, "UTC") != 0 && strcmp(zone, "Z") != 0 &&
	    zone[0] != '+' && zone[0] != '-')
		return err_set(e, "'%s': only UTC or an offset such as +01:00 here", zone);
	snprintf(key, sizeof(key), "z\x1f%s", zone);
	if (l->when_cache && strmap_get(l->when_cache, key))
		return 0;
	if (!when_zone_ok(zone, e))
		return -1;
	cache_put(l, key, 1);
	return 0;
}

/* The row's send time and expiry: its own cells, else the campaign's. */
static int row_times(struct recipient_list *l, struct recipient_row *row, struct err *e)
{
	const struct recipient_times *d = &l->times;
	char zone[ZONE_MAX];
	size_t sn = 0, xn = 0;
	struct err we;

	row->send_at_s = row->expires_at_s = 0;
	const char *send = cell(l, l->send_at_col, &sn), *send_from = "column send_at";
	const char *exp = cell(l, l->expires_at_col, &xn), *exp_from = "column expires_at";
	if (!send && d->send_at)
		send = d->send_at, sn = strlen(send), send_from = "--send-at";
	if (!exp && d->expires_at)
		exp = d->expires_at, xn = strlen(exp), exp_from = "--expires-at";
	if (!send && !exp && !d->expires_in_s)
		return 0;
	if (row_zone(l, zone, &we) != 0)
		return err_set(e, "%s:%ld: column tz: %s", l->path, row->line, we.msg);
	if (send && parse_time(l, send, sn, zone, d->now_s, &row->send_at_s, &we) != 0)
		return err_set(e, "%s:%ld: %s: %s", l->path, row->line, send_from, we.msg);
	int64_t from = row->send_at_s ? row->send_at_s : d->now_s;
	if (exp && parse_time(l, exp, xn, zone, from, &row->expires_at_s, &we) != 0)
		return err_set(e, "%s:%ld: %s: %s", l->path, row->line, exp_from, we.msg);
	if (!exp && d->expires_in_s)
		row->expires_at_s = from + d->expires_in_s;
	if (row->send_at_s && row->expires_at_s && row->expires_at_s <= row->send_at_s) {
		char a[WHEN_TEXT_MAX], b[WHEN_TEXT_MAX];
		when_format(row->expires_at_s, a, sizeof(a));
		when_format(row->send_at_s, b, sizeof(b));
		return err_set(e, "%s:%ld: %s: expires at %s, not after its send time %s", l->path,
		               row->line, exp ? exp_from : "--expires-in", a, b);
	}
	return 0;
}

int recipients_next(struct recipient_list *l, struct recipient_row *row, struct err *e)
{
	struct err ce;

	recipient_row_free(row);
	for (;;) {
		int rc = csv_next(&l->csv, &ce);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			row->line = l->csv.record_line;
			return err_set(e, "%s: %s", l->path, ce.msg);
		}
		row->line = l->csv.record_line;
		size_t n;
		const char *s = csv_field(&l->csv, 0, &n);
		if (l->csv.nfields == 1 && n == 0)
			continue; /* a blank line */
		if (l->csv.nfields != l->nnames)
			return err_set(e, "%s:%ld: %zu fields, the header has %zu", l->path,
			               row->line, l->csv.nfields, l->nnames);
		s = csv_field(&l->csv, l->email_col, &n);
		s = trim(s, &n);
		if (address_parse(s, n, &row->addr, &ce) != 0)
			return err_set(e, "%s:%ld: address '%.*s': %s", l->path, row->line,
			               (int)(n > 80 ? 80 : n), s, ce.msg);
		strbuf_reset(&row->fields);
		for (size_t i = 0; i < l->csv.nfields; i++) {
			s = csv_field(&l->csv, i, &n);
			if (i == l->email_col)
				fields_add(&row->fields, row->addr.mailbox,
				           strlen(row->addr.mailbox));
			else
				fields_add(&row->fields, s, n);
		}
		if (row_times(l, row, e) != 0)
			return -1;
		return 1;
	}
}

void recipient_row_free(struct recipient_row *row)
{
	address_free(&row->addr);
}

void recipients_close(struct recipient_list *l)
{
	if (l->f)
		fclose(l->f);
	csv_free(&l->csv);
	for (size_t i = 0; i < l->nnames; i++)
		free(l->names[i]);
	free(l->names);
	free(l->path);
	strmap_free(l->when_cache, free);
	memset(l, 0, sizeof(*l));
}

void recipients_names_blob(const struct recipient_list *l, struct strbuf *out)
{
	for (size_t i = 0; i < l->nnames; i++)
		fields_add(out, l->names[i], strlen(l->names[i]));
}
