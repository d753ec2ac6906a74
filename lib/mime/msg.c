/*
 * lib/mime/msg.c - the message model: an RFC 5322 message split into
 * header fields (name, raw bytes, unfolded value) and a body.
 *
 * RFC 5322 2.1: the header section is a sequence of lines ended by an
 * empty line; 2.2: a field is a name of printable US-ASCII (33..126)
 * except ':', a colon and a body; 2.2.3: a CRLF followed by WSP is
 * folding, removed when unfolding; 2.3: CR and LF occur only as CRLF;
 * 4.5: obsolete syntax allows WSP between the name and the colon
 * ("From : x" is the field "From").
 *
 * Line endings. The message is kept in CRLF form. Input that is already
 * CRLF is borrowed, never copied. Input with bare LF (a file on disk) is
 * converted into one owned copy; a bare CR (not followed by LF) in the
 * body is treated the same way (RFC 5322 2.3 forbids it; a file may
 * still carry one and CRLF is its only safe meaning as a line break),
 * while a bare CR in the header block is refused: there it could hide
 * a field from one reader and show it to another. MAILSEC_MSG_REQUIRE_CRLF
 * (wire input) refuses every bare LF and bare CR instead.
 *
 * Header bytes. NUL is refused in the header block. Other control bytes
 * in field bodies are kept (obs-utext, RFC 5322 4.1), and so are 8-bit
 * bytes: RFC 6532 3.2 allows UTF-8 in field bodies, and the model does
 * not judge encodings (consumers parsing structured fields do). Field
 * names stay strictly 33..126.
 *
 * Work is linear in the input: one pass over the header block (each line
 * found with memchr inside a window bounded by the header limit), one
 * pass over the body for line endings (a vector check that it is all
 * CRLF, then, only for input that is not, a counting scan), at most one
 * conversion copy, and one copy for the unfolded values of folded
 * fields.
 *
 * Diagnostics give byte offsets into the caller's input (not into the
 * converted copy) and 1-based line numbers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/msg.h>

#include "core/core.h"
#include "mime/msg_int.h"

/* Defaults for struct mailsec_msg_limits (a zero field takes these). */
#define MS_MSG_MAX_FIELDS	1000
#define MS_MSG_MAX_FIELD_LEN	65536
#define MS_MSG_MAX_HEADER_LEN	((size_t)1024 * 1024)

/* A field while parsing: offsets in the CRLF form of the message. */
struct ms_field_pos {
	size_t off;		/* start of the name */
	size_t name_len;	/* name without WSP before the colon */
	size_t val_off;		/* just after the colon */
	size_t len;		/* raw length: folding, final CRLF */
	size_t vs, ve, vlen;	/* value range and unfolded length (set
				   by ms_build_fields) */
	bool folded;
};

struct mailsec_msg {
	const char *data;	/* CRLF form: the input or owned */
	size_t len;
	char *owned;		/* converted copy, NULL when borrowing */
	char *values;		/* unfolded values of folded fields */
	struct mailsec_header *fields;
	size_t nfields;
	size_t header_len;	/* header block, blank line excluded */
	size_t body_off;	/* first body byte (== len when none) */
	bool converted;
};

/* State of the header pass. */
struct ms_hdr_parse {
	const char *p;
	size_t len;
	unsigned flags;
	struct mailsec_msg_limits lim;
	struct ms_field_pos *pos;
	size_t npos;
	size_t cappos;
	size_t hdr_conv;	/* header bytes so far, CRLF form */
	size_t shift;		/* bytes the conversion adds so far */
	size_t body_in;		/* body offset in the input */
	size_t line;		/* line number reached (1-based) */
	bool blank;		/* the blank line was seen */
};

static const char ms_empty[1] = "";

static bool
ms_isftext(int c)
{
	/* RFC 5322 2.2: printable US-ASCII except colon. */
	return c >= 33 && c <= 126 && c != ':';
}

