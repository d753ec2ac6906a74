/*
 * tests/integration/test_unbound_decode.c - the libunbound backend
 * without an authoritative server:
 * - the RDATA decoder and the answer-packet scanner on hand-made input,
 *   well-formed and malformed (RFC 1035 3.3, 4.1.4; RFC 6698 2.1);
 * - the forward list and trust anchor checks of
 *   mailsec_resolver_new_unbound() and their diagnostics;
 * - deadlines: a forwarder that never answers gives TIMEOUT;
 * - a fake upstream on loopback (a thread in this process) that sets
 *   AD, answers REFUSED or NXDOMAIN, or sends a broken record.
 * All traffic stays on 127.0.0.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mailsec/dns.h>

/* lib/dns/unbound.c, exposed for these tests. */
mailsec_err ms_unbound_rdata_decode(uint16_t type, const uint8_t *p,
    size_t len, struct mailsec_dns_rr *rr);
mailsec_err ms_unbound_packet_scan(const uint8_t *pkt, size_t len,
    char **canonical);
void ms_dns_rr_cleanup(struct mailsec_dns_rr *rr);

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define BYTES(s) (const uint8_t *)(s), sizeof(s) - 1

/* ---- RDATA ------------------------------------------------------------- */

struct rdata_case {
	const char *what;
	uint16_t type;
	const uint8_t *p;
	size_t len;
	mailsec_err want;
	const char *text;	/* name / TXT data / NULL */
	size_t tlen;		/* TXT length */
	size_t n;		/* MX preference, TXT strings, TLSA len */
};

