/*
 * daemon/tlsrpt_mail.c - a finished TLS-RPT report on its way out
 * (daemon/tlsrpt_mail.h): the RFC 8460 5.3 file name and Report-ID, the
 * report e-mail (RFC 5322 with MIME, RFC 2045/2046, as multipart/report
 * of RFC 6522) and the https POST of RFC 8460 5.4.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "core/core.h"
#include "https.h"
#include "tlsrpt_mail.h"

/* The POST's connect and whole-transfer deadlines. */
#define TLSRPT_POST_CONNECT_MS	10000L
#define TLSRPT_POST_TOTAL_MS	30000L
/* Bytes of input per base64 line: 76 characters (RFC 2045 6.8). */
#define TLSRPT_B64_IN		57
/* Fold the Subject at this width where a space allows (RFC 5322
 * 2.1.1). */
#define TLSRPT_FOLD		78
/* Longest value taken for a header field (far below RFC 5322's 998 per
 * line: every value here is a name, an address or an ID). */
#define TLSRPT_VALUE_MAX	900

static const char tlsrpt_ext[] = ".json.gz";

/* A host name (LDH labels, no final dot). */
static bool
host_ok(const char *s, size_t n)
{
	return n > 0 && n <= TLSRPT_NAME_MAX && s[n - 1] != '.' &&
	    ms_domain_ldh_ok(s, n, false);
}

/* Printable ASCII and space only, 1..TLSRPT_VALUE_MAX bytes: nothing
 * that could end the field or start another (RFC 5322 2.2). */
static bool
value_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ||
		    i >= TLSRPT_VALUE_MAX)
			return false;
	return true;
}

/* local@domain: a dot-atom local part (RFC 5321 4.5.3.1.1: 64 octets
 * at most) and a host name (RFC 5321 4.1.2: no '_', which DNS names
 * may hold). */
static bool
addr_ok(const char *s)
{
	const char *at;
	size_t n;

	if (!value_ok(s) || (n = strlen(s)) > TLSRPT_ADDR_MAX ||
	    (at = strrchr(s, '@')) == NULL)
		return false;
	return at - s <= 64 && ms_dot_atom_ok(s, (size_t)(at - s)) &&
	    host_ok(at + 1, n - (size_t)(at - s) - 1) &&
	    strchr(at + 1, '_') == NULL;
}

/* ---- names -------------------------------------------------------------- */

mailsec_err
tlsrpt_filename(const char *sender, const char *domain, int64_t day,
    const unsigned char *rnd, char *out, size_t outsz)
{
	char uniq[2 * TLSRPT_UNIQUE_BYTES + 1];
	int n;

	if (outsz > 0)
		out[0] = '\0';
	if (sender == NULL || domain == NULL || rnd == NULL || day < 0 ||
	    day > INT64_MAX / 86400 - 1 ||
	    !host_ok(sender, strlen(sender)) ||
	    !host_ok(domain, strlen(domain)))
		return MAILSEC_EINVAL;
	ms_hex_encode(rnd, TLSRPT_UNIQUE_BYTES, uniq);
	/* RFC 8460 5.3: sender "!" policy-domain "!" begin-timestamp "!"
	 * end-timestamp [ "!" unique-id ] "." extension */
	n = snprintf(out, outsz, "%s!%s!%lld!%lld!%s%s", sender, domain,
	    (long long)(day * 86400), (long long)(day * 86400 + 86399), uniq,
	    tlsrpt_ext);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		return MAILSEC_ELIMIT;
	}
	return MAILSEC_OK;
}

/* Copies (p, n) into out (outsz bytes, NUL-terminated) when out is
 * given; false when it does not fit. */
