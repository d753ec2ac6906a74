/*
 * lib/spf/header.c - an SPF outcome as header field text: Received-SPF
 * (RFC 7208 9.1) and the spf method of Authentication-Results (RFC 8601
 * 2.7.2). Sender-provided data is quoted and stripped of control and
 * non-ASCII bytes (RFC 7208 9.1: no invalid characters, no malicious
 * data).
 */
#include <stdlib.h>
#include <string.h>

#include "spf/spf_int.h"

/* Room for a header value built from bounded parts. */
#define SPF_HEADER_MAX 4096

static bool
is_dot_atom(const char *v)
{
	return ms_dot_atom_ok(v, strlen(v));
}

/* Appends v as a dot-atom, or as a quoted-string without control and
 * non-ASCII bytes. */
static mailsec_err
put_value(struct ms_buf *b, const char *v, bool force_quote)
{
	mailsec_err err;
	size_t i;

	if (!force_quote && is_dot_atom(v))
		return ms_buf_appendz(b, v);
	if ((err = ms_buf_appendc(b, '"')) != MAILSEC_OK)
		return err;
	for (i = 0; v[i] != '\0'; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 0x20 || c > 0x7e)
			continue;
		if ((c == '"' || c == '\\') &&
		    (err = ms_buf_appendc(b, '\\')) != MAILSEC_OK)
			return err;
		if ((err = ms_buf_appendc(b, (char)c)) != MAILSEC_OK)
			return err;
	}
	return ms_buf_appendc(b, '"');
}

/* Text for a comment: printable ASCII without parentheses or
 * backslashes, which would end or escape it. */
static mailsec_err
put_comment_text(struct ms_buf *b, const char *v)
{
	mailsec_err err;
	size_t i;

	for (i = 0; v[i] != '\0'; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 0x20 || c > 0x7e || c == '(' || c == ')' || c == '\\')
			c = '?';
		if ((err = ms_buf_appendc(b, (char)c)) != MAILSEC_OK)
			return err;
	}
	return MAILSEC_OK;
}

static mailsec_err
put_kv(struct ms_buf *b, const char *k, const char *v, bool quote)
{
	mailsec_err err;

	if ((err = ms_buf_printf(b, " %s=", k)) != MAILSEC_OK)
		return err;
	if ((err = put_value(b, v, quote)) != MAILSEC_OK)
		return err;
	return ms_buf_appendc(b, ';');
}

static const char *
client_ip(const struct mailsec_spf_request *req)
{
	return req != NULL && req->ip != NULL ? req->ip : "unknown";
}

