/*
 * daemon/conf_parse.c - the mailsec.conf grammar (see conf_parse.h): a
 * lexer over (ptr, len) with one token of lookahead and a recursive
 * descent over sections, bounded in depth, tokens and sizes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/str.h>

#include "core/core.h"

#include "conf_parse.h"

enum tok {
	T_EOF,
	T_WORD,
	T_STRING,
	T_SEMI,
	T_LBRACE,
	T_RBRACE,
	T_LBRACK,
	T_RBRACK,
	T_COMMA,
	T_EQ
};

struct token {
	enum tok t;
	char *s;		/* T_WORD / T_STRING: owned, NUL-terminated */
	size_t len;
	unsigned line, col;
};

struct lex {
	const char *p, *end;
	const char *bol;	/* start of the current line */
	unsigned line;
	size_t ntok;
	const char *name;
	char *err;
	size_t errlen;
	bool have_peek;
	struct token peek;
};

static const char *
tok_name(enum tok t)
{
	switch (t) {
	case T_EOF: return "the end of the file";
	case T_WORD: return "a word";
	case T_STRING: return "a string";
	case T_SEMI: return "';'";
	case T_LBRACE: return "'{'";
	case T_RBRACE: return "'}'";
	case T_LBRACK: return "'['";
	case T_RBRACK: return "']'";
	case T_COMMA: return "','";
	case T_EQ: return "'='";
	}
	return "?";
}

static mailsec_err lex_error(struct lex *lx, mailsec_err err, unsigned line,
    unsigned col, const char *fmt, ...) MS_PRINTF(5, 6);

