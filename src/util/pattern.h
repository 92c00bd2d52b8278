/*
 * pattern: a case-insensitive POSIX extended regular expression (regcomp)
 * kept with its source text, as the configuration and the classification
 * table write them.
 */
#ifndef SLUICE_UTIL_PATTERN_H
#define SLUICE_UTIL_PATTERN_H

#include <regex.h>

#include "util/err.h"

/* A case-insensitive extended regular expression and its source text. */
struct pattern {
	char *text; /* NULL: unset (matches anything) */
	regex_t re;
};

/* Compiles text into p; 0, or -1 with the regex error in e. */
int pattern_compile(struct pattern *p, const char *text, struct err *e);
/* 1 if p is unset or matches s. */
int pattern_match(const struct pattern *p, const char *s);
void pattern_free(struct pattern *p);

#endif
