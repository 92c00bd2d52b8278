/*
 * api_routes: the API's routes other than sending a message: a recipient's
 * history, suppressions, campaign controls (api_int.h). Each sees only the
 * calling tenant's campaigns and suppression scopes.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "dlog/dlog.h"
#include "mail/address.h"
#include "mail/config.h"
#include "store/idempotency.h"
#include "store/lookup.h"
#include "store/store.h"
#include "store/suppress.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/when.h"

#define LIST_DEFAULT 100
#define LIST_MAX     1000

static const char *const state_names[RS_COUNT] = {"queued",  "delivered",  "bounced",
                                                  "expired", "suppressed", "cancelled"};

static void store_failed(struct call *c, const struct err *e)
{
	log_error("api: %s", e->msg);
	api_error_now(c, 503, "unavailable", NULL, "the queue cannot be used now, try again");
}

/* The tenant that owns campaign (its row's tenant column); "" if there
 * is no such campaign. */
static int owner_of(struct store *st, const char *campaign, char *out, size_t n, struct err *e)
{
	out[0] = '\0';
	return store_campaign_owner(st, campaign, out, n, e) < 0 ? -1 : 0;
}

static int owns(struct call *c, const char *campaign, struct err *e)
{
	char who[TENANT_NAME_MAX + 8];
	if (owner_of(c->a->p.store, campaign, who, sizeof(who), e) < 0)
		return -1;
	return strcmp(who, c->t->name) == 0;
}

const char *api_state_name(int state)
{
	return state >= 0 && state < RS_COUNT ? state_names[state] : "?";
}

json_t *api_time_json(int64_t t)
{
	char buf[WHEN_TEXT_MAX];
	if (t <= 0)
		return json_null();
	when_format(t, buf, sizeof(buf));
	return json_string(buf);
}

/* ---- GET /v1/recipients/{address} ---- */

struct history {
	struct call *c;
	json_t *rows;
	int failed;
	struct err e;
};

static void history_row(void *arg, const struct rcpt_row *r)
{
	struct history *h = arg;
	int mine = owns(h->c, r->campaign, &h->e);

	if (mine < 0)
		h->failed = 1;
	if (mine != 1)
		return;
	json_t *o = json_pack("{s:s, s:s, s:i, s:o, s:s?}", "campaign", r->campaign, "state",
	                      api_state_name(r->state), "attempts", r->attempts, "queued_at",
	                      api_time_json(r->queued_at_s), "category",
	                      r->category[0] ? r->category : NULL);
	if (r->state == RS_QUEUED)
		json_object_set_new(o, "next_attempt_at", api_time_json(r->next_attempt_s));
	if (r->last_code)
		json_object_set_new(o, "last_reply",
		                    json_pack("{s:i, s:s, s:s, s:s}", "code", r->last_code,
		                              "enhanced", r->last_enhanced, "text", r->last_reply,
		                              "stage", r->last_stage));
	json_array_append_new(h->rows, o);
}

static int canonical(struct call *c, const char *s, char *out, size_t n, const char *field)
{
	struct address a;
	struct err e;

	if (address_parse(s, strlen(s), &a, &e) != 0) {
		api_error_now(c, 422, "invalid_address", field, e.msg);
		return -1;
	}
	snprintf(out, n, "%s", a.mailbox);
	address_free(&a);
	return 0;
}

static void get_recipient(struct call *c)
{
	char mailbox[ADDRESS_MAX + 1], why[32];
	struct history h = {c, json_array(), 0, {{0}}};

	if (canonical(c, c->seg[1], mailbox, sizeof(mailbox), "address") != 0) {
		json_decref(h.rows);
		return;
	}
	if (store_rcpt_lookup(c->a->p.store, mailbox, history_row, &h, &h.e) != 0 || h.failed) {
		json_decref(h.rows);
		store_failed(c, &h.e);
		return;
	}
	int sup = suppress_check(c->a->p.sp, mailbox, tenant_scope(c->a->p.cfg, c->t), why, &h.e);
	api_reply(c, 200,
	          json_pack("{s:s, s:o, s:o}", "address", mailbox, "suppressed",
	                    sup == 1 ? json_string(why) : json_null(), "history", h.rows));
}

/* ---- suppressions ---- */

