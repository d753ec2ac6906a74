/*
 * tests/unit/smtp/test_smtp_session.c - command sequencing (RFC 5321
 * 4.1.4, 4.3.2), BDAT rules (RFC 3030), STARTTLS (RFC 3207 4.2) and
 * pipelining groups (RFC 2920 3.1), driven as the daemon would.
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

#define MX_CAPS (MAILSEC_SMTP_CAP_PIPELINING | MAILSEC_SMTP_CAP_8BITMIME | \
	MAILSEC_SMTP_CAP_SMTPUTF8 | MAILSEC_SMTP_CAP_SIZE | \
	MAILSEC_SMTP_CAP_ENHANCED | MAILSEC_SMTP_CAP_CHUNKING | \
	MAILSEC_SMTP_CAP_DSN | MAILSEC_SMTP_CAP_STARTTLS)
#define SUB_CAPS (MX_CAPS | MAILSEC_SMTP_CAP_AUTH)

/*
 * Parses line in the session's state, checks it and, when allowed,
 * accepts it. Returns the reply code the daemon would send for a refusal,
 * 0 when allowed.
 */
static unsigned
send_cmd(struct mailsec_smtp_session *s, const char *line,
    struct mailsec_smtp_cmd *cmd)
{
	struct mailsec_smtp_parse_opts o;
	struct mailsec_smtp_reply r;

	mailsec_smtp_session_parse_opts(s, &o);
	if (mailsec_smtp_cmd_parse(line, strlen(line), &o, cmd, NULL) !=
	    MAILSEC_OK || cmd->verb == MAILSEC_SMTP_UNKNOWN)
		return cmd->reply.code;
	memset(&r, 0, sizeof r);
	if (!mailsec_smtp_session_check(s, cmd, &r)) {
		assert_true(r.code >= 400);
		assert_true(r.text[0] != '\0');
		return r.code;
	}
	mailsec_smtp_session_accept(s, cmd);
	return 0;
}

static unsigned
send_line(struct mailsec_smtp_session *s, const char *line)
{
	struct mailsec_smtp_cmd cmd;

	return send_cmd(s, line, &cmd);
}

static void
test_session_mx_transaction(void **state)
{
	struct mailsec_smtp_session s;

	(void)state;
	mailsec_smtp_session_init(&s, MX_CAPS, 0, 1000, 3);
	assert_string_equal(mailsec_smtp_state_name(s.state), "greeting");
	assert_int_equal(send_line(&s, "MAIL FROM:<a@b.example>"), 503);
	assert_int_equal(send_line(&s, "RCPT TO:<a@b.example>"), 503);
	assert_int_equal(send_line(&s, "DATA"), 503);
	assert_int_equal(send_line(&s, "NOOP"), 0);
	assert_int_equal(send_line(&s, "EHLO client.example"), 0);
	assert_int_equal(s.state, MAILSEC_SMTP_ST_READY);
	assert_int_equal(send_line(&s, "RCPT TO:<a@b.example>"), 503);
	assert_int_equal(send_line(&s, "DATA"), 503);
	assert_int_equal(send_line(&s, "MAIL FROM:<a@b.example> SIZE=2000"),
	    552);
	assert_int_equal(send_line(&s, "MAIL FROM:<a@b.example> SIZE=200"),
	    0);
	assert_int_equal(s.state, MAILSEC_SMTP_ST_MAIL);
	assert_int_equal(send_line(&s, "MAIL FROM:<a@b.example>"), 503);
	assert_int_equal(send_line(&s, "DATA"), 503);
	assert_int_equal(send_line(&s, "RCPT TO:<x@y.example>"), 0);
	assert_int_equal(send_line(&s, "RCPT TO:<x@y.example> NOTIFY=NEVER"),
	    0);
	assert_int_equal(send_line(&s, "RCPT TO:<z@y.example>"), 0);
	assert_int_equal(s.nrcpt, 3);
	assert_int_equal(send_line(&s, "RCPT TO:<w@y.example>"), 452);
	assert_int_equal(send_line(&s, "DATA"), 0);
	assert_int_equal(s.state, MAILSEC_SMTP_ST_DATA);
	/* no command while DATA streams */
	assert_int_equal(send_line(&s, "RSET"), 503);
	mailsec_smtp_session_end_message(&s);
	assert_int_equal(s.state, MAILSEC_SMTP_ST_READY);
	assert_int_equal(s.nrcpt, 0);
	/* RSET ends a transaction */
	assert_int_equal(send_line(&s, "MAIL FROM:<>"), 0);
	assert_int_equal(send_line(&s, "RSET"), 0);
	assert_int_equal(s.state, MAILSEC_SMTP_ST_READY);
	/* so does EHLO */
	assert_int_equal(send_line(&s, "MAIL FROM:<>"), 0);
	assert_int_equal(send_line(&s, "EHLO again.example"), 0);
	assert_int_equal(s.state, MAILSEC_SMTP_ST_READY);
	/* AUTH is not offered here */
	assert_int_equal(send_line(&s, "AUTH PLAIN"), 502);
	assert_int_equal(send_line(&s, "BOGUS"), 500);
	assert_int_equal(send_line(&s, "QUIT"), 0);
	assert_int_equal(s.state, MAILSEC_SMTP_ST_QUIT);
	assert_int_equal(send_line(&s, "NOOP"), 503);
}

