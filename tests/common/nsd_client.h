/*
 * tests/common/nsd_client.h: the client side of the tests that run
 * against nsd on loopback (tests/integration/run_nsd.sh and
 * audit/run_audit_nsd.sh start it): a libunbound resolver forwarding to
 * it, and the bounded wait until it answers from its zone. cmocka tests:
 * include after <cmocka.h>.
 */
#ifndef MAILSEC_TESTS_NSD_CLIENT_H
#define MAILSEC_TESTS_NSD_CLIENT_H

#include <stdbool.h>

#include <mailsec/dns.h>

/*
 * A resolver forwarding to SPEC ("127.0.0.1@PORT"); a resolver that
 * cannot be made fails the test.
 */
struct mailsec_resolver	*nsd_resolver_for(const char *spec);

/*
 * Waits (bounded, 5 s) until the server at SPEC answers the A query of
 * NAME from its zone, a new resolver each try (none remembers a failure);
 * true when it does.
 */
bool			 nsd_wait_answer(const char *spec, const char *name);

#endif
