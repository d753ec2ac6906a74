/*
 * tests/unit/dns/test_zone_secure.c - DNSSEC states from zone text (the
 * zone backend's $SECURE on|off and $BOGUS directives, docs/dns.md):
 * which answers, denials and CNAME chains come back secure, which bogus,
 * and the parse errors of the directives.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailsec/dns.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char zone[] =
    "$ORIGIN test.\n"
    "plain.test.        A     192.0.2.1\n"
    "_25._tcp.plain     TLSA  3 1 1 00112233\n"
    "$SECURE on\n"
    "mx.sec             A     192.0.2.2\n"
    "_25._tcp.mx.sec    TLSA  3 1 1 aabbccdd\n"
    "alias.sec          CNAME mx.sec.test.\n"
    "toplain.sec        CNAME plain.test.\n"
    "$SECURE off\n"
    "late.sec           A     192.0.2.3\n"
    "insecure-alias     CNAME mx.sec.test.\n"
    "$SECURE ON\n"
    "mixed.sec          A     192.0.2.4\n"
    "$SECURE off\n"
    "mixed.sec          A     192.0.2.5\n"
    "$BOGUS _25._tcp.bad.sec TLSA\n"
    "$SECURE on\n"
    "bad.sec            A     192.0.2.6\n"
    "$BOGUS allbad.sec\n";

struct sec_case {
	const char *name;
	uint16_t type;
	enum mailsec_dns_status status;
	bool secure;
	bool bogus;
};

static const struct sec_case cases[] = {
	/* no $SECURE yet: never secure */
	{ "plain.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, false, false },
	{ "_25._tcp.plain.test", MAILSEC_DNS_TLSA, MAILSEC_DNS_ANSWER, false,
	    false },
	{ "plain.test", MAILSEC_DNS_MX, MAILSEC_DNS_NODATA, false, false },
	/* under $SECURE on */
	{ "mx.sec.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, true, false },
	{ "_25._tcp.mx.sec.test", MAILSEC_DNS_TLSA, MAILSEC_DNS_ANSWER, true,
	    false },
	{ "MX.SEC.TEST.", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, true, false },
	/* secure denials: NODATA at a secure name, NXDOMAIN below one */
	{ "mx.sec.test", MAILSEC_DNS_AAAA, MAILSEC_DNS_NODATA, true, false },
	{ "nothere.mx.sec.test", MAILSEC_DNS_A, MAILSEC_DNS_NXDOMAIN, true,
	    false },
	{ "_tcp.mx.sec.test", MAILSEC_DNS_TLSA, MAILSEC_DNS_NODATA, true,
	    false },
	/* chains: secure only when every step is */
	{ "alias.sec.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, true, false },
	{ "toplain.sec.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, false,
	    false },
	{ "insecure-alias.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, false,
	    false },
	/* $SECURE off again */
	{ "late.sec.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, false, false },
	{ "nothere.late.sec.test", MAILSEC_DNS_A, MAILSEC_DNS_NXDOMAIN, false,
	    false },
	/* an RRset partly loaded insecure is insecure */
	{ "mixed.sec.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, false, false },
	/* $BOGUS: SERVFAIL with bogus, for the listed type only */
	{ "_25._tcp.bad.sec.test", MAILSEC_DNS_TLSA, MAILSEC_DNS_SERVFAIL,
	    false, true },
	{ "_25._tcp.bad.sec.test", MAILSEC_DNS_A, MAILSEC_DNS_NXDOMAIN, true,
	    false },
	{ "bad.sec.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, true, false },
	{ "allbad.sec.test", MAILSEC_DNS_MX, MAILSEC_DNS_SERVFAIL, false,
	    true },
	{ "allbad.sec.test", MAILSEC_DNS_TXT, MAILSEC_DNS_SERVFAIL, false,
	    true },
};

static void
test_secure_table(void **state)
{
	struct mailsec_resolver *r = NULL;
	struct mailsec_dns_result *res;
	struct mailsec_diag d = { 0 };
	size_t i;

	(void)state;
	if (mailsec_resolver_new_zone_mem(zone, sizeof zone - 1, NULL, &r,
	    &d) != MAILSEC_OK)
		fail_msg("zone refused: %s", d.text);
	for (i = 0; i < NELEM(cases); i++) {
		res = NULL;
		assert_int_equal(mailsec_dns_lookup(r, cases[i].name,
		    cases[i].type, &res), MAILSEC_OK);
		if (res->status != cases[i].status ||
		    res->secure != cases[i].secure ||
		    res->bogus != cases[i].bogus)
			fail_msg("%s type %u: %s secure=%d bogus=%d (%s)",
			    cases[i].name, cases[i].type,
			    mailsec_dns_status_name(res->status), res->secure,
			    res->bogus, res->why);
		if (cases[i].bogus)
			assert_non_null(strstr(res->why, "$BOGUS"));
		mailsec_dns_result_free(res);
	}
	mailsec_resolver_free(r);
}

/* The cache keeps the flags (it copies whole results). */
static void
test_secure_cached(void **state)
{
	struct mailsec_resolver *r = NULL;
	struct mailsec_dns_result *res = NULL;
	int k;

	(void)state;
	assert_int_equal(mailsec_resolver_new_zone_mem(zone, sizeof zone - 1,
	    NULL, &r, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_set_cache(r, 16), MAILSEC_OK);
	for (k = 0; k < 2; k++) {
		assert_int_equal(mailsec_dns_lookup(r, "_25._tcp.mx.sec.test",
		    MAILSEC_DNS_TLSA, &res), MAILSEC_OK);
		assert_int_equal(res->status, MAILSEC_DNS_ANSWER);
		assert_true(res->secure);
		assert_int_equal(res->count, 1);
		assert_int_equal(res->rrs[0].u.tlsa.usage, 3);
		assert_int_equal(res->rrs[0].u.tlsa.len, 4);
		mailsec_dns_result_free(res);
		res = NULL;
	}
	assert_int_equal(mailsec_resolver_cache_hits(r), 1);
	mailsec_resolver_free(r);
}

static void
test_secure_syntax(void **state)
{
	static const struct {
		const char *text;
		const char *why;
	} bad[] = {
		{ "$SECURE\n", "$SECURE needs" },
		{ "$SECURE yes\n", "not 'yes'" },
		{ "$SECURE on off\n", "$SECURE needs" },
		{ "$SECURE \"on\"\n", "$SECURE needs" },
		{ "$BOGUS\n", "needs a name" },
		{ "$BOGUS x.test. NOSUCHTYPE\n", "unknown type" },
	};
	struct mailsec_resolver *r;
	struct mailsec_diag d;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		r = NULL;
		memset(&d, 0, sizeof d);
		assert_int_equal(mailsec_resolver_new_zone_mem(bad[i].text,
		    strlen(bad[i].text), NULL, &r, &d), MAILSEC_ESYNTAX);
		assert_null(r);
		if (strstr(d.text, bad[i].why) == NULL)
			fail_msg("'%s': diag '%s'", bad[i].text, d.text);
		assert_int_equal(d.line, 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secure_table),
		cmocka_unit_test(test_secure_cached),
		cmocka_unit_test(test_secure_syntax),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
