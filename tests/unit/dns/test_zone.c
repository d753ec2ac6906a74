/*
 * tests/unit/dns/test_zone.c - the zone-file backend (lib/dns/zone.c,
 * zone_parse.c): RFC 1035 section 5 syntax, every record type, how
 * lookups map to answer / NXDOMAIN / NODATA / timeout / SERVFAIL, CNAME
 * chains, wildcards, the test directives, limits and parse errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include <mailsec/dns.h>

#define S(lit) (lit), (sizeof(lit) - 1)
#define NOCHECK SIZE_MAX
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define T_SOA 6
#define T_SRV 33

static struct mailsec_resolver *
zone_or_fail(const char *text, size_t len, const char *origin)
{
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag diag;
	mailsec_err err;

	memset(&diag, 0, sizeof diag);
	err = mailsec_resolver_new_zone_mem(text, len, origin, &r, &diag);
	if (err != MAILSEC_OK)
		print_error("zone refused: %s: %s\n", mailsec_errname(err),
		    diag.text);
	assert_int_equal(err, MAILSEC_OK);
	assert_non_null(r);
	return r;
}

static struct mailsec_dns_result *
ask(struct mailsec_resolver *r, const char *name, uint16_t type)
{
	struct mailsec_dns_result *res = NULL;

	assert_int_equal(mailsec_dns_lookup(r, name, type, &res), MAILSEC_OK);
	assert_non_null(res);
	return res;
}

/* One record as text, to compare with the tables. */
static void
rr_text(const struct mailsec_dns_rr *rr, char *buf, size_t size)
{
	char a[64];
	size_t i, n;

	switch (rr->type) {
	case MAILSEC_DNS_A:
		inet_ntop(AF_INET, rr->u.a, buf, (socklen_t)size);
		break;
	case MAILSEC_DNS_AAAA:
		inet_ntop(AF_INET6, rr->u.aaaa, buf, (socklen_t)size);
		break;
	case MAILSEC_DNS_MX:
		snprintf(buf, size, "%u %s", rr->u.mx.preference,
		    rr->u.mx.exchange);
		break;
	case MAILSEC_DNS_NS:
	case MAILSEC_DNS_CNAME:
	case MAILSEC_DNS_PTR:
		snprintf(buf, size, "%s", rr->u.name);
		break;
	case MAILSEC_DNS_TXT:
	case MAILSEC_DNS_SPF:
		n = (size_t)snprintf(buf, size, "%zu:", rr->u.txt.nstrings);
		for (i = 0; i < rr->u.txt.len && n + 5 < size; i++) {
			unsigned char c = (unsigned char)rr->u.txt.data[i];

			if (c >= 0x20 && c < 0x7f)
				buf[n++] = (char)c;
			else
				n += (size_t)snprintf(buf + n, size - n,
				    "\\%03u", c);
		}
		buf[n] = '\0';
		assert_int_equal(rr->u.txt.data[rr->u.txt.len], '\0');
		break;
	case MAILSEC_DNS_TLSA:
		n = (size_t)snprintf(buf, size, "%u %u %u ", rr->u.tlsa.usage,
		    rr->u.tlsa.selector, rr->u.tlsa.mtype);
		for (i = 0; i < rr->u.tlsa.len && n + 3 < size; i++)
			n += (size_t)snprintf(buf + n, size - n, "%02x",
			    rr->u.tlsa.data[i]);
		break;
	default:
		snprintf(a, sizeof a, "TYPE%u", rr->type);
		snprintf(buf, size, "%s", a);
		break;
	}
}

/* ---- one zone, many questions ------------------------------------------- */

static const char main_zone[] =
    "; the test zone\n"
    "$ORIGIN example.org.\n"
    "$TTL 300\n"
    "@        IN SOA ns1 hostmaster ( 2024010101 ; serial\n"
    "                 7200 3600 1209600 300 )\n"
    "         NS  ns1\n"
    "         NS  ns2.example.net.\n"
    "         MX  10 mail\n"
    "         MX  20 mail2.example.net.\n"
    "         A   192.0.2.1\n"
    "         TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
    "ns1      A 192.0.2.53\n"
    "mail     600 IN A 192.0.2.25\n"
    "         IN 700 AAAA 2001:db8::25\n"
    "MAIL2\tA 192.0.2.26 ; comment after a record\n"
    "\n"
    "   ; a blank line and a comment line\n"
    "nullmx   MX 0 .\n"
    "multi    TXT \"part one \" \"part two\" unquoted\n"
    "esc      TXT \"say \\\"hi\\\"\" \"\\065\\066C\" \"semi;colon\" "
    "\"back\\\\slash\" \"nul\\000byte\"\n"
    "spf      SPF \"v=spf1 -all\"\n"
    "long     TXT ( \"first\"    ; parentheses span lines\n"
    "               \"second\" )\n"
    "empty    TXT \"\"\n"
    "_25._tcp.mail TLSA 3 1 1 ( 0123456789abcdef\n"
    "                           0123456789ABCDEF )\n"
    "tlsa2    TLSA 2 0 0 a bc d\n"
    "_dmarc   TXT \"v=DMARC1; p=reject\"\n"
    "alias    CNAME mail\n"
    "alias2   CNAME alias\n"
    "ext      CNAME nowhere.example.net.\n"
    "dangling CNAME missing\n"
    "loop1    CNAME loop2\n"
    "loop2    CNAME loop1\n"
    "self     CNAME self\n"
    "toslow   CNAME slow\n"
    "*.wild   A 192.0.2.99\n"
    "         TXT \"wild\"\n"
    "sub.wild A 192.0.2.98\n"
    "walias   CNAME x.wild\n"
    "x.y.deep A 192.0.2.77\n"
    "Case.Mixed A 192.0.2.66\n"
    "abs.example.org. A 192.0.2.10\n"
    "esc\\.dot A 192.0.2.11\n"
    "\\097\\098c A 192.0.2.12\n"
    "opaque   TYPE65280 \\# 3 abcdef\n"
    "generic  TYPE1 \\# 4 C0000202\n"
    "txtwire  TXT \\# 12 05 68656c6c6f 05 776f 726c64\n"
    "mxwire   MX \\# 6 000a 026d7800\n"
    "srv      SRV 0 5 5060 sip\n"
    "unitttl  1h30m A 192.0.2.13\n"
    "$TIMEOUT slow\n"
    "$TIMEOUT halfslow TXT MX\n"
    "halfslow A 192.0.2.5\n"
    "         TXT \"never seen\"\n"
    "$SERVFAIL broken.example.org.\n"
    "$SERVFAIL halfbroken AAAA\n"
    "halfbroken A 192.0.2.6\n"
    "$SERVFAIL x.onlydir MX\n"
    "$ORIGIN 2.0.192.in-addr.arpa.\n"
    "1        PTR example.org.\n"
    "$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.\n"
    "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR mail.example.org.\n";

