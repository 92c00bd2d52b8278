/*
 * recipients: a recipient list file (CSV with a header row naming the merge
 * fields; an 'email' column is required) read row by row into canonical
 * addresses and packed fields. Bad rows are reported with their line and
 * skipped; duplicates are the queue's to catch (it has the UNIQUE index).
 */
#ifndef SLUICE_LIST_RECIPIENTS_H
#define SLUICE_LIST_RECIPIENTS_H

#include <stdio.h>

#include "list/csv.h"
#include "mail/address.h"
#include "util/err.h"
#include "util/strbuf.h"

struct recipient_list {
	char *path;
	FILE *f;
	struct csv_reader csv;
	char **names; /* header row, owned */
	size_t nnames;
	size_t email_col;
};

struct recipient_row {
	struct address addr;  /* owned by the row until the next call */
	struct strbuf fields; /* packed (mail/fields.h), one per header name */
	long line;
};

/* Opens path and reads the header row; 0, or -1 with e set (file and line). */
int recipients_open(struct recipient_list *l, const char *path, struct err *e);
/* 1: row filled; 0: end; -1: a bad row was skipped (e: "path:line: why"). */
int recipients_next(struct recipient_list *l, struct recipient_row *row, struct err *e);
void recipients_close(struct recipient_list *l);
void recipient_row_free(struct recipient_row *row);
/* The header names packed as one blob (mail/fields.h), for the campaign record. */
void recipients_names_blob(const struct recipient_list *l, struct strbuf *out);

#endif
