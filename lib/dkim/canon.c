/*
 * lib/dkim/canon.c - DKIM canonicalization (RFC 6376 3.4): header fields
 * (simple 3.4.1, relaxed 3.4.2) and a streaming body canonicalizer and
 * hasher (simple 3.4.3, relaxed 3.4.4, l= 3.4.5), plus base64.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
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
	for (i = 0; i < end; i++)
		if ((err = ms_buf_appendc(out,
		    (char)ms_tolower((unsigned char)raw[i]))) != MAILSEC_OK)
			return err;
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

static mailsec_err
body_flush(struct ms_dkim_body *b)
{
	if (b->nstage > 0 &&
	    EVP_DigestUpdate(b->md, b->stage, b->nstage) != 1)
		return MAILSEC_ENOMEM;
	b->nstage = 0;
	return MAILSEC_OK;
}

/* Emits canonical bytes, honouring l=. */
static mailsec_err
body_emit(struct ms_dkim_body *b, const char *p, size_t n)
{
	size_t k;
	mailsec_err err;

	b->total += n;
	b->any = true;
	if (b->hashed >= b->limit)
		return MAILSEC_OK;
	if ((uint64_t)n > b->limit - b->hashed)
		n = (size_t)(b->limit - b->hashed);
	b->hashed += n;
	if (n >= sizeof b->stage / 2) {
		/* Large spans go to the hash without the staging copy. */
		if ((err = body_flush(b)) != MAILSEC_OK)
			return err;
		if (EVP_DigestUpdate(b->md, p, n) != 1)
			return MAILSEC_ENOMEM;
		return MAILSEC_OK;
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

/* One content byte run: bytes that are neither CR, LF nor (relaxed) WSP. */
static mailsec_err
body_content(struct ms_dkim_body *b, const char *p, size_t n)
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
	b->eol = false;
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

/* 0x80 in each byte of x that is zero, nothing elsewhere (exact). */
static inline uint64_t
zero_bytes(uint64_t x)
{
	const uint64_t m = 0x7f7f7f7f7f7f7f7fULL;

	return ~(((x & m) + m) | x | m);
}

/*
 * Length of the longest prefix of s that relaxed canonicalization leaves
 * as it is (RFC 6376 3.4.4), across lines: no HTAB, no SP before SP, CR
 * or the end, line ends only as CRLF followed by a line that starts with
 * something other than CR or WSP (an empty or blank line may be trailing:
 * the state machine defers it). s[0] is not CR. Eight bytes at a time
 * where the machine allows.
 */
static size_t
relaxed_run(const char *s, size_t n)
{
	size_t k = 0;

	for (;;) {
#ifdef __SSE2__
		/* The same test as below, sixteen bytes at a time. */
		const __m128i vs = _mm_set1_epi8(' '), vt = _mm_set1_epi8('\t'),
		    vc = _mm_set1_epi8('\r');
		unsigned ms_, mt, mc, mm;

		while (k + 16 <= n) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const
			    void *)(s + k));

			ms_ = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vs));
			mt = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vt));
			mc = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vc));
			mm = mt | mc | (ms_ & ((ms_ | mt | mc) >> 1));
			if (mm != 0) {
				k += (size_t)__builtin_ctz(mm);
				goto check;
			}
			if ((ms_ & 0x8000u) != 0) {
				k += 15;
				goto check;
			}
			k += 16;
		}
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		uint64_t w, zs, zt, zc, m;

		/* Skip words without HTAB, CR, or SP before SP/HTAB/CR; stop
		 * at the first such byte (or at a SP ending the word, whose
		 * next byte is in the next word) for the checks below. */
		while (k + 8 <= n) {
			memcpy(&w, s + k, 8);
			zs = zero_bytes(w ^ 0x2020202020202020ULL);
			zt = zero_bytes(w ^ 0x0909090909090909ULL);
			zc = zero_bytes(w ^ 0x0d0d0d0d0d0d0d0dULL);
			m = zt | zc | (zs & ((zs | zt | zc) >> 8));
			if (m != 0) {
				k += (size_t)__builtin_ctzll(m) >> 3;
				break;
			}
			if ((zs >> 63) != 0) {
				k += 7;
				break;
			}
			k += 8;
		}