static mailsec_err
ms_hdr_add_field(struct ms_hdr_parse *hp, struct mailsec_diag *diag,
    size_t ls)
{
	struct ms_field_pos *np;
	size_t ncap;

	if (hp->npos >= hp->lim.max_fields)
		return ms_diag(diag, MAILSEC_ELIMIT, ls, hp->line,
		    "line %zu: more than %zu header fields (max_fields)",
		    hp->line, hp->lim.max_fields);
	if (hp->npos == hp->cappos) {
		ncap = hp->cappos ? hp->cappos : 16;
		if (hp->cappos && !ms_size_mul(ncap, 2, &ncap))
			return MAILSEC_ENOMEM;
		if (ncap > hp->lim.max_fields)
			ncap = hp->lim.max_fields;
		np = ms_reallocarray(hp->pos, ncap, sizeof *np);
		if (np == NULL)
			return ms_diag(diag, MAILSEC_ENOMEM, ls, hp->line,
			    "out of memory for %zu header fields", ncap);
		hp->pos = np;
		hp->cappos = ncap;
	}
	hp->npos++;
	return MAILSEC_OK;
}

/*
 * Checks the start of a new field on the line content [ls, ce) and records
 * it. The content has no CR, LF or NUL (checked by the caller).
 */
static mailsec_err
ms_hdr_new_field(struct ms_hdr_parse *hp, struct mailsec_diag *diag,
    size_t ls, size_t ce)
{
	const char *p = hp->p;
	struct ms_field_pos *fp;
	size_t i, name_end;
	mailsec_err err;

	for (i = ls; i < ce && ms_isftext((unsigned char)p[i]); i++)
		;
	name_end = i;
	/* RFC 5322 4.5 obs-optional: field-name *WSP ":" */
	while (i < ce && ms_iswsp((unsigned char)p[i]))
		i++;
	if (i >= ce || p[i] != ':') {
		/* The mbox separator "From user date" may hold colons (in
		 * the time): recognise it before anything else. */
		if (hp->line == 1 && ce - ls >= 5 &&
		    memcmp(p + ls, "From ", 5) == 0)
			return ms_diag(diag, MAILSEC_ESYNTAX, ls, hp->line,
			    "line 1: mbox \"From \" separator line is not "
			    "a header field (strip it before parsing)");
		if (memchr(p + ls, ':', ce - ls) == NULL)
			return ms_diag(diag, MAILSEC_ESYNTAX, ls, hp->line,
			    "line %zu: header field has no colon", hp->line);
		if (i > name_end)
			return ms_diag(diag, MAILSEC_ESYNTAX, name_end,
			    hp->line, "line %zu: white space inside a "
			    "field name (RFC 5322 2.2)", hp->line);
		return ms_diag(diag, MAILSEC_ESYNTAX, i, hp->line,
		    "line %zu: invalid byte 0x%02x in field name "
		    "(RFC 5322 2.2)", hp->line, (unsigned char)p[i]);
	}
	if (name_end == ls)
		return ms_diag(diag, MAILSEC_ESYNTAX, ls, hp->line,
		    "line %zu: empty field name", hp->line);
	if ((err = ms_hdr_add_field(hp, diag, ls)) != MAILSEC_OK)
		return err;
	fp = &hp->pos[hp->npos - 1];
	fp->off = ls + hp->shift;
	fp->name_len = name_end - ls;
	fp->val_off = i + 1 + hp->shift;
	fp->len = 0;
	return MAILSEC_OK;
}

/*
 * One pass over the header block of the input. Records fields in CRLF
 * coordinates, counts the bytes conversion will add, finds the body.
 */
