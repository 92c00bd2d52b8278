/*
 * scheduler_int: the delivery engine's private types (campaigns, lanes,
 * jobs, sessions, sites, the scheduler), shared by the files of src/engine:
 *   scheduler.c  the public face (scheduler.h), campaigns, the tick
 *                (group commit, fetching, finishing), the error latch
 *   session.c    sessions, the SMTP client's owner: opening them,
 *                handing out work (admission, assembly, signing), closing
 *   record.c     an attempt's outcome (decided by outcome.c) applied
 *                through each owner
 *   load.c       reading due recipients from the store, MX answers into
 *                sites, deciding when nothing is left to do
 *   site.c       sites: the source each sticks to, the global-cap wait
 *                list, admission (site_admit: suspended or over the
 *                warm-up cap, when the queue is parked in the store;
 *                site_pace: the message and connection rates, the site
 *                timer), parking a slow site's backlog, warm-up counts,
 *                snapshots for `sluice queue`, a campaign refused at
 *                MAIL FROM (its lane's jobs parked), idle sessions told
 *                to QUIT
 *   lane.c       jobs, and a site's queue: one lane per campaign
 *                (priority, turns), the sender probe, a lane refused at
 *                MAIL FROM; data structures only, calling no other file
 *   monitor.c    a campaign's danger signs, and pausing it
 *   events.c     events for webhooks (outcomes, a campaign finished,
 *                a site suspended), through the store port
 *   control.c    the operator's controls read from the store: site
 *                pauses (site_admit holds a paused site), cancels, and
 *                the one-shot requests (retry, purge, move)
 *   dkim_jobs.c  DKIM signatures on worker threads
 *   ports.c      the real clock, store, resolver and SMTP ports (ports.h)
 * The engine reaches the clock, the store (store/: SQL lives there), the
 * MX resolver (dns/mx) and SMTP connections (smtp/client) only through the
 * ports in s->p; delivery-log records go to dlog/. Nothing outside
 * src/engine includes this file but the engine's unit tests.
 */
#ifndef SLUICE_ENGINE_SCHEDULER_INT_H
#define SLUICE_ENGINE_SCHEDULER_INT_H

#include <event2/event.h>
#include <stdint.h>

#include "dns/mx.h"
#include "mail/config.h"
#include "mail/providers.h"
#include "msg/assemble.h"
#include "engine/scheduler.h"
#include "store/store.h"
#include "shape/provlimit.h"
#include "shape/throttle.h"
#include "smtp/client.h"
#include "util/err.h"
#include "util/strbuf.h"
#include "util/strmap.h"

#define BACKLOG_SECONDS 60    /* a rate-limited site keeps this much work in memory */
#define FETCH_BATCH     2000  /* recipients read from the store at once */
#define FETCH_MIN       500   /* no smaller reads (see on_tick) */
#define LOADED_MAX      20000 /* recipients in memory at most */
#define POLL_DUE_MS     1000  /* how often to look for recipients coming due */
#define BACKLOG_MIN     100
#define LEARN_SAVE_MS   3000 /* a site's learned limits are written at most this often */

_Static_assert(SOURCES_MAX <= 64, "scheduler.mon_source_warned has a bit per source");

struct site;

/* A campaign the scheduler delivers (scheduler_add_campaign). */
struct sched_campaign {
	struct scheduler *s;
	char *id, *salt, *envelope_from, *tenant;
	const struct template *tpl; /* the caller's, outliving the scheduler; NULL: a stream */
	char *pool_name;            /* its pool; NULL: sender.pool's (sites keep their names) */
	const struct source *pool[SOURCES_MAX]; /* its sources (of p.sources), heaviest first */
	size_t npool;
	int priority;
	int64_t size;
	struct store_cursor cur; /* where fetching from the store got to */
	int64_t next_fetch_ms;   /* 0: fetch again as soon as there is room */
	int64_t loaded;          /* its jobs in memory */
	int finished;            /* nothing queued in the store, nothing in memory */
	int paused;              /* by the monitor (monitor.c), until resumed */
	int cancelled;           /* by the operator (control.c): for good */
	int moving;              /* to another pool (control.c): held until none is in memory */
	int tenant_held;         /* held because its tenant is paused (control.c) */
	int64_t clean_version;   /* see sched_campaign_desc */
	int check_suppression;   /* 1 once the list may have changed since */
	int64_t mon_delivered, mon_rcpt_failed, mon_sender_rejected;
	int mon_warned_rcpt, mon_warned_spike;
	double mon_usual_rcpt_failure; /* earlier campaigns' rate; -1: too little known */
	int64_t mon_tried[PROVIDERS_MAX], mon_deferred[PROVIDERS_MAX]; /* attempts per provider */
	unsigned mon_warned_deferral;                                  /* bit per provider */
	struct sched_campaign *next;
};

