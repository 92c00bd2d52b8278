/*
 * submit: see submit.h. Three parts: the tenant's limits (a count of
 * messages per minute, hour and day, started from the store so a restart
 * does not reset them), the message's headers (checked, added, stripped),
 * and the store writes.
 */
#include "submit/submit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/address.h"
#include "mail/config.h"
#include "mail/mime.h"
#include "store/store.h"
#include "store/suppress.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/strmap.h"
#include "util/when.h"
#include "util/xmalloc.h"

/* A tenant's accepted messages in the current minute, hour and day. */
struct window {
	int64_t start_s, n;
};
struct tenant_rate {
	struct window w[3]; /* minute, hour, day */
};
#define KNOWN   ((void *)1)
#define TO_WAKE ((void *)2) /* more queued since its last wake */

static const int64_t window_s[3] = {60, 3600, 86400};
static const char *const window_name[3] = {"minute", "hour", "day"};

struct submit {
	struct submit_params p;
	struct strmap *rates;   /* tenant name -> struct tenant_rate */
	struct strmap *streams; /* stream campaign ids known to exist -> KNOWN or TO_WAKE */
	struct strmap *holds;   /* tenant name -> struct tenant_hold (a store pause, cached) */
};

/* A tenant's pause in the store (`sluice tenant pause`, POST /v1/pause), as
 * last read: at most every HOLD_CHECK_MS per tenant. */
#define HOLD_CHECK_MS 500
struct tenant_hold {
	int64_t read_ms;
	int paused;
	char reason[256];
};

int submit_new(const struct submit_params *p, struct submit **out, struct err *e)
{
	(void)e;
	struct submit *sb = xcalloc(1, sizeof(*sb));
	sb->p = *p;
	sb->rates = strmap_new();
	sb->streams = strmap_new();
	sb->holds = strmap_new();
	*out = sb;
	return 0;
}

static void no_free(void *v)
{
	(void)v;
}

void submit_free(struct submit *sb)
{
	if (!sb)
		return;
	strmap_free(sb->rates, free);
	strmap_free(sb->streams, no_free);
	strmap_free(sb->holds, free);
	free(sb);
}

void submit_reconfigure(struct submit *sb, const struct config *cfg)
{
	sb->p.cfg = cfg;
}

void submit_stream_id(const struct tenant *t, char *out, size_t n)
{
	snprintf(out, n, "submit-%s", t->name);
}

/* The stream of a message sent from pool (NULL: the tenant's own):
 * submit-TENANT, or submit-TENANT@POOL for another pool. */
static void stream_for(const struct config *c, const struct tenant *t, const char *pool, char *out,
                       size_t n)
{
	const char *own = t->pool ? t->pool : c->pool;

	if (!pool || strcmp(pool, own) == 0)
		submit_stream_id(t, out, n);
	else
		snprintf(out, n, "submit-%s@%s", t->name, pool);
}

