/*
 * daemon/report_fail.c - DMARC failure reports from the gateway
 * (RFC 9991, RFC 6591; daemon/report_fail.h): the decision at verdict
 * time, and a thread that checks destinations (RFC 9991 5), rate-limits
 * (RFC 9991 2, 5.1), composes and queues the reports.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailsec/dkim.h>
#include <mailsec/dns.h>
#include <mailsec/report.h>
#include <mailsec/spf.h>

#include "core/core.h"
#include "config.h"
#include "log.h"
#include "queue.h"
#include "report_fail.h"
#include "report_sched.h"

/* One message's report, copied for the thread. */
struct rf_job {
	struct rf_job *next;
	enum report_fail_kind kind;
	char *policy_domain;
	char *source_ip;
	char *mail_from;		/* or NULL */
	char *authres;			/* our A-R field value */
	char *dkim_domain;		/* the failing signature (kind DKIM) */
	char *dkim_selector;
	const char *id_align;		/* static text */
	char *headers;
	size_t headers_len;
	int64_t arrival;
	char *dest[MAILSEC_DMARC_URI_MAX];	/* mailto: addresses */
	size_t ndest;
};

struct rf_conf {
	char *from;
	char *mid_domain;		/* the reporting address's domain */
	char *mta;			/* Reporting-MTA: delivery.helo */
	bool redact;
	unsigned rate;			/* per destination per hour */
	struct gw_dns_args dns;		/* its resolver */
};

/* A destination check answer (RFC 9991 5), kept REPORT_FAIL_CHECK_TTL. */
struct rf_check {
	char *policy_domain;
	char *dest_domain;
	bool authorized;
	int64_t expires;
};

/* Reports to one address in the current clock hour. */
struct rf_rate {
	char *dest;
	int64_t hour;
	unsigned count;
};

static struct rf_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* work or stop */
	pthread_cond_t idle;		/* the list ran empty */
	pthread_t thread;
	bool running;
	bool stop;
	bool busy;			/* the thread holds a job */
	struct queue *q;
	struct rf_conf conf;		/* under mu */
	bool conf_changed;		/* the thread's resolver is stale */
	struct rf_job *head, **tail;
	size_t npending;
	struct report_fail_stats stats;
	/* the thread's own (no lock) */
	struct rf_check checks[REPORT_FAIL_DEST_MAX];
	size_t nchecks;
	struct rf_rate rates[REPORT_FAIL_DEST_MAX];
	size_t nrates;
} rf = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER
};

/* ---- the decision -------------------------------------------------------- */

/* The start of the next header field after p (CRLF or LF lines), or
 * end; *last: the empty line ending the section was reached. */
static const char *
field_end(const char *p, const char *end)
{
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			return end;
		p = nl + 1;
		if (p >= end || (*p != ' ' && *p != '\t'))
			return p;
	}
	return end;
}

static bool
field_is(const char *p, const char *end, const char *name)
{
	size_t n = strlen(name);

	return (size_t)(end - p) > n && p[n] == ':' &&
	    ms_ascii_eq(p, n, name, n);
}

/* RFC 3834 5: "Auto-Submitted: no" is the only value of a message a
 * person sent. */
static bool
auto_submitted(const char *h, size_t len)
{
	const char *p = h, *end = h + len, *fe, *v;

	while (p < end && *p != '\r' && *p != '\n') {
		fe = field_end(p, end);
		if (field_is(p, fe, "Auto-Submitted")) {
			v = p + strlen("Auto-Submitted") + 1;
			while (v < fe && (*v == ' ' || *v == '\t'))
				v++;
			return !((size_t)(fe - v) >= 2 &&
			    ms_ascii_eq(v, 2, "no", 2) &&
			    (fe - v == 2 || v[2] == ' ' || v[2] == '\t' ||
			    v[2] == ';' || v[2] == '\r' || v[2] == '\n' ||
			    v[2] == '('));
		}
		p = fe;
	}
	return false;
}

/* The first DKIM signature whose verification failed, or NULL. */
static const struct mailsec_dkim_sig_info *
dkim_failed(const struct mailsec_dkim_verify *v)
{
	size_t i, n;

	if (v == NULL)
		return NULL;
	n = mailsec_dkim_verify_count(v);
	for (i = 0; i < n; i++) {
		const struct mailsec_dkim_sig_info *s =
		    mailsec_dkim_verify_sig(v, i);

		if (s != NULL && s->result == MAILSEC_DKIM_FAIL &&
		    s->domain.len > 0)
			return s;
	}
	return NULL;
}

