/*
 * tests/unit/daemon_report/test_report_job.c - the aggregate report job
 * (daemon/report_job.c) over a real store, a zone-file resolver for the
 * _report._dmarc checks and a fake send callback: which destinations
 * get the report (own domain, authorized and unauthorized external ones,
 * non-mailto URIs), the report re-read through our own reader with the
 * stored figures, periods that ended vs. the current one, the RFC 7489
 * size limit (notice instead of the report) and RFC 9990's ignoring of
 * it, retries after a DNS or queue failure (only the failed
 * destination, same file name), and the dry run.
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

#include <mailsec/report.h>

#include "../../common/zone_fixture.h"
#include "report_job.h"
#include "report_store.h"
#include "testdir.h"

#define DAY 86400
/* 2024-03-01 00:00:00 UTC */
#define T0 ((int64_t)1709251200)

static const char zone_text[] =
    "$ORIGIN .\n"
    "$TTL 300\n"
    "example.com._report._dmarc.reports.example.net. TXT \"v=DMARC1\"\n"
    "example.com._report._dmarc.wrong.example. TXT \"v=spf1 -all\"\n"
    "$SERVFAIL example.com._report._dmarc.broken.example\n"
    "reports.example.net. A 192.0.2.53\n";

#define SENT_MAX 16

struct sent {
	size_t n;
	char rcpt[SENT_MAX][128];
	char filename[SENT_MAX][512];
	char *data[SENT_MAX];
	size_t len[SENT_MAX];
	bool notice[SENT_MAX];
	int fail_next;			/* refuse this many sends */
};

struct fixture {
	char dir[64];
	struct report_store *st;
	struct mailsec_resolver *res;
	struct sent sent;
	struct report_job_conf conf;
	char out[16384];
	FILE *outf;
};

static mailsec_err
fake_send(void *arg, const struct report_job_mail *m)
{
	struct sent *s = arg;
	size_t i = s->n;

	if (s->fail_next > 0) {
		s->fail_next--;
		return MAILSEC_EIO;
	}
	assert_true(i < SENT_MAX);
	snprintf(s->rcpt[i], sizeof s->rcpt[i], "%s", m->rcpt);
	snprintf(s->filename[i], sizeof s->filename[i], "%s", m->filename);
	s->data[i] = malloc(m->len + 1);
	assert_non_null(s->data[i]);
	memcpy(s->data[i], m->data, m->len);
	s->data[i][m->len] = '\0';
	s->len[i] = m->len;
	s->notice[i] = m->notice;
	s->n++;
	return MAILSEC_OK;
}

static void
sent_clear(struct sent *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->data[i]);
	memset(s, 0, sizeof *s);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[256];

	assert_non_null(f);
	assert_int_equal(testdir_new(f->dir, sizeof f->dir,
	    "/tmp/msrj-test-XXXXXX"), 0);
	assert_int_equal(report_store_open(f->dir, &f->st, err, sizeof err),
	    MAILSEC_OK);
	f->res = zone_fixture(zone_text, sizeof zone_text - 1);
	f->outf = fmemopen(f->out, sizeof f->out - 1, "w");
	assert_non_null(f->outf);
	f->conf.receiver = "mx.receiver.example";
	f->conf.org_name = "Receiver Example";
	f->conf.from = "dmarc-noreply@receiver.example";
	f->conf.resolver = f->res;
	f->conf.send = fake_send;
	f->conf.send_arg = &f->sent;
	f->conf.out = f->outf;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	sent_clear(&f->sent);
	fclose(f->outf);
	mailsec_resolver_free(f->res);
	report_store_close(f->st);
	testdir_remove(f->dir);
	free(f);
	return 0;
}

static const struct report_eval_dkim dkim_ok[] = {
	{ "example.com", "s1", MAILSEC_RRES_PASS }
};

static void
add_eval(struct fixture *f, const char *domain, int64_t t, const char *ip,
    bool pass, const char *rua)
{
	struct report_eval ev;

	memset(&ev, 0, sizeof ev);
	ev.time = t;
	ev.source_ip = ip;
	ev.header_from = domain;
	ev.policy_domain = domain;
	ev.envelope_from = domain;
	ev.p = MAILSEC_RDISP_REJECT;
	ev.adkim = MAILSEC_RALIGN_RELAXED;
	ev.aspf = MAILSEC_RALIGN_RELAXED;
	ev.pct = -1;
	ev.discovery_method = "treewalk";
	ev.rua = rua;
	ev.spf_domain = domain;
	ev.spf_result = pass ? MAILSEC_RRES_PASS : MAILSEC_RRES_FAIL;
	ev.dkim = dkim_ok;
	ev.ndkim = pass ? 1 : 0;
	ev.dmarc_dkim = pass ? MAILSEC_REVAL_PASS : MAILSEC_REVAL_FAIL;
	ev.dmarc_spf = pass ? MAILSEC_REVAL_PASS : MAILSEC_REVAL_FAIL;
	ev.disposition = pass ? MAILSEC_RDISP_PASS : MAILSEC_RDISP_REJECT;
	assert_int_equal(report_store_add_eval(f->st, &ev), MAILSEC_OK);
}

