/*
 * log: graded diagnostics for the operator, on stderr.
 * info and warn report; fatal is for the environment or the config (a clean
 * message and exit status 2); panic is a broken invariant (abort, core).
 * Only the CLI and the server loop call these; library code returns errors.
 */
#ifndef SLUICE_UTIL_LOG_H
#define SLUICE_UTIL_LOG_H

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void log_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Set to 1 to suppress info lines (warnings still print). */
void log_set_quiet(int quiet);

#endif
