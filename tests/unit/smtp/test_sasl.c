/* Unit tests for src/smtp/sasl.c: strict base64, AUTH PLAIN and LOGIN
 * responses (shapes, limits, the authorization identity). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "smtp/sasl.h"

/* base64 of n octets of p */
static const char *enc(const void *p, size_t n)
{
	static char out[2048];
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

static void test_b64(void **state)
{
	unsigned char out[64];
	size_t n;
	(void)state;
	assert_int_equal(sasl_b64_decode("aGVsbG8=", out, sizeof(out), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(sasl_b64_decode("aGk=", out, sizeof(out), &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(sasl_b64_decode("aGVsbG8h", out, sizeof(out), &n), 0);
	assert_int_equal(n, 6);
	/* empty responses (RFC 4954: "=") */
	assert_int_equal(sasl_b64_decode("", out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sasl_b64_decode("=", out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	/* junk: bad characters, length, padding in the middle, white space */
	assert_int_equal(sasl_b64_decode("!!!!", out, sizeof(out), &n), -1);
	assert_int_equal(sasl_b64_decode("aGVsbG8", out, sizeof(out), &n), -1);
	assert_int_equal(sasl_b64_decode("aG=sbG8h", out, sizeof(out), &n), -1);
	assert_int_equal(sasl_b64_decode("a===", out, sizeof(out), &n), -1);
	assert_int_equal(sasl_b64_decode("aGVs bG8=", out, sizeof(out), &n), -1);
	assert_int_equal(sasl_b64_decode(" aGk=", out, sizeof(out), &n), -1);
	/* does not fit the output */
	assert_int_equal(sasl_b64_decode("aGVsbG8=", out, 4, &n), -1);
	/* longer than SASL_B64_MAX */
	char big[SASL_B64_MAX + 5];
	memset(big, 'A', SASL_B64_MAX + 4);
	big[SASL_B64_MAX + 4] = '\0';
	assert_int_equal(sasl_b64_decode(big, out, sizeof(out), &n), -1);
}

static void test_plain(void **state)
{
	char user[SASL_USER_MAX + 1], pass[SASL_PASS_MAX + 1];
	(void)state;
	assert_int_equal(sasl_plain_decode(enc("\0alice\0s3cret", 13), user, pass), 0);
	assert_string_equal(user, "alice");
	assert_string_equal(pass, "s3cret");
	/* the authorization identity may repeat the user, nothing else */
	assert_int_equal(sasl_plain_decode(enc("alice\0alice\0pw", 14), user, pass), 0);
	assert_string_equal(user, "alice");
	assert_int_equal(sasl_plain_decode(enc("root\0alice\0pw", 13), user, pass), -2);
	assert_string_equal(user, "");
	assert_string_equal(pass, "");
	/* an empty password is a shape the owner judges */
	assert_int_equal(sasl_plain_decode(enc("\0alice\0", 7), user, pass), 0);
	assert_string_equal(pass, "");
	/* wrong shapes */
	assert_int_equal(sasl_plain_decode(enc("alice s3cret", 12), user, pass), -1);
	assert_int_equal(sasl_plain_decode(enc("\0alice", 6), user, pass), -1);
	assert_int_equal(sasl_plain_decode(enc("\0\0pw", 4), user, pass), -1);
	assert_int_equal(sasl_plain_decode(enc("\0al\nice\0pw", 10), user, pass), -1);
	assert_int_equal(sasl_plain_decode(enc("\0alice\0pw\0x", 11), user, pass), -1);
	assert_int_equal(sasl_plain_decode("not base64!", user, pass), -1);
	assert_int_equal(sasl_plain_decode("", user, pass), -1);
	/* a user of SASL_USER_MAX fits, one more does not */
	char raw[SASL_USER_MAX + 8];
	raw[0] = '\0';
	memset(raw + 1, 'u', SASL_USER_MAX);
	raw[SASL_USER_MAX + 1] = '\0';
	raw[SASL_USER_MAX + 2] = 'p';
	assert_int_equal(sasl_plain_decode(enc(raw, SASL_USER_MAX + 3), user, pass), 0);
	assert_int_equal(strlen(user), SASL_USER_MAX);
	memset(raw + 1, 'u', SASL_USER_MAX + 1);
	raw[SASL_USER_MAX + 2] = '\0';
	raw[SASL_USER_MAX + 3] = 'p';
	assert_int_equal(sasl_plain_decode(enc(raw, SASL_USER_MAX + 4), user, pass), -1);
}

static void test_login(void **state)
{
	char out[SASL_USER_MAX + 1];
	(void)state;
	assert_int_equal(sasl_login_decode("YWxpY2U=", out, SASL_USER_MAX, 1), 0);
	assert_string_equal(out, "alice");
	assert_int_equal(sasl_login_decode("=", out, SASL_USER_MAX, 1), -1); /* empty user */
	assert_int_equal(sasl_login_decode("=", out, SASL_PASS_MAX, 0), 0);  /* empty password */
	assert_string_equal(out, "");
	assert_int_equal(sasl_login_decode(enc("a\0b", 3), out, SASL_USER_MAX, 0), -1);
	assert_int_equal(sasl_login_decode(enc("a\rb", 3), out, SASL_USER_MAX, 1), -1);
	assert_int_equal(sasl_login_decode(enc("a\rb", 3), out, SASL_USER_MAX, 0), 0);
	assert_int_equal(sasl_login_decode("YWxpY2U=", out, 3, 1), -1); /* too long */
	assert_int_equal(sasl_login_decode("%%%junk", out, SASL_USER_MAX, 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64),
	    cmocka_unit_test(test_plain),
	    cmocka_unit_test(test_login),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
