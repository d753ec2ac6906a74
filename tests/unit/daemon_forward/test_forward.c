/*
 * tests/unit/daemon_forward/test_forward.c - forwarding aliases and the
 * ARC sealing of forwarded mail (docs/forwarding.md):
 *   - the forward { } and arc { } sections: normalized aliases and
 *     targets, the errors (alias off the local domains, too many
 *     targets, twice, empty, bad addresses, arc.seal without a key,
 *     forbidden AMS fields), and the dump read back giving the same dump;
 *   - fwd_lookup (address alias first, case, final dot, domain alias,
 *     postmaster) and fwd_orcpt (RFC 3461 4.2);
 *   - the pipeline (real libevent loop, DNS from examples/example.zone
 *     and tests/unit/daemon_pipeline/pipeline.zone): a forwarded message
 *     from outside gets ARC-Seal, ARC-Message-Signature and
 *     ARC-Authentication-Results after our Authentication-Results, with
 *     a key generated 0600 on start; the stored message validates with
 *     mailsec_arc_verify_msg and with dkimpy's arc_verify (RFC 8617 5.2);
 *     a message that arrived with a failing chain is sealed with cv=fail
 *     (5.1.2), one whose newest seal already says cv=fail gets nothing
 *     (5.1 step 2); seal off, no forwarded recipient, submission and a
 *     rejected message add nothing.
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
#include "forward.h"
#include "pipeline.h"
#include "plfix.h"

#define AUTHSERV "mx.test.example"
#define ARC_DOMAIN "fwd.example"
#define ARC_SELECTOR "arc"
#define ARC_KEY_NAME ARC_SELECTOR "._domainkey." ARC_DOMAIN

struct result {
	int calls;
	enum pl_action action;
	char *prepend;
	char log[4096];
};

/* The fixture; the ARC key generated at f->key. */
static int
setup(void **state)
{
	struct plfix *f;

	if (plfix_new(&f, "/tmp/msfw-test-XXXXXX", "keys/arc.key") != 0)
		return -1;
	*state = f;
	return 0;
}

/* ---- configuration ------------------------------------------------------- */

static const char cfg_forward[] =
    "local { domains [localhost, Local.Example]; }\n"
    "forward {\n"
    "\t\"Alias@LOCAL.example\" [\"Bob.Smith@Remote.Example\", "
    "\"carol@other.example\"];\n"
    "\t\"@local.example\" \"catch@remote.example\";\n"
    "\tlist@localhost = [\"x+tag@remote.example\"];\n"
    "}\n"
    "arc {\n"
    "\tseal yes;\n"
    "\tdomain FWD.example;\n"
    "\tselector arc;\n"
    "\tkey \"/var/lib/mailsec/arc.key\";\n"
    "\tgenerate yes;\n"
    "\talgorithm ed25519-sha256;\n"
    "\theaders [from, To, subject, date, message-id];\n"
    "}\n";

static char *
dump_text(const struct gw_config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	gw_config_dump(cfg, f);
	assert_int_equal(fclose(f), 0);
	return text;
}

/* The dump d1 reads back into a configuration that dumps the same. */
static void
assert_dump_reloads(const char *d1)
{
	struct gw_config again;
	char err[GW_CONFIG_ERR_MAX], *d2;

	if (gw_config_load_mem(d1, strlen(d1), "t.conf", &again, err,
	    sizeof err) != MAILSEC_OK)
		fail_msg("dump does not load: %s\n%s", err, d1);
	d2 = dump_text(&again);
	assert_string_equal(d1, d2);
	free(d2);
	gw_config_free(&again);
}

