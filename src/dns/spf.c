/* spf: see spf.h. */
#include "dns/spf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/lookup.h"

#define SPF_DEPTH_MAX 10

const char *spf_result_name(enum spf_result r)
{
	static const char *const n[] = {"none",     "neutral",   "pass",     "fail",
	                                "softfail", "temperror", "permerror"};
	return n[r];
}

struct ctx {
	struct lookup *l;
	uint32_t ip; /* host order */
	int lookups;
	char why[256];
};

static int in_net(uint32_t ip, const char *net, int bits)
{
	struct in_addr a;
	if (inet_pton(AF_INET, net, &a) != 1 || bits < 0 || bits > 32)
		return 0;
	uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
	return (ntohl(a.s_addr) & mask) == (ip & mask);
}

/* The SPF record of domain: 1 found (one), 0 none, -1 error (why set). */
static int record_of(struct ctx *c, const char *domain, char *out, size_t n)
{
	struct lookup_answers a;
	enum lookup_status st = lookup_txt(c->l, domain, &a);
	int found = 0;

	if (st == LK_TEMPFAIL) {
		snprintf(c->why, sizeof(c->why), "%s: DNS did not answer", domain);
		return -1;
	}
	for (size_t i = 0; i < a.n; i++) {
		if (strncasecmp(a.v[i], "v=spf1", 6) != 0 || (a.v[i][6] && a.v[i][6] != ' '))
			continue;
		if (found++) {
			snprintf(c->why, sizeof(c->why), "%s has more than one SPF record", domain);
			lookup_answers_free(&a);
			return -2;
		}
		snprintf(out, n, "%s", a.v[i]);
	}
	lookup_answers_free(&a);
	return found;
}

/* Whether any A record of name is in ip/bits. -1 on a DNS error. */
static int a_matches(struct ctx *c, const char *name, int bits)
{
	struct lookup_answers a;
	enum lookup_status st = lookup_a(c->l, name, &a);
	int hit = 0;

	if (st == LK_TEMPFAIL)
		return -1;
	for (size_t i = 0; i < a.n && !hit; i++)
		hit = in_net(c->ip, a.v[i], bits);
	lookup_answers_free(&a);
	return hit;
}

static enum spf_result eval(struct ctx *c, const char *domain, int depth);

/* "name/24" -> name (or dflt when empty) and bits. */
static void target(const char *arg, const char *dflt, char *name, size_t n, int *bits)
{
	const char *slash = strchr(arg, '/');
	size_t len = slash ? (size_t)(slash - arg) : strlen(arg);
	*bits = slash ? atoi(slash + 1) : 32;
	if (len == 0)
		snprintf(name, n, "%s", dflt);
	else
		snprintf(name, n, "%.*s", (int)len, arg);
}

static enum spf_result qualifier(char q)
{
	return q == '-' ? SPF_FAIL : q == '~' ? SPF_SOFTFAIL : q == '?' ? SPF_NEUTRAL : SPF_PASS;
}

