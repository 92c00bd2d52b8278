/*
 * provlimit: the limits of one large provider for one source, across every
 * site of that provider (Microsoft 365 tenants, Google Workspace domains:
 * thousands of sites, one receiver judging the source IP). It counts the
 * connections open and holds two token buckets (messages, connections);
 * each site's own throttle still applies on top. The message rate in
 * force is the lower of the configured one and the one learned from the
 * provider's throttling replies (shape/learn.h, fed by the engine). Pure accounting: time is
 * passed in; who waits for it and how they are woken is the engine's.
 *
 * The questions (provlimit_*_wait) take nothing, so that a caller can ask
 * the provider and the site first and take from both only when both say
 * go; the takes must follow a wait of 0 at the same time.
 */
#ifndef SLUICE_SHAPE_PROVLIMIT_H
#define SLUICE_SHAPE_PROVLIMIT_H

#include <stdint.h>

#include "shape/bucket.h"

#define PROVLIMIT_FULL (-1) /* at the connection cap: wait for one to close */

struct provlimit {
	int max_connections;                  /* open at once; 0: no cap */
	double message_rate, connection_rate; /* per second; 0: unlimited */
	double learned_rate;                  /* messages per second learned; 0: none */
	struct bucket messages, connections;
	int open; /* connections open now (taken, not yet closed) */
};

/* max_connections 0 and rates 0: no limit of that kind. */
void provlimit_init(struct provlimit *p, int max_connections, double message_rate,
                    double connection_rate, int64_t now_ms);
/* New limits (a reload); the connections open are kept. */
void provlimit_set(struct provlimit *p, int max_connections, double message_rate,
                   double connection_rate, int64_t now_ms);
/* The message rate learned (shape/learn.h) for the provider and source;
 * the lower of it and the configured one is in force. 0: none. */
void provlimit_set_learned(struct provlimit *p, double learned_rate, int64_t now_ms);
/* The message rate in force (per second; 0: unlimited). */
double provlimit_message_rate(const struct provlimit *p);
/* 0: one more connection may open now; PROVLIMIT_FULL: at the cap; else
 * the milliseconds until the connection rate allows one. Takes nothing. */
int64_t provlimit_connection_wait(struct provlimit *p, int64_t now_ms);
/* A connection opens (after a wait of 0): counted open, its token taken. */
void provlimit_connection_take(struct provlimit *p, int64_t now_ms);
/* A connection taken before has closed. */
void provlimit_connection_closed(struct provlimit *p);
/* 0: one more message may go now; else milliseconds to wait. Takes nothing. */
int64_t provlimit_message_wait(struct provlimit *p, int64_t now_ms);
/* A message goes (after a wait of 0): its token taken. */
void provlimit_message_take(struct provlimit *p, int64_t now_ms);
/* How many connections / messages could go now (INT_MAX: no limit): how
 * many waiters are worth waking. */
int provlimit_connection_room(struct provlimit *p, int64_t now_ms);
int provlimit_message_room(struct provlimit *p, int64_t now_ms);

#endif
