/*
 * lib/report/failure.c - DMARC failure reports: the Abuse Reporting
 * Format message of RFC 5965 with the auth-failure fields of RFC 6591,
 * as updated by RFC 9991 4 (Identity-Alignment, Auth-Failure: dmarc).
 *
 * multipart/report; report-type=feedback-report (RFC 6522) with three
 * parts: a text part for people, message/feedback-report, and the
 * original's header section as text/rfc822-headers. The body of the
 * original is never included (RFC 9991 7: minimization). Every value a
 * caller gives is checked before it becomes a header field: control
 * characters (CR, LF above all) are refused, folded values are unfolded,
 * so no field can be injected. With redact, every local part in front
 * of an '@' becomes a SHA-256 token (RFC 6590 redaction, in spirit).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include <mailsec/report.h>
#include <mailsec/version.h>

#include "core/core.h"
#include "report/write_int.h"

/* The reported header section: larger is cut at a field boundary. */
#define FR_HEADERS_MAX		((size_t)256 * 1024)
/* Hex digits of a redaction token (of 64). */
#define FR_TOKEN_HEX		16

/* Bytes allowed before an '@' in an unquoted local part: atext, dots,
 * and 8-bit bytes (RFC 6532 UTF-8 local parts). */
static bool
local_char(unsigned char c)
{
	return ms_isatext(c) || c == '.' || c >= 0x80;
}

/*
 * Appends (p, n) to b with every local part replaced by its token. A
 * quoted local part ("a b"@x) is taken whole; one that overlaps an
 * earlier token is hashed from where that token ended, so no byte of a
 * local part survives.
 */
MS_STATIC mailsec_err
fr_redact(struct ms_buf *b, const char *p, size_t n)
{
	char tok[2 * 32 + 1];
	size_t i, s, c = 0;
	mailsec_err err;

	for (i = 0; i < n; i++) {
		if (p[i] != '@')
			continue;
		s = i;
		if (s > c && p[s - 1] == '"') {
			/* back to the opening quote, skipping \" pairs */
			size_t q = s - 1;

			while (q > c) {
				q--;
				if (p[q] == '"' && (q == 0 || p[q - 1] != '\\'))
					break;
			}
			s = q;
		} else
			while (s > c && local_char((unsigned char)p[s - 1]))
				s--;
		if (s == i)
			continue;
		ms_rw_sha256_hex(p + s, i - s, "", 0, tok, FR_TOKEN_HEX / 2);
		if ((err = ms_buf_append(b, p + c, s - c)) != MAILSEC_OK ||
		    (err = ms_buf_appendz(b, tok)) != MAILSEC_OK)
			return err;
		c = i;
	}
	return ms_buf_append(b, p + c, n - c);
}

/*
 * A caller's field value made one line: CR and LF (folding) become
 * spaces, runs of white space one space, ends trimmed; then (redacted
 * if asked) into out. false: empty, too long, or a byte that is not
 * printable ASCII.
 */
static bool
fr_value(const char *v, bool redact, char *out, size_t outsz)
{
	struct ms_buf b, r;
	size_t i;
	bool ok = false, sp = false;

	if (v == NULL)
		return false;
	ms_buf_init(&b, MS_RW_VALUE_MAX);
	ms_buf_init(&r, MS_RW_VALUE_MAX);
	for (i = 0; v[i] != '\0'; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '\r' || c == '\n' || c == '\t' || c == ' ') {
			sp = b.len > 0;
			continue;
		}
		if (c < 0x20 || c > 0x7e)
			goto done;
		if ((sp && ms_buf_appendc(&b, ' ') != MAILSEC_OK) ||
		    ms_buf_appendc(&b, (char)c) != MAILSEC_OK)
			goto done;
		sp = false;
	}
	if (b.len == 0)
		goto done;
	if (redact) {
		if (fr_redact(&r, b.ptr, b.len) != MAILSEC_OK)
			goto done;
		ms_buf_free(&b);
		b = r;
		ms_buf_init(&r, 0);
	}
	if (b.len + 1 > outsz)
		goto done;
	memcpy(out, b.ptr, b.len + 1);
	ok = true;
done:
	ms_buf_free(&b);
	ms_buf_free(&r);
	return ok;
}

/* A word of letters, digits, '-', '_' (auth-failure type). */
static bool
fr_token(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > 64)
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (!ms_isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return false;
	return true;
}

