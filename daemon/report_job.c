/*
 * daemon/report_job.c - the DMARC aggregate report job
 * (daemon/report_job.h): periods from the store, the report built from
 * their evaluations (RFC 9990 3.1), destinations checked (RFC 9990 3.5,
 * 4), the report written, gzip'd and mailed through the writer of
 * mailsec/report.h, each mail handed to the send callback, and every
 * outcome recorded in the store.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailsec/dmarc.h>
#include <mailsec/version.h>

#include "core/core.h"
#include "report_job.h"

/* Longest report ID and "v=DMARC1; rua=..." text built here. */
#define JOB_RID_MAX		512
#define JOB_RECORD_MAX		MAILSEC_DMARC_RECORD_MAX
/* The too-big notice is a few lines. */
#define JOB_NOTICE_MAX		4096

struct build {
	struct mailsec_agg_report *r;
	size_t cap;
	char *rua;
	mailsec_err err;
};

static char *
dupz(const char *s, struct build *b)
{
	char *c;

	if (s == NULL)
		return NULL;
	if ((c = ms_memdupz(s, strlen(s))) == NULL)
		b->err = MAILSEC_ENOMEM;
	return c;
}

static int
on_policy(void *arg, const struct report_eval *ev, uint64_t count)
{
	struct build *b = arg;
	struct mailsec_agg_report *r = b->r;

	(void)count;
	r->adkim = ev->adkim;
	r->aspf = ev->aspf;
	r->p = ev->p;
	r->sp = ev->sp;
	r->np = ev->np;
	r->pct = ev->pct;
	r->testing = ev->testing;
	r->fo = dupz(ev->fo, b);
	r->discovery_method = dupz(ev->discovery_method, b);
	b->rua = dupz(ev->rua, b);
	return b->err;
}

static int
on_row(void *arg, const struct report_eval *ev, uint64_t count)
{
	struct build *b = arg;
	struct mailsec_agg_report *r = b->r;
	struct mailsec_report_record *rec;
	size_t i;

	if (r->nrecords == MAILSEC_REPORT_RECORDS_MAX)
		return MAILSEC_ELIMIT;
	if (r->nrecords == b->cap) {
		size_t ncap = b->cap == 0 ? 16 : 2 * b->cap;
		void *p = ms_reallocarray(r->records, ncap, sizeof *rec);

		if (p == NULL)
			return MAILSEC_ENOMEM;
		r->records = p;
		b->cap = ncap;
	}
	rec = &r->records[r->nrecords++];
	memset(rec, 0, sizeof *rec);
	rec->source_ip = dupz(ev->source_ip, b);
	rec->count = count;
	rec->disposition = ev->disposition;
	rec->dkim = ev->dmarc_dkim;
	rec->spf = ev->dmarc_spf;
	rec->header_from = dupz(ev->header_from, b);
	rec->envelope_from = dupz(ev->envelope_from, b);
	rec->envelope_to = dupz(ev->envelope_to, b);
	if (ev->nreasons > 0) {
		rec->reasons = ms_calloc(ev->nreasons, sizeof *rec->reasons);
		if (rec->reasons == NULL)
			return MAILSEC_ENOMEM;
		rec->nreasons = ev->nreasons;
		for (i = 0; i < ev->nreasons; i++) {
			rec->reasons[i].type = ev->reasons[i].type;
			rec->reasons[i].comment = dupz(ev->reasons[i].comment,
			    b);
		}
	}
	if (ev->ndkim > 0) {
		rec->dkim_results = ms_calloc(ev->ndkim,
		    sizeof *rec->dkim_results);
		if (rec->dkim_results == NULL)
			return MAILSEC_ENOMEM;
		/* A signature without d= or s= (a permerror) cannot be
		 * written (RFC 9990's schema requires both): it is left out
		 * rather than let one broken signature stop the report. */
		for (i = 0; i < ev->ndkim; i++) {
			struct mailsec_report_dkim *d;

			if (ms_blank(ev->dkim[i].domain) ||
			    ms_blank(ev->dkim[i].selector))
				continue;
			d = &rec->dkim_results[rec->ndkim++];
			d->domain = dupz(ev->dkim[i].domain, b);
			d->selector = dupz(ev->dkim[i].selector, b);
			d->result = ev->dkim[i].result;
		}
	}
	if (ev->spf_domain != NULL) {
		if ((rec->spf_results = ms_calloc(1,
		    sizeof *rec->spf_results)) == NULL)
			return MAILSEC_ENOMEM;
		rec->nspf = 1;
		rec->spf_results[0].domain = dupz(ev->spf_domain, b);
		rec->spf_results[0].helo = ev->spf_helo;
		rec->spf_results[0].result = ev->spf_result;
	}
	return b->err;
}

