/*
 * submission: serve's SMTP submission listeners (587 with STARTTLS, 465
 * with implicit TLS; AUTH required; see submission.c). Not started when the
 * config names neither listener.
 */
#ifndef SLUICE_SERVE_SUBMISSION_H
#define SLUICE_SERVE_SUBMISSION_H

#include "util/err.h"

struct event_base;
struct config;
struct submit;
struct submission;

struct submission_params {
	struct event_base *base;
	const struct config *cfg; /* followed through submission_reconfigure */
	struct submit *submit;    /* borrowed; outlives the listeners */
	const char *hostname;     /* the greeting's name */
};

/* 0 with *out set (NULL when no listener is configured), or -1 with e. */
int submission_start(const struct submission_params *p, struct submission **out, struct err *e);
/* A reloaded config: tenants and their passwords are read from it now. */
void submission_reconfigure(struct submission *sm, const struct config *cfg);
/* Stops accepting connections on both listeners (SIGTERM); sessions in
 * progress go on, and a message waiting for its commit is answered when
 * the commit comes. NULL or again: nothing. */
void submission_close_listener(struct submission *sm);
/* 1 when no session is owed an answer or has one not yet written out
 * (NULL: 1); serve turns its loop until then before submission_stop. */
int submission_flushed(const struct submission *sm);
/* Stops listening and closes sessions; messages waiting for their commit
 * are answered when it comes (smtp_server_done outlives the listener). */
void submission_stop(struct submission *sm);

#endif
