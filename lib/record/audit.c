/*
 * lib/record/audit.c - the audit of a domain's mail authentication
 * setup: MX (RFC 5321 5.1, RFC 7505 null MX), SPF (RFC 7208; the include
 * tree walked and counted by the linter), DKIM keys at given and common
 * selectors (RFC 6376 3.6.2), DMARC with the RFC 9989 Tree Walk's
 * inheritance (mailsec_dmarc_discover()), MTA-STS (RFC 8461: the TXT
 * record, and the policy file through a caller's HTTPS client), TLS-RPT
 * (RFC 8460), DANE TLSA on the MX hosts (RFC 7672), BIMI presence.
 *
 * Synchronous over the DNS layer: each lookup runs the resolver until it
 * is answered (mailsec_dns_lookup()). Every finding has its fix; the
 * grade comes from the count of errors and warnings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/dmarc.h>

#include "record/record_int.h"

/* Score: 100, less this per finding. */
#define AUDIT_ERROR_COST 15
#define AUDIT_WARNING_COST 5
/* Largest MTA-STS policy file read (RFC 8461 3.3: 64 KiB). */
#define MTASTS_POLICY_MAX 65536

struct audit {
	struct mailsec_resolver *r;
	const struct mailsec_audit_opts *opts;
	struct mailsec_audit *a;
	struct ms_findings f;
	mailsec_err err;
};

static const char *const common_selectors[] = {
	"default", "dkim", "mail", "selector1", "selector2", "google",
	"k1", "k2", "s1", "s2", "sig1", "smtp", "mx", "key1", "dk",
	"mandrill", "everlytickey1", "20230601", "20221208", "20210112",
};

const char *const *
mailsec_audit_common_selectors(size_t *n)
{
	if (n != NULL)
		*n = MS_ARRAY_LEN(common_selectors);
	return common_selectors;
}

/* Copies a lint's findings into the audit under area. */
static void
absorb(struct audit *au, const char *area, const struct mailsec_lint *l)
{
	size_t i;

	au->f.area = area;
	for (i = 0; i < l->nfindings; i++)
		ms_findings_push(&au->f, &l->findings[i]);
}

static mailsec_err
lint_as(struct audit *au, enum mailsec_record_type t, const char *area,
    const char *text, const char *domain, const char *selector,
    struct mailsec_lint **keep)
{
	struct mailsec_lint_opts o = { 0 };
	struct mailsec_lint *l = NULL;
	mailsec_err err;

	o.type = t;
	o.resolver = au->r;
	o.domain = domain;
	o.selector = selector;
	err = mailsec_lint_record(text, strlen(text), &o, &l, NULL);
	if (err == MAILSEC_ELIMIT) {
		au->f.area = area;
		ms_finding_add(&au->f, MAILSEC_SEV_ERROR, "record-too-long",
		    MS_NOOFF, "shorten the record", "the %s record is longer "
		    "than %d bytes", area, MAILSEC_LINT_INPUT_MAX);
		return MAILSEC_OK;
	}
	if (err != MAILSEC_OK)
		return err;
	absorb(au, area, l);
	if (keep != NULL)
		*keep = l;
	else
		mailsec_lint_free(l);
	return MAILSEC_OK;
}

static char *
join(const char *a, const char *b)
{
	size_t al = strlen(a), bl = strlen(b);
	char *s = malloc(al + bl + 1);

	if (s != NULL) {
		memcpy(s, a, al);
		memcpy(s + al, b, bl + 1);
	}
	return s;
}

/* ---- MX ---------------------------------------------------------------- */

static int
mx_cmp(const void *x, const void *y)
{
	const struct mailsec_dns_rr *a = x, *b = y;

	return (int)a->u.mx.preference - (int)b->u.mx.preference;
}

