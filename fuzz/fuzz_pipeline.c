/*
 * fuzz/fuzz_pipeline.c - one message through the whole policy pipeline
 * (daemon/pipeline.c, pipeline_verdict.c) on a libevent loop with zone
 * DNS: SPF, header parse, forged Authentication-Results removal, DKIM
 * verification and ARC chain validation (or DKIM signing for an
 * authenticated sender), DMARC with trusted forwarders and ARC sealers,
 * the verdict.
 *
 * Input: byte 0 picks the sender (authenticated or not, client address,
 * reverse-path, pipeline: RFC 9989 or RFC 7489 with other actions),
 * byte 1 seeds the body chunk sizes (1 to 64, or 1 to 4096 bytes, each
 * chunk its own size), byte 2 whether the transaction is abandoned
 * before its end; the rest is the message (header block through
 * CRLF CRLF, then the body).
 *
 * Checks: a refused header has a reason; the header kept is no longer
 * than the one given, still parses, and holds no Authentication-Results
 * field with our authserv-id; exactly one verdict per ended message,
 * none after pl_msg_free; reply codes match the action; the prepended
 * fields end in CRLF and parse as a message header; the log line is
 * there.
 */
#define _GNU_SOURCE	/* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <mailsec/mailsec.h>

#include "config.h"
#include "pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AUTHSERV "mx.example.net"
/* RFC 8463's example Ed25519 key: sel1 of example.org, and the ARC
 * sealers fwd.example and list.example. */
#define SEL1_SEED "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
#define SEL1_KEY "\"v=DKIM1; k=ed25519; " \
	"p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\""

static const char zone[] =
    "$ORIGIN example.\n"
    "$TTL 300\n"
    "example.org. TXT \"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all\"\n"
    "_dmarc.example.org. TXT \"v=DMARC1; p=reject; sp=quarantine\"\n"
    "sel1._domainkey.example.org. TXT " SEL1_KEY "\n"
    "quarantine TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n"
    "_dmarc.quarantine TXT \"v=DMARC1; p=quarantine\"\n"
    "none TXT \"v=spf1 ?all\"\n"
    "_dmarc.none TXT \"v=DMARC1; p=none; adkim=s; aspf=s\"\n"
    "fwd TXT \"v=spf1 ip4:203.0.113.0/24 -all\"\n"
    "sel1._domainkey.fwd TXT " SEL1_KEY "\n"
    "sel1._domainkey.list TXT " SEL1_KEY "\n"
    "x TXT \"v=spf1 a mx include:example.org -all\"\n";

/* Two pipelines: the defaults of RFC 9989 with trusted parties, and
 * RFC 7489 with stricter actions and the quarantine header. */
static const char *const policies[2] = {
	"arc_sealers [fwd.example]; trusted_forwarders [list.example];",
	"dmarc_mode rfc7489; quarantine header; spf_fail reject; "
	"dmarc_none quarantine; dmarc_temperror tempfail; "
	"arc_sealers [list.example, fwd.example];",
};

static const char *const ips[] = {
	"192.0.2.9", "203.0.113.9", "198.51.100.4", "2001:db8::25",
};

static const char *const senders[] = {
	"a@example.org", "", "x@quarantine.example",
	"SRS0=ab=XY=example.org=a@fwd.example", "b@none.example",
	"c@sub.example.org", "d@x.example", "e@[192.0.2.1]",
};

static struct event_base *base;
static struct pipeline *pl[2];
static struct gw_config cfg[2];
static char dir[64];

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

