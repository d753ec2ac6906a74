/*
 * lib/report/write.c - DMARC aggregate reports written: the XML document
 * (RFC 9990 3.1 and its schema, namespace urn:ietf:params:xml:ns:
 * dmarc-2.0; or RFC 7489 appendix C), its gzip member (RFC 1952) and its
 * file name (RFC 9990 3.5.2).
 *
 * The XML is produced by hand: the model is flat, element order is fixed
 * by the schemas, and escaping is the only hard part. Every string goes
 * through xw_text(), which escapes the five specials (and CR, which a
 * parser would otherwise turn into LF) and writes U+FFFD for each byte
 * that does not start a well-formed UTF-8 sequence and for each
 * well-formed sequence that is not an XML 1.0 Char (section 2.2: the
 * controls, U+FFFE, U+FFFF), so the output is well-formed whatever the
 * model holds.
 *
 * What is written can always be read back (lib/report/parse.c): a
 * required string that is empty or white space only (the reader trims
 * it to nothing) and a count above the reader's bound are refused.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include <mailsec/report.h>

#include "core/core.h"
#include "report/report_int.h"
#include "report/write_int.h"

#define XW_NS		"urn:ietf:params:xml:ns:dmarc-2.0"
/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
#define XW_REPL		"\xef\xbf\xbd"

/* The writer: a sticky error, so element after element can be appended
 * and the result checked once. */
struct xw {
	struct ms_buf b;
	mailsec_err err;
	bool rfc7489;
};

static void
xw_raw(struct xw *w, const char *p, size_t n)
{
	if (w->err == MAILSEC_OK)
		w->err = ms_buf_append(&w->b, p, n);
}

static void
xw_rawz(struct xw *w, const char *s)
{
	xw_raw(w, s, strlen(s));
}

/* XML 1.0 2.2 Char, for a well-formed UTF-8 sequence of k bytes. */
static bool
xml_char_ok(const unsigned char *p, size_t k)
{
	if (k == 1)
		return p[0] >= 0x20 || p[0] == '\t' || p[0] == '\n' ||
		    p[0] == '\r';
	/* U+FFFE and U+FFFF; surrogates are not UTF-8 already */
	if (k == 3 && p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe)
		return false;
	return true;
}

/*
 * Why a required string is refused: ms_blank() said it is missing to a
 * reader, NULL or nothing but the white space the reader trims (XML 1.0
 * 2.3 S; CR too, which we write as &#13; and the reader gets back).
 */
static const char *
xw_blank_why(const char *s)
{
	return s == NULL ? "is required" : "is required (it is empty or "
	    "white space only)";
}

/* Character data: s escaped, invalid bytes replaced (one U+FFFD per
 * byte that starts no well-formed sequence, one per sequence that is
 * not an XML Char). */
MS_STATIC void
xw_text(struct xw *w, const char *s)
{
	size_t n = strlen(s), i = 0, k, run = 0;

	while (i < n && w->err == MAILSEC_OK) {
		const char *esc = NULL;

		k = mailsec_utf8_len(s + i, n - i);
		if (k == 0 || !xml_char_ok((const unsigned char *)s + i, k))
			esc = XW_REPL;
		else if (k == 1) {
			switch (s[i]) {
			case '&': esc = "&amp;"; break;
			case '<': esc = "&lt;"; break;
			case '>': esc = "&gt;"; break;
			case '"': esc = "&quot;"; break;
			case '\r': esc = "&#13;"; break;
			default: break;
			}
		}
		if (esc == NULL) {
			run += k;
			i += k;
			continue;
		}
		xw_raw(w, s + i - run, run);
		run = 0;
		xw_rawz(w, esc);
		i += k == 0 ? 1 : k;
	}
	xw_raw(w, s + i - run, run);
}

static void
xw_indent(struct xw *w, int depth)
{
	static const char sp[] = "                ";
	size_t n = (size_t)depth * 2;

	xw_raw(w, sp, n < sizeof sp - 1 ? n : sizeof sp - 1);
}

