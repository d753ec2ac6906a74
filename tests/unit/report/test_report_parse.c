/*
 * tests/unit/report/test_report_parse.c - mailsec_agg_report_parse():
 * every aggregate sample of $MAILSEC_TESTSUITES/reports (default
 * ../shared/testsuites beside the source tree; SKIPPED loudly when
 * absent) with figures written down from the files, both schema
 * examples, and crafted documents for the lenient and the strict rules,
 * the limits and XXE.
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

#include "report_sample.h"

static struct mailsec_agg_report *
parse_ok(const char *xml, size_t len)
{
	struct mailsec_agg_report *r = NULL;
	struct mailsec_diag d = { 0 };
	mailsec_err err;

	err = mailsec_agg_report_parse(xml, len, &r, &d);
	if (err != MAILSEC_OK)
		fail_msg("parse: %s: %s (line %zu)", mailsec_errname(err),
		    d.text, d.line);
	assert_non_null(r);
	return r;
}

static struct mailsec_agg_report *
parse_sample(const char *rel)
{
	struct mailsec_agg_report *r;
	size_t len;
	char *xml = report_sample_read(rel, &len);

	if (xml == NULL)
		return NULL;
	r = parse_ok(xml, len);
	free(xml);
	return r;
}

/*
 * Every aggregate XML sample. The figures were derived from the files
 * while writing this test, with a Python script over the raw bytes: for
 * each <record>, count=<count>, dkim/spf = the <policy_evaluated>
 * <dkim>/<spf> words lower-cased; nrecords = number of <record>,
 * messages = sum of count, dmarc = sum where dkim or spf is "pass", spf
 * and dkim likewise. (The zip sample and the e-mails are in
 * test_report_extract.c.)
 */
static const struct sample {
	const char *rel;
	size_t nrecords;
	uint64_t messages, dmarc, spf, dkim;
	const char *domain;
} samples[] = {
	{ "aggregate/opendmarc/163.com!example.com!1337270400!1337356799."
	  "20120518163.xml", 50, 92, 46, 46, 0, "example.com" },
	{ "aggregate/opendmarc/good.com!example.com!1337270400!1337356799"
	  ".xml", 754, 183934, 182497, 182330, 182489, "example.com" },
	{ "aggregate/parsedmarc/!example.com!1538204542!1538463818.xml",
	  1, 1, 0, 0, 0, "example.com" },
	{ "aggregate/parsedmarc/!large-example.com!1711897200!1711983600"
	  ".xml", 2286, 2286, 0, 0, 0, NULL },
	{ "aggregate/parsedmarc/addisonfoods.com!example.com!1536105600!"
	  "1536191999.xml", 1, 1, 0, 0, 0, "example.com" },
	{ "aggregate/parsedmarc/empty_reason.xml", 1, 2, 2, 0, 2,
	  "example.com" },
	{ "aggregate/parsedmarc/example.net!example.com!1529366400!"
	  "1529452799.xml", 1, 1, 0, 0, 0, "example.com" },
	{ "aggregate/parsedmarc/extract_report/nice-input.xml", 20, 3047,
	  3047, 2637, 3046, NULL },
	{ "aggregate/parsedmarc/ikea.com!example.de!1538690400!1538776800"
	  ".xml", 1, 1, 0, 0, 0, "example.de" },
	{ "aggregate/parsedmarc/invalid/report_with_upper_cased_pass.xml",
	  1, 1, 1, 1, 1, "example.com" },
	{ "aggregate/parsedmarc/invalid_utf_8.xml", 1, 1, 0, 0, 0,
	  "example.com" },
	{ "aggregate/parsedmarc/old_draft_from_wiki.xml", 1, 2, 2, 2, 0,
	  "example.com" },
	{ "aggregate/parsedmarc/rfc9990-example.net!example.com!1700000000!"
	  "1700086399.xml", 2, 7, 5, 5, 5, "example.com" },
};

