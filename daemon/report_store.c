/*
 * daemon/report_store.c - the report store's backend-independent half:
 * the report_store_*() wrappers over struct report_store_ops, the words
 * the model's enums are stored as, and report_eval_from_outcome(), which
 * turns a DMARC outcome (mailsec/dmarc.h) into the row of an aggregate
 * report (RFC 9990 3.1.1.5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/dkim.h>
#include <mailsec/spf.h>

#include "core/core.h"
#include "report_store.h"

/* Longest path of STATE_DIR/reports.db. */
#define REPORT_STORE_PATH_MAX	4096
/* Longest rua= or ruf= list kept (MAILSEC_DMARC_URI_MAX URIs within a
 * record of MAILSEC_DMARC_RECORD_MAX bytes). */
#define REPORT_URI_LIST_MAX	MAILSEC_DMARC_RECORD_MAX

/* ---- stored words ------------------------------------------------------ */

static const char *const result_words[] = {
	[MAILSEC_RRES_NONE] = "none",
	[MAILSEC_RRES_PASS] = "pass",
	[MAILSEC_RRES_FAIL] = "fail",
	[MAILSEC_RRES_SOFTFAIL] = "softfail",
	[MAILSEC_RRES_POLICY] = "policy",
	[MAILSEC_RRES_NEUTRAL] = "neutral",
	[MAILSEC_RRES_TEMPERROR] = "temperror",
	[MAILSEC_RRES_PERMERROR] = "permerror",
	[MAILSEC_RRES_UNKNOWN] = "unknown"
};

static const char *const disp_words[] = {
	[MAILSEC_RDISP_NONE] = "none",
	[MAILSEC_RDISP_QUARANTINE] = "quarantine",
	[MAILSEC_RDISP_REJECT] = "reject",
	[MAILSEC_RDISP_PASS] = "pass"
};

static const char *const override_words[] = {
	[MAILSEC_ROVR_LOCAL_POLICY] = "local_policy",
	[MAILSEC_ROVR_MAILING_LIST] = "mailing_list",
	[MAILSEC_ROVR_OTHER] = "other",
	[MAILSEC_ROVR_POLICY_TEST_MODE] = "policy_test_mode",
	[MAILSEC_ROVR_TRUSTED_FORWARDER] = "trusted_forwarder",
	[MAILSEC_ROVR_FORWARDED] = "forwarded",
	[MAILSEC_ROVR_SAMPLED_OUT] = "sampled_out",
	[MAILSEC_ROVR_UNKNOWN] = "unknown"
};

static const char *const eval_words[] = {
	[MAILSEC_REVAL_PASS] = "pass",
	[MAILSEC_REVAL_FAIL] = "fail"
};

static const char *const align_words[] = {
	[MAILSEC_RALIGN_RELAXED] = "r",
	[MAILSEC_RALIGN_STRICT] = "s"
};

#define NWORDS(t) (sizeof(t) / sizeof((t)[0]))

static const char *
word(const char *const *t, size_t n, unsigned v)
{
	return v < n ? t[v] : NULL;
}

/* Index of s in t, 0 (the ABSENT value) for NULL, unknown otherwise. */
static unsigned
word_index(const char *const *t, size_t n, const char *s, unsigned unknown)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 1; i < n; i++)
		if (t[i] != NULL && ms_ascii_eqz(s, strlen(s), t[i]))
			return (unsigned)i;
	return unknown;
}

const char *
report_result_word(enum mailsec_report_result r)
{
	return word(result_words, NWORDS(result_words), r);
}

enum mailsec_report_result
report_result_parse(const char *s)
{
	return word_index(result_words, NWORDS(result_words), s,
	    MAILSEC_RRES_UNKNOWN);
}

const char *
report_disp_word(enum mailsec_report_disp d)
{
	return word(disp_words, NWORDS(disp_words), d);
}

enum mailsec_report_disp
report_disp_parse(const char *s)
{
	return word_index(disp_words, NWORDS(disp_words), s,
	    MAILSEC_RDISP_ABSENT);
}

const char *
report_override_word(enum mailsec_report_override o)
{
	return word(override_words, NWORDS(override_words), o);
}

enum mailsec_report_override
report_override_parse(const char *s)
{
	return word_index(override_words, NWORDS(override_words), s,
	    MAILSEC_ROVR_UNKNOWN);
}

