/*
 * tests/unit/dns/test_resolver.c - the generic resolver layer
 * (lib/dns/resolver.c) as an event loop sees it, driven by the zone
 * backend: queries in flight, delivery only from _process(), cancel,
 * callbacks that start or cancel queries, freeing with queries pending,
 * counters, the synchronous helper. Callbacks are counted, libuv style.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailsec/dns.h>

#define S(lit) (lit), (sizeof(lit) - 1)

static const char zone_text[] =
    "$ORIGIN example.org.\n"
    "@      A   192.0.2.1\n"
    "       MX  10 mail\n"
    "mail   A   192.0.2.25\n"
    "alias  CNAME mail\n"
    "_dmarc TXT \"v=DMARC1; p=none\"\n"
    "$TIMEOUT slow\n"
    "$SERVFAIL broken\n";

struct cb_ctx {
	struct mailsec_resolver *r;
	unsigned calls;
	enum mailsec_dns_status status;
	uint16_t qtype;
	char qname[256];
	size_t count;
	/* what the callback does besides recording */
	const char *start_name;		/* starts this query */
	struct cb_ctx *start_ctx;
	uint64_t cancel_id;		/* cancels this one */
	uint64_t started_id;
};

static unsigned total_calls;

static void
record_cb(void *arg, struct mailsec_dns_result *res)
{
	struct cb_ctx *c = arg;

	assert_non_null(res);
	c->calls++;
	total_calls++;
	c->status = res->status;
	c->qtype = res->qtype;
	c->count = res->count;
	snprintf(c->qname, sizeof c->qname, "%s", res->qname);
	if (c->start_name != NULL) {
		assert_int_equal(mailsec_resolver_query(c->r, c->start_name,
		    MAILSEC_DNS_A, record_cb, c->start_ctx, &c->started_id),
		    MAILSEC_OK);
		c->start_name = NULL;
	}
	if (c->cancel_id != 0) {
		mailsec_resolver_cancel(c->r, c->cancel_id);
		c->cancel_id = 0;
	}
	mailsec_dns_result_free(res);
}

static struct mailsec_resolver *
new_zone(void)
{
	struct mailsec_resolver *r = NULL;

	assert_int_equal(mailsec_resolver_new_zone_mem(S(zone_text), NULL, &r,
	    NULL), MAILSEC_OK);
	assert_non_null(r);
	total_calls = 0;
	return r;
}

static void
test_resolver_in_flight(void **state)
{
	static const struct {
		const char *name;
		uint16_t type;
		enum mailsec_dns_status status;
	} q[] = {
		{ "example.org", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER },
		{ "example.org", MAILSEC_DNS_MX, MAILSEC_DNS_ANSWER },
		{ "alias.example.org", MAILSEC_DNS_A, MAILSEC_DNS_ANSWER },
		{ "nope.example.org", MAILSEC_DNS_A, MAILSEC_DNS_NXDOMAIN },
		{ "mail.example.org", MAILSEC_DNS_TXT, MAILSEC_DNS_NODATA },
		{ "slow.example.org", MAILSEC_DNS_A, MAILSEC_DNS_TIMEOUT },
		{ "broken.example.org", MAILSEC_DNS_A, MAILSEC_DNS_SERVFAIL },
	};
	struct cb_ctx ctx[7];
	struct mailsec_resolver *r;
	uint64_t ids[7];
	size_t i, j;

	(void)state;
	r = new_zone();
	memset(ctx, 0, sizeof ctx);
	assert_int_equal(mailsec_resolver_fd(r), -1);
	assert_int_equal(mailsec_resolver_next_timeout(r), -1);
	for (i = 0; i < 7; i++) {
		ctx[i].r = r;
		assert_int_equal(mailsec_resolver_query(r, q[i].name,
		    q[i].type, record_cb, &ctx[i], &ids[i]), MAILSEC_OK);
		for (j = 0; j < i; j++)
			assert_true(ids[j] != ids[i]);
	}
	/* answered inside the backend, but not delivered yet */
	assert_int_equal(total_calls, 0);
	assert_int_equal(mailsec_resolver_pending(r), 7);
	assert_int_equal(mailsec_resolver_query_count(r), 7);
	assert_int_equal(mailsec_resolver_next_timeout(r), 0);

	assert_int_equal(mailsec_resolver_process(r), MAILSEC_OK);
	assert_int_equal(total_calls, 7);
	for (i = 0; i < 7; i++) {
		assert_int_equal(ctx[i].calls, 1);
		assert_int_equal(ctx[i].status, q[i].status);
		assert_int_equal(ctx[i].qtype, q[i].type);
		assert_string_equal(ctx[i].qname, q[i].name);
	}
	assert_int_equal(mailsec_resolver_pending(r), 0);
	assert_int_equal(mailsec_resolver_next_timeout(r), -1);

	/* nothing more to deliver */
	assert_int_equal(mailsec_resolver_process(r), MAILSEC_OK);
	assert_int_equal(total_calls, 7);
	assert_int_equal(mailsec_resolver_query_count(r), 7);
	mailsec_resolver_reset_query_count(r);
	assert_int_equal(mailsec_resolver_query_count(r), 0);
	mailsec_resolver_free(r);
}