static void
test_config_forward(void **state)
{
	struct gw_config cfg;
	char err[GW_CONFIG_ERR_MAX], *d1;
	const struct gw_forward_alias *a;

	(void)state;
	if (gw_config_load_mem(cfg_forward, strlen(cfg_forward), "t.conf",
	    &cfg, err, sizeof err) != MAILSEC_OK)
		fail_msg("config: %s", err);
	assert_int_equal(cfg.forward.n, 3);
	a = &cfg.forward.aliases[0];
	assert_string_equal(a->from, "alias@local.example");
	assert_int_equal(a->to.n, 2);
	/* the target's local part as written, its domain normalized */
	assert_string_equal(a->to.v[0], "Bob.Smith@remote.example");
	assert_string_equal(a->to.v[1], "carol@other.example");
	assert_string_equal(cfg.forward.aliases[1].from, "@local.example");
	assert_int_equal(cfg.forward.aliases[1].to.n, 1);
	assert_string_equal(cfg.forward.aliases[2].to.v[0],
	    "x+tag@remote.example");
	assert_true(cfg.arc.seal);
	assert_string_equal(cfg.arc.domain, "fwd.example");
	assert_string_equal(cfg.arc.selector, "arc");
	assert_string_equal(cfg.arc.key, "/var/lib/mailsec/arc.key");
	assert_true(cfg.arc.generate);
	assert_int_equal(cfg.arc.algorithm, GW_DKIM_ED25519_SHA256);
	assert_int_equal(cfg.arc.headers.n, 5);
	assert_string_equal(cfg.arc.headers.v[1], "to");

	/* the dump reads back into the same configuration */
	d1 = dump_text(&cfg);
	assert_non_null(strstr(d1, "forward {\n\talias@local.example "
	    "[Bob.Smith@remote.example, carol@other.example];\n"));
	assert_non_null(strstr(d1, "arc {\n\tseal yes;\n"));
	assert_dump_reloads(d1);
	free(d1);
	gw_config_free(&cfg);

	/* defaults: no aliases, sealing off, the library's AMS list */
	assert_int_equal(gw_config_load_mem("", 0, "t.conf", &cfg, err,
	    sizeof err), MAILSEC_OK);
	assert_int_equal(cfg.forward.n, 0);
	assert_false(cfg.arc.seal);
	assert_int_equal(cfg.arc.headers.n, 0);
	d1 = dump_text(&cfg);
	assert_non_null(strstr(d1, "forward {\n}\narc {\n\tseal no;\n"));
	assert_non_null(strstr(d1, "\t# headers [...];"));
	assert_dump_reloads(d1);
	free(d1);
	gw_config_free(&cfg);
}

struct cfg_error {
	const char *text;
	const char *err;	/* in the message */
};

/* An alias with n targets, loaded with the result want. */
static void
targets_cfg(size_t n, struct gw_config *cfg, mailsec_err want, char *err,
    size_t errlen)
{
	char text[4096];
	size_t i, off;
	int len;

	len = snprintf(text, sizeof text, "forward { a@localhost [");
	off = (size_t)len;
	for (i = 0; i < n; i++) {
		len = snprintf(text + off, sizeof text - off,
		    "%st%zu@x.example", i > 0 ? ", " : "", i);
		assert_true(len > 0 && (size_t)len < sizeof text - off);
		off += (size_t)len;
	}
	len = snprintf(text + off, sizeof text - off, "]; }");
	assert_true(len > 0 && (size_t)len < sizeof text - off);
	assert_int_equal(gw_config_load_mem(text, strlen(text), "t.conf", cfg,
	    err, errlen), want);
}

