/*
 * server: the inbound SMTP listener (RFC 5321) on the shared event loop, for
 * bounces, feedback reports and unsubscribe mail. Sessions are driven by a
 * command table {verb, state it needs, handler}; what to accept is decided
 * by the owner through two callbacks (the envelope recipient, then the whole
 * message), and a message is answered 250 only when the owner says so
 * (smtp_server_done), i.e. after it committed what the message did; the
 * owner may take its time (off the loop) while the loop serves others.
 *
 * Limits, all enforced here against a hostile client:
 *  - line length (commands 1000 octets; longer data lines are read in 8 KB
 *    pieces) and message size (SIZE, then counted while reading; a bigger
 *    message is read to its end and refused with 552);
 *  - only <CRLF>.<CRLF> ends DATA (SMTP smuggling: a "." next to a bare LF
 *    is content); other bare LFs end a line, as Postfix's
 *    smtpd_forbid_bare_newline=normalize does;
 *  - recipients per message (max_rcpts), bad commands per session;
 *  - sessions in all and per client (an IPv4 address, an IPv6 /64), and
 *    messages per client per unit of time (shape/peers.h; MAIL gets 451);
 *  - time: a command line must complete within idle_ms of the previous one
 *    (bytes that never make a line do not count), a session lives at most
 *    session_ms, and DATA must arrive at min_data_rate bytes a second after
 *    over every window of SMTP_SERVER_DATA_GRACE_MS;
 *  - memory: a client that sends without reading stops being read while
 *    its replies are backed up (SMTP_SERVER_OUTPUT_MAX), input is read only
 *    up to a line's length, and the message buffers held by all sessions
 *    together stay under memory_limit, by one client under its
 *    SMTP_SERVER_CLIENT_SHARE of it (or two messages), counted by their
 *    capacity (past it, 452 4.3.1 at the end of DATA).
 *
 * For submission (RFC 6409) the same server takes, from its params:
 *  - TLS: a server SSL_CTX (util/tls.h makes one; the server keeps a
 *    reference). With implicit_tls every connection is TLS from its first
 *    byte (port 465, RFC 8314); else STARTTLS (RFC 3207) is offered until
 *    TLS is on. After "220 2.0.0 Ready to start TLS" whatever the client
 *    pipelined behind STARTTLS is discarded (plaintext must not become a
 *    command of the TLS session: CVE-2011-0411) and the session forgets
 *    everything (EHLO, AUTH, the transaction). A TLS handshake is bounded by
 *    idle_ms like a command line (a client that never finishes it is
 *    dropped without a word) and by session_ms.
 *  - AUTH PLAIN and LOGIN (RFC 4954, RFC 4616), advertised and accepted only
 *    with TLS on, unless auth_without_tls (for loopback benchmarks only):
 *    before TLS, AUTH gets 538. The owner checks the credentials,
 *    asynchronously (ops->auth, smtp_server_auth_done); nothing more is read
 *    from the client meanwhile. One AUTH per session (a second: 503).
 *  - Password guessing: failures are counted per client key and per user
 *    name (smtp/auth_throttle.h, SMTP_SERVER_PEERS_MAX keys each); each 535
 *    is held back by a timer (auth_delay_ms, growing with the failures, at
 *    most 5 times it); auth_max_failures failures within auth_lockout_ms lock
 *    that client or user out for auth_lockout_ms (454 4.7.0, without asking
 *    the owner; logged as a warning through log_emit, never the password).
 *    A failure still counts when its client went away before the answer.
 *  - require_auth: MAIL before a successful AUTH gets 530 5.7.0.
 * Without tls and auth (the inbound listener) nothing of this is offered:
 * it accepts only mail for addresses sluice signed itself.
 */
#ifndef SLUICE_SMTP_SERVER_H
#define SLUICE_SMTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct event_base;
struct smtp_server;
struct sockaddr;

#define SMTP_SERVER_LINE_MAX        1000 /* RFC 5321 4.5.3.1.6: 1000 with CRLF */
#define SMTP_SERVER_DATA_LINE_MAX   8192 /* longer data lines are read in pieces */
#define SMTP_SERVER_CLIENT_SHARE    8    /* of memory_limit one client may hold */
#define SMTP_SERVER_RCPTS_MAX       100
#define SMTP_SERVER_BAD_MAX         10
#define SMTP_SERVER_IDLE_MS         300000 /* RFC 5321 4.5.3.2.7 */
#define SMTP_SERVER_SESSION_MS      1800000
#define SMTP_SERVER_DATA_GRACE_MS   10000
#define SMTP_SERVER_OUTPUT_MAX      16384  /* replies backed up before reading stops */
#define SMTP_SERVER_CLOSING_MS      5000   /* for a last reply to drain, then closed */
#define SMTP_SERVER_PEERS_MAX       10000  /* client keys (and user names) tracked at once */
#define SMTP_SERVER_AUTH_FAILURES   5      /* failed AUTHs that lock a client or user out */
#define SMTP_SERVER_AUTH_LOCKOUT_MS 900000 /* and the window they are counted in */
#define SMTP_SERVER_AUTH_DELAY_MS   1000   /* a 535 waits this, times the failures (max 5) */

struct ssl_ctx_st;

/* Who a session's client is, for the owner: borrowed, valid during the
 * callback it is handed to (a message's, until smtp_server_done). */
