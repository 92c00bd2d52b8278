/*
 * env: the delivery engine composed, as every delivering command (send,
 * serve) sets it up around a scheduler: resolver and MX cache, reply rules,
 * classifier, DKIM signer, TLS context, the delivery log and the sending
 * pool; the scheduler parameters for one campaign (danger signs go
 * nowhere until the caller sets params->sink). Sits on top of the engine (scheduler.h), below
 * serve/ and cli/.
 */
#ifndef SLUICE_ENGINE_ENV_H
#define SLUICE_ENGINE_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "mail/config.h"
#include "engine/scheduler.h"
#include "util/err.h"

struct event_base;
struct store;
struct suppress;
struct campaign_rec;
struct template;

struct delivery_env {
	struct event_base *base;
	struct resolver *res;
	struct mx_cache *mx;
	struct rules *rules;
	struct classifier *cls;
	struct dkim_signer *dkim;
	struct ssl_ctx_st *ssl;
	struct dlog *log;
	const struct source *pool[SOURCES_MAX]; /* every source in use (config_sources_in_use) */
	size_t npool;
};

/* Opens everything into env (the caller's; closed with delivery_env_close);
 * 0, or -1 with e set and nothing left open. */
int delivery_env_open(const struct config *cfg, struct event_base *base, const char *state_dir,
                      struct delivery_env *env, struct err *e);
/* Frees what env holds; env is zeroed. */
void delivery_env_close(struct delivery_env *env);
/* The scheduler parameters. */
void delivery_env_params(const struct delivery_env *env, const struct config *cfg, struct store *st,
                         struct suppress *sp, struct scheduler_params *out);
/* Adds a stored campaign to the scheduler (tpl: its template, bound;
 * clean_version: see sched_campaign_desc, -1 if unknown). */
void delivery_env_add_campaign(struct scheduler *sched, const struct campaign_rec *rec,
                               const struct template *tpl, int64_t size, int64_t clean_version);

#endif
