/*
 * sluice tenant: what an operator needs to declare tenants
 * (docs/configuration.md#tenants):
 *   sluice tenant key        a new API key, and the hash line the config keeps
 *   sluice tenant password   a crypt(3) (yescrypt) hash of a password read
 *                            from standard input, for smtp_users
 *   sluice tenant list --config FILE   the tenants a config declares
 *   sluice tenant pause NAME [--for DURATION] --reason TEXT [--config FILE | --state DIR]
 *   sluice tenant resume NAME [--config FILE | --state DIR]
 *                            the operator's hold on a tenant: recorded in
 *                            the store (scope "tenant" of the site pauses,
 *                            store_control.c), so it survives a restart;
 *                            a running serve holds the tenant's campaigns
 *                            and refuses its submissions (451) within a
 *                            second (engine/control.c, submit.c)
 * The config keeps only hashes: a stolen config file does not let anyone
 * send. Exit status: 0; 1 resume of a tenant not paused; 2 on a usage or
 * input error.
 */
#include <crypt.h>
#include <getopt.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "mail/config.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"

#define KEY_BYTES 24

static int new_key(void)
{
	unsigned char b[KEY_BYTES];
	char key[8 + 2 * KEY_BYTES + 1], line[80];

	if (RAND_bytes(b, sizeof(b)) != 1) {
		fprintf(stderr, "sluice tenant key: no randomness\n");
		return EXIT_USAGE;
	}
	int n = snprintf(key, sizeof(key), "sk_");
	for (size_t i = 0; i < sizeof(b); i++)
		n += snprintf(key + n, sizeof(key) - (size_t)n, "%02x", b[i]);
	tenant_hash_api_key(key, strlen(key), line, sizeof(line));
	printf("API key (give it to the application; it is not stored anywhere):\n  %s\n"
	       "for the tenant's api_keys in the config:\n  - \"%s\"\n",
	       key, line);
	return 0;
}

static int hash_password(void)
{
	char pw[1024];
	struct termios old, quiet;
	int tty = isatty(0) && tcgetattr(0, &old) == 0;

	if (tty) {
		fprintf(stderr, "password: ");
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &quiet);
	}
	char *got = fgets(pw, sizeof(pw), stdin);
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (!got || !pw[0] || pw[0] == '\n') {
		fprintf(stderr, "sluice tenant password: no password on standard input\n");
		return EXIT_USAGE;
	}
	pw[strcspn(pw, "\r\n")] = '\0';
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *h = NULL;
	if (cd && crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)))
		h = crypt_r(pw, salt, cd);
	explicit_bzero(pw, sizeof(pw));
	if (!h || h[0] == '*') {
		fprintf(stderr, "sluice tenant password: crypt(3) failed\n");
		free(cd);
		return EXIT_USAGE;
	}
	printf("%s\n", h);
	free(cd);
	return 0;
}

static int list_tenants(int argc, char **argv)
{
	const char *path = argc > 3 && strcmp(argv[2], "--config") == 0 ? argv[3] : NULL;
	struct config c;
	struct err e;

	if (!path)
		return cli_usage("tenant", stderr);
	if (config_load(path, &c, &e) != 0) {
		fprintf(stderr, "sluice tenant: %s\n", e.msg);
		return EXIT_USAGE;
	}
	printf("%-16s %-6s %-5s %-12s %-10s %-10s %-10s %s\n", "tenant", "users", "keys", "pool",
	       "per_minute", "per_hour", "per_day", "sender domains");
	for (size_t i = 0; i < c.ntenants; i++) {
		const struct tenant *t = &c.tenants[i];
		char lim[3][24];
		const int64_t v[3] = {t->per_minute, t->per_hour, t->per_day};
		for (int k = 0; k < 3; k++)
			snprintf(lim[k], sizeof(lim[k]), v[k] ? "%lld" : "-", (long long)v[k]);
		printf("%-16s %-6zu %-5zu %-12s %-10s %-10s %-10s", t->name, t->nusers,
		       t->napi_keys, t->pool ? t->pool : c.pool, lim[0], lim[1], lim[2]);
		for (size_t d = 0; d < t->ndomains; d++)
			printf("%s%s", d ? ", " : " ", t->domains[d]);
		printf("%s\n", t->implicit ? " (implicit: no tenants declared)" : "");
	}
	config_free(&c);
	return 0;
}

