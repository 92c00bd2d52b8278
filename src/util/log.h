/*
 * log: the one way sluice writes diagnostics, in two halves.
 *
 * The program's (src/cli/, src/serve/, src/main.c): graded lines on stderr,
 * each "sluice: " GRADE TEXT "\n". info and error have no grade word (the
 * text says what happened or what failed; the caller picks the exit
 * status; an error of the environment or the config is an error line and
 * exit status 2, chosen by the command), warn writes "warning: ", panic a
 * broken invariant ("panic: ", then abort with a core). The texts are the CLI's
 * interface (tests compare them): a change of grade never changes a text.
 *
 * Library code never prints. What it has to say without an error to return
 * (a listener pausing, a wire trace) goes to log_emit, which hands the line
 * to the sink the program installed (log_set_sink) and drops it when none
 * is: a unit test or a fuzzer links the library and hears nothing.
 */
#ifndef SLUICE_UTIL_LOG_H
#define SLUICE_UTIL_LOG_H

enum log_level { LOG_TRACE = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* The program's lines (see above); errno is kept for a %m in fmt. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Receives one library diagnostic: a whole line without its newline. */
typedef void (*log_sink_fn)(enum log_level level, const char *line);
/* Installs the sink for library diagnostics of level min and above (NULL:
 * none, the default). */
void log_set_sink(log_sink_fn fn, enum log_level min);
/* 1 if a line of this level would reach a sink (to skip formatting it). */
int log_wants(enum log_level level);
/* For library code: formats a line and hands it to the sink, if any. */
void log_emit(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The sink the command line installs: a trace line on stderr as it is,
 * anything else as the program's line of the same level. */
void log_sink_stderr(enum log_level level, const char *line);

#endif