static void
test_samples(void **state)
{
	struct mailsec_report_totals t;
	struct mailsec_agg_report *r;
	size_t i, found = 0;

	(void)state;
	for (i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		const struct sample *s = &samples[i];

		if ((r = parse_sample(s->rel)) == NULL)
			continue;
		found++;
		mailsec_agg_report_totals(r, &t);
		if (r->nrecords != s->nrecords || t.messages != s->messages ||
		    t.dmarc_pass != s->dmarc || t.spf_pass != s->spf ||
		    t.dkim_pass != s->dkim)
			fail_msg("%s: records %zu messages %llu dmarc %llu spf "
			    "%llu dkim %llu", s->rel, r->nrecords,
			    (unsigned long long)t.messages,
			    (unsigned long long)t.dmarc_pass,
			    (unsigned long long)t.spf_pass,
			    (unsigned long long)t.dkim_pass);
		if (s->domain != NULL)
			assert_string_equal(r->domain, s->domain);
		mailsec_agg_report_free(r);
	}
	if (found == 0)
		skip();
	printf("report samples: %zu/%zu parsed with the expected totals\n",
	    found, sizeof samples / sizeof samples[0]);
}

/*
 * OpenDMARC's bad.com: not well-formed (line 6, "example.com<foo" in
 * the third record's header_from), recovered; its second record (line
 * 5) has source_ip "108r.166.27.220" and is left out with one warning.
 * The figures, from the file: three <record>s with counts 267 (line 4,
 * 108.166.27.220), 16 (line 5, the bad address) and 1 (line 6,
 * 118.103.89.13); no <policy_evaluated> has <dkim> or <spf>, so nothing
 * passes. Stored: 2 records, 268 messages.
 */
static void
test_bad_com_record_skipped(void **state)
{
	struct mailsec_report_totals t;
	struct mailsec_agg_report *r;

	(void)state;
	r = parse_sample("aggregate/opendmarc/bad.com!example.com!"
	    "1337140800!1337227200.xml");
	if (r == NULL)
		skip();
	assert_string_equal(r->org_name, "AOL");
	assert_string_equal(r->domain, "example.com");
	assert_int_equal(r->p, MAILSEC_RDISP_REJECT);
	assert_int_equal(r->pct, 100);
	assert_int_equal(r->nrecords, 2);
	assert_string_equal(r->records[0].source_ip, "108.166.27.220");
	assert_int_equal(r->records[0].count, 267);
	assert_int_equal(r->records[0].disposition, MAILSEC_RDISP_ABSENT);
	assert_int_equal(r->records[0].nspf, 1);
	assert_int_equal(r->records[0].spf_results[0].result,
	    MAILSEC_RRES_FAIL);
	assert_string_equal(r->records[1].source_ip, "118.103.89.13");
	assert_int_equal(r->records[1].count, 1);
	/* The garbage element is dropped, its text kept. */
	assert_string_equal(r->records[1].header_from, "example.com");
	assert_int_equal(r->records[1].dkim_results[0].result,
	    MAILSEC_RRES_FAIL);
	mailsec_agg_report_totals(r, &t);
	assert_int_equal(t.messages, 268);
	assert_int_equal(t.dmarc_pass, 0);
	assert_int_equal(t.spf_pass, 0);
	assert_int_equal(t.dkim_pass, 0);
	assert_int_equal(r->nwarnings, 1);
	assert_string_equal(r->warnings[0], "record 2 (line 5): source_ip "
	    "'108r.166.27.220' is not an IP address");
	mailsec_agg_report_free(r);
}