static void
xw_open(struct xw *w, int depth, const char *name)
{
	xw_indent(w, depth);
	xw_rawz(w, "<");
	xw_rawz(w, name);
	xw_rawz(w, ">\n");
}

static void
xw_close(struct xw *w, int depth, const char *name)
{
	xw_indent(w, depth);
	xw_rawz(w, "</");
	xw_rawz(w, name);
	xw_rawz(w, ">\n");
}

/* <name>escaped text</name> */
static void
xw_elem(struct xw *w, int depth, const char *name, const char *text)
{
	xw_indent(w, depth);
	xw_rawz(w, "<");
	xw_rawz(w, name);
	xw_rawz(w, ">");
	xw_text(w, text);
	xw_rawz(w, "</");
	xw_rawz(w, name);
	xw_rawz(w, ">\n");
}

/* <name>number</name> */
static void
xw_elem_u64(struct xw *w, int depth, const char *name, uint64_t v)
{
	char num[32];

	snprintf(num, sizeof num, "%" PRIu64, v);
	xw_elem(w, depth, name, num);
}

static void
xw_elem_i64(struct xw *w, int depth, const char *name, int64_t v)
{
	char num[32];

	snprintf(num, sizeof num, "%" PRId64, v);
	xw_elem(w, depth, name, num);
}

/* ---- names of the model's values, per format ------------------------- */

/* p, sp, np: DispositionType (both formats). */
static const char *
policy_name(enum mailsec_report_disp d)
{
	switch (d) {
	case MAILSEC_RDISP_NONE: return "none";
	case MAILSEC_RDISP_QUARANTINE: return "quarantine";
	case MAILSEC_RDISP_REJECT: return "reject";
	default: return NULL;
	}
}

/* policy_evaluated disposition: RFC 9990 ActionDispositionType adds
 * "pass"; RFC 7489 says "none" for a message nothing was done to. */
static const char *
action_name(enum mailsec_report_disp d, bool rfc7489)
{
	if (d == MAILSEC_RDISP_PASS)
		return rfc7489 ? "none" : "pass";
	return policy_name(d);
}

static const char *
align_name(enum mailsec_report_align a)
{
	switch (a) {
	case MAILSEC_RALIGN_RELAXED: return "r";
	case MAILSEC_RALIGN_STRICT: return "s";
	default: return NULL;
	}
}

static const char *
eval_name(enum mailsec_report_eval e)
{
	switch (e) {
	case MAILSEC_REVAL_PASS: return "pass";
	case MAILSEC_REVAL_FAIL: return "fail";
	default: return NULL;
	}
}

/* DKIMResultType (RFC 8601 2.7.1), the same in both schemas. */
static const char *
dkim_result_name(enum mailsec_report_result r)
{
	switch (r) {
	case MAILSEC_RRES_NONE: return "none";
	case MAILSEC_RRES_PASS: return "pass";
	case MAILSEC_RRES_FAIL: return "fail";
	case MAILSEC_RRES_POLICY: return "policy";
	case MAILSEC_RRES_NEUTRAL: return "neutral";
	case MAILSEC_RRES_TEMPERROR: return "temperror";
	case MAILSEC_RRES_PERMERROR: return "permerror";
	default: return NULL;
	}
}

/* SPFResultType: RFC 9990 adds softfail and policy to the DKIM words,
 * RFC 7489 softfail only. */
static const char *
spf_result_name(enum mailsec_report_result r, bool rfc7489)
{
	if (r == MAILSEC_RRES_SOFTFAIL)
		return "softfail";
	if (r == MAILSEC_RRES_POLICY && rfc7489)
		return NULL;
	return dkim_result_name(r);
}

/*
 * PolicyOverrideType. The formats share four; each has words the other
 * lacks, mapped to the nearest: RFC 7489 "forwarded" is RFC 9990
 * "local_policy" (lib/dmarc reports a trusted ARC chain that way),
 * RFC 7489 "sampled_out" (pct) and RFC 9990 "policy_test_mode" (t=y,
 * which replaced pct=0) stand for each other; an unknown word is "other".
 * NULL: absent, the reason is left out.
 */
