/*
 * lib/dmarc/record.c - DMARC policy records: RFC 9989 4.7 (tags) and 4.8
 * (formal definition), plus the RFC 7489 6.3 tags RFC 9989 removed (pct,
 * rf, ri), which count only in compatibility mode.
 *
 * The record is cut at each ';' (a dmarc-value never holds one) and each
 * tag-spec goes through the shared tag=value tokenizer, so one bad tag
 * is reported and ignored without losing the others: RFC 9989 4.8 wants
 * syntax errors "discarded in favor of default values (if any) or
 * ignored outright", and the linter wants every problem.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tagvalue.h"
#include "dmarc/dmarc_int.h"

enum tag_id {
	T_V, T_P, T_SP, T_NP, T_PSD, T_T, T_ADKIM, T_ASPF, T_RUA, T_RUF,
	T_FO, T_PCT, T_RF, T_RI, T_COUNT
};

#define IN_9989 0x1u
#define IN_7489 0x2u

struct parse {
	const char *p;
	size_t len;
	struct mailsec_dmarc_record *rec;
	unsigned seen;		/* 1 << tag_id */
	mailsec_err err;	/* ENOMEM while adding a problem */
};

typedef void (*tag_fn)(struct parse *, const struct ms_tag *, size_t);

struct tag_def {
	const char *name;
	unsigned modes;
	tag_fn fn;
};

static void
problem(struct parse *ps, enum mailsec_dmarc_severity sev,
    const struct ms_tag *t, size_t off, const char *fmt, ...)
    MS_PRINTF(5, 6);

static void
problem(struct parse *ps, enum mailsec_dmarc_severity sev,
    const struct ms_tag *t, size_t off, const char *fmt, ...)
{
	struct mailsec_dmarc_record *rec = ps->rec;
	struct mailsec_dmarc_problem *pr;
	va_list ap;
	size_t i, n;

	pr = ms_reallocarray(rec->problems, rec->nproblems + 1, sizeof *pr);
	if (pr == NULL) {
		ps->err = MAILSEC_ENOMEM;
		return;
	}
	rec->problems = pr;
	pr = &pr[rec->nproblems++];
	memset(pr, 0, sizeof *pr);
	pr->severity = sev;
	pr->offset = off;
	if (t != NULL) {
		n = t->name.len < sizeof pr->tag - 1 ? t->name.len :
		    sizeof pr->tag - 1;
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)t->name.ptr[i];

			pr->tag[i] = (char)(c > 0x20 && c < 0x7f ? c : '?');
		}
	}
	va_start(ap, fmt);
	vsnprintf(pr->text, sizeof pr->text, fmt, ap);
	va_end(ap);
}

/* Offset of t's value in the record. */
static size_t
voff(const struct parse *ps, const struct ms_tag *t)
{
	return (size_t)(t->value.ptr - ps->p);
}

static bool
val_is(const struct ms_tag *t, const char *lit)
{
	/* ABNF quoted strings are case-insensitive (RFC 5234 2.3). */
	return ms_ascii_eqz(t->value.ptr, t->value.len, lit);
}

/* ---- tags -------------------------------------------------------------- */

static enum mailsec_dmarc_policy
policy_value(const struct ms_tag *t)
{
	if (val_is(t, "none"))
		return MAILSEC_DMARC_POLICY_NONE;
	if (val_is(t, "quarantine"))
		return MAILSEC_DMARC_POLICY_QUARANTINE;
	if (val_is(t, "reject"))
		return MAILSEC_DMARC_POLICY_REJECT;
	return MAILSEC_DMARC_POLICY_UNSET;
}

static void
tag_policy(struct parse *ps, const struct ms_tag *t,
    enum mailsec_dmarc_policy *pol, bool *invalid)
{
	*pol = policy_value(t);
	if (*pol != MAILSEC_DMARC_POLICY_UNSET)
		return;
	*invalid = true;
	problem(ps, MAILSEC_DMARC_ERROR, t, voff(ps, t),
	    "'%.*s' is not none, quarantine or reject", (int)t->value.len,
	    t->value.ptr);
}

static void
tag_p(struct parse *ps, const struct ms_tag *t, size_t off)
{
	(void)off;
	tag_policy(ps, t, &ps->rec->p, &ps->rec->p_invalid);
}

