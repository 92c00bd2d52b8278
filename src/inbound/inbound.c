/* inbound: see inbound.h. */
#include "inbound/inbound.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/classify.h"
#include "bounce/parse.h"
#include "engine/monitor.h"
#include "engine/outcome.h"
#include "engine/ports.h"
#include "inbound/inbound_events.h"
#include "store/suppress.h"
#include "mail/config.h"
#include "msg/verp.h"
#include "dlog/dlog.h"
#include "shape/warmup.h"
#include "store/store.h"
#include "util/clock.h"

#define UNSUB_LOCAL "unsubscribe"

/* A recipient found from a token: who, and how. */
struct found {
	char mailbox[256], campaign[128];
	const char *via;
};

/* The danger-sign thresholds of campaign's tenant. */
static const struct monitor_policy *campaign_monitor(const struct inbound *in, const char *campaign)
{
	char tenant[TENANT_NAME_MAX + 1];
	struct err e;

	if (store_campaign_owner(in->store, campaign, tenant, sizeof(tenant), &e) != 1)
		return &in->cfg->monitor;
	return tenant_monitor(in->cfg, tenant);
}

/* The suppression scope for a recipient of campaign (its tenant's). */
static const char *scope_of(const struct inbound *in, const char *campaign)
{
	char tenant[TENANT_NAME_MAX + 1];
	struct err e;

	if (!campaign || !campaign[0] ||
	    store_campaign_owner(in->store, campaign, tenant, sizeof(tenant), &e) != 1)
		return tenant_scope(in->cfg, NULL);
	return tenant_scope_by_name(in->cfg, tenant);
}

/* One token's check and look-up, kept while a message is read: a report
 * that quotes the same token twice (the original's Return-Path and its
 * Original-Mail-From) has it verified and looked up once. */
struct token_memo {
	const char *purpose; /* NULL: empty */
	char tok[BOUNCE_FIELD_MAX];
	size_t len;
	int r;              /* 1 found, 0 not */
	const char *reason; /* when not: "forged token", ... */
	struct found f;
};

static int memo_has(const struct token_memo *m, const char *purpose, const char *tok, size_t len)
{
	return m && m->purpose && strcmp(m->purpose, purpose) == 0 && m->len == len &&
	       memcmp(m->tok, tok, len) == 0;
}

/* Checks the token's HMAC and looks it up: 1 found, 0 not (*reason set),
 * -1 error. */
static int token_lookup(const struct inbound *in, const char *purpose, const char *tok, size_t len,
                        struct found *f, const char **reason, struct err *e)
{
	char salt[VERP_SALT_MAX];
	int64_t id;
	enum verp_check c = in->cfg->secret
	                        ? verp_token_check(in->cfg->secret, purpose, tok, len, salt, &id)
	                        : VERP_MALFORMED;

	if (c != VERP_OK) {
		*reason = c == VERP_FORGED ? "forged token" : "malformed token";
		return 0;
	}
	int r = store_rcpt_by_salt(in->store, salt, id, f->mailbox, sizeof(f->mailbox), f->campaign,
	                           sizeof(f->campaign), e);
	*reason = "no such campaign or recipient";
	return r;
}

/* Looks the token up (once per memo, which may be NULL): 1 found, 0
 * forged/unknown (why set), -1 error. */
static int by_token(const struct inbound *in, const char *purpose, const char *tok, size_t len,
                    struct found *f, const char *via, char *why, size_t wn, struct token_memo *memo,
                    struct err *e)
{
	const char *reason = NULL;
	int r;

	if (memo_has(memo, purpose, tok, len)) {
		r = memo->r;
		reason = memo->reason;
		if (r == 1)
			*f = memo->f;
	} else {
		r = token_lookup(in, purpose, tok, len, f, &reason, e);
		if (memo && r >= 0 && len < sizeof(memo->tok)) {
			*memo = (struct token_memo){
			    .purpose = purpose, .len = len, .r = r, .reason = reason, .f = *f};
			memcpy(memo->tok, tok, len);
		}
	}
	if (r == 0)
		snprintf(why, wn, "%s: %s", via, reason);
	if (r == 1)
		f->via = via;
	return r;
}

/* Splits addr at its last '@'; returns the local part's length or -1. */
static int local_len(const char *addr, const char **domain)
{
	const char *at = strrchr(addr, '@');
	if (!at)
		return -1;
	*domain = at + 1;
	return (int)(at - addr);
}

