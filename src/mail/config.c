/*
 * config: see config.h. The schema is a table of scalar settings (section,
 * key, type, where it goes) plus two lists (sources, policies); unknown keys
 * are errors, so a typo never silently falls back to a default.
 */
#include "mail/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

#define CONFIG_SIZE_MAX (1024 * 1024)

enum ftype {
	F_STR,
	F_INT,
	F_INT64,
	F_GROWTH,
	F_MS,
	F_RULE_MS,
	F_SECONDS,
	F_TLS,
	F_RATE,
	F_FACTOR,
	F_STAGE,
	F_REGEX
};

struct field {
	const char *section; /* NULL: top level */
	const char *key;
	enum ftype type;
	size_t off;
	int64_t min, max;
};

#define OFF(m) offsetof(struct config, m)
#define DAY_S  (24 * 3600)

static const struct field fields[] = {
    {NULL, "state_dir", F_STR, OFF(state_dir), 0, 0},
    {"dns", "timeout", F_MS, OFF(dns_timeout_ms), 100, 60000},
    {"dns", "tries", F_INT, OFF(dns_tries), 1, 10},
    {"sender", "envelope_from", F_STR, OFF(envelope_from), 0, 0},
    {"sender", "from_domain", F_STR, OFF(from_domain), 0, 0},
    {"sender", "pool", F_STR, OFF(pool), 0, 0},
    {"delivery", "spread_threshold", F_INT64, OFF(spread_threshold), 0, 1000000000},
    {"delivery", "port", F_INT, OFF(port), 1, 65535},
    {"delivery", "max_connections", F_INT, OFF(max_connections), 1, 100000},
    {"delivery", "max_connections_per_site", F_INT, OFF(defaults.max_connections), 1, 10000},
    {"delivery", "initial_connections_per_site", F_INT, OFF(initial_connections), 1, 10000},
    {"delivery", "max_messages_per_connection", F_INT, OFF(defaults.max_messages_per_connection), 1,
     1000000},
    {"delivery", "idle_timeout", F_MS, OFF(idle_timeout_ms), 0, 600000},
    {"delivery", "tls", F_TLS, OFF(defaults.tls), 0, 0},
    {"retry", "min_backoff", F_SECONDS, OFF(min_backoff_s), 0, 30 * DAY_S},
    {"retry", "max_backoff", F_SECONDS, OFF(max_backoff_s), 0, 30 * DAY_S},
    {"retry", "max_lifetime", F_SECONDS, OFF(max_lifetime_s), 0, 365 * DAY_S},
    {"retry", "greylist_delay", F_SECONDS, OFF(greylist_delay_s), 0, DAY_S},
    {"delivery", "message_rate", F_RATE, OFF(defaults.message_rate), 0, 0},
    {"delivery", "connection_rate", F_RATE, OFF(defaults.connection_rate), 0, 0},
    {"timeouts", "connect", F_MS, OFF(timeouts.connect_ms), 1, 3600000},
    {"timeouts", "banner", F_MS, OFF(timeouts.banner_ms), 1, 3600000},
    {"timeouts", "ehlo", F_MS, OFF(timeouts.ehlo_ms), 1, 3600000},
    {"timeouts", "starttls", F_MS, OFF(timeouts.starttls_ms), 1, 3600000},
    {"timeouts", "mail", F_MS, OFF(timeouts.mail_ms), 1, 3600000},
    {"timeouts", "rcpt", F_MS, OFF(timeouts.rcpt_ms), 1, 3600000},
    {"timeouts", "data", F_MS, OFF(timeouts.data_ms), 1, 3600000},
    {"timeouts", "data_block", F_MS, OFF(timeouts.data_block_ms), 1, 3600000},
    {"timeouts", "dot", F_MS, OFF(timeouts.dot_ms), 1, 3600000},
    {"timeouts", "rset", F_MS, OFF(timeouts.rset_ms), 1, 3600000},
    {"timeouts", "quit", F_MS, OFF(timeouts.quit_ms), 1, 3600000},
};

