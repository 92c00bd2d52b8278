/*
 * store: the durable queue, SQLite in WAL mode in the state directory.
 * Only this module speaks SQL. A campaign's template is stored once; each
 * recipient is one row (address, packed fields, state, attempts, next
 * attempt, last reply). Writes go into one open transaction that the caller
 * commits every few milliseconds (group commit, store_commit); nothing is
 * durable, and nothing may be acknowledged, before that commit returns.
 */
#ifndef SLUICE_STORE_STORE_H
#define SLUICE_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* RS_SUPPRESSED: final, never sent (suppressed after it was queued).
 * RS_CANCELLED: final, never sent (`sluice campaign cancel`). */
enum rcpt_state {
	RS_QUEUED = 0,
	RS_DELIVERED = 1,
	RS_BOUNCED = 2,
	RS_EXPIRED = 3,
	RS_SUPPRESSED = 4,
	RS_CANCELLED = 5
};
#define RS_COUNT 6

struct store;

struct campaign_rec {
	char *id;
	char *template_text; /* the template as given (bytes), owned */
	size_t template_len;
	char *template_path;
	char *names; /* packed header names (mail/fields.h), owned */
	size_t names_len;
	char *envelope_from;
	char *salt; /* makes Message-IDs unique across state directories */
	int64_t created_s;
	int priority; /* higher goes first to a shared site (0: bulk) */
	char *tenant; /* its owner (mail/tenant.h); NULL when adding: "default" */
	int kind;     /* CAMPAIGN_TEMPLATE, or CAMPAIGN_STREAM: a tenant's submitted mail */
	char *pool;   /* its sources; NULL: its tenant's */
};
/* A stream has no template: each recipient row names a stored message, and
 * it never finishes (more is submitted). */
enum { CAMPAIGN_TEMPLATE = 0, CAMPAIGN_STREAM = 1 };

/* Where a fetch stream got to in a campaign: (next_attempt, id) of the last
 * recipient handed out. Each reader keeps its own. */
struct store_cursor {
	int64_t due, id;
};
#define STORE_CURSOR_START ((struct store_cursor){-1, 0})

/* One queued recipient handed to the scheduler; all strings owned. */
struct queued_rcpt {
	int64_t id;
	char *mailbox;
	char *domain;
	char *fields;
	size_t fields_len;
	int utf8;
	int attempts;
	int64_t queued_at_s;
	int64_t next_attempt_s; /* the due time it was fetched at */
	int64_t send_at_s;      /* not sent before (0: as soon as queued) */
	int64_t expires_at_s;   /* never sent at or after (0: only max_lifetime) */
	int64_t message;        /* its stored message (store_message_get); 0: rendered */
};

/* The last reply of an attempt, as recorded in the row. */
struct rcpt_outcome {
	int state; /* enum rcpt_state */
	int attempts;
	int64_t next_attempt_s;
	int code;
	const char *enhanced;
	const char *text;
	const char *stage;
	const char *category;
	const char *mx; /* the MX host that answered, or NULL (kept from before) */
};

/* Creates dir if needed and opens (or creates) the queue in it. */
int store_open(const char *dir, struct store **out, struct err *e);
void store_close(struct store *s); /* commits what is pending */

/* Takes the state directory's delivery lock (deliver.lock, flock): only one
 * process delivers from a queue. 1 taken (held until store_close), 0 held by
 * another process (its pid in *holder, or 0), -1 error. */
int store_lock_delivery(struct store *s, long *holder, struct err *e);

/* Commits the open transaction, if any (the group commit). */
int store_commit(struct store *s, struct err *e);

/* 1 and fills out (caller frees with store_campaign_free), 0 if absent, -1 on error. */
int store_campaign_get(struct store *s, const char *id, struct campaign_rec *out, struct err *e);
/* The recipient named by a campaign salt and row id (VERP and unsubscribe
 * tokens, Message-IDs): 1 and its mailbox and campaign, 0 if unknown, -1. */
int store_rcpt_by_salt(struct store *s, const char *salt, int64_t id, char *mailbox, size_t mn,
                       char *campaign, size_t cn, struct err *e);
