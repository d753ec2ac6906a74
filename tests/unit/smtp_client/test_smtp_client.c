/*
 * tests/unit/smtp_client/test_smtp_client.c - the SMTP client protocol:
 * reply reader (RFC 5321 4.2, enhanced codes RFC 3463) fed whole and one
 * byte at a time, EHLO parsing, MAIL/RCPT with SIZE, BODY, SMTPUTF8 and
 * DSN parameters (RFC 1870, 1652, 6531, 3461), xtext, AUTH PLAIN/LOGIN
 * (RFC 4616), the DATA dot-stuffer (RFC 5321 4.5.2) and reply classes.
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
#include <mailsec/smtp_client.h>

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* ---- reply reader ------------------------------------------------------ */

struct reply_case {
	const char *in;
	mailsec_err err;	/* of the first feed that is not EAGAIN */
	int code;
	const char *enhanced;
	const char *text;
	size_t nlines;
	size_t used;		/* OK: bytes of the reply; ESYNTAX: 0 */
	size_t diag_off, diag_line;	/* ESYNTAX */
};

static const struct reply_case reply_cases[] = {
	{ "250 OK\r\n", MAILSEC_OK, 250, "", "OK", 1, 8, 0, 0 },
	{ "250 2.1.0 Sender ok\r\n", MAILSEC_OK, 250, "2.1.0", "Sender ok",
	    1, 21, 0, 0 },
	{ "550-5.1.1 No such\r\n550-5.1.1 user here\r\n550 5.1.1 bye\r\n",
	    MAILSEC_OK, 550, "5.1.1", "No such\nuser here\nbye", 3, 55, 0,
	    0 },
	/* bare LF tolerated */
	{ "250-a\n250 b\n", MAILSEC_OK, 250, "", "a\nb", 2, 12, 0, 0 },
	/* the code alone, with or without SP (RFC 5321 4.2) */
	{ "250\r\n", MAILSEC_OK, 250, "", "", 1, 5, 0, 0 },
	{ "250 \r\n", MAILSEC_OK, 250, "", "", 1, 6, 0, 0 },
	{ "250-\r\n250\r\n", MAILSEC_OK, 250, "", "\n", 2, 11, 0, 0 },
	{ "354 Start mail input; end with <CRLF>.<CRLF>\r\n", MAILSEC_OK,
	    354, "", "Start mail input; end with <CRLF>.<CRLF>", 1, 46, 0,
	    0 },
	/* enhanced code: class must match, 1..3 digits, then SP or end */
	{ "250 5.1.1 x\r\n", MAILSEC_OK, 250, "", "5.1.1 x", 1, 13, 0, 0 },
	{ "550 5.7.1\r\n", MAILSEC_OK, 550, "5.7.1", "", 1, 11, 0, 0 },
	{ "550 5.7.1x\r\n", MAILSEC_OK, 550, "", "5.7.1x", 1, 12, 0, 0 },
	{ "250 2.0.0000 x\r\n", MAILSEC_OK, 250, "", "2.0.0000 x", 1, 16, 0,
	    0 },
	{ "452 4.123.456 full\r\n", MAILSEC_OK, 452, "4.123.456", "full", 1,
	    20, 0, 0 },
	{ "550 5..1 x\r\n", MAILSEC_OK, 550, "", "5..1 x", 1, 12, 0, 0 },
	/* only the first enhanced code is kept; each line loses its own */
	{ "550-5.1.1 a\r\n550-b\r\n550 5.1.2 c\r\n", MAILSEC_OK, 550,
	    "5.1.1", "a\nb\nc", 3, 33, 0, 0 },
	/* TAB to SP, control and 8-bit bytes to '?', inner CR too */
	{ "250 a\tb\x01" "c\r\n", MAILSEC_OK, 250, "", "a b?c", 1, 11, 0,
	    0 },
	{ "250 \xc3\xa9\r\n", MAILSEC_OK, 250, "", "??", 1, 8, 0, 0 },
	{ "250 a\rb\r\n", MAILSEC_OK, 250, "", "a?b", 1, 9, 0, 0 },
	{ "250 a\r\r\n", MAILSEC_OK, 250, "", "a?", 1, 8, 0, 0 },
	/* pipelined: only the first reply is consumed */
	{ "250 a\r\n251 b\r\n", MAILSEC_OK, 250, "", "a", 1, 7, 0, 0 },
	/* incomplete */
	{ "250-a\r\n250", MAILSEC_EAGAIN, 0, NULL, NULL, 0, 0, 0, 0 },
	{ "", MAILSEC_EAGAIN, 0, NULL, NULL, 0, 0, 0, 0 },
	/* malformed */
	{ "250-a\r\n251 b\r\n", MAILSEC_ESYNTAX, 0, NULL, NULL, 0, 0, 7, 2 },
	{ "550-a\r\n550-b\r\n250 c\r\n", MAILSEC_ESYNTAX, 0, NULL, NULL, 0, 0,
	    14, 3 },
	{ "abc\r\n", MAILSEC_ESYNTAX, 0, NULL, NULL, 0, 0, 0, 1 },
	{ "25\r\n", MAILSEC_ESYNTAX, 0, NULL, NULL, 0, 0, 0, 1 },
	{ "\r\n", MAILSEC_ESYNTAX, 0, NULL, NULL, 0, 0, 0, 1 },
	{ "199 x\r\n", MAILSEC_ESYNTAX, 0, NULL, NULL, 0, 0, 0, 1 },
	{ "600 x\r\n", MAILSEC_ESYNTAX, 0, NULL, NULL, 0, 0, 0, 1 },
	{ "250x\r\n", MAILSEC_ESYNTAX, 0, NULL, NULL, 0, 0, 3, 1 },
	{ "250-a\r\n2x0 b\r\n", MAILSEC_ESYNTAX, 0, NULL, NULL, 0, 0, 7, 2 },
	{ " 250 a\r\n", MAILSEC_ESYNTAX, 0, NULL, NULL, 0, 0, 0, 1 },
};

/* Feeds in whole (chunk 0) or chunk bytes at a time until a reply or an
 * error; returns the result, *used the bytes consumed in all. */
static mailsec_err
feed_all(struct mailsec_smtp_creader *r, const char *in, size_t len,
    size_t chunk, size_t *used, struct mailsec_smtp_creply *out,
    struct mailsec_diag *diag)
{
	size_t pos = 0, n, u;
	mailsec_err err = MAILSEC_EAGAIN;

