/*
 * server_auth: AUTH (RFC 4954) for the SMTP server's sessions (see
 * server.h): PLAIN (RFC 4616) and LOGIN, the client's responses decoded
 * by smtp/sasl.h, the credentials checked by the owner asynchronously
 * (ops->auth, answered by smtp_server_auth_done), and password guessing
 * held back: failures counted per client key and per user name
 * (smtp/auth_throttle.h), each 535 delayed, a lockout answered 454 without
 * asking the owner. Passwords are wiped (OPENSSL_cleanse) wherever they
 * were copied: the session's LOGIN user, the request, the decoded lines.
 */
#include <ctype.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/auth_throttle.h"
#include "smtp/server_int.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xmalloc.h"

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

int srv_auth_offered(const struct session *s)
{
	const struct smtp_server_params *p = &s->srv->p;
	return p->auth && !s->auth_user && (s->tls == TLS_ON || p->auth_without_tls);
}

void srv_forget_auth(struct session *s)
{
	free(s->auth_user);
	s->auth_user = NULL;
	s->identity = NULL;
	OPENSSL_cleanse(s->login_user, sizeof(s->login_user));
}

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
		srv_reply(s, "421 4.7.0 %s too many errors, closing", s->srv->hostname);
		srv_closing(s);
	}
}

/* 1 (and the 454 said) if the client or the user is locked out now. */
static int locked_out(struct session *s, const char *ukey)
{
	struct smtp_server *srv = s->srv;
	int64_t now = clock_mono_ms();

	if (auth_throttle_locked(srv->fail_ip, s->key, now) > 0 ||
	    (ukey && auth_throttle_locked(srv->fail_user, ukey, now) > 0)) {
		srv_reply(s, "454 4.7.0 Too many failed attempts, try later");
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
	srv_reply(s, "535 5.7.8 Authentication credentials invalid");
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
			srv_reply(s, "235 2.7.0 Authentication successful");
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
	srv_reply(s, "501 5.5.2 cannot decode the response");
	s->bad++;
}

static void plain_response(struct session *s, const char *b64)
{
	char user[SASL_USER_MAX + 1], pass[SASL_PASS_MAX + 1];
	int rc = sasl_plain_decode(b64, user, pass);

	if (rc == -2) {
		srv_reply(s, "535 5.7.8 authorization identity not supported");
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
	srv_reply(s, "334 UGFzc3dvcmQ6"); /* "Password:" */
	s->sasl = SASL_LOGIN_PASS;
	s->state = SS_SASL;
}

/* "*" cancels. */
void srv_sasl_line(struct session *s, const char *line)
{
	char pass[SASL_PASS_MAX + 1];

	s->state = SS_READY;
	if (strcmp(line, "*") == 0) {
		srv_reply(s, "501 5.7.0 authentication cancelled");
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

void srv_cmd_auth(struct session *s, const char *arg)
{
	const struct smtp_server_params *p = &s->srv->p;
	char mech[32];
	size_t ml = strcspn(arg, " ");
	const char *ir = arg + ml;

	while (*ir == ' ')
		ir++;
	if (!p->auth) {
		srv_reply(s, "502 5.5.2 command not implemented");
		s->bad++;
		return;
	}
	if (s->auth_user) {
		srv_reply(s, "503 5.5.1 already authenticated");
		s->bad++;
		return;
	}
	if (s->tls != TLS_ON && !p->auth_without_tls) {
		srv_reply(s,
		          "538 5.7.11 Encryption required for requested authentication mechanism");
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
		srv_reply(s, "334 ");
		s->sasl = SASL_PLAIN;
		s->state = SS_SASL;
	} else if (strcasecmp(mech, "LOGIN") == 0) {
		if (*ir) {
			login_user(s, ir);
			return;
		}
		srv_reply(s, "334 VXNlcm5hbWU6"); /* "Username:" */
		s->sasl = SASL_LOGIN_USER;
		s->state = SS_SASL;
	} else {
		srv_reply(s, "504 5.5.4 unrecognized authentication type");
		s->bad++;
	}
}

void srv_auth_init(struct smtp_server *srv)
{
	struct smtp_server_params *p = &srv->p;

	if (p->auth_max_failures <= 0)
		p->auth_max_failures = SMTP_SERVER_AUTH_FAILURES;
	if (p->auth_lockout_ms <= 0)
		p->auth_lockout_ms = SMTP_SERVER_AUTH_LOCKOUT_MS;
	if (p->auth_delay_ms <= 0)
		p->auth_delay_ms = SMTP_SERVER_AUTH_DELAY_MS;
	struct auth_throttle_params tp = {p->auth_max_failures, p->auth_lockout_ms,
	                                  p->auth_lockout_ms, p->auth_delay_ms};
	srv->fail_ip = auth_throttle_new(SMTP_SERVER_PEERS_MAX, &tp);
	srv->fail_user = auth_throttle_new(SMTP_SERVER_PEERS_MAX, &tp);
}

void srv_auth_session_free(struct session *s)
{
	if (s->auth_req)
		s->auth_req->s = NULL; /* the owner still answers; the answer still counts */
	if (s->auth_delay)
		event_free(s->auth_delay);
	srv_forget_auth(s);
}

void srv_auth_server_free(struct smtp_server *srv)
{
	for (struct auth_req *r = srv->auths; r; r = r->next)
		r->srv = NULL; /* answered later, to nobody */
	auth_throttle_free(srv->fail_ip);
	auth_throttle_free(srv->fail_user);
}
