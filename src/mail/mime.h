/*
 * mime: just enough MIME (RFC 2045/2046, RFC 5322 headers) to read reports:
 * header fields (unfolded), Content-Type parameters, multipart bodies split
 * at their boundaries, and base64/quoted-printable bodies decoded. Every
 * walk is bounded (depth, part count, sizes); a malformed message yields
 * fewer parts, never a read outside the input.
 *
 * Hand-written rather than GMime: reports need a few header fields and the
 * part structure, and GMime would bring GLib's type system and allocator
 * into a libevent server for that. Fuzzed (fuzz/fuzz_report.c).
 */
#ifndef SLUICE_MAIL_MIME_H
#define SLUICE_MAIL_MIME_H

#include <stddef.h>

#include "util/strbuf.h"

#define MIME_DEPTH_MAX 6
#define MIME_PARTS_MAX 64

/* A view into the message: header block and body of one entity. */
struct mime_entity {
	const char *hdr;
	size_t hlen;
	const char *body;
	size_t blen;
};

/* Splits p (len bytes) at the first empty line. */
void mime_entity(const char *p, size_t len, struct mime_entity *out);
/* The first field called name (case-insensitive), unfolded and trimmed,
 * into out (reset first); 1 if found. */
int mime_header(const struct mime_entity *m, const char *name, struct strbuf *out);
/* The value of parameter param in a structured field value (Content-Type),
 * unquoted, into out (at most n bytes); 1 if found. */
int mime_param(const char *value, const char *param, char *out, size_t n);
/* The media type of m, lowercase, without parameters ("text/plain" when
 * absent). */
void mime_type(const struct mime_entity *m, char *out, size_t n);
/* The parts of multipart entity m (at most max); returns how many. */
size_t mime_parts(const struct mime_entity *m, struct mime_entity *parts, size_t max);
/* m's body with its Content-Transfer-Encoding undone, into out. */
void mime_decoded_body(const struct mime_entity *m, struct strbuf *out);

#endif
