/*
 * tests/unit/report/test_report_extract.c - mailsec_report_extract():
 * the shared samples of $MAILSEC_TESTSUITES/reports (SKIPPED loudly when
 * absent): every aggregate file imports (OpenDMARC's bad.com with one
 * record left out, see test_report_parse.c), the same report plain,
 * gzip'd and zipped, report e-mails, failure and TLS reports; and
 * crafted inputs:
 * gzip and zip bombs, truncated containers, MIME nesting and part
 * limits, quoted-printable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include <mailsec/report.h>

#include "report_sample.h"

/* Extracts rel; expects exactly ndocs documents of kind. */
static struct mailsec_report_doc *
extract_sample(const char *rel, enum mailsec_report_kind kind,
    size_t ndocs)
{
	struct mailsec_report_doc *docs = NULL;
	struct mailsec_diag d = { 0 };
	size_t n = 0, len, i;
	char *in = report_sample_read(rel, &len);
	mailsec_err err;

	if (in == NULL)
		return NULL;
	err = mailsec_report_extract(in, len, &docs, &n, &d);
	free(in);
	if (err != MAILSEC_OK)
		fail_msg("%s: %s: %s", rel, mailsec_errname(err), d.text);
	if (n != ndocs)
		fail_msg("%s: %zu documents, expected %zu", rel, n, ndocs);
	for (i = 0; i < n; i++)
		if (docs[i].kind != kind)
			fail_msg("%s: document %zu of kind %d, expected %d",
			    rel, i, docs[i].kind, kind);
	return docs;
}

static struct mailsec_agg_report *
parse_doc(const struct mailsec_report_doc *doc)
{
	struct mailsec_agg_report *r = NULL;
	struct mailsec_diag d = { 0 };
	mailsec_err err;

	err = mailsec_agg_report_parse(doc->data, doc->len, &r, &d);
	if (err != MAILSEC_OK)
		fail_msg("parse %s: %s: %s", doc->name != NULL ? doc->name :
		    "(unnamed)", mailsec_errname(err), d.text);
	return r;
}

/* Every file under reports/aggregate: extracted to one aggregate
 * document that parses; only OpenDMARC's bad.com has a warning (its
 * second record's source_ip is no address: left out, docs/reports.md,
 * "Reading reports"). */
static void
test_every_aggregate_sample(void **state)
{
	static const char *const files[] = {
		"opendmarc/163.com!example.com!1337270400!1337356799."
		"20120518163.xml",
		"opendmarc/good.com!example.com!1337270400!1337356799.xml",
		"opendmarc/bad.com!example.com!1337140800!1337227200.xml",
		"parsedmarc/!example.com!1538204542!1538463818.xml",
		"parsedmarc/!large-example.com!1711897200!1711983600.xml",
		"parsedmarc/Report domain- borschow.com Submitter- google.com "
		"Report-ID- 949348866075514174.eml",
		"parsedmarc/addisonfoods.com!example.com!1536105600!"
		"1536191999.xml",
		"parsedmarc/empty_reason.xml",
		"parsedmarc/estadocuenta1.infonacot.gob.mx!example.com!"
		"1536853302!1536939702!2940.xml.zip",
		"parsedmarc/example.net!example.com!1529366400!1529452799.xml",
		"parsedmarc/extract_report/nice-input.xml",
		"parsedmarc/extract_report/nice-input.xml.gz",
		"parsedmarc/extract_report/nice-input.xml.zip",
		"parsedmarc/ikea.com!example.de!1538690400!1538776800.xml",
		"parsedmarc/invalid/report_with_upper_cased_pass.xml",
		"parsedmarc/invalid_utf_8.xml",
		"parsedmarc/mimecast-weird-gzip.eml",
		"parsedmarc/old_draft_from_wiki.xml",
		"parsedmarc/rfc9990-example.net!example.com!1700000000!"
		"1700086399.xml",
	};
	struct mailsec_report_doc *docs;
	struct mailsec_agg_report *r = NULL;
	char rel[512];
	size_t i, found = 0, parsed = 0;
	mailsec_err err;

	(void)state;
	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(rel, sizeof rel, "aggregate/%s", files[i]);
		docs = extract_sample(rel, MAILSEC_REPORT_KIND_AGGREGATE, 1);
		if (docs == NULL)
			continue;
		found++;
		err = mailsec_agg_report_parse(docs[0].data, docs[0].len, &r,
		    NULL);
		if (err != MAILSEC_OK)
			fail_msg("%s: %s", files[i], mailsec_errname(err));
		assert_true(r->nrecords > 0);
		if (strstr(files[i], "bad.com") != NULL) {
			assert_int_equal(r->nrecords, 2);
			assert_int_equal(r->nwarnings, 1);
			assert_non_null(strstr(r->warnings[0],
			    "'108r.166.27.220'"));
		} else
			assert_int_equal(r->nwarnings, 0);
		parsed++;
		mailsec_agg_report_free(r);
		r = NULL;
		mailsec_report_docs_free(docs, 1);
	}
	if (found == 0)
		skip();
	printf("report samples: %zu/%zu extracted, %zu parsed (bad.com "
	    "with a record left out)\n", found, sizeof files / sizeof files[0],
	    parsed);
	assert_int_equal(found, sizeof files / sizeof files[0]);
	assert_int_equal(parsed, found);
}

