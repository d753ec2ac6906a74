/*
 * lib/record/lint_spf.c - the SPF record linter (RFC 7208).
 *
 * Syntax is the evaluator's: the whole record goes through
 * ms_spf_record_parse() (lib/spf/record.c), and each term alone too, as
 * "v=spf1 TERM", so every bad term is reported, not only the first, and
 * the good ones are known for the checks that follow: +all and ?all
 * (5.1), ptr (5.5), terms after all, more than 10 DNS-querying terms
 * (4.6.4), duplicate modifiers (6). With a resolver the include and
 * redirect tree is walked over the DNS layer (the same lookups
 * check_host() makes for an address that matches nothing): its
 * DNS-querying terms and void lookups are counted and its ip4/ip6 terms
 * collected, and the records at the domain are counted (4.5: more than
 * one is permerror).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/record_int.h"
#include "spf/spf_int.h"

/* Nesting of include/redirect followed when resolving: the lookup limit
 * stops a real evaluation at 10 anyway; a deeper tree is reported. */
#define SPF_WALK_DEPTH_MAX 12
/* DNS-querying terms followed when resolving before giving up (the
 * count is then "more than"): a bound on the walk's own work. */
#define SPF_WALK_LOOKUPS_MAX 60
/* RFC 7208 3.4: keep records small enough for a 512-byte UDP answer. */
#define SPF_SIZE_ADVICE 450
/* A TXT character-string holds at most 255 bytes (RFC 1035 3.3). */
#define TXT_STRING_MAX 255

static const char *const mech_names[] = {
	"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists",
};

static const char *const mod_names[] = { "redirect", "exp" };

/* What the term-by-term pass learnt. */
struct spf_scan {
	unsigned lookups;	/* DNS-querying terms, this record only */
	size_t all_at;		/* offset of all, or MS_NOOFF */
	char all_qual;
	bool after_all_told;
	size_t redirect_at;	/* offset of redirect=, or MS_NOOFF */
	unsigned nredirect, nexp;
	bool errors;		/* some term did not parse */
};

/* A fix for a malformed term of a known mechanism. */
static const char *
mech_fix(enum ms_spf_mech m)
{
	switch (m) {
	case MS_SPF_ALL:
		return "write -all (or ~all) with nothing after it";
	case MS_SPF_INCLUDE:
		return "write include:DOMAIN, e.g. "
		    "include:_spf.provider.example";
	case MS_SPF_EXISTS:
		return "write exists:DOMAIN (usually with macros)";
	case MS_SPF_A:
		return "write a, a:DOMAIN or a:DOMAIN/24";
	case MS_SPF_MX:
		return "write mx, mx:DOMAIN or mx/24";
	case MS_SPF_PTR:
		return "remove ptr (RFC 7208 5.5); list the addresses with "
		    "ip4:/ip6:";
	case MS_SPF_IP4:
		return "write ip4:ADDRESS or ip4:NETWORK/PREFIX, e.g. "
		    "ip4:192.0.2.0/24";
	case MS_SPF_IP6:
		return "write ip6:ADDRESS or ip6:NETWORK/PREFIX, e.g. "
		    "ip6:2001:db8::/32";
	}
	return "";
}

/* Parses one term as the record "v=spf1 TERM"; *rec on success. */
static mailsec_err
term_parse(const char *t, size_t n, struct ms_spf_record **rec,
    struct mailsec_diag *d)
{
	char buf[MAILSEC_SPF_RECORD_MAX];
	mailsec_err err;

	*rec = NULL;
	if (n + 7 > sizeof buf)
		return ms_diag(d, MAILSEC_ELIMIT, 0, 0, "term too long");
	memcpy(buf, "v=spf1 ", 7);
	memcpy(buf + 7, t, n);
	err = ms_spf_record_parse(buf, n + 7, rec, d);
	if (err != MAILSEC_OK && d != NULL)
		d->offset = d->offset >= 7 ? d->offset - 7 : 0;
	return err;
}

/* A term that did not parse: unknown mechanism (with "did you mean"),
 * or a malformed known one. */
