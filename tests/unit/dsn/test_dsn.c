/*
 * tests/unit/dsn/test_dsn.c - delivery status notifications: the NOTIFY
 * matrix (RFC 3461 4.1, 5.2.5, 5.2.6) and the composed multipart/report
 * (RFC 6522, RFC 3464): each action, RET FULL/HDRS/absent, ENVID and
 * ORCPT, the orig_max cut-off, 8-bit originals, the null sender, field
 * injection, folding and line limits, the boundary check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailsec/dsn.h>
#include <mailsec/msg.h>

#include "smtp/dsn_int.h"

/* 2025-01-02 03:04:05 UTC */
#define T_NOW		1735787045
#define T_ARRIVAL	(T_NOW - 3600)

/* ---- helpers ----------------------------------------------------------- */

struct reader {
	const char *data;
	size_t len, pos;
	size_t step;		/* bytes per call (0: all it may) */
	mailsec_err fail;	/* returned on the first call when set */
	size_t calls;
};

static mailsec_err
reader_read(void *arg, char *buf, size_t bufsz, size_t *got)
{
	struct reader *r = arg;
	size_t n = r->len - r->pos;

	r->calls++;
	if (r->fail != MAILSEC_OK)
		return r->fail;
	if (n > bufsz)
		n = bufsz;
	if (r->step != 0 && n > r->step)
		n = r->step;
	memcpy(buf, r->data + r->pos, n);
	r->pos += n;
	*got = n;
	return MAILSEC_OK;
}

static const char orig_msg[] =
	"From: Alice <alice@example.org>\r\n"
	"To: Bob <bob@example.com>\r\n"
	"Subject: Lunch\r\n"
	"Message-ID: <lunch.1@example.org>\r\n"
	"\r\n"
	"See you at noon.\r\n";

static struct mailsec_dsn_rcpt
rcpt_failed(void)
{
	struct mailsec_dsn_rcpt r = {
		.final_recipient = "bob@example.com",
		.action = MAILSEC_DSN_FAILED,
		.status = "5.1.1",
		.remote_mta = "mx.example.com",
		.diagnostic = "550 5.1.1 <bob@example.com>: no such user",
		.last_attempt = T_NOW - 10,
	};

	return r;
}

static struct mailsec_dsn
dsn_base(const struct mailsec_dsn_rcpt *r, size_t n)
{
	struct mailsec_dsn d = {
		.reporting_mta = "mail.example.org",
		.postmaster = "MAILER-DAEMON@mail.example.org",
		.to = "alice@example.org",
		.received_from_mta = "client.example.org (192.0.2.1)",
		.arrival = T_ARRIVAL,
		.now = T_NOW,
		.rcpts = r,
		.nrcpts = n,
	};

	return d;
}

/* Every line ends in CRLF, no bare CR or LF, no line over 998. */
static void
assert_wire(const char *p, size_t n)
{
	size_t i, col = 0;

	assert_true(n >= 2);
	assert_memory_equal(p + n - 2, "\r\n", 2);
	for (i = 0; i < n; i++) {
		if (p[i] == '\r') {
			assert_true(i + 1 < n && p[i + 1] == '\n');
			continue;
		}
		if (p[i] == '\n') {
			assert_true(i > 0 && p[i - 1] == '\r');
			col = 0;
			continue;
		}
		assert_true(p[i] != '\0');
		col++;
		assert_true(col <= 998);
	}
}

/* A part of the report: its MIME header block and body. */
struct part {
	char *hdr, *body;
};

struct parsed {
	char *all;			/* the DSN, NUL-terminated */
	size_t len;
	struct mailsec_msg *msg;
	char boundary[80];
	struct part parts[4];
	size_t nparts;
};

