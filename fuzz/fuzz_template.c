/* libFuzzer target: template parsing, binding, rendering and the content
 * lint (msg/lint.h). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mail/fields.h"
#include "msg/lint.h"
#include "msg/template.h"

static void ignore(void *arg, enum lint_level level, const char *check, const char *detail)
{
	(void)arg, (void)level, (void)check, (void)detail;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *names[] = {"email", "name", "code"};
	struct template t;
	struct err e;

	if (template_parse("fuzz.eml", (const char *)data, size, &t, &e) == 0 &&
	    template_bind(&t, names, 3, &e) == 0) {
		struct strbuf f = STRBUF_INIT, out = STRBUF_INIT;
		fields_add(&f, "u@x.test", 8);
		static const char name[] = "Zo\xc3\xab \"<&>\"\r\nX";
		fields_add(&f, name, sizeof(name) - 1);
		fields_add(&f, "1", 1);
		struct render_in in = {
		    f.data, f.len, "<id@x.test>", 0, NULL, "https://u.test/x", "c1:t1:bulk:sluice"};
		unsigned needs;
		template_render(&t, &in, &out, &needs, &e);
		char hosts[LINT_HOSTS_MAX][LINT_HOST_LEN];
		lint_template(&t, 1, ignore, NULL);
		lint_link_hosts(&t, "https://u.test/x", hosts, LINT_HOSTS_MAX);
		strbuf_free(&f);
		strbuf_free(&out);
	}
	template_free(&t);
	return 0;
}
