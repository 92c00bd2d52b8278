/* auth_throttle: see auth_throttle.h. */
#include "smtp/auth_throttle.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/strmap.h"
#include "util/xmalloc.h"

struct entry {
	char key[AUTH_THROTTLE_KEY_MAX + 1];
	int failures;
	int64_t first_ms;     /* the first failure of the window */
	int64_t locked_until; /* 0: not locked */
	struct entry *newer, *older;
};

struct auth_throttle {
	struct auth_throttle_params p;
	struct strmap *map; /* key -> struct entry */
	size_t max;
	struct entry *newest, *oldest;
};

struct auth_throttle *auth_throttle_new(size_t max, const struct auth_throttle_params *p)
{
	struct auth_throttle *t = xcalloc(1, sizeof(*t));
	t->p = *p;
	t->map = strmap_new();
	t->max = max ? max : 1;
	return t;
}

void auth_throttle_free(struct auth_throttle *t)
{
	if (!t)
		return;
	strmap_free(t->map, free);
	free(t);
}

static void unlink_entry(struct auth_throttle *t, struct entry *x)
{
	if (x->newer)
		x->newer->older = x->older;
	else
		t->newest = x->older;
	if (x->older)
		x->older->newer = x->newer;
	else
		t->oldest = x->newer;
	x->newer = x->older = NULL;
}

static void push_newest(struct auth_throttle *t, struct entry *x)
{
	x->older = t->newest;
	x->newer = NULL;
	if (t->newest)
		t->newest->newer = x;
	t->newest = x;
	if (!t->oldest)
		t->oldest = x;
}

static void drop(struct auth_throttle *t, struct entry *x)
{
	unlink_entry(t, x);
	strmap_remove(t->map, x->key);
	free(x);
}

/* Makes room for one key: the oldest entry not locked out at now_ms, else
 * the oldest of all. */
static void evict_one(struct auth_throttle *t, int64_t now_ms)
{
	for (struct entry *x = t->oldest; x; x = x->newer)
		if (x->locked_until <= now_ms) {
			drop(t, x);
			return;
		}
	if (t->oldest)
		drop(t, t->oldest);
}

static struct entry *find(const struct auth_throttle *t, const char *key)
{
	char k[AUTH_THROTTLE_KEY_MAX + 1];
	snprintf(k, sizeof(k), "%s", key);
	return strmap_get(t->map, k);
}

int64_t auth_throttle_locked(struct auth_throttle *t, const char *key, int64_t now_ms)
{
	struct entry *x = find(t, key);

	if (!x || x->locked_until == 0)
		return 0;
	if (x->locked_until <= now_ms) { /* served its time: counts start again */
		x->locked_until = 0;
		x->failures = 0;
		return 0;
	}
	return x->locked_until - now_ms;
}

int64_t auth_throttle_fail(struct auth_throttle *t, const char *key, int64_t now_ms, int *locked)
{
	struct entry *x = find(t, key);

	if (locked)
		*locked = 0;
	if (x) {
		unlink_entry(t, x);
	} else {
		if (strmap_count(t->map) >= t->max)
			evict_one(t, now_ms);
		x = xcalloc(1, sizeof(*x));
		snprintf(x->key, sizeof(x->key), "%s", key);
		strmap_put(t->map, x->key, x);
	}
	push_newest(t, x);
	if (x->locked_until && x->locked_until <= now_ms) /* served its time */
		x->locked_until = x->failures = 0;
	if (x->failures == 0 || now_ms - x->first_ms > t->p.window_ms) {
		x->failures = 0;
		x->first_ms = now_ms;
	}
	x->failures++;
	if (x->failures >= t->p.max_failures && x->locked_until <= now_ms) {
		x->locked_until = now_ms + t->p.lockout_ms;
		if (locked)
			*locked = 1;
	}
	int steps = x->failures < SMTP_AUTH_DELAY_STEPS ? x->failures : SMTP_AUTH_DELAY_STEPS;
	return t->p.delay_ms * steps;
}

void auth_throttle_clear(struct auth_throttle *t, const char *key)
{
	struct entry *x = find(t, key);
	if (x)
		drop(t, x);
}

int auth_throttle_failures(const struct auth_throttle *t, const char *key)
{
	const struct entry *x = find(t, key);
	return x ? x->failures : 0;
}

size_t auth_throttle_count(const struct auth_throttle *t)
{
	return strmap_count(t->map);
}
