/*
 * daemon/report_sched.h - DMARC aggregate reports in the running
 * gateway (docs/reports.md, "In the gateway"): the report job
 * (daemon/report_job.h) on schedule in one process, its mails handed to
 * the queue (queue_inject()) and delivered like any other mail, and the
 * import of reports mailed to reports.ingest_address.
 *
 * The schedule is a thread of its own (the job queries DNS and writes
 * the store synchronously: never on an event loop). It runs the job at
 * start and then:
 *
 *   reports.period 1d (the default): every hour, for the UTC days that
 *     ended (RFC 9990 3.1.1.4); a day is reported once, so the hourly
 *     runs only retry destinations that failed temporarily;
 *   a shorter period (60 s at least; for tests and impatient
 *     operators): every period, for the evaluations up to now. Periods
 *     never cross a UTC day and never overlap (the job starts each one
 *     after the last reported).
 *
 * The same thread sends the TLS-RPT reports (RFC 8460) of the delivery's
 * results (delivery enabled, delivery.tls.tlsrpt on): at start and then
 * hourly, tlsp_reports_run() over STATE_DIR/tls for the whole UTC days
 * not yet reported, a mailto: rua getting the RFC 8460 5.3 mail through
 * the queue, an https: rua the POST (daemon/tlsrpt_mail.h); from
 * reports.from, else postmaster@delivery.helo (docs/delivery.md,
 * "TLS-RPT").
 *
 * MAILSEC_TEST_NOW (test only): Unix time the schedule takes as "now"
 * at its start (the clock runs on from there), so a test can make "the
 * day" end without waiting for it. Never set it in production.
 */
#ifndef MAILSEC_DAEMON_REPORT_SCHED_H
#define MAILSEC_DAEMON_REPORT_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mailsec/err.h>

#include "report_job.h"

struct gw_config;
struct queue;
struct report_sched;

/* The environment variable of the test clock. */
#define REPORT_SCHED_TEST_NOW	"MAILSEC_TEST_NOW"
/* Runs of a one-day period: hourly. */
#define REPORT_SCHED_DAY_EVERY	3600
/* Largest message report_ingest_message() reads (a report e-mail holds
 * a compressed report: the reader's own input limit). */
#define REPORT_INGEST_MAX	(2 * MAILSEC_REPORT_XML_MAX)

/*
 * Starts the schedule thread: the job over STATE_DIR/reports.db with
 * cfg's reports and dns sections (copied), each mail put into q with
 * queue_inject() (q retained: stop the schedule before closing it).
 * reports.send off: the thread runs no DMARC job until a reconfiguration
 * turns it on (TLS-RPT follows its own switch). MAILSEC_ENOMEM;
 * MAILSEC_EIO: no thread.
 */
mailsec_err report_sched_start(struct report_sched **out,
    const struct gw_config *cfg, struct queue *q);

/* Takes cfg's settings (SIGHUP) for the next run. */
mailsec_err report_sched_reconfigure(struct report_sched *s,
    const struct gw_config *cfg);

/* Stops the thread, after the run in progress. NULL is a no-op. */
void report_sched_stop(struct report_sched *s);

/*
 * The job's settings from cfg: receiver (the domain of the reporting
 * address), org_name, from, format. Strings point into cfg and into
 * from (at least 256 bytes), which receives the reporting address.
 * MAILSEC_ELIMIT: the address does not fit.
 */
mailsec_err report_sched_job_conf(const struct gw_config *cfg,
    struct report_job_conf *c, char *from, size_t fromsz);

/*
 * The job's send callback for a queue: m as a message from m->from to
 * m->rcpt, written with queue_inject(arg) (arg: struct queue *). Also
 * `mailsec report send`'s.
 */
mailsec_err report_queue_send(void *arg, const struct report_job_mail *m);

/* "now" of the schedule: the clock, shifted by REPORT_SCHED_TEST_NOW
 * when set (at the first call). */
int64_t report_sched_now(void);

/*
 * The ingest of reports mailed to reports.ingest_address (the queue
 * runner's local delivery): reads the message (len bytes of fd from
 * off; at most REPORT_INGEST_MAX), finds its reports
 * (mailsec_report_extract()), parses every aggregate report and stores
 * it in STATE_DIR/reports.db (report_store_import(); a report already
 * stored counts as stored). MAILSEC_OK: at least one aggregate report
 * was stored and none failed: the message needs no other delivery.
 * MAILSEC_ENOTFOUND: not an aggregate report (deliver it normally);
 * MAILSEC_ESYNTAX: a report that could not be parsed; MAILSEC_EIO: the
 * store or the read failed; MAILSEC_ELIMIT: too large. On every error
 * err (errlen > 0) says why, and the message should be delivered to
 * the mailbox as usual, so nothing is lost.
 */
mailsec_err report_ingest_message(const char *state_dir, int fd, off_t off,
    size_t len, char *err, size_t errlen);

/*
 * The address whose mail report_ingest_message() takes
 * (reports.ingest_address), for the queue runner's local delivery of
 * this process: set at the worker's start and on reload.
 */
mailsec_err report_ingest_configure(const struct gw_config *cfg);
/* Whether addr (a recipient, any case) is that address. Any thread. */
bool report_ingest_wanted(const char *addr);

#endif /* MAILSEC_DAEMON_REPORT_SCHED_H */
