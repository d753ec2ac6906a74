/*
 * tests/conformance/arc/run_arc_suite.c - runs the ValiMail ARC test
 * suites (arc-draft-validation-tests.yml, arc-draft-sign-tests.yml)
 * through lib/arc.
 *
 * usage: run_arc_suite FILE.yml...   (relative names are looked up under
 * $MAILSEC_TESTSUITES/arc/). Exit 0 all passed, 1 a failure, 77 the
 * suites are absent (ctest reports it as skipped). ARC_VERBOSE=1 prints
 * every case.
 *
 * Each scenario's txt-records become zone-file text for the zone
 * backend; a value spread over several lines (YAML literal blocks) is
 * one TXT record of several character-strings, one per line, as
 * Mail::DKIM's harness of this suite serves them. Messages are YAML
 * text with LF line endings; the message parser converts them to CRLF.
 *
 * Validation: the chain validation status must be the suite's cv.
 * Signing: the chain is validated first (its status is the new cv=),
 * the AAR is the consolidation of the message's Authentication-Results
 * for srv-id, and the set is sealed with the suite's t= and
 * sig-headers; AS, AMS and AAR must equal the suite's after whitespace
 * normalization (b= included: RSA PKCS#1 v1.5 signatures are
 * deterministic). The suite's header format puts every tag in
 * alphabetical order (its README, "Signing Header Format
 * Standardization"), so these seals use MAILSEC_ARC_SEAL_SORTED; each
 * message is then sealed again in the RFC 8617 form (i= first) and the
 * result must validate with the expected status.
 *
 * The suite was written against draft-ietf-dmarc-arc-protocol-18. Where
 * a case's answer contradicts RFC 8617 as published, it is listed below
 * (rfc_cases) with the section that decides, printed, and checked
 * against the RFC's answer instead.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include <mailsec/arc.h>
#include <mailsec/dns.h>

#include "core/core.h"
#include "../../common/yaml_doc.h"
#include "../../common/zone_text.h"

/* Validation time: the suite's seals carry t=12345 and t=12346, no x=. */
#define SUITE_NOW 1500000000

struct rfc_case {
	const char *name;
	const char *suite;	/* the suite's cv */
	const char *rfc;	/* RFC 8617's answer */
	const char *why;
};

static const struct rfc_case rfc_cases[] = {
	{ "cv_fail_i1_as_cv_fail", "", "fail",
	  "RFC 8617 5.2 step 2: the newest ARC-Seal says cv=fail, so the "
	  "status is fail (the suite expects no status, dkimpy's \"chain "
	  "terminated\" None)" },
	{ "cv_fail_i2_as2_fail", "", "fail",
	  "RFC 8617 5.2 step 2: the newest ARC-Seal says cv=fail, so the "
	  "status is fail" },
	{ "cv_fail_i2_as1_fail", "", "fail",
	  "RFC 8617 5.2 step 3.C: no cv= may be fail and AS(1) must say "
	  "none, so the status is fail" },
	{ "ams_fields_c_na", "pass", "fail",
	  "RFC 8617 4.1.2 (the AMS has DKIM's syntax and semantics) and "
	  "RFC 6376 3.5: without c= the canonicalization is simple/simple; "
	  "the AMS was made relaxed, so it does not verify (Mail::DKIM's "
	  "copy of the suite flips this case too)" },
	{ "ams_fields_h_mis_hdr", "pass", "fail",
	  "RFC 8617 4.1.2 and RFC 6376 3.5: sig-h-tag is hdr-name *( [FWS] "
	  "\":\" [FWS] hdr-name ), so an empty name (\"to::date\") makes "
	  "h= invalid" },
	{ "ams_fields_h_empty", "pass", "fail",
	  "RFC 8617 4.1.2 and RFC 6376 3.5 (sig-h-tag: at least one "
	  "hdr-name) and 6.1.1 (h= must include From): an empty h= is not "
	  "a valid signature" },
};

static int verbose;

static const struct rfc_case *
rfc_case(const char *name)
{
	size_t i;

	for (i = 0; i < MS_ARRAY_LEN(rfc_cases); i++)
		if (strcmp(rfc_cases[i].name, name) == 0)
			return &rfc_cases[i];
	return NULL;
}

