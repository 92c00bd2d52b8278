/*
 * api_campaigns: POST /v1/campaigns, a campaign from a template and a list
 * of recipients, queued exactly as `sluice send` queues one
 * (list/queue_campaign.h: the same template parse and bind, list hygiene,
 * suppression screening, duplicate keys and row times), owned by the
 * caller's tenant. Two bodies:
 *
 *   application/json  {"name"?, "template", "recipients": [{"email",
 *                     "fields"?}], "columns"?, "priority"?, "send_at"?,
 *                     "expires_at"?, "pool"?}; the recipients become a CSV
 *                     list in memory (column email, the declared columns,
 *                     then each field name in the order first seen), read
 *                     by the same reader;
 *   text/csv          the list itself (a header row with an email column),
 *                     the template that of an earlier campaign of the
 *                     tenant named by ?template_id=; name, priority,
 *                     send_at, expires_at and pool as query parameters.
 *
 * Everything is checked before anything is written: the template (its
 * From domains must be the tenant's: 403 sender_domain), every row (the
 * first bad one is a 422 naming recipients[i] or the CSV line), the bounds
 * (API_CAMPAIGN_RCPTS_MAX rows, API_TEMPLATE_MAX bytes: 413). The rows are
 * then written into the store's open transaction and the 202 is sent
 * after the group commit. Times without a zone are UTC here, and a tz
 * column may give UTC or an offset only (an IANA name would set TZ for a
 * moment: serve has threads).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "list/csv.h"
#include "list/queue_campaign.h"
#include "list/recipients.h"
#include "mail/address.h"
#include "mail/config.h"
#include "mail/mime.h"
#include "msg/template.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/strmap.h"
#include "util/when.h"
#include "util/xmalloc.h"

#define API_CAMPAIGN_RCPTS_MAX 100000
#define API_TEMPLATE_MAX       (1024 * 1024)
#define API_CAMPAIGN_ID_MAX    64
#define API_FIELD_NAME_MAX     100
#define API_TEXT_MAX           100 /* a time, a priority, a pool given */
#define TEMPLATE_NAME          "template"

/* One request, read. */
struct creq {
	char id[API_CAMPAIGN_ID_MAX + 1];
	const char *tpl_text; /* borrowed: the JSON, or stored below */
	size_t tpl_len;
	struct campaign_rec stored; /* the campaign of ?template_id= */
	int priority;
	char send_at[API_TEXT_MAX], expires_at[API_TEXT_MAX], pool[API_TEXT_MAX];
	int has_pool;
	const char *list; /* the CSV list: the body, or built below */
	size_t list_len;
	char *built; /* the list made of JSON recipients (owned) */
	long *lines; /* JSON: the line recipient i's row starts on */
	size_t nlines;
	const char *list_name;              /* "recipients" or "recipients.csv" */
	char scope[ADDRESS_DOMAIN_MAX + 1]; /* the From domain: suppressions' scope */
};

static void creq_free(struct creq *r)
{
	store_campaign_free(&r->stored);
	free(r->built);
	free(r->lines);
}

/* ---- the parameters ---- */

static int id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > API_CAMPAIGN_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
			return 0;
	}
	return strncmp(s, "submit-", 7) != 0; /* the tenants' streams */
}

static int set_id(struct creq *r, const char *name, struct api_error *e)
{
	if (!name) {
		char qid[STORE_QID_MAX];
		store_new_qid(qid);
		snprintf(r->id, sizeof(r->id), "api-%s", qid);
		return 0;
	}
	if (!id_ok(name))
		return api_fail(e, 422, "invalid_value", "name",
		                "a name is 1 to 64 letters, digits, '.', '-' or '_' (not "
		                "'submit-...')");
	snprintf(r->id, sizeof(r->id), "%s", name);
	return 0;
}

static int set_priority(struct creq *r, const char *text, long long v, int is_text,
                        struct api_error *e)
{
	char *end = NULL;

