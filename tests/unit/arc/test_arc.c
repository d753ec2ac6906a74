/*
 * tests/unit/arc/test_arc.c - ARC (RFC 8617): instance parsing, the
 * chain's structure (each 5.2 step 1-3 failure with its reason), seals
 * and message signatures (each failure with its reason, oldest-pass),
 * sealing (instances, cv=, the failed-chain scope of 5.1.2, option
 * checks), streaming in small chunks, and the reporting helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailsec/arc.h>

#include "arc/arc_int.h"

#define NOW 1700000000

/* ---- fixtures ---------------------------------------------------------- */

static struct {
	struct mailsec_dkim_key *rsa, *ed;
	char zone[16384];
} fx;

static const char base_msg[] =
    "From: Alice <alice@orig.example>\r\n"
    "To: list@list.example\r\n"
    "Subject: hello\r\n"
    "Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
    "Message-ID: <1@orig.example>\r\n"
    "\r\n"
    "Hi list.\r\n";

static void
zone_add(char *zone, size_t zsz, const char *name,
    const struct mailsec_dkim_key *k)
{
	char *rec;
	size_t len, i, o = strlen(zone);

	assert_int_equal(mailsec_dkim_key_record(k, &rec, &len), MAILSEC_OK);
	o += (size_t)snprintf(zone + o, zsz - o, "%s. IN TXT", name);
	for (i = 0; i < len; i += 200)
		o += (size_t)snprintf(zone + o, zsz - o, " \"%.*s\"",
		    (int)(len - i > 200 ? 200 : len - i), rec + i);
	snprintf(zone + o, zsz - o, "\n");
	free(rec);
}

static int
setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof fx);
	if (mailsec_dkim_key_generate(MAILSEC_DKIM_RSA_SHA256, 1024,
	    &fx.rsa) != MAILSEC_OK || mailsec_dkim_key_generate(
	    MAILSEC_DKIM_ED25519_SHA256, 0, &fx.ed) != MAILSEC_OK)
		return -1;
	zone_add(fx.zone, sizeof fx.zone, "rsa._domainkey.fwd.example",
	    fx.rsa);
	zone_add(fx.zone, sizeof fx.zone, "ed._domainkey.list.example",
	    fx.ed);
	snprintf(fx.zone + strlen(fx.zone), sizeof fx.zone - strlen(fx.zone),
	    "$TIMEOUT slow._domainkey.fwd.example. TXT\n");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	mailsec_dkim_key_free(fx.rsa);
	mailsec_dkim_key_free(fx.ed);
	return 0;
}

static struct mailsec_resolver *
resolver(void)
{
	struct mailsec_resolver *r;

	assert_int_equal(mailsec_resolver_new_zone_mem(fx.zone,
	    strlen(fx.zone), NULL, &r, NULL), MAILSEC_OK);
	mailsec_resolver_set_timeout(r, 50);
	return r;
}

/* Validates text (CRLF); the caller frees. */
static struct mailsec_arc_verify *
validate(const char *text)
{
	struct mailsec_arc_verify_opts o = { 0 };
	struct mailsec_resolver *r = resolver();
	struct mailsec_arc_verify *v;
	struct mailsec_msg *m;

	o.now = NOW;
	assert_int_equal(mailsec_msg_parse(text, strlen(text), NULL, 0, &m,
	    NULL), MAILSEC_OK);
	assert_int_equal(mailsec_arc_verify_msg(r, &o, m, &v), MAILSEC_OK);
	mailsec_msg_free(m);
	mailsec_resolver_free(r);	/* nothing pending once done */
	return v;
}

static void
expect(const char *text, enum mailsec_arc_result res,
    enum mailsec_arc_reason why, unsigned inst)
{
	struct mailsec_arc_verify *v = validate(text);
	const struct mailsec_arc_outcome *o = mailsec_arc_verify_outcome(v);

	if (o->result != res || o->reason != why ||
	    (inst != 0 && o->fail_instance != inst))
		fail_msg("got %s/%s at %u (%s), want %s/%s at %u",
		    mailsec_arc_result_name(o->result),
		    mailsec_arc_reason_name(o->reason), o->fail_instance,
		    o->reason_text, mailsec_arc_result_name(res),
		    mailsec_arc_reason_name(why), inst);
	assert_non_null(o->reason_text);
	assert_true(o->reason_text[0] != '\0');
	mailsec_arc_verify_free(v);
}

