/*
 * config_yaml: the YAML side of the configuration loader (private to
 * src/mail). A schema is a table of fields (section, key, type, offset,
 * bounds); these helpers read scalars and lists of mappings through such
 * tables, and every error they raise names file:line:column. config.c holds
 * sluice's schema; the classifier's rule file uses the same machinery.
 */
#ifndef SLUICE_MAIL_CONFIG_YAML_H
#define SLUICE_MAIL_CONFIG_YAML_H

#include "mail/yaml_doc.h"
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CONFIG_SIZE_MAX (1024 * 1024)

enum ftype {
	F_STR,
	F_INT,
	F_INT64,
	F_GROWTH,
	F_MS,
	F_RULE_MS,
	F_SECONDS,
	F_TLS,
	F_RATE,
	F_FACTOR,
	F_STAGE,    /* a stage a rule may name, stored as its stage_bit() (unsigned) */
	F_REGEX,    /* a struct pattern */
	F_CODE,     /* "550", or a class "5xx"/"4xx" (stored as 5, 4) */
	F_ENHANCED, /* "5.1.1", "x.1.1", "5.7" */
	F_CATEGORY, /* a reply category name, stored as enum category */
	F_PERMANENCE,
	F_BOOL,
	F_BYTES,   /* "10MB", "512KB", "1000" */
	F_SCOPE,   /* global | sender_domain */
	F_PERCENT, /* "10%", "0.3%" (stored as a fraction); "0" or "off": 0 */
	F_TIMES,   /* "3", "3x" (1 to 1000, a double); "0" or "off": 0 */
};

struct field {
	const char *section; /* NULL: top level */
	const char *key;
	enum ftype type;
	size_t off;
	int64_t min, max;
};

/* The file being read and where its values go (base: the struct a field's
 * offset is relative to). */
struct loader {
	const char *path;
	void *base;
	void *c; /* the struct config (for checks across items), or NULL */
	struct err *e;
};

/* The 1-based line and column where n starts (0, 0 if unknown). */
void cfg_node_pos(struct ynode *n, int *line, int *col);
/* Sets e to "path:line:col: " + fmt (with a and b) at n; returns -1. */
int cfg_fail_at(struct loader *l, struct ynode *n, const char *fmt, const char *a, const char *b);
/* The scalar text of n, NUL-terminated and owned by the caller, or NULL. */
char *cfg_scalar_dup(struct ynode *n);
/* Checks val against f's type and bounds and stores it at l->base + f->off. */
int cfg_set_scalar(struct loader *l, const struct field *f, struct ynode *key, struct ynode *val);

/* Reads a list of mappings into a growing array of size-byte items: each key
 * through key_fn, then each item through check. */
typedef int (*item_key_fn)(struct loader *l, void *item, const char *k, struct ynode *key,
                           struct ynode *val);
typedef int (*item_check_fn)(struct loader *l, void *item, struct ynode *where);
int cfg_load_items(struct loader *l, const char *name, struct ynode *key, struct ynode *seq,
                   void **arr, size_t *count, size_t size, item_key_fn key_fn, item_check_fn check);
/* Sets setting k of a list item from its table of fields; an unknown name
 * is an error that lists the known ones. */
int cfg_set_item_field(struct loader *l, void *item, const struct field *tab, size_t n,
                       const char *what, const char *k, struct ynode *key, struct ynode *val);

/* A reply rule's failover, trigger and scope settings (config_rules.c):
 * 1 when k is not one of them, else 0 or -1. rule_check_extra: defaults
 * and checks across them. The `pools` list, likewise. */
struct reply_rule;
struct config;
int cfg_rule_key_extra(struct loader *l, struct reply_rule *r, const char *k, struct ynode *key,
                       struct ynode *val);
int cfg_rule_check_extra(struct loader *l, struct reply_rule *r, struct ynode *where);
int cfg_load_pools(struct loader *l, struct ynode *key, struct ynode *seq);
void cfg_free_pools(struct config *c);

/* The tenants list (mail/config_tenant.c): reads it, checks it whole
 * (or makes the implicit tenant), frees it. */
struct config;
/* The `providers` list (config_provider.c); freed by cfg_free_providers. */
int cfg_load_providers(struct loader *l, struct ynode *key, struct ynode *seq);
void cfg_free_providers(struct config *c);
int cfg_load_tenants(struct loader *l, struct ynode *key, struct ynode *seq);
int cfg_check_tenants(struct loader *l);
struct config;
void cfg_free_tenants(struct config *c);
/* The webhooks list (mail/config_webhook.c), likewise. */
int cfg_load_webhooks(struct loader *l, struct ynode *key, struct ynode *seq);
int cfg_check_webhooks(struct loader *l);
void cfg_free_webhooks(struct config *c);

/* Parses UTF-8 YAML text (named path in errors) into a document, or NULL
 * with e set to the first error at its line and column. */
struct ydoc *cfg_doc_parse(const char *path, const char *text, size_t len, struct err *e);
/* Reads a file (at most CONFIG_SIZE_MAX bytes) and parses it as above. */
struct ydoc *cfg_doc_load(const char *path, struct err *e);

#endif