static const char *const lists[] = {"sources", "policies", "rules"};
static const char *const resolvers_key = "resolvers"; /* under dns */

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->dns_timeout_ms = 5000;
	c->dns_tries = 2;
	c->port = 25;
	c->max_connections = 200;
	c->initial_connections = 5; /* Postfix: initial_destination_concurrency */
	c->idle_timeout_ms = 1000;
	c->defaults.tls = TLS_OPPORTUNISTIC;
	c->defaults.max_connections = 10;
	c->defaults.max_messages_per_connection = 100;
	c->min_backoff_s = 300;  /* Postfix: minimal_backoff_time */
	c->max_backoff_s = 4000; /* Postfix: maximal_backoff_time */
	c->max_lifetime_s = 5 * DAY_S;
	c->spread_threshold = 10000;
	c->greylist_delay_s = 360; /* greylisting servers commonly ask for 5 minutes */
	/* RFC 5321 4.5.3.2 */
	c->timeouts = (struct timeouts){.connect_ms = 30000,
	                                .banner_ms = 300000,
	                                .ehlo_ms = 300000,
	                                .starttls_ms = 120000,
	                                .mail_ms = 300000,
	                                .rcpt_ms = 300000,
	                                .data_ms = 120000,
	                                .data_block_ms = 180000,
	                                .dot_ms = 600000,
	                                .rset_ms = 120000,
	                                .quit_ms = 10000};
}

/* ---- positions and scalars ---- */

struct loader {
	const char *path;
	struct config *c;
	struct err *e;
};

static void node_pos(struct fy_node *n, int *line, int *col)
{
	struct fy_token *t = n ? fy_node_get_scalar_token(n) : NULL;
	const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;

	*line = m ? m->line + 1 : 0;
	*col = m ? m->column + 1 : 0;
	if (!m && n && fy_node_is_mapping(n)) {
		void *it = NULL;
		struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
		if (p)
			node_pos(fy_node_pair_key(p), line, col);
	}
}

static int fail_at(struct loader *l, struct fy_node *n, const char *fmt, const char *a,
                   const char *b)
{
	int line, col;
	char msg[300];

	node_pos(n, &line, &col);
	snprintf(msg, sizeof(msg), fmt, a, b ? b : "");
	return err_set(l->e, "%s:%d:%d: %s", l->path, line, col, msg);
}

/* The scalar text of n, NUL-terminated and owned by the caller, or NULL. */
static char *scalar_dup(struct fy_node *n)
{
	size_t len;
	const char *s;

	if (!n || !fy_node_is_scalar(n))
		return NULL;
	s = fy_node_get_scalar(n, &len);
	return s ? xstrndup(s, len) : NULL;
}

int64_t config_parse_duration_ms(const char *s, size_t n)
{
	int64_t total = 0;
	size_t i = 0;

	if (n == 0)
		return -1;
	while (i < n) {
		int64_t v = 0;
		size_t start = i;
		while (i < n && isdigit((unsigned char)s[i])) {
			v = v * 10 + (s[i] - '0');
			if (v > 1000000000)
				return -1;
			i++;
		}
		if (i == start)
			return -1;
		int64_t unit = 1000;
		if (i == n && start == 0) {
			unit = 1000; /* bare number: seconds */
		} else if (n - i >= 2 && s[i] == 'm' && s[i + 1] == 's') {
			unit = 1, i += 2;
		} else if (i < n && strchr("smhd", s[i])) {
			unit = s[i] == 's'   ? 1000
			       : s[i] == 'm' ? 60000
			       : s[i] == 'h' ? 3600000
			                     : 86400000;
			i++;
		} else {
			return -1;
		}
		total += v * unit;
	}
	return total;
}

static int set_scalar(struct loader *l, const struct field *f, struct fy_node *key,
                      struct fy_node *val)
{
	char *s = scalar_dup(val);
	char *base = (char *)l->c;
	int64_t v;
	char *end;

