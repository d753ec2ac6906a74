/*
 * tests/unit/record/test_record_lint.c - the record linter over a table
 * of broken and correct SPF, DMARC, DKIM, MTA-STS and TLS-RPT records,
 * each with the finding codes it must produce and the worst severity it
 * may reach; "did you mean" texts; resolution over the zone backend
 * (include trees, void lookups, duplicates, report authorization).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/record.h>
#include "../../common/zone_fixture.h"

/* Public keys made with openssl for the table (SubjectPublicKeyInfo,
 * base64): RSA 512, 1024, 2048 bits; Ed25519 raw. */
#define K512 "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAJyk7GJlGGK4Qv7+Mo6KWt6NqPRug7D" \
	"Ha0+JWyQ+0xONCNWQAVcgzzl1GL1KRO02EAC8AxYqMMICEfRJIbW6c2sCAwEAAQ=="
#define K1024 "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDB/pxwEO6HJ0fEcuNY+7/hOH" \
	"M" \
	"rYvDkmfhQd+aaNRxkbO8sANoHUS3hhtZvfv48jcu7/4lAHWH6Lxci2QBc/w791p" \
	"H/8+PpRSCB2+nD+8rjyfKENixpAhddgJ6bFK/pqUJTN3GZYoalAfv9H7gasTeU3" \
	"QQVvdBw1nhCWz4jeRlFxwIDAQAB"
#define K2048 "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA2HMhhyXvnH/uczlwpz" \
	"F" \
	"o+eg4AIqE/hsmVph0jAWgVrFn8dJau5a1gNIvHOlwkFHL1in+4Sesigfvm+ywKt" \
	"S2Q72+FZ2Jz0wnoJbr8hS4uluWc79+bePG4Hv2T7YlFDWz2dC3rbZtZe46IBnLC" \
	"pKJ52eEeM1DnDrwBA/IXjXap5sqz8Dmym3AXlzrva0KQWhGDs7068CeE2YdMQJS" \
	"F8NDsu/1Nurbs4fnjaJOfFqdSM2ElmPz3p/E7Ws5o/4b2vzQ69aBt3wKaLJ7ElL" \
	"gYtML2wq/0vHGGPzA0u9OY0sAPflOvLW1NNU5GPsYEl9h/5RXfWWYlxuTDi+Z7U" \
	"MH1D74ywIDAQAB"
#define KED "zXhvFaMUTj4OBZkHTjCSZhXRRhEK/W/BIRFHmT75vwk="

#define INFO MAILSEC_SEV_INFO
#define WARN MAILSEC_SEV_WARNING
#define ERR MAILSEC_SEV_ERROR

#define SPF MAILSEC_RECORD_SPF
#define DMARC MAILSEC_RECORD_DMARC
#define DKIM MAILSEC_RECORD_DKIM
#define STS MAILSEC_RECORD_MTASTS
#define POL MAILSEC_RECORD_MTASTS_POLICY
#define RPT MAILSEC_RECORD_TLSRPT
#define UNK MAILSEC_RECORD_UNKNOWN

struct lint_case {
	enum mailsec_record_type type;	/* expected (detected) type */
	const char *text;
	const char *codes;		/* space-separated, all present */
	enum mailsec_severity worst;	/* highest severity found */
};

