/*
 * lib/smtp/dsn.c - delivery status notifications: the NOTIFY rules of
 * RFC 3461 (4.1, 5.2.5, 5.2.6) and the DSN message: multipart/report
 * (RFC 6522 3) with a human-readable part, message/delivery-status
 * (RFC 3464 2.2, 2.3; RFC 3461 6.3) and the original message or its
 * header block (RFC 3461 6.2, RFC 6522 4), Auto-Submitted (RFC 3834 5).
 *
 * Everything that comes from the envelope is checked to be printable
 * ASCII before it is written, so no value can end a field or start one;
 * the only free text (the remote server's reply) is escaped instead.
 */
#include <sys/random.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailsec/dsn.h>

#include "smtp/dsn_int.h"
#include "smtp/smtp_int.h"

#define DSN_FOLD_COL	78	/* RFC 5322 2.1.1: SHOULD, fields */
#define DSN_LINE_MAX	998	/* RFC 5322 2.1.1: MUST */
#define DSN_TEXT_COL	76	/* the human part */
#define DSN_QP_COL	76	/* RFC 2045 6.7 (5) */
#define DSN_CHUNK	(64u * 1024u)	/* one read of the original */
#define DSN_OUT_MAX	(SIZE_MAX / 4)	/* bounded by the inputs anyway */
#define DSN_RAND_LEN	12	/* random bytes in a boundary */
#define DSN_BOUNDARY_TRIES 16	/* fresh boundaries tried */

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static void
dsn_random(ms_dsn_random_fn *hook, unsigned char *buf, size_t n)
{
	static _Atomic uint64_t counter;
	uint64_t s, v = 0;
	size_t i;

	if (hook != NULL) {
		hook(buf, n);
		return;
	}
	if (getrandom(buf, n, 0) == (ssize_t)n)
		return;
	/* No entropy: unique enough for a boundary (it is checked against
	 * the content) and a Message-ID. */
	s = (uint64_t)time(NULL) ^ ((uint64_t)atomic_fetch_add(&counter, 1)
	    << 32) ^ (uint64_t)(uintptr_t)buf;
	for (i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = splitmix64(&s);
		buf[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
}

/* ---- NOTIFY ------------------------------------------------------------ */

bool
mailsec_dsn_wanted(const char *notify, enum mailsec_dsn_action a)
{
	unsigned bits = notify != NULL ?
	    ms_smtp_notify_parse(notify, strlen(notify)) : 0;

	/* 4.1 last paragraph, 5.2.5 (b), 5.2.6 (c): no NOTIFY is taken as
	 * FAILURE,DELAY. */
	if (bits == 0)
		bits = MAILSEC_SMTP_NOTIFY_FAILURE | MAILSEC_SMTP_NOTIFY_DELAY;
	if (bits & MAILSEC_SMTP_NOTIFY_NEVER)
		return false;
	switch (a) {
	case MAILSEC_DSN_FAILED:
		return (bits & MAILSEC_SMTP_NOTIFY_FAILURE) != 0;
	case MAILSEC_DSN_DELAYED:
		return (bits & MAILSEC_SMTP_NOTIFY_DELAY) != 0;
	case MAILSEC_DSN_DELIVERED:
	case MAILSEC_DSN_RELAYED:	/* RFC 3464 2.3.3: only on request */
	case MAILSEC_DSN_EXPANDED:
		return (bits & MAILSEC_SMTP_NOTIFY_SUCCESS) != 0;
	}
	return false;
}

/* ---- checks ------------------------------------------------------------ */

/* Character sets of check_str(). */
enum dsn_chars {
	CH_WORD,	/* printable ASCII, no space */
	CH_TEXT,	/* printable ASCII and space */
	CH_MAILBOX,	/* CH_TEXT without '<' and '>' (inside <...>) */
	CH_MAILBOX_NOSP,/* CH_WORD without '<' and '>' */
	CH_DOMAIN	/* atext and '.' (Message-ID right side) */
};

static bool
char_ok(unsigned char c, enum dsn_chars set)
{
	switch (set) {
	case CH_WORD:
		return c > 0x20 && c < 0x7f;
	case CH_TEXT:
		return c >= 0x20 && c < 0x7f;
	case CH_MAILBOX:
		return c >= 0x20 && c < 0x7f && c != '<' && c != '>';
	case CH_MAILBOX_NOSP:
		return c > 0x20 && c < 0x7f && c != '<' && c != '>';
	case CH_DOMAIN:
		return ms_isatext(c) || c == '.';
	}
	return false;
}

/* s must be present (when required) and non-empty, all of set. */
static mailsec_err
check_str(const char *s, const char *what, bool required, enum dsn_chars set,
    struct mailsec_diag *diag)
{
	size_t i;

	if (s == NULL || *s == '\0') {
		if (!required)
			return MAILSEC_OK;
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "%s: %s", what,
		    s == NULL ? "missing" : "empty");
	}
	for (i = 0; s[i] != '\0'; i++)
		if (!char_ok((unsigned char)s[i], set))
			return ms_diag(diag, MAILSEC_EINVAL, i, 0,
			    "%s: byte 0x%02x at offset %zu not allowed", what,
			    (unsigned char)s[i], i);
	return MAILSEC_OK;
}

/* One sub-field of a status code: 1*3DIGIT without leading zeros. */
static bool
status_num(const char **pp)
{
	const char *p = *pp;
	size_t n = 0;

	while (ms_isdigit(p[n]) && n < 4)
		n++;
	if (n == 0 || n > 3 || (n > 1 && p[0] == '0'))
		return false;
	*pp = p + n;
	return true;
}

/* RFC 3464 2.3.4 status-code, class fitting the action (2.3.3). */
static bool
status_ok(const char *s, enum mailsec_dsn_action a)
{
	const char *p = s;
	char cls;

	if (s == NULL)
		return false;
	cls = s[0];
	if ((cls != '2' && cls != '4' && cls != '5') || s[1] != '.')
		return false;
	p = s + 2;
	if (!status_num(&p) || *p++ != '.' || !status_num(&p) || *p != '\0')
		return false;
	switch (a) {
	case MAILSEC_DSN_FAILED:
		return cls == '4' || cls == '5';
	case MAILSEC_DSN_DELAYED:
		return cls == '4';
	case MAILSEC_DSN_DELIVERED:
	case MAILSEC_DSN_RELAYED:
	case MAILSEC_DSN_EXPANDED:
		return cls == '2';
	}
	return false;
}

/* ORCPT: addr-type ";" address (RFC 3461 4.2; 4.2 last paragraph: the
 * decoded address is printable US-ASCII and white space). */
static mailsec_err
check_orcpt(const char *s, size_t idx, struct mailsec_diag *diag)
{
	const char *semi;
	size_t i;
	mailsec_err err;

	if ((err = check_str(s, "orcpt", false, CH_TEXT, diag)) != MAILSEC_OK)
		return err;
	if (s == NULL || *s == '\0')
		return MAILSEC_OK;
	semi = strchr(s, ';');
	if (semi == NULL || semi == s)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "recipient %zu: orcpt is not \"type;address\"", idx);
	for (i = 0; s + i < semi; i++)
		if (!ms_isatext(s[i]))
			return ms_diag(diag, MAILSEC_EINVAL, i, 0,
			    "recipient %zu: orcpt address type not an atom",
			    idx);
	return MAILSEC_OK;
}

