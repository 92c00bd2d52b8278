/* Unit tests for src/shape/peers.c: client keys (IPv6 on its /64), caps on
 * connections, rates, and eviction of the least recently used key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "shape/peers.h"

static void key_of(const char *ip, char out[PEERS_KEY_MAX])
{
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
	struct sockaddr_in a4 = {.sin_family = AF_INET};

	if (inet_pton(AF_INET, ip, &a4.sin_addr) == 1) {
		peers_key((struct sockaddr *)&a4, out);
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, ip, &a6.sin6_addr), 1);
	peers_key((struct sockaddr *)&a6, out);
}

static void test_keys(void **state)
{
	char k1[PEERS_KEY_MAX], k2[PEERS_KEY_MAX];
	(void)state;
	key_of("192.0.2.7", k1);
	assert_string_equal(k1, "192.0.2.7");
	/* two addresses of one /64 are one client; another /64 is another */
	key_of("2001:db8:1:2::1", k1);
	key_of("2001:db8:1:2:ffff:eeee:dddd:cccc", k2);
	assert_string_equal(k1, "2001:db8:1:2::/64");
	assert_string_equal(k1, k2);
	key_of("2001:db8:1:3::1", k2);
	assert_string_not_equal(k1, k2);
	/* an IPv4-mapped address is its IPv4 address */
	key_of("::ffff:192.0.2.7", k1);
	assert_string_equal(k1, "192.0.2.7");
}

static void test_caps_and_rates(void **state)
{
	struct peers *p = peers_new(100, 2.0);
	(void)state;
	assert_int_equal(peers_open(p, "a", 2), 0);
	assert_int_equal(peers_open(p, "a", 2), 0);
	assert_int_equal(peers_open(p, "a", 2), -1); /* the third is refused, not counted */
	peers_close(p, "a");
	assert_int_equal(peers_open(p, "a", 2), 0);
	/* 2 a second: a burst of two, then one per 500 ms */
	assert_true(peers_rate_take(p, "b", 1000));
	assert_true(peers_rate_take(p, "b", 1000));
	assert_false(peers_rate_take(p, "b", 1000));
	assert_true(peers_rate_take(p, "b", 1501));
	peers_free(p);
}

/* A flood of new keys evicts the least recently used idle key, one at a
 * time, never one with a connection open, and never everyone at once. */
static void test_eviction(void **state)
{
	struct peers *p = peers_new(3, 1.0);
	(void)state;
	assert_int_equal(peers_open(p, "open", 5), 0);
	assert_true(peers_rate_take(p, "busy", 0));
	assert_false(peers_rate_take(p, "busy", 0)); /* busy has spent its token */
	assert_true(peers_rate_take(p, "idle", 0));
	assert_int_equal(peers_count(p), 3);
	assert_false(peers_rate_take(p, "busy", 0)); /* busy is now the most recent */
	assert_true(peers_rate_take(p, "new", 0));   /* evicts idle, not open or busy */
	assert_int_equal(peers_count(p), 3);
	assert_false(peers_rate_take(p, "busy", 0));   /* busy's budget survived */
	assert_true(peers_rate_take(p, "new2", 0));    /* evicts new */
	assert_int_equal(peers_open(p, "open", 2), 0); /* still counted: 2 of 2 now */
	assert_int_equal(peers_open(p, "open", 2), -1);
	peers_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_caps_and_rates),
	    cmocka_unit_test(test_eviction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
