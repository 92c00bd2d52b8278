/*
 * parse: what an inbound message to the bounce domain is. A delivery status
 * notification (RFC 3464 multipart/report; report-type=delivery-status), a
 * feedback report (RFC 5965 ARF; an auth-failure report, RFC 6591, is kept
 * apart from complaints), an auto-reply (RFC 3834 Auto-Submitted, vacation
 * and out-of-office forms, which are not bounces), a non-standard bounce
 * read by best effort (a mailer-daemon message with an SMTP reply in its
 * text), or unknown. The original message's identifiers (Message-ID,
 * Return-Path, List-Unsubscribe, To) are kept when the report carries it,
 * for mapping the report back to a recipient.
 */
#ifndef SLUICE_BOUNCE_PARSE_H
#define SLUICE_BOUNCE_PARSE_H

#include <stddef.h>

#define BOUNCE_RCPTS_MAX 16
#define BOUNCE_FIELD_MAX 256
/* The parse is bounded whatever the input: field groups read in a
 * delivery-status part, and MIME entities visited in all. Each costs a
 * pass over its own bytes only, so a report costs O(size x depth). */
#define BOUNCE_GROUPS_MAX   64
#define BOUNCE_ENTITIES_MAX 256

enum bounce_kind { RK_UNKNOWN = 0, RK_DSN, RK_ARF, RK_AUTOREPLY, RK_BOUNCE_GUESS };

struct bounce_rcpt {
	char original[BOUNCE_FIELD_MAX],
	    final[BOUNCE_FIELD_MAX]; /* addresses, type prefix removed */
	char action[32];
	char status[32];       /* "5.1.1", comment removed */
	char diagnostic[1024]; /* the reply text, type prefix removed, unfolded */
	char remote_mta[BOUNCE_FIELD_MAX];
	int code;          /* from the diagnostic, or 0 */
	char enhanced[16]; /* from the diagnostic, or the status */
};

struct bounce_report {
	enum bounce_kind kind;
	char from[BOUNCE_FIELD_MAX], subject[BOUNCE_FIELD_MAX];
	char reporting_mta[BOUNCE_FIELD_MAX];
	struct bounce_rcpt rcpts[BOUNCE_RCPTS_MAX];
	size_t nrcpts;
	/* ARF */
	char feedback_type[64], user_agent[128], auth_failure[64];
	char original_rcpt[BOUNCE_FIELD_MAX], original_mail_from[BOUNCE_FIELD_MAX];
	char source_ip[64];
	/* the original message, when attached (message/rfc822 or text/rfc822-headers) */
	char orig_message_id[BOUNCE_FIELD_MAX], orig_return_path[BOUNCE_FIELD_MAX];
	char orig_to[BOUNCE_FIELD_MAX], orig_list_unsubscribe[512];
	char why[200]; /* how it was recognised (auto-reply, guess, unknown) */
};

/* Reads msg (len bytes, CRLF or LF). Never fails: an unreadable message is
 * RK_UNKNOWN with why set. */
void bounce_parse(const char *msg, size_t len, struct bounce_report *out);
const char *bounce_kind_name(enum bounce_kind k);
/* The SMTP reply in a diagnostic text ("smtp; 550-5.1.1 ...", "host x
 * said: 550 ..."): its code (0 if none), enhanced code and where the text
 * starts. */
int bounce_reply_in(const char *diag, char enhanced[16], const char **text);

#endif
