/* server: see server.h. */
#include "smtp/server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shape/bucket.h"
#include "util/clock.h"
#include "util/sockaddr.h"
#include "util/strbuf.h"
#include "util/strmap.h"
#include "util/xmalloc.h"

enum srv_state { SS_GREET, SS_READY, SS_MAIL, SS_RCPT, SS_DATA, SS_CLOSING };

struct session {
	struct smtp_server *srv;
	struct bufferevent *bev;
	char ip[64];
	enum srv_state state;
	int bad;         /* bad commands so far */
	char *mail_from; /* NULL until MAIL */
	char *rcpts[SMTP_SERVER_RCPTS_MAX];
	size_t nrcpts;
	struct strbuf data;
	int too_big;
	struct session *next, *prev;
};

struct smtp_server {
	struct smtp_server_params p;
	char *hostname;
	struct evconnlistener *listener;
	const struct smtp_server_ops *ops;
	void *arg;
	struct session *sessions;
	int nsessions;
	struct strmap *per_ip; /* ip -> sessions (as intptr_t) */
	struct strmap *rates;  /* ip -> struct bucket (messages per IP) */
	size_t nrates;
};

/* 1 if ip may start another message now. The map of buckets is emptied
 * when it tracks SMTP_SERVER_RATE_IPS addresses: memory stays bounded, and
 * a flood from many addresses is the session caps' to stop. */
static int rate_allows(struct smtp_server *srv, const char *ip)
{
	int64_t now = clock_mono_ms();

	if (srv->p.message_rate_per_ip <= 0)
		return 1;
	struct bucket *b = strmap_get(srv->rates, ip);
	if (!b) {
		if (srv->nrates >= SMTP_SERVER_RATE_IPS) {
			strmap_free(srv->rates, free);
			srv->rates = strmap_new();
			srv->nrates = 0;
		}
		b = xmalloc(sizeof(*b));
		bucket_init(b, srv->p.message_rate_per_ip, now);
		strmap_put(srv->rates, ip, b);
		srv->nrates++;
	}
	return bucket_take(b, now) == 0;
}

static void reply(struct session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(s->bev), fmt, ap);
	va_end(ap);
	evbuffer_add(bufferevent_get_output(s->bev), "\r\n", 2);
}

static void reset_transaction(struct session *s)
{
	free(s->mail_from);
	s->mail_from = NULL;
	for (size_t i = 0; i < s->nrcpts; i++)
		free(s->rcpts[i]);
	s->nrcpts = 0;
	strbuf_reset(&s->data);
	s->too_big = 0;
	if (s->state > SS_READY)
		s->state = SS_READY;
}

static void session_free(struct session *s)
{
	struct smtp_server *srv = s->srv;
	intptr_t n = (intptr_t)strmap_get(srv->per_ip, s->ip);

	if (n > 1)
		strmap_put(srv->per_ip, s->ip, (void *)(n - 1));
	else
		strmap_remove(srv->per_ip, s->ip);
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->nsessions--;
	reset_transaction(s);
	strbuf_free(&s->data);
	bufferevent_free(s->bev);
	free(s);
}

/* Closes once the reply is written (the write callback frees). */
static void closing(struct session *s)
{
	s->state = SS_CLOSING;
	bufferevent_disable(s->bev, EV_READ);
}

/* "<addr> PARAMS" after "FROM:" / "TO:"; out gets the address (may be
 * empty). Returns the parameters, or NULL if malformed. */
static const char *path_arg(const char *p, char *out, size_t n)
{
	while (*p == ' ')
		p++;
	if (*p != '<')
		return NULL;
	const char *close = strchr(p, '>');
	if (!close || (size_t)(close - p - 1) >= n)
		return NULL;
	snprintf(out, n, "%.*s", (int)(close - p - 1), p + 1);
	for (const char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == ' ')
			return NULL;
	return close + 1;
}

/* ---- the commands ---- */

static void cmd_helo(struct session *s, const char *arg, int ehlo)
{
	if (!*arg) {
		reply(s, "501 5.5.4 %s needs a domain", ehlo ? "EHLO" : "HELO");
		s->bad++;
		return;
	}
	reset_transaction(s);
	s->state = SS_READY;
	if (!ehlo) {
		reply(s, "250 %s", s->srv->hostname);
		return;
	}
	reply(s,
	      "250-%s\r\n250-PIPELINING\r\n250-SIZE %lld\r\n250-8BITMIME\r\n"
	      "250 ENHANCEDSTATUSCODES",
	      s->srv->hostname, (long long)s->srv->p.max_size);
}

