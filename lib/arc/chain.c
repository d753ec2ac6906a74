/*
 * lib/arc/chain.c - the ARC header fields (RFC 8617 4.1) and their
 * instances (4.2.1), the structure of the chain (5.2 steps 1 to 3), the
 * ARC-Seal tag list (4.1.3).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc/arc_int.h"

static const char *const kind_names[MS_ARC_NKIND] = {
	"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal"
};

/* Short names for reason texts. */
static const char *const kind_short[MS_ARC_NKIND] = { "AAR", "AMS", "AS" };

/* Comments nest; deeper than this is refused (RFC 5322 3.2.2 sets no
 * bound). */
#define MS_ARC_MAX_COMMENT_DEPTH 8
/* Digits read for an instance: 1*2DIGIT (3.9); longer runs are read to
 * report "above 50" rather than a syntax error. */
#define MS_ARC_MAX_POSITION_DIGITS 9

int
ms_arc_kind(const char *name, size_t len)
{
	int k;

	for (k = 0; k < MS_ARC_NKIND; k++)
		if (ms_ascii_eqz(name, len, kind_names[k]))
			return k;
	return -1;
}

const char *
ms_arc_kind_name(enum ms_arc_kind k)
{
	return (unsigned)k < MS_ARC_NKIND ? kind_names[k] : "?";
}

void
ms_arc_why(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
}

static bool
say(char *why, size_t whysz, const char *fmt, ...) MS_PRINTF(3, 4);

static bool
say(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
	return false;
}

/* printf arguments for "%.*s" of a value, cut at 40 bytes. */
#define SV(v) (int)((v).len > 40 ? 40 : (v).len), (v).ptr

/* position = 1*2DIGIT (3.9); 0 refused. Values above 50 pass here. */
static bool
parse_position(struct mailsec_str v, unsigned *out)
{
	unsigned n = 0;
	size_t i;

	if (v.len == 0 || v.len > MS_ARC_MAX_POSITION_DIGITS)
		return false;
	for (i = 0; i < v.len; i++) {
		if (!ms_isdigit((unsigned char)v.ptr[i]))
			return false;
		n = n * 10 + (unsigned)(v.ptr[i] - '0');
	}
	if (n == 0)
		return false;
	*out = n;
	return true;
}

/* Skips CFWS (RFC 5322 3.2.2): WSP, folding, nested comments. false on
 * a line break that is not folding or an unclosed comment. */
static bool
skip_cfws(const char *p, size_t len, size_t *i)
{
	size_t j = *i;
	int depth = 0;

	while (j < len) {
		unsigned char c = (unsigned char)p[j];

		if (c == '\r' || c == '\n') {
			if (c == '\r' && (j + 1 >= len || p[j + 1] != '\n'))
				return false;
			j += c == '\r' ? 2 : 1;
			if (j >= len || !ms_iswsp((unsigned char)p[j]))
				return false;
			continue;
		}
		if (depth > 0) {
			if (c == '\\' && j + 1 < len)
				j++;
			else if (c == '(' && ++depth > MS_ARC_MAX_COMMENT_DEPTH)
				return false;
			else if (c == ')')
				depth--;
			j++;
			continue;
		}
		if (ms_iswsp(c)) {
			j++;
		} else if (c == '(') {
			depth = 1;
			j++;
		} else {
			break;
		}
	}
	*i = j;
	return depth == 0;
}

