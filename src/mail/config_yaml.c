/*
 * config_yaml: see config_yaml.h.
 */
#include "mail/config_yaml.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/config.h"
#include "mail/stage.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* ---- positions and scalars ---- */

void cfg_node_pos(struct ynode *n, int *line, int *col)
{
	*line = n ? n->line : 0;
	*col = n ? n->col : 0;
}

int cfg_fail_at(struct loader *l, struct ynode *n, const char *fmt, const char *a, const char *b)
{
	int line, col;
	char msg[300];

	cfg_node_pos(n, &line, &col);
	snprintf(msg, sizeof(msg), fmt, a, b ? b : "");
	return err_set(l->e, "%s:%d:%d: %s", l->path, line, col, msg);
}

char *cfg_scalar_dup(struct ynode *n)
{
	return n && n->kind == YN_SCALAR ? xstrndup(n->text, n->len) : NULL;
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

/* "5.1.1", "x.1.1", "5.7": up to three dot-separated numbers or x. */
static int enhanced_pattern_ok(const char *s)
{
	int parts = 0;

	for (const char *p = s; *p; parts++) {
		if (*p == 'x' || *p == 'X')
			p++;
		else if (isdigit((unsigned char)*p))
			while (isdigit((unsigned char)*p))
				p++;
		else
			return 0;
		if (*p == '.' && p[1])
			p++;
		else if (*p)
			return 0;
	}
	return parts >= 1 && parts <= 3;
}

static int64_t parse_bytes(const char *s)
{
	char *end;
	long long n = strtoll(s, &end, 10);

	if (end == s || n < 0)
		return -1;
	if (strcasecmp(end, "") == 0 || strcasecmp(end, "b") == 0)
		return n;
	if (strcasecmp(end, "kb") == 0 || strcasecmp(end, "k") == 0)
		return n * 1024;
	if (strcasecmp(end, "mb") == 0 || strcasecmp(end, "m") == 0)
		return n * 1024 * 1024;
	if ((strcasecmp(end, "gb") == 0 || strcasecmp(end, "g") == 0) && n < (1LL << 33))
		return n * 1024 * 1024 * 1024;
	return -1;
}

/* The word-valued types: each checks its word and stores its value. */
static int set_word(struct loader *l, const struct field *f, struct ynode *val, char *s)
{
	char *base = l->base;
	void *at = base + f->off;
	int rc = 0;

	switch (f->type) {
	case F_CODE: {
		char *end;
		long v = strtol(s, &end, 10);
		if ((s[0] == '4' || s[0] == '5') && strcasecmp(s + 1, "xx") == 0)
			*(int *)at = s[0] - '0';
		else if (*end == '\0' && v >= 200 && v <= 599)
			*(int *)at = (int)v;
		else
			rc = cfg_fail_at(l, val,
			                 "'%s' must be a reply code (550) or class (5xx), not '%s'",
			                 f->key, s);
		break;
	}
	case F_ENHANCED:
		if (!enhanced_pattern_ok(s))
			rc = cfg_fail_at(
			    l, val,
			    "'%s' must be an enhanced code or its prefix (5.1.1, x.1.1, "
			    "5.7), not '%s'",
			    f->key, s);
		else {
			free(*(char **)at);
			*(char **)at = s;
			return 0;
		}
		break;
	case F_CATEGORY:
		if (category_parse(s, (enum category *)at) != 0)
			rc = cfg_fail_at(l, val,
			                 "'%s': unknown category '%s' (see docs/configuration.md)",
			                 f->key, s);
		break;
	case F_PERMANENCE:
		if (strcmp(s, "permanent") == 0)
			*(int *)at = PERM_PERMANENT;
		else if (strcmp(s, "transient") == 0)
			*(int *)at = PERM_TRANSIENT;
		else
			rc = cfg_fail_at(l, val, "'%s' must be permanent or transient, not '%s'",
			                 f->key, s);
		break;
	case F_BOOL:
		if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)
			*(int *)at = 1;
		else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0)
			*(int *)at = 0;
		else
			rc = cfg_fail_at(l, val, "'%s' must be true or false, not '%s'", f->key, s);
		break;
	case F_BYTES: {
		int64_t v = parse_bytes(s);
		if (v < f->min || v > f->max)
			rc = cfg_fail_at(l, val, "'%s': bad size '%s' (examples: 512KB, 10MB)",
			                 f->key, s);
		else
			*(int64_t *)at = v;
		break;
	}
	case F_SCOPE:
		if (strcmp(s, "global") == 0)
			*(int *)at = SCOPE_GLOBAL;
		else if (strcmp(s, "sender_domain") == 0)
			*(int *)at = SCOPE_SENDER_DOMAIN;
		else
			rc = cfg_fail_at(l, val, "'%s' must be global or sender_domain, not '%s'",
			                 f->key, s);
		break;
	case F_TIMES: {
		char *end;
		double v = strtod(s, &end);
		if (strcmp(s, "off") == 0 || strcmp(s, "0") == 0)
			*(double *)at = 0;
		else if (end != s && (!*end || !strcmp(end, "x")) && v >= 1 && v <= 1000)
			*(double *)at = v;
		else
			rc = cfg_fail_at(
			    l, val, "'%s' must be a factor from 1 to 1000 (3x) or off, not '%s'",
			    f->key, s);
		break;
	}
	case F_PERCENT: {
		char *end;
		double v = strtod(s, &end);
		if (strcmp(s, "off") == 0 || strcmp(s, "0") == 0)
			*(double *)at = 0;
		else if (end != s && strcmp(end, "%") == 0 && v >= 0 && v <= 100)
			*(double *)at = v / 100.0;
		else
			rc = cfg_fail_at(l, val,
			                 "'%s' must be a percentage (0.3%%, 10%%) or off, not '%s'",
			                 f->key, s);
		break;
	}
	default:
		rc = cfg_fail_at(l, val, "'%s': internal: unknown type", f->key, NULL);
	}
	free(s);
	return rc;
}