static void
test_config_errors(void **state)
{
	static const struct cfg_error cases[] = {
		{ "forward { \"a@remote.example\" [\"b@x.example\"]; }",
		  "t.conf:1: forward[a@remote.example]: remote.example is "
		  "not a local domain" },
		{ "forward { \"a@localhost\" []; }", "forwards to nobody" },
		{ "forward { a@localhost [b@x.example]; "
		  "A@LOCALHOST [c@x.example]; }",
		  "is configured twice (first on line 1)" },
		{ "forward { \"a b@localhost\" [b@x.example]; }",
		  "not a dot-string" },
		{ "forward { localhost [b@x.example]; }",
		  "is not an address" },
		{ "forward { a@localhost [\"b\"]; }", "is not an address" },
		{ "forward { a@localhost [\"@x.example\"]; }",
		  "is not an address" },
		{ "forward { a@localhost [\"b..c@x.example\"]; }",
		  "not a dot-string" },
		{ "forward { a@localhost [\"b@-x.example\"]; }",
		  "no valid domain" },
		{ "forward { a@localhost [b@x.example, b@x.example]; }",
		  "listed twice" },
		{ "forward { a@localhost { to b@x.example; } }",
		  "not a section" },
		{ "forward a@localhost;", "is a section" },
		{ "arc { seal yes; domain fwd.example; selector s; }",
		  "arc.seal: needs arc.key" },
		{ "arc { seal yes; selector s; key /k; }",
		  "arc.seal: needs arc.domain" },
		{ "arc { headers [from, received]; }",
		  "cannot be signed by an ARC-Message-Signature" },
		{ "arc { headers [from, ARC-Seal]; }",
		  "cannot be signed by an ARC-Message-Signature" },
		{ "arc { algorithm rsa-sha1; }", "algorithm" },
		{ "arc { domain \"not a domain\"; }", "is not a domain name" },
	};
	struct gw_config cfg;
	char err[GW_CONFIG_ERR_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (gw_config_load_mem(cases[i].text, strlen(cases[i].text),
		    "t.conf", &cfg, err, sizeof err) == MAILSEC_OK)
			fail_msg("accepted: %s", cases[i].text);
		if (strstr(err, cases[i].err) == NULL)
			fail_msg("%s: error \"%s\", want \"%s\"",
			    cases[i].text, err, cases[i].err);
		gw_config_free(&cfg);
	}
	/* FWD_TARGETS_MAX targets, then one more */
	targets_cfg(FWD_TARGETS_MAX, &cfg, MAILSEC_OK, err, sizeof err);
	assert_int_equal(cfg.forward.aliases[0].to.n, FWD_TARGETS_MAX);
	gw_config_free(&cfg);
	targets_cfg(FWD_TARGETS_MAX + 1, &cfg, MAILSEC_ESYNTAX, err,
	    sizeof err);
	assert_non_null(strstr(err, "has 101 targets, at most 100"));
}

/* ---- lookup and ORCPT ---------------------------------------------------- */

static void
test_lookup(void **state)
{
	static const char text[] =
	    "local { domains [localhost, local.example, other.example]; }\n"
	    "forward {\n"
	    "\talias@local.example [a@remote.example];\n"
	    "\t\"@local.example\" catch@remote.example;\n"
	    "\tpostmaster@other.example [pm@remote.example];\n"
	    "}\n";
	struct gw_config cfg;
	char err[GW_CONFIG_ERR_MAX];
	const struct gw_forward_alias *a;

	(void)state;
	if (gw_config_load_mem(text, strlen(text), "t.conf", &cfg, err,
	    sizeof err) != MAILSEC_OK)
		fail_msg("config: %s", err);
#define LOOK(l, d) fwd_lookup(&cfg, l, strlen(l), d, strlen(d))
	a = LOOK("alias", "local.example");
	assert_non_null(a);
	assert_string_equal(a->from, "alias@local.example");
	/* local part ASCII case-insensitive, domain any case, final dot */
	assert_ptr_equal(LOOK("ALIAS", "Local.Example."), a);
	/* anything else at the domain: the domain alias */
	a = LOOK("someone", "local.example");
	assert_non_null(a);
	assert_string_equal(a->from, "@local.example");
	assert_string_equal(a->to.v[0], "catch@remote.example");
	/* postmaster stays local (RFC 5321 4.5.1) unless named itself */
	assert_null(LOOK("Postmaster", "local.example"));
	a = LOOK("postmaster", "other.example");
	assert_non_null(a);
	assert_string_equal(a->to.v[0], "pm@remote.example");
	assert_null(LOOK("alias", "other.example"));
	assert_null(LOOK("alias", "localhost"));
	assert_null(LOOK("alias", "remote.example"));
	assert_null(fwd_lookup(&cfg, "alias", 5, "", 0));
	assert_null(fwd_lookup(&cfg, "alias", 5, "not a domain", 12));
	/* a local part no alias can have still meets the domain alias */
	a = fwd_lookup(&cfg, "x\0y", 3, "local.example", 13);
	assert_non_null(a);
	assert_string_equal(a->from, "@local.example");
#undef LOOK
	gw_config_free(&cfg);
}