static const struct rdata_case rdata_cases[] = {
	{ "A", MAILSEC_DNS_A, BYTES("\xc0\x00\x02\x01"), MAILSEC_OK,
	    NULL, 0, 0 },
	{ "A short", MAILSEC_DNS_A, BYTES("\xc0\x00\x02"), MAILSEC_ESYNTAX,
	    NULL, 0, 0 },
	{ "A long", MAILSEC_DNS_A, BYTES("\xc0\x00\x02\x01\x00"),
	    MAILSEC_ESYNTAX, NULL, 0, 0 },
	{ "AAAA", MAILSEC_DNS_AAAA,
	    BYTES("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x10"), MAILSEC_OK,
	    NULL, 0, 0 },
	{ "AAAA short", MAILSEC_DNS_AAAA,
	    BYTES("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0"), MAILSEC_ESYNTAX,
	    NULL, 0, 0 },
	{ "MX", MAILSEC_DNS_MX, BYTES("\x00\x0a\x02mx\x07" "example\x03org\0"),
	    MAILSEC_OK, "mx.example.org", 0, 10 },
	{ "MX null", MAILSEC_DNS_MX, BYTES("\x00\x00\x00"), MAILSEC_OK,
	    "", 0, 0 },
	{ "MX no name", MAILSEC_DNS_MX, BYTES("\x00\x0a"), MAILSEC_ESYNTAX,
	    NULL, 0, 0 },
	{ "MX label overrun", MAILSEC_DNS_MX, BYTES("\x00\x0a\x05mx\0"),
	    MAILSEC_ESYNTAX, NULL, 0, 0 },
	{ "MX no root label", MAILSEC_DNS_MX, BYTES("\x00\x0a\x02mx"),
	    MAILSEC_ESYNTAX, NULL, 0, 0 },
	{ "MX trailing byte", MAILSEC_DNS_MX, BYTES("\x00\x0a\x02mx\0\0"),
	    MAILSEC_ESYNTAX, NULL, 0, 0 },
	{ "CNAME", MAILSEC_DNS_CNAME, BYTES("\x04host\x04test\0"),
	    MAILSEC_OK, "host.test", 0, 0 },
	{ "CNAME compressed", MAILSEC_DNS_CNAME, BYTES("\x04host\xc0\x0c"),
	    MAILSEC_ESYNTAX, NULL, 0, 0 },
	{ "CNAME label 64", MAILSEC_DNS_CNAME, BYTES("\x40"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\0"), MAILSEC_ESYNTAX, NULL, 0, 0 },
	{ "CNAME 0x40 label", MAILSEC_DNS_CNAME, BYTES("\x41\0"),
	    MAILSEC_ESYNTAX, NULL, 0, 0 },
	{ "CNAME empty", MAILSEC_DNS_CNAME, BYTES(""), MAILSEC_ESYNTAX,
	    NULL, 0, 0 },
	{ "NS escapes", MAILSEC_DNS_NS,
	    BYTES("\x05" "a.b c\x04_x-Y\x02\xff\\\0"), MAILSEC_OK,
	    "a\\.b\\032c._x-Y.\\255\\092", 0, 0 },
	{ "PTR root", MAILSEC_DNS_PTR, BYTES("\0"), MAILSEC_OK, "", 0, 0 },
	{ "TXT one", MAILSEC_DNS_TXT, BYTES("\x06v=spf1"), MAILSEC_OK,
	    "v=spf1", 6, 1 },
	{ "TXT two", MAILSEC_DNS_TXT, BYTES("\x03" "abc\x00\x02" "de"),
	    MAILSEC_OK, "abcde", 5, 3 },
	{ "TXT NUL", MAILSEC_DNS_TXT, BYTES("\x03" "a\0b"), MAILSEC_OK,
	    "a\0b", 3, 1 },
	{ "TXT no strings", MAILSEC_DNS_TXT, BYTES(""), MAILSEC_OK,
	    "", 0, 0 },
	{ "TXT overrun", MAILSEC_DNS_TXT, BYTES("\x03" "abc\x05" "de"),
	    MAILSEC_ESYNTAX, NULL, 0, 0 },
	{ "SPF", MAILSEC_DNS_SPF, BYTES("\x02" "ab"), MAILSEC_OK,
	    "ab", 2, 1 },
	{ "TLSA", MAILSEC_DNS_TLSA, BYTES("\x03\x01\x01\xaa\xbb"),
	    MAILSEC_OK, NULL, 0, 2 },
	{ "TLSA no data", MAILSEC_DNS_TLSA, BYTES("\x03\x01\x01"),
	    MAILSEC_OK, NULL, 0, 0 },
	{ "TLSA short", MAILSEC_DNS_TLSA, BYTES("\x03\x01"),
	    MAILSEC_ESYNTAX, NULL, 0, 0 },
	{ "unknown type", 6, BYTES("\x01\x02\x03"), MAILSEC_OK, NULL, 0, 0 },
};

static void
test_rdata_table(void **state)
{
	struct mailsec_dns_rr rr;
	const struct rdata_case *c;
	size_t i;
	mailsec_err err;

	(void)state;
	for (i = 0; i < N(rdata_cases); i++) {
		c = &rdata_cases[i];
		memset(&rr, 0x5a, sizeof rr);
		err = ms_unbound_rdata_decode(c->type, c->p, c->len, &rr);
		if (err != c->want)
			fail_msg("%s: got %s, want %s", c->what,
			    mailsec_errname(err), mailsec_errname(c->want));
		if (err != MAILSEC_OK)
			continue;
		assert_int_equal(rr.type, c->type);
		switch (c->type) {
		case MAILSEC_DNS_A:
			assert_memory_equal(rr.u.a, c->p, 4);
			break;
		case MAILSEC_DNS_AAAA:
			assert_memory_equal(rr.u.aaaa, c->p, 16);
			break;
		case MAILSEC_DNS_MX:
			assert_int_equal(rr.u.mx.preference, c->n);
			assert_string_equal(rr.u.mx.exchange, c->text);
			break;
		case MAILSEC_DNS_NS:
		case MAILSEC_DNS_CNAME:
		case MAILSEC_DNS_PTR:
			assert_string_equal(rr.u.name, c->text);
			break;
		case MAILSEC_DNS_TXT:
		case MAILSEC_DNS_SPF:
			assert_int_equal(rr.u.txt.len, c->tlen);
			assert_int_equal(rr.u.txt.nstrings, c->n);
			assert_memory_equal(rr.u.txt.data, c->text,
			    c->tlen + 1);
			break;
		case MAILSEC_DNS_TLSA:
			assert_int_equal(rr.u.tlsa.usage, 3);
			assert_int_equal(rr.u.tlsa.selector, 1);
			assert_int_equal(rr.u.tlsa.mtype, 1);
			assert_int_equal(rr.u.tlsa.len, c->n);
			assert_non_null(rr.u.tlsa.data);
			assert_memory_equal(rr.u.tlsa.data, c->p + 3, c->n);
			break;
		default:
			break;
		}
		ms_dns_rr_cleanup(&rr);
	}
}

/* A wire name of wirelen octets, labels of 63 and a shorter last one. */
static size_t
make_name(uint8_t *buf, size_t wirelen)
{
	size_t off = 0, left = wirelen - 1, l;

	while (left > 0) {
		l = left - 1 < 63 ? left - 1 : 63;
		buf[off++] = (uint8_t)l;
		memset(buf + off, 'a', l);
		off += l;
		left -= l + 1;
	}
	buf[off++] = 0;
	return off;
}

/* Names at the wire limit: 255 octets pass, 256 do not (RFC 1035
 * 2.3.4). */
static void
test_rdata_name_limit(void **state)
{
	uint8_t buf[300];
	struct mailsec_dns_rr rr;
	size_t n;

	(void)state;
	n = make_name(buf, 255);
	assert_int_equal(n, 255);
	assert_int_equal(ms_unbound_rdata_decode(MAILSEC_DNS_CNAME, buf, n,
	    &rr), MAILSEC_OK);
	assert_int_equal(strlen(rr.u.name), 253);
	ms_dns_rr_cleanup(&rr);
	n = make_name(buf, 256);
	assert_int_equal(n, 256);
	assert_int_equal(ms_unbound_rdata_decode(MAILSEC_DNS_CNAME, buf, n,
	    &rr), MAILSEC_ESYNTAX);
}

/* Every prefix of a valid MX must be refused without reading past it
 * (ASan watches the copy's end). */
static void
test_rdata_truncations(void **state)
{
	static const uint8_t mx[] = "\x00\x0a\x04mail\x07" "example\x03org";
	struct mailsec_dns_rr rr;
	uint8_t *p;
	size_t n;

	(void)state;
	for (n = 0; n < sizeof mx; n++) {
		p = malloc(n ? n : 1);
		assert_non_null(p);
		memcpy(p, mx, n);
		assert_int_equal(ms_unbound_rdata_decode(MAILSEC_DNS_MX, p, n,
		    &rr), n == sizeof mx ? MAILSEC_OK : MAILSEC_ESYNTAX);
		free(p);
	}
	p = malloc(sizeof mx);
	assert_non_null(p);
	memcpy(p, mx, sizeof mx);
	assert_int_equal(ms_unbound_rdata_decode(MAILSEC_DNS_MX, p, sizeof mx,
	    &rr), MAILSEC_OK);
	assert_string_equal(rr.u.mx.exchange, "mail.example.org");
	ms_dns_rr_cleanup(&rr);
	free(p);
}

/* ---- answer packets ----------------------------------------------------- */

/* header: id 0, flags QR RD RA (+AD), qd 1, an as given */
#define HDR(ad, an) "\x00\x00\x81" ad "\x00\x01\x00" an "\x00\x00\x00\x00"
#define Q_WWW "\x03www\x07" "example\x04test\x00"	/* at offset 12 */
#define QT_A "\x00\x01\x00\x01"
#define QT_CNAME "\x00\x05\x00\x01"

struct pkt_case {
	const char *what;
	const uint8_t *p;
	size_t len;
	mailsec_err want;
	const char *canonical;
};

static const struct pkt_case pkt_cases[] = {
	{ "no answer", BYTES(HDR("\x80", "\x00") Q_WWW QT_A), MAILSEC_OK,
	    "www.example.test" },
	{ "AD", BYTES(HDR("\xa0", "\x00") Q_WWW QT_A), MAILSEC_OK,
	    "www.example.test", },
	{ "CNAME chain compressed",
	    BYTES(HDR("\x80", "\x03") Q_WWW QT_A
	    /* www CNAME host.example.test (host at 45) */
	    "\xc0\x0c\x00\x05\x00\x01\x00\x00\x0e\x10\x00\x07"
	    "\x04host\xc0\x10"
	    /* host CNAME final.example.test */
	    "\xc0\x2e\x00\x05\x00\x01\x00\x00\x0e\x10\x00\x08"
	    "\x05" "final\xc0\x10"
	    /* final A */
	    "\xc0\x41\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xc0\x00\x02\x01"),
	    MAILSEC_OK, "final.example.test" },
	{ "CNAME owner differs in case",
	    BYTES(HDR("\x80", "\x01") Q_WWW QT_A
	    "\x03WWW\x07" "EXAMPLE\x04TEST\x00"
	    "\x00\x05\x00\x01\x00\x00\x0e\x10\x00\x04\x01x\xc0\x10"),
	    MAILSEC_OK, "x.example.test" },
	{ "question for the CNAME itself",
	    BYTES(HDR("\x80", "\x01") Q_WWW QT_CNAME
	    "\xc0\x0c\x00\x05\x00\x01\x00\x00\x0e\x10\x00\x07"
	    "\x04host\xc0\x10"),
	    MAILSEC_OK, "www.example.test" },
	{ "CNAME loop is bounded",
	    BYTES(HDR("\x80", "\x01") Q_WWW QT_A
	    "\xc0\x0c\x00\x05\x00\x01\x00\x00\x0e\x10\x00\x02\xc0\x0c"),
	    MAILSEC_OK, "www.example.test" },
	{ "escaped owner", BYTES(HDR("\x80", "\x00")
	    "\x03" "a.b\x01\xc8\x00" QT_A), MAILSEC_OK, "a\\.b.\\200" },
	{ "short header", BYTES("\x00\x00\x81\x80\x00\x01"), MAILSEC_ESYNTAX,
	    NULL },
	{ "no question", BYTES(HDR("\x80", "\x00")), MAILSEC_ESYNTAX,
	    NULL },
	{ "question count 0", BYTES("\x00\x00\x81\x80\x00\x00\x00\x00"
	    "\x00\x00\x00\x00"), MAILSEC_ESYNTAX, NULL },
	{ "question truncated", BYTES(HDR("\x80", "\x00") Q_WWW "\x00"),
	    MAILSEC_ESYNTAX, NULL },
	{ "pointer to itself", BYTES(HDR("\x80", "\x00") "\xc0\x0c" QT_A),
	    MAILSEC_ESYNTAX, NULL },
	{ "pointer forward", BYTES(HDR("\x80", "\x00") "\xc0\x0e\x00" QT_A),
	    MAILSEC_ESYNTAX, NULL },
	{ "pointer cut", BYTES(HDR("\x80", "\x00") "\xc0"), MAILSEC_ESYNTAX,
	    NULL },
	{ "answer truncated", BYTES(HDR("\x80", "\x01") Q_WWW QT_A
	    "\xc0\x0c\x00\x05\x00\x01\x00\x00"), MAILSEC_ESYNTAX, NULL },
	{ "RDLENGTH overrun", BYTES(HDR("\x80", "\x01") Q_WWW QT_A
	    "\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x09\xc0\x00"),
	    MAILSEC_ESYNTAX, NULL },
	{ "CNAME with trailing bytes", BYTES(HDR("\x80", "\x01") Q_WWW QT_A
	    "\xc0\x0c\x00\x05\x00\x01\x00\x00\x0e\x10\x00\x04\x01x\x00\x00"),
	    MAILSEC_ESYNTAX, NULL },
	{ "answers missing", BYTES(HDR("\x80", "\x02") Q_WWW QT_A),
	    MAILSEC_ESYNTAX, NULL },
};

static void
test_packet_table(void **state)
{
	const struct pkt_case *c;
	char *canonical;
	uint8_t *copy;
	size_t i;
	mailsec_err err;

	(void)state;
	for (i = 0; i < N(pkt_cases); i++) {
		c = &pkt_cases[i];
		/* an exact-size heap copy, so ASan sees any over-read */
		copy = malloc(c->len);
		assert_non_null(copy);
		memcpy(copy, c->p, c->len);
		canonical = NULL;
		err = ms_unbound_packet_scan(copy, c->len, &canonical);
		free(copy);
		if (err != c->want)
			fail_msg("%s: got %s, want %s", c->what,
			    mailsec_errname(err), mailsec_errname(c->want));
		if (err != MAILSEC_OK)
			continue;
		if (strcmp(canonical, c->canonical) != 0)
			fail_msg("%s: canonical '%s', want '%s'", c->what,
			    canonical, c->canonical);
		free(canonical);
	}
}

/* ---- construction and diagnostics --------------------------------------- */

struct spec_case {
	const char *spec;
	mailsec_err want;
	const char *diag;	/* exact text, or NULL */
	size_t offset;
};

static const struct spec_case spec_cases[] = {
	{ "127.0.0.1", MAILSEC_OK, NULL, 0 },
	{ "127.0.0.1@5353", MAILSEC_OK, NULL, 0 },
	{ "::1@53", MAILSEC_OK, NULL, 0 },
	{ "2001:db8::1", MAILSEC_OK, NULL, 0 },
	{ " 127.0.0.1@53 , ::1 ", MAILSEC_OK, NULL, 0 },
	{ "1.2.3.4@99999", MAILSEC_EINVAL,
	    "--dns: '1.2.3.4@99999' has an invalid port", 0 },
	{ "1.2.3.4@0", MAILSEC_EINVAL,
	    "--dns: '1.2.3.4@0' has an invalid port", 0 },
	{ "1.2.3.4@", MAILSEC_EINVAL,
	    "--dns: '1.2.3.4@' has an invalid port", 0 },
	{ "1.2.3.4@53x", MAILSEC_EINVAL,
	    "--dns: '1.2.3.4@53x' has an invalid port", 0 },
	{ "1.2.3.4@-1", MAILSEC_EINVAL,
	    "--dns: '1.2.3.4@-1' has an invalid port", 0 },
	{ "1.2.3.4@000053", MAILSEC_EINVAL,
	    "--dns: '1.2.3.4@000053' has an invalid port", 0 },
	{ "127.0.0.1,dns.example", MAILSEC_EINVAL,
	    "--dns: 'dns.example' is not an IPv4 or IPv6 address", 10 },
	{ "1.2.3", MAILSEC_EINVAL,
	    "--dns: '1.2.3' is not an IPv4 or IPv6 address", 0 },
	{ "[::1]:53", MAILSEC_EINVAL,
	    "--dns: '[::1]:53' is not an IPv4 or IPv6 address", 0 },
	{ "@53", MAILSEC_EINVAL,
	    "--dns: '@53' is not an IPv4 or IPv6 address", 0 },
	{ "1.2.3.4,,5.6.7.8", MAILSEC_EINVAL,
	    "--dns: empty server in '1.2.3.4,,5.6.7.8'", 8 },
	{ "1.2.3.4,", MAILSEC_EINVAL,
	    "--dns: empty server in '1.2.3.4,'", 8 },
	{ "1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,"
	  "1.1.1.9,1.1.1.10,1.1.1.11,1.1.1.12,1.1.1.13,1.1.1.14,1.1.1.15,"
	  "1.1.1.16,1.1.1.17", MAILSEC_ELIMIT,
	    "--dns: more than 16 servers", 0 },
};

static void
test_forward_specs(void **state)
{
	struct mailsec_unbound_opts o = { NULL, false, NULL };
	struct mailsec_resolver *r;
	struct mailsec_diag diag;
	const struct spec_case *c;
	size_t i;
	mailsec_err err;

	(void)state;
	for (i = 0; i < N(spec_cases); i++) {
		c = &spec_cases[i];
		memset(&diag, 0, sizeof diag);
		o.forward = c->spec;
		r = NULL;
		err = mailsec_resolver_new_unbound(&o, &r, &diag);
		if (err != c->want)
			fail_msg("'%s': got %s (%s), want %s", c->spec,
			    mailsec_errname(err), diag.text,
			    mailsec_errname(c->want));
		if (err == MAILSEC_OK) {
			assert_non_null(r);
			assert_string_equal(mailsec_resolver_backend(r),
			    "unbound");
			assert_true(mailsec_resolver_fd(r) >= 0);
			assert_int_equal(mailsec_resolver_pending(r), 0);
			assert_int_equal(mailsec_resolver_next_timeout(r), -1);
			mailsec_resolver_free(r);
			continue;
		}
		assert_null(r);
		assert_true(diag.set);
		if (c->diag != NULL)
			assert_string_equal(diag.text, c->diag);
		if (c->offset != 0)
			assert_int_equal(diag.offset, c->offset);
	}
}

/* The CLI path: --dns goes through the same checks. */
static void
test_from_args(void **state)
{
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag diag = { 0 };

	(void)state;
	assert_int_equal(mailsec_resolver_new_from_args("1.2.3.4@99999",
	    NULL, &r, &diag), MAILSEC_EINVAL);
	assert_null(r);
	assert_string_equal(diag.text,
	    "--dns: '1.2.3.4@99999' has an invalid port");
	assert_int_equal(mailsec_resolver_new_from_args("127.0.0.1@53",
	    NULL, &r, NULL), MAILSEC_OK);
	assert_string_equal(mailsec_resolver_backend(r), "unbound");
	mailsec_resolver_free(r);
}

/* Recursion needs the root trust anchor (dns-root-data is in
 * scripts/install-deps.sh); a missing file is an error that says which.
 * Only constructed here: a recursive query would leave loopback. */
static void
test_trust_anchor(void **state)
{
	struct mailsec_unbound_opts o = { NULL, false, NULL };
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag diag = { 0 };

	(void)state;
	if (access("/usr/share/dns/root.key", R_OK) != 0)
		fail_msg("/usr/share/dns/root.key missing: install "
		    "dns-root-data (scripts/install-deps.sh)");
	assert_int_equal(mailsec_resolver_new_unbound(NULL, &r, &diag),
	    MAILSEC_OK);
	assert_string_equal(mailsec_resolver_backend(r), "unbound");
	mailsec_resolver_free(r);
	assert_int_equal(mailsec_resolver_new_from_args(NULL, NULL, &r,
	    &diag), MAILSEC_OK);
	mailsec_resolver_free(r);

	o.trust_anchor = "/nonexistent/mailsec/root.key";
	r = NULL;
	assert_int_equal(mailsec_resolver_new_unbound(&o, &r, &diag),
	    MAILSEC_ENOTFOUND);
	assert_null(r);
	assert_non_null(strstr(diag.text, "/nonexistent/mailsec/root.key"));
	assert_non_null(strstr(diag.text, "trust anchor"));

	/* forwarding validates only when asked, then needs the file too */
	o.forward = "127.0.0.1";
	assert_int_equal(mailsec_resolver_new_unbound(&o, &r, &diag),
	    MAILSEC_OK);
	mailsec_resolver_free(r);
	o.validate = true;
	memset(&diag, 0, sizeof diag);
	assert_int_equal(mailsec_resolver_new_unbound(&o, &r, &diag),
	    MAILSEC_ENOTFOUND);
	assert_true(diag.set);
}

/* ---- a fake upstream on loopback ---------------------------------------- */

enum fake_mode {
	FAKE_SILENT,	/* reads nothing, answers nothing */
	FAKE_AD,	/* A 192.0.2.99 with AD set */
	FAKE_REFUSED,
	FAKE_NXDOMAIN,
	FAKE_BADA	/* an A record with RDLENGTH 3 */
};

struct fake {
	int fd;
	unsigned short port;
	enum fake_mode mode;
	volatile int stop;
	unsigned queries;
	pthread_t th;
};

/* Answers one query in buf (n bytes) into out; returns its length or 0. */
static size_t
fake_answer(const struct fake *f, const uint8_t *q, size_t n, uint8_t *out)
{
	static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c,
	    0, 4, 192, 0, 2, 99 };
	size_t off = 12, len;
	uint16_t qtype;

	if (n < 12)
		return 0;
	while (off < n && q[off] != 0) {
		if (q[off] > 63)
			return 0;
		off += q[off] + 1u;
	}
	if (off + 5 > n)
		return 0;
	qtype = (uint16_t)(q[off + 1] << 8 | q[off + 2]);
	len = off + 5;
	memcpy(out, q, len);
	out[2] = 0x80 | (q[2] & 0x01);			/* QR, RD */
	out[3] = 0x80;					/* RA */
	out[6] = out[7] = out[8] = out[9] = out[10] = out[11] = 0;
	switch (f->mode) {
	case FAKE_REFUSED:
		out[3] |= 5;
		return len;
	case FAKE_NXDOMAIN:
		out[3] |= 3;
		return len;
	case FAKE_AD:
		out[3] |= 0x20;
		break;
	default:
		break;
	}
	if (qtype != 1)
		return len;				/* NODATA */
	out[7] = 1;
	memcpy(out + len, rr, sizeof rr);
	if (f->mode == FAKE_BADA) {
		out[len + 11] = 3;
		return len + sizeof rr - 1;
	}
	return len + sizeof rr;
}

static void *
fake_run(void *arg)
{
	struct fake *f = arg;
	struct sockaddr_storage from;
	socklen_t flen;
	struct pollfd pfd;
	uint8_t q[1500], a[1600];
	ssize_t n;
	size_t alen;

	while (!f->stop) {
		pfd.fd = f->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) <= 0 || f->mode == FAKE_SILENT)
			continue;
		flen = sizeof from;
		n = recvfrom(f->fd, q, sizeof q, 0, (struct sockaddr *)&from,
		    &flen);
		if (n <= 0)
			continue;
		f->queries++;
		alen = fake_answer(f, q, (size_t)n, a);
		if (alen > 0)
			(void)sendto(f->fd, a, alen, 0,
			    (struct sockaddr *)&from, flen);
	}
	return NULL;
}

