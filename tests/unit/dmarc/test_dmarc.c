/*
 * tests/unit/dmarc/test_dmarc.c - DMARC policy discovery and evaluation
 * through the zone backend: a table of scenarios (RFC 9989 Tree Walk
 * with psd=, np=, t= and its label limits; RFC 7489 mode with the PSL
 * and pct; alignment relaxed and strict; temperror from $SERVFAIL and
 * $TIMEOUT; broken and multiple records; the From edge cases of RFC 9989
 * 11.5 - several addresses, several fields, unparseable, none - and a
 * HELO pass beside a MAIL FROM fail, CVE-2019-20790), then the
 * asynchronous interface: several evaluations on one resolver, the
 * queries of a walk in one batch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailsec/addr.h>
#include <mailsec/dmarc.h>
#include <mailsec/msg.h>

#include "core/core.h"

static const char zone[] =
    "$TTL 300\n"
    /* relaxed and strict basics */
    "_dmarc.example.org. TXT \"v=DMARC1; p=reject; "
    "rua=mailto:agg@example.org\"\n"
    "mail.example.org. A 192.0.2.1\n"
    "_dmarc.strict.test. TXT \"v=DMARC1; p=quarantine; adkim=s; aspf=s\"\n"
    "_dmarc.spfstrict.test. TXT \"v=DMARC1; p=reject; aspf=s\"\n"
    /* sp= and np= */
    "_dmarc.sub.test. TXT \"v=DMARC1; p=reject; sp=quarantine; np=none\"\n"
    "exists.sub.test. A 192.0.2.2\n"
    "_dmarc.npx.test. TXT \"v=DMARC1; p=none; np=reject\"\n"
    "real.npx.test. MX 10 mail.npx.test.\n"
    "_dmarc.sponly.test. TXT \"v=DMARC1; p=reject; sp=none\"\n"
    "$SERVFAIL sfexist.npx.test.\n"
    /* psd= (RFC 9989 B.4.3) */
    "_dmarc.bank.example. TXT \"v=DMARC1; p=reject; psd=y; "
    "np=quarantine\"\n"
    "_dmarc.giant.bank.example. TXT \"v=DMARC1; p=quarantine\"\n"
    "mail.giant.bank.example. A 192.0.2.3\n"
    "newco.bank.example. A 192.0.2.4\n"
    "_dmarc.corp.test. TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.div.corp.test. TXT \"v=DMARC1; p=quarantine; psd=n\"\n"
    "_dmarc.m2.corp.test. TXT \"v=DMARC1; p=none\"\n"
    "_dmarc.m2.corp.test. TXT \"v=DMARC1; p=reject\"\n"
    /* B.4.1 */
    "_dmarc.example.com. TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.signing.example.com. TXT \"v=DMARC1; p=none\"\n"
    /* long names: an 8-label record the walk must skip */
    "_dmarc.c.d.e.f.g.h.long.test. TXT \"v=DMARC1; p=none\"\n"
    "_dmarc.long.test. TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.b.deep.test. TXT \"v=DMARC1; p=quarantine\"\n"
    /* a walk that stops (psd=n) before a failing name */
    "_dmarc.stop.tld2. TXT \"v=DMARC1; p=reject; psd=n\"\n"
    "$SERVFAIL _dmarc.tld2.\n"
    "_dmarc.go.tld3. TXT \"v=DMARC1; p=reject\"\n"
    "$TIMEOUT _dmarc.tld3.\n"
    /* PSL: co.uk */
    "_dmarc.shop.co.uk. TXT \"v=DMARC1; p=reject; sp=quarantine\"\n"
    "_dmarc.b.example.net. TXT \"v=DMARC1; p=reject\"\n"
    /* broken records and other TXT */
    "_dmarc.multi.test. TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.multi.test. TXT \"v=DMARC1; p=none\"\n"
    "_dmarc.mixed.test. TXT \"v=spf1 -all\"\n"
    "_dmarc.mixed.test. TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.broken.test. TXT \"v=DMARC1; p=bogus\"\n"
    "_dmarc.brokenrua.test. TXT \"v=DMARC1; p=bogus; "
    "rua=mailto:d@brokenrua.test\"\n"
    "_dmarc.order.test. TXT \"p=reject; v=DMARC1\"\n"
    "_dmarc.lower.test. TXT \"v=dmarc1; p=reject\"\n"
    "_dmarc.nop.test. TXT \"v=DMARC1; rua=mailto:d@nop.test\"\n"
    /* temporary failures */
    "$SERVFAIL _dmarc.sf.test.\n"
    "$TIMEOUT _dmarc.to.test.\n"
    "$TIMEOUT _dmarc.to2.test.\n"
    /* pct and t= */
    "_dmarc.pct0.test. TXT \"v=DMARC1; p=reject; pct=0\"\n"
    "_dmarc.pct50.test. TXT \"v=DMARC1; p=quarantine; pct=50\"\n"
    "_dmarc.pct100.test. TXT \"v=DMARC1; p=reject; pct=100\"\n"
    "_dmarc.testing.test. TXT \"v=DMARC1; p=reject; t=y\"\n"
    "_dmarc.testq.test. TXT \"v=DMARC1; p=quarantine; t=y\"\n"
    "_dmarc.nonepol.test. TXT \"v=DMARC1; p=none\"\n";

/* One scenario. from: the From field values, '\n' between fields; NULL
 * for a message without From. dkim: "d/s/result" entries, ','-separated.
 * Expectations: policy/disp NULL means "null"; pd NULL means no policy
 * domain; aligned -1 means not checked; extra: ';'-separated checks
 * (org=, tag=, ov=, queries=, from=, exists=, psd, testing, sampled). */
