/*
 * csv: an RFC 4180 reader for recipient lists (UTF-8, quoted fields, CRLF or
 * LF). It reads one record at a time from a FILE, so a list of millions of
 * rows never sits in memory. A malformed record is reported with its line
 * and column, skipped, and reading goes on with the next line.
 *
 * Hand-written because the library that exists (libcsv) reports no
 * positions and does not bound field sizes; both matter for hostile input.
 */
#ifndef SLUICE_LIST_CSV_H
#define SLUICE_LIST_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "util/err.h"
#include "util/strbuf.h"

#define CSV_FIELD_MAX  65536
#define CSV_FIELDS_MAX 1024

struct csv_field {
	size_t off; /* into the record's bytes */
	size_t len;
};

struct csv_reader {
	FILE *f;   /* not owned */
	long line; /* physical line the next record starts on (1-based) */
	struct strbuf bytes;
	struct csv_field fields[CSV_FIELDS_MAX];
	size_t nfields;
	long record_line; /* line of the record just returned */
};

void csv_init(struct csv_reader *r, FILE *f);
void csv_free(struct csv_reader *r);
/* 1: a record is in r->fields; 0: end of file; -1: a malformed record was
 * skipped (e names line and column; call again to go on). */
int csv_next(struct csv_reader *r, struct err *e);
/* Field i of the current record as a pointer into r->bytes (NUL-terminated). */
const char *csv_field(const struct csv_reader *r, size_t i, size_t *len);

/* Writes one record of n fields to f, quoting the fields that need it. */
void csv_write(FILE *f, const char *const *fields, size_t n);

#endif
