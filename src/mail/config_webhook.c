/*
 * config_webhook: the `webhooks:` list of the configuration
 * (mail/webhook_conf.h): each endpoint's scalars through a field table,
 * its `events` list by hand, then the checks across endpoints (URLs unique,
 * tenants exist), once the whole file (and its tenants) is read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/config.h"
#include "mail/config_yaml.h"
#include "mail/webhook_conf.h"
#include "util/xmalloc.h"

#define WOFF(m) offsetof(struct webhook_conf, m)

static const struct field webhook_fields[] = {
    {"webhooks", "url", F_STR, WOFF(url), 0, 0},
    {"webhooks", "secret", F_STR, WOFF(secret), 0, 0},
    {"webhooks", "tenant", F_STR, WOFF(tenant), 0, 0},
    {"webhooks", "max_batch", F_INT, WOFF(max_batch), 1, 10000},
    {"webhooks", "timeout", F_MS, WOFF(timeout_ms), 100, 300000},
};

static const char *const event_types[] = {
    "delivered",        "deferred",           "bounced",
    "expired",          "suppressed",         "cancelled",
    "complained",       "unsubscribed",       "campaign_paused",
    "campaign_resumed", "campaign_cancelled", "campaign_finished",
    "site_suspended",   "site_restored",      "site_paused",
    "site_resumed",     "tenant_paused",      "tenant_resumed",
};

int webhook_event_known(const char *type)
{
	for (size_t i = 0; i < sizeof(event_types) / sizeof(event_types[0]); i++)
		if (strcmp(event_types[i], type) == 0)
			return 1;
	return 0;
}

int webhook_conf_wants(const struct webhook_conf *w, const char *tenant, const char *type)
{
	if (w->tenant && strcmp(w->tenant, tenant) != 0)
		return 0;
	if (w->nevents == 0)
		return 1;
	for (size_t i = 0; i < w->nevents; i++)
		if (strcmp(w->events[i], type) == 0)
			return 1;
	return 0;
}

static int webhook_key(struct loader *l, void *item, const char *k, struct ynode *key,
                       struct ynode *val)
{
	struct webhook_conf *w = item;

	if (strcmp(k, "events") != 0)
		return cfg_set_item_field(l, item, webhook_fields,
		                          sizeof(webhook_fields) / sizeof(webhook_fields[0]),
		                          "a webhook", k, key, val);
	if (val->kind != YN_SEQUENCE || val->nkids == 0)
		return cfg_fail_at(l, key, "'%s' must be a list of event types", k, NULL);
	for (size_t i = 0; i < val->nkids; i++) {
		struct ynode *v = val->kids[i];
		if (v->kind != YN_SCALAR || !webhook_event_known(v->text))
			return cfg_fail_at(
			    l, v,
			    "unknown event type '%s' (known: delivered, deferred, "
			    "bounced, expired, suppressed, cancelled, complained, "
			    "unsubscribed, campaign_paused, campaign_resumed, "
			    "campaign_cancelled, campaign_finished, site_suspended, "
			    "site_restored, site_paused, site_resumed, tenant_paused, "
			    "tenant_resumed)",
			    v->kind == YN_SCALAR ? v->text : "", NULL);
		w->events = xrealloc(w->events, (w->nevents + 1) * sizeof(char *));
		w->events[w->nevents++] = xstrdup(v->text);
	}
	return 0;
}

static int webhook_check(struct loader *l, void *item, struct ynode *where)
{
	struct webhook_conf *w = item;

	if (!w->url || (strncmp(w->url, "http://", 7) != 0 && strncmp(w->url, "https://", 8) != 0))
		return cfg_fail_at(l, where, "a webhook needs a 'url' (http:// or https://)%s", "",
		                   NULL);
	if (!w->secret || strlen(w->secret) < WEBHOOK_SECRET_MIN)
		return cfg_fail_at(l, where,
		                   "webhook %s: 'secret' must be at least 16 characters (make one "
		                   "with: openssl rand -hex 32)",
		                   w->url, NULL);
	if (!w->max_batch)
		w->max_batch = WEBHOOK_MAX_BATCH_DEFAULT;
	if (!w->timeout_ms)
		w->timeout_ms = WEBHOOK_TIMEOUT_MS;
	return 0;
}

int cfg_load_webhooks(struct loader *l, struct ynode *key, struct ynode *seq)
{
	struct config *c = l->c;

	return cfg_load_items(l, "webhooks", key, seq, (void **)&c->webhooks, &c->nwebhooks,
	                      sizeof(struct webhook_conf), webhook_key, webhook_check);
}

int cfg_check_webhooks(struct loader *l)
{
	const struct config *c = l->c;

	for (size_t i = 0; i < c->nwebhooks; i++) {
		const struct webhook_conf *w = &c->webhooks[i];
		if (w->tenant && !tenant_by_name(c, w->tenant))
			return err_set(l->e, "%s: webhook %s: tenant '%s' is not in tenants",
			               l->path, w->url, w->tenant);
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->webhooks[j].url, w->url) == 0)
				return err_set(l->e, "%s: webhook %s is listed twice", l->path,
				               w->url);
	}
	return 0;
}

void cfg_free_webhooks(struct config *c)
{
	for (size_t i = 0; i < c->nwebhooks; i++) {
		struct webhook_conf *w = &c->webhooks[i];
		free(w->url);
		free(w->secret);
		free(w->tenant);
		for (size_t j = 0; j < w->nevents; j++)
			free(w->events[j]);
		free(w->events);
	}
	free(c->webhooks);
	c->webhooks = NULL;
	c->nwebhooks = 0;
}