/* 1 if scope is one of the tenant's: its domains, and "" (everyone's)
 * for a tenant whose suppressions are everyone's (mail/tenant.h). */
static int scope_mine(const struct tenant *t, const char *scope)
{
	if (!scope[0])
		return t->implicit || t->scope == TSCOPE_GLOBAL;
	return tenant_owns_domain(t, scope);
}

struct slist {
	const struct tenant *t;
	const char *only; /* one address, or NULL */
	json_t *rows;
	size_t limit;
	int truncated;
};

static void slist_row(void *arg, const struct suppression *r)
{
	struct slist *l = arg;

	if (!scope_mine(l->t, r->scope) || (l->only && strcasecmp(l->only, r->address) != 0))
		return;
	if (json_array_size(l->rows) >= l->limit) {
		l->truncated = 1;
		return;
	}
	json_array_append_new(l->rows, json_pack("{s:s, s:s, s:s, s:o}", "address", r->address,
	                                         "scope", r->scope, "reason", r->reason,
	                                         "created_at", api_time_json(r->created_s)));
}

static void list_suppressions(struct call *c, const char *only)
{
	struct slist l = {c->t, only, json_array(), LIST_DEFAULT, 0};
	struct err e;
	const char *q = strstr(c->query, "limit=");

	if (q && (q == c->query || q[-1] == '&')) {
		long n = strtol(q + 6, NULL, 10);
		if (n < 1 || n > LIST_MAX) {
			json_decref(l.rows);
			api_error_now(c, 400, "invalid_value", "limit", "limit is 1 to 1000");
			return;
		}
		l.limit = (size_t)n;
	}
	if (suppress_list(c->a->p.sp, slist_row, &l, &e) != 0) {
		json_decref(l.rows);
		store_failed(c, &e);
		return;
	}
	if (only && json_array_size(l.rows) == 0) {
		json_decref(l.rows);
		api_error_now(c, 404, "not_found", "address", "not suppressed");
		return;
	}
	api_reply(c, 200,
	          json_pack("{s:o, s:b}", "suppressions", l.rows, "truncated", l.truncated));
}

static void add_suppression(struct call *c)
{
	static const char *const keys[] = {"address", "scope", "note", NULL};
	struct api_error ae;
	struct err e;
	char mailbox[ADDRESS_MAX + 1], evidence[300];
	json_t *o = api_parse_object(c->req->body, c->req->body_len, keys, &ae);

	if (!o) {
		api_reply_error(c, &ae);
		return;
	}
	json_t *addr = json_object_get(o, "address"), *scope = json_object_get(o, "scope"),
	       *note = json_object_get(o, "note");
	const char *sc = tenant_scope(c->a->p.cfg, c->t);
	if (!addr || !json_is_string(addr)) {
		api_error_now(c, 400, addr ? "invalid_type" : "missing_field", "address",
		              "'address' (a string) is required");
		goto out;
	}
	if ((scope && !json_is_string(scope)) || (note && !json_is_string(note))) {
		api_error_now(c, 400, "invalid_type",
		              scope && !json_is_string(scope) ? "scope" : "note",
		              "must be a string");
		goto out;
	}
	if (scope) {
		sc = json_string_value(scope);
		if (!scope_mine(c->t, sc)) {
			api_error_now(c, 403, "foreign_scope", "scope",
			              "the scope must be one of your sender domains");
			goto out;
		}
	}
	if (canonical(c, json_string_value(addr), mailbox, sizeof(mailbox), "address") != 0)
		goto out;
	snprintf(evidence, sizeof(evidence), "api (tenant %s)%s%.200s", c->t->name,
	         note ? ": " : "", note ? json_string_value(note) : "");
	int r =
	    suppress_add(c->a->p.sp, mailbox, sc, "manual", evidence, clock_wall_ms() / 1000, &e);
	if (r < 0 || suppress_commit(c->a->p.sp, &e) != 0) {
		store_failed(c, &e);
		goto out;
	}
	api_commit_reply(
	    c, r ? 201 : 200,
	    json_pack("{s:s, s:s, s:b}", "address", mailbox, "scope", sc, "added", r == 1));
out:
	json_decref(o);
}

