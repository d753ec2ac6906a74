/*
 * daemon/report_sched.c - the aggregate report job on schedule in the
 * gateway, its mails into the queue, and the import of reports mailed
 * to reports.ingest_address (daemon/report_sched.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mailsec/dns.h>
#include <mailsec/report.h>

#include "core/core.h"
#include "config.h"
#include "log.h"
#include "queue.h"
#include "report_sched.h"
#include "report_store.h"
#include "tlspolicy.h"
#include "tlsrpt_mail.h"

/* The settings a run uses (copied from the configuration). */
struct sched_conf {
	bool send;
	unsigned period;		/* s */
	enum mailsec_report_format format;
	char *org_name;
	char *from;
	struct gw_dns_args dns;		/* its resolvers */
	char *state_dir;
	/* TLS-RPT (RFC 8460): the reports of the delivery's results */
	bool tlsrpt;			/* delivery.enabled, .tls.tlsrpt */
	char *tls_dir;			/* STATE_DIR/tls: the results */
	char *tls_ca_file;		/* delivery.tls.ca_file, or NULL */
	unsigned tls_https_port;	/* delivery.tls.https_port */
	char *tlsrpt_from;		/* reports.from, or postmaster@helo */
};

struct report_sched {
	struct queue *q;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct sched_conf conf;		/* under mu */
	int64_t tlsrpt_hour;		/* of the last TLS-RPT run */
};

/* ---- the clock ----------------------------------------------------------- */

static pthread_once_t clock_once = PTHREAD_ONCE_INIT;
static int64_t clock_shift;

static void
clock_init(void)
{
	const char *v = getenv(REPORT_SCHED_TEST_NOW);
	int64_t t = 0;

	if (v == NULL || *v == '\0')
		return;
	for (; *v >= '0' && *v <= '9' && t < INT64_MAX / 10 - 10; v++)
		t = t * 10 + (*v - '0');
	if (*v != '\0' || t == 0)
		return;
	clock_shift = t - (int64_t)time(NULL);
}

int64_t
report_sched_now(void)
{
	(void)pthread_once(&clock_once, clock_init);
	return (int64_t)time(NULL) + clock_shift;
}

/* ---- settings ------------------------------------------------------------ */

static void
conf_free(struct sched_conf *c)
{
	free(c->org_name);
	free(c->from);
	gw_dns_args_free(&c->dns);
	free(c->state_dir);
	free(c->tls_dir);
	free(c->tls_ca_file);
	free(c->tlsrpt_from);
	memset(c, 0, sizeof *c);
}

mailsec_err
report_sched_job_conf(const struct gw_config *cfg, struct report_job_conf *c,
    char *from, size_t fromsz)
{
	const char *at;

	memset(c, 0, sizeof *c);
	if (gw_config_reports_from(cfg, from, fromsz) != MAILSEC_OK)
		return MAILSEC_ELIMIT;
	at = strrchr(from, '@');
	/* our domain: the reporting address's (file name, Submitter) */
	c->receiver = at != NULL && at[1] != '\0' ? at + 1 : "localhost";
	c->from = from;
	c->org_name = cfg->reports.org_name;
	c->format = cfg->reports.format == GW_REPORT_RFC7489 ?
	    MAILSEC_REPORT_FMT_RFC7489 : MAILSEC_REPORT_FMT_RFC9990;
	return MAILSEC_OK;
}

/*
 * The TLS-RPT part of c (docs/delivery.md, "TLS-RPT"): on with delivery
 * and delivery.tls.tlsrpt; the results in STATE_DIR/tls (every worker's
 * delivery appends there); the reporting address is reports.from when
 * set, else postmaster at delivery.helo (the DMARC default,
 * dmarc-noreply@, is no contact for TLS trouble).
 */
