/*
 * lane: a site's queue of ready jobs, one lane per campaign (scheduler_int.h).
 * Popping takes from the lane of the highest priority that has work, and
 * among lanes of equal priority in turn, one job each: transactional mail
 * goes before bulk to the same site, and campaigns of equal priority share
 * the site's connections and rate evenly, whatever their sizes.
 * The bottom of the engine: data structures only, it calls no other file
 * of src/engine (what to do with a refused lane's jobs, or a lane whose
 * probe was answered, is site.c's and scheduler.c's).
 */
#include <limits.h>
#include <stdlib.h>

#include "engine/scheduler_int.h"
#include "util/xmalloc.h"

void job_free(struct job *j)
{
	if (j->camp)
		j->camp->loaded--;
	queued_rcpt_free(j->r);
	strbuf_free(&j->data);
	free(j->dkim_error);
	free(j);
}

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

/* Takes the first job of l (which has one). */
static struct job *lane_shift(struct site *site, struct lane *l)
{
	struct job *j = l->head;

	l->head = j->next;
	if (!l->head)
		l->tail = NULL;
	l->n--;
	site->queued--;
	j->next = NULL;
	return j;
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

	if (!l->proven)
		l->probing = 0; /* a job back unanswered: its probe is not out any more */
	j->next = l->head;
	l->head = j;
	if (!l->tail)
		l->tail = j;
	l->n++;
	site->queued++;
}

static struct job *pop(struct site *site, int sending)
{
	struct lane *best = NULL;
	int prio = INT_MIN;

	if (site->queued == 0)
		return NULL;
	for (struct lane *l = site->lanes; l; l = l->next)
		if (l->n && l->camp->priority > prio && (!sending || l->proven || !l->probing))
			prio = l->camp->priority;
	/* among the lanes of that priority, the first after the one served
	 * last, going round (lanes live as long as the site) */
	struct lane *start = site->turn && site->turn->next ? site->turn->next : site->lanes;
	struct lane *l = start;
	do {
		if (l->n && l->camp->priority == prio && (!sending || l->proven || !l->probing)) {
			best = l;
			break;
		}
		l = l->next ? l->next : site->lanes;
	} while (l != start);
	if (!best)
		return NULL; /* only lanes whose probe is out */
	best->probing |= sending && !best->proven;
	site->turn = best;
	return lane_shift(site, best);
}

struct job *site_pop(struct site *site)
{
	return pop(site, 0);
}

struct job *site_pop_to_send(struct site *site)
{
	return pop(site, 1);
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
		for (; l->head; n++)
			job_free(lane_shift(site, l));
	}
	return n;
}

size_t site_drop_matching(struct site *site, int (*match)(const struct job *j, void *arg),
                          void *arg)
{
	size_t n = 0;

	for (struct lane *l = site->lanes; l; l = l->next) {
		struct job **pj = &l->head, *prev = NULL;
		while (*pj) {
			struct job *j = *pj;
			if (!match(j, arg)) {
				prev = j;
				pj = &j->next;
				continue;
			}
			*pj = j->next;
			if (l->tail == j)
				l->tail = prev;
			l->n--;
			site->queued--;
			job_free(j);
			n++;
		}
	}
	return n;
}

int64_t site_refuses(struct site *site, const struct sched_campaign *c, int64_t now_s)
{
	for (struct lane *l = site->lanes; l; l = l->next)
		if (l->camp == c)
			return l->refused_until_s > now_s ? l->refused_until_s : 0;
	return 0;
}

struct job *site_lane_refuse(struct site *site, struct sched_campaign *c, int64_t until_s)
{
	struct lane *l = lane_of(site, c);
	struct job *chain = NULL, **tail = &chain;

	if (l->refused_until_s < until_s)
		l->refused_until_s = until_s;
	while (l->head) {
		*tail = lane_shift(site, l);
		tail = &(*tail)->next;
	}
	return chain;
}

int site_lane_outcome(struct site *site, const struct sched_campaign *c, int passed_mail)
{
	for (struct lane *l = site->lanes; l; l = l->next) {
		if (l->camp != c)
			continue;
		int was = l->proven;
		l->probing = 0;
		l->proven |= passed_mail;
		return l->n && (!was || !l->proven); /* work waited behind the probe */
	}
	return 0;
}

size_t site_sendable(const struct site *site)
{
	size_t n = 0;

	for (const struct lane *l = site->lanes; l; l = l->next)
		n += l->proven ? l->n : l->n && !l->probing ? 1 : 0;
	return n;
}
