/*
 * spf: does a domain's SPF policy (RFC 7208) let an IPv4 address send its
 * mail? Evaluates ip4, ip6, a, mx, include, exists, all and redirect= with
 * their qualifiers and CIDR lengths, counts the DNS-querying terms against
 * the limit of 10 (4.6.4), and reports syntax errors. Macros (7) are not
 * expanded: a policy that uses them is reported as such (permerror here).
 * For `sluice check`, through the blocking lookups of dns/lookup.h.
 */
#ifndef SLUICE_DNS_SPF_H
#define SLUICE_DNS_SPF_H

struct lookup;

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR
};

#define SPF_LOOKUPS_MAX 10

struct spf_eval {
	enum spf_result result;
	int lookups;      /* DNS-querying terms evaluated */
	char record[512]; /* the domain's own v=spf1 record ("" if none) */
	char why[256];    /* the term that decided, or the error */
};

void spf_check(struct lookup *l, const char *domain, const char *ip4, struct spf_eval *out);
const char *spf_result_name(enum spf_result r);

#endif