static void
test_orcpt(void **state)
{
	char *o;

	(void)state;
	assert_int_equal(fwd_orcpt(NULL, "alias@local.example", &o),
	    MAILSEC_OK);
	assert_string_equal(o, "rfc822;alias@local.example");
	free(o);
	/* the client's own ORCPT wins */
	assert_int_equal(fwd_orcpt("rfc822;first@elsewhere.example",
	    "alias@local.example", &o), MAILSEC_OK);
	assert_string_equal(o, "rfc822;first@elsewhere.example");
	free(o);
	/* not US-ASCII: no rfc822 ORCPT (RFC 3461 4.2) */
	assert_int_equal(fwd_orcpt(NULL, "j\xc3\xb6rg@local.example", &o),
	    MAILSEC_OK);
	assert_null(o);
	assert_int_equal(fwd_orcpt(NULL, "", &o), MAILSEC_OK);
	assert_null(o);
}

/* ---- the pipeline -------------------------------------------------------- */

/* The pipeline of f under a configuration: the test zone, our
 * authserv-id, then arc statements and policy statements as given. */
static void
start(struct plfix *f, const char *arc, const char *dkim)
{
	char text[4096], err[GW_CONFIG_ERR_MAX];
	int n;

	pipeline_free(f->p);
	f->p = NULL;
	gw_config_free(&f->cfg);
	n = snprintf(text, sizeof text,
	    "state_dir \"%s\";\n"
	    "dns { zone \"%s\"; }\n"
	    "dkim { generate no; %s }\n"
	    "policy { authserv_id %s; }\n"
	    "local { domains [localhost, local.example]; }\n"
	    "forward { alias@local.example [bob@remote.example]; }\n"
	    "arc { %s }\n",
	    f->dir, f->zone, dkim != NULL ? dkim : "", AUTHSERV,
	    arc != NULL ? arc : "");
	assert_true(n > 0 && (size_t)n < sizeof text);
	if (gw_config_load_mem(text, (size_t)n, "test.conf", &f->cfg, err,
	    sizeof err) != MAILSEC_OK)
		fail_msg("config: %s", err);
	if (pipeline_new(f->base, &f->cfg, &f->p, err, sizeof err) !=
	    MAILSEC_OK)
		fail_msg("pipeline_new: %s", err);
}

/* Sealing on, with the RSA key generated at f->key. */
static void
start_sealing(struct plfix *f)
{
	char arc[512];
	int n = snprintf(arc, sizeof arc, "seal yes; domain %s; selector %s; "
	    "key \"%s\"; generate yes; algorithm rsa-sha256;", ARC_DOMAIN,
	    ARC_SELECTOR, f->key);

	assert_true(n > 0 && (size_t)n < sizeof arc);
	start(f, arc, NULL);
}

static void
on_verdict(void *arg, struct pl_msg *m, const struct pl_verdict *v)
{
	struct result *r = arg;

	r->calls++;
	r->action = v->action;
	free(r->prepend);
	r->prepend = malloc(v->prepend_len + 1);
	assert_non_null(r->prepend);
	memcpy(r->prepend, v->prepend, v->prepend_len);
	r->prepend[v->prepend_len] = '\0';
	snprintf(r->log, sizeof r->log, "%s", v->log);
	pl_msg_free(m);
}

