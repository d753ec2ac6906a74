/*
 * lib/smtp/sasl.c - the server side of SASL in SMTP (RFC 4954 4): PLAIN
 * (RFC 4616 2) and LOGIN (draft-murchison-sasl-login: "Username:",
 * "Password:" prompts). Only decoding; checking the password is the
 * caller's.
 */
#include <string.h>

#include "smtp/smtp_int.h"

/* Decoded PLAIN message: three fields and two NULs. */
#define MS_SASL_PLAIN_MAX	(3 * MAILSEC_SMTP_SASL_FIELD_MAX + 2)
/* Longest base64 we decode: that message, encoded. */
#define MS_SASL_B64_MAX		((MS_SASL_PLAIN_MAX + 2) / 3 * 4)

enum {
	SASL_STEP_IDLE = 0,
	SASL_STEP_PLAIN,	/* waiting for the PLAIN message */
	SASL_STEP_USER,		/* LOGIN: waiting for the user name */
	SASL_STEP_PASS,		/* LOGIN: waiting for the password */
	SASL_STEP_OVER
};

static const char chal_user[] = "VXNlcm5hbWU6";	/* "Username:" */
static const char chal_pass[] = "UGFzc3dvcmQ6";	/* "Password:" */

/* 1*SAFE of RFC 4616 (UTF-8, no NUL), within the length limit. */
static bool
valid_field(const unsigned char *p, size_t n, bool may_be_empty)
{
	size_t i = 0, k;

	if (n > MAILSEC_SMTP_SASL_FIELD_MAX || (n == 0 && !may_be_empty))
		return false;
	while (i < n) {
		if (p[i] == 0)
			return false;
		k = mailsec_utf8_len((const char *)p + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

static void
set_field(char *dst, size_t *dlen, const unsigned char *p, size_t n)
{
	memcpy(dst, p, n);
	dst[n] = '\0';
	*dlen = n;
}

static void
wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

mailsec_err
mailsec_smtp_sasl_plain_decode(const char *b64, size_t len,
    struct mailsec_smtp_sasl_creds *creds, struct mailsec_smtp_reply *r)
{
	unsigned char buf[MS_SASL_PLAIN_MAX];
	const unsigned char *nul1, *nul2;
	size_t n, zl, cl, pl;
	mailsec_err err = MAILSEC_ESYNTAX;

	if (creds == NULL || (b64 == NULL && len > 0))
		return MAILSEC_EINVAL;
	wipe(creds, sizeof *creds);
	if (len > MS_SASL_B64_MAX) {
		mailsec_smtp_reply_set(r, 500, "5.5.6",
		    "Authentication Exchange line is too long");
		return MAILSEC_ELIMIT;
	}
	n = ms_base64_decode(b64, len, MS_B64_STRICT, buf, sizeof buf);
	if (n == (size_t)-1) {
		mailsec_smtp_reply_set(r, 501, "5.5.2",
		    "Invalid base64 data");
		goto done;
	}
	/* message = [authzid] UTF8NUL authcid UTF8NUL passwd */
	nul1 = memchr(buf, '\0', n);
	nul2 = nul1 != NULL ? memchr(nul1 + 1, '\0',
	    n - (size_t)(nul1 + 1 - buf)) : NULL;
	if (nul2 == NULL) {
		mailsec_smtp_reply_set(r, 501, "5.5.4",
		    "Invalid PLAIN message");
		goto done;
	}
	zl = (size_t)(nul1 - buf);
	cl = (size_t)(nul2 - nul1 - 1);
	pl = n - (size_t)(nul2 + 1 - buf);
	if (!valid_field(buf, zl, true) || !valid_field(nul1 + 1, cl, false) ||
	    !valid_field(nul2 + 1, pl, false)) {
		mailsec_smtp_reply_set(r, 501, "5.5.4",
		    "Invalid PLAIN message");
		goto done;
	}
	set_field(creds->authzid, &creds->authzid_len, buf, zl);
	set_field(creds->authcid, &creds->authcid_len, nul1 + 1, cl);
	set_field(creds->passwd, &creds->passwd_len, nul2 + 1, pl);
	err = MAILSEC_OK;
done:
	wipe(buf, sizeof buf);
	if (err != MAILSEC_OK)
		wipe(creds, sizeof *creds);
	return err;
}

/* One LOGIN field: base64 of 1..255 octets of UTF-8. */
static enum mailsec_smtp_sasl_status
login_field(struct mailsec_smtp_sasl *s, const char *p, size_t n, char *dst,
    size_t *dlen, struct mailsec_smtp_reply *r)
{
	unsigned char buf[MAILSEC_SMTP_SASL_FIELD_MAX + 3];
	size_t m;

	m = n > (sizeof buf + 2) / 3 * 4 ? (size_t)-1 :
	    ms_base64_decode(p, n, MS_B64_STRICT, buf, sizeof buf);
	if (m == (size_t)-1) {
		mailsec_smtp_reply_set(r, 501, "5.5.2",
		    "Invalid base64 data");
		goto fail;
	}
	if (!valid_field(buf, m, false)) {
		mailsec_smtp_reply_set(r, 501, "5.5.4",
		    "Invalid user name or password form");
		goto fail;
	}
	set_field(dst, dlen, buf, m);
	wipe(buf, sizeof buf);
	return MAILSEC_SMTP_SASL_CONTINUE;
fail:
	wipe(buf, sizeof buf);
	mailsec_smtp_sasl_clear(s);
	s->step = SASL_STEP_OVER;
	return MAILSEC_SMTP_SASL_FAILED;
}

/* A response (or initial response) at the current step. */
static enum mailsec_smtp_sasl_status
sasl_take(struct mailsec_smtp_sasl *s, const char *p, size_t n,
    const char **challenge, struct mailsec_smtp_reply *r)
{
	enum mailsec_smtp_sasl_status st;

	if (n == 1 && p[0] == '*') {
		mailsec_smtp_sasl_clear(s);
		s->step = SASL_STEP_OVER;
		mailsec_smtp_reply_set(r, 501, "5.7.0",
		    "Authentication canceled");
		return MAILSEC_SMTP_SASL_CANCELLED;
	}
	switch (s->step) {
	case SASL_STEP_PLAIN:
		s->step = SASL_STEP_OVER;
		if (mailsec_smtp_sasl_plain_decode(p, n, &s->creds, r) !=
		    MAILSEC_OK)
			return MAILSEC_SMTP_SASL_FAILED;
		return MAILSEC_SMTP_SASL_DONE;
	case SASL_STEP_USER:
		st = login_field(s, p, n, s->creds.authcid,
		    &s->creds.authcid_len, r);
		if (st != MAILSEC_SMTP_SASL_CONTINUE)
			return st;
		s->step = SASL_STEP_PASS;
		*challenge = chal_pass;
		return MAILSEC_SMTP_SASL_CONTINUE;
	case SASL_STEP_PASS:
		st = login_field(s, p, n, s->creds.passwd,
		    &s->creds.passwd_len, r);
		if (st != MAILSEC_SMTP_SASL_CONTINUE)
			return st;
		s->step = SASL_STEP_OVER;
		return MAILSEC_SMTP_SASL_DONE;
	default:
		mailsec_smtp_reply_set(r, 503, "5.5.1",
		    "No authentication exchange in progress");
		return MAILSEC_SMTP_SASL_FAILED;
	}
}

enum mailsec_smtp_sasl_status
mailsec_smtp_sasl_start(struct mailsec_smtp_sasl *s,
    enum mailsec_smtp_sasl_mech mech, const char *ir, size_t irlen,
    bool has_ir, const char **challenge, struct mailsec_smtp_reply *r)
{
	static const char empty[] = "";

	wipe(s, sizeof *s);
	*challenge = NULL;
	s->mech = mech;
	switch (mech) {
	case MAILSEC_SMTP_SASL_PLAIN:
		s->step = SASL_STEP_PLAIN;
		if (!has_ir) {
			*challenge = empty;
			return MAILSEC_SMTP_SASL_CONTINUE;
		}
		break;
	case MAILSEC_SMTP_SASL_LOGIN:
		s->step = SASL_STEP_USER;
		if (!has_ir) {
			*challenge = chal_user;
			return MAILSEC_SMTP_SASL_CONTINUE;
		}
		break;
	default:
		s->step = SASL_STEP_OVER;
		mailsec_smtp_reply_set(r, 504, "5.5.4",
		    "Unrecognized authentication type");
		return MAILSEC_SMTP_SASL_FAILED;
	}
	if (ir == NULL && irlen > 0) {
		s->step = SASL_STEP_OVER;
		mailsec_smtp_reply_set(r, 501, "5.5.4", "Invalid response");
		return MAILSEC_SMTP_SASL_FAILED;
	}
	/* RFC 4954 4: "=" is an empty initial response. */
	if (irlen == 1 && ir[0] == '=')
		irlen = 0;
	return sasl_take(s, ir, irlen, challenge, r);
}

enum mailsec_smtp_sasl_status
mailsec_smtp_sasl_step(struct mailsec_smtp_sasl *s, const char *line,
    size_t len, const char **challenge, struct mailsec_smtp_reply *r)
{
	*challenge = NULL;
	if (line == NULL && len > 0) {
		s->step = SASL_STEP_OVER;
		mailsec_smtp_reply_set(r, 501, "5.5.4", "Invalid response");
		return MAILSEC_SMTP_SASL_FAILED;
	}
	return sasl_take(s, line, len, challenge, r);
}

void
mailsec_smtp_sasl_clear(struct mailsec_smtp_sasl *s)
{
	if (s != NULL)
		wipe(&s->creds, sizeof s->creds);
}
