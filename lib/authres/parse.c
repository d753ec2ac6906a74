/*
 * lib/authres/parse.c - the Authentication-Results parser (RFC 8601 2.2;
 * RFC 7601 2.2 is the same grammar), with CFWS of RFC 5322 3.2.2 (nested
 * comments, folding) wherever the grammar allows it, quoted-strings of
 * RFC 5322 3.2.4 (UTF-8 of RFC 6532 allowed), and the "i=N;" prefix of
 * ARC-Authentication-Results (RFC 8617 4.1.1).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authres/authres_int.h"

struct ar_parser {
	const char *base;	/* start of the input, for offsets */
	const char *p;
	const char *end;	/* a final CRLF excluded */
	unsigned flags;
	struct mailsec_diag *diag;
};

static mailsec_err
perr(struct ar_parser *s, const char *at, mailsec_err err, const char *fmt,
    ...) MS_PRINTF(4, 5);

static mailsec_err
perr(struct ar_parser *s, const char *at, mailsec_err err, const char *fmt,
    ...)
{
	char text[sizeof s->diag->text];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	return ms_diag(s->diag, err, (size_t)(at - s->base), 0, "%s", text);
}

static bool
at_end(const struct ar_parser *s)
{
	return s->p >= s->end;
}

static int
peek(const struct ar_parser *s)
{
	return s->p < s->end ? (unsigned char)*s->p : -1;
}

/* Length of a UTF-8 sequence (RFC 6532) at q, 0 if none. */
static size_t
utf8_at(const struct ar_parser *s, const char *q)
{
	return (unsigned char)*q >= 0x80 ? mailsec_utf8_len(q,
	    (size_t)(s->end - q)) : 0;
}

/* FWS: WSP, or a line break (CRLF or LF) followed by WSP. Returns true
 * when anything was skipped. WSP goes to keep (if non-NULL), line breaks
 * do not (unfolding, RFC 5322 2.2.3). */
static mailsec_err
skip_fws(struct ar_parser *s, struct ms_buf *keep, bool *any)
{
	mailsec_err err;
	size_t n;

	for (;;) {
		if (s->p < s->end && ms_iswsp((unsigned char)*s->p)) {
			if (keep != NULL &&
			    (err = ms_buf_appendc(keep, *s->p)) != MAILSEC_OK)
				return err;
			s->p++;
			*any = true;
			continue;
		}
		n = 0;
		if (s->end - s->p >= 3 && s->p[0] == '\r' && s->p[1] == '\n')
			n = 2;
		else if (s->end - s->p >= 2 && s->p[0] == '\n')
			n = 1;
		if (n == 0 || !ms_iswsp((unsigned char)s->p[n]))
			return MAILSEC_OK;
		s->p += n;
	}
}

/*
 * A comment at s->p ('('), nesting bounded. Its text (without the outer
 * parentheses, quoted-pairs decoded, inner parentheses kept) goes to cap
 * when cap is non-NULL.
 */
static mailsec_err
parse_comment(struct ar_parser *s, struct ms_buf *cap)
{
	const char *open = s->p;
	unsigned depth = 0;
	mailsec_err err;
	bool dummy;
	size_t n;

	for (;;) {
		if ((err = skip_fws(s, cap, &dummy)) != MAILSEC_OK)
			return err;
		if (at_end(s))
			return perr(s, open, MAILSEC_ESYNTAX,
			    "unterminated comment");
		if (*s->p == '(') {
			if (++depth > MAILSEC_AUTHRES_MAX_NESTING)
				return perr(s, s->p, MAILSEC_ELIMIT,
				    "comments nested deeper than %d",
				    MAILSEC_AUTHRES_MAX_NESTING);
			if (depth > 1 && cap != NULL &&
			    (err = ms_buf_appendc(cap, '(')) != MAILSEC_OK)
				return err;
			s->p++;
			continue;
		}
		if (*s->p == ')') {
			s->p++;
			if (--depth == 0)
				return MAILSEC_OK;
			if (cap != NULL &&
			    (err = ms_buf_appendc(cap, ')')) != MAILSEC_OK)
				return err;
			continue;
		}
		n = 1;
		if (*s->p == '\\') {
			/* quoted-pair: VCHAR, WSP or (RFC 6532) UTF-8 */
			if (s->end - s->p < 2)
				return perr(s, s->p, MAILSEC_ESYNTAX,
				    "'\\' at the end of a comment");
			s->p++;
			if ((n = utf8_at(s, s->p)) == 0) {
				n = 1;
				if (!ms_iswsp((unsigned char)*s->p) &&
				    ((unsigned char)*s->p <= 0x20 ||
				    (unsigned char)*s->p >= 0x7f))
					return perr(s, s->p, MAILSEC_ESYNTAX,
					    "invalid quoted-pair in a "
					    "comment");
			}
		} else if (!ms_ar_ctext((unsigned char)*s->p) &&
		    (n = utf8_at(s, s->p)) == 0)
			return perr(s, s->p, MAILSEC_ESYNTAX,
			    "byte 0x%02x not allowed in a comment",
			    (unsigned char)*s->p);
		if (cap != NULL && (err = ms_buf_append(cap, s->p, n)) !=
		    MAILSEC_OK)
			return err;
		s->p += n;
	}
}

