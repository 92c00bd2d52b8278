/*
 * server_int: the SMTP server's private parts, shared by server.c (the
 * listener, the sessions, the command table, MAIL/RCPT/DATA, the owner's
 * answer, the deadlines), server_tls.c (STARTTLS and implicit TLS) and
 * server_auth.c (AUTH PLAIN and LOGIN, the owner's check, the failure
 * throttle). Nothing outside src/smtp/server*.c includes it.
 *
 * A session is freed only by server.c (session_free: from an I/O callback
 * or the tick, never from a handler still on the stack); the TLS and AUTH
 * parts change its state, its bufferevent (STARTTLS) and its AUTH fields,
 * and tell server.c what they hold through srv_auth_session_free.
 */
#ifndef SLUICE_SMTP_SERVER_INT_H
#define SLUICE_SMTP_SERVER_INT_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdint.h>

#include "shape/peers.h"
#include "smtp/sasl.h"
#include "smtp/server.h"
#include "util/strbuf.h"

/* SS_SASL: the next line is a response to a 334 challenge (s->sasl says
 * which). SS_BUSY: a message is with the owner; SS_AUTH: credentials are
 * with the owner, or a failure waits out its delay; nothing is read in
 * either until it is over. The command table compares states by order. */
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

struct pending;  /* server.c */
struct auth_req; /* server_auth.c */
struct auth_throttle;

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

struct smtp_server {
	struct smtp_server_params p;
	char *hostname;
	struct listen *listener; /* NULL once closed (smtp_server_close_listener) */
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

/* ---- server.c ---- */

/* Queues one reply line (CRLF added) to the session's client. */
void srv_reply(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Closes once the reply is written (the write callback or the tick frees). */
void srv_closing(struct session *s);
/* Forgets MAIL, RCPT and the data; back to SS_READY from a transaction. */
void srv_reset_transaction(struct session *s);
/* The session's bufferevent callbacks (STARTTLS sets them on its filter). */
void srv_on_read(struct bufferevent *bev, void *arg);
void srv_on_write(struct bufferevent *bev, void *arg);
void srv_on_event(struct bufferevent *bev, short what, void *arg);

/* ---- server_tls.c ---- */

/* 1 if STARTTLS is offered: the connection is not TLS and can become it. */
int srv_starttls_offered(const struct session *s);
void srv_cmd_starttls(struct session *s, const char *arg);
/* A bufferevent that accepts TLS on fd (implicit TLS), or NULL (fd is
 * then still the caller's). */
struct bufferevent *srv_tls_accept(struct smtp_server *srv, evutil_socket_t fd);

/* ---- server_auth.c ---- */

/* 1 if AUTH is offered: under TLS (or before it, if the owner opted in),
 * and not yet done. */
int srv_auth_offered(const struct session *s);
void srv_cmd_auth(struct session *s, const char *arg);
/* A line answering a 334 (SS_SASL). */
void srv_sasl_line(struct session *s, const char *line);
/* What AUTH left in the session: the user, the identity, a half-done LOGIN. */
void srv_forget_auth(struct session *s);
/* The AUTH defaults of srv->p and its failure throttles. */
void srv_auth_init(struct smtp_server *srv);
/* A session going away: credentials with the owner are answered to nobody
 * (the answer still counts), a held-back 535 is dropped, AUTH forgotten. */
void srv_auth_session_free(struct session *s);
/* The server going away: credentials with the owner outlive it. */
void srv_auth_server_free(struct smtp_server *srv);

#endif
