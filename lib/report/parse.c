/*
 * lib/report/parse.c - the DMARC aggregate report reader: one XML
 * document (RFC 9990 3 and its schema; RFC 7489 appendix C; the drafts
 * in between) into struct mailsec_agg_report.
 *
 * libxml2 builds a DOM (no network, no DTD loading, no entity
 * substitution; a document with a DOCTYPE is refused outright, so no
 * entity, internal or external, is ever expanded). Elements are matched
 * by local name, so every namespace (none, dmarc-xml/0.1, 0.2, the
 * dmarc-2.0 URN) reads the same. When the strict parse fails, one
 * recovering parse is tried (invalid UTF-8 replaced by U+FFFD first); its
 * result is kept only when it holds everything a report needs, with the
 * same checks as a well-formed one (docs/reports.md, "Reading reports").
 * A record that cannot be read is left out and named in the report's
 * warnings; the document stands as long as one record could be read.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlversion.h>

#include <mailsec/report.h>

#include "core/core.h"
#include "report/report_int.h"

#define XML_OPTS	(XML_PARSE_NONET | XML_PARSE_NOERROR | \
			 XML_PARSE_NOWARNING | XML_PARSE_NOCDATA | \
			 XML_PARSE_BIG_LINES)

struct pctx {
	struct mailsec_diag *diag;
	struct mailsec_agg_report *r;
	/* The record being read cannot be: why (set by skip()). */
	bool skip;
	char why[sizeof(((struct mailsec_diag *)NULL)->text)];
	size_t more;			/* skipped beyond the warnings kept */
	size_t first_line;		/* of the first skipped record */
};

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void
xml_init(void)
{
	xmlInitParser();
}

static bool
is_xml_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_elem(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0;
}

static xmlNode *
child(const xmlNode *parent, const char *name)
{
	xmlNode *c;

	if (parent == NULL)
		return NULL;
	for (c = parent->children; c != NULL; c = c->next)
		if (is_elem(c, name))
			return c;
	return NULL;
}

static long
node_line(const xmlNode *n)
{
	return n != NULL ? xmlGetLineNo(n) : 0;
}

/* Fails with diag naming the element's line. */
static mailsec_err
fail(struct pctx *pc, mailsec_err err, const xmlNode *n, const char *fmt,
    ...) MS_PRINTF(4, 5);

static mailsec_err
fail(struct pctx *pc, mailsec_err err, const xmlNode *n, const char *fmt,
    ...)
{
	char text[sizeof pc->diag->text];
	va_list ap;
	long line = node_line(n);

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	return ms_diag(pc->diag, err, 0, line > 0 ? (size_t)line : 0, "%s",
	    text);
}

/*
 * The record being read (the idx-th <record>, 1-based) cannot be read:
 * the reason, naming the record and element n's line, goes to pc->why and
 * the record is left out (build()). Returns MAILSEC_ESYNTAX.
 */
static mailsec_err
skip(struct pctx *pc, size_t idx, const xmlNode *n, const char *fmt, ...)
    MS_PRINTF(4, 5);

static mailsec_err
skip(struct pctx *pc, size_t idx, const xmlNode *n, const char *fmt, ...)
{
	va_list ap;
	long line = node_line(n);
	int k;

	if (line > 0)
		k = snprintf(pc->why, sizeof pc->why, "record %zu (line %ld): ",
		    idx, line);
	else
		k = snprintf(pc->why, sizeof pc->why, "record %zu: ", idx);
	if (k < 0 || (size_t)k >= sizeof pc->why)
		k = 0;
	va_start(ap, fmt);
	vsnprintf(pc->why + k, sizeof pc->why - (size_t)k, fmt, ap);
	va_end(ap);
	pc->skip = true;
	if (pc->first_line == 0 && line > 0)
		pc->first_line = (size_t)line;
	return MAILSEC_ESYNTAX;
}

/*
 * The text of element n: its text and CDATA children (entity references
 * and nested elements left out), surrounding white space trimmed.
 * *out: malloc'd ("" when empty).
 */
