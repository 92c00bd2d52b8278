/* Unit tests for src/inbound/inbound.c through its public API: which
 * envelope recipients serve accepts (inbound_accepts), what a DSN or an ARF
 * complaint does to the list and the campaign's danger signs
 * (inbound_process), and the memo of return paths accepted at RCPT (the
 * ring in struct inbound) naming the right recipient, also once it has
 * overflowed. Each test opens a fresh state directory (queue, suppression
 * list, delivery log) with one campaign of a few recipients. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "unit.h"

#include "dlog/dlog.h"
#include "inbound/inbound.h"
#include "mail/classify.h"
#include "mail/config.h"
#include "msg/verp.h"
#include "store/store.h"
#include "store/suppress.h"

#define SECRET   "unit-test-secret"
#define PREFIX   "bounces"
#define BDOMAIN  "bounce.example.com"
#define FEEDBACK "fbl@example.com"
#define CAMPAIGN "spring"
#define SALT     "a1b2c3d4e5f60718"
#define NRCPTS   40 /* more than INBOUND_ACCEPTED_MAX, to overflow the ring */

static char dir[64];
static struct config cfg;
static struct store *st;
static struct suppress *sp;
static struct dlog *dl;
static struct classifier *cls;
static struct inbound in;

/* The queued recipients: mailbox and row id. */
static struct {
	char mailbox[64];
	int64_t id;
} rc[NRCPTS];
static int nrc;

static void collect(void *arg, struct queued_rcpt *r)
{
	(void)arg;
	for (int i = 0; i < NRCPTS; i++)
		if (strcmp(rc[i].mailbox, r->mailbox) == 0)
			rc[i].id = r->id;
	nrc++;
	queued_rcpt_free(r);
}

static int queue_campaign(struct err *e)
{
	struct campaign_rec c = {.id = CAMPAIGN,
	                         .template_text = "From: a@example.com\r\n\r\nx\r\n",
	                         .template_len = 26, /* the text's length */
	                         .template_path = "t.eml",
	                         .names = "",
	                         .names_len = 0,
	                         .envelope_from = PREFIX "@example.com",
	                         .salt = SALT,
	                         .created_s = 1};
	if (store_campaign_add(st, &c, e) != 0)
		return -1;
	for (int i = 0; i < NRCPTS; i++) {
		snprintf(rc[i].mailbox, sizeof(rc[i].mailbox), "user%02d@dest.example.org", i);
		rc[i].id = 0;
		if (store_rcpt_add(st, CAMPAIGN, rc[i].mailbox, rc[i].mailbox, "dest.example.org",
		                   "", 0, 0, 100, e) != 1)
			return -1;
	}
	if (store_commit(st, e) != 0)
		return -1;
	struct store_cursor cur = STORE_CURSOR_START;
	nrc = 0;
	if (store_fetch_ready(st, CAMPAIGN, &cur, 1000, NRCPTS, collect, NULL, e) != NRCPTS)
		return -1;
	for (int i = 0; i < NRCPTS; i++)
		if (rc[i].id == 0)
			return -1;
	return 0;
}

static int setup(void **state)
{
	struct err e;
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.from_domain = "example.com";
	cfg.secret = SECRET;
	cfg.verp_prefix = PREFIX;
	cfg.bounce_domain = BDOMAIN;
	cfg.feedback_address = FEEDBACK;
	cfg.inbound_hostname = "mx.example.com";
	cfg.suppression = (struct suppression_policy){
	    .scope = SCOPE_GLOBAL, .rcpt_strikes = 3, .soft_bounces = 3, .soft_span_s = 86400};
	cfg.monitor = (struct monitor_policy){
	    .min_messages = 1000, .complaint_warn = 0.001, .complaint_pause = 0.003};
	if (!unit_tmpdir(dir, sizeof(dir)) || store_open(dir, &st, &e) != 0 ||
	    suppress_open(dir, &sp, &e) != 0 || dlog_open(dir, &dl, &e) != 0 ||
	    classifier_new(NULL, 0, &cls, &e) != 0 || queue_campaign(&e) != 0)
		return -1;
	inbound_init(&in, &cfg, st, sp, dl, cls);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	classifier_free(cls);
	dlog_close(dl);
	suppress_close(sp);
	store_close(st);
	return unit_rmtree(dir);
}

