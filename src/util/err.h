/*
 * err: the error a library function hands back to its caller.
 * Library code never prints; it fills a struct err and returns non-zero.
 * The message names the place (file:line:column, CSV row, remote host).
 */
#ifndef SLUICE_UTIL_ERR_H
#define SLUICE_UTIL_ERR_H

#define ERR_MSG_MAX 512

struct err {
	char msg[ERR_MSG_MAX];
};

/* Formats into e->msg (truncating); returns -1 so callers can `return err_set(...)`. */
int err_set(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
