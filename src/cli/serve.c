/*
 * sluice serve: the arguments, the config and the preflight checks, then the
 * server (serve/serve.h) until a signal stops it; what it says on stderr.
 * Exit status: 0 stopped by a signal; 2 config or state error.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "mail/config.h"
#include "serve/serve.h"
#include "util/listen.h"
#include "util/log.h"

/* Raises the descriptor limit as far as allowed and says whether every
 * connection the config allows at once fits in it. */
static void report_descriptors(const struct config *cfg)
{
	long have = listen_raise_nofile();
	long need = (long)cfg->inbound_max_connections + cfg->max_connections + 64 +
	            (cfg->http_listen ? cfg->http_max_connections : 0);

	if (have < 0)
		return;
	log_info("open files limit %ld (connections allowed at once: %ld)", have, need - 64);
	if (have < need)
		log_warn("the open files limit %ld is below what the config allows (%ld): raise "
		         "LimitNOFILE or lower inbound.max_connections, "
		         "inbound.http_max_connections or delivery.max_connections",
		         have, need);
}

int cli_serve(int argc, char **argv)
{
	static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
	                                         {"state", required_argument, NULL, 's'},
	                                         {"force", no_argument, NULL, 'f'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	const char *config = NULL, *state = NULL;
	int ch, force = 0;

	while ((ch = getopt_long(argc, argv, "c:s:fh", longopts, NULL)) != -1) {
		if (ch == 'c')
			config = optarg;
		else if (ch == 's')
			state = optarg;
		else if (ch == 'f')
			force = 1;
		else
			return cli_usage("serve", ch == 'h' ? stdout : stderr);
	}
	if (!config)
		return cli_usage("serve", stderr);
	struct config cfg;
	struct err e;
	if (config_load(config, &cfg, &e) != 0) {
		log_error("config: %s", e.msg);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	if (!cfg.inbound_listen) {
		log_error("config: %s: serve needs inbound.listen (ip:port)", config);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	const char *dir = state ? state : cfg.state_dir ? cfg.state_dir : "sluice-state";
	if (check_before_sending(&cfg, NULL, 0, dir, force, stderr) != 0) {
		config_free(&cfg);
		return EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN); /* a reload before serve listens for it must not kill it */
	report_descriptors(&cfg);
	struct serve_params sp = {.cfg = &cfg,
	                          .config_path = config,
	                          .state_dir = dir,
	                          .sink = {cli_print_sign, NULL},
	                          .version = cli_version};
	struct serve *sv = NULL;
	int rc = 0;
	if (serve_open(&sp, &sv, &e) != 0 || serve_run(sv, &e) != 0) {
		log_error("%s", e.msg);
		rc = EXIT_USAGE;
	}
	serve_close(sv);
	config_free(&cfg);
	if (rc == 0)
		log_info("stopped");
	return rc;
}