static void
test_resolver_cancel(void **state)
{
	struct cb_ctx a, b, c;
	struct mailsec_resolver *r;
	uint64_t ia, ib, ic;

	(void)state;
	r = new_zone();
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	memset(&c, 0, sizeof c);
	assert_int_equal(mailsec_resolver_query(r, "example.org",
	    MAILSEC_DNS_A, record_cb, &a, &ia), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_query(r, "mail.example.org",
	    MAILSEC_DNS_A, record_cb, &b, &ib), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_query(r, "slow.example.org",
	    MAILSEC_DNS_A, record_cb, &c, &ic), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_pending(r), 3);
	mailsec_resolver_cancel(r, ib);
	assert_int_equal(mailsec_resolver_pending(r), 2);
	/* twice, and ids never handed out, are ignored */
	mailsec_resolver_cancel(r, ib);
	mailsec_resolver_cancel(r, 999999);
	mailsec_resolver_cancel(r, 0);
	assert_int_equal(mailsec_resolver_pending(r), 2);
	/* the last one on the done list, then a new one after it */
	mailsec_resolver_cancel(r, ic);
	assert_int_equal(mailsec_resolver_query(r, "slow.example.org",
	    MAILSEC_DNS_A, record_cb, &c, &ic), MAILSEC_OK);

	assert_int_equal(mailsec_resolver_process(r), MAILSEC_OK);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.status, MAILSEC_DNS_TIMEOUT);
	assert_int_equal(total_calls, 2);
	assert_int_equal(mailsec_resolver_pending(r), 0);
	/* cancelling a delivered query does nothing */
	mailsec_resolver_cancel(r, ia);
	assert_int_equal(mailsec_resolver_query_count(r), 4);
	mailsec_resolver_free(r);
}

/* A callback starts a new query: it is delivered once, from process(). */
static void
test_resolver_callback_starts_query(void **state)
{
	struct cb_ctx first, second;
	struct mailsec_resolver *r;
	int rounds;

	(void)state;
	r = new_zone();
	memset(&first, 0, sizeof first);
	memset(&second, 0, sizeof second);
	first.r = r;
	first.start_name = "mail.example.org";
	first.start_ctx = &second;
	assert_int_equal(mailsec_resolver_query(r, "example.org",
	    MAILSEC_DNS_MX, record_cb, &first, NULL), MAILSEC_OK);
	for (rounds = 0; rounds < 3 && mailsec_resolver_pending(r) > 0;
	    rounds++)
		assert_int_equal(mailsec_resolver_process(r), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_pending(r), 0);
	assert_int_equal(first.calls, 1);
	assert_int_equal(second.calls, 1);
	assert_int_equal(second.status, MAILSEC_DNS_ANSWER);
	assert_string_equal(second.qname, "mail.example.org");
	assert_true(first.started_id != 0);
	assert_int_equal(total_calls, 2);
	assert_int_equal(mailsec_resolver_query_count(r), 2);
	mailsec_resolver_free(r);
}

/* A callback cancels a query that finished but was not delivered yet:
 * its callback must not run. */
