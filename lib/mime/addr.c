/*
 * lib/mime/addr.c - address lists and the author of a message.
 *
 * The parser reads an address-list (RFC 5322 section 3.4) with CFWS
 * wherever section 3.2.2 allows it, the obsolete forms of section 4.4
 * (obs-phrase, obs-local-part, obs-domain, obs-route, empty list
 * elements of obs-addr-list / obs-mbox-list / obs-group-list) and UTF-8
 * in atoms, quoted strings, comments and domain literals (RFC 6532
 * section 3.2). It is a recursive-descent parser without recursion:
 * address-list -> address -> mailbox / group -> words, angle-addr,
 * domain; comments nest and are counted, not recursed into.
 *
 * RFC 2047 encoded words get no special treatment: they are atoms only
 * when they are one token, and their text is kept as written. An
 * encoded word that holds a special ("=?utf-8?q?a@b.example?=") is read
 * for what the bytes say per RFC 5322, never "decoded" into something
 * the grammar did not see.
 *
 * Real-world forms and what we do with them (all refusals are
 * MAILSEC_ESYNTAX with an offset and a reason):
 *   Doe, John <j@x.example>  refused: the unquoted ',' ends the first
 *                            element "Doe", which is not an address
 *                            (RFC 5322 3.4: a display name with ','
 *                            must be quoted)
 *   <a@b.example             refused: '>' missing
 *   <>                       refused: the null path belongs to SMTP
 *                            (RFC 5321 4.1.2), not to a mailbox
 *   user                     refused: an addr-spec needs "@" domain
 *   a@b.example junk         refused: trailing garbage after an address
 *   "quoted"@domain          accepted, local part without the quotes
 *   user@[IPv6:2001:db8::1]  accepted, domain kept with its brackets,
 *                            domain_norm NULL (not a domain name)
 *   user@example.org.        accepted although RFC 5322 dot-atom has no
 *                            final dot: refusing it would make the
 *                            message unparseable for DMARC while every
 *                            resolver reads example.org; the domain is
 *                            kept as written, domain_norm drops the dot
 *   john..doe@x.example      refused (RFC 5322 3.4.1: no empty words)
 *   control characters       allowed only inside comments (obs-ctext),
 *                            which are dropped (but for one between two
 *                            words of a raw display name); refused in
 *                            quoted strings and literals, whose text
 *                            reaches the caller's strings
 *
 * mailsec_msg_author() applies RFC 9989 section 5.3.1 (exactly one
 * Author Domain, A-label form) and section 11.5 (multi-valued From:
 * report every domain so that a receiver may evaluate each of them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/addr.h>
#include <mailsec/domain.h>
#include <mailsec/msg.h>

#include "core/core.h"

/* Comments nest (RFC 5322 3.2.2); deeper than this is refused. */
#define MS_ADDR_COMMENT_DEPTH 16

/* Longest group display-name. Every member carries a copy of it, so
 * without a bound a long name times MAILSEC_ADDR_MAX members would turn
 * a 64 KiB field into 64 MB; 998 is the line length limit of RFC 5322
 * 2.1.1. */
#define MS_ADDR_GROUP_NAME_MAX 998

/* How much of the input a diagnostic quotes. */
#define MS_ADDR_QUOTE_MAX 40

struct ms_addr_parser {
	const char *p;
	size_t len;
	size_t pos;
	struct mailsec_diag *diag;
	struct mailsec_addr_list *list;	/* being filled */
	size_t cap;			/* allocated entries of list->addrs */
};

/* A run of words and dots: a display name (obs-phrase) or a local part
 * (obs-local-part), which one is known only from what follows. */
struct ms_addr_words {
	size_t start;		/* offset of the first token */
	size_t end;		/* offset just past the last token */
	size_t ntok;		/* words and dots */
	size_t nwords;
	bool adjacent;		/* two words with no '.' between them */
	bool bad_dot;		/* leading or doubled '.' */
	bool lead_dot;		/* the first token is '.' */
	bool prev_dot;		/* the last token was '.' */
	struct ms_buf text;	/* words unquoted, joined by their dots */
};

/* ---- characters --------------------------------------------------------- */

/* obs-NO-WS-CTL of RFC 5322 4.1. */
static bool
ms_addr_isnowsctl(int c)
{
	return (c >= 1 && c <= 8) || c == 11 || c == 12 ||
	    (c >= 14 && c <= 31) || c == 127;
}

/* Bytes of one folding-whitespace unit at pos: a WSP, or CRLF before a
 * WSP (RFC 5322 3.2.2 FWS; callers normally pass unfolded values). */
static size_t
ms_addr_fws_len(const struct ms_addr_parser *ps, size_t pos)
{
	const char *p = ps->p;

	if (pos < ps->len && ms_iswsp((unsigned char)p[pos]))
		return 1;
	if (pos + 2 < ps->len && p[pos] == '\r' && p[pos + 1] == '\n' &&
	    ms_iswsp((unsigned char)p[pos + 2]))
		return 3;
	return 0;
}

/* Length of input to quote from off so that a diagnostic stays short
 * and does not cut a UTF-8 sequence. */
