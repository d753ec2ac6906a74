/*
 * mailsec/spf.h - Sender Policy Framework (RFC 7208): check_host() as an
 * asynchronous evaluation over the DNS layer, a synchronous wrapper, and
 * the Received-SPF (RFC 7208 9.1) and Authentication-Results (RFC 8601)
 * renderings of a result.
 *
 * An evaluation (struct mailsec_spf) issues its DNS queries through a
 * struct mailsec_resolver and progresses in the resolver's callbacks: the
 * caller runs its event loop (mailsec_resolver_fd/next_timeout/process)
 * and is told through a completion callback. Independent queries (the
 * address lookups of an mx mechanism's exchanges, of a ptr mechanism's
 * names) are issued together. Nothing is global; many evaluations may
 * share one resolver.
 *
 * Limits (each produces permerror, never a truncation of input):
 * 10 DNS-querying terms, 10 MX names per mx, 2 void lookups (RFC 7208
 * 4.6.4); record length MAILSEC_SPF_RECORD_MAX; macro expansion length
 * MAILSEC_SPF_EXPAND_MAX. The one truncation is the RFC's own: an
 * expanded domain-spec over 253 octets loses labels on the left (7.3).
 */
#ifndef MAILSEC_SPF_H
#define MAILSEC_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/dns.h>
#include <mailsec/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest SPF record accepted (the TXT strings joined). RFC 7208 3.4
 * asks publishers to stay near 450; DNS allows far more. */
#define MAILSEC_SPF_RECORD_MAX 8192
/* Longest macro expansion (before the 253-octet domain truncation of
 * RFC 7208 7.3, and for explanations): bounds %{...} growth. */
#define MAILSEC_SPF_EXPAND_MAX 4096
/* RFC 7208 4.6.4. */
#define MAILSEC_SPF_LOOKUP_MAX 10
#define MAILSEC_SPF_MX_MAX 10
#define MAILSEC_SPF_PTR_MAX 10
#define MAILSEC_SPF_VOID_MAX 2

/* The seven results of RFC 7208 2.6. */
enum mailsec_spf_result {
	MAILSEC_SPF_NONE = 0,
	MAILSEC_SPF_NEUTRAL,
	MAILSEC_SPF_PASS,
	MAILSEC_SPF_FAIL,
	MAILSEC_SPF_SOFTFAIL,
	MAILSEC_SPF_TEMPERROR,
	MAILSEC_SPF_PERMERROR
};

/* "none", "neutral", "pass", "fail", "softfail", "temperror",
 * "permerror". */
MAILSEC_API const char *mailsec_spf_result_name(enum mailsec_spf_result r);

enum mailsec_spf_identity {
	MAILSEC_SPF_ID_MAILFROM = 0,	/* RFC 7208 2.4 */
	MAILSEC_SPF_ID_HELO		/* RFC 7208 2.3 */
};

/*
 * What to check. Strings are borrowed for the call to mailsec_spf_new()
 * (which copies them).
 *   ip:        the client address, IPv4 or IPv6 text; an IPv4-mapped
 *              IPv6 address (::ffff:192.0.2.1) is checked as IPv4.
 *   mail_from: the SMTP reverse-path without <>; NULL or "" (the null
 *              reverse-path) checks the HELO identity, with the sender
 *              postmaster@HELO (RFC 7208 2.4).
 *   helo:      the HELO/EHLO name (NULL: none given).
 *   receiver:  this host's name, for %{r} and Received-SPF (NULL:
 *              "unknown").
 *   identity:  MAILFROM checks mail_from (or HELO when it is null);
 *              HELO checks the HELO name only.
 *   now:       seconds since the epoch for %{t} (0: the current time).
 */
struct mailsec_spf_request {
	const char *ip;
	const char *mail_from;
	const char *helo;
	const char *receiver;
	enum mailsec_spf_identity identity;
	int64_t now;
};