static void
fake_start(struct fake *f, enum fake_mode mode)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof sin;

	memset(f, 0, sizeof *f);
	f->mode = mode;
	f->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(f->fd >= 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(f->fd, (struct sockaddr *)&sin, sizeof sin) != 0)
		fail_msg("cannot bind a UDP socket on 127.0.0.1");
	assert_int_equal(getsockname(f->fd, (struct sockaddr *)&sin, &slen),
	    0);
	f->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&f->th, NULL, fake_run, f), 0);
}

static void
fake_stop(struct fake *f)
{
	f->stop = 1;
	pthread_join(f->th, NULL);
	close(f->fd);
}

static struct mailsec_resolver *
fake_resolver(const struct fake *f, bool validate)
{
	struct mailsec_unbound_opts o = { NULL, validate, NULL };
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag diag = { 0 };
	char spec[64];

	snprintf(spec, sizeof spec, "127.0.0.1@%u", f->port);
	o.forward = spec;
	if (mailsec_resolver_new_unbound(&o, &r, &diag) != MAILSEC_OK)
		fail_msg("resolver for %s: %s", spec, diag.text);
	return r;
}

static void count_cb(void *arg, struct mailsec_dns_result *res);

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Names: the generic layer refuses malformed ones at once, bad escapes
 * ("\\999", over 255) included, so nothing reaches libunbound or the
 * wire.
 */
