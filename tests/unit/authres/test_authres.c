/*
 * tests/unit/authres/test_authres.c - Authentication-Results (RFC 8601):
 * the parser on the RFC 7601 Appendix B examples and on CFWS, quoting,
 * versions, "none", unknown methods and ptypes; the lenient and strict
 * modes; errors with their offsets; limits; the generator's quoting,
 * folding, header.b prefixes and refusals; round trips; the vocabulary;
 * the forged-field helpers of RFC 8601 section 5 over a message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailsec/authres.h>
#include <mailsec/msg.h>

#include "core/core.h"

static struct mailsec_authres *
parse_ok(const char *s, unsigned flags)
{
	struct mailsec_diag diag = { 0 };
	struct mailsec_authres *ar = NULL;

	if (mailsec_authres_parse(s, strlen(s), flags, &ar, &diag) !=
	    MAILSEC_OK)
		fail_msg("refused '%s': %s (offset %zu)", s, diag.text,
		    diag.offset);
	assert_non_null(ar);
	return ar;
}

static void
assert_prop(const struct mailsec_authres_result *r, size_t i,
    const char *ptype, const char *property, const char *value)
{
	assert_true(i < r->nprops);
	assert_string_equal(r->props[i].ptype, ptype);
	assert_string_equal(r->props[i].property, property);
	assert_string_equal(r->props[i].value, value);
}

/* ---- parser ------------------------------------------------------------ */

static void
test_parse_rfc_examples(void **state)
{
	struct mailsec_authres *ar;

	(void)state;
	/* B.2: no authentication done */
	ar = parse_ok("example.org 1; none", 0);
	assert_string_equal(ar->authserv_id, "example.org");
	assert_int_equal(ar->version, 1);
	assert_true(ar->none);
	assert_int_equal(ar->nresults, 0);
	mailsec_authres_free(ar);

	/* B.3, folded with CRLF as in a message */
	ar = parse_ok("example.com;\r\n          spf=pass "
	    "smtp.mailfrom=example.net\r\n", 0);
	assert_false(ar->none);
	assert_int_equal(ar->version, 0);
	assert_int_equal(ar->nresults, 1);
	assert_string_equal(ar->results[0].method, "spf");
	assert_string_equal(ar->results[0].result, "pass");
	assert_prop(&ar->results[0], 0, "smtp", "mailfrom", "example.net");
	mailsec_authres_free(ar);

	/* B.5 */
	ar = parse_ok("example.com;\r\n\tauth=pass (cram-md5) "
	    "smtp.auth=sender@example.com;\r\n\tspf=fail "
	    "smtp.mailfrom=example.com", 0);
	assert_int_equal(ar->nresults, 2);
	assert_string_equal(ar->results[0].comment, "cram-md5");
	assert_prop(&ar->results[0], 0, "smtp", "auth",
	    "sender@example.com");
	assert_string_equal(ar->results[1].result, "fail");
	mailsec_authres_free(ar);

	/* B.6: reason= */
	ar = parse_ok("example.com;\n      dkim=pass reason=\"good signature\""
	    "\n        header.i=@mail-router.example.net;\n      dkim=fail "
	    "reason=\"bad signature\"\n        header.i=@newyork.example.com",
	    0);
	assert_int_equal(ar->nresults, 2);
	assert_string_equal(ar->results[0].reason, "good signature");
	assert_prop(&ar->results[0], 0, "header", "i",
	    "@mail-router.example.net");
	assert_string_equal(ar->results[1].reason, "bad signature");
	mailsec_authres_free(ar);

	/* B.7: comments everywhere the grammar allows CFWS */
	ar = parse_ok("foo.example.net (foobar) 1 (baz);\r\n"
	    "    dkim (Because I like it) / 1 (One yay) = (wait for it) fail"
	    "\r\n      policy (A dot can go here) . (like that) expired\r\n"
	    "      (this surprised me) = (as I wasn't expecting it) "
	    "1362471462", MAILSEC_AUTHRES_STRICT);
	assert_string_equal(ar->authserv_id, "foo.example.net");
	assert_string_equal(ar->comment, "foobar");
	assert_int_equal(ar->version, 1);
	assert_string_equal(ar->results[0].method, "dkim");
	assert_int_equal(ar->results[0].method_version, 1);
	assert_string_equal(ar->results[0].result, "fail");
	assert_prop(&ar->results[0], 0, "policy", "expired", "1362471462");
	mailsec_authres_free(ar);

	/* 2.7.6: extension method, unknown ptype, comment after a value */
	ar = parse_ok("example.com;\r\n          foo=pass bar.baz=blob "
	    "(2 of 3 tests OK)", MAILSEC_AUTHRES_STRICT);
	assert_string_equal(ar->results[0].method, "foo");
	assert_prop(&ar->results[0], 0, "bar", "baz", "blob");
	assert_string_equal(ar->results[0].props[0].comment,
	    "2 of 3 tests OK");
	mailsec_authres_free(ar);
}