/* A site's queue for one campaign (lane.c). */
struct lane {
	struct sched_campaign *camp;
	struct job *head, *tail;
	size_t n;
	int64_t refused_until_s; /* the sender was refused at MAIL FROM (site_refuse_campaign) */
	/* Until one transaction of the campaign got past MAIL FROM here
	 * (proven), one job at a time goes out (probing): a receiver that
	 * refuses the sender sees that once, not once per connection. */
	int proven, probing;
	struct lane *next;
};

struct job {
	struct scheduler *s;
	struct sched_campaign *camp;
	struct queued_rcpt *r;
	struct site *site;
	struct job *next;
	struct smtp_msg msg;
	struct strbuf data;
	char msgid[ASSEMBLE_MSGID_MAX];
	char mail_from[ASSEMBLE_MAIL_FROM_MAX]; /* the envelope sender (VERP when configured) */
	/* while a worker DKIM-signs it (dkim_jobs.c): the session waiting for
	 * it (NULL once that session closed), the Date it carries, the result */
	struct session *sess;
	const struct source *source; /* the source it was last handed over from (failover.c) */
	int64_t date_s;
	char *dkim_error; /* why signing failed (owned), or NULL; kept out of the job's
	                   * fixed size: thousands of jobs wait in memory */
};

/* A provider's limits for one source, across all its sites (site.c):
 * the accounting is shape/provlimit's; here, who waits for it. A site that
 * finds the provider at its cap joins one of two FIFO lists (a connection,
 * a message token) once; a closed connection or the provider's timer wakes
 * the waiters in turn, at most as many as there is room for, so capacity
 * goes round-robin and nothing polls. */
struct sched_provider {
	struct scheduler *s;
	char *key;  /* "NAME@SOURCEIP" */
	char *name; /* the provider's */
	char *mx;   /* the MX host that made it (its limits again on a reload) */
	const struct source *source;
	struct provlimit lim;
	struct site *wait_head[2], *wait_tail[2]; /* by enum site_pace */
	size_t nwait[2];
	struct event *timer[2];
	int nsites;
	/* the message rate it had lately: counts per window, the last full one */
	int64_t window_start_ms, window_count;
	double observed_rate;
	/* what a throttle at any of its sites taught of the provider's limit
	 * for the source (shape/learn.h), kept as "provider:NAME" */
	struct learn lr;
	int64_t learned_saved_ms;
};

/* A reply rule r fired at the site / a message was accepted there: the
 * provider's learning (when the site has one) hears of it. */
void site_provider_throttled(struct scheduler *s, struct site *site, const struct reply_rule *r,
                             int64_t now_ms);
void site_provider_delivered(struct site *site, int64_t now_ms);

struct session {
	struct scheduler *s;
	struct site *site;
	struct smtp_client *c;
	int asked;
	struct job *dkim_pending;    /* handed to a DKIM worker (dkim_jobs.c) */
	struct job *dkim_done;       /* back from the worker, next to send */
	const struct source *source; /* the site's source when it was opened (failover.c) */
	struct sched_provider *pv;   /* the provider aggregate it counts in, or NULL */
	struct session *next, *prev;
};