static mailsec_err
tlsrpt_conf_make(struct sched_conf *c, const struct gw_config *cfg)
{
	const struct gw_delivery *d = &cfg->delivery;
	char buf[4200];
	int n;

	c->tlsrpt = d->enabled && d->tls.tlsrpt;
	c->tls_https_port = d->tls.https_port;
	n = snprintf(buf, sizeof buf, "%s/tls", cfg->state_dir);
	if (n < 0 || (size_t)n >= sizeof buf ||
	    (c->tls_dir = strdup(buf)) == NULL)
		return MAILSEC_ENOMEM;
	if (d->tls.ca_file != NULL &&
	    (c->tls_ca_file = strdup(d->tls.ca_file)) == NULL)
		return MAILSEC_ENOMEM;
	if (cfg->reports.from != NULL)
		n = snprintf(buf, sizeof buf, "%s", cfg->reports.from);
	else
		n = snprintf(buf, sizeof buf, "postmaster@%s",
		    d->helo != NULL ? d->helo : "localhost");
	if (n < 0 || (size_t)n > TLSRPT_ADDR_MAX ||
	    (c->tlsrpt_from = strdup(buf)) == NULL)
		return MAILSEC_ENOMEM;
	return MAILSEC_OK;
}

static mailsec_err
conf_make(struct sched_conf *c, const struct gw_config *cfg)
{
	char from[256];
	bool ok = true;

	memset(c, 0, sizeof *c);
	if (gw_config_reports_from(cfg, from, sizeof from) != MAILSEC_OK)
		return MAILSEC_ELIMIT;
	c->send = cfg->reports.send;
	c->period = cfg->reports.period >= 60 ? cfg->reports.period : 86400;
	c->format = cfg->reports.format == GW_REPORT_RFC7489 ?
	    MAILSEC_REPORT_FMT_RFC7489 : MAILSEC_REPORT_FMT_RFC9990;
	c->org_name = ms_strdup_ok(cfg->reports.org_name, &ok);
	c->from = ms_strdup_ok(from, &ok);
	c->state_dir = ms_strdup_ok(cfg->state_dir, &ok);
	if (ok && gw_dns_args_make(&c->dns, cfg) != MAILSEC_OK)
		ok = false;
	if (ok && tlsrpt_conf_make(c, cfg) != MAILSEC_OK)
		ok = false;
	if (!ok || c->from == NULL || c->state_dir == NULL) {
		conf_free(c);
		return MAILSEC_ENOMEM;
	}
	return MAILSEC_OK;
}

static mailsec_err
conf_make_copy(struct sched_conf *d, const struct sched_conf *s)
{
	bool ok = true;

	*d = *s;
	d->org_name = ms_strdup_ok(s->org_name, &ok);
	d->from = ms_strdup_ok(s->from, &ok);
	memset(&d->dns, 0, sizeof d->dns);
	if (gw_dns_args_copy(&d->dns, &s->dns) != MAILSEC_OK)
		ok = false;
	d->state_dir = ms_strdup_ok(s->state_dir, &ok);
	d->tls_dir = ms_strdup_ok(s->tls_dir, &ok);
	d->tls_ca_file = ms_strdup_ok(s->tls_ca_file, &ok);
	d->tlsrpt_from = ms_strdup_ok(s->tlsrpt_from, &ok);
	if (!ok) {
		conf_free(d);
		return MAILSEC_ENOMEM;
	}
	return MAILSEC_OK;
}

/* ---- the queue ------------------------------------------------------------ */

mailsec_err
report_queue_send(void *arg, const struct report_job_mail *m)
{
	struct queue *q = arg;
	struct queue_env env;
	struct queue_rcpt rcpt;
	char id[QUEUE_ID_LEN + 1];
	mailsec_err e;

	memset(&env, 0, sizeof env);
	memset(&rcpt, 0, sizeof rcpt);
	rcpt.addr = m->rcpt;
	env.mail_from = m->from;
	env.body = "7BIT";		/* the writer's mails are 7bit */
	env.rcpt = &rcpt;
	env.nrcpt = 1;
	e = queue_inject(q, &env, m->data, m->len, id);
	if (e == MAILSEC_OK)
		log_debug("reports: %s to %s queued as %s", m->filename,
		    m->rcpt, id);
	return e;
}

