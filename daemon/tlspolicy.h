/*
 * daemon/tlspolicy.h - the TLS policy of a destination for outbound
 * delivery: MTA-STS (RFC 8461: the TXT record, the policy fetched over
 * HTTPS, cached and persisted), DANE (RFC 7672: TLSA records from
 * DNSSEC-validated answers, verified with OpenSSL's DANE support) and
 * TLS-RPT (RFC 8460: each session's outcome recorded, daily reports).
 *
 * One context is shared by the delivery threads (a mutex inside guards
 * the caches); a resolver is not, so lookups take the calling thread's
 * own. docs/delivery.md, "TLS policy", has the rules.
 */
#ifndef GW_TLSPOLICY_H
#define GW_TLSPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include <mailsec/err.h>

struct mailsec_resolver;
struct tlsp_ctx;

struct tlsp_cfg {
	bool mta_sts;			/* look up and enforce MTA-STS */
	bool dane;			/* look up and enforce DANE */
	bool tlsrpt;			/* record results, send reports */
	const char *cache_dir;		/* STATE_DIR/tls: policies, results */
	const char *ca_file;		/* trust anchors, NULL: the system's */
	uint16_t https_port;		/* policy fetch port; 0: 443 */
	const char *reporting_org;	/* TLS-RPT organization-name */
	const char *reporting_contact;	/* TLS-RPT contact-info */
};

/* Creates the context (cfg copied; cached policies loaded from
 * cache_dir). Errors: MAILSEC_EIO (cache_dir), MAILSEC_ENOMEM. */
mailsec_err tlsp_new(struct tlsp_ctx **out, const struct tlsp_cfg *cfg);
void tlsp_free(struct tlsp_ctx *t);

/* Added: the clock of the caches and reports (tests move it); NULL
 * restores time(). */
void tlsp_set_clock(struct tlsp_ctx *t, int64_t (*now)(void *), void *arg);

enum tlsp_sts {
	TLSP_STS_NONE = 0,		/* no policy: opportunistic */
	TLSP_STS_TESTING,		/* report failures, deliver anyway */
	TLSP_STS_ENFORCE		/* valid certificate and MX match, or
					 * defer */
};

/* A destination domain's MTA-STS policy (owned copy). */
struct tlsp_domain {
	enum tlsp_sts sts;
	char **mx_patterns;		/* "mail.example.org",
					 * "*.example.net" */
	size_t nmx;
	char *policy_id;		/* the TXT record's id= */
	char *rua;			/* TLS-RPT rua of the domain, or NULL */
	uint32_t max_age;		/* the policy's max_age (added: the
					 * TLS-RPT policy-string) */
};

/*
 * The MTA-STS policy of domain: cached while the TXT id= is unchanged
 * and max_age has not passed; a failed refresh keeps a cached unexpired
 * policy (RFC 8461 5.1). MAILSEC_OK with sts NONE when the domain has no
 * policy; an error (err says why) only when a policy is known to exist
 * and cannot be had; the caller then defers.
 */
mailsec_err tlsp_domain_policy(struct tlsp_ctx *t, struct mailsec_resolver *res,
    const char *domain, struct tlsp_domain *out, char *err, size_t errlen);
void tlsp_domain_free(struct tlsp_domain *d);

/* Whether mx_host matches one of the policy's mx patterns (RFC 8461 4.1);
 * true when the policy is NONE. */
bool tlsp_mx_allowed(const struct tlsp_domain *d, const char *mx_host);

/* One TLSA record (RFC 6698). */
struct tlsp_tlsa {
	uint8_t usage;
	uint8_t selector;
	uint8_t mtype;
	unsigned char *data;
	size_t len;
};

