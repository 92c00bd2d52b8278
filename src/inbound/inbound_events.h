/*
 * inbound_events: the events of what inbound learns (store/events.h):
 * "complained" (an ARF abuse or fraud report), "unsubscribed" (one-click,
 * link or mailto), "bounced" at stage dsn (a DSN or a bounce reporting a
 * failed delivery). Written into the store's open transaction, which the
 * caller commits with the rest (inbound_apply, unsubscribe). Private to
 * src/inbound.
 */
#ifndef SLUICE_INBOUND_EVENTS_H
#define SLUICE_INBOUND_EVENTS_H

#include "inbound/inbound.h"
#include "mail/classify.h"
#include "util/err.h"

/* The event of res (its recipient and campaign found): type, and the
 * reply a report quoted (code 0: none) with its classification c (may be
 * NULL). 0 or -1. */
int inbound_event(struct inbound *in, const struct inbound_result *res, const char *type, int code,
                  const char *enh, const char *text, const struct classification *c, struct err *e);

#endif
