/*
 * lib/report/model.c - the DMARC aggregate report model (RFC 9990 3,
 * RFC 7489 appendix C): freeing, totals, enum names.
 */
#include <stdlib.h>
#include <string.h>

#include <mailsec/report.h>

#include "core/core.h"
#include "report/report_int.h"

void
ms_report_record_clear(struct mailsec_report_record *rec)
{
	size_t i;

	free(rec->source_ip);
	for (i = 0; i < rec->nreasons; i++)
		free(rec->reasons[i].comment);
	free(rec->reasons);
	free(rec->header_from);
	free(rec->envelope_from);
	free(rec->envelope_to);
	for (i = 0; i < rec->ndkim; i++) {
		free(rec->dkim_results[i].domain);
		free(rec->dkim_results[i].selector);
		free(rec->dkim_results[i].raw_result);
		free(rec->dkim_results[i].human_result);
	}
	free(rec->dkim_results);
	for (i = 0; i < rec->nspf; i++) {
		free(rec->spf_results[i].domain);
		free(rec->spf_results[i].raw_result);
		free(rec->spf_results[i].human_result);
	}
	free(rec->spf_results);
	memset(rec, 0, sizeof *rec);
}

void
mailsec_agg_report_free(struct mailsec_agg_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->version);
	free(r->org_name);
	free(r->email);
	free(r->extra_contact_info);
	free(r->report_id);
	for (i = 0; i < r->nerrors; i++)
		free(r->errors[i]);
	free(r->errors);
	free(r->generator);
	free(r->domain);
	free(r->fo);
	free(r->discovery_method);
	for (i = 0; i < r->nrecords; i++)
		ms_report_record_clear(&r->records[i]);
	free(r->records);
	for (i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	free(r);
}

void
mailsec_agg_report_totals(const struct mailsec_agg_report *r,
    struct mailsec_report_totals *out)
{
	const struct mailsec_report_record *rec;
	size_t i;

	out->messages = out->dmarc_pass = out->spf_pass = out->dkim_pass = 0;
	if (r == NULL)
		return;
	/* No overflow: each count is at most MS_REPORT_COUNT_MAX and there
	 * are at most MAILSEC_REPORT_RECORDS_MAX records (parse.c). A
	 * report built by hand saturates instead of wrapping. */
	for (i = 0; i < r->nrecords; i++) {
		uint64_t c;

		rec = &r->records[i];
		c = rec->count;
		if (__builtin_add_overflow(out->messages, c, &out->messages))
			out->messages = UINT64_MAX;
		/* DMARC passes when either identifier passed aligned
		 * (policy_evaluated, RFC 9990 3.1.1.9). */
		if (rec->dkim == MAILSEC_REVAL_PASS ||
		    rec->spf == MAILSEC_REVAL_PASS) {
			if (__builtin_add_overflow(out->dmarc_pass, c,
			    &out->dmarc_pass))
				out->dmarc_pass = UINT64_MAX;
		}
		if (rec->spf == MAILSEC_REVAL_PASS &&
		    __builtin_add_overflow(out->spf_pass, c, &out->spf_pass))
			out->spf_pass = UINT64_MAX;
		if (rec->dkim == MAILSEC_REVAL_PASS &&
		    __builtin_add_overflow(out->dkim_pass, c, &out->dkim_pass))
			out->dkim_pass = UINT64_MAX;
	}
}

const char *
mailsec_report_result_name(enum mailsec_report_result r)
{
	static const char *const names[] = {
		[MAILSEC_RRES_ABSENT] = "absent",
		[MAILSEC_RRES_NONE] = "none",
		[MAILSEC_RRES_PASS] = "pass",
		[MAILSEC_RRES_FAIL] = "fail",
		[MAILSEC_RRES_SOFTFAIL] = "softfail",
		[MAILSEC_RRES_POLICY] = "policy",
		[MAILSEC_RRES_NEUTRAL] = "neutral",
		[MAILSEC_RRES_TEMPERROR] = "temperror",
		[MAILSEC_RRES_PERMERROR] = "permerror",
		[MAILSEC_RRES_UNKNOWN] = "unknown",
	};

	if ((size_t)r >= MS_ARRAY_LEN(names))
		return "unknown";
	return names[r];
}

const char *
mailsec_report_disp_name(enum mailsec_report_disp d)
{
	static const char *const names[] = {
		[MAILSEC_RDISP_ABSENT] = "absent",
		[MAILSEC_RDISP_NONE] = "none",
		[MAILSEC_RDISP_QUARANTINE] = "quarantine",
		[MAILSEC_RDISP_REJECT] = "reject",
		[MAILSEC_RDISP_PASS] = "pass",
	};

	if ((size_t)d >= MS_ARRAY_LEN(names))
		return "unknown";
	return names[d];
}

const char *
mailsec_report_override_name(enum mailsec_report_override o)
{
	static const char *const names[] = {
		[MAILSEC_ROVR_ABSENT] = "absent",
		[MAILSEC_ROVR_LOCAL_POLICY] = "local_policy",
		[MAILSEC_ROVR_MAILING_LIST] = "mailing_list",
		[MAILSEC_ROVR_OTHER] = "other",
		[MAILSEC_ROVR_POLICY_TEST_MODE] = "policy_test_mode",
		[MAILSEC_ROVR_TRUSTED_FORWARDER] = "trusted_forwarder",
		[MAILSEC_ROVR_FORWARDED] = "forwarded",
		[MAILSEC_ROVR_SAMPLED_OUT] = "sampled_out",
		[MAILSEC_ROVR_UNKNOWN] = "unknown",
	};

	if ((size_t)o >= MS_ARRAY_LEN(names))
		return "unknown";
	return names[o];
}
