/*
 * workers: a few threads that run CPU-bound work (DKIM signatures) off the
 * event loop. The loop submits an item with two functions: work runs on a
 * worker thread and may touch only what the item owns; done runs on the
 * loop afterwards (through an eventfd the loop watches), in submission
 * order per worker. Everything else stays single-threaded.
 */
#ifndef SLUICE_UTIL_WORKERS_H
#define SLUICE_UTIL_WORKERS_H

#include <event2/event.h>

struct workers;

typedef void (*work_fn)(void *arg);

/* nthreads >= 1; NULL if a thread or the eventfd cannot be made. */
struct workers *workers_new(struct event_base *base, int nthreads);
/* Queues arg; work(arg) runs on a worker, then done(arg) on the loop. */
void workers_submit(struct workers *w, work_fn work, work_fn done, void *arg);
/* Finishes what was submitted, runs its done callbacks here, then stops
 * the threads. */
void workers_free(struct workers *w);
/* The number of CPUs this process may run on (at least 1). */
int workers_cpus(void);

#endif
