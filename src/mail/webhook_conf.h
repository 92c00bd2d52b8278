/*
 * webhook_conf: the `webhooks:` list of the configuration (parsed by
 * mail/config_webhook.c; delivered by src/webhook): where events go, the
 * secret that signs them, and which of them each endpoint wants.
 */
#ifndef SLUICE_MAIL_WEBHOOK_CONF_H
#define SLUICE_MAIL_WEBHOOK_CONF_H

#include <stddef.h>

#define WEBHOOK_SECRET_MIN        16
#define WEBHOOK_MAX_BATCH_DEFAULT 100
#define WEBHOOK_TIMEOUT_MS        10000

struct webhook_conf {
	char *url;     /* http:// or https:// */
	char *secret;  /* HMAC-SHA256 key, at least WEBHOOK_SECRET_MIN bytes */
	char *tenant;  /* only this tenant's events; NULL: every tenant's (and the sites') */
	char **events; /* the event types wanted; none: all */
	size_t nevents;
	int max_batch;  /* events per POST */
	int timeout_ms; /* a POST's whole time */
};

/* 1 if type is an event type sluice writes (store/events.h). */
int webhook_event_known(const char *type);
/* 1 if the endpoint wants an event of tenant and type. */
int webhook_conf_wants(const struct webhook_conf *w, const char *tenant, const char *type);

#endif
