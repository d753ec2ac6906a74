/*
 * mailsec/dmarc.h - DMARC (RFC 9989; RFC 7489 as a compatibility mode):
 * policy records, policy discovery over the DNS layer, and evaluation of
 * a message's SPF and DKIM results against its Author Domain(s).
 *
 * Two modes:
 *   MAILSEC_DMARC_RFC9989 (default): the DNS Tree Walk of RFC 9989 4.10
 *     finds the policy and the Organizational Domains (psd=, np=, t=);
 *     pct, rf and ri are obsolete and ignored.
 *   MAILSEC_DMARC_RFC7489: the Organizational Domain comes from the
 *     Public Suffix List (RFC 7489 3.2, through libpsl); pct, rf, ri are
 *     honoured, psd, np and t are not RFC 7489 tags and are ignored.
 *
 * An evaluation (struct mailsec_dmarc) sends its DNS queries through a
 * struct mailsec_resolver and progresses in the resolver's callbacks, as
 * SPF does (mailsec/spf.h): independent queries of a walk go out
 * together. Nothing is global: the public suffix list is a caller-created
 * object (struct mailsec_dmarc_psl), read-only once loaded, that may be
 * shared by any number of evaluations and threads.
 *
 * Limits (named below): at most MAILSEC_DMARC_AUTHOR_MAX Author Domains,
 * MAILSEC_DMARC_DKIM_MAX DKIM results, MAILSEC_DMARC_QUERY_MAX DNS
 * queries per evaluation; a record of at most MAILSEC_DMARC_RECORD_MAX
 * bytes with at most MAILSEC_DMARC_TAG_MAX tags and MAILSEC_DMARC_URI_MAX
 * URIs per list.
 */
#ifndef MAILSEC_DMARC_H
#define MAILSEC_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/addr.h>
#include <mailsec/dkim.h>
#include <mailsec/dns.h>
#include <mailsec/err.h>
#include <mailsec/spf.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest record accepted (the TXT strings joined). */
#define MAILSEC_DMARC_RECORD_MAX 4096
/* Tags in one record (RFC 9989 defines 11, RFC 7489 14). */
#define MAILSEC_DMARC_TAG_MAX 64
/* URIs in one rua= or ruf= list. */
#define MAILSEC_DMARC_URI_MAX 16
/* Author Domains evaluated for one message (RFC 9989 11.5: "Limiting
 * the number of Author Domains processed will avoid this risk"). */
#define MAILSEC_DMARC_AUTHOR_MAX 8
/* DKIM results given to one evaluation. */
#define MAILSEC_DMARC_DKIM_MAX 32
/* DNS queries of one evaluation (a walk is at most 8, RFC 9989 4.10). */
#define MAILSEC_DMARC_QUERY_MAX 100
/* Labels of a walk: RFC 9989 4.10 step 4 shortens longer names to 7
 * labels, so a walk makes at most 8 queries. */
#define MAILSEC_DMARC_WALK_MAX 8

enum mailsec_dmarc_mode {
	MAILSEC_DMARC_RFC9989 = 0,
	MAILSEC_DMARC_RFC7489
};

/* RFC 8601 2.7.1 / RFC 9989 9.2 dmarc= results. */
enum mailsec_dmarc_result {
	MAILSEC_DMARC_NONE = 0,		/* no policy applies */
	MAILSEC_DMARC_PASS,
	MAILSEC_DMARC_FAIL,
	MAILSEC_DMARC_TEMPERROR,	/* a needed DNS query failed */
	MAILSEC_DMARC_PERMERROR		/* no single usable Author Domain,
					   or a limit was hit */
};

/* Domain Owner Assessment Policy (p=, sp=, np=). */
enum mailsec_dmarc_policy {
	MAILSEC_DMARC_POLICY_UNSET = 0,
	MAILSEC_DMARC_POLICY_NONE,
	MAILSEC_DMARC_POLICY_QUARANTINE,
	MAILSEC_DMARC_POLICY_REJECT
};

/* What the receiver is advised to do (RFC 9990 ActionDispositionType). */
enum mailsec_dmarc_disposition {
	MAILSEC_DMARC_DISP_UNSET = 0,	/* no policy: nothing to apply */
	MAILSEC_DMARC_DISP_NONE,
	MAILSEC_DMARC_DISP_QUARANTINE,
	MAILSEC_DMARC_DISP_REJECT
};

enum mailsec_dmarc_alignment {
	MAILSEC_DMARC_RELAXED = 0,
	MAILSEC_DMARC_STRICT
};

