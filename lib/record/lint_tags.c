/*
 * lib/record/lint_tags.c - linters of the tag=value records: DMARC (RFC
 * 9989; RFC 7489 for pct), DKIM key records (RFC 6376 3.6.1, RFC 8301),
 * MTA-STS (RFC 8461 3.1 TXT, 3.2 policy file) and TLS-RPT (RFC 8460 3).
 *
 * DMARC and DKIM syntax is the evaluators' (mailsec_dmarc_record_parse()
 * lists every problem tag by tag; mailsec_dkim_record_parse()); their
 * diagnostics become findings with a code and a fix. MTA-STS and TLS-RPT
 * records go through the shared tag=value tokenizer (lib/core/tagvalue).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/dkim.h>
#include <mailsec/dmarc.h>

#include "core/tagvalue.h"
#include "record/mtasts_int.h"
#include "record/record_int.h"

/* The offset of tag name's value in a ';'-separated list, or MS_NOOFF. */
static size_t
tag_offset(const char *p, size_t len, const char *name, bool value)
{
	size_t i = 0, k, s, nl = strlen(name);

	while (i < len) {
		while (i < len && (ms_iswsp((unsigned char)p[i]) ||
		    p[i] == '\r' || p[i] == '\n'))
			i++;
		s = k = i;
		while (k < len && ms_isalnum((unsigned char)p[k]))
			k++;
		if (k - s == nl && memcmp(p + s, name, nl) == 0) {
			while (k < len && ms_iswsp((unsigned char)p[k]))
				k++;
			if (k < len && p[k] == '=') {
				if (!value)
					return s;
				k++;
				while (k < len && ms_iswsp((unsigned char)p[k]))
					k++;
				return k;
			}
		}
		while (i < len && p[i] != ';')
			i++;
		i++;
	}
	return MS_NOOFF;
}

/* ---- DMARC ------------------------------------------------------------- */

static const char *const dmarc_tags[] = {
	"v", "p", "sp", "np", "psd", "t", "adkim", "aspf", "rua", "ruf",
	"fo", "pct", "rf", "ri",
};
static const char *const dmarc_policies[] = { "none", "quarantine",
	"reject" };

static const char *
dmarc_tag_fix(const char *tag)
{
	static const struct { const char *tag, *fix; } t[] = {
		{ "p", "p=none, p=quarantine or p=reject" },
		{ "sp", "sp=none, sp=quarantine or sp=reject" },
		{ "np", "np=none, np=quarantine or np=reject" },
		{ "adkim", "adkim=r (relaxed) or adkim=s (strict)" },
		{ "aspf", "aspf=r (relaxed) or aspf=s (strict)" },
		{ "rua", "rua=mailto:dmarc-reports@example.org (comma-"
		    "separated URIs)" },
		{ "ruf", "ruf=mailto:dmarc-failures@example.org" },
		{ "fo", "fo=0, fo=1, fo=d or fo=s (colon-separated)" },
		{ "psd", "psd=y, psd=n or psd=u" },
		{ "t", "t=y (testing) or t=n" },
		{ "pct", "remove pct= (RFC 9989); use t=y to test" },
		{ "v", "start the record with v=DMARC1;" },
	};
	size_t i;

	for (i = 0; i < MS_ARRAY_LEN(t); i++)
		if (strcmp(t[i].tag, tag) == 0)
			return t[i].fix;
	return "fix or remove the tag";
}

/* The value of a policy tag as written, for "did you mean". */
static void
policy_suggest(struct ms_lint_ctx *c, const char *p, size_t len,
    const struct mailsec_dmarc_problem *pr)
{
	size_t off = tag_offset(p, len, pr->tag, true), e;
	const char *sug = NULL;
	char shown[64];

	if (off != MS_NOOFF) {
		for (e = off; e < len && p[e] != ';' &&
		    !ms_iswsp((unsigned char)p[e]); e++)
			;
		sug = ms_rec_suggest(p + off, e - off, dmarc_policies,
		    MS_ARRAY_LEN(dmarc_policies), 3);
		ms_rec_printable(shown, sizeof shown, p + off, e - off);
	}
	if (sug != NULL)
		ms_finding_addf(c->f, MAILSEC_SEV_ERROR, "dmarc-bad-value",
		    pr->offset, pr->text, "did you mean %s=%s? (write "
		    "%s=%s instead of %s=%s)", pr->tag, sug, pr->tag, sug,
		    pr->tag, shown);
	else
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "dmarc-bad-value",
		    pr->offset, dmarc_tag_fix(pr->tag), "%s", pr->text);
}

