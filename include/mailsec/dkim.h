/*
 * mailsec/dkim.h - DKIM signatures: verification and signing
 * (RFC 6376; RFC 8301 algorithm and key-size rules; RFC 8463 Ed25519).
 *
 * Verification is an incremental state machine (DESIGN.md, principle 1):
 * feed header fields, then body chunks (the body hashes are computed as
 * the chunks arrive; nothing is buffered), then end the message. Key
 * lookups go through the resolver as soon as the header block is
 * complete; results are final once mailsec_dkim_verify_done() says so.
 * mailsec_dkim_verify_msg() is the synchronous wrapper.
 *
 * Every DKIM-Signature field gets its own result (up to a cap), in header
 * order. Nothing here prints; reasons are text for humans and the
 * mailsec_dkim_reason enum for programs.
 */
#ifndef MAILSEC_DKIM_H
#define MAILSEC_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <mailsec/err.h>
#include <mailsec/str.h>
#include <mailsec/dns.h>
#include <mailsec/msg.h>
#include <mailsec/authres.h>

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 8601 2.7.1 dkim= results. */
enum mailsec_dkim_result {
	MAILSEC_DKIM_NONE = 0,		/* not evaluated (yet) */
	MAILSEC_DKIM_PASS,
	MAILSEC_DKIM_FAIL,
	MAILSEC_DKIM_NEUTRAL,
	MAILSEC_DKIM_TEMPERROR,
	MAILSEC_DKIM_PERMERROR,
	MAILSEC_DKIM_POLICY
};

/* Why a signature did not pass (or MAILSEC_DKIM_R_OK). */
enum mailsec_dkim_reason {
	MAILSEC_DKIM_R_OK = 0,
	MAILSEC_DKIM_R_SYNTAX,		/* signature tag list malformed */
	MAILSEC_DKIM_R_VERSION,		/* v= missing or not 1 */
	MAILSEC_DKIM_R_MISSING_TAG,	/* a required tag is absent */
	MAILSEC_DKIM_R_BAD_TAG,		/* a tag's value is invalid */
	MAILSEC_DKIM_R_ALGORITHM,	/* a= unknown */
	MAILSEC_DKIM_R_SHA1,		/* rsa-sha1 (RFC 8301 3.1) */
	MAILSEC_DKIM_R_FROM_UNSIGNED,	/* h= lacks From (RFC 6376 5.4) */
	MAILSEC_DKIM_R_IDENTITY,	/* i= not within d= */
	MAILSEC_DKIM_R_EXPIRED,		/* x= in the past */
	MAILSEC_DKIM_R_FUTURE,		/* t= in the future */
	MAILSEC_DKIM_R_LIMIT,		/* more signatures than the cap */
	MAILSEC_DKIM_R_KEY_TEMP,	/* DNS temporary failure */
	MAILSEC_DKIM_R_NO_KEY,		/* NXDOMAIN / NODATA */
	MAILSEC_DKIM_R_KEY_SYNTAX,	/* key record malformed */
	MAILSEC_DKIM_R_KEY_REVOKED,	/* empty p= */
	MAILSEC_DKIM_R_KEY_MISMATCH,	/* k=, h= or s= of the key
					   do not allow this signature */
	MAILSEC_DKIM_R_KEY_STRICT,	/* t=s and i= in a subdomain */
	MAILSEC_DKIM_R_KEY_SHORT,	/* RSA key < 1024 bits (RFC 8301) */
	MAILSEC_DKIM_R_BODY_HASH,	/* body hash did not verify */
	MAILSEC_DKIM_R_SIGNATURE	/* signature did not verify */
};

/* "pass", "fail", ... ("none" for NONE). */
MAILSEC_API const char *mailsec_dkim_result_name(enum mailsec_dkim_result r);
/* Short token for a reason: "ok", "syntax", "body-hash", ... */
MAILSEC_API const char *mailsec_dkim_reason_name(enum mailsec_dkim_reason r);

enum mailsec_dkim_algorithm {
	MAILSEC_DKIM_ALG_UNKNOWN = 0,
	MAILSEC_DKIM_RSA_SHA1,		/* parsed, never accepted */
	MAILSEC_DKIM_RSA_SHA256,
	MAILSEC_DKIM_ED25519_SHA256
};

enum mailsec_dkim_canon {
	MAILSEC_DKIM_SIMPLE = 0,
	MAILSEC_DKIM_RELAXED
};

/* "rsa-sha256", ... ("unknown"); "simple" / "relaxed". */
MAILSEC_API const char *mailsec_dkim_algorithm_name(
    enum mailsec_dkim_algorithm a);
MAILSEC_API const char *mailsec_dkim_canon_name(enum mailsec_dkim_canon c);

/* ---- verification ------------------------------------------------------ */