static int
ms_addr_quote_len(const struct ms_addr_parser *ps, size_t off, size_t end)
{
	size_t n = end - off;

	if (n > MS_ADDR_QUOTE_MAX) {
		n = MS_ADDR_QUOTE_MAX;
		while (n > 0 && ((unsigned char)ps->p[off + n] & 0xc0) == 0x80)
			n--;
	}
	return (int)n;
}

/* The error for an unexpected byte at pos, in context ctx. */
static mailsec_err
ms_addr_bad_byte(struct ms_addr_parser *ps, size_t pos, const char *ctx)
{
	unsigned char c;

	if (pos >= ps->len)
		return ms_diag(ps->diag, MAILSEC_ESYNTAX, pos, 0,
		    "unexpected end of input %s", ctx);
	c = (unsigned char)ps->p[pos];
	if (c == 0)
		return ms_diag(ps->diag, MAILSEC_ESYNTAX, pos, 0,
		    "NUL byte %s", ctx);
	if (c == '\r' || c == '\n')
		return ms_diag(ps->diag, MAILSEC_ESYNTAX, pos, 0,
		    "line break that is not folding %s", ctx);
	if (c >= 0x80)
		return ms_diag(ps->diag, MAILSEC_ESYNTAX, pos, 0,
		    "malformed UTF-8 (byte 0x%02x) %s", c, ctx);
	if (c < 0x20 || c == 0x7f)
		return ms_diag(ps->diag, MAILSEC_ESYNTAX, pos, 0,
		    "control character 0x%02x %s", c, ctx);
	return ms_diag(ps->diag, MAILSEC_ESYNTAX, pos, 0,
	    "unexpected '%c' %s", c, ctx);
}

/* ---- lexical pieces ----------------------------------------------------- */

/*
 * quoted-pair = "\" (VCHAR / WSP), VCHAR extended to UTF-8 by RFC 6532.
 * pos is at the backslash; the quoted character is appended to b when b
 * is not NULL. obs-qp (NUL, controls, CR, LF) is refused.
 */
static mailsec_err
ms_addr_quoted_pair(struct ms_addr_parser *ps, struct ms_buf *b,
    const char *ctx)
{
	size_t at = ps->pos + 1, n = 0;
	unsigned char c;

	if (at >= ps->len)
		return ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->pos, 0,
		    "'\\' at the end of input %s", ctx);
	c = (unsigned char)ps->p[at];
	if ((c >= 0x21 && c <= 0x7e) || ms_iswsp(c))
		n = 1;
	else if (c >= 0x80)
		n = mailsec_utf8_len(ps->p + at,
		    ps->len - at);
	if (n == 0)
		return ms_addr_bad_byte(ps, at, ctx);
	if (b != NULL && ms_buf_append(b, ps->p + at, n) != MAILSEC_OK)
		return MAILSEC_ENOMEM;
	ps->pos = at + n;
	return MAILSEC_OK;
}

/*
 * comment (RFC 5322 3.2.2), pos at '('. Nesting is counted up to
 * MS_ADDR_COMMENT_DEPTH. ctext is printable ASCII but "()\", UTF-8
 * (RFC 6532) and, as obs-ctext, the controls of obs-NO-WS-CTL: a
 * comment is discarded, so they never reach the caller.
 */
static mailsec_err
ms_addr_comment(struct ms_addr_parser *ps)
{
	size_t open = ps->pos, depth = 0, n;
	unsigned char c;
	mailsec_err err;

	while (ps->pos < ps->len) {
		c = (unsigned char)ps->p[ps->pos];
		if (c == '(') {
			if (++depth > MS_ADDR_COMMENT_DEPTH)
				return ms_diag(ps->diag, MAILSEC_ESYNTAX,
				    ps->pos, 0, "comments nested deeper than "
				    "%d levels", MS_ADDR_COMMENT_DEPTH);
			ps->pos++;
		} else if (c == ')') {
			ps->pos++;
			if (--depth == 0)
				return MAILSEC_OK;
		} else if (c == '\\') {
			err = ms_addr_quoted_pair(ps, NULL, "in a comment");
			if (err != MAILSEC_OK)
				return err;
		} else if ((n = ms_addr_fws_len(ps, ps->pos)) > 0) {
			ps->pos += n;
		} else if ((c >= 0x21 && c <= 0x7e) || ms_addr_isnowsctl(c)) {
			ps->pos++;
		} else if (c >= 0x80 && (n = mailsec_utf8_len(
		    ps->p + ps->pos,
		    ps->len - ps->pos)) > 0) {
			ps->pos += n;
		} else
			return ms_addr_bad_byte(ps, ps->pos, "in a comment");
	}
	return ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->len, 0,
	    "comment opened at offset %zu is not closed with ')'", open);
}

/* Skips [CFWS]. A stray ')' is left for the caller to report. */
static mailsec_err
ms_addr_cfws(struct ms_addr_parser *ps)
{
	size_t n;
	mailsec_err err;

	while (ps->pos < ps->len) {
		if ((n = ms_addr_fws_len(ps, ps->pos)) > 0)
			ps->pos += n;
		else if (ps->p[ps->pos] == '(') {
			if ((err = ms_addr_comment(ps)) != MAILSEC_OK)
				return err;
		} else
			break;
	}
	return MAILSEC_OK;
}