static void
test_bad_query_name(void **state)
{
	struct fake f;
	struct mailsec_resolver *r;
	struct mailsec_dns_result *res = NULL;
	uint64_t qid = 0;

	(void)state;
	fake_start(&f, FAKE_SILENT);
	r = fake_resolver(&f, false);
	mailsec_resolver_set_timeout(r, 2000);
	assert_int_equal(mailsec_resolver_query(r, "a..b", MAILSEC_DNS_A,
	    count_cb, NULL, &qid), MAILSEC_EINVAL);
	assert_int_equal(mailsec_resolver_pending(r), 0);
	assert_int_equal(mailsec_resolver_query_count(r), 0);
	assert_int_equal(mailsec_dns_lookup(r, "a\\999b.example.test",
	    MAILSEC_DNS_A, &res), MAILSEC_EINVAL);
	assert_null(res);
	assert_int_equal(mailsec_resolver_query_count(r), 0);
	mailsec_resolver_free(r);
	fake_stop(&f);
}

/* A forwarder that never answers: the generic deadline ends the query
 * with TIMEOUT, on time, and libunbound's retries stay in its thread. */
static void
test_timeout(void **state)
{
	struct fake f;
	struct mailsec_resolver *r;
	struct mailsec_dns_result *res = NULL;
	uint64_t t0, dt;

	(void)state;
	fake_start(&f, FAKE_SILENT);
	r = fake_resolver(&f, false);
	mailsec_resolver_set_timeout(r, 300);
	t0 = now_ms();
	assert_int_equal(mailsec_dns_lookup(r, "slow.example.test",
	    MAILSEC_DNS_A, &res), MAILSEC_OK);
	dt = now_ms() - t0;
	assert_int_equal(res->status, MAILSEC_DNS_TIMEOUT);
	assert_true(mailsec_dns_status_is_temporary(res->status));
	assert_int_equal(res->count, 0);
	assert_string_equal(res->qname, "slow.example.test");
	assert_non_null(strstr(res->why, "300 ms"));
	if (dt < 290 || dt > 1500)
		fail_msg("timed out after %llu ms, want ~300",
		    (unsigned long long)dt);
	mailsec_dns_result_free(res);
	assert_int_equal(mailsec_resolver_pending(r), 0);
	assert_int_equal(mailsec_resolver_query_count(r), 1);
	mailsec_resolver_free(r);
	fake_stop(&f);
}

