/*
 * inbound: what sluice does with mail to its bounce domain and feedback
 * address, and with one-click unsubscribes. It decides which envelope
 * recipients the listener accepts (valid signed VERP and unsubscribe
 * addresses, the feedback address, postmaster), reads each message
 * (bounce/parse.h), finds the recipient it is about (the envelope's VERP token,
 * else the attached original's Return-Path, the ARF Original-Mail-From, its
 * List-Unsubscribe token or its Message-ID), applies list hygiene (the
 * list action of engine/outcome.h for a DSN, a suppression for a complaint
 * or an unsubscribe), hands each complaint to the danger-sign monitor
 * (engine/monitor.h) and logs the result with its evidence. Everything is
 * committed before inbound_apply returns: only then may the listener
 * answer 250.
 *
 * What may act: only a key a stranger cannot compute. Every key that names
 * a recipient (VERP return path, unsubscribe token, Message-ID) carries an
 * HMAC of the bounce secret (msg/verp.h); a report whose keys are missing,
 * unsigned or forged names nobody and is only logged, at a bounded rate.
 */
#ifndef SLUICE_INBOUND_INBOUND_H
#define SLUICE_INBOUND_INBOUND_H

#include <stddef.h>

#include "util/err.h"

struct config;
struct store;
struct suppress;
struct dlog;
struct classifier;

#include "engine/monitor.h"
#include "engine/ports.h"
#include "shape/bucket.h"

#define INBOUND_ACCEPTED_MAX    32 /* RCPT-time verdicts kept */
#define INBOUND_ACCEPTED_TTL_MS 600000
#define INBOUND_ADDR_MAX        320

struct inbound {
	const struct config *cfg;
	struct store *store;            /* recipient lookup by token */
	struct engine_store store_port; /* the same, as the monitor sees it */
	struct suppress *sp;
	struct dlog *log;
	const struct classifier *cls;
	/* What input that changes nothing may write to the log, each at most
	 * INBOUND_UNVERIFIED_PER_S: reports that name no recipient of ours,
	 * and unsubscribes with a bad token or for an address suppressed
	 * already (apart, so a flood of one cannot hide the other). */
	struct inbound_budget {
		struct bucket b;
		int64_t unlogged; /* records left out since the last one written */
	} reports, unsubscribes;
	int log_all; /* 1: no such bound (a mailbox import: the operator's input) */
	/* where a complaint's danger sign goes (inbound_init: nowhere; the
	 * composing code installs one) */
	struct monitor_sink sink;
	/* Return paths and unsubscribe addresses accepted at RCPT lately, with
	 * whom their token named: the message that follows is acted on without
	 * checking and looking the token up again (inbound.c, accepted_*). */
	struct inbound_accepted {
		int64_t at_ms; /* 0: empty */
		int kind;      /* IR_BOUNCE or IR_UNSUBSCRIBE */
		char addr[INBOUND_ADDR_MAX], mailbox[256], campaign[128];
	} accepted[INBOUND_ACCEPTED_MAX];
	size_t accepted_next;
};

#define INBOUND_UNVERIFIED_PER_S 1.0
#define INBOUND_UNVERIFIED_BURST 60

enum inbound_rcpt { IR_REJECT = 0, IR_BOUNCE, IR_UNSUBSCRIBE, IR_FEEDBACK, IR_POSTMASTER };

/* Fills in (borrowing everything). */
void inbound_init(struct inbound *in, const struct config *cfg, struct store *store,
                  struct suppress *sp, struct dlog *log, const struct classifier *cls);
/* A reloaded config and the classifier built from it (borrowed likewise);
 * inbound keeps no pointer into the old ones. */
void inbound_reconfigure(struct inbound *in, const struct config *cfg,
                         const struct classifier *cls);

/* Whether the listener takes mail for addr; on IR_REJECT, why holds the
 * reply text ("5.1.1 ..."). postmaster is taken bare (RFC 5321 4.5.1) and
 * at serve's own domains only (the bounce domain, the feedback address's
 * domain, the listener's hostname). -1 on a store error (e set).
 * A return path or unsubscribe address it takes is remembered, with whom
 * its token named, for INBOUND_ACCEPTED_TTL_MS (the last
 * INBOUND_ACCEPTED_MAX of them, matched byte for byte as the client wrote
 * it): inbound_apply then acts on it without verifying it again. */
int inbound_accepts(struct inbound *in, const char *addr, char *why, size_t n, struct err *e);

struct inbound_result {
	const char *kind;    /* dsn, complaint, auth_failure_report, feedback, autoreply,
	                        bounce, unsubscribe, unknown */
	char recipient[256]; /* "" when no recipient was found */
	char campaign[128];
	const char *action; /* the list action, or NULL */
	char evidence[600];
};

struct bounce_report;

/* Acts on one message, once: each distinct signed envelope recipient
 * (a VERP return path, an unsubscribe address) names its own recipient;
 * the message as a report (to postmaster or the feedback address, or from
 * a mailbox import when nrcpts is 0) counts once whatever the number of
 * such envelope recipients. rep is the message parsed by bounce_parse
 * (once per message). Each token is verified and looked up once: an
 * envelope recipient's when inbound_accepts took it (else here), a token
 * the report quotes twice once.
 * Writes at most max results (one per act) and their number to *nres.
 * Everything is committed before it returns. 0, or -1 when the store, the
 * list or the log failed (the message must not be acknowledged). */
int inbound_apply(struct inbound *in, char *const *rcpts, size_t nrcpts, const char *mail_from,
                  const struct bounce_report *rep, struct inbound_result *res, size_t max,
                  size_t *nres, struct err *e);
/* bounce_parse, then inbound_apply. */
int inbound_process(struct inbound *in, char *const *rcpts, size_t nrcpts, const char *mail_from,
                    const char *msg, size_t len, struct inbound_result *res, size_t max,
                    size_t *nres, struct err *e);
/* A one-click or confirmed unsubscribe by token: 1 done (or already),
 * 0 a bad or unknown token, -1 error. */
int inbound_unsubscribe(struct inbound *in, const char *token, size_t len, const char *via,
                        struct inbound_result *res, struct err *e);

#endif
