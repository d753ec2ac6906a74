/*
 * Unit tests for the vector paths of the DKIM body canonicalizers
 * (lib/dkim/canon.c, RFC 6376 3.4.3 and 3.4.4): at each vector level the
 * machine has (scalar, SSE2, AVX2), bodies placed at every alignment and
 * cut into chunks at every point must hash as a plain line-by-line
 * reference does. Inputs put WSP runs, CRs and CRLFs across the 16- and
 * 32-byte steps and the chunk boundaries. Also base64 decoding, which
 * takes four characters at a step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dkim/dkim_int.h"

#include "canon_ref.h"

/* Canonicalizes in at vector level lv, fed as chunks cut at the given
 * points (sorted, each <= n), and compares hash and length with the
 * reference. */
static void
check(int lv, enum mailsec_dkim_canon c, const char *in, size_t n,
    const size_t *cuts, size_t ncuts, uint64_t limit, const char *what)
{
	static char want[2 * 4096 + 2];
	unsigned char dw[32], dg[32];
	struct ms_dkim_body b;
	size_t wn, i, from = 0;
	unsigned dlen;

	assert_true(n <= 4096);
	wn = canon_ref_body(c, in, n, want);
	assert_int_equal(EVP_Digest(want, wn < limit ? wn : (size_t)limit, dw,
	    NULL, EVP_sha256(), NULL), 1);
	assert_int_equal(ms_dkim_body_init(&b, c, EVP_sha256(), limit),
	    MAILSEC_OK);
	assert_int_equal(ms_dkim_body_set_simd(&b, lv), lv);
	for (i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : n;

		assert_int_equal(ms_dkim_body_update(&b, in + from,
		    to - from), MAILSEC_OK);
		from = to;
	}
	assert_int_equal(ms_dkim_body_final(&b, dg, &dlen), MAILSEC_OK);
	if (memcmp(dw, dg, 32) != 0 || b.total != wn)
		fail_msg("%s: canon %d len %zu (%zu cuts, first %zu), level "
		    "%d: differs from the reference (total %llu, want %zu)",
		    what, (int)c, n, ncuts, ncuts ? cuts[0] : 0, b.simd,
		    (unsigned long long)b.total, wn);
	ms_dkim_body_cleanup(&b);
}

/* Every level up to the best this CPU has (a new context's). */
static int
levels(void)
{
	struct ms_dkim_body b;
	int best;

	assert_int_equal(ms_dkim_body_init(&b, MAILSEC_DKIM_RELAXED,
	    EVP_sha256(), UINT64_MAX), MAILSEC_OK);
	best = b.simd;
	ms_dkim_body_cleanup(&b);
	return best + 1;
}

/* Hand-made bodies whose special bytes sit around the 16/32 steps. */
static const char *const shapes[] = {
	"aaaaaaaaaaaaaaa  bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\tcccccccccccccc\r\n",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \r\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \t \r\n\r\n \t\r\nbbbbbbbbbbbbbbbbbb \r\n",
	"x                                                  y\r\n\r\n\r\n",
	"\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\tz",
	"aaaaaaaaaaaaaaa\rbbbbbbbbbbbbbbb \rccccccccccccccccccc\r \r\n  \r\n",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n\r\naaaaaaaaaaaaaaaaaaaaaaaaa \n b",
	"                                                                   ",
	"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nq",
	"a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h\r",
	"one line without an end and a space at the end of it all the way ",
};

/* Every shape at every offset in a buffer of 64 (alignment), whole and
 * cut in two at every point, at every level. */
