/*
 * lib/dkim/canon.c - DKIM canonicalization (RFC 6376 3.4): header fields
 * (simple 3.4.1, relaxed 3.4.2) and a streaming body canonicalizer and
 * hasher (simple 3.4.3, relaxed 3.4.4, l= 3.4.5), plus base64.
 */
#include <string.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

#include "dkim/dkim_int.h"

mailsec_err
ms_dkim_canon_header(enum mailsec_dkim_canon c, const char *raw, size_t len,
    struct ms_buf *out)
{
	size_t i, colon, end;
	bool wsp = false, any = false;
	mailsec_err err;

	if (c == MAILSEC_DKIM_SIMPLE) {
		if ((err = ms_buf_append(out, raw, len)) != MAILSEC_OK)
			return err;
		if (len < 2 || raw[len - 2] != '\r' || raw[len - 1] != '\n')
			return ms_buf_append(out, "\r\n", 2);
		return MAILSEC_OK;
	}
	colon = 0;
	while (colon < len && raw[colon] != ':')
		colon++;
	/* Name: lower case, WSP before the colon dropped. */
	end = colon;
	while (end > 0 && ms_iswsp((unsigned char)raw[end - 1]))
		end--;
	if ((err = ms_buf_append(out, raw, end)) != MAILSEC_OK)
		return err;
	for (i = out->len - end; i < out->len; i++)
		out->ptr[i] = (char)ms_tolower((unsigned char)out->ptr[i]);
	if ((err = ms_buf_appendc(out, ':')) != MAILSEC_OK)
		return err;
	/* Value: unfold, WSP runs to one SP, none at either end. Appends
	 * runs of ordinary bytes at once. */
	i = colon + 1;
	while (i < len) {
		size_t j;

		if (raw[i] == '\r' || raw[i] == '\n' ||
		    ms_iswsp((unsigned char)raw[i])) {
			wsp = wsp || raw[i] == ' ' || raw[i] == '\t';
			i++;
			continue;
		}
		if (wsp && any)
			if ((err = ms_buf_appendc(out, ' ')) != MAILSEC_OK)
				return err;
		wsp = false;
		any = true;
		j = i + 1;
		while (j < len && raw[j] != '\r' && raw[j] != '\n' &&
		    !ms_iswsp((unsigned char)raw[j]))
			j++;
		if ((err = ms_buf_append(out, raw + i, j - i)) != MAILSEC_OK)
			return err;
		i = j;
	}
	return ms_buf_append(out, "\r\n", 2);
}

/* ---- body -------------------------------------------------------------- */

/* Hashes canonical bytes, stopping at l= (3.4.5). */
static mailsec_err
hash_out(struct ms_dkim_body *b, const void *p, size_t n)
{
	if (b->hashed >= b->limit || n == 0)
		return MAILSEC_OK;
	if ((uint64_t)n > b->limit - b->hashed)
		n = (size_t)(b->limit - b->hashed);
	b->hashed += n;
	if (EVP_DigestUpdate(b->md, p, n) != 1)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
}

static mailsec_err
body_flush(struct ms_dkim_body *b)
{
	mailsec_err err;

	err = hash_out(b, b->stage, b->nstage);
	b->nstage = 0;
	return err;
}

/* Emits canonical bytes: small pieces through the staging buffer, large
 * ones straight to the hash. */
static mailsec_err
body_emit(struct ms_dkim_body *b, const char *p, size_t n)
{
	size_t k;
	mailsec_err err;

	b->total += n;
	b->any = true;
	if (n >= sizeof b->stage / 2) {
		if ((err = body_flush(b)) != MAILSEC_OK)
			return err;
		return hash_out(b, p, n);
	}
	while (n > 0) {
		if (b->nstage == sizeof b->stage &&
		    (err = body_flush(b)) != MAILSEC_OK)
			return err;
		k = sizeof b->stage - b->nstage;
		if (k > n)
			k = n;
		memcpy(b->stage + b->nstage, p, k);
		b->nstage += k;
		p += k;
		n -= k;
	}
	return MAILSEC_OK;
}

static mailsec_err
body_flush_crlfs(struct ms_dkim_body *b)
{
	mailsec_err err;

	while (b->crlfs > 0) {
		if ((err = body_emit(b, "\r\n", 2)) != MAILSEC_OK)
			return err;
		b->crlfs--;
	}
	return MAILSEC_OK;
}