static char *
dupn(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* The value of the top-level field name, unfolded, or NULL. */
static const char *
top_field(const struct parsed *ps, const char *name, char *buf, size_t sz)
{
	const struct mailsec_header *h;
	size_t i = mailsec_msg_find(ps->msg, name, 0);

	if (i == (size_t)-1)
		return NULL;
	h = mailsec_msg_field(ps->msg, i);
	assert_true(h->value.len < sz);
	memcpy(buf, h->value.ptr, h->value.len);
	buf[h->value.len] = '\0';
	return buf;
}

/* Splits the DSN: parses its header with our message parser, finds the
 * boundary and the parts. */
static void
parse_dsn(struct parsed *ps, char *out, size_t len)
{
	char ct[512];
	const char *b, *e, *p, *end, *next, *hend;
	char delim[90];
	size_t dl;
	struct mailsec_str body;

	memset(ps, 0, sizeof *ps);
	ps->all = out;
	ps->len = len;
	assert_wire(out, len);
	assert_int_equal(mailsec_msg_parse(out, len, NULL,
	    MAILSEC_MSG_REQUIRE_CRLF, &ps->msg, NULL), MAILSEC_OK);
	assert_non_null(top_field(ps, "Content-Type", ct, sizeof ct));
	assert_non_null(strstr(ct, "multipart/report"));
	assert_non_null(strstr(ct, "report-type=delivery-status"));
	b = strstr(ct, "boundary=\"");
	assert_non_null(b);
	b += 10;
	e = strchr(b, '"');
	assert_non_null(e);
	assert_true((size_t)(e - b) < sizeof ps->boundary);
	memcpy(ps->boundary, b, (size_t)(e - b));
	ps->boundary[e - b] = '\0';

	body = mailsec_msg_body(ps->msg);
	p = body.ptr;
	end = body.ptr + body.len;
	dl = (size_t)snprintf(delim, sizeof delim, "--%s", ps->boundary);
	/* the preamble, then a delimiter line per part */
	p = strstr(p, delim);
	assert_non_null(p);
	for (;;) {
		p += dl;
		if (p + 2 <= end && memcmp(p, "--", 2) == 0)
			break;	/* close delimiter */
		assert_memory_equal(p, "\r\n", 2);
		p += 2;
		next = strstr(p, delim);
		assert_non_null(next);
		assert_true(next[-1] == '\n' && next[-2] == '\r');
		hend = strstr(p, "\r\n\r\n");
		assert_non_null(hend);
		assert_true(hend <= next - 2);
		assert_true(ps->nparts < 4);
		ps->parts[ps->nparts].hdr = dupn(p, (size_t)(hend - p) + 2);
		/* the CRLF before a delimiter belongs to it (RFC 2046
		 * 5.1.1) */
		ps->parts[ps->nparts].body = hend + 4 > next - 2 ?
		    dupn("", 0) : dupn(hend + 4, (size_t)(next - 2 -
		    (hend + 4)));
		ps->nparts++;
		p = next;
	}
	assert_memory_equal(p, "--\r\n", 4);
	assert_true(p + 4 == end);
}

static void
parsed_free(struct parsed *ps)
{
	size_t i;

	for (i = 0; i < ps->nparts; i++) {
		free(ps->parts[i].hdr);
		free(ps->parts[i].body);
	}
	mailsec_msg_free(ps->msg);
	free(ps->all);
}

/* The random source compose_ok() hands the composer (NULL: the real
 * one). */
static ms_dsn_random_fn *compose_random;

/* Composes d with the original text (NULL: no reader) and parses it. */
static void
compose_ok(struct parsed *ps, const struct mailsec_dsn *d, const char *orig,
    size_t origlen, uint64_t orig_max)
{
	struct reader rd = { orig, origlen, 0, 5, MAILSEC_OK, 0 };
	struct mailsec_diag diag;
	char *out = NULL;
	size_t len = 0;
	mailsec_err err;

	memset(&diag, 0, sizeof diag);
	err = ms_dsn_compose_rnd(d, orig != NULL ? reader_read : NULL, &rd,
	    orig_max, &out, &len, &diag, compose_random);
	if (err != MAILSEC_OK)
		fail_msg("compose: %s: %s", mailsec_errname(err), diag.text);
	assert_non_null(out);
	assert_int_equal(strlen(out), len);
	parse_dsn(ps, out, len);
}

/* The line "name: value" (exactly) is in text. */
static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') &&
		    (p[n] == '\0' || memcmp(p + n, "\r\n", 2) == 0))
			return true;
		p++;
	}
	return false;
}

/* The human part has phrase, white space runs (line breaks included)
 * taken as one space. */
static bool
says(const char *text, const char *phrase)
{
	char *flat = malloc(strlen(text) + 1);
	size_t o = 0;
	bool found;

	assert_non_null(flat);
	for (; *text != '\0'; text++) {
		if (*text == ' ' || *text == '\r' || *text == '\n') {
			if (o > 0 && flat[o - 1] != ' ')
				flat[o++] = ' ';
		} else {
			flat[o++] = *text;
		}
	}
	flat[o] = '\0';
	found = strstr(flat, phrase) != NULL;
	free(flat);
	return found;
}

static mailsec_err
compose_err(const struct mailsec_dsn *d, struct mailsec_diag *diag)
{
	struct reader rd = { orig_msg, sizeof orig_msg - 1, 0, 0, 0, 0 };
	char *out = NULL;
	size_t len = 0;
	mailsec_err err;

	err = mailsec_dsn_compose(d, reader_read, &rd, 100000, &out, &len,
	    diag);
	if (err == MAILSEC_OK)
		free(out);
	else
		assert_null(out);
	return err;
}

/* ---- NOTIFY ------------------------------------------------------------ */

struct notify_case {
	const char *notify;
	bool failed, delayed, delivered, relayed, expanded;
};

static const struct notify_case notify_cases[] = {
	/* absent: FAILURE,DELAY (RFC 3461 4.1, 5.2.5 (b), 5.2.6 (c)) */
	{ NULL, true, true, false, false, false },
	{ "", true, true, false, false, false },
	{ "NEVER", false, false, false, false, false },
	{ "never", false, false, false, false, false },
	{ "SUCCESS", false, false, true, true, true },
	{ "FAILURE", true, false, false, false, false },
	{ "DELAY", false, true, false, false, false },
	{ "SUCCESS,FAILURE", true, false, true, true, true },
	{ "failure,delay", true, true, false, false, false },
	{ "Success,Failure,Delay", true, true, true, true, true },
	{ "DELAY,SUCCESS", false, true, true, true, true },
	/* malformed: treated as absent */
	{ "NEVER,FAILURE", true, true, false, false, false },
	{ "BOGUS", true, true, false, false, false },
	{ "FAILURE,", true, true, false, false, false },
	{ "FAILURE,FAILURE", true, true, false, false, false },
	{ " FAILURE", true, true, false, false, false },
};

static void
test_wanted(void **state)
{
	const struct notify_case *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof notify_cases / sizeof notify_cases[0]; i++) {
		c = &notify_cases[i];
		assert_int_equal(mailsec_dsn_wanted(c->notify,
		    MAILSEC_DSN_FAILED), c->failed);
		assert_int_equal(mailsec_dsn_wanted(c->notify,
		    MAILSEC_DSN_DELAYED), c->delayed);
		assert_int_equal(mailsec_dsn_wanted(c->notify,
		    MAILSEC_DSN_DELIVERED), c->delivered);
		assert_int_equal(mailsec_dsn_wanted(c->notify,
		    MAILSEC_DSN_RELAYED), c->relayed);
		assert_int_equal(mailsec_dsn_wanted(c->notify,
		    MAILSEC_DSN_EXPANDED), c->expanded);
	}
}