/* txt-records: name -> TXT, one character-string per line. */
static mailsec_err
build_zone(yaml_document_t *doc, yaml_node_t *tr, struct ms_buf *b)
{
	yaml_node_pair_t *p;
	mailsec_err err = MAILSEC_OK;

	if (tr == NULL || tr->type != YAML_MAPPING_NODE)
		return MAILSEC_OK;
	for (p = tr->data.mapping.pairs.start;
	    p < tr->data.mapping.pairs.top && err == MAILSEC_OK; p++) {
		const char *name = scalar(yaml_document_get_node(doc,
		    p->key));
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		const char *s = scalar(v), *e, *nl;

		if (name == NULL || s == NULL)
			continue;
		if ((err = ms_buf_printf(b, "%s. 300 IN TXT", name)) !=
		    MAILSEC_OK)
			break;
		e = s + scalar_len(v);
		while (s < e && err == MAILSEC_OK) {
			nl = memchr(s, '\n', (size_t)(e - s));
			if (nl == NULL)
				nl = e;
			if (nl > s)
				err = put_txt(b, s, (size_t)(nl - s));
			s = nl < e ? nl + 1 : e;
		}
		if (err == MAILSEC_OK)
			err = ms_buf_appendc(b, '\n');
	}
	return err;
}

/* "Pass" -> "pass"; a blank value -> "". */
static void
norm_cv(const char *in, char *out, size_t outsz)
{
	size_t n = 0;

	for (; in != NULL && *in != '\0' && n + 1 < outsz; in++)
		if (*in != ' ' && *in != '\n' && *in != '\t' && *in != '\r')
			out[n++] = (char)ms_tolower((unsigned char)*in);
	out[n] = '\0';
}

static mailsec_err
validate(struct mailsec_resolver *r, const struct mailsec_msg *msg,
    struct mailsec_arc_verify **out)
{
	struct mailsec_arc_verify_opts o = { 0 };

	o.now = SUITE_NOW;
	return mailsec_arc_verify_msg(r, &o, msg, out);
}

/* Parses a case's message and validates it; says FAIL and returns false
 * (nothing left to free) when either fails. */
static bool
parse_validate(struct mailsec_resolver *r, const char *name,
    const char *text, size_t len, struct mailsec_msg **msg,
    struct mailsec_arc_verify **v)
{
	struct mailsec_diag diag;
	mailsec_err err;

	diag.set = 0;
	if (mailsec_msg_parse(text, len, NULL, 0, msg, &diag) != MAILSEC_OK) {
		printf("FAIL %s: message does not parse: %s\n", name,
		    diag.text);
		return false;
	}
	if ((err = validate(r, *msg, v)) != MAILSEC_OK) {
		printf("FAIL %s: validation error %s\n", name,
		    mailsec_strerror(err));
		mailsec_msg_free(*msg);
		*msg = NULL;
		return false;
	}
	return true;
}

static int
run_validation_test(struct mailsec_resolver *r, const char *name,
    const char *text, size_t len, const char *want_raw)
{
	const struct rfc_case *rc = rfc_case(name);
	struct mailsec_msg *msg = NULL;
	struct mailsec_arc_verify *v = NULL;
	const struct mailsec_arc_outcome *o;
	char want[32];
	const char *got;
	int ok = 0;

	norm_cv(want_raw, want, sizeof want);
	if (rc != NULL) {
		if (strcmp(rc->suite, want) != 0) {
			printf("FAIL %s: listed as an RFC case with cv '%s', "
			    "the suite says '%s'\n", name, rc->suite, want);
			return 0;
		}
		snprintf(want, sizeof want, "%s", rc->rfc);
	}
	if (!parse_validate(r, name, text, len, &msg, &v))
		return 0;
	o = mailsec_arc_verify_outcome(v);
	got = mailsec_arc_result_name(o->result);
	ok = strcmp(got, want) == 0;
	if (ok && rc != NULL && strcmp(got, rc->suite) == 0)
		ok = 0;		/* a listed case must differ from the suite */
	if (!ok || verbose)
		printf("%s %s: cv %s, expected %s (%s: %s)\n",
		    ok ? "ok  " : "FAIL", name, got, want,
		    mailsec_arc_reason_name(o->reason), o->reason_text);
	if (rc != NULL)
		printf("rfc  %s: suite says %s, RFC 8617 says %s: %s\n", name,
		    rc->suite[0] ? rc->suite : "(no status)", rc->rfc,
		    rc->why);
	mailsec_arc_verify_free(v);
	mailsec_msg_free(msg);
	return ok;
}

