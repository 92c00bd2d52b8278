/*
 * warm_health: the health gate of the warm-up (shape/warmup.h): each
 * attempt's outcome counted per source, day and group (the site's provider,
 * else the site) in the store, and each group's level (the schedule day
 * whose caps it has) worked out once a day from the days before, kept in
 * the store so that a restart neither forgets a hold nor repeats a step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/outcome.h"
#include "engine/scheduler_int.h"
#include "shape/warmup.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct warm_level {
	int64_t level;
	char why[300];
};

const char *sched_warm_group(const struct site *site)
{
	return site->provider ? site->provider->name : site->key;
}

static int add(struct scheduler *s, const char *ip, const char *grp,
               const struct store_warmup_health *d)
{
	struct err e;

	if (s->p.store.warmup_health_add(s->p.store.ctx, ip, s->warm_today, grp, d, &e) != 0) {
		sched_fail(s, &e);
		return -1;
	}
	return 0;
}

void sched_warm_outcome(struct scheduler *s, const struct job *j, int outcome, enum category cat)
{
	const struct site *site = j->site;
	struct store_warmup_health d = {0};
	struct err e;

	if (!site || !warmup_enabled(site->source) || !s->p.store.warmup_health_add ||
	    (outcome != OC_DELIVERED && outcome != OC_DEFERRED && outcome != OC_BOUNCED))
		return;
	d.attempts = 1;
	d.deferred = outcome == OC_DEFERRED && cat != CAT_GREYLISTED;
	d.blocked = cat == CAT_REPUTATION_BLOCK;
	const char *ip = site->source->ip, *grp = sched_warm_group(site);
	if (add(s, ip, grp, &d) != 0 || add(s, ip, "", &d) != 0)
		return;
	if (outcome == OC_DELIVERED && s->p.store.warmup_sent_add &&
	    s->p.store.warmup_sent_add(s->p.store.ctx, j->camp->id, j->r->mailbox, ip, grp,
	                               s->warm_today, &e) != 0)
		sched_fail(s, &e);
}

/* The level of grp on day `to`, from the one stored for an earlier day. */
static int64_t catch_up(struct scheduler *s, const struct source *src, const char *grp,
                        struct store_warmup_level *l, int64_t to, struct warm_level *out)
{
	const struct config *cfg = s->p.cfg;
	struct warmup_limits lim = {cfg->warmup_max_deferrals, cfg->warmup_max_blocks,
	                            cfg->warmup_max_complaints};
	int64_t level = l->level;
	struct err e;

	snprintf(out->why, sizeof(out->why), "%s", l->reason);
	for (int64_t d = l->day + 1; d <= to; d++) {
		struct store_warmup_health h;
		char why[200];
		if (s->p.store.warmup_health_get(s->p.store.ctx, src->ip, d - 1, grp, &h, &e) !=
		    0) {
			sched_fail(s, &e);
			break;
		}
		struct warmup_health wh = {h.attempts, h.deferred, h.blocked, h.complaints};
		enum warmup_step step = warmup_judge(&wh, &lim, why, sizeof(why));
		level = warmup_step_level(level, step);
		if (step == WARMUP_GROW)
			out->why[0] = '\0';
		else
			snprintf(out->why, sizeof(out->why), "%s the day before: %s",
			         step == WARMUP_HOLD ? "held" : "stepped back", why);
	}
	return level;
}

int64_t sched_warm_level(struct scheduler *s, size_t i, const char *grp, const char **why)
{
	const struct source *src = s->p.sources[i];
	int64_t today = s->warm_today, day = today - s->warm_first_day[i] + 1;
	struct store_warmup_level l;
	struct warm_level *w;
	struct err e;

	*why = "";
	if (!s->p.store.warmup_level_get)
		return day;
	if (!s->warm_levels[i])
		s->warm_levels[i] = strmap_new();
	if ((w = strmap_get(s->warm_levels[i], grp))) {
		*why = w->why;
		return w->level;
	}
	w = xcalloc(1, sizeof(*w));
	int found = s->p.store.warmup_level_get(s->p.store.ctx, src->ip, grp, &l, &e);
	if (found < 0) {
		sched_fail(s, &e);
		free(w);
		return day;
	}
	if (!found || l.day > today || l.level < 1) /* first seen today: the schedule's day */
		w->level = day;
	else
		w->level = catch_up(s, src, grp, &l, today, w);
	if (w->level > day)
		w->level = day;
	if (!found || l.day != today) {
		struct store_warmup_level now = {today, w->level, ""};
		snprintf(now.reason, sizeof(now.reason), "%s", w->why);
		if (s->p.store.warmup_level_set(s->p.store.ctx, src->ip, grp, &now, &e) != 0)
			sched_fail(s, &e);
		if (w->why[0])
			log_warn("warm-up: %s at %s: day %lld keeps the caps of day %lld (%s)",
			         src->ip, grp[0] ? grp : "all sites", (long long)day,
			         (long long)w->level, w->why);
	}
	strmap_put(s->warm_levels[i], grp, w);
	*why = w->why;
	return w->level;
}

void sched_warm_levels_reset(struct scheduler *s)
{
	for (size_t i = 0; i < SOURCES_MAX; i++) {
		strmap_free(s->warm_levels[i], free);
		s->warm_levels[i] = NULL;
	}
}
