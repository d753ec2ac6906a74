/*
 * lib/authres/gen.c - the Authentication-Results generator: a model as a
 * header field value (RFC 8601 2.2), values quoted where the grammar
 * needs it (RFC 2045 5.1 token, RFC 5322 3.2.4 quoted-string), folded
 * (RFC 5322 2.2.3) only where CFWS may stand, DKIM header.b cut to a
 * prefix (RFC 6008 section 4).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authres/authres_int.h"

/* RFC 5322 2.1.1: no line longer than 998 characters. */
#define AR_LINE_MAX	998
/* Output bound: a value of MAILSEC_AUTHRES_MAX_LEN, every byte escaped,
 * with folds. */
#define AR_OUT_MAX	(4 * MAILSEC_AUTHRES_MAX_LEN)
/* Columns a folded line starts at: its TAB counted as 8. */
#define AR_FOLD_COL	8

/* How a unit joins the one before it. */
enum ar_sep {
	AR_SEP_NONE,	/* first unit: nothing before it */
	AR_SEP_SPACE,	/* our space; a fold writes eol TAB instead */
	AR_SEP_KEEP	/* a space of the text (comment); a fold writes
			   eol before it, keeping it */
};

struct ar_gen {
	struct ms_buf out;
	struct ms_buf unit;	/* the unit being built */
	enum ar_sep sep;	/* how unit joins the previous one */
	bool have_unit;
	size_t col;		/* columns used on the current line */
	size_t octets;		/* octets on the current line */
	size_t width;
	const char *eol;
	bool fold;
	struct mailsec_diag *diag;
};

static mailsec_err
gerr(struct ar_gen *g, mailsec_err err, const char *fmt, ...)
    MS_PRINTF(3, 4);

static mailsec_err
gerr(struct ar_gen *g, mailsec_err err, const char *fmt, ...)
{
	char text[sizeof g->diag->text];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	return ms_diag(g->diag, err, 0, 0, "%s", text);
}

/* Writes the pending unit to the output, folding before it if it would
 * pass the width. */
static mailsec_err
flush_unit(struct ar_gen *g)
{
	size_t n = g->unit.len;
	mailsec_err err;

	if (!g->have_unit)
		return MAILSEC_OK;
	g->have_unit = false;
	if (g->sep != AR_SEP_NONE) {
		if (g->fold && g->col + 1 + n > g->width &&
		    g->col > AR_FOLD_COL) {
			if ((err = ms_buf_appendz(&g->out, g->eol)) !=
			    MAILSEC_OK ||
			    (err = ms_buf_appendc(&g->out, g->sep ==
			    AR_SEP_SPACE ? '\t' : ' ')) != MAILSEC_OK)
				return err;
			g->col = g->sep == AR_SEP_SPACE ? AR_FOLD_COL : 1;
			g->octets = 1;
		} else {
			if ((err = ms_buf_appendc(&g->out, ' ')) !=
			    MAILSEC_OK)
				return err;
			g->col++;
			g->octets++;
		}
	}
	g->col += n;
	g->octets += n;
	if (g->octets > AR_LINE_MAX)
		return gerr(g, MAILSEC_ELIMIT,
		    "a line would pass %d octets (RFC 5322 2.1.1)",
		    AR_LINE_MAX);
	if (n > 0 && (err = ms_buf_append(&g->out, g->unit.ptr, n)) !=
	    MAILSEC_OK)
		return err;
	g->unit.len = 0;
	return MAILSEC_OK;
}

/* Starts a new unit joined by sep. */
static mailsec_err
new_unit(struct ar_gen *g, enum ar_sep sep)
{
	mailsec_err err;

	if ((err = flush_unit(g)) != MAILSEC_OK)
		return err;
	g->have_unit = true;
	g->sep = sep;
	return MAILSEC_OK;
}

static mailsec_err
put(struct ar_gen *g, const char *p, size_t n)
{
	return ms_buf_append(&g->unit, p, n);
}

