/*
 * tests/unit/daemon_report/test_report_gateway.c - DMARC reports in the
 * gateway: the reports { } configuration section, the failure-report
 * decision (fo= 0/1/d/s, evaluable results only, psd=y, Auto-Submitted),
 * failure reports through the thread into a real queue (redacted AFRF,
 * the destination check, the hourly rate limit), the schedule thread
 * with the test clock putting yesterday's report into the queue, and
 * the ingest of a report mail into the store (report_ingest_message).
 * The queue is delivered by queue_run() into a scratch Maildir, so every
 * mail is read as it would arrive.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mailsec/dkim.h>
#include <mailsec/dmarc.h>
#include <mailsec/report.h>
#include <mailsec/spf.h>

#include "config.h"
#include "queue.h"
#include "report_fail.h"
#include "report_sched.h"
#include "report_store.h"
#include "testdir.h"

#define S(s) s, sizeof(s) - 1

static const char zone_text[] =
    "$ORIGIN .\n"
    "$TTL 300\n"
    "example.com._report._dmarc.reports.test. TXT \"v=DMARC1\"\n"
    "reports.test. A 192.0.2.53\n"
    "example.com. A 192.0.2.54\n";

static const char msg_headers[] =
    "From: Alice Sender <alice@example.com>\r\n"
    "To: bob@reports.test\r\n"
    "Subject: quarterly figures\r\n"
    "Message-ID: <alice.1234@example.com>\r\n"
    "\r\n";

struct fixture {
	char dir[64];
	char conf[8192];
	struct gw_config cfg;
	struct queue *q;
};

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Loads the configuration: state in the scratch directory, the zone,
 * local domain reports.test, plus extra (the reports section). */
static void
load_cfg(struct fixture *f, const char *extra)
{
	char err[GW_CONFIG_ERR_MAX], zone[128];

	snprintf(zone, sizeof zone, "%s/zone", f->dir);
	snprintf(f->conf, sizeof f->conf, "state_dir \"%s\";\n"
	    "dns { zone \"%s\"; }\n"
	    "local { domains [reports.test, example.org]; }\n"
	    "delivery { helo mx.reports.test; }\n%s", f->dir, zone, extra);
	gw_config_free(&f->cfg);
	assert_int_equal(gw_config_load_mem(f->conf, strlen(f->conf),
	    "test.conf", &f->cfg, err, sizeof err), MAILSEC_OK);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct mailsec_diag diag = { 0 };
	char zone[128];

	assert_non_null(f);
	assert_int_equal(testdir_new(f->dir, sizeof f->dir,
	    "/tmp/msrg-test-XXXXXX"), 0);
	snprintf(zone, sizeof zone, "%s/zone", f->dir);
	write_file(zone, zone_text);
	assert_int_equal(queue_open(&f->q, f->dir, NULL, &diag), MAILSEC_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	report_fail_stop();
	queue_close(f->q);
	gw_config_free(&f->cfg);
	testdir_remove(f->dir);
	free(f);
	return 0;
}

/* Delivers the queue into the Maildir; returns the messages of
 * user@domain (NUL-terminated, free each and the array). */
static size_t
mailbox(struct fixture *f, const char *domain, const char *user,
    char ***out)
{
	const char *doms[] = { "reports.test", "example.org" };
	struct queue_local lc;
	struct queue_run_stats st;
	char path[512], file[1024];
	struct dirent *de;
	DIR *d;
	char **v = NULL;
	size_t n = 0;

	memset(&lc, 0, sizeof lc);
	lc.domains = doms;
	lc.ndomains = 2;
	lc.hostname = "test";
	assert_int_equal(queue_run(f->q, &lc, true, &st), MAILSEC_OK);
	snprintf(path, sizeof path, "%s/mail/%s/%s/new", f->dir, domain, user);
	if ((d = opendir(path)) == NULL) {
		*out = NULL;
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		FILE *fp;
		long len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof file, "%s/%s", path, de->d_name);
		assert_non_null(fp = fopen(file, "r"));
		fseek(fp, 0, SEEK_END);
		len = ftell(fp);
		rewind(fp);
		v = realloc(v, (n + 1) * sizeof *v);
		assert_non_null(v);
		assert_non_null(v[n] = malloc((size_t)len + 1));
		assert_int_equal(fread(v[n], 1, (size_t)len, fp), (size_t)len);
		v[n][len] = '\0';
		fclose(fp);
		n++;
	}
	closedir(d);
	*out = v;
	return n;
}

static void
mails_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- configuration ------------------------------------------------------ */