static void
audit_mx(struct audit *au)
{
	struct mailsec_dns_result *res = NULL, *ar = NULL;
	struct mailsec_audit *a = au->a;
	size_t i;

	au->f.area = "mx";
	if ((au->err = mailsec_dns_lookup(au->r, a->domain, MAILSEC_DNS_MX,
	    &res)) != MAILSEC_OK)
		return;
	switch (res->status) {
	case MAILSEC_DNS_NXDOMAIN:
		ms_finding_add(&au->f, MAILSEC_SEV_ERROR, "mx-nxdomain",
		    MS_NOOFF, "check the spelling, or register the domain",
		    "%s does not exist (NXDOMAIN)", a->domain);
		goto done;
	case MAILSEC_DNS_NODATA:
		ms_finding_add(&au->f, MAILSEC_SEV_WARNING, "mx-none",
		    MS_NOOFF, "publish MX records, or '0 .' (RFC 7505) if the "
		    "domain takes no mail", "no MX records: senders fall "
		    "back to the domain's address (RFC 5321 5.1)");
		goto done;
	case MAILSEC_DNS_TIMEOUT:
	case MAILSEC_DNS_SERVFAIL:
		ms_finding_add(&au->f, MAILSEC_SEV_ERROR, "mx-dns-temp",
		    MS_NOOFF, "check the domain's name servers", "MX lookup "
		    "failed (%s): %s", mailsec_dns_status_name(res->status),
		    res->why);
		goto done;
	case MAILSEC_DNS_ANSWER:
		break;
	}
	qsort(res->rrs, res->count, sizeof res->rrs[0], mx_cmp);
	for (i = 0; i < res->count && au->err == MAILSEC_OK; i++) {
		const char *x = res->rrs[i].u.mx.exchange;

		if (res->rrs[i].type != MAILSEC_DNS_MX)
			continue;
		if (x[0] == '\0') {
			a->null_mx = true;
			continue;
		}
		au->err = ms_rec_strv_add(&a->mx, &a->nmx, x, strlen(x));
	}
	if (au->err != MAILSEC_OK)
		goto done;
	if (a->null_mx) {
		ms_finding_add(&au->f, MAILSEC_SEV_INFO, "mx-null", MS_NOOFF,
		    "publish v=spf1 -all and p=reject so nobody can send as "
		    "the domain either", "null MX (RFC 7505): the domain "
		    "accepts no mail");
		if (a->nmx > 0)
			ms_finding_add(&au->f, MAILSEC_SEV_ERROR,
			    "mx-null-mixed", MS_NOOFF, "remove the other MX "
			    "records, or the null MX", "a null MX next to "
			    "other MX records (RFC 7505 3)");
	}
	for (i = 0; i < a->nmx && i < MAILSEC_AUDIT_MX_MAX; i++) {
		int ok;

		if ((au->err = mailsec_dns_lookup(au->r, a->mx[i],
		    MAILSEC_DNS_A, &ar)) != MAILSEC_OK)
			break;
		ok = ar->status == MAILSEC_DNS_ANSWER;
		mailsec_dns_result_free(ar);
		ar = NULL;
		if (!ok) {
			if ((au->err = mailsec_dns_lookup(au->r, a->mx[i],
			    MAILSEC_DNS_AAAA, &ar)) != MAILSEC_OK)
				break;
			ok = ar->status == MAILSEC_DNS_ANSWER;
			mailsec_dns_result_free(ar);
			ar = NULL;
		}
		if (!ok)
			ms_finding_add(&au->f, MAILSEC_SEV_ERROR,
			    "mx-no-address", MS_NOOFF, "give the host an A or "
			    "AAAA record, or fix the MX record", "MX host %s "
			    "has no address: mail to it cannot be delivered",
			    a->mx[i]);
	}
done:
	mailsec_dns_result_free(res);
}

/* ---- SPF ----------------------------------------------------------------- */

static bool
is_spf(const char *s)
{
	return strlen(s) >= 6 && ms_ascii_eq(s, 6, "v=spf1", 6) &&
	    (s[6] == '\0' || s[6] == ' ');
}

