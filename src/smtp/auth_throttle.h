/*
 * auth_throttle: failed AUTH attempts per key (a client key of
 * shape/peers.h, or a user name), against password guessing. Each failure
 * within the window makes the next reply wait longer (delay_ms times the
 * failures so far, at most SMTP_AUTH_DELAY_STEPS times delay_ms); the
 * max_failures-th failure within window_ms locks the key out for
 * lockout_ms. A success clears a key. Pure: the time is the caller's, and
 * nothing here sleeps (the server turns a delay into a timer).
 *
 * At most max keys are tracked (keys are copied, up to
 * AUTH_THROTTLE_KEY_MAX octets); a new key evicts the least recently
 * failed one that is not locked out, else the least recently failed of all,
 * so a flood of names forgets the oldest counts first and locks last.
 */
#ifndef SLUICE_SMTP_AUTH_THROTTLE_H
#define SLUICE_SMTP_AUTH_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_THROTTLE_KEY_MAX 256 /* longer keys are cut (user names are at most 255) */
#define SMTP_AUTH_DELAY_STEPS 5   /* the delay grows up to this many times delay_ms */

struct auth_throttle_params {
	int max_failures;   /* failures within window_ms that lock a key out */
	int64_t window_ms;  /* failures older than this are forgotten */
	int64_t lockout_ms; /* how long a key stays locked out */
	int64_t delay_ms;   /* the delay after the first failure */
};

struct auth_throttle;

/* max: keys tracked at once (0 is taken as 1). */
struct auth_throttle *auth_throttle_new(size_t max, const struct auth_throttle_params *p);
void auth_throttle_free(struct auth_throttle *t);
/* Milliseconds key stays locked out from now_ms, or 0 if it is not. */
int64_t auth_throttle_locked(struct auth_throttle *t, const char *key, int64_t now_ms);
/* Counts a failure of key at now_ms and returns how long to wait before
 * answering it (ms). *locked (may be NULL) gets 1 when this failure locked
 * key out, else 0. */
int64_t auth_throttle_fail(struct auth_throttle *t, const char *key, int64_t now_ms, int *locked);
/* A success: key's failures are forgotten (and a lockout lifted). */
void auth_throttle_clear(struct auth_throttle *t, const char *key);
/* Failures of key counted now (0 for an unknown key), and keys tracked. */
int auth_throttle_failures(const struct auth_throttle *t, const char *key);
size_t auth_throttle_count(const struct auth_throttle *t);

#endif