static mailsec_err
node_text(struct pctx *pc, const xmlNode *n, char **out)
{
	struct ms_buf b;
	const xmlNode *c;
	const char *s;
	size_t len, i, j;
	mailsec_err err;

	*out = NULL;
	ms_buf_init(&b, MS_REPORT_TEXT_MAX);
	for (c = n->children; c != NULL; c = c->next) {
		if ((c->type != XML_TEXT_NODE &&
		    c->type != XML_CDATA_SECTION_NODE) || c->content == NULL)
			continue;
		err = ms_buf_appendz(&b, (const char *)c->content);
		if (err == MAILSEC_ELIMIT)
			return fail(pc, err, n, "<%s>: text longer than %zu "
			    "bytes", (const char *)n->name,
			    (size_t)MS_REPORT_TEXT_MAX);
		if (err != MAILSEC_OK)
			return err;
	}
	s = b.ptr != NULL ? b.ptr : "";
	len = b.len;
	for (i = 0; i < len && is_xml_ws((unsigned char)s[i]); i++)
		;
	for (j = len; j > i && is_xml_ws((unsigned char)s[j - 1]); j--)
		;
	*out = ms_memdupz(s + i, j - i);
	ms_buf_free(&b);
	return *out != NULL ? MAILSEC_OK : MAILSEC_ENOMEM;
}

/* The text of parent's first child element name into *out; *out stays
 * NULL when there is none (or "" when required). */
static mailsec_err
field(struct pctx *pc, const xmlNode *parent, const char *name,
    bool required, char **out)
{
	const xmlNode *n = child(parent, name);

	if (n == NULL) {
		if (!required)
			return MAILSEC_OK;
		*out = ms_memdupz("", 0);
		return *out != NULL ? MAILSEC_OK : MAILSEC_ENOMEM;
	}
	return node_text(pc, n, out);
}

/* An unsigned decimal of at most max; false otherwise. */
static bool
parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t n = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!ms_isdigit((unsigned char)*s))
			return false;
		if (n > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*v = n;
	return true;
}

/* A date (xs:integer Unix time): optional sign, digits. */
static mailsec_err
date_field(struct pctx *pc, const xmlNode *range, const char *name,
    int64_t *out)
{
	const xmlNode *n = child(range, name);
	char *s = NULL, *p, *frac;
	uint64_t v;
	bool neg;
	mailsec_err err;

	*out = 0;
	if (n == NULL)
		return MAILSEC_OK;
	if ((err = node_text(pc, n, &s)) != MAILSEC_OK)
		return err;
	p = s;
	neg = *p == '-';
	if (*p == '-' || *p == '+')
		p++;
	/* Some reporters (NetEase) write "1337270400.0": the fraction of a
	 * second is dropped. */
	frac = strchr(p, '.');
	if (frac != NULL && frac[1] != '\0' &&
	    strspn(frac + 1, "0123456789") == strlen(frac + 1))
		*frac = '\0';
	if (!parse_u64(p, INT64_MAX, &v))
		err = fail(pc, MAILSEC_ESYNTAX, n, "<date_range><%s> \"%.40s\" "
		    "is not an integer", name, s);
	else
		*out = neg ? -(int64_t)v : (int64_t)v;
	free(s);
	return err;
}

struct word {
	const char *w;
	int v;
};

/* The value of word s (ASCII case-insensitive), or dflt. */
static int
lookup(const struct word *t, size_t n, const char *s, int dflt)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ms_ascii_eqz(s, strlen(s), t[i].w))
			return t[i].v;
	return dflt;
}

static const struct word disp_words[] = {
	{ "none", MAILSEC_RDISP_NONE },
	{ "quarantine", MAILSEC_RDISP_QUARANTINE },
	{ "reject", MAILSEC_RDISP_REJECT },
	{ "pass", MAILSEC_RDISP_PASS },
};
static const struct word align_words[] = {
	{ "r", MAILSEC_RALIGN_RELAXED },
	{ "s", MAILSEC_RALIGN_STRICT },
	{ "relaxed", MAILSEC_RALIGN_RELAXED },
	{ "strict", MAILSEC_RALIGN_STRICT },
};
static const struct word eval_words[] = {
	{ "pass", MAILSEC_REVAL_PASS },
	{ "fail", MAILSEC_REVAL_FAIL },
};
static const struct word result_words[] = {
	{ "none", MAILSEC_RRES_NONE },
	{ "pass", MAILSEC_RRES_PASS },
	{ "fail", MAILSEC_RRES_FAIL },
	{ "softfail", MAILSEC_RRES_SOFTFAIL },
	{ "policy", MAILSEC_RRES_POLICY },
	{ "neutral", MAILSEC_RRES_NEUTRAL },
	{ "temperror", MAILSEC_RRES_TEMPERROR },
	{ "permerror", MAILSEC_RRES_PERMERROR },
};
static const struct word override_words[] = {
	{ "local_policy", MAILSEC_ROVR_LOCAL_POLICY },
	{ "mailing_list", MAILSEC_ROVR_MAILING_LIST },
	{ "other", MAILSEC_ROVR_OTHER },
	{ "policy_test_mode", MAILSEC_ROVR_POLICY_TEST_MODE },
	{ "trusted_forwarder", MAILSEC_ROVR_TRUSTED_FORWARDER },
	{ "forwarded", MAILSEC_ROVR_FORWARDED },
	{ "sampled_out", MAILSEC_ROVR_SAMPLED_OUT },
};

