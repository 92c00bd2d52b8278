/* Unit tests for src/engine/outcome.c: what a reply means for the
 * recipient's fate, the list, the site and the monitor; and the list
 * policy's thresholds, written through a suppression list in a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "unit.h"

#include "engine/outcome.h"
#include "mail/classify.h"
#include "shape/rules.h"
#include "store/suppress.h"

#define DAY 86400
#define NOW 1700000000

static struct config cfg;
static struct classifier *cls;
static struct rules *rules;
static struct suppress *sp;
static char dir[64];

static int setup(void **state)
{
	struct err e;
	(void)state;
	cfg.min_backoff_s = 300;
	cfg.max_backoff_s = 4000;
	cfg.max_lifetime_s = 5 * DAY;
	cfg.greylist_delay_s = 120;
	cfg.suppression = (struct suppression_policy){
	    .scope = SCOPE_GLOBAL, .rcpt_strikes = 3, .soft_bounces = 3, .soft_span_s = 10 * DAY};
	if (!unit_tmpdir(dir, sizeof(dir)) || suppress_open(dir, &sp, &e) != 0 ||
	    classifier_new(NULL, 0, &cls, &e) != 0 || rules_new(&cfg, &rules, &e) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	suppress_close(sp);
	classifier_free(cls);
	rules_free(rules);
	return unit_rmtree(dir);
}

/* One attempt of a recipient queued an hour ago, tried `attempts` times. */
struct
try {
	enum stage stage;
	int code;
	const char *enh, *text;
	int attempts, local, retry_now;
	int64_t queued_ago_s;
	const char *suppressed;
	int64_t send_at_s, expires_at_s; /* the recipient's own times, 0: none */
};

static struct outcome decide(const struct try *t)
{
	struct reply r;
	struct classification c;
	struct outcome o;

	reply_set_local(&r, t->code, t->enh ? t->enh : "", t->text ? t->text : "");
	r.local = t->local;
	classify(cls, t->stage, t->code, r.enhanced, r.text, &c);
	struct outcome_in in = {
	    .stage = t->stage,
	    .reply = &r,
	    .cls = &c,
	    .cfg = &cfg,
	    .now_s = NOW,
	    .attempts = t->attempts,
	    .queued_at_s = NOW - (t->queued_ago_s ? t->queued_ago_s : 3600),
	    .due_s = NOW - 10,
	    .send_at_s = t->send_at_s,
	    .expires_at_s = t->expires_at_s,
	    .suppressed = t->suppressed,
	    .retry_now = t->retry_now,
	    .at_site = 1,
	    .rules = rules,
	    .mx_host = "mx.example.org",
	};
	outcome_decide(&in, &o);
	return o;
}

static void test_delivered(void **state)
{
	(void)state;
	struct outcome o = decide(&(struct try){.stage = STAGE_DOT, .code = 250, .text = "ok"});
	assert_int_equal(o.state, RS_DELIVERED);
	assert_string_equal(o.name, "delivered");
	assert_int_equal(o.count, OC_DELIVERED);
	assert_int_equal(o.attempts, 1);
	assert_int_equal(o.category, CAT_DELIVERED);
	assert_int_equal(o.list, OUTCOME_LIST_CLEAR);
	assert_true(o.site_delivered);
	assert_null(o.rule);
	assert_true(o.passed_mail);
	assert_true(o.signs.counted && o.signs.delivered && !o.signs.sender_rejected);
}

static void test_4xx_backs_off(void **state)
{
	(void)state;
	/* the third attempt waits min * 2^2 */
	struct outcome o = decide(&(struct try){
	    .stage = STAGE_RCPT, .code = 451, .enh = "4.3.0", .text = "try later", .attempts = 2});
	assert_int_equal(o.state, RS_QUEUED);
	assert_string_equal(o.name, "deferred");
	assert_int_equal(o.count, OC_DEFERRED);
	assert_int_equal(o.attempts, 3);
	assert_int_equal(o.next_attempt_s, NOW + 1200);
	assert_int_equal(o.list, OUTCOME_LIST_NONE); /* not final: nothing for the list */
	assert_false(o.retry_now);
	assert_true(o.signs.provider_tried && o.signs.provider_deferred);
	/* capped at the longest backoff, and never past the lifetime */
	o = decide(
	    &(struct try){.stage = STAGE_RCPT, .code = 451, .text = "later", .attempts = 20});
	assert_int_equal(o.next_attempt_s, NOW + 4000);
	o = decide(&(struct try){
	    .stage = STAGE_RCPT, .code = 451, .text = "later", .queued_ago_s = 5 * DAY - 100});
	assert_int_equal(o.next_attempt_s, NOW + 100);
	/* a dropped connection: again at once, keeping the due time */
	o = decide(&(struct try){.stage = STAGE_DOT, .code = 421, .text = "lost", .retry_now = 1});
	assert_true(o.retry_now);
	assert_int_equal(o.next_attempt_s, NOW - 10);
}

