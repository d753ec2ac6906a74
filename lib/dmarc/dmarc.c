/*
 * lib/dmarc/dmarc.c - DMARC policy discovery and evaluation as an
 * asynchronous computation over the DNS layer (RFC 9989 4.10, 5.3;
 * RFC 7489 6.6 in compatibility mode), and its synchronous wrappers.
 *
 * The evaluation keeps a table of DNS facts (the DMARC records at
 * _dmarc.NAME, the existence of NAME). One pure function computes the
 * whole verdict from the table; when it meets a fact it lacks it notes
 * it and goes on, so every query it can already name goes out in one
 * batch (all the names of a Tree Walk together, the Author Domain and
 * its PSL Organizational Domain together). When the batch is answered
 * the function runs again; it ends when nothing is missing. The answers
 * are the same as a label-by-label walk's: a walk stops at a psd=y/n
 * record, and failures of names after the stop are ignored.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>

#include "dmarc/dmarc_int.h"

/* The synchronous wrappers give up (temperror) after this long. */
#define DM_TIME_MAX_MS 20000
/* Reasons kept in an outcome. */
#define DM_REASONS_MAX 64

static const char *const result_names[] = {
	"none", "pass", "fail", "temperror", "permerror"
};
static const char *const policy_names[] = {
	NULL, "none", "quarantine", "reject"
};
static const char *const override_names[] = {
	"forwarded", "sampled_out", "trusted_forwarder", "mailing_list",
	"local_policy", "other", "policy_test_mode"
};

/* v[i] of a table of n names, or dflt for a value outside it. */
static const char *
name_at(const char *const *v, size_t n, size_t i, const char *dflt)
{
	return i < n ? v[i] : dflt;
}

const char *
mailsec_dmarc_result_name(enum mailsec_dmarc_result r)
{
	return name_at(result_names, MS_ARRAY_LEN(result_names), (size_t)r,
	    "permerror");
}

const char *
mailsec_dmarc_policy_name(enum mailsec_dmarc_policy p)
{
	return name_at(policy_names, MS_ARRAY_LEN(policy_names), (size_t)p,
	    NULL);
}

const char *
mailsec_dmarc_disposition_name(enum mailsec_dmarc_disposition d)
{
	return name_at(policy_names, MS_ARRAY_LEN(policy_names), (size_t)d,
	    NULL);
}

const char *
mailsec_dmarc_override_name(enum mailsec_dmarc_override_type t)
{
	return name_at(override_names, MS_ARRAY_LEN(override_names),
	    (size_t)t, "other");
}

const char *
mailsec_dmarc_mode_name(enum mailsec_dmarc_mode m)
{
	return m == MAILSEC_DMARC_RFC7489 ? "rfc7489" : "rfc9989";
}

/* ---- the table of DNS facts -------------------------------------------- */

/* One fact: the DMARC records at _dmarc.name (TXT), or whether name
 * exists (A: an answer or NODATA says it does, RFC 9989 A.4). */
struct dm_ent {
	struct mailsec_dmarc *d;
	char name[MAILSEC_DOMAIN_MAX];
	uint16_t type;
	bool sent;
	bool done;
	bool busy;
	uint64_t qid;
	enum mailsec_dns_status status;
	size_t ndmarc;		/* records starting with v=DMARC1 */
	char *text;		/* the record when ndmarc == 1 */
	size_t textlen;
	struct mailsec_dmarc_record *rec;	/* parsed; NULL if too long */
	char why[160];
};

struct dm_dkim {
	char *domain;		/* normalized; NULL when not a domain */
	char *raw;		/* as given */
	char *selector;
	enum mailsec_dkim_result result;
};

struct mailsec_dmarc {
	struct mailsec_resolver *r;
	struct mailsec_dmarc_opts opts;
	char *local_comment;
	bool discover_only;

	enum mailsec_author_status author_status;
	char *author_problem;
	size_t ndomains;
	char **domains;

	enum mailsec_spf_result spf_result;
	enum mailsec_spf_identity spf_identity;
	char *spf_domain;		/* normalized; NULL if none */
	char *spf_raw;
	bool null_path;
	size_t ndkim;
	struct dm_dkim *dkim;

	struct dm_ent **ents;
	size_t nents;
	size_t pending;
	unsigned queries;
	bool over_limit;

	bool started;
	bool done;
	bool running;
	mailsec_dmarc_done_cb cb;
	void *cbarg;
	struct mailsec_dmarc_outcome *out;
};

static void dm_run(struct mailsec_dmarc *d);

static void
ent_free(struct dm_ent *e)
{
	if (e == NULL)
		return;
	if (e->busy)
		mailsec_resolver_cancel(e->d->r, e->qid);
	free(e->text);
	mailsec_dmarc_record_free(e->rec);
	free(e);
}

/* The TXT answer: keep the one DMARC record, count the others
 * (RFC 9989 4.10 step 2: several are all discarded). */
static void
ent_txt(struct dm_ent *e, const struct mailsec_dns_result *res)
{
	size_t i;

	for (i = 0; i < res->count; i++) {
		const struct mailsec_dns_rr *rr = &res->rrs[i];
		struct mailsec_dmarc_record *rec = NULL;
		mailsec_err err;

		if (rr->type != MAILSEC_DNS_TXT)
			continue;
		err = mailsec_dmarc_record_parse(rr->u.txt.data, rr->u.txt.len,
		    e->d->opts.mode, &rec, NULL);
		if (err == MAILSEC_OK && !rec->dmarc) {
			mailsec_dmarc_record_free(rec);
			continue;
		}
		if (err != MAILSEC_OK && !(rr->u.txt.len >= 8 &&
		    memcmp(rr->u.txt.data, "v=DMARC1", 8) == 0))
			continue;
		if (++e->ndmarc > 1) {
			mailsec_dmarc_record_free(rec);
			continue;
		}
		e->rec = rec;	/* NULL: too long, counted, unusable */
		e->text = ms_memdupz(rr->u.txt.data, rr->u.txt.len);
		e->textlen = rr->u.txt.len;
		if (e->text == NULL) {
			/* Without memory the fact is unknown: temporary. */
			e->status = MAILSEC_DNS_SERVFAIL;
			snprintf(e->why, sizeof e->why, "out of memory");
		}
	}
	if (e->ndmarc > 1) {
		mailsec_dmarc_record_free(e->rec);
		e->rec = NULL;
	}
}

static void
on_answer(void *arg, struct mailsec_dns_result *res)
{
	struct dm_ent *e = arg;
	struct mailsec_dmarc *d = e->d;

	e->busy = false;
	e->done = true;
	e->status = res->status;
	snprintf(e->why, sizeof e->why, "%s", res->why);
	if (e->type == MAILSEC_DNS_TXT && res->status == MAILSEC_DNS_ANSWER)
		ent_txt(e, res);
	mailsec_dns_result_free(res);
	if (--d->pending == 0 && !d->running)
		dm_run(d);
}

/* ---- one computation pass ---------------------------------------------- */

struct calc {
	struct mailsec_dmarc *d;
	bool need;		/* a fact was missing */
	mailsec_err err;
};

