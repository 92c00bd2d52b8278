/*
 * client: see client.h. The connection half: connecting, greeting, EHLO,
 * STARTTLS, reading replies, timers and closing; transaction.c sends and
 * answers MAIL, RCPT, DATA and the body (and says how pipelining is kept
 * safe).
 *
 * Freeing: a handler never frees the client. It sets CS_CLOSED; every entry
 * point from the loop (read, event, timer, wake) ends with
 * client_maybe_destroy(), which calls ops->closed and frees.
 */
#include "smtp/client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smtp/client_int.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define TRACE_LINE_MAX 8192 /* of one traced line or reply */

static const char *const state_names[] = {
    "connect", "banner",      "ehlo", "helo",      "starttls", "tls",  "ready",
    "idle",    "transaction", "dot",  "abort-dot", "rset",     "quit", "closed",
};

void client_trace(struct smtp_client *c, const char *fmt, const char *a)
{
	char what[TRACE_LINE_MAX];

	if (!log_wants(LOG_TRACE))
		return;
	snprintf(what, sizeof(what), fmt, a);
	log_emit(LOG_TRACE, "smtp %s[%s]: %s", c->peer.host, c->peer.ip, what);
}

void client_arm_timer(struct smtp_client *c, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(c->timer, &tv);
}

void client_send_line(struct smtp_client *c, const char *line)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evbuffer_add(out, line, strlen(line));
	evbuffer_add(out, "\r\n", 2);
	client_trace(c, "> %s", line);
}

static void drop_connection(struct smtp_client *c)
{
	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	evtimer_del(c->timer);
}

static void close_now(struct smtp_client *c)
{
	drop_connection(c);
	c->state = CS_CLOSED;
}

static void try_connect(struct smtp_client *c);

/* The current address did not get us a session: try the next one. */
static void conn_failed(struct smtp_client *c, enum stage stage, const struct reply *r, int local)
{
	c->fail.stage = stage;
	c->fail.reply = *r;
	c->fail.local = local;
	client_trace(c, "failed: %s", r->text);
	drop_connection(c);
	if (c->established) { /* after a session, the connection just ends */
		c->state = CS_CLOSED;
		return;
	}
	if (!c->tls_failed || c->p.tls != TLS_OPPORTUNISTIC || stage != STAGE_STARTTLS)
		c->addr_i++;
	try_connect(c);
}

static void conn_failed_local(struct smtp_client *c, enum stage stage, int code, const char *enh,
                              const char *text)
{
	struct reply r;
	reply_set_local(&r, code, enh, text);
	conn_failed(c, stage, &r, 1);
}

static enum stage stage_of(const struct smtp_client *c)
{
	switch (c->state) {
	case CS_CONNECT:
		return STAGE_CONNECT;
	case CS_BANNER:
		return STAGE_BANNER;
	case CS_EHLO:
	case CS_HELO:
		return STAGE_EHLO;
	case CS_STARTTLS:
	case CS_TLS:
		return STAGE_STARTTLS;
	case CS_TX:
		return c->tx_answered == 0   ? STAGE_MAIL
		       : c->tx_answered == 1 ? STAGE_RCPT
		                             : STAGE_DATA;
	case CS_DOT:
	case CS_ABORT_DOT:
		return STAGE_DOT;
	case CS_RSET:
		return STAGE_RSET;
	default:
		return STAGE_QUIT;
	}
}

/* The connection broke or timed out (why: text for the log). */
static void connection_lost(struct smtp_client *c, const char *why)
{
	enum stage stage = stage_of(c);
	char text[300];

	snprintf(text, sizeof(text), "%s during %s with %s[%s]", why, stage_name(stage),
	         c->peer.host, c->peer.ip);
	if (c->state == CS_QUIT || c->state == CS_IDLE || c->state == CS_READY) {
		close_now(c);
		return;
	}
	if (!c->msg) {
		conn_failed_local(c, stage, 421, "4.4.2", text);
		return;
	}
	struct reply r;
	reply_set_local(&r, 451, "4.4.2", text);
	tx_result(c, stage, &r, 1);
	/* Large providers close silently after N messages: retry at once. */
	c->res.retry_now = c->ndelivered > 0;
	close_now(c);
	tx_finish(c);
}

