/*
 * submission: serve's SMTP submission listeners (RFC 6409): STARTTLS on
 * submission.listen (587), implicit TLS on submission.listen_tls (465),
 * both smtp/server.c with AUTH required. What a tenant may do is submit's
 * (submit/submit.h); this file is the glue: credentials checked on a worker
 * (crypt(3) is slow on purpose), the session's tenant, and the 250 with the
 * queue id once the message is committed.
 *
 * A session's identity is its tenant's name, interned for the life of the
 * listeners (the config may be reloaded meanwhile: every use looks the
 * tenant up again, and a tenant removed by a reload can no longer send).
 * A password that verified is remembered as an HMAC under a key made at
 * start (never the password), so a client that reconnects for every message
 * does not cost a crypt(3) each time; a reload forgets them all.
 */
#include "serve/submission.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/config.h"
#include "smtp/server.h"
#include "submit/submit.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/tls.h"
#include "util/workers.h"
#include "util/xmalloc.h"

#define VERIFIED_MAX 10000 /* users whose last good password is remembered */

struct submission {
	const struct config *cfg;
	struct submit *submit;
	struct workers *crypt_workers;
	struct ssl_ctx_st *tls;
	struct smtp_server *starttls, *implicit;
	struct strmap *names;    /* tenant name -> the interned copy (an identity) */
	struct strmap *verified; /* user -> unsigned char[32]: HMAC of its good password */
	unsigned char key[32];   /* the HMAC's */
};

static const char *intern(struct submission *sm, const char *name)
{
	char *v = strmap_get(sm->names, name);
	if (!v) {
		v = xstrdup(name);
		strmap_put(sm->names, name, v);
	}
	return v;
}

static void password_mac(const struct submission *sm, const char *user, const char *pw,
                         unsigned char out[32])
{
	unsigned int n = 32;
	size_t ul = strlen(user) + 1, pl = strlen(pw);
	unsigned char *buf = xmalloc(ul + pl);

	memcpy(buf, user, ul); /* user NUL password: no two pairs run together */
	memcpy(buf + ul, pw, pl);
	HMAC(EVP_sha256(), sm->key, sizeof(sm->key), buf, ul + pl, out, &n);
	OPENSSL_cleanse(buf, ul + pl);
	free(buf);
}

/* ---- AUTH ---- */

struct auth_job {
	struct submission *sm;
	struct smtp_server_auth *a;
	char *hash;     /* the user's, or a dummy so an unknown user costs the same */
	char *tenant;   /* the user's tenant, or NULL */
	char *password; /* a copy, wiped */
	int ok;
};

/* A yescrypt hash of nothing anyone knows: unknown users are checked
 * against it, so the answer takes as long as for a known one. */
static const char dummy_hash[] =
    "$y$j9T$0123456789abcdefghijkl$ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq";

static void auth_work(void *arg)
{
	struct auth_job *j = arg;
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *h = crypt_r(j->password, j->hash, cd);

	j->ok = j->tenant && h && h[0] != '*' && strlen(h) == strlen(j->hash) &&
	        CRYPTO_memcmp(h, j->hash, strlen(h)) == 0;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
}

static void auth_done(void *arg)
{
	struct auth_job *j = arg;
	struct submission *sm = j->sm;

	if (j->ok && strmap_count(sm->verified) < VERIFIED_MAX) {
		unsigned char *mac = strmap_get(sm->verified, j->a->user);
		if (!mac) {
			mac = xmalloc(32);
			strmap_put(sm->verified, j->a->user, mac);
		}
		password_mac(sm, j->a->user, j->password, mac);
	}
	OPENSSL_cleanse(j->password, strlen(j->password));
	smtp_server_auth_done(j->a, j->ok, j->ok ? (void *)intern(sm, j->tenant) : NULL);
	free(j->password);
	free(j->hash);
	free(j->tenant);
	free(j);
}

