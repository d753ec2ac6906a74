/*
 * tests/unit/smtp/test_smtp_data.c - the DATA decoder (RFC 5321 4.1.1.4,
 * 4.5.2) and BDAT chunks (RFC 3030): end of data only at CRLF "." CRLF,
 * every published SMTP smuggling end-of-data variant refused at every
 * split point, dot-unstuffing, limits and findings.
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

#define OUT_MAX 4096

struct run {
	char out[OUT_MAX];
	size_t outlen;
	size_t consumed;	/* stream bytes taken */
	bool done;
	unsigned flags;
	uint64_t size;
	uint64_t bad_offset;
	size_t sink_calls;
	size_t fail_after;	/* sink fails after this many calls; 0 never */
};

static mailsec_err
sink(void *arg, const char *p, size_t n)
{
	struct run *r = arg;

	r->sink_calls++;
	if (r->fail_after > 0 && r->sink_calls > r->fail_after)
		return MAILSEC_EIO;
	assert_true(n > 0);
	assert_true(r->outlen + n <= sizeof r->out);
	memcpy(r->out + r->outlen, p, n);
	r->outlen += n;
	return MAILSEC_OK;
}

/*
 * Feeds in[0..len) in chunks ending at cuts[] (increasing offsets), each
 * chunk from a fresh heap copy so ASan sees any read past it.
 */
static void
run_data(const char *in, size_t len, const size_t *cuts, size_t ncuts,
    const struct mailsec_smtp_data_opts *o, struct run *r, size_t fail_after)
{
	struct mailsec_smtp_data_opts opts;
	struct mailsec_smtp_data d;
	size_t start = 0, k, end, used;
	char *chunk;

	memset(r, 0, sizeof *r);
	r->fail_after = fail_after;
	if (o != NULL)
		opts = *o;
	else
		memset(&opts, 0, sizeof opts);
	opts.mode = MAILSEC_SMTP_MODE_DATA;
	opts.sink = sink;
	opts.sink_arg = r;
	mailsec_smtp_data_init(&d, &opts);
	for (k = 0; k <= ncuts && !d.done; k++) {
		end = k < ncuts ? cuts[k] : len;
		if (end < start)
			continue;
		chunk = malloc(end - start + 1);
		assert_non_null(chunk);
		memcpy(chunk, in + start, end - start);
		assert_int_equal(mailsec_smtp_data_feed(&d, chunk, end - start,
		    &used), MAILSEC_OK);
		free(chunk);
		assert_true(used <= end - start);
		if (!d.done)
			assert_int_equal(used, end - start);
		r->consumed += used;
		start = end;
	}
	r->done = d.done;
	r->flags = d.flags;
	r->size = d.size;
	r->bad_offset = d.bad_offset;
	assert_int_equal(d.wire, r->consumed);
	assert_true(r->outlen <= r->consumed);
	if (d.done)
		assert_int_equal(mailsec_smtp_data_feed(&d, "x", 1, &used),
		    MAILSEC_ESTATE);
}

/* The result must not depend on where the stream was cut. */
static void
same_run(const struct run *a, const struct run *b)
{
	/* Once refused, how much reached the sink depends on the cuts. */
	if (!(a->flags & (MAILSEC_SMTP_DATA_BARE_LF |
	    MAILSEC_SMTP_DATA_BARE_CR | MAILSEC_SMTP_DATA_TOO_BIG))) {
		assert_int_equal(a->outlen, b->outlen);
		assert_memory_equal(a->out, b->out, a->outlen);
	}
	assert_int_equal(a->consumed, b->consumed);
	assert_int_equal(a->done, b->done);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->size, b->size);
	if (a->flags & (MAILSEC_SMTP_DATA_BARE_LF | MAILSEC_SMTP_DATA_BARE_CR))
		assert_int_equal(a->bad_offset, b->bad_offset);
}

/* Whole, every two-chunk split, every three-chunk split (small inputs),
 * and byte by byte: all must agree; returns the whole-input run. */