const char *
report_eval_word(enum mailsec_report_eval e)
{
	return word(eval_words, NWORDS(eval_words), e);
}

enum mailsec_report_eval
report_eval_parse(const char *s)
{
	return word_index(eval_words, NWORDS(eval_words), s,
	    MAILSEC_REVAL_ABSENT);
}

const char *
report_align_word(enum mailsec_report_align a)
{
	return word(align_words, NWORDS(align_words), a);
}

enum mailsec_report_align
report_align_parse(const char *s)
{
	return word_index(align_words, NWORDS(align_words), s,
	    MAILSEC_RALIGN_ABSENT);
}

const char *
report_send_status_name(enum report_send_status s)
{
	switch (s) {
	case REPORT_SEND_SENT:
		return "sent";
	case REPORT_SEND_TOO_BIG:
		return "too-big";
	case REPORT_SEND_UNAUTHORIZED:
		return "unauthorized";
	case REPORT_SEND_SKIPPED:
		return "skipped";
	case REPORT_SEND_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}

/* ---- evaluations from DMARC outcomes ----------------------------------- */

/* What report_eval_from_outcome() allocates. */
struct eval_priv {
	struct report_eval_dkim dkim[REPORT_EVAL_DKIM_MAX];
	char *dkim_str[2 * REPORT_EVAL_DKIM_MAX];
	struct report_eval_reason reasons[REPORT_EVAL_REASON_MAX];
	char *rua;
	char *ruf;
	char fo[8];			/* "0:1:d:s" */
};

static enum mailsec_report_disp
policy_disp(enum mailsec_dmarc_policy p)
{
	switch (p) {
	case MAILSEC_DMARC_POLICY_NONE:
		return MAILSEC_RDISP_NONE;
	case MAILSEC_DMARC_POLICY_QUARANTINE:
		return MAILSEC_RDISP_QUARANTINE;
	case MAILSEC_DMARC_POLICY_REJECT:
		return MAILSEC_RDISP_REJECT;
	case MAILSEC_DMARC_POLICY_UNSET:
		break;
	}
	return MAILSEC_RDISP_ABSENT;
}

static enum mailsec_report_result
spf_result(enum mailsec_spf_result r)
{
	switch (r) {
	case MAILSEC_SPF_NONE:
		return MAILSEC_RRES_NONE;
	case MAILSEC_SPF_NEUTRAL:
		return MAILSEC_RRES_NEUTRAL;
	case MAILSEC_SPF_PASS:
		return MAILSEC_RRES_PASS;
	case MAILSEC_SPF_FAIL:
		return MAILSEC_RRES_FAIL;
	case MAILSEC_SPF_SOFTFAIL:
		return MAILSEC_RRES_SOFTFAIL;
	case MAILSEC_SPF_TEMPERROR:
		return MAILSEC_RRES_TEMPERROR;
	case MAILSEC_SPF_PERMERROR:
		return MAILSEC_RRES_PERMERROR;
	}
	return MAILSEC_RRES_UNKNOWN;
}

static enum mailsec_report_result
dkim_result(enum mailsec_dkim_result r)
{
	switch (r) {
	case MAILSEC_DKIM_NONE:
		return MAILSEC_RRES_NONE;
	case MAILSEC_DKIM_PASS:
		return MAILSEC_RRES_PASS;
	case MAILSEC_DKIM_FAIL:
		return MAILSEC_RRES_FAIL;
	case MAILSEC_DKIM_NEUTRAL:
		return MAILSEC_RRES_NEUTRAL;
	case MAILSEC_DKIM_TEMPERROR:
		return MAILSEC_RRES_TEMPERROR;
	case MAILSEC_DKIM_PERMERROR:
		return MAILSEC_RRES_PERMERROR;
	case MAILSEC_DKIM_POLICY:
		return MAILSEC_RRES_POLICY;
	}
	return MAILSEC_RRES_UNKNOWN;
}

static enum mailsec_report_override
override_type(enum mailsec_dmarc_override_type t)
{
	switch (t) {
	case MAILSEC_DMARC_OV_FORWARDED:
		return MAILSEC_ROVR_FORWARDED;
	case MAILSEC_DMARC_OV_SAMPLED_OUT:
		return MAILSEC_ROVR_SAMPLED_OUT;
	case MAILSEC_DMARC_OV_TRUSTED_FORWARDER:
		return MAILSEC_ROVR_TRUSTED_FORWARDER;
	case MAILSEC_DMARC_OV_MAILING_LIST:
		return MAILSEC_ROVR_MAILING_LIST;
	case MAILSEC_DMARC_OV_LOCAL_POLICY:
		return MAILSEC_ROVR_LOCAL_POLICY;
	case MAILSEC_DMARC_OV_OTHER:
		return MAILSEC_ROVR_OTHER;
	case MAILSEC_DMARC_OV_POLICY_TEST_MODE:
		return MAILSEC_ROVR_POLICY_TEST_MODE;
	}
	return MAILSEC_ROVR_UNKNOWN;
}

/* "URI[!BYTES],...": the list as the job reads it back (through
 * mailsec_dmarc_record_parse, so k/m/g/t are already applied). */
static mailsec_err
uri_list(const struct mailsec_dmarc_uri *u, size_t n, char **out)
{
	struct ms_buf b;
	size_t i;
	mailsec_err e = MAILSEC_OK;

	*out = NULL;
	if (n == 0)
		return MAILSEC_OK;
	ms_buf_init(&b, REPORT_URI_LIST_MAX);
	for (i = 0; i < n && e == MAILSEC_OK; i++) {
		if (u[i].uri == NULL)
			continue;
		if (b.len > 0)
			e = ms_buf_appendc(&b, ',');
		if (e == MAILSEC_OK)
			e = ms_buf_appendz(&b, u[i].uri);
		if (e == MAILSEC_OK && u[i].has_limit)
			e = ms_buf_printf(&b, "!%llu",
			    (unsigned long long)u[i].limit);
	}
	if (e != MAILSEC_OK)
		return e;
	if ((*out = ms_buf_steal(&b, NULL)) == NULL)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
}

static void
fo_text(unsigned fo, char *buf)
{
	static const struct {
		unsigned bit;
		char c;
	} t[] = { { MAILSEC_DMARC_FO_0, '0' }, { MAILSEC_DMARC_FO_1, '1' },
	    { MAILSEC_DMARC_FO_D, 'd' }, { MAILSEC_DMARC_FO_S, 's' } };
	size_t i, n = 0;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		if ((fo & t[i].bit) == 0)
			continue;
		if (n > 0)
			buf[n++] = ':';
		buf[n++] = t[i].c;
	}
	buf[n] = '\0';
}

