/*
 * report: what `sluice send` shows a person: the live progress line (a
 * terminal) or a periodic status line (a log), and the closing summary
 * tables by outcome, reply category and destination domain.
 */
#ifndef SLUICE_CLI_REPORT_H
#define SLUICE_CLI_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "store/store.h"
#include "util/err.h"

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

void progress_init(struct progress *p, FILE *f, int64_t total, const int64_t counts[RS_COUNT]);
/* Prints a line if the interval has passed (force: always). next_due_s:
 * when the next queued recipient is due (wall seconds; -1 none known), so
 * the ETA can say that everything left waits for a scheduled retry. */
void progress_show(struct progress *p, FILE *f, const struct scheduler_stats *st,
                   int64_t next_due_s, int force);
/* Ends the live line on a terminal. */
void progress_end(struct progress *p, FILE *f);

/* Prints the three summary tables from the store; 0, or -1 with e set. */
int report_summary(FILE *f, struct store *s, const char *campaign, struct err *e);

#endif