static void
term_error(struct ms_lint_ctx *c, const char *t, size_t n, size_t off,
    const struct mailsec_diag *d)
{
	char shown[80], fixed[160];
	const char *sug, *rest;
	size_t i = 0, nl, eq, restlen;
	enum ms_spf_mech m = MS_SPF_ALL;
	bool known = false;

	ms_rec_printable(shown, sizeof shown, t, n);
	/* a modifier: name "=" (RFC 7208 12) */
	for (eq = 0; eq < n; eq++)
		if (!ms_isalnum((unsigned char)t[eq]) && t[eq] != '-' &&
		    t[eq] != '_' && t[eq] != '.')
			break;
	if (eq < n && t[eq] == '=') {
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "spf-syntax",
		    off + d->offset, "write NAME=DOMAIN, e.g. "
		    "redirect=_spf.example.org",
		    "modifier '%s': %s", shown, d->text);
		return;
	}
	if (n > 0 && strchr("+-~?", t[0]) != NULL)
		i = 1;
	nl = i;
	while (nl < n && ms_isalnum((unsigned char)t[nl]))
		nl++;
	for (size_t k = 0; k < MS_ARRAY_LEN(mech_names); k++)
		if (ms_ascii_eqz(t + i, nl - i, mech_names[k])) {
			known = true;
			m = (enum ms_spf_mech)k;
		}
	if (known) {
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "spf-syntax",
		    off + d->offset, mech_fix(m), "'%s': %s", shown, d->text);
		return;
	}
	rest = t + nl;
	restlen = n - nl;
	/* ip3:, ip5:: the value says which family was meant */
	if (nl - i == 3 && ms_ascii_eq(t + i, 2, "ip", 2)) {
		bool v6 = memchr(rest, ':', restlen) != NULL &&
		    restlen > 0 && memchr(rest + 1, ':', restlen - 1) != NULL;

		sug = v6 ? "ip6" : "ip4";
	} else {
		sug = ms_rec_suggest(t + i, nl - i, mech_names,
		    MS_ARRAY_LEN(mech_names), 2);
	}
	if (sug == NULL && nl - i > 0 && ms_ascii_eqz(t + i, nl - i, "spf1"))
		sug = NULL;
	if (sug != NULL) {
		ms_rec_printable(shown, sizeof shown, t, n);
		snprintf(fixed, sizeof fixed, "%.*s%s%.*s", (int)i, t, sug,
		    (int)(restlen > 100 ? 100 : restlen), rest);
		ms_finding_addf(c->f, MAILSEC_SEV_ERROR,
		    "spf-unknown-mechanism", off, "unknown mechanism: "
		    "receivers return permerror for the whole record",
		    "did you mean '%s'? (write %s instead of %s)", fixed,
		    fixed, shown);
		return;
	}
	ms_finding_add(c->f, MAILSEC_SEV_ERROR, "spf-unknown-mechanism", off,
	    "use only all, include, a, mx, ptr, ip4, ip6, exists and the "
	    "modifiers redirect= and exp=",
	    "unknown mechanism '%s': receivers return permerror for the "
	    "whole record (RFC 7208 4.6)", shown);
}

