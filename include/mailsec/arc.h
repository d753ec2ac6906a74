/*
 * mailsec/arc.h - Authenticated Received Chain (RFC 8617): validation of
 * the ARC sets a message carries, and sealing (adding our own set when
 * we forward it).
 *
 * An ARC set is three header fields sharing one instance i= (1..50):
 * ARC-Authentication-Results (AAR: an Authentication-Results payload),
 * ARC-Message-Signature (AMS: a DKIM signature over the message) and
 * ARC-Seal (AS: a signature over the ARC sets 1..i, relaxed header
 * canonicalization, no body).
 *
 * Validation (RFC 8617 5.2) has the shape of DKIM verification: feed the
 * header fields, end the header block (the chain's structure is checked
 * and key lookups start), feed the body in chunks (hashed as they arrive
 * for the AMS), end the message; the outcome is final once
 * mailsec_arc_verify_done() says so. mailsec_arc_verify_msg() is the
 * synchronous wrapper. Every failure has a reason (an enum for programs,
 * a text for humans naming the instance and field); structure errors
 * fail closed, and so do DNS failures (5.2.1: all failures permanent).
 *
 * Sealing (RFC 8617 5.1) is incremental too, and needs the chain
 * validation status of the same message (the AS cv=) and an
 * Authentication-Results model for the new AAR.
 *
 * Keys are the DKIM ones (struct mailsec_dkim_key; RSA and Ed25519) and
 * key records are fetched and cached as for DKIM.
 */
#ifndef MAILSEC_ARC_H
#define MAILSEC_ARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <mailsec/err.h>
#include <mailsec/str.h>
#include <mailsec/dns.h>
#include <mailsec/msg.h>
#include <mailsec/dkim.h>
#include <mailsec/authres.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Instances run from 1 to this (RFC 8617 4.2.1); a chain with more sets
 * fails (5.2 step 1) and cannot be sealed again. */
#define MAILSEC_ARC_MAX_INSTANCE 50

/* Chain validation status (RFC 8617 4.4), also the arc= result of
 * Authentication-Results (10.1) and the cv= of an ARC-Seal. */
enum mailsec_arc_result {
	MAILSEC_ARC_NONE = 0,	/* no ARC set on the message */
	MAILSEC_ARC_PASS,
	MAILSEC_ARC_FAIL
};

/* Why a chain is not "pass" (or MAILSEC_ARC_R_OK). */
enum mailsec_arc_reason {
	MAILSEC_ARC_R_OK = 0,
	MAILSEC_ARC_R_NO_CHAIN,		/* none: no ARC header field */
	MAILSEC_ARC_R_LIMIT,		/* an instance above 50 (5.2 step 1) */
	MAILSEC_ARC_R_INSTANCE,		/* i= missing or not 1..50, or the
					   field's tag list is malformed so
					   its instance is unknown */
	MAILSEC_ARC_R_CHAIN_FAILED,	/* the newest AS says cv=fail
					   (5.2 step 2) */
	MAILSEC_ARC_R_DUPLICATE,	/* two AARs, AMSs or ASs with one
					   instance (5.2 step 3.A) */
	MAILSEC_ARC_R_MISSING,		/* a set lacks its AAR, AMS or AS
					   (3.A), or instances have a gap
					   (3.B) */
	MAILSEC_ARC_R_CV,		/* cv= not none at i=1 or not pass
					   above (3.C) */
	MAILSEC_ARC_R_AMS_TAG,		/* the newest AMS is not a valid
					   signature field (tags) */
	MAILSEC_ARC_R_SEAL_TAG,		/* an AS is not a valid seal: a tag
					   missing or bad, h= present (4.1.3) */
	MAILSEC_ARC_R_KEY,		/* a key: lookup failed (even
					   temporarily, 5.2.1), no record,
					   bad or unusable record */
	MAILSEC_ARC_R_AMS,		/* the newest AMS did not verify:
					   body hash or signature (step 4) */
	MAILSEC_ARC_R_SEAL		/* an AS did not verify (step 6) */
};

/* "none", "pass", "fail". */
MAILSEC_API const char *mailsec_arc_result_name(enum mailsec_arc_result r);
/* Short token: "ok", "no-chain", "limit", "instance", "chain-failed",
 * "duplicate", "missing", "cv", "ams-tag", "seal-tag", "key", "ams",
 * "seal". */
