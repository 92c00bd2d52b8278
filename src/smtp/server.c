/* server: see server.h. STARTTLS and implicit TLS are in server_tls.c, AUTH
 * in server_auth.c; what the three share is in server_int.h. */
#include "smtp/server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shape/peers.h"
#include "smtp/server_int.h"
#include "util/clock.h"
#include "util/listen.h"
#include "util/log.h"
#include "util/sockaddr.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define TICK_MS 500 /* how often the deadlines are looked at */

/* A message with the owner: outlives its session if the client goes. */
struct pending {
	struct smtp_server_msg m;
	struct smtp_server *srv; /* NULL once the server is freed */
	struct session *s;       /* NULL once the session is gone */
	char ip[64], key[PEERS_KEY_MAX];
	char *auth_user;
	struct smtp_server_peer peer;
	char *mail_from;
	char **rcpts;
	struct strbuf data;
	struct pending *next, *prev;
};

void srv_reply(struct session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(s->bev), fmt, ap);
	va_end(ap);
	evbuffer_add(bufferevent_get_output(s->bev), "\r\n", 2);
}

/* Message buffers are charged by capacity, to the server and to the
 * client key: what they really cost. */
static void charge(struct smtp_server *srv, const char *key, int64_t delta)
{
	srv->held += delta;
	peers_hold(srv->peers, key, delta);
}

static void release_data(struct session *s)
{
	charge(s->srv, s->key, -(int64_t)s->data.cap);
	strbuf_free(&s->data);
}

void srv_reset_transaction(struct session *s)
{
	free(s->mail_from);
	s->mail_from = NULL;
	for (size_t i = 0; i < s->nrcpts; i++)
		free(s->rcpts[i]);
	s->nrcpts = 0;
	release_data(s);
	s->too_big = s->no_room = 0;
	if (s->state > SS_READY && s->state < SS_BUSY)
		s->state = SS_READY;
}

/* The session as the owner sees it, valid until the next call. */
static const struct smtp_server_peer *peer_of(struct session *s)
{
	s->peer = (struct smtp_server_peer){s->ip, s->auth_user, s->identity, s->tls == TLS_ON,
	                                    s->nrcpts};
	return &s->peer;
}

static void session_free(struct session *s)
{
	struct smtp_server *srv = s->srv;

	if (s->counted)
		peers_close(srv->peers, s->key);
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->nsessions--;
	if (s->pending)
		s->pending->s = NULL; /* the owner still answers; nobody hears it */
	srv_auth_session_free(s);
	srv_reset_transaction(s);
	free(s->rcpts);
	bufferevent_free(s->bev);
	free(s);
}

/* Closes once the reply is written (the write callback frees; the tick
 * frees a session whose client never reads it). */
void srv_closing(struct session *s)
{
	s->state = SS_CLOSING;
	s->closing_ms = clock_mono_ms();
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
		srv_reply(s, "501 5.5.4 %s needs a domain", ehlo ? "EHLO" : "HELO");
		s->bad++;
		return;
	}
	srv_reset_transaction(s);
	s->state = SS_READY;
	if (!ehlo) {
		srv_reply(s, "250 %s", s->srv->hostname);
		return;
	}
	srv_reply(
	    s,
	    "250-%s\r\n250-PIPELINING\r\n250-SIZE %lld\r\n250-8BITMIME\r\n250-SMTPUTF8%s%s\r\n"
	    "250 ENHANCEDSTATUSCODES",
	    s->srv->hostname, (long long)s->srv->p.max_size,
	    srv_starttls_offered(s) ? "\r\n250-STARTTLS" : "",
	    srv_auth_offered(s) ? "\r\n250-AUTH PLAIN LOGIN" : "");
}