static void
audit_spf(struct audit *au)
{
	struct mailsec_audit *a = au->a;
	struct mailsec_lint *l = NULL;
	enum mailsec_dns_status st;
	char **v = NULL;
	size_t n = 0, i;

	au->f.area = "spf";
	if ((au->err = ms_rec_txt(au->r, a->domain, NULL, &v, &n, &st)) !=
	    MAILSEC_OK)
		return;
	for (i = 0; i < n && !is_spf(v[i]); i++)
		;
	if (i == n) {
		if (mailsec_dns_status_is_temporary(st))
			ms_finding_add(&au->f, MAILSEC_SEV_ERROR,
			    "spf-dns-temp", MS_NOOFF, "check the domain's "
			    "name servers", "TXT lookup failed (%s)",
			    mailsec_dns_status_name(st));
		else
			ms_finding_addf(&au->f, MAILSEC_SEV_ERROR,
			    "spf-missing", MS_NOOFF, "no SPF record: "
			    "receivers cannot tell your servers from forgers",
			    "publish one, e.g. %s. IN TXT \"v=spf1 %s-all\" "
			    "(mailsec record spf --mx ...)", a->domain,
			    a->nmx > 0 ? "mx " : "");
		goto done;
	}
	if ((a->spf = ms_memdupz(v[i], strlen(v[i]))) == NULL) {
		au->err = MAILSEC_ENOMEM;
		goto done;
	}
	if ((au->err = lint_as(au, MAILSEC_RECORD_SPF, "spf", a->spf,
	    a->domain, NULL, &l)) != MAILSEC_OK)
		goto done;
	a->spf_lookups = l->lookups;
	a->spf_void_lookups = l->void_lookups;
	a->spf_flat = l->flat;
	a->nspf_flat = l->nflat;
	l->flat = NULL;
	l->nflat = 0;
	mailsec_lint_free(l);
done:
	ms_rec_strv_free(v, n);
}

/* ---- DKIM ---------------------------------------------------------------- */

static bool
given_selector(const struct mailsec_audit_opts *o, const char *s)
{
	size_t i;

	for (i = 0; o != NULL && i < o->nselectors; i++)
		if (strcmp(o->selectors[i], s) == 0)
			return true;
	return false;
}

static void
dkim_one(struct audit *au, const char *sel, bool given)
{
	struct mailsec_audit *a = au->a;
	struct mailsec_audit_dkim *nd, *d;
	struct mailsec_dkim_record rec;
	enum mailsec_dns_status st;
	char name[600], **v = NULL;
	size_t n = 0;
	int k;

	au->f.area = "dkim";
	k = snprintf(name, sizeof name, "%s._domainkey.%s", sel, a->domain);
	if (k < 0 || (size_t)k >= sizeof name || !ms_rec_domain_ok(sel,
	    strlen(sel)))
		return;
	if ((au->err = ms_rec_txt(au->r, name, NULL, &v, &n, &st)) !=
	    MAILSEC_OK)
		return;
	if (n == 0) {
		if (given)
			ms_finding_add(&au->f, MAILSEC_SEV_ERROR,
			    "dkim-selector-missing", MS_NOOFF, "publish the "
			    "key record (mailsec dkim keygen prints it)",
			    "no key record at %s (%s): signatures with s=%s "
			    "fail", name, mailsec_dns_status_name(st), sel);
		goto done;
	}
	nd = ms_reallocarray(a->dkim, a->ndkim + 1, sizeof *nd);
	if (nd == NULL) {
		au->err = MAILSEC_ENOMEM;
		goto done;
	}
	a->dkim = nd;
	d = &a->dkim[a->ndkim];
	memset(d, 0, sizeof *d);
	d->selector = ms_memdupz(sel, strlen(sel));
	d->record = ms_memdupz(v[0], strlen(v[0]));
	if (d->selector == NULL || d->record == NULL) {
		free(d->selector);
		free(d->record);
		au->err = MAILSEC_ENOMEM;
		goto done;
	}
	a->ndkim++;
	memset(&rec, 0, sizeof rec);
	if (mailsec_dkim_record_parse(d->record, strlen(d->record), &rec,
	    NULL) == MAILSEC_OK) {
		d->key_bits = rec.key_bits;
		d->testing = rec.testing;
	}
	/* which selector the findings that follow are about */
	ms_finding_add(&au->f, MAILSEC_SEV_INFO, "dkim-key", MS_NOOFF, NULL,
	    "key record at %s (%.*s, %u bits)", name,
	    (int)(rec.key_type_text.len > 20 ? 20 : rec.key_type_text.len),
	    rec.key_type_text.ptr ? rec.key_type_text.ptr : "", d->key_bits);
	au->err = lint_as(au, MAILSEC_RECORD_DKIM, "dkim", d->record,
	    a->domain, sel, NULL);
done:
	ms_rec_strv_free(v, n);
}

