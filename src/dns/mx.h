/*
 * mx: where mail for a domain goes (RFC 5321 5.1, RFC 7505), cached.
 * MX records in preference order (equal preferences shuffled), each host's
 * addresses of the family the egress source uses; no MX: the domain's own
 * address; null MX and NXDOMAIN are permanent; SERVFAIL and timeouts are
 * temporary. Answers are cached per domain for their TTL (bounded), so a
 * campaign makes one lookup per domain, not one per message.
 */
#ifndef SLUICE_DNS_MX_H
#define SLUICE_DNS_MX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct resolver;
struct mx_cache;

#define MX_ADDRS_MAX 10 /* addresses tried per delivery attempt (Postfix: 5 + 2 sessions) */

enum mx_status {
	MX_OK,
	MX_NULL_MX,  /* RFC 7505: the domain accepts no mail (permanent) */
	MX_NXDOMAIN, /* the domain does not exist (permanent) */
	MX_NO_HOST,  /* no MX host has an address (permanent) */
	MX_TEMPFAIL, /* SERVFAIL, timeout, refused: try later */
};

struct mx_addr {
	struct sockaddr_storage sa;
	socklen_t salen;
	char ip[64];    /* printable */
	char host[256]; /* the MX host it belongs to */
};

/* What a lookup found; owned by the cache, valid until the callback returns. */
struct mx_result {
	enum mx_status status;
	const char *error;     /* why, for logs, when not MX_OK */
	struct mx_addr *addrs; /* in the order to try */
	size_t naddrs;
	const char *site; /* the sorted MX host set, e.g. "mx1.a.test,mx2.a.test" */
};

typedef void (*mx_cb)(void *arg, const char *domain, const struct mx_result *res);

/* family: AF_INET or AF_INET6, the egress source's. */
struct mx_cache *mx_cache_new(struct resolver *r, int family);
void mx_cache_free(struct mx_cache *c);
/* Calls cb once, maybe before returning (cached), maybe later. */
void mx_lookup(struct mx_cache *c, const char *domain, mx_cb cb, void *arg);
/* Statistics for the progress line: lookups sent, answers from cache. */
/* Every lookup under way is answered now, as a temporary failure. */
void mx_cache_cancel(struct mx_cache *c);
void mx_cache_stats(const struct mx_cache *c, uint64_t *queries, uint64_t *hits);

#endif
