/* server: see server.h. */
#include "http/server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "shape/peers.h"
#include "util/clock.h"
#include "util/listen.h"
#include "util/sockaddr.h"
#include "util/xmalloc.h"

#define PEERS_MAX 10000

/* HC_HEAD, HC_BODY: reading a request; HC_WAIT: its handler answers
 * later; HC_WRITING: a response is being written and the connection stays
 * (keep-alive); HC_CLOSING: the last response is being written;
 * HC_DRAINING: written, what the client still sends is dropped. */
enum conn_state { HC_HEAD, HC_BODY, HC_WAIT, HC_WRITING, HC_CLOSING, HC_DRAINING };

struct conn {
	struct http_server *srv;
	struct bufferevent *bev;
	struct event *deadline;
	char ip[64], key[PEERS_KEY_MAX];
	int counted;
	enum conn_state state;
	char *method, *target;
	char *authorization; /* the Authorization field, or NULL */
	char *content_type, *idempotency_key;
	int headers;
	int http11;                   /* HTTP/1.1 (persistent unless it says close) */
	int keep;                     /* this request allows the connection to stay */
	int started;                  /* a byte of the current request came (its deadline runs) */
	struct http_pending *pending; /* the answer a handler owes, or NULL */
	int64_t length;               /* Content-Length, -1 none */
	int chunked, head_only;
	int in_total;  /* counted in srv->nconns */
	int no_linger; /* refused at accept: closed as soon as the 503/429 is written */
	struct conn *next, *prev;
};

struct http_server {
	struct http_server_params p;
	struct listen *listener;
	struct http_route routes[HTTP_SERVER_ROUTES_MAX];
	size_t nroutes;
	struct conn *conns;
	int nconns;
	struct peers *peers;
};

struct http_pending {
	struct conn *c; /* NULL once the connection is gone */
};

static void timer_ms(struct event *ev, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_add(ev, &tv);
}

/* What belongs to one request, freed before the next. */
static void request_reset(struct conn *c)
{
	free(c->method);
	free(c->target);
	free(c->authorization);
	free(c->content_type);
	free(c->idempotency_key);
	c->method = c->target = c->authorization = c->content_type = c->idempotency_key = NULL;
	c->headers = 0;
	c->length = -1;
	c->chunked = c->head_only = c->http11 = c->keep = c->started = 0;
}

static void conn_free(struct conn *c)
{
	struct http_server *srv = c->srv;

	if (c->counted)
		peers_close(srv->peers, c->key);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->in_total)
		srv->nconns--;
	if (c->pending)
		c->pending->c = NULL; /* its answer will be dropped */
	event_free(c->deadline);
	bufferevent_free(c->bev);
	request_reset(c);
	free(c);
}

/* Writes a response; the connection closes once it is written unless it
 * stays (keep-alive, and the request allowed it, and close is 0). */
static void respond(struct conn *c, int status, const char *reason, const char *type,
                    const char *headers, const char *body, size_t len, int close)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	int stay = !close && c->keep && c->srv->p.keep_alive;

	evbuffer_add_printf(out,
	                    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                    "Cache-Control: no-store\r\n%sConnection: %s\r\n\r\n",
	                    status, reason, type ? type : "text/plain; charset=utf-8", len,
	                    headers ? headers : "", stay ? "keep-alive" : "close");
	if (!c->head_only)
		evbuffer_add(out, body, len);
	c->state = stay ? HC_WRITING : HC_CLOSING;
	bufferevent_disable(c->bev, EV_READ); /* nothing more is read before it is written */
	bufferevent_enable(c->bev, EV_WRITE);
	/* a client that does not read its response */
	timer_ms(c->deadline, stay ? c->srv->p.timeout_ms : HTTP_SERVER_CLOSING_MS);
}

/* An error of the request's framing or of the limits: answered, closed. */
static void fail(struct conn *c, int status, const char *reason)
{
	char body[128];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, reason);
	respond(c, status, reason, NULL, NULL, body, (size_t)n, 1);
}

/* The route for target: the one with its path, else the one without a
 * path, else NULL. */
static const struct http_route *route_for(const struct http_server *srv, const char *target)
{
	size_t n = strcspn(target, "?#");
	const struct http_route *any = NULL;

	for (size_t i = 0; i < srv->nroutes; i++) {
		const struct http_route *r = &srv->routes[i];
		size_t pl = r->path ? strlen(r->path) : 0;
		if (!r->path)
			any = any ? any : r;
		else if (r->prefix && pl <= n && strncmp(r->path, target, pl) == 0)
			return r;
		else if (pl == n && strncmp(r->path, target, n) == 0)
			return r;
	}
	return any;
}

static void dispatch(struct conn *c, const char *body, size_t len)
{
	struct http_request req = {
	    c->method,       c->target,         body, len, c->ip, c->authorization,
	    c->content_type, c->idempotency_key};
	struct http_response resp = {200, "OK", NULL, STRBUF_INIT, NULL, NULL, c};
	const struct http_route *r = route_for(c->srv, c->target);

	if (!r) {
		fail(c, 404, "Not Found");
		return;
	}
	strbuf_reserve(&resp.body, 0);
	r->fn(r->arg, &req, &resp);
	if (!resp.later) /* else owed (or already answered, if the work was quick) */
		respond(c, resp.status, resp.reason, resp.content_type, resp.headers,
		        resp.body.data, resp.body.len, 0);
	strbuf_free(&resp.body);
}