static bool
put(char *out, size_t outsz, const char *p, size_t n)
{
	if (out == NULL)
		return true;
	if (n >= outsz)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

mailsec_err
tlsrpt_filename_parse(const char *fname, char *id, size_t idsz,
    char *sender, char *domain, int64_t *begin)
{
	const char *f[5], *end, *bang;
	size_t len[5], n, i, k;
	int64_t v = 0;
	int w;

	if (fname == NULL)
		return MAILSEC_ESYNTAX;
	n = strlen(fname);
	if (n <= sizeof tlsrpt_ext - 1 || n >= TLSRPT_FNAME_MAX ||
	    strcmp(fname + n - (sizeof tlsrpt_ext - 1), tlsrpt_ext) != 0)
		return MAILSEC_ESYNTAX;
	end = fname + n - (sizeof tlsrpt_ext - 1);
	f[0] = fname;
	for (i = 0; i < 5; i++) {
		if (i > 0)
			f[i] = f[i - 1] + len[i - 1] + 1;
		bang = memchr(f[i], '!', (size_t)(end - f[i]));
		if ((i < 4) != (bang != NULL))
			return MAILSEC_ESYNTAX;
		len[i] = (size_t)((bang != NULL ? bang : end) - f[i]);
	}
	if (!host_ok(f[0], len[0]) || !host_ok(f[1], len[1]) || len[4] == 0)
		return MAILSEC_ESYNTAX;
	for (i = 2; i < 4; i++) {
		if (len[i] == 0 || len[i] > 18)
			return MAILSEC_ESYNTAX;
		for (k = 0, v = 0; k < len[i]; k++) {
			if (!ms_isdigit((unsigned char)f[i][k]))
				return MAILSEC_ESYNTAX;
			v = v * 10 + (f[i][k] - '0');
		}
		if (i == 2 && begin != NULL)
			*begin = v;
	}
	for (k = 0; k < len[4]; k++)
		if (!ms_isalnum((unsigned char)f[4][k]))
			return MAILSEC_ESYNTAX;
	if (!put(sender, TLSRPT_NAME_MAX + 1, f[0], len[0]) ||
	    !put(domain, TLSRPT_NAME_MAX + 1, f[1], len[1]))
		return MAILSEC_ESYNTAX;
	if (id != NULL) {
		/* everything after the sender, then "@sender": a dot-atom
		 * left of '@' ('!' is atext), a host name right of it */
		w = snprintf(id, idsz, "%.*s@%.*s", (int)(end - f[1]), f[1],
		    (int)len[0], f[0]);
		if (w < 0 || (size_t)w >= idsz)
			return MAILSEC_ELIMIT;
	}
	return MAILSEC_OK;
}

mailsec_err
tlsrpt_mailto_addr(const char *rua, char *out, size_t outsz)
{
	const char *p, *end;
	size_t w = 0;
	int h, l;

	if (outsz > 0)
		out[0] = '\0';
	if (rua == NULL || strlen(rua) < 8 ||
	    !ms_ascii_eq(rua, 7, "mailto:", 7) || outsz == 0)
		return MAILSEC_ESYNTAX;
	p = rua + 7;
	/* RFC 6068 2: hfields after '?' (a subject, a body) are not ours
	 * to take */
	if ((end = strchr(p, '?')) == NULL)
		end = p + strlen(p);
	for (; p < end; p++) {
		char c = *p;

		if (c == '%') {
			if (end - p < 3 || (h = ms_hexval((unsigned char)p[1])) < 0 ||
			    (l = ms_hexval((unsigned char)p[2])) < 0)
				goto bad;
			c = (char)(h * 16 + l);
			p += 2;
		}
		/* a NUL, a control or an 8-bit byte: no address of ours */
		if ((unsigned char)c < 0x21 || (unsigned char)c > 0x7e ||
		    w + 1 >= outsz || w >= TLSRPT_ADDR_MAX)
			goto bad;
		out[w++] = c;
	}
	out[w] = '\0';
	if (addr_ok(out))
		return MAILSEC_OK;
bad:
	out[0] = '\0';
	return MAILSEC_ESYNTAX;
}

/* ---- the mail ----------------------------------------------------------- */

/* RFC 5322 3.3 date-time in UTC, without the locale's names. */
static bool
date_text(int64_t t, char *buf, size_t bufsz)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;
	int n;

	if (t < 0 || gmtime_r(&tt, &tm) == NULL || tm.tm_wday < 0 ||
	    tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11)
		return false;
	n = snprintf(buf, bufsz, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return n > 0 && (size_t)n < bufsz;
}

/* "Name: value" CRLF, folded at spaces to TLSRPT_FOLD columns where
 * possible; value passed value_ok(). */
static mailsec_err
header(struct ms_buf *b, const char *name, const char *value)
{
	size_t col, n, wlen;
	const char *p = value, *sp;
	mailsec_err err;

	if ((err = ms_buf_printf(b, "%s:", name)) != MAILSEC_OK)
		return err;
	col = strlen(name) + 1;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		sp = strchr(p, ' ');
		wlen = sp != NULL ? (size_t)(sp - p) : strlen(p);
		n = wlen + 1;
		if (col > strlen(name) + 1 && col + n > TLSRPT_FOLD) {
			if ((err = ms_buf_appendz(b, "\r\n")) != MAILSEC_OK)
				return err;
			col = 0;
		}
		if ((err = ms_buf_appendc(b, ' ')) != MAILSEC_OK ||
		    (err = ms_buf_append(b, p, wlen)) != MAILSEC_OK)
			return err;
		col += n;
		p += wlen;
	}
	return ms_buf_appendz(b, "\r\n");
}

