/* Unit tests for src/engine/ (the scheduler and its helpers) over fake
 * ports (engine_world.h): deliveries, retries after the backoff or the
 * greylist delay, a reply rule's suspension and its end, expiry, bounces,
 * a sender refused at MAIL FROM, pacing by a message rate, and a
 * recipient's own send time and expiry, the operator's site pauses
 * (until resumed, or for a while) and a cancelled campaign, each in well
 * under a second of real time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "engine_world.h"

/* what config_yaml says, in seconds */
#define MIN_BACKOFF_S 300
#define MAX_BACKOFF_S 4000
#define GREYLIST_S    360
#define LIFETIME_S    (5 * 86400)
#define SUSPEND_S     60 /* the first suspension: a minute (the rule allows 10) */

static const char config_yaml[] = "sources:\n"
                                  "  - ip: 192.0.2.10\n"
                                  "    helo: mta1.example.com\n"
                                  "sender:\n"
                                  "  envelope_from: bounces@news.example.com\n"
                                  "delivery:\n"
                                  "  idle_timeout: 1s\n"
                                  "  provider_policies: false\n"
                                  "  signing_threads: 0\n"
                                  "retry:\n"
                                  "  min_backoff: 5m\n"
                                  "  max_backoff: 4000s\n"
                                  "  greylist_delay: 6m\n"
                                  "  max_lifetime: 5d\n"
                                  "policies:\n"
                                  "  - domain: slow.test\n"
                                  "    message_rate: 1/min\n"
                                  "rules:\n"
                                  "  - name: test-rate-limit\n"
                                  "    code: 421\n"
                                  "    text: \"rate limit\"\n"
                                  "    suspend: 10m\n";

/* ---- tests ---- */

static void test_delivers(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	add_rcpt(&w, "a@one.test", T0_S, NULL, 0);
	add_rcpt(&w, "b@one.test", T0_S, NULL, 0);
	add_rcpt(&w, "c@two.test", T0_S, NULL, 0);
	world_start(&w);
	run_until(&w, broke, NULL, "every recipient final: the loop breaks");
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(w.rcpts[i].state, RS_DELIVERED);
		assert_int_equal(w.rcpts[i].attempts, 1);
		assert_string_equal(w.rcpts[i].category, "delivered");
	}
	struct scheduler_stats st;
	scheduler_stats(w.s, &st);
	assert_int_equal(st.delivered, 3);
	assert_int_equal(st.in_flight, 0);
	char *log = log_text(&w);
	assert_int_equal(count(log, "\"outcome\":\"delivered\""), 3);
	assert_int_equal(count(log, "\"mx_host\":\"mx.one.test\""), 2);
	assert_int_equal(count(log, "\"source_ip\":\"192.0.2.10\""), 3);
	free(log);
	world_close(&w);
}

static const struct script_reply try_later[] = {
    {STAGE_RCPT, "451 4.3.0 local error in processing"}};

static void test_deferred_then_retried_after_backoff(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	struct fake_rcpt *r = add_rcpt(&w, "a@one.test", T0_S, try_later, 1);
	world_start(&w);
	run_until_updates(&w, r, 1, "the first attempt is recorded");
	assert_int_equal(r->state, RS_QUEUED);
	assert_int_equal(r->attempts, 1);
	assert_int_equal(r->code, 451);
	assert_int_equal(r->next_attempt_s, T0_S + MIN_BACKOFF_S);
	world_advance(&w, (MIN_BACKOFF_S - 1) * 1000);
	settle(&w);
	assert_int_equal(r->tries, 1); /* not before its backoff */
	world_advance(&w, 1000);
	run_until(&w, broke, NULL, "the retry delivers");
	assert_int_equal(r->state, RS_DELIVERED);
	assert_int_equal(r->attempts, 2);
	char *log = log_text(&w);
	assert_int_equal(count(log, "\"outcome\":\"deferred\""), 1);
	assert_int_equal(count(log, "\"attempt\":2"), 1);
	free(log);
	world_close(&w);
}

static const struct script_reply greylisted[] = {
    {STAGE_RCPT, "450 4.2.0 greylisted, please try again later"}};

