/*
 * lib/dns/dns_int.h - what a resolver backend implements, and the helpers
 * the backends share. The generic layer (resolver.c) owns the queries,
 * their deadlines and callback delivery; a backend only starts, cancels
 * and finishes lookups.
 */
#ifndef MS_DNS_INT_H
#define MS_DNS_INT_H

#include <mailsec/dns.h>

#include "core/core.h"

#define MS_DNS_DEFAULT_TIMEOUT_MS 5000u
#define MS_DNS_MAX_NAME 253	/* RFC 1035 2.3.4, presentation, no dot */
#define MS_DNS_MAX_LABEL 63

struct ms_dns_query {
	uint64_t id;
	uint16_t type;
	char *name;			/* as asked, final dot removed; in
					   the same allocation as q */
	mailsec_dns_cb cb;		/* one of cb and scb is set */
	mailsec_dns_shared_cb scb;
	void *arg;
	uint64_t deadline;		/* ms_monotonic_ms() value */
	struct mailsec_resolver *r;
	bool finished;			/* on the done list */
	struct mailsec_dns_result *res;	/* cb: the result, once finished
					   (NULL then: out of memory) */
	const struct mailsec_dns_result *sres; /* scb: a shared result,
					   one reference held */
	void *bdata;			/* the backend's own per-query data */
	uint64_t bid;			/* or its own id */
	struct ms_dns_query *prev, *next;
};

struct ms_dns_backend {
	const char *name;
	/* Begins resolving q. The backend finishes it later, from inside
	 * its process(), with ms_dns_finish(). */
	mailsec_err (*start)(void *impl, struct ms_dns_query *q);
	/* q will not be finished: drop whatever the backend holds for it. */
	void (*cancel)(void *impl, struct ms_dns_query *q);
	/* Readable when process() has work. */
	int (*fd)(void *impl);
	/* Non-blocking; finishes the queries whose answers arrived. */
	mailsec_err (*process)(void *impl);
	void (*free)(void *impl);
};

/* Wraps a backend; on success r owns impl (freed with ops->free). On
 * failure impl is freed too. */
mailsec_err ms_resolver_new(const struct ms_dns_backend *ops, void *impl,
    struct mailsec_resolver **out);

/* Called by a backend when q is done. Takes res (NULL means ENOMEM and
 * becomes a SERVFAIL result). The callback runs later in process(). */
void ms_dns_finish(struct ms_dns_query *q, struct mailsec_dns_result *res);

/* A new, empty result for q with the given status; NULL on ENOMEM. */
struct mailsec_dns_result *ms_dns_result_new(const char *qname,
    uint16_t qtype, enum mailsec_dns_status status);

/* Appends rr (the result takes ownership of its pointers, even on
 * failure) and sets status ANSWER. */
mailsec_err ms_dns_result_add(struct mailsec_dns_result *res,
    struct mailsec_dns_rr *rr);

/* Frees the pointers inside rr (not rr itself). */
void ms_dns_rr_cleanup(struct mailsec_dns_rr *rr);

/* Milliseconds from an arbitrary start, CLOCK_MONOTONIC. */
uint64_t ms_monotonic_ms(void);

/* Checks a name as mailsec_resolver_query() takes it; *len receives
 * its length without the final dot. */
mailsec_err ms_dns_name_check(const char *name, size_t *len);

/* Checks a name as mailsec_resolver_query() takes it and copies it
 * without the final dot into a new allocation (*out). */
mailsec_err ms_dns_name_dup(const char *name, char **out);

#endif /* MS_DNS_INT_H */
