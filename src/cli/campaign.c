/*
 * sluice campaign pause ID --reason TEXT [--state DIR]: holds a campaign (a
 * running serve within a second) until `sluice campaign resume`.
 * sluice campaign resume ID [--state DIR]: lets a campaign the danger-sign
 * monitor (or a pause) paused go on (a running serve picks it up; else run its send
 * again).
 * sluice campaign cancel ID --reason TEXT [--state DIR]: ends its queued
 * recipients as cancelled (final; one delivery-log record each, outcome
 * "cancelled" with the reason) and records the cancel, which a running
 * serve or send reads within a second (engine/control.c: what it holds in
 * memory is dropped, messages in flight finish).
 * sluice campaign move ID --pool NAME [--for DURATION] [--reason TEXT] --config FILE: the
 * campaign's row names the pool (a later serve or send reads it) and a
 * running one is asked to send it from there within a second (its jobs
 * waiting at sites of the old pool go back to the store; in flight ones
 * finish). An unknown pool is refused with the list of the config's.
 * With --for the campaign goes back to its pool when the time is up (a
 * move_back row the delivering process performs: engine/control.c).
 * Also the arguments and the store opening they share with `sluice report`
 * (report.c).
 * Exit status: 0 done; 1 the campaign was not paused (resume) or is
 * unknown (cancel, move); 2 usage or state error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "dlog/dlog.h"
#include "mail/config.h"
#include "store/store.h"
#include "util/clock.h"
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
	return cli_campaign_args_tenant(argc, argv, state, campaign, NULL);
}

const char *cli_campaign_args_tenant(int argc, char **argv, const char **state,
                                     const char **campaign, const char **tenant)
{
	static const struct option longopts[] = {{"state", required_argument, NULL, 's'},
	                                         {"config", required_argument, NULL, 'c'},
	                                         {"campaign", required_argument, NULL, 'C'},
	                                         {"tenant", required_argument, NULL, 't'},
	                                         {NULL, 0, NULL, 0}};
	const char *config = NULL;
	int ch;
	while ((ch = getopt_long(argc, argv, "s:c:C:t:", longopts, NULL)) != -1) {
		if (ch == 's')
			*state = optarg;
		else if (ch == 'c')
			config = optarg;
		else if (ch == 'C')
			*campaign = optarg;
		else if (ch == 't' && tenant)
			*tenant = optarg;
		else
			return NULL;
	}
	*state = cli_state_dir(config, *state);
	return "";
}

struct cancel_log {
	struct dlog *log;
	const char *campaign, *reason;
	int64_t now_ms;
};

static void cancel_row(void *arg, const char *mailbox, const char *domain, int attempts,
                       int64_t queued_at_s)
{
	struct cancel_log *c = arg;
	struct dlog_rec rec = {
	    .time_ms = c->now_ms,
	    .campaign = c->campaign,
	    .recipient = mailbox,
	    .domain = domain,
	    .stage = "cancel",
	    .text = c->reason,
	    .outcome = "cancelled",
	    .category = "cancelled",
	    .attempt = attempts,
	    .queue_time_s = c->now_ms / 1000 - queued_at_s,
	};
	dlog_add(c->log, &rec);
}

/* The options of pause and cancel after ID: --reason TEXT (needed),
 * --state DIR or --config FILE, and --for DURATION where for_s is given
 * (pause). 0, or -1 (a usage error). */
static int reason_args(int argc, char **argv, const char **state, const char **reason,
                       int64_t *for_s)
{
	static const struct option longopts[] = {{"state", required_argument, NULL, 's'},
	                                         {"config", required_argument, NULL, 'c'},
	                                         {"reason", required_argument, NULL, 'r'},
	                                         {"for", required_argument, NULL, 'f'},
	                                         {NULL, 0, NULL, 0}};
	const char *config = NULL;
	int ch;

	*state = *reason = NULL;
	optind = 3;
	while ((ch = getopt_long(argc, argv, "s:c:r:f:", longopts, NULL)) != -1) {
		if (ch == 's')
			*state = optarg;
		else if (ch == 'c')
			config = optarg;
		else if (ch == 'r')
			*reason = optarg;
		else if (ch == 'f' && for_s &&
		         cli_for_seconds("campaign pause", optarg, for_s) == 0)
			continue;
		else
			return -1;
	}
	if (!*reason || optind != argc)
		return -1;
	*state = cli_state_dir(config, *state);
	return 0;
}

/* sluice campaign pause ID --reason TEXT: as the danger-sign monitor and
 * the API pause one; a running serve holds it within a second. */