struct scen {
	const char *name;
	int mode;
	const char *from;
	enum mailsec_spf_result spf;
	const char *spf_domain;
	int helo;		/* SPF identity HELO */
	const char *mail_from;	/* with helo: the reverse-path */
	const char *dkim;
	uint32_t rnd;
	unsigned local;
	bool multi_from;
	enum mailsec_dmarc_result result;
	const char *policy;
	const char *disp;
	const char *pd;
	int spf_aligned;
	int dkim_aligned;
	const char *extra;
};

#define P MAILSEC_SPF_PASS
#define F MAILSEC_SPF_FAIL
#define N MAILSEC_SPF_NONE
#define R9 0
#define R7 1
#define DPASS MAILSEC_DMARC_PASS
#define DFAIL MAILSEC_DMARC_FAIL
#define DNONE MAILSEC_DMARC_NONE
#define DTEMP MAILSEC_DMARC_TEMPERROR
#define DPERM MAILSEC_DMARC_PERMERROR

static const struct scen scens[] = {
	/* ---- alignment, relaxed and strict ---- */
	{ "spf aligned exact", R9, "a@example.org", P, "example.org", 0, 0,
	  NULL, 0, 0, 0, DPASS, "reject", "none", "example.org", 1, 0,
	  "org=example.org;tag=p;queries=2" },
	{ "spf aligned relaxed subdomain", R9, "a@example.org", P,
	  "bounce.mail.example.org", 0, 0, NULL, 0, 0, 0, DPASS, "reject",
	  "none", "example.org", 1, 0, NULL },
	{ "spf pass unaligned", R9, "a@example.org", P, "example.net", 0, 0,
	  NULL, 0, 0, 0, DFAIL, "reject", "reject", "example.org", 0, 0,
	  NULL },
	{ "spf fail, dkim aligned", R9, "a@example.org", F, "example.org", 0,
	  0, "example.org/s1/pass", 0, 0, 0, DPASS, "reject", "none",
	  "example.org", 0, 1, NULL },
	{ "dkim relaxed subdomain", R9, "a@example.org", N, NULL, 0, 0,
	  "mail.example.org/s1/pass", 0, 0, 0, DPASS, "reject", "none",
	  "example.org", -1, 1, NULL },
	{ "dkim aligned but failed", R9, "a@example.org", N, NULL, 0, 0,
	  "example.org/s1/fail", 0, 0, 0, DFAIL, "reject", "reject",
	  "example.org", -1, 0, NULL },
	{ "dkim: second signature aligns", R9, "a@example.org", N, NULL, 0,
	  0, "evil.example/x/pass,example.org/s2/pass", 0, 0, 0, DPASS,
	  "reject", "none", "example.org", -1, 1, "dkim=example.org/s2" },
	{ "author case-insensitive", R9, "a@EXAMPLE.Org", P, "Example.ORG",
	  0, 0, NULL, 0, 0, 0, DPASS, "reject", "none", "example.org", 1, 0,
	  NULL },
	{ "strict: subdomain spf fails", R9, "a@strict.test", P,
	  "mail.strict.test", 0, 0, "mail.strict.test/s/pass", 0, 0, 0,
	  DFAIL, "quarantine", "quarantine", "strict.test", 0, 0, NULL },
	{ "strict: exact passes", R9, "a@strict.test", F, "strict.test", 0,
	  0, "strict.test/s/pass", 0, 0, 0, DPASS, "quarantine", "none",
	  "strict.test", 0, 1, NULL },
	{ "aspf=s, adkim relaxed", R9, "a@spfstrict.test", P,
	  "m.spfstrict.test", 0, 0, "m.spfstrict.test/s/pass", 0, 0, 0,
	  DPASS, "reject", "none", "spfstrict.test", 0, 1, NULL },
	{ "no authenticated identifier", R9, "a@example.org", N, NULL, 0, 0,
	  NULL, 0, 0, 0, DFAIL, "reject", "reject", "example.org", 0, 0,
	  NULL },
	/* ---- HELO and MAIL FROM (CVE-2019-20790) ---- */
	{ "HELO pass beside MAIL FROM fail", R9, "a@example.org", P,
	  "mail.example.org", 1, "spoof@example.org", NULL, 0, 0, 0, DFAIL,
	  "reject", "reject", "example.org", 0, 0, NULL },
	{ "HELO pass with null reverse-path", R9, "a@example.org", P,
	  "mail.example.org", 1, "", NULL, 0, 0, 0, DPASS, "reject", "none",
	  "example.org", 1, 0, NULL },
	/* ---- sp= and np= ---- */
	{ "sp for an existing subdomain", R9, "a@exists.sub.test", N, NULL,
	  0, 0, NULL, 0, 0, 0, DFAIL, "quarantine", "quarantine", "sub.test",
	  0, 0, "tag=sp;exists=1;org=sub.test" },
	{ "np for a non-existent subdomain", R9, "a@ghost.sub.test", N, NULL,
	  0, 0, NULL, 0, 0, 0, DFAIL, "none", "none", "sub.test", 0, 0,
	  "tag=np;exists=0" },
	{ "np below a non-existent name", R9, "a@x.ghost.sub.test", N, NULL,
	  0, 0, NULL, 0, 0, 0, DFAIL, "none", "none", "sub.test", 0, 0,
	  "tag=np;exists=0" },
	{ "p for the domain itself", R9, "a@sub.test", N, NULL, 0, 0, NULL, 0,
	  0, 0, DFAIL, "reject", "reject", "sub.test", 0, 0, "tag=p" },
	{ "np=reject over p=none", R9, "a@ghost.npx.test", N, NULL, 0, 0,
	  NULL, 0, 0, 0, DFAIL, "reject", "reject", "npx.test", 0, 0,
	  "tag=np" },
	{ "existing (MX only) uses p", R9, "a@real.npx.test", N, NULL, 0, 0,
	  NULL, 0, 0, 0, DFAIL, "none", "none", "npx.test", 0, 0,
	  "tag=p;exists=1" },
	{ "existence check fails: temperror", R9, "a@sfexist.npx.test", N,
	  NULL, 0, 0, NULL, 0, 0, 0, DTEMP, NULL, NULL, "npx.test", 0, 0,
	  NULL },
	{ "sp=none without np", R9, "a@ghost.sponly.test", N, NULL, 0, 0,
	  NULL, 0, 0, 0, DFAIL, "none", "none", "sponly.test", 0, 0,
	  "tag=sp;queries=3" },
	{ "np ignored in RFC 7489 mode", R7, "a@ghost.npx.test", N, NULL, 0,
	  0, NULL, 0, 0, 0, DFAIL, "none", "none", "npx.test", 0, 0,
	  "tag=p" },
	/* ---- psd= ---- */
	{ "B.4.3: SPF aligned under psd=y", R9, "a@giant.bank.example", P,
	  "mail.giant.bank.example", 0, 0, "mail.mega.bank.example/s/pass",
	  0, 0, 0, DPASS, "quarantine", "none", "giant.bank.example", 1, 0,
	  "org=giant.bank.example" },
	{ "B.4.3: DKIM of a sibling not aligned", R9, "a@giant.bank.example",
	  F, "giant.bank.example", 0, 0, "mail.mega.bank.example/s/pass", 0,
	  0, 0, DFAIL, "quarantine", "quarantine", "giant.bank.example", 0,
	  0, NULL },
	{ "PSD record applies (sp falls to p)", R9, "a@newco.bank.example",
	  N, NULL, 0, 0, NULL, 0, 0, 0, DFAIL, "reject", "reject",
	  "bank.example", 0, 0, "psd;org=newco.bank.example;exists=1" },
	{ "PSD np= for a non-existent name", R9, "a@nx.bank.example", N,
	  NULL, 0, 0, NULL, 0, 0, 0, DFAIL, "quarantine", "quarantine",
	  "bank.example", 0, 0, "psd;tag=np" },
	{ "PSD: its org's subdomain aligns", R9, "a@x.newco.bank.example", P,
	  "y.newco.bank.example", 0, 0, NULL, 0, 0, 0, DPASS, "quarantine",
	  "none", "bank.example", 1, 0, "org=newco.bank.example" },
	{ "psd=n: own organizational domain", R9, "a@x.div.corp.test", N,
	  NULL, 0, 0, "corp.test/s/pass", 0, 0, 0, DFAIL, "quarantine",
	  "quarantine", "div.corp.test", 0, 0, "org=div.corp.test" },
	{ "psd=n: aligned below it", R9, "a@x.div.corp.test", N, NULL, 0, 0,
	  "y.div.corp.test/s/pass", 0, 0, 0, DPASS, "quarantine", "none",
	  "div.corp.test", 0, 1, NULL },
	{ "B.4.1: DKIM signing.example.com aligns", R9, "a@example.com", P,
	  "example.com", 0, 0, "signing.example.com/s/pass", 0, 0, 0, DPASS,
	  "reject", "none", "example.com", 1, 1, "org=example.com" },
	/* ---- tree walk limits ---- */
	{ "B.4.2: deep author, 8 queries", R9,
	  "a@a.b.c.d.e.f.g.h.i.j.k.example.com", P, "example.com", 0, 0,
	  NULL, 0, 0, 0, DPASS, "reject", "none", "example.com", 1, 0,
	  "org=example.com;queries=8" },
	{ "walk skips the 8-label name", R9, "a@a.b.c.d.e.f.g.h.long.test", N,
	  NULL, 0, 0, NULL, 0, 0, 0, DFAIL, "reject", "reject", "long.test",
	  0, 0, "queries=8" },
	{ "8-label author: record at it", R9, "a@c.d.e.f.g.h.long.test", N,
	  NULL, 0, 0, NULL, 0, 0, 0, DFAIL, "none", "none",
	  "c.d.e.f.g.h.long.test", 0, 0, "tag=p;org=long.test" },
	{ "intermediate record below the org", R9, "a@a.b.deep.test", N,
	  NULL, 0, 0, NULL, 0, 0, 0, DFAIL, "quarantine", "quarantine",
	  "b.deep.test", 0, 0, "org=b.deep.test" },
	{ "walk stops at psd=n before a SERVFAIL", R9, "a@x.stop.tld2", N,
	  NULL, 0, 0, NULL, 0, 0, 0, DFAIL, "reject", "reject", "stop.tld2",
	  0, 0, NULL },
	{ "walk timeout above the record", R9, "a@go.tld3", N, NULL, 0, 0,
	  NULL, 0, 0, 0, DFAIL, "reject", "reject", "go.tld3", 0, 0, NULL },
	{ "timeout needed for relaxed alignment", R9, "a@go.tld3", P,
	  "m.go.tld3", 0, 0, NULL, 0, 0, 0, DTEMP, "reject", NULL, "go.tld3",
	  0, 0, NULL },
	/* ---- RFC 7489 mode and the PSL ---- */
	{ "7489: org domain under co.uk", R7, "a@mail.shop.co.uk", N, NULL, 0,
	  0, "shop.co.uk/s/pass", 0, 0, 0, DPASS, "quarantine", "none",
	  "shop.co.uk", -1, 1, "org=shop.co.uk;tag=sp" },
	{ "7489: co.uk sibling not aligned", R7, "a@shop.co.uk", N, NULL, 0,
	  0, "other.co.uk/s/pass", 0, 0, 0, DFAIL, "reject", "reject",
	  "shop.co.uk", -1, 0, NULL },
	{ "9989: co.uk the same by walk", R9, "a@mail.shop.co.uk", N, NULL, 0,
	  0, "x.shop.co.uk/s/pass", 0, 0, 0, DPASS, "quarantine", "none",
	  "shop.co.uk", -1, 1, "org=shop.co.uk" },
	{ "7489: no record at PSL org domain", R7, "a@a.b.example.net", N,
	  NULL, 0, 0, NULL, 0, 0, 0, DNONE, NULL, NULL, NULL, 0, 0,
	  "org=example.net;queries=2" },
	{ "9989: walk finds b.example.net", R9, "a@a.b.example.net", N, NULL,
	  0, 0, NULL, 0, 0, 0, DFAIL, "reject", "reject", "b.example.net", 0,
	  0, "org=b.example.net" },
	{ "7489: multiple records at author", R7, "a@m2.corp.test", N, NULL,
	  0, 0, NULL, 0, 0, 0, DNONE, NULL, NULL, NULL, 0, 0, NULL },
	{ "9989: multiple discarded, walk goes on", R9, "a@m2.corp.test", N,
	  NULL, 0, 0, NULL, 0, 0, 0, DFAIL, "reject", "reject", "corp.test",
	  0, 0, "tag=p" },
	{ "7489: pct=0 samples out", R7, "a@pct0.test", N, NULL, 0, 0, NULL,
	  3, 0, 0, DFAIL, "reject", "quarantine", "pct0.test", 0, 0,
	  "ov=sampled_out;sampled" },
	{ "7489: pct=50 selected", R7, "a@pct50.test", N, NULL, 0, 0, NULL,
	  149, 0, 0, DFAIL, "quarantine", "quarantine", "pct50.test", 0, 0,
	  NULL },
	{ "7489: pct=50 sampled out", R7, "a@pct50.test", N, NULL, 0, 0, NULL,
	  50, 0, 0, DFAIL, "quarantine", "none", "pct50.test", 0, 0,
	  "ov=sampled_out;sampled" },
	{ "7489: pct=100 always", R7, "a@pct100.test", N, NULL, 0, 0, NULL,
	  99, 0, 0, DFAIL, "reject", "reject", "pct100.test", 0, 0, NULL },
	{ "9989: pct ignored", R9, "a@pct0.test", N, NULL, 0, 0, NULL, 3, 0,
	  0, DFAIL, "reject", "reject", "pct0.test", 0, 0, NULL },
	{ "7489: t=y ignored", R7, "a@testing.test", N, NULL, 0, 0, NULL, 0,
	  0, 0, DFAIL, "reject", "reject", "testing.test", 0, 0, NULL },
	/* ---- t= and local overrides ---- */
	{ "t=y: reject tested as quarantine", R9, "a@testing.test", N, NULL,
	  0, 0, NULL, 0, 0, 0, DFAIL, "reject", "quarantine", "testing.test",
	  0, 0, "testing;ov=policy_test_mode" },
	{ "t=y: quarantine tested as none", R9, "a@testq.test", N, NULL, 0, 0,
	  NULL, 0, 0, 0, DFAIL, "quarantine", "none", "testq.test", 0, 0,
	  "testing" },
	{ "mailing list override", R9, "a@example.org", N, NULL, 0, 0, NULL,
	  0, MAILSEC_DMARC_LOCAL_MAILING_LIST, 0, DFAIL, "reject", "none",
	  "example.org", 0, 0, "ov=mailing_list" },
	{ "trusted ARC: local_policy (9989)", R9, "a@example.org", N, NULL, 0,
	  0, NULL, 0, MAILSEC_DMARC_LOCAL_TRUSTED_ARC, 0, DFAIL, "reject",
	  "none", "example.org", 0, 0, "ov=local_policy" },
	{ "trusted ARC: forwarded (7489)", R7, "a@example.org", N, NULL, 0, 0,
	  NULL, 0, MAILSEC_DMARC_LOCAL_TRUSTED_ARC |
	  MAILSEC_DMARC_LOCAL_TRUSTED_FORWARDER, 0, DFAIL, "reject", "none",
	  "example.org", 0, 0, "ov=forwarded;ov=trusted_forwarder" },
	{ "override not needed on pass", R9, "a@example.org", P,
	  "example.org", 0, 0, NULL, 0, MAILSEC_DMARC_LOCAL_MAILING_LIST, 0,
	  DPASS, "reject", "none", "example.org", 1, 0, "ov=" },
	{ "p=none fails with disposition none", R9, "a@nonepol.test", N, NULL,
	  0, 0, NULL, 0, 0, 0, DFAIL, "none", "none", "nonepol.test", 0, 0,
	  NULL },
	/* ---- broken and absent records ---- */
	{ "no record anywhere", R9, "a@nothing.test", P, "nothing.test", 0,
	  0, NULL, 0, 0, 0, DNONE, NULL, NULL, NULL, 0, 0, NULL },
	{ "several records at author, none above", R9, "a@multi.test", N,
	  NULL, 0, 0, NULL, 0, 0, 0, DNONE, NULL, NULL, NULL, 0, 0, NULL },
	{ "other TXT beside the record", R9, "a@mixed.test", N, NULL, 0, 0,
	  NULL, 0, 0, 0, DFAIL, "reject", "reject", "mixed.test", 0, 0,
	  NULL },
	{ "invalid p= and no rua: none", R9, "a@broken.test", N, NULL, 0, 0,
	  NULL, 0, 0, 0, DNONE, NULL, NULL, "broken.test", 0, 0, NULL },
	{ "invalid p= with rua: p=none", R9, "a@brokenrua.test", N, NULL, 0,
	  0, NULL, 0, 0, 0, DFAIL, "none", "none", "brokenrua.test", 0, 0,
	  NULL },
	{ "v= not first: not a record", R9, "a@order.test", N, NULL, 0, 0,
	  NULL, 0, 0, 0, DNONE, NULL, NULL, NULL, 0, 0, NULL },
	{ "v=dmarc1 (case): not a record", R9, "a@lower.test", N, NULL, 0, 0,
	  NULL, 0, 0, 0, DNONE, NULL, NULL, NULL, 0, 0, NULL },
	{ "no p= in RFC 9989: p=none", R9, "a@nop.test", N, NULL, 0, 0, NULL,
	  0, 0, 0, DFAIL, "none", "none", "nop.test", 0, 0, NULL },
	{ "no p= in RFC 7489 with rua: p=none", R7, "a@nop.test", N, NULL, 0,
	  0, NULL, 0, 0, 0, DFAIL, "none", "none", "nop.test", 0, 0, NULL },
	/* ---- temperror ---- */
	{ "SERVFAIL at the author", R9, "a@sf.test", P, "sf.test", 0, 0,
	  NULL, 0, 0, 0, DTEMP, NULL, NULL, NULL, 0, 0, NULL },
	{ "TIMEOUT at the author", R9, "a@to.test", P, "to.test", 0, 0, NULL,
	  0, 0, 0, DTEMP, NULL, NULL, NULL, 0, 0, NULL },
	{ "TIMEOUT during the walk", R9, "a@x.to2.test", N, NULL, 0, 0, NULL,
	  0, 0, 0, DTEMP, NULL, NULL, NULL, 0, 0, NULL },
	{ "7489: TIMEOUT at org domain", R7, "a@x.to2.test", N, NULL, 0, 0,
	  NULL, 0, 0, 0, DTEMP, NULL, NULL, NULL, 0, 0, NULL },
	{ "7489: SERVFAIL at author", R7, "a@sf.test", N, NULL, 0, 0, NULL, 0,
	  0, 0, DTEMP, NULL, NULL, NULL, 0, 0, NULL },
	/* ---- From edge cases (RFC 9989 11.5, CVE-2019-16378) ---- */
	{ "two addresses: strictest failing wins", R9,
	  "a@example.org, b@strict.test", P, "example.org", 0, 0, NULL, 0, 0,
	  0, DFAIL, "quarantine", "quarantine", "strict.test", 0, 0,
	  "from=strict.test;domains=2" },
	{ "two addresses: the spoofed one fails", R9,
	  "a@nothing.test, b@example.org", P, "nothing.test", 0, 0, NULL, 0,
	  0, 0, DFAIL, "reject", "reject", "example.org", 0, 0,
	  "from=example.org;domains=2" },
	{ "two addresses, both pass", R9, "a@example.org, b@mail.example.org",
	  P, "example.org", 0, 0, NULL, 0, 0, 0, DPASS, "reject", "none",
	  "example.org", 1, 0, "domains=2" },
	{ "two addresses, one domain", R9, "a@example.org, b@example.org", P,
	  "example.org", 0, 0, NULL, 0, 0, 0, DPASS, "reject", "none",
	  "example.org", 1, 0, "domains=1" },
	{ "two From fields: permerror, reject", R9,
	  "a@nothing.test\nb@example.org", P, "nothing.test", 0, 0, NULL, 0,
	  0, 0, DPERM, NULL, "reject", NULL, 0, 0, "queries=0" },
	{ "two From fields evaluated on request", R9,
	  "a@nothing.test\nb@example.org", P, "nothing.test", 0, 0, NULL, 0,
	  0, 1, DFAIL, "reject", "reject", "example.org", 0, 0, NULL },
	{ "unparseable From", R9, "Joe <joe@example.org", P, "example.org", 0,
	  0, NULL, 0, 0, 0, DPERM, NULL, "reject", NULL, 0, 0, NULL },
	{ "address literal", R9, "a@[192.0.2.1]", P, "example.org", 0, 0,
	  NULL, 0, 0, 0, DPERM, NULL, "reject", NULL, 0, 0, NULL },
	{ "no From field", R9, NULL, P, "example.org", 0, 0, NULL, 0, 0, 0,
	  DPERM, NULL, "reject", NULL, 0, 0, NULL },
	{ "empty group", R9, "undisclosed-recipients:;", P, "example.org", 0,
	  0, NULL, 0, 0, 0, DPERM, NULL, "reject", NULL, 0, 0, NULL },
	{ "IDN author domain as A-label", R9, "a@b\xc3\xbc" "cher.example.org",
	  N, NULL, 0, 0, "xn--bcher-kva.example.org/s/pass", 0, 0, 0, DPASS,
	  "reject", "none", "example.org", -1, 1,
	  "from=xn--bcher-kva.example.org" },
};