enum mailsec_spf_event_kind {
	MAILSEC_SPF_EV_RECORD,	/* a record fetched for a domain */
	MAILSEC_SPF_EV_TERM,	/* a term about to be evaluated */
	MAILSEC_SPF_EV_QUERY,	/* a DNS query sent */
	MAILSEC_SPF_EV_ANSWER,	/* its outcome */
	MAILSEC_SPF_EV_RESULT,	/* a check_host() level finished */
	MAILSEC_SPF_EV_NOTE	/* anything else worth knowing */
};

/* One line of the trace. depth is the include/redirect nesting level
 * (0 for the checked domain). */
struct mailsec_spf_event {
	enum mailsec_spf_event_kind kind;
	unsigned depth;
	char *text;
};

/*
 * The outcome. Owned by the evaluation (or by the caller after
 * mailsec_spf_check()); strings are NUL-terminated.
 */
struct mailsec_spf_outcome {
	enum mailsec_spf_result result;
	enum mailsec_spf_identity identity;
	char *sender;		/* local@domain as checked */
	char *domain;		/* the checked domain */
	char *mechanism;	/* the term that decided, as written
				   ("-all", "include:_spf.example.net"),
				   NULL when none matched (default) */
	char *explanation;	/* result fail only: the expanded exp=, or
				   the default text; NULL otherwise */
	bool explanation_default; /* explanation is the default text */
	char *problem;		/* temperror/permerror: what went wrong */
	unsigned lookups;	/* DNS-querying terms used (limit 10) */
	unsigned void_lookups;	/* NXDOMAIN/NODATA lookups (limit 2) */
	unsigned queries;	/* DNS queries actually sent */
	size_t ntrace;
	struct mailsec_spf_event *trace;
};

/* Frees the outcome's contents and the outcome; NULL is a no-op. */
MAILSEC_API void mailsec_spf_outcome_free(struct mailsec_spf_outcome *o);

struct mailsec_spf;

/* Called once when the evaluation finished (from inside the resolver's
 * process/wait, or from mailsec_spf_start() when no query was needed).
 * It may free the evaluation. */
typedef void (*mailsec_spf_done_cb)(void *arg, struct mailsec_spf *spf);

/*
 * Creates an evaluation of req over resolver r (retained, not owned: it
 * must outlive the evaluation). MAILSEC_EINVAL (with diag) when ip is not
 * an address or req is unusable; an unusable sender or HELO domain is not
 * an error (the result is none, RFC 7208 4.3).
 */
MAILSEC_API mailsec_err mailsec_spf_new(struct mailsec_resolver *r,
    const struct mailsec_spf_request *req, struct mailsec_spf **out,
    struct mailsec_diag *diag);

/* Records the trace (off by default: only the outcome is kept). */
MAILSEC_API void mailsec_spf_set_trace(struct mailsec_spf *spf, bool on);

/*
 * A cache of parsed SPF records, owned by the caller, shared by any
 * number of evaluations. The key is the exact record text (the TXT
 * strings joined, case and spaces included), so a record that changes
 * is parsed again the first time its new text arrives; freshness is the
 * DNS layer's business (its answer cache, mailsec_resolver_set_cache()),
 * and an entry needs no TTL of its own. Only records that parse are
 * kept. Parsed records are immutable and reference-counted: evicting or
 * freeing the cache never pulls one from under a running evaluation.
 *
 * Bounds: at most max_records records and max_bytes bytes of parsed
 * data (text plus terms; 0 means MAILSEC_SPF_CACHE_BYTES_DEFAULT); when
 * either is reached the least recently used record goes. A record that
 * alone exceeds max_bytes is not kept.
 *
 * Threading: like a resolver, a cache is used from one thread (one per
 * event loop); it is not locked.
 */
struct mailsec_spf_cache;

#define MAILSEC_SPF_CACHE_BYTES_DEFAULT ((size_t)16 << 20)