#endif
#ifdef __SSE2__
check:
#endif
		if (k >= n)
			return k;
		switch (s[k]) {
		case '\t':
			return k;
		case ' ':
			if (k + 1 >= n || s[k + 1] == ' ' || s[k + 1] == '\t' ||
			    s[k + 1] == '\r')
				return k;
			break;
		case '\r':
			if (k + 1 >= n || s[k + 1] != '\n')
				return k;
			if (k + 2 >= n || s[k + 2] == '\r' || s[k + 2] == ' ' ||
			    s[k + 2] == '\t')
				return k + 2;	/* ends with this line */
			k++;			/* the LF */
			break;
		default:
			break;
		}
		k++;
	}
}

mailsec_err
ms_dkim_body_update(struct ms_dkim_body *b, const char *p, size_t len)
{
	size_t i = 0, j;
	mailsec_err err;

	if (b->canon == MAILSEC_DKIM_SIMPLE)
		return body_update_simple(b, p, len);
	while (i < len) {
		unsigned char c = (unsigned char)p[i];

		if (!b->cr && !b->wsp && c != '\r') {
			/* Fast path: what is already canonical goes out in
			 * one piece, whole lines with their CRLF. */
			j = relaxed_run(p + i, len - i);
			if (j > 0) {
				if ((err = body_content(b, p + i, j)) !=
				    MAILSEC_OK)
					return err;
				if (j >= 2 && p[i + j - 2] == '\r' &&
				    p[i + j - 1] == '\n') {
					b->in_line = false;
					b->eol = true;
				}
				i += j;
				continue;
			}
		}
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
		/* A run of ordinary bytes; a single SP between two of them
		 * is already canonical and stays in the run (3.4.4). */
		j = i + 1;
		while (j < len && p[j] != '\r') {
			if (ms_iswsp((unsigned char)p[j])) {
				if (p[j] != ' ' || j + 1 >= len ||
				    p[j + 1] == '\r' ||
				    ms_iswsp((unsigned char)p[j + 1]))
					break;
			}
			j++;
		}
		if ((err = body_content(b, p + i, j - i)) != MAILSEC_OK)
			return err;
		i = j;
	}
	return MAILSEC_OK;
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
	} else if (b->in_line || (b->crlfs > 0 && b->any && !b->eol)) {
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

static int
b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t
ms_b64_decode(const char *p, size_t len, unsigned char *out, size_t outsz)
{
	size_t i, n = 0, pad = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	int v;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			if (pad > 2)
				return (size_t)-1;
			continue;
		}
		if (pad > 0)
			return (size_t)-1;	/* data after padding */
		if ((v = b64_val(c)) < 0)
			return (size_t)-1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= outsz)
				return (size_t)-1;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be a valid tail: 0, 2 or 4 bits. */
	if (bits == 6)
		return (size_t)-1;
	return n;
}

mailsec_err
ms_b64_encode(const unsigned char *p, size_t len, struct ms_buf *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];
	size_t i;
	uint32_t v;
	mailsec_err err;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		q[0] = tab[v >> 18];
		q[1] = tab[(v >> 12) & 63];
		q[2] = tab[(v >> 6) & 63];
		q[3] = tab[v & 63];
		if ((err = ms_buf_append(out, q, 4)) != MAILSEC_OK)
			return err;
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		q[0] = tab[v >> 18];
		q[1] = tab[(v >> 12) & 63];
		q[2] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		q[3] = '=';
		if ((err = ms_buf_append(out, q, 4)) != MAILSEC_OK)
			return err;
	}
	if (out->ptr == NULL)	/* nothing appended: make it "" */
		return ms_buf_append(out, "", 0);
	return MAILSEC_OK;
}
