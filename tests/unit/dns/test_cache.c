/*
 * tests/unit/dns/test_cache.c - the generic layer's answer cache
 * (mailsec_resolver_set_cache()), driven by the zone backend: hits and
 * their copies, TTL expiry, negative entries, temporary failures never
 * kept, eviction at the bound, off by default, case-insensitive keys,
 * freeing a resolver with entries, mailsec_dns_result_dup().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <mailsec/dns.h>

#define S(lit) (lit), (sizeof(lit) - 1)

static const char zone_text[] =
    "$ORIGIN example.org.\n"
    "$TTL 300\n"
    "@      A   192.0.2.1\n"
    "       MX  10 mail\n"
    "       MX  20 backup\n"
    "mail   A   192.0.2.25\n"
    "alias  CNAME mail\n"
    "_spf   TXT \"v=spf1 \" \"-all\"\n"
    "short 1 A 192.0.2.7\n"
    "zero  0 A 192.0.2.8\n"
    "h1 A 192.0.2.11\n"
    "h2 A 192.0.2.12\n"
    "h3 A 192.0.2.13\n"
    "h4 A 192.0.2.14\n"
    "$TIMEOUT slow\n"
    "$SERVFAIL broken\n";

static struct mailsec_resolver *
new_zone(size_t cache)
{
	struct mailsec_resolver *r = NULL;

	assert_int_equal(mailsec_resolver_new_zone_mem(S(zone_text), NULL, &r,
	    NULL), MAILSEC_OK);
	assert_non_null(r);
	if (cache > 0)
		assert_int_equal(mailsec_resolver_set_cache(r, cache),
		    MAILSEC_OK);
	return r;
}

static struct mailsec_dns_result *
lookup(struct mailsec_resolver *r, const char *name, uint16_t type)
{
	struct mailsec_dns_result *res = NULL;

	assert_int_equal(mailsec_dns_lookup(r, name, type, &res), MAILSEC_OK);
	assert_non_null(res);
	return res;
}

/* Both results hold the same records in the same order. */
static void
assert_same_records(const struct mailsec_dns_result *a,
    const struct mailsec_dns_result *b)
{
	size_t i;

	assert_int_equal(a->status, b->status);
	assert_int_equal(a->qtype, b->qtype);
	assert_string_equal(a->canonical, b->canonical);
	assert_int_equal(a->secure, b->secure);
	assert_int_equal(a->count, b->count);
	for (i = 0; i < a->count; i++) {
		const struct mailsec_dns_rr *x = &a->rrs[i], *y = &b->rrs[i];

		assert_int_equal(x->type, y->type);
		switch (x->type) {
		case MAILSEC_DNS_A:
			assert_memory_equal(x->u.a, y->u.a, 4);
			break;
		case MAILSEC_DNS_MX:
			assert_int_equal(x->u.mx.preference,
			    y->u.mx.preference);
			assert_string_equal(x->u.mx.exchange,
			    y->u.mx.exchange);
			assert_ptr_not_equal(x->u.mx.exchange,
			    y->u.mx.exchange);
			break;
		case MAILSEC_DNS_CNAME:
			assert_string_equal(x->u.name, y->u.name);
			break;
		case MAILSEC_DNS_TXT:
			assert_int_equal(x->u.txt.len, y->u.txt.len);
			assert_int_equal(x->u.txt.nstrings,
			    y->u.txt.nstrings);
			assert_memory_equal(x->u.txt.data, y->u.txt.data,
			    x->u.txt.len + 1);
			assert_ptr_not_equal(x->u.txt.data, y->u.txt.data);
			break;
		default:
			break;
		}
	}
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void
test_off_by_default(void **state)
{
	struct mailsec_resolver *r = new_zone(0);
	struct mailsec_dns_result *res;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		res = lookup(r, "example.org", MAILSEC_DNS_A);
		assert_int_equal(res->status, MAILSEC_DNS_ANSWER);
		mailsec_dns_result_free(res);
	}
	assert_int_equal(mailsec_resolver_cache_hits(r), 0);
	assert_int_equal(mailsec_resolver_cache_size(r), 0);
	assert_int_equal(mailsec_resolver_query_count(r), 3);
	mailsec_resolver_free(r);
}

