/* csv: see csv.h. */
#include "list/csv.h"

#include <string.h>

#include "util/utf8.h"

void csv_init(struct csv_reader *r, FILE *f)
{
	memset(r, 0, sizeof(*r));
	r->f = f;
	r->line = 1;
}

void csv_free(struct csv_reader *r)
{
	strbuf_free(&r->bytes);
}

const char *csv_field(const struct csv_reader *r, size_t i, size_t *len)
{
	*len = r->fields[i].len;
	return r->bytes.data + r->fields[i].off;
}

/* Skips to the start of the next physical line after an error. */
static int skip_line(struct csv_reader *r, int c)
{
	while (c != EOF && c != '\n')
		c = getc_unlocked(r->f);
	if (c == '\n')
		r->line++;
	return -1;
}

static int end_field(struct csv_reader *r, size_t start, long line, long col, struct err *e)
{
	struct csv_field *fl = &r->fields[r->nfields];

	fl->off = start;
	fl->len = r->bytes.len - start;
	if (!utf8_valid(r->bytes.data + start, fl->len))
		return err_set(e, "line %ld, column %ld: field is not valid UTF-8", line, col);
	strbuf_addc(&r->bytes, '\0');
	if (++r->nfields >= CSV_FIELDS_MAX)
		return err_set(e, "line %ld: more than %d fields", line, CSV_FIELDS_MAX);
	return 0;
}

int csv_next(struct csv_reader *r, struct err *e)
{
	int c = getc_unlocked(r->f);
	long col = 1, field_col = 1;

	strbuf_reset(&r->bytes);
	strbuf_reserve(&r->bytes, 256);
	r->nfields = 0;
	r->record_line = r->line;
	if (c == EOF)
		return 0;
	size_t start = 0;
	for (;;) {
		field_col = col;
		start = r->bytes.len;
		if (c == '"') {
			long qline = r->line, qcol = col;
			for (;;) {
				c = getc_unlocked(r->f);
				col++;
				if (c == EOF) {
					err_set(e,
					        "line %ld, column %ld: quoted field never closed",
					        qline, qcol);
					return -1;
				}
				if (c == '"') {
					c = getc_unlocked(r->f);
					col++;
					if (c != '"')
						break;
				} else if (c == '\n') {
					r->line++;
					col = 0;
				}
				if (r->bytes.len - start >= CSV_FIELD_MAX) {
					err_set(e,
					        "line %ld, column %ld: field longer than %d octets",
					        qline, qcol, CSV_FIELD_MAX);
					return skip_line(r, c);
				}
				strbuf_addc(&r->bytes, (char)c);
			}
			if (c != ',' && c != '\n' && c != '\r' && c != EOF) {
				if (qline != r->line)
					err_set(
					    e,
					    "line %ld, column %ld: text after a closing quote (the "
					    "quoted field opened on line %ld, column %ld)",
					    r->line, col, qline, qcol);
				else
					err_set(e,
					        "line %ld, column %ld: text after a closing quote",
					        r->line, col);
				return skip_line(r, c);
			}
		} else {
			while (c != ',' && c != '\n' && c != '\r' && c != EOF) {
				if (c == '"') {
					err_set(
					    e,
					    "line %ld, column %ld: quote inside an unquoted field",
					    r->line, col);
					return skip_line(r, c);
				}
				if (r->bytes.len - start >= CSV_FIELD_MAX) {
					err_set(e,
					        "line %ld, column %ld: field longer than %d octets",
					        r->line, field_col, CSV_FIELD_MAX);
					return skip_line(r, c);
				}
				strbuf_addc(&r->bytes, (char)c);
				c = getc_unlocked(r->f);
				col++;
			}
		}
		if (end_field(r, start, r->line, field_col, e) != 0)
			return skip_line(r, c);
		if (c == ',') {
			c = getc_unlocked(r->f);
			col++;
			continue;
		}
		if (c == '\r') {
			c = getc_unlocked(r->f);
			if (c != '\n' && c != EOF) {
				err_set(e,
				        "line %ld, column %ld: carriage return without line feed",
				        r->line, col);
				return skip_line(r, c);
			}
		}
		if (c == '\n')
			r->line++;
		return 1;
	}
}

void csv_write(FILE *f, const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *s = fields[i] ? fields[i] : "";
		if (i)
			fputc(',', f);
		if (!s[strcspn(s, ",\"\r\n")]) {
			fputs(s, f);
			continue;
		}
		fputc('"', f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	}
	fputs("\r\n", f);
}
