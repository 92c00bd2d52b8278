/*
 * watch: serve re-checks the identity of every source it sends from, as
 * `sluice check` does (preflight_watch_source: the check.dnsbl zones, PTR
 * with forward confirmation and the HELO, SPF of the From and envelope
 * domains): at start, every watch.interval, and at once (at most every
 * watch.after_block) after delivery saw a blocklist-style reply (the
 * reputation_block category). The lookups block, so they run on a worker
 * thread; what they found is acted on here, on the loop.
 *
 * A source found listed, or whose rDNS or SPF passed before and fails now,
 * is paused (a "source" pause in the store, as `sluice site pause --source`
 * records, with the reason "watch: ...") and a danger sign fires; the
 * other sources go on. When a later check finds it good again, the pause
 * the watcher made is lifted (an operator's pause is never touched). A DNS
 * failure judges nothing.
 */
#ifndef SLUICE_SERVE_WATCH_H
#define SLUICE_SERVE_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "engine/monitor.h"
#include "mail/config.h"
#include "preflight/preflight.h"
#include "util/err.h"

struct event_base;
struct store;
struct dlog;
struct scheduler;
struct watch;

#define WATCH_REASON_PREFIX "watch: "

struct watch_params {
	struct event_base *base;
	const struct config *cfg; /* borrowed for the watcher's life (it stays: serve_params') */
	struct store *st;
	struct dlog *log;
	struct scheduler *sched; /* its block counters; commits the pauses */
	const struct source *const *sources;
	size_t nsources;
	struct monitor_sink sink; /* where danger signs go */
};

/* Starts watching (the first check at once); *out NULL when
 * cfg->watch_interval_ms is 0. 0, or -1 with e set. */
int watch_start(const struct watch_params *p, struct watch **out, struct err *e);
/* No check starts from now on (serve is stopping). NULL: no-op. */
void watch_stop(struct watch *w);
/* Waits for a check under way (acting on nothing more), frees. NULL: no-op. */
void watch_free(struct watch *w);

/* ---- the decision, for one source (pure; unit-tested) ---- */

/* What the store holds for the source. */
enum watch_paused { WATCH_NOT_PAUSED, WATCH_PAUSED_BY_WATCH, WATCH_PAUSED_BY_OPERATOR };
enum watch_act {
	WATCH_NONE,  /* nothing to do */
	WATCH_PAUSE, /* pause it with reason; a danger sign */
	WATCH_SIGN,  /* a danger sign only (an operator's pause holds it already) */
	WATCH_LIFT,  /* good again: lift the watcher's pause */
};
/* What the watcher remembers of a source between checks. */
struct watch_memory {
	int rdns_ok_seen, spf_ok_seen; /* passed once since start */
	int bad;                       /* the last judged check found it bad */
};
/* Judges one check f of a source; reason (n bytes) gets "watch: ..." for
 * WATCH_PAUSE and WATCH_SIGN. rDNS and SPF count only once they have
 * passed (or when the watcher's pause is in force): a source set up
 * without them is the operator's known state, `sluice check` reports it. */
enum watch_act watch_decide(const struct preflight_watch *f, struct watch_memory *m,
                            enum watch_paused paused, char *reason, size_t n);

/* Source failover's blocks end early when the listing is gone: 1 when a
 * block set (or renewed) at set_ms ends after check f, whose previous
 * check started at before_ms (0: none): the check found the source on none
 * of the check.dnsbl zones (have_zones: some are configured; without them
 * nothing tells) and the block came before the previous check started: a
 * check that started after the block (usually the one its reply triggers
 * at once) came first, so a listing slow to show is not missed. The
 * scheduler applies it to each block whose reply named a zone
 * (scheduler_lift_source_blocks; set_ms as each block's). */
int watch_ends_blocks(const struct preflight_watch *f, int have_zones, int64_t set_ms,
                      int64_t before_ms);

#endif