static void
run_all_splits(const char *in, size_t len,
    const struct mailsec_smtp_data_opts *o, struct run *whole)
{
	static struct run r;
	size_t cuts[2], i, j, *bytes;

	run_data(in, len, NULL, 0, o, whole, 0);
	for (i = 0; i <= len; i++) {
		cuts[0] = i;
		run_data(in, len, cuts, 1, o, &r, 0);
		same_run(whole, &r);
	}
	if (len <= 96) {
		for (i = 0; i <= len; i++) {
			for (j = i; j <= len; j++) {
				cuts[0] = i;
				cuts[1] = j;
				run_data(in, len, cuts, 2, o, &r, 0);
				same_run(whole, &r);
			}
		}
	}
	bytes = calloc(len + 1, sizeof *bytes);
	assert_non_null(bytes);
	for (i = 0; i < len; i++)
		bytes[i] = i + 1;
	run_data(in, len, bytes, len, o, &r, 0);
	same_run(whole, &r);
	free(bytes);
}

#define LIT(s) s, sizeof(s) - 1

static bool
contains(const char *p, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;

	for (i = 0; i + k <= n; i++)
		if (memcmp(p + i, needle, k) == 0)
			return true;
	return false;
}

static void
test_data_plain(void **state)
{
	static struct run r;
	static const char in[] = "Subject: hi\r\n\r\nHello\r\n.\r\n";

	(void)state;
	run_all_splits(LIT(in), NULL, &r);
	assert_true(r.done);
	assert_int_equal(r.consumed, sizeof in - 1);
	assert_int_equal(r.outlen, sizeof in - 1 - 3);
	assert_memory_equal(r.out, "Subject: hi\r\n\r\nHello\r\n", r.outlen);
	assert_int_equal(r.flags, 0);
	assert_int_equal(r.size, r.outlen);
}

static void
test_data_empty_message(void **state)
{
	static struct run r;

	(void)state;
	run_all_splits(LIT(".\r\n"), NULL, &r);
	assert_true(r.done);
	assert_int_equal(r.outlen, 0);
	assert_int_equal(r.consumed, 3);
	assert_int_equal(r.flags, 0);
}

static void
test_data_dot_unstuffing(void **state)
{
	static struct run r;
	static const char in[] =
	    "..leading\r\n..\r\n...\r\nmid.dot\r\n. space\r\n.\r\n";
	static const char want[] =
	    ".leading\r\n.\r\n..\r\nmid.dot\r\n space\r\n";

	(void)state;
	run_all_splits(LIT(in), NULL, &r);
	assert_true(r.done);
	assert_int_equal(r.outlen, sizeof want - 1);
	assert_memory_equal(r.out, want, r.outlen);
	assert_int_equal(r.flags, 0);
	assert_int_equal(r.consumed, sizeof in - 1);
}

static void
test_data_pipelined_commands_left(void **state)
{
	static struct run r;
	static const char in[] = "a\r\n.\r\nMAIL FROM:<x@example.org>\r\n";

	(void)state;
	run_all_splits(LIT(in), NULL, &r);
	assert_true(r.done);
	assert_int_equal(r.consumed, 6);
	assert_int_equal(r.outlen, 3);
	assert_memory_equal(r.out, "a\r\n", 3);
}

/*
 * SMTP smuggling: end-of-data sequences other servers (or older versions
 * of them) accepted. None may end the message; the smuggled commands
 * after them stay message content, and only the final CRLF.CRLF ends it.
 */