/*
 * An enumerated element: absent or empty is the zero value; an unknown
 * word is unknown (or the zero value for enums without one). With raw,
 * an unknown word's text is handed to the caller there.
 */
static mailsec_err
enum_field_raw(struct pctx *pc, const xmlNode *parent, const char *name,
    const struct word *t, size_t n, int unknown, int *out, char **raw)
{
	const xmlNode *e = child(parent, name);
	char *s = NULL;
	mailsec_err err;

	*out = 0;
	if (e == NULL)
		return MAILSEC_OK;
	if ((err = node_text(pc, e, &s)) != MAILSEC_OK)
		return err;
	if (*s != '\0')
		*out = lookup(t, n, s, unknown);
	if (raw != NULL && *s != '\0' && *out == unknown)
		*raw = s;
	else
		free(s);
	return MAILSEC_OK;
}

static mailsec_err
enum_field(struct pctx *pc, const xmlNode *parent, const char *name,
    const struct word *t, size_t n, int unknown, int *out)
{
	return enum_field_raw(pc, parent, name, t, n, unknown, out, NULL);
}

/* Appends a zeroed element to *arr (*n of them), at most max. */
static void *
grow(void **arr, size_t *n, size_t *cap, size_t size, size_t max)
{
	void *p;
	size_t ncap;

	if (*n >= max)
		return NULL;
	if (*n == *cap) {
		ncap = *cap == 0 ? 4 : *cap * 2;
		if (ncap > max)
			ncap = max;
		p = ms_reallocarray(*arr, ncap, size);
		if (p == NULL)
			return NULL;
		*arr = p;
		*cap = ncap;
	}
	p = (char *)*arr + *n * size;
	memset(p, 0, size);
	(*n)++;
	return p;
}

#define GROW(arr, n, cap, max, what, node)				\
	do {								\
		if ((n) >= (max))					\
			return fail(pc, MAILSEC_ELIMIT, (node),		\
			    "more than %zu %s", (size_t)(max), (what));	\
		if (grow((void **)&(arr), &(n), &(cap), sizeof(*(arr)),	\
		    (max)) == NULL)					\
			return MAILSEC_ENOMEM;				\
	} while (0)

static mailsec_err
parse_result(struct pctx *pc, const xmlNode *n,
    enum mailsec_report_result *res, char **raw)
{
	int v;
	mailsec_err err;

	err = enum_field_raw(pc, n, "result", result_words,
	    MS_ARRAY_LEN(result_words), MAILSEC_RRES_UNKNOWN, &v, raw);
	*res = (enum mailsec_report_result)v;
	return err;
}

static mailsec_err
parse_auth(struct pctx *pc, const xmlNode *auth,
    struct mailsec_report_record *rec)
{
	const xmlNode *c;
	size_t dcap = 0, scap = 0;
	mailsec_err err;
	char *scope;