void inbound_init(struct inbound *in, const struct config *cfg, struct store *store,
                  struct suppress *sp, struct dlog *log, const struct classifier *cls)
{
	memset(in, 0, sizeof(*in));
	in->cfg = cfg;
	in->store = store;
	in->store_port = engine_store_sqlite(store);
	in->sp = sp;
	in->log = log;
	in->cls = cls;
	struct inbound_budget *budgets[] = {&in->reports, &in->unsubscribes};
	for (size_t i = 0; i < 2; i++) {
		bucket_init(&budgets[i]->b, INBOUND_UNVERIFIED_PER_S, clock_mono_ms());
		budgets[i]->b.burst = budgets[i]->b.tokens = INBOUND_UNVERIFIED_BURST;
	}
}

void inbound_reconfigure(struct inbound *in, const struct config *cfg, const struct classifier *cls)
{
	in->cfg = cfg;
	in->cls = cls;
}

/* 1 if domain is one serve receives mail for as itself. */
static int own_domain(const struct config *cfg, const char *domain)
{
	const char *fb = cfg->feedback_address ? strrchr(cfg->feedback_address, '@') : NULL;
	const char *host = cfg->inbound_hostname ? cfg->inbound_hostname
	                   : cfg->nsources > 0   ? cfg->sources[0].helo
	                                         : NULL;

	return (cfg->bounce_domain && strcasecmp(domain, cfg->bounce_domain) == 0) ||
	       (fb && strcasecmp(domain, fb + 1) == 0) || (host && strcasecmp(domain, host) == 0);
}

/* inbound_accepts, and for IR_BOUNCE and IR_UNSUBSCRIBE the recipient its
 * token names in *f (via "envelope"). */
static int check_rcpt(const struct inbound *in, const char *addr, struct found *f, char *why,
                      size_t n, struct err *e)
{
	const struct config *cfg = in->cfg;
	const char *domain, *tok;
	size_t toklen;
	int ll = local_len(addr, &domain);

	if (ll < 0 && strcasecmp(addr, "postmaster") == 0)
		return IR_POSTMASTER; /* RFC 5321 4.5.1: the bare form */
	if (ll < 0) {
		snprintf(why, n, "5.1.3 not an address");
		return IR_REJECT;
	}
	if (cfg->feedback_address && strcasecmp(addr, cfg->feedback_address) == 0)
		return IR_FEEDBACK;
	if (!own_domain(cfg, domain)) {
		snprintf(why, n, "5.7.1 relay access denied: not a domain of this server");
		return IR_REJECT;
	}
	if (ll == 10 && strncasecmp(addr, "postmaster", 10) == 0)
		return IR_POSTMASTER;
	if (!cfg->bounce_domain || strcasecmp(domain, cfg->bounce_domain) != 0) {
		snprintf(why, n, "5.1.1 no such address");
		return IR_REJECT;
	}
	int kind = IR_REJECT;
	const char *purpose = NULL;
	if (verp_split(cfg->verp_prefix, addr, (size_t)ll, &tok, &toklen))
		kind = IR_BOUNCE, purpose = "bounce";
	else if (verp_split(UNSUB_LOCAL, addr, (size_t)ll, &tok, &toklen))
		kind = IR_UNSUBSCRIBE, purpose = "unsub";
	if (!purpose) {
		snprintf(why, n, "5.1.1 no such address");
		return IR_REJECT;
	}
	char reason[120];
	int r = by_token(in, purpose, tok, toklen, f, "envelope", reason, sizeof(reason), NULL, e);
	if (r < 0)
		return -1;
	if (r == 0) {
		snprintf(why, n, "5.1.1 %s", reason);
		return IR_REJECT;
	}
	return kind;
}

/* The verdict kept for addr at RCPT, if recent: its kind, and whom it
 * named in *f; 0 if none. */
static int accepted_find(const struct inbound *in, const char *addr, struct found *f)
{
	int64_t now = clock_mono_ms();

	for (size_t i = 0; i < INBOUND_ACCEPTED_MAX; i++) {
		const struct inbound_accepted *a = &in->accepted[i];
		if (a->at_ms && now - a->at_ms < INBOUND_ACCEPTED_TTL_MS &&
		    strcmp(a->addr, addr) == 0) {
			snprintf(f->mailbox, sizeof(f->mailbox), "%s", a->mailbox);
			snprintf(f->campaign, sizeof(f->campaign), "%s", a->campaign);
			f->via = "envelope";
			return a->kind;
		}
	}
	return 0;
}