	if (!s)
		return fail_at(l, key, "'%s' takes a single value", f->key, NULL);
	switch (f->type) {
	case F_STR:
		free(*(char **)(base + f->off));
		*(char **)(base + f->off) = s;
		return 0;
	case F_INT:
	case F_INT64:
		v = strtoll(s, &end, 10);
		if (*s == '\0' || *end != '\0' || v < f->min || v > f->max) {
			char range[64];
			snprintf(range, sizeof(range), "%lld to %lld", (long long)f->min,
			         (long long)f->max);
			fail_at(l, val, "'%s' must be a whole number from %s", f->key, range);
			free(s);
			return -1;
		}
		if (f->type == F_INT64)
			*(int64_t *)(base + f->off) = v;
		else
			*(int *)(base + f->off) = (int)v;
		break;
	case F_RULE_MS: /* 64-bit, bounded: a rule never stops a site forever */
		v = config_parse_duration_ms(s, strlen(s));
		if (v < 0 || v > RULE_SUSPEND_MAX_MS) {
			fail_at(l, val,
			        "'%s': bad duration '%s' (at most 24h; examples: 30s, 15m, 2h)",
			        f->key, s);
			free(s);
			return -1;
		}
		*(int64_t *)(base + f->off) = v;
		break;
	case F_MS:
	case F_SECONDS:
		v = config_parse_duration_ms(s, strlen(s));
		if (f->type == F_SECONDS && v >= 0)
			v /= 1000;
		if (v < f->min || v > f->max) {
			fail_at(l, val,
			        "'%s': bad duration '%s' (examples: 250ms, 30s, 5m, 2h, 5d)",
			        f->key, s);
			free(s);
			return -1;
		}
		if (f->type == F_MS)
			*(int *)(base + f->off) = (int)v;
		else
			*(int64_t *)(base + f->off) = v;
		break;
	case F_RATE: {
		double rate = config_parse_rate(s);
		if (rate < 0) {
			fail_at(l, val, "'%s': bad rate '%s' (examples: 600/min, 20000/h, 10/s)",
			        f->key, s);
			free(s);
			return -1;
		}
		*(double *)(base + f->off) = rate;
		break;
	}
	case F_GROWTH: {
		double d = strtod(s, &end);
		if (*s == '\0' || *end != '\0' || d < 1.0 || d > 10.0) {
			fail_at(l, val, "'%s' must be a number from 1 to 10, not '%s'", f->key, s);
			free(s);
			return -1;
		}
		*(double *)(base + f->off) = d;
		break;
	}
	case F_FACTOR: {
		double d = strtod(s, &end);
		if (*s == '\0' || *end != '\0' || d < RULE_FACTOR_MIN || d > 1.0) {
			fail_at(l, val, "'%s' must be a number from 0.05 to 1, not '%s'", f->key,
			        s);
			free(s);
			return -1;
		}
		*(double *)(base + f->off) = d;
		break;
	}
	case F_STAGE: {
		static const char *const stages[] = {"connect", "banner", "ehlo", "starttls",
		                                     "mail",    "rcpt",   "data", "dot"};
		size_t k = 0;
		while (k < 8 && strcmp(s, stages[k]) != 0)
			k++;
		if (k == 8) {
			fail_at(
			    l, val,
			    "'%s' must be a stage (connect, banner, ehlo, starttls, mail, rcpt, "
			    "data, dot), not '%s'",
			    f->key, s);
			free(s);
			return -1;
		}
		free(*(char **)(base + f->off));
		*(char **)(base + f->off) = s;
		return 0;
	}
	case F_REGEX: {
		struct reply_rule *r = (struct reply_rule *)(void *)base;
		struct err re;
		if (r->text) {
			regfree(&r->text_re);
			free(r->text);
		}
		r->text = s;
		if (config_rule_compile(r, &re) != 0) {
			free(r->text);
			r->text = NULL;
			return fail_at(l, val, "'text': %s", re.msg, NULL);
		}
		return 0;
	}
	case F_TLS:
		if (strcmp(s, "off") == 0)
			v = TLS_OFF;
		else if (strcmp(s, "opportunistic") == 0)
			v = TLS_OPPORTUNISTIC;
		else if (strcmp(s, "required") == 0)
			v = TLS_REQUIRED;
		else {
			fail_at(l, val, "'%s' must be off, opportunistic or required, not '%s'",
			        f->key, s);
			free(s);
			return -1;
		}
		*(int *)(base + f->off) = (int)v;
		break;
	}
	free(s);
	return 0;
}

/* ---- lists ---- */

