/* pattern: see pattern.h. */
#include "util/pattern.h"

#include <stdlib.h>

#include "util/xmalloc.h"

int pattern_compile(struct pattern *p, const char *text, struct err *e)
{
	int rc = regcomp(&p->re, text, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (rc != 0) {
		char buf[200];
		regerror(rc, &p->re, buf, sizeof(buf));
		return err_set(e, "bad regular expression '%s': %s", text, buf);
	}
	p->text = xstrdup(text);
	return 0;
}

int pattern_match(const struct pattern *p, const char *s)
{
	return !p->text || regexec(&p->re, s ? s : "", 0, NULL, 0) == 0;
}

void pattern_free(struct pattern *p)
{
	if (p->text)
		regfree(&p->re);
	free(p->text);
	p->text = NULL;
}
