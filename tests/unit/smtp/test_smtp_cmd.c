/*
 * tests/unit/smtp/test_smtp_cmd.c - the command parser: verbs (RFC 5321
 * 4.1.1), paths (4.1.2, 4.1.3, 4.5.3.1, C), ESMTP parameters (RFC 1870,
 * 1652, 3030, 3461, 6531, 4954) and xtext (RFC 3461 4).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailsec/smtp.h>

#define ALL_CAPS (MAILSEC_SMTP_CAP_PIPELINING | MAILSEC_SMTP_CAP_8BITMIME | \
	MAILSEC_SMTP_CAP_SMTPUTF8 | MAILSEC_SMTP_CAP_SIZE | \
	MAILSEC_SMTP_CAP_ENHANCED | MAILSEC_SMTP_CAP_CHUNKING | \
	MAILSEC_SMTP_CAP_BINARYMIME | MAILSEC_SMTP_CAP_DSN | \
	MAILSEC_SMTP_CAP_STARTTLS | MAILSEC_SMTP_CAP_AUTH)

/* Runs the parser on a heap copy of exactly len bytes (ASan sees any
 * read past the end). */
static mailsec_err
parse(const char *line, size_t len, const struct mailsec_smtp_parse_opts *o,
    struct mailsec_smtp_cmd *cmd, struct mailsec_diag *diag)
{
	char *copy = malloc(len + 1);
	mailsec_err err;

	assert_non_null(copy);
	memcpy(copy, line, len);
	err = mailsec_smtp_cmd_parse(copy, len, o, cmd, diag);
	/* views point into the line: check, then copy out what we use */
	if (cmd->verb_text.len > 0)
		assert_true(cmd->verb_text.ptr == copy);
	assert_true(cmd->arg.ptr >= copy && cmd->arg.ptr + cmd->arg.len <=
	    copy + len);
	cmd->verb_text.ptr = line + (cmd->verb_text.ptr - copy);
	cmd->arg.ptr = line + (cmd->arg.ptr - copy);
	if (cmd->auth_has_ir)
		cmd->auth_ir.ptr = line + (cmd->auth_ir.ptr - copy);
	if (cmd->auth_mech_text.ptr != NULL)
		cmd->auth_mech_text.ptr = line +
		    (cmd->auth_mech_text.ptr - copy);
	free(copy);
	return err;
}

/* ---- outcome table ----------------------------------------------------- */

struct outcome {
	const char *line;
	size_t len;		/* 0: strlen */
	unsigned caps;
	uint64_t size_max;
	bool smtputf8;
	mailsec_err err;
	enum mailsec_smtp_verb verb;
	unsigned code;		/* reply code when err or UNKNOWN, else 0 */
	const char *status;
};

