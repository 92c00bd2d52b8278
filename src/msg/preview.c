/* preview: see preview.h. */
#include "msg/preview.h"

#include <stdio.h>

#include "mail/address.h"
#include "mail/config.h"
#include "msg/assemble.h"
#include "msg/dkim.h"
#include "msg/template.h"

int preview_render(const struct config *cfg, const struct template *tpl, const struct address *rcpt,
                   const char *fields, size_t fields_len, int64_t date_s, struct strbuf *out,
                   struct err *e)
{
	struct strbuf msg = STRBUF_INIT;
	struct dkim_signer *dk = NULL;
	char msgid[300];
	int rc = 0;

	char fid[ASSEMBLE_FEEDBACK_ID_MAX];

	snprintf(msgid, sizeof(msgid), "<dry-run@%s>", cfg->from_domain);
	/* as the engine makes it, for a bulk campaign called dry-run */
	assemble_feedback_id("dry-run", TENANT_DEFAULT, "bulk", cfg->from_domain, fid, sizeof(fid));
	struct assemble_in in = {.cfg = cfg,
	                         .tpl = tpl,
	                         .salt = "0",
	                         .envelope_from = cfg->envelope_from,
	                         .rcpt_id = 1,
	                         .fields = fields,
	                         .fields_len = fields_len,
	                         .utf8 = rcpt->utf8_local,
	                         .date_s = date_s,
	                         .message_id = msgid,
	                         .feedback_id = fid};
	struct assembled got = {.data = &msg};
	if (assemble_message(&in, &got, e) != 0)
		rc = -1;
	else if (dkim_signer_new(cfg, &dk, e) != 0 || dkim_sign(dk, &msg, date_s, e) != 0)
		rc = -2;
	if (rc == 0) {
		strbuf_addf(out, "MAIL FROM:<%s> RCPT TO:<%s>%s%s\n", got.mail_from, rcpt->mailbox,
		            got.needs & RENDER_8BITMIME ? " BODY=8BITMIME" : "",
		            got.needs & RENDER_SMTPUTF8 ? " SMTPUTF8" : "");
		strbuf_add(out, msg.data, msg.len);
	}
	dkim_signer_free(dk);
	strbuf_free(&msg);
	return rc;
}