static uint32_t
fixed_random(void *arg)
{
	return *(const uint32_t *)arg;
}

static struct mailsec_author *
author_of(const char *from)
{
	struct mailsec_author *a = NULL;
	struct mailsec_msg *m = NULL;
	struct ms_buf b;
	const char *p = from;

	ms_buf_init(&b, 10000);
	while (p != NULL) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		assert_int_equal(ms_buf_printf(&b, "From: %.*s\r\n", (int)n,
		    p), MAILSEC_OK);
		p = nl ? nl + 1 : NULL;
	}
	assert_int_equal(ms_buf_appendz(&b, "Subject: t\r\n\r\nbody\r\n"),
	    MAILSEC_OK);
	assert_int_equal(mailsec_msg_parse(b.ptr, b.len, NULL, 0, &m, NULL),
	    MAILSEC_OK);
	assert_int_equal(mailsec_msg_author(m, &a), MAILSEC_OK);
	mailsec_msg_free(m);
	ms_buf_free(&b);
	return a;
}

/* DKIM entries "d/s/result,..." into v (strings point into buf). */
static size_t
dkim_of(const char *spec, char *buf, size_t bufsz,
    struct mailsec_dmarc_dkim *v, size_t max)
{
	size_t n = 0;
	char *p, *save = NULL;

