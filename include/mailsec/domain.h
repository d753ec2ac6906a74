/*
 * mailsec/domain.h - domain names as the protocols compare them:
 * ASCII-lowercased, final dot removed, U-labels converted to A-labels
 * (IDNA2008 via libidn2, RFC 5891; UTS #46 non-transitional mapping).
 */
#ifndef MAILSEC_DOMAIN_H
#define MAILSEC_DOMAIN_H

#include <stddef.h>

#include <mailsec/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Room for any normalized name: 253 octets and the NUL. */
#define MAILSEC_DOMAIN_MAX 254

/*
 * Normalizes the domain (p, len) into out (NUL-terminated, outsz at least
 * MAILSEC_DOMAIN_MAX). Accepts LDH labels and UTF-8 U-labels; refuses
 * (MAILSEC_ESYNTAX, with diag) empty names, empty labels, labels over 63
 * octets, names over 253, bytes that are neither LDH nor UTF-8, and
 * U-labels IDNA2008 disallows. A single final dot is removed; "." alone
 * is refused. Address literals ("[192.0.2.1]") are not domains: refused.
 * *outlen (if non-NULL) receives strlen(out).
 */
MAILSEC_API mailsec_err mailsec_domain_normalize(const char *p, size_t len,
    char *out, size_t outsz, size_t *outlen, struct mailsec_diag *diag);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_DOMAIN_H */
