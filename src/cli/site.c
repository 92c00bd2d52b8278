/*
 * sluice site pause|resume|retry: the operator's hold on destination
 * sites, recorded in the store (store_control.c), so it survives a restart
 * and a running serve or send takes it within about a second
 * (engine/control.c).
 *   sluice site pause SITE|--provider NAME|--source IP [--for DURATION]
 *                     --reason TEXT [--config FILE | --state DIR]
 *   sluice site resume SITE|--provider NAME|--source IP [...]
 *   sluice site retry SITE|--provider NAME|--source IP [--reason TEXT] [...]
 * A retry is one-shot: a request the delivering process performs once
 * (suspensions end, what waits for a later attempt is due now).
 * Exit status: 0 done (a retry: asked); 1 resume of something not paused;
 * 2 usage or state error.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "mail/config.h"
#include "mail/providers.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"

struct site_opts {
	const char *state, *config, *scope, *target, *reason;
	int64_t for_s;
};

static int site_args(int argc, char **argv, struct site_opts *o)
{
	static const struct option longopts[] = {{"state", required_argument, NULL, 's'},
	                                         {"config", required_argument, NULL, 'c'},
	                                         {"provider", required_argument, NULL, 'p'},
	                                         {"source", required_argument, NULL, 'S'},
	                                         {"for", required_argument, NULL, 'f'},
	                                         {"reason", required_argument, NULL, 'r'},
	                                         {NULL, 0, NULL, 0}};
	int ch, scopes = 0;

	optind = 2;
	while ((ch = getopt_long(argc, argv, "s:c:p:S:f:r:", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->state = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'p':
			o->scope = "provider", o->target = optarg, scopes++;
			break;
		case 'S':
			o->scope = "source", o->target = optarg, scopes++;
			break;
		case 'r':
			o->reason = optarg;
			break;
		case 'f':
			if (cli_for_seconds("site", optarg, &o->for_s) != 0)
				return -1;
			break;
		default:
			return -1;
		}
	}
	if (optind < argc)
		o->scope = "site", o->target = argv[optind++], scopes++;
	if (scopes != 1 || optind != argc)
		return -1;
	return 0;
}

/* A pause that could match nothing is refused: a provider sluice does not
 * know, a source that is not an IP address. 0, or -1 having said why. */
static int target_ok(const struct site_opts *o)
{
	unsigned char addr[16];
	size_t n;

	if (strcmp(o->scope, "source") == 0 && inet_pton(AF_INET, o->target, addr) != 1 &&
	    inet_pton(AF_INET6, o->target, addr) != 1) {
		log_error("site: --source '%s' is not an IP address", o->target);
		return -1;
	}
	if (strcmp(o->scope, "provider") != 0)
		return 0;
	const struct provider *p = provider_table(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(p[i].name, o->target) == 0)
			return 0;
	log_error("site: unknown provider '%s'; the providers are:", o->target);
	for (size_t i = 0; i < n; i++)
		log_info("  %s", p[i].name);
	return -1;
}

/* Asks the delivering process (now or when one starts) to retry now. */
static int site_retry(const struct site_opts *o)
{
	const char *reason = o->reason ? o->reason : "retry now";
	struct control_request r = {
	    .kind = "retry", .scope = o->scope, .target = o->target, .reason = reason};
	long holder = 0;

	int rc = cli_control_ask(cli_state_dir(o->config, o->state), &r, NULL, &holder);
	if (rc < 0)
		return EXIT_USAGE;
	if (rc == 1)
		printf("%s %s: retry asked of the running sluice (pid %ld): within about a second "
		       "its suspension ends and what waits for a later attempt is due (%s)\n",
		       o->scope, o->target, holder, reason);
	else
		printf("%s %s: retry recorded; nothing delivers now: the next serve or send "
		       "performs it when it starts (%s)\n",
		       o->scope, o->target, reason);
	return 0;
}

int cli_site(int argc, char **argv)
{
	struct site_opts o = {0};

	if (argc < 2)
		return cli_usage("site", stderr);
	if (strcmp(argv[1], "retry") == 0) {
		if (site_args(argc, argv, &o) != 0 || o.for_s)
			return cli_usage("site", stderr);
		return target_ok(&o) != 0 ? EXIT_USAGE : site_retry(&o);
	}
	int pause = strcmp(argv[1], "pause") == 0;
	if ((!pause && strcmp(argv[1], "resume") != 0) || site_args(argc, argv, &o) != 0 ||
	    (pause && !o.reason) || (!pause && o.for_s))
		return cli_usage("site", stderr);
	if (target_ok(&o) != 0)
		return EXIT_USAGE;
	struct store *st;
	struct err e;
	if (cli_open_store(cli_state_dir(o.config, o.state), &st) != 0)
		return EXIT_USAGE;
	int64_t now = clock_wall_ms() / 1000;
	int rc;
	if (pause) {
		struct site_pause p = {.scope = o.scope,
		                       .target = o.target,
		                       .reason = o.reason,
		                       .until_s = o.for_s ? now + o.for_s : 0,
		                       .time_s = now};
		rc = store_site_pause(st, &p, &e) == 0 ? 1 : -1;
	} else {
		rc = store_site_resume(st, o.scope, o.target, &e);
	}
	if (rc >= 0 && store_commit(st, &e) != 0)
		rc = -1;
	store_close(st);
	if (rc < 0) {
		log_error("%s", e.msg);
		return EXIT_USAGE;
	}
	if (!pause) {
		printf(rc ? "%s %s resumed\n" : "%s %s was not paused\n", o.scope, o.target);
		return rc ? 0 : 1;
	}
	if (o.for_s)
		printf("%s %s paused for %llds: %s\n", o.scope, o.target, (long long)o.for_s,
		       o.reason);
	else
		printf("%s %s paused until resumed: %s\n", o.scope, o.target, o.reason);
	return 0;
}