struct site {
	struct scheduler *s;
	const struct source *source;     /* the egress identity this site always sees */
	const struct provider *provider; /* the large provider it belongs to, or NULL */
	char *key;
	char *domain; /* the recipient domain that made the site (its policy's match) */
	struct mx_addr *addrs;
	size_t naddrs;
	struct policy pol;
	struct lane *lanes; /* one per campaign with work here (lane.c) */
	struct lane *turn;  /* the lane served last */
	size_t queued;      /* jobs in all lanes */
	int64_t in_flight;  /* messages handed to sessions, outcome not yet known */
	int active, starting;
	struct session *sessions;
	int waiting; /* on the global-cap wait list */
	struct site *wait_next;
	struct throttle thr;       /* pacing and the state reply rules put it in */
	int64_t warm_sent;         /* delivered today from its source (warm-up) */
	struct event *timer;       /* wakes the site when the throttle allows more */
	struct strmap *domains;    /* every recipient domain routed here (control.c) */
	int was_paused;            /* held by an operator's pause at the last look */
	int was_suspended;         /* suspended by a reply rule at the last look (control.c) */
	char pause_why[200];       /* the snapshot's reason while paused */
	int64_t paused_until_s;    /* the latest due time its pause parked rows at */
	int64_t learned_saved_ms;  /* when its learned limits were last written */
	struct sched_provider *pv; /* the provider-wide limits it is under, or NULL */
	int pv_waiting[2];         /* on pv's wait lists (by enum site_pace) */
	struct site *pv_next[2];
	/* source failover (failover.c): the source the site sticks to, and its
	 * pool's sources (heaviest first) it may fail over to */
	const struct source *home;
	const struct source **pool;
	size_t npool;
	int failover_width;
};

/* An operator's pause the scheduler knows of (control.c), strings owned. */
struct sched_pause {
	char *scope, *target, *reason;
	int64_t until_s; /* wall seconds; 0: until resumed */
};

/* A purge the scheduler is performing (control.c), strings owned: no job
 * of the domain (of campaign, unless NULL) is loaded meanwhile. */
struct sched_purge {
	int64_t id;
	char *domain, *campaign, *reason;
};

/* Someone waiting for the next group commit (scheduler_commit_then). */
struct commit_wait {
	void (*done)(void *arg, int ok);
	void *arg;
};

struct scheduler {
	struct scheduler_params p;
	struct strbuf event_json; /* the data of the event being written (events.c) */
	struct commit_wait *commit_waits;
	size_t ncommit_waits, commit_waits_cap;
	struct event *tick;
	struct strmap *sites;
	struct strmap *providers; /* "NAME@SOURCEIP" -> struct sched_provider (site.c) */
	int64_t loaded;
	int pending_dns;
	int active; /* sessions, all sites */
	int stopping, finished, failed;
	struct err err;
	struct sched_campaign *campaigns; /* in the order added */
	size_t ncampaigns;
	int dirty;
	int cpu_on, cpu_depth; /* SLUICE_SCHED_CPU accounting */
	struct site *wait_head, *wait_tail;
	struct scheduler_stats st;
	struct scheduler_counters counters; /* for metrics (scheduler.h) */
	const struct rules *rules;
	struct workers *dkim_workers; /* NULL: DKIM signs on the loop (or nothing to sign) */
	int64_t next_snapshot_ms;
	/* warm-up, per source of the pool (same index as p.sources) */
	int64_t warm_today;
	int64_t warm_first_day[SOURCES_MAX];
	int64_t warm_sent[SOURCES_MAX];
	struct strmap *warm_site_sent[SOURCES_MAX]; /* site -> delivered today, loaded at start */
	struct strmap *warm_levels[SOURCES_MAX];    /* group -> its level today (warm_health.c) */
	/* sender rejections across all campaigns of this run (monitor.c) */
	int64_t mon_source_rejected[SOURCES_MAX], mon_domain_rejected;
	uint64_t mon_source_warned; /* bit per source: SOURCES_MAX <= 64 */
	int mon_domain_warned;
	/* the operator's controls, read from the store (control.c) */
	struct sched_pause *pauses;
	size_t npauses;
	int pauses_read;            /* the pauses above were read from the store at least once */
	struct sched_purge *purges; /* asked and not yet performed */
	size_t npurges;
	int64_t next_control_ms;
	/* source failover and rule triggers (failover.c) */
	struct srcblocks *blocks; /* NULL until loaded from the store */
	int64_t blocks_pruned_s;  /* when ended blocks were last dropped */
	struct triggers *triggers;
	struct strmap *scoped; /* provider/source rules' suspensions: "SCOPE\nTARGET" ->
	                        * struct scoped (failover.c), for sites made later */
};