static void
dmarc_problem(struct ms_lint_ctx *c, const char *p, size_t len,
    const struct mailsec_dmarc_problem *pr)
{
	bool known = false;
	const char *sug;
	size_t i;

	for (i = 0; i < MS_ARRAY_LEN(dmarc_tags); i++)
		if (strcmp(pr->tag, dmarc_tags[i]) == 0)
			known = true;
	if (pr->tag[0] == '\0') {
		ms_finding_add(c->f, pr->severity == MAILSEC_DMARC_ERROR ?
		    MAILSEC_SEV_ERROR : MAILSEC_SEV_WARNING,
		    pr->severity == MAILSEC_DMARC_ERROR ? "dmarc-no-policy" :
		    "dmarc-record", MS_NOOFF, "write p=none, p=quarantine "
		    "or p=reject right after v=DMARC1", "%s", pr->text);
		return;
	}
	if (!known) {
		sug = ms_rec_suggest(pr->tag, strlen(pr->tag), dmarc_tags,
		    MS_ARRAY_LEN(dmarc_tags), 2);
		if (sug != NULL)
			ms_finding_addf(c->f, pr->severity ==
			    MAILSEC_DMARC_ERROR ? MAILSEC_SEV_ERROR :
			    MAILSEC_SEV_WARNING, "dmarc-unknown-tag",
			    pr->offset, pr->text, "did you mean %s=? (write "
			    "%s= instead of %s=)", sug, sug, pr->tag);
		else
			ms_finding_add(c->f, pr->severity ==
			    MAILSEC_DMARC_ERROR ? MAILSEC_SEV_ERROR :
			    MAILSEC_SEV_WARNING, "dmarc-unknown-tag",
			    pr->offset, "remove the tag", "%s", pr->text);
		return;
	}
	if (strcmp(pr->tag, "v") == 0) {
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "dmarc-version",
		    pr->offset, "write v=DMARC1 once, as the first tag", "%s",
		    pr->text);
		return;
	}
	if (pr->severity == MAILSEC_DMARC_WARNING &&
	    (strcmp(pr->tag, "pct") == 0 || strcmp(pr->tag, "rf") == 0 ||
	    strcmp(pr->tag, "ri") == 0)) {
		ms_finding_addf(c->f, MAILSEC_SEV_WARNING, "dmarc-obsolete",
		    pr->offset, pr->text, "remove %s=%s", pr->tag,
		    strcmp(pr->tag, "pct") == 0 ? " (t=y replaces pct=0; "
		    "receivers following RFC 9989 apply the policy to every "
		    "message)" : "");
		return;
	}
	if (pr->severity == MAILSEC_DMARC_ERROR &&
	    (strcmp(pr->tag, "p") == 0 || strcmp(pr->tag, "sp") == 0 ||
	    strcmp(pr->tag, "np") == 0)) {
		policy_suggest(c, p, len, pr);
		return;
	}
	if (pr->severity == MAILSEC_DMARC_ERROR) {
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "dmarc-bad-value",
		    pr->offset, dmarc_tag_fix(pr->tag), "%s", pr->text);
		return;
	}
	ms_finding_add(c->f, MAILSEC_SEV_WARNING,
	    strcmp(pr->tag, "rua") == 0 || strcmp(pr->tag, "ruf") == 0 ?
	    "dmarc-report-uri" : "dmarc-questionable", pr->offset,
	    dmarc_tag_fix(pr->tag), "%s", pr->text);
}

/* Same organization, roughly: equal, or one below the other. Without a
 * PSL this errs towards asking for the authorization record. */
static bool
same_org(const char *a, const char *b)
{
	size_t al = strlen(a), bl = strlen(b);

	if (al > 0 && a[al - 1] == '.')
		al--;
	if (bl > 0 && b[bl - 1] == '.')
		bl--;
	if (ms_ascii_eq(a, al, b, bl))
		return true;
	if (al > bl && a[al - bl - 1] == '.' &&
	    ms_ascii_eq(a + al - bl, bl, b, bl))
		return true;
	if (bl > al && b[bl - al - 1] == '.' &&
	    ms_ascii_eq(b + bl - al, al, a, al))
		return true;
	return false;
}

/* RFC 9989 / RFC 7489 7.1: reports to another domain need its
 * <domain>._report._dmarc.<host> record starting with v=DMARC1. */
