/* inbound_events: see inbound_events.h. */
#include "inbound/inbound_events.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "mail/category.h"
#include "store/events.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/utf8.h"

static void set_str(json_t *o, const char *k, const char *v)
{
	if (!v || !v[0])
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

int inbound_event(struct inbound *in, const struct inbound_result *res, const char *type, int code,
                  const char *enh, const char *text, const struct classification *c, struct err *e)
{
	char tenant[128];

	if (!res->recipient[0] || in->cfg->nwebhooks == 0)
		return 0; /* events are kept while webhooks are configured */
	if (store_campaign_owner(in->store, res->campaign, tenant, sizeof(tenant), e) != 1)
		snprintf(tenant, sizeof(tenant), "default");
	json_t *d = json_object();
	set_str(d, "source", res->kind);
	if (code) {
		json_object_set_new(d, "stage", json_string("dsn"));
		json_object_set_new(d, "code", json_integer(code));
		set_str(d, "enhanced", enh);
		set_str(d, "reply", text);
	}
	if (c)
		set_str(d, "category", category_name(c->category));
	set_str(d, "list_action", res->action);
	set_str(d, "evidence", res->evidence);
	char *data = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(d);
	struct store_event ev = {tenant,        type,           clock_wall_ms() / 1000,
	                         res->campaign, res->recipient, data ? data : "{}"};
	int rc = store_event_add(in->store, &ev, e);
	free(data);
	return rc;
}