/* base64 of (p, n) in CRLF lines of 76 characters (RFC 2045 6.8). */
static mailsec_err
base64_lines(struct ms_buf *b, const unsigned char *p, size_t n)
{
	unsigned char line[80];
	size_t k;
	int w;
	mailsec_err err;

	while (n > 0) {
		k = n < TLSRPT_B64_IN ? n : TLSRPT_B64_IN;
		w = EVP_EncodeBlock(line, p, (int)k);
		if (w < 0)
			return MAILSEC_EINVAL;
		if ((err = ms_buf_append(b, line, (size_t)w)) != MAILSEC_OK ||
		    (err = ms_buf_appendz(b, "\r\n")) != MAILSEC_OK)
			return err;
		p += k;
		n -= k;
	}
	return MAILSEC_OK;
}

/* The text part's org_name: printable ASCII, the rest '?'. */
static mailsec_err
text_safe(struct ms_buf *b, const char *s)
{
	mailsec_err err = MAILSEC_OK;
	size_t i;

	for (i = 0; s[i] != '\0' && i < TLSRPT_VALUE_MAX && err ==
	    MAILSEC_OK; i++)
		err = ms_buf_appendc(b, (unsigned char)s[i] >= 0x20 &&
		    (unsigned char)s[i] < 0x7f ? s[i] : '?');
	return err;
}