static void on_auth(void *arg, struct smtp_server_auth *a)
{
	struct submission *sm = arg;
	const char *hash = NULL;
	const struct tenant *t = tenant_by_user(sm->cfg, a->user, &hash);
	unsigned char *known = t ? strmap_get(sm->verified, a->user) : NULL;

	if (known) {
		unsigned char mac[32];
		password_mac(sm, a->user, a->password, mac);
		if (CRYPTO_memcmp(mac, known, sizeof(mac)) == 0) {
			smtp_server_auth_done(a, 1, (void *)intern(sm, t->name));
			return;
		}
	}
	struct auth_job *j = xcalloc(1, sizeof(*j));
	j->sm = sm;
	j->a = a;
	j->hash = xstrdup(t ? hash : dummy_hash);
	j->tenant = t ? xstrdup(t->name) : NULL;
	j->password = xstrdup(a->password);
	workers_submit(sm->crypt_workers, auth_work, auth_done, j);
}

/* ---- the envelope and the message ---- */

/* The session's tenant as the config now has it, or NULL (reply set). */
static const struct tenant *tenant_of(struct submission *sm, const struct smtp_server_peer *p,
                                      char *reply, size_t n)
{
	const struct tenant *t = p->identity ? tenant_by_name(sm->cfg, p->identity) : NULL;
	if (!t)
		snprintf(reply, n, "530 5.7.0 Authentication required");
	return t;
}

static int on_mail(void *arg, const struct smtp_server_peer *p, const char *from, char *reply,
                   size_t n)
{
	struct submission *sm = arg;
	struct submit_refusal r;
	const struct tenant *t = tenant_of(sm, p, reply, n);

	if (!t)
		return -1;
	if (submit_check_sender(sm->submit, t, from, &r) != 0) {
		snprintf(reply, n, "%s", r.reply);
		return -1;
	}
	return 0;
}

static int on_rcpt(void *arg, const struct smtp_server_peer *p, const char *from, const char *rcpt,
                   char *reply, size_t n)
{
	struct submission *sm = arg;
	struct submit_refusal r;
	const struct tenant *t = tenant_of(sm, p, reply, n);

	(void)from;
	if (!t)
		return -1;
	if (submit_check_rcpt(sm->submit, t, rcpt, p->nrcpts + 1, &r) != 0) {
		snprintf(reply, n, "%s", r.reply);
		return -1;
	}
	return 0;
}

struct pending {
	struct smtp_server_msg *m;
	char qid[SUBMIT_QUEUE_ID_MAX];
};

static void committed(void *arg, int ok)
{
	struct pending *pm = arg;
	char reply[SUBMIT_QUEUE_ID_MAX + 40];

	if (ok)
		snprintf(reply, sizeof(reply), "250 2.0.0 Ok: queued as %s", pm->qid);
	else
		snprintf(reply, sizeof(reply), "451 4.3.0 The queue could not store it, try again");
	smtp_server_done(pm->m, reply);
	free(pm);
}

static void on_message(void *arg, struct smtp_server_msg *m)
{
	struct submission *sm = arg;
	char reply[SUBMIT_REPLY_MAX];
	const struct tenant *t = tenant_of(sm, m->peer, reply, sizeof(reply));
	struct submit_refusal r;
	struct pending *pm = xcalloc(1, sizeof(*pm));

	if (!t) {
		smtp_server_done(m, reply);
		free(pm);
		return;
	}
	struct submit_msg sub = {
	    .tenant = t,
	    .mail_from = m->mail_from,
	    .rcpts = (const char *const *)m->rcpts,
	    .nrcpts = m->nrcpts,
	    .data = m->data,
	    .len = m->len,
	    .rcpts_checked = 1, /* each one at its RCPT */
	};
	if (submit_queue(sm->submit, &sub, pm->qid, &r) != 0) {
		smtp_server_done(m, r.reply);
		free(pm);
		return;
	}
	pm->m = m;
	submit_flush(sm->submit, committed, pm);
}

/* ---- setup ---- */

