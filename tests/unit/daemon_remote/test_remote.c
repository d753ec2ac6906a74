/*
 * tests/unit/daemon_remote/test_remote.c - remote delivery
 * (daemon/remote.c) against a scripted SMTP server on loopback
 * (fake_smtp.c) with the DNS from a zone in memory: the wire bytes with
 * and without PIPELINING (dot-stuffing included), per-recipient results,
 * 421 in the middle, a refusing greeting, MX order and fallback, null
 * and implicit MX, DNS failures, SIZE, 8BITMIME and SMTPUTF8 checks,
 * opportunistic STARTTLS, require_tls against a server without it,
 * connection reuse, the per-destination limit, a smarthost with
 * AUTH PLAIN over implicit TLS (verified, and refused on a name
 * mismatch), and DANE through a real TLS policy context (a matching and
 * a mismatching TLSA record, insecure MX or address answers: no DANE, a
 * secure RRset without a usable record: TLS required, unauthenticated).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <openssl/x509.h>

#include <mailsec/dns.h>

#include "fake_smtp.h"
#include "remote.h"
#include "tlspolicy.h"

/* Loopback addresses: 127.0.0.2 has nobody listening (refused). */
static const char zone[] =
    "$ORIGIN test.\n"
    "one            MX 10 mx1.one.test.\n"
    "mx1.one        A 127.0.0.1\n"
    "two            MX 10 mxa.two.test.\n"
    "two            MX 20 mxb.two.test.\n"
    "mxa.two        A 127.0.0.2\n"
    "mxb.two        A 127.0.0.1\n"
    "three          MX 50 far.three.test.\n"
    "three          MX 5 near.three.test.\n"
    "far.three      A 127.0.0.1\n"
    "near.three     A 127.0.0.3\n"
    "eq             MX 10 a.eq.test.\n"
    "eq             MX 10 b.eq.test.\n"
    "a.eq           A 127.0.0.1\n"
    "b.eq           A 127.0.0.3\n"
    "lit            MX 10 192.0.2.1\n"
    "lit            MX 20 mx.lit.test.\n"
    "mx.lit         A 127.0.0.1\n"
    "nullmx         MX 0 .\n"
    "nullmx         A 127.0.0.1\n"
    "implicit       A 127.0.0.1\n"
    "noaddr         MX 10 mx.noaddr.test.\n"
    "mx.noaddr      TXT \"no address here\"\n"
    "$SERVFAIL      dnsfail.test.\n"
    "relay          A 127.0.0.1\n"
    "other          A 127.0.0.1\n"
    "v6             MX 10 mx.v6.test.\n"
    "mx.v6          AAAA ::1\n";

#define CERT_PATH	"/tmp/mailsec-test-remote-ca.pem"

struct src {
	const char *p;
	size_t len, off;
};

static mailsec_err
src_read(void *arg, char *buf, size_t sz, size_t *got)
{
	struct src *s = arg;
	size_t n = s->len - s->off;

	if (n > sz)
		n = sz;
	/* Small pieces: the dot-stuffer sees lines cut anywhere. */
	if (n > 7)
		n = 7;
	memcpy(buf, s->p + s->off, n);
	s->off += n;
	*got = n;
	return MAILSEC_OK;
}

static mailsec_err
src_rewind(void *arg)
{
	((struct src *)arg)->off = 0;
	return MAILSEC_OK;
}

struct fx {
	struct mailsec_resolver *res;
	struct mailsec_resolver *dres;	/* the DANE zone */
	struct tlsp_ctx *tls;
	struct fake_smtp f1, f3, f6;
	struct remote_cfg cfg;
	struct remote_ctx *rc;
	struct src src;
	struct remote_msg msg;
	struct remote_rcpt rcpt[4];
	struct remote_info info;
	char *rec;
};

static int
setup(void **state)
{
	struct fx *x = calloc(1, sizeof *x);

	if (x == NULL)
		return -1;
	if (mailsec_resolver_new_zone_mem(zone, sizeof zone - 1, NULL,
	    &x->res, NULL) != MAILSEC_OK)
		return -1;
	if (fake_smtp_start(&x->f1, "127.0.0.1", 0) != 0)
		return -1;
	x->cfg.helo = "client.test";
	x->cfg.port = x->f1.port;
	x->cfg.connect_timeout = 5;
	x->cfg.command_timeout = 5;
	x->cfg.data_timeout = 5;
	x->msg.mail_from = "s@x.test";
	x->msg.read = src_read;
	x->msg.rewind = src_rewind;
	x->msg.arg = &x->src;
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	remote_free(x->rc);
	tlsp_free(x->tls);
	fake_smtp_stop(&x->f1);
	fake_smtp_stop(&x->f3);
	fake_smtp_stop(&x->f6);
	if (x->f1.ssl_ctx != NULL)
		SSL_CTX_free(x->f1.ssl_ctx);
	mailsec_resolver_free(x->res);
	mailsec_resolver_free(x->dres);
	free(x->rec);
	free(x);
	(void)unlink(CERT_PATH);
	return 0;
}

