/*
 * tests/unit/record/test_record_build.c - record builders: every output
 * passes the linter (no error, no warning unless asked for) and the
 * evaluators (SPF record check and check_host() over the zone backend,
 * DMARC parse, DKIM key record parse); zone-file lines parse back to the
 * same text; bad input is refused with the linter's finding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/dkim.h>
#include <mailsec/dmarc.h>
#include <mailsec/record.h>
#include <mailsec/spf.h>

static void
lint_clean(const char *text, enum mailsec_record_type t, bool warnings_ok)
{
	struct mailsec_lint_opts o = { 0 };
	struct mailsec_lint *l = NULL;
	size_t i;

	/* detected, then forced */
	assert_int_equal(mailsec_record_detect(text, strlen(text)), t);
	o.type = t;
	assert_int_equal(mailsec_lint_record(text, strlen(text), &o, &l,
	    NULL), MAILSEC_OK);
	for (i = 0; i < l->nfindings; i++)
		if (l->findings[i].severity == MAILSEC_SEV_ERROR ||
		    (!warnings_ok && l->findings[i].severity ==
		    MAILSEC_SEV_WARNING))
			fail_msg("%s: %s %s", text, l->findings[i].code,
			    l->findings[i].what);
	mailsec_lint_free(l);
}

/* The zone-file line parses back (zone backend) to the same text. */
static void
zone_round_trip(const char *owner, const char *text)
{
	struct mailsec_resolver *r = NULL;
	struct mailsec_dns_result *res = NULL;
	struct mailsec_diag d = { 0 };
	char *line = NULL;

	assert_int_equal(mailsec_record_zone_line(owner, 300, text,
	    strlen(text), &line), MAILSEC_OK);
	if (mailsec_resolver_new_zone_mem(line, strlen(line), NULL, &r, &d) !=
	    MAILSEC_OK)
		fail_msg("%s: %s", line, d.text);
	assert_int_equal(mailsec_dns_lookup(r, owner, MAILSEC_DNS_TXT, &res),
	    MAILSEC_OK);
	assert_int_equal(res->status, MAILSEC_DNS_ANSWER);
	assert_int_equal(res->count, 1);
	assert_int_equal(res->rrs[0].u.txt.len, strlen(text));
	assert_memory_equal(res->rrs[0].u.txt.data, text, strlen(text));
	mailsec_dns_result_free(res);
	mailsec_resolver_free(r);
	free(line);
}

/* ---- SPF ----------------------------------------------------------------- */

static enum mailsec_spf_result
check_host(const char *record, const char *ip)
{
	struct mailsec_spf_request req = { 0 };
	struct mailsec_spf_outcome *o = NULL;
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag d = { 0 };
	enum mailsec_spf_result res;
	char zone[2048];

	snprintf(zone, sizeof zone, "$ORIGIN example.org.\n"
	    "@ TXT \"%s\"\n@ MX 10 mx1\nmx1 A 198.51.100.1\n"
	    "@ A 203.0.113.1\n"
	    "_spf.example.net. TXT \"v=spf1 ip4:198.51.100.64/26 -all\"\n",
	    record);
	if (mailsec_resolver_new_zone_mem(zone, strlen(zone), NULL, &r, &d) !=
	    MAILSEC_OK)
		fail_msg("zone: %s", d.text);
	req.ip = ip;
	req.mail_from = "someone@example.org";
	req.helo = "mx.example.org";
	assert_int_equal(mailsec_spf_check(r, &req, false, &o, NULL),
	    MAILSEC_OK);
	res = o->result;
	mailsec_spf_outcome_free(o);
	mailsec_resolver_free(r);
	return res;
}

