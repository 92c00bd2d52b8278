/* dlog: see dlog.h. */
#include "dlog/dlog.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

struct dlog {
	int fd;
	struct strbuf buf;
};

int dlog_open(const char *state_dir, struct dlog **out, struct err *e)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/delivery.log", state_dir);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return err_set(e, "delivery log %s: %s", path, strerror(errno));
	struct dlog *l = xcalloc(1, sizeof(*l));
	l->fd = fd;
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

int dlog_flush(struct dlog *l, struct err *e)
{
	size_t off = 0;

	while (off < l->buf.len) {
		ssize_t n = write(l->fd, l->buf.data + off, l->buf.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* Keep what was not written, for the next flush. */
			memmove(l->buf.data, l->buf.data + off, l->buf.len - off);
			l->buf.len -= off;
			return err_set(e, "delivery log: %s", strerror(errno));
		}
		off += (size_t)n;
	}
	strbuf_reset(&l->buf);
	return 0;
}

void dlog_close(struct dlog *l)
{
	struct err e;

	if (!l)
		return;
	dlog_flush(l, &e);
	close(l->fd);
	strbuf_free(&l->buf);
	free(l);
}