/* Threads of this process, from /proc/self/task. */
static unsigned
thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * libunbound's worker thread starts while the resolver is created (a
 * "localhost." query libunbound answers itself), not on the first real
 * lookup; nothing reaches the network for it, and the first real lookup
 * after it is answered normally.
 */
static void
test_worker_started(void **state)
{
	struct fake f;
	struct mailsec_resolver *r;
	struct mailsec_dns_result *res = NULL;
	unsigned before;

	(void)state;
	fake_start(&f, FAKE_NXDOMAIN);
	before = thread_count();
	r = fake_resolver(&f, false);
	assert_int_equal(thread_count(), before + 1);
	usleep(100 * 1000);
	assert_int_equal(f.queries, 0);
	mailsec_resolver_set_timeout(r, 2000);
	assert_int_equal(mailsec_dns_lookup(r, "first.example.test",
	    MAILSEC_DNS_A, &res), MAILSEC_OK);
	assert_int_equal(res->status, MAILSEC_DNS_NXDOMAIN);
	assert_true(f.queries >= 1);
	assert_int_equal(mailsec_resolver_query_count(r), 1);
	mailsec_dns_result_free(res);
	mailsec_resolver_free(r);
	fake_stop(&f);
}

static void
count_cb(void *arg, struct mailsec_dns_result *res)
{
	unsigned *n = arg;

	if (res->status == MAILSEC_DNS_TIMEOUT)
		(*n)++;
	mailsec_dns_result_free(res);
}