static const struct lint_case cases[] = {
	/* ---- SPF: the examples first ---- */
	{ SPF, "v=spf1 ip3: include: -all",
	    "spf-unknown-mechanism spf-syntax", ERR },
	{ SPF, "v-spf1 -all", "spf-version", ERR },
	{ SPF, "v=spf1 include:a.example include:b.example include:c.example "
	    "include:d.example include:e.example include:f.example "
	    "include:g.example include:h.example include:i.example "
	    "include:j.example include:k.example -all",
	    "spf-too-many-lookups", ERR },
	{ SPF, "v=spf1 +all", "spf-all-pass", ERR },
	{ SPF, "v=spf1 all", "spf-all-pass", ERR },
	{ SPF, "v=spf1 ?all", "spf-all-neutral", WARN },
	{ SPF, "v=spf1 ptr -all", "spf-ptr", WARN },
	{ SPF, "v=spf1 ptr:example.org ~all", "spf-ptr", WARN },
	{ SPF, "v=spf1 inlcude:_spf.example.com -all",
	    "spf-unknown-mechanism", ERR },
	{ SPF, "v=spf1 ipv4:192.0.2.1 -all", "spf-unknown-mechanism", ERR },
	{ SPF, "v=spf1 ip4:192.0.2.0/24 -all", "", INFO },
	{ SPF, "v=spf1 mx a ip6:2001:db8::/32 ~all", "", INFO },
	{ SPF, "V=SPF1 MX -ALL", "", INFO },
	{ SPF, "v=spf1 mx/24 a:mail.example.org/28//64 -all", "", INFO },
	{ SPF, "v=spf1 exists:%{i}._spf.example.com -all", "", INFO },
	{ SPF, "v=spf1 redirect=_spf.example.com", "", INFO },
	{ SPF, "v=spf1 ip4:192.0.2.0/24", "spf-no-all", WARN },
	{ SPF, "v=spf1 -all ip4:192.0.2.1", "spf-after-all", WARN },
	{ SPF, "v=spf1 redirect=a.example redirect=b.example",
	    "spf-duplicate-modifier", ERR },
	{ SPF, "v=spf1 ip4:192.0.2.300 -all", "spf-syntax", ERR },
	{ SPF, "v=spf1 ip4:0.0.0.0/0 -all", "spf-ip-all", ERR },
	{ SPF, "v=spf1 redirct=_spf.example.com -all",
	    "spf-unknown-modifier", WARN },
	{ SPF, "v=spf1 include:_spf.example.com -all v=spf1 mx -all",
	    "spf-version-twice spf-after-all", ERR },
	{ SPF, "v=spf2.0/pra ip4:192.0.2.1 -all", "spf-version", ERR },
	{ SPF, "v=spf1 a:mail.example.com/33 -all", "spf-syntax", ERR },
	{ SPF, "v=spf1 include:example -all", "spf-syntax", ERR },
	{ SPF, "v=spf1 ip4:192.0.2.1 -all redirect=x.example",
	    "spf-redirect-ignored", WARN },
	{ SPF, "v=spf1 ip4:192.0.2.1 -all exp=explain.example.org", "",
	    INFO },
	{ SPF, "v=spf1 a a a a a a a a a a -all", "", INFO },
	{ SPF, "v=spf1 a a a a a a a a a a a -all", "spf-too-many-lookups",
	    ERR },
	{ SPF, "v=spf1 ip4:192.0.2.1 ip4:192.0.2.2 ip4:192.0.2.3 "
	    "ip4:192.0.2.4 ip4:192.0.2.5 ip4:192.0.2.6 ip4:192.0.2.7 "
	    "ip4:192.0.2.8 ip4:192.0.2.9 ip4:192.0.2.10 ip4:192.0.2.11 "
	    "ip4:192.0.2.12 ip4:192.0.2.13 ip4:192.0.2.14 ip4:192.0.2.15 "
	    "ip4:192.0.2.16 ip4:192.0.2.17 ip4:192.0.2.18 ip4:192.0.2.19 "
	    "ip4:192.0.2.20 ip4:192.0.2.21 ip4:192.0.2.22 ip4:192.0.2.23 "
	    "ip4:192.0.2.24 ip4:192.0.2.25 ip4:192.0.2.26 ip4:192.0.2.27 "
	    "ip4:192.0.2.28 ip4:192.0.2.29 ip4:192.0.2.30 ip4:192.0.2.31 "
	    "ip4:192.0.2.32 ip4:192.0.2.33 -all", "spf-long", WARN },
	{ SPF, "spf1 mx -all", "spf-version", ERR },
	{ SPF, "v=spf1 +mx -all", "", INFO },
	{ SPF, "v=spf1 mx ~al", "spf-unknown-mechanism spf-no-all", ERR },

	/* ---- DMARC ---- */
	{ DMARC, "v=DMARC1; p=rejects", "dmarc-bad-value", ERR },
	{ DMARC, "v=DMARC1; p=none", "dmarc-none-no-rua", WARN },
	{ DMARC, "v=DMARC1; p=none; rua=mailto:d@example.com",
	    "dmarc-monitor-only", INFO },
	{ DMARC, "v=DMARC1; p=reject; rua=mailto:d@example.com", "", INFO },
	{ DMARC, "v=DMARC1; p=quarantine; pct=50; rua=mailto:d@example.com",
	    "dmarc-obsolete dmarc-pct", WARN },
	{ DMARC, "v=DMARC1; p=reject; rua=mailto:d@example.com; ri=3600; "
	    "rf=afrf", "dmarc-obsolete", WARN },
	{ DMARC, "v=DMARC1; p=reject; t=y; rua=mailto:d@example.com",
	    "dmarc-testing", WARN },
	{ DMARC, "v=dmarc1; p=reject", "dmarc-version", ERR },
	{ DMARC, "v=DMARC1 p=reject", "dmarc-version", ERR },
	{ DMARC, "v=DMARC1; p=reject; aspf=x; rua=mailto:d@example.com",
	    "dmarc-bad-value", ERR },
	{ DMARC, "v=DMARC1; p=reject; rue=mailto:d@example.com",
	    "dmarc-unknown-tag dmarc-no-rua", WARN },
	{ DMARC, "v=DMARC1; p=reject; sp=none; rua=mailto:d@example.com",
	    "dmarc-sp-none", WARN },
	{ DMARC, "v=DMARC1; p=reject", "dmarc-no-rua", INFO },
	{ DMARC, "v=DMARC1; rua=mailto:d@example.com",
	    "dmarc-record dmarc-monitor-only", WARN },
	{ DMARC, "v=DMARC1; p=quarantin; rua=mailto:d@example.com",
	    "dmarc-bad-value", ERR },
	{ DMARC, "v=DMARC1; p=reject; adkim=s; aspf=s; fo=1; "
	    "rua=mailto:a@example.com; ruf=mailto:f@example.com", "", INFO },

	/* ---- DKIM key records ---- */
	{ DKIM, "v=DKIM1; k=rsa; p=" K2048, "", INFO },
	{ DKIM, "v=DKIM1; k=rsa; p=" K1024, "dkim-key-weak", WARN },
	{ DKIM, "v=DKIM1; k=rsa; p=" K512, "dkim-key-too-short", ERR },
	{ DKIM, "v=DKIM1; k=rsa; t=y; p=" K2048, "dkim-testing", WARN },
	{ DKIM, "v=DKIM1; k=rsa; h=sha1; p=" K2048, "dkim-sha1", ERR },
	{ DKIM, "v=DKIM1; k=ed25519; p=" KED, "", INFO },
	{ DKIM, "v=DKIM1; k=rsa; p=", "dkim-revoked", INFO },
	{ DKIM, "v=DKIM1; k=rsa; p=notbase64!!", "dkim-syntax", ERR },
	{ DKIM, "v=DKIM1; k=rsa; s=other; p=" K2048, "dkim-service", ERR },
	{ DKIM, "k=rsa; p=" K2048, "dkim-no-version", INFO },

	/* ---- MTA-STS TXT ---- */
	{ STS, "v=STSv1; id=20240101000000;", "", INFO },
	{ STS, "v=STSv1; id=2024-01-01", "mtasts-id", ERR },
	{ STS, "v=STSv1;", "mtasts-id-missing", ERR },
	{ STS, "v=STSV1; id=1", "mtasts-version", ERR },
	{ STS, "v=STSv1; ids=123", "mtasts-unknown-tag mtasts-id-missing",
	    ERR },

	/* ---- MTA-STS policy files ---- */
	{ POL, "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\n"
	    "max_age: 604800\r\n", "", INFO },
	{ POL, "version: STSv1\r\nmode: enforcing\r\nmx: mx1.example.com\r\n"
	    "max_age: 604800\r\n", "mtasts-policy-mode", ERR },
	{ POL, "version: STSv1\nmode: testing\nmx: *.example.com\n"
	    "max_age: 3600\n", "mtasts-policy-testing "
	    "mtasts-policy-max-age-short mtasts-policy-lf", WARN },
	{ POL, "version: STSv1\r\nmode: enforce\r\nmax_age: 604800\r\n",
	    "mtasts-policy-no-mx", ERR },
	{ POL, "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\n",
	    "mtasts-policy-missing", ERR },
	{ POL, "version: STSv1\r\nmode: enforce\r\nmx: mx1..example\r\n"
	    "max_age: 99999999999\r\n",
	    "mtasts-policy-mx mtasts-policy-max-age", ERR },

	/* ---- TLS-RPT ---- */
	{ RPT, "v=TLSRPTv1; rua=mailto:tls@example.com", "", INFO },
	{ RPT, "v=TLSRPTv1; rua=https://report.example.com/tlsrpt", "",
	    INFO },
	{ RPT, "v=TLSRPTv1; rua=tls@example.com", "tlsrpt-rua-uri", ERR },
	{ RPT, "v=TLSRPTv1;", "tlsrpt-rua-missing", ERR },
	{ RPT, "v=TLSRPTv2; rua=mailto:tls@example.com", "tlsrpt-version",
	    ERR },
	{ RPT, "v=TLSRPTv1; rua=ftp://x.example", "tlsrpt-rua-uri", ERR },
	{ RPT, "v=TLSRPTv1; ruf=mailto:tls@example.com",
	    "tlsrpt-unknown-tag tlsrpt-rua-missing", ERR },

	/* ---- neither ---- */
	{ UNK, "hello world", "unknown-type", ERR },
	{ UNK, "", "unknown-type", ERR },
};