static const char *
output(struct fixture *f)
{
	fflush(f->outf);
	return f->out;
}

static int
sent_index(const struct sent *s, const char *rcpt)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->rcpt[i], rcpt) == 0)
			return (int)i;
	return -1;
}

/* The report inside a sent mail, through our own reader. */
static struct mailsec_agg_report *
reread(const char *mail, size_t len)
{
	struct mailsec_report_doc *docs = NULL;
	struct mailsec_agg_report *r = NULL;
	size_t n = 0;

	assert_int_equal(mailsec_report_extract(mail, len, &docs, &n, NULL),
	    MAILSEC_OK);
	assert_int_equal(n, 1);
	assert_int_equal(docs[0].kind, MAILSEC_REPORT_KIND_AGGREGATE);
	assert_int_equal(mailsec_agg_report_parse(docs[0].data, docs[0].len,
	    &r, NULL), MAILSEC_OK);
	mailsec_report_docs_free(docs, n);
	return r;
}

static void
test_destinations(void **state)
{
	struct fixture *f = *state;
	struct report_job_stats s;
	struct mailsec_agg_report *r;
	struct mailsec_report_totals tot;
	const char *rua = "mailto:dmarc@example.com,"
	    "mailto:agg@reports.example.net!100,"
	    "mailto:x@unauth.example,mailto:y@wrong.example,"
	    "https://reports.example.net/dmarc";
	int i;

	add_eval(f, "example.com", T0 + 10, "192.0.2.1", true, rua);
	add_eval(f, "example.com", T0 + 20, "192.0.2.1", true, rua);
	add_eval(f, "example.com", T0 + 30, "198.51.100.9", false, rua);
	add_eval(f, "example.com", T0 + DAY + 30, "198.51.100.9", false,
	    rua);
	f->conf.now = T0 + DAY + 3600;
	assert_int_equal(report_job_run(f->st, &f->conf, &s), MAILSEC_OK);
	assert_int_equal(s.periods, 1);
	assert_int_equal(s.sent, 2);
	assert_int_equal(s.unauthorized, 2);
	assert_int_equal(s.skipped, 1);
	assert_int_equal(s.tempfail, 0);
	assert_int_equal(f->sent.n, 2);
	assert_true(sent_index(&f->sent, "dmarc@example.com") >= 0);
	i = sent_index(&f->sent, "agg@reports.example.net");
	assert_true(i >= 0);
	assert_false(f->sent.notice[i]);
	/* RFC 9990 report: the obsolete !100 is ignored, and said so */
	assert_non_null(strstr(output(f), "ignored"));
	assert_non_null(strstr(output(f), "x@unauth.example: unauthorized"));
	assert_string_equal(f->sent.filename[i], "mx.receiver.example!"
	    "example.com!1709251200!1709337599!1709251200examplecom"
	    "mxreceiverexample.xml.gz");
	assert_non_null(strstr(f->sent.data[i], "Report Domain: "
	    "example.com"));

	r = reread(f->sent.data[i], f->sent.len[i]);
	assert_string_equal(r->domain, "example.com");
	assert_string_equal(r->org_name, "Receiver Example");
	assert_int_equal(r->date_begin, T0);
	assert_int_equal(r->date_end, T0 + DAY - 1);
	assert_int_equal(r->p, MAILSEC_RDISP_REJECT);
	assert_int_equal(r->nrecords, 2);
	assert_string_equal(r->records[0].source_ip, "192.0.2.1");
	assert_int_equal(r->records[0].count, 2);
	assert_int_equal(r->records[0].ndkim, 1);
	assert_string_equal(r->records[0].dkim_results[0].selector, "s1");
	mailsec_agg_report_totals(r, &tot);
	assert_int_equal(tot.messages, 3);
	assert_int_equal(tot.dmarc_pass, 2);
	mailsec_agg_report_free(r);

	/* a second run finds nothing new: day 2 has not ended */
	sent_clear(&f->sent);
	assert_int_equal(report_job_run(f->st, &f->conf, &s), MAILSEC_OK);
	assert_int_equal(s.periods, 0);
	assert_int_equal(f->sent.n, 0);
}