	if (spec == NULL)
		return 0;
	snprintf(buf, bufsz, "%s", spec);
	for (p = strtok_r(buf, ",", &save); p != NULL && n < max;
	    p = strtok_r(NULL, ",", &save)) {
		char *s1 = strchr(p, '/'), *s2;

		assert_non_null(s1);
		*s1++ = '\0';
		s2 = strchr(s1, '/');
		assert_non_null(s2);
		*s2++ = '\0';
		v[n].domain = p;
		v[n].selector = s1;
		v[n].result = strcmp(s2, "pass") == 0 ? MAILSEC_DKIM_PASS :
		    strcmp(s2, "fail") == 0 ? MAILSEC_DKIM_FAIL :
		    MAILSEC_DKIM_TEMPERROR;
		n++;
	}
	return n;
}

static bool
str_is(const char *got, const char *want)
{
	if (want == NULL)
		return got == NULL;
	return got != NULL && strcmp(got, want) == 0;
}

static bool
has_override(const struct mailsec_dmarc_outcome *o, const char *name)
{
	size_t i;

	for (i = 0; i < o->noverrides; i++)
		if (strcmp(mailsec_dmarc_override_name(o->overrides[i].type),
		    name) == 0)
			return true;
	return false;
}

/* The ';'-separated extra checks; returns the first that fails. */
static const char *
check_extra(const struct scen *s, const struct mailsec_dmarc_outcome *o,
    char *buf, size_t bufsz)
{
	char *p, *save = NULL;

	if (s->extra == NULL)
		return NULL;
	snprintf(buf, bufsz, "%s", s->extra);
	for (p = strtok_r(buf, ";", &save); p != NULL;
	    p = strtok_r(NULL, ";", &save)) {
		const struct mailsec_dmarc_domain *d0 = o->ndomains ?
		    &o->domains[0] : NULL;
		bool ok;

		if (strncmp(p, "org=", 4) == 0)
			ok = str_is(o->org_domain, p + 4);
		else if (strncmp(p, "tag=", 4) == 0)
			ok = str_is(o->policy_tag, p + 4);
		else if (strcmp(p, "ov=") == 0)
			ok = o->noverrides == 0;
		else if (strncmp(p, "ov=", 3) == 0)
			ok = has_override(o, p + 3);
		else if (strncmp(p, "queries=", 8) == 0)
			ok = o->queries == strtoul(p + 8, NULL, 10);
		else if (strncmp(p, "domains=", 8) == 0)
			ok = o->ndomains == strtoul(p + 8, NULL, 10);
		else if (strncmp(p, "from=", 5) == 0)
			ok = str_is(o->from_domain, p + 5);
		else if (strncmp(p, "exists=", 7) == 0)
			ok = d0 != NULL && d0->exists ==
			    (int)strtol(p + 7, NULL, 10);
		else if (strncmp(p, "dkim=", 5) == 0) {
			char *sl = strchr(p + 5, '/');

			*sl = '\0';
			ok = str_is(o->dkim_domain, p + 5) &&
			    str_is(o->dkim_selector, sl + 1);
			*sl = '/';
		} else if (strcmp(p, "psd") == 0)
			ok = d0 != NULL && d0->from_psd;
		else if (strcmp(p, "testing") == 0)
			ok = o->testing;
		else if (strcmp(p, "sampled") == 0)
			ok = o->pct_applied && o->sampled_out;
		else
			ok = false;
		if (!ok)
			return p;
	}
	return NULL;
}

