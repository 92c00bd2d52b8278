/*
 * metrics: the text of GET /metrics, what `sluice serve` measures, in the
 * Prometheus text format (util/prom.h). The composing code (serve/observe.c)
 * gathers the numbers into a struct metrics_input; metrics_write turns them
 * into families and samples. No recipient address ever appears: the labels
 * are campaign ids, recipient states, outcomes, reply categories, providers
 * (mail/providers.h, "other" for the rest), site names (MX host sets) and
 * danger-sign kinds.
 *
 * Cardinality is bounded: campaigns by the caller (serve: CAMPAIGNS_MAX),
 * tenants by the config (the caller names any other "(other)"; the
 * engine's counters keep at most SCHED_TENANTS_MAX),
 * outcomes x categories x providers by their tables, sign kinds by the
 * caller's table, and sites by METRICS_SITES_MAX: the busiest sites
 * (metrics_rank_sites: suspended first, then by connections, queued and in
 * flight) get a series each; the rest are summed per provider under
 * site="(rest)". What each metric means: docs/operations.md, "Monitoring".
 */
#ifndef SLUICE_HTTP_METRICS_H
#define SLUICE_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/scheduler.h"
#include "store/store.h"
#include "util/histogram.h"
#include "util/strbuf.h"

#define METRICS_SITES_MAX  50       /* sites with their own series */
#define METRICS_SITES_REST "(rest)" /* the site label of the rolled-up rest */

struct metrics_campaign {
	const char *id;
	int64_t counts[RS_COUNT]; /* recipients by state (store/store.h) */
	const char *tenant; /* its tenant's label (a config tenant or "(other)"); NULL: none */
	int priority;       /* higher goes first (0: bulk) */
};

struct metrics_site {
	struct site_snapshot snap; /* strings borrowed */
	const char *provider;      /* NULL: "other" */
};

struct metrics_sign {
	const char *kind;
	int64_t n;
};

struct metrics_input {
	const char *version;
	int64_t start_time_s;
	int64_t now_s;
	const struct metrics_campaign *campaigns; /* NULL until first counted */
	size_t ncampaigns;
	int have_scheduler; /* 0: the next four are not known (not delivering yet) */
	int64_t in_flight, connections;
	const struct scheduler_counters *counters;
	struct metrics_site *sites; /* all of them; ranked in place */
	size_t nsites;
	const struct metrics_sign *signs;
	size_t nsigns;
	const struct histogram *loop_lag;
};

/* Orders sites most interesting first: suspended (at now_s), then by
 * connections + queued + in flight, then by name. */
void metrics_rank_sites(struct metrics_site *sites, size_t n, int64_t now_s);
/* Appends the exposition of in to out (ranks in->sites). */
void metrics_write(struct metrics_input *in, struct strbuf *out);

#endif