int cfg_set_scalar(struct loader *l, const struct field *f, struct ynode *key, struct ynode *val)
{
	char *s = cfg_scalar_dup(val);
	char *base = l->base;
	int64_t v;
	char *end;

	if (!s && val->kind == YN_NULL)
		return cfg_fail_at(l, key, "'%s' needs a value", f->key, NULL);
	if (!s)
		return cfg_fail_at(l, key, "'%s' takes a single value", f->key, NULL);
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
			cfg_fail_at(l, val, "'%s' must be a whole number from %s", f->key, range);
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
			cfg_fail_at(l, val,
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
			cfg_fail_at(l, val,
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
			cfg_fail_at(l, val,
			            "'%s': bad rate '%s' (examples: 600/min, 20000/h, 10/s)",
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
			cfg_fail_at(l, val, "'%s' must be a number from 1 to 10, not '%s'", f->key,
			            s);
			free(s);
			return -1;
		}
		*(double *)(base + f->off) = d;
		break;
	}
	case F_FACTOR: {
		double d = strtod(s, &end);
		if (*s == '\0' || *end != '\0' || d < RULE_FACTOR_MIN || d > 1.0) {
			cfg_fail_at(l, val, "'%s' must be a number from 0.05 to 1, not '%s'",
			            f->key, s);
			free(s);
			return -1;
		}
		*(double *)(base + f->off) = d;
		break;
	}
	case F_STAGE: {
		enum stage st;
		if (stage_parse(s, &st) != 0 || !stage_in_rules(st)) {
			cfg_fail_at(l, val,
			            "'%s' must be a stage (connect, banner, ehlo, starttls, mail, "
			            "rcpt, data, dot, dns, render, dsn), not '%s'",
			            f->key, s);
			free(s);
			return -1;
		}
		*(unsigned *)(base + f->off) = stage_bit(st);
		break;
	}
	case F_REGEX: {
		struct pattern *p = (struct pattern *)(void *)(base + f->off);
		struct err re;
		pattern_free(p);
		if (pattern_compile(p, s, &re) != 0) {
			free(s);
			return cfg_fail_at(l, val, "'%s': %s", f->key, re.msg);
		}
		free(s);
		return 0;
	}
	case F_CODE:
	case F_ENHANCED:
	case F_CATEGORY:
	case F_PERMANENCE:
	case F_BOOL:
	case F_BYTES:
	case F_SCOPE:
	case F_PERCENT:
	case F_TIMES:
		return set_word(l, f, val, s);
	case F_TLS:
		if (strcmp(s, "off") == 0)
			v = TLS_OFF;
		else if (strcmp(s, "opportunistic") == 0)
			v = TLS_OPPORTUNISTIC;
		else if (strcmp(s, "required") == 0)
			v = TLS_REQUIRED;
		else {
			cfg_fail_at(l, val, "'%s' must be off, opportunistic or required, not '%s'",
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

int cfg_load_items(struct loader *l, const char *name, struct ynode *key, struct ynode *seq,
                   void **arr, size_t *count, size_t size, item_key_fn cb, item_check_fn check)
{
	if (seq->kind != YN_SEQUENCE)
		return cfg_fail_at(l, key, "'%s' must be a list", name, NULL);
	for (size_t i = 0; i < seq->nkids; i++) {
		struct ynode *item = seq->kids[i];
		if (item->kind != YN_MAPPING)
			return cfg_fail_at(l, item, "each entry of '%s' must be a mapping", name,
			                   NULL);
		*arr = xrealloc(*arr, (*count + 1) * size);
		void *entry = (char *)*arr + *count * size;
		memset(entry, 0, size);
		(*count)++;
		for (size_t k = 0; k + 1 < item->nkids; k += 2) {
			char *name_k = cfg_scalar_dup(item->kids[k]);
			int rc = name_k ? cb(l, entry, name_k, item->kids[k], item->kids[k + 1])
			                : cfg_fail_at(l, item->kids[k],
			                              "setting names must be words", "", NULL);
			free(name_k);
			if (rc)
				return rc;
		}
		if (check(l, entry, item))
			return -1;
	}
	return 0;
}

int cfg_set_item_field(struct loader *l, void *item, const struct field *tab, size_t n,
                       const char *what, const char *k, struct ynode *key, struct ynode *val)
{
	char known[400] = "";
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(k, tab[i].key) == 0) {
			/* set_scalar writes at an offset from l->c: point it at the item */
			struct loader il = *l;
			il.base = item;
			return cfg_set_scalar(&il, &tab[i], key, val);
		}
		len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s", i ? ", " : "",
		                        tab[i].key);
		if (len >= sizeof(known))
			len = sizeof(known) - 1;
	}
	char msg[200];
	snprintf(msg, sizeof(msg), "unknown setting '%s' in %s", k, what);
	return cfg_fail_at(l, key, "%s (known: %s)", msg, known);
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

/* The text must be UTF-8 without NUL bytes: checked first so the message
 * names the line and column (and a binary file gets a clear one). */
static int check_text(const char *path, const char *text, size_t len, struct err *e)
{
	long line = 1, col = 1;

	if (len > CONFIG_SIZE_MAX)
		return err_set(e, "%s: larger than %d bytes", path, CONFIG_SIZE_MAX);
	for (size_t i = 0; i < len; i++) {
		size_t n = 1;
		unsigned char c = (unsigned char)text[i];
		if (c >= 0x80)
			n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
		if (c == 0 || (c >= 0x80 && (i + n > len || !utf8_valid(text + i, n))))
			return err_set(e, "%s:%ld:%ld: not UTF-8 text", path, line, col);
		i += n - 1;
		if (c == '\n')
			line++, col = 1;
		else
			col++;
	}
	return 0;
}

struct ydoc *cfg_doc_parse(const char *name, const char *text, size_t len, struct err *e)
{
	if (check_text(name, text, len, e) != 0)
		return NULL;
	return ydoc_parse(name, text, len, e);
}

struct ydoc *cfg_doc_load(const char *path, struct err *e)
{
	FILE *f = fopen(path, "rb");
	struct strbuf b = STRBUF_INIT;
	char buf[65536];
	size_t n;

	if (!f) {
		err_set(e, "%s: cannot open: %m", path);
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && b.len <= CONFIG_SIZE_MAX)
		strbuf_add(&b, buf, n);
	fclose(f);
	struct ydoc *d = cfg_doc_parse(path, b.data ? b.data : "", b.len, e);
	strbuf_free(&b);
	return d;
}
