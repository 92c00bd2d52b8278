/* Unit tests for src/engine/monitor.c: the danger signs read from delivery
 * outcomes (sender rejections pause after N, the RCPT TO failure rate) and
 * from complaints (warn, then pause), with a store in a temp dir and a
 * sink that keeps what it is told. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "unit.h"

#include "dlog/dlog.h"
#include "engine/monitor.h"
#include "engine/outcome.h"
#include "engine/scheduler_int.h"

#define NOW 1700000000

static char dir[64];
static struct config cfg;
static struct store *st;
static struct dlog *dl;

/* What the sink was told. */
static struct {
	int n, paused, from_delivery;
	char kind[64], detail[800];
} seen;

static void capture(void *arg, const struct monitor_sign *sg)
{
	(void)arg;
	seen.n++;
	seen.paused = sg->paused;
	seen.from_delivery = sg->from_delivery;
	snprintf(seen.kind, sizeof(seen.kind), "%s", sg->kind);
	snprintf(seen.detail, sizeof(seen.detail), "%s", sg->detail);
}

static const struct monitor_sink sink = {capture, NULL};

static int setup(void **state)
{
	struct err e;
	(void)state;
	cfg.from_domain = "news.example.com";
	cfg.monitor = (struct monitor_policy){.pause_after_sender_rejections = 3,
	                                      .rcpt_failure_warn = 0.1,
	                                      .min_messages = 10,
	                                      .complaint_warn = 0.1,
	                                      .complaint_pause = 0.25};
	if (!unit_tmpdir(dir, sizeof(dir)) || store_open(dir, &st, &e) != 0 ||
	    dlog_open(dir, &dl, &e) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dlog_close(dl);
	store_close(st);
	return unit_rmtree(dir);
}

/* Just enough scheduler for the monitor: config, store, log, no sites. */
static struct scheduler *fake_scheduler(void)
{
	struct scheduler *s = calloc(1, sizeof(*s));
	s->p.cfg = &cfg;
	s->p.store = engine_store_sqlite(st);
	s->p.clock = engine_clock_real();
	s->p.log = dl;
	s->p.sink = sink;
	s->sites = strmap_new();
	return s;
}

static void free_scheduler(struct scheduler *s)
{
	strmap_free(s->sites, NULL);
	free(s);
}

static void feed(struct scheduler *s, struct sched_campaign *c, const struct outcome_signs *o,
                 enum stage stage, int code, const char *text, enum category cat)
{
	struct reply r;
	reply_set_local(&r, code, "", text);
	r.local = 0;
	monitor_outcome(s, c, NULL, o, stage, &r, cat, "mx.example.org");
}

static void test_sender_rejections_pause_after_n(void **state)
{
	(void)state;
	struct scheduler *s = fake_scheduler();
	struct sched_campaign c = {.s = s, .id = "senders"};
	const struct outcome_signs rejected = {.counted = 1, .sender_rejected = 1};
	char reason[256];
	struct err e;

	memset(&seen, 0, sizeof(seen));
	monitor_campaign_start(s, &c);
	feed(s, &c, &rejected, STAGE_MAIL, 550, "blocked", CAT_REPUTATION_BLOCK);
	assert_int_equal(seen.n, 1); /* reported at once */
	assert_string_equal(seen.kind, "sender_rejected");
	assert_true(seen.from_delivery);
	assert_non_null(strstr(seen.detail, "550 blocked at mail from mx.example.org"));
	assert_non_null(strstr(seen.detail, "reputation_block; 1 so far"));
	feed(s, &c, &rejected, STAGE_MAIL, 550, "blocked", CAT_REPUTATION_BLOCK);
	assert_int_equal(seen.n, 1);
	assert_false(c.paused);
	feed(s, &c, &rejected, STAGE_DOT, 554, "spam", CAT_SPAM_CONTENT);
	assert_true(c.paused);
	assert_string_equal(seen.kind, "paused");
	assert_true(seen.paused);
	assert_int_equal(store_campaign_paused(st, "senders", reason, &e), 1);
	assert_non_null(strstr(reason, "3 permanent rejections of the sender or content"));
	/* a paused campaign counts nothing more */
	int n = seen.n;
	feed(s, &c, &rejected, STAGE_MAIL, 550, "blocked", CAT_REPUTATION_BLOCK);
	assert_int_equal(seen.n, n);
	/* an outcome that is not an attempt counts nothing */
	struct sched_campaign d = {.s = s, .id = "unsent"};
	monitor_campaign_start(s, &d);
	const struct outcome_signs none = {0};
	feed(s, &d, &none, STAGE_LOAD, 550, "suppressed", CAT_SUPPRESSED);
	assert_int_equal(d.mon_sender_rejected + d.mon_rcpt_failed + d.mon_delivered, 0);
	free_scheduler(s);
}

static void test_rcpt_failure_rate_warns(void **state)
{
	(void)state;
	struct scheduler *s = fake_scheduler();
	struct sched_campaign c = {.s = s, .id = "stale"};
	const struct outcome_signs ok = {.counted = 1, .delivered = 1, .provider_tried = 1},
	                           refused = {.counted = 1, .rcpt_failed = 1, .provider_tried = 1};

	memset(&seen, 0, sizeof(seen));
	monitor_campaign_start(s, &c);
	for (int i = 0; i < 8; i++)
		feed(s, &c, &ok, STAGE_DOT, 250, "ok", CAT_DELIVERED);
	feed(s, &c, &refused, STAGE_RCPT, 550, "User unknown", CAT_INVALID_RECIPIENT);
	assert_int_equal(seen.n, 0); /* 9 judged: below min_messages */
	feed(s, &c, &refused, STAGE_RCPT, 550, "User unknown", CAT_INVALID_RECIPIENT);
	assert_int_equal(seen.n, 1); /* 2 of 10: above 10% */
	assert_string_equal(seen.kind, "rcpt_failure_rate");
	assert_string_equal(seen.detail, "20.0% of RCPT TO refused (2 of 10): a stale list?");
	assert_false(seen.paused);
	feed(s, &c, &refused, STAGE_RCPT, 550, "User unknown", CAT_INVALID_RECIPIENT);
	assert_int_equal(seen.n, 1); /* warned once */
	assert_false(c.paused);      /* no rcpt_failure_pause set */
	free_scheduler(s);
}

static void deliver(void *arg, struct queued_rcpt *r)
{
	struct rcpt_outcome o = {.state = RS_DELIVERED, .attempts = 1, .code = 250};
	struct err e;
	(void)arg;
	assert_int_equal(store_rcpt_update(st, r->id, &o, &e), 0);
	queued_rcpt_free(r);
}

/* A campaign with n delivered recipients in the store. */
static void delivered_campaign(const char *id, int n)
{
	struct err e;
	struct campaign_rec rec = {.id = (char *)id,
	                           .template_text = "From: a@b.c\r\n\r\nx\r\n",
	                           .template_len = 18,
	                           .template_path = "t.eml",
	                           .names = "",
	                           .envelope_from = "b@x.test",
	                           .salt = (char *)id,
	                           .created_s = 1};
	assert_int_equal(store_campaign_add(st, &rec, &e), 0);
	for (int i = 0; i < n; i++) {
		char a[64];
		snprintf(a, sizeof(a), "r%d@x.test", i);
		assert_int_equal(store_rcpt_add(st, id, a, a, "x.test", "", 0, 0, 100, &e), 1);
	}
	assert_int_equal(store_commit(st, &e), 0);
	struct store_cursor cur = STORE_CURSOR_START;
	assert_int_equal(store_fetch_ready(st, id, &cur, 1000, n, deliver, NULL, &e), n);
	assert_int_equal(store_commit(st, &e), 0);
}

static int complaint(const char *campaign, const char *rcpt)
{
	struct err e;
	struct engine_store port = engine_store_sqlite(st);
	return monitor_complaint(&port, &cfg.monitor, campaign, rcpt, NOW, &sink, &e);
}

static void test_complaints_warn_then_pause(void **state)
{
	(void)state;
	char reason[256];
	struct err e;

	memset(&seen, 0, sizeof(seen));
	delivered_campaign("fbl", 10);
	assert_int_equal(complaint("fbl", "r1@x.test"), 0);
	assert_int_equal(seen.n, 0);                        /* 1 in 10: not above 10% */
	assert_int_equal(complaint("fbl", "r1@x.test"), 0); /* a replay counts once */
	assert_int_equal(seen.n, 0);
	assert_int_equal(complaint("fbl", "r2@x.test"), 0);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.kind, "complaint_rate");
	assert_string_equal(seen.detail, "20.00% complaints (2 for 10 delivered)");
	assert_false(seen.from_delivery);
	assert_false(seen.paused);
	assert_int_equal(store_campaign_paused(st, "fbl", reason, &e), 0);
	/* 3 of 10: above 25%, the campaign pauses in the store */
	assert_int_equal(complaint("fbl", "r3@x.test"), 0);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.kind, "paused");
	assert_string_equal(seen.detail, "30.00% complaints (3 for 10 delivered)");
	assert_true(seen.paused);
	assert_int_equal(store_campaign_paused(st, "fbl", reason, &e), 1);
	assert_string_equal(reason, "30.00% complaints (3 for 10 delivered)");
	/* paused once */
	assert_int_equal(complaint("fbl", "r4@x.test"), 0);
	assert_int_equal(seen.n, 2);
	int64_t n;
	assert_int_equal(store_sign_count(st, "fbl", "complaint", &n, &e), 0);
	assert_int_equal(n, 4);
	/* too few delivered to judge: counted, no sign */
	delivered_campaign("small", 3);
	assert_int_equal(complaint("small", "r1@x.test"), 0);
	assert_int_equal(seen.n, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sender_rejections_pause_after_n),
	    cmocka_unit_test(test_rcpt_failure_rate_warns),
	    cmocka_unit_test(test_complaints_warn_then_pause),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
