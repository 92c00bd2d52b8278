/*
 * sluice send: check a template and a recipient list, queue the campaign
 * durably, deliver it, and report. Running the same command again resumes.
 * --send-at, --expires-at and --expires-in give every recipient a send time
 * and an expiry (the list's send_at, expires_at and tz columns override
 * them, list/recipients.h); times are fixed when a row is queued. A send
 * time in the future keeps the command waiting for it (Ctrl-C stops, the
 * same command or a running serve goes on).
 * Exit status: 0 all delivered; 1 some bounced or expired; 2 usage, config,
 * input or state-directory error; 3 stopped by a signal (resumable); 4 queued
 * for the `sluice serve` that runs on the same state directory; 5 the campaign
 * is paused (by the danger-sign monitor, until `sluice campaign resume`).
 */
#include <event2/event.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "engine/env.h"
#include "cli/progress.h"
#include "cli/report.h"
#include "list/csv.h"
#include "list/hygiene.h"
#include "list/queue_campaign.h"
#include "list/recipients.h"
#include "store/suppress.h"
#include "mail/config.h"
#include "mail/fields.h"
#include "msg/preview.h"
#include "msg/template.h"
#include "dlog/dlog.h"
#include "engine/scheduler.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/strmap.h"
#include "util/when.h"
#include "util/xmalloc.h"

#define EXIT_INTERRUPTED    3
#define EXIT_HANDED_OFF     4     /* queued; a running `sluice serve` delivers it */
#define EXIT_PAUSED         5     /* the danger-sign monitor paused the campaign */
#define ENQUEUE_COMMIT_ROWS 20000 /* rows per transaction while queueing */
#define BAD_ROWS_SHOWN      20

struct send_opts {
	const char *config, *template, *recipients, *campaign, *state;
	int dry_run;
	int priority;
	int force;
	const char *send_at, *expires_at; /* as given (util/when.h) */
	int64_t expires_in_s;
};

enum { OPT_SEND_AT = 256, OPT_EXPIRES_AT, OPT_EXPIRES_IN };

/* A time given as an option, read in the host's zone: 0, or -1 (printed). */
static int option_time(const char *opt, const char *text, int64_t ref_s, int64_t *out)
{
	struct err e;

	if (when_parse(text, strlen(text), NULL, ref_s, out, &e) == 0)
		return 0;
	fprintf(stderr, "sluice send: %s: %s\n", opt, e.msg);
	return -1;
}

/* The time options together: readable, and not contradicting each other
 * (as the host's zone reads them; a row's tz may move local ones). */
static int check_times(struct send_opts *o)
{
	int64_t now = clock_wall_ms() / 1000, send = 0, expires = 0;
	char a[WHEN_TEXT_MAX], b[WHEN_TEXT_MAX];

	if (o->expires_at && o->expires_in_s) {
		fprintf(stderr, "sluice send: give --expires-at or --expires-in, not both\n");
		return -1;
	}
	if (o->send_at && option_time("--send-at", o->send_at, now, &send) != 0)
		return -1;
	int64_t from = send ? send : now;
	if (o->expires_at && option_time("--expires-at", o->expires_at, from, &expires) != 0)
		return -1;
	if (o->expires_in_s)
		expires = from + o->expires_in_s;
	when_format(expires, a, sizeof(a));
	when_format(send, b, sizeof(b));
	if (send && expires && expires <= send) {
		fprintf(stderr, "sluice send: --expires-at %s is not after --send-at %s\n", a, b);
		return -1;
	}
	if (expires && expires <= now)
		log_warn("--expires-at %s has passed: recipients queued now expire unsent", a);
	return 0;
}

