/* payload: the pure parts of webhook.h: signatures, the backoff schedule,
 * batches as JSON, an endpoint's label. */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhook/webhook.h"

void webhook_sign(const char *secret, int64_t ts, const char *body, size_t len,
                  char out[WEBHOOK_SIG_MAX])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen;
	char head[32];
	int hn = snprintf(head, sizeof(head), "%lld.", (long long)ts);
	/* HMAC over "<ts>." then the body, without copying the body */
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
	                       OSSL_PARAM_construct_end()};
	size_t outl = 0;
	if (!c || !EVP_MAC_init(c, (const unsigned char *)secret, strlen(secret), params) ||
	    !EVP_MAC_update(c, (const unsigned char *)head, (size_t)hn) ||
	    !EVP_MAC_update(c, (const unsigned char *)body, len) ||
	    !EVP_MAC_final(c, mac, &outl, sizeof(mac)))
		outl = 0;
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(m);
	mlen = (unsigned int)outl;
	memcpy(out, "v1=", 3);
	for (unsigned int i = 0; i < mlen && i < 32; i++)
		snprintf(out + 3 + 2 * i, 3, "%02x", mac[i]);
	out[3 + 2 * (mlen < 32 ? mlen : 32)] = '\0';
}

int64_t webhook_backoff_ms(int failures)
{
	int64_t ms = WEBHOOK_BACKOFF_MIN_MS;

	for (int i = 1; i < failures && ms < WEBHOOK_BACKOFF_MAX_MS; i++)
		ms *= 2;
	return ms < WEBHOOK_BACKOFF_MAX_MS ? ms : WEBHOOK_BACKOFF_MAX_MS;
}

struct webhook_batch {
	json_t *events;
};

struct webhook_batch *webhook_batch_new(void)
{
	struct webhook_batch *b = calloc(1, sizeof(*b));
	if (b)
		b->events = json_array();
	return b;
}

static json_t *str_or_null(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;
	return j ? j : json_null(); /* NULL, or not UTF-8 (the store's texts are) */
}

size_t webhook_batch_add(struct webhook_batch *b, const struct store_event_row *r)
{
	json_t *data = json_loads(r->data, JSON_DECODE_ANY, NULL);

	if (!json_is_object(data)) {
		json_decref(data);
		data = json_object();
	}
	json_t *ev = json_object();
	json_object_set_new(ev, "id", str_or_null(r->uid));
	json_object_set_new(ev, "type", str_or_null(r->type));
	json_object_set_new(ev, "time", json_integer(r->time_s));
	json_object_set_new(ev, "tenant",
	                    r->tenant && r->tenant[0] ? str_or_null(r->tenant) : json_null());
	json_object_set_new(ev, "campaign", str_or_null(r->campaign));
	json_object_set_new(ev, "recipient", str_or_null(r->recipient));
	json_object_set_new(ev, "data", data);
	json_array_append_new(b->events, ev);
	return json_array_size(b->events);
}

size_t webhook_batch_count(const struct webhook_batch *b)
{
	return json_array_size(b->events);
}

char *webhook_batch_body(const struct webhook_batch *b)
{
	json_t *root = json_pack("{s:O}", "events", b->events);
	char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return s;
}

void webhook_batch_free(struct webhook_batch *b)
{
	if (!b)
		return;
	json_decref(b->events);
	free(b);
}

void webhook_endpoint_label(const char *url, char *out, size_t n)
{
	const char *p = strstr(url, "://");
	size_t k = 0;

	if (n == 0)
		return;
	const char *host = p ? p + 3 : url;
	const char *at = strchr(host, '@'), *slash = strchr(host, '/');
	if (at && (!slash || at < slash)) { /* user:password@ */
		size_t sn = p ? (size_t)(host - url) : 0;
		for (size_t i = 0; i < sn && k + 1 < n; i++)
			out[k++] = url[i];
		url = at + 1;
	}
	for (const char *c = url; *c && *c != '?' && *c != '#' && k + 1 < n; c++)
		if (*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20)
			out[k++] = *c;
	out[k] = '\0';
}
