/*
 * config: the one YAML configuration file (libyaml, through yaml_doc), checked whole at load.
 * Every error names file:line:column. Defaults are set by config_defaults();
 * docs/configuration.md documents each setting (keep the two in step).
 */
#ifndef SLUICE_MAIL_CONFIG_H
#define SLUICE_MAIL_CONFIG_H

#include <stdint.h>
#include <stddef.h>

#include "mail/category.h"
#include "mail/providers.h"
#include "mail/tenant.h"
#include "mail/webhook_conf.h"
#include "util/err.h"
#include "util/pattern.h"

enum tls_policy { TLS_UNSET = 0, TLS_OFF, TLS_OPPORTUNISTIC, TLS_REQUIRED };

/* The most sources one pool may have: config_load refuses more (the engine
 * keeps its per-source counts in arrays of this size). */
#define SOURCES_MAX 64

/* An egress identity: the source IP outbound connections bind, and the one
 * HELO name used from it (a FQDN, the IP's PTR name). */
struct source {
	char *ip;
	char *helo;
	char *pool; /* the pool it belongs to ("default" when not named) */
	int weight; /* its share of the pool's sites (default 1) */
	/* IP warm-up, per day since the source's first use (0: no warm-up):
	 * day n allows day1 * growth^(n-1) messages in all and site_day1 *
	 * growth^(n-1) per site; caps end once the daily cap passes until. */
	int64_t warmup_day1, warmup_site_day1, warmup_until;
	double warmup_growth;
};

/* Limits and TLS for destinations. A policy matches a recipient domain or an
 * MX host name (shell glob, case-insensitive); unset fields (0, TLS_UNSET)
 * fall back to the delivery defaults. */
struct policy {
	char *domain;
	char *mx;
	int tls;
	int max_connections;
	int max_messages_per_connection;
	double message_rate;    /* messages per second; 0: unlimited */
	double connection_rate; /* new connections per second; 0: unlimited */
};

/* A `providers` entry: limits across every site whose first MX host
 * matches one of mx (shell globs, case-insensitive), per source. An entry
 * named like a built-in provider (mail/providers.h) changes that one's
 * limits (its own globs, if any, add to the built-in's); unset limits are
 * the built-in's, or none. */
struct provider_conf {
	char *name;
	char **mx;
	size_t nmx;
	struct provider_limits total;
};

/* A reply rule (shaping is data): when a reply matches every matcher that
 * is set, the site is suspended for suspend_ms and/or its message rate and
 * connection cap are scaled by factor and/or set to at most set_rate and
 * set_connections; without new matches for duration_ms the factor and
 * those ceilings double back towards the policy, one step per duration. */
struct reply_rule {
	char *name;
	int code;            /* 0: any */
	char *enhanced;      /* prefix of the enhanced code ("4.7.5"); NULL: any */
	struct pattern text; /* unset: any */
	unsigned stages;     /* stage_bit() of the stage named (mail/stage.h); 0: any */
	char *site;          /* glob on an MX host name; NULL: any */
	int64_t suspend_ms;
	double factor;       /* 0: no scaling */
	double set_rate;     /* messages per second at most; 0: not set */
	int set_connections; /* connections at most; 0: not set */
	int64_t duration_ms;
	/* source failover (shape/srcblock.h): RULE_BLOCK_SOURCE blocks the
	 * (site, source) pair for block_ms and moves the site's mail to the
	 * next healthy source of its pool (config_rules.c) */
	int action;        /* RULE_THROTTLE (the fields above) or RULE_BLOCK_SOURCE */
	int64_t block_ms;  /* how long a block lasts (default RULE_BLOCK_DEFAULT_MS) */
	int trigger_count; /* fires at the count-th match within trigger_within_ms (1: each) */
	int64_t trigger_within_ms;
	int scope; /* enum rule_scope: what the action targets */
};

enum rule_action { RULE_THROTTLE = 0, RULE_BLOCK_SOURCE };
enum rule_scope { RSCOPE_SITE = 0, RSCOPE_PROVIDER, RSCOPE_SOURCE, RSCOPE_CAMPAIGN, RSCOPE_TENANT };
#define RULE_BLOCK_DEFAULT_MS  (6LL * 3600 * 1000)
#define FAILOVER_WIDTH_DEFAULT 2

/* A `pools` entry: settings of the pool named (its sources name it). */
struct pool_conf {
	char *name;
	int failover_width; /* sources of the pool one site may use in all */
};

#define RULE_SUSPEND_MAX_MS (24LL * 3600 * 1000) /* suspensions are bounded */
#define RULE_FACTOR_MIN     0.05

