/*
 * fuzz/fuzz_spf_macro.c - libFuzzer target for SPF macro strings
 * (lib/spf/macro.c, RFC 7208 7): syntax check and bounded expansion with
 * fuzzed values, the class of the libspf2 expansion overflows
 * (CVE-2021-20314, CVE-2021-33912, CVE-2021-33913).
 *
 * Input: one flags byte (bit 0: explanation rules; bits 1-7 choose the
 * output bound), then NUL-separated: macro string, local-part, domain.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spf/spf_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static const char *
piece(const char **p, const char *end, char *buf, size_t bufsz)
{
	const char *nul = memchr(*p, '\0', (size_t)(end - *p));
	size_t n = nul ? (size_t)(nul - *p) : (size_t)(end - *p);

	if (n >= bufsz)
		n = bufsz - 1;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p = nul ? nul + 1 : end;
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_spf_macro_ctx c = { 0 };
	struct mailsec_diag diag = { 0 };
	const char *p, *end, *macro;
	char local[300], dom[300], sender[620];
	size_t mlen, max;
	struct ms_buf b;
	mailsec_err err, chk;
	bool exp;

	if (size < 1)
		return 0;
	exp = data[0] & 1;
	max = (size_t)(data[0] >> 1) * 8;	/* 0 .. 1016 */
	p = (const char *)data + 1;
	end = (const char *)data + size;
	macro = p;
	{
		const char *nul = memchr(p, '\0', (size_t)(end - p));

		mlen = nul ? (size_t)(nul - p) : (size_t)(end - p);
		p = nul ? nul + 1 : end;
	}
	c.l = piece(&p, end, local, sizeof local);
	c.d = piece(&p, end, dom, sizeof dom);
	memcpy(sender, local, strlen(local));
	sender[strlen(local)] = '@';
	memcpy(sender + strlen(local) + 1, dom, strlen(dom) + 1);
	c.s = sender;
	c.o = dom;
	c.i = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0."
	    "1.0.0.2";
	c.v = "ip6";
	c.h = dom;
	c.c = "2001:db8::1";
	c.r = local;
	c.t = "1700000000";

	chk = ms_spf_macro_check(macro, mlen, exp, &diag);
	CHECK(chk == MAILSEC_OK || (chk == MAILSEC_ESYNTAX && diag.set &&
	    diag.offset <= mlen));
	ms_buf_init(&b, max);
	err = ms_spf_macro_expand(&c, macro, mlen, exp, &b, NULL);
	if (chk != MAILSEC_OK) {
		/* expansion stops at the first problem: the bound may come
		 * before the syntax error */
		CHECK(err == MAILSEC_ESYNTAX || err == MAILSEC_ELIMIT);
	} else if (err == MAILSEC_OK) {
		CHECK(b.len <= max);
		CHECK(b.ptr == NULL || strlen(b.ptr) <= b.len);
	} else {
		CHECK(err == MAILSEC_ELIMIT || err == MAILSEC_ENOMEM);
	}
	if (err == MAILSEC_OK && b.ptr != NULL) {
		const char *t = ms_spf_domain_truncate(b.ptr);

		CHECK(t >= b.ptr && t <= b.ptr + b.len);
	}
	ms_buf_free(&b);
	(void)ms_spf_macro_uses_p(macro, mlen);
	return 0;
}