/* Several queries time out together; freeing a resolver with queries
 * still running in libunbound's thread is clean. */
static void
test_timeout_many_and_free(void **state)
{
	struct fake f;
	struct mailsec_resolver *r;
	unsigned timeouts = 0, i;
	uint64_t t0;
	char name[64];

	(void)state;
	fake_start(&f, FAKE_SILENT);
	r = fake_resolver(&f, false);
	mailsec_resolver_set_timeout(r, 200);
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof name, "q%u.example.test", i);
		assert_int_equal(mailsec_resolver_query(r, name,
		    MAILSEC_DNS_TXT, count_cb, &timeouts, NULL), MAILSEC_OK);
	}
	assert_int_equal(mailsec_resolver_pending(r), 4);
	assert_true(mailsec_resolver_next_timeout(r) <= 200);
	t0 = now_ms();
	while (mailsec_resolver_pending(r) > 0 && now_ms() - t0 < 3000)
		assert_int_equal(mailsec_resolver_wait(r, 1000), MAILSEC_OK);
	assert_int_equal(timeouts, 4);
	assert_int_equal(mailsec_resolver_query_count(r), 4);
	/* more in flight, then free: no callback, no leak */
	for (i = 0; i < 3; i++)
		assert_int_equal(mailsec_resolver_query(r, "late.example.test",
		    MAILSEC_DNS_A, count_cb, &timeouts, NULL), MAILSEC_OK);
	mailsec_resolver_free(r);
	assert_int_equal(timeouts, 4);
	fake_stop(&f);
}

