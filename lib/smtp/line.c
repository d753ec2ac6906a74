/*
 * lib/smtp/line.c - SMTP command lines: CRLF-terminated (RFC 5321 2.3.8:
 * bare CR and bare LF are not line ends and are refused), bounded (RFC
 * 5321 4.5.3.1.4 plus the extension allowances; RFC 4954 4 for AUTH).
 */
#include <string.h>

#include <mailsec/smtp.h>

#include "core/core.h"

void
mailsec_smtp_lines_init(struct mailsec_smtp_lines *ls, size_t max,
    size_t auth_max)
{
	memset(ls, 0, sizeof *ls);
	ls->max = max != 0 ? max : MAILSEC_SMTP_LINE_MAX_DEFAULT;
	if (auth_max == 0)
		auth_max = MAILSEC_SMTP_AUTH_LINE_MAX;
	ls->auth_max = auth_max > ls->max ? auth_max : ls->max;
}

/* The limit for the line starting at buf: AUTH lines get auth_max. */
static size_t
line_limit(const struct mailsec_smtp_lines *ls, const char *buf, size_t len)
{
	size_t max = ls->max < 3 ? 3 : ls->max;	/* room for "x\r\n" */

	if (ls->auth_max > max && len >= 5 && ms_ascii_eqz(buf, 4, "AUTH") &&
	    buf[4] == ' ')
		return ls->auth_max;
	return max;
}

enum mailsec_smtp_line_status
mailsec_smtp_line_next(struct mailsec_smtp_lines *ls, const char *buf,
    size_t len, size_t *consumed, struct mailsec_str *line)
{
	const char *lf;
	size_t max, scan, n, i;
	bool bare_cr = false;

	*consumed = 0;
	line->ptr = buf;
	line->len = 0;
	if (len == 0)
		return MAILSEC_SMTP_LINE_NEED_MORE;
	if (ls->discarding) {
		lf = memchr(buf, '\n', len);
		if (lf == NULL) {
			*consumed = len;
			return MAILSEC_SMTP_LINE_NEED_MORE;
		}
		ls->discarding = false;
		ls->lines++;
		*consumed = (size_t)(lf - buf) + 1;
		line->len = (size_t)(lf - buf);
		return MAILSEC_SMTP_LINE_TOO_LONG;
	}
	max = line_limit(ls, buf, len);
	/* The LF may sit at most at index max - 1 (CRLF counted in max). */
	scan = len < max ? len : max;
	lf = memchr(buf, '\n', scan);
	if (lf == NULL) {
		if (len < max)
			return MAILSEC_SMTP_LINE_NEED_MORE;
		/* max bytes and no end: too long whatever follows. */
		lf = memchr(buf + scan, '\n', len - scan);
		if (lf == NULL) {
			ls->discarding = true;
			*consumed = len;
			return MAILSEC_SMTP_LINE_NEED_MORE;
		}
		ls->lines++;
		*consumed = (size_t)(lf - buf) + 1;
		line->len = (size_t)(lf - buf);
		return MAILSEC_SMTP_LINE_TOO_LONG;
	}
	n = (size_t)(lf - buf);
	*consumed = n + 1;
	ls->lines++;
	if (n == 0 || buf[n - 1] != '\r') {
		line->len = n;
		/* A CR elsewhere in the line makes it a bare-CR line too;
		 * either way the line is refused. */
		return MAILSEC_SMTP_LINE_BARE_LF;
	}
	n--;
	line->len = n;
	for (i = 0; i < n; i++) {
		if (buf[i] == '\r') {
			bare_cr = true;
			break;
		}
	}
	return bare_cr ? MAILSEC_SMTP_LINE_BARE_CR : MAILSEC_SMTP_LINE_OK;
}

bool
mailsec_smtp_line_reply(enum mailsec_smtp_line_status st,
    struct mailsec_smtp_reply *r)
{
	switch (st) {
	case MAILSEC_SMTP_LINE_TOO_LONG:
		mailsec_smtp_reply_set(r, 500, "5.5.2", "Line too long");
		return true;
	case MAILSEC_SMTP_LINE_BARE_LF:
	case MAILSEC_SMTP_LINE_BARE_CR:
		mailsec_smtp_reply_set(r, 500, "5.5.2",
		    "Bare CR or LF not allowed");
		return true;
	default:
		return false;
	}
}
