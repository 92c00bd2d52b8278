/*
 * lane: a site's queue of ready jobs, one lane per campaign (scheduler_int.h).
 * Popping takes from the lane of the highest priority that has work, and
 * among lanes of equal priority in turn, one job each: transactional mail
 * goes before bulk to the same site, and campaigns of equal priority share
 * the site's connections and rate evenly, whatever their sizes.
 */
#include <limits.h>
#include <stdlib.h>

#include "queue/scheduler_int.h"
#include "util/xmalloc.h"

/* The campaign's lane at the site; a new one goes last, so lanes are in
 * the order their campaigns first reached the site. */
static struct lane *lane_of(struct site *site, struct sched_campaign *c)
{
	struct lane *l, **tail = &site->lanes;

	for (l = site->lanes; l; l = l->next) {
		if (l->camp == c)
			return l;
		tail = &l->next;
	}
	l = xcalloc(1, sizeof(*l));
	l->camp = c;
	*tail = l;
	return l;
}

void site_push(struct site *site, struct job *j)
{
	struct lane *l = lane_of(site, j->camp);

	j->next = NULL;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
	l->n++;
	site->queued++;
}

void site_push_front(struct site *site, struct job *j)
{
	struct lane *l = lane_of(site, j->camp);

	j->next = l->head;
	l->head = j;
	if (!l->tail)
		l->tail = j;
	l->n++;
	site->queued++;
}

struct job *site_pop(struct site *site)
{
	struct lane *best = NULL;
	int prio = INT_MIN;

	if (site->queued == 0)
		return NULL;
	for (struct lane *l = site->lanes; l; l = l->next)
		if (l->n && l->camp->priority > prio)
			prio = l->camp->priority;
	/* among the lanes of that priority, the first after the one served
	 * last, going round (lanes live as long as the site) */
	struct lane *start = site->turn && site->turn->next ? site->turn->next : site->lanes;
	struct lane *l = start;
	do {
		if (l->n && l->camp->priority == prio) {
			best = l;
			break;
		}
		l = l->next ? l->next : site->lanes;
	} while (l != start);
	struct job *j = best->head;
	best->head = j->next;
	if (!best->head)
		best->tail = NULL;
	best->n--;
	site->queued--;
	site->turn = best;
	j->next = NULL;
	return j;
}

void site_free_lanes(struct site *site)
{
	struct lane *l = site->lanes;

	while (l) {
		struct lane *next = l->next;
		struct job *j = l->head;
		while (j) {
			struct job *jn = j->next;
			job_free(j);
			j = jn;
		}
		free(l);
		l = next;
	}
	site->lanes = NULL;
}

size_t site_drop_campaign(struct site *site, const struct sched_campaign *c)
{
	size_t n = 0;

	for (struct lane *l = site->lanes; l; l = l->next) {
		if (l->camp != c)
			continue;
		while (l->head) {
			struct job *j = l->head;
			l->head = j->next;
			job_free(j);
			n++;
		}
		l->tail = NULL;
		site->queued -= l->n;
		l->n = 0;
	}
	return n;
}