/* Nothing listens on the port: ICMP refusals or silence, the query ends
 * as a temporary failure either way, within the deadline. */
static void
test_closed_port(void **state)
{
	struct fake f;
	struct mailsec_unbound_opts o = { NULL, false, NULL };
	struct mailsec_resolver *r = NULL;
	struct mailsec_dns_result *res = NULL;
	char spec[64];

	(void)state;
	fake_start(&f, FAKE_SILENT);
	fake_stop(&f);	/* the port is free again */
	snprintf(spec, sizeof spec, "127.0.0.1@%u", f.port);
	o.forward = spec;
	assert_int_equal(mailsec_resolver_new_unbound(&o, &r, NULL),
	    MAILSEC_OK);
	mailsec_resolver_set_timeout(r, 500);
	assert_int_equal(mailsec_dns_lookup(r, "closed.example.test",
	    MAILSEC_DNS_MX, &res), MAILSEC_OK);
	assert_true(mailsec_dns_status_is_temporary(res->status));
	assert_int_equal(res->count, 0);
	assert_true(res->why[0] != '\0');
	mailsec_dns_result_free(res);
	mailsec_resolver_free(r);
}

static struct mailsec_dns_result *
fake_lookup(enum fake_mode mode, bool validate, const char *name,
    uint16_t type)
{
	struct fake f;
	struct mailsec_resolver *r;
	struct mailsec_dns_result *res = NULL;

	fake_start(&f, mode);
	r = fake_resolver(&f, validate);
	mailsec_resolver_set_timeout(r, 3000);
	assert_int_equal(mailsec_dns_lookup(r, name, type, &res),
	    MAILSEC_OK);
	mailsec_resolver_free(r);
	fake_stop(&f);
	assert_true(f.queries > 0);
	return res;
}

