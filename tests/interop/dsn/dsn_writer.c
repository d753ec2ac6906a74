/*
 * tests/interop/dsn/dsn_writer.c - writes one DSN per case into the
 * directory given (DIR/<case>.eml) for interop.py to parse with Python's
 * email package. The cases and what each must show are listed in both
 * files; a case that fails to compose exits non-zero.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/dsn.h>

#define T_NOW	1735787045	/* 2025-01-02 03:04:05 UTC */

struct reader {
	const char *data;
	size_t len, pos;
};

static mailsec_err
reader_read(void *arg, char *buf, size_t bufsz, size_t *got)
{
	struct reader *r = arg;
	size_t n = r->len - r->pos;

	if (n > bufsz)
		n = bufsz;
	memcpy(buf, r->data + r->pos, n);
	r->pos += n;
	*got = n;
	return MAILSEC_OK;
}

static const char orig[] =
	"From: Alice <alice@example.org>\r\n"
	"To: Bob <bob@example.com>\r\n"
	"Subject: Quarterly numbers\r\n"
	"Date: Thu, 02 Jan 2025 02:00:00 +0000\r\n"
	"Message-ID: <q4.numbers@example.org>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=us-ascii\r\n"
	"\r\n"
	"The numbers are in.\r\n"
	"--\r\n"
	"Alice\r\n";

static const char orig8[] =
	"From: =?utf-8?q?Z=C3=B6e?= <zoe@example.org>\r\n"
	"To: bob@example.com\r\n"
	"Subject: caf\xc3\xa9 tomorrow\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: 8bit\r\n"
	"\r\n"
	"Caf\xc3\xa9 at ten?\r\n";

static int
write_case(const char *dir, const char *name, const struct mailsec_dsn *d,
    const char *msg, size_t msglen, uint64_t orig_max)
{
	struct reader rd = { msg, msglen, 0 };
	struct mailsec_diag diag;
	char path[4096], *out = NULL;
	size_t len = 0;
	mailsec_err err;
	FILE *f;

	memset(&diag, 0, sizeof diag);
	err = mailsec_dsn_compose(d, msg != NULL ? reader_read : NULL, &rd,
	    orig_max, &out, &len, &diag);
	if (err != MAILSEC_OK) {
		fprintf(stderr, "%s: %s: %s\n", name, mailsec_errname(err),
		    diag.text);
		return 1;
	}
	if (snprintf(path, sizeof path, "%s/%s.eml", dir, name) >=
	    (int)sizeof path || (f = fopen(path, "wb")) == NULL) {
		free(out);
		return 1;
	}
	if (fwrite(out, 1, len, f) != len) {
		fclose(f);
		free(out);
		return 1;
	}
	free(out);
	return fclose(f) != 0;
}

int
main(int argc, char **argv)
{
	struct mailsec_dsn_rcpt r[3];
	struct mailsec_dsn d;
	const char *dir;
	int bad = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: dsn_writer DIR\n");
		return 2;
	}
	dir = argv[1];

	memset(r, 0, sizeof r);
	r[0].final_recipient = "bob@example.com";
	r[0].action = MAILSEC_DSN_FAILED;
	r[0].status = "5.1.1";
	r[0].remote_mta = "mx.example.com";
	r[0].diagnostic = "550 5.1.1 <bob@example.com>: Recipient address "
	    "rejected: User unknown in virtual mailbox table";
	r[0].last_attempt = T_NOW - 5;
	memset(&d, 0, sizeof d);
	d.reporting_mta = "mail.example.org";
	d.postmaster = "MAILER-DAEMON@mail.example.org";
	d.to = "alice@example.org";
	d.received_from_mta = "laptop.example.org (192.0.2.10)";
	d.arrival = T_NOW - 600;
	d.now = T_NOW;
	d.rcpts = r;
	d.nrcpts = 1;

	/* failed_full: RET=FULL -> message/rfc822 */
	d.ret = "FULL";
	bad |= write_case(dir, "failed_full", &d, orig, sizeof orig - 1,
	    1 << 20);
	/* failed_hdrs: RET=HDRS -> text/rfc822-headers */
	d.ret = "HDRS";
	bad |= write_case(dir, "failed_hdrs", &d, orig, sizeof orig - 1,
	    1 << 20);
	/* failed_noret: no RET -> text/rfc822-headers */
	d.ret = NULL;
	bad |= write_case(dir, "failed_noret", &d, orig, sizeof orig - 1,
	    1 << 20);
	/* too_big: RET=FULL over orig_max -> text/rfc822-headers */
	d.ret = "FULL";
	bad |= write_case(dir, "too_big", &d, orig, sizeof orig - 1, 100);
	/* eightbit: RET=FULL, 8-bit original -> quoted-printable headers */
	bad |= write_case(dir, "eightbit", &d, orig8, sizeof orig8 - 1,
	    1 << 20);
	/* no_original: no reader -> two parts */
	bad |= write_case(dir, "no_original", &d, NULL, 0, 1 << 20);

	/* envid_orcpt: ENVID and ORCPT, delivered (NOTIFY=SUCCESS) */
	r[0].action = MAILSEC_DSN_DELIVERED;
	r[0].status = "2.0.0";
	r[0].diagnostic = "250 2.0.0 Ok: queued as 4YQ2";
	r[0].orcpt = "rfc822;Bob@Example.COM";
	d.envid = "QQ314159";
	bad |= write_case(dir, "envid_orcpt", &d, orig, sizeof orig - 1,
	    1 << 20);
	d.envid = NULL;

	/* delayed: RET=FULL but no failure -> text/rfc822-headers */
	r[0].orcpt = NULL;
	r[0].action = MAILSEC_DSN_DELAYED;
	r[0].status = "4.4.1";
	r[0].diagnostic = "connect to mx.example.com[198.51.100.7]:25: "
	    "Connection refused";
	r[0].will_retry_until = T_NOW + 4 * 86400;
	bad |= write_case(dir, "delayed", &d, orig, sizeof orig - 1, 1 << 20);

	/* mixed: failed, delayed and relayed in one report */
	r[0].action = MAILSEC_DSN_FAILED;
	r[0].status = "5.2.2";
	r[0].diagnostic = "552-5.2.2 The email account that you tried to "
	    "reach is over quota.\n552-5.2.2 Please direct the recipient "
	    "to\n552 5.2.2 https://support.example.com/quota";
	r[0].will_retry_until = 0;
	r[1].final_recipient = "carol@example.net";
	r[1].action = MAILSEC_DSN_DELAYED;
	r[1].status = "4.7.0";
	r[1].remote_mta = "mx1.example.net";
	r[1].diagnostic = "421 4.7.0 Try again later\r\nBcc: injected";
	r[1].last_attempt = T_NOW - 60;
	r[1].will_retry_until = T_NOW + 86400;
	r[2].final_recipient = "dana@example.net";
	r[2].orcpt = "rfc822;dana@example.net";
	r[2].action = MAILSEC_DSN_RELAYED;
	r[2].status = "2.0.0";
	r[2].remote_mta = "gw.example.net";
	d.nrcpts = 3;
	bad |= write_case(dir, "mixed", &d, orig, sizeof orig - 1, 1 << 20);
	return bad;
}