static int load_resolvers(struct loader *l, struct fy_node *key, struct fy_node *seq)
{
	void *it = NULL;
	struct fy_node *item;

	if (!fy_node_is_sequence(seq))
		return fail_at(l, key, "'%s' must be a list of addresses (ip or ip:port)",
		               "resolvers", NULL);
	while ((item = fy_node_sequence_iterate(seq, &it))) {
		char *s = scalar_dup(item);
		if (!s)
			return fail_at(l, key, "'%s' entries must be addresses", "resolvers", NULL);
		unsigned char buf[16];
		char host[64];
		const char *colon = strrchr(s, ':');
		/* ip, ip:port, [v6] or [v6]:port */
		if (s[0] == '[') {
			const char *close = strchr(s, ']');
			size_t hn = close ? (size_t)(close - s - 1) : 0;
			snprintf(host, sizeof(host), "%.*s", (int)hn, s + 1);
			colon = close && close[1] == ':' ? close + 1 : NULL;
		} else if (colon && strchr(s, ':') == colon) {
			snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
		} else {
			snprintf(host, sizeof(host), "%s", s);
			colon = NULL;
		}
		int ok = inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
		if (ok && colon) {
			char *end;
			long port = strtol(colon + 1, &end, 10);
			ok = *end == '\0' && port > 0 && port < 65536;
		}
		if (!ok) {
			fail_at(l, item, "resolver '%s' is not an IP address with an optional port",
			        s, NULL);
			free(s);
			return -1;
		}
		l->c->resolvers =
		    xrealloc(l->c->resolvers, (l->c->nresolvers + 1) * sizeof(char *));
		l->c->resolvers[l->c->nresolvers++] = s;
	}
	return 0;
}

/* Reads the keys of one list item (a mapping) through cb. */
typedef int (*item_key_fn)(struct loader *l, void *item, const char *k, struct fy_node *key,
                           struct fy_node *val);

static int load_mapping_items(struct loader *l, const char *name, struct fy_node *key,
                              struct fy_node *seq, void **arr, size_t *count, size_t size,
                              item_key_fn cb,
                              int (*check)(struct loader *, void *, struct fy_node *))
{
	void *it = NULL;
	struct fy_node *item;

	if (!fy_node_is_sequence(seq))
		return fail_at(l, key, "'%s' must be a list", name, NULL);
	while ((item = fy_node_sequence_iterate(seq, &it))) {
		if (!fy_node_is_mapping(item))
			return fail_at(l, item, "each entry of '%s' must be a mapping", name, NULL);
		*arr = xrealloc(*arr, (*count + 1) * size);
		void *entry = (char *)*arr + *count * size;
		memset(entry, 0, size);
		(*count)++;
		void *pit = NULL;
		struct fy_node_pair *p;
		while ((p = fy_node_mapping_iterate(item, &pit))) {
			char *k = scalar_dup(fy_node_pair_key(p));
			int rc =
			    k ? cb(l, entry, k, fy_node_pair_key(p), fy_node_pair_value(p)) : -1;
			free(k);
			if (rc)
				return rc;
		}
		if (check(l, entry, item))
			return -1;
	}
	return 0;
}

/* Sets setting k of a list item (a source, policy or rule) from its table of
 * fields; an unknown name is an error that lists the known ones. */
static int set_item_field(struct loader *l, void *item, const struct field *tab, size_t n,
                          const char *what, const char *k, struct fy_node *key, struct fy_node *val)
{
	char known[400] = "";
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(k, tab[i].key) == 0) {
			/* set_scalar writes at an offset from l->c: point it at the item */
			struct loader il = *l;
			il.c = (struct config *)item;
			return set_scalar(&il, &tab[i], key, val);
		}
		len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s", i ? ", " : "",
		                        tab[i].key);
		if (len >= sizeof(known))
			len = sizeof(known) - 1;
	}
	char msg[200];
	snprintf(msg, sizeof(msg), "unknown setting '%s' in %s", k, what);
	return fail_at(l, key, "%s (known: %s)", msg, known);
}

