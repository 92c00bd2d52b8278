/*
 * classify: what a reply means. One rule table (data/classify.yaml, built
 * into the binary, plus the config's 'classify' rules checked first) maps
 * (stage, code, enhanced code, text) to a category and a permanence
 * (DESIGN.md decision 6). Categories are enum category (mail/category.h,
 * one name table; a table naming another is a load error with its file and
 * line); a 2xx reply is CAT_DELIVERED. Every delivery-log record carries the
 * category; what it means for the recipient, the list and the site is
 * decided in one place, engine/outcome.h.
 */
#ifndef SLUICE_MAIL_CLASSIFY_H
#define SLUICE_MAIL_CLASSIFY_H

#include <stddef.h>

#include "mail/category.h"
#include "mail/config.h"
#include "mail/stage.h"
#include "util/err.h"

struct classifier;

struct classification {
	enum category category;
	int permanent;      /* 1: the condition is lasting (see data/classify.yaml) */
	const char *origin; /* the rule's file and line, or NULL for the fallback */
	int line;
};

/* The shipped table with extra (owned by the caller, outliving the
 * classifier) checked first; 0, or -1 with e naming the table's line. */
int classifier_new(const struct classify_rule *extra, size_t nextra, struct classifier **out,
                   struct err *e);
void classifier_free(struct classifier *c);

/* Classifies one reply at stage (STAGE_RCPT, STAGE_DNS, STAGE_DSN, ...);
 * enhanced may be "" or NULL, text may be NULL. */
void classify(const struct classifier *c, enum stage stage, int code, const char *enhanced,
              const char *text, struct classification *out);

/* The shipped table's text (data/classify.yaml). */
extern const char classify_table_yaml[];
extern const size_t classify_table_yaml_len;

#endif