static void delete_suppression(struct call *c)
{
	char mailbox[ADDRESS_MAX + 1];
	struct err e;
	int n = 0;

	if (canonical(c, c->seg[1], mailbox, sizeof(mailbox), "address") != 0)
		return;
	if (c->t->implicit || c->t->ndomains == 0) {
		n = suppress_remove(c->a->p.sp, mailbox, "", &e);
	} else {
		for (size_t i = 0; i < c->t->ndomains && n >= 0; i++) {
			int k = suppress_remove(c->a->p.sp, mailbox, c->t->domains[i], &e);
			n = k < 0 ? -1 : n + k;
		}
	}
	if (n < 0 || suppress_commit(c->a->p.sp, &e) != 0) {
		store_failed(c, &e);
		return;
	}
	if (n == 0) {
		api_error_now(c, 404, "not_found", "address", "not suppressed");
		return;
	}
	api_reply(c, 200, json_pack("{s:s, s:i}", "address", mailbox, "removed", n));
}

/* ---- POST /v1/campaigns/{id}/pause|resume|cancel ---- */

static void control(struct call *c)
{
	static const char *const keys[] = {"reason", NULL};
	const char *id = c->seg[1], *what = c->seg[2];
	struct api_error ae;
	struct err e;
	struct campaign_rec rec;
	char reason[256];
	json_t *o = NULL;

	if (c->req->body_len > 0) {
		if (!(o = api_parse_object(c->req->body, c->req->body_len, keys, &ae))) {
			api_reply_error(c, &ae);
			return;
		}
		json_t *r = json_object_get(o, "reason");
		if (r && !json_is_string(r)) {
			json_decref(o);
			api_error_now(c, 400, "invalid_type", "reason",
			              "'reason' must be a string");
			return;
		}
	}
	const char *given = o ? json_string_value(json_object_get(o, "reason")) : NULL;
	snprintf(reason, sizeof(reason), "%.200s", given ? given : "through the API");
	json_decref(o);
	int found = store_campaign_get(c->a->p.store, id, &rec, &e);
	if (found == 1)
		store_campaign_free(&rec);
	int mine = found == 1 ? owns(c, id, &e) : found;
	if (mine < 0) {
		store_failed(c, &e);
		return;
	}
	if (mine == 0) { /* someone else's is as absent as a missing one */
		api_error_now(c, 404, "not_found", "id", "no such campaign");
		return;
	}
	int64_t now_ms = clock_wall_ms();
	int rc = 0;
	const char *status = "paused";
	if (strcmp(what, "pause") == 0) {
		rc = store_campaign_pause(c->a->p.store, id, reason, now_ms / 1000, &e);
	} else if (strcmp(what, "resume") == 0) {
		rc = store_campaign_resume(c->a->p.store, id, &e);
		if (rc == 0) {
			api_error_now(c, 409, "not_paused", "id", "the campaign is not paused");
			return;
		}
		status = "running";
	} else {
		/* the engine running beside performs it (engine/control.c): within
		 * about a second its queued recipients end as cancelled, and
		 * none it holds in memory is both sent and cancelled */
		rc = store_campaign_cancel_request(c->a->p.store, id, reason, now_ms / 1000, &e);
		status = "cancelling";
	}
	if (rc < 0) {
		store_failed(c, &e);
		return;
	}
	api_commit_reply(c, strcmp(status, "cancelling") == 0 ? 202 : 200,
	                 json_pack("{s:s, s:s}", "id", id, "status", status));
}

/* ---- POST /v1/pause {"for"?, "reason"?}, POST /v1/resume {"reason"?} ----
 * The tenant holds its own sending (store: a pause of scope "tenant", as
 * `sluice tenant pause` records it): the engine beside stops its campaigns
 * within about a second and its submissions are refused (451 / 503) until
 * resumed or the "for" (a duration, "2h", or seconds) ends. */

#define TENANT_PAUSE_FOR_MAX_S (366LL * 86400) /* a longer one: pause until resumed */

