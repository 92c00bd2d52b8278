/*
 * yaml_doc: a YAML document as a small read-only tree (private to src/mail).
 *
 * libyaml parses; this module copies its node list into plain structs with
 * 1-based positions, so the loaders walk arrays instead of a library's
 * iterators. One document per text; anchors and aliases are refused (a
 * configuration has no use for them, and shared nodes would let a small
 * file expand into a huge walk); duplicate keys in a mapping are errors.
 */
#ifndef SLUICE_MAIL_YAML_DOC_H
#define SLUICE_MAIL_YAML_DOC_H

#include <stddef.h>

#include "util/err.h"

enum ynode_kind {
	YN_NULL, /* an empty plain value ("key:") */
	YN_SCALAR,
	YN_SEQUENCE,
	YN_MAPPING,
};

struct ynode {
	enum ynode_kind kind;
	int line, col;    /* 1-based, where the node starts */
	const char *text; /* scalar: NUL-terminated (owned by the document) */
	size_t len;
	struct ynode **kids; /* sequence: items; mapping: key, value, key, value, ... */
	size_t nkids;
};

struct ydoc;

/* Parses UTF-8 text (name used in errors) into a document, or NULL with e
 * set to "name:line:col: what". */
struct ydoc *ydoc_parse(const char *name, const char *text, size_t len, struct err *e);
/* The root node, or NULL for an empty document. */
struct ynode *ydoc_root(struct ydoc *d);
void ydoc_free(struct ydoc *d);

/* The value of key in mapping m, or NULL. */
struct ynode *ynode_get(const struct ynode *m, const char *key);

#endif
