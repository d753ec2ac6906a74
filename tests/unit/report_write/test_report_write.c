/*
 * tests/unit/report_write/test_report_write.c - the DMARC report writer:
 * aggregate XML (RFC 9990 and RFC 7489 forms) from hand-built models,
 * read back with libxml2 to check escaping and element order; required
 * fields; gzip round trip (zlib inflate); the file name table; the
 * report e-mail and the failure report (header injection refused,
 * redaction); the external destination check over a zone.
 *
 * It also writes the documents into REPORT_OUT_DIR for check_reports.py
 * (xmllint against the schemas, python's email package).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <zlib.h>

#include <mailsec/dns.h>
#include <mailsec/report.h>

#include "../../common/zone_fixture.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#ifndef REPORT_OUT_DIR
#define REPORT_OUT_DIR "."
#endif

/* ---- models ------------------------------------------------------------ */

/* Strings with every XML special, a CR, a control byte, invalid UTF-8
 * (a lone continuation byte, a truncated sequence, an overlong '/'), a
 * non-character U+FFFF and valid multi-byte text. */
static char org_nasty[] = "Org <&> \"quoted\" 'apos' ]]> \x01 "
    "\xc3\xa9t\xc3\xa9 "
    "\x80 \xe2\x82 \xc0\xaf \xef\xbf\xbf end";
static char org_nasty_expect[] = "Org <&> \"quoted\" 'apos' ]]> \xef\xbf\xbd "
    "\xc3\xa9t\xc3\xa9 \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
    "\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd end";
static char comment_cr[] = "line one\r\nline two & </comment>";

static char s_email[] = "dmarc-reports@receiver.example";
static char s_contact[] = "https://receiver.example/dmarc?a=1&b=2";
static char s_rid[] = "1700000000.example.com@receiver.example";
static char s_err1[] = "rua <bad> ignored";
static char s_err2[] = "second & last";
static char s_gen[] = "mailsec test";
static char s_domain[] = "example.com";
static char s_fo[] = "1:d";
static char s_treewalk[] = "treewalk";
static char *errs[] = { s_err1, s_err2 };

static char ip1[] = "192.0.2.1", ip2[] = "2001:db8::25", ip3[] = "198.51.100.7";
static char hf[] = "example.com", hf2[] = "sub.example.com";
static char ef[] = "bounce.example.com", et[] = "receiver.example";
static char dd1[] = "example.com", ds1[] = "sel1", dd2[] = "esp.example";
static char ds2[] = "s2048", hr[] = "body hash <mismatch> & more";
static char sd[] = "example.com", sh[] = "mail.example.com";
static char shr[] = "sender \"not\" permitted";

static struct mailsec_report_reason reasons1[] = {
	{ MAILSEC_ROVR_LOCAL_POLICY, comment_cr },
	{ MAILSEC_ROVR_MAILING_LIST, NULL },
};
static struct mailsec_report_reason reasons3[] = {
	{ MAILSEC_ROVR_FORWARDED, NULL },
	{ MAILSEC_ROVR_SAMPLED_OUT, NULL },
	{ MAILSEC_ROVR_POLICY_TEST_MODE, NULL },
	{ MAILSEC_ROVR_TRUSTED_FORWARDER, NULL },
	{ MAILSEC_ROVR_OTHER, NULL },
	{ MAILSEC_ROVR_UNKNOWN, NULL },
};
static struct mailsec_report_dkim dkim1[] = {
	{ .domain = dd1, .selector = ds1,
	  .result = MAILSEC_RRES_PASS, .human_result = NULL },
	{ .domain = dd2, .selector = ds2,
	  .result = MAILSEC_RRES_FAIL, .human_result = hr },
};
static struct mailsec_report_dkim dkim3[] = {
	{ .domain = dd2, .selector = ds2,
	  .result = MAILSEC_RRES_TEMPERROR, .human_result = NULL },
};
static struct mailsec_report_spf spf1[] = {
	{ .domain = sd, .helo = false,
	  .result = MAILSEC_RRES_PASS, .human_result = NULL },
};
static struct mailsec_report_spf spf2[] = {
	{ .domain = sh, .helo = true,
	  .result = MAILSEC_RRES_NONE, .human_result = NULL },
	{ .domain = ef, .helo = false,
	  .result = MAILSEC_RRES_SOFTFAIL, .human_result = shr },
};
static struct mailsec_report_spf spf3[] = {
	{ .domain = sd, .helo = false,
	  .result = MAILSEC_RRES_PERMERROR, .human_result = NULL },
};

static struct mailsec_report_record records[] = {
	{ ip1, 42, MAILSEC_RDISP_PASS, MAILSEC_REVAL_PASS, MAILSEC_REVAL_PASS,
	  reasons1, 2, hf, ef, et, dkim1, 2, spf1, 1 },
	{ ip2, 7, MAILSEC_RDISP_QUARANTINE, MAILSEC_REVAL_FAIL,
	  MAILSEC_REVAL_FAIL, NULL, 0, hf2, ef, NULL, NULL, 0, spf2, 2 },
	{ ip3, 1000000000000u, MAILSEC_RDISP_NONE, MAILSEC_REVAL_FAIL,
	  MAILSEC_REVAL_FAIL, reasons3, 6, hf, NULL, NULL, dkim3, 1, spf3, 1 },
};

