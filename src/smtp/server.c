/* server: see server.h. */
#include "smtp/server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shape/peers.h"
#include "smtp/auth_throttle.h"
#include "smtp/sasl.h"
#include "util/clock.h"
#include "util/listen.h"
#include "util/log.h"
#include "util/sockaddr.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define TICK_MS 500 /* how often the deadlines are looked at */

/* SS_SASL: the next line is a response to a 334 challenge (s->sasl says
 * which). SS_BUSY: a message is with the owner; SS_AUTH: credentials are
 * with the owner, or a failure waits out its delay; nothing is read in
 * either until it is over. */
enum srv_state {
	SS_GREET,
	SS_READY,
	SS_MAIL,
	SS_RCPT,
	SS_DATA,
	SS_SASL,
	SS_BUSY,
	SS_AUTH,
	SS_CLOSING
};
enum sasl_step { SASL_PLAIN, SASL_LOGIN_USER, SASL_LOGIN_PASS };
/* status (not policy): TLS on the connection */
enum tls_status { TLS_NONE, TLS_HANDSHAKE, TLS_ON };

struct pending;
struct auth_req;

struct session {
	struct smtp_server *srv;
	struct bufferevent *bev;
	char ip[64];             /* the client's address, for the owner and the logs */
	char key[PEERS_KEY_MAX]; /* its client key for the limits (IPv6: the /64) */
	int counted;             /* 1: counted in srv->peers */
	enum srv_state state;
	enum tls_status tls;
	int bad;         /* bad commands so far */
	char *mail_from; /* NULL until MAIL */
	char **rcpts;    /* max_rcpts of them */
	size_t nrcpts;
	struct strbuf data;
	int too_big, no_room; /* the message is read to its end, then refused */
	int out_paused;       /* not reading: the client does not read its replies */
	int last_crlf;        /* the last line read ended with CRLF */
	int64_t start_ms, line_ms, closing_ms;
	int64_t win_ms, win_bytes; /* DATA received since win_ms (the minimum rate's window) */
	int mid_line;              /* DATA: a long line is being read in pieces */
	struct pending *pending;   /* the message with the owner (SS_BUSY) */
	/* AUTH */
	enum sasl_step sasl;                /* SS_SASL: what the next line answers */
	char login_user[SASL_USER_MAX + 1]; /* LOGIN: the user, until the password */
	struct auth_req *auth_req;          /* credentials with the owner (SS_AUTH) */
	struct event *auth_delay;           /* a failure's 535, held back (SS_AUTH) */
	char *auth_user;                    /* NULL until a successful AUTH */
	void *identity;                     /* the owner's, with auth_user */
	struct smtp_server_peer peer;       /* what the owner is shown */
	struct session *next, *prev;
};

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

/* Credentials with the owner: outlive their session if the client goes
 * (the answer still counts against the client and the user). */
struct auth_req {
	struct smtp_server_auth a;
	struct smtp_server *srv; /* NULL once the server is freed */
	struct session *s;       /* NULL once the session is gone */
	char ip[64], key[PEERS_KEY_MAX];
	char user[SASL_USER_MAX + 1], ukey[SASL_USER_MAX + 1]; /* ukey: lower case */
	char pass[SASL_PASS_MAX + 1];
	struct auth_req *next, *prev;
};

struct smtp_server {
	struct smtp_server_params p;
	char *hostname;
	struct listen *listener;
	struct event *tick;
	const struct smtp_server_ops *ops;
	void *arg;
	struct session *sessions;
	int nsessions;
	struct pending *pendings;
	struct auth_req *auths;
	struct peers *peers;
	struct auth_throttle *fail_ip, *fail_user; /* failed AUTHs per client key, per user */
	int64_t held; /* bytes of message buffers (their capacity) of sessions and pendings */
};

static void reply(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct session *s, const char *fmt, ...)
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

static void reset_transaction(struct session *s)
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

/* What AUTH left in the session: the user, the identity, a half-done
 * LOGIN. */
static void forget_auth(struct session *s)
{
	free(s->auth_user);
	s->auth_user = NULL;
	s->identity = NULL;
	OPENSSL_cleanse(s->login_user, sizeof(s->login_user));
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
	if (s->auth_req)
		s->auth_req->s = NULL; /* likewise; the answer still counts */
	if (s->auth_delay)
		event_free(s->auth_delay);
	reset_transaction(s);
	forget_auth(s);
	free(s->rcpts);
	bufferevent_free(s->bev);
	free(s);
}

