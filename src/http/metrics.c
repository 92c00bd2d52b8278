/* metrics: see metrics.h. */
#include "http/metrics.h"

#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "mail/category.h"
#include "mail/providers.h"
#include "util/prom.h"

static const char *const state_names[RS_COUNT] = {
    [RS_QUEUED] = "queued",   [RS_DELIVERED] = "delivered",   [RS_BOUNCED] = "bounced",
    [RS_EXPIRED] = "expired", [RS_SUPPRESSED] = "suppressed", [RS_CANCELLED] = "cancelled",
};

static int64_t now_for_rank; /* qsort has no argument; metrics_write runs on one thread */

static int site_suspended(const struct site_snapshot *s, int64_t now_s)
{
	return s->suspended_until_s > now_s;
}

static int site_cmp(const void *a, const void *b)
{
	const struct site_snapshot *x = &((const struct metrics_site *)a)->snap;
	const struct site_snapshot *y = &((const struct metrics_site *)b)->snap;
	int sx = site_suspended(x, now_for_rank), sy = site_suspended(y, now_for_rank);
	int64_t ax = x->conns + x->queued + x->in_flight, ay = y->conns + y->queued + y->in_flight;

	if (sx != sy)
		return sy - sx;
	if (ax != ay)
		return ax > ay ? -1 : 1;
	return strcmp(x->site ? x->site : "", y->site ? y->site : "");
}

void metrics_rank_sites(struct metrics_site *sites, size_t n, int64_t now_s)
{
	now_for_rank = now_s;
	if (n > 1)
		qsort(sites, n, sizeof(*sites), site_cmp);
}

static const char *provider_label(const char *p)
{
	return p ? p : "other";
}

static void write_info(const struct metrics_input *in, struct strbuf *b)
{
	struct prom_label v = {"version", in->version ? in->version : "unknown"};

	prom_family(b, "sluice_build_info", "gauge", "Which sluice this is (always 1).");
	prom_sample(b, "sluice_build_info", &v, 1, 1);
	prom_family(b, "process_start_time_seconds", "gauge",
	            "When the process started, in seconds since the epoch.");
	prom_sample(b, "process_start_time_seconds", NULL, 0, (double)in->start_time_s);
}

static void write_campaigns(const struct metrics_input *in, struct strbuf *b)
{
	prom_family(b, "sluice_recipients", "gauge",
	            "Recipients in the queue store by campaign, its priority and state "
	            "(committed; recounted in the background at most every second).");
	for (size_t i = 0; i < in->ncampaigns; i++) {
		char prio[16];
		snprintf(prio, sizeof(prio), "%d", in->campaigns[i].priority);
		for (int s = 0; s < RS_COUNT; s++) {
			struct prom_label l[3] = {{"campaign", in->campaigns[i].id},
			                          {"priority", prio},
			                          {"state", state_names[s]}};
			prom_sample(b, "sluice_recipients", l, 3,
			            (double)in->campaigns[i].counts[s]);
		}
	}
}

static const char *provider_name_at(int p)
{
	size_t n;
	const struct provider *t = provider_table(&n);
	return p >= 0 && (size_t)p < n ? t[p].name : "other";
}

/* The provider's place in the table (PROVIDERS_MAX: other). */
static int provider_slot(const char *name)
{
	size_t n;
	const struct provider *t = provider_table(&n);

	for (size_t i = 0; name && i < n && i < PROVIDERS_MAX; i++)
		if (strcmp(t[i].name, name) == 0)
			return (int)i;
	return PROVIDERS_MAX;
}

/* Recipients by tenant and state: the campaigns' counts summed. */
static void write_tenant_recipients(const struct metrics_input *in, struct strbuf *b)
{
	const char *names[SCHED_TENANTS_MAX + 1];
	int64_t sums[SCHED_TENANTS_MAX + 1][RS_COUNT];
	size_t n = 0;

	memset(sums, 0, sizeof(sums));
	for (size_t i = 0; i < in->ncampaigns; i++) {
		const char *t = in->campaigns[i].tenant;
		size_t k = 0;
		if (!t)
			continue;
		while (k < n && strcmp(names[k], t) != 0)
			k++;
		if (k == n) {
			if (n == SCHED_TENANTS_MAX + 1)
				continue; /* the caller bounds them; never more than this */
			names[n++] = t;
		}
		for (int s = 0; s < RS_COUNT; s++)
			sums[k][s] += in->campaigns[i].counts[s];
	}
	prom_family(b, "sluice_tenant_recipients", "gauge",
	            "Recipients in the queue store by tenant and state (its campaigns' and "
	            "submitted mail's, as sluice_recipients counts them).");
	for (size_t k = 0; k < n; k++)
		for (int s = 0; s < RS_COUNT; s++) {
			struct prom_label l[2] = {{"tenant", names[k]}, {"state", state_names[s]}};
			prom_sample(b, "sluice_tenant_recipients", l, 2, (double)sums[k][s]);
		}
}