static void
test_session_helo_no_extensions(void **state)
{
	struct mailsec_smtp_session s;

	(void)state;
	mailsec_smtp_session_init(&s, MX_CAPS, 0, 0, 0);
	assert_int_equal(send_line(&s, "HELO client.example"), 0);
	/* no ESMTP parameters after HELO */
	assert_int_equal(send_line(&s, "MAIL FROM:<a@b.example> SIZE=10"),
	    555);
	assert_int_equal(send_line(&s, "MAIL FROM:<a@b.example>"), 0);
	assert_int_equal(send_line(&s, "RCPT TO:<c@d.example>"), 0);
	assert_int_equal(send_line(&s, "BDAT 10 LAST"), 502);
	assert_int_equal(send_line(&s, "DATA"), 0);
}

static void
test_session_smtputf8(void **state)
{
	struct mailsec_smtp_session s;

	(void)state;
	mailsec_smtp_session_init(&s, MX_CAPS, 0, 0, 0);
	assert_int_equal(send_line(&s, "EHLO c.example"), 0);
	assert_int_equal(send_line(&s, "MAIL FROM:<a@b.example>"), 0);
	assert_int_equal(send_line(&s, "RCPT TO:<\xc3\xa9@d.example>"), 553);
	assert_int_equal(send_line(&s, "RSET"), 0);
	assert_int_equal(send_line(&s, "MAIL FROM:<a@b.example> SMTPUTF8"),
	    0);
	assert_int_equal(send_line(&s, "RCPT TO:<\xc3\xa9@d.example>"), 0);
	/* the flag goes with the transaction */
	assert_int_equal(send_line(&s, "RSET"), 0);
	assert_int_equal(send_line(&s, "MAIL FROM:<a@b.example>"), 0);
	assert_int_equal(send_line(&s, "RCPT TO:<\xc3\xa9@d.example>"), 553);
}

static void
test_session_bdat(void **state)
{
	struct mailsec_smtp_session s;
	struct mailsec_smtp_cmd cmd;

	(void)state;
	mailsec_smtp_session_init(&s, MX_CAPS, 0, 0, 0);
	assert_int_equal(send_line(&s, "EHLO c.example"), 0);
	assert_int_equal(send_line(&s, "BDAT 10"), 503);
	assert_int_equal(send_line(&s, "MAIL FROM:<a@b.example>"), 0);
	assert_int_equal(send_line(&s, "BDAT 10"), 503);
	assert_int_equal(send_line(&s, "RCPT TO:<c@d.example>"), 0);
	assert_int_equal(send_cmd(&s, "BDAT 10", &cmd), 0);
	assert_int_equal(cmd.bdat_size, 10);
	assert_int_equal(s.state, MAILSEC_SMTP_ST_BDAT);
	assert_int_equal(send_line(&s, "DATA"), 503);
	assert_int_equal(send_line(&s, "RCPT TO:<e@d.example>"), 503);
	assert_int_equal(send_line(&s, "MAIL FROM:<a@b.example>"), 503);
	assert_int_equal(send_line(&s, "BDAT 5"), 0);
	assert_int_equal(send_line(&s, "BDAT 0 LAST"), 0);
	assert_int_equal(s.state, MAILSEC_SMTP_ST_READY);
	assert_int_equal(send_line(&s, "BDAT 1"), 503);
	/* a failed chunk: later BDATs are refused (and drained) until RSET */
	assert_int_equal(send_line(&s, "MAIL FROM:<a@b.example>"), 0);
	assert_int_equal(send_line(&s, "RCPT TO:<c@d.example>"), 0);
	assert_int_equal(send_line(&s, "BDAT 10"), 0);
	s.flags |= MAILSEC_SMTP_S_BDAT_FAILED;
	assert_int_equal(send_line(&s, "BDAT 10 LAST"), 554);
	assert_int_equal(send_line(&s, "RSET"), 0);
	assert_int_equal(s.flags & MAILSEC_SMTP_S_BDAT_FAILED, 0);
	assert_int_equal(send_line(&s, "MAIL FROM:<a@b.example>"), 0);
}