static void cmd_mail(struct session *s, const char *arg)
{
	char addr[512], why[300];
	const char *params;

	if (strncasecmp(arg, "FROM:", 5) != 0 ||
	    !(params = path_arg(arg + 5, addr, sizeof(addr)))) {
		srv_reply(s, "501 5.5.4 syntax: MAIL FROM:<address>");
		s->bad++;
		return;
	}
	if (s->srv->p.require_auth && !s->auth_user) {
		srv_reply(s, "530 5.7.0 Authentication required");
		s->bad++;
		return;
	}
	const char *size = strcasestr(params, "SIZE=");
	if (size && strtoll(size + 5, NULL, 10) > s->srv->p.max_size) {
		srv_reply(s, "552 5.3.4 message size exceeds the limit of %lld bytes",
		          (long long)s->srv->p.max_size);
		return;
	}
	if (!peers_rate_take(s->srv->peers, s->key, clock_mono_ms())) {
		srv_reply(s, "451 4.7.1 too many messages from %s, slow down", s->key);
		return;
	}
	if (s->srv->ops->mail &&
	    s->srv->ops->mail(s->srv->arg, peer_of(s), addr, why, sizeof(why)) != 0) {
		srv_reply(s, "%s", why);
		s->bad++;
		return;
	}
	s->mail_from = xstrdup(addr);
	s->state = SS_MAIL;
	srv_reply(s, "250 2.1.0 ok");
}

static void cmd_rcpt(struct session *s, const char *arg)
{
	char addr[512], why[300];

	if (strncasecmp(arg, "TO:", 3) != 0 || !path_arg(arg + 3, addr, sizeof(addr)) || !addr[0]) {
		srv_reply(s, "501 5.5.4 syntax: RCPT TO:<address>");
		s->bad++;
		return;
	}
	if (s->nrcpts >= (size_t)s->srv->p.max_rcpts) {
		srv_reply(s, "452 4.5.3 too many recipients");
		return;
	}
	if (s->srv->ops->rcpt(s->srv->arg, peer_of(s), s->mail_from, addr, why, sizeof(why)) != 0) {
		srv_reply(s, "%s", why);
		s->bad++;
		return;
	}
	s->rcpts[s->nrcpts++] = xstrdup(addr);
	s->state = SS_RCPT;
	srv_reply(s, "250 2.1.5 ok");
}

static void cmd_data(struct session *s, const char *arg)
{
	(void)arg;
	release_data(s);
	s->too_big = s->no_room = 0;
	s->state = SS_DATA;
	s->win_ms = clock_mono_ms();
	s->win_bytes = 0;
	s->mid_line = 0;
	srv_reply(s, "354 end data with <CR><LF>.<CR><LF>");
}

static void cmd_rset(struct session *s, const char *arg)
{
	(void)arg;
	srv_reset_transaction(s);
	srv_reply(s, "250 2.0.0 ok");
}

static void cmd_noop(struct session *s, const char *arg)
{
	(void)arg;
	srv_reply(s, "250 2.0.0 ok");
}

static void cmd_quit(struct session *s, const char *arg)
{
	(void)arg;
	srv_reply(s, "221 2.0.0 %s closing", s->srv->hostname);
	srv_closing(s);
}

static void cmd_vrfy(struct session *s, const char *arg)
{
	(void)arg;
	srv_reply(s, "252 2.5.0 cannot verify, send mail and see");
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
    {"EHLO", SS_GREET, SS_RCPT, cmd_ehlo},      {"HELO", SS_GREET, SS_RCPT, cmd_helo0},
    {"MAIL", SS_READY, SS_READY, cmd_mail},     {"RCPT", SS_MAIL, SS_RCPT, cmd_rcpt},
    {"DATA", SS_RCPT, SS_RCPT, cmd_data},       {"RSET", SS_GREET, SS_RCPT, cmd_rset},
    {"NOOP", SS_GREET, SS_RCPT, cmd_noop},      {"QUIT", SS_GREET, SS_RCPT, cmd_quit},
    {"VRFY", SS_READY, SS_RCPT, cmd_vrfy},      {"STARTTLS", SS_READY, SS_READY, srv_cmd_starttls},
    {"AUTH", SS_READY, SS_READY, srv_cmd_auth},
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
			srv_reply(s, "503 5.5.1 bad sequence of commands");
			s->bad++;
		} else {
			c->run(s, arg);
		}
		return;
	}
	srv_reply(s, "502 5.5.2 command not implemented");
	s->bad++;
}

/* ---- a whole message: to the owner and back ---- */

static void append(struct session *s, const char *p, size_t n);