/*
 * quoted-string (RFC 5322 3.2.4), pos at '"'. The content, quoting
 * removed, is appended to b. The CRLF of folding inside is invisible;
 * the WSP stays. qtext is printable ASCII but '"' and '\', and UTF-8.
 */
static mailsec_err
ms_addr_qstring(struct ms_addr_parser *ps, struct ms_buf *b)
{
	size_t open = ps->pos, n;
	unsigned char c;
	mailsec_err err;

	ps->pos++;
	while (ps->pos < ps->len) {
		c = (unsigned char)ps->p[ps->pos];
		if (c == '"') {
			ps->pos++;
			return MAILSEC_OK;
		}
		if (c == '\\') {
			err = ms_addr_quoted_pair(ps, b,
			    "in a quoted string");
			if (err != MAILSEC_OK)
				return err;
			continue;
		}
		if ((n = ms_addr_fws_len(ps, ps->pos)) > 0) {
			c = (unsigned char)ps->p[ps->pos + n - 1];
			ps->pos += n;
			if (ms_buf_appendc(b, (char)c) != MAILSEC_OK)
				return MAILSEC_ENOMEM;
			continue;
		}
		n = 0;
		if (c >= 0x21 && c <= 0x7e)
			n = 1;
		else if (c >= 0x80)
			n = mailsec_utf8_len(ps->p +
			    ps->pos, ps->len - ps->pos);
		if (n == 0)
			return ms_addr_bad_byte(ps, ps->pos,
			    "in a quoted string");
		if (ms_buf_append(b, ps->p + ps->pos, n) != MAILSEC_OK)
			return MAILSEC_ENOMEM;
		ps->pos += n;
	}
	return ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->len, 0,
	    "quoted string opened at offset %zu is not closed with '\"'",
	    open);
}

/* True when an atom starts at pos (ASCII atext or a non-ASCII byte,
 * which ms_addr_atom() then validates as UTF-8). */
static bool
ms_addr_atom_start(const struct ms_addr_parser *ps)
{
	unsigned char c;

	if (ps->pos >= ps->len)
		return false;
	c = (unsigned char)ps->p[ps->pos];
	return ms_isatext(c) || c >= 0x80;
}

/* 1*atext (RFC 5322 3.2.3, UTF-8 per RFC 6532 3.2), appended to b. */
static mailsec_err
ms_addr_atom(struct ms_addr_parser *ps, struct ms_buf *b)
{
	size_t start = ps->pos, n;
	unsigned char c;

	while (ps->pos < ps->len) {
		c = (unsigned char)ps->p[ps->pos];
		if (ms_isatext(c))
			ps->pos++;
		else if (c >= 0x80) {
			n = mailsec_utf8_len(ps->p +
			    ps->pos, ps->len - ps->pos);
			if (n == 0)
				return ms_addr_bad_byte(ps, ps->pos,
				    "in an atom");
			ps->pos += n;
		} else
			break;
	}
	if (ms_buf_append(b, ps->p + start, ps->pos - start) != MAILSEC_OK)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
}

/*
 * A run of words (atoms, quoted strings) and dots with CFWS between:
 * obs-phrase (RFC 5322 4.1) and obs-local-part (4.4) share it. Stops at
 * the first byte that is neither. w->text is initialized by the caller.
 */
static mailsec_err
ms_addr_words(struct ms_addr_parser *ps, struct ms_addr_words *w)
{
	mailsec_err err;
	char c;

	w->ntok = w->nwords = 0;
	w->adjacent = w->bad_dot = w->lead_dot = w->prev_dot = false;
	if ((err = ms_addr_cfws(ps)) != MAILSEC_OK)
		return err;
	w->start = w->end = ps->pos;
	for (;;) {
		if ((err = ms_addr_cfws(ps)) != MAILSEC_OK)
			return err;
		if (ps->pos >= ps->len)
			break;
		c = ps->p[ps->pos];
		if (c == '.') {
			if (w->ntok == 0)
				w->lead_dot = true;
			if (w->ntok == 0 || w->prev_dot)
				w->bad_dot = true;
			if (ms_buf_appendc(&w->text, '.') != MAILSEC_OK)
				return MAILSEC_ENOMEM;
			ps->pos++;
			w->prev_dot = true;
		} else if (c == '"' || ms_addr_atom_start(ps)) {
			if (w->ntok > 0 && !w->prev_dot)
				w->adjacent = true;
			err = c == '"' ? ms_addr_qstring(ps, &w->text) :
			    ms_addr_atom(ps, &w->text);
			if (err != MAILSEC_OK)
				return err;
			w->prev_dot = false;
			w->nwords++;
		} else
			break;
		w->ntok++;
		w->end = ps->pos;
	}
	return MAILSEC_OK;
}

/* A local part: word *("." word), RFC 5322 3.4.1 and 4.4. */
static bool
ms_addr_words_local(const struct ms_addr_words *w)
{
	return w->nwords > 0 && !w->adjacent && !w->bad_dot && !w->prev_dot;
}

