/* Unit tests for src/msg/verp.c: tokens round-trip, forgeries fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "msg/verp.h"

#define SECRET "0123456789abcdef-test"

static void test_roundtrip(void **state)
{
	(void)state;
	char tok[VERP_TOKEN_MAX + 1], salt[VERP_SALT_MAX];
	int64_t id = 0;
	verp_token(SECRET, "bounce", "a1b2c3d4e5f6", 42, tok, sizeof(tok));
	assert_int_equal(verp_token_check(SECRET, "bounce", tok, strlen(tok), salt, &id), VERP_OK);
	assert_string_equal(salt, "a1b2c3d4e5f6");
	assert_int_equal(id, 42);
	/* a receiver may fold the local part's case */
	for (char *p = tok; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(verp_token_check(SECRET, "bounce", tok, strlen(tok), salt, &id), VERP_OK);
}

static void test_forgeries(void **state)
{
	(void)state;
	char tok[VERP_TOKEN_MAX + 1], salt[VERP_SALT_MAX];
	int64_t id;
	verp_token(SECRET, "bounce", "a1b2c3d4e5f6", 42, tok, sizeof(tok));
	/* another key, another purpose, another recipient: all forged */
	assert_int_equal(
	    verp_token_check("another-secret-xyz", "bounce", tok, strlen(tok), salt, &id),
	    VERP_FORGED);
	assert_int_equal(verp_token_check(SECRET, "unsub", tok, strlen(tok), salt, &id),
	                 VERP_FORGED);
	char other[VERP_TOKEN_MAX + 1];
	strcpy(other, tok);
	char *dot = strchr(other, '.');
	dot[1] = dot[1] == '9' ? '8' : '9';
	assert_int_equal(verp_token_check(SECRET, "bounce", other, strlen(other), salt, &id),
	                 VERP_FORGED);
	const char *bad[] = {"",
	                     "abc",
	                     "zz.1.0011223344556677",
	                     "ab..0011223344556677",
	                     "ab.1.00112233",
	                     "ab.-1.0011223344556677",
	                     "ab.1x.0011223344556677"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    verp_token_check(SECRET, "bounce", bad[i], strlen(bad[i]), salt, &id),
		    VERP_MALFORMED);
}

static void test_address_and_headers(void **state)
{
	(void)state;
	char addr[300], hdr[600];
	verp_address(SECRET, "b", "bounce.example.com", "00ff", 7, addr, sizeof(addr));
	assert_true(strncmp(addr, "b+00ff.7.", 9) == 0);
	assert_non_null(strstr(addr, "@bounce.example.com"));
	assert_true(strlen(addr) - strlen("@bounce.example.com") <= 64);
	const char *tok;
	size_t n;
	assert_int_equal(verp_split("B", addr, (size_t)(strchr(addr, '@') - addr), &tok, &n), 1);
	assert_int_equal(verp_split("bb", addr, (size_t)(strchr(addr, '@') - addr), &tok, &n), 0);
	char link[200];
	verp_unsubscribe_headers(SECRET, "https://u.example.com/unsub", "bounce.example.com",
	                         "00ff", 7, hdr, sizeof(hdr), link, sizeof(link));
	assert_true(strncmp(link, "https://u.example.com/unsub/00ff.7.", 35) == 0);
	assert_non_null(strstr(hdr, link));
	assert_non_null(strstr(hdr, "List-Unsubscribe: <https://u.example.com/unsub/00ff.7."));
	assert_non_null(strstr(hdr, "<mailto:unsubscribe+00ff.7."));
	assert_non_null(strstr(hdr, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
	verp_unsubscribe_headers(SECRET, NULL, NULL, "00ff", 7, hdr, sizeof(hdr), link,
	                         sizeof(link));
	assert_string_equal(hdr, "");
	assert_string_equal(link, "");
}

/* A Message-ID names its recipient only with the secret's MAC in it. */
static void test_message_id(void **state)
{
	(void)state;
	char mid[200], salt[VERP_SALT_MAX];
	int64_t id;
	verp_message_id(SECRET, "00ff", 7, "news.example.com", mid, sizeof(mid));
	assert_true(strncmp(mid, "<00ff.7.", 8) == 0);
	assert_non_null(strstr(mid, "@news.example.com>"));
	size_t toklen = (size_t)(strchr(mid, '@') - mid - 1);
	assert_int_equal(verp_token_check(SECRET, "msgid", mid + 1, toklen, salt, &id), VERP_OK);
	assert_int_equal(id, 7);
	/* a neighbour's id with the same salt and MAC is forged */
	char forged[200];
	snprintf(forged, sizeof(forged), "00ff.8.%.16s", mid + 8);
	assert_int_equal(verp_token_check(SECRET, "msgid", forged, strlen(forged), salt, &id),
	                 VERP_FORGED);
	/* other spellings of the same id are not the token */
	char alt[200];
	snprintf(alt, sizeof(alt), "00ff.07.%.16s", mid + 8);
	assert_int_equal(verp_token_check(SECRET, "msgid", alt, strlen(alt), salt, &id),
	                 VERP_MALFORMED);
	snprintf(alt, sizeof(alt), "00ff.+7.%.16s", mid + 8);
	assert_int_equal(verp_token_check(SECRET, "msgid", alt, strlen(alt), salt, &id),
	                 VERP_MALFORMED);
	/* nor does a bounce token pass for a Message-ID */
	assert_int_equal(verp_token_check(SECRET, "bounce", mid + 1, toklen, salt, &id),
	                 VERP_FORGED);
	/* without a secret: the old unsigned form */
	verp_message_id(NULL, "00ff", 7, "news.example.com", mid, sizeof(mid));
	assert_string_equal(mid, "<7.00ff@news.example.com>");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_forgeries),
	    cmocka_unit_test(test_address_and_headers),
	    cmocka_unit_test(test_message_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
