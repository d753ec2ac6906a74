/*
 * lib/arc/arc_int.h - ARC internals shared by the files of lib/arc: the
 * ARC header fields and their instances, the chain's structure (RFC 8617
 * 5.2 steps 1 to 3), ARC-Seal tags (4.1.3). The ARC-Message-Signature is
 * a DKIM signature (4.1.2): lib/dkim parses it (MS_DKIM_SIG_AMS), makes
 * it (struct ms_dkim_signer) and builds the header hash input of both
 * signatures (dkim_int.h).
 */
#ifndef MS_ARC_INT_H
#define MS_ARC_INT_H

#include <stdint.h>

#include <mailsec/arc.h>

#include "dkim/dkim_int.h"

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

/* The value of a field: after the colon, without the final CRLF. */
struct mailsec_str ms_arc_field_value(const struct ms_dkim_field *f);

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
void ms_arc_chain_build(const struct ms_dkim_field *f, size_t n,
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

#endif /* MS_ARC_INT_H */
