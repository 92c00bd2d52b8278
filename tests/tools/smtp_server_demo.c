/*
 * smtp_server_demo: src/smtp/server.c as a submission server, for the
 * end-to-end tests of TLS and AUTH (tests/e2e/test_smtp_tls_auth.py) until
 * serve runs one. Two listeners on one loop: STARTTLS on --listen, implicit
 * TLS on --listen-tls. The owner accepts user "alice" with password
 * "s3cret" (identity non-NULL) after a 50 ms timer, so that the answer is
 * asynchronous; it accepts every message ("250 2.0.0 Ok: queued as TEST")
 * and prints one line per message on stdout. "ready" on stdout once both
 * listen; library diagnostics (lockouts) on stderr.
 *
 *   smtp_server_demo --listen IP:PORT --listen-tls IP:PORT --cert F --key F
 *     [--idle-ms N] [--max-failures N] [--lockout-ms N] [--delay-ms N]
 *     [--require-auth 0|1]
 */
#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/server.h"
#include "util/log.h"
#include "util/tls.h"
#include "util/xmalloc.h"

static struct event_base *base;
static int alice_identity = 42;

struct check {
	struct smtp_server_auth *a;
	struct event *ev;
};

static void check_later(evutil_socket_t fd, short what, void *arg)
{
	struct check *c = arg;
	int ok = strcmp(c->a->user, "alice") == 0 && strcmp(c->a->password, "s3cret") == 0;

	(void)fd, (void)what;
	smtp_server_auth_done(c->a, ok, ok ? &alice_identity : NULL);
	event_free(c->ev);
	free(c);
}

static void on_auth(void *arg, struct smtp_server_auth *a)
{
	struct check *c = xcalloc(1, sizeof(*c));
	struct timeval tv = {0, 50000};

	(void)arg;
	c->a = a;
	c->ev = evtimer_new(base, check_later, c);
	evtimer_add(c->ev, &tv);
}

static int on_mail(void *arg, const struct smtp_server_peer *p, const char *from, char *reply,
                   size_t n)
{
	(void)arg;
	if (p->auth_user && p->identity != &alice_identity) {
		snprintf(reply, n, "451 4.3.0 identity lost");
		return -1;
	}
	(void)from;
	return 0;
}

static int on_rcpt(void *arg, const struct smtp_server_peer *p, const char *from, const char *rcpt,
                   char *reply, size_t n)
{
	(void)arg, (void)p, (void)from, (void)rcpt, (void)reply, (void)n;
	return 0;
}

static void on_message(void *arg, struct smtp_server_msg *m)
{
	(void)arg;
	printf("message from=<%s> rcpts=%zu user=%s identity=%d tls=%d bytes=%zu\n", m->mail_from,
	       m->nrcpts, m->peer->auth_user ? m->peer->auth_user : "-",
	       m->peer->identity ? *(int *)m->peer->identity : 0, m->peer->tls, m->len);
	fflush(stdout);
	smtp_server_done(m, "250 2.0.0 Ok: queued as TEST");
}

static const char *flag(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return def;
}

int main(int argc, char **argv)
{
	const char *listen = flag(argc, argv, "--listen", NULL);
	const char *listen_tls = flag(argc, argv, "--listen-tls", NULL);
	const char *cert = flag(argc, argv, "--cert", NULL), *key = flag(argc, argv, "--key", NULL);
	struct smtp_server *plain = NULL, *implicit = NULL;
	SSL_CTX *ctx;
	struct err e;

	if (!listen || !listen_tls || !cert || !key) {
		fprintf(stderr, "usage: smtp_server_demo --listen IP:PORT --listen-tls IP:PORT "
		                "--cert FILE --key FILE [--idle-ms N] [--max-failures N] "
		                "[--lockout-ms N] [--delay-ms N] [--require-auth 0|1]\n");
		return 2;
	}
	log_set_sink(log_sink_stderr, LOG_INFO);
	if (tls_server_ctx_new(cert, key, &ctx, &e) != 0) {
		fprintf(stderr, "smtp_server_demo: %s\n", e.msg);
		return 1;
	}
	base = event_base_new();
	struct smtp_server_params p = {
	    .base = base,
	    .listen = listen,
	    .hostname = "submit.sluice.test",
	    .max_size = 1 << 20,
	    .max_sessions = 50,
	    .max_per_ip = 20,
	    .idle_ms = atoi(flag(argc, argv, "--idle-ms", "0")),
	    .tls = ctx,
	    .auth = 1,
	    .require_auth = atoi(flag(argc, argv, "--require-auth", "1")),
	    .auth_max_failures = atoi(flag(argc, argv, "--max-failures", "0")),
	    .auth_lockout_ms = atoll(flag(argc, argv, "--lockout-ms", "0")),
	    .auth_delay_ms = atoll(flag(argc, argv, "--delay-ms", "0")),
	};
	static const struct smtp_server_ops ops = {
	    .mail = on_mail, .rcpt = on_rcpt, .message = on_message, .auth = on_auth};
	if (smtp_server_new(&p, &ops, NULL, &plain, &e) != 0) {
		fprintf(stderr, "smtp_server_demo: %s\n", e.msg);
		return 1;
	}
	p.listen = listen_tls;
	p.implicit_tls = 1;
	if (smtp_server_new(&p, &ops, NULL, &implicit, &e) != 0) {
		fprintf(stderr, "smtp_server_demo: %s\n", e.msg);
		return 1;
	}
	SSL_CTX_free(ctx); /* the servers hold references */
	printf("ready\n");
	fflush(stdout);
	event_base_dispatch(base);
	smtp_server_free(plain);
	smtp_server_free(implicit);
	event_base_free(base);
	return 0;
}