/* The engine's clock (s->p.clock): never util/clock directly, so a test
 * can step time. */
static inline int64_t sched_wall_ms(const struct scheduler *s)
{
	return s->p.clock.wall_ms(s->p.clock.ctx);
}

static inline int64_t sched_mono_ms(const struct scheduler *s)
{
	return s->p.clock.mono_ms(s->p.clock.ctx);
}

/* scheduler.c */
void sched_fail(struct scheduler *s, const struct err *e);
/* an outcome sluice makes itself (DNS, rendering) */
/* Ends j as suppressed (the list says reason) without attempting it. */
void sched_suppressed(struct scheduler *s, struct job *j, const char *reason);
/* Ends j as expired at its own expiry (outcome_past_expiry), unsent. */
void sched_expired(struct scheduler *s, struct job *j);
/* record.c: one attempt's outcome, applied (frees the job unless it goes
 * round again at once) */
struct attempt { /* what one attempt got */
	enum stage stage;
	const struct reply *reply;
	const struct smtp_peer *peer;
	int retry_now;
	const char *suppressed; /* not attempted: suppressed since queued (the reason) */
};

void sched_record_outcome(struct scheduler *s, struct job *j, const struct attempt *a);
/* A submitted message's recipient ended in final_state: a DSN to its
 * submitter when its tenant asks for one (notify.c). */
void sched_notify_failure(struct scheduler *s, const struct job *j, const struct attempt *a,
                          int final_state, int64_t now_s);
void sched_local_outcome(struct scheduler *s, struct job *j, enum stage stage, int code,
                         const char *enh, const char *text);
/* SLUICE_SCHED_CPU accounting around a callback */
int64_t sched_cpu_enter(struct scheduler *s);
void sched_cpu_leave(struct scheduler *s, int64_t t0);

/* load.c */
void sched_fetch(struct scheduler *s, int64_t now_ms);
void sched_check_finished(struct scheduler *s, int64_t now_ms);
/* session.c */
void site_open_sessions(struct scheduler *s, struct site *site);
void site_kick(struct site *site);

/* lane.c: jobs and the site's lanes (calls no other engine file) */
void job_free(struct job *j);
void site_free_lanes(struct site *site);
/* Frees the campaign's jobs queued at the site; returns how many. */
size_t site_drop_campaign(struct site *site, const struct sched_campaign *c);
/* Frees the jobs queued at the site (not those handed to a session) that
 * match says are to go; returns how many. */
size_t site_drop_matching(struct site *site, int (*match)(const struct job *j, void *arg),
                          void *arg);
/* Marks c's lane refused until until_s (wall seconds; the later of two
 * refusals stays) and takes its jobs out: returns them chained by next.
 * site_refuses: the end of such a refusal after now_s, or 0. */
struct job *site_lane_refuse(struct site *site, struct sched_campaign *c, int64_t until_s);
int64_t site_refuses(struct site *site, const struct sched_campaign *c, int64_t now_s);
/* An outcome of c at the site: passed_mail 1 when the transaction got past
 * MAIL FROM (an answer at RCPT or later). Ends the probe; 1 if work of c
 * waited behind it (the caller opens sessions for it). */
int site_lane_outcome(struct site *site, const struct sched_campaign *c, int passed_mail);

/* control.c: reads the operator's controls every CONTROL_POLL_MS (a
 * cancelled campaign leaves memory; a site resumed or past its pause has
 * its recipients made due now); sched_site_pause: the pause holding the
 * site at now_s, or NULL. */
#define CONTROL_POLL_MS 500
#define PAUSE_PARK_S    60 /* a site paused until resumed parks its queue this long */
void sched_controls(struct scheduler *s, int64_t now_ms);
const struct sched_pause *sched_site_pause(const struct scheduler *s, const struct site *site,
                                           int64_t now_s);
void sched_controls_free(struct scheduler *s);
/* 1 if the tenant is paused: tenants[].paused in the config, or a pause of
 * scope "tenant" in the store (`sluice tenant pause`, POST /v1/pause). */