static const struct smuggle {
	const char *name;
	const char *seq;
	size_t len;
	bool bare;		/* holds a bare CR or LF: message refused */
} smuggles[] = {
#define SM(n, s, b) { n, s, sizeof(s) - 1, b }
	SM("LF.LF", "\n.\n", true),
	SM("LF.CRLF", "\n.\r\n", true),
	SM("LF.CR", "\n.\r", true),
	SM("CR.CR", "\r.\r", true),
	SM("CR.LF", "\r.\n", true),
	SM("CR.CRLF", "\r.\r\n", true),
	SM("CRLF.LF", "\r\n.\n", true),
	SM("CRLF.CR", "\r\n.\r", true),
	SM("CRLF.CRCRLF", "\r\n.\r\r\n", true),
	SM("CRLF.LFCRLF", "\r\n.\n\r\n", true),
	SM("CRLFCR.CRLF", "\r\n\r.\r\n", true),
	SM("LFLF.LFLF", "\n\n.\n\n", true),
	SM("CRLF.CRCR", "\r\n.\r\r", true),
	SM("CRCR.CRCR", "\r\r.\r\r", true),
	SM("LFCR.LFCR", "\n\r.\n\r", true),
	SM("CRLF NUL.CRLF", "\r\n\0.\r\n", false),
	SM("CRLF.NUL CRLF", "\r\n.\0\r\n", false),
	SM("CRLF SP.CRLF", "\r\n .\r\n", false),
	SM("CRLF..CRLF", "\r\n..\r\n", false),
#undef SM
};

static void
test_data_smuggling_variants(void **state)
{
	static const char head[] = "From: a@example.org\r\n\r\nbody";
	static const char smuggled[] =
	    "MAIL FROM:<evil@example.net>\r\nRCPT TO:<victim@example.org>\r\n"
	    "DATA\r\nFrom: ceo@example.org\r\n\r\nsmuggled\r\n";
	static const char tail[] = "\r\n.\r\n";
	static char in[512];
	static struct run r;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof smuggles / sizeof smuggles[0]; i++) {
		const struct smuggle *sm = &smuggles[i];

		n = 0;
		memcpy(in + n, head, sizeof head - 1);
		n += sizeof head - 1;
		memcpy(in + n, sm->seq, sm->len);
		n += sm->len;
		memcpy(in + n, smuggled, sizeof smuggled - 1);
		n += sizeof smuggled - 1;
		memcpy(in + n, tail, sizeof tail - 1);
		n += sizeof tail - 1;
		print_message("variant %s\n", sm->name);
		run_all_splits(in, n, NULL, &r);
		/* Only the real end, at the very end, ends the data. */
		assert_true(r.done);
		assert_int_equal(r.consumed, n);
		if (sm->bare) {
			struct mailsec_smtp_data d;
			struct mailsec_smtp_reply rep;
			size_t used;

			assert_true(r.flags & (MAILSEC_SMTP_DATA_BARE_LF |
			    MAILSEC_SMTP_DATA_BARE_CR));
			/* the first bad byte sits in the variant */
			assert_true(r.bad_offset >= sizeof head - 1);
			assert_true(r.bad_offset < sizeof head - 1 + sm->len);
			mailsec_smtp_data_init(&d, NULL);
			assert_int_equal(mailsec_smtp_data_feed(&d, in, n,
			    &used), MAILSEC_OK);
			assert_int_equal(used, n);
			assert_false(mailsec_smtp_data_verdict(&d, &rep));
			assert_int_equal(rep.code, 554);
			assert_string_equal(rep.status, "5.6.0");
		} else {
			assert_false(r.flags & (MAILSEC_SMTP_DATA_BARE_LF |
			    MAILSEC_SMTP_DATA_BARE_CR));
			/* the smuggled text stayed message content */
			assert_true(contains(r.out, r.outlen, "MAIL FROM:"));
		}
	}
}

/* The same variants as the very first bytes of the data (the CRLF of the
 * DATA command counts as the first CRLF of CRLF.CRLF). */
