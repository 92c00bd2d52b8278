/*
 * address: RFC 5321 mailbox syntax, IDN domains (libidn2) and the
 * canonical form sluice queues, deduplicates and sends to.
 *
 * The canonical mailbox keeps the local part as written (local parts are
 * case-sensitive by the RFC) and writes the domain lowercase in A-labels.
 * Address literals ([1.2.3.4]) are refused: bulk mail goes to MX hosts.
 */
#ifndef SLUICE_MAIL_ADDRESS_H
#define SLUICE_MAIL_ADDRESS_H

#include <stddef.h>

#include "util/err.h"

#define ADDRESS_LOCAL_MAX  64
#define ADDRESS_DOMAIN_MAX 253
#define ADDRESS_MAX        254

struct address {
	char *mailbox;  /* "local@domain", domain in A-labels, lowercase; owned */
	char *domain;   /* the domain alone; owned */
	int utf8_local; /* the local part has non-ASCII: sending needs SMTPUTF8 */
};

/* Parses s (len bytes, no surrounding spaces or <>); 0 and fills out, or -1 with e set. */
int address_parse(const char *s, size_t len, struct address *out, struct err *e);
void address_free(struct address *a);

/* What makes two mailboxes one recipient: mailbox with its local part's
 * ASCII letters folded to lower case (as every large mailbox provider and
 * list tool treats them), unless case_sensitive_local; into out (at least
 * ADDRESS_MAX + 1 bytes). The domain is lowercase already. */
void address_dedupe_key(const char *mailbox, int case_sensitive_local, char *out, size_t n);

/* 1 if d is a valid hostname (LDH labels, at least one dot, ASCII): e.g. a HELO name. */
int domain_is_hostname(const char *d);

#endif