enum report_fail_kind
report_fail_due(const struct report_fail_msg *m,
    const struct mailsec_dmarc_record **rec)
{
	const struct mailsec_dmarc_outcome *o = m->dmarc;
	const struct mailsec_dmarc_domain *d;
	unsigned fo;

	*rec = NULL;
	/* never for a message we could not evaluate */
	if (o == NULL || (o->result != MAILSEC_DMARC_PASS &&
	    o->result != MAILSEC_DMARC_FAIL) || o->policy_domain == NULL ||
	    (d = report_applied_domain(o)) == NULL)
		return REPORT_FAIL_NONE;
	/* RFC 9991 2: no ruf= of a psd=y record; fo= means nothing
	 * without ruf= (RFC 9989 4.7) */
	if (d->from_psd || d->record->nruf == 0)
		return REPORT_FAIL_NONE;
	if (m->headers == NULL || m->headers_len == 0 ||
	    auto_submitted(m->headers, m->headers_len))
		return REPORT_FAIL_NONE;
	fo = d->record->fo != 0 ? d->record->fo : MAILSEC_DMARC_FO_0;
	*rec = d->record;
	if ((fo & MAILSEC_DMARC_FO_0) && !o->spf_aligned && !o->dkim_aligned)
		return REPORT_FAIL_DMARC;
	if ((fo & MAILSEC_DMARC_FO_1) && (!o->spf_aligned ||
	    !o->dkim_aligned))
		return REPORT_FAIL_DMARC;
	if ((fo & MAILSEC_DMARC_FO_D) && m->src != NULL &&
	    dkim_failed(m->src->dkim) != NULL)
		return REPORT_FAIL_DKIM;
	if ((fo & MAILSEC_DMARC_FO_S) && m->src != NULL &&
	    m->src->spf != NULL && m->src->spf->result == MAILSEC_SPF_FAIL)
		return REPORT_FAIL_SPF;
	*rec = NULL;
	return REPORT_FAIL_NONE;
}

/* ---- copies for the thread ------------------------------------------------ */

static void
job_free(struct rf_job *j)
{
	size_t i;

	if (j == NULL)
		return;
	free(j->policy_domain);
	free(j->source_ip);
	free(j->mail_from);
	free(j->authres);
	free(j->dkim_domain);
	free(j->dkim_selector);
	free(j->headers);
	for (i = 0; i < j->ndest; i++)
		free(j->dest[i]);
	free(j);
}

static char *
dupn(const char *p, size_t n, bool *ok)
{
	char *c;

	if (p == NULL)
		return NULL;
	if ((c = ms_memdupz(p, n)) == NULL)
		*ok = false;
	return c;
}

/* Our Authentication-Results field value, from the prepended fields. */
static char *
authres_value(const char *p, size_t len, bool *ok)
{
	const char *end = p + len, *fe, *v;
	static const char name[] = "Authentication-Results";

	while (p != NULL && p < end) {
		fe = field_end(p, end);
		if (field_is(p, fe, name)) {
			v = p + sizeof name;
			while (v < fe && (*v == ' ' || *v == '\t'))
				v++;
			while (fe > v && (fe[-1] == '\r' || fe[-1] == '\n'))
				fe--;
			return dupn(v, (size_t)(fe - v), ok);
		}
		p = fe;
	}
	return ms_strdup_ok("", ok);
}

/* The header section (through the empty line), at most
 * REPORT_FAIL_HEADER_MAX bytes. */
static size_t
header_len(const char *h, size_t len)
{
	const char *p = h, *end = h + len, *nl;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		if (nl == p || (nl == p + 1 && *p == '\r')) {
			len = (size_t)(p - h);
			break;
		}
		p = nl + 1;
	}
	return len > REPORT_FAIL_HEADER_MAX ? REPORT_FAIL_HEADER_MAX : len;
}

