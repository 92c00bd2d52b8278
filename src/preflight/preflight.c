/*
 * preflight: the checks of the sending identity, as receivers will see it,
 * through the configured resolvers (see preflight.h for the list).
 */
#include "preflight/preflight.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dns/lookup.h"
#include "dns/spf.h"
#include "msg/dkim.h"
#include "msg/lint.h"
#include "msg/template.h"
#include "store/store.h"
#include "util/clock.h"

struct preflight {
	struct preflight_row rows[PREFLIGHT_ROWS_MAX];
	size_t n;
	struct lookup *l;
	const struct config *cfg;
	char tpl_name[128]; /* the template's file name, as the subject of its rows */
};

const char *preflight_level_name(enum preflight_level lv)
{
	static const char *const names[] = {"PASS", "WARN", "FAIL"};
	return names[lv];
}

const struct preflight_row *preflight_rows(const struct preflight *p, size_t *n)
{
	*n = p->n;
	return p->rows;
}

void preflight_free(struct preflight *p)
{
	free(p);
}

static void add(struct preflight *r, const char *check, const char *subject,
                enum preflight_level lv, const char *fmt, ...)
{
	if (r->n >= PREFLIGHT_ROWS_MAX)
		return;
	struct preflight_row *x = &r->rows[r->n++];
	va_list ap;
	x->check = check;
	snprintf(x->subject, sizeof(x->subject), "%s", subject);
	x->level = lv;
	va_start(ap, fmt);
	vsnprintf(x->detail, sizeof(x->detail), fmt, ap);
	va_end(ap);
}

/* A PTR name made of the IP's digits, or with the words of consumer pools. */
static int looks_generic(const char *name, const char *ip)
{
	static const char *const words[] = {"dyn",  "dhcp",  "pool", "cust", "broadband",
	                                    "dsl",  "cable", "dial", "ppp",  "client",
	                                    "user", "host-", "ip-",  NULL};
	unsigned char b[4];
	char form[4][32];

	for (int i = 0; words[i]; i++)
		if (strcasestr(name, words[i]))
			return 1;
	if (inet_pton(AF_INET, ip, b) != 1)
		return 0;
	snprintf(form[0], 32, "%u-%u-%u-%u", b[0], b[1], b[2], b[3]);
	snprintf(form[1], 32, "%u-%u-%u-%u", b[3], b[2], b[1], b[0]);
	snprintf(form[2], 32, "%u.%u.%u.%u.", b[3], b[2], b[1], b[0]);
	snprintf(form[3], 32, "%u%u%u%u", b[0], b[1], b[2], b[3]);
	for (int i = 0; i < 4; i++)
		if (strstr(name, form[i]))
			return 1;
	return 0;
}

static int has(const struct lookup_answers *a, const char *s)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcasecmp(a->v[i], s) == 0)
			return 1;
	return 0;
}

static void check_source(struct preflight *r, const struct source *src)
{
	struct lookup_answers ptr, fwd;
	enum lookup_status st = lookup_ptr(r->l, src->ip, &ptr);

	if (st == LK_TEMPFAIL) {
		add(r, "ptr", src->ip, PREFLIGHT_FAIL,
		    "the PTR query got no answer: check dns.resolvers");
		return;
	}
	if (st != LK_OK) {
		add(r, "ptr", src->ip, PREFLIGHT_FAIL,
		    "no PTR record: ask the IP's owner to point it at %s (receivers refuse mail "
		    "from IPs without reverse DNS)",
		    src->helo);
		lookup_answers_free(&ptr);
		return;
	}
	const char *name = ptr.v[0];
	add(r, "ptr", src->ip, PREFLIGHT_PASS, "%s", name);
	lookup_a(r->l, name, &fwd);
	if (has(&fwd, src->ip))
		add(r, "fcrdns", src->ip, PREFLIGHT_PASS, "%s resolves back to %s", name, src->ip);
	else
		add(r, "fcrdns", src->ip, PREFLIGHT_FAIL,
		    "%s does not resolve back to %s: add an A record %s -> %s", name, src->ip, name,
		    src->ip);
	lookup_answers_free(&fwd);
	if (strcasecmp(src->helo, name) == 0)
		add(r, "helo", src->ip, PREFLIGHT_PASS, "HELO %s is the PTR name", src->helo);
	else
		add(r, "helo", src->ip, PREFLIGHT_FAIL,
		    "HELO %s differs from the PTR name %s: make them one", src->helo, name);
	if (looks_generic(name, src->ip))
		add(r, "ptr-generic", src->ip, PREFLIGHT_FAIL,
		    "%s looks like a dynamic or generic address: set a PTR that names your mail "
		    "server",
		    name);
	else
		add(r, "ptr-generic", src->ip, PREFLIGHT_PASS, "%s names a server", name);
	lookup_answers_free(&ptr);
}

