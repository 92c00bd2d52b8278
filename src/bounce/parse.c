/* parse: see parse.h. */
#include "bounce/parse.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mail/mime.h"
#include "bounce/plain.h"

const char *bounce_kind_name(enum bounce_kind k)
{
	static const char *const names[] = {"unknown", "dsn", "arf", "autoreply", "bounce"};
	return names[k];
}

static void field(const struct mime_entity *m, const char *name, char *out, size_t n)
{
	struct strbuf v = STRBUF_INIT;
	if (mime_header(m, name, &v))
		snprintf(out, n, "%s", v.data);
	strbuf_free(&v);
}

/* "rfc822; a@b" -> "a@b" (also without the type, and with <>). */
static void address_field(const struct mime_entity *m, const char *name, char *out, size_t n)
{
	char raw[BOUNCE_FIELD_MAX] = "";
	field(m, name, raw, sizeof(raw));
	const char *p = strchr(raw, ';') ? strchr(raw, ';') + 1 : raw;
	while (*p == ' ' || *p == '<')
		p++;
	size_t k = strcspn(p, "> \t");
	snprintf(out, n, "%.*s", (int)k, p);
}

static int is_enhanced(const char *p, int cls)
{
	if (p[0] != '0' + cls || p[1] != '.' || !isdigit((unsigned char)p[2]))
		return 0;
	const char *q = p + 2;
	while (isdigit((unsigned char)*q))
		q++;
	if (*q != '.' || !isdigit((unsigned char)q[1]))
		return 0;
	return 1;
}

/* A reply quoted inside another ("554 4.4.7 Message expired ... <421 4.4.2
 * Connection timed out>"): the inner one is the remote server's own words
 * and says why the message expired; its enhanced code wins when the outer
 * one is an expiry (x.4.7) or absent. The reply code (permanent or not)
 * stays the outer one's: the relay gave up. */
static void nested_reply(const char *p, int *code, char enhanced[16])
{
	(void)code;
	if (enhanced[0] && strcmp(enhanced + 1, ".4.7") != 0)
		return;
	for (; (p = strchr(p, '<')) != NULL; p++) {
		const char *q = p + 1;
		if (!(q[0] >= '4' && q[0] <= '5') || !isdigit((unsigned char)q[1]) ||
		    !isdigit((unsigned char)q[2]) || q[3] != ' ' || !is_enhanced(q + 4, q[0] - '0'))
			continue;
		size_t k = strcspn(q + 4, " >");
		snprintf(enhanced, 16, "%.*s", (int)(k < 15 ? k : 15), q + 4);
		return;
	}
}

int bounce_reply_in(const char *diag, char enhanced[16], const char **text)
{
	enhanced[0] = '\0';
	*text = diag;
	for (const char *p = diag; *p; p++) {
		if (!(p[0] >= '2' && p[0] <= '5') || !isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]) ||
		    (p[3] != ' ' && p[3] != '-' && p[3] != '\0' && !(p[3] == ':' && p[4] == ' ')))
			continue;
		if (p > diag && !(p[-1] == ' ' || p[-1] == ';' || p[-1] == ':' || p[-1] == '\''))
			continue;
		int code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		const char *t = p[3] ? p + 4 : p + 3;
		while (p[3] == ':' && *t == ' ')
			t++; /* "550: 5.1.1 ..." */
		if (*t == '\'')
			t++; /* "550-'5.7.1 ...'" (Amazon SES quotes the reply) */
		if (is_enhanced(t, p[0] - '0')) {
			size_t k = strcspn(t, " '");
			snprintf(enhanced, 16, "%.*s", (int)(k < 15 ? k : 15), t);
		}
		*text = p;
		nested_reply(p + 3, &code, enhanced);
		return code;
	}
	return 0;
}

/* Collapses whitespace runs, and drops the "550-5.1.1 " prefixes of a
 * multiline reply's continuation lines that folding left inside the text. */
static void tidy_reply(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++)
		if (!(isspace((unsigned char)*r) && (w == s || w[-1] == ' ')))
			*w++ = isspace((unsigned char)*r) ? ' ' : *r;
	if (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
	char enh[16];
	const char *text;
	int code = bounce_reply_in(s, enh, &text);
	if (!code)
		return;
	char pre[40];
	int pl = snprintf(pre, sizeof(pre), " %d-", code);
	char *start = (char *)text + 4;
	for (int pass = 0; pass < 2; pass++) {
		char *p;
		while (start < w && (p = strstr(start, pre))) {
			char *q = p + pl; /* after " 550-" or " 550 " */
			size_t el = strlen(enh);
			if (el && strncmp(q, enh, el) == 0 && q[el] == ' ')
				q += el + 1;
			memmove(p + 1, q, strlen(q) + 1);
			start = p + 1;
		}
		pre[pl - 1] = ' '; /* then the last line's "550 5.1.1 " */
		start = (char *)text + 4;
	}
}

