/*
 * config: see config.h. The schema is a table of scalar settings (section,
 * key, type, where it goes) plus two lists (sources, policies); unknown keys
 * are errors, so a typo never silently falls back to a default.
 */
#include "mail/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "mail/config_yaml.h"
#include "mail/providers.h"
#include "mail/reply.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

#define OFF(m) offsetof(struct config, m)
#define DAY_S  (24 * 3600)

static const struct field fields[] = {
    {NULL, "state_dir", F_STR, OFF(state_dir), 0, 0},
    {"dns", "timeout", F_MS, OFF(dns_timeout_ms), 100, 60000},
    {"dns", "tries", F_INT, OFF(dns_tries), 1, 10},
    {"sender", "envelope_from", F_STR, OFF(envelope_from), 0, 0},
    {"sender", "from_domain", F_STR, OFF(from_domain), 0, 0},
    {"sender", "pool", F_STR, OFF(pool), 0, 0},
    {"delivery", "spread_threshold", F_INT64, OFF(spread_threshold), 0, 1000000000},
    {"delivery", "port", F_INT, OFF(port), 1, 65535},
    {"delivery", "max_connections", F_INT, OFF(max_connections), 1, 100000},
    {"delivery", "max_connections_per_site", F_INT, OFF(defaults.max_connections), 1, 10000},
    {"delivery", "initial_connections_per_site", F_INT, OFF(initial_connections), 1, 10000},
    {"delivery", "max_messages_per_connection", F_INT, OFF(defaults.max_messages_per_connection), 1,
     1000000},
    {"delivery", "idle_timeout", F_MS, OFF(idle_timeout_ms), 0, 600000},
    {"delivery", "signing_threads", F_INT, OFF(signing_threads), 0, 64},
    {"delivery", "provider_policies", F_BOOL, OFF(provider_policies), 0, 0},
    {"delivery", "tls", F_TLS, OFF(defaults.tls), 0, 0},
    {"retry", "min_backoff", F_SECONDS, OFF(min_backoff_s), 0, 30 * DAY_S},
    {"retry", "max_backoff", F_SECONDS, OFF(max_backoff_s), 0, 30 * DAY_S},
    {"retry", "max_lifetime", F_SECONDS, OFF(max_lifetime_s), 0, 365 * DAY_S},
    {"retry", "greylist_delay", F_SECONDS, OFF(greylist_delay_s), 0, DAY_S},
    {"delivery", "message_rate", F_RATE, OFF(defaults.message_rate), 0, 0},
    {"delivery", "connection_rate", F_RATE, OFF(defaults.connection_rate), 0, 0},
    {"timeouts", "connect", F_MS, OFF(timeouts.connect_ms), 1, 3600000},
    {"timeouts", "banner", F_MS, OFF(timeouts.banner_ms), 1, 3600000},
    {"timeouts", "ehlo", F_MS, OFF(timeouts.ehlo_ms), 1, 3600000},
    {"timeouts", "starttls", F_MS, OFF(timeouts.starttls_ms), 1, 3600000},
    {"timeouts", "mail", F_MS, OFF(timeouts.mail_ms), 1, 3600000},
    {"timeouts", "rcpt", F_MS, OFF(timeouts.rcpt_ms), 1, 3600000},
    {"timeouts", "data", F_MS, OFF(timeouts.data_ms), 1, 3600000},
    {"timeouts", "data_block", F_MS, OFF(timeouts.data_block_ms), 1, 3600000},
    {"timeouts", "dot", F_MS, OFF(timeouts.dot_ms), 1, 3600000},
    {"timeouts", "rset", F_MS, OFF(timeouts.rset_ms), 1, 3600000},
    {"timeouts", "quit", F_MS, OFF(timeouts.quit_ms), 1, 3600000},
    {"bounce", "domain", F_STR, OFF(bounce_domain), 0, 0},
    {"bounce", "prefix", F_STR, OFF(verp_prefix), 0, 0},
    {"bounce", "secret", F_STR, OFF(secret), 0, 0},
    {"bounce", "feedback_address", F_STR, OFF(feedback_address), 0, 0},
    {"inbound", "listen", F_STR, OFF(inbound_listen), 0, 0},
    {"inbound", "http_listen", F_STR, OFF(http_listen), 0, 0},
    {"inbound", "hostname", F_STR, OFF(inbound_hostname), 0, 0},
    {"inbound", "max_message_size", F_BYTES, OFF(inbound_max_size), 1024, 100 * 1024 * 1024},
    {"inbound", "max_connections", F_INT, OFF(inbound_max_connections), 1, 100000},
    {"inbound", "max_connections_per_ip", F_INT, OFF(inbound_max_per_ip), 1, 100000},
    {"inbound", "message_rate_per_ip", F_RATE, OFF(inbound_rate_per_ip), 0, 0},
    {"inbound", "idle_timeout", F_MS, OFF(inbound_idle_ms), 1000, 3600000},
    {"inbound", "session_timeout", F_MS, OFF(inbound_session_ms), 1000, 24 * 3600000},
    {"inbound", "min_data_rate", F_BYTES, OFF(inbound_min_data_rate), 0, 100 * 1024 * 1024},
    {"inbound", "memory_limit", F_BYTES, OFF(inbound_memory_limit), 1024 * 1024,
     INT64_C(64) * 1024 * 1024 * 1024},
    {"inbound", "http_max_connections", F_INT, OFF(http_max_connections), 1, 100000},
    {"inbound", "http_max_connections_per_ip", F_INT, OFF(http_max_per_ip), 1, 100000},
    {"inbound", "http_timeout", F_MS, OFF(http_timeout_ms), 1000, 3600000},
    {"http", "status_token", F_STR, OFF(http_status_token), 0, 0},
    {"http", "status_token_file", F_STR, OFF(http_status_token_file), 0, 0},
    {"http", "metrics_public", F_BOOL, OFF(http_metrics_public), 0, 0},
    {"unsubscribe", "url", F_STR, OFF(unsubscribe_url), 0, 0},
    {"unsubscribe", "mailto", F_BOOL, OFF(unsubscribe_mailto), 0, 0},
    {"suppression", "scope", F_SCOPE, OFF(suppression.scope), 0, 0},
    {"suppression", "rcpt_strikes", F_INT, OFF(suppression.rcpt_strikes), 1, 100},
    {"suppression", "soft_bounces", F_INT, OFF(suppression.soft_bounces), 1, 100},
    {"suppression", "soft_span", F_SECONDS, OFF(suppression.soft_span_s), 0, 365 * DAY_S},
    {"hygiene", "skip_typos", F_BOOL, OFF(skip_typos), 0, 0},
    {"hygiene", "skip_role_accounts", F_BOOL, OFF(skip_role_accounts), 0, 0},
    {"hygiene", "case_sensitive_local_parts", F_BOOL, OFF(case_sensitive_local), 0, 0},
    {"check", "dnsbl", F_STR, OFF(check_dnsbl), 0, 0},
    {"check", "uri_blocklists", F_STR, OFF(check_uribl), 0, 0},
    {"monitor", "pause_after_sender_rejections", F_INT, OFF(monitor.pause_after_sender_rejections),
     0, 1000000},
    {"monitor", "rcpt_failure_warn", F_PERCENT, OFF(monitor.rcpt_failure_warn), 0, 0},
    {"monitor", "rcpt_failure_pause", F_PERCENT, OFF(monitor.rcpt_failure_pause), 0, 0},
    {"monitor", "min_messages", F_INT, OFF(monitor.min_messages), 1, 100000000},
    {"monitor", "rcpt_spike_factor", F_TIMES, OFF(monitor.rcpt_spike_factor), 0, 0},
    {"monitor", "rcpt_spike_pause", F_BOOL, OFF(monitor.rcpt_spike_pause), 0, 0},
    {"monitor", "deferral_warn", F_PERCENT, OFF(monitor.deferral_warn), 0, 0},
    {"monitor", "complaint_warn", F_PERCENT, OFF(monitor.complaint_warn), 0, 0},
    {"monitor", "complaint_pause", F_PERCENT, OFF(monitor.complaint_pause), 0, 0},
    {"submission", "listen", F_STR, OFF(submission_listen), 0, 0},
    {"submission", "listen_tls", F_STR, OFF(submission_listen_tls), 0, 0},
    {"submission", "tls_cert", F_STR, OFF(submission_cert), 0, 0},
    {"submission", "tls_key", F_STR, OFF(submission_key), 0, 0},
    {"submission", "auth_without_tls", F_BOOL, OFF(submission_auth_without_tls), 0, 0},
    {"submission", "max_message_size", F_BYTES, OFF(submission_max_size), 1024, 200 * 1024 * 1024},
    {"submission", "max_connections", F_INT, OFF(submission_max_connections), 1, 100000},
    {"submission", "max_connections_per_ip", F_INT, OFF(submission_max_per_ip), 1, 100000},
    {"submission", "auth_max_failures", F_INT, OFF(submission_auth_max_failures), 1, 1000},
    {"submission", "auth_lockout", F_MS, OFF(submission_auth_lockout_ms), 1000, 7 * 24 * 3600000LL},
    {"submission", "idle_timeout", F_MS, OFF(submission_idle_ms), 1000, 3600000},
    {"api", "listen", F_STR, OFF(api_listen), 0, 0},
    {"api", "max_body", F_BYTES, OFF(api_max_body), 1024, 1024LL * 1024 * 1024},
    {"api", "max_connections", F_INT, OFF(api_max_connections), 1, 100000},
    {"api", "max_connections_per_ip", F_INT, OFF(api_max_per_ip), 1, 100000},
    {"api", "timeout", F_MS, OFF(api_timeout_ms), 1000, 3600000},
    {"api", "idempotency_window", F_SECONDS, OFF(api_idempotency_s), 24 * 3600, 30 * DAY_S},
    {"watch", "interval", F_MS, OFF(watch_interval_ms), 0, 7 * DAY_S * 1000},
    {"watch", "after_block", F_MS, OFF(watch_after_block_ms), 1000, DAY_S * 1000},
    {"warmup", "max_deferrals", F_PERCENT, OFF(warmup_max_deferrals), 0, 0},
    {"warmup", "max_blocks", F_PERCENT, OFF(warmup_max_blocks), 0, 0},
    {"warmup", "max_complaints", F_PERCENT, OFF(warmup_max_complaints), 0, 0},
};