/* The fact (name, type), or NULL (noted as needed) when not known yet. */
static struct dm_ent *
fact(struct calc *c, const char *name, uint16_t type)
{
	struct mailsec_dmarc *d = c->d;
	struct dm_ent *e, **v;
	size_t i, n = strlen(name);

	for (i = 0; i < d->nents; i++)
		if (d->ents[i]->type == type &&
		    strcmp(d->ents[i]->name, name) == 0) {
			if (!d->ents[i]->done)
				c->need = true;
			return d->ents[i]->done ? d->ents[i] : NULL;
		}
	if (n >= MAILSEC_DOMAIN_MAX) {
		c->err = MAILSEC_EINVAL;
		return NULL;
	}
	if ((v = ms_reallocarray(d->ents, d->nents + 1, sizeof *v)) == NULL) {
		c->err = MAILSEC_ENOMEM;
		return NULL;
	}
	d->ents = v;
	if ((e = ms_calloc(1, sizeof *e)) == NULL) {
		c->err = MAILSEC_ENOMEM;
		return NULL;
	}
	d->ents[d->nents++] = e;
	e->d = d;
	e->type = type;
	memcpy(e->name, name, n + 1);
	if (d->nents > MAILSEC_DMARC_QUERY_MAX) {
		/* Not sent: the evaluation ends in permerror. */
		d->over_limit = true;
		e->done = true;
		e->status = MAILSEC_DNS_SERVFAIL;
		snprintf(e->why, sizeof e->why, "more than %d DNS queries",
		    MAILSEC_DMARC_QUERY_MAX);
		return e;
	}
	c->need = true;
	return NULL;
}

enum rstate { R_NEED, R_TEMP, R_NONE, R_MULTI, R_RECORD };

static enum rstate
rec_at(struct calc *c, const char *name, struct dm_ent **ep)
{
	struct dm_ent *e = fact(c, name, MAILSEC_DNS_TXT);

	*ep = e;
	if (e == NULL)
		return R_NEED;
	if (mailsec_dns_status_is_temporary(e->status))
		return R_TEMP;
	if (e->status != MAILSEC_DNS_ANSWER || e->ndmarc == 0)
		return R_NONE;
	return e->ndmarc > 1 ? R_MULTI : R_RECORD;
}

/* RFC 9989 4.10: the names a Tree Walk from dom queries: dom, then (8
 * labels or more) its last 7 labels, then one label less each time. */
static size_t
walk_names(const char *dom, const char *t[MAILSEC_DMARC_WALK_MAX])
{
	size_t x = ms_dmarc_labels(dom), n = 0, k;

	if (x == 0)
		return 0;
	t[n++] = dom;
	k = x >= MAILSEC_DMARC_WALK_MAX ? MAILSEC_DMARC_WALK_MAX - 1 : x - 1;
	for (; k >= 1 && n < MAILSEC_DMARC_WALK_MAX; k--)
		t[n++] = ms_dmarc_suffix(dom, k);
	return n;
}

/* What a walk found. */
struct walk {
	int state;		/* 1 done, 0 facts missing, -1 temperror */
	char od[MAILSEC_DOMAIN_MAX];	/* Organizational Domain */
	const char *psd;	/* a psd=y record's domain (not the start) */
	char why[200];
};

/*
 * RFC 9989 4.10.2: the Organizational Domain of dom. Records are taken
 * from the longest name to the shortest: psd=n is the Organizational
 * Domain; psd=y (not at the start) makes it the name one label below;
 * otherwise the record with the fewest labels; without any, dom itself.
 */
static void
walk_od(struct calc *c, const char *dom, struct walk *w)
{
	const char *t[MAILSEC_DMARC_WALK_MAX];
	size_t n = walk_names(dom, t), i, nrec = 0;
	const char *found[MAILSEC_DMARC_WALK_MAX];
	enum mailsec_dmarc_psd psd[MAILSEC_DMARC_WALK_MAX];
	bool missing = false;
	struct dm_ent *e;

	memset(w, 0, sizeof *w);
	for (i = 0; i < n; i++) {
		enum rstate st = rec_at(c, t[i], &e);

		if (st == R_NEED) {
			missing = true;	/* ask the rest too */
			continue;
		}
		if (missing)
			continue;
		if (st == R_TEMP) {
			w->state = -1;
			snprintf(w->why, sizeof w->why, "DNS failure at "
			    "_dmarc.%s (%s)", t[i],
			    mailsec_dns_status_name(e->status));
			return;
		}
		if (st != R_RECORD)
			continue;
		found[nrec] = t[i];
		psd[nrec] = e->rec != NULL ? e->rec->psd : MAILSEC_DMARC_PSD_U;
		nrec++;
		if (psd[nrec - 1] != MAILSEC_DMARC_PSD_U)
			break;	/* step 6: stop */
	}
	if (missing) {
		w->state = 0;
		return;
	}
	w->state = 1;
	snprintf(w->od, sizeof w->od, "%s", dom);
	for (i = 0; i < nrec; i++) {
		if (psd[i] == MAILSEC_DMARC_PSD_N) {
			snprintf(w->od, sizeof w->od, "%s", found[i]);
			return;
		}
		if (psd[i] == MAILSEC_DMARC_PSD_Y && found[i] != dom) {
			w->psd = found[i];
			snprintf(w->od, sizeof w->od, "%s", ms_dmarc_suffix(dom,
			    ms_dmarc_labels(found[i]) + 1));
			return;
		}
	}
	if (nrec > 0)
		snprintf(w->od, sizeof w->od, "%s", found[nrec - 1]);
}

/* Per Author Domain, while computing. */
struct dm_dom {
	struct mailsec_dmarc_domain pub;	/* strings still borrowed */
	char od[MAILSEC_DOMAIN_MAX];
	char pd[MAILSEC_DOMAIN_MAX];		/* policy domain */
	char psd[MAILSEC_DOMAIN_MAX];
	struct dm_ent *rec_ent;			/* the applied record */
	bool subdomain;
	bool dkim_temp, spf_temp;
	size_t dkim_idx;			/* aligned signature */
	signed char dkim_st[MAILSEC_DMARC_DKIM_MAX];	/* 1 aligned, 0 not,
						   -1 DNS failure */
	char problem[240];
	/* disposition details */
	bool testing, pct_applied, sampled_out;
	unsigned pct;
	unsigned ov;				/* 1 << override type */
};

static void
dom_problem(struct dm_dom *x, enum mailsec_dmarc_result r, const char *fmt,
    ...) MS_PRINTF(3, 4);

static void
dom_problem(struct dm_dom *x, enum mailsec_dmarc_result r, const char *fmt,
    ...)
{
	va_list ap;

	x->pub.result = r;
	va_start(ap, fmt);
	vsnprintf(x->problem, sizeof x->problem, fmt, ap);
	va_end(ap);
}

/* Does the domain exist (RFC 9989 3.2.13, A.4)? 1, 0, -1 temporary,
 * -2 not known yet. */
static int
exists(struct calc *c, const char *dom)
{
	struct dm_ent *e = fact(c, dom, MAILSEC_DNS_A);

	if (e == NULL)
		return -2;
	if (mailsec_dns_status_is_temporary(e->status))
		return -1;
	return e->status == MAILSEC_DNS_NXDOMAIN ? 0 : 1;
}

