/*
 * tests/unit/spf/test_spf_cache.c - the cache of parsed SPF records
 * (struct mailsec_spf_cache): hits give the same outcome as parsing,
 * least-recently-used eviction at the record and byte bounds, one parse
 * for the same text under two names, a record evicted while an
 * evaluation still uses it, and a record that changes once the DNS
 * answer cache lets its TTL run out gives the new parse. Also the
 * literal targets the parser keeps (ms_spf_term.lit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "dns/dns_int.h"
#include "spf/spf_int.h"
#include "../../common/zone_fixture.h"

static const char zone[] =
    "$ORIGIN example.org.\n"
    "$TTL 300\n"
    "@          TXT \"v=spf1 ip4:192.0.2.0/24 include:_spf.example.org "
    "mx -all\"\n"
    "@          MX 10 mx1\n"
    "mx1        A 198.51.100.11\n"
    "_spf       TXT \"v=spf1 ip4:203.0.113.0/24 ~all\"\n"
    /* the same text under two names; "a" means each one's own A */
    "twin1      TXT \"v=spf1 a -all\"\n"
    "twin1      A 192.0.2.101\n"
    "twin2      TXT \"v=spf1 a -all\"\n"
    "twin2      A 192.0.2.102\n"
    "one        TXT \"v=spf1 ip4:192.0.2.1 -all\"\n"
    "two        TXT \"v=spf1 ip4:192.0.2.2 -all\"\n"
    "three      TXT \"v=spf1 ip4:192.0.2.3 -all\"\n"
    "red        TXT \"v=spf1 redirect=_spf.example.org\"\n";

static struct mailsec_resolver *
resolver(void)
{
	return zone_fixture(zone, sizeof zone - 1);
}

/* One evaluation of (ip, sender) to the end through cache c. */
static enum mailsec_spf_result
check(struct mailsec_resolver *r, struct mailsec_spf_cache *c,
    const char *ip, const char *sender, char **mech)
{
	struct mailsec_spf_request req = { 0 };
	struct mailsec_spf *s = NULL;
	enum mailsec_spf_result res;

	req.ip = ip;
	req.mail_from = sender;
	assert_int_equal(mailsec_spf_new(r, &req, &s, NULL), MAILSEC_OK);
	mailsec_spf_set_cache(s, c);
	assert_int_equal(mailsec_spf_start(s, NULL, NULL), MAILSEC_OK);
	while (!mailsec_spf_done(s))
		assert_int_equal(mailsec_resolver_wait(r, 1000), MAILSEC_OK);
	res = mailsec_spf_outcome(s)->result;
	if (mech != NULL) {
		const char *m = mailsec_spf_outcome(s)->mechanism;

		*mech = m != NULL ? strdup(m) : NULL;
	}
	mailsec_spf_free(s);
	return res;
}

static struct mailsec_spf_cache_stats
stats(const struct mailsec_spf_cache *c)
{
	struct mailsec_spf_cache_stats st;

	mailsec_spf_cache_stats(c, &st);
	return st;
}

static void
test_new_bad(void **state)
{
	struct mailsec_spf_cache *c = (void *)1;
	struct mailsec_spf_cache_stats st;

	(void)state;
	assert_int_equal(mailsec_spf_cache_new(0, 0, &c), MAILSEC_EINVAL);
	assert_null(c);
	assert_int_equal(mailsec_spf_cache_new(1, 0, NULL), MAILSEC_EINVAL);
	mailsec_spf_cache_free(NULL);
	mailsec_spf_cache_stats(NULL, &st);
	assert_int_equal(st.records, 0);
}

