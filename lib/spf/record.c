/*
 * lib/spf/record.c - SPF record syntax (RFC 7208 4.5, 4.6, 5, 6, 12):
 * the version check and a parser for the whole term list. Any syntax
 * error anywhere in the record is an error (4.6), found before any term
 * is evaluated.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "spf/spf_int.h"

bool
ms_spf_is_record(const char *p, size_t len)
{
	/* RFC 7208 4.5: "v=spf1" exactly, then SP or the end. */
	if (len < 6 || !ms_ascii_eq(p, 6, "v=spf1", 6))
		return false;
	return len == 6 || p[6] == ' ';
}

struct ms_spf_record *
ms_spf_record_ref(struct ms_spf_record *rec)
{
	rec->refs++;
	return rec;
}

void
ms_spf_record_unref(struct ms_spf_record *rec)
{
	if (rec == NULL || --rec->refs > 0)
		return;
	free(rec->text);
	free(rec->terms);
	free(rec->lits);
	free(rec);
}

void
ms_spf_record_free(struct ms_spf_record *rec)
{
	ms_spf_record_unref(rec);
}

size_t
ms_spf_record_cost(const struct ms_spf_record *rec)
{
	/* lits: at most the text again */
	return sizeof *rec + 2 * (rec->len + 1) +
	    rec->nterms * sizeof *rec->terms;
}

/*
 * A domain-spec without '%' expands to itself (RFC 7208 7.1: only '%'
 * starts a macro; the parse already checked every byte); keep that
 * expansion, truncated as 7.3 says, so an evaluation need not expand it.
 * Specs longer than MAILSEC_SPF_EXPAND_MAX stay to the expander, whose
 * bound refuses them.
 */
static const char *
lit_put(char **at, struct mailsec_str spec)
{
	char *d = *at;

	if (spec.len == 0 || spec.len > MAILSEC_SPF_EXPAND_MAX ||
	    memchr(spec.ptr, '%', spec.len) != NULL)
		return NULL;
	memcpy(d, spec.ptr, spec.len);
	d[spec.len] = '\0';
	*at = d + spec.len + 1;
	return ms_spf_domain_truncate(d);
}

/* Fills the lit strings of rec's terms, redirect and exp. */
static mailsec_err
lits_fill(struct ms_spf_record *rec)
{
	char *at;

	/* Every spec lies within the text, apart from the others, and
	 * takes its length plus a NUL. */
	if ((rec->lits = malloc(rec->len + 1)) == NULL)
		return MAILSEC_ENOMEM;
	at = rec->lits;
	for (size_t i = 0; i < rec->nterms; i++)
		rec->terms[i].lit = lit_put(&at, rec->terms[i].spec);
	if (rec->has_redirect)
		rec->redirect_lit = lit_put(&at, rec->redirect);
	if (rec->has_exp)
		rec->exp_lit = lit_put(&at, rec->exp);
	return MAILSEC_OK;
}

static bool
is_alnum_str(const char *p, size_t n, bool *alpha)
{
	size_t i;

	*alpha = false;
	for (i = 0; i < n; i++) {
		if (ms_isalpha((unsigned char)p[i]))
			*alpha = true;
		else if (!ms_isdigit((unsigned char)p[i]))
			return false;
	}
	return true;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum )  (4.8) */