static void
dump(const struct mailsec_dmarc_outcome *o)
{
	size_t i;

	print_message("  result=%s policy=%s disp=%s pd=%s org=%s tag=%s "
	    "spf=%d dkim=%d queries=%u\n", mailsec_dmarc_result_name(
	    o->result), mailsec_dmarc_policy_name(o->policy) ?
	    mailsec_dmarc_policy_name(o->policy) : "null",
	    mailsec_dmarc_disposition_name(o->disposition) ?
	    mailsec_dmarc_disposition_name(o->disposition) : "null",
	    o->policy_domain ? o->policy_domain : "null",
	    o->org_domain ? o->org_domain : "null",
	    o->policy_tag ? o->policy_tag : "null", o->spf_aligned,
	    o->dkim_aligned, o->queries);
	for (i = 0; i < o->nreasons; i++)
		print_message("  - %s\n", o->reasons[i]);
}

static void
test_scenarios(void **state)
{
	struct mailsec_resolver *r;
	struct mailsec_dmarc_psl *psl;
	size_t i, failed = 0;

	(void)state;
	assert_int_equal(mailsec_resolver_new_zone_mem(zone, sizeof zone - 1,
	    NULL, &r, NULL), MAILSEC_OK);
	/* Debian's publicsuffix data (or libpsl's built-in list). */
	assert_int_equal(mailsec_dmarc_psl_load(NULL, &psl, NULL),
	    MAILSEC_OK);
	assert_true(MS_ARRAY_LEN(scens) >= 50);
	for (i = 0; i < MS_ARRAY_LEN(scens); i++) {
		const struct scen *s = &scens[i];
		struct mailsec_dmarc_dkim dk[8];
		struct mailsec_dmarc_request req;
		struct mailsec_dmarc_opts opts;
		struct mailsec_dmarc_outcome *o = NULL;
		struct mailsec_author *a = NULL;
		char dbuf[400], xbuf[400], mf[300];
		const char *bad = NULL;

		memset(&req, 0, sizeof req);
		memset(&opts, 0, sizeof opts);
		if (s->from != NULL)
			a = author_of(s->from);
		else {
			struct mailsec_msg *m;

			assert_int_equal(mailsec_msg_parse("Subject: x\r\n\r\n",
			    15, NULL, 0, &m, NULL), MAILSEC_OK);
			assert_int_equal(mailsec_msg_author(m, &a),
			    MAILSEC_OK);
			mailsec_msg_free(m);
		}
		req.author = a;
		req.spf_result = s->spf;
		req.spf_domain = s->spf_domain;
		req.spf_identity = s->helo ? MAILSEC_SPF_ID_HELO :
		    MAILSEC_SPF_ID_MAILFROM;
		if (s->helo)
			req.mail_from = s->mail_from;
		else if (s->spf_domain != NULL) {
			snprintf(mf, sizeof mf, "u@%s", s->spf_domain);
			req.mail_from = mf;
		}
		req.ndkim = dkim_of(s->dkim, dbuf, sizeof dbuf, dk, 8);
		req.dkim = dk;
		opts.mode = s->mode ? MAILSEC_DMARC_RFC7489 :
		    MAILSEC_DMARC_RFC9989;
		opts.psl = psl;
		opts.random = fixed_random;
		opts.random_arg = (void *)(uintptr_t)&s->rnd;
		opts.local = s->local;
		opts.evaluate_multiple_from = s->multi_from;
		mailsec_resolver_reset_query_count(r);
		assert_int_equal(mailsec_dmarc_evaluate(r, &req, &opts, &o,
		    NULL), MAILSEC_OK);
		if (o->result != s->result)
			bad = "result";
		else if (!str_is(mailsec_dmarc_policy_name(o->policy),
		    s->policy))
			bad = "policy";
		else if (!str_is(mailsec_dmarc_disposition_name(
		    o->disposition), s->disp))
			bad = "disposition";
		else if (!str_is(o->policy_domain, s->pd))
			bad = "policy domain";
		else if (s->spf_aligned >= 0 &&
		    o->spf_aligned != (s->spf_aligned == 1))
			bad = "spf_aligned";
		else if (s->dkim_aligned >= 0 &&
		    o->dkim_aligned != (s->dkim_aligned == 1))
			bad = "dkim_aligned";
		else if (o->queries != mailsec_resolver_query_count(r))
			bad = "query count";
		else if (o->nreasons == 0)
			bad = "no reasons";
		else
			bad = check_extra(s, o, xbuf, sizeof xbuf);
		if (bad != NULL) {
			print_message("FAIL scenario %zu '%s': %s\n", i,
			    s->name, bad);
			dump(o);
			failed++;
		}
		mailsec_dmarc_outcome_free(o);
		mailsec_author_free(a);
	}
	print_message("%zu DMARC scenarios, %zu failed\n",
	    MS_ARRAY_LEN(scens), failed);
	assert_int_equal(failed, 0);
	mailsec_dmarc_psl_free(psl);
	mailsec_resolver_free(r);
}