/*
 * [CFWS]. The first comment's text goes to *slot when slot is non-NULL
 * and *slot is still NULL. *any says whether anything was skipped.
 */
static mailsec_err
skip_cfws(struct ar_parser *s, char **slot, bool *any)
{
	struct ms_buf cap;
	mailsec_err err;

	*any = false;
	for (;;) {
		if ((err = skip_fws(s, NULL, any)) != MAILSEC_OK)
			return err;
		if (peek(s) != '(')
			return MAILSEC_OK;
		*any = true;
		if (slot == NULL || *slot != NULL) {
			if ((err = parse_comment(s, NULL)) != MAILSEC_OK)
				return err;
			continue;
		}
		ms_buf_init(&cap, MAILSEC_AUTHRES_MAX_LEN);
		if ((err = parse_comment(s, &cap)) != MAILSEC_OK) {
			ms_buf_free(&cap);
			return err;
		}
		if ((*slot = ms_buf_steal(&cap, NULL)) == NULL)
			return MAILSEC_ENOMEM;
	}
}

/* A quoted-string at s->p, decoded into *out. */
static mailsec_err
parse_quoted(struct ar_parser *s, char **out)
{
	const char *open = s->p;
	struct ms_buf b;
	mailsec_err err;
	bool dummy;
	size_t n;

	ms_buf_init(&b, MAILSEC_AUTHRES_MAX_LEN);
	s->p++;
	for (;;) {
		if ((err = skip_fws(s, &b, &dummy)) != MAILSEC_OK)
			goto fail;
		if (at_end(s)) {
			err = perr(s, open, MAILSEC_ESYNTAX,
			    "unterminated quoted-string");
			goto fail;
		}
		if (*s->p == '"') {
			s->p++;
			break;
		}
		n = 1;
		if (*s->p == '\\') {
			if (s->end - s->p < 2) {
				err = perr(s, s->p, MAILSEC_ESYNTAX,
				    "'\\' at the end of a quoted-string");
				goto fail;
			}
			s->p++;
			if ((n = utf8_at(s, s->p)) == 0) {
				n = 1;
				if (!ms_iswsp((unsigned char)*s->p) &&
				    ((unsigned char)*s->p <= 0x20 ||
				    (unsigned char)*s->p >= 0x7f)) {
					err = perr(s, s->p, MAILSEC_ESYNTAX,
					    "invalid quoted-pair");
					goto fail;
				}
			}
		} else if (!ms_ar_qtext((unsigned char)*s->p) &&
		    (n = utf8_at(s, s->p)) == 0) {
			err = perr(s, s->p, MAILSEC_ESYNTAX,
			    "byte 0x%02x not allowed in a quoted-string",
			    (unsigned char)*s->p);
			goto fail;
		}
		if ((err = ms_buf_append(&b, s->p, n)) != MAILSEC_OK)
			return err;
		s->p += n;
	}
	if ((*out = ms_buf_steal(&b, NULL)) == NULL)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
fail:
	ms_buf_free(&b);
	return err;
}

