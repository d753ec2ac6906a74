/*
 * tests/unit/authres/authres_oracle_gen.c - Authentication-Results
 * fields for the python3-authres oracle (oracle.py). Builds varied
 * models (spf, dkim with header.d/s/a/b, dmarc with header.from and
 * policy.dmarc, arc with smtp.remote-ip and arc.chain, iprev, auth,
 * unknown methods, values that need quotes, long fields that fold),
 * generates each, reads it back with mailsec_authres_parse() (which must
 * give the model again, header.b cut to its prefix), and prints, per
 * case, the generated value and the model for oracle.py to compare with
 * what authres makes of the value. Strings are hex so any byte passes.
 *
 * authres 1.2.0 quirk the cases respect: a quoted value is kept only
 * when ";" or the end follows it (core.py _parse_pvalue), so a value
 * that needs quotes is the last property of its result.
 *
 * Exit 0 after printing every case, 1 when our own round trip fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/authres.h>

#define NCASES_MIN	30

static int failures;

static void
hex(const char *s)
{
	if (s == NULL) {
		printf(" -");
		return;
	}
	printf(" x");
	for (; *s != '\0'; s++)
		printf("%02x", (unsigned char)*s);
}

static void
print_case(int n, const char *value, const struct mailsec_authres *ar)
{
	size_t i, j;

	printf("CASE %d\nH", n);
	hex(value);
	printf("\nA");
	hex(ar->authserv_id);
	printf(" %u\n", ar->version);
	for (i = 0; i < ar->nresults; i++) {
		const struct mailsec_authres_result *r = &ar->results[i];

		printf("R");
		hex(r->method);
		hex(r->result);
		hex(r->reason);
		printf(" %u\n", r->method_version);
		for (j = 0; j < r->nprops; j++) {
			printf("P");
			hex(r->props[j].ptype);
			hex(r->props[j].property);
			hex(r->props[j].value);
			printf("\n");
		}
	}
	printf("END\n");
}

static int
same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* back must be ar, but for dkim header.b values cut to b_prefix. */
static int
matches(const struct mailsec_authres *ar, const struct mailsec_authres *back,
    size_t b_prefix)
{
	size_t i, j;

	if (!same(ar->authserv_id, back->authserv_id) ||
	    ar->version != back->version || ar->none != back->none ||
	    ar->nresults != back->nresults)
		return 0;
	for (i = 0; i < ar->nresults; i++) {
		const struct mailsec_authres_result *x = &ar->results[i];
		const struct mailsec_authres_result *y = &back->results[i];

		if (!same(x->method, y->method) || !same(x->result,
		    y->result) || !same(x->reason, y->reason) ||
		    x->method_version != y->method_version ||
		    !same(x->comment, y->comment) || x->nprops != y->nprops)
			return 0;
		for (j = 0; j < x->nprops; j++) {
			const struct mailsec_authres_prop *p = &x->props[j];
			const struct mailsec_authres_prop *q = &y->props[j];

			if (!same(p->ptype, q->ptype) ||
			    !same(p->property, q->property) ||
			    !same(p->comment, q->comment))
				return 0;
			if (b_prefix > 0 && strcmp(x->method, "dkim") == 0 &&
			    strcmp(p->ptype, "header") == 0 &&
			    strcmp(p->property, "b") == 0 &&
			    strlen(p->value) > b_prefix) {
				if (strlen(q->value) != b_prefix ||
				    strncmp(p->value, q->value, b_prefix) != 0)
					return 0;
			} else if (!same(p->value, q->value))
				return 0;
		}
	}
	return 1;
}

static int ncase;

static void
emit(struct mailsec_authres *ar, size_t b_prefix, size_t width)
{
	struct mailsec_authres_gen opt = MAILSEC_AUTHRES_GEN_DEFAULTS;
	struct mailsec_authres *back = NULL;
	struct mailsec_diag diag = { 0 };
	char *out = NULL;

	opt.b_prefix = b_prefix;
	if (width > 0)
		opt.width = width;
	ncase++;
	if (mailsec_authres_generate(ar, &opt, &out, NULL, &diag) !=
	    MAILSEC_OK) {
		fprintf(stderr, "case %d: generate: %s\n", ncase, diag.text);
		failures++;
		goto done;
	}
	if (mailsec_authres_parse(out, strlen(out), MAILSEC_AUTHRES_STRICT,
	    &back, &diag) != MAILSEC_OK) {
		fprintf(stderr, "case %d: our parser refuses '%s': %s\n",
		    ncase, out, diag.text);
		failures++;
		goto done;
	}
	if (!matches(ar, back, b_prefix)) {
		fprintf(stderr, "case %d: round trip differs: '%s'\n", ncase,
		    out);
		failures++;
		goto done;
	}
	print_case(ncase, out, back);
done:
	free(out);
	mailsec_authres_free(back);
	mailsec_authres_free(ar);
}