/* ---- helpers ---- */

/* The VERP return path of queued recipient i. */
static void return_path(int i, char *out, size_t n)
{
	verp_address(SECRET, PREFIX, BDOMAIN, SALT, rc[i].id, out, n);
}

/* The same with the last hex digit of its MAC changed: a forgery. */
static void forged_path(int i, char *out, size_t n)
{
	return_path(i, out, n);
	char *at = strrchr(out, '@');
	assert_non_null(at);
	at[-1] = at[-1] == '0' ? '1' : '0';
}

static int accepts(const char *addr, char *why, size_t n)
{
	struct err e;
	int k = inbound_accepts(&in, addr, why, n, &e);
	assert_true(k >= 0);
	return k;
}

static int suppressed(const char *mailbox, char reason[32])
{
	struct err e;
	int r = suppress_check(sp, mailbox, "example.com", reason, &e);
	assert_true(r >= 0);
	return r;
}

static int count_suppressed(void)
{
	char reason[32];
	int n = 0;
	for (int i = 0; i < NRCPTS; i++)
		n += suppressed(rc[i].mailbox, reason);
	return n;
}

static int64_t complaints(void)
{
	int64_t n = -1;
	struct err e;
	assert_int_equal(store_sign_count(st, CAMPAIGN, "complaint", &n, &e), 0);
	return n;
}

/* A minimal RFC 3464 report of a 5.1.1 failure for final (the address as
 * the receiver knew it; sluice trusts the token, not this), with the
 * original's headers when rp (its Return-Path) is not "". */
static size_t dsn_quoting(const char *final, const char *rp, char *out, size_t n)
{
	char orig[600] = "";
	if (rp[0])
		snprintf(orig, sizeof(orig),
		         "--b1\r\n"
		         "Content-Type: text/rfc822-headers\r\n"
		         "\r\n"
		         "Return-Path: <%s>\r\n"
		         "From: news@example.com\r\n"
		         "Subject: Spring sale\r\n"
		         "\r\n",
		         rp);
	int len = snprintf(out, n,
	                   "From: MAILER-DAEMON@relay.example.net\r\n"
	                   "To: <>\r\n"
	                   "Subject: Undelivered Mail Returned to Sender\r\n"
	                   "MIME-Version: 1.0\r\n"
	                   "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	                   "\tboundary=\"b1\"\r\n"
	                   "\r\n"
	                   "--b1\r\n"
	                   "Content-Type: text/plain\r\n"
	                   "\r\n"
	                   "Your message could not be delivered.\r\n"
	                   "\r\n"
	                   "--b1\r\n"
	                   "Content-Type: message/delivery-status\r\n"
	                   "\r\n"
	                   "Reporting-MTA: dns; relay.example.net\r\n"
	                   "\r\n"
	                   "Final-Recipient: rfc822; %s\r\n"
	                   "Action: failed\r\n"
	                   "Status: 5.1.1\r\n"
	                   "Remote-MTA: dns; mx.dest.example.org\r\n"
	                   "Diagnostic-Code: smtp; 550 5.1.1 <%s>: Recipient address "
	                   "rejected: User unknown\r\n"
	                   "\r\n"
	                   "%s"
	                   "--b1--\r\n",
	                   final, final, orig);
	assert_true(len > 0 && (size_t)len < n);
	return (size_t)len;
}

static size_t dsn(const char *final, char *out, size_t n)
{
	return dsn_quoting(final, "", out, n);
}

/* A minimal RFC 5965 abuse report; its keys (each "" to leave it out):
 * the feedback part's Original-Mail-From and the original's Message-ID. */