static const char *
override_name(enum mailsec_report_override o, bool rfc7489)
{
	switch (o) {
	case MAILSEC_ROVR_LOCAL_POLICY: return "local_policy";
	case MAILSEC_ROVR_MAILING_LIST: return "mailing_list";
	case MAILSEC_ROVR_OTHER: return "other";
	case MAILSEC_ROVR_TRUSTED_FORWARDER: return "trusted_forwarder";
	case MAILSEC_ROVR_POLICY_TEST_MODE:
	case MAILSEC_ROVR_SAMPLED_OUT:
		return rfc7489 ? "sampled_out" : "policy_test_mode";
	case MAILSEC_ROVR_FORWARDED:
		return rfc7489 ? "forwarded" : "local_policy";
	case MAILSEC_ROVR_UNKNOWN: return "other";
	default: return NULL;
	}
}

/*
 * source_ip as the format wants it: validated as an IPv4 or IPv6
 * address; RFC 7489's IPAddress pattern only takes dotted quads and
 * eight full groups, so IPv6 is written uncompressed there.
 */
static bool
source_ip_text(const char *ip, bool rfc7489, char *out, size_t outsz)
{
	unsigned char a[16];
	size_t i;
	int k;

	if (inet_pton(AF_INET, ip, a) == 1) {
		k = snprintf(out, outsz, "%s", ip);
		return k > 0 && (size_t)k < outsz;
	}
	if (inet_pton(AF_INET6, ip, a) != 1)
		return false;
	if (!rfc7489) {
		k = snprintf(out, outsz, "%s", ip);
		return k > 0 && (size_t)k < outsz;
	}
	out[0] = '\0';
	for (i = 0; i < 8; i++) {
		size_t l = strlen(out);

		k = snprintf(out + l, outsz - l, "%s%x", i ? ":" : "",
		    (unsigned)(a[2 * i] << 8 | a[2 * i + 1]));
		if (k < 0 || (size_t)k >= outsz - l)
			return false;
	}
	return true;
}

/* ---- the document ------------------------------------------------------ */

static mailsec_err
write_metadata(struct xw *w, const struct mailsec_agg_report *r,
    struct mailsec_diag *diag)
{
	size_t i;

	if (ms_blank(r->org_name))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "report_metadata: "
		    "org_name %s", xw_blank_why(r->org_name));
	if (ms_blank(r->email))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "report_metadata: "
		    "email %s", xw_blank_why(r->email));
	if (ms_blank(r->report_id))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "report_metadata: "
		    "report_id %s", xw_blank_why(r->report_id));
	if (r->nerrors > 0 && r->errors == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "report_metadata: "
		    "%zu errors but no list", r->nerrors);
	if (r->nerrors > MAILSEC_REPORT_LIST_MAX)
		return ms_diag(diag, MAILSEC_ELIMIT, 0, 0, "report_metadata: "
		    "%zu errors (at most %d)", r->nerrors,
		    MAILSEC_REPORT_LIST_MAX);
	xw_open(w, 1, "report_metadata");
	xw_elem(w, 2, "org_name", r->org_name);
	xw_elem(w, 2, "email", r->email);
	if (r->extra_contact_info != NULL)
		xw_elem(w, 2, "extra_contact_info", r->extra_contact_info);
	xw_elem(w, 2, "report_id", r->report_id);
	xw_open(w, 2, "date_range");
	xw_elem_i64(w, 3, "begin", r->date_begin);
	xw_elem_i64(w, 3, "end", r->date_end);
	xw_close(w, 2, "date_range");
	if (w->rfc7489) {
		for (i = 0; i < r->nerrors; i++)
			if (r->errors[i] != NULL)
				xw_elem(w, 2, "error", r->errors[i]);
	} else if (r->nerrors > 0) {
		/* RFC 9990 3.1.1.3: one error element; several are joined */
		xw_indent(w, 2);
		xw_rawz(w, "<error>");
		for (i = 0; i < r->nerrors; i++) {
			if (r->errors[i] == NULL)
				continue;
			if (i > 0)
				xw_rawz(w, "; ");
			xw_text(w, r->errors[i]);
		}
		xw_rawz(w, "</error>\n");
	}
	if (!w->rfc7489 && r->generator != NULL)
		xw_elem(w, 2, "generator", r->generator);
	xw_close(w, 1, "report_metadata");
	return MAILSEC_OK;
}

