/*
 * serve: the long-running server behind `sluice serve`. One event loop runs
 *  - the inbound SMTP listener for the bounce domain, the feedback address
 *    and unsubscribe mail (smtp/server.h, inbound/inbound.h); each message
 *    is parsed on a worker thread, then acted on, committed and answered on
 *    the loop;
 *  - the HTTP listener (inbound.http_listen): the one-click unsubscribe
 *    endpoint (http/unsubscribe.h), /metrics and /status (serve/observe.h),
 *    and
 *  - delivery of whatever is queued in the state directory: campaigns
 *    queued by `sluice send` while serve runs (found within
 *    SERVE_POLL_MS), and anything left from before, all in one scheduler:
 *    campaigns share each site's budget, higher priority first. A campaign
 *    the complaint rate paused (inbound) is stopped; a paused one is not
 *    started until `sluice campaign resume`.
 * SIGTERM/SIGINT: stop listening (inbound SMTP, HTTP, the API and SMTP
 * submission), let open transactions finish, write out the answers owed to
 * submission clients (their last commit's, within SERVE_FLUSH_MS), then
 * serve_run returns; a second signal stops at once (the queue keeps the
 * rest; a 250 not yet written is not sent, its message is kept). SIGHUP:
 * the delivery log is reopened (log rotation) and the config file read
 * again; a config that does not load is refused whole (the running one
 * stays), one that does is applied at once except for the settings
 * serve/reload.h names, which wait for a restart (a warning names each
 * that changed). What happens is said on stderr through util/log.h.
 */
#ifndef SLUICE_SERVE_SERVE_H
#define SLUICE_SERVE_SERVE_H

#include "engine/monitor.h"
#include "util/err.h"

#define SERVE_POLL_MS  2000 /* how often the store is read for new campaigns */
#define CAMPAIGNS_MAX  4096 /* campaigns serve looks at (and /metrics counts) */
#define SERVE_FLUSH_MS 1000 /* after a stop, for submission's last answers to go out */

struct config;
struct serve;

struct serve_params {
	const struct config *cfg; /* with inbound.listen set; borrowed until serve_close */
	const char *config_path;  /* read again on SIGHUP; NULL: no reload */
	const char *state_dir;
	struct monitor_sink sink; /* where danger signs go (the CLI prints them) */
	const char *version;      /* this build's, for /metrics and /status (static) */
};

/* Opens the state directory (queue, suppression list, delivery lock), the
 * delivery engine and the listeners into *out. 0, or -1 with e set; *out
 * is set either way and is for serve_close. */
int serve_open(const struct serve_params *p, struct serve **out, struct err *e);
/* Delivers and listens until stopped by a signal: 0, or -1 with e set
 * (a delivery or state error). */
int serve_run(struct serve *sv, struct err *e);
/* Closes everything serve_open opened; messages still being parsed are
 * acted on, unanswered. NULL is a no-op. */
void serve_close(struct serve *sv);

#endif