static enum mailsec_severity
worst(const struct mailsec_lint *l)
{
	enum mailsec_severity w = MAILSEC_SEV_INFO;
	size_t i;

	for (i = 0; i < l->nfindings; i++)
		if (l->findings[i].severity > w)
			w = l->findings[i].severity;
	return w;
}

static void
dump(const char *text, const struct mailsec_lint *l)
{
	size_t i;

	print_message("record: %s (linted as %s)\n", text,
	    mailsec_record_type_name(l->type));
	for (i = 0; i < l->nfindings; i++)
		print_message("  %s %s @%zu: %s | fix: %s\n",
		    mailsec_severity_name(l->findings[i].severity),
		    l->findings[i].code, l->findings[i].offset,
		    l->findings[i].what, l->findings[i].fix);
}

static void
test_table(void **state)
{
	size_t i, bad = 0;

	(void)state;
	assert_true(sizeof cases / sizeof cases[0] >= 50);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct lint_case *c = &cases[i];
		struct mailsec_lint *l = NULL;
		char codes[256], *tok, *sp;
		bool ok = true;

		assert_int_equal(mailsec_lint_record(c->text, strlen(c->text),
		    NULL, &l, NULL), MAILSEC_OK);
		if (l->type != c->type || worst(l) != c->worst)
			ok = false;
		snprintf(codes, sizeof codes, "%s ", c->codes);
		for (tok = codes; (sp = strchr(tok, ' ')) != NULL;
		    tok = sp + 1) {
			*sp = '\0';
			if (*tok != '\0' && mailsec_lint_find(l, tok) == NULL) {
				print_message("missing %s\n", tok);
				ok = false;
			}
		}
		/* every error and warning says how to fix it */
		for (size_t k = 0; k < l->nfindings; k++)
			if (l->findings[k].severity != MAILSEC_SEV_INFO &&
			    l->findings[k].fix[0] == '\0')
				ok = false;
		if (!ok) {
			print_message("case %zu: want %s, worst %s\n", i,
			    mailsec_record_type_name(c->type),
			    mailsec_severity_name(c->worst));
			dump(c->text, l);
			bad++;
		}
		mailsec_lint_free(l);
	}
	assert_int_equal(bad, 0);
}