struct mailsec_spf_cache_stats {
	uint64_t hits;		/* records served from the cache */
	uint64_t misses;	/* records parsed (kept or not) */
	uint64_t evictions;	/* records dropped for the bounds */
	size_t records;		/* records kept now */
	size_t bytes;		/* their cost toward max_bytes */
};

/* MAILSEC_EINVAL when max_records is 0; MAILSEC_ENOMEM. */
MAILSEC_API mailsec_err mailsec_spf_cache_new(size_t max_records,
    size_t max_bytes, struct mailsec_spf_cache **out);

/* Drops every record (evaluations keep those they hold) and frees c;
 * NULL is a no-op. No evaluation may use c afterwards. */
MAILSEC_API void mailsec_spf_cache_free(struct mailsec_spf_cache *c);

MAILSEC_API void mailsec_spf_cache_stats(const struct mailsec_spf_cache *c,
    struct mailsec_spf_cache_stats *out);

/*
 * Makes spf take its parsed records from c (retained, not owned: it must
 * outlive the evaluation). Before mailsec_spf_start(); NULL (the
 * default) parses every record. The outcome is the same either way.
 */
MAILSEC_API void mailsec_spf_set_cache(struct mailsec_spf *spf,
    struct mailsec_spf_cache *c);

/*
 * Starts the evaluation. cb (may be NULL) runs when it is done; poll with
 * mailsec_spf_done() otherwise. MAILSEC_ESTATE if already started.
 */
MAILSEC_API mailsec_err mailsec_spf_start(struct mailsec_spf *spf,
    mailsec_spf_done_cb cb, void *arg);

MAILSEC_API bool mailsec_spf_done(const struct mailsec_spf *spf);

/* The outcome once done (NULL before); valid until _free or _take. */
MAILSEC_API const struct mailsec_spf_outcome *mailsec_spf_outcome(
    const struct mailsec_spf *spf);

/* Hands the outcome to the caller (mailsec_spf_outcome_free()). */
MAILSEC_API struct mailsec_spf_outcome *mailsec_spf_take_outcome(
    struct mailsec_spf *spf);

/* Cancels pending queries and frees; NULL is a no-op. Not from inside
 * one of the evaluation's own DNS callbacks other than the done cb. */
MAILSEC_API void mailsec_spf_free(struct mailsec_spf *spf);

/*
 * Synchronous wrapper: new + start + run the resolver until done, or
 * temperror after 20 s (RFC 7208 4.6.4). *out receives the outcome (the
 * caller frees it). trace: record events.
 */
MAILSEC_API mailsec_err mailsec_spf_check(struct mailsec_resolver *r,
    const struct mailsec_spf_request *req, bool trace,
    struct mailsec_spf_outcome **out, struct mailsec_diag *diag);

/*
 * The Received-SPF field value (RFC 7208 9.1), without the field name
 * and without folding: "pass (receiver: domain of s designates ip as
 * permitted sender) client-ip=...; envelope-from=...; helo=...;
 * receiver=...; identity=...; mechanism=...". Data from the sender is
 * quoted and stripped of control and non-ASCII bytes. *out: free().
 */
MAILSEC_API mailsec_err mailsec_spf_received_spf(
    const struct mailsec_spf_outcome *o,
    const struct mailsec_spf_request *req, char **out);

/*
 * The spf method of Authentication-Results (RFC 8601 2.7.2):
 * "spf=pass smtp.mailfrom=example.org" (or smtp.helo=...). *out: free().
 */
MAILSEC_API mailsec_err mailsec_spf_authres(
    const struct mailsec_spf_outcome *o, char **out);

/*
 * Checks an SPF record's syntax (RFC 7208 4.5, 4.6, 12) as check_host()
 * would: MAILSEC_OK, or MAILSEC_ESYNTAX / MAILSEC_ELIMIT with diag
 * pointing at the offending term.
 */
MAILSEC_API mailsec_err mailsec_spf_record_check(const char *p, size_t len,
    struct mailsec_diag *diag);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_SPF_H */