static void
test_config(void **state)
{
	struct fixture *f = *state;
	struct gw_config c2;
	char err[GW_CONFIG_ERR_MAX], from[256], *dump = NULL, bad[512];
	size_t dlen = 0;
	FILE *m;

	load_cfg(f, "");
	assert_true(f->cfg.reports.send);
	assert_int_equal(f->cfg.reports.period, 86400);
	assert_false(f->cfg.reports.failure);
	assert_true(f->cfg.reports.failure_redact);
	assert_int_equal(f->cfg.reports.failure_rate, 10);
	assert_int_equal(f->cfg.reports.format, GW_REPORT_RFC9990);
	assert_null(f->cfg.reports.ingest_address);
	assert_non_null(f->cfg.reports.org_name);
	assert_int_equal(gw_config_reports_from(&f->cfg, from, sizeof from),
	    MAILSEC_OK);
	assert_string_equal(from, "dmarc-noreply@reports.test");

	load_cfg(f, "reports { period 5min; org_name \"Reports Test\"; "
	    "from Dmarc@Reports.Test; format rfc7489; failure yes; "
	    "failure_redact no; failure_rate 3; "
	    "ingest_address rua@example.org; }\n");
	assert_int_equal(f->cfg.reports.period, 300);
	assert_string_equal(f->cfg.reports.org_name, "Reports Test");
	assert_string_equal(f->cfg.reports.from, "dmarc@reports.test");
	assert_int_equal(f->cfg.reports.format, GW_REPORT_RFC7489);
	assert_true(f->cfg.reports.failure);
	assert_false(f->cfg.reports.failure_redact);
	assert_int_equal(f->cfg.reports.failure_rate, 3);
	assert_string_equal(f->cfg.reports.ingest_address, "rua@example.org");

	/* the dump reads back the same */
	assert_non_null(m = open_memstream(&dump, &dlen));
	gw_config_dump(&f->cfg, m);
	fclose(m);
	assert_non_null(strstr(dump, "reports {"));
	assert_int_equal(gw_config_load_mem(dump, dlen, "dump", &c2, err,
	    sizeof err), MAILSEC_OK);
	assert_int_equal(c2.reports.period, 300);
	assert_string_equal(c2.reports.ingest_address, "rua@example.org");
	assert_int_equal(c2.reports.format, GW_REPORT_RFC7489);
	gw_config_free(&c2);
	free(dump);

	/* refused: too short a period, an ingest address elsewhere */
	snprintf(bad, sizeof bad, "reports { period 30s; }\n");
	assert_int_equal(gw_config_load_mem(bad, strlen(bad), "t", &c2, err,
	    sizeof err), MAILSEC_ESYNTAX);
	assert_non_null(strstr(err, "reports.period"));
	snprintf(bad, sizeof bad, "reports { ingest_address "
	    "rua@elsewhere.example; }\n");
	assert_int_equal(gw_config_load_mem(bad, strlen(bad), "t", &c2, err,
	    sizeof err), MAILSEC_ESYNTAX);
	assert_non_null(strstr(err, "not at a local domain"));
	snprintf(bad, sizeof bad, "reports { from nobody; }\n");
	assert_int_equal(gw_config_load_mem(bad, strlen(bad), "t", &c2, err,
	    sizeof err), MAILSEC_ESYNTAX);
}

/* ---- the failure-report decision ---------------------------------------- */

struct due_case {
	const char *record;
	enum mailsec_dmarc_result result;
	bool spf_aligned, dkim_aligned;
	bool psd;
	bool spf_fail;			/* SPF result fail */
	const char *extra_header;	/* or NULL */
	enum report_fail_kind want;
};

