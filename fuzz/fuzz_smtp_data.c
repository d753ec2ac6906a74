/*
 * fuzz/fuzz_smtp_data.c - the DATA and BDAT decoders fed the input in
 * pseudo-random chunk sizes (seeded from the input), against a simple
 * reference: DATA ends exactly at the first CRLF "." CRLF (the CRLF of
 * the DATA command counting as the first), never elsewhere; the output is
 * never longer than the input; bare CR/LF findings, sizes and (for
 * accepted messages) the unstuffed bytes match the reference whatever the
 * chunking.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/smtp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

#define BARE (MAILSEC_SMTP_DATA_BARE_LF | MAILSEC_SMTP_DATA_BARE_CR)

struct out {
	char *p;
	size_t len, cap;
};

static mailsec_err
sink(void *arg, const char *p, size_t n)
{
	struct out *o = arg;

	CHECK(n > 0);
	CHECK(o->len + n <= o->cap);
	memcpy(o->p + o->len, p, n);
	o->len += n;
	return MAILSEC_OK;
}

static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Offset just past the end marker, or 0 when there is none. */
static size_t
ref_end(const char *s, size_t n)
{
	size_t p;

	for (p = 0; p + 3 <= n; p++)
		if (s[p] == '.' && s[p + 1] == '\r' && s[p + 2] == '\n' &&
		    (p == 0 || (p >= 2 && s[p - 2] == '\r' &&
		    s[p - 1] == '\n')))
			return p + 3;
	return 0;
}

/* Bare CR or LF in s[0..n); a CR as the last byte counts only if final. */
static bool
ref_bare(const char *s, size_t n, bool final)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			return true;
		if (s[i] == '\r' && ((i + 1 < n && s[i + 1] != '\n') ||
		    (i + 1 == n && final)))
			return true;
	}
	return false;
}

/* Dot-unstuffing of the message part s[0..n) (n ends before "."CRLF). */
static size_t
ref_unstuff(const char *s, size_t n, char *out)
{
	size_t i, o = 0;
	bool bol = true;

	for (i = 0; i < n; i++) {
		if (bol && s[i] == '.') {
			bol = false;
			continue;
		}
		bol = s[i] == '\n' && i > 0 && s[i - 1] == '\r';
		out[o++] = s[i];
	}
	return o;
}

static void
run_data(const char *in, size_t len, uint32_t seed, uint64_t size_max,
    char *obuf, char *rbuf)
{
	struct mailsec_smtp_data_opts opts = { 0 };
	struct mailsec_smtp_data d;
	struct mailsec_smtp_reply r;
	struct out o = { obuf, 0, len };
	size_t pos = 0, used, n, end, rlen;
	char *chunk;

	opts.mode = MAILSEC_SMTP_MODE_DATA;
	opts.size_max = size_max;
	opts.sink = sink;
	opts.sink_arg = &o;
	mailsec_smtp_data_init(&d, &opts);
	while (pos < len && !d.done) {
		n = seed != 0 ? rnd(&seed) % 17 : len;
		if (n > len - pos)
			n = len - pos;
		chunk = malloc(n + 1);	/* exact copy: ASan sees over-reads */
		if (chunk == NULL)
			abort();
		memcpy(chunk, in + pos, n);
		CHECK(mailsec_smtp_data_feed(&d, chunk, n, &used) ==
		    MAILSEC_OK);
		free(chunk);
		CHECK(used <= n);
		CHECK(d.done || used == n);
		pos += used;
	}
	CHECK(d.wire == pos);
	CHECK(o.len <= pos);
	end = ref_end(in, len);
	if (end > 0) {
		/* ended exactly at the first CRLF.CRLF */
		CHECK(d.done && pos == end);
		CHECK(d.size <= end - 3);
		CHECK(((d.flags & BARE) != 0) == ref_bare(in, end - 3, true));
		CHECK(mailsec_smtp_data_verdict(&d, &r) ==
		    ((d.flags & (BARE | MAILSEC_SMTP_DATA_TOO_BIG)) == 0));
		if ((d.flags & (BARE | MAILSEC_SMTP_DATA_TOO_BIG)) == 0) {
			rlen = ref_unstuff(in, end - 3, rbuf);
			CHECK(rlen == o.len && rlen == d.size);
			CHECK(memcmp(rbuf, obuf, rlen) == 0);
		} else {
			CHECK(r.code == 554 || r.code == 552);
		}
		if (size_max > 0)
			CHECK(((d.flags & MAILSEC_SMTP_DATA_TOO_BIG) != 0) ==
			    (d.size > size_max));
	} else {
		CHECK(!d.done && pos == len);
		CHECK(((d.flags & BARE) != 0) == ref_bare(in, len, false));
	}
}

static void
run_bdat(const char *in, size_t len, uint32_t seed, bool binary,
    char *obuf)
{
	struct mailsec_smtp_data_opts opts = { 0 };
	struct mailsec_smtp_data d;
	struct mailsec_smtp_reply r;
	struct out o = { obuf, 0, len };
	size_t pos = 0, clen, cpos, n, used;
	bool last;

	opts.mode = binary ? MAILSEC_SMTP_MODE_BDAT_BINARY :
	    MAILSEC_SMTP_MODE_BDAT;
	opts.sink = sink;
	opts.sink_arg = &o;
	mailsec_smtp_data_init(&d, &opts);
	do {
		clen = rnd(&seed) % 40;
		if (clen > len - pos)
			clen = len - pos;
		last = pos + clen == len;
		CHECK(mailsec_smtp_bdat_chunk(&d, clen, last) == MAILSEC_OK);
		if (clen > 0 || last)
			CHECK(mailsec_smtp_bdat_chunk(&d, 1, false) ==
			    MAILSEC_ESTATE);
		cpos = 0;
		while (cpos < clen) {
			n = rnd(&seed) % 9 + 1;
			if (rnd(&seed) & 1)	/* offer more than the chunk */
				n = len - pos - cpos;
			if (n > len - pos - cpos)
				n = len - pos - cpos;
			CHECK(mailsec_smtp_data_feed(&d, in + pos + cpos, n,
			    &used) == MAILSEC_OK);
			CHECK(used == (n < clen - cpos ? n : clen - cpos));
			cpos += used;
		}
		CHECK(d.chunk_left == 0 && d.done == last);
		pos += clen;
	} while (!last);
	CHECK(d.done && d.wire == len && d.size == len);
	CHECK(((d.flags & BARE) != 0) == (!binary && ref_bare(in, len, true)));
	CHECK(mailsec_smtp_data_verdict(&d, &r) == ((d.flags & BARE) == 0 ||
	    binary));
	if (binary || (d.flags & BARE) == 0) {
		CHECK(o.len == len);
		CHECK(memcmp(obuf, in, len) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed;
	const char *in;
	size_t len;
	char *obuf, *rbuf;
	uint64_t size_max;

	if (size < 5)
		return 0;
	seed = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
	    (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
	seed |= 1;
	size_max = data[4] & 0x80 ? data[4] & 0x7f : 0;
	in = (const char *)data + 5;
	len = size - 5;
	obuf = malloc(len + 1);
	rbuf = malloc(len + 1);
	if (obuf == NULL || rbuf == NULL)
		goto out;
	run_data(in, len, 0, size_max, obuf, rbuf);	/* one chunk */
	run_data(in, len, seed, size_max, obuf, rbuf);	/* random chunks */
	if (len > 0) {
		run_bdat(in, len, seed, false, obuf);
		run_bdat(in, len, seed ^ 0x5a5a5a5a, true, obuf);
	}
out:
	free(obuf);
	free(rbuf);
	return 0;
}