static mailsec_err
dmarc_authorization(struct ms_lint_ctx *c, const char *tag,
    const struct mailsec_dmarc_uri *u, size_t n, size_t off)
{
	enum mailsec_dns_status st;
	const char *host;
	char name[600], **v = NULL;
	size_t i, nv = 0;
	int k;
	mailsec_err err;

	for (i = 0; i < n; i++) {
		if (!u[i].valid || !u[i].mailto || u[i].address == NULL ||
		    (host = strrchr(u[i].address, '@')) == NULL)
			continue;
		host++;
		if (same_org(host, c->opts->domain))
			continue;
		k = snprintf(name, sizeof name, "%s._report._dmarc.%s",
		    c->opts->domain, host);
		if (k < 0 || (size_t)k >= sizeof name)
			continue;
		err = ms_rec_txt(c->opts->resolver, name, "v=DMARC1", &v, &nv,
		    &st);
		if (err != MAILSEC_OK)
			return err;
		ms_rec_strv_free(v, nv);
		if (nv > 0)
			continue;
		if (mailsec_dns_status_is_temporary(st)) {
			ms_finding_add(c->f, MAILSEC_SEV_WARNING,
			    "dmarc-dns-temp", off, "retry later",
			    "%s: could not check %s (%s)", tag, name,
			    mailsec_dns_status_name(st));
			continue;
		}
		ms_finding_addf(c->f, MAILSEC_SEV_ERROR,
		    "dmarc-rua-unauthorized", off, "reports go to another "
		    "domain that has not agreed to take them: receivers "
		    "send none (RFC 9989, RFC 7489 7.1)", "ask the owner of "
		    "%s to publish %s. IN TXT \"v=DMARC1\" (or send %s= to "
		    "an address of your own domain)", host, name, tag);
	}
	return MAILSEC_OK;
}

/* RFC 9989 4.10.1: several DMARC records at one name count as none. */
static mailsec_err
dmarc_duplicates(struct ms_lint_ctx *c)
{
	enum mailsec_dns_status st;
	char name[300], **v = NULL;
	size_t nv = 0;
	mailsec_err err;
	int k;

	k = snprintf(name, sizeof name, "_dmarc.%s", c->opts->domain);
	if (k < 0 || (size_t)k >= sizeof name)
		return MAILSEC_OK;
	if ((err = ms_rec_txt(c->opts->resolver, name, "v=DMARC1", &v, &nv,
	    &st)) != MAILSEC_OK)
		return err;
	ms_rec_strv_free(v, nv);
	if (nv > 1)
		ms_finding_add(c->f, MAILSEC_SEV_ERROR,
		    "dmarc-duplicate-records", MS_NOOFF, "keep one record and "
		    "delete the others", "%s has %zu DMARC records: receivers "
		    "apply none of them (RFC 9989 4.10.1)", name, nv);
	return MAILSEC_OK;
}

