/*
 * report: what `sluice send` shows a person: the live progress line (a
 * terminal) or a periodic status line (a log), and the closing summary
 * tables by outcome, reply category and destination domain.
 */
#ifndef SLUICE_CLI_REPORT_H
#define SLUICE_CLI_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "queue/store.h"
#include "util/err.h"

struct progress {
	int tty;
	int64_t start_ms;
	int64_t total;                 /* recipients of the campaign */
	int64_t done_before[RS_COUNT]; /* counts by state when this run began */
	int64_t last_print_ms;
	int64_t interval_ms;
};

struct scheduler_stats;

void progress_init(struct progress *p, FILE *f, int64_t total, const int64_t counts[RS_COUNT]);
/* Prints a line if the interval has passed (force: always). */
void progress_show(struct progress *p, FILE *f, const struct scheduler_stats *st, int force);
/* Ends the live line on a terminal. */
void progress_end(struct progress *p, FILE *f);

/* Prints the three summary tables from the store; 0, or -1 with e set. */
int report_summary(FILE *f, struct store *s, const char *campaign, struct err *e);

#endif