/* ---- commands ---- */

static void send_ehlo(struct smtp_client *c, const char *verb)
{
	char line[300];

	c->ext = 0;
	c->size_max = 0;
	snprintf(line, sizeof(line), "%s %s", verb, c->p.helo);
	client_send_line(c, line);
}

/* Takes the next message, or idles, or says QUIT. */
static void ready(struct smtp_client *c)
{
	for (;;) {
		if (c->nmsgs >= c->p.max_messages) {
			client_enter_state(c, CS_QUIT);
			return;
		}
		struct smtp_msg *m = c->ops->next(c->arg, c);
		if (!m) {
			client_enter_state(c, c->p.idle_ms > 0 ? CS_IDLE : CS_QUIT);
			return;
		}
		c->ready_once = 1;
		c->nmsgs++;
		if (tx_refuse_locally(c, m))
			continue;
		c->msg = m;
		c->res_set = 0;
		c->tx_answered = 0;
		c->mail_ok = c->rcpt_ok = 0;
		client_enter_state(c, CS_TX);
		return;
	}
}

void client_enter_state(struct smtp_client *c, enum client_state s)
{
	const struct timeouts *t = c->p.timeouts;

	if (c->state != s)
		client_trace(c, "-> %s", state_names[s]);
	c->state = s;
	evtimer_del(c->timer);
	switch (s) {
	case CS_BANNER:
		client_arm_timer(c, t->banner_ms);
		break;
	case CS_EHLO:
		send_ehlo(c, "EHLO");
		client_arm_timer(c, t->ehlo_ms);
		break;
	case CS_HELO:
		send_ehlo(c, "HELO");
		client_arm_timer(c, t->ehlo_ms);
		break;
	case CS_STARTTLS:
		client_send_line(c, "STARTTLS");
		client_arm_timer(c, t->starttls_ms);
		break;
	case CS_TLS:
		client_arm_timer(c, t->starttls_ms);
		break;
	case CS_READY:
		c->established = 1;
		ready(c);
		break;
	case CS_IDLE:
		client_arm_timer(c, c->p.idle_ms);
		break;
	case CS_TX:
		tx_send(c);
		client_arm_timer(c, t->mail_ms);
		break;
	case CS_DOT:
		tx_send_body(c);
		client_arm_timer(c, t->data_block_ms + t->dot_ms);
		break;
	case CS_ABORT_DOT:
		client_send_line(c, ".");
		client_arm_timer(c, t->dot_ms);
		break;
	case CS_RSET:
		client_send_line(c, "RSET");
		client_arm_timer(c, t->rset_ms);
		break;
	case CS_QUIT:
		client_send_line(c, "QUIT");
		client_arm_timer(c, t->quit_ms);
		break;
	case CS_CONNECT:
		client_arm_timer(c, t->connect_ms);
		break;
	case CS_CLOSED:
		drop_connection(c);
		break;
	}
}

/* ---- replies ---- */

static void parse_ext_line(struct smtp_client *c, const char *line, size_t n)
{
	char kw[32];
	size_t k = 0;

	if (n < 4)
		return;
	line += 4, n -= 4;
	while (k < n && k + 1 < sizeof(kw) && line[k] != ' ' && line[k] != '=') {
		kw[k] = (char)toupper((unsigned char)line[k]);
		k++;
	}
	kw[k] = '\0';
	if (strcmp(kw, "PIPELINING") == 0)
		c->ext |= EXT_PIPELINING;
	else if (strcmp(kw, "8BITMIME") == 0)
		c->ext |= EXT_8BITMIME;
	else if (strcmp(kw, "SMTPUTF8") == 0)
		c->ext |= EXT_SMTPUTF8;
	else if (strcmp(kw, "STARTTLS") == 0)
		c->ext |= EXT_STARTTLS;
	else if (strcmp(kw, "ENHANCEDSTATUSCODES") == 0)
		c->ext |= EXT_ENHANCED;
	else if (strcmp(kw, "SIZE") == 0) {
		c->ext |= EXT_SIZE;
		c->size_max = k < n ? strtoul(line + k + 1, NULL, 10) : 0;
	}
}