bool
ms_arc_instance(enum ms_arc_kind k, const char *p, size_t len,
    unsigned *inst, char *why, size_t whysz)
{
	struct mailsec_diag diag;
	struct ms_taglist *tl;
	const struct ms_tag *t;
	struct mailsec_str v;
	size_t i = 0, start;
	bool ok;

	if (k == MS_ARC_AAR) {
		/* arc-info = instance [CFWS] ";" authres-payload, instance =
		 * [CFWS] %s"i" [CFWS] "=" [CFWS] position */
		if (!skip_cfws(p, len, &i) || i >= len || p[i] != 'i')
			return say(why, whysz, "does not start with \"i=\"");
		i++;
		if (!skip_cfws(p, len, &i) || i >= len || p[i] != '=')
			return say(why, whysz, "no '=' after \"i\"");
		i++;
		if (!skip_cfws(p, len, &i))
			return say(why, whysz, "bad whitespace after \"i=\"");
		start = i;
		while (i < len && ms_isdigit((unsigned char)p[i]))
			i++;
		v.ptr = p + start;
		v.len = i - start;
		if (!parse_position(v, inst))
			return say(why, whysz, "i=%.*s is not an instance "
			    "(1 to 50)", SV(v));
		if (!skip_cfws(p, len, &i) || i >= len || p[i] != ';')
			return say(why, whysz, "no ';' after i=%.*s", SV(v));
		return true;
	}
	if ((tl = malloc(sizeof *tl)) == NULL)
		return say(why, whysz, "out of memory");
	diag.set = 0;
	ok = false;
	if (ms_taglist_parse(p, len, tl, &diag) != MAILSEC_OK)
		say(why, whysz, "malformed tag list (%s at byte %zu)",
		    diag.text, diag.offset);
	else if ((t = ms_taglist_get(tl, "i")) == NULL)
		say(why, whysz, "no i= tag");
	else if (!parse_position(t->value, inst))
		say(why, whysz, "i=%.*s is not an instance (1 to 50)",
		    SV(t->value));
	else
		ok = true;
	free(tl);
	return ok;
}

struct mailsec_str
ms_arc_field_value(const struct ms_dkim_field *f)
{
	struct mailsec_str v;

	if (f->colon >= f->len) {
		v.ptr = f->raw + f->len;
		v.len = 0;
		return v;
	}
	v.ptr = f->raw + f->colon + 1;
	v.len = f->len - f->colon - 1;
	if (v.len >= 2 && v.ptr[v.len - 2] == '\r' && v.ptr[v.len - 1] == '\n')
		v.len -= 2;
	else if (v.len >= 1 && v.ptr[v.len - 1] == '\n')
		v.len--;
	return v;
}

/* The cv= of an AS value; false when absent or not a chain-status. */
static bool
seal_cv(struct mailsec_str v, enum mailsec_arc_result *cv)
{
	struct ms_taglist *tl;
	const struct ms_tag *t;
	bool ok = false;

	if ((tl = malloc(sizeof *tl)) == NULL)
		return false;
	if (ms_taglist_parse(v.ptr, v.len, tl, NULL) == MAILSEC_OK &&
	    (t = ms_taglist_get(tl, "cv")) != NULL) {
		/* chain-status (3.9): ABNF strings ignore case (RFC 5234
		 * 2.3). */
		ok = true;
		if (ms_ascii_eqz(t->value.ptr, t->value.len, "none"))
			*cv = MAILSEC_ARC_NONE;
		else if (ms_ascii_eqz(t->value.ptr, t->value.len, "pass"))
			*cv = MAILSEC_ARC_PASS;
		else if (ms_ascii_eqz(t->value.ptr, t->value.len, "fail"))
			*cv = MAILSEC_ARC_FAIL;
		else
			ok = false;
	}
	free(tl);
	return ok;
}

static void
chain_fail(struct ms_arc_chain *c, enum mailsec_arc_reason r, unsigned inst,
    const char *fmt, ...) MS_PRINTF(4, 5);

/* Records the first structure failure found at a given priority. */
static void
chain_fail(struct ms_arc_chain *c, enum mailsec_arc_reason r, unsigned inst,
    const char *fmt, ...)
{
	va_list ap;

	if (c->reason != MAILSEC_ARC_R_OK)
		return;
	c->reason = r;
	c->bad_instance = inst;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof c->why, fmt, ap);
	va_end(ap);
}

void
ms_arc_chain_build(const struct ms_dkim_field *f, size_t n,
    struct ms_arc_chain *c)
{
	char why[MS_ARC_WHY], badwhy[MS_ARC_WHY];
	size_t i, bad = MS_ARC_NOFIELD, dup = MS_ARC_NOFIELD;
	unsigned inst, dupinst = 0, j;
	int k, badkind = 0, dupkind = 0;

