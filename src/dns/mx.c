/* mx: see mx.h. */
#include "dns/mx.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/resolver.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/strmap.h"
#include "util/xmalloc.h"

#define MX_HOSTS_MAX      10
#define MX_HOST_ADDRS_MAX 4
#define MX_TTL_MIN_S      60
#define MX_TTL_MAX_S      3600
#define MX_NEGATIVE_TTL_S 300 /* NXDOMAIN, null MX, no host */
#define MX_TEMPFAIL_TTL_S 10

struct waiter {
	mx_cb cb;
	void *arg;
	struct waiter *next;
};

struct host {
	char name[256];
	int pref;
	struct mx_addr addrs[MX_HOST_ADDRS_MAX];
	size_t naddrs;
	int status; /* ARES_* of its address lookup */
};

struct entry {
	struct mx_cache *cache;
	char *domain;
	int pending;
	int64_t expires_ms;
	struct waiter *waiters;
	/* the answer */
	struct mx_result res;
	char error[256];
	struct mx_addr addrs[MX_ADDRS_MAX];
	char *site;
	/* a lookup under way */
	struct host hosts[MX_HOSTS_MAX];
	size_t nhosts, answered;
	uint32_t ttl_s;
};

struct mx_cache {
	struct resolver *resolver;
	int family;
	struct strmap *entries;
	uint64_t queries, hits;
};

struct host_query {
	struct entry *e;
	size_t host;
};

struct mx_cache *mx_cache_new(struct resolver *r, int family)
{
	struct mx_cache *c = xcalloc(1, sizeof(*c));
	c->resolver = r;
	c->family = family;
	c->entries = strmap_new();
	return c;
}

static void entry_free(void *p)
{
	struct entry *e = p;
	struct waiter *w = e->waiters;
	while (w) {
		struct waiter *next = w->next;
		free(w);
		w = next;
	}
	free(e->site);
	free(e->domain);
	free(e);
}

void mx_cache_free(struct mx_cache *c)
{
	if (!c)
		return;
	strmap_free(c->entries, entry_free);
	free(c);
}

void mx_cache_cancel(struct mx_cache *c)
{
	resolver_cancel(c->resolver);
}

void mx_cache_stats(const struct mx_cache *c, uint64_t *queries, uint64_t *hits)
{
	*queries = c->queries;
	*hits = c->hits;
}

/* Hands the answer to everyone waiting, then keeps it for its TTL. */
static void finish(struct entry *e, enum mx_status status, uint32_t ttl_s)
{
	struct waiter *w = e->waiters;

	e->pending = 0;
	e->waiters = NULL;
	e->res.status = status;
	e->res.error = e->error;
	e->expires_ms = clock_mono_ms() + (int64_t)ttl_s * 1000;
	while (w) {
		struct waiter *next = w->next;
		w->cb(w->arg, e->domain, &e->res);
		free(w);
		w = next;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* All hosts answered: order addresses, name the site, finish. */
static void assemble(struct entry *e)
{
	size_t n = 0;
	int tempfail = 0;
	const char *names[MX_HOSTS_MAX];
	struct strbuf site = STRBUF_INIT;

	for (size_t h = 0; h < e->nhosts; h++) {
		struct host *host = &e->hosts[h];
		names[h] = host->name;
		if (host->status != ARES_SUCCESS && host->status != ARES_ENOTFOUND &&
		    host->status != ARES_ENODATA)
			tempfail = 1;
		for (size_t a = 0; a < host->naddrs && n < MX_ADDRS_MAX; a++)
			e->addrs[n++] = host->addrs[a];
	}
	qsort(names, e->nhosts, sizeof(names[0]), cmp_str);
	for (size_t h = 0; h < e->nhosts; h++) {
		if (h && strcmp(names[h], names[h - 1]) == 0)
			continue;
		if (site.len)
			strbuf_addc(&site, ',');
		strbuf_adds(&site, names[h]);
	}
	free(e->site);
	e->site = strbuf_detach(&site);
	e->res.site = e->site;
	e->res.addrs = e->addrs;
	e->res.naddrs = n;
	if (n > 0) {
		uint32_t ttl = e->ttl_s < MX_TTL_MIN_S   ? MX_TTL_MIN_S
		               : e->ttl_s > MX_TTL_MAX_S ? MX_TTL_MAX_S
		                                         : e->ttl_s;
		e->error[0] = '\0';
		finish(e, MX_OK, ttl);
	} else if (tempfail) {
		snprintf(e->error, sizeof(e->error),
		         "temporary failure looking up MX host addresses");
		finish(e, MX_TEMPFAIL, MX_TEMPFAIL_TTL_S);
	} else {
		snprintf(e->error, sizeof(e->error), "no address for any MX host of %s", e->domain);
		finish(e, MX_NO_HOST, MX_NEGATIVE_TTL_S);
	}
}

/* Adds one address of host h (family AF_INET or AF_INET6) with its TTL. */
static void host_add(struct entry *e, struct host *h, int family, const void *ip, uint32_t ttl)
{
	struct mx_addr *a = &h->addrs[h->naddrs++];

	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->sa;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, ip, 4);
		a->salen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->sa;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, ip, 16);
		a->salen = sizeof(*sin6);
	}
	inet_ntop(family, ip, a->ip, sizeof(a->ip));
	memcpy(a->host, h->name, strlen(h->name) + 1);
	if (e->ttl_s == 0 || ttl < e->ttl_s)
		e->ttl_s = ttl;
}