/* The fix text of the first finding with code, for "did you mean". */
static void
assert_fix(const char *text, enum mailsec_record_type t, const char *code,
    const char *needle)
{
	struct mailsec_lint_opts o = { 0 };
	struct mailsec_lint *l = NULL;
	const struct mailsec_finding *f;

	o.type = t;
	assert_int_equal(mailsec_lint_record(text, strlen(text), &o, &l,
	    NULL), MAILSEC_OK);
	f = mailsec_lint_find(l, code);
	if (f == NULL || strstr(f->fix, needle) == NULL) {
		dump(text, l);
		fail_msg("%s: no %s with '%s' in its fix", text, code, needle);
	}
	mailsec_lint_free(l);
}

static void
test_did_you_mean(void **state)
{
	(void)state;
	assert_fix("v=spf1 ip3:192.0.2.1 -all", SPF, "spf-unknown-mechanism",
	    "ip4:192.0.2.1");
	assert_fix("v=spf1 ip3: -all", SPF, "spf-unknown-mechanism", "ip4:");
	assert_fix("v=spf1 ip5:2001:db8::1 -all", SPF,
	    "spf-unknown-mechanism", "ip6:2001:db8::1");
	assert_fix("v-spf1 -all", SPF, "spf-version", "v=spf1");
	assert_fix("v=spf1 inlcude:_spf.example.com -all", SPF,
	    "spf-unknown-mechanism", "include:_spf.example.com");
	assert_fix("v=spf1 ~inclde:x.example -all", SPF,
	    "spf-unknown-mechanism", "~include:x.example");
	assert_fix("v=spf1 redirct=x.example", SPF, "spf-unknown-modifier",
	    "redirect=x.example");
	assert_fix("v=DMARC1; p=rejects", DMARC, "dmarc-bad-value",
	    "p=reject");
	assert_fix("v=DMARC1; p=reject; sp=quarentine", DMARC,
	    "dmarc-bad-value", "sp=quarantine");
	assert_fix("v=DMARC1; p=reject; rue=mailto:a@example.com", DMARC,
	    "dmarc-unknown-tag", "rua=");
	assert_fix("v=DMARC; p=reject", DMARC, "dmarc-version", "v=DMARC1");
	assert_fix("v=TLSRPTv1; rua=tls@example.com", RPT, "tlsrpt-rua-uri",
	    "mailto:tls@example.com");
	assert_fix("version: STSv1\nmode: enforcing\nmx: a.example\n"
	    "max_age: 86400\n", POL, "mtasts-policy-mode", "enforce");
	assert_fix("version: STSv1\nmode: enforce\nmxx: a.example\n"
	    "max_age: 86400\n", POL, "mtasts-policy-unknown-key", "mx:");
	assert_fix("v=DKIM1; k=rsaa; p=" K2048, DKIM, "dkim-key-type",
	    "k=rsa");
}