static void accepted_keep(struct inbound *in, const char *addr, int kind, const struct found *f)
{
	if (strlen(addr) >= INBOUND_ADDR_MAX)
		return;
	struct inbound_accepted *a = &in->accepted[in->accepted_next];
	in->accepted_next = (in->accepted_next + 1) % INBOUND_ACCEPTED_MAX;
	a->at_ms = clock_mono_ms();
	a->kind = kind;
	snprintf(a->addr, sizeof(a->addr), "%s", addr);
	snprintf(a->mailbox, sizeof(a->mailbox), "%s", f->mailbox);
	snprintf(a->campaign, sizeof(a->campaign), "%s", f->campaign);
}

int inbound_accepts(struct inbound *in, const char *addr, char *why, size_t n, struct err *e)
{
	struct found f;

	int kind = check_rcpt(in, addr, &f, why, n, e);
	if (kind == IR_BOUNCE || kind == IR_UNSUBSCRIBE)
		accepted_keep(in, addr, kind, &f);
	return kind;
}

/* Tries an address that may carry a VERP bounce token. */
static int try_verp_addr(const struct inbound *in, const char *addr, const char *via,
                         struct found *f, char *notes, size_t nn, struct token_memo *memo,
                         struct err *e)
{
	const char *domain, *tok;
	size_t toklen;
	int ll = addr[0] ? local_len(addr, &domain) : -1;
	char why[120];

	if (ll < 0 || !verp_split(in->cfg->verp_prefix, addr, (size_t)ll, &tok, &toklen))
		return 0;
	int r = by_token(in, "bounce", tok, toklen, f, via, why, sizeof(why), memo, e);
	if (r == 0)
		snprintf(notes + strlen(notes), nn - strlen(notes), "%s; ", why);
	return r;
}

/* The List-Unsubscribe of the original ("unsubscribe+TOKEN@" or
 * ".../TOKEN>"): its token is in every copy's body too ({{unsubscribe_url}}),
 * so it reaches forwarded copies and archives; it names nobody for a
 * report, and is only noted as evidence. */
static void note_list_unsub(const struct inbound *in, const char *lu, char *notes, size_t nn)
{
	const char *p = strcasestr(lu, UNSUB_LOCAL "+");
	size_t len = 0;
	char salt[VERP_SALT_MAX];
	int64_t id;

	if (p) {
		p += strlen(UNSUB_LOCAL) + 1;
		len = strcspn(p, "@>");
	} else if ((p = strchr(lu, '<')) && strncasecmp(p + 1, "http", 4) == 0) {
		const char *close = strchr(p, '>');
		const char *slash = close ? memrchr(p, '/', (size_t)(close - p)) : NULL;
		if (!slash)
			return;
		p = slash + 1;
		len = (size_t)(close - p);
	} else {
		return;
	}
	if (in->cfg->secret &&
	    verp_token_check(in->cfg->secret, "unsub", p, len, salt, &id) == VERP_OK)
		snprintf(notes + strlen(notes), nn - strlen(notes),
		         "list-unsubscribe token %s.%lld (evidence only); ", salt, (long long)id);
}

/* "<TOKEN@domain>" as sluice writes Message-IDs with a secret set
 * (verp_message_id); the unsigned "<ID.SALT@domain>" of a copy sent
 * without one proves nothing and names nobody. */
static int try_message_id(const struct inbound *in, const char *mid, struct found *f, char *notes,
                          size_t nn, struct err *e)
{
	const char *p = strchr(mid, '<'), *at = p ? strchr(p, '@') : NULL;
	char why[120];

	if (!at)
		return 0;
	p++;
	if (!memchr(p, '.', (size_t)(at - p)) ||
	    memchr(p, '.', (size_t)(at - p)) == memrchr(p, '.', (size_t)(at - p))) {
		snprintf(notes + strlen(notes), nn - strlen(notes),
		         "message-id: not signed, evidence only; ");
		return 0;
	}
	int r =
	    by_token(in, "msgid", p, (size_t)(at - p), f, "message-id", why, sizeof(why), NULL, e);
	if (r == 0)
		snprintf(notes + strlen(notes), nn - strlen(notes), "%s; ", why);
	return r;
}

