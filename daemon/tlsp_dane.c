/*
 * daemon/tlsp_dane.c - DANE for SMTP (RFC 7672, over RFC 6698 and the
 * RFC 7218 acronyms) and the handshake side of every policy: the TLSA
 * lookup at _<port>._tcp.<mx_host>, used only when the answer is
 * DNSSEC-secure; the SSL set up before the handshake (OpenSSL's DANE
 * support, or the MTA-STS chain and name checks) and the outcome checked
 * after it, with the RFC 8460 result type of a failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <mailsec/dns.h>

#include "core/core.h"
#include "tlsp_int.h"

/* RFC 7218 / RFC 6698 7.2-7.4 values. */
#define DANE_TA		2	/* DANE-TA: a trust anchor of the chain */
#define DANE_EE		3	/* DANE-EE: the server's certificate */
#define SEL_CERT	0
#define SEL_SPKI	1
#define MT_FULL		0
#define MT_SHA256	1
#define MT_SHA512	2
/* TLSA records taken from one answer. */
#define DANE_TLSA_MAX	64

/*
 * RFC 7672 3.1: for SMTP only DANE-TA(2) and DANE-EE(3) are usable
 * (PKIX-TA(0) and PKIX-EE(1) are not); selectors Cert(0) and SPKI(1);
 * matching types Full(0), SHA2-256(1), SHA2-512(2) with data of the
 * right length (RFC 6698 2.1.3).
 */
static bool
tlsa_usable(const struct tlsp_tlsa *r)
{
	if (r->usage != DANE_TA && r->usage != DANE_EE)
		return false;
	if (r->selector != SEL_CERT && r->selector != SEL_SPKI)
		return false;
	switch (r->mtype) {
	case MT_FULL:
		return r->len > 0;
	case MT_SHA256:
		return r->len == 32;
	case MT_SHA512:
		return r->len == 64;
	default:
		return false;
	}
}

void
tlsp_dane_free(struct tlsp_dane *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		free(d->tlsa[i].data);
	free(d->tlsa);
	memset(d, 0, sizeof *d);
}

mailsec_err
tlsp_dane_lookup(struct tlsp_ctx *t, struct mailsec_resolver *res,
    const char *mx_host, uint16_t port, struct tlsp_dane *out)
{
	struct mailsec_dns_result *r = NULL;
	const struct mailsec_dns_rr *rr;
	struct tlsp_tlsa *x;
	char host[TLSP_NAME_MAX + 1], name[TLSP_NAME_MAX + 16];
	mailsec_err err = MAILSEC_OK;
	size_t i;

	memset(out, 0, sizeof *out);
	if (t == NULL || res == NULL || !tlsp_name_norm(mx_host, host))
		return MAILSEC_EINVAL;
	if (!t->dane)
		return MAILSEC_OK;
	(void)snprintf(name, sizeof name, "_%u._tcp.%s",
	    port != 0 ? port : 25, host);
	if ((err = mailsec_dns_lookup(res, name, MAILSEC_DNS_TLSA, &r)) !=
	    MAILSEC_OK)
		return err;
	if (r->bogus) {
		/* RFC 7672 2.1.1: a validation failure is not "no DANE" */
		out->bogus = true;
		goto done;
	}
	if (mailsec_dns_status_is_temporary(r->status)) {
		/* unknown whether DANE applies: the host is unusable now
		 * (RFC 7672 2.2), the caller tries another or defers */
		err = r->status == MAILSEC_DNS_TIMEOUT ? MAILSEC_ETIMEOUT :
		    MAILSEC_EDNS;
		goto done;
	}
	/* insecure answers and denials say nothing: no DANE (2.2) */
	if (!r->secure || r->status != MAILSEC_DNS_ANSWER)
		goto done;
	if ((out->tlsa = ms_calloc(r->count < DANE_TLSA_MAX ? r->count :
	    DANE_TLSA_MAX, sizeof *out->tlsa)) == NULL && r->count > 0) {
		err = MAILSEC_ENOMEM;
		goto done;
	}
	for (i = 0; i < r->count && out->n < DANE_TLSA_MAX; i++) {
		rr = &r->rrs[i];
		if (rr->type != MAILSEC_DNS_TLSA)
			continue;
		x = &out->tlsa[out->n];
		x->usage = rr->u.tlsa.usage;
		x->selector = rr->u.tlsa.selector;
		x->mtype = rr->u.tlsa.mtype;
		x->len = rr->u.tlsa.len;
		if (x->len > 0) {
			if ((x->data = malloc(x->len)) == NULL) {
				err = MAILSEC_ENOMEM;
				goto done;
			}
			memcpy(x->data, rr->u.tlsa.data, x->len);
		}
		out->n++;
		if (tlsa_usable(x))
			out->usable = true;
	}
	/* RFC 7672 2.2: a secure TLSA RRset, even one without a usable
	 * record, means the server does TLS: never plaintext to it */
	out->secure = out->n > 0;
done:
	mailsec_dns_result_free(r);
	if (err != MAILSEC_OK)
		tlsp_dane_free(out);
	return err;
}

/* ---- the handshake ------------------------------------------------------ */

