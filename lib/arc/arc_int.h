/*
 * lib/arc/arc_int.h - ARC internals shared by the files of lib/arc: the
 * ARC header fields and their instances, the chain's structure (RFC 8617
 * 5.2 steps 1 to 3), ARC-Seal tags (4.1.3), the ARC-Message-Signature as
 * a DKIM signature (4.1.2), and the header hash input of both.
 */
#ifndef MS_ARC_INT_H
#define MS_ARC_INT_H

#include <stdint.h>

#include <mailsec/arc.h>

#include "dkim/dkim_int.h"

/* lib/dkim/key.c: a signing context for the key, ready for
 * EVP_DigestSign (EVP_MD_CTX_free it). Defined there but not declared
 * in dkim_int.h (sign.c declares it the same way). */
EVP_MD_CTX *ms_dkim_key_sign_ctx(const struct mailsec_dkim_key *key);

/* Header fields a context keeps (the DKIM signer's limits). */
#define MS_ARC_MAX_FIELDS	1000
#define MS_ARC_MAX_HEADER	((size_t)1024 * 1024)
#define MS_ARC_WHY		200	/* bytes of a reason text */

/* Writes a reason text (cut to whysz; texts name DNS names and tag
 * values, which may be long). */
void ms_arc_why(char *why, size_t whysz, const char *fmt, ...)
    MS_PRINTF(3, 4);

/* The three ARC header fields (RFC 8617 4.1), in the order the seal
 * hashes them within a set (5.1.1). */
enum ms_arc_kind {
	MS_ARC_AAR = 0,
	MS_ARC_AMS,
	MS_ARC_AS,
	MS_ARC_NKIND
};

/* The kind of a field by its name, or -1 when not an ARC field. */
int ms_arc_kind(const char *name, size_t len);
/* "ARC-Authentication-Results", ... */
const char *ms_arc_kind_name(enum ms_arc_kind k);

/*
 * The instance of an ARC field's value (p, len: after the colon, no
 * final CRLF): "i=N;" first for an AAR (4.1.1), the i= tag of the tag
 * list for an AMS or AS. N is 1*2DIGIT (3.9); 0 is refused here, values
 * above 50 are returned (the chain decides). false with why on failure.
 */
bool ms_arc_instance(enum ms_arc_kind k, const char *p, size_t len,
    unsigned *inst, char *why, size_t whysz);

/* A header field as the chain functions see it. */
struct ms_arc_field {
	const char *raw;	/* name through CRLF */
	size_t len;
	size_t namelen;		/* name without WSP before the colon */
	size_t colon;		/* offset of the ':' */
};

/* The value of a field: after the colon, without the final CRLF. */
struct mailsec_str ms_arc_field_value(const struct ms_arc_field *f);

#define MS_ARC_NOFIELD SIZE_MAX

/* The ARC sets of a message and the verdict on their structure. */
struct ms_arc_chain {
	bool any;		/* at least one ARC field */
	unsigned n;		/* highest instance 1..50 seen */
	unsigned maxseen;	/* highest instance seen, even > 50 */
	size_t idx[MAILSEC_ARC_MAX_INSTANCE + 1][MS_ARC_NKIND];
	enum mailsec_arc_result cv[MAILSEC_ARC_MAX_INSTANCE + 1];
	bool cv_ok[MAILSEC_ARC_MAX_INSTANCE + 1];
	enum mailsec_arc_result newest_cv;	/* cv= of AS(n) */
	enum mailsec_arc_reason reason;		/* R_OK: well formed */
	unsigned bad_instance;
	char why[MS_ARC_WHY];
};

/*
 * Collects the ARC fields of f[0..n) (message order) and checks RFC 8617
 * 5.2 steps 1 to 3: no field: reason R_NO_CHAIN; an instance above 50:
 * R_LIMIT; the newest AS with cv=fail: R_CHAIN_FAILED; then i= problems,
 * duplicates, missing fields and gaps, and the cv= rules.
 */
void ms_arc_chain_build(const struct ms_arc_field *f, size_t n,
    struct ms_arc_chain *c);

/* A parsed ARC-Seal (4.1.3). */
struct ms_arc_seal_tags {
	struct ms_taglist tags;
	unsigned instance;
	enum mailsec_dkim_algorithm alg;
	enum mailsec_arc_result cv;
	struct mailsec_str domain, selector;
	int64_t t;			/* -1 when absent */
	size_t b_start, b_end;		/* b= value span in the value */
	unsigned char b[1024];
	size_t blen;
};

/* Parses and checks an AS value (after the colon, no final CRLF). */
bool ms_arc_seal_parse(const char *p, size_t len, struct ms_arc_seal_tags *s,
    char *why, size_t whysz);

/* A parsed ARC-Message-Signature: a DKIM signature whose i= is the
 * instance and which has no v= (4.1.2). */
struct ms_arc_ams {
	struct ms_dkim_sig sig;		/* views point into text */
	char *text;			/* the tag list as DKIM sees it */
	unsigned instance;
	size_t b_start, b_end;		/* b= value span in the value */
};

/*
 * Parses an AMS value (after the colon, no final CRLF) with the DKIM
 * signature parser: the list is given to it with v=1 first and without
 * i= and v=, so the DKIM rules apply to every other tag. Then checks
 * the ARC rules: i= valid, h= does not name ARC-Seal. Returns the DKIM
 * reason (MAILSEC_DKIM_R_OK when usable) and fills why otherwise.
 * ms_arc_ams_cleanup() in any case.
 */
enum mailsec_dkim_reason ms_arc_ams_parse(const char *p, size_t len,
    struct ms_arc_ams *a, char *why, size_t whysz);
void ms_arc_ams_cleanup(struct ms_arc_ams *a);

/*
 * The header hash input of a signature field sig (RFC 6376 5.4.2 and
 * 3.7): the fields of f[0..n) that the colon-separated names (h=)
 * select, each name taking the next instance from the bottom up, then
 * sig itself with the b= value (bytes b_start..b_end of its value)
 * removed, canonicalized by c, without its final CRLF. MAILSEC_ELIMIT
 * past max_names names.
 */
mailsec_err ms_arc_header_data(const struct ms_arc_field *f, size_t n,
    const char *names, size_t nameslen, size_t max_names,
    enum mailsec_dkim_canon c, const char *sig, size_t siglen,
    size_t b_start, size_t b_end, struct ms_buf *out);

/* Appends the signature field sig (raw, name through CRLF) with its b=
 * value (bytes b_start..b_end of the value) removed, canonicalized by c,
 * without the final CRLF (RFC 6376 3.7). */
mailsec_err ms_arc_canon_sig(enum mailsec_dkim_canon c, const char *sig,
    size_t siglen, size_t b_start, size_t b_end, struct ms_buf *out);

/* Checks sig (blen bytes) over data with pkey for alg (RFC 8463 3:
 * Ed25519 signs the SHA-256 of the data). */
bool ms_arc_sig_verify(enum mailsec_dkim_algorithm alg, EVP_PKEY *pkey,
    const unsigned char *sig, size_t blen, const char *data, size_t dlen);

#endif /* MS_ARC_INT_H */
