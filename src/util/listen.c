/* listen: see listen.h. */
#include "util/listen.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "util/log.h"
#include "util/xmalloc.h"

struct listen {
	struct evconnlistener *lev;
	struct event *resume;
	char *what;
	listen_fn fn;
	void *arg;
	int64_t pauses;
};

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
	struct listen *l = arg;

	(void)lev;
	l->fn(l->arg, fd, sa, len);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listen *l = arg;

	(void)fd, (void)what;
	evconnlistener_enable(l->lev);
}

static void on_error(struct evconnlistener *lev, void *arg)
{
	struct listen *l = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {LISTEN_PAUSE_MS / 1000, (LISTEN_PAUSE_MS % 1000) * 1000};

	(void)lev;
	/* Whatever the error, accepting pauses: an error that repeats on every
	 * try must not spin the loop. */
	evconnlistener_disable(l->lev);
	event_add(l->resume, &tv);
	if (++l->pauses % 60 == 1) /* the first, then one line a minute at most */
		log_emit(LOG_ERROR, "%s: cannot accept (%s); pausing %d ms (pause %lld)", l->what,
		         strerror(err), LISTEN_PAUSE_MS, (long long)l->pauses);
}

int listen_new(struct event_base *base, const struct sockaddr_storage *ss, socklen_t len,
               const char *what, listen_fn fn, void *arg, struct listen **out, struct err *e)
{
	struct listen *l = xcalloc(1, sizeof(*l));

	l->fn = fn;
	l->arg = arg;
	l->what = xstrdup(what);
	l->lev =
	    evconnlistener_new_bind(base, on_accept, l, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
	                            128, (const struct sockaddr *)ss, (int)len);
	if (!l->lev) {
		err_set(e, "%s: cannot listen: %s", what, strerror(errno));
		listen_free(l);
		return -1;
	}
	l->resume = evtimer_new(base, on_resume, l);
	evconnlistener_set_error_cb(l->lev, on_error);
	*out = l;
	return 0;
}

void listen_free(struct listen *l)
{
	if (!l)
		return;
	if (l->lev)
		evconnlistener_free(l->lev);
	if (l->resume)
		event_free(l->resume);
	free(l->what);
	free(l);
}

int64_t listen_pauses(const struct listen *l)
{
	return l->pauses;
}

long listen_raise_nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) != 0)
		return -1;
	if (r.rlim_cur < r.rlim_max) {
		struct rlimit want = r;
		want.rlim_cur = r.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			r = want;
	}
	return r.rlim_cur == RLIM_INFINITY ? -1 : (long)r.rlim_cur;
}
