/*
 * tests/unit/dmarc/test_dmarc_record.c - DMARC record parsing (RFC 9989
 * 4.7, 4.8; RFC 7489 6.3 in compatibility mode): every tag, the
 * tag-by-tag problem list, URI lists with size limits, the p=/rua= rule
 * of RFC 9989 4.10.1, policy selection (p, sp, np), name functions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailsec/dmarc.h>

#include "core/core.h"

static struct mailsec_dmarc_record *
parse(const char *s, enum mailsec_dmarc_mode mode)
{
	struct mailsec_dmarc_record *rec = NULL;

	assert_int_equal(mailsec_dmarc_record_parse(s, strlen(s), mode, &rec,
	    NULL), MAILSEC_OK);
	assert_non_null(rec);
	return rec;
}

/* The problem about tag (or NULL), the first one. */
static const struct mailsec_dmarc_problem *
problem_for(const struct mailsec_dmarc_record *rec, const char *tag)
{
	size_t i;

	for (i = 0; i < rec->nproblems; i++)
		if (strcmp(rec->problems[i].tag, tag) == 0)
			return &rec->problems[i];
	return NULL;
}

static void
test_all_tags(void **state)
{
	struct mailsec_dmarc_record *rec;

	(void)state;
	rec = parse("v=DMARC1; p=quarantine; sp=reject; np=none; psd=n; "
	    "t=y; adkim=s; aspf=s; rua=mailto:agg@example.org, "
	    "mailto:agg2@example.net!10m; ruf=mailto:f@example.org; "
	    "fo=1:d:s", MAILSEC_DMARC_RFC9989);
	assert_true(rec->dmarc);
	assert_true(rec->usable);
	assert_int_equal(rec->p, MAILSEC_DMARC_POLICY_QUARANTINE);
	assert_int_equal(rec->sp, MAILSEC_DMARC_POLICY_REJECT);
	assert_int_equal(rec->np, MAILSEC_DMARC_POLICY_NONE);
	assert_int_equal(rec->psd, MAILSEC_DMARC_PSD_N);
	assert_true(rec->testing);
	assert_int_equal(rec->adkim, MAILSEC_DMARC_STRICT);
	assert_int_equal(rec->aspf, MAILSEC_DMARC_STRICT);
	assert_int_equal(rec->nrua, 2);
	assert_string_equal(rec->rua[0].uri, "mailto:agg@example.org");
	assert_string_equal(rec->rua[0].address, "agg@example.org");
	assert_true(rec->rua[0].mailto && rec->rua[0].valid);
	assert_false(rec->rua[0].has_limit);
	assert_string_equal(rec->rua[1].uri, "mailto:agg2@example.net");
	assert_true(rec->rua[1].has_limit);
	assert_true(rec->rua[1].limit == 10ull * 1024 * 1024);
	assert_int_equal(rec->nruf, 1);
	assert_int_equal(rec->fo, MAILSEC_DMARC_FO_1 | MAILSEC_DMARC_FO_D |
	    MAILSEC_DMARC_FO_S);
	/* The only remark: the obsolete !size suffix (RFC 9989 4.8). */
	assert_int_equal(mailsec_dmarc_record_count(rec, MAILSEC_DMARC_ERROR),
	    0);
	assert_int_equal(mailsec_dmarc_record_count(rec,
	    MAILSEC_DMARC_WARNING), 1);
	assert_non_null(problem_for(rec, "rua"));
	mailsec_dmarc_record_free(rec);

	/* Defaults. */
	rec = parse("v=DMARC1; p=none", MAILSEC_DMARC_RFC9989);
	assert_int_equal(rec->sp, MAILSEC_DMARC_POLICY_UNSET);
	assert_int_equal(rec->np, MAILSEC_DMARC_POLICY_UNSET);
	assert_int_equal(rec->psd, MAILSEC_DMARC_PSD_U);
	assert_false(rec->testing);
	assert_int_equal(rec->adkim, MAILSEC_DMARC_RELAXED);
	assert_int_equal(rec->aspf, MAILSEC_DMARC_RELAXED);
	assert_int_equal(rec->fo, MAILSEC_DMARC_FO_0);
	assert_int_equal(rec->pct, 100);
	assert_true(rec->rf_afrf);
	assert_int_equal(rec->ri, 86400);
	assert_int_equal(rec->nproblems, 0);
	mailsec_dmarc_record_free(rec);

	/* ABNF literals are case-insensitive, DMARC1 is not. */
	rec = parse("v=DMARC1;P=REJECT;ADKIM=S", MAILSEC_DMARC_RFC9989);
	assert_int_equal(rec->p, MAILSEC_DMARC_POLICY_REJECT);
	assert_int_equal(rec->adkim, MAILSEC_DMARC_STRICT);
	mailsec_dmarc_record_free(rec);
}

