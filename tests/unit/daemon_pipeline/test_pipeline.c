/*
 * tests/unit/daemon_pipeline/test_pipeline.c - the policy pipeline on a
 * real libevent loop, DNS from examples/example.zone plus pipeline.zone:
 * pass; SPF fail under p=reject (550 5.7.1); p=quarantine in both DMARC
 * modes and both quarantine targets; DMARC temperror per configuration;
 * forged Authentication-Results removed and foreign ones kept; the body
 * fed in chunks of 1, 7 and 4096 bytes; DKIM signing for authenticated
 * senders (verified by mailsec and by dkimpy), generated keys; trusted
 * forwarders; ARC chains (trusted and untrusted sealers, broken chains);
 * header.b; pl_msg_free with lookups pending; reload.
 */
#define _GNU_SOURCE	/* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <mailsec/mailsec.h>

#include "config.h"
#include "pipeline.h"
#include "plfix.h"
#include "report_store.h"

#define AUTHSERV "mx.test.example"
/* RFC 8463's example Ed25519 key; its public half is sel1 in
 * examples/example.zone (scripts/run.sh signs with it too). */
#define SEL1_SEED "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
#define SEL1_RECORD "v=DKIM1; k=ed25519; " \
	"p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

/* What the verdict callback saw. */
struct result {
	int calls;
	enum pl_action action;
	bool quarantine_maildir;
	int code;
	char enhanced[16];
	char text[512];
	char *prepend;
	size_t prepend_len;
	char log[4096];
	char override[1024];	/* the DMARC override's comment */
	bool free_in_cb;
};