static int refuse(struct submit_refusal *r, enum submit_code code, const char *name,
                  const char *field, int temporary, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int refuse(struct submit_refusal *r, enum submit_code code, const char *name,
                  const char *field, int temporary, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	r->name = name;
	r->field = field;
	r->temporary = temporary;
	va_start(ap, fmt);
	vsnprintf(r->reply, sizeof(r->reply), fmt, ap);
	va_end(ap);
	/* a reply is one line: nothing from outside may end it */
	for (char *c = r->reply; *c; c++)
		if (*c == '\r' || *c == '\n')
			*c = ' ';
	return -1;
}

/* ---- limits ---- */

static struct tenant_rate *rate_of(struct submit *sb, const struct tenant *t, int64_t now_s)
{
	struct tenant_rate *tr = strmap_get(sb->rates, t->name);

	if (tr)
		return tr;
	tr = xcalloc(1, sizeof(*tr));
	for (int i = 0; i < 3; i++) {
		struct err e;
		int64_t n = 0;
		/* what was accepted lately, before a restart too */
		if (store_message_count(sb->p.store, t->name, now_s - window_s[i], &n, &e) != 0)
			n = 0;
		tr->w[i] = (struct window){now_s, n};
	}
	strmap_put(sb->rates, t->name, tr);
	return tr;
}

/* 0 if t may have one more message now, else -1 with r set. */
static int rate_check(struct submit *sb, const struct tenant *t, struct submit_refusal *r)
{
	const int64_t limit[3] = {t->per_minute, t->per_hour, t->per_day};
	int64_t now_s = clock_wall_ms() / 1000;
	struct tenant_rate *tr = rate_of(sb, t, now_s);

	for (int i = 0; i < 3; i++) {
		struct window *w = &tr->w[i];
		if (now_s - w->start_s >= window_s[i])
			*w = (struct window){now_s, 0};
		if (limit[i] && w->n >= limit[i])
			return refuse(
			    r, SUBMIT_RATE, "rate_limited", NULL, 1,
			    "451 4.7.0 Tenant %s is over its limit of %lld messages a %s, "
			    "try again in %lld s",
			    t->name, (long long)limit[i], window_name[i],
			    (long long)(w->start_s + window_s[i] - now_s));
	}
	return 0;
}

static void rate_count(struct submit *sb, const struct tenant *t)
{
	struct tenant_rate *tr = rate_of(sb, t, clock_wall_ms() / 1000);

	for (int i = 0; i < 3; i++)
		tr->w[i].n++;
}

/* ---- the envelope ---- */

static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : "";
}

/* The tenant's pause recorded in the store, or NULL (a store error counts
 * as none: the config's pause and the engine still hold). */
static const char *store_hold(struct submit *sb, const struct tenant *t)
{
	struct tenant_hold *h = strmap_get(sb->holds, t->name);
	int64_t now = clock_mono_ms();
	struct err e;

	if (!sb->p.store)
		return NULL;
	if (!h) {
		h = xcalloc(1, sizeof(*h));
		h->read_ms = -HOLD_CHECK_MS;
		strmap_put(sb->holds, t->name, h);
	}
	if (now - h->read_ms >= HOLD_CHECK_MS) {
		h->read_ms = now;
		h->paused = store_tenant_paused(sb->p.store, t->name, clock_wall_ms() / 1000,
		                                h->reason, NULL, &e) == 1;
	}
	return h->paused ? h->reason : NULL;
}

int submit_check_sender(struct submit *sb, const struct tenant *t, const char *mail_from,
                        struct submit_refusal *r)
{
	struct address a;
	struct err e;
	const char *why;

	if (t->paused)
		return refuse(r, SUBMIT_PAUSED, "tenant_paused", NULL, 1,
		              "451 4.7.0 Tenant %s is paused by the operator, try again later",
		              t->name);
	if ((why = store_hold(sb, t)))
		return refuse(r, SUBMIT_PAUSED, "tenant_paused", NULL, 1,
		              "451 4.7.0 Tenant %s is paused (%.120s), try again later", t->name,
		              why);
	if (!mail_from[0])
		return refuse(r, SUBMIT_BAD_ADDRESS, "bad_address", "from", 0,
		              "553 5.1.7 A sender address is required");
	if (address_parse(mail_from, strlen(mail_from), &a, &e) != 0)
		return refuse(r, SUBMIT_BAD_ADDRESS, "bad_address", "from", 0,
		              "553 5.1.7 Sender address <%.200s>: %.60s", mail_from, e.msg);
	int own = tenant_owns_domain(t, a.domain);
	address_free(&a);
	if (!own)
		return refuse(r, SUBMIT_SENDER_DOMAIN, "sender_domain", "from", 0,
		              "553 5.7.1 Sender domain %.100s is not one of tenant %s's domains",
		              domain_of(mail_from), t->name);
	return rate_check(sb, t, r);
}