/* ---- dates ------------------------------------------------------------- */

#define DSN_DATE_LEN	32	/* "Thu, 01 Jan 1970 00:00:00 +0000" + NUL */

/* RFC 5322 3.3 date-time in UTC with a numeric zone (RFC 3464 2.2.5). */
static mailsec_err
fmt_date(int64_t t, char out[DSN_DATE_LEN])
{
	static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	time_t tt = (time_t)t;
	int n;

	if (t < 0 || (int64_t)tt != t || gmtime_r(&tt, &tm) == NULL)
		return MAILSEC_EINVAL;
	/* 4DIGIT year (RFC 5322 3.3). */
	if (tm.tm_year < 0 || tm.tm_year > 9999 - 1900 || tm.tm_wday < 0 ||
	    tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11)
		return MAILSEC_EINVAL;
	n = snprintf(out, DSN_DATE_LEN, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    wday[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || n >= DSN_DATE_LEN)
		return MAILSEC_EINVAL;
	return MAILSEC_OK;
}

static mailsec_err
date_arg(int64_t t, const char *what, char out[DSN_DATE_LEN],
    struct mailsec_diag *diag)
{
	if (fmt_date(t, out) != MAILSEC_OK)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "%s: time %" PRId64 " cannot be written as a date", what,
		    t);
	return MAILSEC_OK;
}

/* ---- writing: folding and wrapping ------------------------------------- */

/*
 * Appends v[0..n) at column col, breaking lines before a space when the
 * next word would pass width: a break is CRLF and indent. A "\n" in v is
 * a forced break (consecutive ones collapse: no empty continuation
 * line). hard: a word longer than what is left of the line is cut (free
 * text only); otherwise a line longer than DSN_LINE_MAX is ELIMIT. Does
 * not write a final CRLF. v holds printable ASCII, space and "\n".
 */
static mailsec_err
wrap(struct ms_buf *b, size_t col, const char *v, size_t n,
    const char *indent, size_t width, bool hard)
{
	size_t i = 0, s, w, wl, take, ilen = strlen(indent);
	bool bol = true;	/* nothing written on this line yet */
	mailsec_err err;

#define BREAK() do {							\
		if ((err = ms_buf_append(b, "\r\n", 2)) != 0 ||		\
		    (err = ms_buf_appendz(b, indent)) != 0)		\
			return err;					\
		col = ilen;						\
		bol = true;						\
	} while (0)

	while (i < n) {
		if (v[i] == '\n') {
			if (!bol)
				BREAK();
			i++;
			continue;
		}
		s = i;
		while (i < n && v[i] == ' ')
			i++;
		w = i;
		while (i < n && v[i] != ' ' && v[i] != '\n')
			i++;
		wl = i - w;
		if (wl == 0) {
			/* trailing spaces: never alone on a line */
			if (!bol) {
				if ((err = ms_buf_append(b, v + s, w - s)) !=
				    MAILSEC_OK)
					return err;
				col += w - s;
				if (col > DSN_LINE_MAX)
					return MAILSEC_ELIMIT;
			}
			continue;
		}
		if (!bol && col + (i - s) > width)
			BREAK();
		if (bol)
			s = w;	/* the break replaces the spaces */
		if ((err = ms_buf_append(b, v + s, w - s)) != MAILSEC_OK)
			return err;
		col += w - s;
		while (wl > 0) {
			if (!hard || col + wl <= width) {
				if ((err = ms_buf_append(b, v + w, wl)) !=
				    MAILSEC_OK)
					return err;
				col += wl;
				break;
			}
			take = col < width ? width - col : 0;
			if (take > 0) {
				if ((err = ms_buf_append(b, v + w, take)) !=
				    MAILSEC_OK)
					return err;
				w += take;
				wl -= take;
			}
			BREAK();
		}
		bol = false;
		if (col > DSN_LINE_MAX)
			return MAILSEC_ELIMIT;
	}
