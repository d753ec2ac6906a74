/*
 * tests/unit/spf/test_spf.c - SPF record syntax (RFC 7208 4.6, 12) and
 * check_host() over the zone backend: mechanisms, include/redirect,
 * limits (4.6.4), identities, exp=, the asynchronous interface (several
 * evaluations on one resolver, an mx's address lookups in one batch),
 * Received-SPF and Authentication-Results.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "spf/spf_int.h"
#include "../../common/zone_fixture.h"

/* ---- record syntax ----------------------------------------------------- */

static void
test_record_valid(void **state)
{
	static const char *const ok[] = {
		"v=spf1",
		"v=spf1 ",
		"V=SPF1 -ALL",
		"v=spf1 +all",
		"v=spf1 a mx ptr -all",
		"v=spf1 a/24 mx//64 a:example.com/24//64 mx:%{d}/0 ?all",
		"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ip6:::1 ~all",
		"v=spf1 include:_spf.example.net exists:%{i}.x.example.org",
		"v=spf1 redirect=_spf.example.org",
		"v=spf1 -all exp=explain.%{d}",
		"v=spf1 foo=bar%{l} moo.cow-far_out=man:dog/cat",
		"v=spf1  a   -all  ",
		"v=spf1 a:foo:bar/baz.example.com",
		"v=spf1 a:example.com.",
	};
	struct ms_spf_record *rec;
	size_t i;

	(void)state;
	for (i = 0; i < MS_ARRAY_LEN(ok); i++) {
		struct mailsec_diag diag = { 0 };

		if (ms_spf_record_parse(ok[i], strlen(ok[i]), &rec, &diag) !=
		    MAILSEC_OK)
			fail_msg("'%s' refused: %s", ok[i], diag.text);
		ms_spf_record_free(rec);
	}
	assert_int_equal(ms_spf_record_parse(ok[5], strlen(ok[5]), &rec,
	    NULL), MAILSEC_OK);
	assert_int_equal(rec->nterms, 5);
	assert_int_equal(rec->terms[0].cidr4, 24);
	assert_int_equal(rec->terms[0].cidr6, 128);
	assert_int_equal(rec->terms[1].cidr4, 32);
	assert_int_equal(rec->terms[1].cidr6, 64);
	assert_int_equal(rec->terms[2].cidr4, 24);
	assert_int_equal(rec->terms[2].cidr6, 64);
	assert_int_equal(rec->terms[2].spec.len, strlen("example.com"));
	assert_int_equal(rec->terms[4].qual, '?');
	ms_spf_record_free(rec);
}

static void
test_record_invalid(void **state)
{
	static const char *const bad[] = {
		"v=spf10",
		"v=spf1 -all redirect=a.example redirect=b.example",
		"v=spf1 exp=a.example exp=b.example",
		"v=spf1 a:",
		"v=spf1 a/33",
		"v=spf1 a//129",
		"v=spf1 a/024",
		"v=spf1 ip4:192.0.2.256",
		"v=spf1 ip4:192.0.2.1/33",
		"v=spf1 ip4:192.00.2.1",
		"v=spf1 ip6:2001:db8::/129",
		"v=spf1 ip6:192.0.2.1",
		"v=spf1 include",
		"v=spf1 exists",
		"v=spf1 allx",
		"v=spf1 all:foo",
		"v=spf1 !a",
		"v=spf1 a:example.123",
		"v=spf1 a:%{x}.example.com",
		"v=spf1 1foo=bar",
		"v=spf1 =bar",
		"v=spf1 exp=",
		"v=spf1 a\tmx",
		"v=spf1 a:\xc3\xa9.example.com",
		"v=spf1 -all foo=%",
		"v=spf1 ptr:",
		"v=spf1 +redirect=x.example.com",
	};
	struct ms_spf_record *rec;
	size_t i;

	(void)state;
	for (i = 0; i < MS_ARRAY_LEN(bad); i++) {
		struct mailsec_diag diag = { 0 };
		mailsec_err err = ms_spf_record_parse(bad[i], strlen(bad[i]),
		    &rec, &diag);

		if (err == MAILSEC_OK)
			fail_msg("'%s' accepted", bad[i]);
		assert_null(rec);
		assert_true(diag.set);
	}
}

