/*
 * daemon/report_fail.h - DMARC failure reports from the gateway
 * (RFC 9991, the AFRF format of RFC 6591; docs/reports.md, "In the
 * gateway"). Off by default (reports.failure).
 *
 * At verdict time the pipeline hands each evaluated message here
 * (report_fail_submit(), on the event loop: a decision and copies, no
 * I/O). A report is due when the applied DMARC record has ruf= and its
 * fo= asks for one (RFC 9989 4.7):
 *
 *   fo=0 (the default)  no mechanism produced an aligned pass (DMARC
 *                       fails): Auth-Failure dmarc
 *   fo=1                some mechanism did not produce an aligned pass
 *                       (even when the other passed): dmarc
 *   fo=d                a DKIM signature failed its verification,
 *                       aligned or not: dkim
 *   fo=s                SPF failed, aligned or not: spf
 *
 * One report per message and destination (the first of dmarc, dkim,
 * spf that applies). Never for a message that could not be evaluated
 * (DMARC none, temperror, permerror), never from a PSD record (psd=y,
 * RFC 9991 2), never about a message that says it is automatic
 * (Auto-Submitted other than "no", RFC 3834: reports about reports
 * could loop, RFC 9991 5.1).
 *
 * A thread of the worker does the rest: each mailto: destination of
 * ruf= is checked with mailsec_report_dest_verify() (RFC 9991 5; the
 * answer cached per policy and destination domain for an hour),
 * rate-limited (reports.failure_rate per destination address per
 * clock hour, the rest dropped and counted), composed with
 * mailsec_failure_report_compose() (redacted when
 * reports.failure_redact) and put into the queue with queue_inject().
 *
 * One instance per process (a worker has one event loop, one pipeline):
 * the functions below work on it; before report_fail_start() and after
 * report_fail_stop() submit does nothing.
 */
#ifndef MAILSEC_DAEMON_REPORT_FAIL_H
#define MAILSEC_DAEMON_REPORT_FAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/dmarc.h>
#include <mailsec/err.h>

#include "report_store.h"

struct gw_config;
struct queue;

/* Messages waiting for the thread at most; more are dropped (logged). */
#define REPORT_FAIL_PENDING_MAX	1000
/* Destinations remembered by the rate limit and the check cache. */
#define REPORT_FAIL_DEST_MAX	4096
/* How long a destination check's answer is kept (s). */
#define REPORT_FAIL_CHECK_TTL	3600
/* The header section copied for a report at most (the composer keeps
 * 256 KiB of it). */
#define REPORT_FAIL_HEADER_MAX	((size_t)256 * 1024)

/* What the pipeline knows of one message at verdict time. Borrowed. */
struct report_fail_msg {
	const struct mailsec_dmarc_outcome *dmarc;
	const struct report_eval_src *src;	/* time, IP, MAIL FROM, SPF
						 * and DKIM results */
	const char *headers;		/* the header section as received */
	size_t headers_len;
	const char *prepend;		/* the verdict's prepended fields:
					 * our Authentication-Results is
					 * taken from them */
	size_t prepend_len;
};

/* Why a message gets a report (or none). */
enum report_fail_kind {
	REPORT_FAIL_NONE = 0,
	REPORT_FAIL_DMARC,
	REPORT_FAIL_DKIM,
	REPORT_FAIL_SPF
};

/*
 * The decision alone (no configuration needed): which report fo= asks
 * for about this message, per the rules above. *ruf receives the
 * applied record (with its ruf= list) when one is due.
 */
enum report_fail_kind report_fail_due(const struct report_fail_msg *m,
    const struct mailsec_dmarc_record **rec);

/*
 * Starts the thread with cfg's reports and dns sections (copied) over
 * q (retained: stop first, then close the queue). reports.failure off:
 * nothing starts, submit does nothing (a reload can turn it on:
 * report_fail_reconfigure()). MAILSEC_ENOMEM; MAILSEC_EIO (no thread).
 */
mailsec_err report_fail_start(const struct gw_config *cfg, struct queue *q);

/* New settings (SIGHUP); starts or stops the thread as needed. */
mailsec_err report_fail_reconfigure(const struct gw_config *cfg);

/* Stops the thread; reports still waiting are dropped. */
void report_fail_stop(void);

/* Whether reports may be made: the pipeline keeps a copy of each
 * message's header section only then. */
bool report_fail_enabled(void);

/* The verdict hook (event loop thread): decides and hands a copy of
 * what a report needs to the thread. Never blocks on I/O. */
void report_fail_submit(const struct report_fail_msg *m);

/* Counters since the start (for logs and tests). */
struct report_fail_stats {
	uint64_t submitted;		/* reports due */
	uint64_t queued;		/* mails put into the queue */
	uint64_t rate_limited;
	uint64_t unauthorized;
	uint64_t dropped;		/* pending list full, errors */
};
void report_fail_stats(struct report_fail_stats *st);

/* Waits until the thread has handled every submitted message (tests).
 * false: not started. */
bool report_fail_drain(void);

#endif /* MAILSEC_DAEMON_REPORT_FAIL_H */