struct ask_case {
	const char *name;
	uint16_t type;
	enum mailsec_dns_status status;
	const char *rrs[3];		/* expected records, in order */
	uint32_t ttl;			/* of the first record, 0: any */
	const char *canonical;		/* NULL: the name as asked */
	const char *why;		/* substring of res->why */
};

#define ANS MAILSEC_DNS_ANSWER
#define NXD MAILSEC_DNS_NXDOMAIN
#define NOD MAILSEC_DNS_NODATA
#define TMO MAILSEC_DNS_TIMEOUT
#define SRV MAILSEC_DNS_SERVFAIL

static const struct ask_case ask_cases[] = {
	/* each type */
	{ "example.org", MAILSEC_DNS_A, ANS, { "192.0.2.1" }, 300, NULL,
	    NULL },
	{ "example.org.", MAILSEC_DNS_A, ANS, { "192.0.2.1" }, 300, NULL,
	    NULL },
	{ "EXAMPLE.Org", MAILSEC_DNS_MX, ANS, { "10 mail.example.org",
	    "20 mail2.example.net" }, 300, NULL, NULL },
	{ "example.org", MAILSEC_DNS_NS, ANS, { "ns1.example.org",
	    "ns2.example.net" }, 0, NULL, NULL },
	{ "example.org", MAILSEC_DNS_TXT, ANS,
	    { "1:v=spf1 ip4:192.0.2.0/24 -all" }, 0, NULL, NULL },
	{ "example.org", T_SOA, ANS, { "TYPE6" }, 300, NULL, NULL },
	{ "mail.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.25" }, 600,
	    NULL, NULL },
	{ "mail.example.org", MAILSEC_DNS_AAAA, ANS, { "2001:db8::25" }, 700,
	    NULL, NULL },
	{ "mail2.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.26" }, 300,
	    NULL, NULL },
	{ "nullmx.example.org", MAILSEC_DNS_MX, ANS, { "0 " }, 0, NULL,
	    NULL },
	{ "multi.example.org", MAILSEC_DNS_TXT, ANS,
	    { "3:part one part twounquoted" }, 0, NULL, NULL },
	{ "esc.example.org", MAILSEC_DNS_TXT, ANS,
	    { "5:say \"hi\"ABCsemi;colonback\\slashnul\\000byte" }, 0, NULL,
	    NULL },
	{ "spf.example.org", MAILSEC_DNS_SPF, ANS, { "1:v=spf1 -all" }, 0,
	    NULL, NULL },
	{ "spf.example.org", MAILSEC_DNS_TXT, NOD, { NULL }, 0, NULL, NULL },
	{ "long.example.org", MAILSEC_DNS_TXT, ANS, { "2:firstsecond" }, 0,
	    NULL, NULL },
	{ "empty.example.org", MAILSEC_DNS_TXT, ANS, { "1:" }, 0, NULL,
	    NULL },
	{ "_25._tcp.mail.example.org", MAILSEC_DNS_TLSA, ANS,
	    { "3 1 1 0123456789abcdef0123456789abcdef" }, 0, NULL, NULL },
	{ "tlsa2.example.org", MAILSEC_DNS_TLSA, ANS, { "2 0 0 abcd" }, 0,
	    NULL, NULL },
	{ "_dmarc.example.org", MAILSEC_DNS_TXT, ANS,
	    { "1:v=DMARC1; p=reject" }, 0, NULL, NULL },
	{ "1.2.0.192.in-addr.arpa", MAILSEC_DNS_PTR, ANS, { "example.org" },
	    0, NULL, NULL },
	{ "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	    "ip6.arpa", MAILSEC_DNS_PTR, ANS, { "mail.example.org" }, 0,
	    NULL, NULL },
	{ "srv.example.org", T_SRV, ANS, { "TYPE33" }, 0, NULL, NULL },
	{ "srv.example.org", MAILSEC_DNS_A, NOD, { NULL }, 0, NULL, NULL },
	{ "unitttl.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.13" }, 5400,
	    NULL, NULL },

	/* RFC 3597 generic form */
	{ "opaque.example.org", 65280, ANS, { "TYPE65280" }, 0, NULL, NULL },
	{ "opaque.example.org", MAILSEC_DNS_A, NOD, { NULL }, 0, NULL, NULL },
	{ "generic.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.2" }, 0,
	    NULL, NULL },
	{ "txtwire.example.org", MAILSEC_DNS_TXT, ANS, { "2:helloworld" }, 0,
	    NULL, NULL },
	{ "mxwire.example.org", MAILSEC_DNS_MX, ANS, { "10 mx" }, 0, NULL,
	    NULL },

	/* names: case, escapes, absolute owners */
	{ "case.mixed.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.66" }, 0,
	    NULL, NULL },
	{ "CASE.MIXED.EXAMPLE.ORG.", MAILSEC_DNS_A, ANS, { "192.0.2.66" }, 0,
	    NULL, NULL },
	{ "abs.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.10" }, 0, NULL,
	    NULL },
	{ "esc\\.dot.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.11" }, 0,
	    NULL, NULL },
	{ "esc\\046dot.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.11" }, 0,
	    NULL, NULL },
	{ "esc.dot.example.org", MAILSEC_DNS_A, NXD, { NULL }, 0, NULL, NULL },
	{ "abc.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.12" }, 0, NULL,
	    NULL },

	/* NXDOMAIN and NODATA, empty non-terminals (RFC 8020) */
	{ "nothere.example.org", MAILSEC_DNS_A, NXD, { NULL }, 0, NULL,
	    NULL },
	{ "mail.example.org", MAILSEC_DNS_MX, NOD, { NULL }, 0, NULL, NULL },
	{ "deep.example.org", MAILSEC_DNS_A, NOD, { NULL }, 0, NULL, NULL },
	{ "y.deep.example.org", MAILSEC_DNS_TXT, NOD, { NULL }, 0, NULL,
	    NULL },
	{ "z.deep.example.org", MAILSEC_DNS_A, NXD, { NULL }, 0, NULL, NULL },
	{ "_tcp.mail.example.org", MAILSEC_DNS_TLSA, NOD, { NULL }, 0, NULL,
	    NULL },
	{ "org", MAILSEC_DNS_A, NOD, { NULL }, 0, NULL, NULL },
	{ "com", MAILSEC_DNS_A, NXD, { NULL }, 0, NULL, NULL },

	/* CNAMEs */
	{ "alias.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.25" }, 600,
	    "mail.example.org", NULL },
	{ "ALIAS2.example.org", MAILSEC_DNS_AAAA, ANS, { "2001:db8::25" },
	    700, "mail.example.org", NULL },
	{ "alias.example.org", MAILSEC_DNS_CNAME, ANS, { "mail.example.org" },
	    300, NULL, NULL },
	{ "alias2.example.org", MAILSEC_DNS_CNAME, ANS,
	    { "alias.example.org" }, 0, NULL, NULL },
	{ "mail.example.org", MAILSEC_DNS_CNAME, NOD, { NULL }, 0, NULL,
	    NULL },
	{ "alias.example.org", MAILSEC_DNS_TXT, NOD, { NULL }, 0,
	    "mail.example.org", NULL },
	{ "ext.example.org", MAILSEC_DNS_A, NXD, { NULL }, 0,
	    "nowhere.example.net", NULL },
	{ "dangling.example.org", MAILSEC_DNS_MX, NXD, { NULL }, 0,
	    "missing.example.org", NULL },
	{ "loop1.example.org", MAILSEC_DNS_A, SRV, { NULL }, 0, NULL,
	    "CNAME loop" },
	{ "self.example.org", MAILSEC_DNS_TXT, SRV, { NULL }, 0, NULL,
	    "CNAME loop" },
	{ "toslow.example.org", MAILSEC_DNS_A, TMO, { NULL }, 0,
	    "slow.example.org", "$TIMEOUT" },

	/* wildcards, RFC 4592 */
	{ "foo.wild.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.99" }, 0,
	    NULL, NULL },
	{ "foo.wild.example.org", MAILSEC_DNS_TXT, ANS, { "1:wild" }, 0,
	    NULL, NULL },
	{ "a.b.wild.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.99" }, 0,
	    NULL, NULL },
	{ "foo.wild.example.org", MAILSEC_DNS_MX, NOD, { NULL }, 0, NULL,
	    NULL },
	{ "sub.wild.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.98" }, 0,
	    NULL, NULL },
	{ "sub.wild.example.org", MAILSEC_DNS_TXT, NOD, { NULL }, 0, NULL,
	    NULL },
	{ "x.sub.wild.example.org", MAILSEC_DNS_A, NXD, { NULL }, 0, NULL,
	    NULL },
	{ "wild.example.org", MAILSEC_DNS_A, NOD, { NULL }, 0, NULL, NULL },
	{ "*.wild.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.99" }, 0, NULL,
	    NULL },
	{ "x.*.wild.example.org", MAILSEC_DNS_A, NXD, { NULL }, 0, NULL,
	    NULL },
	{ "walias.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.99" }, 0,
	    "x.wild.example.org", NULL },

	/* test directives */
	{ "slow.example.org", MAILSEC_DNS_A, TMO, { NULL }, 0, NULL,
	    "$TIMEOUT" },
	{ "slow.example.org", MAILSEC_DNS_TLSA, TMO, { NULL }, 0, NULL,
	    "$TIMEOUT" },
	{ "halfslow.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.5" }, 0,
	    NULL, NULL },
	{ "halfslow.example.org", MAILSEC_DNS_TXT, TMO, { NULL }, 0, NULL,
	    "$TIMEOUT" },
	{ "halfslow.example.org", MAILSEC_DNS_MX, TMO, { NULL }, 0, NULL,
	    "$TIMEOUT" },
	{ "halfslow.example.org", MAILSEC_DNS_AAAA, NOD, { NULL }, 0, NULL,
	    NULL },
	{ "broken.example.org", MAILSEC_DNS_A, SRV, { NULL }, 0, NULL,
	    "$SERVFAIL" },
	{ "BROKEN.example.org.", MAILSEC_DNS_MX, SRV, { NULL }, 0, NULL,
	    "$SERVFAIL" },
	{ "halfbroken.example.org", MAILSEC_DNS_AAAA, SRV, { NULL }, 0, NULL,
	    "$SERVFAIL" },
	{ "halfbroken.example.org", MAILSEC_DNS_A, ANS, { "192.0.2.6" }, 0,
	    NULL, NULL },
	{ "x.onlydir.example.org", MAILSEC_DNS_MX, SRV, { NULL }, 0, NULL,
	    "$SERVFAIL" },
	{ "x.onlydir.example.org", MAILSEC_DNS_A, NXD, { NULL }, 0, NULL,
	    NULL },
	{ "onlydir.example.org", MAILSEC_DNS_MX, NXD, { NULL }, 0, NULL,
	    NULL },
};

