/*
 * api_tplmsg: POST /v1/messages with a stored template: {"template_id",
 * "to", "fields"?, "from"?, "send_at"?, "expires_at"?, "pool"?}. The
 * template is that of one of the tenant's campaigns (POST /v1/campaigns or
 * `sluice send` stored it with its list's column names); another tenant's
 * campaign, or a stream, is answered like an unknown id (404).
 *
 * The template is parsed and bound to the stored column names as the
 * engine binds it (serve.c), then rendered once per recipient with the
 * recipient's address as its email column and the request's fields as
 * the others: a placeholder without a field is a 422 missing_field naming
 * fields.NAME, a field that is no column of the campaign a 422
 * unknown_field. Message-ID (<fresh queue id@the From domain>) and Date
 * (now) are the renderer's, as for a campaign's message. There is no
 * campaign recipient behind a single message, so no one-click link for
 * {{unsubscribe_url}}: such a template is refused (422 invalid_template);
 * List-Unsubscribe is added at delivery as for any submitted mail, when
 * the tenant's list_unsubscribe asks.
 *
 * Each rendered message is then queued like a raw one (ports.queue:
 * submit_queue), envelope sender from (default: the template's From
 * address), one recipient each, so the sender domain, suppression and
 * rate checks apply per message. Every request is checked and the first
 * message rendered before anything is written; a refusal of the first
 * message is the answer (as for a raw message). A refusal of a later one
 * cannot undo the earlier ones (already in the open transaction): the 202
 * lists what was queued (id, ids) and what was refused (refused[]).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "list/csv.h"
#include "mail/address.h"
#include "mail/fields.h"
#include "mail/mime.h"
#include "msg/template.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define TPLMSG_NAME   "template"
#define TPLMSG_ID_MAX 200 /* bytes of a campaign id looked up */

/* The stored template, ready to render. */
struct tplmsg {
	struct campaign_rec rec;
	struct template tpl;
	char *names[CSV_FIELDS_MAX];
	size_t nn;
	char from[ADDRESS_MAX + 1]; /* the template's From address */
	const char *domain;         /* its domain (in from) */
};

static void tplmsg_free(struct tplmsg *t)
{
	for (size_t i = 0; i < t->nn; i++)
		free(t->names[i]);
	template_free(&t->tpl);
	store_campaign_free(&t->rec);
}

/* The first address of the template's From into t->from. */
static int template_from(struct tplmsg *t, struct api_error *e)
{
	struct mime_entity ent;
	struct strbuf v = STRBUF_INIT;
	struct address a;
	struct err ae;

	mime_entity(t->tpl.text, t->tpl.len, &ent);
	if (!mime_header(&ent, "From", &v) || !v.data || !strchr(v.data, '@')) {
		strbuf_free(&v);
		return api_fail(e, 422, "no_from", "template_id",
		                "the template has no From address");
	}
	const char *s = v.data, *lt = strchr(s, '<');
	size_t n;
	if (lt) {
		s = lt + 1;
		n = strcspn(s, ">");
	} else {
		s += strspn(s, " \t");
		n = strcspn(s, " \t,");
	}
	int rc = address_parse(s, n, &a, &ae);
	strbuf_free(&v);
	if (rc != 0)
		return api_fail(e, 422, "no_from", "template_id", "the template's From: %s",
		                ae.msg);
	snprintf(t->from, sizeof(t->from), "%s", a.mailbox);
	address_free(&a);
	t->domain = strchr(t->from, '@') + 1;
	return 0;
}

/* The tenant's campaign id, its template parsed and bound as the engine
 * binds it. */
static int load(struct call *c, const char *id, struct tplmsg *t, struct api_error *e)
{
	struct err se;
	size_t len;
	const char *v;

	int k =
	    strlen(id) <= TPLMSG_ID_MAX ? store_campaign_get(c->a->p.store, id, &t->rec, &se) : 0;
	if (k < 0) {
		log_error("api: %s", se.msg);
		return api_fail(e, 503, "unavailable", NULL, "the queue cannot be read now");
	}
	if (k == 0 || t->rec.kind != CAMPAIGN_TEMPLATE ||
	    strcmp(t->rec.tenant ? t->rec.tenant : "", c->t->name) != 0)
		return api_fail(e, 404, "not_found", "template_id", "no such campaign");
	while (t->nn < CSV_FIELDS_MAX &&
	       (v = fields_get(t->rec.names, t->rec.names_len, t->nn, &len)))
		t->names[t->nn++] = xstrndup(v, len);
	if (template_parse(TPLMSG_NAME, t->rec.template_text, t->rec.template_len, &t->tpl, &se) !=
	        0 ||
	    template_bind(&t->tpl, t->names, t->nn, &se) != 0)
		return api_fail(e, 422, "invalid_template", "template_id", "%s", se.msg);
	if (t->tpl.uses_unsubscribe_url)
		return api_fail(e, 422, "invalid_template", "template_id",
		                "the template has {{unsubscribe_url}}, a campaign recipient's "
		                "link: a single message has none");
	return template_from(t, e);
}

/* The value of field name (case-insensitive), or NULL. */
static json_t *field_of(json_t *fields, const char *name)
{
	const char *k;
	json_t *v;

	json_object_foreach(fields, k, v)
	{
		if (strcasecmp(k, name) == 0)
			return v;
	}
	return NULL;
}

/* Every field a column of the campaign (not email), every placeholder
 * given a field. */
