/*
 * lib/record/lint.c - the record linter's frame: record types and their
 * detection, the finding list, "did you mean" suggestions, the TXT
 * lookup helper, and mailsec_lint_record() dispatching to the per-type
 * linters (lint_spf.c, lint_tags.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/record_int.h"

/* ---- names ------------------------------------------------------------- */

static const struct {
	const char *name;
	enum mailsec_record_type t;
} type_names[] = {
	{ "spf", MAILSEC_RECORD_SPF },
	{ "dmarc", MAILSEC_RECORD_DMARC },
	{ "dkim", MAILSEC_RECORD_DKIM },
	{ "mta-sts", MAILSEC_RECORD_MTASTS },
	{ "mta-sts-policy", MAILSEC_RECORD_MTASTS_POLICY },
	{ "tlsrpt", MAILSEC_RECORD_TLSRPT },
	/* aliases, after the canonical names */
	{ "sts", MAILSEC_RECORD_MTASTS },
	{ "mtasts", MAILSEC_RECORD_MTASTS },
	{ "policy", MAILSEC_RECORD_MTASTS_POLICY },
	{ "mtasts-policy", MAILSEC_RECORD_MTASTS_POLICY },
	{ "tls-rpt", MAILSEC_RECORD_TLSRPT },
};

const char *
mailsec_record_type_name(enum mailsec_record_type t)
{
	size_t i;

	for (i = 0; i < MS_ARRAY_LEN(type_names); i++)
		if (type_names[i].t == t)
			return type_names[i].name;
	return "unknown";
}

enum mailsec_record_type
mailsec_record_type_parse(const char *name)
{
	size_t i;

	if (name == NULL)
		return MAILSEC_RECORD_UNKNOWN;
	for (i = 0; i < MS_ARRAY_LEN(type_names); i++)
		if (ms_ascii_eqz(name, strlen(name), type_names[i].name))
			return type_names[i].t;
	return MAILSEC_RECORD_UNKNOWN;
}

const char *
mailsec_severity_name(enum mailsec_severity s)
{
	switch (s) {
	case MAILSEC_SEV_INFO: return "info";
	case MAILSEC_SEV_WARNING: return "warning";
	case MAILSEC_SEV_ERROR: return "error";
	}
	return "unknown";
}

/* ---- findings ---------------------------------------------------------- */

