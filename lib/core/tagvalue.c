/*
 * lib/core/tagvalue.c - tag=value list tokenizer, RFC 6376 section 3.2.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/core.h"
#include "core/tagvalue.h"

static int
is_valchar(unsigned char c)
{
	return (c >= 0x21 && c <= 0x3a) || (c >= 0x3c && c <= 0x7e);
}

/*
 * The end of the run of VALCHARs at p[i] (i < len): 16 bytes a step with
 * SSE2 (base64 keys and signatures are hundreds of bytes long), the rest
 * byte by byte.
 */
static size_t
valchar_span(const char *p, size_t len, size_t i)
{
#ifdef __SSE2__
	const __m128i lo = _mm_set1_epi8(0x20), hi = _mm_set1_epi8(0x7f),
	    semi = _mm_set1_epi8(';');

	while (len - i >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)
		    (p + i));
		/* Signed compares: bytes from 0x80 on are negative, so
		 * they fail "> 0x20" as they should. */
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_andnot_si128(
		    _mm_cmpeq_epi8(v, semi), _mm_and_si128(
		    _mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi))));

		if (m != 0xffff)
			return i + (size_t)__builtin_ctz(~m);
		i += 16;
	}
#endif
	while (i < len && is_valchar((unsigned char)p[i]))
		i++;
	return i;
}

/*
 * Skips FWS from *i; a CRLF must be followed by WSP (RFC 5322 FWS).
 * Returns 0, or -1 on a CR/LF that is not folding.
 */
static int
skip_fws(const char *p, size_t len, size_t *i)
{
	size_t j = *i;

	while (j < len) {
		if (ms_iswsp((unsigned char)p[j])) {
			j++;
		} else if (p[j] == '\r' || p[j] == '\n') {
			if (p[j] == '\r') {
				if (j + 1 >= len || p[j + 1] != '\n')
					return -1;
				j++;
			}
			j++;
			if (j >= len || !ms_iswsp((unsigned char)p[j]))
				return -1;
		} else {
			break;
		}
	}
	*i = j;
	return 0;
}

mailsec_err
ms_taglist_parse(const char *p, size_t len, struct ms_taglist *tl,
    struct mailsec_diag *diag)
{
	size_t i = 0, k, start;
	struct ms_tag *t;
	uint64_t letters = 0;	/* one-letter names seen: ALPHA & 63 */
	bool dup;

	tl->count = 0;
	if (p == NULL && len > 0)
		return MAILSEC_EINVAL;
	for (;;) {
		if (skip_fws(p, len, &i) < 0)
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "line break that is not folding whitespace");
		if (i >= len)
			break;
		/* An empty tag-spec is only allowed as the optional final
		 * ';', which the loop consumed already. */
		if (!ms_isalpha((unsigned char)p[i]))
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "tag name expected");
		if (tl->count >= MS_TAGLIST_MAX_TAGS)
			return ms_diag(diag, MAILSEC_ELIMIT, i, 0,
			    "more than %d tags", MS_TAGLIST_MAX_TAGS);
		t = &tl->tags[tl->count];
		start = i;
		while (i < len && (ms_isalnum((unsigned char)p[i]) ||
		    p[i] == '_'))
			i++;
		t->name.ptr = p + start;
		t->name.len = i - start;
		if (skip_fws(p, len, &i) < 0)
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "line break that is not folding whitespace");
		if (i >= len || p[i] != '=')
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "'=' expected after tag name '%.*s'",
			    (int)t->name.len, t->name.ptr);
		i++;
		t->raw_start = i;
		if (skip_fws(p, len, &i) < 0)
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "line break that is not folding whitespace");
		t->value.ptr = p + i;
		t->value.len = 0;
		/* tval *( FWS tval ): remember the end of the last tval. */
		while (i < len && p[i] != ';') {
			if (is_valchar((unsigned char)p[i])) {
				/* A whole tval at once (';' is no VALCHAR). */
				i = valchar_span(p, len, i + 1);
				t->value.len = (size_t)(p + i - t->value.ptr);
				continue;
			}
			if (ms_iswsp((unsigned char)p[i]) || p[i] == '\r' ||
			    p[i] == '\n') {
				if (skip_fws(p, len, &i) < 0)
					return ms_diag(diag, MAILSEC_ESYNTAX,
					    i, 0, "line break that is not "
					    "folding whitespace");
				continue;
			}
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "invalid byte 0x%02x in the value of tag '%.*s'",
			    (unsigned char)p[i], (int)t->name.len,
			    t->name.ptr);
		}
		t->raw_end = i;
		/* Duplicates: one-letter names (most of them) by a bit
		 * each, longer ones by comparing with the earlier ones. */
		if (t->name.len == 1) {
			uint64_t bit = (uint64_t)1 << ((unsigned char)
			    t->name.ptr[0] & 63);

			dup = (letters & bit) != 0;
			letters |= bit;
		} else {
			for (k = 0, dup = false; k < tl->count && !dup; k++)
				dup = tl->tags[k].name.len == t->name.len &&
				    memcmp(tl->tags[k].name.ptr, t->name.ptr,
				    t->name.len) == 0;
		}
		if (dup)
			return ms_diag(diag, MAILSEC_ESYNTAX, start, 0,
			    "duplicate tag '%.*s'", (int)t->name.len,
			    t->name.ptr);
		tl->count++;
		if (i >= len)
			break;
		i++;	/* the ';' */
	}
	return MAILSEC_OK;
}

size_t
ms_tag_strip_fws(struct mailsec_str value, char *out, size_t outsz)
{
	size_t i, n = 0;
	char c;

	for (i = 0; i < value.len; i++) {
		c = value.ptr[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (n >= outsz)
			return (size_t)-1;
		out[n++] = c;
	}
	return n;
}