/* nice-input .xml, .xml.gz and .xml.zip: the same bytes, the same
 * report. */
static void
test_nice_input_identical(void **state)
{
	struct mailsec_report_doc *x, *g, *z;
	struct mailsec_agg_report *rx, *rg, *rz;
	struct mailsec_report_totals tx, tg, tz;

	(void)state;
	x = extract_sample("aggregate/parsedmarc/extract_report/"
	    "nice-input.xml", MAILSEC_REPORT_KIND_AGGREGATE, 1);
	if (x == NULL)
		skip();
	g = extract_sample("aggregate/parsedmarc/extract_report/"
	    "nice-input.xml.gz", MAILSEC_REPORT_KIND_AGGREGATE, 1);
	z = extract_sample("aggregate/parsedmarc/extract_report/"
	    "nice-input.xml.zip", MAILSEC_REPORT_KIND_AGGREGATE, 1);
	assert_int_equal(x->len, g->len);
	assert_int_equal(x->len, z->len);
	assert_memory_equal(x->data, g->data, x->len);
	assert_memory_equal(x->data, z->data, x->len);
	assert_string_equal(z->name, "nice-input.xml");
	rx = parse_doc(x);
	rg = parse_doc(g);
	rz = parse_doc(z);
	mailsec_agg_report_totals(rx, &tx);
	mailsec_agg_report_totals(rg, &tg);
	mailsec_agg_report_totals(rz, &tz);
	assert_memory_equal(&tx, &tg, sizeof tx);
	assert_memory_equal(&tx, &tz, sizeof tx);
	assert_int_equal(rx->nrecords, 20);
	assert_int_equal(rz->nrecords, 20);
	assert_string_equal(rx->report_id, rz->report_id);
	mailsec_agg_report_free(rx);
	mailsec_agg_report_free(rg);
	mailsec_agg_report_free(rz);
	mailsec_report_docs_free(x, 1);
	mailsec_report_docs_free(g, 1);
	mailsec_report_docs_free(z, 1);
}

/*
 * The zip and the two report e-mails. Figures derived with Python while
 * writing the test: zipfile / email + base64 + gzip to the XML, then
 * <record> and <count> counted as in test_report_parse.c.
 */