static void pending_unlink(struct pending *pd)
{
	struct smtp_server *srv = pd->srv;

	if (!srv)
		return;
	if (pd->prev)
		pd->prev->next = pd->next;
	else
		srv->pendings = pd->next;
	if (pd->next)
		pd->next->prev = pd->prev;
	charge(srv, pd->key, -(int64_t)pd->data.cap);
}

/* Moves the session's transaction into a pending message for the owner
 * (end_of_data made sure it has a buffer). */
static void hand_over(struct session *s)
{
	struct smtp_server *srv = s->srv;
	struct pending *pd = xcalloc(1, sizeof(*pd));

	pd->srv = srv;
	pd->s = s;
	snprintf(pd->ip, sizeof(pd->ip), "%s", s->ip);
	snprintf(pd->key, sizeof(pd->key), "%s", s->key);
	pd->auth_user = s->auth_user ? xstrdup(s->auth_user) : NULL;
	pd->peer = (struct smtp_server_peer){pd->ip, pd->auth_user, s->identity, s->tls == TLS_ON,
	                                     s->nrcpts};
	pd->mail_from = s->mail_from;
	s->mail_from = NULL;
	pd->rcpts = xcalloc(s->nrcpts, sizeof(char *));
	memcpy(pd->rcpts, s->rcpts, s->nrcpts * sizeof(char *));
	pd->data = s->data; /* its capacity stays charged until done */
	s->data = (struct strbuf)STRBUF_INIT;
	pd->m = (struct smtp_server_msg){&pd->peer,     pd->mail_from, pd->rcpts, s->nrcpts,
	                                 pd->data.data, pd->data.len,  pd};
	s->nrcpts = 0;
	pd->next = srv->pendings;
	if (srv->pendings)
		srv->pendings->prev = pd;
	srv->pendings = pd;
	s->pending = pd;
	s->state = SS_BUSY;
	bufferevent_disable(s->bev, EV_READ);
	srv->ops->message(srv->arg, &pd->m);
}