/* Asks zone about name (reversed IP or domain): 1 if listed, with the
 * answer and its TXT reason in detail; 0 not listed; -1 no answer. */
static int listed(struct preflight *r, const char *name, const char *zone, char *detail, size_t n)
{
	char q[600];
	struct lookup_answers a, why;
	int rc;

	snprintf(q, sizeof(q), "%s.%s", name, zone);
	enum lookup_status st = lookup_a(r->l, q, &a);
	if (st == LK_OK && strncmp(a.v[0], "127.255.255.", 12) == 0) {
		/* Spamhaus's "query refused" codes (public resolvers, no key) */
		snprintf(detail, n, "the blocklist refused the query (%s)", a.v[0]);
		rc = -1;
	} else if (st == LK_OK) {
		lookup_txt(r->l, q, &why);
		snprintf(detail, n, "listed (%s): %s", a.v[0],
		         why.n ? why.v[0] : "no reason given");
		lookup_answers_free(&why);
		rc = 1;
	} else {
		snprintf(detail, n,
		         st == LK_TEMPFAIL ? "the blocklist did not answer" : "not listed");
		rc = st == LK_TEMPFAIL ? -1 : 0;
	}
	lookup_answers_free(&a);
	return rc;
}

/* Calls fn for each zone of a comma- or space-separated list. */
static void each_zone(const char *zones, void (*fn)(struct preflight *, const char *, const void *),
                      struct preflight *r, const void *arg)
{
	char zone[256];

	for (const char *p = zones ? zones : ""; *p;) {
		size_t k = strcspn(p, ", ");
		if (k) {
			snprintf(zone, sizeof(zone), "%.*s", (int)k, p);
			fn(r, zone, arg);
		}
		p += k;
		while (*p == ',' || *p == ' ')
			p++;
	}
}

static void dnsbl_zone(struct preflight *r, const char *zone, const void *arg)
{
	const struct source *src = arg;
	unsigned char b[4];
	char name[64], subj[300], detail[400];

	if (inet_pton(AF_INET, src->ip, b) != 1)
		return;
	snprintf(name, sizeof(name), "%u.%u.%u.%u", b[3], b[2], b[1], b[0]);
	snprintf(subj, sizeof(subj), "%s in %s", src->ip, zone);
	int rc = listed(r, name, zone, detail, sizeof(detail));
	add(r, "blocklist", subj,
	    rc > 0   ? PREFLIGHT_FAIL
	    : rc < 0 ? PREFLIGHT_WARN
	             : PREFLIGHT_PASS,
	    "%s", detail);
}

static void check_dnsbl(struct preflight *r, const struct source *src)
{
	each_zone(r->cfg->check_dnsbl, dnsbl_zone, r, src);
}

/* A link's host and its parent domains down to two labels, as URI
 * blocklists list either the host or the registered domain. */
static void uribl_zone(struct preflight *r, const char *zone, const void *arg)
{
	const char *host = arg;
	char subj[300], detail[400];
	int worst = 0;

	for (const char *d = host; d && strchr(d, '.'); d = strchr(d, '.') + 1) {
		int rc = listed(r, d, zone, detail, sizeof(detail));
		snprintf(subj, sizeof(subj), "%s in %s", d, zone);
		if (rc != 0) {
			add(r, "uri-blocklist", subj, rc > 0 ? PREFLIGHT_FAIL : PREFLIGHT_WARN,
			    "%s", detail);
			worst = 1;
			break;
		}
	}
	if (!worst) {
		snprintf(subj, sizeof(subj), "%s in %s", host, zone);
		add(r, "uri-blocklist", subj, PREFLIGHT_PASS, "not listed");
	}
}

/* A source's HELO against the one it showed when it last sent from this
 * state directory: receivers key reputation on (IP, HELO). */
