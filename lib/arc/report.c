/*
 * lib/arc/report.c - what other parts make of an ARC validation: the
 * arc= result of Authentication-Results (RFC 8617 6), the DMARC report
 * comment (7.2.2), the trusted-sealer test for DMARC local policy
 * (7.2.1), and the AAR a forwarder copies from its own
 * Authentication-Results fields (4.1.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc/arc_int.h"

/* Sealing domains listed in arc.chain / the DMARC comment: at most the
 * 50 sets of a chain, each a domain of at most 253 octets. */
#define MS_ARC_REPORT_MAX ((size_t)64 * 1024)

mailsec_err
mailsec_arc_authres_add(struct mailsec_authres *ar,
    const struct mailsec_arc_verify *ctx, const char *remote_ip)
{
	const struct mailsec_arc_outcome *o;
	struct ms_buf chain;
	char num[16];
	size_t i;
	mailsec_err err;

	if (ar == NULL || ctx == NULL || !mailsec_arc_verify_done(ctx))
		return MAILSEC_EINVAL;
	o = mailsec_arc_verify_outcome(ctx);
	if ((err = mailsec_authres_add_result(ar, "arc",
	    mailsec_arc_result_name(o->result))) != MAILSEC_OK)
		return err;
	if (o->result == MAILSEC_ARC_FAIL &&
	    (err = mailsec_authres_set_reason(ar, o->reason_text)) !=
	    MAILSEC_OK)
		return err;
	if (o->result == MAILSEC_ARC_PASS && o->oldest_pass >= 0) {
		snprintf(num, sizeof num, "%d", o->oldest_pass);
		if ((err = mailsec_authres_add_prop(ar, "header",
		    "oldest-pass", num, NULL)) != MAILSEC_OK)
			return err;
	}
	if (remote_ip != NULL && (err = mailsec_authres_add_prop(ar, "smtp",
	    "remote-ip", remote_ip, NULL)) != MAILSEC_OK)
		return err;
	if (o->result != MAILSEC_ARC_PASS)
		return MAILSEC_OK;
	/* arc.chain: the sealers, oldest first (the message's path). */
	ms_buf_init(&chain, MS_ARC_REPORT_MAX);
	for (i = 0; i < o->nsets; i++)
		if ((err = ms_buf_printf(&chain, "%s%.*s", i ? ":" : "",
		    (int)o->sets[i].seal_domain.len,
		    o->sets[i].seal_domain.ptr)) != MAILSEC_OK)
			return err;
	err = mailsec_authres_add_prop(ar, "arc", "chain",
	    chain.ptr != NULL ? chain.ptr : "", NULL);
	ms_buf_free(&chain);
	return err;
}

/* The smtp.remote-ip of an AAR value, or NULL (free()). */
static char *
aar_remote_ip(struct mailsec_str aar)
{
	struct mailsec_authres *m = NULL;
	char *ip = NULL;
	size_t i, k;

	if (mailsec_authres_parse(aar.ptr, aar.len, MAILSEC_AUTHRES_AAR, &m,
	    NULL) != MAILSEC_OK)
		return NULL;
	for (i = 0; i < m->nresults && ip == NULL; i++)
		for (k = 0; k < m->results[i].nprops; k++) {
			const struct mailsec_authres_prop *p =
			    &m->results[i].props[k];

			if (strcmp(p->ptype, "smtp") == 0 &&
			    strcmp(p->property, "remote-ip") == 0) {
				ip = strdup(p->value);
				break;
			}
		}
	mailsec_authres_free(m);
	return ip;
}

mailsec_err
mailsec_arc_dmarc_comment(const struct mailsec_arc_verify *ctx, char **out)
{
	const struct mailsec_arc_outcome *o;
	struct ms_buf b;
	char *ip = NULL;
	size_t i;
	mailsec_err err;

	if (ctx == NULL || out == NULL)
		return MAILSEC_EINVAL;
	o = mailsec_arc_verify_outcome(ctx);
	ms_buf_init(&b, MS_ARC_REPORT_MAX);
	if ((err = ms_buf_printf(&b, "arc=%s",
	    mailsec_arc_result_name(o->result))) != MAILSEC_OK)
		return err;
	for (i = o->nsets; i > 0; i--) {
		const struct mailsec_arc_set_info *s = &o->sets[i - 1];

		if (s->seal_domain.len == 0)
			continue;
		if ((err = ms_buf_printf(&b, " as[%u].d=%.*s as[%u].s=%.*s",
		    s->instance, (int)s->seal_domain.len, s->seal_domain.ptr,
		    s->instance, (int)s->seal_selector.len,
		    s->seal_selector.ptr)) != MAILSEC_OK)
			return err;
	}
	if (o->nsets > 0 && o->sets[0].aar.len > 0 &&
	    (ip = aar_remote_ip(o->sets[0].aar)) != NULL) {
		err = ms_buf_printf(&b, " remote-ip[1]=%s", ip);
		free(ip);
		if (err != MAILSEC_OK)
			return err;
	}
	if ((*out = ms_buf_steal(&b, NULL)) == NULL)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
}