static void test_greylisted_retries_soon(void **state)
{
	(void)state;
	struct outcome o = decide(&(struct try){.stage = STAGE_RCPT,
	                                        .code = 450,
	                                        .enh = "4.7.1",
	                                        .text = "Greylisted, see http://x",
	                                        .attempts = 5});
	assert_int_equal(o.category, CAT_GREYLISTED);
	assert_int_equal(o.state, RS_QUEUED);
	assert_int_equal(o.next_attempt_s, NOW + 120);
	assert_false(o.signs.provider_tried); /* expected, not a slowdown */
}

static void test_5xx_at_rcpt_bounces(void **state)
{
	(void)state;
	struct outcome o = decide(&(struct try){
	    .stage = STAGE_RCPT, .code = 550, .enh = "5.1.1", .text = "User unknown"});
	assert_int_equal(o.state, RS_BOUNCED);
	assert_string_equal(o.name, "bounced");
	assert_int_equal(o.count, OC_BOUNCED);
	assert_int_equal(o.category, CAT_INVALID_RECIPIENT);
	assert_int_equal(o.list, OUTCOME_LIST_SUPPRESS);
	assert_false(o.refuse_campaign);
	assert_true(o.passed_mail);
	assert_true(o.signs.rcpt_failed);
	assert_false(o.signs.sender_rejected);
	/* a transient category does not change the fate: the code class decides */
	o = decide(&(struct try){
	    .stage = STAGE_RCPT, .code = 552, .enh = "5.2.2", .text = "mailbox full"});
	assert_int_equal(o.state, RS_BOUNCED);
	assert_int_equal(o.list, OUTCOME_LIST_SOFT_BOUNCE);
}

static void test_5xx_at_mail_refuses_the_sender(void **state)
{
	(void)state;
	struct outcome o = decide(&(struct try){.stage = STAGE_MAIL,
	                                        .code = 550,
	                                        .enh = "5.7.1",
	                                        .text = "sender address rejected: policy"});
	assert_int_equal(o.state, RS_QUEUED); /* the recipient stays queued */
	assert_string_equal(o.name, "deferred");
	assert_int_equal(o.next_attempt_s, NOW + 4000);
	assert_true(o.refuse_campaign);
	assert_false(o.passed_mail);
	assert_int_equal(o.list, OUTCOME_LIST_NONE);
	assert_true(o.signs.sender_rejected);
	/* at the end of its lifetime it expires (counted as deferred) */
	o = decide(
	    &(struct try){.stage = STAGE_MAIL, .code = 550, .text = "no", .queued_ago_s = 5 * DAY});
	assert_int_equal(o.state, RS_EXPIRED);
	assert_string_equal(o.name, "expired");
	assert_int_equal(o.count, OC_DEFERRED);
	/* one sluice made itself at MAIL FROM is the message's: bounced */
	o = decide(&(struct try){
	    .stage = STAGE_MAIL, .code = 554, .enh = "5.6.3", .text = "no 8BITMIME", .local = 1});
	assert_int_equal(o.state, RS_BOUNCED);
	assert_false(o.refuse_campaign);
	assert_false(o.signs.sender_rejected);
}