static void
model(struct mailsec_agg_report *r)
{
	memset(r, 0, sizeof *r);
	r->format = MAILSEC_REPORT_FMT_RFC9990;
	r->org_name = org_nasty;
	r->email = s_email;
	r->extra_contact_info = s_contact;
	r->report_id = s_rid;
	r->date_begin = 1700000000;
	r->date_end = 1700086399;
	r->errors = errs;
	r->nerrors = 2;
	r->generator = s_gen;
	r->domain = s_domain;
	r->adkim = MAILSEC_RALIGN_STRICT;
	r->aspf = MAILSEC_RALIGN_RELAXED;
	r->p = MAILSEC_RDISP_REJECT;
	r->sp = MAILSEC_RDISP_QUARANTINE;
	r->np = MAILSEC_RDISP_REJECT;
	r->pct = -1;
	r->fo = s_fo;
	r->testing = true;
	r->discovery_method = s_treewalk;
	r->records = records;
	r->nrecords = NELEM(records);
}

/* ---- helpers ----------------------------------------------------------- */

static void
save(const char *name, const void *p, size_t n)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", REPORT_OUT_DIR, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static xmlDocPtr
parse_xml(const char *xml, size_t len)
{
	xmlParserCtxtPtr ctx = xmlNewParserCtxt();
	xmlDocPtr doc;

	assert_non_null(ctx);
	/* strict: no recovery, no network, no entity substitution */
	doc = xmlCtxtReadMemory(ctx, xml, (int)len, "report.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		const xmlError *e = xmlCtxtGetLastError(ctx);

		fail_msg("not well-formed: %s", e != NULL ? e->message : "?");
	}
	xmlFreeParserCtxt(ctx);
	return doc;
}

/* The first element called name below n (depth first). */
static xmlNodePtr
find(xmlNodePtr n, const char *name)
{
	xmlNodePtr c, f;

	for (c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)c->name, name) == 0)
			return c;
		if ((f = find(c, name)) != NULL)
			return f;
	}
	return NULL;
}

static void
expect_text(xmlNodePtr root, const char *name, const char *want)
{
	xmlNodePtr n = find(root, name);
	xmlChar *t;

	if (n == NULL)
		fail_msg("no <%s>", name);
	t = xmlNodeGetContent(n);
	assert_non_null(t);
	assert_string_equal((const char *)t, want);
	xmlFree(t);
}

/* Names of the element children of n, space-separated. */
static void
child_names(xmlNodePtr n, char *out, size_t outsz)
{
	xmlNodePtr c;
	size_t l;

	out[0] = '\0';
	for (c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		l = strlen(out);
		snprintf(out + l, outsz - l, "%s%s", l ? " " : "",
		    (const char *)c->name);
	}
}

static size_t
count_elems(xmlNodePtr n, const char *name)
{
	xmlNodePtr c;
	size_t k = 0;

	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE) {
			if (strcmp((const char *)c->name, name) == 0)
				k++;
			k += count_elems(c, name);
		}
	return k;
}

static char *
gunzip(const void *gz, size_t gzlen, size_t *outlen)
{
	z_stream z;
	char *buf;
	size_t cap = 1 << 20;
	int rc;

	buf = malloc(cap);
	assert_non_null(buf);
	memset(&z, 0, sizeof z);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)gz;
	z.avail_in = (uInt)gzlen;
	z.next_out = (Bytef *)buf;
	z.avail_out = (uInt)cap;
	rc = inflate(&z, Z_FINISH);
	assert_int_equal(rc, Z_STREAM_END);
	*outlen = z.total_out;
	inflateEnd(&z);
	return buf;
}

/* ---- aggregate XML ----------------------------------------------------- */

static void
test_write_rfc9990(void **state)
{
	struct mailsec_agg_report r;
	struct mailsec_diag d = { 0 };
	char *xml = NULL, names[512];
	size_t len = 0;
	xmlDocPtr doc;
	xmlNodePtr root, rec;

	(void)state;
	model(&r);
	assert_int_equal(mailsec_agg_report_write(&r,
	    MAILSEC_REPORT_FMT_RFC9990, &xml, &len, &d), MAILSEC_OK);
	assert_non_null(xml);
	assert_int_equal(strlen(xml), len);
	save("rfc9990-full.xml", xml, len);
	doc = parse_xml(xml, len);
	root = xmlDocGetRootElement(doc);
	assert_string_equal((const char *)root->name, "feedback");
	assert_non_null(root->ns);
	assert_string_equal((const char *)root->ns->href,
	    "urn:ietf:params:xml:ns:dmarc-2.0");
	child_names(root, names, sizeof names);
	assert_string_equal(names, "version report_metadata policy_published "
	    "record record record");
	expect_text(root, "version", "1.0");
	expect_text(root, "org_name", org_nasty_expect);
	expect_text(root, "extra_contact_info", s_contact);
	expect_text(root, "error", "rua <bad> ignored; second & last");
	expect_text(root, "generator", s_gen);
	expect_text(root, "np", "reject");
	expect_text(root, "testing", "y");
	expect_text(root, "discovery_method", "treewalk");
	expect_text(root, "comment", comment_cr);	/* CR kept as &#13; */
	expect_text(root, "human_result", hr);
	assert_null(find(root, "pct"));
	rec = find(root, "record");
	child_names(rec, names, sizeof names);
	assert_string_equal(names, "row identifiers auth_results");
	expect_text(rec, "disposition", "pass");
	/* record 2: the helo result is left out, the mfrom one stays */
	rec = rec->next;
	while (rec->type != XML_ELEMENT_NODE)
		rec = rec->next;
	assert_int_equal(count_elems(rec, "spf"), 2);	/* evaluated + 1 */
	expect_text(find(rec, "auth_results"), "domain", ef);
	expect_text(rec, "source_ip", ip2);
	/* record 3: the largest count a reader takes; the 7489-only
	 * reasons mapped */
	assert_non_null(strstr(xml, "<count>1000000000000</count>"));
	assert_null(strstr(xml, "forwarded"));
	assert_null(strstr(xml, "sampled_out"));
	assert_non_null(strstr(xml, "<type>policy_test_mode</type>"));
	assert_non_null(strstr(xml, "<scope>mfrom</scope>"));
	assert_null(strstr(xml, "<scope>helo</scope>"));
	xmlFreeDoc(doc);
	free(xml);
}

