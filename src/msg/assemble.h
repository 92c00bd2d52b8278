/*
 * assemble: one recipient's message as it goes on the wire, in one place:
 * its Message-ID (verp_message_id), its List-Unsubscribe headers and
 * {{unsubscribe_url}} link (verp_unsubscribe_headers), the template
 * rendered with its merge fields and Date, what the transaction needs
 * from the receiver (8BITMIME, SMTPUTF8) and its envelope sender (a VERP
 * return path under bounce.domain, else the campaign's envelope sender).
 * The engine assembles every message it sends with it and `sluice send
 * --dry-run` shows its first one with it, so the two cannot drift apart.
 * DKIM signing is not part of it: the engine signs on worker threads.
 * Sits in src/msg, above mail/config and beside template and verp.
 */
#ifndef SLUICE_MSG_ASSEMBLE_H
#define SLUICE_MSG_ASSEMBLE_H

#include <stddef.h>
#include <stdint.h>

#include "mail/config.h"
#include "msg/template.h"
#include "util/err.h"
#include "util/strbuf.h"

#define ASSEMBLE_MSGID_MAX     320 /* bytes of a Message-ID, "<...>" and its NUL */
#define ASSEMBLE_MAIL_FROM_MAX 300 /* bytes of the envelope sender and its NUL */

struct assemble_in {
	const struct config *cfg;   /* secret, from_domain, bounce and unsubscribe settings */
	const struct template *tpl; /* parsed and bound to the list's columns */
	const char *salt;           /* the campaign's (verp.h) */
	const char *envelope_from;  /* the campaign's envelope sender, used without bounce.domain */
	int64_t rcpt_id;            /* the recipient's row id: names it in VERP tokens */
	const char *fields;         /* its merge fields, packed (mail/fields.h) */
	size_t fields_len;
	int utf8;               /* its address has a UTF-8 local part: needs SMTPUTF8 */
	int64_t date_s;         /* for the Date header when the template has none */
	const char *message_id; /* a fixed "<...>" (the dry run's); NULL: the recipient's own */
	/* A submitted message (raw != NULL): sent as it is, after the
	 * List-Unsubscribe lines when list_unsubscribe asks and it has none;
	 * its own Message-ID names it; the envelope sender is a VERP return
	 * path when verp asks (and bounce.domain is set), else envelope_from.
	 * tpl and fields are not used. */
	const char *raw;
	size_t raw_len;
	int verp, list_unsubscribe;
	/* Feedback-ID (Gmail's feedback loop): "CAMPAIGN:TENANT:KIND:SENDER",
	 * each part made of letters, digits, '.', '_' and '-'; added unless the
	 * message has its own. NULL: none. assemble_feedback_id makes one. */
	const char *feedback_id;
};

#define ASSEMBLE_FEEDBACK_ID_MAX 200

/* The Feedback-ID value for a campaign of tenant, kind ("bulk",
 * "transactional", "submitted") and sender domain, into out. */
void assemble_feedback_id(const char *campaign, const char *tenant, const char *kind,
                          const char *sender, char *out, size_t n);

struct assembled {
	struct strbuf *data; /* the caller's buffer: gets the message (unsigned) */
	char message_id[ASSEMBLE_MSGID_MAX];
	char mail_from[ASSEMBLE_MAIL_FROM_MAX]; /* the envelope sender: MAIL FROM */
	unsigned needs;                         /* RENDER_8BITMIME | RENDER_SMTPUTF8 */
};

/* Assembles in's message into out (out->data replaced); 0, or -1 with e as
 * template_render said (a line over 998 octets, a missing field): then
 * out->message_id is set and out->mail_from is "". */
int assemble_message(const struct assemble_in *in, struct assembled *out, struct err *e);

#endif
