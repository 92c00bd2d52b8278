/*
 * prom: a writer of the Prometheus text exposition format, version 0.0.4
 * (what GET /metrics answers, Content-Type PROM_CONTENT_TYPE): for each
 * metric family a "# HELP" and a "# TYPE" line, then its samples, one a
 * line: name{label="value",...} value. Label values are escaped as the
 * format requires (backslash, double quote and line feed as \\, \" and
 * \n; bytes that are not UTF-8 as the text \xNN), HELP text likewise
 * (backslash and line feed). Values are written as integers when they are
 * whole, as +Inf, -Inf and NaN when not finite. Knows nothing of what is
 * measured; names and label names are the caller's constants.
 */
#ifndef SLUICE_UTIL_PROM_H
#define SLUICE_UTIL_PROM_H

#include <stddef.h>

#include "util/histogram.h"
#include "util/strbuf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct prom_label {
	const char *name, *value; /* value NULL: written as "" */
};

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void prom_family(struct strbuf *b, const char *name, const char *type, const char *help);
/* One sample line; n labels (0: no braces). */
void prom_sample(struct strbuf *b, const char *name, const struct prom_label *labels, size_t n,
                 double v);
/* A histogram's samples: name_bucket{...,le="B"} for each bound and +Inf
 * (cumulative), name_sum and name_count. */
void prom_histogram(struct strbuf *b, const char *name, const struct prom_label *labels, size_t n,
                    const struct histogram *h);
/* Appends v escaped as a label value (without the quotes). */
void prom_escape_label(struct strbuf *b, const char *v);
/* Appends v as a sample value. */
void prom_value(struct strbuf *b, double v);

#endif
