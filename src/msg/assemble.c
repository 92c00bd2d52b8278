/* assemble: see assemble.h. */
#include "msg/assemble.h"

#include <stdio.h>

#include "msg/verp.h"

#define UNSUB_HEADERS_MAX 600 /* the List-Unsubscribe lines */
#define UNSUB_LINK_MAX    400 /* the one-click link alone */

int assemble_message(const struct assemble_in *in, struct assembled *out, struct err *e)
{
	const struct config *cfg = in->cfg;
	char unsub[UNSUB_HEADERS_MAX], link[UNSUB_LINK_MAX];
	unsigned needs = 0;

	out->mail_from[0] = '\0';
	out->needs = 0;
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
	};
	strbuf_reset(out->data);
	if (template_render(in->tpl, &rin, out->data, &needs, e) != 0)
		return -1;
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