	*used = 0;
	if (len == 0)
		return mailsec_smtp_creader_feed(r, in, 0, used, out, diag);
	while (pos < len) {
		n = chunk == 0 || chunk > len - pos ? len - pos : chunk;
		err = mailsec_smtp_creader_feed(r, in + pos, n, &u, out, diag);
		assert_true(u <= n);
		pos += u;
		if (err != MAILSEC_EAGAIN)
			break;
		assert_int_equal(u, n);
	}
	*used = pos;
	return err;
}

static void
check_reply_case(const struct reply_case *t, size_t chunk)
{
	static struct mailsec_smtp_creader r;
	static struct mailsec_smtp_creply out;
	struct mailsec_diag diag;
	size_t used;
	mailsec_err err;

	memset(&diag, 0, sizeof diag);
	memset(&out, 0x55, sizeof out);
	mailsec_smtp_creader_init(&r);
	err = feed_all(&r, t->in, strlen(t->in), chunk, &used, &out, &diag);
	assert_int_equal(err, t->err);
	if (err == MAILSEC_OK) {
		assert_int_equal(out.code, t->code);
		assert_string_equal(out.enhanced, t->enhanced);
		assert_string_equal(out.text, t->text);
		assert_int_equal(out.nlines, t->nlines);
		assert_false(out.cut);
		assert_int_equal(used, t->used);
	} else if (err == MAILSEC_ESYNTAX) {
		assert_int_equal(diag.set, 1);
		assert_int_equal(diag.offset, t->diag_off);
		assert_int_equal(diag.line, t->diag_line);
		assert_true(diag.text[0] != '\0');
		/* sticky until init */
		assert_int_equal(mailsec_smtp_creader_feed(&r, "250 x\r\n", 7,
		    &used, &out, NULL), MAILSEC_ESTATE);
		assert_int_equal(used, 0);
	} else {
		assert_int_equal(used, strlen(t->in));
	}
}

static void
test_reply_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NCASES(reply_cases); i++) {
		print_message("reply %zu\n", i);
		check_reply_case(&reply_cases[i], 0);	/* whole */
		check_reply_case(&reply_cases[i], 1);	/* byte by byte */
		check_reply_case(&reply_cases[i], 3);
	}
}

/* Several replies in one buffer come out one per call, in order. */
static void
test_reply_pipelined(void **state)
{
	static const char in[] = "250 2.1.0 ok\r\n250-2.1.5 a\r\n250 2.1.5 b"
	    "\r\n354 go\r\n";
	static struct mailsec_smtp_creader r;
	static struct mailsec_smtp_creply out;
	size_t pos = 0, used, len = sizeof in - 1;

	(void)state;
	mailsec_smtp_creader_init(&r);
	assert_int_equal(mailsec_smtp_creader_feed(&r, in, len, &used, &out,
	    NULL), MAILSEC_OK);
	assert_int_equal(out.code, 250);
	assert_string_equal(out.enhanced, "2.1.0");
	pos += used;
	assert_int_equal(mailsec_smtp_creader_feed(&r, in + pos, len - pos,
	    &used, &out, NULL), MAILSEC_OK);
	assert_string_equal(out.text, "a\nb");
	assert_int_equal(out.nlines, 2);
	pos += used;
	assert_int_equal(mailsec_smtp_creader_feed(&r, in + pos, len - pos,
	    &used, &out, NULL), MAILSEC_OK);
	assert_int_equal(out.code, 354);
	assert_string_equal(out.enhanced, "");
	pos += used;
	assert_int_equal(pos, len);
	assert_int_equal(mailsec_smtp_creader_feed(&r, in + pos, 0, &used,
	    &out, NULL), MAILSEC_EAGAIN);
	/* an error, then init: good again */
	assert_int_equal(mailsec_smtp_creader_feed(&r, "xyz\r\n", 5, &used,
	    &out, NULL), MAILSEC_ESYNTAX);
	mailsec_smtp_creader_init(&r);
	assert_int_equal(mailsec_smtp_creader_feed(&r, "221 bye\r\n", 9,
	    &used, &out, NULL), MAILSEC_OK);
	assert_int_equal(out.code, 221);
	/* bad arguments */
	assert_int_equal(mailsec_smtp_creader_feed(NULL, "x", 1, &used, &out,
	    NULL), MAILSEC_EINVAL);
	assert_int_equal(mailsec_smtp_creader_feed(&r, NULL, 1, &used, &out,
	    NULL), MAILSEC_EINVAL);
	assert_int_equal(mailsec_smtp_creader_feed(&r, "x", 1, NULL, &out,
	    NULL), MAILSEC_EINVAL);
	assert_int_equal(mailsec_smtp_creader_feed(&r, "x", 1, &used, NULL,
	    NULL), MAILSEC_EINVAL);
}

/* A reply of nlines lines of textlen characters each; final says whether
 * the last line ends the reply. */
static char *
make_reply(size_t nlines, size_t textlen, bool final, const char *eol,
    size_t *len)
{
	size_t i, o = 0, eoll = strlen(eol);
	char *s = malloc(nlines * (4 + textlen + eoll) + 1);

	assert_non_null(s);
	for (i = 0; i < nlines; i++) {
		memcpy(s + o, i + 1 == nlines && final ? "250 " : "250-", 4);
		o += 4;
		memset(s + o, 'a' + (int)(i % 26), textlen);
		o += textlen;
		memcpy(s + o, eol, eoll);
		o += eoll;
	}
	s[o] = '\0';
	*len = o;
	return s;
}

