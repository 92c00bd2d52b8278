/*
 * sluice list check LIST.csv: what sending would skip, before sending.
 * Invalid syntax (with its line and column), duplicates, typo domains of the
 * large providers (with the suggestion), role accounts, suppressed
 * addresses, and domains with no mail server (null MX, NXDOMAIN, no MX host
 * with an address; one DNS lookup per domain). Prints counts per reason and
 * writes every skipped row to a CSV (--skipped FILE, default LIST.skipped.csv).
 * Options: --config FILE (resolvers, hygiene settings, state_dir), --state DIR
 * (the suppression list), --no-dns.
 * Exit status: 0 nothing to skip; 1 some rows would be skipped; 2 usage/input.
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dns/mx.h"
#include "dns/resolver.h"
#include "list/csv.h"
#include "list/hygiene.h"
#include "list/recipients.h"
#include "store/suppress.h"
#include "mail/config.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/xmalloc.h"

enum reason { R_INVALID, R_DUPLICATE, R_TYPO, R_ROLE, R_SUPPRESSED, R_NO_MX, R_COUNT };
static const char *const reason_names[R_COUNT] = {"invalid",      "duplicate",  "typo",
                                                  "role_account", "suppressed", "no_mail_server"};

struct check {
	const struct config *cfg;
	struct suppress *sp;
	FILE *skipped;
	long rows, kept, counts[R_COUNT], tempfail;
	struct strmap *seen;    /* mailbox -> 1 */
	struct strmap *domains; /* domain -> NULL (pending) or a static "why" / "" (fine) */
	int pending;
};

static void skip(struct check *c, long line, const char *email, enum reason r, const char *detail)
{
	char ln[32];

	c->counts[r]++;
	snprintf(ln, sizeof(ln), "%ld", line);
	const char *f[] = {ln, email, reason_names[r], detail};
	csv_write(c->skipped, f, 4);
}

/* Pass 1: everything but DNS; collects the domains of the rows kept. */
static int pass_one(struct check *c, const char *path, struct err *e)
{
	struct recipient_list l;
	struct recipient_row row = {0};
	int rc, failed;

	if (recipients_open(&l, path, e) != 0)
		return -1;
	while ((rc = recipients_next(&l, &row, e)) != 0) {
		c->rows++;
		if (rc < 0) {
			skip(c, l.csv.record_line, "", R_INVALID, e->msg);
			continue;
		}
		char key[ADDRESS_MAX + 1];
		address_dedupe_key(row.addr.mailbox, c->cfg->case_sensitive_local, key,
		                   sizeof(key));
		intptr_t first = (intptr_t)strmap_get(c->seen, key);
		if (first) {
			char at[64];
			snprintf(at, sizeof(at), "the same mailbox as line %ld", (long)first);
			skip(c, row.line, row.addr.mailbox, R_DUPLICATE, at);
			continue;
		}
		strmap_put(c->seen, key, (void *)(intptr_t)row.line);
		char detail[200];
		const char *why =
		    hygiene_screen(c->cfg, c->sp, &row.addr, detail, sizeof(detail), &failed, e);
		if (failed)
			break;
		if (why) {
			enum reason r = strcmp(why, "typo") == 0           ? R_TYPO
			                : strcmp(why, "role_account") == 0 ? R_ROLE
			                                                   : R_SUPPRESSED;
			skip(c, row.line, row.addr.mailbox, r, detail);
			continue;
		}
		strmap_put(c->domains, row.addr.domain, NULL);
	}
	recipient_row_free(&row);
	strbuf_free(&row.fields);
	recipients_close(&l);
	return rc == 0 ? 0 : -1;
}

struct lookup_run {
	struct check *c;
	struct event_base *base;
};

static void on_mx_run(void *arg, const char *domain, const struct mx_result *res)
{
	struct lookup_run *lr = arg;
	struct check *c = lr->c;
	const char *why = "";

	if (res->status == MX_NULL_MX)
		why = "null MX: the domain accepts no mail";
	else if (res->status == MX_NXDOMAIN)
		why = "the domain does not exist";
	else if (res->status == MX_NO_HOST)
		why = "no mail server has an address";
	else if (res->status == MX_TEMPFAIL)
		c->tempfail++;
	strmap_put(c->domains, domain, (void *)why);
	if (--c->pending == 0)
		event_base_loopbreak(lr->base);
}

static int lookups(struct check *c, struct err *e)
{
	struct event_base *base = event_base_new();
	struct resolver *res = NULL;
	size_t pos = 0;
	const char *d;
	void *v;
	struct lookup_run lr = {c, base};

	if (resolver_new(base, c->cfg->resolvers, c->cfg->nresolvers, c->cfg->dns_timeout_ms,
	                 c->cfg->dns_tries, &res, e) != 0) {
		event_base_free(base);
		return -1;
	}
	struct mx_cache *mx = mx_cache_new(res, AF_INET);
	/* the names are copied first: answers update the map being walked */
	size_t n = 0;
	while (strmap_next(c->domains, &pos, &d, &v))
		n++;
	char **names = xcalloc(n ? n : 1, sizeof(char *));
	pos = 0;
	for (size_t i = 0; strmap_next(c->domains, &pos, &d, &v); i++)
		names[i] = xstrdup(d);
	c->pending = (int)n + 1;
	for (size_t i = 0; i < n; i++)
		mx_lookup(mx, names[i], on_mx_run, &lr);
	if (--c->pending > 0)
		event_base_dispatch(base);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	mx_cache_free(mx);
	resolver_free(res);
	event_base_free(base);
	return 0;
}

