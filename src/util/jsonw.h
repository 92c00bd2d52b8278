/*
 * jsonw: a flat JSON object written straight into a strbuf, for the
 * delivery path's events (engine/events.c), thousands a second. Written by
 * hand rather than with jansson because jansson's object model allocates
 * per field and sorts on output: building each event with it cost a third
 * of what an event costs in all (BENCHMARKS.md). Only what events need: a
 * flat object of strings and integers. Strings that are not UTF-8 have
 * their stray bytes written \xNN (util/utf8.h), then JSON-escaped; control
 * characters are \u00XX. Reading JSON stays jansson's.
 */
#ifndef SLUICE_UTIL_JSONW_H
#define SLUICE_UTIL_JSONW_H

#include <stdint.h>

#include "util/strbuf.h"

/* "{" (b reset first). */
void jsonw_begin(struct strbuf *b);
/* A member; a NULL v writes nothing. */
void jsonw_str(struct strbuf *b, const char *k, const char *v);
void jsonw_int(struct strbuf *b, const char *k, int64_t v);
/* "}". */
void jsonw_end(struct strbuf *b);

#endif