mailsec_err
ms_lint_dmarc(struct ms_lint_ctx *c, const char *p, size_t len)
{
	struct mailsec_dmarc_record *rec = NULL, *old = NULL;
	struct mailsec_diag d = { 0 };
	size_t i, nvalid = 0, w;
	mailsec_err err;

	err = mailsec_dmarc_record_parse(p, len, MAILSEC_DMARC_RFC9989, &rec,
	    &d);
	if (err == MAILSEC_ELIMIT) {
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "dmarc-too-long",
		    d.offset, "keep the record short: a few tags", "%s",
		    d.text);
		return MAILSEC_OK;
	}
	if (err != MAILSEC_OK)
		return err;
	if (!rec->dmarc) {
		for (w = 0; w < len && !ms_iswsp((unsigned char)p[w]) &&
		    p[w] != ';'; w++)
			;
		if (w > 0 && ms_rec_distance(p, w, "v=DMARC1", 2) <= 2)
			ms_finding_add(c->f, MAILSEC_SEV_ERROR,
			    "dmarc-version", 0, "did you mean 'v=DMARC1'? "
			    "(exactly, upper case, as the first tag)", "%s",
			    rec->nproblems ? rec->problems[0].text :
			    "no v=DMARC1");
		else
			ms_finding_add(c->f, MAILSEC_SEV_ERROR,
			    "dmarc-version", 0, "start the record with "
			    "v=DMARC1;", "%s", rec->nproblems ?
			    rec->problems[0].text : "no v=DMARC1");
		goto done;
	}
	for (i = 0; i < rec->nproblems; i++)
		dmarc_problem(c, p, len, &rec->problems[i]);
	for (i = 0; i < rec->nrua; i++)
		if (rec->rua[i].valid)
			nvalid++;
	if (rec->usable && (rec->p == MAILSEC_DMARC_POLICY_NONE ||
	    rec->p == MAILSEC_DMARC_POLICY_UNSET)) {
		if (nvalid == 0)
			ms_finding_add(c->f, MAILSEC_SEV_WARNING,
			    "dmarc-none-no-rua", tag_offset(p, len, "p", false),
			    "add rua=mailto:dmarc-reports@YOUR-DOMAIN to see "
			    "who sends as you, then move to p=quarantine and "
			    "p=reject", "p=none without rua=: nothing is "
			    "enforced and nobody gets the reports");
		else
			ms_finding_add(c->f, MAILSEC_SEV_INFO,
			    "dmarc-monitor-only", tag_offset(p, len, "p",
			    false), "once the reports show only your own "
			    "sources, move to p=quarantine, then p=reject",
			    "p=none: monitoring only, spoofed mail is still "
			    "delivered");
	} else if (rec->usable && nvalid == 0) {
		ms_finding_add(c->f, MAILSEC_SEV_INFO, "dmarc-no-rua", MS_NOOFF,
		    "add rua=mailto:dmarc-reports@YOUR-DOMAIN",
		    "no rua=: you get no aggregate reports");
	}
	if (rec->testing)
		ms_finding_add(c->f, MAILSEC_SEV_WARNING, "dmarc-testing",
		    tag_offset(p, len, "t", false), "remove t=y once the "
		    "reports look right", "t=y: receivers apply one step less "
		    "than the policy (quarantine as none, reject as "
		    "quarantine, RFC 9989 4.7)");
	if (rec->sp == MAILSEC_DMARC_POLICY_NONE &&
	    rec->p > MAILSEC_DMARC_POLICY_NONE)
		ms_finding_add(c->f, MAILSEC_SEV_WARNING, "dmarc-sp-none",
		    tag_offset(p, len, "sp", false), "remove sp=none (sp= "
		    "defaults to p=) unless subdomains really send "
		    "unauthenticated mail", "sp=none: anyone can spoof "
		    "subdomains although p= protects the domain");
	/* pct is obsolete in RFC 9989; RFC 7489 receivers still sample */
	if (mailsec_dmarc_record_parse(p, len, MAILSEC_DMARC_RFC7489, &old,
	    NULL) == MAILSEC_OK && old->has_pct && old->pct < 100)
		ms_finding_add(c->f, MAILSEC_SEV_WARNING, "dmarc-pct",
		    tag_offset(p, len, "pct", false), "remove pct= (the "
		    "policy then covers all mail); use t=y while testing",
		    "pct=%u: RFC 7489 receivers apply the policy to only "
		    "%u%% of failing mail", old->pct, old->pct);
	mailsec_dmarc_record_free(old);
	if (c->opts->resolver != NULL && c->opts->domain != NULL) {
		err = dmarc_duplicates(c);
		if (err == MAILSEC_OK)
			err = dmarc_authorization(c, "rua", rec->rua,
			    rec->nrua, tag_offset(p, len, "rua", true));
		if (err == MAILSEC_OK)
			err = dmarc_authorization(c, "ruf", rec->ruf,
			    rec->nruf, tag_offset(p, len, "ruf", true));
	}
done:
	mailsec_dmarc_record_free(rec);
	return err;
}

/* ---- DKIM key records -------------------------------------------------- */

/* RFC 8301 3.2: verifiers refuse RSA under 1024; 2048 is today's floor. */
#define DKIM_RSA_MIN 1024
#define DKIM_RSA_GOOD 2048

