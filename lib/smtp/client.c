/*
 * lib/smtp/client.c - the SMTP client protocol without I/O: the reply
 * reader (RFC 5321 4.2, enhanced status codes of RFC 2034 / 3463), the
 * EHLO reply (RFC 5321 4.1.1.1, RFC 1870 SIZE, RFC 4954 AUTH), MAIL and
 * RCPT with their ESMTP parameters (RFC 1870, 1652, 3030, 6531, 3461 4
 * with xtext), the AUTH PLAIN / LOGIN responses (RFC 4616, 4954) and the
 * DATA dot-stuffer (RFC 5321 4.5.2, 2.3.8).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <mailsec/smtp_client.h>

#include "smtp/smtp_int.h"

/* ---- reply reader ------------------------------------------------------ */

static void
creply_reset(struct mailsec_smtp_creader *r)
{
	r->cur.code = 0;
	r->cur.enhanced[0] = '\0';
	r->cur.text[0] = '\0';
	r->cur.nlines = 0;
	r->cur.cut = false;
	r->textlen = 0;
}

void
mailsec_smtp_creader_init(struct mailsec_smtp_creader *r)
{
	if (r == NULL)
		return;
	creply_reset(r);
	r->linelen = 0;
	r->offset = 0;
	r->line_start = 0;
	r->err = MAILSEC_OK;
}

/*
 * Length of an enhanced status code at the start of t (RFC 3463 2:
 * class "." subject "." detail, subject and detail 1*3DIGIT), followed by
 * SP or the end of the text, whose class is cls (RFC 2034 4: it matches
 * the reply code's first digit); 0 if there is none.
 */