void smtp_server_done(struct smtp_server_msg *m, const char *text)
{
	struct pending *pd = m->priv;
	struct session *s = pd->s;

	pending_unlink(pd);
	if (s) {
		s->pending = NULL;
		s->state = SS_READY;
		s->line_ms = clock_mono_ms();
		if (text)
			srv_reply(s, "%s", text);
		else
			srv_reply(s, "250 2.0.0 ok: processed");
		bufferevent_enable(s->bev, EV_READ);
		/* commands pipelined behind the message: read them, from the loop */
		bufferevent_trigger(s->bev, EV_READ,
		                    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	}
	free(pd->mail_from);
	free(pd->auth_user);
	for (size_t i = 0; i < m->nrcpts; i++)
		free(pd->rcpts[i]);
	free(pd->rcpts);
	strbuf_free(&pd->data);
	free(pd);
}

/* The end of DATA: refuse, or hand the message to the owner. */
static void end_of_data(struct session *s)
{
	if (!s->data.data && !s->too_big && !s->no_room)
		append(s, "", 0); /* an empty message: a buffer to point at, charged */
	if (s->too_big || s->no_room || !s->data.data) {
		if (s->too_big)
			srv_reply(s, "552 5.3.4 message size exceeds the limit of %lld bytes",
			          (long long)s->srv->p.max_size);
		else
			srv_reply(s, "452 4.3.1 too much mail in progress here, try again later");
		srv_reset_transaction(s);
		s->state = SS_READY;
		return;
	}
	hand_over(s);
}

/* Appends to the message being read, or marks it refused (too big for
 * the message limit, or for the memory the server or this client may
 * hold: SMTP_SERVER_CLIENT_SHARE of the budget, or two messages). */
static void append(struct session *s, const char *p, size_t n)
{
	struct smtp_server *srv = s->srv;
	int64_t client_max = srv->p.memory_limit / SMTP_SERVER_CLIENT_SHARE;
	struct strbuf none = STRBUF_INIT;
	int64_t message_cap = (int64_t)strbuf_cap_for(&none, (size_t)srv->p.max_size);

	if (client_max < 2 * message_cap) /* two messages as buffers grow (doubling) */
		client_max = 2 * message_cap;
	if (s->too_big || s->no_room)
		return;
	if ((int64_t)(s->data.len + n) > srv->p.max_size) {
		s->too_big = 1;
		release_data(s);
		return;
	}
	int64_t grow = (int64_t)(strbuf_cap_for(&s->data, n) - s->data.cap);
	if (grow > 0 && (srv->held + grow > srv->p.memory_limit ||
	                 peers_held(srv->peers, s->key) + grow > client_max)) {
		s->no_room = 1;
		release_data(s);
		return;
	}
	strbuf_add(&s->data, p, n);
	charge(srv, s->key, grow);
}

/* One line of the message body (without its line end), or a piece of a
 * long one (piece: no line end yet). Only <CRLF>.<CRLF> ends the message
 * (the line "." ended by CRLF after a line ended by CRLF): a "." with a
 * bare LF on either side is content, so a message cannot end earlier here
 * than at a server that reads CRLF strictly (SMTP smuggling). Other lines
 * ended by a bare LF are taken as if by CRLF, as Postfix's
 * smtpd_forbid_bare_newline=normalize does. Lines longer than
 * SMTP_SERVER_DATA_LINE_MAX are taken in pieces, never refused. */
static void data_line(struct session *s, const char *line, size_t n, int crlf, int piece)
{
	s->win_bytes += (int64_t)n + 2;
	if (!s->mid_line && !piece && n == 1 && line[0] == '.' && crlf && s->last_crlf) {
		end_of_data(s);
		return;
	}
	if (!s->mid_line && line[0] == '.') /* dot-unstuffing, at a line's start */
		line++, n--;
	append(s, line, n);
	if (!piece)
		append(s, "\r\n", 2);
	s->mid_line = piece;
}

/* One line as read up to its LF: 1 if it ended with CRLF (the CR is cut
 * off: *n and the NUL), 0 for a bare LF. */
static int crlf_line(char *line, size_t *n)
{
	if (*n == 0 || line[*n - 1] != '\r')
		return 0;
	line[--(*n)] = '\0';
	return 1;
}

void srv_on_read(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);

	while (s->state != SS_CLOSING && s->state != SS_BUSY && s->state != SS_AUTH) {
		if (evbuffer_get_length(out) > SMTP_SERVER_OUTPUT_MAX) {
			/* the client sends without reading: read on when it has */
			s->out_paused = 1;
			bufferevent_disable(bev, EV_READ);
			return;
		}
		size_t n;
		char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
		if (!line && s->state == SS_DATA &&
		    evbuffer_get_length(in) > SMTP_SERVER_DATA_LINE_MAX) {
			char piece[SMTP_SERVER_DATA_LINE_MAX];
			evbuffer_remove(in, piece, sizeof(piece));
			s->line_ms = clock_mono_ms(); /* a piece is progress too */
			data_line(s, piece, sizeof(piece), 0, 1);
			s->last_crlf = 0;
			continue;
		}
		if (!line) {
			if (s->state != SS_DATA &&
			    evbuffer_get_length(in) > SMTP_SERVER_LINE_MAX * 2) {
				srv_reply(s, "500 5.5.2 line too long");
				srv_closing(s);
			}
			return;
		}
		int crlf = crlf_line(line, &n);
		s->line_ms = clock_mono_ms();
		if (s->state == SS_DATA) {
			data_line(s, line, n, crlf, 0);
		} else if (n > SMTP_SERVER_LINE_MAX || memchr(line, '\0', n)) {
			srv_reply(s, "500 5.5.2 line too long or not text");
			s->bad++;
		} else if (s->state == SS_SASL) {
			srv_sasl_line(s, line);
		} else {
			command(s, line);
		}
		if (s->state != SS_DATA)
			OPENSSL_cleanse(line, n); /* it may have been a password */
		free(line);
		if (s->bev != bev)
			return; /* STARTTLS: the rest comes through TLS */
		s->last_crlf = crlf;
		if (s->bad >= SMTP_SERVER_BAD_MAX && s->state != SS_CLOSING) {
			srv_reply(s, "421 4.7.0 %s too many errors, closing", s->srv->hostname);
			srv_closing(s);
		}
	}
}