static int parse_args(int argc, char **argv, struct send_opts *o)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"template", required_argument, NULL, 't'},
	    {"recipients", required_argument, NULL, 'r'},
	    {"campaign", required_argument, NULL, 'C'},
	    {"state", required_argument, NULL, 's'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"priority", required_argument, NULL, 'p'},
	    {"force", no_argument, NULL, 'f'},
	    {"send-at", required_argument, NULL, OPT_SEND_AT},
	    {"expires-at", required_argument, NULL, OPT_EXPIRES_AT},
	    {"expires-in", required_argument, NULL, OPT_EXPIRES_IN},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt_long(argc, argv, "c:t:r:C:s:np:fh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 't':
			o->template = optarg;
			break;
		case 'r':
			o->recipients = optarg;
			break;
		case 'C':
			o->campaign = optarg;
			break;
		case 's':
			o->state = optarg;
			break;
		case 'n':
			o->dry_run = 1;
			break;
		case 'f':
			o->force = 1;
			break;
		case OPT_SEND_AT:
			o->send_at = optarg;
			break;
		case OPT_EXPIRES_AT:
			o->expires_at = optarg;
			break;
		case OPT_EXPIRES_IN: {
			int64_t ms = config_parse_duration_ms(optarg, strlen(optarg));
			if (ms < 1000) {
				fprintf(
				    stderr,
				    "sluice send: --expires-in: a duration such as 15m, 2h or 3d, "
				    "not '%s'\n",
				    optarg);
				return -1;
			}
			o->expires_in_s = ms / 1000;
			break;
		}
		case 'p': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (strcmp(optarg, "bulk") == 0)
				o->priority = 0;
			else if (strcmp(optarg, "transactional") == 0)
				o->priority = 10;
			else if (*optarg && !*end && v >= -100 && v <= 100)
				o->priority = (int)v;
			else {
				fprintf(stderr,
				        "sluice send: --priority: bulk, transactional or a "
				        "number from -100 to 100, not '%s'\n",
				        optarg);
				return -1;
			}
			break;
		}
		case 'h':
			cli_usage("send", stdout);
			exit(0);
		default:
			cli_usage("send", stderr);
			return -1;
		}
	}
	if (optind < argc || !o->config || !o->template || !o->recipients) {
		fprintf(stderr,
		        "sluice send: --config, --template and --recipients are required\n");
		cli_usage("send", stderr);
		return -1;
	}
	return check_times(o);
}

/* The default campaign ID: a digest of the template and the list. */
static int derive_campaign_id(const struct send_opts *o, char *out, size_t n, struct err *e)
{
	const char *files[2] = {o->template, o->recipients};
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char buf[65536];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "rb");
		size_t k;
		if (!f) {
			EVP_MD_CTX_free(ctx);
			return err_set(e, "%s: cannot open: %m", files[i]);
		}
		while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
			EVP_DigestUpdate(ctx, buf, k);
		fclose(f);
		EVP_DigestUpdate(ctx, "\0", 1);
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	snprintf(out, n, "c-");
	for (int i = 0; i < 6; i++)
		snprintf(out + 2 + 2 * i, n - 2 - 2 * (size_t)i, "%02x", md[i]);
	return 0;
}

static void report_bad_row(long *bad, const struct err *e)
{
	if (++*bad <= BAD_ROWS_SHOWN)
		log_error("skipped: %s", e->msg);
}

/* Reads the whole list, prints the first message; nothing is queued. */
static int dry_run(struct recipient_list *list, const struct template *tpl,
                   const struct config *cfg)
{
	struct recipient_row row = {0};
	struct strmap *seen = strmap_new();
	struct err e;
	long ok = 0, bad = 0, dups = 0;
	int rc;

	while ((rc = recipients_next(list, &row, &e)) != 0) {
		if (rc < 0) {
			report_bad_row(&bad, &e);
			continue;
		}
		char key[ADDRESS_MAX + 1];
		address_dedupe_key(row.addr.mailbox, cfg->case_sensitive_local, key, sizeof(key));
		if (strmap_get(seen, key)) {
			dups++;
			continue;
		}
		strmap_put(seen, key, (void *)1);
		if (ok++ > 0)
			continue;
		struct strbuf msg = STRBUF_INIT;
		int r = preview_render(cfg, tpl, &row.addr, row.fields.data, row.fields.len,
		                       clock_wall_ms() / 1000, &msg, &e);
		if (r == -1)
			log_error("%s:%ld: cannot render: %s", list->path, row.line, e.msg);
		else if (r != 0)
			log_error("%s", e.msg);
		else
			fwrite(msg.data, 1, msg.len, stdout);
		strbuf_free(&msg);
	}
	recipient_row_free(&row);
	strbuf_free(&row.fields);
	strmap_free(seen, NULL);
	if (bad > BAD_ROWS_SHOWN)
		log_info("... and %ld more bad rows", bad - BAD_ROWS_SHOWN);
	log_info("dry run: %ld recipients, %ld bad rows, %ld duplicates; nothing sent", ok, bad,
	         dups);
	return ok > 0 ? EXIT_ALL_DELIVERED : EXIT_USAGE;
}

/* Where skipped rows are listed: STATE/skipped-CAMPAIGN.csv, opened at
 * the first skip. */