static int check_fields(const struct tplmsg *t, json_t *fields, struct api_error *e)
{
	char field[API_FIELD_MAX];
	const char *k;
	json_t *v;

	json_object_foreach(fields, k, v)
	{
		size_t i = 0;
		while (i < t->nn && strcasecmp(t->names[i], k) != 0)
			i++;
		snprintf(field, sizeof(field), "fields.%.100s", k);
		if (i == t->nn || i == t->tpl.email_col)
			return api_fail(e, 422, "unknown_field", field,
			                i == t->nn ? "'%.80s' is not a field of the template"
			                           : "'%.80s' is the recipient: give it in 'to'",
			                k);
	}
	for (size_t i = 0; i < t->tpl.nsegs; i++) {
		const struct tpl_seg *s = &t->tpl.segs[i];
		if (!s->has_field || s->col == t->tpl.email_col || s->col == TPL_COL_UNSUBSCRIBE)
			continue;
		if (!field_of(fields, s->name)) {
			snprintf(field, sizeof(field), "fields.%.100s", s->name);
			return api_fail(e, 422, "missing_field", field,
			                "the template needs the field '%.80s'", s->name);
		}
	}
	return 0;
}

/* The packed fields of recipient to: its address as email, the rest from
 * fields ("" for a column the template does not use). */
static void pack(const struct tplmsg *t, json_t *fields, const char *to, struct strbuf *blob)
{
	struct strbuf cell = STRBUF_INIT;

	strbuf_reset(blob);
	for (size_t i = 0; i < t->nn; i++) {
		json_t *v = i == t->tpl.email_col ? NULL : field_of(fields, t->names[i]);
		strbuf_reset(&cell);
		if (i == t->tpl.email_col)
			strbuf_adds(&cell, to);
		else if (json_is_string(v))
			strbuf_add(&cell, json_string_value(v), json_string_length(v));
		else if (json_is_integer(v))
			strbuf_addf(&cell, "%lld", (long long)json_integer_value(v));
		else if (json_is_real(v))
			strbuf_addf(&cell, "%.17g", json_real_value(v));
		else if (json_is_boolean(v))
			strbuf_adds(&cell, json_is_true(v) ? "true" : "false");
		fields_add(blob, cell.data ? cell.data : "", cell.len);
	}
	strbuf_free(&cell);
}

/* The message of recipient to into out: 0, or -1 with e (a rendered line
 * over 998 octets). */
static int render(const struct tplmsg *t, json_t *fields, const char *to, struct strbuf *out,
                  struct api_error *e)
{
	struct strbuf blob = STRBUF_INIT;
	char qid[STORE_QID_MAX], mid[ADDRESS_MAX + STORE_QID_MAX + 4];
	unsigned needs = 0;
	struct err re;

	pack(t, fields, to, &blob);
	store_new_qid(qid);
	snprintf(mid, sizeof(mid), "<%s@%s>", qid, t->domain);
	struct render_in in = {
	    .fields = blob.data,
	    .fields_len = blob.len,
	    .message_id = mid,
	    .date_s = clock_wall_ms() / 1000,
	};
	strbuf_reset(out);
	int rc = template_render(&t->tpl, &in, out, &needs, &re);
	strbuf_free(&blob);
	if (rc != 0)
		return api_fail(e, 422, "invalid_template", "fields", "%s", re.msg);
	return 0;
}

/* Queues the message of recipient i: 0 with qid, or -1 with e. */
static int queue_one(struct call *c, const struct api_message *m, const struct tplmsg *t, size_t i,
                     const struct strbuf *data, char *qid, struct api_error *e)
{
	struct submit_refusal r;
	struct submit_msg sm = {
	    .tenant = c->t,
	    .mail_from = m->from ? m->from : t->from,
	    .rcpts = &m->to[i],
	    .nrcpts = 1,
	    .data = data->data,
	    .len = data->len,
	    .send_at_s = m->send_at_s,
	    .expires_at_s = m->expires_at_s,
	    .pool = m->pool,
	};
	if (c->a->p.ports.queue(c->a->p.ports.ctx, &sm, qid, &r) == 0)
		return 0;
	return api_fail(e, api_refusal_status(&r), r.name ? r.name : "refused", r.field, "%s",
	                r.reply);
}

static json_t *refused_json(const char *to, const struct api_error *e)
{
	return json_pack("{s:s, s:s, s:s}", "to", to, "code", e->code, "message", e->message);
}

void api_post_template_message(struct call *c, const struct api_message *m)
{
	struct tplmsg t = {0};
	struct strbuf data = STRBUF_INIT;
	struct api_error e;
	char qid[SUBMIT_QUEUE_ID_MAX];
	json_t *ids = json_array(), *refused = json_array();

	if (load(c, m->template_id, &t, &e) != 0 || check_fields(&t, m->fields, &e) != 0 ||
	    render(&t, m->fields, m->to[0], &data, &e) != 0) {
		api_reply_error(c, &e);
		goto out;
	}
	if (!c->a->p.ports.queue) {
		api_error_now(c, 503, "unavailable", NULL, "submission is not running");
		goto out;
	}
	if (queue_one(c, m, &t, 0, &data, qid, &e) != 0) {
		api_reply_error(c, &e);
		goto out;
	}
	json_array_append_new(ids, json_string(qid));
	for (size_t i = 1; i < m->nto; i++) {
		if (render(&t, m->fields, m->to[i], &data, &e) == 0 &&
		    queue_one(c, m, &t, i, &data, qid, &e) == 0)
			json_array_append_new(ids, json_string(qid));
		else
			json_array_append_new(refused, refused_json(m->to[i], &e));
	}
	json_t *o = json_pack("{s:O, s:O, s:s}", "id", json_array_get(ids, 0), "ids", ids, "status",
	                      "queued");
	if (json_array_size(refused))
		json_object_set(o, "refused", refused);
	api_commit_reply(c, 202, o);
out:
	json_decref(ids);
	json_decref(refused);
	strbuf_free(&data);
	tplmsg_free(&t);
}
