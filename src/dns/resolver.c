/*
 * resolver: see resolver.h. c-ares tells us which sockets it wants watched
 * (sock_state_cb); each gets one persistent libevent event. One timer asks
 * c-ares for its next timeout after every call into it.
 */
#include "dns/resolver.h"

#include <ares.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"
#include "util/xmalloc.h"

#define RESOLVER_SOCKS_MAX 64
/* Queries outstanding at once; more wait in a FIFO. A burst of thousands of
 * queries overflows a resolver's socket buffers and turns into timeouts. */
#define RESOLVER_INFLIGHT_MAX 64

struct watched {
	ares_socket_t fd;
	struct event *ev;
};

struct query {
	struct resolver *r;
	char *name;
	int type;
	resolver_cb cb;
	void *arg;
	struct query *next; /* in the waiting FIFO */
};

struct resolver {
	struct event_base *base;
	int inflight;
	struct query *wait_head, *wait_tail;
	ares_channel channel;
	struct event *timer;
	struct watched socks[RESOLVER_SOCKS_MAX];
	size_t nsocks;
	struct event *spare[RESOLVER_SOCKS_MAX];
	size_t nspare;
};

static void reschedule(struct resolver *r)
{
	struct timeval tv, *tvp = ares_timeout(r->channel, NULL, &tv);

	if (tvp)
		evtimer_add(r->timer, tvp);
	else
		evtimer_del(r->timer);
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	ares_process_fd(r->channel, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	                (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	reschedule(r);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	(void)fd, (void)what;
	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	reschedule(r);
}

/* Events are never freed while the loop may be inside one of them: a socket
 * c-ares closes gives its event back to a spare list for the next socket. */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	size_t i = 0;
	struct event *ev = NULL;

	while (i < r->nsocks && r->socks[i].fd != fd)
		i++;
	if (i < r->nsocks) {
		ev = r->socks[i].ev;
		event_del(ev);
		r->socks[i] = r->socks[--r->nsocks];
	}
	if (!readable && !writable) {
		if (ev)
			r->spare[r->nspare++] = ev;
		return;
	}
	if (r->nsocks == RESOLVER_SOCKS_MAX) {
		if (ev)
			r->spare[r->nspare++] = ev;
		return; /* c-ares times the query out; our few servers never get here */
	}
	if (!ev && r->nspare > 0)
		ev = r->spare[--r->nspare];
	if (!ev)
		ev = event_new(r->base, -1, 0, on_socket, r);
	short what = EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
	event_assign(ev, r->base, fd, what, on_socket, r);
	event_add(ev, NULL);
	r->socks[r->nsocks].fd = fd;
	r->socks[r->nsocks].ev = ev;
	r->nsocks++;
}

int resolver_new(struct event_base *base, char *const *servers, size_t nservers, int timeout_ms,
                 int tries, struct resolver **out, struct err *e)
{
	static int initialized;
	struct ares_options opts;
	int rc;

	if (!initialized) {
		if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS)
			return err_set(e, "c-ares: %s", ares_strerror(rc));
		initialized = 1;
	}
	struct resolver *r = xcalloc(1, sizeof(*r));
	r->base = base;
	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = sock_state;
	opts.sock_state_cb_data = r;
	opts.timeout = timeout_ms;
	opts.tries = tries;
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	if ((rc = ares_init_options(&r->channel, &opts, mask)) != ARES_SUCCESS) {
		free(r);
		return err_set(e, "c-ares: %s", ares_strerror(rc));
	}
	if (nservers > 0) {
		struct strbuf csv = STRBUF_INIT;
		for (size_t i = 0; i < nservers; i++) {
			if (i)
				strbuf_addc(&csv, ',');
			strbuf_adds(&csv, servers[i]);
		}
		rc = ares_set_servers_ports_csv(r->channel, csv.data);
		strbuf_free(&csv);
		if (rc != ARES_SUCCESS) {
			ares_destroy(r->channel);
			free(r);
			return err_set(e, "dns resolvers: %s", ares_strerror(rc));
		}
	}
	r->timer = evtimer_new(base, on_timer, r);
	*out = r;
	return 0;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	/* Queries never sent are answered with ARES_EDESTRUCTION, like sent ones. */
	while (r->wait_head) {
		struct query *q = r->wait_head;
		r->wait_head = q->next;
		q->cb(q->arg, ARES_EDESTRUCTION, NULL, 0);
		free(q->name);
		free(q);
	}
	ares_destroy(r->channel);
	for (size_t i = 0; i < r->nsocks; i++)
		event_free(r->socks[i].ev);
	for (size_t i = 0; i < r->nspare; i++)
		event_free(r->spare[i]);
	event_free(r->timer);
	free(r);
}

static void send_query(struct query *q);

void resolver_cancel(struct resolver *r)
{
	while (r->wait_head) {
		struct query *q = r->wait_head;
		r->wait_head = q->next;
		q->cb(q->arg, ARES_ECANCELLED, NULL, 0);
		free(q->name);
		free(q);
	}
	r->wait_tail = NULL;
	ares_cancel(r->channel); /* each sent query: on_answer with ARES_ECANCELLED */
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct query *q = arg;
	struct resolver *r = q->r;

	(void)timeouts;
	r->inflight--;
	if (status != ARES_EDESTRUCTION && r->wait_head) {
		struct query *next = r->wait_head;
		r->wait_head = next->next;
		if (!r->wait_head)
			r->wait_tail = NULL;
		send_query(next);
	}
	q->cb(q->arg, status, abuf, alen);
	free(q->name);
	free(q);
}

static void send_query(struct query *q)
{
	q->r->inflight++;
	ares_query(q->r->channel, q->name, 1 /* C_IN */, q->type, on_answer, q);
	reschedule(q->r);
}

void resolver_query(struct resolver *r, const char *name, int type, resolver_cb cb, void *arg)
{
	struct query *q = xcalloc(1, sizeof(*q));

	q->r = r;
	q->name = xstrdup(name);
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	if (r->inflight < RESOLVER_INFLIGHT_MAX) {
		send_query(q);
		return;
	}
	if (r->wait_tail)
		r->wait_tail->next = q;
	else
		r->wait_head = q;
	r->wait_tail = q;
}