static void
test_current_period(void **state)
{
	struct fixture *f = *state;
	struct report_job_stats s;
	struct mailsec_agg_report *r;
	const char *rua = "mailto:dmarc@example.com";

	add_eval(f, "example.com", T0 + 100, "192.0.2.1", true, rua);
	add_eval(f, "example.com", T0 + 200, "192.0.2.2", true, rua);
	f->conf.now = T0 + 150;
	assert_int_equal(report_job_run(f->st, &f->conf, &s), MAILSEC_OK);
	assert_int_equal(s.periods, 0);
	f->conf.include_current = true;
	assert_int_equal(report_job_run(f->st, &f->conf, &s), MAILSEC_OK);
	assert_int_equal(s.periods, 1);
	assert_int_equal(f->sent.n, 1);
	r = reread(f->sent.data[0], f->sent.len[0]);
	assert_int_equal(r->date_begin, T0);
	assert_int_equal(r->date_end, T0 + 150);
	assert_int_equal(r->nrecords, 1);
	mailsec_agg_report_free(r);

	/* the rest of the day follows, never overlapping */
	sent_clear(&f->sent);
	f->conf.include_current = false;
	f->conf.now = T0 + DAY + 10;
	assert_int_equal(report_job_run(f->st, &f->conf, &s), MAILSEC_OK);
	assert_int_equal(s.periods, 1);
	assert_int_equal(f->sent.n, 1);
	r = reread(f->sent.data[0], f->sent.len[0]);
	assert_int_equal(r->date_begin, T0 + 151);
	assert_int_equal(r->date_end, T0 + DAY - 1);
	assert_int_equal(r->nrecords, 1);
	assert_string_equal(r->records[0].source_ip, "192.0.2.2");
	mailsec_agg_report_free(r);
}

/*
 * A signature without s= or d= (a permerror the gateway still records)
 * is left out of the report: the rest of it is written and read back.
 */
static void
test_broken_signature(void **state)
{
	static const struct report_eval_dkim dkim_mixed[] = {
		{ "example.com", NULL, MAILSEC_RRES_PERMERROR },
		{ "", "s2", MAILSEC_RRES_PERMERROR },
		{ "example.com", "s1", MAILSEC_RRES_PASS }
	};
	struct fixture *f = *state;
	struct report_job_stats s;
	struct mailsec_agg_report *r;
	struct report_eval ev;

	memset(&ev, 0, sizeof ev);
	ev.time = T0 + 100;
	ev.source_ip = "192.0.2.1";
	ev.header_from = "example.com";
	ev.policy_domain = "example.com";
	ev.p = MAILSEC_RDISP_REJECT;
	ev.pct = -1;
	ev.rua = "mailto:dmarc@example.com";
	ev.dkim = dkim_mixed;
	ev.ndkim = 3;
	ev.dmarc_dkim = MAILSEC_REVAL_PASS;
	ev.dmarc_spf = MAILSEC_REVAL_FAIL;
	ev.disposition = MAILSEC_RDISP_PASS;
	assert_int_equal(report_store_add_eval(f->st, &ev), MAILSEC_OK);
	f->conf.now = T0 + DAY + 10;
	assert_int_equal(report_job_run(f->st, &f->conf, &s), MAILSEC_OK);
	assert_int_equal(s.periods, 1);
	assert_int_equal(f->sent.n, 1);
	r = reread(f->sent.data[0], f->sent.len[0]);
	assert_int_equal(r->nrecords, 1);
	assert_int_equal(r->records[0].ndkim, 1);
	assert_string_equal(r->records[0].dkim_results[0].selector, "s1");
	mailsec_agg_report_free(r);
}

static void
test_rfc7489_size_limit(void **state)
{
	struct fixture *f = *state;
	struct report_job_stats s;
	struct mailsec_agg_report *r;
	const char *rua = "mailto:small@example.com!100,"
	    "mailto:big@example.com!10m";
	int i;

	add_eval(f, "example.com", T0 + 10, "192.0.2.1", true, rua);
	add_eval(f, "example.com", T0 + 20, "198.51.100.1", false, rua);
	f->conf.format = MAILSEC_REPORT_FMT_RFC7489;
	f->conf.now = T0 + DAY;
	assert_int_equal(report_job_run(f->st, &f->conf, &s), MAILSEC_OK);
	assert_int_equal(s.sent, 1);
	assert_int_equal(s.too_big, 1);
	i = sent_index(&f->sent, "small@example.com");
	assert_true(i >= 0);
	assert_true(f->sent.notice[i]);
	assert_non_null(strstr(f->sent.data[i], "Size-Limit: 100\r\n"));
	assert_null(strstr(f->sent.data[i], "application/gzip"));
	i = sent_index(&f->sent, "big@example.com");
	assert_true(i >= 0);
	assert_false(f->sent.notice[i]);
	r = reread(f->sent.data[i], f->sent.len[i]);
	assert_int_equal(r->format, MAILSEC_REPORT_FMT_RFC7489);
	assert_int_equal(r->nrecords, 2);
	mailsec_agg_report_free(r);
}