static const struct due_case due_cases[] = {
	/* fo=0 (default): only when nothing aligned passed */
	{ "v=DMARC1; p=reject; ruf=mailto:f@reports.test",
	  MAILSEC_DMARC_FAIL, false, false, false, false, NULL,
	  REPORT_FAIL_DMARC },
	{ "v=DMARC1; p=reject; ruf=mailto:f@reports.test",
	  MAILSEC_DMARC_PASS, true, false, false, false, NULL,
	  REPORT_FAIL_NONE },
	/* no ruf=: fo= means nothing */
	{ "v=DMARC1; p=reject; fo=1",
	  MAILSEC_DMARC_FAIL, false, false, false, false, NULL,
	  REPORT_FAIL_NONE },
	/* fo=1: one mechanism without an aligned pass is enough */
	{ "v=DMARC1; p=reject; fo=1; ruf=mailto:f@reports.test",
	  MAILSEC_DMARC_PASS, true, false, false, false, NULL,
	  REPORT_FAIL_DMARC },
	{ "v=DMARC1; p=reject; fo=1; ruf=mailto:f@reports.test",
	  MAILSEC_DMARC_PASS, true, true, false, false, NULL,
	  REPORT_FAIL_NONE },
	/* fo=s: SPF failed, DMARC passed through DKIM */
	{ "v=DMARC1; p=reject; fo=s; ruf=mailto:f@reports.test",
	  MAILSEC_DMARC_PASS, false, true, false, true, NULL,
	  REPORT_FAIL_SPF },
	{ "v=DMARC1; p=reject; fo=s; ruf=mailto:f@reports.test",
	  MAILSEC_DMARC_PASS, false, true, false, false, NULL,
	  REPORT_FAIL_NONE },
	/* not evaluated: never */
	{ "v=DMARC1; p=reject; fo=1; ruf=mailto:f@reports.test",
	  MAILSEC_DMARC_TEMPERROR, false, false, false, false, NULL,
	  REPORT_FAIL_NONE },
	{ "v=DMARC1; p=reject; fo=1; ruf=mailto:f@reports.test",
	  MAILSEC_DMARC_PERMERROR, false, false, false, false, NULL,
	  REPORT_FAIL_NONE },
	/* a PSD record's ruf= is not used (RFC 9991 2) */
	{ "v=DMARC1; p=reject; ruf=mailto:f@reports.test",
	  MAILSEC_DMARC_FAIL, false, false, true, false, NULL,
	  REPORT_FAIL_NONE },
	/* automatic mail gets no report; "no" is a person's */
	{ "v=DMARC1; p=reject; ruf=mailto:f@reports.test",
	  MAILSEC_DMARC_FAIL, false, false, false, false,
	  "Auto-Submitted: auto-generated\r\n", REPORT_FAIL_NONE },
	{ "v=DMARC1; p=reject; ruf=mailto:f@reports.test",
	  MAILSEC_DMARC_FAIL, false, false, false, false,
	  "auto-submitted:  No\r\n", REPORT_FAIL_DMARC },
};

/* A hand-made outcome around one parsed record. */
struct outcome {
	struct mailsec_dmarc_record *rec;
	struct mailsec_dmarc_domain d;
	struct mailsec_dmarc_outcome o;
	struct mailsec_spf_outcome spf;
	struct report_eval_src src;
	char headers[1024];
	struct report_fail_msg m;
};

static void
outcome_make(struct outcome *x, const struct due_case *c)
{
	memset(x, 0, sizeof *x);
	assert_int_equal(mailsec_dmarc_record_parse(c->record,
	    strlen(c->record), MAILSEC_DMARC_RFC9989, &x->rec, NULL),
	    MAILSEC_OK);
	x->d.domain = (char *)"example.com";
	x->d.policy_domain = (char *)"example.com";
	x->d.record = x->rec;
	x->d.from_psd = c->psd;
	x->o.result = c->result;
	x->o.from_domain = (char *)"example.com";
	x->o.policy_domain = (char *)"example.com";
	x->o.spf_aligned = c->spf_aligned;
	x->o.dkim_aligned = c->dkim_aligned;
	x->o.domains = &x->d;
	x->o.ndomains = 1;
	x->spf.result = c->spf_fail ? MAILSEC_SPF_FAIL : MAILSEC_SPF_PASS;
	x->spf.domain = (char *)"example.com";
	x->src.time = 1709251200;
	x->src.source_ip = "198.51.100.7";
	x->src.mail_from = "alice@example.com";
	x->src.spf = &x->spf;
	snprintf(x->headers, sizeof x->headers, "%s%s",
	    c->extra_header != NULL ? c->extra_header : "", msg_headers);
	x->m.dmarc = &x->o;
	x->m.src = &x->src;
	x->m.headers = x->headers;
	x->m.headers_len = strlen(x->headers);
	x->m.prepend = "Authentication-Results: mx.reports.test;\r\n"
	    "\tspf=fail smtp.mailfrom=alice@example.com;\r\n"
	    "\tdmarc=fail header.from=example.com\r\n";
	x->m.prepend_len = strlen(x->m.prepend);
}

static void
test_due(void **state)
{
	const struct mailsec_dmarc_record *rec;
	struct outcome x;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof due_cases / sizeof due_cases[0]; i++) {
		outcome_make(&x, &due_cases[i]);
		if (report_fail_due(&x.m, &rec) != due_cases[i].want)
			fail_msg("case %zu (%s): got another decision", i,
			    due_cases[i].record);
		assert_true((rec != NULL) ==
		    (due_cases[i].want != REPORT_FAIL_NONE));
		mailsec_dmarc_record_free(x.rec);
	}
}