int sched_tenant_paused(struct scheduler *s, const char *tenant);
int sched_campaign_held(struct scheduler *s, const char *id); /* control.c */
/* 1 if j's recipient is being purged (not to be loaded or sent: control.c
 * ends it as purged once nothing of its domain is in memory). */
int sched_purging(const struct scheduler *s, const struct job *j);
/* scheduler.c: c's sources from pool (NULL or unknown here: sender.pool's) */
void sched_campaign_pool(struct scheduler *s, struct sched_campaign *c, const char *pool);

/* monitor.c */
void monitor_stop_campaign(struct scheduler *s, struct sched_campaign *c);
struct outcome_signs;
/* One outcome of c: o says what it counts as (engine/outcome.h); stage,
 * reply, category and mx are for the sign's text. */
void monitor_outcome(struct scheduler *s, struct sched_campaign *c, const struct site *site,
                     const struct outcome_signs *o, enum stage stage, const struct reply *r,
                     enum category category, const char *mx);
/* The earlier campaigns' RCPT TO failure rate, for spikes (at its start). */
void monitor_campaign_start(struct scheduler *s, struct sched_campaign *c);

/* dkim_jobs.c */
/* Starts the DKIM workers (signing_threads) when there is a key to sign with. */
void dkim_jobs_init(struct scheduler *s);
/* Hands the rendered job to a signing worker for sess; 0 if signing
 * happens on the loop (no workers), 1 if submitted (sess waits). */
int dkim_jobs_submit(struct scheduler *s, struct session *sess, struct job *j);
/* The session closes: what it waits for or holds goes back to its site. */
void dkim_jobs_session_closed(struct scheduler *s, struct session *sess);
/* Frees a signed job that must not be sent now (stopping, or its campaign
 * paused meanwhile: it is still queued in the store); 1 if it did. */
int dkim_jobs_dropped(struct scheduler *s, struct job *j);
/* Stops the workers; what they still hold finishes on the loop first. */
void dkim_jobs_free(struct scheduler *s);

/* site.c */
struct site *site_get(struct scheduler *s, const struct sched_campaign *c, const char *domain,
                      const struct mx_result *res);
void site_free(void *p);
/* Every site's policy again from s->p.cfg (scheduler_reconfigure). */
void site_set_policies(struct scheduler *s);
/* lane.c: the site's queue */
void site_push(struct site *site, struct job *j);
void site_push_front(struct site *site, struct job *j);
/* The next job (priority first, campaigns in turn), or NULL. */
struct job *site_pop(struct site *site);
/* site_pop for a session about to start a transaction: skips the lanes
 * whose probe is out (NULL when only those have work). */
struct job *site_pop_to_send(struct site *site);
/* Jobs a session could start now: a lane whose sender is not proven
 * counts one (its probe), or none while the probe is out. */
size_t site_sendable(const struct site *site);
/* site.c */
/* The site's idle sessions say QUIT now instead of waiting out idle_timeout. */
void site_finish_idle(struct site *site);
/* The receiver refused the campaign's sender at MAIL FROM: until until_s
 * (wall seconds) no transaction of c starts at the site; its jobs there are
 * parked in the store (still queued) and idle sessions with nothing else
 * to do say QUIT. */
void site_refuse_campaign(struct scheduler *s, struct site *site, struct sched_campaign *c,
                          int64_t until_s);
void site_wait_for_capacity(struct scheduler *s, struct site *site);
void sched_park(struct scheduler *s, struct job *j, int64_t due_s);
int64_t site_suspension_end_s(const struct site *site, int64_t mono_ms);
size_t site_backlog_max(const struct site *site);
/* When a recipient a throttling reply deferred (due at due_s) is due. */
int64_t site_throttled_retry_s(const struct site *site, int64_t due_s);
void sched_warm_load(struct scheduler *s, int64_t today);
void site_warm_count(struct scheduler *s, struct site *site);
/* Health-gated warm-up (warm_health.c): a site's group (its provider's
 * name, else its key); an attempt's outcome counted for its source's
 * group and all; the schedule day whose caps the group has today (why:
 * "" or why it did not grow); the levels forgotten (a new day, the end).
 * A delivery is remembered so that a complaint about it counts. */
