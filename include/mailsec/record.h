/*
 * mailsec/record.h - the domain owner's side: builders that write SPF
 * (RFC 7208), DMARC (RFC 9989), MTA-STS (RFC 8461) and TLS-RPT (RFC 8460)
 * records, a linter that explains what is wrong with a record and how to
 * fix it, and an audit of a whole domain (MX, SPF, DKIM, DMARC, MTA-STS,
 * TLS-RPT, DANE TLSA on the MX hosts, BIMI).
 *
 * The linter wraps the evaluators' own parsers (SPF record check, DKIM
 * key record parse, DMARC record parse, the tag=value tokenizer): what it
 * calls an error is what a receiver would refuse. Every finding carries
 * a stable code, a severity, the byte offset it is about, what is wrong
 * and the fix.
 *
 * Resolution (lint with a resolver, the audit) is synchronous over the
 * DNS layer: the calls run the resolver until their queries are
 * answered (each query bounded by the resolver's timeout).
 */
#ifndef MAILSEC_RECORD_H
#define MAILSEC_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/dmarc.h>
#include <mailsec/dns.h>
#include <mailsec/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest record the linter takes (the TXT strings joined, or an
 * MTA-STS policy file; RFC 8461 3.3 lets clients stop at 64 KiB). */
#define MAILSEC_LINT_INPUT_MAX 65536
/* Findings kept for one lint or audit; later ones are dropped and the
 * last kept says so (code "too-many-findings"). */
#define MAILSEC_FINDINGS_MAX 256

enum mailsec_record_type {
	MAILSEC_RECORD_UNKNOWN = 0,
	MAILSEC_RECORD_SPF,		/* TXT at the domain */
	MAILSEC_RECORD_DMARC,		/* TXT at _dmarc.domain */
	MAILSEC_RECORD_DKIM,		/* TXT at sel._domainkey.domain */
	MAILSEC_RECORD_MTASTS,		/* TXT at _mta-sts.domain */
	MAILSEC_RECORD_MTASTS_POLICY,	/* the policy file, https://mta-sts.
					   domain/.well-known/mta-sts.txt */
	MAILSEC_RECORD_TLSRPT		/* TXT at _smtp._tls.domain */
};

/* "spf", "dmarc", "dkim", "mta-sts", "mta-sts-policy", "tlsrpt",
 * "unknown". */
MAILSEC_API const char *mailsec_record_type_name(enum mailsec_record_type t);
/* The inverse (also "sts", "mtasts", "tls-rpt", "policy"); UNKNOWN when
 * name is none of them. */
MAILSEC_API enum mailsec_record_type mailsec_record_type_parse(
    const char *name);
/* Guesses the type of (p, len) from its version tag, tolerating typos
 * (v-spf1, v=DMARC, ...), then from its tags; UNKNOWN when unsure. */
MAILSEC_API enum mailsec_record_type mailsec_record_detect(const char *p,
    size_t len);

enum mailsec_severity {
	MAILSEC_SEV_INFO = 0,	/* worth knowing, nothing wrong */
	MAILSEC_SEV_WARNING,	/* works, but weak, risky or obsolete */
	MAILSEC_SEV_ERROR	/* receivers refuse or misread it */
};

/* "info", "warning", "error". */
MAILSEC_API const char *mailsec_severity_name(enum mailsec_severity s);

/* One finding. All text NUL-terminated, printable ASCII. */
struct mailsec_finding {
	enum mailsec_severity severity;
	char area[16];		/* "spf", "dmarc", "dkim", "mta-sts",
				   "tlsrpt", "mx", "dane", "bimi" */
	char code[40];		/* stable short id: "spf-all-pass" */
	bool has_offset;	/* offset points into the record */
	size_t offset;		/* byte offset into the linted text */
	char what[320];		/* what is wrong and why */
	char fix[320];		/* how to fix it ("" only for info) */
};

/* ---- the linter -------------------------------------------------------- */

struct mailsec_lint_opts {
	enum mailsec_record_type type;	/* UNKNOWN: detect */
	/*
	 * With a resolver (borrowed for the call), the linter also asks
	 * DNS: SPF includes and redirects are followed and their
	 * DNS-querying terms counted, void lookups counted; with domain set
	 * as well, the records at the name are counted (duplicates) and
	 * DMARC rua/ruf to another domain are checked for the
	 * <domain>._report._dmarc.<host> authorization (RFC 9989 / RFC
	 * 7489 7.1).
	 */
	struct mailsec_resolver *resolver;
	/* Where the record is published, without the _dmarc. /
	 * _domainkey. / _mta-sts. prefix: "example.org". NULL: unknown. */
	const char *domain;
	/* DKIM: the selector (for the duplicate check); may be NULL. */
	const char *selector;
};

