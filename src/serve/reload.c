/* reload: see reload.h. */
#include "serve/reload.h"

#include <string.h>

#include "mail/config.h"

static int str_differs(const char *a, const char *b)
{
	if (!a || !b)
		return a != b;
	return strcmp(a, b) != 0;
}

static int sources_differ(const struct config *a, const struct config *b)
{
	if (a->nsources != b->nsources)
		return 1;
	for (size_t i = 0; i < a->nsources; i++) {
		const struct source *x = &a->sources[i], *y = &b->sources[i];
		if (str_differs(x->ip, y->ip) || str_differs(x->helo, y->helo) ||
		    str_differs(x->pool, y->pool) || x->weight != y->weight ||
		    x->warmup_day1 != y->warmup_day1 ||
		    x->warmup_site_day1 != y->warmup_site_day1 ||
		    x->warmup_until != y->warmup_until || x->warmup_growth != y->warmup_growth)
			return 1;
	}
	return 0;
}

static int dkim_differs(const struct config *a, const struct config *b)
{
	if (a->ndkim != b->ndkim)
		return 1;
	for (size_t i = 0; i < a->ndkim; i++) {
		const struct dkim_conf *x = &a->dkim[i], *y = &b->dkim[i];
		if (str_differs(x->domain, y->domain) || str_differs(x->selector, y->selector) ||
		    str_differs(x->key, y->key) ||
		    str_differs(x->canonicalization, y->canonicalization))
			return 1;
	}
	return 0;
}

int serve_webhooks_differ(const struct config *a, const struct config *b)
{
	if (a->nwebhooks != b->nwebhooks)
		return 1;
	for (size_t i = 0; i < a->nwebhooks; i++) {
		const struct webhook_conf *x = &a->webhooks[i], *y = &b->webhooks[i];
		if (str_differs(x->url, y->url) || str_differs(x->secret, y->secret) ||
		    str_differs(x->tenant, y->tenant) || x->max_batch != y->max_batch ||
		    x->timeout_ms != y->timeout_ms || x->nevents != y->nevents)
			return 1;
		for (size_t k = 0; k < x->nevents; k++)
			if (str_differs(x->events[k], y->events[k]))
				return 1;
	}
	return 0;
}

static int resolvers_differ(const struct config *a, const struct config *b)
{
	if (a->nresolvers != b->nresolvers)
		return 1;
	for (size_t i = 0; i < a->nresolvers; i++)
		if (str_differs(a->resolvers[i], b->resolvers[i]))
			return 1;
	return 0;
}

size_t serve_restart_changes(const struct config *a, const struct config *b, const char **out,
                             size_t max)
{
	const struct {
		const char *name;
		int differs;
	} checks[] = {
	    {"state_dir", str_differs(a->state_dir, b->state_dir)},
	    {"dns.resolvers", resolvers_differ(a, b)},
	    {"dns.timeout", a->dns_timeout_ms != b->dns_timeout_ms},
	    {"dns.tries", a->dns_tries != b->dns_tries},
	    {"sources", sources_differ(a, b)},
	    {"sender.pool", str_differs(a->pool, b->pool)},
	    {"delivery.signing_threads", a->signing_threads != b->signing_threads},
	    {"dkim", dkim_differs(a, b)},
	    {"inbound.listen", str_differs(a->inbound_listen, b->inbound_listen)},
	    {"inbound.http_listen", str_differs(a->http_listen, b->http_listen)},
	    {"inbound.hostname", str_differs(a->inbound_hostname, b->inbound_hostname)},
	    {"inbound.max_message_size", a->inbound_max_size != b->inbound_max_size},
	    {"inbound.max_connections", a->inbound_max_connections != b->inbound_max_connections},
	    {"inbound.max_connections_per_ip", a->inbound_max_per_ip != b->inbound_max_per_ip},
	    {"inbound.message_rate_per_ip", a->inbound_rate_per_ip != b->inbound_rate_per_ip},
	    {"inbound.idle_timeout", a->inbound_idle_ms != b->inbound_idle_ms},
	    {"inbound.session_timeout", a->inbound_session_ms != b->inbound_session_ms},
	    {"inbound.min_data_rate", a->inbound_min_data_rate != b->inbound_min_data_rate},
	    {"inbound.memory_limit", a->inbound_memory_limit != b->inbound_memory_limit},
	    {"inbound.http_max_connections", a->http_max_connections != b->http_max_connections},
	    {"inbound.http_max_connections_per_ip", a->http_max_per_ip != b->http_max_per_ip},
	    {"inbound.http_timeout", a->http_timeout_ms != b->http_timeout_ms},
	    /* the token as read (also from status_token_file), not only its source */
	    {"http.status_token", str_differs(a->http_status_token, b->http_status_token)},
	    {"http.metrics_public", a->http_metrics_public != b->http_metrics_public},
	    /* the submission listeners are made once (serve/submission.c), with
	     * their TLS context and limits copied in; submit checks
	     * max_message_size again on each message, but the listeners' SIZE
	     * stays the one they started with */
	    {"submission.listen", str_differs(a->submission_listen, b->submission_listen)},
	    {"submission.listen_tls",
	     str_differs(a->submission_listen_tls, b->submission_listen_tls)},
	    {"submission.tls_cert", str_differs(a->submission_cert, b->submission_cert)},
	    {"submission.tls_key", str_differs(a->submission_key, b->submission_key)},
	    {"submission.auth_without_tls",
	     a->submission_auth_without_tls != b->submission_auth_without_tls},
	    {"submission.max_message_size", a->submission_max_size != b->submission_max_size},
	    {"submission.max_connections",
	     a->submission_max_connections != b->submission_max_connections},
	    {"submission.max_connections_per_ip",
	     a->submission_max_per_ip != b->submission_max_per_ip},
	    {"submission.auth_max_failures",
	     a->submission_auth_max_failures != b->submission_auth_max_failures},
	    {"submission.auth_lockout",
	     a->submission_auth_lockout_ms != b->submission_auth_lockout_ms},
	    {"submission.idle_timeout", a->submission_idle_ms != b->submission_idle_ms},
	    /* the API's listener (serve/api_wiring.c); idempotency_window is read
	     * per request and follows a reload */
	    {"api.listen", str_differs(a->api_listen, b->api_listen)},
	    {"api.max_body", a->api_max_body != b->api_max_body},
	    {"api.max_connections", a->api_max_connections != b->api_max_connections},
	    {"api.max_connections_per_ip", a->api_max_per_ip != b->api_max_per_ip},
	    {"api.timeout", a->api_timeout_ms != b->api_timeout_ms},
	    /* the identity watcher (serve/watch.c) keeps the config it started with */
	    {"watch.interval", a->watch_interval_ms != b->watch_interval_ms},
	    {"watch.after_block", a->watch_after_block_ms != b->watch_after_block_ms},
	    {"check.dnsbl", str_differs(a->check_dnsbl, b->check_dnsbl)},
	    /* the endpoints, their secrets and filters: the dispatcher's own */
	    /* whether events are written at all is the engine's, from its start
	     * (engine/env.c); a change among endpoints is applied (serve.c) */
	    {"webhooks", a->nwebhooks == 0 && b->nwebhooks > 0},
	};
	size_t n = 0;

	_Static_assert(sizeof(checks) / sizeof(checks[0]) <= RELOAD_RESTART_MAX,
	               "RELOAD_RESTART_MAX holds every setting named here");
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]) && n < max; i++)
		if (checks[i].differs)
			out[n++] = checks[i].name;
	return n;
}