static void
test_obsolete_and_mode(void **state)
{
	struct mailsec_dmarc_record *rec;
	const struct mailsec_dmarc_problem *pr;

	(void)state;
	/* RFC 9989: pct, rf, ri obsolete (warnings), not used. */
	rec = parse("v=DMARC1; p=reject; pct=20; rf=afrf; ri=3600",
	    MAILSEC_DMARC_RFC9989);
	assert_true(rec->usable);
	assert_int_equal(rec->pct, 100);
	assert_false(rec->has_pct);
	assert_int_equal(rec->ri, 86400);
	assert_int_equal(mailsec_dmarc_record_count(rec,
	    MAILSEC_DMARC_WARNING), 3);
	pr = problem_for(rec, "pct");
	assert_non_null(pr);
	assert_int_equal(pr->severity, MAILSEC_DMARC_WARNING);
	assert_int_equal(pr->offset, strlen("v=DMARC1; p=reject; "));
	assert_non_null(strstr(pr->text, "obsolete"));
	mailsec_dmarc_record_free(rec);

	/* RFC 7489: honoured; np, psd, t are not RFC 7489 tags. */
	rec = parse("v=DMARC1; p=reject; pct=20; rf=afrf; ri=3600; np=none; "
	    "psd=y; t=y", MAILSEC_DMARC_RFC7489);
	assert_int_equal(rec->pct, 20);
	assert_true(rec->has_pct);
	assert_int_equal(rec->ri, 3600);
	assert_int_equal(rec->np, MAILSEC_DMARC_POLICY_UNSET);
	assert_int_equal(rec->psd, MAILSEC_DMARC_PSD_U);
	assert_false(rec->testing);
	assert_int_equal(mailsec_dmarc_record_count(rec,
	    MAILSEC_DMARC_WARNING), 3);
	assert_non_null(problem_for(rec, "np"));
	assert_non_null(problem_for(rec, "psd"));
	assert_non_null(problem_for(rec, "t"));
	mailsec_dmarc_record_free(rec);
}

/* Each bad tag is reported on its own with its offset; the others
 * still count. */
static void
test_tag_by_tag(void **state)
{
	static const char r[] = "v=DMARC1; p=reject; sp=bogus; adkim=x; "
	    "aspf=r; fo=0:1; rua=mailto:a@example.org,http://x y; "
	    "pct=500; foo=bar; psd=maybe; t=perhaps";
	struct mailsec_dmarc_record *rec;
	const struct mailsec_dmarc_problem *pr;

	(void)state;
	rec = parse(r, MAILSEC_DMARC_RFC9989);
	assert_true(rec->dmarc);
	pr = problem_for(rec, "sp");
	assert_non_null(pr);
	assert_int_equal(pr->severity, MAILSEC_DMARC_ERROR);
	assert_int_equal(pr->offset, (size_t)(strstr(r, "bogus") - r));
	assert_true(rec->sp_invalid);
	pr = problem_for(rec, "adkim");
	assert_non_null(pr);
	assert_int_equal(pr->offset, (size_t)(strstr(r, "adkim=x") - r) + 6);
	assert_int_equal(rec->adkim, MAILSEC_DMARC_RELAXED);
	assert_non_null(problem_for(rec, "fo"));
	assert_int_equal(rec->fo, MAILSEC_DMARC_FO_0);
	pr = problem_for(rec, "rua");
	assert_non_null(pr);
	assert_int_equal(pr->severity, MAILSEC_DMARC_ERROR);	/* "x y" */
	assert_int_equal(rec->nrua, 2);
	assert_true(rec->rua[0].valid);
	assert_false(rec->rua[1].valid);
	pr = problem_for(rec, "foo");
	assert_non_null(pr);
	assert_int_equal(pr->severity, MAILSEC_DMARC_WARNING);
	assert_non_null(problem_for(rec, "psd"));
	assert_non_null(problem_for(rec, "t"));
	/* sp= invalid but rua= has a valid URI: p=none (RFC 9989 4.10.1). */
	assert_true(rec->usable);
	assert_true(rec->p_from_rua);
	assert_int_equal(mailsec_dmarc_record_policy(rec, false, true, NULL),
	    MAILSEC_DMARC_POLICY_NONE);
	assert_true(mailsec_dmarc_record_count(rec, MAILSEC_DMARC_ERROR) >=
	    5);
	mailsec_dmarc_record_free(rec);
}

