/*
 * unsubscribe: the HTTP side of one-click unsubscribe (RFC 8058), a handler
 * of the HTTP server (http/server.h) on the shared event loop. The token is the last path segment
 * of the URL that List-Unsubscribe carried (unsubscribe.url + "/" + token). POST: unsubscribes at
 * once (the mailbox provider's one-click request, body "List-Unsubscribe=One-Click") and answers
 * 200; GET:  only shows a page with a confirmation button that POSTs, because link scanners and
 * previews fetch URLs nobody clicked. A bad or unknown token gets 404; a failure to record it, 503
 * (the provider retries). The listener and its limits: http/server.h.
 */
#ifndef SLUICE_HTTP_UNSUBSCRIBE_H
#define SLUICE_HTTP_UNSUBSCRIBE_H

#include <stddef.h>

struct http_request;
struct http_response;

#define UNSUB_HTTP_BODY_MAX 4096 /* the largest POST body the endpoint reads */

/* 1 done (who: the address), 0 bad or unknown token, -1 failed. */
typedef int (*unsub_fn)(void *arg, const char *token, size_t len, const char *via, char *who,
                        size_t n);

struct unsub_http {
	unsub_fn fn;
	void *arg;
};

/* The endpoint: an http_handler (http/server.h) whose arg is a struct
 * unsub_http; the server's route without a path. */
void unsub_http_handle(void *arg, const struct http_request *req, struct http_response *resp);

#endif
