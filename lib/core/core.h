/*
 * lib/core/core.h - library-internal basics shared by every area:
 * ASCII classes (no locale), checked size arithmetic, the growable
 * bounded buffer, and diagnostics.
 */
#ifndef MS_CORE_H
#define MS_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/err.h>
#include <mailsec/str.h>

#if defined(__GNUC__)
#define MS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MS_PRINTF(f, a)
#endif

/* A UNITTEST build makes file-local helpers visible to the unit tests. */
#ifdef UNITTEST
#define MS_STATIC
#else
#define MS_STATIC static
#endif

#define MS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- ASCII, locale-free ------------------------------------------------ */

static inline bool ms_isdigit(int c) { return c >= '0' && c <= '9'; }
static inline bool ms_isupper(int c) { return c >= 'A' && c <= 'Z'; }
static inline bool ms_islower(int c) { return c >= 'a' && c <= 'z'; }
static inline bool ms_isalpha(int c) { return ms_isupper(c) || ms_islower(c); }
static inline bool ms_isalnum(int c) { return ms_isalpha(c) || ms_isdigit(c); }
static inline bool ms_isxdigit(int c)
{
	return ms_isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
/* The value of the hex digit c (either case), or -1 when c is none. */
static inline int ms_hexval(int c)
{
	if (ms_isdigit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
/* WSP of RFC 5234: space and horizontal tab. */
static inline bool ms_iswsp(int c) { return c == ' ' || c == '\t'; }
static inline int ms_tolower(int c) { return ms_isupper(c) ? c + 32 : c; }
static inline int ms_toupper(int c) { return ms_islower(c) ? c - 32 : c; }

/* Case-insensitive (ASCII) equality of two counted strings. */
bool ms_ascii_eq(const char *a, size_t alen, const char *b, size_t blen);
/* Same, b a NUL-terminated literal. */
bool ms_ascii_eqz(const char *a, size_t alen, const char *lit);

/* atext of RFC 5322 3.2.3, ASCII part. */
static inline bool ms_isatext(int c)
{
	if (ms_isalnum(c))
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'':
	case '*': case '+': case '-': case '/': case '=': case '?':
	case '^': case '_': case '`': case '{': case '|': case '}':
	case '~':
		return true;
	default:
		return false;
	}
}

/*
 * Is (p, n) a domain name of LDH labels (RFC 5321 4.1.2 sub-domain:
 * Let-dig [Ldh-str]), 1..253 octets, labels of 1..63, no final dot?
 * '_' is accepted inside labels (DKIM selectors, _dmarc-style names);
 * bytes >= 0x80 (U-labels kept as bytes) only with allow_8bit.
 */
bool ms_domain_ldh_ok(const char *p, size_t n, bool allow_8bit);

/* Is (p, n) a dot-atom-text of RFC 5322 3.2.3: 1*atext *("." 1*atext)? */
bool ms_dot_atom_ok(const char *p, size_t n);
/* Is s NULL, empty or nothing but SP, HTAB, CR and LF? */
bool ms_blank(const char *s);
/* A copy of s (NULL for NULL); on no memory NULL and *ok set to false,
 * so that a run of copies is checked once. */
char *ms_strdup_ok(const char *s, bool *ok);

/* ---- checked arithmetic ------------------------------------------------ */

/* Each stores the result and returns true, or returns false on overflow. */
static inline bool ms_size_add(size_t a, size_t b, size_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}
static inline bool ms_size_mul(size_t a, size_t b, size_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

/* ---- bounded growable buffer ------------------------------------------- */

/*
 * Owns ptr. Grows up to max bytes (excluding the NUL kept after the data,
 * so ptr is always a C string once anything was appended). Any failing
 * append frees the buffer and leaves it empty: callers return the error
 * without cleaning up.
 */
struct ms_buf {
	char *ptr;
	size_t len;
	size_t cap;
	size_t max;
};

void ms_buf_init(struct ms_buf *b, size_t max);
void ms_buf_free(struct ms_buf *b);
mailsec_err ms_buf_append(struct ms_buf *b, const void *p, size_t n);
mailsec_err ms_buf_appendc(struct ms_buf *b, char c);
mailsec_err ms_buf_appendz(struct ms_buf *b, const char *s);
mailsec_err ms_buf_printf(struct ms_buf *b, const char *fmt, ...) MS_PRINTF(2, 3);
/* Hands the bytes to the caller (free() them); the buffer is left empty.
 * Returns an empty allocated string when nothing was appended, NULL only
 * when that allocation fails. */
char *ms_buf_steal(struct ms_buf *b, size_t *len);

/* ---- allocation helpers ------------------------------------------------ */

/* Copies len bytes into a new NUL-terminated allocation; NULL on ENOMEM. */
char *ms_memdupz(const char *p, size_t len);
/* calloc(n, size) with overflow checked; NULL on overflow or ENOMEM. */
void *ms_calloc(size_t n, size_t size);
/* realloc of an array; NULL (old kept) on overflow or ENOMEM. */
void *ms_reallocarray(void *p, size_t n, size_t size);

/* ---- base64 ------------------------------------------------------------ */

/* Modes of ms_base64_decode(). */
#define MS_B64_STRICT	0	/* RFC 4648 4: whole groups, '=' only at the
				 * end, no white space, unused bits zero */
#define MS_B64_FWS	1	/* CR, LF, SP, TAB skipped, padding optional
				 * (at most two '=', only at the end) */

/* Decodes base64 into out (outsz bytes). Returns the decoded length, or
 * (size_t)-1 when the input is not base64 in that mode or out is too
 * small. */
size_t ms_base64_decode(const char *p, size_t len, unsigned mode,
    unsigned char *out, size_t outsz);
/* Encodes (p, len) as padded base64 (RFC 4648 4) into out (outsz bytes)
 * with a NUL after it; *outlen (if non-NULL) gets the length without the
 * NUL. MAILSEC_ELIMIT, out untouched, when out is too small. */
mailsec_err ms_base64_encode(const unsigned char *p, size_t len, char *out,
    size_t outsz, size_t *outlen);

/* ---- hex ---------------------------------------------------------------- */

/* Writes the lowercase hex of (p, n) and a NUL to out (2 * n + 1 bytes). */
void ms_hex_encode(const unsigned char *p, size_t n, char *out);

/* ---- diagnostics ------------------------------------------------------- */

/* Fills diag (if non-NULL) and returns err, so parsers can
 * `return ms_diag(diag, MAILSEC_ESYNTAX, off, line, "...", ...)`. */
mailsec_err ms_diag(struct mailsec_diag *diag, mailsec_err err, size_t offset,
    size_t line, const char *fmt, ...) MS_PRINTF(5, 6);

#endif /* MS_CORE_H */