/* "METHOD SP target SP HTTP/1.x": 0, or -1 if malformed. */
static int request_line(struct conn *c, const char *line)
{
	const char *sp1 = strchr(line, ' ');
	const char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;

	if (!sp1 || !sp2 || sp1 == line || sp2 == sp1 + 1 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return -1;
	for (const char *p = line; p < sp1; p++)
		if (!isupper((unsigned char)*p))
			return -1;
	c->method = xstrndup(line, (size_t)(sp1 - line));
	c->target = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	c->head_only = strcmp(c->method, "HEAD") == 0;
	c->http11 = strcmp(sp2 + 1, "HTTP/1.1") == 0;
	c->keep = c->http11;
	return 0;
}

/* One header field; only the body's framing matters here. Strict where
 * framing could be read two ways: no folded lines, no space in a name,
 * Content-Length digits only and said once. */
static int header_line(struct conn *c, const char *line)
{
	const char *colon = strchr(line, ':');

	if (!colon || colon == line || ++c->headers > HTTP_SERVER_HEADERS_MAX)
		return -1;
	for (const char *p = line; p < colon; p++)
		if (*p <= ' ' || *p >= 127)
			return -1;
	const char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t nl = (size_t)(colon - line);
	if (nl == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
		size_t digits = strspn(v, "0123456789");
		const char *rest = v + digits;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (digits == 0 || digits > 9 || *rest || c->length >= 0)
			return -1;
		c->length = strtoll(v, NULL, 10);
	} else if (nl == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
		c->chunked = 1;
	} else if (nl == 13 && strncasecmp(line, "Authorization", 13) == 0) {
		if (c->authorization) /* said twice: which one counts is not for us to guess */
			return -1;
		c->authorization = xstrdup(v); /* bounded by HTTP_SERVER_HEAD_MAX */
	} else if (nl == 12 && strncasecmp(line, "Content-Type", 12) == 0) {
		if (c->content_type)
			return -1;
		c->content_type = xstrdup(v);
	} else if (nl == 15 && strncasecmp(line, "Idempotency-Key", 15) == 0) {
		if (c->idempotency_key)
			return -1;
		c->idempotency_key = xstrdup(v);
	} else if (nl == 10 && strncasecmp(line, "Connection", 10) == 0) {
		if (strcasestr(v, "close"))
			c->keep = 0;
	}
	return 0;
}

/* Reads the head; 1 when it is complete, 0 for more, -1 when answered. */
static int read_head(struct conn *c, struct evbuffer *in)
{
	for (;;) {
		size_t n;
		char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
		if (!line) {
			if (evbuffer_get_length(in) > HTTP_SERVER_HEAD_MAX) {
				fail(c, 431, "Request Header Fields Too Large");
				return -1;
			}
			return 0;
		}
		int rc = 0, empty = n == 0;
		if (memchr(line, '\0', n))
			rc = -1;
		else if (!c->method && !empty)
			rc = request_line(c, line);
		else if (!empty)
			rc = header_line(c, line);
		free(line);
		if (rc != 0) {
			fail(c, 400, "Bad Request");
			return -1;
		}
		if (empty && c->method)
			return 1;
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->state == HC_DRAINING || c->state == HC_CLOSING) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (c->state != HC_HEAD && c->state != HC_BODY)
		return; /* a response is owed or being written: the next request waits */
	if (c->state == HC_HEAD && !c->started && evbuffer_get_length(in) > 0) {
		/* a next request on a kept connection: its own deadline and token
		 * (the first one's were taken at accept) */
		c->started = 1;
		timer_ms(c->deadline, c->srv->p.timeout_ms);
		if (c->srv->p.rate_per_ip > 0 &&
		    !peers_rate_take(c->srv->peers, c->key, clock_mono_ms())) {
			fail(c, 429, "Too Many Requests");
			return;
		}
	}
	if (c->state == HC_HEAD) {
		int r = read_head(c, in);
		if (r <= 0)
			return;
		if (c->chunked) {
			fail(c, 411, "Length Required");
			return;
		}
		if (c->length > (int64_t)c->srv->p.body_max) {
			fail(c, 413, "Content Too Large");
			return;
		}
		c->state = HC_BODY;
	}
	if (c->state != HC_BODY)
		return;
	size_t len = c->length > 0 ? (size_t)c->length : 0;
	if (evbuffer_get_length(in) < len)
		return;
	char *body = xmalloc(len + 1);
	evbuffer_remove(in, body, len);
	body[len] = '\0';
	dispatch(c, body, len);
	free(body);
}

/* Once the response is written: no more writing, and what the client
 * still sends is read and dropped until it closes (or the deadline), so
 * the kernel does not answer unread input with a reset that could destroy
 * the response before the client reads it. */
static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->state == HC_WRITING && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		/* kept: idle until the next request's first byte */
		request_reset(c);
		c->state = HC_HEAD;
		timer_ms(c->deadline,
		         c->srv->p.idle_ms > 0 ? c->srv->p.idle_ms : HTTP_SERVER_IDLE_MS);
		bufferevent_enable(bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
			on_read(bev, c); /* a request the client sent before this answer */
		return;
	}
	if (c->state != HC_CLOSING || evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	if (c->no_linger) {
		conn_free(c);
		return;
	}
	c->state = HC_DRAINING;
	c->srv->nconns--; /* a closing connection leaves the cap (its descriptor is
	                     bounded by HTTP_SERVER_CLOSING_MS) */
	c->in_total = 0;
	shutdown(bufferevent_getfd(bev), SHUT_WR);
	evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
	bufferevent_enable(bev, EV_READ);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev, (void)what;
	conn_free(arg); /* EOF or error */
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	conn_free(arg); /* too slow to send its request, or to read the response */
}

static void on_accept(void *arg, evutil_socket_t fd, const struct sockaddr *sa, int len)
{
	struct http_server *srv = arg;
	struct conn *c = xcalloc(1, sizeof(*c));
	struct timeval tv = {srv->p.timeout_ms / 1000, (srv->p.timeout_ms % 1000) * 1000};

	(void)len;
	c->srv = srv;
	c->length = -1;
	c->started = 1; /* the first request's deadline runs from the accept */
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->ip,
		          sizeof(c->ip));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, c->ip,
		          sizeof(c->ip));
	peers_key(sa, c->key);
	c->bev = bufferevent_socket_new(srv->p.base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->deadline = evtimer_new(srv->p.base, on_deadline, c);
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	c->in_total = 1;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, HTTP_SERVER_HEAD_MAX + srv->p.body_max + 1);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	event_add(c->deadline, &tv);
	c->no_linger = 1;
	if (srv->nconns > srv->p.max_connections) {
		fail(c, 503, "Service Unavailable");
		return;
	}
	if (peers_open(srv->peers, c->key, srv->p.max_per_ip) != 0) {
		fail(c, 503, "Service Unavailable");
		return;
	}
	c->counted = 1;
	if (srv->p.rate_per_ip > 0 && !peers_rate_take(srv->peers, c->key, clock_mono_ms())) {
		fail(c, 429, "Too Many Requests");
		return;
	}
	c->no_linger = 0;
}