static void
test_write_rfc7489(void **state)
{
	struct mailsec_agg_report r;
	struct mailsec_diag d = { 0 };
	char *xml = NULL, names[512];
	size_t len = 0;
	xmlDocPtr doc;
	xmlNodePtr root, pp;

	(void)state;
	model(&r);
	r.sp = MAILSEC_RDISP_ABSENT;
	r.fo = NULL;
	assert_int_equal(mailsec_agg_report_write(&r,
	    MAILSEC_REPORT_FMT_RFC7489, &xml, &len, &d), MAILSEC_OK);
	save("rfc7489-full.xml", xml, len);
	doc = parse_xml(xml, len);
	root = xmlDocGetRootElement(doc);
	assert_null(root->ns);
	expect_text(root, "version", "1.0");
	/* appendix C: a sequence; error repeats; no generator */
	child_names(find(root, "report_metadata"), names, sizeof names);
	assert_string_equal(names, "org_name email extra_contact_info "
	    "report_id date_range error error");
	pp = find(root, "policy_published");
	child_names(pp, names, sizeof names);
	assert_string_equal(names, "domain adkim aspf p sp pct fo");
	expect_text(pp, "sp", "reject");	/* defaults to p */
	expect_text(pp, "pct", "100");
	expect_text(pp, "fo", "0");
	assert_null(find(root, "np"));
	assert_null(find(root, "testing"));
	assert_null(find(root, "discovery_method"));
	assert_null(find(root, "generator"));
	/* pass is no action: "none"; IPv6 written in eight groups */
	assert_null(strstr(xml, "<disposition>pass"));
	assert_non_null(strstr(xml, "<source_ip>2001:db8:0:0:0:0:0:25<"));
	assert_non_null(strstr(xml, "<scope>helo</scope>"));
	assert_non_null(strstr(xml, "<type>forwarded</type>"));
	assert_non_null(strstr(xml, "<type>sampled_out</type>"));
	assert_null(strstr(xml, "policy_test_mode"));
	/* envelope_from is required: the empty null path */
	assert_non_null(strstr(xml, "<envelope_from></envelope_from>"));
	xmlFreeDoc(doc);
	free(xml);

	/* the RFC 9990 form of the model without a format argument */
	r.format = MAILSEC_REPORT_FMT_RFC7489;
	assert_int_equal(mailsec_agg_report_write(&r,
	    MAILSEC_REPORT_FMT_UNKNOWN, &xml, &len, &d), MAILSEC_OK);
	assert_null(strstr(xml, "xmlns"));
	free(xml);
}

/* A minimal report: only what is required. */
static void
test_write_minimal(void **state)
{
	static char o[] = "o", e[] = "e@x.example", id[] = "1";
	static char dom[] = "x.example";
	static char ip[] = "192.0.2.9", h[] = "x.example";
	static struct mailsec_report_spf spf[] = {
		{ .domain = dom, .helo = false,
	  .result = MAILSEC_RRES_FAIL, .human_result = NULL } };
	struct mailsec_report_record rec = { 0 };
	struct mailsec_agg_report r = { 0 };
	char *xml = NULL;
	size_t len;
	xmlDocPtr doc;

	(void)state;
	r.org_name = o;
	r.email = e;
	r.report_id = id;
	r.domain = dom;
	r.p = MAILSEC_RDISP_NONE;
	r.pct = -1;
	rec.source_ip = ip;
	rec.count = 1;
	rec.disposition = MAILSEC_RDISP_NONE;
	rec.dkim = MAILSEC_REVAL_FAIL;
	rec.spf = MAILSEC_REVAL_FAIL;
	rec.header_from = h;
	rec.spf_results = spf;
	rec.nspf = 1;
	r.records = &rec;
	r.nrecords = 1;
	assert_int_equal(mailsec_agg_report_write(&r,
	    MAILSEC_REPORT_FMT_RFC9990, &xml, &len, NULL), MAILSEC_OK);
	save("rfc9990-minimal.xml", xml, len);
	doc = parse_xml(xml, len);
	xmlFreeDoc(doc);
	free(xml);
	assert_int_equal(mailsec_agg_report_write(&r,
	    MAILSEC_REPORT_FMT_RFC7489, &xml, &len, NULL), MAILSEC_OK);
	save("rfc7489-minimal.xml", xml, len);
	free(xml);
}