/* Whitespace-free "tag=value" items, sorted, for AMS and AS. */
static void
norm_tags(const char *in, size_t len, char *out, size_t outsz)
{
	char tmp[8192], *items[64];
	size_t n = 0, i, k = 0, o = 0;
	char *p;

	for (i = 0; i < len && k + 1 < sizeof tmp; i++)
		if (in[i] != ' ' && in[i] != '\t' && in[i] != '\r' &&
		    in[i] != '\n')
			tmp[k++] = in[i];
	tmp[k] = '\0';
	for (p = tmp; *p != '\0' && n < 64;) {
		items[n++] = p;
		p += strcspn(p, ";");
		if (*p == ';')
			*p++ = '\0';
	}
	for (i = 1; i < n; i++) {	/* insertion sort */
		char *x = items[i];

		for (k = i; k > 0 && strcmp(items[k - 1], x) > 0; k--)
			items[k] = items[k - 1];
		items[k] = x;
	}
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (items[i][0] == '\0')
			continue;
		o += (size_t)snprintf(out + o, outsz - o, "%s%s",
		    o ? "; " : "", items[i]);
		if (o >= outsz)
			break;
	}
}

/* Whitespace runs to one space, none around ';' or at the ends. */
static void
norm_text(const char *in, size_t len, char *out, size_t outsz)
{
	size_t i, o = 0;
	bool ws = false;

	for (i = 0; i < len && o + 2 < outsz; i++) {
		char c = in[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			ws = o > 0;
			continue;
		}
		if (ws && c != ';')
			out[o++] = ' ';
		ws = false;
		out[o++] = c;
		if (c == ';')
			ws = true;
	}
	out[o] = '\0';
}

/* The value of field name in the block of fields text. */
static bool
field_value(const char *text, const char *name, const char **v, size_t *vl)
{
	size_t nl = strlen(name);
	const char *p = text, *e;

	while (*p != '\0') {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			*v = p + nl + 1;
			e = *v;
			while ((e = strstr(e, "\r\n")) != NULL &&
			    (e[2] == ' ' || e[2] == '\t'))
				e += 2;
			*vl = e != NULL ? (size_t)(e - *v) : strlen(*v);
			return true;
		}
		p = strstr(p, "\r\n");
		if (p == NULL)
			break;
		p += 2;
	}
	return false;
}

static int
compare_field(const char *name, const char *set, const char *field,
    const char *want, size_t wantlen, bool tags)
{
	char a[8192], b[8192];
	const char *v = "";
	size_t vl = 0;

	if (set != NULL && !field_value(set, field, &v, &vl)) {
		printf("FAIL %s: no %s made\n", name, field);
		return 0;
	}
	if (tags) {
		norm_tags(v, vl, a, sizeof a);
		norm_tags(want, wantlen, b, sizeof b);
	} else {
		norm_text(v, vl, a, sizeof a);
		norm_text(want, wantlen, b, sizeof b);
	}
	if (strcmp(a, b) != 0) {
		printf("FAIL %s: %s differs\n  ours:  %s\n  suite: %s\n",
		    name, field, a, b);
		return 0;
	}
	return 1;
}

static char *
concat(const char *set, const char *text, size_t len, size_t *outlen)
{
	size_t sl = set != NULL ? strlen(set) : 0;
	char *m = malloc(sl + len + 1);

	if (m == NULL)
		return NULL;
	if (sl > 0) {
		/* the suite's text has LF endings: the set goes in as CRLF,
		 * so the whole message is converted alike */
		size_t i, o = 0;

		for (i = 0; i < sl; i++)
			if (set[i] != '\r')
				m[o++] = set[i];
		sl = o;
	}
	memcpy(m + sl, text, len);
	m[sl + len] = '\0';
	*outlen = sl + len;
	return m;
}