static struct mailsec_authres *
field(const char *id)
{
	struct mailsec_authres *ar = NULL;

	if (mailsec_authres_new(id, &ar) != MAILSEC_OK)
		exit(2);
	return ar;
}

static void
res(struct mailsec_authres *ar, const char *m, const char *r)
{
	if (mailsec_authres_add_result(ar, m, r) != MAILSEC_OK)
		exit(2);
}

static void
prop(struct mailsec_authres *ar, const char *t, const char *p, const char *v)
{
	if (mailsec_authres_add_prop(ar, t, p, v, NULL) != MAILSEC_OK)
		exit(2);
}

static void
reason(struct mailsec_authres *ar, const char *r)
{
	if (mailsec_authres_set_reason(ar, r) != MAILSEC_OK)
		exit(2);
}

static void
comment(struct mailsec_authres *ar, const char *c)
{
	if (mailsec_authres_set_comment(ar, c) != MAILSEC_OK)
		exit(2);
}

static const char sig_b[] =
    "dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR";
static const char sig_b_slash[] =
    "Qgi/FoC0xyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/abcdefghij==";

static void
spf_cases(void)
{
	static const char *const words[] = { "pass", "fail", "softfail",
		"neutral", "none", "temperror", "permerror", "policy" };
	struct mailsec_authres *ar;
	size_t i;

	for (i = 0; i < sizeof words / sizeof words[0]; i++) {
		ar = field("mx.example.org");
		res(ar, "spf", words[i]);
		prop(ar, "smtp", "mailfrom", i % 2 ? "example.net" :
		    "sender+tag@example.net");
		emit(ar, 0, 0);
	}
	ar = field("mx.example.org");
	res(ar, "spf", "none");
	comment(ar, "mx.example.org: no SPF record for the null sender");
	prop(ar, "smtp", "helo", "mail-wm0-x232.example.com");
	emit(ar, 0, 0);

	/* a local-part that needs quoting, last in its result */
	ar = field("mx.example.org");
	res(ar, "spf", "pass");
	prop(ar, "smtp", "mailfrom", "\"john smith\"@example.net");
	emit(ar, 0, 0);
}

static void
dkim_cases(void)
{
	struct mailsec_authres *ar;

	ar = field("mx.example.org");
	res(ar, "dkim", "pass");
	comment(ar, "2048-bit rsa key sha256");
	prop(ar, "header", "d", "example.com");
	prop(ar, "header", "i", "@example.com");
	prop(ar, "header", "s", "selector1");
	prop(ar, "header", "a", "rsa-sha256");
	prop(ar, "header", "b", sig_b);
	emit(ar, 8, 0);

	/* header.b prefix with '/': quoted, so last */
	ar = field("mx.example.org");
	res(ar, "dkim", "fail");
	reason(ar, "signature verification failed");
	prop(ar, "header", "d", "example.net");
	prop(ar, "header", "s", "2024a");
	prop(ar, "header", "a", "ed25519-sha256");
	prop(ar, "header", "b", sig_b_slash);
	emit(ar, 8, 0);

	ar = field("mx.example.org");
	res(ar, "dkim", "pass");
	prop(ar, "header", "d", "example.com");
	prop(ar, "header", "b", sig_b);
	res(ar, "dkim", "neutral");
	reason(ar, "key too small");
	prop(ar, "header", "d", "old.example.com");
	prop(ar, "header", "b", sig_b_slash);
	emit(ar, 12, 0);

	/* whole header.b, folded */
	ar = field("mx.example.org");
	res(ar, "dkim", "permerror");
	reason(ar, "no key");
	prop(ar, "header", "d", "example.com");
	prop(ar, "header", "s", "missing");
	prop(ar, "header", "b", sig_b);
	emit(ar, 0, 0);

	ar = field("mx.example.org");
	res(ar, "dkim", "none");
	comment(ar, "message not signed");
	emit(ar, 0, 0);

	ar = field("mx.example.org");
	res(ar, "dkim", "temperror");
	prop(ar, "header", "d", "example.com");
	prop(ar, "header", "i", "user@sub.example.com");
	emit(ar, 0, 0);

	ar = field("mx.example.org");
	res(ar, "dkim", "policy");
	prop(ar, "header", "d", "example.com");
	prop(ar, "policy", "dkim-rules", "unsigned-subject");
	emit(ar, 0, 0);
}

static void
dmarc_cases(void)
{
	static const char *const pol[] = { "none", "quarantine", "reject" };
	struct mailsec_authres *ar;
	size_t i;

	for (i = 0; i < 3; i++) {
		ar = field("mx.example.org");
		res(ar, "dmarc", i == 0 ? "pass" : "fail");
		comment(ar, i == 2 ? "p=reject sp=reject" : "p=none");
		prop(ar, "header", "from", "example.com");
		prop(ar, "policy", "dmarc", pol[i]);
		emit(ar, 0, 0);
	}
	ar = field("mx.example.org");
	res(ar, "dmarc", "temperror");
	prop(ar, "header", "from", "sub.example.co.uk");
	emit(ar, 0, 0);
	ar = field("mx.example.org");
	res(ar, "dmarc", "permerror");
	reason(ar, "several From addresses");
	emit(ar, 0, 0);
}

