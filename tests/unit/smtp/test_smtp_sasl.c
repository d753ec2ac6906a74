/*
 * tests/unit/smtp/test_smtp_sasl.c - AUTH PLAIN (RFC 4616) and AUTH LOGIN
 * decoding, exchanges and cancellation (RFC 4954 4).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailsec/smtp.h>

#include "smtp/smtp_int.h"

#define LIT(s) s, sizeof(s) - 1

struct plain_case {
	const char *b64;
	mailsec_err err;
	unsigned code;
	const char *authzid, *authcid, *passwd;
};

static const struct plain_case plain_cases[] = {
	/* RFC 4616 4: "\0tim\0tanstaaftanstaaf" */
	{ "AHRpbQB0YW5zdGFhZnRhbnN0YWFm", MAILSEC_OK, 0, "", "tim",
	    "tanstaaftanstaaf" },
	/* RFC 4616 4: "Ursel\0Kurt\0xipj3plmq" */
	{ "VXJzZWwAS3VydAB4aXBqM3BsbXE=", MAILSEC_OK, 0, "Ursel", "Kurt",
	    "xipj3plmq" },
	/* "test\0test\0test" */
	{ "dGVzdAB0ZXN0AHRlc3Q=", MAILSEC_OK, 0, "test", "test", "test" },
	/* UTF-8 password "\0user\0p\xc3\xa4ss" */
	{ "AHVzZXIAcMOkc3M=", MAILSEC_OK, 0, "", "user", "p\xc3\xa4ss" },
	/* "\0\0pw": empty authcid */
	{ "AABwdw==", MAILSEC_ESYNTAX, 501, NULL, NULL, NULL },
	/* "\0user\0": empty password */
	{ "AHVzZXIA", MAILSEC_ESYNTAX, 501, NULL, NULL, NULL },
	/* "user\0pw": one NUL only */
	{ "dXNlcgBwdw==", MAILSEC_ESYNTAX, 501, NULL, NULL, NULL },
	/* "\0user\0p\0w": NUL in the password */
	{ "AHVzZXIAcAB3", MAILSEC_ESYNTAX, 501, NULL, NULL, NULL },
	/* "\0user\0\xff": not UTF-8 */
	{ "AHVzZXIA/w==", MAILSEC_ESYNTAX, 501, NULL, NULL, NULL },
	/* base64 errors: whitespace, missing padding, bad char, data after
	 * padding, non-zero pad bits */
	{ "AHRpbQB0 YW5zdGFhZnRhbnN0YWFm", MAILSEC_ESYNTAX, 501, NULL, NULL,
	    NULL },
	{ "dGVzdAB0ZXN0AHRlc3Q", MAILSEC_ESYNTAX, 501, NULL, NULL, NULL },
	{ "dGVzdAB0ZXN0AHRlc3Q!", MAILSEC_ESYNTAX, 501, NULL, NULL, NULL },
	{ "dGVz=AB0ZXN0AHRlc3Q=", MAILSEC_ESYNTAX, 501, NULL, NULL, NULL },
	{ "dGVzdAB0ZXN0AHRlc3R=", MAILSEC_ESYNTAX, 501, NULL, NULL, NULL },
	{ "", MAILSEC_ESYNTAX, 501, NULL, NULL, NULL },
};

static void
test_plain_decode(void **state)
{
	struct mailsec_smtp_sasl_creds c;
	struct mailsec_smtp_reply r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof plain_cases / sizeof plain_cases[0]; i++) {
		const struct plain_case *t = &plain_cases[i];

		print_message("plain %zu: %s\n", i, t->b64);
		memset(&r, 0, sizeof r);
		assert_int_equal(mailsec_smtp_sasl_plain_decode(t->b64,
		    strlen(t->b64), &c, &r), t->err);
		if (t->err == MAILSEC_OK) {
			assert_string_equal(c.authzid, t->authzid);
			assert_int_equal(c.authzid_len, strlen(t->authzid));
			assert_string_equal(c.authcid, t->authcid);
			assert_int_equal(c.authcid_len, strlen(t->authcid));
			assert_string_equal(c.passwd, t->passwd);
			assert_int_equal(c.passwd_len, strlen(t->passwd));
		} else {
			assert_int_equal(r.code, t->code);
			/* wiped */
			assert_int_equal(c.authcid_len, 0);
			assert_int_equal(c.passwd[0], '\0');
		}
	}
}

