/*
 * lib/report/dest.c - Verifying External Destinations (RFC 9990 4; RFC
 * 9991 5 applies it to ruf): reports about a policy domain go to another
 * Organizational Domain only when that domain publishes
 * <policy-domain>._report._dmarc.<destination> TXT "v=DMARC1".
 *
 * The Organizational Domains come from the RFC 9989 4.10.2 tree walk
 * (mailsec_dmarc_discover()), not from a guess on the names: a.example
 * and b.example are one organization only if the DNS says so.
 */
#include <stdio.h>
#include <string.h>

#include <mailsec/dmarc.h>
#include <mailsec/domain.h>
#include <mailsec/dns.h>
#include <mailsec/report.h>

#include "core/core.h"

/* RFC 1035 2.3.4: 255 octets on the wire, 253 as text without the final
 * dot. */
#define DEST_NAME_MAX	253

/* (p, *n): a domain name, final dot dropped from *n. */
static bool
dest_domain_ok(const char *p, size_t *n)
{
	if (*n > 0 && p[*n - 1] == '.')
		(*n)--;
	return ms_domain_ldh_ok(p, *n, false);
}

/*
 * RFC 9990 4 step 6: the record parsed as tag=value pairs, "v=DMARC1"
 * first (RFC 9989 4.7 ABNF: dmarc-record starts with dmarc-version =
 * "v" equals %s"DMARC1", white space only around '=', then dmarc-sep or
 * the end).
 */
MS_STATIC bool
dest_record_ok(const char *p, size_t n)
{
	size_t i = 0;

	if (i >= n || p[i] != 'v')
		return false;
	i++;
	while (i < n && ms_iswsp((unsigned char)p[i]))
		i++;
	if (i >= n || p[i] != '=')
		return false;
	i++;
	while (i < n && ms_iswsp((unsigned char)p[i]))
		i++;
	if (n - i < 6 || memcmp(p + i, "DMARC1", 6) != 0)
		return false;
	i += 6;
	while (i < n && ms_iswsp((unsigned char)p[i]))
		i++;
	return i == n || p[i] == ';';
}

/*
 * The Organizational Domain of name into out, *found 1; *found 0: a
 * temporary DNS failure kept the walk from finishing.
 */
static mailsec_err
dest_org(struct mailsec_resolver *res, const char *name, char *out,
    size_t outsz, int *found)
{
	struct mailsec_dmarc_outcome *o = NULL;
	mailsec_err err;

	*found = 0;
	out[0] = '\0';
	err = mailsec_dmarc_discover(res, name, NULL, &o, NULL);
	if (err == MAILSEC_EINVAL) {
		/* no walk for this name: it stands for itself */
		snprintf(out, outsz, "%s", name);
		*found = 1;
		return MAILSEC_OK;
	}
	if (err != MAILSEC_OK)
		return err;
	if (o->result != MAILSEC_DMARC_TEMPERROR && o->ndomains > 0 &&
	    o->domains[0].org_domain != NULL) {
		snprintf(out, outsz, "%s", o->domains[0].org_domain);
		*found = 1;
	}
	mailsec_dmarc_outcome_free(o);
	return MAILSEC_OK;
}

mailsec_err
mailsec_report_dest_verify(struct mailsec_resolver *res,
    const char *policy_domain, const char *dest_domain, bool *authorized,
    struct mailsec_diag *diag)
{
	struct mailsec_dns_result *dr = NULL;
	char pol[DEST_NAME_MAX + 1], dst[DEST_NAME_MAX + 1];
	char po[MAILSEC_DOMAIN_MAX], dso[MAILSEC_DOMAIN_MAX];
	char name[2 * DEST_NAME_MAX + 32];
	size_t pl, dl, i;
	int pf = 0, df = 0, k;
	mailsec_err err;

	if (authorized != NULL)
		*authorized = false;
	if (res == NULL || policy_domain == NULL || dest_domain == NULL ||
	    authorized == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "destination check: "
		    "resolver, both domains and the result are required");
	pl = strlen(policy_domain);
	dl = strlen(dest_domain);
	if (!dest_domain_ok(policy_domain, &pl) ||
	    !dest_domain_ok(dest_domain, &dl))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "destination check: "
		    "%s is not a domain name", !dest_domain_ok(policy_domain,
		    &pl) ? "the policy domain" : "the destination");
	memcpy(pol, policy_domain, pl);
	pol[pl] = '\0';
	memcpy(dst, dest_domain, dl);
	dst[dl] = '\0';
	if (ms_ascii_eq(pol, pl, dst, dl)) {
		*authorized = true;
		return MAILSEC_OK;
	}

	/* same Organizational Domain: no authorization needed */
	if ((err = dest_org(res, pol, po, sizeof po, &pf)) != MAILSEC_OK ||
	    (err = dest_org(res, dst, dso, sizeof dso, &df)) != MAILSEC_OK)
		return ms_diag(diag, err, 0, 0, "destination check: %s",
		    mailsec_strerror(err));
	if (pf && df && ms_ascii_eq(po, strlen(po), dso, strlen(dso))) {
		*authorized = true;
		return MAILSEC_OK;
	}

	/* steps 2-4: the name, within DNS limits */
	k = snprintf(name, sizeof name, "%s._report._dmarc.%s", pol, dst);
	if (k < 0 || (size_t)k > DEST_NAME_MAX)
		return MAILSEC_OK;	/* cannot be confirmed: refused */
	if ((err = mailsec_dns_lookup(res, name, MAILSEC_DNS_TXT, &dr)) !=
	    MAILSEC_OK)
		return ms_diag(diag, err == MAILSEC_ENOMEM ? err : MAILSEC_EDNS,
		    0, 0, "destination check: %s: %s", name,
		    mailsec_strerror(err));
	/* steps 6-8: one record that parses is enough */
	for (i = 0; i < dr->count && !*authorized; i++)
		if (dr->rrs[i].type == MAILSEC_DNS_TXT &&
		    dest_record_ok(dr->rrs[i].u.txt.data, dr->rrs[i].u.txt.len))
			*authorized = true;
	if (!*authorized && mailsec_dns_status_is_temporary(dr->status))
		err = ms_diag(diag, MAILSEC_EDNS, 0, 0, "destination check: "
		    "%s: %s", name, mailsec_dns_status_name(dr->status));
	else if (!*authorized && (!pf || !df))
		/* the org walk failed and the record is absent: undecided */
		err = ms_diag(diag, MAILSEC_EDNS, 0, 0, "destination check: "
		    "the Organizational Domain of %s could not be found "
		    "(temporary DNS failure) and %s has no record", !pf ? pol :
		    dst, name);
	mailsec_dns_result_free(dr);
	return err;
}
