/*
 * fuzz/fuzz_spf_record.c - libFuzzer target for SPF records
 * (lib/spf/record.c, RFC 7208 4.5, 4.6, 12), and for check_host() over
 * a zone that publishes the input as example.org's policy (every
 * mechanism, macro expansion, include/redirect/exp through the engine).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/dns.h>
#include <mailsec/spf.h>

#include "spf/spf_int.h"
#include "zone_txt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

/* Names the fuzzed policy can reach. */
static const char zone_tail[] =
    "example.org. MX 10 mx.example.org.\n"
    "mx.example.org. A 192.0.2.1\n"
    "mx.example.org. AAAA 2001:db8::1\n"
    "inc.example.org. TXT \"v=spf1 ip4:192.0.2.0/24 include:example.org "
    "-all\"\n"
    "exp.example.org. TXT \"%{i} %{c} %{r} %{t} %{l} %{p} denied\"\n"
    "1.2.0.192.in-addr.arpa. PTR mx.example.org.\n"
    "$TIMEOUT slow.example.org.\n";

static void
check_record(const char *p, size_t len)
{
	struct ms_spf_record *rec = NULL;
	struct mailsec_diag diag = { 0 };
	mailsec_err err;
	size_t i;

	err = ms_spf_record_parse(p, len, &rec, &diag);
	if (err != MAILSEC_OK) {
		CHECK(rec == NULL);
		CHECK(diag.set);
		CHECK(diag.offset <= len);
		return;
	}
	for (i = 0; i < rec->nterms; i++) {
		const struct ms_spf_term *t = &rec->terms[i];

		CHECK(t->text.ptr >= rec->text &&
		    t->text.ptr + t->text.len <= rec->text + rec->len);
		CHECK(t->spec.len == 0 || (t->spec.ptr >= t->text.ptr &&
		    t->spec.ptr + t->spec.len <= t->text.ptr + t->text.len));
		CHECK(t->cidr4 <= 32 && t->cidr6 <= 128);
	}
	ms_spf_record_free(rec);
}

static void
evaluate(const char *p, size_t len)
{
	struct mailsec_spf_request req = { 0 };
	struct mailsec_spf_outcome *o = NULL;
	struct mailsec_resolver *r = NULL;
	char *zone;
	size_t n = 0, cap;
	char *rh = NULL;

	/* Zone text: the record as one TXT RR, then the rest of the zone. */
	cap = ZONE_TXT_CAP(len) + sizeof zone_tail;
	if ((zone = malloc(cap)) == NULL)
		return;
	n = zone_txt(zone, cap, "example.org.", p, len);
	memcpy(zone + n, zone_tail, sizeof zone_tail - 1);
	n += sizeof zone_tail - 1;
	if (mailsec_resolver_new_zone_mem(zone, n, NULL, &r, NULL) !=
	    MAILSEC_OK) {
		free(zone);
		return;
	}
	req.ip = len % 2 ? "192.0.2.1" : "2001:db8::1";
	req.mail_from = "some.one@example.org";
	req.helo = "mx.example.org";
	req.receiver = "receiver.example";
	req.now = 1700000000;
	if (mailsec_spf_check(r, &req, true, &o, NULL) == MAILSEC_OK) {
		CHECK(o->lookups <= MAILSEC_SPF_LOOKUP_MAX);
		CHECK(o->void_lookups <= MAILSEC_SPF_VOID_MAX + 1);
		CHECK((o->explanation != NULL) ==
		    (o->result == MAILSEC_SPF_FAIL));
		if (mailsec_spf_received_spf(o, &req, &rh) == MAILSEC_OK) {
			CHECK(strchr(rh, '\n') == NULL);
			CHECK(strchr(rh, '\r') == NULL);
			free(rh);
		}
		mailsec_spf_outcome_free(o);
	}
	mailsec_resolver_free(r);
	free(zone);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_record((const char *)data, size);
	if (size <= 2000)
		evaluate((const char *)data, size);
	return 0;
}
