/* category: see category.h. */
#include "mail/category.h"

#include <string.h>

static const char *const names[CAT_COUNT] = {
    [CAT_NONE] = NULL,
    [CAT_DELIVERED] = "delivered",
    [CAT_INVALID_RECIPIENT] = "invalid_recipient",
    [CAT_MAILBOX_FULL] = "mailbox_full",
    [CAT_MAILBOX_DISABLED] = "mailbox_disabled",
    [CAT_GREYLISTED] = "greylisted",
    [CAT_RATE_LIMITED] = "rate_limited",
    [CAT_REPUTATION_BLOCK] = "reputation_block",
    [CAT_SPAM_CONTENT] = "spam_content",
    [CAT_AUTH_FAILURE] = "auth_failure",
    [CAT_POLICY_OTHER] = "policy_other",
    [CAT_MESSAGE_TOO_LARGE] = "message_too_large",
    [CAT_DNS_OR_ROUTING] = "dns_or_routing",
    [CAT_TLS_REQUIRED] = "tls_required",
    [CAT_PROTOCOL_ERROR] = "protocol_error",
    [CAT_TEMPORARY_UNAVAILABLE] = "temporary_unavailable",
    [CAT_OTHER] = "other",
    [CAT_SUPPRESSED] = "suppressed",
    [CAT_EXPIRED] = "expired",
};

const char *category_name(enum category c)
{
	return (unsigned)c < CAT_COUNT ? names[c] : NULL;
}

int category_parse(const char *s, enum category *out)
{
	for (int i = CAT_REPLY_FIRST; i <= CAT_REPLY_LAST; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum category)i;
			return 0;
		}
	return -1;
}