static void
test_session_submission(void **state)
{
	struct mailsec_smtp_session s;
	struct mailsec_smtp_cmd cmd;
	unsigned caps;

	(void)state;
	mailsec_smtp_session_init(&s, SUB_CAPS, MAILSEC_SMTP_S_TLS_REQUIRED |
	    MAILSEC_SMTP_S_AUTH_REQUIRED, 0, 0);
	/* before TLS: STARTTLS offered, AUTH not */
	caps = mailsec_smtp_session_caps(&s);
	assert_true(caps & MAILSEC_SMTP_CAP_STARTTLS);
	assert_false(caps & MAILSEC_SMTP_CAP_AUTH);
	assert_int_equal(send_line(&s, "STARTTLS"), 503);	/* EHLO first */
	assert_int_equal(send_line(&s, "EHLO c.example"), 0);
	assert_int_equal(send_line(&s, "AUTH PLAIN"), 538);
	assert_int_equal(send_line(&s, "MAIL FROM:<a@b.example>"), 530);
	assert_int_equal(send_cmd(&s, "STARTTLS", &cmd), 0);
	/* the client pipelined a command after STARTTLS: drop it */
	assert_true(mailsec_smtp_session_starttls(&s, 23));
	assert_int_equal(s.state, MAILSEC_SMTP_ST_GREETING);
	assert_true(s.flags & MAILSEC_SMTP_S_TLS);
	caps = mailsec_smtp_session_caps(&s);
	assert_false(caps & MAILSEC_SMTP_CAP_STARTTLS);
	assert_true(caps & MAILSEC_SMTP_CAP_AUTH);
	assert_int_equal(send_line(&s, "AUTH PLAIN"), 503);	/* EHLO again */
	assert_int_equal(send_line(&s, "STARTTLS"), 503);	/* TLS on */
	assert_int_equal(send_line(&s, "EHLO c.example"), 0);
	assert_int_equal(send_line(&s, "STARTTLS"), 503);
	assert_int_equal(send_line(&s, "MAIL FROM:<a@b.example>"), 530);
	assert_int_equal(send_line(&s, "AUTH CRAM-MD5"), 504);
	assert_int_equal(send_line(&s, "AUTH PLAIN"), 0);
	assert_true(s.flags & MAILSEC_SMTP_S_AUTH);
	assert_false(mailsec_smtp_session_caps(&s) & MAILSEC_SMTP_CAP_AUTH);
	assert_int_equal(send_line(&s, "AUTH PLAIN"), 503);
	/* AUTH= still accepted once authenticated */
	assert_int_equal(send_line(&s,
	    "MAIL FROM:<a@b.example> AUTH=a@b.example"), 0);
	assert_int_equal(send_line(&s, "AUTH LOGIN"), 503);
	assert_int_equal(send_line(&s, "STARTTLS"), 503);

	/* only LOGIN offered */
	mailsec_smtp_session_init(&s, MX_CAPS | MAILSEC_SMTP_CAP_AUTH_LOGIN,
	    MAILSEC_SMTP_S_TLS, 0, 0);
	assert_int_equal(send_line(&s, "EHLO c.example"), 0);
	assert_int_equal(send_line(&s, "AUTH PLAIN"), 504);
	assert_int_equal(send_line(&s, "AUTH LOGIN"), 0);
	/* a clean STARTTLS has nothing to discard */
	mailsec_smtp_session_init(&s, MX_CAPS, 0, 0, 0);
	assert_int_equal(send_line(&s, "EHLO c.example"), 0);
	assert_int_equal(send_line(&s, "MAIL FROM:<a@b.example>"), 0);
	assert_int_equal(send_line(&s, "STARTTLS"), 503);
	assert_int_equal(send_line(&s, "RSET"), 0);
	assert_int_equal(send_line(&s, "STARTTLS"), 0);
	assert_false(mailsec_smtp_session_starttls(&s, 0));
}