static void
test_rfc9990_fields(void **state)
{
	struct mailsec_agg_report *r;
	const struct mailsec_report_record *rec;

	(void)state;
	r = parse_sample("aggregate/parsedmarc/rfc9990-example.net!"
	    "example.com!1700000000!1700086399.xml");
	if (r == NULL)
		skip();
	assert_int_equal(r->format, MAILSEC_REPORT_FMT_RFC9990);
	assert_string_equal(r->version, "2.0");
	assert_string_equal(r->org_name, "example.net");
	assert_string_equal(r->email, "postmaster@example.net");
	assert_string_equal(r->report_id, "dmarcbis-test-report-001");
	assert_int_equal(r->date_begin, 1700000000);
	assert_int_equal(r->date_end, 1700086399);
	assert_int_equal(r->adkim, MAILSEC_RALIGN_STRICT);
	assert_int_equal(r->aspf, MAILSEC_RALIGN_STRICT);
	assert_int_equal(r->p, MAILSEC_RDISP_REJECT);
	assert_int_equal(r->sp, MAILSEC_RDISP_QUARANTINE);
	assert_int_equal(r->np, MAILSEC_RDISP_REJECT);
	assert_true(r->testing);
	assert_string_equal(r->discovery_method, "treewalk");
	assert_string_equal(r->fo, "1");
	assert_int_equal(r->pct, -1);
	rec = &r->records[0];
	assert_string_equal(rec->source_ip, "198.51.100.1");
	assert_int_equal(rec->count, 5);
	assert_string_equal(rec->envelope_from, "example.com");
	assert_null(rec->envelope_to);
	assert_int_equal(rec->ndkim, 1);
	assert_string_equal(rec->dkim_results[0].selector, "selector1");
	assert_int_equal(rec->dkim_results[0].result, MAILSEC_RRES_PASS);
	assert_int_equal(rec->nspf, 1);
	assert_false(rec->spf_results[0].helo);
	rec = &r->records[1];
	assert_int_equal(rec->disposition, MAILSEC_RDISP_REJECT);
	assert_int_equal(rec->dkim, MAILSEC_REVAL_FAIL);
	assert_int_equal(rec->nreasons, 1);
	assert_int_equal(rec->reasons[0].type, MAILSEC_ROVR_OTHER);
	assert_string_equal(rec->reasons[0].comment, "sender not authorized");
	assert_int_equal(rec->ndkim, 0);
	assert_int_equal(rec->spf_results[0].result, MAILSEC_RRES_FAIL);
	mailsec_agg_report_free(r);
}

static void
test_variants(void **state)
{
	struct mailsec_agg_report *r;

	(void)state;
	/* No <version>, RFC 7489 form, empty human_result. */
	if ((r = parse_sample("aggregate/parsedmarc/old_draft_from_wiki.xml"))
	    == NULL)
		skip();
	assert_int_equal(r->format, MAILSEC_REPORT_FMT_RFC7489);
	assert_null(r->version);
	assert_string_equal(r->extra_contact_info,
	    "http://acme.com/dmarc/support");
	assert_int_equal(r->pct, 100);
	assert_string_equal(r->records[0].dkim_results[0].human_result, "");
	mailsec_agg_report_free(r);

	/* Capitalised results normalised. */
	r = parse_sample("aggregate/parsedmarc/invalid/"
	    "report_with_upper_cased_pass.xml");
	assert_non_null(r);
	assert_int_equal(r->records[0].disposition, MAILSEC_RDISP_NONE);
	assert_int_equal(r->records[0].dkim, MAILSEC_REVAL_PASS);
	assert_int_equal(r->records[0].spf, MAILSEC_REVAL_PASS);
	assert_int_equal(r->records[0].dkim_results[0].result,
	    MAILSEC_RRES_PASS);
	assert_null(r->records[0].dkim_results[0].raw_result);
	assert_int_equal(r->records[0].spf_results[0].result,
	    MAILSEC_RRES_PASS);
	mailsec_agg_report_free(r);

	/* Empty <reason>: a reason of absent type, empty comment. */
	r = parse_sample("aggregate/parsedmarc/empty_reason.xml");
	assert_non_null(r);
	assert_int_equal(r->records[0].nreasons, 1);
	assert_int_equal(r->records[0].reasons[0].type, MAILSEC_ROVR_ABSENT);
	assert_string_equal(r->records[0].reasons[0].comment, "");
	assert_string_equal(r->records[0].envelope_to, "example.net");
	mailsec_agg_report_free(r);

	/* Stray unclosed <xs:schema> wrapper: recovered; scope helo. */
	r = parse_sample("aggregate/parsedmarc/ikea.com!example.de!"
	    "1538690400!1538776800.xml");
	assert_non_null(r);
	assert_string_equal(r->org_name, "ikea.com");
	assert_true(r->records[0].spf_results[0].helo);
	assert_string_equal(r->records[0].spf_results[0].domain,
	    "mailrelay.com");
	mailsec_agg_report_free(r);

	/* Invalid UTF-8 replaced by U+FFFD; empty org_name kept. */
	r = parse_sample("aggregate/parsedmarc/invalid_utf_8.xml");
	assert_non_null(r);
	assert_string_equal(r->records[0].header_from,
	    "bad_byte\xef\xbf\xbd");
	assert_string_equal(r->org_name, "");
	assert_string_equal(r->records[0].spf_results[0].domain, "");
	mailsec_agg_report_free(r);

	/* IPv6 source. */
	r = parse_sample("aggregate/parsedmarc/extract_report/"
	    "nice-input.xml");
	assert_non_null(r);
	{
		size_t i, v6 = 0;

		for (i = 0; i < r->nrecords; i++)
			if (strchr(r->records[i].source_ip, ':') != NULL)
				v6++;
		assert_true(v6 > 0);
	}
	mailsec_agg_report_free(r);
}

