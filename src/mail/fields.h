/*
 * fields: a recipient's merge fields packed in one blob, in the order of the
 * list's header row: for each field a 4-byte little-endian length, then the
 * bytes. The queue stores the blob as is; the renderer reads field i in O(i)
 * without parsing JSON per message.
 */
#ifndef SLUICE_MAIL_FIELDS_H
#define SLUICE_MAIL_FIELDS_H

#include <stddef.h>

#include "util/strbuf.h"

void fields_add(struct strbuf *blob, const char *value, size_t len);
/* Field i of blob, or NULL if the blob has fewer fields (or is corrupt). */
const char *fields_get(const char *blob, size_t bloblen, size_t i, size_t *len);

/* Names are packed the same way (the header row, stored once per campaign). */

#endif
