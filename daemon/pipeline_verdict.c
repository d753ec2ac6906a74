/*
 * daemon/pipeline_verdict.c - what the pipeline decides for a message
 * once SPF, DKIM, ARC and DMARC are in: the action from the configuration
 * (policy.dmarc_reject / _quarantine / _none / _temperror, spf_fail),
 * the SMTP reply for a refusal (RFC 3463 enhanced codes), our
 * Authentication-Results field (RFC 8601), the ARC set of forwarded mail
 * (RFC 8617 5.1), the DKIM-Signature fields of an authenticated sender
 * (RFC 6376), the quarantine header, and the key=value log line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "pipeline_int.h"

/* Room for the prepended fields and the log line. */
#define PL_PREPEND_MAX	((size_t)1 << 20)
#define PL_LOG_MAX	8192
#define PL_REASON_MAX	256
/* Peer-supplied text in the log line is cut at this many bytes. */
#define PL_LOG_FIELD_MAX 256
/* header.b: 8 characters of the signature (RFC 6008), more (up to all
 * the DKIM outcome keeps) only when two signatures of the message would
 * otherwise share it. */
#define PL_B_PREFIX	8

/* How severe an action is: a stricter verdict wins. */
static int
action_rank(enum pl_action a)
{
	switch (a) {
	case PL_ACCEPT:
		return 0;
	case PL_QUARANTINE:
		return 1;
	case PL_TEMPFAIL:
		return 2;
	case PL_REJECT:
		return 3;
	}
	return 0;
}

static enum pl_action
action_of(enum gw_action a)
{
	switch (a) {
	case GW_ACT_QUARANTINE:
		return PL_QUARANTINE;
	case GW_ACT_REJECT:
		return PL_REJECT;
	case GW_ACT_TEMPFAIL:
		return PL_TEMPFAIL;
	case GW_ACT_ACCEPT:
		break;
	}
	return PL_ACCEPT;
}

struct decision {
	enum pl_action action;
	bool local_error;		/* tempfail for our own trouble */
	char reason[PL_REASON_MAX];	/* ASCII, one line */
};

static const char *
or_unknown(const char *s)
{
	return s != NULL && pl_token_safe(s, strlen(s)) ? s : "(unknown)";
}

/*
 * The action. DMARC decides first (its disposition already has t=,
 * pct and local overrides applied); SPF fail alone adds its own action
 * unless DMARC passed (an aligned DKIM pass survives forwarding, which
 * breaks SPF) or a trusted forwarder or ARC sealer vouched for the
 * message (forwarding is what broke SPF). The stricter of the two
 * wins.
 */