mailsec_err
ms_dkim_body_init(struct ms_dkim_body *b, enum mailsec_dkim_canon c,
    const EVP_MD *md, uint64_t limit)
{
	memset(b, 0, offsetof(struct ms_dkim_body, stage));
	b->canon = c;
	b->limit = limit;
	ms_dkim_body_set_simd(b, -1);
	b->md = EVP_MD_CTX_new();
	if (b->md == NULL)
		return MAILSEC_ENOMEM;
	if (EVP_DigestInit_ex(b->md, md, NULL) != 1) {
		EVP_MD_CTX_free(b->md);
		b->md = NULL;
		return MAILSEC_ENOMEM;
	}
	return MAILSEC_OK;
}

void
ms_dkim_body_cleanup(struct ms_dkim_body *b)
{
	EVP_MD_CTX_free(b->md);
	b->md = NULL;
}

/* Content follows: deferred empty lines and a pending WSP run were not
 * at the end. */
static mailsec_err
body_resume(struct ms_dkim_body *b)
{
	mailsec_err err;

	if (b->crlfs > 0 && (err = body_flush_crlfs(b)) != MAILSEC_OK)
		return err;
	if (b->wsp) {
		b->wsp = false;
		if ((err = body_emit(b, " ", 1)) != MAILSEC_OK)
			return err;
	}
	b->in_line = true;
	return MAILSEC_OK;
}

/* One content byte run: bytes that are neither CR, LF nor (relaxed) WSP. */
static mailsec_err
body_content(struct ms_dkim_body *b, const char *p, size_t n)
{
	mailsec_err err;

	if ((err = body_resume(b)) != MAILSEC_OK)
		return err;
	return body_emit(b, p, n);
}

/*
 * Simple (3.4.3) changes nothing but the CRLFs at the very end, so a
 * chunk is emitted as it is except for its trailing CRLFs, which are
 * deferred (they may be the body's last empty lines).
 */
static mailsec_err
body_update_simple(struct ms_dkim_body *b, const char *p, size_t len)
{
	size_t k, t = 0;
	mailsec_err err;

	if (len == 0)
		return MAILSEC_OK;
	if (b->cr) {
		b->cr = false;
		if (p[0] == '\n') {
			b->crlfs++;
			p++;
			len--;
		} else if ((err = body_content(b, "\r", 1)) != MAILSEC_OK) {
			return err;
		}
	}
	k = len;
	if (k > 0 && p[k - 1] == '\r') {
		b->cr = true;
		k--;
	}
	while (k >= 2 && p[k - 2] == '\r' && p[k - 1] == '\n') {
		t++;
		k -= 2;
	}
	if (k > 0) {
		if ((err = body_content(b, p, k)) != MAILSEC_OK)
			return err;
		b->crlfs = t;
	} else {
		b->crlfs += t;
	}
	return MAILSEC_OK;
}

/*
 * Relaxed (3.4.4), byte by byte: the state machine for what the fast
 * path leaves to it (the bytes at either end of a chunk that are line
 * ends or WSP, and a CR pending from the previous chunk).
 */
static mailsec_err
relaxed_slow(struct ms_dkim_body *b, const char *p, size_t len)
{
	size_t i = 0, j;
	mailsec_err err;

	while (i < len) {
		unsigned char c = (unsigned char)p[i];

		if (b->cr) {
			b->cr = false;
			if (c == '\n') {
				/* End of line: its CRLF is deferred, so
				 * trailing empty lines can be dropped. */
				b->crlfs++;
				b->wsp = false;
				b->in_line = false;
				i++;
				continue;
			}
			/* A CR that is not a line end is content. */
			if ((err = body_content(b, "\r", 1)) != MAILSEC_OK)
				return err;
		}
		if (c == '\r') {
			b->cr = true;
			i++;
			continue;
		}
		if (ms_iswsp(c)) {
			b->wsp = true;
			i++;
			continue;
		}
		j = i + 1;
		while (j < len && p[j] != '\r' && !ms_iswsp((unsigned char)p[j]))
			j++;
		if ((err = body_content(b, p + i, j - i)) != MAILSEC_OK)
			return err;
		i = j;
	}
	return MAILSEC_OK;
}

/*
 * The relaxed fast path works on a span that ends with a byte that is
 * neither WSP, CR nor LF, so every WSP run and every CRLF inside it is
 * followed by more of the span: empty lines inside it are not trailing,
 * and a WSP run's fate is known in the span (dropped before CRLF, else
 * one SP). The span is copied to the output as it is, except at the
 * runs that change: an HTAB, or a SP before SP, HTAB or CR. The copy
 * and the search for those bytes are one pass (16 or 32 bytes a step).
 *
 * Each copier canonicalizes p[i] for i < lim (lim <= n) into out, which
 * has room for lim bytes (the output is never longer than the input).
 * A run that starts before lim is taken whole, so *used may pass lim.
 * Returns the bytes written.
 */

