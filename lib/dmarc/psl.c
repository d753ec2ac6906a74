/*
 * lib/dmarc/psl.c - the Organizational Domain of RFC 7489 3.2 from the
 * Public Suffix List (libpsl), identifier alignment with it (RFC 7489
 * 3.1), and domain-name helpers the tree walk shares.
 *
 * The list is a caller-owned object: libpsl's psl_ctx_t is only read
 * after loading, so one object serves any number of evaluations and
 * threads. Nothing here is global.
 */
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>

#include "dmarc/dmarc_int.h"

struct mailsec_dmarc_psl {
	psl_ctx_t *ctx;		/* read-only after loading */
};

size_t
ms_dmarc_labels(const char *d)
{
	size_t n = 1;

	if (*d == '\0')
		return 0;
	for (; *d != '\0'; d++)
		if (*d == '.')
			n++;
	return n;
}

const char *
ms_dmarc_suffix(const char *d, size_t n)
{
	size_t have = ms_dmarc_labels(d);

	while (have > n) {
		const char *dot = strchr(d, '.');

		if (dot == NULL)
			break;
		d = dot + 1;
		have--;
	}
	return d;
}

bool
ms_dmarc_within(const char *d, const char *dom)
{
	size_t n = strlen(d), m = strlen(dom);

	if (m == 0 || n < m || !ms_ascii_eq(d + n - m, m, dom, m))
		return false;
	return n == m || d[n - m - 1] == '.';
}

bool
ms_dmarc_norm(const char *p, size_t len, char *out)
{
	return mailsec_domain_normalize(p, len, out, MAILSEC_DOMAIN_MAX, NULL,
	    NULL) == MAILSEC_OK;
}

mailsec_err
mailsec_dmarc_psl_load(const char *path, struct mailsec_dmarc_psl **out,
    struct mailsec_diag *diag)
{
	struct mailsec_dmarc_psl *psl;

	if (out == NULL)
		return MAILSEC_EINVAL;
	*out = NULL;
	if ((psl = ms_calloc(1, sizeof *psl)) == NULL)
		return MAILSEC_ENOMEM;
	/* psl_latest(NULL) compares the built-in data with the distribution
	 * file (Debian: /usr/share/publicsuffix) and loads the newer. */
	psl->ctx = path != NULL ? psl_load_file(path) : psl_latest(NULL);
	if (psl->ctx == NULL) {
		free(psl);
		return ms_diag(diag, MAILSEC_ENOTFOUND, 0, 0, "cannot load "
		    "the public suffix list%s%s", path ? " from " : "",
		    path ? path : "");
	}
	*out = psl;
	return MAILSEC_OK;
}

void
mailsec_dmarc_psl_free(struct mailsec_dmarc_psl *psl)
{
	if (psl == NULL)
		return;
	/* psl_free() leaves the built-in context alone itself. */
	psl_free(psl->ctx);
	free(psl);
}

mailsec_err
mailsec_dmarc_psl_registrable(const struct mailsec_dmarc_psl *psl,
    const char *name, char *out, size_t outsz)
{
	char norm[MAILSEC_DOMAIN_MAX];
	const char *reg;
	size_t n;

	if (out == NULL || outsz < MAILSEC_DOMAIN_MAX)
		return MAILSEC_EINVAL;
	out[0] = '\0';
	if (psl == NULL || name == NULL)
		return MAILSEC_EINVAL;
	if (!ms_dmarc_norm(name, strlen(name), norm))
		return MAILSEC_ENOTFOUND;
	reg = psl_registrable_domain(psl->ctx, norm);
	if (reg == NULL)
		return MAILSEC_ENOTFOUND;
	n = strlen(reg);
	if (n >= outsz)
		return MAILSEC_ENOTFOUND;
	memcpy(out, reg, n + 1);
	return MAILSEC_OK;
}

mailsec_err
mailsec_dmarc_psl_org_domain(const struct mailsec_dmarc_psl *psl,
    const char *name, char *out, size_t outsz)
{
	char norm[MAILSEC_DOMAIN_MAX];
	mailsec_err err;

	if (out == NULL || outsz < MAILSEC_DOMAIN_MAX || psl == NULL ||
	    name == NULL)
		return MAILSEC_EINVAL;
	if (!ms_dmarc_norm(name, strlen(name), norm)) {
		out[0] = '\0';
		return MAILSEC_ESYNTAX;
	}
	err = mailsec_dmarc_psl_registrable(psl, norm, out, outsz);
	if (err == MAILSEC_ENOTFOUND) {
		/* A public suffix has no label to add (RFC 7489 3.2 step
		 * 4): it is its own Organizational Domain. */
		memcpy(out, norm, strlen(norm) + 1);
		err = MAILSEC_OK;
	}
	return err;
}

bool
mailsec_dmarc_psl_aligned(const struct mailsec_dmarc_psl *psl,
    const char *a, const char *b, enum mailsec_dmarc_alignment mode)
{
	char na[MAILSEC_DOMAIN_MAX], nb[MAILSEC_DOMAIN_MAX];
	char oa[MAILSEC_DOMAIN_MAX], ob[MAILSEC_DOMAIN_MAX];

	if (a == NULL || b == NULL || !ms_dmarc_norm(a, strlen(a), na) ||
	    !ms_dmarc_norm(b, strlen(b), nb))
		return false;
	if (strcmp(na, nb) == 0)
		return true;
	if (mode == MAILSEC_DMARC_STRICT || psl == NULL)
		return false;
	if (mailsec_dmarc_psl_org_domain(psl, na, oa, sizeof oa) !=
	    MAILSEC_OK || mailsec_dmarc_psl_org_domain(psl, nb, ob,
	    sizeof ob) != MAILSEC_OK)
		return false;
	return strcmp(oa, ob) == 0;
}