struct skips {
	FILE *csv;
	char path[4200];
	const char *state_dir, *campaign;
	long bad;
};

static void skip_row(void *arg, const struct recipient_row *row, const char *reason,
                     const char *detail)
{
	struct skips *sk = arg;
	char line[32];

	if (!sk->csv) {
		snprintf(sk->path, sizeof(sk->path), "%s/skipped-%s.csv", sk->state_dir,
		         sk->campaign);
		if (!(sk->csv = fopen(sk->path, "w")))
			return;
		const char *head[] = {"line", "email", "reason", "detail"};
		csv_write(sk->csv, head, 4);
	}
	snprintf(line, sizeof(line), "%ld", row->line);
	const char *f[] = {line, row->addr.mailbox, reason, detail};
	csv_write(sk->csv, f, 4);
}

static void bad_row(void *arg, long line, const struct err *e)
{
	struct skips *sk = arg;
	(void)line;
	report_bad_row(&sk->bad, e);
}

static void queue_progress(void *arg, long rows)
{
	(void)arg;
	if (isatty(2))
		fprintf(stderr, "\rsluice: queueing... %ld", rows);
}

/* Queues the list's rows (list/queue_campaign.h); rows already queued (a
 * resume) are left alone. Typos, role accounts and suppressed addresses
 * are skipped (hygiene.h) and listed in the state directory. */
static int enqueue(struct store *st, struct suppress *sp, const struct config *cfg,
                   const char *state_dir, const char *campaign, struct recipient_list *list,
                   int resumed, struct err *e)
{
	struct skips sk = {.state_dir = state_dir, .campaign = campaign};
	struct queue_hooks h = {skip_row, bad_row, queue_progress, &sk};
	struct queue_counts n;
	int rc = queue_campaign_rows(st, sp, cfg, NULL, campaign, list, resumed,
	                             ENQUEUE_COMMIT_ROWS, &h, &n, e);

	if (sk.csv)
		fclose(sk.csv);
	if (rc != 0)
		return -1;
	if (isatty(2) && n.rows >= ENQUEUE_COMMIT_ROWS)
		fputc('\n', stderr);
	if (n.bad > BAD_ROWS_SHOWN)
		log_info("... and %ld more bad rows", n.bad - BAD_ROWS_SHOWN);
	log_info("campaign %s: %ld queued, %ld %s, %ld bad rows skipped", campaign, n.added, n.dups,
	         resumed ? "already queued or duplicates" : "duplicates", n.bad);
	if (n.typo + n.role + n.suppressed > 0)
		log_info(
		    "skipped %ld suppressed, %ld typo domains, %ld role accounts (listed in %s)",
		    n.suppressed, n.typo, n.role, sk.path);
	if (n.waiting > 0) {
		char when[64];
		time_t t = (time_t)n.first_send;
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm);
		log_info("%ld wait for their send time, the first at %s", n.waiting, when);
	}
	return 0;
}

/* ---- the delivery run ---- */

struct run {
	struct event_base *base;
	struct scheduler *sched;
	struct store *st;
	const char *campaign;
	int64_t next_due_s, next_due_at_ms; /* the store's answer, asked once a second */
	struct progress progress;
	int signals;
};

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct run *r = arg;

	(void)what;
	if (r->signals++ == 0) {
		fputc('\n', stderr); /* ends the progress line */
		log_info("%s: finishing open transactions, then stopping (again to stop at once)",
		         sig == SIGINT ? "interrupted" : "terminated");
		scheduler_stop(r->sched);
	} else {
		event_base_loopbreak(r->base);
	}
}

static void on_progress(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	(void)fd, (void)what;
	struct scheduler_stats st;

	scheduler_stats(r->sched, &st);
	int64_t now = clock_mono_ms();
	struct err e;
	if (now - r->next_due_at_ms >= 1000) {
		r->next_due_at_ms = now;
		if (store_next_due(r->st, r->campaign, &r->next_due_s, &e) != 0)
			r->next_due_s = -1;
	}
	progress_show(&r->progress, stderr, &st, r->next_due_s, 0);
}

/* The campaign record (list/queue_campaign.h): the template file as given,
 * the config's envelope sender, the default tenant. */
static int open_campaign(struct store *st, const struct send_opts *o, const char *id,
                         const struct template *tpl, struct recipient_list *list,
                         const struct config *cfg, struct campaign_rec *rec, int *resumed,
                         struct err *e)
{
	struct strbuf raw = STRBUF_INIT;
	char buf[65536];
	size_t k;
	FILE *f = fopen(o->template, "rb");

