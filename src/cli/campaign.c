/*
 * sluice campaign resume ID [--state DIR]: lets a campaign the danger-sign
 * monitor paused go on (a running serve picks it up; else run its send
 * again). sluice report --campaign ID [--state DIR]: where a campaign
 * stands: outcomes, categories, domains, and the danger signs that fired.
 * Exit status: 0 done; 1 (resume) the campaign was not paused; 2 usage or
 * state error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/report.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"

static int open_state(const char *state, struct store **st)
{
	struct err e;
	if (!state)
		return -1; /* the config could not be read (said so) */
	if (store_open(state, st, &e) != 0) {
		log_error("%s", e.msg);
		return -1;
	}
	return 0;
}

/* --state DIR, --config FILE (its state_dir), --campaign ID; *state is the
 * directory to use. NULL on a usage error. */
static const char *parse(int argc, char **argv, const char **state, const char **campaign)
{
	static const struct option longopts[] = {{"state", required_argument, NULL, 's'},
	                                         {"config", required_argument, NULL, 'c'},
	                                         {"campaign", required_argument, NULL, 'C'},
	                                         {NULL, 0, NULL, 0}};
	const char *config = NULL;
	int ch;
	while ((ch = getopt_long(argc, argv, "s:c:C:", longopts, NULL)) != -1) {
		if (ch == 's')
			*state = optarg;
		else if (ch == 'c')
			config = optarg;
		else if (ch == 'C')
			*campaign = optarg;
		else
			return NULL;
	}
	*state = cli_state_dir(config, *state);
	return "";
}

int cli_campaign(int argc, char **argv)
{
	const char *state = NULL, *campaign = NULL;

	if (argc < 3 || strcmp(argv[1], "resume") != 0)
		return cli_usage("campaign", stderr);
	campaign = argv[2];
	optind = 3;
	if (!parse(argc, argv, &state, &campaign))
		return cli_usage("campaign", stderr);
	struct store *st;
	struct err e;
	char reason[256];
	if (open_state(state, &st) != 0)
		return EXIT_USAGE;
	int was = store_campaign_paused(st, campaign, reason, &e);
	int rc = was < 0 ? -1 : store_campaign_resume(st, campaign, &e);
	if (rc >= 0 && store_commit(st, &e) != 0)
		rc = -1;
	store_close(st);
	if (rc < 0) {
		log_error("%s", e.msg);
		return EXIT_USAGE;
	}
	if (!rc) {
		printf("campaign %s was not paused\n", campaign);
		return 1;
	}
	printf("campaign %s resumed (it was paused: %s)\n", campaign, reason);
	return 0;
}

static void print_sign(void *arg, int64_t time_s, const char *kind, const char *detail)
{
	int *n = arg;
	char when[40];
	clock_iso8601(time_s * 1000, when, sizeof(when));
	if ((*n)++ == 0)
		printf("\n%-24s %-18s %s\n", "danger sign", "when", "detail");
	printf("%-24s %-18.19s %s\n", kind, when, detail);
}

int cli_report(int argc, char **argv)
{
	const char *state = NULL, *campaign = NULL;

	optind = 1;
	if (!parse(argc, argv, &state, &campaign) || !campaign)
		return cli_usage("report", stderr);
	struct store *st;
	struct err e;
	char reason[256];
	int n = 0;
	if (open_state(state, &st) != 0)
		return EXIT_USAGE;
	struct campaign_rec rec;
	int found = store_campaign_get(st, campaign, &rec, &e);
	if (found == 1)
		store_campaign_free(&rec);
	if (found != 1 || report_summary(stdout, st, campaign, &e) != 0 ||
	    store_signs(st, campaign, print_sign, &n, &e) != 0) {
		log_error("%s", found == 0 ? "no such campaign" : e.msg);
		store_close(st);
		return EXIT_USAGE;
	}
	if (!n)
		printf("\nno danger signs\n");
	if (store_campaign_paused(st, campaign, reason, &e) == 1)
		printf("\nPAUSED: %s\n(`sluice campaign resume %s` when the cause is fixed)\n",
		       reason, campaign);
	store_close(st);
	return 0;
}
