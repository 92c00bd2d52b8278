/* Unit tests for src/list/queue_campaign.c: the rows of a list are
 * screened (typo, role account, suppressed for the given sender domain),
 * deduplicated and queued; the record keeps its tenant and pool; queueing
 * it again is a resume (nothing twice, no duplicate reported), and another
 * template, or another tenant, is refused with its own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "unit.h"

#include "list/queue_campaign.h"
#include "mail/config.h"
#include "msg/template.h"
#include "store/store.h"
#include "store/suppress.h"

#define TPL "From: a@news.test\nTo: {{email}}\nSubject: {{name}}\n\nHi {{name}}\n"
#define LIST                                                                                       \
	"email,name\nann@ok.test,Ann\nANN@ok.test,again\npostmaster@ok.test,pm\n"                  \
	"bob@gmial.com,typo\ncy@ok.test,Cy\nnot an address,x\n"

struct seen {
	int dup, bad;
	long bad_line;
};

static void on_skip(void *arg, const struct recipient_row *row, const char *reason,
                    const char *detail)
{
	struct seen *s = arg;
	(void)row, (void)detail;
	s->dup += strcmp(reason, "duplicate") == 0;
}

static void on_bad(void *arg, long line, const struct err *e)
{
	struct seen *s = arg;
	(void)e;
	s->bad++;
	s->bad_line = line;
}

/* Opens the list and the template bound to it, then the campaign. */
static int open_all(struct store *st, const char *path, const char *tenant, const char *tpl_text,
                    struct recipient_list *l, struct template *tpl, struct campaign_rec *rec,
                    int *resumed, struct err *e)
{
	assert_int_equal(recipients_open(l, path, e), 0);
	struct recipient_times t = {.now_s = 1000};
	recipients_set_times(l, &t);
	assert_int_equal(template_parse("t", tpl_text, strlen(tpl_text), tpl, e), 0);
	assert_int_equal(template_bind(tpl, l->names, l->nnames, e), 0);
	struct campaign_spec spec = {
	    .id = "c1",
	    .template_path = "t",
	    .template_text = tpl_text,
	    .template_len = strlen(tpl_text),
	    .tpl = tpl,
	    .envelope_from = "bounces@news.test",
	    .priority = 3,
	    .tenant = tenant,
	    .pool = "blue",
	};
	memset(rec, 0, sizeof(*rec));
	return queue_campaign_open(st, &spec, l, rec, resumed, e);
}

static void test_queue_and_resume(void **state)
{
	char dir[64], path[64];
	struct store *st;
	struct suppress *sp;
	struct config cfg;
	struct recipient_list l;
	struct template tpl;
	struct campaign_rec rec;
	struct queue_counts n;
	struct seen seen = {0};
	struct queue_hooks h = {on_skip, on_bad, NULL, &seen};
	struct err e;
	int resumed = -1;
	(void)state;

	config_defaults(&cfg);
	cfg.skip_typos = cfg.skip_role_accounts = 1;
	assert_non_null(unit_tmpdir(dir, sizeof(dir)));
	unit_tmpfile(path, sizeof(path), ".csv", LIST);
	assert_int_equal(store_open(dir, &st, &e), 0);
	assert_int_equal(suppress_open(dir, &sp, &e), 0);
	assert_int_equal(suppress_add(sp, "cy@ok.test", "news.test", "manual", "", 1, &e), 1);
	assert_int_equal(suppress_commit(sp, &e), 0);

	assert_int_equal(open_all(st, path, "acme", TPL, &l, &tpl, &rec, &resumed, &e), 0);
	assert_int_equal(resumed, 0);
	assert_int_equal(queue_campaign_rows(st, sp, &cfg, "news.test", "c1", &l, 0, 0, &h, &n, &e),
	                 0);
	assert_int_equal(n.added, 1);
	assert_int_equal(n.dups, 1);
	assert_int_equal(n.role, 1);
	assert_int_equal(n.typo, 1);
	assert_int_equal(n.suppressed, 1);
	assert_int_equal(n.bad, 1);
	assert_int_equal(seen.dup, 1);
	assert_int_equal(seen.bad_line, 7);
	recipients_close(&l);
	template_free(&tpl);
	store_campaign_free(&rec);
	assert_int_equal(store_commit(st, &e), 0);
	assert_int_equal(store_campaign_get(st, "c1", &rec, &e), 1);
	assert_string_equal(rec.tenant, "acme");
	assert_string_equal(rec.pool, "blue");
	assert_int_equal(rec.priority, 3);
	assert_int_equal(rec.kind, CAMPAIGN_TEMPLATE);
	store_campaign_free(&rec);

	/* again: a resume, nothing queued twice, no duplicate reported */
	seen = (struct seen){0};
	assert_int_equal(open_all(st, path, "acme", TPL, &l, &tpl, &rec, &resumed, &e), 0);
	assert_int_equal(resumed, 1);
	assert_int_equal(queue_campaign_rows(st, sp, &cfg, "news.test", "c1", &l, 1, 0, &h, &n, &e),
	                 0);
	assert_int_equal(n.added, 0);
	assert_int_equal(n.dups, 2);
	assert_int_equal(seen.dup, 0);
	recipients_close(&l);
	template_free(&tpl);
	store_campaign_free(&rec);

	/* another template, another tenant */
	assert_int_equal(open_all(st, path, "acme", TPL "x\n", &l, &tpl, &rec, &resumed, &e), -2);
	recipients_close(&l);
	template_free(&tpl);
	store_campaign_free(&rec);
	assert_int_equal(open_all(st, path, "other", TPL, &l, &tpl, &rec, &resumed, &e), -3);
	recipients_close(&l);
	template_free(&tpl);
	store_campaign_free(&rec);

	suppress_close(sp);
	store_close(st);
	config_free(&cfg);
	unlink(path);
	assert_int_equal(unit_rmtree(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_queue_and_resume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
