/*
 * tests/unit/smtp/test_smtp_line.c - the command line splitter (RFC 5321
 * 2.3.8 line ends, 4.5.3.1.4 length; RFC 4954 4 AUTH lines) and the reply
 * builder (RFC 5321 4.2.1, RFC 2034, EHLO).
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

#define LIT(s) s, sizeof(s) - 1

/* One event of the splitter over a stream. */
struct ev {
	enum mailsec_smtp_line_status st;
	char line[64];		/* prefix of the line, NUL-terminated */
};

/*
 * Simulates a daemon: a bounded buffer, reads of `step` bytes from the
 * stream, next() until NEED_MORE, drop *consumed. Returns the events.
 */
static size_t
split_stream(const char *in, size_t len, size_t step, size_t max,
    struct ev *evs, size_t maxev)
{
	struct mailsec_smtp_lines ls;
	struct mailsec_str line;
	enum mailsec_smtp_line_status st;
	char *buf;
	size_t have = 0, pos = 0, used, nev = 0, n, cap;

	mailsec_smtp_lines_init(&ls, max, 0);
	cap = ls.auth_max + step;
	buf = malloc(cap);
	assert_non_null(buf);
	while (pos < len || have > 0) {
		n = len - pos < step ? len - pos : step;
		assert_true(have + n <= cap);
		memcpy(buf + have, in + pos, n);
		have += n;
		pos += n;
		for (;;) {
			st = mailsec_smtp_line_next(&ls, buf, have, &used,
			    &line);
			assert_true(used <= have);
			if (st == MAILSEC_SMTP_LINE_OK)
				assert_int_equal(used, line.len + 2);
			if (st != MAILSEC_SMTP_LINE_NEED_MORE) {
				assert_true(nev < maxev);
				evs[nev].st = st;
				n = line.len < sizeof evs[nev].line - 1 ?
				    line.len : sizeof evs[nev].line - 1;
				memcpy(evs[nev].line, line.ptr, n);
				evs[nev].line[n] = '\0';
				nev++;
			}
			memmove(buf, buf + used, have - used);
			have -= used;
			if (st == MAILSEC_SMTP_LINE_NEED_MORE) {
				/* what is kept stays under the limit */
				assert_true(have < ls.auth_max);
				break;
			}
		}
		if (pos == len)
			break;
	}
	free(buf);
	return nev;
}

static void
test_line_basic(void **state)
{
	static const char in[] =
	    "EHLO client.example.org\r\nMAIL FROM:<a@b.example>\r\n"
	    "\r\nQUIT\r\n";
	struct ev evs[8];
	size_t step, n;

	(void)state;
	for (step = 1; step <= sizeof in; step++) {
		n = split_stream(LIT(in), step, 0, evs, 8);
		assert_int_equal(n, 4);
		assert_int_equal(evs[0].st, MAILSEC_SMTP_LINE_OK);
		assert_string_equal(evs[0].line, "EHLO client.example.org");
		assert_string_equal(evs[1].line, "MAIL FROM:<a@b.example>");
		assert_int_equal(evs[2].st, MAILSEC_SMTP_LINE_OK);
		assert_string_equal(evs[2].line, "");
		assert_string_equal(evs[3].line, "QUIT");
	}
}

static void
test_line_bare_lf_cr(void **state)
{
	static const char in[] =
	    "NOOP\nRSET\r\nMAIL FROM:<a@b>\rRCPT TO:<c@d>\r\nQUIT\r\r\nX\r\n";
	struct ev evs[8];
	size_t step, n;

	(void)state;
	for (step = 1; step <= sizeof in; step++) {
		n = split_stream(LIT(in), step, 0, evs, 8);
		assert_int_equal(n, 5);
		assert_int_equal(evs[0].st, MAILSEC_SMTP_LINE_BARE_LF);
		assert_string_equal(evs[0].line, "NOOP");
		assert_int_equal(evs[1].st, MAILSEC_SMTP_LINE_OK);
		assert_string_equal(evs[1].line, "RSET");
		/* a bare CR does not split the line: both halves refused */
		assert_int_equal(evs[2].st, MAILSEC_SMTP_LINE_BARE_CR);
		assert_string_equal(evs[2].line,
		    "MAIL FROM:<a@b>\rRCPT TO:<c@d>");
		assert_int_equal(evs[3].st, MAILSEC_SMTP_LINE_BARE_CR);
		assert_int_equal(evs[4].st, MAILSEC_SMTP_LINE_OK);
		assert_string_equal(evs[4].line, "X");
	}
}