/* Pass 2: the rows kept whose domain has no mail server. */
static int pass_two(struct check *c, const char *path, struct err *e)
{
	struct recipient_list l;
	struct recipient_row row = {0};
	struct strmap *done = strmap_new();
	int rc, failed;

	if (recipients_open(&l, path, e) != 0) {
		strmap_free(done, NULL);
		return -1;
	}
	while ((rc = recipients_next(&l, &row, e)) != 0) {
		char detail[200], key[ADDRESS_MAX + 1];
		if (rc < 0)
			continue;
		address_dedupe_key(row.addr.mailbox, c->cfg->case_sensitive_local, key,
		                   sizeof(key));
		if (strmap_get(done, key))
			continue;
		strmap_put(done, key, (void *)1);
		if (hygiene_screen(c->cfg, c->sp, &row.addr, detail, sizeof(detail), &failed, e) ||
		    failed)
			continue;
		const char *why = strmap_get(c->domains, row.addr.domain);
		if (why && why[0])
			skip(c, row.line, row.addr.mailbox, R_NO_MX, why);
		else
			c->kept++;
	}
	recipient_row_free(&row);
	strbuf_free(&row.fields);
	recipients_close(&l);
	strmap_free(done, NULL);
	return 0;
}

static int check(struct check *c, const char *path, int dns, struct err *e)
{
	if (pass_one(c, path, e) != 0)
		return -1;
	if (dns && lookups(c, e) != 0)
		return -1;
	return pass_two(c, path, e);
}

int cli_list(int argc, char **argv)
{
	static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
	                                         {"state", required_argument, NULL, 's'},
	                                         {"skipped", required_argument, NULL, 'o'},
	                                         {"no-dns", no_argument, NULL, 'n'},
	                                         {NULL, 0, NULL, 0}};
	const char *config = NULL, *state = NULL, *out = NULL;
	int ch, dns = 1;

	if (argc < 2 || strcmp(argv[1], "check") != 0) {
		return cli_usage("list", stderr);
	}
	optind = 2;
	while ((ch = getopt_long(argc, argv, "c:s:o:n", longopts, NULL)) != -1) {
		if (ch == 'c')
			config = optarg;
		else if (ch == 's')
			state = optarg;
		else if (ch == 'o')
			out = optarg;
		else if (ch == 'n')
			dns = 0;
		else
			return EXIT_USAGE;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "sluice list check: one list file\n");
		return EXIT_USAGE;
	}
	const char *path = argv[optind];
	struct config cfg;
	struct err e;
	config_defaults(&cfg);
	if (config && config_load(config, &cfg, &e) != 0) {
		log_error("config: %s", e.msg);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	char def[4200];
	if (!out) {
		size_t n = strlen(path);
		snprintf(def, sizeof(def), "%.*s.skipped.csv",
		         (int)(n > 4 && strcmp(path + n - 4, ".csv") == 0 ? n - 4 : n), path);
		out = def;
	}
	struct check c = {.cfg = &cfg, .seen = strmap_new(), .domains = strmap_new()};
	const char *dir = state ? state : cfg.state_dir;
	int rc = EXIT_USAGE;
	if (dir && suppress_open(dir, &c.sp, &e) != 0) {
		log_error("%s", e.msg);
	} else if (!(c.skipped = fopen(out, "w"))) {
		log_error("%s: %m", out);
	} else {
		const char *head[] = {"line", "email", "reason", "detail"};
		csv_write(c.skipped, head, 4);
		if (isatty(2))
			log_info("checking %s%s...", path, dns ? " (with DNS)" : "");
		if (check(&c, path, dns, &e) != 0) {
			log_error("%s", e.msg);
		} else {
			long skipped = 0;
			printf("%-18s %9s\n%-18s %9ld\n", "reason", "rows", "rows read", c.rows);
			for (int i = 0; i < R_COUNT; i++) {
				printf("%-18s %9ld\n", reason_names[i], c.counts[i]);
				skipped += c.counts[i];
			}
			printf("%-18s %9ld\n", "to send", c.kept);
			if (c.tempfail)
				printf("(%ld domains did not answer in time: not skipped, check "
				       "again)\n",
				       c.tempfail);
			printf("skipped rows: %s\n", out);
			rc = skipped ? 1 : 0;
		}
	}
	if (c.skipped)
		fclose(c.skipped);
	suppress_close(c.sp);
	strmap_free(c.seen, NULL);
	strmap_free(c.domains, NULL);
	config_free(&cfg);
	return rc;
}