static void test_greylisted_retried_after_greylist_delay(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	struct fake_rcpt *r = add_rcpt(&w, "a@one.test", T0_S, greylisted, 1);
	world_start(&w);
	run_until_updates(&w, r, 1, "the greylisted attempt is recorded");
	assert_string_equal(r->category, "greylisted");
	assert_int_equal(r->next_attempt_s, T0_S + GREYLIST_S); /* not the backoff */
	world_advance(&w, MIN_BACKOFF_S * 1000);
	settle(&w);
	assert_int_equal(r->tries, 1);
	world_advance(&w, (GREYLIST_S - MIN_BACKOFF_S) * 1000);
	run_until(&w, broke, NULL, "the retry after the greylist delay delivers");
	assert_int_equal(r->state, RS_DELIVERED);
	assert_int_equal(r->attempts, 2);
	world_close(&w);
}

static const struct script_reply rate_limited[] = {
    {STAGE_RCPT, "421 4.7.0 rate limit exceeded, slow down"}};

static void test_rate_limit_rule_suspends_site_then_restores(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	/* the per-connection cap keeps the two on one connection, in turn */
	struct fake_rcpt *a = add_rcpt(&w, "a@one.test", T0_S, rate_limited, 1);
	struct fake_rcpt *b = add_rcpt(&w, "b@one.test", T0_S, NULL, 0);
	struct fake_rcpt *c = add_rcpt(&w, "c@two.test", T0_S, NULL, 0);
	world_start(&w);
	run_until_updates(&w, a, 1, "the 421 is recorded");
	run_until_updates(&w, c, 1, "another site is not held up");
	settle(&w);
	assert_int_equal(a->state, RS_QUEUED);
	/* the refusal was the site's: due when the suspension ends, not after
	 * the backoff */
	assert_int_equal(a->next_attempt_s, T0_S + SUSPEND_S + 1);
	assert_int_equal(c->state, RS_DELIVERED);
	/* b waited at the suspended site: back in the store until the end */
	assert_int_equal(b->tries, 0);
	assert_true(b->postpones >= 1);
	assert_true(b->next_attempt_s >= T0_S + SUSPEND_S);
	assert_true(b->next_attempt_s <= T0_S + SUSPEND_S + 1);
	char *log = log_text(&w);
	assert_int_equal(count(log, "\"rule\":\"test-rate-limit\""), 1);
	free(log);
	int conns = w.conns_started;
	world_advance(&w, (SUSPEND_S - 10) * 1000);
	settle(&w);
	assert_int_equal(w.conns_started, conns); /* nothing during the suspension */
	/* the suspension ends: both go */
	world_advance(&w, 11 * 1000);
	run_until(&w, broke, NULL, "delivery after the suspension");
	assert_int_equal(a->state, RS_DELIVERED);
	assert_int_equal(b->state, RS_DELIVERED);
	assert_int_equal(b->attempts, 1); /* parking is no attempt */
	world_close(&w);
}

static const struct script_reply always_later[] = {
    {STAGE_RCPT, "451 4.3.0 local error in processing"},
    {STAGE_RCPT, "451 4.3.0 local error in processing"},
    {STAGE_RCPT, "451 4.3.0 local error in processing"}};

static void test_expires_after_max_lifetime(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	/* queued ten minutes short of the lifetime ago */
	int64_t queued = T0_S - LIFETIME_S + 600;
	struct fake_rcpt *r = add_rcpt(&w, "a@one.test", queued, always_later, 3);
	world_start(&w);
	run_until_updates(&w, r, 1, "the first attempt");
	assert_int_equal(r->next_attempt_s, T0_S + MIN_BACKOFF_S);
	world_advance(&w, MIN_BACKOFF_S * 1000);
	run_until_updates(&w, r, 2, "the second attempt");
	assert_int_equal(r->attempts, 2);
	/* the backoff would go past the lifetime: the last retry is at it */
	assert_int_equal(r->next_attempt_s, queued + LIFETIME_S);
	world_advance(&w, (queued + LIFETIME_S - T0_S - MIN_BACKOFF_S) * 1000);
	run_until(&w, broke, NULL, "the last attempt expires it");
	assert_int_equal(r->state, RS_EXPIRED);
	assert_int_equal(r->attempts, 3);
	struct scheduler_stats st;
	scheduler_stats(w.s, &st);
	assert_int_equal(st.expired, 1);
	char *log = log_text(&w);
	assert_int_equal(count(log, "\"outcome\":\"expired\""), 1);
	free(log);
	world_close(&w);
}