static void
test_line_too_long(void **state)
{
	static char in[4000];
	struct ev evs[8];
	size_t step, n, len = 0;
	struct mailsec_smtp_reply r;

	(void)state;
	/* limit 20 with CRLF: 18 characters fit, 19 do not */
	memcpy(in, "NOOP 1234567890123\r\n", 20);	/* 18 + 2 */
	len = 20;
	memset(in + len, 'A', 3000);
	len += 3000;
	memcpy(in + len, "\r\nNOOP 12345678901234\r\nQUIT\r\n", 29);
	len += 29;
	for (step = 1; step <= 64; step++) {
		n = split_stream(in, len, step, 20, evs, 8);
		assert_int_equal(n, 4);
		assert_int_equal(evs[0].st, MAILSEC_SMTP_LINE_OK);
		assert_int_equal(evs[1].st, MAILSEC_SMTP_LINE_TOO_LONG);
		assert_int_equal(evs[2].st, MAILSEC_SMTP_LINE_TOO_LONG);
		assert_int_equal(evs[3].st, MAILSEC_SMTP_LINE_OK);
		assert_string_equal(evs[3].line, "QUIT");
	}
	n = split_stream(in, len, 4000, 20, evs, 8);
	assert_int_equal(n, 4);
	assert_true(mailsec_smtp_line_reply(MAILSEC_SMTP_LINE_TOO_LONG, &r));
	assert_int_equal(r.code, 500);
	assert_string_equal(r.status, "5.5.2");
	assert_true(mailsec_smtp_line_reply(MAILSEC_SMTP_LINE_BARE_LF, &r));
	assert_int_equal(r.code, 500);
	assert_false(mailsec_smtp_line_reply(MAILSEC_SMTP_LINE_OK, &r));
	assert_false(mailsec_smtp_line_reply(MAILSEC_SMTP_LINE_NEED_MORE, &r));
}

static void
test_line_default_limits(void **state)
{
	struct mailsec_smtp_lines ls;
	struct mailsec_str line;
	static char buf[MAILSEC_SMTP_AUTH_LINE_MAX + 16];
	size_t used, max;

	(void)state;
	mailsec_smtp_lines_init(&ls, 0, 0);
	max = MAILSEC_SMTP_LINE_MAX_DEFAULT;
	assert_int_equal(ls.max, max);
	assert_true(max >= MAILSEC_SMTP_CMD_LINE_MAX +
	    MAILSEC_SMTP_RCPT_ALLOWANCE);
	/* exactly max with CRLF: fine */
	memset(buf, 'x', sizeof buf);
	memcpy(buf, "NOOP ", 5);
	buf[max - 2] = '\r';
	buf[max - 1] = '\n';
	assert_int_equal(mailsec_smtp_line_next(&ls, buf, max, &used, &line),
	    MAILSEC_SMTP_LINE_OK);
	assert_int_equal(line.len, max - 2);
	/* one more: too long, found at once */
	buf[max - 2] = 'x';
	buf[max - 1] = '\r';
	buf[max] = '\n';
	assert_int_equal(mailsec_smtp_line_next(&ls, buf, max + 1, &used,
	    &line), MAILSEC_SMTP_LINE_TOO_LONG);
	assert_int_equal(used, max + 1);
	assert_false(ls.discarding);
	/* AUTH lines may be longer (RFC 4954 4) */
	memcpy(buf, "AUTH PLAIN ", 11);
	buf[max - 1] = 'x';
	buf[max] = 'x';
	buf[5000] = '\r';
	buf[5001] = '\n';
	assert_int_equal(mailsec_smtp_line_next(&ls, buf, 5002, &used, &line),
	    MAILSEC_SMTP_LINE_OK);
	assert_int_equal(line.len, 5000);
	/* NEED_MORE keeps a partial AUTH line until auth_max */
	assert_int_equal(mailsec_smtp_line_next(&ls, buf, 4000, &used, &line),
	    MAILSEC_SMTP_LINE_NEED_MORE);
	assert_int_equal(used, 0);
	buf[5000] = 'x';
	buf[5001] = 'x';
	buf[MAILSEC_SMTP_AUTH_LINE_MAX] = 'x';
	assert_int_equal(mailsec_smtp_line_next(&ls, buf,
	    MAILSEC_SMTP_AUTH_LINE_MAX + 1, &used, &line),
	    MAILSEC_SMTP_LINE_NEED_MORE);
	assert_int_equal(used, MAILSEC_SMTP_AUTH_LINE_MAX + 1);
	assert_true(ls.discarding);
	assert_int_equal(mailsec_smtp_line_next(&ls, "tail\r\nNOOP\r\n", 12,
	    &used, &line), MAILSEC_SMTP_LINE_TOO_LONG);
	assert_int_equal(used, 6);
	assert_int_equal(mailsec_smtp_line_next(&ls, "NOOP\r\n", 6, &used,
	    &line), MAILSEC_SMTP_LINE_OK);
	assert_int_equal(mailsec_smtp_line_next(&ls, "", 0, &used, &line),
	    MAILSEC_SMTP_LINE_NEED_MORE);
}

/* ---- replies ----------------------------------------------------------- */

