/*
 * tests/unit/addr/test_addr.c - address lists (RFC 5322 3.4 and 4.4,
 * RFC 6532) and the DMARC author of a message (RFC 9989 5.3.1, 11.5).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailsec/addr.h>
#include <mailsec/msg.h>

/* Expected address: NULL means "must be NULL". */
struct exp_addr {
	const char *local;
	const char *domain;
	const char *norm;
	const char *display;
	const char *group;
};

#define MAXA 4

struct list_case {
	const char *name;
	const char *in;
	size_t len;		/* 0: strlen(in) */
	mailsec_err err;
	size_t off;		/* diag.offset when err != MAILSEC_OK */
	size_t count;
	struct exp_addr a[MAXA];
};

#define OK(n, in, cnt, ...) \
	{ n, in, 0, MAILSEC_OK, 0, cnt, { __VA_ARGS__ } }
#define BAD(n, in, off) \
	{ n, in, 0, MAILSEC_ESYNTAX, off, 0, { { 0 } } }
#define A(l, d, nd, disp, g) { l, d, nd, disp, g }
#define S(l, d) { l, d, d, NULL, NULL }

static const struct list_case list_cases[] = {
	/* plain addr-spec and name-addr */
	OK("addr-spec", "user@example.org", 1, S("user", "example.org")),
	OK("name-addr", "User <user@example.org>", 1,
	    A("user", "example.org", "example.org", "User", NULL)),
	OK("angle only", "<user@example.org>", 1, S("user", "example.org")),
	OK("angle padded", "   <user@example.org>   ", 1,
	    S("user", "example.org")),
	OK("no space before angle", "\"Ann\"<ann@example.org>", 1,
	    A("ann", "example.org", "example.org", "\"Ann\"", NULL)),
	OK("dotted local and tag", "first.last+tag@sub.example.co.uk", 1,
	    S("first.last+tag", "sub.example.co.uk")),
	OK("atext specials in local", "!#$%&'*+-/=?^_`{|}~@example.org", 1,
	    S("!#$%&'*+-/=?^_`{|}~", "example.org")),
	OK("single-label domain", "root@localhost", 1,
	    S("root", "localhost")),
	/* quoted display names */
	OK("quoted display with comma", "\"Doe, John\" <john.doe@example.org>",
	    1, A("john.doe", "example.org", "example.org", "\"Doe, John\"",
	    NULL)),
	OK("quoted display escaped quotes",
	    "\"John \\\"Johnny\\\" Doe\" <jd@example.org>", 1,
	    A("jd", "example.org", "example.org",
	    "\"John \\\"Johnny\\\" Doe\"", NULL)),
	OK("RFC 5322 A.1.2 semicolon in quotes",
	    "\"Giant; \\\"Big\\\" Box\" <sysservices@example.net>", 1,
	    A("sysservices", "example.net", "example.net",
	    "\"Giant; \\\"Big\\\" Box\"", NULL)),
	OK("RFC 5322 A.1.2 list",
	    "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>", 3,
	    A("mary", "x.test", "x.test", "Mary Smith", NULL),
	    S("jdoe", "example.org"),
	    A("one", "y.test", "y.test", "Who?", NULL)),
	OK("word then quoted word", "Jo\"hn\" <j@x.example>", 1,
	    A("j", "x.example", "x.example", "Jo\"hn\"", NULL)),
	/* quoted local parts */
	OK("quoted local", "\"quoted\"@example.org", 1,
	    S("quoted", "example.org")),
	OK("quoted local with space", "\"a b\"@example.org", 1,
	    S("a b", "example.org")),
	OK("quoted local with escaped quote", "\"a\\\"b\"@example.org", 1,
	    S("a\"b", "example.org")),
	OK("empty quoted local", "\"\"@example.org", 1,
	    S("", "example.org")),
	OK("quoted local with @ and comma", "\"a@b,c\"@example.org", 1,
	    S("a@b,c", "example.org")),
	/* comments */
	OK("comments everywhere",
	    "(comment) user (c2) @ (c3) example.org (c4)", 1,
	    S("user", "example.org")),
	OK("nested comments",
	    "user@example.org (Nested (comment (deep)) here)", 1,
	    S("user", "example.org")),
	OK("comment with escaped paren",
	    "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
	    1, A("pete", "silly.test", "silly.test", "Pete", NULL)),
	OK("comment inside domain",
	    "John Doe <jdoe@machine(comment).  example>", 1,
	    A("jdoe", "machine.example", "machine.example", "John Doe",
	    NULL)),
	OK("control char in comment (obs-ctext)",
	    "a@x.example (\x01\x7f)", 1, S("a", "x.example")),
	OK("16 nested comments",
	    "a@x.example ((((((((((((((((x))))))))))))))))", 1,
	    S("a", "x.example")),
	OK("comment between display words",
	    "John (middle) Doe <jd@example.org>", 1,
	    A("jd", "example.org", "example.org", "John (middle) Doe", NULL)),
	/* groups */
	OK("group with members", "Team: a@x.example, B <b@y.example>;", 2,
	    A("a", "x.example", "x.example", NULL, "Team"),
	    A("b", "y.example", "y.example", "B", "Team")),
	OK("empty group", "undisclosed-recipients:;", 0, { 0 }),
	OK("empty group with space", "Undisclosed recipients: ;", 0, { 0 }),
	OK("obs-group-list", "G: , , ;", 0, { 0 }),
	OK("group with comments",
	    "Friends (c): (x) a@x.example (y) ; (z)", 1,
	    A("a", "x.example", "x.example", NULL, "Friends")),
	OK("group then mailbox", "G: a@x.example;, b@y.example", 2,
	    A("a", "x.example", "x.example", NULL, "G"),
	    S("b", "y.example")),
	OK("RFC 5322 A.1.3 group",
	    "A Group(Some people)\r\n     :Chris Jones "
	    "<c@(Chris's host.)public.example>,\r\n         joe@example.org,"
	    "\r\n  John <jdoe@one.test> (my dear friend); (the end of the "
	    "group)", 3,
	    A("c", "public.example", "public.example", "Chris Jones",
	    "A Group"),
	    A("joe", "example.org", "example.org", NULL, "A Group"),
	    A("jdoe", "one.test", "one.test", "John", "A Group")),
	/* obsolete forms (RFC 5322 4.4) */
	OK("obs-route", "<@a.example,@b.example:user@c.example>", 1,
	    S("user", "c.example")),
	OK("obs-route with empty elements",
	    "<,@a.example,,@b.example:u@c.example>", 1,
	    S("u", "c.example")),
	OK("obs-local-part with CFWS", "john . doe @ example.org", 1,
	    S("john.doe", "example.org")),
	OK("obs-local-part quoted word", "\"john\".doe@example.org", 1,
	    S("john.doe", "example.org")),
	OK("obs-phrase with dot", "John Q. Public <jqp@example.org>", 1,
	    A("jqp", "example.org", "example.org", "John Q. Public", NULL)),
	OK("obs-phrase trailing dot", "Smith J. <js@example.org>", 1,
	    A("js", "example.org", "example.org", "Smith J.", NULL)),
	OK("RFC 5322 A.6.3 obs",
	    "Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example",
	    2, A("mary", "example.net", "example.net", "Mary Smith", NULL),
	    S("jdoe", "test.example")),
	OK("empty list elements", "a@x.example, , b@y.example", 2,
	    S("a", "x.example"), S("b", "y.example")),
	OK("leading and trailing commas", ", a@x.example,", 1,
	    S("a", "x.example")),
	/* domains */
	OK("IDN domain", "user@b\xc3\xbc" "cher.example", 1,
	    A("user", "b\xc3\xbc" "cher.example", "xn--bcher-kva.example",
	    NULL, NULL)),
	OK("IDN Japanese", "user.name@\xe4\xbe\x8b\xe3\x81\x88.jp", 1,
	    A("user.name", "\xe4\xbe\x8b\xe3\x81\x88.jp", "xn--r8jz45g.jp",
	    NULL, NULL)),
	OK("A-label domain", "user@xn--bcher-kva.example", 1,
	    S("user", "xn--bcher-kva.example")),
	OK("uppercase domain", "user@EXAMPLE.ORG", 1,
	    A("user", "EXAMPLE.ORG", "example.org", NULL, NULL)),
	OK("trailing dot domain", "user@example.org.", 1,
	    A("user", "example.org.", "example.org", NULL, NULL)),
	OK("domain-literal IPv4", "user@[192.0.2.1]", 1,
	    A("user", "[192.0.2.1]", NULL, NULL, NULL)),
	OK("domain-literal IPv6", "User <user@[IPv6:2001:db8::1]>", 1,
	    A("user", "[IPv6:2001:db8::1]", NULL, "User", NULL)),
	OK("domain-literal with FWS", "user@[ 192.0.2.1 ]", 1,
	    A("user", "[192.0.2.1]", NULL, NULL, NULL)),
	OK("non-LDH domain", "user@exa!mple.org", 1,
	    A("user", "exa!mple.org", NULL, NULL, NULL)),
	/* RFC 6532 UTF-8 */
	OK("UTF-8 local part", "j\xc3\xb6rg@example.org", 1,
	    S("j\xc3\xb6rg", "example.org")),
	OK("UTF-8 display name",
	    "J\xc3\xb6rg M\xc3\xbcller <jm@example.org>", 1,
	    A("jm", "example.org", "example.org",
	    "J\xc3\xb6rg M\xc3\xbcller", NULL)),
	OK("UTF-8 quoted display",
	    "\"\xe7\x94\xb0\xe4\xb8\xad\" <t@example.jp>", 1,
	    A("t", "example.jp", "example.jp",
	    "\"\xe7\x94\xb0\xe4\xb8\xad\"", NULL)),
	/* RFC 2047 encoded words stay as written */
	OK("encoded-word display", "=?utf-8?q?J=C3=B6rg?= <j@example.org>", 1,
	    A("j", "example.org", "example.org", "=?utf-8?q?J=C3=B6rg?=",
	    NULL)),
	OK("encoded word with dot is not one atom",
	    "=?utf-8?q?Evil=40example.com?= <real@attacker.example>", 1,
	    A("real", "attacker.example", "attacker.example",
	    "=?utf-8?q?Evil=40example.com?=", NULL)),
	OK("encoded word hiding a quoted address",
	    "=?utf-8?q?=22ceo=40bank.example=22?= <x@evil.example>", 1,
	    A("x", "evil.example", "evil.example",
	    "=?utf-8?q?=22ceo=40bank.example=22?=", NULL)),
	OK("base64 encoded word",
	    "=?utf-8?B?IkV2aWwiIDxhQGIuZXhhbXBsZT4=?= <x@y.example>", 1,
	    A("x", "y.example", "y.example",
	    "=?utf-8?B?IkV2aWwiIDxhQGIuZXhhbXBsZT4=?=", NULL)),
	OK("quoted encoded word with specials",
	    "\"=?utf-8?Q?a@b,c?=\" <x@y.example>", 1,
	    A("x", "y.example", "y.example", "\"=?utf-8?Q?a@b,c?=\"", NULL)),
	OK("quoted encoded word with quote",
	    "\"=?utf-8?Q?a\\\"b?=\" <x@y.example>", 1,
	    A("x", "y.example", "y.example", "\"=?utf-8?Q?a\\\"b?=\"", NULL)),
	/* Unquoted: per RFC 5322 the '@' and ',' are specials, so this is
	 * two mailboxes, never "one display name". */
	OK("unquoted encoded word with @ and comma",
	    "=?utf-8?Q?a@b,c?= <x@y.example>", 2,
	    A("=?utf-8?Q?a", "b", "b", NULL, NULL),
	    A("x", "y.example", "y.example", "c?=", NULL)),
	/* display-name spoofing */
	OK("address-shaped display name",
	    "\"ceo@bank.example\" <x@evil.example>", 1,
	    A("x", "evil.example", "evil.example", "\"ceo@bank.example\"",
	    NULL)),
	OK("quoted display with angle address inside",
	    "\"ceo@bank.example <ceo@bank.example>\" <x@evil.example>", 1,
	    A("x", "evil.example", "evil.example",
	    "\"ceo@bank.example <ceo@bank.example>\"", NULL)),
	/* several addresses, folding, whitespace */
	OK("two addresses", "a@good.example, b@evil.example", 2,
	    S("a", "good.example"), S("b", "evil.example")),
	OK("no space after comma", "a@x.example,b@x.example", 2,
	    S("a", "x.example"), S("b", "x.example")),
	OK("long folded value",
	    "Some Very Long Display Name Indeed\r\n <long.address@example.org>"
	    ",\r\n\tother@example.net,\r\n third@example.com", 3,
	    A("long.address", "example.org", "example.org",
	    "Some Very Long Display Name Indeed", NULL),
	    S("other", "example.net"), S("third", "example.com")),
	OK("tabs", "\tUser\t<user@example.org>\t", 1,
	    A("user", "example.org", "example.org", "User", NULL)),
	OK("folding inside quoted string", "\"a\r\n b\" <ab@example.org>", 1,
	    A("ab", "example.org", "example.org", "\"a\r\n b\"", NULL)),

	/* refused, with the offset of the problem */
	BAD("unquoted comma in display", "Doe, John <j@x.example>", 3),
	BAD("missing closing angle", "<user@example.org", 17),
	BAD("missing closing angle before next", "A <a@x.example, b@y.example",
	    14),
	BAD("empty angle address", "<>", 0),
	BAD("no domain", "user", 4),
	BAD("trailing garbage", "user@example.org junk", 17),
	BAD("nothing after @", "user@", 5),
	BAD("no local part", "@example.org", 0),
	BAD("double dot local", "john..doe@example.org", 0),
	BAD("trailing dot local", "john.@example.org", 0),
	BAD("two @", "a@b@c", 3),
	BAD("empty input", "", 0),
	BAD("only commas", " , ,", 4),
	BAD("unclosed comment", "(unclosed comment user@example.org", 34),
	BAD("unclosed quoted string", "\"unclosed <a@b.example>", 23),
	BAD("comments nested 17 deep",
	    "a@x.example (((((((((((((((((x)))))))))))))))))", 28),
	BAD("group without semicolon", "Group: a@x.example", 18),
	BAD("nested group", "G1: G2: a@x.example;;", 6),
	BAD("space in domain", "user@exa mple.org", 9),
	BAD("unquoted address-shaped display",
	    "ceo@bank.example <x@evil.example>", 17),
	BAD("unclosed domain literal", "user@[192.0.2.1", 15),
	BAD("invalid UTF-8", "\x80user@example.org", 0),
	BAD("overlong UTF-8", "\xc0\xafuser@x.example", 0),
	BAD("UTF-16 surrogate in UTF-8", "\xed\xa0\x80@x.example", 0),
	BAD("truncated UTF-8 in domain", "a@b\xc3", 3),
	BAD("empty label", "user@example..org", 13),
	BAD("semicolon outside group", "a@x.example; b@y.example", 11),
	BAD("double closing angle", "<a@b.example>>", 13),
	BAD("stray close paren", "a@b.example)", 11),
	BAD("display starting with dot", ".John <j@x.example>", 0),
	BAD("adjacent quoted words in local", "\"a\"\"b\"@x.example", 0),
	BAD("backslash outside quotes", "a\\b@x.example", 1),
	BAD("control char in quoted string", "\"a\x01" "b\"@x.example", 2),
	BAD("angle then text", "<a@b.example> Display", 14),
	BAD("encoded word with < unquoted",
	    "=?utf-8?Q?a<b?= <x@y.example>", 16),
	BAD("encoded word with quote unquoted",
	    "=?utf-8?Q?a\"b?= <x@y.example>", 29),
	BAD("bare LF", "a@x.example,\nb@y.example", 12),
	BAD("route without colon", "<@a.example user@c.example>", 12),
	BAD("group without name", ": a@x.example;", 0),
	BAD("empty local in angle", "<@x.example>", 11),
};