/* A display name: obs-phrase = word *(word / "." / CFWS), RFC 5322 4.1. */
static bool
ms_addr_words_phrase(const struct ms_addr_words *w)
{
	return w->nwords > 0 && !w->lead_dot;
}

/*
 * domain (RFC 5322 3.4.1; obs-domain of 4.4 allows CFWS around the
 * dots), appended to b without its CFWS. A domain-literal keeps its
 * brackets and loses its FWS. One final '.' is accepted (see the file
 * head).
 */
static mailsec_err
ms_addr_domain(struct ms_addr_parser *ps, struct ms_buf *b)
{
	size_t open, n, save;
	unsigned char c;
	mailsec_err err;

	if ((err = ms_addr_cfws(ps)) != MAILSEC_OK)
		return err;
	if (ps->pos < ps->len && ps->p[ps->pos] == '[') {
		open = ps->pos++;
		if (ms_buf_appendc(b, '[') != MAILSEC_OK)
			return MAILSEC_ENOMEM;
		while (ps->pos < ps->len) {
			c = (unsigned char)ps->p[ps->pos];
			if (c == ']') {
				ps->pos++;
				if (ms_buf_appendc(b, ']') != MAILSEC_OK)
					return MAILSEC_ENOMEM;
				return ms_addr_cfws(ps);
			}
			if ((n = ms_addr_fws_len(ps, ps->pos)) > 0) {
				ps->pos += n;
				continue;
			}
			if (c == '\\') {
				/* obs-dtext: kept as written. */
				save = ps->pos;
				err = ms_addr_quoted_pair(ps, NULL,
				    "in a domain literal");
				if (err != MAILSEC_OK)
					return err;
				if (ms_buf_append(b, ps->p + save,
				    ps->pos - save) != MAILSEC_OK)
					return MAILSEC_ENOMEM;
				continue;
			}
			n = 0;
			if (c >= 0x21 && c <= 0x7e && c != '[')
				n = 1;
			else if (c >= 0x80)
				n = mailsec_utf8_len(ps->p + ps->pos,
				    ps->len - ps->pos);
			if (n == 0)
				return ms_addr_bad_byte(ps, ps->pos,
				    "in a domain literal");
			if (ms_buf_append(b, ps->p + ps->pos, n) !=
			    MAILSEC_OK)
				return MAILSEC_ENOMEM;
			ps->pos += n;
		}
		return ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->len, 0,
		    "domain literal opened at offset %zu is not closed "
		    "with ']'", open);
	}
	if (!ms_addr_atom_start(ps))
		return ms_addr_bad_byte(ps, ps->pos, "where a domain "
		    "was expected after '@'");
	for (;;) {
		if ((err = ms_addr_atom(ps, b)) != MAILSEC_OK)
			return err;
		if ((err = ms_addr_cfws(ps)) != MAILSEC_OK)
			return err;
		if (ps->pos >= ps->len || ps->p[ps->pos] != '.')
			return MAILSEC_OK;
		ps->pos++;
		if (ms_buf_appendc(b, '.') != MAILSEC_OK)
			return MAILSEC_ENOMEM;
		if ((err = ms_addr_cfws(ps)) != MAILSEC_OK)
			return err;
		if (ms_addr_atom_start(ps))
			continue;
		if (ps->pos < ps->len && ps->p[ps->pos] == '.')
			return ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->pos, 0,
			    "empty label ('..') in a domain");
		/* The final dot of "example.org." */
		return MAILSEC_OK;
	}
}

/*
 * obs-route (RFC 5322 4.4): obs-domain-list ":" before the addr-spec of
 * an angle-addr, pos after '<' and its CFWS. The route is read and
 * dropped, as section 4.4 says it is to be ignored.
 */
static mailsec_err
ms_addr_route(struct ms_addr_parser *ps, size_t open)
{
	struct ms_buf skip;
	bool after_domain = false;
	size_t ndomains = 0;
	mailsec_err err;
	char c;

	for (;;) {
		if ((err = ms_addr_cfws(ps)) != MAILSEC_OK)
			return err;
		c = ps->pos < ps->len ? ps->p[ps->pos] : '\0';
		if (c == ',') {
			ps->pos++;
			after_domain = false;
		} else if (c == '@' && !after_domain) {
			ps->pos++;
			ms_buf_init(&skip, ps->len + 1);
			err = ms_addr_domain(ps, &skip);
			ms_buf_free(&skip);
			if (err != MAILSEC_OK)
				return err;
			after_domain = true;
			ndomains++;
		} else if (c == ':' && ndomains > 0) {
			ps->pos++;
			return MAILSEC_OK;
		} else if (c == '>' && ndomains > 0)
			return ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->pos, 0,
			    "the angle address opened at offset %zu has a "
			    "route but no addr-spec", open);
		else
			return ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->pos, 0,
			    "expected %s in the route of the angle address "
			    "opened at offset %zu", after_domain ?
			    "',' or ':'" : "'@domain'", open);
	}
}

/* ---- building the list -------------------------------------------------- */

static void
ms_addr_clear(struct mailsec_addr *a)
{
	free(a->local);
	free(a->domain);
	free(a->domain_norm);
	free(a->display);
	free(a->group);
}

