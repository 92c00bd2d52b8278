/* cli: one function per subcommand; each returns the process exit status. */
#ifndef SLUICE_CLI_CLI_H
#define SLUICE_CLI_CLI_H

#include <stdint.h>
#include <stdio.h>

/* Exit statuses shared by the subcommands. */
#define EXIT_ALL_DELIVERED 0
#define EXIT_SOME_FAILED   1
#define EXIT_USAGE         2

/* This build's version (git describe), set by main. */
extern const char *cli_version;

int cli_send(int argc, char **argv);
int cli_queue(int argc, char **argv);
int cli_bounces(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_suppress(int argc, char **argv);
int cli_list(int argc, char **argv);
int cli_check(int argc, char **argv);

struct config;
/* The preflight checks (sluice check) before delivering, unless force:
 * prints each FAIL to f; -1 when one FAILs (the caller refuses to send). */
int check_before_sending(const struct config *cfg, const char *tpl, int bulk, const char *state_dir,
                         int force, FILE *f);
int cli_campaign(int argc, char **argv);
/* sluice site pause|resume (site.c): the operator's hold on sites. */
int cli_site(int argc, char **argv);
/* sluice report --campaign ID (report.c): outcomes, categories, domains,
 * and the danger signs that fired. */
int cli_report(int argc, char **argv);
/* sluice tenant key|password|list (tenant.c): API keys, password hashes. */
int cli_tenant(int argc, char **argv);

struct store;
/* --state DIR, --config FILE (its state_dir), --campaign ID for campaign and
 * report: *state is the directory to use; NULL on a usage error. */
const char *cli_campaign_args(int argc, char **argv, const char **state, const char **campaign);
/* The same, also taking --tenant NAME (report). */
const char *cli_campaign_args_tenant(int argc, char **argv, const char **state,
                                     const char **campaign, const char **tenant);
/* Opens the store in state (NULL: the config could not be read, said so);
 * -1 after saying why. */
int cli_open_store(const char *state, struct store **st);

struct control_request;
/* Records a one-shot control (store_control_request) in the state
 * directory, asked of the process delivering from it: 1 one is running
 * (its pid in *holder) and performs it within about a second, 0 none is
 * (the next one to start performs it; or, with idle_result, the request
 * is recorded as done with that result: nothing was left to do), -1 error
 * (said so). */
int cli_control_ask(const char *state, const struct control_request *r, const char *idle_result,
                    long *holder);
/* sluice purge --domain DOMAIN --reason TEXT [--campaign ID] (purge.c). */
int cli_purge(int argc, char **argv);

/* Prints cmd's usage to f; returns 0 for stdout (asked for), else
 * EXIT_USAGE (a usage error). */
int cli_usage(const char *cmd, FILE *f);
/* The state directory: state if given, else config's state_dir (the file
 * is read for it), else ./sluice-state. NULL (message printed) when the
 * config cannot be read. The result is static. */
const char *cli_state_dir(const char *config, const char *state);
/* A control's --for DURATION (15m, 2h, 3d) in seconds, rounded up: 0, or
 * -1 with "sluice WHAT: bad --for ..." said. */
int cli_for_seconds(const char *what, const char *arg, int64_t *out_s);

/* A danger sign on stderr (a monitor_sink function, engine/monitor.h):
 * "sluice: danger: campaign C: KIND: DETAIL", on a line of its own when it
 * comes from a delivery (the progress line may be half written). */
struct monitor_sign;
void cli_print_sign(void *arg, const struct monitor_sign *sg);

/* queue_blocks.c: the source blocks in force at now_s, for `sluice queue`. */
struct err;
int cli_print_source_blocks(struct store *st, int64_t now_s, struct err *e);

#endif