static void test_expires_after_lifetime(void **state)
{
	(void)state;
	struct outcome o = decide(&(struct try){.stage = STAGE_RCPT,
	                                        .code = 452,
	                                        .enh = "4.2.2",
	                                        .text = "mailbox full",
	                                        .queued_ago_s = 5 * DAY});
	assert_int_equal(o.state, RS_EXPIRED);
	assert_string_equal(o.name, "expired");
	assert_int_equal(o.count, OC_EXPIRED);
	assert_int_equal(o.list, OUTCOME_LIST_SOFT_BOUNCE);
	/* an expiry after failures at the connection is not the recipient's */
	o = decide(&(struct try){
	    .stage = STAGE_CONNECT, .code = 421, .text = "timed out", .queued_ago_s = 6 * DAY});
	assert_int_equal(o.state, RS_EXPIRED);
	assert_int_equal(o.list, OUTCOME_LIST_NONE);
}

static void test_suppressed_since_queued(void **state)
{
	(void)state;
	struct outcome o = decide(&(struct try){.stage = STAGE_LOAD,
	                                        .code = 550,
	                                        .enh = "5.7.1",
	                                        .text = "not sent",
	                                        .local = 1,
	                                        .suppressed = "unsubscribe"});
	assert_int_equal(o.state, RS_SUPPRESSED);
	assert_string_equal(o.name, "suppressed");
	assert_int_equal(o.count, OC_SUPPRESSED);
	assert_int_equal(o.category, CAT_SUPPRESSED);
	assert_string_equal(category_name(o.category), "suppressed");
	assert_int_equal(o.list, OUTCOME_LIST_NONE);
	assert_false(o.passed_mail);
	assert_false(o.signs.counted);
}

static void test_own_expiry_caps_the_retry(void **state)
{
	(void)state;
	/* the backoff (1200 s) would go past the expiry: the retry is at it */
	struct outcome o = decide(&(struct try){.stage = STAGE_RCPT,
	                                        .code = 451,
	                                        .text = "try later",
	                                        .attempts = 2,
	                                        .expires_at_s = NOW + 600});
	assert_int_equal(o.state, RS_QUEUED);
	assert_int_equal(o.next_attempt_s, NOW + 600);
	/* a greylisting delay too */
	o = decide(&(struct try){.stage = STAGE_RCPT,
	                         .code = 450,
	                         .enh = "4.7.1",
	                         .text = "Greylisted, see http://postgrey.schweikert.ch/",
	                         .expires_at_s = NOW + 60});
	assert_int_equal(o.category, CAT_GREYLISTED);
	assert_int_equal(o.next_attempt_s, NOW + 60);
	/* one that ends before the expiry is not moved */
	o = decide(&(struct try){
	    .stage = STAGE_RCPT, .code = 451, .text = "later", .expires_at_s = NOW + 301});
	assert_int_equal(o.next_attempt_s, NOW + 300);
	/* a sender refused at MAIL FROM waits no longer than the expiry either */
	o = decide(&(struct try){
	    .stage = STAGE_MAIL, .code = 550, .text = "no", .expires_at_s = NOW + 100});
	assert_int_equal(o.state, RS_QUEUED);
	assert_int_equal(o.next_attempt_s, NOW + 100);
	o = decide(
	    &(struct try){.stage = STAGE_MAIL, .code = 550, .text = "no", .expires_at_s = NOW});
	assert_int_equal(o.state, RS_EXPIRED);
	assert_true(o.own_expiry);
}

static void test_reply_after_own_expiry(void **state)
{
	(void)state;
	/* a 4xx that came at the expiry ends it: expired, and not the
	 * address's fault (the same reply at the lifetime's end counts) */
	struct outcome o = decide(
	    &(struct try){.stage = STAGE_RCPT, .code = 451, .text = "later", .expires_at_s = NOW});
	assert_int_equal(o.state, RS_EXPIRED);
	assert_string_equal(o.name, "expired");
	assert_int_equal(o.count, OC_EXPIRED);
	assert_true(o.own_expiry);
	assert_int_equal(o.attempts, 1);
	assert_int_equal(o.list, OUTCOME_LIST_NONE);
	o = decide(&(struct try){
	    .stage = STAGE_RCPT, .code = 451, .text = "later", .queued_ago_s = 5 * DAY});
	assert_false(o.own_expiry);
	assert_int_equal(o.list, OUTCOME_LIST_SOFT_BOUNCE);
	/* what the receiver accepted or refused for good stays so */
	o = decide(
	    &(struct try){.stage = STAGE_DOT, .code = 250, .text = "ok", .expires_at_s = NOW - 5});
	assert_int_equal(o.state, RS_DELIVERED);
	o = decide(&(struct try){.stage = STAGE_RCPT,
	                         .code = 550,
	                         .enh = "5.1.1",
	                         .text = "no such user",
	                         .expires_at_s = NOW - 5});
	assert_int_equal(o.state, RS_BOUNCED);
}

