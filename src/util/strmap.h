/*
 * strmap: a hash map from NUL-terminated strings to pointers.
 * Keys are copied and owned by the map; values are the caller's.
 */
#ifndef SLUICE_UTIL_STRMAP_H
#define SLUICE_UTIL_STRMAP_H

#include <stddef.h>

struct strmap;

struct strmap *strmap_new(void);
/* Frees the map and its keys; calls free_value on each value if given. */
void strmap_free(struct strmap *m, void (*free_value)(void *));
void *strmap_get(const struct strmap *m, const char *key);
/* Inserts or replaces; returns the previous value or NULL. */
void *strmap_put(struct strmap *m, const char *key, void *value);
void *strmap_remove(struct strmap *m, const char *key);
size_t strmap_count(const struct strmap *m);
/* Iteration: *pos starts at 0; returns 0 at the end. */
int strmap_next(const struct strmap *m, size_t *pos, const char **key, void **value);

#endif
