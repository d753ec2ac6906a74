/*
 * Unit tests for mailsec_dkim_authres_add(): the dkim= results of a
 * verification as an Authentication-Results model (RFC 8601 2.7.1,
 * header.b from RFC 6008). Keys are absent from the zone, so every
 * signature ends in a non-pass result that carries a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailsec/authres.h>
#include <mailsec/dkim.h>
#include <mailsec/dns.h>
#include <mailsec/msg.h>

#define ZONE "other.example. IN TXT \"unrelated\"\n"

#define SIG1 "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=sel;\r\n" \
	" h=from:to; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n" \
	" b=ABCDEFGH\r\n IJKLMNOP\r\n"
/* no d=: the signature does not parse, so header.d and header.b are
 * left out */
#define SIG2 "DKIM-Signature: v=1; a=ed25519-sha256; s=k2;\r\n" \
	" h=from; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n" \
	" b=ZZZZ\r\n"
#define BODY "From: a@example.org\r\nTo: b@example.net\r\n" \
	"Subject: hi\r\n\r\nbody\r\n"

struct run {
	struct mailsec_resolver *r;
	struct mailsec_msg *m;
	struct mailsec_dkim_verify *ctx;
	struct mailsec_authres *ar;
};

static void
run_open(struct run *x, const char *text)
{
	memset(x, 0, sizeof *x);
	assert_int_equal(mailsec_resolver_new_zone_mem(ZONE, strlen(ZONE),
	    NULL, &x->r, NULL), MAILSEC_OK);
	mailsec_resolver_set_timeout(x->r, 50);
	assert_int_equal(mailsec_msg_parse(text, strlen(text), NULL, 0,
	    &x->m, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_dkim_verify_msg(x->r, NULL, x->m, &x->ctx),
	    MAILSEC_OK);
	assert_int_equal(mailsec_authres_new("mx.example.net", &x->ar),
	    MAILSEC_OK);
}

static void
run_close(struct run *x)
{
	mailsec_authres_free(x->ar);
	mailsec_dkim_verify_free(x->ctx);
	mailsec_msg_free(x->m);
	mailsec_resolver_free(x->r);
}

/* The value of ptype.property in result r, or NULL. */
static const char *
prop(const struct mailsec_authres_result *r, const char *ptype,
    const char *property)
{
	size_t i;

	for (i = 0; i < r->nprops; i++)
		if (strcmp(r->props[i].ptype, ptype) == 0 &&
		    strcmp(r->props[i].property, property) == 0)
			return r->props[i].value;
	return NULL;
}

static void
test_none(void **state)
{
	struct run x;

	(void)state;
	run_open(&x, BODY);
	assert_int_equal(mailsec_dkim_authres_add(x.ar, x.ctx), MAILSEC_OK);
	assert_int_equal(x.ar->nresults, 1);
	assert_string_equal(x.ar->results[0].method, "dkim");
	assert_string_equal(x.ar->results[0].result, "none");
	assert_string_equal(x.ar->results[0].comment, "no signatures");
	assert_null(x.ar->results[0].reason);
	assert_int_equal(x.ar->results[0].nprops, 0);
	run_close(&x);
}

static void
test_signatures(void **state)
{
	const struct mailsec_authres_result *r;
	const struct mailsec_dkim_sig_info *s;
	struct run x;

	(void)state;
	run_open(&x, SIG1 SIG2 BODY);
	assert_int_equal(mailsec_dkim_verify_count(x.ctx), 2);
	assert_int_equal(mailsec_dkim_authres_add(x.ar, x.ctx), MAILSEC_OK);
	assert_int_equal(x.ar->nresults, 2);

	/* header order; the result words and reasons are the verifier's */
	r = &x.ar->results[0];
	s = mailsec_dkim_verify_sig(x.ctx, 0);
	assert_int_not_equal(s->result, MAILSEC_DKIM_PASS);
	assert_string_equal(r->method, "dkim");
	assert_string_equal(r->result, mailsec_dkim_result_name(s->result));
	assert_non_null(r->reason);
	assert_string_equal(r->reason, s->reason_text);
	assert_string_equal(prop(r, "header", "d"), "example.org");
	assert_string_equal(prop(r, "header", "s"), "sel");
	/* b= without its folding */
	assert_string_equal(prop(r, "header", "b"), "ABCDEFGHIJKLMNOP");
	assert_string_equal(prop(r, "header", "a"), "rsa-sha256");
	assert_int_equal(r->nprops, 4);
	assert_string_equal(r->props[0].property, "d");
	assert_string_equal(r->props[1].property, "s");
	assert_string_equal(r->props[2].property, "b");
	assert_string_equal(r->props[3].property, "a");

	r = &x.ar->results[1];
	s = mailsec_dkim_verify_sig(x.ctx, 1);
	assert_string_equal(r->result, mailsec_dkim_result_name(s->result));
	assert_string_equal(r->result, "permerror");
	assert_non_null(r->reason);
	assert_null(prop(r, "header", "d"));
	assert_null(r->comment);
	run_close(&x);
}

static void
test_generated(void **state)
{
	struct mailsec_authres_gen gen = MAILSEC_AUTHRES_GEN_DEFAULTS;
	struct run x;
	char *text = NULL;

	(void)state;
	run_open(&x, SIG1 BODY);
	assert_int_equal(mailsec_dkim_authres_add(x.ar, x.ctx), MAILSEC_OK);
	gen.flags |= MAILSEC_AUTHRES_GEN_ONELINE;
	assert_int_equal(mailsec_authres_generate(x.ar, &gen, &text, NULL,
	    NULL), MAILSEC_OK);
	assert_non_null(strstr(text, "header.d=example.org"));
	assert_non_null(strstr(text, "header.s=sel"));
	assert_non_null(strstr(text, "header.b=ABCDEFGH"));
	assert_non_null(strstr(text, "header.a=rsa-sha256"));
	free(text);
	run_close(&x);
}

static void
test_einval(void **state)
{
	struct run x;

	(void)state;
	run_open(&x, BODY);
	assert_int_equal(mailsec_dkim_authres_add(NULL, x.ctx),
	    MAILSEC_EINVAL);
	assert_int_equal(mailsec_dkim_authres_add(x.ar, NULL),
	    MAILSEC_EINVAL);
	assert_int_equal(x.ar->nresults, 0);
	run_close(&x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_generated),
		cmocka_unit_test(test_einval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
