/*
 * tests/unit/dns/test_shared.c - shared results
 * (mailsec_resolver_query_shared(), mailsec_dns_result_ref/unref): a
 * cache hit hands out the cached object itself, references outlive the
 * cache, owned queries still get their own copies, failures and
 * cancellation, and _wait() answering cache hits without the backend.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/dns_int.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static const char zone_text[] =
    "$ORIGIN example.org.\n"
    "$TTL 300\n"
    "@      MX  10 mail\n"
    "       MX  20 backup\n"
    "mail   A   192.0.2.25\n"
    "_spf   TXT \"v=spf1 \" \"-all\"\n"
    "$TIMEOUT slow\n";

struct got {
	const struct mailsec_dns_result *res;	/* a reference, or NULL */
	unsigned calls;
};

static void
on_shared(void *arg, const struct mailsec_dns_result *res)
{
	struct got *g = arg;

	g->calls++;
	g->res = mailsec_dns_result_ref(res);
}

static void
on_owned(void *arg, struct mailsec_dns_result *res)
{
	struct mailsec_dns_result **out = arg;

	*out = res;
}

static struct mailsec_resolver *
new_zone(size_t cache)
{
	struct mailsec_resolver *r = NULL;

	assert_int_equal(mailsec_resolver_new_zone_mem(S(zone_text), NULL, &r,
	    NULL), MAILSEC_OK);
	if (cache > 0)
		assert_int_equal(mailsec_resolver_set_cache(r, cache),
		    MAILSEC_OK);
	return r;
}

static void
run(struct mailsec_resolver *r)
{
	while (mailsec_resolver_pending(r) > 0)
		assert_int_equal(mailsec_resolver_wait(r, 2000), MAILSEC_OK);
}

/* Without a cache: a shared result of its own, alive after the
 * resolver is gone for as long as the reference is held. */
static void
test_shared_no_cache(void **state)
{
	struct mailsec_resolver *r = new_zone(0);
	struct got g = { 0 };

	(void)state;
	assert_int_equal(mailsec_resolver_query_shared(r, "example.org",
	    MAILSEC_DNS_MX, on_shared, &g, NULL), MAILSEC_OK);
	run(r);
	mailsec_resolver_free(r);
	assert_int_equal(g.calls, 1);
	assert_non_null(g.res);
	assert_int_equal(g.res->status, MAILSEC_DNS_ANSWER);
	assert_string_equal(g.res->qname, "example.org");
	assert_int_equal(g.res->count, 2);
	assert_int_equal(g.res->rrs[0].type, MAILSEC_DNS_MX);
	assert_string_equal(g.res->rrs[0].u.mx.exchange, "mail.example.org");
	assert_string_equal(g.res->rrs[1].u.mx.exchange,
	    "backup.example.org");
	mailsec_dns_result_unref(g.res);
	mailsec_dns_result_unref(NULL);
	assert_null(mailsec_dns_result_ref(NULL));
}

/* With the cache: the miss and every hit share one object; it outlives
 * the cache's entry; owned queries still get copies. */
static void
test_shared_hits(void **state)
{
	struct mailsec_resolver *r = new_zone(10);
	struct got a = { 0 }, b = { 0 }, c = { 0 };
	struct mailsec_dns_result *own = NULL;

	(void)state;
	assert_int_equal(mailsec_resolver_query_shared(r, "_spf.example.org",
	    MAILSEC_DNS_TXT, on_shared, &a, NULL), MAILSEC_OK);
	run(r);
	assert_int_equal(mailsec_resolver_cache_hits(r), 0);
	assert_int_equal(mailsec_resolver_query_shared(r, "_SPF.Example.Org.",
	    MAILSEC_DNS_TXT, on_shared, &b, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_query(r, "_Spf.example.org",
	    MAILSEC_DNS_TXT, on_owned, &own, NULL), MAILSEC_OK);
	run(r);
	assert_int_equal(mailsec_resolver_cache_hits(r), 2);
	assert_int_equal(mailsec_resolver_query_count(r), 3);
	assert_ptr_equal(a.res, b.res);
	/* as the cache holds it: the first asker's name */
	assert_string_equal(b.res->qname, "_spf.example.org");
	assert_int_equal(b.res->rrs[0].u.txt.len, strlen("v=spf1 -all"));
	assert_string_equal(b.res->rrs[0].u.txt.data, "v=spf1 -all");
	assert_int_equal(b.res->rrs[0].u.txt.nstrings, 2);
	/* the owned copy: its own memory, the name as asked */
	assert_non_null(own);
	assert_ptr_not_equal(own, a.res);
	assert_ptr_not_equal(own->rrs[0].u.txt.data, a.res->rrs[0].u.txt.data);
	assert_string_equal(own->qname, "_Spf.example.org");
	assert_string_equal(own->rrs[0].u.txt.data, "v=spf1 -all");
	mailsec_dns_result_free(own);
	/* emptying the cache leaves the references valid */
	assert_int_equal(mailsec_resolver_set_cache(r, 10), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_cache_size(r), 0);
	assert_string_equal(a.res->rrs[0].u.txt.data, "v=spf1 -all");
	mailsec_dns_result_unref(a.res);
	assert_string_equal(b.res->canonical, "_spf.example.org");
	mailsec_dns_result_unref(b.res);
	/* a new miss makes a new object */
	assert_int_equal(mailsec_resolver_query_shared(r, "_spf.example.org",
	    MAILSEC_DNS_TXT, on_shared, &c, NULL), MAILSEC_OK);
	run(r);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.res->status, MAILSEC_DNS_ANSWER);
	mailsec_dns_result_unref(c.res);
	mailsec_resolver_free(r);
}