mailsec_err
report_job_build(struct report_store *st, const struct report_job_conf *conf,
    const struct report_period *p, struct mailsec_agg_report **out,
    char **rua)
{
	struct build b = { 0 };
	struct mailsec_agg_report *r;
	char gen[64];
	mailsec_err e;

	*out = NULL;
	*rua = NULL;
	if ((r = ms_calloc(1, sizeof *r)) == NULL)
		return MAILSEC_ENOMEM;
	b.r = r;
	r->format = conf->format == MAILSEC_REPORT_FMT_RFC7489 ?
	    MAILSEC_REPORT_FMT_RFC7489 : MAILSEC_REPORT_FMT_RFC9990;
	r->pct = -1;
	snprintf(gen, sizeof gen, "mailsec %s", MAILSEC_VERSION_STRING);
	r->org_name = dupz(conf->org_name != NULL ? conf->org_name :
	    conf->receiver, &b);
	r->email = dupz(conf->email != NULL ? conf->email : conf->from, &b);
	r->report_id = dupz(p->report_id, &b);
	r->generator = dupz(gen, &b);
	r->domain = dupz(p->domain, &b);
	r->date_begin = p->begin;
	r->date_end = p->end;
	if ((e = b.err) != MAILSEC_OK)
		goto fail;
	if ((e = report_store_period_policy(st, p, on_policy, &b)) !=
	    MAILSEC_OK)
		goto fail;
	if ((e = report_store_period_rows(st, p, on_row, &b)) != MAILSEC_OK)
		goto fail;
	if (r->nrecords == 0) {
		e = MAILSEC_ENOTFOUND;
		goto fail;
	}
	*out = r;
	*rua = b.rua;
	return MAILSEC_OK;
fail:
	free(b.rua);
	mailsec_agg_report_free(r);
	return e;
}

/* ---- one period -------------------------------------------------------- */

struct period_run {
	struct report_store *st;
	const struct report_job_conf *c;
	struct report_job_stats *stats;
	const struct report_period *p;
	struct mailsec_agg_report *r;
	uint64_t messages;
	char filename[512];
	char *xml;
	size_t xmllen;
	void *gz;
	size_t gzlen;
	bool composed;
	bool tempfail;			/* some destination is to be retried */
};