static mailsec_err
ms_hdr_parse(struct ms_hdr_parse *hp, struct mailsec_diag *diag)
{
	const char *p = hp->p;
	const char *nl, *bad;
	size_t pos = 0, ls, ce, next, avail, budget, win, cost, sum;
	bool term, bare_lf;
	mailsec_err err;

	hp->line = 1;
	while (pos < hp->len) {
		ls = pos;
		avail = hp->len - ls;
		/* A line costs its content + CRLF; never look further than
		 * the remaining header budget allows. */
		budget = hp->lim.max_header_len - hp->hdr_conv;
		if (!ms_size_add(budget, 2, &win) || win > avail)
			win = avail;
		nl = memchr(p + ls, '\n', win);
		bare_lf = false;
		if (nl == NULL) {
			if (win < avail)
				return ms_diag(diag, MAILSEC_ELIMIT, ls,
				    hp->line, "line %zu: header block longer "
				    "than %zu bytes (max_header_len)",
				    hp->line, hp->lim.max_header_len);
			ce = next = hp->len;
			term = false;
		} else {
			ce = (size_t)(nl - p);
			next = ce + 1;
			term = true;
			if (ce > ls && p[ce - 1] == '\r')
				ce--;
			else if (hp->flags & MAILSEC_MSG_REQUIRE_CRLF)
				return ms_diag(diag, MAILSEC_ESYNTAX, ce,
				    hp->line, "bare LF at offset %zu "
				    "(line %zu): CRLF required", ce,
				    hp->line);
			else
				bare_lf = true;
		}
		if (ce == ls && term) {
			/* RFC 5322 2.1: the empty line ends the header. */
			hp->blank = true;
			hp->body_in = next;
			if (bare_lf)
				hp->shift++;
			return MAILSEC_OK;
		}
		if ((bad = memchr(p + ls, '\0', ce - ls)) != NULL)
			return ms_diag(diag, MAILSEC_ESYNTAX,
			    (size_t)(bad - p), hp->line,
			    "line %zu: NUL byte in header", hp->line);
		if ((bad = memchr(p + ls, '\r', ce - ls)) != NULL)
			return ms_diag(diag, MAILSEC_ESYNTAX,
			    (size_t)(bad - p), hp->line,
			    "line %zu: bare CR in header at offset %zu "
			    "(RFC 5322 2.2: CR only before LF)", hp->line,
			    (size_t)(bad - p));
		cost = ce - ls + (term ? 2 : 0);
		if (!ms_size_add(hp->hdr_conv, cost, &sum) ||
		    sum > hp->lim.max_header_len)
			return ms_diag(diag, MAILSEC_ELIMIT, ls, hp->line,
			    "line %zu: header block longer than %zu bytes "
			    "(max_header_len)", hp->line,
			    hp->lim.max_header_len);
		if (ms_iswsp((unsigned char)p[ls])) {
			/* RFC 5322 2.2.3: a folded continuation. */
			if (hp->npos == 0)
				return ms_diag(diag, MAILSEC_ESYNTAX, ls,
				    hp->line, "line %zu: continuation line "
				    "before the first header field",
				    hp->line);
		} else if ((err = ms_hdr_new_field(hp, diag, ls, ce)) !=
		    MAILSEC_OK)
			return err;
		hp->pos[hp->npos - 1].len += cost;
		if (hp->pos[hp->npos - 1].len > hp->lim.max_field_len)
			return ms_diag(diag, MAILSEC_ELIMIT, ls, hp->line,
			    "line %zu: header field longer than %zu bytes "
			    "(max_field_len)", hp->line,
			    hp->lim.max_field_len);
		hp->hdr_conv = sum;
		if (bare_lf)
			hp->shift++;
		hp->line++;
		pos = next;
	}
	/* No blank line: all header, empty body (RFC 5322 2.1 "optionally"). */
	hp->body_in = hp->len;
	return MAILSEC_OK;
}

/*
 * Is p[0, n) CRLF form throughout: every CR followed by LF, every LF
 * after a CR? The common case (wire input, files already in CRLF) is
 * answered by this check at memchr-class speed; only input that fails
 * it goes through the counting scan below. Compares the LF positions
 * with the CR positions shifted by one, 16 or 32 bytes a step, the CR
 * of a block's last byte carried into the next.
 */
typedef bool crlf_only_fn(const char *, size_t);

static bool
crlf_only_scalar(const char *p, size_t n, bool cr)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((p[i] == '\n') != cr)
			return false;
		cr = p[i] == '\r';
	}
	return !cr;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MS_MSG_X86 1
#include <immintrin.h>

static bool
crlf_only_sse2(const char *p, size_t n)
{
	const __m128i vc = _mm_set1_epi8('\r'), vl = _mm_set1_epi8('\n');
	size_t i = 0;
	uint32_t carry = 0, cr, lf;

	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)
		    (p + i));

		cr = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vc));
		lf = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vl));
		if (lf != (((cr << 1) | carry) & 0xffffu))
			return false;
		carry = cr >> 15;
	}
	return crlf_only_scalar(p + i, n - i, carry != 0);
}