mailsec_err
ms_lint_dkim(struct ms_lint_ctx *c, const char *p, size_t len)
{
	static const char *const key_types[] = { "rsa", "ed25519" };
	struct mailsec_dkim_record rec;
	struct mailsec_diag d = { 0 };
	const char *sug;
	char shown[40], name[600], **v = NULL;
	enum mailsec_dns_status st;
	size_t nv = 0;
	mailsec_err err;
	int k;

	memset(&rec, 0, sizeof rec);
	err = mailsec_dkim_record_parse(p, len, &rec, &d);
	if (err == MAILSEC_ENOMEM)
		return err;
	if (err != MAILSEC_OK) {
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "dkim-syntax",
		    d.offset, "publish the record `mailsec dkim keygen` "
		    "prints: v=DKIM1; k=rsa; p=BASE64", "%s", d.set ? d.text :
		    mailsec_strerror(err));
		return MAILSEC_OK;
	}
	if (rec.revoked) {
		ms_finding_add(c->f, MAILSEC_SEV_INFO, "dkim-revoked",
		    tag_offset(p, len, "p", true), "delete the record once "
		    "no mail signed with this key is in flight",
		    "empty p=: the key is revoked, signatures with it fail");
		return MAILSEC_OK;
	}
	if (rec.key_type == MAILSEC_DKIM_ALG_UNKNOWN) {
		ms_rec_printable(shown, sizeof shown, rec.key_type_text.ptr,
		    rec.key_type_text.len);
		sug = ms_rec_suggest(rec.key_type_text.ptr,
		    rec.key_type_text.len, key_types,
		    MS_ARRAY_LEN(key_types), 3);
		if (sug != NULL)
			ms_finding_addf(c->f, MAILSEC_SEV_ERROR,
			    "dkim-key-type", tag_offset(p, len, "k", true),
			    "unknown key type: verifiers cannot use the key",
			    "did you mean k=%s? (write k=%s instead of k=%s)",
			    sug, sug, shown);
		else
			ms_finding_add(c->f, MAILSEC_SEV_ERROR,
			    "dkim-key-type", tag_offset(p, len, "k", true),
			    "k=rsa or k=ed25519", "unknown key type k=%s",
			    shown);
	} else if (rec.key_type == MAILSEC_DKIM_RSA_SHA256) {
		if (rec.key_bits < DKIM_RSA_MIN)
			ms_finding_add(c->f, MAILSEC_SEV_ERROR,
			    "dkim-key-too-short", tag_offset(p, len, "p",
			    true), "generate a 2048-bit key (mailsec dkim "
			    "keygen) and rotate (mailsec dkim rotate)",
			    "RSA key of %u bits: verifiers refuse keys under "
			    "%d bits (RFC 8301 3.2)", rec.key_bits,
			    DKIM_RSA_MIN);
		else if (rec.key_bits < DKIM_RSA_GOOD)
			ms_finding_add(c->f, MAILSEC_SEV_WARNING,
			    "dkim-key-weak", tag_offset(p, len, "p", true),
			    "generate a 2048-bit key (mailsec dkim keygen) "
			    "and rotate (mailsec dkim rotate)", "RSA key of "
			    "%u bits: under %d bits is weak (RFC 8301 3.2 "
			    "asks signers for at least 2048)", rec.key_bits,
			    DKIM_RSA_GOOD);
	}
	if (rec.sha1_only)
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "dkim-sha1",
		    tag_offset(p, len, "h", false), "remove h= (or write "
		    "h=sha256)", "h= allows only sha1: verifiers refuse "
		    "rsa-sha1 signatures (RFC 8301 3.1), so nothing "
		    "signed with this key verifies");
	if (!rec.email_service)
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "dkim-service",
		    tag_offset(p, len, "s", false), "remove s= (or write "
		    "s=email)", "s= does not include email: the key cannot "
		    "sign mail (RFC 6376 3.6.1)");
	if (rec.testing)
		ms_finding_add(c->f, MAILSEC_SEV_WARNING, "dkim-testing",
		    tag_offset(p, len, "t", false), "remove t=y once "
		    "signatures verify", "t=y: the domain is testing DKIM; "
		    "verifiers may treat failures as no signature (RFC 6376 "
		    "3.6.1)");
	if (!rec.has_version)
		ms_finding_add(c->f, MAILSEC_SEV_INFO, "dkim-no-version",
		    MS_NOOFF, "start the record with v=DKIM1;", "no v=DKIM1: "
		    "allowed, but usual and it makes the record "
		    "recognizable");
	if (c->opts->resolver != NULL && c->opts->domain != NULL &&
	    c->opts->selector != NULL) {
		k = snprintf(name, sizeof name, "%s._domainkey.%s",
		    c->opts->selector, c->opts->domain);
		if (k > 0 && (size_t)k < sizeof name) {
			err = ms_rec_txt(c->opts->resolver, name, NULL, &v, &nv,
			    &st);
			if (err != MAILSEC_OK)
				return err;
			if (nv > 1)
				ms_finding_add(c->f, MAILSEC_SEV_ERROR,
				    "dkim-duplicate-records", MS_NOOFF,
				    "keep one TXT record per selector", "%s "
				    "has %zu TXT records: verifiers may pick "
				    "any", name, nv);
			ms_rec_strv_free(v, nv);
		}
	}
	return MAILSEC_OK;
}

/* ---- MTA-STS and TLS-RPT TXT records ----------------------------------- */

/*
 * The common frame: tokenized by the shared tag=value tokenizer, first
 * tag v=VERSION (case-sensitive: RFC 8461 3.1 and RFC 8460 3 write
 * %s"..."). Returns false when there is nothing more to check.
 */
static bool
tags_frame(struct ms_lint_ctx *c, const char *p, size_t len,
    struct ms_taglist *tl, const char *prefix, const char *version)
{
	struct mailsec_diag d = { 0 };
	char code[40], shown[48];