static void
decide(const struct pl_msg *m, struct decision *dc)
{
	const struct pl_gen *g = m->gen;
	const struct mailsec_dmarc_outcome *d = NULL;
	const struct mailsec_spf_outcome *so = NULL;
	enum pl_action a;

	memset(dc, 0, sizeof *dc);
	dc->action = PL_ACCEPT;
	if (m->fail != MAILSEC_OK) {
		dc->action = PL_TEMPFAIL;
		dc->local_error = true;
		snprintf(dc->reason, sizeof dc->reason, "local error while "
		    "checking the message (%s), try again later",
		    mailsec_strerror(m->fail));
		return;
	}
	if (m->auth_user != NULL)
		return;
	if (m->dmarc != NULL)
		d = mailsec_dmarc_outcome(m->dmarc);
	if (m->spf != NULL)
		so = mailsec_spf_outcome(m->spf);
	if (d != NULL && d->result == MAILSEC_DMARC_TEMPERROR) {
		dc->action = action_of(g->act_temperror);
		snprintf(dc->reason, sizeof dc->reason, "temporary DNS "
		    "failure checking the DMARC policy of %s, try again "
		    "later", or_unknown(d->from_domain));
	} else if (d != NULL) {
		switch (d->disposition) {
		case MAILSEC_DMARC_DISP_REJECT:
			dc->action = action_of(g->act_reject);
			if (d->policy == MAILSEC_DMARC_POLICY_UNSET)
				snprintf(dc->reason, sizeof dc->reason,
				    "the From header field is unusable "
				    "(%s, RFC 5322 3.6)",
				    mailsec_author_status_name(
				    d->author_status));
			else
				snprintf(dc->reason, sizeof dc->reason,
				    "DMARC policy of %s rejects this "
				    "message", or_unknown(d->from_domain));
			break;
		case MAILSEC_DMARC_DISP_QUARANTINE:
			dc->action = action_of(g->act_quarantine);
			snprintf(dc->reason, sizeof dc->reason, "DMARC policy "
			    "of %s quarantines this message",
			    or_unknown(d->from_domain));
			break;
		case MAILSEC_DMARC_DISP_NONE:
			if (d->result != MAILSEC_DMARC_FAIL ||
			    d->noverrides > 0)
				break;
			dc->action = action_of(g->act_none);
			snprintf(dc->reason, sizeof dc->reason, "DMARC check "
			    "of %s failed (policy none)",
			    or_unknown(d->from_domain));
			break;
		case MAILSEC_DMARC_DISP_UNSET:
			break;
		}
	}
	if (so != NULL && so->result == MAILSEC_SPF_FAIL &&
	    (d == NULL || d->result != MAILSEC_DMARC_PASS) && m->local == 0) {
		a = action_of(g->act_spf_fail);
		if (action_rank(a) > action_rank(dc->action)) {
			dc->action = a;
			snprintf(dc->reason, sizeof dc->reason, "SPF of %s "
			    "does not permit %s to send its mail",
			    or_unknown(so->domain), or_unknown(m->ip));
		}
	}
}

/* ---- Authentication-Results ---------------------------------------------- */

static mailsec_err
add_prop_str(struct mailsec_authres *ar, const char *ptype,
    const char *property, struct mailsec_str v)
{
	char *s;
	mailsec_err e;

	if (!pl_token_safe(v.ptr, v.len))
		return MAILSEC_OK;
	if ((s = ms_memdupz(v.ptr, v.len)) == NULL)
		return MAILSEC_ENOMEM;
	e = mailsec_authres_add_prop(ar, ptype, property, s, NULL);
	free(s);
	return e;
}

static mailsec_err
add_prop_z(struct mailsec_authres *ar, const char *ptype,
    const char *property, const char *v)
{
	struct mailsec_str s;

	if (v == NULL)
		return MAILSEC_OK;
	s.ptr = v;
	s.len = strlen(v);
	return add_prop_str(ar, ptype, property, s);
}

static mailsec_err
authres_spf(const struct pl_msg *m, struct mailsec_authres *ar)
{
	const struct mailsec_spf_outcome *o = mailsec_spf_outcome(m->spf);
	mailsec_err e;

	if (o == NULL)
		return MAILSEC_OK;
	e = mailsec_authres_add_result(ar, "spf",
	    mailsec_spf_result_name(o->result));
	if (e != MAILSEC_OK)
		return e;
	if (o->identity == MAILSEC_SPF_ID_HELO)
		return add_prop_z(ar, "smtp", "helo", o->domain);
	/* the address when it is plain ASCII, else its domain (RFC 8601
	 * 2.7.2 allows either) */
	if (o->sender != NULL && pl_token_safe(o->sender,
	    strlen(o->sender)))
		return add_prop_z(ar, "smtp", "mailfrom", o->sender);
	return add_prop_z(ar, "smtp", "mailfrom", o->domain);
}

/*
 * How many characters of b= header.b shows: PL_B_PREFIX, or more when
 * two signatures with different b= values would look the same (the
 * point of header.b is to tell them apart).
 */