__attribute__((target("avx2"))) static bool
crlf_only_avx2(const char *p, size_t n)
{
	const __m256i vc = _mm256_set1_epi8('\r'), vl = _mm256_set1_epi8('\n');
	size_t i = 0;
	uint64_t carry = 0, cr, lf;

	for (; i + 32 <= n; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)
		    (p + i));

		cr = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, vc));
		lf = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, vl));
		if (lf != (((cr << 1) | carry) & 0xffffffffu))
			return false;
		carry = cr >> 31;
	}
	return crlf_only_scalar(p + i, n - i, carry != 0);
}
#endif

static bool
crlf_only_plain(const char *p, size_t n)
{
	return crlf_only_scalar(p, n, false);
}

int
ms_msg_simd_level(int level)
{
	int best = MS_MSG_SIMD_SCALAR;

#ifdef MS_MSG_X86
	best = __builtin_cpu_supports("avx2") ? MS_MSG_SIMD_AVX2 :
	    MS_MSG_SIMD_SSE2;
#endif
	if (level < 0 || level > best)
		level = best;
	return level;
}

/* The check of a level (as ms_msg_simd_level() caps it), chosen once a
 * message. */
static crlf_only_fn *
crlf_checker(int level)
{
	level = ms_msg_simd_level(level);
#ifdef MS_MSG_X86
	if (level == MS_MSG_SIMD_AVX2)
		return crlf_only_avx2;
	if (level == MS_MSG_SIMD_SSE2)
		return crlf_only_sse2;
#endif
	return crlf_only_plain;
}

bool
ms_msg_crlf_only(int level, const char *p, size_t n)
{
	return crlf_checker(level)(p, n);
}

/*
 * Counts the bare LF and bare CR of the body [from, len), each of which
 * the conversion turns into CRLF, or refuses the first under
 * REQUIRE_CRLF.
 */
static mailsec_err
ms_body_scan(crlf_only_fn *crlf_only, const char *p, size_t from, size_t len,
    size_t line, unsigned flags, size_t *extra, struct mailsec_diag *diag)
{
	size_t i, n = 0;

	if (crlf_only(p + from, len - from)) {
		*extra = 0;
		return MAILSEC_OK;
	}
	for (i = from; i < len; i++) {
		if (p[i] == '\r') {
			if (i + 1 < len && p[i + 1] == '\n') {
				i++;
				line++;
				continue;
			}
			if (flags & MAILSEC_MSG_REQUIRE_CRLF)
				return ms_diag(diag, MAILSEC_ESYNTAX, i, line,
				    "bare CR at offset %zu (line %zu): CRLF "
				    "required", i, line);
			n++;
			line++;
		} else if (p[i] == '\n') {
			if (flags & MAILSEC_MSG_REQUIRE_CRLF)
				return ms_diag(diag, MAILSEC_ESYNTAX, i, line,
				    "bare LF at offset %zu (line %zu): CRLF "
				    "required", i, line);
			n++;
			line++;
		}
	}
	*extra = n;
	return MAILSEC_OK;
}

/* Writes p in CRLF form into out (exactly outlen bytes, precomputed). */
static void
ms_to_crlf(const char *p, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			i++;
		} else if (p[i] == '\r' || p[i] == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
		} else
			out[o++] = p[i];
	}
}

/*
 * The value of field fp: after the colon, final CRLF dropped, unfolded
 * and WSP-trimmed. Inside raw every CRLF is followed by WSP (continuation
 * lines start with WSP), so trimming WSP, CR and LF at both edges and
 * then removing the inner CRLFs equals "unfold, then trim".
 * Sets [*vs, *ve) to the trimmed range and returns its unfolded length.
 */
