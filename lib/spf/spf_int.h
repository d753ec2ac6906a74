/*
 * lib/spf/spf_int.h - SPF internals: the parsed record (RFC 7208 4.6,
 * 12), the macro expander (RFC 7208 7), shared by the engine, the tests
 * and the fuzz targets.
 */
#ifndef MS_SPF_INT_H
#define MS_SPF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/spf.h>

#include "core/core.h"

/* Terms in one record: a record of MAILSEC_SPF_RECORD_MAX bytes holds at
 * most about half as many; a bound on the array, not a policy. */
#define MS_SPF_TERMS_MAX 4096

enum ms_spf_mech {
	MS_SPF_ALL,
	MS_SPF_INCLUDE,
	MS_SPF_A,
	MS_SPF_MX,
	MS_SPF_PTR,
	MS_SPF_IP4,
	MS_SPF_IP6,
	MS_SPF_EXISTS
};

struct ms_spf_term {
	enum ms_spf_mech mech;
	char qual;			/* '+', '-', '~', '?' */
	struct mailsec_str text;	/* the term as written */
	struct mailsec_str spec;	/* domain-spec; len 0 if absent */
	uint8_t addr[16];		/* ip4 (first 4) / ip6 network */
	unsigned cidr4;			/* 0..32, 32 when absent */
	unsigned cidr6;			/* 0..128, 128 when absent */
};

struct ms_spf_record {
	char *text;			/* own copy, NUL-terminated */
	size_t len;
	struct ms_spf_term *terms;
	size_t nterms;
	bool has_redirect;
	bool has_exp;
	struct mailsec_str redirect;	/* domain-spec */
	struct mailsec_str exp;		/* domain-spec */
};

/* Is (p, len) an SPF record by its version (RFC 7208 4.5: "v=spf1"
 * then SP or the end, any case)? */
bool ms_spf_is_record(const char *p, size_t len);

/* Parses a whole record; any error anywhere is reported (4.6). */
mailsec_err ms_spf_record_parse(const char *p, size_t len,
    struct ms_spf_record **out, struct mailsec_diag *diag);
void ms_spf_record_free(struct ms_spf_record *rec);

/* Checks macro-string syntax (7.1); exp allows c, r, t. */
mailsec_err ms_spf_macro_check(const char *p, size_t len, bool exp,
    struct mailsec_diag *diag);
/* True when (p, len) uses %{p} (the validated domain name). */
bool ms_spf_macro_uses_p(const char *p, size_t len);

/* What the macro letters stand for (7.3); all NUL-terminated. */
struct ms_spf_macro_ctx {
	const char *s;		/* sender */
	const char *l;		/* local-part */
	const char *o;		/* domain of the sender */
	const char *d;		/* current domain */
	const char *i;		/* ip: dotted quad or 32 dotted nibbles */
	const char *p;		/* validated domain name or "unknown" */
	const char *v;		/* "in-addr" or "ip6" */
	const char *h;		/* HELO domain */
	const char *c;		/* ip in text form (exp only) */
	const char *r;		/* receiver (exp only) */
	const char *t;		/* timestamp (exp only) */
};

/*
 * Expands the macro-string (p, len) into out (appended; out's max bounds
 * the result: MAILSEC_ELIMIT when exceeded). exp: explanation rules
 * (c, r, t allowed; literal spaces allowed). Syntax errors: ESYNTAX.
 */
mailsec_err ms_spf_macro_expand(const struct ms_spf_macro_ctx *ctx,
    const char *p, size_t len, bool exp, struct ms_buf *out,
    struct mailsec_diag *diag);

/* RFC 7208 7.3: drops labels on the left until the name is at most 253
 * octets; returns the start of what remains (within name). */
const char *ms_spf_domain_truncate(const char *name);

#endif /* MS_SPF_INT_H */