int store_campaign_add(struct store *s, const struct campaign_rec *c, struct err *e);
void store_campaign_free(struct campaign_rec *c);
/* Sets a campaign's tenant (open transaction). 0 or -1. */
int store_campaign_owner_set(struct store *s, const char *campaign, const char *tenant,
                             struct err *e);
/* The owner into out: 1, or 0 if there is no such campaign; -1 error. */
int store_campaign_owner(struct store *s, const char *campaign, char *out, size_t n, struct err *e);
/* A campaign's priority: 1 and *out, 0 no such campaign, -1 error. */
int store_campaign_priority(struct store *s, const char *campaign, int *out, struct err *e);

/* 1 queued, 0 already there (a duplicate, or a resume), -1 error. key is
 * what makes two rows one recipient (address_dedupe_key). */
int store_rcpt_add(struct store *s, const char *campaign, const char *mailbox, const char *key,
                   const char *domain, const char *fields, size_t fields_len, int utf8,
                   int64_t now_s, struct err *e);
/* A recipient's own times (seconds since the epoch, 0: none): its send
 * time is its first next attempt, so nothing fetches it before. */
struct rcpt_times {
	int64_t send_at_s, expires_at_s;
};
/* store_rcpt_add with times t (NULL: none). */
int store_rcpt_add_at(struct store *s, const char *campaign, const char *mailbox, const char *key,
                      const char *domain, const char *fields, size_t fields_len, int utf8,
                      int64_t now_s, const struct rcpt_times *t, struct err *e);

/* A new queue id for a message: 16 characters of Crockford base32 from
 * 80 random bits, into out (at least STORE_QID_MAX bytes). */
#define STORE_QID_MAX 24
void store_new_qid(char *out);
/* Submitted messages (store_message.c): the body once, then one recipient
 * row per recipient in a stream campaign, naming it. *id: its row id. */
int store_message_add(struct store *s, const char *qid, const char *tenant, const char *mail_from,
                      const char *body, size_t len, int64_t now_s, int64_t *id, struct err *e);
/* 1 and the body (owned, NUL-terminated) and envelope sender (owned), 0 if
 * absent, -1 on error. */
int store_message_get(struct store *s, int64_t id, char **body, size_t *len, char **mail_from,
                      struct err *e);
/* Messages of tenant stored at or after since_s, into *n. */
int store_message_count(struct store *s, const char *tenant, int64_t since_s, int64_t *n,
                        struct err *e);
/* 1 queued, 0 already there (the same message to the same key), -1. */
int store_rcpt_add_message(struct store *s, const char *campaign, const char *mailbox,
                           const char *key, const char *domain, int utf8, int64_t message,
                           int64_t now_s, const struct rcpt_times *t, struct err *e);

/* Calls cb for up to limit recipients of campaign that are due at now_s and
 * past the cursor (which it advances). The callback takes ownership of r.
 * Returns the number handed out, or -1. */
typedef void (*store_rcpt_fn)(void *arg, struct queued_rcpt *r);
int store_fetch_ready(struct store *s, const char *campaign, struct store_cursor *cur,
                      int64_t now_s, int limit, store_rcpt_fn cb, void *arg, struct err *e);
/* Sets *due to the earliest next_attempt of a queued recipient, or -1 if
 * none is queued; returns 0, or -1 on error. */
int store_next_due(struct store *s, const char *campaign, int64_t *due, struct err *e);

int store_rcpt_update(struct store *s, int64_t id, const struct rcpt_outcome *o, struct err *e);
/* Moves a queued recipient's next attempt to due_s without counting an
 * attempt (its site is suspended or has a backlog). */
int store_rcpt_postpone(struct store *s, int64_t id, int64_t due_s, struct err *e);
void queued_rcpt_free(struct queued_rcpt *r);

/* Counts of the campaign's recipients by state (RS_COUNT entries). */
int store_counts(struct store *s, const char *campaign, int64_t counts[RS_COUNT], struct err *e);

/* What a running scheduler says of one site (written every second, for
 * `sluice queue`). Rates are per second; a limit of 0 means none. */