static void
test_record_limits(void **state)
{
	char *big;
	size_t n = MAILSEC_SPF_RECORD_MAX + 1;
	struct mailsec_diag diag = { 0 };

	(void)state;
	big = malloc(n);
	assert_non_null(big);
	memcpy(big, "v=spf1", 6);
	memset(big + 6, ' ', n - 6);
	assert_int_equal(mailsec_spf_record_check(big, n, &diag),
	    MAILSEC_ELIMIT);
	assert_int_equal(mailsec_spf_record_check(big, n - 1, NULL),
	    MAILSEC_OK);
	/* many terms: still parsed (the 10-lookup limit is evaluation's) */
	for (size_t i = 6; i + 2 <= n - 1; i += 2)
		memcpy(big + i, " a", 2);
	assert_int_equal(mailsec_spf_record_check(big, n - 1, NULL),
	    MAILSEC_OK);
	free(big);
}

/* ---- evaluation -------------------------------------------------------- */

static const char zone[] =
    "$ORIGIN example.org.\n"
    "@         TXT \"v=spf1 ip4:192.0.2.0/24 include:_spf.example.net "
    "mx a:web.example.org -all\"\n"
    "@         MX 10 mx1\n"
    "@         MX 20 mx2\n"
    "@         MX 30 mx3\n"
    "mx1       A 198.51.100.101\n"
    "mx2       A 198.51.100.102\n"
    "mx3       A 198.51.100.103\n"
    "mx3       AAAA 2001:db8::3\n"
    "web       A 203.0.113.80\n"
    "soft      TXT \"v=spf1 ~all\"\n"
    "neutral   TXT \"v=spf1 ip4:10.0.0.1\"\n"
    "two       TXT \"v=spf1 -all\"\n"
    "two       TXT \"v=spf1 +all\"\n"
    "notspf    TXT \"hello\"\n"
    "redir     TXT \"v=spf1 redirect=example.org\"\n"
    "redirnone TXT \"v=spf1 redirect=nothing.example.org\"\n"
    "incnone   TXT \"v=spf1 include:nothing.example.org -all\"\n"
    "exp       TXT \"v=spf1 -all exp=why.example.org\"\n"
    "why       TXT \"%{i} is not one of %{d}'s servers\"\n"
    "voids     TXT \"v=spf1 a:n1.example.org a:n2.example.org "
    "a:n3.example.org -all\"\n"
    "twovoids  TXT \"v=spf1 a:n1.example.org a:n2.example.org -all\"\n"
    "many      TXT \"v=spf1 a a a a a a a a a a a -all\"\n"
    "ten       TXT \"v=spf1 a a a a a a a a a a -all\"\n"
    "many      A 192.0.2.99\n"
    "ten       A 192.0.2.99\n"
    "slow      TXT \"v=spf1 a:t.example.org -all\"\n"
    "$TIMEOUT  t.example.org.\n"
    "mxmany    TXT \"v=spf1 mx -all\"\n"
    "mxmany    MX 1 a1\n" "mxmany MX 2 a2\n" "mxmany MX 3 a3\n"
    "mxmany    MX 4 a4\n" "mxmany MX 5 a5\n" "mxmany MX 6 a6\n"
    "mxmany    MX 7 a7\n" "mxmany MX 8 a8\n" "mxmany MX 9 a9\n"
    "mxmany    MX 10 a10\n" "mxmany MX 11 a11\n"
    "ptrd      TXT \"v=spf1 ptr -all\"\n"
    "host      A 192.0.2.200\n"
    "200.2.0.192.in-addr.arpa. PTR host.ptrd.example.org.\n"
    "host.ptrd A 192.0.2.200\n"
    "v6        TXT \"v=spf1 ip6:2001:db8:1::/48 mx -all\"\n"
    "v6        MX 0 mx3\n"
    "helo      TXT \"v=spf1 a -all\"\n"
    "helo      A 192.0.2.7\n"
    "pmac      TXT \"v=spf1 exists:%{p}.ok.example.org -all\"\n"
    "host.ptrd.example.org.ok A 127.0.0.2\n"
    "$ORIGIN example.net.\n"
    "_spf      TXT \"v=spf1 ip4:198.51.100.0/28 ?all\"\n";