/* A WSP run at p[i] that changes: one SP, or nothing before CRLF. */
static inline size_t
wsp_run(const char *p, size_t i, char *out, size_t *o)
{
	size_t j = i;

	while (p[j] == ' ' || p[j] == '\t')
		j++;		/* stops inside the span: p[n - 1] is not WSP */
	if (!(p[j] == '\r' && p[j + 1] == '\n'))
		out[(*o)++] = ' ';
	return j;
}

/* One byte (or a WSP run that changes) of the scalar path. */
static inline size_t
copy_step(const char *p, size_t i, char *out, size_t *o)
{
	if (p[i] == '\t' || (p[i] == ' ' && (p[i + 1] == ' ' ||
	    p[i + 1] == '\t' || p[i + 1] == '\r')))
		return wsp_run(p, i, out, o);
	out[(*o)++] = p[i++];
	return i;
}

static size_t
relaxed_copy_scalar(const char *p, size_t n, size_t lim, char *out,
    size_t *used)
{
	size_t i = 0, o = 0;

	(void)n;	/* the span's end bounds the runs (see above) */
	while (i < lim)
		i = copy_step(p, i, out, &o);
	*used = i;
	return o;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MS_CANON_X86 1

/* After a vector of width bytes at p[i] was copied to out[*o]: m has a
 * bit for each byte where a WSP run that changes starts; moves past the
 * bytes before the first one, then through its run. */
static inline size_t
vector_step(const char *p, size_t i, size_t width, unsigned m, char *out,
    size_t *o)
{
	if (m == 0) {
		*o += width;
		return i + width;
	}
	*o += (size_t)__builtin_ctz(m);
	return wsp_run(p, i + (size_t)__builtin_ctz(m), out, o);
}

/* The bytes where a WSP run that changes starts (an HTAB, or a SP before
 * SP, HTAB or CR), one bit each, of the 16 bytes at p, which are copied
 * to out. */
static inline unsigned
mask_sse2(const char *p, char *out)
{
	const __m128i vs = _mm_set1_epi8(' '), vt = _mm_set1_epi8('\t'),
	    vc = _mm_set1_epi8('\r');
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i w = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));

	_mm_storeu_si128((__m128i *)(void *)out, v);
	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, vt),
	    _mm_and_si128(_mm_cmpeq_epi8(v, vs), _mm_or_si128(_mm_or_si128(
	    _mm_cmpeq_epi8(w, vs), _mm_cmpeq_epi8(w, vt)),
	    _mm_cmpeq_epi8(w, vc)))));
}

/* The same for 32 bytes. */
__attribute__((target("avx2"))) static inline unsigned
mask_avx2(const char *p, char *out)
{
	const __m256i vs = _mm256_set1_epi8(' '), vt = _mm256_set1_epi8('\t'),
	    vc = _mm256_set1_epi8('\r');
	__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
	__m256i w = _mm256_loadu_si256((const __m256i *)(const void *)(p + 1));

	_mm256_storeu_si256((__m256i *)(void *)out, v);
	return (unsigned)_mm256_movemask_epi8(_mm256_or_si256(
	    _mm256_cmpeq_epi8(v, vt), _mm256_and_si256(_mm256_cmpeq_epi8(v, vs),
	    _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(w, vs),
	    _mm256_cmpeq_epi8(w, vt)), _mm256_cmpeq_epi8(w, vc)))));
}

/* The vector copier: width bytes a step (mask: mask_sse2 or mask_avx2),
 * byte by byte near the end. Inlined into each copier, so the mask
 * function is a direct call compiled for its instruction set. */
static inline __attribute__((always_inline)) size_t
relaxed_copy_vec(const char *p, size_t n, size_t lim, char *out,
    size_t *used, size_t width, unsigned (*mask)(const char *, char *))
{
	size_t i = 0, o = 0;

	while (i < lim) {
		if (i + width <= lim && i + width + 1 <= n)
			i = vector_step(p, i, width, mask(p + i, out + o), out,
			    &o);
		else
			i = copy_step(p, i, out, &o);
	}
	*used = i;
	return o;
}

static size_t
relaxed_copy_sse2(const char *p, size_t n, size_t lim, char *out,
    size_t *used)
{
	return relaxed_copy_vec(p, n, lim, out, used, 16, mask_sse2);
}

__attribute__((target("avx2"))) static size_t
relaxed_copy_avx2(const char *p, size_t n, size_t lim, char *out,
    size_t *used)
{
	return relaxed_copy_vec(p, n, lim, out, used, 32, mask_avx2);
}
#endif

/* The best vector level this CPU has. */
static int
simd_best(void)
{
#ifdef MS_CANON_X86
	return __builtin_cpu_supports("avx2") ? MS_SIMD_AVX2 : MS_SIMD_SSE2;
#else
	return MS_SIMD_SCALAR;
#endif
}