/* A term that parsed: its checks. */
static void
term_check(struct ms_lint_ctx *c, struct spf_scan *sc,
    const struct ms_spf_record *r, const char *t, size_t n, size_t off)
{
	char shown[80];
	const char *sug;
	size_t eq;

	ms_rec_printable(shown, sizeof shown, t, n);
	/* modifiers may stand anywhere (RFC 7208 4.6.3); mechanisms after
	 * all are dead */
	if (r->nterms > 0 && sc->all_at != MS_NOOFF && !sc->after_all_told) {
		sc->after_all_told = true;
		ms_finding_add(c->f, MAILSEC_SEV_WARNING, "spf-after-all", off,
		    "move the term before 'all', or remove it",
		    "'%s' comes after 'all': all always matches, so nothing "
		    "after it is ever used (RFC 7208 5.1)", shown);
	}
	if (r->has_redirect) {
		if (++sc->nredirect > 1)
			ms_finding_add(c->f, MAILSEC_SEV_ERROR,
			    "spf-duplicate-modifier", off, "keep one "
			    "redirect=", "redirect= appears twice: "
			    "permerror (RFC 7208 6)");
		sc->redirect_at = off;
		sc->lookups++;
		return;
	}
	if (r->has_exp) {
		if (++sc->nexp > 1)
			ms_finding_add(c->f, MAILSEC_SEV_ERROR,
			    "spf-duplicate-modifier", off, "keep one exp=",
			    "exp= appears twice: permerror (RFC 7208 6)");
		return;
	}
	if (r->nterms == 0) {
		/* an unknown modifier: legal, ignored; often a typo */
		for (eq = 0; eq < n && t[eq] != '='; eq++)
			;
		if (ms_ascii_eqz(t, eq, "v")) {
			ms_finding_add(c->f, MAILSEC_SEV_ERROR,
			    "spf-version-twice", off, "publish one SPF record "
			    "per name: merge the two",
			    "'%s' inside the record: two SPF records joined "
			    "into one", shown);
			return;
		}
		sug = ms_rec_suggest(t, eq, mod_names, MS_ARRAY_LEN(mod_names),
		    2);
		if (sug != NULL)
			ms_finding_addf(c->f, MAILSEC_SEV_WARNING,
			    "spf-unknown-modifier", off, "unknown modifier: "
			    "ignored by receivers (RFC 7208 6)",
			    "did you mean '%s=%.*s'?", sug,
			    (int)(n - eq - 1 > 100 ? 100 : n - eq - 1),
			    t + eq + 1);
		else
			ms_finding_add(c->f, MAILSEC_SEV_INFO,
			    "spf-unknown-modifier", off, "remove it unless a "
			    "receiver you know reads it", "modifier '%s' is "
			    "not defined by RFC 7208: receivers ignore it",
			    shown);
		return;
	}
	switch (r->terms[0].mech) {
	case MS_SPF_ALL:
		if (sc->all_at == MS_NOOFF) {
			sc->all_at = off;
			sc->all_qual = r->terms[0].qual;
		}
		if (r->terms[0].qual == '+')
			ms_finding_add(c->f, MAILSEC_SEV_ERROR, "spf-all-pass",
			    off, "end with -all (or ~all while testing)",
			    "'%s' lets every host on the Internet send as "
			    "this domain", shown);
		else if (r->terms[0].qual == '?')
			ms_finding_add(c->f, MAILSEC_SEV_WARNING,
			    "spf-all-neutral", off, "end with -all (or ~all "
			    "while testing)", "'%s' says nothing about "
			    "other hosts: the record protects nothing", shown);
		break;
	case MS_SPF_PTR:
		sc->lookups++;
		ms_finding_add(c->f, MAILSEC_SEV_WARNING, "spf-ptr", off,
		    "replace ptr with the hosts' ip4:/ip6: networks",
		    "'%s': ptr is slow, unreliable and must not be used "
		    "(RFC 7208 5.5)", shown);
		break;
	case MS_SPF_INCLUDE:
	case MS_SPF_A:
	case MS_SPF_MX:
	case MS_SPF_EXISTS:
		sc->lookups++;
		break;
	case MS_SPF_IP4:
	case MS_SPF_IP6:
		if ((r->terms[0].mech == MS_SPF_IP4 ? r->terms[0].cidr4 :
		    r->terms[0].cidr6) == 0 && r->terms[0].qual != '-')
			ms_finding_add(c->f, MAILSEC_SEV_ERROR, "spf-ip-all",
			    off, "list your own networks, not /0",
			    "'%s' covers every address: the same as +all",
			    shown);
		break;
	}
}