/* ---- one run ----------------------------------------------------------------- */

/* The job's lines (one per period and destination) into the log. */
static void
log_lines(char *text, size_t len)
{
	char *p = text, *end = text + len, *nl;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		*nl = '\0';
		if (nl > p)
			log_info("reports: %s", p);
		p = nl + 1;
	}
}

/* A resolver as the configuration's DNS settings say; NULL, logged
 * under the prefix what, when there is none. */
static struct mailsec_resolver *
sched_resolver(const struct sched_conf *sc, const char *what)
{
	struct mailsec_resolver *res = NULL;
	struct mailsec_diag diag = { 0 };
	mailsec_err e;

	if ((e = gw_dns_args_resolver(&sc->dns, &res, &diag)) != MAILSEC_OK) {
		log_warnx("%s: dns: %s: no reports this time", what,
		    diag.set ? diag.text : mailsec_strerror(e));
		return NULL;
	}
	return res;
}

static void
sched_run(struct report_sched *s, const struct sched_conf *sc)
{
	struct report_job_conf c;
	struct report_job_stats st;
	struct report_store *store = NULL;
	struct mailsec_resolver *res = NULL;
	const char *at;
	char err[256], *text = NULL;
	size_t textlen = 0;
	FILE *out;
	mailsec_err e;

	memset(&c, 0, sizeof c);
	if (report_store_open(sc->state_dir, &store, err, sizeof err) !=
	    MAILSEC_OK) {
		log_warnx("reports: store: %s: no reports this time", err);
		return;
	}
	if ((res = sched_resolver(sc, "reports")) == NULL)
		goto out;
	at = strrchr(sc->from, '@');
	c.receiver = at != NULL && at[1] != '\0' ? at + 1 : "localhost";
	c.from = sc->from;
	c.org_name = sc->org_name;
	c.format = sc->format;
	c.resolver = res;
	c.send = report_queue_send;
	c.send_arg = s->q;
	c.now = report_sched_now();
	/* a period shorter than a day: reports up to now */
	c.include_current = sc->period < 86400;
	out = open_memstream(&text, &textlen);
	c.out = out;
	e = report_job_run(store, &c, &st);
	if (out != NULL && fclose(out) == 0 && text != NULL)
		log_lines(text, textlen);
	free(text);
	if (e != MAILSEC_OK)
		log_warnx("reports: job: %s", e == MAILSEC_EIO ?
		    report_store_error(store) : mailsec_strerror(e));
	else if (st.periods > 0)
		log_notice("reports: %zu periods: %zu sent, %zu size notices, "
		    "%zu unauthorized, %zu skipped, %zu to retry", st.periods,
		    st.sent, st.too_big, st.unauthorized, st.skipped,
		    st.tempfail);
out:
	mailsec_resolver_free(res);
	report_store_close(store);
}

/* ---- TLS-RPT ----------------------------------------------------------- */

/* One TLS-RPT run's way out. */
struct tlsrpt_out {
	struct queue *q;
	const struct sched_conf *sc;
	struct mailsec_resolver *res;
	size_t mailed, posted, failed;
};

/* tlsp_send_fn: a mailto: rua gets the RFC 8460 5.3 mail through the
 * queue, an https: rua the POST of 5.4. */