/* Offsets point at the term. */
static void
test_offsets(void **state)
{
	const char *t = "v=spf1 mx ip3:1.2.3.4 +all";
	struct mailsec_lint *l = NULL;
	const struct mailsec_finding *f;

	(void)state;
	assert_int_equal(mailsec_lint_record(t, strlen(t), NULL, &l, NULL),
	    MAILSEC_OK);
	f = mailsec_lint_find(l, "spf-unknown-mechanism");
	assert_non_null(f);
	assert_true(f->has_offset);
	assert_int_equal(f->offset, 10);
	f = mailsec_lint_find(l, "spf-all-pass");
	assert_non_null(f);
	assert_int_equal(f->offset, 22);
	assert_int_equal(l->lookups, 1);
	mailsec_lint_free(l);
}

static void
test_forced_type(void **state)
{
	struct mailsec_lint_opts o = { 0 };
	struct mailsec_lint *l = NULL;

	(void)state;
	o.type = MAILSEC_RECORD_DMARC;
	assert_int_equal(mailsec_lint_record("v=spf1 -all", 11, &o, &l, NULL),
	    MAILSEC_OK);
	assert_int_equal(l->type, MAILSEC_RECORD_DMARC);
	assert_false(l->detected);
	assert_non_null(mailsec_lint_find(l, "dmarc-version"));
	mailsec_lint_free(l);
	assert_int_equal(mailsec_record_type_parse("tls-rpt"),
	    MAILSEC_RECORD_TLSRPT);
	assert_int_equal(mailsec_record_type_parse("nope"),
	    MAILSEC_RECORD_UNKNOWN);
	assert_string_equal(mailsec_record_type_name(MAILSEC_RECORD_MTASTS),
	    "mta-sts");
	assert_int_equal(mailsec_lint_record(NULL, 1, NULL, &l, NULL),
	    MAILSEC_EINVAL);
}

