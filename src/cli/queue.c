/*
 * sluice queue: what is queued, and what each destination site is doing, as
 * the running (or last) `sluice send` wrote it to the state directory, then
 * each large provider's totals across its sites per source.
 * Exit status: 0, or 2 on a usage or state-directory error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "mail/tenant.h"
#include "store/learned.h"
#include "store/provider_state.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"

#define STALE_S 5 /* a snapshot older than this is from a run that has ended */

struct queue_opts {
	const char *state;
	const char *tenant; /* --tenant: its campaigns only */
	struct store *st;
};

static void print_campaign(void *arg, const char *id, int64_t created_s)
{
	const struct queue_opts *o = arg;
	struct store *st = o->st;
	int64_t counts[RS_COUNT], ready, later;
	struct err e;
	char when[64], owner[TENANT_NAME_MAX + 1];

	if (o->tenant && (store_campaign_owner(st, id, owner, sizeof(owner), &e) != 1 ||
	                  strcmp(owner, o->tenant) != 0))
		return;
	time_t t = (time_t)created_s;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	if (store_counts(st, id, counts, &e) != 0 ||
	    store_ready_counts(st, id, clock_wall_ms() / 1000, &ready, &later, &e) != 0) {
		log_error("%s", e.msg);
		return;
	}
	printf("%-20s %-16s %9lld %9lld %9lld %10lld %9lld %9lld\n", id, when, (long long)ready,
	       (long long)later, (long long)counts[RS_DELIVERED], (long long)counts[RS_BOUNCED],
	       (long long)counts[RS_EXPIRED],
	       (long long)(counts[0] + counts[1] + counts[2] + counts[3] + counts[4] +
	                   counts[RS_CANCELLED]));
	char reason[256];
	if (counts[RS_CANCELLED] > 0 && store_campaign_cancelled(st, id, reason, &e) >= 0)
		printf("  cancelled: %lld recipients (%s)\n", (long long)counts[RS_CANCELLED],
		       reason);
}