#undef BREAK
	return MAILSEC_OK;
}

/* Formats fmt into a new string (*out, free() it), *len bytes. */
static mailsec_err
vformat(char **out, size_t *len, const char *fmt, va_list ap)
    MS_PRINTF(3, 0);

static mailsec_err
vformat(char **out, size_t *len, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return MAILSEC_EINVAL;
	if ((*out = malloc((size_t)n + 1)) == NULL)
		return MAILSEC_ENOMEM;
	(void)vsnprintf(*out, (size_t)n + 1, fmt, ap);
	*len = (size_t)n;
	return MAILSEC_OK;
}

/* "Name: value" CRLF, the value from fmt, folded at DSN_FOLD_COL. */
static mailsec_err
field(struct ms_buf *b, bool hard, const char *name, const char *fmt, ...)
    MS_PRINTF(4, 5);

static mailsec_err
field(struct ms_buf *b, bool hard, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *v = NULL;
	size_t n = 0;
	mailsec_err err;

	va_start(ap, fmt);
	err = vformat(&v, &n, fmt, ap);
	va_end(ap);
	if (err != MAILSEC_OK)
		return err;
	if ((err = ms_buf_appendz(b, name)) == MAILSEC_OK &&
	    (err = ms_buf_append(b, ": ", 2)) == MAILSEC_OK &&
	    (err = wrap(b, strlen(name) + 2, v, n, " ", DSN_FOLD_COL,
	    hard)) == MAILSEC_OK)
		err = ms_buf_append(b, "\r\n", 2);
	free(v);
	return err;
}

/* A paragraph of the human part: each line starts with indent, wrapped
 * at DSN_TEXT_COL, then CRLF. */
static mailsec_err
para(struct ms_buf *b, const char *indent, const char *fmt, ...)
    MS_PRINTF(3, 4);

static mailsec_err
para(struct ms_buf *b, const char *indent, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	size_t n = 0;
	mailsec_err err;

	va_start(ap, fmt);
	err = vformat(&text, &n, fmt, ap);
	va_end(ap);
	if (err != MAILSEC_OK)
		return err;
	if ((err = ms_buf_appendz(b, indent)) == MAILSEC_OK &&
	    (err = wrap(b, strlen(indent), text, n, indent, DSN_TEXT_COL,
	    true)) == MAILSEC_OK)
		err = ms_buf_append(b, "\r\n", 2);
	free(text);
	return err;
}

/*
 * The peer's reply as printable ASCII: lines joined by "\n" (CR before
 * LF dropped, empty lines and trailing spaces dropped), tabs as spaces,
 * every other byte as "\xHH" (it is data, never a field break).
 */
static mailsec_err
escape_text(struct ms_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	char esc[4];
	mailsec_err err = MAILSEC_OK;
	size_t i;

	for (i = 0; p[i] != '\0' && err == MAILSEC_OK; i++) {
		if (p[i] == '\r' && p[i + 1] == '\n')
			continue;
		if (p[i] == '\n' || p[i] == ' ' || p[i] == '\t') {
			char c = p[i] == '\n' ? '\n' : ' ';

			/* no trailing space before a break, no empty line */
			if (c == '\n') {
				while (out->len > 0 &&
				    out->ptr[out->len - 1] == ' ')
					out->len--;
				if (out->len == 0 ||
				    out->ptr[out->len - 1] == '\n')
					continue;
			}
			err = ms_buf_appendc(out, c);
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			err = ms_buf_appendc(out, (char)p[i]);
		} else {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[p[i] >> 4];
			esc[3] = hex[p[i] & 15];
			err = ms_buf_append(out, esc, 4);
		}
	}
	if (err != MAILSEC_OK)
		return err;
	while (out->len > 0 && (out->ptr[out->len - 1] == ' ' ||
	    out->ptr[out->len - 1] == '\n'))
		out->len--;
	/* (re)writes the NUL after the trimmed text */
	return ms_buf_append(out, "", 0);
}

/* RFC 3461 9.2: an smtp diagnostic starts with a 3-digit reply code. */
static bool
smtp_diagnostic(const char *s)
{
	return ms_isdigit(s[0]) && ms_isdigit(s[1]) && ms_isdigit(s[2]) &&
	    (s[3] == '\0' || s[3] == ' ' || s[3] == '-' || s[3] == '\n');
}

/* ---- the original message ---------------------------------------------- */

/* Why the whole message is not returned. */
enum orig_why {
	ORIG_FULL,		/* it is */
	ORIG_NOT_ASKED,		/* RET=HDRS or no RET */
	ORIG_NO_FAILURE,	/* RET=FULL, but nothing failed (RFC 3461
				   4.3, 6.2) */
	ORIG_TOO_BIG,		/* over orig_max */
	ORIG_NEVER,		/* orig_max 0: never whole */
	ORIG_EIGHTBIT,		/* 8-bit bytes (RFC 6522 3) */
	ORIG_BINARY,		/* NUL, bare CR or a line over 998 */
	ORIG_ABSENT		/* no read callback */
};

struct orig {
	struct ms_buf raw;	/* what was read */
	size_t scan;		/* next line start to look at */
	size_t hdr_len;		/* header block: fields with their line
				   breaks, without the blank line */
	bool hdr_done;		/* hdr_len is known */
	bool hdr_cut;		/* the header block was cut */
	bool eof;
	enum orig_why why;
};