static mailsec_err
tlsrpt_send(void *arg, const char *domain, const char *rua,
    const char *filename, const void *gz, size_t len)
{
	struct tlsrpt_out *o = arg;
	struct tlsrpt_mail m;
	struct queue_env env;
	struct queue_rcpt rcpt;
	char to[TLSRPT_ADDR_MAX + 1], why[256], id[QUEUE_ID_LEN + 1];
	char erua[LOG_ESC_SIZE(128)];
	char *data = NULL;
	size_t dlen = 0, rl = strlen(rua);
	mailsec_err e;

	(void)log_escape(erua, sizeof erua, rua, rl > 128 ? 128 : rl);
	if (rl > 8 && ms_ascii_eq(rua, 8, "https://", 8)) {
		/* a policy port other than 443 is a test setup: names
		 * from its zone, as for the policy fetch */
		e = tlsrpt_post(rua, o->sc->tls_ca_file,
		    o->sc->tls_https_port != 443 && o->sc->tls_https_port !=
		    0 ? o->res : NULL, gz, len,
		    why, sizeof why);
		if (e == MAILSEC_OK) {
			o->posted++;
			log_info("tlsrpt: %s for %s posted to %s", filename,
			    domain, erua);
		} else {
			o->failed++;
			log_warnx("tlsrpt: %s for %s: POST to %s: %s",
			    filename, domain, erua, why[0] != '\0' ? why :
			    mailsec_strerror(e));
		}
		return e;
	}
	if ((e = tlsrpt_mailto_addr(rua, to, sizeof to)) != MAILSEC_OK) {
		o->failed++;
		log_warnx("tlsrpt: %s for %s: rua %s: not an address to "
		    "mail to", filename, domain, erua);
		return e;
	}
	memset(&m, 0, sizeof m);
	m.from = o->sc->tlsrpt_from;
	m.to = to;
	m.org_name = o->sc->org_name;
	m.filename = filename;
	m.date = report_sched_now();
	m.gz = gz;
	m.len = len;
	if ((e = tlsrpt_mail_compose(&m, &data, &dlen)) == MAILSEC_OK) {
		memset(&env, 0, sizeof env);
		memset(&rcpt, 0, sizeof rcpt);
		rcpt.addr = to;
		env.mail_from = o->sc->tlsrpt_from;
		env.body = "7BIT";	/* base64 and ASCII text */
		env.rcpt = &rcpt;
		env.nrcpt = 1;
		e = queue_inject(o->q, &env, data, dlen, id);
	}
	free(data);
	if (e != MAILSEC_OK) {
		o->failed++;
		log_warnx("tlsrpt: %s for %s to %s: %s", filename, domain,
		    erua, mailsec_strerror(e));
		return e;
	}
	o->mailed++;
	log_info("tlsrpt: %s for %s to %s queued as %s", filename, domain,
	    to, id);
	return MAILSEC_OK;
}

/*
 * The TLS-RPT reports of every whole UTC day not yet reported, built
 * from the logs all workers' deliveries append to (a context of its
 * own, loaded from STATE_DIR/tls: this worker's delivery context knows
 * only its own results).
 */
static void
tlsrpt_run(struct report_sched *s, const struct sched_conf *sc)
{
	struct tlsrpt_out o;
	struct tlsp_cfg tc;
	struct tlsp_ctx *t = NULL;
	struct mailsec_resolver *res = NULL;
	mailsec_err e;

	memset(&tc, 0, sizeof tc);
	tc.tlsrpt = true;
	tc.cache_dir = sc->tls_dir;
	tc.ca_file = sc->tls_ca_file;
	tc.https_port = sc->tls_https_port == 443 ? 0 :
	    (uint16_t)sc->tls_https_port;	/* as the delivery's */
	tc.reporting_org = sc->org_name;
	tc.reporting_contact = sc->tlsrpt_from;
	if ((e = tlsp_new(&t, &tc)) != MAILSEC_OK) {
		log_warnx("tlsrpt: %s: %s: no reports this time", sc->tls_dir,
		    mailsec_strerror(e));
		return;
	}
	if ((res = sched_resolver(sc, "tlsrpt")) == NULL)
		goto out;
	memset(&o, 0, sizeof o);
	o.q = s->q;
	o.sc = sc;
	o.res = res;
	e = tlsp_reports_run(t, res, report_sched_now(), tlsrpt_send, &o);
	if (e != MAILSEC_OK)
		log_warnx("tlsrpt: reports: %s", mailsec_strerror(e));
	if (o.mailed + o.posted + o.failed > 0)
		log_notice("tlsrpt: reports: %zu mailed, %zu posted, %zu "
		    "failed (retried next hour)", o.mailed, o.posted,
		    o.failed);
out:
	mailsec_resolver_free(res);
	tlsp_free(t);
}