/*
 * A cache of key records and their decoded keys, by selector and domain,
 * each kept for its DNS TTL (at most a day; TTL 0 is not cached).
 * Negative answers (NXDOMAIN, NODATA: no key record) are kept for the
 * negative TTL (see below); temporary failures never. Shared by any
 * number of verification contexts of one thread; it must outlive them.
 */
struct mailsec_dkim_keycache;

/* max_entries 0 takes the default (4096); the oldest entry makes room. */
MAILSEC_API mailsec_err mailsec_dkim_keycache_new(size_t max_entries,
    struct mailsec_dkim_keycache **out);
MAILSEC_API void mailsec_dkim_keycache_free(struct mailsec_dkim_keycache *c);
/*
 * How long a "no key record" answer is kept: seconds, at most 3600 (more
 * is taken as 3600); 0 keeps none. Default 60. (RFC 2308 would take the
 * zone's SOA minimum; the DNS layer's results do not carry it.)
 */
MAILSEC_API void mailsec_dkim_keycache_set_negative_ttl(
    struct mailsec_dkim_keycache *c, uint32_t seconds);
/* Entries held (negative ones included), and lookups answered from the
 * cache since creation. */
MAILSEC_API size_t mailsec_dkim_keycache_count(
    const struct mailsec_dkim_keycache *c);
MAILSEC_API uint64_t mailsec_dkim_keycache_hits(
    const struct mailsec_dkim_keycache *c);

/* Hard limits and settings; a zero field takes the default shown. */
struct mailsec_dkim_verify_opts {
	size_t max_signatures;	/* signatures evaluated (default 8); later
				   ones get permerror, reason "limit" */
	size_t max_h_fields;	/* names in h= (default 256) */
	long clock_skew;	/* seconds of tolerance for t= and x=
				   (default 300; negative: none) */
	time_t now;		/* verification time (0: time(NULL) at
				   creation) */
	bool keep_trace;	/* keep canonicalized header data for
				   mailsec_dkim_sig_info.canon_headers */
	struct mailsec_dkim_keycache *key_cache;	/* NULL: none */
};

/* Characters of b= kept in mailsec_dkim_sig_info.b_prefix. */
#define MAILSEC_DKIM_B_PREFIX_MAX 32

/* One signature's outcome; views live as long as the context. */
struct mailsec_dkim_sig_info {
	size_t field_index;		/* which header field it came from
					   (0 = topmost field fed) */
	enum mailsec_dkim_result result;
	enum mailsec_dkim_reason reason;
	const char *reason_text;	/* for humans, NUL-terminated */
	struct mailsec_str domain;	/* d= (empty if unparsed) */
	struct mailsec_str selector;	/* s= */
	struct mailsec_str identity;	/* i= (empty if absent) */
	enum mailsec_dkim_algorithm algorithm;
	struct mailsec_str algorithm_text;	/* a= as written */
	enum mailsec_dkim_canon header_canon, body_canon;
	int64_t timestamp;		/* t= or -1 */
	int64_t expiration;		/* x= or -1 */
	bool has_length;		/* l= present */
	uint64_t length;		/* l= value */
	uint64_t body_canon_len;	/* canonicalized body length; bytes
					   beyond l= were not signed */
	bool key_testing;		/* key record has t=y */
	unsigned key_bits;		/* key size, 0 if no key */
	const char *body_hash_claimed;	/* bh= base64, NUL-terminated */
	const char *b_prefix;		/* the first (at most
					   MAILSEC_DKIM_B_PREFIX_MAX) characters
					   of b= without FWS, for
					   Authentication-Results header.b
					   (RFC 6008); "" if unparsed */
	const char *body_hash_computed;	/* base64, or "" before the end */
	struct mailsec_str canon_headers; /* hashed header data (with
					   keep_trace; else empty) */
};

struct mailsec_dkim_verify;

/*
 * Creates a verification context. r is retained (not owned) for key
 * lookups and must outlive the context; opts may be NULL.
 */
MAILSEC_API mailsec_err mailsec_dkim_verify_new(struct mailsec_resolver *r,
    const struct mailsec_dkim_verify_opts *opts,
    struct mailsec_dkim_verify **out);

/* Frees ctx (cancelling its pending lookups); NULL is a no-op. */
MAILSEC_API void mailsec_dkim_verify_free(struct mailsec_dkim_verify *ctx);

/*
 * Feeds one header field: raw bytes from the name through the final CRLF
 * (folding included), in message order. The bytes are copied.
 */
MAILSEC_API mailsec_err mailsec_dkim_verify_header(
    struct mailsec_dkim_verify *ctx, const char *raw, size_t len);

/*
 * Ends the header block: parses each DKIM-Signature, starts the key
 * lookups and the body hashers. Returns MAILSEC_ENOMEM or MAILSEC_ESTATE
 * only; signature problems are per-signature results.
 */