static void
test_not_dmarc(void **state)
{
	static const char *const bad[] = {
		"",
		"p=reject; v=DMARC1",
		"v=DMARC2; p=reject",
		"v=dmarc1; p=reject",
		"v=DMARC1 p=reject",
		"v=spf1 -all",
		"V=BOB",
		"; v=DMARC1; p=reject",
		"v=DMARC1x",
	};
	struct mailsec_dmarc_record *rec;
	size_t i;

	(void)state;
	for (i = 0; i < MS_ARRAY_LEN(bad); i++) {
		rec = parse(bad[i], MAILSEC_DMARC_RFC9989);
		if (rec->dmarc)
			fail_msg("'%s' taken as DMARC", bad[i]);
		assert_false(rec->usable);
		assert_true(mailsec_dmarc_record_count(rec,
		    MAILSEC_DMARC_ERROR) >= 1);
		assert_int_equal(mailsec_dmarc_record_policy(rec, false, true,
		    NULL), MAILSEC_DMARC_POLICY_UNSET);
		mailsec_dmarc_record_free(rec);
	}
	/* Minimal and tolerated forms. */
	rec = parse("v=DMARC1", MAILSEC_DMARC_RFC9989);
	assert_true(rec->dmarc);
	assert_true(rec->usable);	/* RFC 9989 4.7 p: absent = none */
	assert_int_equal(mailsec_dmarc_record_policy(rec, false, true, NULL),
	    MAILSEC_DMARC_POLICY_NONE);
	mailsec_dmarc_record_free(rec);
	rec = parse("v=DMARC1", MAILSEC_DMARC_RFC7489);
	assert_false(rec->usable);	/* RFC 7489: p= required */
	mailsec_dmarc_record_free(rec);
	rec = parse("v = DMARC1 ;p = reject;", MAILSEC_DMARC_RFC9989);
	assert_true(rec->usable);
	assert_int_equal(rec->p, MAILSEC_DMARC_POLICY_REJECT);
	mailsec_dmarc_record_free(rec);
}

static void
test_p_rua_rule(void **state)
{
	struct mailsec_dmarc_record *rec;

	(void)state;
	rec = parse("v=DMARC1; p=bogus", MAILSEC_DMARC_RFC9989);
	assert_true(rec->dmarc);
	assert_false(rec->usable);
	mailsec_dmarc_record_free(rec);
	rec = parse("v=DMARC1; p=bogus; rua=mailto:r@example.org",
	    MAILSEC_DMARC_RFC9989);
	assert_true(rec->usable);
	assert_true(rec->p_from_rua);
	mailsec_dmarc_record_free(rec);
	/* Only an invalid URI: no DMARC. */
	rec = parse("v=DMARC1; p=bogus; rua=not a uri", MAILSEC_DMARC_RFC9989);
	assert_false(rec->usable);
	mailsec_dmarc_record_free(rec);
	rec = parse("v=DMARC1; p=reject; np=maybe", MAILSEC_DMARC_RFC9989);
	assert_false(rec->usable);	/* invalid np=, no rua= */
	mailsec_dmarc_record_free(rec);
	/* RFC 7489 ignores np= altogether. */
	rec = parse("v=DMARC1; p=reject; np=maybe", MAILSEC_DMARC_RFC7489);
	assert_true(rec->usable);
	mailsec_dmarc_record_free(rec);
	rec = parse("v=DMARC1; sp=none; rua=mailto:a@example.org",
	    MAILSEC_DMARC_RFC7489);
	assert_true(rec->usable);
	assert_true(rec->p_from_rua);
	mailsec_dmarc_record_free(rec);
	rec = parse("v=DMARC1; p=reject; p=none", MAILSEC_DMARC_RFC9989);
	assert_int_equal(rec->p, MAILSEC_DMARC_POLICY_REJECT);
	assert_non_null(problem_for(rec, "p"));	/* duplicate */
	mailsec_dmarc_record_free(rec);
}

