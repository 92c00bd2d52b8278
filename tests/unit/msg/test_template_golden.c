/* Golden tests for src/msg/template.c: each tests/golden/template/NAME.eml
 * with NAME.csv renders, for the list's first row, to what `sluice send
 * --dry-run` prints (msg/preview.h) with the same configuration as the
 * end-to-end test had; the first Date line reads "(normalized)". */
#include "golden.h"
#include "unit.h"

#include "list/recipients.h"
#include "mail/config.h"
#include "msg/preview.h"
#include "msg/template.h"
#include "util/strbuf.h"

#define GOLDEN_CONFIG                                                                              \
	"sources:\n  - ip: 127.0.0.10\n    helo: mta1.sluice.test\n"                               \
	"sender:\n  envelope_from: bounces@news.sluice.test\n"

/* The first "Date: ...\r\n" line, as the end-to-end test normalised it. */
static void normalize_date(struct strbuf *in, struct strbuf *out)
{
	const char *p = in->data;
	while (p && strncmp(p, "Date: ", 6) != 0) {
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	const char *end = p ? strstr(p, "\r\n") : NULL;
	if (!end) {
		strbuf_add(out, in->data, in->len);
		return;
	}
	strbuf_add(out, in->data, (size_t)(p - in->data));
	strbuf_adds(out, "Date: (normalized)\r\n");
	strbuf_add(out, end + 2, in->len - (size_t)(end + 2 - in->data));
}

static void test_render(void **state)
{
	const char *path = *state;
	char cfgpath[64], csv[4096], ref[4096];
	struct config cfg;
	struct template tpl;
	struct recipient_list list;
	struct recipient_row row = {0};
	struct strbuf got = STRBUF_INIT, norm = STRBUF_INIT;
	struct err e;

	golden_ref_path(path, ".eml", csv, sizeof(csv));
	snprintf(csv + strlen(csv) - 4, 5, ".csv");
	if (config_load(unit_tmpfile(cfgpath, sizeof(cfgpath), ".yaml", GOLDEN_CONFIG), &cfg, &e) !=
	    0)
		fail_msg("config: %s", e.msg);
	if (template_load(path, &tpl, &e) != 0 || recipients_open(&list, csv, &e) != 0 ||
	    template_bind(&tpl, list.names, list.nnames, &e) != 0)
		fail_msg("%s", e.msg);
	if (recipients_next(&list, &row, &e) != 1)
		fail_msg("%s: no first row", csv);
	if (preview_render(&cfg, &tpl, &row.addr, row.fields.data, row.fields.len, 1767225600, &got,
	                   &e) != 0)
		fail_msg("render: %s", e.msg);
	normalize_date(&got, &norm);
	golden_ref_path(path, ".eml", ref, sizeof(ref));
	golden_check(ref, norm.data, norm.len);
	strbuf_free(&got);
	strbuf_free(&norm);
	recipient_row_free(&row);
	strbuf_free(&row.fields);
	recipients_close(&list);
	template_free(&tpl);
	config_free(&cfg);
	unlink(cfgpath);
}

int main(void)
{
	return golden_run("template_golden", "template", ".eml", 3, test_render);
}