/* An AR model: "authserv; spf=pass smtp.mailfrom=...". */
static struct mailsec_authres *
model(const char *id)
{
	struct mailsec_authres *ar;

	assert_int_equal(mailsec_authres_new(id, &ar), MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_result(ar, "spf", "pass"),
	    MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_prop(ar, "smtp", "mailfrom",
	    "alice@orig.example", NULL), MAILSEC_OK);
	return ar;
}

/* Seals text as a hop (list.example with Ed25519, or fwd.example with
 * RSA), cv= the status of the chain of arrived (the message as it came
 * in, before the hop changed it; NULL: text). Returns the new message
 * (set + text), or a copy of text when nothing was added. */
static char *
seal_hop(const char *text, bool ed, unsigned flags, const char *arrived)
{
	struct mailsec_arc_seal_opts so = { 0 };
	struct mailsec_arc_verify *v = validate(arrived != NULL ? arrived :
	    text);
	struct mailsec_authres *ar = model(ed ? "mx.list.example" :
	    "mx.fwd.example");
	struct mailsec_msg *m;
	struct mailsec_diag d = { 0 };
	char *set = NULL, *out;
	size_t len = 0;

	so.key = ed ? fx.ed : fx.rsa;
	so.domain = ed ? "list.example" : "fwd.example";
	so.selector = ed ? "ed" : "rsa";
	so.timestamp = NOW - 10;
	so.flags = flags;
	assert_int_equal(mailsec_msg_parse(text, strlen(text), NULL, 0, &m,
	    NULL), MAILSEC_OK);
	if (mailsec_arc_seal_msg(&so, m, mailsec_arc_verify_outcome(v)->result,
	    ar, &set, &len, &d) != MAILSEC_OK)
		fail_msg("seal: %s", d.text);
	mailsec_msg_free(m);
	mailsec_authres_free(ar);
	mailsec_arc_verify_free(v);
	if (set == NULL)
		return strdup(text);
	out = malloc(len + strlen(text) + 1);
	assert_non_null(out);
	memcpy(out, set, len);
	memcpy(out + len, text, strlen(text) + 1);
	free(set);
	return out;
}

/* A copy of s with the first occurrence of a replaced by b. */
static char *
replace(const char *s, const char *a, const char *b)
{
	const char *p = strstr(s, a);
	size_t n = strlen(s) - strlen(a) + strlen(b) + 1, k;
	char *o;

	assert_non_null(p);
	o = malloc(n);
	assert_non_null(o);
	k = (size_t)(p - s);
	memcpy(o, s, k);
	memcpy(o + k, b, strlen(b));
	memcpy(o + k + strlen(b), p + strlen(a), strlen(p + strlen(a)) + 1);
	return o;
}

/* ---- instance parsing -------------------------------------------------- */

static void
test_instance(void **state)
{
	static const struct {
		enum ms_arc_kind k;
		const char *v;
		bool ok;
		unsigned inst;
	} cases[] = {
		{ MS_ARC_AAR, "i=1; mx.example; none", true, 1 },
		{ MS_ARC_AAR, " i = 12 ; mx.example; none", true, 12 },
		{ MS_ARC_AAR, "(c (nested)) i=3 (x);mx; none", true, 3 },
		{ MS_ARC_AAR, "\r\n i=4;mx; none", true, 4 },
		{ MS_ARC_AAR, "i=99; mx; none", true, 99 },
		{ MS_ARC_AAR, "i=0; mx; none", false, 0 },
		{ MS_ARC_AAR, "i=; mx; none", false, 0 },
		{ MS_ARC_AAR, "I=1; mx; none", false, 0 },
		{ MS_ARC_AAR, "mx; i=1; none", false, 0 },
		{ MS_ARC_AAR, "i=1 mx; none", false, 0 },
		{ MS_ARC_AAR, "i=1", false, 0 },
		{ MS_ARC_AAR, "(unclosed i=1;", false, 0 },
		{ MS_ARC_AAR, "\ni=1;", false, 0 },
		{ MS_ARC_AMS, "a=rsa-sha256; i=2; b=x", true, 2 },
		{ MS_ARC_AMS, "i=01; a=b", true, 1 },
		{ MS_ARC_AMS, "i=51", true, 51 },
		{ MS_ARC_AMS, "i=x1", false, 0 },
		{ MS_ARC_AMS, "a=b", false, 0 },
		{ MS_ARC_AS, "i=1; i=1", false, 0 },
		{ MS_ARC_AS, "i=1;; a=b", false, 0 },
		{ MS_ARC_AS, "i=0; cv=none", false, 0 },
	};
	char why[MS_ARC_WHY];
	unsigned inst;
	size_t i;

	(void)state;
	for (i = 0; i < MS_ARRAY_LEN(cases); i++) {
		bool ok;

		inst = 0;
		why[0] = '\0';
		ok = ms_arc_instance(cases[i].k, cases[i].v,
		    strlen(cases[i].v), &inst, why, sizeof why);
		if (ok != cases[i].ok || (ok && inst != cases[i].inst))
			fail_msg("case %zu '%s': %d/%u (%s)", i, cases[i].v,
			    ok, inst, why);
		if (!ok)
			assert_true(why[0] != '\0');
	}
	assert_int_equal(ms_arc_kind("arc-seal", 8), MS_ARC_AS);
	assert_int_equal(ms_arc_kind("ARC-Message-Signature", 21),
	    MS_ARC_AMS);
	assert_int_equal(ms_arc_kind("Arc-Authentication-Results", 26),
	    MS_ARC_AAR);
	assert_int_equal(ms_arc_kind("DKIM-Signature", 14), -1);
}

