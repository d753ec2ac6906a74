/*
 * tests/unit/mime/test_msg_scan.c - the message model's check that a body
 * is CRLF throughout (lib/mime/msg.c), at each vector level the machine
 * has: compared with a plain byte loop on every alignment, with the CR
 * of a CRLF split across the 16- and 32-byte steps; and through a parse
 * at each level with a bare CR or LF at every body offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailsec/msg.h>

#include "mime/msg_int.h"

static bool
naive(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n'))
			return false;
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return false;
	}
	return true;
}

static unsigned
rnd(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 16;
}

/* Random bodies, mostly CRLF with a few bare CR / LF, every offset. */
static void
test_crlf_only_random(void **state)
{
	static char buf[400];
	unsigned seed = 5322, r;
	size_t n, k, off;
	int lv, round, best = ms_msg_simd_level(-1);

	(void)state;
	for (lv = 0; lv <= best; lv++) {
		assert_int_equal(ms_msg_simd_level(lv), lv);
		for (round = 0; round < 3000; round++) {
			off = rnd(&seed) % 64;
			n = rnd(&seed) % (sizeof buf - 64);
			for (k = 0; k < n; k++) {
				r = rnd(&seed) % 100;
				if (r < 8 && k + 1 < n) {
					buf[off + k++] = '\r';
					buf[off + k] = '\n';
				} else if (r == 8)
					buf[off + k] = '\r';
				else if (r == 9 && round % 2 == 0)
					buf[off + k] = '\n';
				else
					buf[off + k] = (char)('a' + r % 26);
			}
			if (ms_msg_crlf_only(lv, buf + off, n) !=
			    naive(buf + off, n))
				fail_msg("level %d round %d off %zu len %zu: "
				    "differs from the byte loop", lv, round,
				    off, n);
		}
	}
}

/* A CRLF placed at every position of a 100-byte line: the CR at the end
 * of one step, its LF at the start of the next; then the LF alone, the
 * CR alone, and a CR last. */
static void
test_crlf_only_positions(void **state)
{
	char buf[100];
	size_t i;
	int lv, best = ms_msg_simd_level(-1);

	(void)state;
	for (lv = 0; lv <= best; lv++) {
		for (i = 0; i + 1 < sizeof buf; i++) {
			memset(buf, 'x', sizeof buf);
			buf[i] = '\r';
			buf[i + 1] = '\n';
			assert_true(ms_msg_crlf_only(lv, buf, sizeof buf));
			buf[i] = 'x';
			assert_false(ms_msg_crlf_only(lv, buf, sizeof buf));
			buf[i] = '\r';
			buf[i + 1] = 'x';
			assert_false(ms_msg_crlf_only(lv, buf, sizeof buf));
		}
		memset(buf, 'x', sizeof buf);
		buf[sizeof buf - 1] = '\r';
		assert_false(ms_msg_crlf_only(lv, buf, sizeof buf));
		assert_true(ms_msg_crlf_only(lv, buf, 0));
	}
}

/* The parse with a bare LF or CR at each body offset: converted into
 * CRLF (the byte becomes CRLF), or refused at that offset under
 * MAILSEC_MSG_REQUIRE_CRLF; without one, borrowed as it is. */
static void
test_parse_bare(void **state)
{
	static const char head[] = "From: a@example.org\r\n\r\n";
	char in[200], want[200];
	struct mailsec_msg *m;
	struct mailsec_diag diag;
	struct mailsec_str body;
	size_t hl = sizeof head - 1, bl = 90, i, k;
	int lv, bare, best = ms_msg_simd_level(-1);

	(void)state;
	for (lv = 0; lv <= best; lv++) {
		memcpy(in, head, hl);
		for (k = 0; k < bl; k++)
			in[hl + k] = k % 30 == 28 ? '\r' : k % 30 == 29 ?
			    '\n' : 'b';
		assert_int_equal(ms_msg_parse_simd(in, hl + bl, NULL, 0, lv,
		    &m, NULL), MAILSEC_OK);
		assert_false(mailsec_msg_converted(m));
		assert_ptr_equal(mailsec_msg_body(m).ptr, in + hl);
		mailsec_msg_free(m);
		for (i = 0; i < bl; i++) {
			if (in[hl + i] != 'b')
				continue;
			for (bare = 0; bare < 2; bare++) {
				in[hl + i] = bare ? '\r' : '\n';
				assert_int_equal(ms_msg_parse_simd(in, hl + bl,
				    NULL, 0, lv, &m, NULL), MAILSEC_OK);
				assert_true(mailsec_msg_converted(m));
				body = mailsec_msg_body(m);
				memcpy(want, in + hl, i);
				memcpy(want + i, "\r\n", 2);
				memcpy(want + i + 2, in + hl + i + 1,
				    bl - i - 1);
				assert_int_equal(body.len, bl + 1);
				assert_memory_equal(body.ptr, want, bl + 1);
				mailsec_msg_free(m);
				memset(&diag, 0, sizeof diag);
				assert_int_equal(ms_msg_parse_simd(in, hl + bl,
				    NULL, MAILSEC_MSG_REQUIRE_CRLF, lv, &m,
				    &diag), MAILSEC_ESYNTAX);
				assert_int_equal(diag.offset, hl + i);
				in[hl + i] = 'b';
			}
		}
	}
}

/* Levels are capped by the CPU and reported, keeping no state: the
 * public parse (the best level) agrees with a parse at each level. */
static void
test_levels(void **state)
{
	static const char text[] = "From: a@example.org\r\n\r\nline\n"
	    "another line, long enough for a 32-byte step\r\nbare\rend\n";
	struct mailsec_msg *m, *m2;
	struct mailsec_str b, b2;
	int lv, best = ms_msg_simd_level(-1);

	(void)state;
	assert_true(best >= MS_MSG_SIMD_SCALAR && best <= MS_MSG_SIMD_AVX2);
#if defined(__x86_64__)
	assert_true(best >= MS_MSG_SIMD_SSE2);
#endif
	assert_int_equal(ms_msg_simd_level(0), MS_MSG_SIMD_SCALAR);
	assert_int_equal(ms_msg_simd_level(99), best);
	assert_int_equal(ms_msg_simd_level(-1), best);
	assert_int_equal(mailsec_msg_parse(text, sizeof text - 1, NULL, 0,
	    &m, NULL), MAILSEC_OK);
	b = mailsec_msg_body(m);
	for (lv = -1; lv <= best + 1; lv++) {
		assert_int_equal(ms_msg_parse_simd(text, sizeof text - 1, NULL,
		    0, lv, &m2, NULL), MAILSEC_OK);
		b2 = mailsec_msg_body(m2);
		assert_true(mailsec_msg_converted(m2));
		assert_int_equal(b2.len, b.len);
		assert_memory_equal(b2.ptr, b.ptr, b.len);
		mailsec_msg_free(m2);
	}
	mailsec_msg_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crlf_only_random),
		cmocka_unit_test(test_crlf_only_positions),
		cmocka_unit_test(test_parse_bare),
		cmocka_unit_test(test_levels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