/* Each required field missing (or empty, or white space only: a reader
 * trims it to nothing), a count above the reader's bound, or a value the
 * schema has no word for. */
static void
test_write_invalid(void **state)
{
	static const struct {
		int what;
		enum mailsec_report_format fmt;
		const char *diag;
	} cases[] = {
		{ 0, MAILSEC_REPORT_FMT_RFC9990, "org_name" },
		{ 1, MAILSEC_REPORT_FMT_RFC9990, "email" },
		{ 2, MAILSEC_REPORT_FMT_RFC9990, "report_id" },
		{ 3, MAILSEC_REPORT_FMT_RFC9990, "domain" },
		{ 4, MAILSEC_REPORT_FMT_RFC9990, "p is required" },
		{ 5, MAILSEC_REPORT_FMT_RFC9990, "source_ip is not" },
		{ 6, MAILSEC_REPORT_FMT_RFC9990, "disposition" },
		{ 7, MAILSEC_REPORT_FMT_RFC9990, "header_from" },
		{ 8, MAILSEC_REPORT_FMT_RFC9990, "at least one record" },
		{ 9, MAILSEC_REPORT_FMT_RFC9990, "selector" },
		{ 10, MAILSEC_REPORT_FMT_RFC7489, "no name in the RFC 7489" },
		{ 11, MAILSEC_REPORT_FMT_RFC9990, "discovery_method" },
		{ 12, MAILSEC_REPORT_FMT_RFC7489, "requires an spf" },
		{ 13, MAILSEC_REPORT_FMT_RFC9990, "dkim 1: the result" },
		{ 14, MAILSEC_REPORT_FMT_RFC9990, "sp is not" },
		{ 15, MAILSEC_REPORT_FMT_RFC9990, "policy_published: domain "
		  "is required (it is empty" },
		{ 15, MAILSEC_REPORT_FMT_RFC7489, "policy_published: domain" },
		{ 16, MAILSEC_REPORT_FMT_RFC9990, "policy_published: domain" },
		{ 17, MAILSEC_REPORT_FMT_RFC9990, "report_metadata: org_name" },
		{ 18, MAILSEC_REPORT_FMT_RFC7489, "report_metadata: email" },
		{ 19, MAILSEC_REPORT_FMT_RFC9990, "report_metadata: report_id" },
		{ 20, MAILSEC_REPORT_FMT_RFC9990, "record 1: header_from" },
		{ 21, MAILSEC_REPORT_FMT_RFC7489, "record 1 dkim 1: domain" },
		{ 22, MAILSEC_REPORT_FMT_RFC9990, "record 1 dkim 1: selector" },
		{ 23, MAILSEC_REPORT_FMT_RFC9990, "record 1 spf 1: domain" },
		{ 24, MAILSEC_REPORT_FMT_RFC9990, "record 1: count "
		  "1000000000001 is above 1000000000000" },
		{ 25, MAILSEC_REPORT_FMT_RFC7489, "record 1: count "
		  "18446744073709551615 is above" },
	};
	static char bad_ip[] = "192.0.2.300";
	static char blank[] = " \t\r\n ", empty[] = "";
	static char weird[] = "weird";
	struct mailsec_agg_report r;
	struct mailsec_report_record rec;
	struct mailsec_report_dkim dk;
	struct mailsec_report_spf sp;
	struct mailsec_diag d;
	char *xml;
	size_t len, i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		model(&r);
		rec = records[0];
		dk = dkim1[0];
		sp = spf1[0];
		rec.dkim_results = &dk;
		rec.ndkim = 1;
		rec.spf_results = &sp;
		rec.nspf = 1;
		r.records = &rec;
		r.nrecords = 1;
		switch (cases[i].what) {
		case 0: r.org_name = NULL; break;
		case 1: r.email = NULL; break;
		case 2: r.report_id = NULL; break;
		case 3: r.domain = NULL; break;
		case 4: r.p = MAILSEC_RDISP_ABSENT; break;
		case 5: rec.source_ip = bad_ip; break;
		case 6: rec.disposition = MAILSEC_RDISP_ABSENT; break;
		case 7: rec.header_from = NULL; break;
		case 8: r.nrecords = 0; break;
		case 9: dk.selector = NULL; break;
		case 10: sp.result = MAILSEC_RRES_POLICY; break;
		case 11: r.discovery_method = weird; break;
		case 12: rec.nspf = 0; break;
		case 13: dk.result = MAILSEC_RRES_SOFTFAIL; break;
		case 14: r.sp = MAILSEC_RDISP_PASS; break;
		case 15: r.domain = blank; break;
		case 16: r.domain = empty; break;
		case 17: r.org_name = empty; break;
		case 18: r.email = blank; break;
		case 19: r.report_id = blank; break;
		case 20: rec.header_from = blank; break;
		case 21: dk.domain = empty; break;
		case 22: dk.selector = blank; break;
		case 23: sp.domain = blank; break;
		case 24: rec.count = 1000000000001u; break;
		case 25: rec.count = UINT64_MAX; break;
		}
		memset(&d, 0, sizeof d);
		xml = (char *)1;
		assert_int_equal(mailsec_agg_report_write(&r, cases[i].fmt,
		    &xml, &len, &d), MAILSEC_EINVAL);
		assert_null(xml);
		assert_int_equal(d.set, 1);
		if (strstr(d.text, cases[i].diag) == NULL)
			fail_msg("case %zu: diag \"%s\" lacks \"%s\"", i,
			    d.text, cases[i].diag);
	}
}