/* ---- compose: actions -------------------------------------------------- */

static void
test_failed_full(void **state)
{
	struct mailsec_dsn_rcpt r = rcpt_failed();
	struct mailsec_dsn d = dsn_base(&r, 1);
	struct parsed ps;
	char v[512];

	(void)state;
	d.ret = "FULL";
	compose_ok(&ps, &d, orig_msg, sizeof orig_msg - 1, 100000);
	assert_string_equal(top_field(&ps, "Subject", v, sizeof v),
	    "Undelivered Mail Returned to Sender");
	assert_string_equal(top_field(&ps, "Auto-Submitted", v, sizeof v),
	    "auto-replied");
	assert_string_equal(top_field(&ps, "To", v, sizeof v),
	    "<alice@example.org>");
	assert_string_equal(top_field(&ps, "From", v, sizeof v),
	    "Mail Delivery System <MAILER-DAEMON@mail.example.org>");
	assert_string_equal(top_field(&ps, "Date", v, sizeof v),
	    "Thu, 02 Jan 2025 03:04:05 +0000");
	assert_string_equal(top_field(&ps, "MIME-Version", v, sizeof v),
	    "1.0");
	assert_non_null(top_field(&ps, "Message-ID", v, sizeof v));
	assert_true(v[0] == '<' && strstr(v, "@mail.example.org>") != NULL);
	assert_int_equal(ps.nparts, 3);
	assert_non_null(strstr(ps.parts[0].hdr, "text/plain"));
	assert_true(says(ps.parts[0].body, "bob@example.com"));
	assert_true(says(ps.parts[0].body, "could not be delivered"));
	assert_true(says(ps.parts[0].body, "no such user"));
	assert_true(says(ps.parts[0].body, "mx.example.com"));
	assert_non_null(strstr(ps.parts[1].hdr,
	    "Content-Type: message/delivery-status"));
	assert_true(has_line(ps.parts[1].body,
	    "Reporting-MTA: dns; mail.example.org"));
	assert_true(has_line(ps.parts[1].body,
	    "Received-From-MTA: dns; client.example.org (192.0.2.1)"));
	assert_true(has_line(ps.parts[1].body,
	    "Arrival-Date: Thu, 02 Jan 2025 02:04:05 +0000"));
	assert_true(has_line(ps.parts[1].body,
	    "Final-Recipient: rfc822;bob@example.com"));
	assert_true(has_line(ps.parts[1].body, "Action: failed"));
	assert_true(has_line(ps.parts[1].body, "Status: 5.1.1"));
	assert_true(has_line(ps.parts[1].body,
	    "Remote-MTA: dns; mx.example.com"));
	assert_true(has_line(ps.parts[1].body, "Diagnostic-Code: smtp; 550 "
	    "5.1.1 <bob@example.com>: no such user"));
	assert_true(has_line(ps.parts[1].body,
	    "Last-Attempt-Date: Thu, 02 Jan 2025 03:03:55 +0000"));
	assert_null(strstr(ps.parts[1].body, "Original-Envelope-Id"));
	assert_null(strstr(ps.parts[1].body, "Original-Recipient"));
	assert_null(strstr(ps.parts[1].body, "Will-Retry-Until"));
	/* per-message fields, blank line, per-recipient fields */
	assert_non_null(strstr(ps.parts[1].body,
	    "+0000\r\n\r\nFinal-Recipient:"));
	assert_non_null(strstr(ps.parts[2].hdr,
	    "Content-Type: message/rfc822"));
	/* the whole message, its last CRLF taken by the delimiter */
	assert_int_equal(strlen(ps.parts[2].body), sizeof orig_msg - 3);
	assert_memory_equal(ps.parts[2].body, orig_msg, sizeof orig_msg - 3);
	assert_true(says(ps.parts[0].body, "Your message is attached"));
	parsed_free(&ps);
}

static void
test_delayed(void **state)
{
	struct mailsec_dsn_rcpt r = rcpt_failed();
	struct mailsec_dsn d;
	struct parsed ps;
	char v[512];

	(void)state;
	r.action = MAILSEC_DSN_DELAYED;
	r.status = "4.4.1";
	r.diagnostic = "connect to mx.example.com: Connection refused";
	r.will_retry_until = T_NOW + 4 * 86400;
	d = dsn_base(&r, 1);
	d.ret = "FULL";		/* no failure: headers only (RFC 3461 4.3) */
	compose_ok(&ps, &d, orig_msg, sizeof orig_msg - 1, 100000);
	assert_string_equal(top_field(&ps, "Subject", v, sizeof v),
	    "Delayed Mail (still being retried)");
	assert_int_equal(ps.nparts, 3);
	assert_true(has_line(ps.parts[1].body, "Action: delayed"));
	assert_true(has_line(ps.parts[1].body, "Status: 4.4.1"));
	assert_true(has_line(ps.parts[1].body,
	    "Will-Retry-Until: Mon, 06 Jan 2025 03:04:05 +0000"));
	/* no reply code: not an smtp diagnostic (RFC 3461 9.2) */
	assert_true(has_line(ps.parts[1].body, "Diagnostic-Code: X-mailsec; "
	    "connect to mx.example.com: Connection refused"));
	assert_non_null(strstr(ps.parts[2].hdr,
	    "Content-Type: text/rfc822-headers"));
	assert_null(strstr(ps.parts[2].body, "See you at noon"));
	assert_non_null(strstr(ps.parts[2].body, "Subject: Lunch\r\n"));
	assert_true(says(ps.parts[0].body, "not been delivered yet"));
	assert_true(says(ps.parts[0].body, "Mon, 06 Jan 2025"));
	parsed_free(&ps);
}

