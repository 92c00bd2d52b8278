/*
 * header_encode: the template's own header text made 7-bit. Raw UTF-8 in a
 * Subject or a From display name would need SMTPUTF8 from every receiver
 * (RFC 6532), and many do not offer it; as list managers do (and Postfix's
 * SMTPUTF8 notes advise), text that is not an address becomes RFC 2047
 * encoded words, so only a UTF-8 address itself needs SMTPUTF8.
 *
 * Rewrites the top-level header block of a CRLF message: in address fields
 * (From, To, Cc, Bcc, Reply-To, Sender) the display names, quoted or not;
 * in every other field except the MIME and trace ones, the words that
 * carry 8-bit bytes. Addresses, placeholders ({{...}}) and ASCII text are
 * left as written; a word that mixes a placeholder and 8-bit bytes is left
 * raw (it then needs SMTPUTF8, as before).
 */
#ifndef SLUICE_MSG_HEADER_ENCODE_H
#define SLUICE_MSG_HEADER_ENCODE_H

#include <stddef.h>

#include "util/strbuf.h"

/* RFC 2047 B-encoded words of UTF-8 text v (n bytes), each at most 75
 * characters, folded with CRLF SP between them; appended to out. */
void header_encoded_words(struct strbuf *out, const char *v, size_t n);
/* 1 and out holds the message with its header block rewritten when any
 * header text was 8-bit; 0 (out untouched) when nothing needed it. */
int header_encode_8bit(const char *msg, size_t len, struct strbuf *out);

#endif