static void
test_policy_selection(void **state)
{
	struct mailsec_dmarc_record *rec;
	const char *tag;

	(void)state;
	rec = parse("v=DMARC1; p=reject; sp=quarantine; np=none",
	    MAILSEC_DMARC_RFC9989);
	assert_int_equal(mailsec_dmarc_record_policy(rec, false, false, &tag),
	    MAILSEC_DMARC_POLICY_REJECT);
	assert_string_equal(tag, "p");
	assert_int_equal(mailsec_dmarc_record_policy(rec, true, true, &tag),
	    MAILSEC_DMARC_POLICY_QUARANTINE);
	assert_string_equal(tag, "sp");
	assert_int_equal(mailsec_dmarc_record_policy(rec, true, false, &tag),
	    MAILSEC_DMARC_POLICY_NONE);
	assert_string_equal(tag, "np");
	mailsec_dmarc_record_free(rec);
	rec = parse("v=DMARC1; p=reject; np=none", MAILSEC_DMARC_RFC7489);
	assert_int_equal(mailsec_dmarc_record_policy(rec, true, false, &tag),
	    MAILSEC_DMARC_POLICY_REJECT);
	assert_string_equal(tag, "p");
	mailsec_dmarc_record_free(rec);
	rec = parse("v=DMARC1; p=quarantine; sp=none", MAILSEC_DMARC_RFC9989);
	assert_int_equal(mailsec_dmarc_record_policy(rec, true, false, &tag),
	    MAILSEC_DMARC_POLICY_NONE);
	assert_string_equal(tag, "sp");
	mailsec_dmarc_record_free(rec);
}

static void
test_uris(void **state)
{
	struct mailsec_dmarc_record *rec;

	(void)state;
	rec = parse("v=DMARC1; p=none; rua=mailto:a@example.org!0, "
	    "MAILTO:b@example.org?subject=x!5k,https://r.example/x, "
	    "mailto://abuse.com", MAILSEC_DMARC_RFC7489);
	assert_int_equal(rec->nrua, 4);
	assert_true(rec->rua[0].has_limit);
	assert_true(rec->rua[0].limit == 0);
	assert_true(rec->rua[1].mailto);
	assert_string_equal(rec->rua[1].address, "b@example.org");
	assert_true(rec->rua[1].limit == 5 * 1024);
	assert_false(rec->rua[2].mailto);
	assert_true(rec->rua[2].valid);
	assert_true(rec->rua[3].valid);
	assert_null(rec->rua[3].address);	/* no addr-spec */
	assert_int_equal(mailsec_dmarc_record_count(rec, MAILSEC_DMARC_ERROR),
	    0);
	mailsec_dmarc_record_free(rec);
	/* Bad size suffixes; an empty entry. */
	rec = parse("v=DMARC1; p=none; rua=mailto:a@x.example!k, "
	    "mailto:b@x.example!10x, , mailto:c@x.example!99999999999999999999",
	    MAILSEC_DMARC_RFC7489);
	assert_int_equal(rec->nrua, 0);
	assert_int_equal(mailsec_dmarc_record_count(rec, MAILSEC_DMARC_ERROR),
	    4);
	mailsec_dmarc_record_free(rec);
}

