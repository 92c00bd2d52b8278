/*
 * api: see api.h. Three parts: a call's frame (authentication, the path's
 * segments, answering now or after the commit, the Idempotency-Key), the
 * message route, and the routes that read or change the store
 * (api_routes.c).
 */
#include "api/api.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "api/request.h"
#include "mail/config.h"
#include "mail/tenant.h"
#include "store/idempotency.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/xmalloc.h"

/* A response owed until the commit. */
struct job {
	struct api *a; /* NULL once the api is freed */
	struct http_pending *pend;
	int status;
	char *body;
	char *flight; /* its key in a->flight, or NULL */
	struct job *next, *prev;
};

struct api *api_new(const struct api_params *p)
{
	struct api *a = xcalloc(1, sizeof(*a));
	a->p = *p;
	a->flight = strmap_new();
	return a;
}

void api_free(struct api *a)
{
	if (!a)
		return;
	for (struct job *j = a->jobs; j; j = j->next)
		j->a = NULL; /* answered (or dropped) when their commit returns */
	strmap_free(a->flight, NULL);
	free(a);
}

void api_reconfigure(struct api *a, const struct config *cfg)
{
	a->p.cfg = cfg;
}

static const char *reason_of(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 501:
		return "Not Implemented";
	default:
		return "Service Unavailable";
	}
}

#define JSON_TYPE "application/json"

void api_reply(struct call *c, int status, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	c->resp->status = status;
	c->resp->reason = reason_of(status);
	c->resp->content_type = JSON_TYPE;
	strbuf_adds(&c->resp->body, s);
	strbuf_addc(&c->resp->body, '\n');
	free(s);
}

void api_reply_error(struct call *c, const struct api_error *e)
{
	char *s = api_error_json(e);
	c->resp->status = e->status;
	c->resp->reason = reason_of(e->status);
	c->resp->content_type = JSON_TYPE;
	if (e->status == 401)
		c->resp->headers = "WWW-Authenticate: Bearer realm=\"sluice\"\r\n";
	strbuf_adds(&c->resp->body, s);
	strbuf_addc(&c->resp->body, '\n');
	free(s);
}

void api_error_now(struct call *c, int status, const char *code, const char *field, const char *msg)
{
	struct api_error e;
	api_fail(&e, status, code, field, "%s", msg);
	api_reply_error(c, &e);
}

/* ---- answering after the commit ---- */

static void job_done(void *arg, int ok)
{
	struct job *j = arg;

	if (ok) {
		http_pending_done(j->pend, j->status, reason_of(j->status), JSON_TYPE, j->body,
		                  strlen(j->body));
	} else {
		struct api_error e;
		api_fail(&e, 503, "unavailable", NULL,
		         "the queue could not commit: nothing was done, try again");
		char *s = api_error_json(&e);
		http_pending_done(j->pend, 503, reason_of(503), JSON_TYPE, s, strlen(s));
		free(s);
	}
	if (j->a) {
		if (j->flight)
			strmap_remove(j->a->flight, j->flight);
		if (j->prev)
			j->prev->next = j->next;
		else
			j->a->jobs = j->next;
		if (j->next)
			j->next->prev = j->prev;
	}
	free(j->flight);
	free(j->body);
	free(j);
}

void api_commit_reply(struct call *c, int status, json_t *o)
{
	struct api *a = c->a;
	char *s = json_dumps(o, JSON_COMPACT);
	struct err e;

	json_decref(o);
	if (c->key) {
		struct store_idem r = {
		    .status = status, .body = s, .created_s = clock_wall_ms() / 1000};
		memcpy(r.hash, c->hash, sizeof(r.hash));
		if (store_idem_put(a->p.store, c->t->name, c->key, &r, &e) != 0) {
			log_error("api: %s", e.msg);
			free(s);
			api_error_now(c, 503, "unavailable", NULL,
			              "the queue could not record this request, try again");
			return;
		}
	}
	struct job *j = xcalloc(1, sizeof(*j));
	size_t n = strlen(s);
	j->a = a;
	j->status = status;
	j->body = xmalloc(n + 2);
	memcpy(j->body, s, n);
	memcpy(j->body + n, "\n", 2);
	free(s);
	if (c->key) {
		j->flight = xstrdup(c->flight);
		strmap_put(a->flight, j->flight, j);
	}
	j->next = a->jobs;
	if (a->jobs)
		a->jobs->prev = j;
	a->jobs = j;
	j->pend = http_later(c->resp);
	a->p.ports.flush(a->p.ports.ctx, job_done, j);
}

