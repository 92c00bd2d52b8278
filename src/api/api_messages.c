/*
 * api_messages: GET /v1/messages/{id}, a submitted message by its queue id
 * (the id POST /v1/messages and SMTP submission answered): its envelope
 * sender, when it was stored, and where each of its recipients stands.
 * Another tenant's id is answered exactly like an unknown one (404).
 */
#include <jansson.h>
#include <string.h>

#include "api/api_int.h"
#include "store/lookup.h"
#include "store/store.h"
#include "util/log.h"

#define QID_TEXT_MAX 64

struct rcpts {
	json_t *rows;
};

static json_t *or_null(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

static void rcpt_row(void *arg, const struct rcpt_row *r)
{
	struct rcpts *l = arg;
	json_t *o = json_pack("{s:s, s:s, s:i, s:o, s:o, s:o}", "address", r->mailbox, "state",
	                      api_state_name(r->state), "attempts", r->attempts, "queued_at",
	                      api_time_json(r->queued_at_s), "category", or_null(r->category),
	                      "last_mx", or_null(r->last_mx));

	json_object_set_new(o, "next_attempt_at",
	                    r->state == RS_QUEUED ? api_time_json(r->next_attempt_s) : json_null());
	if (r->last_code)
		json_object_set_new(o, "last_reply",
		                    json_pack("{s:i, s:s, s:s, s:s}", "code", r->last_code,
		                              "enhanced", r->last_enhanced, "text", r->last_reply,
		                              "stage", r->last_stage));
	else
		json_object_set_new(o, "last_reply", json_null());
	json_array_append_new(l->rows, o);
}

void api_get_message(struct call *c)
{
	struct store_message_info m;
	struct rcpts l = {json_array()};
	struct err e;
	const char *qid = c->seg[1];

	int found = strlen(qid) < QID_TEXT_MAX
	                ? store_message_lookup(c->a->p.store, qid, c->t->name, &m, rcpt_row, &l, &e)
	                : 0;
	if (found < 0) {
		json_decref(l.rows);
		log_error("api: %s", e.msg);
		api_error_now(c, 503, "unavailable", NULL,
		              "the queue cannot be read now, try again");
		return;
	}
	if (found == 0) {
		json_decref(l.rows);
		api_error_now(c, 404, "not_found", "id", "no such message");
		return;
	}
	api_reply(c, 200,
	          json_pack("{s:s, s:s, s:o, s:o}", "id", qid, "from", m.mail_from, "created_at",
	                    api_time_json(m.created_s), "recipients", l.rows));
}
