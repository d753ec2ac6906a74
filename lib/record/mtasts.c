/*
 * lib/record/mtasts.c - MTA-STS for senders (RFC 8461): the TXT record
 * (3.1), the policy file (3.2) and MX pattern matching (4.1); the
 * TLS-RPT record (RFC 8460 3). The line, id, max_age and mx rules are
 * shared with the linter (lint_tags.c) through mtasts_int.h.
 */
#include <stdlib.h>
#include <string.h>

#include "record/mtasts_int.h"
#include "record/record_int.h"

/* RFC 8461 3.2: sts-policy-ext-name = (ALPHA / DIGIT)
 * *31(ALPHA / DIGIT / "_" / "-" / "."). */
#define MTASTS_KEY_MAX 32

/* ---- shared with the linter -------------------------------------------- */

bool
ms_mtasts_line_next(const char *p, size_t len, size_t *pos,
    struct ms_mtasts_line *l)
{
	size_t i = *pos, e, k, c;

	if (i >= len)
		return false;
	memset(l, 0, sizeof *l);
	for (e = i; e < len && p[e] != '\n'; e++)
		continue;
	k = e;
	if (k > i && p[k - 1] == '\r')
		k--;
	else if (e < len)
		l->lf = true;
	l->off = i;
	l->len = k - i;
	*pos = e < len ? e + 1 : len;
	for (c = i; c < k && p[c] != ':'; c++)
		continue;
	if (c == k || c == i)
		return true;
	l->kv = true;
	l->key = p + i;
	l->klen = c - i;
	for (c++; c < k && ms_iswsp((unsigned char)p[c]); c++)
		continue;
	while (k > c && ms_iswsp((unsigned char)p[k - 1]))
		k--;
	l->val = p + c;
	l->vlen = k - c;
	l->voff = c;
	return true;
}

bool
mailsec_mtasts_id_ok(const char *p, size_t n)
{
	size_t i;

	if (n < 1 || n > MAILSEC_MTASTS_ID_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!ms_isalnum((unsigned char)p[i]))
			return false;
	return true;
}

