/*
 * fuzz/fuzz_smtp_reply.c - the SMTP client side fed random bytes:
 *  - the reply reader, once with the whole input and once in
 *    pseudo-random chunk sizes (seeded from the input): the same replies,
 *    the same consumed bytes and the same error at the same offset,
 *    whatever the chunking; every reply within its limits (code 200..599,
 *    1..100 lines, text without NUL/CR, enhanced code well-formed), and
 *    the EHLO parser run over each;
 *  - the dot-stuffer, in random chunks: output equal to the one-chunk
 *    output, within the bound, every line ending in CR LF, no line "."
 *    before the final one and no line starting with a single unstuffed
 *    "."; un-stuffing gives back the input with its line ends made CR LF;
 *  - xtext encoding round-trips through the server's decoder, and MAIL /
 *    RCPT lines built from the input hold exactly one CR LF, at the end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/smtp.h>
#include <mailsec/smtp_client.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/* What one run of the reader saw, for comparing two chunkings. */
struct rrun {
	size_t nreplies;
	uint64_t hash;		/* over codes, enhanced, text, nlines, ends */
	mailsec_err last;	/* EAGAIN or the error that stopped it */
	size_t consumed;
	size_t diag_off, diag_line;
};

static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint64_t
mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

static void
check_enhanced(const char *e, int code)
{
	size_t i = 0, d, part;

	if (e[0] == '\0')
		return;
	CHECK(e[0] == '0' + code / 100 && e[1] == '.');
	i = 2;
	for (part = 0; part < 2; part++) {
		for (d = 0; e[i] >= '0' && e[i] <= '9'; d++)
			i++;
		CHECK(d >= 1 && d <= 3);
		if (part == 0)
			CHECK(e[i++] == '.');
	}
	CHECK(e[i] == '\0');
}

static void
check_reply(const struct mailsec_smtp_creply *r)
{
	struct mailsec_smtp_ehlo eh;
	size_t n, i, lines = 1;

	CHECK(r->code >= 200 && r->code <= 599);
	CHECK(r->nlines >= 1 && r->nlines <= MAILSEC_SMTP_CREPLY_LINES_MAX);
	check_enhanced(r->enhanced, r->code);
	n = strnlen(r->text, sizeof r->text);
	CHECK(n < sizeof r->text);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)r->text[i];

		if (c == '\n')
			lines++;
		else
			CHECK(c >= 0x20 && c <= 0x7e);
	}
	CHECK(r->cut ? lines <= r->nlines : lines == r->nlines);
	mailsec_smtp_ehlo_parse(r, &eh);
	CHECK(r->code == 250 || !eh.pipelining);
}

/* Reads replies from (in, len) in chunks (seed 0: all offered at once)
 * until the input ends or an error stops it. */
static void
run_reader(const char *in, size_t len, uint32_t seed, struct rrun *out)
{
	static struct mailsec_smtp_creader r;
	static struct mailsec_smtp_creply rep;
	struct mailsec_diag diag;
	size_t pos = 0, n, used;
	mailsec_err err = MAILSEC_EAGAIN;
	char *chunk;

	memset(out, 0, sizeof *out);
	memset(&diag, 0, sizeof diag);
	out->hash = 0xcbf29ce484222325ULL;
	mailsec_smtp_creader_init(&r);
	while (pos < len) {
		n = seed != 0 ? rnd(&seed) % 23 + 1 : len - pos;
		if (n > len - pos)
			n = len - pos;
		chunk = malloc(n);	/* exact copy: ASan sees over-reads */
		CHECK(chunk != NULL);
		memcpy(chunk, in + pos, n);
		err = mailsec_smtp_creader_feed(&r, chunk, n, &used, &rep,
		    &diag);
		free(chunk);
		CHECK(used <= n);
		pos += used;
		if (err == MAILSEC_OK) {
			check_reply(&rep);
			out->nreplies++;
			out->hash = mix(out->hash, &rep.code, sizeof rep.code);
			out->hash = mix(out->hash, rep.enhanced,
			    strlen(rep.enhanced) + 1);
			out->hash = mix(out->hash, rep.text,
			    strlen(rep.text) + 1);
			out->hash = mix(out->hash, &rep.nlines,
			    sizeof rep.nlines);
			out->hash = mix(out->hash, &pos, sizeof pos);
			continue;
		}
		if (err == MAILSEC_EAGAIN) {
			CHECK(used == n);
			continue;
		}
		CHECK(err == MAILSEC_ESYNTAX);
		CHECK(diag.set == 1 && diag.text[0] != '\0');
		CHECK(diag.offset <= pos + MAILSEC_SMTP_CREPLY_LINE_MAX);
		CHECK(mailsec_smtp_creader_feed(&r, in, len, &used, &rep,
		    NULL) == MAILSEC_ESTATE && used == 0);
		out->diag_off = diag.offset;
		out->diag_line = diag.line;
		break;
	}
	out->last = err;
	out->consumed = pos;
}

/* The input with every CR LF, bare CR and bare LF made CR LF, a last line
 * without one given one. */
static size_t
normalize(const char *in, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (in[i] == '\r' || in[i] == '\n') {
			if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
				i++;
			out[o++] = '\r';
			out[o++] = '\n';
		} else {
			out[o++] = in[i];
		}
	}
	if (o > 0 && out[o - 1] != '\n') {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	return o;
}