static const char *const lists[] = {"sources", "policies", "rules", "classify", "dkim"};
static const char *const resolvers_key = "resolvers"; /* under dns */

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->dns_timeout_ms = 5000;
	c->dns_tries = 2;
	c->port = 25;
	c->max_connections = 200;
	c->initial_connections =
	    2; /* fewer than Postfix (5): a new site shows first what it takes */
	c->idle_timeout_ms = 1000;
	c->signing_threads = -1;
	c->watch_interval_ms = 3600000;
	c->watch_after_block_ms = 60000;
	c->warmup_max_deferrals = 0.10;
	c->warmup_max_blocks = 0.01;
	c->warmup_max_complaints = 0.001;
	c->provider_policies = 1;
	c->defaults.tls = TLS_OPPORTUNISTIC;
	c->defaults.max_connections = 10;
	c->defaults.max_messages_per_connection = 100;
	c->min_backoff_s = 300;  /* Postfix: minimal_backoff_time */
	c->max_backoff_s = 4000; /* Postfix: maximal_backoff_time */
	c->max_lifetime_s = 5 * DAY_S;
	c->spread_threshold = 10000;
	c->greylist_delay_s = 360; /* greylisting servers commonly ask for 5 minutes */
	c->inbound_max_size = 10 * 1024 * 1024;
	c->inbound_max_connections = 100;
	c->inbound_max_per_ip = 10;
	c->inbound_rate_per_ip = 3000.0 / 60; /* 3000/min */
	c->inbound_idle_ms = 300000;          /* RFC 5321 4.5.3.2.7 */
	c->inbound_session_ms = 1800000;
	c->inbound_min_data_rate = 1024;
	c->inbound_memory_limit = 256 * 1024 * 1024;
	c->http_max_connections = 256;
	c->http_max_per_ip = 8;
	c->http_timeout_ms = 10000;
	c->unsubscribe_mailto = 1;
	c->suppression = (struct suppression_policy){
	    .scope = SCOPE_GLOBAL, .rcpt_strikes = 3, .soft_bounces = 4, .soft_span_s = 15 * DAY_S};
	c->skip_typos = 1;
	c->monitor = (struct monitor_policy){.pause_after_sender_rejections = 5,
	                                     .rcpt_failure_warn = 0.10,
	                                     .rcpt_failure_pause = 0,
	                                     .min_messages = 100,
	                                     .rcpt_spike_factor = 3,
	                                     .deferral_warn = 0.2,
	                                     .complaint_warn = 0.001,
	                                     .complaint_pause = 0.003};
	c->skip_role_accounts = 1;
	c->submission_max_size = 25 * 1024 * 1024;
	c->submission_max_connections = 1000;
	c->submission_max_per_ip = 100;
	c->submission_auth_max_failures = 5;
	c->submission_auth_lockout_ms = 15 * 60000;
	c->submission_idle_ms = 300000;
	c->api_max_body = 50 * 1024 * 1024;
	c->api_max_connections = 1000;
	c->api_max_per_ip = 200;
	c->api_timeout_ms = 60000;
	c->api_idempotency_s = 24 * 3600;
	/* RFC 5321 4.5.3.2 */
	c->timeouts = (struct timeouts){.connect_ms = 30000,
	                                .banner_ms = 300000,
	                                .ehlo_ms = 300000,
	                                .starttls_ms = 120000,
	                                .mail_ms = 300000,
	                                .rcpt_ms = 300000,
	                                .data_ms = 120000,
	                                .data_block_ms = 180000,
	                                .dot_ms = 600000,
	                                .rset_ms = 120000,
	                                .quit_ms = 10000};
}