static void
test_parse_quoting_and_case(void **state)
{
	struct mailsec_authres *ar;

	(void)state;
	ar = parse_ok("\"mx \\\"one\\\" example\" ; SPF = PASS "
	    "Smtp.MailFrom = \"a b\\\\c\" ; dkim=pass "
	    "header.i=\"john doe\"@example.com header.d=EXAMPLE.com", 0);
	assert_string_equal(ar->authserv_id, "mx \"one\" example");
	assert_string_equal(ar->results[0].method, "spf");
	assert_string_equal(ar->results[0].result, "pass");
	assert_prop(&ar->results[0], 0, "smtp", "mailfrom", "a b\\c");
	/* a quoted local-part stays quoted: it is part of the address */
	assert_prop(&ar->results[1], 0, "header", "i",
	    "\"john doe\"@example.com");
	/* values keep their case */
	assert_prop(&ar->results[1], 1, "header", "d", "EXAMPLE.com");
	mailsec_authres_free(ar);

	/* folding inside a quoted-string is removed, the WSP kept */
	ar = parse_ok("x.example; dkim=fail reason=\"bad\r\n signature\"", 0);
	assert_string_equal(ar->results[0].reason, "bad signature");
	mailsec_authres_free(ar);

	/* nested comments, quoted-pairs in comments */
	ar = parse_ok("x.example (a (b \\) c) d); arc=pass (i=2 (x))", 0);
	assert_string_equal(ar->comment, "a (b ) c) d");
	assert_string_equal(ar->results[0].comment, "i=2 (x)");
	mailsec_authres_free(ar);

	/* UTF-8 (RFC 6532) in comments and quoted-strings */
	ar = parse_ok("x.example; spf=pass (\xc3\xa9t\xc3\xa9) "
	    "smtp.mailfrom=\"j\xc3\xb6rg@example.org\"", 0);
	assert_string_equal(ar->results[0].comment, "\xc3\xa9t\xc3\xa9");
	assert_prop(&ar->results[0], 0, "smtp", "mailfrom",
	    "j\xc3\xb6rg@example.org");
	mailsec_authres_free(ar);

	/* "none" as the only result, comments around it */
	ar = parse_ok("x.example (c) ; (d) NONE (e)", 0);
	assert_true(ar->none);
	assert_string_equal(ar->comment, "c");
	mailsec_authres_free(ar);

	/* arc with smtp.remote-ip (RFC 8617 10.2) and OpenARC's arc.chain */
	ar = parse_ok("mx.example.org; arc=pass (i=2) "
	    "smtp.remote-ip=192.0.2.1 header.oldest-pass=0 "
	    "arc.chain=\"example.net:example.com\"", MAILSEC_AUTHRES_STRICT);
	assert_prop(&ar->results[0], 0, "smtp", "remote-ip", "192.0.2.1");
	assert_prop(&ar->results[0], 1, "header", "oldest-pass", "0");
	assert_prop(&ar->results[0], 2, "arc", "chain",
	    "example.net:example.com");
	mailsec_authres_free(ar);

	/* dmarc with policy.dmarc (RFC 9989 9.1) */
	ar = parse_ok("mx.example.org; dmarc=fail (p=reject) "
	    "header.from=example.com policy.dmarc=reject", 0);
	assert_prop(&ar->results[0], 1, "policy", "dmarc", "reject");
	mailsec_authres_free(ar);

	/* AAR instance prefix */
	ar = parse_ok(" i = 3 ; lists.example.org; spf=pass "
	    "smtp.mfrom=jqd@d1.example", MAILSEC_AUTHRES_AAR);
	assert_int_equal(ar->instance, 3);
	assert_string_equal(ar->authserv_id, "lists.example.org");
	mailsec_authres_free(ar);
}

static void
test_parse_lenient(void **state)
{
	struct mailsec_authres *ar = NULL;
	const char *s;

	(void)state;
	/* DKIM header.b base64 prefixes with '/' as most verifiers write */
	s = "mx.example.org; dkim=pass header.d=example.net "
	    "header.b=Qgi/FoC0";
	ar = parse_ok(s, 0);
	assert_prop(&ar->results[0], 1, "header", "b", "Qgi/FoC0");
	mailsec_authres_free(ar);
	assert_int_equal(mailsec_authres_parse(s, strlen(s),
	    MAILSEC_AUTHRES_STRICT, &ar, NULL), MAILSEC_ESYNTAX);
	assert_null(ar);

	/* key=value without a ptype: skipped and counted */
	s = "outlook.example; dmarc=none action=none "
	    "header.from=hotmail.example; compauth=pass reason=100";
	ar = parse_ok(s, 0);
	assert_int_equal(ar->results[0].nignored, 1);
	assert_int_equal(ar->results[0].nprops, 1);
	assert_prop(&ar->results[0], 0, "header", "from", "hotmail.example");
	assert_string_equal(ar->results[1].reason, "100");
	mailsec_authres_free(ar);
	assert_int_equal(mailsec_authres_parse(s, strlen(s),
	    MAILSEC_AUTHRES_STRICT, &ar, NULL), MAILSEC_ESYNTAX);
}

struct bad_case {
	const char *in;
	unsigned flags;
	mailsec_err err;
	size_t offset;
	const char *why;	/* a word of diag.text */
};