static void on_read(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

static void start_tls(struct smtp_client *c)
{
	SSL *ssl = SSL_new(c->p.ssl_ctx);

	if (!ssl) {
		conn_failed_local(c, STAGE_STARTTLS, 454, "4.7.0", "cannot create a TLS session");
		return;
	}
	SSL_set_tlsext_host_name(ssl, c->peer.host);
	struct bufferevent *tls = bufferevent_openssl_filter_new(
	    c->base, c->bev, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (!tls) {
		SSL_free(ssl);
		conn_failed_local(c, STAGE_STARTTLS, 454, "4.7.0", "cannot start TLS");
		return;
	}
	c->bev = tls;
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	client_enter_state(c, CS_TLS);
}

static void after_ehlo(struct smtp_client *c)
{
	if (!c->tls_active && c->p.tls != TLS_OFF && !c->tls_failed && (c->ext & EXT_STARTTLS)) {
		client_enter_state(c, CS_STARTTLS);
		return;
	}
	if (c->p.tls == TLS_REQUIRED && !c->tls_active) {
		conn_failed_local(c, STAGE_STARTTLS, 451, "4.7.10",
		                  "TLS is required for this destination and the server does not "
		                  "offer STARTTLS");
		return;
	}
	client_enter_state(c, CS_READY);
}

static void on_reply(struct smtp_client *c)
{
	const struct reply *r = &c->reply;
	int ok = r->code / 100 == 2;

	client_trace(c, "< %s", r->text);
	if (r->code == 421 && c->state != CS_QUIT) {
		/* The server is closing the connection. */
		if (c->msg) {
			tx_result(c, stage_of(c), r, 0);
			close_now(c);
			tx_finish(c);
		} else if (!c->established) {
			conn_failed(c, stage_of(c), r, 0);
		} else {
			close_now(c);
		}
		return;
	}
	switch (c->state) {
	case CS_BANNER:
		if (ok)
			client_enter_state(c, CS_EHLO);
		else
			conn_failed(c, STAGE_BANNER, r, 0);
		break;
	case CS_EHLO:
		if (ok)
			after_ehlo(c);
		else if (r->code / 100 == 5)
			client_enter_state(c, CS_HELO); /* not an ESMTP server */
		else
			conn_failed(c, STAGE_EHLO, r, 0);
		break;
	case CS_HELO:
		if (ok)
			after_ehlo(c);
		else
			conn_failed(c, STAGE_EHLO, r, 0);
		break;
	case CS_STARTTLS:
		if (r->code == 220) {
			if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
				conn_failed_local(c, STAGE_STARTTLS, 421, "4.7.0",
				                  "data after the 220 reply to STARTTLS "
				                  "(command injection?)");
			else
				start_tls(c);
		} else if (c->p.tls == TLS_REQUIRED) {
			conn_failed(c, STAGE_STARTTLS, r, 0);
		} else {
			client_enter_state(c, CS_READY); /* opportunistic: go on in plaintext */
		}
		break;
	case CS_TX:
		tx_on_reply(c);
		break;
	case CS_DOT:
		tx_result(c, STAGE_DOT, r, 0);
		tx_finish(c);
		client_enter_state(c, CS_READY);
		break;
	case CS_ABORT_DOT:
		client_enter_state(c, CS_RSET);
		break;
	case CS_RSET:
		if (ok)
			client_enter_state(c, CS_READY);
		else
			client_enter_state(c, CS_QUIT);
		break;
	case CS_QUIT:
		close_now(c);
		break;
	default:
		/* A reply nobody asked for. */
		connection_lost(c, "unexpected reply from the server");
		break;
	}
}

/* ---- loop callbacks ---- */

static void client_maybe_destroy(struct smtp_client *c)
{
	if (c->state != CS_CLOSED)
		return;
	drop_connection(c);
	c->ops->closed(c->arg, c, c->established ? NULL : &c->fail);
	event_free(c->timer);
	free(c->addrs);
	free((char *)c->p.source_ip);
	free((char *)c->p.helo);
	free(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct smtp_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct err e;
	size_t n;
	char *line;

	while (c->state != CS_CLOSED && c->bev == bev &&
	       (line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) != NULL) {
		if (n > REPLY_LINE_MAX) {
			free(line);
			connection_lost(c, "reply line too long");
			break;
		}
		if (c->state == CS_EHLO && c->reply.nlines > 0)
			parse_ext_line(c, line, n);
		enum reply_status st = reply_feed_line(&c->reply, line, n, &e);
		free(line);
		if (st == REPLY_BAD) {
			reply_reset(&c->reply);
			connection_lost(c, e.msg);
			break;
		}
		if (st == REPLY_DONE) {
			on_reply(c);
			reply_reset(&c->reply);
		}
	}
	if (c->state != CS_CLOSED && c->bev == bev && evbuffer_get_length(in) > REPLY_LINE_MAX)
		connection_lost(c, "reply line too long");
	client_maybe_destroy(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_client *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (c->state == CS_CONNECT) {
			client_enter_state(c, CS_BANNER);
		} else if (c->state == CS_TLS) {
			SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
			snprintf(c->peer.tls, sizeof(c->peer.tls), "%s %s", SSL_get_version(ssl),
			         SSL_get_cipher_name(ssl));
			c->tls_active = 1;
			client_enter_state(c, CS_EHLO); /* RFC 3207: forget what was said before */
		}
	} else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (c->state == CS_TLS) {
			c->tls_failed = c->p.tls == TLS_OPPORTUNISTIC;
			conn_failed_local(c, STAGE_STARTTLS, 421, "4.7.0", "TLS handshake failed");
		} else if (c->state == CS_CONNECT) {
			char text[300];
			snprintf(text, sizeof(text), "cannot connect to %s[%s]: %s", c->peer.host,
			         c->peer.ip, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
			conn_failed_local(c, STAGE_CONNECT, 421, "4.4.1", text);
		} else {
			connection_lost(c, (what & BEV_EVENT_EOF)
			                       ? "connection closed by the server"
			                       : "connection error");
		}
	}
	client_maybe_destroy(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_client *c = arg;

	(void)fd, (void)what;
	if (c->state == CS_CLOSED) {
		/* closed before the loop ever ran for us (smtp_client_start) */
	} else if (c->state == CS_IDLE) {
		client_enter_state(c, CS_QUIT);
	} else if (c->state == CS_QUIT) {
		close_now(c);
	} else if (c->state == CS_CONNECT) {
		char text[300];
		snprintf(text, sizeof(text), "timeout connecting to %s[%s]", c->peer.host,
		         c->peer.ip);
		conn_failed_local(c, STAGE_CONNECT, 421, "4.4.1", text);
	} else {
		connection_lost(c, "timeout waiting for the reply");
	}
	client_maybe_destroy(c);
}

static void try_connect(struct smtp_client *c)
{
	while (c->addr_i < c->p.naddrs) {
		struct mx_addr *a = &c->addrs[c->addr_i];
		struct sockaddr_storage src;
		socklen_t srclen;
		int family = a->sa.ss_family;

		snprintf(c->peer.host, sizeof(c->peer.host), "%s", a->host);
		snprintf(c->peer.ip, sizeof(c->peer.ip), "%s", a->ip);
		c->peer.tls[0] = '\0';
		c->tls_active = 0;
		memset(&src, 0, sizeof(src));
		if (family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&src;
			s4->sin_family = AF_INET;
			((struct sockaddr_in *)&a->sa)->sin_port = htons((uint16_t)c->p.port);
			srclen = sizeof(*s4);
			if (inet_pton(AF_INET, c->p.source_ip, &s4->sin_addr) != 1)
				srclen = 0;
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&src;
			s6->sin6_family = AF_INET6;
			((struct sockaddr_in6 *)&a->sa)->sin6_port = htons((uint16_t)c->p.port);
			srclen = sizeof(*s6);
			if (inet_pton(AF_INET6, c->p.source_ip, &s6->sin6_addr) != 1)
				srclen = 0;
		}
		if (srclen == 0) { /* the source is of the other family: skip */
			c->addr_i++;
			continue;
		}
		int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&src, srclen) != 0) {
			char text[300];
			snprintf(text, sizeof(text), "cannot bind source address %s: %s",
			         c->p.source_ip, strerror(errno));
			if (fd >= 0)
				close(fd);
			reply_set_local(&c->fail.reply, 421, "4.4.1", text);
			c->fail.stage = STAGE_CONNECT;
			c->fail.local = 1;
			break;
		}
		c->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
		bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		reply_reset(&c->reply);
		client_enter_state(c, CS_CONNECT);
		if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&a->sa, a->salen) == 0)
			return;
		drop_connection(c);
		c->addr_i++;
	}
	c->state = CS_CLOSED; /* no address left: the failure is in c->fail */
}