/*
 * Without validation nothing is secure, even when the upstream sets AD:
 * libunbound does not pass the bit on (if a later version does, this
 * test says so and the contract in dns.h can be revisited).
 */
static void
test_ad_bit_not_trusted(void **state)
{
	struct mailsec_dns_result *res;
	static const uint8_t want[4] = { 192, 0, 2, 99 };

	(void)state;
	res = fake_lookup(FAKE_AD, false, "ad.example.test", MAILSEC_DNS_A);
	assert_int_equal(res->status, MAILSEC_DNS_ANSWER);
	assert_int_equal(res->count, 1);
	assert_memory_equal(res->rrs[0].u.a, want, 4);
	assert_int_equal(res->rrs[0].ttl, 300);
	assert_string_equal(res->canonical, "ad.example.test");
	assert_false(res->secure);
	assert_false(res->bogus);
	mailsec_dns_result_free(res);

	res = fake_lookup(FAKE_AD, false, "ad.example.test",
	    MAILSEC_DNS_AAAA);
	assert_int_equal(res->status, MAILSEC_DNS_NODATA);
	assert_false(res->secure);
	mailsec_dns_result_free(res);
}

static void
test_upstream_rcodes(void **state)
{
	struct mailsec_dns_result *res;

	(void)state;
	res = fake_lookup(FAKE_REFUSED, false, "refused.example.test",
	    MAILSEC_DNS_TXT);
	assert_int_equal(res->status, MAILSEC_DNS_SERVFAIL);
	assert_true(res->why[0] != '\0');
	assert_int_equal(res->count, 0);
	mailsec_dns_result_free(res);

	res = fake_lookup(FAKE_NXDOMAIN, false, "gone.example.test",
	    MAILSEC_DNS_TXT);
	assert_int_equal(res->status, MAILSEC_DNS_NXDOMAIN);
	assert_int_equal(res->count, 0);
	mailsec_dns_result_free(res);

	/* libunbound refuses the broken record itself: still temporary */
	res = fake_lookup(FAKE_BADA, false, "bad.example.test",
	    MAILSEC_DNS_A);
	assert_true(mailsec_dns_status_is_temporary(res->status));
	assert_int_equal(res->count, 0);
	mailsec_dns_result_free(res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rdata_table),
		cmocka_unit_test(test_rdata_name_limit),
		cmocka_unit_test(test_rdata_truncations),
		cmocka_unit_test(test_packet_table),
		cmocka_unit_test(test_forward_specs),
		cmocka_unit_test(test_from_args),
		cmocka_unit_test(test_trust_anchor),
		cmocka_unit_test(test_bad_query_name),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_worker_started),
		cmocka_unit_test(test_timeout_many_and_free),
		cmocka_unit_test(test_closed_port),
		cmocka_unit_test(test_ad_bit_not_trusted),
		cmocka_unit_test(test_upstream_rcodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
