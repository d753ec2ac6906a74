/*
 * tests/integration/test_unbound_nsd.c - the libunbound backend against
 * a real authoritative server: nsd serving example.test.zone on
 * loopback, started by run_nsd.sh, which passes its address in
 * MAILSEC_TEST_DNS (and MAILSEC_TEST_DNS6 for ::1 when there is IPv6).
 * Every expected value below is in example.test.zone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mailsec/dns.h>

#include "../common/nsd_client.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define ZONE_TTL 3600u

static const char *server;	/* "127.0.0.1@PORT" */
static const char *server6;	/* "::1@PORT" or NULL */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct mailsec_dns_result *
lookup_in(struct mailsec_resolver *r, const char *name, uint16_t type)
{
	struct mailsec_dns_result *res = NULL;

	assert_int_equal(mailsec_dns_lookup(r, name, type, &res), MAILSEC_OK);
	assert_non_null(res);
	assert_int_equal(res->qtype, type);
	return res;
}

/* One query through a new resolver, checked for the basics. */
static struct mailsec_dns_result *
lookup(const char *name, uint16_t type, enum mailsec_dns_status want)
{
	struct mailsec_resolver *r = nsd_resolver_for(server);
	struct mailsec_dns_result *res;

	res = lookup_in(r, name, type);
	mailsec_resolver_free(r);
	if (res->status != want)
		fail_msg("%s %s: %s (%s), want %s", name,
		    mailsec_dns_type_name(type),
		    mailsec_dns_status_name(res->status), res->why,
		    mailsec_dns_status_name(want));
	if (want != MAILSEC_DNS_ANSWER)
		assert_int_equal(res->count, 0);
	else
		assert_true(res->count > 0);
	assert_false(res->secure);
	assert_false(res->bogus);
	return res;
}

static void
assert_ttl(const struct mailsec_dns_rr *rr)
{
	/* fresh from nsd: the zone's TTL, a second less at most */
	assert_true(rr->ttl <= ZONE_TTL && rr->ttl + 2 >= ZONE_TTL);
}

/* nsd is bound; wait (bounded) until it answers from the zone. */
static int
group_setup(void **state)
{
	(void)state;
	server = getenv("MAILSEC_TEST_DNS");
	server6 = getenv("MAILSEC_TEST_DNS6");
	if (server6 != NULL && server6[0] == '\0')
		server6 = NULL;
	if (server == NULL || server[0] == '\0') {
		fprintf(stderr, "test_unbound_nsd: MAILSEC_TEST_DNS is not "
		    "set: run me through tests/integration/run_nsd.sh "
		    "(ctest does)\n");
		return -1;
	}
	if (!nsd_wait_answer(server, "host.example.test")) {
		fprintf(stderr, "test_unbound_nsd: nsd at %s does not answer "
		    "for example.test within 5 s\n", server);
		return -1;
	}
	return 0;
}

/* ---- record types ------------------------------------------------------- */