#define OKC(l, c, v) { l, 0, c, 0, false, MAILSEC_OK, MAILSEC_SMTP_##v, 0, "" }
#define BAD(l, c, e, v, code, st) \
	{ l, 0, c, 0, false, MAILSEC_##e, MAILSEC_SMTP_##v, code, st }

static const struct outcome outcomes[] = {
	/* verbs, any case, arguments */
	OKC("EHLO client.example.org", 0, EHLO),
	OKC("ehlo client.example.org", 0, EHLO),
	OKC("HELO [192.0.2.1]", 0, HELO),
	OKC("EHLO [IPv6:2001:db8::1]", 0, EHLO),
	OKC("EHLO localhost ", 0, EHLO),	/* trailing WSP trimmed */
	BAD("EHLO", 0, ESYNTAX, EHLO, 501, "5.5.4"),
	BAD("EHLO bad_host.example", 0, ESYNTAX, EHLO, 501, "5.5.4"),
	BAD("HELO a b", 0, ESYNTAX, HELO, 501, "5.5.4"),
	BAD("EHLO  two.spaces", 0, ESYNTAX, EHLO, 501, "5.5.4"),
	BAD("EHLO caf\xc3\xa9.example", 0, ESYNTAX, EHLO, 500, "5.5.2"),
	BAD("EHLO [300.1.1.1]", 0, ESYNTAX, EHLO, 501, "5.5.4"),
	OKC("DATA", 0, DATA),
	OKC("data", 0, DATA),
	BAD("DATA now", 0, ESYNTAX, DATA, 501, "5.5.4"),
	OKC("RSET", 0, RSET),
	BAD("RSET x", 0, ESYNTAX, RSET, 501, "5.5.4"),
	OKC("QUIT", 0, QUIT),
	OKC("NOOP", 0, NOOP),
	OKC("NOOP anything at all", 0, NOOP),
	OKC("HELP", 0, HELP),
	OKC("HELP MAIL", 0, HELP),
	OKC("VRFY postmaster", 0, VRFY),
	BAD("VRFY", 0, ESYNTAX, VRFY, 501, "5.5.4"),
	OKC("EXPN list", 0, EXPN),
	OKC("STARTTLS", 0, STARTTLS),
	BAD("STARTTLS now", 0, ESYNTAX, STARTTLS, 501, "5.5.4"),
	BAD("FOO bar", 0, OK, UNKNOWN, 500, "5.5.2"),
	BAD("", 0, OK, UNKNOWN, 500, "5.5.2"),
	BAD("MAILFROM:<a@b>", 0, OK, UNKNOWN, 500, "5.5.2"),
	{ "NOOP\0x", 6, 0, 0, false, MAILSEC_ESYNTAX, MAILSEC_SMTP_UNKNOWN,
	    500, "5.5.2" },
	BAD("NOOP \x01", 0, ESYNTAX, UNKNOWN, 500, "5.5.2"),
	/* BDAT */
	OKC("BDAT 1000", 0, BDAT),
	OKC("BDAT 0 LAST", 0, BDAT),
	OKC("bdat 10 last", 0, BDAT),
	BAD("BDAT", 0, ESYNTAX, BDAT, 501, "5.5.4"),
	BAD("BDAT x", 0, ESYNTAX, BDAT, 501, "5.5.4"),
	BAD("BDAT -1", 0, ESYNTAX, BDAT, 501, "5.5.4"),
	BAD("BDAT 10 FIRST", 0, ESYNTAX, BDAT, 501, "5.5.4"),
	BAD("BDAT 10  LAST", 0, ESYNTAX, BDAT, 501, "5.5.4"),
	BAD("BDAT 99999999999999999999999", 0, ELIMIT, BDAT, 552, "5.3.4"),
	/* AUTH */
	OKC("AUTH PLAIN", 0, AUTH),
	OKC("AUTH login", 0, AUTH),
	OKC("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=", 0, AUTH),
	OKC("AUTH PLAIN =", 0, AUTH),
	BAD("AUTH", 0, ESYNTAX, AUTH, 501, "5.5.4"),
	BAD("AUTH CRAM-MD5", 0, ESYNTAX, AUTH, 504, "5.5.4"),
	BAD("AUTH PLAIN a b", 0, ESYNTAX, AUTH, 501, "5.5.4"),
	BAD("AUTH PL@IN", 0, ESYNTAX, AUTH, 501, "5.5.4"),
	/* MAIL and RCPT: paths */
	OKC("MAIL FROM:<>", 0, MAIL),
	OKC("MAIL FROM:<user@example.org>", 0, MAIL),
	OKC("mail from:<user@example.org>", 0, MAIL),
	OKC("MAIL FROM: <user@example.org>", 0, MAIL),
	OKC("RCPT TO:<Postmaster>", 0, RCPT),
	BAD("MAIL FROM:user@example.org", 0, ESYNTAX, MAIL, 553, "5.1.7"),
	BAD("MAIL FROM:<user@example.org", 0, ESYNTAX, MAIL, 553, "5.1.7"),
	BAD("MAIL FROM:<Postmaster>", 0, ESYNTAX, MAIL, 553, "5.1.7"),
	BAD("MAIL TO:<user@example.org>", 0, ESYNTAX, MAIL, 501, "5.5.4"),
	BAD("MAIL", 0, ESYNTAX, MAIL, 501, "5.5.4"),
	BAD("RCPT TO:<>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO <a@example.org>", 0, ESYNTAX, RCPT, 501, "5.5.4"),
	BAD("RCPT TO:<user>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<a..b@example.org>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<.a@example.org>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<a.@example.org>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<a b@example.org>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<a@-example.org>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<a@example-.org>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<a@exa_mple.org>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<a@example.org.>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<a@example..org>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<a@>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<@example.org>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<a@[256.1.1.1]>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<a@[1.2.3]>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<a@[1.2.3.4.5]>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<a@[IPv6:2001:db8::g]>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<a@[IPv6:1:2:3:4:5:6:7:8:9]>", 0, ESYNTAX, RCPT, 553,
	    "5.1.3"),
	BAD("RCPT TO:<a@[IPv6:1::2::3]>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<a@[tag:]>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<a@[]>", 0, ESYNTAX, RCPT, 553, "5.1.3"),
	BAD("RCPT TO:<\"unterminated@example.org>", 0, ESYNTAX, RCPT, 553,
	    "5.1.3"),
	BAD("RCPT TO:<\"a\tb\"@example.org>", 0, ESYNTAX, RCPT, 553,
	    "5.1.3"),
	BAD("RCPT TO:<@a.example:b@c.example>x", 0, ESYNTAX, RCPT, 501,
	    "5.5.4"),
	BAD("RCPT TO:<@a.example;b@c.example>", 0, ESYNTAX, RCPT, 553,
	    "5.1.3"),
	BAD("RCPT TO:<a@b.example>SIZE=1", ALL_CAPS, ESYNTAX, RCPT, 501,
	    "5.5.4"),
	/* UTF-8 (RFC 6531) */
	BAD("RCPT TO:<\xce\xb4@example.org>", ALL_CAPS, ESYNTAX, RCPT, 553,
	    "5.6.7"),
	BAD("MAIL FROM:<\xce\xb4@example.org>", ALL_CAPS, ESYNTAX, MAIL, 550,
	    "5.6.7"),
	BAD("MAIL FROM:<\xce\xb4@example.org> SMTPUTF8",
	    ALL_CAPS & ~MAILSEC_SMTP_CAP_SMTPUTF8, EUNSUPPORTED, MAIL, 555,
	    "5.5.4"),
	BAD("MAIL FROM:<\xc3\x28@example.org> SMTPUTF8", ALL_CAPS, ESYNTAX,
	    MAIL, 553, "5.1.7"),
	BAD("MAIL FROM:<a@example.org> SMTPUTF8=yes", ALL_CAPS, ESYNTAX,
	    MAIL, 501, "5.5.4"),
	/* parameters */
	OKC("MAIL FROM:<a@b.example> SIZE=100 BODY=8BITMIME", ALL_CAPS, MAIL),
	OKC("MAIL FROM:<a@b.example>  SIZE=100", ALL_CAPS, MAIL),
	OKC("MAIL FROM:<a@b.example> size=100 body=binarymime", ALL_CAPS,
	    MAIL),
	BAD("MAIL FROM:<a@b.example> FOO=bar", ALL_CAPS, EUNSUPPORTED, MAIL,
	    555, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> FOO", ALL_CAPS, EUNSUPPORTED, MAIL,
	    555, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> SIZE=100", 0, EUNSUPPORTED, MAIL, 555,
	    "5.5.4"),
	BAD("MAIL FROM:<a@b.example> SIZE=1 SIZE=2", ALL_CAPS, ESYNTAX, MAIL,
	    501, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> SIZE=abc", ALL_CAPS, ESYNTAX, MAIL,
	    501, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> SIZE=", ALL_CAPS, ESYNTAX, MAIL,
	    501, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> SIZE", ALL_CAPS, ESYNTAX, MAIL,
	    501, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> SIZE=123456789012345678901", ALL_CAPS,
	    ESYNTAX, MAIL, 501, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> SIZE=1=2", ALL_CAPS, ESYNTAX, MAIL,
	    501, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> -SIZE=1", ALL_CAPS, ESYNTAX, MAIL,
	    501, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> BODY=9BIT", ALL_CAPS, ESYNTAX, MAIL,
	    501, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> BODY=BINARYMIME",
	    MAILSEC_SMTP_CAP_8BITMIME, EUNSUPPORTED, MAIL, 555, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> BODY=8BITMIME",
	    MAILSEC_SMTP_CAP_BINARYMIME, EUNSUPPORTED, MAIL, 555, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> NOTIFY=NEVER", ALL_CAPS, EUNSUPPORTED,
	    MAIL, 555, "5.5.4"),
	BAD("RCPT TO:<a@b.example> SIZE=1", ALL_CAPS, EUNSUPPORTED, RCPT,
	    555, "5.5.4"),
	BAD("RCPT TO:<a@b.example> NOTIFY=NEVER", 0, EUNSUPPORTED, RCPT,
	    555, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> RET=BOTH", ALL_CAPS, ESYNTAX, MAIL,
	    501, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> RET=FULL RET=HDRS", ALL_CAPS, ESYNTAX,
	    MAIL, 501, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> ENVID=a+2bb", ALL_CAPS, ESYNTAX, MAIL,
	    501, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> ENVID=a+2", ALL_CAPS, ESYNTAX, MAIL,
	    501, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> ENVID=a+0Ab", ALL_CAPS, ESYNTAX, MAIL,
	    501, "5.5.4"),
	BAD("RCPT TO:<a@b.example> NOTIFY=NEVER,SUCCESS", ALL_CAPS, ESYNTAX,
	    RCPT, 501, "5.5.4"),
	BAD("RCPT TO:<a@b.example> NOTIFY=SUCCESS,,FAILURE", ALL_CAPS,
	    ESYNTAX, RCPT, 501, "5.5.4"),
	BAD("RCPT TO:<a@b.example> NOTIFY=SUCCESS,SUCCESS", ALL_CAPS,
	    ESYNTAX, RCPT, 501, "5.5.4"),
	BAD("RCPT TO:<a@b.example> NOTIFY=SOMETIMES", ALL_CAPS, ESYNTAX,
	    RCPT, 501, "5.5.4"),
	BAD("RCPT TO:<a@b.example> ORCPT=rfc822", ALL_CAPS, ESYNTAX, RCPT,
	    501, "5.5.4"),
	BAD("RCPT TO:<a@b.example> ORCPT=;a@b", ALL_CAPS, ESYNTAX, RCPT,
	    501, "5.5.4"),
	BAD("RCPT TO:<a@b.example> ORCPT=rfc822;", ALL_CAPS, ESYNTAX, RCPT,
	    501, "5.5.4"),
	BAD("RCPT TO:<a@b.example> ORCPT=rfc822;a@b ORCPT=rfc822;a@b",
	    ALL_CAPS, ESYNTAX, RCPT, 501, "5.5.4"),
	BAD("MAIL FROM:<a@b.example> AUTH=x+zz", ALL_CAPS, ESYNTAX, MAIL,
	    501, "5.5.4"),
};

static void
test_cmd_outcomes(void **state)
{
	struct mailsec_smtp_parse_opts o;
	struct mailsec_smtp_cmd cmd;
	struct mailsec_diag diag;
	mailsec_err err;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof outcomes / sizeof outcomes[0]; i++) {
		const struct outcome *t = &outcomes[i];

		len = t->len > 0 ? t->len : strlen(t->line);
		memset(&o, 0, sizeof o);
		o.caps = t->caps;
		o.size_max = t->size_max;
		o.smtputf8 = t->smtputf8;
		memset(&diag, 0, sizeof diag);
		print_message("case %zu: %s\n", i, t->line);
		err = parse(t->line, len, &o, &cmd, &diag);
		assert_int_equal(err, t->err);
		assert_int_equal(cmd.verb, t->verb);
		if (t->code != 0) {
			assert_int_equal(cmd.reply.code, t->code);
			assert_string_equal(cmd.reply.status, t->status);
			assert_true(cmd.reply.text[0] != '\0');
			if (err != MAILSEC_OK) {
				assert_true(diag.set);
				assert_true(diag.offset <= len);
			}
		} else {
			assert_int_equal(cmd.reply.code, 0);
			assert_false(diag.set);
		}
	}
}

