/*
 * lib/dkim/keyq.c - one key record lookup, for DKIM verification and
 * both ARC signatures: the key cache first, else a TXT query through the
 * caller's resolver; no record (NXDOMAIN, NODATA, no TXT) is remembered
 * in the cache, a temporary failure is not.
 */
#include <stdio.h>

#include "dkim/dkim_int.h"

bool
ms_dkim_keyq_name(struct ms_dkim_keyq *q, struct mailsec_str sel,
    struct mailsec_str dom)
{
	int n;

	n = snprintf(q->name, sizeof q->name, "%.*s._domainkey.%.*s",
	    (int)sel.len, sel.ptr, (int)dom.len, dom.ptr);
	return n >= 0 && (size_t)n < sizeof q->name;
}

static void
on_answer(void *arg, struct mailsec_dns_result *res)
{
	struct ms_dkim_keyq *q = arg;
	const struct mailsec_dns_rr *rr = NULL;
	EVP_PKEY *pkey = NULL;
	char text[sizeof q->name + 64];
	size_t i;

	q->pending = false;
	if (mailsec_dns_status_is_temporary(res->status)) {
		q->on_fail(q->arg, true, res->why[0] ? res->why :
		    mailsec_dns_status_name(res->status));
		goto done;
	}
	for (i = 0; i < res->count; i++)
		if (res->rrs[i].type == MAILSEC_DNS_TXT) {
			rr = &res->rrs[i];
			break;
		}
	if (res->status != MAILSEC_DNS_ANSWER || rr == NULL) {
		enum mailsec_dns_status st = res->status ==
		    MAILSEC_DNS_ANSWER ? MAILSEC_DNS_NODATA : res->status;

		snprintf(text, sizeof text, "no key record at %s (%s)",
		    q->name, mailsec_dns_status_name(st));
		if (q->cache != NULL)
			ms_dkim_keycache_put_negative(q->cache, q->name,
			    q->now, st);
		q->on_fail(q->arg, false, text);
		goto done;
	}
	if (q->on_record(q->arg, rr->u.txt.data, rr->u.txt.len, NULL, NULL,
	    &pkey) && q->cache != NULL)
		ms_dkim_keycache_put(q->cache, q->name, q->now, rr->ttl,
		    rr->u.txt.data, rr->u.txt.len, pkey);
done:
	mailsec_dns_result_free(res);
}

mailsec_err
ms_dkim_keyq_start(struct ms_dkim_keyq *q)
{
	char text[sizeof q->name + 64];
	mailsec_err err;

	if (q->cache != NULL) {
		const char *rec;
		size_t len;
		EVP_PKEY *known, *pkey;
		EVP_MD_CTX *vctx = NULL;
		enum mailsec_dns_status st;

		if (ms_dkim_keycache_get(q->cache, q->name, q->now, &rec, &len,
		    &known, &vctx, &st)) {
			if (rec != NULL) {
				(void)q->on_record(q->arg, rec, len, known,
				    vctx, &pkey);
				return MAILSEC_OK;
			}
			EVP_MD_CTX_free(vctx);
			snprintf(text, sizeof text, "no key record at %s (%s, "
			    "cached)", q->name, mailsec_dns_status_name(st));
			q->on_fail(q->arg, false, text);
			return MAILSEC_OK;
		}
	}
	err = mailsec_resolver_query(q->r, q->name, MAILSEC_DNS_TXT, on_answer,
	    q, &q->qid);
	if (err == MAILSEC_EINVAL) {
		snprintf(text, sizeof text, "key name %s is not a valid DNS "
		    "name", q->name);
		q->on_fail(q->arg, false, text);
		return MAILSEC_OK;
	}
	if (err != MAILSEC_OK)
		return err;
	q->pending = true;
	return MAILSEC_OK;
}

void
ms_dkim_keyq_cancel(struct ms_dkim_keyq *q)
{
	if (q->pending)
		mailsec_resolver_cancel(q->r, q->qid);
	q->pending = false;
}

mailsec_err
ms_dkim_keyq_wait(struct mailsec_resolver *r)
{
	if (mailsec_resolver_pending(r) == 0)
		return MAILSEC_ESTATE;
	return mailsec_resolver_wait(r, -1);
}
