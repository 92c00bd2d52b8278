/* report: see report.h. */
#include "cli/report.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mail/providers.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/xmalloc.h"

#define DOMAIN_ROWS_MAX 20

static const char *const state_names[RS_COUNT] = {"queued",  "delivered",  "bounced",
                                                  "expired", "suppressed", "cancelled"};

/* One row of a grouped table: counts by state. */
struct row {
	char *key;
	int64_t n[RS_COUNT];
	int64_t total;
};

struct table {
	struct strmap *index;
	struct row **rows;
	size_t nrows;
};

static void table_add(void *arg, const char *value, int state, int64_t count)
{
	struct table *t = arg;
	struct row *r = strmap_get(t->index, value);

	if (!r) {
		r = xcalloc(1, sizeof(*r));
		r->key = xstrdup(value);
		strmap_put(t->index, value, r);
		t->rows = xrealloc(t->rows, (t->nrows + 1) * sizeof(*t->rows));
		t->rows[t->nrows++] = r;
	}
	if (state >= 0 && state < RS_COUNT)
		r->n[state] += count;
	r->total += count;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = *(struct row *const *)a, *y = *(struct row *const *)b;
	return x->total < y->total ? 1 : x->total > y->total ? -1 : strcmp(x->key, y->key);
}

/* A row; the suppressed column only in tables that have some. */
static void row_print(FILE *f, const char *key, const int64_t n[RS_COUNT], int with_suppressed)
{
	fprintf(f, "%-32.32s %10lld %10lld %10lld %10lld", key, (long long)n[RS_DELIVERED],
	        (long long)n[RS_QUEUED], (long long)n[RS_BOUNCED], (long long)n[RS_EXPIRED]);
	if (with_suppressed)
		fprintf(f, " %10lld", (long long)n[RS_SUPPRESSED]);
	fputc('\n', f);
}

static void table_print(FILE *f, struct table *t, const char *title, size_t max_rows)
{
	int64_t other[RS_COUNT] = {0};
	size_t shown = 0;
	int sup = 0;

	for (size_t i = 0; i < t->nrows; i++)
		sup |= t->rows[i]->n[RS_SUPPRESSED] > 0;
	qsort(t->rows, t->nrows, sizeof(*t->rows), cmp_rows);
	fprintf(f, "\n%-32s %10s %10s %10s %10s%s\n", title, "delivered", "queued", "bounced",
	        "expired", sup ? " suppressed" : "");
	for (size_t i = 0; i < t->nrows; i++) {
		struct row *r = t->rows[i];
		if (shown < max_rows) {
			row_print(f, r->key, r->n, sup);
			shown++;
		} else {
			for (int s = 0; s < RS_COUNT; s++)
				other[s] += r->n[s];
		}
	}
	if (t->nrows > shown)
		row_print(f, "(others)", other, sup);
}

/* Rows keyed by the MX host, folded into the large provider it belongs to. */
static void provider_add(void *arg, const char *mx, int state, int64_t count)
{
	const struct provider *pr = provider_for_mx(mx);
	table_add(arg, pr ? pr->name : mx && mx[0] ? "(other)" : "(no MX answered)", state, count);
}

static void row_free(void *p)
{
	struct row *r = p;
	free(r->key);
	free(r);
}

int report_summary(FILE *f, struct store *s, const char *campaign, struct err *e)
{
	int64_t counts[RS_COUNT];

	if (store_counts(s, campaign, counts, e) != 0)
		return -1;
	fprintf(f, "\nCampaign %s\n%-12s %12s\n", campaign, "outcome", "recipients");
	for (int i = 1; i < RS_COUNT; i++)
		if ((i != RS_SUPPRESSED && i != RS_CANCELLED) || counts[i] > 0)
			fprintf(f, "%-12s %12lld\n", state_names[i], (long long)counts[i]);
	fprintf(f, "%-12s %12lld\n", state_names[0], (long long)counts[0]);
	int64_t deferred;
	if (store_deferred_count(s, campaign, &deferred, e) != 0)
		return -1;
	fprintf(f, "%-12s %12lld  (queued after a temporary failure)\n", "deferred",
	        (long long)deferred);
	const char *groups[] = {"category", "mx", "domain"};
	const char *titles[] = {"reply category", "provider (by MX)", "destination domain"};
	for (int g = 0; g < 3; g++) {
		struct table t = {strmap_new(), NULL, 0};
		int rc = store_group_counts(s, campaign, groups[g],
		                            g == 1 ? provider_add : table_add, &t, e);
		if (rc == 0)
			table_print(f, &t, titles[g], g < 2 ? 100 : DOMAIN_ROWS_MAX);
		strmap_free(t.index, row_free);
		free(t.rows);
		if (rc != 0)
			return -1;
	}
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
	const char *state = NULL, *campaign = NULL, *tenant = NULL;

	optind = 1;
	if (!cli_campaign_args_tenant(argc, argv, &state, &campaign, &tenant) || !campaign)
		return cli_usage("report", stderr);
	struct store *st;
	struct err e;
	char reason[256];
	int n = 0;
	if (cli_open_store(state, &st) != 0)
		return EXIT_USAGE;
	struct campaign_rec rec;
	int found = store_campaign_get(st, campaign, &rec, &e);
	if (found == 1) { /* --tenant: only its own campaigns */
		if (tenant && strcmp(rec.tenant, tenant) != 0) {
			log_error("campaign %s belongs to tenant %s, not %s", campaign, rec.tenant,
			          tenant);
			store_campaign_free(&rec);
			store_close(st);
			return EXIT_USAGE;
		}
		store_campaign_free(&rec);
	}
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