/* ---- paths ------------------------------------------------------------- */

struct path_case {
	const char *line;
	bool smtputf8;
	const char *local;
	const char *domain;
	enum mailsec_smtp_host host;
	bool null, postmaster, quoted, utf8;
};

static const struct path_case paths[] = {
	{ "MAIL FROM:<>", false, "", "", MAILSEC_SMTP_HOST_NONE, true,
	    false, false, false },
	{ "MAIL FROM:<user@example.org>", false, "user", "example.org",
	    MAILSEC_SMTP_HOST_DOMAIN, false, false, false, false },
	/* RFC 5321 3.6.1 / C: source route dropped */
	{ "RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>", false, "userc",
	    "d.bar.org", MAILSEC_SMTP_HOST_DOMAIN, false, false, false,
	    false },
	{ "RCPT TO:<@hosta.int:userc@d.bar.org>", false, "userc",
	    "d.bar.org", MAILSEC_SMTP_HOST_DOMAIN, false, false, false,
	    false },
	{ "RCPT TO:<Postmaster>", false, "Postmaster", "",
	    MAILSEC_SMTP_HOST_NONE, false, true, false, false },
	{ "RCPT TO:<postMASTER>", false, "postMASTER", "",
	    MAILSEC_SMTP_HOST_NONE, false, true, false, false },
	{ "RCPT TO:<postmaster@example.org>", false, "postmaster",
	    "example.org", MAILSEC_SMTP_HOST_DOMAIN, false, false, false,
	    false },
	/* RFC 5321 4.1.2 quoted local parts: quoting removed */
	{ "RCPT TO:<\"john doe\"@example.org>", false, "john doe",
	    "example.org", MAILSEC_SMTP_HOST_DOMAIN, false, false, true,
	    false },
	{ "RCPT TO:<\"Joe\\,Smith\"@example.org>", false, "Joe,Smith",
	    "example.org", MAILSEC_SMTP_HOST_DOMAIN, false, false, true,
	    false },
	{ "RCPT TO:<\"a\\\"b\\\\c\"@example.org>", false, "a\"b\\c",
	    "example.org", MAILSEC_SMTP_HOST_DOMAIN, false, false, true,
	    false },
	{ "RCPT TO:<\"\"@example.org>", false, "", "example.org",
	    MAILSEC_SMTP_HOST_DOMAIN, false, false, true, false },
	{ "RCPT TO:<\"a>b\"@example.org>", false, "a>b", "example.org",
	    MAILSEC_SMTP_HOST_DOMAIN, false, false, true, false },
	{ "RCPT TO:<first.last+tag@sub.example.co.uk>", false,
	    "first.last+tag", "sub.example.co.uk", MAILSEC_SMTP_HOST_DOMAIN,
	    false, false, false, false },
	{ "RCPT TO:<!#$%&'*+-/=?^_`{|}~@example.org>", false,
	    "!#$%&'*+-/=?^_`{|}~", "example.org", MAILSEC_SMTP_HOST_DOMAIN,
	    false, false, false, false },
	{ "RCPT TO:<a@x>", false, "a", "x", MAILSEC_SMTP_HOST_DOMAIN,
	    false, false, false, false },
	{ "RCPT TO:<a@1example.org>", false, "a", "1example.org",
	    MAILSEC_SMTP_HOST_DOMAIN, false, false, false, false },
	{ "RCPT TO:<a@ex--ample.org>", false, "a", "ex--ample.org",
	    MAILSEC_SMTP_HOST_DOMAIN, false, false, false, false },
	/* address literals (RFC 5321 4.1.3) */
	{ "RCPT TO:<user@[192.0.2.1]>", false, "user", "[192.0.2.1]",
	    MAILSEC_SMTP_HOST_IPV4, false, false, false, false },
	{ "RCPT TO:<user@[255.255.255.255]>", false, "user",
	    "[255.255.255.255]", MAILSEC_SMTP_HOST_IPV4, false, false, false,
	    false },
	{ "RCPT TO:<user@[IPv6:2001:db8::1]>", false, "user",
	    "[IPv6:2001:db8::1]", MAILSEC_SMTP_HOST_IPV6, false, false, false,
	    false },
	{ "RCPT TO:<user@[ipv6:2001:DB8:0:0:0:0:0:1]>", false, "user",
	    "[ipv6:2001:DB8:0:0:0:0:0:1]", MAILSEC_SMTP_HOST_IPV6, false,
	    false, false, false },
	{ "RCPT TO:<user@[IPv6:::ffff:192.0.2.1]>", false, "user",
	    "[IPv6:::ffff:192.0.2.1]", MAILSEC_SMTP_HOST_IPV6, false, false,
	    false, false },
	{ "RCPT TO:<user@[IPv6:::]>", false, "user", "[IPv6:::]",
	    MAILSEC_SMTP_HOST_IPV6, false, false, false, false },
	{ "RCPT TO:<user@[x-tag:some.thing]>", false, "user",
	    "[x-tag:some.thing]", MAILSEC_SMTP_HOST_GENERAL, false, false,
	    false, false },
	/* SMTPUTF8 (RFC 6531 3.3) */
	{ "MAIL FROM:<\xce\xb4\xce\xbf\xce\xba@\xcf\x80\xce\xb1.example>"
	    " SMTPUTF8", false, "\xce\xb4\xce\xbf\xce\xba",
	    "\xcf\x80\xce\xb1.example", MAILSEC_SMTP_HOST_DOMAIN, false,
	    false, false, true },
	{ "RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
	    "example>", true, "\xe7\x94\xa8\xe6\x88\xb7",
	    "\xe4\xbe\x8b\xe5\xad\x90.example", MAILSEC_SMTP_HOST_DOMAIN,
	    false, false, false, true },
	{ "RCPT TO:<\"\xc3\xa9 x\"@example.org>", true, "\xc3\xa9 x",
	    "example.org", MAILSEC_SMTP_HOST_DOMAIN, false, false, true,
	    true },
};

