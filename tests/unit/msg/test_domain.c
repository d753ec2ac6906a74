/*
 * tests/unit/msg/test_domain.c - domain normalization
 * (lib/mime/domain.c): case folding, IDNA2008 via libidn2, limits and
 * every refusal class.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailsec/domain.h>

#define S(lit) (lit), (sizeof(lit) - 1)

struct dom_case {
	const char *what;
	const char *in;
	size_t inlen;
	mailsec_err err;
	const char *out;	/* on success; on failure a diag substring */
	size_t offset;		/* diag offset on failure */
};

/* 63 and 64 octet labels */
#define L63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define L64 L63 "a"
/* 4 x 63 + 3 dots = 255; names are cut down from it below */
#define L61 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define N253 L63 "." L63 "." L63 "." L61		/* 63*3+61+3 = 253 */
#define N254 L63 "." L63 "." L63 "." L61 "b"	/* 254 */

static const struct dom_case cases[] = {
	/* accepted */
	{ "lowercase already", S("example.org"), MAILSEC_OK, "example.org", 0 },
	{ "case folding", S("ExAmPlE.ORG"), MAILSEC_OK, "example.org", 0 },
	{ "single label", S("localhost"), MAILSEC_OK, "localhost", 0 },
	{ "trailing dot removed", S("Example.COM."), MAILSEC_OK,
	    "example.com", 0 },
	{ "digits and hyphens", S("mx-1.a1b2.example"), MAILSEC_OK,
	    "mx-1.a1b2.example", 0 },
	{ "dmarc underscore", S("_DMARC.example.org"), MAILSEC_OK,
	    "_dmarc.example.org", 0 },
	{ "dkim selector", S("Sel-1._domainkey.Example.org"), MAILSEC_OK,
	    "sel-1._domainkey.example.org", 0 },
	{ "R-LDH ASCII label is plain ASCII", S("ab--cd.example"), MAILSEC_OK,
	    "ab--cd.example", 0 },
	{ "U-label to A-label", S("B\xc3\xbc" "cher.example"), MAILSEC_OK,
	    "xn--bcher-kva.example", 0 },
	{ "uppercase Unicode", S("B\xc3\x9c" "CHER.EXAMPLE"), MAILSEC_OK,
	    "xn--bcher-kva.example", 0 },
	{ "non-transitional sharp s", S("fa\xc3\x9f.de"), MAILSEC_OK,
	    "xn--fa-hia.de", 0 },
	{ "CJK", S("\xe6\x97\xa5\xe6\x9c\xac.jp"), MAILSEC_OK,
	    "xn--wgv71a.jp", 0 },
	{ "NFC input: u + combining diaeresis",
	    S("bu\xcc\x88" "cher.example"), MAILSEC_OK,
	    "xn--bcher-kva.example", 0 },
	{ "U-label with trailing dot", S("m\xc3\xbcnchen.de."), MAILSEC_OK,
	    "xn--mnchen-3ya.de", 0 },
	{ "A-label given", S("xn--bcher-kva.example"), MAILSEC_OK,
	    "xn--bcher-kva.example", 0 },
	{ "A-label uppercase", S("XN--BCHER-KVA.Example"), MAILSEC_OK,
	    "xn--bcher-kva.example", 0 },
	{ "underscore beside an IDN label",
	    S("_dmarc.b\xc3\xbc" "cher.example"), MAILSEC_OK,
	    "_dmarc.xn--bcher-kva.example", 0 },
	{ "fullwidth letters mapped", S("\xef\xbd\x81\xef\xbd\x82.example"),
	    MAILSEC_OK, "ab.example", 0 },
	{ "63-octet label", S(L63 ".example"), MAILSEC_OK, L63 ".example",
	    0 },
	{ "253-octet name", S(N253), MAILSEC_OK, N253, 0 },
	{ "253-octet name with final dot", S(N253 "."), MAILSEC_OK, N253,
	    0 },

	/* refused */
	{ "empty", S(""), MAILSEC_ESYNTAX, "empty domain name", 0 },
	{ "root", S("."), MAILSEC_ESYNTAX, "root", 0 },
	{ "two final dots", S("example.."), MAILSEC_ESYNTAX, "empty label",
	    8 },
	{ "empty inner label", S("a..b"), MAILSEC_ESYNTAX, "empty label", 2 },
	{ "leading dot", S(".a"), MAILSEC_ESYNTAX, "empty label", 0 },
	{ "address literal", S("[1.2.3.4]"), MAILSEC_ESYNTAX,
	    "address literal", 0 },
	{ "IPv6 literal", S("[IPv6:2001:db8::1]"), MAILSEC_ESYNTAX,
	    "address literal", 0 },
	{ "space", S("exa mple.org"), MAILSEC_ESYNTAX, "space at offset 3",
	    3 },
	{ "trailing space", S("example.org "), MAILSEC_ESYNTAX, "space", 11 },
	{ "control byte", S("exa\tmple.org"), MAILSEC_ESYNTAX,
	    "control byte 0x09", 3 },
	{ "NUL byte", S("example\0.org"), MAILSEC_ESYNTAX,
	    "control byte 0x00", 7 },
	{ "DEL byte", S("example.org\x7f"), MAILSEC_ESYNTAX,
	    "control byte 0x7f", 11 },
	{ "punctuation", S("exa!mple.org"), MAILSEC_ESYNTAX,
	    "invalid character '!'", 3 },
	{ "address, not a domain", S("user@example.org"), MAILSEC_ESYNTAX,
	    "invalid character '@'", 4 },
	{ "invalid UTF-8: lone continuation", S("a\x80" "b.example"),
	    MAILSEC_ESYNTAX, "invalid UTF-8", 1 },
	{ "invalid UTF-8: truncated", S("example.\xc3"), MAILSEC_ESYNTAX,
	    "invalid UTF-8", 8 },
	{ "invalid UTF-8: overlong", S("\xc0\xae.example"), MAILSEC_ESYNTAX,
	    "invalid UTF-8", 0 },
	{ "invalid UTF-8: surrogate", S("\xed\xa0\x80.example"),
	    MAILSEC_ESYNTAX, "invalid UTF-8", 0 },
	{ "invalid UTF-8: 0xff", S("\xff.example"), MAILSEC_ESYNTAX,
	    "invalid UTF-8", 0 },
	{ "leading hyphen", S("-a.example"), MAILSEC_ESYNTAX,
	    "starts with a hyphen", 0 },
	{ "trailing hyphen", S("a.b-.example"), MAILSEC_ESYNTAX,
	    "ends with a hyphen", 2 },
	{ "64-octet label", S(L64 ".example"), MAILSEC_ESYNTAX,
	    "64 octets, over 63", 0 },
	{ "254-octet name", S(N254), MAILSEC_ESYNTAX, "exceeds 253", 192 },
	{ "IDNA2008 disallowed symbol", S("\xe2\x98\x83.example"),
	    MAILSEC_ESYNTAX, "not valid IDNA2008", 0 },
	{ "invalid A-label (bad punycode)", S("xn--zz.example"),
	    MAILSEC_ESYNTAX, "not valid IDNA2008", 0 },
	{ "A-label of a disallowed code point", S("a.xn--n3h.example"),
	    MAILSEC_ESYNTAX, "not valid IDNA2008", 2 },
	{ "empty A-label", S("xn--.example"), MAILSEC_ESYNTAX,
	    "not valid IDNA2008", 0 },
	{ "bidi rule", S("\xd9\xa1\xd9\xa2\xd9\xa3.example"),
	    MAILSEC_ESYNTAX, "not valid IDNA2008", 0 },
	{ "underscore in a U-label", S("\xc3\xbc_x.example"),
	    MAILSEC_ESYNTAX, "underscore", 0 },
	{ "U-label whose A-label exceeds 63 octets",
	    S("\xc3\xbc" L63 ".example"), MAILSEC_ESYNTAX, "IDNA2008", 0 },
};