static void
audit_dkim(struct audit *au)
{
	const struct mailsec_audit_opts *o = au->opts;
	const char *tried[MAILSEC_AUDIT_SELECTOR_MAX];
	size_t nt = 0, i, k;
	bool dup;

	for (i = 0; o != NULL && i < o->nselectors && nt < MS_ARRAY_LEN(tried);
	    i++)
		tried[nt++] = o->selectors[i];
	for (i = 0; (o == NULL || !o->no_common_selectors) &&
	    i < MS_ARRAY_LEN(common_selectors) && nt < MS_ARRAY_LEN(tried);
	    i++) {
		for (dup = false, k = 0; k < nt; k++)
			dup = dup || strcmp(tried[k], common_selectors[i]) == 0;
		if (!dup)
			tried[nt++] = common_selectors[i];
	}
	for (i = 0; i < nt && au->err == MAILSEC_OK; i++) {
		for (dup = false, k = 0; k < i; k++)
			dup = dup || strcmp(tried[k], tried[i]) == 0;
		if (!dup)
			dkim_one(au, tried[i], given_selector(o, tried[i]));
	}
	au->f.area = "dkim";
	if (au->err == MAILSEC_OK && au->a->ndkim == 0)
		ms_finding_add(&au->f, MAILSEC_SEV_WARNING, "dkim-none-found",
		    MS_NOOFF, "sign outgoing mail with DKIM (mailsec dkim "
		    "keygen); if you do, audit with --selector S",
		    "no DKIM key found at the %zu selectors tried", nt);
}

/* ---- DMARC --------------------------------------------------------------- */

static void
audit_dmarc(struct audit *au)
{
	struct mailsec_audit *a = au->a;
	struct mailsec_dmarc_outcome *o = NULL;
	const struct mailsec_dmarc_domain *d;
	struct mailsec_diag diag = { 0 };

	au->f.area = "dmarc";
	if ((au->err = mailsec_dmarc_discover(au->r, a->domain, NULL, &o,
	    &diag)) != MAILSEC_OK) {
		if (au->err == MAILSEC_EINVAL)
			au->err = MAILSEC_OK;
		return;
	}
	d = o->ndomains > 0 ? &o->domains[0] : NULL;
	if (d == NULL || d->record_text == NULL) {
		if (o->result == MAILSEC_DMARC_TEMPERROR)
			ms_finding_add(&au->f, MAILSEC_SEV_ERROR,
			    "dmarc-dns-temp", MS_NOOFF, "check the name "
			    "servers", "DMARC lookup failed: %s", d &&
			    d->problem ? d->problem : "temporary error");
		else
			ms_finding_addf(&au->f, MAILSEC_SEV_ERROR,
			    "dmarc-missing", MS_NOOFF, "no DMARC record here "
			    "or above: receivers apply no policy to mail "
			    "forging this domain", "publish _dmarc.%s. IN TXT "
			    "\"v=DMARC1; p=none; rua=mailto:dmarc@%s\", then "
			    "tighten to p=reject (mailsec record dmarc)",
			    a->domain, a->domain);
		goto done;
	}
	a->dmarc = ms_memdupz(d->record_text, strlen(d->record_text));
	a->dmarc_domain = d->policy_domain ? ms_memdupz(d->policy_domain,
	    strlen(d->policy_domain)) : NULL;
	if (a->dmarc == NULL || (d->policy_domain && !a->dmarc_domain)) {
		au->err = MAILSEC_ENOMEM;
		goto done;
	}
	a->dmarc_inherited = a->dmarc_domain != NULL &&
	    !ms_ascii_eqz(a->dmarc_domain, strlen(a->dmarc_domain),
	    a->domain);
	if (a->dmarc_inherited)
		ms_finding_add(&au->f, MAILSEC_SEV_INFO, "dmarc-inherited",
		    MS_NOOFF, "publish _dmarc for this domain to set its own "
		    "policy and reports", "no record at _dmarc.%s: the "
		    "record of %s applies (its %s=%s)", a->domain,
		    a->dmarc_domain, d->policy_tag ? d->policy_tag : "p",
		    mailsec_dmarc_policy_name(d->policy) ?
		    mailsec_dmarc_policy_name(d->policy) : "unset");
	au->err = lint_as(au, MAILSEC_RECORD_DMARC, "dmarc", a->dmarc,
	    a->dmarc_domain ? a->dmarc_domain : a->domain, NULL, NULL);
done:
	mailsec_dmarc_outcome_free(o);
}