/* ---- lists ---- */

static int load_resolvers(struct loader *l, struct ynode *key, struct ynode *seq)
{
	if (seq->kind != YN_SEQUENCE)
		return cfg_fail_at(l, key, "'%s' must be a list of addresses (ip or ip:port)",
		                   "resolvers", NULL);
	for (size_t i = 0; i < seq->nkids; i++) {
		char *s = cfg_scalar_dup(seq->kids[i]);
		if (!s)
			return cfg_fail_at(l, key, "'%s' entries must be addresses", "resolvers",
			                   NULL);
		unsigned char buf[16];
		char host[64];
		const char *colon = strrchr(s, ':');
		/* ip, ip:port, [v6] or [v6]:port */
		if (s[0] == '[') {
			const char *close = strchr(s, ']');
			size_t hn = close ? (size_t)(close - s - 1) : 0;
			snprintf(host, sizeof(host), "%.*s", (int)hn, s + 1);
			colon = close && close[1] == ':' ? close + 1 : NULL;
		} else if (colon && strchr(s, ':') == colon) {
			snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
		} else {
			snprintf(host, sizeof(host), "%s", s);
			colon = NULL;
		}
		int ok = inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
		if (ok && colon) {
			char *end;
			long port = strtol(colon + 1, &end, 10);
			ok = *end == '\0' && port > 0 && port < 65536;
		}
		if (!ok) {
			cfg_fail_at(l, seq->kids[i],
			            "resolver '%s' is not an IP address with an optional port", s,
			            NULL);
			free(s);
			return -1;
		}
		struct config *c = l->c;
		c->resolvers = xrealloc(c->resolvers, (c->nresolvers + 1) * sizeof(char *));
		c->resolvers[c->nresolvers++] = s;
	}
	return 0;
}