static mailsec_err
lex_error(struct lex *lx, mailsec_err err, unsigned line, unsigned col,
    const char *fmt, ...)
{
	va_list ap;
	char *q;
	int n;

	if (lx->errlen == 0)
		return err;
	n = snprintf(lx->err, lx->errlen, "%s:%u:%u: ", lx->name, line, col);
	if (n < 0 || (size_t)n >= lx->errlen)
		return err;
	va_start(ap, fmt);
	vsnprintf(lx->err + n, lx->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	/* keys quoted in messages may hold control bytes: one line */
	for (q = lx->err; *q != '\0'; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
	return err;
}

static unsigned
lex_col(const struct lex *lx, const char *at)
{
	return (unsigned)(at - lx->bol) + 1;
}

static bool
is_word_byte(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr(";{}[],=\"'#\\", c) == NULL;
}

/* Skips whitespace and comments. */
static mailsec_err
lex_skip(struct lex *lx)
{
	const char *start;
	unsigned sline, scol;

	while (lx->p < lx->end) {
		unsigned char c = (unsigned char)*lx->p;

		if (c == '\n') {
			lx->p++;
			lx->line++;
			lx->bol = lx->p;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			lx->p++;
		} else if (c == '#' || (c == '/' && lx->end - lx->p >= 2 &&
		    lx->p[1] == '/')) {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (c == '/' && lx->end - lx->p >= 2 &&
		    lx->p[1] == '*') {
			start = lx->p;
			sline = lx->line;
			scol = lex_col(lx, start);
			lx->p += 2;
			for (;;) {
				if (lx->end - lx->p < 2) {
					return lex_error(lx, MAILSEC_ESYNTAX,
					    sline, scol, "unterminated comment "
					    "(no '*/' after this '/*')");
				}
				if (lx->p[0] == '*' && lx->p[1] == '/') {
					lx->p += 2;
					break;
				}
				if (*lx->p == '\n') {
					lx->line++;
					lx->bol = lx->p + 1;
				}
				lx->p++;
			}
		} else {
			break;
		}
	}
	return MAILSEC_OK;
}

static mailsec_err
lex_string(struct lex *lx, struct token *tk)
{
	struct ms_buf b;
	const char *q;
	size_t n;
	char c;
	mailsec_err err;

	ms_buf_init(&b, CONF_MAX_STRING);
	lx->p++;	/* the opening quote */
	for (;;) {
		if (lx->p >= lx->end || *lx->p == '\n') {
			ms_buf_free(&b);
			return lex_error(lx, MAILSEC_ESYNTAX, tk->line, tk->col,
			    "unterminated string (strings end on the line "
			    "they start)");
		}
		c = *lx->p;
		if (c == '"') {
			lx->p++;
			break;
		}
		if (c == '\\') {
			if (lx->end - lx->p < 2) {
				ms_buf_free(&b);
				return lex_error(lx, MAILSEC_ESYNTAX, tk->line,
				    tk->col, "unterminated string");
			}
			switch (lx->p[1]) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			default:
				ms_buf_free(&b);
				return lex_error(lx, MAILSEC_ESYNTAX, lx->line,
				    lex_col(lx, lx->p), "unknown escape; use "
				    "\\\" \\\\ \\n \\t or \\r");
			}
			err = ms_buf_appendc(&b, c);
			lx->p += 2;
		} else if ((unsigned char)c < 0x20 || c == 0x7f) {
			ms_buf_free(&b);
			return lex_error(lx, MAILSEC_ESYNTAX, lx->line,
			    lex_col(lx, lx->p), "control character 0x%02x in "
			    "a string (write \\t, \\n or \\r)",
			    (unsigned)(unsigned char)c);
		} else if ((unsigned char)c >= 0x80) {
			q = lx->p;
			n = mailsec_utf8_len(q, (size_t)(lx->end - q));
			if (n == 0) {
				ms_buf_free(&b);
				return lex_error(lx, MAILSEC_ESYNTAX, lx->line,
				    lex_col(lx, q), "invalid UTF-8 in a "
				    "string");
			}
			err = ms_buf_append(&b, q, n);
			lx->p += n;
		} else {
			err = ms_buf_appendc(&b, c);
			lx->p++;
		}
		if (err != MAILSEC_OK) {
			return lex_error(lx, err, tk->line, tk->col,
			    err == MAILSEC_ELIMIT ? "string longer than %d "
			    "bytes" : "out of memory", CONF_MAX_STRING);
		}
	}
	tk->s = ms_buf_steal(&b, &tk->len);
	if (tk->s == NULL)
		return lex_error(lx, MAILSEC_ENOMEM, tk->line, tk->col,
		    "out of memory");
	tk->t = T_STRING;
	return MAILSEC_OK;
}

static mailsec_err
lex_next(struct lex *lx, struct token *tk)
{
	const char *s;
	unsigned char c;
	mailsec_err err;

	if (lx->have_peek) {
		*tk = lx->peek;
		lx->have_peek = false;
		return MAILSEC_OK;
	}
	memset(tk, 0, sizeof *tk);
	if ((err = lex_skip(lx)) != MAILSEC_OK)
		return err;
	tk->line = lx->line;
	tk->col = lex_col(lx, lx->p);
	if (lx->p >= lx->end) {
		tk->t = T_EOF;
		return MAILSEC_OK;
	}
	if (++lx->ntok > CONF_MAX_TOKENS)
		return lex_error(lx, MAILSEC_ELIMIT, tk->line, tk->col,
		    "more than %d tokens in one file", CONF_MAX_TOKENS);
	c = (unsigned char)*lx->p;
	switch (c) {
	case ';': tk->t = T_SEMI; lx->p++; return MAILSEC_OK;
	case '{': tk->t = T_LBRACE; lx->p++; return MAILSEC_OK;
	case '}': tk->t = T_RBRACE; lx->p++; return MAILSEC_OK;
	case '[': tk->t = T_LBRACK; lx->p++; return MAILSEC_OK;
	case ']': tk->t = T_RBRACK; lx->p++; return MAILSEC_OK;
	case ',': tk->t = T_COMMA; lx->p++; return MAILSEC_OK;
	case '=': tk->t = T_EQ; lx->p++; return MAILSEC_OK;
	case '"': return lex_string(lx, tk);
	case '\'':
		return lex_error(lx, MAILSEC_ESYNTAX, tk->line, tk->col,
		    "single quotes are not strings here; use \"...\"");
	case '\\':
		return lex_error(lx, MAILSEC_ESYNTAX, tk->line, tk->col,
		    "'\\' outside a string; quote the value");
	default:
		break;
	}
	if (!is_word_byte(c)) {
		if (c >= 0x80)
			return lex_error(lx, MAILSEC_ESYNTAX, tk->line,
			    tk->col, "non-ASCII byte outside quotes; quote "
			    "the value (\"...\")");
		return lex_error(lx, MAILSEC_ESYNTAX, tk->line, tk->col,
		    "unexpected byte 0x%02x", (unsigned)c);
	}
	s = lx->p;
	while (lx->p < lx->end && is_word_byte((unsigned char)*lx->p))
		lx->p++;
	tk->len = (size_t)(lx->p - s);
	if (tk->len > CONF_MAX_STRING)
		return lex_error(lx, MAILSEC_ELIMIT, tk->line, tk->col,
		    "word longer than %d bytes", CONF_MAX_STRING);
	if ((tk->s = ms_memdupz(s, tk->len)) == NULL)
		return lex_error(lx, MAILSEC_ENOMEM, tk->line, tk->col,
		    "out of memory");
	tk->t = T_WORD;
	return MAILSEC_OK;
}

static mailsec_err
lex_peek(struct lex *lx, const struct token **tk)
{
	mailsec_err err;

	if (!lx->have_peek) {
		if ((err = lex_next(lx, &lx->peek)) != MAILSEC_OK)
			return err;
		lx->have_peek = true;
	}
	*tk = &lx->peek;
	return MAILSEC_OK;
}

static void
tok_free(struct token *tk)
{
	free(tk->s);
	tk->s = NULL;
}

static void
node_append(struct conf_node *parent, struct conf_node *n)
{
	if (parent->last == NULL)
		parent->child = n;
	else
		parent->last->next = n;
	parent->last = n;
	parent->nchild++;
}

static struct conf_node *
node_new(enum conf_kind kind, unsigned line, unsigned col)
{
	struct conf_node *n;

	if ((n = calloc(1, sizeof *n)) == NULL)
		return NULL;
	n->kind = kind;
	n->line = line;
	n->col = col;
	return n;
}

static bool
is_scalar(enum tok t)
{
	return t == T_WORD || t == T_STRING;
}

static mailsec_err
parse_list(struct lex *lx, struct conf_node *n)
{
	struct token tk;
	struct conf_node *item;
	mailsec_err err;

	for (;;) {
		if ((err = lex_next(lx, &tk)) != MAILSEC_OK)
			return err;
		if (tk.t == T_RBRACK)
			return MAILSEC_OK;
		if (!is_scalar(tk.t)) {
			return lex_error(lx, MAILSEC_ESYNTAX, tk.line, tk.col,
			    "'%s': expected a value or ']' in the list, "
			    "found %s%s", n->key, tok_name(tk.t),
			    tk.t == T_LBRACK || tk.t == T_LBRACE ?
			    " (lists hold plain values)" : "");
		}
		if (n->nchild >= CONF_MAX_LIST) {
			tok_free(&tk);
			return lex_error(lx, MAILSEC_ELIMIT, tk.line, tk.col,
			    "'%s': more than %d items in a list", n->key,
			    CONF_MAX_LIST);
		}
		if ((item = node_new(CONF_SCALAR, tk.line, tk.col)) == NULL) {
			tok_free(&tk);
			return lex_error(lx, MAILSEC_ENOMEM, tk.line, tk.col,
			    "out of memory");
		}
		item->val = tk.s;
		item->vlen = tk.len;
		item->quoted = tk.t == T_STRING;
		node_append(n, item);
		if ((err = lex_next(lx, &tk)) != MAILSEC_OK)
			return err;
		if (tk.t == T_RBRACK)
			return MAILSEC_OK;
		if (tk.t != T_COMMA) {
			tok_free(&tk);
			return lex_error(lx, MAILSEC_ESYNTAX, tk.line, tk.col,
			    "'%s': expected ',' or ']' after a list item, "
			    "found %s", n->key, tok_name(tk.t));
		}
	}
}

static mailsec_err parse_body(struct lex *lx, struct conf_node *sec,
    unsigned depth, const struct token *open);

/* One entry, its key already read (and owned by tk). */
static mailsec_err
parse_entry(struct lex *lx, struct conf_node *sec, struct token *key,
    unsigned depth)
{
	struct conf_node *n;
	struct token tk, lab;
	const struct token *pk;
	bool eq = false;
	mailsec_err err;

	if ((n = node_new(CONF_SCALAR, key->line, key->col)) == NULL) {
		tok_free(key);
		return lex_error(lx, MAILSEC_ENOMEM, key->line, key->col,
		    "out of memory");
	}
	n->key = key->s;
	key->s = NULL;
	node_append(sec, n);

	if ((err = lex_next(lx, &tk)) != MAILSEC_OK)
		return err;
	if (tk.t == T_EQ) {
		eq = true;
		if ((err = lex_next(lx, &tk)) != MAILSEC_OK)
			return err;
	}
	if (is_scalar(tk.t)) {
		if ((err = lex_peek(lx, &pk)) != MAILSEC_OK) {
			tok_free(&tk);
			return err;
		}
		if (pk->t == T_LBRACE || (pk->t == T_EQ && !eq)) {
			/* key label { ... } (or key label = { ... }) */
			if (eq) {
				tok_free(&tk);
				return lex_error(lx, MAILSEC_ESYNTAX, tk.line,
				    tk.col, "'%s': a section name goes "
				    "before '=' (write: %s \"name\" { ... })",
				    n->key, n->key);
			}
			n->label = tk.s;
			tk.s = NULL;
			if ((err = lex_next(lx, &lab)) != MAILSEC_OK)
				return err;
			if (lab.t == T_EQ) {
				if ((err = lex_next(lx, &lab)) != MAILSEC_OK)
					return err;
				if (lab.t != T_LBRACE) {
					tok_free(&lab);
					return lex_error(lx, MAILSEC_ESYNTAX,
					    lab.line, lab.col, "'%s \"%s\"': "
					    "expected '{', found %s", n->key,
					    n->label, tok_name(lab.t));
				}
			}
			n->kind = CONF_SECTION;
			return parse_body(lx, n, depth + 1, &lab);
		}
		n->val = tk.s;
		n->vlen = tk.len;
		n->quoted = tk.t == T_STRING;
	} else if (tk.t == T_LBRACK) {
		n->kind = CONF_LIST;
		if ((err = parse_list(lx, n)) != MAILSEC_OK)
			return err;
	} else if (tk.t == T_LBRACE) {
		n->kind = CONF_SECTION;
		return parse_body(lx, n, depth + 1, &tk);
	} else {
		return lex_error(lx, MAILSEC_ESYNTAX, tk.line, tk.col,
		    "'%s' needs a value, found %s", n->key, tok_name(tk.t));
	}
	/* a value ends with ';' */
	if ((err = lex_next(lx, &tk)) != MAILSEC_OK)
		return err;
	if (tk.t != T_SEMI) {
		tok_free(&tk);
		return lex_error(lx, MAILSEC_ESYNTAX, tk.line, tk.col,
		    "missing ';' after the value of '%s' (found %s)", n->key,
		    tok_name(tk.t));
	}
	return MAILSEC_OK;
}

/*
 * Entries until the '}' matching open (or the end of the file for the
 * root, open == NULL). A section's '}' may be followed by one ';'.
 */
static mailsec_err
parse_body(struct lex *lx, struct conf_node *sec, unsigned depth,
    const struct token *open)
{
	struct token tk;
	const struct token *pk;
	unsigned oline = 0, ocol = 0;
	mailsec_err err;

	if (open != NULL) {
		oline = open->line;
		ocol = open->col;
	}
	if (depth > CONF_MAX_DEPTH)
		return lex_error(lx, MAILSEC_ELIMIT, oline, ocol,
		    "sections nested deeper than %d", CONF_MAX_DEPTH);
	for (;;) {
		if ((err = lex_next(lx, &tk)) != MAILSEC_OK)
			return err;
		if (tk.t == T_EOF) {
			if (open == NULL)
				return MAILSEC_OK;
			return lex_error(lx, MAILSEC_ESYNTAX, oline, ocol,
			    "'%s': no '}' closes this '{'", sec->key);
		}
		if (tk.t == T_RBRACE) {
			if (open == NULL)
				return lex_error(lx, MAILSEC_ESYNTAX, tk.line,
				    tk.col, "'}' without a matching '{'");
			if ((err = lex_peek(lx, &pk)) != MAILSEC_OK)
				return err;
			if (pk->t == T_SEMI)
				(void)lex_next(lx, &tk);
			return MAILSEC_OK;
		}
		if (!is_scalar(tk.t)) {
			return lex_error(lx, MAILSEC_ESYNTAX, tk.line, tk.col,
			    "expected an option name, found %s",
			    tok_name(tk.t));
		}
		if ((err = parse_entry(lx, sec, &tk, depth)) != MAILSEC_OK)
			return err;
	}
}

mailsec_err
conf_parse(const char *text, size_t len, const char *name,
    struct conf_node **root, char *err, size_t errlen)
{
	struct lex lx;
	struct conf_node *r;
	mailsec_err e;

	*root = NULL;
	memset(&lx, 0, sizeof lx);
	lx.p = text;
	lx.end = text + len;
	lx.bol = text;
	lx.line = 1;
	lx.name = name != NULL ? name : "(config)";
	lx.err = err;
	lx.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	if (len > CONF_MAX_FILE)
		return lex_error(&lx, MAILSEC_ELIMIT, 1, 1, "larger than %d "
		    "bytes", CONF_MAX_FILE);
	if (text == NULL && len > 0)
		return MAILSEC_EINVAL;
	if ((r = node_new(CONF_SECTION, 1, 1)) == NULL)
		return lex_error(&lx, MAILSEC_ENOMEM, 1, 1, "out of memory");
	e = parse_body(&lx, r, 0, NULL);
	if (lx.have_peek)
		tok_free(&lx.peek);
	if (e != MAILSEC_OK) {
		conf_free(r);
		return e;
	}
	*root = r;
	return MAILSEC_OK;
}

void
conf_free(struct conf_node *n)
{
	struct conf_node *next;

	/* siblings iteratively; recursion only as deep as the sections */
	while (n != NULL) {
		next = n->next;
		conf_free(n->child);
		free(n->key);
		free(n->label);
		free(n->val);
		free(n);
		n = next;
	}
}

const struct conf_node *
conf_get(const struct conf_node *sec, const char *key)
{
	const struct conf_node *n;

	if (sec == NULL)
		return NULL;
	for (n = sec->child; n != NULL; n = n->next)
		if (n->key != NULL && strcmp(n->key, key) == 0)
			return n;
	return NULL;
}

bool
conf_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on" };
	static const char *const no[] = { "no", "false", "off" };
	size_t i, n = strlen(s);

	for (i = 0; i < MS_ARRAY_LEN(yes); i++) {
		if (ms_ascii_eqz(s, n, yes[i])) {
			*out = true;
			return true;
		}
		if (ms_ascii_eqz(s, n, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Leading decimal digits of s into *v; returns the bytes used (0: none
 * or overflow). */
static size_t
conf_digits(const char *s, uint64_t *v)
{
	size_t i;
	uint64_t x = 0;

	for (i = 0; ms_isdigit((unsigned char)s[i]); i++) {
		if (__builtin_mul_overflow(x, 10, &x) ||
		    __builtin_add_overflow(x, (uint64_t)(s[i] - '0'), &x))
			return 0;
	}
	*v = x;
	return i;
}

bool
conf_uint(const char *s, uint64_t *out)
{
	uint64_t v;
	size_t n;

	n = conf_digits(s, &v);
	if (n == 0 || s[n] != '\0')
		return false;
	*out = v;
	return true;
}

struct conf_unit {
	const char *suffix;
	uint64_t mult;
};

static bool
conf_scaled(const char *s, const struct conf_unit *u, size_t nu,
    uint64_t *out)
{
	uint64_t v;
	size_t n, i, rest;

	n = conf_digits(s, &v);
	if (n == 0)
		return false;
	rest = strlen(s + n);
	for (i = 0; i < nu; i++) {
		if (ms_ascii_eqz(s + n, rest, u[i].suffix))
			return !__builtin_mul_overflow(v, u[i].mult, out);
	}
	return false;
}

bool
conf_size(const char *s, uint64_t *out)
{
	static const struct conf_unit units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1024 }, { "kb", 1024 }, { "kib", 1024 },
		{ "m", 1024 * 1024 }, { "mb", 1024 * 1024 },
		{ "mib", 1024 * 1024 },
		{ "g", 1024 * 1024 * 1024 }, { "gb", 1024 * 1024 * 1024 },
		{ "gib", 1024 * 1024 * 1024 },
	};

	return conf_scaled(s, units, MS_ARRAY_LEN(units), out);
}

bool
conf_time(const char *s, uint64_t *ms)
{
	static const struct conf_unit units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 },
		{ "min", 60 * 1000 }, { "h", 3600 * 1000 },
		{ "d", 86400 * 1000 },
	};

	return conf_scaled(s, units, MS_ARRAY_LEN(units), ms);
}