bool
ms_mtasts_max_age(const char *p, size_t n, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	/* 1*10DIGIT: ten digits cannot overflow 64 bits */
	if (n < 1 || n > 10)
		return false;
	for (i = 0; i < n; i++) {
		if (!ms_isdigit((unsigned char)p[i]))
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > MAILSEC_MTASTS_MAX_AGE_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

bool
ms_mtasts_mx_pattern_ok(const char *p, size_t n)
{
	if (n > 2 && p[0] == '*' && p[1] == '.')
		return p[2] != '.' && ms_rec_domain_ok(p + 2, n - 2);
	return n > 0 && p[0] != '*' && p[0] != '.' && ms_rec_domain_ok(p, n);
}

bool
ms_mtasts_mode_parse(const char *p, size_t n, enum mailsec_mtasts_mode *mode)
{
	static const struct {
		const char *name;
		enum mailsec_mtasts_mode mode;
	} modes[] = {
		{ "enforce", MAILSEC_MTASTS_ENFORCE },
		{ "testing", MAILSEC_MTASTS_TESTING },
		{ "none", MAILSEC_MTASTS_NONE },
	};
	size_t i;

	for (i = 0; i < MS_ARRAY_LEN(modes); i++)
		if (n == strlen(modes[i].name) &&
		    memcmp(p, modes[i].name, n) == 0) {
			*mode = modes[i].mode;
			return true;
		}
	return false;
}

/* ---- the TXT record ---------------------------------------------------- */

/* RFC 8461 3.1 sts-ext-name: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" /
 * "-" / "."); the same form as a policy key. */
static bool
ext_name_ok(const char *p, size_t n)
{
	size_t i;

	if (n < 1 || n > MTASTS_KEY_MAX || !ms_isalnum((unsigned char)p[0]))
		return false;
	for (i = 1; i < n; i++)
		if (!ms_isalnum((unsigned char)p[i]) && p[i] != '_' &&
		    p[i] != '-' && p[i] != '.')
			return false;
	return true;
}

/* One field of a TXT record: name=value. */
struct txt_field {
	const char *name, *val;
	size_t nlen, vlen;
	size_t off;
};

/* Fields in one record (RFC 8461 3.1 and RFC 8460 3 define two each;
 * the rest are extensions). */
#define TXT_FIELDS_MAX 32

/*
 * RFC 8461 3.1 / RFC 8460 3: version 1*(field-delim field)
 * [field-delim], field-delim = *WSP ";" *WSP, field = name "=" value;
 * the first field is v=VERSION exactly (%s: case-sensitive). Names are
 * ext-name (letters, digits, '_', '-', '.'); values are visible ASCII
 * other than ';' (rua lists keep their blanks around commas). Not the
 * DKIM tag=value tokenizer: its tag names have no '.' or '-'.
 */
static mailsec_err
txt_fields(const char *p, size_t len, const char *version,
    struct txt_field *f, size_t *nf, struct mailsec_diag *diag)
{
	size_t i = 0, s, e, eq, n = 0, k;

	*nf = 0;
	if (p == NULL && len > 0)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "no record");
	if (len > MAILSEC_MTASTS_POLICY_MAX)
		return ms_diag(diag, MAILSEC_ELIMIT, 0, 0, "record longer "
		    "than %d bytes", MAILSEC_MTASTS_POLICY_MAX);
	while (i < len) {
		while (i < len && ms_iswsp((unsigned char)p[i]))
			i++;
		if (i == len)
			break;
		for (s = e = i; e < len && p[e] != ';'; e++)
			continue;
		i = e < len ? e + 1 : len;
		while (e > s && ms_iswsp((unsigned char)p[e - 1]))
			e--;
		if (e == s) {
			/* only a final delimiter may stand alone */
			if (n > 0 && i == len && p[len - 1] == ';')
				break;
			return ms_diag(diag, MAILSEC_ESYNTAX, s, 0,
			    "empty field");
		}
		for (eq = s; eq < e && p[eq] != '='; eq++)
			continue;
		if (eq == e || !ext_name_ok(p + s, eq - s))
			return ms_diag(diag, MAILSEC_ESYNTAX, s, 0,
			    "field is not name=value");
		for (k = eq + 1; k < e; k++)
			if (((unsigned char)p[k] < 0x20 &&
			    !ms_iswsp((unsigned char)p[k])) ||
			    (unsigned char)p[k] > 0x7e)
				return ms_diag(diag, MAILSEC_ESYNTAX, k, 0,
				    "control or 8-bit byte in a value");
		if (n == TXT_FIELDS_MAX)
			return ms_diag(diag, MAILSEC_ELIMIT, s, 0, "more than "
			    "%d fields", TXT_FIELDS_MAX);
		f[n].name = p + s;
		f[n].nlen = eq - s;
		f[n].val = p + eq + 1;
		f[n].vlen = e - eq - 1;
		f[n].off = s;
		n++;
	}
	if (n == 0 || f[0].nlen != 1 || f[0].name[0] != 'v' ||
	    f[0].vlen != strlen(version) ||
	    memcmp(f[0].val, version, f[0].vlen) != 0)
		return ms_diag(diag, MAILSEC_ESYNTAX, 0, 0, "the record does "
		    "not start with v=%s", version);
	*nf = n;
	return MAILSEC_OK;
}

static bool
field_is(const struct txt_field *f, const char *name)
{
	return f->nlen == strlen(name) && memcmp(f->name, name, f->nlen) == 0;
}

mailsec_err
mailsec_mtasts_txt_parse(const char *p, size_t len,
    struct mailsec_mtasts_txt *out, struct mailsec_diag *diag)
{
	struct txt_field f[TXT_FIELDS_MAX];
	const struct txt_field *id = NULL;
	size_t i, nf;
	mailsec_err err;

	if (out == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "no output");
	memset(out, 0, sizeof *out);
	if ((err = txt_fields(p, len, "STSv1", f, &nf, diag)) != MAILSEC_OK)
		return err;
	for (i = 1; i < nf; i++) {
		if (field_is(&f[i], "v"))
			return ms_diag(diag, MAILSEC_ESYNTAX, f[i].off, 0,
			    "a second v=");
		if (!field_is(&f[i], "id")) {
			/* sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E) */
			if (f[i].vlen == 0 || memchr(f[i].val, ' ',
			    f[i].vlen) != NULL || memchr(f[i].val, '\t',
			    f[i].vlen) != NULL || memchr(f[i].val, '=',
			    f[i].vlen) != NULL)
				return ms_diag(diag, MAILSEC_ESYNTAX,
				    f[i].off, 0, "bad extension value");
			continue;
		}
		if (id != NULL)
			return ms_diag(diag, MAILSEC_ESYNTAX, f[i].off, 0,
			    "a second id=");
		id = &f[i];
	}
	if (id == NULL)
		return ms_diag(diag, MAILSEC_ESYNTAX, len, 0, "no id= "
		    "(RFC 8461 3.1)");
	if (!mailsec_mtasts_id_ok(id->val, id->vlen))
		return ms_diag(diag, MAILSEC_ESYNTAX,
		    (size_t)(id->val - p), 0, "id= is not 1 to 32 letters "
		    "and digits (RFC 8461 3.1)");
	memcpy(out->id, id->val, id->vlen);
	out->id[id->vlen] = '\0';
	return MAILSEC_OK;
}

/* ---- the policy file --------------------------------------------------- */

void
mailsec_mtasts_policy_free(struct mailsec_mtasts_policy *pol)
{
	if (pol == NULL)
		return;
	ms_rec_strv_free(pol->mx, pol->nmx);
	free(pol);
}

/* A value's bytes: visible ASCII, blanks inside, UTF-8 bytes (RFC 8461
 * 3.2 sts-policy-vchar); never a control byte. */
static bool
value_ok(const char *p, size_t n)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if ((c < 0x21 && !ms_iswsp(c)) || c == 0x7f)
			return false;
	}
	return true;
}

