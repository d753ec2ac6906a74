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

static struct mailsec_resolver *
resolver(void)
{
	struct mailsec_unbound_opts o = { NULL, false, NULL };
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag d = { 0 };

	o.forward = getenv("MAILSEC_TEST_DNS");
	if (o.forward == NULL || o.forward[0] == '\0')
		fail_msg("MAILSEC_TEST_DNS is not set: run me through "
		    "run_audit_nsd.sh (ctest does)");
	if (mailsec_resolver_new_unbound(&o, &r, &d) != MAILSEC_OK)
		fail_msg("resolver for '%s': %s", o.forward, d.text);
	return r;
}

/* nsd is bound; wait (bounded, 5 s) until it answers from the zone. */
static void
wait_ready(void)
{
	struct mailsec_resolver *r;
	struct mailsec_dns_result *res;
	int i, ok = 0;

	for (i = 0; i < 50 && !ok; i++) {
		r = resolver();
		mailsec_resolver_set_timeout(r, 500);
		res = NULL;
		if (mailsec_dns_lookup(r, "mx.good.test", MAILSEC_DNS_A,
		    &res) == MAILSEC_OK && res->status == MAILSEC_DNS_ANSWER)
			ok = 1;
		mailsec_dns_result_free(res);
		mailsec_resolver_free(r);
		if (!ok)
			usleep(100 * 1000);
	}
	if (!ok)
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
