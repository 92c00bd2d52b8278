/*
 * providers: see providers.h. The limits are deliberately below what these
 * providers accept from an established sender: a new or small sender that
 * stays under them is never the one that trips a throttle, and a sender
 * that has earned more raises them in `policies`. The built-in reply rules
 * (shape/rules.c) still back off when a provider says so.
 */
#include "mail/providers.h"

#include <fnmatch.h>
#include <string.h>

/* The table fits the monitor's counters. */
_Static_assert(9 <= PROVIDERS_MAX, "PROVIDERS_MAX");

#define PER_MIN(n) ((n) / 60.0)

/*
 * The provider-wide limits (total) hold per source IP across every site of
 * the provider: a campaign to 5,000 Microsoft 365 tenants is 5,000 sites
 * but one receiver counting one IP. They are about two per-site budgets:
 * enough for the provider's own consumer domains (which are one site) and
 * business domains going at once, well under the 20 to 50 concurrent
 * connections per IP at which the large providers start answering 421.
 * New connections are limited too (a burst of TLS handshakes to many
 * tenant MXes is what EOP and Gmail flag first).
 */
static const struct provider table[] = {
    {"google",
     {"*.google.com", "*.googlemail.com", NULL},
     10,
     100,
     PER_MIN(1200),
     {20, PER_MIN(3000), 5}},
    {"microsoft",
     {"*.mail.protection.outlook.com", "*.outlook.com", "*.hotmail.com"},
     5,
     20,
     PER_MIN(600),
     {10, PER_MIN(1200), 2}},
    {"yahoo",
     {"*.yahoodns.net", "*.yahoo.com", "*.aol.com"},
     5,
     20,
     PER_MIN(600),
     {10, PER_MIN(1200), 2}},
    {"apple", {"*.icloud.com", "*.me.com", NULL}, 5, 20, PER_MIN(300), {10, PER_MIN(600), 2}},
    {"gmx-webde",
     {"*.gmx.net", "*.web.de", "*.1und1.de"},
     5,
     20,
     PER_MIN(300),
     {10, PER_MIN(600), 2}},
    {"comcast", {"*.comcast.net", NULL}, 5, 20, PER_MIN(300), {10, PER_MIN(600), 2}},
    {"yandex", {"*.yandex.net", "*.yandex.ru", NULL}, 5, 20, PER_MIN(300), {10, PER_MIN(600), 2}},
    {"mailru", {"*.mail.ru", NULL}, 5, 20, PER_MIN(300), {10, PER_MIN(600), 2}},
    {"orange", {"*.orange.fr", "*.wanadoo.fr", NULL}, 3, 20, PER_MIN(200), {5, PER_MIN(300), 1}},
};

const struct provider *provider_for_mx(const char *mx)
{
	if (!mx)
		return NULL;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		for (size_t k = 0; table[i].mx[k]; k++)
			if (fnmatch(table[i].mx[k], mx, FNM_CASEFOLD) == 0)
				return &table[i];
	return NULL;
}

const struct provider *provider_by_name(const char *name)
{
	for (size_t i = 0; name && i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

int provider_index(const struct provider *p)
{
	return p ? (int)(p - table) : -1;
}

const struct provider *provider_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}