static void cmd_mail(struct session *s, const char *arg)
{
	char addr[512];
	const char *params;

	if (strncasecmp(arg, "FROM:", 5) != 0 ||
	    !(params = path_arg(arg + 5, addr, sizeof(addr)))) {
		reply(s, "501 5.5.4 syntax: MAIL FROM:<address>");
		s->bad++;
		return;
	}
	const char *size = strcasestr(params, "SIZE=");
	if (size && strtoll(size + 5, NULL, 10) > s->srv->p.max_size) {
		reply(s, "552 5.3.4 message size exceeds the limit of %lld bytes",
		      (long long)s->srv->p.max_size);
		return;
	}
	if (!rate_allows(s->srv, s->ip)) {
		reply(s, "451 4.7.1 too many messages from %s, slow down", s->ip);
		return;
	}
	s->mail_from = xstrdup(addr);
	s->state = SS_MAIL;
	reply(s, "250 2.1.0 ok");
}

static void cmd_rcpt(struct session *s, const char *arg)
{
	char addr[512], why[300];

	if (strncasecmp(arg, "TO:", 3) != 0 || !path_arg(arg + 3, addr, sizeof(addr)) || !addr[0]) {
		reply(s, "501 5.5.4 syntax: RCPT TO:<address>");
		s->bad++;
		return;
	}
	if (s->nrcpts >= SMTP_SERVER_RCPTS_MAX) {
		reply(s, "452 4.5.3 too many recipients");
		return;
	}
	if (s->srv->ops->rcpt(s->srv->arg, s->ip, s->mail_from, addr, why, sizeof(why)) != 0) {
		reply(s, "%s", why);
		s->bad++;
		return;
	}
	s->rcpts[s->nrcpts++] = xstrdup(addr);
	s->state = SS_RCPT;
	reply(s, "250 2.1.5 ok");
}

static void cmd_data(struct session *s, const char *arg)
{
	(void)arg;
	strbuf_reset(&s->data);
	s->too_big = 0;
	s->state = SS_DATA;
	reply(s, "354 end data with <CR><LF>.<CR><LF>");
}

static void cmd_rset(struct session *s, const char *arg)
{
	(void)arg;
	reset_transaction(s);
	reply(s, "250 2.0.0 ok");
}

static void cmd_noop(struct session *s, const char *arg)
{
	(void)arg;
	reply(s, "250 2.0.0 ok");
}

static void cmd_quit(struct session *s, const char *arg)
{
	(void)arg;
	reply(s, "221 2.0.0 %s closing", s->srv->hostname);
	closing(s);
}

static void cmd_vrfy(struct session *s, const char *arg)
{
	(void)arg;
	reply(s, "252 2.5.0 cannot verify, send mail and see");
}

static void cmd_ehlo(struct session *s, const char *arg)
{
	cmd_helo(s, arg, 1);
}

static void cmd_helo0(struct session *s, const char *arg)
{
	cmd_helo(s, arg, 0);
}

/* The command table: a verb, the state it needs (its minimum and maximum),
 * and what it does. */
static const struct command {
	const char *verb;
	enum srv_state min, max;
	void (*run)(struct session *s, const char *arg);
} commands[] = {
    {"EHLO", SS_GREET, SS_RCPT, cmd_ehlo},  {"HELO", SS_GREET, SS_RCPT, cmd_helo0},
    {"MAIL", SS_READY, SS_READY, cmd_mail}, {"RCPT", SS_MAIL, SS_RCPT, cmd_rcpt},
    {"DATA", SS_RCPT, SS_RCPT, cmd_data},   {"RSET", SS_GREET, SS_RCPT, cmd_rset},
    {"NOOP", SS_GREET, SS_RCPT, cmd_noop},  {"QUIT", SS_GREET, SS_RCPT, cmd_quit},
    {"VRFY", SS_READY, SS_RCPT, cmd_vrfy},
};

static void command(struct session *s, char *line)
{
	size_t vl = strcspn(line, " ");
	const char *arg = line + vl;
	while (*arg == ' ')
		arg++;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		if (strlen(c->verb) != vl || strncasecmp(line, c->verb, vl) != 0)
			continue;
		if (s->state < c->min || s->state > c->max) {
			reply(s, "503 5.5.1 bad sequence of commands");
			s->bad++;
		} else {
			c->run(s, arg);
		}
		return;
	}
	reply(s, "502 5.5.2 command not implemented");
	s->bad++;
}

