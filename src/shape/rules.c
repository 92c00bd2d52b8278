/* rules: see rules.h. */
#include "shape/rules.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

#define MIN_MS (60 * 1000)

/* The shipped defaults: conservative, overridable by a config rule that
 * matches first. Sources: the providers' published postmaster pages. */
static const struct {
	const char *name, *text, *enhanced, *site;
	int code;
	int64_t suspend_ms;
	double factor;
	int64_t duration_ms;
	int action;
} builtin[] = {
    /* blocklist-style refusals: about the source IP, never the recipient
     * (source failover, shape/srcblock.h); checked before the throttles */
    {"blocklist-blocked-using", "blocked using|blocked by [^ ]*(bl|spamhaus|spamcop|sorbs)", NULL,
     NULL, 0, 0, 0, 0, RULE_BLOCK_SOURCE},
    {"blocklist-listed", "listed (at|in|on|by) [^ ]*[.][a-z]", NULL, NULL, 0, 0, 0, 0,
     RULE_BLOCK_SOURCE},
    {"blocklist-named",
     "spamhaus|spamcop|\\bsorbs\\b|barracudacentral|barracudanetworks[.]com/reputation|"
     "\\bRTR:BL\\b|\\[BL2[0-9]\\]",
     NULL, NULL, 0, 0, 0, 0, RULE_BLOCK_SOURCE},
    {"outlook-s3150", "S3150", NULL, NULL, 0, 0, 0, 0, RULE_BLOCK_SOURCE},
    {"outlook-5.7.606", NULL, "5.7.606", NULL, 0, 0, 0, 0, RULE_BLOCK_SOURCE},
    {"outlook-5.7.511", NULL, "5.7.511", NULL, 0, 0, 0, 0, RULE_BLOCK_SOURCE},
    /* throttling replies */
    {"outlook-rp", "RP-00[123]", NULL, NULL, 0, 15 * MIN_MS, 0.5, 15 * MIN_MS, RULE_THROTTLE},
    {"outlook-s3140", "S3140", NULL, NULL, 0, 30 * MIN_MS, 0.5, 30 * MIN_MS, RULE_THROTTLE},
    {"outlook-4.7.5xx", NULL, "4.7.5", "*.outlook.com", 0, 15 * MIN_MS, 0.5, 15 * MIN_MS,
     RULE_THROTTLE},
    {"outlook-4.7.6xx", NULL, "4.7.6", "*.outlook.com", 0, 15 * MIN_MS, 0.5, 15 * MIN_MS,
     RULE_THROTTLE},
    {"yahoo-tss04", "TSS04", NULL, NULL, 0, 30 * MIN_MS, 0.5, 30 * MIN_MS, RULE_THROTTLE},
    {"yahoo-ts0x", "\\bTS0[123]\\b", NULL, NULL, 0, 60 * MIN_MS, 0.25, 60 * MIN_MS, RULE_THROTTLE},
    {"gmail-4.7.28", NULL, "4.7.28", NULL, 0, 30 * MIN_MS, 0.5, 30 * MIN_MS, RULE_THROTTLE},
    {"unusual-rate", "unusual rate", NULL, NULL, 0, 30 * MIN_MS, 0.5, 30 * MIN_MS, RULE_THROTTLE},
    {"too-many-connections", "too many (concurrent )?connections|too many sessions", NULL, NULL, 0,
     0, 0.5, 10 * MIN_MS, RULE_THROTTLE},
    {"too-much-mail", "too much mail|rate limit|too many messages", NULL, NULL, 0, 10 * MIN_MS, 0.5,
     15 * MIN_MS, RULE_THROTTLE},
};

#define NBUILTIN (sizeof(builtin) / sizeof(builtin[0]))

/* Listings of a domain or a link in the message (not the source IP):
 * another source would not help, so no built-in block_source rule fires. */
#define NOT_THE_SOURCE                                                                             \
	"\\bdbl\\b|uribl|surbl|domain (is )?(black|block)?listed|(sender|domain|url|link)[^.;]* "  \
	"listed"

struct rules {
	const struct reply_rule *conf;
	size_t nconf;
	struct reply_rule built[NBUILTIN];
	struct pattern not_the_source;
};

int rules_new(const struct config *c, struct rules **out, struct err *e)
{
	struct rules *r = xcalloc(1, sizeof(*r));

	r->conf = c->rules;
	r->nconf = c->nrules;
	if (pattern_compile(&r->not_the_source, NOT_THE_SOURCE, e) != 0) {
		free(r);
		return -1;
	}
	for (size_t i = 0; i < NBUILTIN; i++) {
		struct reply_rule *b = &r->built[i];
		b->name = xstrdup(builtin[i].name);
		b->enhanced = builtin[i].enhanced ? xstrdup(builtin[i].enhanced) : NULL;
		b->site = builtin[i].site ? xstrdup(builtin[i].site) : NULL;
		b->code = builtin[i].code;
		b->suspend_ms = builtin[i].suspend_ms;
		b->factor = builtin[i].factor;
		b->duration_ms = builtin[i].duration_ms;
		b->action = builtin[i].action;
		b->block_ms = b->action == RULE_BLOCK_SOURCE ? RULE_BLOCK_DEFAULT_MS : 0;
		b->trigger_count = 1;
		if (builtin[i].text && pattern_compile(&b->text, builtin[i].text, e) != 0) {
			rules_free(r);
			return -1;
		}
	}
	*out = r;
	return 0;
}

void rules_free(struct rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < NBUILTIN; i++)
		config_rule_free(&r->built[i]);
	pattern_free(&r->not_the_source);
	free(r);
}

static int matches(const struct reply_rule *rule, enum stage stage, const struct reply *reply,
                   const char *mx_host)
{
	if (rule->code && rule->code != reply->code)
		return 0;
	if (rule->enhanced && strncmp(reply->enhanced, rule->enhanced, strlen(rule->enhanced)))
		return 0;
	if (!stage_mask_has(rule->stages, stage))
		return 0;
	if (rule->site && (!mx_host || fnmatch(rule->site, mx_host, FNM_CASEFOLD) != 0))
		return 0;
	if (!pattern_match(&rule->text, reply->text))
		return 0;
	return 1;
}

const struct reply_rule *rules_match(const struct rules *r, enum stage stage,
                                     const struct reply *reply, const char *mx_host)
{
	if (reply->code / 100 == 2)
		return NULL;
	for (size_t i = 0; i < r->nconf; i++)
		if (matches(&r->conf[i], stage, reply, mx_host))
			return &r->conf[i];
	int not_source = r->not_the_source.text && pattern_match(&r->not_the_source, reply->text);
	for (size_t i = 0; i < NBUILTIN; i++) {
		if (not_source && r->built[i].action == RULE_BLOCK_SOURCE)
			continue;
		if (matches(&r->built[i], stage, reply, mx_host))
			return &r->built[i];
	}
	return NULL;
}
