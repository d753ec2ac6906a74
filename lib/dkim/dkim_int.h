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

/* Vector levels of the relaxed body canonicalizer. */
#define MS_SIMD_SCALAR	0
#define MS_SIMD_SSE2	1	/* x86-64 baseline */
#define MS_SIMD_AVX2	2	/* when the CPU has it */

/* The relaxed fast path of one vector level (lib/dkim/canon.c). */
typedef size_t ms_dkim_relaxed_copy_fn(const char *p, size_t n, size_t lim,
    char *out, size_t *used);

/* Streaming body canonicalizer + hash (RFC 6376 3.4.3, 3.4.4, 3.4.5). */
struct ms_dkim_body {
	EVP_MD_CTX *md;
	enum mailsec_dkim_canon canon;
	int simd;		/* vector level in use (MS_SIMD_*) */
	ms_dkim_relaxed_copy_fn *copy;	/* the relaxed fast path for it */
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

/* Sets the vector level b uses (ms_dkim_body_init() chose the best the
 * CPU has): level, capped by the CPU; -1 for the best. Returns the level
 * in effect. For tests and fuzzing, which force each level; it touches
 * b only, and may be called between updates. */
int ms_dkim_body_set_simd(struct ms_dkim_body *b, int level);

/* ---- base64 ------------------------------------------------------------ */

/* Decodes base64, FWS ignored, padding optional at the end only (core's
 * decoder, MS_B64_FWS). Returns the decoded length, or (size_t)-1 when
 * invalid or larger than outsz. */
#define ms_b64_decode(p, len, out, outsz) \
	ms_base64_decode((p), (len), MS_B64_FWS, (out), (outsz))
/* Appends the base64 of (p, len) to out (core's ms_base64_encode). */
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
	unsigned instance;		/* AMS: i= */
};

/* What the signature parser reads. */
enum ms_dkim_sig_mode {
	MS_DKIM_SIG_DKIM = 0,	/* DKIM-Signature (RFC 6376 3.5) */
	/* ARC-Message-Signature (RFC 8617 4.1.2): no v= (one present is
	 * ignored); i= is the instance (1 to 50, checked first), not an
	 * AUID; h= must not name ARC-Seal. */
	MS_DKIM_SIG_AMS
};

/*
 * Parses the value of a signature field (after the colon, raw with
 * folding) as mode says. On failure returns the reason and fills why (a
 * short text).
 */
enum mailsec_dkim_reason ms_dkim_sig_parse(const char *p, size_t len,
    enum ms_dkim_sig_mode mode, struct ms_dkim_sig *sig, char *why,
    size_t whysz);

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

/* ---- header fields and the header hash input (hdata.c) ----------------- */

/* A header field as signers and verifiers see it. */
struct ms_dkim_field {
	const char *raw;	/* name through CRLF */
	size_t len;
	size_t namelen;		/* name without WSP before the colon */
	size_t colon;		/* offset of the ':', len when none */
};

/* Fills f for the field (raw, len) (borrowed). */
void ms_dkim_field_set(struct ms_dkim_field *f, const char *raw, size_t len);

/* Header fields kept by a context, each copied, up to max_n fields and
 * max_bytes bytes (MAILSEC_ELIMIT past either). */
struct ms_dkim_fields {
	struct ms_dkim_field *f;
	size_t n, cap, bytes;
	size_t max_n, max_bytes;
};

void ms_dkim_fields_init(struct ms_dkim_fields *fs, size_t max_n,
    size_t max_bytes);
/* Appends a copy of the field (raw, len); its view is *out if non-NULL. */
mailsec_err ms_dkim_fields_add(struct ms_dkim_fields *fs, const char *raw,
    size_t len, struct ms_dkim_field **out);
/* How many fields are named name. */
size_t ms_dkim_fields_count(const struct ms_dkim_fields *fs, const char *name,
    size_t len);
void ms_dkim_fields_free(struct ms_dkim_fields *fs);

/* Texts of h= (without FWS) longer than this are refused. */
#define MS_DKIM_MAX_H_TEXT	8192

/*
 * Appends the signature field sig with its b= value (bytes b_start..b_end
 * of its value, after the colon) removed, canonicalized by c, without its
 * final CRLF (RFC 6376 3.7).
 */
mailsec_err ms_dkim_canon_sig(enum mailsec_dkim_canon c,
    const struct ms_dkim_field *sig, size_t b_start, size_t b_end,
    struct ms_buf *out);

/*
 * Appends the header hash input of a signature (RFC 6376 5.4.2 and 3.7):
 * the fields of f[0..n) the names of h (colon-separated, FWS allowed)
 * select, each name taking the next instance from the bottom up (a name
 * with no instance left adds nothing), canonicalized by c, then sig as
 * ms_dkim_canon_sig() does. More than max_names names, or an h= longer
 * than MS_DKIM_MAX_H_TEXT: MAILSEC_ELIMIT with *too_many set (when
 * non-NULL); other errors are out's.
 */
mailsec_err ms_dkim_header_data(const struct ms_dkim_field *f, size_t n,
    struct mailsec_str h, size_t max_names, enum mailsec_dkim_canon c,
    const struct ms_dkim_field *sig, size_t b_start, size_t b_end,
    struct ms_buf *out, bool *too_many);

/* ---- signatures over the header hash input ----------------------------- */

