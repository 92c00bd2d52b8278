/*
 * workers: see workers.h. One mutex guards both queues; a worker takes the
 * oldest item, runs it without the lock, appends it to the done list and
 * writes the eventfd when that list was empty. The loop's callback swaps
 * the whole done list out under the lock and runs it without.
 */
#include "util/workers.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/xmalloc.h"

struct item {
	work_fn work, done;
	void *arg;
	struct item *next;
};

struct workers {
	pthread_mutex_t mu;
	pthread_cond_t more;
	struct item *todo, *todo_tail;
	struct item *done, *done_tail;
	int stopping;
	int efd;
	struct event *ev;
	pthread_t *threads;
	int nthreads;
};

static void *worker_main(void *arg)
{
	struct workers *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->todo && !w->stopping)
			pthread_cond_wait(&w->more, &w->mu);
		struct item *it = w->todo;
		if (!it)
			break; /* stopping and nothing left */
		w->todo = it->next;
		if (!w->todo)
			w->todo_tail = NULL;
		pthread_mutex_unlock(&w->mu);
		it->work(it->arg);
		it->next = NULL;
		pthread_mutex_lock(&w->mu);
		int was_empty = w->done == NULL;
		if (w->done_tail)
			w->done_tail->next = it;
		else
			w->done = it;
		w->done_tail = it;
		if (was_empty) {
			uint64_t one = 1;
			ssize_t n = write(w->efd, &one, sizeof(one));
			(void)n; /* the counter cannot overflow at these rates */
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void run_done(struct workers *w)
{
	pthread_mutex_lock(&w->mu);
	struct item *it = w->done;
	w->done = w->done_tail = NULL;
	pthread_mutex_unlock(&w->mu);
	while (it) {
		struct item *next = it->next;
		it->done(it->arg);
		free(it);
		it = next;
	}
}

static void on_eventfd(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0)
		return; /* EAGAIN: another wake-up already took it */
	run_done(arg);
}

struct workers *workers_new(struct event_base *base, int nthreads)
{
	struct workers *w = xcalloc(1, sizeof(*w));

	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0) {
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->more, NULL);
	w->ev = event_new(base, w->efd, EV_READ | EV_PERSIST, on_eventfd, w);
	event_add(w->ev, NULL);
	w->threads = xcalloc((size_t)nthreads, sizeof(*w->threads));
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0)
			break;
		w->nthreads++;
	}
	if (w->nthreads == 0) {
		workers_free(w);
		return NULL;
	}
	return w;
}

void workers_submit(struct workers *w, work_fn work, work_fn done, void *arg)
{
	struct item *it = xcalloc(1, sizeof(*it));

	it->work = work;
	it->done = done;
	it->arg = arg;
	pthread_mutex_lock(&w->mu);
	if (w->todo_tail)
		w->todo_tail->next = it;
	else
		w->todo = it;
	w->todo_tail = it;
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->mu);
}

void workers_free(struct workers *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_broadcast(&w->more);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	run_done(w);
	event_free(w->ev);
	close(w->efd);
	pthread_cond_destroy(&w->more);
	pthread_mutex_destroy(&w->mu);
	free(w->threads);
	free(w);
}

int workers_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}