struct site_snapshot {
	const char *site;
	const char *campaign;
	int64_t queued, in_flight;
	int conns, conn_limit;
	double rate, rate_limit;
	int64_t suspended_until_s; /* 0: not suspended */
	const char *reason;        /* the rule or failure behind the state */
	int64_t updated_s;
};

int store_site_snapshot(struct store *s, const struct site_snapshot *snap, struct err *e);
/* Calls cb for every site snapshot, most recently updated first. */
typedef void (*store_site_fn)(void *arg, const struct site_snapshot *snap);
int store_site_snapshots(struct store *s, store_site_fn cb, void *arg, struct err *e);
/* Lists the campaigns in the store (id, created). */
typedef void (*store_campaign_fn)(void *arg, const char *id, int64_t created_s);
int store_campaigns(struct store *s, store_campaign_fn cb, void *arg, struct err *e);
/* Queued recipients of a campaign due by now_s (ready) and later. */
int store_ready_counts(struct store *s, const char *campaign, int64_t now_s, int64_t *ready,
                       int64_t *later, struct err *e);

/* Warm-up: a source's first day of use (set to today the first time), and
 * its counts of delivered messages per day and site ("" for all sites). */
int store_warmup_first_day(struct store *s, const char *ip, int64_t today, int64_t *first,
                           struct err *e);
typedef void (*store_warmup_fn)(void *arg, const char *site, int64_t sent);
int store_warmup_counts(struct store *s, const char *ip, int64_t day, store_warmup_fn cb, void *arg,
                        struct err *e);
int store_warmup_add(struct store *s, const char *ip, int64_t day, const char *site, struct err *e);

/* Health-gated warm-up: what a source's attempts drew on a day, per group
 * (a provider's name, or a site's; "" for all), and the schedule day
 * (level) a group's caps were at on day, with why it did not grow. */
struct store_warmup_health {
	int64_t attempts, deferred, blocked, complaints;
};
int store_warmup_health_add(struct store *s, const char *ip, int64_t day, const char *grp,
                            const struct store_warmup_health *delta, struct err *e);
int store_warmup_health_get(struct store *s, const char *ip, int64_t day, const char *grp,
                            struct store_warmup_health *out, struct err *e);
struct store_warmup_level {
	int64_t day, level;
	char reason[256];
};
/* 1 found, 0 none (out zeroed), -1 error. */
int store_warmup_level_get(struct store *s, const char *ip, const char *grp,
                           struct store_warmup_level *out, struct err *e);
int store_warmup_level_set(struct store *s, const char *ip, const char *grp,
                           const struct store_warmup_level *l, struct err *e);
/* Calls cb for every group's level (by source, then group). */
typedef void (*store_warmup_level_fn)(void *arg, const char *ip, const char *grp,
                                      const struct store_warmup_level *l);
int store_warmup_levels(struct store *s, store_warmup_level_fn cb, void *arg, struct err *e);
/* A message a warm-up source delivered (kept 30 days), so that a complaint
 * about it counts against that source and group: store_warmup_complaint
 * adds one to day's complaints of both (and of ""); 1 counted, 0 not a
 * warm-up delivery, -1 error. */
int store_warmup_sent_add(struct store *s, const char *campaign, const char *mailbox,
                          const char *ip, const char *grp, int64_t day, struct err *e);
int store_warmup_complaint(struct store *s, const char *campaign, const char *mailbox, int64_t day,
                           struct err *e);

/* The HELO source ip last showed receivers, and since when: 1, or 0 if it
 * never sent from this state directory, or -1 with e set. */
int store_identity_get(struct store *s, const char *ip, char *helo, size_t n, int64_t *since,
                       struct err *e);
/* Records that ip shows helo (its since stays if the name is the same). */
int store_identity_set(struct store *s, const char *ip, const char *helo, int64_t now_s,
                       struct err *e);

/* Calls cb for each (value of column, state) group of the campaign's
 * recipients, biggest first; by is "domain" or "category". */