static void
test_seal_parse(void **state)
{
	static const struct {
		const char *v;
		bool ok;
	} cases[] = {
		{ "i=1; a=rsa-sha256; cv=none; d=ex.org; s=s; t=1; b=AAAA",
		  true },
		{ "i=1; a=ed25519-sha256; cv=Pass; d=ex.org; s=s; b=AAAA",
		  true },
		{ "i=1; a=rsa-sha256; cv=none; d=ex.org; s=s; b=AAAA; h=from",
		  false },
		{ "i=1; a=rsa-sha1; cv=none; d=ex.org; s=s; b=AAAA", false },
		{ "i=1; a=rsa-md5; cv=none; d=ex.org; s=s; b=AAAA", false },
		{ "i=1; cv=none; d=ex.org; s=s; b=AAAA", false },
		{ "i=1; a=rsa-sha256; d=ex.org; s=s; b=AAAA", false },
		{ "i=1; a=rsa-sha256; cv=maybe; d=ex.org; s=s; b=AAAA",
		  false },
		{ "i=1; a=rsa-sha256; cv=none; s=s; b=AAAA", false },
		{ "i=1; a=rsa-sha256; cv=none; d=ex..org; s=s; b=AAAA",
		  false },
		{ "i=1; a=rsa-sha256; cv=none; d=ex.org; b=AAAA", false },
		{ "i=1; a=rsa-sha256; cv=none; d=ex.org; s=s", false },
		{ "i=1; a=rsa-sha256; cv=none; d=ex.org; s=s; b=", false },
		{ "i=1; a=rsa-sha256; cv=none; d=ex.org; s=s; b=!!", false },
		{ "i=1; a=rsa-sha256; cv=none; d=ex.org; s=s; t=; b=AAAA",
		  false },
		{ "i=1; a=rsa-sha256; cv=none; d=ex.org; s=s; t=1x; b=AAAA",
		  false },
		{ "a=rsa-sha256; cv=none; d=ex.org; s=s; b=AAAA", false },
	};
	struct ms_arc_seal_tags *s = malloc(sizeof *s);
	char why[MS_ARC_WHY];
	size_t i;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < MS_ARRAY_LEN(cases); i++) {
		why[0] = '\0';
		if (ms_arc_seal_parse(cases[i].v, strlen(cases[i].v), s, why,
		    sizeof why) != cases[i].ok)
			fail_msg("case %zu '%s': %s", i, cases[i].v, why);
	}
	free(s);
}

