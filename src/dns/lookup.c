/* lookup: see lookup.h. */
#include "dns/lookup.h"

#include <arpa/inet.h>
#include <ares.h>
#include <arpa/nameser.h>
#include <event2/event.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/resolver.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

struct lookup {
	struct event_base *base;
	struct resolver *res;
};

struct pending {
	struct lookup *l;
	int type;
	int done;
	enum lookup_status status;
	struct lookup_answers *out;
};

int lookup_new(char *const *servers, size_t nservers, int timeout_ms, int tries,
               struct lookup **out, struct err *e)
{
	struct lookup *l = xcalloc(1, sizeof(*l));

	l->base = event_base_new();
	if (resolver_new(l->base, servers, nservers, timeout_ms, tries, &l->res, e) != 0) {
		event_base_free(l->base);
		free(l);
		return -1;
	}
	*out = l;
	return 0;
}

void lookup_free(struct lookup *l)
{
	if (!l)
		return;
	resolver_free(l->res);
	event_base_free(l->base);
	free(l);
}

void lookup_answers_free(struct lookup_answers *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

const char *lookup_status_name(enum lookup_status s)
{
	static const char *const names[] = {"ok", "no such domain", "no record", "no answer"};
	return names[s];
}

static void add(struct lookup_answers *a, const char *s, size_t n)
{
	a->v = xrealloc(a->v, (a->n + 1) * sizeof(char *));
	a->v[a->n++] = xstrndup(s, n);
}

static void parse(struct pending *p, const unsigned char *abuf, int alen)
{
	if (p->type == ns_t_txt) {
		struct ares_txt_ext *txt = NULL;
		if (ares_parse_txt_reply_ext(abuf, alen, &txt) != ARES_SUCCESS)
			return;
		struct strbuf rec = STRBUF_INIT;
		int have = 0;
		for (struct ares_txt_ext *x = txt; x; x = x->next) {
			if (x->record_start && have) { /* the strings of one record are joined */
				add(p->out, rec.data ? rec.data : "", rec.len);
				strbuf_reset(&rec);
			}
			have = 1;
			strbuf_add(&rec, (const char *)x->txt, x->length);
		}
		if (have)
			add(p->out, rec.data ? rec.data : "", rec.len);
		strbuf_free(&rec);
		ares_free_data(txt);
	} else if (p->type == ns_t_a) {
		struct ares_addrttl addrs[32];
		int n = 32;
		if (ares_parse_a_reply(abuf, alen, NULL, addrs, &n) != ARES_SUCCESS)
			return;
		for (int i = 0; i < n; i++) {
			char ip[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &addrs[i].ipaddr, ip, sizeof(ip));
			add(p->out, ip, strlen(ip));
		}
	} else if (p->type == ns_t_mx) {
		struct ares_mx_reply *mx = NULL;
		if (ares_parse_mx_reply(abuf, alen, &mx) != ARES_SUCCESS)
			return;
		for (struct ares_mx_reply *m = mx; m; m = m->next)
			add(p->out, m->host[0] ? m->host : ".", strlen(m->host[0] ? m->host : "."));
		ares_free_data(mx);
	} else if (p->type == ns_t_ptr) {
		struct hostent *h = NULL;
		if (ares_parse_ptr_reply(abuf, alen, NULL, 0, AF_INET, &h) != ARES_SUCCESS)
			return;
		add(p->out, h->h_name, strlen(h->h_name));
		for (char **al = h->h_aliases; al && *al; al++)
			add(p->out, *al, strlen(*al));
		ares_free_hostent(h);
	}
}

static void on_answer(void *arg, int status, const unsigned char *abuf, int alen)
{
	struct pending *p = arg;

	p->done = 1;
	if (status == ARES_SUCCESS) {
		parse(p, abuf, alen);
		p->status = p->out->n ? LK_OK : LK_NODATA;
	} else if (status == ARES_ENOTFOUND) {
		p->status = LK_NXDOMAIN;
	} else if (status == ARES_ENODATA) {
		p->status = LK_NODATA;
	} else {
		p->status = LK_TEMPFAIL;
	}
	event_base_loopbreak(p->l->base);
}

static enum lookup_status ask(struct lookup *l, const char *name, int type,
                              struct lookup_answers *out)
{
	struct pending p = {.l = l, .type = type, .out = out};

	out->v = NULL;
	out->n = 0;
	resolver_query(l->res, name, type, on_answer, &p);
	while (!p.done)
		event_base_loop(l->base, EVLOOP_ONCE);
	return p.status;
}

enum lookup_status lookup_txt(struct lookup *l, const char *name, struct lookup_answers *out)
{
	return ask(l, name, ns_t_txt, out);
}

enum lookup_status lookup_a(struct lookup *l, const char *name, struct lookup_answers *out)
{
	return ask(l, name, ns_t_a, out);
}

enum lookup_status lookup_mx(struct lookup *l, const char *name, struct lookup_answers *out)
{
	return ask(l, name, ns_t_mx, out);
}

enum lookup_status lookup_ptr(struct lookup *l, const char *ip, struct lookup_answers *out)
{
	unsigned char b[16];
	char name[128];

	if (inet_pton(AF_INET, ip, b) == 1) {
		snprintf(name, sizeof(name), "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
	} else if (inet_pton(AF_INET6, ip, b) == 1) {
		size_t k = 0;
		for (int i = 15; i >= 0; i--)
			k += (size_t)snprintf(name + k, sizeof(name) - k, "%x.%x.", b[i] & 0xf,
			                      b[i] >> 4);
		snprintf(name + k, sizeof(name) - k, "ip6.arpa");
	} else {
		out->v = NULL;
		out->n = 0;
		return LK_NXDOMAIN;
	}
	return ask(l, name, ns_t_ptr, out);
}
