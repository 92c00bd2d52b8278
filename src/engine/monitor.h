/*
 * monitor: every danger sign of a campaign has one owner, this module
 * (engine/monitor.c). The scheduler feeds it each outcome (scheduler_int.h:
 * sender rejections, RCPT TO failure rates and spikes, deferrals at a large
 * provider); the inbound service feeds it each complaint
 * (monitor_complaint), working from the store alone so that it also judges
 * a campaign another process delivers. A sign is kept in the store (for
 * `sluice report` and other processes) and handed to the sink the composing
 * code installed (the CLI prints it; serve also stops its own scheduler's
 * campaign at once when a sign paused it). The monitor never prints.
 */
#ifndef SLUICE_ENGINE_MONITOR_H
#define SLUICE_ENGINE_MONITOR_H

#include <stdint.h>

#include "mail/config.h"
#include "util/err.h"

struct store;

/* One danger sign, for the sink (everything borrowed for the call). */
struct monitor_sign {
	const char *campaign;
	const char *kind;   /* sender_rejected, rcpt_failure_rate, complaint_rate, paused, ... */
	const char *detail; /* what was seen, for a person */
	int from_delivery;  /* 1: read from delivery outcomes; 0: from complaints */
	int paused;         /* 1: this sign paused the campaign (already in the store) */
};

typedef void (*monitor_sink_fn)(void *arg, const struct monitor_sign *sg);

/* Where signs go; fn NULL: nowhere (they are still stored). */
struct monitor_sink {
	monitor_sink_fn fn;
	void *arg;
};

/* One complaint (an ARF abuse or fraud report) about recipient of
 * campaign, counted once per recipient however often it is replayed:
 * past m->complaint_warn complaints per delivered message (once
 * m->min_messages are delivered) a complaint_rate sign, past
 * m->complaint_pause the campaign pauses in the store (a "paused" sign).
 * Writes go into the store's open transaction. 0, or -1 on a store error. */
struct engine_store;
int monitor_complaint(const struct engine_store *st, const struct monitor_policy *m,
                      const char *campaign, const char *recipient, int64_t now_s,
                      const struct monitor_sink *sink, struct err *e);

#endif