static void
test_ams_parse(void **state)
{
	static const struct {
		const char *v;
		enum mailsec_dkim_reason r;
	} cases[] = {
		{ "i=1; a=rsa-sha256; d=ex.org; s=s; h=from; bh=AAAA; b=AAAA",
		  MAILSEC_DKIM_R_OK },
		/* v= is ignored (4.1.2), and i= is no AUID */
		{ "v=2; i=3; a=rsa-sha256; d=ex.org; s=s; h=from; bh=AAAA; "
		  "b=AAAA", MAILSEC_DKIM_R_OK },
		{ "i=1; a=rsa-sha256; d=ex.org; s=s; h=from:arc-seal; "
		  "bh=AAAA; b=AAAA", MAILSEC_DKIM_R_BAD_TAG },
		{ "i=1; a=rsa-sha256; d=ex.org; s=s; h=to; bh=AAAA; b=AAAA",
		  MAILSEC_DKIM_R_FROM_UNSIGNED },
		{ "i=1; a=rsa-sha256; d=ex.org; s=s; h=; bh=AAAA; b=AAAA",
		  MAILSEC_DKIM_R_BAD_TAG },
		{ "i=1; a=rsa-sha1; d=ex.org; s=s; h=from; bh=AAAA; b=AAAA",
		  MAILSEC_DKIM_R_SHA1 },
		{ "a=rsa-sha256; d=ex.org; s=s; h=from; bh=AAAA; b=AAAA",
		  MAILSEC_DKIM_R_BAD_TAG },
		{ "i=1; a=rsa-sha256; s=s; h=from; bh=AAAA; b=AAAA",
		  MAILSEC_DKIM_R_MISSING_TAG },
		{ "i=1; a=rsa-sha256; d=ex.org; s=s; h=from; b=AAAA",
		  MAILSEC_DKIM_R_MISSING_TAG },
		{ "i=1; a=rsa-sha256; d=ex.org; s=s; h=from; bh=AAAA; b=AAAA;"
		  " c=fancy", MAILSEC_DKIM_R_BAD_TAG },
		{ "i=1; a", MAILSEC_DKIM_R_SYNTAX },
	};
	struct ms_dkim_sig *a = malloc(sizeof *a);
	char why[MS_ARC_WHY];
	enum mailsec_dkim_reason r;
	size_t i;

	(void)state;
	assert_non_null(a);
	for (i = 0; i < MS_ARRAY_LEN(cases); i++) {
		why[0] = '\0';
		r = ms_dkim_sig_parse(cases[i].v, strlen(cases[i].v),
		    MS_DKIM_SIG_AMS, a, why, sizeof why);
		if (r != cases[i].r)
			fail_msg("case %zu '%s': %s (%s)", i, cases[i].v,
			    mailsec_dkim_reason_name(r), why);
		if (r == MAILSEC_DKIM_R_OK)
			assert_int_equal(a->domain.len, 6);
	}
	free(a);
}

/* ---- structure (5.2 steps 1 to 3): no key is ever fetched ------------- */

#define AAR(i) "ARC-Authentication-Results: i=" #i "; mx.example; none\r\n"
#define AMS(i) "ARC-Message-Signature: i=" #i "; a=rsa-sha256; d=ex.org; " \
	"s=s; h=from; bh=AAAA; b=AAAA\r\n"
#define AS(i, cv) "ARC-Seal: i=" #i "; a=rsa-sha256; cv=" cv "; d=ex.org; " \
	"s=s; b=AAAA\r\n"
#define TAIL "From: a@orig.example\r\n\r\nbody\r\n"

static void
test_structure(void **state)
{
	static const struct {
		const char *msg;
		enum mailsec_arc_result res;
		enum mailsec_arc_reason why;
	} cases[] = {
		{ TAIL, MAILSEC_ARC_NONE, MAILSEC_ARC_R_NO_CHAIN },
		{ AS(51, "pass") AMS(51) AAR(51) TAIL, MAILSEC_ARC_FAIL,
		  MAILSEC_ARC_R_LIMIT },
		{ "ARC-Seal: i=100; cv=pass\r\n" AS(1, "none") AMS(1) AAR(1)
		  TAIL, MAILSEC_ARC_FAIL, MAILSEC_ARC_R_LIMIT },
		{ AS(2, "fail") AMS(2) AAR(2) AS(1, "none") AMS(1) AAR(1) TAIL,
		  MAILSEC_ARC_FAIL, MAILSEC_ARC_R_CHAIN_FAILED },
		{ AS(1, "none") AMS(1) "ARC-Authentication-Results: mx; i=1\r\n"
		  TAIL, MAILSEC_ARC_FAIL, MAILSEC_ARC_R_INSTANCE },
		{ "ARC-Seal: a=rsa-sha256; cv=none\r\n" AMS(1) AAR(1) TAIL,
		  MAILSEC_ARC_FAIL, MAILSEC_ARC_R_INSTANCE },
		{ AS(1, "none") AMS(1) AMS(1) AAR(1) TAIL, MAILSEC_ARC_FAIL,
		  MAILSEC_ARC_R_DUPLICATE },
		{ AS(1, "none") AS(1, "none") AMS(1) AAR(1) TAIL,
		  MAILSEC_ARC_FAIL, MAILSEC_ARC_R_DUPLICATE },
		{ AS(1, "none") AMS(1) TAIL, MAILSEC_ARC_FAIL,
		  MAILSEC_ARC_R_MISSING },
		{ AMS(1) AAR(1) TAIL, MAILSEC_ARC_FAIL,
		  MAILSEC_ARC_R_MISSING },
		{ AS(3, "pass") AMS(3) AAR(3) AS(1, "none") AMS(1) AAR(1) TAIL,
		  MAILSEC_ARC_FAIL, MAILSEC_ARC_R_MISSING },
		{ AS(1, "pass") AMS(1) AAR(1) TAIL, MAILSEC_ARC_FAIL,
		  MAILSEC_ARC_R_CV },
		{ AS(2, "none") AMS(2) AAR(2) AS(1, "none") AMS(1) AAR(1) TAIL,
		  MAILSEC_ARC_FAIL, MAILSEC_ARC_R_CV },
		{ AS(2, "pass") AMS(2) AAR(2) AS(1, "fail") AMS(1) AAR(1) TAIL,
		  MAILSEC_ARC_FAIL, MAILSEC_ARC_R_CV },
		{ "ARC-Seal: i=1; a=rsa-sha256; d=ex.org; s=s; b=AAAA\r\n"
		  AMS(1) AAR(1) TAIL, MAILSEC_ARC_FAIL, MAILSEC_ARC_R_CV },
	};
	size_t i;

	(void)state;
	for (i = 0; i < MS_ARRAY_LEN(cases); i++) {
		print_message("structure case %zu\n", i);
		expect(cases[i].msg, cases[i].res, cases[i].why, 0);
	}
}