struct hold_opts {
	const char *state, *config, *name, *reason;
	int64_t for_s;
};

static int hold_args(int argc, char **argv, struct hold_opts *o)
{
	static const struct option longopts[] = {{"state", required_argument, NULL, 's'},
	                                         {"config", required_argument, NULL, 'c'},
	                                         {"for", required_argument, NULL, 'f'},
	                                         {"reason", required_argument, NULL, 'r'},
	                                         {NULL, 0, NULL, 0}};
	int ch;

	optind = 2;
	while ((ch = getopt_long(argc, argv, "s:c:f:r:", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->state = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'r':
			o->reason = optarg;
			break;
		case 'f':
			if (cli_for_seconds("tenant", optarg, &o->for_s) != 0)
				return -1;
			break;
		default:
			return -1;
		}
	}
	if (optind + 1 != argc)
		return -1;
	o->name = argv[optind];
	return 0;
}

/* With --config, a tenant the config does not declare is refused (its
 * pause would hold nothing). 0, or -1 having said why. */
static int tenant_known(const struct hold_opts *o)
{
	struct config c;
	struct err e;

	if (!o->config)
		return 0;
	if (config_load(o->config, &c, &e) != 0) {
		log_error("tenant: %s", e.msg);
		return -1;
	}
	int ok = tenant_by_name(&c, o->name) != NULL;
	if (!ok) {
		log_error("tenant: %s declares no tenant '%s'; its tenants are:", o->config,
		          o->name);
		for (size_t i = 0; i < c.ntenants; i++)
			log_info("  %s", c.tenants[i].name);
	}
	config_free(&c);
	return ok ? 0 : -1;
}

static int tenant_hold(int argc, char **argv, int pause)
{
	struct hold_opts o = {0};
	struct store *st;
	struct err e;
	int rc;

	if (hold_args(argc, argv, &o) != 0 || (pause && !o.reason) || (!pause && o.for_s) ||
	    strlen(o.name) == 0)
		return cli_usage("tenant", stderr);
	if (tenant_known(&o) != 0)
		return EXIT_USAGE;
	if (cli_open_store(cli_state_dir(o.config, o.state), &st) != 0)
		return EXIT_USAGE;
	int64_t now = clock_wall_ms() / 1000;
	if (pause) {
		struct site_pause p = {.scope = "tenant",
		                       .target = o.name,
		                       .reason = o.reason,
		                       .until_s = o.for_s ? now + o.for_s : 0,
		                       .time_s = now};
		rc = store_site_pause(st, &p, &e) == 0 ? 1 : -1;
	} else {
		rc = store_site_resume_why(
		    st, "tenant", o.name, o.reason ? o.reason : "resumed by the operator", now, &e);
	}
	if (rc >= 0 && store_commit(st, &e) != 0)
		rc = -1;
	store_close(st);
	if (rc < 0) {
		log_error("%s", e.msg);
		return EXIT_USAGE;
	}
	if (!pause) {
		printf(rc ? "tenant %s resumed\n" : "tenant %s was not paused\n", o.name);
		return rc ? 0 : 1;
	}
	if (o.for_s)
		printf("tenant %s paused for %llds: %s\n", o.name, (long long)o.for_s, o.reason);
	else
		printf("tenant %s paused until resumed: %s\n", o.name, o.reason);
	return 0;
}

int cli_tenant(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "key") == 0)
		return new_key();
	if (strcmp(sub, "password") == 0)
		return hash_password();
	if (strcmp(sub, "list") == 0)
		return list_tenants(argc, argv);
	if (strcmp(sub, "pause") == 0 || strcmp(sub, "resume") == 0)
		return tenant_hold(argc, argv, strcmp(sub, "pause") == 0);
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
		return cli_usage("tenant", stdout);
	return cli_usage("tenant", stderr);
}