static void
test_table(void **state)
{
	const struct dom_case *c;
	struct mailsec_diag diag;
	char out[MAILSEC_DOMAIN_MAX];
	size_t i, outlen;
	mailsec_err err;

	(void)state;
	assert_true(sizeof cases / sizeof cases[0] >= 25);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		c = &cases[i];
		print_message("case: %s\n", c->what);
		memset(&diag, 0, sizeof diag);
		memset(out, 'Z', sizeof out);
		outlen = 12345;
		err = mailsec_domain_normalize(c->in, c->inlen, out,
		    sizeof out, &outlen, &diag);
		if (err != c->err)
			fail_msg("%s: got %s (%s, out \"%s\"), want %s",
			    c->what, mailsec_errname(err), diag.text,
			    err == MAILSEC_OK ? out : "",
			    mailsec_errname(c->err));
		if (err == MAILSEC_OK) {
			if (strcmp(out, c->out) != 0)
				fail_msg("%s: got \"%s\", want \"%s\"",
				    c->what, out, c->out);
			assert_int_equal(outlen, strlen(c->out));
			assert_int_equal(diag.set, 0);
			continue;
		}
		assert_int_equal(diag.set, 1);
		assert_string_equal(out, "");
		assert_int_equal(outlen, 0);
		if (strstr(diag.text, c->out) == NULL)
			fail_msg("%s: diag \"%s\" lacks \"%s\"", c->what,
			    diag.text, c->out);
		if (diag.offset != c->offset)
			fail_msg("%s: diag offset %zu, want %zu (%s)",
			    c->what, diag.offset, c->offset, diag.text);
	}
}

/* The input is (p, len): bytes after len are never read. */
static void
test_not_nul_terminated(void **state)
{
	char in[] = "Example.ORGgarbage";
	char *heap;
	char out[MAILSEC_DOMAIN_MAX];
	size_t outlen;

	(void)state;
	assert_int_equal(mailsec_domain_normalize(in, 11, out, sizeof out,
	    &outlen, NULL), MAILSEC_OK);
	assert_string_equal(out, "example.org");
	assert_int_equal(outlen, 11);
	/* exactly-sized heap copy: ASan catches any over-read */
	heap = malloc(15);
	assert_non_null(heap);
	memcpy(heap, "b\xc3\xbc" "cher.example", 15);
	assert_int_equal(mailsec_domain_normalize(heap, 15, out, sizeof out,
	    NULL, NULL), MAILSEC_OK);
	assert_string_equal(out, "xn--bcher-kva.example");
	free(heap);
}

static void
test_bad_args(void **state)
{
	char out[MAILSEC_DOMAIN_MAX];
	char big[2000];

	(void)state;
	assert_int_equal(mailsec_domain_normalize("a", 1, NULL, 300, NULL,
	    NULL), MAILSEC_EINVAL);
	assert_int_equal(mailsec_domain_normalize("a", 1, out,
	    MAILSEC_DOMAIN_MAX - 1, NULL, NULL), MAILSEC_EINVAL);
	assert_int_equal(mailsec_domain_normalize(NULL, 1, out, sizeof out,
	    NULL, NULL), MAILSEC_EINVAL);
	assert_int_equal(mailsec_domain_normalize(NULL, 0, out, sizeof out,
	    NULL, NULL), MAILSEC_ESYNTAX);
	/* far over any name: refused before any work */
	memset(big, 'a', sizeof big);
	assert_int_equal(mailsec_domain_normalize(big, sizeof big, out,
	    sizeof out, NULL, NULL), MAILSEC_ESYNTAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