static void
set_msg(struct fx *x, const char *text)
{
	x->src.p = text;
	x->src.len = strlen(text);
	x->src.off = 0;
	x->msg.size = x->src.len;
}

static void
set_rcpts(struct fx *x, size_t n, ...)
{
	va_list ap;
	size_t i;

	memset(x->rcpt, 0, sizeof x->rcpt);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		x->rcpt[i].addr = va_arg(ap, const char *);
	va_end(ap);
}

static mailsec_err
run(struct fx *x, const char *domain, size_t n)
{
	if (x->rc == NULL)
		assert_int_equal(remote_new(&x->rc, &x->cfg, NULL),
		    MAILSEC_OK);
	return remote_deliver(x->rc, x->res, domain, &x->msg, x->rcpt, n,
	    &x->info);
}

/* Closes the context (QUIT on kept connections), stops the fakes, takes
 * the first fake's recording. */
static const char *
finish(struct fx *x)
{
	remote_free(x->rc);
	x->rc = NULL;
	fake_smtp_stop(&x->f1);
	fake_smtp_stop(&x->f3);
	free(x->rec);
	x->rec = fake_smtp_rec(&x->f1);
	assert_non_null(x->rec);
	return x->rec;
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char msg1[] =
    "Subject: t\r\n"
    "\r\n"
    ".leading dot\r\n"
    "bare lf\n"
    "..two\r\n"
    "last";

static const char msg1_wire[] =
    "Subject: t\r\n"
    "\r\n"
    "..leading dot\r\n"
    "bare lf\r\n"
    "...two\r\n"
    "last\r\n"
    ".\r\n";

/* ---- the transaction --------------------------------------------------- */

static void
test_pipelining_wire(void **state)
{
	struct fx *x = *state;
	char want[1024];

	x->f1.ehlo = "250-fake\r\n250-PIPELINING\r\n250-SIZE 100000\r\n"
	    "250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n";
	set_msg(x, msg1);
	x->msg.body = "8BITMIME";
	set_rcpts(x, 2, "a@one.test", "b@one.test");
	assert_int_equal(run(x, "one.test", 2), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	assert_int_equal(x->rcpt[1].result, REMOTE_OK);
	assert_int_equal(x->rcpt[0].code, 250);
	assert_string_equal(x->rcpt[0].enhanced, "2.0.0");
	assert_string_equal(x->rcpt[0].text,
	    "mx1.one.test[127.0.0.1]: 250 2.0.0 queued");
	assert_string_equal(x->rcpt[1].mx, "mx1.one.test");
	assert_string_equal(x->info.mx, "mx1.one.test");
	assert_string_equal(x->info.ip, "127.0.0.1");
	assert_string_equal(x->info.tls, "none");
	(void)snprintf(want, sizeof want,
	    "EHLO client.test\r\n"
	    "MAIL FROM:<s@x.test> SIZE=%zu BODY=8BITMIME\r\n"
	    "RCPT TO:<a@one.test>\r\n"
	    "RCPT TO:<b@one.test>\r\n"
	    "DATA\r\n"
	    "%s"
	    "QUIT\r\n", sizeof msg1 - 1, msg1_wire);
	assert_string_equal(finish(x), want);
	assert_true(x->f1.mail_batched);
}

static void
test_no_pipelining_wire(void **state)
{
	struct fx *x = *state;
	char want[1024];

	x->f1.ehlo = "250-fake\r\n250 DSN\r\n";
	set_msg(x, msg1);
	x->msg.ret = "HDRS";
	x->msg.envid = "id+1";
	set_rcpts(x, 1, "a@one.test");
	x->rcpt[0].notify = "FAILURE,DELAY";
	x->rcpt[0].orcpt = "rfc822;a@one.test";
	assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	(void)snprintf(want, sizeof want,
	    "EHLO client.test\r\n"
	    "MAIL FROM:<s@x.test> RET=HDRS ENVID=id+2B1\r\n"
	    "RCPT TO:<a@one.test> NOTIFY=FAILURE,DELAY "
	    "ORCPT=rfc822;a@one.test\r\n"
	    "DATA\r\n"
	    "%s"
	    "QUIT\r\n", msg1_wire);
	assert_string_equal(finish(x), want);
	assert_false(x->f1.mail_batched);
}

static void
test_mixed_rcpt(void **state)
{
	struct fx *x = *state;

	x->f1.ehlo = "250-fake\r\n250 PIPELINING\r\n";
	x->f1.rcpt[1] = "450 4.2.1 mailbox busy\r\n";
	x->f1.rcpt[2] = "550-5.1.1 no such user\r\n550 5.1.1 really\r\n";
	set_msg(x, "Subject: m\r\n\r\nbody\r\n");
	set_rcpts(x, 3, "ok@one.test", "busy@one.test", "gone@one.test");
	assert_int_equal(run(x, "one.test", 3), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	assert_int_equal(x->rcpt[1].result, REMOTE_TEMP);
	assert_int_equal(x->rcpt[1].code, 450);
	assert_string_equal(x->rcpt[1].enhanced, "4.2.1");
	assert_string_equal(x->rcpt[1].text,
	    "mx1.one.test[127.0.0.1]: 450 4.2.1 mailbox busy");
	assert_int_equal(x->rcpt[2].result, REMOTE_PERM);
	assert_int_equal(x->rcpt[2].code, 550);
	assert_string_equal(x->rcpt[2].enhanced, "5.1.1");
	assert_string_equal(x->rcpt[2].text,
	    "mx1.one.test[127.0.0.1]: 550 5.1.1 no such user really");
	assert_string_equal(x->rcpt[2].mx, "mx1.one.test");
	/* the message went once, for the one accepted recipient */
	assert_non_null(strstr(finish(x), "\r\nbody\r\n.\r\n"));
	assert_int_equal(x->f1.nconns, 1);
}

static void
test_final_reply_applies_to_all(void **state)
{
	struct fx *x = *state;

	x->f1.dot = "554 5.7.1 rejected as spam\r\n";
	set_msg(x, "Subject: s\r\n\r\nspam\r\n");
	set_rcpts(x, 2, "a@one.test", "b@one.test");
	assert_int_equal(run(x, "one.test", 2), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_PERM);
	assert_int_equal(x->rcpt[1].result, REMOTE_PERM);
	assert_string_equal(x->rcpt[1].text,
	    "mx1.one.test[127.0.0.1]: 554 5.7.1 rejected as spam");
}

static void
test_421_mid_transaction(void **state)
{
	struct fx *x = *state;
	const char *rec;

	x->f1.rcpt[1] = "421 4.3.2 shutting down\r\n";
	set_msg(x, "Subject: s\r\n\r\nx\r\n");
	set_rcpts(x, 3, "a@one.test", "b@one.test", "c@one.test");
	assert_int_equal(run(x, "one.test", 3), MAILSEC_OK);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(x->rcpt[i].result, REMOTE_TEMP);
		assert_string_equal(x->rcpt[i].text,
		    "mx1.one.test[127.0.0.1]: 421 4.3.2 shutting down");
	}
	rec = finish(x);
	assert_null(strstr(rec, "DATA"));
	assert_null(strstr(rec, "c@one.test"));
}

static void
test_greeting_554(void **state)
{
	struct fx *x = *state;

	x->f1.greeting = "554 5.7.1 no service for you\r\n";
	set_msg(x, "Subject: s\r\n\r\nx\r\n");
	set_rcpts(x, 1, "a@one.test");
	assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
	/* another MX might serve: the mail waits (RFC 5321 3.1) */
	assert_int_equal(x->rcpt[0].result, REMOTE_TEMP);
	assert_int_equal(x->rcpt[0].code, 0);
	assert_string_equal(x->rcpt[0].text, "mx1.one.test[127.0.0.1]: 554 "
	    "5.7.1 no service for you (greeting)");
	assert_string_equal(finish(x), "QUIT\r\n");
}

static void
test_size_too_big(void **state)
{
	struct fx *x = *state;

	x->f1.ehlo = "250-fake\r\n250 SIZE 10\r\n";
	set_msg(x, "Subject: big\r\n\r\nmore than ten bytes\r\n");
	set_rcpts(x, 1, "a@one.test");
	assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_PERM);
	assert_string_equal(x->rcpt[0].enhanced, "5.3.4");
	assert_non_null(strstr(x->rcpt[0].text, "limit of 10"));
	assert_null(strstr(finish(x), "MAIL FROM"));
}

static void
test_8bit_and_smtputf8(void **state)
{
	struct fx *x = *state;
	const char *rec;

	/* 8-bit content to a server without 8BITMIME: returned (5.6.3) */
	set_msg(x, "Subject: caf\xc3\xa9\r\n\r\nx\r\n");
	x->msg.body = "8BITMIME";
	set_rcpts(x, 1, "a@one.test");
	assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_PERM);
	assert_string_equal(x->rcpt[0].enhanced, "5.6.3");
	/* declared 8BITMIME but 7-bit in fact: sent without BODY= */
	set_msg(x, "Subject: plain\r\n\r\nx\r\n");
	set_rcpts(x, 1, "a@one.test");
	assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	/* SMTPUTF8 needed, not offered: 5.6.7 */
	x->msg.body = NULL;
	x->msg.smtputf8 = true;
	set_rcpts(x, 1, "a@one.test");
	assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_PERM);
	assert_string_equal(x->rcpt[0].enhanced, "5.6.7");
	rec = finish(x);
	assert_non_null(strstr(rec, "MAIL FROM:<s@x.test>\r\n"));
	assert_null(strstr(rec, "BODY="));
	assert_null(strstr(rec, "caf"));
}

