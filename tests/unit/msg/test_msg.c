/*
 * tests/unit/msg/test_msg.c - the message model (lib/mime/msg.c):
 * fields, folding, line endings, limits, lookups.
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

#include <mailsec/msg.h>

/* A literal with its length, so NUL bytes can be part of a case. */
#define S(lit) (lit), (sizeof(lit) - 1)

struct fexp {
	const char *name;
	const char *value;
	const char *raw;
};

struct msg_case {
	const char *what;
	const char *in;
	size_t inlen;
	unsigned flags;
	struct mailsec_msg_limits lim;
	mailsec_err err;
	/* success */
	size_t nfields;
	struct fexp f[4];
	const char *body;	/* CRLF form */
	bool converted;
	/* failure */
	size_t line;
	size_t offset;
	const char *diag;	/* substring of diag.text */
};

#define NOLIM { 0, 0, 0 }
#define REQ MAILSEC_MSG_REQUIRE_CRLF

static const struct msg_case cases[] = {
	/* basics */
	{ "simple CRLF", S("From: a@b\r\nSubject: hi\r\n\r\nbody\r\n"), 0,
	    NOLIM, MAILSEC_OK, 2, {
		{ "From", "a@b", "From: a@b\r\n" },
		{ "Subject", "hi", "Subject: hi\r\n" } },
	    "body\r\n", false, 0, 0, NULL },
	{ "empty input", S(""), 0, NOLIM, MAILSEC_OK, 0, { { 0 } }, "",
	    false, 0, 0, NULL },
	{ "no body (no blank line)", S("A: 1\r\nB: 2\r\n"), 0, NOLIM,
	    MAILSEC_OK, 2, { { "A", "1", "A: 1\r\n" },
		{ "B", "2", "B: 2\r\n" } }, "", false, 0, 0, NULL },
	{ "empty body", S("A: 1\r\n\r\n"), 0, NOLIM, MAILSEC_OK, 1,
	    { { "A", "1", "A: 1\r\n" } }, "", false, 0, 0, NULL },
	{ "blank first line: zero fields", S("\r\nA: not a field\r\n"), 0,
	    NOLIM, MAILSEC_OK, 0, { { 0 } }, "A: not a field\r\n", false, 0,
	    0, NULL },
	{ "blank first line LF", S("\nbody\n"), 0, NOLIM, MAILSEC_OK, 0,
	    { { 0 } }, "body\r\n", true, 0, 0, NULL },
	{ "last field unterminated at EOF", S("A: 1\r\nB: 2"), 0, NOLIM,
	    MAILSEC_OK, 2, { { "A", "1", "A: 1\r\n" }, { "B", "2", "B: 2" } },
	    "", false, 0, 0, NULL },
	{ "NUL in body is data", S("A: 1\r\n\r\nx\0y"), 0, NOLIM,
	    MAILSEC_OK, 1, { { "A", "1", "A: 1\r\n" } }, NULL, false, 0, 0,
	    NULL },

	/* folding and unfolding, RFC 5322 2.2.3 */
	{ "folded with space", S("Subject: This\r\n is a test\r\n\r\n"), 0,
	    NOLIM, MAILSEC_OK, 1, { { "Subject", "This is a test",
		"Subject: This\r\n is a test\r\n" } }, "", false, 0, 0, NULL },
	{ "folded with tabs, three lines", S("Subject: a\r\n\tb\r\n\tc\r\n"
	    "To: x\r\n\r\nbody"), 0, NOLIM, MAILSEC_OK, 2, {
		{ "Subject", "a\tb\tc", "Subject: a\r\n\tb\r\n\tc\r\n" },
		{ "To", "x", "To: x\r\n" } }, "body", false, 0, 0, NULL },
	{ "value starts on the continuation line",
	    S("X: \r\n  v  \r\n \r\n\r\n"), 0, NOLIM, MAILSEC_OK, 1,
	    { { "X", "v", "X: \r\n  v  \r\n \r\n" } }, "", false, 0, 0, NULL },
	{ "trim keeps inner WSP", S("X:   v  w \t\r\n\r\n"), 0, NOLIM,
	    MAILSEC_OK, 1, { { "X", "v  w", "X:   v  w \t\r\n" } }, "",
	    false, 0, 0, NULL },
	{ "empty value", S("X:\r\nY: \t \r\n\r\n"), 0, NOLIM, MAILSEC_OK, 2,
	    { { "X", "", "X:\r\n" }, { "Y", "", "Y: \t \r\n" } }, "", false,
	    0, 0, NULL },
	{ "whitespace-only line is a continuation",
	    S("A: 1\r\n \r\n\r\nb"), 0, NOLIM, MAILSEC_OK, 1,
	    { { "A", "1", "A: 1\r\n \r\n" } }, "b", false, 0, 0, NULL },
	{ "folded field, value keeps CRLF-less inner text",
	    S("DKIM-Signature: v=1;\r\n\ta=rsa-sha256; d=x;\r\n"
		"  b=abc\r\n\r\n"), 0, NOLIM, MAILSEC_OK, 1,
	    { { "DKIM-Signature", "v=1;\ta=rsa-sha256; d=x;  b=abc",
		"DKIM-Signature: v=1;\r\n\ta=rsa-sha256; d=x;\r\n"
		"  b=abc\r\n" } },
	    "", false, 0, 0, NULL },

	/* names */
	{ "obsolete WSP before colon", S("From : x\r\nTo\t: y\r\n\r\n"), 0,
	    NOLIM, MAILSEC_OK, 2, { { "From", "x", "From : x\r\n" },
		{ "To", "y", "To\t: y\r\n" } }, "", false, 0, 0, NULL },
	{ "all ftext specials in a name",
	    S("X-!#$%&'*+-.^_`{|}~\"(),;<>@[]\\/?=: v\r\n\r\n"), 0, NOLIM,
	    MAILSEC_OK, 1, { { "X-!#$%&'*+-.^_`{|}~\"(),;<>@[]\\/?=", "v",
		"X-!#$%&'*+-.^_`{|}~\"(),;<>@[]\\/?=: v\r\n" } }, "", false, 0,
	    0, NULL },
	{ "colon inside the value", S("Date: 12:34:56\r\n\r\n"), 0, NOLIM,
	    MAILSEC_OK, 1, { { "Date", "12:34:56", "Date: 12:34:56\r\n" } },
	    "", false, 0, 0, NULL },

	/* 8-bit and control bytes in values (RFC 6532, obs-utext) */
	{ "UTF-8 value", S("Subject: Gr\xc3\xbc\xc3\x9f" "e\r\n\r\n"), 0,
	    NOLIM, MAILSEC_OK, 1, { { "Subject", "Gr\xc3\xbc\xc3\x9f" "e",
		"Subject: Gr\xc3\xbc\xc3\x9f" "e\r\n" } }, "", false, 0, 0,
	    NULL },
	{ "raw 8-bit (not UTF-8) value kept", S("X: \xff\xfe\r\n\r\n"), 0,
	    NOLIM, MAILSEC_OK, 1, { { "X", "\xff\xfe", "X: \xff\xfe\r\n" } },
	    "", false, 0, 0, NULL },
	{ "control byte in value kept", S("X: a\x01" "b\x7f\r\n\r\n"), 0,
	    NOLIM, MAILSEC_OK, 1, { { "X", "a\x01" "b\x7f",
		"X: a\x01" "b\x7f\r\n" } }, "", false, 0, 0, NULL },

	/* line endings */
	{ "LF-only converted", S("From: a\nSubject: b\n c\n\nbody\nline2\n"),
	    0, NOLIM, MAILSEC_OK, 2, { { "From", "a", "From: a\r\n" },
		{ "Subject", "b c", "Subject: b\r\n c\r\n" } },
	    "body\r\nline2\r\n", true, 0, 0, NULL },
	{ "mixed endings converted", S("A: 1\r\nB: 2\nC: 3\r\n\nx\r\ny\n"), 0,
	    NOLIM, MAILSEC_OK, 3, { { "A", "1", "A: 1\r\n" },
		{ "B", "2", "B: 2\r\n" }, { "C", "3", "C: 3\r\n" } },
	    "x\r\ny\r\n", true, 0, 0, NULL },
	{ "CRLF header, LF body converted", S("A: 1\r\n\r\nx\ny\n"), 0,
	    NOLIM, MAILSEC_OK, 1, { { "A", "1", "A: 1\r\n" } }, "x\r\ny\r\n",
	    true, 0, 0, NULL },
	{ "bare CR in body normalized", S("A: 1\r\n\r\nx\ry\r"), 0, NOLIM,
	    MAILSEC_OK, 1, { { "A", "1", "A: 1\r\n" } }, "x\r\ny\r\n", true,
	    0, 0, NULL },
	{ "CR CR LF in body", S("A: 1\n\nx\r\r\n"), 0, NOLIM, MAILSEC_OK, 1,
	    { { "A", "1", "A: 1\r\n" } }, "x\r\n\r\n", true, 0, 0, NULL },
	{ "REQUIRE_CRLF accepts CRLF", S("A: 1\r\n\r\nx\r\n"), REQ, NOLIM,
	    MAILSEC_OK, 1, { { "A", "1", "A: 1\r\n" } }, "x\r\n", false, 0, 0,
	    NULL },
	{ "bare CR in header", S("A: 1\rB: 2\r\n\r\n"), 0, NOLIM,
	    MAILSEC_ESYNTAX, 0, { { 0 } }, NULL, false, 1, 4, "bare CR" },
	{ "bare CR at end of unterminated header", S("A: 1\r"), 0, NOLIM,
	    MAILSEC_ESYNTAX, 0, { { 0 } }, NULL, false, 1, 4, "bare CR" },
	{ "bare CR in a continuation", S("A: 1\r\n x\ry\r\n\r\n"), 0, NOLIM,
	    MAILSEC_ESYNTAX, 0, { { 0 } }, NULL, false, 2, 8, "bare CR" },
	{ "REQUIRE_CRLF: bare LF in header", S("A: 1\r\nB: 2\n\r\n"), REQ,
	    NOLIM, MAILSEC_ESYNTAX, 0, { { 0 } }, NULL, false, 2, 10,
	    "bare LF at offset 10" },
	{ "REQUIRE_CRLF: bare LF blank line", S("A: 1\r\n\nbody"), REQ,
	    NOLIM, MAILSEC_ESYNTAX, 0, { { 0 } }, NULL, false, 2, 6,
	    "bare LF at offset 6" },
	{ "REQUIRE_CRLF: bare LF in body", S("A: 1\r\n\r\nx\ny"), REQ, NOLIM,
	    MAILSEC_ESYNTAX, 0, { { 0 } }, NULL, false, 3, 9,
	    "bare LF at offset 9" },
	{ "REQUIRE_CRLF: bare CR in body", S("A: 1\r\n\r\nab\rc\r\n"), REQ,
	    NOLIM, MAILSEC_ESYNTAX, 0, { { 0 } }, NULL, false, 3, 10,
	    "bare CR at offset 10" },

	/* syntax errors */
	{ "missing colon", S("A: 1\r\nB: 2\r\nnocolon here\r\n\r\n"), 0,
	    NOLIM, MAILSEC_ESYNTAX, 0, { { 0 } }, NULL, false, 3, 12,
	    "line 3: header field has no colon" },
	{ "missing colon, LF input offsets are input offsets",
	    S("A: 1\nB: 2\nnocolon\n\n"), 0, NOLIM, MAILSEC_ESYNTAX, 0,
	    { { 0 } }, NULL, false, 3, 10,
	    "line 3: header field has no colon" },
	{ "continuation before first field", S(" A: 1\r\n\r\n"), 0, NOLIM,
	    MAILSEC_ESYNTAX, 0, { { 0 } }, NULL, false, 1, 0,
	    "continuation line before the first header field" },
	{ "NUL in name line", S("A: 1\r\nB: x\0y\r\n\r\n"), 0, NOLIM,
	    MAILSEC_ESYNTAX, 0, { { 0 } }, NULL, false, 2, 10, "NUL" },
	{ "NUL in name", S("A\0B: 1\r\n\r\n"), 0, NOLIM, MAILSEC_ESYNTAX, 0,
	    { { 0 } }, NULL, false, 1, 1, "NUL" },
	{ "mbox From_ line", S("From a@b.example Thu Jan  1 00:00:00 2024\n"
	    "A: 1\n\n"), 0, NOLIM, MAILSEC_ESYNTAX, 0, { { 0 } }, NULL, false,
	    1, 0, "mbox \"From \"" },
	{ "mbox From_ line without time", S("From a@b\nA: 1\n\n"), 0,
	    NOLIM, MAILSEC_ESYNTAX, 0, { { 0 } }, NULL, false, 1, 0,
	    "mbox \"From \"" },
	{ "8-bit byte in name", S("B\xc3\xa4" "d: x\r\n\r\n"), 0, NOLIM,
	    MAILSEC_ESYNTAX, 0, { { 0 } }, NULL, false, 1, 1,
	    "invalid byte 0xc3 in field name" },
	{ "space inside name", S("A: 1\r\nBad Name: x\r\n\r\n"), 0, NOLIM,
	    MAILSEC_ESYNTAX, 0, { { 0 } }, NULL, false, 2, 9,
	    "white space inside a field name" },
	{ "empty name", S(": x\r\n\r\n"), 0, NOLIM, MAILSEC_ESYNTAX, 0,
	    { { 0 } }, NULL, false, 1, 0, "empty field name" },
	{ "control byte in name", S("A\x01: x\r\n\r\n"), 0, NOLIM,
	    MAILSEC_ESYNTAX, 0, { { 0 } }, NULL, false, 1, 1,
	    "invalid byte 0x01" },

	/* limits: exactly at the limit passes, one over fails */
	{ "max_fields at limit", S("A: 1\r\nB: 2\r\n\r\n"), 0, { 2, 0, 0 },
	    MAILSEC_OK, 2, { { "A", "1", "A: 1\r\n" },
		{ "B", "2", "B: 2\r\n" } }, "", false, 0, 0, NULL },
	{ "max_fields exceeded", S("A: 1\r\nB: 2\r\nC: 3\r\n\r\n"), 0,
	    { 2, 0, 0 }, MAILSEC_ELIMIT, 0, { { 0 } }, NULL, false, 3, 12,
	    "more than 2 header fields (max_fields)" },
	{ "max_field_len at limit", S("A: 12\r\n\r\n"), 0, { 0, 7, 0 },
	    MAILSEC_OK, 1, { { "A", "12", "A: 12\r\n" } }, "", false, 0, 0,
	    NULL },
	{ "max_field_len exceeded", S("A: 12\r\n\r\n"), 0, { 0, 6, 0 },
	    MAILSEC_ELIMIT, 0, { { 0 } }, NULL, false, 1, 0,
	    "longer than 6 bytes (max_field_len)" },
	{ "max_field_len counts folding", S("A: 1\r\n 2\r\n\r\n"), 0,
	    { 0, 9, 0 }, MAILSEC_ELIMIT, 0, { { 0 } }, NULL, false, 2, 6,
	    "max_field_len" },
	{ "max_field_len counts CRLF form of LF input", S("A: 12\n\n"), 0,
	    { 0, 6, 0 }, MAILSEC_ELIMIT, 0, { { 0 } }, NULL, false, 1, 0,
	    "max_field_len" },
	{ "max_field_len LF input at limit", S("A: 12\n\n"), 0, { 0, 7, 0 },
	    MAILSEC_OK, 1, { { "A", "12", "A: 12\r\n" } }, "", true, 0, 0,
	    NULL },
	{ "max_header_len at limit", S("A: 1\r\nB: 2\r\n\r\nbody"), 0,
	    { 0, 0, 12 }, MAILSEC_OK, 2, { { "A", "1", "A: 1\r\n" },
		{ "B", "2", "B: 2\r\n" } }, "body", false, 0, 0, NULL },
	{ "max_header_len exceeded", S("A: 1\r\nB: 2\r\n\r\nbody"), 0,
	    { 0, 0, 11 }, MAILSEC_ELIMIT, 0, { { 0 } }, NULL, false, 2, 6,
	    "longer than 11 bytes (max_header_len)" },
	{ "max_header_len at limit, unterminated", S("A: 1\r\nB: 2"), 0,
	    { 0, 0, 10 }, MAILSEC_OK, 2, { { "A", "1", "A: 1\r\n" },
		{ "B", "2", "B: 2" } }, "", false, 0, 0, NULL },
	{ "max_header_len exceeded, unterminated", S("A: 1\r\nB: 2"), 0,
	    { 0, 0, 9 }, MAILSEC_ELIMIT, 0, { { 0 } }, NULL, false, 2, 6,
	    "max_header_len" },
	{ "max_header_len: long line without newline",
	    S("A: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
	    0, { 0, 0, 20 }, MAILSEC_ELIMIT, 0, { { 0 } }, NULL, false, 1, 0,
	    "max_header_len" },
};

/* Checks what every parsed message must satisfy. */
static void
check_invariants(const struct mailsec_msg *m)
{
	struct mailsec_str d = mailsec_msg_data(m);
	struct mailsec_str hb = mailsec_msg_header_block(m);
	struct mailsec_str b = mailsec_msg_body(m);
	const struct mailsec_header *h;
	const char *next = d.ptr;
	size_t i, n = mailsec_msg_field_count(m);

	assert_ptr_equal(hb.ptr, d.ptr);
	assert_true(hb.len <= d.len);
	assert_true(b.ptr >= d.ptr + hb.len);
	assert_true(b.ptr + b.len == d.ptr + d.len);
	for (i = 0; i < n; i++) {
		h = mailsec_msg_field(m, i);
		assert_non_null(h);
		/* fields tile the header block, top to bottom */
		assert_ptr_equal(h->raw.ptr, next);
		assert_ptr_equal(h->name.ptr, h->raw.ptr);
		assert_true(h->name.len > 0 && h->name.len < h->raw.len);
		assert_true(h->value.len <= h->raw.len);
		next = h->raw.ptr + h->raw.len;
	}
	assert_ptr_equal(next, d.ptr + hb.len);
	assert_null(mailsec_msg_field(m, n));
	/* CRLF form: no bare CR or LF anywhere */
	for (i = 0; i < d.len; i++) {
		if (d.ptr[i] == '\r')
			assert_true(i + 1 < d.len && d.ptr[i + 1] == '\n');
		if (d.ptr[i] == '\n')
			assert_true(i > 0 && d.ptr[i - 1] == '\r');
	}
}

static void
assert_str(struct mailsec_str s, const char *want, const char *what)
{
	if (s.len != strlen(want) || memcmp(s.ptr, want, s.len) != 0)
		fail_msg("%s: got \"%.*s\" (%zu), want \"%s\"", what,
		    (int)s.len, s.ptr, s.len, want);
}

static void
test_table(void **state)
{
	const struct msg_case *c;
	struct mailsec_msg *m;
	struct mailsec_diag diag;
	const struct mailsec_header *h;
	size_t i, j;
	mailsec_err err;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		c = &cases[i];
		print_message("case: %s\n", c->what);
		memset(&diag, 0, sizeof diag);
		m = NULL;
		err = mailsec_msg_parse(c->in, c->inlen, &c->lim, c->flags,
		    &m, &diag);
		if (err != c->err)
			fail_msg("%s: got %s (%s), want %s", c->what,
			    mailsec_errname(err), diag.text,
			    mailsec_errname(c->err));
		if (err != MAILSEC_OK) {
			assert_null(m);
			assert_int_equal(diag.set, 1);
			if (strstr(diag.text, c->diag) == NULL)
				fail_msg("%s: diag \"%s\" lacks \"%s\"",
				    c->what, diag.text, c->diag);
			if (diag.line != c->line || diag.offset != c->offset)
				fail_msg("%s: at line %zu offset %zu, want "
				    "%zu/%zu (%s)", c->what, diag.line,
				    diag.offset, c->line, c->offset,
				    diag.text);
			continue;
		}
		assert_non_null(m);
		check_invariants(m);
		assert_int_equal(mailsec_msg_field_count(m), c->nfields);
		for (j = 0; j < c->nfields; j++) {
			h = mailsec_msg_field(m, j);
			assert_str(h->name, c->f[j].name, c->what);
			assert_str(h->value, c->f[j].value, c->what);
			assert_str(h->raw, c->f[j].raw, c->what);
		}
		if (c->body != NULL)
			assert_str(mailsec_msg_body(m), c->body, c->what);
		if (mailsec_msg_converted(m) != c->converted)
			fail_msg("%s: converted %d", c->what,
			    mailsec_msg_converted(m));
		if (!c->converted && c->inlen > 0)
			assert_ptr_equal(mailsec_msg_data(m).ptr, c->in);
		mailsec_msg_free(m);
	}
}