MAILSEC_API mailsec_err mailsec_dkim_verify_eoh(
    struct mailsec_dkim_verify *ctx);

/* Feeds body bytes (CRLF form), any chunking. */
MAILSEC_API mailsec_err mailsec_dkim_verify_body(
    struct mailsec_dkim_verify *ctx, const char *p, size_t len);

/* Ends the body. Results become final when every key has arrived. */
MAILSEC_API mailsec_err mailsec_dkim_verify_eom(
    struct mailsec_dkim_verify *ctx);

/* True once every signature has its final result (after eom and all key
 * lookups answered; the caller drives the resolver meanwhile). */
MAILSEC_API bool mailsec_dkim_verify_done(
    const struct mailsec_dkim_verify *ctx);

/* Number of DKIM-Signature fields seen, and the i-th one's outcome
 * (header order; NULL when out of range). */
MAILSEC_API size_t mailsec_dkim_verify_count(
    const struct mailsec_dkim_verify *ctx);
MAILSEC_API const struct mailsec_dkim_sig_info *mailsec_dkim_verify_sig(
    const struct mailsec_dkim_verify *ctx, size_t i);

/*
 * Appends the dkim= results of a verification to an Authentication-Results
 * model (RFC 8601 2.7.1), one per signature in header order: the result,
 * reason= for anything but pass, then header.d, header.s, header.b (the
 * b_prefix; the generator's b_prefix option shortens it) and header.a.
 * A property whose value is empty or not all visible ASCII is left out.
 * Without signatures: "dkim=none (no signatures)".
 * MAILSEC_EINVAL (NULL ar or ctx), MAILSEC_ELIMIT, MAILSEC_ENOMEM.
 */
MAILSEC_API mailsec_err mailsec_dkim_authres_add(struct mailsec_authres *ar,
    const struct mailsec_dkim_verify *ctx);

/*
 * Synchronous: creates a context, feeds msg, waits on r until done.
 * The caller frees *out with mailsec_dkim_verify_free().
 */
MAILSEC_API mailsec_err mailsec_dkim_verify_msg(struct mailsec_resolver *r,
    const struct mailsec_dkim_verify_opts *opts,
    const struct mailsec_msg *msg, struct mailsec_dkim_verify **out);

/* ---- keys -------------------------------------------------------------- */

/* A private key, parsed once and reused for any number of signatures. */
struct mailsec_dkim_key;

/*
 * Loads a private key: PEM (PKCS#8, or traditional RSA "BEGIN RSA PRIVATE
 * KEY"), or an Ed25519 seed as 32 bytes of base64 (dkimpy's format).
 * RSA keys under 1024 bits are refused (MAILSEC_EUNSUPPORTED, RFC 8301).
 */
MAILSEC_API mailsec_err mailsec_dkim_key_load(const char *p, size_t len,
    struct mailsec_dkim_key **out, struct mailsec_diag *diag);

/* Generates a key: MAILSEC_DKIM_RSA_SHA256 (bits: 1024..8192, 0 = 2048)
 * or MAILSEC_DKIM_ED25519_SHA256 (bits ignored). */
MAILSEC_API mailsec_err mailsec_dkim_key_generate(
    enum mailsec_dkim_algorithm alg, unsigned bits,
    struct mailsec_dkim_key **out);

MAILSEC_API void mailsec_dkim_key_free(struct mailsec_dkim_key *key);

/* The signing algorithm the key implies. */
MAILSEC_API enum mailsec_dkim_algorithm mailsec_dkim_key_algorithm(
    const struct mailsec_dkim_key *key);
MAILSEC_API unsigned mailsec_dkim_key_bits(const struct mailsec_dkim_key *key);

/* PKCS#8 PEM of the private key (free()). */
MAILSEC_API mailsec_err mailsec_dkim_key_pem(const struct mailsec_dkim_key *key,
    char **out, size_t *len);

/* The public key record "v=DKIM1; k=...; p=..." (free()). */
MAILSEC_API mailsec_err mailsec_dkim_key_record(
    const struct mailsec_dkim_key *key, char **out, size_t *len);

/* A parsed key record (RFC 6376 3.6.1). */
struct mailsec_dkim_record {
	bool has_version;
	enum mailsec_dkim_algorithm key_type;	/* RSA_SHA256 for k=rsa,
						   ED25519_SHA256 for ed25519,
						   UNKNOWN for other k= */
	struct mailsec_str key_type_text;	/* k= as written, or "rsa" */
	bool sha256_allowed;	/* h= absent or lists sha256 */
	bool sha1_only;		/* h= lists sha1 and not sha256 */
	bool email_service;	/* s= absent, "*" or lists "email" */
	bool testing;		/* t=y */
	bool strict;		/* t=s */
	bool revoked;		/* p= empty */
	unsigned key_bits;	/* 0 when revoked or undecodable */
	struct mailsec_str notes;	/* n= */
};

