/*
 * daemon/tls.h - the gateway's TLS server context (RFC 3207 STARTTLS,
 * RFC 8314 implicit TLS): TLS 1.2 or newer, the configured certificate
 * chain and key, and a self-signed certificate generated into the state
 * directory when none is configured (tls.generate).
 */
#ifndef GW_TLS_H
#define GW_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include <mailsec/err.h>

#include "config.h"

/* Validity of a generated certificate. */
#define TLS_GEN_DAYS	825

/*
 * Writes a self-signed certificate (EC P-256, SHA-256, CN and
 * subjectAltName host) to cfg->tls.cert and its key to cfg->tls.key
 * (mode 0600; each written to a temporary file, fsync'd and renamed)
 * when cfg->tls.generate is set and either file is missing. *made says
 * whether it did. err (errlen) says why on failure (MAILSEC_EIO,
 * MAILSEC_ENOMEM).
 */
mailsec_err tls_generate(const struct gw_config *cfg, const char *host,
    int *made, char *err, size_t errlen);

/*
 * A server context from cfg->tls: minimum version, ciphers, the chain
 * and key (checked against each other), no renegotiation, compression
 * off, buffers released when idle (memory per idle session).
 */
mailsec_err tls_ctx_new(const struct gw_config *cfg, SSL_CTX **out,
    char *err, size_t errlen);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384" for the log and the envelope. */
void tls_describe(const SSL *ssl, char *out, size_t outsz);

#endif /* GW_TLS_H */