/* Reads the keys of one list item (a mapping) through cb. */
static int source_key(struct loader *l, void *item, const char *k, struct ynode *key,
                      struct ynode *val)
{
#define SOFF(m) offsetof(struct source, m)
	static const struct field sf[] = {
	    {"sources", "ip", F_STR, SOFF(ip), 0, 0},
	    {"sources", "helo", F_STR, SOFF(helo), 0, 0},
	    {"sources", "pool", F_STR, SOFF(pool), 0, 0},
	    {"sources", "weight", F_INT, SOFF(weight), 1, 1000},
	    {"sources", "warmup_day1", F_INT64, SOFF(warmup_day1), 1, 100000000},
	    {"sources", "warmup_site_day1", F_INT64, SOFF(warmup_site_day1), 1, 100000000},
	    {"sources", "warmup_growth", F_GROWTH, SOFF(warmup_growth), 0, 0},
	    {"sources", "warmup_until", F_INT64, SOFF(warmup_until), 1, 1000000000},
	};
#undef SOFF
	return cfg_set_item_field(l, item, sf, sizeof(sf) / sizeof(sf[0]), "a source", k, key, val);
}

static int source_check(struct loader *l, void *item, struct ynode *where)
{
	struct source *s = item;
	unsigned char buf[16];

	if (!s->ip || !s->helo)
		return cfg_fail_at(l, where, "a source needs both 'ip' and 'helo'", "", NULL);
	if (!s->pool)
		s->pool = xstrdup("default");
	if (!s->weight)
		s->weight = 1;
	if (!s->warmup_growth)
		s->warmup_growth = 2.0;
	if (!s->warmup_until)
		s->warmup_until = 1000000;
	if (s->warmup_site_day1 && !s->warmup_day1)
		return cfg_fail_at(l, where, "warmup_site_day1 needs warmup_day1 for source '%s'",
		                   s->ip, NULL);
	if (inet_pton(AF_INET, s->ip, buf) != 1 && inet_pton(AF_INET6, s->ip, buf) != 1)
		return cfg_fail_at(l, where, "source ip '%s' is not an IP address", s->ip, NULL);
	if (!domain_is_hostname(s->helo))
		return cfg_fail_at(
		    l, where,
		    "source helo '%s' must be a fully qualified host name (the IP's PTR "
		    "name), never a bare IP or a name without a dot",
		    s->helo, NULL);
	const struct config *c = l->c;
	size_t in_pool = 1;
	for (size_t i = 0; i + 1 < c->nsources; i++) {
		if (strcmp(c->sources[i].ip, s->ip) == 0)
			return cfg_fail_at(l, where, "source ip '%s' is listed twice", s->ip, NULL);
		if (strcasecmp(c->sources[i].helo, s->helo) == 0)
			return cfg_fail_at(l, where, "helo '%s' is used by two sources", s->helo,
			                   NULL);
		in_pool += strcmp(c->sources[i].pool, s->pool) == 0;
	}
	if (in_pool > SOURCES_MAX) {
		char max[24];
		snprintf(max, sizeof(max), "%d", SOURCES_MAX);
		return cfg_fail_at(l, where,
		                   "pool '%s' has more sources than the %s a pool may have",
		                   s->pool, max);
	}
	return 0;
}

static int policy_key(struct loader *l, void *item, const char *k, struct ynode *key,
                      struct ynode *val)
{
#define POFF(m) offsetof(struct policy, m)
	static const struct field pf[] = {
	    {"policies", "domain", F_STR, POFF(domain), 0, 0},
	    {"policies", "mx", F_STR, POFF(mx), 0, 0},
	    {"policies", "tls", F_TLS, POFF(tls), 0, 0},
	    {"policies", "max_connections", F_INT, POFF(max_connections), 1, 10000},
	    {"policies", "max_messages_per_connection", F_INT, POFF(max_messages_per_connection), 1,
	     1000000},
	    {"policies", "message_rate", F_RATE, POFF(message_rate), 0, 0},
	    {"policies", "connection_rate", F_RATE, POFF(connection_rate), 0, 0},
	};
#undef POFF
	return cfg_set_item_field(l, item, pf, sizeof(pf) / sizeof(pf[0]), "a policy", k, key, val);
}

static int policy_check(struct loader *l, void *item, struct ynode *where)
{
	struct policy *p = item;

	if (!p->domain == !p->mx)
		return cfg_fail_at(l, where, "a policy matches exactly one of 'domain' or 'mx'", "",
		                   NULL);
	return 0;
}

