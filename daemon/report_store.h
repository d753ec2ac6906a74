/*
 * daemon/report_store.h - the DMARC report store (issue 9): what the
 * gateway evaluated (the raw material of the aggregate reports we send,
 * RFC 9990), the aggregate reports others sent us (`mailsec report
 * import`), and which reports went out to whom.
 *
 * One interface, several backends: struct report_store_ops is a table of
 * functions; report_sqlite.c implements it over SQLite (the file
 * STATE_DIR/reports.db); a PostgreSQL backend for several gateways
 * sharing their data implements the same table. Callers use only the
 * report_store_*() wrappers below.
 *
 * Threads: a store handle is used by one thread at a time; several
 * processes (the daemon, `mailsec report`) may open the same store
 * (SQLite: WAL mode and a busy timeout, see report_sqlite.c).
 *
 * Strings handed in are borrowed for the call; strings handed to a
 * callback are borrowed for the callback. docs/reports.md, "The report
 * store", describes the tables.
 */
#ifndef MAILSEC_DAEMON_REPORT_STORE_H
#define MAILSEC_DAEMON_REPORT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/dmarc.h>
#include <mailsec/err.h>
#include <mailsec/report.h>

/* DKIM results and override reasons kept per evaluation (more are
 * dropped: DMARC itself looks at MAILSEC_DMARC_DKIM_MAX signatures). */
#define REPORT_EVAL_DKIM_MAX	MAILSEC_DMARC_DKIM_MAX
#define REPORT_EVAL_REASON_MAX	8
/* How long a store waits for another writer's lock (milliseconds). */
#define REPORT_STORE_BUSY_MS	10000
/* Sources listed as failing in a summary unless asked otherwise. */
#define REPORT_SUMMARY_FAILING_MAX	20

/* ---- evaluations ------------------------------------------------------- */

struct report_eval_dkim {
	const char *domain;		/* d= */
	const char *selector;		/* s=, or NULL */
	enum mailsec_report_result result;
};

struct report_eval_reason {
	enum mailsec_report_override type;
	const char *comment;		/* or NULL */
};

/*
 * One DMARC evaluation by the gateway, in the terms of an aggregate
 * report record (RFC 9990 3.1.1.5 and its schema). Strings are
 * NUL-terminated and borrowed; domains are stored as given (the gateway
 * hands normalized ones).
 */
struct report_eval {
	int64_t time;			/* Unix time of the evaluation */
	const char *source_ip;
	const char *header_from;	/* RFC5322.From domain */
	const char *policy_domain;	/* where the DMARC record was found */
	const char *envelope_from;	/* RFC5321.MailFrom domain, or NULL */
	const char *envelope_to;	/* recipient domain, or NULL */
	/* the published policy in force (policy_published) */
	enum mailsec_report_disp p, sp, np;
	enum mailsec_report_align adkim, aspf;
	int pct;			/* RFC 7489 pct; -1: absent */
	bool testing;			/* t=y */
	const char *discovery_method;	/* "treewalk", "psl", or NULL */
	const char *rua;		/* the rua list: "URI[!BYTES],..." with
					 * limits in bytes, or NULL */
	const char *ruf;		/* likewise, or NULL */
	const char *fo;			/* "0", "1:d", ..., or NULL */
	/* auth_results */
	const char *spf_domain;		/* or NULL: no SPF result */
	bool spf_helo;			/* scope helo, else mfrom */
	enum mailsec_report_result spf_result;
	const struct report_eval_dkim *dkim;
	size_t ndkim;
	/* policy_evaluated */
	enum mailsec_report_eval dmarc_dkim;	/* aligned DKIM pass */
	enum mailsec_report_eval dmarc_spf;	/* aligned SPF pass */
	enum mailsec_report_disp disposition;	/* PASS: passed with an
					 * enforcing policy (RFC 9990) */
	const struct report_eval_reason *reasons;
	size_t nreasons;
	void *priv;			/* report_eval_from_outcome()'s
					 * allocations; NULL otherwise */
};

/* What the gateway knows beside the DMARC outcome. Borrowed. */
struct report_eval_src {
	int64_t time;
	const char *source_ip;
	const char *mail_from;		/* reverse-path; NULL or "": null */
	const char *rcpt_domain;	/* a recipient's domain, or NULL */
	const struct mailsec_spf_outcome *spf;	/* or NULL */
	const struct mailsec_dkim_verify *dkim;	/* or NULL */
};