static void
test_shapes_split(void **state)
{
	static char buf[4096];
	size_t s, off, cut, n;
	int lv, c;

	(void)state;
	for (lv = 0; lv < levels(); lv++) {
		for (s = 0; s < MS_ARRAY_LEN(shapes); s++) {
			n = strlen(shapes[s]);
			for (off = 0; off < 64; off++) {
				memcpy(buf + off, shapes[s], n);
				for (c = 0; c < 2; c++) {
					check(lv, (enum mailsec_dkim_canon)c,
					    buf + off, n, NULL, 0, UINT64_MAX,
					    "shape whole");
					if (off > 3)
						continue;
					for (cut = 0; cut <= n; cut++)
						check(lv,
						    (enum mailsec_dkim_canon)c,
						    buf + off, n, &cut, 1,
						    UINT64_MAX, "shape split");
				}
			}
		}
	}
}

static unsigned
rnd(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 16;
}

/* Random WSP-heavy bodies (runs long enough to cross a whole vector),
 * random chunkings and l= limits, every level. */
static void
test_random_chunks(void **state)
{
	static const char alpha[] = "ab \t\r\n  \r\n";
	static char in[3000];
	size_t cuts[12], n, k, nc, i;
	unsigned seed = 8463, r;
	uint64_t limit;
	int lv, round, c;

	(void)state;
	for (lv = 0; lv < levels(); lv++) {
		for (round = 0; round < 1500; round++) {
			n = rnd(&seed) % sizeof in;
			for (k = 0; k < n; k++) {
				r = rnd(&seed) % 40;
				if (r < sizeof alpha - 1)
					in[k] = alpha[r];
				else if (r < 36)
					in[k] = (char)('c' + r % 20);
				else {
					/* a long run of one WSP kind */
					size_t len = rnd(&seed) % 70, j;
					char w = r == 36 ? '\t' : ' ';

					for (j = 0; j < len && k < n; j++)
						in[k++] = w;
					if (k < n)
						in[k] = 'y';
				}
			}
			nc = rnd(&seed) % MS_ARRAY_LEN(cuts);
			for (i = 0; i < nc; i++)
				cuts[i] = n ? rnd(&seed) % (n + 1) : 0;
			/* sort the cuts */
			for (i = 1; i < nc; i++)
				for (k = i; k > 0 && cuts[k - 1] > cuts[k];
				    k--) {
					size_t t = cuts[k];

					cuts[k] = cuts[k - 1];
					cuts[k - 1] = t;
				}
			limit = round % 5 == 0 ? rnd(&seed) % (n + 3) :
			    UINT64_MAX;
			for (c = 0; c < 2; c++)
				check(lv, (enum mailsec_dkim_canon)c, in, n,
				    cuts, nc, limit, "random");
		}
	}
}

/* Base64 decoding (four characters at a step where it can): random data
 * encoded, FWS put in at random places, decoded back; padding rules. */
static void
test_base64_fast(void **state)
{
	unsigned char data[300], out[300];
	char txt[1200];
	struct ms_buf b;
	unsigned seed = 4648;
	size_t n, i, k, o;

	(void)state;
	for (n = 0; n < 200; n++) {
		for (i = 0; i < n; i++)
			data[i] = (unsigned char)rnd(&seed);
		ms_buf_init(&b, 4096);
		assert_int_equal(ms_b64_encode(data, n, &b), MAILSEC_OK);
		for (i = 0, o = 0; i < b.len; i++) {
			k = rnd(&seed) % 16;
			if (k == 0)
				txt[o++] = ' ';
			else if (k == 1) {
				memcpy(txt + o, "\r\n\t", 3);
				o += 3;
			}
			txt[o++] = b.ptr[i];
		}
		ms_buf_free(&b);
		assert_int_equal(ms_b64_decode(txt, o, out, sizeof out), n);
		assert_memory_equal(out, data, n);
		if (n > 0)	/* one byte short of room */
			assert_int_equal(ms_b64_decode(txt, o, out, n - 1),
			    (size_t)-1);
	}
	assert_int_equal(ms_b64_decode("AAAA=AAAA", 9, out, sizeof out),
	    (size_t)-1);
	assert_int_equal(ms_b64_decode("AA==AAAA", 8, out, sizeof out),
	    (size_t)-1);
	assert_int_equal(ms_b64_decode("AAAAAA===", 9, out, sizeof out),
	    (size_t)-1);
	assert_int_equal(ms_b64_decode("AAAA\x80" "AAA", 8, out, sizeof out),
	    (size_t)-1);
	assert_int_equal(ms_b64_decode("QUJD REVG", 9, out, sizeof out), 6);
	assert_memory_equal(out, "ABCDEF", 6);
}