static void
say(const struct report_job_conf *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(const struct report_job_conf *c, const char *fmt, ...)
{
	va_list ap;

	if (c->out == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fputc('\n', c->out);
}

/* "2024-03-01T00:00:00Z" */
static void
iso_time(int64_t t, char *buf, size_t sz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(buf, sz, "%lld", (long long)t);
		return;
	}
	snprintf(buf, sz, "%04d-%02d-%02dT%02d:%02d:%02dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
}

/* RFC 5322 3.3 date-time, in UTC, without the locale. */
static void
mail_date(int64_t t, char *buf, size_t sz)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
		"Sep", "Oct", "Nov", "Dec"
	};
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof tm);
	snprintf(buf, sz, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Safe in a header field: printable ASCII, no space. */
static bool
header_safe(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static mailsec_err
compose(struct period_run *pr, struct mailsec_diag *diag)
{
	mailsec_err e;

	if (pr->composed)
		return MAILSEC_OK;
	if ((e = mailsec_agg_report_write(pr->r, pr->r->format, &pr->xml,
	    &pr->xmllen, diag)) != MAILSEC_OK)
		return e;
	if ((e = mailsec_report_gzip(pr->xml, pr->xmllen, &pr->gz,
	    &pr->gzlen)) != MAILSEC_OK)
		return e;
	if ((e = mailsec_agg_report_filename(pr->r, pr->c->receiver,
	    pr->filename, sizeof pr->filename)) != MAILSEC_OK)
		return e;
	pr->composed = true;
	return MAILSEC_OK;
}

/*
 * The notice sent instead of a report larger than the destination's
 * RFC 7489 size limit: what was not sent, how big it was, and the
 * report's identity so the owner can ask for it.
 */
static mailsec_err
notice_compose(const struct period_run *pr, const char *to, const char *uri,
    uint64_t limit, char **out, size_t *outlen)
{
	const struct report_job_conf *c = pr->c;
	const char *mid = c->message_id_domain != NULL ?
	    c->message_id_domain : c->receiver;
	struct ms_buf b;
	char date[64];
	mailsec_err e;

	if (!header_safe(to) || !header_safe(c->from) ||
	    !header_safe(mid) || !header_safe(pr->p->domain) ||
	    !header_safe(c->receiver) || !header_safe(uri))
		return MAILSEC_EINVAL;
	mail_date(c->now, date, sizeof date);
	ms_buf_init(&b, JOB_NOTICE_MAX);
	e = ms_buf_printf(&b,
	    "From: %s\r\n"
	    "To: %s\r\n"
	    "Date: %s\r\n"
	    "Subject: DMARC aggregate report for %s not sent: too large\r\n"
	    "Message-ID: <toobig.%lld.%lld.%s@%s>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n"
	    "\r\n"
	    "The DMARC aggregate report below was not sent: it is larger\r\n"
	    "than the size limit of the reporting URI in the domain's\r\n"
	    "DMARC record.\r\n"
	    "\r\n"
	    "Report-Domain: %s\r\n"
	    "Submitter: %s\r\n"
	    "Report-Date-Range: %lld-%lld\r\n"
	    "Report-File: %s\r\n"
	    "Report-Size: %zu\r\n"
	    "Size-Limit: %llu\r\n"
	    "Submitting-URI: %s\r\n",
	    c->from, to, date, pr->p->domain, (long long)pr->p->begin,
	    (long long)pr->p->end, pr->p->domain, mid, pr->p->domain,
	    c->receiver, (long long)pr->p->begin, (long long)pr->p->end,
	    pr->filename, pr->gzlen, (unsigned long long)limit, uri);
	if (e != MAILSEC_OK)
		return e;
	if ((*out = ms_buf_steal(&b, outlen)) == NULL)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
}

static mailsec_err
record(struct period_run *pr, const char *dest, enum report_send_status s,
    const char *detail)
{
	const struct report_job_conf *c = pr->c;

	switch (s) {
	case REPORT_SEND_SENT:
		pr->stats->sent++;
		break;
	case REPORT_SEND_TOO_BIG:
		pr->stats->too_big++;
		break;
	case REPORT_SEND_UNAUTHORIZED:
		pr->stats->unauthorized++;
		break;
	case REPORT_SEND_SKIPPED:
		pr->stats->skipped++;
		break;
	case REPORT_SEND_TEMPFAIL:
		pr->stats->tempfail++;
		pr->tempfail = true;
		break;
	}
	say(c, "  %s%s: %s%s%s", c->dry_run ? "(dry run) " : "", dest,
	    c->dry_run && s == REPORT_SEND_SENT ? "would be sent" :
	    report_send_status_name(s), detail != NULL ? ": " : "",
	    detail != NULL ? detail : "");
	if (c->dry_run || pr->p->id == 0)
		return MAILSEC_OK;
	return report_store_send_record(pr->st, pr->p->id, dest, s, detail,
	    c->now);
}

/* One rua URI of the period. Errors returned are the store's. */
static mailsec_err
destination(struct period_run *pr, const struct mailsec_dmarc_uri *u)
{
	const struct report_job_conf *c = pr->c;
	struct mailsec_report_mail m;
	struct report_job_mail jm;
	struct mailsec_diag diag = { 0 };
	const char *dest, *at;
	char *mail = NULL, detail[1024];
	size_t maillen = 0;
	bool done = false, authorized = false, too_big;
	mailsec_err e;

	dest = u->address != NULL ? u->address : u->uri;
	if (!u->valid)
		return record(pr, u->uri, REPORT_SEND_SKIPPED,
		    "not a valid URI (RFC 9990 3.5: ignored)");
	if (!u->mailto || u->address == NULL ||
	    (at = strrchr(u->address, '@')) == NULL || at[1] == '\0')
		return record(pr, u->uri, REPORT_SEND_SKIPPED,
		    "not a mailto: address (only e-mail is supported)");
	if (pr->p->id != 0 && (e = report_store_send_done(pr->st,
	    pr->p->id, dest, &done)) != MAILSEC_OK)
		return e;
	if (done) {
		say(c, "  %s: done in an earlier run", dest);
		return MAILSEC_OK;
	}
	/* RFC 9990 4: reports to another Organizational Domain only when
	 * it says it takes them */
	e = mailsec_report_dest_verify(c->resolver, pr->p->domain, at + 1,
	    &authorized, &diag);
	if (e == MAILSEC_EDNS || e == MAILSEC_ETIMEOUT) {
		snprintf(detail, sizeof detail, "destination check: %s",
		    diag.set ? diag.text : mailsec_strerror(e));
		return record(pr, dest, REPORT_SEND_TEMPFAIL, detail);
	}
	if (e != MAILSEC_OK) {
		snprintf(detail, sizeof detail, "destination check: %s",
		    diag.set ? diag.text : mailsec_strerror(e));
		return record(pr, dest, REPORT_SEND_SKIPPED, detail);
	}
	if (!authorized) {
		snprintf(detail, sizeof detail, "external destination not "
		    "authorized (no v=DMARC1 record at %s._report._dmarc.%s, "
		    "RFC 9990 4)", pr->p->domain, at + 1);
		return record(pr, dest, REPORT_SEND_UNAUTHORIZED, detail);
	}
	memset(&diag, 0, sizeof diag);
	if ((e = compose(pr, &diag)) != MAILSEC_OK) {
		snprintf(detail, sizeof detail, "report not written: %s",
		    diag.set ? diag.text : mailsec_strerror(e));
		return record(pr, dest, e == MAILSEC_ENOMEM ?
		    REPORT_SEND_TEMPFAIL : REPORT_SEND_SKIPPED, detail);
	}
	too_big = u->has_limit && pr->gzlen > u->limit;
	if (too_big && pr->r->format == MAILSEC_REPORT_FMT_RFC9990) {
		say(c, "  %s: limit !%llu ignored (obsolete, RFC 9989 4.8), "
		    "report is %zu bytes", dest,
		    (unsigned long long)u->limit, pr->gzlen);
		too_big = false;
	}
	if (too_big) {
		e = notice_compose(pr, dest, u->uri, u->limit, &mail,
		    &maillen);
	} else {
		memset(&m, 0, sizeof m);
		m.from = c->from;
		m.to = dest;
		m.receiver = c->receiver;
		m.message_id_domain = c->message_id_domain != NULL ?
		    c->message_id_domain : c->receiver;
		m.now = c->now;
		e = mailsec_agg_report_mail(pr->r, pr->gz, pr->gzlen, &m,
		    &mail, &maillen, &diag);
	}
	if (e != MAILSEC_OK) {
		snprintf(detail, sizeof detail, "mail not composed: %s",
		    diag.set ? diag.text : mailsec_strerror(e));
		return record(pr, dest, e == MAILSEC_ENOMEM ?
		    REPORT_SEND_TEMPFAIL : REPORT_SEND_SKIPPED, detail);
	}
	if (too_big)
		snprintf(detail, sizeof detail, "report %s is %zu bytes, over "
		    "the limit of %llu: notice sent instead", pr->filename,
		    pr->gzlen, (unsigned long long)u->limit);
	else
		snprintf(detail, sizeof detail, "%s, %zu bytes, %zu records, "
		    "%llu messages", pr->filename, pr->gzlen,
		    pr->r->nrecords, (unsigned long long)pr->messages);
	if (!c->dry_run) {
		memset(&jm, 0, sizeof jm);
		jm.policy_domain = pr->p->domain;
		jm.from = c->from;
		jm.rcpt = dest;
		jm.filename = pr->filename;
		jm.data = mail;
		jm.len = maillen;
		jm.notice = too_big;
		if ((e = c->send(c->send_arg, &jm)) != MAILSEC_OK) {
			free(mail);
			snprintf(detail, sizeof detail, "not queued: %s",
			    mailsec_strerror(e));
			return record(pr, dest, REPORT_SEND_TEMPFAIL, detail);
		}
	}
	free(mail);
	return record(pr, dest, too_big ? REPORT_SEND_TOO_BIG :
	    REPORT_SEND_SENT, detail);
}

static mailsec_err
period_run(struct report_store *st, const struct report_job_conf *c,
    struct report_job_stats *stats, const struct report_period *p)
{
	struct period_run pr;
	struct mailsec_dmarc_record *rec = NULL;
	char *rua = NULL, text[JOB_RECORD_MAX + 32], from[80], to[80];
	size_t i;
	int n;
	mailsec_err e;

	memset(&pr, 0, sizeof pr);
	pr.st = st;
	pr.c = c;
	pr.stats = stats;
	pr.p = p;
	stats->periods++;
	iso_time(p->begin, from, sizeof from);
	iso_time(p->end, to, sizeof to);
	e = report_job_build(st, c, p, &pr.r, &rua);
	if (e == MAILSEC_ENOTFOUND) {
		say(c, "%s %s..%s: no evaluations", p->domain, from, to);
		goto finish;
	}
	if (e != MAILSEC_OK)
		goto out;
	for (i = 0; i < pr.r->nrecords; i++)
		pr.messages += pr.r->records[i].count;
	say(c, "%s %s..%s: report %s, %zu records, %llu messages",
	    p->domain, from, to, p->report_id, pr.r->nrecords,
	    (unsigned long long)pr.messages);
	if (rua == NULL || *rua == '\0') {
		stats->skipped++;
		say(c, "  no rua= in the policy: nothing to send");
		goto finish;
	}
	/* the stored list read back by the record parser: validity, the
	 * mailto: address, the size limit */
	n = snprintf(text, sizeof text, "v=DMARC1; rua=%s", rua);
	if (n < 0 || (size_t)n >= sizeof text ||
	    (e = mailsec_dmarc_record_parse(text, (size_t)n,
	    MAILSEC_DMARC_RFC7489, &rec, NULL)) != MAILSEC_OK) {
		if (e == MAILSEC_ENOMEM)
			goto out;
		e = MAILSEC_OK;
		stats->skipped++;
		say(c, "  rua= unreadable: nothing to send");
		goto finish;
	}
	for (i = 0; i < rec->nrua && i < MAILSEC_DMARC_URI_MAX; i++)
		if ((e = destination(&pr, &rec->rua[i])) != MAILSEC_OK)
			goto out;
finish:
	e = MAILSEC_OK;
	if (!pr.tempfail && !c->dry_run && p->id != 0)
		e = report_store_period_finish(st, p->id);
	else if (pr.tempfail)
		say(c, "  kept open: retried on the next run");
out:
	mailsec_dmarc_record_free(rec);
	free(rua);
	free(pr.xml);
	free(pr.gz);
	mailsec_agg_report_free(pr.r);
	return e;
}

mailsec_err
report_job_run(struct report_store *st, const struct report_job_conf *c,
    struct report_job_stats *stats)
{
	struct report_period *p = NULL;
	size_t n = 0, i;
	int64_t cutoff;
	char rid[JOB_RID_MAX];
	int k;
	mailsec_err e;

	memset(stats, 0, sizeof *stats);
	if (c->receiver == NULL || c->from == NULL ||
	    (!c->dry_run && (c->send == NULL || c->resolver == NULL)))
		return MAILSEC_EINVAL;
	if (c->dry_run && c->resolver == NULL)
		return MAILSEC_EINVAL;

	/* periods a temporary failure left open first */
	if ((e = report_store_periods_unfinished(st, &p, &n)) != MAILSEC_OK)
		return e;
	for (i = 0; i < n && e == MAILSEC_OK; i++)
		e = period_run(st, c, stats, &p[i]);
	report_periods_free(p, n);
	p = NULL;
	if (e != MAILSEC_OK)
		return e;

	/* then every day that ended (or, include_current, up to now) */
	cutoff = c->include_current ? c->now : c->now - c->now % 86400 - 1;
	if ((e = report_store_periods_new(st, cutoff, &p, &n)) != MAILSEC_OK)
		return e;
	for (i = 0; i < n && e == MAILSEC_OK; i++) {
		/* RFC 9990 3.5.1 ridfmt: dot-atom-text "@" dot-atom-text */
		k = snprintf(rid, sizeof rid, "%lld.%s@%s",
		    (long long)p[i].begin, p[i].domain, c->receiver);
		if (k < 0 || (size_t)k >= sizeof rid) {
			e = MAILSEC_ELIMIT;
			break;
		}
		if ((p[i].report_id = ms_memdupz(rid, (size_t)k)) == NULL) {
			e = MAILSEC_ENOMEM;
			break;
		}
		if (!c->dry_run &&
		    (e = report_store_period_open(st, &p[i])) != MAILSEC_OK) {
			/* another run (the daemon's schedule, a second
			 * `mailsec report send`) took it first */
			say(c, "%s: period not opened: %s", p[i].domain,
			    report_store_error(st));
			e = MAILSEC_OK;
			continue;
		}
		e = period_run(st, c, stats, &p[i]);
	}
	report_periods_free(p, n);
	return e;
}