	for (c = auth != NULL ? auth->children : NULL; c != NULL;
	    c = c->next) {
		if (is_elem(c, "dkim")) {
			struct mailsec_report_dkim *d;

			GROW(rec->dkim_results, rec->ndkim, dcap,
			    MAILSEC_REPORT_LIST_MAX, "DKIM results", c);
			d = &rec->dkim_results[rec->ndkim - 1];
			if ((err = field(pc, c, "domain", true,
			    &d->domain)) != MAILSEC_OK ||
			    (err = field(pc, c, "selector", false,
			    &d->selector)) != MAILSEC_OK ||
			    (err = parse_result(pc, c, &d->result,
			    &d->raw_result)) != MAILSEC_OK ||
			    (err = field(pc, c, "human_result", false,
			    &d->human_result)) != MAILSEC_OK)
				return err;
		} else if (is_elem(c, "spf")) {
			struct mailsec_report_spf *s;

			GROW(rec->spf_results, rec->nspf, scap,
			    MAILSEC_REPORT_LIST_MAX, "SPF results", c);
			s = &rec->spf_results[rec->nspf - 1];
			scope = NULL;
			if ((err = field(pc, c, "domain", true,
			    &s->domain)) != MAILSEC_OK ||
			    (err = field(pc, c, "scope", false,
			    &scope)) != MAILSEC_OK ||
			    (err = parse_result(pc, c, &s->result,
			    &s->raw_result)) != MAILSEC_OK ||
			    (err = field(pc, c, "human_result", false,
			    &s->human_result)) != MAILSEC_OK) {
				free(scope);
				return err;
			}
			s->helo = scope != NULL &&
			    ms_ascii_eqz(scope, strlen(scope), "helo");
			free(scope);
		}
	}
	return MAILSEC_OK;
}

static mailsec_err
parse_row(struct pctx *pc, const xmlNode *recnode, size_t idx,
    struct mailsec_report_record *rec)
{
	const xmlNode *row = child(recnode, "row"), *pe, *c, *n;
	unsigned char addr[16];
	size_t rcap = 0;
	char *s = NULL;
	int v;
	mailsec_err err;

	if (row == NULL)
		return skip(pc, idx, recnode, "no <row>");
	if ((n = child(row, "source_ip")) == NULL)
		return skip(pc, idx, row, "no <source_ip>");
	if ((err = node_text(pc, n, &rec->source_ip)) != MAILSEC_OK)
		return err;
	if (inet_pton(AF_INET, rec->source_ip, addr) != 1 &&
	    inet_pton(AF_INET6, rec->source_ip, addr) != 1)
		return skip(pc, idx, n, "source_ip '%.60s' is not an IP "
		    "address", rec->source_ip);
	if ((n = child(row, "count")) == NULL)
		return skip(pc, idx, row, "no <count>");
	if ((err = node_text(pc, n, &s)) != MAILSEC_OK)
		return err;
	if (!parse_u64(s, MS_REPORT_COUNT_MAX, &rec->count)) {
		err = skip(pc, idx, n, "count '%.40s' is not a number up to "
		    "10^12", s);
		free(s);
		return err;
	}
	free(s);

	pe = child(row, "policy_evaluated");
	if ((err = enum_field(pc, pe, "disposition", disp_words,
	    MS_ARRAY_LEN(disp_words), 0, &v)) != MAILSEC_OK)
		return err;
	rec->disposition = (enum mailsec_report_disp)v;
	if ((err = enum_field(pc, pe, "dkim", eval_words,
	    MS_ARRAY_LEN(eval_words), 0, &v)) != MAILSEC_OK)
		return err;
	rec->dkim = (enum mailsec_report_eval)v;
	if ((err = enum_field(pc, pe, "spf", eval_words,
	    MS_ARRAY_LEN(eval_words), 0, &v)) != MAILSEC_OK)
		return err;
	rec->spf = (enum mailsec_report_eval)v;
	for (c = pe != NULL ? pe->children : NULL; c != NULL; c = c->next) {
		struct mailsec_report_reason *rr;

		if (!is_elem(c, "reason"))
			continue;
		GROW(rec->reasons, rec->nreasons, rcap,
		    MAILSEC_REPORT_LIST_MAX, "reasons in a record", c);
		rr = &rec->reasons[rec->nreasons - 1];
		/* An empty <type> (parsedmarc's empty_reason sample) is
		 * ABSENT, an unknown word UNKNOWN. */
		if ((err = enum_field(pc, c, "type", override_words,
		    MS_ARRAY_LEN(override_words), MAILSEC_ROVR_UNKNOWN,
		    &v)) != MAILSEC_OK)
			return err;
		rr->type = (enum mailsec_report_override)v;
		if ((err = field(pc, c, "comment", false, &rr->comment)) !=
		    MAILSEC_OK)
			return err;
	}
	return MAILSEC_OK;
}

static mailsec_err
parse_record(struct pctx *pc, const xmlNode *recnode, size_t idx,
    struct mailsec_report_record *rec)
{
	const xmlNode *ids;
	mailsec_err err;