	if (is_text && strcmp(text, "bulk") == 0)
		v = 0;
	else if (is_text && strcmp(text, "transactional") == 0)
		v = 10;
	else if (is_text && (v = strtoll(text, &end, 10), !*text || *end))
		v = 1000;
	if (v < -100 || v > 100)
		return api_fail(e, 422, "invalid_value", "priority",
		                "'priority' is bulk, transactional or a number from -100 to 100");
	r->priority = (int)v;
	return 0;
}

/* send_at and expires_at: readable (a time without a zone is UTC), and the
 * expiry after the send time and after now. */
static int check_times(const struct creq *r, struct api_error *e)
{
	int64_t now = clock_wall_ms() / 1000, send = 0, expires = 0;
	struct err te;

	if (r->send_at[0] && when_parse(r->send_at, strlen(r->send_at), "UTC", now, &send, &te))
		return api_fail(e, 400, "invalid_time", "send_at", "'send_at': %s", te.msg);
	int64_t from = send > now ? send : now;
	if (r->expires_at[0] &&
	    when_parse(r->expires_at, strlen(r->expires_at), "UTC", from, &expires, &te))
		return api_fail(e, 400, "invalid_time", "expires_at", "'expires_at': %s", te.msg);
	if (expires && expires <= from)
		return api_fail(e, 422, "invalid_time", "expires_at",
		                "'expires_at' must be after the send time");
	return 0;
}

static int copy_text(char *out, size_t n, const char *v, const char *field, struct api_error *e)
{
	if (strlen(v) >= n)
		return api_fail(e, 422, "invalid_value", field, "'%s' is too long", field);
	snprintf(out, n, "%s", v);
	return 0;
}

static int check_pool(const struct call *c, const struct creq *r, struct api_error *e)
{
	const struct source *src[1];

	if (r->has_pool && config_pool_sources(c->a->p.cfg, r->pool, src, 1) == 0)
		return api_fail(e, 422, "invalid_value", "pool", "no pool '%.60s' in the config",
		                r->pool);
	return 0;
}

/* ---- the JSON body ---- */

/* A field value as CSV cell text into out; -1 if it is not a string,
 * number or boolean. */