/* Appends one address; takes the strings of local and domain. */
static mailsec_err
ms_addr_push(struct ms_addr_parser *ps, size_t at, struct ms_buf *local,
    struct ms_buf *domain, size_t dstart, size_t dend, size_t gstart,
    size_t gend, bool group)
{
	struct mailsec_addr_list *l = ps->list;
	struct mailsec_addr a, *na;
	char norm[MAILSEC_DOMAIN_MAX];
	size_t ncap, dlen;
	mailsec_err err;

	if (l->count >= MAILSEC_ADDR_MAX)
		return ms_diag(ps->diag, MAILSEC_ELIMIT, at, 0,
		    "more than %d addresses in the list", MAILSEC_ADDR_MAX);
	if (l->count == ps->cap) {
		ncap = ps->cap ? ps->cap * 2 : 4;
		if (ncap > MAILSEC_ADDR_MAX)
			ncap = MAILSEC_ADDR_MAX;
		na = ms_reallocarray(l->addrs, ncap, sizeof *na);
		if (na == NULL)
			return MAILSEC_ENOMEM;
		l->addrs = na;
		ps->cap = ncap;
	}
	memset(&a, 0, sizeof a);
	a.local = ms_buf_steal(local, NULL);
	a.domain = ms_buf_steal(domain, &dlen);
	if (a.local == NULL || a.domain == NULL)
		goto nomem;
	if (a.domain[0] != '[') {
		err = mailsec_domain_normalize(a.domain, dlen, norm,
		    sizeof norm, NULL, NULL);
		if (err == MAILSEC_ENOMEM)
			goto nomem;
		if (err == MAILSEC_OK &&
		    (a.domain_norm = ms_memdupz(norm, strlen(norm))) == NULL)
			goto nomem;
	}
	if (dstart < dend && (a.display = ms_memdupz(ps->p + dstart,
	    dend - dstart)) == NULL)
		goto nomem;
	if (group && (a.group = ms_memdupz(ps->p + gstart,
	    gend - gstart)) == NULL)
		goto nomem;
	l->addrs[l->count++] = a;
	return MAILSEC_OK;
nomem:
	ms_addr_clear(&a);
	return MAILSEC_ENOMEM;
}

/*
 * angle-addr / obs-angle-addr (RFC 5322 3.4, 4.4), pos at '<'. The
 * addr-spec inside is pushed with the display name span given.
 */
static mailsec_err
ms_addr_angle(struct ms_addr_parser *ps, size_t dstart, size_t dend,
    size_t gstart, size_t gend, bool group)
{
	struct ms_addr_words w;
	struct ms_buf domain;
	size_t open = ps->pos;
	mailsec_err err;
	char c;

	ms_buf_init(&w.text, ps->len + 1);
	ms_buf_init(&domain, ps->len + 1);
	ps->pos++;
	if ((err = ms_addr_cfws(ps)) != MAILSEC_OK)
		goto out;
	c = ps->pos < ps->len ? ps->p[ps->pos] : '\0';
	if (c == '>') {
		err = ms_diag(ps->diag, MAILSEC_ESYNTAX, open, 0,
		    "empty angle address '<>' is not a mailbox");
		goto out;
	}
	if (c == '@' || c == ',') {
		if ((err = ms_addr_route(ps, open)) != MAILSEC_OK)
			goto out;
	}
	if ((err = ms_addr_words(ps, &w)) != MAILSEC_OK)
		goto out;
	if (!ms_addr_words_local(&w)) {
		if (w.ntok == 0)
			err = ms_addr_bad_byte(ps, ps->pos, "where the "
			    "local part of an angle address was expected");
		else
			err = ms_diag(ps->diag, MAILSEC_ESYNTAX, w.start, 0,
			    "'%.*s' is not a valid local part (words must "
			    "be joined by single dots)",
			    ms_addr_quote_len(ps, w.start, w.end),
			    ps->p + w.start);
		goto out;
	}
	if (ps->pos >= ps->len || ps->p[ps->pos] != '@') {
		err = ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->pos, 0,
		    "expected '@' after the local part of the angle address "
		    "opened at offset %zu", open);
		goto out;
	}
	ps->pos++;
	if ((err = ms_addr_domain(ps, &domain)) != MAILSEC_OK)
		goto out;
	if (ps->pos >= ps->len || ps->p[ps->pos] != '>') {
		err = ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->pos, 0,
		    "expected '>' to close the angle address opened at "
		    "offset %zu", open);
		goto out;
	}
	ps->pos++;
	err = ms_addr_push(ps, open, &w.text, &domain, dstart, dend, gstart,
	    gend, group);
out:
	ms_buf_free(&w.text);
	ms_buf_free(&domain);
	return err;
}

static mailsec_err ms_addr_group(struct ms_addr_parser *, size_t, size_t);

/*
 * address / mailbox (RFC 5322 3.4): name-addr, addr-spec or (when
 * in_group is false) group. The leading words decide: '<' makes them a
 * display name, '@' a local part, ':' a group name. gstart..gend names
 * the enclosing group when in_group.
 */
