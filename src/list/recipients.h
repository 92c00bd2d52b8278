/*
 * recipients: a recipient list file (CSV with a header row naming the merge
 * fields; an 'email' column is required) read row by row into canonical
 * addresses and packed fields. Bad rows are reported with their line and
 * skipped; duplicates are the queue's to catch (it has the UNIQUE index).
 *
 * Times: optional columns send_at and expires_at (util/when.h: RFC 3339,
 * a local date and time, or a time of day) and tz (the zone of a local
 * time: an IANA name such as Europe/Berlin, UTC, or an offset such as
 * +01:00; empty or absent: the host's zone) give a row its own send time
 * and expiry; the campaign's defaults (recipients_set_times: sluice send's
 * --send-at, --expires-at, --expires-in) fill what a row leaves empty, a
 * local time among them read in the row's tz. A time of day is the next
 * one at or after the queueing (send_at) or the send time (expires_at);
 * an expiry in is counted from the send time. A bad value, an unknown
 * zone, or an expiry not after the send time is a bad row (its line and
 * column named). The columns stay merge fields too. Reading an IANA zone
 * sets TZ for a moment (when.h): read lists while single-threaded.
 */
#ifndef SLUICE_LIST_RECIPIENTS_H
#define SLUICE_LIST_RECIPIENTS_H

#include <stdint.h>
#include <stdio.h>

#include "list/csv.h"
#include "mail/address.h"
#include "util/err.h"
#include "util/strbuf.h"

/* The campaign's times for rows that give none (NULL / 0: none). */
struct recipient_times {
	const char *send_at, *expires_at; /* text as given (util/when.h) */
	int64_t expires_in_s;             /* counted from the send time */
	int64_t now_s;                    /* the queueing time */
	const char *default_zone;         /* of a row without tz (NULL: the host's) */
	int fixed_zones; /* 1: tz only UTC or an offset (no IANA names: a threaded server) */
};

struct strmap;

struct recipient_list {
	char *path;
	FILE *f;
	struct csv_reader csv;
	char **names; /* header row, owned */
	size_t nnames;
	size_t email_col;
	long send_at_col, expires_at_col, tz_col; /* -1: no such column */
	struct recipient_times times;
	struct strmap *when_cache; /* (zone, text, reference) -> time */
};

struct recipient_row {
	struct address addr;  /* owned by the row until the next call */
	struct strbuf fields; /* packed (mail/fields.h), one per header name */
	long line;
	int64_t send_at_s, expires_at_s; /* its times (0: none) */
};

/* Opens path and reads the header row; 0, or -1 with e set (file and line). */
int recipients_open(struct recipient_list *l, const char *path, struct err *e);
/* The same over a stream already open (an upload in memory); name stands
 * for the path in messages. The list owns f from here on, even on -1
 * (recipients_close closes it). */
int recipients_open_stream(struct recipient_list *l, const char *name, FILE *f, struct err *e);
/* Sets the campaign's times (copied but for the strings, which must
 * outlive the list); now_s also when there are none. */
void recipients_set_times(struct recipient_list *l, const struct recipient_times *t);
/* 1: row filled; 0: end; -1: a bad row was skipped (e: "path:line: why";
 * row->line: the line the bad record starts on). */
int recipients_next(struct recipient_list *l, struct recipient_row *row, struct err *e);
void recipients_close(struct recipient_list *l);
void recipient_row_free(struct recipient_row *row);
/* The header names packed as one blob (mail/fields.h), for the campaign record. */
void recipients_names_blob(const struct recipient_list *l, struct strbuf *out);

#endif
