/* json: see json.h. */
#include "bounce/json.h"

#include <jansson.h>

#include "bounce/parse.h"
#include "mail/classify.h"

static void set(json_t *o, const char *k, const char *v)
{
	if (v && v[0])
		json_object_set_new(o, k, json_string(v));
}

static json_t *report_object(const struct bounce_report *r, const struct classifier *cls)
{
	json_t *o = json_object();

	set(o, "kind", bounce_kind_name(r->kind));
	set(o, "reporting_mta", r->reporting_mta);
	set(o, "feedback_type", r->feedback_type);
	set(o, "user_agent", r->user_agent);
	set(o, "auth_failure", r->auth_failure);
	set(o, "original_rcpt_to", r->original_rcpt);
	set(o, "original_mail_from", r->original_mail_from);
	set(o, "source_ip", r->source_ip);
	set(o, "original_message_id", r->orig_message_id);
	set(o, "original_return_path", r->orig_return_path);
	set(o, "why", r->why);
	json_t *rs = json_array();
	for (size_t i = 0; i < r->nrcpts; i++) {
		const struct bounce_rcpt *x = &r->rcpts[i];
		json_t *j = json_object();
		struct classification c;
		int code = x->code ? x->code : x->status[0] == '4' ? 450 : 550;
		classify(cls, STAGE_DSN, code, x->enhanced,
		         x->diagnostic[0] ? x->diagnostic : x->status, &c);
		set(j, "original", x->original);
		set(j, "final", x->final);
		set(j, "action", x->action);
		set(j, "status", x->status);
		set(j, "remote_mta", x->remote_mta);
		set(j, "diagnostic", x->diagnostic);
		if (x->code)
			json_object_set_new(j, "code", json_integer(x->code));
		set(j, "enhanced", x->enhanced);
		set(j, "category", category_name(c.category));
		json_object_set_new(j, "permanent", json_boolean(c.permanent));
		json_array_append_new(rs, j);
	}
	if (r->nrcpts)
		json_object_set_new(o, "recipients", rs);
	else
		json_decref(rs);
	return o;
}

char *bounce_json(const struct bounce_report *r, const struct classifier *cls)
{
	json_t *o = report_object(r, cls);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);

	json_decref(o);
	return s;
}