static void
check_case(struct mailsec_resolver *r, const struct ask_case *c)
{
	struct mailsec_dns_result *res;
	char buf[512];
	size_t i, want = 0;

	res = ask(r, c->name, c->type);
	while (want < NELEM(c->rrs) && c->rrs[want] != NULL)
		want++;
	if (res->status != c->status || res->count != want)
		print_error("%s type %u: %s with %zu records (%s)\n", c->name,
		    c->type, mailsec_dns_status_name(res->status),
		    res->count, res->why);
	assert_int_equal(res->status, c->status);
	assert_int_equal(res->count, want);
	assert_int_equal(res->qtype, c->type);
	assert_false(res->secure);
	assert_false(res->bogus);
	for (i = 0; i < want; i++) {
		assert_int_equal(res->rrs[i].type, c->type);
		rr_text(&res->rrs[i], buf, sizeof buf);
		assert_string_equal(buf, c->rrs[i]);
	}
	if (want > 0 && c->ttl != 0 && res->rrs[0].ttl != c->ttl)
		print_error("%s: TTL %u\n", c->name, res->rrs[0].ttl);
	if (want > 0 && c->ttl != 0)
		assert_int_equal(res->rrs[0].ttl, c->ttl);
	assert_non_null(res->canonical);
	if (c->canonical != NULL) {
		assert_string_equal(res->canonical, c->canonical);
	} else {
		/* the name as asked, final dot removed */
		size_t n = strlen(c->name);

		if (n > 0 && c->name[n - 1] == '.')
			n--;
		assert_int_equal(strlen(res->canonical), n);
		assert_memory_equal(res->canonical, c->name, n);
	}
	if (c->why != NULL) {
		if (strstr(res->why, c->why) == NULL)
			print_error("why: %s\n", res->why);
		assert_non_null(strstr(res->why, c->why));
	}
	mailsec_dns_result_free(res);
}

