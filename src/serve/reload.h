/*
 * reload: what a reload of the config (SIGHUP to `sluice serve`) cannot
 * change while serve runs. serve applies a reloaded config's policies at
 * once (serve.c, reload_config); the settings named here are read only when
 * serve starts (the state directory, the sending identities and DKIM keys,
 * DNS, the listeners and their limits: inbound, HTTP, SMTP submission and
 * its TLS files, the API; the /status token) and take effect
 * at the next restart.
 * docs/operations.md ("Reloading") lists both kinds.
 */
#ifndef SLUICE_SERVE_RELOAD_H
#define SLUICE_SERVE_RELOAD_H

#include <stddef.h>

struct config;

#define RELOAD_RESTART_MAX 64 /* more than the settings serve_restart_changes knows */

/* The names of the restart-only settings (as written in the config file,
 * "inbound.listen") whose values differ between the running config and the
 * new one, into out (static strings); returns how many (at most max). */
size_t serve_restart_changes(const struct config *running, const struct config *next,
                             const char **out, size_t max);
/* 1 if the webhooks: sections differ (endpoints, secrets, tenants, event
 * filters, batch sizes, timeouts): serve starts its dispatcher again. */
int serve_webhooks_differ(const struct config *a, const struct config *b);

#endif