static void
test_reply_lines(void **state)
{
	char buf[600];
	size_t len = 0;
	struct mailsec_smtp_reply r;

	(void)state;
	assert_int_equal(mailsec_smtp_reply_line(buf, sizeof buf, &len, 250,
	    "2.0.0", LIT("OK"), true), MAILSEC_OK);
	assert_string_equal(buf, "250 2.0.0 OK\r\n");
	len = 0;
	assert_int_equal(mailsec_smtp_reply_line(buf, sizeof buf, &len, 220,
	    NULL, LIT("mx ready\r\n"), false), MAILSEC_OK);
	assert_string_equal(buf, "220-mx ready??\r\n");
	assert_int_equal(mailsec_smtp_reply_line(buf, sizeof buf, &len, 99,
	    NULL, LIT("x"), true), MAILSEC_EINVAL);
	mailsec_smtp_reply_set(&r, 550, "5.7.1", "Rejected\nby policy %d", 7);
	len = 0;
	assert_int_equal(mailsec_smtp_reply_write(buf, sizeof buf, &len, &r,
	    true), MAILSEC_OK);
	assert_string_equal(buf,
	    "550-5.7.1 Rejected\r\n550 5.7.1 by policy 7\r\n");
	assert_int_equal(len, strlen(buf));
	len = 0;
	assert_int_equal(mailsec_smtp_reply_write(buf, sizeof buf, &len, &r,
	    false), MAILSEC_OK);
	assert_string_equal(buf, "550-Rejected\r\n550 by policy 7\r\n");
	/* bounded: too small a buffer leaves it as it was */
	len = 0;
	assert_int_equal(mailsec_smtp_reply_write(buf, 25, &len, &r, true),
	    MAILSEC_ELIMIT);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
}

static void
test_reply_line_limit(void **state)
{
	static char text[600], buf[2048];
	size_t len = 0;

	(void)state;
	memset(text, 'a', sizeof text);
	/* "250 " + text + CRLF = 512 */
	assert_int_equal(mailsec_smtp_reply_line(buf, sizeof buf, &len, 250,
	    NULL, text, 506, true), MAILSEC_OK);
	assert_int_equal(len, 512);
	len = 0;
	assert_int_equal(mailsec_smtp_reply_line(buf, sizeof buf, &len, 250,
	    NULL, text, 507, true), MAILSEC_ELIMIT);
	assert_int_equal(len, 0);
}

static void
test_ehlo_reply(void **state)
{
	struct mailsec_smtp_caps caps = { 0 };
	char buf[1024];
	size_t len = 0;

	(void)state;
	caps.flags = MAILSEC_SMTP_CAP_PIPELINING | MAILSEC_SMTP_CAP_8BITMIME |
	    MAILSEC_SMTP_CAP_SMTPUTF8 | MAILSEC_SMTP_CAP_SIZE |
	    MAILSEC_SMTP_CAP_ENHANCED | MAILSEC_SMTP_CAP_CHUNKING |
	    MAILSEC_SMTP_CAP_DSN | MAILSEC_SMTP_CAP_STARTTLS |
	    MAILSEC_SMTP_CAP_AUTH_PLAIN | MAILSEC_SMTP_CAP_AUTH_LOGIN;
	caps.size_max = 10485760;
	assert_int_equal(mailsec_smtp_ehlo_reply(buf, sizeof buf, &len,
	    "mx.example.org", "greets [192.0.2.1]", &caps), MAILSEC_OK);
	assert_string_equal(buf,
	    "250-mx.example.org greets [192.0.2.1]\r\n"
	    "250-PIPELINING\r\n"
	    "250-SIZE 10485760\r\n"
	    "250-8BITMIME\r\n"
	    "250-SMTPUTF8\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n"
	    "250-CHUNKING\r\n"
	    "250-DSN\r\n"
	    "250-STARTTLS\r\n"
	    "250 AUTH PLAIN LOGIN\r\n");
	len = 0;
	caps.flags = MAILSEC_SMTP_CAP_SIZE | MAILSEC_SMTP_CAP_AUTH_LOGIN;
	caps.size_max = 0;
	assert_int_equal(mailsec_smtp_ehlo_reply(buf, sizeof buf, &len,
	    "mx", NULL, &caps), MAILSEC_OK);
	assert_string_equal(buf, "250-mx\r\n250-SIZE\r\n250 AUTH LOGIN\r\n");
	len = 0;
	caps.flags = 0;
	assert_int_equal(mailsec_smtp_ehlo_reply(buf, sizeof buf, &len,
	    "mx", "hi", &caps), MAILSEC_OK);
	assert_string_equal(buf, "250 mx hi\r\n");
	/* bounded */
	len = 0;
	caps.flags = MAILSEC_SMTP_CAP_PIPELINING | MAILSEC_SMTP_CAP_DSN;
	assert_int_equal(mailsec_smtp_ehlo_reply(buf, 20, &len, "mx", "hi",
	    &caps), MAILSEC_ELIMIT);
	assert_int_equal(len, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_basic),
		cmocka_unit_test(test_line_bare_lf_cr),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_line_default_limits),
		cmocka_unit_test(test_reply_lines),
		cmocka_unit_test(test_reply_line_limit),
		cmocka_unit_test(test_ehlo_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
