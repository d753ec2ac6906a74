/*
 * Unit tests for the tag=value tokenizer (RFC 6376 3.2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"
#include "core/tagvalue.h"

struct tv_case {
	const char *in;
	mailsec_err err;
	size_t count;
	const char *name0, *value0;	/* first tag, or NULL */
	const char *name_last, *value_last;
};

static const struct tv_case cases[] = {
	{ "", MAILSEC_OK, 0, NULL, NULL, NULL, NULL },
	{ "  ", MAILSEC_OK, 0, NULL, NULL, NULL, NULL },
	{ "v=1", MAILSEC_OK, 1, "v", "1", "v", "1" },
	{ "v=1;", MAILSEC_OK, 1, "v", "1", "v", "1" },
	{ "v=1; ", MAILSEC_OK, 1, "v", "1", "v", "1" },
	{ " v = 1 ; a=rsa-sha256 ", MAILSEC_OK, 2, "v", "1", "a",
	  "rsa-sha256" },
	{ "p=", MAILSEC_OK, 1, "p", "", "p", "" },
	{ "b=abc\r\n\tdef; x=1", MAILSEC_OK, 2, "b", "abc\r\n\tdef", "x",
	  "1" },
	{ "h=from : to", MAILSEC_OK, 1, "h", "from : to", "h", "from : to" },
	{ "n=a b  c;", MAILSEC_OK, 1, "n", "a b  c", "n", "a b  c" },
	{ "Tag_1=x", MAILSEC_OK, 1, "Tag_1", "x", "Tag_1", "x" },
	{ "v=1; v=1", MAILSEC_ESYNTAX, 0, NULL, NULL, NULL, NULL },
	{ "=1", MAILSEC_ESYNTAX, 0, NULL, NULL, NULL, NULL },
	{ "1a=1", MAILSEC_ESYNTAX, 0, NULL, NULL, NULL, NULL },
	{ "v", MAILSEC_ESYNTAX, 0, NULL, NULL, NULL, NULL },
	{ "v=1;;a=2", MAILSEC_ESYNTAX, 0, NULL, NULL, NULL, NULL },
	{ "v=1\r\nx=2", MAILSEC_ESYNTAX, 0, NULL, NULL, NULL, NULL },
	{ "v=1\n", MAILSEC_ESYNTAX, 0, NULL, NULL, NULL, NULL },
	{ "v=a\x80", MAILSEC_ESYNTAX, 0, NULL, NULL, NULL, NULL },
	{ "v=a\x01", MAILSEC_ESYNTAX, 0, NULL, NULL, NULL, NULL },
	{ "v=a=b", MAILSEC_OK, 1, "v", "a=b", "v", "a=b" },
};

static void
check(const struct mailsec_str s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.ptr, want, s.len);
}

static void
test_cases(void **state)
{
	struct ms_taglist tl;
	struct mailsec_diag diag;
	size_t i;

	(void)state;
	for (i = 0; i < MS_ARRAY_LEN(cases); i++) {
		const struct tv_case *c = &cases[i];
		mailsec_err err;

		memset(&diag, 0, sizeof diag);
		err = ms_taglist_parse(c->in, strlen(c->in), &tl, &diag);
		if (err != c->err)
			fail_msg("case %zu '%s': got %d want %d", i, c->in,
			    err, c->err);
		if (err != MAILSEC_OK) {
			assert_true(diag.set);
			continue;
		}
		assert_int_equal(tl.count, c->count);
		if (c->name0 != NULL) {
			check(tl.tags[0].name, c->name0);
			check(tl.tags[0].value, c->value0);
			check(tl.tags[tl.count - 1].name, c->name_last);
			check(tl.tags[tl.count - 1].value, c->value_last);
		}
	}
}

static void
test_raw_span(void **state)
{
	const char *in = "a=1; b= xyz \r\n\t; c=2";
	struct ms_taglist tl;
	const struct ms_tag *b;

	(void)state;
	assert_int_equal(ms_taglist_parse(in, strlen(in), &tl, NULL),
	    MAILSEC_OK);
	b = ms_taglist_get(&tl, "b");
	assert_non_null(b);
	/* raw span: from after '=' to the ';' (whitespace included) */
	assert_int_equal(b->raw_start, 7);
	assert_int_equal(in[b->raw_end], ';');
	check(b->value, "xyz");
	assert_null(ms_taglist_get(&tl, "B"));
}

static void
test_limit(void **state)
{
	char buf[MS_TAGLIST_MAX_TAGS * 8 + 16];
	struct ms_taglist tl;
	size_t i, n = 0;

	(void)state;
	for (i = 0; i <= MS_TAGLIST_MAX_TAGS; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "t%zu=1;", i);
	assert_int_equal(ms_taglist_parse(buf, n, &tl, NULL), MAILSEC_ELIMIT);
}

static void
test_strip(void **state)
{
	struct mailsec_str v = { " ab\r\n\tc d ", 10 };
	char out[8];

	(void)state;
	assert_int_equal(ms_tag_strip_fws(v, out, sizeof out), 4);
	assert_memory_equal(out, "abcd", 4);
	assert_int_equal(ms_tag_strip_fws(v, out, 3), (size_t)-1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_raw_span),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_strip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