static void on_host_answer(void *arg, int status, const unsigned char *abuf, int alen)
{
	struct host_query *q = arg;
	struct entry *e = q->e;
	struct host *h = &e->hosts[q->host];
	int family = e->cache->family, n = MX_HOST_ADDRS_MAX;

	free(q);
	h->status = status;
	if (status == ARES_SUCCESS && family == AF_INET) {
		struct ares_addrttl ttls[MX_HOST_ADDRS_MAX];
		if (ares_parse_a_reply(abuf, alen, NULL, ttls, &n) == ARES_SUCCESS)
			for (int i = 0; i < n; i++)
				host_add(e, h, family, &ttls[i].ipaddr, (uint32_t)ttls[i].ttl);
	} else if (status == ARES_SUCCESS) {
		struct ares_addr6ttl ttls[MX_HOST_ADDRS_MAX];
		if (ares_parse_aaaa_reply(abuf, alen, NULL, ttls, &n) == ARES_SUCCESS)
			for (int i = 0; i < n; i++)
				host_add(e, h, family, &ttls[i].ip6addr, (uint32_t)ttls[i].ttl);
	}
	if (++e->answered == e->nhosts)
		assemble(e);
}

static void lookup_hosts(struct entry *e)
{
	struct mx_cache *c = e->cache;
	size_t n = e->nhosts;

	e->answered = 0;
	e->ttl_s = 0;
	for (size_t i = 0; i < n; i++) {
		struct host_query *q = xmalloc(sizeof(*q));
		q->e = e;
		q->host = i;
		c->queries++;
		resolver_query(c->resolver, e->hosts[i].name,
		               c->family == AF_INET ? ns_t_a : ns_t_aaaa, on_host_answer, q);
	}
}

static int cmp_pref(const void *a, const void *b)
{
	const struct host *x = a, *y = b;
	return x->pref - y->pref;
}

static void on_mx_answer(void *arg, int status, const unsigned char *abuf, int alen)
{
	struct entry *e = arg;
	struct ares_mx_reply *mx = NULL;

	memset(e->hosts, 0, sizeof(e->hosts));
	e->nhosts = 0;
	if (status == ARES_ENOTFOUND) {
		snprintf(e->error, sizeof(e->error), "domain %s does not exist (NXDOMAIN)",
		         e->domain);
		finish(e, MX_NXDOMAIN, MX_NEGATIVE_TTL_S);
		return;
	}
	if (status == ARES_ENODATA) { /* RFC 5321 5.1: the implicit MX */
		snprintf(e->hosts[0].name, sizeof(e->hosts[0].name), "%s", e->domain);
		e->nhosts = 1;
		lookup_hosts(e);
		return;
	}
	if (status != ARES_SUCCESS ||
	    (status = ares_parse_mx_reply((unsigned char *)abuf, alen, &mx)) != ARES_SUCCESS) {
		snprintf(e->error, sizeof(e->error), "MX lookup for %s failed: %s", e->domain,
		         ares_strerror(status));
		finish(e, MX_TEMPFAIL, MX_TEMPFAIL_TTL_S);
		return;
	}
	for (struct ares_mx_reply *r = mx; r && e->nhosts < MX_HOSTS_MAX; r = r->next) {
		struct host *h = &e->hosts[e->nhosts];
		if (r->host[0] == '\0' || strcmp(r->host, ".") == 0) {
			if (mx->next == NULL) { /* RFC 7505: a single "MX 0 ." */
				ares_free_data(mx);
				snprintf(e->error, sizeof(e->error),
				         "domain %s accepts no mail (null MX)", e->domain);
				finish(e, MX_NULL_MX, MX_NEGATIVE_TTL_S);
				return;
			}
			continue;
		}
		snprintf(h->name, sizeof(h->name), "%s", r->host);
		for (char *p = h->name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		h->pref = r->priority;
		e->nhosts++;
	}
	ares_free_data(mx);
	if (e->nhosts == 0) {
		snprintf(e->error, sizeof(e->error), "no usable MX host for %s", e->domain);
		finish(e, MX_NO_HOST, MX_NEGATIVE_TTL_S);
		return;
	}
	/* Preference order; RFC 5321 5.1: equal preferences in random order. */
	for (size_t i = e->nhosts; i > 1; i--) {
		size_t j = (size_t)random() % i;
		struct host t = e->hosts[i - 1];
		e->hosts[i - 1] = e->hosts[j];
		e->hosts[j] = t;
	}
	qsort(e->hosts, e->nhosts, sizeof(e->hosts[0]), cmp_pref);
	lookup_hosts(e);
}

void mx_lookup(struct mx_cache *c, const char *domain, mx_cb cb, void *arg)
{
	struct entry *e = strmap_get(c->entries, domain);

	if (e && !e->pending && clock_mono_ms() < e->expires_ms) {
		c->hits++;
		cb(arg, domain, &e->res);
		return;
	}
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->cache = c;
		e->domain = xstrdup(domain);
		strmap_put(c->entries, domain, e);
	}
	struct waiter *w = xmalloc(sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	w->next = e->waiters;
	e->waiters = w;
	if (e->pending)
		return;
	e->pending = 1;
	c->queries++;
	resolver_query(c->resolver, domain, ns_t_mx, on_mx_answer, e);
}