static mailsec_err
putz(struct ar_gen *g, const char *s)
{
	return ms_buf_appendz(&g->unit, s);
}

/* Length of the character at p (1 for ASCII, 2-4 for UTF-8), 0 when
 * it is a control byte or not UTF-8. TAB counts as text. */
static size_t
text_char(const char *p, size_t n)
{
	unsigned char c = (unsigned char)*p;

	if (c < 0x80)
		return (c >= 0x20 && c < 0x7f) || c == '\t' ? 1 : 0;
	return mailsec_utf8_len(p, n);
}

/* Checks that s holds only text (no control byte, valid UTF-8). */
static bool
is_text(const char *s)
{
	size_t i, n = strlen(s), k;

	for (i = 0; i < n; i += k)
		if ((k = text_char(s + i, n - i)) == 0)
			return false;
	return true;
}

/*
 * Appends s (n bytes) with a backslash before each byte of esc; bad bytes
 * become '?' (when sanitize, else the caller checked them). With split,
 * each space starts a new unit instead, so a long text can fold there.
 */
static mailsec_err
put_escaped(struct ar_gen *g, const char *s, size_t n, const char *esc,
    bool split)
{
	mailsec_err err;
	size_t i, k;

	for (i = 0; i < n; i += k) {
		if (split && s[i] == ' ') {
			k = 1;
			err = new_unit(g, AR_SEP_KEEP);
		} else if ((k = text_char(s + i, n - i)) == 0) {
			k = 1;
			err = put(g, "?", 1);
		} else if (strchr(esc, s[i]) != NULL) {
			if ((err = put(g, "\\", 1)) == MAILSEC_OK)
				err = put(g, s + i, 1);
		} else
			err = put(g, s + i, k);
		if (err != MAILSEC_OK)
			return err;
	}
	return MAILSEC_OK;
}

/* Appends s (n bytes) as a quoted-string. */
static mailsec_err
put_quoted(struct ar_gen *g, const char *s, size_t n)
{
	mailsec_err err;

	if ((err = put(g, "\"", 1)) != MAILSEC_OK ||
	    (err = put_escaped(g, s, n, "\"\\", false)) != MAILSEC_OK)
		return err;
	return put(g, "\"", 1);
}

/* A value (RFC 2045 5.1) or, with addr, a pvalue (RFC 8601 2.2): bare
 * when the grammar allows it, else quoted. */
static mailsec_err
put_value(struct ar_gen *g, const char *s, size_t n, bool addr)
{
	if (ms_ar_is_token(s, n) || (addr && ms_ar_is_addr_value(s, n)))
		return put(g, s, n);
	return put_quoted(g, s, n);
}

/* A comment: " (text)" as units split at the text's spaces, so a long
 * comment can fold inside without changing its text. */
static mailsec_err
put_comment(struct ar_gen *g, const char *s)
{
	mailsec_err err;

	if ((err = new_unit(g, AR_SEP_SPACE)) != MAILSEC_OK ||
	    (err = put(g, "(", 1)) != MAILSEC_OK ||
	    (err = put_escaped(g, s, strlen(s), "()\\", true)) != MAILSEC_OK)
		return err;
	return put(g, ")", 1);
}

static mailsec_err
check_keyword(struct ar_gen *g, const char *what, const char *k)
{
	if (k == NULL || !ms_ar_is_keyword(k, strlen(k)))
		return gerr(g, MAILSEC_EINVAL,
		    "%s \"%.60s\" is not a Keyword (RFC 5321 4.1.2)", what,
		    k != NULL ? k : "(null)");
	return MAILSEC_OK;
}