static const struct script_reply unknown_user[] = {{STAGE_RCPT, "550 5.1.1 no such user here"}};

static void test_rcpt_5xx_bounces(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	struct fake_rcpt *r = add_rcpt(&w, "a@one.test", T0_S, unknown_user, 1);
	struct fake_rcpt *ok = add_rcpt(&w, "b@one.test", T0_S, NULL, 0);
	world_start(&w);
	run_until(&w, broke, NULL, "both final");
	assert_int_equal(r->state, RS_BOUNCED);
	assert_int_equal(r->attempts, 1);
	assert_string_equal(r->stage, "rcpt");
	assert_string_equal(r->category, "invalid_recipient");
	assert_int_equal(ok->state, RS_DELIVERED);
	char *log = log_text(&w);
	assert_int_equal(count(log, "\"outcome\":\"bounced\""), 1);
	free(log);
	world_close(&w);
}

static const struct script_reply sender_refused[] = {
    {STAGE_MAIL, "550 5.7.1 sender address rejected"}};

static void test_mail_from_5xx_keeps_queued_and_refuses_campaign(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	struct fake_rcpt *a = add_rcpt(&w, "a@one.test", T0_S, sender_refused, 1);
	struct fake_rcpt *b = add_rcpt(&w, "b@one.test", T0_S, NULL, 0);
	struct fake_rcpt *c = add_rcpt(&w, "c@one.test", T0_S, NULL, 0);
	c->next_attempt_s = T0_S + 10; /* comes due during the refusal */
	world_start(&w);
	run_until_updates(&w, a, 1, "the refusal is recorded");
	settle(&w);
	int64_t until = T0_S + MAX_BACKOFF_S;
	assert_int_equal(a->state, RS_QUEUED); /* the recipient is not at fault */
	assert_int_equal(a->attempts, 1);
	assert_int_equal(a->next_attempt_s, until);
	/* the probe: b never went out behind the refused sender */
	assert_int_equal(b->tries, 0);
	assert_int_equal(b->state, RS_QUEUED);
	assert_int_equal(b->next_attempt_s, until);
	assert_int_equal(w.signs, 1);
	assert_string_equal(w.last_sign, "sender_rejected");
	/* one that comes due before the end is parked when loaded, not sent */
	int conns = w.conns_started;
	world_advance(&w, 10 * 1000);
	struct rcpt_count parked = {c, 1};
	run_until(&w, has_postpones, &parked, "c is loaded and parked");
	assert_int_equal(c->tries, 0);
	assert_int_equal(c->postpones, 1);
	assert_int_equal(c->next_attempt_s, until);
	assert_int_equal(w.conns_started, conns);
	/* after the refusal, the campaign goes to the site again */
	world_advance(&w, (until - T0_S) * 1000);
	run_until(&w, broke, NULL, "all three delivered after the refusal");
	assert_int_equal(a->state, RS_DELIVERED);
	assert_int_equal(b->state, RS_DELIVERED);
	assert_int_equal(c->state, RS_DELIVERED);
	world_close(&w);
}

static int delivered(struct world *w, const void *arg)
{
	(void)w;
	return ((const struct fake_rcpt *)arg)->state == RS_DELIVERED;
}

/* An operator's pause: nothing starts at the site (its queue is parked in
 * the store), another site goes on; a resume makes the parked recipients
 * due at once and they are delivered. */