static mailsec_err
ms_addr_address(struct ms_addr_parser *ps, bool in_group, size_t gstart,
    size_t gend)
{
	struct ms_addr_words w;
	struct ms_buf domain;
	mailsec_err err;
	size_t at;
	char c;

	ms_buf_init(&w.text, ps->len + 1);
	ms_buf_init(&domain, ps->len + 1);
	if ((err = ms_addr_words(ps, &w)) != MAILSEC_OK)
		goto out;
	c = ps->pos < ps->len ? ps->p[ps->pos] : '\0';
	if (w.ntok == 0 && c != '<') {
		switch (c) {
		case '@':
			err = ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->pos, 0,
			    "'@' without a local part before it");
			break;
		case ':':
			err = ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->pos, 0,
			    "group without a display name before ':'");
			break;
		case ')':
			err = ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->pos, 0,
			    "')' without a matching '('");
			break;
		case '\\':
			err = ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->pos, 0,
			    "'\\' outside a quoted string or comment");
			break;
		default:
			err = ms_addr_bad_byte(ps, ps->pos,
			    "where an address was expected");
		}
		goto out;
	}
	if (c == '<' || c == ':') {
		if (w.ntok > 0 && !ms_addr_words_phrase(&w)) {
			err = ms_diag(ps->diag, MAILSEC_ESYNTAX, w.start, 0,
			    "a display name must begin with a word, not "
			    "'.'");
			goto out;
		}
		if (c == '<') {
			err = ms_addr_angle(ps, w.start, w.end, gstart, gend,
			    in_group);
			goto out;
		}
		if (in_group) {
			err = ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->pos, 0,
			    "a group cannot contain a group (group '%.*s' "
			    "inside group '%.*s')",
			    ms_addr_quote_len(ps, w.start, w.end),
			    ps->p + w.start,
			    ms_addr_quote_len(ps, gstart, gend),
			    ps->p + gstart);
			goto out;
		}
		if (w.end - w.start > MS_ADDR_GROUP_NAME_MAX) {
			err = ms_diag(ps->diag, MAILSEC_ELIMIT, w.start, 0,
			    "group name longer than %d bytes",
			    MS_ADDR_GROUP_NAME_MAX);
			goto out;
		}
		err = ms_addr_group(ps, w.start, w.end);
		goto out;
	}
	if (c != '@') {
		err = ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->pos, 0,
		    "expected '@domain' or '<address>' after '%.*s'%s",
		    ms_addr_quote_len(ps, w.start, w.end), ps->p + w.start,
		    c == ',' ? " (an unquoted ',' ends an address: quote a "
		    "display name that contains one)" : "");
		goto out;
	}
	if (!ms_addr_words_local(&w)) {
		err = ms_diag(ps->diag, MAILSEC_ESYNTAX, w.start, 0,
		    "'%.*s' is not a valid local part (%s)",
		    ms_addr_quote_len(ps, w.start, w.end), ps->p + w.start,
		    w.adjacent ? "words must be joined by '.'; a display "
		    "name needs '<address>'" : "misplaced '.'");
		goto out;
	}
	at = w.start;
	ps->pos++;
	if ((err = ms_addr_domain(ps, &domain)) != MAILSEC_OK)
		goto out;
	err = ms_addr_push(ps, at, &w.text, &domain, 0, 0, gstart, gend,
	    in_group);
out:
	ms_buf_free(&w.text);
	ms_buf_free(&domain);
	return err;
}

/*
 * group = display-name ":" [group-list] ";" [CFWS] (RFC 5322 3.4) with
 * obs-group-list and the empty elements of obs-mbox-list (4.4). pos is
 * at ':'; nstart..nend is the display name.
 */
static mailsec_err
ms_addr_group(struct ms_addr_parser *ps, size_t nstart, size_t nend)
{
	size_t colon = ps->pos;
	mailsec_err err;
	char c;

	ps->pos++;
	for (;;) {
		if ((err = ms_addr_cfws(ps)) != MAILSEC_OK)
			return err;
		if (ps->pos >= ps->len)
			return ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->pos, 0,
			    "expected ';' to close the group '%.*s' opened "
			    "at offset %zu", ms_addr_quote_len(ps, nstart,
			    nend), ps->p + nstart, colon);
		c = ps->p[ps->pos];
		if (c == ';') {
			ps->pos++;
			return ms_addr_cfws(ps);
		}
		if (c == ',') {
			ps->pos++;
			continue;
		}
		err = ms_addr_address(ps, true, nstart, nend);
		if (err != MAILSEC_OK)
			return err;
		if ((err = ms_addr_cfws(ps)) != MAILSEC_OK)
			return err;
		if (ps->pos < ps->len && ps->p[ps->pos] == ',') {
			ps->pos++;
			continue;
		}
		if (ps->pos < ps->len && ps->p[ps->pos] == ';')
			continue;
		if (ps->pos >= ps->len)
			continue;	/* reported as an unclosed group */
		return ms_diag(ps->diag, MAILSEC_ESYNTAX, ps->pos, 0,
		    "expected ',' or ';' after a member of the group '%.*s' "
		    "opened at offset %zu", ms_addr_quote_len(ps, nstart,
		    nend), ps->p + nstart, colon);
	}
}

/* ---- public ------------------------------------------------------------- */