/* A Keyword (RFC 5321 4.1.2), lower-cased into *out. */
static mailsec_err
parse_keyword(struct ar_parser *s, const char *what, char **out)
{
	const char *q = s->p;
	size_t i, n;
	char *k;

	while (q < s->end && ms_ar_keyc((unsigned char)*q))
		q++;
	n = (size_t)(q - s->p);
	if (n == 0)
		return perr(s, s->p, MAILSEC_ESYNTAX, "expected %s", what);
	if (q[-1] == '-')
		return perr(s, q - 1, MAILSEC_ESYNTAX,
		    "%s ends with '-' (RFC 5321 4.1.2 Keyword)", what);
	if ((k = ms_memdupz(s->p, n)) == NULL)
		return MAILSEC_ENOMEM;
	for (i = 0; i < n; i++)
		k[i] = (char)ms_tolower((unsigned char)k[i]);
	s->p = q;
	*out = k;
	return MAILSEC_OK;
}

/* 1*DIGIT, at most max. */
static mailsec_err
parse_number(struct ar_parser *s, const char *what, unsigned max,
    unsigned *out)
{
	const char *start = s->p;
	unsigned long v = 0;

	if (!ms_isdigit(peek(s)))
		return perr(s, s->p, MAILSEC_ESYNTAX, "expected %s", what);
	while (ms_isdigit(peek(s))) {
		v = v * 10 + (unsigned long)(*s->p - '0');
		if (v > max)
			return perr(s, start, MAILSEC_ESYNTAX,
			    "%s above %u", what, max);
		s->p++;
	}
	*out = (unsigned)v;
	return MAILSEC_OK;
}

/* value of RFC 2045 5.1: token / quoted-string (authserv-id, reason). */
static mailsec_err
parse_value(struct ar_parser *s, const char *what, char **out)
{
	const char *q = s->p;

	if (peek(s) == '"')
		return parse_quoted(s, out);
	while (q < s->end && ms_ar_tokenc((unsigned char)*q))
		q++;
	if (q == s->p)
		return perr(s, s->p, MAILSEC_ESYNTAX, "expected %s", what);
	if ((*out = ms_memdupz(s->p, (size_t)(q - s->p))) == NULL)
		return MAILSEC_ENOMEM;
	s->p = q;
	return MAILSEC_OK;
}

/*
 * pvalue of RFC 8601 2.2 without its CFWS: value / [[local-part] "@"]
 * domain-name. A quoted local-part keeps its quotes (it is part of the
 * address); a plain quoted-string is decoded.
 */
static mailsec_err
parse_pvalue(struct ar_parser *s, char **out)
{
	bool strict = (s->flags & MAILSEC_AUTHRES_STRICT) != 0;
	const char *start = s->p, *q, *qend;
	struct ms_buf b;
	mailsec_err err;
	size_t n;
	char *text;

	if (peek(s) == '"') {
		if ((err = parse_quoted(s, &text)) != MAILSEC_OK)
			return err;
		if (peek(s) != '@') {
			*out = text;
			return MAILSEC_OK;
		}
		free(text);
		qend = s->p;
		q = ++s->p;
		while (q < s->end && (ms_ar_keyc((unsigned char)*q) ||
		    *q == '.'))
			q++;
		if (!ms_ar_is_domain(s->p, (size_t)(q - s->p)))
			return perr(s, s->p, MAILSEC_ESYNTAX,
			    "expected a domain-name after '@'");
		s->p = q;
		/* the raw "local part"@domain, folding removed */
		ms_buf_init(&b, MAILSEC_AUTHRES_MAX_LEN);
		for (q = start; q < s->p; q++) {
			if (q < qend && (*q == '\r' || *q == '\n'))
				continue;
			if ((err = ms_buf_appendc(&b, *q)) != MAILSEC_OK)
				return err;
		}
		if ((*out = ms_buf_steal(&b, NULL)) == NULL)
			return MAILSEC_ENOMEM;
		return MAILSEC_OK;
	}
	q = s->p;
	while (q < s->end) {
		if (ms_ar_ptext((unsigned char)*q))
			n = 1;
		else if (strict || (n = utf8_at(s, q)) == 0)
			break;
		q += n;
	}
	n = (size_t)(q - s->p);
	if (n == 0)
		return perr(s, s->p, MAILSEC_ESYNTAX, "expected a value");
	if (strict && !ms_ar_is_token(s->p, n) &&
	    !ms_ar_is_addr_value(s->p, n))
		return perr(s, s->p, MAILSEC_ESYNTAX,
		    "value is neither a token nor [local-part]@domain-name "
		    "(RFC 8601 2.2); quote it");
	if ((*out = ms_memdupz(s->p, n)) == NULL)
		return MAILSEC_ENOMEM;
	s->p = q;
	return MAILSEC_OK;
}

