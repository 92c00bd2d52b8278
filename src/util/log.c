/* log: see log.h. */
#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define LOG_LINE_MAX 8192 /* longer library lines are cut */

static log_sink_fn log_sink;
static enum log_level log_sink_min;

static void log_line(const char *grade, const char *fmt, va_list ap)
{
	int saved = errno; /* for a %m in fmt */

	fprintf(stderr, "sluice: %s", grade);
	errno = saved;
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("warning: ", fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}

void log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("panic: ", fmt, ap);
	va_end(ap);
	abort();
}

void log_set_sink(log_sink_fn fn, enum log_level min)
{
	log_sink = fn;
	log_sink_min = min;
}

int log_wants(enum log_level level)
{
	return log_sink && level >= log_sink_min;
}

void log_emit(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;

	if (!log_wants(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_sink(level, line);
}

void log_sink_stderr(enum log_level level, const char *line)
{
	if (level == LOG_TRACE)
		fprintf(stderr, "%s\n", line);
	else if (level == LOG_WARN)
		log_warn("%s", line);
	else if (level == LOG_ERROR)
		log_error("%s", line);
	else
		log_info("%s", line);
}
