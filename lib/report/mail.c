/*
 * lib/report/mail.c - the aggregate report e-mail (RFC 9990 3.5.2): an
 * RFC 5322 message with MIME (RFC 2045, 2046) holding a short text part
 * and the gzip'd report as application/gzip (RFC 6713) under its RFC 9990
 * file name; Subject "Report Domain: D Submitter: S Report-ID: <ID>".
 * Also the helpers both report messages use (write_int.h): header fields
 * that cannot be injected into, dates, base64 bodies, boundaries.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include <mailsec/report.h>

#include "core/core.h"
#include "report/write_int.h"

/* ---- shared helpers ---------------------------------------------------- */

bool
ms_rw_value_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ||
		    i >= MS_RW_VALUE_MAX)
			return false;
	return true;
}

/* quoted-string without CFWS: '"' *(qtext / quoted-pair) '"' */
static bool
quoted_ok(const char *p, size_t n)
{
	size_t i;

	if (n < 2 || p[0] != '"' || p[n - 1] != '"')
		return false;
	for (i = 1; i < n - 1; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c > 0x7e)
			return false;
		if (c == '\\') {
			if (++i >= n - 1 || (unsigned char)p[i] < 0x20 ||
			    (unsigned char)p[i] > 0x7e)
				return false;
		} else if (c == '"')
			return false;
	}
	return true;
}

bool
ms_rw_addr_ok(const char *s)
{
	const char *at;
	size_t n, ll, dl, i;

	if (!ms_rw_value_ok(s) || (n = strlen(s)) > 254 ||
	    (at = strrchr(s, '@')) == NULL)
		return false;
	ll = (size_t)(at - s);
	dl = n - ll - 1;
	if (ll == 0 || ll > 64 || dl == 0)
		return false;
	if (!ms_dot_atom_ok(s, ll) && !quoted_ok(s, ll))
		return false;
	if (at[1] == '[') {
		/* address literal: printable, no brackets or backslash */
		if (at[dl] != ']' || dl < 3)
			return false;
		for (i = 2; i < dl; i++)
			if (at[i] == '[' || at[i] == ']' || at[i] == '\\' ||
			    at[i] == ' ')
				return false;
		return true;
	}
	return ms_domain_ldh_ok(at + 1, dl, false);
}

const char *
ms_rw_strip_mailto(const char *s)
{
	if (s != NULL && strlen(s) >= 7 && ms_ascii_eq(s, 7, "mailto:", 7))
		return s + 7;
	return s;
}

bool
ms_rw_domain_ok(const char *d)
{
	size_t n;

	if (d == NULL)
		return false;
	n = strlen(d);
	if (n > 0 && d[n - 1] == '.')
		n--;
	return ms_domain_ldh_ok(d, n, false);
}

mailsec_err
ms_rw_header(struct ms_buf *b, const char *name, const char *value)
{
	size_t n = strlen(value), i = 0, s0, w0, ws, wl, col;
	bool first = true;
	mailsec_err err;

	if ((err = ms_buf_appendz(b, name)) != MAILSEC_OK ||
	    (err = ms_buf_appendc(b, ':')) != MAILSEC_OK)
		return err;
	col = strlen(name) + 1;
	while (i < n) {
		s0 = i;
		while (i < n && value[i] == ' ')
			i++;
		w0 = i;
		while (i < n && value[i] != ' ')
			i++;
		ws = w0 - s0;
		wl = i - w0;
		if (ws + wl + 1 + (first ? col : 0) > MS_RW_LINE_MAX) {
			ms_buf_free(b);
			return MAILSEC_EINVAL;
		}
		if (first) {
			/* the space after the colon is not a fold point */
			err = ms_buf_appendc(b, ' ');
			col++;
			first = false;
		} else if (wl > 0 && col + ws + wl > MS_RW_FOLD)
			/* RFC 5322 2.2.3: CRLF before white space */
			if ((err = ms_buf_append(b, "\r\n", 2)) == MAILSEC_OK)
				col = 0;
		if (err != MAILSEC_OK ||
		    (err = ms_buf_append(b, value + s0, ws + wl)) !=
		    MAILSEC_OK)
			return err;
		col += ws + wl;
	}
	if (first && (err = ms_buf_appendc(b, ' ')) != MAILSEC_OK)
		return err;
	return ms_buf_append(b, "\r\n", 2);
}

bool
ms_rw_date(int64_t t, char *buf, size_t bufsz)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	time_t tt;
	int k;

	/* RFC 5322 3.3: a four-digit year */
	if (t < 0 || t > INT64_C(253402300799) || bufsz < MS_RW_DATE_LEN)
		return false;
	tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return false;
	k = snprintf(buf, bufsz, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return k > 0 && (size_t)k < bufsz;
}