static void
arc_cases(void)
{
	struct mailsec_authres *ar;

	ar = field("mx.example.org");
	res(ar, "arc", "pass");
	comment(ar, "i=2");
	prop(ar, "header", "oldest-pass", "0");
	prop(ar, "smtp", "remote-ip", "192.0.2.1");
	prop(ar, "arc", "chain", "lists.example.org:example.com");
	emit(ar, 0, 0);

	ar = field("mx.example.org");
	res(ar, "arc", "fail");
	reason(ar, "AMS 2 does not verify");
	prop(ar, "smtp", "remote-ip", "2001:db8::1a");
	emit(ar, 0, 0);

	ar = field("mx.example.org");
	res(ar, "arc", "none");
	emit(ar, 0, 0);
}

static void
other_cases(void)
{
	struct mailsec_authres *ar;
	char longid[80];

	ar = field("mx.example.org");
	res(ar, "iprev", "pass");
	prop(ar, "policy", "iprev", "192.0.2.200");
	emit(ar, 0, 0);

	ar = field("mx.example.org");
	res(ar, "auth", "pass");
	comment(ar, "cram-md5");
	prop(ar, "smtp", "auth", "client@c.example");
	prop(ar, "smtp", "mailfrom", "bob@b.example");
	emit(ar, 0, 0);

	/* none */
	ar = field("example.org");
	ar->version = 1;
	emit(ar, 0, 0);

	/* unknown method and ptype, method version */
	ar = field("mx.example.org");
	res(ar, "x-tls", "pass");
	prop(ar, "smtp", "tlsversion", "TLSv1.3");
	prop(ar, "smtp", "cipher", "TLS_AES_256_GCM_SHA384");
	res(ar, "dkim", "pass");
	ar->results[1].method_version = 1;
	prop(ar, "header", "d", "example.com");
	emit(ar, 0, 0);

	/* reason needing quotes and escapes */
	ar = field("mx.example.org");
	res(ar, "spf", "permerror");
	reason(ar, "record has \"include\" loop \\ too many lookups");
	prop(ar, "smtp", "mailfrom", "example.net");
	emit(ar, 0, 0);

	/* the whole receipt of a typical border MTA, folded narrow and
	 * wide */
	for (size_t w = 40; w <= 100; w += 60) {
		ar = field("mx.mail.example.org");
		res(ar, "spf", "pass");
		comment(ar, "mx.mail.example.org: domain of "
		    "bounce@lists.example.com designates 192.0.2.44 as "
		    "permitted sender");
		prop(ar, "smtp", "mailfrom", "bounce@lists.example.com");
		prop(ar, "smtp", "helo", "out-44.lists.example.com");
		res(ar, "dkim", "pass");
		prop(ar, "header", "d", "lists.example.com");
		prop(ar, "header", "s", "s2048");
		prop(ar, "header", "a", "rsa-sha256");
		prop(ar, "header", "b", sig_b);
		res(ar, "dkim", "fail");
		reason(ar, "body hash mismatch");
		prop(ar, "header", "d", "example.com");
		prop(ar, "header", "b", sig_b_slash);
		res(ar, "dmarc", "pass");
		prop(ar, "header", "from", "lists.example.com");
		prop(ar, "policy", "dmarc", "none");
		res(ar, "arc", "pass");
		prop(ar, "smtp", "remote-ip", "192.0.2.44");
		res(ar, "iprev", "pass");
		prop(ar, "policy", "iprev", "192.0.2.44");
		emit(ar, 8, w);
	}

	/* an authserv-id longer than a line */
	memset(longid, 'a', 70);
	memcpy(longid + 70, ".example", 9);
	ar = field(longid);
	res(ar, "spf", "fail");
	prop(ar, "smtp", "mailfrom", "example.net");
	emit(ar, 0, 0);

	/* values that are tokens but not domains */
	ar = field("mx.example.org");
	res(ar, "x-scan", "pass");
	prop(ar, "body", "hash", "abc123+xyz");
	prop(ar, "header", "subject", "hello!");
	prop(ar, "header", "x-note", "two words");
	emit(ar, 0, 0);
}

int
main(void)
{
	spf_cases();
	dkim_cases();
	dmarc_cases();
	arc_cases();
	other_cases();
	fprintf(stderr, "authres_oracle_gen: %d cases, %d round-trip "
	    "failures\n", ncase, failures);
	if (ncase < NCASES_MIN)
		return 1;
	return failures > 0;
}
