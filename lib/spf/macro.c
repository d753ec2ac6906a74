/*
 * lib/spf/macro.c - SPF macro strings (RFC 7208 section 7): syntax check
 * and bounded expansion.
 *
 * Every byte of output goes through a struct ms_buf whose max bounds the
 * expansion, and transformer digits saturate while they are read: the
 * libspf2 overflows (CVE-2021-20314, CVE-2021-33912, CVE-2021-33913:
 * %{ir}-style reversals, huge digit transformers, URL-escaping growth
 * written past a precomputed length) have no fixed-size buffer to hit.
 */
#include <stdlib.h>
#include <string.h>

#include "spf/spf_int.h"

/* Digit transformers above this mean "all parts" (a value has at most
 * MAILSEC_SPF_EXPAND_MAX parts); reading saturates here. */
#define MACRO_DIGITS_SAT 100000u

static bool
is_delim(int c)
{
	return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' ||
	    c == '_' || c == '=';
}

static bool
letter_ok(int c, bool exp)
{
	switch (ms_tolower(c)) {
	case 's': case 'l': case 'o': case 'd': case 'i': case 'p':
	case 'h': case 'v':
		return true;
	case 'c': case 'r': case 't':
		return exp;	/* RFC 7208 7.2: only in exp text */
	default:
		return false;
	}
}

/* One macro-expand "%{" ... "}" starting at p[0] == '%', p[1] == '{'.
 * Fills the fields and returns the length consumed, or 0 on syntax
 * error (*bad set to the offending offset within p). */
struct macro {
	char letter;		/* as written (case = URL-escape) */
	unsigned digits;	/* 0: all */
	bool reverse;
	const char *delims;
	size_t ndelims;
};

static size_t
macro_parse(const char *p, size_t len, bool exp, struct macro *m,
    size_t *bad)
{
	size_t i = 2;
	bool have_digits = false;
	unsigned long n = 0;

	memset(m, 0, sizeof *m);
	if (i >= len || !letter_ok((unsigned char)p[i], exp)) {
		*bad = i;
		return 0;
	}
	m->letter = p[i++];
	while (i < len && ms_isdigit((unsigned char)p[i])) {
		have_digits = true;
		n = n * 10 + (unsigned)(p[i] - '0');
		if (n > MACRO_DIGITS_SAT)
			n = MACRO_DIGITS_SAT;
		i++;
	}
	if (have_digits && n == 0) {
		*bad = i - 1;	/* RFC 7208 7.3: zero parts is an error */
		return 0;
	}
	m->digits = (unsigned)n;
	if (i < len && (p[i] == 'r' || p[i] == 'R')) {
		m->reverse = true;
		i++;
	}
	m->delims = p + i;
	while (i < len && is_delim((unsigned char)p[i]))
		i++;
	m->ndelims = (size_t)(p + i - m->delims);
	if (i >= len || p[i] != '}') {
		*bad = i;
		return 0;
	}
	return i + 1;
}

static const char *
macro_value(const struct ms_spf_macro_ctx *ctx, int letter)
{
	const char *v = NULL;

	switch (ms_tolower(letter)) {
	case 's': v = ctx->s; break;
	case 'l': v = ctx->l; break;
	case 'o': v = ctx->o; break;
	case 'd': v = ctx->d; break;
	case 'i': v = ctx->i; break;
	case 'p': v = ctx->p; break;
	case 'v': v = ctx->v; break;
	case 'h': v = ctx->h; break;
	case 'c': v = ctx->c; break;
	case 'r': v = ctx->r; break;
	case 't': v = ctx->t; break;
	}
	if (v == NULL)
		v = ms_tolower(letter) == 'p' || ms_tolower(letter) == 'r' ?
		    "unknown" : "";
	return v;
}

static bool
in_delims(const struct macro *m, int c)
{
	size_t k;

	if (m->ndelims == 0)
		return c == '.';
	for (k = 0; k < m->ndelims; k++)
		if (m->delims[k] == c)
			return true;
	return false;
}

