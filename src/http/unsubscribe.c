/* unsubscribe: see unsubscribe.h. */
#include "http/unsubscribe.h"

#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/server.h"

#define TOKEN_MAX 64

static void page(struct http_response *r, int code, const char *reason, const char *title,
                 const char *html)
{
	r->status = code;
	r->reason = reason;
	r->content_type = "text/html; charset=utf-8";
	strbuf_addf(&r->body,
	            "<!doctype html><html><head><meta charset=\"utf-8\"><title>%s</title>"
	            "</head><body><h1>%s</h1>%s</body></html>\n",
	            title, title, html);
}

/* The last path segment, if it looks like a token (libevent's URI parser). */
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

void unsub_http_handle(void *arg, const struct http_request *req, struct http_response *resp)
{
	const struct unsub_http *h = arg;
	char tok[TOKEN_MAX + 1], who[300] = "", via[200];

	if (!token_of(req->target, tok)) {
		page(resp, 404, "Not Found", "Link not valid",
		     "<p>This unsubscribe link is not valid.</p>");
		return;
	}
	if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) {
		page(resp, 200, "OK", "Unsubscribe",
		     "<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" "
		     "value=\"One-Click\"><button type=\"submit\">Unsubscribe</button></form>");
		return;
	}
	if (strcmp(req->method, "POST") != 0) {
		page(resp, 405, "Method Not Allowed", "Method not allowed", "");
		return;
	}
	snprintf(via, sizeof(via), "https one-click from %s%s", req->peer,
	         strstr(req->body, "List-Unsubscribe=One-Click") ? "" : " (confirmation page)");
	int r = h->fn(h->arg, tok, strlen(tok), via, who, sizeof(who));
	if (r < 0)
		page(resp, 503, "Service Unavailable", "Try again",
		     "<p>Your request could not be recorded just now. Please try again.</p>");
	else if (r == 0)
		page(resp, 404, "Not Found", "Link not valid",
		     "<p>This unsubscribe link is not valid.</p>");
	else
		page(resp, 200, "OK", "Unsubscribed",
		     "<p>You will not receive these emails any more.</p>");
}
