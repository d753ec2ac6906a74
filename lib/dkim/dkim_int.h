/*
 * lib/dkim/dkim_int.h - DKIM internals shared by the files of lib/dkim:
 * canonicalization (RFC 6376 3.4), base64, signature parsing (3.5).
 */
#ifndef MS_DKIM_INT_H
#define MS_DKIM_INT_H

#include <stdint.h>

#include <openssl/evp.h>

#include <mailsec/dkim.h>

#include "core/core.h"
#include "core/tagvalue.h"

/* RFC 6376 3.5: l= is 1*76DIGIT, t= and x= 1*12DIGIT; we refuse what
 * does not fit 64 bits. */
#define MS_DKIM_MAX_SIG_B64	2048	/* b= / bh= base64 (16384-bit RSA) */
#define MS_DKIM_MAX_KEY_B64	4096	/* p= base64 */
#define MS_DKIM_DEFAULT_MAX_SIGS	8
#define MS_DKIM_DEFAULT_MAX_H	256
#define MS_DKIM_MAX_HEADER_TRACE	(1024 * 1024)

/* ---- canonicalization -------------------------------------------------- */

/* Appends the canonical form of one raw header field (name through CRLF)
 * to out, ending in CRLF. */
mailsec_err ms_dkim_canon_header(enum mailsec_dkim_canon c, const char *raw,
    size_t len, struct ms_buf *out);

/* Streaming body canonicalizer + hash (RFC 6376 3.4.3, 3.4.4, 3.4.5). */
struct ms_dkim_body {
	EVP_MD_CTX *md;
	enum mailsec_dkim_canon canon;
	uint64_t limit;		/* l=, or UINT64_MAX */
	uint64_t hashed;	/* bytes given to the hash */
	uint64_t total;		/* canonical length, l= ignored */
	uint64_t crlfs;		/* deferred CRLFs (trailing empty lines) */
	bool cr;		/* a CR seen, its LF not yet */
	bool wsp;		/* relaxed: WSP pending in this line */
	bool in_line;		/* content emitted on this line */
	bool any;		/* anything emitted at all */
	size_t nstage;
	unsigned char stage[4096];
};

mailsec_err ms_dkim_body_init(struct ms_dkim_body *b,
    enum mailsec_dkim_canon c, const EVP_MD *md, uint64_t limit);
mailsec_err ms_dkim_body_update(struct ms_dkim_body *b, const char *p,
    size_t len);
/* Finishes: dig receives the digest (32 bytes for SHA-256). */
mailsec_err ms_dkim_body_final(struct ms_dkim_body *b, unsigned char *dig,
    unsigned *diglen);
void ms_dkim_body_cleanup(struct ms_dkim_body *b);

/* Vector levels of the relaxed body canonicalizer. */
#define MS_SIMD_SCALAR	0
#define MS_SIMD_SSE2	1	/* x86-64 baseline */
#define MS_SIMD_AVX2	2	/* when the CPU has it */
/* Caps the level used from now on (-1: the best the CPU has) and returns
 * the level in effect. For tests and fuzzing; not thread-safe. */
int ms_dkim_canon_simd(int level);

/* ---- base64 ------------------------------------------------------------ */

/* Decodes base64, FWS ignored, padding optional at the end only. Returns
 * the decoded length, or (size_t)-1 when invalid or larger than outsz. */
size_t ms_b64_decode(const char *p, size_t len, unsigned char *out,
    size_t outsz);
/* Appends the base64 of (p, len) to out. */
mailsec_err ms_b64_encode(const unsigned char *p, size_t len,
    struct ms_buf *out);

/* ---- DKIM-Signature ---------------------------------------------------- */

struct ms_dkim_sig {
	struct ms_taglist tags;
	struct mailsec_str domain, selector, identity, alg_text;
	enum mailsec_dkim_algorithm alg;
	enum mailsec_dkim_canon hcanon, bcanon;
	bool has_l;
	uint64_t l;
	int64_t t, x;
	struct mailsec_str h;		/* h= value, as written */
	size_t b_start, b_end;		/* b= tag value span in the value */
	unsigned char bh[64];
	size_t bhlen;
	unsigned char b[1024];
	size_t blen;
	char bh_b64[128];		/* bh= without FWS, NUL-terminated */
	char b_prefix[MAILSEC_DKIM_B_PREFIX_MAX + 1];	/* b= without
					   FWS, cut, NUL-terminated */
	char ident[256];		/* i= after dkim-quoted-printable
					   decoding (RFC 6376 2.11) */
};

/*
 * Parses the value of a DKIM-Signature field (after the colon, raw with
 * folding). On failure returns the reason and fills why (a short text).
 */
enum mailsec_dkim_reason ms_dkim_sig_parse(const char *p, size_t len,
    struct ms_dkim_sig *sig, char *why, size_t whysz);

/* Checks that dom is a syntactically valid domain name ("sub-domain
 * *("." sub-domain)", RFC 6376 3.5 d=), labels <= 63, total <= 253. */
bool ms_dkim_domain_ok(const char *p, size_t len);

/* Parses the public key of a key record for alg. */
mailsec_err ms_dkim_pubkey(enum mailsec_dkim_algorithm type,
    struct mailsec_str p, EVP_PKEY **out);

/*
 * Parses a key record; *pkey (if non-NULL) receives the public key unless
 * revoked or of unknown type. known: the key decoded earlier from this
 * same record (key cache), used instead of decoding p= again.
 */
mailsec_err ms_dkim_record_parse_key(const char *p, size_t len,
    struct mailsec_dkim_record *rec, EVP_PKEY *known, EVP_PKEY **pkey,
    struct mailsec_diag *diag);

/* Key cache (keycache.c). get: true on a live entry. *status says which
 * kind: MAILSEC_DNS_ANSWER, then *text/len view the cached record, *pkey
 * (borrowed, may be NULL) its decoded key, *vctx (owned by the caller,
 * may be NULL) a verification context for it; or NXDOMAIN / NODATA for
 * a negative entry (*text NULL). */
bool ms_dkim_keycache_get(struct mailsec_dkim_keycache *c, const char *name,
    time_t now, const char **text, size_t *len, EVP_PKEY **pkey,
    EVP_MD_CTX **vctx, enum mailsec_dns_status *status);
/* Stores a record (copied) and its key (reference taken) for ttl s. */
void ms_dkim_keycache_put(struct mailsec_dkim_keycache *c, const char *name,
    time_t now, uint32_t ttl, const char *text, size_t len, EVP_PKEY *pkey);
/* Stores "no key here" (NXDOMAIN or NODATA) for the negative TTL; a
 * temporary status is not stored. */
void ms_dkim_keycache_put_negative(struct mailsec_dkim_keycache *c,
    const char *name, time_t now, enum mailsec_dns_status status);

#endif /* MS_DKIM_INT_H */