static void
test_schema_examples(void **state)
{
	struct mailsec_agg_report *r;

	(void)state;
	/* 2.0 namespace, though <version> says 1.0. */
	if ((r = parse_sample("schema/dmarc-xml-0.2.example.xml")) == NULL)
		skip();
	assert_int_equal(r->format, MAILSEC_REPORT_FMT_RFC9990);
	assert_string_equal(r->generator,
	    "Example DMARC Aggregate Reporter v1.2");
	assert_int_equal(r->np, MAILSEC_RDISP_NONE);
	assert_false(r->testing);
	assert_int_equal(r->nrecords, 1);
	assert_int_equal(r->records[0].count, 123);
	assert_int_equal(r->records[0].disposition, MAILSEC_RDISP_PASS);
	assert_string_equal(r->records[0].dkim_results[0].selector, "abc123");
	mailsec_agg_report_free(r);

	r = parse_sample("schema/dmarc-xmlalt-0.2.example.xml");
	assert_non_null(r);
	assert_int_equal(r->format, MAILSEC_REPORT_FMT_RFC9990);
	assert_string_equal(r->version, "2.0");
	assert_true(r->nrecords >= 1);
	mailsec_agg_report_free(r);
}

/* ---- crafted documents ------------------------------------------------ */

#define HEAD "<feedback><report_metadata><org_name>o</org_name>" \
	"<email>e@o</email><report_id>1</report_id><date_range>" \
	"<begin>10</begin><end>20</end></date_range></report_metadata>" \
	"<policy_published><domain>example.com</domain><p>none</p>" \
	"</policy_published>"
#define REC(ip, count) "<record><row><source_ip>" ip "</source_ip><count>" \
	count "</count></row><identifiers><header_from>example.com" \
	"</header_from></identifiers></record>"

static mailsec_err
parse_z(const char *xml, struct mailsec_agg_report **r,
    struct mailsec_diag *d)
{
	return mailsec_agg_report_parse(xml, strlen(xml), r, d);
}