static void check_helo_history(struct preflight *r, const char *state_dir,
                               const struct source *const *pool, size_t npool)
{
	char path[4096], helo[256], when[64];
	struct store *st;
	struct err e;
	int64_t since;

	snprintf(path, sizeof(path), "%s/queue.db", state_dir);
	if (access(path, F_OK) != 0)
		return; /* never sent from here: nothing to compare */
	if (store_open(state_dir, &st, &e) != 0) {
		add(r, "helo-history", state_dir, PREFLIGHT_WARN, "cannot read %s: %s", path,
		    e.msg);
		return;
	}
	for (size_t i = 0; i < npool; i++) {
		int found = store_identity_get(st, pool[i]->ip, helo, sizeof(helo), &since, &e);
		clock_rfc5322_date(since, when, sizeof(when));
		if (found < 0)
			add(r, "helo-history", pool[i]->ip, PREFLIGHT_WARN, "cannot read: %s",
			    e.msg);
		else if (found == 0)
			add(r, "helo-history", pool[i]->ip, PREFLIGHT_PASS,
			    "first use of this source");
		else if (strcasecmp(helo, pool[i]->helo) != 0)
			add(r, "helo-history", pool[i]->ip, PREFLIGHT_WARN,
			    "HELO changes from %s (used since %s) to %s: receivers see a new "
			    "sender; change it only with the PTR, and keep it after",
			    helo, when, pool[i]->helo);
		else
			add(r, "helo-history", pool[i]->ip, PREFLIGHT_PASS,
			    "the same HELO since %s", when);
	}
	store_close(st);
}

static void lint_row(void *arg, enum lint_level level, const char *check, const char *detail)
{
	struct preflight *r = arg;

	add(r, check, r->tpl_name,
	    level == LINT_FAIL   ? PREFLIGHT_FAIL
	    : level == LINT_WARN ? PREFLIGHT_WARN
	                         : PREFLIGHT_PASS,
	    "%s", detail);
}

static void check_template(struct preflight *r, const char *path, int bulk)
{
	struct template t;
	struct err e;
	char hosts[LINT_HOSTS_MAX][LINT_HOST_LEN];
	const char *slash = strrchr(path, '/');

	snprintf(r->tpl_name, sizeof(r->tpl_name), "%s", slash ? slash + 1 : path);
	if (template_load(path, &t, &e) != 0) {
		add(r, "template", r->tpl_name, PREFLIGHT_FAIL, "%s", e.msg);
		template_free(&t); /* what parsing made before it stopped */
		return;
	}
	lint_template(&t, bulk, lint_row, r);
	/* the unsubscribe link is in every message too */
	size_t n = lint_link_hosts(&t, r->cfg->unsubscribe_url, hosts, LINT_HOSTS_MAX);
	for (size_t i = 0; i < n; i++)
		each_zone(r->cfg->check_uribl, uribl_zone, r, hosts[i]);
	template_free(&t);
}

static void check_spf(struct preflight *r, const char *domain, const char *role,
                      const struct source *const *pool, size_t npool, enum preflight_level bad)
{
	char subj[300];
	snprintf(subj, sizeof(subj), "%s (%s)", domain, role);
	for (size_t i = 0; i < npool; i++) {
		struct spf_eval ev;
		spf_check(r->l, domain, pool[i]->ip, &ev);
		if (ev.result == SPF_PASS)
			add(r, "spf", subj, PREFLIGHT_PASS, "%s passes (%s; %d of %d DNS lookups)",
			    pool[i]->ip, ev.why, ev.lookups, SPF_LOOKUPS_MAX);
		else
			add(r, "spf", subj, bad, "%s: %s (%s)%s", pool[i]->ip,
			    spf_result_name(ev.result), ev.why,
			    ev.record[0] ? "" : ": publish \"v=spf1 ip4:<each source> -all\"");
	}
}

/* relaxed alignment (RFC 7489 3.1): one name is the other or a subdomain of
 * it, within the same registered domain (approximated: the last two labels). */
static int aligned(const char *a, const char *b)
{
	const char *pa = a + strlen(a), *pb = b + strlen(b);
	int dots = 0;
	while (pa > a && pb > b &&
	       tolower((unsigned char)pa[-1]) == tolower((unsigned char)pb[-1])) {
		pa--, pb--;
		if (*pa == '.' && ++dots == 2)
			return 1;
	}
	return (pa == a && (pb == b || pb[-1] == '.')) || (pb == b && pa[-1] == '.');
}

