/* recipients: see recipients.h. */
#include "list/recipients.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/fields.h"
#include "util/xmalloc.h"

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
	struct err ce;

	memset(l, 0, sizeof(*l));
	l->path = xstrdup(path);
	l->f = fopen(path, "r");
	if (!l->f)
		return err_set(e, "%s: cannot open: %m", path);
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
		}
	}
	if (!found)
		return err_set(e, "%s:1: no 'email' column in the header row", path);
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
		if (rc < 0)
			return err_set(e, "%s: %s", l->path, ce.msg);
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
	memset(l, 0, sizeof(*l));
}

void recipients_names_blob(const struct recipient_list *l, struct strbuf *out)
{
	for (size_t i = 0; i < l->nnames; i++)
		fields_add(out, l->names[i], strlen(l->names[i]));
}