static void
test_success_actions(void **state)
{
	static const struct {
		enum mailsec_dsn_action a;
		const char *name;
	} acts[] = {
		{ MAILSEC_DSN_DELIVERED, "Action: delivered" },
		{ MAILSEC_DSN_RELAYED, "Action: relayed" },
		{ MAILSEC_DSN_EXPANDED, "Action: expanded" },
	};
	struct mailsec_dsn_rcpt r;
	struct mailsec_dsn d;
	struct parsed ps;
	char v[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof acts / sizeof acts[0]; i++) {
		memset(&r, 0, sizeof r);
		r.final_recipient = "bob@example.com";
		r.action = acts[i].a;
		r.status = "2.0.0";
		r.remote_mta = "mx.example.com";
		r.diagnostic = "250 2.0.0 Ok: queued as 4F2";
		r.will_retry_until = T_NOW + 100;	/* not for these */
		d = dsn_base(&r, 1);
		d.ret = "FULL";
		compose_ok(&ps, &d, orig_msg, sizeof orig_msg - 1, 100000);
		assert_string_equal(top_field(&ps, "Subject", v, sizeof v),
		    "Successful Mail Delivery Report");
		assert_true(has_line(ps.parts[1].body, acts[i].name));
		assert_true(has_line(ps.parts[1].body, "Status: 2.0.0"));
		assert_null(strstr(ps.parts[1].body, "Will-Retry-Until"));
		assert_null(strstr(ps.parts[1].body, "Last-Attempt-Date"));
		assert_non_null(strstr(ps.parts[2].hdr, "text/rfc822-headers"));
		parsed_free(&ps);
	}
}

static void
test_mixed_recipients(void **state)
{
	struct mailsec_dsn_rcpt r[3];
	struct mailsec_dsn d;
	struct parsed ps;
	char v[512];
	const char *p, *q;

	(void)state;
	r[0] = rcpt_failed();
	r[1] = rcpt_failed();
	r[1].final_recipient = "carol@example.net";
	r[1].action = MAILSEC_DSN_DELAYED;
	r[1].status = "4.2.2";
	r[1].diagnostic = "452 4.2.2 mailbox full";
	r[1].remote_mta = "mx.example.net";
	r[2] = rcpt_failed();
	r[2].final_recipient = "dave@example.net";
	r[2].status = "5.0.0";
	r[2].remote_mta = NULL;
	r[2].diagnostic = NULL;
	r[2].last_attempt = 0;
	d = dsn_base(r, 3);
	compose_ok(&ps, &d, orig_msg, sizeof orig_msg - 1, 100000);
	assert_string_equal(top_field(&ps, "Subject", v, sizeof v),
	    "Undelivered Mail Returned to Sender");
	/* the groups in order, each after a blank line */
	p = strstr(ps.parts[1].body,
	    "\r\n\r\nFinal-Recipient: rfc822;bob@example.com\r\n");
	assert_non_null(p);
	q = strstr(p + 4,
	    "\r\n\r\nFinal-Recipient: rfc822;carol@example.net\r\n");
	assert_non_null(q);
	p = strstr(q + 4,
	    "\r\n\r\nFinal-Recipient: rfc822;dave@example.net\r\n"
	    "Action: failed\r\nStatus: 5.0.0");
	assert_non_null(p);
	assert_true(has_line(ps.parts[1].body, "Action: delayed"));
	assert_true(says(ps.parts[0].body, "carol@example.net"));
	assert_true(says(ps.parts[0].body, "dave@example.net"));
	parsed_free(&ps);
}

/* ---- compose: RET, ENVID, ORCPT, orig_max ------------------------------ */

static void
test_ret(void **state)
{
	static const struct {
		const char *ret;
		uint64_t orig_max;
		bool full;
	} cases[] = {
		{ "FULL", 100000, true },
		{ "full", 100000, true },
		{ "HDRS", 100000, false },
		{ "hdrs", 100000, false },
		{ NULL, 100000, false },
		{ "FULL", 0, false },		/* 0: never whole */
		{ "FULL", sizeof orig_msg - 1, true },	/* exactly */
		{ "FULL", sizeof orig_msg - 2, false },	/* one byte over */
	};
	struct mailsec_dsn_rcpt r = rcpt_failed();
	struct mailsec_dsn d;
	struct parsed ps;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		d = dsn_base(&r, 1);
		d.ret = cases[i].ret;
		compose_ok(&ps, &d, orig_msg, sizeof orig_msg - 1,
		    cases[i].orig_max);
		assert_int_equal(ps.nparts, 3);
		if (cases[i].full) {
			assert_non_null(strstr(ps.parts[2].hdr,
			    "message/rfc822"));
			assert_non_null(strstr(ps.parts[2].body,
			    "See you at noon."));
		} else {
			assert_non_null(strstr(ps.parts[2].hdr,
			    "Content-Type: text/rfc822-headers"));
			assert_null(strstr(ps.parts[2].hdr,
			    "Content-Transfer-Encoding"));
			assert_null(strstr(ps.parts[2].body, "See you"));
			/* the whole header block, nothing else */
			assert_int_equal(strlen(ps.parts[2].body),
			    strstr(orig_msg, "\r\n\r\n") - orig_msg);
			assert_memory_equal(ps.parts[2].body, orig_msg,
			    strlen(ps.parts[2].body));
		}
		/* the human part says why the body is missing */
		if (!cases[i].full && d.ret != NULL &&
		    (d.ret[0] == 'F' || d.ret[0] == 'f'))
			assert_true(says(ps.parts[0].body,
			    cases[i].orig_max == 0 ? "does not return whole" :
			    "larger than"));
		parsed_free(&ps);
	}
}

