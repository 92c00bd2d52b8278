/* libFuzzer target: sluice's SMTP server (smtp/server.h), what a client on
 * the internet sends to the bounce and feedback listener on port 25, or an
 * application to submission: the input is the byte stream of one session
 * (commands, pipelined or not, DATA, AUTH), written into a socket pair the
 * server serves as if it had accepted it. AUTH is offered without TLS
 * (as auth_without_tls allows on loopback) and takes user "u" password
 * "p"; a recipient "no@..." is refused. Beyond memory errors it checks that
 * every reply line the server writes is a three-digit code, then a space or
 * a hyphen, ended by CRLF, and that a message handed over has every LF in
 * a CRLF. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smtp/server.h"
#include "util/strbuf.h"

static struct event_base *base;
static struct smtp_server *srv;
static int identity;

static int rcpt(void *arg, const struct smtp_server_peer *p, const char *mail_from, const char *to,
                char *reply, size_t n)
{
	(void)arg;
	(void)p;
	(void)mail_from;
	if (strncasecmp(to, "no@", 3) != 0)
		return 0;
	snprintf(reply, n, "550 5.1.1 no such user");
	return -1;
}

static void message(void *arg, struct smtp_server_msg *m)
{
	(void)arg;
	if (strlen(m->data) > m->len)
		abort();
	for (size_t i = 0; i < m->len; i++)
		if (m->data[i] == '\n' && (i == 0 || m->data[i - 1] != '\r'))
			abort();
	smtp_server_done(m, m->len % 2 ? NULL : "451 4.3.0 try later");
}

static void auth(void *arg, struct smtp_server_auth *a)
{
	(void)arg;
	smtp_server_auth_done(a, strcmp(a->user, "u") == 0 && strcmp(a->password, "p") == 0,
	                      &identity);
}

static void setup(void)
{
	static const struct smtp_server_ops ops = {NULL, rcpt, message, auth};
	struct smtp_server_params p = {
	    .listen = "127.77.0.2:18025", /* never connected to: sessions are adopted */
	    .hostname = "fuzz.sluice.test",
	    .max_size = 65536,
	    .max_sessions = 1000,
	    .max_per_ip = 1000,
	    .max_rcpts = 5,
	    .auth = 1,
	    .auth_without_tls = 1,
	    .auth_delay_ms = 1,
	};
	struct err e;

	signal(SIGPIPE, SIG_IGN); /* as serve does */
	base = event_base_new();
	p.base = base;
	if (!base || smtp_server_new(&p, &ops, NULL, &srv, &e) != 0) {
		fprintf(stderr, "fuzz_smtp: %s\n", base ? e.msg : "no event base");
		abort();
	}
}

static void run(int rounds)
{
	for (int i = 0; i < rounds; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/* What the server wrote so far, added to out. */
static void drain(int fd, struct strbuf *out)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_add(out, buf, (size_t)n);
}

static void check_replies(const struct strbuf *b)
{
	size_t i = 0;

	while (i < b->len) {
		const char *eol = memchr(b->data + i, '\n', b->len - i);
		size_t n;
		if (!eol)
			return; /* the last line may be cut where the session was */
		n = (size_t)(eol - (b->data + i));
		const char *l = b->data + i;
		if (n < 4 || l[n - 1] != '\r' || l[0] < '2' || l[0] > '5' || l[1] < '0' ||
		    l[1] > '9' || l[2] < '0' || l[2] > '9' || (l[3] != ' ' && l[3] != '-' && n > 4))
			abort();
		i += n + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(40000)};
	struct strbuf out = STRBUF_INIT;
	int sv[2];

	if (!base)
		setup();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		abort();
	sa.sin_addr.s_addr = htonl(0x7f000001 + (uint32_t)(size % 200));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	smtp_server_adopt(srv, sv[0], (const struct sockaddr *)&sa, sizeof(sa));
	run(2);
	for (size_t off = 0; off < size;) {
		ssize_t w = write(sv[1], data + off, size - off);
		if (w > 0)
			off += (size_t)w;
		run(4);
		drain(sv[1], &out);
		if (w <= 0 && errno != EAGAIN)
			break;
	}
	run(8);
	drain(sv[1], &out);
	check_replies(&out);
	strbuf_free(&out);
	close(sv[1]);
	run(8);
	return 0;
}
