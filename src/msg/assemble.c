/* assemble: see assemble.h. */
#include "msg/assemble.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "msg/crlf.h"
#include "msg/verp.h"

#define UNSUB_HEADERS_MAX 600 /* the List-Unsubscribe lines */
#define UNSUB_LINK_MAX    400 /* the one-click link alone */

/* The value of header name in the header block of raw (the first line
 * only), or NULL; *n its length. */
static const char *raw_header(const char *raw, size_t len, const char *name, size_t *n)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < len;) {
		const char *eol = memchr(raw + i, '\n', len - i);
		size_t end = eol ? (size_t)(eol - raw) : len;
		size_t ll = end - i - (end > i && raw[end - 1] == '\r');
		if (ll == 0)
			return NULL; /* the end of the headers */
		if (ll > nl && raw[i + nl] == ':' && strncasecmp(raw + i, name, nl) == 0) {
			const char *v = raw + i + nl + 1;
			while (v < raw + i + ll && (*v == ' ' || *v == '\t'))
				v++;
			*n = (size_t)(raw + i + ll - v);
			return v;
		}
		i = end + 1;
	}
	return NULL;
}

/* One part of a Feedback-ID: ':' separates them, so only a safe set. */
static size_t fid_part(char *out, size_t n, const char *s)
{
	size_t k = 0;

	for (; s && *s && k + 1 < n && k < 60; s++)
		out[k++] =
		    (char)((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		                   (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'
		               ? *s
		               : '_');
	if (n)
		out[k] = '\0';
	return k;
}

void assemble_feedback_id(const char *campaign, const char *tenant, const char *kind,
                          const char *sender, char *out, size_t n)
{
	char p[4][64];

	fid_part(p[0], sizeof(p[0]), campaign);
	fid_part(p[1], sizeof(p[1]), tenant);
	fid_part(p[2], sizeof(p[2]), kind);
	fid_part(p[3], sizeof(p[3]), sender);
	snprintf(out, n, "%s:%s:%s:%s", p[0], p[1], p[2], p[3]);
}

static unsigned raw_needs(const char *raw, size_t len)
{
	const char *body = NULL;
	unsigned needs = 0;

	for (size_t i = 0; i + 3 < len; i++)
		if (memcmp(raw + i, "\r\n\r\n", 4) == 0) {
			body = raw + i;
			break;
		}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)raw[i] >= 0x80) {
			needs |= RENDER_8BITMIME;
			if (!body || raw + i < body) /* RFC 6532 headers */
				needs |= RENDER_SMTPUTF8;
		}
	return needs;
}

static int assemble_raw(const struct assemble_in *in, struct assembled *out)
{
	const struct config *cfg = in->cfg;
	char unsub[UNSUB_HEADERS_MAX], link[UNSUB_LINK_MAX];
	size_t n;
	const char *mid = raw_header(in->raw, in->raw_len, "Message-ID", &n);

	if (mid && n < sizeof(out->message_id))
		snprintf(out->message_id, sizeof(out->message_id), "%.*s", (int)n, mid);
	else
		verp_message_id(cfg->secret, in->salt, in->rcpt_id, cfg->from_domain,
		                out->message_id, sizeof(out->message_id));
	strbuf_reset(out->data);
	if (in->list_unsubscribe && !raw_header(in->raw, in->raw_len, "List-Unsubscribe", &n)) {
		verp_unsubscribe_headers(cfg->secret, cfg->unsubscribe_url,
		                         cfg->unsubscribe_mailto ? cfg->bounce_domain : NULL,
		                         in->salt, in->rcpt_id, unsub, sizeof(unsub), link,
		                         sizeof(link));
		strbuf_add(out->data, unsub, strlen(unsub));
	}
	if (in->feedback_id && !raw_header(in->raw, in->raw_len, "Feedback-ID", &n))
		strbuf_addf(out->data, "Feedback-ID: %s\r\n", in->feedback_id);
	strbuf_add(out->data, in->raw, in->raw_len);
	crlf_normalize(out->data);
	out->needs =
	    raw_needs(in->raw, in->raw_len) | (in->utf8 ? RENDER_SMTPUTF8 | RENDER_8BITMIME : 0);
	if (in->verp && cfg->bounce_domain)
		verp_address(cfg->secret, cfg->verp_prefix, cfg->bounce_domain, in->salt,
		             in->rcpt_id, out->mail_from, sizeof(out->mail_from));
	else
		snprintf(out->mail_from, sizeof(out->mail_from), "%s", in->envelope_from);
	return 0;
}

int assemble_message(const struct assemble_in *in, struct assembled *out, struct err *e)
{
	const struct config *cfg = in->cfg;
	char unsub[UNSUB_HEADERS_MAX], link[UNSUB_LINK_MAX];
	unsigned needs = 0;

	out->mail_from[0] = '\0';
	out->needs = 0;
	if (in->raw)
		return assemble_raw(in, out);
	if (in->message_id)
		snprintf(out->message_id, sizeof(out->message_id), "%s", in->message_id);
	else
		verp_message_id(cfg->secret, in->salt, in->rcpt_id, cfg->from_domain,
		                out->message_id, sizeof(out->message_id));
	verp_unsubscribe_headers(cfg->secret, cfg->unsubscribe_url,
	                         cfg->unsubscribe_mailto ? cfg->bounce_domain : NULL, in->salt,
	                         in->rcpt_id, unsub, sizeof(unsub), link, sizeof(link));
	struct render_in rin = {
	    .fields = in->fields,
	    .fields_len = in->fields_len,
	    .message_id = out->message_id,
	    .date_s = in->date_s,
	    .extra_headers = unsub[0] ? unsub : NULL,
	    .unsubscribe_url = link,
	    .feedback_id = in->feedback_id,
	};
	strbuf_reset(out->data);
	if (template_render(in->tpl, &rin, out->data, &needs, e) != 0)
		return -1;
	crlf_normalize(out->data); /* a field's bare CR or LF, put in the body */
	/* a UTF-8 mailbox goes in RCPT TO as it is: the receiver must take it */
	if (in->utf8)
		needs |= RENDER_SMTPUTF8 | RENDER_8BITMIME;
	out->needs = needs;
	if (cfg->bounce_domain)
		verp_address(cfg->secret, cfg->verp_prefix, cfg->bounce_domain, in->salt,
		             in->rcpt_id, out->mail_from, sizeof(out->mail_from));
	else
		snprintf(out->mail_from, sizeof(out->mail_from), "%s", in->envelope_from);
	return 0;
}
