/*
 * server: a small HTTP/1.1 listener on the shared event loop for the
 * endpoints sluice serves (one-click unsubscribe, /metrics, /status). A
 * request goes to the handler of the first route whose path is the
 * target's path (the query left out), else to the route without a path
 * (the unsubscribe endpoint takes any path that ends in a token), else
 * 404: one table of paths and handlers, given when the server is made.
 * One request per connection: every response says "Connection: close" and
 * the connection ends once it is written, so a client cannot pipeline
 * requests it never reads the answers to.
 *
 * Limits, all enforced here against a hostile client: connections in all
 * and per client (shape/peers.h: an IPv4 address, an IPv6 /64; past them
 * a 503 and close), requests per second per client (past it 429), a deadline for each connection
 * from accept to its response (past it, closed: slow clients cannot hold slots), the request line
 * and headers (HTTP_SERVER_HEAD_MAX bytes, HTTP_SERVER_HEADERS_MAX fields), and the body
 * (Content-Length only, at most body_max bytes; chunked bodies get 411). Accepting pauses instead
 * of spinning when descriptors run out (util/listen.h).
 *
 * Written on bufferevents instead of libevent's evhttp: evhttp (2.1) has no
 * cap on connections, no hook at accept, a timeout that any byte resets,
 * and keeps reading pipelined requests while their responses pile up; the
 * subset read here (a request line, header fields, a sized body) is short.
 */
#ifndef SLUICE_HTTP_SERVER_H
#define SLUICE_HTTP_SERVER_H

#include <stddef.h>

#include "util/err.h"
#include "util/strbuf.h"

#define HTTP_SERVER_HEAD_MAX    16384
#define HTTP_SERVER_HEADERS_MAX 100
#define HTTP_SERVER_CLOSING_MS  5000 /* for a response to drain */
#define HTTP_SERVER_RATE_PER_IP 10   /* requests a second from one client; past it 429 */

struct event_base;
struct http_server;

struct http_request {
	const char *method; /* "GET", "POST", ... as sent */
	const char *target; /* the request target: path and query */
	const char *body;   /* NUL-terminated */
	size_t body_len;
	const char *peer;          /* the client's address */
	const char *authorization; /* the Authorization field (said at most once), or NULL */
};

struct http_response {
	int status;
	const char *reason;
	const char *content_type; /* NULL: text/plain */
	struct strbuf body;       /* the handler adds to it */
	const char *headers;      /* more header lines, each ending in CRLF (static), or NULL */
};

/* Fills resp for req (synchronously). */
typedef void (*http_handler)(void *arg, const struct http_request *req, struct http_response *resp);

struct http_route {
	const char *path; /* "/metrics"; NULL: every path no other route has */
	http_handler fn;
	void *arg;
};

struct http_server_params {
	struct event_base *base;
	const char *listen; /* "ip:port" */
	const char *what;   /* for messages: "HTTP" */
	int max_connections, max_per_ip;
	int timeout_ms; /* a connection's whole life before its response */
	size_t body_max;
};

/* Listens per p; routes (n of them, at most HTTP_SERVER_ROUTES_MAX) are copied. */
#define HTTP_SERVER_ROUTES_MAX 8
int http_server_new(const struct http_server_params *p, const struct http_route *routes, size_t n,
                    struct http_server **out, struct err *e);
void http_server_free(struct http_server *h);

/* 1 if req carries "Authorization: Bearer TOKEN" with token, compared in
 * constant time (a wrong guess takes as long whatever it shares with the
 * token); 0 if not, or if token is NULL or empty. */
int http_bearer_ok(const struct http_request *req, const char *token);

#endif
