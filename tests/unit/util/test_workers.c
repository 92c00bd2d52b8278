/* Unit tests for src/util/workers.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/event.h>
#include <pthread.h>

#include "util/workers.h"

#define N 2000

struct item {
	int input, output;
	pthread_t worker;
	int done; /* set on the loop */
};

static pthread_t loop_thread;
static int done_count;
static struct event_base *base;

static void work(void *arg)
{
	struct item *it = arg;
	it->output = it->input * 2;
	it->worker = pthread_self();
}

static void done(void *arg)
{
	struct item *it = arg;
	assert_true(pthread_equal(pthread_self(), loop_thread)); /* back on the loop */
	assert_int_equal(it->output, it->input * 2);
	it->done = 1;
	if (++done_count == N)
		event_base_loopbreak(base);
}

static void test_work_runs_off_the_loop_and_comes_back(void **state)
{
	(void)state;
	static struct item items[N];
	base = event_base_new();
	loop_thread = pthread_self();
	struct workers *w = workers_new(base, 3);
	assert_non_null(w);
	for (int i = 0; i < N; i++) {
		items[i].input = i;
		workers_submit(w, work, done, &items[i]);
	}
	event_base_dispatch(base);
	assert_int_equal(done_count, N);
	int off_loop = 0;
	for (int i = 0; i < N; i++)
		off_loop += !pthread_equal(items[i].worker, loop_thread);
	assert_int_equal(off_loop, N);
	workers_free(w);
	event_base_free(base);
}

/* Freeing finishes what was submitted and runs its done callbacks. */
static void test_free_finishes_the_work(void **state)
{
	(void)state;
	static struct item items[100];
	base = event_base_new();
	loop_thread = pthread_self();
	done_count = 0;
	struct workers *w = workers_new(base, 2);
	for (int i = 0; i < 100; i++) {
		items[i].input = i;
		workers_submit(w, work, done, &items[i]);
	}
	workers_free(w); /* without running the loop */
	assert_int_equal(done_count, 100);
	for (int i = 0; i < 100; i++)
		assert_true(items[i].done);
	event_base_free(base);
	assert_true(workers_cpus() >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_work_runs_off_the_loop_and_comes_back),
	    cmocka_unit_test(test_free_finishes_the_work),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