static void
check_str(const char *what, const char *caseName, const char *want,
    const char *got)
{
	if (want == NULL && got == NULL)
		return;
	if (want == NULL || got == NULL || strcmp(want, got) != 0) {
		print_error("%s: %s: want %s%s%s, got %s%s%s\n", caseName, what,
		    want ? "'" : "", want ? want : "NULL", want ? "'" : "",
		    got ? "'" : "", got ? got : "NULL", got ? "'" : "");
		fail();
	}
}

static void
test_list_table(void **state)
{
	const struct list_case *c;
	struct mailsec_addr_list *l;
	struct mailsec_diag diag;
	mailsec_err err;
	size_t i, j, len;

	(void)state;
	assert_true(sizeof list_cases / sizeof list_cases[0] >= 60);
	for (i = 0; i < sizeof list_cases / sizeof list_cases[0]; i++) {
		c = &list_cases[i];
		len = c->len ? c->len : strlen(c->in);
		memset(&diag, 0, sizeof diag);
		l = NULL;
		err = mailsec_addr_parse_list(c->in, len, &l, &diag);
		if (err != c->err) {
			print_error("%s: want %s, got %s (%s at %zu)\n",
			    c->name, mailsec_errname(c->err),
			    mailsec_errname(err), diag.text, diag.offset);
			fail();
		}
		if (err != MAILSEC_OK) {
			assert_null(l);
			assert_int_equal(diag.set, 1);
			assert_true(diag.text[0] != '\0');
			if (diag.offset != c->off) {
				print_error("%s: diag offset want %zu, got %zu "
				    "(%s)\n", c->name, c->off, diag.offset,
				    diag.text);
				fail();
			}
			continue;
		}
		assert_non_null(l);
		if (l->count != c->count) {
			print_error("%s: want %zu addresses, got %zu\n",
			    c->name, c->count, l->count);
			fail();
		}
		for (j = 0; j < l->count && j < MAXA; j++) {
			check_str("local", c->name, c->a[j].local,
			    l->addrs[j].local);
			check_str("domain", c->name, c->a[j].domain,
			    l->addrs[j].domain);
			check_str("domain_norm", c->name, c->a[j].norm,
			    l->addrs[j].domain_norm);
			check_str("display", c->name, c->a[j].display,
			    l->addrs[j].display);
			check_str("group", c->name, c->a[j].group,
			    l->addrs[j].group);
		}
		mailsec_addr_list_free(l);
	}
}