static void
test_lenient(void **state)
{
	struct mailsec_agg_report *r;
	const char *xml =
	    "\xef\xbb\xbf<?xml version=\"1.0\"?>\n"
	    "<d:feedback xmlns:d=\"http://dmarc.org/dmarc-xml/0.1\">"
	    "<d:report_metadata><d:org_name>  Org \n</d:org_name>"
	    "<d:email>a@b</d:email><d:report_id><![CDATA[ x1 ]]></d:report_id>"
	    "<d:date_range><d:begin> 5 </d:begin><d:end>6</d:end>"
	    "</d:date_range><d:error>e1</d:error><d:error>e2</d:error>"
	    "</d:report_metadata><d:policy_published><d:domain>\texample.org "
	    "</d:domain><d:adkim>R</d:adkim><d:p>QUARANTINE</d:p>"
	    "<d:pct>50</d:pct></d:policy_published>"
	    "<d:record><d:row><d:source_ip> 192.0.2.1 </d:source_ip>"
	    "<d:count> 3 </d:count><d:policy_evaluated><d:disposition>"
	    "Reject</d:disposition><d:dkim>FAIL</d:dkim><d:spf>pass</d:spf>"
	    "<d:reason><d:type>Forwarded</d:type></d:reason><d:reason>"
	    "<d:type>whatever</d:type></d:reason>"
	    "</d:policy_evaluated></d:row><d:identifiers><d:header_from>"
	    "example.org</d:header_from></d:identifiers><d:auth_results>"
	    "<d:dkim><d:domain>example.org</d:domain><d:result> Bogus "
	    "</d:result></d:dkim><d:spf><d:domain>x</d:domain>"
	    "<d:scope>HELO</d:scope><d:result>SoftFail</d:result></d:spf>"
	    "</d:auth_results></d:record></d:feedback>";

	(void)state;
	r = parse_ok(xml, strlen(xml));
	assert_int_equal(r->format, MAILSEC_REPORT_FMT_RFC7489);
	assert_string_equal(r->org_name, "Org");
	assert_string_equal(r->report_id, "x1");
	assert_int_equal(r->date_begin, 5);
	assert_int_equal(r->nerrors, 2);
	assert_string_equal(r->errors[1], "e2");
	assert_string_equal(r->domain, "example.org");
	assert_int_equal(r->adkim, MAILSEC_RALIGN_RELAXED);
	assert_int_equal(r->aspf, MAILSEC_RALIGN_ABSENT);
	assert_int_equal(r->p, MAILSEC_RDISP_QUARANTINE);
	assert_int_equal(r->sp, MAILSEC_RDISP_ABSENT);
	assert_int_equal(r->pct, 50);
	assert_string_equal(r->records[0].source_ip, "192.0.2.1");
	assert_int_equal(r->records[0].count, 3);
	assert_int_equal(r->records[0].disposition, MAILSEC_RDISP_REJECT);
	assert_int_equal(r->records[0].dkim, MAILSEC_REVAL_FAIL);
	assert_int_equal(r->records[0].spf, MAILSEC_REVAL_PASS);
	assert_int_equal(r->records[0].nreasons, 2);
	assert_int_equal(r->records[0].reasons[0].type,
	    MAILSEC_ROVR_FORWARDED);
	assert_int_equal(r->records[0].reasons[1].type, MAILSEC_ROVR_UNKNOWN);
	assert_null(r->records[0].reasons[0].comment);
	assert_int_equal(r->records[0].dkim_results[0].result,
	    MAILSEC_RRES_UNKNOWN);
	assert_string_equal(r->records[0].dkim_results[0].raw_result, "Bogus");
	assert_null(r->records[0].dkim_results[0].selector);
	assert_true(r->records[0].spf_results[0].helo);
	assert_int_equal(r->records[0].spf_results[0].result,
	    MAILSEC_RRES_SOFTFAIL);
	mailsec_agg_report_free(r);
}

static const struct bad_case {
	const char *name;
	const char *xml;
	mailsec_err err;
	const char *why;		/* in the diag text */
} bad_cases[] = {
	{ "no feedback", "<report/>", MAILSEC_ESYNTAX, "<feedback>" },
	{ "not XML", "hello", MAILSEC_ESYNTAX, "not well-formed" },
	{ "empty", "", MAILSEC_ESYNTAX, "empty" },
	{ "no metadata", "<feedback><policy_published><domain>a</domain>"
	  "</policy_published></feedback>", MAILSEC_ESYNTAX,
	  "report_metadata" },
	{ "no policy domain", "<feedback><report_metadata/>"
	  "<policy_published><p>none</p></policy_published></feedback>",
	  MAILSEC_ESYNTAX, "<domain>" },
	/* The only record cannot be read (test_skipped_records: one of
	 * several is left out). */
	{ "no source_ip", HEAD "<record><row><count>1</count></row></record>"
	  "</feedback>", MAILSEC_ESYNTAX, "none of its 1 records can be "
	  "read: record 1 (line 1): no <source_ip>" },
	{ "bad source_ip", HEAD REC("192.0.2.300", "1") "</feedback>",
	  MAILSEC_ESYNTAX, "source_ip '192.0.2.300' is not" },
	{ "count not a number", HEAD REC("192.0.2.1", "1x") "</feedback>",
	  MAILSEC_ESYNTAX, "count '1x'" },
	{ "no count", HEAD "<record><row><source_ip>::1</source_ip></row>"
	  "</record></feedback>", MAILSEC_ESYNTAX, "no <count>" },
	{ "date not a number", "<feedback><report_metadata><date_range>"
	  "<begin>yesterday</begin></date_range></report_metadata>"
	  "<policy_published><domain>a</domain></policy_published>"
	  "</feedback>", MAILSEC_ESYNTAX, "begin" },
	{ "pct out of range", "<feedback><report_metadata/>"
	  "<policy_published><domain>a</domain><pct>101</pct>"
	  "</policy_published></feedback>", MAILSEC_ESYNTAX, "pct" },
	{ "recovered but incomplete", "<feedback><report_metadata>"
	  "<org_name>x</org_name>", MAILSEC_ESYNTAX, "not recoverable" },
};