struct smtp_client *smtp_client_start(struct event_base *base, const struct smtp_params *p,
                                      const struct smtp_client_ops *ops, void *arg)
{
	struct smtp_client *c = xcalloc(1, sizeof(*c));

	c->base = base;
	c->ops = ops;
	c->arg = arg;
	c->p = *p;
	c->timeouts = *p->timeouts;
	c->p.timeouts = &c->timeouts;
	c->p.source_ip = xstrdup(p->source_ip);
	c->p.helo = xstrdup(p->helo);
	c->addrs = xcalloc(p->naddrs ? p->naddrs : 1, sizeof(*c->addrs));
	memcpy(c->addrs, p->addrs, p->naddrs * sizeof(*c->addrs));
	c->timer = evtimer_new(base, on_timer, c);
	reply_set_local(&c->fail.reply, 421, "4.4.4", "no address to connect to");
	c->fail.local = 1;
	try_connect(c);
	if (c->state == CS_CLOSED) /* report from the loop, never from inside start */
		event_active(c->timer, EV_TIMEOUT, 0);
	return c;
}

void smtp_client_wake(struct smtp_client *c)
{
	if (c->state != CS_IDLE)
		return;
	client_enter_state(c, CS_READY);
	client_maybe_destroy(c);
}

void smtp_client_finish(struct smtp_client *c)
{
	c->p.idle_ms = 0;
	c->p.max_messages = c->nmsgs; /* ready() now says QUIT */
	if (c->state == CS_IDLE)
		client_enter_state(c, CS_QUIT);
}

void smtp_client_stop(struct smtp_client *c, int grace_ms)
{
	c->p.idle_ms = 0;
	c->p.max_messages = c->nmsgs;
	switch (c->state) {
	case CS_IDLE:
	case CS_READY:
		client_enter_state(c, CS_QUIT);
		client_arm_timer(c, grace_ms);
		break;
	case CS_DOT:
	case CS_ABORT_DOT:
	case CS_QUIT:
		/* the message may be accepted in a moment: a short grace, then
		 * closed (the timer's connection_lost defers it) */
		client_arm_timer(c, grace_ms);
		break;
	case CS_TX:
		connection_lost(c, "stopped by sluice before the message was sent");
		break;
	case CS_CLOSED:
		break;
	default: /* connecting or greeting: nothing to lose */
		reply_set_local(&c->fail.reply, 421, "4.4.2", "stopped by sluice");
		c->fail.stage = stage_of(c);
		c->fail.local = 1;
		close_now(c);
		break;
	}
	client_maybe_destroy(c);
}

const struct smtp_peer *smtp_client_peer(const struct smtp_client *c)
{
	return &c->peer;
}

int smtp_client_is_idle(const struct smtp_client *c)
{
	return c->state == CS_IDLE;
}
