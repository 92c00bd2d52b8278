/* libFuzzer target: sluice's HTTP/1.1 server (http/server.h), what a
 * client on the internet sends to the unsubscribe endpoint, /metrics or the
 * API: the input is the byte stream of one connection (requests, kept
 * alive, possibly pipelined), written into a socket pair the server serves
 * as if it had accepted it. Routes: one answering at once, one answering
 * later (http_later), and the one-click unsubscribe endpoint with a token
 * checker that takes "abc" only. Beyond memory errors it checks that every
 * answer the server writes starts with an HTTP/1.1 status line. */
#include <event2/event.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/server.h"
#include "http/unsubscribe.h"
#include "util/strbuf.h"

static struct event_base *base;
static struct http_server *srv;
static struct unsub_http unsub;

static void answer_now(void *arg, const struct http_request *req, struct http_response *resp)
{
	(void)arg;
	strbuf_adds(&resp->body, req->target);
	strbuf_add(&resp->body, req->body, req->body_len);
}

static void answer_later(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct http_pending *p = http_later(resp);

	(void)arg;
	(void)req;
	http_pending_done(p, 202, "Accepted", NULL, "later", 5);
}

static int token_ok(void *arg, const char *token, size_t len, const char *via, char *who, size_t n)
{
	(void)arg;
	(void)via;
	snprintf(who, n, "someone@example.test");
	return len == 3 && memcmp(token, "abc", 3) == 0;
}

static void setup(void)
{
	static const struct http_route routes[] = {
	    {"/now", answer_now, NULL, 0},
	    {"/later/", answer_later, NULL, 1},
	    {NULL, unsub_http_handle, &unsub, 0},
	};
	struct http_server_params p = {
	    .listen = "127.77.0.1:18099", /* never connected to: connections are adopted */
	    .what = "HTTP",
	    .max_connections = 1000,
	    .max_per_ip = 1000,
	    .timeout_ms = 10000,
	    .body_max = 4096,
	    .keep_alive = 1,
	};
	struct err e;

	signal(SIGPIPE, SIG_IGN); /* as serve does: a closed peer is an error, not a death */
	base = event_base_new();
	p.base = base;
	unsub.fn = token_ok;
	if (!base || http_server_new(&p, routes, 3, &srv, &e) != 0) {
		fprintf(stderr, "fuzz_http: %s\n", base ? e.msg : "no event base");
		abort();
	}
}

static void run(int rounds)
{
	for (int i = 0; i < rounds; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/* What the server wrote: each answer must begin "HTTP/1.1 NNN ". */
static void check_output(int fd)
{
	struct strbuf b = STRBUF_INIT;
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_add(&b, buf, (size_t)n);
	if (b.len > 0 && (b.len < 13 || memcmp(b.data, "HTTP/1.1 ", 9) != 0 || b.data[9] < '1' ||
	                  b.data[9] > '5'))
		abort();
	strbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(40000)};
	int sv[2];

	if (!base)
		setup();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		abort();
	sa.sin_addr.s_addr = htonl(0x7f000001);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	http_server_adopt(srv, sv[0], (const struct sockaddr *)&sa, sizeof(sa));
	for (size_t off = 0; off < size;) {
		ssize_t w = write(sv[1], data + off, size - off);
		if (w > 0)
			off += (size_t)w;
		run(4);
		check_output(sv[1]);
		if (w <= 0 && errno != EAGAIN)
			break;
	}
	shutdown(sv[1], SHUT_WR);
	run(16);
	check_output(sv[1]);
	close(sv[1]);
	run(16);
	return 0;
}
