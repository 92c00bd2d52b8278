/* classify: see classify.h. */
#include "mail/classify.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

#define SHIPPED_NAME "data/classify.yaml"

struct classifier {
	const struct classify_rule *extra;
	size_t nextra;
	struct classify_rule *shipped; /* owned */
	size_t nshipped;
};

int classifier_new(const struct classify_rule *extra, size_t nextra, struct classifier **out,
                   struct err *e)
{
	struct classifier *c = xcalloc(1, sizeof(*c));

	c->extra = extra;
	c->nextra = nextra;
	if (config_classify_parse(SHIPPED_NAME, classify_table_yaml, classify_table_yaml_len,
	                          &c->shipped, &c->nshipped, e) != 0) {
		classifier_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void classifier_free(struct classifier *c)
{
	if (!c)
		return;
	config_classify_free(c->shipped, c->nshipped);
	free(c);
}

/* Part-by-part prefix match: "x.1.1" matches 5.1.1 and 4.1.1, not 5.1.10;
 * "5.7" matches 5.7.1 and 5.7.26. */
static int enhanced_matches(const char *pat, const char *code)
{
	while (*pat) {
		if (!*code)
			return 0;
		if (*pat == 'x' || *pat == 'X') {
			pat++;
			while (isdigit((unsigned char)*code))
				code++;
		} else {
			while (isdigit((unsigned char)*pat) && *pat == *code)
				pat++, code++;
			if (isdigit((unsigned char)*pat) || isdigit((unsigned char)*code))
				return 0;
		}
		if (*pat == '.') {
			if (*code != '.')
				return 0;
			pat++, code++;
		}
	}
	return 1;
}

static int rule_matches(const struct classify_rule *r, enum stage stage, int code,
                        const char *enhanced, const char *text)
{
	if (!stage_mask_has(r->stages, stage))
		return 0;
	if (r->code && (r->code < 10 ? code / 100 != r->code : code != r->code))
		return 0;
	if (r->enhanced && !enhanced_matches(r->enhanced, enhanced))
		return 0;
	return pattern_match(&r->text, text);
}

static int first_match(const struct classify_rule *rules, size_t n, enum stage stage, int code,
                       const char *enhanced, const char *text, struct classification *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct classify_rule *r = &rules[i];
		if (!rule_matches(r, stage, code, enhanced, text))
			continue;
		out->category = r->category;
		out->permanent = r->permanence ? r->permanence == PERM_PERMANENT : code / 100 == 5;
		out->origin = r->origin;
		out->line = r->line;
		return 1;
	}
	return 0;
}

void classify(const struct classifier *c, enum stage stage, int code, const char *enhanced,
              const char *text, struct classification *out)
{
	if (!enhanced)
		enhanced = "";
	if (!text)
		text = "";
	memset(out, 0, sizeof(*out));
	if (code / 100 == 2) {
		out->category = CAT_DELIVERED;
		return;
	}
	if (first_match(c->extra, c->nextra, stage, code, enhanced, text, out) ||
	    first_match(c->shipped, c->nshipped, stage, code, enhanced, text, out))
		return;
	out->category = CAT_OTHER;
	out->permanent = code / 100 == 5;
}