/* ---- MTA-STS ------------------------------------------------------------- */

/* RFC 8461 4.1: "*.example.com" matches one extra left label. */
static bool
mx_matches(const char *pat, size_t plen, const char *host)
{
	size_t hl = strlen(host);
	const char *dot;

	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	if (plen > 0 && pat[plen - 1] == '.')
		plen--;
	if (plen > 2 && pat[0] == '*' && pat[1] == '.') {
		dot = memchr(host, '.', hl);
		return dot != NULL && dot > host &&
		    ms_ascii_eq(dot + 1, (size_t)(host + hl - dot - 1),
		    pat + 2, plen - 2);
	}
	return ms_ascii_eq(pat, plen, host, hl);
}

/* Every MX host must match an mx: line of an enforced policy. */
static void
policy_vs_mx(struct audit *au, const char *pol)
{
	struct mailsec_audit *a = au->a;
	size_t i;

	for (i = 0; i < a->nmx; i++) {
		const char *q = pol;
		bool ok = false;

		while (!ok && (q = strstr(q, "mx:")) != NULL) {
			const char *v = q + 3, *e;

			if (q != pol && q[-1] != '\n') {
				q += 3;
				continue;
			}
			while (*v == ' ' || *v == '\t')
				v++;
			e = v + strcspn(v, " \t\r\n");
			ok = mx_matches(v, (size_t)(e - v), a->mx[i]);
			q = e;
		}
		if (!ok)
			ms_finding_add(&au->f, MAILSEC_SEV_ERROR,
			    "mtasts-policy-mx-mismatch", MS_NOOFF, "add an mx: "
			    "line for it (or a wildcard) and change the TXT "
			    "id=", "MX host %s matches no mx: line of the "
			    "policy: senders enforcing it will not deliver "
			    "there", a->mx[i]);
	}
}

static void
fetch_policy(struct audit *au)
{
	const struct mailsec_https_client *h = au->opts ? au->opts->https :
	    NULL;
	struct mailsec_audit *a = au->a;
	char *url = NULL, *body = NULL, why[200];
	size_t len = 0;
	int status = 0;
	mailsec_err err;

	if (h == NULL || h->get == NULL) {
		ms_finding_add(&au->f, MAILSEC_SEV_INFO,
		    "mtasts-policy-not-fetched", MS_NOOFF, "check "
		    "https://mta-sts.DOMAIN/.well-known/mta-sts.txt yourself "
		    "(mailsec lint --type mta-sts-policy FILE)", "the policy "
		    "file was not fetched (no HTTPS client)");
		return;
	}
	if ((au->err = mailsec_record_owner(MAILSEC_RECORD_MTASTS_POLICY,
	    a->domain, NULL, &url)) != MAILSEC_OK)
		return;
	why[0] = '\0';
	err = h->get(h->arg, url, MTASTS_POLICY_MAX, &status, &body, &len,
	    why, sizeof why);
	if (err != MAILSEC_OK || status != 200) {
		if (err == MAILSEC_OK)
			snprintf(why, sizeof why, "HTTP status %d", status);
		ms_finding_add(&au->f, MAILSEC_SEV_ERROR,
		    "mtasts-policy-fetch", MS_NOOFF, "serve the policy at "
		    "that URL over HTTPS with a valid certificate (status "
		    "200, no redirects), or remove the _mta-sts record",
		    "%s: %s", url, why[0] ? why : mailsec_strerror(err));
		goto done;
	}
	if (len > MTASTS_POLICY_MAX || memchr(body, '\0', len) != NULL) {
		ms_finding_add(&au->f, MAILSEC_SEV_ERROR,
		    "mtasts-policy-fetch", MS_NOOFF, "serve a plain text "
		    "policy under 64 KiB", "%s: not a text policy", url);
		goto done;
	}
	if ((a->mtasts_policy = ms_memdupz(body, len)) == NULL) {
		au->err = MAILSEC_ENOMEM;
		goto done;
	}
	if ((au->err = lint_as(au, MAILSEC_RECORD_MTASTS_POLICY, "mta-sts",
	    a->mtasts_policy, a->domain, NULL, NULL)) != MAILSEC_OK)
		goto done;
	au->f.area = "mta-sts";
	policy_vs_mx(au, a->mtasts_policy);
done:
	free(body);
	free(url);
}