static void
result_clear(struct result *r)
{
	free(r->prepend);
	memset(r, 0, sizeof *r);
}

struct send {
	const char *ip;
	const char *auth_user;
	const char *mail_from;
	bool forwarded;
	size_t chunk;		/* body chunk size, 0: all at once */
};

/*
 * One message through the pipeline. Returns the message as the queue
 * stores it (free()): the prepended fields, a Received field as the
 * session adds, the header kept, the body.
 */
static char *
send_msg(struct plfix *f, const struct send *s, const char *msg,
    struct result *r)
{
	static const char received[] = "Received: from client.example "
	    "(client.example [192.0.2.1])\r\n\tby mx.test.example (mailsec) "
	    "with ESMTPS id 0123456789abcdef;\r\n\tMon, 1 Jan 2024 00:00:00 "
	    "+0000\r\n";
	struct pl_client c = { 0 };
	struct mailsec_str keep;
	const char *reason = NULL, *e;
	struct pl_msg *m;
	size_t len = strlen(msg), hl, off, n, pl;
	char *kept, *out;

	e = memmem(msg, len, "\r\n\r\n", 4);
	hl = e == NULL ? len : (size_t)(e - msg) + 4;
	c.ip = s->ip;
	c.helo = "client.example";
	c.auth_user = s->auth_user;
	c.tls = true;
	result_clear(r);
	assert_int_equal(pl_msg_new(f->p, &c, &m), MAILSEC_OK);
	assert_int_equal(pl_msg_mail_from(m, s->mail_from), MAILSEC_OK);
	if (s->forwarded)
		assert_int_equal(pl_msg_forwarded(m), MAILSEC_OK);
	assert_int_equal(pl_msg_header(m, msg, hl, &keep, &reason),
	    MAILSEC_OK);
	/* too late now */
	assert_int_equal(pl_msg_forwarded(m), MAILSEC_ESTATE);
	for (off = hl; off < len; off += n) {
		n = s->chunk == 0 ? len - off : s->chunk;
		if (n > len - off)
			n = len - off;
		assert_int_equal(pl_msg_body(m, msg + off, n), MAILSEC_OK);
	}
	/* keep points into msg or into m, which the callback frees */
	kept = malloc(keep.len + 1);
	assert_non_null(kept);
	memcpy(kept, keep.ptr, keep.len);
	n = keep.len;
	assert_int_equal(pl_msg_end(m, on_verdict, r), MAILSEC_OK);
	plfix_run_until(f, &r->calls);
	assert_int_equal(r->calls, 1);
	pl = strlen(r->prepend);
	out = malloc(pl + sizeof received + n + len - hl);
	assert_non_null(out);
	memcpy(out, r->prepend, pl);
	memcpy(out + pl, received, sizeof received - 1);
	pl += sizeof received - 1;
	memcpy(out + pl, kept, n);
	pl += n;
	memcpy(out + pl, msg + hl, len - hl);
	pl += len - hl;
	out[pl] = '\0';
	free(kept);
	return out;
}

/* The public record of the generated key, as a zone-file TXT line. */
static char *
key_record(const struct plfix *f, char **zone_line)
{
	struct mailsec_dkim_key *key = NULL;
	struct stat st;
	char buf[8192], *rec = NULL;
	size_t len, i, off = 0;
	FILE *in;

	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	in = fopen(f->key, "r");
	assert_non_null(in);
	len = fread(buf, 1, sizeof buf, in);
	fclose(in);
	assert_int_equal(mailsec_dkim_key_load(buf, len, &key, NULL),
	    MAILSEC_OK);
	assert_int_equal(mailsec_dkim_key_algorithm(key),
	    MAILSEC_DKIM_RSA_SHA256);
	assert_int_equal(mailsec_dkim_key_record(key, &rec, &len),
	    MAILSEC_OK);
	mailsec_dkim_key_free(key);
	*zone_line = malloc(len * 2 + 256);
	assert_non_null(*zone_line);
	off = (size_t)snprintf(*zone_line, 256, "%s. IN TXT (",
	    ARC_KEY_NAME);
	for (i = 0; i < len; i += 200)
		off += (size_t)snprintf(*zone_line + off, len * 2 + 256 - off,
		    " \"%.*s\"", (int)(len - i > 200 ? 200 : len - i),
		    rec + i);
	snprintf(*zone_line + off, len * 2 + 256 - off, " )\n");
	return rec;
}