static void
test_parse_errors(void **state)
{
	static const struct bad_case bad[] = {
		{ "", 0, MAILSEC_ESYNTAX, 0, "authserv-id" },
		{ "   ", 0, MAILSEC_ESYNTAX, 3, "authserv-id" },
		{ "example.com", 0, MAILSEC_ESYNTAX, 11, "none" },
		{ "example.com;", 0, MAILSEC_ESYNTAX, 11, "without" },
		{ "example.com; spf=pass;", 0, MAILSEC_ESYNTAX, 21,
		    "without" },
		{ "example.com; none; spf=pass", 0, MAILSEC_ESYNTAX, 17,
		    "none" },
		{ "example.com 2; spf=pass", 0, MAILSEC_EUNSUPPORTED, 12,
		    "version" },
		{ "example.com; spf", 0, MAILSEC_ESYNTAX, 16, "'='" },
		{ "example.com; spf=", 0, MAILSEC_ESYNTAX, 17, "result" },
		{ "example.com; spf=pass smtp", 0, MAILSEC_ESYNTAX, 26,
		    "'.'" },
		{ "example.com; spf=pass smtp.mailfrom", 0, MAILSEC_ESYNTAX,
		    35, "'='" },
		{ "example.com; spf=pass smtp.mailfrom=", 0, MAILSEC_ESYNTAX,
		    36, "value" },
		{ "example.com; spf=pass smtp.mailfrom=\"x", 0,
		    MAILSEC_ESYNTAX, 36, "unterminated" },
		{ "example.com (x; spf=pass", 0, MAILSEC_ESYNTAX, 12,
		    "unterminated" },
		{ "example.com; spf=pass smtp.helo=\"a\"smtp.helo=b", 0,
		    MAILSEC_ESYNTAX, 35, "whitespace" },
		{ "example.com; spf-=pass", 0, MAILSEC_ESYNTAX, 16, "'-'" },
		{ "example.com; dkim/x=pass", 0, MAILSEC_ESYNTAX, 18,
		    "version" },
		{ "example.com; dkim/0=pass", 0, MAILSEC_ESYNTAX, 18,
		    "version 0" },
		{ "example.com; iprev=pass policy.iprev=2001:db8::1", 0,
		    MAILSEC_ESYNTAX, 41, "';'" },
		{ "example.com; spf=pass smtp.mailfrom=a\x01", 0,
		    MAILSEC_ESYNTAX, 37, "';'" },
		{ "example.com; dkim=pass reason=a reason=b",
		    MAILSEC_AUTHRES_STRICT, MAILSEC_ESYNTAX, 38, "once" },
		{ "example.com; dkim=pass header.d=x reason=\"late\"",
		    MAILSEC_AUTHRES_STRICT, MAILSEC_ESYNTAX, 40, "reason" },
		{ "example.com\r\nspf=pass", 0, MAILSEC_ESYNTAX, 11, "';'" },
		{ "\"\"; spf=pass", 0, MAILSEC_ESYNTAX, 0, "empty" },
		{ "x; spf=pass (\xff)", 0, MAILSEC_ESYNTAX, 13, "0xff" },
		{ "x; spf=pass smtp.helo=\"\x7f\"", 0, MAILSEC_ESYNTAX, 23,
		    "0x7f" },
		{ "x; spf=pass smtp.helo=\"\\\x01\"", 0, MAILSEC_ESYNTAX, 24,
		    "quoted-pair" },
		{ "i=0; x; none", MAILSEC_AUTHRES_AAR, MAILSEC_ESYNTAX, 2,
		    "instance" },
		{ "i=51; x; none", MAILSEC_AUTHRES_AAR, MAILSEC_ESYNTAX, 2,
		    "instance" },
		{ "x; none", MAILSEC_AUTHRES_AAR, MAILSEC_ESYNTAX, 0, "i=" },
		{ "i=1 x; none", MAILSEC_AUTHRES_AAR, MAILSEC_ESYNTAX, 4,
		    "';'" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < MS_ARRAY_LEN(bad); i++) {
		struct mailsec_diag diag = { 0 };
		struct mailsec_authres *ar = (void *)&diag;
		mailsec_err err;

		err = mailsec_authres_parse(bad[i].in, strlen(bad[i].in),
		    bad[i].flags, &ar, &diag);
		if (err != bad[i].err)
			fail_msg("'%s': %s, expected %s (%s)", bad[i].in,
			    mailsec_errname(err), mailsec_errname(bad[i].err),
			    diag.text);
		assert_null(ar);
		assert_int_equal(diag.set, 1);
		if (bad[i].why[0] != '\0' &&
		    (diag.offset != bad[i].offset ||
		    strstr(diag.text, bad[i].why) == NULL))
			fail_msg("'%s': offset %zu '%s', expected %zu '%s'",
			    bad[i].in, diag.offset, diag.text, bad[i].offset,
			    bad[i].why);
	}
	assert_int_equal(mailsec_authres_parse(NULL, 1, 0, NULL, NULL),
	    MAILSEC_EINVAL);
}

static void
test_parse_limits(void **state)
{
	struct mailsec_diag diag = { 0 };
	struct mailsec_authres *ar = NULL;
	struct ms_buf b;
	char *s;
	size_t i, n;

	(void)state;
	/* results: MAX accepted, MAX + 1 refused */
	ms_buf_init(&b, 1 << 20);
	assert_int_equal(ms_buf_appendz(&b, "x.example"), MAILSEC_OK);
	for (i = 0; i < MAILSEC_AUTHRES_MAX_RESULTS; i++)
		assert_int_equal(ms_buf_appendz(&b, "; spf=pass"),
		    MAILSEC_OK);
	assert_int_equal(mailsec_authres_parse(b.ptr, b.len, 0, &ar, NULL),
	    MAILSEC_OK);
	assert_int_equal(ar->nresults, MAILSEC_AUTHRES_MAX_RESULTS);
	mailsec_authres_free(ar);
	n = b.len;
	assert_int_equal(ms_buf_appendz(&b, "; spf=pass"), MAILSEC_OK);
	assert_int_equal(mailsec_authres_parse(b.ptr, b.len, 0, &ar, &diag),
	    MAILSEC_ELIMIT);
	assert_int_equal(diag.offset, n + 2);
	ms_buf_free(&b);

	/* properties of one result */
	ms_buf_init(&b, 1 << 20);
	assert_int_equal(ms_buf_appendz(&b, "x.example; dkim=pass"),
	    MAILSEC_OK);
	for (i = 0; i < MAILSEC_AUTHRES_MAX_PROPS; i++)
		assert_int_equal(ms_buf_appendz(&b, " header.d=a"),
		    MAILSEC_OK);
	assert_int_equal(mailsec_authres_parse(b.ptr, b.len, 0, &ar, NULL),
	    MAILSEC_OK);
	assert_int_equal(ar->results[0].nprops, MAILSEC_AUTHRES_MAX_PROPS);
	mailsec_authres_free(ar);
	assert_int_equal(ms_buf_appendz(&b, " header.d=a"), MAILSEC_OK);
	assert_int_equal(mailsec_authres_parse(b.ptr, b.len, 0, &ar, &diag),
	    MAILSEC_ELIMIT);
	assert_int_equal(diag.offset, b.len - 10);
	ms_buf_free(&b);

	/* comment nesting */
	ms_buf_init(&b, 1 << 20);
	assert_int_equal(ms_buf_appendz(&b, "x.example "), MAILSEC_OK);
	for (i = 0; i < MAILSEC_AUTHRES_MAX_NESTING; i++)
		assert_int_equal(ms_buf_appendc(&b, '('), MAILSEC_OK);
	for (i = 0; i < MAILSEC_AUTHRES_MAX_NESTING; i++)
		assert_int_equal(ms_buf_appendc(&b, ')'), MAILSEC_OK);
	assert_int_equal(ms_buf_appendz(&b, "; none"), MAILSEC_OK);
	assert_int_equal(mailsec_authres_parse(b.ptr, b.len, 0, &ar, NULL),
	    MAILSEC_OK);
	mailsec_authres_free(ar);
	ms_buf_free(&b);
	s = calloc(1, 64);
	assert_non_null(s);
	memcpy(s, "x.example (((((((((x)))))))))", 29);
	assert_int_equal(mailsec_authres_parse(s, strlen(s), 0, &ar, &diag),
	    MAILSEC_ELIMIT);
	assert_int_equal(diag.offset, 18);
	free(s);

	/* whole length */
	n = MAILSEC_AUTHRES_MAX_LEN + 1;
	s = malloc(n);
	assert_non_null(s);
	memset(s, 'a', n);
	assert_int_equal(mailsec_authres_parse(s, n, 0, &ar, &diag),
	    MAILSEC_ELIMIT);
	assert_int_equal(diag.offset, MAILSEC_AUTHRES_MAX_LEN);
	/* exactly MAX_LEN: an authserv-id and "; none" */
	memcpy(s + MAILSEC_AUTHRES_MAX_LEN - 6, "; none", 6);
	assert_int_equal(mailsec_authres_parse(s, n - 1, 0, &ar, NULL),
	    MAILSEC_OK);
	assert_int_equal(strlen(ar->authserv_id),
	    MAILSEC_AUTHRES_MAX_LEN - 6);
	mailsec_authres_free(ar);
	free(s);

	/* method version bound */
	s = "x; dkim/1000000=pass";
	assert_int_equal(mailsec_authres_parse(s, strlen(s), 0, &ar, NULL),
	    MAILSEC_ESYNTAX);
}

/* ---- generator --------------------------------------------------------- */

static char *
gen_ok(const struct mailsec_authres *ar,
    const struct mailsec_authres_gen *opt)
{
	struct mailsec_diag diag = { 0 };
	char *out = NULL;
	size_t n = 0;

	if (mailsec_authres_generate(ar, opt, &out, &n, &diag) != MAILSEC_OK)
		fail_msg("generate: %s", diag.text);
	assert_non_null(out);
	assert_int_equal(n, strlen(out));
	return out;
}

/* Parses out again and checks it gives ar back. */
static void
assert_round_trip(const struct mailsec_authres *ar, const char *out)
{
	struct mailsec_authres *back;

	back = parse_ok(out, MAILSEC_AUTHRES_STRICT);
	if (!mailsec_authres_equal(ar, back))
		fail_msg("round trip changed the model: '%s'", out);
	mailsec_authres_free(back);
}

static void
test_generate_basic(void **state)
{
	static const struct mailsec_authres_gen one = { 24, 78, "\r\n", 0,
	    MAILSEC_AUTHRES_GEN_ONELINE };
	struct mailsec_authres *ar;
	char *out;

	(void)state;
	assert_int_equal(mailsec_authres_new("mx.example.org", &ar),
	    MAILSEC_OK);
	out = gen_ok(ar, NULL);
	assert_string_equal(out, "mx.example.org; none");
	free(out);

	assert_int_equal(mailsec_authres_add_result(ar, "spf", "pass"),
	    MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_prop(ar, "smtp", "mailfrom",
	    "sender@example.net", NULL), MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_result(ar, "dkim", "fail"),
	    MAILSEC_OK);
	assert_int_equal(mailsec_authres_set_reason(ar, "bad signature"),
	    MAILSEC_OK);
	assert_int_equal(mailsec_authres_set_comment(ar, "1024-bit key"),
	    MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_prop(ar, "header", "d",
	    "example.net", NULL), MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_prop(ar, "header", "i",
	    "@example.net", "signing identity"), MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_result(ar, "dmarc", "fail"),
	    MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_prop(ar, "header", "from",
	    "example.net", NULL), MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_prop(ar, "policy", "dmarc",
	    "reject", NULL), MAILSEC_OK);
	out = gen_ok(ar, &one);
	assert_string_equal(out, "mx.example.org; spf=pass "
	    "smtp.mailfrom=sender@example.net; dkim=fail (1024-bit key) "
	    "reason=\"bad signature\" header.d=example.net "
	    "header.i=@example.net (signing identity); dmarc=fail "
	    "header.from=example.net policy.dmarc=reject");
	assert_round_trip(ar, out);
	free(out);

	/* method version, header version, header comment */
	ar->version = 1;
	ar->results[1].method_version = 1;
	ar->comment = strdup("mailsec");
	out = gen_ok(ar, &one);
	assert_non_null(strstr(out, "mx.example.org (mailsec) 1; spf=pass"));
	assert_non_null(strstr(out, "; dkim/1=fail"));
	assert_round_trip(ar, out);
	free(out);
	mailsec_authres_free(ar);
}

static void
test_generate_quoting(void **state)
{
	static const struct {
		const char *value;
		const char *written;
	} q[] = {
		{ "example.com", "example.com" },
		{ "user@example.com", "user@example.com" },
		{ "@example.com", "@example.com" },
		{ "first.last+tag@sub.example.com",
		    "first.last+tag@sub.example.com" },
		{ "\"john doe\"@example.com", "\"john doe\"@example.com" },
		{ "192.0.2.1", "192.0.2.1" },
		{ "2001:db8::1", "\"2001:db8::1\"" },
		{ "Qgi/FoC0", "\"Qgi/FoC0\"" },
		{ "abc=", "\"abc=\"" },
		{ "a b", "\"a b\"" },
		{ "", "\"\"" },
		{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
		{ "back\\slash", "\"back\\\\slash\"" },
		{ "semi;colon", "\"semi;colon\"" },
		{ "user@", "\"user@\"" },
		{ "a@b@example.com", "\"a@b@example.com\"" },
		{ "user@-bad.example", "\"user@-bad.example\"" },
		{ "j\xc3\xb6rg", "\"j\xc3\xb6rg\"" },
		{ "tab\there", "\"tab\there\"" },
	};
	static const struct mailsec_authres_gen one = { 0, 78, "\r\n", 0,
	    MAILSEC_AUTHRES_GEN_ONELINE };
	struct mailsec_authres *ar;
	char want[256], *out;
	size_t i;

	(void)state;
	for (i = 0; i < MS_ARRAY_LEN(q); i++) {
		assert_int_equal(mailsec_authres_new("x", &ar), MAILSEC_OK);
		assert_int_equal(mailsec_authres_add_result(ar, "x-test",
		    "pass"), MAILSEC_OK);
		assert_int_equal(mailsec_authres_add_prop(ar, "header", "v",
		    q[i].value, NULL), MAILSEC_OK);
		out = gen_ok(ar, &one);
		snprintf(want, sizeof want, "x; x-test=pass header.v=%s",
		    q[i].written);
		assert_string_equal(out, want);
		assert_round_trip(ar, out);
		free(out);
		mailsec_authres_free(ar);
	}

	/* authserv-id and reason are values (token / quoted-string) */
	assert_int_equal(mailsec_authres_new("my auth@example", &ar),
	    MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_result(ar, "auth", "pass"),
	    MAILSEC_OK);
	assert_int_equal(mailsec_authres_set_reason(ar, "ok"), MAILSEC_OK);
	assert_int_equal(mailsec_authres_set_comment(ar, "a (b) \\c"),
	    MAILSEC_OK);
	out = gen_ok(ar, &one);
	assert_string_equal(out, "\"my auth@example\"; auth=pass "
	    "(a \\(b\\) \\\\c) reason=ok");
	assert_round_trip(ar, out);
	free(out);

	/* control bytes in free text become '?', in values are refused */
	assert_int_equal(mailsec_authres_set_reason(ar, "bad\r\nline"),
	    MAILSEC_OK);
	assert_int_equal(mailsec_authres_set_comment(ar, "x\x01y"),
	    MAILSEC_OK);
	out = gen_ok(ar, &one);
	assert_string_equal(out, "\"my auth@example\"; auth=pass (x?y) "
	    "reason=\"bad??line\"");
	free(out);
	assert_int_equal(mailsec_authres_add_prop(ar, "smtp", "auth",
	    "a\nb", NULL), MAILSEC_OK);
	assert_int_equal(mailsec_authres_generate(ar, &one, &out, NULL,
	    NULL), MAILSEC_EINVAL);
	assert_null(out);
	mailsec_authres_free(ar);
}

/* Every line of out within width columns (a leading TAB counted as 8),
 * and out unfolds to flat. */
static void
assert_folded(const char *out, size_t first_col, size_t width,
    const char *flat)
{
	const char *line = out, *nl;
	size_t col, i, j;
	char *unf;

	for (;;) {
		nl = strstr(line, "\r\n");
		col = (size_t)((nl != NULL ? nl : line + strlen(line)) - line);
		if (line == out)
			col += first_col;
		else {
			assert_true(line[0] == '\t' || line[0] == ' ');
			if (line[0] == '\t')
				col += 7;
		}
		if (col > width)
			fail_msg("line of %zu columns in '%s'", col, out);
		if (nl == NULL)
			break;
		line = nl + 2;
	}
	unf = strdup(out);
	assert_non_null(unf);
	for (i = j = 0; out[i] != '\0'; i++) {
		if (out[i] == '\r' && out[i + 1] == '\n') {
			i++;
			/* our folds turn a space into CRLF TAB */
			if (out[i + 1] == '\t') {
				unf[j++] = ' ';
				i++;
			}
			continue;
		}
		unf[j++] = out[i];
	}
	unf[j] = '\0';
	assert_string_equal(unf, flat);
	free(unf);
}

static void
test_generate_folding(void **state)
{
	static const struct mailsec_authres_gen one = { 24, 78, "\r\n", 0,
	    MAILSEC_AUTHRES_GEN_ONELINE };
	struct mailsec_authres_gen opt = MAILSEC_AUTHRES_GEN_DEFAULTS;
	struct mailsec_authres *ar;
	char *flat, *out, longv[200];
	size_t i;

	(void)state;
	assert_int_equal(mailsec_authres_new("mx.example.org", &ar),
	    MAILSEC_OK);
	for (i = 0; i < 3; i++) {
		assert_int_equal(mailsec_authres_add_result(ar, "dkim",
		    i % 2 ? "pass" : "fail"), MAILSEC_OK);
		assert_int_equal(mailsec_authres_set_comment(ar,
		    "2048-bit rsa key sha256, the signature was made by a "
		    "very long-winded signer"), MAILSEC_OK);
		assert_int_equal(mailsec_authres_add_prop(ar, "header", "d",
		    "some-long-subdomain.example.com", NULL), MAILSEC_OK);
		assert_int_equal(mailsec_authres_add_prop(ar, "header", "s",
		    "selector2024", NULL), MAILSEC_OK);
		assert_int_equal(mailsec_authres_add_prop(ar, "header", "b",
		    "AbCdEfGh+/ijklmnopqrstuvwxyz0123456789==", NULL),
		    MAILSEC_OK);
	}
	flat = gen_ok(ar, &one);
	out = gen_ok(ar, &opt);
	assert_non_null(strstr(out, "\r\n\t"));
	assert_folded(out, 24, 78, flat);
	assert_round_trip(ar, out);
	free(out);

	/* a narrow width folds inside comments, at their own spaces */
	opt.width = 30;
	opt.first_col = 0;
	out = gen_ok(ar, &opt);
	assert_non_null(strstr(out, "\r\n sha256, the signature"));
	assert_round_trip(ar, out);
	free(out);

	/* LF line ends for a file */
	opt.eol = "\n";
	out = gen_ok(ar, &opt);
	assert_null(strchr(out, '\r'));
	free(out);
	free(flat);

	/* a token longer than the width stands alone, unbroken */
	memset(longv, 'x', 120);
	memcpy(longv + 120, ".example", 9);
	assert_int_equal(mailsec_authres_add_result(ar, "spf", "pass"),
	    MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_prop(ar, "smtp", "helo", longv,
	    NULL), MAILSEC_OK);
	opt.eol = "\r\n";
	opt.width = 78;
	out = gen_ok(ar, &opt);
	assert_non_null(strstr(out, "\r\n\tsmtp.helo=xxxx"));
	assert_round_trip(ar, out);
	free(out);
	mailsec_authres_free(ar);

	/* a line that would pass 998 octets is refused */
	assert_int_equal(mailsec_authres_new("x", &ar), MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_result(ar, "spf", "pass"),
	    MAILSEC_OK);
	flat = malloc(1200);
	assert_non_null(flat);
	memset(flat, 'a', 1199);
	flat[1199] = '\0';
	assert_int_equal(mailsec_authres_add_prop(ar, "smtp", "helo", flat,
	    NULL), MAILSEC_OK);
	free(flat);
	assert_int_equal(mailsec_authres_generate(ar, NULL, &out, NULL,
	    NULL), MAILSEC_ELIMIT);
	mailsec_authres_free(ar);
}

static void
test_generate_b_prefix(void **state)
{
	struct mailsec_authres_gen opt = MAILSEC_AUTHRES_GEN_DEFAULTS;
	struct mailsec_diag diag = { 0 };
	struct mailsec_authres *ar;
	char *out;

	(void)state;
	assert_int_equal(mailsec_authres_new("x.example", &ar), MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_result(ar, "dkim", "pass"),
	    MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_prop(ar, "header", "d",
	    "example.org", NULL), MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_prop(ar, "header", "b",
	    "dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiY",
	    NULL), MAILSEC_OK);
	/* another method's header.b is not a DKIM signature */
	assert_int_equal(mailsec_authres_add_result(ar, "x-other", "pass"),
	    MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_prop(ar, "header", "b",
	    "0123456789abcdef", NULL), MAILSEC_OK);
	opt.b_prefix = 8;
	out = gen_ok(ar, &opt);
	assert_string_equal(out, "x.example; dkim=pass header.d=example.org"
	    "\r\n\theader.b=dzdVyOfA; x-other=pass "
	    "header.b=0123456789abcdef");
	free(out);
	opt.b_prefix = 12;
	out = gen_ok(ar, &opt);
	assert_non_null(strstr(out, "header.b=dzdVyOfAKCdL;"));
	free(out);
	/* a prefix that needs quoting */
	free(ar->results[0].props[1].value);
	ar->results[0].props[1].value = strdup("ab/d+fgh0123");
	opt.b_prefix = 8;
	out = gen_ok(ar, &opt);
	assert_non_null(strstr(out, "header.b=\"ab/d+fgh\";"));
	free(out);
	opt.b_prefix = 7;
	assert_int_equal(mailsec_authres_generate(ar, &opt, &out, NULL,
	    &diag), MAILSEC_EINVAL);
	assert_non_null(strstr(diag.text, "at least 8"));
	mailsec_authres_free(ar);
}

static void
test_generate_refusals(void **state)
{
	struct mailsec_diag diag = { 0 };
	struct mailsec_authres *ar;
	char *out = NULL;

	(void)state;
	assert_int_equal(mailsec_authres_new("", &ar), MAILSEC_EINVAL);
	assert_int_equal(mailsec_authres_new("x", NULL), MAILSEC_EINVAL);
	assert_int_equal(mailsec_authres_new("x", &ar), MAILSEC_OK);
	assert_int_equal(mailsec_authres_set_reason(ar, "r"), MAILSEC_EINVAL);
	assert_int_equal(mailsec_authres_add_prop(ar, "a", "b", "c", NULL),
	    MAILSEC_EINVAL);
	/* unknown result word for a known method */
	assert_int_equal(mailsec_authres_add_result(ar, "SPF", "hardpass"),
	    MAILSEC_OK);
	assert_int_equal(mailsec_authres_generate(ar, NULL, &out, NULL,
	    &diag), MAILSEC_EINVAL);
	assert_non_null(strstr(diag.text, "hardpass"));
	assert_null(out);
	free(ar->results[0].result);
	ar->results[0].result = strdup("SoftFail");
	assert_int_equal(mailsec_authres_generate(ar, NULL, &out, NULL,
	    NULL), MAILSEC_OK);
	assert_string_equal(out, "x; SPF=SoftFail");
	free(out);
	/* keywords */
	assert_int_equal(mailsec_authres_add_result(ar, "bad method",
	    "pass"), MAILSEC_OK);
	assert_int_equal(mailsec_authres_generate(ar, NULL, &out, NULL,
	    &diag), MAILSEC_EINVAL);
	assert_non_null(strstr(diag.text, "Keyword"));
	free(ar->results[1].method);
	ar->results[1].method = strdup("x-new");
	assert_int_equal(mailsec_authres_add_prop(ar, "smtp", "mail.from",
	    "a", NULL), MAILSEC_OK);
	assert_int_equal(mailsec_authres_generate(ar, NULL, &out, NULL,
	    NULL), MAILSEC_EINVAL);
	free(ar->results[1].props[0].property);
	ar->results[1].props[0].property = strdup("mailfrom");
	assert_int_equal(mailsec_authres_generate(ar, NULL, &out, NULL,
	    NULL), MAILSEC_OK);
	free(out);
	/* version, instance, none with results */
	ar->version = 2;
	assert_int_equal(mailsec_authres_generate(ar, NULL, &out, NULL,
	    NULL), MAILSEC_EINVAL);
	ar->version = 0;
	ar->instance = 51;
	assert_int_equal(mailsec_authres_generate(ar, NULL, &out, NULL,
	    NULL), MAILSEC_EINVAL);
	ar->instance = 2;
	out = gen_ok(ar, NULL);
	assert_int_equal(strncmp(out, "i=2; x; SPF=SoftFail", 20), 0);
	{
		struct mailsec_authres *back = NULL;

		assert_int_equal(mailsec_authres_parse(out, strlen(out),
		    MAILSEC_AUTHRES_AAR, &back, NULL), MAILSEC_OK);
		assert_int_equal(back->instance, 2);
		mailsec_authres_free(back);
	}
	free(out);
	ar->none = true;
	assert_int_equal(mailsec_authres_generate(ar, NULL, &out, NULL,
	    NULL), MAILSEC_EINVAL);
	assert_int_equal(mailsec_authres_generate(NULL, NULL, &out, NULL,
	    NULL), MAILSEC_EINVAL);
	mailsec_authres_free(ar);
	mailsec_authres_free(NULL);
}

static void
test_round_trip_parsed(void **state)
{
	static const char *const in[] = {
		"example.org 1; none",
		"foo.example.net (foobar) 1 (baz); dkim (Because I like it) "
		    "/ 1 (One yay) = (wait for it) fail policy (A dot can go "
		    "here) . (like that) expired (this surprised me) = (as I "
		    "wasn't expecting it) 1362471462",
		"mx.google.example; dkim=pass header.i=@example.com "
		    "header.s=20230601 header.b=\"a/B+c9=\"; spf=pass "
		    "(google.example: domain of bounce@example.com designates "
		    "2607:f8b0:4864:20::b2f as permitted sender) "
		    "smtp.mailfrom=bounce@example.com; dmarc=pass (p=NONE "
		    "sp=NONE dis=NONE) header.from=example.com; arc=pass "
		    "(i=1 spf=pass spfdomain=example.com dkim=pass "
		    "dkdomain=example.com dmarc=pass fromdomain=example.com)",
		"\"quoted id\"; x-weird/7=odd reason=\"why \\\"not\\\"\" "
		    "body.hash=\"\\(x\\)\" (c (nested) \\) e)",
		"x; iprev=pass policy.iprev=192.0.2.200 (a.example)",
	};
	struct mailsec_authres *ar;
	struct mailsec_authres_gen opt = MAILSEC_AUTHRES_GEN_DEFAULTS;
	size_t i;
	char *out;

	(void)state;
	for (i = 0; i < MS_ARRAY_LEN(in); i++) {
		ar = parse_ok(in[i], 0);
		opt.width = 78;
		out = gen_ok(ar, &opt);
		assert_round_trip(ar, out);
		free(out);
		opt.width = 20;
		out = gen_ok(ar, &opt);
		assert_round_trip(ar, out);
		free(out);
		mailsec_authres_free(ar);
	}
}

/* ---- vocabulary -------------------------------------------------------- */

static void
test_vocabulary(void **state)
{
	const char *const *w;

	(void)state;
	assert_true(mailsec_authres_method_known("DKIM"));
	assert_false(mailsec_authres_method_known("x-tls"));
	w = mailsec_authres_result_words("iprev");
	assert_non_null(w);
	assert_string_equal(w[0], "pass");
	assert_true(mailsec_authres_result_valid("spf", "softfail"));
	assert_true(mailsec_authres_result_valid("spf", "policy"));
	assert_false(mailsec_authres_result_valid("dmarc", "softfail"));
	assert_false(mailsec_authres_result_valid("dmarc", "policy"));
	assert_true(mailsec_authres_result_valid("dmarc", "temperror"));
	assert_true(mailsec_authres_result_valid("arc", "fail"));
	assert_false(mailsec_authres_result_valid("arc", "temperror"));
	assert_false(mailsec_authres_result_valid("iprev", "none"));
	assert_true(mailsec_authres_result_valid("auth", "permerror"));
	assert_false(mailsec_authres_result_valid("auth", "neutral"));
	assert_true(mailsec_authres_result_valid("dkim", "policy"));
	assert_false(mailsec_authres_result_valid("dkim", "softfail"));
	assert_true(mailsec_authres_result_valid("x-new", "whatever"));
	assert_false(mailsec_authres_result_valid("x-new", "not a word"));
	assert_false(mailsec_authres_result_valid(NULL, "pass"));
	assert_null(mailsec_authres_result_words(NULL));
}

/* ---- forged fields (RFC 8601 section 5) -------------------------------- */

static void
test_is_ours(void **state)
{
	char *id = NULL;

	(void)state;
	assert_true(mailsec_authres_is_ours("mx.example.org; none", 20,
	    "mx.example.org"));
	assert_true(mailsec_authres_is_ours(" (forged) MX.Example.ORG; "
	    "spf=pass", 34, "mx.example.org"));
	assert_true(mailsec_authres_is_ours("mx.example.org.; spf=pass", 25,
	    "mx.example.org"));
	assert_true(mailsec_authres_is_ours("\"mx.example.org\"; x", 19,
	    "mx.example.org."));
	/* the rest need not parse for the claim to count */
	assert_true(mailsec_authres_is_ours("mx.example.org; ???", 19,
	    "mx.example.org"));
	assert_true(mailsec_authres_is_ours("mx.example.org 9; spf=pass", 26,
	    "mx.example.org"));
	assert_false(mailsec_authres_is_ours("mx.example.org.evil; none", 25,
	    "mx.example.org"));
	assert_false(mailsec_authres_is_ours("example.org; none", 17,
	    "mx.example.org"));
	assert_false(mailsec_authres_is_ours("; none", 6, "mx.example.org"));
	assert_false(mailsec_authres_is_ours("x; none", 7, ""));
	assert_false(mailsec_authres_is_ours("x; none", 7, NULL));
	assert_int_equal(mailsec_authres_authserv_id("(c) \"a b\" ; none", 16,
	    0, &id, NULL), MAILSEC_OK);
	assert_string_equal(id, "a b");
	free(id);
	assert_int_equal(mailsec_authres_authserv_id("i=1; a.example; none",
	    20, MAILSEC_AUTHRES_AAR, &id, NULL), MAILSEC_OK);
	assert_string_equal(id, "a.example");
	free(id);
	assert_int_equal(mailsec_authres_authserv_id("(unterminated", 13, 0,
	    &id, NULL), MAILSEC_ESYNTAX);
	assert_null(id);
}

static void
test_msg_find(void **state)
{
	static const char m[] =
	    "Authentication-Results: mx.example.org; spf=pass "
	    "smtp.mailfrom=a.example\r\n"
	    "Received: from x by y\r\n"
	    "Authentication-Results: other.example; none\r\n"
	    "authentication-results: (forged)\r\n MX.EXAMPLE.ORG;\r\n"
	    "  dkim=pass header.d=evil.example\r\n"
	    "X-Authentication-Results: mx.example.org; none\r\n"
	    "ARC-Authentication-Results: i=1; mx.example.org; none\r\n"
	    "Authentication-Results: mx.example.org; this does not parse\r\n"
	    "From: a@a.example\r\n"
	    "\r\n"
	    "body\r\n";
	struct mailsec_msg *msg = NULL;
	size_t i;

	(void)state;
	assert_int_equal(mailsec_msg_parse(m, sizeof m - 1, NULL, 0, &msg,
	    NULL), MAILSEC_OK);
	i = mailsec_authres_msg_find(msg, "mx.example.org", 0);
	assert_int_equal(i, 0);
	i = mailsec_authres_msg_find(msg, "mx.example.org", i + 1);
	assert_int_equal(i, 3);
	i = mailsec_authres_msg_find(msg, "mx.example.org", i + 1);
	assert_int_equal(i, 6);
	assert_int_equal(mailsec_authres_msg_find(msg, "mx.example.org",
	    i + 1), (size_t)-1);
	assert_int_equal(mailsec_authres_msg_count(msg, "mx.example.org"),
	    3);
	assert_int_equal(mailsec_authres_msg_count(msg, "other.example"), 1);
	assert_int_equal(mailsec_authres_msg_count(msg, "none.example"), 0);
	assert_int_equal(mailsec_authres_msg_find(NULL, "x", 0), (size_t)-1);
	mailsec_msg_free(msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_rfc_examples),
		cmocka_unit_test(test_parse_quoting_and_case),
		cmocka_unit_test(test_parse_lenient),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_generate_basic),
		cmocka_unit_test(test_generate_quoting),
		cmocka_unit_test(test_generate_folding),
		cmocka_unit_test(test_generate_b_prefix),
		cmocka_unit_test(test_generate_refusals),
		cmocka_unit_test(test_round_trip_parsed),
		cmocka_unit_test(test_vocabulary),
		cmocka_unit_test(test_is_ours),
		cmocka_unit_test(test_msg_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