static void
test_cmd_paths(void **state)
{
	struct mailsec_smtp_parse_opts o;
	struct mailsec_smtp_cmd cmd;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		const struct path_case *t = &paths[i];

		memset(&o, 0, sizeof o);
		o.caps = ALL_CAPS;
		o.smtputf8 = t->smtputf8;
		print_message("path %zu: %s\n", i, t->line);
		assert_int_equal(parse(t->line, strlen(t->line), &o, &cmd,
		    NULL), MAILSEC_OK);
		assert_string_equal(cmd.path.local, t->local);
		assert_int_equal(cmd.path.local_len, strlen(t->local));
		assert_string_equal(cmd.path.domain, t->domain);
		assert_int_equal(cmd.path.domain_len, strlen(t->domain));
		assert_int_equal(cmd.path.host, t->host);
		assert_int_equal(cmd.path.null, t->null);
		assert_int_equal(cmd.path.postmaster, t->postmaster);
		assert_int_equal(cmd.path.quoted, t->quoted);
		assert_int_equal(cmd.path.utf8, t->utf8);
	}
}

#define A66 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void
test_cmd_path_limits(void **state)
{
	static char line[1200], label[64];
	struct mailsec_smtp_cmd cmd;
	size_t n;

	(void)state;
	/* local part: 64 octets fit, 65 do not (RFC 5321 4.5.3.1.1) */
	n = (size_t)snprintf(line, sizeof line, "RCPT TO:<%.64s@x.example>",
	    A66);
	assert_int_equal(parse(line, n, NULL, &cmd, NULL), MAILSEC_OK);
	assert_int_equal(cmd.path.local_len, 64);
	n = (size_t)snprintf(line, sizeof line, "RCPT TO:<%.65s@x.example>",
	    A66);
	assert_int_equal(parse(line, n, NULL, &cmd, NULL), MAILSEC_ELIMIT);
	assert_int_equal(cmd.reply.code, 553);
	/* quoted: the 64 counts the quotes */
	n = (size_t)snprintf(line, sizeof line,
	    "RCPT TO:<\"%.62s\"@x.example>",
	    A66);
	assert_int_equal(parse(line, n, NULL, &cmd, NULL), MAILSEC_OK);
	assert_int_equal(cmd.path.local_len, 62);
	n = (size_t)snprintf(line, sizeof line,
	    "RCPT TO:<\"%.63s\"@x.example>",
	    A66);
	assert_int_equal(parse(line, n, NULL, &cmd, NULL), MAILSEC_ELIMIT);
	/* a label: 63 octets fit, 64 do not */
	memset(label, 'b', 63);
	label[63] = '\0';
	n = (size_t)snprintf(line, sizeof line, "RCPT TO:<a@%s.example>",
	    label);
	assert_int_equal(parse(line, n, NULL, &cmd, NULL), MAILSEC_OK);
	n = (size_t)snprintf(line, sizeof line, "RCPT TO:<a@%sb.example>",
	    label);
	assert_int_equal(parse(line, n, NULL, &cmd, NULL), MAILSEC_ESYNTAX);
	/* path: 256 octets with the brackets (RFC 5321 4.5.3.1.3):
	 * "<a@" + domain + ">" = 4 + domain; 4 labels of 63 = 255 */
	n = (size_t)snprintf(line, sizeof line,
	    "RCPT TO:<a@%s.%s.%s.%.60s>", label, label, label, label);
	assert_int_equal(parse(line, n, NULL, &cmd, NULL), MAILSEC_OK);
	assert_int_equal(cmd.path.domain_len, 252);
	n = (size_t)snprintf(line, sizeof line,
	    "RCPT TO:<a@%s.%s.%s.%.61s>", label, label, label, label);
	assert_int_equal(parse(line, n, NULL, &cmd, NULL), MAILSEC_ELIMIT);
	assert_int_equal(cmd.reply.code, 553);
	n = (size_t)snprintf(line, sizeof line,
	    "RCPT TO:<a@%s.%s.%s.%.63s>", label, label, label, label);
	assert_int_equal(parse(line, n, NULL, &cmd, NULL), MAILSEC_ELIMIT);
	/* commands other than MAIL/RCPT/AUTH: 512 with CRLF */
	memset(line, 'x', sizeof line);
	memcpy(line, "NOOP ", 5);
	assert_int_equal(parse(line, 510, NULL, &cmd, NULL), MAILSEC_OK);
	assert_int_equal(parse(line, 511, NULL, &cmd, NULL), MAILSEC_ELIMIT);
	assert_int_equal(cmd.reply.code, 500);
}

