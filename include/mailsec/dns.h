/*
 * mailsec/dns.h - the DNS layer: one asynchronous resolver interface,
 * two backends (libunbound; an RFC 1035 zone file for tests and offline
 * use), and a synchronous helper for the command line.
 *
 * Every lookup ends in exactly one of: an answer, NXDOMAIN, NODATA, or a
 * temporary failure (timeout or server failure). Protocols turn only the
 * last kind into temperror (DESIGN.md, principle 2).
 *
 * Threading: a resolver is used from one thread. Nothing is global.
 */
#ifndef MAILSEC_DNS_H
#define MAILSEC_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/* RR types the layer decodes (RFC 1035, 3596, 6698, 7208). */
enum mailsec_dns_type {
	MAILSEC_DNS_A = 1,
	MAILSEC_DNS_NS = 2,
	MAILSEC_DNS_CNAME = 5,
	MAILSEC_DNS_PTR = 12,
	MAILSEC_DNS_MX = 15,
	MAILSEC_DNS_TXT = 16,
	MAILSEC_DNS_AAAA = 28,
	MAILSEC_DNS_TLSA = 52,
	MAILSEC_DNS_SPF = 99
};

enum mailsec_dns_status {
	MAILSEC_DNS_ANSWER = 0,	/* one or more records of the asked type */
	MAILSEC_DNS_NXDOMAIN,	/* the name does not exist */
	MAILSEC_DNS_NODATA,	/* the name exists, no record of that type */
	MAILSEC_DNS_TIMEOUT,	/* temporary: no answer within the timeout */
	MAILSEC_DNS_SERVFAIL	/* temporary: SERVFAIL, REFUSED, bogus DNSSEC,
				   CNAME loop, resolver error */
};

/* Returns true for TIMEOUT and SERVFAIL: "try again later". */
MAILSEC_API bool mailsec_dns_status_is_temporary(enum mailsec_dns_status s);
/* "answer", "nxdomain", "nodata", "timeout", "servfail". */
MAILSEC_API const char *mailsec_dns_status_name(enum mailsec_dns_status s);
/* "A", "MX", ... or NULL for a type the layer does not know. */
MAILSEC_API const char *mailsec_dns_type_name(uint16_t type);
/* Parses "A", "mx", "TYPE99"; returns 0 when unknown. */
MAILSEC_API uint16_t mailsec_dns_type_parse(const char *name);

/*
 * One decoded record. Names are in presentation form without the final
 * dot ("mail.example.org"), with bytes outside LDH printed as \DDD.
 */
struct mailsec_dns_rr {
	uint16_t type;
	uint32_t ttl;
	union {
		uint8_t a[4];			/* A, network order */
		uint8_t aaaa[16];		/* AAAA, network order */
		struct {
			uint16_t preference;
			char *exchange;		/* "" for the null MX "." */
		} mx;
		char *name;			/* NS, CNAME, PTR target */
		struct {
			char *data;		/* the character-strings
						   concatenated, NUL added */
			size_t len;		/* bytes in data (may hold NUL) */
			size_t nstrings;	/* how many character-strings */
		} txt;				/* TXT and SPF */
		struct {
			uint8_t usage;
			uint8_t selector;
			uint8_t mtype;
			uint8_t *data;		/* certificate association */
			size_t len;
		} tlsa;
	} u;
};

/*
 * The outcome of one query. Owned by whoever holds the pointer; freed
 * with mailsec_dns_result_free().
 */
struct mailsec_dns_result {
	enum mailsec_dns_status status;
	uint16_t qtype;
	char *qname;		/* the name as asked, no final dot */
	char *canonical;	/* owner of the records after CNAMEs */
	bool secure;		/* DNSSEC-validated by our resolver
				   (recursion, or forwarding with validate);
				   always false when forwarding without
				   validation: an upstream's AD bit over
				   plain UDP proves nothing */
	bool bogus;		/* DNSSEC validation failed (status SERVFAIL) */
	size_t count;		/* records in rrs (0 unless ANSWER) */
	struct mailsec_dns_rr *rrs;
	char why[160];		/* for failures: what happened, for humans */
};

/* Frees res and everything it points to; NULL is a no-op. */
MAILSEC_API void mailsec_dns_result_free(struct mailsec_dns_result *res);

/* A deep copy of res, freed with mailsec_dns_result_free(); NULL when res
 * is NULL or memory ran out. */