/* Attempts by tenant, outcome and category (the engine's counters). */
static void write_tenant_attempts(const struct metrics_input *in, struct strbuf *b)
{
	const struct scheduler_counters *c = in->counters;

	prom_family(b, "sluice_tenant_attempts_total", "counter",
	            "Delivery attempts by tenant, outcome and reply category.");
	for (size_t k = 0; k <= SCHED_TENANTS_MAX; k++) {
		const struct scheduler_tenant_counts *t = &c->tenants[k];
		if (k >= c->ntenants && k != SCHED_TENANTS_MAX)
			continue;
		for (int o = 0; o < SCHED_OUTCOMES; o++)
			for (int g = 0; g < CAT_COUNT; g++) {
				const char *cat = category_name((enum category)g);
				if (t->attempts[o][g] == 0)
					continue; /* a series appears with its first attempt */
				struct prom_label l[3] = {{"tenant", t->name},
				                          {"outcome", scheduler_outcome_name(o)},
				                          {"category", cat ? cat : "none"}};
				prom_sample(b, "sluice_tenant_attempts_total", l, 3,
				            (double)t->attempts[o][g]);
			}
	}
}

static void write_delivery(const struct metrics_input *in, struct strbuf *b)
{
	if (!in->have_scheduler)
		return;
	prom_family(b, "sluice_in_flight_recipients", "gauge",
	            "Recipients loaded from the queue and not yet final.");
	prom_sample(b, "sluice_in_flight_recipients", NULL, 0, (double)in->in_flight);
	prom_family(b, "sluice_connections", "gauge", "Outbound SMTP connections open now.");
	prom_sample(b, "sluice_connections", NULL, 0, (double)in->connections);
	prom_family(b, "sluice_attempts_total", "counter",
	            "Delivery attempts by outcome, reply category and provider of the "
	            "destination site.");
	for (int o = 0; o < SCHED_OUTCOMES; o++)
		for (int c = 0; c < CAT_COUNT; c++)
			for (int p = 0; p <= PROVIDERS_MAX; p++) {
				int64_t v = in->counters->attempts[o][c][p];
				const char *cat = category_name((enum category)c);
				if (v == 0)
					continue; /* a series appears with its first attempt */
				struct prom_label l[3] = {{"outcome", scheduler_outcome_name(o)},
				                          {"category", cat ? cat : "none"},
				                          {"provider", provider_name_at(p)}};
				prom_sample(b, "sluice_attempts_total", l, 3, (double)v);
			}
	write_tenant_attempts(in, b);
	prom_family(b, "sluice_group_commit_seconds", "histogram",
	            "How long one group commit (delivery log, queue, suppression list) took.");
	prom_histogram(b, "sluice_group_commit_seconds", NULL, 0, &in->counters->commit);
}

/* One row of the site families: a site, or the rest of a provider's. */
struct site_row {
	const char *site, *provider;
	int64_t sites, conns, conn_limit, queued, in_flight, suspended;
	double rate, rate_limit;
};

static void row_add(struct site_row *r, const struct site_snapshot *s, int64_t now_s)
{
	r->sites++;
	r->conns += s->conns;
	r->conn_limit += s->conn_limit;
	r->queued += s->queued;
	r->in_flight += s->in_flight;
	r->suspended += site_suspended(s, now_s);
	r->rate += s->rate;
	r->rate_limit += s->rate_limit;
}

