/*
 * Golden-file helpers for the unit tests: the cases of a directory of
 * tests/golden (each INPUT with its NAME.ref), one cmocka test per case,
 * and the comparison of what the code produced with the .ref, printing
 * `diff -u` on a mismatch. SLUICE_GOLDEN_UPDATE=1 rewrites the .ref files
 * instead (read the diff before committing it). The files are found through
 * SLUICE_TESTS_DIR, the repository's tests/ (the Makefile passes it).
 */
#ifndef SLUICE_TESTS_GOLDEN_H
#define SLUICE_TESTS_GOLDEN_H

#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#ifndef SLUICE_TESTS_DIR
#define SLUICE_TESTS_DIR "tests"
#endif

/* The whole file, NUL-terminated (*len without it); NULL if unreadable. */
static inline char *golden_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, k;

	if (!f)
		return NULL;
	do {
		if (cap - n < 65536)
			buf = realloc(buf, cap = cap * 2 + 65536);
		k = fread(buf + n, 1, cap - n - 1, f);
		n += k;
	} while (k > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Compares got with ref_path; on a mismatch prints the diff and fails. */
static inline void golden_check(const char *ref_path, const char *got, size_t len)
{
	size_t rlen = 0;
	char *ref;

	if (getenv("SLUICE_GOLDEN_UPDATE")) {
		FILE *f = fopen(ref_path, "wb");
		if (!f || fwrite(got, 1, len, f) != len || fclose(f) != 0)
			fail_msg("%s: cannot write", ref_path);
		return;
	}
	ref = golden_read(ref_path, &rlen);
	if (!ref)
		fail_msg("%s: cannot read", ref_path);
	int same = rlen == len && memcmp(ref, got, len) == 0;
	free(ref);
	if (same)
		return;
	char tmp[] = "/tmp/sluice-golden-XXXXXX", cmd[8300];
	int fd = mkstemp(tmp);
	if (fd < 0 || write(fd, got, len) != (ssize_t)len)
		fail_msg("%s: differs (and the output could not be saved)", ref_path);
	close(fd);
	snprintf(cmd, sizeof(cmd), "diff -u '%s' '%s' >&2", ref_path, tmp);
	fflush(stdout);
	if (system(cmd) == -1)
		fprintf(stderr, "(diff could not run)\n");
	unlink(tmp);
	fail_msg("%s: output differs (diff above: - expected, + produced)", ref_path);
}

/* Runs test once for each file tests/golden/DIR/NAME+SUFFIX, the file's path
 * as its state and its name as the test's; fails when there are fewer than
 * min cases (a golden test that finds no files cannot fail). */
static inline int golden_run(const char *group, const char *dir, const char *suffix, size_t min,
                             CMUnitTestFunction test)
{
	char pattern[4096];
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/golden/%s/*%s", SLUICE_TESTS_DIR, dir, suffix);
	if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc < min) {
		fprintf(stderr, "%s: fewer than %zu cases in %s\n", group, min, pattern);
		return 1;
	}
	struct CMUnitTest *tests = calloc(g.gl_pathc, sizeof(*tests));
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *slash = strrchr(g.gl_pathv[i], '/');
		tests[i].name = slash ? slash + 1 : g.gl_pathv[i];
		tests[i].test_func = test;
		tests[i].initial_state = g.gl_pathv[i];
	}
	int failed = _cmocka_run_group_tests(group, tests, g.gl_pathc, NULL, NULL);
	free(tests);
	globfree(&g);
	return failed;
}

/* path with its suffix replaced by ".ref", into out. */
static inline void golden_ref_path(const char *path, const char *suffix, char *out, size_t n)
{
	size_t len = strlen(path) - strlen(suffix);
	snprintf(out, n, "%.*s.ref", (int)len, path);
}

#endif
