/*
 * preview: one recipient's message as `sluice send --dry-run` shows it and
 * the template golden files (tests/golden/template) pin down: an envelope
 * line, "MAIL FROM:<return path> RCPT TO:<mailbox>" with " BODY=8BITMIME"
 * and " SMTPUTF8" when the transaction needs them, then the message as the
 * engine assembles it (msg/assemble.h; a real campaign has its own salt and
 * row ids, the preview uses "0" and 1 and the Message-ID
 * <dry-run@from_domain>), DKIM-signed when the config signs.
 */
#ifndef SLUICE_MSG_PREVIEW_H
#define SLUICE_MSG_PREVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/strbuf.h"

struct address;
struct config;
struct template;

/* Appends the preview of the row (packed fields, mail/fields.h) for rcpt
 * to out, dated date_s. 0; -1 the template cannot be rendered for this
 * row; -2 the message cannot be signed (e set either way). */
int preview_render(const struct config *cfg, const struct template *tpl, const struct address *rcpt,
                   const char *fields, size_t fields_len, int64_t date_s, struct strbuf *out,
                   struct err *e);

#endif