/* The policy from the applied record; RFC 9989 np needs existence. */
static bool
dom_policy(struct calc *c, struct dm_dom *x)
{
	const struct mailsec_dmarc_record *rec = x->rec_ent->rec;
	enum mailsec_dmarc_policy with, without;
	const char *t1, *t2;
	int ex;

	x->pub.exists = -1;
	if (rec == NULL || !rec->usable) {
		dom_problem(x, MAILSEC_DMARC_NONE, "the record at _dmarc.%s "
		    "is not usable (%s): no DMARC processing", x->pd,
		    rec == NULL ? "too long" : "no valid policy");
		return true;
	}
	if (!x->subdomain) {
		x->pub.policy = mailsec_dmarc_record_policy(rec, false, true,
		    &x->pub.policy_tag);
		return true;
	}
	with = mailsec_dmarc_record_policy(rec, true, true, &t1);
	without = mailsec_dmarc_record_policy(rec, true, false, &t2);
	if (with == without) {
		/* np= absent or the same: existence does not matter. */
		x->pub.policy = with;
		x->pub.policy_tag = t1;
		return true;
	}
	ex = exists(c, x->pub.domain);
	if (ex == -2)
		return false;
	if (ex == -1) {
		dom_problem(x, MAILSEC_DMARC_TEMPERROR, "DNS failure "
		    "checking whether %s exists (np= applies if not)",
		    x->pub.domain);
		return true;
	}
	x->pub.exists = ex;
	x->pub.policy = ex ? with : without;
	x->pub.policy_tag = ex ? t1 : t2;
	return true;
}

/* RFC 9989 4.10.1 policy discovery. false: facts missing. */
static bool
discover_9989(struct calc *c, struct dm_dom *x)
{
	const char *a = x->pub.domain;
	struct dm_ent *e, *e2;
	struct walk w;
	enum rstate st = rec_at(c, a, &e);

	/* The walk's names go out with the first query. */
	walk_od(c, a, &w);
	if (st == R_NEED)
		return false;
	if (st == R_TEMP) {
		dom_problem(x, MAILSEC_DMARC_TEMPERROR, "DNS failure at "
		    "_dmarc.%s (%s)", a, mailsec_dns_status_name(e->status));
		return true;
	}
	if (w.state == 0)
		return false;
	if (w.state == 1)
		snprintf(x->od, sizeof x->od, "%s", w.od);
	if (st == R_RECORD) {
		snprintf(x->pd, sizeof x->pd, "%s", a);
		x->rec_ent = e;
		/* The Organizational Domain matters for relaxed alignment
		 * only; a failure there is judged when it is needed. */
		if (w.state != 1)
			snprintf(x->od, sizeof x->od, "%s", a);
		return dom_policy(c, x);
	}
	if (w.state == -1) {
		dom_problem(x, MAILSEC_DMARC_TEMPERROR, "%s", w.why);
		return true;
	}
	if (strcmp(w.od, a) != 0) {
		st = rec_at(c, w.od, &e2);
		if (st == R_NEED)
			return false;
		if (st == R_TEMP) {
			dom_problem(x, MAILSEC_DMARC_TEMPERROR, "DNS failure "
			    "at _dmarc.%s", w.od);
			return true;
		}
		if (st == R_RECORD) {
			snprintf(x->pd, sizeof x->pd, "%s", w.od);
			x->rec_ent = e2;
			x->subdomain = true;
			return dom_policy(c, x);
		}
	}
	if (w.psd != NULL && rec_at(c, w.psd, &e2) == R_RECORD) {
		snprintf(x->pd, sizeof x->pd, "%s", w.psd);
		snprintf(x->psd, sizeof x->psd, "%s", w.psd);
		x->pub.from_psd = true;
		x->rec_ent = e2;
		x->subdomain = true;
		return dom_policy(c, x);
	}
	dom_problem(x, MAILSEC_DMARC_NONE, "no DMARC record for %s (tree "
	    "walk from _dmarc.%s)", a, a);
	return true;
}

/* RFC 7489 6.6.3: the Author Domain, then its PSL Organizational
 * Domain (both asked together). */
static bool
discover_7489(struct calc *c, struct dm_dom *x)
{
	const char *a = x->pub.domain;
	struct dm_ent *e, *e2 = NULL;
	enum rstate st, st2 = R_NONE;

	if (mailsec_dmarc_psl_org_domain(c->d->opts.psl, a, x->od,
	    sizeof x->od) != MAILSEC_OK)
		snprintf(x->od, sizeof x->od, "%s", a);
	st = rec_at(c, a, &e);
	if (strcmp(x->od, a) != 0)
		st2 = rec_at(c, x->od, &e2);
	if (st == R_NEED)
		return false;
	if (st == R_TEMP) {
		dom_problem(x, MAILSEC_DMARC_TEMPERROR, "DNS failure at "
		    "_dmarc.%s (%s)", a, mailsec_dns_status_name(e->status));
		return true;
	}
	if (st == R_MULTI) {
		dom_problem(x, MAILSEC_DMARC_NONE, "several DMARC records at "
		    "_dmarc.%s: no policy (RFC 7489 6.6.3)", a);
		return true;
	}
	if (st == R_RECORD) {
		snprintf(x->pd, sizeof x->pd, "%s", a);
		x->rec_ent = e;
		return dom_policy(c, x);
	}
	if (strcmp(x->od, a) == 0) {
		dom_problem(x, MAILSEC_DMARC_NONE, "no DMARC record at "
		    "_dmarc.%s (it is its own Organizational Domain)", a);
		return true;
	}
	if (st2 == R_NEED)
		return false;
	if (st2 == R_TEMP) {
		dom_problem(x, MAILSEC_DMARC_TEMPERROR, "DNS failure at "
		    "_dmarc.%s (%s)", x->od,
		    mailsec_dns_status_name(e2->status));
		return true;
	}
	if (st2 == R_MULTI) {
		dom_problem(x, MAILSEC_DMARC_NONE, "several DMARC records at "
		    "_dmarc.%s: no policy (RFC 7489 6.6.3)", x->od);
		return true;
	}
	if (st2 == R_NONE) {
		dom_problem(x, MAILSEC_DMARC_NONE, "no DMARC record at "
		    "_dmarc.%s or _dmarc.%s", a, x->od);
		return true;
	}
	snprintf(x->pd, sizeof x->pd, "%s", x->od);
	x->rec_ent = e2;
	x->subdomain = true;
	return dom_policy(c, x);
}

/*
 * Is the identifier id aligned with the Author Domain? 1 yes, 0 no,
 * -1 temporary failure, -2 facts missing.
 */
static int
aligned(struct calc *c, struct dm_dom *x, const char *id,
    enum mailsec_dmarc_alignment mode)
{
	char o[MAILSEC_DOMAIN_MAX];
	struct walk w;

