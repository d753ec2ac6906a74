/*
 * Unit tests for DKIM canonicalization (RFC 6376 3.4) and base64.
 * Body cases are checked whole and fed one byte at a time: the streaming
 * hasher must not depend on chunk boundaries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dkim/dkim_int.h"

#include "canon_ref.h"

struct body_case {
	enum mailsec_dkim_canon c;
	const char *in;
	const char *want;
	uint64_t limit;
};

#define NOL UINT64_MAX
static const struct body_case body_cases[] = {
	/* RFC 6376 3.4.5 example */
	{ MAILSEC_DKIM_SIMPLE, " C \r\nD \t E\r\n\r\n\r\n",
	  " C \r\nD \t E\r\n", NOL },
	{ MAILSEC_DKIM_RELAXED, " C \r\nD \t E\r\n\r\n\r\n",
	  " C\r\nD E\r\n", NOL },
	/* empty bodies */
	{ MAILSEC_DKIM_SIMPLE, "", "\r\n", NOL },
	{ MAILSEC_DKIM_RELAXED, "", "", NOL },
	{ MAILSEC_DKIM_SIMPLE, "\r\n\r\n", "\r\n", NOL },
	{ MAILSEC_DKIM_RELAXED, "\r\n\r\n", "", NOL },
	{ MAILSEC_DKIM_RELAXED, " \t\r\n \r\n", "", NOL },
	{ MAILSEC_DKIM_SIMPLE, " \r\n", " \r\n", NOL },
	/* no final CRLF */
	{ MAILSEC_DKIM_SIMPLE, "abc", "abc\r\n", NOL },
	{ MAILSEC_DKIM_RELAXED, "abc  ", "abc\r\n", NOL },
	/* inner empty lines kept */
	{ MAILSEC_DKIM_SIMPLE, "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n", NOL },
	{ MAILSEC_DKIM_RELAXED, "a\r\n \r\nb\r\n", "a\r\n\r\nb\r\n", NOL },
	/* WSP runs inside lines */
	{ MAILSEC_DKIM_RELAXED, "a\t\t b  c\r\n", "a b c\r\n", NOL },
	{ MAILSEC_DKIM_RELAXED, "\t a\r\n", " a\r\n", NOL },
	/* a bare CR is content */
	{ MAILSEC_DKIM_SIMPLE, "a\rb\r\n", "a\rb\r\n", NOL },
	{ MAILSEC_DKIM_SIMPLE, "a\r", "a\r\r\n", NOL },
	/* 8-bit bytes pass through */
	{ MAILSEC_DKIM_RELAXED, "\xc3\xa9t\xc3\xa9\r\n",
	  "\xc3\xa9t\xc3\xa9\r\n", NOL },
	/* l= cuts the canonical stream */
	{ MAILSEC_DKIM_SIMPLE, "hello\r\nworld\r\n", "hello\r\n", 7 },
	{ MAILSEC_DKIM_RELAXED, "hello  there\r\n", "hello", 5 },
	{ MAILSEC_DKIM_SIMPLE, "x\r\n", "", 0 },
};

static void
hash_of(const char *p, size_t n, unsigned char *out)
{
	unsigned len;

	assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
}

static void
run_body(const struct body_case *c, bool bytewise, unsigned char *dig,
    uint64_t *total)
{
	struct ms_dkim_body b;
	unsigned dlen;
	size_t i, n = strlen(c->in);

	assert_int_equal(ms_dkim_body_init(&b, c->c, EVP_sha256(), c->limit),
	    MAILSEC_OK);
	if (bytewise) {
		for (i = 0; i < n; i++)
			assert_int_equal(ms_dkim_body_update(&b, c->in + i, 1),
			    MAILSEC_OK);
	} else {
		assert_int_equal(ms_dkim_body_update(&b, c->in, n),
		    MAILSEC_OK);
	}
	assert_int_equal(ms_dkim_body_final(&b, dig, &dlen), MAILSEC_OK);
	assert_int_equal(dlen, 32);
	*total = b.total;
	ms_dkim_body_cleanup(&b);
}

static void
test_body(void **state)
{
	unsigned char want[32], got[32], got2[32];
	uint64_t t1, t2;
	size_t i;

	(void)state;
	for (i = 0; i < MS_ARRAY_LEN(body_cases); i++) {
		hash_of(body_cases[i].want, strlen(body_cases[i].want), want);
		run_body(&body_cases[i], false, got, &t1);
		run_body(&body_cases[i], true, got2, &t2);
		if (memcmp(want, got, 32) != 0)
			fail_msg("body case %zu: hash differs", i);
		if (memcmp(want, got2, 32) != 0)
			fail_msg("body case %zu: bytewise hash differs", i);
		assert_int_equal(t1, t2);
		if (body_cases[i].limit == NOL)
			assert_int_equal(t1, strlen(body_cases[i].want));
	}
}