static void
copy_printable(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < cap; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static struct mailsec_finding *
finding_new(struct ms_findings *f, enum mailsec_severity sev,
    const char *code, size_t off)
{
	struct mailsec_finding *x, *nv;
	size_t ncap;

	if (f->err != MAILSEC_OK || f->n > MAILSEC_FINDINGS_MAX)
		return NULL;
	if (f->n == MAILSEC_FINDINGS_MAX) {
		/* the last slot says the list was cut */
		x = &f->v[f->n - 1];
		memset(x, 0, sizeof *x);
		x->severity = MAILSEC_SEV_INFO;
		copy_printable(x->area, sizeof x->area, f->area ? f->area :
		    "");
		copy_printable(x->code, sizeof x->code, "too-many-findings");
		snprintf(x->what, sizeof x->what, "more than %d findings: "
		    "the rest are not listed", MAILSEC_FINDINGS_MAX);
		f->n++;
		return NULL;
	}
	if (f->n == f->cap) {
		ncap = f->cap ? f->cap * 2 : 16;
		nv = ms_reallocarray(f->v, ncap, sizeof *nv);
		if (nv == NULL) {
			f->err = MAILSEC_ENOMEM;
			return NULL;
		}
		f->v = nv;
		f->cap = ncap;
	}
	x = &f->v[f->n++];
	memset(x, 0, sizeof *x);
	x->severity = sev;
	copy_printable(x->area, sizeof x->area, f->area ? f->area : "");
	copy_printable(x->code, sizeof x->code, code);
	x->has_offset = off != MS_NOOFF;
	x->offset = off == MS_NOOFF ? 0 : off;
	return x;
}

static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

void
ms_finding_add(struct ms_findings *f, enum mailsec_severity sev,
    const char *code, size_t off, const char *fix, const char *fmt, ...)
{
	struct mailsec_finding *x;
	va_list ap;

	if ((x = finding_new(f, sev, code, off)) == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(x->what, sizeof x->what, fmt, ap);
	va_end(ap);
	sanitize(x->what);
	if (fix != NULL)
		copy_printable(x->fix, sizeof x->fix, fix);
}

void
ms_finding_addf(struct ms_findings *f, enum mailsec_severity sev,
    const char *code, size_t off, const char *what, const char *fixfmt, ...)
{
	struct mailsec_finding *x;
	va_list ap;

	if ((x = finding_new(f, sev, code, off)) == NULL)
		return;
	copy_printable(x->what, sizeof x->what, what);
	va_start(ap, fixfmt);
	vsnprintf(x->fix, sizeof x->fix, fixfmt, ap);
	va_end(ap);
	sanitize(x->fix);
}

void
ms_findings_push(struct ms_findings *f, const struct mailsec_finding *x)
{
	struct mailsec_finding *y;

	if ((y = finding_new(f, x->severity, x->code, x->has_offset ?
	    x->offset : MS_NOOFF)) == NULL)
		return;
	memcpy(y->what, x->what, sizeof y->what);
	memcpy(y->fix, x->fix, sizeof y->fix);
}

void
ms_findings_free(struct ms_findings *f)
{
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
}

void
ms_findings_take(struct ms_findings *f, struct mailsec_finding **v,
    size_t *n)
{
	*v = f->v;
	*n = f->n > MAILSEC_FINDINGS_MAX ? MAILSEC_FINDINGS_MAX : f->n;
	f->v = NULL;
	f->n = f->cap = 0;
}

/* ---- suggestions ------------------------------------------------------- */

unsigned
ms_rec_distance(const char *a, size_t an, const char *b, unsigned max)
{
	unsigned d[MS_SUGGEST_WORD_MAX + 1][MS_SUGGEST_WORD_MAX + 1];
	size_t bn = strlen(b), i, j;
	unsigned best, cost, v;

	if (an > MS_SUGGEST_WORD_MAX || bn > MS_SUGGEST_WORD_MAX)
		return max + 1;
	for (i = 0; i <= an; i++)
		d[i][0] = (unsigned)i;
	for (j = 0; j <= bn; j++)
		d[0][j] = (unsigned)j;
	for (i = 1; i <= an; i++) {
		best = d[i][0];
		for (j = 1; j <= bn; j++) {
			cost = ms_tolower((unsigned char)a[i - 1]) ==
			    ms_tolower((unsigned char)b[j - 1]) ? 0 : 1;
			v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			/* a transposition is one edit: inlcude */
			if (i > 1 && j > 1 &&
			    ms_tolower((unsigned char)a[i - 1]) ==
			    ms_tolower((unsigned char)b[j - 2]) &&
			    ms_tolower((unsigned char)a[i - 2]) ==
			    ms_tolower((unsigned char)b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
			if (v < best)
				best = v;
		}
		if (best > max)
			return max + 1;
	}
	return d[an][bn] > max ? max + 1 : d[an][bn];
}

const char *
ms_rec_suggest(const char *w, size_t n, const char *const *cand,
    size_t ncand, unsigned max)
{
	const char *best = NULL;
	unsigned bd = max + 1, d;
	size_t i;

	if (n == 0)
		return NULL;
	for (i = 0; i < ncand; i++) {
		d = ms_rec_distance(w, n, cand[i], max);
		if (d == 0)
			return NULL;
		/* one-letter words are never "close" to anything */
		if (d < bd && d < strlen(cand[i]) && d < n) {
			bd = d;
			best = cand[i];
		}
	}
	return best;
}

char *
ms_rec_printable(char *out, size_t cap, const char *p, size_t n)
{
	size_t i, k = 0;

	if (cap == 0)
		return out;
	for (i = 0; i < n && k + 1 < cap; i++)
		out[k++] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
	if (i < n && cap >= 4) {
		k = k > cap - 4 ? cap - 4 : k;
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
	return out;
}

bool
ms_rec_domain_ok(const char *p, size_t n)
{
	if (n > 0 && p[n - 1] == '.')
		n--;
	return ms_domain_ldh_ok(p, n, false);
}

/* ---- DNS helper -------------------------------------------------------- */

void
ms_rec_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

mailsec_err
ms_rec_strv_add(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv, *c;

	if ((c = ms_memdupz(s, len)) == NULL)
		return MAILSEC_ENOMEM;
	nv = ms_reallocarray(*v, *n + 1, sizeof *nv);
	if (nv == NULL) {
		free(c);
		return MAILSEC_ENOMEM;
	}
	nv[(*n)++] = c;
	*v = nv;
	return MAILSEC_OK;
}

mailsec_err
ms_rec_txt(struct mailsec_resolver *r, const char *name, const char *prefix,
    char ***v, size_t *n, enum mailsec_dns_status *status)
{
	struct mailsec_dns_result *res = NULL;
	size_t i, pl = prefix ? strlen(prefix) : 0;
	mailsec_err err;

	*v = NULL;
	*n = 0;
	if ((err = mailsec_dns_lookup(r, name, MAILSEC_DNS_TXT, &res)) !=
	    MAILSEC_OK) {
		/* a name DNS cannot carry: as good as absent */
		*status = MAILSEC_DNS_NXDOMAIN;
		return err == MAILSEC_ENOMEM ? err : MAILSEC_OK;
	}
	*status = res->status;
	for (i = 0; i < res->count && err == MAILSEC_OK; i++) {
		const struct mailsec_dns_rr *rr = &res->rrs[i];

		if (rr->type != MAILSEC_DNS_TXT)
			continue;
		if (pl > 0 && (rr->u.txt.len < pl ||
		    !ms_ascii_eq(rr->u.txt.data, pl, prefix, pl)))
			continue;
		err = ms_rec_strv_add(v, n, rr->u.txt.data, rr->u.txt.len);
	}
	mailsec_dns_result_free(res);
	if (err != MAILSEC_OK) {
		ms_rec_strv_free(*v, *n);
		*v = NULL;
		*n = 0;
	}
	return err;
}

/* ---- detection --------------------------------------------------------- */

/* The first word: up to a space, ';' or the end, leading spaces skipped. */
static struct mailsec_str
first_word(const char *p, size_t len)
{
	struct mailsec_str w;
	size_t i = 0, s;

	while (i < len && ms_iswsp((unsigned char)p[i]))
		i++;
	s = i;
	while (i < len && p[i] != ' ' && p[i] != ';' && p[i] != '\t')
		i++;
	w.ptr = p + s;
	w.len = i - s;
	return w;
}

/* Does (p, len) hold tag "name=" at a tag start (after ';' or the
 * beginning, spaces skipped)? */
static bool
has_tag(const char *p, size_t len, const char *name)
{
	size_t i = 0, nl = strlen(name), k;

	while (i < len) {
		while (i < len && (ms_iswsp((unsigned char)p[i]) ||
		    p[i] == '\r' || p[i] == '\n'))
			i++;
		k = i;
		while (k < len && ms_isalnum((unsigned char)p[k]))
			k++;
		if (k - i == nl && ms_ascii_eq(p + i, nl, name, nl)) {
			while (k < len && ms_iswsp((unsigned char)p[k]))
				k++;
			if (k < len && p[k] == '=')
				return true;
		}
		while (i < len && p[i] != ';')
			i++;
		i++;
	}
	return false;
}

static bool
has_word_prefix(const char *p, size_t len, const char *pre)
{
	size_t i = 0, pl = strlen(pre);

	while (i < len) {
		while (i < len && p[i] == ' ')
			i++;
		if (len - i >= pl && ms_ascii_eq(p + i, pl, pre, pl))
			return true;
		while (i < len && p[i] != ' ')
			i++;
	}
	return false;
}

/* An MTA-STS policy file: "version:" or "mode:" at a line start. */
static bool
looks_like_policy(const char *p, size_t len)
{
	static const char *const keys[] = { "version:", "mode:", "max_age:",
	    "mx:" };
	size_t i = 0, k, hits = 0;

	while (i < len) {
		for (k = 0; k < MS_ARRAY_LEN(keys); k++) {
			size_t kl = strlen(keys[k]);

			if (len - i >= kl &&
			    ms_ascii_eq(p + i, kl, keys[k], kl))
				hits++;
		}
		while (i < len && p[i] != '\n')
			i++;
		i++;
	}
	return hits >= 2;
}

enum mailsec_record_type
mailsec_record_detect(const char *p, size_t len)
{
	static const struct {
		const char *version;
		enum mailsec_record_type t;
	} v[] = {
		{ "v=spf1", MAILSEC_RECORD_SPF },
		{ "v=DMARC1", MAILSEC_RECORD_DMARC },
		{ "v=DKIM1", MAILSEC_RECORD_DKIM },
		{ "v=STSv1", MAILSEC_RECORD_MTASTS },
		{ "v=TLSRPTv1", MAILSEC_RECORD_TLSRPT },
	};
	struct mailsec_str w;
	unsigned d, bd = 3;
	size_t i, best = MS_ARRAY_LEN(v);

	if (p == NULL || len == 0)
		return MAILSEC_RECORD_UNKNOWN;
	if (looks_like_policy(p, len))
		return MAILSEC_RECORD_MTASTS_POLICY;
	w = first_word(p, len);
	/* "v = DMARC1" is still DMARC: drop spaces around '=' */
	for (i = 0; i < MS_ARRAY_LEN(v); i++) {
		d = ms_rec_distance(w.ptr, w.len, v[i].version, 2);
		if (d < bd) {
			bd = d;
			best = i;
		}
	}
	if (best < MS_ARRAY_LEN(v))
		return v[best].t;
	/* "spf1 -all", "v=spf2.0/pra": SPF-ish version words */
	if (w.len >= 3 && (ms_ascii_eq(w.ptr, 3, "spf", 3) ||
	    (w.len >= 5 && ms_ascii_eq(w.ptr, 5, "v=spf", 5))))
		return MAILSEC_RECORD_SPF;
	if (has_word_prefix(p, len, "ip4:") || has_word_prefix(p, len,
	    "include:") || has_word_prefix(p, len, "-all") ||
	    has_word_prefix(p, len, "~all"))
		return MAILSEC_RECORD_SPF;
	if (has_tag(p, len, "rua") && has_tag(p, len, "v") &&
	    has_tag(p, len, "id") == false && has_tag(p, len, "p") == false)
		return MAILSEC_RECORD_TLSRPT;
	if (has_tag(p, len, "p") && (has_tag(p, len, "rua") ||
	    has_tag(p, len, "adkim") || has_tag(p, len, "aspf") ||
	    has_tag(p, len, "sp")))
		return MAILSEC_RECORD_DMARC;
	if (has_tag(p, len, "p") && (has_tag(p, len, "k") || len > 100))
		return MAILSEC_RECORD_DKIM;
	if (has_tag(p, len, "id") && has_tag(p, len, "v"))
		return MAILSEC_RECORD_MTASTS;
	return MAILSEC_RECORD_UNKNOWN;
}

/* ---- the linter -------------------------------------------------------- */

mailsec_err
mailsec_lint_record(const char *p, size_t len,
    const struct mailsec_lint_opts *opts, struct mailsec_lint **out,
    struct mailsec_diag *diag)
{
	static const struct mailsec_lint_opts none;
	struct ms_findings f = { 0 };
	struct ms_lint_ctx c;
	struct mailsec_lint *l;
	mailsec_err err = MAILSEC_OK;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || (p == NULL && len > 0))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "bad arguments");
	if (len > MAILSEC_LINT_INPUT_MAX)
		return ms_diag(diag, MAILSEC_ELIMIT, MAILSEC_LINT_INPUT_MAX, 0,
		    "record longer than %d bytes", MAILSEC_LINT_INPUT_MAX);
	if (opts == NULL)
		opts = &none;
	if ((l = ms_calloc(1, sizeof *l)) == NULL)
		return MAILSEC_ENOMEM;
	l->type = opts->type;
	if (l->type == MAILSEC_RECORD_UNKNOWN) {
		l->type = mailsec_record_detect(p, len);
		l->detected = true;
	}
	l->resolved = opts->resolver != NULL;
	c.opts = opts;
	c.f = &f;
	c.out = l;
	f.area = mailsec_record_type_name(l->type);
	switch (l->type) {
	case MAILSEC_RECORD_SPF:
		err = ms_lint_spf(&c, p, len);
		break;
	case MAILSEC_RECORD_DMARC:
		err = ms_lint_dmarc(&c, p, len);
		break;
	case MAILSEC_RECORD_DKIM:
		err = ms_lint_dkim(&c, p, len);
		break;
	case MAILSEC_RECORD_MTASTS:
		err = ms_lint_mtasts(&c, p, len);
		break;
	case MAILSEC_RECORD_MTASTS_POLICY:
		err = ms_lint_mtasts_policy(&c, p, len);
		break;
	case MAILSEC_RECORD_TLSRPT:
		err = ms_lint_tlsrpt(&c, p, len);
		break;
	case MAILSEC_RECORD_UNKNOWN:
		ms_finding_add(&f, MAILSEC_SEV_ERROR, "unknown-type",
		    len ? 0 : MS_NOOFF, "start it with its version tag "
		    "(v=spf1, v=DMARC1, v=DKIM1, v=STSv1, v=TLSRPTv1) or "
		    "name the type (--type)",
		    "not a record this linter knows (SPF, DMARC, DKIM, "
		    "MTA-STS, TLS-RPT)");
		break;
	}
	if (err == MAILSEC_OK)
		err = f.err;
	if (err != MAILSEC_OK) {
		ms_findings_free(&f);
		mailsec_lint_free(l);
		return err;
	}
	ms_findings_take(&f, &l->findings, &l->nfindings);
	*out = l;
	return MAILSEC_OK;
}

void
mailsec_lint_free(struct mailsec_lint *l)
{
	if (l == NULL)
		return;
	ms_rec_strv_free(l->flat, l->nflat);
	free(l->findings);
	free(l);
}

size_t
mailsec_lint_count(const struct mailsec_lint *l, enum mailsec_severity s)
{
	size_t i, n = 0;

	if (l == NULL)
		return 0;
	for (i = 0; i < l->nfindings; i++)
		if (l->findings[i].severity == s)
			n++;
	return n;
}

const struct mailsec_finding *
ms_findings_find(const struct mailsec_finding *v, size_t n, const char *code)
{
	size_t i;

	if (code == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (strcmp(v[i].code, code) == 0)
			return &v[i];
	return NULL;
}

const struct mailsec_finding *
mailsec_lint_find(const struct mailsec_lint *l, const char *code)
{
	return l == NULL ? NULL : ms_findings_find(l->findings, l->nfindings,
	    code);
}