/* Negative answers and timeouts come as shared results too; a cancelled
 * query never calls back. */
static void
test_shared_failures(void **state)
{
	struct mailsec_resolver *r = new_zone(10);
	struct got nx = { 0 }, slow = { 0 }, gone = { 0 };
	uint64_t id;

	(void)state;
	mailsec_resolver_set_timeout(r, 50);
	assert_int_equal(mailsec_resolver_query_shared(r, "none.example.org",
	    MAILSEC_DNS_A, on_shared, &nx, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_query_shared(r, "slow.example.org",
	    MAILSEC_DNS_A, on_shared, &slow, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_query_shared(r, "mail.example.org",
	    MAILSEC_DNS_A, on_shared, &gone, &id), MAILSEC_OK);
	mailsec_resolver_cancel(r, id);
	assert_int_equal(mailsec_resolver_query_shared(r, "a..b",
	    MAILSEC_DNS_A, on_shared, &gone, NULL), MAILSEC_EINVAL);
	assert_int_equal(mailsec_resolver_query_shared(r, "example.org",
	    MAILSEC_DNS_A, NULL, NULL, NULL), MAILSEC_EINVAL);
	run(r);
	assert_int_equal(nx.calls, 1);
	assert_int_equal(nx.res->status, MAILSEC_DNS_NXDOMAIN);
	assert_int_equal(slow.calls, 1);
	assert_int_equal(slow.res->status, MAILSEC_DNS_TIMEOUT);
	assert_true(slow.res->why[0] != '\0');
	assert_int_equal(gone.calls, 0);
	mailsec_dns_result_unref(nx.res);
	mailsec_dns_result_unref(slow.res);
	mailsec_resolver_free(r);
}

/* ---- _wait() and the backend -------------------------------------------
 * A backend that answers every query at once and counts its process()
 * calls: cache hits are delivered by _wait() without it, _process()
 * always calls it. */

struct fake {
	unsigned processed;
};

static mailsec_err
fake_start(void *impl, struct ms_dns_query *q)
{
	struct mailsec_dns_result *res;
	struct mailsec_dns_rr rr;

	(void)impl;
	res = ms_dns_result_new(q->name, q->type, MAILSEC_DNS_NODATA);
	if (res == NULL)
		return MAILSEC_ENOMEM;
	memset(&rr, 0, sizeof rr);
	rr.type = MAILSEC_DNS_A;
	rr.ttl = 300;
	rr.u.a[0] = 192;
	if (ms_dns_result_add(res, &rr) != MAILSEC_OK) {
		mailsec_dns_result_free(res);
		return MAILSEC_ENOMEM;
	}
	ms_dns_finish(q, res);
	return MAILSEC_OK;
}

static void
fake_cancel(void *impl, struct ms_dns_query *q)
{
	(void)impl;
	(void)q;
}

static int
fake_fd(void *impl)
{
	(void)impl;
	return -1;
}

static mailsec_err
fake_process(void *impl)
{
	struct fake *fk = impl;

	fk->processed++;
	return MAILSEC_OK;
}

static void
fake_free(void *impl)
{
	free(impl);
}

static const struct ms_dns_backend fake_ops = {
	"fake", fake_start, fake_cancel, fake_fd, fake_process, fake_free
};

static void
test_wait_skips_backend(void **state)
{
	struct mailsec_resolver *r = NULL;
	struct fake *fk = calloc(1, sizeof *fk);
	struct got g = { 0 };
	unsigned i;

	(void)state;
	assert_non_null(fk);
	assert_int_equal(ms_resolver_new(&fake_ops, fk, &r), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_set_cache(r, 10), MAILSEC_OK);
	for (i = 0; i < 5; i++) {
		assert_int_equal(mailsec_resolver_query_shared(r,
		    "host.example", MAILSEC_DNS_A, on_shared, &g, NULL),
		    MAILSEC_OK);
		assert_int_equal(mailsec_resolver_wait(r, 1000), MAILSEC_OK);
		assert_int_equal(g.calls, i + 1);
		assert_int_equal(g.res->rrs[0].u.a[0], 192);
		mailsec_dns_result_unref(g.res);
		g.res = NULL;
	}
	/* answered inside start(), then from the cache: nothing was ever
	 * with the backend when _wait() ran */
	assert_int_equal(fk->processed, 0);
	assert_int_equal(mailsec_resolver_cache_hits(r), 4);
	assert_int_equal(mailsec_resolver_process(r), MAILSEC_OK);
	assert_int_equal(fk->processed, 1);
	mailsec_resolver_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_no_cache),
		cmocka_unit_test(test_shared_hits),
		cmocka_unit_test(test_shared_failures),
		cmocka_unit_test(test_wait_skips_backend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
