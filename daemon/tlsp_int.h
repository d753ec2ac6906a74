/*
 * daemon/tlsp_int.h - the inside of struct tlsp_ctx, shared by the
 * MTA-STS cache (tlspolicy.c), DANE and the handshake checks
 * (tlsp_dane.c) and TLS-RPT (tlsrpt.c).
 */
#ifndef GW_TLSP_INT_H
#define GW_TLSP_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509_vfy.h>

#include <mailsec/mtasts.h>

#include "tlspolicy.h"

/* The HTTPS fetch of a policy: RFC 8461 3.3 allows a 64 KiB cap and
 * suggests a timeout; ten seconds for connect and transfer alike. */
#define TLSP_FETCH_MS		10000L
/* Longest domain name (RFC 1035 2.3.4, presentation form). */
#define TLSP_NAME_MAX		253
/* Unsent TLS-RPT days kept before they are given up (RFC 8460 5.1 asks
 * for daily reports; a week of failed sends is enough to stop). */
#define TLSP_RPT_KEEP_DAYS	7
/* Bytes of one TLS-RPT JSON report (before gzip). */
#define TLSP_RPT_JSON_MAX	(16u * 1024 * 1024)
/* Failure-detail rows per policy entry; later ones are counted in the
 * summary only. */
#define TLSP_RPT_DETAILS_MAX	256

/* One cached MTA-STS policy. */
struct tlsp_sts_entry {
	char *domain;			/* lowercase, no final dot */
	char *id;			/* the TXT id= it was fetched for */
	char *text;			/* the policy body as served */
	size_t textlen;
	struct mailsec_mtasts_policy *pol;
	int64_t fetched;		/* Unix time of the fetch */
};

/* One failure-details row (RFC 8460 4.3). */
struct tlsp_rpt_fail {
	char *result_type;
	char *ip;			/* sending-mta-ip: the MX's address
					   as we reached it */
	char *mx;			/* receiving-mx-hostname */
	uint64_t count;
};

/* The results of one (domain, day, policy). */
struct tlsp_rpt {
	char *domain;
	int64_t day;			/* days since 1970-01-01 (UTC) */
	char *ptype;			/* "sts", "tlsa", "no-policy-found" */
	char *pstring;			/* policy-string items, '\n'-joined */
	char *mxhost;			/* mx-host items, '\n'-joined */
	uint64_t ok, failed;
	struct tlsp_rpt_fail *fails;
	size_t nfails;
	bool sent;
};

struct tlsp_ctx {
	pthread_mutex_t lock;		/* everything below */
	bool mta_sts, dane, tlsrpt;
	char *cache_dir;		/* NULL: nothing persisted */
	char *ca_file;
	uint16_t https_port;
	char *reporting_org;
	char *reporting_contact;
	X509_STORE *store;		/* MTA-STS trust anchors (read-only
					   once made: shared by threads) */
	int64_t (*now)(void *);
	void *now_arg;
	struct tlsp_sts_entry *sts;
	size_t nsts, capsts;
	struct tlsp_rpt *rpt;
	size_t nrpt, caprpt;
};

/* The context's clock (Unix seconds). */
int64_t tlsp_now(const struct tlsp_ctx *t);

/* Formats an error into (err, errlen); nothing when err is NULL. */
void tlsp_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Lowercases name without a final dot into out (TLSP_NAME_MAX + 1
 * bytes); false when it is not an LDH host name. */
bool tlsp_name_norm(const char *name, char *out);

/* mkdir -p of path (mode 0700); 0 or -1 with errno. */
int tlsp_mkdirs(const char *path);

/* Writes (p, len) to path through path.tmp, fsync, rename; 0 or -1. */
int tlsp_write_file(const char *path, const void *p, size_t len);

/* tlsrpt.c: replays cache_dir/tlsrpt/ into t (at tlsp_new) and frees
 * the results (tlsp_free). */
mailsec_err tlsp_rpt_load(struct tlsp_ctx *t);
void tlsp_rpt_free_all(struct tlsp_ctx *t);

/* tlsrpt.c: records one result under an explicit policy (the MTA-STS
 * fetch error has no struct tlsp_domain to go by). */
void tlsp_rpt_record(struct tlsp_ctx *t, const char *domain,
    const char *ptype, const char *pstring, const char *mxhost,
    const char *mx_host, const char *ip, bool ok, const char *result_type);

#endif /* GW_TLSP_INT_H */