static size_t
b_prefix_len(const struct pl_msg *m)
{
	size_t i, j, k, n = mailsec_dkim_verify_count(m->dkim);
	size_t len = PL_B_PREFIX;
	const char *a, *b;

	for (i = 0; i < n; i++) {
		a = mailsec_dkim_verify_sig(m->dkim, i)->b_prefix;
		for (j = i + 1; j < n && a != NULL; j++) {
			b = mailsec_dkim_verify_sig(m->dkim, j)->b_prefix;
			if (b == NULL || strcmp(a, b) == 0)
				continue;	/* the same: no length helps */
			for (k = 0; a[k] != '\0' && a[k] == b[k]; k++)
				;
			if (k >= len && k < MAILSEC_DKIM_B_PREFIX_MAX)
				len = k + 1;
		}
	}
	return len;
}

/* arc= (RFC 8617 6) with the client's address, once the chain's
 * outcome is final. */
static mailsec_err
authres_arc(const struct pl_msg *m, struct mailsec_authres *ar)
{
	if (!mailsec_arc_verify_done(m->arc))
		return MAILSEC_OK;
	return mailsec_arc_authres_add(ar, m->arc,
	    pl_token_safe(m->ip, strlen(m->ip)) ? m->ip : NULL);
}

static mailsec_err
authres_dmarc(const struct pl_msg *m, struct mailsec_authres *ar)
{
	const struct mailsec_dmarc_outcome *d = mailsec_dmarc_outcome(
	    m->dmarc);
	char comment[64];
	mailsec_err e;

	if (d == NULL)
		return MAILSEC_OK;
	e = mailsec_authres_add_result(ar, "dmarc",
	    mailsec_dmarc_result_name(d->result));
	if (e == MAILSEC_OK && d->disposition != MAILSEC_DMARC_DISP_UNSET) {
		snprintf(comment, sizeof comment, "%s dis=%s",
		    mailsec_dmarc_mode_name(d->mode),
		    mailsec_dmarc_disposition_name(d->disposition));
		e = mailsec_authres_set_comment(ar, comment);
	}
	if (e == MAILSEC_OK)
		e = add_prop_z(ar, "header", "from", d->from_domain);
	if (e == MAILSEC_OK && d->policy != MAILSEC_DMARC_POLICY_UNSET)
		e = mailsec_authres_add_prop(ar, "policy", "dmarc",
		    mailsec_dmarc_policy_name(d->policy), NULL);
	return e;
}

/* "Authentication-Results: <value>\r\n", folded, into b; the model
 * goes to *model (mailsec_authres_free()) when model is non-NULL. */
static mailsec_err
authres_field(const struct pl_msg *m, struct ms_buf *b,
    struct mailsec_authres **model)
{
	struct mailsec_authres_gen gen = MAILSEC_AUTHRES_GEN_DEFAULTS;
	struct mailsec_authres *ar = NULL;
	char *text = NULL;
	size_t len = 0;
	mailsec_err e;

	if ((e = mailsec_authres_new(m->gen->authserv_id, &ar)) != MAILSEC_OK)
		return e;
	if (m->auth_user != NULL) {
		e = mailsec_authres_add_result(ar, "auth", "pass");
		if (e == MAILSEC_OK)
			e = add_prop_z(ar, "smtp", "auth", m->auth_user);
	} else {
		e = authres_spf(m, ar);
		if (e == MAILSEC_OK)
			e = mailsec_dkim_authres_add(ar, m->dkim);
		if (e == MAILSEC_OK)
			e = authres_arc(m, ar);
		if (e == MAILSEC_OK)
			e = authres_dmarc(m, ar);
		gen.b_prefix = b_prefix_len(m);
	}
	if (e == MAILSEC_OK)
		e = mailsec_authres_generate(ar, &gen, &text, &len, NULL);
	if (e == MAILSEC_OK)
		e = ms_buf_appendz(b, "Authentication-Results: ");
	if (e == MAILSEC_OK)
		e = ms_buf_append(b, text, len);
	if (e == MAILSEC_OK)
		e = ms_buf_appendz(b, "\r\n");
	if (e == MAILSEC_OK && model != NULL) {
		*model = ar;
		ar = NULL;
	}
	free(text);
	mailsec_authres_free(ar);
	return e;
}

