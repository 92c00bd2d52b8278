/* env: see env.h. */
#include "engine/env.h"

#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <string.h>
#include <sys/socket.h>

#include "mail/classify.h"
#include "dns/mx.h"
#include "dns/resolver.h"
#include "msg/dkim.h"
#include "dlog/dlog.h"
#include "store/store.h"
#include "shape/rules.h"

int delivery_env_open(const struct config *cfg, struct event_base *base, const char *state_dir,
                      struct delivery_env *env, struct err *e)
{
	unsigned char tmp[16];

	memset(env, 0, sizeof(*env));
	env->base = base;
	env->npool = config_sources_in_use(cfg, env->pool, SOURCES_MAX);
	int family = inet_pton(AF_INET, env->pool[0]->ip, tmp) == 1 ? AF_INET : AF_INET6;
	if (dlog_open(state_dir, &env->log, e) != 0 ||
	    resolver_new(base, cfg->resolvers, cfg->nresolvers, cfg->dns_timeout_ms, cfg->dns_tries,
	                 &env->res, e) != 0 ||
	    rules_new(cfg, &env->rules, e) != 0 ||
	    classifier_new(cfg->classify, cfg->nclassify, &env->cls, e) != 0 ||
	    dkim_signer_new(cfg, &env->dkim, e) != 0) {
		delivery_env_close(env);
		return -1;
	}
	env->mx = mx_cache_new(env->res, family);
	env->ssl = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(env->ssl, SSL_VERIFY_NONE, NULL); /* opportunistic, like Postfix "may" */
	return 0;
}

void delivery_env_close(struct delivery_env *env)
{
	if (env->mx)
		mx_cache_free(env->mx);
	rules_free(env->rules);
	classifier_free(env->cls);
	dkim_signer_free(env->dkim);
	if (env->res)
		resolver_free(env->res);
	if (env->ssl)
		SSL_CTX_free(env->ssl);
	if (env->log)
		dlog_close(env->log);
	memset(env, 0, sizeof(*env));
}

void delivery_env_params(const struct delivery_env *env, const struct config *cfg, struct store *st,
                         struct suppress *sp, struct scheduler_params *out)
{
	*out = (struct scheduler_params){
	    .base = env->base,
	    .cfg = cfg,
	    .clock = engine_clock_real(),
	    .store = engine_store_sqlite(st),
	    .mx = engine_resolver_mx(env->mx),
	    .smtp = engine_smtp_real(),
	    .log = env->log,
	    .ssl_ctx = env->ssl,
	    .sources = env->pool,
	    .nsources = env->npool,
	    .rules = env->rules,
	    .classifier = env->cls,
	    .dkim = env->dkim,
	    .suppress = sp,
	};
	if (cfg->nwebhooks == 0) /* nobody to tell: no event rows (engine/events.c) */
		out->store.event_add = NULL;
}

void delivery_env_add_campaign(struct scheduler *sched, const struct campaign_rec *rec,
                               const struct template *tpl, int64_t size, int64_t clean_version)
{
	const struct config *cfg = scheduler_config(sched);
	const struct tenant *t = tenant_by_name(cfg, rec->tenant ? rec->tenant : TENANT_DEFAULT);
	const char *pool = rec->pool ? rec->pool : t && t->pool ? t->pool : cfg->pool;
	struct sched_campaign_desc d = {
	    .pool = pool,
	    .id = rec->id,
	    .salt = rec->salt,
	    .envelope_from = rec->envelope_from,
	    .tpl = rec->kind == CAMPAIGN_STREAM ? NULL : tpl,
	    .tenant = rec->tenant,
	    .priority = rec->priority,
	    .size = rec->kind == CAMPAIGN_STREAM ? INT64_MAX : size, /* spread over the pool */
	    .clean_version = clean_version,
	};
	scheduler_add_campaign(sched, &d);
}
