/*
 * sluice suppress: the suppression list by hand.
 *   add ADDRESS...      suppress (reason "manual" unless --reason)
 *   remove ADDRESS...   lift a suppression (and the address's strikes)
 *   list                a table of every suppressed address
 *   import FILE.csv     columns: email, and optionally reason, scope, evidence
 *   export [FILE.csv]   the whole list as CSV (stdout without FILE)
 * Options: --state DIR (or --config FILE for its state_dir), --scope DOMAIN
 * (default: every sender), --reason WORD.
 * Exit status: 0 done; 2 usage, input or state error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "list/csv.h"
#include "store/suppress.h"
#include "mail/address.h"
#include "mail/config.h"
#include "util/clock.h"
#include "util/log.h"

struct opts {
	const char *state, *config, *scope, *reason, *tenant;
	long count;
};

static void print_row(void *arg, const struct suppression *r)
{
	struct opts *o = arg;
	long *n = &o->count;
	char when[32];

	/* --tenant: what stops its mail (everyone's, and its own scope) */
	if (o->tenant && r->scope[0] && strcasecmp(r->scope, o->scope) != 0)
		return;
	clock_iso8601(r->created_s * 1000, when, sizeof(when));
	if ((*n)++ == 0)
		printf("%-36s %-18s %-17s %-20s %s\n", "address", "scope", "reason", "since",
		       "evidence");
	printf("%-36s %-18s %-17s %-20s %.60s\n", r->address, r->scope[0] ? r->scope : "(all)",
	       r->reason, when, r->evidence);
}

static void export_row(void *arg, const struct suppression *r)
{
	char when[32];

	clock_iso8601(r->created_s * 1000, when, sizeof(when));
	const char *f[] = {r->address, r->reason, r->scope, r->evidence, when};
	csv_write(arg, f, 5);
}

/* Canonical form of an address given on the command line or in a file. */
static int canonical(const char *in, char *out, size_t n, struct err *e)
{
	struct address a;
	if (address_parse(in, strlen(in), &a, e) != 0)
		return -1;
	snprintf(out, n, "%s", a.mailbox);
	address_free(&a);
	return 0;
}

static int do_import(struct suppress *sp, const struct opts *o, const char *path)
{
	FILE *f = fopen(path, "rb");
	struct csv_reader r;
	struct err e;
	long added = 0, known = 0, bad = 0;
	int col[4] = {-1, -1, -1, -1}, rc;
	size_t flen;
	static const char *const names[4] = {"email", "reason", "scope", "evidence"};

	if (!f) {
		log_error("%s: cannot open: %m", path);
		return EXIT_USAGE;
	}
	csv_init(&r, f);
	if (csv_next(&r, &e) != 1) {
		log_error("%s: no header row", path);
		csv_free(&r);
		fclose(f);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < r.nfields; i++)
		for (int k = 0; k < 4; k++)
			if (strcasecmp(csv_field(&r, i, &flen), names[k]) == 0)
				col[k] = (int)i;
	if (col[0] < 0) {
		log_error("%s:1: the header row needs an 'email' column", path);
		csv_free(&r);
		fclose(f);
		return EXIT_USAGE;
	}
	int64_t now = clock_wall_ms() / 1000;
	while ((rc = csv_next(&r, &e)) != 0) {
		char addr[512];
		const char *v[4] = {NULL, NULL, NULL, NULL};
		for (int k = 0; k < 4; k++)
			if (col[k] >= 0 && (size_t)col[k] < r.nfields)
				v[k] = csv_field(&r, (size_t)col[k], &flen);
		if (rc < 0 || !v[0] || canonical(v[0], addr, sizeof(addr), &e) != 0) {
			log_error("%s:%ld: skipped: %s", path, r.record_line, e.msg);
			bad++;
			continue;
		}
		int a = suppress_add(sp, addr,
		                     v[2]       ? v[2]
		                     : o->scope ? o->scope
		                                : "",
		                     v[1] && v[1][0] ? v[1]
		                     : o->reason     ? o->reason
		                                     : "manual",
		                     v[3] ? v[3] : "imported", now, &e);
		if (a < 0) {
			log_error("%s", e.msg);
			break;
		}
		a ? added++ : known++;
	}
	csv_free(&r);
	fclose(f);
	if (suppress_commit(sp, &e) != 0) {
		log_error("%s", e.msg);
		return EXIT_USAGE;
	}
	printf("%-20s %9ld\n%-20s %9ld\n%-20s %9ld\n", "added", added, "already suppressed", known,
	       "bad rows", bad);
	return rc == 0 ? 0 : EXIT_USAGE;
}

