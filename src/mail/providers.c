/*
 * providers: see providers.h. The limits are deliberately below what these
 * providers accept from an established sender: a new or small sender that
 * stays under them is never the one that trips a throttle, and a sender
 * that has earned more raises them in `policies`. The built-in reply rules
 * (shape/rules.c) still back off when a provider says so.
 */
#include "mail/providers.h"

#include <fnmatch.h>

/* The table fits the monitor's counters. */
_Static_assert(9 <= PROVIDERS_MAX, "PROVIDERS_MAX");

#define PER_MIN(n) ((n) / 60.0)

static const struct provider table[] = {
    {"google", {"*.google.com", "*.googlemail.com", NULL}, 10, 100, PER_MIN(1200)},
    {"microsoft", {"*.outlook.com", "*.hotmail.com", NULL}, 5, 20, PER_MIN(600)},
    {"yahoo", {"*.yahoodns.net", "*.yahoo.com", "*.aol.com", NULL}, 5, 20, PER_MIN(600)},
    {"apple", {"*.icloud.com", "*.me.com", NULL}, 5, 20, PER_MIN(300)},
    {"gmx-webde", {"*.gmx.net", "*.web.de", "*.1und1.de", NULL}, 5, 20, PER_MIN(300)},
    {"comcast", {"*.comcast.net", NULL}, 5, 20, PER_MIN(300)},
    {"yandex", {"*.yandex.net", "*.yandex.ru", NULL}, 5, 20, PER_MIN(300)},
    {"mailru", {"*.mail.ru", NULL}, 5, 20, PER_MIN(300)},
    {"orange", {"*.orange.fr", "*.wanadoo.fr", NULL}, 3, 20, PER_MIN(200)},
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

int provider_index(const struct provider *p)
{
	return p ? (int)(p - table) : -1;
}

const struct provider *provider_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}