static size_t
enhanced_len(const char *t, size_t n, int cls)
{
	size_t i = 2, d;
	int part;

	if (n < 5 || t[0] != '0' + cls || t[1] != '.')
		return 0;
	for (part = 0; part < 2; part++) {
		for (d = 0; i < n && ms_isdigit((unsigned char)t[i]) && d < 3;
		    d++)
			i++;
		if (d == 0)
			return 0;
		if (part == 0) {
			if (i >= n || t[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && t[i] != ' ')
		return 0;
	return i;
}

/* Appends one line's text to the reply, cut at the limit. */
static void
creply_append(struct mailsec_smtp_creader *r, const char *t, size_t n)
{
	size_t room, i;
	unsigned char c;

	room = sizeof r->cur.text - 1 - r->textlen;
	if (r->cur.nlines > 0) {
		if (room == 0) {
			r->cur.cut = true;
			return;
		}
		r->cur.text[r->textlen++] = '\n';
		room--;
	}
	if (n > room) {
		n = room;
		r->cur.cut = true;
	}
	for (i = 0; i < n; i++) {
		c = (unsigned char)t[i];
		if (c == '\t')
			c = ' ';
		else if (c < 0x20 || c > 0x7e)
			c = '?';
		r->cur.text[r->textlen++] = (char)c;
	}
	r->cur.text[r->textlen] = '\0';
}

/* Takes the complete line in r->line (without its LF). */
static mailsec_err
creader_line(struct mailsec_smtp_creader *r, bool *last,
    struct mailsec_diag *diag)
{
	const char *s = r->line, *t;
	size_t n = r->linelen, tl, k, lineno = r->cur.nlines + 1;
	size_t off = (size_t)r->line_start;
	int code;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n < 3 || !ms_isdigit((unsigned char)s[0]) ||
	    !ms_isdigit((unsigned char)s[1]) ||
	    !ms_isdigit((unsigned char)s[2]))
		return ms_diag(diag, MAILSEC_ESYNTAX, off, lineno,
		    "reply line does not start with a three-digit code");
	code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	if (code < 200 || code > 599)
		return ms_diag(diag, MAILSEC_ESYNTAX, off, lineno,
		    "reply code %d out of range 200..599", code);
	if (r->cur.nlines > 0 && code != r->cur.code)
		return ms_diag(diag, MAILSEC_ESYNTAX, off, lineno,
		    "reply code %d differs from %d of the first line", code,
		    r->cur.code);
	if (n == 3 || s[3] == ' ')
		*last = true;	/* RFC 5321 4.2: the code alone is taken */
	else if (s[3] == '-')
		*last = false;
	else
		return ms_diag(diag, MAILSEC_ESYNTAX, off + 3, lineno,
		    "neither SP nor \"-\" after the reply code");
	if (!*last && lineno >= MAILSEC_SMTP_CREPLY_LINES_MAX)
		return ms_diag(diag, MAILSEC_ESYNTAX, off, lineno,
		    "reply of more than %d lines",
		    MAILSEC_SMTP_CREPLY_LINES_MAX);
	t = n > 4 ? s + 4 : s + n;
	tl = n > 4 ? n - 4 : 0;
	if ((k = enhanced_len(t, tl, code / 100)) > 0) {
		if (r->cur.enhanced[0] == '\0') {
			memcpy(r->cur.enhanced, t, k);
			r->cur.enhanced[k] = '\0';
		}
		if (k < tl)
			k++;		/* its SP */
		t += k;
		tl -= k;
	}
	r->cur.code = code;
	creply_append(r, t, tl);
	r->cur.nlines = lineno;
	return MAILSEC_OK;
}

mailsec_err
mailsec_smtp_creader_feed(struct mailsec_smtp_creader *r, const char *p,
    size_t len, size_t *used, struct mailsec_smtp_creply *out,
    struct mailsec_diag *diag)
{
	const char *nl;
	size_t n, u = 0;
	bool last;
	mailsec_err err;

	if (used != NULL)
		*used = 0;
	if (r == NULL || used == NULL || out == NULL || (p == NULL && len > 0))
		return MAILSEC_EINVAL;
	if (r->err != MAILSEC_OK)
		return MAILSEC_ESTATE;
	while (u < len) {
		nl = memchr(p + u, '\n', len - u);
		n = nl != NULL ? (size_t)(nl - (p + u)) : len - u;
		if (n > sizeof r->line - 1 - r->linelen) {
			/* the line with its LF would pass the limit */
			u += sizeof r->line - 1 - r->linelen;
			*used = u;
			r->err = MAILSEC_ESYNTAX;
			return ms_diag(diag, MAILSEC_ESYNTAX,
			    (size_t)(r->line_start + sizeof r->line - 1),
			    r->cur.nlines + 1, "reply line over %d bytes",
			    MAILSEC_SMTP_CREPLY_LINE_MAX);
		}
		memcpy(r->line + r->linelen, p + u, n);
		r->linelen += n;
		u += n;
		r->offset += n;
		if (nl == NULL)
			break;
		u++;
		r->offset++;
		err = creader_line(r, &last, diag);
		r->linelen = 0;
		r->line_start = r->offset;
		if (err != MAILSEC_OK) {
			*used = u;
			r->err = err;
			return err;
		}
		if (last) {
			out->code = r->cur.code;
			memcpy(out->enhanced, r->cur.enhanced,
			    sizeof out->enhanced);
			memcpy(out->text, r->cur.text, r->textlen + 1);
			out->nlines = r->cur.nlines;
			out->cut = r->cur.cut;
			creply_reset(r);
			*used = u;
			return MAILSEC_OK;
		}
	}
	*used = u;
	return MAILSEC_EAGAIN;
}

enum mailsec_smtp_class
mailsec_smtp_reply_class(int code)
{
	if (code >= 200 && code <= 299)
		return MAILSEC_SMTP_OK;
	if (code >= 500 && code <= 599)
		return MAILSEC_SMTP_PERM;
	return MAILSEC_SMTP_TEMP;
}

/* ---- EHLO -------------------------------------------------------------- */

/* One space-separated word of (p, end) at *pp, or false at the end. */
static bool
next_word(const char **pp, const char *end, const char **w, size_t *wl)
{
	const char *p = *pp;

	while (p < end && *p == ' ')
		p++;
	if (p == end)
		return false;
	*w = p;
	while (p < end && *p != ' ')
		p++;
	*wl = (size_t)(p - *w);
	*pp = p;
	return true;
}

/* The optional SIZE parameter (RFC 1870 4): decimal, 0 or absent for no
 * fixed limit; values past 64 bits are no limit we could reach. */
static uint64_t
ehlo_size(const char *p, const char *end)
{
	const char *w;
	size_t wl, i;
	uint64_t v = 0;

	if (!next_word(&p, end, &w, &wl))
		return 0;
	for (i = 0; i < wl; i++) {
		if (!ms_isdigit((unsigned char)w[i]))
			return 0;
		if (v > (UINT64_MAX - 9) / 10)
			return UINT64_MAX;
		v = v * 10 + (uint64_t)(w[i] - '0');
	}
	return v;
}

static void
ehlo_auth(const char *p, const char *end, struct mailsec_smtp_ehlo *out)
{
	const char *w;
	size_t wl;

	out->auth = true;
	while (next_word(&p, end, &w, &wl)) {
		if (ms_ascii_eqz(w, wl, "PLAIN"))
			out->auth_plain = true;
		else if (ms_ascii_eqz(w, wl, "LOGIN"))
			out->auth_login = true;
	}
}

static void
ehlo_line(const char *p, const char *end, struct mailsec_smtp_ehlo *out)
{
	static const struct {
		const char *kw;
		size_t off;
	} flags[] = {
		{ "PIPELINING", offsetof(struct mailsec_smtp_ehlo,
		    pipelining) },
		{ "STARTTLS", offsetof(struct mailsec_smtp_ehlo, starttls) },
		{ "8BITMIME", offsetof(struct mailsec_smtp_ehlo,
		    eightbitmime) },
		{ "SMTPUTF8", offsetof(struct mailsec_smtp_ehlo, smtputf8) },
		{ "DSN", offsetof(struct mailsec_smtp_ehlo, dsn) },
		{ "CHUNKING", offsetof(struct mailsec_smtp_ehlo, chunking) },
		{ "BINARYMIME", offsetof(struct mailsec_smtp_ehlo,
		    binarymime) },
		{ "ENHANCEDSTATUSCODES", offsetof(struct mailsec_smtp_ehlo,
		    enhancedstatuscodes) },
	};
	const char *kw;
	size_t kl, i;

	while (p < end && *p == ' ')
		p++;
	kw = p;
	/* "AUTH=PLAIN LOGIN": the form of servers older than RFC 2554 */
	while (p < end && *p != ' ' && *p != '=')
		p++;
	kl = (size_t)(p - kw);
	if (p < end)
		p++;
	if (ms_ascii_eqz(kw, kl, "SIZE")) {
		out->size = true;
		out->size_max = ehlo_size(p, end);
		return;
	}
	if (ms_ascii_eqz(kw, kl, "AUTH")) {
		ehlo_auth(p, end, out);
		return;
	}
	for (i = 0; i < MS_ARRAY_LEN(flags); i++)
		if (ms_ascii_eqz(kw, kl, flags[i].kw))
			*(bool *)((char *)out + flags[i].off) = true;
}

void
mailsec_smtp_ehlo_parse(const struct mailsec_smtp_creply *r,
    struct mailsec_smtp_ehlo *out)
{
	const char *p, *end, *nl;

	if (out == NULL)
		return;
	memset(out, 0, sizeof *out);
	if (r == NULL || r->code != 250)
		return;
	p = r->text;
	end = p + strnlen(r->text, sizeof r->text);
	/* the first line greets; keywords follow */
	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return;
	for (p = nl + 1; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		ehlo_line(p, nl, out);
	}
}

/* ---- command builders -------------------------------------------------- */

/* A bounded writer: the first overflow sticks. */
struct cw {
	char *buf;
	size_t cap;		/* bytes usable, NUL excluded */
	size_t len;
	bool over;
};

static void
cw_init(struct cw *w, char *buf, size_t bufsz, size_t max)
{
	w->buf = buf;
	w->cap = bufsz - 1 < max ? bufsz - 1 : max;
	w->len = 0;
	w->over = false;
}

static void
cw_add(struct cw *w, const char *p, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = true;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void
cw_addz(struct cw *w, const char *s)
{
	cw_add(w, s, strlen(s));
}

/* Appends the xtext encoding of (p, n). */
static void
cw_xtext(struct cw *w, const char *p, size_t n)
{
	size_t got;

	if (w->over)
		return;
	if (mailsec_smtp_xtext_encode(p, n, w->buf + w->len,
	    w->cap - w->len + 1, &got) != MAILSEC_OK) {
		w->over = true;
		return;
	}
	w->len += got;
}

/* Ends the line: CRLF and NUL, or ELIMIT with buf holding "". */
static mailsec_err
cw_finish(struct cw *w, size_t *len)
{
	cw_add(w, "\r\n", 2);
	if (w->over) {
		w->buf[0] = '\0';
		*len = 0;
		return MAILSEC_ELIMIT;
	}
	w->buf[w->len] = '\0';
	*len = w->len;
	return MAILSEC_OK;
}

/* An address for a path: no control bytes (they would end or split the
 * command line); *eight says whether it holds a byte over 0x7f. */
static bool
path_ok(const char *s, bool *eight)
{
	const unsigned char *p;

	*eight = false;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
		if (*p > 0x7f)
			*eight = true;
	}
	return true;
}

static const struct mailsec_smtp_ehlo ehlo_none;

unsigned
mailsec_smtp_needs(const char *from, const struct mailsec_smtp_mailparams *mp,
    const struct mailsec_smtp_ehlo *eh)
{
	unsigned need = 0;
	bool eight = false;

	if (eh == NULL)
		eh = &ehlo_none;
	if (from != NULL)
		(void)path_ok(from, &eight);
	if (mp != NULL && mp->body != NULL) {
		if (ms_ascii_eqz(mp->body, strlen(mp->body), "8BITMIME") &&
		    !eh->eightbitmime)
			need |= MAILSEC_SMTP_NEED_8BITMIME;
		/* RFC 3030 3: BINARYMIME only with CHUNKING (BDAT) */
		if (ms_ascii_eqz(mp->body, strlen(mp->body), "BINARYMIME") &&
		    !(eh->binarymime && eh->chunking))
			need |= MAILSEC_SMTP_NEED_BINARYMIME;
	}
	/* RFC 6531 3.4: no UTF-8 envelope to a server without SMTPUTF8 */
	if ((eight || (mp != NULL && mp->smtputf8)) && !eh->smtputf8)
		need |= MAILSEC_SMTP_NEED_SMTPUTF8;
	/* RFC 1870 6.1: a message over the declared maximum is a permanent
	 * failure; the client does not try */
	if (mp != NULL && mp->size > 0 && eh->size && eh->size_max > 0 &&
	    mp->size > eh->size_max)
		need |= MAILSEC_SMTP_NEED_SIZE;
	return need;
}

mailsec_err
mailsec_smtp_cmd_mail(char *buf, size_t bufsz, size_t *len, const char *from,
    const struct mailsec_smtp_mailparams *mp,
    const struct mailsec_smtp_ehlo *eh)
{
	static const struct mailsec_smtp_mailparams none;
	const char *body = NULL, *ret = NULL;
	char num[32];
	struct cw w;
	size_t n;
	bool eight;

	if (len != NULL)
		*len = 0;
	if (buf == NULL || bufsz == 0 || len == NULL || from == NULL ||
	    eh == NULL)
		return MAILSEC_EINVAL;
	buf[0] = '\0';
	if (mp == NULL)
		mp = &none;
	if (!path_ok(from, &eight))
		return MAILSEC_EINVAL;
	if (mp->body != NULL) {
		n = strlen(mp->body);
		if (ms_ascii_eqz(mp->body, n, "8BITMIME"))
			body = eh->eightbitmime ? "8BITMIME" : NULL;
		else if (ms_ascii_eqz(mp->body, n, "BINARYMIME"))
			body = "BINARYMIME";
		else if (!ms_ascii_eqz(mp->body, n, "7BIT"))
			return MAILSEC_EINVAL;
	}
	if (mp->ret != NULL) {
		n = strlen(mp->ret);
		if (ms_ascii_eqz(mp->ret, n, "FULL"))
			ret = "FULL";
		else if (ms_ascii_eqz(mp->ret, n, "HDRS"))
			ret = "HDRS";
		else
			return MAILSEC_EINVAL;
	}
	if (mp->envid != NULL && strlen(mp->envid) > MAILSEC_SMTP_ENVID_MAX)
		return MAILSEC_ELIMIT;
	if ((mailsec_smtp_needs(from, mp, eh) &
	    ~MAILSEC_SMTP_NEED_8BITMIME) != 0)
		return MAILSEC_EINVAL;

	cw_init(&w, buf, bufsz, MAILSEC_SMTP_CCMD_LINE_MAX);
	cw_addz(&w, "MAIL FROM:<");
	cw_addz(&w, from);
	cw_addz(&w, ">");
	if (mp->size > 0 && eh->size) {
		snprintf(num, sizeof num, " SIZE=%" PRIu64, mp->size);
		cw_addz(&w, num);
	}
	if (body != NULL) {
		cw_addz(&w, " BODY=");
		cw_addz(&w, body);
	}
	if (mp->smtputf8)
		cw_addz(&w, " SMTPUTF8");	/* offered: needs() said so */
	if (eh->dsn && ret != NULL) {
		cw_addz(&w, " RET=");
		cw_addz(&w, ret);
	}
	/* RFC 3461 4.4: ENVID has a value; an empty one is left out */
	if (eh->dsn && mp->envid != NULL && mp->envid[0] != '\0') {
		cw_addz(&w, " ENVID=");
		cw_xtext(&w, mp->envid, strlen(mp->envid));
	}
	return cw_finish(&w, len);
}

/* RFC 3461 4.1: "NEVER" alone or 1#("SUCCESS" / "FAILURE" / "DELAY"). */
static bool
notify_ok(const char *s)
{
	const char *p = s, *e;
	size_t n;

	if (ms_ascii_eqz(s, strlen(s), "NEVER"))
		return true;
	for (;;) {
		e = strchr(p, ',');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (!ms_ascii_eqz(p, n, "SUCCESS") &&
		    !ms_ascii_eqz(p, n, "FAILURE") &&
		    !ms_ascii_eqz(p, n, "DELAY"))
			return false;
		if (e == NULL)
			return true;
		p = e + 1;
	}
}

/* Is c an xchar of RFC 3461 4 ('!'..'~' but '+' and '=')? */
static bool
xchar(int c)
{
	return c >= '!' && c <= '~' && c != '+' && c != '=';
}

static bool
hexu(int c)
{
	return ms_isdigit(c) || (c >= 'A' && c <= 'F');
}

/* Is s already "addr-type;xtext" (RFC 3461 4.2), xtext non-empty? */
static bool
orcpt_wire(const char *s)
{
	const char *semi = strchr(s, ';'), *p;

	if (semi == NULL || semi == s || semi[1] == '\0')
		return false;
	for (p = s; p < semi; p++)
		if (!ms_isatext((unsigned char)*p))
			return false;
	for (p = semi + 1; *p != '\0'; p++) {
		if (*p == '+') {
			if (!hexu((unsigned char)p[1]) ||
			    !hexu((unsigned char)p[2]))
				return false;
			p += 2;
		} else if (!xchar((unsigned char)*p)) {
			return false;
		}
	}
	return true;
}

mailsec_err
mailsec_smtp_cmd_rcpt(char *buf, size_t bufsz, size_t *len, const char *to,
    const char *notify, const char *orcpt, const struct mailsec_smtp_ehlo *eh)
{
	struct cw w;
	size_t start;
	bool eight;

	if (len != NULL)
		*len = 0;
	if (buf == NULL || bufsz == 0 || len == NULL || to == NULL ||
	    eh == NULL)
		return MAILSEC_EINVAL;
	buf[0] = '\0';
	if (!path_ok(to, &eight) || (eight && !eh->smtputf8))
		return MAILSEC_EINVAL;
	if (notify != NULL && notify[0] != '\0' && !notify_ok(notify))
		return MAILSEC_EINVAL;

	cw_init(&w, buf, bufsz, MAILSEC_SMTP_CCMD_LINE_MAX);
	cw_addz(&w, "RCPT TO:<");
	cw_addz(&w, to);
	cw_addz(&w, ">");
	if (eh->dsn && notify != NULL && notify[0] != '\0') {
		cw_addz(&w, " NOTIFY=");
		cw_addz(&w, notify);
	}
	if (eh->dsn && orcpt != NULL && orcpt[0] != '\0') {
		cw_addz(&w, " ORCPT=");
		start = w.len;
		if (orcpt_wire(orcpt)) {
			cw_addz(&w, orcpt);
		} else {
			cw_addz(&w, "rfc822;");
			cw_xtext(&w, orcpt, strlen(orcpt));
		}
		/* RFC 3461 4.2: the whole value up to 500 characters */
		if (!w.over && w.len - start > MAILSEC_SMTP_ORCPT_MAX) {
			buf[0] = '\0';
			return MAILSEC_ELIMIT;
		}
	}
	return cw_finish(&w, len);
}

mailsec_err
mailsec_smtp_xtext_encode(const char *in, size_t inlen, char *out,
    size_t outsz, size_t *outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;
	unsigned char c;

	if (outlen != NULL)
		*outlen = 0;
	if ((in == NULL && inlen > 0) || out == NULL || outsz == 0)
		return MAILSEC_EINVAL;
	for (i = 0; i < inlen; i++) {
		c = (unsigned char)in[i];
		if (xchar(c)) {
			if (outsz - o < 2)
				goto toolong;
			out[o++] = (char)c;
		} else {
			if (outsz - o < 4)
				goto toolong;
			out[o++] = '+';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return MAILSEC_OK;
toolong:
	out[0] = '\0';
	return MAILSEC_ELIMIT;
}

/* ---- AUTH -------------------------------------------------------------- */

/* RFC 4616 2: authcid and passwd are 1..255 octets. */
static mailsec_err
sasl_field(const char *s, size_t *n)
{
	if (s == NULL || s[0] == '\0')
		return MAILSEC_EINVAL;
	*n = strnlen(s, MAILSEC_SMTP_SASL_FIELD_MAX + 1);
	return *n > MAILSEC_SMTP_SASL_FIELD_MAX ? MAILSEC_ELIMIT : MAILSEC_OK;
}

mailsec_err
mailsec_smtp_auth_plain(const char *user, const char *pass, char *buf,
    size_t bufsz, size_t *len)
{
	unsigned char msg[2 * MAILSEC_SMTP_SASL_FIELD_MAX + 2];
	size_t ul, pl;
	mailsec_err err;

	if (len != NULL)
		*len = 0;
	if (buf == NULL || bufsz == 0 || len == NULL)
		return MAILSEC_EINVAL;
	buf[0] = '\0';
	if ((err = sasl_field(user, &ul)) != MAILSEC_OK ||
	    (err = sasl_field(pass, &pl)) != MAILSEC_OK)
		return err;
	/* empty authzid: act as the authcid (RFC 4616 2) */
	msg[0] = '\0';
	memcpy(msg + 1, user, ul);
	msg[1 + ul] = '\0';
	memcpy(msg + 2 + ul, pass, pl);
	/* Into the caller's buffer: no copy left behind in freed memory. */
	err = ms_base64_encode(msg, 2 + ul + pl, buf, bufsz, len);
	explicit_bzero(msg, sizeof msg);
	return err;
}

mailsec_err
mailsec_smtp_auth_login(const char *s, char *buf, size_t bufsz, size_t *len)
{
	size_t n;
	mailsec_err err;

	if (len != NULL)
		*len = 0;
	if (buf == NULL || bufsz == 0 || len == NULL)
		return MAILSEC_EINVAL;
	buf[0] = '\0';
	if ((err = sasl_field(s, &n)) != MAILSEC_OK)
		return err;
	return ms_base64_encode((const unsigned char *)s, n, buf, bufsz, len);
}

/* ---- DATA dot-stuffing ------------------------------------------------- */

void
mailsec_smtp_dotstuff_init(struct mailsec_smtp_dotstuff *d)
{
	if (d == NULL)
		return;
	d->bol = true;
	d->cr = false;
	d->in = 0;
	d->out = 0;
}

size_t
mailsec_smtp_dotstuff_bound(size_t inlen)
{
	size_t n;

	/* a byte gives at most two: "." -> "..", LF or CR -> CR LF */
	return ms_size_mul(inlen, 2, &n) ? n : SIZE_MAX;
}

size_t
mailsec_smtp_dotstuff(struct mailsec_smtp_dotstuff *d, const char *in,
    size_t inlen, char *out)
{
	size_t i, o = 0;
	char c;

	if (d == NULL || in == NULL || out == NULL)
		return 0;
	for (i = 0; i < inlen; i++) {
		c = in[i];
		if (d->cr) {
			d->cr = false;
			if (c == '\n')
				continue;	/* its CR LF is out */
		}
		if (c == '\r' || c == '\n') {
			/* RFC 5321 2.3.8: lines end in CR LF on the wire */
			out[o++] = '\r';
			out[o++] = '\n';
			d->cr = c == '\r';
			d->bol = true;
			continue;
		}
		/* RFC 5321 4.5.2: a line starting with "." gets another */
		if (d->bol && c == '.')
			out[o++] = '.';
		d->bol = false;
		out[o++] = c;
	}
	d->in += inlen;
	d->out += o;
	return o;
}

size_t
mailsec_smtp_dotstuff_finish(struct mailsec_smtp_dotstuff *d, char *out)
{
	size_t o = 0;

	if (d == NULL || out == NULL)
		return 0;
	if (!d->bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	o += 3;
	d->bol = true;
	d->cr = false;
	d->out += o;
	return o;
}