static int run(struct suppress *sp, const struct opts *o, const char *verb, char **args, int n)
{
	struct err e;
	int64_t now = clock_wall_ms() / 1000;
	struct opts lo = *o;

	if (strcmp(verb, "list") == 0) {
		if (suppress_list(sp, print_row, &lo, &e) != 0)
			goto fail;
		printf("%ld suppressed\n", lo.count);
		return 0;
	}
	if (strcmp(verb, "export") == 0) {
		FILE *f = n > 0 ? fopen(args[0], "w") : stdout;
		if (!f) {
			log_error("%s: %m", args[0]);
			return EXIT_USAGE;
		}
		const char *head[] = {"email", "reason", "scope", "evidence", "created"};
		csv_write(f, head, 5);
		int rc = suppress_list(sp, export_row, f, &e);
		if (f != stdout)
			fclose(f);
		if (rc != 0)
			goto fail;
		return 0;
	}
	if (strcmp(verb, "import") == 0)
		return n == 1 ? do_import(sp, o, args[0]) : cli_usage("suppress", stderr);
	int add = strcmp(verb, "add") == 0;
	if ((!add && strcmp(verb, "remove") != 0) || n == 0) {
		cli_usage("suppress", stderr);
		return EXIT_USAGE;
	}
	for (int i = 0; i < n; i++) {
		char addr[512];
		if (canonical(args[i], addr, sizeof(addr), &e) != 0) {
			log_error("'%s': %s", args[i], e.msg);
			return EXIT_USAGE;
		}
		int r =
		    add ? suppress_add(sp, addr, o->scope ? o->scope : "",
		                       o->reason ? o->reason : "manual", "added by hand", now, &e)
		        : suppress_remove(sp, addr, o->scope, &e);
		if (r < 0)
			goto fail;
		printf("%s: %s\n", addr,
		       add ? (r ? "suppressed" : "already suppressed")
		           : (r ? "removed" : "was not suppressed"));
	}
	if (suppress_commit(sp, &e) != 0)
		goto fail;
	return 0;
fail:
	log_error("%s", e.msg);
	return EXIT_USAGE;
}

int cli_suppress(int argc, char **argv)
{
	static const struct option longopts[] = {{"state", required_argument, NULL, 's'},
	                                         {"config", required_argument, NULL, 'c'},
	                                         {"scope", required_argument, NULL, 'S'},
	                                         {"reason", required_argument, NULL, 'r'},
	                                         {"tenant", required_argument, NULL, 't'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	struct opts o = {0};
	int ch;

	if (argc < 2) {
		cli_usage("suppress", stderr);
		return EXIT_USAGE;
	}
	const char *verb = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "s:c:S:r:t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			o.tenant = optarg;
			break;
		case 's':
			o.state = optarg;
			break;
		case 'c':
			o.config = optarg;
			break;
		case 'S':
			o.scope = optarg;
			break;
		case 'r':
			o.reason = optarg;
			break;
		case 'h':
			cli_usage("suppress", stdout);
			return 0;
		default:
			cli_usage("suppress", stderr);
			return EXIT_USAGE;
		}
	}
	struct config cfg;
	struct err e;
	config_defaults(&cfg);
	if (o.config && config_load(o.config, &cfg, &e) != 0) {
		log_error("config: %s", e.msg);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	if (o.tenant) { /* its scope: add and remove act there, list shows what stops it */
		const struct tenant *t = o.config ? tenant_by_name(&cfg, o.tenant) : NULL;
		if (!t) {
			log_error(o.config ? "no tenant '%s' in %s"
			                   : "--tenant %s needs --config FILE",
			          o.tenant, o.config);
			config_free(&cfg);
			return EXIT_USAGE;
		}
		if (!o.scope)
			o.scope = tenant_scope(&cfg, t);
	}
	const char *dir = o.state ? o.state : cfg.state_dir ? cfg.state_dir : "sluice-state";
	struct suppress *sp = NULL;
	int rc = EXIT_USAGE;
	if (suppress_open(dir, &sp, &e) != 0)
		log_error("%s", e.msg);
	else
		rc = run(sp, &o, verb, argv + optind, argc - optind);
	suppress_close(sp);
	config_free(&cfg);
	return rc;
}
