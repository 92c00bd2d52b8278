/*
 * progress: what `sluice send` shows while it delivers: the live progress
 * line on a terminal, else a status line every PLAIN_INTERVAL_MS (a log);
 * SLUICE_PROGRESS_MS sets the interval.
 */
#ifndef SLUICE_CLI_PROGRESS_H
#define SLUICE_CLI_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

#define PROGRESS_SAMPLES 11 /* one every 500 ms: a 5 s window */

struct progress {
	int tty;
	int64_t start_ms;
	int64_t total;                 /* recipients of the campaign */
	int64_t done_before[RS_COUNT]; /* counts by state when this run began */
	int64_t last_print_ms;
	int64_t interval_ms;
	/* the current rate: outcomes counted over the last RATE_WINDOW_MS */
	int64_t sample_ms[PROGRESS_SAMPLES], sample_done[PROGRESS_SAMPLES];
	int nsamples, next_sample;
};

struct scheduler_stats;

/* Starts counting from counts (by state) of total recipients; f: where it
 * is shown (a terminal or not). */
void progress_init(struct progress *p, FILE *f, int64_t total, const int64_t counts[RS_COUNT]);
/* Prints a line if the interval has passed (force: always). next_due_s:
 * when the next queued recipient is due (wall seconds; -1 none known), so
 * the ETA can say that everything left waits for a scheduled retry. */
void progress_show(struct progress *p, FILE *f, const struct scheduler_stats *st,
                   int64_t next_due_s, int force);
/* Ends the live line on a terminal. */
void progress_end(struct progress *p, FILE *f);
#endif