static int source_key(struct loader *l, void *item, const char *k, struct fy_node *key,
                      struct fy_node *val)
{
#define SOFF(m) offsetof(struct source, m)
	static const struct field sf[] = {
	    {"sources", "ip", F_STR, SOFF(ip), 0, 0},
	    {"sources", "helo", F_STR, SOFF(helo), 0, 0},
	    {"sources", "pool", F_STR, SOFF(pool), 0, 0},
	    {"sources", "weight", F_INT, SOFF(weight), 1, 1000},
	    {"sources", "warmup_day1", F_INT64, SOFF(warmup_day1), 1, 100000000},
	    {"sources", "warmup_site_day1", F_INT64, SOFF(warmup_site_day1), 1, 100000000},
	    {"sources", "warmup_growth", F_GROWTH, SOFF(warmup_growth), 0, 0},
	    {"sources", "warmup_until", F_INT64, SOFF(warmup_until), 1, 1000000000},
	};
#undef SOFF
	return set_item_field(l, item, sf, sizeof(sf) / sizeof(sf[0]), "a source", k, key, val);
}

static int source_check(struct loader *l, void *item, struct fy_node *where)
{
	struct source *s = item;
	unsigned char buf[16];

	if (!s->ip || !s->helo)
		return fail_at(l, where, "a source needs both 'ip' and 'helo'", "", NULL);
	if (!s->pool)
		s->pool = xstrdup("default");
	if (!s->weight)
		s->weight = 1;
	if (!s->warmup_growth)
		s->warmup_growth = 2.0;
	if (!s->warmup_until)
		s->warmup_until = 1000000;
	if (s->warmup_site_day1 && !s->warmup_day1)
		return fail_at(l, where, "warmup_site_day1 needs warmup_day1 for source '%s'",
		               s->ip, NULL);
	if (inet_pton(AF_INET, s->ip, buf) != 1 && inet_pton(AF_INET6, s->ip, buf) != 1)
		return fail_at(l, where, "source ip '%s' is not an IP address", s->ip, NULL);
	if (!domain_is_hostname(s->helo))
		return fail_at(l, where,
		               "source helo '%s' must be a fully qualified host name (the IP's PTR "
		               "name), never a bare IP or a name without a dot",
		               s->helo, NULL);
	for (size_t i = 0; i + 1 < l->c->nsources; i++) {
		if (strcmp(l->c->sources[i].ip, s->ip) == 0)
			return fail_at(l, where, "source ip '%s' is listed twice", s->ip, NULL);
		if (strcasecmp(l->c->sources[i].helo, s->helo) == 0)
			return fail_at(l, where, "helo '%s' is used by two sources", s->helo, NULL);
	}
	return 0;
}

static int policy_key(struct loader *l, void *item, const char *k, struct fy_node *key,
                      struct fy_node *val)
{
#define POFF(m) offsetof(struct policy, m)
	static const struct field pf[] = {
	    {"policies", "domain", F_STR, POFF(domain), 0, 0},
	    {"policies", "mx", F_STR, POFF(mx), 0, 0},
	    {"policies", "tls", F_TLS, POFF(tls), 0, 0},
	    {"policies", "max_connections", F_INT, POFF(max_connections), 1, 10000},
	    {"policies", "max_messages_per_connection", F_INT, POFF(max_messages_per_connection), 1,
	     1000000},
	    {"policies", "message_rate", F_RATE, POFF(message_rate), 0, 0},
	    {"policies", "connection_rate", F_RATE, POFF(connection_rate), 0, 0},
	};
#undef POFF
	return set_item_field(l, item, pf, sizeof(pf) / sizeof(pf[0]), "a policy", k, key, val);
}

static int policy_check(struct loader *l, void *item, struct fy_node *where)
{
	struct policy *p = item;

	if (!p->domain == !p->mx)
		return fail_at(l, where, "a policy matches exactly one of 'domain' or 'mx'", "",
		               NULL);
	return 0;
}

static int rule_key(struct loader *l, void *item, const char *k, struct fy_node *key,
                    struct fy_node *val)
{
#define ROFF(m) offsetof(struct reply_rule, m)
	static const struct field rf[] = {
	    {"rules", "name", F_STR, ROFF(name), 0, 0},
	    {"rules", "code", F_INT, ROFF(code), 200, 599},
	    {"rules", "enhanced", F_STR, ROFF(enhanced), 0, 0},
	    {"rules", "text", F_REGEX, ROFF(text), 0, 0},
	    {"rules", "stage", F_STAGE, ROFF(stage), 0, 0},
	    {"rules", "site", F_STR, ROFF(site), 0, 0},
	    {"rules", "suspend", F_RULE_MS, ROFF(suspend_ms), 0, 0},
	    {"rules", "scale", F_FACTOR, ROFF(factor), 0, 0},
	    {"rules", "duration", F_RULE_MS, ROFF(duration_ms), 0, 0},
	};
#undef ROFF
	return set_item_field(l, item, rf, sizeof(rf) / sizeof(rf[0]), "a rule", k, key, val);
}