static void
tag_sp(struct parse *ps, const struct ms_tag *t, size_t off)
{
	(void)off;
	tag_policy(ps, t, &ps->rec->sp, &ps->rec->sp_invalid);
}

static void
tag_np(struct parse *ps, const struct ms_tag *t, size_t off)
{
	(void)off;
	tag_policy(ps, t, &ps->rec->np, &ps->rec->np_invalid);
}

static void
tag_psd(struct parse *ps, const struct ms_tag *t, size_t off)
{
	(void)off;
	if (val_is(t, "y"))
		ps->rec->psd = MAILSEC_DMARC_PSD_Y;
	else if (val_is(t, "n"))
		ps->rec->psd = MAILSEC_DMARC_PSD_N;
	else if (val_is(t, "u"))
		ps->rec->psd = MAILSEC_DMARC_PSD_U;
	else
		problem(ps, MAILSEC_DMARC_ERROR, t, voff(ps, t),
		    "'%.*s' is not y, n or u: default u used",
		    (int)t->value.len, t->value.ptr);
}

static void
tag_t(struct parse *ps, const struct ms_tag *t, size_t off)
{
	(void)off;
	if (val_is(t, "y"))
		ps->rec->testing = true;
	else if (val_is(t, "n"))
		ps->rec->testing = false;
	else
		problem(ps, MAILSEC_DMARC_ERROR, t, voff(ps, t),
		    "'%.*s' is not y or n: default n used",
		    (int)t->value.len, t->value.ptr);
}

static void
tag_align(struct parse *ps, const struct ms_tag *t,
    enum mailsec_dmarc_alignment *a)
{
	if (val_is(t, "r"))
		*a = MAILSEC_DMARC_RELAXED;
	else if (val_is(t, "s"))
		*a = MAILSEC_DMARC_STRICT;
	else
		problem(ps, MAILSEC_DMARC_ERROR, t, voff(ps, t),
		    "'%.*s' is not r or s: default r (relaxed) used",
		    (int)t->value.len, t->value.ptr);
}

static void
tag_adkim(struct parse *ps, const struct ms_tag *t, size_t off)
{
	(void)off;
	tag_align(ps, t, &ps->rec->adkim);
}

static void
tag_aspf(struct parse *ps, const struct ms_tag *t, size_t off)
{
	(void)off;
	tag_align(ps, t, &ps->rec->aspf);
}

/* RFC 3986 2.2, 2.3: the characters a URI is made of ('%' checked
 * apart; ',' and '!' must be encoded in a dmarc-uri, RFC 9989 4.8). */
static bool
uri_char(unsigned char c)
{
	return ms_isalnum(c) || (c != '\0' && c != ',' && c != '!' &&
	    strchr("-._~:/?#[]@$&'()*+;=", c) != NULL);
}