/* Finds the blank line that ends the header block in what was read. */
static void
orig_scan(struct orig *o)
{
	const char *p = o->raw.ptr;
	const char *nl;

	while (!o->hdr_done && o->scan < o->raw.len) {
		nl = memchr(p + o->scan, '\n', o->raw.len - o->scan);
		if (nl == NULL)
			break;
		if (nl == p + o->scan ||
		    (nl == p + o->scan + 1 && p[o->scan] == '\r')) {
			o->hdr_len = o->scan;
			o->hdr_done = true;
			break;
		}
		o->scan = (size_t)(nl - p) + 1;
	}
}

/*
 * Reads the original: all of it (up to orig_max) when it may be returned
 * whole, else until the end of its header block (up to
 * MAILSEC_DSN_HEADERS_MAX).
 */
static mailsec_err
orig_read(struct orig *o, mailsec_dsn_read_fn *read, void *arg,
    uint64_t orig_max)
{
	char *chunk;
	size_t got;
	mailsec_err err = MAILSEC_OK;

	if ((chunk = malloc(DSN_CHUNK)) == NULL)
		return MAILSEC_ENOMEM;
	while (!o->eof) {
		if (o->why == ORIG_FULL && o->raw.len > orig_max)
			o->why = ORIG_TOO_BIG;
		if (o->why != ORIG_FULL && (o->hdr_done ||
		    o->raw.len >= MAILSEC_DSN_HEADERS_MAX))
			break;
		got = 0;
		if ((err = read(arg, chunk, DSN_CHUNK, &got)) != MAILSEC_OK)
			break;
		if (got > DSN_CHUNK) {
			err = MAILSEC_EINVAL;
			break;
		}
		if (got == 0) {
			o->eof = true;
			break;
		}
		if ((err = ms_buf_append(&o->raw, chunk, got)) != MAILSEC_OK)
			break;
		orig_scan(o);
	}
	free(chunk);
	if (err != MAILSEC_OK)
		return err;
	if (o->why == ORIG_FULL && o->raw.len > orig_max)
		o->why = ORIG_TOO_BIG;
	if (!o->hdr_done && o->eof) {
		/* no blank line: all header */
		o->hdr_len = o->raw.len;
		o->hdr_done = true;
	}
	return MAILSEC_OK;
}

/* Cuts an unfinished or too long header block at the last field start
 * within MAILSEC_DSN_HEADERS_MAX. */
static void
orig_cut_header(struct orig *o)
{
	const char *p = o->raw.ptr;
	size_t lim, i, last = 0;

	if (o->hdr_done && o->hdr_len <= MAILSEC_DSN_HEADERS_MAX)
		return;
	lim = o->hdr_done ? o->hdr_len : o->raw.len;
	if (lim > MAILSEC_DSN_HEADERS_MAX)
		lim = MAILSEC_DSN_HEADERS_MAX;
	/* a line start within lim where no continuation line follows */
	for (i = 0; i < lim; i++)
		if (p[i] == '\n' &&
		    (i + 1 >= o->raw.len || !ms_iswsp(p[i + 1])))
			last = i + 1;
	o->hdr_len = last;
	o->hdr_done = true;
	o->hdr_cut = true;
}

/* Can the whole message travel as a 7bit message/rfc822? */
static enum orig_why
orig_check_full(const char *p, size_t n)
{
	size_t i, linelen = 0;
	enum orig_why why = ORIG_FULL;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c >= 0x80)
			return ORIG_EIGHTBIT;
		if (c == '\n') {
			linelen = 0;
			continue;
		}
		if (c == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		if (c == '\0' || c == '\r' || ++linelen > DSN_LINE_MAX)
			why = ORIG_BINARY;
	}
	return why;
}

/* Is the header block 7bit-clean text (no QP needed)? */
static bool
header_clean(const char *p, size_t n)
{
	size_t i, linelen = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c == '\n') {
			linelen = 0;
			continue;
		}
		if (c == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		if ((c < 0x20 && c != '\t') || c >= 0x7f ||
		    ++linelen > DSN_LINE_MAX)
			return false;
	}
	return true;
}

/* Appends p[0..n) with LF or CRLF line ends as CRLF lines (a final line
 * break added when missing). */
static mailsec_err
put_crlf(struct ms_buf *b, const char *p, size_t n)
{
	size_t i = 0, s;
	mailsec_err err;

	while (i < n) {
		s = i;
		while (i < n && p[i] != '\n')
			i++;
		/* [s, i) is the line, maybe with a CR before the LF */
		if (i > s && i < n && p[i - 1] == '\r')
			err = ms_buf_append(b, p + s, i - s - 1);
		else
			err = ms_buf_append(b, p + s, i - s);
		if (err != MAILSEC_OK ||
		    (err = ms_buf_append(b, "\r\n", 2)) != MAILSEC_OK)
			return err;
		if (i < n)
			i++;
	}
	return MAILSEC_OK;
}

/* RFC 2045 6.7 quoted-printable of text lines (LF or CRLF ends). */
static mailsec_err
put_qp(struct ms_buf *b, const char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0, s, e, col;
	char enc[3];
	unsigned char c;
	bool lit;
	mailsec_err err;

	while (i < n) {
		s = i;
		while (i < n && p[i] != '\n')
			i++;
		e = i;
		if (e > s && i < n && p[e - 1] == '\r')
			e--;
		col = 0;
		for (; s < e; s++) {
			c = (unsigned char)p[s];
			/* rule (3): white space at the end of a line is
			 * encoded */
			lit = (c >= 33 && c <= 126 && c != '=') ||
			    ((c == ' ' || c == '\t') && s + 1 < e);
			enc[0] = (char)c;
			if (!lit) {
				enc[0] = '=';
				enc[1] = hex[c >> 4];
				enc[2] = hex[c & 15];
			}
			/* rule (5): 76 columns with the soft break's '=' */
			if (col + (lit ? 1 : 3) > DSN_QP_COL - 1) {
				if ((err = ms_buf_append(b, "=\r\n", 3)) !=
				    MAILSEC_OK)
					return err;
				col = 0;
			}
			if ((err = ms_buf_append(b, enc, lit ? 1 : 3)) !=
			    MAILSEC_OK)
				return err;
			col += lit ? 1 : 3;
		}
		if ((err = ms_buf_append(b, "\r\n", 2)) != MAILSEC_OK)
			return err;
		if (i < n)
			i++;
	}
	return MAILSEC_OK;
}

