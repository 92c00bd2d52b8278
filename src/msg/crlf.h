/*
 * crlf: a message's line ends, all CRLF. A bare CR or a bare LF in what is
 * sent is how SMTP smuggling works: a receiver that takes either as a line
 * end would see "<LF>.<LF>" or "<CR>.<CR>" end the message where sluice did
 * not, and read what follows as a second message from our IP. So sluice
 * never sends one: a message is normalized when it is assembled (before
 * DKIM signs it) and checked again as it is written (smtp/transaction.c).
 */
#ifndef SLUICE_MSG_CRLF_H
#define SLUICE_MSG_CRLF_H

#include <stddef.h>

#include "util/strbuf.h"

/* 1 if every CR in p[0..n) is followed by LF and every LF preceded by CR. */
int crlf_only(const char *p, size_t n);
/* Makes each bare CR and each bare LF of b a CRLF (b unchanged when it is
 * already crlf_only). */
void crlf_normalize(struct strbuf *b);

#endif