static void
test_orig_max_large(void **state)
{
	struct mailsec_dsn_rcpt r = rcpt_failed();
	struct mailsec_dsn d = dsn_base(&r, 1);
	struct parsed ps;
	struct reader rd;
	char *big, *out = NULL;
	size_t n = 300000, hl = sizeof orig_msg - 1 - 18, i, len;

	(void)state;
	/* headers of orig_msg, then a long body of short lines */
	big = malloc(n);
	assert_non_null(big);
	memcpy(big, orig_msg, hl);
	for (i = hl; i < n; i++)
		big[i] = (i % 60 == 0) ? '\n' : 'x';
	d.ret = "FULL";
	memset(&rd, 0, sizeof rd);
	rd.data = big;
	rd.len = n;
	assert_int_equal(mailsec_dsn_compose(&d, reader_read, &rd, 1000,
	    &out, &len, NULL), MAILSEC_OK);
	/* stopped reading well before the end */
	assert_true(rd.pos < n);
	parse_dsn(&ps, out, len);
	assert_non_null(strstr(ps.parts[2].hdr, "text/rfc822-headers"));
	assert_non_null(strstr(ps.parts[2].body, "Subject: Lunch"));
	assert_null(strstr(ps.parts[2].body, "xxxx"));
	assert_true(says(ps.parts[0].body, "larger than the 1000 "
	    "bytes"));
	parsed_free(&ps);

	/* large enough: the whole message, LF lines made CRLF */
	d = dsn_base(&r, 1);
	d.ret = "FULL";
	memset(&rd, 0, sizeof rd);
	rd.data = big;
	rd.len = n;
	out = NULL;
	assert_int_equal(mailsec_dsn_compose(&d, reader_read, &rd, n, &out,
	    &len, NULL), MAILSEC_OK);
	parse_dsn(&ps, out, len);
	assert_non_null(strstr(ps.parts[2].hdr, "message/rfc822"));
	assert_true(strlen(ps.parts[2].body) > n);
	parsed_free(&ps);
	free(big);
}

static void
test_envid_orcpt(void **state)
{
	struct mailsec_dsn_rcpt r = rcpt_failed();
	struct mailsec_dsn d;
	struct parsed ps;

	(void)state;
	r.orcpt = "rfc822;Bob+Lists@Example.COM";
	d = dsn_base(&r, 1);
	d.envid = "QQ314159 a+b=c";	/* decoded xtext, case kept */
	compose_ok(&ps, &d, orig_msg, sizeof orig_msg - 1, 100000);
	assert_true(has_line(ps.parts[1].body,
	    "Original-Envelope-Id: QQ314159 a+b=c"));
	assert_true(has_line(ps.parts[1].body,
	    "Original-Recipient: rfc822;Bob+Lists@Example.COM"));
	/* Original-Recipient precedes Final-Recipient (RFC 3464 2.3) */
	assert_true(strstr(ps.parts[1].body, "Original-Recipient") <
	    strstr(ps.parts[1].body, "Final-Recipient"));
	/* Original-Envelope-Id precedes Reporting-MTA (RFC 3464 2.2) */
	assert_true(strstr(ps.parts[1].body, "Original-Envelope-Id") <
	    strstr(ps.parts[1].body, "Reporting-MTA"));
	assert_true(says(ps.parts[0].body, "QQ314159"));
	assert_true(says(ps.parts[0].body, "Bob+Lists@Example.COM"));
	parsed_free(&ps);

	/* no ORCPT type: refused */
	r.orcpt = "bob@example.com";
	d = dsn_base(&r, 1);
	assert_int_equal(compose_err(&d, NULL), MAILSEC_EINVAL);
	r.orcpt = "rfc 822;bob@example.com";
	d = dsn_base(&r, 1);
	assert_int_equal(compose_err(&d, NULL), MAILSEC_EINVAL);
}

static void
test_eightbit(void **state)
{
	static const char body8[] =
		"From: alice@example.org\r\n"
		"Subject: caf\xc3\xa9 plain\r\n"
		"\r\n"
		"caf\xc3\xa9\r\n";
	static const char hdr7body8[] =
		"From: alice@example.org\r\n"
		"Subject: plain\r\n"
		"\r\n"
		"caf\xc3\xa9\r\n";
	struct mailsec_dsn_rcpt r = rcpt_failed();
	struct mailsec_dsn d = dsn_base(&r, 1);
	struct parsed ps;
	size_t i;

	(void)state;
	d.ret = "FULL";
	compose_ok(&ps, &d, body8, sizeof body8 - 1, 100000);
	assert_non_null(strstr(ps.parts[2].hdr, "text/rfc822-headers"));
	assert_non_null(strstr(ps.parts[2].hdr,
	    "Content-Transfer-Encoding: quoted-printable"));
	assert_non_null(strstr(ps.parts[2].body, "Subject: caf=C3=A9 plain"));
	assert_true(says(ps.parts[0].body, "8-bit"));
	/* the whole DSN stays 7-bit */
	for (i = 0; i < ps.len; i++)
		assert_true((unsigned char)ps.all[i] < 0x80);
	parsed_free(&ps);

	compose_ok(&ps, &d, hdr7body8, sizeof hdr7body8 - 1, 100000);
	assert_non_null(strstr(ps.parts[2].hdr, "text/rfc822-headers"));
	assert_null(strstr(ps.parts[2].hdr, "Content-Transfer-Encoding"));
	assert_non_null(strstr(ps.parts[2].body, "Subject: plain"));
	for (i = 0; i < ps.len; i++)
		assert_true((unsigned char)ps.all[i] < 0x80);
	parsed_free(&ps);
}