/*
 * Fills *ev from a finished DMARC evaluation and src: the applied
 * record's tags (p, sp, np, adkim, aspf, pct, t, fo, rua, ruf), the
 * aligned results, the disposition and override reasons, the SPF and
 * DKIM results. ev keeps pointers into o and src (and allocations of
 * its own): use it before freeing them, then report_eval_cleanup().
 * MAILSEC_ENOTFOUND when no policy applied (nothing to report: no
 * Policy Domain); MAILSEC_ENOMEM.
 */
mailsec_err report_eval_from_outcome(struct report_eval *ev,
    const struct mailsec_dmarc_outcome *o, const struct report_eval_src *src);
/* The Author Domain entry of o whose record applied (its Policy Domain,
 * o->policy_domain, must be set; and the From domain match), or NULL. */
const struct mailsec_dmarc_domain *report_applied_domain(
    const struct mailsec_dmarc_outcome *o);
/* Frees what report_eval_from_outcome() allocated. */
void report_eval_cleanup(struct report_eval *ev);

/* ---- summaries of imported reports ------------------------------------- */

struct report_summary_query {
	const char *domain;		/* policy domain, or NULL: all */
	int64_t since;			/* reports ending at or after it;
					 * INT64_MIN: all */
	size_t failing_max;		/* 0: REPORT_SUMMARY_FAILING_MAX */
};

/* Counts of messages: the sum of the records' counts. The passes are
 * those of policy_evaluated (DMARC-aligned): dkim, spf, and either. */
struct report_source {
	char *ip;			/* NULL for the totals */
	uint64_t count;
	uint64_t spf_pass;
	uint64_t dkim_pass;
	uint64_t dmarc_pass;
};

/* Messages failing DMARC from one source as one From domain. */
struct report_failing {
	char *ip;
	char *header_from;
	uint64_t count;
};

struct report_summary {
	uint64_t reports;		/* imported reports matched */
	struct report_source total;
	struct report_source *sources;	/* by count, descending */
	size_t nsources;
	struct report_failing *failing;	/* by count, descending */
	size_t nfailing;
};

void report_summary_free(struct report_summary *s);

/* ---- the sending side -------------------------------------------------- */

/* A reporting period of one policy domain (RFC 9990 3.1.1.4: date_range,
 * begin and end inclusive, periods never overlap). */
struct report_period {
	int64_t id;			/* the store's; 0 before period_open */
	char *domain;
	int64_t begin;
	int64_t end;
	char *report_id;		/* chosen when opened; re-sends keep it
					 * (RFC 9990 3.5.2) */
	uint64_t evals;			/* evaluations in it */
};

void report_periods_free(struct report_period *p, size_t n);

/* Outcome of one destination of a period. */
enum report_send_status {
	REPORT_SEND_SENT = 1,		/* handed to the queue */
	REPORT_SEND_TOO_BIG,		/* a size notice sent instead */
	REPORT_SEND_UNAUTHORIZED,	/* external, not verified (RFC 9990
					 * 4): never sent */
	REPORT_SEND_SKIPPED,		/* not a mailto: URI, malformed */
	REPORT_SEND_TEMPFAIL		/* retried on the next run */
};

const char *report_send_status_name(enum report_send_status s);

/* One evaluation row of a period, aggregated (count of identical rows). */
typedef int (*report_row_cb)(void *arg, const struct report_eval *row,
    uint64_t count);

/* ---- the interface ----------------------------------------------------- */

struct report_store;

/*
 * A backend. Every function returns MAILSEC_OK or an error and, on
 * error, may leave a text in the store (report_store_error()).
 */