static mailsec_err
write_policy(struct xw *w, const struct mailsec_agg_report *r,
    struct mailsec_diag *diag)
{
	const char *p = policy_name(r->p), *sp = policy_name(r->sp);
	const char *np = policy_name(r->np), *dm = NULL;
	char num[16];

	if (ms_blank(r->domain))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "policy_published: domain %s", xw_blank_why(r->domain));
	if (p == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "policy_published: "
		    "p is required (none, quarantine or reject)");
	if ((r->sp != MAILSEC_RDISP_ABSENT && sp == NULL) ||
	    (r->np != MAILSEC_RDISP_ABSENT && np == NULL))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "policy_published: "
		    "%s is not none, quarantine or reject", sp == NULL &&
		    r->sp != MAILSEC_RDISP_ABSENT ? "sp" : "np");
	if (w->rfc7489 && r->pct > 100)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "policy_published: "
		    "pct %d is above 100", r->pct);
	if (!w->rfc7489 && r->discovery_method != NULL) {
		size_t n = strlen(r->discovery_method);

		if (ms_ascii_eqz(r->discovery_method, n, "psl"))
			dm = "psl";
		else if (ms_ascii_eqz(r->discovery_method, n, "treewalk"))
			dm = "treewalk";
		else
			return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
			    "policy_published: discovery_method is neither "
			    "psl nor treewalk");
	}
	xw_open(w, 1, "policy_published");
	xw_elem(w, 2, "domain", r->domain);
	if (w->rfc7489) {
		/* appendix C: sp, pct and fo are required; the defaults of
		 * RFC 7489 6.3 stand in when the model has none */
		if (align_name(r->adkim) != NULL)
			xw_elem(w, 2, "adkim", align_name(r->adkim));
		if (align_name(r->aspf) != NULL)
			xw_elem(w, 2, "aspf", align_name(r->aspf));
		xw_elem(w, 2, "p", p);
		xw_elem(w, 2, "sp", sp != NULL ? sp : p);
		snprintf(num, sizeof num, "%d", r->pct >= 0 ? r->pct : 100);
		xw_elem(w, 2, "pct", num);
		xw_elem(w, 2, "fo", r->fo != NULL ? r->fo : "0");
	} else {
		if (dm != NULL)
			xw_elem(w, 2, "discovery_method", dm);
		xw_elem(w, 2, "p", p);
		if (sp != NULL)
			xw_elem(w, 2, "sp", sp);
		if (np != NULL)
			xw_elem(w, 2, "np", np);
		if (r->fo != NULL)
			xw_elem(w, 2, "fo", r->fo);
		if (align_name(r->adkim) != NULL)
			xw_elem(w, 2, "adkim", align_name(r->adkim));
		if (align_name(r->aspf) != NULL)
			xw_elem(w, 2, "aspf", align_name(r->aspf));
		xw_elem(w, 2, "testing", r->testing ? "y" : "n");
	}
	xw_close(w, 1, "policy_published");
	return MAILSEC_OK;
}