static void test_ended_at_expiry_unsent(void **state)
{
	(void)state;
	/* a reply text a site rule would match: never applied, none came */
	struct outcome o = decide(&(struct try){.stage = STAGE_EXPIRY,
	                                        .code = 421,
	                                        .enh = "4.7.0",
	                                        .text = "RP-001 rate limited",
	                                        .local = 1,
	                                        .attempts = 2,
	                                        .expires_at_s = NOW});
	assert_int_equal(o.state, RS_EXPIRED);
	assert_string_equal(o.name, "expired");
	assert_int_equal(o.count, OC_EXPIRED);
	assert_int_equal(o.category, CAT_EXPIRED);
	assert_string_equal(category_name(o.category), "expired");
	assert_string_equal(stage_name(STAGE_EXPIRY), "expiry");
	assert_int_equal(o.attempts, 2); /* no attempt made */
	assert_int_equal(o.list, OUTCOME_LIST_NONE);
	assert_null(o.rule);
	assert_false(o.site_delivered);
	assert_false(o.passed_mail);
	assert_false(o.signs.counted);
	/* when that applies */
	assert_false(outcome_past_expiry(0, NOW));
	assert_false(outcome_past_expiry(NOW + 1, NOW));
	assert_true(outcome_past_expiry(NOW, NOW));
	assert_true(outcome_past_expiry(NOW - 1, NOW));
}

static void test_lifetime_and_expiry_the_earlier_wins(void **state)
{
	(void)state;
	/* the lifetime ends first: a last attempt at its end, then expired
	 * as before (a soft bounce), however late the own expiry */
	struct outcome o = decide(&(struct try){.stage = STAGE_RCPT,
	                                        .code = 451,
	                                        .text = "later",
	                                        .queued_ago_s = 5 * DAY - 100,
	                                        .expires_at_s = NOW + 10 * DAY});
	assert_int_equal(o.next_attempt_s, NOW + 100);
	o = decide(&(struct try){.stage = STAGE_RCPT,
	                         .code = 451,
	                         .text = "later",
	                         .queued_ago_s = 5 * DAY,
	                         .expires_at_s = NOW + 10 * DAY});
	assert_int_equal(o.state, RS_EXPIRED);
	assert_false(o.own_expiry);
	/* the lifetime counts from the send time, not from the queueing */
	o = decide(&(struct try){.stage = STAGE_RCPT,
	                         .code = 451,
	                         .text = "later",
	                         .queued_ago_s = 6 * DAY,
	                         .send_at_s = NOW - 3600});
	assert_int_equal(o.state, RS_QUEUED);
	assert_int_equal(o.next_attempt_s, NOW + 300);
	o = decide(&(struct try){.stage = STAGE_RCPT,
	                         .code = 451,
	                         .text = "later",
	                         .queued_ago_s = 6 * DAY,
	                         .send_at_s = NOW - 5 * DAY + 100});
	assert_int_equal(o.next_attempt_s, NOW + 100);
}

static void test_site_rule(void **state)
{
	(void)state;
	struct outcome o = decide(&(struct try){
	    .stage = STAGE_RCPT, .code = 421, .enh = "4.7.0", .text = "RP-001 rate limited"});
	assert_non_null(o.rule);
	assert_string_equal(o.rule->name, "outlook-rp");
	assert_false(o.site_delivered);
}

/* A blocklist-style refusal is about the source IP: deferred at any stage
 * (the engine fails over to another source), never bounced, never a list
 * action, never a danger sign; expired only at the end of the lifetime. */