MAILSEC_API const char *mailsec_arc_reason_name(enum mailsec_arc_reason r);

/* Outcome of one signature (AMS or AS) of a set. */
enum mailsec_arc_check {
	MAILSEC_ARC_UNCHECKED = 0,	/* not evaluated (structure failed
					   first, or not needed) */
	MAILSEC_ARC_CHECK_PASS,
	MAILSEC_ARC_CHECK_FAIL
};

/* "unchecked", "pass", "fail". */
MAILSEC_API const char *mailsec_arc_check_name(enum mailsec_arc_check c);

/* One ARC set as found; views point into the validation context and
 * live as long as it. Index fields are header positions (0 = topmost
 * field fed), SIZE_MAX when the set has no such field. */
struct mailsec_arc_set_info {
	unsigned instance;
	size_t aar_index, ams_index, seal_index;
	struct mailsec_str aar;		/* the AAR value (after the colon
					   and its WSP; folding kept) */
	enum mailsec_arc_result cv;	/* AS cv= (NONE when unparsed) */
	struct mailsec_str seal_domain;	/* AS d= (empty if unparsed) */
	struct mailsec_str seal_selector;	/* AS s= */
	struct mailsec_str ams_domain;	/* AMS d= */
	struct mailsec_str ams_selector;	/* AMS s= */
	enum mailsec_arc_check ams;	/* AMS verified? */
	enum mailsec_arc_check seal;	/* AS verified? */
	const char *ams_text;		/* why, NUL-terminated ("" before) */
	const char *seal_text;
};

/* The chain's outcome; views live as long as the context. */
struct mailsec_arc_outcome {
	enum mailsec_arc_result result;
	enum mailsec_arc_reason reason;
	const char *reason_text;	/* for humans, NUL-terminated: the
					   instance and field at fault */
	unsigned fail_instance;		/* the set the failure is about,
					   0 when none or not one set */
	unsigned instances;		/* N, the highest valid instance
					   found (0: no chain) */
	int oldest_pass;		/* 5.2 step 5: 0 when every AMS
					   verifies, M + 1 when AMS M is the
					   newest that does not; -1 when the
					   chain did not pass (or step 5
					   was skipped) */
	const struct mailsec_arc_set_info *sets; /* sets[k] has instance
					   k + 1, k < nsets (== instances) */
	size_t nsets;
};

/* ---- validation -------------------------------------------------------- */

/* Settings; a zero field takes the default shown. */
struct mailsec_arc_verify_opts {
	time_t now;		/* validation time (0: time(NULL) at
				   creation); for AMS x= */
	long clock_skew;	/* seconds of tolerance for x= (default
				   300; negative: none) */
	bool skip_oldest_pass;	/* do not verify the older AMSs (5.2 step
				   5 is optional; oldest_pass is then -1) */
	struct mailsec_dkim_keycache *key_cache;	/* NULL: none */
};

struct mailsec_arc_verify;

/*
 * Creates a validation context. r is retained (not owned) for key
 * lookups and must outlive the context; opts may be NULL.
 * MAILSEC_EINVAL (r or out NULL), MAILSEC_ENOMEM.
 */
MAILSEC_API mailsec_err mailsec_arc_verify_new(struct mailsec_resolver *r,
    const struct mailsec_arc_verify_opts *opts,
    struct mailsec_arc_verify **out);

/* Frees ctx (cancelling its pending lookups); NULL is a no-op. */
MAILSEC_API void mailsec_arc_verify_free(struct mailsec_arc_verify *ctx);

/*
 * Feeds one header field: raw bytes from the name through the final CRLF
 * (folding included), in message order. The bytes are copied.
 * MAILSEC_ELIMIT past 1000 fields or 1 MiB of header.
 */
MAILSEC_API mailsec_err mailsec_arc_verify_header(
    struct mailsec_arc_verify *ctx, const char *raw, size_t len);

/*
 * Ends the header block: collects the ARC sets and checks the chain's
 * structure (5.2 steps 1 to 3; a failure there is final at once, with
 * no DNS query), then starts the key lookups and the body hashers.
 * Returns MAILSEC_ENOMEM or MAILSEC_ESTATE only.
 */