static void
test_resolver_callback_cancels_query(void **state)
{
	struct cb_ctx a, b, c;
	struct mailsec_resolver *r;
	uint64_t ib;

	(void)state;
	r = new_zone();
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	memset(&c, 0, sizeof c);
	a.r = r;
	assert_int_equal(mailsec_resolver_query(r, "example.org",
	    MAILSEC_DNS_A, record_cb, &a, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_query(r, "example.org",
	    MAILSEC_DNS_MX, record_cb, &b, &ib), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_query(r, "_dmarc.example.org",
	    MAILSEC_DNS_TXT, record_cb, &c, NULL), MAILSEC_OK);
	a.cancel_id = ib;
	assert_int_equal(mailsec_resolver_process(r), MAILSEC_OK);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.count, 1);
	assert_int_equal(mailsec_resolver_pending(r), 0);
	mailsec_resolver_free(r);
}

/* Freeing with queries pending: no callback, nothing leaks (ASan). */
static void
test_resolver_free_pending(void **state)
{
	struct cb_ctx a;
	struct mailsec_resolver *r;
	int i;

	(void)state;
	r = new_zone();
	memset(&a, 0, sizeof a);
	for (i = 0; i < 5; i++)
		assert_int_equal(mailsec_resolver_query(r, "alias.example.org",
		    MAILSEC_DNS_A, record_cb, &a, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_pending(r), 5);
	mailsec_resolver_free(r);
	assert_int_equal(a.calls, 0);
	assert_int_equal(total_calls, 0);
}

/* The synchronous helper: its own answer, and others progress too. */
static void
test_resolver_sync_lookup(void **state)
{
	struct mailsec_dns_result *res = NULL;
	struct mailsec_resolver *r;
	struct cb_ctx a;

	(void)state;
	r = new_zone();
	memset(&a, 0, sizeof a);
	assert_int_equal(mailsec_resolver_query(r, "mail.example.org",
	    MAILSEC_DNS_A, record_cb, &a, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_dns_lookup(r, "ALIAS.example.org.",
	    MAILSEC_DNS_A, &res), MAILSEC_OK);
	assert_non_null(res);
	assert_int_equal(res->status, MAILSEC_DNS_ANSWER);
	assert_string_equal(res->qname, "ALIAS.example.org");
	assert_string_equal(res->canonical, "mail.example.org");
	assert_int_equal(res->count, 1);
	assert_int_equal(res->rrs[0].u.a[3], 25);
	assert_false(res->secure);
	mailsec_dns_result_free(res);
	assert_int_equal(a.calls, 1);
	assert_int_equal(mailsec_resolver_pending(r), 0);
	assert_int_equal(mailsec_resolver_query_count(r), 2);

	/* temporary failures are results, not errors */
	res = NULL;
	assert_int_equal(mailsec_dns_lookup(r, "slow.example.org",
	    MAILSEC_DNS_TXT, &res), MAILSEC_OK);
	assert_int_equal(res->status, MAILSEC_DNS_TIMEOUT);
	assert_true(mailsec_dns_status_is_temporary(res->status));
	assert_non_null(strstr(res->why, "$TIMEOUT"));
	mailsec_dns_result_free(res);
	mailsec_resolver_free(r);
}

/* _wait() delivers at once: the zone backend never sleeps. */
static void
test_resolver_wait(void **state)
{
	struct mailsec_resolver *r;
	struct cb_ctx a;

	(void)state;
	r = new_zone();
	memset(&a, 0, sizeof a);
	mailsec_resolver_set_timeout(r, 1);
	assert_int_equal(mailsec_resolver_query(r, "example.org",
	    MAILSEC_DNS_A, record_cb, &a, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_wait(r, -1), MAILSEC_OK);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, MAILSEC_DNS_ANSWER);
	/* nothing pending: returns at once */
	assert_int_equal(mailsec_resolver_wait(r, -1), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_wait(r, 0), MAILSEC_OK);
	assert_int_equal(a.calls, 1);
	mailsec_resolver_free(r);
}

static void
test_resolver_refused_queries(void **state)
{
	struct mailsec_resolver *r;
	struct cb_ctx a;
	uint64_t id = 77;

	(void)state;
	r = new_zone();
	memset(&a, 0, sizeof a);
	assert_int_equal(mailsec_resolver_query(r, "a..b", MAILSEC_DNS_A,
	    record_cb, &a, &id), MAILSEC_EINVAL);
	assert_int_equal(mailsec_resolver_query(r,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    MAILSEC_DNS_A, record_cb, &a, &id), MAILSEC_EINVAL);
	/* refused by the zone backend itself: a broken escape */
	assert_int_equal(mailsec_resolver_query(r, "x\\", MAILSEC_DNS_A,
	    record_cb, &a, &id), MAILSEC_EINVAL);
	assert_int_equal(mailsec_resolver_query(r, "example.org", 0,
	    record_cb, &a, &id), MAILSEC_EINVAL);
	assert_int_equal(mailsec_resolver_query(r, "example.org",
	    MAILSEC_DNS_A, NULL, &a, &id), MAILSEC_EINVAL);
	assert_int_equal(mailsec_resolver_query(r, NULL, MAILSEC_DNS_A,
	    record_cb, &a, &id), MAILSEC_EINVAL);
	assert_int_equal(id, 77);
	assert_int_equal(mailsec_resolver_pending(r), 0);
	assert_int_equal(mailsec_resolver_query_count(r), 0);
	assert_int_equal(mailsec_resolver_process(r), MAILSEC_OK);
	assert_int_equal(a.calls, 0);
	mailsec_resolver_free(r);
}

/* Name limits count wire octets: \DDD and \X escapes are one octet each
 * (RFC 1035 2.3.4 and 5.1), and an escaped final dot is part of a label. */
static void
test_resolver_escaped_names(void **state)
{
	struct mailsec_resolver *r;
	struct mailsec_dns_result *res = NULL;
	char name[600];
	size_t i, n;

	(void)state;
	r = new_zone();
	/* 63 octets written as \097: a legal label */
	for (n = 0, i = 0; i < 63; i++)
		n += (size_t)snprintf(name + n, sizeof name - n, "\\097");
	snprintf(name + n, sizeof name - n, ".example.org");
	assert_int_equal(mailsec_dns_lookup(r, name, MAILSEC_DNS_A, &res),
	    MAILSEC_OK);
	assert_non_null(res);
	mailsec_dns_result_free(res);
	res = NULL;
	/* 64 octets: too long, however written */
	snprintf(name + n, sizeof name - n, "\\097.example.org");
	assert_int_equal(mailsec_dns_lookup(r, name, MAILSEC_DNS_A, &res),
	    MAILSEC_EINVAL);
	assert_int_equal(mailsec_dns_lookup(r, "\\256.example.org",
	    MAILSEC_DNS_A, &res), MAILSEC_EINVAL);
	assert_int_equal(mailsec_dns_lookup(r, "\\25.example.org",
	    MAILSEC_DNS_A, &res), MAILSEC_EINVAL);
	assert_null(res);
	/* an escaped final dot stays: the label is "a." */
	assert_int_equal(mailsec_dns_lookup(r, "a\\.", MAILSEC_DNS_A, &res),
	    MAILSEC_OK);
	assert_string_equal(res->qname, "a\\.");
	mailsec_dns_result_free(res);
	res = NULL;
	/* an unescaped one goes, after an escaped backslash too */
	assert_int_equal(mailsec_dns_lookup(r, "a\\\\.", MAILSEC_DNS_A,
	    &res), MAILSEC_OK);
	assert_string_equal(res->qname, "a\\\\");
	mailsec_dns_result_free(res);
	mailsec_resolver_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolver_in_flight),
		cmocka_unit_test(test_resolver_cancel),
		cmocka_unit_test(test_resolver_callback_starts_query),
		cmocka_unit_test(test_resolver_callback_cancels_query),
		cmocka_unit_test(test_resolver_free_pending),
		cmocka_unit_test(test_resolver_sync_lookup),
		cmocka_unit_test(test_resolver_wait),
		cmocka_unit_test(test_resolver_refused_queries),
		cmocka_unit_test(test_resolver_escaped_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