static void
test_strict(void **state)
{
	struct mailsec_agg_report *r;
	struct mailsec_diag d;
	size_t i;
	mailsec_err err;

	(void)state;
	for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		memset(&d, 0, sizeof d);
		r = (struct mailsec_agg_report *)&d;	/* must be reset */
		err = parse_z(bad_cases[i].xml, &r, &d);
		if (err != bad_cases[i].err || r != NULL ||
		    strstr(d.text, bad_cases[i].why) == NULL)
			fail_msg("%s: %s \"%s\"", bad_cases[i].name,
			    mailsec_errname(err), d.text);
	}
	assert_int_equal(mailsec_agg_report_parse(NULL, 1, &r, NULL),
	    MAILSEC_EINVAL);
	assert_int_equal(mailsec_agg_report_parse("x", 1, NULL, NULL),
	    MAILSEC_EINVAL);
	/* The largest count accepted. */
	r = NULL;
	assert_int_equal(parse_z(HEAD REC("192.0.2.1", "1000000000000")
	    "</feedback>", &r, NULL), MAILSEC_OK);
	assert_int_equal(r->records[0].count, 1000000000000ULL);
	mailsec_agg_report_free(r);
}

/*
 * A record that cannot be read, second of two (line 3): left out, the
 * first kept, one warning naming it; alone in its report: the report is
 * refused, the diag naming the record.
 */
#define GOOD REC("192.0.2.1", "7")
static const struct skip_case {
	const char *name;
	const char *rec;
	const char *warning;
} skip_cases[] = {
	{ "no row", "<record><identifiers><header_from>a</header_from>"
	  "</identifiers></record>", "record 2 (line 3): no <row>" },
	{ "no source_ip", "<record><row><count>1</count></row></record>",
	  "record 2 (line 3): no <source_ip>" },
	{ "bad source_ip", REC("192.0.2.300", "1"),
	  "record 2 (line 3): source_ip '192.0.2.300' is not an IP address" },
	{ "empty source_ip", REC("", "1"),
	  "record 2 (line 3): source_ip '' is not an IP address" },
	{ "count not a number", REC("192.0.2.1", "1x"),
	  "record 2 (line 3): count '1x' is not a number up to 10^12" },
	{ "negative count", REC("2001:db8::1", "-1"),
	  "record 2 (line 3): count '-1' is not a number up to 10^12" },
	{ "count over bound", REC("192.0.2.1", "1000000000001"),
	  "record 2 (line 3): count '1000000000001' is not a number up to "
	  "10^12" },
	{ "no count", "<record><row><source_ip>::1</source_ip></row>"
	  "</record>", "record 2 (line 3): no <count>" },
};

static void
test_skipped_records(void **state)
{
	struct mailsec_agg_report *r;
	struct mailsec_diag d;
	char xml[2048], want[512];
	size_t i;
	mailsec_err err;

	(void)state;
	for (i = 0; i < sizeof skip_cases / sizeof skip_cases[0]; i++) {
		const struct skip_case *c = &skip_cases[i];

		snprintf(xml, sizeof xml, "%s\n%s\n%s\n</feedback>", HEAD,
		    GOOD, c->rec);
		memset(&d, 0, sizeof d);
		r = NULL;
		err = parse_z(xml, &r, &d);
		if (err != MAILSEC_OK)
			fail_msg("%s: %s \"%s\"", c->name,
			    mailsec_errname(err), d.text);
		if (r->nrecords != 1 || r->nwarnings != 1 ||
		    strcmp(r->warnings[0], c->warning) != 0)
			fail_msg("%s: %zu records, %zu warnings, \"%s\"",
			    c->name, r->nrecords, r->nwarnings,
			    r->nwarnings > 0 ? r->warnings[0] : "");
		assert_string_equal(r->records[0].source_ip, "192.0.2.1");
		assert_int_equal(r->records[0].count, 7);
		mailsec_agg_report_free(r);

		/* The same record alone, and twice: nothing left. */
		snprintf(xml, sizeof xml, "%s\n%s\n%s\n</feedback>", HEAD,
		    c->rec, c->rec);
		memset(&d, 0, sizeof d);
		r = (struct mailsec_agg_report *)&d;
		err = parse_z(xml, &r, &d);
		/* "record 2 (line 3): ..." of the table is record 1 here */
		snprintf(want, sizeof want, "none of its 2 records can be "
		    "read: record 1 (line 2): %s", c->warning +
		    strlen("record 2 (line 3): "));
		if (err != MAILSEC_ESYNTAX || r != NULL ||
		    strcmp(d.text, want) != 0 || d.line != 2)
			fail_msg("%s alone: %s \"%s\" line %zu", c->name,
			    mailsec_errname(err), d.text, d.line);
	}

	/* No record at all is a report (of nothing), without warnings. */
	r = NULL;
	assert_int_equal(parse_z(HEAD "</feedback>", &r, NULL), MAILSEC_OK);
	assert_int_equal(r->nrecords, 0);
	assert_int_equal(r->nwarnings, 0);
	assert_null(r->warnings);
	mailsec_agg_report_free(r);

	/* A limit inside a record is no reason to skip it: see
	 * test_limits (101 DKIM results: MAILSEC_ELIMIT). */
}