static void test_paused_site_sends_nothing_until_resumed(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	w.pause =
	    (struct site_pause){.scope = "site", .target = "mx.one.test", .reason = "blocked"};
	struct fake_rcpt *a = add_rcpt(&w, "a@one.test", T0_S, NULL, 0);
	struct fake_rcpt *b = add_rcpt(&w, "b@two.test", T0_S, NULL, 0);
	world_start(&w);
	run_until(&w, delivered, b, "the other site delivers");
	struct rcpt_count parked = {a, 1};
	run_until(&w, has_postpones, &parked, "the paused site's recipient is parked");
	for (int i = 0; i < 10; i++) {
		world_advance(&w, 30 * 1000);
		settle(&w);
	}
	assert_int_equal(a->tries, 0);
	assert_int_equal(a->state, RS_QUEUED);
	assert_false(w.broke);
	w.pause.scope = NULL; /* sluice site resume */
	world_advance(&w, 1000);
	settle(&w); /* seen: what the pause parked is due at the next second */
	assert_true(w.due_now >= 1);
	world_advance(&w, 1000);
	run_until(&w, broke, NULL, "resumed: it delivers");
	assert_int_equal(a->state, RS_DELIVERED);
	assert_int_equal(a->tries, 1);
	world_close(&w);
}

/* A provider's pause for a while (--for 2h) ends by itself. */
static void test_paused_for_a_while_resumes_by_itself(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	w.pause = (struct site_pause){
	    .scope = "source", .target = "192.0.2.10", .reason = "listed", .until_s = T0_S + 7200};
	struct fake_rcpt *a = add_rcpt(&w, "a@one.test", T0_S, NULL, 0);
	world_start(&w);
	struct rcpt_count parked = {a, 1};
	run_until(&w, has_postpones, &parked, "parked while paused");
	assert_int_equal(a->next_attempt_s, T0_S + 7200);
	world_advance(&w, 7199 * 1000);
	settle(&w);
	assert_int_equal(a->tries, 0);
	world_advance(&w, 1000);
	settle(&w); /* the end of the pause is seen: due at the next second */
	world_advance(&w, 1000);
	run_until(&w, broke, NULL, "delivered when the pause ends");
	assert_int_equal(a->state, RS_DELIVERED);
	world_close(&w);
}

/* A cancel (the store already ended the queued rows): what the scheduler
 * holds leaves memory unsent and the run finishes. */
static void test_cancelled_campaign_ends(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	struct fake_rcpt *a = add_rcpt(&w, "a@slow.test", T0_S, NULL, 0);
	struct fake_rcpt *b = add_rcpt(&w, "b@slow.test", T0_S, NULL, 0);
	world_start(&w);
	run_until(&w, delivered, a, "the first goes at once");
	settle(&w);
	assert_int_equal(b->tries, 0); /* 1/min: waits at the site */
	b->state = RS_CANCELLED;       /* sluice campaign cancel c1 */
	snprintf(w.cancelled, sizeof(w.cancelled), "c1");
	world_advance(&w, 1000);
	run_until(&w, broke, NULL, "the run finishes");
	world_advance(&w, 60 * 1000);
	settle(&w);
	assert_int_equal(b->tries, 0);
	assert_int_equal(b->state, RS_CANCELLED);
	struct scheduler_stats st;
	scheduler_stats(w.s, &st);
	assert_int_equal(st.in_flight, 0);
	world_close(&w);
}

static void test_message_rate_paces_on_the_clock(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	struct fake_rcpt *a = add_rcpt(&w, "a@slow.test", T0_S, NULL, 0);
	struct fake_rcpt *b = add_rcpt(&w, "b@slow.test", T0_S, NULL, 0);
	world_start(&w);
	run_until(&w, delivered, a, "the first goes at once");
	settle(&w);
	assert_int_equal(b->tries, 0); /* 1/min: the second waits for its token */
	assert_int_equal(w.ntimers, 1);
	world_advance(&w, 59 * 1000);
	settle(&w);
	assert_int_equal(b->tries, 0);
	world_advance(&w, 1000);
	run_until(&w, broke, NULL, "the second a minute later");
	assert_int_equal(b->state, RS_DELIVERED);
	world_close(&w);
}

/* A recipient's own expiry: a 4xx is retried no later than it, and at it
 * the recipient expires without another connection. */