/*
 * DANE for one MX host, from the TLSA answer at _PORT._tcp.host (port 0:
 * 25). secure: the answer is DNSSEC-secure and holds TLSA records, usable
 * or not; STARTTLS is then mandatory (RFC 7672 2.2: a secure TLSA RRset
 * says the server does TLS), the certificate checked against the records
 * only when usable: some record has a usage, selector and matching type
 * of RFC 7672 3.1 (otherwise TLS without authentication). bogus: the
 * validation failed (the caller defers). An insecure answer or a denial:
 * all false, no DANE. Only the TLSA answer's secure bit is checked here:
 * the caller asks only for hosts whose MX and address answers were
 * secure too (docs/delivery.md, "DANE"). A TLSA lookup that timed out
 * or failed: MAILSEC_ETIMEOUT / MAILSEC_EDNS (the host is unusable for
 * now: next MX, or defer).
 */
struct tlsp_dane {
	bool secure;			/* a secure, non-empty TLSA RRset:
					 * TLS required */
	bool usable;			/* ... with a usable record: TLS
					 * authenticated by it */
	bool bogus;
	struct tlsp_tlsa *tlsa;
	size_t n;
};
mailsec_err tlsp_dane_lookup(struct tlsp_ctx *t, struct mailsec_resolver *res,
    const char *mx_host, uint16_t port, struct tlsp_dane *out);
void tlsp_dane_free(struct tlsp_dane *d);

/*
 * Added: makes ctx (the delivery threads' client SSL_CTX) able to do
 * DANE (SSL_CTX_dane_enable). Call once, before SSL objects are made
 * from it; tlsp_ssl_prepare() with a usable DANE policy fails
 * (MAILSEC_EINVAL) on an SSL of a context that skipped it.
 * MAILSEC_EUNSUPPORTED when OpenSSL refuses.
 */
mailsec_err tlsp_ssl_ctx_init(SSL_CTX *ctx);

/*
 * Prepares ssl for the handshake with mx_host: SNI, and the verification
 * the policy needs (DANE: SSL_dane_enable and the TLSA records; MTA-STS:
 * the chain to the trust anchors and the name mx_host; none: no
 * verification). d and dane may be NULL.
 */
mailsec_err tlsp_ssl_prepare(struct tlsp_ctx *t, SSL *ssl, const char *mx_host,
    const struct tlsp_domain *d, const struct tlsp_dane *dane);

/*
 * After the handshake: MAILSEC_OK when the policy is met (or only
 * opportunistic); otherwise err says why ("certificate verify failed:
 * ...", "no TLSA record matched") and *result_type has the RFC 8460
 * result type; the caller defers (MTA-STS testing: reports, goes on).
 */
mailsec_err tlsp_ssl_check(SSL *ssl, const struct tlsp_domain *d,
    const struct tlsp_dane *dane, const char **result_type, char *err,
    size_t errlen);

/*
 * TLS-RPT: records one session's outcome for domain (ok, or the RFC 8460
 * result type: "starttls-not-supported", "certificate-host-mismatch",
 * "certificate-expired", "certificate-not-trusted", "validation-failure",
 * "tlsa-invalid", "dnssec-invalid", "sts-policy-fetch-error",
 * "sts-webpki-invalid", ...). mx_host is the MX host tried; ip the
 * address connected to, NULL when there was none (a failure found before
 * connecting: an MX host the policy does not allow, bogus TLSA records).
 */
void tlsp_report_result(struct tlsp_ctx *t, const char *domain,
    const struct tlsp_domain *d, const struct tlsp_dane *dane,
    const char *mx_host, const char *ip, bool ok, const char *result_type);

/* Receives one finished TLS-RPT report: rua is "mailto:..." or
 * "https://..."; json_gz its gzip'd JSON body. */
typedef mailsec_err tlsp_send_fn(void *arg, const char *domain,
    const char *rua, const char *filename, const void *json_gz, size_t len);

/*
 * Builds the RFC 8460 reports of every whole UTC day before now that has
 * recorded results and not been reported yet, one per domain with a rua,
 * and hands each to send (an https: rua is POSTed here when send is
 * NULL). Marks them sent. For the daily job and `mailsec tlsrpt send`.
 */
mailsec_err tlsp_reports_run(struct tlsp_ctx *t, struct mailsec_resolver *res,
    int64_t now, tlsp_send_fn *send, void *arg);

#endif /* GW_TLSPOLICY_H */