/* Seconds until the next run after now. */
static int64_t
next_wait(const struct sched_conf *sc, int64_t now)
{
	int64_t every = sc->period < 86400 ? (int64_t)sc->period :
	    REPORT_SCHED_DAY_EVERY;

	/* on the boundary plus a second: the period before it is over */
	return every - (now % every) + 1;
}

static void *
sched_main(void *arg)
{
	struct report_sched *s = arg;
	struct sched_conf sc;
	struct timespec ts;
	int64_t wait, hour;
	bool trpt;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		/* TLS-RPT: hourly whatever reports.period says */
		hour = report_sched_now() / REPORT_SCHED_DAY_EVERY;
		trpt = s->conf.tlsrpt && hour != s->tlsrpt_hour;
		/* a copy: a reload may replace the settings meanwhile */
		if ((s->conf.send || trpt) && conf_make_copy(&sc, &s->conf) ==
		    MAILSEC_OK) {
			pthread_mutex_unlock(&s->mu);
			if (sc.send)
				sched_run(s, &sc);
			if (trpt) {
				tlsrpt_run(s, &sc);
				s->tlsrpt_hour = hour;
			}
			conf_free(&sc);
			pthread_mutex_lock(&s->mu);
		}
		wait = next_wait(&s->conf, report_sched_now());
		(void)clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)wait;
		while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu,
		    &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

mailsec_err
report_sched_start(struct report_sched **out, const struct gw_config *cfg,
    struct queue *q)
{
	struct report_sched *s;
	mailsec_err e;

	*out = NULL;
	if ((s = ms_calloc(1, sizeof *s)) == NULL)
		return MAILSEC_ENOMEM;
	if ((e = conf_make(&s->conf, cfg)) != MAILSEC_OK) {
		free(s);
		return e;
	}
	s->q = q;
	s->tlsrpt_hour = -1;
	(void)pthread_mutex_init(&s->mu, NULL);
	(void)pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->thread, NULL, sched_main, s) != 0) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		conf_free(&s->conf);
		free(s);
		return MAILSEC_EIO;
	}
	*out = s;
	return MAILSEC_OK;
}

mailsec_err
report_sched_reconfigure(struct report_sched *s, const struct gw_config *cfg)
{
	struct sched_conf c, old;
	mailsec_err e;

	if (s == NULL)
		return MAILSEC_OK;
	if ((e = conf_make(&c, cfg)) != MAILSEC_OK)
		return e;
	pthread_mutex_lock(&s->mu);
	old = s->conf;
	s->conf = c;
	/* a new period takes effect now, not after the old wait */
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	conf_free(&old);
	return MAILSEC_OK;
}

void
report_sched_stop(struct report_sched *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	(void)pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	conf_free(&s->conf);
	free(s);
}

/* ---- ingest ------------------------------------------------------------------ */

static pthread_mutex_t ingest_mu = PTHREAD_MUTEX_INITIALIZER;
static char *ingest_addr;		/* reports.ingest_address, or NULL */

mailsec_err
report_ingest_configure(const struct gw_config *cfg)
{
	char *a = NULL, *old;

	if (cfg != NULL && cfg->reports.ingest_address != NULL &&
	    (a = strdup(cfg->reports.ingest_address)) == NULL)
		return MAILSEC_ENOMEM;
	pthread_mutex_lock(&ingest_mu);
	old = ingest_addr;
	ingest_addr = a;
	pthread_mutex_unlock(&ingest_mu);
	free(old);
	return MAILSEC_OK;
}

bool
report_ingest_wanted(const char *addr)
{
	bool yes;

	if (addr == NULL)
		return false;
	pthread_mutex_lock(&ingest_mu);
	/* the configured address is lowercased (config.c) */
	yes = ingest_addr != NULL && ms_ascii_eq(addr, strlen(addr),
	    ingest_addr, strlen(ingest_addr));
	pthread_mutex_unlock(&ingest_mu);
	return yes;
}