static struct mailsec_resolver *
resolver(void)
{
	return zone_fixture(zone, sizeof zone - 1);
}

static struct mailsec_spf_outcome *
check(struct mailsec_resolver *r, const char *ip, const char *from,
    const char *helo)
{
	struct mailsec_spf_request req = { 0 };
	struct mailsec_spf_outcome *o = NULL;
	struct mailsec_diag diag = { 0 };

	req.ip = ip;
	req.mail_from = from;
	req.helo = helo;
	req.receiver = "mx.receiver.example";
	req.now = 1700000000;
	if (mailsec_spf_check(r, &req, true, &o, &diag) != MAILSEC_OK)
		fail_msg("check: %s", diag.text);
	return o;
}

struct evcase {
	const char *ip, *from, *helo;
	enum mailsec_spf_result want;
	const char *mech;		/* NULL: none expected */
	unsigned lookups;
};

static void
test_results(void **state)
{
	static const struct evcase t[] = {
		{ "192.0.2.10", "a@example.org", "h.example", MAILSEC_SPF_PASS,
		  "ip4:192.0.2.0/24", 0 },
		{ "198.51.100.5", "a@example.org", NULL, MAILSEC_SPF_PASS,
		  "include:_spf.example.net", 1 },
		{ "198.51.100.102", "a@example.org", NULL, MAILSEC_SPF_PASS,
		  "mx", 2 },
		{ "203.0.113.80", "a@example.org", NULL, MAILSEC_SPF_PASS,
		  "a:web.example.org", 3 },
		{ "203.0.113.81", "a@example.org", NULL, MAILSEC_SPF_FAIL,
		  "-all", 3 },
		{ "::ffff:192.0.2.10", "a@EXAMPLE.ORG.", NULL,
		  MAILSEC_SPF_PASS, "ip4:192.0.2.0/24", 0 },
		{ "192.0.2.1", "a@soft.example.org", NULL, MAILSEC_SPF_SOFTFAIL,
		  "~all", 0 },
		{ "192.0.2.1", "a@neutral.example.org", NULL,
		  MAILSEC_SPF_NEUTRAL, NULL, 0 },
		{ "192.0.2.1", "a@two.example.org", NULL, MAILSEC_SPF_PERMERROR,
		  NULL, 0 },
		{ "192.0.2.1", "a@notspf.example.org", NULL, MAILSEC_SPF_NONE,
		  NULL, 0 },
		{ "192.0.2.1", "a@nothing.example.org", NULL, MAILSEC_SPF_NONE,
		  NULL, 0 },
		{ "192.0.2.1", "a@single", NULL, MAILSEC_SPF_NONE, NULL, 0 },
		{ "192.0.2.1", "a@[192.0.2.1]", NULL, MAILSEC_SPF_NONE, NULL,
		  0 },
		{ "192.0.2.10", "a@redir.example.org", NULL, MAILSEC_SPF_PASS,
		  "ip4:192.0.2.0/24", 1 },
		{ "192.0.2.1", "a@redirnone.example.org", NULL,
		  MAILSEC_SPF_PERMERROR, NULL, 1 },
		{ "192.0.2.1", "a@incnone.example.org", NULL,
		  MAILSEC_SPF_PERMERROR, NULL, 1 },
		{ "192.0.2.1", "a@voids.example.org", NULL,
		  MAILSEC_SPF_PERMERROR, NULL, 3 },
		{ "192.0.2.1", "a@twovoids.example.org", NULL,
		  MAILSEC_SPF_FAIL, "-all", 2 },
		{ "192.0.2.1", "a@many.example.org", NULL,
		  MAILSEC_SPF_PERMERROR, NULL, 10 },
		{ "192.0.2.99", "a@many.example.org", NULL, MAILSEC_SPF_PASS,
		  "a", 1 },
		{ "192.0.2.1", "a@ten.example.org", NULL, MAILSEC_SPF_FAIL,
		  "-all", 10 },
		{ "192.0.2.1", "a@slow.example.org", NULL,
		  MAILSEC_SPF_TEMPERROR, NULL, 1 },
		{ "192.0.2.1", "a@mxmany.example.org", NULL,
		  MAILSEC_SPF_PERMERROR, NULL, 1 },
		{ "192.0.2.200", "a@ptrd.example.org", NULL, MAILSEC_SPF_PASS,
		  "ptr", 1 },
		{ "192.0.2.201", "a@ptrd.example.org", NULL, MAILSEC_SPF_FAIL,
		  "-all", 1 },
		{ "2001:db8:1::5", "a@v6.example.org", NULL, MAILSEC_SPF_PASS,
		  "ip6:2001:db8:1::/48", 0 },
		{ "2001:db8::3", "a@v6.example.org", NULL, MAILSEC_SPF_PASS,
		  "mx", 1 },
		{ "198.51.100.103", "a@v6.example.org", NULL, MAILSEC_SPF_PASS,
		  "mx", 1 },
		/* null sender: postmaster@HELO (RFC 7208 2.4) */
		{ "192.0.2.7", "", "helo.example.org", MAILSEC_SPF_PASS, "a",
		  1 },
		{ "192.0.2.8", NULL, "helo.example.org", MAILSEC_SPF_FAIL,
		  "-all", 1 },
		{ "192.0.2.200", "x@pmac.example.org", NULL, MAILSEC_SPF_PASS,
		  "exists:%{p}.ok.example.org", 1 },
	};
	struct mailsec_resolver *r = resolver();
	size_t i;

	(void)state;
	for (i = 0; i < MS_ARRAY_LEN(t); i++) {
		struct mailsec_spf_outcome *o = check(r, t[i].ip, t[i].from,
		    t[i].helo);

		if (o->result != t[i].want)
			fail_msg("case %zu (%s, %s): %s, want %s (%s)", i,
			    t[i].ip, t[i].from, mailsec_spf_result_name(
			    o->result), mailsec_spf_result_name(t[i].want),
			    o->problem ? o->problem : "");
		if (t[i].mech == NULL)
			assert_null(o->mechanism);
		else
			assert_string_equal(o->mechanism, t[i].mech);
		if (o->lookups != t[i].lookups)
			fail_msg("case %zu: %u lookups, want %u", i,
			    o->lookups, t[i].lookups);
		if (o->result == MAILSEC_SPF_PERMERROR ||
		    o->result == MAILSEC_SPF_TEMPERROR)
			assert_non_null(o->problem);
		assert_true(o->ntrace > 0);
		mailsec_spf_outcome_free(o);
	}
	mailsec_resolver_free(r);
}