/* NUL is a byte like any other: refused where it appears. */
static void
test_list_nul(void **state)
{
	static const char in[] = "us\0er@example.org";
	struct mailsec_addr_list *l = NULL;
	struct mailsec_diag diag = { 0 };

	(void)state;
	assert_int_equal(mailsec_addr_parse_list(in, sizeof in - 1, &l, &diag),
	    MAILSEC_ESYNTAX);
	assert_null(l);
	assert_int_equal(diag.offset, 2);
	/* The length is honoured: bytes past len are not read. */
	assert_int_equal(mailsec_addr_parse_list("a@x.example junk", 11, &l,
	    &diag), MAILSEC_OK);
	assert_int_equal(l->count, 1);
	assert_string_equal(l->addrs[0].domain, "x.example");
	mailsec_addr_list_free(l);
}

static void
test_list_diag_text(void **state)
{
	struct mailsec_addr_list *l = NULL;
	struct mailsec_diag diag = { 0 };

	(void)state;
	assert_int_equal(mailsec_addr_parse_list("Ann <ann@example.org", 20,
	    &l, &diag), MAILSEC_ESYNTAX);
	assert_int_equal(diag.offset, 20);
	assert_non_null(strstr(diag.text,
	    "expected '>' to close the angle address opened at offset 4"));
	assert_int_equal(mailsec_addr_parse_list("Doe, John <j@x.example>", 23,
	    &l, &diag), MAILSEC_ESYNTAX);
	assert_non_null(strstr(diag.text, "quote"));
	assert_int_equal(mailsec_addr_parse_list("a@x.example ((((((((((((((("
	    "((x)))))))))))))))))", 47, &l, &diag), MAILSEC_ESYNTAX);
	assert_non_null(strstr(diag.text, "nested"));
	/* NULL diag is allowed. */
	assert_int_equal(mailsec_addr_parse_list("<>", 2, &l, NULL),
	    MAILSEC_ESYNTAX);
	assert_int_equal(mailsec_addr_parse_list("a@x.example", 11, NULL,
	    NULL), MAILSEC_EINVAL);
}