static struct rf_job *
job_new(const struct report_fail_msg *m, enum report_fail_kind kind,
    const struct mailsec_dmarc_record *rec)
{
	const struct mailsec_dmarc_outcome *o = m->dmarc;
	const struct mailsec_dkim_sig_info *s;
	struct rf_job *j;
	size_t i;
	bool ok = true;

	if ((j = ms_calloc(1, sizeof *j)) == NULL)
		return NULL;
	j->kind = kind;
	j->arrival = m->src != NULL ? m->src->time : 0;
	j->policy_domain = ms_strdup_ok(o->policy_domain, &ok);
	j->source_ip = ms_strdup_ok(m->src != NULL ? m->src->source_ip : NULL,
	    &ok);
	if (m->src != NULL && m->src->mail_from != NULL)
		j->mail_from = ms_strdup_ok(m->src->mail_from, &ok);
	j->authres = authres_value(m->prepend, m->prepend_len, &ok);
	j->headers_len = header_len(m->headers, m->headers_len);
	j->headers = dupn(m->headers, j->headers_len, &ok);
	/* RFC 9991 4: the mechanisms without an aligned pass */
	j->id_align = !o->dkim_aligned && !o->spf_aligned ? "dkim, spf" :
	    !o->dkim_aligned ? "dkim" : !o->spf_aligned ? "spf" : "none";
	if (kind == REPORT_FAIL_DKIM && m->src != NULL &&
	    (s = dkim_failed(m->src->dkim)) != NULL) {
		j->dkim_domain = dupn(s->domain.ptr, s->domain.len, &ok);
		if (s->selector.len > 0)
			j->dkim_selector = dupn(s->selector.ptr,
			    s->selector.len, &ok);
	}
	for (i = 0; i < rec->nruf && j->ndest < MAILSEC_DMARC_URI_MAX; i++) {
		const struct mailsec_dmarc_uri *u = &rec->ruf[i];

		/* RFC 9989 4.7: unusable URIs are ignored; e-mail only */
		if (!u->valid || !u->mailto || u->address == NULL ||
		    strrchr(u->address, '@') == NULL)
			continue;
		j->dest[j->ndest++] = ms_strdup_ok(u->address, &ok);
	}
	if (!ok || j->source_ip == NULL || j->headers == NULL ||
	    j->ndest == 0) {
		job_free(j);
		return NULL;
	}
	return j;
}

bool
report_fail_enabled(void)
{
	bool on;

	pthread_mutex_lock(&rf.mu);
	on = rf.running && !rf.stop;
	pthread_mutex_unlock(&rf.mu);
	return on;
}

void
report_fail_submit(const struct report_fail_msg *m)
{
	const struct mailsec_dmarc_record *rec;
	enum report_fail_kind kind;
	struct rf_job *j;

	if (!report_fail_enabled() ||
	    (kind = report_fail_due(m, &rec)) == REPORT_FAIL_NONE)
		return;
	j = job_new(m, kind, rec);
	pthread_mutex_lock(&rf.mu);
	rf.stats.submitted++;
	if (j == NULL || !rf.running || rf.npending >=
	    REPORT_FAIL_PENDING_MAX) {
		rf.stats.dropped++;
		pthread_mutex_unlock(&rf.mu);
		if (j != NULL)
			log_warnx("failure report: about %s dropped: %zu "
			    "waiting already", j->policy_domain,
			    (size_t)REPORT_FAIL_PENDING_MAX);
		job_free(j);
		return;
	}
	*rf.tail = j;
	rf.tail = &j->next;
	rf.npending++;
	pthread_cond_signal(&rf.cv);
	pthread_mutex_unlock(&rf.mu);
}

/* ---- the thread ------------------------------------------------------------ */

static void
conf_free(struct rf_conf *c)
{
	free(c->from);
	free(c->mid_domain);
	free(c->mta);
	gw_dns_args_free(&c->dns);
	memset(c, 0, sizeof *c);
}

static mailsec_err
conf_make(struct rf_conf *c, const struct gw_config *cfg)
{
	char from[256];
	const char *at;
	bool ok = true;

	memset(c, 0, sizeof *c);
	if (gw_config_reports_from(cfg, from, sizeof from) != MAILSEC_OK)
		return MAILSEC_ELIMIT;
	at = strrchr(from, '@');
	c->from = ms_strdup_ok(from, &ok);
	c->mid_domain = ms_strdup_ok(at != NULL ? at + 1 : "localhost", &ok);
	c->mta = ms_strdup_ok(cfg->delivery.helo != NULL ?
	    cfg->delivery.helo : c->mid_domain, &ok);
	c->redact = cfg->reports.failure_redact;
	c->rate = cfg->reports.failure_rate;
	if (ok && gw_dns_args_make(&c->dns, cfg) != MAILSEC_OK)
		ok = false;
	if (!ok) {
		conf_free(c);
		return MAILSEC_ENOMEM;
	}
	return MAILSEC_OK;
}