/* The recipient a report is about: the one the envelope's VERP token named
 * (env, found by check_rcpt, when the message came to a return path), else
 * the signed keys the report quotes from our message, each token checked
 * once. 1 found, 0 not, -1 error. */
static int find_recipient(const struct inbound *in, const struct found *env,
                          const struct bounce_report *rep, struct found *f, char *notes, size_t nn,
                          struct err *e)
{
	struct token_memo memo = {0};
	int r = 0;

	if (env) {
		*f = *env;
		return 1;
	}
	memset(f, 0, sizeof(*f));
	if ((r = try_verp_addr(in, rep->orig_return_path, "original return-path", f, notes, nn,
	                       &memo, e)) != 0)
		return r;
	if ((r = try_verp_addr(in, rep->original_mail_from, "original-mail-from", f, notes, nn,
	                       &memo, e)) != 0)
		return r;
	if (rep->orig_list_unsubscribe[0])
		note_list_unsub(in, rep->orig_list_unsubscribe, notes, nn);
	if (rep->orig_message_id[0])
		return try_message_id(in, rep->orig_message_id, f, notes, nn, e);
	return 0;
}

/* Logs res. A record that changed nothing (budget not NULL) is written at
 * most INBOUND_UNVERIFIED_PER_S; the next one written says how many were
 * left out. */
static void log_result(struct inbound *in, struct inbound_result *res,
                       struct inbound_budget *budget, const struct classification *c, int code,
                       const char *enh, const char *text)
{
	if (budget && !in->log_all) {
		if (bucket_take(&budget->b, clock_mono_ms()) != 0) {
			budget->unlogged++;
			return;
		}
		if (budget->unlogged) {
			size_t el = strlen(res->evidence);
			snprintf(res->evidence + el, sizeof(res->evidence) - el,
			         "; %lld more like it not logged before this one",
			         (long long)budget->unlogged);
			budget->unlogged = 0;
		}
	}
	struct dlog_rec rec = {
	    .time_ms = clock_wall_ms(),
	    .campaign = res->campaign[0] ? res->campaign : NULL,
	    .recipient = res->recipient[0] ? res->recipient : NULL,
	    .stage = stage_name(STAGE_INBOUND),
	    .code = code,
	    .enhanced = enh && enh[0] ? enh : NULL,
	    .text = text && text[0] ? text : NULL,
	    .outcome = res->kind,
	    .category = c ? category_name(c->category) : NULL,
	    .list_action = res->action,
	    .evidence = res->evidence,
	};
	dlog_add(in->log, &rec);
}

/* A failed delivery reported by a DSN or a non-standard bounce. */
static int failed_delivery(const struct inbound *in, const struct bounce_rcpt *x,
                           struct inbound_result *res, struct classification *c, int *code,
                           struct err *e)
{
	*code = x->code ? x->code : x->status[0] == '4' ? 450 : 550;
	const char *text = x->diagnostic[0] ? x->diagnostic : x->status;
	classify(in->cls, STAGE_DSN, *code, x->enhanced, text, c);
	if (!res->recipient[0])
		return 0;
	/* a 4xx in a failed DSN: the relay gave up, as an expiry here would */
	enum outcome_list act = outcome_list_action(STAGE_DSN, *code, c, *code / 100 == 4);
	/* a failure report quoting a 2xx is no delivery: it clears nothing */
	if (act == OUTCOME_LIST_CLEAR)
		act = OUTCOME_LIST_NONE;
	struct outcome_subject who = {
	    .address = res->recipient,
	    .scope = scope_of(in, res->campaign),
	    .stage = STAGE_DSN,
	    .code = *code,
	    .evidence = text,
	    .now_s = clock_wall_ms() / 1000,
	};
	return outcome_list_apply(in->sp, &in->cfg->suppression, act, &who, &res->action, e);
}

static int act(struct inbound *in, const struct bounce_report *rep, struct inbound_result *res,
               struct err *e)
{
	struct classification c, *cp = NULL;
	int code = 0, rc = 0;
	const char *enh = NULL, *text = NULL;
	size_t el = strlen(res->evidence);
	char *ev = res->evidence + el;
	size_t en = sizeof(res->evidence) - el;

