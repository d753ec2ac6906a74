/*
 * fuzz/fuzz_dsn.c - mailsec_dsn_compose() with envelope strings,
 * recipients and an original message from the input; every DSN it
 * accepts must be CRLF-only 7-bit text with lines of at most 998 octets
 * that our message parser takes, and whose header holds our fields only
 * (no envelope value injected one).
 *
 * Input: one flags byte, then NUL-separated fields: to, postmaster,
 * reporting_mta, envid, received_from_mta, message_id_domain, then per
 * recipient: action (first byte), final_recipient, orcpt, status,
 * remote_mta, diagnostic; the rest is the original message. An empty
 * required field takes a valid default, an empty optional one is NULL.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/dsn.h>
#include <mailsec/msg.h>

#include "smtp/dsn_int.h"

#define MAX_RCPTS	4

struct input {
	const uint8_t *p;
	size_t n;
};

/* The next NUL-terminated field (a copy), or NULL at the end. */
static char *
next_field(struct input *in)
{
	const uint8_t *z = memchr(in->p, 0, in->n);
	size_t len = z != NULL ? (size_t)(z - in->p) : in->n;
	char *s = malloc(len + 1);

	if (s == NULL)
		abort();
	memcpy(s, in->p, len);
	s[len] = '\0';
	in->p += len;
	in->n -= len;
	if (z != NULL) {
		in->p++;
		in->n--;
	}
	return s;
}

struct reader {
	const uint8_t *p;
	size_t n, pos, step;
};

static mailsec_err
reader_read(void *arg, char *buf, size_t bufsz, size_t *got)
{
	struct reader *r = arg;
	size_t k = r->n - r->pos;

	if (k > bufsz)
		k = bufsz;
	if (k > r->step)
		k = r->step;
	memcpy(buf, r->p + r->pos, k);
	r->pos += k;
	*got = k;
	return MAILSEC_OK;
}

static uint64_t rand_state;

/* Deterministic per input, so a crash replays. */
static void
fuzz_random(unsigned char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		rand_state = rand_state * 6364136223846793005u +
		    1442695040888963407u;
		buf[i] = (unsigned char)(rand_state >> 56);
	}
}

static const char *
or_default(const char *s, const char *def)
{
	return s[0] != '\0' ? s : def;
}

static const char *
or_null(const char *s)
{
	return s[0] != '\0' ? s : NULL;
}

static const char *const default_status[] = {
	"5.1.1", "4.4.1", "2.0.0", "2.0.0", "2.0.0"
};

static const char *const top_fields[] = {
	"Date", "From", "To", "Subject", "Message-ID", "MIME-Version",
	"Auto-Submitted", "Content-Type"
};

static void
check_output(const char *out, size_t len)
{
	struct mailsec_msg *m = NULL;
	const struct mailsec_header *h;
	size_t i, k, col = 0;
	int known;

	if (strlen(out) != len)
		abort();
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c >= 0x80 || c == '\0')
			abort();
		if (c == '\r' && (i + 1 >= len || out[i + 1] != '\n'))
			abort();
		if (c == '\n' && (i == 0 || out[i - 1] != '\r'))
			abort();
		if (c == '\r' || c == '\n') {
			col = 0;
			continue;
		}
		if (++col > 998)
			abort();
	}
	if (len < 2 || out[len - 1] != '\n')
		abort();
	if (mailsec_msg_parse(out, len, NULL, MAILSEC_MSG_REQUIRE_CRLF, &m,
	    NULL) != MAILSEC_OK)
		abort();
	if (mailsec_msg_field_count(m) != sizeof top_fields /
	    sizeof top_fields[0])
		abort();
	for (i = 0; i < mailsec_msg_field_count(m); i++) {
		h = mailsec_msg_field(m, i);
		known = 0;
		for (k = 0; k < sizeof top_fields / sizeof top_fields[0]; k++)
			if (h->name.len == strlen(top_fields[k]) &&
			    memcmp(h->name.ptr, top_fields[k],
			    h->name.len) == 0)
				known = 1;
		if (!known)
			abort();
	}
	mailsec_msg_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const rets[] = { NULL, "FULL", "HDRS", "full" };
	static const uint64_t maxes[] = { 0, 64, 4096, 1u << 20 };
	static const size_t steps[] = { 1, 7, 512, 65536 };
	struct input in;
	struct mailsec_dsn d;
	struct mailsec_dsn_rcpt r[MAX_RCPTS];
	char *fields[6 + 6 * MAX_RCPTS];
	struct reader rd;
	char *out = NULL;
	size_t outlen = 0, nf = 0, i, nr;
	uint8_t flags;
	mailsec_err err;

	if (size < 1)
		return 0;
	flags = data[0];
	in.p = data + 1;
	in.n = size - 1;
	nr = 1 + (flags >> 6);
	for (i = 0; i < 6 + 6 * nr; i++)
		fields[nf++] = next_field(&in);

	memset(&d, 0, sizeof d);
	d.to = or_default(fields[0], "alice@example.org");
	d.postmaster = or_default(fields[1], "MAILER-DAEMON@mx.example.org");
	d.reporting_mta = or_default(fields[2], "mx.example.org");
	d.envid = or_null(fields[3]);
	d.received_from_mta = or_null(fields[4]);
	d.message_id_domain = or_null(fields[5]);
	d.ret = rets[flags & 3];
	d.arrival = (flags & 4) ? 1735787045 - 600 : 0;
	d.now = 1735787045;
	memset(r, 0, sizeof r);
	for (i = 0; i < nr; i++) {
		char **f = fields + 6 + 6 * i;
		unsigned a = (unsigned char)f[0][0] % 5;

		r[i].action = (enum mailsec_dsn_action)a;
		r[i].final_recipient = or_default(f[1], "bob@example.com");
		r[i].orcpt = or_null(f[2]);
		r[i].status = or_default(f[3], default_status[a]);
		r[i].remote_mta = or_null(f[4]);
		r[i].diagnostic = or_null(f[5]);
		r[i].last_attempt = (f[0][0] & 0x40) ? 1735787000 : 0;
		r[i].will_retry_until = (f[0][0] & 0x80) ? 1736000000 : 0;
	}
	d.rcpts = r;
	d.nrcpts = nr;

	rd.p = in.p;
	rd.n = in.n;
	rd.pos = 0;
	rd.step = steps[size & 3];
	rand_state = size;
	err = ms_dsn_compose_rnd(&d, (flags & 8) ? NULL : reader_read, &rd,
	    maxes[(flags >> 4) & 3], &out, &outlen, NULL, fuzz_random);
	if (err == MAILSEC_OK) {
		check_output(out, outlen);
		free(out);
	} else if (out != NULL) {
		abort();
	}
	for (i = 0; i < nf; i++)
		free(fields[i]);
	return 0;
}