int submit_check_rcpt(struct submit *sb, const struct tenant *t, const char *rcpt, size_t nth,
                      struct submit_refusal *r)
{
	struct address a;
	struct err e;
	char reason[32];

	if (nth > (size_t)t->max_recipients)
		return refuse(r, SUBMIT_TOO_MANY_RCPTS, "too_many_recipients", "to", 1,
		              "452 4.5.3 Too many recipients (at most %d per message)",
		              t->max_recipients);
	if (address_parse(rcpt, strlen(rcpt), &a, &e) != 0)
		return refuse(r, SUBMIT_BAD_ADDRESS, "bad_address", "to", 0,
		              "553 5.1.3 Recipient address <%.200s>: %.60s", rcpt, e.msg);
	int k = sb->p.sp
	            ? suppress_check(sb->p.sp, a.mailbox, tenant_scope(sb->p.cfg, t), reason, &e)
	            : 0;
	address_free(&a);
	if (k < 0)
		return refuse(r, SUBMIT_STORE, "unavailable", NULL, 1,
		              "451 4.3.0 The suppression list cannot be read now");
	if (k == 1)
		return refuse(r, SUBMIT_SUPPRESSED, "suppressed", "to", 0,
		              "550 5.7.1 <%.200s> is on the suppression list (%s): not sent", rcpt,
		              reason);
	return 0;
}

/* ---- the message ---- */

/* Every domain named in the From field must be the tenant's. */
static int check_from(const struct tenant *t, const struct mime_entity *m, struct submit_refusal *r)
{
	struct strbuf v = {0};
	int rc = 0;

	if (!mime_header(m, "From", &v) || !strchr(v.data ? v.data : "", '@')) {
		strbuf_free(&v);
		return refuse(r, SUBMIT_NO_FROM, "no_from", "message", 0,
		              "550 5.6.0 The message has no From address");
	}
	for (const char *at = strchr(v.data, '@'); at && rc == 0; at = strchr(at + 1, '@')) {
		char d[ADDRESS_DOMAIN_MAX + 1];
		size_t n = strspn(at + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                          "0123456789.-");
		snprintf(d, sizeof(d), "%.*s", (int)(n < sizeof(d) ? n : sizeof(d) - 1), at + 1);
		if (!tenant_owns_domain(t, d))
			rc =
			    refuse(r, SUBMIT_SENDER_DOMAIN, "sender_domain", "from", 0,
			           "550 5.7.1 From domain %.100s is not one of tenant %s's domains",
			           d, t->name);
	}
	strbuf_free(&v);
	return rc;
}

/* The time in header name (X-Sluice-Send-At, X-Sluice-Expires), into *out
 * (kept when absent). */
static int header_time(const struct mime_entity *m, const char *name, int64_t now_s, int64_t *out,
                       struct submit_refusal *r)
{
	struct strbuf v = {0};
	struct err e;
	int rc = 0;

	if (mime_header(m, name, &v) && v.len) {
		if (when_parse(v.data, v.len, "UTC", now_s, out, &e) != 0)
			rc = refuse(r, SUBMIT_BAD_HEADER, "bad_header", "message", 0,
			            "550 5.6.0 %s: %.100s (RFC 3339, e.g. 2026-12-03T08:00:00Z)",
			            name, e.msg);
	}
	strbuf_free(&v);
	return rc;
}

static int is_sluice_header(const char *line, size_t n)
{
	static const char *const names[] = {"X-Sluice-Send-At:", "X-Sluice-Expires:"};
	for (size_t i = 0; i < 2; i++) {
		size_t k = strlen(names[i]);
		if (n >= k && strncasecmp(line, names[i], k) == 0)
			return 1;
	}
	return 0;
}

/* The message as it is stored: Message-ID and Date first when missing,
 * the X-Sluice-* fields (and their folded lines) left out. */
