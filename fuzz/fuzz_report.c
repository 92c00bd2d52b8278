/* libFuzzer target: inbound reports (DSN, ARF, auto-replies, bounces), i.e.
 * the MIME walker and the report reader, on whatever a sender can mail us. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounce/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so that a read past the end is caught */
	char *msg = malloc(size ? size : 1);
	struct bounce_report *r = malloc(sizeof(*r));

	memcpy(msg, data, size);
	bounce_parse(msg, size, r);
	free(r);
	free(msg);
	return 0;
}
