/*
 * inbound: what sluice does with mail to its bounce domain and feedback
 * address, and with one-click unsubscribes. It decides which envelope
 * recipients the listener accepts (valid signed VERP and unsubscribe
 * addresses, the feedback address, postmaster), reads each message
 * (report.h), finds the recipient it is about (the envelope's VERP token,
 * else the attached original's Return-Path, the ARF Original-Mail-From, its
 * List-Unsubscribe token or its Message-ID), applies list hygiene
 * (suppress.h) and logs the result with its evidence. Everything is
 * committed before inbound_process returns: only then may the listener
 * answer 250.
 */
#ifndef SLUICE_BOUNCE_INBOUND_H
#define SLUICE_BOUNCE_INBOUND_H

#include <stddef.h>

#include "util/err.h"

struct config;
struct store;
struct suppress;
struct dlog;
struct classifier;

struct inbound {
	const struct config *cfg;
	struct store *store; /* recipient lookup by token */
	struct suppress *sp;
	struct dlog *log;
	const struct classifier *cls;
};

enum inbound_rcpt { IR_REJECT = 0, IR_BOUNCE, IR_UNSUBSCRIBE, IR_FEEDBACK, IR_POSTMASTER };

/* Whether the listener takes mail for addr; on IR_REJECT, why holds the
 * reply text ("5.1.1 ..."). -1 on a store error (e set). */
int inbound_accepts(const struct inbound *in, const char *addr, char *why, size_t n, struct err *e);

struct inbound_result {
	const char *kind;    /* dsn, complaint, auth_failure_report, feedback, autoreply,
	                        bounce, unsubscribe, unknown */
	char recipient[256]; /* "" when no recipient was found */
	char campaign[128];
	const char *action; /* the list action, or NULL */
	char evidence[600];
};

/* Processes one message; rcpt is the envelope recipient (NULL for a
 * mailbox import), mail_from its envelope sender. 0, or -1 when the store,
 * the list or the log failed (the message must not be acknowledged). */
int inbound_process(const struct inbound *in, const char *rcpt, const char *mail_from,
                    const char *msg, size_t len, struct inbound_result *res, struct err *e);
/* A one-click or confirmed unsubscribe by token: 1 done (or already),
 * 0 a bad or unknown token, -1 error. */
int inbound_unsubscribe(const struct inbound *in, const char *token, size_t len, const char *via,
                        struct inbound_result *res, struct err *e);

#endif