/* The version word, typos included: "v-spf1", "v=spf", "spf1". */
static bool
check_version(struct ms_lint_ctx *c, const char *p, size_t len,
    size_t *start)
{
	char shown[40];
	size_t i = 0;

	*start = 0;
	if (ms_spf_is_record(p, len)) {
		*start = 6;
		return true;
	}
	while (i < len && p[i] != ' ')
		i++;
	ms_rec_printable(shown, sizeof shown, p, i);
	if (i > 0 && (ms_rec_distance(p, i, "v=spf1", 2) <= 2 ||
	    ms_ascii_eq(p, i < 3 ? i : 3, "spf", 3) || (i >= 5 &&
	    ms_ascii_eq(p, 5, "v=spf", 5)))) {
		if (i >= 6 && ms_ascii_eq(p, 6, "v=spf2", 6))
			ms_finding_add(c->f, MAILSEC_SEV_ERROR, "spf-version",
			    0, "publish SPF as v=spf1 ... (Sender ID, "
			    "v=spf2.0, is dead: RFC 7208 does not use it)",
			    "'%s' is Sender ID, not SPF", shown);
		else
			ms_finding_addf(c->f, MAILSEC_SEV_ERROR,
			    "spf-version", 0, "the record does not start "
			    "with v=spf1: receivers do not see an SPF record "
			    "at all (RFC 7208 4.5)", "did you mean 'v=spf1'? "
			    "(write v=spf1 instead of %s)", shown);
		*start = i;
		return true;
	}
	ms_finding_add(c->f, MAILSEC_SEV_ERROR, "spf-version", 0,
	    "start the record with v=spf1", "not an SPF record: it does "
	    "not start with v=spf1 (RFC 7208 4.5)");
	return false;
}

/* ---- resolving ----------------------------------------------------------- */

struct spf_walk {
	struct ms_lint_ctx *c;
	struct mailsec_resolver *r;
	unsigned lookups;
	unsigned voids;
	bool cut;			/* SPF_WALK_LOOKUPS_MAX reached */
	const char *path[SPF_WALK_DEPTH_MAX + 1];	/* domains being
					   walked, for loops */
	unsigned depth;
	mailsec_err err;
};

static void walk_record(struct spf_walk *w, const struct ms_spf_record *rec,
    const char *domain);

/* Is there an answer of this type at name? 1 yes, 0 void, -1 temporary. */
static int
has_answer(struct spf_walk *w, const char *name, uint16_t type,
    size_t *count)
{
	struct mailsec_dns_result *res = NULL;
	int rc;

	if (mailsec_dns_lookup(w->r, name, type, &res) != MAILSEC_OK)
		return 0;
	if (mailsec_dns_status_is_temporary(res->status))
		rc = -1;
	else
		rc = res->status == MAILSEC_DNS_ANSWER && res->count > 0;
	if (count != NULL)
		*count = res->count;
	mailsec_dns_result_free(res);
	return rc;
}

static void
walk_void(struct spf_walk *w, const char *how, const char *target)
{
	w->voids++;
	ms_finding_add(w->c->f, MAILSEC_SEV_WARNING, "spf-void-lookup",
	    MS_NOOFF, "remove the term or fix the name it points to",
	    "%s %s: the name has no such records (a void lookup; more than "
	    "%d make the record permerror, RFC 7208 4.6.4)", how, target,
	    MAILSEC_SPF_VOID_MAX);
}