	if (ms_taglist_parse(p, len, tl, &d) != MAILSEC_OK) {
		snprintf(code, sizeof code, "%s-syntax", prefix);
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, code, d.offset,
		    "write tag=value pairs separated by ';'", "%s", d.text);
		return false;
	}
	snprintf(code, sizeof code, "%s-version", prefix);
	if (tl->count == 0 || !ms_ascii_eqz(tl->tags[0].name.ptr,
	    tl->tags[0].name.len, "v") || tl->tags[0].value.len !=
	    strlen(version) || memcmp(tl->tags[0].value.ptr, version,
	    strlen(version)) != 0) {
		if (tl->count > 0)
			ms_rec_printable(shown, sizeof shown,
			    tl->tags[0].name.ptr, (size_t)(tl->tags[0].
			    value.ptr + tl->tags[0].value.len -
			    tl->tags[0].name.ptr));
		else
			shown[0] = '\0';
		ms_finding_addf(c->f, MAILSEC_SEV_ERROR, code, 0, "the record "
		    "must start with its version tag (case-sensitive): "
		    "clients ignore it otherwise", "start it with "
		    "v=%s;%s%s%s", version, shown[0] ? " (not '" : "", shown,
		    shown[0] ? "')" : "");
		return tl->count > 0;
	}
	return true;
}

static void
unknown_tag(struct ms_lint_ctx *c, const char *p, const struct ms_tag *t,
    const char *code, const char *const *known, size_t nknown)
{
	char shown[40];
	const char *sug;

	ms_rec_printable(shown, sizeof shown, t->name.ptr, t->name.len);
	sug = ms_rec_suggest(t->name.ptr, t->name.len, known, nknown, 2);
	if (sug != NULL)
		ms_finding_addf(c->f, MAILSEC_SEV_WARNING, code,
		    (size_t)(t->name.ptr - p), "unknown tag: ignored by "
		    "clients", "did you mean %s=? (write %s= instead of %s=)",
		    sug, sug, shown);
	else
		ms_finding_add(c->f, MAILSEC_SEV_INFO, code,
		    (size_t)(t->name.ptr - p), "remove it unless you know a "
		    "client that reads it", "unknown tag %s= is ignored",
		    shown);
}

/* For a record of v= and one other tag, known[1]: that tag (the last
 * one, NULL when absent); every other tag after v= is reported as
 * unknown under code. */
static const struct ms_tag *
sole_tag(struct ms_lint_ctx *c, const char *p, const struct ms_taglist *tl,
    const char *const known[2], const char *code)
{
	const struct ms_tag *found = NULL;
	size_t i;

	for (i = 1; i < tl->count; i++) {
		if (ms_ascii_eqz(tl->tags[i].name.ptr, tl->tags[i].name.len,
		    known[1]))
			found = &tl->tags[i];
		else
			unknown_tag(c, p, &tl->tags[i], code, known, 2);
	}
	return found;
}

mailsec_err
ms_lint_mtasts(struct ms_lint_ctx *c, const char *p, size_t len)
{
	static const char *const known[] = { "v", "id" };
	struct ms_taglist tl;
	const struct ms_tag *id;

	if (!tags_frame(c, p, len, &tl, "mtasts", "STSv1"))
		return MAILSEC_OK;
	id = sole_tag(c, p, &tl, known, "mtasts-unknown-tag");
	if (id == NULL) {
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "mtasts-id-missing",
		    MS_NOOFF, "add id=YYYYMMDDhhmmss (change it whenever the "
		    "policy file changes)", "no id=: senders cannot tell "
		    "when the policy changed (RFC 8461 3.1)");
		return MAILSEC_OK;
	}
	if (!mailsec_mtasts_id_ok(id->value.ptr, id->value.len))
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "mtasts-id",
		    (size_t)(id->value.ptr - p), "use 1 to 32 letters and "
		    "digits, e.g. id=20240101000000", "id= must be 1 to 32 "
		    "letters or digits (RFC 8461 3.1)");
	return MAILSEC_OK;
}

/* A TLS-RPT rua entry: mailto:addr or https://... (RFC 8460 3). */
static void
tlsrpt_uri(struct ms_lint_ctx *c, const char *p, const char *u, size_t n)
{
	char shown[96];
	const char *at;

	while (n > 0 && ms_iswsp((unsigned char)u[0])) {
		u++;
		n--;
	}
	while (n > 0 && ms_iswsp((unsigned char)u[n - 1]))
		n--;
	ms_rec_printable(shown, sizeof shown, u, n);
	if (n > 7 && ms_ascii_eq(u, 7, "mailto:", 7)) {
		at = memchr(u + 7, '@', n - 7);
		if (at != NULL && at > u + 7 &&
		    ms_rec_domain_ok(at + 1, (size_t)(u + n - at - 1)))
			return;
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "tlsrpt-rua-uri",
		    (size_t)(u - p), "write mailto:tlsrpt@example.org",
		    "'%s' is not a mailto: address", shown);
		return;
	}
	if (n > 8 && ms_ascii_eq(u, 8, "https://", 8))
		return;
	if (memchr(u, '@', n) != NULL && memchr(u, ':', n) == NULL)
		ms_finding_addf(c->f, MAILSEC_SEV_ERROR, "tlsrpt-rua-uri",
		    (size_t)(u - p), "a report address needs its scheme",
		    "did you mean mailto:%s?", shown);
	else
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "tlsrpt-rua-uri",
		    (size_t)(u - p), "use mailto:ADDRESS or https://URL",
		    "'%s': TLS-RPT takes mailto: and https: URIs only "
		    "(RFC 8460 3)", shown);
}