static void
test_binary_and_long_lines(void **state)
{
	struct mailsec_dsn_rcpt r = rcpt_failed();
	struct mailsec_dsn d = dsn_base(&r, 1);
	struct parsed ps;
	char m[3000];
	size_t n;

	(void)state;
	d.ret = "FULL";
	/* a NUL in the body */
	n = (size_t)snprintf(m, sizeof m, "Subject: x\r\n\r\nab");
	m[n++] = '\0';
	m[n++] = '\r';
	m[n++] = '\n';
	compose_ok(&ps, &d, m, n, 100000);
	assert_non_null(strstr(ps.parts[2].hdr, "text/rfc822-headers"));
	assert_true(says(ps.parts[0].body, "binary"));
	parsed_free(&ps);

	/* a body line over 998 */
	n = (size_t)snprintf(m, sizeof m, "Subject: x\r\n\r\n");
	memset(m + n, 'y', 1500);
	n += 1500;
	m[n++] = '\r';
	m[n++] = '\n';
	compose_ok(&ps, &d, m, n, 100000);
	assert_non_null(strstr(ps.parts[2].hdr, "text/rfc822-headers"));
	parsed_free(&ps);

	/* a header line over 998 and a bare CR: quoted-printable */
	n = (size_t)snprintf(m, sizeof m, "X-Long: ");
	memset(m + n, 'z', 1500);
	n += 1500;
	memcpy(m + n, "\r\nX-CR: a\rb\r\n\r\nbody\r\n", 21);
	n += 21;
	compose_ok(&ps, &d, m, n, 100000);
	assert_non_null(strstr(ps.parts[2].hdr, "quoted-printable"));
	assert_non_null(strstr(ps.parts[2].body, "X-CR: a=0Db"));
	assert_non_null(strstr(ps.parts[2].body, "zzz=\r\nzzz"));
	parsed_free(&ps);
}

static void
test_lf_original(void **state)
{
	static const char lf[] = "From: a@example.org\nSubject: lf\n\nline 1\n"
	    "line 2";
	struct mailsec_dsn_rcpt r = rcpt_failed();
	struct mailsec_dsn d = dsn_base(&r, 1);
	struct parsed ps;

	(void)state;
	d.ret = "FULL";
	compose_ok(&ps, &d, lf, sizeof lf - 1, 100000);
	assert_string_equal(ps.parts[2].body,
	    "From: a@example.org\r\nSubject: lf\r\n\r\nline 1\r\nline 2");
	parsed_free(&ps);
	d.ret = "HDRS";
	compose_ok(&ps, &d, lf, sizeof lf - 1, 100000);
	assert_string_equal(ps.parts[2].body,
	    "From: a@example.org\r\nSubject: lf");
	parsed_free(&ps);
}

static void
test_header_cut(void **state)
{
	struct mailsec_dsn_rcpt r = rcpt_failed();
	struct mailsec_dsn d = dsn_base(&r, 1);
	struct parsed ps;
	size_t n = MAILSEC_DSN_HEADERS_MAX + 50000, i = 0, k = 0, blen;
	char *m = malloc(n + 100);

	(void)state;
	assert_non_null(m);
	/* fields of 50 bytes each with a continuation line */
	while (i + 50 < n) {
		int w = snprintf(m + i, 51,
		    "X-F%06zu: aaaaaaaaaaaaaaaaaaaaa\r\n  bbbbbbbbbbbb\r\n",
		    k++);
		assert_int_equal(w, 50);
		i += 50;
	}
	memcpy(m + i, "\r\nbody\r\n", 8);
	i += 8;
	compose_ok(&ps, &d, m, i, 100000);
	blen = strlen(ps.parts[2].body);
	assert_true(blen <= MAILSEC_DSN_HEADERS_MAX);
	assert_true(blen > MAILSEC_DSN_HEADERS_MAX - 100);
	/* cut at a field boundary: the last field is whole */
	assert_memory_equal(ps.parts[2].body + blen - 14, "  bbbbbbbbbbbb", 14);
	assert_true(says(ps.parts[0].body, "The header was cut"));
	parsed_free(&ps);
	free(m);
}

static void
test_no_reader_and_read_error(void **state)
{
	struct mailsec_dsn_rcpt r = rcpt_failed();
	struct mailsec_dsn d = dsn_base(&r, 1);
	struct reader rd = { orig_msg, sizeof orig_msg - 1, 0, 0,
	    MAILSEC_EIO, 0 };
	struct mailsec_diag diag;
	struct parsed ps;
	char *out = NULL;
	size_t len;

	(void)state;
	compose_ok(&ps, &d, NULL, 0, 100000);
	assert_int_equal(ps.nparts, 2);
	assert_true(says(ps.parts[0].body, "not included"));
	parsed_free(&ps);

	memset(&diag, 0, sizeof diag);
	assert_int_equal(mailsec_dsn_compose(&d, reader_read, &rd, 100000,
	    &out, &len, &diag), MAILSEC_EIO);
	assert_null(out);
	assert_true(diag.set);
}

/* ---- refusals ---------------------------------------------------------- */

static void
test_null_sender(void **state)
{
	struct mailsec_dsn_rcpt r = rcpt_failed();
	struct mailsec_dsn d = dsn_base(&r, 1);
	struct mailsec_diag diag;

	(void)state;
	d.to = "";
	memset(&diag, 0, sizeof diag);
	assert_int_equal(compose_err(&d, &diag), MAILSEC_EINVAL);
	assert_true(diag.set);
	assert_non_null(strstr(diag.text, "null"));
	d.to = NULL;
	assert_int_equal(compose_err(&d, NULL), MAILSEC_EINVAL);
	d.to = "<>";
	assert_int_equal(compose_err(&d, NULL), MAILSEC_EINVAL);
}