/* CRLF input is borrowed: every view points into the caller's bytes. */
static void
test_borrow_crlf(void **state)
{
	static const char in[] = "Subject: plain\r\nX: a\r\n b\r\n\r\nbody\r\n";
	struct mailsec_msg *m = NULL;
	const struct mailsec_header *h;

	(void)state;
	assert_int_equal(mailsec_msg_parse(in, sizeof in - 1, NULL, 0, &m,
	    NULL), MAILSEC_OK);
	assert_false(mailsec_msg_converted(m));
	assert_ptr_equal(mailsec_msg_data(m).ptr, in);
	assert_int_equal(mailsec_msg_data(m).len, sizeof in - 1);
	assert_ptr_equal(mailsec_msg_body(m).ptr, in + 28);
	assert_int_equal(mailsec_msg_header_block(m).len, 26);
	assert_str(mailsec_msg_body(m), "body\r\n", "body");
	h = mailsec_msg_field(m, 0);
	/* unchanged value: a view into the input */
	assert_ptr_equal(h->value.ptr, in + 9);
	/* unfolded value: a message-owned copy */
	h = mailsec_msg_field(m, 1);
	assert_true(h->value.ptr < in || h->value.ptr >= in + sizeof in);
	assert_str(h->value, "a b", "unfolded");
	mailsec_msg_free(m);
}

