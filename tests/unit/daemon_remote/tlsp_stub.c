/*
 * tests/unit/daemon_remote/tlsp_stub.c - stand-ins for daemon/tlspolicy.h
 * while daemon/tlspolicy.c has not landed: the remote tests run with
 * tls == NULL, so none of these is ever called; they only link.
 */
#include <stdlib.h>

#include "tlspolicy.h"

mailsec_err
tlsp_domain_policy(struct tlsp_ctx *t, struct mailsec_resolver *res,
    const char *domain, struct tlsp_domain *out, char *err, size_t errlen)
{
	(void)t; (void)res; (void)domain; (void)err; (void)errlen;
	(void)out;
	abort();
}

void
tlsp_domain_free(struct tlsp_domain *d)
{
	(void)d;
	abort();
}

bool
tlsp_mx_allowed(const struct tlsp_domain *d, const char *mx_host)
{
	(void)d; (void)mx_host;
	abort();
}

mailsec_err
tlsp_dane_lookup(struct tlsp_ctx *t, struct mailsec_resolver *res,
    const char *mx_host, uint16_t port, struct tlsp_dane *out)
{
	(void)t; (void)res; (void)mx_host; (void)port; (void)out;
	abort();
}

void
tlsp_dane_free(struct tlsp_dane *d)
{
	(void)d;
	abort();
}

mailsec_err
tlsp_ssl_prepare(struct tlsp_ctx *t, SSL *ssl, const char *mx_host,
    const struct tlsp_domain *d, const struct tlsp_dane *dane)
{
	(void)t; (void)ssl; (void)mx_host; (void)d; (void)dane;
	abort();
}

mailsec_err
tlsp_ssl_check(SSL *ssl, const struct tlsp_domain *d,
    const struct tlsp_dane *dane, const char **result_type, char *err,
    size_t errlen)
{
	(void)ssl; (void)d; (void)dane; (void)result_type; (void)err;
	(void)errlen;
	abort();
}

void
tlsp_report_result(struct tlsp_ctx *t, const char *domain,
    const struct tlsp_domain *d, const struct tlsp_dane *dane,
    const char *mx_host, const char *ip, bool ok, const char *result_type)
{
	(void)t; (void)domain; (void)d; (void)dane; (void)mx_host; (void)ip;
	(void)ok; (void)result_type;
	abort();
}