/* Closes once the reply is written (the write callback frees; the tick
 * frees a session whose client never reads it). */
static void closing(struct session *s)
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

/* STARTTLS is offered while the connection is not TLS and can become it. */
static int starttls_offered(const struct session *s)
{
	return s->srv->p.tls && !s->srv->p.implicit_tls && s->tls == TLS_NONE;
}

/* AUTH is offered under TLS (or before it, if the owner opted in), once. */
static int auth_offered(const struct session *s)
{
	const struct smtp_server_params *p = &s->srv->p;
	return p->auth && !s->auth_user && (s->tls == TLS_ON || p->auth_without_tls);
}

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
	      "250-%s\r\n250-PIPELINING\r\n250-SIZE %lld\r\n250-8BITMIME\r\n250-SMTPUTF8%s%s\r\n"
	      "250 ENHANCEDSTATUSCODES",
	      s->srv->hostname, (long long)s->srv->p.max_size,
	      starttls_offered(s) ? "\r\n250-STARTTLS" : "",
	      auth_offered(s) ? "\r\n250-AUTH PLAIN LOGIN" : "");
}

static void cmd_mail(struct session *s, const char *arg)
{
	char addr[512], why[300];
	const char *params;

	if (strncasecmp(arg, "FROM:", 5) != 0 ||
	    !(params = path_arg(arg + 5, addr, sizeof(addr)))) {
		reply(s, "501 5.5.4 syntax: MAIL FROM:<address>");
		s->bad++;
		return;
	}
	if (s->srv->p.require_auth && !s->auth_user) {
		reply(s, "530 5.7.0 Authentication required");
		s->bad++;
		return;
	}
	const char *size = strcasestr(params, "SIZE=");
	if (size && strtoll(size + 5, NULL, 10) > s->srv->p.max_size) {
		reply(s, "552 5.3.4 message size exceeds the limit of %lld bytes",
		      (long long)s->srv->p.max_size);
		return;
	}
	if (!peers_rate_take(s->srv->peers, s->key, clock_mono_ms())) {
		reply(s, "451 4.7.1 too many messages from %s, slow down", s->key);
		return;
	}
	if (s->srv->ops->mail &&
	    s->srv->ops->mail(s->srv->arg, peer_of(s), addr, why, sizeof(why)) != 0) {
		reply(s, "%s", why);
		s->bad++;
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
	if (s->nrcpts >= (size_t)s->srv->p.max_rcpts) {
		reply(s, "452 4.5.3 too many recipients");
		return;
	}
	if (s->srv->ops->rcpt(s->srv->arg, peer_of(s), s->mail_from, addr, why, sizeof(why)) != 0) {
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
	release_data(s);
	s->too_big = s->no_room = 0;
	s->state = SS_DATA;
	s->win_ms = clock_mono_ms();
	s->win_bytes = 0;
	s->mid_line = 0;
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

/* ---- STARTTLS (RFC 3207) ---- */

static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

/* The 220 goes out in plaintext on the socket's bufferevent; the TLS
 * filter is put over it at once (the client speaks only after reading the
 * 220). Whatever the client sent behind STARTTLS is dropped, unread: it
 * came before TLS and must not be taken as a command of the TLS session
 * (CVE-2011-0411). The session starts over: no EHLO, no AUTH. on_read sees
 * s->bev change and stops reading the old one. */
static void cmd_starttls(struct session *s, const char *arg)
{
	struct smtp_server *srv = s->srv;

	if (!srv->p.tls || srv->p.implicit_tls) {
		reply(s, "502 5.5.2 command not implemented");
		s->bad++;
		return;
	}
	if (s->tls != TLS_NONE) {
		reply(s, "503 5.5.1 TLS already active");
		s->bad++;
		return;
	}
	if (*arg) {
		reply(s, "501 5.5.4 syntax: STARTTLS");
		s->bad++;
		return;
	}
	SSL *ssl = SSL_new(srv->p.tls);
	if (!ssl) {
		reply(s, "454 4.7.0 TLS not available due to temporary reason");
		return;
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	struct evbuffer *in = bufferevent_get_input(s->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	struct bufferevent *tls = bufferevent_openssl_filter_new(
	    srv->p.base, s->bev, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (!tls) {
		SSL_free(ssl);
		closing(s);
		return;
	}
	s->bev = tls;
	s->tls = TLS_HANDSHAKE;
	reset_transaction(s);
	forget_auth(s);
	s->state = SS_GREET;
	s->line_ms = clock_mono_ms(); /* the handshake has idle_ms, like a line */
	s->last_crlf = 1;
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	bufferevent_setcb(tls, on_read, on_write, on_event, s);
	bufferevent_setwatermark(tls, EV_READ, 0, SMTP_SERVER_DATA_LINE_MAX + 1024);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
}

/* ---- AUTH (RFC 4954): PLAIN and LOGIN, checked by the owner ---- */

/* Reading again after the owner's answer (or the failure's delay). */
static void resume(struct session *s)
{
	s->state = SS_READY;
	s->line_ms = clock_mono_ms();
	bufferevent_enable(s->bev, EV_READ);
	/* commands pipelined behind AUTH: read them, from the loop */
	bufferevent_trigger(s->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

static void bad_or_close(struct session *s)
{
	if (++s->bad >= SMTP_SERVER_BAD_MAX && s->state != SS_CLOSING) {
		reply(s, "421 4.7.0 %s too many errors, closing", s->srv->hostname);
		closing(s);
	}
}

/* 1 (and the 454 said) if the client or the user is locked out now. */
static int locked_out(struct session *s, const char *ukey)
{
	struct smtp_server *srv = s->srv;
	int64_t now = clock_mono_ms();

	if (auth_throttle_locked(srv->fail_ip, s->key, now) > 0 ||
	    (ukey && auth_throttle_locked(srv->fail_user, ukey, now) > 0)) {
		reply(s, "454 4.7.0 Too many failed attempts, try later");
		s->bad++;
		return 1;
	}
	return 0;
}

/* Hands user and pass to the owner; the session waits (SS_AUTH). */
static void ask_owner(struct session *s, const char *user, const char *pass)
{
	struct smtp_server *srv = s->srv;
	char ukey[SASL_USER_MAX + 1];
	size_t i;

	for (i = 0; user[i] && i < SASL_USER_MAX; i++)
		ukey[i] = (char)tolower((unsigned char)user[i]);
	ukey[i] = '\0';
	if (locked_out(s, ukey))
		return;
	struct auth_req *r = xcalloc(1, sizeof(*r));
	r->srv = srv;
	r->s = s;
	snprintf(r->ip, sizeof(r->ip), "%s", s->ip);
	snprintf(r->key, sizeof(r->key), "%s", s->key);
	snprintf(r->user, sizeof(r->user), "%s", user);
	snprintf(r->ukey, sizeof(r->ukey), "%s", ukey);
	snprintf(r->pass, sizeof(r->pass), "%s", pass);
	r->a = (struct smtp_server_auth){r->ip, r->user, r->pass, r};
	r->next = srv->auths;
	if (srv->auths)
		srv->auths->prev = r;
	srv->auths = r;
	s->auth_req = r;
	s->state = SS_AUTH;
	bufferevent_disable(s->bev, EV_READ);
	srv->ops->auth(srv->arg, &r->a);
}

static void auth_delay_over(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd, (void)what;
	reply(s, "535 5.7.8 Authentication credentials invalid");
	resume(s);
	bad_or_close(s);
}

static void log_lockout(struct smtp_server *srv, const char *what, const char *who,
                        const struct auth_req *r)
{
	log_emit(LOG_WARN,
	         "smtp server %s: %s %s locked out for %llds after %d failed AUTHs (last: user %s "
	         "from %s)",
	         srv->p.listen, what, who, (long long)(srv->p.auth_lockout_ms / 1000),
	         srv->p.auth_max_failures, r->user, r->ip);
}

void smtp_server_auth_done(struct smtp_server_auth *a, int ok, void *identity)
{
	struct auth_req *r = a->priv;
	struct smtp_server *srv = r->srv;
	struct session *s = r->s;
	int64_t delay = 0;

	OPENSSL_cleanse(r->pass, sizeof(r->pass));
	if (srv) {
		if (r->prev)
			r->prev->next = r->next;
		else
			srv->auths = r->next;
		if (r->next)
			r->next->prev = r->prev;
		if (ok) {
			auth_throttle_clear(srv->fail_user, r->ukey);
		} else {
			int64_t now = clock_mono_ms(), d;
			int locked;
			delay = auth_throttle_fail(srv->fail_ip, r->key, now, &locked);
			if (locked)
				log_lockout(srv, "client", r->key, r);
			d = auth_throttle_fail(srv->fail_user, r->ukey, now, &locked);
			if (locked)
				log_lockout(srv, "user", r->user, r);
			if (d > delay)
				delay = d;
		}
	}
	if (s) {
		s->auth_req = NULL;
		if (ok) {
			s->auth_user = xstrdup(r->user);
			s->identity = identity;
			reply(s, "235 2.7.0 Authentication successful");
			resume(s);
		} else {
			if (!s->auth_delay)
				s->auth_delay = evtimer_new(srv->p.base, auth_delay_over, s);
			struct timeval tv = {(time_t)(delay / 1000),
			                     (suseconds_t)(delay % 1000) * 1000};
			evtimer_add(s->auth_delay, &tv);
		}
	}
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
}

/* A response that is not base64 (or not the mechanism's shape). */
static void undecodable(struct session *s)
{
	reply(s, "501 5.5.2 cannot decode the response");
	s->bad++;
}

static void plain_response(struct session *s, const char *b64)
{
	char user[SASL_USER_MAX + 1], pass[SASL_PASS_MAX + 1];
	int rc = sasl_plain_decode(b64, user, pass);

	if (rc == -2) {
		reply(s, "535 5.7.8 authorization identity not supported");
		s->bad++;
	} else if (rc != 0) {
		undecodable(s);
	} else {
		ask_owner(s, user, pass);
	}
	OPENSSL_cleanse(pass, sizeof(pass));
}

static void login_user(struct session *s, const char *b64)
{
	if (sasl_login_decode(b64, s->login_user, SASL_USER_MAX, 1) != 0) {
		undecodable(s);
		return;
	}
	reply(s, "334 UGFzc3dvcmQ6"); /* "Password:" */
	s->sasl = SASL_LOGIN_PASS;
	s->state = SS_SASL;
}

/* A line answering a 334 (SS_SASL): "*" cancels. */
static void sasl_line(struct session *s, const char *line)
{
	char pass[SASL_PASS_MAX + 1];

	s->state = SS_READY;
	if (strcmp(line, "*") == 0) {
		reply(s, "501 5.7.0 authentication cancelled");
		s->bad++;
	} else if (s->sasl == SASL_PLAIN) {
		plain_response(s, line);
	} else if (s->sasl == SASL_LOGIN_USER) {
		login_user(s, line);
		return;
	} else if (sasl_login_decode(line, pass, SASL_PASS_MAX, 0) != 0) {
		undecodable(s);
	} else {
		ask_owner(s, s->login_user, pass);
		OPENSSL_cleanse(pass, sizeof(pass));
	}
	OPENSSL_cleanse(s->login_user, sizeof(s->login_user));
}

static void cmd_auth(struct session *s, const char *arg)
{
	const struct smtp_server_params *p = &s->srv->p;
	char mech[32];
	size_t ml = strcspn(arg, " ");
	const char *ir = arg + ml;

	while (*ir == ' ')
		ir++;
	if (!p->auth) {
		reply(s, "502 5.5.2 command not implemented");
		s->bad++;
		return;
	}
	if (s->auth_user) {
		reply(s, "503 5.5.1 already authenticated");
		s->bad++;
		return;
	}
	if (s->tls != TLS_ON && !p->auth_without_tls) {
		reply(s, "538 5.7.11 Encryption required for requested authentication mechanism");
		s->bad++;
		return;
	}
	if (locked_out(s, NULL))
		return;
	snprintf(mech, sizeof(mech), "%.*s", (int)ml, arg);
	if (strcasecmp(mech, "PLAIN") == 0) {
		if (*ir) {
			plain_response(s, ir);
			return;
		}
		reply(s, "334 ");
		s->sasl = SASL_PLAIN;
		s->state = SS_SASL;
	} else if (strcasecmp(mech, "LOGIN") == 0) {
		if (*ir) {
			login_user(s, ir);
			return;
		}
		reply(s, "334 VXNlcm5hbWU6"); /* "Username:" */
		s->sasl = SASL_LOGIN_USER;
		s->state = SS_SASL;
	} else {
		reply(s, "504 5.5.4 unrecognized authentication type");
		s->bad++;
	}
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
    {"VRFY", SS_READY, SS_RCPT, cmd_vrfy},  {"STARTTLS", SS_READY, SS_READY, cmd_starttls},
    {"AUTH", SS_READY, SS_READY, cmd_auth},
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
			reply(s, "%s", text);
		else
			reply(s, "250 2.0.0 ok: processed");
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
			reply(s, "552 5.3.4 message size exceeds the limit of %lld bytes",
			      (long long)s->srv->p.max_size);
		else
			reply(s, "452 4.3.1 too much mail in progress here, try again later");
		reset_transaction(s);
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

static void on_read(struct bufferevent *bev, void *arg)
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
				reply(s, "500 5.5.2 line too long");
				closing(s);
			}
			return;
		}
		int crlf = crlf_line(line, &n);
		s->line_ms = clock_mono_ms();
		if (s->state == SS_DATA) {
			data_line(s, line, n, crlf, 0);
		} else if (n > SMTP_SERVER_LINE_MAX || memchr(line, '\0', n)) {
			reply(s, "500 5.5.2 line too long or not text");
			s->bad++;
		} else if (s->state == SS_SASL) {
			sasl_line(s, line);
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
			reply(s, "421 4.7.0 %s too many errors, closing", s->srv->hostname);
			closing(s);
		}
	}
}

/* 1 if everything said has reached the socket: under STARTTLS's filter,
 * the socket's bufferevent below must be empty too (the filter's write
 * callback comes when its records are handed down, not sent). */
static int drained(struct session *s)
{
	struct bufferevent *below = bufferevent_get_underlying(s->bev);

	return evbuffer_get_length(bufferevent_get_output(s->bev)) == 0 &&
	       (!below || evbuffer_get_length(bufferevent_get_output(below)) == 0);
}

static void on_write(struct bufferevent *bev, void *arg)
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
		on_read(bev, s);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
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
			reply(s, "421 4.4.2 %s %s, closing", srv->hostname, why);
			reset_transaction(s);
			closing(s);
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
		SSL *ssl = SSL_new(srv->p.tls);
		s->bev = ssl ? bufferevent_openssl_socket_new(srv->p.base, fd, ssl,
		                                              BUFFEREVENT_SSL_ACCEPTING,
		                                              BEV_OPT_CLOSE_ON_FREE)
		             : NULL;
		if (s->bev)
			bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
		else if (ssl)
			SSL_free(ssl);
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
	bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
	/* input is read only as far as the longest line it may hold */
	bufferevent_setwatermark(s->bev, EV_READ, 0, SMTP_SERVER_DATA_LINE_MAX + 1024);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	/* over a limit under implicit TLS: closed at once, a handshake would
	 * cost more than the refusal is worth */
	if (srv->nsessions > srv->p.max_sessions) {
		reply(s, "421 4.7.0 %s too many connections, try later", srv->hostname);
		if (srv->p.implicit_tls)
			session_free(s);
		else
			closing(s);
		return;
	}
	if (peers_open(srv->peers, s->key, srv->p.max_per_ip) != 0) {
		reply(s, "421 4.7.0 %s too many connections from %s, try later", srv->hostname,
		      s->key);
		if (srv->p.implicit_tls)
			session_free(s);
		else
			closing(s);
		return;
	}
	s->counted = 1;
	reply(s, "220 %s ESMTP sluice", srv->hostname);
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
	if (s->p.auth_max_failures <= 0)
		s->p.auth_max_failures = SMTP_SERVER_AUTH_FAILURES;
	if (s->p.auth_lockout_ms <= 0)
		s->p.auth_lockout_ms = SMTP_SERVER_AUTH_LOCKOUT_MS;
	if (s->p.auth_delay_ms <= 0)
		s->p.auth_delay_ms = SMTP_SERVER_AUTH_DELAY_MS;
	struct auth_throttle_params tp = {s->p.auth_max_failures, s->p.auth_lockout_ms,
	                                  s->p.auth_lockout_ms, s->p.auth_delay_ms};
	s->fail_ip = auth_throttle_new(SMTP_SERVER_PEERS_MAX, &tp);
	s->fail_user = auth_throttle_new(SMTP_SERVER_PEERS_MAX, &tp);
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
	for (struct auth_req *r = s->auths; r; r = r->next)
		r->srv = NULL;
	auth_throttle_free(s->fail_ip);
	auth_throttle_free(s->fail_user);
	if (s->p.tls)
		SSL_CTX_free(s->p.tls);
	peers_free(s->peers);
	free(s->hostname);
	free(s);
}