static void
test_plain_limits(void **state)
{
	static unsigned char raw[800];
	static char b64[1200];
	struct mailsec_smtp_sasl_creds c;
	struct mailsec_smtp_reply r;
	size_t n, i, o;
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t fields[3];

	(void)state;
	/* authzid 255, authcid 255, passwd 255: fits; 256 does not */
	for (int round = 0; round < 2; round++) {
		fields[0] = 255;
		fields[1] = 255;
		fields[2] = round == 0 ? 255 : 256;
		n = 0;
		memset(raw, 'a', sizeof raw);
		n = fields[0];
		raw[n++] = 0;
		n += fields[1];
		raw[n++] = 0;
		n += fields[2];
		o = 0;
		for (i = 0; i + 2 < n; i += 3) {
			uint32_t v = (uint32_t)raw[i] << 16 |
			    (uint32_t)raw[i + 1] << 8 | raw[i + 2];
			b64[o++] = tab[v >> 18];
			b64[o++] = tab[(v >> 12) & 63];
			b64[o++] = tab[(v >> 6) & 63];
			b64[o++] = tab[v & 63];
		}
		if (n - i == 1) {
			uint32_t v = (uint32_t)raw[i] << 16;
			b64[o++] = tab[v >> 18];
			b64[o++] = tab[(v >> 12) & 63];
			b64[o++] = '=';
			b64[o++] = '=';
		} else if (n - i == 2) {
			uint32_t v = (uint32_t)raw[i] << 16 |
			    (uint32_t)raw[i + 1] << 8;
			b64[o++] = tab[v >> 18];
			b64[o++] = tab[(v >> 12) & 63];
			b64[o++] = tab[(v >> 6) & 63];
			b64[o++] = '=';
		}
		if (round == 0) {
			assert_int_equal(mailsec_smtp_sasl_plain_decode(b64, o,
			    &c, &r), MAILSEC_OK);
			assert_int_equal(c.passwd_len, 255);
			assert_int_equal(c.authzid_len, 255);
		} else {
			assert_int_not_equal(mailsec_smtp_sasl_plain_decode(
			    b64, o, &c, &r), MAILSEC_OK);
			assert_true(r.code == 501 || r.code == 500);
		}
	}
	/* far too long: refused before decoding */
	memset(b64, 'A', sizeof b64);
	assert_int_equal(mailsec_smtp_sasl_plain_decode(b64, sizeof b64, &c,
	    &r), MAILSEC_ELIMIT);
	assert_int_equal(r.code, 500);
	assert_string_equal(r.status, "5.5.6");
}

struct b64_case {
	const char *in;
	unsigned mode;
	size_t outsz;
	size_t want;		/* decoded length or (size_t)-1 */
	const char *out;	/* decoded bytes, when want is a length */
};

static const struct b64_case b64_cases[] = {
	/* strict (RFC 4648 4, RFC 4954 4) */
	{ "TWFu", MS_B64_STRICT, 8, 3, "Man" },
	{ "TWE=", MS_B64_STRICT, 8, 2, "Ma" },
	{ "TQ==", MS_B64_STRICT, 8, 1, "M" },
	{ "", MS_B64_STRICT, 8, 0, "" },
	{ "TQ=", MS_B64_STRICT, 8, (size_t)-1, NULL },
	{ "T===", MS_B64_STRICT, 8, (size_t)-1, NULL },
	{ "TR==", MS_B64_STRICT, 8, (size_t)-1, NULL },
	{ "TQ==TQ==", MS_B64_STRICT, 8, (size_t)-1, NULL },
	{ "TWFuTWFu", MS_B64_STRICT, 5, (size_t)-1, NULL },
	{ "TW Fu", MS_B64_STRICT, 8, (size_t)-1, NULL },
	{ "TWF\r\n", MS_B64_STRICT, 8, (size_t)-1, NULL },
	/* with FWS (DKIM tag values) */
	{ "aGVsbG8=", MS_B64_FWS, 8, 5, "hello" },
	{ "aGVs\r\n bG8", MS_B64_FWS, 8, 5, "hello" },
	{ "TR==", MS_B64_FWS, 8, 1, "M" },
	{ "QUJD REVG", MS_B64_FWS, 8, 6, "ABCDEF" },
	{ "aGVsbG8=x", MS_B64_FWS, 8, (size_t)-1, NULL },
	{ "a", MS_B64_FWS, 8, (size_t)-1, NULL },
	{ "a*==", MS_B64_FWS, 8, (size_t)-1, NULL },
	{ "AAAAAA===", MS_B64_FWS, 8, (size_t)-1, NULL },
	{ "aGVsbG8=", MS_B64_FWS, 4, (size_t)-1, NULL },
};

