/*
 * lib/smtp/cmd.c - SMTP command parser: verbs (RFC 5321 4.1.1), paths
 * (4.1.2, address literals 4.1.3, lengths 4.5.3.1, source routes C),
 * ESMTP parameters: SIZE (RFC 1870), BODY (RFC 1652, RFC 3030), SMTPUTF8
 * (RFC 6531 3.3, 3.4), RET/ENVID/NOTIFY/ORCPT with xtext (RFC 3461 4),
 * AUTH= (RFC 4954 5); BDAT (RFC 3030 2), AUTH (RFC 4954 4).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "smtp/smtp_int.h"

static const char *const verb_names[MAILSEC_SMTP_VERB_COUNT] = {
	[MAILSEC_SMTP_UNKNOWN] = "UNKNOWN",
	[MAILSEC_SMTP_HELO] = "HELO",
	[MAILSEC_SMTP_EHLO] = "EHLO",
	[MAILSEC_SMTP_MAIL] = "MAIL",
	[MAILSEC_SMTP_RCPT] = "RCPT",
	[MAILSEC_SMTP_DATA] = "DATA",
	[MAILSEC_SMTP_BDAT] = "BDAT",
	[MAILSEC_SMTP_RSET] = "RSET",
	[MAILSEC_SMTP_NOOP] = "NOOP",
	[MAILSEC_SMTP_QUIT] = "QUIT",
	[MAILSEC_SMTP_VRFY] = "VRFY",
	[MAILSEC_SMTP_EXPN] = "EXPN",
	[MAILSEC_SMTP_HELP] = "HELP",
	[MAILSEC_SMTP_STARTTLS] = "STARTTLS",
	[MAILSEC_SMTP_AUTH] = "AUTH",
};

/* RFC 4422 3.1: sasl-mech is 1*20 characters. */
#define MS_SMTP_SASL_MECH_MAX	20
/* RFC 1870 4: size-value is 1*20DIGIT. */
#define MS_SMTP_SIZE_DIGITS_MAX	20
/* Room for an IPv6 literal's text (RFC 4291 2.2 forms). */
#define MS_SMTP_IPV6_TEXT_MAX	45

const char *
mailsec_smtp_verb_name(enum mailsec_smtp_verb v)
{
	if ((unsigned)v >= MAILSEC_SMTP_VERB_COUNT)
		return "UNKNOWN";
	return verb_names[v];
}

/* Fills the reply and the diag; returns err. */
static mailsec_err MS_PRINTF(7, 8)
cmd_fail(struct mailsec_smtp_reply *r, struct mailsec_diag *diag,
    mailsec_err err, size_t off, unsigned code, const char *status,
    const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	memcpy(r->status, status, strlen(status) + 1);
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof r->text, fmt, ap);
	va_end(ap);
	return ms_diag(diag, err, off, 0, "%s", r->text);
}

/* ---- hosts ------------------------------------------------------------- */

/* Length of a UTF-8 non-ASCII character at p (n bytes left), 0 if none. */
static size_t
utf8_nonascii(const char *p, size_t n)
{
	if (n == 0 || (unsigned char)p[0] < 0x80)
		return 0;
	return mailsec_utf8_len(p, n);
}

/*
 * Domain (RFC 5321 4.1.2: sub-domain *("." sub-domain), sub-domain =
 * Let-dig [Ldh-str]; RFC 6531 3.3: or a U-label, checked here only as
 * UTF-8). Stops at the first byte that cannot continue it; returns the
 * length taken, 0 when no domain starts at p or a label is malformed.
 */
static size_t
parse_domain(const char *p, size_t len, bool utf8, bool *saw_utf8)
{
	size_t i = 0, label = 0, k;
	bool hyphen_last = false;

	for (;;) {
		/* one label */
		label = 0;
		hyphen_last = false;
		while (i < len) {
			unsigned char c = (unsigned char)p[i];

			if (ms_isalnum(c)) {
				i++;
				label++;
				hyphen_last = false;
			} else if (c == '-') {
				if (label == 0)
					return 0;
				i++;
				label++;
				hyphen_last = true;
			} else if (c >= 0x80 && utf8 &&
			    (k = utf8_nonascii(p + i, len - i)) > 0) {
				i += k;
				label += k;
				hyphen_last = false;
				*saw_utf8 = true;
			} else {
				break;
			}
			if (label > 63)
				return 0;
		}
		if (label == 0 || hyphen_last)
			return 0;
		if (i < len && p[i] == '.' && i + 1 < len &&
		    (ms_isalnum(p[i + 1]) || (utf8 &&
		    (unsigned char)p[i + 1] >= 0x80))) {
			i++;
			continue;
		}
		return i;
	}
}