/* One entry of a URI list at (s, n), offset off in the record. */
static bool
uri_one(struct parse *ps, const struct ms_tag *t, const char *s, size_t n,
    size_t off, struct mailsec_dmarc_uri *u)
{
	const char *bang = memchr(s, '!', n);
	size_t ulen = bang ? (size_t)(bang - s) : n, i, colon = 0;
	const char *q, *at;

	memset(u, 0, sizeof *u);
	if (bang != NULL) {
		/* obs-dmarc-report-size = "!" 1*DIGIT [ k / m / g / t ] */
		const char *e = s + n;
		uint64_t v = 0, mul = 1;

		for (q = bang + 1; q < e && ms_isdigit((unsigned char)*q);
		    q++) {
			if (v > (UINT64_MAX - 9) / 10)
				break;
			v = v * 10 + (uint64_t)(*q - '0');
		}
		if (q < e && q + 1 == e) {
			switch (ms_tolower((unsigned char)*q)) {
			case 'k': mul = 1ull << 10; q++; break;
			case 'm': mul = 1ull << 20; q++; break;
			case 'g': mul = 1ull << 30; q++; break;
			case 't': mul = 1ull << 40; q++; break;
			default: break;
			}
		}
		if (q != e || q == bang + 1 || (mul > 1 && q == bang + 2) ||
		    v > UINT64_MAX / mul) {
			problem(ps, MAILSEC_DMARC_ERROR, t,
			    off + (size_t)(bang - s), "bad size limit "
			    "'%.*s' (\"!\" digits [k|m|g|t])",
			    (int)(n - ulen), bang);
			return false;
		}
		u->has_limit = true;
		u->limit = v * mul;
		if (ps->rec->mode == MAILSEC_DMARC_RFC9989)
			problem(ps, MAILSEC_DMARC_WARNING, t,
			    off + (size_t)(bang - s), "the !size suffix is "
			    "obsolete (RFC 9989 4.8): reporters ignore it");
	}
	if ((u->uri = ms_memdupz(s, ulen)) == NULL) {
		ps->err = MAILSEC_ENOMEM;
		return false;
	}
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	for (i = 0; i < ulen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ':') {
			colon = i;
			break;
		}
		if (!(ms_isalpha(c) || (i > 0 && (ms_isdigit(c) ||
		    c == '+' || c == '-' || c == '.'))))
			break;
	}
	u->valid = colon > 0;
	for (i = colon + 1; u->valid && i < ulen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= ulen ||
			    !ms_isxdigit((unsigned char)s[i + 1]) ||
			    !ms_isxdigit((unsigned char)s[i + 2]))
				u->valid = false;
			i += 2;
		} else if (!uri_char(c)) {
			u->valid = false;
		}
	}
	if (!u->valid) {
		problem(ps, MAILSEC_DMARC_ERROR, t, off,
		    "'%.*s' is not a URI (RFC 3986; ',' and '!' must be "
		    "%%-encoded)", (int)ulen, s);
		return true;
	}
	u->mailto = ms_ascii_eqz(s, colon, "mailto");
	if (!u->mailto) {
		problem(ps, MAILSEC_DMARC_WARNING, t, off, "scheme '%.*s' is "
		    "not supported by most receivers (mailto is the one "
		    "they must support)", (int)colon, s);
		return true;
	}
	/* RFC 6068: to = addr-spec *("," addr-spec), then "?" hfields. */
	q = memchr(s + colon + 1, '?', ulen - colon - 1);
	n = (q ? (size_t)(q - s) : ulen) - colon - 1;
	at = memchr(s + colon + 1, '@', n);
	if (at == NULL || at == s + colon + 1 || at == s + colon + n ||
	    memchr(s + colon + 1, '/', n) != NULL) {
		problem(ps, MAILSEC_DMARC_WARNING, t, off, "mailto URI "
		    "'%.*s' holds no address: no report can go there",
		    (int)ulen, s);
		return true;
	}
	if ((u->address = ms_memdupz(s + colon + 1, n)) == NULL)
		ps->err = MAILSEC_ENOMEM;
	return true;
}

static void
tag_urilist(struct parse *ps, const struct ms_tag *t, size_t *count,
    struct mailsec_dmarc_uri **list)
{
	struct mailsec_dmarc_uri *v;
	const char *s = t->value.ptr, *e = s + t->value.len, *c;
	size_t n = 0, i, k;

	/* dmarc-urilist = uri *(*WSP "," *WSP uri) */
	for (c = s; c < e; c++)
		if (*c == ',')
			n++;
	if (n + 1 > MAILSEC_DMARC_URI_MAX) {
		problem(ps, MAILSEC_DMARC_ERROR, t, voff(ps, t),
		    "more than %d URIs: the list is ignored",
		    MAILSEC_DMARC_URI_MAX);
		return;
	}
	if ((v = ms_calloc(n + 1, sizeof *v)) == NULL) {
		ps->err = MAILSEC_ENOMEM;
		return;
	}
	for (i = 0, k = 0; i <= n; i++) {
		const char *a = s, *b;

		c = memchr(s, ',', (size_t)(e - s));
		b = c ? c : e;
		while (a < b && ms_iswsp((unsigned char)*a))
			a++;
		while (b > a && ms_iswsp((unsigned char)b[-1]))
			b--;
		if (a == b)
			problem(ps, MAILSEC_DMARC_ERROR, t,
			    (size_t)(a - ps->p), "empty URI in the list");
		else if (uri_one(ps, t, a, (size_t)(b - a),
		    (size_t)(a - ps->p), &v[k]))
			k++;
		else {
			free(v[k].uri);
			memset(&v[k], 0, sizeof v[k]);
		}
		if (c == NULL)
			break;
		s = c + 1;
	}
	*count = k;
	*list = v;
}

