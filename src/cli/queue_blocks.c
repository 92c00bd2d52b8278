/* queue_blocks: the source blocks of source failover in `sluice queue`
 * (store/srcblock.h): which source is blocked where, until when, why. */
#include <stdio.h>

#include "cli/cli.h"
#include "store/srcblock.h"
#include "util/when.h"

static void print_block(void *arg, const struct store_srcblock *b)
{
	int *n = arg;
	char until[WHEN_TEXT_MAX];

	if ((*n)++ == 0)
		printf("\nsource blocks (source failover)\n");
	when_format(b->until_s, until, sizeof(until));
	printf("source %s blocked at %s until %s by rule %s: %s\n", b->source_ip, b->site, until,
	       b->rule, b->reply);
}

int cli_print_source_blocks(struct store *st, int64_t now_s, struct err *e)
{
	int n = 0;
	return store_srcblock_list(st, now_s, print_block, &n, e);
}