	res->kind = bounce_kind_name(rep->kind);
	if (rep->kind == RK_DSN || (rep->kind == RK_BOUNCE_GUESS && rep->nrcpts)) {
		const struct bounce_rcpt *x = &rep->rcpts[0];
		for (size_t i = 0; i < rep->nrcpts; i++)
			if (strcmp(rep->rcpts[i].action, "failed") == 0) {
				x = &rep->rcpts[i];
				break;
			}
		snprintf(ev, en, "action %s, status %s, remote-mta %s, reporting-mta %s",
		         rep->nrcpts ? x->action : "-", x->status[0] ? x->status : "-",
		         x->remote_mta[0] ? x->remote_mta : "-",
		         rep->reporting_mta[0] ? rep->reporting_mta : "-");
		if (rep->nrcpts &&
		    (strcmp(x->action, "failed") == 0 || rep->kind == RK_BOUNCE_GUESS)) {
			rc = failed_delivery(in, x, res, &c, &code, e);
			cp = &c;
		}
		enh = x->enhanced;
		text = x->diagnostic;
	} else if (rep->kind == RK_ARF) {
		snprintf(ev, en, "feedback-type %s, user-agent %s, source-ip %s",
		         rep->feedback_type[0] ? rep->feedback_type : "-",
		         rep->user_agent[0] ? rep->user_agent : "-",
		         rep->source_ip[0] ? rep->source_ip : "-");
		if (strcmp(rep->feedback_type, "auth-failure") == 0) {
			res->kind = "auth_failure_report"; /* RFC 6591: not a complaint */
		} else if (strcmp(rep->feedback_type, "abuse") == 0 ||
		           strcmp(rep->feedback_type, "fraud") == 0) {
			res->kind = "complaint";
			if (res->recipient[0] &&
			    suppress_add(in->sp, res->recipient, scope_of(in, res->campaign),
			                 "complaint", res->evidence, clock_wall_ms() / 1000,
			                 e) >= 0 &&
			    monitor_complaint(&in->store_port, campaign_monitor(in, res->campaign),
			                      res->campaign, res->recipient, clock_wall_ms() / 1000,
			                      &in->sink, e) == 0 &&
			    /* against the warm-up of the source that sent it */
			    store_warmup_complaint(in->store, res->campaign, res->recipient,
			                           warmup_day_of(clock_wall_ms() / 1000), e) >= 0)
				res->action = "complaint";
			else if (res->recipient[0])
				rc = -1;
		} else {
			res->kind = "feedback";
		}
	} else {
		snprintf(ev, en, "%s", rep->why);
	}
	if (rc == 0 && res->action && strcmp(res->action, "complaint") == 0)
		rc = inbound_event(in, res, "complained", 0, NULL, NULL, NULL, e);
	else if (rc == 0 && cp)
		rc = inbound_event(in, res, "bounced", code, enh, text, cp, e);
	if (rc == 0)
		log_result(in, res, res->recipient[0] ? NULL : &in->reports, cp, code, enh, text);
	return rc;
}

/* Acts on the report for one envelope recipient, the one env names (or
 * none: the report's own keys name the recipient). */
static int act_on_report(struct inbound *in, const struct found *env,
                         const struct bounce_report *rep, struct inbound_result *res, struct err *e)
{
	struct found f;
	char notes[300] = "";

	memset(res, 0, sizeof(*res));
	int r = find_recipient(in, env, rep, &f, notes, sizeof(notes), e);
	if (r < 0)
		return -1;
	if (r == 1) {
		snprintf(res->recipient, sizeof(res->recipient), "%s", f.mailbox);
		snprintf(res->campaign, sizeof(res->campaign), "%s", f.campaign);
	}
	snprintf(res->evidence, sizeof(res->evidence), "%s%s%s; ", notes,
	         r == 1 ? "recipient from " : "recipient not found", r == 1 ? f.via : "");
	return act(in, rep, res, e);
}

static int unsubscribe_found(struct inbound *in, const struct found *f, const char *via,
                             struct inbound_result *res, struct err *e);

/* A mailto unsubscribe: the envelope recipient unsubscribe+TOKEN@, whose
 * token check_rcpt found naming f. */
static int mailto_unsubscribe(struct inbound *in, const struct found *f, const char *mail_from,
                              struct inbound_result *res, struct err *e)
{
	char via[300];

	snprintf(via, sizeof(via), "mailto from <%s>", mail_from ? mail_from : "");
	memset(res, 0, sizeof(*res));
	res->kind = "unsubscribe";
	return unsubscribe_found(in, f, via, res, e) < 0 ? -1 : 0;
}

