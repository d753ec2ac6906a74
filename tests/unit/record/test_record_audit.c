/*
 * tests/unit/record/test_record_audit.c - the audit over the zone
 * backend reading tests/integration/audit/audit.test.zone, the zone the
 * integration test serves with nsd: the same planted problems, found
 * the same way (audit_cases.h), plus argument checks and the audit
 * without an HTTPS client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../integration/audit/audit_cases.h"

#define ZONE MAILSEC_SOURCE_DIR "/tests/integration/audit/audit.test.zone"

static struct mailsec_resolver *
resolver(void)
{
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag d = { 0 };

	if (mailsec_resolver_new_zone_file(ZONE, &r, &d) != MAILSEC_OK)
		fail_msg("%s: %s", ZONE, d.text);
	return r;
}

static void
test_planted(void **state)
{
	struct mailsec_resolver *r = resolver();

	(void)state;
	audit_check_all(r);
	mailsec_resolver_free(r);
}

static void
test_no_https(void **state)
{
	struct mailsec_resolver *r = resolver();
	struct mailsec_audit_opts o = { 0 };
	struct mailsec_audit *a = NULL;
	const struct mailsec_finding *f;
	size_t n;

	(void)state;
	assert_int_equal(mailsec_audit_run(r, "good.test.", NULL, &a, NULL),
	    MAILSEC_OK);
	assert_string_equal(a->domain, "good.test");
	f = mailsec_audit_find(a, "mtasts-policy-not-fetched");
	assert_non_null(f);
	assert_int_equal(f->severity, MAILSEC_SEV_INFO);
	assert_string_equal(f->area, "mta-sts");
	assert_null(a->mtasts_policy);
	assert_non_null(a->mtasts);
	/* s1 is a common selector: found without being named */
	assert_int_equal(a->ndkim, 1);
	assert_int_equal(a->grade, 'A');
	mailsec_audit_free(a);
	/* only the named ones (none): no key found */
	o.no_common_selectors = true;
	assert_int_equal(mailsec_audit_run(r, "good.test", &o, &a, NULL),
	    MAILSEC_OK);
	assert_non_null(mailsec_audit_find(a, "dkim-none-found"));
	assert_int_equal(a->ndkim, 0);
	mailsec_audit_free(a);
	assert_int_equal(mailsec_audit_run(r, "not a domain", NULL, &a, NULL),
	    MAILSEC_EINVAL);
	assert_null(a);
	assert_int_equal(mailsec_audit_run(NULL, "good.test", NULL, &a, NULL),
	    MAILSEC_EINVAL);
	assert_non_null(mailsec_audit_common_selectors(&n));
	assert_true(n > 5);
	mailsec_resolver_free(r);
}

/* A domain that does not exist at all. */
static void
test_nxdomain(void **state)
{
	struct mailsec_resolver *r = resolver();
	struct mailsec_audit *a = NULL;

	(void)state;
	assert_int_equal(mailsec_audit_run(r, "nowhere.test", NULL, &a, NULL),
	    MAILSEC_OK);
	assert_non_null(mailsec_audit_find(a, "mx-nxdomain"));
	assert_non_null(mailsec_audit_find(a, "spf-missing"));
	assert_non_null(mailsec_audit_find(a, "dmarc-missing"));
	assert_true(a->score <= 50);
	mailsec_audit_free(a);
	mailsec_resolver_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_planted),
		cmocka_unit_test(test_no_https),
		cmocka_unit_test(test_nxdomain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