static void
tag_rua(struct parse *ps, const struct ms_tag *t, size_t off)
{
	(void)off;
	tag_urilist(ps, t, &ps->rec->nrua, &ps->rec->rua);
}

static void
tag_ruf(struct parse *ps, const struct ms_tag *t, size_t off)
{
	(void)off;
	tag_urilist(ps, t, &ps->rec->nruf, &ps->rec->ruf);
}

static void
tag_fo(struct parse *ps, const struct ms_tag *t, size_t off)
{
	const char *s = t->value.ptr, *e = s + t->value.len;
	unsigned fo = 0, bit;

	(void)off;
	/* dmarc-fo: 0, 1, d, s separated by ':', each at most once, 0 and
	 * 1 not together. */
	while (s <= e) {
		const char *c = memchr(s, ':', (size_t)(e - s));
		size_t n = (size_t)((c ? c : e) - s);

		bit = 0;
		if (n == 1) {
			switch (ms_tolower((unsigned char)*s)) {
			case '0': bit = MAILSEC_DMARC_FO_0; break;
			case '1': bit = MAILSEC_DMARC_FO_1; break;
			case 'd': bit = MAILSEC_DMARC_FO_D; break;
			case 's': bit = MAILSEC_DMARC_FO_S; break;
			default: break;
			}
		}
		if (bit == 0 || (fo & bit) != 0) {
			problem(ps, MAILSEC_DMARC_ERROR, t,
			    (size_t)(s - ps->p), "'%.*s' is not a failure "
			    "reporting option (0, 1, d, s, each once): "
			    "default 0 used", (int)t->value.len,
			    t->value.ptr);
			return;
		}
		fo |= bit;
		if (c == NULL)
			break;
		s = c + 1;
	}
	if ((fo & MAILSEC_DMARC_FO_0) && (fo & MAILSEC_DMARC_FO_1)) {
		problem(ps, MAILSEC_DMARC_ERROR, t, voff(ps, t),
		    "fo=0 and fo=1 exclude each other: default 0 used");
		return;
	}
	ps->rec->fo = fo;
}

/* 1*DIGIT up to max; false otherwise. */
static bool
number(const struct ms_tag *t, size_t maxdigits, uint64_t max, uint64_t *v)
{
	size_t i;

	*v = 0;
	if (t->value.len == 0 || t->value.len > maxdigits)
		return false;
	for (i = 0; i < t->value.len; i++) {
		if (!ms_isdigit((unsigned char)t->value.ptr[i]))
			return false;
		*v = *v * 10 + (uint64_t)(t->value.ptr[i] - '0');
	}
	return *v <= max;
}

static void
tag_pct(struct parse *ps, const struct ms_tag *t, size_t off)
{
	uint64_t v;

	(void)off;
	/* RFC 7489 6.3: an integer from 0 to 100. */
	if (!number(t, 3, 100, &v)) {
		problem(ps, MAILSEC_DMARC_ERROR, t, voff(ps, t),
		    "'%.*s' is not an integer from 0 to 100: default 100 "
		    "used", (int)t->value.len, t->value.ptr);
		return;
	}
	ps->rec->pct = (unsigned)v;
	ps->rec->has_pct = true;
}

static void
tag_rf(struct parse *ps, const struct ms_tag *t, size_t off)
{
	const char *s = t->value.ptr, *e = s + t->value.len;

	(void)off;
	/* RFC 7489 6.3: colon-separated report formats; afrf is the one
	 * registered. */
	while (s <= e) {
		const char *c = memchr(s, ':', (size_t)(e - s));
		size_t n = (size_t)((c ? c : e) - s);

		if (!ms_ascii_eqz(s, n, "afrf")) {
			problem(ps, MAILSEC_DMARC_ERROR, t,
			    (size_t)(s - ps->p), "'%.*s' is not a known "
			    "report format (afrf): default afrf used",
			    (int)(n > 40 ? 40 : n), s);
			return;
		}
		if (c == NULL)
			break;
		s = c + 1;
	}
	ps->rec->rf_afrf = true;
}