static void test_blocklist_reply_is_never_a_bounce(void **state)
{
	(void)state;
	static const struct {
		enum stage stage;
		int code;
		const char *enh, *text;
	} cases[] = {
	    {STAGE_RCPT, 554, "5.7.1",
	     "Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"},
	    {STAGE_MAIL, 550, "5.7.1", "blocked using zen.spamhaus.org"},
	    {STAGE_BANNER, 554, "", "Your IP is listed at b.barracudacentral.org"},
	    {STAGE_RCPT, 550, "5.7.1",
	     "Unfortunately, messages from [192.0.2.1] weren't sent. (S3150) [Name=Protocol]"},
	    {STAGE_RCPT, 550, "5.7.606", "Access denied, banned sending IP [192.0.2.1]"},
	    {STAGE_DOT, 554, "5.7.1", "rejected because 192.0.2.1 is in bl.spamcop.net"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct outcome o = decide(&(struct try){.stage = cases[i].stage,
		                                        .code = cases[i].code,
		                                        .enh = cases[i].enh,
		                                        .text = cases[i].text});
		assert_non_null(o.rule);
		assert_int_equal(o.rule->action, RULE_BLOCK_SOURCE);
		assert_true(o.source_blocked);
		assert_int_equal(o.state, RS_QUEUED);
		assert_string_equal(o.name, "deferred");
		assert_int_equal(o.list, OUTCOME_LIST_NONE);
		assert_false(o.refuse_campaign);
		assert_false(o.signs.sender_rejected);
	}
	/* at the end of its lifetime: expired, still no list action */
	struct outcome o = decide(&(struct try){.stage = STAGE_RCPT,
	                                        .code = 554,
	                                        .text = "blocked using zen.spamhaus.org",
	                                        .queued_ago_s = 5 * DAY});
	assert_int_equal(o.state, RS_EXPIRED);
	assert_int_equal(o.list, OUTCOME_LIST_NONE);
	/* a recipient's own refusal that merely says "listed in" is not one */
	o = decide(&(struct try){.stage = STAGE_RCPT,
	                         .code = 550,
	                         .enh = "5.1.1",
	                         .text = "User not listed in Domino Directory"});
	assert_false(o.source_blocked);
	assert_int_equal(o.state, RS_BOUNCED);
}

/* ---- the list policy, through a suppression list ---- */

/* Classifies one final reply, decides and writes its list action. */
static const char *listed(const char *addr, enum stage stage, int code, const char *enh,
                          const char *text, int64_t day, int expired)
{
	struct classification c;
	struct err e;
	const char *act = NULL;
	classify(cls, stage, code, enh, text, &c);
	struct outcome_subject who = {.address = addr,
	                              .scope = "",
	                              .stage = stage,
	                              .code = code,
	                              .evidence = text,
	                              .now_s = NOW + day * DAY};
	enum outcome_list a = outcome_list_action(stage, code, &c, expired);
	assert_int_equal(outcome_list_apply(sp, &cfg.suppression, a, &who, &act, &e), 0);
	return act ? act : "none";
}

static int suppressed(const char *addr)
{
	char reason[32];
	struct err e;
	return suppress_check(sp, addr, NULL, reason, &e);
}

static void test_list_hard_bounce_at_once(void **state)
{
	(void)state;
	assert_string_equal(listed("Gone@Example.org", STAGE_RCPT, 550, "5.1.1",
	                           "<gone@example.org>: Recipient address rejected: User unknown",
	                           0, 0),
	                    "hard_bounce");
	assert_int_equal(suppressed("gone@example.org"), 1);
	/* a DSN says the same */
	assert_string_equal(
	    listed("dsn@example.org", STAGE_DSN, 550, "5.1.1", "no such user", 0, 0),
	    "hard_bounce");
}

static void test_list_sender_side_never(void **state)
{
	(void)state;
	/* rejections at MAIL FROM and DATA say nothing about the recipient */
	assert_string_equal(listed("a@example.org", STAGE_MAIL, 550, "5.1.1", "User unknown", 0, 0),
	                    "none");
	assert_string_equal(listed("a@example.org", STAGE_DOT, 554, "5.7.1", "spam", 0, 0), "none");
	/* nor do reputation or rate replies at RCPT */
	assert_string_equal(listed("a@example.org", STAGE_RCPT, 550, "5.7.1",
	                           "blocked using zen.spamhaus.org", 0, 0),
	                    "none");
	assert_int_equal(suppressed("a@example.org"), 0);
}

static void test_list_strikes_need_days(void **state)
{
	(void)state;
	const char *t = "Requested action not taken: mailbox unavailable", *b = "b@example.org";
	assert_string_equal(listed(b, STAGE_RCPT, 550, "", t, 0, 0), "strike");
	assert_string_equal(listed(b, STAGE_RCPT, 550, "", t, 0, 0), "strike");
	assert_string_equal(listed(b, STAGE_RCPT, 550, "", t, 1, 0), "strike");
	assert_int_equal(suppressed(b), 0); /* two days so far */
	/* a success in between clears them; with nothing to clear, nothing */
	assert_string_equal(listed(b, STAGE_DOT, 250, "2.0.0", "ok", 2, 0), "cleared");
	assert_string_equal(listed(b, STAGE_DOT, 250, "2.0.0", "ok", 2, 0), "none");
	assert_string_equal(listed(b, STAGE_RCPT, 550, "", t, 3, 0), "strike");
	assert_string_equal(listed(b, STAGE_RCPT, 550, "", t, 4, 0), "strike");
	assert_string_equal(listed(b, STAGE_RCPT, 550, "", t, 5, 0), "rcpt_strikes");
	assert_int_equal(suppressed(b), 1);
}

static void test_list_soft_bounces_span(void **state)
{
	(void)state;
	const char *t = "4.2.2 mailbox full", *c = "c@example.org";
	assert_string_equal(listed(c, STAGE_RCPT, 452, "4.2.2", t, 0, 1), "soft_bounce");
	assert_string_equal(listed(c, STAGE_RCPT, 452, "4.2.2", t, 1, 1), "soft_bounce");
	/* three, but within two days: not yet */
	assert_string_equal(listed(c, STAGE_RCPT, 452, "4.2.2", t, 2, 1), "soft_bounce");
	assert_string_equal(listed(c, STAGE_RCPT, 452, "4.2.2", t, 11, 1), "soft_bounce_limit");
	assert_int_equal(suppressed(c), 1);
}

static void test_strike_verdict(void **state)
{
	(void)state;
	int sup;
	const struct suppression_policy *p = &cfg.suppression;
	assert_string_equal(outcome_strike_verdict(p, OUTCOME_LIST_STRIKE, 2, 0, &sup), "strike");
	assert_false(sup);
	assert_string_equal(outcome_strike_verdict(p, OUTCOME_LIST_STRIKE, 3, 0, &sup),
	                    "rcpt_strikes");
	assert_true(sup);
	assert_string_equal(outcome_strike_verdict(p, OUTCOME_LIST_SOFT_BOUNCE, 3, 9 * DAY, &sup),
	                    "soft_bounce");
	assert_false(sup);
	assert_string_equal(outcome_strike_verdict(p, OUTCOME_LIST_SOFT_BOUNCE, 3, 10 * DAY, &sup),
	                    "soft_bounce_limit");
	assert_true(sup);
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(outcome_backoff_s(1, 300, 4000), 300);
	assert_int_equal(outcome_backoff_s(2, 300, 4000), 600);
	assert_int_equal(outcome_backoff_s(4, 300, 4000), 2400);
	assert_int_equal(outcome_backoff_s(5, 300, 4000), 4000);
	assert_int_equal(outcome_backoff_s(60, 300, 4000), 4000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_delivered),
	    cmocka_unit_test(test_4xx_backs_off),
	    cmocka_unit_test(test_greylisted_retries_soon),
	    cmocka_unit_test(test_5xx_at_rcpt_bounces),
	    cmocka_unit_test(test_5xx_at_mail_refuses_the_sender),
	    cmocka_unit_test(test_expires_after_lifetime),
	    cmocka_unit_test(test_suppressed_since_queued),
	    cmocka_unit_test(test_own_expiry_caps_the_retry),
	    cmocka_unit_test(test_reply_after_own_expiry),
	    cmocka_unit_test(test_ended_at_expiry_unsent),
	    cmocka_unit_test(test_lifetime_and_expiry_the_earlier_wins),
	    cmocka_unit_test(test_site_rule),
	    cmocka_unit_test(test_blocklist_reply_is_never_a_bounce),
	    cmocka_unit_test(test_list_hard_bounce_at_once),
	    cmocka_unit_test(test_list_sender_side_never),
	    cmocka_unit_test(test_list_strikes_need_days),
	    cmocka_unit_test(test_list_soft_bounces_span),
	    cmocka_unit_test(test_strike_verdict),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