static void tenant_control(struct call *c, int pause)
{
	static const char *const keys_pause[] = {"for", "reason", NULL};
	static const char *const keys_resume[] = {"reason", NULL};
	struct api_error ae;
	struct err e;
	char reason[256];
	int64_t for_s = 0;
	json_t *o = NULL;

	if (c->req->body_len > 0 &&
	    !(o = api_parse_object(c->req->body, c->req->body_len, pause ? keys_pause : keys_resume,
	                           &ae))) {
		api_reply_error(c, &ae);
		return;
	}
	json_t *r = o ? json_object_get(o, "reason") : NULL;
	json_t *f = o ? json_object_get(o, "for") : NULL;
	if (r && !json_is_string(r)) {
		json_decref(o);
		api_error_now(c, 400, "invalid_type", "reason", "'reason' must be a string");
		return;
	}
	if (json_is_integer(f) && json_integer_value(f) > 0) {
		for_s = json_integer_value(f);
	} else if (json_is_string(f)) {
		int64_t ms = config_parse_duration_ms(json_string_value(f), json_string_length(f));
		for_s = ms > 0 ? (ms + 999) / 1000 : 0;
	}
	if (f && (for_s <= 0 || for_s > TENANT_PAUSE_FOR_MAX_S)) {
		json_decref(o);
		api_error_now(c, 400, "invalid_value", "for",
		              "'for' must be a duration (\"15m\", \"2h\", \"3d\") or seconds > 0,"
		              " at most a year");
		return;
	}
	snprintf(reason, sizeof(reason), "%.200s",
	         r       ? json_string_value(r)
	         : pause ? "paused through the API"
	                 : "resumed through the API");
	json_decref(o);
	int64_t now_s = clock_wall_ms() / 1000;
	int rc;
	if (pause) {
		struct site_pause p = {.scope = "tenant",
		                       .target = c->t->name,
		                       .reason = reason,
		                       .until_s = for_s ? now_s + for_s : 0,
		                       .time_s = now_s};
		rc = store_site_pause(c->a->p.store, &p, &e);
	} else {
		rc = store_site_resume_why(c->a->p.store, "tenant", c->t->name, reason, now_s, &e);
		if (rc == 0) {
			api_error_now(c, 409, "not_paused", NULL,
			              c->t->paused ? "paused by the config (tenants[].paused), not "
			                             "through the API"
			                           : "the tenant is not paused");
			return;
		}
	}
	if (rc < 0) {
		store_failed(c, &e);
		return;
	}
	json_t *out = json_pack("{s:s, s:s}", "tenant", c->t->name, "status",
	                        pause || c->t->paused ? "paused" : "running");
	if (pause) {
		char until[WHEN_TEXT_MAX];
		when_format(now_s + for_s, until, sizeof(until));
		json_object_set_new(out, "reason", json_string(reason));
		json_object_set_new(out, "until", for_s ? json_string(until) : json_null());
	}
	api_commit_reply(c, 200, out);
}

/* ---- POST /v1/campaigns/{id}/move {"pool", "reason"?} ----
 * The tenant's own campaign goes to another pool of the config: its row
 * says so at once (202, status "moving"); the engine beside moves what it
 * holds within about a second (engine/control.c). */

static int pool_exists(const struct config *cfg, const char *pool)
{
	for (size_t i = 0; i < cfg->nsources; i++)
		if (strcmp(cfg->sources[i].pool, pool) == 0)
			return 1;
	return 0;
}

/* The pools of the config, for a refusal's message. */
static void pool_names(const struct config *cfg, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < cfg->nsources && len < n; i++) {
		size_t k = 0;
		while (k < i && strcmp(cfg->sources[k].pool, cfg->sources[i].pool) != 0)
			k++;
		if (k == i)
			len += (size_t)snprintf(out + len, n - len, "%s%s", len ? ", " : "",
			                        cfg->sources[i].pool);
	}
}