/* MAILSEC_ADDR_MAX addresses parse; one more is ELIMIT, not truncation. */
static void
test_list_limit(void **state)
{
	struct mailsec_addr_list *l = NULL;
	struct mailsec_diag diag = { 0 };
	size_t i, n = MAILSEC_ADDR_MAX + 1, len = 0;
	char *buf;

	(void)state;
	buf = malloc(n * 8 + 1);
	assert_non_null(buf);
	for (i = 0; i < MAILSEC_ADDR_MAX; i++) {
		memcpy(buf + len, "a@b.ex, ", 8);
		len += 8;
	}
	assert_int_equal(mailsec_addr_parse_list(buf, len, &l, &diag),
	    MAILSEC_OK);
	assert_int_equal(l->count, MAILSEC_ADDR_MAX);
	mailsec_addr_list_free(l);
	l = NULL;
	memcpy(buf + len, "z@b.ex", 6);
	len += 6;
	assert_int_equal(mailsec_addr_parse_list(buf, len, &l, &diag),
	    MAILSEC_ELIMIT);
	assert_null(l);
	assert_int_equal(diag.offset, (size_t)MAILSEC_ADDR_MAX * 8);
	free(buf);

	/* Each member copies the group name: it is bounded (998 bytes). */
	buf = malloc(1000 + 16);
	assert_non_null(buf);
	memset(buf, 'g', 998);
	memcpy(buf + 998, ": a@b.ex;", 9);
	assert_int_equal(mailsec_addr_parse_list(buf, 998 + 9, &l, &diag),
	    MAILSEC_OK);
	assert_int_equal(l->count, 1);
	assert_int_equal(strlen(l->addrs[0].group), 998);
	mailsec_addr_list_free(l);
	l = NULL;
	memset(buf, 'g', 999);
	memcpy(buf + 999, ": a@b.ex;", 9);
	assert_int_equal(mailsec_addr_parse_list(buf, 999 + 9, &l, &diag),
	    MAILSEC_ELIMIT);
	assert_null(l);
	assert_int_equal(diag.offset, 0);
	free(buf);
}