/* psd= (RFC 9989 4.7). */
enum mailsec_dmarc_psd {
	MAILSEC_DMARC_PSD_U = 0,
	MAILSEC_DMARC_PSD_Y,
	MAILSEC_DMARC_PSD_N
};

/* Policy override reasons (RFC 7489 7.2.1 and RFC 9990 schema). */
enum mailsec_dmarc_override_type {
	MAILSEC_DMARC_OV_FORWARDED = 0,
	MAILSEC_DMARC_OV_SAMPLED_OUT,
	MAILSEC_DMARC_OV_TRUSTED_FORWARDER,
	MAILSEC_DMARC_OV_MAILING_LIST,
	MAILSEC_DMARC_OV_LOCAL_POLICY,
	MAILSEC_DMARC_OV_OTHER,
	MAILSEC_DMARC_OV_POLICY_TEST_MODE
};

/* "pass", "fail", "none", "temperror", "permerror". */
MAILSEC_API const char *mailsec_dmarc_result_name(
    enum mailsec_dmarc_result r);
/* "none", "quarantine", "reject"; NULL for UNSET. */
MAILSEC_API const char *mailsec_dmarc_policy_name(
    enum mailsec_dmarc_policy p);
/* "none", "quarantine", "reject"; NULL for UNSET. */
MAILSEC_API const char *mailsec_dmarc_disposition_name(
    enum mailsec_dmarc_disposition d);
/* "forwarded", "sampled_out", "trusted_forwarder", "mailing_list",
 * "local_policy", "other", "policy_test_mode". */
MAILSEC_API const char *mailsec_dmarc_override_name(
    enum mailsec_dmarc_override_type t);
/* "rfc9989", "rfc7489". */
MAILSEC_API const char *mailsec_dmarc_mode_name(enum mailsec_dmarc_mode m);

/* ---- records ----------------------------------------------------------- */

enum mailsec_dmarc_severity {
	MAILSEC_DMARC_WARNING = 0,	/* valid but questionable, obsolete,
					   or ignored */
	MAILSEC_DMARC_ERROR		/* invalid: the tag (or record) is
					   not used as written */
};

/* One problem of a record, for the domain owner's linter. */
struct mailsec_dmarc_problem {
	enum mailsec_dmarc_severity severity;
	char tag[16];		/* tag name as written (cut to 15 bytes;
				   printable ASCII), "" for the record */
	size_t offset;		/* byte offset into the record */
	char text[160];		/* what and why, NUL-terminated */
};

/* One entry of rua= / ruf=. */
struct mailsec_dmarc_uri {
	char *uri;		/* the URI as written, size suffix removed */
	bool valid;		/* an RFC 3986 URI */
	bool mailto;		/* scheme "mailto" */
	char *address;		/* mailto: the first addr-spec (before any
				   '?' or ','), NULL when not one */
	bool has_limit;		/* obsolete "!size" suffix present */
	uint64_t limit;		/* its value in bytes (k/m/g/t applied) */
};

/* failure-report options (fo=) as bits. */
#define MAILSEC_DMARC_FO_0 0x1u
#define MAILSEC_DMARC_FO_1 0x2u
#define MAILSEC_DMARC_FO_D 0x4u
#define MAILSEC_DMARC_FO_S 0x8u

/*
 * A parsed record. Tags that are absent or invalid keep their defaults;
 * policies are UNSET when absent or invalid. Strings are owned by the
 * record.
 */
struct mailsec_dmarc_record {
	enum mailsec_dmarc_mode mode;	/* the rules it was read under */
	bool dmarc;		/* starts with v=DMARC1: a DMARC record */
	bool usable;		/* a policy can be taken from it (RFC 9989
				   4.10.1; RFC 7489 6.6.3 step 6) */
	bool p_from_rua;	/* p/sp/np missing or invalid, p=none used
				   because rua= holds a valid URI */
	enum mailsec_dmarc_policy p, sp, np;	/* as written (UNSET: absent
				   or invalid; np UNSET under RFC 7489) */
	bool p_invalid, sp_invalid, np_invalid;	/* present, not valid */
	enum mailsec_dmarc_psd psd;		/* RFC 9989 only */
	bool testing;				/* t=y, RFC 9989 only */
	enum mailsec_dmarc_alignment adkim, aspf;
	unsigned pct;		/* 0..100, default 100 (RFC 7489 only) */
	bool has_pct;
	unsigned fo;		/* MAILSEC_DMARC_FO_* (default FO_0) */
	bool rf_afrf;		/* rf= lists afrf (default true) */
	uint32_t ri;		/* seconds, default 86400 */
	size_t nrua, nruf;
	struct mailsec_dmarc_uri *rua, *ruf;
	size_t nproblems;
	struct mailsec_dmarc_problem *problems;
};