/* ---- MX ---------------------------------------------------------------- */

static void
test_mx_fallback(void **state)
{
	struct fx *x = *state;

	set_msg(x, "Subject: s\r\n\r\nx\r\n");
	set_rcpts(x, 1, "a@two.test");
	assert_int_equal(run(x, "two.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	assert_string_equal(x->rcpt[0].mx, "mxb.two.test");
	assert_string_equal(x->info.mx, "mxb.two.test");
	(void)finish(x);
	assert_int_equal(x->f1.nconns, 1);
}

static void
test_mx_order(void **state)
{
	struct fx *x = *state;

	/* near (preference 5) on 127.0.0.3, far (50) on 127.0.0.1 */
	if (fake_smtp_start(&x->f3, "127.0.0.3", x->f1.port) != 0)
		skip();
	set_msg(x, "Subject: s\r\n\r\nx\r\n");
	set_rcpts(x, 1, "a@three.test");
	assert_int_equal(run(x, "three.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	assert_string_equal(x->rcpt[0].mx, "near.three.test");
	(void)finish(x);
	assert_int_equal(x->f1.nconns, 0);
	assert_int_equal(x->f3.nconns, 1);
}

static void
test_mx_equal_shuffled(void **state)
{
	struct fx *x = *state;
	int i;

	if (fake_smtp_start(&x->f3, "127.0.0.3", x->f1.port) != 0)
		skip();
	x->cfg.reuse_max = 1;		/* a new connection each time */
	set_msg(x, "Subject: s\r\n\r\nx\r\n");
	for (i = 0; i < 24; i++) {
		set_rcpts(x, 1, "a@eq.test");
		assert_int_equal(run(x, "eq.test", 1), MAILSEC_OK);
		assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	}
	(void)finish(x);
	/* both used: all 24 on one would happen with p = 2^-23 */
	assert_int_equal(x->f1.nconns + x->f3.nconns, 24);
	assert_true(x->f1.nconns > 0);
	assert_true(x->f3.nconns > 0);
}

static void
test_mx_literal_skipped(void **state)
{
	struct fx *x = *state;

	set_msg(x, "Subject: s\r\n\r\nx\r\n");
	set_rcpts(x, 1, "a@lit.test");
	assert_int_equal(run(x, "lit.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	assert_string_equal(x->rcpt[0].mx, "mx.lit.test");
}

static void
test_null_mx(void **state)
{
	struct fx *x = *state;

	set_msg(x, "Subject: s\r\n\r\nx\r\n");
	set_rcpts(x, 2, "a@nullmx.test", "b@nullmx.test");
	assert_int_equal(run(x, "nullmx.test", 2), MAILSEC_OK);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(x->rcpt[i].result, REMOTE_PERM);
		/* RFC 7504 556 with RFC 7505's X.1.10 */
		assert_int_equal(x->rcpt[i].code, 556);
		assert_string_equal(x->rcpt[i].enhanced, "5.1.10");
		assert_string_equal(x->rcpt[i].text, "nullmx.test: 556 "
		    "5.1.10 domain does not accept mail (null MX, RFC 7505)");
	}
	(void)finish(x);
	assert_int_equal(x->f1.nconns, 0);
}

static void
test_implicit_mx(void **state)
{
	struct fx *x = *state;

	set_msg(x, "Subject: s\r\n\r\nx\r\n");
	set_rcpts(x, 1, "a@implicit.test");
	assert_int_equal(run(x, "implicit.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	assert_string_equal(x->rcpt[0].mx, "implicit.test");
}

static void
test_dns_failures(void **state)
{
	struct fx *x = *state;

	set_msg(x, "Subject: s\r\n\r\nx\r\n");
	/* temporary: never a bounce */
	set_rcpts(x, 1, "a@dnsfail.test");
	assert_int_equal(run(x, "dnsfail.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_TEMP);
	assert_string_equal(x->rcpt[0].enhanced, "4.4.3");
	/* NXDOMAIN (RFC 5321 5.1: an error) */
	set_rcpts(x, 1, "a@nowhere.test");
	assert_int_equal(run(x, "nowhere.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_PERM);
	assert_string_equal(x->rcpt[0].enhanced, "5.1.2");
	/* an MX whose host has no address */
	set_rcpts(x, 1, "a@noaddr.test");
	assert_int_equal(run(x, "noaddr.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_PERM);
	assert_string_equal(x->rcpt[0].enhanced, "5.4.4");
	(void)finish(x);
	assert_int_equal(x->f1.nconns, 0);
}

static void
test_connection_refused(void **state)
{
	struct fx *x = *state;

	x->cfg.port = 1;	/* nobody there */
	set_msg(x, "Subject: s\r\n\r\nx\r\n");
	set_rcpts(x, 1, "a@one.test");
	assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_TEMP);
	assert_string_equal(x->rcpt[0].enhanced, "4.4.1");
	assert_non_null(strstr(x->rcpt[0].text,
	    "mx1.one.test[127.0.0.1]: connect: "));
}

/* ---- TLS --------------------------------------------------------------- */

static void
test_starttls_opportunistic(void **state)
{
	struct fx *x = *state;
	const char *rec;

	x->f1.ssl_ctx = fake_tls_ctx("mx1.one.test", NULL);
	assert_non_null(x->f1.ssl_ctx);
	x->f1.ehlo = "250-fake\r\n250-STARTTLS\r\n250 PIPELINING\r\n";
	set_msg(x, "Subject: s\r\n\r\nsecret\r\n");
	set_rcpts(x, 1, "a@one.test");
	assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	assert_true(strncmp(x->info.tls, "TLSv1.", 6) == 0);
	rec = finish(x);
	assert_int_equal(x->f1.ntls, 1);
	assert_true(starts_with(rec, "EHLO client.test\r\nSTARTTLS\r\n"
	    "EHLO client.test\r\nMAIL FROM:"));
	assert_non_null(strstr(rec, "secret"));
}

static void
test_require_tls_not_offered(void **state)
{
	struct fx *x = *state;

	x->cfg.require_tls = true;
	set_msg(x, "Subject: s\r\n\r\nsecret\r\n");
	set_rcpts(x, 1, "a@one.test");
	assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_TEMP);
	assert_non_null(strstr(x->rcpt[0].text,
	    "TLS required but not offered"));
	assert_string_equal(finish(x), "EHLO client.test\r\nQUIT\r\n");
}

static void
test_smarthost_auth_implicit_tls(void **state)
{
	struct fx *x = *state;
	const char *rec;

	x->f1.ssl_ctx = fake_tls_ctx("relay.test", CERT_PATH);
	assert_non_null(x->f1.ssl_ctx);
	x->f1.implicit_tls = true;
	x->f1.ehlo = "250-fake\r\n250-AUTH LOGIN PLAIN\r\n250 PIPELINING\r\n";
	x->cfg.relay_host = "relay.test";
	x->cfg.relay_port = x->f1.port;
	x->cfg.relay_implicit_tls = true;
	x->cfg.relay_user = "user";
	x->cfg.relay_password = "pass";
	x->cfg.ca_file = CERT_PATH;
	set_msg(x, "Subject: s\r\n\r\nvia relay\r\n");
	set_rcpts(x, 1, "someone@far.example");
	assert_int_equal(run(x, "far.example", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	assert_string_equal(x->rcpt[0].mx, "relay.test");
	assert_non_null(strstr(x->info.tls, "(verified)"));
	rec = finish(x);
	/* base64("\0user\0pass") */
	assert_true(starts_with(rec, "EHLO client.test\r\n"
	    "AUTH PLAIN AHVzZXIAcGFzcw==\r\nMAIL FROM:<s@x.test>\r\n"
	    "RCPT TO:<someone@far.example>\r\nDATA\r\n"));
}

static void
test_smarthost_name_mismatch(void **state)
{
	struct fx *x = *state;

	x->f1.ssl_ctx = fake_tls_ctx("relay.test", CERT_PATH);
	assert_non_null(x->f1.ssl_ctx);
	x->f1.ehlo = "250-fake\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n";
	x->cfg.relay_host = "other.test";	/* not the certificate's */
	x->cfg.relay_port = x->f1.port;
	x->cfg.relay_user = "user";
	x->cfg.relay_password = "pass";
	x->cfg.ca_file = CERT_PATH;
	set_msg(x, "Subject: s\r\n\r\nx\r\n");
	set_rcpts(x, 1, "someone@far.example");
	assert_int_equal(run(x, "far.example", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_TEMP);
	assert_non_null(strstr(x->rcpt[0].text, "certificate verify failed"));
	/* nothing but EHLO and STARTTLS went in clear, no AUTH at all */
	assert_string_equal(finish(x), "EHLO client.test\r\nSTARTTLS\r\n");
}

static void
test_helo_fallback(void **state)
{
	struct fx *x = *state;

	x->f1.ehlo = "502 5.5.1 EHLO not implemented\r\n";
	set_msg(x, "Subject: s\r\n\r\nold\r\n");
	set_rcpts(x, 1, "a@one.test");
	assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	assert_true(starts_with(finish(x), "EHLO client.test\r\n"
	    "HELO client.test\r\nMAIL FROM:<s@x.test>\r\n"));
}

static void
test_ipv6(void **state)
{
	struct fx *x = *state;

	if (fake_smtp_start(&x->f6, "::1", x->f1.port) != 0)
		skip();		/* no IPv6 loopback here */
	set_msg(x, "Subject: s\r\n\r\nx\r\n");
	set_rcpts(x, 1, "a@v6.test");
	assert_int_equal(run(x, "v6.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	assert_string_equal(x->info.ip, "::1");
	assert_string_equal(x->rcpt[0].text,
	    "mx.v6.test[::1]: 250 2.0.0 queued");
	(void)finish(x);
	assert_int_equal(x->f6.nconns, 1);
}

static void
test_tls_failure_retried_in_clear(void **state)
{
	struct fx *x = *state;
	const char *rec;

	/* A server whose TLS we refuse (nothing newer than TLS 1.1):
	 * opportunistic, so the same address again without STARTTLS. */
	x->f1.ssl_ctx = fake_tls_ctx("mx1.one.test", NULL);
	assert_non_null(x->f1.ssl_ctx);
	assert_int_equal(SSL_CTX_set_max_proto_version(x->f1.ssl_ctx,
	    TLS1_1_VERSION), 1);
	x->f1.ehlo = "250-fake\r\n250 STARTTLS\r\n";
	set_msg(x, "Subject: s\r\n\r\nx\r\n");
	set_rcpts(x, 1, "a@one.test");
	assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	assert_string_equal(x->info.tls, "none");
	rec = finish(x);
	assert_int_equal(x->f1.nconns, 2);
	assert_int_equal(x->f1.ntls, 0);
	assert_true(starts_with(rec, "EHLO client.test\r\nSTARTTLS\r\n"
	    "EHLO client.test\r\nMAIL FROM:"));

	/* with require_tls: never in clear */
	x->cfg.require_tls = true;
	assert_int_equal(fake_smtp_start(&x->f1, "127.0.0.1", x->f1.port), 0);
	x->f1.reclen = 0;
	x->f1.nconns = 0;
	set_rcpts(x, 1, "a@one.test");
	assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_TEMP);
	assert_string_equal(x->rcpt[0].enhanced, "4.7.5");
	assert_string_equal(finish(x), "EHLO client.test\r\nSTARTTLS\r\n");
	assert_int_equal(x->f1.nconns, 1);
}

/* ---- reuse and limits -------------------------------------------------- */

static void
test_reuse(void **state)
{
	struct fx *x = *state;
	const char *rec, *p;

	set_msg(x, "Subject: 1\r\n\r\nfirst\r\n");
	set_rcpts(x, 1, "a@one.test");
	assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	set_msg(x, "Subject: 2\r\n\r\nsecond\r\n");
	set_rcpts(x, 1, "b@ONE.test");
	assert_int_equal(run(x, "ONE.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	rec = finish(x);
	assert_int_equal(x->f1.nconns, 1);
	p = strstr(rec, "first\r\n.\r\nRSET\r\nMAIL FROM:<s@x.test>\r\n"
	    "RCPT TO:<b@ONE.test>\r\n");
	assert_non_null(p);
	assert_non_null(strstr(p, "second\r\n.\r\nQUIT\r\n"));
	/* exactly one EHLO */
	assert_null(strstr(strstr(rec, "EHLO") + 4, "EHLO"));
}

static void
test_reuse_max(void **state)
{
	struct fx *x = *state;

	x->cfg.reuse_max = 2;
	set_msg(x, "Subject: 1\r\n\r\nx\r\n");
	for (int i = 0; i < 5; i++) {
		set_rcpts(x, 1, "a@one.test");
		assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
		assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	}
	(void)finish(x);
	assert_int_equal(x->f1.nconns, 3);
}

static void
test_reuse_idle_expires(void **state)
{
	struct fx *x = *state;

	x->cfg.reuse_idle = 1;
	set_msg(x, "Subject: 1\r\n\r\nx\r\n");
	set_rcpts(x, 1, "a@one.test");
	assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
	(void)sleep(2);
	set_rcpts(x, 1, "a@one.test");
	assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	(void)finish(x);
	assert_int_equal(x->f1.nconns, 2);
	/* the first was closed politely by the reaper */
	assert_non_null(strstr(x->rec, "x\r\n.\r\nQUIT\r\nEHLO"));
}

struct bg {
	struct fx *x;
	struct remote_rcpt rcpt;
	struct src src;
	struct remote_msg msg;
	mailsec_err err;
};

static void *
bg_deliver(void *arg)
{
	struct bg *b = arg;

	b->err = remote_deliver(b->x->rc, NULL, "[ignored]", &b->msg, &b->rcpt,
	    1, NULL);
	return NULL;
}

static void
test_per_destination_limit(void **state)
{
	struct fx *x = *state;
	struct mailsec_resolver *r2;
	struct bg b;
	pthread_t th;

	/* The smarthost as the one destination; one slot, held by a slow
	 * delivery in another thread (its own resolver: not shared). */
	assert_int_equal(mailsec_resolver_new_zone_mem(zone, sizeof zone - 1,
	    NULL, &r2, NULL), MAILSEC_OK);
	x->cfg.relay_host = "127.0.0.1";
	x->cfg.relay_port = x->f1.port;
	x->cfg.per_destination = 1;
	x->cfg.slot_wait = 1;
	x->f1.greet_delay_ms = 2500;
	assert_int_equal(remote_new(&x->rc, &x->cfg, NULL), MAILSEC_OK);
	memset(&b, 0, sizeof b);
	b.x = x;
	b.rcpt.addr = "a@far.example";
	b.src.p = "Subject: slow\r\n\r\nx\r\n";
	b.src.len = strlen(b.src.p);
	b.msg = x->msg;
	b.msg.arg = &b.src;
	b.msg.size = b.src.len;
	/* the relay path needs no resolver for an address literal */
	assert_int_equal(pthread_create(&th, NULL, bg_deliver, &b), 0);
	(void)usleep(300 * 1000);
	set_msg(x, "Subject: s\r\n\r\nx\r\n");
	set_rcpts(x, 1, "b@far.example");
	assert_int_equal(remote_deliver(x->rc, r2, "far.example", &x->msg,
	    x->rcpt, 1, &x->info), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_TEMP);
	assert_non_null(strstr(x->rcpt[0].text, "too many connections"));
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(b.err, MAILSEC_OK);
	/* the relay requires TLS: this fake has none, so TEMP too, but it
	 * was tried (it held the slot) */
	assert_int_equal(b.rcpt.result, REMOTE_TEMP);
	assert_non_null(strstr(b.rcpt.text, "TLS required but not offered"));
	mailsec_resolver_free(r2);
}

static void
test_new_rejects_bad_config(void **state)
{
	struct fx *x = *state;
	struct remote_ctx *rc = NULL;

	x->cfg.bind4 = "not-an-address";
	assert_int_equal(remote_new(&rc, &x->cfg, NULL), MAILSEC_EINVAL);
	assert_null(rc);
	x->cfg.bind4 = "127.0.0.1";
	x->cfg.bind6 = "127.0.0.1";
	assert_int_equal(remote_new(&rc, &x->cfg, NULL), MAILSEC_EINVAL);
	x->cfg.bind6 = NULL;
	x->cfg.relay_host = "";
	assert_int_equal(remote_new(&rc, &x->cfg, NULL), MAILSEC_EINVAL);
	x->cfg.relay_host = NULL;
	x->cfg.helo = NULL;
	assert_int_equal(remote_new(&rc, &x->cfg, NULL), MAILSEC_EINVAL);
	remote_free(NULL);
}

static void
test_bind_address(void **state)
{
	struct fx *x = *state;

	x->cfg.bind4 = "127.0.0.1";
	set_msg(x, "Subject: s\r\n\r\nx\r\n");
	set_rcpts(x, 1, "a@one.test");
	assert_int_equal(run(x, "one.test", 1), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
}

/* ---- DANE -------------------------------------------------------------- */

/* The TLSA 3 1 1 data of the fake's certificate: SHA-256 of its
 * SubjectPublicKeyInfo (RFC 6698 2.1), in hex. */
static void
spki_sha256_hex(SSL_CTX *ctx, char *out, bool flip)
{
	static const char h[] = "0123456789abcdef";
	X509 *crt = SSL_CTX_get0_certificate(ctx);
	unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH];
	int len, i;

	assert_non_null(crt);
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(crt), &der);
	assert_true(len > 0);
	(void)SHA256(der, (size_t)len, md);
	OPENSSL_free(der);
	if (flip)
		md[0] ^= 0xff;
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++) {
		out[2 * i] = h[md[i] >> 4];
		out[2 * i + 1] = h[md[i] & 15];
	}
	out[2 * SHA256_DIGEST_LENGTH] = '\0';
}

/*
 * The fake with STARTTLS and a certificate, a TLS policy context doing
 * DANE only, and a zone whose TLSA records name the fake's port: good
 * (matching), bad (mismatching), unusable (only a PKIX-EE record, not
 * for SMTP: RFC 7672 3.1), insecmx (insecure MX answer) and insecaddr
 * (insecure address answer), the last two with a mismatching record that
 * must not be looked at.
 */
static void
dane_setup(struct fx *x, bool starttls)
{
	struct tlsp_cfg tc;
	struct mailsec_diag d = { 0 };
	char text[4096], good[65], bad[65];
	unsigned p;
	int k;

	x->f1.ssl_ctx = fake_tls_ctx("mx.good.test", NULL);
	assert_non_null(x->f1.ssl_ctx);
	if (starttls)
		x->f1.ehlo = "250-fake\r\n250-STARTTLS\r\n250 PIPELINING\r\n";
	spki_sha256_hex(x->f1.ssl_ctx, good, false);
	spki_sha256_hex(x->f1.ssl_ctx, bad, true);
	p = x->f1.port;
	k = snprintf(text, sizeof text,
	    "$ORIGIN test.\n"
	    "insecmx             MX 10 mx.insecmx.test.\n"
	    "$SECURE on\n"
	    "mx.insecmx          A 127.0.0.1\n"
	    "_%u._tcp.mx.insecmx TLSA 3 1 1 %s\n"
	    "good                MX 10 mx.good.test.\n"
	    "mx.good             A 127.0.0.1\n"
	    "_%u._tcp.mx.good    TLSA 3 1 1 %s\n"
	    "bad                 MX 10 mx.bad.test.\n"
	    "mx.bad              A 127.0.0.1\n"
	    "_%u._tcp.mx.bad     TLSA 3 1 1 %s\n"
	    "unusable            MX 10 mx.unusable.test.\n"
	    "mx.unusable         A 127.0.0.1\n"
	    "_%u._tcp.mx.unusable TLSA 1 1 1 %s\n"
	    "insecaddr           MX 10 mx.insecaddr.test.\n"
	    "_%u._tcp.mx.insecaddr TLSA 3 1 1 %s\n"
	    "$SECURE off\n"
	    "mx.insecaddr        A 127.0.0.1\n",
	    p, bad, p, good, p, bad, p, good, p, bad);
	assert_true(k > 0 && (size_t)k < sizeof text);
	if (mailsec_resolver_new_zone_mem(text, (size_t)k, NULL, &x->dres,
	    &d) != MAILSEC_OK)
		fail_msg("zone refused: %s", d.text);
	memset(&tc, 0, sizeof tc);
	tc.dane = true;
	assert_int_equal(tlsp_new(&x->tls, &tc), MAILSEC_OK);
	assert_int_equal(remote_new(&x->rc, &x->cfg, x->tls), MAILSEC_OK);
	set_msg(x, "Subject: s\r\n\r\nsecret\r\n");
}

static mailsec_err
run_dane(struct fx *x, const char *domain)
{
	set_rcpts(x, 1, "a@x");
	return remote_deliver(x->rc, x->dres, domain, &x->msg, x->rcpt, 1,
	    &x->info);
}

static void
test_dane_match(void **state)
{
	struct fx *x = *state;

	dane_setup(x, true);
	assert_int_equal(run_dane(x, "good.test"), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	assert_true(strncmp(x->info.tls, "TLSv1.", 6) == 0);
	assert_non_null(strstr(x->info.tls, "(dane)"));
	assert_non_null(strstr(finish(x), "secret"));
	assert_int_equal(x->f1.ntls, 1);
}

static void
test_dane_mismatch(void **state)
{
	struct fx *x = *state;

	dane_setup(x, true);
	assert_int_equal(run_dane(x, "bad.test"), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_TEMP);
	assert_string_equal(x->rcpt[0].enhanced, "4.7.5");
	assert_non_null(strstr(x->rcpt[0].text, "mx.bad.test[127.0.0.1]: "
	    "TLS handshake: "));
	/* the handshake stopped: no retry in clear, nothing sent */
	assert_string_equal(finish(x), "EHLO client.test\r\nSTARTTLS\r\n");
	assert_int_equal(x->f1.nconns, 1);
}

static void
test_dane_insecure_answers(void **state)
{
	struct fx *x = *state;
	const char *d[2] = { "insecmx.test", "insecaddr.test" };
	size_t i;

	/* an insecure MX answer, or an insecure address answer: no TLSA
	 * lookup (the mismatching record there is never seen), so the
	 * TLS is opportunistic and the mail goes (a new connection each
	 * time: the fake serves one at a time) */
	x->cfg.reuse_max = 1;
	dane_setup(x, true);
	for (i = 0; i < 2; i++) {
		assert_int_equal(run_dane(x, d[i]), MAILSEC_OK);
		if (x->rcpt[0].result != REMOTE_OK)
			fail_msg("%s: %s", d[i], x->rcpt[0].text);
		assert_true(strncmp(x->info.tls, "TLSv1.", 6) == 0);
		assert_null(strstr(x->info.tls, "(dane)"));
	}
	(void)finish(x);
	assert_int_equal(x->f1.ntls, 2);
}

static void
test_dane_unusable_requires_tls(void **state)
{
	struct fx *x = *state;
	const char *rec;

	/* a secure TLSA RRset without a usable record, a server without
	 * STARTTLS: never in clear (RFC 7672 2.2) */
	dane_setup(x, false);
	assert_int_equal(run_dane(x, "unusable.test"), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_TEMP);
	assert_string_equal(x->rcpt[0].enhanced, "4.7.4");
	assert_non_null(strstr(x->rcpt[0].text,
	    "TLS required but not offered"));
	assert_string_equal(finish(x), "EHLO client.test\r\nQUIT\r\n");

	/* with STARTTLS: delivered, encrypted, not authenticated */
	x->f1.ehlo = "250-fake\r\n250-STARTTLS\r\n250 PIPELINING\r\n";
	assert_int_equal(fake_smtp_start(&x->f1, "127.0.0.1", x->f1.port), 0);
	x->f1.reclen = 0;
	x->f1.nconns = 0;
	assert_int_equal(remote_new(&x->rc, &x->cfg, x->tls), MAILSEC_OK);
	assert_int_equal(run_dane(x, "unusable.test"), MAILSEC_OK);
	assert_int_equal(x->rcpt[0].result, REMOTE_OK);
	assert_true(strncmp(x->info.tls, "TLSv1.", 6) == 0);
	assert_null(strstr(x->info.tls, "(dane)"));
	rec = finish(x);
	assert_true(starts_with(rec, "EHLO client.test\r\nSTARTTLS\r\n"
	    "EHLO client.test\r\nMAIL FROM:"));
	assert_int_equal(x->f1.ntls, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_pipelining_wire),
		T(test_no_pipelining_wire),
		T(test_mixed_rcpt),
		T(test_final_reply_applies_to_all),
		T(test_421_mid_transaction),
		T(test_greeting_554),
		T(test_size_too_big),
		T(test_8bit_and_smtputf8),
		T(test_mx_fallback),
		T(test_mx_order),
		T(test_mx_equal_shuffled),
		T(test_mx_literal_skipped),
		T(test_null_mx),
		T(test_implicit_mx),
		T(test_dns_failures),
		T(test_connection_refused),
		T(test_starttls_opportunistic),
		T(test_require_tls_not_offered),
		T(test_tls_failure_retried_in_clear),
		T(test_helo_fallback),
		T(test_ipv6),
		T(test_smarthost_auth_implicit_tls),
		T(test_smarthost_name_mismatch),
		T(test_reuse),
		T(test_reuse_max),
		T(test_reuse_idle_expires),
		T(test_per_destination_limit),
		T(test_new_rejects_bad_config),
		T(test_bind_address),
		T(test_dane_match),
		T(test_dane_mismatch),
		T(test_dane_insecure_answers),
		T(test_dane_unusable_requires_tls),
#undef T
	};

	(void)signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
