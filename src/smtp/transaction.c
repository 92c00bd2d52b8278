/*
 * transaction: one message through MAIL, RCPT and DATA (client_int.h).
 *
 * Pipelining (RFC 2920). A transaction is MAIL, RCPT and DATA. With
 * PIPELINING the three go out in one write and the replies are matched to
 * them in order: tx_sent counts commands written, tx_answered replies read.
 * Without it each command waits for the previous reply. Rules that keep
 * pipelining safe: nothing is ever pipelined after STARTTLS or after DATA
 * (the body waits for 354); after a 220 to STARTTLS any byte already
 * received is an injection attempt (CVE-2011-0411) and ends the session; if
 * MAIL or RCPT was refused the body is never sent, even when a broken server
 * says 354 to the DATA it then got (we end it with a lone "." and RSET).
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "msg/crlf.h"
#include "smtp/client_int.h"

/* Records the outcome of the message in flight (the first failure wins). */
void tx_result(struct smtp_client *c, enum stage stage, const struct reply *r, int local)
{
	if (c->res_set)
		return;
	c->res.stage = stage;
	c->res.reply = *r;
	c->res.local = local;
	c->res.retry_now = 0;
	c->res_set = 1;
}

/* Hands the message's outcome to the owner and forgets the message. */
void tx_finish(struct smtp_client *c)
{
	struct smtp_msg *m = c->msg;

	if (!m)
		return;
	c->msg = NULL;
	if (c->res.reply.code / 100 == 2)
		c->ndelivered++;
	c->ops->done(c->arg, c, m, &c->res);
}

void tx_send(struct smtp_client *c)
{
	struct smtp_msg *m = c->msg;
	char line[1100];
	int n = snprintf(line, sizeof(line), "MAIL FROM:<%s>", m->mail_from);

	if (c->ext & EXT_SIZE)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " SIZE=%zu", m->len);
	if ((m->needs & SMTP_NEEDS_8BITMIME) && (c->ext & EXT_8BITMIME))
		n += snprintf(line + n, sizeof(line) - (size_t)n, " BODY=8BITMIME");
	if (m->needs & SMTP_NEEDS_SMTPUTF8)
		snprintf(line + n, sizeof(line) - (size_t)n, " SMTPUTF8");
	client_send_line(c, line);
	c->tx_sent = 1;
	if (c->ext & EXT_PIPELINING) {
		snprintf(line, sizeof(line), "RCPT TO:<%s>", m->rcpt);
		client_send_line(c, line);
		client_send_line(c, "DATA");
		c->tx_sent = 3;
	}
}

/* One line of a body that was not all CRLF, its line end cut off. */
static void send_line(struct evbuffer *out, const char *p, size_t n)
{
	if (n > 0 && *p == '.')
		evbuffer_add(out, ".", 1);
	evbuffer_add(out, p, n);
	evbuffer_add(out, "\r\n", 2);
}

/* Writes the body with dot-stuffing and the final ".". Assembly has made
 * every line end a CRLF (msg/crlf.h); should a bare CR or LF still be
 * there, it is written as a CRLF, with its line dot-stuffed, so no receiver
 * can see the message end anywhere but at our "." (SMTP smuggling). */
void tx_send_body(struct smtp_client *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	const char *p = c->msg->data, *end = p + c->msg->len;
	const char *q;

	if (!crlf_only(p, c->msg->len)) {
		while (p < end) {
			const char *lf = memchr(p, '\n', (size_t)(end - p));
			const char *stop = lf ? (lf > p && lf[-1] == '\r' ? lf - 1 : lf) : end;
			while ((q = memchr(p, '\r', (size_t)(stop - p))) != NULL) {
				send_line(out, p, (size_t)(q - p));
				p = q + 1;
			}
			send_line(out, p, (size_t)(stop - p));
			p = lf ? lf + 1 : end;
		}
		evbuffer_add(out, ".\r\n", 3);
		client_trace(c, "> (body, %s)", "dot-stuffed, bare line ends made CRLF");
		return;
	}
	if (p < end && *p == '.')
		evbuffer_add(out, ".", 1);
	while ((q = memmem(p, (size_t)(end - p), "\n.", 2)) != NULL) {
		evbuffer_add(out, p, (size_t)(q + 1 - p));
		evbuffer_add(out, ".", 1);
		p = q + 1;
	}
	evbuffer_add(out, p, (size_t)(end - p));
	if (c->msg->len < 2 || end[-2] != '\r' || end[-1] != '\n')
		evbuffer_add(out, "\r\n", 2);
	evbuffer_add(out, ".\r\n", 3);
	client_trace(c, "> (body, %s)", "dot-stuffed");
}

/* A local verdict on a message the server cannot take as it is. */
int tx_refuse_locally(struct smtp_client *c, struct smtp_msg *m)
{
	struct reply r;
	char text[200];

	if ((c->ext & EXT_SIZE) && c->size_max > 0 && m->len > c->size_max) {
		snprintf(text, sizeof(text), "message of %zu octets exceeds %s's SIZE limit of %lu",
		         m->len, c->peer.host, c->size_max);
		reply_set_local(&r, 552, "5.3.4", text);
	} else if ((m->needs & SMTP_NEEDS_SMTPUTF8) && !(c->ext & EXT_SMTPUTF8)) {
		snprintf(text, sizeof(text),
		         "the message needs SMTPUTF8 (UTF-8 address or header) and %s does not "
		         "offer it",
		         c->peer.host);
		reply_set_local(&r, 553, "5.6.7", text);
	} else if ((m->needs & SMTP_NEEDS_8BITMIME) && !(c->ext & EXT_8BITMIME)) {
		snprintf(text, sizeof(text),
		         "the message has 8-bit content and %s does not offer 8BITMIME",
		         c->peer.host);
		reply_set_local(&r, 554, "5.6.3", text);
	} else {
		return 0;
	}
	c->msg = m;
	c->res_set = 0;
	tx_result(c, STAGE_MAIL, &r, 1);
	tx_finish(c);
	return 1;
}

void tx_on_reply(struct smtp_client *c)
{
	const struct reply *r = &c->reply;
	int ok = r->code / 100 == 2;
	int pipelined = (c->ext & EXT_PIPELINING) != 0;
	int which = c->tx_answered++;

	if (which == 0) {
		c->mail_ok = ok;
		if (!ok)
			tx_result(c, STAGE_MAIL, r, 0);
	} else if (which == 1) {
		c->rcpt_ok = ok;
		if (!ok)
			tx_result(c, STAGE_RCPT, r, 0);
	} else {
		if (r->code == 354 && c->mail_ok && c->rcpt_ok) {
			client_enter_state(c, CS_DOT);
			return;
		}
		if (!c->res_set)
			tx_result(c, STAGE_DATA, r, 0);
		tx_finish(c);
		client_enter_state(c, r->code == 354 ? CS_ABORT_DOT : CS_RSET);
		return;
	}
	if (pipelined) {
		client_arm_timer(c, which == 0 ? c->p.timeouts->rcpt_ms : c->p.timeouts->data_ms);
		return;
	}
	if (!ok) { /* not pipelined: stop at the first refusal */
		tx_finish(c);
		client_enter_state(c, CS_RSET);
		return;
	}
	char line[1100];
	if (which == 0) {
		snprintf(line, sizeof(line), "RCPT TO:<%s>", c->msg->rcpt);
		client_send_line(c, line);
		client_arm_timer(c, c->p.timeouts->rcpt_ms);
	} else {
		client_send_line(c, "DATA");
		client_arm_timer(c, c->p.timeouts->data_ms);
	}
	c->tx_sent++;
}
