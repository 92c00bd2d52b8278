/*
 * submit: what sluice does with a message an application hands it, by SMTP
 * submission or the HTTP API: the checks that belong to its tenant (sender
 * domains in the envelope and in From, recipients per message, its rate,
 * suppressions), the headers sluice adds or takes (Message-ID and Date when
 * missing; X-Sluice-Send-At and X-Sluice-Expires read and stripped), and
 * its queueing: the message body once (store: a message row), one
 * recipient row per recipient in the tenant's stream (a campaign of kind
 * "stream" that never finishes), all in the store's open transaction.
 *
 * Nothing may be acknowledged before the commit: submit_queue writes,
 * submit_flush asks for a group commit and calls back once it is durable
 * (or failed); only then may a listener answer 250 or 200. Commits are
 * grouped: every message queued within SUBMIT_COMMIT_MS shares one.
 *
 * Replies are whole SMTP reply lines ("550 5.7.1 ..."), and each refusal
 * also carries a stable code (enum submit_code) and the field at fault for
 * the API's JSON errors.
 */
#ifndef SLUICE_SUBMIT_SUBMIT_H
#define SLUICE_SUBMIT_SUBMIT_H

#include <stddef.h>
#include <stdint.h>

#include "mail/tenant.h"
#include "util/err.h"

struct event_base;
struct config;
struct store;
struct suppress;
struct submit;

#define SUBMIT_COMMIT_MS    5  /* messages queued within this share a commit */
#define SUBMIT_QUEUE_ID_MAX 40 /* bytes of a queue id and its NUL */
#define SUBMIT_REPLY_MAX    300

enum submit_code {
	SUBMIT_OK = 0,
	SUBMIT_SENDER_DOMAIN,  /* envelope or From domain not the tenant's (field: from) */
	SUBMIT_NO_FROM,        /* no From header (field: message) */
	SUBMIT_BAD_ADDRESS,    /* a malformed address (field: from or to) */
	SUBMIT_TOO_MANY_RCPTS, /* over the tenant's max_recipients (field: to) */
	SUBMIT_SUPPRESSED,     /* a recipient is suppressed (field: to) */
	SUBMIT_RATE,           /* the tenant is over a limit (temporary) */
	SUBMIT_PAUSED,         /* the tenant is paused (temporary) */
	SUBMIT_BAD_HEADER,     /* an X-Sluice-* header that does not parse (field: message) */
	SUBMIT_TOO_BIG,        /* (field: message) */
	SUBMIT_STORE,          /* the queue failed (temporary) */
	SUBMIT_BAD_POOL,       /* a pool no source belongs to (field: pool) */
};

/* A refusal: the stable code, its name ("sender_domain", ...), the field
 * at fault, and a whole SMTP reply line. */
struct submit_refusal {
	enum submit_code code;
	const char *name;
	const char *field;
	char reply[SUBMIT_REPLY_MAX];
	int temporary; /* 1: try again later (4xx / HTTP 429 or 503) */
};

/* One message to queue. data: the message as received (CRLF lines,
 * dot-unstuffed), with its headers. */
struct submit_msg {
	const struct tenant *tenant;
	const char *mail_from; /* the envelope sender ("" for a DSN) */
	const char *const *rcpts;
	size_t nrcpts;
	const char *data;
	size_t len;
	int64_t send_at_s, expires_at_s; /* 0: none (the headers may set them) */
	const char *pool;  /* NULL: the tenant's (another pool: the stream submit-TENANT@POOL) */
	int rcpts_checked; /* 1: each recipient passed submit_check_rcpt already (SMTP, at RCPT) */
};

struct submit_params {
	struct event_base *base;
	const struct config *cfg; /* followed through submit_reconfigure */
	struct store *store;
	struct suppress *sp;
	/* a commit of everything written so far (the scheduler's group commit,
	 * so the queue and the delivery log stay in step); done(arg, ok) is
	 * called once it returned */
	void (*commit)(void *owner, void (*done)(void *arg, int ok), void *arg);
	/* the tenant's stream has new mail: wake delivery of campaign id */
	void (*wake)(void *owner, const char *campaign);
	void *owner;
};

int submit_new(const struct submit_params *p, struct submit **out, struct err *e);
void submit_free(struct submit *sb);
void submit_reconfigure(struct submit *sb, const struct config *cfg);

/* At MAIL FROM: may t send as mail_from now (its domain, its rate, not
 * paused)? 0 yes, else -1 with r set. */
int submit_check_sender(struct submit *sb, const struct tenant *t, const char *mail_from,
                        struct submit_refusal *r);
/* At RCPT TO: the nth recipient (1-based) of a message of t. */
int submit_check_rcpt(struct submit *sb, const struct tenant *t, const char *rcpt, size_t nth,
                      struct submit_refusal *r);
/* Queues m (all checks again, then the store writes): 0 and its queue id
 * in qid, or -1 with r set (nothing written). Not durable until the
 * callback of submit_flush says so. */
int submit_queue(struct submit *sb, const struct submit_msg *m, char qid[SUBMIT_QUEUE_ID_MAX],
                 struct submit_refusal *r);
/* Calls done(arg, ok) once everything queued so far is committed (ok 1),
 * or the commit failed (ok 0: answer 451, nothing may be acknowledged). */
void submit_flush(struct submit *sb, void (*done)(void *arg, int ok), void *arg);

/* The campaign id of t's stream ("submit-<tenant>"). */
void submit_stream_id(const struct tenant *t, char *out, size_t n);

#endif