static void
test_explanation(void **state)
{
	struct mailsec_resolver *r = resolver();
	struct mailsec_spf_outcome *o;

	(void)state;
	o = check(r, "192.0.2.5", "joe@exp.example.org", NULL);
	assert_int_equal(o->result, MAILSEC_SPF_FAIL);
	assert_false(o->explanation_default);
	assert_string_equal(o->explanation,
	    "192.0.2.5 is not one of exp.example.org's servers");
	/* exp= lookups do not count (RFC 7208 4.6.4) */
	assert_int_equal(o->lookups, 0);
	mailsec_spf_outcome_free(o);
	o = check(r, "192.0.2.5", "joe@soft.example.org", NULL);
	assert_null(o->explanation);
	mailsec_spf_outcome_free(o);
	o = check(r, "203.0.113.81", "a@example.org", NULL);
	assert_true(o->explanation_default);
	assert_non_null(o->explanation);
	mailsec_spf_outcome_free(o);
	mailsec_resolver_free(r);
}

static void
test_headers(void **state)
{
	struct mailsec_spf_request req = { 0 };
	struct mailsec_resolver *r = resolver();
	struct mailsec_spf_outcome *o = NULL;
	char *h;

	(void)state;
	req.ip = "192.0.2.10";
	req.mail_from = "a\"b@example.org";
	req.helo = "mail.example.org";
	req.receiver = "mx.receiver.example";
	assert_int_equal(mailsec_spf_check(r, &req, false, &o, NULL),
	    MAILSEC_OK);
	assert_int_equal(mailsec_spf_received_spf(o, &req, &h), MAILSEC_OK);
	assert_string_equal(h, "pass (mx.receiver.example: domain of "
	    "example.org designates 192.0.2.10 as permitted sender) "
	    "client-ip=192.0.2.10; envelope-from=\"a\\\"b@example.org\"; "
	    "helo=mail.example.org; receiver=mx.receiver.example; "
	    "mechanism=\"ip4:192.0.2.0/24\"; identity=mailfrom");
	free(h);
	assert_int_equal(mailsec_spf_authres(o, &h), MAILSEC_OK);
	assert_string_equal(h, "spf=pass smtp.mailfrom=\"a\\\"b@example.org\"");
	free(h);
	mailsec_spf_outcome_free(o);

	req.mail_from = "";
	req.helo = "helo.example.org";
	req.ip = "192.0.2.99";
	assert_int_equal(mailsec_spf_check(r, &req, false, &o, NULL),
	    MAILSEC_OK);
	assert_int_equal(o->result, MAILSEC_SPF_FAIL);
	assert_int_equal(mailsec_spf_authres(o, &h), MAILSEC_OK);
	assert_string_equal(h, "spf=fail smtp.helo=helo.example.org");
	free(h);
	assert_int_equal(mailsec_spf_received_spf(o, &req, &h), MAILSEC_OK);
	assert_non_null(strstr(h, "identity=helo"));
	assert_null(strstr(h, "envelope-from"));
	free(h);
	mailsec_spf_outcome_free(o);

	req.mail_from = "x@two.example.org";
	req.helo = "bad\r\nInjected: yes";
	assert_int_equal(mailsec_spf_check(r, &req, false, &o, NULL),
	    MAILSEC_OK);
	assert_int_equal(mailsec_spf_received_spf(o, &req, &h), MAILSEC_OK);
	assert_null(strchr(h, '\r'));
	assert_null(strchr(h, '\n'));
	assert_non_null(strstr(h, "problem="));
	free(h);
	mailsec_spf_outcome_free(o);
	mailsec_resolver_free(r);
}

