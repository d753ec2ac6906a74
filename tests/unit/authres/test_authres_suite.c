/*
 * tests/unit/authres/test_authres_suite.c - the Authentication-Results
 * headers of $MAILSEC_TESTSUITES/authres/authres-parse-cases.yml (the
 * doctests of python3-authres 1.2.0, several from RFC 5451/7001
 * Appendix B) through mailsec_authres_parse(): the same authserv-id,
 * results, reasons and properties as authres, and an error where authres
 * raised one. Comments are not compared (authres drops them). Without
 * the suite the test says SKIPPED and exits 77 (ctest: skipped).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <yaml.h>

#include <mailsec/authres.h>

#include "core/core.h"
#include "../../common/yaml_doc.h"

#define SUITE_FILE	"authres/authres-parse-cases.yml"
#define SUITE_CASES	16

/* Compares one case; returns NULL when it matches, else why not. */
static const char *
check_case(yaml_document_t *doc, yaml_node_t *c, char *why, size_t whylen)
{
	const char *hdr = scalar(map_get(doc, c, "header"));
	const char *error = scalar(map_get(doc, c, "error"));
	const char *id = scalar(map_get(doc, c, "authserv_id"));
	yaml_node_t *results = map_get(doc, c, "results");
	struct mailsec_diag diag = { 0 };
	struct mailsec_authres *ar = NULL;
	const char *colon, *ret = NULL;
	mailsec_err err;
	size_t i, j;

	if (hdr == NULL || (colon = strchr(hdr, ':')) == NULL ||
	    !ms_ascii_eq(hdr, (size_t)(colon - hdr),
	    "Authentication-Results", 22))
		return "case without an Authentication-Results header";
	colon++;
	err = mailsec_authres_parse(colon, strlen(colon), 0, &ar, &diag);
	if (error != NULL) {
		if (err == MAILSEC_ESYNTAX)
			return NULL;
		snprintf(why, whylen, "authres says %s, we say %s", error,
		    mailsec_errname(err));
		ret = why;
		goto done;
	}
	if (err != MAILSEC_OK) {
		snprintf(why, whylen, "refused at %zu: %s", diag.offset,
		    diag.text);
		return why;
	}
	if (id == NULL || !ms_ascii_eq(ar->authserv_id,
	    strlen(ar->authserv_id), id, strlen(id))) {
		snprintf(why, whylen, "authserv-id %s", ar->authserv_id);
		ret = why;
		goto done;
	}
	if (ar->nresults != seq_len(results)) {
		snprintf(why, whylen, "%zu results, authres %zu",
		    ar->nresults, seq_len(results));
		ret = why;
		goto done;
	}
	for (i = 0; i < ar->nresults; i++) {
		struct mailsec_authres_result *r = &ar->results[i];
		yaml_node_t *er = seq_at(doc, results, i);
		yaml_node_t *props = map_get(doc, er, "properties");
		const char *reason = scalar(map_get(doc, er, "reason"));

		if (strcmp(r->method, scalar(map_get(doc, er, "method"))) !=
		    0 || strcmp(r->result, scalar(map_get(doc, er,
		    "result"))) != 0 || (reason == NULL) !=
		    (r->reason == NULL) || (reason != NULL &&
		    strcmp(reason, r->reason) != 0) ||
		    r->nprops != seq_len(props)) {
			snprintf(why, whylen, "result %zu: %s=%s, %zu props",
			    i, r->method, r->result, r->nprops);
			ret = why;
			goto done;
		}
		for (j = 0; j < r->nprops; j++) {
			yaml_node_t *ep = seq_at(doc, props, j);

			if (strcmp(r->props[j].ptype, scalar(map_get(doc, ep,
			    "ptype"))) != 0 || strcmp(r->props[j].property,
			    scalar(map_get(doc, ep, "property"))) != 0 ||
			    strcmp(r->props[j].value, scalar(map_get(doc, ep,
			    "value"))) != 0) {
				snprintf(why, whylen, "result %zu prop %zu: "
				    "%s.%s=%s", i, j, r->props[j].ptype,
				    r->props[j].property, r->props[j].value);
				ret = why;
				goto done;
			}
		}
	}
done:
	mailsec_authres_free(ar);
	return ret;
}

static char path[4096];

static void
test_authres_doctests(void **state)
{
	yaml_node_t *root, *cases;
	yaml_parser_t parser;
	yaml_document_t doc;
	char why[512];
	size_t i, n, failed = 0;
	FILE *f;

	(void)state;
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("%s: cannot open", path);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc))
		fail_msg("%s: YAML error: %s", path, parser.problem);
	root = yaml_document_get_root_node(&doc);
	cases = map_get(&doc, root, "cases");
	n = seq_len(cases);
	assert_int_equal(n, SUITE_CASES);
	for (i = 0; i < n; i++) {
		const char *bad = check_case(&doc, seq_at(&doc, cases, i),
		    why, sizeof why);

		if (bad != NULL) {
			printf("case %zu: %s\n  %s\n", i + 1, scalar(map_get(
			    &doc, seq_at(&doc, cases, i), "header")), bad);
			failed++;
		}
	}
	printf("authres suite: %zu/%zu headers match authres 1.2.0\n",
	    n - failed, n);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	assert_int_equal(failed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_authres_doctests),
	};
	const char *dir = getenv("MAILSEC_TESTSUITES");
	FILE *f;

	if (dir == NULL || dir[0] == '\0')
		dir = MAILSEC_SOURCE_DIR "/../shared/testsuites";
	snprintf(path, sizeof path, "%s/%s", dir, SUITE_FILE);
	if ((f = fopen(path, "rb")) == NULL) {
		/* 77: ctest reports the test as skipped */
		printf("SKIPPED: Authentication-Results suite %s not found "
		    "(set MAILSEC_TESTSUITES)\n", path);
		return 77;
	}
	fclose(f);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
