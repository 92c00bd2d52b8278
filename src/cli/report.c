/* report: see report.h. */
#include "cli/report.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/providers.h"
#include "engine/scheduler.h"
#include "util/clock.h"
#include "util/strmap.h"
#include "util/xmalloc.h"

#define TTY_INTERVAL_MS   250
#define PLAIN_INTERVAL_MS 5000
#define DOMAIN_ROWS_MAX   20

void progress_init(struct progress *p, FILE *f, int64_t total, const int64_t counts[RS_COUNT])
{
	memset(p, 0, sizeof(*p));
	p->tty = isatty(fileno(f));
	p->start_ms = clock_mono_ms();
	p->total = total;
	memcpy(p->done_before, counts, sizeof(p->done_before));
	p->interval_ms = p->tty ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS;
	const char *env = getenv("SLUICE_PROGRESS_MS");
	if (env && atoi(env) > 0)
		p->interval_ms = atoi(env);
}

static void fmt_eta(char *buf, size_t n, double seconds)
{
	if (seconds < 0 || seconds > 99 * 3600)
		snprintf(buf, n, "--");
	else if (seconds >= 3600)
		snprintf(buf, n, "%dh%02dm", (int)seconds / 3600, ((int)seconds % 3600) / 60);
	else
		snprintf(buf, n, "%dm%02ds", (int)seconds / 60, (int)seconds % 60);
}

/* Outcomes per second over the last few seconds (the samples' window);
 * the average since the start until there is a second's worth. */
static double current_rate(struct progress *p, int64_t now, int64_t done)
{
	int last = (p->next_sample + PROGRESS_SAMPLES - 1) % PROGRESS_SAMPLES;
	if (p->nsamples == 0 || now - p->sample_ms[last] >= 500) {
		p->sample_ms[p->next_sample] = now;
		p->sample_done[p->next_sample] = done;
		p->next_sample = (p->next_sample + 1) % PROGRESS_SAMPLES;
		if (p->nsamples < PROGRESS_SAMPLES)
			p->nsamples++;
	}
	int oldest = p->nsamples < PROGRESS_SAMPLES ? 0 : p->next_sample;
	int64_t span = now - p->sample_ms[oldest];
	if (span >= 1000)
		return (double)(done - p->sample_done[oldest]) * 1000.0 / (double)span;
	double secs = (double)(now - p->start_ms) / 1000.0;
	return secs > 0 ? (double)done / secs : 0;
}

void progress_show(struct progress *p, FILE *f, const struct scheduler_stats *st,
                   int64_t next_due_s, int force)
{
	int64_t now = clock_mono_ms();
	int64_t done = st->delivered + st->bounced + st->expired + st->suppressed;
	double rate = current_rate(p, now, done);

	if (!force && now - p->last_print_ms < p->interval_ms)
		return;
	p->last_print_ms = now;
	int64_t delivered = p->done_before[RS_DELIVERED] + st->delivered;
	int64_t bounced = p->done_before[RS_BOUNCED] + st->bounced;
	int64_t expired = p->done_before[RS_EXPIRED] + st->expired;
	int64_t suppressed = p->done_before[RS_SUPPRESSED] + st->suppressed;
	int64_t queued = p->total - delivered - bounced - expired - suppressed;
	int64_t wait_s = next_due_s >= 0 ? next_due_s - clock_wall_ms() / 1000 : -1;
	char eta[48];
	if (queued > 0 && st->in_flight == 0 && wait_s > 0) { /* all of it waits for a retry */
		char w[32];
		fmt_eta(w, sizeof(w), (double)wait_s);
		snprintf(eta, sizeof(eta), "next retry in %s", w);
	} else {
		fmt_eta(eta, sizeof(eta), rate > 0 ? (double)queued / rate : queued ? -1 : 0);
	}
	char signs[200] = "";
	if (st->signs)
		snprintf(signs, sizeof(signs), "  DANGER %lld (last: %s; sluice report)",
		         (long long)st->signs, st->last_sign);
	fprintf(f,
	        "%sdelivered %lld  deferred %lld  bounced %lld  expired %lld  queued %lld  "
	        "conns %lld  %.0f msg/s  ETA %s%s%s",
	        p->tty ? "\r\033[K" : "", (long long)delivered, (long long)st->deferred,
	        (long long)bounced, (long long)expired, (long long)queued,
	        (long long)st->connections, rate, eta, signs, p->tty ? "" : "\n");
	fflush(f);
}

void progress_end(struct progress *p, FILE *f)
{
	if (p->tty)
		fputc('\n', f);
}

static const char *const state_names[RS_COUNT] = {"queued", "delivered", "bounced", "expired",
                                                  "suppressed"};

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
		if (i != RS_SUPPRESSED || counts[i] > 0)
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
