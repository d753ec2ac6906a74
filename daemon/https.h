/*
 * daemon/https.h - the HTTPS client over libcurl: the MTA-STS policy
 * file (RFC 8461 3.3) for `mailsec audit` (a struct mailsec_https_client
 * for mailsec_audit_run()) and for outbound delivery (daemon/
 * tlspolicy.c), and the POST of TLS-RPT reports (RFC 8460 5.4).
 *
 * What it enforces: https only, TLS 1.2 or later, the certificate
 * verified against the system CA store (or one CA file) and matched to
 * the host name, no redirects followed (a 3xx comes back as a status),
 * the body capped at the size the library asks for (the transfer is
 * stopped past it), a media type of text/plain on 2xx answers, connect
 * and total timeouts. Names are resolved by the system, or through a
 * mailsec resolver (the audit's own DNS source) whose addresses are
 * pinned for curl, so an offline zone works end to end.
 *
 * Threads: clients may be created, used and freed from any thread (the
 * libcurl global state is set up under a lock); one client is used by
 * one thread at a time, as its resolver is.
 */
#ifndef GW_HTTPS_H
#define GW_HTTPS_H

#include <stddef.h>

#include <mailsec/dns.h>
#include <mailsec/err.h>
#include <mailsec/record.h>

/* Default timeouts: the TCP and TLS connect, the whole transfer. */
#define GW_HTTPS_CONNECT_MS 10000L
#define GW_HTTPS_TOTAL_MS 30000L
/* Addresses of one family handed to curl from a mailsec resolver. */
#define GW_HTTPS_ADDR_MAX 8
/* Longest host name in a URL (RFC 1035 2.3.4, presentation form). */
#define GW_HTTPS_HOST_MAX 253

struct gw_https_opts {
	const char *ca_file;	/* PEM CA bundle trusted instead of the
				   system store; NULL: the system store
				   (ca-certificates) */
	struct mailsec_resolver *resolver;	/* names resolved through
				   it (borrowed; must outlive the client);
				   NULL: the system resolver */
	long connect_ms;	/* 0: GW_HTTPS_CONNECT_MS */
	long total_ms;		/* 0: GW_HTTPS_TOTAL_MS */
};

struct gw_https;

/*
 * Creates a client (libcurl initialized on the first one). o may be NULL
 * (defaults). Errors: MAILSEC_EINVAL (the CA file cannot be read),
 * MAILSEC_EUNSUPPORTED (libcurl without TLS), MAILSEC_ENOMEM, MAILSEC_EIO;
 * why (whysz bytes) says which. *out: gw_https_free().
 */
mailsec_err gw_https_new(const struct gw_https_opts *o,
    struct gw_https **out, char *why, size_t whysz);

/* NULL is a no-op. */
void gw_https_free(struct gw_https *h);

/* Fills c to call gw_https_get() on h (borrowed). */
void gw_https_client(struct gw_https *h, struct mailsec_https_client *c);

/*
 * The get() of struct mailsec_https_client (arg: a struct gw_https).
 * MAILSEC_OK when a response arrived: *status is its HTTP status (3xx
 * included: redirects are not followed), *body (malloc'd, NUL added
 * after *len bytes) its body. Errors, with why filled: MAILSEC_EINVAL
 * (not an https URL with a host name), MAILSEC_ENOTFOUND (the host has
 * no address) or MAILSEC_EDNS (resolution failed) with a resolver,
 * MAILSEC_ELIMIT (body over max bytes), MAILSEC_EUNSUPPORTED (a 2xx
 * answer that is not text/plain), MAILSEC_ETIMEOUT, MAILSEC_EIO
 * (connection, TLS, certificate, HTTP: curl's text), MAILSEC_ENOMEM.
 */
mailsec_err gw_https_get(void *arg, const char *url, size_t max,
    int *status, char **body, size_t *len, char *why, size_t whysz);

/*
 * POSTs (body, len) to url with the given Content-Type (RFC 8460 5.4:
 * "application/tlsrpt+gzip"), same TLS and resolution rules as
 * gw_https_get(); no redirects followed. *status: the HTTP status of the
 * answer (its body is read up to 64 KiB and dropped). Errors as
 * gw_https_get(), why filled.
 */
mailsec_err gw_https_post(struct gw_https *h, const char *url,
    const char *content_type, const void *body, size_t len, int *status,
    char *why, size_t whysz);

#endif /* GW_HTTPS_H */