static int rule_key(struct loader *l, void *item, const char *k, struct ynode *key,
                    struct ynode *val)
{
#define ROFF(m) offsetof(struct reply_rule, m)
	static const struct field rf[] = {
	    {"rules", "name", F_STR, ROFF(name), 0, 0},
	    {"rules", "code", F_INT, ROFF(code), 200, 599},
	    {"rules", "enhanced", F_STR, ROFF(enhanced), 0, 0},
	    {"rules", "text", F_REGEX, ROFF(text), 0, 0},
	    {"rules", "stage", F_STAGE, ROFF(stages), 0, 0},
	    {"rules", "site", F_STR, ROFF(site), 0, 0},
	    {"rules", "suspend", F_RULE_MS, ROFF(suspend_ms), 0, 0},
	    {"rules", "scale", F_FACTOR, ROFF(factor), 0, 0},
	    {"rules", "rate", F_RATE, ROFF(set_rate), 0, 0},
	    {"rules", "connections", F_INT, ROFF(set_connections), 1, 10000},
	    {"rules", "duration", F_RULE_MS, ROFF(duration_ms), 0, 0},
	    /* read by cfg_rule_key_extra (config_rules.c); listed for errors */
	    {"rules", "action", F_STR, 0, 0, 0},
	    {"rules", "block_for", F_STR, 0, 0, 0},
	    {"rules", "trigger", F_STR, 0, 0, 0},
	    {"rules", "scope", F_STR, 0, 0, 0},
	};
#undef ROFF
	int rc = cfg_rule_key_extra(l, item, k, key, val);
	if (rc != 1)
		return rc;
	return cfg_set_item_field(l, item, rf, sizeof(rf) / sizeof(rf[0]), "a rule", k, key, val);
}

static int rule_check(struct loader *l, void *item, struct ynode *where)
{
	struct reply_rule *r = item;

	if (!r->code && !r->enhanced && !r->text.text)
		return cfg_fail_at(l, where, "a rule needs at least one of code, enhanced or text",
		                   "", NULL);
	if (cfg_rule_check_extra(l, r, where) != 0)
		return -1;
	if (r->action == RULE_THROTTLE && !r->suspend_ms && !r->factor && !r->set_rate &&
	    !r->set_connections)
		return cfg_fail_at(l, where,
		                   "a rule needs an action: suspend, scale, rate, connections or "
		                   "'action: block_source'",
		                   "", NULL);
	if (!r->duration_ms)
		r->duration_ms = 15 * 60 * 1000;
	if (!r->name)
		r->name = xstrdup(r->text.text ? r->text.text : r->enhanced ? r->enhanced : "rule");
	return 0;
}

/* A DKIM key: domain, selector, key file, canonicalization. */
static int dkim_key(struct loader *l, void *item, const char *k, struct ynode *key,
                    struct ynode *val)
{
#define DOFF(m) offsetof(struct dkim_conf, m)
	static const struct field df[] = {
	    {"dkim", "domain", F_STR, DOFF(domain), 0, 0},
	    {"dkim", "selector", F_STR, DOFF(selector), 0, 0},
	    {"dkim", "key", F_STR, DOFF(key), 0, 0},
	    {"dkim", "canonicalization", F_STR, DOFF(canonicalization), 0, 0},
	};
#undef DOFF
	return cfg_set_item_field(l, item, df, sizeof(df) / sizeof(df[0]), "a dkim key", k, key,
	                          val);
}

static int dkim_check(struct loader *l, void *item, struct ynode *where)
{
	struct dkim_conf *d = item;
	const char *c = d->canonicalization ? d->canonicalization : "relaxed/relaxed";

	if (!d->domain || !d->selector || !d->key)
		return cfg_fail_at(l, where, "a dkim key needs 'domain', 'selector' and 'key'", "",
		                   NULL);
	if (!domain_is_hostname(d->domain))
		return cfg_fail_at(l, where, "dkim domain '%s' is not a domain name", d->domain,
		                   NULL);
	for (const char *p = d->domain; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			return cfg_fail_at(l, where, "dkim domain '%s': write it in lower case",
			                   d->domain, NULL);
	if (!*d->selector ||
	    strspn(d->selector, "abcdefghijklmnopqrstuvwxyz"
	                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") != strlen(d->selector))
		return cfg_fail_at(l, where, "dkim selector '%s' is not a DNS label", d->selector,
		                   NULL);
	const char *slash = strchr(c, '/');
	const char *hb = slash ? slash + 1 : "simple"; /* RFC 6376: "relaxed" = relaxed/simple */
	size_t hl = slash ? (size_t)(slash - c) : strlen(c);
	int hr = hl == 7 && strncmp(c, "relaxed", 7) == 0, hs = hl == 6 && !strncmp(c, "simple", 6);
	int br = strcmp(hb, "relaxed") == 0, bs = strcmp(hb, "simple") == 0;
	if (!(hr || hs) || !(br || bs))
		return cfg_fail_at(l, where,
		                   "dkim canonicalization '%s': relaxed/relaxed, relaxed/simple, "
		                   "simple/relaxed or simple/simple",
		                   c, NULL);
	d->relaxed_header = hr;
	d->relaxed_body = br;
	return 0;
}

/* A classification rule: (stage, code, enhanced, text) -> category. */
static int classify_key(struct loader *l, void *item, const char *k, struct ynode *key,
                        struct ynode *val)
{
#define COFF(m) offsetof(struct classify_rule, m)
	static const struct field cf[] = {
	    {"classify", "stage", F_STAGE, COFF(stages), 0, 0},
	    {"classify", "code", F_CODE, COFF(code), 0, 0},
	    {"classify", "enhanced", F_ENHANCED, COFF(enhanced), 0, 0},
	    {"classify", "text", F_REGEX, COFF(text), 0, 0},
	    {"classify", "category", F_CATEGORY, COFF(category), 0, 0},
	    {"classify", "permanence", F_PERMANENCE, COFF(permanence), 0, 0},
	};
#undef COFF
	return cfg_set_item_field(l, item, cf, sizeof(cf) / sizeof(cf[0]), "a classify rule", k,
	                          key, val);
}

static int classify_check(struct loader *l, void *item, struct ynode *where)
{
	struct classify_rule *r = item;
	int line = 0, col = 0;

	(void)col;
	if (!r->category)
		return cfg_fail_at(l, where, "a classify rule needs a 'category'", "", NULL);
	cfg_node_pos(where, &line, &col);
	r->origin = l->path;
	r->line = line;
	return 0;
}

int config_classify_parse(const char *name, const char *text, size_t len,
                          struct classify_rule **out, size_t *n, struct err *e)
{
	struct ydoc *doc = cfg_doc_parse(name, text, len, e);
	struct loader l = {name, NULL, NULL, e};
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (!doc)
		return -1;
	struct ynode *root = ydoc_root(doc);
	struct ynode *seq = ynode_get(root, "classify");
	if (!seq)
		err_set(e, "%s:1:1: expected a mapping with a 'classify' list", name);
	else
		rc = cfg_load_items(&l, "classify", root, seq, (void **)out, n,
		                    sizeof(struct classify_rule), classify_key, classify_check);
	ydoc_free(doc);
	if (rc != 0) { /* nothing half-built is handed out */
		config_classify_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void config_classify_free(struct classify_rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].enhanced);
		pattern_free(&r[i].text);
	}
	free(r);
}

void config_rule_free(struct reply_rule *r)
{
	pattern_free(&r->text);
	free(r->name);
	free(r->enhanced);
	free(r->site);
}

/* ---- the document ---- */

static const struct field *find_field(const char *section, const char *key)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field *f = &fields[i];
		if (((!section && !f->section) ||
		     (section && f->section && strcmp(section, f->section) == 0)) &&
		    strcmp(key, f->key) == 0)
			return f;
	}
	return NULL;
}

