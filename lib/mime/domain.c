/*
 * lib/mime/domain.c - domain names in the form the protocols compare:
 * lowercase ASCII, no final dot, U-labels as A-labels.
 *
 * RFC 1035 2.3.4 (63-octet labels, 255-octet names: 253 in text form
 * without the final dot), RFC 5321 4.1.2 (Domain, LDH labels), RFC 5890
 * and 5891 (IDNA2008 A-labels and U-labels), UTS #46 non-transitional
 * mapping as libidn2 implements it (so "faß.de" stays "xn--fa-hia.de").
 *
 * Labels are handled one at a time:
 *  - ASCII labels not starting with "xn--" are validated here and
 *    lowercased. Letters, digits and hyphens (not first or last, RFC 5321
 *    Let-dig [Ldh-str]) plus the underscore: DKIM and DMARC names such as
 *    "sel._domainkey.example.org" and "_dmarc.example.org" need it
 *    (RFC 6376 3.6.2.1, DMARC 6.1). "ab--cd" (R-LDH, RFC 5890 2.3.1) is
 *    not an IDNA label and is accepted as plain ASCII.
 *  - Labels with bytes >= 0x80, and labels given as A-labels ("xn--",
 *    any case), go through idn2_to_ascii_8z(IDN2_NONTRANSITIONAL |
 *    IDN2_NFC_INPUT). libidn2 2.3 decodes a given A-label and checks it
 *    round-trips to a valid U-label, so "xn--zz" or an A-label of a
 *    disallowed code point is refused rather than passed on.
 * Every output label is then checked again (mapping can add dots, e.g.
 * U+FF0E, or remove characters), lengths included: limits apply to the
 * converted name. An underscore is refused in an A-label (IDNA2008
 * DISALLOWED, RFC 5892).
 *
 * Input is never trusted to be NUL-terminated: a label is copied to a
 * bounded local buffer before libidn2 sees it.
 */
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include <mailsec/domain.h>

#include "core/core.h"

#define MS_DOMAIN_LABEL_MAX	63	/* RFC 1035 2.3.4 */
#define MS_DOMAIN_NAME_MAX	253	/* RFC 1035 2.3.4, text form */
/* Input octets looked at: 253 octets of 4-byte UTF-8 and then some. */
#define MS_DOMAIN_INPUT_MAX	1024

/* The output under construction. */
struct ms_dname {
	char buf[MS_DOMAIN_NAME_MAX + 1];
	size_t len;
};

static bool
ms_is_ldh_(int c)
{
	return ms_isalnum(c) || c == '-' || c == '_';
}

/* Checks one output label (ASCII) and appends it lowercased. */
static mailsec_err
ms_dname_add(struct ms_dname *dn, const char *l, size_t n, size_t off,
    struct mailsec_diag *diag)
{
	size_t i, need;
	bool alabel;

	if (n == 0)
		return ms_diag(diag, MAILSEC_ESYNTAX, off, 0,
		    "empty label at offset %zu", off);
	if (n > MS_DOMAIN_LABEL_MAX)
		return ms_diag(diag, MAILSEC_ESYNTAX, off, 0,
		    "label at offset %zu is %zu octets, over %d "
		    "(RFC 1035 2.3.4)", off, n, MS_DOMAIN_LABEL_MAX);
	alabel = n >= 4 && ms_ascii_eqz(l, 4, "xn--");
	for (i = 0; i < n; i++) {
		if (!ms_is_ldh_((unsigned char)l[i]))
			return ms_diag(diag, MAILSEC_ESYNTAX, off, 0,
			    "label at offset %zu converts to an invalid "
			    "byte 0x%02x", off, (unsigned char)l[i]);
		if (alabel && l[i] == '_')
			return ms_diag(diag, MAILSEC_ESYNTAX, off, 0,
			    "underscore in internationalized label at "
			    "offset %zu (IDNA2008 disallows it)", off);
	}
	if (l[0] == '-' || l[n - 1] == '-')
		return ms_diag(diag, MAILSEC_ESYNTAX, off, 0,
		    "label at offset %zu %s with a hyphen (RFC 5321 4.1.2)",
		    off, l[0] == '-' ? "starts" : "ends");
	need = n + (dn->len > 0 ? 1 : 0);
	if (need > MS_DOMAIN_NAME_MAX - dn->len)
		return ms_diag(diag, MAILSEC_ESYNTAX, off, 0,
		    "domain name exceeds %d octets (RFC 1035 2.3.4)",
		    MS_DOMAIN_NAME_MAX);
	if (dn->len > 0)
		dn->buf[dn->len++] = '.';
	for (i = 0; i < n; i++)
		dn->buf[dn->len++] = (char)ms_tolower((unsigned char)l[i]);
	dn->buf[dn->len] = '\0';
	return MAILSEC_OK;
}

/* Runs one label (UTF-8 or A-label) through IDNA2008 and appends the
 * A-label(s) it maps to. */
