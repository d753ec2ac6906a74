/*
 * Unit tests for DKIM signatures, key records, signing and verification
 * (RFC 6376, RFC 8301, RFC 8463), with keys generated here and key
 * records served by the zone-file resolver.
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

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkim/dkim_int.h"

/* ---- signature tag lists ----------------------------------------------- */

#define GOOD "v=1; a=rsa-sha256; d=example.org; s=sel; h=from:to; " \
	"bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AAAA"

struct sig_case {
	const char *in;
	enum mailsec_dkim_reason want;
};

static const struct sig_case sig_cases[] = {
	{ GOOD, MAILSEC_DKIM_R_OK },
	{ GOOD "; c=relaxed", MAILSEC_DKIM_R_OK },
	{ GOOD "; c=relaxed/relaxed; i=joe@sub.example.org; l=10; "
	  "q=dns/txt; t=100; x=200; z=From:foo", MAILSEC_DKIM_R_OK },
	{ GOOD "; i=@EXAMPLE.org", MAILSEC_DKIM_R_OK },
	{ GOOD "; unknown=ignored", MAILSEC_DKIM_R_OK },
	{ GOOD "; v=1", MAILSEC_DKIM_R_SYNTAX },
	{ "a=rsa-sha256; d=example.org; s=sel; h=from; bh=AAAA; b=AAAA",
	  MAILSEC_DKIM_R_VERSION },
	{ "v=2; a=rsa-sha256; d=example.org; s=sel; h=from; bh=AAAA; b=AAAA",
	  MAILSEC_DKIM_R_VERSION },
	{ "v=1; d=example.org; s=sel; h=from; bh=AAAA; b=AAAA",
	  MAILSEC_DKIM_R_MISSING_TAG },
	{ "v=1; a=rsa-sha256; s=sel; h=from; bh=AAAA; b=AAAA",
	  MAILSEC_DKIM_R_MISSING_TAG },
	{ "v=1; a=rsa-sha256; d=example.org; h=from; bh=AAAA; b=AAAA",
	  MAILSEC_DKIM_R_MISSING_TAG },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; bh=AAAA; b=AAAA",
	  MAILSEC_DKIM_R_MISSING_TAG },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; b=AAAA",
	  MAILSEC_DKIM_R_MISSING_TAG },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=AAAA",
	  MAILSEC_DKIM_R_MISSING_TAG },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=AAAA; b=",
	  MAILSEC_DKIM_R_BAD_TAG },
	{ "v=1; a=rsa-md5; d=example.org; s=sel; h=from; bh=AAAA; b=AAAA",
	  MAILSEC_DKIM_R_ALGORITHM },
	{ "v=1; a=rsa-sha1; d=example.org; s=sel; h=from; bh=AAAA; b=AAAA",
	  MAILSEC_DKIM_R_SHA1 },
	{ "v=1; a=rsa-sha256; d=legitimate.com(.attacker.com; s=sel; "
	  "h=from; bh=AAAA; b=AAAA", MAILSEC_DKIM_R_BAD_TAG },
	{ "v=1; a=rsa-sha256; d=-x.org; s=sel; h=from; bh=AAAA; b=AAAA",
	  MAILSEC_DKIM_R_BAD_TAG },
	{ "v=1; a=rsa-sha256; d=example.org; s=se l; h=from; bh=AAAA; "
	  "b=AAAA", MAILSEC_DKIM_R_BAD_TAG },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=to:subject; "
	  "bh=AAAA; b=AAAA", MAILSEC_DKIM_R_FROM_UNSIGNED },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from::to; "
	  "bh=AAAA; b=AAAA", MAILSEC_DKIM_R_BAD_TAG },
	{ GOOD "; i=joe@example.com", MAILSEC_DKIM_R_IDENTITY },
	{ GOOD "; i=joe@badexample.org", MAILSEC_DKIM_R_IDENTITY },
	{ GOOD "; i=joe", MAILSEC_DKIM_R_BAD_TAG },
	{ GOOD "; c=fancy/simple", MAILSEC_DKIM_R_BAD_TAG },
	{ GOOD "; c=simple/fancy", MAILSEC_DKIM_R_BAD_TAG },
	{ GOOD "; l=-1", MAILSEC_DKIM_R_BAD_TAG },
	{ GOOD "; l=99999999999999999999999", MAILSEC_DKIM_R_BAD_TAG },
	{ GOOD "; q=http", MAILSEC_DKIM_R_BAD_TAG },
	{ GOOD "; t=abc", MAILSEC_DKIM_R_BAD_TAG },
	{ GOOD "; t=1234567890123", MAILSEC_DKIM_R_BAD_TAG },
	{ GOOD "; t=200; x=100", MAILSEC_DKIM_R_BAD_TAG },
	{ GOOD "; t=200; x=200", MAILSEC_DKIM_R_BAD_TAG },
	{ "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=A!AA; b=AAAA",
	  MAILSEC_DKIM_R_BAD_TAG },
};

static void
test_sig_parse(void **state)
{
	struct ms_dkim_sig sig;
	char why[200];
	size_t i;

	(void)state;
	for (i = 0; i < MS_ARRAY_LEN(sig_cases); i++) {
		enum mailsec_dkim_reason r;

		why[0] = '\0';
		r = ms_dkim_sig_parse(sig_cases[i].in,
		    strlen(sig_cases[i].in), MS_DKIM_SIG_DKIM, &sig, why,
		    sizeof why);
		if (r != sig_cases[i].want)
			fail_msg("case %zu '%s': reason %s (%s), want %s", i,
			    sig_cases[i].in, mailsec_dkim_reason_name(r), why,
			    mailsec_dkim_reason_name(sig_cases[i].want));
		if (r != MAILSEC_DKIM_R_OK)
			assert_true(why[0] != '\0');
	}
	assert_int_equal(ms_dkim_sig_parse(GOOD "; c=relaxed/simple; l=42",
	    strlen(GOOD) + 24, MS_DKIM_SIG_DKIM, &sig, why, sizeof why),
	    MAILSEC_DKIM_R_OK);
	assert_int_equal(sig.hcanon, MAILSEC_DKIM_RELAXED);
	assert_int_equal(sig.bcanon, MAILSEC_DKIM_SIMPLE);
	assert_true(sig.has_l);
	assert_int_equal(sig.l, 42);
	assert_int_equal(sig.bhlen, 32);
}