/* Follows include:/redirect= target (a literal domain). */
static void
walk_domain(struct spf_walk *w, const char *how, const char *target)
{
	enum mailsec_dns_status st;
	struct ms_spf_record *rec = NULL;
	struct mailsec_diag d = { 0 };
	char **v = NULL;
	size_t n = 0, i;

	for (i = 0; i < w->depth; i++)
		if (ms_ascii_eqz(target, strlen(target), w->path[i])) {
			ms_finding_add(w->c->f, MAILSEC_SEV_ERROR,
			    "spf-include-loop", MS_NOOFF, "remove the "
			    "include or redirect that points back",
			    "%s%s loops back to a record already being "
			    "evaluated: permerror", how, target);
			return;
		}
	if (w->depth >= SPF_WALK_DEPTH_MAX) {
		ms_finding_add(w->c->f, MAILSEC_SEV_ERROR, "spf-too-deep",
		    MS_NOOFF, "flatten the include chain", "includes nested "
		    "deeper than %d levels at %s%s", SPF_WALK_DEPTH_MAX, how,
		    target);
		return;
	}
	if ((w->err = ms_rec_txt(w->r, target, NULL, &v, &n, &st)) !=
	    MAILSEC_OK)
		return;
	if (mailsec_dns_status_is_temporary(st)) {
		ms_finding_add(w->c->f, MAILSEC_SEV_WARNING, "spf-dns-temp",
		    MS_NOOFF, "check the name servers of that domain; "
		    "receivers give temperror meanwhile", "%s%s: DNS lookup "
		    "failed (%s)", how, target, mailsec_dns_status_name(st));
		goto done;
	}
	{
		size_t k = 0, at = 0;

		for (i = 0; i < n; i++)
			if (ms_spf_is_record(v[i], strlen(v[i]))) {
				if (k++ == 0)
					at = i;
			}
		if (k == 0) {
			if (st != MAILSEC_DNS_ANSWER)
				w->voids++;
			ms_finding_add(w->c->f, MAILSEC_SEV_ERROR,
			    "spf-include-none", MS_NOOFF, "fix the name, or "
			    "remove the term (ask the provider for its SPF "
			    "include name)", "%s%s has no SPF record: "
			    "permerror for every message (RFC 7208 5.2, 6.1)",
			    how, target);
			goto done;
		}
		if (k > 1) {
			ms_finding_add(w->c->f, MAILSEC_SEV_ERROR,
			    "spf-duplicate-records", MS_NOOFF, "merge them "
			    "into one record", "%s%s publishes %zu SPF "
			    "records: permerror (RFC 7208 4.5)", how, target,
			    k);
			goto done;
		}
		if (ms_spf_record_parse(v[at], strlen(v[at]), &rec, &d) !=
		    MAILSEC_OK) {
			ms_finding_add(w->c->f, MAILSEC_SEV_ERROR,
			    "spf-include-syntax", MS_NOOFF, "ask the owner "
			    "of that record to fix it, or stop including it",
			    "the SPF record of %s%s is broken: %s (offset "
			    "%zu): permerror", how, target, d.text, d.offset);
			goto done;
		}
	}
	w->path[w->depth++] = target;
	walk_record(w, rec, target);
	w->depth--;
done:
	ms_spf_record_free(rec);
	ms_rec_strv_free(v, n);
}

static bool
walk_count(struct spf_walk *w)
{
	if (w->lookups >= SPF_WALK_LOOKUPS_MAX) {
		w->cut = true;
		return false;
	}
	w->lookups++;
	return true;
}

static void
walk_record(struct spf_walk *w, const struct ms_spf_record *rec,
    const char *domain)
{
	size_t i, count;
	bool all = false;
	int rc;

	for (i = 0; i < rec->nterms && w->err == MAILSEC_OK && !w->cut;
	    i++) {
		const struct ms_spf_term *t = &rec->terms[i];
		const char *target = t->spec.len ? t->lit : domain;
		char term[96];

		ms_rec_printable(term, sizeof term, t->text.ptr, t->text.len);
		switch (t->mech) {
		case MS_SPF_ALL:
			all = true;
			break;
		case MS_SPF_IP4:
		case MS_SPF_IP6:
			w->err = ms_rec_strv_add(&w->c->out->flat,
			    &w->c->out->nflat, t->text.ptr +
			    (strchr("+-~?", t->text.ptr[0]) ? 1 : 0),
			    t->text.len - (strchr("+-~?", t->text.ptr[0]) ?
			    1 : 0));
			break;
		case MS_SPF_INCLUDE:
			if (!walk_count(w))
				break;
			if (t->lit != NULL)
				walk_domain(w, "include:", t->lit);
			break;
		case MS_SPF_A:
			if (!walk_count(w) || target == NULL)
				break;
			rc = has_answer(w, target, MAILSEC_DNS_A, NULL);
			if (rc == 0)
				rc = has_answer(w, target, MAILSEC_DNS_AAAA,
				    NULL);
			if (rc == 0)
				walk_void(w, "a", target);
			break;
		case MS_SPF_MX:
			if (!walk_count(w) || target == NULL)
				break;
			count = 0;
			rc = has_answer(w, target, MAILSEC_DNS_MX, &count);
			if (rc == 0)
				walk_void(w, "mx", target);
			else if (rc > 0 && count > MAILSEC_SPF_MX_MAX)
				ms_finding_add(w->c->f, MAILSEC_SEV_ERROR,
				    "spf-mx-too-many", MS_NOOFF, "use ip4:/"
				    "ip6: for the mail hosts instead of mx",
				    "'%s': %s has %zu MX hosts, more than %d: "
				    "permerror (RFC 7208 4.6.4)", term, target,
				    count, MAILSEC_SPF_MX_MAX);
			break;
		case MS_SPF_PTR:
		case MS_SPF_EXISTS:
			(void)walk_count(w);
			break;
		}
		if (all)
			break;
	}
	if (!all && rec->has_redirect && w->err == MAILSEC_OK && !w->cut &&
	    walk_count(w) && rec->redirect_lit != NULL)
		walk_domain(w, "redirect=", rec->redirect_lit);
}