static int is_section(const char *k)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].section && strcmp(fields[i].section, k) == 0)
			return 1;
	return 0;
}

static int load_section(struct loader *l, const char *section, struct ynode *skey,
                        struct ynode *map)
{
	if (map->kind != YN_MAPPING)
		return cfg_fail_at(l, skey, "'%s' must be a mapping of settings", section, NULL);
	for (size_t i = 0; i + 1 < map->nkids; i += 2) {
		struct ynode *key = map->kids[i], *val = map->kids[i + 1];
		char *k = cfg_scalar_dup(key);
		int rc;
		if (!k)
			return cfg_fail_at(l, key, "setting names must be plain words", "", NULL);
		const struct field *f = find_field(section, k);
		if (f)
			rc = cfg_set_scalar(l, f, key, val);
		else if (strcmp(section, "dns") == 0 && strcmp(k, resolvers_key) == 0)
			rc = load_resolvers(l, key, val);
		else
			rc = cfg_fail_at(l, key, "unknown setting '%s' in '%s'", k, section);
		free(k);
		if (rc)
			return rc;
	}
	return 0;
}

static int load_top(struct loader *l, struct ynode *root)
{
	struct config *c = l->c;

	if (!root || root->kind != YN_MAPPING)
		return err_set(l->e, "%s:1:1: the configuration must be a mapping of sections",
		               l->path);
	for (size_t i = 0; i + 1 < root->nkids; i += 2) {
		struct ynode *key = root->kids[i], *val = root->kids[i + 1];
		char *k = cfg_scalar_dup(key);
		const struct field *f;
		int rc;
		if (!k)
			return cfg_fail_at(l, key, "section names must be plain words", "", NULL);
		if ((f = find_field(NULL, k)))
			rc = cfg_set_scalar(l, f, key, val);
		else if (strcmp(k, lists[0]) == 0)
			rc = cfg_load_items(l, k, key, val, (void **)&c->sources, &c->nsources,
			                    sizeof(struct source), source_key, source_check);
		else if (strcmp(k, lists[1]) == 0)
			rc = cfg_load_items(l, k, key, val, (void **)&c->policies, &c->npolicies,
			                    sizeof(struct policy), policy_key, policy_check);
		else if (strcmp(k, lists[2]) == 0)
			rc = cfg_load_items(l, k, key, val, (void **)&c->rules, &c->nrules,
			                    sizeof(struct reply_rule), rule_key, rule_check);
		else if (strcmp(k, lists[4]) == 0)
			rc = cfg_load_items(l, k, key, val, (void **)&c->dkim, &c->ndkim,
			                    sizeof(struct dkim_conf), dkim_key, dkim_check);
		else if (strcmp(k, lists[3]) == 0)
			rc = cfg_load_items(l, k, key, val, (void **)&c->classify, &c->nclassify,
			                    sizeof(struct classify_rule), classify_key,
			                    classify_check);
		else if (strcmp(k, "tenants") == 0)
			rc = cfg_load_tenants(l, key, val);
		else if (strcmp(k, "webhooks") == 0)
			rc = cfg_load_webhooks(l, key, val);
		else if (strcmp(k, "providers") == 0)
			rc = cfg_load_providers(l, key, val);
		else if (strcmp(k, "pools") == 0)
			rc = cfg_load_pools(l, key, val);
		else if (is_section(k))
			rc = load_section(l, k, key, val);
		else
			rc = cfg_fail_at(
			    l, key,
			    "unknown section '%s' (known: state_dir, dns, sources, sender, "
			    "delivery, retry, timeouts, policies, providers, rules, classify, "
			    "dkim, bounce, "
			    "inbound, http, unsubscribe, suppression, hygiene, check, monitor, "
			    "tenants, submission, api, webhooks, pools)",
			    k, NULL);
		free(k);
		if (rc)
			return rc;
	}
	return 0;
}