static mailsec_err
conf_copy(struct rf_conf *d, const struct rf_conf *s)
{
	bool ok = true;

	*d = *s;
	d->from = ms_strdup_ok(s->from, &ok);
	d->mid_domain = ms_strdup_ok(s->mid_domain, &ok);
	d->mta = ms_strdup_ok(s->mta, &ok);
	memset(&d->dns, 0, sizeof d->dns);
	if (gw_dns_args_copy(&d->dns, &s->dns) != MAILSEC_OK)
		ok = false;
	if (!ok) {
		conf_free(d);
		return MAILSEC_ENOMEM;
	}
	return MAILSEC_OK;
}

static void
checks_clear(void)
{
	size_t i;

	for (i = 0; i < rf.nchecks; i++) {
		free(rf.checks[i].policy_domain);
		free(rf.checks[i].dest_domain);
	}
	rf.nchecks = 0;
}

static void
rates_clear(void)
{
	size_t i;

	for (i = 0; i < rf.nrates; i++)
		free(rf.rates[i].dest);
	rf.nrates = 0;
}

/*
 * RFC 9991 5 (RFC 9990 4): may reports about policy go to dest? The
 * answer is cached; a temporary DNS failure is not (and sends nothing:
 * failure reports are not retried). -1: temporary failure.
 */
static int
dest_check(struct mailsec_resolver *res, const char *policy,
    const char *dest, int64_t now)
{
	struct mailsec_diag diag = { 0 };
	struct rf_check *c;
	size_t i, k;
	bool ok = false;
	mailsec_err e;

	for (i = 0; i < rf.nchecks; i++) {
		c = &rf.checks[i];
		if (c->expires > now && ms_ascii_eq(c->policy_domain,
		    strlen(c->policy_domain), policy, strlen(policy)) &&
		    ms_ascii_eq(c->dest_domain, strlen(c->dest_domain), dest,
		    strlen(dest)))
			return c->authorized;
	}
	e = mailsec_report_dest_verify(res, policy, dest, &ok, &diag);
	if (e == MAILSEC_EDNS || e == MAILSEC_ETIMEOUT || e == MAILSEC_ENOMEM) {
		log_warnx("failure report: %s for %s: destination check: %s",
		    dest, policy, diag.set ? diag.text : mailsec_strerror(e));
		return -1;
	}
	if (e != MAILSEC_OK)
		ok = false;
	/* expired answers go first; a full cache starts over */
	for (i = 0, k = 0; i < rf.nchecks; i++) {
		if (rf.checks[i].expires > now) {
			rf.checks[k++] = rf.checks[i];
			continue;
		}
		free(rf.checks[i].policy_domain);
		free(rf.checks[i].dest_domain);
	}
	rf.nchecks = k;
	if (rf.nchecks == REPORT_FAIL_DEST_MAX)
		checks_clear();
	c = &rf.checks[rf.nchecks];
	c->policy_domain = strdup(policy);
	c->dest_domain = strdup(dest);
	c->authorized = ok;
	c->expires = now + REPORT_FAIL_CHECK_TTL;
	if (c->policy_domain != NULL && c->dest_domain != NULL)
		rf.nchecks++;
	else {
		free(c->policy_domain);
		free(c->dest_domain);
	}
	return ok;
}

/* Takes one report to dest from this hour's allowance: false when the
 * allowance is spent. */
static bool
rate_take(const char *dest, unsigned rate, int64_t now)
{
	int64_t hour = now / 3600;
	struct rf_rate *r;
	size_t i, k;

	for (i = 0; i < rf.nrates; i++) {
		r = &rf.rates[i];
		if (strcmp(r->dest, dest) != 0)
			continue;
		if (r->hour != hour) {
			r->hour = hour;
			r->count = 0;
		}
		if (r->count >= rate)
			return false;
		r->count++;
		return true;
	}
	/* entries of past hours go first */
	for (i = 0, k = 0; i < rf.nrates; i++) {
		if (rf.rates[i].hour == hour) {
			rf.rates[k++] = rf.rates[i];
			continue;
		}
		free(rf.rates[i].dest);
	}
	rf.nrates = k;
	if (rf.nrates == REPORT_FAIL_DEST_MAX)
		return false;	/* that many destinations this hour: enough */
	r = &rf.rates[rf.nrates];
	if ((r->dest = strdup(dest)) == NULL)
		return false;
	r->hour = hour;
	r->count = 1;
	rf.nrates++;
	return rate >= 1;
}