/* The TXT records at prefix + the audited domain (those starting with
 * want, when not NULL) for area: *name and *v (*n of them) are the
 * caller's to free, whatever is returned. */
static mailsec_err
area_txt(struct audit *au, const char *area, const char *prefix,
    const char *want, char **name, char ***v, size_t *n)
{
	enum mailsec_dns_status st;

	au->f.area = area;
	*v = NULL;
	*n = 0;
	if ((*name = join(prefix, au->a->domain)) == NULL)
		return MAILSEC_ENOMEM;
	return ms_rec_txt(au->r, *name, want, v, n, &st);
}

static void
audit_mtasts(struct audit *au)
{
	struct mailsec_audit *a = au->a;
	char *name = NULL, **v = NULL;
	size_t n = 0, i, k = 0;

	if ((au->err = area_txt(au, "mta-sts", "_mta-sts.", NULL, &name, &v,
	    &n)) != MAILSEC_OK)
		goto done;
	if (n == 0) {
		ms_finding_addf(&au->f, MAILSEC_SEV_WARNING, "mtasts-missing",
		    MS_NOOFF, "no MTA-STS: a network attacker can strip TLS "
		    "from mail sent to you", "publish a policy (mailsec "
		    "record mta-sts --mx HOST ...) at "
		    "https://mta-sts.%s/.well-known/mta-sts.txt and %s TXT",
		    a->domain, name);
		goto done;
	}
	for (i = 0; i < n; i++)
		if (strncmp(v[i], "v=STSv1", 7) == 0)
			k++;
	if (k > 1)
		ms_finding_add(&au->f, MAILSEC_SEV_ERROR, "mtasts-duplicate",
		    MS_NOOFF, "keep one record", "%s has %zu MTA-STS records: "
		    "senders ignore them all (RFC 8461 3.1)", name, k);
	if ((a->mtasts = ms_memdupz(v[0], strlen(v[0]))) == NULL) {
		au->err = MAILSEC_ENOMEM;
		goto done;
	}
	if ((au->err = lint_as(au, MAILSEC_RECORD_MTASTS, "mta-sts",
	    a->mtasts, a->domain, NULL, NULL)) != MAILSEC_OK)
		goto done;
	au->f.area = "mta-sts";
	fetch_policy(au);
done:
	ms_rec_strv_free(v, n);
	free(name);
}

/* ---- TLS-RPT, DANE, BIMI ------------------------------------------------- */

static void
audit_tlsrpt(struct audit *au)
{
	struct mailsec_audit *a = au->a;
	char *name = NULL, **v = NULL;
	size_t n = 0;

	if ((au->err = area_txt(au, "tlsrpt", "_smtp._tls.", NULL, &name, &v,
	    &n)) != MAILSEC_OK)
		goto done;
	if (n == 0) {
		ms_finding_addf(&au->f, MAILSEC_SEV_WARNING, "tlsrpt-missing",
		    MS_NOOFF, "no TLS-RPT record: you never hear about TLS "
		    "failures of mail sent to you", "publish %s. IN TXT "
		    "\"v=TLSRPTv1; rua=mailto:tlsrpt@%s\" (mailsec record "
		    "tlsrpt)", name, a->domain);
		goto done;
	}
	if ((a->tlsrpt = ms_memdupz(v[0], strlen(v[0]))) == NULL) {
		au->err = MAILSEC_ENOMEM;
		goto done;
	}
	au->err = lint_as(au, MAILSEC_RECORD_TLSRPT, "tlsrpt", a->tlsrpt,
	    a->domain, NULL, NULL);
done:
	ms_rec_strv_free(v, n);
	free(name);
}