static void
test_data_smuggling_at_start(void **state)
{
	static char in[64];
	static struct run r;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof smuggles / sizeof smuggles[0]; i++) {
		const struct smuggle *sm = &smuggles[i];

		memcpy(in, sm->seq, sm->len);
		memcpy(in + sm->len, "x\r\n.\r\n", 6);
		n = sm->len + 6;
		print_message("variant %s at start\n", sm->name);
		run_all_splits(in, n, NULL, &r);
		assert_true(r.done);
		assert_int_equal(r.consumed, n);
	}
	/* ".\n" and ".\r" at the start end nothing either. */
	run_all_splits(LIT(".\n.\r.\r\r\n.\r\n"), NULL, &r);
	assert_true(r.done);
	assert_int_equal(r.consumed, 11);
	assert_true(r.flags & MAILSEC_SMTP_DATA_BARE_LF);
	assert_true(r.flags & MAILSEC_SMTP_DATA_BARE_CR);
}

/* A bare CR right before a real CRLF.CRLF: the end is real, the message
 * is refused. */
static void
test_data_bare_cr_before_real_end(void **state)
{
	static struct run r;

	(void)state;
	run_all_splits(LIT("abc\r\r\n.\r\nQUIT\r\n"), NULL, &r);
	assert_true(r.done);
	assert_int_equal(r.consumed, 9);
	assert_int_equal(r.flags, MAILSEC_SMTP_DATA_BARE_CR);
	assert_int_equal(r.bad_offset, 3);
	/* refused: nothing after the bare CR reached the sink */
	assert_true(r.outlen <= 4);
}

static void
test_data_bare_lf_offset(void **state)
{
	static struct run r;

	(void)state;
	run_all_splits(LIT("line one\r\nline\ntwo\r\n.\r\n"), NULL, &r);
	assert_true(r.done);
	assert_int_equal(r.flags, MAILSEC_SMTP_DATA_BARE_LF);
	assert_int_equal(r.bad_offset, 14);
}

static void
test_data_size_limit(void **state)
{
	struct mailsec_smtp_data_opts o = { .size_max = 10 };
	struct mailsec_smtp_data d;
	struct mailsec_smtp_reply rep;
	static struct run r;
	size_t used;

	(void)state;
	/* 12 message bytes: over 10, drained to the end anyway */
	run_all_splits(LIT("0123456789\r\n.\r\nRSET\r\n"), &o, &r);
	assert_true(r.done);
	assert_int_equal(r.consumed, 15);
	assert_true(r.flags & MAILSEC_SMTP_DATA_TOO_BIG);
	assert_int_equal(r.size, 12);
	assert_true(r.outlen <= 10);
	o.mode = MAILSEC_SMTP_MODE_DATA;
	mailsec_smtp_data_init(&d, &o);
	assert_int_equal(mailsec_smtp_data_feed(&d, LIT("0123456789\r\n.\r\n"),
	    &used), MAILSEC_OK);
	assert_false(mailsec_smtp_data_verdict(&d, &rep));
	assert_int_equal(rep.code, 552);
	assert_string_equal(rep.status, "5.3.4");
	/* exactly at the limit is fine */
	run_all_splits(LIT("01234567\r\n.\r\n"), &o, &r);
	assert_int_equal(r.flags, 0);
	assert_int_equal(r.outlen, 10);
}

static void
test_data_line_length(void **state)
{
	struct mailsec_smtp_data_opts o = { .line_max = 10 };
	struct mailsec_smtp_data d;
	struct mailsec_smtp_reply rep;
	static struct run r;
	size_t used;

	(void)state;
	/* 8 + CRLF = 10: fine; a stuffed dot does not count */
	run_all_splits(LIT("12345678\r\n..2345678\r\n.\r\n"), &o, &r);
	assert_int_equal(r.flags, 0);
	run_all_splits(LIT("123456789\r\n.\r\n"), &o, &r);
	assert_int_equal(r.flags, MAILSEC_SMTP_DATA_LONG_LINE);
	/* reported, not fatal */
	mailsec_smtp_data_init(&d, &o);
	assert_int_equal(mailsec_smtp_data_feed(&d, LIT("123456789\r\n.\r\n"),
	    &used), MAILSEC_OK);
	assert_true(d.done);
	assert_int_equal(d.longest_line, 9);
	assert_true(mailsec_smtp_data_verdict(&d, &rep));
	/* default: RFC 5321 1000 with CRLF */
	mailsec_smtp_data_init(&d, NULL);
	assert_int_equal(d.opts.line_max, MAILSEC_SMTP_TEXT_LINE_MAX);
}

