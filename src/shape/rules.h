/*
 * rules: reply rules, the automation that reacts to throttling replies.
 * The config's rules are checked first, then the built-in ones (the known
 * throttling replies of the large providers; docs/configuration.md lists
 * them). A match tells the site's throttle what to do (shape/throttle.h).
 */
#ifndef SLUICE_SHAPE_RULES_H
#define SLUICE_SHAPE_RULES_H

#include <stddef.h>

#include "mail/config.h"
#include "mail/reply.h"
#include "mail/stage.h"
#include "util/err.h"

struct rules;

/* Compiles the built-in rules after the config's (borrowed: c must outlive). */
int rules_new(const struct config *c, struct rules **out, struct err *e);
void rules_free(struct rules *r);
/* The first rule that matches a reply at stage from an MX host, or NULL. */
const struct reply_rule *rules_match(const struct rules *r, enum stage stage,
                                     const struct reply *reply, const char *mx_host);

#endif