static size_t
ms_value_range(const char *d, const struct ms_field_pos *fp, size_t *vs,
    size_t *ve, bool *folded)
{
	size_t s = fp->val_off, e = fp->off + fp->len, n, i;
	const char *cr;

	if (e - s >= 2 && d[e - 2] == '\r' && d[e - 1] == '\n')
		e -= 2;
	while (s < e && (ms_iswsp((unsigned char)d[s]) || d[s] == '\r' ||
	    d[s] == '\n'))
		s++;
	while (e > s && (ms_iswsp((unsigned char)d[e - 1]) ||
	    d[e - 1] == '\r' || d[e - 1] == '\n'))
		e--;
	*vs = s;
	*ve = e;
	*folded = memchr(d + s, '\r', e - s) != NULL;
	if (!*folded)
		return e - s;
	n = e - s;
	for (i = s; (cr = memchr(d + i, '\r', e - i)) != NULL; ) {
		i = (size_t)(cr - d) + 1;
		if (i < e && d[i] == '\n')
			n -= 2;
	}
	return n;
}

/* Builds msg->fields (and the unfolded copies) from the positions. */
static mailsec_err
ms_build_fields(struct mailsec_msg *m, struct ms_field_pos *pos, size_t npos)
{
	const char *d = m->data;
	struct mailsec_header *h;
	size_t i, j, vs, ve, total = 0, n, o = 0;
	bool folded;

	for (i = 0; i < npos; i++) {
		pos[i].vlen = ms_value_range(d, &pos[i], &pos[i].vs,
		    &pos[i].ve, &pos[i].folded);
		if (pos[i].folded && !ms_size_add(total, pos[i].vlen, &total))
			return MAILSEC_ELIMIT;
	}
	if (total > 0 && (m->values = malloc(total)) == NULL)
		return MAILSEC_ENOMEM;
	if (npos > 0 &&
	    (m->fields = ms_calloc(npos, sizeof *m->fields)) == NULL)
		return MAILSEC_ENOMEM;
	for (i = 0; i < npos; i++) {
		h = &m->fields[i];
		h->name.ptr = d + pos[i].off;
		h->name.len = pos[i].name_len;
		h->raw.ptr = d + pos[i].off;
		h->raw.len = pos[i].len;
		n = pos[i].vlen;
		vs = pos[i].vs;
		ve = pos[i].ve;
		folded = pos[i].folded;
		if (!folded) {
			h->value.ptr = d + vs;
			h->value.len = n;
			continue;
		}
		h->value.ptr = m->values + o;
		h->value.len = n;
		/* The runs between the CRLFs, each copied at once. */
		for (j = vs; j < ve; ) {
			const char *cr = memchr(d + j, '\r', ve - j);
			size_t k = cr != NULL ? (size_t)(cr - d) : ve;

			memcpy(m->values + o, d + j, k - j);
			o += k - j;
			j = k;
			if (j + 1 < ve && d[j + 1] == '\n')
				j += 2;			/* a CRLF goes */
			else if (j < ve)
				m->values[o++] = d[j++];	/* a lone CR stays */
		}
	}
	m->nfields = npos;
	return MAILSEC_OK;
}

mailsec_err
mailsec_msg_parse(const char *p, size_t len,
    const struct mailsec_msg_limits *lim, unsigned flags,
    struct mailsec_msg **out, struct mailsec_diag *diag)
{
	return ms_msg_parse_simd(p, len, lim, flags, -1, out, diag);
}

mailsec_err
ms_msg_parse_simd(const char *p, size_t len,
    const struct mailsec_msg_limits *lim, unsigned flags, int level,
    struct mailsec_msg **out, struct mailsec_diag *diag)
{
	struct ms_hdr_parse hp;
	struct mailsec_msg *m = NULL;
	size_t extra = 0, total, conv_len;
	mailsec_err err;