struct mailsec_lint {
	enum mailsec_record_type type;	/* linted as */
	bool detected;			/* type was guessed */
	bool resolved;			/* DNS was asked */
	unsigned lookups;		/* SPF: DNS-querying terms (the
					   whole include tree when
					   resolved) */
	unsigned void_lookups;		/* SPF, resolved: NXDOMAIN or
					   NODATA answers */
	size_t nflat;			/* SPF, resolved: the ip4:/ip6:
					   terms of the whole tree */
	char **flat;
	size_t nfindings;
	struct mailsec_finding *findings;
};

/*
 * Lints the record text (p, len). opts may be NULL (detect the type, no
 * DNS). *out (mailsec_lint_free()) receives the findings whenever memory
 * allows, even for text that is no record at all (then one error says
 * so). Errors: MAILSEC_EINVAL (bad arguments), MAILSEC_ELIMIT (len over
 * MAILSEC_LINT_INPUT_MAX), MAILSEC_ENOMEM; DNS failures are findings.
 */
MAILSEC_API mailsec_err mailsec_lint_record(const char *p, size_t len,
    const struct mailsec_lint_opts *opts, struct mailsec_lint **out,
    struct mailsec_diag *diag);

MAILSEC_API void mailsec_lint_free(struct mailsec_lint *l);

/* Findings of severity s. */
MAILSEC_API size_t mailsec_lint_count(const struct mailsec_lint *l,
    enum mailsec_severity s);

/* The first finding with that code, or NULL. */
MAILSEC_API const struct mailsec_finding *mailsec_lint_find(
    const struct mailsec_lint *l, const char *code);

/* ---- builders ---------------------------------------------------------- */

/*
 * Each builder writes the record text (*out, free()) and then lints it:
 * input that would make a record with an error is refused with
 * MAILSEC_EINVAL and diag says which finding (so a builder never hands
 * out a record its linter or the evaluators refuse). String arrays are
 * borrowed for the call.
 */

/* What the SPF record ends with. */
enum mailsec_spf_all {
	MAILSEC_SPF_ALL_FAIL = 0,	/* -all */
	MAILSEC_SPF_ALL_SOFTFAIL,	/* ~all */
	MAILSEC_SPF_ALL_NEUTRAL		/* ?all (the linter warns) */
};

struct mailsec_spf_build {
	const char *const *ip4;		/* "192.0.2.0/24" */
	size_t nip4;
	const char *const *ip6;		/* "2001:db8::/32" */
	size_t nip6;
	const char *const *include;	/* "_spf.provider.example" */
	size_t ninclude;
	bool a;				/* the domain's A/AAAA */
	bool mx;			/* the domain's MX hosts */
	enum mailsec_spf_all all;
	const char *redirect;		/* redirect= instead of all */
};

MAILSEC_API mailsec_err mailsec_record_spf(const struct mailsec_spf_build *b,
    char **out, struct mailsec_diag *diag);

struct mailsec_dmarc_build {
	enum mailsec_dmarc_policy p;	/* UNSET: none */
	enum mailsec_dmarc_policy sp;	/* UNSET: not written (p
					   applies) */
	enum mailsec_dmarc_policy np;	/* UNSET: not written */
	const char *const *rua;		/* "mailto:d@example.org" (a bare
					   address gets mailto:) */
	size_t nrua;
	const char *const *ruf;
	size_t nruf;
	bool adkim_strict;		/* adkim=s */
	bool aspf_strict;		/* aspf=s */
	const char *fo;			/* "1", "0:d", ... or NULL */
	bool testing;			/* t=y */
};

MAILSEC_API mailsec_err mailsec_record_dmarc(
    const struct mailsec_dmarc_build *b, char **out,
    struct mailsec_diag *diag);

enum mailsec_mtasts_mode {
	MAILSEC_MTASTS_ENFORCE = 0,
	MAILSEC_MTASTS_TESTING,
	MAILSEC_MTASTS_NONE
};

/* "enforce", "testing", "none". */
MAILSEC_API const char *mailsec_mtasts_mode_name(enum mailsec_mtasts_mode m);

/* Default policy lifetime: one week (RFC 8461 3.2 suggests weeks). */
#define MAILSEC_MTASTS_MAX_AGE_DEFAULT 604800u
/* RFC 8461 3.2: max_age at most 31557600 (a year). */
#define MAILSEC_MTASTS_MAX_AGE_MAX 31557600u
/* MX patterns in one policy the builder and linter accept. */
#define MAILSEC_MTASTS_MX_MAX 64

struct mailsec_mtasts_build {
	const char *id;			/* 1..32 letters/digits; NULL:
					   the UTC time of now,
					   YYYYMMDDhhmmss */
	int64_t now;			/* for id (0: time(NULL)) */
	enum mailsec_mtasts_mode mode;
	const char *const *mx;		/* "mx1.example.org",
					   "*.example.net" */
	size_t nmx;
	uint32_t max_age;		/* 0: MAILSEC_MTASTS_MAX_AGE_DEFAULT */
};