static void build_stored(const char *qid, const char *domain, int64_t now_s,
                         const struct mime_entity *m, const char *data, size_t len,
                         struct strbuf *out)
{
	struct strbuf v = {0};
	char date[64];

	if (!mime_header(m, "Message-ID", &v))
		strbuf_addf(out, "Message-ID: <%s@%s>\r\n", qid, domain);
	if (!mime_header(m, "Date", &v)) {
		clock_rfc5322_date(now_s, date, sizeof(date));
		strbuf_addf(out, "Date: %s\r\n", date);
	}
	strbuf_free(&v);
	size_t hend = (size_t)(m->body - data);
	int skipping = 0;
	for (size_t i = 0; i < hend;) {
		const char *eol = memchr(data + i, '\n', hend - i);
		size_t end = eol ? (size_t)(eol - data) + 1 : hend;
		const char *line = data + i;
		int cont = line[0] == ' ' || line[0] == '\t';
		skipping = cont ? skipping : is_sluice_header(line, end - i);
		if (!skipping)
			strbuf_add(out, line, end - i);
		i = end;
	}
	strbuf_add(out, m->body, len - hend);
}

/* The tenant's stream campaign (for pool: NULL, its own), made the first
 * time. */
static int ensure_stream(struct submit *sb, const struct tenant *t, const char *id,
                         const char *pool, struct err *e)
{
	struct campaign_rec rec;
	char salt[SUBMIT_QUEUE_ID_MAX];

	if (strmap_get(sb->streams, id)) {
		strmap_put(sb->streams, id, TO_WAKE);
		return 0;
	}
	int k = store_campaign_get(sb->p.store, id, &rec, e);
	if (k < 0)
		return -1;
	if (k == 0) {
		store_new_qid(salt);
		rec = (struct campaign_rec){
		    .id = (char *)id,
		    .template_text = (char *)"",
		    .template_path = (char *)"(submitted)",
		    .names = (char *)"",
		    .envelope_from = (char *)"",
		    .salt = salt,
		    .created_s = clock_wall_ms() / 1000,
		    .priority = 10, /* one message waits for no campaign */
		    .tenant = t->name,
		    .kind = CAMPAIGN_STREAM,
		    .pool = strchr(id, '@') ? (char *)pool : NULL,
		};
		if (store_campaign_add(sb->p.store, &rec, e) != 0)
			return -1;
	} else {
		store_campaign_free(&rec);
	}
	strmap_put(sb->streams, id, TO_WAKE);
	return 0;
}

static int write_message(struct submit *sb, const struct submit_msg *m, const char *qid,
                         const struct strbuf *body, const struct rcpt_times *tm,
                         struct submit_refusal *r)
{
	char stream[2 * TENANT_NAME_MAX + 16];
	int64_t now_s = clock_wall_ms() / 1000, id;
	struct err e;

	stream_for(sb->p.cfg, m->tenant, m->pool, stream, sizeof(stream));
	if (ensure_stream(sb, m->tenant, stream, m->pool, &e) != 0 ||
	    store_message_add(sb->p.store, qid, m->tenant->name, m->mail_from, body->data,
	                      body->len, now_s, &id, &e) != 0)
		goto fail;
	for (size_t i = 0; i < m->nrcpts; i++) {
		struct address a;
		char key[ADDRESS_MAX + 1];
		if (address_parse(m->rcpts[i], strlen(m->rcpts[i]), &a, &e) != 0)
			return refuse(r, SUBMIT_BAD_ADDRESS, "bad_address", "to", 0,
			              "553 5.1.3 Recipient address <%.200s>: %.60s", m->rcpts[i],
			              e.msg);
		address_dedupe_key(a.mailbox, sb->p.cfg->case_sensitive_local, key, sizeof(key));
		int k = store_rcpt_add_message(sb->p.store, stream, a.mailbox, key, a.domain,
		                               a.utf8_local, id, now_s, tm, &e);
		address_free(&a);
		if (k < 0)
			goto fail;
	}
	return 0;
fail:
	return refuse(r, SUBMIT_STORE, "unavailable", NULL, 1,
	              "451 4.3.0 The queue cannot take the message now: %.150s", e.msg);
}