/* ---- the asynchronous interface ---------------------------------------- */

static void
on_done(void *arg, struct mailsec_spf *spf)
{
	int *n = arg;

	assert_true(mailsec_spf_done(spf));
	(*n)++;
}

static void
test_async_many(void **state)
{
	struct mailsec_resolver *r = resolver();
	struct mailsec_spf_request req = { 0 };
	struct mailsec_spf *s[20];
	int done = 0, i;

	(void)state;
	req.mail_from = "a@example.org";
	for (i = 0; i < 20; i++) {
		req.ip = i % 2 ? "198.51.100.103" : "203.0.113.9";
		assert_int_equal(mailsec_spf_new(r, &req, &s[i], NULL),
		    MAILSEC_OK);
		assert_int_equal(mailsec_spf_start(s[i], on_done, &done),
		    MAILSEC_OK);
		assert_int_equal(mailsec_spf_start(s[i], on_done, &done),
		    MAILSEC_ESTATE);
	}
	assert_int_equal(done, 0);
	/* 20 TXT queries in flight at once */
	assert_int_equal(mailsec_resolver_pending(r), 20);
	while (mailsec_resolver_pending(r) > 0)
		assert_int_equal(mailsec_resolver_process(r), MAILSEC_OK);
	assert_int_equal(done, 20);
	for (i = 0; i < 20; i++) {
		const struct mailsec_spf_outcome *o = mailsec_spf_outcome(s[i]);

		assert_int_equal(o->result, i % 2 ? MAILSEC_SPF_PASS :
		    MAILSEC_SPF_FAIL);
		mailsec_spf_free(s[i]);
	}
	mailsec_resolver_free(r);
}