/* ---- author ------------------------------------------------------------- */

static struct mailsec_author *
author_of(const char *msgtext)
{
	struct mailsec_msg *m = NULL;
	struct mailsec_author *au = NULL;
	struct mailsec_diag diag = { 0 };

	if (mailsec_msg_parse(msgtext, strlen(msgtext), NULL, 0, &m,
	    &diag) != MAILSEC_OK) {
		print_error("message did not parse: %s\n", diag.text);
		fail();
	}
	assert_int_equal(mailsec_msg_author(m, &au), MAILSEC_OK);
	assert_non_null(au);
	assert_non_null(au->addrs);
	mailsec_msg_free(m);	/* the author owns copies */
	return au;
}

struct author_case {
	const char *name;
	const char *msg;
	enum mailsec_author_status status;
	size_t from_fields;
	size_t naddrs;
	size_t ndomains;
	const char *domains[3];
	bool diag;		/* diag.set expected */
};

static const struct author_case author_cases[] = {
	{ "ok", "From: Ann <ann@Example.ORG>\r\nTo: b@x.example\r\n\r\nhi\r\n",
	    MAILSEC_AUTHOR_OK, 1, 1, 1, { "example.org" }, false },
	{ "ok IDN",
	    "From: \"J\xc3\xb6rg\" <j@B\xc3\xbc" "cher.example>\r\n\r\n",
	    MAILSEC_AUTHOR_OK, 1, 1, 1, { "xn--bcher-kva.example" }, false },
	{ "ok LF and case of field name", "FROM: a@x.example\n\nbody\n",
	    MAILSEC_AUTHOR_OK, 1, 1, 1, { "x.example" }, false },
	{ "ok folded", "From: Ann\r\n <ann@x.example>\r\n\r\n",
	    MAILSEC_AUTHOR_OK, 1, 1, 1, { "x.example" }, false },
	{ "ok group of one", "From: G: a@x.example;\r\n\r\n",
	    MAILSEC_AUTHOR_OK, 1, 1, 1, { "x.example" }, false },
	{ "no From", "Subject: x\r\nTo: a@x.example\r\n\r\nbody\r\n",
	    MAILSEC_AUTHOR_NO_FROM, 0, 0, 0, { NULL }, false },
	{ "no From, Sender present", "Sender: a@x.example\r\n\r\n",
	    MAILSEC_AUTHOR_NO_FROM, 0, 0, 0, { NULL }, false },
	{ "two From fields",
	    "From: a@x.example\r\nSubject: s\r\nFrom: b@y.example\r\n\r\n",
	    MAILSEC_AUTHOR_MULTIPLE_FROM, 2, 2, 2,
	    { "x.example", "y.example" }, false },
	{ "two From fields, same domain",
	    "From: a@x.example\r\nFrom: b@X.example\r\n\r\n",
	    MAILSEC_AUTHOR_MULTIPLE_FROM, 2, 2, 1, { "x.example" }, false },
	{ "two From fields, one bad",
	    "From: a@x.example\r\nFrom: Doe, John <j@y.example>\r\n\r\n",
	    MAILSEC_AUTHOR_MULTIPLE_FROM, 2, 1, 1, { "x.example" }, true },
	{ "CVE-2019-16378 shape",
	    "From: a@good.example, b@evil.example\r\n\r\n",
	    MAILSEC_AUTHOR_MULTIPLE_ADDRS, 1, 2, 2,
	    { "good.example", "evil.example" }, false },
	{ "two addresses, same domain",
	    "From: a@x.example, B <b@X.EXAMPLE>\r\n\r\n",
	    MAILSEC_AUTHOR_MULTIPLE_ADDRS, 1, 2, 1, { "x.example" }, false },
	{ "three addresses in a group",
	    "From: G: a@x.example, b@y.example;, c@x.example\r\n\r\n",
	    MAILSEC_AUTHOR_MULTIPLE_ADDRS, 1, 3, 2,
	    { "x.example", "y.example" }, false },
	{ "syntax error", "From: Doe, John <j@x.example>\r\n\r\n",
	    MAILSEC_AUTHOR_UNPARSEABLE, 1, 0, 0, { NULL }, true },
	{ "empty group", "From: undisclosed-recipients:;\r\n\r\n",
	    MAILSEC_AUTHOR_UNPARSEABLE, 1, 0, 0, { NULL }, true },
	{ "no domain", "From: user\r\n\r\n",
	    MAILSEC_AUTHOR_UNPARSEABLE, 1, 0, 0, { NULL }, true },
	{ "empty From", "From:\r\n\r\n",
	    MAILSEC_AUTHOR_UNPARSEABLE, 1, 0, 0, { NULL }, true },
	{ "literal only", "From: user@[192.0.2.1]\r\n\r\n",
	    MAILSEC_AUTHOR_UNPARSEABLE, 1, 1, 0, { NULL }, true },
	{ "good and literal", "From: a@x.example, b@[192.0.2.1]\r\n\r\n",
	    MAILSEC_AUTHOR_UNPARSEABLE, 1, 2, 1, { "x.example" }, true },
	{ "non-LDH domain", "From: a@exa!mple.org\r\n\r\n",
	    MAILSEC_AUTHOR_UNPARSEABLE, 1, 1, 0, { NULL }, true },
	{ "spoofed display", "From: \"ceo@bank.example\" <x@evil.example>"
	    "\r\n\r\n", MAILSEC_AUTHOR_OK, 1, 1, 1, { "evil.example" }, false },
};