static void
test_zone_answers(void **state)
{
	struct mailsec_resolver *r;
	size_t i;

	(void)state;
	r = zone_or_fail(S(main_zone), NULL);
	assert_string_equal(mailsec_resolver_backend(r), "zone");
	for (i = 0; i < NELEM(ask_cases); i++)
		check_case(r, &ask_cases[i]);
	assert_int_equal(mailsec_resolver_query_count(r),
	    NELEM(ask_cases));
	mailsec_resolver_free(r);
}

/* ---- origins and TTL defaults ------------------------------------------- */

static void
expect(struct mailsec_resolver *r, const char *name, uint16_t type,
    enum mailsec_dns_status status, uint32_t ttl)
{
	struct mailsec_dns_result *res = ask(r, name, type);

	if (res->status != status)
		print_error("%s: %s (%s)\n", name,
		    mailsec_dns_status_name(res->status), res->why);
	assert_int_equal(res->status, status);
	if (status == MAILSEC_DNS_ANSWER) {
		assert_true(res->count > 0);
		if (ttl != 0)
			assert_int_equal(res->rrs[0].ttl, ttl);
	} else {
		assert_int_equal(res->count, 0);
	}
	mailsec_dns_result_free(res);
}

static void
test_zone_origin_argument(void **state)
{
	static const char text[] =
	    "@ A 192.0.2.1\n"
	    "www A 192.0.2.2\n"
	    "other.example.net. A 192.0.2.3\n";
	struct mailsec_resolver *r;

	(void)state;
	r = zone_or_fail(S(text), "example.com.");
	expect(r, "example.com", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 0);
	expect(r, "www.example.com", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 0);
	expect(r, "www", MAILSEC_DNS_A, MAILSEC_DNS_NXDOMAIN, 0);
	expect(r, "other.example.net", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 0);
	mailsec_resolver_free(r);

	/* without a trailing dot, and NULL: the root */
	r = zone_or_fail(S(text), "example.com");
	expect(r, "www.example.com", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 0);
	mailsec_resolver_free(r);
	r = zone_or_fail(S(text), NULL);
	expect(r, "www", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 0);
	expect(r, "", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 0);
	expect(r, ".", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 0);
	mailsec_resolver_free(r);

	/* a relative $ORIGIN is appended to the current one */
	r = zone_or_fail(S("$ORIGIN org.\n$ORIGIN example\nmx A 192.0.2.4\n"),
	    NULL);
	expect(r, "mx.example.org", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 0);
	mailsec_resolver_free(r);
}