static void move(struct call *c)
{
	static const char *const keys[] = {"pool", "reason", NULL};
	const char *id = c->seg[1];
	struct api_error ae;
	struct err e;
	struct campaign_rec rec;
	char reason[256], pool[128], known[400], msg[512];
	json_t *o = NULL;

	if (!(o = api_parse_object(c->req->body, c->req->body_len, keys, &ae))) {
		api_reply_error(c, &ae);
		return;
	}
	json_t *p = json_object_get(o, "pool"), *r = json_object_get(o, "reason");
	if (!p) {
		json_decref(o);
		api_error_now(c, 400, "missing_field", "pool", "'pool' is required");
		return;
	}
	if (!json_is_string(p) || (r && !json_is_string(r))) {
		const char *field = !json_is_string(p) ? "pool" : "reason"; /* before p goes */
		json_decref(o);
		api_error_now(c, 400, "invalid_type", field, "'pool' and 'reason' must be strings");
		return;
	}
	snprintf(pool, sizeof(pool), "%.100s", json_string_value(p));
	snprintf(reason, sizeof(reason), "%.200s", r ? json_string_value(r) : "through the API");
	json_decref(o);
	int found = store_campaign_get(c->a->p.store, id, &rec, &e);
	if (found == 1)
		store_campaign_free(&rec);
	int mine = found == 1 ? owns(c, id, &e) : found;
	if (mine < 0) {
		store_failed(c, &e);
		return;
	}
	if (mine == 0) {
		api_error_now(c, 404, "not_found", "id", "no such campaign");
		return;
	}
	if (!pool_exists(c->a->p.cfg, pool)) {
		pool_names(c->a->p.cfg, known, sizeof(known));
		snprintf(msg, sizeof(msg), "no pool '%s'; the pools are: %s", pool, known);
		api_error_now(c, 422, "unknown_pool", "pool", msg);
		return;
	}
	/* the row says the pool from now on; the engine running beside moves
	 * what it holds within about a second (engine/control.c) */
	struct control_request q = {.kind = "move",
	                            .scope = "pool",
	                            .target = pool,
	                            .campaign = id,
	                            .reason = reason,
	                            .time_s = clock_wall_ms() / 1000};
	if (store_campaign_set_pool(c->a->p.store, id, pool, &e) < 0 ||
	    store_control_request(c->a->p.store, &q, &e) != 0) {
		store_failed(c, &e);
		return;
	}
	api_commit_reply(c, 202,
	                 json_pack("{s:s, s:s, s:s}", "id", id, "pool", pool, "status", "moving"));
}

/* ---- the table ---- */

static int is(const struct call *c, const char *method, int nseg, const char *seg0)
{
	return strcmp(c->req->method, method) == 0 && c->nseg == nseg &&
	       strcmp(c->seg[0], seg0) == 0;
}

void api_route(struct call *c)
{
	const char *s0 = c->seg[0];

	if (is(c, "POST", 1, "messages"))
		api_post_message(c);
	else if (is(c, "GET", 2, "messages"))
		api_get_message(c);
	else if (is(c, "GET", 2, "recipients"))
		get_recipient(c);
	else if (is(c, "GET", 1, "suppressions"))
		list_suppressions(c, NULL);
	else if (is(c, "GET", 2, "suppressions")) {
		char mailbox[ADDRESS_MAX + 1];
		if (canonical(c, c->seg[1], mailbox, sizeof(mailbox), "address") == 0)
			list_suppressions(c, mailbox);
	} else if (is(c, "POST", 1, "suppressions"))
		add_suppression(c);
	else if (is(c, "DELETE", 2, "suppressions"))
		delete_suppression(c);
	else if (is(c, "POST", 1, "campaigns"))
		api_post_campaign(c);
	else if (is(c, "POST", 3, "campaigns") &&
	         (strcmp(c->seg[2], "pause") == 0 || strcmp(c->seg[2], "resume") == 0 ||
	          strcmp(c->seg[2], "cancel") == 0))
		control(c);
	else if (is(c, "POST", 3, "campaigns") && strcmp(c->seg[2], "move") == 0)
		move(c);
	else if (is(c, "POST", 1, "pause") || is(c, "POST", 1, "resume"))
		tenant_control(c, strcmp(s0, "pause") == 0);
	else if (strcmp(s0, "pause") == 0 || strcmp(s0, "resume") == 0)
		api_error_now(c, c->nseg == 1 ? 405 : 404,
		              c->nseg == 1 ? "method_not_allowed" : "not_found", NULL,
		              "no such method on this path");
	else if (strcmp(s0, "messages") == 0 || strcmp(s0, "recipients") == 0 ||
	         strcmp(s0, "suppressions") == 0 || strcmp(s0, "campaigns") == 0)
		api_error_now(c, c->nseg <= 3 ? 405 : 404,
		              c->nseg <= 3 ? "method_not_allowed" : "not_found", NULL,
		              "no such method on this path");
	else
		api_error_now(c, 404, "not_found", NULL, "no such path");
}