/*
 * The ARC set of forwarded mail (RFC 8617 5.1) into b: the AAR carries
 * our Authentication-Results (ar), cv= the status our validation of
 * this message found. A chain whose newest seal already says cv=fail
 * gets nothing (5.1 step 2); one that failed here is sealed with cv=fail
 * over the new set alone (5.1.2), which the library decides. A sealer
 * error leaves the message unsealed (noted for the log line).
 */
static mailsec_err
arc_seal_add(struct pl_msg *m, const struct mailsec_authres *ar,
    struct ms_buf *b)
{
	struct mailsec_diag diag = { 0 };
	enum mailsec_arc_result cv;
	char *set = NULL;
	size_t len = 0;
	mailsec_err e;

	if (m->arc == NULL || !mailsec_arc_verify_done(m->arc)) {
		snprintf(m->seal_note, sizeof m->seal_note, "error (no chain "
		    "status)");
		return MAILSEC_OK;
	}
	cv = mailsec_arc_verify_outcome(m->arc)->result;
	e = mailsec_arc_seal_eom(m->seal, cv, ar, &set, &len, &diag);
	if (e == MAILSEC_ENOMEM)
		return e;
	if (e != MAILSEC_OK) {
		pl_seal_note_error(m, e, &diag);
		return MAILSEC_OK;
	}
	if (set == NULL) {
		snprintf(m->seal_note, sizeof m->seal_note, "none (the chain "
		    "already says cv=fail)");
		return MAILSEC_OK;
	}
	e = ms_buf_append(b, set, len);
	free(set);
	if (e == MAILSEC_OK)
		snprintf(m->seal_note, sizeof m->seal_note, "%s:%s(cv=%s)",
		    m->gen->arc_domain, m->gen->arc_selector,
		    mailsec_arc_result_name(cv));
	return e;
}

/* ---- the log line -------------------------------------------------------- */

/* key=value with value escaped: bytes outside printable ASCII, space,
 * '"' and '\' as \xHH, cut at PL_LOG_FIELD_MAX (peer text). */
static mailsec_err
log_kv(struct ms_buf *b, const char *key, const char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	mailsec_err e;
	size_t i;

	e = ms_buf_printf(b, "%s%s=", b->len > 0 ? " " : "", key);
	if (p == NULL || len == 0)
		return e == MAILSEC_OK ? ms_buf_appendc(b, '-') : e;
	for (i = 0; i < len && i < PL_LOG_FIELD_MAX && e == MAILSEC_OK;
	    i++) {
		unsigned char c = (unsigned char)p[i];

		if (c > 0x20 && c < 0x7f && c != '"' && c != '\\') {
			e = ms_buf_appendc(b, (char)c);
		} else {
			char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };

			e = ms_buf_append(b, esc, sizeof esc);
		}
	}
	if (e == MAILSEC_OK && len > PL_LOG_FIELD_MAX)
		e = ms_buf_appendz(b, "...");
	return e;
}

static mailsec_err
log_kvz(struct ms_buf *b, const char *key, const char *v)
{
	return log_kv(b, key, v, v != NULL ? strlen(v) : 0);
}

static mailsec_err
log_dkim(const struct pl_msg *m, struct ms_buf *b)
{
	size_t i, n = mailsec_dkim_verify_count(m->dkim);
	struct ms_buf v;
	mailsec_err e = MAILSEC_OK;

	if (m->dkim == NULL)
		return log_kvz(b, "dkim", NULL);
	if (n == 0)
		return log_kvz(b, "dkim", "none");
	ms_buf_init(&v, PL_LOG_MAX);
	for (i = 0; i < n && e == MAILSEC_OK; i++) {
		const struct mailsec_dkim_sig_info *s =
		    mailsec_dkim_verify_sig(m->dkim, i);

		e = ms_buf_printf(&v, "%s%s:%.*s", i > 0 ? "," : "",
		    mailsec_dkim_result_name(s->result),
		    (int)(s->domain.len > 253 ? 253 : s->domain.len),
		    s->domain.ptr != NULL ? s->domain.ptr : "");
	}
	if (e == MAILSEC_OK)
		e = log_kv(b, "dkim", v.ptr, v.len);
	ms_buf_free(&v);
	return e;
}