void
mailsec_addr_list_free(struct mailsec_addr_list *list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->count; i++)
		ms_addr_clear(&list->addrs[i]);
	free(list->addrs);
	free(list);
}

/*
 * address-list with obs-addr-list (RFC 5322 3.4, 4.4):
 *   *([CFWS] ",") address *("," [address / CFWS])
 * At least one address is required; an empty group is one.
 */
mailsec_err
mailsec_addr_parse_list(const char *p, size_t len,
    struct mailsec_addr_list **out, struct mailsec_diag *diag)
{
	struct ms_addr_parser ps;
	size_t naddr = 0, start;
	char ctx[96];
	mailsec_err err;

	if (out == NULL || (p == NULL && len > 0))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "mailsec_addr_parse_list: NULL argument");
	memset(&ps, 0, sizeof ps);
	ps.p = p;
	ps.len = len;
	ps.diag = diag;
	ps.list = calloc(1, sizeof *ps.list);
	if (ps.list == NULL)
		return MAILSEC_ENOMEM;
	for (;;) {
		if ((err = ms_addr_cfws(&ps)) != MAILSEC_OK)
			goto fail;
		if (ps.pos >= ps.len)
			break;
		if (ps.p[ps.pos] == ',') {
			ps.pos++;
			continue;
		}
		start = ps.pos;
		if ((err = ms_addr_address(&ps, false, 0, 0)) != MAILSEC_OK)
			goto fail;
		naddr++;
		if ((err = ms_addr_cfws(&ps)) != MAILSEC_OK)
			goto fail;
		if (ps.pos >= ps.len)
			break;
		if (ps.p[ps.pos] != ',') {
			snprintf(ctx, sizeof ctx, "after the address at "
			    "offset %zu (expected ',' or the end of the "
			    "list)", start);
			err = ms_addr_bad_byte(&ps, ps.pos, ctx);
			goto fail;
		}
		ps.pos++;
	}
	if (naddr == 0) {
		err = ms_diag(diag, MAILSEC_ESYNTAX, ps.pos, 0,
		    "no address in the list");
		goto fail;
	}
	*out = ps.list;
	return MAILSEC_OK;
fail:
	mailsec_addr_list_free(ps.list);
	return err;
}

const char *
mailsec_author_status_name(enum mailsec_author_status s)
{
	switch (s) {
	case MAILSEC_AUTHOR_OK:
		return "ok";
	case MAILSEC_AUTHOR_NO_FROM:
		return "no_from";
	case MAILSEC_AUTHOR_MULTIPLE_FROM:
		return "multiple_from";
	case MAILSEC_AUTHOR_MULTIPLE_ADDRS:
		return "multiple_addresses";
	case MAILSEC_AUTHOR_UNPARSEABLE:
		return "unparseable";
	}
	return "unknown";
}

void
mailsec_author_free(struct mailsec_author *author)
{
	size_t i;

	if (author == NULL)
		return;
	mailsec_addr_list_free(author->addrs);
	for (i = 0; i < author->ndomains; i++)
		free(author->domains[i]);
	free(author->domains);
	free(author);
}

/* Moves every address of src to the end of dst (src is freed). Beyond
 * MAILSEC_ADDR_MAX in dst nothing is moved and false is returned. */
static mailsec_err
ms_author_take(struct mailsec_addr_list *dst, struct mailsec_addr_list *src,
    bool *fits)
{
	struct mailsec_addr *na;
	size_t n;

	*fits = ms_size_add(dst->count, src->count, &n) &&
	    n <= MAILSEC_ADDR_MAX;
	if (!*fits || src->count == 0) {
		mailsec_addr_list_free(src);
		return MAILSEC_OK;
	}
	na = ms_reallocarray(dst->addrs, n, sizeof *na);
	if (na == NULL) {
		mailsec_addr_list_free(src);
		return MAILSEC_ENOMEM;
	}
	memcpy(na + dst->count, src->addrs, src->count * sizeof *na);
	dst->addrs = na;
	dst->count = n;
	free(src->addrs);
	free(src);
	return MAILSEC_OK;
}

/* Fills au->domains with the distinct domain_norm values, in order. */
static mailsec_err
ms_author_domains(struct mailsec_author *au)
{
	const struct mailsec_addr_list *l = au->addrs;
	size_t i, j;
	char *d;

	if (l->count == 0)
		return MAILSEC_OK;
	au->domains = ms_calloc(l->count, sizeof *au->domains);
	if (au->domains == NULL)
		return MAILSEC_ENOMEM;
	for (i = 0; i < l->count; i++) {
		if (l->addrs[i].domain_norm == NULL)
			continue;
		for (j = 0; j < au->ndomains; j++)
			if (strcmp(au->domains[j],
			    l->addrs[i].domain_norm) == 0)
				break;
		if (j < au->ndomains)
			continue;
		d = ms_memdupz(l->addrs[i].domain_norm,
		    strlen(l->addrs[i].domain_norm));
		if (d == NULL)
			return MAILSEC_ENOMEM;
		au->domains[au->ndomains++] = d;
	}
	return MAILSEC_OK;
}