struct smtp_server_peer {
	const char *client_ip;
	const char *auth_user; /* NULL until a successful AUTH */
	void *identity;        /* the owner's, from smtp_server_auth_done */
	int tls;               /* 1: the session is under TLS */
	size_t nrcpts;         /* recipients accepted so far in the transaction */
};

/* One message handed to the owner. The server owns it; the owner reads
 * it and answers with smtp_server_done exactly once, now or later (the
 * session reads nothing more from its client until then). */
struct smtp_server_msg {
	const struct smtp_server_peer *peer;
	const char *mail_from;
	char *const *rcpts;
	size_t nrcpts;
	const char *data; /* CRLF lines, dot-unstuffed, NUL-terminated */
	size_t len;
	void *priv; /* the server's */
};

/* Credentials to check, handed to the owner. The server owns it; user and
 * password are NUL-terminated (the password is wiped when the owner
 * answers). The owner answers with smtp_server_auth_done exactly once, now
 * or later; a stays valid until then even if its client has gone. */
struct smtp_server_auth {
	const char *client_ip;
	const char *user;
	const char *password;
	void *priv; /* the server's */
};

struct smtp_server_ops {
	/* MAIL FROM (may be NULL: accept): 0 to accept, else writes a whole
	 * reply line ("550 5.7.1 ...") */
	int (*mail)(void *arg, const struct smtp_server_peer *p, const char *mail_from, char *reply,
	            size_t n);
	/* 0 to accept rcpt, else writes a whole reply line ("550 5.1.1 ...") */
	int (*rcpt)(void *arg, const struct smtp_server_peer *p, const char *mail_from,
	            const char *rcpt, char *reply, size_t n);
	/* a whole message; the owner calls smtp_server_done(m, ...) */
	void (*message)(void *arg, struct smtp_server_msg *m);
	/* credentials (needed with params.auth); the owner calls
	 * smtp_server_auth_done(a, ...) */
	void (*auth)(void *arg, struct smtp_server_auth *a);
};

struct smtp_server_params {
	struct event_base *base;
	const char *listen; /* "ip:port" */
	const char *hostname;
	int64_t max_size;
	int max_sessions, max_per_ip;
	double message_rate_per_ip; /* messages per second from one client; 0: unlimited */
	int idle_ms;                /* 0: SMTP_SERVER_IDLE_MS */
	int session_ms;             /* 0: SMTP_SERVER_SESSION_MS */
	int64_t min_data_rate;      /* bytes per second in DATA; 0: none */
	int64_t memory_limit;       /* bytes of messages held at once; 0: 16 x max_size */
	int max_rcpts;              /* recipients per message; 0: SMTP_SERVER_RCPTS_MAX */
	/* submission (all 0 for the inbound listener) */
	struct ssl_ctx_st *tls;  /* server context (a reference is kept); NULL: no TLS */
	int implicit_tls;        /* TLS from the first byte (needs tls); else STARTTLS */
	int auth;                /* offer AUTH PLAIN LOGIN (needs ops->auth, and tls or: */
	int auth_without_tls;    /*   AUTH before TLS too: for loopback only) */
	int require_auth;        /* MAIL only after a successful AUTH (needs auth) */
	int auth_max_failures;   /* 0: SMTP_SERVER_AUTH_FAILURES */
	int64_t auth_lockout_ms; /* 0: SMTP_SERVER_AUTH_LOCKOUT_MS */
	int64_t auth_delay_ms;   /* 0: SMTP_SERVER_AUTH_DELAY_MS */
};

/* Listens on p->listen. 0, or -1 with e (an address that is not ip:port,
 * one that cannot be bound, params that contradict each other: implicit_tls
 * without tls, auth without ops->auth or without a way to TLS,
 * require_auth without auth). ops and arg are borrowed until
 * smtp_server_free. */
int smtp_server_new(const struct smtp_server_params *p, const struct smtp_server_ops *ops,
                    void *arg, struct smtp_server **out, struct err *e);
/* The owner's answer to m: reply NULL for "250 2.0.0 ok: processed", else
 * a whole reply line. Frees m (its client may have gone meanwhile). */
void smtp_server_done(struct smtp_server_msg *m, const char *reply);
/* The owner's answer to a: ok 1 (235; the session keeps a->user and
 * identity, which must stay valid as long as the server: the server never
 * frees it) or 0 (535, after the failure delay, counted against the client
 * and the user). Wipes the password and frees a. */
void smtp_server_auth_done(struct smtp_server_auth *a, int ok, void *identity);
/* Stops accepting connections (a server told to stop): new clients are
 * refused by the kernel; sessions in progress go on (until their clients
 * quit, or smtp_server_free), and a message with the owner is answered
 * when the owner says so. Again: nothing more. */
void smtp_server_close_listener(struct smtp_server *s);
/* 1 when nothing is owed to a client: no message is with the owner and
 * every reply has been written to the socket (for a last turn of the loop
 * before smtp_server_free, which drops what is not written); else 0. */
int smtp_server_flushed(const struct smtp_server *s);
/* Stops listening and closes every session; messages and credentials still
 * with the owner stay valid until their smtp_server_done /
 * smtp_server_auth_done. */
void smtp_server_free(struct smtp_server *s);
/* Serves fd, a connection from sa accepted elsewhere, as the listener's own
 * (its limits, timers and ops): for the fuzz target fuzz/fuzz_smtp.c. */
void smtp_server_adopt(struct smtp_server *s, int fd, const struct sockaddr *sa, int len);

#endif
