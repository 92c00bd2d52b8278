/*
 * sluice campaign resume ID [--state DIR]: lets a campaign the danger-sign
 * monitor paused go on (a running serve picks it up; else run its send
 * again). Also the arguments and the store opening it shares with `sluice
 * report` (report.c).
 * Exit status: 0 done; 1 the campaign was not paused; 2 usage or state
 * error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "store/store.h"
#include "util/log.h"

int cli_open_store(const char *state, struct store **st)
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

const char *cli_campaign_args(int argc, char **argv, const char **state, const char **campaign)
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
	if (!cli_campaign_args(argc, argv, &state, &campaign))
		return cli_usage("campaign", stderr);
	struct store *st;
	struct err e;
	char reason[256];
	if (cli_open_store(state, &st) != 0)
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