static void test_4xx_then_own_expiry(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	struct fake_rcpt *r = add_rcpt(&w, "a@one.test", T0_S, always_later, 3);
	r->expires_at_s = T0_S + 600;
	world_start(&w);
	run_until_updates(&w, r, 1, "the first attempt");
	assert_int_equal(r->next_attempt_s, T0_S + MIN_BACKOFF_S);
	world_advance(&w, MIN_BACKOFF_S * 1000);
	run_until_updates(&w, r, 2, "the second attempt");
	/* the backoff (600 s) would end at T0 + 900: capped at the expiry */
	assert_int_equal(r->state, RS_QUEUED);
	assert_int_equal(r->next_attempt_s, T0_S + 600);
	int conns = w.conns_started;
	world_advance(&w, (600 - MIN_BACKOFF_S - 1) * 1000);
	settle(&w);
	assert_int_equal(r->tries, 2);
	world_advance(&w, 1000);
	run_until(&w, broke, NULL, "it expires at its expiry");
	assert_int_equal(r->state, RS_EXPIRED);
	assert_int_equal(r->tries, 2); /* never sent again */
	assert_int_equal(r->attempts, 2);
	assert_int_equal(w.conns_started, conns);
	assert_string_equal(r->stage, "expiry");
	assert_string_equal(r->category, "expired");
	struct scheduler_stats st;
	scheduler_stats(w.s, &st);
	assert_int_equal(st.expired, 1);
	char *log = log_text(&w);
	assert_int_equal(count(log, "\"outcome\":\"expired\""), 1);
	assert_int_equal(
	    count(log, "\"reply\":\"expired before delivery (expires-at 2026-01-01T00:10:00Z)\""),
	    1);
	assert_int_equal(count(log, "\"stage\":\"expiry\""), 1);
	assert_int_equal(count(log, "\"attempt\":2,"), 2); /* the second try and the expiry */
	free(log);
	world_close(&w);
}

/* A send time in the future is the first next attempt: nothing goes (no
 * connection), the run waits instead of finishing, and at the time it goes. */
static void test_send_at_in_the_future(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	struct fake_rcpt *r = add_rcpt(&w, "a@one.test", T0_S, NULL, 0);
	struct fake_rcpt *now = add_rcpt(&w, "b@one.test", T0_S, NULL, 0);
	r->send_at_s = r->next_attempt_s = T0_S + 3600;
	world_start(&w);
	run_until(&w, delivered, now, "the other one goes at once");
	settle(&w);
	assert_int_equal(r->tries, 0);
	world_advance(&w, 1800 * 1000);
	settle(&w);
	world_advance(&w, 1799 * 1000);
	settle(&w);
	assert_int_equal(r->tries, 0);
	assert_int_equal(r->state, RS_QUEUED);
	assert_false(w.broke); /* waiting, not finished */
	world_advance(&w, 1000);
	run_until(&w, broke, NULL, "it goes at its time");
	assert_int_equal(r->state, RS_DELIVERED);
	assert_int_equal(r->attempts, 1);
	world_close(&w);
}

/* Loaded before its expiry but still waiting at a slow site when it comes:
 * expired when its turn comes, not sent. */
static void test_expires_while_waiting_at_a_site(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	struct fake_rcpt *a = add_rcpt(&w, "a@slow.test", T0_S, NULL, 0);
	struct fake_rcpt *b = add_rcpt(&w, "b@slow.test", T0_S, NULL, 0);
	b->expires_at_s = T0_S + 30;
	world_start(&w);
	run_until(&w, delivered, a, "the first goes at once");
	settle(&w);
	assert_int_equal(b->tries, 0); /* 1/min: waits for its token */
	world_advance(&w, 60 * 1000);
	run_until(&w, broke, NULL, "its turn comes after its expiry");
	assert_int_equal(b->state, RS_EXPIRED);
	assert_int_equal(b->tries, 0);
	assert_int_equal(b->attempts, 0);
	assert_string_equal(b->stage, "expiry");
	world_close(&w);
}

/* Parked at a suspended site: due again no later than its expiry, and
 * expired then, while the suspension lasts. */
static void test_parked_no_later_than_expiry(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	struct fake_rcpt *a = add_rcpt(&w, "a@one.test", T0_S, rate_limited, 1);
	struct fake_rcpt *b = add_rcpt(&w, "b@one.test", T0_S, NULL, 0);
	b->expires_at_s = T0_S + 30;
	world_start(&w);
	run_until_updates(&w, a, 1, "the 421 is recorded");
	struct rcpt_count parked = {b, 1};
	run_until(&w, has_postpones, &parked, "b is parked");
	assert_int_equal(b->next_attempt_s, T0_S + 30); /* not the suspension's end */
	world_advance(&w, 30 * 1000);
	run_until_updates(&w, b, 1, "b expires");
	assert_int_equal(b->state, RS_EXPIRED);
	assert_int_equal(b->tries, 0);
	world_close(&w);
}