static void
test_reply_limits(void **state)
{
	static struct mailsec_smtp_creader r;
	static struct mailsec_smtp_creply out;
	struct mailsec_diag diag;
	size_t len, used, chunk;
	char *s;

	(void)state;
	for (chunk = 0; chunk < 2; chunk++) {
		/* 100 lines: fine */
		s = make_reply(100, 10, true, "\r\n", &len);
		mailsec_smtp_creader_init(&r);
		assert_int_equal(feed_all(&r, s, len, chunk, &used, &out,
		    NULL), MAILSEC_OK);
		assert_int_equal(out.nlines, 100);
		assert_int_equal(used, len);
		assert_int_equal(strlen(out.text), 100 * 11 - 1);
		free(s);
		/* a 100th line announcing more: refused there */
		s = make_reply(101, 10, true, "\r\n", &len);
		mailsec_smtp_creader_init(&r);
		memset(&diag, 0, sizeof diag);
		assert_int_equal(feed_all(&r, s, len, chunk, &used, &out,
		    &diag), MAILSEC_ESYNTAX);
		assert_int_equal(diag.line, 100);
		assert_int_equal(diag.offset, 99 * 16);
		assert_int_equal(used, 100 * 16);
		free(s);
		s = make_reply(150, 1, false, "\n", &len);
		mailsec_smtp_creader_init(&r);
		assert_int_equal(feed_all(&r, s, len, chunk, &used, &out,
		    NULL), MAILSEC_ESYNTAX);
		free(s);

		/* line length: 2048 with CRLF fine, 2049 refused */
		s = make_reply(1, 2048 - 6, true, "\r\n", &len);
		assert_int_equal(len, 2048);
		mailsec_smtp_creader_init(&r);
		assert_int_equal(feed_all(&r, s, len, chunk, &used, &out,
		    NULL), MAILSEC_OK);
		assert_int_equal(strlen(out.text), 2042);
		free(s);
		s = make_reply(1, 2048 - 5, true, "\r\n", &len);
		mailsec_smtp_creader_init(&r);
		memset(&diag, 0, sizeof diag);
		assert_int_equal(feed_all(&r, s, len, chunk, &used, &out,
		    &diag), MAILSEC_ESYNTAX);
		assert_int_equal(diag.offset, 2047);
		assert_int_equal(diag.line, 1);
		free(s);
		/* bare LF: 2048 with the LF fine, 2049 refused */
		s = make_reply(1, 2048 - 5, true, "\n", &len);
		mailsec_smtp_creader_init(&r);
		assert_int_equal(feed_all(&r, s, len, chunk, &used, &out,
		    NULL), MAILSEC_OK);
		free(s);
		s = make_reply(1, 2048 - 4, true, "\n", &len);
		mailsec_smtp_creader_init(&r);
		assert_int_equal(feed_all(&r, s, len, chunk, &used, &out,
		    NULL), MAILSEC_ESYNTAX);
		free(s);
		/* an endless line without LF: refused at the limit */
		s = make_reply(1, 5000, false, "", &len);
		mailsec_smtp_creader_init(&r);
		assert_int_equal(feed_all(&r, s, len, chunk, &used, &out,
		    NULL), MAILSEC_ESYNTAX);
		assert_int_equal(used, 2047);
		free(s);

		/* text cut at 8 KiB: 100 lines of 200 */
		s = make_reply(100, 200, true, "\r\n", &len);
		mailsec_smtp_creader_init(&r);
		assert_int_equal(feed_all(&r, s, len, chunk, &used, &out,
		    NULL), MAILSEC_OK);
		assert_true(out.cut);
		assert_int_equal(strlen(out.text),
		    MAILSEC_SMTP_CREPLY_TEXT_MAX - 1);
		assert_int_equal(out.nlines, 100);
		assert_memory_equal(out.text, s + 4, 200);
		free(s);
	}
}

/* ---- EHLO -------------------------------------------------------------- */

/* Parses an EHLO reply given as wire lines. */
static void
ehlo_from(const char *wire, struct mailsec_smtp_ehlo *eh)
{
	static struct mailsec_smtp_creader r;
	static struct mailsec_smtp_creply out;
	size_t used;

	mailsec_smtp_creader_init(&r);
	assert_int_equal(mailsec_smtp_creader_feed(&r, wire, strlen(wire),
	    &used, &out, NULL), MAILSEC_OK);
	assert_int_equal(used, strlen(wire));
	mailsec_smtp_ehlo_parse(&out, eh);
}

struct ehlo_case {
	const char *wire;
	const char *want;	/* flags present, as letters */
	uint64_t size_max;
};

/*
 * Letters: P pipelining, T starttls, 8 8bitmime, U smtputf8, D dsn,
 * C chunking, B binarymime, E enhancedstatuscodes, S size, A auth,
 * p auth plain, l auth login.
 */
static void
ehlo_letters(const struct mailsec_smtp_ehlo *eh, char *s)
{
	if (eh->pipelining)
		*s++ = 'P';
	if (eh->starttls)
		*s++ = 'T';
	if (eh->eightbitmime)
		*s++ = '8';
	if (eh->smtputf8)
		*s++ = 'U';
	if (eh->dsn)
		*s++ = 'D';
	if (eh->chunking)
		*s++ = 'C';
	if (eh->binarymime)
		*s++ = 'B';
	if (eh->enhancedstatuscodes)
		*s++ = 'E';
	if (eh->size)
		*s++ = 'S';
	if (eh->auth)
		*s++ = 'A';
	if (eh->auth_plain)
		*s++ = 'p';
	if (eh->auth_login)
		*s++ = 'l';
	*s = '\0';
}

static const struct ehlo_case ehlo_cases[] = {
	{ "250-mx.example.com Hello\r\n250-PIPELINING\r\n250-SIZE 10240000"
	    "\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-DSN\r\n250-CHUNKING\r\n"
	    "250-BINARYMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n"
	    "250 AUTH PLAIN LOGIN CRAM-MD5\r\n", "PT8UDCBESApl", 10240000 },
	{ "250-mx\r\n250-pipelining\r\n250-size\r\n250 auth login\r\n",
	    "PSAl", 0 },
	/* the old form, also beside the new one */
	{ "250-mx\r\n250-AUTH=LOGIN PLAIN\r\n250 Size 0\r\n", "SApl", 0 },
	{ "250-mx\r\n250-AUTH CRAM-MD5\r\n250 AUTH=login\r\n", "Al", 0 },
	{ "250-mx\r\n250 AUTH CRAM-MD5 DIGEST-MD5\r\n", "A", 0 },
	{ "250-mx\r\n250 SIZE abc\r\n", "S", 0 },
	{ "250-mx\r\n250 SIZE 99999999999999999999999\r\n", "S", UINT64_MAX },
	{ "250-mx\r\n250 SIZE 18446744073709551615\r\n", "S", UINT64_MAX },
	{ "250-mx\r\n250 SIZE   52428800  \r\n", "S", 52428800 },
	/* a TAB between keyword and value */
	{ "250-mx\r\n250 SIZE\t1000\r\n", "S", 1000 },
	/* keywords must match whole */
	{ "250-mx\r\n250-PIPELININGX\r\n250-X-STARTTLS\r\n250 DSN2\r\n", "",
	    0 },
	/* the greeting line is no keyword */
	{ "250 PIPELINING\r\n", "", 0 },
	{ "250-STARTTLS\r\n250 8BITMIME\r\n", "8", 0 },
	/* a refusal offers nothing */
	{ "550-mx\r\n550 PIPELINING\r\n", "", 0 },
	{ "250-mx\r\n250-\r\n250 STARTTLS\r\n", "T", 0 },
};