static void
test_hit_identical(void **state)
{
	struct mailsec_resolver *r = new_zone(16);
	struct mailsec_dns_result *a, *b;
	static const struct {
		const char *name;
		uint16_t type;
	} q[] = {
		{ "example.org", MAILSEC_DNS_MX },
		{ "example.org", MAILSEC_DNS_A },
		{ "_spf.example.org", MAILSEC_DNS_TXT },
		{ "alias.example.org", MAILSEC_DNS_A },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof q / sizeof q[0]; i++) {
		a = lookup(r, q[i].name, q[i].type);
		assert_int_equal(a->status, MAILSEC_DNS_ANSWER);
		assert_int_equal(mailsec_resolver_cache_hits(r), i);
		b = lookup(r, q[i].name, q[i].type);
		assert_int_equal(mailsec_resolver_cache_hits(r), i + 1);
		assert_same_records(a, b);
		assert_string_equal(b->qname, q[i].name);
		mailsec_dns_result_free(a);
		mailsec_dns_result_free(b);
	}
	/* the CNAME target stays the canonical name of a hit */
	a = lookup(r, "alias.example.org", MAILSEC_DNS_A);
	assert_string_equal(a->canonical, "mail.example.org");
	mailsec_dns_result_free(a);
	/* hits count as queries started */
	assert_int_equal(mailsec_resolver_query_count(r), 9);
	assert_int_equal(mailsec_resolver_cache_size(r), 4);
	mailsec_resolver_free(r);
}

struct cb_ctx {
	unsigned calls;
	enum mailsec_dns_status status;
};

static void
count_cb(void *arg, struct mailsec_dns_result *res)
{
	struct cb_ctx *c = arg;

	c->calls++;
	c->status = res->status;
	mailsec_dns_result_free(res);
}

/* A hit is delivered from _process(), never from inside _query(), and can
 * be cancelled like any other query. */
