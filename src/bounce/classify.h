/*
 * classify: what a reply means, as one category name for logs and reports.
 * Categories (DESIGN.md): invalid_recipient, mailbox_full, mailbox_disabled,
 * greylisted, rate_limited, reputation_block, spam_content, auth_failure,
 * policy_other, message_too_large, dns_or_routing, tls_required,
 * protocol_error, temporary_unavailable, other; "delivered" for 2xx.
 *
 * This first version is a short built-in rule list keyed on the enhanced
 * status code and a few text patterns. The data-driven rule table (shipped
 * file + config) is the bounce-handling issue's work.
 */
#ifndef SLUICE_BOUNCE_CLASSIFY_H
#define SLUICE_BOUNCE_CLASSIFY_H

/* stage is a stage name ("rcpt", "dns", ...); enhanced may be "" */
const char *classify_reply(const char *stage, int code, const char *enhanced, const char *text);

#endif