/* The items after "method=result": [reason] *(propspec). */
static mailsec_err
parse_items(struct ar_parser *s, struct mailsec_authres_result *r, bool any)
{
	struct mailsec_authres_prop *ps, pr;
	const char *item;
	mailsec_err err;
	char *kw, *dropped;

	for (;;) {
		if (at_end(s) || *s->p == ';')
			return MAILSEC_OK;
		if (!any)
			return perr(s, s->p, MAILSEC_ESYNTAX,
			    "expected ';', whitespace or a comment");
		item = s->p;
		kw = NULL;
		if ((err = parse_keyword(s, "a property or ';'", &kw)) !=
		    MAILSEC_OK)
			return err;
		if ((err = skip_cfws(s, NULL, &any)) != MAILSEC_OK)
			goto fail;
		if (peek(s) == '=' && strcmp(kw, "reason") == 0 &&
		    r->reason == NULL && r->nprops == 0) {
			free(kw);
			s->p++;
			if ((err = skip_cfws(s, NULL, &any)) != MAILSEC_OK ||
			    (err = parse_value(s, "a reason", &r->reason)) !=
			    MAILSEC_OK)
				return err;
		} else if (peek(s) == '.') {
			if (r->nprops >= MAILSEC_AUTHRES_MAX_PROPS) {
				err = perr(s, item, MAILSEC_ELIMIT,
				    "more than %d properties in one result",
				    MAILSEC_AUTHRES_MAX_PROPS);
				goto fail;
			}
			memset(&pr, 0, sizeof pr);
			pr.ptype = kw;
			s->p++;
			if ((err = skip_cfws(s, NULL, &any)) != MAILSEC_OK ||
			    (err = parse_keyword(s, "a property",
			    &pr.property)) != MAILSEC_OK ||
			    (err = skip_cfws(s, NULL, &any)) != MAILSEC_OK)
				goto prop_fail;
			if (peek(s) != '=') {
				err = perr(s, s->p, MAILSEC_ESYNTAX,
				    "expected '=' after %s.%s", pr.ptype,
				    pr.property);
				goto prop_fail;
			}
			s->p++;
			if ((err = skip_cfws(s, NULL, &any)) != MAILSEC_OK ||
			    (err = parse_pvalue(s, &pr.value)) != MAILSEC_OK)
				goto prop_fail;
			ps = ms_reallocarray(r->props, r->nprops + 1,
			    sizeof *ps);
			if (ps == NULL) {
				err = MAILSEC_ENOMEM;
				goto prop_fail;
			}
			r->props = ps;
			ps[r->nprops++] = pr;
			if ((err = skip_cfws(s, &ps[r->nprops - 1].comment,
			    &any)) != MAILSEC_OK)
				return err;
			continue;
prop_fail:
			free(pr.ptype);
			free(pr.property);
			free(pr.value);
			return err;
		} else if (peek(s) == '=' &&
		    !(s->flags & MAILSEC_AUTHRES_STRICT)) {
			/* "action=none": not RFC 8601, seen in the wild */
			free(kw);
			s->p++;
			if ((err = skip_cfws(s, NULL, &any)) != MAILSEC_OK ||
			    (err = parse_pvalue(s, &dropped)) != MAILSEC_OK)
				return err;
			free(dropped);
			r->nignored++;
		} else {
			err = perr(s, s->p, MAILSEC_ESYNTAX,
			    strcmp(kw, "reason") == 0 && peek(s) == '=' ?
			    "reason= must come once, before the properties" :
			    "expected '.' after the ptype '%s'", kw);
			goto fail;
		}
		if ((err = skip_cfws(s, NULL, &any)) != MAILSEC_OK)
			return err;
	}
fail:
	free(kw);
	return err;
}