static void
tag_ri(struct parse *ps, const struct ms_tag *t, size_t off)
{
	uint64_t v;

	(void)off;
	if (!number(t, 10, UINT32_MAX, &v)) {
		problem(ps, MAILSEC_DMARC_ERROR, t, voff(ps, t),
		    "'%.*s' is not a 32-bit number of seconds: default "
		    "86400 used", (int)(t->value.len > 40 ? 40 :
		    t->value.len), t->value.ptr);
		return;
	}
	ps->rec->ri = (uint32_t)v;
}

static const struct tag_def tags[T_COUNT] = {
	[T_V] = { "v", IN_9989 | IN_7489, NULL },
	[T_P] = { "p", IN_9989 | IN_7489, tag_p },
	[T_SP] = { "sp", IN_9989 | IN_7489, tag_sp },
	[T_NP] = { "np", IN_9989, tag_np },
	[T_PSD] = { "psd", IN_9989, tag_psd },
	[T_T] = { "t", IN_9989, tag_t },
	[T_ADKIM] = { "adkim", IN_9989 | IN_7489, tag_adkim },
	[T_ASPF] = { "aspf", IN_9989 | IN_7489, tag_aspf },
	[T_RUA] = { "rua", IN_9989 | IN_7489, tag_rua },
	[T_RUF] = { "ruf", IN_9989 | IN_7489, tag_ruf },
	[T_FO] = { "fo", IN_9989 | IN_7489, tag_fo },
	[T_PCT] = { "pct", IN_7489, tag_pct },
	[T_RF] = { "rf", IN_7489, tag_rf },
	[T_RI] = { "ri", IN_7489, tag_ri },
};

/* ---- the record -------------------------------------------------------- */

static void
one_tag(struct parse *ps, const struct ms_tag *t, size_t off, bool first)
{
	unsigned mode = ps->rec->mode == MAILSEC_DMARC_RFC9989 ? IN_9989 :
	    IN_7489;
	size_t id;

	for (id = 0; id < T_COUNT; id++)
		if (ms_ascii_eqz(t->name.ptr, t->name.len, tags[id].name))
			break;
	if (first) {
		/* RFC 9989 4.7 v: first, value exactly "DMARC1". */
		if (id != T_V) {
			problem(ps, MAILSEC_DMARC_ERROR, t, off, "the record "
			    "does not start with v=DMARC1: not a DMARC "
			    "record");
			return;
		}
		if (t->value.len != 6 || memcmp(t->value.ptr, "DMARC1", 6)
		    != 0) {
			problem(ps, MAILSEC_DMARC_ERROR, t, voff(ps, t),
			    "v=%.*s: the version must be DMARC1 (case "
			    "sensitive): not a DMARC record",
			    (int)(t->value.len > 40 ? 40 : t->value.len),
			    t->value.ptr);
			return;
		}
		ps->rec->dmarc = true;
		ps->seen |= 1u << T_V;
		return;
	}
	if (id == T_COUNT) {
		problem(ps, MAILSEC_DMARC_WARNING, t, off, "unknown tag "
		    "'%.*s' ignored", (int)(t->name.len > 40 ? 40 :
		    t->name.len), t->name.ptr);
		return;
	}
	if (id == T_V) {
		problem(ps, MAILSEC_DMARC_ERROR, t, off, "v= must be the "
		    "first tag and appear once: ignored");
		return;
	}
	if (ps->seen & (1u << id)) {
		problem(ps, MAILSEC_DMARC_ERROR, t, off, "duplicate tag: "
		    "ignored (the first one counts)");
		return;
	}
	ps->seen |= 1u << id;
	if (!(tags[id].modes & mode)) {
		if (mode == IN_9989)
			problem(ps, MAILSEC_DMARC_WARNING, t, off, "%s= is "
			    "obsolete (RFC 7489; removed by RFC 9989): "
			    "ignored%s", tags[id].name, id == T_PCT ?
			    " (t=y replaces pct=0)" : "");
		else
			problem(ps, MAILSEC_DMARC_WARNING, t, off, "%s= is "
			    "not an RFC 7489 tag: ignored in compatibility "
			    "mode", tags[id].name);
		/* Still check the value for the linter. */
		if (id == T_PCT) {
			uint64_t v;

			if (!number(t, 3, 100, &v))
				problem(ps, MAILSEC_DMARC_WARNING, t,
				    voff(ps, t), "and '%.*s' is not an "
				    "integer from 0 to 100",
				    (int)(t->value.len > 40 ? 40 :
				    t->value.len), t->value.ptr);
		}
		return;
	}
	if (t->value.len == 0) {
		problem(ps, MAILSEC_DMARC_ERROR, t, voff(ps, t), "empty "
		    "value (1*dmarc-value required): ignored");
		if (id == T_P)
			ps->rec->p_invalid = true;
		else if (id == T_SP)
			ps->rec->sp_invalid = true;
		else if (id == T_NP)
			ps->rec->np_invalid = true;
		return;
	}
	tags[id].fn(ps, t, off);
}