static int rule_check(struct loader *l, void *item, struct fy_node *where)
{
	struct reply_rule *r = item;

	if (!r->code && !r->enhanced && !r->text)
		return fail_at(l, where, "a rule needs at least one of code, enhanced or text", "",
		               NULL);
	if (!r->suspend_ms && !r->factor)
		return fail_at(l, where, "a rule needs an action: suspend, scale or both", "",
		               NULL);
	if (!r->duration_ms)
		r->duration_ms = 15 * 60 * 1000;
	if (!r->name)
		r->name = xstrdup(r->text ? r->text : r->enhanced ? r->enhanced : "rule");
	return 0;
}

double config_parse_rate(const char *s)
{
	char *end;
	double n = strtod(s, &end);

	if (end == s || n < 0 || *end != '/')
		return -1;
	const char *u = end + 1;
	if (!strcmp(u, "s") || !strcmp(u, "sec") || !strcmp(u, "second"))
		return n;
	if (!strcmp(u, "m") || !strcmp(u, "min") || !strcmp(u, "minute"))
		return n / 60.0;
	if (!strcmp(u, "h") || !strcmp(u, "hour"))
		return n / 3600.0;
	if (!strcmp(u, "d") || !strcmp(u, "day"))
		return n / 86400.0;
	return -1;
}

int config_rule_compile(struct reply_rule *r, struct err *e)
{
	int rc = regcomp(&r->text_re, r->text, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (rc != 0) {
		char buf[200];
		regerror(rc, &r->text_re, buf, sizeof(buf));
		return err_set(e, "bad regular expression '%s': %s", r->text, buf);
	}
	return 0;
}

void config_rule_free(struct reply_rule *r)
{
	if (r->text)
		regfree(&r->text_re);
	free(r->name);
	free(r->enhanced);
	free(r->text);
	free(r->stage);
	free(r->site);
}

/* ---- the document ---- */

static const struct field *find_field(const char *section, const char *key)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field *f = &fields[i];
		if (((!section && !f->section) ||
		     (section && f->section && strcmp(section, f->section) == 0)) &&
		    strcmp(key, f->key) == 0)
			return f;
	}
	return NULL;
}

static int is_section(const char *k)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].section && strcmp(fields[i].section, k) == 0)
			return 1;
	return 0;
}

static int load_section(struct loader *l, const char *section, struct fy_node *skey,
                        struct fy_node *map)
{
	void *it = NULL;
	struct fy_node_pair *p;

	if (!fy_node_is_mapping(map))
		return fail_at(l, skey, "'%s' must be a mapping of settings", section, NULL);
	while ((p = fy_node_mapping_iterate(map, &it))) {
		struct fy_node *key = fy_node_pair_key(p), *val = fy_node_pair_value(p);
		char *k = scalar_dup(key);
		int rc;
		if (!k)
			return fail_at(l, key, "setting names must be plain words", "", NULL);
		const struct field *f = find_field(section, k);
		if (f)
			rc = set_scalar(l, f, key, val);
		else if (strcmp(section, "dns") == 0 && strcmp(k, resolvers_key) == 0)
			rc = load_resolvers(l, key, val);
		else
			rc = fail_at(l, key, "unknown setting '%s' in '%s'", k, section);
		free(k);
		if (rc)
			return rc;
	}
	return 0;
}

