/*
 * tests/unit/daemon_tlspolicy/test_tlsrpt_mail.c - the way out of a
 * TLS-RPT report (daemon/tlsrpt_mail.c): RFC 8460 5.3 file names and
 * Report-IDs, mailto: rua addresses, and the report mail, made here
 * from a real report (tlsp_reports_run() over recorded results) and
 * written to TLSRPT_MAIL_OUT for check_tlsrpt_mail.py, which reads it
 * with Python's email, gzip and json.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <mailsec/dns.h>

#include "tlspolicy.h"
#include "tlsp_test.h"
#include "tlsrpt_mail.h"

/* ---- names -------------------------------------------------------------- */

static void
test_filename_roundtrip(void **state)
{
	static const unsigned char rnd[TLSRPT_UNIQUE_BYTES] = { 0x01, 0x23,
	    0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	char f[TLSRPT_FNAME_MAX], id[TLSRPT_ID_MAX];
	char snd[TLSRPT_NAME_MAX + 1], dom[TLSRPT_NAME_MAX + 1];
	int64_t begin = 0;

	(void)state;
	assert_int_equal(tlsrpt_filename("sender.test", "rpt.test",
	    DAY0 / 86400, rnd, f, sizeof f), MAILSEC_OK);
	assert_string_equal(f, "sender.test!rpt.test!1709251200!1709337599!"
	    "0123456789abcdef.json.gz");
	assert_int_equal(tlsrpt_filename_parse(f, id, sizeof id, snd, dom,
	    &begin), MAILSEC_OK);
	assert_string_equal(id, "rpt.test!1709251200!1709337599!"
	    "0123456789abcdef@sender.test");
	assert_string_equal(snd, "sender.test");
	assert_string_equal(dom, "rpt.test");
	assert_int_equal(begin, DAY0);
	/* not host names */
	assert_int_equal(tlsrpt_filename("send er.test", "rpt.test", 1, rnd, f,
	    sizeof f), MAILSEC_EINVAL);
	assert_int_equal(tlsrpt_filename("sender.test", "rpt.test\r\nX: y", 1,
	    rnd, f, sizeof f), MAILSEC_EINVAL);
	assert_int_equal(tlsrpt_filename("sender.test", "a!b", 1, rnd, f,
	    sizeof f), MAILSEC_EINVAL);
	/* too small a buffer: an error, never a cut name */
	assert_int_equal(tlsrpt_filename("sender.test", "rpt.test", 1, rnd, f,
	    20), MAILSEC_ELIMIT);
	assert_string_equal(f, "");
}

static void
test_filename_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		".json.gz",
		"s.test!d.test!1!2!abc.json",
		"s.test!d.test!1!2.json.gz",
		"s.test!d.test!1!2!abc!x.json.gz",
		"s.test!d.test!x!2!abc.json.gz",
		"s.test!d.test!!2!abc.json.gz",
		"s.test!d.test!1!2!.json.gz",
		"s.test!d.test!1!2!a-c.json.gz",
		"s test!d.test!1!2!abc.json.gz",
		"s.test!d.test\r\n!1!2!abc.json.gz",
		"s.test!!1!2!abc.json.gz",
		"s.test!d.test!1234567890123456789!2!abc.json.gz",
	};
	char id[TLSRPT_ID_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (tlsrpt_filename_parse(bad[i], id, sizeof id, NULL, NULL,
		    NULL) != MAILSEC_ESYNTAX)
			fail_msg("taken: \"%s\"", bad[i]);
}

static void
test_mailto_addr(void **state)
{
	static const struct {
		const char *rua;
		const char *want;	/* NULL: refused */
	} t[] = {
		{ "mailto:tls@a.test", "tls@a.test" },
		{ "MAILTO:tls@a.test", "tls@a.test" },
		{ "mailto:tls@a.test?subject=hi", "tls@a.test" },
		{ "mailto:tls%2Breports@a.test", "tls+reports@a.test" },
		{ "mailto:first.last@sub.a.test", "first.last@sub.a.test" },
		{ "mailto:", NULL },
		{ "mailto:tls", NULL },
		{ "mailto:@a.test", NULL },
		{ "mailto:tls@", NULL },
		{ "mailto:tls@a.test%0D%0ABcc: x@evil.test", NULL },
		{ "mailto:tls@a.test%0ABcc:x@evil.test", NULL },
		{ "mailto:tls@a.test\r\nBcc:x@evil.test", NULL },
		{ "mailto:t\x01ls@a.test", NULL },
		{ "mailto:t%00ls@a.test", NULL },
		{ "mailto:t\xc3\xa9@a.test", NULL },
		{ "mailto:tls@a.test%", NULL },
		{ "mailto:tls@a.test%4", NULL },
		{ "mailto:tls@a.test%zz", NULL },
		{ "mailto:a..b@a.test", NULL },
		{ "mailto:.ab@a.test", NULL },
		{ "mailto:\"q\"@a.test", NULL },
		{ "mailto:tls@a_b.test", NULL },
		{ "mailto:tls@a.test,x@b.test", NULL },
		{ "https://a.test/x", NULL },
		{ "mailtox:tls@a.test", NULL },
	};
	char out[TLSRPT_ADDR_MAX + 1];
	size_t i;
	mailsec_err e;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		e = tlsrpt_mailto_addr(t[i].rua, out, sizeof out);
		if (t[i].want == NULL) {
			if (e != MAILSEC_ESYNTAX || out[0] != '\0')
				fail_msg("taken: \"%s\" -> \"%s\"", t[i].rua,
				    out);
		} else if (e != MAILSEC_OK || strcmp(out, t[i].want) != 0)
			fail_msg("\"%s\": %d \"%s\"", t[i].rua, e, out);
	}
}