/* ---- parameters -------------------------------------------------------- */

static void
test_cmd_params(void **state)
{
	struct mailsec_smtp_parse_opts o = { .caps = ALL_CAPS };
	struct mailsec_smtp_cmd cmd;
	const char *l;

	(void)state;
	l = "MAIL FROM:<a@b.example> SIZE=12345 BODY=8BITMIME RET=HDRS "
	    "ENVID=QQ314159 SMTPUTF8 AUTH=e+3Dmc2@example.com";
	assert_int_equal(parse(l, strlen(l), &o, &cmd, NULL), MAILSEC_OK);
	assert_int_equal(cmd.params.present, MAILSEC_SMTP_P_SIZE |
	    MAILSEC_SMTP_P_BODY | MAILSEC_SMTP_P_RET | MAILSEC_SMTP_P_ENVID |
	    MAILSEC_SMTP_P_SMTPUTF8 | MAILSEC_SMTP_P_AUTH);
	assert_int_equal(cmd.params.size, 12345);
	assert_int_equal(cmd.params.body, MAILSEC_SMTP_BODY_8BITMIME);
	assert_int_equal(cmd.params.ret, MAILSEC_SMTP_RET_HDRS);
	assert_string_equal(cmd.params.envid, "QQ314159");
	assert_string_equal(cmd.params.auth, "e=mc2@example.com");
	assert_int_equal(cmd.params.auth_len, 17);

	l = "MAIL FROM:<> AUTH=<> BODY=7bit RET=full";
	assert_int_equal(parse(l, strlen(l), &o, &cmd, NULL), MAILSEC_OK);
	assert_true(cmd.path.null);
	assert_string_equal(cmd.params.auth, "<>");
	assert_int_equal(cmd.params.body, MAILSEC_SMTP_BODY_7BIT);
	assert_int_equal(cmd.params.ret, MAILSEC_SMTP_RET_FULL);

	/* RFC 3461 examples of NOTIFY and ORCPT */
	l = "RCPT TO:<Bob@Example.COM> NOTIFY=SUCCESS,FAILURE "
	    "ORCPT=rfc822;Bob@Example.COM";
	assert_int_equal(parse(l, strlen(l), &o, &cmd, NULL), MAILSEC_OK);
	assert_int_equal(cmd.params.notify, MAILSEC_SMTP_NOTIFY_SUCCESS |
	    MAILSEC_SMTP_NOTIFY_FAILURE);
	assert_string_equal(cmd.params.orcpt_type, "rfc822");
	assert_string_equal(cmd.params.orcpt, "Bob@Example.COM");
	l = "RCPT TO:<a@b.example> NOTIFY=never ORCPT=rfc822;a+2Bb+20c@d";
	assert_int_equal(parse(l, strlen(l), &o, &cmd, NULL), MAILSEC_OK);
	assert_int_equal(cmd.params.notify, MAILSEC_SMTP_NOTIFY_NEVER);
	assert_string_equal(cmd.params.orcpt, "a+b c@d");
	l = "RCPT TO:<a@b.example> NOTIFY=delay,Success,FAILURE";
	assert_int_equal(parse(l, strlen(l), &o, &cmd, NULL), MAILSEC_OK);
	assert_int_equal(cmd.params.notify, MAILSEC_SMTP_NOTIFY_SUCCESS |
	    MAILSEC_SMTP_NOTIFY_FAILURE | MAILSEC_SMTP_NOTIFY_DELAY);

	/* SIZE: 20 digits saturate; the limit */
	l = "MAIL FROM:<a@b.example> SIZE=99999999999999999999";
	assert_int_equal(parse(l, strlen(l), &o, &cmd, NULL), MAILSEC_OK);
	assert_true(cmd.params.size == UINT64_MAX);
	o.size_max = 1000;
	l = "MAIL FROM:<a@b.example> SIZE=1000";
	assert_int_equal(parse(l, strlen(l), &o, &cmd, NULL), MAILSEC_OK);
	l = "MAIL FROM:<a@b.example> SIZE=1001";
	assert_int_equal(parse(l, strlen(l), &o, &cmd, NULL), MAILSEC_ELIMIT);
	assert_int_equal(cmd.reply.code, 552);
	assert_string_equal(cmd.reply.status, "5.3.4");
	l = "MAIL FROM:<a@b.example>";
	assert_int_equal(parse(l, strlen(l), &o, &cmd, NULL), MAILSEC_OK);
	assert_int_equal(cmd.params.present, 0);

	/* BDAT and AUTH fields */
	l = "BDAT 1048576 LAST";
	assert_int_equal(parse(l, strlen(l), &o, &cmd, NULL), MAILSEC_OK);
	assert_int_equal(cmd.bdat_size, 1048576);
	assert_true(cmd.bdat_last);
	l = "AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=";
	assert_int_equal(parse(l, strlen(l), &o, &cmd, NULL), MAILSEC_OK);
	assert_int_equal(cmd.auth_mech, MAILSEC_SMTP_SASL_PLAIN);
	assert_true(cmd.auth_has_ir);
	assert_int_equal(cmd.auth_ir.len, 20);
	assert_memory_equal(cmd.auth_ir.ptr, "dGVzdAB0ZXN0AHRlc3Q=", 20);
	l = "AUTH login";
	assert_int_equal(parse(l, strlen(l), &o, &cmd, NULL), MAILSEC_OK);
	assert_int_equal(cmd.auth_mech, MAILSEC_SMTP_SASL_LOGIN);
	assert_false(cmd.auth_has_ir);
	assert_int_equal(cmd.auth_mech_text.len, 5);
	l = "EHLO [IPv6:::1]";
	assert_int_equal(parse(l, strlen(l), &o, &cmd, NULL), MAILSEC_OK);
	assert_int_equal(cmd.helo_host, MAILSEC_SMTP_HOST_IPV6);
	assert_int_equal(cmd.arg.len, 10);
	assert_string_equal(mailsec_smtp_verb_name(cmd.verb), "EHLO");
	assert_string_equal(mailsec_smtp_verb_name(MAILSEC_SMTP_VERB_COUNT),
	    "UNKNOWN");
}