static bool
has_valid_rua(const struct mailsec_dmarc_record *rec)
{
	size_t i;

	for (i = 0; i < rec->nrua; i++)
		if (rec->rua[i].valid)
			return true;
	return false;
}

/* RFC 9989 4.10.1 (RFC 7489 6.6.3 step 6): a missing or invalid p=, or
 * an invalid sp= / np=, means p=none when rua= has a valid URI and no
 * DMARC processing otherwise. RFC 9989 4.7 p: absent p= in an otherwise
 * valid record is p=none. */
static void
decide_usable(struct parse *ps)
{
	struct mailsec_dmarc_record *rec = ps->rec;
	bool bad, absent = !(ps->seen & (1u << T_P));

	if (!rec->dmarc)
		return;
	bad = rec->p_invalid || rec->sp_invalid || rec->np_invalid;
	if (rec->mode == MAILSEC_DMARC_RFC7489 && absent)
		bad = true;
	if (!bad) {
		rec->usable = true;
		if (absent)
			problem(ps, MAILSEC_DMARC_WARNING, NULL, 0, "no p= "
			    "tag: treated as p=none (RFC 9989 4.7)");
		return;
	}
	if (has_valid_rua(rec)) {
		rec->usable = true;
		rec->p_from_rua = true;
		problem(ps, MAILSEC_DMARC_WARNING, NULL, 0, "%s: acting as "
		    "p=none because rua= has a valid URI (%s)", absent ?
		    "no p= tag" : "invalid policy tag",
		    rec->mode == MAILSEC_DMARC_RFC9989 ? "RFC 9989 4.10.1" :
		    "RFC 7489 6.6.3");
		return;
	}
	problem(ps, MAILSEC_DMARC_ERROR, NULL, 0, "%s and no valid rua=: "
	    "no DMARC processing (%s)", absent ? "no p= tag" :
	    "invalid policy tag", rec->mode == MAILSEC_DMARC_RFC9989 ?
	    "RFC 9989 4.10.1" : "RFC 7489 6.6.3");
}

