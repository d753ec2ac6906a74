/*
 * mailsec/mtasts.h - MTA-STS (RFC 8461) as a sending MTA reads it: the
 * TXT record at _mta-sts.<domain> (3.1), the policy file served at
 * https://mta-sts.<domain>/.well-known/mta-sts.txt (3.2), MX host
 * pattern matching (4.1); and the TLS-RPT record at _smtp._tls.<domain>
 * (RFC 8460 3) that says where reports about the domain go.
 *
 * Pure parsers: no I/O. The linter (mailsec/record.h) explains what is
 * wrong with such records; these say what a sender does with them, and
 * share the linter's line, id, max_age and mx rules (lib/record/
 * mtasts_int.h) so the two never disagree about what is valid.
 */
#ifndef MAILSEC_MTASTS_H
#define MAILSEC_MTASTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/err.h>
#include <mailsec/record.h>

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 8461 3.1: sts-id = 1*32(ALPHA / DIGIT). */
#define MAILSEC_MTASTS_ID_MAX 32
/* RFC 8461 3.3: a policy body larger than 64 KiB may be refused. */
#define MAILSEC_MTASTS_POLICY_MAX 65536
/* mx: lines one parsed policy may hold (the 64 KiB body fits a few
 * thousand; more than this is refused, MAILSEC_ELIMIT). */
#define MAILSEC_MTASTS_POLICY_MX_MAX 1024
/* RFC 8460 3: rua URIs kept from one TLS-RPT record. */
#define MAILSEC_TLSRPT_RUA_MAX 16

/* The TXT record (RFC 8461 3.1). */
struct mailsec_mtasts_txt {
	char id[MAILSEC_MTASTS_ID_MAX + 1];	/* NUL-terminated */
};

/*
 * Parses one TXT record (its strings joined): "v=STSv1" first
 * (case-sensitive), then "id=" of 1 to 32 letters and digits; other
 * fields are extensions and ignored (their names and values must still
 * be well-formed). MAILSEC_ESYNTAX with diag (offset) otherwise;
 * MAILSEC_ELIMIT for a record over MAILSEC_MTASTS_POLICY_MAX bytes.
 */
MAILSEC_API mailsec_err mailsec_mtasts_txt_parse(const char *p, size_t len,
    struct mailsec_mtasts_txt *out, struct mailsec_diag *diag);

/* The policy file (RFC 8461 3.2). */
struct mailsec_mtasts_policy {
	char version[8];		/* "STSv1" */
	enum mailsec_mtasts_mode mode;	/* enforce, testing or none */
	uint32_t max_age;		/* seconds, 0..31557600 */
	char **mx;			/* patterns, lowercase, no final dot:
					   "mail.example.org",
					   "*.example.net" */
	size_t nmx;
};

/*
 * Parses a policy body (at most MAILSEC_MTASTS_POLICY_MAX bytes):
 * "key: value" lines ended by CRLF or a bare LF (RFC 8461 3.2 writes
 * CRLF; senders tolerate LF), the last line's end optional, empty lines
 * skipped, white space after ':' and at the end of a value ignored.
 * Keys are case-sensitive. version (STSv1), mode and max_age are
 * required, once each; mx may repeat and is required unless mode is
 * none; other keys are extensions and ignored. MAILSEC_ESYNTAX (diag:
 * line and offset) for anything else, MAILSEC_ELIMIT (too long, too
 * many mx), MAILSEC_ENOMEM. *out: mailsec_mtasts_policy_free().
 */
MAILSEC_API mailsec_err mailsec_mtasts_policy_parse(const char *p,
    size_t len, struct mailsec_mtasts_policy **out,
    struct mailsec_diag *diag);

/* NULL is a no-op. */
MAILSEC_API void mailsec_mtasts_policy_free(struct mailsec_mtasts_policy *pol);

/*
 * RFC 8461 4.1: whether host (an MX host name, a final dot ignored)
 * matches pattern: equal without regard to ASCII case, or, for
 * "*.rest", host is exactly one label followed by ".rest" ("*." stands
 * for one whole leftmost label, never more, never none).
 */
MAILSEC_API bool mailsec_mtasts_mx_match(const char *pattern,
    const char *host);

/*
 * RFC 8461 3.1: whether p[0..n) is an sts-id, 1*32(ALPHA / DIGIT)
 * (at most MAILSEC_MTASTS_ID_MAX characters).
 */
MAILSEC_API bool mailsec_mtasts_id_ok(const char *p, size_t n);

/*
 * Parses a TLS-RPT record (RFC 8460 3): "v=TLSRPTv1" first, then
 * "rua=" with comma-separated URIs. mailto: and https: URIs are kept
 * (white space around each trimmed), others skipped; none left is
 * MAILSEC_ESYNTAX. *rua (NUL-terminated copies) and *nrua:
 * mailsec_tlsrpt_rua_free().
 */
MAILSEC_API mailsec_err mailsec_tlsrpt_txt_parse(const char *p, size_t len,
    char ***rua, size_t *nrua, struct mailsec_diag *diag);
MAILSEC_API void mailsec_tlsrpt_rua_free(char **rua, size_t nrua);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_MTASTS_H */