static void
test_b64_decode(void **state)
{
	unsigned char out[8];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof b64_cases / sizeof b64_cases[0]; i++) {
		const struct b64_case *t = &b64_cases[i];

		print_message("base64 %zu: %s\n", i, t->in);
		assert_int_equal(ms_base64_decode(t->in, strlen(t->in),
		    t->mode, out, t->outsz), t->want);
		if (t->out != NULL)
			assert_memory_equal(out, t->out, t->want);
	}
}

static void
test_plain_exchange(void **state)
{
	struct mailsec_smtp_sasl s;
	struct mailsec_smtp_reply r;
	const char *ch;

	(void)state;
	/* with an initial response */
	assert_int_equal(mailsec_smtp_sasl_start(&s, MAILSEC_SMTP_SASL_PLAIN,
	    LIT("AHRpbQB0YW5zdGFhZnRhbnN0YWFm"), true, &ch, &r),
	    MAILSEC_SMTP_SASL_DONE);
	assert_string_equal(s.creds.authcid, "tim");
	assert_string_equal(s.creds.passwd, "tanstaaftanstaaf");
	mailsec_smtp_sasl_clear(&s);
	assert_int_equal(s.creds.passwd[0], '\0');
	assert_int_equal(s.creds.passwd_len, 0);
	/* without: an empty challenge, then the response */
	assert_int_equal(mailsec_smtp_sasl_start(&s, MAILSEC_SMTP_SASL_PLAIN,
	    NULL, 0, false, &ch, &r), MAILSEC_SMTP_SASL_CONTINUE);
	assert_string_equal(ch, "");
	assert_int_equal(mailsec_smtp_sasl_step(&s,
	    LIT("VXJzZWwAS3VydAB4aXBqM3BsbXE="), &ch, &r),
	    MAILSEC_SMTP_SASL_DONE);
	assert_string_equal(s.creds.authzid, "Ursel");
	/* nothing in progress any more */
	assert_int_equal(mailsec_smtp_sasl_step(&s, LIT("AAAA"), &ch, &r),
	    MAILSEC_SMTP_SASL_FAILED);
	assert_int_equal(r.code, 503);
	/* "=": empty initial response, which is no PLAIN message */
	assert_int_equal(mailsec_smtp_sasl_start(&s, MAILSEC_SMTP_SASL_PLAIN,
	    LIT("="), true, &ch, &r), MAILSEC_SMTP_SASL_FAILED);
	assert_int_equal(r.code, 501);
	/* cancel */
	assert_int_equal(mailsec_smtp_sasl_start(&s, MAILSEC_SMTP_SASL_PLAIN,
	    NULL, 0, false, &ch, &r), MAILSEC_SMTP_SASL_CONTINUE);
	assert_int_equal(mailsec_smtp_sasl_step(&s, LIT("*"), &ch, &r),
	    MAILSEC_SMTP_SASL_CANCELLED);
	assert_int_equal(r.code, 501);
	assert_string_equal(r.status, "5.7.0");
	/* bad base64 response */
	assert_int_equal(mailsec_smtp_sasl_start(&s, MAILSEC_SMTP_SASL_PLAIN,
	    NULL, 0, false, &ch, &r), MAILSEC_SMTP_SASL_CONTINUE);
	assert_int_equal(mailsec_smtp_sasl_step(&s, LIT("not base64!"), &ch,
	    &r), MAILSEC_SMTP_SASL_FAILED);
	assert_int_equal(r.code, 501);
	assert_string_equal(r.status, "5.5.2");
	/* unknown mechanism */
	assert_int_equal(mailsec_smtp_sasl_start(&s, MAILSEC_SMTP_SASL_OTHER,
	    NULL, 0, false, &ch, &r), MAILSEC_SMTP_SASL_FAILED);
	assert_int_equal(r.code, 504);
}