static void
test_cmd_param_lengths(void **state)
{
	struct mailsec_smtp_parse_opts o = { .caps = ALL_CAPS };
	struct mailsec_smtp_cmd cmd;
	static char line[1400], v[600];
	size_t n;

	(void)state;
	/* ENVID: 100 characters (RFC 3461 4.4) */
	memset(v, 'e', sizeof v);
	n = (size_t)snprintf(line, sizeof line,
	    "MAIL FROM:<a@b.example> ENVID=%.100s", v);
	assert_int_equal(parse(line, n, &o, &cmd, NULL), MAILSEC_OK);
	assert_int_equal(cmd.params.envid_len, 100);
	n = (size_t)snprintf(line, sizeof line,
	    "MAIL FROM:<a@b.example> ENVID=%.101s", v);
	assert_int_equal(parse(line, n, &o, &cmd, NULL), MAILSEC_ELIMIT);
	assert_int_equal(cmd.reply.code, 501);
	/* ORCPT: 500 (RFC 3461 4.2) */
	n = (size_t)snprintf(line, sizeof line,
	    "RCPT TO:<a@b.example> ORCPT=rfc822;%.500s", v);
	assert_int_equal(parse(line, n, &o, &cmd, NULL), MAILSEC_OK);
	assert_int_equal(cmd.params.orcpt_len, 500);
	n = (size_t)snprintf(line, sizeof line,
	    "RCPT TO:<a@b.example> ORCPT=rfc822;%.501s", v);
	assert_int_equal(parse(line, n, &o, &cmd, NULL), MAILSEC_ELIMIT);
	/* the longest MAIL line the allowances cover parses */
	n = (size_t)snprintf(line, sizeof line,
	    "MAIL FROM:<a@b.example> SIZE=12345678901234567890 "
	    "BODY=BINARYMIME SMTPUTF8 RET=HDRS ENVID=%.100s AUTH=%.500s",
	    v, v);
	assert_true(n + 2 <= MAILSEC_SMTP_LINE_MAX_DEFAULT);
	assert_int_equal(parse(line, n, &o, &cmd, NULL), MAILSEC_OK);
	assert_int_equal(cmd.params.auth_len, 500);
}

