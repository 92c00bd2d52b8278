/*
 * config_provider: the `providers` list of the configuration (limits that
 * hold across every site of one provider, per source; mail/config.h) and
 * the look-up the engine makes per site, config_provider_for: a config
 * entry whose globs match wins, then a built-in provider (when
 * delivery.provider_policies is on) with what an entry of its name sets.
 */
#include <fnmatch.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mail/config.h"
#include "mail/config_yaml.h"
#include "util/xmalloc.h"

#define PROVIDER_MX_MAX 64 /* globs per entry */

static int mx_globs(struct loader *l, struct provider_conf *p, struct ynode *key, struct ynode *val)
{
	struct ynode *one[1] = {val};
	struct ynode **kids = val->kind == YN_SEQUENCE ? val->kids : one;
	size_t n = val->kind == YN_SEQUENCE ? val->nkids : 1;

	if (p->nmx)
		return cfg_fail_at(l, key, "'%s' is given twice", "mx", NULL);
	if (n == 0 || n > PROVIDER_MX_MAX)
		return cfg_fail_at(l, key, "'mx' must be a glob or a list of 1 to 64 globs", "",
		                   NULL);
	p->mx = xcalloc(n, sizeof(*p->mx));
	for (size_t i = 0; i < n; i++) {
		char *g = kids[i]->kind == YN_SCALAR ? cfg_scalar_dup(kids[i]) : NULL;
		if (!g || !g[0]) {
			free(g);
			return cfg_fail_at(l, kids[i],
			                   "'mx' entries are MX host globs such as "
			                   "'*.mail.protection.outlook.com'",
			                   "", NULL);
		}
		p->mx[p->nmx++] = g;
	}
	return 0;
}

static int provider_key(struct loader *l, void *item, const char *k, struct ynode *key,
                        struct ynode *val)
{
#define VOFF(m) offsetof(struct provider_conf, m)
	static const struct field vf[] = {
	    {"providers", "name", F_STR, VOFF(name), 0, 0},
	    {"providers", "mx", F_STR, 0, 0, 0}, /* read by mx_globs */
	    {"providers", "max_connections", F_INT, VOFF(total.max_connections), 1, 100000},
	    {"providers", "message_rate", F_RATE, VOFF(total.message_rate), 0, 0},
	    {"providers", "connection_rate", F_RATE, VOFF(total.connection_rate), 0, 0},
	};
#undef VOFF
	if (strcmp(k, "mx") == 0)
		return mx_globs(l, item, key, val);
	return cfg_set_item_field(l, item, vf, sizeof(vf) / sizeof(vf[0]), "a provider", k, key,
	                          val);
}

static int provider_check(struct loader *l, void *item, struct ynode *where)
{
	struct provider_conf *p = item;
	const struct config *c = l->c;

	if (!p->name || !p->name[0])
		return cfg_fail_at(l, where, "a provider needs a 'name'", "", NULL);
	for (size_t i = 0; c && &c->providers[i] != p; i++)
		if (strcmp(c->providers[i].name, p->name) == 0)
			return cfg_fail_at(l, where, "provider '%s' is listed twice", p->name,
			                   NULL);
	if (!p->nmx && !provider_by_name(p->name))
		return cfg_fail_at(l, where,
		                   "provider '%s' needs 'mx' (it is not a built-in provider)",
		                   p->name, NULL);
	if (!p->total.max_connections && p->total.message_rate <= 0 &&
	    p->total.connection_rate <= 0)
		return cfg_fail_at(l, where,
		                   "provider '%s' sets none of max_connections, message_rate, "
		                   "connection_rate",
		                   p->name, NULL);
	return 0;
}

int cfg_load_providers(struct loader *l, struct ynode *key, struct ynode *seq)
{
	struct config *c = l->c;

	return cfg_load_items(l, "providers", key, seq, (void **)&c->providers, &c->nproviders,
	                      sizeof(struct provider_conf), provider_key, provider_check);
}

void cfg_free_providers(struct config *c)
{
	for (size_t i = 0; i < c->nproviders; i++) {
		for (size_t k = 0; k < c->providers[i].nmx; k++)
			free(c->providers[i].mx[k]);
		free(c->providers[i].mx);
		free(c->providers[i].name);
	}
	free(c->providers);
	c->providers = NULL;
	c->nproviders = 0;
}

static int conf_matches(const struct provider_conf *p, const char *mx)
{
	for (size_t k = 0; k < p->nmx; k++)
		if (fnmatch(p->mx[k], mx, FNM_CASEFOLD) == 0)
			return 1;
	return 0;
}

static const struct provider_conf *conf_named(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nproviders; i++)
		if (strcmp(c->providers[i].name, name) == 0)
			return &c->providers[i];
	return NULL;
}

/* The fields conf sets, over base. */
static struct provider_limits limits_over(struct provider_limits base,
                                          const struct provider_conf *conf)
{
	if (conf && conf->total.max_connections)
		base.max_connections = conf->total.max_connections;
	if (conf && conf->total.message_rate > 0)
		base.message_rate = conf->total.message_rate;
	if (conf && conf->total.connection_rate > 0)
		base.connection_rate = conf->total.connection_rate;
	return base;
}

int config_provider_for(const struct config *c, const char *mx, const char **name,
                        struct provider_limits *out)
{
	static const struct provider_limits none;

	if (!mx)
		return 0;
	for (size_t i = 0; i < c->nproviders; i++) {
		const struct provider_conf *p = &c->providers[i];
		if (!conf_matches(p, mx))
			continue;
		const struct provider *b = c->provider_policies ? provider_by_name(p->name) : NULL;
		*name = p->name;
		*out = limits_over(b ? b->total : none, p);
		return 1;
	}
	const struct provider *b = provider_for_mx(mx);
	const struct provider_conf *p = b ? conf_named(c, b->name) : NULL;
	if (!b || (!c->provider_policies && !p))
		return 0;
	*name = b->name;
	*out = limits_over(c->provider_policies ? b->total : none, p);
	return 1;
}