static void
test_data_8bit_and_nul(void **state)
{
	static struct run r;

	(void)state;
	run_all_splits(LIT("caf\xc3\xa9\r\n.\r\n"), NULL, &r);
	assert_int_equal(r.flags, MAILSEC_SMTP_DATA_8BIT);
	assert_int_equal(r.outlen, 7);
	run_all_splits(LIT("a\0b\r\n.\r\n"), NULL, &r);
	assert_int_equal(r.flags, MAILSEC_SMTP_DATA_NUL);
	assert_int_equal(r.outlen, 5);
	assert_memory_equal(r.out, "a\0b\r\n", 5);
}

static void
test_data_sink_error(void **state)
{
	static struct run r;
	static const char in[] = "..a\r\n..b\r\n..c\r\n.\r\n";
	struct mailsec_smtp_data_opts opts = { 0 };
	struct mailsec_smtp_data d;
	struct mailsec_smtp_reply rep;
	size_t used;

	(void)state;
	memset(&r, 0, sizeof r);
	r.fail_after = 1;
	opts.sink = sink;
	opts.sink_arg = &r;
	mailsec_smtp_data_init(&d, &opts);
	assert_int_equal(mailsec_smtp_data_feed(&d, LIT(in), &used),
	    MAILSEC_OK);
	assert_true(d.done);
	assert_int_equal(used, sizeof in - 1);
	assert_int_equal(r.sink_calls, 2);	/* no call after the failure */
	assert_true(d.flags & MAILSEC_SMTP_DATA_SINK_ERR);
	assert_int_equal(d.sink_err, MAILSEC_EIO);
	assert_false(mailsec_smtp_data_verdict(&d, &rep));
	assert_int_equal(rep.code, 451);
}

static void
test_data_no_sink_and_args(void **state)
{
	struct mailsec_smtp_data d;
	size_t used;

	(void)state;
	mailsec_smtp_data_init(&d, NULL);
	assert_int_equal(mailsec_smtp_data_feed(&d, NULL, 0, &used),
	    MAILSEC_OK);
	assert_int_equal(used, 0);
	assert_int_equal(mailsec_smtp_data_feed(&d, NULL, 3, &used),
	    MAILSEC_EINVAL);
	assert_int_equal(mailsec_smtp_data_feed(&d, LIT("x\r\n.\r\n"), &used),
	    MAILSEC_OK);
	assert_true(d.done);
	assert_int_equal(d.size, 3);
	assert_int_equal(mailsec_smtp_bdat_chunk(&d, 3, true), MAILSEC_ESTATE);
}

/* ---- BDAT -------------------------------------------------------------- */

struct chunk {
	const char *p;
	size_t len;
	bool last;
};