static int load_top(struct loader *l, struct fy_node *root)
{
	void *it = NULL;
	struct fy_node_pair *p;
	struct config *c = l->c;

	if (!root || !fy_node_is_mapping(root))
		return err_set(l->e, "%s:1:1: the configuration must be a mapping of sections",
		               l->path);
	while ((p = fy_node_mapping_iterate(root, &it))) {
		struct fy_node *key = fy_node_pair_key(p), *val = fy_node_pair_value(p);
		char *k = scalar_dup(key);
		const struct field *f;
		int rc;
		if (!k)
			return fail_at(l, key, "section names must be plain words", "", NULL);
		if ((f = find_field(NULL, k)))
			rc = set_scalar(l, f, key, val);
		else if (strcmp(k, lists[0]) == 0)
			rc = load_mapping_items(l, k, key, val, (void **)&c->sources, &c->nsources,
			                        sizeof(struct source), source_key, source_check);
		else if (strcmp(k, lists[1]) == 0)
			rc =
			    load_mapping_items(l, k, key, val, (void **)&c->policies, &c->npolicies,
			                       sizeof(struct policy), policy_key, policy_check);
		else if (strcmp(k, lists[2]) == 0)
			rc = load_mapping_items(l, k, key, val, (void **)&c->rules, &c->nrules,
			                        sizeof(struct reply_rule), rule_key, rule_check);
		else if (is_section(k))
			rc = load_section(l, k, key, val);
		else
			rc =
			    fail_at(l, key,
			            "unknown section '%s' (known: state_dir, dns, sources, sender, "
			            "delivery, retry, timeouts, policies)",
			            k, NULL);
		free(k);
		if (rc)
			return rc;
	}
	return 0;
}

static int check_whole(struct loader *l)
{
	struct config *c = l->c;
	struct address a;
	struct err ae;

	if (c->nsources == 0)
		return err_set(l->e, "%s: 'sources' is required: at least one (ip, helo)", l->path);
	if (!c->envelope_from)
		return err_set(l->e, "%s: 'sender.envelope_from' is required", l->path);
	if (address_parse(c->envelope_from, strlen(c->envelope_from), &a, &ae) != 0)
		return err_set(l->e, "%s: sender.envelope_from '%s': %s", l->path, c->envelope_from,
		               ae.msg);
	if (!c->from_domain)
		c->from_domain = xstrdup(a.domain);
	if (!c->pool)
		c->pool = xstrdup(c->sources[0].pool);
	const struct source *pool[64];
	size_t n = config_pool_sources(c, c->pool, pool, 64);
	if (n == 0) {
		address_free(&a);
		return err_set(l->e, "%s: sender.pool '%s' names no source's pool", l->path,
		               c->pool);
	}
	for (size_t i = 1; i < n; i++) {
		unsigned char buf[16];
		if ((inet_pton(AF_INET, pool[i]->ip, buf) == 1) !=
		    (inet_pton(AF_INET, pool[0]->ip, buf) == 1)) {
			address_free(&a);
			return err_set(l->e, "%s: pool '%s' mixes IPv4 and IPv6 sources", l->path,
			               c->pool);
		}
	}
	address_free(&a);
	if (!domain_is_hostname(c->from_domain))
		return err_set(l->e, "%s: sender.from_domain '%s' is not a domain name", l->path,
		               c->from_domain);
	if (c->max_backoff_s < c->min_backoff_s)
		return err_set(l->e, "%s: retry.max_backoff is shorter than retry.min_backoff",
		               l->path);
	return 0;
}

/* libfyaml (0.7) reports parse errors only through its diagnostic output,
 * as "file:line:column: error: message": keep the first such line. */
static void diag_capture(struct fy_diag *d, void *user, const char *buf, size_t len)
{
	char *first = user;

	(void)d;
	if (first[0] || !memmem(buf, len, ": error: ", 9))
		return;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	snprintf(first, ERR_MSG_MAX, "%.*s", (int)len, buf);
}

/* The file must be UTF-8 text. Checked before libfyaml sees it: libfyaml
 * 0.7.12 loops forever on some invalid UTF-8 (": \n%\xa4", found by
 * fuzz_config), and a binary file deserves a clearer message anyway. */