/* What the store kept of a site (a run before this one) holds from the
 * start: a suspension still running, then a probe, then the learned rate;
 * what changed is written back. */
static void test_learned_limits_restored_from_the_store(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, config_yaml);
	snprintf(w.learned_site, sizeof(w.learned_site), "mx.one.test");
	w.learned = (struct store_learned){.rate = 1.0 / 60,
	                                   .ceiling = 1.0 / 60,
	                                   .connections = 1,
	                                   .level = 1,
	                                   .throttled_s = T0_S - 30,
	                                   .suspended_until_s = T0_S + 30};
	struct fake_rcpt *a = add_rcpt(&w, "a@one.test", T0_S, NULL, 0);
	struct fake_rcpt *b = add_rcpt(&w, "b@one.test", T0_S, NULL, 0);
	world_start(&w);
	settle(&w);
	assert_int_equal(w.conns_started, 0); /* still suspended, after the restart */
	assert_true(a->next_attempt_s >= T0_S + 30 && a->next_attempt_s <= T0_S + 31);
	world_advance(&w, 31 * 1000);
	run_until_updates(&w, a, 1, "the first after the suspension");
	settle(&w);
	assert_int_equal(a->state, RS_DELIVERED);
	assert_int_equal(b->tries, 0); /* the learned rate: one a minute */
	world_advance(&w, 61 * 1000);
	run_until(&w, broke, NULL, "the second a minute later");
	assert_int_equal(b->state, RS_DELIVERED);
	assert_true(w.conns_started <= 2); /* one at a time (the first QUIT when idle) */
	assert_true(w.learned_puts >= 1);
	assert_true(w.learned.rate > 0.016 && w.learned.rate < 0.017); /* kept as it was */
	assert_int_equal(w.learned.connections, 1);
	world_close(&w);
}

/* ---- provider-wide limits (engine/site.c) ----
 * Many recipient domains, each its own site with its own MX host name,
 * whose MX names match one `providers` glob share the provider's
 * connection cap and message rate (per source); the same world without
 * the entry opens more connections at once (the control). */

#define DOMAINS    20
#define PER_DOMAIN 2
#define PROV_CONNS 3
#define PROV_RATE  10 /* messages per second */
#define STEP_MS    250
#define STEPS_MAX  80

#define CONFIG_HEAD                                                                                \
	"sources:\n"                                                                               \
	"  - ip: 192.0.2.10\n"                                                                     \
	"    helo: mta1.example.com\n"                                                             \
	"sender:\n"                                                                                \
	"  envelope_from: bounces@news.example.com\n"                                              \
	"delivery:\n"                                                                              \
	"  idle_timeout: 1s\n"                                                                     \
	"  provider_policies: false\n"                                                             \
	"  signing_threads: 0\n"                                                                   \
	"  initial_connections_per_site: 2\n"

static const char with_provider[] = CONFIG_HEAD "providers:\n"
                                                "  - name: tenantmail\n"
                                                "    mx: ['mx.p*.provider.test']\n"
                                                "    max_connections: 3\n"
                                                "    message_rate: 10/s\n";
static const char without_provider[] = CONFIG_HEAD;

static void add_domains(struct world *w)
{
	char mailbox[64];

	for (int d = 0; d < DOMAINS; d++)
		for (int k = 0; k < PER_DOMAIN; k++) {
			snprintf(mailbox, sizeof(mailbox), "u%d@p%d.provider.test", k, d);
			add_rcpt(w, mailbox, T0_S, NULL, 0);
		}
}

static int count_delivered(const struct world *w)
{
	int n = 0;

	for (size_t i = 0; i < w->nrcpts; i++)
		n += w->rcpts[i].state == RS_DELIVERED;
	return n;
}

/* Steps the clock until everything is delivered: returns the fake
 * milliseconds it took; checks the rate on the way (the bucket's burst is a
 * second's worth, then PROV_RATE a second) when rate is set. */