static bool
parse_ipv4(const char *p, size_t len)
{
	size_t i = 0, parts = 0, digits;
	unsigned v;

	while (parts < 4) {
		digits = 0;
		v = 0;
		while (i < len && ms_isdigit(p[i]) && digits < 3) {
			v = v * 10 + (unsigned)(p[i] - '0');
			i++;
			digits++;
		}
		if (digits == 0 || v > 255)
			return false;
		parts++;
		if (parts < 4) {
			if (i >= len || p[i] != '.')
				return false;
			i++;
		}
	}
	return i == len;
}

static bool
parse_ipv6(const char *p, size_t len)
{
	char buf[MS_SMTP_IPV6_TEXT_MAX + 1];
	unsigned char bin[16];
	size_t i;

	if (len == 0 || len > MS_SMTP_IPV6_TEXT_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!ms_isxdigit(p[i]) && p[i] != ':' && p[i] != '.')
			return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, bin) == 1;
}

/*
 * address-literal (RFC 5321 4.1.3) at p[0] == '['. Returns the length
 * through ']' and the kind, 0 when malformed.
 */
static size_t
parse_literal(const char *p, size_t len, enum mailsec_smtp_host *kind)
{
	const char *close;
	size_t n, i, tag;

	close = memchr(p, ']', len);
	if (len < 3 || p[0] != '[' || close == NULL)
		return 0;
	n = (size_t)(close - p) - 1;	/* content length */
	p++;
	if (n >= 5 && ms_ascii_eqz(p, 5, "IPv6:")) {
		*kind = MAILSEC_SMTP_HOST_IPV6;
		return parse_ipv6(p + 5, n - 5) ? n + 2 : 0;
	}
	if (n > 0 && ms_isdigit(p[0])) {
		*kind = MAILSEC_SMTP_HOST_IPV4;
		if (parse_ipv4(p, n))
			return n + 2;
	}
	/* General-address-literal: Standardized-tag ":" 1*dcontent */
	for (tag = 0; tag < n && (ms_isalnum(p[tag]) || p[tag] == '-'); tag++)
		;
	if (tag == 0 || tag >= n || p[tag] != ':' || p[tag - 1] == '-' ||
	    tag + 1 == n)
		return 0;
	for (i = tag + 1; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 33 || c > 126 || c == '[' || c == '\\')
			return 0;
	}
	*kind = MAILSEC_SMTP_HOST_GENERAL;
	return n + 2;
}

/* Domain or address literal; returns length taken, 0 if none. */
static size_t
parse_host(const char *p, size_t len, bool utf8, bool *saw_utf8,
    enum mailsec_smtp_host *kind)
{
	size_t n;

	if (len > 0 && p[0] == '[')
		return parse_literal(p, len, kind);
	n = parse_domain(p, len, utf8, saw_utf8);
	if (n > 0)
		*kind = MAILSEC_SMTP_HOST_DOMAIN;
	return n;
}

/* ---- paths ------------------------------------------------------------- */

/*
 * Parses a path at p; *used gets its length ('<' through '>'). Errors
 * carry an offset relative to p in diag (the caller shifts it).
 */
static mailsec_err
path_parse(const char *p, size_t len, bool allow_null, bool allow_pm,
    bool allow_utf8, struct mailsec_smtp_path *out, size_t *used,
    struct mailsec_diag *diag)
{
	size_t i = 1, n, lstart, k, ll = 0;
	enum mailsec_smtp_host kind = MAILSEC_SMTP_HOST_NONE;
	bool saw = false;