static void
test_retry_after_failures(void **state)
{
	struct fixture *f = *state;
	struct report_job_stats s;
	struct mailsec_resolver *fixed;
	static const char fixed_zone[] = "$ORIGIN .\n"
	    "example.com._report._dmarc.broken.example. TXT \"v=DMARC1\"\n";
	const char *rua = "mailto:dmarc@example.com,mailto:r@broken.example,"
	    "mailto:q@example.com";
	char first_name[512];
	int i;

	add_eval(f, "example.com", T0 + 10, "192.0.2.1", true, rua);
	f->conf.now = T0 + DAY;
	/* DNS fails for broken.example; the queue refuses the first mail */
	f->sent.fail_next = 1;
	assert_int_equal(report_job_run(f->st, &f->conf, &s), MAILSEC_OK);
	assert_int_equal(s.tempfail, 2);
	assert_int_equal(s.sent, 1);
	assert_int_equal(f->sent.n, 1);
	assert_string_equal(f->sent.rcpt[0], "q@example.com");
	snprintf(first_name, sizeof first_name, "%s", f->sent.filename[0]);
	assert_non_null(strstr(output(f), "kept open"));

	/* next run: only the two that failed, same report */
	sent_clear(&f->sent);
	fixed = zone_fixture(fixed_zone, sizeof fixed_zone - 1);
	f->conf.resolver = fixed;
	f->conf.now = T0 + DAY + 600;
	assert_int_equal(report_job_run(f->st, &f->conf, &s), MAILSEC_OK);
	assert_int_equal(s.periods, 1);
	assert_int_equal(s.sent, 2);
	assert_int_equal(s.tempfail, 0);
	assert_int_equal(f->sent.n, 2);
	assert_int_equal(sent_index(&f->sent, "q@example.com"), -1);
	i = sent_index(&f->sent, "r@broken.example");
	assert_true(i >= 0);
	assert_string_equal(f->sent.filename[i], first_name);

	/* and then nothing is left */
	sent_clear(&f->sent);
	assert_int_equal(report_job_run(f->st, &f->conf, &s), MAILSEC_OK);
	assert_int_equal(s.periods, 0);
	f->conf.resolver = f->res;
	mailsec_resolver_free(fixed);
}

static void
test_dry_run_and_no_rua(void **state)
{
	struct fixture *f = *state;
	struct report_job_stats s;

	add_eval(f, "example.com", T0 + 10, "192.0.2.1", true,
	    "mailto:dmarc@example.com");
	add_eval(f, "norua.example", T0 + 10, "192.0.2.1", true, NULL);
	f->conf.now = T0 + DAY;
	f->conf.dry_run = true;
	assert_int_equal(report_job_run(f->st, &f->conf, &s), MAILSEC_OK);
	assert_int_equal(s.periods, 2);
	assert_int_equal(s.sent, 1);
	assert_int_equal(s.skipped, 1);
	assert_int_equal(f->sent.n, 0);
	assert_non_null(strstr(output(f), "would be sent"));
	assert_non_null(strstr(output(f), "no rua="));
	/* nothing recorded: the real run does it all again */
	f->conf.dry_run = false;
	assert_int_equal(report_job_run(f->st, &f->conf, &s), MAILSEC_OK);
	assert_int_equal(s.periods, 2);
	assert_int_equal(f->sent.n, 1);
	assert_int_equal(report_job_run(f->st, &f->conf, &s), MAILSEC_OK);
	assert_int_equal(s.periods, 0);
}

static void
test_conf_checked(void **state)
{
	struct fixture *f = *state;
	struct report_job_stats s;

	f->conf.send = NULL;
	assert_int_equal(report_job_run(f->st, &f->conf, &s), MAILSEC_EINVAL);
	f->conf.send = fake_send;
	f->conf.receiver = NULL;
	assert_int_equal(report_job_run(f->st, &f->conf, &s), MAILSEC_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_destinations),
		T(test_current_period),
		T(test_broken_signature),
		T(test_rfc7489_size_limit),
		T(test_retry_after_failures),
		T(test_dry_run_and_no_rua),
		T(test_conf_checked),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