/* mailsec's ARC validation of text, DNS from one zone line. */
static enum mailsec_arc_result
verify_mailsec(const char *zone_line, const char *text, unsigned *instances,
    int *oldest_pass)
{
	struct mailsec_resolver *res = NULL;
	struct mailsec_arc_verify *v = NULL;
	struct mailsec_msg *msg = NULL;
	const struct mailsec_arc_outcome *o;
	enum mailsec_arc_result result;

	assert_int_equal(mailsec_resolver_new_zone_mem(zone_line,
	    strlen(zone_line), NULL, &res, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_msg_parse(text, strlen(text), NULL,
	    MAILSEC_MSG_REQUIRE_CRLF, &msg, NULL), MAILSEC_OK);
	assert_int_equal(mailsec_arc_verify_msg(res, NULL, msg, &v),
	    MAILSEC_OK);
	o = mailsec_arc_verify_outcome(v);
	result = o->result;
	if (instances != NULL)
		*instances = o->instances;
	if (oldest_pass != NULL)
		*oldest_pass = o->oldest_pass;
	if (result != MAILSEC_ARC_PASS)
		print_message("mailsec: %s (%s)\n",
		    mailsec_arc_result_name(result), o->reason_text);
	mailsec_arc_verify_free(v);
	mailsec_msg_free(msg);
	mailsec_resolver_free(res);
	return result;
}

/* Passes SPF (192.0.2.0/24) and DMARC (p=reject) of example.org. */
static const char msg_list[] =
    "From: Alice <alice@example.org>\r\n"
    "To: alias@local.example\r\n"
    "Subject: to be forwarded\r\n"
    "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    "Message-ID: <fw1@example.org>\r\n"
    "Authentication-Results: " AUTHSERV "; spf=pass (forged)\r\n"
    "\r\n"
    "Hello, forwarded.\r\n"
    "\r\n"
    "  indented line  \r\n";

static const struct send send_ok = { .ip = "192.0.2.1",
    .mail_from = "alice@example.org", .forwarded = true, .chunk = 5 };

/* The header fields of text, names only, in order, up to n. */
static size_t
field_names(const char *text, const char **names, size_t n)
{
	const char *p = text, *e;
	size_t k = 0;

	while (k < n && *p != '\r' && (e = strstr(p, "\r\n")) != NULL) {
		if (*p != ' ' && *p != '\t')
			names[k++] = p;
		p = e + 2;
	}
	return k;
}

static bool
starts(const char *p, const char *name)
{
	return strncmp(p, name, strlen(name)) == 0;
}

static void
test_seal_forwarded(void **state)
{
	struct plfix *f = *state;
	struct result r = { 0 };
	const char *names[16];
	char *text, *rec, *zone_line;
	unsigned instances = 0;
	int oldest = -2, rc;

	start_sealing(f);
	text = send_msg(f, &send_ok, msg_list, &r);
	assert_int_equal(r.action, PL_ACCEPT);
	/* ours, then the set, then what the session adds, then the message */
	assert_int_equal(field_names(text, names, 16), 10);
	assert_true(starts(names[0], "Authentication-Results: " AUTHSERV
	    "; spf=pass"));
	assert_true(starts(names[1], "ARC-Seal: i=1; "));
	assert_true(starts(names[2], "ARC-Message-Signature: i=1; "));
	assert_true(starts(names[3], "ARC-Authentication-Results: i=1; "
	    AUTHSERV "; spf=pass"));
	assert_true(starts(names[4], "Received: "));
	assert_true(starts(names[5], "From: "));
	/* the forged field was dropped, from the store and the seal */
	assert_null(strstr(text, "(forged)"));
	assert_non_null(strstr(r.prepend, "cv=none"));
	assert_non_null(strstr(r.prepend, "d=" ARC_DOMAIN));
	assert_non_null(strstr(r.prepend, "s=" ARC_SELECTOR));
	assert_non_null(strstr(r.prepend, "a=rsa-sha256"));
	/* the AAR copies our results: DKIM, ARC and DMARC too */
	assert_non_null(strstr(names[3], "arc=none"));
	assert_non_null(strstr(names[3], "dmarc=pass"));
	assert_non_null(strstr(r.log, " arc_seal=" ARC_DOMAIN ":"
	    ARC_SELECTOR "(cv=none)"));

	rec = key_record(f, &zone_line);
	assert_int_equal(verify_mailsec(zone_line, text, &instances, &oldest),
	    MAILSEC_ARC_PASS);
	assert_int_equal(instances, 1);
	assert_int_equal(oldest, 0);
	rc = plfix_dkimpy(f, text, "pass", ARC_KEY_NAME, rec, NULL);
	free(rec);
	free(zone_line);
	free(text);
	result_clear(&r);
	if (rc == 77)
		skip();
	assert_int_equal(rc, 0);
}

/* Our sealed message, changed on the way, forwarded again. */
static void
test_seal_failing_chain(void **state)
{
	struct plfix *f = *state;
	struct result r = { 0 };
	char *text, *again, *third, *rec, *zone_line, *p;
	int rc;

	start_sealing(f);
	text = send_msg(f, &send_ok, msg_list, &r);
	rec = key_record(f, &zone_line);
	assert_int_equal(verify_mailsec(zone_line, text, NULL, NULL),
	    MAILSEC_ARC_PASS);
	/* a list footer breaks the AMS: the chain fails on arrival */
	p = strstr(text, "Hello, forwarded.");
	assert_non_null(p);
	p[5] = '!';
	again = send_msg(f, &send_ok, text, &r);
	assert_int_equal(r.action, PL_ACCEPT);
	assert_non_null(strstr(r.prepend, "; arc=fail"));
	/* sealed with cv=fail over the new set alone (RFC 8617 5.1.2) */
	assert_non_null(strstr(r.prepend, "\r\nARC-Seal: i=2; "));
	assert_non_null(strstr(r.prepend, "cv=fail"));
	assert_non_null(strstr(r.prepend, "ARC-Authentication-Results: i=2; "
	    AUTHSERV "; "));
	assert_non_null(strstr(r.log, " arc_seal=" ARC_DOMAIN ":"
	    ARC_SELECTOR "(cv=fail)"));
	assert_int_equal(verify_mailsec(zone_line, again, NULL, NULL),
	    MAILSEC_ARC_FAIL);
	/* dkimpy reports a chain ended by cv=fail as no status ("the
	 * chain is terminated"), RFC 8617 5.2 step 2 as fail: either way
	 * not a pass */
	rc = plfix_dkimpy(f, again, "fail|none", ARC_KEY_NAME, rec,
	    NULL);
	assert_true(rc == 0 || rc == 77);

	/* the newest seal says cv=fail: nothing to add (5.1 step 2) */
	third = send_msg(f, &send_ok, again, &r);
	assert_int_equal(r.action, PL_ACCEPT);
	assert_null(strstr(r.prepend, "ARC-Seal: "));
	assert_non_null(strstr(r.prepend, "Authentication-Results: "));
	assert_non_null(strstr(r.log, " arc_seal=none\\x20(the\\x20chain"));
	free(third);
	free(again);
	free(text);
	free(rec);
	free(zone_line);
	result_clear(&r);
	if (rc == 77)
		skip();
}

/* Nothing sealed: seal off, not forwarded, submission, refused. */
static void
test_seal_not(void **state)
{
	struct plfix *f = *state;
	struct result r = { 0 };
	struct send s = send_ok;
	char *text, dkim[512], arc[512];
	int n;

	start(f, "seal no;", NULL);
	text = send_msg(f, &s, msg_list, &r);
	free(text);
	assert_int_equal(r.action, PL_ACCEPT);
	assert_null(strstr(r.prepend, "ARC-"));
	assert_null(strstr(r.log, "arc_seal="));

	start_sealing(f);
	s.forwarded = false;
	text = send_msg(f, &s, msg_list, &r);
	free(text);
	assert_int_equal(r.action, PL_ACCEPT);
	assert_null(strstr(r.prepend, "ARC-"));
	assert_null(strstr(r.log, "arc_seal="));

	/* submission is DKIM-signed, not sealed */
	n = snprintf(dkim, sizeof dkim, "domain \"example.org\" { key "
	    "\"sub\" { file \"%s/sub.key\"; generate yes; "
	    "algorithm ed25519-sha256; } }", f->dir);
	assert_true(n > 0 && (size_t)n < sizeof dkim);
	n = snprintf(arc, sizeof arc, "seal yes; domain %s; selector %s; "
	    "key \"%s\"; generate yes;", ARC_DOMAIN, ARC_SELECTOR, f->key);
	assert_true(n > 0 && (size_t)n < sizeof arc);
	start(f, arc, dkim);
	s.forwarded = true;
	s.auth_user = "alice";
	s.ip = "198.51.100.77";
	text = send_msg(f, &s, msg_list, &r);
	free(text);
	assert_int_equal(r.action, PL_ACCEPT);
	assert_null(strstr(r.prepend, "ARC-"));
	assert_non_null(strstr(r.prepend, "DKIM-Signature: "));
	assert_non_null(strstr(r.log, " arc_seal=submission"));

	/* SPF and DMARC fail under p=reject: refused, not sealed */
	s = send_ok;
	s.ip = "203.0.113.9";
	text = send_msg(f, &s, msg_list, &r);
	free(text);
	assert_int_equal(r.action, PL_REJECT);
	assert_null(strstr(r.prepend, "ARC-"));
	assert_non_null(strstr(r.log, " arc_seal=none\\x20(reject)"));
	result_clear(&r);
}

/* A key that does not load keeps the pipeline from starting, with a
 * reason naming arc; a missing one without generate too. */
static void
test_seal_bad_key(void **state)
{
	struct plfix *f = *state;
	struct gw_config cfg;
	struct pipeline *p = NULL;
	char text[2048], err[GW_CONFIG_ERR_MAX], perr[512];
	int n;

	n = snprintf(text, sizeof text, "state_dir \"%s\";\n"
	    "dns { zone \"%s\"; }\ndkim { generate no; }\n"
	    "arc { seal yes; domain %s; selector %s; key \"%s/none.key\"; }\n",
	    f->dir, f->zone, ARC_DOMAIN, ARC_SELECTOR, f->dir);
	assert_true(n > 0 && (size_t)n < sizeof text);
	if (gw_config_load_mem(text, (size_t)n, "t.conf", &cfg, err,
	    sizeof err) != MAILSEC_OK)
		fail_msg("config: %s", err);
	assert_int_not_equal(pipeline_new(f->base, &cfg, &p, perr,
	    sizeof perr), MAILSEC_OK);
	assert_null(p);
	assert_true(starts(perr, "arc: "));
	assert_non_null(strstr(perr, "none.key"));
	gw_config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_forward),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_orcpt),
		cmocka_unit_test_setup_teardown(test_seal_forwarded, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_seal_failing_chain,
		    setup, plfix_teardown),
		cmocka_unit_test_setup_teardown(test_seal_not, setup,
		    plfix_teardown),
		cmocka_unit_test_setup_teardown(test_seal_bad_key, setup,
		    plfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