/* A well-formed set whose signatures are wrong: AMS(1) names an
 * unknown key, and a seal with h= (4.1.3). */
static void
test_tags_and_keys(void **state)
{
	char *m1, *t;

	(void)state;
	/* well formed, but no key at s._domainkey.ex.org */
	expect(AS(1, "none") AMS(1) AAR(1) TAIL, MAILSEC_ARC_FAIL,
	    MAILSEC_ARC_R_KEY, 1);
	m1 = seal_hop(base_msg, false, 0, NULL);
	/* h= in the newest seal */
	t = replace(m1, "cv=none;", "cv=none; h=from;");
	expect(t, MAILSEC_ARC_FAIL, MAILSEC_ARC_R_SEAL_TAG, 1);
	free(t);
	/* the newest AMS unusable */
	t = replace(m1, "ARC-Message-Signature: i=1;",
	    "ARC-Message-Signature: i=1; x=12;");
	expect(t, MAILSEC_ARC_FAIL, MAILSEC_ARC_R_AMS_TAG, 1);
	free(t);
	/* a key lookup that times out: permanent (5.2.1) */
	t = replace(m1, "s=rsa; t=", "s=slow; t=");
	expect(t, MAILSEC_ARC_FAIL, MAILSEC_ARC_R_KEY, 1);
	free(t);
	/* a key of the wrong type: the RSA seal against the Ed25519 key */
	t = replace(m1, "d=fwd.example; s=rsa; t=",
	    "d=list.example; s=ed; t=");
	expect(t, MAILSEC_ARC_FAIL, MAILSEC_ARC_R_KEY, 1);
	free(t);
	free(m1);
}

/* ---- signatures (5.2 steps 4 to 7) -------------------------------------- */

