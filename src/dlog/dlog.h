/*
 * dlog: the delivery log, JSON lines in the state directory, one record per
 * attempt (like an MTA accounting file). Records are buffered and written by
 * dlog_flush, which the scheduler calls just before each group commit, so
 * the log never claims less than the queue (it may say an attempt twice after
 * a crash: at-least-once, like delivery). docs/delivery-log.md lists fields.
 *
 * Rotation (logrotate moves the file, then signals serve): dlog_reopen
 * writes what is buffered to the file it had open, then goes on in a new
 * file at the same path. A record is written whole to one file: never lost
 * between the two, never in both.
 */
#ifndef SLUICE_DLOG_DLOG_H
#define SLUICE_DLOG_DLOG_H

#include <stdint.h>

#include "util/err.h"

struct dlog;

struct dlog_rec {
	int64_t time_ms;
	const char *campaign, *recipient, *domain, *site;
	const char *tenant; /* the campaign's owner; NULL: left out (inbound records) */
	const char *mx_host, *mx_ip, *source_ip, *helo, *tls;
	const char *stage;
	int code;
	const char *enhanced, *text;
	const char
	    *outcome; /* delivered, deferred, bounced, expired; inbound: dsn, complaint, ... */
	const char *category;
	const char *rule;        /* the reply rule that fired on this reply, or NULL */
	const char *list_action; /* what list hygiene did (store/suppress.h), or NULL */
	const char *return_path; /* the envelope sender used (VERP), or NULL */
	const char *evidence;    /* inbound: how the report was read and matched */
	int attempt;
	int64_t queue_time_s;
	const char *message_id;
};

/* Opens (creates, mode 0640) state_dir/delivery.log for appending. */
int dlog_open(const char *state_dir, struct dlog **out, struct err *e);
/* Buffers one record (written by the next dlog_flush). */
void dlog_add(struct dlog *l, const struct dlog_rec *r);
/* Writes what is buffered: 0, or -1 with e set; what was not written stays
 * buffered for the next flush (a line a failed write cut is finished in the
 * same file). */
int dlog_flush(struct dlog *l, struct err *e);
/* Reopens the log's path (for rotation): what is buffered is written to the
 * file open until now, then records go to the file now at the path (created
 * if absent). 0; 1 when the new file is open but the buffered records could
 * not be written to the old one (they stay buffered and go to the new file
 * whole; e says why); -1 with e set when the path cannot be opened (nothing
 * changed: records go on to the old file). */
int dlog_reopen(struct dlog *l, struct err *e);
void dlog_close(struct dlog *l); /* flushes */

#endif