const struct mailsec_dmarc_domain *
report_applied_domain(const struct mailsec_dmarc_outcome *o)
{
	size_t i;

	for (i = 0; i < o->ndomains; i++) {
		const struct mailsec_dmarc_domain *d = &o->domains[i];

		if (d->record == NULL || d->policy_domain == NULL)
			continue;
		if (strcmp(d->policy_domain, o->policy_domain) == 0 &&
		    (o->from_domain == NULL || d->domain == NULL ||
		    strcmp(d->domain, o->from_domain) == 0))
			return d;
	}
	return NULL;
}

static mailsec_err
eval_dkim(struct report_eval *ev, struct eval_priv *pv,
    const struct mailsec_dkim_verify *v)
{
	size_t i, n = mailsec_dkim_verify_count(v);

	for (i = 0; i < n && ev->ndkim < REPORT_EVAL_DKIM_MAX; i++) {
		const struct mailsec_dkim_sig_info *s;
		struct report_eval_dkim *d = &pv->dkim[ev->ndkim];
		char **str = &pv->dkim_str[2 * ev->ndkim];

		s = mailsec_dkim_verify_sig(v, i);
		if (s == NULL || s->domain.len == 0)
			continue;
		if ((str[0] = ms_memdupz(s->domain.ptr, s->domain.len)) ==
		    NULL)
			return MAILSEC_ENOMEM;
		if (s->selector.len > 0 && (str[1] = ms_memdupz(
		    s->selector.ptr, s->selector.len)) == NULL)
			return MAILSEC_ENOMEM;
		d->domain = str[0];
		d->selector = str[1];
		d->result = dkim_result(s->result);
		ev->ndkim++;
	}
	ev->dkim = pv->dkim;
	return MAILSEC_OK;
}