static bool
toplabel_ok(const char *p, size_t n)
{
	bool alpha;
	size_t i;

	if (n == 0)
		return false;
	if (is_alnum_str(p, n, &alpha))
		return alpha;
	if (p[0] == '-' || p[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!ms_isalnum((unsigned char)p[i]) && p[i] != '-')
			return false;
	return true;
}

/* Does the macro-string (p, len) end with a macro-expand? */
static bool
ends_with_macro(const char *p, size_t len)
{
	size_t i = 0, last_end = 0;

	while (i < len) {
		if (p[i] == '%' && i + 1 < len) {
			if (p[i + 1] == '{') {
				const char *e = memchr(p + i, '}', len - i);

				if (e == NULL)
					return false;
				i = (size_t)(e - p) + 1;
				last_end = i;
				continue;
			}
			i += 2;
			continue;
		}
		i++;
	}
	return last_end == len;
}

/* domain-spec = macro-string domain-end;
 * domain-end = ( "." toplabel [ "." ] ) / macro-expand  (4.8) */
static mailsec_err
domain_spec_check(const char *p, size_t len, size_t off,
    struct mailsec_diag *diag)
{
	mailsec_err err;
	size_t n = len, dot;

	if (len == 0)
		return ms_diag(diag, MAILSEC_ESYNTAX, off, 0,
		    "empty domain-spec");
	if ((err = ms_spf_macro_check(p, len, false, diag)) != MAILSEC_OK) {
		if (diag != NULL)
			diag->offset += off;
		return err;
	}
	if (ends_with_macro(p, len))
		return MAILSEC_OK;
	if (p[n - 1] == '.')
		n--;
	for (dot = n; dot > 0 && p[dot - 1] != '.'; dot--)
		;
	if (dot == 0 || !toplabel_ok(p + dot, n - dot))
		return ms_diag(diag, MAILSEC_ESYNTAX, off, 0,
		    "domain-spec '%.*s' does not end in a top label or a "
		    "macro (RFC 7208 4.8)", (int)(len > 80 ? 80 : len), p);
	return MAILSEC_OK;
}

/* Decimal without leading zeros, at most max. */
static bool
parse_num(const char *p, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (n == 0 || n > 3 || (n > 1 && p[0] == '0'))
		return false;
	for (i = 0; i < n; i++) {
		if (!ms_isdigit((unsigned char)p[i]))
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool
parse_ip4(const char *p, size_t n, uint8_t out[4])
{
	size_t i = 0, k, s;
	unsigned v;

	for (k = 0; k < 4; k++) {
		s = i;
		while (i < n && p[i] != '.')
			i++;
		if (!parse_num(p + s, i - s, 255, &v))
			return false;
		out[k] = (uint8_t)v;
		if (k < 3) {
			if (i >= n)
				return false;
			i++;
		}
	}
	return i == n;
}

static bool
parse_ip6(const char *p, size_t n, uint8_t out[16])
{
	char tmp[64];
	size_t i;

	if (n == 0 || n >= sizeof tmp)
		return false;
	for (i = 0; i < n; i++)
		if (!ms_isxdigit((unsigned char)p[i]) && p[i] != ':' &&
		    p[i] != '.')
			return false;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET6, tmp, out) == 1;
}

/* Trailing "/" NUMBER of (p, *e): its start (the '/') or 0 if none. */
static size_t
cidr_at(const char *p, size_t e)
{
	size_t s = e;

	while (s > 0 && ms_isdigit((unsigned char)p[s - 1]))
		s--;
	if (s == e || s == 0 || p[s - 1] != '/')
		return 0;
	return s;
}

/* Splits a trailing dual-cidr-length ("/24", "//64", "/24//64", RFC
 * 7208 5.6) off (p, *n); or for ip4/ip6 (c6 NULL) a single length
 * stored in *c4 (at most max). Returns false on a malformed length. */
static bool
split_cidr(const char *p, size_t *n, unsigned max, unsigned *c4,
    unsigned *c6)
{
	size_t e = *n, s;

	if ((s = cidr_at(p, e)) == 0)
		return true;	/* none; a stray '/' fails later */
	if (c6 != NULL && s >= 2 && p[s - 2] == '/') {
		if (!parse_num(p + s, e - s, 128, c6))
			return false;
		e = s - 2;
		*n = e;
		if ((s = cidr_at(p, e)) == 0)
			return true;
	}
	if (!parse_num(p + s, e - s, max, c4))
		return false;
	*n = s - 1;
	return true;
}

static bool
mech_name(const char *p, size_t n, enum ms_spf_mech *m)
{
	static const struct { const char *name; enum ms_spf_mech m; } t[] = {
		{ "all", MS_SPF_ALL }, { "include", MS_SPF_INCLUDE },
		{ "a", MS_SPF_A }, { "mx", MS_SPF_MX }, { "ptr", MS_SPF_PTR },
		{ "ip4", MS_SPF_IP4 }, { "ip6", MS_SPF_IP6 },
		{ "exists", MS_SPF_EXISTS },
	};
	size_t i;

	for (i = 0; i < MS_ARRAY_LEN(t); i++)
		if (ms_ascii_eqz(p, n, t[i].name)) {
			*m = t[i].m;
			return true;
		}
	return false;
}

static mailsec_err
parse_modifier(struct ms_spf_record *rec, const char *p, size_t n,
    size_t eq, size_t off, struct mailsec_diag *diag)
{
	const char *v = p + eq + 1;
	size_t vlen = n - eq - 1, i;
	mailsec_err err;

	/* name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )  (A) */
	if (eq == 0 || !ms_isalpha((unsigned char)p[0]))
		return ms_diag(diag, MAILSEC_ESYNTAX, off, 0,
		    "modifier name must start with a letter");
	for (i = 1; i < eq; i++)
		if (!ms_isalnum((unsigned char)p[i]) && p[i] != '-' &&
		    p[i] != '_' && p[i] != '.')
			return ms_diag(diag, MAILSEC_ESYNTAX, off + i, 0,
			    "bad character in modifier name");
	if (ms_ascii_eqz(p, eq, "redirect") || ms_ascii_eqz(p, eq, "exp")) {
		bool redir = ms_ascii_eqz(p, eq, "redirect");

		if (redir ? rec->has_redirect : rec->has_exp)
			return ms_diag(diag, MAILSEC_ESYNTAX, off, 0,
			    "%s= appears twice (RFC 7208 6)",
			    redir ? "redirect" : "exp");
		if ((err = domain_spec_check(v, vlen, off + eq + 1, diag)) !=
		    MAILSEC_OK)
			return err;
		if (redir) {
			rec->has_redirect = true;
			rec->redirect.ptr = v;
			rec->redirect.len = vlen;
		} else {
			rec->has_exp = true;
			rec->exp.ptr = v;
			rec->exp.len = vlen;
		}
		return MAILSEC_OK;
	}
	/* unknown-modifier = name "=" macro-string: ignored, but checked. */
	if ((err = ms_spf_macro_check(v, vlen, true, diag)) != MAILSEC_OK &&
	    diag != NULL)
		diag->offset += off + eq + 1;
	return err;
}

static mailsec_err
parse_mechanism(struct ms_spf_term *t, const char *p, size_t n, size_t off,
    struct mailsec_diag *diag)
{
	size_t i = 0, nl, rest;
	const char *a;

	t->qual = '+';
	if (n > 0 && (p[0] == '+' || p[0] == '-' || p[0] == '~' ||
	    p[0] == '?')) {
		t->qual = p[0];
		i = 1;
	}
	nl = i;
	while (nl < n && ms_isalnum((unsigned char)p[nl]))
		nl++;
	if (!mech_name(p + i, nl - i, &t->mech))
		return ms_diag(diag, MAILSEC_ESYNTAX, off, 0,
		    "unknown mechanism '%.*s'", (int)(n > 40 ? 40 : n), p);
	a = p + nl;
	rest = n - nl;
	t->cidr4 = 32;
	t->cidr6 = 128;
	switch (t->mech) {
	case MS_SPF_ALL:
		if (rest != 0)
			goto bad;
		return MAILSEC_OK;
	case MS_SPF_INCLUDE:
	case MS_SPF_EXISTS:
		if (rest < 1 || a[0] != ':')
			goto bad;
		t->spec.ptr = a + 1;
		t->spec.len = rest - 1;
		return domain_spec_check(a + 1, rest - 1, off + nl + 1, diag);
	case MS_SPF_PTR:
		if (rest == 0)
			return MAILSEC_OK;
		if (a[0] != ':')
			goto bad;
		t->spec.ptr = a + 1;
		t->spec.len = rest - 1;
		return domain_spec_check(a + 1, rest - 1, off + nl + 1, diag);
	case MS_SPF_A:
	case MS_SPF_MX:
		if (!split_cidr(a, &rest, 32, &t->cidr4, &t->cidr6))
			return ms_diag(diag, MAILSEC_ESYNTAX, off, 0,
			    "bad CIDR length in '%.*s'",
			    (int)(n > 60 ? 60 : n), p);
		if (rest == 0)
			return MAILSEC_OK;
		if (a[0] != ':')
			goto bad;
		t->spec.ptr = a + 1;
		t->spec.len = rest - 1;
		return domain_spec_check(a + 1, rest - 1, off + nl + 1, diag);
	case MS_SPF_IP4:
	case MS_SPF_IP6:
		if (rest < 1 || a[0] != ':')
			goto bad;
		a++;
		rest--;
		if (!split_cidr(a, &rest, t->mech == MS_SPF_IP4 ? 32 : 128,
		    t->mech == MS_SPF_IP4 ? &t->cidr4 : &t->cidr6, NULL))
			return ms_diag(diag, MAILSEC_ESYNTAX, off, 0,
			    "bad CIDR length in '%.*s'",
			    (int)(n > 60 ? 60 : n), p);
		if (t->mech == MS_SPF_IP4 ? !parse_ip4(a, rest, t->addr) :
		    !parse_ip6(a, rest, t->addr))
			goto bad;
		return MAILSEC_OK;
	}
bad:
	return ms_diag(diag, MAILSEC_ESYNTAX, off, 0,
	    "malformed mechanism '%.*s'", (int)(n > 60 ? 60 : n), p);
}

mailsec_err
ms_spf_record_parse(const char *p, size_t len, struct ms_spf_record **out,
    struct mailsec_diag *diag)
{
	struct ms_spf_record *rec = NULL;
	mailsec_err err = MAILSEC_OK;
	size_t i, s, cap = 0, eq;
	const char *tp;

	*out = NULL;
	if (len > MAILSEC_SPF_RECORD_MAX)
		return ms_diag(diag, MAILSEC_ELIMIT, 0, 0,
		    "record longer than %d bytes", MAILSEC_SPF_RECORD_MAX);
	if (!ms_spf_is_record(p, len))
		return ms_diag(diag, MAILSEC_ESYNTAX, 0, 0,
		    "not an SPF record (no \"v=spf1\")");
	rec = ms_calloc(1, sizeof *rec);
	if (rec == NULL) {
		err = MAILSEC_ENOMEM;
		goto fail;
	}
	rec->refs = 1;
	if ((rec->text = ms_memdupz(p, len)) == NULL) {
		err = MAILSEC_ENOMEM;
		goto fail;
	}
	rec->len = len;
	tp = rec->text;
	i = 6;
	while (i < len) {
		if (tp[i] == ' ') {
			i++;
			continue;
		}
		s = i;
		while (i < len && tp[i] != ' ')
			i++;
		/* A term is a directive or a modifier; a modifier's name is
		 * followed by '=' (RFC 7208 4.6.1, 12). */
		for (eq = 0; eq < i - s; eq++)
			if (!ms_isalnum((unsigned char)tp[s + eq]) &&
			    tp[s + eq] != '-' && tp[s + eq] != '_' &&
			    tp[s + eq] != '.')
				break;
		if (eq < i - s && tp[s + eq] == '=') {
			err = parse_modifier(rec, tp + s, i - s, eq, s, diag);
			if (err != MAILSEC_OK)
				goto fail;
			continue;
		}
		if (rec->nterms == cap) {
			struct ms_spf_term *nt;
			size_t ncap = cap ? cap * 2 : 8;

			if (cap >= MS_SPF_TERMS_MAX) {
				err = ms_diag(diag, MAILSEC_ELIMIT, s, 0,
				    "more than %d terms", MS_SPF_TERMS_MAX);
				goto fail;
			}
			nt = ms_reallocarray(rec->terms, ncap, sizeof *nt);
			if (nt == NULL) {
				err = MAILSEC_ENOMEM;
				goto fail;
			}
			rec->terms = nt;
			cap = ncap;
		}
		memset(&rec->terms[rec->nterms], 0, sizeof rec->terms[0]);
		rec->terms[rec->nterms].text.ptr = tp + s;
		rec->terms[rec->nterms].text.len = i - s;
		err = parse_mechanism(&rec->terms[rec->nterms], tp + s, i - s,
		    s, diag);
		if (err != MAILSEC_OK)
			goto fail;
		rec->nterms++;
	}
	if ((err = lits_fill(rec)) != MAILSEC_OK)
		goto fail;
	*out = rec;
	return MAILSEC_OK;
fail:
	ms_spf_record_free(rec);
	return err;
}

mailsec_err
mailsec_spf_record_check(const char *p, size_t len,
    struct mailsec_diag *diag)
{
	struct ms_spf_record *rec;
	mailsec_err err;

	if (p == NULL && len > 0)
		return MAILSEC_EINVAL;
	err = ms_spf_record_parse(p, len, &rec, diag);
	ms_spf_record_free(rec);
	return err;
}
