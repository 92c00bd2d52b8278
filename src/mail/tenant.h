/*
 * tenant: who may send through sluice, and within what (the `tenants:`
 * list of the configuration, docs/configuration.md#tenants). A tenant has
 * credentials (SMTP users with crypt(3) password hashes, API keys stored as
 * SHA-256 hashes), the sender domains it may use, its pool of sources, its
 * limits and its own danger-sign thresholds. Every campaign, submitted
 * message and suppression belongs to one tenant.
 *
 * A configuration without `tenants:` has one implicit tenant, "default",
 * with no credentials (nothing can authenticate as it), the sender's
 * domain and pool: every command behaves as before tenants existed.
 *
 * The lookups here are pure; verifying a password (crypt(3), slow on
 * purpose) is the caller's, off the event loop.
 */
#ifndef SLUICE_MAIL_TENANT_H
#define SLUICE_MAIL_TENANT_H

#include <stddef.h>
#include <stdint.h>

#define TENANT_DEFAULT        "default" /* the implicit tenant's name */
#define TENANT_NAME_MAX       64
#define TENANT_RCPTS_DEFAULT  100
#define TENANT_RCPTS_MAX      10000     /* the most max_recipients may be */
#define TENANT_API_KEY_PREFIX "sha256:" /* api_keys entries: sha256:<64 hex> */

/* The danger-sign monitor (engine/monitor.c): when a campaign is warned
 * about, and when it pauses itself. */
struct monitor_policy {
	int pause_after_sender_rejections;      /* permanent MAIL FROM/DATA rejections; 0: never */
	double rcpt_failure_warn;               /* fraction of RCPT TO refused; 0: off */
	double rcpt_failure_pause;              /* 0: never pause for it */
	int min_messages;                       /* rates are judged after this many */
	double rcpt_spike_factor;               /* this times the usual RCPT failure rate; 0: off */
	int rcpt_spike_pause;                   /* pause on such a spike (else warn) */
	double deferral_warn;                   /* deferred attempts per large provider; 0: off */
	double complaint_warn, complaint_pause; /* complaints per delivered message */
};

/* An SMTP submission user: the name given to AUTH and its crypt(3) hash
 * ("$y$...", "$6$...", "$2b$..."). */
struct tenant_user {
	char *name;
	char *hash;
};

/* Whose suppressions stop a tenant's mail: its own, or everyone's. */
enum tenant_scope { TSCOPE_TENANT = 0, TSCOPE_GLOBAL };

struct tenant {
	char *name;
	struct tenant_user *users;
	size_t nusers;
	unsigned char (*api_keys)[32]; /* SHA-256 of each key */
	size_t napi_keys;
	char **domains; /* sender domains (lowercase); a subdomain is not included */
	size_t ndomains;
	char *pool; /* the sources it sends from (default: sender.pool) */
	int64_t per_minute, per_hour, per_day; /* messages accepted; 0: no limit */
	int max_recipients;                    /* per submitted message */
	int scope;                             /* enum tenant_scope */
	int verp;             /* submitted mail gets a VERP return path (bounces come to us) */
	int list_unsubscribe; /* submitted mail gets List-Unsubscribe */
	int dsn;              /* failed recipients of submitted mail get a DSN to the sender */
	int paused;           /* tenant.paused: nothing of it is delivered */
	/* its danger-sign thresholds: the monitor section's, with what its own
	 * monitor: mapping sets */
	struct monitor_policy monitor;
	unsigned monitor_set; /* bit per key its mapping gave (config_tenant.c) */
	int implicit;         /* the "default" tenant of a config without tenants */
};

struct config;

/* The tenant named name, or NULL. */
const struct tenant *tenant_by_name(const struct config *c, const char *name);
/* The tenant whose SMTP user is user (names compare case-sensitively),
 * and that user's hash in *hash; NULL if none. */
const struct tenant *tenant_by_user(const struct config *c, const char *user, const char **hash);
/* The tenant one of whose API keys is key (compared by SHA-256, in constant
 * time per key), or NULL. */
const struct tenant *tenant_by_api_key(const struct config *c, const char *key, size_t len);
/* 1 if t may send as domain (case-insensitive, exact), else 0. */
int tenant_owns_domain(const struct tenant *t, const char *domain);
/* The suppression scope of t's mail (store/suppress.h): its first sender
 * domain when its suppressions are its own (scope tenant), "" when they
 * are everyone's; for the implicit tenant (t NULL or implicit) what
 * suppression.scope says. A check always looks at "" and this scope; an
 * outcome or a report suppresses in this scope. */
const char *tenant_scope(const struct config *c, const struct tenant *t);
/* The same for the tenant named name (unknown: the implicit tenant's). */
const char *tenant_scope_by_name(const struct config *c, const char *name);

/* The danger-sign thresholds of the tenant named name (unknown or NULL:
 * the monitor section's). */
const struct monitor_policy *tenant_monitor(const struct config *c, const char *name);

/* The "sha256:<hex>" line for an API key (out: at least 72 bytes). */
void tenant_hash_api_key(const char *key, size_t len, char *out, size_t n);

#endif
