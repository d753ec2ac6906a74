/*
 * tests/unit/report_write/test_report_reimport.c - what the writer
 * writes, the reader reads back: hand-built models that the format can
 * carry whole go through mailsec_agg_report_write() and
 * mailsec_agg_report_parse() and come back field for field (RFC 9990
 * and RFC 7489 forms, XML specials, CR, invalid UTF-8 replaced once by
 * the writer), also through gzip and extraction from the report e-mail.
 * At the edges of what a reader takes: the largest count is written and
 * read back, a larger one and a required string the reader would trim to
 * nothing are refused by the writer, so what it writes it can read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailsec/report.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static char org_nasty[] = "Org <&> \"quoted\" 'apos' ]]> \x01 "
    "\xc3\xa9t\xc3\xa9 \x80 \xe2\x82 end";
static char org_nasty_expect[] = "Org <&> \"quoted\" 'apos' ]]> \xef\xbf\xbd "
    "\xc3\xa9t\xc3\xa9 \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd end";
static char comment_cr[] = "line one\r\nline two & </comment>";
static char s_email[] = "dmarc-reports@receiver.example";
static char s_contact[] = "https://receiver.example/dmarc?a=1&b=2";
static char s_rid[] = "1700000000.example.com@receiver.example";
static char s_err1[] = "rua <bad> ignored";
static char s_err2[] = "second & last";
static char s_gen[] = "mailsec test \"gen\"";
static char s_domain[] = "example.com";
static char s_fo[] = "1:d";
static char s_treewalk[] = "treewalk";
static char *errs[] = { s_err1, s_err2 };
static char ip1[] = "192.0.2.1", ip2[] = "2001:db8:0:0:0:0:0:25";
static char ip3[] = "198.51.100.7";
static char hf[] = "example.com", hf2[] = "sub.example.com";
static char ef[] = "bounce.example.com", et[] = "receiver.example";
static char dd1[] = "example.com", ds1[] = "sel1", dd2[] = "esp.example";
static char ds2[] = "s2048", hr[] = "body hash <mismatch> & more";
static char sd[] = "example.com", sh[] = "mail.example.com";
static char shr[] = "sender \"not\" permitted";

static struct mailsec_report_reason reasons1[] = {
	{ .type = MAILSEC_ROVR_LOCAL_POLICY, .comment = comment_cr },
	{ .type = MAILSEC_ROVR_MAILING_LIST },
};
static struct mailsec_report_reason reasons3[] = {
	{ .type = MAILSEC_ROVR_TRUSTED_FORWARDER },
	{ .type = MAILSEC_ROVR_OTHER, .comment = s_err2 },
};
static struct mailsec_report_dkim dkim1[] = {
	{ .domain = dd1, .selector = ds1, .result = MAILSEC_RRES_PASS },
	{ .domain = dd2, .selector = ds2, .result = MAILSEC_RRES_FAIL,
	  .human_result = hr },
};
static struct mailsec_report_dkim dkim3[] = {
	{ .domain = dd2, .selector = ds2, .result = MAILSEC_RRES_TEMPERROR },
};
static struct mailsec_report_spf spf1[] = {
	{ .domain = sd, .result = MAILSEC_RRES_PASS },
};
static struct mailsec_report_spf spf2[] = {
	{ .domain = ef, .result = MAILSEC_RRES_SOFTFAIL, .human_result = shr },
};
static struct mailsec_report_spf spf2_7489[] = {
	{ .domain = sh, .helo = true, .result = MAILSEC_RRES_NONE },
	{ .domain = ef, .result = MAILSEC_RRES_SOFTFAIL },
};
static struct mailsec_report_spf spf3[] = {
	{ .domain = sd, .result = MAILSEC_RRES_PERMERROR },
};

static struct mailsec_report_record records[3];

/* A model RFC 9990 carries whole; rfc7489: one appendix C carries. */
static void
model(struct mailsec_agg_report *r, bool rfc7489)
{
	static const struct mailsec_report_record base[3] = {
		{ .source_ip = ip1, .count = 42,
		  .disposition = MAILSEC_RDISP_PASS,
		  .dkim = MAILSEC_REVAL_PASS, .spf = MAILSEC_REVAL_PASS,
		  .reasons = reasons1, .nreasons = 2, .header_from = hf,
		  .envelope_from = ef, .envelope_to = et,
		  .dkim_results = dkim1, .ndkim = 2,
		  .spf_results = spf1, .nspf = 1 },
		{ .source_ip = ip2, .count = 7,
		  .disposition = MAILSEC_RDISP_QUARANTINE,
		  .dkim = MAILSEC_REVAL_FAIL, .spf = MAILSEC_REVAL_FAIL,
		  .header_from = hf2, .envelope_from = ef,
		  .spf_results = spf2, .nspf = 1 },
		{ .source_ip = ip3, .count = 1000000,
		  .disposition = MAILSEC_RDISP_NONE,
		  .dkim = MAILSEC_REVAL_FAIL, .spf = MAILSEC_REVAL_FAIL,
		  .reasons = reasons3, .nreasons = 2, .header_from = hf,
		  .envelope_from = ef, .dkim_results = dkim3, .ndkim = 1,
		  .spf_results = spf3, .nspf = 1 },
	};

	memcpy(records, base, sizeof records);
	memset(r, 0, sizeof *r);
	r->format = rfc7489 ? MAILSEC_REPORT_FMT_RFC7489 :
	    MAILSEC_REPORT_FMT_RFC9990;
	r->org_name = org_nasty;
	r->email = s_email;
	r->extra_contact_info = s_contact;
	r->report_id = s_rid;
	r->date_begin = 1700000000;
	r->date_end = 1700086399;
	r->errors = errs;
	r->nerrors = rfc7489 ? 2 : 1;	/* RFC 9990: one error element */
	r->domain = s_domain;
	r->adkim = MAILSEC_RALIGN_STRICT;
	r->aspf = MAILSEC_RALIGN_RELAXED;
	r->p = MAILSEC_RDISP_REJECT;
	r->sp = MAILSEC_RDISP_QUARANTINE;
	r->fo = s_fo;
	r->records = records;
	r->nrecords = NELEM(records);
	if (rfc7489) {
		r->pct = 50;
		records[0].disposition = MAILSEC_RDISP_NONE;
		records[1].spf_results = spf2_7489;
		records[1].nspf = 2;
	} else {
		r->pct = -1;
		r->generator = s_gen;
		r->np = MAILSEC_RDISP_NONE;
		r->testing = true;
		r->discovery_method = s_treewalk;
	}
}

