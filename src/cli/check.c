/*
 * sluice check --config FILE [--json] [--template FILE] [--transactional]:
 * prints the preflight report (preflight/preflight.h) as a table (PASS,
 * WARN, FAIL, each with what to fix) or JSON. sluice send runs the same
 * checks (with its template) before sending (check_before_sending).
 * Exit status: 0 no FAIL; 1 some FAIL; 2 usage or config error.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "mail/config.h"
#include "preflight/preflight.h"
#include "util/log.h"

static int print(const struct preflight *r, int json)
{
	int fails = 0;
	size_t n;
	const struct preflight_row *rows = preflight_rows(r, &n);
	json_t *arr = json ? json_array() : NULL;

	if (!json)
		printf("%-5s %-12s %-34s %s\n", "", "check", "subject", "detail");
	for (size_t i = 0; i < n; i++) {
		const struct preflight_row *x = &rows[i];
		fails += x->level == PREFLIGHT_FAIL;
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "check", json_string(x->check));
			json_object_set_new(o, "subject", json_string(x->subject));
			json_object_set_new(o, "result",
			                    json_string(preflight_level_name(x->level)));
			json_object_set_new(o, "detail", json_string(x->detail));
			json_array_append_new(arr, o);
		} else {
			printf("%-5s %-12s %-34s %s\n", preflight_level_name(x->level), x->check,
			       x->subject, x->detail);
		}
	}
	if (json) {
		char *s = json_dumps(arr, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
		json_decref(arr);
	} else {
		printf("\n%d FAIL\n", fails);
	}
	return fails;
}

int check_before_sending(const struct config *cfg, const char *tpl, int bulk, const char *state_dir,
                         int force, FILE *f)
{
	struct preflight *r;
	struct err e;
	int fails = 0;

	if (force) {
		fprintf(f, "sluice: preflight check skipped (--force)\n");
		return 0;
	}
	if (preflight_run(cfg, tpl, bulk, state_dir, &r, &e) != 0) {
		fprintf(f, "sluice: check: %s\n", e.msg);
		return -1;
	}
	size_t n;
	const struct preflight_row *rows = preflight_rows(r, &n);
	for (size_t i = 0; i < n; i++)
		if (rows[i].level == PREFLIGHT_FAIL) {
			fails++;
			fprintf(f, "sluice: check: FAIL %s %s: %s\n", rows[i].check,
			        rows[i].subject, rows[i].detail);
		}
	preflight_free(r);
	if (fails)
		fprintf(
		    f,
		    "sluice: check: %d FAIL: receivers will treat this identity as suspect; fix "
		    "them (sluice check --config ...) or give --force\n",
		    fails);
	return fails ? -1 : 0;
}

int cli_check(int argc, char **argv)
{
	static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
	                                         {"json", no_argument, NULL, 'j'},
	                                         {"template", required_argument, NULL, 't'},
	                                         {"transactional", no_argument, NULL, 'x'},
	                                         {"state", required_argument, NULL, 's'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	const char *config = NULL, *tpl = NULL, *state = NULL;
	int ch, json = 0, bulk = 1;

	while ((ch = getopt_long(argc, argv, "c:jt:xs:h", longopts, NULL)) != -1) {
		if (ch == 's')
			state = optarg;
		else if (ch == 'c')
			config = optarg;
		else if (ch == 'j')
			json = 1;
		else if (ch == 't')
			tpl = optarg;
		else if (ch == 'x')
			bulk = 0;
		else
			return cli_usage("check", ch == 'h' ? stdout : stderr);
	}
	if (!config)
		return cli_usage("check", stderr);
	struct config cfg;
	struct err e;
	struct preflight *r;
	if (config_load(config, &cfg, &e) != 0 || preflight_run(&cfg, tpl, bulk,
	                                                        state           ? state
	                                                        : cfg.state_dir ? cfg.state_dir
	                                                                        : "sluice-state",
	                                                        &r, &e) != 0) {
		log_error("%s", e.msg);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	int fails = print(r, json);
	preflight_free(r);
	config_free(&cfg);
	return fails ? 1 : 0;
}
