/* Golden tests for src/bounce/parse.c: each tests/golden/reports/NAME.eml
 * parses to the JSON `sluice bounces parse` prints (bounce/json.h, a
 * newline after it), byte for byte NAME.ref (see the README there). */
#include "golden.h"

#include "bounce/json.h"
#include "bounce/parse.h"
#include "mail/classify.h"

static void test_report(void **state)
{
	const char *path = *state;
	struct classifier *cls;
	struct err e;
	size_t len = 0;
	char ref[4096];

	char *msg = golden_read(path, &len);
	assert_non_null(msg);
	if (classifier_new(NULL, 0, &cls, &e) != 0)
		fail_msg("classifier: %s", e.msg);
	struct bounce_report *r = calloc(1, sizeof(*r));
	bounce_parse(msg, len, r);
	char *json = bounce_json(r, cls);
	size_t jl = strlen(json);
	char *got = malloc(jl + 2);
	memcpy(got, json, jl);
	got[jl] = '\n';
	golden_ref_path(path, ".eml", ref, sizeof(ref));
	golden_check(ref, got, jl + 1);
	free(got);
	free(json);
	free(r);
	free(msg);
	classifier_free(cls);
}

int main(void)
{
	return golden_run("bounce_golden", "reports", ".eml", 27, test_report);
}