static int seen_before(char *const *rcpts, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (strcasecmp(rcpts[k], rcpts[i]) == 0)
			return 1;
	return 0;
}

int inbound_apply(struct inbound *in, char *const *rcpts, size_t nrcpts, const char *mail_from,
                  const struct bounce_report *rep, struct inbound_result *res, size_t max,
                  size_t *nres, struct err *e)
{
	struct inbound_result scratch;
	int report_done = 0;

	*nres = 0;
	for (size_t i = 0; i <= nrcpts; i++) {
		int kind = IR_POSTMASTER; /* nrcpts 0: a mailbox import, the report alone */
		char why[200];
		struct found f; /* whom a VERP or unsubscribe recipient's token names */
		if (i == nrcpts && (nrcpts > 0 || report_done))
			break;
		if (i < nrcpts) {
			if (seen_before(rcpts, i))
				continue;
			kind = accepted_find(in, rcpts[i], &f);
			if (!kind && (kind = check_rcpt(in, rcpts[i], &f, why, sizeof(why), e)) < 0)
				return -1;
		}
		struct inbound_result *r = *nres < max ? &res[*nres] : &scratch;
		int rc = 0;
		if (kind == IR_UNSUBSCRIBE) {
			rc = mailto_unsubscribe(in, &f, mail_from, r, e);
		} else if (kind == IR_BOUNCE) {
			rc = act_on_report(in, &f, rep, r, e);
		} else if (kind != IR_REJECT && !report_done) {
			report_done = 1;
			rc = act_on_report(in, NULL, rep, r, e);
		} else {
			continue;
		}
		if (rc < 0)
			return -1;
		if (r != &scratch)
			(*nres)++;
	}
	/* the scheduler's order (its tick): the log is never behind the queue */
	if (dlog_flush(in->log, e) != 0 || store_commit(in->store, e) != 0 ||
	    suppress_commit(in->sp, e) != 0)
		return -1;
	return 0;
}

int inbound_process(struct inbound *in, char *const *rcpts, size_t nrcpts, const char *mail_from,
                    const char *msg, size_t len, struct inbound_result *res, size_t max,
                    size_t *nres, struct err *e)
{
	struct bounce_report *rep = calloc(1, sizeof(*rep));

	*nres = 0;
	if (!rep)
		return err_set(e, "out of memory");
	bounce_parse(msg, len, rep);
	int rc = inbound_apply(in, rcpts, nrcpts, mail_from, rep, res, max, nres, e);
	free(rep);
	return rc;
}

int inbound_unsubscribe(struct inbound *in, const char *token, size_t len, const char *via,
                        struct inbound_result *res, struct err *e)
{
	struct found f;
	char why[120];

	memset(res, 0, sizeof(*res));
	res->kind = "unsubscribe";
	int r = by_token(in, "unsub", token, len, &f, via, why, sizeof(why), NULL, e);
	if (r <= 0) {
		if (r == 0) {
			snprintf(res->evidence, sizeof(res->evidence), "%s", why);
			log_result(in, res, &in->unsubscribes, NULL, 0, NULL, NULL);
			if (dlog_flush(in->log, e) != 0)
				return -1;
		}
		return r;
	}
	return unsubscribe_found(in, &f, via, res, e);
}

/* Suppresses the recipient f names (res: kind set, the rest zero), logs
 * and commits: 1, or -1 error. */
static int unsubscribe_found(struct inbound *in, const struct found *f, const char *via,
                             struct inbound_result *res, struct err *e)
{
	snprintf(res->recipient, sizeof(res->recipient), "%s", f->mailbox);
	snprintf(res->campaign, sizeof(res->campaign), "%s", f->campaign);
	snprintf(res->evidence, sizeof(res->evidence), "%s", via);
	int a = suppress_add(in->sp, f->mailbox, scope_of(in, f->campaign), "unsubscribe", via,
	                     clock_wall_ms() / 1000, e);
	if (a < 0)
		return -1;
	res->action = a ? "unsubscribe" : "already suppressed";
	if (a && inbound_event(in, res, "unsubscribed", 0, NULL, NULL, NULL, e) != 0)
		return -1;
	log_result(in, res, a ? NULL : &in->unsubscribes, NULL, 0, NULL, NULL);
	if ((a && (suppress_commit(in->sp, e) != 0 || store_commit(in->store, e) != 0)) ||
	    dlog_flush(in->log, e) != 0)
		return -1;
	return 1;
}
