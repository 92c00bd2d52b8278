/*
 * peers: what one client of a listener (SMTP or HTTP) may hold: open
 * connections, bytes in memory and a rate (messages or requests), per
 * client key. A key is an IPv4
 * address, or an IPv6 address's /64 (one subscriber's usual allocation:
 * walking the low 64 bits must not buy more connections). At most max
 * keys are tracked; a new key evicts the one least recently used that has
 * no connection open, so a flood of addresses forgets the oldest, never
 * everyone's budget at once.
 */
#ifndef SLUICE_SHAPE_PEERS_H
#define SLUICE_SHAPE_PEERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PEERS_KEY_MAX 64

struct peers;

/* rate_per_s: messages per second per key (0: unlimited). */
struct peers *peers_new(size_t max, double rate_per_s);
void peers_free(struct peers *p);
/* The client key of sa into out ("192.0.2.1", "2001:db8:1:2::/64"). */
void peers_key(const struct sockaddr *sa, char out[PEERS_KEY_MAX]);
/* Counts a new connection of key: 0, or -1 (not counted) when key already
 * has max_open open. */
int peers_open(struct peers *p, const char *key, int max_open);
/* A connection of key closed. */
void peers_close(struct peers *p, const char *key);
/* 1 if key may start another message now (a token was taken), else 0. */
int peers_rate_take(struct peers *p, const char *key, int64_t now_ms);
/* Bytes of messages key holds in memory now, and a change to them (a key
 * that holds bytes is never evicted). */
int64_t peers_held(const struct peers *p, const char *key);
void peers_hold(struct peers *p, const char *key, int64_t delta);
/* Keys tracked now. */
size_t peers_count(const struct peers *p);

#endif
