/* utf8: validity checks for text that comes from outside (CSV, templates). */
#ifndef SLUICE_UTIL_UTF8_H
#define SLUICE_UTIL_UTF8_H

#include <stddef.h>

/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
int utf8_valid(const char *s, size_t n);
/* 1 if any byte of s[0..n) is >= 0x80. */
int utf8_has_8bit(const char *s, size_t n);

#endif