mailsec_err
mailsec_spf_received_spf(const struct mailsec_spf_outcome *o,
    const struct mailsec_spf_request *req, char **out)
{
	const char *recv, *ip;
	struct ms_buf b;
	mailsec_err err;
	char *p;
	size_t n;

	if (o == NULL || out == NULL)
		return MAILSEC_EINVAL;
	*out = NULL;
	recv = req != NULL && req->receiver != NULL ? req->receiver :
	    "unknown";
	ip = client_ip(req);
	ms_buf_init(&b, SPF_HEADER_MAX);
	if ((err = ms_buf_printf(&b, "%s (",
	    mailsec_spf_result_name(o->result))) != MAILSEC_OK ||
	    (err = put_comment_text(&b, recv)) != MAILSEC_OK ||
	    (err = ms_buf_appendz(&b, ": ")) != MAILSEC_OK)
		return err;
	switch (o->result) {
	case MAILSEC_SPF_PASS:
		err = ms_buf_appendz(&b, "domain of ");
		if (err == MAILSEC_OK)
			err = put_comment_text(&b, o->domain);
		if (err == MAILSEC_OK)
			err = ms_buf_appendz(&b, " designates ");
		if (err == MAILSEC_OK)
			err = put_comment_text(&b, ip);
		if (err == MAILSEC_OK)
			err = ms_buf_appendz(&b, " as permitted sender");
		break;
	case MAILSEC_SPF_FAIL:
	case MAILSEC_SPF_SOFTFAIL:
		err = ms_buf_appendz(&b, "domain of ");
		if (err == MAILSEC_OK)
			err = put_comment_text(&b, o->domain);
		if (err == MAILSEC_OK)
			err = ms_buf_appendz(&b, o->result == MAILSEC_SPF_FAIL ?
			    " does not designate " :
			    " does not designate (softfail) ");
		if (err == MAILSEC_OK)
			err = put_comment_text(&b, ip);
		if (err == MAILSEC_OK)
			err = ms_buf_appendz(&b, " as permitted sender");
		break;
	case MAILSEC_SPF_NEUTRAL:
		err = ms_buf_appendz(&b, "domain of ");
		if (err == MAILSEC_OK)
			err = put_comment_text(&b, o->domain);
		if (err == MAILSEC_OK)
			err = ms_buf_appendz(&b, " makes no assertion about ");
		if (err == MAILSEC_OK)
			err = put_comment_text(&b, ip);
		break;
	case MAILSEC_SPF_NONE:
		err = ms_buf_appendz(&b, "no SPF record for ");
		if (err == MAILSEC_OK)
			err = put_comment_text(&b, o->domain);
		break;
	case MAILSEC_SPF_TEMPERROR:
	case MAILSEC_SPF_PERMERROR:
		err = ms_buf_appendz(&b, o->result ==
		    MAILSEC_SPF_TEMPERROR ? "temporary" : "permanent");
		if (err == MAILSEC_OK)
			err = ms_buf_appendz(&b, " error in processing "
			    "domain of ");
		if (err == MAILSEC_OK)
			err = put_comment_text(&b, o->domain);
		break;
	}
	if (err != MAILSEC_OK)
		return err;
	if ((err = ms_buf_appendc(&b, ')')) != MAILSEC_OK ||
	    (err = put_kv(&b, "client-ip", ip, false)) != MAILSEC_OK)
		return err;
	if (o->identity == MAILSEC_SPF_ID_MAILFROM &&
	    (err = put_kv(&b, "envelope-from", o->sender, true)) !=
	    MAILSEC_OK)
		return err;
	if (req != NULL && req->helo != NULL && req->helo[0] != '\0' &&
	    (err = put_kv(&b, "helo", req->helo, false)) != MAILSEC_OK)
		return err;
	if ((err = put_kv(&b, "receiver", recv, false)) != MAILSEC_OK)
		return err;
	if (o->mechanism != NULL && (err = put_kv(&b, "mechanism",
	    o->mechanism, false)) != MAILSEC_OK)
		return err;
	if (o->mechanism == NULL && (o->result == MAILSEC_SPF_NEUTRAL) &&
	    (err = put_kv(&b, "mechanism", "default", false)) != MAILSEC_OK)
		return err;
	if (o->problem != NULL && (o->result == MAILSEC_SPF_PERMERROR ||
	    o->result == MAILSEC_SPF_TEMPERROR) &&
	    (err = put_kv(&b, "problem", o->problem, true)) != MAILSEC_OK)
		return err;
	if ((err = ms_buf_printf(&b, " identity=%s",
	    o->identity == MAILSEC_SPF_ID_HELO ? "helo" : "mailfrom")) !=
	    MAILSEC_OK)
		return err;
	p = ms_buf_steal(&b, &n);
	if (p == NULL)
		return MAILSEC_ENOMEM;
	*out = p;
	return MAILSEC_OK;
}

mailsec_err
mailsec_spf_authres(const struct mailsec_spf_outcome *o, char **out)
{
	struct ms_buf b;
	mailsec_err err;
	const char *v;

	if (o == NULL || out == NULL)
		return MAILSEC_EINVAL;
	*out = NULL;
	ms_buf_init(&b, SPF_HEADER_MAX);
	if ((err = ms_buf_printf(&b, "spf=%s",
	    mailsec_spf_result_name(o->result))) != MAILSEC_OK)
		return err;
	/* RFC 8601 2.7.2: smtp.mailfrom carries the checked address (or
	 * its domain); smtp.helo the HELO name. */
	if (o->identity == MAILSEC_SPF_ID_HELO) {
		err = ms_buf_appendz(&b, " smtp.helo=");
		v = o->domain;
	} else {
		err = ms_buf_appendz(&b, " smtp.mailfrom=");
		v = o->sender;
	}
	v = v ? v : "";
	if (err == MAILSEC_OK) {
		const char *at = strrchr(v, '@');
		char *local = at ? ms_memdupz(v, (size_t)(at - v)) : NULL;

		/* RFC 8601 2.2: pvalue may be [local-part "@"] domain-name
		 * as is; anything else goes quoted. */
		if (at != NULL && local != NULL && is_dot_atom(local) &&
		    is_dot_atom(at + 1))
			err = ms_buf_appendz(&b, v);
		else
			err = put_value(&b, v, false);
		free(local);
	}
	if (err != MAILSEC_OK)
		return err;
	*out = ms_buf_steal(&b, NULL);
	return *out ? MAILSEC_OK : MAILSEC_ENOMEM;
}