/* Each case sets one field to a value that must be refused. */
static void
test_injection(void **state)
{
	static const char *const bad[] = {
		"a@example.org\r\nBcc: victim@example.com",
		"a@example.org\nBcc: victim@example.com",
		"a@example.org\r",
		"a@example.org\x01",
		"a@example.org\x7f",
		"caf\xc3\xa9@example.org",
		"a@example.org\tx",
	};
	struct mailsec_dsn_rcpt r;
	struct mailsec_dsn d;
	struct mailsec_diag diag;
	size_t i, f;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		for (f = 0; f < 9; f++) {
			r = rcpt_failed();
			d = dsn_base(&r, 1);
			switch (f) {
			case 0: d.to = bad[i]; break;
			case 1: d.postmaster = bad[i]; break;
			case 2: d.reporting_mta = bad[i]; break;
			case 3: d.envid = bad[i]; break;
			case 4: d.received_from_mta = bad[i]; break;
			case 5: d.message_id_domain = bad[i]; break;
			case 6: r.final_recipient = bad[i]; break;
			case 7: r.remote_mta = bad[i]; break;
			case 8: r.orcpt = bad[i]; break;
			}
			memset(&diag, 0, sizeof diag);
			if (compose_err(&d, &diag) != MAILSEC_EINVAL)
				fail_msg("field %zu value %zu accepted", f, i);
			assert_true(diag.set);
		}
	}
	/* angle brackets would end the To: address */
	r = rcpt_failed();
	d = dsn_base(&r, 1);
	d.to = "a@example.org> , <victim@example.com";
	assert_int_equal(compose_err(&d, NULL), MAILSEC_EINVAL);
}

/* The peer's text is escaped, never a field of its own. */
static void
test_diagnostic_escaped(void **state)
{
	struct mailsec_dsn_rcpt r = rcpt_failed();
	struct mailsec_dsn d;
	struct parsed ps;
	const char *p;

	(void)state;
	r.diagnostic = "550-5.1.1 first line\r\n550-\r\nBcc: evil@example.com"
	    "\r\n\r\nX-Injected: yes\n550 5.1.1 last\x01 \xff line   ";
	d = dsn_base(&r, 1);
	compose_ok(&ps, &d, orig_msg, sizeof orig_msg - 1, 100000);
	/* RFC 3461 9.2: each further line is a continuation line */
	p = strstr(ps.parts[1].body, "Diagnostic-Code: smtp; 550-5.1.1 first "
	    "line\r\n 550-\r\n Bcc: evil@example.com\r\n X-Injected: yes\r\n"
	    " 550 5.1.1 last\\x01 \\xFF line\r\n");
	assert_non_null(p);
	/* nothing starts a line but our fields */
	assert_false(has_line(ps.parts[1].body, "Bcc: evil@example.com"));
	assert_null(strstr(ps.all, "\nBcc:"));
	assert_null(strstr(ps.all, "\nX-Injected:"));
	assert_int_equal(mailsec_msg_find(ps.msg, "Bcc", 0), (size_t)-1);
	parsed_free(&ps);
}

static void
test_bad_arguments(void **state)
{
	static const struct {
		enum mailsec_dsn_action a;
		const char *status;
	} bad_status[] = {
		{ MAILSEC_DSN_FAILED, NULL },
		{ MAILSEC_DSN_FAILED, "" },
		{ MAILSEC_DSN_FAILED, "550" },
		{ MAILSEC_DSN_FAILED, "5.1" },
		{ MAILSEC_DSN_FAILED, "5.01.1" },
		{ MAILSEC_DSN_FAILED, "5.1.1000" },
		{ MAILSEC_DSN_FAILED, "3.1.1" },
		{ MAILSEC_DSN_FAILED, "5.1.1 " },
		{ MAILSEC_DSN_FAILED, "2.0.0" },
		{ MAILSEC_DSN_DELAYED, "5.0.0" },
		{ MAILSEC_DSN_DELIVERED, "5.0.0" },
		{ MAILSEC_DSN_RELAYED, "4.0.0" },
		{ (enum mailsec_dsn_action)42, "5.0.0" },
	};
	struct mailsec_dsn_rcpt r = rcpt_failed();
	struct mailsec_dsn d = dsn_base(&r, 1);
	char *out = NULL;
	size_t len, i;

	(void)state;
	assert_int_equal(mailsec_dsn_compose(NULL, NULL, NULL, 0, &out, &len,
	    NULL), MAILSEC_EINVAL);
	assert_int_equal(mailsec_dsn_compose(&d, NULL, NULL, 0, NULL, &len,
	    NULL), MAILSEC_EINVAL);
	assert_int_equal(mailsec_dsn_compose(&d, NULL, NULL, 0, &out, NULL,
	    NULL), MAILSEC_EINVAL);
	d.nrcpts = 0;
	assert_int_equal(compose_err(&d, NULL), MAILSEC_EINVAL);
	d = dsn_base(&r, 1);
	d.ret = "SOME";
	assert_int_equal(compose_err(&d, NULL), MAILSEC_EINVAL);
	d = dsn_base(&r, 1);
	d.reporting_mta = NULL;
	assert_int_equal(compose_err(&d, NULL), MAILSEC_EINVAL);
	d = dsn_base(&r, 1);
	d.postmaster = "";
	assert_int_equal(compose_err(&d, NULL), MAILSEC_EINVAL);
	d = dsn_base(&r, 1);
	d.now = -1;
	assert_int_equal(compose_err(&d, NULL), MAILSEC_EINVAL);
	d = dsn_base(&r, 1);
	d.arrival = INT64_MAX;
	assert_int_equal(compose_err(&d, NULL), MAILSEC_EINVAL);
	for (i = 0; i < sizeof bad_status / sizeof bad_status[0]; i++) {
		r = rcpt_failed();
		r.action = bad_status[i].a;
		r.status = bad_status[i].status;
		d = dsn_base(&r, 1);
		if (compose_err(&d, NULL) != MAILSEC_EINVAL)
			fail_msg("status case %zu accepted", i);
	}
	/* good ones */
	r = rcpt_failed();
	r.status = "4.10.100";
	d = dsn_base(&r, 1);
	assert_int_equal(compose_err(&d, NULL), MAILSEC_OK);
}

