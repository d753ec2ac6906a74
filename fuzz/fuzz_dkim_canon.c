/*
 * fuzz/fuzz_dkim_canon.c - libFuzzer target for DKIM canonicalization
 * (lib/dkim/canon.c, RFC 6376 3.4) and verification of whole messages.
 *
 * The first byte chooses a chunk size and a vector level (scalar, SSE2,
 * AVX2, capped by the CPU); the body canonicalizers must give the same
 * hash and length whether the input arrives whole (at the best level) or
 * in chunks (at the chosen one), and the same bytes as a plain
 * line-by-line reference of RFC 6376 3.4.3 and 3.4.4. Signing the parsed
 * message through a context fed in chunks must equal one-shot signing.
 * The input is also canonicalized as a header field, and parsed and
 * verified as a message against a fixed zone (keys that never match).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/dkim.h>

#include "dkim/dkim_int.h"

#include "../tests/unit/dkim/canon_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static const char zone[] =
    "s._domainkey.example.org. IN TXT \"v=DKIM1; k=ed25519; "
    "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\"\n"
    "r._domainkey.example.org. IN TXT \"v=DKIM1; p=MFwwDQYJKoZIhvcNAQEBBQ"
    "ADSwAwSAJBANmBe10IgY+u7h3enWTukkqtUD5PR52Tb/mPfjC0QJTocVBq6Za/PlzfV+"
    "Py92VaCak19F4WrbVTK5Gg5tW220MCAwEAAQ==\"\n"
    "$SERVFAIL t._domainkey.example.org.\n";

/* The body at vector level simd (-1: the best), fed in chunks. */
static void
body(enum mailsec_dkim_canon c, int simd, const char *p, size_t n,
    size_t chunk, uint64_t limit, unsigned char *dig, uint64_t *total)
{
	struct ms_dkim_body b;
	unsigned dlen;
	size_t i, k;

	CHECK(ms_dkim_body_init(&b, c, EVP_sha256(), limit) == MAILSEC_OK);
	CHECK(ms_dkim_body_set_simd(&b, simd) == b.simd);
	CHECK(simd < 0 || b.simd <= simd);
	for (i = 0; i < n; i += k) {
		k = n - i < chunk ? n - i : chunk;
		CHECK(ms_dkim_body_update(&b, p + i, k) == MAILSEC_OK);
	}
	CHECK(ms_dkim_body_final(&b, dig, &dlen) == MAILSEC_OK);
	CHECK(dlen == 32);
	CHECK(b.hashed <= b.total && b.hashed <= limit);
	*total = b.total;
	ms_dkim_body_cleanup(&b);
}