/* Adds mx pattern (p, n) lowercased, without a final dot. */
static mailsec_err
mx_add(struct mailsec_mtasts_policy *pol, const char *p, size_t n)
{
	mailsec_err err;
	size_t i;
	char *s;

	if (n > 0 && p[n - 1] == '.')
		n--;
	if ((err = ms_rec_strv_add(&pol->mx, &pol->nmx, p, n)) != MAILSEC_OK)
		return err;
	s = pol->mx[pol->nmx - 1];
	for (i = 0; i < n; i++)
		s[i] = (char)ms_tolower((unsigned char)s[i]);
	return MAILSEC_OK;
}

enum { K_VERSION, K_MODE, K_MAX_AGE, K_MX, K_OTHER };

static int
policy_key(const char *p, size_t n)
{
	static const char *const keys[] = { "version", "mode", "max_age",
	    "mx" };
	size_t k;

	for (k = 0; k < MS_ARRAY_LEN(keys); k++)
		if (n == strlen(keys[k]) && memcmp(p, keys[k], n) == 0)
			return (int)k;
	return K_OTHER;
}

mailsec_err
mailsec_mtasts_policy_parse(const char *p, size_t len,
    struct mailsec_mtasts_policy **out, struct mailsec_diag *diag)
{
	static const char *const need[] = { "version", "mode", "max_age" };
	struct mailsec_mtasts_policy *pol = NULL;
	struct ms_mtasts_line l;
	mailsec_err err = MAILSEC_OK;
	unsigned seen = 0;
	size_t pos = 0, line = 0, k;
	int key;