	memset(&hp, 0, sizeof hp);
	if (out == NULL || (p == NULL && len > 0)) {
		err = ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "mailsec_msg_parse: NULL argument");
		goto done;
	}
	if (p == NULL)
		p = ms_empty;
	hp.p = p;
	hp.len = len;
	hp.flags = flags;
	if (lim != NULL)
		hp.lim = *lim;
	if (hp.lim.max_fields == 0)
		hp.lim.max_fields = MS_MSG_MAX_FIELDS;
	if (hp.lim.max_field_len == 0)
		hp.lim.max_field_len = MS_MSG_MAX_FIELD_LEN;
	if (hp.lim.max_header_len == 0)
		hp.lim.max_header_len = MS_MSG_MAX_HEADER_LEN;

	if ((err = ms_hdr_parse(&hp, diag)) != MAILSEC_OK)
		goto done;
	if ((err = ms_body_scan(crlf_checker(level), p, hp.body_in, len,
	    hp.line + (hp.blank ? 1 : 0), flags, &extra, diag)) !=
	    MAILSEC_OK)
		goto done;
	if (!ms_size_add(hp.shift, extra, &total) ||
	    !ms_size_add(len, total, &conv_len)) {
		err = ms_diag(diag, MAILSEC_ELIMIT, 0, 0,
		    "message of %zu bytes too large to convert to CRLF", len);
		goto done;
	}

	if ((m = calloc(1, sizeof *m)) == NULL) {
		err = ms_diag(diag, MAILSEC_ENOMEM, 0, 0, "out of memory");
		goto done;
	}
	if (total > 0) {
		if ((m->owned = malloc(conv_len)) == NULL) {
			err = ms_diag(diag, MAILSEC_ENOMEM, 0, 0,
			    "out of memory converting %zu bytes to CRLF",
			    len);
			goto done;
		}
		ms_to_crlf(p, len, m->owned);
		m->data = m->owned;
		m->converted = true;
	} else
		m->data = p;
	m->len = conv_len;
	m->header_len = hp.hdr_conv;
	m->body_off = hp.blank ? hp.hdr_conv + 2 : conv_len;
	if ((err = ms_build_fields(m, hp.pos, hp.npos)) != MAILSEC_OK) {
		err = ms_diag(diag, err, 0, 0, "cannot allocate %zu fields "
		    "and their unfolded values", hp.npos);
		goto done;
	}
	*out = m;
	m = NULL;
done:
	mailsec_msg_free(m);
	free(hp.pos);
	return err;
}

void
mailsec_msg_free(struct mailsec_msg *msg)
{
	if (msg == NULL)
		return;
	free(msg->fields);
	free(msg->values);
	free(msg->owned);
	free(msg);
}

size_t
mailsec_msg_field_count(const struct mailsec_msg *msg)
{
	return msg != NULL ? msg->nfields : 0;
}

const struct mailsec_header *
mailsec_msg_field(const struct mailsec_msg *msg, size_t i)
{
	if (msg == NULL || i >= msg->nfields)
		return NULL;
	return &msg->fields[i];
}

size_t
mailsec_msg_find(const struct mailsec_msg *msg, const char *name,
    size_t start)
{
	size_t i, nlen;

	if (msg == NULL || name == NULL)
		return (size_t)-1;
	nlen = strlen(name);
	for (i = start; i < msg->nfields; i++)
		if (ms_ascii_eq(msg->fields[i].name.ptr,
		    msg->fields[i].name.len, name, nlen))
			return i;
	return (size_t)-1;
}

size_t
mailsec_msg_count(const struct mailsec_msg *msg, const char *name)
{
	size_t i, n = 0;

	for (i = mailsec_msg_find(msg, name, 0); i != (size_t)-1;
	    i = mailsec_msg_find(msg, name, i + 1))
		n++;
	return n;
}

struct mailsec_str
mailsec_msg_data(const struct mailsec_msg *msg)
{
	struct mailsec_str s = { ms_empty, 0 };

	if (msg != NULL) {
		s.ptr = msg->data;
		s.len = msg->len;
	}
	return s;
}

struct mailsec_str
mailsec_msg_header_block(const struct mailsec_msg *msg)
{
	struct mailsec_str s = { ms_empty, 0 };

	if (msg != NULL) {
		s.ptr = msg->data;
		s.len = msg->header_len;
	}
	return s;
}

struct mailsec_str
mailsec_msg_body(const struct mailsec_msg *msg)
{
	struct mailsec_str s = { ms_empty, 0 };

	if (msg != NULL) {
		s.ptr = msg->data + msg->body_off;
		s.len = msg->len - msg->body_off;
	}
	return s;
}

bool
mailsec_msg_converted(const struct mailsec_msg *msg)
{
	return msg != NULL && msg->converted;
}
