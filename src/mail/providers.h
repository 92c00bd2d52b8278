/*
 * providers: the large mailbox providers, known by their MX host names, with
 * the conservative limits sluice uses for them unless the config's
 * `policies` say otherwise (delivery.provider_policies: false turns these
 * off), and the limits that hold across all of a provider's sites from one
 * source (engine/site.c; the config's `providers` entries add or change
 * them). The name also groups outcomes by provider in the monitor and in
 * `sluice report`.
 */
#ifndef SLUICE_MAIL_PROVIDERS_H
#define SLUICE_MAIL_PROVIDERS_H

#include <stddef.h>

/* Limits across every site of one provider, per source IP (a provider's
 * MX hosts judge the source, not the recipient domain); 0: none. */
struct provider_limits {
	int max_connections;    /* open at once */
	double message_rate;    /* messages per second */
	double connection_rate; /* new connections per second */
};

struct provider {
	const char *name;
	const char *mx[4]; /* shell globs on the MX host name, NULL-terminated */
	int max_connections;
	int max_messages_per_connection;
	double message_rate;          /* per second */
	struct provider_limits total; /* across all its sites, per source */
};

#define PROVIDERS_MAX 16

/* The provider whose MX host mx is (case-insensitive), or NULL. */
const struct provider *provider_for_mx(const char *mx);
/* The built-in provider called name, or NULL. */
const struct provider *provider_by_name(const char *name);
/* Its place in the table (0 .. PROVIDERS_MAX-1), or -1 for NULL. */
int provider_index(const struct provider *p);
/* The table, for documentation and tests. */
const struct provider *provider_table(size_t *n);

#endif