static int
run_sign_test(struct mailsec_resolver *r, yaml_document_t *doc,
    yaml_node_t *t, const char *name, const struct mailsec_dkim_key *key,
    const char *domain, const char *sel)
{
	struct mailsec_msg *msg = NULL, *m2 = NULL;
	struct mailsec_arc_verify *v = NULL, *v2 = NULL;
	struct mailsec_authres *aar = NULL;
	struct mailsec_arc_seal_opts so = { 0 };
	struct mailsec_diag diag = { 0 };
	yaml_node_t *mn = map_get(doc, t, "message");
	yaml_node_t *asn = map_get(doc, t, "AS"), *amsn = map_get(doc, t,
	    "AMS"), *aarn = map_get(doc, t, "AAR");
	const char *ts = scalar(map_get(doc, t, "t"));
	const char *srv = scalar(map_get(doc, t, "srv-id"));
	enum mailsec_arc_result chain;
	char *set = NULL, *set2 = NULL, *data2 = NULL, want[8];
	size_t len2 = 0;
	mailsec_err err;
	int ok = 0;

	if (scalar(mn) == NULL || ts == NULL || srv == NULL) {
		printf("FAIL %s: incomplete test\n", name);
		return 0;
	}
	if (!parse_validate(r, name, scalar(mn), scalar_len(mn), &msg, &v))
		return 0;
	chain = mailsec_arc_verify_outcome(v)->result;
	if ((err = mailsec_arc_aar_collect(msg, srv, &aar, &diag)) !=
	    MAILSEC_OK) {
		printf("FAIL %s: AAR: %s\n", name, diag.text);
		goto out;
	}
	so.key = key;
	so.domain = domain;
	so.selector = sel;
	so.headers = scalar(map_get(doc, t, "sig-headers"));
	so.timestamp = (time_t)strtoll(ts, NULL, 10);
	so.flags = MAILSEC_ARC_SEAL_SORTED;
	if ((err = mailsec_arc_seal_msg(&so, msg, chain, aar, &set, NULL,
	    &diag)) != MAILSEC_OK) {
		printf("FAIL %s: seal error %s: %s\n", name,
		    mailsec_strerror(err), diag.text);
		goto out;
	}
	norm_cv(scalar(asn), want, sizeof want);
	if (want[0] == '\0') {
		/* the suite expects no new set */
		ok = set == NULL;
		if (!ok)
			printf("FAIL %s: sealed, the suite expects no set "
			    "(chain %s)\n", name,
			    mailsec_arc_result_name(chain));
		goto out;
	}
	if (set == NULL) {
		printf("FAIL %s: nothing sealed (chain %s: %s)\n", name,
		    mailsec_arc_result_name(chain),
		    mailsec_arc_verify_outcome(v)->reason_text);
		goto out;
	}
	/* In the order each depends on the one before. */
	if (!compare_field(name, set, "ARC-Authentication-Results",
	    scalar(aarn), scalar_len(aarn), false) ||
	    !compare_field(name, set, "ARC-Message-Signature", scalar(amsn),
	    scalar_len(amsn), true) ||
	    !compare_field(name, set, "ARC-Seal", scalar(asn),
	    scalar_len(asn), true))
		goto out;
	if (verbose)
		printf("ok   %s: suite form\n%s", name, set);
	/* The RFC form, then a validation of the sealed message. */
	so.flags = 0;
	if ((err = mailsec_arc_seal_msg(&so, msg, chain, aar, &set2, NULL,
	    &diag)) != MAILSEC_OK || set2 == NULL) {
		printf("FAIL %s: RFC-form seal: %s\n", name,
		    err ? diag.text : "nothing sealed");
		goto out;
	}
	if ((data2 = concat(set2, scalar(mn), scalar_len(mn), &len2)) ==
	    NULL || mailsec_msg_parse(data2, len2, NULL, 0, &m2, &diag) !=
	    MAILSEC_OK || validate(r, m2, &v2) != MAILSEC_OK) {
		printf("FAIL %s: sealed message does not validate at all\n",
		    name);
		goto out;
	}
	{
		const struct mailsec_arc_outcome *o2 =
		    mailsec_arc_verify_outcome(v2);
		enum mailsec_arc_result exp = chain == MAILSEC_ARC_FAIL ?
		    MAILSEC_ARC_FAIL : MAILSEC_ARC_PASS;

		ok = o2->result == exp &&
		    (exp == MAILSEC_ARC_FAIL ? o2->reason ==
		    MAILSEC_ARC_R_CHAIN_FAILED : o2->oldest_pass == 0);
		if (!ok || verbose)
			printf("%s %s: RFC-form seal validates %s (%s), "
			    "expected %s\n%s", ok ? "ok  " : "FAIL", name,
			    mailsec_arc_result_name(o2->result),
			    o2->reason_text, mailsec_arc_result_name(exp),
			    verbose || !ok ? set2 : "");
	}
out:
	free(set);
	free(set2);
	free(data2);
	mailsec_arc_verify_free(v);
	mailsec_arc_verify_free(v2);
	mailsec_authres_free(aar);
	mailsec_msg_free(msg);
	mailsec_msg_free(m2);
	return ok;
}

