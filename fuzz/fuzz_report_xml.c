/*
 * fuzz/fuzz_report_xml.c - libFuzzer target for the DMARC aggregate
 * report parser (lib/report/parse.c, lib/report/model.c).
 *
 * Parses the input as one report document and checks the model on every
 * success: required strings present, source IPs non-empty, lists within
 * their limits, counts within bound (so the totals never wrap), enum
 * names defined, the warnings about records left out at most
 * MAILSEC_REPORT_LIST_MAX and one "more" line, none NULL or empty.
 * Any violation aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/report.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static void
check_report(const struct mailsec_agg_report *r)
{
	struct mailsec_report_totals t;
	const struct mailsec_report_record *rec;
	uint64_t sum = 0;
	size_t i, j;

	CHECK(r->org_name != NULL && r->email != NULL &&
	    r->report_id != NULL && r->domain != NULL && r->domain[0] != '\0');
	CHECK(r->format == MAILSEC_REPORT_FMT_RFC7489 ||
	    r->format == MAILSEC_REPORT_FMT_RFC9990);
	CHECK(r->pct >= -1 && r->pct <= 100);
	CHECK(r->nerrors <= MAILSEC_REPORT_LIST_MAX);
	for (i = 0; i < r->nerrors; i++)
		CHECK(r->errors[i] != NULL);
	CHECK(r->nrecords <= MAILSEC_REPORT_RECORDS_MAX);
	CHECK(r->nwarnings <= MAILSEC_REPORT_LIST_MAX + 1);
	CHECK(r->nwarnings == 0 || r->warnings != NULL);
	for (i = 0; i < r->nwarnings; i++)
		CHECK(r->warnings[i] != NULL && r->warnings[i][0] != '\0');
	/* a report with warnings left records out: some were read */
	CHECK(r->nwarnings == 0 || r->nrecords > 0);
	for (i = 0; i < r->nrecords; i++) {
		rec = &r->records[i];
		CHECK(rec->source_ip != NULL && rec->source_ip[0] != '\0');
		CHECK(rec->header_from != NULL);
		CHECK(rec->count <= UINT64_C(1000000000000));
		sum += rec->count;
		CHECK(rec->nreasons <= MAILSEC_REPORT_LIST_MAX &&
		    rec->ndkim <= MAILSEC_REPORT_LIST_MAX &&
		    rec->nspf <= MAILSEC_REPORT_LIST_MAX);
		for (j = 0; j < rec->nreasons; j++)
			CHECK(mailsec_report_override_name(
			    rec->reasons[j].type) != NULL);
		for (j = 0; j < rec->ndkim; j++) {
			CHECK(rec->dkim_results[j].domain != NULL);
			CHECK((rec->dkim_results[j].result ==
			    MAILSEC_RRES_UNKNOWN) ==
			    (rec->dkim_results[j].raw_result != NULL));
		}
		for (j = 0; j < rec->nspf; j++) {
			CHECK(rec->spf_results[j].domain != NULL);
			CHECK((rec->spf_results[j].result ==
			    MAILSEC_RRES_UNKNOWN) ==
			    (rec->spf_results[j].raw_result != NULL));
			CHECK(strlen(mailsec_report_result_name(
			    rec->spf_results[j].result)) > 0);
		}
		CHECK(strlen(mailsec_report_disp_name(rec->disposition)) > 0);
	}
	mailsec_agg_report_totals(r, &t);
	CHECK(t.messages == sum);
	CHECK(t.dmarc_pass <= t.messages && t.spf_pass <= t.dmarc_pass &&
	    t.dkim_pass <= t.dmarc_pass);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailsec_agg_report *r = NULL;
	struct mailsec_diag d;
	mailsec_err err;

	memset(&d, 0, sizeof d);
	err = mailsec_agg_report_parse((const char *)data, size, &r, &d);
	if (err == MAILSEC_OK) {
		CHECK(r != NULL);
		check_report(r);
		mailsec_agg_report_free(r);
	} else {
		CHECK(r == NULL);
		CHECK(err == MAILSEC_ESYNTAX || err == MAILSEC_ELIMIT ||
		    err == MAILSEC_ENOMEM);
		CHECK(d.set && memchr(d.text, '\0', sizeof d.text) != NULL);
	}
	return 0;
}
