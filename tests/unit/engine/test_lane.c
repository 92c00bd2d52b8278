/* Unit tests for src/engine/lane.c: a site's queue pops the highest priority
 * first and takes campaigns of equal priority in turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/scheduler_int.h"

static struct job *job(struct sched_campaign *c)
{
	struct job *j = calloc(1, sizeof(*j));
	j->camp = c;
	return j;
}

static void test_priority_then_turns(void **state)
{
	(void)state;
	struct sched_campaign a = {.id = "a", .priority = 0}, b = {.id = "b", .priority = 0},
	                      t = {.id = "t", .priority = 10};
	struct site site;
	memset(&site, 0, sizeof(site));
	for (int i = 0; i < 3; i++)
		site_push(&site, job(&a));
	site_push(&site, job(&b));
	site_push(&site, job(&b));
	site_push(&site, job(&t));
	assert_int_equal(site.queued, 6);
	char order[8] = "";
	struct job *j;
	/* the transactional lane arrives last and still goes first */
	while ((j = site_pop(&site)) != NULL) {
		strncat(order, j->camp->id, 1);
		free(j);
	}
	assert_string_equal(order, "tababa"); /* a and b in turn, then what a has left */
	assert_int_equal(site.queued, 0);
	/* push_front puts a job back at the head of its own lane */
	struct job *x = job(&a), *y = job(&a);
	site_push(&site, x);
	site_push_front(&site, y);
	assert_ptr_equal(site_pop(&site), y);
	assert_ptr_equal(site_pop(&site), x);
	free(x);
	free(y);
	site_free_lanes(&site);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_priority_then_turns)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