static void
test_a(void **state)
{
	static const uint8_t want[4] = { 192, 0, 2, 10 };
	struct mailsec_dns_result *res;

	(void)state;
	res = lookup("host.example.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER);
	assert_int_equal(res->count, 1);
	assert_int_equal(res->rrs[0].type, MAILSEC_DNS_A);
	assert_memory_equal(res->rrs[0].u.a, want, 4);
	assert_ttl(&res->rrs[0]);
	assert_string_equal(res->qname, "host.example.test");
	assert_string_equal(res->canonical, "host.example.test");
	assert_string_equal(res->why, "");
	mailsec_dns_result_free(res);

	/* final dot and case do not matter to the server */
	res = lookup("HOST.Example.TEST.", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER);
	assert_string_equal(res->qname, "HOST.Example.TEST");
	assert_memory_equal(res->rrs[0].u.a, want, 4);
	mailsec_dns_result_free(res);
}

static void
test_aaaa(void **state)
{
	static const uint8_t want[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0x10 };
	struct mailsec_dns_result *res;

	(void)state;
	res = lookup("host.example.test", MAILSEC_DNS_AAAA,
	    MAILSEC_DNS_ANSWER);
	assert_int_equal(res->count, 1);
	assert_memory_equal(res->rrs[0].u.aaaa, want, 16);
	assert_ttl(&res->rrs[0]);
	mailsec_dns_result_free(res);
}

static void
test_mx(void **state)
{
	struct mailsec_dns_result *res;
	const struct mailsec_dns_rr *lo, *hi;

	(void)state;
	res = lookup("example.test", MAILSEC_DNS_MX, MAILSEC_DNS_ANSWER);
	assert_int_equal(res->count, 2);
	lo = &res->rrs[0];
	hi = &res->rrs[1];
	if (lo->u.mx.preference > hi->u.mx.preference) {
		lo = &res->rrs[1];
		hi = &res->rrs[0];
	}
	assert_int_equal(lo->type, MAILSEC_DNS_MX);
	assert_int_equal(lo->u.mx.preference, 10);
	assert_string_equal(lo->u.mx.exchange, "mx1.example.test");
	assert_int_equal(hi->u.mx.preference, 20);
	assert_string_equal(hi->u.mx.exchange, "mx2.example.test");
	assert_ttl(lo);
	assert_ttl(hi);
	mailsec_dns_result_free(res);

	/* RFC 7505 null MX: the root, printed as "" */
	res = lookup("nullmx.example.test", MAILSEC_DNS_MX,
	    MAILSEC_DNS_ANSWER);
	assert_int_equal(res->count, 1);
	assert_int_equal(res->rrs[0].u.mx.preference, 0);
	assert_string_equal(res->rrs[0].u.mx.exchange, "");
	mailsec_dns_result_free(res);
}

static void
test_txt(void **state)
{
	static const char spf[] = "v=spf1 ip4:192.0.2.0/24 -all";
	struct mailsec_dns_result *res;
	char want[301];
	size_t i;

	(void)state;
	res = lookup("multi.example.test", MAILSEC_DNS_TXT,
	    MAILSEC_DNS_ANSWER);
	assert_int_equal(res->count, 1);
	assert_int_equal(res->rrs[0].type, MAILSEC_DNS_TXT);
	assert_int_equal(res->rrs[0].u.txt.nstrings, 2);
	assert_int_equal(res->rrs[0].u.txt.len, sizeof spf - 1);
	assert_string_equal(res->rrs[0].u.txt.data, spf);
	assert_ttl(&res->rrs[0]);
	mailsec_dns_result_free(res);

	/* over 255 octets: "0123456789"... (255) + "abcdefghij"... (45) */
	for (i = 0; i < 255; i++)
		want[i] = (char)('0' + i % 10);
	for (i = 0; i < 45; i++)
		want[255 + i] = (char)('a' + i % 10);
	want[300] = '\0';
	res = lookup("long.example.test", MAILSEC_DNS_TXT,
	    MAILSEC_DNS_ANSWER);
	assert_int_equal(res->count, 1);
	assert_int_equal(res->rrs[0].u.txt.nstrings, 2);
	assert_int_equal(res->rrs[0].u.txt.len, 300);
	assert_memory_equal(res->rrs[0].u.txt.data, want, 301);
	mailsec_dns_result_free(res);

	/* a NUL inside is data, counted in len */
	res = lookup("nul.example.test", MAILSEC_DNS_TXT, MAILSEC_DNS_ANSWER);
	assert_int_equal(res->rrs[0].u.txt.len, 3);
	assert_memory_equal(res->rrs[0].u.txt.data, "a\0b", 4);
	mailsec_dns_result_free(res);
}

static void
test_tlsa(void **state)
{
	static const uint8_t want[32] = {
		0x8c, 0xb0, 0xfc, 0x6c, 0x52, 0x75, 0x06, 0xa0,
		0x53, 0xf4, 0xf1, 0x4c, 0x84, 0x64, 0xbe, 0xbb,
		0xd6, 0xde, 0xde, 0x27, 0x38, 0xd1, 0x14, 0x68,
		0xdd, 0x95, 0x3d, 0x7d, 0x6a, 0x30, 0x21, 0xf1
	};
	struct mailsec_dns_result *res;

	(void)state;
	res = lookup("_25._tcp.mail.example.test", MAILSEC_DNS_TLSA,
	    MAILSEC_DNS_ANSWER);
	assert_int_equal(res->count, 1);
	assert_int_equal(res->rrs[0].type, MAILSEC_DNS_TLSA);
	assert_int_equal(res->rrs[0].u.tlsa.usage, 3);
	assert_int_equal(res->rrs[0].u.tlsa.selector, 1);
	assert_int_equal(res->rrs[0].u.tlsa.mtype, 1);
	assert_int_equal(res->rrs[0].u.tlsa.len, 32);
	assert_memory_equal(res->rrs[0].u.tlsa.data, want, 32);
	mailsec_dns_result_free(res);
}

static void
test_names(void **state)
{
	struct mailsec_dns_result *res;

	(void)state;
	res = lookup("ptr.example.test", MAILSEC_DNS_PTR, MAILSEC_DNS_ANSWER);
	assert_string_equal(res->rrs[0].u.name, "host.example.test");
	mailsec_dns_result_free(res);

	res = lookup("example.test", MAILSEC_DNS_NS, MAILSEC_DNS_ANSWER);
	assert_int_equal(res->count, 1);
	assert_string_equal(res->rrs[0].u.name, "ns1.example.test");
	mailsec_dns_result_free(res);

	/* escapes: an octet outside LDH as \DDD */
	res = lookup("esc.example.test", MAILSEC_DNS_MX, MAILSEC_DNS_ANSWER);
	assert_int_equal(res->rrs[0].u.mx.preference, 5);
	assert_string_equal(res->rrs[0].u.mx.exchange,
	    "m\\195\\169l.example.test");
	mailsec_dns_result_free(res);

	/* a type the layer does not decode (SOA) keeps only its type */
	res = lookup("example.test", mailsec_dns_type_parse("TYPE6"),
	    MAILSEC_DNS_ANSWER);
	assert_int_equal(res->count, 1);
	assert_int_equal(res->rrs[0].type, 6);
	mailsec_dns_result_free(res);
}

/* ---- CNAME, NXDOMAIN, NODATA, failures --------------------------------- */

static void
test_cname(void **state)
{
	static const uint8_t host[4] = { 192, 0, 2, 10 };
	static const uint8_t odd[4] = { 192, 0, 2, 7 };
	struct mailsec_dns_result *res;

	(void)state;
	res = lookup("www.example.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER);
	assert_int_equal(res->count, 1);
	assert_int_equal(res->rrs[0].type, MAILSEC_DNS_A);
	assert_memory_equal(res->rrs[0].u.a, host, 4);
	assert_string_equal(res->qname, "www.example.test");
	assert_string_equal(res->canonical, "host.example.test");
	mailsec_dns_result_free(res);

	/* two hops */
	res = lookup("alias.example.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER);
	assert_memory_equal(res->rrs[0].u.a, host, 4);
	assert_string_equal(res->canonical, "host.example.test");
	mailsec_dns_result_free(res);

	/* the CNAME itself when asked for */
	res = lookup("www.example.test", MAILSEC_DNS_CNAME,
	    MAILSEC_DNS_ANSWER);
	assert_int_equal(res->count, 1);
	assert_string_equal(res->rrs[0].u.name, "host.example.test");
	assert_string_equal(res->canonical, "www.example.test");
	mailsec_dns_result_free(res);

	/* a target with a dot inside a label */
	res = lookup("weird.example.test", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER);
	assert_memory_equal(res->rrs[0].u.a, odd, 4);
	assert_string_equal(res->canonical, "a\\.b.example.test");
	mailsec_dns_result_free(res);

	/* NODATA and NXDOMAIN at the end of a chain */
	res = lookup("www.example.test", MAILSEC_DNS_TXT, MAILSEC_DNS_NODATA);
	assert_string_equal(res->canonical, "host.example.test");
	mailsec_dns_result_free(res);
	res = lookup("deadend.example.test", MAILSEC_DNS_A,
	    MAILSEC_DNS_NXDOMAIN);
	assert_string_equal(res->canonical, "nothere.example.test");
	mailsec_dns_result_free(res);
}

static void
test_nxdomain_nodata(void **state)
{
	struct mailsec_dns_result *res;

	(void)state;
	res = lookup("nope.example.test", MAILSEC_DNS_A, MAILSEC_DNS_NXDOMAIN);
	assert_false(mailsec_dns_status_is_temporary(res->status));
	assert_string_equal(res->canonical, "nope.example.test");
	assert_null(res->rrs);
	mailsec_dns_result_free(res);

	res = lookup("nodata.example.test", MAILSEC_DNS_AAAA,
	    MAILSEC_DNS_NODATA);
	assert_false(mailsec_dns_status_is_temporary(res->status));
	mailsec_dns_result_free(res);

	res = lookup("nodata.example.test", MAILSEC_DNS_TXT,
	    MAILSEC_DNS_NODATA);
	mailsec_dns_result_free(res);

	/* an empty non-terminal exists: NODATA, not NXDOMAIN */
	res = lookup("_tcp.mail.example.test", MAILSEC_DNS_TLSA,
	    MAILSEC_DNS_NODATA);
	mailsec_dns_result_free(res);
}

/* nsd refuses names outside its zones: a temporary failure. */
static void
test_refused(void **state)
{
	struct mailsec_dns_result *res;

	(void)state;
	res = lookup("example.org", MAILSEC_DNS_TXT, MAILSEC_DNS_SERVFAIL);
	assert_true(mailsec_dns_status_is_temporary(res->status));
	assert_true(res->why[0] != '\0');
	mailsec_dns_result_free(res);
}

/*
 * Validation on, against nsd's unsigned zone: with a trust anchor for
 * example.test (a DS that no key matches) every answer is bogus, and
 * bogus is SERVFAIL with the validator's reason.
 */
static void
test_bogus(void **state)
{
	static const char ds[] = "example.test. IN DS 12345 8 2 "
	    "49FD46E6C4B45C55D4AC69CBD3CD34AC"
	    "1AFE51DE5E8F4E1A5A6F3D8F2B1C0A99\n";
	struct mailsec_unbound_opts o = { NULL, true, NULL };
	struct mailsec_resolver *r = NULL;
	struct mailsec_dns_result *res;
	struct mailsec_diag diag = { 0 };
	char path[] = "/tmp/mailsec-ta.XXXXXX";
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, ds, sizeof ds - 1), (ssize_t)sizeof ds - 1);
	close(fd);
	o.forward = server;
	o.trust_anchor = path;
	if (mailsec_resolver_new_unbound(&o, &r, &diag) != MAILSEC_OK) {
		unlink(path);
		fail_msg("validating resolver: %s", diag.text);
	}
	res = lookup_in(r, "host.example.test", MAILSEC_DNS_A);
	mailsec_resolver_free(r);
	unlink(path);
	assert_int_equal(res->status, MAILSEC_DNS_SERVFAIL);
	assert_true(res->bogus);
	assert_false(res->secure);
	assert_int_equal(res->count, 0);
	assert_non_null(strstr(res->why, "DNSSEC"));
	mailsec_dns_result_free(res);
}

/* A trust anchor file libunbound cannot parse fails at creation. */
static void
test_bad_trust_anchor(void **state)
{
	static const char junk[] = "this is not a DS record\n";
	struct mailsec_unbound_opts o = { NULL, true, NULL };
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag diag = { 0 };
	char path[] = "/tmp/mailsec-ta.XXXXXX";
	int fd;
	mailsec_err err;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof junk - 1),
	    (ssize_t)sizeof junk - 1);
	close(fd);
	o.forward = server;
	o.trust_anchor = path;
	err = mailsec_resolver_new_unbound(&o, &r, &diag);
	unlink(path);
	assert_int_equal(err, MAILSEC_EDNS);
	assert_null(r);
	assert_non_null(strstr(diag.text, path));
}