/* resinfo after its ';' and CFWS: methodspec [reasonspec] *propspec. */
static mailsec_err
parse_resinfo(struct ar_parser *s, struct mailsec_authres *ar)
{
	struct mailsec_authres_result *rs, *r;
	mailsec_err err;
	bool any;

	if (ar->nresults >= MAILSEC_AUTHRES_MAX_RESULTS)
		return perr(s, s->p, MAILSEC_ELIMIT,
		    "more than %d results in one field",
		    MAILSEC_AUTHRES_MAX_RESULTS);
	rs = ms_reallocarray(ar->results, ar->nresults + 1, sizeof *rs);
	if (rs == NULL)
		return MAILSEC_ENOMEM;
	ar->results = rs;
	r = &rs[ar->nresults++];
	memset(r, 0, sizeof *r);
	if ((err = parse_keyword(s, "a method", &r->method)) != MAILSEC_OK ||
	    (err = skip_cfws(s, NULL, &any)) != MAILSEC_OK)
		return err;
	if (peek(s) == '/') {
		s->p++;
		if ((err = skip_cfws(s, NULL, &any)) != MAILSEC_OK ||
		    (err = parse_number(s, "a method version",
		    MAILSEC_AUTHRES_MAX_VERSION, &r->method_version)) !=
		    MAILSEC_OK)
			return err;
		if (r->method_version == 0)
			return perr(s, s->p - 1, MAILSEC_ESYNTAX,
			    "method version 0");
		if ((err = skip_cfws(s, NULL, &any)) != MAILSEC_OK)
			return err;
	}
	if (peek(s) != '=')
		return perr(s, s->p, MAILSEC_ESYNTAX,
		    "expected '=' after the method '%s'", r->method);
	s->p++;
	if ((err = skip_cfws(s, NULL, &any)) != MAILSEC_OK ||
	    (err = parse_keyword(s, "a result", &r->result)) != MAILSEC_OK ||
	    (err = skip_cfws(s, &r->comment, &any)) != MAILSEC_OK)
		return err;
	return parse_items(s, r, any);
}

/* "none" standing alone after the first ';' (RFC 8601 no-result)? */
static bool
is_no_result(const struct ar_parser *s0)
{
	struct ar_parser s = *s0;
	bool any;

	s.diag = NULL;
	if (s.end - s.p < 4 || !ms_ascii_eqz(s.p, 4, "none"))
		return false;
	s.p += 4;
	if (s.p < s.end && ms_ar_keyc((unsigned char)*s.p))
		return false;
	if (skip_cfws(&s, NULL, &any) != MAILSEC_OK)
		return true;	/* the caller reports the comment */
	return peek(&s) != '=' && peek(&s) != '/';
}

/* Sets up s over (p, len): a final CRLF (or LF) is not part of it. A
 * NULL p is the empty field; a field over the limit is refused. */
static mailsec_err
parser_init(struct ar_parser *s, const char *p, size_t len, unsigned flags,
    struct mailsec_diag *diag)
{
	if (p == NULL)
		p = "";
	s->base = s->p = p;
	s->end = p + len;
	if (len >= 2 && p[len - 2] == '\r' && p[len - 1] == '\n')
		s->end -= 2;
	else if (len >= 1 && p[len - 1] == '\n')
		s->end -= 1;
	s->flags = flags;
	s->diag = diag;
	if (len > MAILSEC_AUTHRES_MAX_LEN)
		return perr(s, p + MAILSEC_AUTHRES_MAX_LEN, MAILSEC_ELIMIT,
		    "field longer than %d octets", MAILSEC_AUTHRES_MAX_LEN);
	return MAILSEC_OK;
}

/* [CFWS] ["i" [CFWS] "=" [CFWS] 1*DIGIT [CFWS] ";"] [CFWS] authserv-id */
static mailsec_err
parse_head(struct ar_parser *s, unsigned *instance, char **id)
{
	mailsec_err err;
	bool any;

	if ((err = skip_cfws(s, NULL, &any)) != MAILSEC_OK)
		return err;
	if (s->flags & MAILSEC_AUTHRES_AAR) {
		/* RFC 8617 4.2.1: %s"i", case-sensitive */
		if (peek(s) != 'i')
			return perr(s, s->p, MAILSEC_ESYNTAX,
			    "expected the ARC instance \"i=\"");
		s->p++;
		if ((err = skip_cfws(s, NULL, &any)) != MAILSEC_OK)
			return err;
		if (peek(s) != '=')
			return perr(s, s->p, MAILSEC_ESYNTAX,
			    "expected '=' after i");
		s->p++;
		if ((err = skip_cfws(s, NULL, &any)) != MAILSEC_OK ||
		    (err = parse_number(s, "an instance",
		    MAILSEC_AUTHRES_MAX_INSTANCE, instance)) != MAILSEC_OK)
			return err;
		if (*instance == 0)
			return perr(s, s->p - 1, MAILSEC_ESYNTAX,
			    "instance 0 (RFC 8617 4.2.1: 1 to 50)");
		if ((err = skip_cfws(s, NULL, &any)) != MAILSEC_OK)
			return err;
		if (peek(s) != ';')
			return perr(s, s->p, MAILSEC_ESYNTAX,
			    "expected ';' after the instance");
		s->p++;
		if ((err = skip_cfws(s, NULL, &any)) != MAILSEC_OK)
			return err;
	}
	if ((err = parse_value(s, "an authserv-id", id)) != MAILSEC_OK)
		return err;
	if ((*id)[0] == '\0')
		return perr(s, s->p - 2, MAILSEC_ESYNTAX, "empty authserv-id");
	return MAILSEC_OK;
}