static mailsec_err
write_auth_results(struct xw *w, const struct mailsec_report_record *rec,
    size_t ri, struct mailsec_diag *diag)
{
	const struct mailsec_report_spf *mfrom = NULL;
	const char *res;
	size_t i, nmfrom = 0;

	for (i = 0; i < rec->ndkim; i++) {
		const struct mailsec_report_dkim *d = &rec->dkim_results[i];

		if (ms_blank(d->domain))
			return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "record %zu "
			    "dkim %zu: domain %s", ri + 1, i + 1,
			    xw_blank_why(d->domain));
		/* RFC 9990 requires it; RFC 7489 appendix C does not */
		if (!w->rfc7489 && ms_blank(d->selector))
			return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "record %zu "
			    "dkim %zu: selector %s", ri + 1, i + 1,
			    xw_blank_why(d->selector));
		if (dkim_result_name(d->result) == NULL)
			return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "record %zu "
			    "dkim %zu: the result has no name in the schema "
			    "(none, pass, fail, policy, neutral, temperror, "
			    "permerror)", ri + 1, i + 1);
	}
	for (i = 0; i < rec->nspf; i++) {
		const struct mailsec_report_spf *s = &rec->spf_results[i];

		if (ms_blank(s->domain))
			return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "record %zu "
			    "spf %zu: domain %s", ri + 1, i + 1,
			    xw_blank_why(s->domain));
		if (spf_result_name(s->result, w->rfc7489) == NULL)
			return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "record %zu "
			    "spf %zu: the result has no name in the %s schema",
			    ri + 1, i + 1, w->rfc7489 ? "RFC 7489" :
			    "RFC 9990");
		if (!s->helo) {
			nmfrom++;
			mfrom = s;
		}
	}
	if (w->rfc7489 && rec->nspf == 0)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "record %zu: RFC "
		    "7489 requires an spf result", ri + 1);
	/* RFC 9990 3.1.1.13: one result, of the MAIL FROM identity */
	if (!w->rfc7489 && nmfrom > 1)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "record %zu: RFC "
		    "9990 allows one spf result (scope mfrom), not %zu",
		    ri + 1, nmfrom);

	xw_open(w, 2, "auth_results");
	for (i = 0; i < rec->ndkim; i++) {
		const struct mailsec_report_dkim *d = &rec->dkim_results[i];

		xw_open(w, 3, "dkim");
		xw_elem(w, 4, "domain", d->domain);
		if (d->selector != NULL)
			xw_elem(w, 4, "selector", d->selector);
		xw_elem(w, 4, "result", dkim_result_name(d->result));
		if (d->human_result != NULL)
			xw_elem(w, 4, "human_result", d->human_result);
		xw_close(w, 3, "dkim");
	}
	for (i = 0; i < rec->nspf; i++) {
		const struct mailsec_report_spf *s = &rec->spf_results[i];

		if (!w->rfc7489 && s != mfrom)
			continue;
		res = spf_result_name(s->result, w->rfc7489);
		xw_open(w, 3, "spf");
		xw_elem(w, 4, "domain", s->domain);
		xw_elem(w, 4, "scope", s->helo ? "helo" : "mfrom");
		xw_elem(w, 4, "result", res);
		if (!w->rfc7489 && s->human_result != NULL)
			xw_elem(w, 4, "human_result", s->human_result);
		xw_close(w, 3, "spf");
	}
	xw_close(w, 2, "auth_results");
	return MAILSEC_OK;
}