static size_t arf(const char *mail_from, const char *message_id, char *out, size_t n)
{
	char omf[400] = "", mid[400] = "";
	if (mail_from[0])
		snprintf(omf, sizeof(omf), "Original-Mail-From: <%s>\r\n", mail_from);
	if (message_id[0])
		snprintf(mid, sizeof(mid), "Message-ID: %s\r\n", message_id);
	int len = snprintf(out, n,
	                   "From: <fbl@isp.example.net>\r\n"
	                   "To: <" FEEDBACK ">\r\n"
	                   "Subject: complaint\r\n"
	                   "MIME-Version: 1.0\r\n"
	                   "Content-Type: multipart/report; report-type=feedback-report;\r\n"
	                   "\tboundary=\"b2\"\r\n"
	                   "\r\n"
	                   "--b2\r\n"
	                   "Content-Type: text/plain\r\n"
	                   "\r\n"
	                   "This is an abuse report.\r\n"
	                   "\r\n"
	                   "--b2\r\n"
	                   "Content-Type: message/feedback-report\r\n"
	                   "\r\n"
	                   "Feedback-Type: abuse\r\n"
	                   "User-Agent: UnitFBL/1.0\r\n"
	                   "Version: 1\r\n"
	                   "%s"
	                   "Source-IP: 192.0.2.25\r\n"
	                   "\r\n"
	                   "--b2\r\n"
	                   "Content-Type: text/rfc822-headers\r\n"
	                   "\r\n"
	                   "From: news@example.com\r\n"
	                   "To: someone@dest.example.org\r\n"
	                   "Subject: Spring sale\r\n"
	                   "%s"
	                   "\r\n"
	                   "--b2--\r\n",
	                   omf, mid);
	assert_true(len > 0 && (size_t)len < n);
	return (size_t)len;
}

/* inbound_process for one message; returns the number of results. */
static size_t process(char *const *rcpts, size_t nrcpts, const char *msg, size_t len,
                      struct inbound_result *res, size_t max)
{
	size_t nres = 99;
	struct err e;
	int rc = inbound_process(&in, rcpts, nrcpts, "", msg, len, res, max, &nres, &e);
	assert_int_equal(rc, 0);
	assert_true(nres <= max);
	return nres;
}

/* ---- inbound_accepts ---- */

static void test_accepts(void **state)
{
	(void)state;
	char addr[INBOUND_ADDR_MAX], why[200];

	return_path(0, addr, sizeof(addr));
	assert_non_null(strstr(addr, "@" BDOMAIN));
	assert_int_equal(accepts(addr, why, sizeof(why)), IR_BOUNCE);

	forged_path(0, addr, sizeof(addr));
	why[0] = '\0';
	assert_int_equal(accepts(addr, why, sizeof(why)), IR_REJECT);
	assert_non_null(strstr(why, "5.1.1"));
	assert_non_null(strstr(why, "forged"));

	/* a well-formed token for a row that does not exist */
	verp_address(SECRET, PREFIX, BDOMAIN, SALT, 999999, addr, sizeof(addr));
	why[0] = '\0';
	assert_int_equal(accepts(addr, why, sizeof(why)), IR_REJECT);
	assert_non_null(strstr(why, "5.1.1"));

	/* a valid token at a domain that is not ours: no relaying */
	verp_address(SECRET, PREFIX, "elsewhere.example.net", SALT, rc[0].id, addr, sizeof(addr));
	why[0] = '\0';
	assert_int_equal(accepts(addr, why, sizeof(why)), IR_REJECT);
	assert_non_null(strstr(why, "5.7.1"));
	assert_non_null(strstr(why, "relay"));
	why[0] = '\0';
	assert_int_equal(accepts("someone@dest.example.org", why, sizeof(why)), IR_REJECT);
	assert_non_null(strstr(why, "5.7.1"));

	/* an unknown local part at the bounce domain */
	why[0] = '\0';
	assert_int_equal(accepts("nobody@" BDOMAIN, why, sizeof(why)), IR_REJECT);
	assert_non_null(strstr(why, "5.1.1"));

	assert_int_equal(accepts("postmaster", why, sizeof(why)), IR_POSTMASTER);
	assert_int_equal(accepts("PostMaster", why, sizeof(why)), IR_POSTMASTER);
	assert_int_equal(accepts("postmaster@" BDOMAIN, why, sizeof(why)), IR_POSTMASTER);
	assert_int_equal(accepts("postmaster@mx.example.com", why, sizeof(why)), IR_POSTMASTER);
	assert_int_equal(accepts("postmaster@dest.example.org", why, sizeof(why)), IR_REJECT);
	assert_int_equal(accepts(FEEDBACK, why, sizeof(why)), IR_FEEDBACK);
	assert_int_equal(accepts("FBL@Example.COM", why, sizeof(why)), IR_FEEDBACK);

	/* the unsubscribe address is signed for its own purpose */
	char tok[VERP_TOKEN_MAX];
	verp_token(SECRET, "unsub", SALT, rc[1].id, tok, sizeof(tok));
	snprintf(addr, sizeof(addr), "unsubscribe+%s@" BDOMAIN, tok);
	assert_int_equal(accepts(addr, why, sizeof(why)), IR_UNSUBSCRIBE);
	verp_token(SECRET, "bounce", SALT, rc[1].id, tok, sizeof(tok));
	snprintf(addr, sizeof(addr), "unsubscribe+%s@" BDOMAIN, tok);
	assert_int_equal(accepts(addr, why, sizeof(why)), IR_REJECT);
}