/* ---- folding and limits ------------------------------------------------ */

static void
test_folding(void **state)
{
	struct mailsec_dsn_rcpt r = rcpt_failed();
	struct mailsec_dsn d;
	struct parsed ps;
	char diagtxt[4000], word[1200], addr[1300], hdr[1400];
	const char *p, *e;
	size_t i, n = 0;

	(void)state;
	/* many words: folded within 78 columns */
	n = (size_t)snprintf(diagtxt, sizeof diagtxt, "550 5.7.1");
	for (i = 0; i < 80; i++)
		n += (size_t)snprintf(diagtxt + n, sizeof diagtxt - n,
		    " word%zu", i);
	/* and one 3000-character word: cut into pieces */
	memset(diagtxt + n, ' ', 1);
	memset(diagtxt + n + 1, 'w', 3000);
	diagtxt[n + 3001] = '\0';
	r.diagnostic = diagtxt;
	d = dsn_base(&r, 1);
	compose_ok(&ps, &d, orig_msg, sizeof orig_msg - 1, 100000);
	/* every line of the top header, the status part and the human
	 * part within 78 columns */
	for (i = 0; i < 2; i++) {
		p = ps.parts[i].body;
		while ((e = strstr(p, "\r\n")) != NULL) {
			if ((size_t)(e - p) > 78)
				fail_msg("part %zu line of %zu", i,
				    (size_t)(e - p));
			p = e + 2;
		}
	}
	p = ps.all;
	e = strstr(ps.all, "\r\n\r\n");
	while (p < e) {
		const char *nl = strstr(p, "\r\n");

		assert_true(nl - p <= 78);
		p = nl + 2;
	}
	assert_non_null(strstr(ps.parts[1].body, " word79"));
	parsed_free(&ps);

	/* an address that cannot be folded: over 78, under 998: kept */
	memset(word, 'a', 900);
	word[900] = '\0';
	snprintf(addr, sizeof addr, "%s@example.com", word);
	r = rcpt_failed();
	r.final_recipient = addr;
	d = dsn_base(&r, 1);
	compose_ok(&ps, &d, orig_msg, sizeof orig_msg - 1, 100000);
	snprintf(hdr, sizeof hdr, "Final-Recipient: rfc822;%s", addr);
	assert_true(has_line(ps.parts[1].body, hdr));
	parsed_free(&ps);

	/* over 998: refused, never cut */
	memset(word, 'a', 1000);
	word[1000] = '\0';
	snprintf(addr, sizeof addr, "%s@example.com", word);
	r.final_recipient = addr;
	d = dsn_base(&r, 1);
	assert_int_equal(compose_err(&d, NULL), MAILSEC_ELIMIT);
}

/* ---- the boundary ------------------------------------------------------ */

static unsigned char fixed_byte;

static void
fixed_random(unsigned char *buf, size_t n)
{
	/* the first draw all zero bytes, then all ones, ... */
	memset(buf, fixed_byte, n);
	fixed_byte++;
}

static void
test_boundary_avoids_content(void **state)
{
	/* the original holds the boundary the first draw gives */
	static const char m[] =
		"Subject: trap\r\n"
		"\r\n"
		"--=_mailsec_dsn_000000000000000000000000\r\n"
		"--=_mailsec_dsn_000000000000000000000000--\r\n";
	struct mailsec_dsn_rcpt r = rcpt_failed();
	struct mailsec_dsn d = dsn_base(&r, 1);
	struct parsed ps;
	size_t i;

	(void)state;
	d.ret = "FULL";
	fixed_byte = 0;
	compose_random = fixed_random;
	compose_ok(&ps, &d, m, sizeof m - 1, 100000);
	compose_random = NULL;
	assert_string_not_equal(ps.boundary,
	    "=_mailsec_dsn_000000000000000000000000");
	for (i = 0; i < ps.nparts; i++)
		assert_null(strstr(ps.parts[i].body, ps.boundary));
	assert_int_equal(ps.nparts, 3);
	assert_non_null(strstr(ps.parts[2].body,
	    "--=_mailsec_dsn_000000000000000000000000--"));
	parsed_free(&ps);

	/* two DSNs get different boundaries and Message-IDs */
	{
		struct parsed a, b;
		char va[256], vb[256];

		compose_ok(&a, &d, orig_msg, sizeof orig_msg - 1, 100000);
		compose_ok(&b, &d, orig_msg, sizeof orig_msg - 1, 100000);
		assert_string_not_equal(a.boundary, b.boundary);
		assert_string_not_equal(
		    top_field(&a, "Message-ID", va, sizeof va),
		    top_field(&b, "Message-ID", vb, sizeof vb));
		parsed_free(&a);
		parsed_free(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wanted),
		cmocka_unit_test(test_failed_full),
		cmocka_unit_test(test_delayed),
		cmocka_unit_test(test_success_actions),
		cmocka_unit_test(test_mixed_recipients),
		cmocka_unit_test(test_ret),
		cmocka_unit_test(test_orig_max_large),
		cmocka_unit_test(test_envid_orcpt),
		cmocka_unit_test(test_eightbit),
		cmocka_unit_test(test_binary_and_long_lines),
		cmocka_unit_test(test_lf_original),
		cmocka_unit_test(test_header_cut),
		cmocka_unit_test(test_no_reader_and_read_error),
		cmocka_unit_test(test_null_sender),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_diagnostic_escaped),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_boundary_avoids_content),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