/* ---- the mail ----------------------------------------------------------- */

static const char fname_ok[] = "sender.test!rpt.test!1709251200!"
    "1709337599!0123456789abcdef.json.gz";

static void
test_compose_refuses_injection(void **state)
{
	static const unsigned char gz[] = { 0x1f, 0x8b, 0x08, 0x00 };
	static const char *const bad_addr[] = {
		"a@b.test\r\nBcc: x@evil.test",
		"a@b.test\nX: y",
		"a@b.test\r",
		"a\t@b.test",
		"a@b.test\x7f",
		"\xc3\xa9@b.test",
		"no-at.test",
		"",
	};
	struct tlsrpt_mail m;
	char *out = NULL;
	size_t len = 0, i;

	(void)state;
	memset(&m, 0, sizeof m);
	m.from = "tlsrpt@sender.test";
	m.to = "tls@rpt.test";
	m.org_name = "Org";
	m.filename = fname_ok;
	m.date = DAY0 + 86400 + 60;
	m.gz = gz;
	m.len = sizeof gz;
	for (i = 0; i < sizeof bad_addr / sizeof bad_addr[0]; i++) {
		m.from = bad_addr[i];
		assert_int_equal(tlsrpt_mail_compose(&m, &out, &len),
		    MAILSEC_EINVAL);
		assert_null(out);
		m.from = "tlsrpt@sender.test";
		m.to = bad_addr[i];
		assert_int_equal(tlsrpt_mail_compose(&m, &out, &len),
		    MAILSEC_EINVAL);
		assert_null(out);
		m.to = "tls@rpt.test";
	}
	m.filename = "sender.test!rpt.test\r\nBcc: x@evil.test!1!2!ab.json.gz";
	assert_int_equal(tlsrpt_mail_compose(&m, &out, &len), MAILSEC_EINVAL);
	m.filename = "report.json.gz";
	assert_int_equal(tlsrpt_mail_compose(&m, &out, &len),
	    MAILSEC_ESYNTAX);
	assert_null(out);

	/* org_name is body text only: its line ends become '?' */
	m.filename = fname_ok;
	m.org_name = "Evil\r\nBcc: x@evil.test";
	assert_int_equal(tlsrpt_mail_compose(&m, &out, &len), MAILSEC_OK);
	assert_non_null(strstr(out, "from Evil??Bcc: x@evil.test ("));
	assert_null(strstr(out, "\r\nBcc:"));
	assert_int_equal(strlen(out), len);
	free(out);
}

static void
test_compose_header(void **state)
{
	static const unsigned char gz[100] = { 0x1f, 0x8b };
	struct tlsrpt_mail m;
	const char *body, *p;
	char *out = NULL;
	size_t len = 0;

	(void)state;
	memset(&m, 0, sizeof m);
	m.from = "tlsrpt@sender.test";
	m.to = "tls@rpt.test";
	m.org_name = "Test Org";
	m.filename = fname_ok;
	m.date = DAY0 + 86400 + 60;	/* Sat, 02 Mar 2024 00:01:00 */
	m.gz = gz;
	m.len = sizeof gz;
	assert_int_equal(tlsrpt_mail_compose(&m, &out, &len), MAILSEC_OK);
	body = strstr(out, "\r\n\r\n");
	assert_non_null(body);
	assert_non_null(strstr(out, "From: tlsrpt@sender.test\r\n"));
	assert_non_null(strstr(out, "To: tls@rpt.test\r\n"));
	assert_non_null(strstr(out, "Date: Sat, 02 Mar 2024 00:01:00 "
	    "+0000\r\n"));
	assert_non_null(strstr(out, "TLS-Report-Domain: rpt.test\r\n"));
	assert_non_null(strstr(out, "TLS-Report-Submitter: sender.test\r\n"));
	assert_non_null(strstr(out, "Message-ID: <rpt.test!1709251200!"
	    "1709337599!0123456789abcdef@sender.test>\r\n"));
	/* the Subject, folded at a space */
	assert_non_null(strstr(out, "Subject: Report Domain: rpt.test "
	    "Submitter: sender.test Report-ID:\r\n <rpt.test!1709251200!"
	    "1709337599!0123456789abcdef@sender.test>\r\n"));
	assert_true(strstr(out, "Content-Type: multipart/report; "
	    "report-type=\"tlsrpt\";") < body);
	/* every line CRLF, at most 998 characters, 7bit */
	for (p = out; *p != '\0'; p++) {
		assert_true((unsigned char)*p < 0x80);
		if (*p == '\n')
			assert_true(p > out && p[-1] == '\r');
		if (*p == '\r')
			assert_true(p[1] == '\n');
	}
	free(out);
}

