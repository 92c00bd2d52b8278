/*
 * lint: what a receiver's filters and a reader see in a campaign template,
 * checked before sending (`sluice check --template`): a From display name,
 * a visible unsubscribe link in the body, a text/plain part beside HTML,
 * the size, and MIME that holds together. Also lists the host names of the
 * template's links, for the URI blocklist check.
 */
#ifndef SLUICE_MSG_LINT_H
#define SLUICE_MSG_LINT_H

#include <stddef.h>

#include "msg/template.h"

enum lint_level { LINT_PASS, LINT_WARN, LINT_FAIL };

#define LINT_SIZE_WARN (100 * 1024) /* Gmail clips a message body past about 102 KB */
#define LINT_HOSTS_MAX 64
#define LINT_HOST_LEN  256

/* Called once per check with its verdict and what to do about it. */
typedef void (*lint_report_fn)(void *arg, enum lint_level level, const char *check,
                               const char *detail);

/* Lints a parsed template; bulk (campaign) mail must have an unsubscribe
 * link, transactional mail need not. */
void lint_template(const struct template *t, int bulk, lint_report_fn report, void *arg);

/* The distinct host names (lowercase) of the http(s) links in the
 * template's text parts, decoded, and of also (a URL every message carries,
 * e.g. the unsubscribe URL; NULL: none); a host made by a placeholder or an
 * IP literal is skipped. Returns how many were written (at most max). */
size_t lint_link_hosts(const struct template *t, const char *also, char (*hosts)[LINT_HOST_LEN],
                       size_t max);

#endif
