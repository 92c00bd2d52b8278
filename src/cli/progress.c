/* progress: see progress.h. */
#include "cli/progress.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/scheduler.h"
#include "cli/cli.h"
#include "engine/monitor.h"
#include "util/clock.h"
#include "util/log.h"

#define TTY_INTERVAL_MS   250
#define PLAIN_INTERVAL_MS 5000

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
	if (queued > 0 && st->in_flight == 0 && wait_s > 0) {
		/* all of it waits: for a retry, or (nothing deferred in this run)
		 * for a send time, which may be days away */
		char w[32];
		if (wait_s >= 99 * 3600)
			snprintf(w, sizeof(w), "%lldd%02lldh", (long long)(wait_s / 86400),
			         (long long)(wait_s % 86400 / 3600));
		else
			fmt_eta(w, sizeof(w), (double)wait_s);
		snprintf(eta, sizeof(eta), "%s in %s", st->deferred ? "next retry" : "sending", w);
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

void cli_print_sign(void *arg, const struct monitor_sign *sg)
{
	(void)arg;
	/* the scheduler's signs start on a line of their own: the progress
	 * line may be half written */
	if (sg->from_delivery)
		fputc('\n', stderr);
	log_error("danger: campaign %s: %s: %s", sg->campaign, sg->kind, sg->detail);
}