/* The third part, its MIME header included. */
static mailsec_err
orig_part(struct ms_buf *b, const struct orig *o)
{
	mailsec_err err;

	if (o->why == ORIG_FULL) {
		if ((err = ms_buf_appendz(b, "Content-Type: message/rfc822\r\n"
		    "Content-Description: Undelivered Message\r\n\r\n")) !=
		    MAILSEC_OK)
			return err;
		return put_crlf(b, o->raw.ptr, o->raw.len);
	}
	if (header_clean(o->raw.ptr, o->hdr_len)) {
		if ((err = ms_buf_appendz(b,
		    "Content-Type: text/rfc822-headers\r\n"
		    "Content-Description: Message Headers\r\n\r\n")) !=
		    MAILSEC_OK)
			return err;
		return put_crlf(b, o->raw.ptr, o->hdr_len);
	}
	if ((err = ms_buf_appendz(b, "Content-Type: text/rfc822-headers\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "Content-Description: Message Headers\r\n\r\n")) != MAILSEC_OK)
		return err;
	return put_qp(b, o->raw.ptr, o->hdr_len);
}

/* ---- the parts --------------------------------------------------------- */

static const char *const action_names[] = {
	[MAILSEC_DSN_FAILED] = "failed",
	[MAILSEC_DSN_DELAYED] = "delayed",
	[MAILSEC_DSN_DELIVERED] = "delivered",
	[MAILSEC_DSN_RELAYED] = "relayed",
	[MAILSEC_DSN_EXPANDED] = "expanded",
};

static bool
action_ok(enum mailsec_dsn_action a)
{
	return (unsigned)a < MS_ARRAY_LEN(action_names);
}

/* Checks every string and code of d before anything is written. */
static mailsec_err
check_dsn(const struct mailsec_dsn *d, struct mailsec_diag *diag)
{
	const struct mailsec_dsn_rcpt *r;
	char date[DSN_DATE_LEN];
	size_t i;
	mailsec_err err;

	if (d->to == NULL || d->to[0] == '\0')
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "to: no DSN to the null reverse-path");
	if ((err = check_str(d->to, "to", true, CH_MAILBOX, diag)) != 0 ||
	    (err = check_str(d->reporting_mta, "reporting_mta", true,
	    CH_WORD, diag)) != 0 ||
	    (err = check_str(d->postmaster, "postmaster", true,
	    CH_MAILBOX_NOSP, diag)) != 0 ||
	    (err = check_str(d->envid, "envid", false, CH_TEXT, diag)) != 0 ||
	    (err = check_str(d->received_from_mta, "received_from_mta", false,
	    CH_TEXT, diag)) != 0 ||
	    (err = check_str(d->message_id_domain != NULL ?
	    d->message_id_domain : d->reporting_mta, "message_id_domain",
	    true, CH_DOMAIN, diag)) != 0)
		return err;
	if (d->ret != NULL && !ms_ascii_eqz(d->ret, strlen(d->ret), "FULL") &&
	    !ms_ascii_eqz(d->ret, strlen(d->ret), "HDRS"))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "ret: neither FULL nor HDRS");
	if ((err = date_arg(d->now, "now", date, diag)) != 0 ||
	    (d->arrival != 0 &&
	    (err = date_arg(d->arrival, "arrival", date, diag)) != 0))
		return err;
	for (i = 0; i < d->nrcpts; i++) {
		r = &d->rcpts[i];
		if (!action_ok(r->action))
			return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
			    "recipient %zu: unknown action %d", i,
			    (int)r->action);
		if (!status_ok(r->status, r->action))
			return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
			    "recipient %zu: status \"%.16s\" is not an "
			    "RFC 3463 code for action %s", i,
			    r->status != NULL ? r->status : "",
			    action_names[r->action]);
		if ((err = check_str(r->final_recipient, "final_recipient",
		    true, CH_TEXT, diag)) != 0 ||
		    (err = check_orcpt(r->orcpt, i, diag)) != 0 ||
		    (err = check_str(r->remote_mta, "remote_mta", false,
		    CH_TEXT, diag)) != 0 ||
		    (r->last_attempt != 0 && (err = date_arg(r->last_attempt,
		    "last_attempt", date, diag)) != 0) ||
		    (r->action == MAILSEC_DSN_DELAYED &&
		    r->will_retry_until != 0 && (err = date_arg(
		    r->will_retry_until, "will_retry_until", date, diag)) != 0))
			return err;
	}
	return MAILSEC_OK;
}

/* What the human part says about one recipient. */
static const char *
action_words(enum mailsec_dsn_action a)
{
	switch (a) {
	case MAILSEC_DSN_FAILED:
		return "could not be delivered. The mail system has given "
		    "up; no further attempts will be made.";
	case MAILSEC_DSN_DELAYED:
		return "has not been delivered yet. The mail system will "
		    "keep trying; there is no need to send it again.";
	case MAILSEC_DSN_DELIVERED:
		return "was delivered.";
	case MAILSEC_DSN_RELAYED:
		return "was passed on to a mail system that does not report "
		    "final delivery; no further notice is expected.";
	case MAILSEC_DSN_EXPANDED:
		return "was delivered and forwarded to further addresses; "
		    "they may still report problems of their own.";
	}
	return "";
}