static void check_dkim(struct preflight *r, const char *from, int *dkim_aligned)
{
	const struct config *cfg = r->cfg;
	int any = 0;
	for (size_t i = 0; i < cfg->ndkim; i++) {
		const struct dkim_conf *d = &cfg->dkim[i];
		char name[300], pub[2048];
		int ed;
		struct err e;
		snprintf(name, sizeof(name), "%s._domainkey.%s", d->selector, d->domain);
		if (strcasecmp(d->domain, from) == 0)
			any = 1;
		if (dkim_key_public(d->key, pub, sizeof(pub), &ed, &e) != 0) {
			add(r, "dkim", name, PREFLIGHT_FAIL, "%s", e.msg);
			continue;
		}
		struct lookup_answers a;
		enum lookup_status st = lookup_txt(r->l, name, &a);
		const char *p = NULL;
		for (size_t k = 0; k < a.n && !p; k++)
			if ((p = strstr(a.v[k], "p=")))
				p += 2;
		char dnsp[2048] = "";
		for (size_t k = 0; p && *p && *p != ';' && k + 1 < sizeof(dnsp); p++)
			if (!isspace((unsigned char)*p))
				dnsp[k++] = *p, dnsp[k] = '\0';
		if (st != LK_OK || !dnsp[0])
			add(r, "dkim", name, PREFLIGHT_FAIL,
			    "no key published: add TXT \"v=DKIM1; k=%s; p=%s\"",
			    ed ? "ed25519" : "rsa", pub);
		else if (strcmp(dnsp, pub) != 0)
			add(r, "dkim", name, PREFLIGHT_FAIL,
			    "the published key is not the configured one (%s): publish p=%s",
			    d->key, pub);
		else
			add(r, "dkim", name, PREFLIGHT_PASS, "the published %s key matches %s",
			    ed ? "ed25519" : "rsa", d->key);
		if (aligned(d->domain, from))
			*dkim_aligned = 1;
		lookup_answers_free(&a);
	}
	if (!any)
		add(r, "dkim", from, PREFLIGHT_FAIL,
		    "no dkim key for the From domain: messages go out unsigned (add one under "
		    "'dkim')");
}

static void check_dmarc(struct preflight *r, const char *from, const char *envelope,
                        int dkim_aligned)
{
	char name[300];
	struct lookup_answers a;
	snprintf(name, sizeof(name), "_dmarc.%s", from);
	lookup_txt(r->l, name, &a);
	const char *rec = NULL;
	for (size_t i = 0; i < a.n && !rec; i++)
		if (strncasecmp(a.v[i], "v=DMARC1", 8) == 0)
			rec = a.v[i];
	if (!rec) {
		add(r, "dmarc", from, PREFLIGHT_FAIL,
		    "no DMARC record: publish TXT at %s, e.g. \"v=DMARC1; p=none; rua=mailto:...\"",
		    name);
	} else {
		const char *p = strstr(rec, "p=");
		char pol[32] = "?";
		if (p)
			snprintf(pol, sizeof(pol), "%.*s", (int)strcspn(p + 2, "; "), p + 2);
		add(r, "dmarc", from, PREFLIGHT_PASS, "policy p=%s", pol);
	}
	int spf_aligned = aligned(envelope, from);
	if (dkim_aligned && spf_aligned)
		add(r, "alignment", from, PREFLIGHT_PASS,
		    "From aligns with the DKIM d= and the envelope domain");
	else if (dkim_aligned)
		add(r, "alignment", from, PREFLIGHT_WARN,
		    "From aligns with the DKIM d= only, not the envelope domain %s: DMARC rests on "
		    "the signature alone (a forwarder that breaks it fails DMARC); put the bounce "
		    "domain under %s",
		    envelope, from);
	else if (spf_aligned)
		add(r, "alignment", from, PREFLIGHT_WARN,
		    "From aligns with the envelope domain only: DMARC rests on SPF alone (which "
		    "forwarding breaks); sign with a DKIM key for %s",
		    from);
	else
		add(r, "alignment", from, PREFLIGHT_FAIL,
		    "From aligns with neither the DKIM d= nor the envelope domain %s: DMARC fails",
		    envelope);
	lookup_answers_free(&a);
}