static void
test_xtext(void **state)
{
	char out[8];
	size_t n;

	(void)state;
	assert_int_equal(mailsec_smtp_xtext_decode("", 0, out, sizeof out,
	    &n), MAILSEC_OK);
	assert_int_equal(n, 0);
	assert_string_equal(out, "");
	assert_int_equal(mailsec_smtp_xtext_decode("a+2Bb+3D", 8, out,
	    sizeof out, &n), MAILSEC_OK);
	assert_string_equal(out, "a+b=");
	assert_int_equal(n, 4);
	assert_int_equal(mailsec_smtp_xtext_decode("+00", 3, out, sizeof out,
	    &n), MAILSEC_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], '\0');
	assert_int_equal(mailsec_smtp_xtext_decode("a=b", 3, out, sizeof out,
	    &n), MAILSEC_ESYNTAX);
	assert_int_equal(mailsec_smtp_xtext_decode("a b", 3, out, sizeof out,
	    &n), MAILSEC_ESYNTAX);
	assert_int_equal(mailsec_smtp_xtext_decode("+2b", 3, out, sizeof out,
	    &n), MAILSEC_ESYNTAX);
	assert_int_equal(mailsec_smtp_xtext_decode("+2", 2, out, sizeof out,
	    &n), MAILSEC_ESYNTAX);
	assert_int_equal(mailsec_smtp_xtext_decode("+", 1, out, sizeof out,
	    &n), MAILSEC_ESYNTAX);
	assert_int_equal(mailsec_smtp_xtext_decode("\xc3\xa9", 2, out,
	    sizeof out, &n), MAILSEC_ESYNTAX);
	assert_int_equal(mailsec_smtp_xtext_decode("12345678", 8, out,
	    sizeof out, &n), MAILSEC_ELIMIT);
	assert_int_equal(mailsec_smtp_xtext_decode("1234567", 7, out,
	    sizeof out, &n), MAILSEC_OK);
	assert_int_equal(mailsec_smtp_xtext_decode("x", 1, NULL, 0, &n),
	    MAILSEC_EINVAL);
}

