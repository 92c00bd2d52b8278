/*
 * hygiene: what is wrong with an address before anything is sent to it,
 * beyond its syntax (mail/address.h) and duplicates (the queue's index):
 * a typo of a large mailbox provider's domain (gmial.com for gmail.com), or
 * a role account that no person reads for marketing (postmaster@, abuse@,
 * noreply@...). Both are skipped by default (config hygiene.*).
 */
#ifndef SLUICE_LIST_HYGIENE_H
#define SLUICE_LIST_HYGIENE_H

#include <stddef.h>

/* The provider domain that domain looks like a one-edit typo of (an
 * insertion, deletion, substitution or swap of adjacent letters), or NULL
 * when it is a known domain or like none. */
const char *hygiene_typo_of(const char *domain);
/* 1 if the local part (before any +tag, any case) is a role account. */
int hygiene_is_role(const char *mailbox);

struct config;
struct suppress;
struct address;
struct err;

/* Why a parsed address must be skipped before queueing: "typo" (detail: the
 * suggestion), "role_account" or "suppressed" (detail: the reason), as the
 * config's hygiene settings ask; NULL to keep it. sp may be NULL. Returns
 * NULL with e set and *failed = 1 if the suppression list cannot be read. */
const char *hygiene_screen(const struct config *cfg, struct suppress *sp, const struct address *a,
                           char *detail, size_t n, int *failed, struct err *e);
/* The same with suppressions checked for sender_domain (a tenant's) rather
 * than the config's from_domain. */
const char *hygiene_screen_for(const struct config *cfg, struct suppress *sp,
                               const char *sender_domain, const struct address *a, char *detail,
                               size_t n, int *failed, struct err *e);

#endif