static void
test_limits(void **state)
{
	struct mailsec_dmarc_record *rec = NULL;
	struct mailsec_diag diag = { 0 };
	struct ms_buf b;
	size_t i;
	char *s;

	(void)state;
	ms_buf_init(&b, 100000);
	assert_int_equal(ms_buf_appendz(&b, "v=DMARC1; p=none; rua="),
	    MAILSEC_OK);
	for (i = 0; i < MAILSEC_DMARC_URI_MAX + 1; i++)
		assert_int_equal(ms_buf_printf(&b, "%smailto:r%zu@example.org",
		    i ? "," : "", i), MAILSEC_OK);
	rec = parse(b.ptr, MAILSEC_DMARC_RFC9989);
	assert_int_equal(rec->nrua, 0);
	assert_int_equal(problem_for(rec, "rua")->severity,
	    MAILSEC_DMARC_ERROR);
	mailsec_dmarc_record_free(rec);
	ms_buf_free(&b);

	ms_buf_init(&b, 100000);
	assert_int_equal(ms_buf_appendz(&b, "v=DMARC1"), MAILSEC_OK);
	for (i = 0; i < MAILSEC_DMARC_TAG_MAX; i++)
		assert_int_equal(ms_buf_printf(&b, "; x%zu=1", i), MAILSEC_OK);
	assert_int_equal(mailsec_dmarc_record_parse(b.ptr, b.len,
	    MAILSEC_DMARC_RFC9989, &rec, &diag), MAILSEC_ELIMIT);
	assert_null(rec);
	assert_true(diag.set);
	ms_buf_free(&b);

	s = malloc(MAILSEC_DMARC_RECORD_MAX + 1);
	assert_non_null(s);
	memset(s, 'a', MAILSEC_DMARC_RECORD_MAX + 1);
	memcpy(s, "v=DMARC1; p=none; x=", 20);
	assert_int_equal(mailsec_dmarc_record_parse(s,
	    MAILSEC_DMARC_RECORD_MAX + 1, MAILSEC_DMARC_RFC9989, &rec, NULL),
	    MAILSEC_ELIMIT);
	assert_int_equal(mailsec_dmarc_record_parse(s,
	    MAILSEC_DMARC_RECORD_MAX, MAILSEC_DMARC_RFC9989, &rec, NULL),
	    MAILSEC_OK);
	assert_true(rec->usable);
	mailsec_dmarc_record_free(rec);
	free(s);
	/* A NUL byte is just a byte: refused in a value, not an end. */
	rec = parse("v=DMARC1; p=none", MAILSEC_DMARC_RFC9989);
	mailsec_dmarc_record_free(rec);
	assert_int_equal(mailsec_dmarc_record_parse("v=DMARC1; p=\0reject",
	    19, MAILSEC_DMARC_RFC9989, &rec, NULL), MAILSEC_OK);
	assert_true(rec->dmarc);
	assert_int_equal(rec->p, MAILSEC_DMARC_POLICY_UNSET);
	assert_non_null(problem_for(rec, "p"));
	mailsec_dmarc_record_free(rec);
	assert_int_equal(mailsec_dmarc_record_parse(NULL, 3,
	    MAILSEC_DMARC_RFC9989, &rec, NULL), MAILSEC_EINVAL);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(mailsec_dmarc_result_name(MAILSEC_DMARC_PASS),
	    "pass");
	assert_string_equal(mailsec_dmarc_result_name(MAILSEC_DMARC_FAIL),
	    "fail");
	assert_string_equal(mailsec_dmarc_result_name(MAILSEC_DMARC_NONE),
	    "none");
	assert_string_equal(mailsec_dmarc_result_name(
	    MAILSEC_DMARC_TEMPERROR), "temperror");
	assert_string_equal(mailsec_dmarc_result_name(
	    MAILSEC_DMARC_PERMERROR), "permerror");
	assert_null(mailsec_dmarc_policy_name(MAILSEC_DMARC_POLICY_UNSET));
	assert_string_equal(mailsec_dmarc_policy_name(
	    MAILSEC_DMARC_POLICY_QUARANTINE), "quarantine");
	assert_string_equal(mailsec_dmarc_disposition_name(
	    MAILSEC_DMARC_DISP_REJECT), "reject");
	assert_null(mailsec_dmarc_disposition_name(MAILSEC_DMARC_DISP_UNSET));
	assert_string_equal(mailsec_dmarc_override_name(
	    MAILSEC_DMARC_OV_SAMPLED_OUT), "sampled_out");
	assert_string_equal(mailsec_dmarc_override_name(
	    MAILSEC_DMARC_OV_TRUSTED_FORWARDER), "trusted_forwarder");
	assert_string_equal(mailsec_dmarc_override_name(
	    MAILSEC_DMARC_OV_POLICY_TEST_MODE), "policy_test_mode");
	assert_string_equal(mailsec_dmarc_mode_name(MAILSEC_DMARC_RFC7489),
	    "rfc7489");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_tags),
		cmocka_unit_test(test_obsolete_and_mode),
		cmocka_unit_test(test_tag_by_tag),
		cmocka_unit_test(test_not_dmarc),
		cmocka_unit_test(test_p_rua_rule),
		cmocka_unit_test(test_policy_selection),
		cmocka_unit_test(test_uris),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