static void
test_round_trip(void **state)
{
	struct mailsec_arc_verify *v;
	const struct mailsec_arc_outcome *o;
	char *m1, *m2, *m3, *t, *u;
	unsigned flags;

	(void)state;
	for (flags = 0; flags <= MAILSEC_ARC_SEAL_SORTED; flags++) {
		m1 = seal_hop(base_msg, true, flags, NULL);	/* Ed25519 */
		m2 = seal_hop(m1, false, flags, NULL);	/* RSA */
		m3 = seal_hop(m2, true, flags, NULL);
		v = validate(m3);
		o = mailsec_arc_verify_outcome(v);
		assert_int_equal(o->result, MAILSEC_ARC_PASS);
		assert_int_equal(o->instances, 3);
		assert_int_equal(o->nsets, 3);
		assert_int_equal(o->oldest_pass, 0);
		assert_int_equal(o->sets[0].cv, MAILSEC_ARC_NONE);
		assert_int_equal(o->sets[2].cv, MAILSEC_ARC_PASS);
		assert_int_equal(o->sets[1].seal, MAILSEC_ARC_CHECK_PASS);
		assert_int_equal(o->sets[0].ams, MAILSEC_ARC_CHECK_PASS);
		assert_true(o->sets[1].seal_domain.len == 11 &&
		    memcmp(o->sets[1].seal_domain.ptr, "fwd.example", 11) ==
		    0);
		mailsec_arc_verify_free(v);

		/* The body changed after hop 3: step 4 fails. */
		t = replace(m3, "Hi list.", "Hi list!");
		expect(t, MAILSEC_ARC_FAIL, MAILSEC_ARC_R_AMS, 3);
		free(t);
		/* A header AMS(3) signs changed: step 4 fails. */
		t = replace(m3, "Subject: hello", "Subject: hellO");
		expect(t, MAILSEC_ARC_FAIL, MAILSEC_ARC_R_AMS, 3);
		free(t);
		/* AAR(1) changed: AS(3) covers it and fails first (step 6
		 * runs from the newest). */
		t = replace(m3, "i=1; mx.list.example", "i=1; mx.evil.example");
		expect(t, MAILSEC_ARC_FAIL, MAILSEC_ARC_R_SEAL, 3);
		free(t);
		/* A tag added to the newest seal after sealing. */
		t = replace(m3, "ARC-Seal: ", "ARC-Seal: zz=1; ");
		expect(t, MAILSEC_ARC_FAIL, MAILSEC_ARC_R_SEAL, 3);
		free(t);
		/* Hop 2 validates m1 on arrival (pass), adds a list footer
		 * and seals: AMS(1) no longer verifies, AMS(2) does:
		 * oldest-pass 2 (5.2 step 5); the chain passes. */
		t = replace(m1, "Hi list.\r\n",
		    "Hi list.\r\n-- \r\nfooter\r\n");
		u = seal_hop(t, false, flags, m1);
		v = validate(u);
		o = mailsec_arc_verify_outcome(v);
		assert_int_equal(o->result, MAILSEC_ARC_PASS);
		assert_int_equal(o->oldest_pass, 2);
		assert_int_equal(o->sets[0].ams, MAILSEC_ARC_CHECK_FAIL);
		assert_int_equal(o->sets[1].ams, MAILSEC_ARC_CHECK_PASS);
		assert_int_equal(o->sets[0].seal, MAILSEC_ARC_CHECK_PASS);
		mailsec_arc_verify_free(v);
		free(t);
		free(u);
		free(m1);
		free(m2);
		free(m3);
	}
}

/* A chain that failed gets a set with cv=fail sealing itself only
 * (5.1.2); a chain whose newest seal says cv=fail gets none (5.1
 * step 2). */
static void
test_seal_failed_chain(void **state)
{
	struct mailsec_arc_verify *v;
	const struct mailsec_arc_outcome *o;
	char *m1, *t, *m2, *m3;

	(void)state;
	m1 = seal_hop(base_msg, false, 0, NULL);
	t = replace(m1, "Hi list.", "Hi list!");
	m2 = seal_hop(t, true, 0, NULL);
	assert_non_null(strstr(m2, "ARC-Seal: i=2; a=ed25519-sha256; cv=fail"));
	v = validate(m2);
	o = mailsec_arc_verify_outcome(v);
	assert_int_equal(o->result, MAILSEC_ARC_FAIL);
	assert_int_equal(o->reason, MAILSEC_ARC_R_CHAIN_FAILED);
	assert_int_equal(o->fail_instance, 2);
	mailsec_arc_verify_free(v);
	m3 = seal_hop(m2, false, 0, NULL);
	assert_string_equal(m3, m2);	/* nothing added */
	free(m1);
	free(t);
	free(m2);
	free(m3);
}