mailsec_err
ms_rw_base64(struct ms_buf *b, const void *p, size_t n)
{
	const unsigned char *in = p;
	char line[80];
	size_t off, chunk, k;
	mailsec_err err;

	/* 57 input bytes are 76 characters (RFC 2045 6.8) */
	for (off = 0; off < n; off += chunk) {
		chunk = n - off < 57 ? n - off : 57;
		if ((err = ms_base64_encode(in + off, chunk, line, sizeof line,
		    &k)) != MAILSEC_OK ||
		    (err = ms_buf_append(b, line, k)) != MAILSEC_OK ||
		    (err = ms_buf_append(b, "\r\n", 2)) != MAILSEC_OK)
			return err;
	}
	return MAILSEC_OK;
}

mailsec_err
ms_rw_mail_begin(struct ms_buf *b, const struct ms_rw_mail *m)
{
	mailsec_err err;

	if ((err = ms_rw_header(b, "From", m->from)) != MAILSEC_OK ||
	    (err = ms_rw_header(b, "To", m->to)) != MAILSEC_OK ||
	    (err = ms_rw_header(b, "Subject", m->subject)) != MAILSEC_OK ||
	    (err = ms_rw_header(b, "Date", m->date)) != MAILSEC_OK ||
	    (err = ms_rw_header(b, "Message-ID", m->message_id)) !=
	    MAILSEC_OK ||
	    (err = ms_rw_header(b, "Auto-Submitted", "auto-generated")) !=
	    MAILSEC_OK ||
	    (err = ms_rw_header(b, "MIME-Version", "1.0")) != MAILSEC_OK ||
	    (err = ms_buf_printf(b, "Content-Type: %s;\r\n boundary=\"%s\""
	    "\r\n\r\nThis is a multi-part message in MIME format.\r\n\r\n"
	    "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\n", m->content_type,
	    m->boundary, m->boundary)) != MAILSEC_OK)
		return err;
	return ms_buf_append(b, m->text, m->textlen);
}

void
ms_rw_sha256_hex(const void *a, size_t alen, const void *b2, size_t blen,
    char *hex, size_t nbytes)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;

	memset(md, 0, sizeof md);
	if ((ctx = EVP_MD_CTX_new()) != NULL) {
		if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
		    EVP_DigestUpdate(ctx, a, alen) != 1 ||
		    EVP_DigestUpdate(ctx, b2, blen) != 1 ||
		    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
			memset(md, 0, sizeof md);
		EVP_MD_CTX_free(ctx);
	}
	if (nbytes > 32)
		nbytes = 32;
	ms_hex_encode(md, nbytes, hex);
}

static bool
contains(const char *hay, size_t hn, const char *needle)
{
	size_t nn = strlen(needle), i;

	if (nn == 0 || hn < nn)
		return false;
	for (i = 0; i + nn <= hn; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, nn) == 0)
			return true;
	return false;
}

void
ms_rw_boundary(const void *seed, size_t seedlen, const char *const *parts,
    const size_t *lens, size_t nparts, char *buf, size_t bufsz)
{
	char hex[65], salt[16];
	unsigned round;
	size_t i;
	bool clash;

	for (round = 0; ; round++) {
		snprintf(salt, sizeof salt, "%u", round);
		ms_rw_sha256_hex(seed, seedlen, salt, strlen(salt), hex, 12);
		snprintf(buf, bufsz, "=_mailsec_%s", hex);
		clash = false;
		for (i = 0; i < nparts && !clash; i++)
			clash = contains(parts[i], lens[i], buf);
		if (!clash)
			return;
	}
}

/* ---- the aggregate report message ------------------------------------ */

/* RFC 9990 3.5.1 ridtxt: "<" ridfmt ">" / ridfmt, ridfmt = dot-atom-text
 * ["@" dot-atom-text]. The ridfmt part into out, or false. */
static bool
ridfmt(const char *rid, char *out, size_t outsz)
{
	size_t n, i;
	const char *at;

	if (rid == NULL)
		return false;
	n = strlen(rid);
	if (n >= 2 && rid[0] == '<' && rid[n - 1] == '>') {
		rid++;
		n -= 2;
	}
	if (n == 0 || n >= outsz || n > 200)
		return false;
	at = memchr(rid, '@', n);
	if (at == NULL) {
		if (!ms_dot_atom_ok(rid, n))
			return false;
	} else {
		i = (size_t)(at - rid);
		if (!ms_dot_atom_ok(rid, i) ||
		    !ms_dot_atom_ok(at + 1, n - i - 1))
			return false;
	}
	memcpy(out, rid, n);
	out[n] = '\0';
	return true;
}