static int64_t deliver_all(struct world *w, int rate)
{
	int64_t t = 0;

	settle(w);
	for (int i = 0; i < STEPS_MAX && count_delivered(w) < (int)w->nrcpts; i++) {
		if (rate)
			assert_true(count_delivered(w) <= rate + rate * t / 1000);
		world_advance(w, STEP_MS);
		t += STEP_MS;
		settle(w);
	}
	assert_int_equal(count_delivered(w), (int)w->nrcpts);
	return t;
}

static void test_provider_caps_connections_and_rate_across_sites(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, with_provider);
	add_domains(&w);
	world_start(&w);
	int64_t took = deliver_all(&w, PROV_RATE);
	print_message("provider: %d delivered in %lld ms, at most %d connections at once (%d "
	              "started)\n",
	              count_delivered(&w), (long long)took, w.conns_open_max, w.conns_started);
	assert_true(w.conns_open_max <= PROV_CONNS);
	assert_true(w.conns_open_max >= 2); /* it did use the room it has */
	/* PROV_RATE a second after the first second's burst */
	assert_true(took >= 1000 * (DOMAINS * PER_DOMAIN - PROV_RATE) / PROV_RATE - STEP_MS);
	assert_true(w.provider_snaps > 0);
	assert_int_equal(w.provider_conn_limit, PROV_CONNS);
	assert_true(w.provider_conns_max <= PROV_CONNS);
	world_close(&w);
}

/* The control: without the entry each site opens its own connections. */
static void test_without_provider_more_connections(void **state)
{
	struct world w;

	(void)state;
	world_open(&w, without_provider);
	add_domains(&w);
	world_start(&w);
	int64_t took = deliver_all(&w, 0);
	print_message("no provider: %d delivered in %lld ms, at most %d connections at once\n",
	              count_delivered(&w), (long long)took, w.conns_open_max);
	assert_true(w.conns_open_max > PROV_CONNS);
	assert_int_equal(w.provider_snaps, 0);
	world_close(&w);
}

/* ---- what a provider taught (engine/site.c) ----
 * A throttle at one site of a provider teaches the provider's rate for the
 * source (no message_rate configured): every site of it waits out the
 * suspension, then goes at the learned rate; the store keeps it as
 * "provider:NAME", and a later run starts at it. */

static const char provider_learning[] = CONFIG_HEAD "providers:\n"
                                                    "  - name: tenantmail\n"
                                                    "    mx: ['mx.p*.provider.test']\n"
                                                    "    max_connections: 50\n"
                                                    "rules:\n"
                                                    "  - name: test-rate-limit\n"
                                                    "    code: 421\n"
                                                    "    text: \"rate limit\"\n"
                                                    "    suspend: 10m\n";

static int delivered_of(struct fake_rcpt **r, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += r[i]->state == RS_DELIVERED;
	return k;
}

static int first_delivered(struct world *w, const void *arg)
{
	(void)arg;
	return count_delivered(w) >= 9;
}

static void test_provider_learns_across_its_sites(void **state)
{
	struct world w;
	char mailbox[64];
	struct fake_rcpt *later[4];

	(void)state;
	world_open(&w, provider_learning);
	for (int k = 0; k < 9; k++) { /* accepted in the minute before the throttle */
		snprintf(mailbox, sizeof(mailbox), "u%d@p0.provider.test", k);
		add_rcpt(&w, mailbox, T0_S, NULL, 0);
	}
	later[0] = add_rcpt(&w, "x@p1.provider.test", T0_S, rate_limited, 1);
	later[0]->next_attempt_s = T0_S + 5;
	for (int k = 1; k < 4; k++) { /* a second site of the provider */
		snprintf(mailbox, sizeof(mailbox), "b%d@p2.provider.test", k);
		later[k] = add_rcpt(&w, mailbox, T0_S, NULL, 0);
		later[k]->next_attempt_s = T0_S + 10;
	}
	world_start(&w);
	run_until(&w, first_delivered, NULL, "the first nine delivered");
	world_advance(&w, 5000);
	run_until_updates(&w, later[0], 1, "the 421 at p1");
	world_advance(&w, 4000);
	settle(&w);
	/* kept as the provider's, per source: 90% of 9 a minute */
	assert_string_equal(w.learned_site, "provider:tenantmail");
	print_message("learned %.2f msg/min, suspended until T0+%lld\n", w.learned.rate * 60,
	              (long long)(w.learned.suspended_until_s - T0_S));
	assert_true(w.learned.rate > 0.9 * 9 / 60 - 0.001 && w.learned.rate < 0.9 * 9 / 60 + 0.001);
	assert_true(w.learned.suspended_until_s >= T0_S + 5 + SUSPEND_S);
	/* the second site is due, but its provider is suspended */
	world_advance(&w, 10 * 1000);
	settle(&w);
	assert_int_equal(delivered_of(later, 4), 0);
	for (int k = 1; k < 4; k++)
		assert_int_equal(later[k]->tries, 0);
	/* the suspension ends: one, then one per 1/rate (7.4 s) */
	world_advance(&w, (5 + SUSPEND_S + 1 - 19) * 1000); /* T0+66 */
	settle(&w);
	assert_int_equal(delivered_of(later, 4), 1);
	world_advance(&w, 3000);
	settle(&w);
	assert_int_equal(delivered_of(later, 4), 1);
	world_advance(&w, 5000);
	settle(&w);
	assert_int_equal(delivered_of(later, 4), 2);
	world_close(&w);
}