	if ((err = parse_row(pc, recnode, idx, rec)) != MAILSEC_OK)
		return err;
	ids = child(recnode, "identifiers");
	if ((err = field(pc, ids, "header_from", true,
	    &rec->header_from)) != MAILSEC_OK ||
	    (err = field(pc, ids, "envelope_from", false,
	    &rec->envelope_from)) != MAILSEC_OK ||
	    (err = field(pc, ids, "envelope_to", false,
	    &rec->envelope_to)) != MAILSEC_OK)
		return err;
	return parse_auth(pc, child(recnode, "auth_results"), rec);
}

static mailsec_err
parse_metadata(struct pctx *pc, const xmlNode *fb)
{
	struct mailsec_agg_report *r = pc->r;
	const xmlNode *md = child(fb, "report_metadata"), *range, *c;
	size_t ecap = 0;
	mailsec_err err;

	if (md == NULL)
		return fail(pc, MAILSEC_ESYNTAX, fb, "no <report_metadata>");
	if ((err = field(pc, md, "org_name", true, &r->org_name)) !=
	    MAILSEC_OK ||
	    (err = field(pc, md, "email", true, &r->email)) != MAILSEC_OK ||
	    (err = field(pc, md, "extra_contact_info", false,
	    &r->extra_contact_info)) != MAILSEC_OK ||
	    (err = field(pc, md, "report_id", true, &r->report_id)) !=
	    MAILSEC_OK ||
	    (err = field(pc, md, "generator", false, &r->generator)) !=
	    MAILSEC_OK)
		return err;
	range = child(md, "date_range");
	if ((err = date_field(pc, range, "begin", &r->date_begin)) !=
	    MAILSEC_OK ||
	    (err = date_field(pc, range, "end", &r->date_end)) != MAILSEC_OK)
		return err;
	for (c = md->children; c != NULL; c = c->next) {
		if (!is_elem(c, "error"))
			continue;
		GROW(r->errors, r->nerrors, ecap, MAILSEC_REPORT_LIST_MAX,
		    "<error> elements", c);
		if ((err = node_text(pc, c, &r->errors[r->nerrors - 1])) !=
		    MAILSEC_OK)
			return err;
	}
	return MAILSEC_OK;
}

static mailsec_err
parse_policy(struct pctx *pc, const xmlNode *fb)
{
	struct mailsec_agg_report *r = pc->r;
	const xmlNode *pp = child(fb, "policy_published"), *n;
	char *s = NULL;
	uint64_t pct;
	int v;
	mailsec_err err;

	if (pp == NULL)
		return fail(pc, MAILSEC_ESYNTAX, fb, "no <policy_published>");
	if ((n = child(pp, "domain")) == NULL)
		return fail(pc, MAILSEC_ESYNTAX, pp, "<policy_published> has "
		    "no <domain>");
	if ((err = node_text(pc, n, &r->domain)) != MAILSEC_OK)
		return err;
	if (r->domain[0] == '\0')
		return fail(pc, MAILSEC_ESYNTAX, n, "<policy_published> "
		    "<domain> is empty");
	if ((err = enum_field(pc, pp, "adkim", align_words,
	    MS_ARRAY_LEN(align_words), 0, &v)) != MAILSEC_OK)
		return err;
	r->adkim = (enum mailsec_report_align)v;
	if ((err = enum_field(pc, pp, "aspf", align_words,
	    MS_ARRAY_LEN(align_words), 0, &v)) != MAILSEC_OK)
		return err;
	r->aspf = (enum mailsec_report_align)v;
	/* p, sp, np take DispositionType: none/quarantine/reject. */
	if ((err = enum_field(pc, pp, "p", disp_words, 3, 0, &v)) !=
	    MAILSEC_OK)
		return err;
	r->p = (enum mailsec_report_disp)v;
	if ((err = enum_field(pc, pp, "sp", disp_words, 3, 0, &v)) !=
	    MAILSEC_OK)
		return err;
	r->sp = (enum mailsec_report_disp)v;
	if ((err = enum_field(pc, pp, "np", disp_words, 3, 0, &v)) !=
	    MAILSEC_OK)
		return err;
	r->np = (enum mailsec_report_disp)v;
	r->pct = -1;
	if ((n = child(pp, "pct")) != NULL) {
		if ((err = node_text(pc, n, &s)) != MAILSEC_OK)
			return err;
		if (*s != '\0') {
			if (!parse_u64(s, 100, &pct)) {
				err = fail(pc, MAILSEC_ESYNTAX, n, "<pct> "
				    "\"%.40s\" is not 0..100", s);
				free(s);
				return err;
			}
			r->pct = (int)pct;
		}
		free(s);
		s = NULL;
	}
	if ((err = field(pc, pp, "fo", false, &r->fo)) != MAILSEC_OK ||
	    (err = field(pc, pp, "discovery_method", false,
	    &r->discovery_method)) != MAILSEC_OK ||
	    (err = field(pc, pp, "testing", false, &s)) != MAILSEC_OK)
		return err;
	r->testing = s != NULL && ms_ascii_eqz(s, strlen(s), "y");
	free(s);
	return MAILSEC_OK;
}