static const char *
kind_word(enum report_fail_kind k)
{
	return k == REPORT_FAIL_DKIM ? "dkim" : k == REPORT_FAIL_SPF ? "spf" :
	    "dmarc";
}

/* One destination of a job. */
static void
job_send(const struct rf_conf *c, struct mailsec_resolver *res,
    const struct rf_job *j, const char *dest, struct report_fail_stats *st)
{
	struct mailsec_failure_report f;
	struct mailsec_diag diag = { 0 };
	struct queue_env env;
	struct queue_rcpt rcpt;
	const char *at = strrchr(dest, '@');
	char *msg = NULL, id[QUEUE_ID_LEN + 1];
	size_t len = 0;
	int64_t now = report_sched_now();
	int ok;
	mailsec_err e;

	if ((ok = dest_check(res, j->policy_domain, at + 1, now)) != 1) {
		if (ok == 0) {
			st->unauthorized++;
			log_info("failure report: %s for %s: external "
			    "destination not authorized (RFC 9991 5)", dest,
			    j->policy_domain);
		} else
			st->dropped++;
		return;
	}
	if (!rate_take(dest, c->rate, now)) {
		st->rate_limited++;
		log_debug("failure report: %s: over %u per hour, dropped",
		    dest, c->rate);
		return;
	}
	memset(&f, 0, sizeof f);
	f.from = c->from;
	f.to = dest;
	f.reporting_mta = c->mta;
	f.source_ip = j->source_ip;
	f.arrival = j->arrival;
	f.original_mail_from = j->mail_from;
	f.reported_domain = j->policy_domain;
	f.auth_failure = kind_word(j->kind);
	f.authentication_results = j->authres;
	f.dkim_domain = j->dkim_domain;
	f.dkim_selector = j->dkim_selector;
	f.message_id_domain = c->mid_domain;
	f.now = now;
	f.redact = c->redact;
	f.headers = j->headers;
	f.headers_len = j->headers_len;
	f.identity_alignment = j->id_align;
	if ((e = mailsec_failure_report_compose(&f, &msg, &len, &diag)) !=
	    MAILSEC_OK) {
		st->dropped++;
		log_warnx("failure report: %s for %s: not composed: %s", dest,
		    j->policy_domain, diag.set ? diag.text :
		    mailsec_strerror(e));
		return;
	}
	memset(&env, 0, sizeof env);
	memset(&rcpt, 0, sizeof rcpt);
	rcpt.addr = dest;
	env.mail_from = c->from;
	env.body = "8BITMIME";		/* the quoted header may be 8-bit */
	env.rcpt = &rcpt;
	env.nrcpt = 1;
	if ((e = queue_inject(rf.q, &env, msg, len, id)) != MAILSEC_OK) {
		st->dropped++;
		log_warnx("failure report: %s for %s: not queued: %s", dest,
		    j->policy_domain, mailsec_strerror(e));
	} else {
		st->queued++;
		log_info("failure report (%s) about %s from %s to %s queued "
		    "as %s", f.auth_failure, j->policy_domain, j->source_ip,
		    dest, id);
	}
	free(msg);
}

static void *
rf_main(void *arg)
{
	struct mailsec_resolver *res = NULL;
	struct mailsec_diag diag;
	struct report_fail_stats st;
	struct rf_conf c;
	struct rf_job *j;
	size_t i;
	bool have_conf = false;

	(void)arg;
	memset(&c, 0, sizeof c);
	pthread_mutex_lock(&rf.mu);
	for (;;) {
		while (!rf.stop && rf.head == NULL) {
			rf.busy = false;
			pthread_cond_broadcast(&rf.idle);
			pthread_cond_wait(&rf.cv, &rf.mu);
		}
		if (rf.stop)
			break;
		j = rf.head;
		if ((rf.head = j->next) == NULL)
			rf.tail = &rf.head;
		rf.npending--;
		rf.busy = true;
		if (rf.conf_changed || !have_conf) {
			conf_free(&c);
			mailsec_resolver_free(res);
			res = NULL;
			have_conf = conf_copy(&c, &rf.conf) == MAILSEC_OK;
			rf.conf_changed = false;
			checks_clear();
		}
		pthread_mutex_unlock(&rf.mu);

		memset(&st, 0, sizeof st);
		memset(&diag, 0, sizeof diag);
		if (have_conf && res == NULL &&
		    gw_dns_args_resolver(&c.dns, &res, &diag) != MAILSEC_OK) {
			log_warnx("failure report: dns: %s", diag.set ?
			    diag.text : "no resolver");
			res = NULL;
		}
		for (i = 0; i < j->ndest; i++) {
			if (res == NULL || !have_conf) {
				st.dropped++;
				continue;
			}
			job_send(&c, res, j, j->dest[i], &st);
		}
		job_free(j);

		pthread_mutex_lock(&rf.mu);
		rf.stats.queued += st.queued;
		rf.stats.rate_limited += st.rate_limited;
		rf.stats.unauthorized += st.unauthorized;
		rf.stats.dropped += st.dropped;
	}
	rf.busy = false;
	pthread_cond_broadcast(&rf.idle);
	pthread_mutex_unlock(&rf.mu);
	mailsec_resolver_free(res);
	conf_free(&c);
	checks_clear();
	rates_clear();
	return NULL;
}