	memset(out, 0, sizeof *out);
	*used = 0;
	if (len == 0 || p[0] != '<')
		return ms_diag(diag, MAILSEC_ESYNTAX, 0, 0,
		    "path must start with '<'");
	if (len >= 2 && p[1] == '>') {
		if (!allow_null)
			return ms_diag(diag, MAILSEC_ESYNTAX, 0, 0,
			    "null path not allowed here");
		out->null = true;
		*used = 2;
		return MAILSEC_OK;
	}
	/* A-d-l ":" (source route): accepted and ignored (RFC 5321 C). */
	if (i < len && p[i] == '@') {
		for (;;) {
			i++;	/* '@' */
			n = parse_domain(p + i, len - i, allow_utf8, &saw);
			if (n == 0)
				return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
				    "bad domain in source route");
			i += n;
			if (i < len && p[i] == ',' && i + 1 < len &&
			    p[i + 1] == '@') {
				i++;
				continue;
			}
			if (i < len && p[i] == ':') {
				i++;
				break;
			}
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "bad source route");
		}
	}
	/* Local-part = Dot-string / Quoted-string */
	lstart = i;
	if (i < len && p[i] == '"') {
		out->quoted = true;
		i++;
		for (;;) {
			unsigned char c;

			if (i >= len)
				return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
				    "unterminated quoted string");
			c = (unsigned char)p[i];
			if (c == '"') {
				i++;
				break;
			}
			if (c == '\\') {
				if (i + 1 >= len || p[i + 1] < 32 ||
				    p[i + 1] > 126)
					return ms_diag(diag, MAILSEC_ESYNTAX,
					    i, 0, "bad quoted pair");
				c = (unsigned char)p[i + 1];
				k = 2;
			} else if (c >= 32 && c <= 126) {
				k = 1;
			} else if (c >= 0x80 && allow_utf8 &&
			    (k = utf8_nonascii(p + i, len - i)) > 0) {
				out->utf8 = true;
			} else {
				return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
				    "bad character in quoted string");
			}
			if (i - lstart + k > MAILSEC_SMTP_LOCAL_MAX + 1)
				return ms_diag(diag, MAILSEC_ELIMIT, lstart,
				    0, "local part over %d octets",
				    MAILSEC_SMTP_LOCAL_MAX);
			if (k == 2 && p[i] == '\\')
				out->local[ll++] = (char)c;
			else {
				memcpy(out->local + ll, p + i, k);
				ll += k;
			}
			i += k;
		}
	} else {
		bool dot_ok = false;

		while (i < len) {
			unsigned char c = (unsigned char)p[i];

			if (ms_isatext(c)) {
				k = 1;
			} else if (c == '.' && dot_ok && i + 1 < len &&
			    p[i + 1] != '.' && p[i + 1] != '@' &&
			    p[i + 1] != '>') {
				k = 1;
			} else if (c >= 0x80 && allow_utf8 &&
			    (k = utf8_nonascii(p + i, len - i)) > 0) {
				out->utf8 = true;
			} else {
				break;
			}
			dot_ok = c != '.';
			if (i - lstart + k > MAILSEC_SMTP_LOCAL_MAX)
				return ms_diag(diag, MAILSEC_ELIMIT, lstart,
				    0, "local part over %d octets",
				    MAILSEC_SMTP_LOCAL_MAX);
			memcpy(out->local + ll, p + i, k);
			ll += k;
			i += k;
		}
		if (i == lstart)
			return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
			    "missing local part");
	}
	if (i - lstart > MAILSEC_SMTP_LOCAL_MAX)
		return ms_diag(diag, MAILSEC_ELIMIT, lstart, 0,
		    "local part over %d octets", MAILSEC_SMTP_LOCAL_MAX);
	out->local[ll] = '\0';
	out->local_len = ll;
	if (i < len && p[i] == '>' && allow_pm && !out->quoted &&
	    lstart == 1 && ms_ascii_eqz(out->local, ll, "postmaster")) {
		out->postmaster = true;
		*used = i + 1;
		return MAILSEC_OK;
	}
	if (i >= len || p[i] != '@')
		return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
		    "expected '@' after the local part");
	i++;
	n = parse_host(p + i, len - i, allow_utf8, &saw, &kind);
	if (n == 0)
		return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
		    "bad domain or address literal");
	if (n > MAILSEC_SMTP_DOMAIN_MAX)
		return ms_diag(diag, MAILSEC_ELIMIT, i, 0,
		    "domain over %d octets", MAILSEC_SMTP_DOMAIN_MAX);
	memcpy(out->domain, p + i, n);
	out->domain[n] = '\0';
	out->domain_len = n;
	out->host = kind;
	if (saw)
		out->utf8 = true;
	i += n;
	if (i >= len || p[i] != '>')
		return ms_diag(diag, MAILSEC_ESYNTAX, i, 0,
		    "expected '>' after the domain");
	i++;
	if (i > MAILSEC_SMTP_PATH_MAX)
		return ms_diag(diag, MAILSEC_ELIMIT, 0, 0,
		    "path over %d octets", MAILSEC_SMTP_PATH_MAX);
	*used = i;
	return MAILSEC_OK;
}

mailsec_err
mailsec_smtp_path_parse(const char *p, size_t len, bool allow_null,
    bool allow_postmaster, bool allow_utf8, struct mailsec_smtp_path *out,
    struct mailsec_diag *diag)
{
	struct mailsec_smtp_path tmp;
	size_t used;
	mailsec_err err;

	if (out == NULL || (p == NULL && len > 0))
		return MAILSEC_EINVAL;
	err = path_parse(p, len, allow_null, allow_postmaster, allow_utf8,
	    &tmp, &used, diag);
	if (err != MAILSEC_OK)
		return err;
	if (used != len)
		return ms_diag(diag, MAILSEC_ESYNTAX, used, 0,
		    "text after the path");
	*out = tmp;
	return MAILSEC_OK;
}

/* ---- xtext ------------------------------------------------------------- */