static void
test_session_sync(void **state)
{
	struct mailsec_smtp_session s;
	struct mailsec_smtp_cmd cmd;

	(void)state;
	mailsec_smtp_session_init(&s, MX_CAPS, 0, 0, 0);
	/* early talker: anything pipelined before EHLO's reply */
	assert_int_equal(send_cmd(&s, "EHLO c.example", &cmd), 0);
	assert_true(mailsec_smtp_session_sync_error(&s, &cmd, 10));
	assert_false(mailsec_smtp_session_sync_error(&s, &cmd, 0));
	assert_int_equal(send_cmd(&s, "MAIL FROM:<a@b.example>", &cmd), 0);
	assert_false(mailsec_smtp_session_sync_error(&s, &cmd, 10));
	assert_int_equal(send_cmd(&s, "RCPT TO:<a@b.example>", &cmd), 0);
	assert_false(mailsec_smtp_session_sync_error(&s, &cmd, 10));
	assert_int_equal(send_cmd(&s, "DATA", &cmd), 0);
	assert_true(mailsec_smtp_session_sync_error(&s, &cmd, 10));
	mailsec_smtp_session_end_message(&s);
	assert_int_equal(send_cmd(&s, "NOOP", &cmd), 0);
	assert_true(mailsec_smtp_session_sync_error(&s, &cmd, 1));
	assert_int_equal(send_cmd(&s, "RSET", &cmd), 0);
	assert_false(mailsec_smtp_session_sync_error(&s, &cmd, 1));
	/* without PIPELINING (HELO) every command ends a group */
	assert_int_equal(send_cmd(&s, "HELO c.example", &cmd), 0);
	assert_int_equal(send_cmd(&s, "MAIL FROM:<a@b.example>", &cmd), 0);
	assert_true(mailsec_smtp_session_sync_error(&s, &cmd, 1));
	/* or when PIPELINING is not offered */
	mailsec_smtp_session_init(&s, MAILSEC_SMTP_CAP_8BITMIME, 0, 0, 0);
	assert_int_equal(send_cmd(&s, "EHLO c.example", &cmd), 0);
	assert_int_equal(send_cmd(&s, "MAIL FROM:<a@b.example>", &cmd), 0);
	assert_true(mailsec_smtp_session_sync_error(&s, &cmd, 1));
}

static void
test_session_names_and_opts(void **state)
{
	struct mailsec_smtp_session s;
	struct mailsec_smtp_parse_opts o;

	(void)state;
	assert_string_equal(mailsec_smtp_state_name(MAILSEC_SMTP_ST_BDAT),
	    "bdat");
	assert_string_equal(mailsec_smtp_state_name(
	    (enum mailsec_smtp_state)99), "unknown");
	mailsec_smtp_session_init(&s, MX_CAPS, 0xffffffffu, 77, 0);
	/* only the configuration flags are taken at init */
	assert_int_equal(s.flags, MAILSEC_SMTP_S_TLS |
	    MAILSEC_SMTP_S_TLS_REQUIRED | MAILSEC_SMTP_S_AUTH_REQUIRED);
	mailsec_smtp_session_parse_opts(&s, &o);
	assert_int_equal(o.caps, 0);		/* no EHLO yet */
	assert_int_equal(o.size_max, 77);
	assert_false(o.smtputf8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_mx_transaction),
		cmocka_unit_test(test_session_helo_no_extensions),
		cmocka_unit_test(test_session_smtputf8),
		cmocka_unit_test(test_session_bdat),
		cmocka_unit_test(test_session_submission),
		cmocka_unit_test(test_session_sync),
		cmocka_unit_test(test_session_names_and_opts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