MAILSEC_API mailsec_err mailsec_arc_verify_eoh(
    struct mailsec_arc_verify *ctx);

/* Feeds body bytes (CRLF form), any chunking. */
MAILSEC_API mailsec_err mailsec_arc_verify_body(
    struct mailsec_arc_verify *ctx, const char *p, size_t len);

/* Ends the body. The outcome is final once every key has arrived. */
MAILSEC_API mailsec_err mailsec_arc_verify_eom(
    struct mailsec_arc_verify *ctx);

/* True once the outcome is final (after eom and every key lookup; the
 * caller drives the resolver meanwhile). */
MAILSEC_API bool mailsec_arc_verify_done(
    const struct mailsec_arc_verify *ctx);

/* The outcome (final once _done(); before, result is NONE). */
MAILSEC_API const struct mailsec_arc_outcome *mailsec_arc_verify_outcome(
    const struct mailsec_arc_verify *ctx);

/*
 * Synchronous: creates a context, feeds msg, waits on r until done.
 * The caller frees *out with mailsec_arc_verify_free().
 */
MAILSEC_API mailsec_err mailsec_arc_verify_msg(struct mailsec_resolver *r,
    const struct mailsec_arc_verify_opts *opts,
    const struct mailsec_msg *msg, struct mailsec_arc_verify **out);

/* ---- reporting --------------------------------------------------------- */

/*
 * Appends the arc= result of a finished validation to an
 * Authentication-Results model (RFC 8617 6): "arc=pass" with
 * header.oldest-pass (when determined), smtp.remote-ip (when remote_ip is
 * non-NULL) and arc.chain, the sealing domains from instance 1 up,
 * colon-separated; a fail carries the reason text as reason=.
 * MAILSEC_EINVAL (NULL ar or ctx, or not done), MAILSEC_ELIMIT,
 * MAILSEC_ENOMEM.
 */
MAILSEC_API mailsec_err mailsec_arc_authres_add(struct mailsec_authres *ar,
    const struct mailsec_arc_verify *ctx, const char *remote_ip);

/*
 * The DMARC report comment of RFC 8617 7.2.2 ("arc=pass as[2].d=...
 * as[2].s=... as[1].d=... as[1].s=... remote-ip[1]=..."; remote-ip from
 * the smtp.remote-ip of AAR 1 when it has one) into *out (free()).
 */
MAILSEC_API mailsec_err mailsec_arc_dmarc_comment(
    const struct mailsec_arc_verify *ctx, char **out);

/*
 * True when the chain passed and the newest set was sealed by one of
 * the n domains in trusted (ASCII case-insensitive, a final dot
 * ignored): the condition for MAILSEC_DMARC_LOCAL_TRUSTED_ARC.
 */
MAILSEC_API bool mailsec_arc_trusted(const struct mailsec_arc_verify *ctx,
    const char *const *trusted, size_t n);

/* ---- sealing ----------------------------------------------------------- */

/* Flags for struct mailsec_arc_seal_opts. */
#define MAILSEC_ARC_SEAL_SORTED	0x1u	/* write every tag of the AMS and
					   AS in alphabetical order, i=
					   among them (the ARC test suite's
					   standard form, dkimpy's
					   "standardize"); default: i=
					   first, as the ABNF of RFC 8617
					   4.1.2 and 4.1.3 has it */

struct mailsec_arc_seal_opts {
	const struct mailsec_dkim_key *key;	/* borrowed; RSA or Ed25519 */
	const char *domain;			/* d= of AMS and AS */
	const char *selector;			/* s= of AMS and AS */
	enum mailsec_dkim_algorithm algorithm;	/* 0: from the key */
	/* AMS h=: colon-separated field names, each signed once as
	 * listed; NULL: the DKIM default list plus DKIM-Signature,
	 * over-signed. ARC fields and Authentication-Results are refused
	 * (RFC 8617 4.1.2 MUST NOT). From is required. */
	const char *headers;
	enum mailsec_dkim_canon header_canon;	/* AMS c= (default relaxed) */
	enum mailsec_dkim_canon body_canon;
	bool canon_set;				/* use the two above */
	time_t timestamp;			/* t= (0: time(NULL), taken
						   once) */
	unsigned flags;				/* MAILSEC_ARC_SEAL_* */
};