static mailsec_err
put_prop(struct ar_gen *g, const struct mailsec_authres_result *r,
    const struct mailsec_authres_prop *pr, size_t b_prefix)
{
	mailsec_err err;
	size_t n;

	if ((err = check_keyword(g, "ptype", pr->ptype)) != MAILSEC_OK ||
	    (err = check_keyword(g, "property", pr->property)) !=
	    MAILSEC_OK)
		return err;
	if (pr->value == NULL || !is_text(pr->value))
		return gerr(g, MAILSEC_EINVAL,
		    "%s.%s: the value is missing or holds control bytes or "
		    "invalid UTF-8", pr->ptype, pr->property);
	n = strlen(pr->value);
	/* RFC 6008 section 4: a prefix of the signature tells it apart */
	if (b_prefix > 0 && n > b_prefix && ms_ascii_eqz(r->method,
	    strlen(r->method), "dkim") && ms_ascii_eqz(pr->ptype,
	    strlen(pr->ptype), "header") && ms_ascii_eqz(pr->property,
	    strlen(pr->property), "b"))
		n = b_prefix;
	if ((err = new_unit(g, AR_SEP_SPACE)) != MAILSEC_OK ||
	    (err = putz(g, pr->ptype)) != MAILSEC_OK ||
	    (err = put(g, ".", 1)) != MAILSEC_OK ||
	    (err = putz(g, pr->property)) != MAILSEC_OK ||
	    (err = put(g, "=", 1)) != MAILSEC_OK ||
	    (err = put_value(g, pr->value, n, true)) != MAILSEC_OK)
		return err;
	if (pr->comment != NULL)
		return put_comment(g, pr->comment);
	return MAILSEC_OK;
}

static mailsec_err
put_result(struct ar_gen *g, const struct mailsec_authres_result *r,
    size_t b_prefix)
{
	mailsec_err err;
	size_t i;

	if ((err = check_keyword(g, "method", r->method)) != MAILSEC_OK ||
	    (err = check_keyword(g, "result", r->result)) != MAILSEC_OK)
		return err;
	if (!mailsec_authres_result_valid(r->method, r->result))
		return gerr(g, MAILSEC_EINVAL,
		    "\"%s\" is not a result of the %s method (RFC 8601 2.7)",
		    r->result, r->method);
	if (r->method_version > MAILSEC_AUTHRES_MAX_VERSION)
		return gerr(g, MAILSEC_EINVAL, "method version %u",
		    r->method_version);
	if ((err = new_unit(g, AR_SEP_SPACE)) != MAILSEC_OK ||
	    (err = putz(g, r->method)) != MAILSEC_OK)
		return err;
	if (r->method_version > 0 && (err = ms_buf_printf(&g->unit, "/%u",
	    r->method_version)) != MAILSEC_OK)
		return err;
	if ((err = put(g, "=", 1)) != MAILSEC_OK ||
	    (err = putz(g, r->result)) != MAILSEC_OK)
		return err;
	if (r->comment != NULL && (err = put_comment(g, r->comment)) !=
	    MAILSEC_OK)
		return err;
	if (r->reason != NULL && ((err = new_unit(g, AR_SEP_SPACE)) !=
	    MAILSEC_OK || (err = put(g, "reason=", 7)) != MAILSEC_OK ||
	    (err = put_value(g, r->reason, strlen(r->reason), false)) !=
	    MAILSEC_OK))
		return err;
	if (r->nprops > 0 && r->props == NULL)
		return gerr(g, MAILSEC_EINVAL, "properties missing");
	for (i = 0; i < r->nprops; i++)
		if ((err = put_prop(g, r, &r->props[i], b_prefix)) !=
		    MAILSEC_OK)
			return err;
	return MAILSEC_OK;
}