	if (id == NULL)
		return 0;
	if (strcmp(id, x->pub.domain) == 0)
		return 1;
	if (mode == MAILSEC_DMARC_STRICT)
		return 0;
	if (c->d->opts.mode == MAILSEC_DMARC_RFC7489) {
		if (mailsec_dmarc_psl_org_domain(c->d->opts.psl, id, o,
		    sizeof o) != MAILSEC_OK)
			return 0;
		return strcmp(o, x->od) == 0;
	}
	/* The Author Domain's Organizational Domain first: an identifier
	 * outside it cannot share it. */
	walk_od(c, x->pub.domain, &w);
	if (w.state == 0)
		return -2;
	if (w.state == -1)
		return -1;
	if (!ms_dmarc_within(id, w.od))
		return 0;
	walk_od(c, id, &w);
	if (w.state == 0)
		return -2;
	if (w.state == -1)
		return -1;
	return strcmp(w.od, x->od) == 0;
}

/* Alignment of SPF and each passing DKIM signature. false: missing. */
static bool
dom_align(struct calc *c, struct dm_dom *x)
{
	struct mailsec_dmarc *d = c->d;
	const struct mailsec_dmarc_record *rec = x->rec_ent->rec;
	bool missing = false;
	size_t i;
	int a;

	if (d->spf_result == MAILSEC_SPF_PASS && d->spf_domain != NULL &&
	    (d->spf_identity == MAILSEC_SPF_ID_MAILFROM || d->null_path)) {
		a = aligned(c, x, d->spf_domain, rec->aspf);
		if (a == -2)
			missing = true;
		x->spf_temp = a == -1;
		x->pub.spf_aligned = a == 1;
	}
	x->dkim_idx = SIZE_MAX;
	for (i = 0; i < d->ndkim; i++) {
		if (d->dkim[i].result != MAILSEC_DKIM_PASS ||
		    d->dkim[i].domain == NULL)
			continue;
		a = aligned(c, x, d->dkim[i].domain, rec->adkim);
		if (a == -2)
			missing = true;
		if (a == -1)
			x->dkim_temp = true;
		x->dkim_st[i] = (signed char)(a < -1 ? 0 : a);
		if (a == 1 && !x->pub.dkim_aligned) {
			x->pub.dkim_aligned = true;
			x->dkim_idx = i;
		}
	}
	return !missing;
}

static bool
dom_eval(struct calc *c, struct dm_dom *x)
{
	bool ok;

	ok = c->d->opts.mode == MAILSEC_DMARC_RFC7489 ?
	    discover_7489(c, x) : discover_9989(c, x);
	if (!ok)
		return false;
	if (x->rec_ent != NULL) {
		x->pub.record = x->rec_ent->rec;
		if (x->pub.policy != MAILSEC_DMARC_POLICY_UNSET &&
		    x->pub.result == MAILSEC_DMARC_NONE &&
		    !c->d->discover_only) {
			if (!dom_align(c, x))
				return false;
			if (x->pub.spf_aligned || x->pub.dkim_aligned)
				x->pub.result = MAILSEC_DMARC_PASS;
			else if (x->spf_temp || x->dkim_temp)
				dom_problem(x, MAILSEC_DMARC_TEMPERROR, "DNS "
				    "failure finding an identifier's "
				    "Organizational Domain");
			else
				x->pub.result = MAILSEC_DMARC_FAIL;
		}
	}
	return true;
}

/* ---- the outcome ------------------------------------------------------- */

static void
reason(struct mailsec_dmarc_outcome *o, mailsec_err *err, const char *fmt,
    ...) MS_PRINTF(3, 4);