mailsec_err
report_eval_from_outcome(struct report_eval *ev,
    const struct mailsec_dmarc_outcome *o, const struct report_eval_src *src)
{
	const struct mailsec_dmarc_domain *d;
	const struct mailsec_dmarc_record *rec;
	struct eval_priv *pv;
	const char *at;
	size_t i;
	mailsec_err e;

	memset(ev, 0, sizeof *ev);
	if (o == NULL || o->policy_domain == NULL || o->from_domain == NULL ||
	    src == NULL || src->source_ip == NULL ||
	    (d = report_applied_domain(o)) == NULL)
		return MAILSEC_ENOTFOUND;
	rec = d->record;
	if ((pv = ms_calloc(1, sizeof *pv)) == NULL)
		return MAILSEC_ENOMEM;
	ev->priv = pv;
	ev->time = src->time;
	ev->source_ip = src->source_ip;
	ev->header_from = o->from_domain;
	ev->policy_domain = o->policy_domain;
	if (src->mail_from != NULL &&
	    (at = strrchr(src->mail_from, '@')) != NULL && at[1] != '\0')
		ev->envelope_from = at + 1;
	ev->envelope_to = src->rcpt_domain;

	ev->p = policy_disp(rec->p);
	ev->sp = policy_disp(rec->sp);
	ev->np = policy_disp(rec->np);
	ev->adkim = rec->adkim == MAILSEC_DMARC_STRICT ?
	    MAILSEC_RALIGN_STRICT : MAILSEC_RALIGN_RELAXED;
	ev->aspf = rec->aspf == MAILSEC_DMARC_STRICT ?
	    MAILSEC_RALIGN_STRICT : MAILSEC_RALIGN_RELAXED;
	ev->pct = rec->has_pct ? (int)rec->pct : -1;
	ev->testing = o->testing;
	ev->discovery_method = o->mode == MAILSEC_DMARC_RFC7489 ? "psl" :
	    "treewalk";
	if ((e = uri_list(rec->rua, rec->nrua, &pv->rua)) != MAILSEC_OK ||
	    (e = uri_list(rec->ruf, rec->nruf, &pv->ruf)) != MAILSEC_OK)
		goto fail;
	ev->rua = pv->rua;
	ev->ruf = pv->ruf;
	fo_text(rec->fo, pv->fo);
	ev->fo = pv->fo[0] != '\0' ? pv->fo : NULL;

	if (src->spf != NULL && src->spf->domain != NULL) {
		ev->spf_domain = src->spf->domain;
		ev->spf_helo = src->spf->identity == MAILSEC_SPF_ID_HELO;
		ev->spf_result = spf_result(src->spf->result);
	}
	if (src->dkim != NULL &&
	    (e = eval_dkim(ev, pv, src->dkim)) != MAILSEC_OK)
		goto fail;

	ev->dmarc_dkim = o->dkim_aligned ? MAILSEC_REVAL_PASS :
	    MAILSEC_REVAL_FAIL;
	ev->dmarc_spf = o->spf_aligned ? MAILSEC_REVAL_PASS :
	    MAILSEC_REVAL_FAIL;
	/* RFC 9990 ActionDispositionType: "pass" is "No action, passing
	 * DMARC w/enforcing policy"; a p=none pass stays "none". */
	if (o->result == MAILSEC_DMARC_PASS &&
	    (o->policy == MAILSEC_DMARC_POLICY_QUARANTINE ||
	    o->policy == MAILSEC_DMARC_POLICY_REJECT))
		ev->disposition = MAILSEC_RDISP_PASS;
	else if (o->disposition == MAILSEC_DMARC_DISP_QUARANTINE)
		ev->disposition = MAILSEC_RDISP_QUARANTINE;
	else if (o->disposition == MAILSEC_DMARC_DISP_REJECT)
		ev->disposition = MAILSEC_RDISP_REJECT;
	else
		ev->disposition = MAILSEC_RDISP_NONE;
	for (i = 0; i < o->noverrides && i < REPORT_EVAL_REASON_MAX; i++) {
		pv->reasons[i].type = override_type(o->overrides[i].type);
		pv->reasons[i].comment = o->overrides[i].comment;
	}
	ev->reasons = pv->reasons;
	ev->nreasons = i;
	return MAILSEC_OK;
fail:
	report_eval_cleanup(ev);
	return e;
}