/*
 * Parses a record under mode's rules, tag by tag: every problem is listed
 * (tag, offset, severity, text) and the tag is then ignored or takes its
 * default (RFC 9989 4.8); unknown tags are ignored (a warning says so).
 * The tag=value syntax is that of RFC 6376 3.2 (lib/core/tagvalue).
 * Returns MAILSEC_OK with *out set whenever memory allows, even for text
 * that is not a DMARC record (then (*out)->dmarc is false and a problem
 * says why). MAILSEC_ELIMIT (diag) when len exceeds
 * MAILSEC_DMARC_RECORD_MAX or the record has more than
 * MAILSEC_DMARC_TAG_MAX tags; MAILSEC_EINVAL for bad arguments.
 * Free with mailsec_dmarc_record_free().
 */
MAILSEC_API mailsec_err mailsec_dmarc_record_parse(const char *p,
    size_t len, enum mailsec_dmarc_mode mode,
    struct mailsec_dmarc_record **out, struct mailsec_diag *diag);

MAILSEC_API void mailsec_dmarc_record_free(struct mailsec_dmarc_record *rec);

/* Number of problems of severity sev. */
MAILSEC_API size_t mailsec_dmarc_record_count(
    const struct mailsec_dmarc_record *rec, enum mailsec_dmarc_severity sev);

/*
 * The policy rec applies to a domain: p for the domain it was published
 * at (subdomain false); for a subdomain sp, or np when exists is false
 * (RFC 9989 mode), falling back to p (RFC 9989 4.7). UNSET when the
 * record is not usable. *tag (optional) receives "p", "sp" or "np".
 */
MAILSEC_API enum mailsec_dmarc_policy mailsec_dmarc_record_policy(
    const struct mailsec_dmarc_record *rec, bool subdomain, bool exists,
    const char **tag);

/* ---- the public suffix list (RFC 7489 mode) ---------------------------- */

struct mailsec_dmarc_psl;

/*
 * Loads a Public Suffix List: path names a public_suffix_list.dat (or
 * DAFSA) file; NULL takes the newest of libpsl's built-in data and
 * Debian's /usr/share/publicsuffix (psl_latest()). The object is
 * read-only afterwards and may be shared. MAILSEC_ENOTFOUND (diag) when
 * the file cannot be loaded.
 */
MAILSEC_API mailsec_err mailsec_dmarc_psl_load(const char *path,
    struct mailsec_dmarc_psl **out, struct mailsec_diag *diag);

MAILSEC_API void mailsec_dmarc_psl_free(struct mailsec_dmarc_psl *psl);

/*
 * The registrable domain of name (one label below its longest public
 * suffix) into out (outsz at least MAILSEC_DOMAIN_MAX), lowercased
 * A-labels. name is normalized first (mailsec_domain_normalize).
 * MAILSEC_ENOTFOUND when name is a public suffix itself or not a
 * domain name; MAILSEC_EINVAL for bad arguments.
 */
MAILSEC_API mailsec_err mailsec_dmarc_psl_registrable(
    const struct mailsec_dmarc_psl *psl, const char *name, char *out,
    size_t outsz);

/*
 * The Organizational Domain of RFC 7489 3.2: the registrable domain, or
 * the name itself when it is a public suffix. MAILSEC_ESYNTAX when name
 * is not a domain name.
 */
MAILSEC_API mailsec_err mailsec_dmarc_psl_org_domain(
    const struct mailsec_dmarc_psl *psl, const char *name, char *out,
    size_t outsz);

/*
 * RFC 7489 3.1 identifier alignment of two domain names with the PSL:
 * strict is equality, relaxed equal Organizational Domains (ASCII
 * case-insensitive, U-labels converted). false when either is not a
 * domain name.
 */
MAILSEC_API bool mailsec_dmarc_psl_aligned(const struct mailsec_dmarc_psl *psl,
    const char *a, const char *b, enum mailsec_dmarc_alignment mode);

/* ---- evaluation -------------------------------------------------------- */

/* Local decisions to override a failing policy (RFC 9989 5.4). */
#define MAILSEC_DMARC_LOCAL_TRUSTED_FORWARDER 0x1u
#define MAILSEC_DMARC_LOCAL_MAILING_LIST 0x2u
#define MAILSEC_DMARC_LOCAL_TRUSTED_ARC 0x4u	/* a trusted ARC chain:
						   "forwarded" (RFC 7489),
						   "local_policy" (RFC 9990) */