static void
test_containers(void **state)
{
	static const struct {
		const char *rel, *name, *domain;
		size_t nrecords;
		uint64_t messages;
	} c[] = {
		{ "aggregate/parsedmarc/estadocuenta1.infonacot.gob.mx!"
		  "example.com!1536853302!1536939702!2940.xml.zip",
		  "estadocuenta1.infonacot.gob.mx!example.com!1536853302!"
		  "1536939702!2940.xml", "example.com", 1, 1 },
		{ "aggregate/parsedmarc/Report domain- borschow.com "
		  "Submitter- google.com Report-ID- 949348866075514174.eml",
		  "google.com!borschow.com!1549929600!1550015999.xml",
		  "borschow.com", 1, 1 },
		/* A gzip as the whole message body; two bytes after its
		 * trailer. */
		{ "aggregate/parsedmarc/mimecast-weird-gzip.eml",
		  "mimecast.org!ab.id.au!1693353600!1693439999!"
		  "157a5fe30ec76f4bc0d8bccfc96c118a167a1280fee7c7465af5115e"
		  "73082e5e.xml", "ab.id.au", 1, 1 },
	};
	struct mailsec_report_doc *docs;
	struct mailsec_agg_report *r;
	struct mailsec_report_totals t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof c / sizeof c[0]; i++) {
		docs = extract_sample(c[i].rel, MAILSEC_REPORT_KIND_AGGREGATE,
		    1);
		if (docs == NULL)
			skip();
		assert_non_null(docs[0].name);
		assert_string_equal(docs[0].name, c[i].name);
		r = parse_doc(&docs[0]);
		assert_string_equal(r->domain, c[i].domain);
		assert_int_equal(r->nrecords, c[i].nrecords);
		mailsec_agg_report_totals(r, &t);
		assert_int_equal(t.messages, c[i].messages);
		mailsec_agg_report_free(r);
		mailsec_report_docs_free(docs, 1);
	}
}

static void
test_failure_reports(void **state)
{
	static const char *const arf[] = {
		"DMARC Failure Report for domain.de (mail-from=sharepoint@"
		"domain.de, ip=10.10.10.10).eml",
		"[Netease DMARC Failure Report] Rent Reminder.eml",
		"dmarc_ruf_report_linkedin.crlf.eml",
		"dmarc_ruf_report_linkedin.eml",
	};
	struct mailsec_report_doc *docs;
	char rel[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof arf / sizeof arf[0]; i++) {
		snprintf(rel, sizeof rel, "failure/parsedmarc/%s", arf[i]);
		docs = extract_sample(rel, MAILSEC_REPORT_KIND_FAILURE, 1);
		if (docs == NULL)
			skip();
		/* The machine-readable part, decoded (Netease's is
		 * base64). */
		if (strstr(docs[0].data, "Feedback-Type: auth-failure") == NULL)
			fail_msg("%s: no Feedback-Type in \"%.80s\"", arf[i],
			    docs[0].data);
		mailsec_report_docs_free(docs, 1);
	}
	/* Exim: a multipart/report with no feedback-report part; its
	 * prose part is the failure report. */
	docs = extract_sample("failure/parsedmarc/"
	    "exim_plain_text_only_no_arf_part.eml",
	    MAILSEC_REPORT_KIND_FAILURE, 1);
	assert_non_null(docs);
	assert_non_null(strstr(docs[0].data, "Sender IP Address: "
	    "203.0.113.68"));
	mailsec_report_docs_free(docs, 1);
}

static void
test_tls_reports(void **state)
{
	static const char *const json[] = {
		"rfc8460.json", "smtp_tls.json", "mail.ru.json",
	};
	struct mailsec_report_doc *docs;
	char rel[512];
	size_t i;

	(void)state;
	docs = extract_sample("smtp_tls/parsedmarc/"
	    "google.com_smtp_tls_report.eml", MAILSEC_REPORT_KIND_TLSRPT, 1);
	if (docs == NULL)
		skip();
	assert_string_equal(docs[0].name,
	    "google.com!cardinalhealth.ca!1725321600!1725407999!001.json");
	assert_int_equal(docs[0].data[0], '{');
	assert_non_null(strstr(docs[0].data, "\"policies\""));
	mailsec_report_docs_free(docs, 1);
	for (i = 0; i < sizeof json / sizeof json[0]; i++) {
		snprintf(rel, sizeof rel, "smtp_tls/parsedmarc/%s", json[i]);
		docs = extract_sample(rel, MAILSEC_REPORT_KIND_TLSRPT, 1);
		mailsec_report_docs_free(docs, 1);
	}
}