static mailsec_err
put_field(struct ar_gen *g, const struct mailsec_authres *ar,
    size_t b_prefix)
{
	mailsec_err err;
	size_t i;

	if (ar->authserv_id == NULL || ar->authserv_id[0] == '\0' ||
	    !is_text(ar->authserv_id))
		return gerr(g, MAILSEC_EINVAL, "the authserv-id is missing, "
		    "empty, or holds control bytes or invalid UTF-8");
	if (ar->version > 1)
		return gerr(g, MAILSEC_EINVAL,
		    "Authentication-Results version %u (only 1 exists)",
		    ar->version);
	if (ar->instance > MAILSEC_AUTHRES_MAX_INSTANCE)
		return gerr(g, MAILSEC_EINVAL,
		    "ARC instance %u (RFC 8617 4.2.1: 1 to 50)",
		    ar->instance);
	if (ar->none && ar->nresults > 0)
		return gerr(g, MAILSEC_EINVAL, "\"none\" with results");
	if (ar->nresults > 0 && ar->results == NULL)
		return gerr(g, MAILSEC_EINVAL, "results missing");
	if ((err = new_unit(g, AR_SEP_NONE)) != MAILSEC_OK)
		return err;
	if (ar->instance > 0) {
		if ((err = ms_buf_printf(&g->unit, "i=%u;", ar->instance)) !=
		    MAILSEC_OK || (err = new_unit(g, AR_SEP_SPACE)) !=
		    MAILSEC_OK)
			return err;
	}
	if ((err = put_value(g, ar->authserv_id, strlen(ar->authserv_id),
	    false)) != MAILSEC_OK)
		return err;
	if (ar->comment != NULL && (err = put_comment(g, ar->comment)) !=
	    MAILSEC_OK)
		return err;
	if (ar->version > 0 && ((err = new_unit(g, AR_SEP_SPACE)) !=
	    MAILSEC_OK || (err = ms_buf_printf(&g->unit, "%u",
	    ar->version)) != MAILSEC_OK))
		return err;
	if (ar->nresults == 0)
		return (err = put(g, ";", 1)) != MAILSEC_OK ? err :
		    (err = new_unit(g, AR_SEP_SPACE)) != MAILSEC_OK ? err :
		    putz(g, "none");
	for (i = 0; i < ar->nresults; i++)
		if ((err = put(g, ";", 1)) != MAILSEC_OK ||
		    (err = put_result(g, &ar->results[i], b_prefix)) !=
		    MAILSEC_OK)
			return err;
	return MAILSEC_OK;
}

mailsec_err
mailsec_authres_generate(const struct mailsec_authres *ar,
    const struct mailsec_authres_gen *opt, char **out, size_t *outlen,
    struct mailsec_diag *diag)
{
	static const struct mailsec_authres_gen defaults =
	    MAILSEC_AUTHRES_GEN_DEFAULTS;
	struct ar_gen g;
	mailsec_err err;

	if (out == NULL)
		return MAILSEC_EINVAL;
	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (ar == NULL)
		return MAILSEC_EINVAL;
	if (opt == NULL)
		opt = &defaults;
	memset(&g, 0, sizeof g);
	g.diag = diag;
	if (opt->b_prefix > 0 && opt->b_prefix < MAILSEC_AUTHRES_MIN_B_PREFIX)
		return gerr(&g, MAILSEC_EINVAL,
		    "header.b prefix of %zu characters (at least %d)",
		    opt->b_prefix, MAILSEC_AUTHRES_MIN_B_PREFIX);
	g.width = opt->width > 0 ? opt->width : 78;
	g.eol = opt->eol != NULL ? opt->eol : "\r\n";
	g.fold = !(opt->flags & MAILSEC_AUTHRES_GEN_ONELINE);
	g.col = g.octets = opt->first_col;
	ms_buf_init(&g.out, AR_OUT_MAX);
	ms_buf_init(&g.unit, AR_OUT_MAX);
	if ((err = put_field(&g, ar, opt->b_prefix)) != MAILSEC_OK ||
	    (err = flush_unit(&g)) != MAILSEC_OK)
		goto done;
	if ((*out = ms_buf_steal(&g.out, outlen)) == NULL)
		err = MAILSEC_ENOMEM;
done:
	ms_buf_free(&g.out);
	ms_buf_free(&g.unit);
	return err;
}