static void
test_author_table(void **state)
{
	const struct author_case *c;
	struct mailsec_author *au;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof author_cases / sizeof author_cases[0]; i++) {
		c = &author_cases[i];
		au = author_of(c->msg);
		if (au->status != c->status || au->from_fields !=
		    c->from_fields || au->addrs->count != c->naddrs ||
		    au->ndomains != c->ndomains || (au->diag.set != 0) !=
		    c->diag) {
			print_error("%s: got status %s fields %zu addrs %zu "
			    "domains %zu diag %d (%s)\n", c->name,
			    mailsec_author_status_name(au->status),
			    au->from_fields, au->addrs->count, au->ndomains,
			    au->diag.set, au->diag.text);
			fail();
		}
		for (j = 0; j < c->ndomains; j++)
			assert_string_equal(au->domains[j], c->domains[j]);
		if (c->diag)
			assert_true(au->diag.text[0] != '\0');
		mailsec_author_free(au);
	}
}

/* RFC 9989 11.5 / CVE-2019-16378: never OK with only the first domain. */
static void
test_author_cve_2019_16378(void **state)
{
	struct mailsec_author *au;

	(void)state;
	au = author_of("From: a@good.example, b@evil.example\r\n"
	    "Subject: x\r\n\r\n");
	assert_int_not_equal(au->status, MAILSEC_AUTHOR_OK);
	assert_int_equal(au->ndomains, 2);
	assert_string_equal(au->domains[0], "good.example");
	assert_string_equal(au->domains[1], "evil.example");
	assert_string_equal(au->addrs->addrs[1].domain_norm, "evil.example");
	mailsec_author_free(au);
}