/* One line of the message body (without CRLF); "." ends it. */
static void data_line(struct session *s, const char *line, size_t n)
{
	if (n == 1 && line[0] == '.') {
		char why[300] = "";
		s->state = SS_RCPT;
		if (s->too_big)
			reply(s, "552 5.3.4 message size exceeds the limit of %lld bytes",
			      (long long)s->srv->p.max_size);
		else if (s->srv->ops->message(s->srv->arg, s->ip, s->mail_from, s->rcpts, s->nrcpts,
		                              s->data.data ? s->data.data : "", s->data.len, why,
		                              sizeof(why)) != 0)
			reply(s, "%s", why);
		else
			reply(s, "250 2.0.0 ok: processed");
		reset_transaction(s);
		return;
	}
	if (line[0] == '.') /* dot-unstuffing */
		line++, n--;
	if (s->too_big || (int64_t)(s->data.len + n + 2) > s->srv->p.max_size) {
		s->too_big = 1;
		strbuf_reset(&s->data);
		return;
	}
	strbuf_add(&s->data, line, n);
	strbuf_add(&s->data, "\r\n", 2);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (s->state != SS_CLOSING) {
		size_t n;
		char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
		if (!line) {
			size_t cap = s->state == SS_DATA ? 65536 : SMTP_SERVER_LINE_MAX * 2;
			if (evbuffer_get_length(in) > cap) {
				reply(s, "500 5.5.2 line too long");
				closing(s);
			}
			return;
		}
		if (s->state == SS_DATA) {
			data_line(s, line, n);
		} else if (n > SMTP_SERVER_LINE_MAX || memchr(line, '\0', n)) {
			reply(s, "500 5.5.2 line too long or not text");
			s->bad++;
		} else {
			command(s, line);
		}
		free(line);
		if (s->bad >= SMTP_SERVER_BAD_MAX && s->state != SS_CLOSING) {
			reply(s, "421 4.7.0 %s too many errors, closing", s->srv->hostname);
			closing(s);
		}
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->state == SS_CLOSING && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		session_free(s);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if ((what & BEV_EVENT_TIMEOUT) && s->state != SS_CLOSING) {
		reply(s, "421 4.4.2 %s idle too long, closing", s->srv->hostname);
		closing(s);
		return;
	}
	session_free(s); /* EOF or error */
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
	struct smtp_server *srv = arg;
	struct session *s = xcalloc(1, sizeof(*s));

	(void)l, (void)len;
	s->srv = srv;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, s->ip, sizeof(s->ip));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, s->ip, sizeof(s->ip));
	s->bev = bufferevent_socket_new(srv->p.base, fd, BEV_OPT_CLOSE_ON_FREE);
	s->next = srv->sessions;
	if (srv->sessions)
		srv->sessions->prev = s;
	srv->sessions = s;
	srv->nsessions++;
	intptr_t n = (intptr_t)strmap_get(srv->per_ip, s->ip);
	strmap_put(srv->per_ip, s->ip, (void *)(n + 1));
	bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
	struct timeval tv = {srv->p.idle_ms / 1000, (srv->p.idle_ms % 1000) * 1000};
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (srv->nsessions > srv->p.max_sessions || n + 1 > srv->p.max_per_ip) {
		reply(s, "421 4.7.0 %s too many connections, try later", srv->hostname);
		closing(s);
		return;
	}
	reply(s, "220 %s ESMTP sluice", srv->hostname);
}

int smtp_server_new(const struct smtp_server_params *p, const struct smtp_server_ops *ops,
                    void *arg, struct smtp_server **out, struct err *e)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (sockaddr_parse(p->listen, 25, &ss, &len) != 0)
		return err_set(e, "inbound listen address '%s' is not ip:port", p->listen);
	struct smtp_server *s = xcalloc(1, sizeof(*s));
	s->p = *p;
	if (!s->p.idle_ms)
		s->p.idle_ms = SMTP_SERVER_IDLE_MS;
	s->hostname = xstrdup(p->hostname);
	s->ops = ops;
	s->arg = arg;
	s->per_ip = strmap_new();
	s->rates = strmap_new();
	s->listener = evconnlistener_new_bind(p->base, on_accept, s,
	                                      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
	                                      (struct sockaddr *)&ss, (int)len);
	if (!s->listener) {
		err_set(e, "inbound listener %s: cannot listen: %m", p->listen);
		smtp_server_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

void smtp_server_free(struct smtp_server *s)
{
	if (!s)
		return;
	if (s->listener)
		evconnlistener_free(s->listener);
	while (s->sessions)
		session_free(s->sessions);
	strmap_free(s->per_ip, NULL);
	strmap_free(s->rates, free);
	free(s->hostname);
	free(s);
}