static int cell_text(json_t *v, struct strbuf *out)
{
	strbuf_reset(out);
	if (json_is_string(v))
		strbuf_add(out, json_string_value(v), json_string_length(v));
	else if (json_is_integer(v))
		strbuf_addf(out, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		strbuf_addf(out, "%.17g", json_real_value(v));
	else if (json_is_boolean(v))
		strbuf_adds(out, json_is_true(v) ? "true" : "false");
	else
		return -1;
	return 0;
}

/* The column names so far. */
struct columns {
	struct strmap *seen; /* lowercase name -> 1 */
	const char **names;  /* borrowed from the JSON */
	size_t n, cap;
};

/* Adds column k (the field at fault: field) unless it is there. */
static int add_column(struct columns *cols, const char *k, const char *field, struct api_error *e)
{
	char low[API_FIELD_NAME_MAX + 1];
	size_t kn = strlen(k);

	if (kn == 0 || kn > API_FIELD_NAME_MAX || strpbrk(k, "\r\n"))
		return api_fail(e, 422, "invalid_value", field,
		                "a field name has 1 to 100 characters, on one line");
	for (size_t j = 0; j <= kn; j++)
		low[j] = (char)(k[j] >= 'A' && k[j] <= 'Z' ? k[j] + 32 : k[j]);
	if (strcmp(low, "email") == 0)
		return api_fail(e, 422, "invalid_value", field,
		                "'email' is not a field: it is the recipient");
	if (strmap_get(cols->seen, low))
		return 0;
	if (cols->n + 1 >= CSV_FIELDS_MAX)
		return api_fail(e, 413, "too_many_fields", field, "at most %d field names in all",
		                CSV_FIELDS_MAX - 2);
	if (cols->n == cols->cap)
		cols->names = xrealloc(cols->names, (cols->cap *= 2) * sizeof(char *));
	strmap_put(cols->seen, low, (void *)1);
	cols->names[cols->n++] = k;
	return 0;
}

/* One recipient's keys and types, its field names added as columns. */
static int recipient_columns(struct columns *cols, json_t *v, const char *field,
                             struct api_error *e)
{
	const char *k;
	json_t *x;

	if (!json_is_object(v))
		return api_fail(e, 400, "invalid_type", field, "must be an object");
	json_object_foreach(v, k, x)
	{
		if (strcmp(k, "email") != 0 && strcmp(k, "fields") != 0)
			return api_fail(e, 400, "unknown_field", field, "unknown field '%.60s'", k);
	}
	json_t *em = json_object_get(v, "email"), *f = json_object_get(v, "fields");
	if (!em || !json_is_string(em))
		return api_fail(e, 400, em ? "invalid_type" : "missing_field", field,
		                "'email' (a string) is required");
	if (f && !json_is_object(f))
		return api_fail(e, 400, "invalid_type", field, "'fields' must be an object");
	json_object_foreach(f, k, x)
	{
		if (add_column(cols, k, field, e) != 0)
			return -1;
	}
	return 0;
}

/* The columns: email, the declared ones (columns: the template's fields
 * when there are no recipients yet), then every field name in the order
 * first seen (names compared without case, as the list reader does). */
static int collect_names(json_t *declared, json_t *rcpts, struct columns *cols, struct api_error *e)
{
	char field[80];
	size_t i;
	json_t *v;

	cols->names = xcalloc(cols->cap = 16, sizeof(char *));
	cols->names[cols->n++] = "email";
	strmap_put(cols->seen, "email", (void *)1);
	json_array_foreach(declared, i, v)
	{
		snprintf(field, sizeof(field), "columns[%zu]", i);
		if (!json_is_string(v))
			return api_fail(e, 400, "invalid_type", field, "must be a string");
		if (add_column(cols, json_string_value(v), field, e) != 0)
			return -1;
	}
	json_array_foreach(rcpts, i, v)
	{
		snprintf(field, sizeof(field), "recipients[%zu]", i);
		if (recipient_columns(cols, v, field, e) != 0)
			return -1;
	}
	return 0;
}

static long newlines(const struct strbuf *b)
{
	long k = 0;
	for (size_t i = 0; i < b->len; i++)
		k += b->data[i] == '\n';
	return k;
}

/* Writes one recipient's row (cells[] of the columns) to f. */
static int write_row(FILE *f, json_t *v, const char **names, size_t n, struct strbuf *cells,
                     const char *field, long *lines, struct api_error *e)
{
	const char *row[CSV_FIELDS_MAX];
	json_t *fs = json_object_get(v, "fields");

	for (size_t j = 0; j < n; j++) {
		json_t *x = j == 0 ? json_object_get(v, "email") : json_object_get(fs, names[j]);
		if (!x) { /* given in another case? */
			const char *k;
			json_t *y;
			json_object_foreach(fs, k, y)
			{
				if (strcasecmp(k, names[j]) == 0)
					x = y;
			}
		}
		if (x && cell_text(x, &cells[j]) != 0)
			return api_fail(e, 400, "invalid_type", field,
			                "field '%.60s' must be a string, number or boolean",
			                names[j]);
		if (!x)
			strbuf_reset(&cells[j]);
		if (cells[j].len >= CSV_FIELD_MAX)
			return api_fail(e, 413, "field_too_long", field,
			                "field '%.60s' is longer than %d octets", names[j],
			                CSV_FIELD_MAX - 1);
		row[j] = cells[j].data ? cells[j].data : "";
		*lines += newlines(&cells[j]);
	}
	csv_write(f, row, n);
	return 0;
}

/* The recipients as a CSV list in r->built, each one's line in r->lines. */
static int build_list(struct creq *r, json_t *declared, json_t *rcpts, struct api_error *e)
{
	struct columns cols = {strmap_new(), NULL, 0, 0};
	size_t i, size = 0;
	char field[80];
	json_t *v;
	FILE *f = open_memstream(&r->built, &size);
	int rc = collect_names(declared, rcpts, &cols, e);
	const char **names = cols.names;
	size_t n = cols.n;

	if (rc == 0) {
		struct strbuf *cells = xcalloc(n, sizeof(*cells));
		long line = 2;
		csv_write(f, names, n);
		r->lines = xcalloc(json_array_size(rcpts) + 1, sizeof(long));
		json_array_foreach(rcpts, i, v)
		{
			snprintf(field, sizeof(field), "recipients[%zu]", i);
			r->lines[r->nlines++] = line;
			line++;
			if ((rc = write_row(f, v, names, n, cells, field, &line, e)) != 0)
				break;
		}
		for (size_t j = 0; j < n; j++)
			strbuf_free(&cells[j]);
		free(cells);
	}
	fclose(f);
	r->list = r->built;
	r->list_len = size;
	r->list_name = "recipients";
	free(cols.names);
	strmap_free(cols.seen, NULL);
	return rc;
}

static int read_json(struct call *c, struct creq *r, struct api_error *e)
{
	static const char *const keys[] = {"name",       "template", "recipients",
	                                   "columns",    "priority", "send_at",
	                                   "expires_at", "pool",     NULL};
	json_t *o = api_parse_object(c->req->body, c->req->body_len, keys, e);
	int rc = -1;

	if (!o)
		return -1;
	json_t *name = json_object_get(o, "name"), *tpl = json_object_get(o, "template"),
	       *rcpts = json_object_get(o, "recipients"), *prio = json_object_get(o, "priority");
	const char *strs[] = {"name", "send_at", "expires_at", "pool"};
	for (size_t i = 0; i < 4; i++) {
		json_t *x = json_object_get(o, strs[i]);
		if (x && !json_is_string(x)) {
			api_fail(e, 400, "invalid_type", strs[i], "'%s' must be a string", strs[i]);
			goto out;
		}
	}
	if (!tpl || !json_is_string(tpl)) {
		api_fail(e, 400, tpl ? "invalid_type" : "missing_field", "template",
		         "'template' (the message with {{field}} placeholders) is required");
		goto out;
	}
	if (!rcpts || !json_is_array(rcpts)) {
		api_fail(e, 400, rcpts ? "invalid_type" : "missing_field", "recipients",
		         "'recipients' (an array of {\"email\", \"fields\"}) is required");
		goto out;
	}
	json_t *declared = json_object_get(o, "columns");
	if (declared && !json_is_array(declared)) {
		api_fail(e, 400, "invalid_type", "columns", "'columns' must be an array of names");
		goto out;
	}
	if (json_array_size(rcpts) > API_CAMPAIGN_RCPTS_MAX) {
		api_fail(e, 413, "too_many_recipients", "recipients",
		         "at most %d recipients per request", API_CAMPAIGN_RCPTS_MAX);
		goto out;
	}
	if (prio && !json_is_string(prio) && !json_is_integer(prio)) {
		api_fail(e, 400, "invalid_type", "priority",
		         "'priority' is \"bulk\", \"transactional\" or a number");
		goto out;
	}
	const char *sa = json_string_value(json_object_get(o, "send_at")),
	           *xa = json_string_value(json_object_get(o, "expires_at")),
	           *pool = json_string_value(json_object_get(o, "pool"));
	if (set_id(r, json_string_value(name), e) != 0 ||
	    (prio && set_priority(r, json_string_value(prio),
	                          json_is_integer(prio) ? json_integer_value(prio) : 0,
	                          json_is_string(prio), e) != 0) ||
	    (sa && copy_text(r->send_at, sizeof(r->send_at), sa, "send_at", e) != 0) ||
	    (xa && copy_text(r->expires_at, sizeof(r->expires_at), xa, "expires_at", e) != 0) ||
	    (pool && copy_text(r->pool, sizeof(r->pool), pool, "pool", e) != 0))
		goto out;
	r->has_pool = pool != NULL;
	if (json_string_length(tpl) > API_TEMPLATE_MAX) {
		api_fail(e, 413, "template_too_big", "template", "a template has at most %d bytes",
		         API_TEMPLATE_MAX);
		goto out;
	}
	r->stored.template_text = xmalloc(json_string_length(tpl) + 1);
	memcpy(r->stored.template_text, json_string_value(tpl), json_string_length(tpl) + 1);
	r->tpl_text = r->stored.template_text;
	r->tpl_len = json_string_length(tpl);
	rc = build_list(r, declared, rcpts, e);
out:
	json_decref(o);
	return rc;
}

/* ---- the CSV body ---- */

static int query_text(const struct call *c, const char *name, char *out, size_t n,
                      struct api_error *e)
{
	int k = api_query(c, name, out, n);
	if (k < 0)
		return api_fail(e, 400, "invalid_value", name, "'%s' is malformed or too long",
		                name);
	if (k == 0)
		out[0] = '\0';
	return k;
}

/* The template of the tenant's campaign named by ?template_id=. */
static int stored_template(struct call *c, struct creq *r, struct api_error *e)
{
	char id[API_CAMPAIGN_ID_MAX + 1];
	struct err se;

	if (query_text(c, "template_id", id, sizeof(id), e) < 0)
		return -1;
	if (!id[0])
		return api_fail(e, 400, "missing_field", "template_id",
		                "a CSV upload names its template: ?template_id=<an earlier "
		                "campaign's id>");
	int k = store_campaign_get(c->a->p.store, id, &r->stored, &se);
	if (k < 0) {
		log_error("api: %s", se.msg);
		return api_fail(e, 503, "unavailable", NULL, "the queue cannot be read now");
	}
	if (k == 0 || r->stored.kind != CAMPAIGN_TEMPLATE ||
	    strcmp(r->stored.tenant ? r->stored.tenant : "", c->t->name) != 0)
		return api_fail(e, 404, "not_found", "template_id", "no such campaign");
	r->tpl_text = r->stored.template_text;
	r->tpl_len = r->stored.template_len;
	return 0;
}

static int read_csv(struct call *c, struct creq *r, struct api_error *e)
{
	char name[API_CAMPAIGN_ID_MAX + 2], prio[API_TEXT_MAX];
	int k;

	if (stored_template(c, r, e) != 0)
		return -1;
	if ((k = query_text(c, "name", name, sizeof(name), e)) < 0 ||
	    set_id(r, k ? name : NULL, e) != 0 ||
	    (k = query_text(c, "priority", prio, sizeof(prio), e)) < 0 ||
	    (k && set_priority(r, prio, 0, 1, e) != 0) ||
	    query_text(c, "send_at", r->send_at, sizeof(r->send_at), e) < 0 ||
	    query_text(c, "expires_at", r->expires_at, sizeof(r->expires_at), e) < 0 ||
	    (k = query_text(c, "pool", r->pool, sizeof(r->pool), e)) < 0)
		return -1;
	r->has_pool = k;
	r->list = c->req->body;
	r->list_len = c->req->body_len;
	r->list_name = "recipients.csv";
	return 0;
}

/* ---- the template and the rows ---- */

/* Every domain in the template's From must be the tenant's (as for
 * submission); the first is the scope of the suppression screening. */
static int check_from(const struct tenant *t, const struct template *tpl, char *scope, size_t sn,
                      struct api_error *e)
{
	struct mime_entity ent;
	struct strbuf v = STRBUF_INIT;
	int rc = 0;

	mime_entity(tpl->text, tpl->len, &ent);
	if (!mime_header(&ent, "From", &v) || !strchr(v.data ? v.data : "", '@')) {
		strbuf_free(&v);
		return api_fail(e, 422, "no_from", "template", "the template has no From address");
	}
	scope[0] = '\0';
	for (const char *at = strchr(v.data, '@'); at && rc == 0; at = strchr(at + 1, '@')) {
		char d[ADDRESS_DOMAIN_MAX + 1];
		size_t n = strspn(at + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                          "0123456789.-");
		snprintf(d, sizeof(d), "%.*s", (int)(n < sizeof(d) ? n : sizeof(d) - 1), at + 1);
		if (!tenant_owns_domain(t, d))
			rc = api_fail(e, 403, "sender_domain", "template",
			              "From domain '%.100s' is not one of your sender domains", d);
		else if (!scope[0])
			snprintf(scope, sn, "%s", d);
	}
	strbuf_free(&v);
	return rc;
}

/* Opens r's list over its bytes; -1 with e (422 naming line 1). */
static int open_list(const struct creq *r, struct recipient_list *l, struct api_error *e)
{
	struct err le;
	FILE *f = r->list_len ? fmemopen((void *)r->list, r->list_len, "r") : NULL;

	if (!f) {
		memset(l, 0, sizeof(*l));
		return api_fail(e, 422, "invalid_list", "recipients",
		                "the list is empty: a header row with an 'email' column is "
		                "required");
	}
	if (recipients_open_stream(l, r->list_name, f, &le) != 0) {
		api_fail(e, 422, "invalid_list", "recipients", "%s", le.msg);
		e->line = 1;
		return -1;
	}
	struct recipient_times t = {
	    .send_at = r->send_at[0] ? r->send_at : NULL,
	    .expires_at = r->expires_at[0] ? r->expires_at : NULL,
	    .now_s = clock_wall_ms() / 1000,
	    .default_zone = "UTC",
	    .fixed_zones = 1,
	};
	recipients_set_times(l, &t);
	return 0;
}

/* A bad row as the error of recipients[i] (JSON) or of its line (CSV). */
static int bad_row(const struct creq *r, long line, const struct err *le, struct api_error *e)
{
	char field[40] = "recipients";
	size_t lo = 0, hi = r->nlines;

	while (lo < hi) { /* the last recipient whose row starts at or before line */
		size_t mid = (lo + hi) / 2;
		if (r->lines[mid] <= line)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (r->nlines && lo > 0)
		snprintf(field, sizeof(field), "recipients[%zu]", lo - 1);
	api_fail(e, 422, "invalid_recipient", field, "%s", le->msg);
	if (!r->nlines)
		e->line = line;
	return -1;
}

/* Reads every row once: the first bad one, or too many, refuses it all. */
static int check_rows(const struct creq *r, struct recipient_list *l, struct api_error *e)
{
	struct recipient_row row = {0};
	struct err le;
	long rows = 0;
	int rc, out = 0;

	while ((rc = recipients_next(l, &row, &le)) != 0) {
		if (rc < 0) {
			out = bad_row(r, row.line, &le, e);
			break;
		}
		if (++rows > API_CAMPAIGN_RCPTS_MAX) {
			out = api_fail(e, 413, "too_many_recipients", "recipients",
			               "at most %d recipients per request", API_CAMPAIGN_RCPTS_MAX);
			break;
		}
	}
	recipient_row_free(&row);
	strbuf_free(&row.fields);
	return out;
}

/* The template parsed and bound to the list's columns. */
static int read_template(struct call *c, struct creq *r, const struct recipient_list *l,
                         struct template *tpl, struct api_error *e)
{
	struct err te;

	if (r->tpl_len > API_TEMPLATE_MAX)
		return api_fail(e, 413, "template_too_big", "template",
		                "a template has at most %d bytes", API_TEMPLATE_MAX);
	if (template_parse(TEMPLATE_NAME, r->tpl_text, r->tpl_len, tpl, &te) != 0 ||
	    template_bind(tpl, l->names, l->nnames, &te) != 0)
		return api_fail(e, 422, "invalid_template", "template", "%s", te.msg);
	if (tpl->uses_unsubscribe_url && !c->a->p.cfg->unsubscribe_url)
		return api_fail(e, 422, "invalid_template", "template",
		                "{{unsubscribe_url}} needs unsubscribe.url in the server's "
		                "configuration");
	return check_from(c->t, tpl, r->scope, sizeof(r->scope), e);
}

static json_t *skipped_json(const struct queue_counts *n)
{
	return json_pack("{s:I, s:I, s:I, s:I}", "duplicate", (json_int_t)n->dups, "typo",
	                 (json_int_t)n->typo, "role_account", (json_int_t)n->role, "suppressed",
	                 (json_int_t)n->suppressed);
}

/* Writes the campaign and its rows (all checked) into the open
 * transaction and answers after the commit. */
static void queue_it(struct call *c, struct creq *r, const struct template *tpl)
{
	struct api *a = c->a;
	struct recipient_list l;
	struct campaign_rec rec = {0};
	struct queue_counts n;
	struct api_error ae;
	struct err e;
	int resumed = 0;

	if (open_list(r, &l, &ae) != 0) { /* read once already: cannot fail */
		recipients_close(&l);
		api_reply_error(c, &ae);
		return;
	}
	struct campaign_spec spec = {
	    .id = r->id,
	    .template_path = TEMPLATE_NAME,
	    .template_text = r->tpl_text,
	    .template_len = r->tpl_len,
	    .tpl = tpl,
	    .envelope_from = a->p.cfg->envelope_from,
	    .priority = r->priority,
	    .tenant = c->t->name,
	    .pool = r->has_pool ? r->pool : NULL,
	};
	int k = queue_campaign_open(a->p.store, &spec, &l, &rec, &resumed, &e);
	if (k == 0)
		k = queue_campaign_rows(a->p.store, a->p.sp, a->p.cfg, r->scope, r->id, &l, resumed,
		                        0, NULL, &n, &e);
	recipients_close(&l);
	store_campaign_free(&rec);
	if (k == -1) {
		log_error("api: campaign %s: %s", r->id, e.msg);
		api_error_now(c, 503, "unavailable", NULL,
		              "the queue could not take the campaign; send the same request "
		              "again (with its name, what was queued is not queued twice)");
	} else if (k < 0) {
		api_error_now(c, 409, "campaign_conflict", "name",
		              "a campaign of this name exists with another template or owner");
	} else {
		api_commit_reply(c, 202,
		                 json_pack("{s:s, s:I, s:o}", "id", r->id, "queued",
		                           (json_int_t)n.added, "skipped", skipped_json(&n)));
	}
}

void api_post_campaign(struct call *c)
{
	struct creq r = {0};
	struct template tpl = {0};
	struct recipient_list l = {0};
	struct api_error e;
	const char *ct = c->req->content_type;
	int csv = ct && strncasecmp(ct, "text/csv", 8) == 0;

	int rc = csv ? read_csv(c, &r, &e) : read_json(c, &r, &e);
	if (rc == 0)
		rc = check_times(&r, &e) != 0 || check_pool(c, &r, &e) != 0 ||
		     open_list(&r, &l, &e) != 0 || read_template(c, &r, &l, &tpl, &e) != 0 ||
		     check_rows(&r, &l, &e) != 0;
	recipients_close(&l);
	if (rc != 0)
		api_reply_error(c, &e);
	else
		queue_it(c, &r, &tpl);
	template_free(&tpl);
	creq_free(&r);
}