static void
test_spf(void **state)
{
	const char *ip4[] = { "192.0.2.0/24" }, *ip6[] = { "2001:db8::/32" };
	const char *inc[] = { "_spf.example.net" };
	struct mailsec_spf_build b = { 0 };
	char *rec = NULL;

	(void)state;
	b.ip4 = ip4;
	b.nip4 = 1;
	b.ip6 = ip6;
	b.nip6 = 1;
	b.include = inc;
	b.ninclude = 1;
	b.mx = true;
	assert_int_equal(mailsec_record_spf(&b, &rec, NULL), MAILSEC_OK);
	assert_string_equal(rec, "v=spf1 mx ip4:192.0.2.0/24 "
	    "ip6:2001:db8::/32 include:_spf.example.net -all");
	lint_clean(rec, MAILSEC_RECORD_SPF, false);
	assert_int_equal(mailsec_spf_record_check(rec, strlen(rec), NULL),
	    MAILSEC_OK);
	assert_int_equal(check_host(rec, "192.0.2.9"), MAILSEC_SPF_PASS);
	assert_int_equal(check_host(rec, "198.51.100.1"), MAILSEC_SPF_PASS);
	assert_int_equal(check_host(rec, "198.51.100.70"), MAILSEC_SPF_PASS);
	assert_int_equal(check_host(rec, "203.0.113.9"), MAILSEC_SPF_FAIL);
	zone_round_trip("example.org", rec);
	free(rec);

	memset(&b, 0, sizeof b);
	b.a = true;
	b.all = MAILSEC_SPF_ALL_SOFTFAIL;
	assert_int_equal(mailsec_record_spf(&b, &rec, NULL), MAILSEC_OK);
	assert_string_equal(rec, "v=spf1 a ~all");
	lint_clean(rec, MAILSEC_RECORD_SPF, false);
	assert_int_equal(check_host(rec, "203.0.113.1"), MAILSEC_SPF_PASS);
	assert_int_equal(check_host(rec, "203.0.113.2"),
	    MAILSEC_SPF_SOFTFAIL);
	free(rec);

	b.all = MAILSEC_SPF_ALL_NEUTRAL;
	assert_int_equal(mailsec_record_spf(&b, &rec, NULL), MAILSEC_OK);
	lint_clean(rec, MAILSEC_RECORD_SPF, true);	/* ?all: a warning */
	assert_int_equal(check_host(rec, "203.0.113.2"),
	    MAILSEC_SPF_NEUTRAL);
	free(rec);

	memset(&b, 0, sizeof b);
	b.redirect = "_spf.example.net";
	assert_int_equal(mailsec_record_spf(&b, &rec, NULL), MAILSEC_OK);
	assert_string_equal(rec, "v=spf1 redirect=_spf.example.net");
	lint_clean(rec, MAILSEC_RECORD_SPF, false);
	assert_int_equal(check_host(rec, "198.51.100.65"), MAILSEC_SPF_PASS);
	free(rec);
}

static void
test_spf_refused(void **state)
{
	const char *bad4[] = { "192.0.2.300" }, *badinc[] = { "nodot" };
	const char *space[] = { "a b" };
	struct mailsec_spf_build b = { 0 };
	struct mailsec_diag d = { 0 };
	char *rec = (char *)"x";

	(void)state;
	b.ip4 = bad4;
	b.nip4 = 1;
	assert_int_equal(mailsec_record_spf(&b, &rec, &d), MAILSEC_EINVAL);
	assert_null(rec);
	assert_non_null(strstr(d.text, "spf-syntax"));
	memset(&b, 0, sizeof b);
	b.include = badinc;
	b.ninclude = 1;
	assert_int_equal(mailsec_record_spf(&b, &rec, &d), MAILSEC_EINVAL);
	b.include = space;
	assert_int_equal(mailsec_record_spf(&b, &rec, &d), MAILSEC_EINVAL);
	b.ninclude = 0;
	b.all = (enum mailsec_spf_all)7;
	assert_int_equal(mailsec_record_spf(&b, &rec, &d), MAILSEC_EINVAL);
}

/* ---- DMARC --------------------------------------------------------------- */

static void
dmarc_ok(const char *rec, enum mailsec_dmarc_policy p)
{
	struct mailsec_dmarc_record *r = NULL;

	assert_int_equal(mailsec_dmarc_record_parse(rec, strlen(rec),
	    MAILSEC_DMARC_RFC9989, &r, NULL), MAILSEC_OK);
	assert_true(r->dmarc);
	assert_true(r->usable);
	assert_int_equal(r->p, p);
	assert_int_equal(mailsec_dmarc_record_count(r, MAILSEC_DMARC_ERROR),
	    0);
	mailsec_dmarc_record_free(r);
}