static void
reason(struct mailsec_dmarc_outcome *o, mailsec_err *err, const char *fmt,
    ...)
{
	char buf[400], **v;
	va_list ap;

	if (*err != MAILSEC_OK || o->nreasons >= DM_REASONS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if ((v = ms_reallocarray(o->reasons, o->nreasons + 1, sizeof *v)) ==
	    NULL) {
		*err = MAILSEC_ENOMEM;
		return;
	}
	o->reasons = v;
	if ((v[o->nreasons] = ms_memdupz(buf, strlen(buf))) == NULL)
		*err = MAILSEC_ENOMEM;
	else
		o->nreasons++;
}

static char *
dupz_or_null(const char *s, mailsec_err *err)
{
	char *p;

	if (s == NULL || *s == '\0')
		return NULL;
	if ((p = ms_memdupz(s, strlen(s))) == NULL)
		*err = MAILSEC_ENOMEM;
	return p;
}

static enum mailsec_dmarc_disposition
lower(enum mailsec_dmarc_disposition disp)
{
	if (disp == MAILSEC_DMARC_DISP_REJECT)
		return MAILSEC_DMARC_DISP_QUARANTINE;
	return MAILSEC_DMARC_DISP_NONE;
}

static uint32_t
default_random(void *arg)
{
	uint32_t v = 0;

	(void)arg;
	if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
		v = (uint32_t)time(NULL);
	return v;
}

/* RFC 9989 5.3.6 and 5.4 (t=, local overrides), RFC 7489 6.6.4 (pct). */
static void
dom_disposition(struct mailsec_dmarc *d, struct dm_dom *x)
{
	const struct mailsec_dmarc_record *rec = x->pub.record;
	unsigned local = d->opts.local;

	if (x->pub.result == MAILSEC_DMARC_PASS) {
		x->pub.disposition = MAILSEC_DMARC_DISP_NONE;
		return;
	}
	if (x->pub.result != MAILSEC_DMARC_FAIL)
		return;
	x->pub.disposition = (enum mailsec_dmarc_disposition)x->pub.policy;
	if (x->pub.disposition == MAILSEC_DMARC_DISP_NONE)
		return;
	if (d->opts.mode == MAILSEC_DMARC_RFC9989 && rec->testing) {
		/* RFC 9989 4.7 t=y: one level below the policy. */
		x->testing = true;
		x->pub.disposition = lower(x->pub.disposition);
		x->ov |= 1u << MAILSEC_DMARC_OV_POLICY_TEST_MODE;
	}
	if (d->opts.mode == MAILSEC_DMARC_RFC7489 && rec->pct < 100) {
		mailsec_dmarc_random_fn rnd = d->opts.random ?
		    d->opts.random : default_random;

		/* RFC 7489 6.3: selected when (random mod 100) < pct; the
		 * others get the next policy lower (6.6.4). */
		x->pct_applied = true;
		x->pct = rec->pct;
		if (rnd(d->opts.random_arg) % 100 >= rec->pct) {
			x->sampled_out = true;
			x->pub.disposition = lower(x->pub.disposition);
			x->ov |= 1u << MAILSEC_DMARC_OV_SAMPLED_OUT;
		}
	}
	if (x->pub.disposition == MAILSEC_DMARC_DISP_NONE || local == 0)
		return;
	x->pub.disposition = MAILSEC_DMARC_DISP_NONE;
	if (local & MAILSEC_DMARC_LOCAL_TRUSTED_FORWARDER)
		x->ov |= 1u << MAILSEC_DMARC_OV_TRUSTED_FORWARDER;
	if (local & MAILSEC_DMARC_LOCAL_MAILING_LIST)
		x->ov |= 1u << MAILSEC_DMARC_OV_MAILING_LIST;
	if (local & MAILSEC_DMARC_LOCAL_TRUSTED_ARC)
		/* RFC 7489 has "forwarded"; RFC 9990's schema does not, so
		 * a trusted ARC chain is local policy there. */
		x->ov |= 1u << (d->opts.mode == MAILSEC_DMARC_RFC7489 ?
		    MAILSEC_DMARC_OV_FORWARDED : MAILSEC_DMARC_OV_LOCAL_POLICY);
	if (local & MAILSEC_DMARC_LOCAL_POLICY)
		x->ov |= 1u << MAILSEC_DMARC_OV_LOCAL_POLICY;
}

/* Strictness for choosing among several Author Domains. */
static int
rank(const struct dm_dom *x)
{
	switch (x->pub.result) {
	case MAILSEC_DMARC_FAIL: return 100 + (int)x->pub.disposition;
	case MAILSEC_DMARC_TEMPERROR: return 50;
	case MAILSEC_DMARC_PERMERROR: return 40;
	case MAILSEC_DMARC_PASS: return 20;
	default: return 10;
	}
}

static mailsec_err
dom_copy(struct mailsec_dmarc *d, const struct dm_dom *x,
    struct mailsec_dmarc_domain *o)
{
	mailsec_err err = MAILSEC_OK;
	char q[MAILSEC_DOMAIN_MAX + 8];

	*o = x->pub;
	o->record = NULL;
	o->domain = dupz_or_null(x->pub.domain, &err);
	o->policy_domain = dupz_or_null(x->pd, &err);
	o->org_domain = dupz_or_null(x->od, &err);
	o->psd_domain = dupz_or_null(x->psd, &err);
	o->problem = dupz_or_null(x->problem, &err);
	o->queried_name = NULL;
	if (x->pd[0] != '\0') {
		snprintf(q, sizeof q, "_dmarc.%s", x->pd);
		o->queried_name = dupz_or_null(q, &err);
	}
	o->record_text = NULL;
	if (x->rec_ent != NULL && x->rec_ent->text != NULL)
		o->record_text = dupz_or_null(x->rec_ent->text, &err);
	if (err == MAILSEC_OK && x->rec_ent != NULL &&
	    x->rec_ent->text != NULL)
		(void)mailsec_dmarc_record_parse(x->rec_ent->text,
		    x->rec_ent->textlen, d->opts.mode, &o->record, NULL);
	return err;
}

static void
explain(struct mailsec_dmarc *d, const struct dm_dom *x,
    struct mailsec_dmarc_outcome *o, mailsec_err *err)
{
	const char *pre = d->ndomains > 1 ? x->pub.domain : "";
	const char *sep = d->ndomains > 1 ? ": " : "";
	size_t i;

	if (x->pd[0] != '\0')
		reason(o, err, "%s%spolicy record at _dmarc.%s%s (%s=%s)", pre,
		    sep, x->pd, x->pub.from_psd ? " (public suffix domain)" :
		    "", x->pub.policy_tag ? x->pub.policy_tag : "p",
		    x->pub.policy ? mailsec_dmarc_policy_name(x->pub.policy) :
		    "unset");
	if (x->problem[0] != '\0')
		reason(o, err, "%s%s%s", pre, sep, x->problem);
	if (x->pub.policy == MAILSEC_DMARC_POLICY_UNSET || d->discover_only)
		return;
	if (d->spf_result == MAILSEC_SPF_PASS && d->spf_domain != NULL &&
	    d->spf_identity == MAILSEC_SPF_ID_HELO && !d->null_path)
		reason(o, err, "%s%sSPF HELO pass for %s not used: DMARC uses "
		    "the MAIL FROM identity (CVE-2019-20790)", pre, sep,
		    d->spf_domain);
	else if (d->spf_result == MAILSEC_SPF_PASS && d->spf_domain != NULL)
		reason(o, err, "%s%sSPF pass for %s: %s (%s)", pre,
		    sep, d->spf_domain, x->pub.spf_aligned ? "aligned" :
		    x->spf_temp ? "alignment unknown (DNS failure)" :
		    "not aligned",
		    x->pub.record && x->pub.record->aspf ==
		    MAILSEC_DMARC_STRICT ? "strict" : "relaxed");
	else
		reason(o, err, "%s%sSPF %s%s%s: no SPF-authenticated "
		    "identifier", pre, sep,
		    mailsec_spf_result_name(d->spf_result),
		    d->spf_raw ? " for " : "", d->spf_raw ? d->spf_raw : "");
	for (i = 0; i < d->ndkim; i++) {
		const struct dm_dkim *k = &d->dkim[i];

		if (k->result != MAILSEC_DKIM_PASS) {
			reason(o, err, "%s%sDKIM d=%s %s: not counted", pre,
			    sep, k->raw, mailsec_dkim_result_name(k->result));
			continue;
		}
		reason(o, err, "%s%sDKIM pass d=%s: %s (%s)", pre, sep,
		    k->raw, x->dkim_st[i] == 1 ? "aligned" :
		    x->dkim_st[i] == -1 ? "alignment unknown (DNS failure)" :
		    "not aligned", x->pub.record && x->pub.record->adkim ==
		    MAILSEC_DMARC_STRICT ? "strict" : "relaxed");
	}
	if (d->ndkim == 0)
		reason(o, err, "%s%sno DKIM signature", pre, sep);
	if (x->testing)
		reason(o, err, "%s%st=y: policy tested, one level lower "
		    "applied", pre, sep);
	if (x->pct_applied)
		reason(o, err, "%s%spct=%u: message %s", pre, sep, x->pct,
		    x->sampled_out ? "sampled out, next lower policy applied" :
		    "selected");
	if (x->ov & ~((1u << MAILSEC_DMARC_OV_POLICY_TEST_MODE) |
	    (1u << MAILSEC_DMARC_OV_SAMPLED_OUT)))
		reason(o, err, "%s%slocal override: policy not applied", pre,
		    sep);
}

static mailsec_err
fill_outcome(struct mailsec_dmarc *d, struct dm_dom *xs, size_t n,
    struct mailsec_dmarc_outcome *o)
{
	mailsec_err err = MAILSEC_OK;
	const struct dm_dom *best = NULL;
	size_t i, k;

	o->mode = d->opts.mode;
	o->author_status = d->author_status;
	o->queries = d->queries;
	if (n > 0 && (o->domains = ms_calloc(n, sizeof *o->domains)) ==
	    NULL)
		return MAILSEC_ENOMEM;
	for (i = 0; i < n; i++) {
		if (err == MAILSEC_OK)
			err = dom_copy(d, &xs[i], &o->domains[i]);
		o->ndomains = i + 1;
		if (best == NULL || rank(&xs[i]) > rank(best))
			best = &xs[i];
	}
	if (err != MAILSEC_OK)
		return err;
	if (d->author_problem != NULL) {
		o->result = MAILSEC_DMARC_PERMERROR;
		o->disposition = MAILSEC_DMARC_DISP_REJECT;
		reason(o, &err, "%s", d->author_problem);
		if (n > 0)
			o->from_domain = dupz_or_null(xs[0].pub.domain, &err);
		return err;
	}
	if (best == NULL)
		return MAILSEC_OK;
	o->result = best->pub.result;
	o->from_domain = dupz_or_null(best->pub.domain, &err);
	o->policy_domain = dupz_or_null(best->pd, &err);
	o->org_domain = dupz_or_null(best->od, &err);
	o->policy = best->pub.policy;
	o->policy_tag = best->pub.policy_tag;
	o->disposition = best->pub.disposition;
	o->spf_aligned = best->pub.spf_aligned;
	o->dkim_aligned = best->pub.dkim_aligned;
	if (best->pub.dkim_aligned && best->dkim_idx < d->ndkim) {
		o->dkim_domain = dupz_or_null(d->dkim[best->dkim_idx].raw,
		    &err);
		o->dkim_selector = dupz_or_null(
		    d->dkim[best->dkim_idx].selector, &err);
	}
	o->testing = best->testing;
	o->pct_applied = best->pct_applied;
	o->pct = best->pct_applied ? best->pct : 100;
	o->sampled_out = best->sampled_out;
	for (k = 0; k < MS_ARRAY_LEN(override_names) && err == MAILSEC_OK;
	    k++) {
		struct mailsec_dmarc_override *v;

		if (!(best->ov & (1u << k)))
			continue;
		v = ms_reallocarray(o->overrides, o->noverrides + 1,
		    sizeof *v);
		if (v == NULL) {
			err = MAILSEC_ENOMEM;
			break;
		}
		o->overrides = v;
		v[o->noverrides].type = (enum mailsec_dmarc_override_type)k;
		v[o->noverrides].comment = NULL;
		if (k == MAILSEC_DMARC_OV_SAMPLED_OUT)
			v[o->noverrides].comment = dupz_or_null("pct", &err);
		else if (k == MAILSEC_DMARC_OV_POLICY_TEST_MODE)
			v[o->noverrides].comment = dupz_or_null("t=y", &err);
		else
			v[o->noverrides].comment = dupz_or_null(
			    d->local_comment, &err);
		o->noverrides++;
	}
	for (i = 0; i < n; i++)
		explain(d, &xs[i], o, &err);
	if (n > 1)
		reason(o, &err, "%zu Author Domains evaluated; the strictest "
		    "outcome (%s) is reported (RFC 9989 11.5)", n,
		    best->pub.domain);
	return err;
}

/* One pass: the outcome when every fact is known, else NULL with
 * c->need set (the facts are in the table, not sent yet). */
static struct mailsec_dmarc_outcome *
compute(struct mailsec_dmarc *d, struct calc *c)
{
	struct mailsec_dmarc_outcome *o = NULL;
	struct dm_dom *xs = NULL;
	bool complete = true;
	size_t i;

	memset(c, 0, sizeof *c);
	c->d = d;
	if (d->ndomains > 0 &&
	    (xs = ms_calloc(d->ndomains, sizeof *xs)) == NULL) {
		c->err = MAILSEC_ENOMEM;
		return NULL;
	}
	for (i = 0; i < d->ndomains; i++) {
		xs[i].pub.domain = d->domains[i];
		xs[i].pub.exists = -1;
		if (!dom_eval(c, &xs[i]))
			complete = false;
	}
	if (c->err != MAILSEC_OK || !complete || c->need) {
		if (c->err == MAILSEC_OK && !complete)
			c->need = true;
		free(xs);
		return NULL;
	}
	if (d->over_limit)
		for (i = 0; i < d->ndomains; i++)
			dom_problem(&xs[i], MAILSEC_DMARC_PERMERROR, "more "
			    "than %d DNS queries", MAILSEC_DMARC_QUERY_MAX);
	for (i = 0; i < d->ndomains && !d->discover_only; i++)
		dom_disposition(d, &xs[i]);
	if ((o = ms_calloc(1, sizeof *o)) == NULL ||
	    (c->err = fill_outcome(d, xs, d->ndomains, o)) != MAILSEC_OK) {
		if (c->err == MAILSEC_OK)
			c->err = MAILSEC_ENOMEM;
		mailsec_dmarc_outcome_free(o);
		o = NULL;
	}
	free(xs);
	return o;
}

/* ---- driving ----------------------------------------------------------- */

static mailsec_err
send_needed(struct mailsec_dmarc *d)
{
	char q[MAILSEC_DOMAIN_MAX + 8];
	mailsec_err err;
	size_t i;

	for (i = 0; i < d->nents; i++) {
		struct dm_ent *e = d->ents[i];

		if (e->sent || e->done)
			continue;
		e->sent = true;
		if (e->type == MAILSEC_DNS_TXT)
			snprintf(q, sizeof q, "_dmarc.%s", e->name);
		else
			snprintf(q, sizeof q, "%s", e->name);
		d->pending++;
		e->busy = true;
		err = mailsec_resolver_query(d->r, q, e->type, on_answer, e,
		    &e->qid);
		if (err != MAILSEC_OK) {
			d->pending--;
			e->busy = false;
			if (err != MAILSEC_EINVAL)
				return err;
			/* Longer than a DNS name can be: nothing there. */
			e->done = true;
			e->status = MAILSEC_DNS_NXDOMAIN;
			snprintf(e->why, sizeof e->why, "not a DNS name");
			continue;
		}
		d->queries++;
	}
	return MAILSEC_OK;
}

static void
dm_finish(struct mailsec_dmarc *d, struct mailsec_dmarc_outcome *o)
{
	d->out = o;
	d->done = true;
}

/* An outcome that needs no computation (errors, ENOMEM). */
static struct mailsec_dmarc_outcome *
fallback(struct mailsec_dmarc *d, enum mailsec_dmarc_result r,
    const char *why)
{
	struct mailsec_dmarc_outcome *o = ms_calloc(1, sizeof *o);
	mailsec_err err = MAILSEC_OK;

	if (o == NULL)
		return NULL;
	o->mode = d->opts.mode;
	o->author_status = d->author_status;
	o->result = r;
	o->queries = d->queries;
	reason(o, &err, "%s", why);
	return o;
}

static void
dm_run(struct mailsec_dmarc *d)
{
	struct mailsec_dmarc_outcome *o;
	struct calc c;
	mailsec_err err;

	d->running = true;
	while (!d->done) {
		o = compute(d, &c);
		if (o != NULL) {
			dm_finish(d, o);
			break;
		}
		if (c.err != MAILSEC_OK) {
			dm_finish(d, fallback(d, MAILSEC_DMARC_TEMPERROR,
			    mailsec_strerror(c.err)));
			break;
		}
		if ((err = send_needed(d)) != MAILSEC_OK) {
			dm_finish(d, fallback(d, MAILSEC_DMARC_TEMPERROR,
			    mailsec_strerror(err)));
			break;
		}
		if (d->pending > 0)
			break;
	}
	d->running = false;
	if (d->done && d->cb != NULL)
		d->cb(d->cbarg, d);	/* may free d */
}

/* ---- creation ---------------------------------------------------------- */

static mailsec_err
dm_alloc(struct mailsec_resolver *r, const struct mailsec_dmarc_opts *opts,
    struct mailsec_dmarc **out, struct mailsec_diag *diag)
{
	struct mailsec_dmarc *d;

	*out = NULL;
	if (r == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "no resolver");
	if (opts != NULL && opts->mode == MAILSEC_DMARC_RFC7489 &&
	    opts->psl == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "RFC 7489 mode "
		    "needs a public suffix list");
	if (opts != NULL && opts->mode != MAILSEC_DMARC_RFC7489 &&
	    opts->mode != MAILSEC_DMARC_RFC9989)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "unknown mode");
	if ((d = ms_calloc(1, sizeof *d)) == NULL)
		return MAILSEC_ENOMEM;
	d->r = r;
	if (opts != NULL)
		d->opts = *opts;
	d->opts.local_comment = NULL;
	if (opts != NULL && opts->local_comment != NULL &&
	    (d->local_comment = ms_memdupz(opts->local_comment,
	    strlen(opts->local_comment))) == NULL) {
		free(d);
		return MAILSEC_ENOMEM;
	}
	*out = d;
	return MAILSEC_OK;
}