	while (f && (k = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&raw, buf, k);
	if (f)
		fclose(f);
	struct campaign_spec spec = {
	    .id = id,
	    .template_path = o->template,
	    .template_text = raw.data ? raw.data : "",
	    .template_len = raw.len,
	    .tpl = tpl,
	    .envelope_from = cfg->envelope_from,
	    .priority = o->priority,
	};
	int rc = queue_campaign_open(st, &spec, list, rec, resumed, e);
	strbuf_free(&raw);
	return rc < 0 ? -1 : 0;
}

static int deliver(const struct config *cfg, struct store *st, struct suppress *sp,
                   const char *state_dir, const struct campaign_rec *rec,
                   const struct template *tpl, int64_t clean_version, struct err *e)
{
	struct run r = {0};
	struct delivery_env env;
	int64_t counts[RS_COUNT], total = 0;

	if (store_counts(st, rec->id, counts, e) != 0)
		return -1;
	for (int i = 0; i < RS_COUNT; i++)
		total += counts[i];
	r.base = event_base_new();
	r.st = st;
	r.campaign = rec->id;
	r.next_due_s = -1;
	/* the signals are ours before anything is opened: a Ctrl-C from here on
	 * stops cleanly (it is handled once the loop runs) */
	struct event *sigint = evsignal_new(r.base, SIGINT, on_signal, &r);
	struct event *sigterm = evsignal_new(r.base, SIGTERM, on_signal, &r);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	if (delivery_env_open(cfg, r.base, state_dir, &env, e) != 0) {
		event_free(sigint);
		event_free(sigterm);
		event_base_free(r.base);
		return -1;
	}
	struct scheduler_params params;
	delivery_env_params(&env, cfg, st, sp, &params);
	params.sink = (struct monitor_sink){cli_print_sign, NULL};
	r.sched = scheduler_new(&params);
	delivery_env_add_campaign(r.sched, rec, tpl, total, clean_version);
	progress_init(&r.progress, stderr, total, counts);
	struct event *tick = event_new(r.base, -1, EV_PERSIST, on_progress, &r);
	struct timeval tv = {0, 100000};
	event_add(tick, &tv);
	scheduler_start(r.sched);
	event_base_dispatch(r.base);
	struct scheduler_stats last;
	scheduler_stats(r.sched, &last);
	progress_show(&r.progress, stderr, &last, -1, 1);
	progress_end(&r.progress, stderr);
	if (last.cpu_ns && last.delivered)
		log_info("scheduler CPU: %.1f us per delivered message",
		         (double)last.cpu_ns / 1000.0 / (double)last.delivered);
	int rc = scheduler_error(r.sched, e);
	struct err fe;
	if (scheduler_free(r.sched, &fe) != 0 && rc == 0) {
		*e = fe;
		rc = -1;
	}
	event_free(sigint);
	event_free(sigterm);
	event_free(tick);
	delivery_env_close(&env);
	event_base_free(r.base);
	if (rc == 0 && r.signals)
		return 1;
	return rc;
}

/* The exit status once delivery returned d (deliver: 0 done, 1 stopped
 * by a signal), after the campaign's summary. */
static int exit_status(struct store *st, const char *id, int d)
{
	struct err e;
	char paused[256];
	int64_t counts[RS_COUNT];
	int rc;

	if (report_summary(stdout, st, id, &e) != 0 || store_counts(st, id, counts, &e) != 0) {
		log_error("%s", e.msg);
		rc = EXIT_USAGE;
	} else if (store_campaign_paused(st, id, paused, &e) == 1) {
		log_error("campaign %s paused itself: %s", id, paused);
		log_info("%lld still queued; fix the cause, then `sluice campaign resume %s` "
		         "and run the same command",
		         (long long)counts[RS_QUEUED], id);
		rc = EXIT_PAUSED;
	} else if (d == 1 && counts[RS_QUEUED] > 0) {
		log_info("stopped with %lld queued; run the same command to resume",
		         (long long)counts[RS_QUEUED]);
		rc = EXIT_INTERRUPTED;
	} else {
		rc = counts[RS_BOUNCED] + counts[RS_EXPIRED] > 0 ? EXIT_SOME_FAILED
		                                                 : EXIT_ALL_DELIVERED;
	}
	return rc;
}

/* Queues the list as campaign id (or resumes it), then delivers it here
 * unless a running serve takes it; returns the exit status. */
static int queue_and_deliver(const struct send_opts *o, struct config *cfg, const char *state_dir,
                             const char *id, struct template *tpl, struct recipient_list *list)
{
	struct err e;
	int rc = EXIT_USAGE;
	struct store *st = NULL;
	struct suppress *sp = NULL;
	struct campaign_rec rec = {0};
	int resumed = 0;
	int64_t clean = -1; /* the list's version when the queued rows were screened */
	int failed = store_open(state_dir, &st, &e) != 0 ||
	             suppress_open(state_dir, &sp, &e) != 0 ||
	             open_campaign(st, o, id, tpl, list, cfg, &rec, &resumed, &e) != 0;
	if (!failed) {
		clean = resumed ? -1 : suppress_version(sp); /* before screening: see scheduler.h */
		failed = enqueue(st, sp, cfg, state_dir, id, list, resumed, &e) != 0;
	}
	char paused[256];
	if (failed) {
		log_error("%s", e.msg);
		if (st)
			log_info("nothing committed was lost; fix the cause and run the same "
			         "command again");
		goto done;
	}
	if (store_campaign_paused(st, id, paused, &e) == 1) {
		log_error("campaign %s is paused: %s", id, paused);
		log_info("read `sluice report --campaign %s`, fix the cause, then `sluice campaign "
		         "resume %s`",
		         id, id);
		rc = EXIT_PAUSED;
		goto done;
	}
	long holder = 0;
	int locked = store_lock_delivery(st, &holder, &e);
	int d = locked == 1 ? deliver(cfg, st, sp, state_dir, &rec, tpl, clean, &e) : locked;
	if (locked == 0) {
		log_info("campaign %s is queued; the running serve (pid %ld) delivers it", id,
		         holder);
		rc = EXIT_HANDED_OFF;
	} else if (d < 0) {
		log_error("%s", e.msg);
		log_info("stopped; the queue in %s is intact: run the same command again to resume",
		         state_dir);
		rc = EXIT_USAGE;
	} else {
		rc = exit_status(st, id, d);
	}
done:
	store_campaign_free(&rec);
	suppress_close(sp);
	store_close(st);
	return rc;
}

int cli_send(int argc, char **argv)
{
	struct send_opts o;
	struct config cfg;
	struct template tpl;
	struct recipient_list list;
	struct err e;
	char idbuf[32];
	int rc = EXIT_USAGE;

	if (parse_args(argc, argv, &o) != 0)
		return EXIT_USAGE;
	signal(SIGPIPE, SIG_IGN);
	memset(&tpl, 0, sizeof(tpl));
	memset(&list, 0, sizeof(list));
	if (config_load(o.config, &cfg, &e) != 0) {
		log_error("config: %s", e.msg);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	if (template_load(o.template, &tpl, &e) != 0 ||
	    recipients_open(&list, o.recipients, &e) != 0 ||
	    template_bind(&tpl, list.names, list.nnames, &e) != 0) {
		log_error("%s", e.msg);
		goto out;
	}
	struct recipient_times times = {.send_at = o.send_at,
	                                .expires_at = o.expires_at,
	                                .expires_in_s = o.expires_in_s,
	                                .now_s = clock_wall_ms() / 1000};
	recipients_set_times(&list, &times);
	if (tpl.uses_unsubscribe_url && !cfg.unsubscribe_url) {
		log_error("%s: {{unsubscribe_url}} needs unsubscribe.url in the configuration (%s)",
		          tpl.path, cfg.path);
		goto out;
	}
	if (o.dry_run) {
		rc = dry_run(&list, &tpl, &cfg);
		goto out;
	}
	const char *state_dir = o.state ? o.state : cfg.state_dir ? cfg.state_dir : "sluice-state";
	if (check_before_sending(&cfg, o.template, o.priority < 10, state_dir, o.force, stderr) !=
	    0)
		goto out; /* EXIT_USAGE: the identity would look like a bot's */
	const char *id = o.campaign;
	if (!id) {
		if (derive_campaign_id(&o, idbuf, sizeof(idbuf), &e) != 0) {
			log_error("%s", e.msg);
			goto out;
		}
		id = idbuf;
	}
	rc = queue_and_deliver(&o, &cfg, state_dir, id, &tpl, &list);
out:
	recipients_close(&list);
	template_free(&tpl);
	config_free(&cfg);
	return rc;
}