static mailsec_err
human_rcpt(struct ms_buf *b, const struct mailsec_dsn_rcpt *r)
{
	struct ms_buf diagtxt;
	char date[DSN_DATE_LEN];
	const char *orcpt_addr;
	mailsec_err err;

	if ((err = para(b, "", "<%s>: your message %s", r->final_recipient,
	    action_words(r->action))) != MAILSEC_OK)
		return err;
	if (r->orcpt != NULL && r->orcpt[0] != '\0') {
		orcpt_addr = strchr(r->orcpt, ';') + 1;
		if (strcmp(orcpt_addr, r->final_recipient) != 0 &&
		    (err = para(b, "    ", "(You addressed it to %s.)",
		    orcpt_addr)) != MAILSEC_OK)
			return err;
	}
	if (r->action == MAILSEC_DSN_DELAYED && r->will_retry_until != 0) {
		if ((err = fmt_date(r->will_retry_until, date)) != MAILSEC_OK ||
		    (err = para(b, "    ", "It will keep trying until %s.",
		    date)) != MAILSEC_OK)
			return err;
	}
	if (r->diagnostic != NULL && r->diagnostic[0] != '\0') {
		ms_buf_init(&diagtxt, DSN_OUT_MAX);
		if ((err = escape_text(&diagtxt, r->diagnostic)) != MAILSEC_OK)
			return err;
		if (diagtxt.len > 0) {
			if (r->remote_mta != NULL && r->remote_mta[0] != '\0')
				err = para(b, "    ", "The server %s said:",
				    r->remote_mta);
			else
				err = para(b, "    ", "Reason:");
			if (err == MAILSEC_OK)
				err = para(b, "        ", "%s", diagtxt.ptr);
		}
		ms_buf_free(&diagtxt);
		if (err != MAILSEC_OK)
			return err;
	} else if (r->remote_mta != NULL && r->remote_mta[0] != '\0') {
		if ((err = para(b, "    ", "(The server was %s.)",
		    r->remote_mta)) != MAILSEC_OK)
			return err;
	}
	return ms_buf_append(b, "\r\n", 2);
}

static mailsec_err
human_part(struct ms_buf *b, const struct mailsec_dsn *d,
    const struct orig *o, bool failed, bool delayed, uint64_t orig_max)
{
	size_t i;
	mailsec_err err;

	if ((err = ms_buf_appendz(b, "Content-Type: text/plain; "
	    "charset=us-ascii\r\nContent-Description: Notification\r\n\r\n"))
	    != MAILSEC_OK)
		return err;
	if ((err = para(b, "", "This is the mail system at host %s.",
	    d->reporting_mta)) != MAILSEC_OK ||
	    (err = ms_buf_append(b, "\r\n", 2)) != MAILSEC_OK)
		return err;
	if (failed)
		err = para(b, "", "Your message could not be delivered to one "
		    "or more recipients. The details are below.");
	else if (delayed)
		err = para(b, "", "Your message has not been delivered yet to "
		    "one or more recipients. This is only a warning: the mail "
		    "system is still trying.");
	else
		err = para(b, "", "This is a report of the delivery of your "
		    "message, as you asked for.");
	if (err != MAILSEC_OK || (err = ms_buf_append(b, "\r\n", 2)) != 0)
		return err;
	if (d->envid != NULL && d->envid[0] != '\0' &&
	    ((err = para(b, "", "Envelope id of your message: %s",
	    d->envid)) != MAILSEC_OK ||
	    (err = ms_buf_append(b, "\r\n", 2)) != MAILSEC_OK))
		return err;
	for (i = 0; i < d->nrcpts; i++)
		if ((err = human_rcpt(b, &d->rcpts[i])) != MAILSEC_OK)
			return err;
	switch (o->why) {
	case ORIG_FULL:
		err = para(b, "", "Your message is attached.");
		break;
	case ORIG_NOT_ASKED:
	case ORIG_NO_FAILURE:
		err = para(b, "", "The header of your message is attached.");
		break;
	case ORIG_TOO_BIG:
		err = para(b, "", "Only the header of your message is "
		    "attached: the message is larger than the %" PRIu64
		    " bytes this system returns whole.", orig_max);
		break;
	case ORIG_NEVER:
		err = para(b, "", "Only the header of your message is "
		    "attached: this system does not return whole messages.");
		break;
	case ORIG_EIGHTBIT:
		err = para(b, "", "Only the header of your message is "
		    "attached: the message has 8-bit content, which this "
		    "report cannot carry unchanged.");
		break;
	case ORIG_BINARY:
		err = para(b, "", "Only the header of your message is "
		    "attached: the message has binary content (NUL or bare "
		    "CR bytes, or lines over 998 bytes), which this report "
		    "cannot carry unchanged.");
		break;
	case ORIG_ABSENT:
		err = para(b, "", "Your message is not included.");
		break;
	}
	if (err == MAILSEC_OK && o->why != ORIG_ABSENT && o->hdr_cut)
		err = para(b, "", "The header was cut after %zu bytes.",
		    o->hdr_len);
	return err;
}