/* Says why address i has no usable domain (into au->diag). */
static void
ms_author_bad_domain(struct mailsec_author *au, size_t i)
{
	const struct mailsec_addr *a = &au->addrs->addrs[i];
	struct mailsec_diag d = { 0 };
	char norm[MAILSEC_DOMAIN_MAX];

	if (a->domain[0] == '[') {
		ms_diag(&au->diag, MAILSEC_ESYNTAX, 0, 0, "address %zu "
		    "(%.40s@%.80s): an address literal is not a domain name",
		    i + 1, a->local, a->domain);
		return;
	}
	(void)mailsec_domain_normalize(a->domain, strlen(a->domain), norm,
	    sizeof norm, NULL, &d);
	ms_diag(&au->diag, MAILSEC_ESYNTAX, 0, 0, "address %zu "
	    "(%.40s@%.80s): not a usable domain name: %s", i + 1, a->local,
	    a->domain, d.set ? d.text : "refused");
}

/*
 * RFC 9989 section 3.2.2: the Author Domain is the domain of the
 * RFC5322.From address. Section 5.3.1: it is used in A-label form, and
 * when zero or more than one domain comes out of From, DMARC validation
 * is not possible (a receiver MAY still go on with several). Sections
 * 4.4 and 11.5: a missing, repeated or malformed From is out of DMARC's
 * scope and must not be a way around it; for a multi-valued From the
 * recommended approach is to evaluate every domain and apply the
 * strictest policy. So the status names the case and domains[] lists
 * every author domain; nothing is reduced to "the first address"
 * (OpenDMARC CVE-2019-16378 did, and let b@evil.example pass as
 * a@good.example).
 *
 * Precedence: NO_FROM, then MULTIPLE_FROM (RFC 5322 3.6 allows one From;
 * every field is still parsed and collected), then for the single field
 * UNPARSEABLE (syntax error, no address, or any address whose domain
 * does not normalize: its Author Domain cannot be evaluated, so the set
 * of domains would be incomplete), then MULTIPLE_ADDRS, then OK.
 */
mailsec_err
mailsec_msg_author(const struct mailsec_msg *msg,
    struct mailsec_author **out)
{
	struct mailsec_author *au;
	struct mailsec_addr_list *l;
	const struct mailsec_header *h;
	struct mailsec_diag d;
	bool failed = false, fits;
	size_t i, n = 0, bad = (size_t)-1;
	mailsec_err err;

	if (msg == NULL || out == NULL)
		return MAILSEC_EINVAL;
	au = calloc(1, sizeof *au);
	if (au == NULL)
		return MAILSEC_ENOMEM;
	au->addrs = calloc(1, sizeof *au->addrs);
	if (au->addrs == NULL) {
		err = MAILSEC_ENOMEM;
		goto fail;
	}
	for (i = mailsec_msg_find(msg, "From", 0); i != (size_t)-1;
	    i = mailsec_msg_find(msg, "From", i + 1)) {
		h = mailsec_msg_field(msg, i);
		if (h == NULL)
			break;
		n++;
		memset(&d, 0, sizeof d);
		l = NULL;
		err = mailsec_addr_parse_list(h->value.ptr, h->value.len, &l,
		    &d);
		if (err == MAILSEC_ENOMEM)
			goto fail;
		if (err != MAILSEC_OK) {
			if (!failed)
				ms_diag(&au->diag, MAILSEC_ESYNTAX, d.offset,
				    0, "From field %zu, offset %zu: %s", n,
				    d.offset, d.set ? d.text :
				    mailsec_strerror(err));
			failed = true;
			continue;
		}
		if ((err = ms_author_take(au->addrs, l, &fits)) != MAILSEC_OK)
			goto fail;
		if (!fits && !failed) {
			ms_diag(&au->diag, MAILSEC_ELIMIT, 0, 0,
			    "From field %zu: more than %d addresses in all "
			    "From fields; the rest are not listed", n,
			    MAILSEC_ADDR_MAX);
			failed = true;
		}
	}
	au->from_fields = n;
	if ((err = ms_author_domains(au)) != MAILSEC_OK)
		goto fail;
	for (i = 0; i < au->addrs->count; i++)
		if (au->addrs->addrs[i].domain_norm == NULL) {
			bad = i;
			break;
		}
	if (n == 0)
		au->status = MAILSEC_AUTHOR_NO_FROM;
	else if (n > 1)
		au->status = MAILSEC_AUTHOR_MULTIPLE_FROM;
	else if (failed)
		au->status = MAILSEC_AUTHOR_UNPARSEABLE;
	else if (au->addrs->count == 0) {
		au->status = MAILSEC_AUTHOR_UNPARSEABLE;
		ms_diag(&au->diag, MAILSEC_ESYNTAX, 0, 0, "From holds no "
		    "address (an empty group): there is no Author Domain");
	} else if (bad != (size_t)-1) {
		au->status = MAILSEC_AUTHOR_UNPARSEABLE;
		ms_author_bad_domain(au, bad);
	} else if (au->addrs->count > 1)
		au->status = MAILSEC_AUTHOR_MULTIPLE_ADDRS;
	else
		au->status = MAILSEC_AUTHOR_OK;
	*out = au;
	return MAILSEC_OK;
fail:
	mailsec_author_free(au);
	return err;
}