/*
 * Parses and checks the key record text (p, len). Errors: MAILSEC_ESYNTAX
 * (malformed tag list, v= not DKIM1, missing p=, undecodable key) with
 * diag. A revoked key (empty p=) is not an error: rec->revoked.
 */
MAILSEC_API mailsec_err mailsec_dkim_record_parse(const char *p, size_t len,
    struct mailsec_dkim_record *rec, struct mailsec_diag *diag);

/* ---- signing ----------------------------------------------------------- */

struct mailsec_dkim_sign_opts {
	const struct mailsec_dkim_key *key;	/* borrowed */
	const char *domain;			/* d= */
	const char *selector;			/* s= */
	const char *identity;			/* i= or NULL */
	enum mailsec_dkim_algorithm algorithm;	/* 0: from the key */
	enum mailsec_dkim_canon header_canon;	/* default relaxed */
	enum mailsec_dkim_canon body_canon;	/* default relaxed */
	bool canon_set;				/* use the two above as
						   given (else relaxed) */
	/* Colon-separated field names to sign, each once as listed; NULL
	 * for the default list, over-signed (each name count+1 times). */
	const char *headers;
	time_t timestamp;			/* t= (0: time(NULL), taken
						   once) */
	long expire_after;			/* x = t + this, 0: no x= */
	bool body_length;			/* write l= (never by default) */
};

/*
 * Incremental signing (the shape of verification): a context for one or
 * more signatures of one message, fed its header fields, then its body
 * in chunks of any size, hashed as they arrive, so a large message is
 * never held whole; only the header fields some signature's list names
 * are kept. Every signature of a context is made over the same message
 * (several domains, or RSA + Ed25519 dual signing); each gets its t=
 * once, at creation (the t= written is the t= hashed).
 */
struct mailsec_dkim_sign;

/*
 * Creates a context for n signatures (1..16), one per opts[i]. Option
 * strings are copied; each key is retained (not owned) and must outlive
 * the context. Errors: MAILSEC_EINVAL (bad options: no key, domain or
 * selector, a bad name, i= outside d=, a header list without From,
 * algorithm not the key's) with diag, MAILSEC_ENOMEM.
 */
MAILSEC_API mailsec_err mailsec_dkim_sign_new(
    const struct mailsec_dkim_sign_opts *opts, size_t n,
    struct mailsec_dkim_sign **out, struct mailsec_diag *diag);

/* Frees ctx; NULL is a no-op. */
MAILSEC_API void mailsec_dkim_sign_free(struct mailsec_dkim_sign *ctx);

/*
 * Feeds one header field: raw bytes from the name through the final CRLF
 * (folding included), in message order. Fields a signature signs are
 * copied (MAILSEC_ELIMIT past 1000 of them or 1 MiB), others skipped.
 */
MAILSEC_API mailsec_err mailsec_dkim_sign_header(
    struct mailsec_dkim_sign *ctx, const char *raw, size_t len);

/* Ends the header block: fixes each h= (the default list over-signs by
 * the counts seen). MAILSEC_EINVAL (with diag) when no From was fed. */
MAILSEC_API mailsec_err mailsec_dkim_sign_eoh(struct mailsec_dkim_sign *ctx,
    struct mailsec_diag *diag);

/* Feeds body bytes (CRLF form), any chunking. */
MAILSEC_API mailsec_err mailsec_dkim_sign_body(struct mailsec_dkim_sign *ctx,
    const char *p, size_t len);

/*
 * Ends the body and makes the signatures: *out receives the
 * "DKIM-Signature: ...\r\n" fields, one per opts in their order (free()),
 * to prepend to the message; *len (if non-NULL) their length.
 * MAILSEC_ESTATE out of order (each call once, in order).
 */
MAILSEC_API mailsec_err mailsec_dkim_sign_eom(struct mailsec_dkim_sign *ctx,
    char **out, size_t *len, struct mailsec_diag *diag);

/*
 * Signs msg in one call (a context for one signature, fed msg): *out
 * receives one "DKIM-Signature: ...\r\n" field (free()), to prepend to
 * the message. The t= written is the t= hashed.
 * Errors: MAILSEC_EINVAL (bad options, no From field), MAILSEC_ENOMEM.
 */
MAILSEC_API mailsec_err mailsec_dkim_sign_msg(
    const struct mailsec_dkim_sign_opts *opts,
    const struct mailsec_msg *msg, char **out, size_t *len,
    struct mailsec_diag *diag);

/* The default signed header names, colon-separated. */
MAILSEC_API const char *mailsec_dkim_default_headers(void);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_DKIM_H */