static void
same_str(const char *what, const char *want, const char *got)
{
	if (want == NULL && got == NULL)
		return;
	if (want == NULL || got == NULL || strcmp(want, got) != 0)
		fail_msg("%s: want \"%s\", got \"%s\"", what,
		    want ? want : "(null)", got ? got : "(null)");
}

static void
same_report(const struct mailsec_agg_report *w,
    const struct mailsec_agg_report *g)
{
	size_t i, k;

	assert_int_equal(g->format, w->format);
	same_str("org_name", org_nasty_expect, g->org_name);
	same_str("email", w->email, g->email);
	same_str("extra_contact_info", w->extra_contact_info,
	    g->extra_contact_info);
	same_str("report_id", w->report_id, g->report_id);
	assert_int_equal(g->date_begin, w->date_begin);
	assert_int_equal(g->date_end, w->date_end);
	assert_int_equal(g->nerrors, w->nerrors);
	for (i = 0; i < w->nerrors; i++)
		same_str("error", w->errors[i], g->errors[i]);
	same_str("generator", w->generator, g->generator);
	same_str("domain", w->domain, g->domain);
	assert_int_equal(g->adkim, w->adkim);
	assert_int_equal(g->aspf, w->aspf);
	assert_int_equal(g->p, w->p);
	assert_int_equal(g->sp, w->sp);
	assert_int_equal(g->np, w->np);
	assert_int_equal(g->pct, w->pct);
	same_str("fo", w->fo, g->fo);
	assert_int_equal(g->testing, w->testing);
	same_str("discovery_method", w->discovery_method,
	    g->discovery_method);
	assert_int_equal(g->nrecords, w->nrecords);
	for (i = 0; i < w->nrecords; i++) {
		const struct mailsec_report_record *a = &w->records[i];
		const struct mailsec_report_record *b = &g->records[i];

		same_str("source_ip", a->source_ip, b->source_ip);
		assert_int_equal(b->count, a->count);
		assert_int_equal(b->disposition, a->disposition);
		assert_int_equal(b->dkim, a->dkim);
		assert_int_equal(b->spf, a->spf);
		assert_int_equal(b->nreasons, a->nreasons);
		for (k = 0; k < a->nreasons; k++) {
			assert_int_equal(b->reasons[k].type,
			    a->reasons[k].type);
			same_str("comment", a->reasons[k].comment,
			    b->reasons[k].comment);
		}
		same_str("header_from", a->header_from, b->header_from);
		same_str("envelope_from", a->envelope_from, b->envelope_from);
		same_str("envelope_to", a->envelope_to, b->envelope_to);
		assert_int_equal(b->ndkim, a->ndkim);
		for (k = 0; k < a->ndkim; k++) {
			const struct mailsec_report_dkim *x =
			    &a->dkim_results[k];
			const struct mailsec_report_dkim *y =
			    &b->dkim_results[k];

			same_str("dkim domain", x->domain, y->domain);
			same_str("selector", x->selector, y->selector);
			assert_int_equal(y->result, x->result);
			same_str("dkim human_result", x->human_result,
			    y->human_result);
		}
		assert_int_equal(b->nspf, a->nspf);
		for (k = 0; k < a->nspf; k++) {
			const struct mailsec_report_spf *x = &a->spf_results[k];
			const struct mailsec_report_spf *y = &b->spf_results[k];

			same_str("spf domain", x->domain, y->domain);
			assert_int_equal(y->helo, x->helo);
			assert_int_equal(y->result, x->result);
			same_str("spf human_result", x->human_result,
			    y->human_result);
		}
	}
}