/* lib/dkim/key.c: a signing context for the key, ready for
 * EVP_DigestSign (EVP_MD_CTX_free it); NULL on failure. */
EVP_MD_CTX *ms_dkim_key_sign_ctx(const struct mailsec_dkim_key *key);

/* Signs data with key for alg (RFC 6376 5.5; RFC 8463 3: Ed25519 signs
 * the SHA-256 of the data) and appends the signature's base64 to b64. */
mailsec_err ms_dkim_sign_data(const struct mailsec_dkim_key *key,
    enum mailsec_dkim_algorithm alg, const char *data, size_t len,
    struct ms_buf *b64);

/* Checks sig (blen bytes) over data with pkey for alg. prepared: a
 * verification context for pkey made earlier (key cache), consumed, or
 * NULL. *ok says whether it verified; MAILSEC_ENOMEM when no context. */
mailsec_err ms_dkim_sig_check(enum mailsec_dkim_algorithm alg, EVP_PKEY *pkey,
    EVP_MD_CTX *prepared, const unsigned char *sig, size_t blen,
    const char *data, size_t dlen, bool *ok);

/* ---- one signature to make (sign.c) ------------------------------------ */

/* The settings of a DKIM signature or an ARC-Message-Signature: checked,
 * copied, the header list split; h= is built when the header ends. */
struct ms_dkim_hname {
	const char *p;
	size_t len;
};

struct ms_dkim_signer {
	struct mailsec_dkim_sign_opts o;	/* strings: copies in strs */
	char *strs;
	enum mailsec_dkim_algorithm alg;
	enum mailsec_dkim_canon hc, bc;
	struct ms_dkim_hname *names;
	size_t nnames;
	bool oversign;		/* default list: each name n+1 times */
	time_t t;		/* t= written and hashed */
	struct ms_buf hl;	/* h= built at the end of the header */
};

/*
 * Checks o and copies what it keeps. ams: an ARC-Message-Signature (RFC
 * 8617 4.1.2): no i=; the default list adds DKIM-Signature; a list naming
 * ARC fields or Authentication-Results is refused. MAILSEC_EINVAL with
 * diag, MAILSEC_ENOMEM; ms_dkim_signer_cleanup() in any case.
 */
mailsec_err ms_dkim_signer_init(struct ms_dkim_signer *s,
    const struct mailsec_dkim_sign_opts *o, bool ams,
    struct mailsec_diag *diag);
void ms_dkim_signer_cleanup(struct ms_dkim_signer *s);
/* Does the header list name this field? */
bool ms_dkim_signer_wants(const struct ms_dkim_signer *s, const char *name,
    size_t len);
/* Builds h= (colon-separated, lower case) over the kept fields. */
mailsec_err ms_dkim_signer_build_h(struct ms_dkim_signer *s,
    const struct ms_dkim_fields *fs, struct mailsec_diag *diag);
/* Signs the signature field sig (b= empty: its value ends at b_at, an
 * offset in the value) over the kept fields; appends b='s base64. */
mailsec_err ms_dkim_signer_sign(const struct ms_dkim_signer *s,
    const struct ms_dkim_fields *fs, const struct ms_dkim_field *sig,
    size_t b_at, struct ms_buf *b64);

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

/* ---- key record lookups (keyq.c) -------------------------------------- */

/* What a lookup found: a record (text, len; known: its key decoded
 * before, vctx: a verification context for it, owned by the callee, both
 * from the cache, may be NULL). Returns true when the record was usable;
 * then *cache (may be NULL) is the key stored with it in the cache. */
typedef bool ms_dkim_keyq_record_fn(void *arg, const char *text, size_t len,
    EVP_PKEY *known, EVP_MD_CTX *vctx, EVP_PKEY **cache);
/* No record: temporary (timeout, SERVFAIL: text is the DNS layer's
 * detail) or not (no key: text says so, naming the key). */
typedef void ms_dkim_keyq_fail_fn(void *arg, bool temporary,
    const char *text);

/* One key record lookup (RFC 6376 3.6.2.2): the key cache, else DNS. */
struct ms_dkim_keyq {
	char name[600];			/* selector._domainkey.domain */
	struct mailsec_resolver *r;
	struct mailsec_dkim_keycache *cache;	/* may be NULL */
	time_t now;
	ms_dkim_keyq_record_fn *on_record;
	ms_dkim_keyq_fail_fn *on_fail;
	void *arg;
	uint64_t qid;
	bool pending;			/* a DNS query out */
};

/* Sets q->name for (sel, dom); false when too long. */
bool ms_dkim_keyq_name(struct ms_dkim_keyq *q, struct mailsec_str sel,
    struct mailsec_str dom);
/* Starts the lookup of q->name: from the cache (a callback runs before
 * this returns) or DNS (when the answer comes). A name DNS refuses goes
 * to on_fail; other resolver errors are returned. */
mailsec_err ms_dkim_keyq_start(struct ms_dkim_keyq *q);
/* Cancels the DNS query, if one is out. */
void ms_dkim_keyq_cancel(struct ms_dkim_keyq *q);
/* Waits for the resolver's next answer (the one-call verifiers' loop):
 * MAILSEC_ESTATE when nothing is pending, so a context cannot progress. */
mailsec_err ms_dkim_keyq_wait(struct mailsec_resolver *r);

#endif /* MS_DKIM_INT_H */
