/*
 * json: a parsed bounce (parse.h) written as the JSON `sluice bounces
 * parse` prints and the golden files (tests/golden/reports) pin down: the
 * report's fields, and each recipient's with the category and permanence
 * the classifier (mail/classify.h) gives its reply. Empty fields are left
 * out; keys are sorted.
 */
#ifndef SLUICE_BOUNCE_JSON_H
#define SLUICE_BOUNCE_JSON_H

struct bounce_report;
struct classifier;

/* r as indented JSON, without a final newline; the caller frees it. */
char *bounce_json(const struct bounce_report *r, const struct classifier *cls);

#endif
