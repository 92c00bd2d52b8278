/* Helpers shared by the unit tests. */
#ifndef SLUICE_TESTS_UNIT_H
#define SLUICE_TESTS_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes text to a new temporary file; returns its path (static buffer per call site). */
static inline const char *unit_tmpfile(char *path, size_t n, const char *suffix, const char *text)
{
	snprintf(path, n, "/tmp/sluice-unit-XXXXXX%s", suffix);
	int fd = mkstemps(path, (int)strlen(suffix));
	if (fd < 0)
		abort();
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len)
		abort();
	close(fd);
	return path;
}

/* Makes a new temporary directory, its path in dir (at least 64 bytes):
 * returns dir, or NULL. */
static inline char *unit_tmpdir(char *dir, size_t n)
{
	snprintf(dir, n, "/tmp/sluice-unit-XXXXXX");
	return mkdtemp(dir);
}

/* Removes a directory made by unit_tmpdir and what is in it: 0, or not. */
static inline int unit_rmtree(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

#endif
