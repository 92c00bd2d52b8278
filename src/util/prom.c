/* prom: see prom.h. */
#include "util/prom.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/utf8.h"

#define LABELS_MAX 8 /* a histogram's labels plus its le */

/* s with its invalid UTF-8 made \xNN, then each of esc escaped. */
static void escape(struct strbuf *b, const char *s, int quotes)
{
	struct strbuf clean = STRBUF_INIT;
	size_t n = strlen(s);

	if (!utf8_valid(s, n)) {
		utf8_escape_invalid(s, n, &clean);
		s = clean.data;
		n = clean.len;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\\')
			strbuf_adds(b, "\\\\");
		else if (c == '\n')
			strbuf_adds(b, "\\n");
		else if (c == '"' && quotes)
			strbuf_adds(b, "\\\"");
		else
			strbuf_addc(b, c);
	}
	strbuf_free(&clean);
}

void prom_escape_label(struct strbuf *b, const char *v)
{
	escape(b, v ? v : "", 1);
}

void prom_value(struct strbuf *b, double v)
{
	if (isnan(v))
		strbuf_adds(b, "NaN");
	else if (isinf(v))
		strbuf_adds(b, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0) /* 2^53: exact */
		strbuf_addf(b, "%lld", (long long)v);
	else
		strbuf_addf(b, "%.15g", v);
}

void prom_family(struct strbuf *b, const char *name, const char *type, const char *help)
{
	strbuf_addf(b, "# HELP %s ", name);
	escape(b, help, 0);
	strbuf_addf(b, "\n# TYPE %s %s\n", name, type);
}

void prom_sample(struct strbuf *b, const char *name, const struct prom_label *labels, size_t n,
                 double v)
{
	strbuf_adds(b, name);
	for (size_t i = 0; i < n; i++) {
		strbuf_adds(b, i == 0 ? "{" : ",");
		strbuf_adds(b, labels[i].name);
		strbuf_adds(b, "=\"");
		prom_escape_label(b, labels[i].value);
		strbuf_addc(b, '"');
	}
	if (n > 0)
		strbuf_addc(b, '}');
	strbuf_addc(b, ' ');
	prom_value(b, v);
	strbuf_addc(b, '\n');
}

void prom_histogram(struct strbuf *b, const char *name, const struct prom_label *labels, size_t n,
                    const struct histogram *h)
{
	struct prom_label l[LABELS_MAX + 1];
	char metric[128], le[32];

	if (n > LABELS_MAX)
		n = LABELS_MAX;
	if (n)
		memcpy(l, labels, n * sizeof(*l));
	l[n].name = "le";
	l[n].value = le;
	snprintf(metric, sizeof(metric), "%s_bucket", name);
	for (size_t i = 0; i <= h->n; i++) {
		if (i < h->n)
			snprintf(le, sizeof(le), "%.15g", h->bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		prom_sample(b, metric, l, n + 1, (double)histogram_cumulative(h, i));
	}
	snprintf(metric, sizeof(metric), "%s_sum", name);
	prom_sample(b, metric, labels, n, h->sum);
	snprintf(metric, sizeof(metric), "%s_count", name);
	prom_sample(b, metric, labels, n, (double)h->count);
}