/* ---- the frame ---- */

/* The tenant of "Bearer KEY", or NULL. */
static const struct tenant *authenticate(struct api *a, const char *auth)
{
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return NULL;
	auth += 7;
	while (*auth == ' ')
		auth++;
	size_t n = strlen(auth);
	while (n > 0 && (auth[n - 1] == ' ' || auth[n - 1] == '\t'))
		n--;
	if (n == 0)
		return NULL;
	return tenant_by_api_key(a->p.cfg, auth, n);
}

/* Percent-decodes s (n bytes) into out (at most size - 1 bytes): 0, or -1
 * if it does not fit, is malformed or decodes to a NUL. */
int api_decode(const char *s, size_t n, char *out, size_t size)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		int ch = (unsigned char)s[i];
		if (ch == '%') {
			int hi = i + 2 < n ? OPENSSL_hexchar2int((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < n ? OPENSSL_hexchar2int((unsigned char)s[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return -1;
			ch = hi * 16 + lo;
			i += 2;
		}
		if (ch == 0 || k + 1 >= size)
			return -1;
		out[k++] = (char)ch;
	}
	out[k] = '\0';
	return 0;
}

int api_query(const struct call *c, const char *name, char *out, size_t n)
{
	size_t k = strlen(name);

	for (const char *p = c->query; *p;) {
		size_t len = strcspn(p, "&#");
		if (len > k && strncmp(p, name, k) == 0 && p[k] == '=')
			return api_decode(p + k + 1, len - k - 1, out, n) == 0 ? 1 : -1;
		if (len == k && strncmp(p, name, k) == 0)
			return api_decode("", 0, out, n) == 0 ? 1 : -1;
		p += len;
		if (*p != '&')
			break;
		p++;
	}
	return 0;
}

/* Splits the target after "/v1/" into decoded segments; -1 if malformed. */
static int split_path(struct call *c, const char *target)
{
	size_t plen = strcspn(target, "?#");
	const char *p = target + 4, *end = target + plen;

	c->query = target[plen] == '?' ? target + plen + 1 : "";
	c->nseg = 0;
	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *segend = slash ? slash : end;
		if (c->nseg == API_SEGMENTS_MAX ||
		    api_decode(p, (size_t)(segend - p), c->seg[c->nseg], API_SEGMENT_MAX) != 0)
			return -1;
		if (c->seg[c->nseg][0])
			c->nseg++;
		p = slash ? slash + 1 : end;
	}
	return 0;
}

static void request_hash(const struct http_request *req, unsigned char out[32])
{
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	unsigned int n = 0;

	EVP_DigestInit_ex(h, EVP_sha256(), NULL);
	EVP_DigestUpdate(h, req->method, strlen(req->method) + 1);
	EVP_DigestUpdate(h, req->target, strlen(req->target) + 1);
	EVP_DigestUpdate(h, req->body, req->body_len);
	EVP_DigestFinal_ex(h, out, &n);
	EVP_MD_CTX_free(h);
}

/* The Idempotency-Key of a POST: 1 answered (the stored answer again, or
 * a 409), 0 go on (c->key set if there is one). */
static int idempotency(struct call *c, const struct http_request *req)
{
	struct api *a = c->a;
	const char *key = req->idempotency_key;
	struct store_idem r;
	struct err e;

	if (!key)
		return 0;
	size_t n = strlen(key);
	if (n == 0 || n > STORE_IDEM_KEY_MAX) {
		api_error_now(c, 400, "invalid_idempotency_key", "Idempotency-Key",
		              "an Idempotency-Key has 1 to 255 characters");
		return 1;
	}
	request_hash(req, c->hash);
	snprintf(c->flight, sizeof(c->flight), "%s\n%s", c->t->name, key);
	if (strmap_get(a->flight, c->flight)) {
		api_error_now(c, 409, "idempotency_in_flight", "Idempotency-Key",
		              "a request with this Idempotency-Key is still being processed");
		return 1;
	}
	int64_t since = clock_wall_ms() / 1000 - a->p.cfg->api_idempotency_s;
	int got = store_idem_get(a->p.store, c->t->name, key, since, &r, &e);
	if (got < 0) {
		log_error("api: %s", e.msg);
		api_error_now(c, 503, "unavailable", NULL, "the queue cannot be read, try again");
		return 1;
	}
	if (got == 1) {
		if (memcmp(r.hash, c->hash, sizeof(r.hash)) != 0) {
			api_error_now(c, 409, "idempotency_conflict", "Idempotency-Key",
			              "this Idempotency-Key was used with a different request");
		} else {
			c->resp->status = r.status;
			c->resp->reason = reason_of(r.status);
			c->resp->content_type = JSON_TYPE;
			c->resp->headers = "Idempotent-Replayed: true\r\n";
			strbuf_adds(&c->resp->body, r.body);
		}
		store_idem_free(&r);
		return 1;
	}
	c->key = key;
	return 0;
}

/* A POST's body must be JSON (an empty body may say nothing), or CSV
 * where csv says a list may be uploaded (POST /v1/campaigns). */
static int content_type_ok(const struct http_request *req, int csv)
{
	const char *t = req->content_type;
	if (!t)
		return req->body_len == 0;
	size_t n = strcspn(t, "; \t");
	if (csv && n == 8 && strncasecmp(t, "text/csv", 8) == 0)
		return 1;
	return n == 16 && strncasecmp(t, "application/json", 16) == 0;
}

void api_handle(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct call c = {.a = arg, .req = req, .resp = resp};

	c.t = authenticate(c.a, req->authorization);
	if (!c.t) {
		api_error_now(&c, 401, "unauthorized", NULL, "a valid API key is required");
		return;
	}
	if (split_path(&c, req->target) != 0 || c.nseg == 0) {
		api_error_now(&c, 404, "not_found", NULL, "no such path");
		return;
	}
	int post = strcmp(req->method, "POST") == 0;
	int csv = c.nseg == 1 && strcmp(c.seg[0], "campaigns") == 0;
	if (post && !content_type_ok(req, csv)) {
		api_error_now(&c, 415, "unsupported_media_type", "Content-Type",
		              csv ? "the body must be application/json or text/csv"
		                  : "the body must be application/json");
		return;
	}
	if (post && idempotency(&c, req))
		return;
	api_route(&c);
}

/* ---- POST /v1/messages ---- */

int api_refusal_status(const struct submit_refusal *r)
{
	switch (r->code) {
	case SUBMIT_SENDER_DOMAIN:
		return 403;
	case SUBMIT_RATE:
		return 429;
	case SUBMIT_PAUSED:
	case SUBMIT_STORE:
		return 503;
	case SUBMIT_TOO_BIG:
		return 413;
	default:
		return 422;
	}
}

void api_post_message(struct call *c)
{
	struct api *a = c->a;
	struct api_message m;
	struct api_error e;
	struct strbuf data = STRBUF_INIT;

	if (api_parse_message(c->req->body, c->req->body_len, clock_wall_ms() / 1000, &m, &e) !=
	    0) {
		api_reply_error(c, &e);
		return;
	}
	if (m.template_id) {
		api_post_template_message(c, &m);
		goto out;
	}
	if (api_build_message(&m, &data, &e) != 0) {
		api_reply_error(c, &e);
		goto out;
	}
	if (!a->p.ports.queue) {
		api_error_now(c, 503, "unavailable", NULL, "submission is not running");
		goto out;
	}
	struct submit_msg sm = {
	    .tenant = c->t,
	    .mail_from = m.from,
	    .rcpts = m.to,
	    .nrcpts = m.nto,
	    .data = data.data,
	    .len = data.len,
	    .send_at_s = m.send_at_s,
	    .expires_at_s = m.expires_at_s,
	    .pool = m.pool,
	};
	char qid[SUBMIT_QUEUE_ID_MAX];
	struct submit_refusal r;
	if (a->p.ports.queue(a->p.ports.ctx, &sm, qid, &r) != 0) {
		api_fail(&e, api_refusal_status(&r), r.name ? r.name : "refused", r.field, "%s",
		         r.reply);
		api_reply_error(c, &e);
		goto out;
	}
	api_commit_reply(c, 202, json_pack("{s:s, s:s}", "id", qid, "status", "queued"));
out:
	strbuf_free(&data);
	api_message_free(&m);
}