static int
run_file(const char *path, int *npass, int *ntotal)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	FILE *f;
	int ndoc = 0;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	for (;;) {
		yaml_node_t *root, *tests;
		yaml_node_pair_t *tp;
		struct mailsec_resolver *r = NULL;
		struct mailsec_dkim_key *key = NULL;
		struct mailsec_diag diag = { 0 };
		struct ms_buf zone;
		const char *pk, *domain, *sel;
		mailsec_err err;

		if (!yaml_parser_load(&parser, &doc)) {
			fprintf(stderr, "%s: YAML error: %s\n", path,
			    parser.problem ? parser.problem : "?");
			(*ntotal)++;
			break;
		}
		if ((root = yaml_document_get_root_node(&doc)) == NULL) {
			yaml_document_delete(&doc);
			break;
		}
		ndoc++;
		tests = map_get(&doc, root, "tests");
		ms_buf_init(&zone, 1 << 20);
		err = build_zone(&doc, map_get(&doc, root, "txt-records"),
		    &zone);
		if (err == MAILSEC_OK)
			err = mailsec_resolver_new_zone_mem(zone.ptr ?
			    zone.ptr : "", zone.len, NULL, &r, &diag);
		if (err != MAILSEC_OK)
			printf("FAIL scenario %d: zone refused: %s\n%s\n",
			    ndoc, diag.text, zone.ptr ? zone.ptr : "");
		ms_buf_free(&zone);
		pk = scalar(map_get(&doc, root, "privatekey"));
		domain = scalar(map_get(&doc, root, "domain"));
		sel = scalar(map_get(&doc, root, "sel"));
		if (pk != NULL && mailsec_dkim_key_load(pk, strlen(pk), &key,
		    &diag) != MAILSEC_OK)
			printf("FAIL scenario %d: private key: %s\n", ndoc,
			    diag.text);
		for (tp = tests != NULL && tests->type == YAML_MAPPING_NODE ?
		    tests->data.mapping.pairs.start : NULL;
		    tp != NULL && tp < tests->data.mapping.pairs.top; tp++) {
			const char *name = scalar(yaml_document_get_node(&doc,
			    tp->key));
			yaml_node_t *t = yaml_document_get_node(&doc,
			    tp->value);
			yaml_node_t *mn = map_get(&doc, t, "message");

			(*ntotal)++;
			if (name == NULL || r == NULL)
				continue;
			if (pk != NULL) {
				if (key != NULL && domain != NULL &&
				    sel != NULL)
					*npass += run_sign_test(r, &doc, t,
					    name, key, domain, sel);
				continue;
			}
			*npass += run_validation_test(r, name,
			    scalar(mn) ? scalar(mn) : "", scalar_len(mn),
			    scalar(map_get(&doc, t, "cv")));
		}
		mailsec_dkim_key_free(key);
		mailsec_resolver_free(r);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *dir = getenv("MAILSEC_TESTSUITES");
	int i, npass = 0, ntotal = 0, files = 0;
	char path[4096];

	if (getenv("ARC_VERBOSE") != NULL)
		verbose = 1;
	for (i = 1; i < argc; i++) {
		int p0 = npass, t0 = ntotal;

		if (argv[i][0] == '/' || dir == NULL)
			snprintf(path, sizeof path, "%s", argv[i]);
		else
			snprintf(path, sizeof path, "%s/arc/%s", dir, argv[i]);
		if (run_file(path, &npass, &ntotal) != 0) {
			printf("SKIPPED: ARC suite %s not found (set "
			    "MAILSEC_TESTSUITES)\n", path);
			continue;
		}
		files++;
		printf("arc conformance %s: %d/%d passed\n", argv[i],
		    npass - p0, ntotal - t0);
	}
	if (files == 0) {
		printf("SKIPPED: no ARC suite found\n");
		return 77;
	}
	printf("arc conformance total: %d/%d passed (%zu cases checked "
	    "against RFC 8617 instead of the draft-era suite, listed "
	    "above)\n", npass, ntotal, MS_ARRAY_LEN(rfc_cases));
	return npass == ntotal ? 0 : 1;
}