static void
test_zone_ttl_defaults(void **state)
{
	static const char text[] =
	    "a.test. A 192.0.2.1\n"		/* nothing stated: 3600 */
	    "b.test. 120 A 192.0.2.2\n"
	    "c.test. A 192.0.2.3\n"		/* last stated: 120 */
	    "$TTL 1d\n"
	    "d.test. A 192.0.2.4\n"		/* $TTL wins: 86400 */
	    "e.test. 1W A 192.0.2.5\n"
	    "f.test. A 192.0.2.6\n"		/* still $TTL */
	    "g.test. 0 A 192.0.2.7\n"
	    "h.test. IN 2147483647 A 192.0.2.8\n";
	struct mailsec_resolver *r;
	struct mailsec_dns_result *res;

	(void)state;
	r = zone_or_fail(S(text), NULL);
	expect(r, "a.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 3600);
	expect(r, "b.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 120);
	expect(r, "c.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 120);
	expect(r, "d.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 86400);
	expect(r, "e.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 604800);
	expect(r, "f.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 86400);
	res = ask(r, "g.test", MAILSEC_DNS_A);
	assert_int_equal(res->status, MAILSEC_DNS_ANSWER);
	assert_int_equal(res->rrs[0].ttl, 0);
	mailsec_dns_result_free(res);
	expect(r, "h.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 2147483647u);
	mailsec_resolver_free(r);
}

/* Several records of one type come back in file order, even when other
 * types and names sit between them. */
static void
test_zone_rrset_order(void **state)
{
	static const char text[] =
	    "$ORIGIN rr.test.\n"
	    "@ TXT \"one\"\n"
	    "@ A 192.0.2.1\n"
	    "other A 192.0.2.9\n"
	    "@ TXT \"two\"\n"
	    "@ A 192.0.2.2\n"
	    "@ TXT \"three\"\n";
	struct mailsec_resolver *r;
	struct mailsec_dns_result *res;

	(void)state;
	r = zone_or_fail(S(text), NULL);
	res = ask(r, "rr.test", MAILSEC_DNS_TXT);
	assert_int_equal(res->count, 3);
	assert_string_equal(res->rrs[0].u.txt.data, "one");
	assert_string_equal(res->rrs[1].u.txt.data, "two");
	assert_string_equal(res->rrs[2].u.txt.data, "three");
	mailsec_dns_result_free(res);
	res = ask(r, "rr.test", MAILSEC_DNS_A);
	assert_int_equal(res->count, 2);
	assert_int_equal(res->rrs[1].u.a[3], 2);
	mailsec_dns_result_free(res);
	mailsec_resolver_free(r);
}

/* ---- CNAME chain length ------------------------------------------------- */

static struct mailsec_resolver *
chain_zone(unsigned hops)
{
	static char text[4096];
	size_t n = 0;
	unsigned i;

	for (i = 1; i <= hops; i++)
		n += (size_t)snprintf(text + n, sizeof text - n,
		    "c%u.chain. CNAME c%u.chain.\n", i, i + 1);
	n += (size_t)snprintf(text + n, sizeof text - n,
	    "c%u.chain. A 192.0.2.1\n", hops + 1);
	return zone_or_fail(text, n, NULL);
}

static void
test_zone_cname_chain_limit(void **state)
{
	struct mailsec_resolver *r;
	struct mailsec_dns_result *res;

	(void)state;
	/* 16 CNAMEs are followed */
	r = chain_zone(16);
	res = ask(r, "c1.chain", MAILSEC_DNS_A);
	assert_int_equal(res->status, MAILSEC_DNS_ANSWER);
	assert_string_equal(res->canonical, "c17.chain");
	mailsec_dns_result_free(res);
	mailsec_resolver_free(r);

	/* the 17th is not */
	r = chain_zone(17);
	res = ask(r, "c1.chain", MAILSEC_DNS_A);
	assert_int_equal(res->status, MAILSEC_DNS_SERVFAIL);
	assert_true(mailsec_dns_status_is_temporary(res->status));
	assert_non_null(strstr(res->why, "CNAME"));
	mailsec_dns_result_free(res);
	res = ask(r, "c2.chain", MAILSEC_DNS_A);
	assert_int_equal(res->status, MAILSEC_DNS_ANSWER);
	mailsec_dns_result_free(res);
	mailsec_resolver_free(r);
}

/* ---- parse errors ------------------------------------------------------- */

struct bad_case {
	const char *what;
	const char *text;
	size_t len;
	mailsec_err err;
	size_t line;
	size_t offset;		/* NOCHECK: not checked */
	const char *diag;	/* substring of diag.text */
};

static const struct bad_case bad_cases[] = {
	{ "A not an address", S("a. A 1.2.3\n"), MAILSEC_ESYNTAX, 1, 5,
	    "'1.2.3' is not an IPv4 address" },
	{ "MX preference", S("a. A 1.2.3.4\nb. MX 7x mail.\n"),
	    MAILSEC_ESYNTAX, 2, 19, "line 2: MX preference '7x' is not a "
	    "number" },
	{ "AAAA not an address", S("a. AAAA 2001:db8::g\n"), MAILSEC_ESYNTAX,
	    1, 8, "not an IPv6 address" },
	{ "A with a NUL byte", S("a. A 1.2.3.4\0\n"), MAILSEC_ESYNTAX, 1, 5,
	    "not an IPv4 address" },
	{ "$INCLUDE", S("; x\n$INCLUDE other.zone\n"), MAILSEC_EUNSUPPORTED,
	    2, 4, "$INCLUDE is not supported" },
	{ "class CH", S("a. CH TXT \"x\"\n"), MAILSEC_EUNSUPPORTED, 1, 3,
	    "class 'CH' is not supported" },
	{ "class CLASS3", S("a. 60 CLASS3 A 1.2.3.4\n"), MAILSEC_EUNSUPPORTED,
	    1, NOCHECK, "class" },
	{ "two classes", S("a. IN IN A 1.2.3.4\n"), MAILSEC_ESYNTAX, 1, 6,
	    "second class" },
	{ "two TTLs", S("a. 1 2 A 1.2.3.4\n"), MAILSEC_ESYNTAX, 1, 5,
	    "second TTL" },
	{ "TTL too large", S("a. 2147483648 A 1.2.3.4\n"), MAILSEC_ESYNTAX, 1,
	    3, "TTL '2147483648'" },
	{ "TTL bad unit", S("a. 1x A 1.2.3.4\n"), MAILSEC_ESYNTAX, 1, 3,
	    "TTL '1x'" },
	{ "unknown type", S("a. FOO 1\n"), MAILSEC_ESYNTAX, 1, 3,
	    "unknown type 'FOO'" },
	{ "no type", S("\n\na.\n"), MAILSEC_ESYNTAX, 3, 2, "no record type" },
	{ "blank owner first", S("\n  A 1.2.3.4\n"), MAILSEC_ESYNTAX, 2, 3,
	    "no owner" },
	{ "quoted string not closed", S("a. TXT \"abc\n\n\n"),
	    MAILSEC_ESYNTAX, 1, 7, "never closed" },
	{ "parenthesis not closed",
	    S("a. TXT ( \"x\"\n\"y\"\nb. A 1.2.3.4\n"), MAILSEC_ESYNTAX, 1,
	    7, "'(' is never closed" },
	{ "parenthesis not opened", S("a. A 1.2.3.4 )\n"), MAILSEC_ESYNTAX, 1,
	    13, "')' without '('" },
	{ "nested parentheses", S("a. TXT ( ( \"x\" ) )\n"), MAILSEC_ESYNTAX,
	    1, 9, "'(' inside" },
	{ "line count through parentheses and comments",
	    S("; c\n\na. TXT ( \"x\" ; one\n \"y\" )\nb. A 1.2.3.4.5\n"),
	    MAILSEC_ESYNTAX, 5, NOCHECK, "line 5:" },
	{ "line count through a quoted line end",
	    S("a. TXT \"two\nlines\"\nb. A x\n"), MAILSEC_ESYNTAX, 3,
	    NOCHECK, "line 3:" },
	{ "empty label", S("a..b. A 1.2.3.4\n"), MAILSEC_ESYNTAX, 1, 0,
	    "empty label" },
	{ "leading dot", S(".a. A 1.2.3.4\n"), MAILSEC_ESYNTAX, 1, 0,
	    "empty label" },
	{ "label of 64", S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaa. A 1.2.3.4\n"), MAILSEC_ELIMIT, 1, 0,
	    "label longer than 63" },
	{ "name with the origin too long", S("$ORIGIN "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.\n"
	    "bb A 1.2.3.4\n"), MAILSEC_ELIMIT, 2, NOCHECK,
	    "longer than 253" },
	{ "bad name escape", S("a\\300. A 1.2.3.4\n"), MAILSEC_ESYNTAX, 1, 0,
	    "bad escape" },
	{ "quoted owner", S("\"a\" A 1.2.3.4\n"), MAILSEC_ESYNTAX, 1, 0,
	    "must not be quoted" },
	{ "TXT string of 256", S("a. TXT \""
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "\"\n"), MAILSEC_ELIMIT, 1, 7, "longer than 255" },
	{ "TXT bad escape", S("a. TXT \"\\25x\"\n"), MAILSEC_ESYNTAX, 1, 7,
	    "bad escape" },
	{ "TXT without strings", S("a. TXT\n"), MAILSEC_ESYNTAX, 1, 3,
	    "at least one string" },
	{ "TLSA odd hex", S("a. TLSA 3 1 1 abc\n"), MAILSEC_ESYNTAX, 1, 14,
	    "odd number of hex digits" },
	{ "TLSA not hex", S("a. TLSA 3 1 1 ab xy\n"), MAILSEC_ESYNTAX, 1, 17,
	    "'xy' is not hexadecimal" },
	{ "TLSA usage", S("a. TLSA 256 1 1 ab\n"), MAILSEC_ESYNTAX, 1, 8,
	    "TLSA usage '256'" },
	{ "TLSA without data", S("a. TLSA 3 1 1\n"), MAILSEC_ESYNTAX, 1, 3,
	    "TLSA needs" },
	{ "A with extra data", S("a. A 1.2.3.4 extra\n"), MAILSEC_ESYNTAX, 1,
	    13, "unexpected 'extra'" },
	{ "MX without exchange", S("a. MX 10\n"), MAILSEC_ESYNTAX, 1, 3,
	    "MX needs" },
	{ "CNAME and other data",
	    S("a. CNAME b.\nc. A 1.2.3.4\na. A 1.2.3.4\n"),
	    MAILSEC_ESYNTAX, 3, 25, "CNAME and other data" },
	{ "two CNAMEs", S("a. CNAME b.\na. CNAME c.\n"), MAILSEC_ESYNTAX, 2,
	    12, "more than one CNAME" },
	{ "bad $TTL", S("$TTL forever\n"), MAILSEC_ESYNTAX, 1, 5,
	    "$TTL 'forever'" },
	{ "$ORIGIN without a name", S("$ORIGIN\n"), MAILSEC_ESYNTAX, 1, 0,
	    "$ORIGIN needs one name" },
	{ "unknown directive", S("$FROB x\n"), MAILSEC_ESYNTAX, 1, 0,
	    "unknown directive '$FROB'" },
	{ "$TIMEOUT without a name", S("$TIMEOUT ; nothing\n"),
	    MAILSEC_ESYNTAX, 1, 0, "needs a name" },
	{ "$SERVFAIL with a bad type", S("$SERVFAIL a. A BOGUS\n"),
	    MAILSEC_ESYNTAX, 1, 15, "unknown type 'BOGUS'" },
	{ "TYPEnnn without \\#", S("a. TYPE999 1 2\n"), MAILSEC_ESYNTAX, 1, 3,
	    "RFC 3597" },
	{ "\\# length mismatch", S("a. TYPE1 \\# 4 0a00\n"), MAILSEC_ESYNTAX,
	    1, 12, "\\# length 4 but 2" },
	{ "\\# bad A rdata", S("a. TYPE1 \\# 2 0a00\n"), MAILSEC_ESYNTAX, 1,
	    9, "not valid TYPE1 RDATA" },
	{ "\\# TXT overrun", S("a. TXT \\# 2 05ff\n"), MAILSEC_ESYNTAX, 1, 7,
	    "not valid TXT RDATA" },
	{ "DNAME", S("a. DNAME b.\n"), MAILSEC_EUNSUPPORTED, 1, 3,
	    "DNAME is not supported" },
	{ "meta type", S("a. TYPE255 \\# 0\n"), MAILSEC_ESYNTAX, 1, 3,
	    "meta type" },
	{ "SOA too short", S("@ SOA ns. host. 1 2 3 4\n"), MAILSEC_ESYNTAX,
	    1, 2, "SOA needs" },
	{ "SOA bad serial", S("@ SOA ns. host. x 2 3 4 5\n"), MAILSEC_ESYNTAX,
	    1, 16, "SOA serial 'x'" },
	{ "opaque type without data", S("a. SRV\n"), MAILSEC_ESYNTAX, 1, 3,
	    "SRV needs data" },
	{ "backslash at the end", S("a. TXT x\\"), MAILSEC_ESYNTAX, 1, 8,
	    "end of the input" },
	{ "backslash before a line end", S("a. TXT x\\\ny\n"), MAILSEC_ESYNTAX,
	    1, 8, "end of a line" },
};

static void
test_zone_parse_errors(void **state)
{
	struct mailsec_resolver *r;
	struct mailsec_diag diag;
	const struct bad_case *c;
	mailsec_err err;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(bad_cases); i++) {
		c = &bad_cases[i];
		memset(&diag, 0, sizeof diag);
		r = (struct mailsec_resolver *)&diag;	/* must be reset */
		err = mailsec_resolver_new_zone_mem(c->text, c->len, NULL, &r,
		    &diag);
		if (err != c->err || diag.line != c->line ||
		    (c->offset != NOCHECK && diag.offset != c->offset) ||
		    strstr(diag.text, c->diag) == NULL)
			print_error("%s: %s line %zu offset %zu: %s\n",
			    c->what, mailsec_errname(err), diag.line,
			    diag.offset, diag.text);
		assert_int_equal(err, c->err);
		assert_null(r);
		assert_int_equal(diag.set, 1);
		assert_int_equal(diag.line, c->line);
		if (c->offset != NOCHECK)
			assert_int_equal(diag.offset, c->offset);
		assert_non_null(strstr(diag.text, c->diag));
		/* the text names the line too */
		assert_true(strncmp(diag.text, "line ", 5) == 0);
		/* and a NULL diag is fine */
		err = mailsec_resolver_new_zone_mem(c->text, c->len, NULL, &r,
		    NULL);
		assert_int_equal(err, c->err);
	}
}

/* ---- limits ------------------------------------------------------------- */

static void
test_zone_limits(void **state)
{
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag diag;
	char *text, name[400];
	size_t n = 0, i;
	mailsec_err err;

	(void)state;
	/* 127 one-octet labels: 253 octets, the longest name */
	for (i = 0; i < 127; i++)
		n += (size_t)snprintf(name + n, sizeof name - n, "%sa",
		    i > 0 ? "." : "");
	assert_int_equal(n, 253);
	text = malloc(1024);
	assert_non_null(text);
	n = (size_t)snprintf(text, 1024, "%s. A 192.0.2.1\n", name);
	r = zone_or_fail(text, n, NULL);
	expect(r, name, MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 0);
	mailsec_resolver_free(r);
	/* one more label: 255 */
	n = (size_t)snprintf(text, 1024, "b.%s. A 192.0.2.1\n", name);
	memset(&diag, 0, sizeof diag);
	err = mailsec_resolver_new_zone_mem(text, n, NULL, &r, &diag);
	assert_int_equal(err, MAILSEC_ELIMIT);
	assert_non_null(strstr(diag.text, "longer than 253"));
	free(text);

	/* a line longer than 65536 bytes */
	n = 70000;
	text = malloc(n);
	assert_non_null(text);
	memcpy(text, "a. A 1.2.3.4\n; ", 15);
	memset(text + 15, 'x', n - 15);
	memset(&diag, 0, sizeof diag);
	err = mailsec_resolver_new_zone_mem(text, n, NULL, &r, &diag);
	assert_int_equal(err, MAILSEC_ELIMIT);
	assert_int_equal(diag.line, 2);
	assert_int_equal(diag.offset, 13);
	free(text);

	/* the whole input */
	err = mailsec_resolver_new_zone_mem("", (size_t)64 * 1024 * 1024 + 1,
	    NULL, &r, &diag);
	assert_int_equal(err, MAILSEC_ELIMIT);

	/* TXT RDATA is at most 65535 octets: 255 strings of 255 fit
	 * (65280), 256 do not (65536) */
	text = malloc(9 + 256 * 256 + 2);
	assert_non_null(text);
	memcpy(text, "a. TXT (\n", 9);
	n = 9;
	for (i = 0; i < 256; i++) {
		memset(text + n, 'y', 255);
		n += 255;
		text[n++] = '\n';
	}
	memcpy(text + n, ")\n", 2);
	n += 2;
	memset(&diag, 0, sizeof diag);
	err = mailsec_resolver_new_zone_mem(text, n, NULL, &r, &diag);
	assert_int_equal(err, MAILSEC_ELIMIT);
	assert_int_equal(diag.line, 257);
	assert_non_null(strstr(diag.text, "longer than 65535"));
	n = 9 + 255 * 256;
	memcpy(text + n, ")\n", 2);
	r = zone_or_fail(text, n + 2, NULL);
	{
		struct mailsec_dns_result *res = ask(r, "a", MAILSEC_DNS_TXT);

		assert_int_equal(res->count, 1);
		assert_int_equal(res->rrs[0].u.txt.nstrings, 255);
		assert_int_equal(res->rrs[0].u.txt.len, 255 * 255);
		mailsec_dns_result_free(res);
	}
	mailsec_resolver_free(r);
	free(text);

	/* more items than one entry may hold */
	n = 3 + 2 * 5000 + 1;
	text = malloc(n);
	assert_non_null(text);
	memcpy(text, "a. TXT", 6);
	for (i = 6; i + 2 <= n - 1; i += 2)
		memcpy(text + i, " x", 2);
	text[n - 1] = '\n';
	err = mailsec_resolver_new_zone_mem(text, n, NULL, &r, &diag);
	assert_int_equal(err, MAILSEC_ELIMIT);
	assert_non_null(strstr(diag.text, "items"));
	free(text);
}

/* A zone with many names: lookups go through the hash table. */
static void
test_zone_many_names(void **state)
{
	struct mailsec_resolver *r;
	struct ms_big { char *p; size_t len, cap; } b = { NULL, 0, 0 };
	char name[64];
	unsigned i;

	(void)state;
	b.cap = 50000 * 40;
	b.p = malloc(b.cap);
	assert_non_null(b.p);
	for (i = 0; i < 50000; i++)
		b.len += (size_t)snprintf(b.p + b.len, b.cap - b.len,
		    "h%u.s%u.big. A 10.%u.%u.%u\n", i, i % 97, i >> 16 & 255,
		    i >> 8 & 255, i & 255);
	r = zone_or_fail(b.p, b.len, NULL);
	free(b.p);
	for (i = 0; i < 50000; i += 777) {
		struct mailsec_dns_result *res;

		snprintf(name, sizeof name, "H%u.S%u.BIG", i, i % 97);
		res = ask(r, name, MAILSEC_DNS_A);
		assert_int_equal(res->status, MAILSEC_DNS_ANSWER);
		assert_int_equal(res->count, 1);
		assert_int_equal(res->rrs[0].u.a[3], i & 255);
		mailsec_dns_result_free(res);
	}
	expect(r, "s5.big", MAILSEC_DNS_A, MAILSEC_DNS_NODATA, 0);
	expect(r, "s97.big", MAILSEC_DNS_A, MAILSEC_DNS_NXDOMAIN, 0);
	mailsec_resolver_free(r);
}

/* ---- the API around it -------------------------------------------------- */

static void
test_zone_invalid_query_names(void **state)
{
	static const char *const bad[] = {
	    "a..example.org", ".example.org", "..",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".example.org",		/* label of 64 */
	    "bad\\escape\\", "x\\300.example.org",
	};
	struct mailsec_resolver *r;
	struct mailsec_dns_result *res = NULL;
	char name[300];
	size_t i, n = 0;

	(void)state;
	r = zone_or_fail(S("example.org. A 192.0.2.1\n"), NULL);
	for (i = 0; i < NELEM(bad); i++) {
		if (mailsec_dns_lookup(r, bad[i], MAILSEC_DNS_A, &res) !=
		    MAILSEC_EINVAL)
			print_error("accepted: %s\n", bad[i]);
		assert_int_equal(mailsec_dns_lookup(r, bad[i], MAILSEC_DNS_A,
		    &res), MAILSEC_EINVAL);
	}
	/* 254 octets */
	for (i = 0; i < 127; i++)
		n += (size_t)snprintf(name + n, sizeof name - n, "a.");
	n += (size_t)snprintf(name + n, sizeof name - n, "b");
	assert_int_equal(n, 255);
	assert_int_equal(mailsec_dns_lookup(r, name, MAILSEC_DNS_A, &res),
	    MAILSEC_EINVAL);
	assert_null(res);
	assert_int_equal(mailsec_resolver_pending(r), 0);
	assert_int_equal(mailsec_resolver_query_count(r), 0);
	/* type 0 */
	assert_int_equal(mailsec_dns_lookup(r, "example.org", 0, &res),
	    MAILSEC_EINVAL);
	mailsec_resolver_free(r);
}

static void
test_zone_bad_arguments(void **state)
{
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag diag;

	(void)state;
	memset(&diag, 0, sizeof diag);
	assert_int_equal(mailsec_resolver_new_zone_mem(NULL, 3, NULL, &r,
	    &diag), MAILSEC_EINVAL);
	assert_int_equal(mailsec_resolver_new_zone_mem("", 0, NULL, NULL,
	    NULL), MAILSEC_EINVAL);
	assert_int_equal(mailsec_resolver_new_zone_mem("", 0, "a..b", &r,
	    &diag), MAILSEC_EINVAL);
	assert_non_null(strstr(diag.text, "origin"));
	/* an empty zone: everything is NXDOMAIN */
	r = zone_or_fail(NULL, 0, NULL);
	expect(r, "example.org", MAILSEC_DNS_A, MAILSEC_DNS_NXDOMAIN, 0);
	expect(r, "", MAILSEC_DNS_A, MAILSEC_DNS_NXDOMAIN, 0);
	mailsec_resolver_free(r);
	/* only comments and blank lines, CRLF line ends */
	r = zone_or_fail(S("; one\r\n\r\n   ; two\r\na. A 192.0.2.1\r\n"),
	    NULL);
	expect(r, "a", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 0);
	mailsec_resolver_free(r);
	mailsec_resolver_free(NULL);
}

static void
test_zone_file(void **state)
{
	char path[] = "/tmp/test_zone_XXXXXX";
	static const char text[] = "$ORIGIN file.test.\n"
	    "@ MX 5 mx\nmx A 192.0.2.7\nbad A 1.2.3\n";
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag diag;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	/* everything but the last line first */
	assert_int_equal(write(fd, text, sizeof text - 1 - 12),
	    (ssize_t)(sizeof text - 1 - 12));
	assert_int_equal(mailsec_resolver_new_zone_file(path, &r, NULL),
	    MAILSEC_OK);
	expect(r, "mx.file.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER, 0);
	expect(r, "file.test", MAILSEC_DNS_MX, MAILSEC_DNS_ANSWER, 0);
	assert_int_equal(mailsec_resolver_fd(r), -1);
	mailsec_resolver_free(r);
	/* now with the broken line: the diag says where */
	assert_int_equal(write(fd, text + sizeof text - 1 - 12, 12), 12);
	close(fd);
	memset(&diag, 0, sizeof diag);
	assert_int_equal(mailsec_resolver_new_zone_file(path, &r, &diag),
	    MAILSEC_ESYNTAX);
	assert_null(r);
	assert_int_equal(diag.line, 4);
	assert_non_null(strstr(diag.text, "line 4: A address '1.2.3'"));
	unlink(path);
	/* gone */
	memset(&diag, 0, sizeof diag);
	assert_int_equal(mailsec_resolver_new_zone_file(path, &r, &diag),
	    MAILSEC_ENOTFOUND);
	assert_non_null(strstr(diag.text, path));
	/* a directory cannot be read */
	assert_int_equal(mailsec_resolver_new_zone_file("/", &r, &diag),
	    MAILSEC_EIO);
	/* through the command line's chooser */
	assert_int_equal(mailsec_resolver_new_from_args(NULL, path, &r, NULL),
	    MAILSEC_ENOTFOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zone_answers),
		cmocka_unit_test(test_zone_origin_argument),
		cmocka_unit_test(test_zone_ttl_defaults),
		cmocka_unit_test(test_zone_rrset_order),
		cmocka_unit_test(test_zone_cname_chain_limit),
		cmocka_unit_test(test_zone_parse_errors),
		cmocka_unit_test(test_zone_limits),
		cmocka_unit_test(test_zone_many_names),
		cmocka_unit_test(test_zone_invalid_query_names),
		cmocka_unit_test(test_zone_bad_arguments),
		cmocka_unit_test(test_zone_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
