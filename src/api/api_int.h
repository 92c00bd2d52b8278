/*
 * api_int: the API's private parts, shared by api.c (the frame of a call,
 * messages) and api_routes.c (the routes that read or change the store).
 */
#ifndef SLUICE_API_API_INT_H
#define SLUICE_API_API_INT_H

#include <jansson.h>

#include "api/api.h"
#include "api/request.h"
#include "mail/tenant.h"
#include "store/idempotency.h"

#define API_SEGMENTS_MAX 4
#define API_SEGMENT_MAX  300 /* a decoded path segment (an address fits) */

struct api {
	struct api_params p;
	struct strmap *flight; /* "tenant\nkey" -> its job, while its commit is open */
	struct job *jobs;
};

/* One request being handled. */
struct call {
	struct api *a;
	const struct http_request *req;
	struct http_response *resp;
	const struct tenant *t;
	char seg[API_SEGMENTS_MAX][API_SEGMENT_MAX]; /* the path after /v1/, decoded */
	int nseg;
	const char *query; /* after '?', or "" */
	const char *key;   /* the Idempotency-Key of a POST, or NULL */
	unsigned char hash[32];
	char flight[TENANT_NAME_MAX + STORE_IDEM_KEY_MAX + 2];
};

/* Answers now with o (taken). */
void api_reply(struct call *c, int status, json_t *o);
void api_reply_error(struct call *c, const struct api_error *e);
void api_error_now(struct call *c, int status, const char *code, const char *field,
                   const char *msg);
/* Answers with o (taken) once what was written is committed; records it
 * under the call's Idempotency-Key in the same transaction. */
void api_commit_reply(struct call *c, int status, json_t *o);
int api_decode(const char *s, size_t n, char *out, size_t size);

void api_route(struct call *c);         /* api_routes.c */
void api_post_message(struct call *c);  /* api.c */
void api_get_message(struct call *c);   /* api_messages.c */
void api_post_campaign(struct call *c); /* api_campaigns.c */
/* POST /v1/messages with template_id (api_tplmsg.c); m stays the caller's. */
void api_post_template_message(struct call *c, const struct api_message *m);
/* The HTTP status of a submit refusal (403, 413, 422, 429, 503). */
int api_refusal_status(const struct submit_refusal *r);
/* The value of name in the query string, percent-decoded into out: 1, 0
 * if absent, -1 if malformed or too long. */
int api_query(const struct call *c, const char *name, char *out, size_t n);
/* "queued", "delivered", ... (enum rcpt_state). */
const char *api_state_name(int state);
/* The RFC 3339 UTC text of t, or JSON null when t is 0. */
json_t *api_time_json(int64_t t);

#endif