/* Recipients still queued after at least one attempt. */
int store_deferred_count(struct store *s, const char *campaign, int64_t *n, struct err *e);
typedef void (*store_group_fn)(void *arg, const char *value, int state, int64_t count);
int store_group_counts(struct store *s, const char *campaign, const char *by, store_group_fn cb,
                       void *arg, struct err *e);

/* Danger signs (the monitor's): what fired, when, on a campaign. */
/* Over every campaign but except: recipients refused at RCPT TO for good,
 * and those judged (delivered or so refused), for the monitor's spikes. */
int store_rcpt_history(struct store *s, const char *except, int64_t *refused, int64_t *judged,
                       struct err *e);
int store_sign_add(struct store *s, const char *campaign, int64_t time_s, const char *kind,
                   const char *detail, struct err *e);
typedef void (*store_sign_fn)(void *arg, int64_t time_s, const char *kind, const char *detail);
int store_signs(struct store *s, const char *campaign, store_sign_fn cb, void *arg, struct err *e);
int store_sign_count(struct store *s, const char *campaign, const char *kind, int64_t *n,
                     struct err *e);
/* 1 if campaign already has a sign of kind with exactly detail, 0 if not,
 * -1 error. */
int store_sign_seen(struct store *s, const char *campaign, const char *kind, const char *detail,
                    struct err *e);
/* A paused campaign is not delivered until resumed. resume: 1 it was
 * paused, 0 it was not, -1 error. paused: 1 (reason set), 0, -1. */
int store_campaign_pause(struct store *s, const char *campaign, const char *reason, int64_t now_s,
                         struct err *e);
int store_campaign_resume(struct store *s, const char *campaign, struct err *e);
int store_campaign_paused(struct store *s, const char *campaign, char reason[256], struct err *e);

/* The operator's controls (store_control.c). A site pause holds every site
 * that matches scope ("site": its key, "provider": its provider's name,
 * "source": its source IP) until until_s (0: until resumed); scope
 * "tenant" holds every campaign of the tenant named and its submissions. Strings are
 * borrowed (in callbacks: for the call only). */
struct site_pause {
	const char *scope, *target, *reason;
	int64_t until_s, time_s;
};
int store_site_pause(struct store *s, const struct site_pause *p, struct err *e);
/* 1 it was paused (now resumed), 0 it was not, -1 error. A pause and a
 * resumption each record an event (store/events.h): "site_paused" /
 * "site_resumed" with data {scope, target, reason, until}, or for scope
 * "tenant" (a tenant's pause: `sluice tenant pause`, POST /v1/pause)
 * "tenant_paused" / "tenant_resumed" of that tenant. */
int store_site_resume(struct store *s, const char *scope, const char *target, struct err *e);
int store_site_resume_why(struct store *s, const char *scope, const char *target,
                          const char *reason, int64_t now_s, struct err *e);
/* Forgets the pauses whose --for ended by now_s, recording a resumption
 * event for each (the delivering process calls it); *n how many. */
int store_pauses_expire(struct store *s, int64_t now_s, int64_t *n, struct err *e);
/* Whether tenant has a pause (scope "tenant") in force at now_s: 1 with
 * reason and *until_s (0: until resumed) set when not NULL, 0, or -1. */
int store_tenant_paused(struct store *s, const char *tenant, int64_t now_s, char reason[256],
                        int64_t *until_s, struct err *e);
/* Calls cb for every pause still in force at now_s. */
typedef void (*store_pause_fn)(void *arg, const struct site_pause *p);
int store_site_pauses(struct store *s, int64_t now_s, store_pause_fn cb, void *arg, struct err *e);
/* Marks the campaign cancelled (its reason kept); cancelled: 1 (reason set), 0, -1. */
int store_campaign_cancel(struct store *s, const char *campaign, const char *reason, int64_t now_s,
                          struct err *e);
int store_campaign_cancelled(struct store *s, const char *campaign, char reason[256],
                             struct err *e);
/* Ends every queued recipient of campaign as RS_CANCELLED, calling cb for
 * each first (mailbox, domain, attempts, queued_at); *n how many. */