/* One-shot and chunked signing (Ed25519: deterministic) must agree. */
static void
sign_both(const struct mailsec_msg *m, size_t chunk)
{
	static struct mailsec_dkim_key *key;
	static const char seed[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
	struct mailsec_dkim_sign_opts o = { 0 };
	struct mailsec_dkim_sign *ctx;
	struct mailsec_str body;
	char *one, *two;
	size_t i, k, l1, l2;
	mailsec_err e1;

	if (key == NULL)
		CHECK(mailsec_dkim_key_load(seed, sizeof seed - 1, &key,
		    NULL) == MAILSEC_OK);
	o.key = key;
	o.domain = "example.org";
	o.selector = "s";
	o.timestamp = 1700000000;
	o.canon_set = true;
	o.header_canon = (enum mailsec_dkim_canon)(chunk & 1);
	o.body_canon = (enum mailsec_dkim_canon)((chunk >> 1) & 1);
	e1 = mailsec_dkim_sign_msg(&o, m, &one, &l1, NULL);
	CHECK(mailsec_dkim_sign_new(&o, 1, &ctx, NULL) == MAILSEC_OK);
	for (i = 0; i < mailsec_msg_field_count(m); i++)
		CHECK(mailsec_dkim_sign_header(ctx,
		    mailsec_msg_field(m, i)->raw.ptr,
		    mailsec_msg_field(m, i)->raw.len) == MAILSEC_OK);
	if (mailsec_dkim_sign_eoh(ctx, NULL) != MAILSEC_OK) {
		CHECK(e1 == MAILSEC_EINVAL);	/* no From */
		mailsec_dkim_sign_free(ctx);
		return;
	}
	CHECK(e1 == MAILSEC_OK);
	body = mailsec_msg_body(m);
	for (i = 0; i < body.len; i += k) {
		k = body.len - i < chunk ? body.len - i : chunk;
		CHECK(mailsec_dkim_sign_body(ctx, body.ptr + i, k) ==
		    MAILSEC_OK);
	}
	CHECK(mailsec_dkim_sign_eom(ctx, &two, &l2, NULL) == MAILSEC_OK);
	CHECK(l1 == l2 && memcmp(one, two, l1) == 0);
	free(one);
	free(two);
	mailsec_dkim_sign_free(ctx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;
	unsigned char d1[32], d2[32];
	uint64_t t1, t2;
	size_t n, chunk;
	int simd;
	struct ms_buf hb;
	struct mailsec_resolver *r;
	struct mailsec_msg *m;
	struct mailsec_dkim_verify *ctx;
	int c;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] % 17 + 1;
	simd = data[0] / 17 % 3;
	n = size - 1;
	for (c = 0; c < 2; c++) {
		body((enum mailsec_dkim_canon)c, -1, p, n, n ? n : 1,
		    UINT64_MAX, d1, &t1);
		body((enum mailsec_dkim_canon)c, simd, p, n, chunk,
		    UINT64_MAX, d2, &t2);
		CHECK(memcmp(d1, d2, 32) == 0 && t1 == t2);
		{
			char *ref = malloc(2 * n + 2);
			unsigned char dr[32];
			unsigned dl;
			size_t rn;

			CHECK(ref != NULL);
			rn = canon_ref_body((enum mailsec_dkim_canon)c, p, n,
			    ref);
			CHECK(EVP_Digest(ref, rn, dr, &dl, EVP_sha256(), NULL)
			    == 1);
			CHECK(rn == t1 && memcmp(dr, d1, 32) == 0);
			free(ref);
		}
		CHECK(c == 0 ? t1 >= 2 : 1);
		body((enum mailsec_dkim_canon)c, simd, p, n, chunk, data[0],
		    d2, &t2);
		CHECK(t1 == t2);
		ms_buf_init(&hb, 1 << 20);
		if (ms_dkim_canon_header((enum mailsec_dkim_canon)c, p, n,
		    &hb) == MAILSEC_OK) {
			CHECK(hb.len >= 2 && hb.ptr[hb.len - 1] == '\n');
			ms_buf_free(&hb);
		}
	}
	if (mailsec_msg_parse(p, n, NULL, 0, &m, NULL) != MAILSEC_OK)
		return 0;
	sign_both(m, chunk);
	if (mailsec_resolver_new_zone_mem(zone, sizeof zone - 1, NULL, &r,
	    NULL) == MAILSEC_OK) {
		struct mailsec_dkim_verify_opts vo = { 0 };

		vo.keep_trace = true;
		vo.now = 1700000000;
		if (mailsec_dkim_verify_msg(r, &vo, m, &ctx) == MAILSEC_OK) {
			size_t i;

			for (i = 0; i < mailsec_dkim_verify_count(ctx); i++) {
				const struct mailsec_dkim_sig_info *s =
				    mailsec_dkim_verify_sig(ctx, i);

				CHECK(s->result != MAILSEC_DKIM_NONE);
				CHECK(s->reason_text[0] != '\0');
			}
			mailsec_dkim_verify_free(ctx);
		}
		mailsec_resolver_free(r);
	}
	mailsec_msg_free(m);
	return 0;
}
