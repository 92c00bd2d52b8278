/*
 * yaml_doc: see yaml_doc.h.
 *
 * Why libyaml and not libfyaml: fuzzing the configuration loader found two
 * inputs that break Debian 12's libfyaml 0.7.12 (a hang on invalid UTF-8 and
 * a crash freeing the parser after "? r:\t:"); libyaml is the reference
 * parser and has been under continuous fuzzing for years.
 */
#include "mail/yaml_doc.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/xmalloc.h"

struct ydoc {
	yaml_document_t doc; /* owns the scalar texts */
	struct ynode *nodes;
	struct ynode **kids; /* one pool for every node's children */
	struct ynode *root;
};

static int parse_error(const char *name, const yaml_parser_t *p, struct err *e)
{
	const char *what = p->problem ? p->problem : "not a valid YAML document";

	if (p->context)
		return err_set(e, "%s:%zu:%zu: %s (%s, line %zu)", name, p->problem_mark.line + 1,
		               p->problem_mark.column + 1, what, p->context,
		               p->context_mark.line + 1);
	return err_set(e, "%s:%zu:%zu: %s", name, p->problem_mark.line + 1,
	               p->problem_mark.column + 1, what);
}

static int by_text(const void *a, const void *b)
{
	const struct ynode *x = *(struct ynode *const *)a, *y = *(struct ynode *const *)b;
	int c = memcmp(x->text, y->text, x->len < y->len ? x->len : y->len);

	if (c || x->len != y->len)
		return c ? c : (x->len < y->len ? -1 : 1);
	return x->line != y->line ? x->line - y->line : x->col - y->col;
}

/* A key given twice is an error at its second place. */
static int check_duplicates(const char *name, const struct ynode *m, struct err *e)
{
	size_t n = 0, npairs = m->nkids / 2;
	struct ynode **keys = xcalloc(npairs ? npairs : 1, sizeof(*keys));
	int rc = 0;

	for (size_t i = 0; i < m->nkids; i += 2)
		if (m->kids[i]->kind == YN_SCALAR)
			keys[n++] = m->kids[i];
	qsort(keys, n, sizeof(*keys), by_text);
	for (size_t i = 1; i < n && rc == 0; i++)
		if (keys[i]->len == keys[i - 1]->len &&
		    memcmp(keys[i]->text, keys[i - 1]->text, keys[i]->len) == 0)
			rc = err_set(e, "%s:%d:%d: duplicate key '%s' (first at line %d)", name,
			             keys[i]->line, keys[i]->col, keys[i]->text, keys[i - 1]->line);
	free(keys);
	return rc;
}

/* Copies libyaml's node list into d->nodes; every node must have exactly
 * one parent (the root none), which refuses aliases and cycles. */
static int build_tree(struct ydoc *d, const char *name, struct err *e)
{
	yaml_node_t *first = d->doc.nodes.start;
	size_t n = (size_t)(d->doc.nodes.top - first), nkids = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *y = &first[i];
		if (y->type == YAML_SEQUENCE_NODE)
			nkids +=
			    (size_t)(y->data.sequence.items.top - y->data.sequence.items.start);
		else if (y->type == YAML_MAPPING_NODE)
			nkids +=
			    2 * (size_t)(y->data.mapping.pairs.top - y->data.mapping.pairs.start);
	}
	d->nodes = xcalloc(n, sizeof(*d->nodes));
	d->kids = xcalloc(nkids ? nkids : 1, sizeof(*d->kids));
	unsigned char *parents = xcalloc(n, 1);
	struct ynode **next = d->kids;
	int rc = 0;

	parents[0] = 1; /* the root is the first node */
	for (size_t i = 0; i < n && rc == 0; i++) {
		yaml_node_t *y = &first[i];
		struct ynode *o = &d->nodes[i];
		o->line = (int)y->start_mark.line + 1;
		o->col = (int)y->start_mark.column + 1;
		o->kids = next;
		if (y->type == YAML_SCALAR_NODE) {
			o->text = (const char *)y->data.scalar.value;
			o->len = y->data.scalar.length;
			o->kind = o->len == 0 && y->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
			              ? YN_NULL
			              : YN_SCALAR;
			continue;
		}
		int *refs;
		size_t nrefs;
		if (y->type == YAML_SEQUENCE_NODE) {
			o->kind = YN_SEQUENCE;
			refs = y->data.sequence.items.start;
			nrefs = (size_t)(y->data.sequence.items.top - refs);
		} else {
			o->kind = YN_MAPPING;
			refs = (int *)y->data.mapping.pairs.start; /* key, value pairs of ints */
			nrefs =
			    2 * (size_t)(y->data.mapping.pairs.top - y->data.mapping.pairs.start);
		}
		for (size_t k = 0; k < nrefs; k++) {
			size_t at = (size_t)refs[k] - 1;
			if (refs[k] < 1 || at >= n || parents[at]++) {
				rc = err_set(e, "%s:%d:%d: anchors and aliases are not supported",
				             name, o->line, o->col);
				break;
			}
			*next++ = &d->nodes[at];
		}
		o->nkids = (size_t)(next - o->kids);
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		if (d->nodes[i].kind == YN_MAPPING)
			rc = check_duplicates(name, &d->nodes[i], e);
	free(parents);
	d->root = &d->nodes[0];
	return rc;
}

struct ydoc *ydoc_parse(const char *name, const char *text, size_t len, struct err *e)
{
	yaml_parser_t p;
	yaml_document_t extra;
	struct ydoc *d = xcalloc(1, sizeof(*d));

	if (!yaml_parser_initialize(&p)) {
		free(d);
		err_set(e, "%s: cannot start the YAML parser", name);
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	if (!yaml_parser_load(&p, &d->doc)) {
		parse_error(name, &p, e);
		yaml_parser_delete(&p);
		free(d);
		return NULL;
	}
	int rc = 0;
	if (!yaml_parser_load(&p, &extra))
		rc = parse_error(name, &p, e);
	else if (yaml_document_get_root_node(&extra)) {
		rc = err_set(e, "%s:%zu:%zu: only one YAML document is allowed", name,
		             extra.start_mark.line + 1, extra.start_mark.column + 1);
		yaml_document_delete(&extra);
	} else
		yaml_document_delete(&extra);
	yaml_parser_delete(&p);
	if (rc == 0)
		rc = build_tree(d, name, e);
	if (rc != 0) {
		ydoc_free(d);
		return NULL;
	}
	return d;
}

struct ynode *ydoc_root(struct ydoc *d)
{
	return d->root;
}

void ydoc_free(struct ydoc *d)
{
	if (!d)
		return;
	yaml_document_delete(&d->doc);
	free(d->nodes);
	free(d->kids);
	free(d);
}

struct ynode *ynode_get(const struct ynode *m, const char *key)
{
	size_t klen = strlen(key);

	if (!m || m->kind != YN_MAPPING)
		return NULL;
	for (size_t i = 0; i + 1 < m->nkids; i += 2)
		if (m->kids[i]->kind == YN_SCALAR && m->kids[i]->len == klen &&
		    memcmp(m->kids[i]->text, key, klen) == 0)
			return m->kids[i + 1];
	return NULL;
}