/* A large body crossing the staging buffer, chunked oddly. */
static void
test_body_large(void **state)
{
	static char big[20000];
	struct body_case c = { MAILSEC_DKIM_SIMPLE, big, big, NOL };
	unsigned char want[32], got[32];
	uint64_t t;
	size_t i;

	(void)state;
	for (i = 0; i + 1 < sizeof big; i++)
		big[i] = (i % 80 == 78) ? '\r' : (i % 80 == 79) ? '\n' :
		    (char)('a' + i % 26);
	big[sizeof big - 1] = '\0';
	/* last line ends at a CRLF? make the expectation explicit */
	{
		static char want_s[20010];
		size_t n = strlen(big);

		memcpy(want_s, big, n);
		if (!(n >= 2 && big[n - 2] == '\r' && big[n - 1] == '\n')) {
			memcpy(want_s + n, "\r\n", 2);
			n += 2;
		}
		hash_of(want_s, n, want);
	}
	run_body(&c, false, got, &t);
	assert_memory_equal(want, got, 32);
}

static void
test_body_random(void **state)
{
	static const char alpha[] = "ab \t\r\n  \r\n";
	static char in[600], want[1400];
	unsigned seed = 6376, r;
	unsigned char dw[32], dg[32], dg2[32];
	size_t n, k, wn;
	int round, c;

	(void)state;
	for (round = 0; round < 4000; round++) {
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % sizeof in;
		for (k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			r = (seed >> 16) % (sizeof alpha - 1 + 6);
			in[k] = r < sizeof alpha - 1 ? alpha[r] : 'x';
		}
		in[n] = '\0';
		for (c = 0; c < 2; c++) {
			struct body_case bc = { (enum mailsec_dkim_canon)c, in,
			    NULL, NOL };
			uint64_t t, t2;

			wn = canon_ref_body(bc.c, in, n, want);
			hash_of(want, wn, dw);
			run_body(&bc, false, dg, &t);
			run_body(&bc, true, dg2, &t2);
			if (memcmp(dw, dg, 32) != 0 || memcmp(dw, dg2, 32) != 0
			    || t != wn || t2 != wn)
				fail_msg("round %d canon %d len %zu: differs "
				    "from the reference", round, c, n);
		}
	}
}

struct hdr_case {
	enum mailsec_dkim_canon c;
	const char *in, *want;
};

static const struct hdr_case hdr_cases[] = {
	/* RFC 6376 3.4.5 */
	{ MAILSEC_DKIM_RELAXED, "A: X\r\n", "a:X\r\n" },
	{ MAILSEC_DKIM_RELAXED, "B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n" },
	{ MAILSEC_DKIM_SIMPLE, "B : Y\t\r\n\tZ  \r\n", "B : Y\t\r\n\tZ  \r\n" },
	{ MAILSEC_DKIM_RELAXED, "Subject:\r\n", "subject:\r\n" },
	{ MAILSEC_DKIM_RELAXED, "X-A:  a \t b\r\n", "x-a:a b\r\n" },
	{ MAILSEC_DKIM_SIMPLE, "X: no crlf", "X: no crlf\r\n" },
};

static void
test_header(void **state)
{
	struct ms_buf b;
	size_t i;

	(void)state;
	for (i = 0; i < MS_ARRAY_LEN(hdr_cases); i++) {
		ms_buf_init(&b, 4096);
		assert_int_equal(ms_dkim_canon_header(hdr_cases[i].c,
		    hdr_cases[i].in, strlen(hdr_cases[i].in), &b), MAILSEC_OK);
		assert_string_equal(b.ptr, hdr_cases[i].want);
		ms_buf_free(&b);
	}
}

static void
test_base64(void **state)
{
	unsigned char out[16];
	struct ms_buf b;

	(void)state;
	assert_int_equal(ms_b64_decode("aGVsbG8=", 8, out, sizeof out), 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(ms_b64_decode("aGVs\r\n bG8", 10, out, sizeof out),
	    5);
	assert_int_equal(ms_b64_decode("aGVsbG8=x", 9, out, sizeof out),
	    (size_t)-1);
	assert_int_equal(ms_b64_decode("a", 1, out, sizeof out), (size_t)-1);
	assert_int_equal(ms_b64_decode("a*==", 4, out, sizeof out),
	    (size_t)-1);
	assert_int_equal(ms_b64_decode("aGVsbG8=", 8, out, 4), (size_t)-1);
	ms_buf_init(&b, 64);
	assert_int_equal(ms_b64_encode((const unsigned char *)"hello", 5, &b),
	    MAILSEC_OK);
	assert_string_equal(b.ptr, "aGVsbG8=");
	ms_buf_free(&b);
	ms_buf_init(&b, 64);
	assert_int_equal(ms_b64_encode((const unsigned char *)"", 0, &b),
	    MAILSEC_OK);
	assert_string_equal(b.ptr, "");
	ms_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_body_large),
		cmocka_unit_test(test_body_random),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