static mailsec_err
log_line(const struct pl_msg *m, const struct decision *dc,
    const char *signed_by, struct ms_buf *b)
{
	const struct mailsec_spf_outcome *so = mailsec_spf_outcome(m->spf);
	const struct mailsec_dmarc_outcome *d = mailsec_dmarc_outcome(
	    m->dmarc);
	mailsec_err e;

	e = log_kvz(b, "client", m->ip);
	if (e == MAILSEC_OK)
		e = log_kvz(b, "helo", m->helo);
	if (e == MAILSEC_OK)
		e = log_kvz(b, "mail_from", m->mail_from);
	if (e == MAILSEC_OK && m->auth_user != NULL)
		e = log_kvz(b, "auth", m->auth_user);
	if (e == MAILSEC_OK)
		e = log_kvz(b, "tls", m->tls ? "yes" : "no");
	if (e == MAILSEC_OK)
		e = log_kvz(b, "spf", so != NULL ?
		    mailsec_spf_result_name(so->result) : NULL);
	if (e == MAILSEC_OK)
		e = log_dkim(m, b);
	if (e == MAILSEC_OK)
		e = log_kvz(b, "arc", mailsec_arc_verify_done(m->arc) ?
		    mailsec_arc_result_name(mailsec_arc_verify_outcome(
		    m->arc)->result) : NULL);
	if (e == MAILSEC_OK)
		e = log_kvz(b, "dmarc", d != NULL ?
		    mailsec_dmarc_result_name(d->result) : NULL);
	if (e == MAILSEC_OK && d != NULL)
		e = log_kvz(b, "from", d->from_domain);
	if (e == MAILSEC_OK && d != NULL)
		e = log_kvz(b, "policy",
		    mailsec_dmarc_policy_name(d->policy));
	if (e == MAILSEC_OK && d != NULL && d->noverrides > 0)
		e = log_kvz(b, "override", mailsec_dmarc_override_name(
		    d->overrides[0].type));
	if (e == MAILSEC_OK && d != NULL && d->noverrides > 0 &&
	    m->arc_sealer != NULL)
		e = log_kvz(b, "arc_sealer", m->arc_sealer);
	if (e == MAILSEC_OK && m->ar_removed > 0)
		e = ms_buf_printf(b, " ar_removed=%zu", m->ar_removed);
	if (e == MAILSEC_OK && m->auth_user != NULL)
		e = log_kvz(b, "dkim_sign", signed_by != NULL ? signed_by :
		    m->sign_note);
	if (e == MAILSEC_OK && m->forwarded && m->gen->arc_key != NULL)
		e = log_kvz(b, "arc_seal", m->auth_user != NULL ?
		    "submission" : m->seal_note);
	if (e == MAILSEC_OK)
		e = log_kvz(b, "action", pl_action_name(dc->action));
	if (e == MAILSEC_OK && dc->action == PL_QUARANTINE)
		e = log_kvz(b, "quarantine", m->gen->quarantine_maildir ?
		    "maildir" : "header");
	if (e == MAILSEC_OK && dc->reason[0] != '\0')
		e = ms_buf_printf(b, " reason=\"%s\"", dc->reason);
	return e;
}

/* ---- the verdict --------------------------------------------------------- */

static void
set_reply(struct pl_msg *m, const struct decision *dc)
{
	struct pl_verdict *v = &m->v;

	v->reply_code = 0;
	v->reply_enhanced = "";
	switch (dc->action) {
	case PL_REJECT:
		v->reply_code = 550;
		v->reply_enhanced = "5.7.1";
		break;
	case PL_TEMPFAIL:
		v->reply_code = 451;
		v->reply_enhanced = dc->local_error ? "4.3.0" : "4.7.0";
		break;
	case PL_ACCEPT:
	case PL_QUARANTINE:
		break;
	}
	free(m->reply_text);
	m->reply_text = strdup(dc->reason);
	v->reply_text = m->reply_text != NULL ? m->reply_text : "";
}