/* Runs chunks, each fed in two pieces split at cut (clamped). */
static void
run_bdat(enum mailsec_smtp_data_mode mode, const struct chunk *c, size_t n,
    size_t cut, uint64_t size_max, struct run *r)
{
	struct mailsec_smtp_data_opts opts = { 0 };
	struct mailsec_smtp_data d;
	size_t i, used, a;
	char *buf;

	memset(r, 0, sizeof *r);
	opts.mode = mode;
	opts.size_max = size_max;
	opts.sink = sink;
	opts.sink_arg = r;
	mailsec_smtp_data_init(&d, &opts);
	for (i = 0; i < n; i++) {
		assert_int_equal(mailsec_smtp_bdat_chunk(&d, c[i].len,
		    c[i].last), MAILSEC_OK);
		/* the next command line is read with the chunk */
		buf = malloc(c[i].len + 6);
		assert_non_null(buf);
		memcpy(buf, c[i].p, c[i].len);
		memcpy(buf + c[i].len, "RSET\r\n", 6);
		a = cut < c[i].len ? cut : c[i].len;
		if (a > 0) {
			assert_int_equal(mailsec_smtp_data_feed(&d, buf, a,
			    &used), MAILSEC_OK);
			assert_int_equal(used, a);
			r->consumed += used;
		}
		if (a < c[i].len) {
			assert_int_equal(mailsec_smtp_data_feed(&d, buf + a,
			    c[i].len + 6 - a, &used), MAILSEC_OK);
			assert_int_equal(used, c[i].len - a);
			r->consumed += used;
		}
		free(buf);
		assert_int_equal(d.chunk_left, 0);
		assert_int_equal(d.done, c[i].last);
	}
	r->done = d.done;
	r->flags = d.flags;
	r->size = d.size;
	r->bad_offset = d.bad_offset;
	assert_int_equal(d.chunks, n);
}

static void
test_bdat_chunks(void **state)
{
	static const struct chunk c[] = {
		{ "Subject: x\r\n\r\nHello\r", 20, false },
		{ "\n.World\r\n", 9, false },
		{ "", 0, true },
	};
	static struct run r, r2;
	size_t cut;

	(void)state;
	run_bdat(MAILSEC_SMTP_MODE_BDAT, c, 3, 0, 0, &r);
	assert_true(r.done);
	assert_int_equal(r.flags, 0);
	assert_int_equal(r.consumed, 29);
	/* no dot-unstuffing in BDAT */
	assert_int_equal(r.outlen, 29);
	assert_memory_equal(r.out, "Subject: x\r\n\r\nHello\r\n.World\r\n", 29);
	for (cut = 0; cut <= 21; cut++) {
		run_bdat(MAILSEC_SMTP_MODE_BDAT, c, 3, cut, 0, &r2);
		same_run(&r, &r2);
	}
}

static void
test_bdat_bare_across_chunks(void **state)
{
	static const struct chunk cr[] = {
		{ "abc\r", 4, false },
		{ "def\r\n", 5, true },
	};
	static const struct chunk lf[] = {
		{ "abc\r\n", 5, false },
		{ "\ndef\r\n", 6, true },
	};
	static const struct chunk endcr[] = {
		{ "abc\r\n", 5, false },
		{ "x\r", 2, false },
		{ "", 0, true },
	};
	static struct run r;
	size_t cut;

	(void)state;
	for (cut = 0; cut <= 6; cut++) {
		run_bdat(MAILSEC_SMTP_MODE_BDAT, cr, 2, cut, 0, &r);
		assert_int_equal(r.flags, MAILSEC_SMTP_DATA_BARE_CR);
		assert_int_equal(r.bad_offset, 3);
		run_bdat(MAILSEC_SMTP_MODE_BDAT, lf, 2, cut, 0, &r);
		assert_int_equal(r.flags, MAILSEC_SMTP_DATA_BARE_LF);
		assert_int_equal(r.bad_offset, 5);
		run_bdat(MAILSEC_SMTP_MODE_BDAT, endcr, 3, cut, 0, &r);
		assert_int_equal(r.flags, MAILSEC_SMTP_DATA_BARE_CR |
		    MAILSEC_SMTP_DATA_NO_FINAL_CRLF);
		assert_int_equal(r.bad_offset, 6);
		/* BINARYMIME: data, not errors */
		run_bdat(MAILSEC_SMTP_MODE_BDAT_BINARY, cr, 2, cut, 0, &r);
		assert_int_equal(r.flags, 0);
		assert_int_equal(r.outlen, 9);
		run_bdat(MAILSEC_SMTP_MODE_BDAT_BINARY, endcr, 3, cut, 0, &r);
		assert_int_equal(r.flags, MAILSEC_SMTP_DATA_NO_FINAL_CRLF);
	}
}