static mailsec_err
write_record(struct xw *w, const struct mailsec_report_record *rec,
    size_t ri, struct mailsec_diag *diag)
{
	const char *disp = action_name(rec->disposition, w->rfc7489);
	const char *dk = eval_name(rec->dkim), *sp = eval_name(rec->spf);
	char ip[64];
	size_t i;
	mailsec_err err;

	if (rec->source_ip == NULL || !source_ip_text(rec->source_ip,
	    w->rfc7489, ip, sizeof ip))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "record %zu: "
		    "source_ip is %s", ri + 1, rec->source_ip == NULL ?
		    "required" : "not an IPv4 or IPv6 address");
	/* the reader leaves such a record out (MS_REPORT_COUNT_MAX) */
	if (rec->count > MS_REPORT_COUNT_MAX)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "record %zu: "
		    "count %" PRIu64 " is above %" PRIu64 ", the most a "
		    "reader takes", ri + 1, rec->count, MS_REPORT_COUNT_MAX);
	if (disp == NULL || dk == NULL || sp == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "record %zu: "
		    "policy_evaluated %s is required", ri + 1, disp == NULL ?
		    "disposition" : dk == NULL ? "dkim" : "spf");
	if (ms_blank(rec->header_from))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "record %zu: "
		    "header_from %s", ri + 1, xw_blank_why(rec->header_from));
	if (rec->nreasons > MAILSEC_REPORT_LIST_MAX ||
	    rec->ndkim > MAILSEC_REPORT_LIST_MAX ||
	    rec->nspf > MAILSEC_REPORT_LIST_MAX)
		return ms_diag(diag, MAILSEC_ELIMIT, 0, 0, "record %zu: more "
		    "than %d reasons or results", ri + 1,
		    MAILSEC_REPORT_LIST_MAX);
	if ((rec->nreasons > 0 && rec->reasons == NULL) ||
	    (rec->ndkim > 0 && rec->dkim_results == NULL) ||
	    (rec->nspf > 0 && rec->spf_results == NULL))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "record %zu: a "
		    "count without its list", ri + 1);

	xw_open(w, 1, "record");
	xw_open(w, 2, "row");
	xw_elem(w, 3, "source_ip", ip);
	xw_elem_u64(w, 3, "count", rec->count);
	xw_open(w, 3, "policy_evaluated");
	xw_elem(w, 4, "disposition", disp);
	xw_elem(w, 4, "dkim", dk);
	xw_elem(w, 4, "spf", sp);
	for (i = 0; i < rec->nreasons; i++) {
		const struct mailsec_report_reason *rs = &rec->reasons[i];
		const char *t = override_name(rs->type, w->rfc7489);

		if (t == NULL)
			continue;
		xw_open(w, 4, "reason");
		xw_elem(w, 5, "type", t);
		if (rs->comment != NULL)
			xw_elem(w, 5, "comment", rs->comment);
		xw_close(w, 4, "reason");
	}
	xw_close(w, 3, "policy_evaluated");
	xw_close(w, 2, "row");
	xw_open(w, 2, "identifiers");
	if (rec->envelope_to != NULL)
		xw_elem(w, 3, "envelope_to", rec->envelope_to);
	/* appendix C requires envelope_from; empty is the null path */
	if (rec->envelope_from != NULL || w->rfc7489)
		xw_elem(w, 3, "envelope_from", rec->envelope_from != NULL ?
		    rec->envelope_from : "");
	xw_elem(w, 3, "header_from", rec->header_from);
	xw_close(w, 2, "identifiers");
	if ((err = write_auth_results(w, rec, ri, diag)) != MAILSEC_OK)
		return err;
	xw_close(w, 1, "record");
	return MAILSEC_OK;
}

mailsec_err
mailsec_agg_report_write(const struct mailsec_agg_report *r,
    enum mailsec_report_format format, char **out, size_t *outlen,
    struct mailsec_diag *diag)
{
	struct xw w;
	size_t i;
	mailsec_err err;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (r == NULL || out == NULL || outlen == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "no report");
	if (format == MAILSEC_REPORT_FMT_UNKNOWN)
		format = r->format;
	if (r->nrecords == 0 || r->records == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "a report needs "
		    "at least one record (RFC 9990 3.1.1.2)");
	if (r->nrecords > MAILSEC_REPORT_RECORDS_MAX)
		return ms_diag(diag, MAILSEC_ELIMIT, 0, 0, "%zu records (at "
		    "most %d)", r->nrecords, MAILSEC_REPORT_RECORDS_MAX);