mailsec_err
mailsec_authres_parse(const char *p, size_t len, unsigned flags,
    struct mailsec_authres **out, struct mailsec_diag *diag)
{
	struct mailsec_authres *ar = NULL;
	struct ar_parser s;
	const char *at;
	mailsec_err err;
	bool any;

	if (out == NULL || (p == NULL && len > 0))
		return MAILSEC_EINVAL;
	*out = NULL;
	if ((err = parser_init(&s, p, len, flags, diag)) != MAILSEC_OK)
		return err;
	if ((ar = ms_calloc(1, sizeof *ar)) == NULL)
		return MAILSEC_ENOMEM;
	if ((err = parse_head(&s, &ar->instance, &ar->authserv_id)) !=
	    MAILSEC_OK ||
	    (err = skip_cfws(&s, &ar->comment, &any)) != MAILSEC_OK)
		goto fail;
	if (ms_isdigit(peek(&s))) {
		at = s.p;
		if (!any) {
			err = perr(&s, s.p, MAILSEC_ESYNTAX,
			    "expected whitespace before the version");
			goto fail;
		}
		if ((err = parse_number(&s, "a version", 999999,
		    &ar->version)) != MAILSEC_OK)
			goto fail;
		if (ar->version != 1) {
			err = perr(&s, at, MAILSEC_EUNSUPPORTED,
			    "Authentication-Results version %u (only 1 is "
			    "known, RFC 8601 2.6)", ar->version);
			goto fail;
		}
		if ((err = skip_cfws(&s, &ar->comment, &any)) != MAILSEC_OK)
			goto fail;
	}
	for (;;) {
		if (at_end(&s))
			break;
		if (*s.p != ';') {
			err = perr(&s, s.p, MAILSEC_ESYNTAX, "expected ';'");
			goto fail;
		}
		at = s.p++;
		if ((err = skip_cfws(&s, NULL, &any)) != MAILSEC_OK)
			goto fail;
		if (ar->nresults == 0 && is_no_result(&s)) {
			s.p += 4;
			if ((err = skip_cfws(&s, NULL, &any)) != MAILSEC_OK)
				goto fail;
			if (!at_end(&s)) {
				err = perr(&s, s.p, MAILSEC_ESYNTAX,
				    "nothing may follow \"none\"");
				goto fail;
			}
			ar->none = true;
			break;
		}
		if (at_end(&s)) {
			err = perr(&s, at, MAILSEC_ESYNTAX,
			    "';' without a result after it");
			goto fail;
		}
		if ((err = parse_resinfo(&s, ar)) != MAILSEC_OK)
			goto fail;
	}
	if (!ar->none && ar->nresults == 0) {
		err = perr(&s, s.p, MAILSEC_ESYNTAX,
		    "expected \"; none\" or a result");
		goto fail;
	}
	*out = ar;
	return MAILSEC_OK;
fail:
	mailsec_authres_free(ar);
	return err;
}

mailsec_err
mailsec_authres_authserv_id(const char *p, size_t len, unsigned flags,
    char **out, struct mailsec_diag *diag)
{
	struct ar_parser s;
	unsigned instance;
	mailsec_err err;
	char *id = NULL;

	if (out == NULL || (p == NULL && len > 0))
		return MAILSEC_EINVAL;
	*out = NULL;
	if ((err = parser_init(&s, p, len, flags, diag)) != MAILSEC_OK)
		return err;
	if ((err = parse_head(&s, &instance, &id)) != MAILSEC_OK) {
		free(id);
		return err;
	}
	*out = id;
	return MAILSEC_OK;
}
