/* queue_campaign: see queue_campaign.h. */
#include "list/queue_campaign.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "list/hygiene.h"
#include "mail/address.h"
#include "mail/config.h"
#include "mail/tenant.h"
#include "msg/template.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

/* 0 if the stored campaign rec can take more rows of spec, else -2 or -3. */
static int same_campaign(const struct campaign_spec *spec, const struct campaign_rec *rec,
                         struct err *e)
{
	const char *owner = spec->tenant ? spec->tenant : TENANT_DEFAULT;
	struct template stored;
	struct err pe;

	if (rec->kind != CAMPAIGN_TEMPLATE || strcmp(rec->tenant ? rec->tenant : "", owner) != 0) {
		err_set(e, "campaign %s exists and is not this tenant's template campaign",
		        spec->id);
		return -3;
	}
	int same = template_parse(spec->template_path, rec->template_text, rec->template_len,
	                          &stored, &pe) == 0 &&
	           strcmp(stored.text, spec->tpl->text) == 0;
	template_free(&stored);
	if (!same) {
		err_set(e,
		        "campaign %s was queued with a different template; name the new one "
		        "with --campaign",
		        spec->id);
		return -2;
	}
	/* one envelope domain per campaign: greylisting and SPF key on it */
	const char *was = strrchr(rec->envelope_from, '@'),
	           *now = strrchr(spec->envelope_from, '@');
	if (was && now && strcasecmp(was, now) != 0) {
		err_set(e,
		        "campaign %s was queued with envelope sender %s; the config now says "
		        "%s: a campaign keeps one envelope domain (name a new one with "
		        "--campaign)",
		        spec->id, rec->envelope_from, spec->envelope_from);
		return -2;
	}
	return 0;
}

int queue_campaign_open(struct store *st, const struct campaign_spec *spec,
                        const struct recipient_list *list, struct campaign_rec *rec, int *resumed,
                        struct err *e)
{
	int found = store_campaign_get(st, spec->id, rec, e);

	if (found < 0)
		return -1;
	*resumed = found;
	if (found)
		return same_campaign(spec, rec, e);
	struct strbuf names = STRBUF_INIT;
	unsigned char rnd[6];
	char salt[16];
	recipients_names_blob(list, &names);
	RAND_bytes(rnd, sizeof(rnd));
	for (int i = 0; i < 6; i++)
		snprintf(salt + 2 * i, sizeof(salt) - 2 * (size_t)i, "%02x", rnd[i]);
	rec->id = xstrdup(spec->id);
	rec->template_text = xmalloc(spec->template_len + 1);
	memcpy(rec->template_text, spec->template_text, spec->template_len);
	rec->template_text[spec->template_len] = '\0';
	rec->template_len = spec->template_len;
	rec->template_path = xstrdup(spec->template_path);
	rec->names_len = names.len;
	rec->names = strbuf_detach(&names);
	rec->envelope_from = xstrdup(spec->envelope_from);
	rec->salt = xstrdup(salt);
	rec->created_s = clock_wall_ms() / 1000;
	rec->priority = spec->priority;
	rec->tenant = spec->tenant ? xstrdup(spec->tenant) : NULL;
	rec->kind = CAMPAIGN_TEMPLATE;
	rec->pool = spec->pool ? xstrdup(spec->pool) : NULL;
	return store_campaign_add(st, rec, e);
}

static void skipped(const struct queue_hooks *h, struct queue_counts *n,
                    const struct recipient_row *row, const char *reason, const char *detail)
{
	if (strcmp(reason, "typo") == 0)
		n->typo++;
	else if (strcmp(reason, "role_account") == 0)
		n->role++;
	else if (strcmp(reason, "suppressed") == 0)
		n->suppressed++;
	if (h && h->skipped)
		h->skipped(h->arg, row, reason, detail);
}

/* Screens and queues one parsed row: 0, or -1 with e. */
static int queue_row(struct store *st, struct suppress *sp, const struct config *cfg,
                     const char *scope, const char *campaign, const struct recipient_row *row,
                     int64_t now_s, int resumed, const struct queue_hooks *h,
                     struct queue_counts *n, struct err *e)
{
	char detail[200], key[ADDRESS_MAX + 1];
	int failed = 0;
	const char *why = hygiene_screen_for(cfg, sp, scope ? scope : cfg->from_domain, &row->addr,
	                                     detail, sizeof(detail), &failed, e);

	if (failed)
		return -1;
	if (why) {
		skipped(h, n, row, why, detail);
		return 0;
	}
	address_dedupe_key(row->addr.mailbox, cfg->case_sensitive_local, key, sizeof(key));
	struct rcpt_times times = {row->send_at_s, row->expires_at_s};
	int r = store_rcpt_add_at(st, campaign, row->addr.mailbox, key, row->addr.domain,
	                          row->fields.data, row->fields.len, row->addr.utf8_local, now_s,
	                          &times, e);
	if (r < 0)
		return -1;
	if (r == 0) {
		n->dups++;
		if (!resumed)
			skipped(h, n, row, "duplicate", "the same mailbox as an earlier row");
		return 0;
	}
	n->added++;
	if (row->send_at_s > now_s) {
		n->waiting++;
		if (!n->first_send || row->send_at_s < n->first_send)
			n->first_send = row->send_at_s;
	}
	return 0;
}

int queue_campaign_rows(struct store *st, struct suppress *sp, const struct config *cfg,
                        const char *scope, const char *campaign, struct recipient_list *list,
                        int resumed, long commit_rows, const struct queue_hooks *h,
                        struct queue_counts *n, struct err *e)
{
	struct recipient_row row = {0};
	struct err re;
	int64_t now_s = list->times.now_s;
	int rc, failed = 0;

	memset(n, 0, sizeof(*n));
	while ((rc = recipients_next(list, &row, &re)) != 0) {
		if (rc < 0) {
			n->bad++;
			if (h && h->bad_row)
				h->bad_row(h->arg, row.line, &re);
			continue;
		}
		n->rows++;
		if (queue_row(st, sp, cfg, scope, campaign, &row, now_s, resumed, h, n, e) != 0) {
			failed = 1;
			break;
		}
		if (commit_rows > 0 && n->rows % commit_rows == 0) {
			if (store_commit(st, e) != 0) {
				failed = 1;
				break;
			}
			if (h && h->progress)
				h->progress(h->arg, n->rows);
		}
	}
	recipient_row_free(&row);
	strbuf_free(&row.fields);
	if (failed || (commit_rows > 0 && store_commit(st, e) != 0))
		return -1;
	return 0;
}
