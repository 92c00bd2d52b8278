/*
 * config_rules: what a reply rule says beyond throttling (mail/config.h):
 * its action (`action: block_source` with `block_for`: source failover,
 * shape/srcblock.h), its trigger (`trigger: {count: N, within: 10m}`: it
 * fires at the Nth match within the window) and its scope (`scope: site |
 * provider | source | campaign | tenant`: what the action targets); and the
 * `pools` list (per-pool settings: failover_width).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/config.h"
#include "mail/config_yaml.h"
#include "util/xmalloc.h"

#define BLOCK_MAX_MS  (7LL * 24 * 3600 * 1000) /* a block never outlives a week */
#define TRIGGER_MAX   1000
#define WITHIN_MAX_MS (24LL * 3600 * 1000)
#define WIDTH_MAX     SOURCES_MAX

static const char *const scope_names[] = {"site", "provider", "source", "campaign", "tenant"};

const char *config_rule_scope_name(int scope)
{
	return scope >= 0 && scope < (int)(sizeof(scope_names) / sizeof(scope_names[0]))
	           ? scope_names[scope]
	           : "site";
}

/* A duration scalar in (0, max] ms, or -1 with the error at val. */
static int64_t duration_at(struct loader *l, const char *what, struct ynode *val, int64_t max,
                           const char *max_text)
{
	if (!val || val->kind != YN_SCALAR)
		return cfg_fail_at(l, val, "'%s' must be a duration such as 30m or 6h", what, NULL);
	int64_t v = config_parse_duration_ms(val->text, val->len);
	if (v <= 0 || v > max) {
		char msg[120];
		snprintf(msg, sizeof(msg), "'%s': bad duration '%.40s'", what, val->text);
		return cfg_fail_at(l, val, "%s (more than 0, at most %s)", msg, max_text);
	}
	return v;
}

static int trigger_of(struct loader *l, struct reply_rule *r, struct ynode *key, struct ynode *val)
{
	if (val->kind != YN_MAPPING)
		return cfg_fail_at(l, key,
		                   "'trigger' must be a mapping such as {count: 3, within: 10m}",
		                   "", NULL);
	for (size_t i = 0; i + 1 < val->nkids; i += 2) {
		struct ynode *k = val->kids[i], *v = val->kids[i + 1];
		const char *name = k->kind == YN_SCALAR ? k->text : "";
		if (strcmp(name, "count") == 0) {
			char *end;
			long n = v->kind == YN_SCALAR ? strtol(v->text, &end, 10) : 0;
			if (v->kind != YN_SCALAR || *end || n < 1 || n > TRIGGER_MAX)
				return cfg_fail_at(
				    l, v, "'trigger.count' must be a number from 1 to 1000", "",
				    NULL);
			r->trigger_count = (int)n;
		} else if (strcmp(name, "within") == 0) {
			int64_t ms = duration_at(l, "trigger.within", v, WITHIN_MAX_MS, "24h");
			if (ms < 0)
				return -1;
			r->trigger_within_ms = ms;
		} else {
			return cfg_fail_at(
			    l, k, "unknown setting '%s' in 'trigger' (known: count, within)", name,
			    NULL);
		}
	}
	return 0;
}

int cfg_rule_key_extra(struct loader *l, struct reply_rule *r, const char *k, struct ynode *key,
                       struct ynode *val)
{
	const char *text = val->kind == YN_SCALAR ? val->text : "";

	if (strcmp(k, "action") == 0) {
		if (strcmp(text, "block_source") == 0)
			r->action = RULE_BLOCK_SOURCE;
		else if (strcmp(text, "throttle") == 0)
			r->action = RULE_THROTTLE;
		else
			return cfg_fail_at(
			    l, val, "unknown rule action '%s' (known: throttle, block_source)",
			    text, NULL);
		return 0;
	}
	if (strcmp(k, "block_for") == 0) {
		int64_t ms = duration_at(l, "block_for", val, BLOCK_MAX_MS, "7d");
		if (ms < 0)
			return -1;
		r->block_ms = ms;
		return 0;
	}
	if (strcmp(k, "scope") == 0) {
		for (size_t i = 0; i < sizeof(scope_names) / sizeof(scope_names[0]); i++)
			if (strcmp(text, scope_names[i]) == 0) {
				r->scope = (int)i;
				return 0;
			}
		return cfg_fail_at(
		    l, val,
		    "unknown rule scope '%s' (known: site, provider, source, campaign, "
		    "tenant)",
		    text, NULL);
	}
	if (strcmp(k, "trigger") == 0)
		return trigger_of(l, r, key, val);
	return 1;
}

int cfg_rule_check_extra(struct loader *l, struct reply_rule *r, struct ynode *where)
{
	if (!r->trigger_count)
		r->trigger_count = 1;
	if (r->trigger_count > 1 && !r->trigger_within_ms)
		return cfg_fail_at(
		    l, where, "a rule's 'trigger' with a count above 1 needs 'within'", "", NULL);
	if (r->action == RULE_BLOCK_SOURCE) {
		if (!r->block_ms)
			r->block_ms = RULE_BLOCK_DEFAULT_MS;
		if (r->scope != RSCOPE_SITE && r->scope != RSCOPE_PROVIDER)
			return cfg_fail_at(l, where,
			                   "'action: block_source' blocks a source at a site or a "
			                   "provider: its scope is site or provider",
			                   "", NULL);
	} else if (r->block_ms) {
		return cfg_fail_at(l, where, "'block_for' needs 'action: block_source'", "", NULL);
	}
	return 0;
}

/* ---- pools ---- */

static int pool_key(struct loader *l, void *item, const char *k, struct ynode *key,
                    struct ynode *val)
{
#define QOFF(m) offsetof(struct pool_conf, m)
	static const struct field qf[] = {
	    {"pools", "name", F_STR, QOFF(name), 0, 0},
	    {"pools", "failover_width", F_INT, QOFF(failover_width), 1, WIDTH_MAX},
	};
#undef QOFF
	return cfg_set_item_field(l, item, qf, sizeof(qf) / sizeof(qf[0]), "a pool", k, key, val);
}

static int pool_check(struct loader *l, void *item, struct ynode *where)
{
	struct pool_conf *p = item;
	const struct config *c = l->c;

	if (!p->name || !p->name[0])
		return cfg_fail_at(l, where, "a pool needs a 'name' (the sources' pool)", "", NULL);
	for (size_t i = 0; c && &c->pools[i] != p; i++)
		if (strcmp(c->pools[i].name, p->name) == 0)
			return cfg_fail_at(l, where, "pool '%s' is listed twice", p->name, NULL);
	if (!p->failover_width)
		p->failover_width = FAILOVER_WIDTH_DEFAULT;
	return 0;
}

int cfg_load_pools(struct loader *l, struct ynode *key, struct ynode *seq)
{
	struct config *c = l->c;
	return cfg_load_items(l, "pools", key, seq, (void **)&c->pools, &c->npools,
	                      sizeof(struct pool_conf), pool_key, pool_check);
}

void cfg_free_pools(struct config *c)
{
	for (size_t i = 0; i < c->npools; i++)
		free(c->pools[i].name);
	free(c->pools);
	c->pools = NULL;
	c->npools = 0;
}

int config_failover_width(const struct config *c, const char *pool)
{
	for (size_t i = 0; pool && i < c->npools; i++)
		if (strcmp(c->pools[i].name, pool) == 0)
			return c->pools[i].failover_width;
	return FAILOVER_WIDTH_DEFAULT;
}
