/* utf8: validity checks for text that comes from outside (CSV, templates). */
#ifndef SLUICE_UTIL_UTF8_H
#define SLUICE_UTIL_UTF8_H

#include <stddef.h>

#include "util/strbuf.h"

/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
int utf8_valid(const char *s, size_t n);
/* 1 if any byte of s[0..n) is >= 0x80. */
int utf8_has_8bit(const char *s, size_t n);

/* Appends s[0..n) to out with each byte that is not part of a well-formed
 * sequence written as the four characters \xNN: evidence from outside
 * stays readable and valid UTF-8. */
void utf8_escape_invalid(const char *s, size_t n, struct strbuf *out);

#endif
