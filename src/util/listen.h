/*
 * listen: a listening socket on the event loop that survives running out
 * of descriptors. libevent's listener, left alone, retries a failing
 * accept() at once and for ever (100% CPU, a warning per try); here an
 * accept that fails for want of descriptors or memory (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM) pauses accepting for LISTEN_PAUSE_MS, says so once per
 * pause (log_emit: to the program's sink, if any), and counts it. Also
 * raises this process's descriptor limit (listen_raise_nofile).
 */
#ifndef SLUICE_UTIL_LISTEN_H
#define SLUICE_UTIL_LISTEN_H

#include <event2/util.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/err.h"

#define LISTEN_PAUSE_MS 1000

struct event_base;
struct listen;

typedef void (*listen_fn)(void *arg, evutil_socket_t fd, const struct sockaddr *sa, int len);

/* Binds "what" (for messages: "inbound SMTP") on ss and calls fn for each
 * connection (fn owns fd). -1 with e set if it cannot listen. */
int listen_new(struct event_base *base, const struct sockaddr_storage *ss, socklen_t len,
               const char *what, listen_fn fn, void *arg, struct listen **out, struct err *e);
void listen_free(struct listen *l);
/* How many times accepting paused for want of descriptors. */
int64_t listen_pauses(const struct listen *l);
/* Raises the soft RLIMIT_NOFILE to the hard limit; returns the limit now. */
long listen_raise_nofile(void);

#endif
