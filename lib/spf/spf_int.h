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
	const char *lit;		/* spec without macros: its expansion
					   (itself, RFC 7208 7.3 truncation
					   applied), NUL-terminated, in the
					   record; NULL when spec has macros
					   or is absent */
	uint8_t addr[16];		/* ip4 (first 4) / ip6 network */
	unsigned cidr4;			/* 0..32, 32 when absent */
	unsigned cidr6;			/* 0..128, 128 when absent */
};

/*
 * A parsed record. Immutable once ms_spf_record_parse() returned it, so
 * it can be shared: the parse hands out one reference, each holder takes
 * its own with ms_spf_record_ref() and drops it with _unref() (the last
 * one frees). Not thread-safe, like everything an evaluation uses.
 */
struct ms_spf_record {
	unsigned refs;			/* holders; freed at 0 */
	char *text;			/* own copy, NUL-terminated */
	size_t len;
	struct ms_spf_term *terms;
	size_t nterms;
	bool has_redirect;
	bool has_exp;
	struct mailsec_str redirect;	/* domain-spec */
	struct mailsec_str exp;		/* domain-spec */
	const char *redirect_lit;	/* as ms_spf_term.lit */
	const char *exp_lit;
	char *lits;			/* storage of the lit strings */
};

/* Is (p, len) an SPF record by its version (RFC 7208 4.5: "v=spf1"
 * then SP or the end, any case)? */
bool ms_spf_is_record(const char *p, size_t len);

/* Parses a whole record; any error anywhere is reported (4.6). *out
 * receives the only reference. */
mailsec_err ms_spf_record_parse(const char *p, size_t len,
    struct ms_spf_record **out, struct mailsec_diag *diag);
/* Another reference to rec (returned). */
struct ms_spf_record *ms_spf_record_ref(struct ms_spf_record *rec);
/* Drops a reference; the last one frees. NULL is a no-op. */
void ms_spf_record_unref(struct ms_spf_record *rec);
/* The same as _unref(): for the holder of the parse's only reference. */
void ms_spf_record_free(struct ms_spf_record *rec);
/* Bytes rec holds (for the cache's bound): an estimate that counts
 * every allocation's payload. */
size_t ms_spf_record_cost(const struct ms_spf_record *rec);

/*
 * The parsed record for the text (p, len), as a new reference in *out:
 * from cache c when it holds that exact text, else parsed (and kept in
 * c when it parses). c may be NULL (always parse). Errors as
 * ms_spf_record_parse(); they are not kept.
 */
mailsec_err ms_spf_cache_get(struct mailsec_spf_cache *c, const char *p,
    size_t len, struct ms_spf_record **out, struct mailsec_diag *diag);

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