static void
test_author_diag(void **state)
{
	struct mailsec_author *au;

	(void)state;
	au = author_of("From: <user@example.org\r\n\r\n");
	assert_int_equal(au->status, MAILSEC_AUTHOR_UNPARSEABLE);
	assert_int_equal(au->diag.offset, 17);
	assert_non_null(strstr(au->diag.text, "From field 1"));
	assert_non_null(strstr(au->diag.text, "expected '>'"));
	mailsec_author_free(au);
	au = author_of("From: a@x.example, b@[192.0.2.1]\r\n\r\n");
	assert_non_null(strstr(au->diag.text, "address 2"));
	mailsec_author_free(au);
}

static void
test_status_names(void **state)
{
	(void)state;
	assert_string_equal(mailsec_author_status_name(MAILSEC_AUTHOR_OK),
	    "ok");
	assert_string_equal(mailsec_author_status_name(
	    MAILSEC_AUTHOR_NO_FROM), "no_from");
	assert_string_equal(mailsec_author_status_name(
	    MAILSEC_AUTHOR_MULTIPLE_FROM), "multiple_from");
	assert_string_equal(mailsec_author_status_name(
	    MAILSEC_AUTHOR_MULTIPLE_ADDRS), "multiple_addresses");
	assert_string_equal(mailsec_author_status_name(
	    MAILSEC_AUTHOR_UNPARSEABLE), "unparseable");
	assert_string_equal(mailsec_author_status_name(
	    (enum mailsec_author_status)42), "unknown");
}

static void
test_free_null(void **state)
{
	(void)state;
	mailsec_addr_list_free(NULL);
	mailsec_author_free(NULL);
	assert_int_equal(mailsec_msg_author(NULL, NULL), MAILSEC_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_table),
		cmocka_unit_test(test_list_nul),
		cmocka_unit_test(test_list_diag_text),
		cmocka_unit_test(test_list_limit),
		cmocka_unit_test(test_author_table),
		cmocka_unit_test(test_author_cve_2019_16378),
		cmocka_unit_test(test_author_diag),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
