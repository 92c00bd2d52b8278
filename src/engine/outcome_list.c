/*
 * outcome_list: the one effect of an outcome that two services share, the
 * list action (outcome.h) written through the suppression list
 * (store/suppress.h): by the scheduler for each attempt, by the inbound
 * service for each DSN. The decision is outcome.c's; this file only writes.
 */
#include "engine/outcome.h"

#include <stdio.h>

#include "store/suppress.h"

#define EVIDENCE_MAX 1000

int outcome_list_apply(struct suppress *sp, const struct suppression_policy *pol,
                       enum outcome_list act, const struct outcome_subject *who,
                       const char **action, struct err *e)
{
	const char *name = NULL;
	int suppress = 0, days = 0;
	int64_t span = 0;

	if (action)
		*action = NULL;
	if (act == OUTCOME_LIST_CLEAR) {
		int r = suppress_clear_strikes(sp, who->address, e);
		if (r < 0)
			return -1;
		name = r ? "cleared" : NULL;
	} else if (act == OUTCOME_LIST_SUPPRESS) {
		name = "hard_bounce";
		suppress = 1;
	} else if (act == OUTCOME_LIST_STRIKE || act == OUTCOME_LIST_SOFT_BOUNCE) {
		if (suppress_strike(sp, who->address,
		                    act == OUTCOME_LIST_STRIKE ? STRIKE_RCPT : STRIKE_SOFT,
		                    who->evidence, who->now_s, &days, &span, e) != 0)
			return -1;
		name = outcome_strike_verdict(pol, act, days, span, &suppress);
	}
	if (suppress) {
		char ev[EVIDENCE_MAX];
		snprintf(ev, sizeof(ev), "%s: %d %s", stage_name(who->stage), who->code,
		         who->evidence ? who->evidence : "");
		if (suppress_add(sp, who->address, who->scope, name, ev, who->now_s, e) < 0)
			return -1;
	}
	if (action)
		*action = name;
	return 0;
}