/* ---- a DSN ---- */

static void test_dsn_suppresses_the_recipient(void **state)
{
	(void)state;
	char addr[INBOUND_ADDR_MAX], why[200], reason[32], msg[4096];
	struct inbound_result res[4];

	return_path(2, addr, sizeof(addr));
	assert_int_equal(accepts(addr, why, sizeof(why)), IR_BOUNCE);
	assert_int_equal(suppressed(rc[2].mailbox, reason), 0);
	/* the receiver names it differently; the token decides */
	size_t len = dsn("USER02@dest.example.org", msg, sizeof(msg));
	char *rcpts[] = {addr};
	assert_int_equal(process(rcpts, 1, msg, len, res, 4), 1);
	assert_string_equal(res[0].kind, "dsn");
	assert_string_equal(res[0].recipient, rc[2].mailbox);
	assert_string_equal(res[0].campaign, CAMPAIGN);
	assert_non_null(res[0].action);
	assert_string_equal(res[0].action, "hard_bounce");
	assert_non_null(strstr(res[0].evidence, "recipient from envelope"));
	assert_non_null(strstr(res[0].evidence, "status 5.1.1"));
	assert_int_equal(suppressed(rc[2].mailbox, reason), 1);
	assert_string_equal(reason, "hard_bounce");
	assert_int_equal(count_suppressed(), 1);
}

/* A failure report that quotes a 2xx reply is no delivery: the
 * recipient's strikes stay (only a delivery clears them). */
static void test_dsn_quoting_2xx_clears_nothing(void **state)
{
	(void)state;
	char addr[INBOUND_ADDR_MAX], why[200], msg[4096], *p;
	struct inbound_result res[4];

	struct err e;
	int days;
	int64_t span;
	assert_int_equal(suppress_strike(sp, rc[3].mailbox, STRIKE_RCPT, "550 over quota", 1000,
	                                 &days, &span, &e),
	                 0);
	return_path(3, addr, sizeof(addr));
	assert_int_equal(accepts(addr, why, sizeof(why)), IR_BOUNCE);
	size_t len = dsn("user03@dest.example.org", msg, sizeof(msg));
	assert_non_null(p = strstr(msg, "smtp; 550 5.1.1"));
	memcpy(p, "smtp; 250 2.0.0", 15);
	assert_non_null(p = strstr(msg, "Status: 5.1.1"));
	memcpy(p, "Status: 2.0.0", 13);
	char *rcpts[] = {addr};
	assert_int_equal(process(rcpts, 1, msg, len, res, 4), 1);
	assert_string_equal(res[0].kind, "dsn");
	assert_null(res[0].action);
	assert_int_equal(suppress_clear_strikes(sp, rc[3].mailbox, &e), 1); /* still there */
}