static void
test_hit_async(void **state)
{
	struct mailsec_resolver *r = new_zone(16);
	struct mailsec_dns_result *a;
	struct cb_ctx c1 = { 0, MAILSEC_DNS_TIMEOUT }, c2 = c1;
	uint64_t id2;

	(void)state;
	a = lookup(r, "mail.example.org", MAILSEC_DNS_A);
	mailsec_dns_result_free(a);
	assert_int_equal(mailsec_resolver_query(r, "mail.example.org",
	    MAILSEC_DNS_A, count_cb, &c1, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_query(r, "mail.example.org",
	    MAILSEC_DNS_A, count_cb, &c2, &id2), MAILSEC_OK);
	assert_int_equal(c1.calls, 0);
	assert_int_equal(mailsec_resolver_pending(r), 2);
	assert_int_equal(mailsec_resolver_next_timeout(r), 0);
	mailsec_resolver_cancel(r, id2);
	assert_int_equal(mailsec_resolver_process(r), MAILSEC_OK);
	assert_int_equal(c1.calls, 1);
	assert_int_equal(c1.status, MAILSEC_DNS_ANSWER);
	assert_int_equal(c2.calls, 0);
	assert_int_equal(mailsec_resolver_pending(r), 0);
	assert_int_equal(mailsec_resolver_cache_hits(r), 2);
	mailsec_resolver_free(r);
}

static void
test_case_insensitive(void **state)
{
	struct mailsec_resolver *r = new_zone(16);
	struct mailsec_dns_result *a, *b;

	(void)state;
	a = lookup(r, "Mail.Example.ORG", MAILSEC_DNS_A);
	b = lookup(r, "mail.example.org.", MAILSEC_DNS_A);
	assert_int_equal(mailsec_resolver_cache_hits(r), 1);
	assert_string_equal(b->qname, "mail.example.org");
	assert_string_equal(b->canonical, "mail.example.org");
	assert_memory_equal(a->rrs[0].u.a, b->rrs[0].u.a, 4);
	mailsec_dns_result_free(a);
	mailsec_dns_result_free(b);
	/* same name, other type: a separate key */
	a = lookup(r, "MAIL.example.org", MAILSEC_DNS_AAAA);
	assert_int_equal(a->status, MAILSEC_DNS_NODATA);
	assert_int_equal(mailsec_resolver_cache_hits(r), 1);
	mailsec_dns_result_free(a);
	mailsec_resolver_free(r);
}

static void
test_ttl_expiry(void **state)
{
	struct mailsec_resolver *r = new_zone(16);
	struct mailsec_dns_result *a;

	(void)state;
	a = lookup(r, "short.example.org", MAILSEC_DNS_A);
	assert_int_equal(a->rrs[0].ttl, 1);
	mailsec_dns_result_free(a);
	a = lookup(r, "short.example.org", MAILSEC_DNS_A);
	assert_int_equal(mailsec_resolver_cache_hits(r), 1);
	assert_true(a->rrs[0].ttl <= 1);
	mailsec_dns_result_free(a);
	sleep_ms(1100);
	a = lookup(r, "short.example.org", MAILSEC_DNS_A);
	assert_int_equal(a->status, MAILSEC_DNS_ANSWER);
	assert_int_equal(a->rrs[0].ttl, 1);
	assert_int_equal(mailsec_resolver_cache_hits(r), 1);
	mailsec_dns_result_free(a);
	/* TTL 0: never kept */
	a = lookup(r, "zero.example.org", MAILSEC_DNS_A);
	mailsec_dns_result_free(a);
	a = lookup(r, "zero.example.org", MAILSEC_DNS_A);
	assert_int_equal(a->status, MAILSEC_DNS_ANSWER);
	mailsec_dns_result_free(a);
	assert_int_equal(mailsec_resolver_cache_hits(r), 1);
	mailsec_resolver_free(r);
}

static void
test_negative(void **state)
{
	struct mailsec_resolver *r = new_zone(16);
	struct mailsec_dns_result *a;

	(void)state;
	a = lookup(r, "nope.example.org", MAILSEC_DNS_A);
	assert_int_equal(a->status, MAILSEC_DNS_NXDOMAIN);
	mailsec_dns_result_free(a);
	a = lookup(r, "nope.example.org", MAILSEC_DNS_A);
	assert_int_equal(a->status, MAILSEC_DNS_NXDOMAIN);
	assert_int_equal(a->count, 0);
	mailsec_dns_result_free(a);
	assert_int_equal(mailsec_resolver_cache_hits(r), 1);
	a = lookup(r, "mail.example.org", MAILSEC_DNS_TXT);
	assert_int_equal(a->status, MAILSEC_DNS_NODATA);
	mailsec_dns_result_free(a);
	a = lookup(r, "mail.example.org", MAILSEC_DNS_TXT);
	assert_int_equal(a->status, MAILSEC_DNS_NODATA);
	mailsec_dns_result_free(a);
	assert_int_equal(mailsec_resolver_cache_hits(r), 2);
	mailsec_resolver_free(r);
}

static void
test_temporary_not_cached(void **state)
{
	struct mailsec_resolver *r = new_zone(16);
	struct mailsec_dns_result *a;
	int i;

	(void)state;
	mailsec_resolver_set_timeout(r, 30);
	for (i = 0; i < 2; i++) {
		a = lookup(r, "slow.example.org", MAILSEC_DNS_A);
		assert_int_equal(a->status, MAILSEC_DNS_TIMEOUT);
		mailsec_dns_result_free(a);
		a = lookup(r, "broken.example.org", MAILSEC_DNS_A);
		assert_int_equal(a->status, MAILSEC_DNS_SERVFAIL);
		mailsec_dns_result_free(a);
	}
	assert_int_equal(mailsec_resolver_cache_hits(r), 0);
	assert_int_equal(mailsec_resolver_cache_size(r), 0);
	mailsec_resolver_free(r);
}

static void
test_eviction(void **state)
{
	struct mailsec_resolver *r = new_zone(3);
	struct mailsec_dns_result *a;
	static const char *const names[] = {
		"h1.example.org", "h2.example.org", "h3.example.org",
		"h4.example.org"
	};
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		a = lookup(r, names[i], MAILSEC_DNS_A);
		mailsec_dns_result_free(a);
		assert_true(mailsec_resolver_cache_size(r) <= 3);
	}
	assert_int_equal(mailsec_resolver_cache_size(r), 3);
	/* h1, the oldest, went; h2..h4 stay */
	for (i = 1; i < 4; i++) {
		a = lookup(r, names[i], MAILSEC_DNS_A);
		mailsec_dns_result_free(a);
	}
	assert_int_equal(mailsec_resolver_cache_hits(r), 3);
	a = lookup(r, names[0], MAILSEC_DNS_A);
	mailsec_dns_result_free(a);
	assert_int_equal(mailsec_resolver_cache_hits(r), 3);
	assert_int_equal(mailsec_resolver_cache_size(r), 3);
	/* an expired entry goes before the oldest fresh one */
	a = lookup(r, "short.example.org", MAILSEC_DNS_A);
	mailsec_dns_result_free(a);
	sleep_ms(1100);
	/* h4, h1, short: inserting example.org drops short, not h4 */
	a = lookup(r, "example.org", MAILSEC_DNS_A);
	mailsec_dns_result_free(a);
	assert_int_equal(mailsec_resolver_cache_size(r), 3);
	a = lookup(r, names[3], MAILSEC_DNS_A);
	mailsec_dns_result_free(a);
	assert_int_equal(mailsec_resolver_cache_hits(r), 4);
	/* 0 turns it off and empties it */
	assert_int_equal(mailsec_resolver_set_cache(r, 0), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_cache_size(r), 0);
	a = lookup(r, names[0], MAILSEC_DNS_A);
	mailsec_dns_result_free(a);
	assert_int_equal(mailsec_resolver_cache_hits(r), 4);
	mailsec_resolver_free(r);
}

