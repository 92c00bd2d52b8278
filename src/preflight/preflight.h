/*
 * preflight: the report on the sending identity, as receivers will see it,
 * through the configured resolvers.
 *   per source: PTR, forward-confirmed reverse DNS, HELO = PTR name and a
 *     FQDN, PTR not dynamic-looking, not on the configured DNS blocklists;
 *   per sending domain (From, envelope/bounce, and each HELO): SPF present,
 *     valid, within 10 lookups, passing for every source of the pool;
 *   DKIM: a key for the From domain, and each key's DNS record matches it;
 *   DMARC: a record with its policy, and From aligned with DKIM or SPF;
 *   the bounce domain's MX, the From domain can receive (postmaster@,
 *   abuse@), List-Unsubscribe configured;
 *   with a template: the content lint (msg/lint.h) and every link's host
 *   (and the unsubscribe URL's) against the URI blocklists.
 * Each row says PASS, WARN or FAIL and what to fix; printing is the
 * caller's (sluice check, and sluice send before sending).
 */
#ifndef SLUICE_PREFLIGHT_PREFLIGHT_H
#define SLUICE_PREFLIGHT_PREFLIGHT_H

#include <stddef.h>

#include "mail/config.h"
#include "util/err.h"

#define PREFLIGHT_ROWS_MAX 256

enum preflight_level { PREFLIGHT_PASS, PREFLIGHT_WARN, PREFLIGHT_FAIL };

struct preflight_row {
	const char *check;
	char subject[128];
	enum preflight_level level;
	char detail[400];
};

struct preflight;

/* Runs every check of cfg (and of the template at tpl, if not NULL: bulk
 * mail needs an unsubscribe link), with the HELO history in state_dir;
 * fills *out (free with preflight_free). 0 or -1 (e says why). */
int preflight_run(const struct config *cfg, const char *tpl, int bulk, const char *state_dir,
                  struct preflight **out, struct err *e);
const struct preflight_row *preflight_rows(const struct preflight *p, size_t *n);
const char *preflight_level_name(enum preflight_level lv);
void preflight_free(struct preflight *p);

/* What a running serve re-checks of one source (serve/watch.h): each part
 * 1 good, 0 bad, -1 no answer (a DNS failure: judge nothing), with why. */
struct preflight_watch {
	int listed;           /* 1: on a check.dnsbl zone (why: "ZONE: TXT") */
	int rdns;             /* 1: PTR, forward-confirmed, and the HELO */
	int spf;              /* 1: the From and envelope domains' SPF pass it */
	char listed_why[300]; /* set when listed is 1 */
	char rdns_why[300];   /* set when rdns is 0 */
	char spf_why[300];    /* set when spf is 0 */
};

/* Blocking lookups through cfg's resolvers: run it off the event loop (a
 * worker thread). 0, or -1 (e says why). */
int preflight_watch_source(const struct config *cfg, const struct source *src,
                           struct preflight_watch *out, struct err *e);

#endif
