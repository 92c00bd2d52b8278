/*
 * dlog: see dlog.h.
 *
 * The buffer holds whole lines, except that its first `sent` bytes may
 * already be in the file: the head of a line a failed write cut short. The
 * next flush finishes that line in the same file; a reopen first cuts the
 * head off the old file (ftruncate), so the line is written whole, once,
 * to the new one.
 */
#include "dlog/dlog.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

struct dlog {
	int fd;
	char *path;
	struct strbuf buf;
	size_t sent; /* bytes at the start of buf already in the file */
};

static int open_path(const char *path, struct err *e)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return err_set(e, "delivery log %s: %s", path, strerror(errno));
	return fd;
}

int dlog_open(const char *state_dir, struct dlog **out, struct err *e)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/delivery.log", state_dir);
	int fd = open_path(path, e);
	if (fd < 0)
		return -1;
	struct dlog *l = xcalloc(1, sizeof(*l));
	l->fd = fd;
	l->path = xstrdup(path);
	*out = l;
	return 0;
}

/* Text from outside may be any bytes: what is not UTF-8 is escaped, never
 * dropped (jansson refuses invalid UTF-8). */
static void set_str(json_t *o, const char *k, const char *v)
{
	json_t *j = v ? json_string(v) : json_null();

	if (!j) {
		struct strbuf b = STRBUF_INIT;
		utf8_escape_invalid(v, strlen(v), &b);
		j = json_string(b.data ? b.data : "");
		strbuf_free(&b);
	}
	json_object_set_new_nocheck(o, k, j);
}

void dlog_add(struct dlog *l, const struct dlog_rec *r)
{
	char when[40];
	json_t *o = json_object();

	clock_iso8601(r->time_ms, when, sizeof(when));
	set_str(o, "time", when);
	set_str(o, "campaign", r->campaign);
	if (r->tenant)
		set_str(o, "tenant", r->tenant);
	set_str(o, "recipient", r->recipient);
	set_str(o, "domain", r->domain);
	set_str(o, "site", r->site);
	set_str(o, "mx_host", r->mx_host);
	set_str(o, "mx_ip", r->mx_ip);
	set_str(o, "source_ip", r->source_ip);
	set_str(o, "helo", r->helo);
	set_str(o, "tls", r->tls && r->tls[0] ? r->tls : "none");
	set_str(o, "stage", r->stage);
	json_object_set_new_nocheck(o, "code", r->code ? json_integer(r->code) : json_null());
	set_str(o, "enhanced", r->enhanced && r->enhanced[0] ? r->enhanced : NULL);
	set_str(o, "reply", r->text);
	set_str(o, "outcome", r->outcome);
	set_str(o, "category", r->category);
	set_str(o, "rule", r->rule);
	set_str(o, "list_action", r->list_action);
	set_str(o, "return_path", r->return_path);
	set_str(o, "evidence", r->evidence);
	json_object_set_new_nocheck(o, "attempt", json_integer(r->attempt));
	json_object_set_new_nocheck(o, "queue_time_s", json_integer(r->queue_time_s));
	set_str(o, "message_id", r->message_id);
	/* JSON_ENSURE_ASCII: reply texts can hold any byte; the log stays ASCII. */
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(o);
	if (s) {
		strbuf_adds(&l->buf, s);
		strbuf_addc(&l->buf, '\n');
		free(s);
	}
}

/* Drops the lines written whole from the buffer; the head of a line cut
 * short stays, counted in l->sent. */
static void drop_written_lines(struct dlog *l)
{
	size_t done = 0;

	for (size_t i = l->sent; i > 0; i--)
		if (l->buf.data[i - 1] == '\n') {
			done = i;
			break;
		}
	memmove(l->buf.data, l->buf.data + done, l->buf.len - done);
	l->buf.len -= done;
	l->sent -= done;
}

int dlog_flush(struct dlog *l, struct err *e)
{
	while (l->sent < l->buf.len) {
		ssize_t n = write(l->fd, l->buf.data + l->sent, l->buf.len - l->sent);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			drop_written_lines(l); /* the rest waits for the next flush */
			return err_set(e, "delivery log %s: %s", l->path, strerror(err));
		}
		l->sent += (size_t)n;
	}
	strbuf_reset(&l->buf);
	l->sent = 0;
	return 0;
}

/* The old file ends with the head of a line (l->sent bytes) that will be
 * written whole to the new file: cut it off the old one. */
static void cut_head(struct dlog *l)
{
	struct stat sb;

	if (l->sent == 0)
		return;
	if (fstat(l->fd, &sb) == 0 && sb.st_size >= (off_t)l->sent)
		(void)!ftruncate(l->fd, sb.st_size - (off_t)l->sent);
	l->sent = 0;
}

int dlog_reopen(struct dlog *l, struct err *e)
{
	int fd = open_path(l->path, e);

	if (fd < 0)
		return -1;
	int rc = dlog_flush(l, e) == 0 ? 0 : 1;
	if (rc)
		cut_head(l);
	close(l->fd);
	l->fd = fd;
	return rc;
}

void dlog_close(struct dlog *l)
{
	struct err e;

	if (!l)
		return;
	dlog_flush(l, &e);
	close(l->fd);
	strbuf_free(&l->buf);
	free(l->path);
	free(l);
}