/* Many entries, some pending queries, then free: ASan checks the rest. */
static void
test_free_with_entries(void **state)
{
	struct mailsec_resolver *r = new_zone(1000);
	struct mailsec_dns_result *a;
	struct cb_ctx c = { 0, MAILSEC_DNS_TIMEOUT };
	char name[64];
	int i;

	(void)state;
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof name, "n%d.example.org", i);
		a = lookup(r, name, MAILSEC_DNS_A);
		mailsec_dns_result_free(a);
	}
	a = lookup(r, "example.org", MAILSEC_DNS_MX);
	mailsec_dns_result_free(a);
	assert_int_equal(mailsec_resolver_cache_size(r), 201);
	assert_int_equal(mailsec_resolver_query(r, "example.org",
	    MAILSEC_DNS_MX, count_cb, &c, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_cache_hits(r), 1);
	/* resizing empties it */
	assert_int_equal(mailsec_resolver_set_cache(r, 10), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_cache_size(r), 0);
	a = lookup(r, "example.org", MAILSEC_DNS_MX);
	mailsec_dns_result_free(a);
	mailsec_resolver_free(r);
	assert_int_equal(c.calls, 1);
}

static void
test_result_dup(void **state)
{
	struct mailsec_resolver *r = new_zone(0);
	struct mailsec_dns_result *a, *b;

	(void)state;
	assert_null(mailsec_dns_result_dup(NULL));
	a = lookup(r, "_spf.example.org", MAILSEC_DNS_TXT);
	b = mailsec_dns_result_dup(a);
	assert_non_null(b);
	assert_same_records(a, b);
	assert_string_equal(a->qname, b->qname);
	assert_string_equal(a->why, b->why);
	mailsec_dns_result_free(a);
	mailsec_dns_result_free(b);
	mailsec_resolver_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_by_default),
		cmocka_unit_test(test_hit_identical),
		cmocka_unit_test(test_hit_async),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_ttl_expiry),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_temporary_not_cached),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_free_with_entries),
		cmocka_unit_test(test_result_dup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