/* Hits give what a parse gives, case after case. */
static void
test_hits_same_outcome(void **state)
{
	static const struct {
		const char *ip;
		const char *sender;
		enum mailsec_spf_result want;
		const char *mech;
	} cases[] = {
		{ "192.0.2.7", "a@example.org", MAILSEC_SPF_PASS,
		  "ip4:192.0.2.0/24" },
		{ "203.0.113.9", "a@example.org", MAILSEC_SPF_PASS,
		  "include:_spf.example.org" },
		{ "198.51.100.11", "a@example.org", MAILSEC_SPF_PASS, "mx" },
		{ "198.51.100.12", "a@example.org", MAILSEC_SPF_FAIL, "-all" },
		{ "203.0.113.9", "a@red.example.org", MAILSEC_SPF_PASS,
		  "ip4:203.0.113.0/24" },
		{ "192.0.2.9", "a@red.example.org", MAILSEC_SPF_SOFTFAIL,
		  "~all" },
	};
	struct mailsec_resolver *r = resolver();
	struct mailsec_spf_cache *c = NULL;
	struct mailsec_spf_cache_stats st;
	size_t i, round;
	char *m1, *m2;

	(void)state;
	assert_int_equal(mailsec_spf_cache_new(100, 0, &c), MAILSEC_OK);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < MS_ARRAY_LEN(cases); i++) {
			assert_int_equal(check(r, NULL, cases[i].ip,
			    cases[i].sender, &m1), cases[i].want);
			assert_int_equal(check(r, c, cases[i].ip,
			    cases[i].sender, &m2), cases[i].want);
			assert_non_null(m1);
			assert_non_null(m2);
			assert_string_equal(m1, cases[i].mech);
			assert_string_equal(m2, m1);
			free(m1);
			free(m2);
		}
	}
	st = stats(c);
	/* three texts: example.org, _spf, red */
	assert_int_equal(st.misses, 3);
	assert_int_equal(st.records, 3);
	/* records fetched a round: 1, then 2 for each include/redirect */
	assert_int_equal(st.hits + st.misses, 2 * (1 + 2 + 2 + 2 + 2 + 2));
	assert_int_equal(st.evictions, 0);
	assert_true(st.bytes > 0);
	mailsec_spf_cache_free(c);
	mailsec_resolver_free(r);
}

/* The same text at two names is parsed once; each name still gets its
 * own "a" lookup. */
static void
test_same_text_two_names(void **state)
{
	struct mailsec_resolver *r = resolver();
	struct mailsec_spf_cache *c = NULL;
	struct mailsec_spf_cache_stats st;

	(void)state;
	assert_int_equal(mailsec_spf_cache_new(10, 0, &c), MAILSEC_OK);
	assert_int_equal(check(r, c, "192.0.2.101", "x@twin1.example.org",
	    NULL), MAILSEC_SPF_PASS);
	assert_int_equal(check(r, c, "192.0.2.101", "x@twin2.example.org",
	    NULL), MAILSEC_SPF_FAIL);
	assert_int_equal(check(r, c, "192.0.2.102", "x@twin2.example.org",
	    NULL), MAILSEC_SPF_PASS);
	st = stats(c);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.records, 1);
	mailsec_spf_cache_free(c);
	mailsec_resolver_free(r);
}

/* At the record bound the least recently used record goes. */
static void
test_eviction_lru(void **state)
{
	struct mailsec_resolver *r = resolver();
	struct mailsec_spf_cache *c = NULL;
	struct mailsec_spf_cache_stats st;

	(void)state;
	assert_int_equal(mailsec_spf_cache_new(2, 0, &c), MAILSEC_OK);
	check(r, c, "192.0.2.1", "x@one.example.org", NULL);	/* miss */
	check(r, c, "192.0.2.1", "x@two.example.org", NULL);	/* miss */
	check(r, c, "192.0.2.1", "x@one.example.org", NULL);	/* hit */
	st = stats(c);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.hits, 1);
	/* three drops two, the least recently used */
	assert_int_equal(check(r, c, "192.0.2.3", "x@three.example.org",
	    NULL), MAILSEC_SPF_PASS);
	st = stats(c);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.records, 2);
	check(r, c, "192.0.2.1", "x@one.example.org", NULL);	/* hit */
	st = stats(c);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 3);
	assert_int_equal(check(r, c, "192.0.2.2", "x@two.example.org",
	    NULL), MAILSEC_SPF_PASS);			/* miss again */
	st = stats(c);
	assert_int_equal(st.misses, 4);
	assert_int_equal(st.evictions, 2);
	mailsec_spf_cache_free(c);
	mailsec_resolver_free(r);
}