/* 150 unreadable records among two good ones: 100 warnings kept, then
 * one with the count of the rest. */
static void
test_warnings_bounded(void **state)
{
	struct mailsec_report_totals t;
	struct mailsec_agg_report *r = NULL;
	struct mailsec_diag d = { 0 };
	size_t i, n = sizeof(HEAD) + 152 * 200;
	char *xml, *p;

	(void)state;
	xml = malloc(n);
	assert_non_null(xml);
	p = xml + snprintf(xml, n, "%s\n%s", HEAD, GOOD);
	for (i = 0; i < 150; i++)
		p += snprintf(p, n - (size_t)(p - xml), "\n%s",
		    REC("192.0.2.x", "1"));
	snprintf(p, n - (size_t)(p - xml), "\n%s\n</feedback>",
	    REC("2001:db8::2", "5"));
	if (mailsec_agg_report_parse(xml, strlen(xml), &r, &d) != MAILSEC_OK)
		fail_msg("%s", d.text);
	free(xml);
	assert_int_equal(r->nrecords, 2);
	assert_string_equal(r->records[1].source_ip, "2001:db8::2");
	mailsec_agg_report_totals(r, &t);
	assert_int_equal(t.messages, 12);
	assert_int_equal(r->nwarnings, MAILSEC_REPORT_LIST_MAX + 1);
	assert_string_equal(r->warnings[0], "record 2 (line 3): source_ip "
	    "'192.0.2.x' is not an IP address");
	assert_string_equal(r->warnings[MAILSEC_REPORT_LIST_MAX - 1],
	    "record 101 (line 102): source_ip '192.0.2.x' is not an IP "
	    "address");
	assert_string_equal(r->warnings[MAILSEC_REPORT_LIST_MAX],
	    "50 more records could not be read and were left out");
	mailsec_agg_report_free(r);
}

/* XXE: an external entity is never read, an internal one never
 * expanded: any DOCTYPE is refused. */
static void
test_xxe(void **state)
{
	static const char *const docs[] = {
		"<?xml version=\"1.0\"?>\n<!DOCTYPE feedback [\n<!ENTITY xxe "
		"SYSTEM \"file:///etc/passwd\">\n]>\n<feedback>"
		"<report_metadata><org_name>&xxe;</org_name></report_metadata>"
		"<policy_published><domain>a</domain></policy_published>"
		"</feedback>",
		"<!DOCTYPE feedback [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
		"\"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;"
		"&b;&b;&b;&b;&b;&b;\">]><feedback><report_metadata><org_name>"
		"&c;</org_name></report_metadata><policy_published><domain>a"
		"</domain></policy_published></feedback>",
		/* Not well-formed too: the recovering parse refuses it
		 * just the same. */
		"<!DOCTYPE feedback [<!ENTITY xxe SYSTEM \"file:///etc/"
		"passwd\">]><feedback><report_metadata><org_name>&xxe;"
		"</org_name></report_metadata><policy_published><domain>a"
		"</domain></policy_published>",
	};
	struct mailsec_agg_report *r;
	struct mailsec_diag d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		memset(&d, 0, sizeof d);
		r = NULL;
		assert_int_equal(parse_z(docs[i], &r, &d), MAILSEC_ESYNTAX);
		assert_null(r);
		assert_non_null(strstr(d.text, "DOCTYPE"));
		assert_null(strstr(d.text, "root:"));
	}
}