/* bounce, inbound and unsubscribe hang together: VERP needs a domain and a
 * secret; unsubscribe links need the secret too. */
static int check_bounce(struct loader *l)
{
	struct config *c = l->c;

	if (c->bounce_domain && !domain_is_hostname(c->bounce_domain))
		return err_set(l->e, "%s: bounce.domain '%s' is not a domain name", l->path,
		               c->bounce_domain);
	if ((c->bounce_domain || c->unsubscribe_url) && (!c->secret || strlen(c->secret) < 16))
		return err_set(l->e,
		               "%s: bounce.secret is required (at least 16 characters) with "
		               "bounce.domain or unsubscribe.url: it signs VERP and unsubscribe "
		               "tokens",
		               l->path);
	if (c->unsubscribe_url && strncmp(c->unsubscribe_url, "https://", 8) != 0 &&
	    strncmp(c->unsubscribe_url, "http://", 7) != 0)
		return err_set(l->e, "%s: unsubscribe.url '%s' must be an http(s) URL", l->path,
		               c->unsubscribe_url);
	if (!c->verp_prefix) {
		const char *at = strrchr(c->envelope_from, '@');
		c->verp_prefix = xstrndup(c->envelope_from, (size_t)(at - c->envelope_from));
	}
	if (strchr(c->verp_prefix, '+') || strchr(c->verp_prefix, '@') || !c->verp_prefix[0])
		return err_set(l->e, "%s: bounce.prefix '%s' must be a plain local part", l->path,
		               c->verp_prefix);
	if (c->feedback_address && !strchr(c->feedback_address, '@'))
		return err_set(l->e, "%s: bounce.feedback_address '%s' is not an address", l->path,
		               c->feedback_address);
	return 0;
}

#define TOKEN_MIN 16   /* characters of a status token */
#define TOKEN_MAX 1024 /* bytes of a token file read */

/* http.status_token or the first line of http.status_token_file: at least
 * TOKEN_MIN characters, printable ASCII without spaces (what a Bearer
 * token may carry). */
static int check_http(struct loader *l)
{
	struct config *c = l->c;

	if (c->http_status_token && c->http_status_token_file)
		return err_set(l->e,
		               "%s: http.status_token and http.status_token_file: give one of them",
		               l->path);
	if (c->http_status_token_file) {
		char buf[TOKEN_MAX + 1];
		FILE *f = fopen(c->http_status_token_file, "r");
		if (!f)
			return err_set(l->e, "%s: http.status_token_file '%s': %s", l->path,
			               c->http_status_token_file, strerror(errno));
		size_t n = fread(buf, 1, TOKEN_MAX, f);
		fclose(f);
		buf[n] = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
		c->http_status_token = xstrdup(buf);
	}
	const char *t = c->http_status_token;
	if (!t)
		return 0;
	size_t n = strlen(t);
	for (size_t i = 0; i < n; i++)
		if (t[i] <= ' ' || t[i] >= 127)
			return err_set(l->e,
			               "%s: http.status_token: printable ASCII without spaces only",
			               l->path);
	if (n < TOKEN_MIN)
		return err_set(l->e, "%s: http.status_token: at least %d characters (it has %zu)",
		               l->path, TOKEN_MIN, n);
	return 0;
}

static int check_whole(struct loader *l)
{
	struct config *c = l->c;
	struct address a;
	struct err ae;

	if (c->nsources == 0)
		return err_set(l->e, "%s: 'sources' is required: at least one (ip, helo)", l->path);
	if (!c->envelope_from)
		return err_set(l->e, "%s: 'sender.envelope_from' is required", l->path);
	if (address_parse(c->envelope_from, strlen(c->envelope_from), &a, &ae) != 0)
		return err_set(l->e, "%s: sender.envelope_from '%s': %s", l->path, c->envelope_from,
		               ae.msg);
	if (!c->from_domain)
		c->from_domain = xstrdup(a.domain);
	if (!c->pool)
		c->pool = xstrdup(c->sources[0].pool);
	const struct source *pool[SOURCES_MAX];
	size_t n = config_pool_sources(c, c->pool, pool, SOURCES_MAX);
	if (n == 0) {
		address_free(&a);
		return err_set(l->e, "%s: sender.pool '%s' names no source's pool", l->path,
		               c->pool);
	}
	for (size_t i = 1; i < n; i++) {
		unsigned char buf[16];
		if ((inet_pton(AF_INET, pool[i]->ip, buf) == 1) !=
		    (inet_pton(AF_INET, pool[0]->ip, buf) == 1)) {
			address_free(&a);
			return err_set(l->e, "%s: pool '%s' mixes IPv4 and IPv6 sources", l->path,
			               c->pool);
		}
	}
	address_free(&a);
	if (!domain_is_hostname(c->from_domain))
		return err_set(l->e, "%s: sender.from_domain '%s' is not a domain name", l->path,
		               c->from_domain);
	if (check_bounce(l) != 0 || check_http(l) != 0 || cfg_check_tenants(l) != 0 ||
	    cfg_check_webhooks(l) != 0)
		return -1;
	if (c->max_backoff_s < c->min_backoff_s)
		return err_set(l->e, "%s: retry.max_backoff is shorter than retry.min_backoff",
		               l->path);
	return 0;
}