/* ---- resolving --------------------------------------------------------- */

static const char zone[] =
    "$ORIGIN example.org.\n"
    "deep      TXT \"v=spf1 include:i1.example.org include:i2.example.org "
    "-all\"\n"
    "i1        TXT \"v=spf1 a:h.example.org a:h.example.org "
    "a:h.example.org a:h.example.org ip4:192.0.2.1 ~all\"\n"
    "i2        TXT \"v=spf1 mx:h.example.org include:i3.example.org "
    "ip6:2001:db8::/32 -all\"\n"
    "i3        TXT \"v=spf1 a:h.example.org a:h.example.org "
    "a:h.example.org -all\"\n"
    "h         A 192.0.2.10\n"
    "h         MX 10 h\n"
    "voids     TXT \"v=spf1 a:n1.example.org a:n2.example.org "
    "mx:n3.example.org -all\"\n"
    "dup       TXT \"v=spf1 -all\"\n"
    "dup       TXT \"v=spf1 mx -all\"\n"
    "incnone   TXT \"v=spf1 include:nothing.example.org -all\"\n"
    "loop      TXT \"v=spf1 include:loop2.example.org -all\"\n"
    "loop2     TXT \"v=spf1 include:loop.example.org -all\"\n"
    "ok        TXT \"v=spf1 include:i3.example.org -all\"\n"
    "_dmarc.dup TXT \"v=DMARC1; p=none\"\n"
    "_dmarc.dup TXT \"v=DMARC1; p=reject\"\n"
    "$ORIGIN example.net.\n"
    "example.org._report._dmarc TXT \"v=DMARC1\"\n"
    "$ORIGIN example.com.\n"
    "dk._domainkey TXT \"v=DKIM1; p=" K1024 "\"\n"
    "dk._domainkey TXT \"v=DKIM1; p=" K512 "\"\n";

static struct mailsec_resolver *
resolver(void)
{
	return zone_fixture(zone, sizeof zone - 1);
}

static struct mailsec_lint *
lint_at(struct mailsec_resolver *r, const char *domain,
    enum mailsec_record_type t, const char *text)
{
	struct mailsec_lint_opts o = { 0 };
	struct mailsec_lint *l = NULL;

	o.type = t;
	o.resolver = r;
	o.domain = domain;
	assert_int_equal(mailsec_lint_record(text, strlen(text), &o, &l,
	    NULL), MAILSEC_OK);
	assert_true(l->resolved);
	return l;
}