static void
test_seal_options(void **state)
{
	struct mailsec_arc_seal_opts so = { 0 };
	struct mailsec_arc_seal *ctx;
	struct mailsec_authres *ar = model("mx.example");
	struct mailsec_msg *m;
	struct mailsec_diag d = { 0 };
	const char *nofrom = "To: x@y.example\r\n\r\nb\r\n";
	char *set = NULL, *big, *p;
	size_t i;

	(void)state;
	so.key = fx.rsa;
	so.domain = "fwd.example";
	so.selector = "rsa";
	so.headers = "from:to:arc-seal";
	assert_int_equal(mailsec_arc_seal_new(&so, &ctx, &d), MAILSEC_EINVAL);
	assert_non_null(strstr(d.text, "arc-seal"));
	so.headers = "from:Authentication-Results";
	assert_int_equal(mailsec_arc_seal_new(&so, &ctx, &d), MAILSEC_EINVAL);
	so.headers = "to:subject";
	assert_int_equal(mailsec_arc_seal_new(&so, &ctx, &d), MAILSEC_EINVAL);
	so.headers = NULL;
	so.algorithm = MAILSEC_DKIM_ED25519_SHA256;
	assert_int_equal(mailsec_arc_seal_new(&so, &ctx, &d), MAILSEC_EINVAL);
	so.algorithm = 0;
	so.domain = "bad..domain";
	assert_int_equal(mailsec_arc_seal_new(&so, &ctx, &d), MAILSEC_EINVAL);
	so.domain = "fwd.example";

	/* chain status and message must agree */
	assert_int_equal(mailsec_msg_parse(base_msg, strlen(base_msg), NULL,
	    0, &m, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_arc_seal_msg(&so, m, MAILSEC_ARC_PASS, ar,
	    &set, NULL, &d), MAILSEC_EINVAL);
	assert_null(set);
	mailsec_msg_free(m);
	p = seal_hop(base_msg, false, 0, NULL);
	assert_int_equal(mailsec_msg_parse(p, strlen(p), NULL, 0, &m, NULL),
	    MAILSEC_OK);
	assert_int_equal(mailsec_arc_seal_msg(&so, m, MAILSEC_ARC_NONE, ar,
	    &set, NULL, &d), MAILSEC_EINVAL);
	mailsec_msg_free(m);
	free(p);

	/* no From */
	assert_int_equal(mailsec_msg_parse(nofrom, strlen(nofrom), NULL, 0,
	    &m, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_arc_seal_msg(&so, m, MAILSEC_ARC_NONE, ar,
	    &set, NULL, &d), MAILSEC_EINVAL);
	mailsec_msg_free(m);

	/* 50 sets already: no room (4.2.1) */
	big = malloc(50 * 400 + sizeof base_msg);
	assert_non_null(big);
	p = big;
	for (i = 50; i >= 1; i--)
		p += snprintf(p, 400, "ARC-Seal: i=%zu; a=rsa-sha256; cv=%s; "
		    "d=ex.org; s=s; b=AAAA\r\nARC-Message-Signature: i=%zu; "
		    "a=rsa-sha256; d=ex.org; s=s; h=from; bh=AA; b=AA\r\n"
		    "ARC-Authentication-Results: i=%zu; mx; none\r\n", i,
		    i == 1 ? "none" : "pass", i, i);
	memcpy(p, base_msg, sizeof base_msg);
	assert_int_equal(mailsec_msg_parse(big, strlen(big), NULL, 0, &m,
	    NULL), MAILSEC_OK);
	assert_int_equal(mailsec_arc_seal_msg(&so, m, MAILSEC_ARC_FAIL, ar,
	    &set, NULL, &d), MAILSEC_ELIMIT);
	mailsec_msg_free(m);
	free(big);
	mailsec_authres_free(ar);
}

/* The streaming interfaces, body in 1-byte chunks, give the same
 * answers as the one-call ones. */
static void
test_streaming(void **state)
{
	struct mailsec_arc_verify_opts vo = { 0 };
	struct mailsec_resolver *r = resolver();
	struct mailsec_arc_verify *v;
	struct mailsec_msg *m;
	struct mailsec_str body;
	char *m1, *m2;
	size_t i;

	(void)state;
	m1 = seal_hop(base_msg, true, 0, NULL);
	m2 = seal_hop(m1, false, 0, NULL);
	vo.now = NOW;
	assert_int_equal(mailsec_msg_parse(m2, strlen(m2), NULL, 0, &m, NULL),
	    MAILSEC_OK);
	assert_int_equal(mailsec_arc_verify_new(r, &vo, &v), MAILSEC_OK);
	for (i = 0; i < mailsec_msg_field_count(m); i++)
		assert_int_equal(mailsec_arc_verify_header(v,
		    mailsec_msg_field(m, i)->raw.ptr,
		    mailsec_msg_field(m, i)->raw.len), MAILSEC_OK);
	assert_int_equal(mailsec_arc_verify_eoh(v), MAILSEC_OK);
	assert_int_equal(mailsec_arc_verify_eoh(v), MAILSEC_ESTATE);
	body = mailsec_msg_body(m);
	for (i = 0; i < body.len; i++)
		assert_int_equal(mailsec_arc_verify_body(v, body.ptr + i, 1),
		    MAILSEC_OK);
	assert_false(mailsec_arc_verify_done(v));
	assert_int_equal(mailsec_arc_verify_eom(v), MAILSEC_OK);
	while (!mailsec_arc_verify_done(v))
		assert_int_equal(mailsec_resolver_wait(r, 1000), MAILSEC_OK);
	assert_int_equal(mailsec_arc_verify_outcome(v)->result,
	    MAILSEC_ARC_PASS);
	mailsec_arc_verify_free(v);
	mailsec_resolver_free(r);
	mailsec_msg_free(m);
	free(m1);
	free(m2);
}

/* ---- reporting ---------------------------------------------------------- */

static void
test_reporting(void **state)
{
	static const char *const trusted[] = { "other.example",
	    "FWD.example." };
	static const char *const untrusted[] = { "list.example" };
	struct mailsec_authres_gen gen = MAILSEC_AUTHRES_GEN_DEFAULTS;
	struct mailsec_arc_verify *v;
	struct mailsec_authres *ar;
	struct mailsec_msg *m;
	const char *text;
	char *m1, *m2, *gen_text, *c;

	(void)state;
	m1 = seal_hop(base_msg, true, 0, NULL);
	m2 = seal_hop(m1, false, 0, NULL);
	v = validate(m2);
	assert_true(mailsec_arc_trusted(v, trusted, 2));
	assert_false(mailsec_arc_trusted(v, untrusted, 1));
	assert_int_equal(mailsec_authres_new("mx.example", &ar), MAILSEC_OK);
	assert_int_equal(mailsec_arc_authres_add(ar, v, "192.0.2.1"),
	    MAILSEC_OK);
	gen.flags = MAILSEC_AUTHRES_GEN_ONELINE;
	assert_int_equal(mailsec_authres_generate(ar, &gen, &gen_text, NULL,
	    NULL), MAILSEC_OK);
	assert_string_equal(gen_text, "mx.example; arc=pass "
	    "header.oldest-pass=0 smtp.remote-ip=192.0.2.1 "
	    "arc.chain=\"list.example:fwd.example\"");
	free(gen_text);
	mailsec_authres_free(ar);
	assert_int_equal(mailsec_arc_dmarc_comment(v, &c), MAILSEC_OK);
	assert_string_equal(c, "arc=pass as[2].d=fwd.example as[2].s=rsa "
	    "as[1].d=list.example as[1].s=ed");
	free(c);
	mailsec_arc_verify_free(v);

	/* a failed chain: the reason goes along */
	v = validate(AS(1, "pass") AMS(1) AAR(1) TAIL);
	assert_false(mailsec_arc_trusted(v, trusted, 2));
	assert_int_equal(mailsec_authres_new("mx.example", &ar), MAILSEC_OK);
	assert_int_equal(mailsec_arc_authres_add(ar, v, NULL), MAILSEC_OK);
	assert_string_equal(ar->results[0].result, "fail");
	assert_non_null(ar->results[0].reason);
	mailsec_authres_free(ar);
	mailsec_arc_verify_free(v);

	/* AAR consolidation: our fields, in order; others ignored */
	text = "Authentication-Results: mx.example; spf=pass "
	    "smtp.mailfrom=a@b.example\r\n"
	    "Authentication-Results: other.example; dkim=pass\r\n"
	    "Authentication-Results: mx.example; dkim=fail (bad) "
	    "header.d=b.example; dmarc=fail\r\n"
	    "Authentication-Results: mx.example; broken =\r\n"
	    "From: a@b.example\r\n\r\n";
	assert_int_equal(mailsec_msg_parse(text, strlen(text), NULL, 0, &m,
	    NULL), MAILSEC_OK);
	assert_int_equal(mailsec_arc_aar_collect(m, "mx.example", &ar, NULL),
	    MAILSEC_OK);
	assert_int_equal(ar->nresults, 3);
	assert_string_equal(ar->results[1].method, "dkim");
	assert_string_equal(ar->results[1].comment, "bad");
	assert_string_equal(ar->results[2].method, "dmarc");
	mailsec_authres_free(ar);
	assert_int_equal(mailsec_arc_aar_collect(m, "nobody.example", &ar,
	    NULL), MAILSEC_ENOTFOUND);
	mailsec_msg_free(m);
	free(m1);
	free(m2);
	assert_string_equal(mailsec_arc_result_name(MAILSEC_ARC_FAIL), "fail");
	assert_string_equal(mailsec_arc_reason_name(MAILSEC_ARC_R_SEAL),
	    "seal");
	assert_string_equal(mailsec_arc_reason_name(99), "unknown");
	assert_string_equal(mailsec_arc_check_name(MAILSEC_ARC_CHECK_PASS),
	    "pass");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_instance),
		cmocka_unit_test(test_seal_parse),
		cmocka_unit_test(test_ams_parse),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_tags_and_keys),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_seal_failed_chain),
		cmocka_unit_test(test_seal_options),
		cmocka_unit_test(test_streaming),
		cmocka_unit_test(test_reporting),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