int config_load(const char *path, struct config *c, struct err *e)
{
	struct loader l = {path, c, c, e};

	config_defaults(c);
	c->path = xstrdup(path);
	struct ydoc *doc = cfg_doc_load(path, e);
	if (!doc)
		return -1;
	int rc = load_top(&l, ydoc_root(doc));
	if (rc == 0)
		rc = check_whole(&l);
	ydoc_free(doc);
	return rc;
}

void config_free(struct config *c)
{
	free(c->path);
	free(c->state_dir);
	for (size_t i = 0; i < c->nresolvers; i++)
		free(c->resolvers[i]);
	free(c->resolvers);
	for (size_t i = 0; i < c->nsources; i++) {
		free(c->sources[i].ip);
		free(c->sources[i].helo);
		free(c->sources[i].pool);
	}
	free(c->sources);
	for (size_t i = 0; i < c->npolicies; i++) {
		free(c->policies[i].domain);
		free(c->policies[i].mx);
	}
	free(c->policies);
	cfg_free_providers(c);
	cfg_free_pools(c);
	for (size_t i = 0; i < c->nrules; i++)
		config_rule_free(&c->rules[i]);
	free(c->rules);
	config_classify_free(c->classify, c->nclassify);
	for (size_t i = 0; i < c->ndkim; i++) {
		free(c->dkim[i].domain);
		free(c->dkim[i].selector);
		free(c->dkim[i].key);
		free(c->dkim[i].canonicalization);
	}
	free(c->dkim);
	free(c->bounce_domain);
	free(c->verp_prefix);
	free(c->secret);
	free(c->feedback_address);
	free(c->inbound_listen);
	free(c->http_listen);
	free(c->http_status_token);
	free(c->http_status_token_file);
	free(c->inbound_hostname);
	free(c->unsubscribe_url);
	free(c->check_dnsbl);
	free(c->check_uribl);
	free(c->envelope_from);
	free(c->from_domain);
	free(c->pool);
	cfg_free_tenants(c);
	cfg_free_webhooks(c);
	free(c->submission_listen);
	free(c->submission_listen_tls);
	free(c->submission_cert);
	free(c->submission_key);
	free(c->api_listen);
	memset(c, 0, sizeof(*c));
}

size_t config_pool_sources(const struct config *c, const char *pool, const struct source **out,
                           size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nsources && n < max; i++)
		if (strcmp(c->sources[i].pool, pool) == 0)
			out[n++] = &c->sources[i];
	/* heaviest first; insertion sort keeps config order among equals */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && out[j]->weight > out[j - 1]->weight; j--) {
			const struct source *t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

size_t config_sources_in_use(const struct config *c, const struct source **out, size_t max)
{
	const struct source *one[SOURCES_MAX];
	size_t n = config_pool_sources(c, c->pool, out, max);

	for (size_t i = 0; i < c->ntenants; i++) {
		const char *pool = c->tenants[i].pool;
		int seen = !pool || strcmp(pool, c->pool) == 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = c->tenants[j].pool && strcmp(c->tenants[j].pool, pool) == 0;
		if (seen)
			continue;
		size_t k = config_pool_sources(c, pool, one, SOURCES_MAX);
		for (size_t m = 0; m < k && n < max; m++)
			out[n++] = one[m];
	}
	return n;
}

struct policy config_policy_for(const struct config *c, const char *domain, const char *mx)
{
	struct policy out = c->defaults;

	out.domain = out.mx = NULL;
	/* The first matching policy wins, field by field. */
	int tls_set = 0, conn_set = 0, msgs_set = 0, rate_set = 0, crate_set = 0;
	for (size_t i = 0; i < c->npolicies; i++) {
		const struct policy *p = &c->policies[i];
		int hit = (p->domain && domain && fnmatch(p->domain, domain, FNM_CASEFOLD) == 0) ||
		          (p->mx && mx && fnmatch(p->mx, mx, FNM_CASEFOLD) == 0);
		if (!hit)
			continue;
		if (!tls_set && p->tls != TLS_UNSET)
			out.tls = p->tls, tls_set = 1;
		if (!conn_set && p->max_connections)
			out.max_connections = p->max_connections, conn_set = 1;
		if (!msgs_set && p->max_messages_per_connection)
			out.max_messages_per_connection = p->max_messages_per_connection,
			msgs_set = 1;
		if (!rate_set && p->message_rate > 0)
			out.message_rate = p->message_rate, rate_set = 1;
		if (!crate_set && p->connection_rate > 0)
			out.connection_rate = p->connection_rate, crate_set = 1;
	}
	/* then the large providers' own limits, for what the config left */
	const struct provider *pr = c->provider_policies ? provider_for_mx(mx) : NULL;
	if (pr && !conn_set)
		out.max_connections = pr->max_connections;
	if (pr && !msgs_set)
		out.max_messages_per_connection = pr->max_messages_per_connection;
	if (pr && !rate_set)
		out.message_rate = pr->message_rate;
	return out;
}