/* The bounce domain's MX should be the host `sluice serve` listens on. */
static void check_bounce_mx(struct preflight *r, const char *mx)
{
	const char *listen = r->cfg->inbound_listen;
	struct lookup_answers a;
	char ip[64] = "";

	if (listen) { /* "ip:port" or "[v6]:port" */
		const char *p = listen[0] == '[' ? listen + 1 : listen;
		size_t n = listen[0] == '[' ? strcspn(p, "]") : (size_t)(strrchr(p, ':') - p);
		snprintf(ip, sizeof(ip), "%.*s", (int)n, p);
	}
	if (!ip[0] || !strcmp(ip, "0.0.0.0") || !strcmp(ip, "::")) {
		add(r, "bounces", r->cfg->bounce_domain, PREFLIGHT_PASS, "MX %s%s", mx,
		    ip[0] ? " (serve listens on every address)" : "");
		return;
	}
	enum lookup_status st = lookup_a(r->l, mx, &a);
	int found = 0;
	for (size_t i = 0; st == LK_OK && i < a.n; i++)
		found |= strcmp(a.v[i], ip) == 0;
	if (found)
		add(r, "bounces", r->cfg->bounce_domain, PREFLIGHT_PASS,
		    "MX %s is %s, where serve listens", mx, ip);
	else
		add(r, "bounces", r->cfg->bounce_domain, PREFLIGHT_WARN,
		    "MX %s is %s, but inbound.listen is %s: bounces and complaints go "
		    "elsewhere unless that host forwards them",
		    mx, st == LK_OK ? a.v[0] : "no address", ip);
	lookup_answers_free(&a);
}

static void check_routing(struct preflight *r, const char *from)
{
	const struct config *cfg = r->cfg;
	struct lookup_answers mx;

	if (lookup_mx(r->l, from, &mx) == LK_OK && strcmp(mx.v[0], ".") != 0)
		add(r, "postmaster", from, PREFLIGHT_PASS, "postmaster@ and abuse@ have an MX (%s)",
		    mx.v[0]);
	else
		add(r, "postmaster", from, PREFLIGHT_FAIL,
		    "%s has no MX: postmaster@ and abuse@ must receive mail", from);
	lookup_answers_free(&mx);
	if (!cfg->bounce_domain) {
		add(r, "bounces", "bounce.domain", PREFLIGHT_WARN,
		    "no VERP: set bounce.domain (and its MX to `sluice serve`) so bounces and "
		    "complaints find their recipient");
	} else if (lookup_mx(r->l, cfg->bounce_domain, &mx) != LK_OK) {
		add(r, "bounces", cfg->bounce_domain, PREFLIGHT_FAIL,
		    "no MX: point it at the host running `sluice serve`");
		lookup_answers_free(&mx);
	} else {
		check_bounce_mx(r, mx.v[0]);
		lookup_answers_free(&mx);
	}
	if (cfg->unsubscribe_url && strncmp(cfg->unsubscribe_url, "https://", 8) == 0)
		add(r, "unsubscribe", "List-Unsubscribe", PREFLIGHT_PASS, "one-click %s",
		    cfg->unsubscribe_url);
	else if (cfg->unsubscribe_url)
		add(r, "unsubscribe", "List-Unsubscribe", PREFLIGHT_WARN,
		    "%s is not https: RFC 8058 one-click needs an https URL", cfg->unsubscribe_url);
	else if (cfg->bounce_domain && cfg->unsubscribe_mailto)
		add(r, "unsubscribe", "List-Unsubscribe", PREFLIGHT_WARN,
		    "mailto only: large providers want one-click (set unsubscribe.url)");
	else
		add(r, "unsubscribe", "List-Unsubscribe", PREFLIGHT_FAIL,
		    "campaign mail carries no List-Unsubscribe: set unsubscribe.url");
}