static mailsec_err
status_rcpt(struct ms_buf *b, const struct mailsec_dsn_rcpt *r)
{
	struct ms_buf diagtxt;
	char date[DSN_DATE_LEN];
	mailsec_err err;

	if ((err = ms_buf_append(b, "\r\n", 2)) != MAILSEC_OK)
		return err;
	/* RFC 3461 6.3 (d), (e); RFC 3464 2.3 order */
	if (r->orcpt != NULL && r->orcpt[0] != '\0' &&
	    (err = field(b, false, "Original-Recipient", "%s", r->orcpt)) != 0)
		return err;
	if ((err = field(b, false, "Final-Recipient", "rfc822;%s",
	    r->final_recipient)) != MAILSEC_OK ||
	    (err = field(b, false, "Action", "%s",
	    action_names[r->action])) != MAILSEC_OK ||
	    (err = field(b, false, "Status", "%s", r->status)) != MAILSEC_OK)
		return err;
	if (r->remote_mta != NULL && r->remote_mta[0] != '\0' &&
	    (err = field(b, false, "Remote-MTA", "dns; %s",
	    r->remote_mta)) != MAILSEC_OK)
		return err;
	if (r->diagnostic != NULL && r->diagnostic[0] != '\0') {
		ms_buf_init(&diagtxt, DSN_OUT_MAX);
		if ((err = escape_text(&diagtxt, r->diagnostic)) != MAILSEC_OK)
			return err;
		/* RFC 3461 9.2: each further reply line on a continuation */
		if (diagtxt.len > 0)
			err = field(b, true, "Diagnostic-Code", "%s; %s",
			    smtp_diagnostic(diagtxt.ptr) ? "smtp" :
			    "X-mailsec", diagtxt.ptr);
		ms_buf_free(&diagtxt);
		if (err != MAILSEC_OK)
			return err;
	}
	if (r->last_attempt != 0 &&
	    ((err = fmt_date(r->last_attempt, date)) != MAILSEC_OK ||
	    (err = field(b, false, "Last-Attempt-Date", "%s", date)) != 0))
		return err;
	if (r->action == MAILSEC_DSN_DELAYED && r->will_retry_until != 0 &&
	    ((err = fmt_date(r->will_retry_until, date)) != MAILSEC_OK ||
	    (err = field(b, false, "Will-Retry-Until", "%s", date)) != 0))
		return err;
	return MAILSEC_OK;
}

static mailsec_err
status_part(struct ms_buf *b, const struct mailsec_dsn *d)
{
	char date[DSN_DATE_LEN];
	size_t i;
	mailsec_err err;

	if ((err = ms_buf_appendz(b, "Content-Type: message/delivery-status"
	    "\r\nContent-Description: Delivery report\r\n\r\n")) !=
	    MAILSEC_OK)
		return err;
	/* RFC 3464 2.2 order; RFC 3461 6.3 (a): the decoded ENVID */
	if (d->envid != NULL && d->envid[0] != '\0' &&
	    (err = field(b, false, "Original-Envelope-Id", "%s", d->envid)) !=
	    MAILSEC_OK)
		return err;
	if ((err = field(b, false, "Reporting-MTA", "dns; %s",
	    d->reporting_mta)) != MAILSEC_OK)
		return err;
	if (d->received_from_mta != NULL && d->received_from_mta[0] != '\0' &&
	    (err = field(b, false, "Received-From-MTA", "dns; %s",
	    d->received_from_mta)) != MAILSEC_OK)
		return err;
	if (d->arrival != 0 &&
	    ((err = fmt_date(d->arrival, date)) != MAILSEC_OK ||
	    (err = field(b, false, "Arrival-Date", "%s", date)) != 0))
		return err;
	for (i = 0; i < d->nrcpts; i++)
		if ((err = status_rcpt(b, &d->rcpts[i])) != MAILSEC_OK)
			return err;
	return MAILSEC_OK;
}

/* ---- the message ------------------------------------------------------- */

static bool
contains(const struct ms_buf *b, const char *needle, size_t m)
{
	const char *p = b->ptr, *end = b->ptr + b->len, *q;

	if (b->len < m)
		return false;
	while ((q = memchr(p, needle[0], (size_t)(end - p))) != NULL) {
		if ((size_t)(end - q) < m)
			return false;
		if (memcmp(q, needle, m) == 0)
			return true;
		p = q + 1;
	}
	return false;
}

/* A boundary that occurs in none of the parts (RFC 2046 5.1.1). */
static mailsec_err
pick_boundary(ms_dsn_random_fn *rnd_fn, char *out, size_t outsz,
    struct ms_buf *parts, size_t nparts)
{
	unsigned char rnd[DSN_RAND_LEN];
	char hex[2 * DSN_RAND_LEN + 1];
	size_t tries, i, m;
	bool seen;
	int n;

	for (tries = 0; tries < DSN_BOUNDARY_TRIES; tries++) {
		dsn_random(rnd_fn, rnd, sizeof rnd);
		ms_hex_encode(rnd, sizeof rnd, hex);
		n = snprintf(out, outsz, "=_mailsec_dsn_%s", hex);
		if (n < 0 || (size_t)n >= outsz)
			return MAILSEC_ELIMIT;
		m = (size_t)n;
		seen = false;
		for (i = 0; i < nparts && !seen; i++)
			seen = contains(&parts[i], out, m);
		if (!seen)
			return MAILSEC_OK;
	}
	return MAILSEC_ELIMIT;
}

mailsec_err
mailsec_dsn_compose(const struct mailsec_dsn *d, mailsec_dsn_read_fn *read,
    void *arg, uint64_t orig_max, char **out, size_t *outlen,
    struct mailsec_diag *diag)
{
	return ms_dsn_compose_rnd(d, read, arg, orig_max, out, outlen, diag,
	    NULL);
}