/* ---- crafted containers ----------------------------------------------- */

/* Deflates n zero bytes (raw when gzip is false) into a new buffer. */
static unsigned char *
deflate_zeros(size_t n, bool gzip, size_t *outlen, uint32_t *crc)
{
	static unsigned char zeros[65536];
	size_t cap = n / 500 + 4096, chunk;
	unsigned char *out = malloc(cap);
	z_stream zs;
	int flush;

	assert_non_null(out);
	memset(&zs, 0, sizeof zs);
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, gzip ? 16 + 15 :
	    -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	*crc = (uint32_t)crc32(0L, Z_NULL, 0);
	do {
		chunk = n < sizeof zeros ? n : sizeof zeros;
		n -= chunk;
		*crc = (uint32_t)crc32(*crc, zeros, (uInt)chunk);
		zs.next_in = zeros;
		zs.avail_in = (uInt)chunk;
		flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
		assert_true(deflate(&zs, flush) != Z_STREAM_ERROR);
		assert_true(zs.avail_out > 0);
	} while (flush != Z_FINISH);
	*outlen = zs.total_out;
	deflateEnd(&zs);
	return out;
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void
put32(unsigned char *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

/* A one-member zip archive. */
static unsigned char *
make_zip(const char *name, const void *data, size_t csize, uint32_t usize,
    uint32_t crc, unsigned method, size_t *len)
{
	size_t nlen = strlen(name), n = 30 + nlen + csize + 46 + nlen + 22;
	unsigned char *z = calloc(1, n), *p = z, *cd;

	assert_non_null(z);
	memcpy(p, "PK\3\4", 4);
	put16(p + 4, 20);
	put16(p + 8, method);
	put32(p + 14, crc);
	put32(p + 18, (uint32_t)csize);
	put32(p + 22, usize);
	put16(p + 26, (unsigned)nlen);
	memcpy(p + 30, name, nlen);
	memcpy(p + 30 + nlen, data, csize);
	cd = p + 30 + nlen + csize;
	memcpy(cd, "PK\1\2", 4);
	put16(cd + 4, 20);
	put16(cd + 6, 20);
	put16(cd + 10, method);
	put32(cd + 16, crc);
	put32(cd + 20, (uint32_t)csize);
	put32(cd + 24, usize);
	put16(cd + 28, (unsigned)nlen);
	put32(cd + 42, 0);
	memcpy(cd + 46, name, nlen);
	p = cd + 46 + nlen;
	memcpy(p, "PK\5\6", 4);
	put16(p + 8, 1);
	put16(p + 10, 1);
	put32(p + 12, (uint32_t)(46 + nlen));
	put32(p + 16, (uint32_t)(cd - z));
	*len = n;
	return z;
}

static mailsec_err
extract(const void *in, size_t len, struct mailsec_diag *d)
{
	struct mailsec_report_doc *docs = NULL;
	size_t n = 0;
	mailsec_err err;

	err = mailsec_report_extract(in, len, &docs, &n, d);
	if (err != MAILSEC_OK) {
		assert_null(docs);
		assert_int_equal(n, 0);
	}
	mailsec_report_docs_free(docs, n);
	return err;
}

static void
test_bombs(void **state)
{
	size_t big = MAILSEC_REPORT_XML_MAX + 1, glen, zlen;
	struct mailsec_diag d = { 0 };
	unsigned char *gz, *zip, *raw;
	uint32_t crc;

	(void)state;
	/* gzip: 64 MiB + 1 zeros from ~64 KiB. */
	gz = deflate_zeros(big, true, &glen, &crc);
	assert_true(glen < 256 * 1024);
	assert_int_equal(extract(gz, glen, &d), MAILSEC_ELIMIT);
	free(gz);

	/* zip stating its size: refused before inflating. */
	raw = deflate_zeros(big, false, &glen, &crc);
	zip = make_zip("bomb.xml", raw, glen, (uint32_t)big, crc, 8, &zlen);
	memset(&d, 0, sizeof d);
	assert_int_equal(extract(zip, zlen, &d), MAILSEC_ELIMIT);
	assert_non_null(strstr(d.text, "zip"));
	free(zip);

	/* zip lying about its size: inflation stops at the stated size. */
	zip = make_zip("liar.xml", raw, glen, 1000, crc, 8, &zlen);
	assert_int_equal(extract(zip, zlen, &d), MAILSEC_ESYNTAX);
	free(zip);
	free(raw);
}

static void
test_truncated(void **state)
{
	struct mailsec_diag d = { 0 };
	size_t len;
	char *gz, *zip;

	(void)state;
	gz = report_sample_read("aggregate/parsedmarc/extract_report/"
	    "nice-input.xml.gz", &len);
	if (gz == NULL)
		skip();
	assert_int_equal(extract(gz, len / 2, &d), MAILSEC_ESYNTAX);
	assert_non_null(strstr(d.text, "truncated"));
	assert_int_equal(extract(gz, len - 4, &d), MAILSEC_ESYNTAX);
	/* A corrupt CRC-32 in the trailer. */
	gz[len - 8] ^= 1;
	assert_int_equal(extract(gz, len, &d), MAILSEC_ESYNTAX);
	free(gz);

	zip = report_sample_read("aggregate/parsedmarc/extract_report/"
	    "nice-input.xml.zip", &len);
	assert_non_null(zip);
	memset(&d, 0, sizeof d);
	assert_int_equal(extract(zip, len - 10, &d), MAILSEC_ESYNTAX);
	assert_non_null(strstr(d.text, "zip"));
	assert_int_equal(extract(zip, len / 2, &d), MAILSEC_ESYNTAX);
	free(zip);
}

#define FEEDBACK "<feedback><report_metadata><org_name>o</org_name>" \
	"</report_metadata><policy_published><domain>example.com</domain>" \
	"</policy_published><record><row><source_ip>192.0.2.1</source_ip>" \
	"<count>4</count></row></record></feedback>"

static void
test_mime(void **state)
{
	struct mailsec_report_doc *docs = NULL;
	struct mailsec_agg_report *r;
	struct mailsec_diag d = { 0 };
	size_t n = 0, i, cap = 1 << 16;
	char *msg, *p;
	const char *qp =
	    "From: r@example.net\n"
	    "Content-Type: multipart/mixed; boundary=\"b1\"\n"
	    "\n"
	    "--b1\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "hello\n"
	    "--b1\n"
	    "Content-Type: multipart/alternative; boundary=b2\n"
	    "\n"
	    "--b2\n"
	    "Content-Type: text/xml; name=\"r.xml\"\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "<feedback><report_metadata><org_name>o</org_name></report_metad=\n"
	    "ata><policy_published><domain>example.com</domain></policy_publ=\n"
	    "ished><record><row><source_ip>192.0.2.1</source_ip><count>4</co=\n"
	    "unt></row></record></feedback>\n"
	    "--b2--\n"
	    "--b1--\n";

	(void)state;
	assert_int_equal(mailsec_report_extract(qp, strlen(qp), &docs, &n,
	    &d), MAILSEC_OK);
	assert_int_equal(n, 1);
	assert_int_equal(docs[0].kind, MAILSEC_REPORT_KIND_AGGREGATE);
	assert_string_equal(docs[0].name, "r.xml");
	r = parse_doc(&docs[0]);
	assert_int_equal(r->records[0].count, 4);
	mailsec_agg_report_free(r);
	mailsec_report_docs_free(docs, n);

	msg = malloc(cap);
	assert_non_null(msg);
	/* Nesting: 11 message/rfc822 layers around the report. */
	p = msg;
	for (i = 0; i < 11; i++)
		p += snprintf(p, cap - (size_t)(p - msg), "Content-Type: "
		    "message/rfc822\r\n\r\n");
	snprintf(p, cap - (size_t)(p - msg), "Content-Type: text/xml\r\n\r\n"
	    FEEDBACK "\r\n");
	assert_int_equal(extract(msg, strlen(msg), &d), MAILSEC_ELIMIT);
	/* 8 layers are fine. */
	p = msg;
	for (i = 0; i < 8; i++)
		p += snprintf(p, cap - (size_t)(p - msg), "Content-Type: "
		    "message/rfc822\r\n\r\n");
	snprintf(p, cap - (size_t)(p - msg), "Content-Type: text/xml\r\n\r\n"
	    FEEDBACK "\r\n");
	assert_int_equal(extract(msg, strlen(msg), &d), MAILSEC_OK);

	/* 101 parts. */
	p = msg + snprintf(msg, cap, "Content-Type: multipart/mixed; "
	    "boundary=x\r\n\r\n");
	for (i = 0; i < 101; i++)
		p += snprintf(p, cap - (size_t)(p - msg), "--x\r\n"
		    "Content-Type: text/plain\r\n\r\npart\r\n");
	snprintf(p, cap - (size_t)(p - msg), "--x--\r\n");
	assert_int_equal(extract(msg, strlen(msg), &d), MAILSEC_ELIMIT);
	free(msg);

	/* Not a report at all. */
	assert_int_equal(extract("hello world", 11, &d), MAILSEC_ENOTFOUND);
	assert_int_equal(extract("", 0, &d), MAILSEC_ENOTFOUND);
	assert_int_equal(extract("<html><body>hi</body></html>", 28, &d),
	    MAILSEC_ENOTFOUND);
	/* A gzip labelled application/octet-stream, named .zip. */
	{
		static const char b64hdr[] =
		    "Content-Type: application/octet-stream; name=x.zip\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n";
		unsigned char gz[1024];
		uLongf gzlen;
		z_stream zs;
		char *m;
		size_t mlen;

		memset(&zs, 0, sizeof zs);
		assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + 15, 8,
		    Z_DEFAULT_STRATEGY), Z_OK);
		zs.next_in = (unsigned char *)(uintptr_t)FEEDBACK;
		zs.avail_in = sizeof FEEDBACK - 1;
		zs.next_out = gz;
		zs.avail_out = sizeof gz;
		assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
		gzlen = zs.total_out;
		deflateEnd(&zs);
		m = malloc(sizeof b64hdr + gzlen * 2 + 8);
		assert_non_null(m);
		memcpy(m, b64hdr, sizeof b64hdr - 1);
		mlen = sizeof b64hdr - 1;
		/* base64 by hand, 4 characters per 3 bytes. */
		for (i = 0; i < gzlen; i += 3) {
			static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789+/";
			uint32_t v = (uint32_t)gz[i] << 16;

			if (i + 1 < gzlen)
				v |= (uint32_t)gz[i + 1] << 8;
			if (i + 2 < gzlen)
				v |= gz[i + 2];
			m[mlen++] = a[v >> 18 & 63];
			m[mlen++] = a[v >> 12 & 63];
			m[mlen++] = i + 1 < gzlen ? a[v >> 6 & 63] : '=';
			m[mlen++] = i + 2 < gzlen ? a[v & 63] : '=';
		}
		docs = NULL;
		assert_int_equal(mailsec_report_extract(m, mlen, &docs, &n,
		    &d), MAILSEC_OK);
		assert_int_equal(n, 1);
		assert_int_equal(docs[0].len, sizeof FEEDBACK - 1);
		assert_memory_equal(docs[0].data, FEEDBACK, docs[0].len);
		assert_string_equal(docs[0].name, "x.zip");
		mailsec_report_docs_free(docs, n);
		free(m);
	}
	assert_int_equal(mailsec_report_extract("x", 1, NULL, &n, NULL),
	    MAILSEC_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_aggregate_sample),
		cmocka_unit_test(test_nice_input_identical),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_failure_reports),
		cmocka_unit_test(test_tls_reports),
		cmocka_unit_test(test_bombs),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_mime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