/* ---- the asynchronous interface ------------------------------------------ */

struct tally {
	unsigned calls;
	unsigned answers;
	unsigned nx;
	struct mailsec_resolver *r;	/* for the chaining callback */
	unsigned chained;
};

static void
tally_cb(void *arg, struct mailsec_dns_result *res)
{
	struct tally *t = arg;

	t->calls++;
	if (res->status == MAILSEC_DNS_ANSWER)
		t->answers++;
	else if (res->status == MAILSEC_DNS_NXDOMAIN)
		t->nx++;
	mailsec_dns_result_free(res);
}

static void
drain(struct mailsec_resolver *r, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (mailsec_resolver_pending(r) > 0 && now_ms() < end)
		assert_int_equal(mailsec_resolver_wait(r, 200), MAILSEC_OK);
}

static void
test_async_many(void **state)
{
	static const struct {
		const char *name;
		uint16_t type;
	} qs[] = {
		{ "host.example.test", MAILSEC_DNS_A },
		{ "host.example.test", MAILSEC_DNS_AAAA },
		{ "example.test", MAILSEC_DNS_MX },
		{ "multi.example.test", MAILSEC_DNS_TXT },
		{ "long.example.test", MAILSEC_DNS_TXT },
		{ "_25._tcp.mail.example.test", MAILSEC_DNS_TLSA },
		{ "www.example.test", MAILSEC_DNS_A },
		{ "ptr.example.test", MAILSEC_DNS_PTR },
		{ "nope1.example.test", MAILSEC_DNS_A },
		{ "nope2.example.test", MAILSEC_DNS_TXT },
		{ "mx1.example.test", MAILSEC_DNS_A },
		{ "mx2.example.test", MAILSEC_DNS_A },
	};
	struct mailsec_resolver *r = nsd_resolver_for(server);
	struct tally t = { 0 };
	size_t i;

	(void)state;
	assert_true(mailsec_resolver_fd(r) >= 0);
	for (i = 0; i < N(qs); i++)
		assert_int_equal(mailsec_resolver_query(r, qs[i].name,
		    qs[i].type, tally_cb, &t, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_pending(r), N(qs));
	assert_int_equal(mailsec_resolver_query_count(r), N(qs));
	assert_int_equal(t.calls, 0);	/* only process() calls back */
	assert_true(mailsec_resolver_next_timeout(r) > 0);
	drain(r, 5000);
	assert_int_equal(t.calls, N(qs));
	assert_int_equal(t.answers, N(qs) - 2);
	assert_int_equal(t.nx, 2);
	assert_int_equal(mailsec_resolver_pending(r), 0);
	assert_int_equal(mailsec_resolver_next_timeout(r), -1);

	/* the counter counts started queries, until reset */
	assert_int_equal(mailsec_resolver_query_count(r), N(qs));
	mailsec_resolver_reset_query_count(r);
	assert_int_equal(mailsec_resolver_query_count(r), 0);
	assert_int_equal(mailsec_resolver_query(r, "host.example.test",
	    MAILSEC_DNS_A, tally_cb, &t, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_query_count(r), 1);
	drain(r, 5000);
	assert_int_equal(t.calls, N(qs) + 1);
	/* refused names do not count */
	assert_int_equal(mailsec_resolver_query(r, "a..b", MAILSEC_DNS_A,
	    tally_cb, &t, NULL), MAILSEC_EINVAL);
	assert_int_equal(mailsec_resolver_query_count(r), 1);
	mailsec_resolver_free(r);
}

/* Cancelled queries never call back, whether their answer is still on
 * the way or already waiting in libunbound's pipe. */
static void
test_cancel(void **state)
{
	struct mailsec_resolver *r = nsd_resolver_for(server);
	struct tally t = { 0 };
	uint64_t a, b, c;

	(void)state;
	assert_int_equal(mailsec_resolver_query(r, "host.example.test",
	    MAILSEC_DNS_A, tally_cb, &t, &a), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_query(r, "mx1.example.test",
	    MAILSEC_DNS_A, tally_cb, &t, &b), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_query(r, "mx2.example.test",
	    MAILSEC_DNS_A, tally_cb, &t, &c), MAILSEC_OK);
	mailsec_resolver_cancel(r, b);
	assert_int_equal(mailsec_resolver_pending(r), 2);
	drain(r, 5000);
	assert_int_equal(t.calls, 2);
	assert_int_equal(mailsec_resolver_pending(r), 0);

	/* the answer arrives while nobody processes; then cancel */
	assert_int_equal(mailsec_resolver_query(r, "ptr.example.test",
	    MAILSEC_DNS_PTR, tally_cb, &t, &a), MAILSEC_OK);
	usleep(300 * 1000);
	mailsec_resolver_cancel(r, a);
	mailsec_resolver_cancel(r, a);		/* unknown now: ignored */
	mailsec_resolver_cancel(r, 999999);
	assert_int_equal(mailsec_resolver_pending(r), 0);
	assert_int_equal(mailsec_resolver_process(r), MAILSEC_OK);
	usleep(100 * 1000);
	assert_int_equal(mailsec_resolver_process(r), MAILSEC_OK);
	assert_int_equal(t.calls, 2);

	/* and the resolver still works */
	assert_int_equal(mailsec_resolver_query(r, "host.example.test",
	    MAILSEC_DNS_AAAA, tally_cb, &t, NULL), MAILSEC_OK);
	drain(r, 5000);
	assert_int_equal(t.calls, 3);
	mailsec_resolver_free(r);
}

/* A callback may start the next query (SPF include chains do). */
static void
chain_cb(void *arg, struct mailsec_dns_result *res)
{
	struct tally *t = arg;

	t->calls++;
	if (res->status == MAILSEC_DNS_ANSWER && t->chained < 3) {
		t->chained++;
		assert_int_equal(mailsec_resolver_query(t->r,
		    res->rrs[0].u.mx.exchange, MAILSEC_DNS_A, tally_cb, t,
		    NULL), MAILSEC_OK);
	}
	mailsec_dns_result_free(res);
}

static void
test_query_from_callback(void **state)
{
	struct tally t = { 0 };

	(void)state;
	t.r = nsd_resolver_for(server);
	assert_int_equal(mailsec_resolver_query(t.r, "example.test",
	    MAILSEC_DNS_MX, chain_cb, &t, NULL), MAILSEC_OK);
	drain(t.r, 5000);
	assert_int_equal(t.chained, 1);
	assert_int_equal(t.calls, 2);
	assert_int_equal(t.answers, 1);	/* the A of the exchange */
	assert_int_equal(mailsec_resolver_query_count(t.r), 2);
	mailsec_resolver_free(t.r);
}

/* Freeing with answers in flight: no callback, nothing leaks (ASan). */
static void
test_free_pending(void **state)
{
	struct mailsec_resolver *r = nsd_resolver_for(server);
	struct tally t = { 0 };
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		assert_int_equal(mailsec_resolver_query(r, "host.example.test",
		    MAILSEC_DNS_A, tally_cb, &t, NULL), MAILSEC_OK);
	mailsec_resolver_free(r);

	r = nsd_resolver_for(server);
	for (i = 0; i < 3; i++)
		assert_int_equal(mailsec_resolver_query(r, "multi.example.test",
		    MAILSEC_DNS_TXT, tally_cb, &t, NULL), MAILSEC_OK);
	usleep(200 * 1000);	/* answers wait in the pipe */
	mailsec_resolver_free(r);
	assert_int_equal(t.calls, 0);
}

/* ---- how the resolver is chosen ------------------------------------------ */

static void
test_from_args_and_lists(void **state)
{
	static const uint8_t want[4] = { 192, 0, 2, 10 };
	struct mailsec_resolver *r = NULL;
	struct mailsec_dns_result *res;
	struct mailsec_diag diag = { 0 };
	char spec[128];

	(void)state;
	assert_int_equal(mailsec_resolver_new_from_args(server, NULL, &r,
	    &diag), MAILSEC_OK);
	assert_string_equal(mailsec_resolver_backend(r), "unbound");
	res = lookup_in(r, "host.example.test", MAILSEC_DNS_A);
	assert_int_equal(res->status, MAILSEC_DNS_ANSWER);
	assert_memory_equal(res->rrs[0].u.a, want, 4);
	mailsec_dns_result_free(res);
	mailsec_resolver_free(r);

	if (server6 == NULL) {
		print_message("no IPv6 on loopback: ::1 not tried\n");
		return;
	}
	/* over IPv6, and a list with blanks */
	r = nsd_resolver_for(server6);
	res = lookup_in(r, "host.example.test", MAILSEC_DNS_A);
	assert_int_equal(res->status, MAILSEC_DNS_ANSWER);
	mailsec_dns_result_free(res);
	mailsec_resolver_free(r);
	snprintf(spec, sizeof spec, " %s , %s", server6, server);
	r = nsd_resolver_for(spec);
	res = lookup_in(r, "example.test", MAILSEC_DNS_MX);
	assert_int_equal(res->status, MAILSEC_DNS_ANSWER);
	assert_int_equal(res->count, 2);
	mailsec_dns_result_free(res);
	mailsec_resolver_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a),
		cmocka_unit_test(test_aaaa),
		cmocka_unit_test(test_mx),
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_tlsa),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_cname),
		cmocka_unit_test(test_nxdomain_nodata),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_bogus),
		cmocka_unit_test(test_bad_trust_anchor),
		cmocka_unit_test(test_async_many),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_query_from_callback),
		cmocka_unit_test(test_free_pending),
		cmocka_unit_test(test_from_args_and_lists),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
