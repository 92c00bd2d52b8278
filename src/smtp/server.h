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
 *  - recipients per message, bad commands per session;
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
 * No STARTTLS and no AUTH: the listener accepts only mail for addresses
 * sluice signed itself.
 */
#ifndef SLUICE_SMTP_SERVER_H
#define SLUICE_SMTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct event_base;
struct smtp_server;

#define SMTP_SERVER_LINE_MAX      1000 /* RFC 5321 4.5.3.1.6: 1000 with CRLF */
#define SMTP_SERVER_DATA_LINE_MAX 8192 /* longer data lines are read in pieces */
#define SMTP_SERVER_CLIENT_SHARE  8    /* of memory_limit one client may hold */
#define SMTP_SERVER_RCPTS_MAX     100
#define SMTP_SERVER_BAD_MAX       10
#define SMTP_SERVER_IDLE_MS       300000 /* RFC 5321 4.5.3.2.7 */
#define SMTP_SERVER_SESSION_MS    1800000
#define SMTP_SERVER_DATA_GRACE_MS 10000
#define SMTP_SERVER_OUTPUT_MAX    16384 /* replies backed up before reading stops */
#define SMTP_SERVER_CLOSING_MS    5000  /* for a last reply to drain, then closed */
#define SMTP_SERVER_PEERS_MAX     10000 /* client keys whose rate is tracked at once */

/* One message handed to the owner. The server owns it; the owner reads
 * it and answers with smtp_server_done exactly once, now or later (the
 * session reads nothing more from its client until then). */
struct smtp_server_msg {
	const char *client_ip;
	const char *mail_from;
	char *const *rcpts;
	size_t nrcpts;
	const char *data; /* CRLF lines, dot-unstuffed, NUL-terminated */
	size_t len;
	void *priv; /* the server's */
};

struct smtp_server_ops {
	/* 0 to accept rcpt, else writes a whole reply line ("550 5.1.1 ...") */
	int (*rcpt)(void *arg, const char *client_ip, const char *mail_from, const char *rcpt,
	            char *reply, size_t n);
	/* a whole message; the owner calls smtp_server_done(m, ...) */
	void (*message)(void *arg, struct smtp_server_msg *m);
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
};

int smtp_server_new(const struct smtp_server_params *p, const struct smtp_server_ops *ops,
                    void *arg, struct smtp_server **out, struct err *e);
/* The owner's answer to m: reply NULL for "250 2.0.0 ok: processed", else
 * a whole reply line. Frees m (its client may have gone meanwhile). */
void smtp_server_done(struct smtp_server_msg *m, const char *reply);
/* Stops listening and closes every session; messages still with the owner
 * stay valid until their smtp_server_done. */
void smtp_server_free(struct smtp_server *s);

#endif