/* The records at opts->domain: one SPF record, not several (4.5). */
static mailsec_err
check_published(struct ms_lint_ctx *c)
{
	enum mailsec_dns_status st;
	char **v = NULL;
	size_t n = 0, i, k = 0;
	mailsec_err err;

	err = ms_rec_txt(c->opts->resolver, c->opts->domain, NULL, &v, &n,
	    &st);
	if (err != MAILSEC_OK)
		return err;
	for (i = 0; i < n; i++)
		if (ms_spf_is_record(v[i], strlen(v[i])))
			k++;
	if (k > 1)
		ms_finding_add(c->f, MAILSEC_SEV_ERROR,
		    "spf-duplicate-records", MS_NOOFF, "merge them into one "
		    "record and delete the others", "%s publishes %zu SPF "
		    "records: receivers return permerror (RFC 7208 4.5)",
		    c->opts->domain, k);
	for (i = 0; i < n; i++)
		if (!ms_spf_is_record(v[i], strlen(v[i])) &&
		    ms_rec_distance(v[i], strcspn(v[i], " "), "v=spf1", 2)
		    <= 2)
			ms_finding_add(c->f, MAILSEC_SEV_ERROR,
			    "spf-version", MS_NOOFF, "fix the version word to "
			    "v=spf1", "%s has a TXT record that looks like "
			    "SPF but does not start with v=spf1",
			    c->opts->domain);
	ms_rec_strv_free(v, n);
	return MAILSEC_OK;
}

static mailsec_err
resolve(struct ms_lint_ctx *c, const char *p, size_t len,
    struct spf_scan *sc)
{
	struct spf_walk w;
	struct ms_spf_record *rec = NULL;
	mailsec_err err;

	if (c->opts->domain != NULL &&
	    (err = check_published(c)) != MAILSEC_OK)
		return err;
	if (sc->errors) {
		ms_finding_add(c->f, MAILSEC_SEV_INFO, "spf-not-resolved",
		    MS_NOOFF, "fix the errors above first", "includes not "
		    "followed: the record does not parse");
		return MAILSEC_OK;
	}
	if (ms_spf_record_parse(p, len, &rec, NULL) != MAILSEC_OK)
		return MAILSEC_OK;
	memset(&w, 0, sizeof w);
	w.c = c;
	w.r = c->opts->resolver;
	if (c->opts->domain != NULL)
		w.path[w.depth++] = c->opts->domain;
	walk_record(&w, rec, c->opts->domain);
	ms_spf_record_free(rec);
	if (w.err != MAILSEC_OK)
		return w.err;
	c->out->lookups = w.lookups;
	c->out->void_lookups = w.voids;
	if (w.voids > MAILSEC_SPF_VOID_MAX)
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "spf-void-lookups",
		    MS_NOOFF, "remove the terms that point to names without "
		    "records", "%u void lookups in the include tree, more "
		    "than %d: permerror (RFC 7208 4.6.4)", w.voids,
		    MAILSEC_SPF_VOID_MAX);
	return MAILSEC_OK;
}