MAILSEC_API struct mailsec_dns_result *mailsec_dns_result_dup(
    const struct mailsec_dns_result *res);

/*
 * Shared results (see mailsec_resolver_query_shared()): read-only and
 * reference-counted, one allocation each. _ref() takes one more
 * reference and returns res; _unref() drops one, the last frees (NULL
 * is a no-op). Only for results a shared callback was given, never for
 * those of mailsec_resolver_query() (mailsec_dns_result_free() those).
 * Not thread-safe: like the resolver, one thread.
 */
MAILSEC_API const struct mailsec_dns_result *mailsec_dns_result_ref(
    const struct mailsec_dns_result *res);
MAILSEC_API void mailsec_dns_result_unref(const struct mailsec_dns_result *res);

struct mailsec_resolver;

/*
 * Completion callback. res is handed over: the callback owns it and frees
 * it with mailsec_dns_result_free(). Callbacks run only from inside
 * mailsec_resolver_process() or _wait(); they may start new queries and
 * cancel others, but must not free the resolver.
 */
typedef void (*mailsec_dns_cb)(void *arg, struct mailsec_dns_result *res);

/*
 * Completion callback of mailsec_resolver_query_shared(). res is
 * borrowed for the call and read-only; to keep it longer, take a
 * reference (mailsec_dns_result_ref()) and drop it later (_unref()).
 * Same rules as mailsec_dns_cb otherwise.
 */
typedef void (*mailsec_dns_shared_cb)(void *arg,
    const struct mailsec_dns_result *res);

/* ---- backends ---------------------------------------------------------- */

/*
 * Zone-file backend: answers from an RFC 1035 master file (see
 * docs/dns.md for the accepted syntax and the $TIMEOUT / $SERVFAIL test
 * directives). Names outside every loaded record are NXDOMAIN.
 * path: read once, here. diag (optional) says which line was refused.
 */
MAILSEC_API mailsec_err mailsec_resolver_new_zone_file(const char *path,
    struct mailsec_resolver **out, struct mailsec_diag *diag);

/* Same, from zone text in memory; origin may be NULL ("."). */
MAILSEC_API mailsec_err mailsec_resolver_new_zone_mem(const char *text,
    size_t len, const char *origin, struct mailsec_resolver **out,
    struct mailsec_diag *diag);

struct mailsec_unbound_opts {
	/*
	 * NULL or "": embedded recursive resolver from the root hints, with
	 * DNSSEC validation. Otherwise a comma-separated list of servers to
	 * forward to, each "ADDRESS[@PORT]" (IPv4 or IPv6 literal).
	 */
	const char *forward;
	/* Validate DNSSEC when forwarding too (recursion always does). */
	bool validate;
	/* Trust anchor file; NULL means Debian's /usr/share/dns/root.key. */
	const char *trust_anchor;
};

/* libunbound backend. opts may be NULL (recursive, validating). */
MAILSEC_API mailsec_err mailsec_resolver_new_unbound(
    const struct mailsec_unbound_opts *opts, struct mailsec_resolver **out,
    struct mailsec_diag *diag);

/*
 * What the command line's --dns / --dns-zone choose: zone_file (if
 * non-NULL) wins, then forward (if non-NULL), else recursion.
 */
MAILSEC_API mailsec_err mailsec_resolver_new_from_args(const char *forward,
    const char *zone_file, struct mailsec_resolver **out,
    struct mailsec_diag *diag);

/* Cancels every pending query (their callbacks never run) and frees r. */
MAILSEC_API void mailsec_resolver_free(struct mailsec_resolver *r);

/* Backend name: "zone" or "unbound". */
MAILSEC_API const char *mailsec_resolver_backend(
    const struct mailsec_resolver *r);

/* Per-query timeout in milliseconds for queries started afterwards
 * (default 5000; 0 restores the default). */
MAILSEC_API void mailsec_resolver_set_timeout(struct mailsec_resolver *r,
    unsigned ms);

