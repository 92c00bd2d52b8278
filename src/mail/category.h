/*
 * category: what a reply is about (DESIGN.md: the reply categories), as one
 * enum with one name table. The classifier (mail/classify.h) gives one per
 * reply; a 2xx is CAT_DELIVERED; CAT_SUPPRESSED marks a recipient ended
 * unsent because the list suppressed it after it was queued (never a
 * classifier's answer, never a config value), CAT_EXPIRED one ended unsent
 * at its own expiry (sluice send --expires-in, the list's expires_at). The
 * names are the strings
 * the delivery log prints (docs/delivery-log.md) and the config names.
 * CAT_NONE (0) is "no category" (an unset rule field, a record without one).
 */
#ifndef SLUICE_MAIL_CATEGORY_H
#define SLUICE_MAIL_CATEGORY_H

enum category {
	CAT_NONE = 0,
	CAT_DELIVERED,
	CAT_INVALID_RECIPIENT,
	CAT_MAILBOX_FULL,
	CAT_MAILBOX_DISABLED,
	CAT_GREYLISTED,
	CAT_RATE_LIMITED,
	CAT_REPUTATION_BLOCK,
	CAT_SPAM_CONTENT,
	CAT_AUTH_FAILURE,
	CAT_POLICY_OTHER,
	CAT_MESSAGE_TOO_LARGE,
	CAT_DNS_OR_ROUTING,
	CAT_TLS_REQUIRED,
	CAT_PROTOCOL_ERROR,
	CAT_TEMPORARY_UNAVAILABLE,
	CAT_OTHER,
	CAT_SUPPRESSED,
	CAT_EXPIRED,
	CAT_COUNT
};

/* The reply categories, CAT_DELIVERED to CAT_OTHER: what a classify rule
 * may give (and what the reply corpus must cover). */
#define CAT_REPLY_FIRST CAT_DELIVERED
#define CAT_REPLY_LAST  CAT_OTHER

/* The category's static name ("invalid_recipient"); NULL for CAT_NONE. */
const char *category_name(enum category c);
/* The reply category named s (CAT_REPLY_FIRST..CAT_REPLY_LAST): 0 and *out
 * set, or -1 if s names none. */
int category_parse(const char *s, enum category *out);

#endif
