/*
 * address: see address.h. Hand-written because RFC 5321's mailbox grammar is
 * small and the libraries that parse addresses parse RFC 5322 headers, which
 * accept forms (comments, obsolete routes) that must not reach an envelope.
 */
#include "mail/address.h"

#include <ctype.h>
#include <idn2.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "util/xmalloc.h"

static int is_atext(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Checks the local part; sets *utf8 if it has non-ASCII bytes. */
static int check_local(const char *s, size_t n, int *utf8, struct err *e)
{
	*utf8 = 0;
	if (n == 0)
		return err_set(e, "empty local part");
	if (n > ADDRESS_LOCAL_MAX)
		return err_set(e, "local part longer than %d octets", ADDRESS_LOCAL_MAX);
	if (s[0] == '"') {
		if (n < 2 || s[n - 1] != '"')
			return err_set(e, "unterminated quoted local part");
		for (size_t i = 1; i < n - 1; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c == '\\') {
				if (++i >= n - 1)
					return err_set(e, "bad quoted pair in local part");
				continue;
			}
			if (c >= 0x80)
				*utf8 = 1;
			else if (c < 32 || c == 127 || c == '"')
				return err_set(e, "bad character in quoted local part");
		}
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (i == 0 || i == n - 1 || s[i - 1] == '.')
				return err_set(e, "misplaced dot in local part");
			continue;
		}
		if (!is_atext(c))
			return err_set(e, "bad character '%c' in local part", isprint(c) ? c : '?');
		if (c >= 0x80)
			*utf8 = 1;
	}
	return 0;
}

int domain_is_hostname(const char *d)
{
	size_t n = strlen(d), label = 0;
	int dots = 0;

	if (n == 0 || n > ADDRESS_DOMAIN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return 0;
			label = 0;
			dots++;
			continue;
		}
		if (!(isalnum(c) || c == '-') || c >= 0x80)
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	if (label == 0 || d[n - 1] == '-' || dots == 0)
		return 0;
	/* The last label of a real name is not all digits (that is an IP). */
	const char *tld = strrchr(d, '.') + 1;
	for (; *tld; tld++)
		if (!isdigit((unsigned char)*tld))
			return 1;
	return 0;
}

/* Converts the domain to lowercase A-labels into a new string. */
static char *domain_to_ascii(const char *s, size_t n, struct err *e)
{
	char *in = xstrndup(s, n), *out = NULL;
	int ascii = 1;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)in[i] >= 0x80)
			ascii = 0;
	if (ascii) {
		for (size_t i = 0; i < n; i++)
			in[i] = (char)tolower((unsigned char)in[i]);
		out = in;
	} else {
		int rc = idn2_to_ascii_8z(in, &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
		free(in);
		if (rc != IDN2_OK) {
			err_set(e, "bad international domain: %s", idn2_strerror(rc));
			return NULL;
		}
		char *copy = xstrdup(out); /* libidn2 allocates with its own malloc */
		idn2_free(out);
		out = copy;
		for (char *p = out; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	if (!domain_is_hostname(out)) {
		err_set(e, "bad domain '%s'", out);
		free(out);
		return NULL;
	}
	return out;
}

int address_parse(const char *s, size_t len, struct address *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return err_set(e, "empty address");
	if (len > ADDRESS_MAX * 4)
		return err_set(e, "address too long");
	const char *at = NULL;
	/* The last @ outside quotes separates local part and domain. */
	int quoted = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' && (i == 0 || s[i - 1] != '\\'))
			quoted = !quoted;
		else if (s[i] == '@' && !quoted)
			at = s + i;
	}
	if (!at)
		return err_set(e, "no @ in address");
	size_t nlocal = (size_t)(at - s), ndomain = len - nlocal - 1;
	if (ndomain == 0)
		return err_set(e, "empty domain");
	if (at[1] == '[')
		return err_set(e, "address literals are not accepted");
	int utf8;
	if (check_local(s, nlocal, &utf8, e) != 0)
		return -1;
	char *domain = domain_to_ascii(at + 1, ndomain, e);
	if (!domain)
		return -1;
	size_t total = nlocal + 1 + strlen(domain);
	if (total > ADDRESS_MAX) {
		free(domain);
		return err_set(e, "address longer than %d octets", ADDRESS_MAX);
	}
	out->mailbox = xmalloc(total + 1);
	memcpy(out->mailbox, s, nlocal);
	out->mailbox[nlocal] = '@';
	memcpy(out->mailbox + nlocal + 1, domain, strlen(domain) + 1);
	out->domain = domain;
	out->utf8_local = utf8;
	return 0;
}

void address_free(struct address *a)
{
	free(a->mailbox);
	free(a->domain);
	a->mailbox = a->domain = NULL;
}

void address_dedupe_key(const char *mailbox, int case_sensitive_local, char *out, size_t n)
{
	snprintf(out, n, "%s", mailbox);
	if (case_sensitive_local)
		return;
	for (char *p = out; *p && *p != '@'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}