/* *txt: the _mta-sts TXT record; *policy: the policy file (CRLF lines). */
MAILSEC_API mailsec_err mailsec_record_mtasts(
    const struct mailsec_mtasts_build *b, char **txt, char **policy,
    struct mailsec_diag *diag);

struct mailsec_tlsrpt_build {
	const char *const *rua;		/* "mailto:..." or "https://...";
					   a bare address gets mailto: */
	size_t nrua;
};

MAILSEC_API mailsec_err mailsec_record_tlsrpt(
    const struct mailsec_tlsrpt_build *b, char **out,
    struct mailsec_diag *diag);

/*
 * Where a record of type t is published for domain (selector: DKIM only):
 * "example.org", "_dmarc.example.org", "s1._domainkey.example.org",
 * "_mta-sts.example.org", "_smtp._tls.example.org", or for the policy
 * file its URL. *out: free().
 */
MAILSEC_API mailsec_err mailsec_record_owner(enum mailsec_record_type t,
    const char *domain, const char *selector, char **out);

/*
 * The zone-file line `OWNER [TTL] IN TXT "..." "..."`, the owner written
 * as given (end it with '.' for an absolute name; "@" and relative names
 * are the zone's business): text cut into
 * character-strings of at most 255 bytes, '"' and '\' escaped, other
 * bytes outside printable ASCII as \DDD. ttl 0 leaves it out. *out:
 * free().
 */
MAILSEC_API mailsec_err mailsec_record_zone_line(const char *owner,
    uint32_t ttl, const char *text, size_t len, char **out);

/* ---- the audit --------------------------------------------------------- */

/*
 * The HTTPS client for the MTA-STS policy (RFC 8461 3.3): get() fetches
 * url (no redirects; a valid certificate for the host) and hands back
 * the body (malloc'd, at most max bytes) and the HTTP status. It returns
 * MAILSEC_OK when a response arrived (whatever its status), or an error
 * with why filled in. The library has no HTTP client of its own.
 */
struct mailsec_https_client {
	mailsec_err (*get)(void *arg, const char *url, size_t max,
	    int *status, char **body, size_t *len, char *why, size_t whysz);
	void *arg;
};

/* Selectors the audit tries besides the given ones (common defaults of
 * providers and signing software). */
MAILSEC_API const char *const *mailsec_audit_common_selectors(size_t *n);

/* Selectors an audit looks up at most (given plus common). */
#define MAILSEC_AUDIT_SELECTOR_MAX 64
/* MX hosts whose TLSA records are looked up. */
#define MAILSEC_AUDIT_MX_MAX 16

struct mailsec_audit_opts {
	const char *const *selectors;	/* DKIM selectors to look up */
	size_t nselectors;
	bool no_common_selectors;	/* only the given ones */
	const struct mailsec_https_client *https;	/* NULL: the MTA-STS
				   policy is not fetched (a finding says so) */
};

struct mailsec_audit_dkim {
	char *selector;
	char *record;
	unsigned key_bits;
	bool testing;
};

struct mailsec_audit {
	char *domain;
	unsigned score;			/* 0..100 */
	char grade;			/* 'A'..'F' */
	size_t nmx;
	char **mx;			/* exchanges by preference */
	bool null_mx;			/* RFC 7505 "0 ." */
	char *spf;			/* the SPF record, or NULL */
	unsigned spf_lookups;		/* the include tree's count */
	unsigned spf_void_lookups;
	size_t nspf_flat;		/* the tree's ip4:/ip6: terms */
	char **spf_flat;
	size_t ndkim;
	struct mailsec_audit_dkim *dkim;	/* selectors found */
	char *dmarc;			/* the record in force, or NULL */
	char *dmarc_domain;		/* where it was found */
	bool dmarc_inherited;		/* from a parent domain */
	char *mtasts;			/* TXT at _mta-sts */
	char *mtasts_policy;		/* the fetched policy file */
	char *tlsrpt;
	size_t ndane;			/* MX hosts with TLSA records */
	char *bimi;			/* TXT at default._bimi */
	size_t nfindings;
	struct mailsec_finding *findings;
};

/*
 * Audits domain through r (borrowed; run until every query is
 * answered). opts may be NULL. MAILSEC_EINVAL when domain is not a
 * domain name; DNS failures are findings. *out: mailsec_audit_free().
 */
MAILSEC_API mailsec_err mailsec_audit_run(struct mailsec_resolver *r,
    const char *domain, const struct mailsec_audit_opts *opts,
    struct mailsec_audit **out, struct mailsec_diag *diag);

MAILSEC_API void mailsec_audit_free(struct mailsec_audit *a);

/* The first finding with that code, or NULL. */
MAILSEC_API const struct mailsec_finding *mailsec_audit_find(
    const struct mailsec_audit *a, const char *code);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_RECORD_H */
