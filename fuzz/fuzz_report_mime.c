/*
 * fuzz/fuzz_report_mime.c - libFuzzer target for report extraction
 * (lib/report/extract.c, lib/report/zip.c): MIME walking, base64 and
 * quoted-printable, gzip and zip members.
 *
 * Extracts the documents of the input and checks them: a known kind,
 * data NUL-terminated at len, no more than the part limit, no document
 * past MAILSEC_REPORT_XML_MAX; an aggregate document also goes through
 * the parser. Any violation aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/report.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailsec_report_doc *docs = NULL;
	struct mailsec_agg_report *r;
	struct mailsec_diag d;
	size_t n = 0, i;
	mailsec_err err;

	memset(&d, 0, sizeof d);
	err = mailsec_report_extract(data, size, &docs, &n, &d);
	if (err != MAILSEC_OK) {
		CHECK(docs == NULL && n == 0);
		CHECK(err == MAILSEC_ESYNTAX || err == MAILSEC_ELIMIT ||
		    err == MAILSEC_ENOTFOUND || err == MAILSEC_ENOMEM);
		CHECK(d.set);
		return 0;
	}
	CHECK(n > 0 && n <= 100 && docs != NULL);
	for (i = 0; i < n; i++) {
		CHECK(docs[i].kind == MAILSEC_REPORT_KIND_AGGREGATE ||
		    docs[i].kind == MAILSEC_REPORT_KIND_FAILURE ||
		    docs[i].kind == MAILSEC_REPORT_KIND_TLSRPT);
		CHECK(docs[i].data != NULL && docs[i].data[docs[i].len] ==
		    '\0');
		CHECK(docs[i].len <= MAILSEC_REPORT_XML_MAX);
		if (docs[i].kind == MAILSEC_REPORT_KIND_AGGREGATE) {
			r = NULL;
			if (mailsec_agg_report_parse(docs[i].data,
			    docs[i].len, &r, NULL) == MAILSEC_OK)
				CHECK(r != NULL);
			mailsec_agg_report_free(r);
		}
	}
	mailsec_report_docs_free(docs, n);
	return 0;
}