#define MAILSEC_DMARC_LOCAL_POLICY 0x8u

/* Returns a uniformly random 32-bit value (pct sampling). */
typedef uint32_t (*mailsec_dmarc_random_fn)(void *arg);

/* Settings; a zeroed struct (or NULL) is RFC 9989 with the defaults. */
struct mailsec_dmarc_opts {
	enum mailsec_dmarc_mode mode;
	/* RFC 7489 mode: the public suffix list (borrowed, must outlive
	 * the evaluation). Required in that mode. */
	const struct mailsec_dmarc_psl *psl;
	/* pct sampling (RFC 7489 mode): NULL uses getrandom(2). A message
	 * is subject to the policy when random() % 100 < pct. */
	mailsec_dmarc_random_fn random;
	void *random_arg;
	/* MAILSEC_DMARC_LOCAL_* bits: failing messages get disposition
	 * none with the matching override reasons. */
	unsigned local;
	const char *local_comment;	/* for the override reasons; may be
					   NULL */
	/* Several From fields violate RFC 5322 3.6: false (default)
	 * gives permerror/reject; true evaluates every Author Domain like
	 * one From field with several addresses. */
	bool evaluate_multiple_from;
};

/* One DKIM signature's outcome as DMARC needs it (RFC 9989 5.3.3). */
struct mailsec_dmarc_dkim {
	const char *domain;		/* d= */
	const char *selector;		/* s= (may be NULL) */
	enum mailsec_dkim_result result;
};

/*
 * The message. Everything is borrowed for mailsec_dmarc_new() (copied).
 *   author:    from mailsec_msg_author(); required.
 *   spf_result, spf_domain, spf_identity: the SPF check of the message;
 *              spf_domain is the domain checked (the MAIL FROM domain,
 *              or the HELO name for a null reverse-path).
 *   mail_from: the SMTP reverse-path without <> ("" or NULL: null). A
 *              HELO result counts only with a null reverse-path (RFC 9989
 *              3.2.4); a HELO pass never stands in for the MAIL FROM
 *              identity (CVE-2019-20790).
 *   dkim, ndkim: every DKIM signature checked (up to
 *              MAILSEC_DMARC_DKIM_MAX); only pass counts.
 *   dkim_verify: or, instead of dkim/ndkim, a finished DKIM
 *              verification: its signatures are taken in header
 *              order (those without d= skipped, at most
 *              MAILSEC_DMARC_DKIM_MAX).
 */
struct mailsec_dmarc_request {
	const struct mailsec_author *author;
	enum mailsec_spf_result spf_result;
	const char *spf_domain;
	enum mailsec_spf_identity spf_identity;
	const char *mail_from;
	const struct mailsec_dmarc_dkim *dkim;
	size_t ndkim;
	const struct mailsec_dkim_verify *dkim_verify;
};

struct mailsec_dmarc_override {
	enum mailsec_dmarc_override_type type;
	char *comment;		/* may be NULL */
};

/*
 * Policy discovery for one Author Domain and, in an evaluation, its
 * verdict. Strings are NUL-terminated, owned by the outcome; NULL when
 * not applicable.
 */
struct mailsec_dmarc_domain {
	char *domain;		/* the Author Domain (normalized) */
	enum mailsec_dmarc_result result;
	char *policy_domain;	/* where the applied record was found */
	char *queried_name;	/* "_dmarc." + policy_domain */
	char *org_domain;	/* its Organizational Domain */
	char *psd_domain;	/* the PSD whose record applies (psd=y), or
				   NULL */
	bool from_psd;		/* the record applied is the PSD's */
	int exists;		/* the domain exists: 1, 0, or -1 unknown
				   (RFC 9989 mode, when np= mattered) */
	struct mailsec_dmarc_record *record;	/* the applied record */
	char *record_text;	/* its text (the TXT strings joined) */
	enum mailsec_dmarc_policy policy;	/* p, sp or np in force */
	const char *policy_tag;			/* "p", "sp", "np" or NULL */
	enum mailsec_dmarc_disposition disposition;
	bool spf_aligned, dkim_aligned;
	char *problem;		/* none/temperror/permerror: why */
};

/*
 * The outcome of an evaluation (or of a discovery: then result is NONE
 * or TEMPERROR and only domains[0] matters). For several Author Domains
 * the fields are those of the strictest one (RFC 9989 11.5): a failing
 * domain with the strictest disposition, else temperror, permerror,
 * pass, none in that order; domains[] has them all.
 */
