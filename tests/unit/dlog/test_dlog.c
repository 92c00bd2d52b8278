/* Unit tests of dlog (src/dlog/dlog.c): records written whole, and the
 * reopen for log rotation: records buffered when the file is moved go to
 * the old file, later ones to the new file, none lost and none in both,
 * also when a write to the old file fails halfway through a line. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "dlog/dlog.h"
#include "unit.h"

static void add(struct dlog *l, int i)
{
	char who[64];
	snprintf(who, sizeof(who), "user%d@example.com", i);
	struct dlog_rec r = {.time_ms = 1700000000000LL,
	                     .campaign = "c1",
	                     .recipient = who,
	                     .domain = "example.com",
	                     .stage = "dot",
	                     .code = 250,
	                     .text = "2.0.0 ok, a reply long enough to take a write or two",
	                     .outcome = "delivered",
	                     .attempt = 1};
	dlog_add(l, &r);
}

/* The numbers of the recipients in file path, in order, into out; returns
 * how many lines, each of which must be a whole JSON record. */
static int read_log(const char *path, int *out, int max)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		assert_non_null(o);
		const char *rcpt = json_string_value(json_object_get(o, "recipient"));
		assert_non_null(rcpt);
		assert_true(n < max);
		out[n++] = atoi(rcpt + 4);
		json_decref(o);
	}
	fclose(f);
	return n;
}

static void paths(const char *dir, char *log, char *moved, size_t n)
{
	snprintf(log, n, "%s/delivery.log", dir);
	snprintf(moved, n, "%s/delivery.log.1", dir);
}

static void test_reopen_after_move(void **state)
{
	char dir[64], log[128], moved[128];
	struct dlog *l;
	struct err e;
	int got[64];

	(void)state;
	assert_non_null(unit_tmpdir(dir, sizeof(dir)));
	paths(dir, log, moved, sizeof(log));
	assert_int_equal(dlog_open(dir, &l, &e), 0);
	add(l, 0);
	add(l, 1);
	assert_int_equal(dlog_flush(l, &e), 0);
	add(l, 2); /* buffered when logrotate moves the file */
	assert_int_equal(rename(log, moved), 0);
	add(l, 3);
	assert_int_equal(dlog_reopen(l, &e), 0);
	add(l, 4);
	assert_int_equal(dlog_flush(l, &e), 0);
	dlog_close(l);

	assert_int_equal(read_log(moved, got, 64), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(got[i], i);
	assert_int_equal(read_log(log, got, 64), 1);
	assert_int_equal(got[0], 4);
	struct stat sb;
	assert_int_equal(stat(log, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	unit_rmtree(dir);
}

/* A reopen without a move (a reload) goes on in the same file. */
static void test_reopen_in_place(void **state)
{
	char dir[64], log[128], moved[128];
	struct dlog *l;
	struct err e;
	int got[64];

	(void)state;
	assert_non_null(unit_tmpdir(dir, sizeof(dir)));
	paths(dir, log, moved, sizeof(log));
	assert_int_equal(dlog_open(dir, &l, &e), 0);
	add(l, 0);
	assert_int_equal(dlog_reopen(l, &e), 0);
	add(l, 1);
	dlog_close(l);
	assert_int_equal(read_log(log, got, 64), 2);
	assert_int_equal(got[0], 0);
	assert_int_equal(got[1], 1);
	unit_rmtree(dir);
}

/* The old file cannot take the buffered records (here: the file size
 * limit, as a full disk would): a write cuts a line short. The reopen
 * takes the cut head off the old file and writes the line whole to the
 * new one. */
static void test_reopen_after_failed_write(void **state)
{
	char dir[64], log[128], moved[128];
	struct dlog *l;
	struct err e;
	struct rlimit old, lim;
	struct stat sb;
	int got[64];

	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	assert_non_null(unit_tmpdir(dir, sizeof(dir)));
	paths(dir, log, moved, sizeof(log));
	assert_int_equal(dlog_open(dir, &l, &e), 0);
	for (int i = 0; i < 3; i++)
		add(l, i);
	assert_int_equal(dlog_flush(l, &e), 0);
	assert_int_equal(stat(log, &sb), 0);
	off_t whole = sb.st_size;

	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)whole + 10; /* ten bytes of the next line fit */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	add(l, 3);
	add(l, 4);
	assert_int_equal(dlog_flush(l, &e), -1);
	assert_int_equal(stat(log, &sb), 0);
	assert_int_equal(sb.st_size, whole + 10); /* a cut line */

	assert_int_equal(rename(log, moved), 0);
	assert_int_equal(dlog_reopen(l, &e), 1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	add(l, 5);
	assert_int_equal(dlog_flush(l, &e), 0);
	dlog_close(l);

	assert_int_equal(read_log(moved, got, 64), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(got[i], i);
	assert_int_equal(read_log(log, got, 64), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(got[i], 3 + i);
	unit_rmtree(dir);
}

/* A write cut short without a reopen is finished in the same file. */
static void test_cut_line_finished_in_place(void **state)
{
	char dir[64], log[128], moved[128];
	struct dlog *l;
	struct err e;
	struct rlimit old, lim;
	struct stat sb;
	int got[64];

	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	assert_non_null(unit_tmpdir(dir, sizeof(dir)));
	paths(dir, log, moved, sizeof(log));
	assert_int_equal(dlog_open(dir, &l, &e), 0);
	add(l, 0);
	assert_int_equal(dlog_flush(l, &e), 0);
	assert_int_equal(stat(log, &sb), 0);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)sb.st_size + 10;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	add(l, 1);
	assert_int_equal(dlog_flush(l, &e), -1);
	assert_non_null(strstr(e.msg, "delivery.log"));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(dlog_flush(l, &e), 0);
	dlog_close(l);
	assert_int_equal(read_log(log, got, 64), 2);
	assert_int_equal(got[1], 1);
	unit_rmtree(dir);
}

/* The path cannot be opened: nothing changes, records go to the old file. */
static void test_reopen_fails_keeps_old(void **state)
{
	char dir[64], log[128], moved[128], sub[160];
	struct dlog *l;
	struct err e;
	int got[64];

	(void)state;
	assert_non_null(unit_tmpdir(dir, sizeof(dir)));
	paths(dir, log, moved, sizeof(log));
	assert_int_equal(dlog_open(dir, &l, &e), 0);
	add(l, 0);
	assert_int_equal(rename(log, moved), 0);
	snprintf(sub, sizeof(sub), "%s", log);
	assert_int_equal(mkdir(sub, 0700), 0); /* a directory where the log was */
	assert_int_equal(dlog_reopen(l, &e), -1);
	assert_non_null(strstr(e.msg, "delivery.log"));
	add(l, 1);
	dlog_close(l);
	assert_int_equal(read_log(moved, got, 64), 2);
	unit_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reopen_after_move),
	    cmocka_unit_test(test_reopen_in_place),
	    cmocka_unit_test(test_reopen_after_failed_write),
	    cmocka_unit_test(test_cut_line_finished_in_place),
	    cmocka_unit_test(test_reopen_fails_keeps_old),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
