/*
 * idempotency: what the HTTP API remembers of a POST that carried an
 * Idempotency-Key (table idempotency of queue.db). Per tenant and key: a
 * SHA-256 of the request (method, path, body), the response's status and
 * body, and when. The record is written into the store's open transaction,
 * next to the effect it answers for, so both are durable in one commit or
 * neither is. Records older than the caller's window count as absent and
 * are deleted by store_idem_expire.
 */
#ifndef SLUICE_STORE_IDEMPOTENCY_H
#define SLUICE_STORE_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define STORE_IDEM_KEY_MAX 255 /* bytes of an Idempotency-Key */

struct store;

struct store_idem {
	unsigned char hash[32]; /* SHA-256 of method, path and body */
	int status;
	char *body; /* owned (store_idem_free) */
	int64_t created_s;
};

/* Creates the tables if missing (store_open calls it). 0 or -1. */
int store_idem_init(struct store *s, struct err *e);
/* The record of (tenant, key) made at or after since_s: 1 and out filled,
 * 0 absent, -1 error. */
int store_idem_get(struct store *s, const char *tenant, const char *key, int64_t since_s,
                   struct store_idem *out, struct err *e);
/* Writes (or replaces an expired) record in the open transaction. 0 or -1. */
int store_idem_put(struct store *s, const char *tenant, const char *key, const struct store_idem *r,
                   struct err *e);
/* Deletes the records made before before_s; *n how many (may be NULL). */
int store_idem_expire(struct store *s, int64_t before_s, int64_t *n, struct err *e);
void store_idem_free(struct store_idem *r);

#endif
