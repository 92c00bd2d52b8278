/*
 * provider_state: what a running scheduler says of each provider's limits
 * per source (connections open across all its sites, the message rate,
 * and the provider-wide limits; engine/site.c), written with the site
 * snapshots in the group commit, for `sluice queue`. Table
 * `provider_state` in queue.db, one row per (provider, source IP).
 */
#ifndef SLUICE_STORE_PROVIDER_STATE_H
#define SLUICE_STORE_PROVIDER_STATE_H

#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

/* Rates are per second; a limit of 0 means none. */
struct provider_snapshot {
	const char *provider, *source_ip;
	int sites;   /* its sites in memory */
	int waiting; /* of them, waiting for the provider's capacity */
	int conns, conn_limit;
	double rate, rate_limit, conn_rate_limit;
	int64_t updated_s;
};

/* Creates the table (store_open calls it). */
int store_provider_state_init(struct store *s, struct err *e);
/* Inserts or replaces the row of (provider, source_ip), in the group commit. */
int store_provider_snapshot(struct store *s, const struct provider_snapshot *snap, struct err *e);
/* Calls cb per row, by provider and source (strings borrowed for the call). */
typedef void (*store_provider_fn)(void *arg, const struct provider_snapshot *snap);
int store_provider_snapshots(struct store *s, store_provider_fn cb, void *arg, struct err *e);

#endif