/* The byte bound: a record bigger than the whole bound is not kept, and
 * a bound of one record's size keeps one. */
static void
test_eviction_bytes(void **state)
{
	struct mailsec_resolver *r = resolver();
	struct mailsec_spf_cache *c = NULL;
	struct mailsec_spf_cache_stats st;
	size_t one;

	(void)state;
	assert_int_equal(mailsec_spf_cache_new(10, 1, &c), MAILSEC_OK);
	assert_int_equal(check(r, c, "192.0.2.1", "x@one.example.org", NULL),
	    MAILSEC_SPF_PASS);
	st = stats(c);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.misses, 1);
	mailsec_spf_cache_free(c);

	assert_int_equal(mailsec_spf_cache_new(10, 0, &c), MAILSEC_OK);
	check(r, c, "192.0.2.1", "x@one.example.org", NULL);
	one = stats(c).bytes;
	mailsec_spf_cache_free(c);
	/* "one", "two" and "three" cost the same */
	assert_int_equal(mailsec_spf_cache_new(10, one, &c), MAILSEC_OK);
	check(r, c, "192.0.2.1", "x@one.example.org", NULL);
	check(r, c, "192.0.2.2", "x@two.example.org", NULL);
	st = stats(c);
	assert_int_equal(st.records, 1);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.bytes, one);
	mailsec_spf_cache_free(c);
	mailsec_resolver_free(r);
}

/* With room for one record, the include's record evicts the top one
 * while the top level still reads it (ASan would see a use after free);
 * freeing the cache mid-way is as harmless for the records. */
static void
test_evicted_in_use(void **state)
{
	struct mailsec_resolver *r = resolver();
	struct mailsec_spf_cache *c = NULL;
	struct mailsec_spf_cache_stats st;
	char *m;

	(void)state;
	assert_int_equal(mailsec_spf_cache_new(1, 0, &c), MAILSEC_OK);
	assert_int_equal(check(r, c, "198.51.100.11", "a@example.org", &m),
	    MAILSEC_SPF_PASS);
	assert_string_equal(m, "mx");
	free(m);
	st = stats(c);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.records, 1);
	mailsec_spf_cache_free(c);
	mailsec_resolver_free(r);
}

/* ---- a record that changes ---------------------------------------------
 * A backend whose one TXT record the test rewrites, TTL 1 s, behind the
 * DNS layer's answer cache. */

struct fake {
	char txt[128];
	unsigned started;
};

static mailsec_err
fake_start(void *impl, struct ms_dns_query *q)
{
	struct fake *fk = impl;
	struct mailsec_dns_result *res;
	struct mailsec_dns_rr rr;

	fk->started++;
	res = ms_dns_result_new(q->name, q->type, MAILSEC_DNS_NODATA);
	if (res == NULL)
		return MAILSEC_ENOMEM;
	if (q->type == MAILSEC_DNS_TXT &&
	    strcmp(q->name, "change.example") == 0) {
		memset(&rr, 0, sizeof rr);
		rr.type = MAILSEC_DNS_TXT;
		rr.ttl = 1;
		rr.u.txt.len = strlen(fk->txt);
		rr.u.txt.nstrings = 1;
		rr.u.txt.data = ms_memdupz(fk->txt, rr.u.txt.len);
		if (rr.u.txt.data == NULL ||
		    ms_dns_result_add(res, &rr) != MAILSEC_OK) {
			mailsec_dns_result_free(res);
			return MAILSEC_ENOMEM;
		}
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
	(void)impl;
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
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void
test_record_change(void **state)
{
	struct mailsec_resolver *r = NULL;
	struct mailsec_spf_cache *c = NULL;
	struct mailsec_spf_cache_stats st;
	struct fake *fk = ms_calloc(1, sizeof *fk);
	char *m;

	(void)state;
	assert_non_null(fk);
	snprintf(fk->txt, sizeof fk->txt, "v=spf1 ip4:192.0.2.1 -all");
	assert_int_equal(ms_resolver_new(&fake_ops, fk, &r), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_set_cache(r, 10), MAILSEC_OK);
	assert_int_equal(mailsec_spf_cache_new(10, 0, &c), MAILSEC_OK);
	assert_int_equal(check(r, c, "192.0.2.1", "x@change.example", NULL),
	    MAILSEC_SPF_PASS);
	/* the publisher changes the record; the old answer is still fresh */
	snprintf(fk->txt, sizeof fk->txt, "v=spf1 ip4:192.0.2.2 ~all");
	assert_int_equal(check(r, c, "192.0.2.1", "x@change.example", NULL),
	    MAILSEC_SPF_PASS);
	assert_int_equal(fk->started, 1);
	st = stats(c);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.hits, 1);
	/* after the TTL: the new text, a new parse */
	sleep_ms(1100);
	assert_int_equal(check(r, c, "192.0.2.1", "x@change.example", &m),
	    MAILSEC_SPF_SOFTFAIL);
	assert_string_equal(m, "~all");
	free(m);
	assert_int_equal(fk->started, 2);
	st = stats(c);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.records, 2);	/* the old text ages out */
	mailsec_spf_cache_free(c);
	mailsec_resolver_free(r);
}