mailsec_err
ms_lint_tlsrpt(struct ms_lint_ctx *c, const char *p, size_t len)
{
	static const char *const known[] = { "v", "rua" };
	struct ms_taglist tl;
	const struct ms_tag *rua;
	size_t i, s;

	if (!tags_frame(c, p, len, &tl, "tlsrpt", "TLSRPTv1"))
		return MAILSEC_OK;
	rua = sole_tag(c, p, &tl, known, "tlsrpt-unknown-tag");
	if (rua == NULL) {
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "tlsrpt-rua-missing",
		    MS_NOOFF, "add rua=mailto:tlsrpt@YOUR-DOMAIN", "no rua=: "
		    "the record names nobody to send reports to (RFC 8460 3)");
		return MAILSEC_OK;
	}
	if (rua->value.len == 0) {
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "tlsrpt-rua-uri",
		    (size_t)(rua->value.ptr - p), "write "
		    "rua=mailto:tlsrpt@YOUR-DOMAIN", "empty rua=");
		return MAILSEC_OK;
	}
	for (i = s = 0; i <= rua->value.len; i++)
		if (i == rua->value.len || rua->value.ptr[i] == ',') {
			tlsrpt_uri(c, p, rua->value.ptr + s, i - s);
			s = i + 1;
		}
	return MAILSEC_OK;
}

/* ---- the MTA-STS policy file (RFC 8461 3.2) ---------------------------- */

static void
policy_value(struct ms_lint_ctx *c, const struct ms_mtasts_line *l,
    unsigned *seen, enum mailsec_mtasts_mode *mode, size_t *nmx)
{
	static const char *const modes[] = { "enforce", "testing", "none" };
	static const char *const keys[] = { "version", "mode", "max_age",
	    "mx" };
	char shown[96];
	const char *sug;
	size_t k;
	uint32_t age = 0;

	ms_rec_printable(shown, sizeof shown, l->val, l->vlen);
	for (k = 0; k < MS_ARRAY_LEN(keys); k++)
		if (l->klen == strlen(keys[k]) &&
		    memcmp(l->key, keys[k], l->klen) == 0)
			break;
	if (k == MS_ARRAY_LEN(keys)) {
		char kshown[40];

		ms_rec_printable(kshown, sizeof kshown, l->key, l->klen);
		sug = ms_rec_suggest(l->key, l->klen, keys, MS_ARRAY_LEN(keys),
		    2);
		if (sug != NULL)
			ms_finding_addf(c->f, MAILSEC_SEV_ERROR,
			    "mtasts-policy-unknown-key", l->off, "unknown key "
			    "(keys are case-sensitive): ignored by senders",
			    "did you mean '%s:'? (write %s: instead of %s:)",
			    sug, sug, kshown);
		else
			ms_finding_add(c->f, MAILSEC_SEV_INFO,
			    "mtasts-policy-unknown-key", l->off, "remove it",
			    "unknown key '%s' is ignored", kshown);
		return;
	}
	if (k != 3 && (*seen & (1u << k))) {
		ms_finding_add(c->f, MAILSEC_SEV_ERROR,
		    "mtasts-policy-duplicate", l->off, "keep one line per "
		    "key (mx: may repeat)", "%s: appears twice", keys[k]);
		return;
	}
	*seen |= 1u << k;
	switch (k) {
	case 0:
		if (l->vlen != 5 || memcmp(l->val, "STSv1", 5) != 0)
			ms_finding_addf(c->f, MAILSEC_SEV_ERROR,
			    "mtasts-policy-version", l->voff, "the version "
			    "must be STSv1 (case-sensitive)", "write "
			    "'version: STSv1' (not '%s')", shown);
		break;
	case 1:
		if (!ms_mtasts_mode_parse(l->val, l->vlen, mode)) {
			sug = ms_rec_suggest(l->val, l->vlen, modes,
			    MS_ARRAY_LEN(modes), 3);
			if (sug != NULL)
				ms_finding_addf(c->f, MAILSEC_SEV_ERROR,
				    "mtasts-policy-mode", l->voff, "unknown "
				    "mode: senders discard the policy",
				    "did you mean 'mode: %s'? (not '%s')", sug,
				    shown);
			else
				ms_finding_add(c->f, MAILSEC_SEV_ERROR,
				    "mtasts-policy-mode", l->voff, "write "
				    "mode: enforce, testing or none",
				    "unknown mode '%s'", shown);
			break;
		}
		if (*mode == MAILSEC_MTASTS_TESTING)
			ms_finding_add(c->f, MAILSEC_SEV_WARNING,
			    "mtasts-policy-testing", l->voff, "switch to mode: "
			    "enforce once TLS-RPT reports show no failures",
			    "mode: testing: failures are reported, mail is "
			    "still delivered without TLS");
		else if (*mode == MAILSEC_MTASTS_NONE)
			ms_finding_add(c->f, MAILSEC_SEV_WARNING,
			    "mtasts-policy-none", l->voff, "use mode: testing "
			    "or enforce (none is for withdrawing a policy)",
			    "mode: none: MTA-STS is switched off");
		break;
	case 2:
		if (!ms_mtasts_max_age(l->val, l->vlen, &age)) {
			ms_finding_add(c->f, MAILSEC_SEV_ERROR,
			    "mtasts-policy-max-age", l->voff, "write max_age: "
			    "604800 (a week) up to 31557600 (a year)",
			    "max_age '%s' is not a number of seconds up to "
			    "%u (RFC 8461 3.2)", shown,
			    MAILSEC_MTASTS_MAX_AGE_MAX);
		} else if (age < 86400) {
			ms_finding_add(c->f, MAILSEC_SEV_WARNING,
			    "mtasts-policy-max-age-short", l->voff, "use at "
			    "least 604800 (a week); RFC 8461 suggests weeks",
			    "max_age %s: under a day, the policy protects "
			    "little between fetches", shown);
		}
		break;
	case 3:
		(*nmx)++;
		if (*nmx > MAILSEC_MTASTS_MX_MAX) {
			if (*nmx == MAILSEC_MTASTS_MX_MAX + 1)
				ms_finding_add(c->f, MAILSEC_SEV_ERROR,
				    "mtasts-policy-mx", l->off, "use wildcards "
				    "(*.example.net)", "more than %d mx: "
				    "lines", MAILSEC_MTASTS_MX_MAX);
			break;
		}
		if (ms_mtasts_mx_pattern_ok(l->val, l->vlen))
			break;
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "mtasts-policy-mx",
		    l->voff, "write a host name (mx1.example.org) or a "
		    "wildcard of one label (*.example.org)", "mx: '%s' is "
		    "not a host name pattern (RFC 8461 3.2)", shown);
		break;
	}
}

