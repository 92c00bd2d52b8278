/*
 * config_tenant: the `tenants:` list of the configuration (mail/tenant.h):
 * each tenant's scalar settings through a field table like the others,
 * its lists (smtp_users, api_keys, sender_domains) by hand; then the
 * checks across tenants (names, users and domains unique; pools exist),
 * or the implicit tenant when there is no list.
 */
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/address.h"
#include "mail/config.h"
#include "mail/config_yaml.h"
#include "util/xmalloc.h"

/* A tenant being read, with the flags of its settings given. */
#define TOFF(m) offsetof(struct tenant, m)

static const struct field tenant_fields[] = {
    {"tenants", "name", F_STR, TOFF(name), 0, 0},
    {"tenants", "pool", F_STR, TOFF(pool), 0, 0},
    {"tenants", "per_minute", F_INT64, TOFF(per_minute), 0, 1000000000},
    {"tenants", "per_hour", F_INT64, TOFF(per_hour), 0, 1000000000},
    {"tenants", "per_day", F_INT64, TOFF(per_day), 0, 1000000000},
    {"tenants", "max_recipients", F_INT, TOFF(max_recipients), 1, TENANT_RCPTS_MAX},
    {"tenants", "verp", F_BOOL, TOFF(verp), 0, 0},
    {"tenants", "list_unsubscribe", F_BOOL, TOFF(list_unsubscribe), 0, 0},
    {"tenants", "paused", F_BOOL, TOFF(paused), 0, 0},
};

/* A tenant's monitor: mapping, relative to struct monitor_policy; keys it
 * does not set are copied from the monitor section once the file is read. */
#define MOFF(m) offsetof(struct monitor_policy, m)
static const struct field monitor_fields[] = {
    {"monitor", "pause_after_sender_rejections", F_INT, MOFF(pause_after_sender_rejections), 0,
     1000000},
    {"monitor", "rcpt_failure_warn", F_PERCENT, MOFF(rcpt_failure_warn), 0, 0},
    {"monitor", "rcpt_failure_pause", F_PERCENT, MOFF(rcpt_failure_pause), 0, 0},
    {"monitor", "min_messages", F_INT, MOFF(min_messages), 1, 100000000},
    {"monitor", "rcpt_spike_factor", F_TIMES, MOFF(rcpt_spike_factor), 0, 0},
    {"monitor", "rcpt_spike_pause", F_BOOL, MOFF(rcpt_spike_pause), 0, 0},
    {"monitor", "deferral_warn", F_PERCENT, MOFF(deferral_warn), 0, 0},
    {"monitor", "complaint_warn", F_PERCENT, MOFF(complaint_warn), 0, 0},
    {"monitor", "complaint_pause", F_PERCENT, MOFF(complaint_pause), 0, 0},
};
#define NMONITOR (sizeof(monitor_fields) / sizeof(monitor_fields[0]))

static int load_monitor(struct loader *l, struct tenant *t, struct ynode *key, struct ynode *map)
{
	if (map->kind != YN_MAPPING)
		return cfg_fail_at(l, key, "'%s' must be a mapping of monitor settings", "monitor",
		                   NULL);
	for (size_t i = 0; i + 1 < map->nkids; i += 2) {
		char *k = cfg_scalar_dup(map->kids[i]);
		size_t f = 0;
		while (k && f < NMONITOR && strcmp(monitor_fields[f].key, k) != 0)
			f++;
		int rc = cfg_set_item_field(l, &t->monitor, monitor_fields, NMONITOR,
		                            "a tenant's monitor", k ? k : "", map->kids[i],
		                            map->kids[i + 1]);
		free(k);
		if (rc)
			return rc;
		t->monitor_set |= 1u << f;
	}
	return 0;
}