/* ---- a real report, mailed ---------------------------------------------- */

struct mailed {
	int calls;
	char *mail;
	size_t len;
};

static mailsec_err
mail_it(void *arg, const char *domain, const char *rua, const char *fname,
    const void *gz, size_t len)
{
	struct mailed *s = arg;
	struct tlsrpt_mail m;
	char to[TLSRPT_ADDR_MAX + 1];

	assert_string_equal(domain, "rpt.test");
	assert_int_equal(tlsrpt_mailto_addr(rua, to, sizeof to), MAILSEC_OK);
	memset(&m, 0, sizeof m);
	m.from = "tlsrpt@sender.test";
	m.to = to;
	m.org_name = "Test Org";
	m.filename = fname;
	m.date = clock_now;
	m.gz = gz;
	m.len = len;
	free(s->mail);
	s->mail = NULL;
	assert_int_equal(tlsrpt_mail_compose(&m, &s->mail, &s->len),
	    MAILSEC_OK);
	s->calls++;
	return MAILSEC_OK;
}

static void
test_report_mail(void **state)
{
	char tmpl[] = "/tmp/test-tlsrpt-mail.XXXXXX";
	struct mailsec_resolver *r;
	static const char text[] = "$ORIGIN test.\n"
	    "_smtp._tls.rpt TXT \"v=TLSRPTv1; rua=mailto:tls@rpt.test\"\n";
	char *pats[] = { "mx.rpt.test" };
	struct mailed s = { 0 };
	struct tlsp_domain dom;
	struct tlsp_cfg cfg;
	struct tlsp_ctx *t = NULL;
	const char *out;
	char cmd[300];
	FILE *f;
	int i;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	r = zone(text);
	assert_non_null(r);
	memset(&cfg, 0, sizeof cfg);
	cfg.mta_sts = cfg.tlsrpt = true;
	cfg.cache_dir = tmpl;
	cfg.reporting_org = "Test Org";
	cfg.reporting_contact = "tlsrpt@sender.test";
	assert_int_equal(tlsp_new(&t, &cfg), MAILSEC_OK);
	tlsp_set_clock(t, test_clock, NULL);
	clock_now = DAY0 + 3600;
	memset(&dom, 0, sizeof dom);
	dom.sts = TLSP_STS_ENFORCE;
	dom.mx_patterns = pats;
	dom.nmx = 1;
	dom.max_age = 86400;
	for (i = 0; i < 2; i++)
		tlsp_report_result(t, "rpt.test", &dom, NULL, "mx.rpt.test",
		    "192.0.2.25", false, "certificate-not-trusted");
	tlsp_report_result(t, "rpt.test", &dom, NULL, "mx.rpt.test",
	    "192.0.2.25", true, NULL);
	clock_now = DAY0 + 86400 + 60;
	assert_int_equal(tlsp_reports_run(t, r, clock_now, mail_it, &s),
	    MAILSEC_OK);
	assert_int_equal(s.calls, 1);
	assert_non_null(s.mail);
	out = getenv("TLSRPT_MAIL_OUT");
	if (out != NULL && out[0] != '\0') {
		f = fopen(out, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(s.mail, 1, s.len, f), s.len);
		assert_int_equal(fclose(f), 0);
	}
	tlsp_free(t);
	mailsec_resolver_free(r);
	free(s.mail);
	(void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filename_roundtrip),
		cmocka_unit_test(test_filename_parse_bad),
		cmocka_unit_test(test_mailto_addr),
		cmocka_unit_test(test_compose_refuses_injection),
		cmocka_unit_test(test_compose_header),
		cmocka_unit_test(test_report_mail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
