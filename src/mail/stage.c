/* stage: see stage.h. */
#include "mail/stage.h"

#include <string.h>

static const char *const names[STAGE_COUNT] = {
    [STAGE_CONNECT] = "connect",   [STAGE_BANNER] = "banner",   [STAGE_EHLO] = "ehlo",
    [STAGE_STARTTLS] = "starttls", [STAGE_MAIL] = "mail",       [STAGE_RCPT] = "rcpt",
    [STAGE_DATA] = "data",         [STAGE_DOT] = "dot",         [STAGE_RSET] = "rset",
    [STAGE_QUIT] = "quit",         [STAGE_DNS] = "dns",         [STAGE_RENDER] = "render",
    [STAGE_LOAD] = "load",         [STAGE_EXPIRY] = "expiry",   [STAGE_DSN] = "dsn",
    [STAGE_WARMUP] = "warmup",     [STAGE_MONITOR] = "monitor", [STAGE_INBOUND] = "inbound",
};

const char *stage_name(enum stage s)
{
	return (unsigned)s < STAGE_COUNT ? names[s] : NULL;
}

int stage_parse(const char *s, enum stage *out)
{
	for (int i = 0; i < STAGE_COUNT; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum stage)i;
			return 0;
		}
	return -1;
}

int stage_in_rules(enum stage s)
{
	return s <= STAGE_DOT || s == STAGE_DNS || s == STAGE_RENDER || s == STAGE_DSN;
}