int submit_queue(struct submit *sb, const struct submit_msg *m, char qid[SUBMIT_QUEUE_ID_MAX],
                 struct submit_refusal *r)
{
	const struct tenant *t = m->tenant;
	struct mime_entity ent;
	struct rcpt_times tm = {m->send_at_s, m->expires_at_s};
	int64_t now_s = clock_wall_ms() / 1000;

	memset(r, 0, sizeof(*r));
	if (m->nrcpts == 0)
		return refuse(r, SUBMIT_BAD_ADDRESS, "bad_address", "to", 0,
		              "554 5.5.1 No valid recipients");
	if (m->len > (size_t)sb->p.cfg->submission_max_size)
		return refuse(r, SUBMIT_TOO_BIG, "too_big", "message", 0,
		              "552 5.3.4 Message too big (at most %lld bytes)",
		              (long long)sb->p.cfg->submission_max_size);
	if (submit_check_sender(sb, t, m->mail_from, r) != 0)
		return -1;
	const struct source *one[1];
	if (m->pool && (strlen(m->pool) > TENANT_NAME_MAX ||
	                config_pool_sources(sb->p.cfg, m->pool, one, 1) == 0))
		return refuse(r, SUBMIT_BAD_POOL, "unknown_pool", "pool", 0,
		              "550 5.7.1 No pool '%.64s' in the configuration", m->pool);
	for (size_t i = 0; i < m->nrcpts && !m->rcpts_checked; i++)
		if (submit_check_rcpt(sb, t, m->rcpts[i], i + 1, r) != 0)
			return -1;
	mime_entity(m->data, m->len, &ent);
	if (check_from(t, &ent, r) != 0 ||
	    header_time(&ent, "X-Sluice-Send-At", now_s, &tm.send_at_s, r) != 0 ||
	    header_time(&ent, "X-Sluice-Expires", now_s, &tm.expires_at_s, r) != 0)
		return -1;
	if (tm.expires_at_s && tm.expires_at_s <= now_s)
		return refuse(r, SUBMIT_BAD_HEADER, "expired", "message", 0,
		              "550 5.6.0 The message expired before it was queued");
	store_new_qid(qid);
	struct strbuf body = {0};
	build_stored(qid, domain_of(m->mail_from), now_s, &ent, m->data, m->len, &body);
	int rc = write_message(sb, m, qid, &body, &tm, r);
	strbuf_free(&body);
	if (rc == 0)
		rate_count(sb, t);
	return rc;
}

/* ---- the commit ---- */

struct flush_wait {
	struct submit *sb;
	void (*done)(void *arg, int ok);
	void *arg;
};

static void flushed(void *arg, int ok)
{
	struct flush_wait *w = arg;
	struct submit *sb = w->sb;

	size_t pos = 0, n = 0;
	const char *id;
	void *v;
	char **wake = xcalloc(strmap_count(sb->streams) + 1, sizeof(char *));

	/* delivery may start (the map is not changed while it is walked) */
	while (ok && strmap_next(sb->streams, &pos, &id, &v))
		if (v == TO_WAKE)
			wake[n++] = xstrdup(id);
	for (size_t i = 0; i < n; i++) {
		strmap_put(sb->streams, wake[i], KNOWN);
		sb->p.wake(sb->p.owner, wake[i]);
		free(wake[i]);
	}
	free(wake);
	w->done(w->arg, ok);
	free(w);
}

void submit_flush(struct submit *sb, void (*done)(void *arg, int ok), void *arg)
{
	struct flush_wait *w = xmalloc(sizeof(*w));

	*w = (struct flush_wait){sb, done, arg};
	sb->p.commit(sb->p.owner, flushed, w);
}