	if (out == NULL || (p == NULL && len > 0))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "no policy");
	*out = NULL;
	if (len > MAILSEC_MTASTS_POLICY_MAX)
		return ms_diag(diag, MAILSEC_ELIMIT, 0, 0, "policy longer than "
		    "%d bytes (RFC 8461 3.3)", MAILSEC_MTASTS_POLICY_MAX);
	if ((pol = calloc(1, sizeof *pol)) == NULL)
		return ms_diag(diag, MAILSEC_ENOMEM, 0, 0, "out of memory");
	pol->mode = MAILSEC_MTASTS_NONE;
	while (ms_mtasts_line_next(p, len, &pos, &l)) {
		line++;
		if (l.len == 0)
			continue;
		if (!l.kv || !ext_name_ok(l.key, l.klen)) {
			err = ms_diag(diag, MAILSEC_ESYNTAX, l.off, line,
			    "line %zu: not 'key: value'", line);
			goto done;
		}
		if (!value_ok(l.val, l.vlen) || l.vlen == 0) {
			err = ms_diag(diag, MAILSEC_ESYNTAX, l.voff, line,
			    "line %zu: empty value or a control byte in it",
			    line);
			goto done;
		}
		key = policy_key(l.key, l.klen);
		if (key == K_OTHER)
			continue;	/* an extension: ignored (3.2) */
		if (key != K_MX && (seen & (1u << key))) {
			err = ms_diag(diag, MAILSEC_ESYNTAX, l.off, line,
			    "line %zu: %s appears twice", line, need[key]);
			goto done;
		}
		seen |= 1u << key;
		switch (key) {
		case K_VERSION:
			if (l.vlen != 5 || memcmp(l.val, "STSv1", 5) != 0) {
				err = ms_diag(diag, MAILSEC_ESYNTAX, l.voff,
				    line, "line %zu: version is not STSv1",
				    line);
				goto done;
			}
			memcpy(pol->version, "STSv1", 6);
			break;
		case K_MODE:
			if (!ms_mtasts_mode_parse(l.val, l.vlen, &pol->mode)) {
				err = ms_diag(diag, MAILSEC_ESYNTAX, l.voff,
				    line, "line %zu: mode is not enforce, "
				    "testing or none", line);
				goto done;
			}
			break;
		case K_MAX_AGE:
			if (!ms_mtasts_max_age(l.val, l.vlen, &pol->max_age)) {
				err = ms_diag(diag, MAILSEC_ESYNTAX, l.voff,
				    line, "line %zu: max_age is not a number "
				    "of seconds up to %u", line,
				    MAILSEC_MTASTS_MAX_AGE_MAX);
				goto done;
			}
			break;
		case K_MX:
			if (pol->nmx >= MAILSEC_MTASTS_POLICY_MX_MAX) {
				err = ms_diag(diag, MAILSEC_ELIMIT, l.off,
				    line, "more than %d mx lines",
				    MAILSEC_MTASTS_POLICY_MX_MAX);
				goto done;
			}
			if (!ms_mtasts_mx_pattern_ok(l.val, l.vlen)) {
				err = ms_diag(diag, MAILSEC_ESYNTAX, l.voff,
				    line, "line %zu: mx is not a host name or "
				    "*.host pattern", line);
				goto done;
			}
			if ((err = mx_add(pol, l.val, l.vlen)) != MAILSEC_OK) {
				err = ms_diag(diag, err, 0, 0,
				    "out of memory");
				goto done;
			}
			break;
		}
	}
	for (k = 0; k < MS_ARRAY_LEN(need); k++)
		if (!(seen & (1u << k))) {
			err = ms_diag(diag, MAILSEC_ESYNTAX, len, line,
			    "no %s: line (RFC 8461 3.2)", need[k]);
			goto done;
		}
	if (pol->mode != MAILSEC_MTASTS_NONE && pol->nmx == 0) {
		err = ms_diag(diag, MAILSEC_ESYNTAX, len, line, "no mx: line "
		    "(required unless mode is none)");
		goto done;
	}
	*out = pol;
	pol = NULL;