/* ---- key records ------------------------------------------------------- */

static char *
record_of(const struct mailsec_dkim_key *k)
{
	char *rec;

	assert_int_equal(mailsec_dkim_key_record(k, &rec, NULL), MAILSEC_OK);
	return rec;
}

static void
test_record(void **state)
{
	struct mailsec_dkim_record rec;
	struct mailsec_dkim_key *k;
	struct mailsec_diag diag;
	char *r, buf[1024];

	(void)state;
	assert_int_equal(mailsec_dkim_key_generate(MAILSEC_DKIM_ED25519_SHA256,
	    0, &k), MAILSEC_OK);
	r = record_of(k);
	assert_int_equal(mailsec_dkim_record_parse(r, strlen(r), &rec, NULL),
	    MAILSEC_OK);
	assert_int_equal(rec.key_type, MAILSEC_DKIM_ED25519_SHA256);
	assert_int_equal(rec.key_bits, 256);
	assert_true(rec.has_version);
	assert_false(rec.revoked);
	/* flags, h=, s= */
	snprintf(buf, sizeof buf, "%s; t=y:s; h=sha256; s=email", r);
	assert_int_equal(mailsec_dkim_record_parse(buf, strlen(buf), &rec,
	    NULL), MAILSEC_OK);
	assert_true(rec.testing);
	assert_true(rec.strict);
	assert_true(rec.sha256_allowed);
	assert_true(rec.email_service);
	snprintf(buf, sizeof buf, "%s; h=sha1; s=other", r);
	assert_int_equal(mailsec_dkim_record_parse(buf, strlen(buf), &rec,
	    NULL), MAILSEC_OK);
	assert_false(rec.sha256_allowed);
	assert_true(rec.sha1_only);
	assert_false(rec.email_service);
	free(r);
	mailsec_dkim_key_free(k);

	/* revoked, unknown k=, errors */
	assert_int_equal(mailsec_dkim_record_parse("v=DKIM1; p=", 11, &rec,
	    NULL), MAILSEC_OK);
	assert_true(rec.revoked);
	assert_int_equal(mailsec_dkim_record_parse("k=ed25519-sha256; p=AAAA",
	    24, &rec, NULL), MAILSEC_OK);
	assert_int_equal(rec.key_type, MAILSEC_DKIM_ALG_UNKNOWN);
	memset(&diag, 0, sizeof diag);
	assert_int_equal(mailsec_dkim_record_parse("k=rsa; v=DKIM1; p=", 18,
	    &rec, &diag), MAILSEC_ESYNTAX);
	assert_true(diag.set);
	assert_int_equal(mailsec_dkim_record_parse("v=DKIM2; p=", 11, &rec,
	    NULL), MAILSEC_ESYNTAX);
	assert_int_equal(mailsec_dkim_record_parse("v=DKIM1: p=", 11, &rec,
	    NULL), MAILSEC_ESYNTAX);
	assert_int_equal(mailsec_dkim_record_parse("v=DKIM1; k=rsa", 14, &rec,
	    NULL), MAILSEC_ESYNTAX);
	assert_int_equal(mailsec_dkim_record_parse("p=AAAA", 6, &rec, NULL),
	    MAILSEC_ESYNTAX);
	assert_int_equal(mailsec_dkim_record_parse("k=ed25519; p=AAAA", 17,
	    &rec, NULL), MAILSEC_ESYNTAX);
}