static void
audit_dane(struct audit *au)
{
	struct mailsec_audit *a = au->a;
	struct mailsec_dns_result *res = NULL;
	char *name;
	size_t i, k;

	au->f.area = "dane";
	for (i = 0; i < a->nmx && i < MAILSEC_AUDIT_MX_MAX; i++) {
		if ((name = join("_25._tcp.", a->mx[i])) == NULL) {
			au->err = MAILSEC_ENOMEM;
			return;
		}
		au->err = mailsec_dns_lookup(au->r, name, MAILSEC_DNS_TLSA,
		    &res);
		if (au->err != MAILSEC_OK) {
			free(name);
			if (au->err == MAILSEC_EINVAL)
				au->err = MAILSEC_OK;
			continue;
		}
		if (res->status == MAILSEC_DNS_ANSWER && res->count > 0) {
			a->ndane++;
			if (!res->secure)
				ms_finding_add(&au->f, MAILSEC_SEV_WARNING,
				    "dane-insecure", MS_NOOFF, "sign the zone "
				    "with DNSSEC (senders use TLSA only when "
				    "validated, RFC 7672 2.2)", "%s has TLSA "
				    "records, but the answer was not DNSSEC-"
				    "validated here", name);
			for (k = 0; k < res->count; k++)
				if (res->rrs[k].type == MAILSEC_DNS_TLSA &&
				    res->rrs[k].u.tlsa.usage < 2) {
					ms_finding_add(&au->f,
					    MAILSEC_SEV_WARNING, "dane-usage",
					    MS_NOOFF, "use DANE-EE (3 1 1) or "
					    "DANE-TA (2 1 1) records",
					    "%s: TLSA usage %u (PKIX-%s) is "
					    "not for SMTP (RFC 7672 3.1.3)",
					    name,
					    res->rrs[k].u.tlsa.usage,
					    res->rrs[k].u.tlsa.usage ? "EE" :
					    "TA");
					break;
				}
		}
		mailsec_dns_result_free(res);
		res = NULL;
		free(name);
	}
	if (a->nmx > 0 && a->ndane == 0)
		ms_finding_add(&au->f, MAILSEC_SEV_INFO, "dane-none", MS_NOOFF,
		    "with DNSSEC, publish _25._tcp.MX TLSA 3 1 1 records "
		    "(RFC 7672)", "no TLSA records on the MX hosts: no DANE");
}

/* p=quarantine or p=reject in force (the evaluator's reading). */
static bool
dmarc_enforcing(const char *text)
{
	struct mailsec_dmarc_record *rec = NULL;
	bool yes;

	if (text == NULL || mailsec_dmarc_record_parse(text, strlen(text),
	    MAILSEC_DMARC_RFC9989, &rec, NULL) != MAILSEC_OK)
		return false;
	yes = rec->usable && rec->p >= MAILSEC_DMARC_POLICY_QUARANTINE;
	mailsec_dmarc_record_free(rec);
	return yes;
}

static void
audit_bimi(struct audit *au)
{
	struct mailsec_audit *a = au->a;
	char *name = NULL, **v = NULL;
	size_t n = 0;

	if ((au->err = area_txt(au, "bimi", "default._bimi.", "v=BIMI1", &name, &v,
	    &n)) != MAILSEC_OK)
		goto done;
	if (n == 0) {
		ms_finding_add(&au->f, MAILSEC_SEV_INFO, "bimi-none", MS_NOOFF,
		    "optional: with DMARC at p=quarantine or p=reject, "
		    "publish default._bimi TXT \"v=BIMI1; l=https://...svg\"",
		    "no BIMI record (no brand logo in mailboxes)");
		goto done;
	}
	if ((a->bimi = ms_memdupz(v[0], strlen(v[0]))) == NULL) {
		au->err = MAILSEC_ENOMEM;
		goto done;
	}
	if (!dmarc_enforcing(a->dmarc))
		ms_finding_add(&au->f, MAILSEC_SEV_WARNING, "bimi-needs-dmarc",
		    MS_NOOFF, "move DMARC to p=quarantine or p=reject",
		    "BIMI record present, but mailbox providers show logos "
		    "only for domains with an enforcing DMARC policy");
	else
		ms_finding_add(&au->f, MAILSEC_SEV_INFO, "bimi-present",
		    MS_NOOFF, NULL, "BIMI record: %.200s", a->bimi);
done:
	ms_rec_strv_free(v, n);
	free(name);
}