static void
roundtrip(bool rfc7489)
{
	struct mailsec_agg_report w, *g = NULL;
	struct mailsec_diag d = { 0 };
	char *xml = NULL;
	size_t len;

	model(&w, rfc7489);
	assert_int_equal(mailsec_agg_report_write(&w, w.format, &xml, &len,
	    &d), MAILSEC_OK);
	if (mailsec_agg_report_parse(xml, len, &g, &d) != MAILSEC_OK)
		fail_msg("parse: %s", d.text);
	same_report(&w, g);
	mailsec_agg_report_free(g);
	free(xml);
}

static void
test_reimport_rfc9990(void **state)
{
	(void)state;
	roundtrip(false);
}

static void
test_reimport_rfc7489(void **state)
{
	(void)state;
	roundtrip(true);
}

/* A count of exactly 10^12 (the reader's bound) comes back; required
 * strings padded with white space come back trimmed; an RFC 7489 DKIM
 * result without a selector (not required there) is written. One more
 * message, or a policy domain of white space only, and the writer
 * refuses what the reader would refuse or leave out. */
static void
test_reimport_bounds(void **state)
{
	static char pad_domain[] = " \texample.com\r\n", blank[] = " \r\n\t";
	static char pad_hf[] = "\nsub.example.com ", none[] = "";
	struct mailsec_report_dkim dk;
	struct mailsec_agg_report w, *g = NULL;
	struct mailsec_diag d = { 0 };
	char *xml = NULL;
	size_t len = 0;
	int rfc7489;

	(void)state;
	for (rfc7489 = 0; rfc7489 < 2; rfc7489++) {
		model(&w, rfc7489);
		records[2].count = UINT64_C(1000000000000);
		w.domain = pad_domain;
		records[1].header_from = pad_hf;
		dk = dkim3[0];
		if (rfc7489) {
			dk.selector = blank;
			records[2].dkim_results = &dk;
		}
		memset(&d, 0, sizeof d);
		if (mailsec_agg_report_write(&w, w.format, &xml, &len, &d) !=
		    MAILSEC_OK)
			fail_msg("write: %s", d.text);
		if (mailsec_agg_report_parse(xml, len, &g, &d) != MAILSEC_OK)
			fail_msg("parse: %s", d.text);
		free(xml);
		xml = NULL;
		assert_int_equal(g->nwarnings, 0);
		assert_int_equal(g->nrecords, 3);
		assert_true(g->records[2].count == UINT64_C(1000000000000));
		assert_string_equal(g->domain, "example.com");
		assert_string_equal(g->records[1].header_from,
		    "sub.example.com");
		if (rfc7489)
			assert_string_equal(
			    g->records[2].dkim_results[0].selector, "");
		/* the rest as written */
		w.domain = s_domain;
		records[1].header_from = hf2;
		if (rfc7489)
			dk.selector = none;	/* what the reader made of it */
		same_report(&w, g);
		mailsec_agg_report_free(g);
		g = NULL;

		/* over the bound: refused, naming the record */
		records[2].count = UINT64_C(1000000000001);
		memset(&d, 0, sizeof d);
		assert_int_equal(mailsec_agg_report_write(&w, w.format, &xml,
		    &len, &d), MAILSEC_EINVAL);
		assert_null(xml);
		assert_non_null(strstr(d.text, "record 3: count"));
		records[2].count = 1;

		/* white space only: refused, naming the field */
		w.domain = blank;
		memset(&d, 0, sizeof d);
		assert_int_equal(mailsec_agg_report_write(&w, w.format, &xml,
		    &len, &d), MAILSEC_EINVAL);
		assert_null(xml);
		assert_non_null(strstr(d.text, "policy_published: domain"));
	}
}