static void
test_ehlo_table(void **state)
{
	struct mailsec_smtp_ehlo eh;
	char got[32];
	size_t i;

	(void)state;
	for (i = 0; i < NCASES(ehlo_cases); i++) {
		print_message("ehlo %zu\n", i);
		memset(&eh, 0xff, sizeof eh);
		ehlo_from(ehlo_cases[i].wire, &eh);
		ehlo_letters(&eh, got);
		assert_string_equal(got, ehlo_cases[i].want);
		assert_true(eh.size_max == ehlo_cases[i].size_max);
	}
	/* NULL reply: nothing offered */
	memset(&eh, 0xff, sizeof eh);
	mailsec_smtp_ehlo_parse(NULL, &eh);
	ehlo_letters(&eh, got);
	assert_string_equal(got, "");
	mailsec_smtp_ehlo_parse(NULL, NULL);
}

/* ---- MAIL, RCPT -------------------------------------------------------- */

/* Server offerings by letter, as ehlo_letters(); Z: SIZE 1000. */
static void
ehlo_set(struct mailsec_smtp_ehlo *eh, const char *s)
{
	memset(eh, 0, sizeof *eh);
	for (; *s != '\0'; s++) {
		switch (*s) {
		case 'P': eh->pipelining = true; break;
		case 'T': eh->starttls = true; break;
		case '8': eh->eightbitmime = true; break;
		case 'U': eh->smtputf8 = true; break;
		case 'D': eh->dsn = true; break;
		case 'C': eh->chunking = true; break;
		case 'B': eh->binarymime = true; break;
		case 'E': eh->enhancedstatuscodes = true; break;
		case 'S': eh->size = true; break;
		case 'Z': eh->size = true; eh->size_max = 1000; break;
		default: fail();
		}
	}
}

struct mail_case {
	const char *from;
	uint64_t size;
	const char *body;
	bool smtputf8;
	const char *ret, *envid;
	const char *ehlo;
	mailsec_err err;
	const char *want;
	unsigned needs;
};