static void test_dsn_to_forged_path_suppresses_nobody(void **state)
{
	(void)state;
	char addr[INBOUND_ADDR_MAX], why[200], msg[4096];
	struct inbound_result res[4];

	forged_path(3, addr, sizeof(addr));
	assert_int_equal(accepts(addr, why, sizeof(why)), IR_REJECT);
	size_t len = dsn(rc[3].mailbox, msg, sizeof(msg));
	/* delivered anyway (the API does not trust the listener to have asked) */
	char *rcpts[] = {addr};
	assert_int_equal(process(rcpts, 1, msg, len, res, 4), 0);
	assert_int_equal(count_suppressed(), 0);

	/* the forged path quoted by a report to postmaster names nobody either */
	len = dsn_quoting(rc[3].mailbox, addr, msg, sizeof(msg));
	char *pm[] = {"postmaster"};
	assert_int_equal(process(pm, 1, msg, len, res, 4), 1);
	assert_string_equal(res[0].kind, "dsn");
	assert_string_equal(res[0].recipient, "");
	assert_null(res[0].action);
	assert_non_null(strstr(res[0].evidence, "original return-path: forged token"));
	assert_int_equal(count_suppressed(), 0);

	/* while the genuine path quoted so is believed */
	char good[INBOUND_ADDR_MAX];
	return_path(3, good, sizeof(good));
	len = dsn_quoting(rc[3].mailbox, good, msg, sizeof(msg));
	assert_int_equal(process(pm, 1, msg, len, res, 4), 1);
	assert_string_equal(res[0].recipient, rc[3].mailbox);
	assert_non_null(strstr(res[0].evidence, "recipient from original return-path"));
	assert_int_equal(count_suppressed(), 1);
}

/* ---- the memo of return paths accepted at RCPT ---- */

static void test_memo_accepted_path(void **state)
{
	(void)state;
	char a[INBOUND_ADDR_MAX], b[INBOUND_ADDR_MAX], why[200], reason[32], msg[4096];
	struct inbound_result res[4];

	/* two sessions accept at once; their messages come in the other order */
	return_path(4, a, sizeof(a));
	return_path(5, b, sizeof(b));
	assert_int_equal(accepts(a, why, sizeof(why)), IR_BOUNCE);
	assert_int_equal(accepts(b, why, sizeof(why)), IR_BOUNCE);
	size_t len = dsn("whoever@dest.example.org", msg, sizeof(msg));
	char *rb[] = {b};
	assert_int_equal(process(rb, 1, msg, len, res, 4), 1);
	assert_string_equal(res[0].recipient, rc[5].mailbox);
	assert_int_equal(suppressed(rc[5].mailbox, reason), 1);
	assert_int_equal(suppressed(rc[4].mailbox, reason), 0);
	char *ra[] = {a};
	assert_int_equal(process(ra, 1, msg, len, res, 4), 1);
	assert_string_equal(res[0].recipient, rc[4].mailbox);
	assert_int_equal(count_suppressed(), 2);

	/* one message to both return paths acts on each once */
	return_path(6, a, sizeof(a));
	return_path(7, b, sizeof(b));
	assert_int_equal(accepts(a, why, sizeof(why)), IR_BOUNCE);
	assert_int_equal(accepts(b, why, sizeof(why)), IR_BOUNCE);
	char *both[] = {a, b, a};
	assert_int_equal(process(both, 3, msg, len, res, 4), 2);
	assert_string_equal(res[0].recipient, rc[6].mailbox);
	assert_string_equal(res[1].recipient, rc[7].mailbox);
	assert_int_equal(count_suppressed(), 4);

	/* the verdict is taken from the memo, not checked again: with the
	 * secret changed after RCPT, the accepted path still acts and one
	 * never accepted does not */
	return_path(20, a, sizeof(a));
	return_path(21, b, sizeof(b));
	assert_int_equal(accepts(a, why, sizeof(why)), IR_BOUNCE);
	cfg.secret = "rotated-secret";
	assert_int_equal(process(ra, 1, msg, len, res, 4), 1);
	assert_string_equal(res[0].recipient, rc[20].mailbox);
	assert_int_equal(process(rb, 1, msg, len, res, 4), 0);
	cfg.secret = SECRET;
	assert_int_equal(suppressed(rc[21].mailbox, reason), 0);
}