int
ms_dkim_body_set_simd(struct ms_dkim_body *b, int level)
{
	int best = simd_best();

	if (level < 0 || level > best)
		level = best;
	b->simd = level;
	b->copy = relaxed_copy_scalar;
#ifdef MS_CANON_X86
	if (level == MS_SIMD_AVX2)
		b->copy = relaxed_copy_avx2;
	else if (level == MS_SIMD_SSE2)
		b->copy = relaxed_copy_sse2;
#endif
	return level;
}

/* The fast path over a span (n > 0) that ends with a content byte. */
static mailsec_err
relaxed_fast(struct ms_dkim_body *b, const char *p, size_t n)
{
	ms_dkim_relaxed_copy_fn *copy = b->copy;
	size_t i = 0, room, lim, used, w;
	mailsec_err err;

	if ((err = body_resume(b)) != MAILSEC_OK)
		return err;
	b->any = true;
	while (i < n) {
		room = sizeof b->stage - b->nstage;
		if (room < 64) {
			if ((err = body_flush(b)) != MAILSEC_OK)
				return err;
			room = sizeof b->stage;
		}
		lim = n - i < room ? n - i : room;
		w = copy(p + i, n - i, lim, (char *)b->stage + b->nstage,
		    &used);
		b->nstage += w;
		b->total += w;
		i += used;
	}
	return MAILSEC_OK;
}

static inline bool
ws_or_eol(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static mailsec_err
body_update_relaxed(struct ms_dkim_body *b, const char *p, size_t len)
{
	size_t t = len, i = 0, k;
	mailsec_err err;

	/* The chunk's tail of WSP and line ends goes to the state machine
	 * (it may be trailing); so do its leading ones. */
	while (t > 0 && ws_or_eol((unsigned char)p[t - 1]))
		t--;
	for (;;) {
		k = i;
		while (k < t && ws_or_eol((unsigned char)p[k]))
			k++;
		if (k > i && (err = relaxed_slow(b, p + i, k - i)) !=
		    MAILSEC_OK)
			return err;
		i = k;
		if (i >= t || !b->cr)
			break;
		/* A CR before content: the machine emits it as content. */
		if ((err = relaxed_slow(b, p + i, 1)) != MAILSEC_OK)
			return err;
		i++;
	}
	if (i < t && (err = relaxed_fast(b, p + i, t - i)) != MAILSEC_OK)
		return err;
	if (t < len)
		return relaxed_slow(b, p + t, len - t);
	return MAILSEC_OK;
}

mailsec_err
ms_dkim_body_update(struct ms_dkim_body *b, const char *p, size_t len)
{
	if (b->canon == MAILSEC_DKIM_SIMPLE)
		return body_update_simple(b, p, len);
	return body_update_relaxed(b, p, len);
}

mailsec_err
ms_dkim_body_final(struct ms_dkim_body *b, unsigned char *dig,
    unsigned *diglen)
{
	mailsec_err err;

	if (b->cr) {
		b->cr = false;
		if ((err = body_content(b, "\r", 1)) != MAILSEC_OK)
			return err;
	}
	if (b->canon == MAILSEC_DKIM_SIMPLE) {
		/* 3.4.3: trailing empty lines go; an empty body is one
		 * CRLF; a last line without CRLF gets one. */
		if ((err = body_emit(b, "\r\n", 2)) != MAILSEC_OK)
			return err;
	} else if (b->in_line || (b->crlfs > 0 && b->any)) {
		/* 3.4.4: a non-empty body ends in exactly one CRLF; an
		 * empty one (or only empty lines) stays empty. */
		if ((err = body_emit(b, "\r\n", 2)) != MAILSEC_OK)
			return err;
	}
	b->crlfs = 0;
	if ((err = body_flush(b)) != MAILSEC_OK)
		return err;
	if (EVP_DigestFinal_ex(b->md, dig, diglen) != 1)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
}

/* ---- base64 ------------------------------------------------------------ */

mailsec_err
ms_b64_encode(const unsigned char *p, size_t len, struct ms_buf *out)
{
	/* Whole groups of three bytes per chunk: its base64 has no '='. */
	char q[4 * 64 + 1];
	size_t i, n, k;
	mailsec_err err;

	for (i = 0; i < len; i += n) {
		n = len - i < 3 * 64 ? len - i : 3 * 64;
		if ((err = ms_base64_encode(p + i, n, q, sizeof q, &k)) !=
		    MAILSEC_OK ||
		    (err = ms_buf_append(out, q, k)) != MAILSEC_OK)
			return err;
	}
	if (out->ptr == NULL)	/* nothing appended: make it "" */
		return ms_buf_append(out, "", 0);
	return MAILSEC_OK;
}