static int campaign_pause(int argc, char **argv)
{
	const char *state, *reason, *campaign = argv[2];
	struct campaign_rec rec;
	struct store *st;
	struct err e;
	int64_t for_s = 0, now_s = clock_wall_ms() / 1000;

	if (reason_args(argc, argv, &state, &reason, &for_s) != 0)
		return cli_usage("campaign", stderr);
	if (cli_open_store(state, &st) != 0)
		return EXIT_USAGE;
	int rc = store_campaign_get(st, campaign, &rec, &e);
	if (rc == 1) {
		/* for a while: a pause of scope campaign, which the delivering
		 * process ends when its time runs out; else as the monitor's */
		struct site_pause p = {"campaign", campaign, reason, now_s + for_s, now_s};
		store_campaign_free(&rec);
		if ((for_s ? store_site_pause(st, &p, &e)
		           : store_campaign_pause(st, campaign, reason, now_s, &e)) != 0 ||
		    store_commit(st, &e) != 0)
			rc = -1;
	}
	store_close(st);
	if (rc < 0) {
		log_error("%s", e.msg);
		return EXIT_USAGE;
	}
	if (rc == 0) {
		log_error("campaign pause: no campaign %s", campaign);
		return 1;
	}
	if (for_s)
		printf("campaign %s paused for %llds (%s): a running serve or send holds it within "
		       "a second and goes on when the time is up\n",
		       campaign, (long long)for_s, reason);
	else
		printf("campaign %s paused (%s): a running serve or send holds it within a second; "
		       "`sluice campaign resume %s` lets it go on\n",
		       campaign, reason, campaign);
	return 0;
}

static int campaign_cancel(int argc, char **argv)
{
	const char *state, *reason, *campaign = argv[2];

	if (reason_args(argc, argv, &state, &reason, NULL) != 0)
		return cli_usage("campaign", stderr);
	struct store *st;
	struct campaign_rec rec;
	struct err e;
	if (cli_open_store(state, &st) != 0)
		return EXIT_USAGE;
	struct cancel_log cl = {NULL, campaign, reason, clock_wall_ms()};
	int64_t n = 0;
	long holder = 0;
	int rc = store_campaign_get(st, campaign, &rec, &e);
	int mine = rc == 1 ? store_lock_delivery(st, &holder, &e) : 0;
	if (rc == 1 && mine == 0) {
		/* a running serve or send delivers from here: it performs the
		 * cancel, so that nothing it holds in memory is both sent and
		 * cancelled */
		store_campaign_free(&rec);
		if (store_campaign_cancel_request(st, campaign, reason, cl.now_ms / 1000, &e) !=
		        0 ||
		    store_commit(st, &e) != 0)
			rc = -1;
		else
			printf(
			    "campaign %s: cancel asked of the running sluice (pid %ld): its queued "
			    "recipients end as cancelled within about a second (%s)\n",
			    campaign, holder, reason);
		store_close(st);
		if (rc < 0)
			log_error("%s", e.msg);
		return rc < 0 ? EXIT_USAGE : 0;
	}
	if (mine < 0)
		rc = -1;
	if (rc == 1) {
		store_campaign_free(&rec);
		if (dlog_open(state, &cl.log, &e) != 0 ||
		    store_campaign_cancel(st, campaign, reason, cl.now_ms / 1000, &e) != 0 ||
		    store_cancel_queued(st, campaign, reason, cancel_row, &cl, &n, &e) != 0 ||
		    store_commit(st, &e) != 0 || dlog_flush(cl.log, &e) != 0)
			rc = -1;
	}
	dlog_close(cl.log);
	store_close(st);
	if (rc < 0) {
		log_error("%s", e.msg);
		return EXIT_USAGE;
	}
	if (rc == 0) {
		log_error("no campaign %s in %s", campaign, state);
		return 1;
	}
	printf("campaign %s cancelled: %lld queued recipients ended as cancelled (%s)\n", campaign,
	       (long long)n, reason);
	return 0;
}

/* 1 if the config has a source in pool; else lists the pools, 0. */
static int pool_known(const struct config *cfg, const char *pool)
{
	for (size_t i = 0; i < cfg->nsources; i++)
		if (strcmp(cfg->sources[i].pool, pool) == 0)
			return 1;
	log_error("campaign move: unknown pool '%s'; the pools are:", pool);
	for (size_t i = 0; i < cfg->nsources; i++) {
		size_t k = 0;
		while (k < i && strcmp(cfg->sources[k].pool, cfg->sources[i].pool) != 0)
			k++;
		if (k == i)
			log_info("  %s", cfg->sources[i].pool);
	}
	return 0;
}

/* A pool no tenant nor sender.pool names has no source a running serve
 * started with: said, as a warning. */
static void pool_in_use_warn(const struct config *cfg, const char *pool)
{
	const struct source *in_use[SOURCES_MAX];
	size_t n = config_sources_in_use(cfg, in_use, SOURCES_MAX);

	for (size_t i = 0; i < n; i++)
		if (strcmp(in_use[i]->pool, pool) == 0)
			return;
	log_warn("pool '%s' is in no tenant's nor sender.pool: a running serve did not start "
	         "its sources and sends from sender.pool until restarted with it in use",
	         pool);
}

