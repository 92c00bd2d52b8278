/* sluice: one binary, subcommands. This file only dispatches (and installs
 * the sink for library diagnostics, util/log.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/log.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "unknown"
#endif

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
    {"send", cli_send, "queue a campaign (template + recipient list) and deliver it"},
    {"check", cli_check, "preflight: PTR, HELO, SPF, DKIM, DMARC, blocklists, unsubscribe"},
    {"serve", cli_serve, "run the bounce/feedback listener, unsubscribe endpoint and delivery"},
    {"suppress", cli_suppress, "the suppression list: add, remove, list, import, export"},
    {"list", cli_list, "check a recipient list before sending (list check FILE)"},
    {"report", cli_report, "a campaign's outcomes and the danger signs that fired"},
    {"campaign", cli_campaign, "resume a paused campaign, cancel one, or move it to a pool"},
    {"site", cli_site, "pause, resume or retry delivery to a site, a provider or a source IP"},
    {"purge", cli_purge, "bounce the queued mail for a domain (with a reason)"},
    {"tenant", cli_tenant, "make API keys and password hashes for tenants; list them"},
    {"queue", cli_queue, "show what is queued and what each destination site is doing"},
    {"bounces", cli_bounces, "read bounces and feedback reports (parse, import a mailbox)"},
};

static int usage(FILE *f)
{
	fprintf(f, "usage: sluice COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'sluice COMMAND --help' (or 'sluice help COMMAND') describes a command's "
	           "options;\n'sluice --version' says which sluice this is.\n");
	return f == stdout ? 0 : 2;
}

static int is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

int main(int argc, char **argv)
{
	/* what library code has to say goes to stderr too; SLUICE_TRACE adds
	 * the SMTP client's wire trace */
	log_set_sink(log_sink_stderr, getenv("SLUICE_TRACE") ? LOG_TRACE : LOG_INFO);
	cli_version = SLUICE_VERSION;
	if (argc < 2)
		return usage(stderr);
	if (is_help(argv[1]) || (strcmp(argv[1], "help") == 0 && argc == 2))
		return usage(stdout);
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("sluice %s\n", SLUICE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0) /* help COMMAND */
		return cli_usage(argv[2], stdout);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		/* --help anywhere after a command: its usage, exit 0, nothing run */
		for (int k = 2; k < argc && strcmp(argv[k], "--") != 0; k++)
			if (is_help(argv[k]))
				return cli_usage(commands[i].name, stdout);
		return commands[i].run(argc - 1, argv + 1);
	}
	log_error("unknown command '%s'", argv[1]);
	return usage(stderr);
}