/* A classification rule (mail/classify.h): the first rule whose matchers
 * all hold gives the reply's category and permanence. */
enum permanence { PERM_UNSET = 0, PERM_PERMANENT, PERM_TRANSIENT };

struct classify_rule {
	unsigned stages;        /* stage_bit() of the stage named (mail/stage.h); 0: any */
	int code;               /* 0: any; 4 or 5: that class; else that code */
	char *enhanced;         /* "5.1.1", "x.1.1", "5.7" (prefix by parts); NULL: any */
	struct pattern text;    /* unset: any */
	enum category category; /* a reply category; CAT_NONE: not given */
	int permanence;         /* PERM_UNSET: from the code's class */
	const char *origin;     /* file it came from, for the log */
	int line;
};

enum suppression_scope { SCOPE_GLOBAL = 0, SCOPE_SENDER_DOMAIN };

/* A DKIM key (msg/dkim.h): messages whose From domain is `domain` are
 * signed with it. */
struct dkim_conf {
	char *domain, *selector, *key;
	char *canonicalization; /* "relaxed/relaxed" (default), "simple/simple", ... */
	int relaxed_header, relaxed_body;
};

/* When list hygiene suppresses a recipient (store/suppress.h). */
struct suppression_policy {
	int scope;
	int rcpt_strikes;    /* ambiguous 5xx at RCPT, on different days */
	int soft_bounces;    /* mailbox full / expired, with no success between... */
	int64_t soft_span_s; /* ...spread over at least this long */
};

struct timeouts {
	int connect_ms, banner_ms, ehlo_ms, starttls_ms, mail_ms, rcpt_ms;
	int data_ms, data_block_ms, dot_ms, rset_ms, quit_ms;
};

struct config {
	char *path;
	char *state_dir; /* NULL: the CLI's default */

	char **resolvers; /* "ip" or "ip:port"; NULL/0: /etc/resolv.conf */
	size_t nresolvers;
	int dns_timeout_ms;
	int dns_tries;

	struct source *sources;
	size_t nsources;

	char *envelope_from; /* bounces@domain: the envelope sender */
	char *pool;          /* the sources campaigns are sent from (default: the first source's) */
	int64_t spread_threshold; /* a campaign smaller than this uses one source of its pool */
	char *from_domain;        /* the sender's domain: Message-ID right side */

	int port;                /* 25; other values are for test worlds */
	int max_connections;     /* all destinations together */
	int initial_connections; /* per site at first; one more per delivery, up to its cap */
	int idle_timeout_ms;     /* how long an idle connection waits for work */
	int signing_threads;     /* DKIM off the event loop; 0: on it; -1: one per CPU */
	int provider_policies;   /* the large providers' built-in limits (mail/providers.h) */
	struct policy defaults;  /* tls, max_connections, max_messages_per_connection per site */
	struct policy *policies;
	size_t npolicies;
	struct provider_conf *providers; /* provider-wide limits (config_provider_for) */
	size_t nproviders;

	struct reply_rule *rules; /* checked before the built-in ones */
	size_t nrules;

	int64_t min_backoff_s, max_backoff_s, max_lifetime_s;
	int64_t greylist_delay_s; /* a greylisted recipient's retry, instead of the backoff */
	struct timeouts timeouts;

	struct classify_rule *classify; /* checked before the shipped table */
	size_t nclassify;

	struct dkim_conf *dkim;
	size_t ndkim;

	char *bounce_domain;    /* VERP return paths under it; NULL: envelope_from as is */
	char *verp_prefix;      /* local part before '+' (default: envelope_from's) */
	char *secret;           /* HMAC key of VERP and unsubscribe tokens */
	char *feedback_address; /* where feedback loops send ARF reports */
	char *inbound_listen;   /* serve's SMTP listener, "ip:port" */
	char *http_listen;      /* serve's HTTP listener (unsubscribe), "ip:port" */
	char *inbound_hostname; /* serve's greeting name (default: the first source's helo) */
	int64_t inbound_max_size;
	int inbound_max_connections, inbound_max_per_ip;
	double inbound_rate_per_ip;              /* messages per second from one client IP */
	int inbound_idle_ms, inbound_session_ms; /* per command line; a whole session */
	int64_t inbound_min_data_rate;           /* bytes per second in DATA */
	int64_t inbound_memory_limit;            /* message bytes held by all sessions */
	int http_max_connections, http_max_per_ip;
	int http_timeout_ms;     /* a whole request, from its connection to its last byte */
	char *http_status_token; /* Bearer token of GET /status (and /metrics); NULL: both off */
	char *http_status_token_file; /* the file it was read from (http.status_token_file) */
	int http_metrics_public;      /* 1: GET /metrics answers without the token */
	char *unsubscribe_url;        /* one-click base URL; the token is appended */
	int unsubscribe_mailto;
	struct suppression_policy suppression;
	int skip_typos, skip_role_accounts;
	int case_sensitive_local; /* 1: USER@ and user@ are two recipients */
	char *check_dnsbl;        /* blocklist zones for `sluice check`, comma-separated */
	char *check_uribl;        /* URI (domain) blocklist zones, for --template */
	struct monitor_policy monitor;

