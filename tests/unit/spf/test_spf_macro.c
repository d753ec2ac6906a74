/*
 * tests/unit/spf/test_spf_macro.c - SPF macro strings (RFC 7208 7):
 * the RFC's own examples (7.4), syntax errors, and the libspf2 overflow
 * class (CVE-2021-20314, CVE-2021-33912, CVE-2021-33913) as bounded
 * expansions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "spf/spf_int.h"

static const struct ms_spf_macro_ctx rfc_v4 = {
	.s = "strong-bad@email.example.com", .l = "strong-bad",
	.o = "email.example.com", .d = "email.example.com",
	.i = "192.0.2.3", .v = "in-addr", .h = "mx.example.org",
	.c = "192.0.2.3", .r = "receiver.example", .t = "1700000000",
};

static const struct ms_spf_macro_ctx rfc_v6 = {
	.s = "strong-bad@email.example.com", .l = "strong-bad",
	.o = "email.example.com", .d = "email.example.com",
	.i = "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "c.b.0.1",
	.v = "ip6", .h = "mx.example.org", .c = "2001:db8::cb01",
};

static char *
expand(const struct ms_spf_macro_ctx *c, const char *in, bool exp,
    size_t max, mailsec_err *errp)
{
	struct ms_buf b;
	mailsec_err err;

	ms_buf_init(&b, max);
	err = ms_spf_macro_expand(c, in, strlen(in), exp, &b, NULL);
	if (errp != NULL)
		*errp = err;
	if (err != MAILSEC_OK)
		return NULL;
	return ms_buf_steal(&b, NULL);
}

static void
test_rfc_examples(void **state)
{
	/* RFC 7208 7.4 */
	static const struct { const char *in, *out; } t[] = {
		{ "%{s}", "strong-bad@email.example.com" },
		{ "%{o}", "email.example.com" },
		{ "%{d}", "email.example.com" },
		{ "%{d4}", "email.example.com" },
		{ "%{d3}", "email.example.com" },
		{ "%{d2}", "example.com" },
		{ "%{d1}", "com" },
		{ "%{dr}", "com.example.email" },
		{ "%{d2r}", "example.email" },
		{ "%{l}", "strong-bad" },
		{ "%{l-}", "strong.bad" },
		{ "%{lr}", "strong-bad" },
		{ "%{lr-}", "bad.strong" },
		{ "%{l1r-}", "strong" },
		{ "%{ir}.%{v}._spf.%{d2}",
		  "3.2.0.192.in-addr._spf.example.com" },
		{ "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
		{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
		  "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
		{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
		  "3.2.0.192.in-addr.strong.lp._spf.example.com" },
		{ "%{d2}.trusted-domains.example.net",
		  "example.com.trusted-domains.example.net" },
		{ "%%%_%-", "% %20" },
		{ "%{p}", "unknown" },
		{ "%{L}", "strong-bad" },
		{ "%{S}", "strong-bad%40email.example.com" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < MS_ARRAY_LEN(t); i++) {
		char *got = expand(&rfc_v4, t[i].in, false, 1000, NULL);

		assert_non_null(got);
		assert_string_equal(got, t[i].out);
		free(got);
	}
}

static void
test_rfc_ipv6(void **state)
{
	char *got;

	(void)state;
	got = expand(&rfc_v6, "%{ir}.%{v}._spf.%{d2}", false, 1000, NULL);
	assert_string_equal(got, "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
	free(got);
	got = expand(&rfc_v6, "%{c} via %{r} at %{t}", true, 1000, NULL);
	assert_string_equal(got, "2001:db8::cb01 via unknown at ");
	free(got);
}

static void
test_syntax_errors(void **state)
{
	static const char *const bad[] = {
		"%", "%{", "%{s", "%{x}", "%{d0}", "%{d2r", "%{s:}",
		"%a", "%{c}", "%{r}", "%{t}", "a b", "\x01", "\x80",
		"%{dd}",
	};
	struct mailsec_diag diag;
	size_t i;

	(void)state;
	for (i = 0; i < MS_ARRAY_LEN(bad); i++) {
		memset(&diag, 0, sizeof diag);
		assert_int_equal(ms_spf_macro_check(bad[i], strlen(bad[i]),
		    false, &diag), MAILSEC_ESYNTAX);
		assert_true(diag.set);
	}
	/* exp text allows spaces and c, r, t (RFC 7208 6.2, 7.2) */
	assert_int_equal(ms_spf_macro_check("%{c} at %{t} by %{r}", 20, true,
	    NULL), MAILSEC_OK);
}

/* CVE-2021-33913 / CVE-2021-20314 class: reversals and huge digit
 * transformers on long values must stay inside the buffer. */
static void
test_huge_transformers(void **state)
{
	struct ms_spf_macro_ctx c = rfc_v4;
	char *got;
	mailsec_err err;

	(void)state;
	got = expand(&c, "%{d99999999999999999999999999r}", false, 1000,
	    NULL);
	assert_string_equal(got, "com.example.email");
	free(got);
	got = expand(&c, "%{i4294967297r}", false, 1000, NULL);
	assert_string_equal(got, "3.2.0.192");
	free(got);
	got = expand(&rfc_v6, "%{ir}%{ir}%{ir}%{ir}%{ir}%{ir}", false, 200,
	    &err);
	assert_null(got);
	assert_int_equal(err, MAILSEC_ELIMIT);
	/* every delimiter at once, reversed */
	c.l = "a+b-c=d_e/f,g.h";
	got = expand(&c, "%{lr+-=_/,.}", false, 100, NULL);
	assert_string_equal(got, "h.g.f.e.d.c.b.a");
	free(got);
	got = expand(&c, "%{l2r+-=_/,.}", false, 100, NULL);
	assert_string_equal(got, "b.a");
	free(got);
}

/* CVE-2021-33912 class: URL escaping triples the size; the bound is the
 * buffer's max, not a length computed in advance. */
static void
test_url_escape_growth(void **state)
{
	struct ms_spf_macro_ctx c = rfc_v4;
	char local[200], *got;
	mailsec_err err;

	(void)state;
	memset(local, '/', sizeof local - 1);
	local[sizeof local - 1] = '\0';
	c.l = local;
	got = expand(&c, "%{L}", false, 3 * 199, NULL);
	assert_non_null(got);
	assert_int_equal(strlen(got), 3 * 199);
	assert_memory_equal(got, "%2F%2F", 6);
	free(got);
	got = expand(&c, "%{L}", false, 3 * 199 - 1, &err);
	assert_null(got);
	assert_int_equal(err, MAILSEC_ELIMIT);
	got = expand(&c, "%{L}%{L}%{L}%{L}%{L}%{L}%{L}%{L}", true,
	    MAILSEC_SPF_EXPAND_MAX, &err);
	assert_null(got);
	assert_int_equal(err, MAILSEC_ELIMIT);
}

static void
test_truncate(void **state)
{
	char name[400];
	const char *t;
	size_t i;

	(void)state;
	/* 100 labels "ab." = 300 octets: 7.3 drops labels on the left. */
	for (i = 0; i < 100; i++)
		memcpy(name + 3 * i, "ab.", 3);
	memcpy(name + 297, "com", 4);
	t = ms_spf_domain_truncate(name);
	assert_true(strlen(t) <= 253);
	assert_true(strlen(t) > 250);
	assert_string_equal(t + strlen(t) - 6, "ab.com");
	assert_true(t > name && t[-1] == '.');
	t = "example.com";
	assert_ptr_equal(ms_spf_domain_truncate(t), t);
}

static void
test_uses_p(void **state)
{
	(void)state;
	assert_true(ms_spf_macro_uses_p("%{p}", 4));
	assert_true(ms_spf_macro_uses_p("a.%{P2}.b", 9));
	assert_false(ms_spf_macro_uses_p("%%{p}", 5));
	assert_false(ms_spf_macro_uses_p("%{d}.p", 6));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_examples),
		cmocka_unit_test(test_rfc_ipv6),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_huge_transformers),
		cmocka_unit_test(test_url_escape_growth),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_uses_p),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
