/*
 * lib/record/record_int.h - record builders, linter and audit internals:
 * the finding list, the "did you mean" helper, the per-type linters.
 */
#ifndef MS_RECORD_INT_H
#define MS_RECORD_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <mailsec/record.h>

#include "core/core.h"

/* A growing list of findings, bounded by MAILSEC_FINDINGS_MAX. */
struct ms_findings {
	struct mailsec_finding *v;
	size_t n;
	size_t cap;
	mailsec_err err;	/* ENOMEM while adding: reported at the end */
	const char *area;	/* area of the findings added now */
};

/* Adds a finding; off (size_t)-1 is "not about a position". fix may be
 * NULL. Never fails: a memory error is kept in f->err. */
void ms_finding_add(struct ms_findings *f, enum mailsec_severity sev,
    const char *code, size_t off, const char *fix, const char *fmt, ...)
    MS_PRINTF(6, 7);
/* Same, the fix formatted too (fixfmt then its arguments follow the
 * what text already formatted into what). */
void ms_finding_addf(struct ms_findings *f, enum mailsec_severity sev,
    const char *code, size_t off, const char *what, const char *fixfmt, ...)
    MS_PRINTF(6, 7);
/* Adds a copy of x under f's current area. */
void ms_findings_push(struct ms_findings *f, const struct mailsec_finding *x);
void ms_findings_free(struct ms_findings *f);
/* Moves the findings out: *v (owned by the caller), *n. */
void ms_findings_take(struct ms_findings *f, struct mailsec_finding **v,
    size_t *n);

/* The first of the n findings v with this code, or NULL. */
const struct mailsec_finding *ms_findings_find(
    const struct mailsec_finding *v, size_t n, const char *code);

#define MS_NOOFF ((size_t)-1)

/*
 * Optimal string alignment distance (case-insensitive ASCII) between
 * (a, an) and b, stopping above max (returns max + 1 then). Words
 * longer than MS_SUGGEST_WORD_MAX are never close.
 */
#define MS_SUGGEST_WORD_MAX 32
unsigned ms_rec_distance(const char *a, size_t an, const char *b,
    unsigned max);
/* The candidate nearest to (w, n) within max edits (ties: the earlier
 * one), NULL when none is, or when w equals one of them. */
const char *ms_rec_suggest(const char *w, size_t n, const char *const *cand,
    size_t ncand, unsigned max);

/* Copies up to cap-1 printable ASCII bytes of (p, n) into out ('?' for
 * others), NUL-terminated; long text ends in "...". Returns out. */
char *ms_rec_printable(char *out, size_t cap, const char *p, size_t n);

/* Is name a domain name (LDH labels, 1..253 octets, no macro)? */
bool ms_rec_domain_ok(const char *p, size_t n);

/* The per-type linters: findings about (p, len) into f. */
struct ms_lint_ctx {
	const struct mailsec_lint_opts *opts;
	struct ms_findings *f;
	struct mailsec_lint *out;	/* counters, flat list */
};

mailsec_err ms_lint_spf(struct ms_lint_ctx *c, const char *p, size_t len);
mailsec_err ms_lint_dmarc(struct ms_lint_ctx *c, const char *p, size_t len);
mailsec_err ms_lint_dkim(struct ms_lint_ctx *c, const char *p, size_t len);
mailsec_err ms_lint_mtasts(struct ms_lint_ctx *c, const char *p, size_t len);
mailsec_err ms_lint_mtasts_policy(struct ms_lint_ctx *c, const char *p,
    size_t len);
mailsec_err ms_lint_tlsrpt(struct ms_lint_ctx *c, const char *p,
    size_t len);

/*
 * The TXT records at name: every answer's text (joined strings) whose
 * first bytes match prefix case-insensitively (prefix NULL: all), into
 * *v (ms_rec_strv_free()) and *n. *status receives the DNS status.
 */
mailsec_err ms_rec_txt(struct mailsec_resolver *r, const char *name,
    const char *prefix, char ***v, size_t *n,
    enum mailsec_dns_status *status);
void ms_rec_strv_free(char **v, size_t n);
/* Appends a copy of s (n bytes) to the string vector. */
mailsec_err ms_rec_strv_add(char ***v, size_t *n, const char *s, size_t len);

#endif /* MS_RECORD_INT_H */