	ms_buf_init(&w.b, MAILSEC_REPORT_XML_MAX);
	w.err = MAILSEC_OK;
	w.rfc7489 = format == MAILSEC_REPORT_FMT_RFC7489;
	xw_rawz(&w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	xw_rawz(&w, w.rfc7489 ? "<feedback>\n" :
	    "<feedback xmlns=\"" XW_NS "\">\n");
	/* RFC 9990 3.1.1.2: "MUST have the value 1.0"; appendix C too */
	xw_elem(&w, 1, "version", "1.0");
	if ((err = write_metadata(&w, r, diag)) != MAILSEC_OK ||
	    (err = write_policy(&w, r, diag)) != MAILSEC_OK)
		goto done;
	for (i = 0; i < r->nrecords && w.err == MAILSEC_OK; i++)
		if ((err = write_record(&w, &r->records[i], i, diag)) !=
		    MAILSEC_OK)
			goto done;
	xw_rawz(&w, "</feedback>\n");
	if ((err = w.err) != MAILSEC_OK) {
		ms_diag(diag, err, 0, 0, "report XML: %s",
		    err == MAILSEC_ELIMIT ? "larger than "
		    "MAILSEC_REPORT_XML_MAX" : mailsec_strerror(err));
		goto done;
	}
	if ((*out = ms_buf_steal(&w.b, outlen)) == NULL)
		err = MAILSEC_ENOMEM;
done:
	ms_buf_free(&w.b);
	return err;
}

/* ---- gzip -------------------------------------------------------------- */

mailsec_err
mailsec_report_gzip(const void *in, size_t len, void **out, size_t *outlen)
{
	z_stream z;
	unsigned char *buf = NULL;
	uLong bound;
	mailsec_err err = MAILSEC_OK;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if ((in == NULL && len > 0) || out == NULL || outlen == NULL)
		return MAILSEC_EINVAL;
	if (len > MAILSEC_REPORT_XML_MAX)
		return MAILSEC_ELIMIT;
	memset(&z, 0, sizeof z);
	/* windowBits 15 + 16: a gzip wrapper with a default header (no
	 * name, mtime 0, OS unknown) */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return MAILSEC_ENOMEM;
	bound = deflateBound(&z, (uLong)len);
	if ((buf = malloc(bound > 0 ? bound : 1)) == NULL) {
		err = MAILSEC_ENOMEM;
		goto done;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)bound;
	rc = deflate(&z, Z_FINISH);
	if (rc != Z_STREAM_END) {
		err = rc == Z_MEM_ERROR ? MAILSEC_ENOMEM : MAILSEC_EIO;
		goto done;
	}
	*out = buf;
	*outlen = z.total_out;
	buf = NULL;
done:
	deflateEnd(&z);
	free(buf);
	return err;
}

/* ---- file name --------------------------------------------------------- */

/* (p, *n) a domain name (final dot dropped from *n)? */
static bool
fn_domain(const char *p, size_t *n)
{
	if (*n > 0 && p[*n - 1] == '.')
		(*n)--;
	return ms_domain_ldh_ok(p, *n, false);
}

mailsec_err
mailsec_agg_report_filename(const struct mailsec_agg_report *r,
    const char *receiver, char *buf, size_t bufsz)
{
	char uid[MAILSEC_REPORT_UID_MAX + 1];
	size_t rl, dl, i, u = 0;
	int k;

	if (buf != NULL && bufsz > 0)
		buf[0] = '\0';
	if (r == NULL || receiver == NULL || buf == NULL || bufsz == 0 ||
	    r->domain == NULL)
		return MAILSEC_EINVAL;
	rl = strlen(receiver);
	dl = strlen(r->domain);
	if (!fn_domain(receiver, &rl) || !fn_domain(r->domain, &dl) ||
	    r->date_begin < 0 || r->date_end < 0)
		return MAILSEC_EINVAL;
	/* unique-id = 1*(ALPHA / DIGIT): nothing else is file-name safe
	 * everywhere ('/', '!', '.' and controls least of all) */
	for (i = 0; r->report_id != NULL && r->report_id[i] != '\0' &&
	    u < MAILSEC_REPORT_UID_MAX; i++)
		if (ms_isalnum((unsigned char)r->report_id[i]))
			uid[u++] = r->report_id[i];
	uid[u] = '\0';
	k = snprintf(buf, bufsz, "%.*s!%.*s!%" PRId64 "!%" PRId64 "%s%s.xml.gz",
	    (int)rl, receiver, (int)dl, r->domain, r->date_begin, r->date_end,
	    u > 0 ? "!" : "", uid);
	if (k < 0 || (size_t)k >= bufsz) {
		buf[0] = '\0';
		return MAILSEC_ELIMIT;
	}
	return MAILSEC_OK;
}