/* One term; returns 1 on a match (result in *r), 0 no match, -1 error (*r set). */
static int term(struct ctx *c, const char *domain, const char *t, int depth, enum spf_result *r)
{
	char q = '+';
	char name[256];
	int bits;

	if (strchr("+-~?", *t))
		q = *t++;
	if (strchr(t, '%')) {
		snprintf(c->why, sizeof(c->why), "'%s': macros are not evaluated by sluice check",
		         t);
		*r = SPF_PERMERROR;
		return -1;
	}
	const char *arg = strchr(t, ':')   ? strchr(t, ':') + 1
	                  : strchr(t, '/') ? strchr(t, '/')
	                                   : "";
	size_t mlen = strcspn(t, ":/");
	int dns = 0, hit = 0;
	if (mlen == 3 && strncasecmp(t, "all", 3) == 0) {
		hit = 1;
	} else if (mlen == 3 && strncasecmp(t, "ip4", 3) == 0) {
		target(arg, "", name, sizeof(name), &bits);
		struct in_addr tmp;
		if (inet_pton(AF_INET, name, &tmp) != 1 || bits < 0 || bits > 32) {
			snprintf(c->why, sizeof(c->why), "'%s' is not an IPv4 network", t);
			*r = SPF_PERMERROR;
			return -1;
		}
		hit = in_net(c->ip, name, bits);
	} else if (mlen == 3 && strncasecmp(t, "ip6", 3) == 0) {
		hit = 0; /* an IPv4 sender never matches */
	} else if (mlen == 1 && (t[0] == 'a' || t[0] == 'A')) {
		dns = 1;
		target(arg, domain, name, sizeof(name), &bits);
		hit = a_matches(c, name, bits);
	} else if (mlen == 2 && strncasecmp(t, "mx", 2) == 0) {
		dns = 1;
		target(arg, domain, name, sizeof(name), &bits);
		struct lookup_answers mx;
		if (lookup_mx(c->l, name, &mx) == LK_TEMPFAIL)
			hit = -1;
		for (size_t i = 0; i < mx.n && hit == 0 && i < 10; i++)
			hit = a_matches(c, mx.v[i], bits);
		lookup_answers_free(&mx);
	} else if (mlen == 7 && strncasecmp(t, "include", 7) == 0) {
		dns = 1;
		if (++c->lookups > SPF_LOOKUPS_MAX)
			goto too_many;
		enum spf_result sub = eval(c, arg, depth + 1);
		if (sub == SPF_TEMPERROR || sub == SPF_PERMERROR || sub == SPF_NONE) {
			*r = sub == SPF_NONE ? SPF_PERMERROR : sub;
			if (sub == SPF_NONE)
				snprintf(c->why, sizeof(c->why), "include:%s has no SPF record",
				         arg);
			return -1;
		}
		hit = sub == SPF_PASS;
		dns = 0; /* counted above */
	} else if (mlen == 6 && strncasecmp(t, "exists", 6) == 0) {
		dns = 1;
		struct lookup_answers a;
		enum lookup_status st = lookup_a(c->l, arg, &a);
		hit = st == LK_TEMPFAIL ? -1 : st == LK_OK;
		lookup_answers_free(&a);
	} else if (mlen == 3 && strncasecmp(t, "ptr", 3) == 0) {
		dns = 1; /* deprecated (RFC 7208 5.5): counted, never matched here */
	} else {
		snprintf(c->why, sizeof(c->why), "unknown mechanism '%s'", t);
		*r = SPF_PERMERROR;
		return -1;
	}
	if (dns && ++c->lookups > SPF_LOOKUPS_MAX)
		goto too_many;
	if (hit < 0) {
		snprintf(c->why, sizeof(c->why), "'%s': DNS did not answer", t);
		*r = SPF_TEMPERROR;
		return -1;
	}
	if (hit) {
		*r = qualifier(q);
		snprintf(c->why, sizeof(c->why), "%s in %s", t, domain);
	}
	return hit;
too_many:
	snprintf(c->why, sizeof(c->why), "more than %d DNS lookups (RFC 7208 4.6.4)",
	         SPF_LOOKUPS_MAX);
	*r = SPF_PERMERROR;
	return -1;
}

static enum spf_result eval(struct ctx *c, const char *domain, int depth)
{
	char rec[512];
	char redirect[256] = "";

	if (depth > SPF_DEPTH_MAX) {
		snprintf(c->why, sizeof(c->why), "includes nested too deep");
		return SPF_PERMERROR;
	}
	int f = record_of(c, domain, rec, sizeof(rec));
	if (f == -1)
		return SPF_TEMPERROR;
	if (f == -2)
		return SPF_PERMERROR;
	if (f == 0) {
		snprintf(c->why, sizeof(c->why), "%s has no SPF record", domain);
		return SPF_NONE;
	}
	char *save = NULL;
	for (char *t = strtok_r(rec + 6, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		enum spf_result r;
		if (strncasecmp(t, "redirect=", 9) == 0) {
			snprintf(redirect, sizeof(redirect), "%s", t + 9);
			continue;
		}
		if (strchr(t, '=') && !strchr(t, ':')) /* another modifier (exp=...) */
			continue;
		int m = term(c, domain, t, depth, &r);
		if (m != 0)
			return r;
	}
	if (redirect[0]) {
		if (++c->lookups > SPF_LOOKUPS_MAX) {
			snprintf(c->why, sizeof(c->why), "more than %d DNS lookups",
			         SPF_LOOKUPS_MAX);
			return SPF_PERMERROR;
		}
		enum spf_result r = eval(c, redirect, depth + 1);
		return r == SPF_NONE ? SPF_PERMERROR : r;
	}
	snprintf(c->why, sizeof(c->why), "no term matched in %s", domain);
	return SPF_NEUTRAL;
}

void spf_check(struct lookup *l, const char *domain, const char *ip4, struct spf_eval *out)
{
	struct ctx c = {.l = l};
	struct in_addr a;

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, ip4, &a) != 1) {
		out->result = SPF_NONE;
		snprintf(out->why, sizeof(out->why), "%s: only IPv4 sources are evaluated", ip4);
		return;
	}
	c.ip = ntohl(a.s_addr);
	if (record_of(&c, domain, out->record, sizeof(out->record)) < 0)
		out->record[0] = '\0';
	out->result = eval(&c, domain, 0);
	out->lookups = c.lookups;
	snprintf(out->why, sizeof(out->why), "%s", c.why);
}