struct mailsec_dmarc_outcome {
	enum mailsec_dmarc_mode mode;
	enum mailsec_dmarc_result result;
	enum mailsec_author_status author_status;
	char *from_domain;		/* Author Domain reported */
	char *policy_domain;
	char *org_domain;
	enum mailsec_dmarc_policy policy;	/* UNSET: no policy */
	const char *policy_tag;			/* "p", "sp", "np" or NULL */
	enum mailsec_dmarc_disposition disposition; /* UNSET: no policy */
	bool spf_aligned;
	bool dkim_aligned;
	char *dkim_domain;		/* the aligned passing d= */
	char *dkim_selector;		/* its s= (may be NULL) */
	bool testing;			/* t=y was in force */
	bool pct_applied;		/* pct < 100 sampling was done */
	unsigned pct;
	bool sampled_out;		/* the sample left the message out */
	size_t noverrides;
	struct mailsec_dmarc_override *overrides;
	size_t nreasons;
	char **reasons;			/* for humans, in order */
	size_t ndomains;
	struct mailsec_dmarc_domain *domains;
	unsigned queries;		/* DNS queries sent */
};

MAILSEC_API void mailsec_dmarc_outcome_free(struct mailsec_dmarc_outcome *o);

struct mailsec_dmarc;

/* Called once when done (from the resolver's process/wait, or from
 * mailsec_dmarc_start() when no query was needed); may free d. */
typedef void (*mailsec_dmarc_done_cb)(void *arg, struct mailsec_dmarc *d);

/*
 * Creates an evaluation of req over resolver r (retained, not owned).
 * opts may be NULL. MAILSEC_EINVAL (diag) for a missing author, RFC 7489
 * mode without a psl, a DKIM entry without a domain; MAILSEC_ELIMIT for
 * more than MAILSEC_DMARC_DKIM_MAX DKIM results.
 */
MAILSEC_API mailsec_err mailsec_dmarc_new(struct mailsec_resolver *r,
    const struct mailsec_dmarc_request *req,
    const struct mailsec_dmarc_opts *opts, struct mailsec_dmarc **out,
    struct mailsec_diag *diag);

/*
 * Creates a policy discovery for domain (no message): the outcome's
 * domains[0] says which record applies, where it was found, the
 * Organizational Domain and the policy; result is NONE, or TEMPERROR
 * when a needed query failed. MAILSEC_EINVAL when domain is not a
 * domain name.
 */
MAILSEC_API mailsec_err mailsec_dmarc_discover_new(struct mailsec_resolver *r,
    const char *domain, const struct mailsec_dmarc_opts *opts,
    struct mailsec_dmarc **out, struct mailsec_diag *diag);

/* Starts; cb may be NULL (poll mailsec_dmarc_done()). MAILSEC_ESTATE if
 * already started. */
MAILSEC_API mailsec_err mailsec_dmarc_start(struct mailsec_dmarc *d,
    mailsec_dmarc_done_cb cb, void *arg);

MAILSEC_API bool mailsec_dmarc_done(const struct mailsec_dmarc *d);

/* The outcome once done (NULL before); valid until _free or _take. */
MAILSEC_API const struct mailsec_dmarc_outcome *mailsec_dmarc_outcome(
    const struct mailsec_dmarc *d);

/* Hands the outcome to the caller (mailsec_dmarc_outcome_free()). */
MAILSEC_API struct mailsec_dmarc_outcome *mailsec_dmarc_take_outcome(
    struct mailsec_dmarc *d);

/* Cancels pending queries and frees; NULL is a no-op. Not from inside
 * one of its DNS callbacks other than the done cb. */
MAILSEC_API void mailsec_dmarc_free(struct mailsec_dmarc *d);

/* Synchronous wrappers: new + start + run the resolver until done (at
 * most 20 s, then temperror). *out: mailsec_dmarc_outcome_free(). */
MAILSEC_API mailsec_err mailsec_dmarc_evaluate(struct mailsec_resolver *r,
    const struct mailsec_dmarc_request *req,
    const struct mailsec_dmarc_opts *opts,
    struct mailsec_dmarc_outcome **out, struct mailsec_diag *diag);

MAILSEC_API mailsec_err mailsec_dmarc_discover(struct mailsec_resolver *r,
    const char *domain, const struct mailsec_dmarc_opts *opts,
    struct mailsec_dmarc_outcome **out, struct mailsec_diag *diag);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_DMARC_H */