/* RFC 9991 4 id-align: "none" or dkim/spf, comma-separated, each once. */
static bool
fr_id_align(const char *s, char *out, size_t outsz)
{
	size_t i = 0, n = strlen(s), w;
	bool dkim = false, spf = false, none = false;

	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == ','))
			i++;
		for (w = i; w < n && s[w] != ' ' && s[w] != ','; w++)
			;
		if (w == i)
			break;
		if (ms_ascii_eqz(s + i, w - i, "dkim") && !dkim)
			dkim = true;
		else if (ms_ascii_eqz(s + i, w - i, "spf") && !spf)
			spf = true;
		else if (ms_ascii_eqz(s + i, w - i, "none") && !none)
			none = true;
		else
			return false;
		i = w;
	}
	if (none == (dkim || spf))
		return false;
	snprintf(out, outsz, "%s", none ? "none" : dkim && spf ? "dkim, spf" :
	    dkim ? "dkim" : "spf");
	return true;
}

/*
 * The original header section as text/rfc822-headers: up to the first
 * empty line, CRLF line ends, NUL dropped, bare CR a space, lines above
 * 998 octets folded, redacted if asked. *eightbit: a byte >= 0x80 stays.
 */
static mailsec_err
fr_headers(struct ms_buf *out, const char *p, size_t n, bool redact,
    bool *eightbit)
{
	struct ms_buf line;
	size_t i = 0, s, k, col;
	mailsec_err err = MAILSEC_OK;

	*eightbit = false;
	ms_buf_init(&line, FR_HEADERS_MAX);
	while (i < n) {
		s = i;
		while (i < n && p[i] != '\n')
			i++;
		k = i;
		if (i < n)
			i++;
		if (k > s && p[k - 1] == '\r')
			k--;
		if (k == s)
			break;	/* the empty line: the body follows */
		line.len = 0;
		for (; s < k; s++) {
			if (p[s] == '\0')
				continue;
			if ((unsigned char)p[s] >= 0x80)
				*eightbit = true;
			err = ms_buf_appendc(&line, p[s] == '\r' ? ' ' : p[s]);
			if (err != MAILSEC_OK)
				goto done;
		}
		if (line.len == 0)
			continue;
		if (out->len + line.len > FR_HEADERS_MAX)
			break;	/* cut at a line; the rest is left out */
		if (redact) {
			struct ms_buf red;

			ms_buf_init(&red, FR_HEADERS_MAX);
			if ((err = fr_redact(&red, line.ptr, line.len)) !=
			    MAILSEC_OK)
				goto done;
			ms_buf_free(&line);
			line = red;
		}
		/* RFC 5322 2.1.1: 998 octets a line at most */
		for (s = 0, col = 0; s < line.len; s++, col++) {
			if (col >= MS_RW_LINE_MAX - 1) {
				if ((err = ms_buf_append(out, "\r\n ", 3)) !=
				    MAILSEC_OK)
					goto done;
				col = 1;
			}
			if ((err = ms_buf_appendc(out, line.ptr[s])) !=
			    MAILSEC_OK)
				goto done;
		}
		if ((err = ms_buf_append(out, "\r\n", 2)) != MAILSEC_OK)
			goto done;
	}
done:
	ms_buf_free(&line);
	return err;
}

static mailsec_err
fr_bad(struct mailsec_diag *diag, const char *what)
{
	return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "failure report: %s is "
	    "unusable (control characters, 8-bit bytes or too long)", what);
}

