/*
 * server: a small HTTP/1.1 listener on the shared event loop for the
 * endpoints sluice serves (one-click unsubscribe, /metrics, /status, the
 * application API). A request goes to the handler of the first route whose
 * path is the target's path (the query left out), or, for a prefix route,
 * whose path starts it ("/v1/"), else to the route without a path (the
 * unsubscribe endpoint takes any path that ends in a token), else 404: one
 * table of paths and handlers, given when the server is made.
 *
 * Connections: without keep_alive, one request per connection (the
 * response says "Connection: close" and the connection ends once it is
 * written). With keep_alive, HTTP/1.1 persistent connections: requests are
 * answered strictly in order, and the next request is not read (not even
 * parsed from what is already buffered) before the current one's response
 * is written, so a client cannot pipeline requests it never reads the
 * answers to. An error of framing (400, 411, 413, 431) always closes.
 *
 * Limits, all enforced here against a hostile client: connections in all
 * and per client (shape/peers.h: an IPv4 address, an IPv6 /64; past them
 * a 503 and close), requests per second per client (rate_per_ip, 0: none;
 * past it 429), a deadline for each request from its first byte (or the
 * accept) to its response (past it, closed: slow clients cannot hold
 * slots), an idle keep-alive connection closed after idle_ms, the request
 * line and headers (HTTP_SERVER_HEAD_MAX bytes, HTTP_SERVER_HEADERS_MAX
 * fields), and the body (Content-Length only, at most body_max bytes,
 * refused with 413 from the head before any of it is read; chunked bodies
 * get 411). Accepting pauses instead of spinning when descriptors run out
 * (util/listen.h).
 *
 * Asynchronous handlers: a handler may call http_later and answer later
 * through http_pending_done (the API answers only after the store's
 * commit). The connection reads nothing meanwhile; if it goes away (the
 * client closed, the deadline passed), the pending answer is dropped
 * safely when it comes.
 *
 * No TLS here: the API listener is plain HTTP meant for loopback or a
 * private network, or behind a TLS-terminating proxy (docs/operations.md).
 *
 * Written on bufferevents instead of libevent's evhttp: evhttp (2.1) has no
 * cap on connections, no hook at accept, a timeout that any byte resets,
 * and keeps reading pipelined requests while their responses pile up; the
 * subset read here (a request line, header fields, a sized body, in-order
 * keep-alive) is short, and answering later is a pointer kept per
 * connection.
 */
#ifndef SLUICE_HTTP_SERVER_H
#define SLUICE_HTTP_SERVER_H

#include <stddef.h>

#include "util/err.h"
#include "util/strbuf.h"

#define HTTP_SERVER_HEAD_MAX    16384
#define HTTP_SERVER_HEADERS_MAX 100
#define HTTP_SERVER_CLOSING_MS  5000 /* for a response to drain */
#define HTTP_SERVER_RATE_PER_IP 10   /* the usual requests a second from one client; past it 429 */
#define HTTP_SERVER_IDLE_MS     5000 /* an idle keep-alive connection is closed after it */

struct event_base;
struct sockaddr;
struct http_server;

struct http_request {
	const char *method; /* "GET", "POST", ... as sent */
	const char *target; /* the request target: path and query */
	const char *body;   /* NUL-terminated */
	size_t body_len;
	const char *peer;            /* the client's address */
	const char *authorization;   /* the Authorization field (said at most once), or NULL */
	const char *content_type;    /* the Content-Type field, or NULL */
	const char *idempotency_key; /* the Idempotency-Key field, or NULL */
};

struct http_response {
	int status;
	const char *reason;
	const char *content_type;   /* NULL: text/plain */
	struct strbuf body;         /* the handler adds to it */
	const char *headers;        /* more header lines, each ending in CRLF (static), or NULL */
	struct http_pending *later; /* set by http_later */
	struct conn *conn;          /* the server's (private) */
};

/* Fills resp for req, or calls http_later and answers later. The request's
 * strings are borrowed for the call only. */
typedef void (*http_handler)(void *arg, const struct http_request *req, struct http_response *resp);

struct http_route {
	const char *path; /* "/metrics"; NULL: every path no other route has */
	http_handler fn;
	void *arg;
	int prefix; /* 1: every path that starts with path */
};

struct http_server_params {
	struct event_base *base;
	const char *listen; /* "ip:port" */
	const char *what;   /* for messages: "HTTP" */
	int max_connections, max_per_ip;
	int timeout_ms; /* a request's time from its first byte to its response */
	size_t body_max;
	double rate_per_ip; /* requests a second per client; 0: none */
	int keep_alive;     /* 1: persistent connections (idle ones closed after idle_ms) */
	int idle_ms;        /* 0: HTTP_SERVER_IDLE_MS */
};

/* Listens per p; routes (n of them, at most HTTP_SERVER_ROUTES_MAX) are copied. */
#define HTTP_SERVER_ROUTES_MAX 8
int http_server_new(const struct http_server_params *p, const struct http_route *routes, size_t n,
                    struct http_server **out, struct err *e);
void http_server_free(struct http_server *h);
/* Serves fd, a connection from sa accepted elsewhere, as the listener's own
 * (its limits, deadline and routes): for the fuzz target fuzz/fuzz_http.c. */
void http_server_adopt(struct http_server *h, int fd, const struct sockaddr *sa, int len);

/* Called by a handler: the response will come later, through
 * http_pending_done on the returned handle (which the handler's code owns
 * until then; exactly one http_pending_done per handle, which may come
 * before the handler returns). resp's status and body are then not used. */
struct http_pending *http_later(struct http_response *resp);
/* Answers the request of p with status, reason, content type (NULL: text)
 * and body, and frees p. If the connection is gone, only frees p. */
void http_pending_done(struct http_pending *p, int status, const char *reason, const char *type,
                       const char *body, size_t len);
/* 1 while the client of p is still there. */
int http_pending_alive(const struct http_pending *p);

/* 1 if req carries "Authorization: Bearer TOKEN" with token, compared in
 * constant time (a wrong guess takes as long whatever it shares with the
 * token); 0 if not, or if token is NULL or empty. */
int http_bearer_ok(const struct http_request *req, const char *token);

#endif