static void
test_bdat_smuggling_is_content(void **state)
{
	static const struct chunk c[] = {
		{ "a\r\n.\r\nMAIL FROM:<x@y>\r\n", 23, true },
	};
	static struct run r;

	(void)state;
	run_bdat(MAILSEC_SMTP_MODE_BDAT, c, 1, 3, 0, &r);
	assert_true(r.done);
	assert_int_equal(r.flags, 0);
	assert_int_equal(r.outlen, 23);
	assert_memory_equal(r.out, c[0].p, 23);
}

static void
test_bdat_state_and_size(void **state)
{
	static const struct chunk c[] = {
		{ "0123456789", 10, false },
		{ "0123456789\r\n", 12, true },
	};
	struct mailsec_smtp_data_opts o = { .mode = MAILSEC_SMTP_MODE_BDAT };
	struct mailsec_smtp_data d;
	struct mailsec_smtp_reply rep;
	static struct run r;
	size_t used;

	(void)state;
	run_bdat(MAILSEC_SMTP_MODE_BDAT, c, 2, 4, 15, &r);
	assert_true(r.done);
	assert_true(r.flags & MAILSEC_SMTP_DATA_TOO_BIG);
	assert_int_equal(r.size, 22);
	/* nothing past the limit reached the sink */
	assert_true(r.outlen >= 10 && r.outlen <= 15);

	mailsec_smtp_data_init(&d, &o);
	/* no chunk open */
	assert_int_equal(mailsec_smtp_data_feed(&d, "x", 1, &used),
	    MAILSEC_ESTATE);
	assert_int_equal(mailsec_smtp_bdat_chunk(&d, 5, false), MAILSEC_OK);
	assert_int_equal(mailsec_smtp_bdat_chunk(&d, 5, false),
	    MAILSEC_ESTATE);
	assert_int_equal(mailsec_smtp_data_feed(&d, LIT("abc\r\nBDAT 0 LAST"),
	    &used), MAILSEC_OK);
	assert_int_equal(used, 5);
	assert_false(d.done);
	assert_int_equal(mailsec_smtp_bdat_chunk(&d, 0, true), MAILSEC_OK);
	assert_true(d.done);
	assert_true(mailsec_smtp_data_verdict(&d, &rep));
	assert_int_equal(mailsec_smtp_bdat_chunk(&d, 1, false),
	    MAILSEC_ESTATE);
	assert_int_equal(mailsec_smtp_data_feed(&d, "x", 1, &used),
	    MAILSEC_ESTATE);
	/* DATA mode has no chunks */
	mailsec_smtp_data_init(&d, NULL);
	assert_int_equal(mailsec_smtp_bdat_chunk(&d, 1, false),
	    MAILSEC_ESTATE);
	/* an empty message by BDAT 0 LAST */
	mailsec_smtp_data_init(&d, &o);
	assert_int_equal(mailsec_smtp_bdat_chunk(&d, 0, true), MAILSEC_OK);
	assert_true(d.done);
	assert_int_equal(d.size, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_plain),
		cmocka_unit_test(test_data_empty_message),
		cmocka_unit_test(test_data_dot_unstuffing),
		cmocka_unit_test(test_data_pipelined_commands_left),
		cmocka_unit_test(test_data_smuggling_variants),
		cmocka_unit_test(test_data_smuggling_at_start),
		cmocka_unit_test(test_data_bare_cr_before_real_end),
		cmocka_unit_test(test_data_bare_lf_offset),
		cmocka_unit_test(test_data_size_limit),
		cmocka_unit_test(test_data_line_length),
		cmocka_unit_test(test_data_8bit_and_nul),
		cmocka_unit_test(test_data_sink_error),
		cmocka_unit_test(test_data_no_sink_and_args),
		cmocka_unit_test(test_bdat_chunks),
		cmocka_unit_test(test_bdat_bare_across_chunks),
		cmocka_unit_test(test_bdat_smuggling_is_content),
		cmocka_unit_test(test_bdat_state_and_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