	memset(c, 0, sizeof *c);
	for (j = 0; j <= MAILSEC_ARC_MAX_INSTANCE; j++)
		for (k = 0; k < MS_ARC_NKIND; k++)
			c->idx[j][k] = MS_ARC_NOFIELD;
	badwhy[0] = '\0';
	for (i = 0; i < n; i++) {
		struct mailsec_str v;

		if ((k = ms_arc_kind(f[i].raw, f[i].namelen)) < 0)
			continue;
		c->any = true;
		v = ms_arc_field_value(&f[i]);
		if (!ms_arc_instance((enum ms_arc_kind)k, v.ptr, v.len, &inst,
		    why, sizeof why)) {
			if (bad == MS_ARC_NOFIELD) {
				bad = i;
				badkind = k;
				memcpy(badwhy, why, sizeof badwhy);
			}
			continue;
		}
		if (inst > c->maxseen)
			c->maxseen = inst;
		if (inst > MAILSEC_ARC_MAX_INSTANCE)
			continue;
		if (inst > c->n)
			c->n = inst;
		if (c->idx[inst][k] != MS_ARC_NOFIELD) {
			if (dup == MS_ARC_NOFIELD) {
				dup = i;
				dupinst = inst;
				dupkind = k;
			}
			continue;
		}
		c->idx[inst][k] = i;
	}
	for (j = 1; j <= c->n; j++) {
		i = c->idx[j][MS_ARC_AS];
		if (i != MS_ARC_NOFIELD)
			c->cv_ok[j] = seal_cv(ms_arc_field_value(&f[i]),
			    &c->cv[j]);
	}
	c->newest_cv = c->cv_ok[c->n] ? c->cv[c->n] : MAILSEC_ARC_NONE;

	/* 5.2 step 1 */
	if (!c->any) {
		chain_fail(c, MAILSEC_ARC_R_NO_CHAIN, 0,
		    "no ARC header field");
		return;
	}
	if (c->maxseen > MAILSEC_ARC_MAX_INSTANCE) {
		chain_fail(c, MAILSEC_ARC_R_LIMIT, c->maxseen,
		    "instance %u: more than %d ARC sets (RFC 8617 5.2)",
		    c->maxseen, MAILSEC_ARC_MAX_INSTANCE);
		return;
	}
	/* step 2 */
	if (c->n > 0 && c->idx[c->n][MS_ARC_AS] != MS_ARC_NOFIELD &&
	    c->cv_ok[c->n] && c->cv[c->n] == MAILSEC_ARC_FAIL) {
		chain_fail(c, MAILSEC_ARC_R_CHAIN_FAILED, c->n,
		    "AS(%u) says cv=fail: the chain ended there", c->n);
		return;
	}
	/* step 3: fields whose instance is unknown fail closed */
	if (bad != MS_ARC_NOFIELD) {
		chain_fail(c, MAILSEC_ARC_R_INSTANCE, 0,
		    "%s (header field %zu): %s", kind_names[badkind], bad,
		    badwhy);
		return;
	}
	if (dup != MS_ARC_NOFIELD) {
		chain_fail(c, MAILSEC_ARC_R_DUPLICATE, dupinst,
		    "%s(%u) appears more than once (RFC 8617 4.2.1)",
		    kind_short[dupkind], dupinst);
		return;
	}
	for (j = 1; j <= c->n; j++) {
		if (c->idx[j][0] == MS_ARC_NOFIELD &&
		    c->idx[j][1] == MS_ARC_NOFIELD &&
		    c->idx[j][2] == MS_ARC_NOFIELD) {
			chain_fail(c, MAILSEC_ARC_R_MISSING, j,
			    "no ARC set with instance %u of %u (a gap)", j,
			    c->n);
			return;
		}
		for (k = 0; k < MS_ARC_NKIND; k++)
			if (c->idx[j][k] == MS_ARC_NOFIELD) {
				chain_fail(c, MAILSEC_ARC_R_MISSING, j,
				    "ARC set %u has no %s", j, kind_names[k]);
				return;
			}
	}
	for (j = 1; j <= c->n; j++) {
		if (!c->cv_ok[j]) {
			chain_fail(c, MAILSEC_ARC_R_CV, j, "AS(%u): cv= "
			    "missing or not none, pass or fail", j);
			return;
		}
		if (j == 1 && c->cv[j] != MAILSEC_ARC_NONE) {
			chain_fail(c, MAILSEC_ARC_R_CV, j, "AS(1) says cv=%s, "
			    "must be none (RFC 8617 5.2 step 3.C)",
			    mailsec_arc_result_name(c->cv[j]));
			return;
		}
		if (j > 1 && c->cv[j] != MAILSEC_ARC_PASS) {
			chain_fail(c, MAILSEC_ARC_R_CV, j, "AS(%u) says cv=%s, "
			    "must be pass (RFC 8617 5.2 step 3.C)", j,
			    mailsec_arc_result_name(c->cv[j]));
			return;
		}
	}
}