static void
test_login_exchange(void **state)
{
	struct mailsec_smtp_sasl s;
	struct mailsec_smtp_reply r;
	const char *ch;

	(void)state;
	assert_int_equal(mailsec_smtp_sasl_start(&s, MAILSEC_SMTP_SASL_LOGIN,
	    NULL, 0, false, &ch, &r), MAILSEC_SMTP_SASL_CONTINUE);
	assert_string_equal(ch, "VXNlcm5hbWU6");	/* Username: */
	assert_int_equal(mailsec_smtp_sasl_step(&s,
	    LIT("dXNlckBleGFtcGxlLm9yZw=="), &ch, &r),
	    MAILSEC_SMTP_SASL_CONTINUE);
	assert_string_equal(ch, "UGFzc3dvcmQ6");	/* Password: */
	assert_int_equal(mailsec_smtp_sasl_step(&s, LIT("c2VjcmV0"), &ch, &r),
	    MAILSEC_SMTP_SASL_DONE);
	assert_string_equal(s.creds.authcid, "user@example.org");
	assert_string_equal(s.creds.passwd, "secret");
	assert_int_equal(s.creds.authzid_len, 0);
	/* user name as initial response */
	assert_int_equal(mailsec_smtp_sasl_start(&s, MAILSEC_SMTP_SASL_LOGIN,
	    LIT("dXNlcg=="), true, &ch, &r), MAILSEC_SMTP_SASL_CONTINUE);
	assert_string_equal(ch, "UGFzc3dvcmQ6");
	assert_string_equal(s.creds.authcid, "user");
	/* cancel at the password prompt wipes the user name */
	assert_int_equal(mailsec_smtp_sasl_step(&s, LIT("*"), &ch, &r),
	    MAILSEC_SMTP_SASL_CANCELLED);
	assert_int_equal(s.creds.authcid_len, 0);
	assert_int_equal(s.creds.authcid[0], '\0');
	/* empty user name, bad base64 */
	assert_int_equal(mailsec_smtp_sasl_start(&s, MAILSEC_SMTP_SASL_LOGIN,
	    NULL, 0, false, &ch, &r), MAILSEC_SMTP_SASL_CONTINUE);
	assert_int_equal(mailsec_smtp_sasl_step(&s, "", 0, &ch, &r),
	    MAILSEC_SMTP_SASL_FAILED);
	assert_int_equal(r.code, 501);
	assert_int_equal(mailsec_smtp_sasl_start(&s, MAILSEC_SMTP_SASL_LOGIN,
	    NULL, 0, false, &ch, &r), MAILSEC_SMTP_SASL_CONTINUE);
	assert_int_equal(mailsec_smtp_sasl_step(&s, LIT("dXNlcg"), &ch, &r),
	    MAILSEC_SMTP_SASL_FAILED);
	assert_string_equal(r.status, "5.5.2");
	/* "user\0x": NUL in a LOGIN field */
	assert_int_equal(mailsec_smtp_sasl_start(&s, MAILSEC_SMTP_SASL_LOGIN,
	    NULL, 0, false, &ch, &r), MAILSEC_SMTP_SASL_CONTINUE);
	assert_int_equal(mailsec_smtp_sasl_step(&s, LIT("dXNlcgB4"), &ch, &r),
	    MAILSEC_SMTP_SASL_FAILED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_decode),
		cmocka_unit_test(test_plain_limits),
		cmocka_unit_test(test_b64_decode),
		cmocka_unit_test(test_plain_exchange),
		cmocka_unit_test(test_login_exchange),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