mailsec_err
ms_lint_mtasts_policy(struct ms_lint_ctx *c, const char *p, size_t len)
{
	static const char *const need[] = { "version", "mode", "max_age" };
	struct ms_mtasts_line l;
	enum mailsec_mtasts_mode mode = MAILSEC_MTASTS_NONE;
	unsigned seen = 0;
	size_t pos = 0, k, nmx = 0;
	bool lf = false;

	while (ms_mtasts_line_next(p, len, &pos, &l)) {
		lf = lf || l.lf;
		if (l.len == 0)
			continue;
		if (!l.kv) {
			char shown[64];

			ms_finding_add(c->f, MAILSEC_SEV_ERROR,
			    "mtasts-policy-syntax", l.off, "write 'key: "
			    "value' lines (version, mode, mx, max_age)",
			    "line '%s' is not 'key: value'",
			    ms_rec_printable(shown, sizeof shown, p + l.off,
			    l.len));
			continue;
		}
		policy_value(c, &l, &seen, &mode, &nmx);
	}
	for (k = 0; k < MS_ARRAY_LEN(need); k++)
		if (!(seen & (1u << k)))
			ms_finding_addf(c->f, MAILSEC_SEV_ERROR,
			    "mtasts-policy-missing", MS_NOOFF, "a required "
			    "key is missing: senders discard the policy "
			    "(RFC 8461 3.2)", "add a '%s: ...' line", need[k]);
	if ((seen & 2u) && mode != MAILSEC_MTASTS_NONE && nmx == 0)
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "mtasts-policy-no-mx",
		    MS_NOOFF, "add one 'mx: HOST' line per MX host (or "
		    "'mx: *.example.org')", "no mx: lines: no MX host "
		    "matches, mail cannot be delivered under enforce");
	if (lf)
		ms_finding_add(c->f, MAILSEC_SEV_INFO, "mtasts-policy-lf",
		    MS_NOOFF, "end lines with CRLF (`mailsec record "
		    "mta-sts` writes them so)", "lines end in bare LF; RFC "
		    "8461 3.2 writes CRLF (senders usually accept both)");
	return MAILSEC_OK;
}
