/* peers: see peers.h. */
#include "shape/peers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shape/bucket.h"
#include "util/strmap.h"
#include "util/xmalloc.h"

struct peer {
	char key[PEERS_KEY_MAX];
	int open;
	int64_t held; /* bytes of messages it has in memory */
	struct bucket rate;
	struct peer *newer, *older; /* by last use: p->newest ... p->oldest */
};

struct peers {
	struct strmap *map; /* key -> struct peer */
	size_t max;
	double rate_per_s;
	struct peer *newest, *oldest;
};

struct peers *peers_new(size_t max, double rate_per_s)
{
	struct peers *p = xcalloc(1, sizeof(*p));
	p->map = strmap_new();
	p->max = max ? max : 1;
	p->rate_per_s = rate_per_s;
	return p;
}

void peers_free(struct peers *p)
{
	if (!p)
		return;
	strmap_free(p->map, free);
	free(p);
}

void peers_key(const struct sockaddr *sa, char out[PEERS_KEY_MAX])
{
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			inet_ntop(AF_INET, &a->s6_addr[12], out, PEERS_KEY_MAX);
			return;
		}
		struct in6_addr net = *a;
		memset(&net.s6_addr[8], 0, 8);
		char ip[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, &net, ip, sizeof(ip));
		snprintf(out, PEERS_KEY_MAX, "%s/64", ip);
	} else if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, PEERS_KEY_MAX);
	} else {
		snprintf(out, PEERS_KEY_MAX, "local");
	}
}

static void unlink_peer(struct peers *p, struct peer *x)
{
	if (x->newer)
		x->newer->older = x->older;
	else
		p->newest = x->older;
	if (x->older)
		x->older->newer = x->newer;
	else
		p->oldest = x->newer;
	x->newer = x->older = NULL;
}

static void push_newest(struct peers *p, struct peer *x)
{
	x->older = p->newest;
	x->newer = NULL;
	if (p->newest)
		p->newest->newer = x;
	p->newest = x;
	if (!p->oldest)
		p->oldest = x;
}

/* The least recently used key with nothing open or held leaves. */
static void evict_one(struct peers *p)
{
	for (struct peer *x = p->oldest; x; x = x->newer)
		if (x->open == 0 && x->held == 0) {
			unlink_peer(p, x);
			strmap_remove(p->map, x->key);
			free(x);
			return;
		}
}

/* The entry for key, made if new; moved to the front either way. */
static struct peer *touch(struct peers *p, const char *key, int64_t now_ms)
{
	struct peer *x = strmap_get(p->map, key);

	if (x) {
		unlink_peer(p, x);
	} else {
		if (strmap_count(p->map) >= p->max)
			evict_one(p);
		x = xcalloc(1, sizeof(*x));
		snprintf(x->key, sizeof(x->key), "%s", key);
		bucket_init(&x->rate, p->rate_per_s, now_ms);
		strmap_put(p->map, x->key, x);
	}
	push_newest(p, x);
	return x;
}

int peers_open(struct peers *p, const char *key, int max_open)
{
	struct peer *x = strmap_get(p->map, key);

	if (x && x->open >= max_open)
		return -1;
	touch(p, key, 0)->open++; /* a new key's bucket starts full */
	return 0;
}

void peers_close(struct peers *p, const char *key)
{
	struct peer *x = strmap_get(p->map, key);

	if (x && x->open > 0)
		x->open--;
}

int peers_rate_take(struct peers *p, const char *key, int64_t now_ms)
{
	if (p->rate_per_s <= 0)
		return 1;
	return bucket_take(&touch(p, key, now_ms)->rate, now_ms) == 0;
}

size_t peers_count(const struct peers *p)
{
	return strmap_count(p->map);
}

int64_t peers_held(const struct peers *p, const char *key)
{
	const struct peer *x = strmap_get(p->map, key);
	return x ? x->held : 0;
}

void peers_hold(struct peers *p, const char *key, int64_t delta)
{
	struct peer *x = strmap_get(p->map, key);

	if (!x && delta <= 0)
		return;
	if (!x)
		x = touch(p, key, 0);
	x->held += delta;
	if (x->held < 0)
		x->held = 0;
}