/* Moves campaign to pool; for_s > 0: back to the pool it was in (its
 * tenant's, or sender.pool, when it names none) once for_s seconds passed. */
static int move_record(const char *state, const char *campaign, const char *pool,
                       const char *reason, int64_t for_s, const struct config *cfg)
{
	struct store *st;
	struct campaign_rec rec;
	struct err e;
	long holder = 0;
	char back[256] = "";
	int64_t now = clock_wall_ms() / 1000;

	if (cli_open_store(state, &st) != 0)
		return EXIT_USAGE;
	int rc = store_campaign_get(st, campaign, &rec, &e);
	if (rc == 1) {
		const struct tenant *t = tenant_by_name(cfg, rec.tenant);
		snprintf(back, sizeof(back), "%s",
		         rec.pool       ? rec.pool
		         : t && t->pool ? t->pool
		                        : cfg->pool);
		store_campaign_free(&rec);
		rc = store_campaign_set_pool(st, campaign, pool, &e);
	}
	if (rc == 1 &&
	    (for_s > 0 ? store_move_back_set(st, campaign, back, now + for_s, reason, now, &e)
	               : store_move_back_cancel(st, campaign, &e)) != 0)
		rc = -1;
	if (rc == 1 && store_commit(st, &e) != 0)
		rc = -1;
	store_close(st);
	if (rc < 0) {
		log_error("%s", e.msg);
		return EXIT_USAGE;
	}
	if (rc == 0) {
		log_error("no campaign %s in %s", campaign, state);
		return 1;
	}
	struct control_request r = {.kind = "move",
	                            .scope = "pool",
	                            .target = pool,
	                            .campaign = campaign,
	                            .reason = reason};
	rc = cli_control_ask(state, &r, "moved in the store (nothing was delivering)", &holder);
	if (rc < 0)
		return EXIT_USAGE;
	if (rc == 1)
		printf("campaign %s moved to pool %s: the running sluice (pid %ld) sends it from "
		       "there within about a second; messages in flight finish (%s)\n",
		       campaign, pool, holder, reason);
	else
		printf("campaign %s moved to pool %s (%s)\n", campaign, pool, reason);
	if (for_s > 0)
		printf("campaign %s goes back to pool %s in %llds (done by the running serve or "
		       "send, or the next one to start)\n",
		       campaign, back, (long long)for_s);
	return 0;
}

/* sluice campaign move ID --pool NAME [--reason TEXT] --config FILE
 * [--state DIR]: the config says which pools there are. */
static int campaign_move(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"state", required_argument, NULL, 's'}, {"config", required_argument, NULL, 'c'},
	    {"pool", required_argument, NULL, 'p'},  {"reason", required_argument, NULL, 'r'},
	    {"for", required_argument, NULL, 'f'},   {NULL, 0, NULL, 0}};
	const char *state = NULL, *config = NULL, *pool = NULL, *reason = "moved by the operator";
	int64_t for_s = 0;
	int ch;

	optind = 3;
	while ((ch = getopt_long(argc, argv, "s:c:p:r:f:", longopts, NULL)) != -1) {
		if (ch == 'f') {
			if (cli_for_seconds("campaign move", optarg, &for_s) != 0)
				return EXIT_USAGE;
		} else if (ch == 's')
			state = optarg;
		else if (ch == 'c')
			config = optarg;
		else if (ch == 'p')
			pool = optarg;
		else if (ch == 'r')
			reason = optarg;
		else
			return cli_usage("campaign", stderr);
	}
	if (!pool || optind != argc)
		return cli_usage("campaign", stderr);
	if (!config) {
		log_error("campaign move: --config FILE is needed (it names the pools)");
		return EXIT_USAGE;
	}
	struct config cfg;
	struct err e;
	if (config_load(config, &cfg, &e) != 0) {
		log_error("config: %s", e.msg);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	int known = pool_known(&cfg, pool);
	if (known)
		pool_in_use_warn(&cfg, pool);
	if (!state)
		state = cli_state_dir(config, NULL);
	int rc =
	    !known || !state ? EXIT_USAGE : move_record(state, argv[2], pool, reason, for_s, &cfg);
	config_free(&cfg);
	return rc;
}

int cli_campaign(int argc, char **argv)
{
	const char *state = NULL, *campaign = NULL;

	if (argc >= 3 && strcmp(argv[1], "cancel") == 0)
		return campaign_cancel(argc, argv);
	if (argc >= 3 && strcmp(argv[1], "pause") == 0)
		return campaign_pause(argc, argv);
	if (argc >= 3 && strcmp(argv[1], "move") == 0)
		return campaign_move(argc, argv);
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
	if (rc >= 0) { /* and a pause for a while (`campaign pause --for`) */
		int timed = store_site_resume(st, "campaign", campaign, &e);
		if (timed < 0)
			rc = -1;
		else if (timed && !rc)
			rc = 1, snprintf(reason, sizeof(reason), "for a while");
	}
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