static mailsec_err
add_domain(struct mailsec_dmarc *d, const char *dom)
{
	char **v;

	if ((v = ms_reallocarray(d->domains, d->ndomains + 1,
	    sizeof *v)) == NULL)
		return MAILSEC_ENOMEM;
	d->domains = v;
	if ((v[d->ndomains] = ms_memdupz(dom, strlen(dom))) == NULL)
		return MAILSEC_ENOMEM;
	d->ndomains++;
	return MAILSEC_OK;
}

static mailsec_err
set_author_problem(struct mailsec_dmarc *d, const char *fmt, ...)
    MS_PRINTF(2, 3);

static mailsec_err
set_author_problem(struct mailsec_dmarc *d, const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	free(d->author_problem);
	d->author_problem = ms_memdupz(buf, strlen(buf));
	return d->author_problem ? MAILSEC_OK : MAILSEC_ENOMEM;
}

/* RFC 9989 5.3.1 and 11.5: exactly one Author Domain, or every one of
 * a From field's addresses (the strictest outcome wins); never silently
 * the first (OpenDMARC CVE-2019-16378). */
static mailsec_err
take_author(struct mailsec_dmarc *d, const struct mailsec_author *a,
    struct mailsec_diag *diag)
{
	const char *why = NULL;
	mailsec_err err;
	size_t i;