/* Every byte value in a string: the output stays well-formed. */
static void
test_write_all_bytes(void **state)
{
	struct mailsec_agg_report r;
	char s[256 * 3 + 1], *xml;
	size_t i, len;
	xmlDocPtr doc;

	(void)state;
	for (i = 1; i < 256; i++) {
		s[3 * (i - 1)] = (char)i;
		s[3 * (i - 1) + 1] = (char)(255 - i + 1);
		s[3 * (i - 1) + 2] = (char)(i ^ 0x80);
	}
	s[3 * 255] = '\0';
	for (i = 0; i < 3 * 255; i++)
		if (s[i] == '\0')
			s[i] = 'x';
	model(&r);
	r.org_name = s;
	r.generator = s;
	assert_int_equal(mailsec_agg_report_write(&r,
	    MAILSEC_REPORT_FMT_RFC9990, &xml, &len, NULL), MAILSEC_OK);
	doc = parse_xml(xml, len);
	xmlFreeDoc(doc);
	save("rfc9990-bytes.xml", xml, len);
	free(xml);
}

/* ---- gzip, file name -------------------------------------------------- */

static void
test_gzip_roundtrip(void **state)
{
	struct mailsec_agg_report r;
	char *xml, *back;
	void *gz, *gz2;
	size_t len, gzlen, gzlen2, blen;
	const unsigned char *g;

	(void)state;
	model(&r);
	assert_int_equal(mailsec_agg_report_write(&r,
	    MAILSEC_REPORT_FMT_RFC9990, &xml, &len, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_report_gzip(xml, len, &gz, &gzlen),
	    MAILSEC_OK);
	g = gz;
	assert_true(gzlen > 18);
	assert_int_equal(g[0], 0x1f);	/* RFC 1952 2.3.1 ID1 ID2 CM */
	assert_int_equal(g[1], 0x8b);
	assert_int_equal(g[2], 8);
	back = gunzip(gz, gzlen, &blen);
	assert_int_equal(blen, len);
	assert_memory_equal(back, xml, len);
	save("report.xml.gz", gz, gzlen);
	/* deterministic: the same bytes twice */
	assert_int_equal(mailsec_report_gzip(xml, len, &gz2, &gzlen2),
	    MAILSEC_OK);
	assert_int_equal(gzlen2, gzlen);
	assert_memory_equal(gz2, gz, gzlen);
	free(gz2);
	free(back);
	free(gz);
	/* empty input is a valid empty member */
	assert_int_equal(mailsec_report_gzip("", 0, &gz, &gzlen), MAILSEC_OK);
	back = gunzip(gz, gzlen, &blen);
	assert_int_equal(blen, 0);
	free(back);
	free(gz);
	free(xml);
}

static void
test_filename(void **state)
{
	static char long_id[200];
	static const struct {
		const char *receiver, *domain, *rid;
		int64_t b, e;
		mailsec_err err;
		const char *want;
	} cases[] = {
		{ "mail.receiver.example", "example.com", NULL, 1013662812,
		  1013749130, MAILSEC_OK,
		  "mail.receiver.example!example.com!1013662812!1013749130"
		  ".xml.gz" },
		{ "receiver.example.", "example.com.", "abc-123@x.example",
		  0, 86399, MAILSEC_OK,
		  "receiver.example!example.com!0!86399!abc123xexample"
		  ".xml.gz" },
		{ "r.example", "example.com", "../../etc/passwd!x", 1, 2,
		  MAILSEC_OK, "r.example!example.com!1!2!etcpasswdx.xml.gz" },
		{ "r.example", "example.com", "<>!!--", 1, 2, MAILSEC_OK,
		  "r.example!example.com!1!2.xml.gz" },
		{ "r.example", "example.com", long_id, 1, 2, MAILSEC_OK, NULL },
		{ "bad/receiver", "example.com", NULL, 1, 2, MAILSEC_EINVAL,
		  NULL },
		{ "r.example", "exa mple.com", NULL, 1, 2, MAILSEC_EINVAL,
		  NULL },
		{ "r.example", "example.com", NULL, -1, 2, MAILSEC_EINVAL,
		  NULL },
	};
	struct mailsec_agg_report r;
	char buf[512], small[20];
	size_t i;

	(void)state;
	memset(long_id, 'a', sizeof long_id - 1);
	for (i = 0; i < NELEM(cases); i++) {
		model(&r);
		r.domain = (char *)(uintptr_t)cases[i].domain;
		r.report_id = (char *)(uintptr_t)cases[i].rid;
		r.date_begin = cases[i].b;
		r.date_end = cases[i].e;
		assert_int_equal(mailsec_agg_report_filename(&r,
		    cases[i].receiver, buf, sizeof buf), cases[i].err);
		if (cases[i].want != NULL)
			assert_string_equal(buf, cases[i].want);
	}
	/* the long id: cut at MAILSEC_REPORT_UID_MAX letters */
	model(&r);
	r.report_id = long_id;
	assert_int_equal(mailsec_agg_report_filename(&r, "r.example", buf,
	    sizeof buf), MAILSEC_OK);
	assert_int_equal(strlen(buf), strlen("r.example!example.com!"
	    "1700000000!1700086399!.xml.gz") + MAILSEC_REPORT_UID_MAX);
	assert_int_equal(mailsec_agg_report_filename(&r, "r.example", small,
	    sizeof small), MAILSEC_ELIMIT);
	assert_string_equal(small, "");
}

/* ---- the report e-mail ------------------------------------------------ */

static void
test_mail(void **state)
{
	struct mailsec_agg_report r;
	struct mailsec_report_mail m = {
		.from = "dmarc-noreply@receiver.example",
		.to = "mailto:dmarc@example.com",
		.receiver = "receiver.example",
		.message_id_domain = "mx1.receiver.example",
		.now = 1700090000,
	};
	struct mailsec_diag d = { 0 };
	char *xml, *msg, *msg2, *p;
	void *gz;
	size_t len, gzlen, mlen, mlen2, i, col;

	(void)state;
	model(&r);
	assert_int_equal(mailsec_agg_report_write(&r,
	    MAILSEC_REPORT_FMT_RFC9990, &xml, &len, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_report_gzip(xml, len, &gz, &gzlen),
	    MAILSEC_OK);
	save("mail-report.xml", xml, len);
	assert_int_equal(mailsec_agg_report_mail(&r, gz, gzlen, &m, &msg,
	    &mlen, &d), MAILSEC_OK);
	save("report-mail.eml", msg, mlen);
	assert_non_null(strstr(msg, "\r\nTo: dmarc@example.com\r\n"));
	/* folded (RFC 5322 2.2.3) before the Report-ID's ridtxt */
	assert_non_null(strstr(msg, "\r\nSubject: Report Domain: example.com "
	    "Submitter: receiver.example Report-ID:\r\n <1700000000.example."
	    "com@receiver.example>\r\n"));
	assert_non_null(strstr(msg, "Date: Wed, 15 Nov 2023 23:13:20 "
	    "+0000\r\n"));
	assert_non_null(strstr(msg, "@mx1.receiver.example>\r\n"));
	/* CRLF everywhere, no line above 78 (base64 76) */
	for (i = 0, col = 0; i < mlen; i++) {
		if (msg[i] == '\n') {
			assert_true(i > 0 && msg[i - 1] == '\r');
			col = 0;
			continue;
		}
		if (msg[i] != '\r')
			col++;
		if (col > 998)
			fail_msg("line too long at %zu", i);
	}
	/* a re-send is the same message, Message-ID included */
	assert_int_equal(mailsec_agg_report_mail(&r, gz, gzlen, &m, &msg2,
	    &mlen2, NULL), MAILSEC_OK);
	assert_int_equal(mlen2, mlen);
	assert_memory_equal(msg2, msg, mlen);
	free(msg2);

	/* a report_id that is no ridtxt: no Report-ID in the Subject */
	r.report_id = org_nasty;
	assert_int_equal(mailsec_agg_report_mail(&r, gz, gzlen, &m, &msg2,
	    &mlen2, NULL), MAILSEC_OK);
	p = strstr(msg2, "Subject:");
	assert_non_null(p);
	assert_null(strstr(msg2, "Report-ID:"));
	free(msg2);
	model(&r);

	/* header injection: refused */
	m.from = "x@receiver.example\r\nBcc: victim@example.net";
	assert_int_equal(mailsec_agg_report_mail(&r, gz, gzlen, &m, &msg2,
	    &mlen2, &d), MAILSEC_EINVAL);
	assert_null(msg2);
	m.from = "dmarc-noreply@receiver.example";
	m.to = "a@example.com\nBcc: b@example.net";
	assert_int_equal(mailsec_agg_report_mail(&r, gz, gzlen, &m, &msg2,
	    &mlen2, &d), MAILSEC_EINVAL);
	m.to = "dmarc@example.com";
	m.receiver = "receiver.example\r\nX: y";
	assert_int_equal(mailsec_agg_report_mail(&r, gz, gzlen, &m, &msg2,
	    &mlen2, &d), MAILSEC_EINVAL);
	free(msg);
	free(gz);
	free(xml);
}

/* ---- failure reports ---------------------------------------------------- */

static const char orig_headers[] =
    "Return-Path: <dave.bounce+tag@example.com>\r\n"
    "Received: from mail.example.com (mail.example.com [192.0.2.1])\r\n"
    "\tby mx.receiver.example with ESMTPS id 1234\r\n"
    "\tfor <carol@receiver.example>; Tue, 14 Nov 2023 10:00:00 +0000\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel1;\r\n"
    "\ti=eve.signer@example.com; h=from:to; bh=abc=; b=def=\r\n"
    "From: \"Alice Example\" <alice@example.com>\r\n"
    "To: bob.smith@receiver.example, \"quoted user\"@receiver.example\r\n"
    "Cc: Frank <frank_o'neil@receiver.example>\r\n"
    "Subject: --=_mailsec_ looks like a boundary \xc3\xa9\r\n"
    "Message-ID: <msgid-local@example.com>\r\n"
    "\r\n"
    "BODY-SECRET this body must never be reported\r\n";

static void
failure_base(struct mailsec_failure_report *f)
{
	memset(f, 0, sizeof *f);
	f->from = "dmarc-noreply@receiver.example";
	f->to = "mailto:ruf@example.com";
	f->reporting_mta = "mx.receiver.example";
	f->source_ip = "192.0.2.1";
	f->arrival = 1699956000;
	f->original_mail_from = "dave.bounce+tag@example.com";
	f->original_rcpt_to = "carol@receiver.example";
	f->reported_domain = "example.com";
	f->auth_failure = "dmarc";
	f->authentication_results = "mx.receiver.example;\r\n dkim=fail "
	    "header.d=example.com header.s=sel1;\r\n\tspf=fail "
	    "smtp.mailfrom=dave.bounce+tag@example.com; dmarc=fail "
	    "header.from=example.com";
	f->dkim_domain = "example.com";
	f->dkim_selector = "sel1";
	f->dkim_identity = "@example.com";
	f->spf_dns = "txt : example.com : \"v=spf1 -all\"";
	f->message_id_domain = "receiver.example";
	f->now = 1699956060;
	f->headers = orig_headers;
	f->headers_len = sizeof orig_headers - 1;
}

static void
test_failure_report(void **state)
{
	struct mailsec_failure_report f;
	struct mailsec_diag d = { 0 };
	char *msg;
	size_t len;

	(void)state;
	failure_base(&f);
	assert_int_equal(mailsec_failure_report_compose(&f, &msg, &len, &d),
	    MAILSEC_OK);
	save("failure.eml", msg, len);
	assert_non_null(strstr(msg, "Content-Type: multipart/report; "
	    "report-type=feedback-report;"));
	assert_non_null(strstr(msg, "\r\nFeedback-Type: auth-failure\r\n"));
	assert_non_null(strstr(msg, "\r\nVersion: 1\r\n"));
	assert_non_null(strstr(msg, "\r\nAuth-Failure: dmarc\r\n"));
	assert_non_null(strstr(msg, "\r\nIdentity-Alignment: dkim, spf\r\n"));
	assert_non_null(strstr(msg, "\r\nOriginal-Mail-From: "
	    "<dave.bounce+tag@example.com>\r\n"));
	assert_non_null(strstr(msg, "\r\nOriginal-Rcpt-To: "
	    "<carol@receiver.example>\r\n"));
	assert_non_null(strstr(msg, "\r\nReporting-MTA: dns; "
	    "mx.receiver.example\r\n"));
	assert_non_null(strstr(msg, "\r\nSource-IP: 192.0.2.1\r\n"));
	assert_non_null(strstr(msg, "\r\nReported-Domain: example.com\r\n"));
	assert_non_null(strstr(msg, "\r\nArrival-Date: Tue, 14 Nov 2023 "
	    "10:00:00 +0000\r\n"));
	assert_non_null(strstr(msg, "\r\nDKIM-Selector: sel1\r\n"));
	assert_non_null(strstr(msg, "\r\nSPF-DNS: txt : example.com : "
	    "\"v=spf1 -all\"\r\n"));
	/* the A-R value unfolded into one field (then folded by us) */
	assert_non_null(strstr(msg, "Authentication-Results: "
	    "mx.receiver.example; dkim=fail"));
	assert_non_null(strstr(msg, "Content-Transfer-Encoding: 8bit"));
	assert_null(strstr(msg, "BODY-SECRET"));
	free(msg);
}

static void
test_failure_redact(void **state)
{
	static const char *locals[] = { "dave.bounce+tag", "carol",
	    "eve.signer", "alice", "bob.smith", "quoted user", "frank_o'neil",
	    "msgid-local" };
	struct mailsec_failure_report f;
	char *msg;
	size_t len, i;

	(void)state;
	failure_base(&f);
	f.redact = true;
	assert_int_equal(mailsec_failure_report_compose(&f, &msg, &len, NULL),
	    MAILSEC_OK);
	save("failure-redacted.eml", msg, len);
	for (i = 0; i < NELEM(locals); i++)
		if (strstr(msg, locals[i]) != NULL)
			fail_msg("local part \"%s\" survived redaction",
			    locals[i]);
	/* domains stay; the recipient field is gone */
	assert_non_null(strstr(msg, "@receiver.example"));
	assert_null(strstr(msg, "Original-Rcpt-To"));
	assert_non_null(strstr(msg, "Original-Mail-From: <"));
	assert_null(strstr(msg, "BODY-SECRET"));
	free(msg);
}

static void
test_failure_invalid(void **state)
{
	struct mailsec_failure_report f;
	struct mailsec_diag d;
	char *msg;
	size_t len;
	int i;

	(void)state;
	for (i = 0; i < 10; i++) {
		failure_base(&f);
		switch (i) {
		case 0: f.from = "a@b.example\r\nBcc: c@d.example"; break;
		case 1: f.reported_domain = "example.com\r\nX-Evil: 1"; break;
		case 2: f.source_ip = "192.0.2.1\r\nX: y"; break;
		case 3: f.auth_failure = "dmarc\r\nX: y"; break;
		case 4: f.original_mail_from = "a@b\x01.example"; break;
		case 5: f.spf_dns = "txt\x7f"; break;
		case 6: f.identity_alignment = "dkim, dkim"; break;
		case 7: f.headers = NULL; break;
		case 8: f.dkim_selector = "sel\r\nX: y"; break;
		case 9: f.authentication_results = "r.example; \xff"; break;
		}
		memset(&d, 0, sizeof d);
		msg = (char *)1;
		assert_int_equal(mailsec_failure_report_compose(&f, &msg, &len,
		    &d), MAILSEC_EINVAL);
		assert_null(msg);
		assert_int_equal(d.set, 1);
	}
	/* a valid explicit Identity-Alignment */
	failure_base(&f);
	f.identity_alignment = "spf";
	f.auth_failure = "spf";
	assert_int_equal(mailsec_failure_report_compose(&f, &msg, &len, NULL),
	    MAILSEC_OK);
	assert_non_null(strstr(msg, "\r\nIdentity-Alignment: spf\r\n"));
	free(msg);
}

/* ---- external destinations -------------------------------------------- */

static const char dest_zone[] =
    "$ORIGIN .\n"
    "$TTL 300\n"
    "_dmarc.example.com. TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.other.example. TXT \"v=DMARC1; p=none\"\n"
    "example.com._report._dmarc.reports.example.net. TXT \"v=DMARC1\"\n"
    "example.com._report._dmarc.bad.example.net. TXT \"v=DMARC10\"\n"
    "example.com._report._dmarc.bad2.example.net. TXT \"x=1; v=DMARC1\"\n"
    "example.com._report._dmarc.lower.example.net. TXT \"v=dmarc1\"\n"
    "example.com._report._dmarc.spaced.example.net. TXT \"v = DMARC1 ;\"\n"
    "*._report._dmarc.any.example. TXT \"v=DMARC1; rua=mailto:r@any.example\"\n"
    "$SERVFAIL example.com._report._dmarc.flaky.example.net TXT\n";

static void
test_dest_verify(void **state)
{
	static const struct {
		const char *pol, *dst;
		mailsec_err err;
		bool ok;
	} cases[] = {
		{ "example.com", "example.com", MAILSEC_OK, true },
		{ "example.com", "EXAMPLE.com.", MAILSEC_OK, true },
		/* the same Organizational Domain by the tree walk */
		{ "example.com", "mail.example.com", MAILSEC_OK, true },
		{ "a.example.com", "b.example.com", MAILSEC_OK, true },
		{ "example.com", "reports.example.net", MAILSEC_OK, true },
		{ "example.com", "elsewhere.example.net", MAILSEC_OK, false },
		{ "example.com", "bad.example.net", MAILSEC_OK, false },
		{ "example.com", "bad2.example.net", MAILSEC_OK, false },
		{ "example.com", "lower.example.net", MAILSEC_OK, false },
		{ "example.com", "spaced.example.net", MAILSEC_OK, true },
		{ "example.com", "any.example", MAILSEC_OK, true },
		{ "other.example", "example.com", MAILSEC_OK, false },
		{ "example.com", "flaky.example.net", MAILSEC_EDNS, false },
		{ "example.com", "not a domain", MAILSEC_EINVAL, false },
	};
	struct mailsec_resolver *res;
	struct mailsec_diag d;
	size_t i;
	bool ok;

	(void)state;
	res = zone_fixture(dest_zone, sizeof dest_zone - 1);
	for (i = 0; i < NELEM(cases); i++) {
		memset(&d, 0, sizeof d);
		ok = !cases[i].ok;
		if (mailsec_report_dest_verify(res, cases[i].pol, cases[i].dst,
		    &ok, &d) != cases[i].err || ok != cases[i].ok)
			fail_msg("case %zu (%s -> %s): %s, %d: %s", i,
			    cases[i].pol, cases[i].dst, mailsec_errname(
			    mailsec_report_dest_verify(res, cases[i].pol,
			    cases[i].dst, &ok, NULL)), ok, d.text);
	}
	/* a name too long for DNS: not authorized, no error */
	{
		char longd[260];
		size_t k;

		/* four labels of 60: 247 octets, the name would be 275 */
		for (k = 0; k < 4; k++) {
			memset(longd + 61 * k, 'a' + (int)k, 60);
			longd[61 * k + 60] = '.';
		}
		memcpy(longd + 244, "net", 4);
		assert_int_equal(mailsec_report_dest_verify(res, longd,
		    "x.example.org", &ok, NULL), MAILSEC_OK);
		assert_false(ok);
	}
	mailsec_resolver_free(res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_rfc9990),
		cmocka_unit_test(test_write_rfc7489),
		cmocka_unit_test(test_write_minimal),
		cmocka_unit_test(test_write_invalid),
		cmocka_unit_test(test_write_all_bytes),
		cmocka_unit_test(test_gzip_roundtrip),
		cmocka_unit_test(test_filename),
		cmocka_unit_test(test_mail),
		cmocka_unit_test(test_failure_report),
		cmocka_unit_test(test_failure_redact),
		cmocka_unit_test(test_failure_invalid),
		cmocka_unit_test(test_dest_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
