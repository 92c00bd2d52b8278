/*
 * srcblock: source failover's state, in memory. A blocklist-style refusal
 * (a reply rule with action block_source, shape/rules.h) blocks one (site,
 * source IP) pair until a time; a site then sends from the next healthy
 * source of its pool, within the pool's failover width: the site's home
 * source (the one it sticks to) and the width-1 sources after it in pool
 * order, never more, so a block cannot turn into snowshoeing. When every
 * allowed source is blocked the site waits for the earliest block's end.
 * The engine keeps the blocks in the store (store/srcblock.h) and loads
 * them here at start; times are wall seconds passed in (no clock here).
 */
#ifndef SLUICE_SHAPE_SRCBLOCK_H
#define SLUICE_SHAPE_SRCBLOCK_H

#include <stddef.h>
#include <stdint.h>

struct srcblocks;

struct srcblocks *srcblocks_new(void);
void srcblocks_free(struct srcblocks *b);
/* Blocks (site, ip) until until_s (the later of two blocks stays). */
void srcblocks_set(struct srcblocks *b, const char *site, const char *ip, int64_t until_s);
/* The same, set_ms (wall) when the block was set or renewed (the latest
 * stays), watched 1 when the watcher's DNSBL check may end it early (its
 * reply named a check.dnsbl zone; kept once set). */
void srcblocks_set_at(struct srcblocks *b, const char *site, const char *ip, int64_t until_s,
                      int64_t set_ms, int watched);
/* Ends early the watched blocks of ip set before before_ms (the listing is
 * gone, serve/watch.c): cb(arg, site, until_s) per block ended (site
 * borrowed for the call), before it is dropped. Returns their number. */
typedef void (*srcblocks_lift_fn)(void *arg, const char *site, int64_t until_s);
size_t srcblocks_lift(struct srcblocks *b, const char *ip, int64_t before_ms, srcblocks_lift_fn cb,
                      void *arg);
/* When the block of (site, ip) ends, or 0 when it is not blocked at now_s. */
int64_t srcblocks_until(const struct srcblocks *b, const char *site, const char *ip, int64_t now_s);
/* Blocks in force (ended ones are dropped by srcblocks_set and _prune). */
size_t srcblocks_count(const struct srcblocks *b);
void srcblocks_prune(struct srcblocks *b, int64_t now_s);

/* The source a site sends from: of the pool's n source IPs (pool order),
 * the home one (index home) and the width-1 after it (wrapping), the first
 * blocked neither at site nor at group (its provider's key, or NULL) at
 * now_s. Returns its index, or -1 with *wait_until_s set to the earliest
 * end of those blocks (every allowed source is blocked). */
int srcblocks_pick(const struct srcblocks *b, const char *site, const char *group,
                   const char *const *ips, size_t n, size_t home, int width, int64_t now_s,
                   int64_t *wait_until_s);

/* Rule triggers by count (a reply rule's trigger: {count, within}): the
 * matches of one (rule, target) within a sliding window. */
struct triggers;

struct triggers *triggers_new(void);
void triggers_free(struct triggers *t);
/* Counts a match of rule (by name) against target at now_ms; 1 when it
 * fires (the count-th match within within_ms, after which the count starts
 * again), else 0. count <= 1 always fires. */
int triggers_hit(struct triggers *t, const char *rule, const char *target, int count,
                 int64_t within_ms, int64_t now_ms);

#endif