mailsec_err
ms_lint_spf(struct ms_lint_ctx *c, const char *p, size_t len)
{
	struct spf_scan sc;
	struct ms_spf_record *r;
	struct mailsec_diag d;
	size_t i, s;
	mailsec_err err;

	memset(&sc, 0, sizeof sc);
	sc.all_at = sc.redirect_at = MS_NOOFF;
	if (len > MAILSEC_SPF_RECORD_MAX) {
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "spf-too-long",
		    MAILSEC_SPF_RECORD_MAX, "split the policy with include:",
		    "record longer than %d bytes", MAILSEC_SPF_RECORD_MAX);
		return MAILSEC_OK;
	}
	if (!check_version(c, p, len, &i))
		return MAILSEC_OK;
	while (i < len) {
		if (p[i] == ' ') {
			i++;
			continue;
		}
		s = i;
		while (i < len && p[i] != ' ')
			i++;
		memset(&d, 0, sizeof d);
		err = term_parse(p + s, i - s, &r, &d);
		if (err == MAILSEC_ENOMEM)
			return err;
		if (err != MAILSEC_OK) {
			sc.errors = true;
			term_error(c, p + s, i - s, s, &d);
			continue;
		}
		term_check(c, &sc, r, p + s, i - s, s);
		ms_spf_record_free(r);
	}
	/* What only the whole record shows (the same parser, once more). */
	if (!sc.errors && i > 0 && ms_spf_is_record(p, len) &&
	    sc.nredirect <= 1 && sc.nexp <= 1) {
		memset(&d, 0, sizeof d);
		if (ms_spf_record_parse(p, len, &r, &d) == MAILSEC_OK)
			ms_spf_record_free(r);
		else
			ms_finding_add(c->f, MAILSEC_SEV_ERROR, "spf-syntax",
			    d.offset, "fix the term at this offset", "%s",
			    d.text);
	}
	if (sc.redirect_at != MS_NOOFF && sc.all_at != MS_NOOFF)
		ms_finding_add(c->f, MAILSEC_SEV_WARNING,
		    "spf-redirect-ignored", sc.redirect_at, "remove either "
		    "'all' or redirect=", "redirect= is ignored when the "
		    "record has 'all' (RFC 7208 6.1)");
	if (sc.redirect_at == MS_NOOFF && sc.all_at == MS_NOOFF)
		ms_finding_add(c->f, MAILSEC_SEV_WARNING, "spf-no-all",
		    MS_NOOFF, "end the record with -all (or ~all while "
		    "testing)", "no 'all' and no redirect=: mail from other "
		    "hosts gets neutral, as if there were no policy");
	if (len > SPF_SIZE_ADVICE)
		ms_finding_add(c->f, MAILSEC_SEV_WARNING, "spf-long",
		    MS_NOOFF, "move ranges into an include:",
		    "%zu bytes: over the %d RFC 7208 3.4 advises, the answer "
		    "may not fit a UDP packet", len, SPF_SIZE_ADVICE);
	else if (len > TXT_STRING_MAX)
		ms_finding_add(c->f, MAILSEC_SEV_INFO, "spf-split", MS_NOOFF,
		    "publish it as several quoted strings in one TXT record "
		    "(`mailsec record` prints them)", "%zu bytes: longer "
		    "than one TXT string (255)", len);
	c->out->lookups = sc.lookups;
	if (c->opts->resolver != NULL) {
		if ((err = resolve(c, p, len, &sc)) != MAILSEC_OK)
			return err;
	}
	if (c->out->lookups > MAILSEC_SPF_LOOKUP_MAX)
		ms_finding_add(c->f, MAILSEC_SEV_ERROR, "spf-too-many-lookups",
		    MS_NOOFF, "flatten: replace includes and a/mx with the "
		    "ip4:/ip6: networks they stand for, drop ptr, and keep "
		    "at most 10 include/a/mx/ptr/exists/redirect terms",
		    "%u DNS-querying terms%s, more than %d: receivers "
		    "return permerror (RFC 7208 4.6.4)", c->out->lookups,
		    c->opts->resolver != NULL ? " in the include tree" :
		    " in this record", MAILSEC_SPF_LOOKUP_MAX);
	return MAILSEC_OK;
}
