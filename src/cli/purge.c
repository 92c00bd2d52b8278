/*
 * sluice purge --domain DOMAIN --reason TEXT [--campaign ID]
 *              [--config FILE | --state DIR]
 * Bounces the queued mail for a domain (of one campaign, or of all): each
 * queued recipient ends as bounced, stage "purge", category "purged", the
 * reason as its reply, one delivery-log record each; no suppression (the
 * operator decided, not the address). While a serve or send delivers from
 * the state directory the command only asks (store: control_request) and
 * that process performs it within about a second, once none of the
 * domain's messages is in flight (engine/control.c): so no recipient is
 * both sent and purged. With nothing delivering, it is done here at once.
 * Also cli_control_ask, which `sluice site retry` and `sluice campaign
 * move` share.
 * Exit status: 0 done or asked; 2 usage or state error.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "dlog/dlog.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"

int cli_control_ask(const char *state, const struct control_request *r, const char *idle_result,
                    long *holder)
{
	struct store *st;
	struct err e;
	struct control_request req = *r;

	if (cli_open_store(state, &st) != 0)
		return -1;
	int mine = store_lock_delivery(st, holder, &e);
	req.time_s = clock_wall_ms() / 1000;
	req.done = mine == 1 && idle_result;
	req.result = req.done ? idle_result : NULL;
	if (mine < 0 || store_control_request(st, &req, &e) != 0 || store_commit(st, &e) != 0) {
		log_error("%s", e.msg);
		store_close(st);
		return -1;
	}
	store_close(st);
	return mine == 0;
}

struct purge_log {
	struct dlog *log;
	const char *reason;
	int64_t now_ms;
};

static void purge_row(void *arg, const char *campaign, const char *mailbox, const char *domain,
                      int attempts, int64_t queued_at_s)
{
	struct purge_log *p = arg;
	struct dlog_rec rec = {
	    .time_ms = p->now_ms,
	    .campaign = campaign,
	    .recipient = mailbox,
	    .domain = domain,
	    .stage = "purge",
	    .text = p->reason,
	    .outcome = "bounced",
	    .category = "purged",
	    .attempt = attempts,
	    .queue_time_s = p->now_ms / 1000 - queued_at_s,
	};
	dlog_add(p->log, &rec);
}

/* Nothing delivers (this process holds the lock): purged here, the
 * request recorded as done for `sluice queue`. */
static int purge_here(const char *state, struct store *st, struct control_request *r)
{
	struct purge_log pl = {NULL, r->reason, clock_wall_ms()};
	int64_t n = 0;
	char result[160];
	struct err e;
	int rc = 0;

	if (dlog_open(state, &pl.log, &e) != 0 ||
	    store_purge_queued(st, r->target, r->campaign, r->reason, purge_row, &pl, &n, &e) != 0)
		rc = -1;
	snprintf(result, sizeof(result), "%lld queued recipients purged", (long long)n);
	r->done = 1;
	r->result = result;
	r->time_s = pl.now_ms / 1000;
	if (rc == 0 && (store_control_request(st, r, &e) != 0 || store_commit(st, &e) != 0 ||
	                dlog_flush(pl.log, &e) != 0))
		rc = -1;
	dlog_close(pl.log);
	if (rc < 0) {
		log_error("%s", e.msg);
		return EXIT_USAGE;
	}
	printf("purge %s%s%s: %s (%s)\n", r->target, r->campaign ? " of campaign " : "",
	       r->campaign ? r->campaign : "", result, r->reason);
	return 0;
}

/* A domain as the queue keeps it: lower case, no '@', no spaces. */
static int domain_ok(char *d)
{
	if (!*d || strlen(d) > 253)
		return 0;
	for (char *p = d; *p; p++) {
		if (*p == '@' || isspace((unsigned char)*p) || *p == '/')
			return 0;
		*p = (char)tolower((unsigned char)*p);
	}
	return 1;
}

int cli_purge(int argc, char **argv)
{
	static const struct option longopts[] = {{"state", required_argument, NULL, 's'},
	                                         {"config", required_argument, NULL, 'c'},
	                                         {"domain", required_argument, NULL, 'd'},
	                                         {"campaign", required_argument, NULL, 'C'},
	                                         {"reason", required_argument, NULL, 'r'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	const char *state = NULL, *config = NULL, *campaign = NULL, *reason = NULL;
	char domain[256] = "";
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "s:c:d:C:r:h", longopts, NULL)) != -1) {
		if (ch == 's')
			state = optarg;
		else if (ch == 'c')
			config = optarg;
		else if (ch == 'd')
			snprintf(domain, sizeof(domain), "%s", optarg);
		else if (ch == 'C')
			campaign = optarg;
		else if (ch == 'r')
			reason = optarg;
		else
			return cli_usage("purge", ch == 'h' ? stdout : stderr);
	}
	if (!domain[0] || !reason || optind != argc)
		return cli_usage("purge", stderr);
	if (!domain_ok(domain)) {
		log_error("purge: '%s' is not a domain", domain);
		return EXIT_USAGE;
	}
	if (!(state = cli_state_dir(config, state)))
		return EXIT_USAGE;
	struct control_request r = {.kind = "purge",
	                            .scope = "domain",
	                            .target = domain,
	                            .campaign = campaign,
	                            .reason = reason};
	struct store *st;
	struct err e;
	long holder = 0;
	if (cli_open_store(state, &st) != 0)
		return EXIT_USAGE;
	int mine = store_lock_delivery(st, &holder, &e);
	if (mine < 0) {
		log_error("%s", e.msg);
		store_close(st);
		return EXIT_USAGE;
	}
	if (mine == 1) {
		int rc = purge_here(state, st, &r);
		store_close(st);
		return rc;
	}
	/* a running serve or send delivers from here: it performs the purge,
	 * so that nothing it holds in memory is both sent and purged */
	r.time_s = clock_wall_ms() / 1000;
	if (store_control_request(st, &r, &e) != 0 || store_commit(st, &e) != 0) {
		log_error("%s", e.msg);
		store_close(st);
		return EXIT_USAGE;
	}
	store_close(st);
	printf("purge %s: asked of the running sluice (pid %ld): its queued recipients end as "
	       "bounced (purged) within about a second (%s)\n",
	       domain, holder, reason);
	return 0;
}