/* ---- literal targets --------------------------------------------------- */

static void
test_record_lits(void **state)
{
	static const char txt[] = "v=spf1 a include:_spf.example.net "
	    "exists:%{i}.x.example.org mx:mail.example.com//64 "
	    "ptr:Example.COM. redirect=r.example exp=e.%{d}";
	struct ms_spf_record *rec = NULL;
	char *big = NULL;
	size_t n;

	(void)state;
	assert_int_equal(ms_spf_record_parse(txt, sizeof txt - 1, &rec, NULL),
	    MAILSEC_OK);
	assert_int_equal(rec->nterms, 5);
	assert_null(rec->terms[0].lit);			/* no spec */
	assert_string_equal(rec->terms[1].lit, "_spf.example.net");
	assert_null(rec->terms[2].lit);			/* a macro */
	assert_string_equal(rec->terms[3].lit, "mail.example.com");
	assert_string_equal(rec->terms[4].lit, "Example.COM.");
	assert_string_equal(rec->redirect_lit, "r.example");
	assert_null(rec->exp_lit);
	assert_ptr_equal(ms_spf_record_ref(rec), rec);
	ms_spf_record_unref(rec);
	ms_spf_record_unref(rec);

	/* a literal over 253 octets loses labels on the left (7.3) */
	n = strlen("v=spf1 include:") + 26 * 10 + strlen("example.org");
	big = malloc(n + 1);
	assert_non_null(big);
	memcpy(big, "v=spf1 include:", strlen("v=spf1 include:"));
	for (size_t i = 0; i < 26; i++)
		memcpy(big + strlen("v=spf1 include:") + i * 10, "abcdefghi.",
		    10);
	memcpy(big + n - strlen("example.org"), "example.org",
	    strlen("example.org") + 1);
	assert_int_equal(ms_spf_record_parse(big, n, &rec, NULL), MAILSEC_OK);
	assert_true(strlen(rec->terms[0].lit) <= 253);
	assert_string_equal(rec->terms[0].lit,
	    ms_spf_domain_truncate(rec->terms[0].lit));
	/* 271 octets: two labels go */
	assert_int_equal(strlen(rec->terms[0].lit), 24 * 10 +
	    strlen("example.org"));
	ms_spf_record_unref(rec);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_bad),
		cmocka_unit_test(test_hits_same_outcome),
		cmocka_unit_test(test_same_text_two_names),
		cmocka_unit_test(test_eviction_lru),
		cmocka_unit_test(test_eviction_bytes),
		cmocka_unit_test(test_evicted_in_use),
		cmocka_unit_test(test_record_change),
		cmocka_unit_test(test_record_lits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