/* ---- the whole --------------------------------------------------------- */

static void
grade(struct mailsec_audit *a)
{
	unsigned cost = 0;
	size_t i;

	for (i = 0; i < a->nfindings && cost < 100; i++) {
		if (a->findings[i].severity == MAILSEC_SEV_ERROR)
			cost += AUDIT_ERROR_COST;
		else if (a->findings[i].severity == MAILSEC_SEV_WARNING)
			cost += AUDIT_WARNING_COST;
	}
	a->score = cost >= 100 ? 0 : 100 - cost;
	a->grade = a->score >= 90 ? 'A' : a->score >= 75 ? 'B' :
	    a->score >= 60 ? 'C' : a->score >= 40 ? 'D' : 'F';
}

mailsec_err
mailsec_audit_run(struct mailsec_resolver *r, const char *domain,
    const struct mailsec_audit_opts *opts, struct mailsec_audit **out,
    struct mailsec_diag *diag)
{
	struct audit au;
	size_t dl;
	void (*const steps[])(struct audit *) = {
		audit_mx, audit_spf, audit_dkim, audit_dmarc, audit_mtasts,
		audit_tlsrpt, audit_dane, audit_bimi,
	};
	size_t i;

	if (out != NULL)
		*out = NULL;
	if (r == NULL || out == NULL || domain == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "bad arguments");
	dl = strlen(domain);
	if (!ms_rec_domain_ok(domain, dl))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "'%.80s' is not a "
		    "domain name", domain);
	if (domain[dl - 1] == '.')
		dl--;
	memset(&au, 0, sizeof au);
	au.r = r;
	au.opts = opts;
	if ((au.a = ms_calloc(1, sizeof *au.a)) == NULL)
		return MAILSEC_ENOMEM;
	if ((au.a->domain = ms_memdupz(domain, dl)) == NULL) {
		free(au.a);
		return MAILSEC_ENOMEM;
	}
	for (i = 0; i < MS_ARRAY_LEN(steps) && au.err == MAILSEC_OK &&
	    au.f.err == MAILSEC_OK; i++)
		steps[i](&au);
	if (au.err == MAILSEC_OK)
		au.err = au.f.err;
	if (au.err != MAILSEC_OK) {
		ms_findings_free(&au.f);
		mailsec_audit_free(au.a);
		return au.err;
	}
	ms_findings_take(&au.f, &au.a->findings, &au.a->nfindings);
	grade(au.a);
	*out = au.a;
	return MAILSEC_OK;
}

void
mailsec_audit_free(struct mailsec_audit *a)
{
	size_t i;

	if (a == NULL)
		return;
	free(a->domain);
	ms_rec_strv_free(a->mx, a->nmx);
	free(a->spf);
	ms_rec_strv_free(a->spf_flat, a->nspf_flat);
	for (i = 0; i < a->ndkim; i++) {
		free(a->dkim[i].selector);
		free(a->dkim[i].record);
	}
	free(a->dkim);
	free(a->dmarc);
	free(a->dmarc_domain);
	free(a->mtasts);
	free(a->mtasts_policy);
	free(a->tlsrpt);
	free(a->bimi);
	free(a->findings);
	free(a);
}

const struct mailsec_finding *
mailsec_audit_find(const struct mailsec_audit *a, const char *code)
{
	return a == NULL ? NULL : ms_findings_find(a->findings, a->nfindings,
	    code);
}