/* <feedback>: the root, or below a stray wrapper element. */
static const xmlNode *
find_feedback(const xmlNode *n, int depth)
{
	const xmlNode *c, *f;

	if (n == NULL || n->type != XML_ELEMENT_NODE)
		return NULL;
	if (is_elem(n, "feedback"))
		return n;
	if (depth >= MS_REPORT_WRAP_DEPTH)
		return NULL;
	for (c = n->children; c != NULL; c = c->next)
		if ((f = find_feedback(c, depth + 1)) != NULL)
			return f;
	return NULL;
}

/* Appends a copy of text to r's warnings. */
static mailsec_err
add_warning(struct mailsec_agg_report *r, const char *text)
{
	char **w;

	w = ms_reallocarray(r->warnings, r->nwarnings + 1, sizeof *w);
	if (w == NULL)
		return MAILSEC_ENOMEM;
	r->warnings = w;
	if ((w[r->nwarnings] = ms_memdupz(text, strlen(text))) == NULL)
		return MAILSEC_ENOMEM;
	r->nwarnings++;
	return MAILSEC_OK;
}

/*
 * The records of <feedback>: each one read, or left out when it cannot
 * be (pc->skip), its reason kept as a warning while fewer than
 * MAILSEC_REPORT_LIST_MAX are, then counted in one last warning. When
 * there are records and none can be read, the document is refused.
 */
static mailsec_err
build_records(struct pctx *pc, const xmlNode *fb)
{
	struct mailsec_agg_report *r = pc->r;
	const xmlNode *c;
	size_t cap = 0, seen = 0;
	char text[sizeof pc->why];
	mailsec_err err;

	for (c = fb->children; c != NULL; c = c->next) {
		if (!is_elem(c, "record"))
			continue;
		if (seen >= MAILSEC_REPORT_RECORDS_MAX)
			return fail(pc, MAILSEC_ELIMIT, c, "more than %zu "
			    "records", (size_t)MAILSEC_REPORT_RECORDS_MAX);
		seen++;
		GROW(r->records, r->nrecords, cap, MAILSEC_REPORT_RECORDS_MAX,
		    "records", c);
		err = parse_record(pc, c, seen, &r->records[r->nrecords - 1]);
		if (err == MAILSEC_ESYNTAX && pc->skip) {
			pc->skip = false;
			ms_report_record_clear(&r->records[--r->nrecords]);
			if (r->nwarnings < MAILSEC_REPORT_LIST_MAX)
				err = add_warning(r, pc->why);
			else {
				pc->more++;
				err = MAILSEC_OK;
			}
		}
		if (err != MAILSEC_OK)
			return err;
	}
	if (seen > 0 && r->nrecords == 0)
		return ms_diag(pc->diag, MAILSEC_ESYNTAX, 0, pc->first_line,
		    "none of its %zu records can be read: %s", seen,
		    r->warnings[0]);
	if (pc->more > 0) {
		snprintf(text, sizeof text, "%zu more records could not be "
		    "read and were left out", pc->more);
		return add_warning(r, text);
	}
	return MAILSEC_OK;
}

static mailsec_err
build(struct pctx *pc, xmlDoc *doc)
{
	struct mailsec_agg_report *r = pc->r;
	const xmlNode *fb;
	mailsec_err err;

	if (doc->intSubset != NULL || doc->extSubset != NULL)
		return fail(pc, MAILSEC_ESYNTAX,
		    (const xmlNode *)doc->intSubset, "a document type "
		    "declaration (<!DOCTYPE>) has no place in a report");
	fb = find_feedback(xmlDocGetRootElement(doc), 0);
	if (fb == NULL)
		return fail(pc, MAILSEC_ESYNTAX, xmlDocGetRootElement(doc),
		    "no <feedback> element");
	if ((err = field(pc, fb, "version", false, &r->version)) !=
	    MAILSEC_OK)
		return err;
	if ((fb->ns != NULL && fb->ns->href != NULL &&
	    strcmp((const char *)fb->ns->href,
	    "urn:ietf:params:xml:ns:dmarc-2.0") == 0) ||
	    (r->version != NULL && r->version[0] == '2'))
		r->format = MAILSEC_REPORT_FMT_RFC9990;
	else
		r->format = MAILSEC_REPORT_FMT_RFC7489;
	if ((err = parse_metadata(pc, fb)) != MAILSEC_OK ||
	    (err = parse_policy(pc, fb)) != MAILSEC_OK)
		return err;
	return build_records(pc, fb);
}