struct mailsec_arc_seal;

/*
 * Creates a sealing context for one message. Option strings are copied;
 * the key is retained and must outlive the context. MAILSEC_EINVAL
 * (with diag: no key, domain or selector, bad names, a header list that
 * names ARC fields or Authentication-Results or lacks From, algorithm
 * not the key's), MAILSEC_ENOMEM.
 */
MAILSEC_API mailsec_err mailsec_arc_seal_new(
    const struct mailsec_arc_seal_opts *opts, struct mailsec_arc_seal **out,
    struct mailsec_diag *diag);

/* Frees ctx; NULL is a no-op. */
MAILSEC_API void mailsec_arc_seal_free(struct mailsec_arc_seal *ctx);

/* Feeds one header field (raw, name through CRLF), in message order.
 * Fields the AMS signs and ARC fields are copied (MAILSEC_ELIMIT past
 * 1000 of them or 1 MiB). */
MAILSEC_API mailsec_err mailsec_arc_seal_header(struct mailsec_arc_seal *ctx,
    const char *raw, size_t len);

/* Ends the header block. MAILSEC_EINVAL (with diag) when no From field
 * was fed. */
MAILSEC_API mailsec_err mailsec_arc_seal_eoh(struct mailsec_arc_seal *ctx,
    struct mailsec_diag *diag);

/* Feeds body bytes (CRLF form), any chunking. */
MAILSEC_API mailsec_err mailsec_arc_seal_body(struct mailsec_arc_seal *ctx,
    const char *p, size_t len);

/*
 * Ends the body and makes the new ARC set (RFC 8617 5.1): instance N+1
 * (N the highest instance on the message), the AAR from aar (its
 * authserv-id and results; its instance field is ignored), the AMS over
 * the message, the AS over the chain with cv=chain. chain is the
 * validation status of this same message (mailsec_arc_verify_outcome()
 * ->result): PASS needs a well-formed chain, NONE a message without ARC
 * fields (else MAILSEC_EINVAL); with FAIL the seal covers only the new
 * set (5.1.2).
 *
 * *out receives "ARC-Seal: ...\r\nARC-Message-Signature: ...\r\n
 * ARC-Authentication-Results: ...\r\n" (free()), to prepend to the
 * message, and *len (if non-NULL) its length. When the newest ARC-Seal
 * already says cv=fail there is nothing to add (5.1 step 2): *out is
 * NULL and the call returns MAILSEC_OK.
 *
 * Errors: MAILSEC_ELIMIT (the new instance would pass 50), MAILSEC_EINVAL
 * (with diag: see above; an AAR model the generator refuses),
 * MAILSEC_ESTATE (out of order), MAILSEC_ENOMEM.
 */
MAILSEC_API mailsec_err mailsec_arc_seal_eom(struct mailsec_arc_seal *ctx,
    enum mailsec_arc_result chain, const struct mailsec_authres *aar,
    char **out, size_t *len, struct mailsec_diag *diag);

/* Seals msg in one call (a context fed msg); see _eom(). */
MAILSEC_API mailsec_err mailsec_arc_seal_msg(
    const struct mailsec_arc_seal_opts *opts, const struct mailsec_msg *msg,
    enum mailsec_arc_result chain, const struct mailsec_authres *aar,
    char **out, size_t *len, struct mailsec_diag *diag);

/*
 * The AAR a forwarder copies (RFC 8617 4.1.1: one AAR with every result
 * of the ADMD): every Authentication-Results field of msg carrying
 * authserv_id (mailsec_authres_is_ours()), parsed, their results
 * concatenated in field order into one model for authserv_id (*out:
 * mailsec_authres_free()). Fields that do not parse are skipped.
 * MAILSEC_ENOTFOUND (with diag) when no field carries authserv_id.
 */
MAILSEC_API mailsec_err mailsec_arc_aar_collect(const struct mailsec_msg *msg,
    const char *authserv_id, struct mailsec_authres **out,
    struct mailsec_diag *diag);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_ARC_H */