/* 1 if everything said has reached the socket: under STARTTLS's filter,
 * the socket's bufferevent below must be empty too (the filter's write
 * callback comes when its records are handed down, not sent). */
static int drained(const struct session *s)
{
	struct bufferevent *below = bufferevent_get_underlying(s->bev);

	return evbuffer_get_length(bufferevent_get_output(s->bev)) == 0 &&
	       (!below || evbuffer_get_length(bufferevent_get_output(below)) == 0);
}

void srv_on_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	size_t left = evbuffer_get_length(bufferevent_get_output(bev));

	if (s->state == SS_CLOSING && drained(s)) {
		session_free(s);
		return;
	}
	if (s->out_paused && left <= SMTP_SERVER_OUTPUT_MAX / 2) {
		s->out_paused = 0;
		bufferevent_enable(bev, EV_READ);
		srv_on_read(bev, s);
	}
}

void srv_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) { /* the TLS handshake is done */
		s->tls = TLS_ON;
		return;
	}
	session_free(s); /* EOF or error (a failed handshake too) */
}

/* ---- deadlines: one tick for every session ---- */

/* Why s must go now, or NULL. DATA must keep up min_data_rate over each
 * window of SMTP_SERVER_DATA_GRACE_MS (a fast start buys no credit). */
static const char *overdue(struct session *s, int64_t now)
{
	const struct smtp_server_params *p = &s->srv->p;

	if (s->state == SS_BUSY || s->state == SS_AUTH)
		return NULL; /* the owner's time (or the failure delay), not the client's */
	if (now - s->line_ms > p->idle_ms)
		return "idle too long";
	if (now - s->start_ms > p->session_ms)
		return "session too long";
	int64_t in_window = now - s->win_ms;
	if (s->state == SS_DATA && p->min_data_rate > 0 && in_window >= SMTP_SERVER_DATA_GRACE_MS) {
		if (s->win_bytes * 1000 < p->min_data_rate * in_window)
			return "data too slow";
		s->win_ms = now;
		s->win_bytes = 0;
	}
	return NULL;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_server *srv = arg;
	int64_t now = clock_mono_ms();
	struct session *next;

	(void)fd, (void)what;
	for (struct session *s = srv->sessions; s; s = next) {
		next = s->next;
		const char *why;
		if (s->state == SS_CLOSING) {
			/* said (under TLS too), or its client does not read it */
			if (drained(s) || now - s->closing_ms > SMTP_SERVER_CLOSING_MS)
				session_free(s);
		} else if ((why = overdue(s, now)) && s->tls == TLS_HANDSHAKE) {
			session_free(s); /* nothing can be said before TLS is up */
		} else if (why) {
			srv_reply(s, "421 4.4.2 %s %s, closing", srv->hostname, why);
			srv_reset_transaction(s);
			srv_closing(s);
		}
	}
}

static void on_accept(void *arg, evutil_socket_t fd, const struct sockaddr *sa, int len)
{
	struct smtp_server *srv = arg;
	struct session *s = xcalloc(1, sizeof(*s));

	(void)len;
	s->srv = srv;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, s->ip,
		          sizeof(s->ip));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, s->ip,
		          sizeof(s->ip));
	peers_key(sa, s->key);
	if (srv->p.implicit_tls) {
		s->bev = srv_tls_accept(srv, fd);
		s->tls = TLS_HANDSHAKE; /* the banner waits for it */
	} else {
		s->bev = bufferevent_socket_new(srv->p.base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!s->bev) {
		evutil_closesocket(fd);
		free(s);
		return;
	}
	s->rcpts = xcalloc((size_t)srv->p.max_rcpts, sizeof(char *));
	s->start_ms = s->line_ms = clock_mono_ms();
	s->next = srv->sessions;
	if (srv->sessions)
		srv->sessions->prev = s;
	srv->sessions = s;
	srv->nsessions++;
	bufferevent_setcb(s->bev, srv_on_read, srv_on_write, srv_on_event, s);
	/* input is read only as far as the longest line it may hold */
	bufferevent_setwatermark(s->bev, EV_READ, 0, SMTP_SERVER_DATA_LINE_MAX + 1024);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	/* over a limit under implicit TLS: closed at once, a handshake would
	 * cost more than the refusal is worth */
	if (srv->nsessions > srv->p.max_sessions) {
		srv_reply(s, "421 4.7.0 %s too many connections, try later", srv->hostname);
		if (srv->p.implicit_tls)
			session_free(s);
		else
			srv_closing(s);
		return;
	}
	if (peers_open(srv->peers, s->key, srv->p.max_per_ip) != 0) {
		srv_reply(s, "421 4.7.0 %s too many connections from %s, try later", srv->hostname,
		          s->key);
		if (srv->p.implicit_tls)
			session_free(s);
		else
			srv_closing(s);
		return;
	}
	s->counted = 1;
	srv_reply(s, "220 %s ESMTP sluice", srv->hostname);
}

