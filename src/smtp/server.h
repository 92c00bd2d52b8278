/*
 * server: the inbound SMTP listener (RFC 5321) on the shared event loop, for
 * bounces, feedback reports and unsubscribe mail. Sessions are driven by a
 * command table {verb, state it needs, handler}; what to accept is decided
 * by the owner through two callbacks (the envelope recipient, then the whole
 * message), and a message is answered 250 only after the owner's callback
 * returned, i.e. after it committed what the message did.
 *
 * Limits, all enforced here: line length, message size (SIZE, then counted
 * while reading; a bigger message is read to its end and refused with 552),
 * recipients per message, sessions in all and per client IP, messages per
 * client IP per unit of time (a token bucket per IP; MAIL gets 451 past it),
 * bad commands per session, and an idle timeout. No STARTTLS and no AUTH: the listener
 * accepts only mail for addresses sluice signed itself.
 */
#ifndef SLUICE_SMTP_SERVER_H
#define SLUICE_SMTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct event_base;
struct smtp_server;

#define SMTP_SERVER_LINE_MAX  1000 /* RFC 5321 4.5.3.1.6: 1000 with CRLF */
#define SMTP_SERVER_RCPTS_MAX 100
#define SMTP_SERVER_BAD_MAX   10
#define SMTP_SERVER_IDLE_MS   300000
#define SMTP_SERVER_RATE_IPS  10000 /* client IPs whose rate is tracked at once */

struct smtp_server_ops {
	/* 0 to accept rcpt, else writes a whole reply line ("550 5.1.1 ...") */
	int (*rcpt)(void *arg, const char *client_ip, const char *mail_from, const char *rcpt,
	            char *reply, size_t n);
	/* the message (CRLF lines, dot-unstuffed); 0 to answer 250, else writes
	 * the reply (a 4xx when it could not be committed) */
	int (*message)(void *arg, const char *client_ip, const char *mail_from, char *const *rcpts,
	               size_t nrcpts, const char *data, size_t len, char *reply, size_t n);
};

struct smtp_server_params {
	struct event_base *base;
	const char *listen; /* "ip:port" */
	const char *hostname;
	int64_t max_size;
	int max_sessions, max_per_ip;
	double message_rate_per_ip; /* messages per second from one client IP; 0: unlimited */
	int idle_ms;                /* 0: SMTP_SERVER_IDLE_MS */
};

int smtp_server_new(const struct smtp_server_params *p, const struct smtp_server_ops *ops,
                    void *arg, struct smtp_server **out, struct err *e);
/* Stops listening and closes every session. */
void smtp_server_free(struct smtp_server *s);

#endif