/* Byte offset of (line, col) in (p, len), both 1-based. */
static size_t
line_offset(const char *p, size_t len, long line, long col)
{
	size_t off = 0;
	long l = 1;

	while (l < line && off < len) {
		if (p[off++] == '\n')
			l++;
	}
	if (col > 1 && (size_t)(col - 1) <= len - off)
		off += (size_t)(col - 1);
	return off;
}

/* First occurrence of the n-byte needle in (p, len), or NULL. */
static const char *
find(const char *p, size_t len, const char *needle, size_t n)
{
	size_t i;

	for (i = 0; i + n <= len; i++)
		if (memcmp(p + i, needle, n) == 0)
			return p + i;
	return NULL;
}

/* Is the document declared in (or defaulting to) UTF-8? */
static bool
declared_utf8(const char *p, size_t len)
{
	const char *end, *e, *q;
	size_t n;
	char quote;

	if (len >= 2 && ((unsigned char)p[0] == 0xfe ||
	    (unsigned char)p[0] == 0xff || p[0] == '\0' || p[1] == '\0'))
		return false;		/* UTF-16 or UTF-32 */
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
		p += 3;
		len -= 3;
	}
	if (len < 5 || memcmp(p, "<?xml", 5) != 0)
		return true;
	n = len < 256 ? len : 256;
	end = find(p, n, "?>", 2);
	if (end == NULL)
		return true;
	e = find(p, (size_t)(end - p), "encoding", 8);
	if (e == NULL)
		return true;
	for (q = e + 8; q < end && (*q == '=' || is_xml_ws(*q)); q++)
		;
	if (q >= end || (*q != '"' && *q != '\''))
		return true;
	quote = *q++;
	for (e = q; e < end && *e != quote; e++)
		;
	return ms_ascii_eqz(q, (size_t)(e - q), "utf-8") ||
	    ms_ascii_eqz(q, (size_t)(e - q), "utf8");
}

/* Length of the valid UTF-8 sequence at p (RFC 3629 4), or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len, i;
	uint32_t cp;

	if (c < 0x80)
		return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') ?
		    0 : 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* A copy of (p, len) with every invalid UTF-8 byte (and control byte XML
 * forbids) replaced by U+FFFD. */
static mailsec_err
utf8_repair(const char *p, size_t len, char **out, size_t *outlen)
{
	struct ms_buf b;
	size_t i = 0, n;
	mailsec_err err = MAILSEC_OK;

	ms_buf_init(&b, MAILSEC_REPORT_XML_MAX);
	while (i < len && err == MAILSEC_OK) {
		n = utf8_seq((const unsigned char *)p + i, len - i);
		if (n == 0) {
			err = ms_buf_append(&b, "\xef\xbf\xbd", 3);
			i++;
		} else {
			err = ms_buf_append(&b, p + i, n);
			i += n;
		}
	}
	if (err != MAILSEC_OK)
		return err;
	*out = ms_buf_steal(&b, outlen);
	return *out != NULL ? MAILSEC_OK : MAILSEC_ENOMEM;
}

/* The first error of a parse (its line, column and message). */
struct first_err {
	int set;
	long line;
	long col;
	char msg[160];
};

/* Structured error handler of our parser contexts (never the global
 * one): keeps the first. */
#if LIBXML_VERSION >= 21200
static void
on_xml_error(void *data, const xmlError *e)
#else
static void
on_xml_error(void *data, xmlErrorPtr e)
#endif
{
	xmlParserCtxt *ctxt = data;
	struct first_err *fe = ctxt != NULL ? ctxt->_private : NULL;

	if (fe == NULL || fe->set || e == NULL ||
	    e->level == XML_ERR_WARNING)
		return;
	fe->set = 1;
	fe->line = e->line;
	fe->col = e->int2;
	snprintf(fe->msg, sizeof fe->msg, "%s",
	    e->message != NULL ? e->message : "error");
	fe->msg[strcspn(fe->msg, "\n")] = '\0';
}