/* The prepended fields; *signed_by names the signatures made. */
static mailsec_err
make_prepend(struct pl_msg *m, const struct decision *dc, struct ms_buf *b,
    char *signed_by, size_t sblen)
{
	struct mailsec_diag diag = { 0 };
	struct mailsec_authres *ar = NULL;
	char *sigs = NULL;
	size_t len = 0, i, off = 0;
	mailsec_err e;

	signed_by[0] = '\0';
	if ((e = authres_field(m, b, m->seal != NULL ? &ar : NULL)) !=
	    MAILSEC_OK)
		return e;
	/* a refused message is not passed on: nothing to seal */
	if (m->seal != NULL && (dc->action == PL_ACCEPT ||
	    dc->action == PL_QUARANTINE))
		e = arc_seal_add(m, ar, b);
	else if (m->seal != NULL)
		snprintf(m->seal_note, sizeof m->seal_note, "none (%s)",
		    pl_action_name(dc->action));
	mailsec_authres_free(ar);
	if (e != MAILSEC_OK)
		return e;
	if (m->sign != NULL) {
		e = mailsec_dkim_sign_eom(m->sign, &sigs, &len, &diag);
		if (e == MAILSEC_ENOMEM)
			return e;
		if (e != MAILSEC_OK) {
			pl_sign_note_error(m, e, &diag);
		} else {
			e = ms_buf_append(b, sigs, len);
			free(sigs);
			if (e != MAILSEC_OK)
				return e;
			for (i = 0; i < m->sign_dom->nkeys && off < sblen;
			    i++)
				off += (size_t)snprintf(signed_by + off,
				    sblen - off, "%s%s:%s", i > 0 ? "," : "",
				    m->sign_dom->domain,
				    m->sign_dom->keys[i].selector);
		}
	}
	if (dc->action == PL_QUARANTINE && !m->gen->quarantine_maildir) {
		e = ms_buf_printf(b, "X-Mailsec-Quarantine: %s\r\n",
		    dc->reason);
		if (e != MAILSEC_OK)
			return e;
	}
	return MAILSEC_OK;
}

void
pl_verdict_make(struct pl_msg *m)
{
	struct pl_verdict *v = &m->v;
	struct decision dc;
	struct ms_buf pre, log;
	char signed_by[600];
	mailsec_err e;

	decide(m, &dc);
	ms_buf_init(&pre, PL_PREPEND_MAX);
	ms_buf_init(&log, PL_LOG_MAX);
	e = make_prepend(m, &dc, &pre, signed_by, sizeof signed_by);
	if (e != MAILSEC_OK) {
		/* no Authentication-Results, no signature: not this time */
		ms_buf_free(&pre);
		m->fail = e;
		decide(m, &dc);
	}
	if (log_line(m, &dc, signed_by[0] != '\0' ? signed_by : NULL,
	    &log) != MAILSEC_OK)
		ms_buf_free(&log);

	memset(v, 0, sizeof *v);
	v->action = dc.action;
	v->quarantine_maildir = dc.action == PL_QUARANTINE &&
	    m->gen->quarantine_maildir;
	set_reply(m, &dc);
	free(m->prepend);
	m->prepend = ms_buf_steal(&pre, &v->prepend_len);
	v->prepend = m->prepend != NULL ? m->prepend : "";
	if (m->prepend == NULL)
		v->prepend_len = 0;
	free(m->log);
	m->log = ms_buf_steal(&log, NULL);
	v->log = m->log != NULL ? m->log : "";
	v->spf = mailsec_spf_outcome(m->spf);
	v->dmarc = mailsec_dmarc_outcome(m->dmarc);
	pl_report_record(m);
}
