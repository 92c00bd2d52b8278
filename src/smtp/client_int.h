/*
 * client_int: the SMTP client's private parts, shared by client.c (the
 * connection: connect, banner, EHLO, STARTTLS, replies, timers, closing)
 * and transaction.c (MAIL, RCPT, DATA, the body, and their replies).
 */
#ifndef SLUICE_SMTP_CLIENT_INT_H
#define SLUICE_SMTP_CLIENT_INT_H

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "mail/reply.h"
#include "smtp/client.h"

enum client_state {
	CS_CONNECT,
	CS_BANNER,
	CS_EHLO,
	CS_HELO,
	CS_STARTTLS,
	CS_TLS, /* handshake under way */
	CS_READY,
	CS_IDLE, /* no work: waiting up to idle_ms for more */
	CS_TX,   /* MAIL/RCPT/DATA replies outstanding */
	CS_DOT,  /* body sent, waiting for the final reply */
	CS_ABORT_DOT,
	CS_RSET,
	CS_QUIT,
	CS_CLOSED,
};

/* The server's extensions (from EHLO). */
#define EXT_PIPELINING 0x01u
#define EXT_SIZE       0x02u
#define EXT_8BITMIME   0x04u
#define EXT_SMTPUTF8   0x08u
#define EXT_STARTTLS   0x10u
#define EXT_ENHANCED   0x20u

struct smtp_client {
	struct event_base *base;
	struct bufferevent *bev;
	struct event *timer;
	const struct smtp_client_ops *ops;
	void *arg;

	/* policy (what we were asked to do) */
	struct smtp_params p;
	struct timeouts timeouts; /* p.timeouts points here: the config may be reloaded */
	struct mx_addr *addrs;
	size_t addr_i;

	enum client_state state;

	/* server extensions, reset by every EHLO */
	unsigned ext;
	unsigned long size_max;

	/* status */
	int tls_active;
	int tls_failed;  /* handshake failed: this address again, in plaintext */
	int established; /* the session got to READY once (greeted, EHLO done) */
	int ready_once;  /* a message was taken on this client */
	int nmsgs;       /* messages taken on this connection */
	int ndelivered;  /* delivered on this connection */

	struct reply reply;

	/* the transaction in progress */
	struct smtp_msg *msg;
	int tx_sent, tx_answered;
	int mail_ok, rcpt_ok;
	struct smtp_result res;
	int res_set;

	struct smtp_result fail; /* the last connection-level failure */
	struct smtp_peer peer;
};

/* client.c */
/* A wire trace line (log_emit, LOG_TRACE: shown when the program asks, e.g.
 * SLUICE_TRACE) of fmt with one string. */
void client_trace(struct smtp_client *c, const char *fmt, const char *a);
void client_arm_timer(struct smtp_client *c, int ms);
void client_send_line(struct smtp_client *c, const char *line);
void client_enter_state(struct smtp_client *c, enum client_state s);

/* transaction.c */
/* Records the outcome of the message in flight (the first failure wins). */
void tx_result(struct smtp_client *c, enum stage stage, const struct reply *r, int local);
/* Hands the message's outcome to the owner and forgets the message. */
void tx_finish(struct smtp_client *c);
/* MAIL FROM (with SIZE, BODY, SMTPUTF8), and RCPT and DATA when pipelining. */
void tx_send(struct smtp_client *c);
/* The body, dot-stuffed, and the final ".". */
void tx_send_body(struct smtp_client *c);
/* 1 if m cannot go to this server as it is (its outcome is then recorded). */
int tx_refuse_locally(struct smtp_client *c, struct smtp_msg *m);
/* A reply to MAIL, RCPT or DATA. */
void tx_on_reply(struct smtp_client *c);

#endif