void http_server_adopt(struct http_server *h, int fd, const struct sockaddr *sa, int len)
{
	on_accept(h, fd, sa, len);
}

int http_server_new(const struct http_server_params *p, const struct http_route *routes, size_t n,
                    struct http_server **out, struct err *e)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (sockaddr_parse(p->listen, 80, &ss, &len) != 0)
		return err_set(e, "%s: '%s' is not ip:port", p->what, p->listen);
	if (n > HTTP_SERVER_ROUTES_MAX)
		return err_set(e, "%s: %zu routes, at most %d", p->what, n, HTTP_SERVER_ROUTES_MAX);
	struct http_server *h = xcalloc(1, sizeof(*h));
	h->p = *p;
	memcpy(h->routes, routes, n * sizeof(*routes));
	h->nroutes = n;
	h->peers = peers_new(PEERS_MAX, p->rate_per_ip);
	if (listen_new(p->base, &ss, len, p->what, on_accept, h, &h->listener, e) != 0) {
		http_server_free(h);
		return -1;
	}
	*out = h;
	return 0;
}

void http_server_free(struct http_server *h)
{
	if (!h)
		return;
	listen_free(h->listener);
	while (h->conns)
		conn_free(h->conns);
	peers_free(h->peers);
	free(h);
}

struct http_pending *http_later(struct http_response *resp)
{
	struct conn *c = resp->conn;
	struct http_pending *p = xcalloc(1, sizeof(*p));

	p->c = c;
	c->pending = p;
	c->state = HC_WAIT;
	bufferevent_disable(c->bev, EV_READ);
	resp->later = p;
	return p;
}

int http_pending_alive(const struct http_pending *p)
{
	return p->c != NULL;
}

void http_pending_done(struct http_pending *p, int status, const char *reason, const char *type,
                       const char *body, size_t len)
{
	struct conn *c = p->c;

	free(p);
	if (!c)
		return; /* the client went away: nothing to answer */
	c->pending = NULL;
	respond(c, status, reason, type, NULL, body, len, 0);
}

int http_bearer_ok(const struct http_request *req, const char *token)
{
	const char *a = req->authorization;
	unsigned char want[SHA256_DIGEST_LENGTH], got[SHA256_DIGEST_LENGTH];

	if (!token || !token[0] || !a || strncasecmp(a, "Bearer ", 7) != 0)
		return 0;
	a += 7;
	while (*a == ' ')
		a++;
	size_t n = strlen(a);
	while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t'))
		n--;
	/* digests of both, so the comparison takes the same time whatever the
	 * lengths and whatever a guess has right */
	SHA256((const unsigned char *)token, strlen(token), want);
	SHA256((const unsigned char *)a, n, got);
	return CRYPTO_memcmp(want, got, sizeof(want)) == 0;
}