mailsec_err
mailsec_dmarc_record_parse(const char *p, size_t len,
    enum mailsec_dmarc_mode mode, struct mailsec_dmarc_record **out,
    struct mailsec_diag *diag)
{
	struct mailsec_dmarc_record *rec;
	struct parse ps;
	size_t s = 0, ntags = 0;
	bool first = true;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || (p == NULL && len > 0) ||
	    (mode != MAILSEC_DMARC_RFC9989 && mode != MAILSEC_DMARC_RFC7489))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "bad arguments");
	if (len > MAILSEC_DMARC_RECORD_MAX)
		return ms_diag(diag, MAILSEC_ELIMIT, MAILSEC_DMARC_RECORD_MAX,
		    0, "record longer than %d bytes", MAILSEC_DMARC_RECORD_MAX);
	if ((rec = ms_calloc(1, sizeof *rec)) == NULL)
		return MAILSEC_ENOMEM;
	rec->mode = mode;
	rec->pct = 100;
	rec->fo = MAILSEC_DMARC_FO_0;
	rec->rf_afrf = true;
	rec->ri = 86400;
	memset(&ps, 0, sizeof ps);
	ps.p = p;
	ps.len = len;
	ps.rec = rec;
	if (len == 0)
		problem(&ps, MAILSEC_DMARC_ERROR, NULL, 0, "empty record");
	while (s < len && ps.err == MAILSEC_OK) {
		const char *semi = memchr(p + s, ';', len - s);
		size_t e = semi ? (size_t)(semi - p) : len;
		struct mailsec_diag d = { 0 };
		struct ms_taglist tl;

		if (++ntags > MAILSEC_DMARC_TAG_MAX) {
			mailsec_dmarc_record_free(rec);
			return ms_diag(diag, MAILSEC_ELIMIT, s, 0,
			    "more than %d tags", MAILSEC_DMARC_TAG_MAX);
		}
		if (ms_taglist_parse(p + s, e - s, &tl, &d) != MAILSEC_OK) {
			struct ms_tag t = { { p + s, 0 }, { p + s, 0 }, 0, 0 };
			size_t k = s;

			while (k < e && ms_iswsp((unsigned char)p[k]))
				k++;
			t.name.ptr = p + k;
			while (k < e && ms_isalnum((unsigned char)p[k]))
				k++;
			t.name.len = (size_t)(p + k - t.name.ptr);
			problem(&ps, MAILSEC_DMARC_ERROR, &t, s + d.offset,
			    "%s: tag ignored", d.text);
			if (first)
				break;	/* no v=DMARC1: not DMARC */
		} else if (tl.count == 0) {
			if (first) {
				problem(&ps, MAILSEC_DMARC_ERROR, NULL, s,
				    "the record does not start with "
				    "v=DMARC1: not a DMARC record");
				break;
			}
			if (semi != NULL)
				problem(&ps, MAILSEC_DMARC_WARNING, NULL, s,
				    "empty tag between two ';'");
		} else {
			if (first && tl.tags[0].name.ptr != p)
				problem(&ps, MAILSEC_DMARC_WARNING,
				    &tl.tags[0], 0, "whitespace before "
				    "v=DMARC1");
			one_tag(&ps, &tl.tags[0],
			    (size_t)(tl.tags[0].name.ptr - p), first);
			if (first && !rec->dmarc)
				break;
		}
		first = false;
		s = e + 1;
	}
	if (ps.err == MAILSEC_OK) {
		if (rec->dmarc && rec->nruf == 0 && (ps.seen & (1u << T_FO)))
			problem(&ps, MAILSEC_DMARC_WARNING, NULL, 0, "fo= "
			    "without ruf= is ignored (RFC 9989 4.7)");
		decide_usable(&ps);
	}
	if (ps.err != MAILSEC_OK) {
		mailsec_dmarc_record_free(rec);
		return ps.err;
	}
	*out = rec;
	return MAILSEC_OK;
}

static void
uris_free(struct mailsec_dmarc_uri *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].uri);
		free(v[i].address);
	}
	free(v);
}

void
mailsec_dmarc_record_free(struct mailsec_dmarc_record *rec)
{
	if (rec == NULL)
		return;
	uris_free(rec->rua, rec->nrua);
	uris_free(rec->ruf, rec->nruf);
	free(rec->problems);
	free(rec);
}

size_t
mailsec_dmarc_record_count(const struct mailsec_dmarc_record *rec,
    enum mailsec_dmarc_severity sev)
{
	size_t i, n = 0;

	if (rec == NULL)
		return 0;
	for (i = 0; i < rec->nproblems; i++)
		if (rec->problems[i].severity == sev)
			n++;
	return n;
}

enum mailsec_dmarc_policy
mailsec_dmarc_record_policy(const struct mailsec_dmarc_record *rec,
    bool subdomain, bool exists, const char **tag)
{
	enum mailsec_dmarc_policy p;

	if (tag != NULL)
		*tag = NULL;
	if (rec == NULL || !rec->usable)
		return MAILSEC_DMARC_POLICY_UNSET;
	if (tag != NULL)
		*tag = "p";
	if (rec->p_from_rua)
		return MAILSEC_DMARC_POLICY_NONE;
	p = rec->p != MAILSEC_DMARC_POLICY_UNSET ? rec->p :
	    MAILSEC_DMARC_POLICY_NONE;
	if (!subdomain)
		return p;
	if (!exists && rec->mode == MAILSEC_DMARC_RFC9989 &&
	    rec->np != MAILSEC_DMARC_POLICY_UNSET) {
		if (tag != NULL)
			*tag = "np";
		return rec->np;
	}
	if (rec->sp != MAILSEC_DMARC_POLICY_UNSET) {
		if (tag != NULL)
			*tag = "sp";
		return rec->sp;
	}
	return p;
}