int preflight_run(const struct config *cfg, const char *tpl, int bulk, const char *state_dir,
                  struct preflight **out, struct err *e)
{
	struct preflight *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return err_set(e, "out of memory");
	r->cfg = cfg;
	if (lookup_new(cfg->resolvers, cfg->nresolvers, cfg->dns_timeout_ms, cfg->dns_tries, &r->l,
	               e) != 0) {
		free(r);
		return -1;
	}
	const struct source *pool[SOURCES_MAX];
	size_t npool = config_pool_sources(cfg, cfg->pool, pool, SOURCES_MAX);
	const char *env =
	    cfg->bounce_domain ? cfg->bounce_domain : strrchr(cfg->envelope_from, '@') + 1;
	for (size_t i = 0; i < npool; i++) {
		check_source(r, pool[i]);
		check_dnsbl(r, pool[i]);
	}
	check_spf(r, cfg->from_domain, "From", pool, npool, PREFLIGHT_FAIL);
	if (strcasecmp(env, cfg->from_domain) != 0)
		check_spf(r, env, "envelope", pool, npool, PREFLIGHT_FAIL);
	for (size_t i = 0; i < npool; i++) /* with an empty envelope sender, SPF checks HELO */
		check_spf(r, pool[i]->helo, "HELO", &pool[i], 1, PREFLIGHT_WARN);
	check_helo_history(r, state_dir, pool, npool);
	int dkim_aligned = 0;
	check_dkim(r, cfg->from_domain, &dkim_aligned);
	check_dmarc(r, cfg->from_domain, env, dkim_aligned);
	check_routing(r, cfg->from_domain);
	if (tpl)
		check_template(r, tpl, bulk);
	lookup_free(r->l);
	r->l = NULL;
	*out = r;
	return 0;
}

/* ---- the watcher's re-check of one source ---- */

static void watch_rows(const struct preflight *r, struct preflight_watch *w)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct preflight_row *x = &r->rows[i];
		if (strcmp(x->check, "blocklist") == 0) {
			if (x->level == PREFLIGHT_FAIL && w->listed != 1) {
				const char *zone = strstr(x->subject, " in ");
				const char *why = strstr(x->detail, ": ");
				w->listed = 1;
				snprintf(w->listed_why, sizeof(w->listed_why), "%s: %s",
				         zone ? zone + 4 : x->subject, why ? why + 2 : x->detail);
			} else if (x->level == PREFLIGHT_WARN && w->listed == 0) {
				w->listed = -1;
			}
		} else if (!strcmp(x->check, "ptr") || !strcmp(x->check, "fcrdns") ||
		           !strcmp(x->check, "helo")) {
			if (x->level != PREFLIGHT_FAIL || w->rdns == 0)
				continue;
			if (strstr(x->detail, "got no answer")) { /* check_source's tempfail */
				w->rdns = -1;
				continue;
			}
			w->rdns = 0;
			snprintf(w->rdns_why, sizeof(w->rdns_why), "%s: %s", x->check, x->detail);
		}
	}
}

static void watch_spf(struct lookup *l, const char *domain, const char *ip,
                      struct preflight_watch *w)
{
	struct spf_eval ev;

	if (w->spf == 0)
		return;
	spf_check(l, domain, ip, &ev);
	if (ev.result == SPF_PASS)
		return;
	if (ev.result == SPF_TEMPERROR) {
		w->spf = -1;
		return;
	}
	w->spf = 0;
	snprintf(w->spf_why, sizeof(w->spf_why), "SPF of %s: %s (%s)", domain,
	         spf_result_name(ev.result), ev.why);
}

int preflight_watch_source(const struct config *cfg, const struct source *src,
                           struct preflight_watch *out, struct err *e)
{
	struct preflight *r = calloc(1, sizeof(*r));

	memset(out, 0, sizeof(*out));
	out->rdns = 1;
	out->spf = 1;
	if (!r)
		return err_set(e, "out of memory");
	r->cfg = cfg;
	if (lookup_new(cfg->resolvers, cfg->nresolvers, cfg->dns_timeout_ms, cfg->dns_tries, &r->l,
	               e) != 0) {
		free(r);
		return -1;
	}
	check_source(r, src);
	check_dnsbl(r, src);
	watch_rows(r, out);
	const char *env =
	    cfg->bounce_domain ? cfg->bounce_domain : strrchr(cfg->envelope_from, '@') + 1;
	watch_spf(r->l, cfg->from_domain, src->ip, out);
	if (strcasecmp(env, cfg->from_domain) != 0)
		watch_spf(r->l, env, src->ip, out);
	lookup_free(r->l);
	free(r);
	return 0;
}