static void
test_key_load(void **state)
{
	struct mailsec_dkim_key *k, *k2;
	char *pem;
	size_t len;
	EVP_PKEY *small;
	unsigned char *der = NULL;
	BIO *bio;
	char *data;
	long n;
	struct mailsec_diag diag = { 0 };

	(void)state;
	assert_int_equal(mailsec_dkim_key_generate(MAILSEC_DKIM_RSA_SHA256,
	    1024, &k), MAILSEC_OK);
	assert_int_equal(mailsec_dkim_key_bits(k), 1024);
	assert_int_equal(mailsec_dkim_key_pem(k, &pem, &len), MAILSEC_OK);
	assert_non_null(strstr(pem, "BEGIN PRIVATE KEY"));
	assert_int_equal(mailsec_dkim_key_load(pem, len, &k2, NULL),
	    MAILSEC_OK);
	assert_int_equal(mailsec_dkim_key_algorithm(k2),
	    MAILSEC_DKIM_RSA_SHA256);
	free(pem);
	mailsec_dkim_key_free(k);
	mailsec_dkim_key_free(k2);
	/* RFC 8032 7.1 test 1 seed, base64 (RFC 8463 A.1) */
	assert_int_equal(mailsec_dkim_key_load(
	    "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=", 44, &k, NULL),
	    MAILSEC_OK);
	assert_int_equal(mailsec_dkim_key_algorithm(k),
	    MAILSEC_DKIM_ED25519_SHA256);
	pem = record_of(k);
	assert_string_equal(pem, "v=DKIM1; k=ed25519; "
	    "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	free(pem);
	mailsec_dkim_key_free(k);
	/* RSA under 1024 bits is refused (RFC 8301) */
	small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	assert_non_null(small);
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(bio, small, NULL, NULL, 0,
	    NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_int_equal(mailsec_dkim_key_load(data, (size_t)n, &k, &diag),
	    MAILSEC_EUNSUPPORTED);
	assert_true(diag.set);
	BIO_free(bio);
	EVP_PKEY_free(small);
	(void)der;
	assert_int_equal(mailsec_dkim_key_load("garbage", 7, &k, NULL),
	    MAILSEC_ESYNTAX);
}

/* ---- sign and verify --------------------------------------------------- */

struct fixture {
	struct mailsec_dkim_key *rsa, *ed, *rsa512;	/* rsa512: public only */
	char zone[16384];
};

static struct fixture fx;

static void
zone_add(const char *name, const char *rec)
{
	size_t n = strlen(fx.zone), i, len = strlen(rec);

	n += (size_t)snprintf(fx.zone + n, sizeof fx.zone - n,
	    "%s IN TXT", name);
	for (i = 0; i < len; i += 200)
		n += (size_t)snprintf(fx.zone + n, sizeof fx.zone - n,
		    " \"%.*s\"", (int)(len - i > 200 ? 200 : len - i),
		    rec + i);
	snprintf(fx.zone + n, sizeof fx.zone - n, "\n");
}

static int
setup(void **state)
{
	char *r, buf[2048];
	EVP_PKEY *small;
	unsigned char *der = NULL;
	struct ms_buf b;
	int n;

	(void)state;
	if (mailsec_dkim_key_generate(MAILSEC_DKIM_RSA_SHA256, 1024,
	    &fx.rsa) != MAILSEC_OK || mailsec_dkim_key_generate(
	    MAILSEC_DKIM_ED25519_SHA256, 0, &fx.ed) != MAILSEC_OK)
		return -1;
	r = record_of(fx.rsa);
	zone_add("rsa._domainkey.example.org.", r);
	snprintf(buf, sizeof buf, "%s; t=y", r);
	zone_add("test._domainkey.example.org.", buf);
	snprintf(buf, sizeof buf, "%s; t=s", r);
	zone_add("strict._domainkey.example.org.", buf);
	snprintf(buf, sizeof buf, "v=DKIM1; h=sha1; %s", r + 9);
	zone_add("sha1only._domainkey.example.org.", buf);
	snprintf(buf, sizeof buf, "v=DKIM1; s=tlsrpt; %s", r + 9);
	zone_add("tlsrpt._domainkey.example.org.", buf);
	free(r);
	r = record_of(fx.ed);
	zone_add("ed._domainkey.example.org.", r);
	/* the ed25519 key published as k=rsa: type mismatch */
	zone_add("edasrsa._domainkey.example.org.", "v=DKIM1; k=rsa; "
	    "p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBANmBe10IgY+u7h3enWTukkqtUD5PR52"
	    "Tb/mPfjC0QJTocVBq6Za/PlzfV+Py92VaCak19F4WrbVTK5Gg5tW220MCAwEAAQ==");
	free(r);
	zone_add("revoked._domainkey.example.org.", "v=DKIM1; k=rsa; p=");
	zone_add("broken._domainkey.example.org.", "v=DKIM1; k=rsa; p=!!");
	/* a 512-bit RSA public key */
	small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	n = i2d_PUBKEY(small, &der);
	ms_buf_init(&b, 4096);
	ms_b64_encode(der, (size_t)n, &b);
	snprintf(buf, sizeof buf, "v=DKIM1; k=rsa; p=%s", b.ptr);
	zone_add("short._domainkey.example.org.", buf);
	ms_buf_free(&b);
	OPENSSL_free(der);
	EVP_PKEY_free(small);
	{
		size_t k = strlen(fx.zone);

		snprintf(fx.zone + k, sizeof fx.zone - k,
		    "$SERVFAIL tempfail._domainkey.example.org.\n"
		    "$TIMEOUT slow._domainkey.example.org.\n"
		    "nodata._domainkey.example.org. IN A 192.0.2.1\n");
	}
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

static const char base_msg[] =
    "From: Joe <joe@example.org>\r\n"
    "To: Suzie <suzie@example.net>\r\n"
    "Subject: Is dinner\r\n  ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
    "Message-ID: <1@example.org>\r\n"
    "\r\n"
    "Hi.  \r\n\r\nWe lost the game.\tAre you hungry yet?\r\n\r\n\r\n";

static char *
sign(const char *msgtext, struct mailsec_dkim_sign_opts *o)
{
	struct mailsec_msg *m;
	char *sig, *out;
	size_t len, n = strlen(msgtext);

	assert_int_equal(mailsec_msg_parse(msgtext, n, NULL, 0, &m, NULL),
	    MAILSEC_OK);
	assert_int_equal(mailsec_dkim_sign_msg(o, m, &sig, &len, NULL),
	    MAILSEC_OK);
	mailsec_msg_free(m);
	out = malloc(len + n + 1);
	memcpy(out, sig, len);
	memcpy(out + len, msgtext, n + 1);
	free(sig);
	return out;
}

/* Verifies text; checks the i-th result. */
static void
expect(const char *text, size_t i, enum mailsec_dkim_result res,
    enum mailsec_dkim_reason why, const struct mailsec_dkim_verify_opts *vo)
{
	struct mailsec_resolver *r;
	struct mailsec_msg *m;
	struct mailsec_dkim_verify *ctx;
	const struct mailsec_dkim_sig_info *s;

	assert_int_equal(mailsec_resolver_new_zone_mem(fx.zone,
	    strlen(fx.zone), NULL, &r, NULL), MAILSEC_OK);
	mailsec_resolver_set_timeout(r, 50);
	assert_int_equal(mailsec_msg_parse(text, strlen(text), NULL, 0, &m,
	    NULL), MAILSEC_OK);
	assert_int_equal(mailsec_dkim_verify_msg(r, vo, m, &ctx), MAILSEC_OK);
	s = mailsec_dkim_verify_sig(ctx, i);
	assert_non_null(s);
	if (s->result != res || s->reason != why)
		fail_msg("got %s/%s (%s), want %s/%s",
		    mailsec_dkim_result_name(s->result),
		    mailsec_dkim_reason_name(s->reason), s->reason_text,
		    mailsec_dkim_result_name(res),
		    mailsec_dkim_reason_name(why));
	mailsec_dkim_verify_free(ctx);
	mailsec_msg_free(m);
	mailsec_resolver_free(r);
}

static struct mailsec_dkim_sign_opts
opts(struct mailsec_dkim_key *k, const char *sel)
{
	struct mailsec_dkim_sign_opts o = { 0 };

	o.key = k;
	o.domain = "example.org";
	o.selector = sel;
	return o;
}

static void
test_roundtrip(void **state)
{
	static const enum mailsec_dkim_canon cs[] = { MAILSEC_DKIM_SIMPLE,
	    MAILSEC_DKIM_RELAXED };
	struct mailsec_dkim_sign_opts o;
	size_t h, b;
	char *s;

	(void)state;
	for (h = 0; h < 2; h++)
		for (b = 0; b < 2; b++) {
			o = opts(fx.rsa, "rsa");
			o.canon_set = true;
			o.header_canon = cs[h];
			o.body_canon = cs[b];
			s = sign(base_msg, &o);
			expect(s, 0, MAILSEC_DKIM_PASS, MAILSEC_DKIM_R_OK,
			    NULL);
			free(s);
			o.key = fx.ed;
			o.selector = "ed";
			s = sign(base_msg, &o);
			expect(s, 0, MAILSEC_DKIM_PASS, MAILSEC_DKIM_R_OK,
			    NULL);
			free(s);
		}
}

static char *
replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	size_t n = strlen(s) - strlen(from) + strlen(to);
	char *out = malloc(n + 1);

	assert_non_null(p);
	memcpy(out, s, (size_t)(p - s));
	memcpy(out + (p - s), to, strlen(to));
	memcpy(out + (p - s) + strlen(to), p + strlen(from),
	    strlen(p + strlen(from)) + 1);
	return out;
}

static void
test_tamper(void **state)
{
	struct mailsec_dkim_sign_opts o = opts(fx.rsa, "rsa");
	char *s, *t;

	(void)state;
	s = sign(base_msg, &o);
	/* body changed */
	t = replace(s, "We lost", "We won");
	expect(t, 0, MAILSEC_DKIM_FAIL, MAILSEC_DKIM_R_BODY_HASH, NULL);
	free(t);
	/* signed header changed */
	t = replace(s, "Subject: Is dinner", "Subject: Is lunch");
	expect(t, 0, MAILSEC_DKIM_FAIL, MAILSEC_DKIM_R_SIGNATURE, NULL);
	free(t);
	/* another instance of a signed header added (over-signed) */
	t = replace(s, "Message-ID:", "Subject: Buy now\r\nMessage-ID:");
	expect(t, 0, MAILSEC_DKIM_FAIL, MAILSEC_DKIM_R_SIGNATURE, NULL);
	free(t);
	/* an absent over-signed header added */
	t = replace(s, "Message-ID:", "Reply-To: evil@example.com\r\n"
	    "Message-ID:");
	expect(t, 0, MAILSEC_DKIM_FAIL, MAILSEC_DKIM_R_SIGNATURE, NULL);
	free(t);
	/* an unsigned header added: still pass */
	t = replace(s, "Message-ID:", "X-Spam: 1\r\nMessage-ID:");
	expect(t, 0, MAILSEC_DKIM_PASS, MAILSEC_DKIM_R_OK, NULL);
	free(t);
	/* relaxed: whitespace changes in the body are tolerated */
	t = replace(s, "We lost the game.\t", "We lost  the game. ");
	expect(t, 0, MAILSEC_DKIM_PASS, MAILSEC_DKIM_R_OK, NULL);
	free(t);
	/* signature bytes changed */
	t = replace(s, "; b=", "; b=AAAA");
	expect(t, 0, MAILSEC_DKIM_FAIL, MAILSEC_DKIM_R_SIGNATURE, NULL);
	free(t);
	free(s);
}

static void
test_length(void **state)
{
	struct mailsec_dkim_sign_opts o = opts(fx.ed, "ed");
	struct mailsec_resolver *r;
	struct mailsec_msg *m;
	struct mailsec_dkim_verify *ctx;
	const struct mailsec_dkim_sig_info *si;
	char *s, *t;

	(void)state;
	o.body_length = true;
	s = sign(base_msg, &o);
	assert_non_null(strstr(s, " l="));
	expect(s, 0, MAILSEC_DKIM_PASS, MAILSEC_DKIM_R_OK, NULL);
	/* content appended past l=: passes, and the unsigned part shows */
	t = malloc(strlen(s) + 64);
	snprintf(t, strlen(s) + 64, "%sClick here: http://evil.example/\r\n",
	    s);
	assert_int_equal(mailsec_resolver_new_zone_mem(fx.zone,
	    strlen(fx.zone), NULL, &r, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_msg_parse(t, strlen(t), NULL, 0, &m, NULL),
	    MAILSEC_OK);
	assert_int_equal(mailsec_dkim_verify_msg(r, NULL, m, &ctx),
	    MAILSEC_OK);
	si = mailsec_dkim_verify_sig(ctx, 0);
	assert_int_equal(si->result, MAILSEC_DKIM_PASS);
	assert_true(si->has_length);
	assert_true(si->body_canon_len > si->length);
	mailsec_dkim_verify_free(ctx);
	mailsec_msg_free(m);
	mailsec_resolver_free(r);
	free(t);
	/* body shortened below l=: invalid */
	t = replace(s, "We lost the game.\tAre you hungry yet?\r\n", "");
	expect(t, 0, MAILSEC_DKIM_PERMERROR, MAILSEC_DKIM_R_BAD_TAG, NULL);
	free(t);
	free(s);
}

static void
test_keys(void **state)
{
	static const struct {
		const char *sel;
		bool ed;
		enum mailsec_dkim_result res;
		enum mailsec_dkim_reason why;
	} kc[] = {
		{ "test", false, MAILSEC_DKIM_PASS, MAILSEC_DKIM_R_OK },
		{ "strict", false, MAILSEC_DKIM_PASS, MAILSEC_DKIM_R_OK },
		{ "sha1only", false, MAILSEC_DKIM_PERMERROR,
		  MAILSEC_DKIM_R_KEY_MISMATCH },
		{ "tlsrpt", false, MAILSEC_DKIM_PERMERROR,
		  MAILSEC_DKIM_R_KEY_MISMATCH },
		{ "edasrsa", true, MAILSEC_DKIM_PERMERROR,
		  MAILSEC_DKIM_R_KEY_MISMATCH },
		{ "rsa", true, MAILSEC_DKIM_PERMERROR,
		  MAILSEC_DKIM_R_KEY_MISMATCH },
		{ "revoked", false, MAILSEC_DKIM_PERMERROR,
		  MAILSEC_DKIM_R_KEY_REVOKED },
		{ "broken", false, MAILSEC_DKIM_PERMERROR,
		  MAILSEC_DKIM_R_KEY_SYNTAX },
		{ "short", false, MAILSEC_DKIM_PERMERROR,
		  MAILSEC_DKIM_R_KEY_SHORT },
		{ "missing", false, MAILSEC_DKIM_PERMERROR,
		  MAILSEC_DKIM_R_NO_KEY },
		{ "nodata", false, MAILSEC_DKIM_PERMERROR,
		  MAILSEC_DKIM_R_NO_KEY },
		{ "tempfail", false, MAILSEC_DKIM_TEMPERROR,
		  MAILSEC_DKIM_R_KEY_TEMP },
		{ "slow", false, MAILSEC_DKIM_TEMPERROR,
		  MAILSEC_DKIM_R_KEY_TEMP },
	};
	struct mailsec_dkim_sign_opts o;
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i < MS_ARRAY_LEN(kc); i++) {
		o = opts(kc[i].ed ? fx.ed : fx.rsa, kc[i].sel);
		s = sign(base_msg, &o);
		expect(s, 0, kc[i].res, kc[i].why, NULL);
		free(s);
	}
	/* t=s: i= in a subdomain is refused */
	o = opts(fx.rsa, "strict");
	o.identity = "joe@sub.example.org";
	s = sign(base_msg, &o);
	expect(s, 0, MAILSEC_DKIM_PERMERROR, MAILSEC_DKIM_R_KEY_STRICT, NULL);
	free(s);
}

static void
test_time(void **state)
{
	struct mailsec_dkim_sign_opts o = opts(fx.rsa, "rsa");
	struct mailsec_dkim_verify_opts vo = { 0 };
	char *s;

	(void)state;
	o.timestamp = 1000000;
	o.expire_after = 3600;
	s = sign(base_msg, &o);
	assert_non_null(strstr(s, "t=1000000;"));
	assert_non_null(strstr(s, "x=1003600;"));
	vo.now = 1000100;
	expect(s, 0, MAILSEC_DKIM_PASS, MAILSEC_DKIM_R_OK, &vo);
	vo.now = 1003600 + 301;
	expect(s, 0, MAILSEC_DKIM_NEUTRAL, MAILSEC_DKIM_R_EXPIRED, &vo);
	vo.now = 1003600 + 200;		/* within the skew */
	expect(s, 0, MAILSEC_DKIM_PASS, MAILSEC_DKIM_R_OK, &vo);
	vo.now = 1000000 - 1000;
	expect(s, 0, MAILSEC_DKIM_NEUTRAL, MAILSEC_DKIM_R_FUTURE, &vo);
	vo.clock_skew = 2000;
	expect(s, 0, MAILSEC_DKIM_PASS, MAILSEC_DKIM_R_OK, &vo);
	free(s);
	/* no timestamp given: taken once, and the signature verifies */
	o.timestamp = 0;
	o.expire_after = 0;
	s = sign(base_msg, &o);
	assert_non_null(strstr(s, "t=1"));
	expect(s, 0, MAILSEC_DKIM_PASS, MAILSEC_DKIM_R_OK, NULL);
	free(s);
}

static void
test_multi_and_cap(void **state)
{
	struct mailsec_dkim_sign_opts o = opts(fx.rsa, "rsa");
	struct mailsec_dkim_verify_opts vo = { 0 };
	char *a, *b, *c;

	(void)state;
	a = sign(base_msg, &o);
	o = opts(fx.ed, "ed");
	b = sign(a, &o);
	o = opts(fx.ed, "missing");
	c = sign(b, &o);
	expect(c, 0, MAILSEC_DKIM_PERMERROR, MAILSEC_DKIM_R_NO_KEY, NULL);
	expect(c, 1, MAILSEC_DKIM_PASS, MAILSEC_DKIM_R_OK, NULL);
	expect(c, 2, MAILSEC_DKIM_PASS, MAILSEC_DKIM_R_OK, NULL);
	vo.max_signatures = 2;
	expect(c, 2, MAILSEC_DKIM_PERMERROR, MAILSEC_DKIM_R_LIMIT, &vo);
	free(a);
	free(b);
	free(c);
}

static void
test_sign_errors(void **state)
{
	struct mailsec_dkim_sign_opts o = opts(fx.rsa, "rsa");
	struct mailsec_msg *m;
	struct mailsec_diag diag = { 0 };
	char *sig;
	const char *nofrom = "To: x@example.org\r\n\r\nbody\r\n";

	(void)state;
	assert_int_equal(mailsec_msg_parse(nofrom, strlen(nofrom), NULL, 0,
	    &m, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_dkim_sign_msg(&o, m, &sig, NULL, &diag),
	    MAILSEC_EINVAL);
	assert_true(diag.set);
	mailsec_msg_free(m);
	assert_int_equal(mailsec_msg_parse(base_msg, strlen(base_msg), NULL,
	    0, &m, NULL), MAILSEC_OK);
	o.headers = "to:subject";
	assert_int_equal(mailsec_dkim_sign_msg(&o, m, &sig, NULL, NULL),
	    MAILSEC_EINVAL);
	o.headers = NULL;
	o.algorithm = MAILSEC_DKIM_ED25519_SHA256;
	assert_int_equal(mailsec_dkim_sign_msg(&o, m, &sig, NULL, NULL),
	    MAILSEC_EINVAL);
	o.algorithm = 0;
	o.domain = "bad domain";
	assert_int_equal(mailsec_dkim_sign_msg(&o, m, &sig, NULL, NULL),
	    MAILSEC_EINVAL);
	o.domain = "example.org";
	o.identity = "joe@example.com";
	assert_int_equal(mailsec_dkim_sign_msg(&o, m, &sig, NULL, NULL),
	    MAILSEC_EINVAL);
	mailsec_msg_free(m);
}

/* Streaming: header fields, then the body one byte at a time, with the
 * key answered before the end of the message. */
static void
test_streaming(void **state)
{
	struct mailsec_dkim_sign_opts o = opts(fx.ed, "ed");
	struct mailsec_resolver *r;
	struct mailsec_msg *m;
	struct mailsec_dkim_verify *ctx;
	struct mailsec_str body;
	size_t i;
	char *s;

	(void)state;
	s = sign(base_msg, &o);
	assert_int_equal(mailsec_resolver_new_zone_mem(fx.zone,
	    strlen(fx.zone), NULL, &r, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_msg_parse(s, strlen(s), NULL, 0, &m, NULL),
	    MAILSEC_OK);
	assert_int_equal(mailsec_dkim_verify_new(r, NULL, &ctx), MAILSEC_OK);
	for (i = 0; i < mailsec_msg_field_count(m); i++)
		assert_int_equal(mailsec_dkim_verify_header(ctx,
		    mailsec_msg_field(m, i)->raw.ptr,
		    mailsec_msg_field(m, i)->raw.len), MAILSEC_OK);
	assert_int_equal(mailsec_dkim_verify_body(ctx, "x", 1),
	    MAILSEC_ESTATE);
	assert_int_equal(mailsec_dkim_verify_eoh(ctx), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_pending(r), 1);
	assert_int_equal(mailsec_resolver_process(r), MAILSEC_OK);
	assert_false(mailsec_dkim_verify_done(ctx));
	body = mailsec_msg_body(m);
	for (i = 0; i < body.len; i++)
		assert_int_equal(mailsec_dkim_verify_body(ctx, body.ptr + i,
		    1), MAILSEC_OK);
	assert_int_equal(mailsec_dkim_verify_eom(ctx), MAILSEC_OK);
	assert_true(mailsec_dkim_verify_done(ctx));
	assert_int_equal(mailsec_dkim_verify_sig(ctx, 0)->result,
	    MAILSEC_DKIM_PASS);
	assert_null(mailsec_dkim_verify_sig(ctx, 1));
	mailsec_dkim_verify_free(ctx);
	/* freeing with a lookup pending cancels it */
	assert_int_equal(mailsec_dkim_verify_new(r, NULL, &ctx), MAILSEC_OK);
	for (i = 0; i < mailsec_msg_field_count(m); i++)
		mailsec_dkim_verify_header(ctx, mailsec_msg_field(m, i)->raw.ptr,
		    mailsec_msg_field(m, i)->raw.len);
	mailsec_dkim_verify_eoh(ctx);
	assert_int_equal(mailsec_resolver_pending(r), 1);
	mailsec_dkim_verify_free(ctx);
	assert_int_equal(mailsec_resolver_pending(r), 0);
	mailsec_msg_free(m);
	mailsec_resolver_free(r);
	free(s);
}

/* Key cache: a second message verifies without a query, the entry ends
 * with its TTL, failures are not cached, results stay the same. */
static void
test_keycache(void **state)
{
	struct mailsec_dkim_sign_opts o;
	struct mailsec_dkim_verify_opts vo = { 0 };
	struct mailsec_dkim_keycache *kc;
	struct mailsec_resolver *r;
	struct mailsec_msg *m;
	struct mailsec_dkim_verify *ctx;
	char zone[2048], *rec, *s[3], *t;
	size_t i;
	static const enum mailsec_dkim_result want[] = { MAILSEC_DKIM_PASS,
	    MAILSEC_DKIM_PASS, MAILSEC_DKIM_PERMERROR };

	(void)state;
	rec = record_of(fx.ed);
	snprintf(zone, sizeof zone,
	    "ed._domainkey.example.org. 300 IN TXT \"%s\"\n"
	    "rsa._domainkey.example.org. 300 IN TXT \"v=DKIM1; p=\"\n", rec);
	free(rec);
	o = opts(fx.ed, "ed");
	s[0] = sign(base_msg, &o);
	s[1] = replace(s[0], "Hi.", "Hi!");	/* body changed: fail */
	o = opts(fx.rsa, "rsa");
	s[2] = sign(base_msg, &o);		/* revoked key */
	assert_int_equal(mailsec_dkim_keycache_new(0, &kc), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_new_zone_mem(zone, strlen(zone),
	    NULL, &r, NULL), MAILSEC_OK);
	vo.key_cache = kc;
	vo.now = time(NULL);
	for (i = 0; i < 7; i++) {
		size_t k = i % 3;

		if (i == 6)
			vo.now += 301;	/* past the TTL */
		t = s[i == 6 ? 0 : k];
		mailsec_resolver_reset_query_count(r);
		assert_int_equal(mailsec_msg_parse(t, strlen(t), NULL, 0, &m,
		    NULL), MAILSEC_OK);
		assert_int_equal(mailsec_dkim_verify_msg(r, &vo, m, &ctx),
		    MAILSEC_OK);
		if (i == 6)
			assert_int_equal(mailsec_dkim_verify_sig(ctx, 0)->result,
			    MAILSEC_DKIM_PASS);
		else if (k == 1)
			assert_int_equal(mailsec_dkim_verify_sig(ctx, 0)->reason,
			    MAILSEC_DKIM_R_BODY_HASH);
		else
			assert_int_equal(mailsec_dkim_verify_sig(ctx, 0)->result,
			    want[k]);
		/* first ed lookup, the revoked key each time (cached as an
		 * answer too: revocation is a record), and after the TTL */
		if (i == 0 || i == 2 || i == 6)
			assert_int_equal(mailsec_resolver_query_count(r), 1);
		else
			assert_int_equal(mailsec_resolver_query_count(r), 0);
		mailsec_dkim_verify_free(ctx);
		mailsec_msg_free(m);
	}
	assert_int_equal(mailsec_dkim_keycache_count(kc), 2);
	assert_int_equal(mailsec_dkim_keycache_hits(kc), 4);
	mailsec_dkim_keycache_free(kc);
	mailsec_resolver_free(r);
	for (i = 0; i < 3; i++)
		free(s[i]);
}


/* A longer sample for chunked signing: WSP runs, tabs, empty lines,
 * trailing WSP and trailing empty lines, a line without CRLF at the end
 * of a vector step. */
static const char chunk_msg[] =
    "From: Joe <joe@example.org>\r\n"
    "To: Suzie <suzie@example.net>\r\n"
    "Subject: chunks\r\n"
    "\r\n"
    "Line one  with \t runs   \r\n"
    "\r\n"
    "\t\tindented\r\n"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \r\n"
    "   \r\n"
    "last line \t\r\n"
    "\r\n"
    "\r\n";

/* Signs text through a context, the body cut at cut (and, when cut2 is
 * not 0, again at cut2). Not inlined: GCC 12 at -O3 then takes the
 * returned allocation for the address of the local that held it
 * (-Wdangling-pointer false positive). */
static __attribute__((noinline)) char *
sign_chunked(const char *text, const struct mailsec_dkim_sign_opts *o,
    size_t no, size_t cut, size_t cut2)
{
	struct mailsec_msg *m;
	struct mailsec_dkim_sign *ctx;
	struct mailsec_str body;
	char *sig, *again = NULL;
	size_t i, len, againlen = 0;

	assert_int_equal(mailsec_msg_parse(text, strlen(text), NULL, 0, &m,
	    NULL), MAILSEC_OK);
	assert_int_equal(mailsec_dkim_sign_new(o, no, &ctx, NULL),
	    MAILSEC_OK);
	for (i = 0; i < mailsec_msg_field_count(m); i++)
		assert_int_equal(mailsec_dkim_sign_header(ctx,
		    mailsec_msg_field(m, i)->raw.ptr,
		    mailsec_msg_field(m, i)->raw.len), MAILSEC_OK);
	assert_int_equal(mailsec_dkim_sign_body(ctx, "x", 1), MAILSEC_ESTATE);
	assert_int_equal(mailsec_dkim_sign_eoh(ctx, NULL), MAILSEC_OK);
	body = mailsec_msg_body(m);
	if (cut2 < cut)
		cut2 = cut;
	assert_int_equal(mailsec_dkim_sign_body(ctx, body.ptr, cut),
	    MAILSEC_OK);
	assert_int_equal(mailsec_dkim_sign_body(ctx, body.ptr + cut,
	    cut2 - cut), MAILSEC_OK);
	assert_int_equal(mailsec_dkim_sign_body(ctx, body.ptr + cut2,
	    body.len - cut2), MAILSEC_OK);
	assert_int_equal(mailsec_dkim_sign_eom(ctx, &sig, &len, NULL),
	    MAILSEC_OK);
	assert_int_equal(strlen(sig), len);
	/* a second end of message is refused */
	assert_int_equal(mailsec_dkim_sign_eom(ctx, &again, &againlen, NULL),
	    MAILSEC_ESTATE);
	mailsec_dkim_sign_free(ctx);
	mailsec_msg_free(m);
	return sig;
}

/* Chunked signing at every split point (and pairs of them) equals
 * one-shot signing, for both keys and every body canonicalization. */
static void
test_sign_chunked(void **state)
{
	static const enum mailsec_dkim_canon cs[] = { MAILSEC_DKIM_SIMPLE,
	    MAILSEC_DKIM_RELAXED };
	struct mailsec_dkim_sign_opts o;
	struct mailsec_msg *m;
	char *one, *s, *whole;
	size_t k, cut, blen, len;
	int key;

	(void)state;
	assert_int_equal(mailsec_msg_parse(chunk_msg, strlen(chunk_msg), NULL,
	    0, &m, NULL), MAILSEC_OK);
	blen = mailsec_msg_body(m).len;
	for (key = 0; key < 2; key++)
		for (k = 0; k < 4; k++) {
			o = key ? opts(fx.ed, "ed") : opts(fx.rsa, "rsa");
			o.canon_set = true;
			o.header_canon = cs[k / 2];
			o.body_canon = cs[k % 2];
			o.timestamp = 1700000000;
			o.body_length = k == 3;
			assert_int_equal(mailsec_dkim_sign_msg(&o, m, &one,
			    &len, NULL), MAILSEC_OK);
			for (cut = 0; cut <= blen; cut++) {
				s = sign_chunked(chunk_msg, &o, 1, cut,
				    cut + (cut * 7) % (blen - cut + 1));
				if (strcmp(s, one) != 0)
					fail_msg("key %d canon %zu cut %zu: "
					    "chunked signature differs", key,
					    k, cut);
				free(s);
			}
			/* and the one-shot signature verifies */
			whole = malloc(len + strlen(chunk_msg) + 1);
			memcpy(whole, one, len);
			memcpy(whole + len, chunk_msg, strlen(chunk_msg) + 1);
			expect(whole, 0, MAILSEC_DKIM_PASS, MAILSEC_DKIM_R_OK,
			    NULL);
			free(whole);
			free(one);
		}
	mailsec_msg_free(m);
}

/* One context, two signatures (RSA relaxed/simple and Ed25519 relaxed):
 * both fields come out in order, share the t=, and verify. */
static void
test_sign_multi(void **state)
{
	struct mailsec_dkim_sign_opts o[2];
	struct mailsec_dkim_sign *ctx;
	struct mailsec_diag diag = { 0 };
	char *s, *whole, *second;
	size_t len, n = strlen(chunk_msg);

	(void)state;
	o[0] = opts(fx.rsa, "rsa");
	o[0].canon_set = true;
	o[0].header_canon = MAILSEC_DKIM_RELAXED;
	o[0].body_canon = MAILSEC_DKIM_SIMPLE;
	o[1] = opts(fx.ed, "ed");
	s = sign_chunked(chunk_msg, o, 2, 10, 20);
	len = strlen(s);
	second = strstr(s + 1, "DKIM-Signature:");
	assert_non_null(second);
	assert_non_null(strstr(s, "a=rsa-sha256"));
	assert_true(strstr(s, "a=rsa-sha256") < second);
	assert_non_null(strstr(second, "a=ed25519-sha256"));
	{
		const char *t1 = strstr(s, "t="), *t2 = strstr(second, "t=");

		assert_memory_equal(t1, t2, 12);
	}
	whole = malloc(len + n + 1);
	memcpy(whole, s, len);
	memcpy(whole + len, chunk_msg, n + 1);
	expect(whole, 0, MAILSEC_DKIM_PASS, MAILSEC_DKIM_R_OK, NULL);
	expect(whole, 1, MAILSEC_DKIM_PASS, MAILSEC_DKIM_R_OK, NULL);
	free(whole);
	free(s);
	/* errors: no opts, too many, a bad one among good ones, no From */
	assert_int_equal(mailsec_dkim_sign_new(o, 0, &ctx, NULL),
	    MAILSEC_EINVAL);
	assert_int_equal(mailsec_dkim_sign_new(o, 17, &ctx, NULL),
	    MAILSEC_EINVAL);
	o[1].headers = "to:subject";
	assert_int_equal(mailsec_dkim_sign_new(o, 2, &ctx, &diag),
	    MAILSEC_EINVAL);
	assert_true(diag.set);
	assert_int_equal(mailsec_dkim_sign_new(o, 1, &ctx, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_dkim_sign_header(ctx, "To: x\r\n", 7),
	    MAILSEC_OK);
	assert_int_equal(mailsec_dkim_sign_eoh(ctx, NULL), MAILSEC_EINVAL);
	assert_int_equal(mailsec_dkim_sign_eom(ctx, &s, &len, NULL),
	    MAILSEC_ESTATE);
	mailsec_dkim_sign_free(ctx);
	mailsec_dkim_sign_free(NULL);
}

/* Negative answers in the key cache: NXDOMAIN and NODATA kept for the
 * negative TTL (default 60 s, settable, at most an hour, 0: none);
 * SERVFAIL never. */
static void
test_keycache_negative(void **state)
{
	static const struct {
		const char *sel;
		enum mailsec_dkim_result res;
		bool cached;
	} cases[] = {
		{ "missing", MAILSEC_DKIM_PERMERROR, true },	/* NXDOMAIN */
		{ "nodata", MAILSEC_DKIM_PERMERROR, true },	/* NODATA */
		{ "tempfail", MAILSEC_DKIM_TEMPERROR, false },	/* SERVFAIL */
	};
	struct mailsec_dkim_sign_opts o;
	struct mailsec_dkim_verify_opts vo = { 0 };
	struct mailsec_dkim_keycache *kc;
	struct mailsec_resolver *r;
	struct mailsec_msg *m;
	struct mailsec_dkim_verify *ctx;
	const struct mailsec_dkim_sig_info *si;
	size_t i, round;
	time_t t0 = time(NULL);
	char *s;
	/* seconds after t0 of each round, and the negative TTL set first */
	static const struct {
		long at;
		long neg_ttl;	/* -1: leave as is */
		bool query;	/* a cacheable answer is asked again */
	} rounds[] = {
		{ 0, -1, true },	/* first: asked, kept */
		{ 30, -1, false },	/* within 60 s: from the cache */
		{ 61, -1, true },	/* expired: asked again */
		{ 62, 0, false },	/* kept before the setting changed */
		{ 200, 0, true },	/* TTL 0: not kept */
		{ 201, 0, true },
		{ 202, 99999, true },	/* capped at an hour ... */
		{ 3801, -1, false },	/* ... still kept ... */
		{ 3802, -1, true },	/* ... then gone */
	};

	(void)state;
	assert_int_equal(mailsec_dkim_keycache_new(0, &kc), MAILSEC_OK);
	assert_int_equal(mailsec_resolver_new_zone_mem(fx.zone,
	    strlen(fx.zone), NULL, &r, NULL), MAILSEC_OK);
	mailsec_resolver_set_timeout(r, 50);
	vo.key_cache = kc;
	for (i = 0; i < MS_ARRAY_LEN(cases); i++) {
		o = opts(fx.rsa, cases[i].sel);
		s = sign(base_msg, &o);
		assert_int_equal(mailsec_msg_parse(s, strlen(s), NULL, 0, &m,
		    NULL), MAILSEC_OK);
		mailsec_dkim_keycache_set_negative_ttl(kc, 60);
		for (round = 0; round < MS_ARRAY_LEN(rounds); round++) {
			if (rounds[round].neg_ttl >= 0)
				mailsec_dkim_keycache_set_negative_ttl(kc,
				    (uint32_t)rounds[round].neg_ttl);
			vo.now = t0 + (time_t)(i * 10000) +
			    rounds[round].at;
			mailsec_resolver_reset_query_count(r);
			assert_int_equal(mailsec_dkim_verify_msg(r, &vo, m,
			    &ctx), MAILSEC_OK);
			si = mailsec_dkim_verify_sig(ctx, 0);
			assert_int_equal(si->result, cases[i].res);
			assert_int_equal(si->reason, cases[i].cached ?
			    MAILSEC_DKIM_R_NO_KEY : MAILSEC_DKIM_R_KEY_TEMP);
			if (!cases[i].cached || rounds[round].query)
				assert_int_equal(
				    mailsec_resolver_query_count(r), 1);
			else {
				assert_int_equal(
				    mailsec_resolver_query_count(r), 0);
				assert_non_null(strstr(si->reason_text,
				    "cached"));
			}
			mailsec_dkim_verify_free(ctx);
		}
		mailsec_msg_free(m);
		free(s);
	}
	mailsec_dkim_keycache_set_negative_ttl(NULL, 5);
	mailsec_dkim_keycache_free(kc);
	mailsec_resolver_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sig_parse),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_key_load),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_multi_and_cap),
		cmocka_unit_test(test_sign_errors),
		cmocka_unit_test(test_streaming),
		cmocka_unit_test(test_keycache),
		cmocka_unit_test(test_keycache_negative),
		cmocka_unit_test(test_sign_chunked),
		cmocka_unit_test(test_sign_multi),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
