/*
 * lib/smtp/reply.c - SMTP replies: single and multi-line (RFC 5321 4.2,
 * 4.2.1), enhanced status codes (RFC 2034, RFC 3463), the EHLO reply
 * (RFC 5321 4.1.1.1) built from a capability set.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mailsec/smtp.h>

#include "core/core.h"

mailsec_err
mailsec_smtp_reply_line(char *buf, size_t bufsz, size_t *len, unsigned code,
    const char *status, const char *text, size_t textlen, bool last)
{
	size_t need, slen, o, i;
	unsigned char c;

	if (buf == NULL || len == NULL || *len > bufsz ||
	    (text == NULL && textlen > 0))
		return MAILSEC_EINVAL;
	if (code < 200 || code > 599)
		return MAILSEC_EINVAL;
	slen = status != NULL ? strlen(status) : 0;
	/* "250" + sep + [status SP] + text + CRLF */
	need = 4 + (slen > 0 ? slen + 1 : 0) + textlen + 2;
	if (need > MAILSEC_SMTP_REPLY_LINE_MAX || need >= bufsz - *len)
		return MAILSEC_ELIMIT;
	o = *len;
	buf[o++] = (char)('0' + code / 100);
	buf[o++] = (char)('0' + code / 10 % 10);
	buf[o++] = (char)('0' + code % 10);
	buf[o++] = last ? ' ' : '-';
	if (slen > 0) {
		memcpy(buf + o, status, slen);
		o += slen;
		buf[o++] = ' ';
	}
	for (i = 0; i < textlen; i++) {
		c = (unsigned char)text[i];
		buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	buf[o++] = '\r';
	buf[o++] = '\n';
	buf[o] = '\0';
	*len = o;
	return MAILSEC_OK;
}

mailsec_err
mailsec_smtp_reply_write(char *buf, size_t bufsz, size_t *len,
    const struct mailsec_smtp_reply *r, bool enhanced)
{
	const char *t, *nl, *status;
	size_t start, n;
	mailsec_err err;

	if (r == NULL || len == NULL)
		return MAILSEC_EINVAL;
	start = *len;
	status = enhanced ? r->status : NULL;
	t = r->text;
	for (;;) {
		nl = strchr(t, '\n');
		n = nl != NULL ? (size_t)(nl - t) : strlen(t);
		err = mailsec_smtp_reply_line(buf, bufsz, len, r->code, status,
		    t, n, nl == NULL);
		if (err != MAILSEC_OK) {
			*len = start;
			if (buf != NULL && start < bufsz)
				buf[start] = '\0';
			return err;
		}
		if (nl == NULL)
			break;
		t = nl + 1;
	}
	return MAILSEC_OK;
}

unsigned
mailsec_smtp_reply_set(struct mailsec_smtp_reply *r, unsigned code,
    const char *status, const char *fmt, ...)
{
	va_list ap;

	if (r == NULL)
		return code;
	r->code = code;
	if (status == NULL ||
	    strlen(status) >= sizeof r->status)
		status = "";
	memcpy(r->status, status, strlen(status) + 1);
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof r->text, fmt, ap);
	va_end(ap);
	return code;
}

/* Capabilities in the order they are advertised. */
static const struct {
	unsigned flag;
	const char *text;
} ehlo_caps[] = {
	{ MAILSEC_SMTP_CAP_PIPELINING, "PIPELINING" },
	{ MAILSEC_SMTP_CAP_SIZE, NULL },		/* "SIZE n" */
	{ MAILSEC_SMTP_CAP_8BITMIME, "8BITMIME" },
	{ MAILSEC_SMTP_CAP_SMTPUTF8, "SMTPUTF8" },
	{ MAILSEC_SMTP_CAP_ENHANCED, "ENHANCEDSTATUSCODES" },
	{ MAILSEC_SMTP_CAP_CHUNKING, "CHUNKING" },
	{ MAILSEC_SMTP_CAP_BINARYMIME, "BINARYMIME" },
	{ MAILSEC_SMTP_CAP_DSN, "DSN" },
	{ MAILSEC_SMTP_CAP_STARTTLS, "STARTTLS" },
	{ MAILSEC_SMTP_CAP_AUTH, NULL },		/* "AUTH PLAIN LOGIN" */
};

mailsec_err
mailsec_smtp_ehlo_reply(char *buf, size_t bufsz, size_t *len,
    const char *host, const char *greeting,
    const struct mailsec_smtp_caps *caps)
{
	char line[MAILSEC_SMTP_REPLY_LINE_MAX];
	const char *lines[MS_ARRAY_LEN(ehlo_caps) + 1];
	char sizebuf[32], authbuf[32];
	size_t n = 0, i, start;
	unsigned flags;
	int w;
	mailsec_err err;

	if (host == NULL || caps == NULL || len == NULL)
		return MAILSEC_EINVAL;
	flags = caps->flags;
	for (i = 0; i < MS_ARRAY_LEN(ehlo_caps); i++) {
		if ((flags & ehlo_caps[i].flag) == 0)
			continue;
		if (ehlo_caps[i].flag == MAILSEC_SMTP_CAP_SIZE) {
			if (caps->size_max > 0)
				snprintf(sizebuf, sizeof sizebuf,
				    "SIZE %" PRIu64, caps->size_max);
			else
				snprintf(sizebuf, sizeof sizebuf, "SIZE");
			lines[n++] = sizebuf;
		} else if (ehlo_caps[i].flag == MAILSEC_SMTP_CAP_AUTH) {
			snprintf(authbuf, sizeof authbuf, "AUTH%s%s",
			    (flags & MAILSEC_SMTP_CAP_AUTH_PLAIN) ?
			    " PLAIN" : "",
			    (flags & MAILSEC_SMTP_CAP_AUTH_LOGIN) ?
			    " LOGIN" : "");
			lines[n++] = authbuf;
		} else {
			lines[n++] = ehlo_caps[i].text;
		}
	}
	w = snprintf(line, sizeof line, "%s%s%s", host,
	    greeting != NULL && greeting[0] != '\0' ? " " : "",
	    greeting != NULL ? greeting : "");
	if (w < 0 || (size_t)w >= sizeof line)
		return MAILSEC_ELIMIT;
	start = *len;
	err = mailsec_smtp_reply_line(buf, bufsz, len, 250, NULL, line,
	    (size_t)w, n == 0);
	for (i = 0; err == MAILSEC_OK && i < n; i++)
		err = mailsec_smtp_reply_line(buf, bufsz, len, 250, NULL,
		    lines[i], strlen(lines[i]), i + 1 == n);
	if (err != MAILSEC_OK) {
		*len = start;
		if (buf != NULL && start < bufsz)
			buf[start] = '\0';
	}
	return err;
}
