/* hygiene: see hygiene.h. */
#include "list/hygiene.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "store/suppress.h"
#include "mail/address.h"
#include "mail/config.h"

/* Domains of large mailbox providers. A domain one edit away from one of
 * them is reported as its typo, unless it is in this list itself (mail.com
 * and gmail.com are one edit apart; both are real). */
static const char *const providers[] = {
    "gmail.com",   "googlemail.com", "yahoo.com",   "ymail.com",      "rocketmail.com",
    "hotmail.com", "outlook.com",    "live.com",    "msn.com",        "aol.com",
    "icloud.com",  "me.com",         "mac.com",     "comcast.net",    "verizon.net",
    "att.net",     "sbcglobal.net",  "gmx.com",     "gmx.de",         "gmx.net",
    "web.de",      "mail.com",       "yahoo.co.uk", "hotmail.co.uk",  "yahoo.fr",
    "hotmail.fr",  "orange.fr",      "free.fr",     "laposte.net",    "mail.ru",
    "yandex.ru",   "protonmail.com", "proton.me",   "zoho.com",       "qq.com",
    "163.com",     "t-online.de",    "libero.it",   "btinternet.com", "cox.net",
    "charter.net", "bellsouth.net",  "shaw.ca",     "rogers.com",     "yahoo.de",
    "hotmail.de",  "outlook.de",     "live.co.uk",  "aim.com",        "fastmail.com",
};
#define NPROVIDERS (sizeof(providers) / sizeof(providers[0]))

/* 1 if a and b (lengths la, lb) are exactly one edit apart: insertion,
 * deletion, substitution or transposition of two adjacent characters. */
static int one_edit(const char *a, size_t la, const char *b, size_t lb)
{
	size_t i = 0;

	if (la > lb + 1 || lb > la + 1)
		return 0;
	while (i < la && i < lb && a[i] == b[i])
		i++;
	if (la == lb) {
		if (i == la)
			return 0; /* equal */
		if (strcmp(a + i + 1, b + i + 1) == 0)
			return 1; /* substitution */
		return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] &&
		       strcmp(a + i + 2, b + i + 2) == 0; /* swap */
	}
	if (la > lb)
		return strcmp(a + i + 1, b + i) == 0; /* a has one more */
	return strcmp(a + i, b + i + 1) == 0;
}

const char *hygiene_typo_of(const char *domain)
{
	size_t n = strlen(domain);
	const char *hit = NULL;

	for (size_t i = 0; i < NPROVIDERS; i++)
		if (strcasecmp(domain, providers[i]) == 0)
			return NULL;
	for (size_t i = 0; i < NPROVIDERS && !hit; i++)
		if (one_edit(domain, n, providers[i], strlen(providers[i])))
			hit = providers[i];
	return hit;
}

int hygiene_is_role(const char *mailbox)
{
	static const char *const roles[] = {
	    "postmaster",    "abuse",    "hostmaster", "webmaster",    "noreply",
	    "no-reply",      "no_reply", "donotreply", "do-not-reply", "do_not_reply",
	    "mailer-daemon", "nobody",   "root",       "devnull",      "bounce",
	    "bounces",       "spam",     "security",   "list-request", "majordomo",
	    "listserv",
	};
	size_t n = strcspn(mailbox, "+@");

	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strlen(roles[i]) == n && strncasecmp(mailbox, roles[i], n) == 0)
			return 1;
	return 0;
}

const char *hygiene_screen(const struct config *cfg, struct suppress *sp, const struct address *a,
                           char *detail, size_t n, int *failed, struct err *e)
{
	return hygiene_screen_for(cfg, sp, cfg->from_domain, a, detail, n, failed, e);
}

const char *hygiene_screen_for(const struct config *cfg, struct suppress *sp,
                               const char *sender_domain, const struct address *a, char *detail,
                               size_t n, int *failed, struct err *e)
{
	const char *typo;
	char reason[32];

	detail[0] = '\0';
	*failed = 0;
	if (cfg->skip_typos && (typo = hygiene_typo_of(a->domain))) {
		snprintf(detail, n, "did you mean %s?", typo);
		return "typo";
	}
	if (cfg->skip_role_accounts && hygiene_is_role(a->mailbox))
		return "role_account";
	if (sp) {
		int r = suppress_check(sp, a->mailbox, sender_domain, reason, e);
		if (r < 0) {
			*failed = 1;
			return NULL;
		}
		if (r == 1) {
			snprintf(detail, n, "%s", reason);
			return "suppressed";
		}
	}
	return NULL;
}
