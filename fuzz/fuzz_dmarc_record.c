/*
 * fuzz/fuzz_dmarc_record.c - libFuzzer target for DMARC records
 * (lib/dmarc/record.c, RFC 9989 4.7, 4.8; RFC 7489 6.3) in both modes,
 * and for policy discovery and evaluation over a zone that publishes the
 * input at _dmarc.example.org and, with psd=y, at _dmarc.org.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/dmarc.h>
#include <mailsec/dns.h>
#include <mailsec/msg.h>

#include "zone_txt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static void
check_record(const char *p, size_t len, enum mailsec_dmarc_mode mode)
{
	struct mailsec_dmarc_record *rec = NULL;
	struct mailsec_diag diag = { 0 };
	mailsec_err err;
	size_t i;

	err = mailsec_dmarc_record_parse(p, len, mode, &rec, &diag);
	if (err != MAILSEC_OK) {
		CHECK(err == MAILSEC_ELIMIT);
		CHECK(rec == NULL && diag.set);
		return;
	}
	CHECK(rec != NULL);
	CHECK(!rec->usable || rec->dmarc);
	CHECK(rec->pct <= 100);
	CHECK(rec->nrua <= MAILSEC_DMARC_URI_MAX);
	CHECK(rec->nruf <= MAILSEC_DMARC_URI_MAX);
	CHECK(!(rec->fo & MAILSEC_DMARC_FO_0) || !(rec->fo &
	    MAILSEC_DMARC_FO_1));
	for (i = 0; i < rec->nproblems; i++) {
		CHECK(rec->problems[i].offset <= len);
		CHECK(strlen(rec->problems[i].tag) < sizeof
		    rec->problems[i].tag);
	}
	for (i = 0; i < rec->nrua; i++)
		CHECK(rec->rua[i].uri != NULL &&
		    (rec->rua[i].address == NULL || rec->rua[i].mailto));
	if (mode == MAILSEC_DMARC_RFC7489)
		CHECK(rec->np == MAILSEC_DMARC_POLICY_UNSET &&
		    !rec->testing && rec->psd == MAILSEC_DMARC_PSD_U);
	if (rec->usable)
		CHECK(mailsec_dmarc_record_policy(rec, true, false, NULL) !=
		    MAILSEC_DMARC_POLICY_UNSET);
	else
		CHECK(mailsec_dmarc_record_policy(rec, false, true, NULL) ==
		    MAILSEC_DMARC_POLICY_UNSET);
	mailsec_dmarc_record_free(rec);
}

static void
evaluate(const char *p, size_t len)
{
	static const char tail[] = "exists.example.org. A 192.0.2.1\n";
	static const char msg[] = "From: a@x.example.org, b@example.org\r\n"
	    "\r\n";
	struct mailsec_dmarc_dkim dk[2] = {
		{ "mail.example.org", "s1", MAILSEC_DKIM_PASS },
		{ "example.net", "s2", MAILSEC_DKIM_PASS },
	};
	struct mailsec_dmarc_request req = { 0 };
	struct mailsec_dmarc_opts opts = { 0 };
	struct mailsec_dmarc_outcome *o = NULL;
	struct mailsec_resolver *r = NULL;
	struct mailsec_author *a = NULL;
	struct mailsec_msg *m = NULL;
	size_t cap = 2 * ZONE_TXT_CAP(len) + sizeof tail, n;
	char *zone;

	if ((zone = malloc(cap)) == NULL)
		return;
	n = zone_txt(zone, cap, "_dmarc.example.org.", p, len);
	n += zone_txt(zone + n, cap - n, "_dmarc.org.", p, len);
	memcpy(zone + n, tail, sizeof tail - 1);
	n += sizeof tail - 1;
	if (mailsec_resolver_new_zone_mem(zone, n, NULL, &r, NULL) !=
	    MAILSEC_OK)
		goto out;
	if (mailsec_dmarc_discover(r, "deep.x.example.org", NULL, &o, NULL) ==
	    MAILSEC_OK) {
		CHECK(o->ndomains == 1);
		CHECK(o->queries <= MAILSEC_DMARC_WALK_MAX + 2);
		CHECK((o->domains[0].policy == MAILSEC_DMARC_POLICY_UNSET) ==
		    (o->domains[0].policy_tag == NULL));
		mailsec_dmarc_outcome_free(o);
		o = NULL;
	}
	if (mailsec_msg_parse(msg, sizeof msg - 1, NULL, 0, &m, NULL) !=
	    MAILSEC_OK || mailsec_msg_author(m, &a) != MAILSEC_OK)
		goto out;
	req.author = a;
	req.spf_result = MAILSEC_SPF_PASS;
	req.spf_domain = "bounce.example.org";
	req.mail_from = "x@bounce.example.org";
	req.dkim = dk;
	req.ndkim = 2;
	if (mailsec_dmarc_evaluate(r, &req, &opts, &o, NULL) == MAILSEC_OK) {
		CHECK(o->ndomains == 2);
		CHECK(o->result != MAILSEC_DMARC_PASS ||
		    o->spf_aligned || o->dkim_aligned);
		CHECK((o->disposition == MAILSEC_DMARC_DISP_UNSET) ==
		    (o->result != MAILSEC_DMARC_PASS &&
		    o->result != MAILSEC_DMARC_FAIL));
		mailsec_dmarc_outcome_free(o);
	}
out:
	mailsec_author_free(a);
	mailsec_msg_free(m);
	mailsec_resolver_free(r);
	free(zone);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_record((const char *)data, size, MAILSEC_DMARC_RFC9989);
	check_record((const char *)data, size, MAILSEC_DMARC_RFC7489);
	if (size <= 2000)
		evaluate((const char *)data, size);
	return 0;
}