	d->author_status = a->status;
	switch (a->status) {
	case MAILSEC_AUTHOR_NO_FROM:
		why = "no From field: no Author Domain (RFC 9989 4.2, "
		    "5.3.1); rejected as malformed";
		break;
	case MAILSEC_AUTHOR_UNPARSEABLE:
		return set_author_problem(d, "From field unusable (%s): no "
		    "reliable Author Domain (RFC 9989 4.4, 11.5); rejected "
		    "as malformed", a->diag.set ? a->diag.text :
		    "no address");
	case MAILSEC_AUTHOR_MULTIPLE_FROM:
		if (!d->opts.evaluate_multiple_from)
			why = "several From fields (RFC 5322 3.6 allows one): "
			    "no reliable Author Domain (RFC 9989 4.4, 11.5); "
			    "rejected as malformed";
		break;
	default:
		break;
	}
	if (why != NULL)
		return set_author_problem(d, "%s", why);
	if (a->ndomains == 0)
		return set_author_problem(d, "no usable Author Domain in "
		    "From: rejected as malformed");
	if (a->ndomains > MAILSEC_DMARC_AUTHOR_MAX)
		return set_author_problem(d, "%zu Author Domains (more than "
		    "%d): the evaluation would be incomplete (RFC 9989 "
		    "11.5); rejected", a->ndomains, MAILSEC_DMARC_AUTHOR_MAX);
	for (i = 0; i < a->ndomains; i++) {
		char n[MAILSEC_DOMAIN_MAX];

		if (!ms_dmarc_norm(a->domains[i], strlen(a->domains[i]), n))
			return set_author_problem(d, "Author Domain '%s' is "
			    "not a domain name", a->domains[i]);
		if ((err = add_domain(d, n)) != MAILSEC_OK)
			return err;
	}
	(void)diag;
	return MAILSEC_OK;
}

static char *
norm_dup(const char *s)
{
	char n[MAILSEC_DOMAIN_MAX];

	if (s == NULL || !ms_dmarc_norm(s, strlen(s), n))
		return NULL;
	return ms_memdupz(n, strlen(n));
}

/* One DKIM result, copied: domain and selector as (ptr, len). */
static mailsec_err
add_dkim(struct mailsec_dmarc *d, enum mailsec_dkim_result result,
    const char *dom, size_t dlen, const char *sel, size_t slen)
{
	struct dm_dkim *k = &d->dkim[d->ndkim++];

	k->result = result;
	if ((k->raw = ms_memdupz(dom, dlen)) == NULL)
		return MAILSEC_ENOMEM;
	k->domain = norm_dup(k->raw);
	if (sel != NULL && (k->selector = ms_memdupz(sel, slen)) == NULL)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
}

static mailsec_err
take_dkim(struct mailsec_dmarc *d, const struct mailsec_dmarc_dkim *v,
    size_t n)
{
	mailsec_err err = MAILSEC_OK;
	size_t i;

	if (n > 0 && (d->dkim = ms_calloc(n, sizeof *d->dkim)) == NULL)
		return MAILSEC_ENOMEM;
	for (i = 0; i < n && err == MAILSEC_OK; i++)
		err = add_dkim(d, v[i].result, v[i].domain,
		    strlen(v[i].domain), v[i].selector, v[i].selector != NULL ?
		    strlen(v[i].selector) : 0);
	return err;
}

static mailsec_err
take_dkim_verify(struct mailsec_dmarc *d, const struct mailsec_dkim_verify *ctx)
{
	const struct mailsec_dkim_sig_info *s;
	size_t i, n = mailsec_dkim_verify_count(ctx);
	mailsec_err err = MAILSEC_OK;

	if (n > MAILSEC_DMARC_DKIM_MAX)
		n = MAILSEC_DMARC_DKIM_MAX;
	if (n > 0 && (d->dkim = ms_calloc(n, sizeof *d->dkim)) == NULL)
		return MAILSEC_ENOMEM;
	for (i = 0; i < n && err == MAILSEC_OK; i++) {
		s = mailsec_dkim_verify_sig(ctx, i);
		if (s->domain.len == 0)
			continue;
		err = add_dkim(d, s->result, s->domain.ptr, s->domain.len,
		    s->selector.len > 0 ? s->selector.ptr : NULL,
		    s->selector.len);
	}
	return err;
}

mailsec_err
mailsec_dmarc_new(struct mailsec_resolver *r,
    const struct mailsec_dmarc_request *req,
    const struct mailsec_dmarc_opts *opts, struct mailsec_dmarc **out,
    struct mailsec_diag *diag)
{
	struct mailsec_dmarc *d = NULL;
	mailsec_err err;
	size_t i;