static void
test_dmarc(void **state)
{
	const char *rua[] = { "dmarc@example.org",
	    "mailto:agg@reports.example.org" };
	const char *ruf[] = { "mailto:fail@example.org" };
	struct mailsec_dmarc_build b = { 0 };
	struct mailsec_diag d = { 0 };
	const char *bad[] = { "a b@example.org" };
	char *rec = NULL;

	(void)state;
	b.p = MAILSEC_DMARC_POLICY_REJECT;
	b.rua = rua;
	b.nrua = 2;
	b.adkim_strict = true;
	assert_int_equal(mailsec_record_dmarc(&b, &rec, NULL), MAILSEC_OK);
	assert_string_equal(rec, "v=DMARC1; p=reject; "
	    "rua=mailto:dmarc@example.org,mailto:agg@reports.example.org; "
	    "adkim=s");
	lint_clean(rec, MAILSEC_RECORD_DMARC, false);
	dmarc_ok(rec, MAILSEC_DMARC_POLICY_REJECT);
	zone_round_trip("_dmarc.example.org", rec);
	free(rec);

	memset(&b, 0, sizeof b);
	b.p = MAILSEC_DMARC_POLICY_QUARANTINE;
	b.sp = MAILSEC_DMARC_POLICY_REJECT;
	b.np = MAILSEC_DMARC_POLICY_REJECT;
	b.rua = rua;
	b.nrua = 1;
	b.ruf = ruf;
	b.nruf = 1;
	b.fo = "1";
	b.aspf_strict = true;
	assert_int_equal(mailsec_record_dmarc(&b, &rec, NULL), MAILSEC_OK);
	lint_clean(rec, MAILSEC_RECORD_DMARC, false);
	dmarc_ok(rec, MAILSEC_DMARC_POLICY_QUARANTINE);
	free(rec);

	/* p=none (the default) with rua: fine; t=y: a warning, no error */
	memset(&b, 0, sizeof b);
	b.rua = rua;
	b.nrua = 1;
	b.testing = true;
	assert_int_equal(mailsec_record_dmarc(&b, &rec, NULL), MAILSEC_OK);
	assert_string_equal(rec, "v=DMARC1; p=none; "
	    "rua=mailto:dmarc@example.org; t=y");
	lint_clean(rec, MAILSEC_RECORD_DMARC, true);
	dmarc_ok(rec, MAILSEC_DMARC_POLICY_NONE);
	free(rec);

	/* refused: a bad fo=, a bad address */
	memset(&b, 0, sizeof b);
	b.p = MAILSEC_DMARC_POLICY_REJECT;
	b.fo = "x";
	assert_int_equal(mailsec_record_dmarc(&b, &rec, &d), MAILSEC_EINVAL);
	assert_non_null(strstr(d.text, "dmarc-bad-value"));
	b.fo = NULL;
	b.rua = bad;
	b.nrua = 1;
	assert_int_equal(mailsec_record_dmarc(&b, &rec, &d), MAILSEC_EINVAL);
	assert_null(rec);
}

/* ---- DKIM (the existing keygen's record) --------------------------------- */