mailsec_err
mailsec_failure_report_compose(const struct mailsec_failure_report *f,
    char **out, size_t *outlen, struct mailsec_diag *diag)
{
	struct ms_buf b, text, hdrs, fb;
	struct ms_rw_mail head;
	char date[MS_RW_DATE_LEN], arrival[MS_RW_DATE_LEN], hex[65];
	char bnd[MS_RW_BOUNDARY_LEN], idal[32], v[MS_RW_VALUE_MAX + 1];
	char subject[600], mid[400];
	unsigned char rnd[16];
	unsigned char ipb[16];
	const char *to, *parts[3], *middom, *what = NULL;
	size_t plen[3];
	bool eightbit = false;
	mailsec_err err = MAILSEC_OK;

	ms_buf_init(&b, MS_RW_MAIL_MAX);
	ms_buf_init(&text, 16 * 1024);
	ms_buf_init(&hdrs, FR_HEADERS_MAX + 64 * 1024);
	ms_buf_init(&fb, 64 * 1024);
	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (f == NULL || out == NULL || outlen == NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "failure report: "
		    "no report or output");
	to = ms_rw_strip_mailto(f->to);
	middom = f->message_id_domain != NULL ? f->message_id_domain :
	    f->reporting_mta;
	if (!ms_rw_addr_ok(f->from))
		what = "from";
	else if (!ms_rw_addr_ok(to))
		what = "to";
	else if (f->source_ip == NULL ||
	    (inet_pton(AF_INET, f->source_ip, ipb) != 1 &&
	    inet_pton(AF_INET6, f->source_ip, ipb) != 1))
		what = "source_ip";
	else if (!ms_rw_domain_ok(f->reported_domain))
		what = "reported_domain";
	else if (!fr_token(f->auth_failure))
		what = "auth_failure";
	else if (f->authentication_results == NULL)
		what = "authentication_results";
	else if (f->reporting_mta != NULL &&
	    !ms_rw_domain_ok(f->reporting_mta))
		what = "reporting_mta";
	else if (!ms_rw_domain_ok(middom))
		what = "message_id_domain";
	else if (f->headers == NULL || f->headers_len == 0)
		what = "headers";
	else if (!ms_rw_date(f->now, date, sizeof date) ||
	    !ms_rw_date(f->arrival, arrival, sizeof arrival))
		what = "now or arrival";
	if (what != NULL)
		return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "failure report: "
		    "%s is missing or unusable", what);
	if (f->identity_alignment != NULL) {
		if (!fr_id_align(f->identity_alignment, idal, sizeof idal))
			return ms_diag(diag, MAILSEC_EINVAL, 0, 0, "failure "
			    "report: identity_alignment is not \"none\" or a "
			    "list of dkim, spf (RFC 9991 4)");
	} else
		snprintf(idal, sizeof idal, "%s",
		    ms_ascii_eqz(f->auth_failure, strlen(f->auth_failure),
		    "dkim") ? "dkim" : ms_ascii_eqz(f->auth_failure,
		    strlen(f->auth_failure), "spf") ? "spf" : "dkim, spf");

	/* message/feedback-report (RFC 5965 3.1, RFC 6591 3.1) */
	err = ms_rw_header(&fb, "Feedback-Type", "auth-failure");
	if (err == MAILSEC_OK) {
		snprintf(v, sizeof v, "mailsec/%s", mailsec_version());
		err = ms_rw_header(&fb, "User-Agent", v);
	}
	if (err == MAILSEC_OK)
		err = ms_rw_header(&fb, "Version", "1");
	if (err == MAILSEC_OK)
		err = ms_rw_header(&fb, "Auth-Failure", f->auth_failure);
	if (err == MAILSEC_OK)
		err = ms_rw_header(&fb, "Identity-Alignment", idal);
	if (err == MAILSEC_OK && f->original_mail_from != NULL) {
		if (f->original_mail_from[0] == '\0')
			snprintf(v, sizeof v, "<>");
		else if (!fr_value(f->original_mail_from, f->redact, v + 1,
		    sizeof v - 2)) {
			err = fr_bad(diag, "original_mail_from");
			goto done;
		} else {
			v[0] = '<';
			memcpy(v + strlen(v), ">", 2);
		}
		err = ms_rw_header(&fb, "Original-Mail-From", v);
	}
	/* a recipient is what redaction hides first: left out then */
	if (err == MAILSEC_OK && f->original_rcpt_to != NULL && !f->redact) {
		if (!fr_value(f->original_rcpt_to, false, v + 1,
		    sizeof v - 2)) {
			err = fr_bad(diag, "original_rcpt_to");
			goto done;
		}
		v[0] = '<';
		memcpy(v + strlen(v), ">", 2);
		err = ms_rw_header(&fb, "Original-Rcpt-To", v);
	}
	if (err == MAILSEC_OK)
		err = ms_rw_header(&fb, "Arrival-Date", arrival);
	if (err == MAILSEC_OK && f->reporting_mta != NULL) {
		snprintf(v, sizeof v, "dns; %s", f->reporting_mta);
		err = ms_rw_header(&fb, "Reporting-MTA", v);
	}
	if (err == MAILSEC_OK)
		err = ms_rw_header(&fb, "Source-IP", f->source_ip);
	if (err == MAILSEC_OK)
		err = ms_rw_header(&fb, "Reported-Domain", f->reported_domain);
	if (err == MAILSEC_OK) {
		if (!fr_value(f->authentication_results, f->redact, v,
		    sizeof v)) {
			err = fr_bad(diag, "authentication_results");
			goto done;
		}
		err = ms_rw_header(&fb, "Authentication-Results", v);
	}
	if (err == MAILSEC_OK && f->dkim_domain != NULL) {
		if (!ms_rw_domain_ok(f->dkim_domain)) {
			err = fr_bad(diag, "dkim_domain");
			goto done;
		}
		err = ms_rw_header(&fb, "DKIM-Domain", f->dkim_domain);
	}
	if (err == MAILSEC_OK && f->dkim_identity != NULL) {
		if (!fr_value(f->dkim_identity, f->redact, v, sizeof v)) {
			err = fr_bad(diag, "dkim_identity");
			goto done;
		}
		err = ms_rw_header(&fb, "DKIM-Identity", v);
	}
	if (err == MAILSEC_OK && f->dkim_selector != NULL) {
		if (!ms_rw_domain_ok(f->dkim_selector)) {
			err = fr_bad(diag, "dkim_selector");
			goto done;
		}
		err = ms_rw_header(&fb, "DKIM-Selector", f->dkim_selector);
	}
	if (err == MAILSEC_OK && f->spf_dns != NULL) {
		if (!fr_value(f->spf_dns, false, v, sizeof v)) {
			err = fr_bad(diag, "spf_dns");
			goto done;
		}
		err = ms_rw_header(&fb, "SPF-DNS", v);
	}
	if (err != MAILSEC_OK)
		goto done;

	if ((err = fr_headers(&hdrs, f->headers, f->headers_len, f->redact,
	    &eightbit)) != MAILSEC_OK)
		goto done;
	if (hdrs.len == 0) {
		err = fr_bad(diag, "headers");
		goto done;
	}
	if ((err = ms_buf_printf(&text, "This is an authentication failure "
	    "report (RFC 6591, RFC 9991) for a message\r\nfrom %s that "
	    "claimed to be from the domain %s.\r\n\r\nFailed:   %s\r\n"
	    "Arrival:  %s\r\n\r\nThe message's header section is attached%s; "
	    "its body is not.\r\n", f->source_ip, f->reported_domain,
	    f->auth_failure, arrival, f->redact ? " with the local parts "
	    "of addresses replaced by hashes" : "")) != MAILSEC_OK)
		goto done;

	/* unique per report: 128 random bits (a hash if RAND fails) */
	if (RAND_bytes(rnd, sizeof rnd) == 1)
		ms_rw_sha256_hex(rnd, sizeof rnd, "", 0, hex, 16);
	else
		ms_rw_sha256_hex(hdrs.ptr, hdrs.len, date, strlen(date), hex,
		    16);
	snprintf(mid, sizeof mid, "<dmarc-ruf.%s@%s>", hex, middom);
	snprintf(subject, sizeof subject, "DMARC failure report for %s from "
	    "%s", f->reported_domain, f->source_ip);
	parts[0] = text.ptr;
	plen[0] = text.len;
	parts[1] = fb.ptr;
	plen[1] = fb.len;
	parts[2] = hdrs.ptr;
	plen[2] = hdrs.len;
	ms_rw_boundary(hex, strlen(hex), parts, plen, 3, bnd, sizeof bnd);

	head = (struct ms_rw_mail){ .from = f->from, .to = to,
	    .subject = subject, .date = date, .message_id = mid,
	    .content_type = "multipart/report; report-type=feedback-report",
	    .boundary = bnd, .text = text.ptr, .textlen = text.len };
	if ((err = ms_rw_mail_begin(&b, &head)) != MAILSEC_OK ||
	    (err = ms_buf_printf(&b, "\r\n--%s\r\nContent-Type: "
	    "message/feedback-report\r\n\r\n", bnd)) != MAILSEC_OK ||
	    (err = ms_buf_append(&b, fb.ptr, fb.len)) != MAILSEC_OK ||
	    (err = ms_buf_printf(&b, "\r\n--%s\r\nContent-Type: "
	    "text/rfc822-headers\r\nContent-Transfer-Encoding: %s\r\n\r\n",
	    bnd, eightbit ? "8bit" : "7bit")) != MAILSEC_OK ||
	    (err = ms_buf_append(&b, hdrs.ptr, hdrs.len)) != MAILSEC_OK ||
	    (err = ms_buf_printf(&b, "\r\n--%s--\r\n", bnd)) != MAILSEC_OK)
		goto done;
	if ((*out = ms_buf_steal(&b, outlen)) == NULL)
		err = MAILSEC_ENOMEM;
done:
	if (err != MAILSEC_OK && err != MAILSEC_EINVAL)
		ms_diag(diag, err, 0, 0, "failure report: %s",
		    mailsec_strerror(err));
	ms_buf_free(&b);
	ms_buf_free(&text);
	ms_buf_free(&hdrs);
	ms_buf_free(&fb);
	return err;
}