/* A new context takes the best level the CPU has; a level asked for is
 * capped by it and reported, and stays with its context. */
static void
test_levels(void **state)
{
	struct ms_dkim_body b, b2;
	int best;

	(void)state;
	assert_int_equal(ms_dkim_body_init(&b, MAILSEC_DKIM_RELAXED,
	    EVP_sha256(), UINT64_MAX), MAILSEC_OK);
	assert_int_equal(ms_dkim_body_init(&b2, MAILSEC_DKIM_RELAXED,
	    EVP_sha256(), UINT64_MAX), MAILSEC_OK);
	best = b.simd;
	assert_true(best >= MS_SIMD_SCALAR && best <= MS_SIMD_AVX2);
#if defined(__x86_64__)
	assert_true(best >= MS_SIMD_SSE2);
#endif
	assert_int_equal(ms_dkim_body_set_simd(&b, -1), best);
	assert_int_equal(ms_dkim_body_set_simd(&b, 0), MS_SIMD_SCALAR);
	assert_int_equal(b.simd, MS_SIMD_SCALAR);
	assert_int_equal(b2.simd, best);	/* b2 keeps its own */
	assert_int_equal(ms_dkim_body_set_simd(&b, 99), best);
	assert_int_equal(b.simd, best);
	ms_dkim_body_cleanup(&b);
	ms_dkim_body_cleanup(&b2);
}

/* Contexts at different levels fed in turn (as one thread interleaving
 * messages would) each give the reference hash: the level is the
 * context's, not the process's. */
static void
test_contexts_interleaved(void **state)
{
	static char in[2000];
	static char want[2 * sizeof in + 2];
	struct ms_dkim_body b[MS_SIMD_AVX2 + 1];
	unsigned char dw[32], dg[32];
	unsigned seed = 6376, dlen;
	size_t n = sizeof in, wn, i, k;
	int lv, nl = levels();

	(void)state;
	for (i = 0; i < n; i++) {
		unsigned r = rnd(&seed) % 16;

		in[i] = r < 4 ? ' ' : r == 4 ? '\t' : r == 5 ? '\r' :
		    r == 6 ? '\n' : (char)('a' + r);
	}
	in[n - 1] = 'z';
	wn = canon_ref_body(MAILSEC_DKIM_RELAXED, in, n, want);
	assert_int_equal(EVP_Digest(want, wn, dw, NULL, EVP_sha256(), NULL),
	    1);
	for (lv = 0; lv < nl; lv++) {
		assert_int_equal(ms_dkim_body_init(&b[lv],
		    MAILSEC_DKIM_RELAXED, EVP_sha256(), UINT64_MAX),
		    MAILSEC_OK);
		assert_int_equal(ms_dkim_body_set_simd(&b[lv], lv), lv);
	}
	for (i = 0; i < n; i += k) {
		k = n - i < 37 ? n - i : 37;
		for (lv = 0; lv < nl; lv++)
			assert_int_equal(ms_dkim_body_update(&b[lv], in + i,
			    k), MAILSEC_OK);
	}
	for (lv = 0; lv < nl; lv++) {
		assert_int_equal(b[lv].simd, lv);
		assert_int_equal(ms_dkim_body_final(&b[lv], dg, &dlen),
		    MAILSEC_OK);
		assert_int_equal(b[lv].total, wn);
		assert_memory_equal(dg, dw, 32);
		ms_dkim_body_cleanup(&b[lv]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_contexts_interleaved),
		cmocka_unit_test(test_shapes_split),
		cmocka_unit_test(test_random_chunks),
		cmocka_unit_test(test_base64_fast),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
