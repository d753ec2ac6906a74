/*
 * tests/integration/audit/audit_cases.h - the audit's expectations for
 * the domains of audit.test.zone, shared by the unit test (zone backend)
 * and the integration test (nsd on loopback): one planted problem per
 * domain, found; nothing else wrong but the listed side effects; good.test
 * clean. Included by exactly one file per test binary (cmocka first).
 *
 * The MTA-STS policy files come from a stub HTTPS client (stub_get): the
 * library has no HTTP client and the tests do not reach the network.
 */
#ifndef AUDIT_CASES_H
#define AUDIT_CASES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/record.h>

#include "../../common/audit_dump.h"

struct audit_case {
	const char *domain;
	const char *planted;	/* the code that must be found */
	const char *also;	/* other error/warning codes allowed */
};

static const struct audit_case audit_cases[] = {
	{ "lookups.test", "spf-too-many-lookups", "" },
	{ "plusall.test", "spf-all-pass", "" },
	{ "voids.test", "spf-void-lookups", "spf-void-lookup" },
	{ "dupspf.test", "spf-duplicate-records", "" },
	{ "ptr.test", "spf-ptr", "" },
	{ "spftypo.test", "spf-unknown-mechanism", "" },
	{ "nospf.test", "spf-missing", "" },
	{ "nodmarc.test", "dmarc-missing", "" },
	{ "nonenorua.test", "dmarc-none-no-rua", "" },
	{ "foreignrua.test", "dmarc-rua-unauthorized", "" },
	{ "pct.test", "dmarc-pct", "dmarc-obsolete" },
	{ "rejects.test", "dmarc-bad-value", "dmarc-record" },
	{ "sub.good.test", "dmarc-inherited",
	    "dkim-selector-missing dkim-none-found mtasts-missing "
	    "tlsrpt-missing" },
	{ "weakkey.test", "dkim-key-weak", "" },
	{ "testkey.test", "dkim-testing", "" },
	{ "sha1key.test", "dkim-sha1", "" },
	{ "nodkim.test", "dkim-none-found", "dkim-selector-missing" },
	{ "badsts.test", "mtasts-id", "" },
	{ "badpolicy.test", "mtasts-policy-mode", "" },
	{ "mismatch.test", "mtasts-policy-mx-mismatch", "" },
	{ "notlsrpt.test", "tlsrpt-missing", "" },
	{ "nomx.test", "mx-none", "" },
	{ "deadmx.test", "mx-no-address", "mtasts-policy-mx-mismatch" },
	{ "dane.test", "dane-usage", "dane-insecure" },
};

/* Policies by host: enforcing typo at badpolicy, a wrong mx at mismatch,
 * a good one elsewhere. */
static mailsec_err
stub_get(void *arg, const char *url, size_t max, int *status, char **body,
    size_t *len, char *why, size_t whysz)
{
	const char *p = "version: STSv1\r\nmode: enforce\r\n"
	    "mx: mx.good.test\r\nmx: mx2.good.test\r\nmx: *.dane.test\r\n"
	    "max_age: 604800\r\n";

	(void)max;
	(void)why;
	(void)whysz;
	(*(unsigned *)arg)++;
	if (strstr(url, "://mta-sts.badpolicy.test/") != NULL)
		p = "version: STSv1\r\nmode: enforcing\r\nmx: mx.good.test\r\n"
		    "mx: mx2.good.test\r\nmax_age: 604800\r\n";
	else if (strstr(url, "://mta-sts.mismatch.test/") != NULL)
		p = "version: STSv1\r\nmode: enforce\r\nmx: other.test\r\n"
		    "max_age: 604800\r\n";
	if ((*body = strdup(p)) == NULL)
		return MAILSEC_ENOMEM;
	*len = strlen(p);
	*status = 200;
	return MAILSEC_OK;
}

static bool
word_in(const char *list, const char *w)
{
	size_t n = strlen(w);
	const char *p = list;

	while ((p = strstr(p, w)) != NULL) {
		if ((p == list || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ' '))
			return true;
		p += n;
	}
	return false;
}

static struct mailsec_audit *
audit_one(struct mailsec_resolver *r, const char *domain, unsigned *fetches)
{
	static const char *const sel[] = { "s1" };
	struct mailsec_https_client h = { stub_get, NULL };
	struct mailsec_audit_opts o = { 0 };
	struct mailsec_audit *a = NULL;
	struct mailsec_diag d = { 0 };

	h.arg = fetches;
	o.selectors = sel;
	o.nselectors = 1;
	o.https = &h;
	if (mailsec_audit_run(r, domain, &o, &a, &d) != MAILSEC_OK)
		fail_msg("audit %s: %s", domain, d.text);
	return a;
}

/* Every planted problem found, nothing else wrong; good.test clean. */
static void
audit_check_all(struct mailsec_resolver *r)
{
	struct mailsec_audit *a;
	unsigned fetches = 0, bad = 0;
	size_t i, k;

	a = audit_one(r, "good.test", &fetches);
	for (k = 0; k < a->nfindings; k++)
		if (a->findings[k].severity != MAILSEC_SEV_INFO)
			bad++;
	if (bad != 0 || a->grade != 'A' || a->nmx != 2 || a->ndkim != 1 ||
	    a->spf_lookups != 2 || a->dmarc_inherited ||
	    a->mtasts_policy == NULL || a->tlsrpt == NULL || fetches != 1) {
		audit_dump(a);
		fail_msg("good.test is not clean");
	}
	assert_string_equal(a->mx[0], "mx.good.test");
	assert_string_equal(a->dkim[0].selector, "s1");
	assert_int_equal(a->dkim[0].key_bits, 2048);
	assert_int_equal(a->nspf_flat, 1);
	assert_string_equal(a->spf_flat[0], "ip4:198.51.100.0/24");
	mailsec_audit_free(a);

	for (i = 0; i < sizeof audit_cases / sizeof audit_cases[0]; i++) {
		const struct audit_case *c = &audit_cases[i];
		bool ok;

		a = audit_one(r, c->domain, &fetches);
		ok = mailsec_audit_find(a, c->planted) != NULL;
		for (k = 0; k < a->nfindings; k++) {
			const struct mailsec_finding *f = &a->findings[k];

			if (f->severity != MAILSEC_SEV_INFO &&
			    strcmp(f->code, c->planted) != 0 &&
			    !word_in(c->also, f->code))
				ok = false;
			if (f->severity != MAILSEC_SEV_INFO &&
			    f->fix[0] == '\0')
				ok = false;
		}
		if (!ok) {
			audit_dump(a);
			print_message("%s: want %s (also %s)\n", c->domain,
			    c->planted, c->also);
			bad++;
		}
		mailsec_audit_free(a);
	}
	assert_int_equal(bad, 0);
	/* specifics */
	a = audit_one(r, "lookups.test", &fetches);
	assert_int_equal(a->spf_lookups, 11);
	mailsec_audit_free(a);
	a = audit_one(r, "sub.good.test", &fetches);
	assert_true(a->dmarc_inherited);
	assert_string_equal(a->dmarc_domain, "good.test");
	mailsec_audit_free(a);
	a = audit_one(r, "dane.test", &fetches);
	assert_int_equal(a->ndane, 1);
	mailsec_audit_free(a);
}

#endif /* AUDIT_CASES_H */