static void
test_limits(void **state)
{
	struct mailsec_agg_report *r = NULL;
	struct mailsec_diag d = { 0 };
	size_t i, n;
	char *xml, *p;

	(void)state;
	/* 101 DKIM results in one record. */
	n = sizeof(HEAD) + 200 + 101 * 64;
	xml = malloc(n);
	assert_non_null(xml);
	p = xml + snprintf(xml, n, "%s<record><row><source_ip>192.0.2.1"
	    "</source_ip><count>1</count></row><auth_results>", HEAD);
	for (i = 0; i < 101; i++)
		p += snprintf(p, n - (size_t)(p - xml), "<dkim><domain>d"
		    "</domain><result>pass</result></dkim>");
	snprintf(p, n - (size_t)(p - xml), "</auth_results></record>"
	    "</feedback>");
	assert_int_equal(parse_z(xml, &r, &d), MAILSEC_ELIMIT);
	assert_non_null(strstr(d.text, "100"));
	free(xml);

	/* A document over MAILSEC_REPORT_XML_MAX is refused unread. */
	n = MAILSEC_REPORT_XML_MAX + 1;
	xml = calloc(1, n);
	assert_non_null(xml);
	assert_int_equal(mailsec_agg_report_parse(xml, n, &r, NULL),
	    MAILSEC_ELIMIT);
	free(xml);

	/* A text field over MS_REPORT_TEXT_MAX (64 KiB). */
	n = 70000 + 512;
	xml = malloc(n);
	assert_non_null(xml);
	p = xml + snprintf(xml, n, "<feedback><report_metadata><org_name>");
	memset(p, 'a', 70000);
	p += 70000;
	snprintf(p, n - (size_t)(p - xml), "</org_name></report_metadata>"
	    "<policy_published><domain>a</domain></policy_published>"
	    "</feedback>");
	assert_int_equal(parse_z(xml, &r, &d), MAILSEC_ELIMIT);
	free(xml);
}

static void
test_totals_and_names(void **state)
{
	struct mailsec_report_record rec[3];
	struct mailsec_agg_report r;
	struct mailsec_report_totals t;

	(void)state;
	memset(&r, 0, sizeof r);
	memset(rec, 0, sizeof rec);
	rec[0].count = 10;
	rec[0].dkim = MAILSEC_REVAL_PASS;
	rec[0].spf = MAILSEC_REVAL_FAIL;
	rec[1].count = 5;
	rec[1].spf = MAILSEC_REVAL_PASS;
	rec[2].count = 7;
	rec[2].dkim = MAILSEC_REVAL_FAIL;
	r.records = rec;
	r.nrecords = 3;
	mailsec_agg_report_totals(&r, &t);
	assert_int_equal(t.messages, 22);
	assert_int_equal(t.dmarc_pass, 15);
	assert_int_equal(t.dkim_pass, 10);
	assert_int_equal(t.spf_pass, 5);
	mailsec_agg_report_totals(NULL, &t);
	assert_int_equal(t.messages, 0);
	/* Saturates rather than wraps on a hand-built report. */
	rec[0].count = UINT64_MAX;
	mailsec_agg_report_totals(&r, &t);
	assert_true(t.messages == UINT64_MAX);

	assert_string_equal(mailsec_report_result_name(MAILSEC_RRES_SOFTFAIL),
	    "softfail");
	assert_string_equal(mailsec_report_result_name(
	    (enum mailsec_report_result)99), "unknown");
	assert_string_equal(mailsec_report_disp_name(MAILSEC_RDISP_QUARANTINE),
	    "quarantine");
	assert_string_equal(mailsec_report_override_name(
	    MAILSEC_ROVR_TRUSTED_FORWARDER), "trusted_forwarder");
	mailsec_agg_report_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_bad_com_record_skipped),
		cmocka_unit_test(test_skipped_records),
		cmocka_unit_test(test_warnings_bounded),
		cmocka_unit_test(test_rfc9990_fields),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_schema_examples),
		cmocka_unit_test(test_lenient),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_xxe),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_totals_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