void smtp_server_adopt(struct smtp_server *s, int fd, const struct sockaddr *sa, int len)
{
	on_accept(s, fd, sa, len);
}

int smtp_server_new(const struct smtp_server_params *p, const struct smtp_server_ops *ops,
                    void *arg, struct smtp_server **out, struct err *e)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (sockaddr_parse(p->listen, 25, &ss, &len) != 0)
		return err_set(e, "inbound listen address '%s' is not ip:port", p->listen);
	if (p->implicit_tls && !p->tls)
		return err_set(e, "SMTP server %s: implicit TLS needs a certificate", p->listen);
	if (p->auth && !ops->auth)
		return err_set(e, "SMTP server %s: AUTH needs a way to check credentials",
		               p->listen);
	if (p->auth && !p->tls && !p->auth_without_tls)
		return err_set(e, "SMTP server %s: AUTH needs TLS (a certificate)", p->listen);
	if (p->require_auth && !p->auth)
		return err_set(e, "SMTP server %s: require_auth needs AUTH", p->listen);
	struct smtp_server *s = xcalloc(1, sizeof(*s));
	s->p = *p;
	if (s->p.tls)
		SSL_CTX_up_ref(s->p.tls);
	if (s->p.max_rcpts <= 0)
		s->p.max_rcpts = SMTP_SERVER_RCPTS_MAX;
	srv_auth_init(s);
	if (!s->p.idle_ms)
		s->p.idle_ms = SMTP_SERVER_IDLE_MS;
	if (!s->p.session_ms)
		s->p.session_ms = SMTP_SERVER_SESSION_MS;
	if (!s->p.memory_limit)
		s->p.memory_limit = 16 * s->p.max_size;
	s->hostname = xstrdup(p->hostname);
	s->ops = ops;
	s->arg = arg;
	s->peers = peers_new(SMTP_SERVER_PEERS_MAX, p->message_rate_per_ip);
	if (listen_new(p->base, &ss, len, "inbound SMTP", on_accept, s, &s->listener, e) != 0) {
		smtp_server_free(s);
		return -1;
	}
	s->tick = event_new(p->base, -1, EV_PERSIST, on_tick, s);
	struct timeval tv = {TICK_MS / 1000, (TICK_MS % 1000) * 1000};
	event_add(s->tick, &tv);
	*out = s;
	return 0;
}

void smtp_server_close_listener(struct smtp_server *s)
{
	if (!s)
		return;
	listen_free(s->listener);
	s->listener = NULL;
}

int smtp_server_flushed(const struct smtp_server *s)
{
	if (!s)
		return 1;
	for (const struct session *x = s->sessions; x; x = x->next)
		if (x->state == SS_BUSY || !drained(x))
			return 0;
	return 1;
}

void smtp_server_free(struct smtp_server *s)
{
	if (!s)
		return;
	listen_free(s->listener);
	if (s->tick)
		event_free(s->tick);
	while (s->sessions)
		session_free(s->sessions);
	for (struct pending *pd = s->pendings; pd; pd = pd->next)
		pd->srv = NULL; /* answered later, to nobody */
	srv_auth_server_free(s);
	if (s->p.tls)
		SSL_CTX_free(s->p.tls);
	peers_free(s->peers);
	free(s->hostname);
	free(s);
}
