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
	/* one-letter names are case-sensitive: a and A are two tags */
	{ "a=1; A=2", MAILSEC_OK, 2, "a", "1", "A", "2" },
	{ "a=1; b=2; z=3; Z=4; a=5", MAILSEC_ESYNTAX, 0, NULL, NULL, NULL,
	  NULL },
	{ "bh=1; b=2; bh=3", MAILSEC_ESYNTAX, 0, NULL, NULL, NULL, NULL },
	{ "bh=1; b=2; Bh=3", MAILSEC_OK, 3, "bh", "1", "Bh", "3" },
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

/* The byte-by-byte rule a value scan must agree with. */
static int
ref_valchar(unsigned char c)
{
	return (c >= 0x21 && c <= 0x3a) || (c >= 0x3c && c <= 0x7e);
}

/*
 * Long values (the vector scan's ground): every byte value at every
 * position of a 70-byte value, then ";x=1": a VALCHAR extends the value,
 * WSP splits it into two tvals, ';' ends it, anything else is refused.
 */
static void
test_long_values(void **state)
{
	char in[128];
	struct ms_taglist tl;
	size_t pos, n;
	unsigned c;

	(void)state;
	for (pos = 0; pos < 70; pos++) {
		for (c = 0; c < 256; c++) {
			mailsec_err err, want;

			memcpy(in, "b=", 2);
			memset(in + 2, 'Q', 70);
			in[2 + pos] = (char)c;
			memcpy(in + 72, ";x=1", 4);
			n = 76;
			err = ms_taglist_parse(in, n, &tl, NULL);
			/* A ';' ends b= early: what follows has no '='. */
			want = ref_valchar((unsigned char)c) || c == ' ' ||
			    c == '\t' ? MAILSEC_OK : MAILSEC_ESYNTAX;
			if (err != want)
				fail_msg("byte 0x%02x at %zu: got %d want %d",
				    c, pos, err, want);
			if (err != MAILSEC_OK)
				continue;
			assert_int_equal(tl.count, 2);
			/* WSP inside stays; at the very start it is FWS. */
			if ((c == ' ' || c == '\t') && pos == 0)
				assert_int_equal(tl.tags[0].value.len, 69);
			else if ((c == ' ' || c == '\t') && pos == 69)
				assert_int_equal(tl.tags[0].value.len, 69);
			else
				assert_int_equal(tl.tags[0].value.len, 70);
			check(tl.tags[1].value, "1");
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_raw_span),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_strip),
		cmocka_unit_test(test_long_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
