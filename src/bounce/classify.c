/* classify: see classify.h. */
#include "bounce/classify.h"

#include <string.h>

struct text_rule {
	const char *needle; /* matched case-insensitively */
	const char *category;
};

/* First match wins; checked before the enhanced code, since providers often
 * send a generic code (5.7.1, 4.7.0) with a telling text. */
static const struct text_rule text_rules[] = {
    {"greylist", "greylisted"},
    {"grey-list", "greylisted"},
    {"try again later", "greylisted"},
    {"rate limit", "rate_limited"},
    {"too many", "rate_limited"},
    {"unusual rate", "rate_limited"},
    {"too much mail", "rate_limited"},
    {"unexpected volume", "rate_limited"},
    {"user unknown", "invalid_recipient"},
    {"unknown user", "invalid_recipient"},
    {"no such user", "invalid_recipient"},
    {"does not exist", "invalid_recipient"},
    {"mailbox unavailable", "invalid_recipient"},
    {"mailbox full", "mailbox_full"},
    {"over quota", "mailbox_full"},
    {"quota exceeded", "mailbox_full"},
    {"spamhaus", "reputation_block"},
    {"blocklist", "reputation_block"},
    {"blacklist", "reputation_block"},
    {"reputation", "reputation_block"},
    {"spam", "spam_content"},
};

const char *classify_reply(const char *stage, int code, const char *enhanced, const char *text)
{
	if (code / 100 == 2)
		return "delivered";
	if (strcmp(stage, "dns") == 0)
		return "dns_or_routing";
	for (size_t i = 0; i < sizeof(text_rules) / sizeof(text_rules[0]); i++)
		if (text && strcasestr(text, text_rules[i].needle))
			return text_rules[i].category;
	const char *sub = enhanced && enhanced[0] ? strchr(enhanced, '.') : NULL;
	if (sub) {
		sub++;
		if (strcmp(sub, "1.1") == 0 || strcmp(sub, "1.0") == 0 || strcmp(sub, "1.3") == 0 ||
		    strcmp(sub, "1.6") == 0 || strcmp(sub, "1.10") == 0)
			return "invalid_recipient";
		if (strcmp(sub, "1.2") == 0 || strncmp(sub, "4.", 2) == 0)
			return strcmp(sub, "4.4") == 0 && code / 100 == 4 ? "temporary_unavailable"
			                                                  : "dns_or_routing";
		if (strcmp(sub, "2.2") == 0)
			return "mailbox_full";
		if (strcmp(sub, "2.1") == 0)
			return "mailbox_disabled";
		if (strcmp(sub, "2.3") == 0 || strcmp(sub, "3.4") == 0)
			return "message_too_large";
		if (strcmp(sub, "7.10") == 0 || strcmp(sub, "7.11") == 0)
			return "tls_required";
		if (strncmp(sub, "7.2", 3) == 0 && sub[3] >= '3' && sub[3] <= '9')
			return "auth_failure"; /* 5.7.23..29: SPF/DKIM/DMARC */
		if (strncmp(sub, "7.", 2) == 0)
			return "policy_other";
		if (strncmp(sub, "5.", 2) == 0 || strncmp(sub, "6.", 2) == 0)
			return "protocol_error";
		if (strncmp(sub, "3.", 2) == 0)
			return "temporary_unavailable";
	}
	if (code == 421 || code == 450 || code == 451)
		return "temporary_unavailable";
	if (code == 500 || code == 501 || code == 502 || code == 503 || code == 504)
		return "protocol_error";
	if (code == 552)
		return "message_too_large";
	return "other";
}