void
report_eval_cleanup(struct report_eval *ev)
{
	struct eval_priv *pv;
	size_t i;

	if (ev == NULL || (pv = ev->priv) == NULL)
		return;
	for (i = 0; i < 2 * REPORT_EVAL_DKIM_MAX; i++)
		free(pv->dkim_str[i]);
	free(pv->rua);
	free(pv->ruf);
	free(pv);
	memset(ev, 0, sizeof *ev);
}

/* ---- results ------------------------------------------------------------ */

void
report_summary_free(struct report_summary *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nsources; i++)
		free(s->sources[i].ip);
	free(s->sources);
	for (i = 0; i < s->nfailing; i++) {
		free(s->failing[i].ip);
		free(s->failing[i].header_from);
	}
	free(s->failing);
	free(s);
}

void
report_periods_free(struct report_period *p, size_t n)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(p[i].domain);
		free(p[i].report_id);
	}
	free(p);
}

/* ---- the wrappers ------------------------------------------------------ */

mailsec_err
report_store_open(const char *state_dir, struct report_store **out,
    char *err, size_t errlen)
{
	char path[REPORT_STORE_PATH_MAX];
	int n;

	*out = NULL;
	n = snprintf(path, sizeof path, "%s/reports.db", state_dir);
	if (n < 0 || (size_t)n >= sizeof path) {
		snprintf(err, errlen, "%s: path too long", state_dir);
		return MAILSEC_ELIMIT;
	}
	return report_store_open_sqlite(path, out, err, errlen);
}

void
report_store_close(struct report_store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

const char *
report_store_error(const struct report_store *st)
{
	return st != NULL ? st->error : "";
}

mailsec_err
report_store_add_eval(struct report_store *st, const struct report_eval *ev)
{
	if (ev == NULL || ev->source_ip == NULL || ev->header_from == NULL ||
	    ev->policy_domain == NULL)
		return MAILSEC_EINVAL;
	return st->ops->add_eval(st, ev);
}

mailsec_err
report_store_add_outcome(struct report_store *st,
    const struct mailsec_dmarc_outcome *o, const struct report_eval_src *src)
{
	struct report_eval ev;
	mailsec_err e;

	e = report_eval_from_outcome(&ev, o, src);
	if (e == MAILSEC_ENOTFOUND)
		return MAILSEC_OK;
	if (e != MAILSEC_OK)
		return e;
	e = report_store_add_eval(st, &ev);
	report_eval_cleanup(&ev);
	return e;
}

mailsec_err
report_store_import(struct report_store *st,
    const struct mailsec_agg_report *r, const char *origin, bool *duplicate)
{
	*duplicate = false;
	if (r == NULL || r->domain == NULL)
		return MAILSEC_EINVAL;
	return st->ops->import(st, r, origin, duplicate);
}

mailsec_err
report_store_summary(struct report_store *st,
    const struct report_summary_query *q, struct report_summary **out)
{
	*out = NULL;
	return st->ops->summary(st, q, out);
}

mailsec_err
report_store_periods_unfinished(struct report_store *st,
    struct report_period **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->ops->periods_unfinished(st, out, n);
}

mailsec_err
report_store_periods_new(struct report_store *st, int64_t cutoff,
    struct report_period **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->ops->periods_new(st, cutoff, out, n);
}

mailsec_err
report_store_period_open(struct report_store *st, struct report_period *p)
{
	if (p->domain == NULL || p->report_id == NULL || p->end < p->begin)
		return MAILSEC_EINVAL;
	return st->ops->period_open(st, p);
}

mailsec_err
report_store_period_finish(struct report_store *st, int64_t id)
{
	return st->ops->period_finish(st, id);
}

mailsec_err
report_store_period_policy(struct report_store *st,
    const struct report_period *p, report_row_cb cb, void *arg)
{
	return st->ops->period_policy(st, p, cb, arg);
}

mailsec_err
report_store_period_rows(struct report_store *st,
    const struct report_period *p, report_row_cb cb, void *arg)
{
	return st->ops->period_rows(st, p, cb, arg);
}

mailsec_err
report_store_send_done(struct report_store *st, int64_t id, const char *dest,
    bool *done)
{
	*done = false;
	return st->ops->send_done(st, id, dest, done);
}

mailsec_err
report_store_send_record(struct report_store *st, int64_t id,
    const char *dest, enum report_send_status status, const char *detail,
    int64_t when)
{
	return st->ops->send_record(st, id, dest, status, detail, when);
}