/* The status to report: the remote server's own enhanced code when its
 * reply has one of the same class (the Status field is the reporting
 * MTA's summary, often a generic x.0.0), else the Status field, else
 * what the reply says, else the reply code's class (x.0.0, RFC 3463). */
static void settle_status(struct bounce_rcpt *x)
{
	if (x->enhanced[0] && (!x->status[0] || x->status[0] == x->enhanced[0])) {
		size_t k = strnlen(x->enhanced, sizeof(x->enhanced) - 1);
		memcpy(x->status, x->enhanced, k); /* sizeof status > sizeof enhanced */
		x->status[k] = '\0';
	} else if (!x->status[0] && x->code >= 400 && x->code < 600) {
		snprintf(x->status, sizeof(x->status), "%d.0.0", x->code / 100); /* RFC 3463 */
	}
}

static int group_names_recipient(const struct mime_entity *g)
{
	struct strbuf v = STRBUF_INIT;
	int yes = mime_header(g, "Final-Recipient", &v) ||
	          mime_header(g, "Original-Recipient", &v) ||
	          mime_header(g, "X-Actual-Recipient", &v);
	strbuf_free(&v);
	return yes;
}

/* The per-recipient groups of a message/delivery-status body. */
static void read_status(struct bounce_report *r, const char *p, size_t len)
{
	const char *end = p + len;
	int first = 1, groups = 0;

	while (p < end && r->nrcpts < BOUNCE_RCPTS_MAX && groups++ < BOUNCE_GROUPS_MAX) {
		while (p < end && (*p == '\r' || *p == '\n'))
			p++; /* blank lines between groups */
		if (p >= end)
			break;
		struct mime_entity g;
		mime_entity(p, (size_t)(end - p), &g);
		if (first) {
			address_field(&g, "Reporting-MTA", r->reporting_mta,
			              sizeof(r->reporting_mta));
			first = 0;
		}
		/* the per-message group first; some MTAs leave it out, or write
		 * both in one block: a group naming a recipient is one */
		if (group_names_recipient(&g)) {
			struct bounce_rcpt *x = &r->rcpts[r->nrcpts];
			memset(x, 0, sizeof(*x));
			address_field(&g, "Original-Recipient", x->original, sizeof(x->original));
			address_field(&g, "Final-Recipient", x->final, sizeof(x->final));
			if (!x->final[0])
				address_field(&g, "X-Actual-Recipient", x->final, sizeof(x->final));
			field(&g, "Action", x->action, sizeof(x->action));
			for (char *c = x->action; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			field(&g, "Status", x->status, sizeof(x->status));
			x->status[strcspn(x->status, " (")] = '\0';
			char diag[1024] = "";
			field(&g, "Diagnostic-Code", diag, sizeof(diag));
			const char *d = strchr(diag, ';') ? strchr(diag, ';') + 1 : diag;
			while (*d == ' ')
				d++;
			snprintf(x->diagnostic, sizeof(x->diagnostic), "%s", d);
			tidy_reply(x->diagnostic);
			address_field(&g, "Remote-MTA", x->remote_mta, sizeof(x->remote_mta));
			const char *t;
			x->code = bounce_reply_in(x->diagnostic, x->enhanced, &t);
			if (!x->enhanced[0] && x->diagnostic[0])
				plain_enhanced_in(x->diagnostic, x->code / 100, x->enhanced);
			settle_status(x);
			if (!x->enhanced[0] &&
			    (is_enhanced(x->status, 4) || is_enhanced(x->status, 5) ||
			     is_enhanced(x->status, 2))) {
				size_t k = strnlen(x->status, sizeof(x->enhanced) - 1);
				memcpy(x->enhanced, x->status, k);
				x->enhanced[k] = '\0';
			}
			if (x->final[0] || x->action[0])
				r->nrcpts++;
		}
		if (g.body <= p)
			break;
		p = g.body;
	}
}

/* The attached original (message/rfc822 or text/rfc822-headers). */
static void read_original(struct bounce_report *r, const struct mime_entity *part)
{
	struct strbuf body = STRBUF_INIT;
	struct mime_entity o;

	mime_decoded_body(part, &body);
	mime_entity(body.data ? body.data : "", body.len, &o);
	field(&o, "Message-ID", r->orig_message_id, sizeof(r->orig_message_id));
	address_field(&o, "Return-Path", r->orig_return_path, sizeof(r->orig_return_path));
	field(&o, "To", r->orig_to, sizeof(r->orig_to));
	field(&o, "List-Unsubscribe", r->orig_list_unsubscribe, sizeof(r->orig_list_unsubscribe));
	strbuf_free(&body);
}

static void read_feedback(struct bounce_report *r, const struct mime_entity *part)
{
	struct strbuf body = STRBUF_INIT;
	struct mime_entity g;

	mime_decoded_body(part, &body);
	mime_entity(body.data ? body.data : "", body.len, &g);
	field(&g, "Feedback-Type", r->feedback_type, sizeof(r->feedback_type));
	for (char *c = r->feedback_type; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	field(&g, "User-Agent", r->user_agent, sizeof(r->user_agent));
	field(&g, "Auth-Failure", r->auth_failure, sizeof(r->auth_failure));
	address_field(&g, "Original-Rcpt-To", r->original_rcpt, sizeof(r->original_rcpt));
	address_field(&g, "Original-Mail-From", r->original_mail_from,
	              sizeof(r->original_mail_from));
	field(&g, "Source-IP", r->source_ip, sizeof(r->source_ip));
	strbuf_free(&body);
}

/* Walks the entity tree, reading the parts reports are made of; at most
 * BOUNCE_ENTITIES_MAX entities in all (*budget counts them down). */
static void walk(struct bounce_report *r, const struct mime_entity *m, int depth, int *budget)
{
	char type[128];
	struct mime_entity parts[MIME_PARTS_MAX];

	if (depth > MIME_DEPTH_MAX || (*budget)-- <= 0)
		return;
	mime_type(m, type, sizeof(type));
	if (strcmp(type, "message/delivery-status") == 0 ||
	    strcmp(type, "message/global-delivery-status") == 0) {
		struct strbuf body = STRBUF_INIT;
		mime_decoded_body(m, &body);
		if (r->kind != RK_ARF)
			r->kind = RK_DSN;
		read_status(r, body.data ? body.data : "", body.len);
		strbuf_free(&body);
	} else if (strcmp(type, "message/feedback-report") == 0) {
		r->kind = RK_ARF;
		read_feedback(r, m);
	} else if (strcmp(type, "message/rfc822") == 0 ||
	           strcmp(type, "text/rfc822-headers") == 0 ||
	           strcmp(type, "message/global") == 0 ||
	           strcmp(type, "message/global-headers") == 0) {
		struct mime_entity inner;
		char itype[64];
		mime_entity(m->body, m->blen, &inner);
		mime_type(&inner, itype, sizeof(itype));
		if (r->kind == RK_UNKNOWN && strcmp(itype, "multipart/report") == 0)
			walk(r, &inner, depth + 1, budget); /* a report forwarded as a message */
		else if (!r->orig_message_id[0] && !r->orig_return_path[0])
			read_original(r, m);
	} else if (strncmp(type, "multipart/", 10) == 0) {
		size_t n = mime_parts(m, parts, MIME_PARTS_MAX);
		for (size_t i = 0; i < n; i++)
			walk(r, &parts[i], depth + 1, budget);
	}
}

static int has_word(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strcasestr(s, *words))
			return 1;
	return 0;
}

/* RFC 3834 and the common vacation forms. */
static int auto_reply(const struct mime_entity *m, struct bounce_report *r)
{
	static const char *const subjects[] = {
	    "out of office", "out of the office",    "auto-reply",
	    "autoreply",     "automatic reply",      "auto reply",
	    "vacation",      "abwesenheit",          "absence",
	    "autosvar",      "respuesta automática", NULL};
	char v[BOUNCE_FIELD_MAX] = "";

	field(m, "Auto-Submitted", v, sizeof(v));
	/* bounces say Auto-Submitted too (RFC 3834 asks them to) */
	if (v[0] && strncasecmp(v, "no", 2) != 0 && !strcasestr(r->from, "mailer-daemon") &&
	    !strcasestr(r->from, "postmaster") && !strcasestr(r->subject, "undeliverable")) {
		snprintf(r->why, sizeof(r->why), "Auto-Submitted: %s", v);
		return 1;
	}
	static const char *const hdrs[] = {"X-Autoreply", "X-Autorespond", NULL};
	for (int i = 0; hdrs[i]; i++) {
		v[0] = '\0';
		field(m, hdrs[i], v, sizeof(v));
		if (v[0]) {
			snprintf(r->why, sizeof(r->why), "%s: %s", hdrs[i], v);
			return 1;
		}
	}
	v[0] = '\0';
	field(m, "Precedence", v, sizeof(v));
	if (strcasecmp(v, "auto_reply") == 0 || has_word(r->subject, subjects)) {
		snprintf(r->why, sizeof(r->why), "%s",
		         v[0] ? "Precedence: auto_reply" : r->subject);
		return 1;
	}
	return 0;
}

static int generic(const char *status)
{
	return !status[0] || (status[1] == '.' && strcmp(status + 1, ".0.0") == 0);
}

/* A DSN whose delivery-status part says little (no recipient group, or a
 * generic x.0.0 with no code in its Diagnostic-Code) often says more in
 * its human-readable part: the reply there fills in what is missing. */
static void dsn_from_text(const struct mime_entity *m, struct bounce_report *r)
{
	int need = r->nrcpts == 0;
	for (size_t i = 0; i < r->nrcpts; i++)
		need |= generic(r->rcpts[i].status) && !r->rcpts[i].code;
	if (!need)
		return;
	struct bounce_report *t = calloc(1, sizeof(*t));
	if (!t)
		return;
	plain_bounce_read(m, t);
	if (r->nrcpts == 0) {
		for (size_t i = 0; i < t->nrcpts; i++)
			if (t->rcpts[i].final[0])
				r->rcpts[r->nrcpts++] = t->rcpts[i];
		free(t);
		return;
	}
	for (size_t i = 0; i < r->nrcpts; i++) {
		struct bounce_rcpt *x = &r->rcpts[i];
		if (!generic(x->status) || x->code)
			continue;
		for (size_t k = 0; k < t->nrcpts; k++) {
			const struct bounce_rcpt *y = &t->rcpts[k];
			int same = y->final[0] ? strcasecmp(y->final, x->final) == 0 ||
			                             strcasecmp(y->final, x->original) == 0
			                       : r->nrcpts == 1 && t->nrcpts == 1;
			if (!same || !y->code)
				continue;
			x->code = y->code;
			memcpy(x->enhanced, y->enhanced, sizeof(x->enhanced));
			memcpy(x->diagnostic, y->diagnostic, sizeof(x->diagnostic));
			settle_status(x);
			break;
		}
	}
	free(t);
}

/* A bounce that is not a DSN: from a mailer-daemon, or with a bounce-like
 * subject; plain.h reads its text. */
static void guess_bounce(const struct mime_entity *m, struct bounce_report *r)
{
	static const char *const subjects[] = {
	    "undeliver",           "delivery status",   "delivery failure",
	    "returned mail",       "failure notice",    "mail delivery failed",
	    "delivery has failed", "non remis",         "could not be delivered",
	    "not delivered",       "mail system error", NULL};
	struct strbuf v = STRBUF_INIT;
	int failed_hdr = mime_header(m, "X-Failed-Recipients", &v);

	strbuf_free(&v);
	if (!strcasestr(r->from, "mailer-daemon") && !strcasestr(r->from, "postmaster") &&
	    !has_word(r->subject, subjects) && !failed_hdr) {
		snprintf(r->why, sizeof(r->why), "not a report, an auto-reply or a bounce");
		return;
	}
	r->kind = RK_BOUNCE_GUESS;
	size_t n = plain_bounce_read(m, r);
	int reply = n && (r->rcpts[0].code || r->rcpts[0].enhanced[0]);
	snprintf(r->why, sizeof(r->why), "%s",
	         reply ? "non-standard bounce with a reply"
	               : "non-standard bounce, no reply found");
}

void bounce_parse(const char *msg, size_t len, struct bounce_report *out)
{
	struct mime_entity m;

	memset(out, 0, sizeof(*out));
	mime_entity(msg, len, &m);
	field(&m, "From", out->from, sizeof(out->from));
	field(&m, "Subject", out->subject, sizeof(out->subject));
	int budget = BOUNCE_ENTITIES_MAX;
	walk(out, &m, 0, &budget);
	if (out->kind == RK_DSN)
		dsn_from_text(&m, out);
	if (out->kind == RK_DSN || out->kind == RK_ARF || plain_ses_message(&m, out))
		return;
	if (auto_reply(&m, out)) {
		out->kind = RK_AUTOREPLY;
		return;
	}
	guess_bounce(&m, out);
}