/* LF input is converted into one owned CRLF copy. */
static void
test_convert_lf(void **state)
{
	static const char in[] = "A: 1\nB: 2\n\nline1\nline2";
	struct mailsec_msg *m = NULL;
	struct mailsec_str d;

	(void)state;
	assert_int_equal(mailsec_msg_parse(in, sizeof in - 1, NULL, 0, &m,
	    NULL), MAILSEC_OK);
	assert_true(mailsec_msg_converted(m));
	d = mailsec_msg_data(m);
	assert_true(d.ptr != in);
	assert_str(d, "A: 1\r\nB: 2\r\n\r\nline1\r\nline2", "data");
	assert_str(mailsec_msg_header_block(m), "A: 1\r\nB: 2\r\n", "hdr");
	assert_str(mailsec_msg_body(m), "line1\r\nline2", "body");
	assert_true(mailsec_msg_field(m, 0)->raw.ptr >= d.ptr &&
	    mailsec_msg_field(m, 0)->raw.ptr < d.ptr + d.len);
	mailsec_msg_free(m);
}

static void
test_find_count(void **state)
{
	static const char in[] = "Received: 1\r\nFrom: x\r\nreceived: 2\r\n"
	    "RECEIVED: 3\r\nReceived-SPF: no\r\n\r\n";
	struct mailsec_msg *m = NULL;
	size_t i, n = 0, want[] = { 0, 2, 3 };

	(void)state;
	assert_int_equal(mailsec_msg_parse(in, sizeof in - 1, NULL, 0, &m,
	    NULL), MAILSEC_OK);
	assert_int_equal(mailsec_msg_count(m, "received"), 3);
	assert_int_equal(mailsec_msg_count(m, "RECEIVED"), 3);
	assert_int_equal(mailsec_msg_count(m, "from"), 1);
	assert_int_equal(mailsec_msg_count(m, "Received-SPF"), 1);
	assert_int_equal(mailsec_msg_count(m, "Receive"), 0);
	assert_int_equal(mailsec_msg_count(m, "To"), 0);
	for (i = mailsec_msg_find(m, "Received", 0); i != (size_t)-1;
	    i = mailsec_msg_find(m, "Received", i + 1)) {
		assert_true(n < 3);
		assert_int_equal(i, want[n]);
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(mailsec_msg_find(m, "from", 0), 1);
	assert_int_equal(mailsec_msg_find(m, "from", 2), (size_t)-1);
	assert_int_equal(mailsec_msg_find(m, "from", 1000), (size_t)-1);
	assert_int_equal(mailsec_msg_find(m, "To", 0), (size_t)-1);
	assert_int_equal(mailsec_msg_find(m, NULL, 0), (size_t)-1);
	mailsec_msg_free(m);
}

static void
test_null_safety(void **state)
{
	struct mailsec_msg *m = (struct mailsec_msg *)&m;
	struct mailsec_diag diag;

	(void)state;
	mailsec_msg_free(NULL);
	assert_int_equal(mailsec_msg_field_count(NULL), 0);
	assert_null(mailsec_msg_field(NULL, 0));
	assert_int_equal(mailsec_msg_find(NULL, "a", 0), (size_t)-1);
	assert_int_equal(mailsec_msg_count(NULL, "a"), 0);
	assert_int_equal(mailsec_msg_data(NULL).len, 0);
	assert_int_equal(mailsec_msg_body(NULL).len, 0);
	assert_int_equal(mailsec_msg_header_block(NULL).len, 0);
	assert_false(mailsec_msg_converted(NULL));
	assert_int_equal(mailsec_msg_parse(NULL, 3, NULL, 0, &m, &diag),
	    MAILSEC_EINVAL);
	assert_ptr_equal(m, (struct mailsec_msg *)&m);	/* untouched */
	assert_int_equal(mailsec_msg_parse("A: 1\r\n", 6, NULL, 0, NULL,
	    NULL), MAILSEC_EINVAL);
	m = NULL;
	assert_int_equal(mailsec_msg_parse(NULL, 0, NULL, 0, &m, NULL),
	    MAILSEC_OK);
	assert_int_equal(mailsec_msg_field_count(m), 0);
	assert_int_equal(mailsec_msg_body(m).len, 0);
	mailsec_msg_free(m);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Builds nfields fields of flen bytes each (CRLF form, lf => bare LF),
 * some folded, and a body. */
static char *
build_big(size_t nfields, size_t flen, bool lf, size_t *len)
{
	size_t cap = nfields * flen + 64, o = 0, i, k, vlen;
	char *b = malloc(cap);
	int n;

	assert_non_null(b);
	for (i = 0; i < nfields; i++) {
		n = snprintf(b + o, cap - o, "X-F%04zu: ", i);
		o += (size_t)n;
		vlen = flen - (size_t)n - 2;
		for (k = 0; k < vlen; k++)
			b[o++] = (i % 3 == 0 && k > 0 && k % 100 == 0) ?
			    ' ' : 'v';
		if (i % 3 == 0) {
			/* fold: CRLF goes before a WSP (same byte count) */
			for (k = 1; k * 100 < vlen; k++) {
				b[o - vlen + k * 100 - 1] = '\r';
				b[o - vlen + k * 100] = '\n';
				b[o - vlen + k * 100 + 1] = ' ';
			}
		}
		b[o++] = '\r';
		b[o++] = '\n';
	}
	memcpy(b + o, "\r\nbody\r\n", 8);
	o += 8;
	if (lf) {
		size_t w = 0;

		for (i = 0; i < o; i++)
			if (!(b[i] == '\r' && i + 1 < o && b[i + 1] == '\n'))
				b[w++] = b[i];
		o = w;
	}
	*len = o;
	return b;
}

static void
test_large_header(void **state)
{
	struct mailsec_msg *m = NULL;
	struct mailsec_diag diag;
	size_t len, i;
	char *b;
	double t0, t1;
	int lf;

	(void)state;
	for (lf = 0; lf <= 1; lf++) {
		/* 1000 fields of 1040 bytes: 1,040,000 of the 1 MiB */
		b = build_big(1000, 1040, lf, &len);
		t0 = now_ms();
		assert_int_equal(mailsec_msg_parse(b, len, NULL, 0, &m, &diag),
		    MAILSEC_OK);
		t1 = now_ms();
		print_message("1000 fields, %zu bytes, lf=%d: %.2f ms\n", len,
		    lf, t1 - t0);
		/* milliseconds, not seconds; generous for sanitizers */
		assert_true(t1 - t0 < 500.0);
		assert_int_equal(mailsec_msg_field_count(m), 1000);
		assert_int_equal(mailsec_msg_header_block(m).len, 1040000);
		assert_int_equal(mailsec_msg_converted(m), lf);
		for (i = 0; i < 1000; i++)
			assert_int_equal(mailsec_msg_field(m, i)->raw.len,
			    1040);
		check_invariants(m);
		assert_str(mailsec_msg_body(m), "body\r\n", "big body");
		mailsec_msg_free(m);
		m = NULL;
		free(b);
	}

	/* 1001 fields: over the default max_fields */
	b = build_big(1001, 40, false, &len);
	assert_int_equal(mailsec_msg_parse(b, len, NULL, 0, &m, &diag),
	    MAILSEC_ELIMIT);
	assert_non_null(strstr(diag.text, "max_fields"));
	assert_int_equal(diag.line, 1001);
	free(b);

	/* 1009 fields of 1040 bytes: over the 1 MiB header default */
	b = build_big(1009, 1040, false, &len);
	assert_int_equal(mailsec_msg_parse(b, len, &(struct mailsec_msg_limits)
	    { 2000, 0, 0 }, 0, &m, &diag), MAILSEC_ELIMIT);
	assert_non_null(strstr(diag.text, "max_header_len"));
	assert_non_null(strstr(diag.text, "1048576"));
	free(b);

	/* one field of 65536 bytes passes, 65537 fails (default) */
	b = build_big(1, 65536, false, &len);
	assert_int_equal(mailsec_msg_parse(b, len, NULL, 0, &m, &diag),
	    MAILSEC_OK);
	assert_int_equal(mailsec_msg_field(m, 0)->raw.len, 65536);
	mailsec_msg_free(m);
	m = NULL;
	free(b);
	b = build_big(1, 65537, false, &len);
	assert_int_equal(mailsec_msg_parse(b, len, NULL, 0, &m, &diag),
	    MAILSEC_ELIMIT);
	assert_non_null(strstr(diag.text, "65536"));
	free(b);
}

/* A big body is borrowed, not copied, and scanned in linear time. */
static void
test_large_body(void **state)
{
	size_t n = 8u << 20, i;
	char *b = malloc(n);
	struct mailsec_msg *m = NULL;
	double t0;

	(void)state;
	assert_non_null(b);
	memcpy(b, "A: 1\r\n\r\n", 8);
	for (i = 8; i < n; i++)
		b[i] = (i % 80 == 78) ? '\r' : (i % 80 == 79) ? '\n' : 'x';
	t0 = now_ms();
	assert_int_equal(mailsec_msg_parse(b, n, NULL,
	    MAILSEC_MSG_REQUIRE_CRLF, &m, NULL), MAILSEC_OK);
	print_message("8 MiB body: %.2f ms\n", now_ms() - t0);
	assert_ptr_equal(mailsec_msg_body(m).ptr, b + 8);
	assert_false(mailsec_msg_converted(m));
	mailsec_msg_free(m);
	free(b);
}

/*
 * Unfolding against the rule itself (RFC 5322 2.2.3: remove each CRLF
 * that is followed by WSP, then trim): values with one to five folds at
 * every offset, with SP or HTAB continuations, checked byte for byte.
 */
static void
test_unfold_shapes(void **state)
{
	char in[512], want[512];
	struct mailsec_msg *m;
	const struct mailsec_header *h;
	size_t folds, off, o, w, k, v;

	(void)state;
	for (folds = 1; folds <= 5; folds++) {
		for (off = 1; off < 40; off++) {
			o = (size_t)snprintf(in, sizeof in, "X-V: ");
			w = 0;
			for (k = 0; k <= folds; k++) {
				for (v = 0; v < off + k; v++) {
					in[o++] = (char)('a' + (v + k) % 26);
					want[w++] = in[o - 1];
				}
				if (k < folds) {
					memcpy(in + o, "\r\n", 2);
					o += 2;
					in[o++] = (k % 2) ? '\t' : ' ';
					want[w++] = in[o - 1];
				}
			}
			memcpy(in + o, "\r\n\r\nb\r\n", 7);
			o += 7;
			assert_int_equal(mailsec_msg_parse(in, o, NULL, 0, &m,
			    NULL), MAILSEC_OK);
			h = mailsec_msg_field(m, 0);
			assert_non_null(h);
			if (h->value.len != w ||
			    memcmp(h->value.ptr, want, w) != 0)
				fail_msg("%zu folds at %zu: '%.*s' want '%.*s'",
				    folds, off, (int)h->value.len,
				    h->value.ptr, (int)w, want);
			mailsec_msg_free(m);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_borrow_crlf),
		cmocka_unit_test(test_convert_lf),
		cmocka_unit_test(test_find_count),
		cmocka_unit_test(test_null_safety),
		cmocka_unit_test(test_large_header),
		cmocka_unit_test(test_large_body),
		cmocka_unit_test(test_unfold_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
