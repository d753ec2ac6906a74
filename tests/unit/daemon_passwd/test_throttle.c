/*
 * Unit tests for the AUTH failure throttle (daemon/auth.c): a sliding
 * window of 60 seconds per client address, shared by the workers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"

static struct auth_throttle *
fresh(void)
{
	struct auth_throttle *t = calloc(1, sizeof *t);

	assert_non_null(t);
	return t;
}

/* Failures inside one minute add up; the limit is reached, not passed. */
static void
test_one_minute(void **state)
{
	struct auth_throttle *t = fresh();

	(void)state;
	assert_false(auth_throttled_at(t, "192.0.2.1", 2, 600));
	auth_throttle_fail_at(t, "192.0.2.1", 600);
	assert_false(auth_throttled_at(t, "192.0.2.1", 2, 601));
	auth_throttle_fail_at(t, "192.0.2.1", 601);
	assert_true(auth_throttled_at(t, "192.0.2.1", 2, 602));
	assert_true(auth_throttled_at(t, "192.0.2.1", 2, 659));
	/* limit 0 turns it off */
	assert_false(auth_throttled_at(t, "192.0.2.1", 0, 602));
	free(t);
}

/*
 * Failures on both sides of a minute boundary still count together:
 * a counter reset every minute let a third attempt through here.
 */
static void
test_boundary(void **state)
{
	struct auth_throttle *t = fresh();

	(void)state;
	auth_throttle_fail_at(t, "192.0.2.1", 659);
	auth_throttle_fail_at(t, "192.0.2.1", 660);
	assert_true(auth_throttled_at(t, "192.0.2.1", 2, 660));
	/* both in the last minute, just before the boundary */
	auth_throttle_fail_at(t, "198.51.100.7", 718);
	auth_throttle_fail_at(t, "198.51.100.7", 719);
	assert_true(auth_throttled_at(t, "198.51.100.7", 2, 720));
	free(t);
}

/* The previous minute's failures fade out over the current one. */
static void
test_decay(void **state)
{
	struct auth_throttle *t = fresh();
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		auth_throttle_fail_at(t, "192.0.2.1", 630);
	/* minute 11: 4 * (60 - s) / 60 */
	assert_true(auth_throttled_at(t, "192.0.2.1", 4, 660));
	assert_true(auth_throttled_at(t, "192.0.2.1", 2, 689));
	assert_false(auth_throttled_at(t, "192.0.2.1", 2, 691));
	assert_false(auth_throttled_at(t, "192.0.2.1", 1, 720));
	/* a new failure carries the old minute along */
	auth_throttle_fail_at(t, "192.0.2.1", 675);
	assert_true(auth_throttled_at(t, "192.0.2.1", 4, 675));
	assert_false(auth_throttled_at(t, "192.0.2.1", 4, 700));
	/* two minutes later nothing is left */
	assert_false(auth_throttled_at(t, "192.0.2.1", 1, 780));
	auth_throttle_fail_at(t, "192.0.2.1", 780);
	assert_false(auth_throttled_at(t, "192.0.2.1", 2, 780));
	free(t);
}

/* Addresses are counted apart; counts saturate instead of wrapping. */
static void
test_apart_and_saturation(void **state)
{
	struct auth_throttle *t = fresh();
	const char *a = "192.0.2.1", *b = "192.0.2.2";
	unsigned i;

	(void)state;
	assert_int_not_equal(auth_hash(a) % AUTH_THROTTLE_SLOTS,
	    auth_hash(b) % AUTH_THROTTLE_SLOTS);
	for (i = 0; i < 70000; i++)
		auth_throttle_fail_at(t, a, 900);
	assert_true(auth_throttled_at(t, a, 65535, 900));
	assert_false(auth_throttled_at(t, a, 65536, 900));
	assert_false(auth_throttled_at(t, b, 1, 900));
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_minute),
		cmocka_unit_test(test_boundary),
		cmocka_unit_test(test_decay),
		cmocka_unit_test(test_apart_and_saturation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