/* The monitor section's value for each key the tenant did not set. */
static void inherit_monitor(struct tenant *t, const struct monitor_policy *global)
{
	for (size_t f = 0; f < NMONITOR; f++) {
		if (t->monitor_set & (1u << f))
			continue;
		size_t off = monitor_fields[f].off;
		size_t n = monitor_fields[f].type == F_INT || monitor_fields[f].type == F_BOOL
		               ? sizeof(int)
		               : sizeof(double);
		memcpy((char *)&t->monitor + off, (const char *)global + off, n);
	}
}

const struct monitor_policy *tenant_monitor(const struct config *c, const char *name)
{
	const struct tenant *t = name ? tenant_by_name(c, name) : NULL;
	return t ? &t->monitor : &c->monitor;
}

/* "sha256:<64 hex>" into 32 bytes; 0, or -1 if malformed. */
static int parse_key_hash(const char *s, unsigned char out[32])
{
	size_t p = strlen(TENANT_API_KEY_PREFIX);

	if (strncmp(s, TENANT_API_KEY_PREFIX, p) != 0 || strlen(s + p) != 64)
		return -1;
	for (size_t i = 0; i < 32; i++) {
		int hi = OPENSSL_hexchar2int((unsigned char)s[p + 2 * i]);
		int lo = OPENSSL_hexchar2int((unsigned char)s[p + 2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static int list_of_scalars(struct loader *l, struct ynode *key, struct ynode *seq, const char *what)
{
	if (seq->kind != YN_SEQUENCE)
		return cfg_fail_at(l, key, "'%s' must be a list", what, NULL);
	for (size_t i = 0; i < seq->nkids; i++)
		if (seq->kids[i]->kind != YN_SCALAR)
			return cfg_fail_at(l, seq->kids[i], "'%s' entries must be plain values",
			                   what, NULL);
	return 0;
}

static int load_users(struct loader *l, struct tenant *t, struct ynode *key, struct ynode *seq)
{
	if (seq->kind != YN_SEQUENCE)
		return cfg_fail_at(l, key, "'%s' must be a list of {user, password_hash}",
		                   "smtp_users", NULL);
	for (size_t i = 0; i < seq->nkids; i++) {
		struct ynode *m = seq->kids[i];
		struct ynode *u = m->kind == YN_MAPPING ? ynode_get(m, "user") : NULL;
		struct ynode *h = m->kind == YN_MAPPING ? ynode_get(m, "password_hash") : NULL;
		if (!u || !h || u->kind != YN_SCALAR || h->kind != YN_SCALAR || m->nkids != 4)
			return cfg_fail_at(l, m,
			                   "an smtp user is exactly {user: NAME, password_hash: "
			                   "HASH}%s",
			                   "", NULL);
		/* crypt(3) hashes start with $id$ (yescrypt $y$, sha512 $6$, bcrypt $2b$) */
		if (h->text[0] != '$' || !strchr(h->text + 1, '$') || h->len < 20)
			return cfg_fail_at(
			    l, h,
			    "password_hash for '%s' is not a crypt(3) hash (make one "
			    "with: mkpasswd -m yescrypt)",
			    u->text, NULL);
		if (u->len == 0 || u->len > 255)
			return cfg_fail_at(l, u, "an smtp user name is 1 to 255 characters%s", "",
			                   NULL);
		t->users = xrealloc(t->users, (t->nusers + 1) * sizeof(*t->users));
		t->users[t->nusers].name = xstrdup(u->text);
		t->users[t->nusers].hash = xstrdup(h->text);
		t->nusers++;
	}
	return 0;
}

static int tenant_key(struct loader *l, void *item, const char *k, struct ynode *key,
                      struct ynode *val)
{
	struct tenant *t = item;

	if (strcmp(k, "smtp_users") == 0)
		return load_users(l, t, key, val);
	if (strcmp(k, "monitor") == 0)
		return load_monitor(l, t, key, val);
	if (strcmp(k, "api_keys") == 0) {
		if (list_of_scalars(l, key, val, k))
			return -1;
		for (size_t i = 0; i < val->nkids; i++) {
			unsigned char h[32];
			if (parse_key_hash(val->kids[i]->text, h))
				return cfg_fail_at(
				    l, val->kids[i],
				    "api key '%s' must be stored as its hash, "
				    "sha256:<64 hex digits> (sluice tenant key prints "
				    "one)",
				    val->kids[i]->text, NULL);
			t->api_keys = xrealloc(t->api_keys, (t->napi_keys + 1) * 32);
			memcpy(t->api_keys[t->napi_keys++], h, 32);
		}
		return 0;
	}
	if (strcmp(k, "sender_domains") == 0) {
		if (list_of_scalars(l, key, val, k))
			return -1;
		for (size_t i = 0; i < val->nkids; i++) {
			if (!domain_is_hostname(val->kids[i]->text))
				return cfg_fail_at(l, val->kids[i],
				                   "sender domain '%s' is not a domain name",
				                   val->kids[i]->text, NULL);
			char *d = xstrdup(val->kids[i]->text);
			for (char *p = d; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
			t->domains = xrealloc(t->domains, (t->ndomains + 1) * sizeof(char *));
			t->domains[t->ndomains++] = d;
		}
		return 0;
	}
	if (strcmp(k, "dsn") == 0) { /* on unless said otherwise (RFC 5321 6.1) */
		char *s = cfg_scalar_dup(val);
		int yes =
		    s && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "on") == 0);
		int no =
		    s && (strcmp(s, "false") == 0 || strcmp(s, "no") == 0 || strcmp(s, "off") == 0);
		free(s);
		if (!yes && !no)
			return cfg_fail_at(l, val, "'dsn' is true or false%s", "", NULL);
		t->dsn = yes ? 2 : 1;
		return 0;
	}
	if (strcmp(k, "suppression") == 0) {
		char *s = cfg_scalar_dup(val);
		int ok = s && (strcmp(s, "tenant") == 0 || strcmp(s, "global") == 0);
		if (ok)
			t->scope = strcmp(s, "global") == 0 ? TSCOPE_GLOBAL : TSCOPE_TENANT;
		free(s);
		return ok ? 0
		          : cfg_fail_at(l, val, "'suppression' is 'tenant' or 'global'%s", "",
		                        NULL);
	}
	return cfg_set_item_field(l, item, tenant_fields,
	                          sizeof(tenant_fields) / sizeof(tenant_fields[0]), "a tenant", k,
	                          key, val);
}

static int tenant_check(struct loader *l, void *item, struct ynode *where)
{
	struct tenant *t = item;

	if (!t->name)
		return cfg_fail_at(l, where, "a tenant needs a 'name'%s", "", NULL);
	if (strlen(t->name) > TENANT_NAME_MAX ||
	    strspn(t->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
	        strlen(t->name))
		return cfg_fail_at(l, where,
		                   "tenant name '%s': letters, digits, '.', '_' and '-' only (at "
		                   "most 64)",
		                   t->name, NULL);
	if (t->ndomains == 0)
		return cfg_fail_at(l, where, "tenant '%s' needs 'sender_domains'", t->name, NULL);
	if (!t->max_recipients)
		t->max_recipients = TENANT_RCPTS_DEFAULT;
	t->dsn = t->dsn != 1; /* unset (0) or true (2): on */
	return 0;
}

int cfg_load_tenants(struct loader *l, struct ynode *key, struct ynode *seq)
{
	struct config *c = l->c;

	return cfg_load_items(l, "tenants", key, seq, (void **)&c->tenants, &c->ntenants,
	                      sizeof(struct tenant), tenant_key, tenant_check);
}

/* The one tenant of a config without a list. */
static void make_implicit(struct config *c)
{
	struct tenant *t = xcalloc(1, sizeof(*t));

	t->name = xstrdup(TENANT_DEFAULT);
	t->domains = xcalloc(1, sizeof(char *));
	t->domains[0] = xstrdup(c->from_domain);
	t->ndomains = 1;
	t->max_recipients = TENANT_RCPTS_DEFAULT;
	t->scope = TSCOPE_GLOBAL;
	t->verp = 1;
	t->list_unsubscribe = 1;
	t->dsn = 1;
	t->implicit = 1;
	t->monitor = c->monitor;
	c->tenants = t;
	c->ntenants = 1;
}

/* 1 if addr ("ip:port") is on a loopback address. */
static int is_loopback(const char *addr)
{
	return strncmp(addr, "127.", 4) == 0 || strncmp(addr, "[::1]:", 6) == 0;
}

/* The submission listeners need TLS (or a loopback opt-out) and someone
 * who can authenticate. */
static int check_submission(struct loader *l)
{
	const struct config *c = l->c;
	int users = 0;

	if (!c->submission_listen && !c->submission_listen_tls)
		return 0;
	if (!c->submission_cert != !c->submission_key)
		return err_set(l->e, "%s: submission.tls_cert and submission.tls_key go together",
		               l->path);
	if (c->submission_listen_tls && !c->submission_cert)
		return err_set(l->e,
		               "%s: submission.listen_tls needs submission.tls_cert and tls_key",
		               l->path);
	if (c->submission_listen && !c->submission_cert && !c->submission_auth_without_tls)
		return err_set(l->e,
		               "%s: submission.listen needs submission.tls_cert and tls_key "
		               "(passwords never cross the network in clear)",
		               l->path);
	if (c->submission_auth_without_tls &&
	    ((c->submission_listen && !is_loopback(c->submission_listen)) ||
	     (c->submission_listen_tls && !is_loopback(c->submission_listen_tls))))
		return err_set(l->e,
		               "%s: submission.auth_without_tls is allowed only on a loopback "
		               "listener (127.0.0.0/8, [::1])",
		               l->path);
	for (size_t i = 0; i < c->ntenants; i++)
		users += c->tenants[i].nusers > 0;
	if (!users)
		return err_set(l->e,
		               "%s: submission is configured but no tenant has smtp_users: nobody "
		               "could authenticate",
		               l->path);
	return 0;
}

int cfg_check_tenants(struct loader *l)
{
	struct config *c = l->c;

	if (c->ntenants == 0) {
		make_implicit(c);
		return check_submission(l);
	}
	for (size_t i = 0; i < c->ntenants; i++) {
		struct tenant *t = &c->tenants[i];
		const struct source *one[1];
		inherit_monitor(t, &c->monitor);
		if (t->pool && config_pool_sources(c, t->pool, one, 1) == 0)
			return err_set(l->e, "%s: tenant '%s': pool '%s' names no source's pool",
			               l->path, t->name, t->pool);
		for (size_t j = 0; j < i; j++) {
			const struct tenant *o = &c->tenants[j];
			if (strcmp(o->name, t->name) == 0)
				return err_set(l->e, "%s: tenant '%s' is declared twice", l->path,
				               t->name);
			for (size_t a = 0; a < t->nusers; a++)
				for (size_t b = 0; b < o->nusers; b++)
					if (strcmp(t->users[a].name, o->users[b].name) == 0)
						return err_set(
						    l->e,
						    "%s: smtp user '%s' belongs to tenants "
						    "'%s' and '%s'",
						    l->path, t->users[a].name, o->name, t->name);
			for (size_t a = 0; a < t->ndomains; a++)
				if (tenant_owns_domain(o, t->domains[a]))
					return err_set(
					    l->e,
					    "%s: sender domain '%s' belongs to tenants '%s' "
					    "and '%s'",
					    l->path, t->domains[a], o->name, t->name);
		}
		for (size_t a = 0; a < t->nusers; a++)
			for (size_t b = 0; b < a; b++)
				if (strcmp(t->users[a].name, t->users[b].name) == 0)
					return err_set(l->e,
					               "%s: tenant '%s': smtp user '%s' twice",
					               l->path, t->name, t->users[a].name);
	}
	const struct source *used[SOURCES_MAX + 1];
	size_t n = config_sources_in_use(c, used, SOURCES_MAX + 1);
	if (n > SOURCES_MAX)
		return err_set(l->e, "%s: the pools in use have more than %d sources in all",
		               l->path, SOURCES_MAX);
	for (size_t i = 1; i < n; i++)
		if (!strchr(used[i]->ip, ':') != !strchr(used[0]->ip, ':'))
			return err_set(l->e,
			               "%s: pool '%s' and pool '%s' mix IPv4 and IPv6 sources (one "
			               "process sends over one family)",
			               l->path, used[0]->pool, used[i]->pool);
	return check_submission(l);
}

void cfg_free_tenants(struct config *c)
{
	for (size_t i = 0; i < c->ntenants; i++) {
		struct tenant *t = &c->tenants[i];
		free(t->name);
		for (size_t j = 0; j < t->nusers; j++) {
			free(t->users[j].name);
			free(t->users[j].hash);
		}
		free(t->users);
		free(t->api_keys);
		for (size_t j = 0; j < t->ndomains; j++)
			free(t->domains[j]);
		free(t->domains);
		free(t->pool);
	}
	free(c->tenants);
	c->tenants = NULL;
	c->ntenants = 0;
}

/* ---- lookups ---- */

const struct tenant *tenant_by_name(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->ntenants; i++)
		if (strcmp(c->tenants[i].name, name) == 0)
			return &c->tenants[i];
	return NULL;
}

const struct tenant *tenant_by_user(const struct config *c, const char *user, const char **hash)
{
	for (size_t i = 0; i < c->ntenants; i++)
		for (size_t j = 0; j < c->tenants[i].nusers; j++)
			if (strcmp(c->tenants[i].users[j].name, user) == 0) {
				*hash = c->tenants[i].users[j].hash;
				return &c->tenants[i];
			}
	return NULL;
}

const struct tenant *tenant_by_api_key(const struct config *c, const char *key, size_t len)
{
	unsigned char h[SHA256_DIGEST_LENGTH];
	const struct tenant *found = NULL;

	SHA256((const unsigned char *)key, len, h);
	/* every key is compared, so the time says nothing of which matched */
	for (size_t i = 0; i < c->ntenants; i++)
		for (size_t j = 0; j < c->tenants[i].napi_keys; j++)
			if (CRYPTO_memcmp(c->tenants[i].api_keys[j], h, sizeof(h)) == 0)
				found = &c->tenants[i];
	return found;
}

int tenant_owns_domain(const struct tenant *t, const char *domain)
{
	for (size_t i = 0; i < t->ndomains; i++)
		if (strcasecmp(t->domains[i], domain) == 0)
			return 1;
	return 0;
}

const char *tenant_scope(const struct config *c, const struct tenant *t)
{
	if (t && !t->implicit)
		return t->scope == TSCOPE_GLOBAL ? "" : t->domains[0];
	return c->suppression.scope == SCOPE_SENDER_DOMAIN ? c->from_domain : "";
}

const char *tenant_scope_by_name(const struct config *c, const char *name)
{
	return tenant_scope(c, name ? tenant_by_name(c, name) : NULL);
}

void tenant_hash_api_key(const char *key, size_t len, char *out, size_t n)
{
	unsigned char h[SHA256_DIGEST_LENGTH];
	size_t p = (size_t)snprintf(out, n, "%s", TENANT_API_KEY_PREFIX);

	SHA256((const unsigned char *)key, len, h);
	for (size_t i = 0; i < sizeof(h) && p + 2 < n; i++)
		p += (size_t)snprintf(out + p, n - p, "%02x", h[i]);
}