mailsec_err
tlsrpt_mail_compose(const struct tlsrpt_mail *m, char **out, size_t *outlen)
{
	char id[TLSRPT_ID_MAX], sender[TLSRPT_NAME_MAX + 1];
	char domain[TLSRPT_NAME_MAX + 1], date[48], day[16];
	char subject[2 * TLSRPT_NAME_MAX + TLSRPT_ID_MAX + 64];
	char boundary[64], mid[TLSRPT_ID_MAX + 2];
	struct ms_buf b;
	const char *u;
	int64_t begin = 0;
	time_t tt;
	struct tm tm;
	mailsec_err err;

	*out = NULL;
	*outlen = 0;
	if (m == NULL || m->from == NULL || m->to == NULL ||
	    m->filename == NULL || (m->gz == NULL && m->len > 0))
		return MAILSEC_EINVAL;
	if (!addr_ok(m->from) || !addr_ok(m->to) || !value_ok(m->filename))
		return MAILSEC_EINVAL;
	if ((err = tlsrpt_filename_parse(m->filename, id, sizeof id, sender,
	    domain, &begin)) != MAILSEC_OK)
		return err;
	if (m->len > TLSRPT_MAIL_MAX / 2 || !date_text(m->date, date,
	    sizeof date))
		return MAILSEC_ELIMIT;
	tt = (time_t)begin;
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(day, sizeof day, "%Y-%m-%d", &tm) == 0)
		return MAILSEC_EINVAL;
	/* RFC 8460 5.3: tlsrpt-subject */
	(void)snprintf(subject, sizeof subject, "Report Domain: %s "
	    "Submitter: %s Report-ID: <%s>", domain, sender, id);
	(void)snprintf(mid, sizeof mid, "<%s>", id);
	/* '_' and '=' cannot both appear in base64 text, nor does our text
	 * part hold "=_": the boundary occurs in no part (RFC 2046
	 * 5.1.1) */
	/* ... and the file name's unique part makes it the report's own */
	u = strrchr(id, '!');
	u = u != NULL ? u + 1 : id;
	(void)snprintf(boundary, sizeof boundary, "=_mailsec_tlsrpt_%.*s",
	    (int)(strcspn(u, "@") < 32 ? strcspn(u, "@") : 32), u);

	ms_buf_init(&b, TLSRPT_MAIL_MAX);
	if ((err = header(&b, "From", m->from)) != MAILSEC_OK ||
	    (err = header(&b, "To", m->to)) != MAILSEC_OK ||
	    (err = header(&b, "Subject", subject)) != MAILSEC_OK ||
	    (err = header(&b, "Date", date)) != MAILSEC_OK ||
	    (err = header(&b, "Message-ID", mid)) != MAILSEC_OK ||
	    (err = header(&b, "TLS-Report-Domain", domain)) != MAILSEC_OK ||
	    (err = header(&b, "TLS-Report-Submitter", sender)) !=
	    MAILSEC_OK ||
	    /* RFC 3834 5: no automatic answers to it */
	    (err = header(&b, "Auto-Submitted", "auto-generated")) !=
	    MAILSEC_OK ||
	    (err = header(&b, "MIME-Version", "1.0")) != MAILSEC_OK ||
	    (err = ms_buf_printf(&b, "Content-Type: multipart/report; "
	    "report-type=\"tlsrpt\";\r\n\tboundary=\"%s\"\r\n\r\n"
	    "This is a TLS report (RFC 8460) in MIME format.\r\n\r\n"
	    "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\n"
	    "This is an aggregate TLS report from ", boundary, boundary)) !=
	    MAILSEC_OK ||
	    (err = text_safe(&b, m->org_name != NULL && m->org_name[0] !=
	    '\0' ? m->org_name : sender)) != MAILSEC_OK ||
	    (err = ms_buf_printf(&b, " (%s)\r\nabout the TLS sessions to the "
	    "mail servers of %s\r\non %s (UTC), in the attached "
	    "application/tlsrpt+gzip part\r\n(SMTP TLS Reporting, RFC 8460)."
	    "\r\n\r\n--%s\r\nContent-Type: application/tlsrpt+gzip;\r\n"
	    "\tname=\"%s\"\r\nContent-Disposition: attachment;\r\n"
	    "\tfilename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
	    sender, domain, day, boundary, m->filename, m->filename)) !=
	    MAILSEC_OK ||
	    (err = base64_lines(&b, m->gz, m->len)) != MAILSEC_OK ||
	    (err = ms_buf_printf(&b, "\r\n--%s--\r\n", boundary)) !=
	    MAILSEC_OK)
		goto fail;
	if ((*out = ms_buf_steal(&b, outlen)) == NULL)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
fail:
	ms_buf_free(&b);
	return err;
}

/* ---- https -------------------------------------------------------------- */

mailsec_err
tlsrpt_post(const char *url, const char *ca_file,
    struct mailsec_resolver *res, const void *gz, size_t len, char *why,
    size_t whysz)
{
	struct gw_https_opts o;
	struct gw_https *h = NULL;
	int status = 0;
	mailsec_err err;

	if (whysz > 0)
		why[0] = '\0';
	if (url == NULL || strncmp(url, "https://", 8) != 0)
		return MAILSEC_EINVAL;
	memset(&o, 0, sizeof o);
	o.ca_file = ca_file;
	o.resolver = res;
	o.connect_ms = TLSRPT_POST_CONNECT_MS;
	o.total_ms = TLSRPT_POST_TOTAL_MS;
	if ((err = gw_https_new(&o, &h, why, whysz)) != MAILSEC_OK)
		return err;
	err = gw_https_post(h, url, "application/tlsrpt+gzip", gz, len,
	    &status, why, whysz);
	gw_https_free(h);
	if (err == MAILSEC_OK && (status < 200 || status > 299)) {
		(void)snprintf(why, whysz, "HTTP status %d", status);
		err = MAILSEC_EIO;
	}
	return err;
}