struct report_store_ops {
	const char *name;		/* "sqlite" */
	void (*close)(struct report_store *st);
	mailsec_err (*add_eval)(struct report_store *st,
	    const struct report_eval *ev);
	/* Stores r and its records in one transaction; *duplicate (and
	 * nothing stored) when the same org_name, report_id and policy
	 * domain is already there. */
	mailsec_err (*import)(struct report_store *st,
	    const struct mailsec_agg_report *r, const char *origin,
	    bool *duplicate);
	mailsec_err (*summary)(struct report_store *st,
	    const struct report_summary_query *q,
	    struct report_summary **out);
	/* Periods opened and not finished (a send failed temporarily). */
	mailsec_err (*periods_unfinished)(struct report_store *st,
	    struct report_period **out, size_t *n);
	/* New periods with evaluations up to cutoff (inclusive): per
	 * policy domain and UTC day, after the domain's last period. */
	mailsec_err (*periods_new)(struct report_store *st, int64_t cutoff,
	    struct report_period **out, size_t *n);
	/* Records p (sets p->id); p->report_id must be set. */
	mailsec_err (*period_open)(struct report_store *st,
	    struct report_period *p);
	mailsec_err (*period_finish)(struct report_store *st, int64_t id);
	/* The period's policy: the last evaluation's published policy
	 * (RFC 9990 3.1.1.5: "the final configuration observed"). cb is
	 * called once (count 1); ENOTFOUND when the period is empty. */
	mailsec_err (*period_policy)(struct report_store *st,
	    const struct report_period *p, report_row_cb cb, void *arg);
	/* The period's rows, identical ones counted together, by count
	 * descending. A non-zero return from cb stops with MAILSEC_EINVAL
	 * unless cb returned a mailsec_err itself (then that). */
	mailsec_err (*period_rows)(struct report_store *st,
	    const struct report_period *p, report_row_cb cb, void *arg);
	/* Whether dest already has its final status for period id. */
	mailsec_err (*send_done)(struct report_store *st, int64_t id,
	    const char *dest, bool *done);
	mailsec_err (*send_record)(struct report_store *st, int64_t id,
	    const char *dest, enum report_send_status status,
	    const char *detail, int64_t when);
};

/* Every backend's handle starts with this. */
struct report_store {
	const struct report_store_ops *ops;
	char error[256];		/* the last error, for humans */
};

/*
 * Opens (creating, mode 0600) the SQLite store at path and brings its
 * schema to the current version. MAILSEC_EIO when the file cannot be
 * opened or is not a store (report_store_error() of NULL is not
 * available: err, errlen receive the text then).
 */
mailsec_err report_store_open_sqlite(const char *path,
    struct report_store **out, char *err, size_t errlen);
/* STATE_DIR/reports.db through report_store_open_sqlite(). */
mailsec_err report_store_open(const char *state_dir,
    struct report_store **out, char *err, size_t errlen);
void report_store_close(struct report_store *st);
/* The text of the last error ("" when none). */
const char *report_store_error(const struct report_store *st);

mailsec_err report_store_add_eval(struct report_store *st,
    const struct report_eval *ev);
/* report_eval_from_outcome + report_store_add_eval + cleanup: the
 * gateway's hook. An outcome without a policy stores nothing (OK). */
mailsec_err report_store_add_outcome(struct report_store *st,
    const struct mailsec_dmarc_outcome *o, const struct report_eval_src *src);
mailsec_err report_store_import(struct report_store *st,
    const struct mailsec_agg_report *r, const char *origin, bool *duplicate);
mailsec_err report_store_summary(struct report_store *st,
    const struct report_summary_query *q, struct report_summary **out);
mailsec_err report_store_periods_unfinished(struct report_store *st,
    struct report_period **out, size_t *n);
mailsec_err report_store_periods_new(struct report_store *st, int64_t cutoff,
    struct report_period **out, size_t *n);
mailsec_err report_store_period_open(struct report_store *st,
    struct report_period *p);
mailsec_err report_store_period_finish(struct report_store *st, int64_t id);
mailsec_err report_store_period_policy(struct report_store *st,
    const struct report_period *p, report_row_cb cb, void *arg);
mailsec_err report_store_period_rows(struct report_store *st,
    const struct report_period *p, report_row_cb cb, void *arg);
mailsec_err report_store_send_done(struct report_store *st, int64_t id,
    const char *dest, bool *done);
mailsec_err report_store_send_record(struct report_store *st, int64_t id,
    const char *dest, enum report_send_status status, const char *detail,
    int64_t when);

/* ---- names of the model's enums, as stored ------------------------------ */

/* "pass", "fail", ...; NULL for ABSENT. The inverse returns ABSENT for
 * NULL and UNKNOWN for an unknown word. Kept here (not the reader's
 * mailsec_report_*_name) so that the stored words never change. */
const char *report_result_word(enum mailsec_report_result r);
enum mailsec_report_result report_result_parse(const char *s);
const char *report_disp_word(enum mailsec_report_disp d);
enum mailsec_report_disp report_disp_parse(const char *s);
const char *report_override_word(enum mailsec_report_override o);
enum mailsec_report_override report_override_parse(const char *s);
const char *report_eval_word(enum mailsec_report_eval e);
enum mailsec_report_eval report_eval_parse(const char *s);
const char *report_align_word(enum mailsec_report_align a);
enum mailsec_report_align report_align_parse(const char *s);

#endif /* MAILSEC_DAEMON_REPORT_STORE_H */
