/*
 * report: `sluice report` (cli.h) and the closing summary `sluice send`
 * prints: tables by outcome, reply category and destination domain, from
 * the store.
 */
#ifndef SLUICE_CLI_REPORT_H
#define SLUICE_CLI_REPORT_H

#include <stdio.h>

#include "util/err.h"

struct store;

/* Prints the three summary tables from the store; 0, or -1 with e set. */
int report_summary(FILE *f, struct store *s, const char *campaign, struct err *e);

#endif
