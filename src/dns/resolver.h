/*
 * resolver: c-ares driven by the libevent loop (no thread, no blocking).
 * Queries go to the configured servers (ip or ip:port), or those of
 * /etc/resolv.conf. Answers come back raw to the callback, for the caller
 * to parse with c-ares' parsers.
 */
#ifndef SLUICE_DNS_RESOLVER_H
#define SLUICE_DNS_RESOLVER_H

#include <stddef.h>

#include "util/err.h"

struct event_base;
struct resolver;

/* status is an ARES_* code; abuf/alen the answer when status is ARES_SUCCESS. */
typedef void (*resolver_cb)(void *arg, int status, const unsigned char *abuf, int alen);

int resolver_new(struct event_base *base, char *const *servers, size_t nservers, int timeout_ms,
                 int tries, struct resolver **out, struct err *e);
/* Cancels pending queries (their callbacks run with ARES_EDESTRUCTION) and frees. */
void resolver_free(struct resolver *r);
/* Queries name for type (ns_t_mx, ns_t_a, ...) in class IN. */
void resolver_query(struct resolver *r, const char *name, int type, resolver_cb cb, void *arg);
/* Answers every query not yet answered with ARES_ECANCELLED, now (a
 * prompt stop must not wait for DNS timeouts). */
void resolver_cancel(struct resolver *r);

#endif