	if (out == NULL)
		return MAILSEC_EINVAL;
	*out = NULL;
	if (req == NULL || req->author == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "the author is "
		    "required");
	if (req->ndkim > MAILSEC_DMARC_DKIM_MAX)
		return ms_diag(diag, MAILSEC_ELIMIT, 0, 0, "more than %d "
		    "DKIM results", MAILSEC_DMARC_DKIM_MAX);
	if (req->ndkim > 0 && req->dkim == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "ndkim without "
		    "dkim");
	for (i = 0; i < req->ndkim; i++)
		if (req->dkim[i].domain == NULL)
			return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "DKIM "
			    "result %zu has no domain", i);
	if ((err = dm_alloc(r, opts, &d, diag)) != MAILSEC_OK)
		return err;
	err = MAILSEC_ENOMEM;
	d->spf_result = req->spf_result;
	d->spf_identity = req->spf_identity;
	d->null_path = req->mail_from == NULL || req->mail_from[0] == '\0';
	if (req->spf_domain != NULL) {
		d->spf_domain = norm_dup(req->spf_domain);
		d->spf_raw = ms_memdupz(req->spf_domain,
		    strlen(req->spf_domain));
		if (d->spf_raw == NULL)
			goto fail;
	}
	if (req->dkim_verify != NULL)
		err = take_dkim_verify(d, req->dkim_verify);
	else
		err = take_dkim(d, req->dkim, req->ndkim);
	if (err != MAILSEC_OK)
		goto fail;
	err = MAILSEC_ENOMEM;
	if ((err = take_author(d, req->author, diag)) != MAILSEC_OK)
		goto fail;
	*out = d;
	return MAILSEC_OK;
fail:
	mailsec_dmarc_free(d);
	return err;
}

mailsec_err
mailsec_dmarc_discover_new(struct mailsec_resolver *r, const char *domain,
    const struct mailsec_dmarc_opts *opts, struct mailsec_dmarc **out,
    struct mailsec_diag *diag)
{
	char n[MAILSEC_DOMAIN_MAX];
	struct mailsec_dmarc *d;
	mailsec_err err;

	if (out == NULL)
		return MAILSEC_EINVAL;
	*out = NULL;
	if (domain == NULL || mailsec_domain_normalize(domain, strlen(domain),
	    n, sizeof n, NULL, diag) != MAILSEC_OK)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "'%s' is not a "
		    "domain name", domain ? domain : "(null)");
	if ((err = dm_alloc(r, opts, &d, diag)) != MAILSEC_OK)
		return err;
	d->discover_only = true;
	if ((err = add_domain(d, n)) != MAILSEC_OK) {
		mailsec_dmarc_free(d);
		return err;
	}
	*out = d;
	return MAILSEC_OK;
}

mailsec_err
mailsec_dmarc_start(struct mailsec_dmarc *d, mailsec_dmarc_done_cb cb,
    void *arg)
{
	if (d == NULL)
		return MAILSEC_EINVAL;
	if (d->started)
		return MAILSEC_ESTATE;
	d->started = true;
	d->cb = cb;
	d->cbarg = arg;
	dm_run(d);
	return MAILSEC_OK;
}

bool
mailsec_dmarc_done(const struct mailsec_dmarc *d)
{
	return d != NULL && d->done;
}

const struct mailsec_dmarc_outcome *
mailsec_dmarc_outcome(const struct mailsec_dmarc *d)
{
	return d != NULL && d->done ? d->out : NULL;
}

struct mailsec_dmarc_outcome *
mailsec_dmarc_take_outcome(struct mailsec_dmarc *d)
{
	struct mailsec_dmarc_outcome *o;

	if (d == NULL || !d->done)
		return NULL;
	o = d->out;
	d->out = NULL;
	return o;
}

void
mailsec_dmarc_free(struct mailsec_dmarc *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nents; i++)
		ent_free(d->ents[i]);
	free(d->ents);
	for (i = 0; i < d->ndomains; i++)
		free(d->domains[i]);
	free(d->domains);
	for (i = 0; i < d->ndkim; i++) {
		free(d->dkim[i].domain);
		free(d->dkim[i].raw);
		free(d->dkim[i].selector);
	}
	free(d->dkim);
	free(d->spf_domain);
	free(d->spf_raw);
	free(d->author_problem);
	free(d->local_comment);
	mailsec_dmarc_outcome_free(d->out);
	free(d);
}

void
mailsec_dmarc_outcome_free(struct mailsec_dmarc_outcome *o)
{
	size_t i;

	if (o == NULL)
		return;
	free(o->from_domain);
	free(o->policy_domain);
	free(o->org_domain);
	free(o->dkim_domain);
	free(o->dkim_selector);
	for (i = 0; i < o->noverrides; i++)
		free(o->overrides[i].comment);
	free(o->overrides);
	for (i = 0; i < o->nreasons; i++)
		free(o->reasons[i]);
	free(o->reasons);
	for (i = 0; i < o->ndomains; i++) {
		struct mailsec_dmarc_domain *x = &o->domains[i];

		free(x->domain);
		free(x->policy_domain);
		free(x->queried_name);
		free(x->org_domain);
		free(x->psd_domain);
		free(x->problem);
		free(x->record_text);
		mailsec_dmarc_record_free(x->record);
	}
	free(o->domains);
	free(o);
}

/* Runs d to the end on its resolver, at most DM_TIME_MAX_MS. */
static mailsec_err
run_sync(struct mailsec_dmarc *d, struct mailsec_dmarc_outcome **out)
{
	struct timespec t0, t1;
	mailsec_err err;
	int64_t left;

	if ((err = mailsec_dmarc_start(d, NULL, NULL)) != MAILSEC_OK)
		return err;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!d->done) {
		if (mailsec_resolver_pending(d->r) == 0)
			return MAILSEC_ESTATE;	/* cannot happen */
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = DM_TIME_MAX_MS - ((int64_t)(t1.tv_sec - t0.tv_sec) *
		    1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			dm_finish(d, fallback(d, MAILSEC_DMARC_TEMPERROR,
			    "DMARC evaluation took longer than 20 s"));
			break;
		}
		if ((err = mailsec_resolver_wait(d->r, (int)left)) !=
		    MAILSEC_OK)
			return err;
	}
	*out = mailsec_dmarc_take_outcome(d);
	return *out != NULL ? MAILSEC_OK : MAILSEC_ENOMEM;
}

/* The synchronous calls: *dp as its constructor left it (returning
 * err), run to the end and freed. */
static mailsec_err
run_once(mailsec_err err, struct mailsec_dmarc **dp,
    struct mailsec_dmarc_outcome **out)
{
	if (err != MAILSEC_OK)
		return err;
	err = run_sync(*dp, out);
	mailsec_dmarc_free(*dp);
	return err;
}

mailsec_err
mailsec_dmarc_evaluate(struct mailsec_resolver *r,
    const struct mailsec_dmarc_request *req,
    const struct mailsec_dmarc_opts *opts,
    struct mailsec_dmarc_outcome **out, struct mailsec_diag *diag)
{
	struct mailsec_dmarc *d = NULL;

	if (out == NULL)
		return MAILSEC_EINVAL;
	*out = NULL;
	return run_once(mailsec_dmarc_new(r, req, opts, &d, diag), &d, out);
}

mailsec_err
mailsec_dmarc_discover(struct mailsec_resolver *r, const char *domain,
    const struct mailsec_dmarc_opts *opts,
    struct mailsec_dmarc_outcome **out, struct mailsec_diag *diag)
{
	struct mailsec_dmarc *d = NULL;

	if (out == NULL)
		return MAILSEC_EINVAL;
	*out = NULL;
	return run_once(mailsec_dmarc_discover_new(r, domain, opts, &d, diag),
	    &d, out);
}