/*
 * Answer cache, off by default. With max_entries > 0 the resolver keeps
 * copies of the results its backend delivers, by (name, type) with the
 * name compared case-insensitively, at most max_entries of them:
 * - ANSWER for the smallest TTL of its records, at most 86400 s; a TTL
 *   of 0 is not kept;
 * - NXDOMAIN and NODATA for 60 s (the results carry no SOA, so the RFC
 *   2308 negative TTL is not known; 60 s is well under its usual values);
 * - TIMEOUT and SERVFAIL never.
 * A query that finds a fresh entry is answered from memory: its callback
 * gets a copy (qname as asked, TTLs lowered by the time spent in the
 * cache) from the next _process(), without the backend. It still counts
 * in mailsec_resolver_query_count(). When full, an expired entry among
 * the oldest few goes first, otherwise the oldest. Each call empties the
 * cache; 0 turns it off. Returns MAILSEC_ENOMEM (cache off) or OK.
 */
MAILSEC_API mailsec_err mailsec_resolver_set_cache(struct mailsec_resolver *r,
    size_t max_entries);

/* Queries answered from the cache since creation. */
MAILSEC_API uint64_t mailsec_resolver_cache_hits(
    const struct mailsec_resolver *r);

/* Entries in the cache now (expired ones included until dropped). */
MAILSEC_API size_t mailsec_resolver_cache_size(
    const struct mailsec_resolver *r);

/* ---- asynchronous use -------------------------------------------------- */

/*
 * Starts a query for (name, type). name is NUL-terminated, with or without
 * the final dot; names longer than 253 octets or with labels over 63 are
 * refused with MAILSEC_EINVAL. On success *qid (if non-NULL) identifies
 * the query for _cancel, and cb will be called exactly once unless the
 * query is cancelled or the resolver freed first.
 */
MAILSEC_API mailsec_err mailsec_resolver_query(struct mailsec_resolver *r,
    const char *name, uint16_t type, mailsec_dns_cb cb, void *arg,
    uint64_t *qid);

/*
 * Same as mailsec_resolver_query(), but the callback shares the result
 * instead of owning a copy: a query answered from the answer cache costs
 * no copy at all, the callback gets the cached result itself. Such a
 * result is exactly as the cache holds it: qname as the query that
 * filled the entry wrote it (case may differ from name), TTLs as they
 * were received (not lowered by the time spent in the cache). Results
 * from the backend are the same shape (one allocation, read-only), and
 * the cache keeps that very object, so a miss costs one copy.
 */
MAILSEC_API mailsec_err mailsec_resolver_query_shared(
    struct mailsec_resolver *r, const char *name, uint16_t type,
    mailsec_dns_shared_cb cb, void *arg, uint64_t *qid);

/* Cancels a pending query; its callback will not run. Unknown ids are
 * ignored. */
MAILSEC_API void mailsec_resolver_cancel(struct mailsec_resolver *r,
    uint64_t qid);

/* File descriptor that becomes readable when _process() has work, for an
 * event loop to watch; -1 when the backend has none (the zone backend
 * answers at once: _next_timeout() then says 0). */
MAILSEC_API int mailsec_resolver_fd(const struct mailsec_resolver *r);

/* Milliseconds until the earliest query deadline, or -1 if none pending:
 * the event loop's timer, after which _process() expires queries. */
MAILSEC_API int mailsec_resolver_next_timeout(const struct mailsec_resolver *r);

/* Non-blocking: delivers every finished query and every expired one. */
MAILSEC_API mailsec_err mailsec_resolver_process(struct mailsec_resolver *r);

/* Blocks until at least one callback ran, or timeout_ms passed (-1:
 * until a pending query ends). Returns MAILSEC_OK either way. */
MAILSEC_API mailsec_err mailsec_resolver_wait(struct mailsec_resolver *r,
    int timeout_ms);

/* Queries started and not yet delivered or cancelled. */
MAILSEC_API size_t mailsec_resolver_pending(const struct mailsec_resolver *r);

/* Queries started since creation or the last reset. */
MAILSEC_API uint64_t mailsec_resolver_query_count(
    const struct mailsec_resolver *r);
MAILSEC_API void mailsec_resolver_reset_query_count(
    struct mailsec_resolver *r);

/* ---- synchronous helper ------------------------------------------------ */

/*
 * Runs one query to completion (other pending queries progress too).
 * *out receives the result, owned by the caller. Errors are only for
 * calls that could not be made (EINVAL, ENOMEM); DNS outcomes, failures
 * included, are in (*out)->status.
 */
MAILSEC_API mailsec_err mailsec_dns_lookup(struct mailsec_resolver *r,
    const char *name, uint16_t type, struct mailsec_dns_result **out);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_DNS_H */
