/*
 * api: the HTTP API for applications (docs/api.yaml), one handler for
 * every path under /v1/ of the API listener (http/server.h, a prefix
 * route). Each request is authenticated by "Authorization: Bearer KEY"
 * (tenant_by_api_key; a 401 never says whether the scheme, the key or the
 * tenant was wrong) and sees only its tenant's campaigns, messages and
 * suppressions.
 *
 * Writes go into the store's open transaction and are answered only after
 * ports.flush says they are committed (the handler answers later,
 * http_later). Every POST may carry an Idempotency-Key: the same key with
 * the same request (SHA-256 of method, path and body) gets the stored
 * answer again and does nothing; with a different request, or while the
 * first is still in flight, a 409. The record is written in the same
 * transaction as the effect, so a crash keeps both or neither; refusals
 * (4xx) are not recorded (a retry is judged again). Suppressions live in
 * their own file: those writes are committed first, then the record.
 */
#ifndef SLUICE_API_API_H
#define SLUICE_API_API_H

#include "http/server.h"
#include "submit/submit.h"
#include "util/err.h"

struct config;
struct store;
struct suppress;
struct dlog;
struct api;

/* Where messages go and how writes become durable (serve installs
 * submit_queue and submit_flush; tests install fakes). queue NULL: POST
 * /v1/messages answers 503. */
struct api_ports {
	int (*queue)(void *ctx, const struct submit_msg *m, char qid[SUBMIT_QUEUE_ID_MAX],
	             struct submit_refusal *r);
	void (*flush)(void *ctx, void (*done)(void *arg, int ok), void *arg);
	void *ctx;
};

struct api_params {
	const struct config *cfg; /* borrowed; followed through api_reconfigure */
	struct store *store;      /* borrowed, like the two below, until api_free */
	struct suppress *sp;
	struct dlog *log; /* cancelled recipients are logged here */
	struct api_ports ports;
};

struct api *api_new(const struct api_params *p);
/* Answers still owed are dropped (their clients get nothing). */
void api_free(struct api *a);
void api_reconfigure(struct api *a, const struct config *cfg);
/* The http_handler of the "/v1/" prefix route (arg: the api). */
void api_handle(void *arg, const struct http_request *req, struct http_response *resp);

#endif