/* Stuffs in, chunked by seed (0: one call); returns the output length. */
static size_t
stuff(const char *in, size_t len, uint32_t seed, char *out)
{
	struct mailsec_smtp_dotstuff d;
	size_t pos = 0, n, o = 0, w;

	mailsec_smtp_dotstuff_init(&d);
	while (pos < len) {
		n = seed != 0 ? rnd(&seed) % 13 + 1 : len - pos;
		if (n > len - pos)
			n = len - pos;
		w = mailsec_smtp_dotstuff(&d, in + pos, n, out + o);
		CHECK(w <= mailsec_smtp_dotstuff_bound(n));
		o += w;
		pos += n;
	}
	w = mailsec_smtp_dotstuff_finish(&d, out + o);
	CHECK(w <= 5);
	o += w;
	CHECK(d.in == len && d.out == o);
	return o;
}

static void
run_dotstuff(const char *in, size_t len, uint32_t seed)
{
	size_t cap = mailsec_smtp_dotstuff_bound(len) + 5;
	char *whole = malloc(cap), *part = malloc(cap), *norm = malloc(cap),
	    *un = malloc(cap);
	size_t wl, pl, nl, ul = 0, i, ls;
	bool last;

	CHECK(whole != NULL && part != NULL && norm != NULL && un != NULL);
	wl = stuff(in, len, 0, whole);
	pl = stuff(in, len, seed, part);
	CHECK(wl == pl && memcmp(whole, part, wl) == 0);
	/* ends in ".\r\n" after a line end (or alone) */
	CHECK(wl >= 3 && memcmp(whole + wl - 3, ".\r\n", 3) == 0);
	CHECK(wl == 3 || (wl >= 5 && whole[wl - 5] == '\r' &&
	    whole[wl - 4] == '\n'));
	/* line by line: CR only before LF, LF only after CR; un-stuff */
	for (ls = 0; ls < wl; ls = i + 2) {
		for (i = ls; i < wl && whole[i] != '\r'; i++)
			CHECK(whole[i] != '\n');
		CHECK(i + 1 < wl && whole[i + 1] == '\n');
		last = i + 2 == wl;
		if (last) {
			CHECK(i - ls == 1 && whole[ls] == '.');
			break;
		}
		if (whole[ls] == '.') {
			/* stuffed: never a single "." line start */
			CHECK(i - ls >= 2 && whole[ls + 1] == '.');
			ls++;
		}
		memcpy(un + ul, whole + ls, i + 2 - ls);
		ul += i + 2 - ls;
	}
	nl = normalize(in, len, norm);
	CHECK(ul == nl && memcmp(un, norm, nl) == 0);
	free(whole);
	free(part);
	free(norm);
	free(un);
}

/* One CR LF in a built command, at its end. */
static void
check_cmd(const char *buf, size_t len)
{
	size_t i;

	CHECK(len >= 2 && strlen(buf) == len);
	CHECK(buf[len - 2] == '\r' && buf[len - 1] == '\n');
	for (i = 0; i + 2 < len; i++)
		CHECK(buf[i] != '\r' && buf[i] != '\n');
}

static void
run_builders(const char *in, size_t len, unsigned flags)
{
	static char buf[MAILSEC_SMTP_CCMD_LINE_MAX + 1];
	char addr[300], enc[1000], dec[400];
	struct mailsec_smtp_ehlo eh;
	struct mailsec_smtp_mailparams mp;
	size_t n = len < sizeof addr - 1 ? len : sizeof addr - 1, el, dl;

	/* xtext: any bytes round-trip */
	CHECK(mailsec_smtp_xtext_encode(in, n, enc, sizeof enc, &el) ==
	    MAILSEC_OK);
	CHECK(mailsec_smtp_xtext_decode(enc, el, dec, sizeof dec, &dl) ==
	    MAILSEC_OK);
	CHECK(dl == n && memcmp(dec, in, n) == 0);

	memcpy(addr, in, n);
	addr[n] = '\0';		/* a C string: up to the first NUL */
	memset(&eh, 0, sizeof eh);
	eh.dsn = flags & 1;
	eh.smtputf8 = flags & 2;
	eh.eightbitmime = flags & 4;
	eh.size = flags & 8;
	memset(&mp, 0, sizeof mp);
	mp.size = flags & 16 ? 12345 : 0;
	mp.envid = strlen(addr) <= 100 ? addr : NULL;
	mp.ret = flags & 32 ? "hdrs" : NULL;
	if (mailsec_smtp_cmd_mail(buf, sizeof buf, &n, addr, &mp, &eh) ==
	    MAILSEC_OK)
		check_cmd(buf, n);
	if (mailsec_smtp_cmd_rcpt(buf, sizeof buf, &n, addr,
	    flags & 64 ? "FAILURE,DELAY" : NULL, addr, &eh) == MAILSEC_OK)
		check_cmd(buf, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rrun a, b;
	const char *in;
	uint32_t seed;
	size_t len;

	if (size < 5)
		return 0;
	seed = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
	    (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
	seed |= 1;
	in = (const char *)data + 5;
	len = size - 5;

	run_reader(in, len, 0, &a);
	run_reader(in, len, seed, &b);
	CHECK(a.nreplies == b.nreplies && a.hash == b.hash);
	CHECK(a.last == b.last && a.consumed == b.consumed);
	CHECK(a.diag_off == b.diag_off && a.diag_line == b.diag_line);

	run_dotstuff(in, len, seed);
	run_builders(in, len, data[4]);
	return 0;
}