static int
hexval_upper(int c)
{
	if (ms_isdigit(c))
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

mailsec_err
mailsec_smtp_xtext_decode(const char *p, size_t len, char *out, size_t outsz,
    size_t *outlen)
{
	size_t i, o = 0;
	int hi, lo;
	unsigned char c;

	if ((p == NULL && len > 0) || out == NULL || outsz == 0)
		return MAILSEC_EINVAL;
	out[0] = '\0';
	for (i = 0; i < len; i++) {
		c = (unsigned char)p[i];
		if (c == '+') {
			if (len - i < 3)
				return MAILSEC_ESYNTAX;
			hi = hexval_upper(p[i + 1]);
			lo = hexval_upper(p[i + 2]);
			if (hi < 0 || lo < 0)
				return MAILSEC_ESYNTAX;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c < '!' || c > '~' || c == '=') {
			return MAILSEC_ESYNTAX;
		}
		if (o + 1 >= outsz)
			return MAILSEC_ELIMIT;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return MAILSEC_OK;
}

/* ---- parameters -------------------------------------------------------- */

enum param_id {
	PARAM_SIZE, PARAM_BODY, PARAM_SMTPUTF8, PARAM_RET, PARAM_ENVID,
	PARAM_NOTIFY, PARAM_ORCPT, PARAM_AUTH, PARAM_COUNT
};

static const struct {
	const char *name;
	unsigned bit;		/* MAILSEC_SMTP_P_* */
	enum mailsec_smtp_verb verb;
	unsigned caps;		/* any of these advertised */
	bool value;		/* takes "=value" */
} params[PARAM_COUNT] = {
	[PARAM_SIZE] = { "SIZE", MAILSEC_SMTP_P_SIZE, MAILSEC_SMTP_MAIL,
	    MAILSEC_SMTP_CAP_SIZE, true },
	[PARAM_BODY] = { "BODY", MAILSEC_SMTP_P_BODY, MAILSEC_SMTP_MAIL,
	    MAILSEC_SMTP_CAP_8BITMIME | MAILSEC_SMTP_CAP_BINARYMIME, true },
	[PARAM_SMTPUTF8] = { "SMTPUTF8", MAILSEC_SMTP_P_SMTPUTF8,
	    MAILSEC_SMTP_MAIL, MAILSEC_SMTP_CAP_SMTPUTF8, false },
	[PARAM_RET] = { "RET", MAILSEC_SMTP_P_RET, MAILSEC_SMTP_MAIL,
	    MAILSEC_SMTP_CAP_DSN, true },
	[PARAM_ENVID] = { "ENVID", MAILSEC_SMTP_P_ENVID, MAILSEC_SMTP_MAIL,
	    MAILSEC_SMTP_CAP_DSN, true },
	[PARAM_NOTIFY] = { "NOTIFY", MAILSEC_SMTP_P_NOTIFY, MAILSEC_SMTP_RCPT,
	    MAILSEC_SMTP_CAP_DSN, true },
	[PARAM_ORCPT] = { "ORCPT", MAILSEC_SMTP_P_ORCPT, MAILSEC_SMTP_RCPT,
	    MAILSEC_SMTP_CAP_DSN, true },
	[PARAM_AUTH] = { "AUTH", MAILSEC_SMTP_P_AUTH, MAILSEC_SMTP_MAIL,
	    MAILSEC_SMTP_CAP_AUTH, true },
};

unsigned
ms_smtp_notify_parse(const char *v, size_t n)
{
	static const struct {
		const char *name;
		unsigned bit;
	} kw[] = {
		{ "NEVER", MAILSEC_SMTP_NOTIFY_NEVER },
		{ "SUCCESS", MAILSEC_SMTP_NOTIFY_SUCCESS },
		{ "FAILURE", MAILSEC_SMTP_NOTIFY_FAILURE },
		{ "DELAY", MAILSEC_SMTP_NOTIFY_DELAY },
	};
	unsigned bits = 0, b;
	size_t i = 0, e, k;

	while (i <= n) {
		for (e = i; e < n && v[e] != ','; e++)
			;
		b = 0;
		for (k = 0; k < MS_ARRAY_LEN(kw); k++)
			if (ms_ascii_eqz(v + i, e - i, kw[k].name))
				b = kw[k].bit;
		if (b == 0 || (bits & b) != 0)
			return 0;
		bits |= b;
		if (e == n)
			break;
		i = e + 1;
	}
	/* NEVER must stand alone. */
	if ((bits & MAILSEC_SMTP_NOTIFY_NEVER) &&
	    bits != MAILSEC_SMTP_NOTIFY_NEVER)
		return 0;
	return bits;
}

static bool
printable_ascii(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return false;
	return true;
}

/* One known parameter; off is its offset in the line for diagnostics. */
static mailsec_err
param_value(struct mailsec_smtp_cmd *cmd, enum param_id id, const char *v,
    size_t n, size_t off, struct mailsec_diag *diag)
{
	struct mailsec_smtp_params *pp = &cmd->params;
	struct mailsec_smtp_reply *r = &cmd->reply;
	const char *semi;
	size_t i, tl;
	mailsec_err err;

	switch (id) {
	case PARAM_SIZE:
		if (n == 0 || n > MS_SMTP_SIZE_DIGITS_MAX)
			goto bad;
		pp->size = 0;
		for (i = 0; i < n; i++) {
			uint64_t d;

			if (!ms_isdigit(v[i]))
				goto bad;
			d = (uint64_t)(v[i] - '0');
			if (pp->size > (UINT64_MAX - d) / 10)
				pp->size = UINT64_MAX;
			else
				pp->size = pp->size * 10 + d;
		}
		return MAILSEC_OK;
	case PARAM_BODY:
		if (ms_ascii_eqz(v, n, "7BIT"))
			pp->body = MAILSEC_SMTP_BODY_7BIT;
		else if (ms_ascii_eqz(v, n, "8BITMIME"))
			pp->body = MAILSEC_SMTP_BODY_8BITMIME;
		else if (ms_ascii_eqz(v, n, "BINARYMIME"))
			pp->body = MAILSEC_SMTP_BODY_BINARYMIME;
		else
			goto bad;
		return MAILSEC_OK;
	case PARAM_SMTPUTF8:
		return MAILSEC_OK;
	case PARAM_RET:
		if (ms_ascii_eqz(v, n, "FULL"))
			pp->ret = MAILSEC_SMTP_RET_FULL;
		else if (ms_ascii_eqz(v, n, "HDRS"))
			pp->ret = MAILSEC_SMTP_RET_HDRS;
		else
			goto bad;
		return MAILSEC_OK;
	case PARAM_ENVID:
		err = mailsec_smtp_xtext_decode(v, n, pp->envid,
		    sizeof pp->envid, &pp->envid_len);
		if (err == MAILSEC_ELIMIT)
			return cmd_fail(r, diag, MAILSEC_ELIMIT, off, 501,
			    "5.5.4", "ENVID over %d characters",
			    MAILSEC_SMTP_ENVID_MAX);
		if (err != MAILSEC_OK || n == 0 ||
		    !printable_ascii(pp->envid, pp->envid_len))
			goto bad;
		return MAILSEC_OK;
	case PARAM_NOTIFY:
		if ((pp->notify = ms_smtp_notify_parse(v, n)) == 0)
			goto bad;
		return MAILSEC_OK;
	case PARAM_ORCPT:
		semi = memchr(v, ';', n);
		if (semi == NULL)
			goto bad;
		tl = (size_t)(semi - v);
		if (tl == 0 || tl >= sizeof pp->orcpt_type)
			goto bad;
		for (i = 0; i < tl; i++)
			if (!ms_isatext((unsigned char)v[i]))
				goto bad;
		memcpy(pp->orcpt_type, v, tl);
		pp->orcpt_type[tl] = '\0';
		pp->orcpt_type_len = tl;
		err = mailsec_smtp_xtext_decode(semi + 1, n - tl - 1,
		    pp->orcpt, sizeof pp->orcpt, &pp->orcpt_len);
		if (err == MAILSEC_ELIMIT)
			return cmd_fail(r, diag, MAILSEC_ELIMIT, off, 501,
			    "5.5.4", "ORCPT over %d characters",
			    MAILSEC_SMTP_ORCPT_MAX);
		if (err != MAILSEC_OK || pp->orcpt_len == 0 ||
		    !printable_ascii(pp->orcpt, pp->orcpt_len))
			goto bad;
		return MAILSEC_OK;
	case PARAM_AUTH:
		err = mailsec_smtp_xtext_decode(v, n, pp->auth,
		    sizeof pp->auth, &pp->auth_len);
		if (err == MAILSEC_ELIMIT)
			return cmd_fail(r, diag, MAILSEC_ELIMIT, off, 501,
			    "5.5.4", "AUTH= over %d characters",
			    MAILSEC_SMTP_AUTH_PARAM_MAX);
		if (err != MAILSEC_OK || pp->auth_len == 0)
			goto bad;
		return MAILSEC_OK;
	default:
		break;
	}
bad:
	return cmd_fail(r, diag, MAILSEC_ESYNTAX, off, 501, "5.5.4",
	    "Invalid %s parameter value", params[id].name);
}

/*
 * Mail-parameters / Rcpt-parameters after the path: p[0..len) is what
 * follows it; base is its offset in the line.
 */
static mailsec_err
parse_params(struct mailsec_smtp_cmd *cmd,
    const struct mailsec_smtp_parse_opts *opts, const char *p, size_t len,
    size_t base, struct mailsec_diag *diag)
{
	struct mailsec_smtp_reply *r = &cmd->reply;
	size_t i = 0, ks, ke, vs, ve, k;
	enum param_id id;
	mailsec_err err;
	bool has_value;

	while (i < len) {
		if (p[i] != ' ')
			return cmd_fail(r, diag, MAILSEC_ESYNTAX, base + i, 501,
			    "5.5.4", "Syntax error in parameters");
		while (i < len && p[i] == ' ')
			i++;
		if (i == len)
			break;
		/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
		ks = i;
		if (!ms_isalnum(p[i]))
			return cmd_fail(r, diag, MAILSEC_ESYNTAX, base + i, 501,
			    "5.5.4", "Syntax error in parameters");
		while (i < len && (ms_isalnum(p[i]) || p[i] == '-'))
			i++;
		ke = i;
		has_value = i < len && p[i] == '=';
		vs = ve = i;
		if (has_value) {
			vs = ++i;
			/* esmtp-value = 1*(%d33-60 / %d62-126), RFC 6531
			 * adds UTF8-non-ascii */
			while (i < len && p[i] != ' ') {
				unsigned char c = (unsigned char)p[i];

				if (c >= 33 && c <= 126 && c != '=') {
					i++;
				} else if (c >= 0x80 && (k = utf8_nonascii(
				    p + i, len - i)) > 0) {
					i += k;
				} else {
					return cmd_fail(r, diag,
					    MAILSEC_ESYNTAX, base + i, 501,
					    "5.5.4",
					    "Syntax error in parameters");
				}
			}
			ve = i;
			if (ve == vs)
				return cmd_fail(r, diag, MAILSEC_ESYNTAX,
				    base + vs, 501, "5.5.4",
				    "Empty parameter value");
		}
		if (i < len && p[i] != ' ')
			return cmd_fail(r, diag, MAILSEC_ESYNTAX, base + i, 501,
			    "5.5.4", "Syntax error in parameters");
		for (id = 0; id < PARAM_COUNT; id++)
			if (ms_ascii_eqz(p + ks, ke - ks, params[id].name))
				break;
		if (id == PARAM_COUNT)
			return cmd_fail(r, diag, MAILSEC_EUNSUPPORTED,
			    base + ks, 555, "5.5.4",
			    "Unsupported parameter %.*s",
			    (int)(ke - ks > 32 ? 32 : ke - ks), p + ks);
		if (params[id].verb != cmd->verb)
			return cmd_fail(r, diag, MAILSEC_EUNSUPPORTED,
			    base + ks, 555, "5.5.4",
			    "%s parameter not allowed with %s",
			    params[id].name, verb_names[cmd->verb]);
		if ((opts->caps & params[id].caps) == 0)
			return cmd_fail(r, diag, MAILSEC_EUNSUPPORTED,
			    base + ks, 555, "5.5.4",
			    "%s parameter not supported", params[id].name);
		if (cmd->params.present & params[id].bit)
			return cmd_fail(r, diag, MAILSEC_ESYNTAX, base + ks,
			    501, "5.5.4", "Duplicate %s parameter",
			    params[id].name);
		if (has_value != params[id].value)
			return cmd_fail(r, diag, MAILSEC_ESYNTAX, base + ks,
			    501, "5.5.4", has_value ? "%s takes no value" :
			    "%s needs a value", params[id].name);
		err = param_value(cmd, id, p + vs, ve - vs, base + ks, diag);
		if (err != MAILSEC_OK)
			return err;
		cmd->params.present |= params[id].bit;
		if (id == PARAM_BODY &&
		    ((cmd->params.body == MAILSEC_SMTP_BODY_BINARYMIME &&
		    (opts->caps & MAILSEC_SMTP_CAP_BINARYMIME) == 0) ||
		    (cmd->params.body == MAILSEC_SMTP_BODY_8BITMIME &&
		    (opts->caps & MAILSEC_SMTP_CAP_8BITMIME) == 0)))
			return cmd_fail(r, diag, MAILSEC_EUNSUPPORTED,
			    base + ks, 555, "5.5.4",
			    "BODY=%.*s not supported", (int)(ve - vs),
			    p + vs);
	}
	return MAILSEC_OK;
}

/* "MAIL FROM:" / "RCPT TO:" then path then parameters. */
static mailsec_err
parse_mail_rcpt(struct mailsec_smtp_cmd *cmd,
    const struct mailsec_smtp_parse_opts *opts, size_t base,
    struct mailsec_diag *diag)
{
	struct mailsec_smtp_reply *r = &cmd->reply;
	bool mail = cmd->verb == MAILSEC_SMTP_MAIL;
	const char *kw = mail ? "FROM:" : "TO:";
	const char *p = cmd->arg.ptr;
	size_t len = cmd->arg.len, kl = strlen(kw), i, used;
	struct mailsec_diag pd;
	mailsec_err err;
	bool utf8_ok;

	if (len < kl || !ms_ascii_eqz(p, kl, kw))
		return cmd_fail(r, diag, MAILSEC_ESYNTAX, base, 501, "5.5.4",
		    "Syntax: %s", mail ? "MAIL FROM:<address>" :
		    "RCPT TO:<address>");
	i = kl;
	/* Not in the grammar, but common: "MAIL FROM: <a@b>". */
	while (i < len && p[i] == ' ')
		i++;
	memset(&pd, 0, sizeof pd);
	err = path_parse(p + i, len - i, mail, !mail, true, &cmd->path, &used,
	    &pd);
	if (err != MAILSEC_OK)
		return cmd_fail(r, diag, err, base + i + pd.offset, 553,
		    mail ? "5.1.7" : "5.1.3", "%s address: %s",
		    mail ? "Bad sender" : "Bad recipient", pd.text);
	i += used;
	err = parse_params(cmd, opts, p + i, len - i, base + i, diag);
	if (err != MAILSEC_OK)
		return err;
	/* RFC 6531 3.5: a non-ASCII address needs SMTPUTF8. */
	utf8_ok = mail ? (cmd->params.present & MAILSEC_SMTP_P_SMTPUTF8) != 0 :
	    opts->smtputf8;
	if (cmd->path.utf8 && !utf8_ok)
		return cmd_fail(r, diag, MAILSEC_ESYNTAX, base + kl,
		    mail ? 550 : 553, "5.6.7",
		    "Non-ASCII addresses not permitted for that %s",
		    mail ? "sender" : "recipient");
	if ((cmd->params.present & MAILSEC_SMTP_P_SIZE) &&
	    opts->size_max > 0 && cmd->params.size > opts->size_max)
		return cmd_fail(r, diag, MAILSEC_ELIMIT, base, 552, "5.3.4",
		    "Message size exceeds fixed maximum message size");
	return MAILSEC_OK;
}

static mailsec_err
parse_bdat(struct mailsec_smtp_cmd *cmd, size_t base,
    struct mailsec_diag *diag)
{
	struct mailsec_smtp_reply *r = &cmd->reply;
	const char *p = cmd->arg.ptr;
	size_t len = cmd->arg.len, i = 0;
	uint64_t v = 0, d;

	while (i < len && ms_isdigit(p[i])) {
		d = (uint64_t)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return cmd_fail(r, diag, MAILSEC_ELIMIT, base + i, 552,
			    "5.3.4", "Chunk size too large");
		v = v * 10 + d;
		i++;
	}
	if (i == 0)
		return cmd_fail(r, diag, MAILSEC_ESYNTAX, base, 501, "5.5.4",
		    "Syntax: BDAT size [LAST]");
	cmd->bdat_size = v;
	if (i == len)
		return MAILSEC_OK;
	if (p[i] == ' ' && ms_ascii_eqz(p + i + 1, len - i - 1, "LAST")) {
		cmd->bdat_last = true;
		return MAILSEC_OK;
	}
	return cmd_fail(r, diag, MAILSEC_ESYNTAX, base + i, 501, "5.5.4",
	    "Syntax: BDAT size [LAST]");
}

static mailsec_err
parse_auth(struct mailsec_smtp_cmd *cmd, size_t base,
    struct mailsec_diag *diag)
{
	struct mailsec_smtp_reply *r = &cmd->reply;
	const char *p = cmd->arg.ptr;
	size_t len = cmd->arg.len, i = 0, j;

	while (i < len && (ms_isalnum(p[i]) || p[i] == '-' || p[i] == '_'))
		i++;
	if (i == 0 || i > MS_SMTP_SASL_MECH_MAX || (i < len && p[i] != ' '))
		return cmd_fail(r, diag, MAILSEC_ESYNTAX, base, 501, "5.5.4",
		    "Syntax: AUTH mechanism [initial-response]");
	cmd->auth_mech_text.ptr = p;
	cmd->auth_mech_text.len = i;
	if (ms_ascii_eqz(p, i, "PLAIN"))
		cmd->auth_mech = MAILSEC_SMTP_SASL_PLAIN;
	else if (ms_ascii_eqz(p, i, "LOGIN"))
		cmd->auth_mech = MAILSEC_SMTP_SASL_LOGIN;
	else
		return cmd_fail(r, diag, MAILSEC_ESYNTAX, base, 504, "5.5.4",
		    "Unrecognized authentication type");
	if (i < len) {
		j = i + 1;
		if (j == len)
			return cmd_fail(r, diag, MAILSEC_ESYNTAX, base + i, 501,
			    "5.5.4", "Empty initial response");
		for (; j < len; j++)
			if (p[j] == ' ')
				return cmd_fail(r, diag, MAILSEC_ESYNTAX,
				    base + j, 501, "5.5.4",
				    "Syntax: AUTH mechanism "
				    "[initial-response]");
		cmd->auth_has_ir = true;
		cmd->auth_ir.ptr = p + i + 1;
		cmd->auth_ir.len = len - i - 1;
	}
	return MAILSEC_OK;
}

mailsec_err
mailsec_smtp_cmd_parse(const char *line, size_t len,
    const struct mailsec_smtp_parse_opts *opts, struct mailsec_smtp_cmd *cmd,
    struct mailsec_diag *diag)
{
	static const struct mailsec_smtp_parse_opts none;
	struct mailsec_smtp_reply *r;
	enum mailsec_smtp_verb v;
	size_t vl, i, base;
	bool eightbit = false, saw = false;
	enum mailsec_smtp_host kind = MAILSEC_SMTP_HOST_NONE;

	if (cmd == NULL || (line == NULL && len > 0))
		return MAILSEC_EINVAL;
	if (opts == NULL)
		opts = &none;
	memset(cmd, 0, sizeof *cmd);
	r = &cmd->reply;
	cmd->verb_text.ptr = line;
	cmd->arg.ptr = line;
	/* Control bytes are never part of a command (TAB only as WSP). */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return cmd_fail(r, diag, MAILSEC_ESYNTAX, i, 500,
			    "5.5.2", "Invalid character in command");
		if (c >= 0x80)
			eightbit = true;
	}
	while (len > 0 && ms_iswsp(line[len - 1]))
		len--;
	for (vl = 0; vl < len && line[vl] != ' '; vl++)
		;
	cmd->verb_text.len = vl;
	for (v = MAILSEC_SMTP_HELO; v < MAILSEC_SMTP_VERB_COUNT; v++)
		if (ms_ascii_eqz(line, vl, verb_names[v]))
			break;
	if (v == MAILSEC_SMTP_VERB_COUNT) {
		cmd->verb = MAILSEC_SMTP_UNKNOWN;
		mailsec_smtp_reply_set(r, 500, "5.5.2",
		    "Command unrecognized");
		return MAILSEC_OK;
	}
	cmd->verb = v;
	base = vl < len ? vl + 1 : vl;
	cmd->arg.ptr = line + base;
	cmd->arg.len = len - base;
	if (eightbit && v != MAILSEC_SMTP_MAIL && v != MAILSEC_SMTP_RCPT)
		return cmd_fail(r, diag, MAILSEC_ESYNTAX, base, 500, "5.5.2",
		    "8-bit characters not allowed in %s", verb_names[v]);
	if (cmd->arg.len > 0 && cmd->arg.ptr[0] == ' ')
		return cmd_fail(r, diag, MAILSEC_ESYNTAX, base, 501, "5.5.4",
		    "Syntax error (one space after the command)");
	/* Only MAIL, RCPT and AUTH may use the longer allowances. */
	if (v != MAILSEC_SMTP_MAIL && v != MAILSEC_SMTP_RCPT &&
	    v != MAILSEC_SMTP_AUTH && len + 2 > MAILSEC_SMTP_CMD_LINE_MAX)
		return cmd_fail(r, diag, MAILSEC_ELIMIT,
		    MAILSEC_SMTP_CMD_LINE_MAX, 500, "5.5.2",
		    "Line too long");
	if (v == MAILSEC_SMTP_RCPT &&
	    len + 2 > MAILSEC_SMTP_CMD_LINE_MAX +
	    MAILSEC_SMTP_RCPT_ALLOWANCE)
		return cmd_fail(r, diag, MAILSEC_ELIMIT, len, 500, "5.5.2",
		    "Line too long");
	if (v == MAILSEC_SMTP_MAIL &&
	    len + 2 > MAILSEC_SMTP_CMD_LINE_MAX +
	    MAILSEC_SMTP_MAIL_ALLOWANCE)
		return cmd_fail(r, diag, MAILSEC_ELIMIT, len, 500, "5.5.2",
		    "Line too long");
	switch (v) {
	case MAILSEC_SMTP_HELO:
	case MAILSEC_SMTP_EHLO:
		if (cmd->arg.len == 0 ||
		    parse_host(cmd->arg.ptr, cmd->arg.len, false, &saw,
		    &kind) != cmd->arg.len)
			return cmd_fail(r, diag, MAILSEC_ESYNTAX, base, 501,
			    "5.5.4", "Syntax: %s domain or address literal",
			    verb_names[v]);
		cmd->helo_host = kind;
		return MAILSEC_OK;
	case MAILSEC_SMTP_MAIL:
	case MAILSEC_SMTP_RCPT:
		return parse_mail_rcpt(cmd, opts, base, diag);
	case MAILSEC_SMTP_BDAT:
		return parse_bdat(cmd, base, diag);
	case MAILSEC_SMTP_AUTH:
		return parse_auth(cmd, base, diag);
	case MAILSEC_SMTP_DATA:
	case MAILSEC_SMTP_RSET:
	case MAILSEC_SMTP_QUIT:
	case MAILSEC_SMTP_STARTTLS:
		if (cmd->arg.len > 0)
			return cmd_fail(r, diag, MAILSEC_ESYNTAX, base, 501,
			    "5.5.4", "Syntax: %s takes no arguments",
			    verb_names[v]);
		return MAILSEC_OK;
	case MAILSEC_SMTP_VRFY:
	case MAILSEC_SMTP_EXPN:
		if (cmd->arg.len == 0)
			return cmd_fail(r, diag, MAILSEC_ESYNTAX, base, 501,
			    "5.5.4", "Syntax: %s string", verb_names[v]);
		return MAILSEC_OK;
	default:		/* NOOP, HELP: optional string */
		return MAILSEC_OK;
	}
}
