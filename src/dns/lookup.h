/*
 * lookup: one DNS question at a time, answered before the call returns, for
 * commands that check things rather than deliver (sluice check): it runs the
 * resolver on its own event base until the answer is in. Never use it on the
 * delivery loop.
 */
#ifndef SLUICE_DNS_LOOKUP_H
#define SLUICE_DNS_LOOKUP_H

#include <stddef.h>

#include "util/err.h"

struct lookup;

enum lookup_status { LK_OK = 0, LK_NXDOMAIN, LK_NODATA, LK_TEMPFAIL };

/* Answers, owned by the caller (lookup_answers_free). */
struct lookup_answers {
	char **v;
	size_t n;
};

int lookup_new(char *const *servers, size_t nservers, int timeout_ms, int tries,
               struct lookup **out, struct err *e);
void lookup_free(struct lookup *l);
/* TXT records of name, each record's strings joined. */
enum lookup_status lookup_txt(struct lookup *l, const char *name, struct lookup_answers *out);
/* IPv4 addresses of name, printable. */
enum lookup_status lookup_a(struct lookup *l, const char *name, struct lookup_answers *out);
/* MX host names of name (preference order), "." for a null MX. */
enum lookup_status lookup_mx(struct lookup *l, const char *name, struct lookup_answers *out);
/* PTR names of an IPv4 or IPv6 address. */
enum lookup_status lookup_ptr(struct lookup *l, const char *ip, struct lookup_answers *out);
void lookup_answers_free(struct lookup_answers *a);
const char *lookup_status_name(enum lookup_status s);

#endif
