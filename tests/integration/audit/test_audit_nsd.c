/*
 * tests/integration/audit/test_audit_nsd.c - the audit against a real
 * authoritative server: nsd serving audit.test.zone (zone "test.") on
 * loopback, started by run_audit_nsd.sh, which passes its address in
 * MAILSEC_TEST_DNS; queries go through the libunbound backend
 * forwarding to it. Each planted problem of the zone must be found
 * (audit_cases.h, the same expectations as the zone-backend unit test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <time.h>
#include <unistd.h>

#include "audit_cases.h"
#include "../../common/nsd_client.h"

/* nsd's address, from run_audit_nsd.sh */
static const char *
test_dns(void)
{
	const char *spec = getenv("MAILSEC_TEST_DNS");

	if (spec == NULL || spec[0] == '\0')
		fail_msg("MAILSEC_TEST_DNS is not set: run me through "
		    "run_audit_nsd.sh (ctest does)");
	return spec;
}

static struct mailsec_resolver *
resolver(void)
{
	return nsd_resolver_for(test_dns());
}

/* nsd is bound; wait (bounded, 5 s) until it answers from the zone. */
static void
wait_ready(void)
{
	if (!nsd_wait_answer(test_dns(), "mx.good.test"))
		fail_msg("nsd does not answer for mx.good.test");
}

static void
test_planted_nsd(void **state)
{
	struct mailsec_resolver *r;

	(void)state;
	wait_ready();
	r = resolver();
	audit_check_all(r);
	mailsec_resolver_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_planted_nsd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