/* Domain equality for configuration: case-insensitive, one final dot on
 * either side ignored. */
static bool
same_domain(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen > 0 && a[alen - 1] == '.')
		alen--;
	if (blen > 0 && b[blen - 1] == '.')
		blen--;
	return ms_ascii_eq(a, alen, b, blen);
}

bool
mailsec_arc_trusted(const struct mailsec_arc_verify *ctx,
    const char *const *trusted, size_t n)
{
	const struct mailsec_arc_outcome *o;
	const struct mailsec_arc_set_info *s;
	size_t i;

	if (ctx == NULL || trusted == NULL || !mailsec_arc_verify_done(ctx))
		return false;
	o = mailsec_arc_verify_outcome(ctx);
	if (o->result != MAILSEC_ARC_PASS || o->nsets == 0)
		return false;
	s = &o->sets[o->nsets - 1];
	for (i = 0; i < n; i++)
		if (trusted[i] != NULL && same_domain(s->seal_domain.ptr,
		    s->seal_domain.len, trusted[i]))
			return true;
	return false;
}

/* Appends result r (and what it carries) to m. */
static mailsec_err
copy_result(struct mailsec_authres *m, const struct mailsec_authres_result *r)
{
	size_t k;
	mailsec_err err;

	if ((err = mailsec_authres_add_result(m, r->method, r->result)) !=
	    MAILSEC_OK)
		return err;
	if (r->reason != NULL &&
	    (err = mailsec_authres_set_reason(m, r->reason)) != MAILSEC_OK)
		return err;
	if (r->comment != NULL &&
	    (err = mailsec_authres_set_comment(m, r->comment)) != MAILSEC_OK)
		return err;
	for (k = 0; k < r->nprops; k++)
		if ((err = mailsec_authres_add_prop(m, r->props[k].ptype,
		    r->props[k].property, r->props[k].value,
		    r->props[k].comment)) != MAILSEC_OK)
			return err;
	return MAILSEC_OK;
}

mailsec_err
mailsec_arc_aar_collect(const struct mailsec_msg *msg,
    const char *authserv_id, struct mailsec_authres **out,
    struct mailsec_diag *diag)
{
	struct mailsec_authres *m = NULL, *one;
	const struct mailsec_header *h;
	size_t i, k, seen = 0;
	mailsec_err err = MAILSEC_OK;

	if (msg == NULL || authserv_id == NULL || out == NULL)
		return MAILSEC_EINVAL;
	*out = NULL;
	for (i = mailsec_authres_msg_find(msg, authserv_id, 0);
	    i != (size_t)-1 && err == MAILSEC_OK;
	    i = mailsec_authres_msg_find(msg, authserv_id, i + 1)) {
		seen++;
		h = mailsec_msg_field(msg, i);
		one = NULL;
		if (mailsec_authres_parse(h->value.ptr, h->value.len, 0, &one,
		    NULL) != MAILSEC_OK)
			continue;	/* unusable: skipped */
		if (m == NULL)
			err = mailsec_authres_new(one->authserv_id, &m);
		for (k = 0; err == MAILSEC_OK && k < one->nresults; k++)
			err = copy_result(m, &one->results[k]);
		mailsec_authres_free(one);
	}
	if (err != MAILSEC_OK) {
		mailsec_authres_free(m);
		return err;
	}
	if (m == NULL)
		return ms_diag(diag, MAILSEC_ENOTFOUND, 0, 0, seen == 0 ?
		    "no Authentication-Results field of %s" :
		    "no Authentication-Results field of %s parses",
		    authserv_id);
	*out = m;
	return MAILSEC_OK;
}
