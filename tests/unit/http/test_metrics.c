/* Unit tests for src/http/metrics.c: what GET /metrics writes, the cap on
 * sites (the rest rolled up per provider) and the ranking behind it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http/metrics.h"
#include "mail/category.h"
#include "mail/providers.h"

#define NOW 1000000

/* Lines of out that start with prefix. */
static int count_lines(const char *out, const char *prefix)
{
	int n = 0;
	size_t len = strlen(prefix);

	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		n += strncmp(p, prefix, len) == 0;
	return n;
}

static void test_campaigns_and_attempts(void **state)
{
	struct scheduler_counters *c = calloc(1, sizeof(*c));
	struct metrics_campaign camps[2] = {{"spring \"sale\"", {5, 90, 3, 1, 1}, "acme", 0},
	                                    {"autumn", {2, 10, 0, 0, 0}, "acme", 5}};
	struct strbuf b = STRBUF_INIT;
	size_t np;
	const struct provider *table = provider_table(&np);

	(void)state;
	c->attempts[0][CAT_DELIVERED][0] = 7;                     /* delivered at google */
	c->attempts[1][CAT_INVALID_RECIPIENT][PROVIDERS_MAX] = 2; /* bounced elsewhere */
	snprintf(c->tenants[0].name, sizeof(c->tenants[0].name), "acme");
	c->tenants[0].attempts[0][CAT_DELIVERED] = 7;
	c->tenants[0].attempts[1][CAT_INVALID_RECIPIENT] = 2;
	c->ntenants = 1;
	snprintf(c->tenants[SCHED_TENANTS_MAX].name, sizeof(c->tenants[0].name), "(other)");
	c->tenants[SCHED_TENANTS_MAX].attempts[2][CAT_RATE_LIMITED] = 3;
	struct metrics_input in = {.version = "1.2-3-gabc",
	                           .start_time_s = 123,
	                           .now_s = NOW,
	                           .campaigns = camps,
	                           .ncampaigns = 2,
	                           .have_scheduler = 1,
	                           .in_flight = 4,
	                           .connections = 2,
	                           .counters = c};
	metrics_write(&in, &b);
	assert_non_null(strstr(b.data, "sluice_build_info{version=\"1.2-3-gabc\"} 1\n"));
	assert_non_null(strstr(b.data, "process_start_time_seconds 123\n"));
	assert_non_null(strstr(b.data, "sluice_recipients{campaign=\"spring "
	                               "\\\"sale\\\"\",priority=\"0\",state=\"delivered\"} 90\n"));
	assert_int_equal(count_lines(b.data, "sluice_recipients{"), 2 * RS_COUNT);
	assert_non_null(strstr(b.data, "sluice_recipients{campaign=\"autumn\",priority=\"5\","));
	/* per tenant: the campaigns summed, attempts by outcome and category */
	assert_non_null(
	    strstr(b.data, "sluice_tenant_recipients{tenant=\"acme\",state=\"queued\"} 7\n"));
	assert_non_null(
	    strstr(b.data, "sluice_tenant_recipients{tenant=\"acme\",state=\"delivered\"} 100\n"));
	assert_int_equal(count_lines(b.data, "sluice_tenant_recipients{"), RS_COUNT);
	assert_non_null(strstr(b.data, "sluice_tenant_attempts_total{tenant=\"acme\",outcome="
	                               "\"bounced\",category=\"invalid_recipient\"} 2\n"));
	assert_non_null(strstr(b.data, "sluice_tenant_attempts_total{tenant=\"(other)\",outcome="
	                               "\"deferred\",category=\"rate_limited\"} 3\n"));
	assert_int_equal(count_lines(b.data, "sluice_tenant_attempts_total{"), 3);
	char want[200];
	snprintf(want, sizeof(want),
	         "sluice_attempts_total{outcome=\"delivered\",category=\"delivered\","
	         "provider=\"%s\"} 7\n",
	         table[0].name);
	assert_non_null(strstr(b.data, want));
	assert_non_null(strstr(b.data, "sluice_attempts_total{outcome=\"bounced\",category="
	                               "\"invalid_recipient\",provider=\"other\"} 2\n"));
	assert_int_equal(count_lines(b.data, "sluice_attempts_total{"), 2); /* zeros left out */
	assert_non_null(strstr(b.data, "sluice_connections 2\n"));
	assert_non_null(strstr(b.data, "# TYPE sluice_group_commit_seconds histogram\n"));
	strbuf_free(&b);
	free(c);
}

