/*
 * xmalloc: allocation that cannot fail for the caller.
 * Out of memory is not an error path sluice can recover from; these abort
 * with a message so that the real error paths stay about real errors.
 */
#ifndef SLUICE_UTIL_XMALLOC_H
#define SLUICE_UTIL_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);                 /* never NULL */
void *xcalloc(size_t count, size_t n);   /* zeroed, never NULL */
void *xrealloc(void *p, size_t n);       /* never NULL */
char *xstrdup(const char *s);            /* caller frees */
char *xstrndup(const char *s, size_t n); /* NUL-terminated copy of n bytes */

#endif