mailsec_err
tlsp_ssl_ctx_init(SSL_CTX *ctx)
{
	if (ctx == NULL)
		return MAILSEC_EINVAL;
	if (SSL_CTX_dane_enable(ctx) <= 0) {
		ERR_clear_error();
		return MAILSEC_EUNSUPPORTED;
	}
	return MAILSEC_OK;
}

mailsec_err
tlsp_ssl_prepare(struct tlsp_ctx *t, SSL *ssl, const char *mx_host,
    const struct tlsp_domain *d, const struct tlsp_dane *dane)
{
	char host[TLSP_NAME_MAX + 1];
	const struct tlsp_tlsa *x;
	size_t i, added = 0;

	if (t == NULL || ssl == NULL || !tlsp_name_norm(mx_host, host))
		return MAILSEC_EINVAL;
	if (SSL_set_tlsext_host_name(ssl, host) != 1)
		goto fail;
	if (dane != NULL && dane->usable) {
		/* needs SSL_CTX_dane_enable() on the context
		 * (tlsp_ssl_ctx_init); mx_host is the TLSA base domain and
		 * the name DANE-TA chains are checked against (RFC 7672
		 * 3.2.2) */
		if (SSL_dane_enable(ssl, host) <= 0)
			goto fail;
		/* RFC 7672 3.1.1: DANE-EE ignores names and dates */
		(void)SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
		for (i = 0; i < dane->n; i++) {
			x = &dane->tlsa[i];
			if (!tlsa_usable(x))
				continue;
			if (SSL_dane_tlsa_add(ssl, x->usage, x->selector,
			    x->mtype, x->data, x->len) > 0)
				added++;
		}
		ERR_clear_error();
		if (added == 0)
			return MAILSEC_EINVAL;
		if (SSL_set_min_proto_version(ssl, TLS1_2_VERSION) != 1)
			goto fail;
		/* a failed match ends the handshake: nothing is sent;
		 * tlsp_ssl_check() says why */
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
		return MAILSEC_OK;
	}
	if (d != NULL && d->sts != TLSP_STS_NONE) {
		/* RFC 8461 4.2: a chain to a trusted root, the name of the
		 * MX host (wildcards only as a whole leftmost label) */
		if (SSL_set1_host(ssl, host) != 1 ||
		    SSL_set1_verify_cert_store(ssl, t->store) != 1 ||
		    SSL_set_min_proto_version(ssl, TLS1_2_VERSION) != 1)
			goto fail;
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		/* enforce: a bad certificate ends the handshake; testing:
		 * the chain is still verified, tlsp_ssl_check() reports */
		SSL_set_verify(ssl, d->sts == TLSP_STS_ENFORCE ?
		    SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
		return MAILSEC_OK;
	}
	/* opportunistic: encryption without authentication (RFC 7435) */
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	return MAILSEC_OK;
fail:
	ERR_clear_error();
	return MAILSEC_EINVAL;
}

/* The RFC 8460 4.3 result type of a failed verification. */
static const char *
verify_result_type(long v, bool dane)
{
	switch (v) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return "certificate-host-mismatch";
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "certificate-expired";
	case X509_V_ERR_DANE_NO_MATCH:
		/* no record of the RRset matched this server */
		return "tlsa-invalid";
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		return dane ? "validation-failure" : "certificate-not-trusted";
	default:
		return "validation-failure";
	}
}

mailsec_err
tlsp_ssl_check(SSL *ssl, const struct tlsp_domain *d,
    const struct tlsp_dane *dane, const char **result_type, char *err,
    size_t errlen)
{
	bool use_dane = dane != NULL && dane->usable;
	long v;

	*result_type = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (!use_dane && (d == NULL || d->sts == TLSP_STS_NONE))
		return MAILSEC_OK;
	/* a verification that failed under SSL_VERIFY_PEER ended the
	 * handshake before the certificate was kept: the result is still
	 * there, and says why */
	v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	if (v == X509_V_OK && (ssl == NULL ||
	    SSL_get0_peer_certificate(ssl) == NULL)) {
		*result_type = "validation-failure";
		tlsp_errf(err, errlen, "no server certificate (handshake "
		    "failed)");
		return MAILSEC_EIO;
	}
	if (use_dane) {
		/* a TLSA record matched (authority >= 0) and the chain
		 * built with it verified */
		if (v == X509_V_OK &&
		    SSL_get0_dane_authority(ssl, NULL, NULL) >= 0)
			return MAILSEC_OK;
		*result_type = verify_result_type(v, true);
		if (v == X509_V_ERR_DANE_NO_MATCH)
			tlsp_errf(err, errlen, "no TLSA record matched the "
			    "server's certificate");
		else
			tlsp_errf(err, errlen, "certificate verify failed: "
			    "%s", v == X509_V_OK ? "no TLSA authority" :
			    X509_verify_cert_error_string(v));
		return MAILSEC_EIO;
	}
	if (v == X509_V_OK)
		return MAILSEC_OK;
	*result_type = verify_result_type(v, false);
	tlsp_errf(err, errlen, "certificate verify failed: %s",
	    X509_verify_cert_error_string(v));
	return MAILSEC_EIO;
}