/* ---- failure reports through the queue ---------------------------------- */

static void
test_failure_reports(void **state)
{
	struct fixture *f = *state;
	const struct due_case c = {
		"v=DMARC1; p=reject; ruf=mailto:ruf@reports.test,"
		"mailto:x@unauth.example,https://example.com/r",
		MAILSEC_DMARC_FAIL, false, false, false, false, NULL,
		REPORT_FAIL_DMARC
	};
	struct report_fail_stats st;
	struct outcome x;
	char **mails = NULL;
	size_t n, i;

	load_cfg(f, "reports { failure yes; failure_rate 2; }\n");
	assert_int_equal(report_fail_start(&f->cfg, f->q), MAILSEC_OK);
	assert_true(report_fail_enabled());
	outcome_make(&x, &c);
	for (i = 0; i < 3; i++)
		report_fail_submit(&x.m);
	assert_true(report_fail_drain());
	report_fail_stats(&st);
	assert_int_equal(st.submitted, 3);
	assert_int_equal(st.queued, 2);		/* the rate: 2 an hour */
	assert_int_equal(st.rate_limited, 1);
	assert_int_equal(st.unauthorized, 3);	/* x@unauth.example */
	n = mailbox(f, "reports.test", "ruf", &mails);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		assert_non_null(strstr(mails[i], "report-type=feedback-report"));
		assert_non_null(strstr(mails[i], "Feedback-Type: auth-failure"));
		assert_non_null(strstr(mails[i], "Auth-Failure: dmarc"));
		assert_non_null(strstr(mails[i], "Reported-Domain: example.com"));
		assert_non_null(strstr(mails[i], "Source-IP: 198.51.100.7"));
		assert_non_null(strstr(mails[i], "Identity-Alignment: dkim, spf"));
		assert_non_null(strstr(mails[i], "Subject: quarterly figures"));
		/* redacted: no local part of the original survives */
		assert_null(strstr(mails[i], "alice@"));
		assert_null(strstr(mails[i], "bob@"));
		assert_non_null(strstr(mails[i], "@example.com"));
		assert_non_null(strstr(mails[i], "Return-Path: "
		    "<dmarc-noreply@reports.test>"));
	}
	mails_free(mails, n);

	/* a reload without redaction: the addresses are shown */
	load_cfg(f, "reports { failure yes; failure_redact no; "
	    "failure_rate 5; }\n");
	assert_int_equal(report_fail_reconfigure(&f->cfg), MAILSEC_OK);
	report_fail_submit(&x.m);
	assert_true(report_fail_drain());
	n = mailbox(f, "reports.test", "ruf", &mails);
	assert_int_equal(n, 3);
	for (i = 0; i < n && strstr(mails[i], "alice@example.com") == NULL;
	    i++)
		;
	assert_true(i < n);
	mails_free(mails, n);

	/* turned off: nothing is made */
	load_cfg(f, "");
	assert_int_equal(report_fail_reconfigure(&f->cfg), MAILSEC_OK);
	assert_false(report_fail_enabled());
	report_fail_submit(&x.m);
	mailsec_dmarc_record_free(x.rec);
}

/* ---- the schedule --------------------------------------------------------- */

static void
add_evals(const char *dir, int64_t t, int n, const char *rua)
{
	struct report_store *st;
	struct report_eval ev;
	char err[256];
	int i;

	assert_int_equal(report_store_open(dir, &st, err, sizeof err),
	    MAILSEC_OK);
	for (i = 0; i < n; i++) {
		memset(&ev, 0, sizeof ev);
		ev.time = t + i;
		ev.source_ip = i % 2 == 0 ? "192.0.2.1" : "198.51.100.7";
		ev.header_from = "example.com";
		ev.policy_domain = "example.com";
		ev.p = MAILSEC_RDISP_REJECT;
		ev.adkim = ev.aspf = MAILSEC_RALIGN_RELAXED;
		ev.pct = -1;
		ev.rua = rua;
		ev.spf_domain = "example.com";
		ev.spf_result = i % 2 == 0 ? MAILSEC_RRES_PASS :
		    MAILSEC_RRES_FAIL;
		ev.dmarc_dkim = MAILSEC_REVAL_FAIL;
		ev.dmarc_spf = i % 2 == 0 ? MAILSEC_REVAL_PASS :
		    MAILSEC_REVAL_FAIL;
		ev.disposition = i % 2 == 0 ? MAILSEC_RDISP_PASS :
		    MAILSEC_RDISP_REJECT;
		assert_int_equal(report_store_add_eval(st, &ev), MAILSEC_OK);
	}
	report_store_close(st);
}