static int listen_one(struct submission *sm, const struct submission_params *p, const char *addr,
                      int implicit, struct smtp_server **out, struct err *e)
{
	static const struct smtp_server_ops ops = {
	    .mail = on_mail, .rcpt = on_rcpt, .message = on_message, .auth = on_auth};
	const struct config *c = sm->cfg;
	struct smtp_server_params sp = {
	    .base = p->base,
	    .listen = addr,
	    .hostname = p->hostname,
	    .max_size = c->submission_max_size,
	    .max_sessions = c->submission_max_connections,
	    .max_per_ip = c->submission_max_per_ip,
	    .idle_ms = c->submission_idle_ms,
	    .min_data_rate = c->inbound_min_data_rate,
	    .memory_limit = c->inbound_memory_limit,
	    /* the tenant's max_recipients is checked at each RCPT (on_rcpt), as a
	     * reload has it; the server's own cap is the most any tenant may
	     * have (only authenticated sessions reach RCPT) */
	    .max_rcpts = TENANT_RCPTS_MAX,
	    .tls = sm->tls,
	    .implicit_tls = implicit,
	    .auth = 1,
	    .auth_without_tls = c->submission_auth_without_tls,
	    .require_auth = 1,
	    .auth_max_failures = c->submission_auth_max_failures,
	    .auth_lockout_ms = c->submission_auth_lockout_ms,
	};
	if (smtp_server_new(&sp, &ops, sm, out, e) != 0)
		return -1;
	log_info("submission: listening on %s (%s, AUTH required)", addr,
	         implicit  ? "implicit TLS"
	         : sm->tls ? "STARTTLS"
	                   : "no TLS: loopback only");
	return 0;
}

int submission_start(const struct submission_params *p, struct submission **out, struct err *e)
{
	const struct config *c = p->cfg;

	*out = NULL;
	if (!c->submission_listen && !c->submission_listen_tls)
		return 0;
	struct submission *sm = xcalloc(1, sizeof(*sm));
	sm->cfg = c;
	sm->submit = p->submit;
	sm->names = strmap_new();
	sm->verified = strmap_new();
	if (RAND_bytes(sm->key, sizeof(sm->key)) != 1) {
		submission_stop(sm);
		return err_set(e, "submission: no randomness for its keys");
	}
	if (c->submission_cert &&
	    tls_server_ctx_new(c->submission_cert, c->submission_key, &sm->tls, e) != 0) {
		submission_stop(sm);
		return -1;
	}
	sm->crypt_workers = workers_new(p->base, 2);
	if (!sm->crypt_workers) {
		submission_stop(sm);
		return err_set(e, "submission: cannot start the threads that check passwords");
	}
	if ((c->submission_listen &&
	     listen_one(sm, p, c->submission_listen, 0, &sm->starttls, e) != 0) ||
	    (c->submission_listen_tls &&
	     listen_one(sm, p, c->submission_listen_tls, 1, &sm->implicit, e) != 0)) {
		submission_stop(sm);
		return -1;
	}
	*out = sm;
	return 0;
}

void submission_reconfigure(struct submission *sm, const struct config *cfg)
{
	if (!sm)
		return;
	sm->cfg = cfg;
	strmap_free(sm->verified, free); /* passwords may have changed */
	sm->verified = strmap_new();
}

void submission_close_listener(struct submission *sm)
{
	if (!sm)
		return;
	smtp_server_close_listener(sm->starttls);
	smtp_server_close_listener(sm->implicit);
}

int submission_flushed(const struct submission *sm)
{
	return !sm || (smtp_server_flushed(sm->starttls) && smtp_server_flushed(sm->implicit));
}

void submission_stop(struct submission *sm)
{
	if (!sm)
		return;
	smtp_server_free(sm->starttls);
	smtp_server_free(sm->implicit);
	workers_free(sm->crypt_workers); /* runs the last auth_done: before the maps go */
	strmap_free(sm->verified, free);
	strmap_free(sm->names, free);
	if (sm->tls)
		SSL_CTX_free(sm->tls);
	free(sm);
}
