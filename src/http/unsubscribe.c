/* unsubscribe: see unsubscribe.h. */
#include "http/unsubscribe.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sockaddr.h"
#include "util/xmalloc.h"

#define TOKEN_MAX 64
#define BODY_MAX  4096

struct unsub_http {
	struct evhttp *http;
	unsub_fn fn;
	void *arg;
};

static void page(struct evhttp_request *req, int code, const char *reason, const char *title,
                 const char *html)
{
	struct evbuffer *b = evbuffer_new();
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "text/html; charset=utf-8");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	evbuffer_add_printf(b,
	                    "<!doctype html><html><head><meta charset=\"utf-8\"><title>%s</title>"
	                    "</head><body><h1>%s</h1>%s</body></html>\n",
	                    title, title, html);
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

/* The last path segment, if it looks like a token. */
static int token_of(const char *uri, char out[TOKEN_MAX + 1])
{
	struct evhttp_uri *u = evhttp_uri_parse(uri);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	int ok = 0;

	if (path) {
		const char *slash = strrchr(path, '/');
		const char *t = slash ? slash + 1 : path;
		size_t n = strlen(t);
		if (n > 0 && n <= TOKEN_MAX && strspn(t, "0123456789abcdefABCDEF.") == n) {
			memcpy(out, t, n + 1);
			ok = 1;
		}
	}
	if (u)
		evhttp_uri_free(u);
	return ok;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct unsub_http *h = arg;
	char tok[TOKEN_MAX + 1], who[300] = "", via[200];
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (!token_of(evhttp_request_get_uri(req), tok)) {
		page(req, 404, "Not Found", "Link not valid",
		     "<p>This unsubscribe link is not valid.</p>");
		return;
	}
	if (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD) {
		page(req, 200, "OK", "Unsubscribe",
		     "<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" "
		     "value=\"One-Click\"><button type=\"submit\">Unsubscribe</button></form>");
		return;
	}
	if (cmd != EVHTTP_REQ_POST) {
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t blen = evbuffer_get_length(body);
	char b[BODY_MAX + 1];
	size_t n = blen < BODY_MAX ? blen : BODY_MAX;
	evbuffer_copyout(body, b, n);
	b[n] = '\0';
	char peer[64] = "?";
	char *host = NULL;
	ev_uint16_t port = 0;
	evhttp_connection_get_peer(evhttp_request_get_connection(req), &host, &port);
	if (host)
		snprintf(peer, sizeof(peer), "%s", host);
	snprintf(via, sizeof(via), "https one-click from %s%s", peer,
	         strstr(b, "List-Unsubscribe=One-Click") ? "" : " (confirmation page)");
	int r = h->fn(h->arg, tok, strlen(tok), via, who, sizeof(who));
	if (r < 0)
		page(req, 503, "Service Unavailable", "Try again",
		     "<p>Your request could not be recorded just now. Please try again.</p>");
	else if (r == 0)
		page(req, 404, "Not Found", "Link not valid",
		     "<p>This unsubscribe link is not valid.</p>");
	else
		page(req, 200, "OK", "Unsubscribed",
		     "<p>You will not receive these emails any more.</p>");
}

int unsub_http_new(struct event_base *base, const char *listen, unsub_fn fn, void *arg,
                   struct unsub_http **out, struct err *e)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char ip[64];

	if (sockaddr_parse(listen, 80, &ss, &len) != 0)
		return err_set(e, "inbound.http_listen '%s' is not ip:port", listen);
	struct unsub_http *h = xcalloc(1, sizeof(*h));
	h->fn = fn;
	h->arg = arg;
	h->http = evhttp_new(base);
	int port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                                         : ((struct sockaddr_in6 *)&ss)->sin6_port);
	inet_ntop(ss.ss_family,
	          ss.ss_family == AF_INET ? (void *)&((struct sockaddr_in *)&ss)->sin_addr
	                                  : (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr,
	          ip, sizeof(ip));
	evhttp_set_max_body_size(h->http, BODY_MAX);
	evhttp_set_max_headers_size(h->http, 16384);
	evhttp_set_timeout(h->http, 30);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	evhttp_set_gencb(h->http, on_request, h);
	if (evhttp_bind_socket(h->http, ip, (ev_uint16_t)port) != 0) {
		err_set(e, "inbound.http_listen %s: cannot listen: %m", listen);
		unsub_http_free(h);
		return -1;
	}
	*out = h;
	return 0;
}

void unsub_http_free(struct unsub_http *h)
{
	if (!h)
		return;
	if (h->http)
		evhttp_free(h->http);
	free(h);
}