/* ---- life cycle ------------------------------------------------------------- */

mailsec_err
report_fail_start(const struct gw_config *cfg, struct queue *q)
{
	struct rf_conf c;
	mailsec_err e;

	pthread_mutex_lock(&rf.mu);
	rf.q = q;
	pthread_mutex_unlock(&rf.mu);
	if (!cfg->reports.failure)
		return MAILSEC_OK;
	if ((e = conf_make(&c, cfg)) != MAILSEC_OK)
		return e;
	pthread_mutex_lock(&rf.mu);
	if (rf.running) {
		pthread_mutex_unlock(&rf.mu);
		conf_free(&c);
		return MAILSEC_ESTATE;
	}
	conf_free(&rf.conf);
	rf.conf = c;
	rf.conf_changed = true;
	rf.stop = false;
	rf.head = NULL;
	rf.tail = &rf.head;
	rf.npending = 0;
	memset(&rf.stats, 0, sizeof rf.stats);
	if (pthread_create(&rf.thread, NULL, rf_main, NULL) != 0) {
		pthread_mutex_unlock(&rf.mu);
		return MAILSEC_EIO;
	}
	rf.running = true;
	pthread_mutex_unlock(&rf.mu);
	return MAILSEC_OK;
}

void
report_fail_stop(void)
{
	struct rf_job *j, *next;

	pthread_mutex_lock(&rf.mu);
	if (!rf.running) {
		conf_free(&rf.conf);
		pthread_mutex_unlock(&rf.mu);
		return;
	}
	rf.stop = true;
	pthread_cond_broadcast(&rf.cv);
	pthread_mutex_unlock(&rf.mu);
	(void)pthread_join(rf.thread, NULL);
	pthread_mutex_lock(&rf.mu);
	for (j = rf.head; j != NULL; j = next) {
		next = j->next;
		job_free(j);
	}
	rf.head = NULL;
	rf.tail = &rf.head;
	rf.npending = 0;
	rf.running = false;
	rf.stop = false;
	conf_free(&rf.conf);
	pthread_mutex_unlock(&rf.mu);
}

mailsec_err
report_fail_reconfigure(const struct gw_config *cfg)
{
	struct rf_conf c, old;
	struct queue *q;
	bool running;
	mailsec_err e;

	pthread_mutex_lock(&rf.mu);
	running = rf.running;
	q = rf.q;
	pthread_mutex_unlock(&rf.mu);
	if (!cfg->reports.failure) {
		if (running)
			report_fail_stop();
		return MAILSEC_OK;
	}
	if (!running)
		return q != NULL ? report_fail_start(cfg, q) : MAILSEC_ESTATE;
	if ((e = conf_make(&c, cfg)) != MAILSEC_OK)
		return e;
	pthread_mutex_lock(&rf.mu);
	old = rf.conf;
	rf.conf = c;
	rf.conf_changed = true;
	pthread_mutex_unlock(&rf.mu);
	conf_free(&old);
	return MAILSEC_OK;
}

void
report_fail_stats(struct report_fail_stats *st)
{
	pthread_mutex_lock(&rf.mu);
	*st = rf.stats;
	pthread_mutex_unlock(&rf.mu);
}

bool
report_fail_drain(void)
{
	pthread_mutex_lock(&rf.mu);
	if (!rf.running) {
		pthread_mutex_unlock(&rf.mu);
		return false;
	}
	while (rf.head != NULL || rf.busy)
		pthread_cond_wait(&rf.idle, &rf.mu);
	pthread_mutex_unlock(&rf.mu);
	return true;
}