bool
ms_arc_seal_parse(const char *p, size_t len, struct ms_arc_seal_tags *s,
    char *why, size_t whysz)
{
	struct mailsec_diag diag;
	const struct ms_tag *t;
	uint64_t n;
	size_t i;

	memset(s, 0, sizeof *s);
	s->t = -1;
	diag.set = 0;
	if (ms_taglist_parse(p, len, &s->tags, &diag) != MAILSEC_OK)
		return say(why, whysz, "malformed tag list (%s at byte %zu)",
		    diag.text, diag.offset);
	if ((t = ms_taglist_get(&s->tags, "i")) == NULL ||
	    !parse_position(t->value, &s->instance) ||
	    s->instance > MAILSEC_ARC_MAX_INSTANCE)
		return say(why, whysz, "no valid i= tag");
	if (ms_taglist_get(&s->tags, "h") != NULL)
		return say(why, whysz, "h= is not allowed in an ARC-Seal "
		    "(RFC 8617 4.1.3)");
	if ((t = ms_taglist_get(&s->tags, "a")) == NULL)
		return say(why, whysz, "no a= tag");
	if (ms_ascii_eqz(t->value.ptr, t->value.len, "rsa-sha256"))
		s->alg = MAILSEC_DKIM_RSA_SHA256;
	else if (ms_ascii_eqz(t->value.ptr, t->value.len, "ed25519-sha256"))
		s->alg = MAILSEC_DKIM_ED25519_SHA256;
	else if (ms_ascii_eqz(t->value.ptr, t->value.len, "rsa-sha1"))
		return say(why, whysz, "a=rsa-sha1 is not acceptable "
		    "(RFC 8301 3.1)");
	else
		return say(why, whysz, "unknown algorithm a=%.*s",
		    SV(t->value));
	if ((t = ms_taglist_get(&s->tags, "b")) == NULL)
		return say(why, whysz, "no b= tag");
	s->b_start = t->raw_start;
	s->b_end = t->raw_end;
	s->blen = ms_b64_decode(t->value.ptr, t->value.len, s->b,
	    sizeof s->b);
	if (s->blen == (size_t)-1 || s->blen == 0)
		return say(why, whysz, "b= is empty or not base64");
	if ((t = ms_taglist_get(&s->tags, "cv")) == NULL)
		return say(why, whysz, "no cv= tag");
	if (ms_ascii_eqz(t->value.ptr, t->value.len, "none"))
		s->cv = MAILSEC_ARC_NONE;
	else if (ms_ascii_eqz(t->value.ptr, t->value.len, "pass"))
		s->cv = MAILSEC_ARC_PASS;
	else if (ms_ascii_eqz(t->value.ptr, t->value.len, "fail"))
		s->cv = MAILSEC_ARC_FAIL;
	else
		return say(why, whysz, "cv=%.*s is not none, pass or fail",
		    SV(t->value));
	if ((t = ms_taglist_get(&s->tags, "d")) == NULL)
		return say(why, whysz, "no d= tag");
	if (!ms_dkim_domain_ok(t->value.ptr, t->value.len))
		return say(why, whysz, "d=%.*s is not a domain name",
		    SV(t->value));
	s->domain = t->value;
	if ((t = ms_taglist_get(&s->tags, "s")) == NULL)
		return say(why, whysz, "no s= tag");
	if (!ms_dkim_domain_ok(t->value.ptr, t->value.len))
		return say(why, whysz, "s=%.*s is not a selector",
		    SV(t->value));
	s->selector = t->value;
	if ((t = ms_taglist_get(&s->tags, "t")) != NULL) {
		/* RFC 6376 3.5: 1*12DIGIT */
		if (t->value.len == 0 || t->value.len > 12)
			return say(why, whysz, "t=%.*s is not a timestamp",
			    SV(t->value));
		n = 0;
		for (i = 0; i < t->value.len; i++) {
			if (!ms_isdigit((unsigned char)t->value.ptr[i]))
				return say(why, whysz, "t=%.*s is not a "
				    "timestamp", SV(t->value));
			n = n * 10 + (uint64_t)(t->value.ptr[i] - '0');
		}
		s->t = (int64_t)n;
	}
	return true;
}