mailsec_err
ms_dsn_compose_rnd(const struct mailsec_dsn *d, mailsec_dsn_read_fn *read,
    void *arg, uint64_t orig_max, char **out, size_t *outlen,
    struct mailsec_diag *diag, ms_dsn_random_fn *rnd)
{
	struct orig o;
	struct ms_buf parts[3], msg;
	char date[DSN_DATE_LEN], boundary[64];
	char idhex[2 * 8 + 1];
	unsigned char idrnd[8];
	const char *subject;
	bool failed = false, delayed = false;
	size_t i, nparts;
	mailsec_err err;

	memset(&o, 0, sizeof o);
	ms_buf_init(&o.raw, DSN_OUT_MAX);
	for (i = 0; i < MS_ARRAY_LEN(parts); i++)
		ms_buf_init(&parts[i], DSN_OUT_MAX);
	ms_buf_init(&msg, DSN_OUT_MAX);
	if (d == NULL || out == NULL || outlen == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "no DSN or output given");
	if (d->rcpts == NULL || d->nrcpts == 0)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0,
		    "no recipients to report on");
	if ((err = check_dsn(d, diag)) != MAILSEC_OK)
		return err;
	for (i = 0; i < d->nrcpts; i++) {
		failed |= d->rcpts[i].action == MAILSEC_DSN_FAILED;
		delayed |= d->rcpts[i].action == MAILSEC_DSN_DELAYED;
	}

	/* The original: whole only for RET=FULL on failure (RFC 3461 4.3,
	 * 6.2), within orig_max, and when 7bit can carry it. */
	if (read == NULL)
		o.why = ORIG_ABSENT;
	else if (d->ret == NULL || !ms_ascii_eqz(d->ret, strlen(d->ret),
	    "FULL"))
		o.why = ORIG_NOT_ASKED;
	else if (!failed)
		o.why = ORIG_NO_FAILURE;
	else if (orig_max == 0)
		o.why = ORIG_NEVER;
	else
		o.why = ORIG_FULL;
	if (read != NULL) {
		if ((err = orig_read(&o, read, arg, orig_max)) != MAILSEC_OK) {
			ms_diag(diag, err, 0, 0,
			    "reading the original message: %s",
			    mailsec_strerror(err));
			goto done;
		}
		if (o.why == ORIG_FULL)
			o.why = orig_check_full(o.raw.ptr, o.raw.len);
		if (o.why != ORIG_FULL)
			orig_cut_header(&o);
	}

	if ((err = human_part(&parts[0], d, &o, failed, delayed, orig_max)) !=
	    MAILSEC_OK || (err = status_part(&parts[1], d)) != MAILSEC_OK)
		goto fail;
	nparts = 2;
	if (read != NULL) {
		if ((err = orig_part(&parts[2], &o)) != MAILSEC_OK)
			goto fail;
		nparts = 3;
	}
	if ((err = pick_boundary(rnd, boundary, sizeof boundary, parts,
	    nparts)) != MAILSEC_OK)
		goto fail;

	if (failed)
		subject = "Undelivered Mail Returned to Sender";
	else if (delayed)
		subject = "Delayed Mail (still being retried)";
	else
		subject = "Successful Mail Delivery Report";
	dsn_random(rnd, idrnd, sizeof idrnd);
	ms_hex_encode(idrnd, sizeof idrnd, idhex);
	if ((err = fmt_date(d->now, date)) != MAILSEC_OK ||
	    (err = field(&msg, false, "Date", "%s", date)) != MAILSEC_OK ||
	    (err = field(&msg, false, "From", "Mail Delivery System <%s>",
	    d->postmaster)) != MAILSEC_OK ||
	    (err = field(&msg, false, "To", "<%s>", d->to)) != MAILSEC_OK ||
	    (err = field(&msg, false, "Subject", "%s", subject)) != 0 ||
	    (err = field(&msg, false, "Message-ID", "<%" PRId64 ".%s.dsn@%s>",
	    d->now, idhex, d->message_id_domain != NULL ?
	    d->message_id_domain : d->reporting_mta)) != MAILSEC_OK ||
	    (err = ms_buf_appendz(&msg, "MIME-Version: 1.0\r\n"
	    "Auto-Submitted: auto-replied\r\n")) != MAILSEC_OK ||
	    (err = ms_buf_printf(&msg, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n"
	    "This is a MIME-encapsulated delivery status notification.\r\n",
	    boundary)) != MAILSEC_OK)
		goto fail;
	for (i = 0; i < nparts; i++)
		if ((err = ms_buf_printf(&msg, "--%s\r\n", boundary)) !=
		    MAILSEC_OK ||
		    (err = ms_buf_append(&msg, parts[i].ptr, parts[i].len)) !=
		    MAILSEC_OK)
			goto fail;
	/* Each part ends in CRLF: it belongs to the delimiter. */
	if ((err = ms_buf_printf(&msg, "--%s--\r\n", boundary)) != MAILSEC_OK)
		goto fail;
	if ((*out = ms_buf_steal(&msg, outlen)) == NULL) {
		err = MAILSEC_ENOMEM;
		goto fail;
	}
	err = MAILSEC_OK;
	goto done;
fail:
	if (err == MAILSEC_ELIMIT)
		ms_diag(diag, err, 0, 0, "a value does not fit a %d-octet line",
		    DSN_LINE_MAX);
	else
		ms_diag(diag, err, 0, 0, "composing the DSN: %s",
		    mailsec_strerror(err));
done:
	ms_buf_free(&o.raw);
	for (i = 0; i < MS_ARRAY_LEN(parts); i++)
		ms_buf_free(&parts[i]);
	ms_buf_free(&msg);
	return err;
}