static void test_site_cap_rolls_up_per_provider(void **state)
{
	enum { N = METRICS_SITES_MAX + 30 };
	struct metrics_site *sites = calloc(N, sizeof(*sites));
	char names[N][32];
	struct scheduler_counters *c = calloc(1, sizeof(*c));
	struct strbuf b = STRBUF_INIT;
	size_t np;
	const char *google = provider_table(&np)[0].name;

	(void)state;
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "mx%03d.example", i);
		sites[i].snap.site = names[i];
		sites[i].snap.conns = 1;
		sites[i].snap.queued = N - i; /* mx000 the busiest */
		sites[i].snap.rate = 0.5;
		sites[i].provider = i % 10 == 0 ? google : NULL;
	}
	/* the idlest site, but suspended: it must be among those shown */
	sites[N - 1].snap.queued = 0;
	sites[N - 1].snap.conns = 0;
	sites[N - 1].snap.suspended_until_s = NOW + 60;
	struct metrics_input in = {
	    .now_s = NOW, .have_scheduler = 1, .counters = c, .sites = sites, .nsites = N};
	metrics_write(&in, &b);
	/* one series per shown site and one per provider of the rest */
	assert_int_equal(count_lines(b.data, "sluice_site_connections{"), METRICS_SITES_MAX + 2);
	assert_int_equal(count_lines(b.data, "sluice_site_connections{site=\"(rest)\""), 2);
	char want[200];
	snprintf(want, sizeof(want),
	         "sluice_site_suspended{site=\"mx%03d.example\",provider=\"other\"} 1\n", N - 1);
	assert_non_null(strstr(b.data, want));
	assert_non_null(strstr(b.data, "sluice_site_connections{site=\"mx000.example\""));
	/* shown: the suspended one and mx000..mx048; the rest is mx049..mx078
	 * (30 sites, 3 of them google's: 50, 60, 70) */
	assert_null(strstr(b.data, "site=\"mx049.example\""));
	snprintf(want, sizeof(want), "sluice_site_connections{site=\"(rest)\",provider=\"%s\"} 3\n",
	         google);
	assert_non_null(strstr(b.data, want));
	assert_non_null(
	    strstr(b.data, "sluice_site_connections{site=\"(rest)\",provider=\"other\"} 27\n"));
	assert_non_null(strstr(
	    b.data, "sluice_site_messages_per_second{site=\"(rest)\",provider=\"other\"} 13.5\n"));
	snprintf(want, sizeof(want), "sluice_sites{provider=\"%s\"} %d\n", google, N / 10);
	assert_non_null(strstr(b.data, want));
	strbuf_free(&b);
	free(sites);
	free(c);
}

static void test_no_scheduler_yet(void **state)
{
	struct strbuf b = STRBUF_INIT;
	struct metrics_sign signs[1] = {{"sender_rejected", 3}};
	struct metrics_input in = {.now_s = NOW, .signs = signs, .nsigns = 1};

	(void)state;
	metrics_write(&in, &b);
	assert_null(strstr(b.data, "sluice_attempts_total"));
	assert_null(strstr(b.data, "sluice_site_"));
	assert_non_null(strstr(b.data, "sluice_build_info{version=\"unknown\"} 1\n"));
	assert_non_null(strstr(b.data, "sluice_danger_signs_total{kind=\"sender_rejected\"} 3\n"));
	strbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_campaigns_and_attempts),
	    cmocka_unit_test(test_site_cap_rolls_up_per_provider),
	    cmocka_unit_test(test_no_scheduler_yet),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
