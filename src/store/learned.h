/*
 * learned: what sluice learned of each destination's limits, per (site,
 * source IP), kept in queue.db (table `learned`) so that a restart or the
 * next campaign starts at the learned limits (shape/learn.h decides them;
 * the engine writes them in its group commit, at most every few seconds
 * per site). A provider's sites learn together: their row's site is
 * "provider:NAME" (engine/site.c). `sluice queue` lists them; operations.md
 * says how to delete them.
 */
#ifndef SLUICE_STORE_LEARNED_H
#define SLUICE_STORE_LEARNED_H

#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

struct store_learned {
	const char *site, *source_ip;
	double rate;     /* messages per second; 0: none learned */
	double ceiling;  /* the most the rate restores to */
	int connections; /* 0: none learned */
	int level;       /* suspension level */
	int64_t throttled_s, suspended_until_s, updated_s; /* 0: never / not */
};

/* Creates the table (store_open calls it). */
int store_learned_init(struct store *s, struct err *e);
/* 1 and *out filled (its strings are site and ip), 0 none kept, -1 error. */
int store_learned_get(struct store *s, const char *site, const char *ip, struct store_learned *out,
                      struct err *e);
/* Inserts or replaces the row of (row->site, row->source_ip), in the group
 * commit's transaction. */
int store_learned_put(struct store *s, const struct store_learned *row, struct err *e);
/* Calls cb per row, most recently updated first (strings borrowed for the call). */
typedef void (*store_learned_fn)(void *arg, const struct store_learned *row);
int store_learned_list(struct store *s, store_learned_fn cb, void *arg, struct err *e);

#endif