static bool
unreserved(int c)
{
	/* RFC 3986 2.3 */
	return ms_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static mailsec_err
put_part(struct ms_buf *out, const char *p, size_t n, bool escape)
{
	static const char hex[] = "0123456789ABCDEF";
	mailsec_err err;
	size_t i;
	char e[3];

	if (!escape)
		return ms_buf_append(out, p, n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (unreserved(c)) {
			err = ms_buf_appendc(out, (char)c);
		} else {
			e[0] = '%';
			e[1] = hex[c >> 4];
			e[2] = hex[c & 15];
			err = ms_buf_append(out, e, 3);
		}
		if (err != MAILSEC_OK)
			return err;
	}
	return MAILSEC_OK;
}

/* Applies the transformers of m to value and appends the result
 * (RFC 7208 7.3): split on the delimiters, optionally reverse, keep the
 * rightmost digits parts, join with ".". */
static mailsec_err
macro_apply(const struct macro *m, const char *value, struct ms_buf *out)
{
	size_t vlen = strlen(value), nparts = 1, i, k, first, *starts = NULL;
	bool escape = ms_isupper((unsigned char)m->letter);
	mailsec_err err = MAILSEC_OK;

	if (vlen > MAILSEC_SPF_EXPAND_MAX) {
		ms_buf_free(out);
		return MAILSEC_ELIMIT;
	}
	for (i = 0; i < vlen; i++)
		if (in_delims(m, (unsigned char)value[i]))
			nparts++;
	/* starts[k]: offset of part k; part k ends at starts[k+1] - 1. */
	starts = ms_calloc(nparts + 1, sizeof *starts);
	if (starts == NULL) {
		ms_buf_free(out);
		return MAILSEC_ENOMEM;
	}
	k = 0;
	starts[k++] = 0;
	for (i = 0; i < vlen; i++)
		if (in_delims(m, (unsigned char)value[i]))
			starts[k++] = i + 1;
	starts[k] = vlen + 1;
	first = m->digits != 0 && m->digits < nparts ? nparts - m->digits : 0;
	/* Part order after optional reversal; keep the last (nparts-first). */
	for (i = first; i < nparts; i++) {
		size_t idx = m->reverse ? nparts - 1 - i : i;
		size_t s = starts[idx], e = starts[idx + 1] - 1;

		if (i > first && (err = ms_buf_appendc(out, '.')) != MAILSEC_OK)
			goto out;
		if ((err = put_part(out, value + s, e - s, escape)) !=
		    MAILSEC_OK)
			goto out;
	}
out:
	free(starts);
	return err;
}

static mailsec_err
macro_walk(const struct ms_spf_macro_ctx *ctx, const char *p, size_t len,
    bool exp, struct ms_buf *out, struct mailsec_diag *diag)
{
	struct macro m;
	mailsec_err err;
	size_t i = 0, n, bad;

	while (i < len) {
		unsigned char c = (unsigned char)p[i];

		if (c != '%') {
			/* macro-literal = %x21-24 / %x26-7E; explanation
			 * text also has spaces (RFC 7208 6.2, 7.1). */
			if (c < 0x21 || c > 0x7e) {
				if (!(exp && c == ' '))
					return ms_diag(diag, MAILSEC_ESYNTAX,
					    i, 0, "byte 0x%02x not allowed in "
					    "a macro string", c);
			}
			if (out != NULL && (err = ms_buf_appendc(out,
			    (char)c)) != MAILSEC_OK)
				return err;
			i++;
			continue;
		}
		if (i + 1 >= len)
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "'%%' at the end of a macro string");
		switch (p[i + 1]) {
		case '%':
		case '_':
		case '-':
			if (out != NULL) {
				err = p[i + 1] == '%' ? ms_buf_appendc(out,
				    '%') : p[i + 1] == '_' ?
				    ms_buf_appendc(out, ' ') :
				    ms_buf_append(out, "%20", 3);
				if (err != MAILSEC_OK)
					return err;
			}
			i += 2;
			break;
		case '{':
			n = macro_parse(p + i, len - i, exp, &m, &bad);
			if (n == 0)
				return ms_diag(diag, MAILSEC_ESYNTAX, i + bad,
				    0, "malformed macro '%%{' (RFC 7208 7.1)");
			if (out != NULL && (err = macro_apply(&m,
			    macro_value(ctx, m.letter), out)) != MAILSEC_OK)
				return err;
			i += n;
			break;
		default:
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "'%%' must be followed by '{', '%%', '_' or '-'");
		}
	}
	return MAILSEC_OK;
}

mailsec_err
ms_spf_macro_check(const char *p, size_t len, bool exp,
    struct mailsec_diag *diag)
{
	return macro_walk(NULL, p, len, exp, NULL, diag);
}

mailsec_err
ms_spf_macro_expand(const struct ms_spf_macro_ctx *ctx, const char *p,
    size_t len, bool exp, struct ms_buf *out, struct mailsec_diag *diag)
{
	mailsec_err err;

	err = macro_walk(ctx, p, len, exp, out, diag);
	if (err != MAILSEC_OK)
		ms_buf_free(out);
	return err;
}

bool
ms_spf_macro_uses_p(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i + 2 < len; i++) {
		if (p[i] == '%' && p[i + 1] == '%') {
			i++;
			continue;
		}
		if (p[i] == '%' && p[i + 1] == '{' &&
		    (p[i + 2] == 'p' || p[i + 2] == 'P'))
			return true;
	}
	return false;
}

const char *
ms_spf_domain_truncate(const char *name)
{
	size_t len = strlen(name);
	const char *dot;

	while (len > 253) {
		dot = memchr(name, '.', len);
		if (dot == NULL)
			break;
		len -= (size_t)(dot + 1 - name);
		name = dot + 1;
	}
	return name;
}
