/*
 * srcblock: the sources blocked at a site (source failover,
 * shape/srcblock.h), kept in queue.db (table `source_block`) so that a
 * restart keeps them: one row per (site, source IP) with when the block
 * ends, the rule and the reply that caused it. `sluice queue` lists those
 * in force.
 */
#ifndef SLUICE_STORE_SRCBLOCK_H
#define SLUICE_STORE_SRCBLOCK_H

#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

struct store_srcblock {
	const char *site, *source_ip, *rule, *reply;
	int64_t until_s, created_s;
};

/* Creates the table (store_open calls it). */
int store_srcblock_init(struct store *s, struct err *e);
/* Inserts or replaces the row of (row->site, row->source_ip), in the group
 * commit's transaction. */
int store_srcblock_put(struct store *s, const struct store_srcblock *row, struct err *e);
/* Calls cb per block still in force at now_s, the latest ending first
 * (strings borrowed for the call). */
typedef void (*store_srcblock_fn)(void *arg, const struct store_srcblock *row);
int store_srcblock_list(struct store *s, int64_t now_s, store_srcblock_fn cb, void *arg,
                        struct err *e);

#endif
