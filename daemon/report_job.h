/*
 * daemon/report_job.h - the DMARC aggregate report job (RFC 9990): for
 * every policy domain and period with stored evaluations, build the
 * report, check each rua destination (RFC 9990 4, external destinations
 * verified through _report._dmarc), compose the gzip'd report mail
 * (mailsec/report.h) and hand it to a send callback (the daemon's puts
 * it in the queue; `mailsec report send` too, see cli/cmd_report.c).
 *
 * Periods are UTC days (RFC 9990 3.1.1.4), never overlapping: a period
 * starts after the policy domain's last reported one, so a report made
 * early (include_current: "up to now") is followed by one for the rest
 * of that day. A period with a temporary failure (DNS during the
 * destination check, the send callback failing) stays open and is
 * retried on the next run, for the destinations that failed only, with
 * the same report ID and file name (RFC 9990 3.5.2).
 *
 * Size limits: the "!size" suffix of a rua URI is obsolete in RFC 9989
 * (4.7, 4.8: "reporters should ignore" it) and ignored for RFC 9990
 * reports (the job says so). Reports in the RFC 7489 format honour it as
 * RFC 7489 asks: a report whose gzip'd size exceeds the limit is not
 * sent; a short notice saying so goes to that address instead.
 */
#ifndef MAILSEC_DAEMON_REPORT_JOB_H
#define MAILSEC_DAEMON_REPORT_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mailsec/dns.h>
#include <mailsec/err.h>
#include <mailsec/report.h>

#include "report_store.h"

/* One mail for the send callback. Borrowed for the call. */
struct report_job_mail {
	const char *policy_domain;
	const char *from;		/* envelope and header sender */
	const char *rcpt;		/* the destination address */
	const char *filename;		/* the report's RFC 9990 file name */
	const char *data;		/* the whole message, CRLF lines */
	size_t len;
	bool notice;			/* a "too big" notice, not the report */
};

/* Hands m to the queue (or elsewhere). MAILSEC_OK: taken; any error:
 * the destination is retried on the next run. */
typedef mailsec_err (*report_send_fn)(void *arg,
    const struct report_job_mail *m);

struct report_job_conf {
	const char *receiver;		/* our domain: file name, Submitter
					 * (required) */
	const char *org_name;		/* report_metadata; NULL: receiver */
	const char *from;		/* our reporting address (required) */
	const char *email;		/* report_metadata contact; NULL:
					 * from */
	const char *message_id_domain;	/* NULL: receiver */
	enum mailsec_report_format format;	/* UNKNOWN: RFC 9990 */
	struct mailsec_resolver *resolver;	/* destination checks
					 * (required unless dry_run) */
	report_send_fn send;		/* required unless dry_run */
	void *send_arg;
	int64_t now;			/* Unix time */
	bool include_current;		/* also the current day, up to now */
	bool dry_run;			/* build and check, send and record
					 * nothing */
	FILE *out;			/* one line per period and destination,
					 * or NULL */
};

struct report_job_stats {
	size_t periods;			/* periods looked at */
	size_t sent;			/* reports handed to send */
	size_t too_big;			/* notices sent instead */
	size_t unauthorized;
	size_t skipped;			/* no rua, not mailto, malformed */
	size_t tempfail;
};

/*
 * Runs the job once over st. Errors of one destination are recorded and
 * counted, not returned; the return is MAILSEC_OK unless the store
 * failed (MAILSEC_EIO, report_store_error()), memory ran out or conf is
 * unusable (MAILSEC_EINVAL).
 */
mailsec_err report_job_run(struct report_store *st,
    const struct report_job_conf *conf, struct report_job_stats *stats);

/* The period's report as the job builds it (for tests and the CLI's
 * dry run): *out is freed with mailsec_agg_report_free(). ENOTFOUND:
 * no evaluation in the period. */
mailsec_err report_job_build(struct report_store *st,
    const struct report_job_conf *conf, const struct report_period *p,
    struct mailsec_agg_report **out, char **rua);

#endif /* MAILSEC_DAEMON_REPORT_JOB_H */