static int check_text(const char *path, struct err *e)
{
	FILE *f = fopen(path, "rb");
	struct strbuf b = STRBUF_INIT;
	char buf[65536];
	size_t n;
	int rc = 0;

	if (!f)
		return err_set(e, "%s: cannot open: %m", path);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && b.len <= CONFIG_SIZE_MAX)
		strbuf_add(&b, buf, n);
	fclose(f);
	if (b.len > CONFIG_SIZE_MAX)
		rc = err_set(e, "%s: larger than %d bytes", path, CONFIG_SIZE_MAX);
	long line = 1, col = 1;
	for (size_t i = 0; rc == 0 && i < b.len; i++) {
		size_t k = i, len = 1;
		unsigned char c = (unsigned char)b.data[i];
		if (c >= 0x80)
			len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
		if (c == 0 || (c >= 0x80 && (i + len > b.len || !utf8_valid(b.data + k, len))))
			rc = err_set(e, "%s:%ld:%ld: not UTF-8 text", path, line, col);
		i += len - 1;
		if (c == '\n')
			line++, col = 1;
		else
			col++;
	}
	strbuf_free(&b);
	return rc;
}

int config_load(const char *path, struct config *c, struct err *e)
{
	struct fy_diag_cfg dcfg;
	struct loader l = {path, c, e};

	config_defaults(c);
	c->path = xstrdup(path);
	if (check_text(path, e) != 0)
		return -1;
	char first_error[ERR_MSG_MAX] = "";
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = diag_capture;
	dcfg.user = first_error;
	dcfg.colorize = false;
	struct fy_diag *diag = fy_diag_create(&dcfg);
	struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET, .diag = diag};
	struct fy_document *doc = fy_document_build_from_file(&pcfg, path);
	int rc = 0;
	if (!doc) {
		if (first_error[0])
			rc = err_set(e, "%s", first_error);
		else
			rc = err_set(e, "%s: not a valid YAML document", path);
	} else {
		rc = load_top(&l, fy_document_root(doc));
		if (rc == 0)
			rc = check_whole(&l);
		fy_document_destroy(doc);
	}
	if (diag)
		fy_diag_destroy(diag);
	return rc;
}

void config_free(struct config *c)
{
	free(c->path);
	free(c->state_dir);
	for (size_t i = 0; i < c->nresolvers; i++)
		free(c->resolvers[i]);
	free(c->resolvers);
	for (size_t i = 0; i < c->nsources; i++) {
		free(c->sources[i].ip);
		free(c->sources[i].helo);
		free(c->sources[i].pool);
	}
	free(c->sources);
	for (size_t i = 0; i < c->npolicies; i++) {
		free(c->policies[i].domain);
		free(c->policies[i].mx);
	}
	free(c->policies);
	for (size_t i = 0; i < c->nrules; i++)
		config_rule_free(&c->rules[i]);
	free(c->rules);
	free(c->envelope_from);
	free(c->from_domain);
	free(c->pool);
	memset(c, 0, sizeof(*c));
}

size_t config_pool_sources(const struct config *c, const char *pool, const struct source **out,
                           size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nsources && n < max; i++)
		if (strcmp(c->sources[i].pool, pool) == 0)
			out[n++] = &c->sources[i];
	/* heaviest first; insertion sort keeps config order among equals */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && out[j]->weight > out[j - 1]->weight; j--) {
			const struct source *t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

struct policy config_policy_for(const struct config *c, const char *domain, const char *mx)
{
	struct policy out = c->defaults;

	out.domain = out.mx = NULL;
	/* The first matching policy wins, field by field. */
	int tls_set = 0, conn_set = 0, msgs_set = 0, rate_set = 0, crate_set = 0;
	for (size_t i = 0; i < c->npolicies; i++) {
		const struct policy *p = &c->policies[i];
		int hit = (p->domain && domain && fnmatch(p->domain, domain, FNM_CASEFOLD) == 0) ||
		          (p->mx && mx && fnmatch(p->mx, mx, FNM_CASEFOLD) == 0);
		if (!hit)
			continue;
		if (!tls_set && p->tls != TLS_UNSET)
			out.tls = p->tls, tls_set = 1;
		if (!conn_set && p->max_connections)
			out.max_connections = p->max_connections, conn_set = 1;
		if (!msgs_set && p->max_messages_per_connection)
			out.max_messages_per_connection = p->max_messages_per_connection,
			msgs_set = 1;
		if (!rate_set && p->message_rate > 0)
			out.message_rate = p->message_rate, rate_set = 1;
		if (!crate_set && p->connection_rate > 0)
			out.connection_rate = p->connection_rate, crate_set = 1;
	}
	return out;
}