static const struct {
	const char *name, *help;
	size_t off; /* of an int64_t or a double in struct site_row */
	int is_double;
} site_families[] = {
    {"sluice_site_connections", "Open connections to the site.", offsetof(struct site_row, conns),
     0},
    {"sluice_site_connection_limit", "The site's connection cap now (slow start, reply rules).",
     offsetof(struct site_row, conn_limit), 0},
    {"sluice_site_queued", "Recipients waiting in memory for the site.",
     offsetof(struct site_row, queued), 0},
    {"sluice_site_in_flight", "Messages handed to the site's sessions, not yet answered.",
     offsetof(struct site_row, in_flight), 0},
    {"sluice_site_messages_per_second", "Messages per second sent to the site (observed).",
     offsetof(struct site_row, rate), 1},
    {"sluice_site_message_rate_limit", "The site's message rate limit per second now (0: none).",
     offsetof(struct site_row, rate_limit), 1},
    {"sluice_site_suspended",
     "Sites suspended by a reply rule (0 or 1 for a site; a count for the rest).",
     offsetof(struct site_row, suspended), 0},
};

static void write_sites(struct metrics_input *in, struct strbuf *b)
{
	struct site_row rows[METRICS_SITES_MAX + PROVIDERS_MAX + 1];
	struct site_row rest[PROVIDERS_MAX + 1];
	int64_t per_provider[PROVIDERS_MAX + 1] = {0};
	size_t nrows = 0, shown = in->nsites < METRICS_SITES_MAX ? in->nsites : METRICS_SITES_MAX;

	if (!in->have_scheduler)
		return;
	metrics_rank_sites(in->sites, in->nsites, in->now_s);
	memset(rest, 0, sizeof(rest));
	for (size_t i = 0; i < in->nsites; i++) {
		const struct metrics_site *s = &in->sites[i];
		int p = provider_slot(s->provider);
		per_provider[p]++;
		if (i < shown) {
			struct site_row *r = &rows[nrows++];
			memset(r, 0, sizeof(*r));
			r->site = s->snap.site;
			r->provider = provider_label(s->provider);
			row_add(r, &s->snap, in->now_s);
		} else {
			rest[p].site = METRICS_SITES_REST;
			rest[p].provider = provider_name_at(p);
			row_add(&rest[p], &s->snap, in->now_s);
		}
	}
	for (int p = 0; p <= PROVIDERS_MAX; p++)
		if (rest[p].sites > 0)
			rows[nrows++] = rest[p];
	prom_family(b, "sluice_sites", "gauge",
	            "Destination sites (MX host sets) known to this process, by provider.");
	for (int p = 0; p <= PROVIDERS_MAX; p++) {
		struct prom_label l = {"provider", provider_name_at(p)};
		if (per_provider[p] > 0)
			prom_sample(b, "sluice_sites", &l, 1, (double)per_provider[p]);
	}
	for (size_t f = 0; f < sizeof(site_families) / sizeof(site_families[0]); f++) {
		prom_family(b, site_families[f].name, "gauge", site_families[f].help);
		for (size_t i = 0; i < nrows; i++) {
			const char *field = (const char *)&rows[i] + site_families[f].off;
			double v = site_families[f].is_double ? *(const double *)field
			                                      : (double)*(const int64_t *)field;
			struct prom_label l[2] = {{"site", rows[i].site},
			                          {"provider", rows[i].provider}};
			prom_sample(b, site_families[f].name, l, 2, v);
		}
	}
}

static void write_signs(const struct metrics_input *in, struct strbuf *b)
{
	prom_family(b, "sluice_danger_signs_total", "counter",
	            "Danger signs fired by kind (docs/operations.md, Danger signs).");
	for (size_t i = 0; i < in->nsigns; i++) {
		struct prom_label l = {"kind", in->signs[i].kind};
		prom_sample(b, "sluice_danger_signs_total", &l, 1, (double)in->signs[i].n);
	}
	if (in->loop_lag) {
		prom_family(b, "sluice_event_loop_lag_seconds", "histogram",
		            "How late a timer on the event loop fires (the loop was busy).");
		prom_histogram(b, "sluice_event_loop_lag_seconds", NULL, 0, in->loop_lag);
	}
}

void metrics_write(struct metrics_input *in, struct strbuf *out)
{
	write_info(in, out);
	write_campaigns(in, out);
	write_tenant_recipients(in, out);
	write_delivery(in, out);
	write_sites(in, out);
	write_signs(in, out);
}