/* Discovery only: where the policy was found, both modes. */
static void
test_discover(void **state)
{
	struct mailsec_dmarc_opts opts = { 0 };
	struct mailsec_dmarc_outcome *o;
	struct mailsec_resolver *r;
	struct mailsec_dmarc_psl *psl;
	struct mailsec_diag diag = { 0 };

	(void)state;
	assert_int_equal(mailsec_resolver_new_zone_mem(zone, sizeof zone - 1,
	    NULL, &r, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_dmarc_discover(r, "x.newco.bank.example",
	    NULL, &o, NULL), MAILSEC_OK);
	assert_int_equal(o->result, MAILSEC_DMARC_NONE);
	assert_int_equal(o->ndomains, 1);
	assert_string_equal(o->domains[0].policy_domain, "bank.example");
	assert_string_equal(o->domains[0].queried_name, "_dmarc.bank.example");
	assert_string_equal(o->domains[0].org_domain, "newco.bank.example");
	assert_string_equal(o->domains[0].psd_domain, "bank.example");
	assert_true(o->domains[0].from_psd);
	assert_non_null(o->domains[0].record);
	assert_int_equal(o->domains[0].record->psd, MAILSEC_DMARC_PSD_Y);
	/* x.newco does not exist: np=quarantine. */
	assert_int_equal(o->domains[0].policy,
	    MAILSEC_DMARC_POLICY_QUARANTINE);
	assert_string_equal(o->domains[0].policy_tag, "np");
	assert_int_equal(o->domains[0].exists, 0);
	assert_int_equal(o->disposition, MAILSEC_DMARC_DISP_UNSET);
	mailsec_dmarc_outcome_free(o);

	assert_int_equal(mailsec_dmarc_psl_load(NULL, &psl, NULL), MAILSEC_OK);
	opts.mode = MAILSEC_DMARC_RFC7489;
	opts.psl = psl;
	assert_int_equal(mailsec_dmarc_discover(r, "a.b.example.net", &opts,
	    &o, NULL), MAILSEC_OK);
	assert_null(o->domains[0].policy_domain);
	assert_string_equal(o->domains[0].org_domain, "example.net");
	assert_non_null(o->domains[0].problem);
	mailsec_dmarc_outcome_free(o);
	opts.psl = NULL;
	assert_int_equal(mailsec_dmarc_discover(r, "example.org", &opts, &o,
	    &diag), MAILSEC_EINVAL);
	assert_true(diag.set);
	assert_int_equal(mailsec_dmarc_discover(r, "not a domain", NULL, &o,
	    NULL), MAILSEC_EINVAL);
	assert_null(o);
	mailsec_dmarc_psl_free(psl);
	mailsec_resolver_free(r);
}

struct counter {
	int calls;
};

static void
on_done(void *arg, struct mailsec_dmarc *d)
{
	struct counter *c = arg;

	assert_true(mailsec_dmarc_done(d));
	c->calls++;
}

/* Several evaluations share one resolver; a walk's queries go out in
 * one batch (before any answer is delivered). */
static void
test_async(void **state)
{
	static const char *const doms[] = {
		"a.b.c.d.e.f.g.h.i.j.k.example.com", "ghost.sub.test",
		"giant.bank.example", "to.test"
	};
	struct mailsec_dmarc *d[MS_ARRAY_LEN(doms)];
	struct counter cnt = { 0 };
	struct mailsec_resolver *r;
	size_t i;

	(void)state;
	assert_int_equal(mailsec_resolver_new_zone_mem(zone, sizeof zone - 1,
	    NULL, &r, NULL), MAILSEC_OK);
	for (i = 0; i < MS_ARRAY_LEN(doms); i++) {
		assert_int_equal(mailsec_dmarc_discover_new(r, doms[i], NULL,
		    &d[i], NULL), MAILSEC_OK);
		assert_int_equal(mailsec_dmarc_start(d[i], on_done, &cnt),
		    MAILSEC_OK);
		assert_int_equal(mailsec_dmarc_start(d[i], on_done, &cnt),
		    MAILSEC_ESTATE);
		assert_false(mailsec_dmarc_done(d[i]));
		assert_null(mailsec_dmarc_outcome(d[i]));
	}
	/* The deep name's 8 walk queries and the others' walks, at once. */
	assert_int_equal(mailsec_resolver_pending(r), 8 + 3 + 3 + 2);
	while (mailsec_resolver_pending(r) > 0)
		assert_int_equal(mailsec_resolver_wait(r, 1000), MAILSEC_OK);
	assert_int_equal(cnt.calls, (int)MS_ARRAY_LEN(doms));
	assert_string_equal(mailsec_dmarc_outcome(d[0])->domains[0].
	    policy_domain, "example.com");
	assert_int_equal(mailsec_dmarc_outcome(d[1])->domains[0].policy,
	    MAILSEC_DMARC_POLICY_NONE);
	assert_int_equal(mailsec_dmarc_outcome(d[3])->result,
	    MAILSEC_DMARC_TEMPERROR);
	for (i = 0; i < MS_ARRAY_LEN(doms); i++)
		mailsec_dmarc_free(d[i]);

	/* Freed while queries are pending: they are cancelled. */
	assert_int_equal(mailsec_dmarc_discover_new(r, "example.org", NULL,
	    &d[0], NULL), MAILSEC_OK);
	assert_int_equal(mailsec_dmarc_start(d[0], NULL, NULL), MAILSEC_OK);
	assert_true(mailsec_resolver_pending(r) > 0);
	mailsec_dmarc_free(d[0]);
	assert_int_equal(mailsec_resolver_pending(r), 0);
	mailsec_dmarc_free(NULL);
	mailsec_dmarc_outcome_free(NULL);
	mailsec_resolver_free(r);
}

static void
test_bad_requests(void **state)
{
	struct mailsec_dmarc_dkim dk[MAILSEC_DMARC_DKIM_MAX + 1];
	struct mailsec_dmarc_request req = { 0 };
	struct mailsec_dmarc *d = NULL;
	struct mailsec_resolver *r;
	struct mailsec_author *a;
	struct mailsec_diag diag = { 0 };
	size_t i;

	(void)state;
	assert_int_equal(mailsec_resolver_new_zone_mem(zone, sizeof zone - 1,
	    NULL, &r, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_dmarc_new(r, &req, NULL, &d, &diag),
	    MAILSEC_EINVAL);
	a = author_of("a@example.org");
	req.author = a;
	for (i = 0; i < MS_ARRAY_LEN(dk); i++) {
		dk[i].domain = "example.org";
		dk[i].selector = "s";
		dk[i].result = MAILSEC_DKIM_FAIL;
	}
	req.dkim = dk;
	req.ndkim = MS_ARRAY_LEN(dk);
	assert_int_equal(mailsec_dmarc_new(r, &req, NULL, &d, NULL),
	    MAILSEC_ELIMIT);
	req.ndkim = 1;
	dk[0].domain = NULL;
	assert_int_equal(mailsec_dmarc_new(r, &req, NULL, &d, NULL),
	    MAILSEC_EINVAL);
	assert_null(d);
	mailsec_author_free(a);
	/* More Author Domains than the limit: permerror, not a guess. */
	{
		struct ms_buf b;
		struct mailsec_dmarc_outcome *o;

		ms_buf_init(&b, 4000);
		for (i = 0; i <= MAILSEC_DMARC_AUTHOR_MAX; i++)
			assert_int_equal(ms_buf_printf(&b, "%sa@d%zu.example",
			    i ? ", " : "", i), MAILSEC_OK);
		a = author_of(b.ptr);
		ms_buf_free(&b);
		memset(&req, 0, sizeof req);
		req.author = a;
		assert_int_equal(mailsec_dmarc_evaluate(r, &req, NULL, &o,
		    NULL), MAILSEC_OK);
		assert_int_equal(o->result, MAILSEC_DMARC_PERMERROR);
		assert_int_equal(o->disposition, MAILSEC_DMARC_DISP_REJECT);
		assert_int_equal(o->queries, 0);
		mailsec_dmarc_outcome_free(o);
		mailsec_author_free(a);
	}
	mailsec_resolver_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_discover),
		cmocka_unit_test(test_async),
		cmocka_unit_test(test_bad_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