static void
init(void)
{
	char text[2048], zpath[128], kpath[128], err[512];
	size_t i;
	int n;

	/* a directory of its own: fuzzers running side by side */
	snprintf(dir, sizeof dir, "/tmp/fuzz-pipeline-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(zpath, sizeof zpath, "%s/test.zone", dir);
	snprintf(kpath, sizeof kpath, "%s/sel1.key", dir);
	write_file(zpath, zone);
	write_file(kpath, SEL1_SEED);
	if ((base = event_base_new()) == NULL)
		abort();
	for (i = 0; i < 2; i++) {
		n = snprintf(text, sizeof text,
		    "state_dir \"%s\";\n"
		    "dns { zone \"%s\"; }\n"
		    "dkim { generate no; domain \"example.org\" { key "
		    "\"sel1\" { file \"%s\"; algorithm ed25519-sha256; } } }\n"
		    "policy { authserv_id " AUTHSERV "; %s }\n",
		    dir, zpath, kpath, policies[i]);
		if (n < 0 || (size_t)n >= sizeof text ||
		    gw_config_load_mem(text, (size_t)n, "fuzz.conf", &cfg[i],
		    err, sizeof err) != MAILSEC_OK ||
		    pipeline_new(base, &cfg[i], &pl[i], err, sizeof err) !=
		    MAILSEC_OK) {
			fprintf(stderr, "fuzz_pipeline: %s\n", err);
			abort();
		}
	}
	/* the files are read: nothing is left behind */
	(void)unlink(zpath);
	(void)unlink(kpath);
	(void)rmdir(dir);
}

/* The kept header still parses and claims nothing in our name. */
static void
check_keep(struct mailsec_str keep, size_t hl)
{
	struct mailsec_msg *msg;

	if (keep.len > hl)
		abort();
	if (mailsec_msg_parse(keep.ptr, keep.len, NULL,
	    MAILSEC_MSG_REQUIRE_CRLF, &msg, NULL) != MAILSEC_OK)
		abort();
	if (mailsec_authres_msg_count(msg, AUTHSERV) != 0)
		abort();
	mailsec_msg_free(msg);
}

static void
on_verdict(void *arg, struct pl_msg *m, const struct pl_verdict *v)
{
	struct mailsec_msg *msg;
	int *calls = arg;

	(*calls)++;
	switch (v->action) {
	case PL_ACCEPT:
	case PL_QUARANTINE:
		if (v->reply_code != 0)
			abort();
		break;
	case PL_REJECT:
		if (v->reply_code != 550 || v->reply_text[0] == '\0')
			abort();
		break;
	case PL_TEMPFAIL:
		if (v->reply_code != 451 || v->reply_text[0] == '\0')
			abort();
		break;
	}
	if (strchr(v->reply_text, '\r') != NULL ||
	    strchr(v->reply_text, '\n') != NULL || v->log[0] == '\0')
		abort();
	if (v->prepend_len > 0) {
		if (v->prepend_len < 2 ||
		    memcmp(v->prepend + v->prepend_len - 2, "\r\n", 2) != 0)
			abort();
		if (mailsec_msg_parse(v->prepend, v->prepend_len, NULL,
		    MAILSEC_MSG_REQUIRE_CRLF, &msg, NULL) != MAILSEC_OK)
			abort();
		mailsec_msg_free(msg);
	}
	pl_msg_free(m);
}

/* Chunk sizes from a small generator seeded by the input. */
static size_t
next_chunk(uint32_t *s, size_t max)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return 1 + *s % max;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pl_client c = { 0 };
	struct mailsec_str keep;
	struct pl_msg *m;
	const char *reason, *p, *e;
	size_t hl, off, n, max;
	uint32_t seed;
	mailsec_err err;
	int calls = 0, which;
	bool abandon, ended = false;

	if (base == NULL)
		init();
	if (size < 3)
		return 0;
	c.ip = ips[(data[0] >> 1) & 3];
	c.helo = data[0] & 0x80 ? "example.org" : "x.example";
	c.auth_user = data[0] & 1 ? "alice" : NULL;
	c.tls = (data[0] & 0x40) != 0;
	which = (data[1] >> 7) & 1;
	max = data[1] & 0x40 ? 4096 : 64;
	seed = 0x9e3779b9u ^ data[1];
	abandon = data[2] % 16 == 0;
	p = (const char *)data + 3;
	size -= 3;
	e = memmem(p, size, "\r\n\r\n", 4);
	hl = e != NULL ? (size_t)(e - p) + 4 : size;

	if (pl_msg_new(pl[which], &c, &m) != MAILSEC_OK)
		abort();
	if (pl_msg_mail_from(m, senders[(data[0] >> 3) & 7]) != MAILSEC_OK) {
		pl_msg_free(m);
		goto drain;
	}
	reason = NULL;
	if ((err = pl_msg_header(m, p, hl, &keep, &reason)) != MAILSEC_OK) {
		/* not a header: the session answers 550 5.6.0 with this */
		if ((err == MAILSEC_ESYNTAX || err == MAILSEC_ELIMIT) &&
		    reason == NULL)
			abort();
		pl_msg_free(m);
		goto drain;
	}
	if (reason != NULL)
		abort();
	check_keep(keep, hl);
	for (off = hl; off < size; off += n) {
		n = next_chunk(&seed, max);
		if (n > size - off)
			n = size - off;
		(void)pl_msg_body(m, p + off, n);
	}
	if (abandon) {
		pl_msg_free(m);
		goto drain;
	}
	if (pl_msg_end(m, on_verdict, &calls) != MAILSEC_OK)
		abort();
	ended = true;
drain:
	/* zone DNS: the loop runs out of events once every answer is in */
	if (event_base_dispatch(base) == -1)
		abort();
	if (calls != (ended ? 1 : 0))
		abort();
	return 0;
}
