/* usage: every subcommand's usage text, in one place (cli.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *cli_version = "unknown";

static const struct {
	const char *cmd, *text;
} usages[] = {
    {"send",
     "usage: sluice send --config FILE --template FILE --recipients FILE\n"
     "                   [--campaign ID] [--state DIR] [--priority P] [--dry-run] [--force]\n"
     "                   [--send-at TIME] [--expires-in DURATION | --expires-at TIME]\n\n"
     "  --config FILE      the YAML configuration (docs/configuration.md)\n"
     "  --template FILE    an RFC 5322 message with {{field}} placeholders\n"
     "  --recipients FILE  CSV with a header row and an 'email' column\n"
     "  --campaign ID      names the campaign (default: derived from both files,\n"
     "                     so the same command resumes the same campaign)\n"
     "  --state DIR        the queue and delivery log (default: the config's state_dir,\n"
     "                     else ./sluice-state)\n"
     "  --priority P       bulk (0, the default), transactional (10) or a number:\n"
     "                     higher goes first to a site other campaigns also use\n"
     "  --dry-run          check everything, print the first message, send nothing\n"
     "  --force            send even when the preflight check (sluice check) FAILs\n"
     "  --send-at TIME     send no recipient before TIME: RFC 3339 (2026-12-03T08:00:00+01:00),\n"
     "                     a local '2026-12-03 08:00' or '08:00' (the next one), local to\n"
     "                     the host's zone or to the row's tz column; the command waits\n"
     "  --expires-in DURATION\n"
     "                     never send a recipient later than DURATION (15m, 2h, 3d) after\n"
     "                     its send time: it ends as expired\n"
     "  --expires-at TIME  the same at a fixed TIME\n"
     "  The list's send_at, expires_at and tz columns override these per row.\n"},
    {"check",
     "usage: sluice check --config FILE [--template FILE [--transactional]] [--state DIR]\n"
     "                    [--json]\n\n"
     "  --config FILE      the YAML configuration: the identity to check\n"
     "  --template FILE    also lint this message template\n"
     "  --transactional    the template is transactional (no unsubscribe link needed)\n"
     "  --state DIR        where earlier runs left their HELO history\n"
     "  --json             one JSON object instead of the table\n"},
    {"serve", "usage: sluice serve --config FILE [--state DIR] [--force]\n\n"
              "  --config FILE      the YAML configuration (needs inbound.listen)\n"
              "  --state DIR        the state directory (default: the config's state_dir)\n"
              "  --force            deliver even when the preflight check FAILs\n"},
    {"suppress", "usage: sluice suppress add|remove ADDRESS... [--scope DOMAIN] [--reason WORD]\n"
                 "       sluice suppress list | import FILE.csv | export [FILE.csv]\n"
                 "options: --state DIR or --config FILE (its state_dir)\n"
                 "         --tenant NAME (with --config): its scope; list shows what stops "
                 "its mail\n"},
    {"list", "usage: sluice list check LIST.csv [--config FILE] [--state DIR] [--skipped FILE]\n"
             "                         [--no-dns]\n"},
    {"report", "usage: sluice report --campaign ID [--tenant NAME] [--config FILE | --state DIR]\n"
               "  --tenant NAME  refuses a campaign of another tenant\n"},
    {"campaign", "usage: sluice campaign pause ID [--for DURATION] --reason TEXT\n"
                 "                             [--config FILE | --state DIR]\n"
                 "       sluice campaign resume ID [--config FILE | --state DIR]\n"
                 "       sluice campaign cancel ID --reason TEXT [--config FILE | --state DIR]\n"
                 "       sluice campaign move ID --pool NAME [--for DURATION] [--reason TEXT]\n"
                 "                            --config FILE [--state DIR]\n\n"
                 "  pause   holds it (a running serve or send within about a second) until\n"
                 "          resumed, or for DURATION (15m, 2h, 3d)\n"
                 "  resume  lets a campaign paused (by the danger-sign monitor, a pause or\n"
                 "          the API) go on\n"
                 "  cancel  ends its queued recipients as cancelled (final, logged with the\n"
                 "          reason); messages already being sent finish. A running serve or\n"
                 "          send stops it within about a second.\n"
                 "  move    sends it from another pool of the config's sources from now on\n"
                 "          (a running serve or send within about a second; messages already\n"
                 "          being sent finish); with --for it goes back to its pool when\n"
                 "          the time is up\n"},
    {"purge", "usage: sluice purge --domain DOMAIN --reason TEXT [--campaign ID]\n"
              "                    [--config FILE | --state DIR]\n\n"
              "  Ends the queued recipients of DOMAIN (of campaign ID only, if given) as\n"
              "  bounced (stage purge, category purged, the reason as the reply), one\n"
              "  delivery-log record each, no suppression. A running serve or send does it\n"
              "  within about a second, after the messages it is sending there finish.\n"},
    {"tenant", "usage: sluice tenant key\n"
               "       sluice tenant password < FILE   (or type it: it is not echoed)\n"
               "       sluice tenant list --config FILE\n"
               "       sluice tenant pause NAME [--for DURATION] --reason TEXT\n"
               "                           [--config FILE | --state DIR]\n"
               "       sluice tenant resume NAME [--config FILE | --state DIR]\n\n"
               "  key       prints a new API key and the sha256: line for the tenant's api_keys\n"
               "  password  prints a crypt(3) yescrypt hash for an smtp_users password_hash\n"
               "  list      the tenants the config declares, their pools, limits and domains\n"
               "  pause     holds the tenant: none of its mail is sent and its submissions\n"
               "            are refused (451) until resumed or its --for ends; recorded in\n"
               "            the store, a running serve takes it within about a second\n"
               "  resume    ends such a pause (not the config's tenants[].paused)\n"},
    {"site",
     "usage: sluice site pause SITE|--provider NAME|--source IP [--for DURATION] --reason TEXT\n"
     "       sluice site resume SITE|--provider NAME|--source IP\n"
     "       sluice site retry SITE|--provider NAME|--source IP [--reason TEXT]\n"
     "options: --config FILE or --state DIR (the state directory)\n\n"
     "  SITE             a site as `sluice queue` names it\n"
     "  --provider NAME  every site of a large provider (google, microsoft, yahoo, ...)\n"
     "  --source IP      every site sent from this source IP\n"
     "  --for DURATION   resume by itself after DURATION (15m, 2h, 3d)\n"
     "  --reason TEXT    why (shown by `sluice queue`)\n"
     "  No new transaction starts at a paused site (its queue waits in the store,\n"
     "  idle connections close); a running serve or send takes it within a second.\n"
     "  retry (once): the sites' suspensions end (learned limits stay) and what waits\n"
     "  for a later attempt is due now.\n"},
    {"queue", "usage: sluice queue [--tenant NAME] [--config FILE | --state DIR]\n\n"
              "  --tenant NAME  only that tenant's campaigns (submitted mail: submit-NAME)\n"
              "  --config FILE  read the state directory from the configuration\n"
              "  --state DIR    the state directory (default ./sluice-state)\n"},
    {"bounces", "usage: sluice bounces parse FILE...\n"
                "       sluice bounces import --config FILE [--state DIR] PATH...\n"},
};

int cli_usage(const char *cmd, FILE *f)
{
	for (size_t i = 0; i < sizeof(usages) / sizeof(usages[0]); i++)
		if (strcmp(usages[i].cmd, cmd) == 0) {
			fputs(usages[i].text, f);
			break;
		}
	return f == stdout ? 0 : EXIT_USAGE;
}

#include "mail/config.h"
#include "util/log.h"

const char *cli_state_dir(const char *config, const char *state)
{
	static char dir[4096];
	struct config cfg;
	struct err e;

	if (state)
		return state;
	if (!config)
		return "sluice-state";
	if (config_load(config, &cfg, &e) != 0) {
		log_error("config: %s", e.msg);
		config_free(&cfg);
		return NULL;
	}
	snprintf(dir, sizeof(dir), "%s", cfg.state_dir ? cfg.state_dir : "sluice-state");
	config_free(&cfg);
	return dir;
}

int cli_for_seconds(const char *what, const char *arg, int64_t *out_s)
{
	int64_t ms = config_parse_duration_ms(arg, strlen(arg));

	if (ms <= 0) {
		log_error("%s: bad --for '%s' (15m, 2h, 3d)", what, arg);
		return -1;
	}
	*out_s = (ms + 999) / 1000;
	return 0;
}