/* An mx mechanism's address lookups go out as one batch. */
static void
test_mx_parallel(void **state)
{
	struct mailsec_resolver *r = resolver();
	struct mailsec_spf_request req = { 0 };
	struct mailsec_spf *s;
	size_t maxpending = 0;
	int done = 0;

	(void)state;
	req.ip = "198.51.100.103";
	req.mail_from = "a@example.org";
	assert_int_equal(mailsec_spf_new(r, &req, &s, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_spf_start(s, on_done, &done), MAILSEC_OK);
	while (mailsec_resolver_pending(r) > 0) {
		if (mailsec_resolver_pending(r) > maxpending)
			maxpending = mailsec_resolver_pending(r);
		assert_int_equal(mailsec_resolver_process(r), MAILSEC_OK);
	}
	assert_int_equal(done, 1);
	assert_int_equal(maxpending, 3);	/* mx1, mx2, mx3 at once */
	assert_int_equal(mailsec_spf_outcome(s)->result, MAILSEC_SPF_PASS);
	/* TXT, TXT (include), MX, 3 x A */
	assert_int_equal(mailsec_spf_outcome(s)->queries, 6);
	mailsec_spf_free(s);
	mailsec_resolver_free(r);
}

/* Freeing an evaluation with queries in flight cancels them. */
static void
test_free_pending(void **state)
{
	struct mailsec_resolver *r = resolver();
	struct mailsec_spf_request req = { 0 };
	struct mailsec_spf *s;
	int done = 0;

	(void)state;
	req.ip = "192.0.2.1";
	req.mail_from = "a@example.org";
	assert_int_equal(mailsec_spf_new(r, &req, &s, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_spf_start(s, on_done, &done), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_pending(r), 1);
	mailsec_spf_free(s);
	assert_int_equal(mailsec_resolver_pending(r), 0);
	assert_int_equal(mailsec_resolver_process(r), MAILSEC_OK);
	assert_int_equal(done, 0);
	mailsec_resolver_free(r);
}

/* The trace keeps a bounded number of events and says how many it
 * dropped: 4 includes of 540 ip4 terms each. */
static void
test_trace_bound(void **state)
{
	struct mailsec_spf_request req = { 0 };
	struct mailsec_spf_outcome *o = NULL;
	struct mailsec_resolver *r = NULL;
	struct ms_buf z;
	int i, k;

	(void)state;
	ms_buf_init(&z, 1 << 20);
	assert_int_equal(ms_buf_appendz(&z, "big.test. TXT \"v=spf1 "
	    "include:i1.test include:i2.test include:i3.test "
	    "include:i4.test -all\"\n"), MAILSEC_OK);
	for (i = 1; i <= 4; i++) {
		assert_int_equal(ms_buf_printf(&z, "i%d.test. TXT \"v=spf1\"",
		    i), MAILSEC_OK);
		for (k = 0; k < 540; k++)
			assert_int_equal(ms_buf_printf(&z,
			    " \" ip4:10.0.%d.%d\"", k / 250, k % 250),
			    MAILSEC_OK);
		assert_int_equal(ms_buf_appendz(&z, " \" ?all\"\n"),
		    MAILSEC_OK);
	}
	assert_int_equal(mailsec_resolver_new_zone_mem(z.ptr, z.len, NULL, &r,
	    NULL), MAILSEC_OK);
	ms_buf_free(&z);
	req.ip = "192.0.2.1";
	req.mail_from = "a@big.test";
	assert_int_equal(mailsec_spf_check(r, &req, true, &o, NULL),
	    MAILSEC_OK);
	assert_int_equal(o->result, MAILSEC_SPF_FAIL);
	assert_int_equal(o->lookups, 4);
	assert_int_equal(o->ntrace, 2000);
	assert_non_null(strstr(o->trace[1999].text, "more trace events"));
	mailsec_spf_outcome_free(o);
	mailsec_resolver_free(r);
}

static void
test_bad_request(void **state)
{
	struct mailsec_resolver *r = resolver();
	struct mailsec_spf_request req = { 0 };
	struct mailsec_spf *s = NULL;
	struct mailsec_diag diag = { 0 };

	(void)state;
	req.ip = "192.0.2.300";
	assert_int_equal(mailsec_spf_new(r, &req, &s, &diag), MAILSEC_EINVAL);
	assert_null(s);
	assert_true(diag.set);
	req.ip = NULL;
	assert_int_equal(mailsec_spf_new(r, &req, &s, NULL), MAILSEC_EINVAL);
	assert_string_equal(mailsec_spf_result_name(MAILSEC_SPF_SOFTFAIL),
	    "softfail");
	mailsec_resolver_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_valid),
		cmocka_unit_test(test_record_invalid),
		cmocka_unit_test(test_record_limits),
		cmocka_unit_test(test_results),
		cmocka_unit_test(test_explanation),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_async_many),
		cmocka_unit_test(test_mx_parallel),
		cmocka_unit_test(test_free_pending),
		cmocka_unit_test(test_trace_bound),
		cmocka_unit_test(test_bad_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