const char *sched_warm_group(const struct site *site);
void sched_warm_outcome(struct scheduler *s, const struct job *j, int outcome, enum category cat);
int64_t sched_warm_level(struct scheduler *s, size_t i, const char *grp, const char **why);
void sched_warm_levels_reset(struct scheduler *s);
/* Whether the site may go on at all now (asked where sessions are opened
 * and where a session asks for work): SITE_ADMIT_OPEN, or held (suspended
 * by its throttle, or its source over today's warm-up cap), when its whole
 * queue went back to the store (a warm-up hold logs each job deferred). */
enum site_admit { SITE_ADMIT_OPEN, SITE_ADMIT_SUSPENDED, SITE_ADMIT_WARMUP, SITE_ADMIT_PAUSED };
enum site_admit site_admit(struct scheduler *s, struct site *site, int64_t now_ms);
/* The site's rate for one more connection or message, and its provider's
 * (struct sched_provider): 1 go (the tokens are taken; a connection counts
 * as open at the provider until site_connection_closed), or 0 with the
 * site's timer armed for when it may, or the site on the provider's wait
 * list (woken in turn when the provider has room). */
enum site_pace { SITE_PACE_CONNECTION, SITE_PACE_MESSAGE };
int site_pace(struct site *site, enum site_pace what, int64_t now_ms);
/* A session of the site closed (session.c): the provider's connection is
 * given back and the provider's next waiting site may open one. */
void site_connection_closed(struct scheduler *s, struct site *site, struct sched_provider *pv);
/* 1 when other sites of the site's provider wait for a connection: an idle
 * session of it with nothing to send says QUIT instead of idling. */
int site_provider_contended(const struct site *site);
/* Frees the provider aggregates (after the sites). */
void sched_providers_free(struct scheduler *s);
/* src's place in s->p.sources (0 if not there). */
size_t source_index(const struct scheduler *s, const struct source *src);
void sched_snapshot_sites(struct scheduler *s);
/* failover.c: source failover (shape/srcblock.h) and rule triggers */
struct reply;
struct reply_rule;
/* Sets the site's home source, its pool and the source it starts on (its
 * home, or the next healthy one when the home is blocked). */
void failover_site_init(struct scheduler *s, struct site *site, const struct sched_campaign *c);
/* A block_source rule matched a reply to src at the site: blocks (site or
 * its provider, src) for the rule's time, persists and logs it, and moves
 * the site to its next healthy source. */
void failover_block(struct scheduler *s, struct site *site, const struct source *src,
                    const struct reply_rule *rule, const struct reply *reply, const char *mx_host);
/* 0 when the site may send (moved back to or on to a healthy source as
 * blocks end or begin), else when the earliest block of its allowed
 * sources ends (wall seconds): every one is blocked. */
int64_t failover_admit(struct scheduler *s, struct site *site, int64_t now_s);
/* 1 when rule fires for this match (its trigger's count within its window,
 * counted per target of its scope); campaign and tenant scopes pause them. */
int failover_rule_fires(struct scheduler *s, struct site *site, const struct job *j,
                        const struct reply_rule *rule, const char *text);
/* A site just made starts under the suspension a rule of scope provider or
 * source put on its provider or source, until that ends. */
void failover_site_made(struct scheduler *s, struct site *site);
void failover_free(struct scheduler *s);
/* site.c: the site sends from src from now on (its provider aggregate and
 * warm-up counts follow; sessions from the old source finish). */
void site_set_source(struct scheduler *s, struct site *site, const struct source *src);

/* events.c: events into the store's open transaction (store/events.h) */
struct outcome;
void sched_event_outcome(struct scheduler *s, const struct job *j, const struct attempt *a,
                         const struct outcome *o, const char *list_action, int64_t now_s);
/* type: "campaign_finished"; its counts by state in the data */
void sched_event_campaign(struct scheduler *s, const struct sched_campaign *c, const char *type);
/* type: "site_suspended" (until_s, the reply rule as reason), "site_restored" */
void sched_event_site(struct scheduler *s, const struct site *site, const char *type,
                      const char *reason, int64_t until_s);
/* record.c: counts an attempt's outcome (enum outcome_count) for metrics */
void sched_count_attempt(struct scheduler *s, int outcome, enum category cat,
                         const struct site *site, const char *tenant);

#endif