static void test_memo_never_accepted_is_verified(void **state)
{
	(void)state;
	char addr[INBOUND_ADDR_MAX], forged[INBOUND_ADDR_MAX], why[200], reason[32], msg[4096];
	struct inbound_result res[4];

	/* never asked about at RCPT: checked and looked up when the message comes */
	return_path(8, addr, sizeof(addr));
	size_t len = dsn(rc[8].mailbox, msg, sizeof(msg));
	char *rcpts[] = {addr};
	assert_int_equal(process(rcpts, 1, msg, len, res, 4), 1);
	assert_string_equal(res[0].recipient, rc[8].mailbox);
	assert_string_equal(res[0].action, "hard_bounce");
	assert_int_equal(suppressed(rc[8].mailbox, reason), 1);

	/* a forgery of a path that was accepted is not taken for it */
	return_path(9, addr, sizeof(addr));
	forged_path(9, forged, sizeof(forged));
	assert_int_equal(accepts(addr, why, sizeof(why)), IR_BOUNCE);
	char *f[] = {forged};
	assert_int_equal(process(f, 1, msg, len, res, 4), 0);
	assert_int_equal(suppressed(rc[9].mailbox, reason), 0);

	/* a case variant of an accepted path is the same recipient (verified) */
	for (char *p = addr; *p && *p != '@'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(process(rcpts, 1, msg, len, res, 4), 1);
	assert_string_equal(res[0].recipient, rc[9].mailbox);
	assert_int_equal(count_suppressed(), 2);
}

static void test_memo_overflow_keeps_the_right_recipient(void **state)
{
	(void)state;
	char a[INBOUND_ADDR_MAX], other[INBOUND_ADDR_MAX], why[200], msg[4096];
	struct inbound_result res[4];
	size_t len = dsn("whoever@dest.example.org", msg, sizeof(msg));

	/* a is accepted, then more than the ring holds of other return paths */
	return_path(0, a, sizeof(a));
	assert_int_equal(accepts(a, why, sizeof(why)), IR_BOUNCE);
	for (int i = 1; i < NRCPTS; i++) {
		return_path(i, other, sizeof(other));
		assert_int_equal(accepts(other, why, sizeof(why)), IR_BOUNCE);
	}
	assert_true(NRCPTS - 1 > INBOUND_ACCEPTED_MAX);
	/* a's verdict is gone from the ring: its message is verified again and
	 * acts on a's recipient, not on the one now in a's old slot */
	char *ra[] = {a};
	assert_int_equal(process(ra, 1, msg, len, res, 4), 1);
	assert_string_equal(res[0].recipient, rc[0].mailbox);
	assert_int_equal(count_suppressed(), 1);

	/* every other path, in the ring or pushed out of it, names its own */
	for (int i = NRCPTS - 1; i >= 1; i--) {
		return_path(i, other, sizeof(other));
		char *ro[] = {other};
		assert_int_equal(process(ro, 1, msg, len, res, 4), 1);
		assert_string_equal(res[0].recipient, rc[i].mailbox);
	}
	assert_int_equal(count_suppressed(), NRCPTS);

	/* the ring wrapping around many times with the same few addresses */
	char reason[32];
	for (int round = 0; round < 3 * INBOUND_ACCEPTED_MAX; round++) {
		return_path(round % 3, other, sizeof(other));
		assert_int_equal(accepts(other, why, sizeof(why)), IR_BOUNCE);
	}
	return_path(1, other, sizeof(other));
	char *r1[] = {other};
	assert_int_equal(process(r1, 1, msg, len, res, 4), 1);
	assert_string_equal(res[0].recipient, rc[1].mailbox);
	assert_int_equal(suppressed(rc[1].mailbox, reason), 1);
}

static void test_memo_unsubscribe_address(void **state)
{
	(void)state;
	char tok[VERP_TOKEN_MAX], addr[INBOUND_ADDR_MAX], why[200], reason[32];
	struct inbound_result res[4];
	const char *msg = "From: someone@dest.example.org\r\nSubject: unsubscribe\r\n\r\nstop\r\n";

	verp_token(SECRET, "unsub", SALT, rc[10].id, tok, sizeof(tok));
	snprintf(addr, sizeof(addr), "unsubscribe+%s@" BDOMAIN, tok);
	assert_int_equal(accepts(addr, why, sizeof(why)), IR_UNSUBSCRIBE);
	char *rcpts[] = {addr};
	assert_int_equal(process(rcpts, 1, msg, strlen(msg), res, 4), 1);
	assert_string_equal(res[0].kind, "unsubscribe");
	assert_string_equal(res[0].recipient, rc[10].mailbox);
	assert_string_equal(res[0].action, "unsubscribe");
	assert_int_equal(suppressed(rc[10].mailbox, reason), 1);
	assert_string_equal(reason, "unsubscribe");
	assert_int_equal(count_suppressed(), 1);
}

/* ---- ARF complaints ---- */

static void test_complaint_by_message_id_counts_once(void **state)
{
	(void)state;
	char mid[200], msg[4096], reason[32];
	struct inbound_result res[4];

	verp_message_id(SECRET, SALT, rc[11].id, "example.com", mid, sizeof(mid));
	size_t len = arf("", mid, msg, sizeof(msg));
	char *rcpts[] = {FEEDBACK};
	assert_int_equal(complaints(), 0);
	assert_int_equal(process(rcpts, 1, msg, len, res, 4), 1);
	assert_string_equal(res[0].kind, "complaint");
	assert_string_equal(res[0].recipient, rc[11].mailbox);
	assert_string_equal(res[0].campaign, CAMPAIGN);
	assert_string_equal(res[0].action, "complaint");
	assert_non_null(strstr(res[0].evidence, "recipient from message-id"));
	assert_int_equal(suppressed(rc[11].mailbox, reason), 1);
	assert_string_equal(reason, "complaint");
	assert_int_equal(complaints(), 1);

	/* the same report again (a replay, or the ISP sending it twice) */
	assert_int_equal(process(rcpts, 1, msg, len, res, 4), 1);
	assert_string_equal(res[0].recipient, rc[11].mailbox);
	assert_int_equal(complaints(), 1);
	assert_int_equal(count_suppressed(), 1);
}

static void test_complaint_by_original_mail_from(void **state)
{
	(void)state;
	char path[INBOUND_ADDR_MAX], msg[4096], reason[32];
	struct inbound_result res[4];

	return_path(12, path, sizeof(path));
	size_t len = arf(path, "<unsigned.1.abc@example.com>", msg, sizeof(msg));
	char *rcpts[] = {FEEDBACK};
	assert_int_equal(process(rcpts, 1, msg, len, res, 4), 1);
	assert_string_equal(res[0].kind, "complaint");
	assert_string_equal(res[0].recipient, rc[12].mailbox);
	assert_non_null(strstr(res[0].evidence, "recipient from original-mail-from"));
	assert_int_equal(suppressed(rc[12].mailbox, reason), 1);
	assert_int_equal(complaints(), 1);
	assert_int_equal(process(rcpts, 1, msg, len, res, 4), 1);
	assert_int_equal(complaints(), 1);

	/* another recipient's complaint counts one more */
	return_path(13, path, sizeof(path));
	len = arf(path, "", msg, sizeof(msg));
	assert_int_equal(process(rcpts, 1, msg, len, res, 4), 1);
	assert_string_equal(res[0].recipient, rc[13].mailbox);
	assert_int_equal(complaints(), 2);
}

static void test_complaint_with_forged_keys_counts_nothing(void **state)
{
	(void)state;
	char path[INBOUND_ADDR_MAX], mid[200], msg[4096];
	struct inbound_result res[4];

	forged_path(14, path, sizeof(path));
	verp_message_id("another-secret", SALT, rc[14].id, "example.com", mid, sizeof(mid));
	size_t len = arf(path, mid, msg, sizeof(msg));
	char *rcpts[] = {FEEDBACK};
	assert_int_equal(process(rcpts, 1, msg, len, res, 4), 1);
	assert_string_equal(res[0].kind, "complaint");
	assert_string_equal(res[0].recipient, "");
	assert_null(res[0].action);
	assert_non_null(strstr(res[0].evidence, "forged token"));
	assert_int_equal(complaints(), 0);
	assert_int_equal(count_suppressed(), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_accepts),
	    T(test_dsn_suppresses_the_recipient),
	    T(test_dsn_quoting_2xx_clears_nothing),
	    T(test_dsn_to_forged_path_suppresses_nobody),
	    T(test_memo_accepted_path),
	    T(test_memo_never_accepted_is_verified),
	    T(test_memo_overflow_keeps_the_right_recipient),
	    T(test_memo_unsubscribe_address),
	    T(test_complaint_by_message_id_counts_once),
	    T(test_complaint_by_original_mail_from),
	    T(test_complaint_with_forged_keys_counts_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
