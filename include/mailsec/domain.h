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
 * MAILSEC_DOMAIN_MAX). Accepts LDH labels (plus '_', which DKIM and DMARC
 * names use: "_dmarc.example.org"), UTF-8 U-labels and A-labels
 * ("xn--", checked by libidn2); refuses (MAILSEC_ESYNTAX, with diag) empty
 * names, empty labels, labels starting or ending with '-', labels over
 * 63 octets, names over 253 (both after conversion), bytes that are
 * neither LDH nor UTF-8, and labels IDNA2008 disallows. A single final dot
 * is removed; "." alone is refused. Address literals ("[192.0.2.1]") are
 * not domains: refused. MAILSEC_EINVAL: out NULL, outsz too small, or p
 * NULL with len > 0. On any error out is "" (when out is usable).
 * *outlen (if non-NULL) receives strlen(out).
 */
MAILSEC_API mailsec_err mailsec_domain_normalize(const char *p, size_t len,
    char *out, size_t outsz, size_t *outlen, struct mailsec_diag *diag);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_DOMAIN_H */