static mailsec_err
ingest_read(int fd, off_t off, size_t len, char **out)
{
	char *buf;
	size_t got = 0;
	ssize_t n;

	if ((buf = malloc(len + 1)) == NULL)
		return MAILSEC_ENOMEM;
	while (got < len) {
		n = pread(fd, buf + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return MAILSEC_EIO;
		}
		got += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	return MAILSEC_OK;
}

mailsec_err
report_ingest_message(const char *state_dir, int fd, off_t off, size_t len,
    char *err, size_t errlen)
{
	struct mailsec_report_doc *docs = NULL;
	struct mailsec_diag diag = { 0 };
	struct report_store *st = NULL;
	char *data = NULL, serr[256];
	size_t ndocs = 0, i, stored = 0;
	bool dup;
	mailsec_err e;

	if (errlen > 0)
		err[0] = '\0';
	if (len > REPORT_INGEST_MAX) {
		snprintf(err, errlen, "message of %zu bytes: larger than a "
		    "report can be", len);
		return MAILSEC_ELIMIT;
	}
	if ((e = ingest_read(fd, off, len, &data)) != MAILSEC_OK) {
		snprintf(err, errlen, "cannot read the message");
		return e;
	}
	e = mailsec_report_extract(data, len, &docs, &ndocs, &diag);
	if (e != MAILSEC_OK) {
		snprintf(err, errlen, "no report in it: %s", diag.set ?
		    diag.text : mailsec_strerror(e));
		e = e == MAILSEC_ENOMEM || e == MAILSEC_ELIMIT ? e :
		    MAILSEC_ENOTFOUND;
		goto out;
	}
	e = MAILSEC_ENOTFOUND;
	snprintf(err, errlen, "no aggregate report in it");
	for (i = 0; i < ndocs; i++) {
		struct mailsec_agg_report *r = NULL;

		if (docs[i].kind != MAILSEC_REPORT_KIND_AGGREGATE)
			continue;
		memset(&diag, 0, sizeof diag);
		if ((e = mailsec_agg_report_parse(docs[i].data, docs[i].len,
		    &r, &diag)) != MAILSEC_OK) {
			snprintf(err, errlen, "report %s: line %zu: %s",
			    docs[i].name != NULL ? docs[i].name : "(unnamed)",
			    diag.line, diag.set ? diag.text :
			    mailsec_strerror(e));
			e = e == MAILSEC_ENOMEM ? e : MAILSEC_ESYNTAX;
			goto out;
		}
		if (st == NULL && report_store_open(state_dir, &st, serr,
		    sizeof serr) != MAILSEC_OK) {
			mailsec_agg_report_free(r);
			snprintf(err, errlen, "report store: %s", serr);
			e = MAILSEC_EIO;
			goto out;
		}
		e = report_store_import(st, r, "ingest", &dup);
		if (e == MAILSEC_OK && !dup && r->nwarnings > 0) {
			/* records the reader left out: one line each */
			char rid[LOG_ESC_SIZE(128)], why[LOG_ESC_SIZE(256)];
			size_t k, rl = r->report_id != NULL ?
			    strlen(r->report_id) : 0;

			log_escape(rid, sizeof rid, r->report_id,
			    rl > 128 ? 128 : rl);
			for (k = 0; k < r->nwarnings; k++)
				log_warnx("reports: ingest report_id=%s "
				    "skipped=%s", rid, log_escape(why,
				    sizeof why, r->warnings[k],
				    strnlen(r->warnings[k], 256)));
		}
		mailsec_agg_report_free(r);
		if (e != MAILSEC_OK) {
			snprintf(err, errlen, "report store: %s",
			    report_store_error(st));
			e = MAILSEC_EIO;
			goto out;
		}
		stored++;
	}
	if (stored > 0) {
		e = MAILSEC_OK;
		snprintf(err, errlen, "%zu reports stored", stored);
	}
out:
	report_store_close(st);
	mailsec_report_docs_free(docs, ndocs);
	free(data);
	return e;
}
