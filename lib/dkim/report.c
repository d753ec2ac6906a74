/*
 * lib/dkim/report.c - the dkim= results of a verification as
 * Authentication-Results (RFC 8601 2.7.1; header.b from RFC 6008).
 */
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim_int.h"

/* Adds ptype.property=v unless v is empty or holds a byte outside
 * visible ASCII (a header field value carries neither). */
static mailsec_err
add_view_prop(struct mailsec_authres *ar, const char *property,
    struct mailsec_str v)
{
	char *s;
	size_t i;
	mailsec_err err;

	if (v.ptr == NULL || v.len == 0)
		return MAILSEC_OK;
	for (i = 0; i < v.len; i++)
		if ((unsigned char)v.ptr[i] < 0x21 ||
		    (unsigned char)v.ptr[i] > 0x7e)
			return MAILSEC_OK;
	if ((s = ms_memdupz(v.ptr, v.len)) == NULL)
		return MAILSEC_ENOMEM;
	err = mailsec_authres_add_prop(ar, "header", property, s, NULL);
	free(s);
	return err;
}

mailsec_err
mailsec_dkim_authres_add(struct mailsec_authres *ar,
    const struct mailsec_dkim_verify *ctx)
{
	const struct mailsec_dkim_sig_info *s;
	struct mailsec_str b;
	size_t i, n;
	mailsec_err err = MAILSEC_OK;

	if (ar == NULL || ctx == NULL)
		return MAILSEC_EINVAL;
	if ((n = mailsec_dkim_verify_count(ctx)) == 0) {
		if ((err = mailsec_authres_add_result(ar, "dkim", "none")) !=
		    MAILSEC_OK)
			return err;
		return mailsec_authres_set_comment(ar, "no signatures");
	}
	for (i = 0; i < n && err == MAILSEC_OK; i++) {
		s = mailsec_dkim_verify_sig(ctx, i);
		err = mailsec_authres_add_result(ar, "dkim",
		    mailsec_dkim_result_name(s->result));
		if (err == MAILSEC_OK && s->result != MAILSEC_DKIM_PASS)
			err = mailsec_authres_set_reason(ar, s->reason_text);
		if (err == MAILSEC_OK)
			err = add_view_prop(ar, "d", s->domain);
		if (err == MAILSEC_OK)
			err = add_view_prop(ar, "s", s->selector);
		if (err == MAILSEC_OK && s->b_prefix != NULL) {
			b.ptr = s->b_prefix;
			b.len = strlen(s->b_prefix);
			err = add_view_prop(ar, "b", b);
		}
		if (err == MAILSEC_OK)
			err = add_view_prop(ar, "a", s->algorithm_text);
	}
	return err;
}