/* What the store kept for the provider holds from the start, at a site
 * that never throttled; a site of no provider is not held by it. */
static void test_provider_learned_restored(void **state)
{
	struct world w;
	char mailbox[64];
	struct fake_rcpt *r[3];

	(void)state;
	world_open(&w, provider_learning);
	snprintf(w.learned_site, sizeof(w.learned_site), "provider:tenantmail");
	w.learned = (struct store_learned){.rate = 0.1, /* one per 10 s */
	                                   .ceiling = 0.1,
	                                   .level = 0,
	                                   .throttled_s = T0_S - 3600};
	for (int k = 0; k < 3; k++) {
		snprintf(mailbox, sizeof(mailbox), "u%d@p7.provider.test", k);
		r[k] = add_rcpt(&w, mailbox, T0_S, NULL, 0);
	}
	struct fake_rcpt *other = add_rcpt(&w, "a@one.test", T0_S, NULL, 0);
	struct fake_rcpt *other2 = add_rcpt(&w, "b@one.test", T0_S, NULL, 0);
	world_start(&w);
	settle(&w);
	settle(&w);
	assert_int_equal(other->state, RS_DELIVERED);
	assert_int_equal(other2->state, RS_DELIVERED);
	assert_int_equal(delivered_of(r, 3), 1);
	world_advance(&w, 5000);
	settle(&w);
	assert_int_equal(delivered_of(r, 3), 1);
	world_advance(&w, 6000);
	settle(&w);
	assert_int_equal(delivered_of(r, 3), 2);
	world_close(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_delivers),
	    cmocka_unit_test(test_deferred_then_retried_after_backoff),
	    cmocka_unit_test(test_greylisted_retried_after_greylist_delay),
	    cmocka_unit_test(test_rate_limit_rule_suspends_site_then_restores),
	    cmocka_unit_test(test_expires_after_max_lifetime),
	    cmocka_unit_test(test_rcpt_5xx_bounces),
	    cmocka_unit_test(test_mail_from_5xx_keeps_queued_and_refuses_campaign),
	    cmocka_unit_test(test_message_rate_paces_on_the_clock),
	    cmocka_unit_test(test_paused_site_sends_nothing_until_resumed),
	    cmocka_unit_test(test_paused_for_a_while_resumes_by_itself),
	    cmocka_unit_test(test_cancelled_campaign_ends),
	    cmocka_unit_test(test_4xx_then_own_expiry),
	    cmocka_unit_test(test_send_at_in_the_future),
	    cmocka_unit_test(test_expires_while_waiting_at_a_site),
	    cmocka_unit_test(test_parked_no_later_than_expiry),
	    cmocka_unit_test(test_learned_limits_restored_from_the_store),
	    cmocka_unit_test(test_provider_caps_connections_and_rate_across_sites),
	    cmocka_unit_test(test_without_provider_more_connections),
	    cmocka_unit_test(test_provider_learns_across_its_sites),
	    cmocka_unit_test(test_provider_learned_restored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