/*
 * n evaluations yesterday for rua@reports.test, the schedule started
 * under the configuration cfg: its start run mails one report, read
 * from the Maildir into *mails (mails_free). Returns the count, 1.
 */
static size_t
yesterday_report(struct fixture *f, int n, const char *cfg, char ***mails)
{
	struct report_sched *s = NULL;
	int64_t now = report_sched_now();
	size_t got = 0;
	int tries;

	add_evals(f->dir, now - now % 86400 - 86400 + 60, n,
	    "mailto:rua@reports.test");
	load_cfg(f, cfg);
	assert_int_equal(report_sched_start(&s, &f->cfg, f->q), MAILSEC_OK);
	for (tries = 0; tries < 100 && got == 0; tries++) {
		usleep(50000);
		got = mailbox(f, "reports.test", "rua", mails);
	}
	report_sched_stop(s);
	assert_int_equal(got, 1);
	return got;
}

static void
test_schedule(void **state)
{
	struct fixture *f = *state;
	struct mailsec_report_doc *docs = NULL;
	struct mailsec_agg_report *r = NULL;
	struct mailsec_report_totals tot;
	char **mails = NULL;
	size_t n, nd = 0;

	/* five evaluations yesterday: the start run reports them */
	n = yesterday_report(f, 5, "reports { org_name \"Test Org\"; }\n",
	    &mails);
	assert_non_null(strstr(mails[0], "Report Domain: example.com"));
	assert_non_null(strstr(mails[0], "Submitter: reports.test"));
	assert_int_equal(mailsec_report_extract(mails[0], strlen(mails[0]),
	    &docs, &nd, NULL), MAILSEC_OK);
	assert_int_equal(nd, 1);
	assert_int_equal(mailsec_agg_report_parse(docs[0].data, docs[0].len,
	    &r, NULL), MAILSEC_OK);
	assert_string_equal(r->org_name, "Test Org");
	mailsec_agg_report_totals(r, &tot);
	assert_int_equal(tot.messages, 5);
	assert_int_equal(tot.dmarc_pass, 3);
	mailsec_agg_report_free(r);
	mailsec_report_docs_free(docs, nd);
	mails_free(mails, n);
}

/* ---- ingest ----------------------------------------------------------------- */

static int
temp_fd(const char *dir, const char *name, const char *data, size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "PREFIX", 6), 6);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	return fd;
}

static void
test_ingest(void **state)
{
	struct fixture *f = *state;
	struct report_store *st;
	struct report_summary_query q = { NULL, INT64_MIN, 0 };
	struct report_summary *sum;
	char **mails = NULL, err[256];
	size_t n;
	int fd;
	static const char plain[] = "From: a@example.com\r\n"
	    "Subject: hello\r\n\r\nnot a report\r\n";

	/* a report mail as the schedule makes it */
	n = yesterday_report(f, 4, "", &mails);

	fd = temp_fd(f->dir, "m1", mails[0], strlen(mails[0]));
	assert_int_equal(report_ingest_message(f->dir, fd, 6,
	    strlen(mails[0]), err, sizeof err), MAILSEC_OK);
	/* twice: already stored, still a report */
	assert_int_equal(report_ingest_message(f->dir, fd, 6,
	    strlen(mails[0]), err, sizeof err), MAILSEC_OK);
	close(fd);
	assert_int_equal(report_store_open(f->dir, &st, err, sizeof err),
	    MAILSEC_OK);
	assert_int_equal(report_store_summary(st, &q, &sum), MAILSEC_OK);
	assert_int_equal(sum->reports, 1);
	assert_int_equal(sum->total.count, 4);
	assert_int_equal(sum->nsources, 2);
	report_summary_free(sum);
	report_store_close(st);

	/* not a report: delivered normally */
	fd = temp_fd(f->dir, "m2", plain, sizeof plain - 1);
	assert_int_equal(report_ingest_message(f->dir, fd, 6,
	    sizeof plain - 1, err, sizeof err), MAILSEC_ENOTFOUND);
	assert_true(err[0] != '\0');
	/* a read past the end is an I/O error, not a crash */
	assert_int_equal(report_ingest_message(f->dir, fd, 6, 100000, err,
	    sizeof err), MAILSEC_EIO);
	close(fd);
	mails_free(mails, n);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_config),
		T(test_due),
		T(test_failure_reports),
		T(test_schedule),
		T(test_ingest),
	};

	/* the schedule's clock is the real one here */
	unsetenv(REPORT_SCHED_TEST_NOW);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