static void
dkim_key(enum mailsec_dkim_algorithm alg, unsigned bits, bool weak)
{
	struct mailsec_dkim_key *key = NULL;
	struct mailsec_dkim_record r;
	struct mailsec_lint *l = NULL;
	char *rec = NULL;

	assert_int_equal(mailsec_dkim_key_generate(alg, bits, &key),
	    MAILSEC_OK);
	assert_int_equal(mailsec_dkim_key_record(key, &rec, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_dkim_record_parse(rec, strlen(rec), &r, NULL),
	    MAILSEC_OK);
	assert_int_equal(mailsec_record_detect(rec, strlen(rec)),
	    MAILSEC_RECORD_DKIM);
	assert_int_equal(mailsec_lint_record(rec, strlen(rec), NULL, &l, NULL),
	    MAILSEC_OK);
	assert_int_equal(mailsec_lint_count(l, MAILSEC_SEV_ERROR), 0);
	assert_int_equal(mailsec_lint_find(l, "dkim-key-weak") != NULL, weak);
	mailsec_lint_free(l);
	zone_round_trip("s1._domainkey.example.org", rec);
	free(rec);
	mailsec_dkim_key_free(key);
}

static void
test_dkim(void **state)
{
	(void)state;
	dkim_key(MAILSEC_DKIM_RSA_SHA256, 2048, false);
	dkim_key(MAILSEC_DKIM_RSA_SHA256, 1024, true);
	dkim_key(MAILSEC_DKIM_ED25519_SHA256, 0, false);
}

/* ---- MTA-STS and TLS-RPT ------------------------------------------------- */

static void
test_mtasts(void **state)
{
	const char *mx[] = { "mx1.example.org", "*.example.net" };
	const char *badmx[] = { "bad..example" };
	struct mailsec_mtasts_build b = { 0 };
	struct mailsec_diag d = { 0 };
	char *txt = NULL, *pol = NULL;

	(void)state;
	b.now = 1700000000;
	b.mx = mx;
	b.nmx = 2;
	assert_int_equal(mailsec_record_mtasts(&b, &txt, &pol, NULL),
	    MAILSEC_OK);
	assert_string_equal(txt, "v=STSv1; id=20231114221320");
	assert_string_equal(pol, "version: STSv1\r\nmode: enforce\r\n"
	    "mx: mx1.example.org\r\nmx: *.example.net\r\n"
	    "max_age: 604800\r\n");
	lint_clean(txt, MAILSEC_RECORD_MTASTS, false);
	lint_clean(pol, MAILSEC_RECORD_MTASTS_POLICY, false);
	zone_round_trip("_mta-sts.example.org", txt);
	free(txt);
	free(pol);

	b.id = "v2";
	b.mode = MAILSEC_MTASTS_TESTING;
	b.max_age = 86400;
	assert_int_equal(mailsec_record_mtasts(&b, &txt, &pol, NULL),
	    MAILSEC_OK);
	assert_string_equal(txt, "v=STSv1; id=v2");
	lint_clean(pol, MAILSEC_RECORD_MTASTS_POLICY, true);
	free(txt);
	free(pol);

	b.mx = badmx;
	b.nmx = 1;
	assert_int_equal(mailsec_record_mtasts(&b, &txt, &pol, &d),
	    MAILSEC_EINVAL);
	assert_null(txt);
	assert_null(pol);
	assert_non_null(strstr(d.text, "mtasts-policy-mx"));
	b.mx = mx;
	b.id = "2024-01";
	assert_int_equal(mailsec_record_mtasts(&b, &txt, &pol, &d),
	    MAILSEC_EINVAL);
	b.id = NULL;
	b.mode = MAILSEC_MTASTS_ENFORCE;
	b.nmx = 0;	/* enforce with no mx: refused */
	assert_int_equal(mailsec_record_mtasts(&b, &txt, &pol, &d),
	    MAILSEC_EINVAL);
	assert_non_null(strstr(d.text, "mtasts-policy-no-mx"));
}

static void
test_tlsrpt(void **state)
{
	const char *rua[] = { "tls@example.org",
	    "https://reports.example.org/tlsrpt" };
	const char *bad[] = { "ftp://x.example" };
	struct mailsec_tlsrpt_build b = { 0 };
	char *rec = NULL;

	(void)state;
	b.rua = rua;
	b.nrua = 2;
	assert_int_equal(mailsec_record_tlsrpt(&b, &rec, NULL), MAILSEC_OK);
	assert_string_equal(rec, "v=TLSRPTv1; rua=mailto:tls@example.org,"
	    "https://reports.example.org/tlsrpt");
	lint_clean(rec, MAILSEC_RECORD_TLSRPT, false);
	zone_round_trip("_smtp._tls.example.org", rec);
	free(rec);
	b.nrua = 0;
	assert_int_equal(mailsec_record_tlsrpt(&b, &rec, NULL),
	    MAILSEC_EINVAL);
	b.rua = bad;
	b.nrua = 1;
	assert_int_equal(mailsec_record_tlsrpt(&b, &rec, NULL),
	    MAILSEC_EINVAL);
}

/* ---- owners and zone lines ----------------------------------------------- */

static void
test_owner_zone(void **state)
{
	char *s = NULL, big[700];
	size_t i;

	(void)state;
	assert_int_equal(mailsec_record_owner(MAILSEC_RECORD_DMARC,
	    "example.org.", NULL, &s), MAILSEC_OK);
	assert_string_equal(s, "_dmarc.example.org");
	free(s);
	assert_int_equal(mailsec_record_owner(MAILSEC_RECORD_DKIM,
	    "example.org", "s1", &s), MAILSEC_OK);
	assert_string_equal(s, "s1._domainkey.example.org");
	free(s);
	assert_int_equal(mailsec_record_owner(MAILSEC_RECORD_TLSRPT,
	    "example.org", NULL, &s), MAILSEC_OK);
	assert_string_equal(s, "_smtp._tls.example.org");
	free(s);
	assert_int_equal(mailsec_record_owner(MAILSEC_RECORD_MTASTS_POLICY,
	    "example.org", NULL, &s), MAILSEC_OK);
	assert_string_equal(s,
	    "https://mta-sts.example.org/.well-known/mta-sts.txt");
	free(s);
	assert_int_equal(mailsec_record_owner(MAILSEC_RECORD_DKIM,
	    "example.org", NULL, &s), MAILSEC_EINVAL);
	assert_int_equal(mailsec_record_owner(MAILSEC_RECORD_SPF, "a b", NULL,
	    &s), MAILSEC_EINVAL);

	assert_int_equal(mailsec_record_zone_line("example.org.", 0,
	    "say \"hi\" \\", 10, &s), MAILSEC_OK);
	assert_string_equal(s, "example.org. IN TXT \"say \\\"hi\\\" \\\\\"");
	free(s);
	/* 700 bytes: three strings of 255, 255, 190 */
	for (i = 0; i < sizeof big - 1; i++)
		big[i] = (char)('a' + i % 26);
	big[sizeof big - 1] = '\0';
	assert_int_equal(mailsec_record_zone_line("x.example.org.", 60, big,
	    strlen(big), &s), MAILSEC_OK);
	assert_non_null(strstr(s, "x.example.org. 60 IN TXT \""));
	free(s);
	zone_round_trip("x.example.org", big);
	zone_round_trip("e.example.org", "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spf),
		cmocka_unit_test(test_spf_refused),
		cmocka_unit_test(test_dmarc),
		cmocka_unit_test(test_dkim),
		cmocka_unit_test(test_mtasts),
		cmocka_unit_test(test_tlsrpt),
		cmocka_unit_test(test_owner_zone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
