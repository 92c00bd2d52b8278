/*
 * notify: a delivery status notification (RFC 3464, msg/dsn.h) to the
 * submitter of a message that failed for good, for tenants that ask for
 * one (tenant.dsn) and do not take bounces themselves through VERP.
 * The DSN is queued in the same stream, from the null sender (never
 * answered by another DSN: a message from <> gets none), in the same
 * group commit as the outcome it reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/scheduler_int.h"
#include "mail/address.h"
#include "msg/dsn.h"
#include "util/log.h"
#include "util/strbuf.h"

static int wants_dsn(const struct scheduler *s, const struct job *j)
{
	const struct tenant *t = tenant_by_name(s->p.cfg, j->camp->tenant);
	return j->r->message && t && t->dsn && !t->verp;
}

/* Queues the DSN; -1 with e set if the store failed. */
static int queue_dsn(struct scheduler *s, const struct job *j, const char *to,
                     const struct strbuf *dsn, int64_t now_s, struct err *e)
{
	struct engine_store *st = &s->p.store;
	char qid[STORE_QID_MAX], key[ADDRESS_MAX + 1];
	struct address a;
	int64_t id;

	if (address_parse(to, strlen(to), &a, e) != 0)
		return 0; /* nowhere to send it: the log has the failure */
	store_new_qid(qid);
	address_dedupe_key(a.mailbox, 1, key, sizeof(key));
	int rc = st->message_add(st->ctx, qid, j->camp->tenant, "", dsn->data, dsn->len, now_s, &id,
	                         e) != 0 ||
	         st->rcpt_add_message(st->ctx, j->camp->id, a.mailbox, key, a.domain, a.utf8_local,
	                              id, now_s, NULL, e) < 0;
	address_free(&a);
	if (rc)
		return -1;
	j->camp->next_fetch_ms = 0; /* it goes out like any submitted message */
	s->dirty = 1;
	return 0;
}

void sched_notify_failure(struct scheduler *s, const struct job *j, const struct attempt *a,
                          int final_state, int64_t now_s)
{
	char *body = NULL, *from = NULL;
	size_t len;
	struct err e;

	if ((final_state != RS_BOUNCED && final_state != RS_EXPIRED) || !wants_dsn(s, j))
		return;
	int k = s->p.store.message_get(s->p.store.ctx, j->r->message, &body, &len, &from, &e);
	if (k < 0) {
		sched_fail(s, &e);
		return;
	}
	if (k == 1 && from[0]) {
		const char *mta = s->p.sources[0]->helo;
		struct dsn_rcpt r = {
		    .address = j->r->mailbox,
		    .action = "failed",
		    .status = a->reply->enhanced[0] ? a->reply->enhanced : NULL,
		    .code = a->reply->local ? 0 : a->reply->code,
		    .reply = a->reply->text,
		    .remote_mta = a->peer && a->peer->host[0] ? a->peer->host : NULL,
		    .last_attempt_s = now_s,
		};
		struct dsn_params p = {
		    .reporting_mta = mta,
		    .to = from,
		    .original = body,
		    .original_len = len,
		    .arrival_s = j->r->queued_at_s,
		    .now_s = now_s,
		    .message_id_domain = s->p.cfg->from_domain,
		};
		struct strbuf dsn = {0};
		if (dsn_build(&p, &r, 1, &dsn, &e) != 0)
			log_warn("no DSN to %s for %s: %s", from, j->r->mailbox, e.msg);
		else if (queue_dsn(s, j, from, &dsn, now_s, &e) != 0)
			sched_fail(s, &e);
		strbuf_free(&dsn);
	}
	free(body);
	free(from);
}
