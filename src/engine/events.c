/*
 * events: the engine's events (store/events.h), written through the store
 * port into the same open transaction as the outcome they tell of, so the
 * group commit makes both durable or neither (scheduler_int.h). A
 * recipient's outcome (delivered, deferred, bounced, expired, suppressed),
 * a campaign found finished, a site suspended by a reply rule. The data of
 * each is a JSON object; texts from outside that are not UTF-8 are escaped
 * (util/utf8.h), as the delivery log does. Without an event_add in the
 * port (the engine's unit tests' fakes may leave it out) nothing is kept.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "engine/outcome.h"
#include "engine/scheduler_int.h"
#include "mail/category.h"
#include "mail/stage.h"
#include "util/strbuf.h"
#include "util/utf8.h"

static void set_str(json_t *o, const char *k, const char *v)
{
	if (!v)
		return;
	if (utf8_valid(v, strlen(v))) {
		json_object_set_new(o, k, json_string(v));
		return;
	}
	struct strbuf b = STRBUF_INIT;
	utf8_escape_invalid(v, strlen(v), &b);
	json_object_set_new(o, k, json_string(b.data ? b.data : ""));
	strbuf_free(&b);
}

/* Writes the event with data (consumed); a failure stops the engine as
 * any failed store write does. */
static void add(struct scheduler *s, const char *tenant, const char *type, int64_t now_s,
                const char *campaign, const char *recipient, json_t *data)
{
	char *text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
	struct store_event ev = {tenant, type, now_s, campaign, recipient, text ? text : "{}"};
	struct err e;

	json_decref(data);
	if (s->p.store.event_add(s->p.store.ctx, &ev, &e) != 0)
		sched_fail(s, &e);
	free(text);
}

void sched_event_outcome(struct scheduler *s, const struct job *j, const struct attempt *a,
                         const struct outcome *o, const char *list_action, int64_t now_s)
{
	if (!s->p.store.event_add)
		return;
	json_t *d = json_object();
	set_str(d, "stage", stage_name(a->stage));
	json_object_set_new(d, "code", json_integer(a->reply->code));
	set_str(d, "enhanced", a->reply->enhanced[0] ? a->reply->enhanced : NULL);
	set_str(d, "reply", a->reply->text);
	set_str(d, "category", category_name(o->category));
	json_object_set_new(d, "attempt", json_integer(o->attempts));
	if (o->state == RS_QUEUED)
		json_object_set_new(d, "next_attempt", json_integer(o->next_attempt_s));
	set_str(d, "mx", a->peer && a->peer->host[0] ? a->peer->host : NULL);
	set_str(d, "message_id", j->msgid[0] ? j->msgid : NULL);
	set_str(d, "rule", o->rule ? o->rule->name : NULL);
	set_str(d, "list_action", a->suppressed ? a->suppressed : list_action);
	add(s, j->camp->tenant, o->name, now_s, j->camp->id, j->r->mailbox, d);
}

void sched_event_campaign(struct scheduler *s, const struct sched_campaign *c, const char *type)
{
	int64_t counts[RS_COUNT];
	struct err e;

	if (!s->p.store.event_add)
		return;
	json_t *d = json_object();
	if (s->p.store.counts && s->p.store.counts(s->p.store.ctx, c->id, counts, &e) == 0) {
		static const char *const names[RS_COUNT] = {"queued",  "delivered",  "bounced",
		                                            "expired", "suppressed", "cancelled"};
		for (int i = 0; i < RS_COUNT; i++)
			json_object_set_new(d, names[i], json_integer(counts[i]));
	}
	add(s, c->tenant, type, sched_wall_ms(s) / 1000, c->id, NULL, d);
}

void sched_event_site(struct scheduler *s, const struct site *site, const char *type,
                      const char *reason, int64_t until_s)
{
	if (!s->p.store.event_add)
		return;
	json_t *d = json_object();
	set_str(d, "site", site->key);
	set_str(d, "provider", site->provider ? site->provider->name : NULL);
	set_str(d, "source", site->source ? site->source->ip : NULL);
	set_str(d, "reason", reason);
	if (until_s)
		json_object_set_new(d, "until", json_integer(until_s));
	add(s, "", type, sched_wall_ms(s) / 1000, NULL, NULL, d);
}
