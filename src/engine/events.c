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
#include <stdlib.h>
#include <string.h>

#include "engine/outcome.h"
#include "engine/scheduler_int.h"
#include "mail/category.h"
#include "mail/stage.h"
#include "util/jsonw.h"
#include "util/strbuf.h"

/* Writes the event whose data s->event_json holds; a failure stops the
 * engine as any failed store write does. */
static void add(struct scheduler *s, const char *tenant, const char *type, int64_t now_s,
                const char *campaign, const char *recipient)
{
	struct store_event ev = {tenant, type, now_s, campaign, recipient, s->event_json.data};
	struct err e;

	if (s->p.store.event_add(s->p.store.ctx, &ev, &e) != 0)
		sched_fail(s, &e);
}

void sched_event_outcome(struct scheduler *s, const struct job *j, const struct attempt *a,
                         const struct outcome *o, const char *list_action, int64_t now_s)
{
	if (!s->p.store.event_add)
		return;
	struct strbuf *d = &s->event_json;
	jsonw_begin(d);
	jsonw_str(d, "stage", stage_name(a->stage));
	jsonw_int(d, "code", a->reply->code);
	jsonw_str(d, "enhanced", a->reply->enhanced[0] ? a->reply->enhanced : NULL);
	jsonw_str(d, "reply", a->reply->text);
	jsonw_str(d, "category", category_name(o->category));
	jsonw_int(d, "attempt", o->attempts);
	if (o->state == RS_QUEUED)
		jsonw_int(d, "next_attempt", o->next_attempt_s);
	jsonw_str(d, "mx", a->peer && a->peer->host[0] ? a->peer->host : NULL);
	jsonw_str(d, "message_id", j->msgid[0] ? j->msgid : NULL);
	jsonw_str(d, "rule", o->rule ? o->rule->name : NULL);
	jsonw_str(d, "list_action", a->suppressed ? a->suppressed : list_action);
	jsonw_end(d);
	add(s, j->camp->tenant, o->name, now_s, j->camp->id, j->r->mailbox);
}

void sched_event_campaign(struct scheduler *s, const struct sched_campaign *c, const char *type)
{
	int64_t counts[RS_COUNT];
	struct err e;

	if (!s->p.store.event_add)
		return;
	struct strbuf *d = &s->event_json;
	jsonw_begin(d);
	if (s->p.store.counts && s->p.store.counts(s->p.store.ctx, c->id, counts, &e) == 0) {
		static const char *const names[RS_COUNT] = {"queued",  "delivered",  "bounced",
		                                            "expired", "suppressed", "cancelled"};
		for (int i = 0; i < RS_COUNT; i++)
			jsonw_int(d, names[i], counts[i]);
	}
	jsonw_end(d);
	add(s, c->tenant, type, sched_wall_ms(s) / 1000, c->id, NULL);
}

void sched_event_site(struct scheduler *s, const struct site *site, const char *type,
                      const char *reason, int64_t until_s)
{
	if (!s->p.store.event_add)
		return;
	struct strbuf *d = &s->event_json;
	jsonw_begin(d);
	jsonw_str(d, "site", site->key);
	jsonw_str(d, "provider", site->provider ? site->provider->name : NULL);
	jsonw_str(d, "source", site->source ? site->source->ip : NULL);
	jsonw_str(d, "reason", reason);
	if (until_s)
		jsonw_int(d, "until", until_s);
	jsonw_end(d);
	add(s, "", type, sched_wall_ms(s) / 1000, NULL, NULL);
}