static void
test_path_parse_alone(void **state)
{
	struct mailsec_smtp_path p;
	struct mailsec_diag diag;

	(void)state;
	assert_int_equal(mailsec_smtp_path_parse("<>", 2, true, false, false,
	    &p, NULL), MAILSEC_OK);
	assert_true(p.null);
	assert_int_equal(mailsec_smtp_path_parse("<>", 2, false, false, false,
	    &p, NULL), MAILSEC_ESYNTAX);
	memset(&diag, 0, sizeof diag);
	assert_int_equal(mailsec_smtp_path_parse("<a@b> x", 7, false, false,
	    false, &p, &diag), MAILSEC_ESYNTAX);
	assert_true(diag.set);
	assert_int_equal(diag.offset, 5);
	assert_int_equal(mailsec_smtp_path_parse("<\xc3\xa9@b>", 6, false,
	    false, false, &p, NULL), MAILSEC_ESYNTAX);
	assert_int_equal(mailsec_smtp_path_parse("<\xc3\xa9@b>", 6, false,
	    false, true, &p, NULL), MAILSEC_OK);
	assert_true(p.utf8);
	assert_int_equal(mailsec_smtp_path_parse("", 0, true, true, true,
	    &p, NULL), MAILSEC_ESYNTAX);
	assert_int_equal(mailsec_smtp_path_parse(NULL, 1, true, true, true,
	    &p, NULL), MAILSEC_EINVAL);
	assert_int_equal(mailsec_smtp_cmd_parse(NULL, 1, NULL, NULL, NULL),
	    MAILSEC_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmd_outcomes),
		cmocka_unit_test(test_cmd_paths),
		cmocka_unit_test(test_cmd_path_limits),
		cmocka_unit_test(test_cmd_params),
		cmocka_unit_test(test_cmd_param_lengths),
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_path_parse_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