mailsec_err
mailsec_agg_report_mail(const struct mailsec_agg_report *r, const void *gz,
    size_t gzlen, const struct mailsec_report_mail *m, char **out,
    size_t *outlen, struct mailsec_diag *diag)
{
	struct ms_buf b, text;
	struct ms_rw_mail head;
	char fname[640], rid[256], date[MS_RW_DATE_LEN], d1[MS_RW_DATE_LEN];
	char d2[MS_RW_DATE_LEN], hex[65], bnd[MS_RW_BOUNDARY_LEN];
	char subject[800], mid[400];
	const char *to, *middom, *parts[1];
	size_t plen[1], i;
	uint64_t msgs = 0;
	bool has_rid;
	mailsec_err err;

	ms_buf_init(&b, MS_RW_MAIL_MAX);
	ms_buf_init(&text, 64 * 1024);
	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (r == NULL || gz == NULL || gzlen == 0 || m == NULL ||
	    out == NULL || outlen == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "report mail: "
		    "report, gzip data, message settings and output are "
		    "required");
	to = ms_rw_strip_mailto(m->to);
	if (!ms_rw_addr_ok(m->from) || !ms_rw_addr_ok(to))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "report mail: %s "
		    "is not a usable address", !ms_rw_addr_ok(m->from) ?
		    "from" : "to");
	middom = m->message_id_domain != NULL ? m->message_id_domain :
	    m->receiver;
	if (!ms_rw_domain_ok(m->receiver) || !ms_rw_domain_ok(r->domain) ||
	    !ms_rw_domain_ok(middom))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "report mail: %s "
		    "is not a domain name", !ms_rw_domain_ok(m->receiver) ?
		    "receiver" : !ms_rw_domain_ok(r->domain) ?
		    "the policy domain" : "message_id_domain");
	if (!ms_rw_date(m->now, date, sizeof date) ||
	    !ms_rw_date(r->date_begin, d1, sizeof d1) ||
	    !ms_rw_date(r->date_end, d2, sizeof d2))
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "report mail: a "
		    "time is out of range");
	if ((err = mailsec_agg_report_filename(r, m->receiver, fname,
	    sizeof fname)) != MAILSEC_OK)
		return ms_diag(diag, err, 0, 0, "report mail: no file name "
		    "for this report");
	has_rid = ridfmt(r->report_id, rid, sizeof rid);

	/* RFC 9990 3.5.2 dmarc-subject; the Report-ID part is optional */
	snprintf(subject, sizeof subject,
	    "Report Domain: %s Submitter: %s%s%s%s", r->domain, m->receiver,
	    has_rid ? " Report-ID: <" : "", has_rid ? rid : "",
	    has_rid ? ">" : "");
	/* the same report re-sent keeps its Message-ID (RFC 9990 3.5.2) */
	ms_rw_sha256_hex(fname, strlen(fname), r->report_id != NULL ?
	    r->report_id : "", r->report_id != NULL ? strlen(r->report_id) :
	    0, hex, 16);
	snprintf(mid, sizeof mid, "<dmarc-rua.%s@%s>", hex, middom);

	for (i = 0; i < r->nrecords && r->records != NULL; i++)
		msgs = msgs + r->records[i].count < msgs ? UINT64_MAX :
		    msgs + r->records[i].count;
	if ((err = ms_buf_printf(&text, "This is a DMARC aggregate report "
	    "(RFC 9990) from %s\r\nfor the domain %s.\r\n\r\n"
	    "Period:   %s\r\n     to:  %s\r\nRecords:  %zu\r\n"
	    "Messages: %" PRIu64 "\r\n", m->receiver, r->domain, d1, d2,
	    r->nrecords, msgs)) != MAILSEC_OK ||
	    (has_rid && (err = ms_buf_printf(&text, "Report-ID: <%s>\r\n",
	    rid)) != MAILSEC_OK) ||
	    (err = ms_buf_printf(&text, "\r\nThe report is attached as "
	    "%s.\r\n", fname)) != MAILSEC_OK)
		goto done;
	parts[0] = text.ptr;
	plen[0] = text.len;
	ms_rw_boundary(fname, strlen(fname), parts, plen, 1, bnd, sizeof bnd);

	head = (struct ms_rw_mail){ .from = m->from, .to = to,
	    .subject = subject, .date = date, .message_id = mid,
	    .content_type = "multipart/mixed", .boundary = bnd,
	    .text = text.ptr, .textlen = text.len };
	if ((err = ms_rw_mail_begin(&b, &head)) != MAILSEC_OK ||
	    (err = ms_buf_printf(&b, "\r\n--%s\r\nContent-Type: "
	    "application/gzip;\r\n name=\"%s\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment;\r\n filename=\"%s\"\r\n\r\n",
	    bnd, fname, fname)) != MAILSEC_OK ||
	    (err = ms_rw_base64(&b, gz, gzlen)) != MAILSEC_OK ||
	    (err = ms_buf_printf(&b, "\r\n--%s--\r\n", bnd)) != MAILSEC_OK)
		goto done;
	if ((*out = ms_buf_steal(&b, outlen)) == NULL)
		err = MAILSEC_ENOMEM;
done:
	if (err != MAILSEC_OK)
		ms_diag(diag, err, 0, 0, "report mail: %s",
		    mailsec_strerror(err));
	ms_buf_free(&b);
	ms_buf_free(&text);
	return err;
}
