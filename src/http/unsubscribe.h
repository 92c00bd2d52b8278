/*
 * unsubscribe: the HTTP side of one-click unsubscribe (RFC 8058), evhttp on
 * the shared event loop. The token is the last path segment of the URL that
 * List-Unsubscribe carried (unsubscribe.url + "/" + token).
 *   POST: unsubscribes at once (the mailbox provider's one-click request,
 *         body "List-Unsubscribe=One-Click") and answers 200;
 *   GET:  only shows a page with a confirmation button that POSTs, because
 *         link scanners and previews fetch URLs nobody clicked.
 * A bad or unknown token gets 404; a failure to record it, 503 (the
 * provider retries). The listener and its limits: http/server.h.
 */
#ifndef SLUICE_HTTP_UNSUBSCRIBE_H
#define SLUICE_HTTP_UNSUBSCRIBE_H

#include <stddef.h>

#include "util/err.h"

struct event_base;
struct unsub_http;

/* 1 done (who: the address), 0 bad or unknown token, -1 failed. */
typedef int (*unsub_fn)(void *arg, const char *token, size_t len, const char *via, char *who,
                        size_t n);

/* Listens per p (its what and body_max are set here). */
struct http_server_params;
int unsub_http_new(const struct http_server_params *p, unsub_fn fn, void *arg,
                   struct unsub_http **out, struct err *e);
void unsub_http_free(struct unsub_http *h);

#endif