/* The fixture; the sel1 seed in f->key. */
static int
setup(void **state)
{
	struct plfix *f;

	if (plfix_new(&f, "/tmp/mspl-test-XXXXXX", "sel1.key") != 0)
		return -1;
	if (plfix_write_file(f->key, SEL1_SEED, 0600) != 0) {
		plfix_free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* A configuration: the dns statements (NULL: the test zone), our
 * authserv-id, then policy and dkim statements as given. */
static void
load_cfg_dns(struct plfix *f, struct gw_config *cfg, const char *dns,
    const char *policy, const char *dkim)
{
	char text[4096], zone[256], err[GW_CONFIG_ERR_MAX];
	int n;

	if (dns == NULL) {
		snprintf(zone, sizeof zone, "zone \"%s\";", f->zone);
		dns = zone;
	}
	n = snprintf(text, sizeof text,
	    "state_dir \"%s\";\n"
	    "dns { %s }\n"
	    "dkim { generate no; %s }\n"
	    "policy { authserv_id %s; %s }\n",
	    f->dir, dns, dkim != NULL ? dkim : "", AUTHSERV,
	    policy != NULL ? policy : "");
	assert_true(n > 0 && (size_t)n < sizeof text);
	if (gw_config_load_mem(text, (size_t)n, "test.conf", cfg, err,
	    sizeof err) != MAILSEC_OK)
		fail_msg("config: %s", err);
}

static void
load_cfg(struct plfix *f, struct gw_config *cfg, const char *policy,
    const char *dkim)
{
	load_cfg_dns(f, cfg, NULL, policy, dkim);
}

/* The pipeline of f under a new configuration (any old one freed). */
static void
start_dns(struct plfix *f, const char *dns, const char *policy,
    const char *dkim)
{
	char err[512];

	pipeline_free(f->p);
	f->p = NULL;
	gw_config_free(&f->cfg);
	load_cfg_dns(f, &f->cfg, dns, policy, dkim);
	if (pipeline_new(f->base, &f->cfg, &f->p, err, sizeof err) !=
	    MAILSEC_OK)
		fail_msg("pipeline_new: %s", err);
}

static void
start(struct plfix *f, const char *policy, const char *dkim)
{
	start_dns(f, NULL, policy, dkim);
}

/* The dkim statement for the sel1 key of example.org into buf. */
static const char *
sel1_dkim(const struct plfix *f, char *buf, size_t size)
{
	int n = snprintf(buf, size, "domain \"example.org\" { key \"sel1\" "
	    "{ file \"%s\"; algorithm ed25519-sha256; } }", f->key);

	assert_true(n > 0 && (size_t)n < size);
	return buf;
}

static void
on_verdict(void *arg, struct pl_msg *m, const struct pl_verdict *v)
{
	struct result *r = arg;

	r->calls++;
	r->action = v->action;
	r->quarantine_maildir = v->quarantine_maildir;
	r->code = v->reply_code;
	snprintf(r->enhanced, sizeof r->enhanced, "%s", v->reply_enhanced);
	snprintf(r->text, sizeof r->text, "%s", v->reply_text);
	free(r->prepend);
	r->prepend = malloc(v->prepend_len + 1);
	assert_non_null(r->prepend);
	memcpy(r->prepend, v->prepend, v->prepend_len);
	r->prepend[v->prepend_len] = '\0';
	r->prepend_len = v->prepend_len;
	snprintf(r->log, sizeof r->log, "%s", v->log);
	r->override[0] = '\0';
	if (v->dmarc != NULL && v->dmarc->noverrides > 0 &&
	    v->dmarc->overrides[0].comment != NULL)
		snprintf(r->override, sizeof r->override, "%s",
		    v->dmarc->overrides[0].comment);
	if (r->free_in_cb)
		pl_msg_free(m);
}

static void
result_clear(struct result *r)
{
	free(r->prepend);
	memset(r, 0, sizeof *r);
}

/* Length of the header block through its blank line. */
static size_t
header_len(const char *msg, size_t len)
{
	const char *e = memmem(msg, len, "\r\n\r\n", 4);

	return e == NULL ? len : (size_t)(e - msg) + 4;
}

/* A dkim statement naming a key file that does not exist. */
static const char *
missing_key_dkim(const struct plfix *f, char *buf, size_t size)
{
	int n = snprintf(buf, size, "domain \"example.org\" { key \"x\" "
	    "{ file \"%s/none.key\"; } }", f->dir);

	assert_true(n > 0 && (size_t)n < size);
	return buf;
}

/*
 * A transaction through MAIL FROM and, when msg is non-NULL, its header
 * block msg[0..hl); the header kept goes to *keep when keep is non-NULL.
 */
static struct pl_msg *
begin(struct plfix *f, const struct pl_client *c, const char *mail_from,
    const char *msg, size_t hl, struct mailsec_str *keep)
{
	struct mailsec_str k;
	const char *reason = NULL;
	struct pl_msg *m;

	assert_int_equal(pl_msg_new(f->p, c, &m), MAILSEC_OK);
	assert_int_equal(pl_msg_mail_from(m, mail_from), MAILSEC_OK);
	if (msg == NULL)
		return m;
	assert_int_equal(pl_msg_header(m, msg, hl, keep != NULL ? keep : &k,
	    &reason), MAILSEC_OK);
	assert_null(reason);
	return m;
}

/* The body msg[hl..] in one piece (unless body is false), then the
 * end with the verdict to r. */
static void
finish(struct pl_msg *m, const char *msg, size_t hl, bool body,
    struct result *r)
{
	if (body)
		assert_int_equal(pl_msg_body(m, msg + hl, strlen(msg) - hl),
		    MAILSEC_OK);
	assert_int_equal(pl_msg_end(m, on_verdict, r), MAILSEC_OK);
}

struct send {
	const char *ip;
	const char *helo;
	const char *auth_user;
	const char *mail_from;
	size_t chunk;		/* body chunk size, 0: all at once */
};

/*
 * One transaction through the loop. The header kept (without forged
 * fields) goes to *kept (free()) when kept is non-NULL. The message is
 * freed by the callback.
 */
static void
send_msg(struct plfix *f, const struct send *s, const char *msg,
    struct result *r, char **kept)
{
	struct pl_client c = { 0 };
	struct pl_msg *m;
	struct mailsec_str keep;
	size_t len = strlen(msg), hl = header_len(msg, len), off, n;

	c.ip = s->ip;
	c.helo = s->helo != NULL ? s->helo : "client.example";
	c.auth_user = s->auth_user;
	c.tls = true;
	result_clear(r);
	r->free_in_cb = true;
	m = begin(f, &c, s->mail_from, msg, hl, &keep);
	if (kept != NULL) {
		*kept = malloc(keep.len + 1);
		assert_non_null(*kept);
		memcpy(*kept, keep.ptr, keep.len);
		(*kept)[keep.len] = '\0';
	}
	for (off = hl; off < len; off += n) {
		n = s->chunk == 0 ? len - off : s->chunk;
		if (n > len - off)
			n = len - off;
		assert_int_equal(pl_msg_body(m, msg + off, n), MAILSEC_OK);
	}
	finish(m, msg, len, false, r);
	plfix_run_until(f, &r->calls);
	assert_int_equal(r->calls, 1);
}

/* send_msg() under a pipeline made for policy and dkim. */
static void
send_with(struct plfix *f, const char *policy, const char *dkim,
    const struct send *s, const char *msg, struct result *r, char **kept)
{
	start(f, policy, dkim);
	send_msg(f, s, msg, r, kept);
}

static const char msg_plain[] =
    "From: Alice <alice@example.org>\r\n"
    "To: bob@localhost\r\n"
    "Subject: pipeline test\r\n"
    "Message-ID: <1@example.org>\r\n"
    "\r\n"
    "Hello.\r\n";

/* ---- verdicts ------------------------------------------------------------ */

static const char msg_quar[] =
    "From: dave@quarantine.example\r\n"
    "Subject: quarantine me\r\n"
    "\r\n"
    "body\r\n";

static const char msg_plain_domain[] =
    "From: carol@plain.example\r\n"
    "Subject: no DMARC here\r\n"
    "\r\n"
    "body\r\n";

static const char msg_slow[] =
    "From: erin@slow.example\r\n"
    "Subject: slow DNS\r\n"
    "\r\n"
    "body\r\n";

static const char msg_none[] =
    "From: f@none.example\r\n"
    "\r\n"
    "body\r\n";

#define SRS_FWD "SRS0=abcd=XY=example.org=alice@fwd.example"
#define QUAR_HDR "X-Mailsec-Quarantine: DMARC policy of " \
	"quarantine.example quarantines this message\r\n"

/* One message under one policy: the verdict, and strings the
 * prepended fields and the log line hold (or, with a leading '!', do
 * not hold). */
struct verdict_case {
	const char *name;
	const char *policy;
	struct send send;
	const char *msg;
	enum pl_action action;
	bool quarantine_maildir;
	int code;
	const char *enhanced;		/* NULL: "" */
	const char *text;		/* exact reply text, NULL: any */
	const char *prepend[8];
	const char *log[6];
};

static const struct verdict_case verdict_cases[] = {
	{ "pass", NULL, { .ip = "192.0.2.5", .mail_from =
	    "alice@example.org" }, msg_plain, PL_ACCEPT, false, 0, NULL, "",
	  { "Authentication-Results: " AUTHSERV ";", "spf=pass",
	    "smtp.mailfrom=alice@example.org", "dkim=none", "dmarc=pass",
	    "header.from=example.org", "policy.dmarc=reject",
	    "!DKIM-Signature" },
	  { "client=192.0.2.5", "spf=pass", "dkim=none", "dmarc=pass",
	    "policy=reject", "action=accept" } },
	{ "spf fail under p=reject", NULL, { .ip = "203.0.113.9",
	    .mail_from = "alice@example.org" }, msg_plain, PL_REJECT, false,
	  550, "5.7.1", "DMARC policy of example.org rejects this message",
	  { "spf=fail", "dmarc=fail" }, { "action=reject" } },
	{ "spf fail, no DMARC: spf_fail accept (default)", NULL,
	  { .ip = "203.0.113.9", .mail_from = "carol@plain.example" },
	  msg_plain_domain, PL_ACCEPT, false, 0, NULL, NULL,
	  { "spf=fail", "dmarc=none" }, { "action=accept" } },
	{ "spf fail, no DMARC: spf_fail reject", "spf_fail reject;",
	  { .ip = "203.0.113.9", .mail_from = "carol@plain.example" },
	  msg_plain_domain, PL_REJECT, false, 550, "5.7.1",
	  "SPF of plain.example does not permit 203.0.113.9 to send its mail",
	  { "spf=fail" }, { "action=reject" } },
	{ "p=quarantine to the Maildir", NULL, { .ip = "203.0.113.9",
	    .mail_from = "dave@quarantine.example" }, msg_quar,
	  PL_QUARANTINE, true, 0, NULL, NULL,
	  { "dmarc=fail", "policy.dmarc=quarantine",
	    "!X-Mailsec-Quarantine:" },
	  { "action=quarantine", "quarantine=maildir" } },
	{ "p=quarantine with a header", "quarantine header;",
	  { .ip = "203.0.113.9", .mail_from = "dave@quarantine.example" },
	  msg_quar, PL_QUARANTINE, false, 0, NULL, NULL,
	  { "dmarc=fail", "policy.dmarc=quarantine", QUAR_HDR },
	  { "action=quarantine", "quarantine=header" } },
	{ "p=quarantine, RFC 7489, to the Maildir", "dmarc_mode rfc7489;",
	  { .ip = "203.0.113.9", .mail_from = "dave@quarantine.example" },
	  msg_quar, PL_QUARANTINE, true, 0, NULL, NULL,
	  { "dmarc=fail", "dis=quarantine",
	    "!X-Mailsec-Quarantine:" }, { "action=quarantine" } },
	{ "p=quarantine, RFC 7489, with a header",
	  "dmarc_mode rfc7489; quarantine header;",
	  { .ip = "203.0.113.9", .mail_from = "dave@quarantine.example" },
	  msg_quar, PL_QUARANTINE, false, 0, NULL, NULL,
	  { "dmarc=fail", "policy.dmarc=quarantine", QUAR_HDR },
	  { "action=quarantine" } },
	{ "DMARC temperror: dmarc_temperror accept (default)", NULL,
	  { .ip = "198.51.100.4", .mail_from = "erin@slow.example" },
	  msg_slow, PL_ACCEPT, false, 0, NULL, NULL,
	  { "dmarc=temperror" }, { "dmarc=temperror", "action=accept" } },
	{ "DMARC temperror: dmarc_temperror tempfail",
	  "dmarc_temperror tempfail;",
	  { .ip = "198.51.100.4", .mail_from = "erin@slow.example" },
	  msg_slow, PL_TEMPFAIL, false, 451, "4.7.0",
	  "temporary DNS failure checking the DMARC policy of slow.example, "
	  "try again later", { "dmarc=temperror" }, { "action=tempfail" } },
	{ "p=none fail: dmarc_none quarantine",
	  "dmarc_none quarantine; quarantine header;",
	  { .ip = "203.0.113.9", .mail_from = "f@none.example" }, msg_none,
	  PL_QUARANTINE, false, 0, NULL, NULL,
	  { "dmarc=fail", "X-Mailsec-Quarantine: " },
	  { "action=quarantine" } },
	/* example.org (p=reject) forwarded by fwd.example with SRS: SPF
	 * passes for fwd.example, not aligned with the From domain */
	{ "forwarded, not trusted", NULL, { .ip = "203.0.113.7",
	    .mail_from = SRS_FWD }, msg_plain, PL_REJECT, false, 550,
	  "5.7.1", NULL, { "spf=pass", "dmarc=fail" }, { "!override=" } },
	{ "forwarded by a trusted forwarder",
	  "trusted_forwarders [fwd.example];", { .ip = "203.0.113.7",
	    .mail_from = SRS_FWD }, msg_plain, PL_ACCEPT, false, 0, NULL,
	  NULL, { "dmarc=fail" }, { "override=trusted_forwarder" } },
	/* the null reverse-path: SPF checks the HELO name (RFC 7208 2.4) */
	{ "null reverse-path", NULL, { .ip = "192.0.2.30",
	    .helo = "relay.example.org", .mail_from = "" }, msg_plain,
	  PL_ACCEPT, false, 0, NULL, NULL,
	  { "spf=pass", "smtp.helo=relay.example.org" },
	  { "mail_from=- " } },
};

/* s in text, or with a leading '!' the rest not in text. */
static void
assert_holds(const char *what, const char *text, const char *s)
{
	bool want = s[0] != '!';

	if ((strstr(text, want ? s : s + 1) != NULL) != want)
		fail_msg("%s %s \"%s\": %s", what, want ? "lacks" :
		    "holds", want ? s : s + 1, text);
}

static void
test_verdicts(void **state)
{
	struct plfix *f = *state;
	struct result r = { 0 };
	size_t i, k;

	for (i = 0; i < sizeof verdict_cases / sizeof verdict_cases[0];
	    i++) {
		const struct verdict_case *vc = &verdict_cases[i];

		print_message("%s\n", vc->name);
		send_with(f, vc->policy, NULL, &vc->send, vc->msg, &r, NULL);
		assert_int_equal(r.action, vc->action);
		assert_int_equal(r.quarantine_maildir,
		    vc->quarantine_maildir);
		assert_int_equal(r.code, vc->code);
		assert_string_equal(r.enhanced, vc->enhanced != NULL ?
		    vc->enhanced : "");
		if (vc->text != NULL)
			assert_string_equal(r.text, vc->text);
		/* CRLF-terminated, folded lines only */
		assert_true(r.prepend_len > 2);
		assert_memory_equal(r.prepend + r.prepend_len - 2, "\r\n", 2);
		for (k = 0; k < 8 && vc->prepend[k] != NULL; k++)
			assert_holds("prepend", r.prepend, vc->prepend[k]);
		for (k = 0; k < 6 && vc->log[k] != NULL; k++)
			assert_holds("log", r.log, vc->log[k]);
	}
	result_clear(&r);
}

/* ---- report rows ------------------------------------------------------- */

struct seen_rows {
	size_t rows;
	uint64_t messages;
	bool pass_seen;			/* 192.0.2.5, aligned SPF pass */
	bool reject_seen;		/* 203.0.113.9, disposition reject */
};

/* The period's published policy: example.org's p=reject. */
static int
policy_row(void *arg, const struct report_eval *row, uint64_t count)
{
	(void)count;
	*(enum mailsec_report_disp *)arg = row->p;
	return 0;
}

static int
count_row(void *arg, const struct report_eval *row, uint64_t count)
{
	struct seen_rows *s = arg;

	s->rows++;
	s->messages += count;
	assert_string_equal(row->header_from, "example.org");
	if (strcmp(row->source_ip, "192.0.2.5") == 0 &&
	    row->dmarc_spf == MAILSEC_REVAL_PASS &&
	    row->spf_result == MAILSEC_RRES_PASS)
		s->pass_seen = true;
	if (strcmp(row->source_ip, "203.0.113.9") == 0 &&
	    row->disposition == MAILSEC_RDISP_REJECT &&
	    row->dmarc_spf == MAILSEC_REVAL_FAIL)
		s->reject_seen = true;
	return 0;
}

/*
 * Every DMARC evaluation is a row in STATE_DIR/reports.db, rejected
 * messages included (they are in the aggregate report too); a message
 * without a DMARC policy adds none.
 */
static void
test_report_rows(void **state)
{
	struct plfix *f = *state;
	struct result r = { 0 };
	const struct send pass = { .ip = "192.0.2.5",
	    .mail_from = "alice@example.org" };
	const struct send fail = { .ip = "203.0.113.9",
	    .mail_from = "alice@example.org" };
	const struct send none = { .ip = "203.0.113.9",
	    .mail_from = "carol@plain.example" };
	struct report_store *st;
	struct report_period *per = NULL;
	struct seen_rows seen = { 0 };
	enum mailsec_report_disp p = MAILSEC_RDISP_ABSENT;
	char err[256];
	size_t n = 0;

	start(f, NULL, NULL);
	send_msg(f, &pass, msg_plain, &r, NULL);
	assert_int_equal(r.action, PL_ACCEPT);
	result_clear(&r);
	send_msg(f, &fail, msg_plain, &r, NULL);
	assert_int_equal(r.action, PL_REJECT);
	result_clear(&r);
	send_msg(f, &pass, msg_plain, &r, NULL);
	result_clear(&r);
	send_msg(f, &none, msg_plain_domain, &r, NULL);
	result_clear(&r);

	assert_int_equal(report_store_open(f->dir, &st, err, sizeof err),
	    MAILSEC_OK);
	assert_int_equal(report_store_periods_new(st, INT64_MAX, &per, &n),
	    MAILSEC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(per[0].domain, "example.org");
	assert_int_equal(per[0].evals, 3);
	assert_int_equal(report_store_period_rows(st, &per[0], count_row,
	    &seen), MAILSEC_OK);
	assert_int_equal(seen.rows, 2);		/* two passes: one row */
	assert_int_equal(seen.messages, 3);
	assert_true(seen.pass_seen);
	assert_true(seen.reject_seen);
	assert_int_equal(report_store_period_policy(st, &per[0], policy_row,
	    &p), MAILSEC_OK);
	assert_int_equal(p, MAILSEC_RDISP_REJECT);
	report_periods_free(per, n);
	report_store_close(st);
}

/*
 * libunbound on the loop (its descriptor and the deadline timer):
 * forwarding to a port where nothing answers, every lookup ends as a
 * temporary failure after the configured timeout, and the verdict
 * follows dmarc_temperror.
 */
static void
test_unbound_timeout(void **state)
{
	struct plfix *f = *state;
	struct send s = { .ip = "203.0.113.9",
	    .mail_from = "alice@example.org" };
	struct result r = { 0 };

	start_dns(f, "forwarders [\"127.0.0.1@1\"]; timeout 200ms;",
	    "dmarc_temperror tempfail;", NULL);
	send_msg(f, &s, msg_plain, &r, NULL);
	assert_non_null(strstr(r.prepend, "spf=temperror"));
	assert_non_null(strstr(r.prepend, "dmarc=temperror"));
	assert_int_equal(r.action, PL_TEMPFAIL);
	assert_int_equal(r.code, 451);
	assert_string_equal(r.enhanced, "4.7.0");
	result_clear(&r);
}

/*
 * Mangled header blocks (a fixed-seed generator: bytes flipped,
 * cut; Authentication-Results fields in every spelling):
 * pl_msg_header either refuses with a reason or keeps a header in which
 * no field claims our authserv-id, never longer than the input, and
 * every transaction reaches one verdict.
 */
static uint32_t
xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void
test_header_mutations(void **state)
{
	struct plfix *f = *state;
	static const char *const parts[] = {
	    "Authentication-Results: " AUTHSERV "; spf=pass\r\n",
	    "Authentication-Results: mx.TEST.example.; none\r\n",
	    "Authentication-Results:\r\n " AUTHSERV " (c) ; dkim=fail\r\n",
	    "Authentication-Results: \"" AUTHSERV "\"; x=y\r\n",
	    "Authentication-Results: other.example; spf=pass\r\n",
	    "Authentication-Results: " AUTHSERV "x; spf=pass\r\n",
	    "AUTHENTICATION-RESULTS : " AUTHSERV ";\r\n",
	    "From: a@example.org\r\n",
	    "From: b@quarantine.example, c@example.org\r\n",
	    "From: \"x\" <@>\r\n",
	    "DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; s=sel1;"
	    " h=from; bh=AAAA; b=AAAA\r\n",
	    "DKIM-Signature: v=1; d=; s=\r\n",
	    "Subject: \xff\xfe\x01\r\n",
	    "X-Long:" "                                                  "
	    "                                                  x\r\n",
	    "\tfolded continuation\r\n",
	    "Received: by y\r\n",
	};
	char hdr[2048];
	struct pl_client c = { .ip = "203.0.113.9", .helo = "x.example" };
	struct result r = { 0 };
	struct mailsec_msg *kmsg;
	struct mailsec_str keep;
	struct pl_msg *m;
	const char *reason;
	uint32_t seed = 8601;
	size_t i, k, len, nparts, pos;
	mailsec_err e;
	int verdicts = 0, refused = 0;

	start(f, NULL, NULL);
	for (i = 0; i < 1500; i++) {
		len = 0;
		nparts = 1 + xorshift(&seed) % 6;
		for (k = 0; k < nparts; k++) {
			const char *pt = parts[xorshift(&seed) %
			    (sizeof parts / sizeof parts[0])];
			size_t pl = strlen(pt);

			memcpy(hdr + len, pt, pl);
			len += pl;
		}
		/* a few byte edits */
		for (k = xorshift(&seed) % 4; k > 0 && len > 0; k--) {
			pos = xorshift(&seed) % len;
			switch (xorshift(&seed) % 4) {
			case 0:
				hdr[pos] = (char)(xorshift(&seed) & 0xff);
				break;
			case 1:
				len = pos;	/* cut */
				break;
			case 2:
				hdr[pos] = ';';
				break;
			default:
				hdr[pos] = '\n';
				break;
			}
		}
		if (xorshift(&seed) % 8 != 0) {
			/* end the last field if needed, then the blank
			 * line */
			if (len < 2 || memcmp(hdr + len - 2, "\r\n", 2) != 0) {
				memcpy(hdr + len, "\r\n", 2);
				len += 2;
			}
			memcpy(hdr + len, "\r\n", 2);
			len += 2;
		}
		r.calls = 0;
		r.free_in_cb = true;
		assert_int_equal(pl_msg_new(f->p, &c, &m), MAILSEC_OK);
		assert_int_equal(pl_msg_mail_from(m, "a@example.org"),
		    MAILSEC_OK);
		e = pl_msg_header(m, hdr, len, &keep, &reason);
		if (e != MAILSEC_OK) {
			assert_true(e == MAILSEC_ESYNTAX ||
			    e == MAILSEC_ELIMIT);
			assert_non_null(reason);
			refused++;
			pl_msg_free(m);
			continue;
		}
		assert_true(keep.len <= len);
		assert_int_equal(mailsec_msg_parse(keep.ptr, keep.len, NULL,
		    MAILSEC_MSG_REQUIRE_CRLF, &kmsg, NULL), MAILSEC_OK);
		assert_int_equal(mailsec_authres_msg_count(kmsg, AUTHSERV), 0);
		mailsec_msg_free(kmsg);
		assert_int_equal(pl_msg_body(m, "more\r\n", 6), MAILSEC_OK);
		assert_int_equal(pl_msg_end(m, on_verdict, &r), MAILSEC_OK);
		plfix_run_until(f, &r.calls);
		assert_int_equal(r.calls, 1);
		verdicts++;
	}
	result_clear(&r);
	/* both kinds were exercised */
	assert_true(verdicts > 100);
	assert_true(refused > 100);
}

/* ---- forged Authentication-Results --------------------------------------- */

static void
test_forged_authres(void **state)
{
	struct plfix *f = *state;
	struct send s = { .ip = "192.0.2.5", .mail_from = "alice@example.org" };
	struct result r = { 0 };
	char *kept = NULL;
	const char *msg =
	    "Authentication-Results: " AUTHSERV "; spf=pass "
	    "smtp.mailfrom=example.org\r\n"
	    "Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	    "Authentication-Results: other.example; dkim=pass\r\n"
	    "authentication-results:   MX.Test.Example. (forged)\r\n"
	    "\tdmarc=pass\r\n"
	    "Authentication-Results: not-a-field-that-parses ;;; =\r\n"
	    "From: alice@example.org\r\n"
	    "\r\n"
	    "body\r\n";
	const char *want =
	    "Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	    "Authentication-Results: other.example; dkim=pass\r\n"
	    "Authentication-Results: not-a-field-that-parses ;;; =\r\n"
	    "From: alice@example.org\r\n"
	    "\r\n";

	send_with(f, NULL, NULL, &s, msg, &r, &kept);
	assert_string_equal(kept, want);
	assert_int_equal(r.action, PL_ACCEPT);
	assert_non_null(strstr(r.log, "ar_removed=2"));
	free(kept);
	kept = NULL;

	/* nothing to remove: the caller's bytes come back as they are */
	send_msg(f, &s, msg_plain, &r, &kept);
	assert_int_equal(strncmp(kept, msg_plain, header_len(msg_plain,
	    strlen(msg_plain))), 0);
	assert_null(strstr(r.log, "ar_removed"));
	free(kept);
	result_clear(&r);
}

static void
test_bad_header(void **state)
{
	struct plfix *f = *state;
	struct pl_client c = { .ip = "192.0.2.5", .helo = "x.example" };
	struct pl_msg *m;
	struct mailsec_str keep;
	const char *reason = NULL;
	const char bad[] = "From: a@example.org\r\nno colon here\r\n\r\n";
	const char lf[] = "From: a@example.org\nSubject: x\n\n";

	start(f, NULL, NULL);
	assert_int_equal(pl_msg_new(f->p, &c, &m), MAILSEC_OK);
	assert_int_equal(pl_msg_mail_from(m, "a@example.org"), MAILSEC_OK);
	assert_int_equal(pl_msg_header(m, bad, sizeof bad - 1, &keep,
	    &reason), MAILSEC_ESYNTAX);
	assert_non_null(reason);
	assert_int_equal(pl_msg_header(m, lf, sizeof lf - 1, &keep,
	    &reason), MAILSEC_ESYNTAX);
	/* state errors */
	assert_int_equal(pl_msg_body(m, "x", 1), MAILSEC_ESTATE);
	assert_int_equal(pl_msg_end(m, on_verdict, NULL), MAILSEC_ESTATE);
	pl_msg_free(m);
	(void)event_base_dispatch(f->base);
}

/* ---- chunking ------------------------------------------------------------ */

/* A DKIM-signed (sel1, example.org) message of about 10 KB. */
static char *
signed_message(struct plfix *f)
{
	struct mailsec_dkim_sign_opts o = { 0 };
	struct mailsec_dkim_key *key;
	struct mailsec_msg *msg;
	char *sig = NULL, *out, *text;
	size_t siglen = 0, len, off = 0, i;

	(void)f;
	text = malloc(16384);
	assert_non_null(text);
	off = (size_t)snprintf(text, 16384,
	    "From: Alice <alice@example.org>\r\n"
	    "To: bob@localhost\r\n"
	    "Subject: a longer message\r\n"
	    "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	    "\r\n");
	for (i = 0; i < 150; i++)
		off += (size_t)snprintf(text + off, 16384 - off,
		    "line %zu:  some text\t with  spaces   and tabs \r\n", i);
	memcpy(text + off, "\r\n\r\n", 5);
	off += 4;
	assert_int_equal(mailsec_dkim_key_load(SEL1_SEED, strlen(SEL1_SEED),
	    &key, NULL), MAILSEC_OK);
	o.key = key;
	o.domain = "example.org";
	o.selector = "sel1";
	assert_int_equal(mailsec_msg_parse(text, off, NULL, 0, &msg, NULL),
	    MAILSEC_OK);
	assert_int_equal(mailsec_dkim_sign_msg(&o, msg, &sig, &siglen, NULL),
	    MAILSEC_OK);
	len = siglen + off;
	out = malloc(len + 1);
	assert_non_null(out);
	memcpy(out, sig, siglen);
	memcpy(out + siglen, text, off);
	out[len] = '\0';
	free(sig);
	mailsec_msg_free(msg);
	mailsec_dkim_key_free(key);
	free(text);
	return out;
}

/* "header.b=" and the first n characters of the b= tag of the
 * DKIM-Signature on top of msg (FWS left out), into out; quoted as the
 * generator writes it when they hold '/' or '=' (not a MIME token, RFC
 * 8601 2.2). */
static void
header_b(const char *msg, size_t n, char *out, size_t size)
{
	const char *p = msg, *end = strstr(msg, "\r\n\r\n");
	size_t k, start;

	assert_non_null(end);
	/* the tag b=: after ';' and FWS, not bh= */
	do {
		p = strstr(p + 1, "b=");
		assert_true(p != NULL && p < end);
	} while (p[-1] != ' ' && p[-1] != '\t' && p[-1] != ';');
	k = start = (size_t)snprintf(out, size, "header.b=");
	for (p += 2; k + 3 < size && n > 0 && *p != ';'; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			continue;
		out[k++] = *p;
		n--;
	}
	out[k] = '\0';
	assert_int_equal(n, 0);
	if (strpbrk(out + start, "/=") != NULL) {
		memmove(out + start + 1, out + start, k - start);
		out[start] = '"';
		out[k + 1] = '"';
		out[k + 2] = '\0';
	}
}

static void
test_chunks(void **state)
{
	struct plfix *f = *state;
	static const size_t chunks[] = { 0, 1, 7, 4096 };
	/* SPF fails (not 192.0.2.0/24), DKIM passes aligned: DMARC pass */
	struct send s = { .ip = "203.0.113.9",
	    .mail_from = "alice@example.org" };
	struct result r = { 0 };
	char *msg = signed_message(f), *first = NULL, *p, b8[32], b9[32];
	size_t i;

	header_b(msg, 8, b8, sizeof b8);
	header_b(msg, 9, b9, sizeof b9);
	start(f, NULL, NULL);
	for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		s.chunk = chunks[i];
		send_msg(f, &s, msg, &r, NULL);
		assert_int_equal(r.action, PL_ACCEPT);
		assert_non_null(strstr(r.prepend, "dkim=pass"));
		assert_non_null(strstr(r.prepend, "header.d=example.org"));
		assert_non_null(strstr(r.prepend, "header.s=sel1"));
		/* RFC 6008: 8 characters of the signature */
		assert_non_null(strstr(r.prepend, b8));
		assert_null(strstr(r.prepend, b9));
		assert_non_null(strstr(r.prepend, "spf=fail"));
		assert_non_null(strstr(r.prepend, "dmarc=pass"));
		if (first == NULL)
			first = strdup(r.prepend);
		else
			assert_string_equal(r.prepend, first);
	}
	/* one body byte changed: the body hash fails, and DMARC with it */
	p = strstr(msg, "line 77");
	assert_non_null(p);
	p[5] = '8';
	for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		s.chunk = chunks[i];
		send_msg(f, &s, msg, &r, NULL);
		assert_int_equal(r.action, PL_REJECT);
		assert_non_null(strstr(r.prepend, "dkim=fail"));
	}
	result_clear(&r);
	free(first);
	free(msg);
}

/* header.b tells two signatures apart: longer than 8 characters when
 * their b= values share the first 8 (11 here). */
static void
test_header_b_unique(void **state)
{
	struct plfix *f = *state;
	struct send s = { .ip = "192.0.2.5", .mail_from = "alice@example.org" };
	struct result r = { 0 };
	const char *msg =
	    "DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; s=sel1;"
	    " h=from; bh=AAAA; b=ABCDEFGHIJxx\r\n"
	    "DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; s=sel1;"
	    " h=from; bh=AAAA; b=ABCDEFGHIJyy\r\n"
	    "DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; s=sel1;"
	    " h=from; bh=AAAA; b=ABCDEFGHIJyy\r\n"
	    "From: alice@example.org\r\n"
	    "\r\n"
	    "body\r\n";

	send_with(f, NULL, NULL, &s, msg, &r, NULL);
	assert_non_null(strstr(r.prepend, "header.b=ABCDEFGHIJx "));
	assert_non_null(strstr(r.prepend, "header.b=ABCDEFGHIJy "));
	assert_int_equal(r.action, PL_ACCEPT);	/* SPF passes aligned */
	result_clear(&r);
}

/* ---- signing ------------------------------------------------------------- */

/* prepend + kept header + body: the message as it would be stored. */
static char *
stored(const struct result *r, const char *kept, const char *msg)
{
	size_t hl = header_len(msg, strlen(msg));
	size_t n = r->prepend_len + strlen(kept) + strlen(msg + hl);
	char *out = malloc(n + 1);

	assert_non_null(out);
	snprintf(out, n + 1, "%s%s%s", r->prepend, kept, msg + hl);
	return out;
}

static int
verify_mailsec(struct plfix *f, const char *text, const char *zone_extra)
{
	struct mailsec_resolver *r;
	struct mailsec_dkim_verify *v;
	struct mailsec_msg *msg;
	char *zone = NULL;
	size_t i, zlen = 0;
	int passes = 0;
	FILE *zf;

	/* the test zone, plus extra records */
	zf = open_memstream(&zone, &zlen);
	assert_non_null(zf);
	assert_int_equal(plfix_append_file(zf, f->zone), 0);
	if (zone_extra != NULL)
		fputs(zone_extra, zf);
	fclose(zf);
	assert_int_equal(mailsec_resolver_new_zone_mem(zone, zlen, NULL, &r,
	    NULL), MAILSEC_OK);
	free(zone);
	assert_int_equal(mailsec_msg_parse(text, strlen(text), NULL,
	    MAILSEC_MSG_REQUIRE_CRLF, &msg, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_dkim_verify_msg(r, NULL, msg, &v),
	    MAILSEC_OK);
	for (i = 0; i < mailsec_dkim_verify_count(v); i++) {
		const struct mailsec_dkim_sig_info *s =
		    mailsec_dkim_verify_sig(v, i);

		if (s->result == MAILSEC_DKIM_PASS)
			passes++;
		else
			print_message("signature %zu: %s\n", i,
			    s->reason_text);
	}
	mailsec_dkim_verify_free(v);
	mailsec_msg_free(msg);
	mailsec_resolver_free(r);
	return passes;
}

/* Ends a test on dkimpy's verdict: skipped when dkimpy is not
 * installed. Call it last, with everything freed (skip() does not
 * return). */
static void
dkimpy_done(int rc)
{
	if (rc == 77)
		skip();
	assert_int_equal(rc, 0);
}

static const char msg_submit[] =
    "From: Alice <alice@example.org>\r\n"
    "To: someone@example.net\r\n"
    "Subject: signed on the way out\r\n"
    "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    "Message-ID: <sub1@example.org>\r\n"
    "Authentication-Results: " AUTHSERV "; auth=pass (forged)\r\n"
    "\r\n"
    "Hello from submission.\r\n"
    "\r\n"
    "  indented line  \r\n";

static void
test_sign_submission(void **state)
{
	struct plfix *f = *state;
	struct send s = { .ip = "198.51.100.77", .auth_user = "alice",
	    .mail_from = "alice@example.org", .chunk = 3 };
	struct result r = { 0 };
	char dkim[512], *kept = NULL, *text;
	int rc;

	send_with(f, NULL, sel1_dkim(f, dkim, sizeof dkim), &s, msg_submit, &r,
	    &kept);
	assert_int_equal(r.action, PL_ACCEPT);
	assert_non_null(strstr(r.prepend, "Authentication-Results: " AUTHSERV
	    "; auth=pass smtp.auth=alice\r\n"));
	assert_non_null(strstr(r.prepend, "DKIM-Signature: "));
	assert_non_null(strstr(r.prepend, "d=example.org"));
	assert_non_null(strstr(r.prepend, "s=sel1"));
	assert_null(strstr(kept, "(forged)"));
	assert_non_null(strstr(r.log, "auth=alice"));
	assert_non_null(strstr(r.log, "dkim_sign=example.org:sel1"));
	assert_non_null(strstr(r.log, " spf=- "));	/* not SPF-checked */
	text = stored(&r, kept, msg_submit);
	free(kept);
	result_clear(&r);
	assert_int_equal(verify_mailsec(f, text, NULL), 1);
	rc = plfix_dkimpy(f, text, NULL, "sel1._domainkey.example.org",
	    SEL1_RECORD, NULL);
	free(text);
	dkimpy_done(rc);
}

/* From a domain without keys: no signature, and the log says why. */
static void
test_sign_no_key(void **state)
{
	struct plfix *f = *state;
	struct send s = { .ip = "198.51.100.77", .auth_user = "bob",
	    .mail_from = "bob@plain.example" };
	struct result r = { 0 };
	char dkim[512];
	const char *msg = "From: bob@plain.example\r\n\r\nhi\r\n";

	send_with(f, NULL, sel1_dkim(f, dkim, sizeof dkim), &s, msg, &r, NULL);
	assert_int_equal(r.action, PL_ACCEPT);
	assert_null(strstr(r.prepend, "DKIM-Signature"));
	assert_non_null(strstr(r.log, "dkim_sign=no-key"));
	result_clear(&r);
}

/* generate yes: the key file appears (0600) and signs; RSA and Ed25519
 * from one domain, two signatures. */
static void
test_sign_generated(void **state)
{
	struct plfix *f = *state;
	struct send s = { .ip = "198.51.100.77", .auth_user = "gina",
	    .mail_from = "gina@gen.example" };
	struct result r = { 0 };
	char dkim[1024], rsa[160], ed[160], *kept = NULL, *text;
	char *rec_rsa = NULL, *rec_ed = NULL, zone[4096], *pem;
	struct mailsec_dkim_key *k;
	struct stat st;
	size_t len;
	int fd, rc;
	const char *msg =
	    "From: gina@gen.example\r\n"
	    "Subject: generated keys\r\n"
	    "\r\n"
	    "body\r\n";

	snprintf(rsa, sizeof rsa, "%s/dkim/r1.gen.example.private", f->dir);
	snprintf(ed, sizeof ed, "%s/dkim/e1.gen.example.private", f->dir);
	snprintf(dkim, sizeof dkim, "domain \"gen.example\" { "
	    "key \"r1\" { file \"%s\"; generate yes; } "
	    "key \"e1\" { file \"%s\"; generate yes; "
	    "algorithm ed25519-sha256; } }", rsa, ed);
	start(f, NULL, dkim);
	assert_int_equal(stat(rsa, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(ed, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	send_msg(f, &s, msg, &r, &kept);
	assert_non_null(strstr(r.log, "dkim_sign=gen.example:r1,"
	    "gen.example:e1"));

	/* the public halves, as a zone */
	for (int i = 0; i < 2; i++) {
		char buf[8192];
		ssize_t n;

		fd = open(i == 0 ? rsa : ed, O_RDONLY);
		assert_true(fd >= 0);
		n = read(fd, buf, sizeof buf);
		close(fd);
		assert_true(n > 0);
		assert_int_equal(mailsec_dkim_key_load(buf, (size_t)n, &k,
		    NULL), MAILSEC_OK);
		assert_int_equal(mailsec_dkim_key_record(k, &pem, &len),
		    MAILSEC_OK);
		if (i == 0)
			rec_rsa = pem;
		else
			rec_ed = pem;
		mailsec_dkim_key_free(k);
	}
	/* RSA records exceed 255 bytes: split into character-strings */
	{
		size_t off = 0, i, n = strlen(rec_rsa);

		off += (size_t)snprintf(zone + off, sizeof zone - off,
		    "$ORIGIN gen.example.\ne1._domainkey TXT \"%s\"\n"
		    "r1._domainkey TXT (", rec_ed);
		for (i = 0; i < n; i += 200)
			off += (size_t)snprintf(zone + off, sizeof zone - off,
			    " \"%.*s\"", (int)(n - i > 200 ? 200 : n - i),
			    rec_rsa + i);
		snprintf(zone + off, sizeof zone - off, " )\n");
	}
	text = stored(&r, kept, msg);
	free(kept);
	result_clear(&r);
	assert_int_equal(verify_mailsec(f, text, zone), 2);

	/* a second pipeline reads the keys it generated */
	start(f, NULL, dkim);

	rc = plfix_dkimpy(f, text, NULL, "r1._domainkey.gen.example",
	    rec_rsa, "e1._domainkey.gen.example", rec_ed, NULL);
	free(rec_rsa);
	free(rec_ed);
	free(text);
	dkimpy_done(rc);
}

static void
test_bad_key(void **state)
{
	struct plfix *f = *state;
	struct gw_config cfg;
	char dkim[512], err[512];
	struct pipeline *p = NULL;

	/* missing file, no generate */
	load_cfg(f, &cfg, NULL, missing_key_dkim(f, dkim, sizeof dkim));
	assert_int_equal(pipeline_new(f->base, &cfg, &p, err, sizeof err),
	    MAILSEC_ENOTFOUND);
	assert_null(p);
	assert_non_null(strstr(err, "none.key"));
	gw_config_free(&cfg);

	/* an Ed25519 key configured as RSA */
	snprintf(dkim, sizeof dkim, "domain \"example.org\" { key \"x\" "
	    "{ file \"%s\"; } }", f->key);
	load_cfg(f, &cfg, NULL, dkim);
	assert_int_equal(pipeline_new(f->base, &cfg, &p, err, sizeof err),
	    MAILSEC_EINVAL);
	assert_non_null(strstr(err, "algorithm"));
	gw_config_free(&cfg);
}

/* ---- ARC ----------------------------------------------------------------- */

/*
 * msg with one more ARC set on top, sealed by sealer (selector sel1,
 * the RFC 8463 key: pipeline.zone publishes it for fwd.example and
 * list.example). chain is the status of the chain msg carries; the AAR
 * records what the sealer saw: its first hop from 192.0.2.5.
 */
static char *
arc_seal(const char *msg, const char *sealer, enum mailsec_arc_result chain)
{
	struct mailsec_arc_seal_opts o = { 0 };
	struct mailsec_dkim_key *key;
	struct mailsec_authres *aar;
	struct mailsec_msg *parsed;
	char authserv[64], *set = NULL, *out;
	size_t setlen = 0, len = strlen(msg);

	assert_int_equal(mailsec_dkim_key_load(SEL1_SEED, strlen(SEL1_SEED),
	    &key, NULL), MAILSEC_OK);
	snprintf(authserv, sizeof authserv, "mx.%s", sealer);
	assert_int_equal(mailsec_authres_new(authserv, &aar), MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_result(aar, "spf", "pass"),
	    MAILSEC_OK);
	assert_int_equal(mailsec_authres_add_prop(aar, "smtp", "remote-ip",
	    "192.0.2.5", NULL), MAILSEC_OK);
	o.key = key;
	o.domain = sealer;
	o.selector = "sel1";
	assert_int_equal(mailsec_msg_parse(msg, len, NULL,
	    MAILSEC_MSG_REQUIRE_CRLF, &parsed, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_arc_seal_msg(&o, parsed, chain, aar, &set,
	    &setlen, NULL), MAILSEC_OK);
	assert_non_null(set);
	out = malloc(setlen + len + 1);
	assert_non_null(out);
	memcpy(out, set, setlen);
	memcpy(out + setlen, msg, len + 1);
	free(set);
	mailsec_msg_free(parsed);
	mailsec_authres_free(aar);
	mailsec_dkim_key_free(key);
	return out;
}

/* example.org (p=reject) from an address its SPF does not list, no
 * DKIM: DMARC fails; the chain of the forwarders says it passed on
 * arrival. */
static const struct send arc_send = { .ip = "203.0.113.9",
    .mail_from = "alice@example.org", .chunk = 7 };

static void
test_arc_trusted(void **state)
{
	struct plfix *f = *state;
	struct result r = { 0 };
	char *one = arc_seal(msg_plain, "fwd.example", MAILSEC_ARC_NONE);
	char *two = arc_seal(one, "list.example", MAILSEC_ARC_PASS);

	/* a passing chain, no trusted sealer: the policy applies */
	send_with(f, NULL, NULL, &arc_send, one, &r, NULL);
	assert_int_equal(r.action, PL_REJECT);
	assert_int_equal(r.code, 550);
	assert_non_null(strstr(r.prepend, "arc=pass"));
	assert_non_null(strstr(r.prepend, "smtp.remote-ip=203.0.113.9"));
	assert_non_null(strstr(r.prepend, "arc.chain=fwd.example"));
	assert_non_null(strstr(r.prepend, "dmarc=fail"));
	assert_non_null(strstr(r.log, " arc=pass "));
	assert_null(strstr(r.log, "override="));

	/* sealed by a trusted sealer: accepted, the override recorded
	 * with the RFC 8617 7.2.2 comment; not even spf_fail rejects */
	send_with(f, "arc_sealers [other.example, FWD.example.]; spf_fail "
	    "reject;", NULL, &arc_send, one, &r, NULL);
	assert_int_equal(r.action, PL_ACCEPT);
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.prepend, "arc=pass"));
	assert_non_null(strstr(r.prepend, "dmarc=fail"));
	assert_non_null(strstr(r.prepend, "dis=none"));
	assert_non_null(strstr(r.log, "override=local_policy"));
	assert_non_null(strstr(r.log, "arc_sealer=fwd.example"));
	assert_non_null(strstr(r.log, "action=accept"));
	assert_string_equal(r.override, "arc=pass as[1].d=fwd.example "
	    "as[1].s=sel1 remote-ip[1]=192.0.2.5");

	/* RFC 7489 mode names the override "forwarded" */
	send_with(f, "arc_sealers [fwd.example]; dmarc_mode rfc7489;", NULL,
	    &arc_send, one, &r, NULL);
	assert_int_equal(r.action, PL_ACCEPT);
	assert_non_null(strstr(r.log, "override=forwarded"));

	/* two hops: only the newest sealer counts */
	send_with(f, "arc_sealers [fwd.example];", NULL, &arc_send, two, &r,
	    NULL);
	assert_non_null(strstr(r.prepend,
	    "arc.chain=\"fwd.example:list.example\""));
	assert_int_equal(r.action, PL_REJECT);
	send_with(f, "arc_sealers [list.example];", NULL, &arc_send, two, &r,
	    NULL);
	assert_int_equal(r.action, PL_ACCEPT);
	assert_non_null(strstr(r.override, "as[2].d=list.example"));

	/* a trusted forwarder decided first keeps its reason */
	send_with(f, "arc_sealers [fwd.example]; trusted_forwarders "
	    "[fwd.example];", NULL, &(struct send){ .ip = "203.0.113.7",
	    .mail_from = SRS_FWD }, one, &r, NULL);
	assert_int_equal(r.action, PL_ACCEPT);
	assert_non_null(strstr(r.log, "override=trusted_forwarder"));
	assert_null(strstr(r.log, "arc_sealer="));
	result_clear(&r);
	free(one);
	free(two);
}

/* A broken chain: arc=fail with the reason, and a trusted sealer no
 * longer helps. */
static void
test_arc_broken(void **state)
{
	struct plfix *f = *state;
	struct result r = { 0 };
	char *one = arc_seal(msg_plain, "fwd.example", MAILSEC_ARC_NONE);
	char *p, *seal;

	start(f, "arc_sealers [fwd.example];", NULL);
	/* the body changed after sealing */
	p = strstr(one, "Hello.");
	assert_non_null(p);
	p[0] = 'J';
	send_msg(f, &arc_send, one, &r, NULL);
	assert_int_equal(r.action, PL_REJECT);
	assert_non_null(strstr(r.prepend, "arc=fail"));
	assert_non_null(strstr(r.prepend, "body hash"));
	assert_non_null(strstr(r.log, " arc=fail "));
	assert_null(strstr(r.log, "override="));
	assert_string_equal(r.override, "");

	/* the ARC-Seal field renamed away: a set is missing */
	p[0] = 'H';
	seal = strstr(one, "ARC-Seal:");
	assert_non_null(seal);
	seal[0] = 'X';
	send_msg(f, &arc_send, one, &r, NULL);
	assert_int_equal(r.action, PL_REJECT);
	assert_non_null(strstr(r.prepend, "arc=fail"));

	/* no ARC fields at all: arc=none */
	send_msg(f, &arc_send, msg_plain, &r, NULL);
	assert_non_null(strstr(r.prepend, "arc=none"));
	assert_non_null(strstr(r.log, " arc=none "));
	result_clear(&r);
	free(one);
}

/* ---- cancellation, reload ------------------------------------------------ */

static void
test_free_pending(void **state)
{
	struct plfix *f = *state;
	struct pl_client c = { .ip = "203.0.113.9", .helo = "x.example" };
	struct result r = { 0 };
	struct pl_msg *m;
	char *msg = signed_message(f);
	size_t hl = header_len(msg, strlen(msg));
	const char *from = "alice@example.org";

	start(f, NULL, NULL);
	/* SPF in flight */
	pl_msg_free(begin(f, &c, from, NULL, 0, NULL));
	/* SPF and the DKIM key lookup in flight */
	pl_msg_free(begin(f, &c, from, msg, hl, NULL));
	/* ended, everything in flight: no callback afterwards */
	m = begin(f, &c, from, msg, hl, NULL);
	finish(m, msg, hl, true, &r);
	assert_int_equal(r.calls, 0);
	pl_msg_free(m);
	assert_int_not_equal(event_base_dispatch(f->base), -1);
	assert_int_equal(r.calls, 0);

	/* ended after DMARC started: run the loop one step at a time */
	m = begin(f, &c, from, msg, hl, NULL);
	finish(m, msg, hl, false, &r);
	assert_int_not_equal(event_base_loop(f->base, EVLOOP_ONCE), -1);
	assert_int_equal(r.calls, 0);
	pl_msg_free(m);
	assert_int_not_equal(event_base_dispatch(f->base), -1);
	assert_int_equal(r.calls, 0);

	/* freed by the callback: the loop ends cleanly */
	r.free_in_cb = true;
	finish(begin(f, &c, from, msg, hl, NULL), msg, hl, true, &r);
	assert_int_not_equal(event_base_dispatch(f->base), -1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.action, PL_ACCEPT);
	result_clear(&r);
	free(msg);
}

/* Many transactions at once, interleaved, freed in the callback. */
static void
test_concurrent(void **state)
{
	struct plfix *f = *state;
	enum { N = 40 };
	struct pl_client c = { .helo = "x.example" };
	struct result r[N];
	struct pl_msg *m[N];
	struct mailsec_str keep;
	const char *reason;
	size_t hl = header_len(msg_plain, strlen(msg_plain)), i;

	memset(r, 0, sizeof r);
	start(f, NULL, NULL);
	for (i = 0; i < N; i++) {
		c.ip = i % 2 ? "192.0.2.5" : "203.0.113.9";
		r[i].free_in_cb = true;
		m[i] = begin(f, &c, "alice@example.org", NULL, 0, NULL);
	}
	for (i = 0; i < N; i++) {
		assert_int_equal(pl_msg_header(m[i], msg_plain, hl, &keep,
		    &reason), MAILSEC_OK);
		finish(m[i], msg_plain, hl, true, &r[i]);
	}
	assert_int_not_equal(event_base_dispatch(f->base), -1);
	for (i = 0; i < N; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].action, i % 2 ? PL_ACCEPT : PL_REJECT);
		result_clear(&r[i]);
	}
}

static void
test_reload(void **state)
{
	struct plfix *f = *state;
	struct gw_config cfg2, bad;
	struct pl_client c = { .ip = "203.0.113.9", .helo = "x.example" };
	struct send s = { .ip = "203.0.113.9",
	    .mail_from = "alice@example.org" };
	struct result r = { 0 }, old = { 0 };
	struct pl_msg *m;
	struct mailsec_str keep;
	const char *reason;
	char err[512], dkim[512];
	size_t hl = header_len(msg_plain, strlen(msg_plain));

	start(f, NULL, NULL);
	/* a transaction started before the reload */
	m = begin(f, &c, "alice@example.org", NULL, 0, NULL);

	load_cfg(f, &cfg2, "dmarc_reject quarantine; quarantine header;",
	    NULL);
	assert_int_equal(pipeline_reload(f->p, &cfg2, err, sizeof err),
	    MAILSEC_OK);
	gw_config_free(&f->cfg);
	f->cfg = cfg2;

	/* a failing reload keeps what runs */
	load_cfg(f, &bad, "dmarc_reject accept;", missing_key_dkim(f, dkim,
	    sizeof dkim));
	assert_int_not_equal(pipeline_reload(f->p, &bad, err, sizeof err),
	    MAILSEC_OK);
	assert_non_null(strstr(err, "none.key"));
	gw_config_free(&bad);

	/* the old transaction finishes under the old policy */
	old.free_in_cb = true;
	assert_int_equal(pl_msg_header(m, msg_plain, hl, &keep, &reason),
	    MAILSEC_OK);
	finish(m, msg_plain, hl, true, &old);
	/* a new one under the new */
	send_msg(f, &s, msg_plain, &r, NULL);
	assert_int_equal(old.calls, 1);
	assert_int_equal(old.action, PL_REJECT);
	assert_int_equal(r.action, PL_QUARANTINE);
	assert_non_null(strstr(r.prepend, "X-Mailsec-Quarantine: "));
	result_clear(&r);
	result_clear(&old);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_verdicts, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_report_rows, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_unbound_timeout, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_forged_authres, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_header_mutations, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_bad_header, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_chunks, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_header_b_unique, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_sign_submission, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_sign_no_key, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_sign_generated, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_bad_key, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_arc_trusted, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_arc_broken, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_free_pending, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_reload, setup,
		    plfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
