/* srcblock: see srcblock.h. */
#include "shape/srcblock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strmap.h"
#include "util/xmalloc.h"

struct srcblocks {
	struct strmap *m; /* "SITE\nIP" -> struct blk (malloc'd) */
};

struct blk {
	int64_t until; /* wall seconds */
	int64_t set_ms;
	int watched;
};

static char *pair_key(const char *site, const char *ip)
{
	size_t n = strlen(site) + strlen(ip) + 2;
	char *k = xmalloc(n);
	snprintf(k, n, "%s\n%s", site, ip);
	return k;
}

struct srcblocks *srcblocks_new(void)
{
	struct srcblocks *b = xcalloc(1, sizeof(*b));
	b->m = strmap_new();
	return b;
}

void srcblocks_free(struct srcblocks *b)
{
	if (!b)
		return;
	strmap_free(b->m, free);
	free(b);
}

void srcblocks_prune(struct srcblocks *b, int64_t now_s)
{
	size_t pos = 0;
	const char *key;
	void *v;
	char *gone[64];
	size_t n = 0;

	/* a few at a time: keys cannot be removed while iterating */
	while (n < 64 && strmap_next(b->m, &pos, &key, &v))
		if (((const struct blk *)v)->until <= now_s)
			gone[n++] = xstrdup(key);
	for (size_t i = 0; i < n; i++) {
		free(strmap_remove(b->m, gone[i]));
		free(gone[i]);
	}
}

void srcblocks_set_at(struct srcblocks *b, const char *site, const char *ip, int64_t until_s,
                      int64_t set_ms, int watched)
{
	char *k = pair_key(site, ip);
	struct blk *v = strmap_get(b->m, k);

	if (!v) {
		v = xcalloc(1, sizeof(*v));
		strmap_put(b->m, k, v);
	}
	if (until_s > v->until)
		v->until = until_s;
	if (set_ms > v->set_ms)
		v->set_ms = set_ms;
	if (watched)
		v->watched = 1;
	free(k);
}

void srcblocks_set(struct srcblocks *b, const char *site, const char *ip, int64_t until_s)
{
	srcblocks_set_at(b, site, ip, until_s, 0, 0);
}

size_t srcblocks_lift(struct srcblocks *b, const char *ip, int64_t before_ms, srcblocks_lift_fn cb,
                      void *arg)
{
	size_t pos = 0, n = 0, cap = 0, iplen = strlen(ip);
	const char *key;
	void *v;
	char **gone = NULL;

	while (strmap_next(b->m, &pos, &key, &v)) {
		const struct blk *x = v;
		size_t kl = strlen(key);
		if (!x->watched || x->set_ms >= before_ms || kl <= iplen + 1 ||
		    key[kl - iplen - 1] != '\n' || strcmp(key + kl - iplen, ip) != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			gone = xrealloc(gone, cap * sizeof(*gone));
		}
		gone[n++] = xstrdup(key);
	}
	for (size_t i = 0; i < n; i++) {
		struct blk *x = strmap_remove(b->m, gone[i]);
		gone[i][strlen(gone[i]) - iplen - 1] = '\0'; /* the site (or provider key) */
		if (cb)
			cb(arg, gone[i], x->until);
		free(x);
		free(gone[i]);
	}
	free(gone);
	return n;
}

int64_t srcblocks_until(const struct srcblocks *b, const char *site, const char *ip, int64_t now_s)
{
	if (!b || strmap_count(b->m) == 0)
		return 0;
	char *k = pair_key(site, ip);
	const struct blk *v = strmap_get(b->m, k);
	free(k);
	return v && v->until > now_s ? v->until : 0;
}

size_t srcblocks_count(const struct srcblocks *b)
{
	return b ? strmap_count(b->m) : 0;
}

int srcblocks_pick(const struct srcblocks *b, const char *site, const char *group,
                   const char *const *ips, size_t n, size_t home, int width, int64_t now_s,
                   int64_t *wait_until_s)
{
	int64_t earliest = 0;

	if (n == 0)
		return -1;
	if (width < 1)
		width = 1;
	if ((size_t)width > n)
		width = (int)n;
	if (home >= n)
		home = 0;
	for (int k = 0; k < width; k++) {
		size_t i = (home + (size_t)k) % n;
		int64_t until = srcblocks_until(b, site, ips[i], now_s);
		int64_t g = group ? srcblocks_until(b, group, ips[i], now_s) : 0;
		if (g > until)
			until = g;
		if (!until)
			return (int)i;
		if (!earliest || until < earliest)
			earliest = until;
	}
	*wait_until_s = earliest;
	return -1;
}

/* ---- triggers ---- */

#define TRIGGER_KEEP 1000 /* matches remembered per (rule, target) at most */

struct hits {
	int64_t *t; /* match times, oldest first */
	size_t n, cap;
};

struct triggers {
	struct strmap *m; /* "RULE\nTARGET" -> struct hits */
};

struct triggers *triggers_new(void)
{
	struct triggers *t = xcalloc(1, sizeof(*t));
	t->m = strmap_new();
	return t;
}

static void hits_free(void *p)
{
	struct hits *h = p;
	free(h->t);
	free(h);
}

void triggers_free(struct triggers *t)
{
	if (!t)
		return;
	strmap_free(t->m, hits_free);
	free(t);
}

int triggers_hit(struct triggers *t, const char *rule, const char *target, int count,
                 int64_t within_ms, int64_t now_ms)
{
	if (count <= 1)
		return 1;
	if (count > TRIGGER_KEEP)
		count = TRIGGER_KEEP;
	char *k = pair_key(rule, target ? target : "");
	struct hits *h = strmap_get(t->m, k);
	if (!h) {
		h = xcalloc(1, sizeof(*h));
		strmap_put(t->m, k, h);
	}
	free(k);
	if (h->cap < (size_t)count) { /* a larger count after a reload */
		h->t = xrealloc(h->t, (size_t)count * sizeof(*h->t));
		h->cap = (size_t)count;
	}
	/* forget the matches that left the window */
	size_t keep = 0;
	for (size_t i = 0; i < h->n; i++)
		if (now_ms - h->t[i] < within_ms)
			h->t[keep++] = h->t[i];
	h->n = keep;
	if (h->n >= (size_t)count) { /* a smaller count after a reload */
		memmove(h->t, h->t + (h->n - (size_t)count + 1),
		        ((size_t)count - 1) * sizeof(*h->t));
		h->n = (size_t)count - 1;
	}
	h->t[h->n++] = now_ms;
	if (h->n < (size_t)count)
		return 0;
	h->n = 0; /* fired: counting starts again */
	return 1;
}