/*
 * Parses (p, len) with options; *doc: the document, NULL when the parse
 * failed (in strict mode: whenever it was not well-formed). fe: the
 * first error.
 */
static mailsec_err
read_doc(const char *p, size_t len, int opts, xmlDoc **doc,
    struct first_err *fe)
{
	xmlParserCtxt *ctxt;

	*doc = NULL;
	if ((ctxt = xmlCreateMemoryParserCtxt(p, (int)len)) == NULL)
		return MAILSEC_ENOMEM;
	xmlCtxtUseOptions(ctxt, opts);
	ctxt->_private = fe;
	ctxt->sax->serror = on_xml_error;
	(void)xmlParseDocument(ctxt);
	*doc = ctxt->myDoc;
	ctxt->myDoc = NULL;
	if (*doc != NULL && !ctxt->wellFormed && !(opts & XML_PARSE_RECOVER)) {
		xmlFreeDoc(*doc);
		*doc = NULL;
	}
	xmlFreeParserCtxt(ctxt);
	return MAILSEC_OK;
}

mailsec_err
mailsec_agg_report_parse(const char *xml, size_t len,
    struct mailsec_agg_report **out, struct mailsec_diag *diag)
{
	struct pctx pc = { .diag = diag };
	struct first_err fe = { 0 }, fe2 = { 0 };
	xmlDoc *doc = NULL;
	char *fixed = NULL;
	const char *src = xml;
	size_t srclen = len, flen = 0;
	mailsec_err err;

	if (out == NULL || (xml == NULL && len > 0))
		return MAILSEC_EINVAL;
	*out = NULL;
	if (len > MAILSEC_REPORT_XML_MAX)
		return ms_diag(diag, MAILSEC_ELIMIT, 0, 0, "report of %zu "
		    "bytes is larger than %zu", len,
		    (size_t)MAILSEC_REPORT_XML_MAX);
	if (len == 0)
		return ms_diag(diag, MAILSEC_ESYNTAX, 0, 0, "empty document");
	pthread_once(&xml_once, xml_init);

	if ((err = read_doc(xml, len, XML_OPTS, &doc, &fe)) != MAILSEC_OK)
		goto out;
	if (doc == NULL) {
		if (!fe.set) {
			fe.set = 1;
			snprintf(fe.msg, sizeof fe.msg, "no document");
		}
		/* Second and last attempt: recover (parsedmarc does the
		 * same), kept only if the report is complete. */
		if (declared_utf8(xml, len)) {
			err = utf8_repair(xml, len, &fixed, &flen);
			if (err == MAILSEC_ELIMIT)
				err = ms_diag(diag, err, 0, 0, "report larger "
				    "than %zu bytes once its invalid UTF-8 is "
				    "replaced", (size_t)MAILSEC_REPORT_XML_MAX);
			if (err != MAILSEC_OK)
				goto out;
			src = fixed;
			srclen = flen;
		}
		if ((err = read_doc(src, srclen, XML_OPTS | XML_PARSE_RECOVER,
		    &doc, &fe2)) != MAILSEC_OK)
			goto out;
		if (doc == NULL) {
			err = ms_diag(diag, MAILSEC_ESYNTAX,
			    line_offset(xml, len, fe.line, fe.col),
			    fe.line > 0 ? (size_t)fe.line : 0,
			    "not well-formed XML: %s", fe.msg);
			goto out;
		}
	}
	if ((pc.r = calloc(1, sizeof *pc.r)) == NULL) {
		err = MAILSEC_ENOMEM;
		goto out;
	}
	err = build(&pc, doc);
	if (err == MAILSEC_ESYNTAX && fe.set && diag != NULL) {
		char why[sizeof diag->text];

		snprintf(why, sizeof why, "%s", diag->text);
		err = ms_diag(diag, err, line_offset(xml, len, fe.line, fe.col),
		    fe.line > 0 ? (size_t)fe.line : 0, "not well-formed XML "
		    "(%s), and not recoverable: %s", fe.msg, why);
	}
	if (err == MAILSEC_OK) {
		*out = pc.r;
		pc.r = NULL;
	}
out:
	mailsec_agg_report_free(pc.r);
	xmlFreeDoc(doc);
	free(fixed);
	return err;
}