typedef void (*store_cancel_fn)(void *arg, const char *mailbox, const char *domain, int attempts,
                                int64_t queued_at_s);
int store_cancel_queued(struct store *s, const char *campaign, const char *reason,
                        store_cancel_fn cb, void *arg, int64_t *n, struct err *e);
/* A cancel asked of the process that delivers (it holds deliver.lock):
 * recorded, not performed; that process ends the campaign's queued
 * recipients once none of them is in its memory (engine/control.c), then
 * marks it done. store_campaign_cancel is one performed by the caller. */
int store_campaign_cancel_request(struct store *s, const char *campaign, const char *reason,
                                  int64_t now_s, struct err *e);
int store_campaign_cancel_done(struct store *s, const char *campaign, struct err *e);
typedef void (*store_request_fn)(void *arg, const char *campaign, const char *reason);
/* Calls cb for every cancel requested and not yet performed. */
int store_cancel_requests(struct store *s, store_request_fn cb, void *arg, struct err *e);
/* Queued recipients of domain due after due_s and by upto_s become due at
 * due_s (what a site's pause parked, when it is resumed; what a retry
 * makes due now), but never before their own send time. */
int store_rcpt_due_domain(struct store *s, const char *domain, int64_t due_s, int64_t upto_s,
                          struct err *e);

/* One-shot controls (`sluice site retry`, `sluice purge`, `sluice campaign
 * move`): a row of control_request the delivering process performs and
 * marks done (engine/control.c). kind "retry": scope "site", "provider" or
 * "source" and its target; "purge": scope "domain", target the domain,
 * campaign NULL for every campaign; "move": scope "pool", target the pool,
 * campaign the campaign moved. Strings borrowed (in callbacks: for the
 * call only); result is what the performer said (NULL while pending). */
struct control_request {
	int64_t id;
	const char *kind, *scope, *target, *campaign, *reason, *result;
	int64_t time_s;
	int done;
};
int store_control_request(struct store *s, const struct control_request *r, struct err *e);
typedef void (*store_control_fn)(void *arg, const struct control_request *r);
/* Calls cb for every request not yet performed, oldest first, and (since_s
 * > 0) for those performed since since_s. */
int store_control_requests(struct store *s, int64_t since_s, store_control_fn cb, void *arg,
                           struct err *e);
int store_control_done(struct store *s, int64_t id, const char *result, struct err *e);
/* Ends every queued recipient of domain (of campaign only, unless NULL) as
 * RS_BOUNCED, stage "purge", category "purged", the reason as its reply,
 * calling cb for each first; *n how many. No suppression (the caller adds
 * none). */
typedef void (*store_purge_fn)(void *arg, const char *campaign, const char *mailbox,
                               const char *domain, int attempts, int64_t queued_at_s);
int store_purge_queued(struct store *s, const char *domain, const char *campaign,
                       const char *reason, store_purge_fn cb, void *arg, int64_t *n, struct err *e);
/* The campaign's pool becomes pool (what a later serve or send reads): 1
 * done, 0 no such campaign, -1 error. */
int store_campaign_set_pool(struct store *s, const char *campaign, const char *pool, struct err *e);
/* A move for a while (`sluice campaign move --for`): at due_s the campaign
 * goes back to pool (its pool before the first such move: a later one
 * keeps it). store_move_back_cancel forgets it (a move without --for).
 * store_move_backs_due performs those due by now_s: the campaign's row
 * names the pool again and a "move" control_request is recorded for the
 * delivering process (engine/control.c); *n how many. store_move_backs
 * lists those pending. */
int store_move_back_set(struct store *s, const char *campaign, const char *pool, int64_t due_s,
                        const char *reason, int64_t now_s, struct err *e);
int store_move_back_cancel(struct store *s, const char *campaign, struct err *e);
int store_move_backs_due(struct store *s, int64_t now_s, int64_t *n, struct err *e);
typedef void (*store_move_back_fn)(void *arg, const char *campaign, const char *pool, int64_t due_s,
                                   const char *reason);
int store_move_backs(struct store *s, store_move_back_fn cb, void *arg, struct err *e);

#endif
