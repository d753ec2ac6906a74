/*
 * lib/core/core.c - ASCII helpers, bounded buffers, diagnostics, errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/version.h>

#include "core/core.h"

static const struct {
	const char *name;
	const char *text;
} err_table[] = {
#define MS_ERR_ROW(name, text) { #name, text },
	MAILSEC_ERR_MAP(MS_ERR_ROW)
#undef MS_ERR_ROW
};

const char *
mailsec_strerror(mailsec_err err)
{
	if ((unsigned)err >= MS_ARRAY_LEN(err_table))
		return "unknown error";
	return err_table[err].text;
}

const char *
mailsec_errname(mailsec_err err)
{
	if ((unsigned)err >= MS_ARRAY_LEN(err_table))
		return "EUNKNOWN";
	return err_table[err].name;
}

const char *
mailsec_version(void)
{
	return MAILSEC_VERSION_STRING;
}

bool
ms_ascii_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++)
		if (ms_tolower((unsigned char)a[i]) !=
		    ms_tolower((unsigned char)b[i]))
			return false;
	return true;
}

bool
ms_ascii_eqz(const char *a, size_t alen, const char *lit)
{
	return ms_ascii_eq(a, alen, lit, strlen(lit));
}

bool
ms_domain_ldh_ok(const char *p, size_t n, bool allow_8bit)
{
	size_t i, lab = 0;

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '.') {
			if (lab == 0 || p[i - 1] == '-')
				return false;
			lab = 0;
			continue;
		}
		if (c == '-') {
			if (lab == 0)
				return false;
		} else if (!ms_isalnum(c) && c != '_' &&
		    !(allow_8bit && c >= 0x80))
			return false;
		if (++lab > 63)
			return false;
	}
	return lab > 0 && p[n - 1] != '-';
}

bool
ms_blank(const char *s)
{
	if (s == NULL)
		return true;
	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return false;
	return true;
}

char *
ms_strdup_ok(const char *s, bool *ok)
{
	char *c;

	if (s == NULL)
		return NULL;
	if ((c = ms_memdupz(s, strlen(s))) == NULL)
		*ok = false;
	return c;
}

bool
ms_dot_atom_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || p[0] == '.' || p[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] == '.') {
			if (p[i - 1] == '.')
				return false;
		} else if (!ms_isatext((unsigned char)p[i]))
			return false;
	}
	return true;
}

void
ms_hex_encode(const unsigned char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

size_t
mailsec_utf8_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		need = 2;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 4;
		if (p[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < need || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < need; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return need;
}

void
ms_buf_init(struct ms_buf *b, size_t max)
{
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
ms_buf_free(struct ms_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
}

mailsec_err
ms_buf_append(struct ms_buf *b, const void *p, size_t n)
{
	size_t need, cap;
	char *np;

	if (!ms_size_add(b->len, n, &need) || need > b->max) {
		ms_buf_free(b);
		return MAILSEC_ELIMIT;
	}
	if (need + 1 > b->cap) {
		cap = b->cap ? b->cap : 64;
		while (cap < need + 1) {
			if (!ms_size_mul(cap, 2, &cap)) {
				ms_buf_free(b);
				return MAILSEC_ELIMIT;
			}
		}
		if (cap > b->max + 1)
			cap = b->max + 1;
		np = realloc(b->ptr, cap);
		if (np == NULL) {
			ms_buf_free(b);
			return MAILSEC_ENOMEM;
		}
		b->ptr = np;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->ptr + b->len, p, n);
	b->len = need;
	b->ptr[b->len] = '\0';
	return MAILSEC_OK;
}

mailsec_err
ms_buf_appendc(struct ms_buf *b, char c)
{
	return ms_buf_append(b, &c, 1);
}

mailsec_err
ms_buf_appendz(struct ms_buf *b, const char *s)
{
	return ms_buf_append(b, s, strlen(s));
}

mailsec_err
ms_buf_printf(struct ms_buf *b, const char *fmt, ...)
{
	char small[256];
	char *big = NULL;
	va_list ap;
	int n;
	mailsec_err err;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		ms_buf_free(b);
		return MAILSEC_EINVAL;
	}
	if ((size_t)n < sizeof small)
		return ms_buf_append(b, small, (size_t)n);
	big = malloc((size_t)n + 1);
	if (big == NULL) {
		ms_buf_free(b);
		return MAILSEC_ENOMEM;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	err = ms_buf_append(b, big, (size_t)n);
	free(big);
	return err;
}

char *
ms_buf_steal(struct ms_buf *b, size_t *len)
{
	char *p = b->ptr;

	if (p == NULL)
		p = calloc(1, 1);
	if (len != NULL)
		*len = p != NULL ? b->len : 0;
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

char *
ms_memdupz(const char *p, size_t len)
{
	char *d;
	size_t n;

	if (!ms_size_add(len, 1, &n))
		return NULL;
	d = malloc(n);
	if (d == NULL)
		return NULL;
	if (len > 0)
		memcpy(d, p, len);
	d[len] = '\0';
	return d;
}

void *
ms_calloc(size_t n, size_t size)
{
	size_t total;

	if (!ms_size_mul(n, size, &total))
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *
ms_reallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	if (!ms_size_mul(n, size, &total))
		return NULL;
	return realloc(p, total ? total : 1);
}

mailsec_err
ms_diag(struct mailsec_diag *diag, mailsec_err err, size_t offset,
    size_t line, const char *fmt, ...)
{
	va_list ap;

	if (diag == NULL)
		return err;
	diag->set = 1;
	diag->offset = offset;
	diag->line = line;
	va_start(ap, fmt);
	vsnprintf(diag->text, sizeof diag->text, fmt, ap);
	va_end(ap);
	return err;
}