static const struct mail_case mail_cases[] = {
	{ "a@example.com", 0, NULL, false, NULL, NULL, "", MAILSEC_OK,
	    "MAIL FROM:<a@example.com>\r\n", 0 },
	{ "", 0, NULL, false, NULL, NULL, "", MAILSEC_OK,
	    "MAIL FROM:<>\r\n", 0 },
	/* everything offered */
	{ "a@example.com", 1234, "8BITMIME", false, "HDRS", "QQ314159",
	    "S8UD", MAILSEC_OK, "MAIL FROM:<a@example.com> SIZE=1234 "
	    "BODY=8BITMIME RET=HDRS ENVID=QQ314159\r\n", 0 },
	/* nothing offered: parameters left out, 8-bit is the caller's */
	{ "a@example.com", 1234, "8BITMIME", false, "HDRS", "QQ314159", "",
	    MAILSEC_OK, "MAIL FROM:<a@example.com>\r\n",
	    MAILSEC_SMTP_NEED_8BITMIME },
	/* 7BIT and case */
	{ "a@b", 0, "7bit", false, "full", NULL, "8D", MAILSEC_OK,
	    "MAIL FROM:<a@b> RET=FULL\r\n", 0 },
	{ "a@b", 0, "8bitmime", false, NULL, NULL, "8", MAILSEC_OK,
	    "MAIL FROM:<a@b> BODY=8BITMIME\r\n", 0 },
	/* ENVID as xtext (RFC 3461 4) */
	{ "a@b", 0, NULL, false, NULL, "a+b=c d\x01", "D", MAILSEC_OK,
	    "MAIL FROM:<a@b> ENVID=a+2Bb+3Dc+20d+01\r\n", 0 },
	{ "a@b", 0, NULL, false, NULL, "", "D", MAILSEC_OK,
	    "MAIL FROM:<a@b>\r\n", 0 },
	/* SMTPUTF8 */
	{ "j\xc3\xb6rg@b", 0, NULL, false, NULL, NULL, "U", MAILSEC_OK,
	    "MAIL FROM:<j\xc3\xb6rg@b>\r\n", 0 },
	{ "a@b", 0, NULL, true, NULL, NULL, "8U", MAILSEC_OK,
	    "MAIL FROM:<a@b> SMTPUTF8\r\n", 0 },
	{ "j\xc3\xb6rg@b", 0, NULL, false, NULL, NULL, "8", MAILSEC_EINVAL,
	    NULL, MAILSEC_SMTP_NEED_SMTPUTF8 },
	{ "a@b", 0, NULL, true, NULL, NULL, "8", MAILSEC_EINVAL, NULL,
	    MAILSEC_SMTP_NEED_SMTPUTF8 },
	/* BINARYMIME needs CHUNKING too (RFC 3030 3) */
	{ "a@b", 0, "BINARYMIME", false, NULL, NULL, "CB8", MAILSEC_OK,
	    "MAIL FROM:<a@b> BODY=BINARYMIME\r\n", 0 },
	{ "a@b", 0, "BINARYMIME", false, NULL, NULL, "B8", MAILSEC_EINVAL,
	    NULL, MAILSEC_SMTP_NEED_BINARYMIME },
	{ "a@b", 0, "BINARYMIME", false, NULL, NULL, "", MAILSEC_EINVAL,
	    NULL, MAILSEC_SMTP_NEED_BINARYMIME },
	/* SIZE (RFC 1870): the limit, no limit, not offered */
	{ "a@b", 1000, NULL, false, NULL, NULL, "Z", MAILSEC_OK,
	    "MAIL FROM:<a@b> SIZE=1000\r\n", 0 },
	{ "a@b", 1001, NULL, false, NULL, NULL, "Z", MAILSEC_EINVAL, NULL,
	    MAILSEC_SMTP_NEED_SIZE },
	{ "a@b", UINT64_MAX, NULL, false, NULL, NULL, "S", MAILSEC_OK,
	    "MAIL FROM:<a@b> SIZE=18446744073709551615\r\n", 0 },
	{ "a@b", 5000, NULL, false, NULL, NULL, "", MAILSEC_OK,
	    "MAIL FROM:<a@b>\r\n", 0 },
	/* several needs at once */
	{ "a@b", 2000, "8BITMIME", true, NULL, NULL, "Z", MAILSEC_EINVAL,
	    NULL, MAILSEC_SMTP_NEED_SIZE | MAILSEC_SMTP_NEED_SMTPUTF8 |
	    MAILSEC_SMTP_NEED_8BITMIME },
	/* bad arguments */
	{ "a@b\r\nRCPT TO:<x@y>", 0, NULL, false, NULL, NULL, "",
	    MAILSEC_EINVAL, NULL, 0 },
	{ "a@b", 0, NULL, false, "ALL", NULL, "D", MAILSEC_EINVAL, NULL, 0 },
	{ "a@b", 0, "9BIT", false, NULL, NULL, "8", MAILSEC_EINVAL, NULL, 0 },
	/* ENVID over 100 (RFC 3461 4.4) */
	{ "a@b", 0, NULL, false, NULL, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xx", "D", MAILSEC_ELIMIT, NULL, 0 },
};

static void
test_mail_table(void **state)
{
	struct mailsec_smtp_mailparams mp;
	struct mailsec_smtp_ehlo eh;
	char buf[1200];
	size_t i, len;

	(void)state;
	for (i = 0; i < NCASES(mail_cases); i++) {
		const struct mail_case *t = &mail_cases[i];

		print_message("mail %zu\n", i);
		memset(&mp, 0, sizeof mp);
		mp.size = t->size;
		mp.body = t->body;
		mp.smtputf8 = t->smtputf8;
		mp.ret = t->ret;
		mp.envid = t->envid;
		ehlo_set(&eh, t->ehlo);
		assert_int_equal(mailsec_smtp_needs(t->from, &mp, &eh),
		    t->needs);
		len = 99;
		assert_int_equal(mailsec_smtp_cmd_mail(buf, sizeof buf, &len,
		    t->from, &mp, &eh), t->err);
		if (t->err == MAILSEC_OK) {
			assert_string_equal(buf, t->want);
			assert_int_equal(len, strlen(t->want));
		} else {
			assert_int_equal(len, 0);
			assert_string_equal(buf, "");
		}
	}
}

static void
test_mail_limits(void **state)
{
	struct mailsec_smtp_mailparams mp;
	struct mailsec_smtp_ehlo eh;
	char buf[2000], from[1200], envid[101];
	size_t len, need;

	(void)state;
	ehlo_set(&eh, "SD8");
	memset(&mp, 0, sizeof mp);
	mp.size = 42;
	/* the buffer: exactly enough (with the NUL), one byte short */
	need = strlen("MAIL FROM:<a@b> SIZE=42\r\n") + 1;
	assert_int_equal(mailsec_smtp_cmd_mail(buf, need, &len, "a@b", &mp,
	    &eh), MAILSEC_OK);
	assert_int_equal(len, need - 1);
	assert_int_equal(mailsec_smtp_cmd_mail(buf, need - 1, &len, "a@b",
	    &mp, &eh), MAILSEC_ELIMIT);
	assert_int_equal(len, 0);
	/* a 100-character ENVID of 8-bit bytes: 300 encoded */
	memset(envid, 0xff, 100);
	envid[100] = '\0';
	mp.envid = envid;
	assert_int_equal(mailsec_smtp_cmd_mail(buf, sizeof buf, &len, "a@b",
	    &mp, &eh), MAILSEC_OK);
	assert_non_null(strstr(buf, " ENVID=+FF+FF"));
	assert_int_equal(len, strlen("MAIL FROM:<a@b> SIZE=42 ENVID=\r\n") +
	    300);
	/* the line limit, whatever the buffer */
	memset(from, 'a', sizeof from - 1);
	from[sizeof from - 1] = '\0';
	assert_int_equal(mailsec_smtp_cmd_mail(buf, sizeof buf, &len, from,
	    NULL, &eh), MAILSEC_ELIMIT);
	from[MAILSEC_SMTP_CCMD_LINE_MAX - 14] = '\0';
	assert_int_equal(mailsec_smtp_cmd_mail(buf, sizeof buf, &len, from,
	    NULL, &eh), MAILSEC_OK);
	assert_int_equal(len, MAILSEC_SMTP_CCMD_LINE_MAX);
	from[MAILSEC_SMTP_CCMD_LINE_MAX - 14] = 'a';
	from[MAILSEC_SMTP_CCMD_LINE_MAX - 13] = '\0';
	assert_int_equal(mailsec_smtp_cmd_mail(buf, sizeof buf, &len, from,
	    NULL, &eh), MAILSEC_ELIMIT);
	/* NULL arguments */
	assert_int_equal(mailsec_smtp_cmd_mail(NULL, 10, &len, "a", NULL,
	    &eh), MAILSEC_EINVAL);
	assert_int_equal(mailsec_smtp_cmd_mail(buf, 0, &len, "a", NULL,
	    &eh), MAILSEC_EINVAL);
	assert_int_equal(mailsec_smtp_cmd_mail(buf, 10, NULL, "a", NULL,
	    &eh), MAILSEC_EINVAL);
	assert_int_equal(mailsec_smtp_cmd_mail(buf, 10, &len, NULL, NULL,
	    &eh), MAILSEC_EINVAL);
	assert_int_equal(mailsec_smtp_cmd_mail(buf, 10, &len, "a", NULL,
	    NULL), MAILSEC_EINVAL);
	/* needs() without a server description: nothing offered */
	memset(&mp, 0, sizeof mp);
	mp.smtputf8 = true;
	assert_int_equal(mailsec_smtp_needs(NULL, &mp, NULL),
	    MAILSEC_SMTP_NEED_SMTPUTF8);
	assert_int_equal(mailsec_smtp_needs(NULL, NULL, NULL), 0);
}

struct rcpt_case {
	const char *to, *notify, *orcpt;
	const char *ehlo;
	mailsec_err err;
	const char *want;
};

static const struct rcpt_case rcpt_cases[] = {
	{ "b@example.org", NULL, NULL, "", MAILSEC_OK,
	    "RCPT TO:<b@example.org>\r\n" },
	{ "b@example.org", "SUCCESS,FAILURE", "rfc822;b@example.org", "D",
	    MAILSEC_OK, "RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE "
	    "ORCPT=rfc822;b@example.org\r\n" },
	/* no DSN: parameters left out */
	{ "b@example.org", "NEVER", "rfc822;b@example.org", "8", MAILSEC_OK,
	    "RCPT TO:<b@example.org>\r\n" },
	/* NOTIFY in any case, as given */
	{ "b@x", "never", NULL, "D", MAILSEC_OK,
	    "RCPT TO:<b@x> NOTIFY=never\r\n" },
	{ "b@x", "delay,Failure,SUCCESS", NULL, "D", MAILSEC_OK,
	    "RCPT TO:<b@x> NOTIFY=delay,Failure,SUCCESS\r\n" },
	{ "b@x", "NEVER,SUCCESS", NULL, "D", MAILSEC_EINVAL, NULL },
	{ "b@x", "FAILURE,", NULL, "D", MAILSEC_EINVAL, NULL },
	{ "b@x", "ALWAYS", NULL, "D", MAILSEC_EINVAL, NULL },
	{ "b@x", "ALWAYS", NULL, "", MAILSEC_EINVAL, NULL },
	/* ORCPT: wire form passed through, xtext intact */
	{ "b@x", NULL, "rfc822;user+2Btag@x", "D", MAILSEC_OK,
	    "RCPT TO:<b@x> ORCPT=rfc822;user+2Btag@x\r\n" },
	{ "b@x", NULL, "x400;/c+3Dus/", "D", MAILSEC_OK,
	    "RCPT TO:<b@x> ORCPT=x400;/c+3Dus/\r\n" },
	/* a plain address: "rfc822;" + xtext */
	{ "b@x", NULL, "user+tag@x", "D", MAILSEC_OK,
	    "RCPT TO:<b@x> ORCPT=rfc822;user+2Btag@x\r\n" },
	{ "b@x", NULL, "\"a;b\"@x", "D", MAILSEC_OK,
	    "RCPT TO:<b@x> ORCPT=rfc822;\"a;b\"@x\r\n" },
	{ "b@x", NULL, "\"a b\"@x", "D", MAILSEC_OK,
	    "RCPT TO:<b@x> ORCPT=rfc822;\"a+20b\"@x\r\n" },
	/* not wire form: bad xtext after the type, empty type or value */
	{ "b@x", NULL, "rfc822;a=b@x", "D", MAILSEC_OK,
	    "RCPT TO:<b@x> ORCPT=rfc822;rfc822;a+3Db@x\r\n" },
	{ "b@x", NULL, "rfc822;a+2b@x", "D", MAILSEC_OK,
	    "RCPT TO:<b@x> ORCPT=rfc822;rfc822;a+2B2b@x\r\n" },
	{ "b@x", NULL, ";a@x", "D", MAILSEC_OK,
	    "RCPT TO:<b@x> ORCPT=rfc822;;a@x\r\n" },
	{ "b@x", NULL, "rfc822;", "D", MAILSEC_OK,
	    "RCPT TO:<b@x> ORCPT=rfc822;rfc822;\r\n" },
	{ "b@x", NULL, "", "D", MAILSEC_OK, "RCPT TO:<b@x>\r\n" },
	/* UTF-8 address */
	{ "j\xc3\xb6rg@x", NULL, NULL, "U", MAILSEC_OK,
	    "RCPT TO:<j\xc3\xb6rg@x>\r\n" },
	{ "j\xc3\xb6rg@x", NULL, NULL, "8D", MAILSEC_EINVAL, NULL },
	{ "b@x\n", NULL, NULL, "", MAILSEC_EINVAL, NULL },
	{ "b\x7f@x", NULL, NULL, "", MAILSEC_EINVAL, NULL },
};

static void
test_rcpt_table(void **state)
{
	struct mailsec_smtp_ehlo eh;
	char buf[1200];
	size_t i, len;

	(void)state;
	for (i = 0; i < NCASES(rcpt_cases); i++) {
		const struct rcpt_case *t = &rcpt_cases[i];

		print_message("rcpt %zu\n", i);
		ehlo_set(&eh, t->ehlo);
		len = 99;
		assert_int_equal(mailsec_smtp_cmd_rcpt(buf, sizeof buf, &len,
		    t->to, t->notify, t->orcpt, &eh), t->err);
		if (t->err == MAILSEC_OK) {
			assert_string_equal(buf, t->want);
			assert_int_equal(len, strlen(t->want));
		} else {
			assert_int_equal(len, 0);
		}
	}
}

/* ORCPT up to 500 characters, type and xtext included (RFC 3461 4.2),
 * and what our own server's parser makes of it. */
static void
test_rcpt_orcpt_limit(void **state)
{
	struct mailsec_smtp_ehlo eh;
	struct mailsec_smtp_cmd cmd;
	struct mailsec_smtp_parse_opts opts;
	char buf[1200], addr[600];
	size_t len;

	(void)state;
	ehlo_set(&eh, "D");
	memset(addr, 'a', sizeof addr);
	/* 7 + 493 = 500 */
	addr[493 - 2] = '@';
	addr[493 - 1] = 'x';
	addr[493] = '\0';
	assert_int_equal(mailsec_smtp_cmd_rcpt(buf, sizeof buf, &len, "b@x",
	    NULL, addr, &eh), MAILSEC_OK);
	memset(&opts, 0, sizeof opts);
	opts.caps = MAILSEC_SMTP_CAP_DSN;
	assert_int_equal(mailsec_smtp_cmd_parse(buf, len - 2, &opts, &cmd,
	    NULL), MAILSEC_OK);
	assert_string_equal(cmd.params.orcpt_type, "rfc822");
	assert_string_equal(cmd.params.orcpt, addr);
	/* 501 */
	addr[493 - 2] = 'a';
	addr[493 - 1] = '@';
	addr[493] = 'x';
	addr[494] = '\0';
	assert_int_equal(mailsec_smtp_cmd_rcpt(buf, sizeof buf, &len, "b@x",
	    NULL, addr, &eh), MAILSEC_ELIMIT);
	assert_int_equal(len, 0);
	/* one byte encoded as three counts three */
	addr[493 - 3] = ' ';
	addr[493 - 2] = '@';
	addr[493 - 1] = 'x';
	addr[493] = '\0';
	assert_int_equal(mailsec_smtp_cmd_rcpt(buf, sizeof buf, &len, "b@x",
	    NULL, addr, &eh), MAILSEC_ELIMIT);
	/* a small buffer */
	assert_int_equal(mailsec_smtp_cmd_rcpt(buf, 16, &len, "b@x", NULL,
	    "b@x", &eh), MAILSEC_ELIMIT);
	assert_int_equal(mailsec_smtp_cmd_rcpt(buf, 16, &len, "b@x", NULL,
	    NULL, &eh), MAILSEC_OK);
	assert_string_equal(buf, "RCPT TO:<b@x>\r\n");
	assert_int_equal(mailsec_smtp_cmd_rcpt(buf, 15, &len, "b@x", NULL,
	    NULL, &eh), MAILSEC_ELIMIT);
	assert_int_equal(mailsec_smtp_cmd_rcpt(buf, 15, &len, NULL, NULL,
	    NULL, &eh), MAILSEC_EINVAL);
}

/* ---- xtext ------------------------------------------------------------- */

struct xtext_case {
	const char *in;
	size_t inlen;
	const char *want;
};

static const struct xtext_case xtext_cases[] = {
	{ "", 0, "" },
	{ "abc", 3, "abc" },
	{ "a+b=c d", 7, "a+2Bb+3Dc+20d" },
	{ "!~", 2, "!~" },
	{ "\x00\x1f\x7f", 3, "+00+1F+7F" },
	{ "\xc3\xa9", 2, "+C3+A9" },
	{ "<a@b>", 5, "<a@b>" },
	{ "\r\n", 2, "+0D+0A" },
};

static void
test_xtext_table(void **state)
{
	char out[64], back[64];
	size_t i, len, blen;

	(void)state;
	for (i = 0; i < NCASES(xtext_cases); i++) {
		const struct xtext_case *t = &xtext_cases[i];

		print_message("xtext %zu\n", i);
		assert_int_equal(mailsec_smtp_xtext_encode(t->in, t->inlen,
		    out, sizeof out, &len), MAILSEC_OK);
		assert_string_equal(out, t->want);
		assert_int_equal(len, strlen(t->want));
		/* the server's decoder gives the input back */
		assert_int_equal(mailsec_smtp_xtext_decode(out, len, back,
		    sizeof back, &blen), MAILSEC_OK);
		assert_int_equal(blen, t->inlen);
		assert_memory_equal(back, t->in, t->inlen);
		/* exactly enough room, then one short */
		assert_int_equal(mailsec_smtp_xtext_encode(t->in, t->inlen,
		    out, len + 1, NULL), MAILSEC_OK);
		if (len > 0) {
			assert_int_equal(mailsec_smtp_xtext_encode(t->in,
			    t->inlen, out, len, &blen), MAILSEC_ELIMIT);
			assert_string_equal(out, "");
		}
	}
	assert_int_equal(mailsec_smtp_xtext_encode(NULL, 1, out, sizeof out,
	    &len), MAILSEC_EINVAL);
	assert_int_equal(mailsec_smtp_xtext_encode("a", 1, NULL, 4, &len),
	    MAILSEC_EINVAL);
	assert_int_equal(mailsec_smtp_xtext_encode("a", 1, out, 0, &len),
	    MAILSEC_EINVAL);
	/* every octet round-trips */
	{
		char all[256], enc[800], dec[300];

		for (i = 0; i < 256; i++)
			all[i] = (char)i;
		assert_int_equal(mailsec_smtp_xtext_encode(all, 256, enc,
		    sizeof enc, &len), MAILSEC_OK);
		assert_int_equal(mailsec_smtp_xtext_decode(enc, len, dec,
		    sizeof dec, &blen), MAILSEC_OK);
		assert_int_equal(blen, 256);
		assert_memory_equal(dec, all, 256);
	}
}

/* ---- AUTH -------------------------------------------------------------- */

struct auth_case {
	const char *user, *pass;
	mailsec_err err;
	const char *want;
};

static const struct auth_case auth_cases[] = {
	/* RFC 4616 4 */
	{ "tim", "tanstaaftanstaaf", MAILSEC_OK,
	    "AHRpbQB0YW5zdGFhZnRhbnN0YWFm" },
	{ "user", "p\xc3\xa4ss", MAILSEC_OK, "AHVzZXIAcMOkc3M=" },
	{ "u", "p", MAILSEC_OK, "AHUAcA==" },
	{ "", "p", MAILSEC_EINVAL, NULL },
	{ "u", "", MAILSEC_EINVAL, NULL },
	{ NULL, "p", MAILSEC_EINVAL, NULL },
	{ "u", NULL, MAILSEC_EINVAL, NULL },
};

static void
test_auth(void **state)
{
	struct mailsec_smtp_sasl_creds c;
	struct mailsec_smtp_reply r;
	char buf[1024], big[300];
	size_t i, len;

	(void)state;
	for (i = 0; i < NCASES(auth_cases); i++) {
		const struct auth_case *t = &auth_cases[i];

		print_message("auth %zu\n", i);
		len = 99;
		assert_int_equal(mailsec_smtp_auth_plain(t->user, t->pass, buf,
		    sizeof buf, &len), t->err);
		if (t->err != MAILSEC_OK) {
			assert_int_equal(len, 0);
			continue;
		}
		assert_string_equal(buf, t->want);
		assert_int_equal(len, strlen(t->want));
		/* the server's decoder agrees */
		assert_int_equal(mailsec_smtp_sasl_plain_decode(buf, len, &c,
		    &r), MAILSEC_OK);
		assert_string_equal(c.authzid, "");
		assert_string_equal(c.authcid, t->user);
		assert_string_equal(c.passwd, t->pass);
		/* exactly enough room, then one short */
		assert_int_equal(mailsec_smtp_auth_plain(t->user, t->pass, buf,
		    len + 1, &len), MAILSEC_OK);
		assert_int_equal(mailsec_smtp_auth_plain(t->user, t->pass, buf,
		    len, &len), MAILSEC_ELIMIT);
	}
	/* 255 octets each fit, 256 do not (RFC 4616 2) */
	memset(big, 'p', sizeof big);
	big[255] = '\0';
	assert_int_equal(mailsec_smtp_auth_plain(big, big, buf, sizeof buf,
	    &len), MAILSEC_OK);
	assert_int_equal(len, (2 + 255 + 255 + 2) / 3 * 4);
	assert_int_equal(mailsec_smtp_sasl_plain_decode(buf, len, &c, &r),
	    MAILSEC_OK);
	assert_int_equal(c.passwd_len, 255);
	big[255] = 'p';
	big[256] = '\0';
	assert_int_equal(mailsec_smtp_auth_plain("u", big, buf, sizeof buf,
	    &len), MAILSEC_ELIMIT);
	assert_int_equal(mailsec_smtp_auth_plain(big, "p", buf, sizeof buf,
	    &len), MAILSEC_ELIMIT);
	assert_int_equal(mailsec_smtp_auth_plain("u", "p", NULL, 10, &len),
	    MAILSEC_EINVAL);
	/* LOGIN steps */
	assert_int_equal(mailsec_smtp_auth_login("user", buf, sizeof buf,
	    &len), MAILSEC_OK);
	assert_string_equal(buf, "dXNlcg==");
	assert_int_equal(mailsec_smtp_auth_login("ab", buf, sizeof buf,
	    &len), MAILSEC_OK);
	assert_string_equal(buf, "YWI=");
	assert_int_equal(mailsec_smtp_auth_login("abc", buf, sizeof buf,
	    &len), MAILSEC_OK);
	assert_string_equal(buf, "YWJj");
	assert_int_equal(len, 4);
	assert_int_equal(mailsec_smtp_auth_login("abc", buf, 4, &len),
	    MAILSEC_ELIMIT);
	assert_int_equal(mailsec_smtp_auth_login("", buf, sizeof buf, &len),
	    MAILSEC_EINVAL);
	assert_int_equal(mailsec_smtp_auth_login(big, buf, sizeof buf, &len),
	    MAILSEC_ELIMIT);
}

/* ---- dot-stuffing ------------------------------------------------------ */

struct dot_case {
	const char *in;
	const char *want;	/* after finish */
};

static const struct dot_case dot_cases[] = {
	{ "", ".\r\n" },
	{ "a", "a\r\n.\r\n" },
	{ "a\r\n", "a\r\n.\r\n" },
	{ "a\n", "a\r\n.\r\n" },
	{ ".", "..\r\n.\r\n" },
	{ ".a\n", "..a\r\n.\r\n" },
	{ "a\n.\n", "a\r\n..\r\n.\r\n" },
	{ "a\r\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n" },
	{ "a.b\n..\n", "a.b\r\n...\r\n.\r\n" },
	/* bare CR ends a line too: no smuggled "\r.\r" */
	{ "a\rb", "a\r\nb\r\n.\r\n" },
	{ "a\r.\r", "a\r\n..\r\n.\r\n" },
	{ "\r\r\n", "\r\n\r\n.\r\n" },
	{ "\n.\r.\n", "\r\n..\r\n..\r\n.\r\n" },
	{ "\r\n\r\n", "\r\n\r\n.\r\n" },
	{ "\n\r", "\r\n\r\n.\r\n" },
	{ "x\r\n.\r\n", "x\r\n..\r\n.\r\n" },
	{ "\xff\x00.", "\xff\x00.\r\n.\r\n" },
};

/* Stuffs in (len bytes) in chunks of chunk bytes (0: whole); returns the
 * output (malloc'd) and its length. */
static char *
stuff(const char *in, size_t len, size_t chunk, size_t *outlen)
{
	struct mailsec_smtp_dotstuff d;
	size_t pos = 0, n, o = 0, w;
	char *out = malloc(mailsec_smtp_dotstuff_bound(len) + 5);

	assert_non_null(out);
	mailsec_smtp_dotstuff_init(&d);
	while (pos < len) {
		n = chunk == 0 || chunk > len - pos ? len - pos : chunk;
		w = mailsec_smtp_dotstuff(&d, in + pos, n, out + o);
		assert_true(w <= mailsec_smtp_dotstuff_bound(n));
		o += w;
		pos += n;
	}
	w = mailsec_smtp_dotstuff_finish(&d, out + o);
	assert_true(w <= 5);
	o += w;
	assert_true(d.in == len && d.out == o);
	*outlen = o;
	return out;
}

static void
test_dotstuff_table(void **state)
{
	size_t i, len, inlen, wlen, chunk, olen;
	char *whole, *part;

	(void)state;
	for (i = 0; i < NCASES(dot_cases); i++) {
		const struct dot_case *t = &dot_cases[i];

		print_message("dotstuff %zu\n", i);
		/* "\xff\x00." holds a NUL: lengths by hand */
		inlen = i + 1 == NCASES(dot_cases) ? 3 : strlen(t->in);
		wlen = i + 1 == NCASES(dot_cases) ? 8 : strlen(t->want);
		whole = stuff(t->in, inlen, 0, &len);
		assert_int_equal(len, wlen);
		assert_memory_equal(whole, t->want, wlen);
		for (chunk = 1; chunk <= 3; chunk++) {
			part = stuff(t->in, inlen, chunk, &olen);
			assert_int_equal(olen, len);
			assert_memory_equal(part, whole, len);
			free(part);
		}
		free(whole);
	}
	assert_int_equal(mailsec_smtp_dotstuff_bound(0), 0);
	assert_int_equal(mailsec_smtp_dotstuff_bound(10), 20);
	assert_true(mailsec_smtp_dotstuff_bound(SIZE_MAX / 2 + 1) ==
	    SIZE_MAX);
}

/* A larger message: 1-byte chunks equal the whole, the worst case meets
 * the bound. */
static void
test_dotstuff_chunks(void **state)
{
	static char in[4096];
	size_t i, len, olen;
	char *whole, *part;
	uint32_t s = 12345;

	(void)state;
	for (i = 0; i < sizeof in; i++) {
		s = s * 1103515245 + 12345;
		in[i] = "ab.\r\n.\n"[(s >> 16) % 7];
	}
	whole = stuff(in, sizeof in, 0, &len);
	part = stuff(in, sizeof in, 1, &olen);
	assert_int_equal(len, olen);
	assert_memory_equal(whole, part, len);
	free(part);
	free(whole);
	/* "\n" or "." alone at line start: two out per byte in */
	memset(in, '\n', sizeof in);
	whole = stuff(in, sizeof in, 0, &len);
	assert_int_equal(len, 2 * sizeof in + 3);
	free(whole);
	{
		struct mailsec_smtp_dotstuff d;
		char out[8];

		mailsec_smtp_dotstuff_init(&d);
		assert_int_equal(mailsec_smtp_dotstuff(&d, ".", 1, out), 2);
		assert_memory_equal(out, "..", 2);
		assert_int_equal(mailsec_smtp_dotstuff(NULL, ".", 1, out), 0);
		assert_int_equal(mailsec_smtp_dotstuff(&d, NULL, 0, out), 0);
	}
}

/* ---- reply class ------------------------------------------------------- */

static void
test_reply_class(void **state)
{
	static const struct {
		int code;
		enum mailsec_smtp_class want;
	} cases[] = {
		{ 200, MAILSEC_SMTP_OK }, { 250, MAILSEC_SMTP_OK },
		{ 299, MAILSEC_SMTP_OK }, { 354, MAILSEC_SMTP_TEMP },
		{ 421, MAILSEC_SMTP_TEMP }, { 451, MAILSEC_SMTP_TEMP },
		{ 500, MAILSEC_SMTP_PERM }, { 550, MAILSEC_SMTP_PERM },
		{ 599, MAILSEC_SMTP_PERM }, { 0, MAILSEC_SMTP_TEMP },
		{ 199, MAILSEC_SMTP_TEMP }, { 600, MAILSEC_SMTP_TEMP },
		{ -250, MAILSEC_SMTP_TEMP },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NCASES(cases); i++)
		assert_int_equal(mailsec_smtp_reply_class(cases[i].code),
		    cases[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_table),
		cmocka_unit_test(test_reply_pipelined),
		cmocka_unit_test(test_reply_limits),
		cmocka_unit_test(test_ehlo_table),
		cmocka_unit_test(test_mail_table),
		cmocka_unit_test(test_mail_limits),
		cmocka_unit_test(test_rcpt_table),
		cmocka_unit_test(test_rcpt_orcpt_limit),
		cmocka_unit_test(test_xtext_table),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_dotstuff_table),
		cmocka_unit_test(test_dotstuff_chunks),
		cmocka_unit_test(test_reply_class),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
