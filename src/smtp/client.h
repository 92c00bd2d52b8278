/*
 * client: one outbound SMTP connection (RFC 5321), an explicit state machine.
 *
 * The client is given the addresses to try in order (MX preference order),
 * the egress identity (source IP to bind, the one HELO name) and limits. It
 * connects, reads the banner, says EHLO (HELO if the server is not ESMTP),
 * upgrades with STARTTLS when policy and server allow (then EHLO again and
 * forgets what it knew), and asks its owner for messages one by one through
 * ops->next until that says "none" or the per-connection maximum is reached;
 * then it says QUIT and closes. Each message's outcome goes to ops->done with
 * the stage and the whole reply; ops->closed comes last, exactly once.
 *
 * The client only talks SMTP. Deciding what an outcome means for the
 * recipient (deliver, defer, bounce) is the scheduler's job.
 */
#ifndef SLUICE_SMTP_CLIENT_H
#define SLUICE_SMTP_CLIENT_H

#include <stddef.h>

#include "dns/mx.h"
#include "mail/config.h"
#include "mail/reply.h"
#include "mail/stage.h"

struct event_base;
struct ssl_ctx_st;
struct smtp_client;

/* The SMTP dialogue's stages are the first ones of enum stage
 * (mail/stage.h), STAGE_CONNECT to STAGE_QUIT; their names are stage_name's. */

#define SMTP_NEEDS_8BITMIME 1u
#define SMTP_NEEDS_SMTPUTF8 2u

/* A message to send; owned by the caller, which must keep it until ops->done. */
struct smtp_msg {
	const char *mail_from; /* envelope sender, without <> */
	const char *rcpt;      /* the recipient, without <> */
	const char *data;      /* the message, CRLF line endings, not dot-stuffed */
	size_t len;
	unsigned needs; /* SMTP_NEEDS_* */
};

struct smtp_result {
	enum stage stage;
	struct reply reply; /* the receiver's reply, or one sluice made (local) */
	int local;          /* 1: no reply from the receiver (timeout, lost, refused locally) */
	int retry_now;      /* the connection dropped after earlier deliveries on it */
};

/* Who we talked to, for the delivery log. */
struct smtp_peer {
	char host[256];
	char ip[64];
	char tls[96]; /* "TLSv1.3 TLS_AES_256_GCM_SHA384" or "" */
};

struct smtp_client_ops {
	/* The next message for this connection, or NULL for none now. */
	struct smtp_msg *(*next)(void *arg, struct smtp_client *c);
	void (*done)(void *arg, struct smtp_client *c, struct smtp_msg *m,
	             const struct smtp_result *r);
	/* Last call. failure is set when no session could be established (every
	 * address failed before EHLO was done), else NULL. */
	void (*closed)(void *arg, struct smtp_client *c, const struct smtp_result *failure);
};

struct smtp_params {
	const struct mx_addr *addrs; /* copied */
	size_t naddrs;
	const char *source_ip; /* bound before connecting */
	const char *helo;
	int port;
	int tls;                         /* enum tls_policy */
	const struct timeouts *timeouts; /* copied */
	int max_messages;
	int idle_ms; /* how long to wait for more work before QUIT */
	struct ssl_ctx_st *ssl_ctx;
};

struct smtp_client *smtp_client_start(struct event_base *base, const struct smtp_params *p,
                                      const struct smtp_client_ops *ops, void *arg);
/* Work arrived: an idle client asks ops->next again now. */
void smtp_client_wake(struct smtp_client *c);
/* No more work will come: QUIT now if idle, else after the current transaction. */
/* Stops now (SIGTERM): a session with no message out says QUIT, one
 * whose message is with the server (after the dot) waits at most grace_ms
 * for its answer, every other one closes at once; what was not answered
 * is reported as a local 4xx (retried later). May free c (its closed
 * callback runs). */
void smtp_client_stop(struct smtp_client *c, int grace_ms);
void smtp_client_finish(struct smtp_client *c);
const struct smtp_peer *smtp_client_peer(const struct smtp_client *c);
int smtp_client_is_idle(const struct smtp_client *c);

#endif