done:
	mailsec_mtasts_policy_free(pol);
	return err;
}

/* ---- MX matching (4.1) ------------------------------------------------- */

bool
mailsec_mtasts_mx_match(const char *pattern, const char *host)
{
	size_t pl, hl;
	const char *dot;

	if (pattern == NULL || host == NULL)
		return false;
	pl = strlen(pattern);
	hl = strlen(host);
	if (pl > 0 && pattern[pl - 1] == '.')
		pl--;
	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	if (pl == 0 || hl == 0)
		return false;
	if (pl > 2 && pattern[0] == '*' && pattern[1] == '.') {
		/* "*." is one whole label: the host's first label goes, the
		 * rest must equal the pattern's rest */
		dot = memchr(host, '.', hl);
		if (dot == NULL || dot == host)
			return false;
		return ms_ascii_eq(dot + 1, hl - (size_t)(dot + 1 - host),
		    pattern + 2, pl - 2);
	}
	return ms_ascii_eq(pattern, pl, host, hl);
}

/* ---- TLS-RPT (RFC 8460 3) ---------------------------------------------- */

void
mailsec_tlsrpt_rua_free(char **rua, size_t nrua)
{
	ms_rec_strv_free(rua, nrua);
}

mailsec_err
mailsec_tlsrpt_txt_parse(const char *p, size_t len, char ***rua,
    size_t *nrua, struct mailsec_diag *diag)
{
	struct txt_field f[TXT_FIELDS_MAX];
	const struct txt_field *t = NULL;
	const char *u;
	char **v = NULL;
	size_t nv = 0, i, s, n, nf;
	mailsec_err err;

	if (rua == NULL || nrua == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "no output");
	*rua = NULL;
	*nrua = 0;
	if ((err = txt_fields(p, len, "TLSRPTv1", f, &nf, diag)) !=
	    MAILSEC_OK)
		return err;
	for (i = 1; i < nf; i++)
		if (field_is(&f[i], "rua")) {
			if (t != NULL)
				return ms_diag(diag, MAILSEC_ESYNTAX,
				    f[i].off, 0, "a second rua=");
			t = &f[i];
		}
	if (t == NULL)
		return ms_diag(diag, MAILSEC_ESYNTAX, len, 0, "no rua= "
		    "(RFC 8460 3)");
	for (i = s = 0; i <= t->vlen; i++) {
		if (i < t->vlen && t->val[i] != ',')
			continue;
		u = t->val + s;
		n = i - s;
		s = i + 1;
		while (n > 0 && ms_iswsp((unsigned char)u[0])) {
			u++;
			n--;
		}
		while (n > 0 && ms_iswsp((unsigned char)u[n - 1]))
			n--;
		if (!((n > 7 && ms_ascii_eq(u, 7, "mailto:", 7) &&
		    memchr(u + 7, '@', n - 7) != NULL) ||
		    (n > 8 && ms_ascii_eq(u, 8, "https://", 8))))
			continue;
		if (memchr(u, ' ', n) != NULL || memchr(u, '\t', n) != NULL)
			continue;
		if (nv == MAILSEC_TLSRPT_RUA_MAX)
			break;
		if ((err = ms_rec_strv_add(&v, &nv, u, n)) != MAILSEC_OK) {
			ms_rec_strv_free(v, nv);
			return ms_diag(diag, err, 0, 0, "out of memory");
		}
	}
	if (nv == 0)
		return ms_diag(diag, MAILSEC_ESYNTAX, (size_t)(t->val - p), 0,
		    "rua= has no mailto: or https: URI");
	*rua = v;
	*nrua = nv;
	return MAILSEC_OK;
}