static void fmt_rate(char *buf, size_t n, double per_s)
{
	if (per_s <= 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.1f", per_s * 60);
}

static void print_site(void *arg, const struct site_snapshot *sn)
{
	int64_t now = *(int64_t *)arg;
	char rate[16], limit[16], susp[32], age[24];

	fmt_rate(rate, sizeof(rate), sn->rate);
	fmt_rate(limit, sizeof(limit), sn->rate_limit);
	if (sn->suspended_until_s > now)
		snprintf(susp, sizeof(susp), "for %llds", (long long)(sn->suspended_until_s - now));
	else
		snprintf(susp, sizeof(susp), "-");
	if (now - sn->updated_s > STALE_S)
		snprintf(age, sizeof(age), "%llds ago (ended)", (long long)(now - sn->updated_s));
	else
		snprintf(age, sizeof(age), "live");
	printf("%-30.30s %7lld %7lld %6d/%-4d %9s/%-9s %-10s %-18s %.70s\n", sn->site,
	       (long long)sn->queued, (long long)sn->in_flight, sn->conns, sn->conn_limit, rate,
	       limit, susp, age, sn->reason && sn->reason[0] ? sn->reason : "");
}

static void print_pause(void *arg, const struct site_pause *p)
{
	int64_t now = *(int64_t *)arg;
	char until[32];

	if (p->until_s)
		snprintf(until, sizeof(until), "for %llds", (long long)(p->until_s - now));
	else
		snprintf(until, sizeof(until), "until resumed");
	printf("paused %s %s %s: %s\n", p->scope, p->target, until, p->reason);
}

/* A one-shot control (retry, purge, move): pending, or done in the last
 * hour with what it did. */
static void print_control(void *arg, const struct control_request *r)
{
	(void)arg;
	char what[300];

	if (strcmp(r->kind, "move") == 0)
		snprintf(what, sizeof(what), "move campaign %s to pool %s",
		         r->campaign ? r->campaign : "?", r->target);
	else if (r->campaign)
		snprintf(what, sizeof(what), "%s %s %s of campaign %s", r->kind, r->scope,
		         r->target, r->campaign);
	else
		snprintf(what, sizeof(what), "%s %s %s", r->kind, r->scope, r->target);
	if (r->done)
		printf("control %s: done (%s): %s\n", what, r->result ? r->result : "", r->reason);
	else
		printf("control %s: pending: %s\n", what, r->reason);
}

/* A move with --for, waiting to go back (store: move_back). */
static void print_move_back(void *arg, const char *campaign, const char *pool, int64_t due_s,
                            const char *reason)
{
	int64_t now = *(int64_t *)arg;
	printf("campaign %s goes back to pool %s in %llds: %s\n", campaign, pool,
	       (long long)(due_s > now ? due_s - now : 0), reason);
}

/* A provider's totals across its sites, per source (store/provider_state.h):
 * a table of its own, after the sites, when there is any. */
struct provider_print {
	int64_t now;
	int rows;
};

static void print_provider(void *arg, const struct provider_snapshot *p)
{
	struct provider_print *pp = arg;
	char rate[16], limit[16], crate[16], conns[24], age[24];

	if (pp->rows++ == 0)
		printf("\n%-16s %-15s %6s %7s %11s %19s %12s %s\n", "provider", "source", "sites",
		       "waiting", "conns/limit", "msg/min now/limit", "conn/min max", "updated");
	fmt_rate(rate, sizeof(rate), p->rate);
	fmt_rate(limit, sizeof(limit), p->rate_limit);
	fmt_rate(crate, sizeof(crate), p->conn_rate_limit);
	if (p->conn_limit > 0)
		snprintf(conns, sizeof(conns), "%d/%d", p->conns, p->conn_limit);
	else
		snprintf(conns, sizeof(conns), "%d/-", p->conns);
	if (pp->now - p->updated_s > STALE_S)
		snprintf(age, sizeof(age), "%llds ago (ended)",
		         (long long)(pp->now - p->updated_s));
	else
		snprintf(age, sizeof(age), "live");
	printf("%-16.16s %-15.15s %6d %7d %11s %9s/%-9s %12s %s\n", p->provider, p->source_ip,
	       p->sites, p->waiting, conns, rate, limit, crate, age);
}

/* What the engine learned of a site's limits (store/learned.h). */
static void print_learned(void *arg, const struct store_learned *l)
{
	int64_t now = *(int64_t *)arg;
	char rate[16], conns[16], when[32];

	fmt_rate(rate, sizeof(rate), l->rate);
	if (l->connections > 0)
		snprintf(conns, sizeof(conns), "%d", l->connections);
	else
		snprintf(conns, sizeof(conns), "-");
	if (l->throttled_s > 0)
		snprintf(when, sizeof(when), "%llds ago", (long long)(now - l->throttled_s));
	else
		snprintf(when, sizeof(when), "never");
	printf("learned %s from %s: %s msg/min, %s connections, suspension level %d, "
	       "throttled %s\n",
	       l->site, l->source_ip, rate, conns, l->level, when);
}

/* A warm-up source's level per provider or site (shape/warmup.h): the
 * schedule day whose caps it has, and why it did not grow. */
static void print_warmup(void *arg, const char *ip, const char *grp,
                         const struct store_warmup_level *l)
{
	char date[16];
	time_t t = (time_t)(l->day * 86400);
	struct tm tm;

	(void)arg;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	printf("warm-up %s at %s: caps of day %lld on %s%s%s\n", ip, grp[0] ? grp : "all sites",
	       (long long)l->level, date, l->reason[0] ? ": " : "", l->reason);
}

int cli_queue(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"state", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"tenant", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct queue_opts o = {.state = NULL};
	const char *config = NULL;
	int ch;

	while ((ch = getopt_long(argc, argv, "s:c:t:h", longopts, NULL)) != -1) {
		if (ch == 's')
			o.state = optarg;
		else if (ch == 't')
			o.tenant = optarg;
		else if (ch == 'c')
			config = optarg;
		else
			return cli_usage("queue", ch == 'h' ? stdout : stderr);
	}
	if (!(o.state = cli_state_dir(config, o.state)))
		return EXIT_USAGE;
	struct store *st;
	struct err e;
	char dbpath[4096];
	snprintf(dbpath, sizeof(dbpath), "%s/queue.db", o.state);
	FILE *probe = fopen(dbpath, "r");
	if (!probe) {
		log_error("no queue in %s (nothing was ever queued there)", o.state);
		return EXIT_USAGE;
	}
	fclose(probe);
	if (store_open(o.state, &st, &e) != 0) {
		log_error("%s", e.msg);
		return EXIT_USAGE;
	}
	int64_t now = clock_wall_ms() / 1000;
	printf("%-20s %-16s %9s %9s %9s %10s %9s %9s\n", "campaign", "created", "ready", "later",
	       "delivered", "bounced", "expired", "total");
	o.st = st;
	int rc = store_campaigns(st, print_campaign, &o, &e);
	if (rc == 0) {
		printf("\n%-30s %7s %7s %11s %19s %-10s %-18s %s\n", "site", "queued", "sending",
		       "conns/limit", "msg/min now/limit", "suspended", "updated", "why");
		rc = store_site_snapshots(st, print_site, &now, &e);
	}
	struct provider_print pp = {.now = now};
	if (rc == 0)
		rc = store_provider_snapshots(st, print_provider, &pp, &e);
	if (rc == 0)
		rc = store_site_pauses(st, now, print_pause, &now, &e);
	if (rc == 0)
		rc = store_control_requests(st, now - 3600, print_control, NULL, &e);
	if (rc == 0)
		rc = store_move_backs(st, print_move_back, &now, &e);
	if (rc == 0)
		rc = store_learned_list(st, print_learned, &now, &e);
	if (rc == 0)
		rc = cli_print_source_blocks(st, now, &e);
	if (rc == 0)
		rc = store_warmup_levels(st, print_warmup, NULL, &e);
	if (rc != 0)
		log_error("%s", e.msg);
	store_close(st);
	return rc == 0 ? 0 : EXIT_USAGE;
}