static void
test_resolve_spf(void **state)
{
	struct mailsec_resolver *r = resolver();
	struct mailsec_lint *l;
	const char *deep = "v=spf1 include:i1.example.org "
	    "include:i2.example.org -all";

	(void)state;
	/* 2 here, 4 in i1, 2 in i2, 3 in i3: 11 in the tree */
	l = lint_at(r, NULL, SPF, deep);
	assert_int_equal(l->lookups, 11);
	assert_non_null(mailsec_lint_find(l, "spf-too-many-lookups"));
	assert_int_equal(l->nflat, 2);
	assert_string_equal(l->flat[0], "ip4:192.0.2.1");
	assert_string_equal(l->flat[1], "ip6:2001:db8::/32");
	mailsec_lint_free(l);
	/* the same record unresolved counts its own 2 */
	assert_int_equal(mailsec_lint_record(deep, strlen(deep), NULL, &l,
	    NULL), MAILSEC_OK);
	assert_int_equal(l->lookups, 2);
	assert_null(mailsec_lint_find(l, "spf-too-many-lookups"));
	mailsec_lint_free(l);

	l = lint_at(r, NULL, SPF, "v=spf1 a:n1.example.org a:n2.example.org "
	    "mx:n3.example.org -all");
	assert_int_equal(l->void_lookups, 3);
	assert_non_null(mailsec_lint_find(l, "spf-void-lookups"));
	assert_non_null(mailsec_lint_find(l, "spf-void-lookup"));
	mailsec_lint_free(l);

	l = lint_at(r, "dup.example.org", SPF, "v=spf1 -all");
	assert_non_null(mailsec_lint_find(l, "spf-duplicate-records"));
	mailsec_lint_free(l);

	l = lint_at(r, "incnone.example.org", SPF,
	    "v=spf1 include:nothing.example.org -all");
	assert_non_null(mailsec_lint_find(l, "spf-include-none"));
	mailsec_lint_free(l);

	l = lint_at(r, "loop.example.org", SPF,
	    "v=spf1 include:loop2.example.org -all");
	assert_non_null(mailsec_lint_find(l, "spf-include-loop"));
	mailsec_lint_free(l);

	l = lint_at(r, "ok.example.org", SPF,
	    "v=spf1 include:i3.example.org -all");
	assert_int_equal(l->lookups, 4);
	assert_int_equal(mailsec_lint_count(l, MAILSEC_SEV_ERROR), 0);
	assert_int_equal(mailsec_lint_count(l, MAILSEC_SEV_WARNING), 0);
	mailsec_lint_free(l);
	mailsec_resolver_free(r);
}

static void
test_resolve_dmarc_dkim(void **state)
{
	struct mailsec_resolver *r = resolver();
	struct mailsec_lint_opts o = { 0 };
	struct mailsec_lint *l;
	const char *dk = "v=DKIM1; p=" K2048;

	(void)state;
	/* example.net agreed to take example.org's reports; example.com
	 * did not; a subdomain needs no agreement */
	l = lint_at(r, "example.org", DMARC, "v=DMARC1; p=reject; "
	    "rua=mailto:d@example.net,mailto:x@reports.example.org");
	assert_null(mailsec_lint_find(l, "dmarc-rua-unauthorized"));
	mailsec_lint_free(l);
	l = lint_at(r, "example.org", DMARC, "v=DMARC1; p=reject; "
	    "rua=mailto:d@example.com; ruf=mailto:f@example.com");
	assert_non_null(mailsec_lint_find(l, "dmarc-rua-unauthorized"));
	assert_int_equal(mailsec_lint_count(l, MAILSEC_SEV_ERROR), 2);
	mailsec_lint_free(l);

	l = lint_at(r, "dup.example.org", DMARC, "v=DMARC1; p=reject");
	assert_non_null(mailsec_lint_find(l, "dmarc-duplicate-records"));
	mailsec_lint_free(l);

	o.type = DKIM;
	o.resolver = r;
	o.domain = "example.com";
	o.selector = "dk";
	assert_int_equal(mailsec_lint_record(dk, strlen(dk), &o, &l, NULL),
	    MAILSEC_OK);
	assert_non_null(mailsec_lint_find(l, "dkim-duplicate-records"));
	mailsec_lint_free(l);
	mailsec_resolver_free(r);
}

/* Findings are bounded: a record with hundreds of bad terms. */
static void
test_many_findings(void **state)
{
	char buf[6000];
	struct mailsec_lint *l = NULL;
	size_t n = 6;

	(void)state;
	memcpy(buf, "v=spf1", 6);
	while (n + 6 < sizeof buf) {
		memcpy(buf + n, " foo:x", 6);
		n += 6;
	}
	assert_int_equal(mailsec_lint_record(buf, n, NULL, &l, NULL),
	    MAILSEC_OK);
	assert_int_equal(l->nfindings, MAILSEC_FINDINGS_MAX);
	assert_non_null(mailsec_lint_find(l, "too-many-findings"));
	mailsec_lint_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_did_you_mean),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_forced_type),
		cmocka_unit_test(test_resolve_spf),
		cmocka_unit_test(test_resolve_dmarc_dkim),
		cmocka_unit_test(test_many_findings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
