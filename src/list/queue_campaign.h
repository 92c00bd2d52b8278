/*
 * queue_campaign: a campaign from a template and a recipient list put into
 * the queue, for `sluice send` and POST /v1/campaigns alike, so both queue
 * the same rows: the campaign record (its template as given, the list's
 * column names, a fresh salt, created now), then each row screened by list
 * hygiene and the suppression list (hygiene.h), deduplicated by
 * address_dedupe_key, and added with its own send and expiry times
 * (recipients.h), all stamped with the list's queueing time.
 *
 * Queueing the same campaign id again is a resume: the stored template must
 * be the same (and the envelope domain), rows already queued stay as they
 * are. Nothing here commits unless the caller asks for it (commit_rows):
 * `sluice send` commits every ENQUEUE_COMMIT_ROWS rows; serve leaves the
 * commit to its group commit and answers only after it.
 */
#ifndef SLUICE_LIST_QUEUE_CAMPAIGN_H
#define SLUICE_LIST_QUEUE_CAMPAIGN_H

#include <stddef.h>
#include <stdint.h>

#include "list/recipients.h"
#include "util/err.h"

struct config;
struct store;
struct suppress;
struct template;
struct campaign_rec;

/* What the campaign record is made of (strings borrowed for the call). */
struct campaign_spec {
	const char *id;
	const char *template_path; /* a name for the template (messages, stored) */
	const char *template_text; /* the template as given: what is stored */
	size_t template_len;
	const struct template *tpl; /* parsed and bound: compared on a resume */
	const char *envelope_from;
	int priority;
	const char *tenant; /* NULL: the default tenant */
	const char *pool;   /* NULL: its tenant's */
};

/* Finds campaign spec->id or adds it (in the open transaction) into rec
 * (the caller's: store_campaign_free). *resumed: 1 it was there. 0, -1
 * with e when the store fails, -2 with e when the stored campaign differs
 * (another template or envelope domain), -3 with e when it belongs to
 * another tenant or is a stream (submitted mail). */
int queue_campaign_open(struct store *st, const struct campaign_spec *spec,
                        const struct recipient_list *list, struct campaign_rec *rec, int *resumed,
                        struct err *e);

/* What happened to the rows. */
struct queue_counts {
	long rows;  /* rows read that parsed */
	long added; /* queued now */
	long dups;  /* already queued (a duplicate row, or a resume) */
	long bad;   /* rows that did not parse */
	long typo, role, suppressed;
	long waiting;       /* queued with a send time after now */
	int64_t first_send; /* the earliest of those */
};

/* The caller's view of the rows (each may be NULL): a skipped row (reason
 * "duplicate", "typo", "role_account" or "suppressed"; detail may be ""),
 * a bad row (e: "name:line: why"; line: where its record starts), and a
 * commit of commit_rows rows. */
struct queue_hooks {
	void (*skipped)(void *arg, const struct recipient_row *row, const char *reason,
	                const char *detail);
	void (*bad_row)(void *arg, long line, const struct err *e);
	void (*progress)(void *arg, long rows);
	void *arg;
};

/* Queues the list's rows into campaign (opened above), suppressions
 * checked for the sender domain scope (NULL: the config's from_domain).
 * commit_rows > 0:
 * commits every so many rows and at the end; 0: never (the caller's
 * transaction). 0 with *n, or -1 with e (the store or the suppression list
 * failed; what was written before stays in the transaction). */
int queue_campaign_rows(struct store *st, struct suppress *sp, const struct config *cfg,
                        const char *scope, const char *campaign, struct recipient_list *list,
                        int resumed, long commit_rows, const struct queue_hooks *h,
                        struct queue_counts *n, struct err *e);

#endif