static mailsec_err
ms_dname_add_idn(struct ms_dname *dn, const char *l, size_t n, size_t off,
    struct mailsec_diag *diag)
{
	char in[MS_DOMAIN_INPUT_MAX + 1];
	char *a = NULL;
	const char *s, *dot;
	size_t rest;
	int rc;
	mailsec_err err = MAILSEC_OK;

	if (n >= sizeof in)
		return ms_diag(diag, MAILSEC_ESYNTAX, off, 0,
		    "label at offset %zu too long", off);
	memcpy(in, l, n);
	in[n] = '\0';
	rc = idn2_to_ascii_8z(in, &a, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (rc != IDN2_OK) {
		err = ms_diag(diag, MAILSEC_ESYNTAX, off, 0,
		    "label at offset %zu is not valid IDNA2008 (%s: %s)",
		    off, idn2_strerror_name(rc), idn2_strerror(rc));
		goto done;
	}
	/* UTS #46 mapping may have produced dots (U+3002, U+FF0E...). */
	s = a;
	rest = strlen(a);
	for (;;) {
		dot = memchr(s, '.', rest);
		if (dot == NULL) {
			err = ms_dname_add(dn, s, rest, off, diag);
			break;
		}
		if ((err = ms_dname_add(dn, s, (size_t)(dot - s), off,
		    diag)) != MAILSEC_OK)
			break;
		rest -= (size_t)(dot - s) + 1;
		s = dot + 1;
	}
done:
	idn2_free(a);
	return err;
}

/* Refuses any byte that can't be in a domain name, before any label
 * work, so the diagnostics name the exact offset. */
static mailsec_err
ms_domain_check_bytes(const unsigned char *u, size_t len,
    struct mailsec_diag *diag)
{
	size_t i, n;

	for (i = 0; i < len; i += n) {
		n = 1;
		if (u[i] >= 0x80) {
			n = mailsec_utf8_len((const char *)u + i, len - i);
			if (n == 0)
				return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
				    "invalid UTF-8 at offset %zu", i);
		} else if (u[i] < 0x20 || u[i] == 0x7f)
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "control byte 0x%02x at offset %zu", u[i], i);
		else if (u[i] == ' ')
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "space at offset %zu", i);
		else if (!ms_is_ldh_(u[i]) && u[i] != '.')
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "invalid character '%c' at offset %zu", u[i], i);
	}
	return MAILSEC_OK;
}

mailsec_err
mailsec_domain_normalize(const char *p, size_t len, char *out, size_t outsz,
    size_t *outlen, struct mailsec_diag *diag)
{
	struct ms_dname dn;
	size_t ls, le, i;
	bool idn;
	mailsec_err err;

	if (out == NULL || outsz < MAILSEC_DOMAIN_MAX ||
	    (p == NULL && len > 0))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "mailsec_domain_normalize: NULL argument or output "
		    "buffer under %d bytes", MAILSEC_DOMAIN_MAX);
	out[0] = '\0';
	if (outlen != NULL)
		*outlen = 0;
	if (len == 0)
		return ms_diag(diag, MAILSEC_ESYNTAX, 0, 0,
		    "empty domain name");
	if (p[0] == '[')
		return ms_diag(diag, MAILSEC_ESYNTAX, 0, 0,
		    "address literal is not a domain name");
	if (len > MS_DOMAIN_INPUT_MAX)
		return ms_diag(diag, MAILSEC_ESYNTAX, 0, 0,
		    "domain name of %zu octets is too long (max %d)", len,
		    MS_DOMAIN_NAME_MAX);
	if ((err = ms_domain_check_bytes((const unsigned char *)p, len,
	    diag)) != MAILSEC_OK)
		return err;
	if (len == 1 && p[0] == '.')
		return ms_diag(diag, MAILSEC_ESYNTAX, 0, 0,
		    "\".\" (the root) is not a domain name here");
	if (p[len - 1] == '.')
		len--;	/* one final dot: the name is absolute anyway */

	dn.len = 0;
	dn.buf[0] = '\0';
	for (ls = 0; ls <= len; ls = le + 1) {
		le = ls;
		idn = false;
		while (le < len && p[le] != '.') {
			if ((unsigned char)p[le] >= 0x80)
				idn = true;
			le++;
		}
		if (le - ls >= 4 && ms_ascii_eqz(p + ls, 4, "xn--"))
			idn = true;
		if (le == ls)
			return ms_diag(diag, MAILSEC_ESYNTAX, ls, 0,
			    "empty label at offset %zu", ls);
		if (idn)
			err = ms_dname_add_idn(&dn, p + ls, le - ls, ls, diag);
		else
			err = ms_dname_add(&dn, p + ls, le - ls, ls, diag);
		if (err != MAILSEC_OK)
			return err;
	}
	for (i = 0; i <= dn.len; i++)
		out[i] = dn.buf[i];
	if (outlen != NULL)
		*outlen = dn.len;
	return MAILSEC_OK;
}
