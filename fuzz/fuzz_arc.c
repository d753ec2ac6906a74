/*
 * fuzz/fuzz_arc.c - libFuzzer target for ARC (lib/arc, RFC 8617): the
 * instance of each ARC field (4.2.1), ARC-Seal and ARC-Message-Signature
 * tag lists (4.1.2, 4.1.3), and, for input that is a message, the chain
 * (5.2: structure, header hash input, body hashes, key lookups against
 * an empty zone) and a seal over it (5.1).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/arc.h>

#include "arc/arc_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static struct mailsec_resolver *zone;
static struct mailsec_dkim_key *key;

static void
fields(const char *p, size_t n)
{
	struct ms_arc_seal_tags *s = malloc(sizeof *s);
	struct ms_dkim_sig *a = malloc(sizeof *a);
	char why[MS_ARC_WHY];
	unsigned inst;
	int k;

	if (s == NULL || a == NULL)
		abort();
	for (k = 0; k < MS_ARC_NKIND; k++) {
		why[0] = '\0';
		inst = 0;
		if (ms_arc_instance((enum ms_arc_kind)k, p, n, &inst, why,
		    sizeof why))
			CHECK(inst >= 1);
		else
			CHECK(why[0] != '\0');
	}
	if (ms_arc_seal_parse(p, n, s, why, sizeof why)) {
		CHECK(s->instance >= 1 && s->instance <= 50);
		CHECK(s->b_start <= s->b_end && s->b_end <= n);
		CHECK(s->blen > 0);
	}
	if (ms_dkim_sig_parse(p, n, MS_DKIM_SIG_AMS, a, why, sizeof why) ==
	    MAILSEC_DKIM_R_OK) {
		CHECK(a->instance >= 1 && a->instance <= 50);
		CHECK(a->b_start <= a->b_end && a->b_end <= n);
	}
	free(a);
	free(s);
}

static void
message(const char *p, size_t n)
{
	struct mailsec_arc_verify_opts vo = { 0 };
	struct mailsec_arc_seal_opts so = { 0 };
	struct mailsec_arc_verify *v = NULL;
	const struct mailsec_arc_outcome *o;
	struct mailsec_authres *ar = NULL;
	struct mailsec_msg *m = NULL;
	char *set = NULL;
	size_t i, len;
	mailsec_err err;

	if (mailsec_msg_parse(p, n, NULL, 0, &m, NULL) != MAILSEC_OK)
		return;
	vo.now = 1700000000;
	if (mailsec_arc_verify_msg(zone, &vo, m, &v) == MAILSEC_OK) {
		o = mailsec_arc_verify_outcome(v);
		CHECK(mailsec_arc_verify_done(v));
		/* no key exists: nothing can pass */
		CHECK(o->result != MAILSEC_ARC_PASS);
		CHECK(o->reason_text != NULL && o->reason_text[0] != '\0');
		CHECK(o->nsets == o->instances && o->instances <= 50);
		for (i = 0; i < o->nsets; i++)
			CHECK(o->sets[i].instance == i + 1);
		if (o->result == MAILSEC_ARC_NONE)
			CHECK(o->reason == MAILSEC_ARC_R_NO_CHAIN);
	}
	/* a seal over whatever is there, as a forwarder whose validation
	 * failed (the one status any message may be sealed with) */
	if (mailsec_authres_new("mx.fuzz.example", &ar) == MAILSEC_OK &&
	    mailsec_authres_add_result(ar, "arc", "fail") == MAILSEC_OK) {
		so.key = key;
		so.domain = "fuzz.example";
		so.selector = "s";
		so.timestamp = 1700000000;
		so.headers = "from:to:subject";
		err = mailsec_arc_seal_msg(&so, m, MAILSEC_ARC_FAIL, ar, &set,
		    &len, NULL);
		if (err == MAILSEC_OK && set != NULL)
			CHECK(len > 0 && strncmp(set, "ARC-Seal: i=", 12) ==
			    0);
		free(set);
	}
	mailsec_authres_free(ar);
	mailsec_arc_verify_free(v);
	mailsec_msg_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (zone == NULL) {
		if (mailsec_resolver_new_zone_mem("", 0, NULL, &zone, NULL) !=
		    MAILSEC_OK || mailsec_dkim_key_generate(
		    MAILSEC_DKIM_ED25519_SHA256, 0, &key) != MAILSEC_OK)
			abort();
	}
	if (size > 65536)
		return 0;
	fields((const char *)data, size);
	message((const char *)data, size);
	return 0;
}
