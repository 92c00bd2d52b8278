/*
 * plain: bounces that are not RFC 3464 reports, read by best effort (part
 * of parse.h's reading). Many MTAs (qmail, Exim, old Exchange, webmail
 * providers) write a text: the failed address, then the remote server's
 * reply, in their own layout; Amazon SES sends its notifications as JSON.
 *
 * plain_bounce_read scans the message's text parts (decoded) up to where
 * the returned original begins, and for each line holding a 4xx/5xx reply
 * (or a qmail-style "(#5.1.1)") makes a failed recipient: its address from
 * that line or the nearest one above it, else from X-Failed-Recipients;
 * the enhanced code from the reply, or from inside its text ("#5.1.1",
 * "[5.7.1]"). Bounded: BOUNCE_RCPTS_MAX recipients, PLAIN_TEXT_MAX bytes.
 */
#ifndef SLUICE_BOUNCE_PLAIN_H
#define SLUICE_BOUNCE_PLAIN_H

#include <stddef.h>

#include "mail/mime.h"
#include "bounce/parse.h"

#define PLAIN_TEXT_MAX (512 * 1024)

/* Fills r->rcpts from a non-standard bounce; the number found. */
size_t plain_bounce_read(const struct mime_entity *m, struct bounce_report *r);
/* An Amazon SES JSON notification (Bounce or Complaint) in m's text: 1 and
 * r filled (RK_DSN, or RK_ARF for a complaint), else 0. */
int plain_ses_message(const struct mime_entity *m, struct bounce_report *r);
/* An enhanced status code of class cls (0: any) inside text ("#5.1.1",
 * "(5.1.1", "[5.7.1]", "'5.7.1"), into out; 1 if found. */
int plain_enhanced_in(const char *text, int cls, char out[16]);

#endif