/* The report e-mail: extraction finds the gzip'd XML by its content, and
 * it parses to the same model. */
static void
test_reimport_mail(void **state)
{
	struct mailsec_agg_report w, *g = NULL;
	struct mailsec_report_mail m = {
		.from = "dmarc-noreply@receiver.example",
		.to = "dmarc@example.com",
		.receiver = "receiver.example",
		.now = 1700090000,
	};
	struct mailsec_report_doc *docs = NULL;
	struct mailsec_diag d = { 0 };
	char *xml, *msg, fname[512];
	void *gz;
	size_t len, gzlen, mlen, ndocs = 0;

	(void)state;
	model(&w, false);
	assert_int_equal(mailsec_agg_report_write(&w, w.format, &xml, &len,
	    NULL), MAILSEC_OK);
	assert_int_equal(mailsec_report_gzip(xml, len, &gz, &gzlen),
	    MAILSEC_OK);
	assert_int_equal(mailsec_agg_report_mail(&w, gz, gzlen, &m, &msg,
	    &mlen, NULL), MAILSEC_OK);
	if (mailsec_report_extract(msg, mlen, &docs, &ndocs, &d) !=
	    MAILSEC_OK)
		fail_msg("extract: %s", d.text);
	assert_int_equal(ndocs, 1);
	assert_int_equal(docs[0].kind, MAILSEC_REPORT_KIND_AGGREGATE);
	assert_int_equal(docs[0].len, len);
	assert_memory_equal(docs[0].data, xml, len);
	assert_int_equal(mailsec_agg_report_filename(&w, m.receiver, fname,
	    sizeof fname), MAILSEC_OK);
	/* the member name without its final .gz */
	assert_non_null(docs[0].name);
	assert_int_equal(strlen(docs[0].name) + 3, strlen(fname));
	assert_memory_equal(docs[0].name, fname, strlen(docs[0].name));
	assert_int_equal(mailsec_agg_report_parse(docs[0].data, docs[0].len,
	    &g, &d), MAILSEC_OK);
	same_report(&w, g);
	mailsec_agg_report_free(g);
	mailsec_report_docs_free(docs, ndocs);
	free(msg);
	free(gz);
	free(xml);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reimport_rfc9990),
		cmocka_unit_test(test_reimport_rfc7489),
		cmocka_unit_test(test_reimport_bounds),
		cmocka_unit_test(test_reimport_mail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