	/* tenants (mail/tenant.h); a config without them has one, implicit */
	struct tenant *tenants;
	size_t ntenants;
	/* where events go (mail/webhook_conf.h) */
	struct webhook_conf *webhooks;
	size_t nwebhooks;

	/* SMTP submission (serve): STARTTLS on listen, implicit TLS on listen_tls */
	char *submission_listen, *submission_listen_tls;
	char *submission_cert, *submission_key; /* PEM files */
	int submission_auth_without_tls;        /* allowed only on loopback listeners */
	int64_t submission_max_size;
	int submission_max_connections, submission_max_per_ip;
	int submission_auth_max_failures;
	int submission_auth_lockout_ms;
	int submission_idle_ms;

	/* the HTTP API (serve): its own listener */
	char *api_listen;
	int64_t api_max_body;
	int api_max_connections, api_max_per_ip;
	int api_timeout_ms;
	int64_t api_idempotency_s; /* how long an Idempotency-Key is remembered */

	/* per-pool settings (config_rules.c); a pool not listed has the defaults */
	struct pool_conf *pools;
	size_t npools;
	/* serve re-checks its sources' identity (serve/watch.h) */
	int watch_interval_ms;    /* DNSBL, rDNS and SPF every this; 0: off */
	int watch_after_block_ms; /* at most this often after a blocklist-style reply */

	/* health-gated warm-up (shape/warmup.h): a day's growth needs the day
	 * before under these shares of attempts (fractions) */
	double warmup_max_deferrals, warmup_max_blocks, warmup_max_complaints;
};

/* How many sources of pool one site may use in all (pools[].failover_width,
 * default FAILOVER_WIDTH_DEFAULT). */
int config_failover_width(const struct config *c, const char *pool);
/* The name of a rule scope ("site", ...). */
const char *config_rule_scope_name(int scope);

/* The sources of pool (pointers into c->sources), heaviest first, ties in
 * config order; returns how many (at most max; a loaded config has at most
 * SOURCES_MAX in a pool). */
size_t config_pool_sources(const struct config *c, const char *pool, const struct source **out,
                           size_t max);

/* Every source a pool in use draws on (sender.pool's first, heaviest
 * first, then each tenant's pool's); at most max (config_load refuses a
 * config whose pools in use have more than SOURCES_MAX sources in all). */
size_t config_sources_in_use(const struct config *c, const struct source **out, size_t max);

/* Loads and checks path; 0, or -1 with e naming file:line:column. */
int config_load(const char *path, struct config *c, struct err *e);
void config_defaults(struct config *c);
void config_free(struct config *c);

/* The provider-wide limits for a site whose first MX host is mx: 1 with
 * *name (borrowed from c or the built-in table) and *out filled, 0 when
 * none apply (no provider, or only built-ins and provider_policies off). */
int config_provider_for(const struct config *c, const char *mx, const char **name,
                        struct provider_limits *out);

/* The policy for a recipient domain and its first MX host: fields resolved
 * against the defaults (never unset). */
struct policy config_policy_for(const struct config *c, const char *domain, const char *mx);

/* Parses "600/min", "20000/h", "10/s" (also /sec, /second, /minute, /hour,
 * /day) into a rate per second; -1 if malformed. */
double config_parse_rate(const char *s);
void config_rule_free(struct reply_rule *r);

/* Parses a classification table (YAML text with a top-level 'classify'
 * list; name is used in errors and as the rules' origin, and must outlive
 * them); 0, or -1 with e naming name:line:column. */
int config_classify_parse(const char *name, const char *text, size_t len,
                          struct classify_rule **out, size_t *n, struct err *e);
void config_classify_free(struct classify_rule *r, size_t n);

/* Parses "250ms", "30s", "5m", "2h", "5d", "1h30m" or a bare number of
 * seconds into milliseconds; -1 if malformed. */
int64_t config_parse_duration_ms(const char *s, size_t n);

#endif
