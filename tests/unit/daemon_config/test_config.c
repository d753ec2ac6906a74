/*
 * tests/unit/daemon_config/test_config.c - mailsec.conf: the syntax
 * (daemon/conf_parse.c), the defaults (zero-config behaviour), every
 * option, every validation error with its FILE:LINE text, the example
 * file, the dump round trip, and the questions the daemon asks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf_parse.h"
#include "config.h"
#include "passwd.h"

static mailsec_err
load(const char *text, struct gw_config *cfg, char *err)
{
	return gw_config_load_mem(text, strlen(text), "t.conf", cfg, err,
	    GW_CONFIG_ERR_MAX);
}

/* The dump without its first line (which names the source). */
static char *
dump_body(const struct gw_config *cfg)
{
	char *buf = NULL, *nl, *out;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	gw_config_dump(cfg, f);
	assert_int_equal(fclose(f), 0);
	nl = strchr(buf, '\n');
	assert_non_null(nl);
	out = strdup(nl + 1);
	free(buf);
	assert_non_null(out);
	return out;
}

/* x and y dump to the same text; both are freed. */
static void
assert_same_config(struct gw_config *x, struct gw_config *y)
{
	char *a = dump_body(x), *b = dump_body(y);

	assert_string_equal(a, b);
	free(a);
	free(b);
	gw_config_free(x);
	gw_config_free(y);
}

/* ---- syntax ------------------------------------------------------------- */

static void
test_parse_tree(void **state)
{
	static const char text[] =
	    "# comment\n"
	    "a 1;\n"
	    "b = \"x\\\"y\\\\z\\n\"; // trailing\n"
	    "/* block\n comment */ c [one, \"two\", 3,];\n"
	    "sec {\n"
	    "\tinner yes;\n"
	    "}\n"
	    "named \"lab el\" { k v; };\n"
	    "eq = { };\n"
	    "empty [];\n";
	struct conf_node *root;
	const struct conf_node *n, *m;
	char err[256];

	(void)state;
	assert_int_equal(conf_parse(text, sizeof text - 1, "f", &root, err,
	    sizeof err), MAILSEC_OK);
	assert_int_equal(root->nchild, 7);
	n = conf_get(root, "a");
	assert_non_null(n);
	assert_int_equal(n->kind, CONF_SCALAR);
	assert_string_equal(n->val, "1");
	assert_false(n->quoted);
	assert_int_equal(n->line, 2);
	assert_int_equal(n->col, 1);
	n = conf_get(root, "b");
	assert_string_equal(n->val, "x\"y\\z\n");
	assert_true(n->quoted);
	n = conf_get(root, "c");
	assert_int_equal(n->kind, CONF_LIST);
	assert_int_equal(n->nchild, 3);
	assert_int_equal(n->line, 5);
	assert_int_equal(n->col, 13);
	assert_string_equal(n->child->val, "one");
	assert_string_equal(n->child->next->val, "two");
	assert_true(n->child->next->quoted);
	assert_string_equal(n->last->val, "3");
	n = conf_get(root, "sec");
	assert_int_equal(n->kind, CONF_SECTION);
	assert_null(n->label);
	m = conf_get(n, "inner");
	assert_non_null(m);
	assert_int_equal(m->line, 7);
	assert_int_equal(m->col, 2);
	n = conf_get(root, "named");
	assert_int_equal(n->kind, CONF_SECTION);
	assert_string_equal(n->label, "lab el");
	assert_string_equal(conf_get(n, "k")->val, "v");
	n = conf_get(root, "eq");
	assert_int_equal(n->kind, CONF_SECTION);
	assert_int_equal(n->nchild, 0);
	n = conf_get(root, "empty");
	assert_int_equal(n->kind, CONF_LIST);
	assert_int_equal(n->nchild, 0);
	assert_null(conf_get(root, "missing"));
	conf_free(root);
}

struct syn_case {
	const char *in;
	mailsec_err err;
	const char *text;
};

static const struct syn_case syn_cases[] = {
	{ "a 1", MAILSEC_ESYNTAX,
	  "f:1:4: missing ';' after the value of 'a' (found the end of the "
	  "file)" },
	{ "a 1 2;", MAILSEC_ESYNTAX,
	  "f:1:5: missing ';' after the value of 'a' (found a word)" },
	{ "a;", MAILSEC_ESYNTAX, "f:1:2: 'a' needs a value, found ';'" },
	{ ";", MAILSEC_ESYNTAX, "f:1:1: expected an option name, found ';'" },
	{ "s {\n a 1;\n", MAILSEC_ESYNTAX,
	  "f:1:3: 's': no '}' closes this '{'" },
	{ "a 1;\n}", MAILSEC_ESYNTAX, "f:2:1: '}' without a matching '{'" },
	{ "a \"abc\n\";", MAILSEC_ESYNTAX,
	  "f:1:3: unterminated string (strings end on the line they start)" },
	{ "a \"\\q\";", MAILSEC_ESYNTAX,
	  "f:1:4: unknown escape; use \\\" \\\\ \\n \\t or \\r" },
	{ "a \"\x01\";", MAILSEC_ESYNTAX,
	  "f:1:4: control character 0x01 in a string (write \\t, \\n or "
	  "\\r)" },
	{ "a \"\xff\";", MAILSEC_ESYNTAX, "f:1:4: invalid UTF-8 in a string" },
	{ "a caf\xc3\xa9;", MAILSEC_ESYNTAX,
	  "f:1:6: non-ASCII byte outside quotes; quote the value (\"...\")" },
	{ "a \xc3\xa9;", MAILSEC_ESYNTAX,
	  "f:1:3: non-ASCII byte outside quotes; quote the value (\"...\")" },
	{ "a 'x';", MAILSEC_ESYNTAX,
	  "f:1:3: single quotes are not strings here; use \"...\"" },
	{ "a x\\y;", MAILSEC_ESYNTAX,
	  "f:1:4: '\\' outside a string; quote the value" },
	{ "a\x7f;", MAILSEC_ESYNTAX, "f:1:2: unexpected byte 0x7f" },
	{ "/* open", MAILSEC_ESYNTAX,
	  "f:1:1: unterminated comment (no '*/' after this '/*')" },
	{ "a [b c];", MAILSEC_ESYNTAX,
	  "f:1:6: 'a': expected ',' or ']' after a list item, found a word" },
	{ "a [[b]];", MAILSEC_ESYNTAX,
	  "f:1:4: 'a': expected a value or ']' in the list, found '[' "
	  "(lists hold plain values)" },
	{ "a [b;", MAILSEC_ESYNTAX,
	  "f:1:5: 'a': expected ',' or ']' after a list item, found ';'" },
	{ "a = b { }", MAILSEC_ESYNTAX,
	  "f:1:5: 'a': a section name goes before '=' (write: a \"name\" "
	  "{ ... })" },
	{ "a = b = { };", MAILSEC_ESYNTAX,
	  "f:1:7: missing ';' after the value of 'a' (found '=')" },
	{ "a b = c;", MAILSEC_ESYNTAX,
	  "f:1:7: 'a \"b\"': expected '{', found a word" },
	{ "a\n\n  b {", MAILSEC_ESYNTAX, "f:3:5: 'a': no '}' closes this '{'" },
	{ "x\0y;", MAILSEC_ESYNTAX, "f:1:2: unexpected byte 0x00" },
};

static void
test_parse_errors(void **state)
{
	struct conf_node *root;
	char err[256];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof syn_cases / sizeof syn_cases[0]; i++) {
		len = strlen(syn_cases[i].in);
		if (strcmp(syn_cases[i].in, "x") == 0)
			len = 4;	/* the embedded NUL case */
		root = (struct conf_node *)1;
		assert_int_equal(conf_parse(syn_cases[i].in, len, "f", &root,
		    err, sizeof err), syn_cases[i].err);
		assert_null(root);
		assert_string_equal(err, syn_cases[i].text);
	}
}

static void
test_parse_limits(void **state)
{
	struct conf_node *root;
	char err[256], *text;
	size_t i, n, total;

	(void)state;
	/* nesting: 17 x "s { ", then 17 x "} " */
	n = (CONF_MAX_DEPTH + 1) * 4;
	total = n + (CONF_MAX_DEPTH + 1) * 2;
	text = malloc(total);
	assert_non_null(text);
	for (i = 0; i <= CONF_MAX_DEPTH; i++)
		memcpy(text + i * 4, "s { ", 4);
	for (i = 0; i <= CONF_MAX_DEPTH; i++)
		memcpy(text + n + i * 2, "} ", 2);
	assert_int_equal(conf_parse(text, total, "f", &root, err, sizeof err),
	    MAILSEC_ELIMIT);
	assert_string_equal(err, "f:1:67: sections nested deeper than 16");
	/* one level less is fine */
	assert_int_equal(conf_parse(text + 4, total - 6, "f", &root, err,
	    sizeof err), MAILSEC_OK);
	conf_free(root);
	free(text);

	/* file size */
	text = malloc(CONF_MAX_FILE + 1);
	assert_non_null(text);
	memset(text, ' ', CONF_MAX_FILE + 1);
	assert_int_equal(conf_parse(text, CONF_MAX_FILE + 1, "f", &root, err,
	    sizeof err), MAILSEC_ELIMIT);
	assert_string_equal(err, "f:1:1: larger than 1048576 bytes");
	assert_int_equal(conf_parse(text, CONF_MAX_FILE, "f", &root, err,
	    sizeof err), MAILSEC_OK);
	conf_free(root);
	/* string length */
	memcpy(text, "a \"", 3);
	memset(text + 3, 'x', CONF_MAX_STRING + 1);
	memcpy(text + 3 + CONF_MAX_STRING + 1, "\";", 2);
	assert_int_equal(conf_parse(text, CONF_MAX_STRING + 6, "f", &root, err,
	    sizeof err), MAILSEC_ELIMIT);
	assert_string_equal(err, "f:1:3: string longer than 4096 bytes");
	memcpy(text, "a ", 2);
	memset(text + 2, 'x', CONF_MAX_STRING + 1);
	memcpy(text + 2 + CONF_MAX_STRING + 1, ";", 1);
	assert_int_equal(conf_parse(text, CONF_MAX_STRING + 4, "f", &root, err,
	    sizeof err), MAILSEC_ELIMIT);
	assert_string_equal(err, "f:1:3: word longer than 4096 bytes");
	/* tokens: "a 1;" is three, so this is 1.5 times the bound */
	n = CONF_MAX_TOKENS / 2 + 1;
	for (i = 0; i < n; i++)
		memcpy(text + i * 4, "a 1;", 4);
	assert_int_equal(conf_parse(text, n * 4, "f", &root, err, sizeof err),
	    MAILSEC_ELIMIT);
	/* list items */
	memcpy(text, "a [", 3);
	for (i = 0; i <= CONF_MAX_LIST; i++)
		memcpy(text + 3 + i * 2, "x,", 2);
	memcpy(text + 3 + i * 2, "];", 2);
	assert_int_equal(conf_parse(text, 5 + i * 2, "f", &root, err,
	    sizeof err), MAILSEC_ELIMIT);
	assert_string_equal(err, "f:1:2052: 'a': more than 1024 items in a "
	    "list");
	free(text);
}

static void
test_scalars(void **state)
{
	uint64_t v;
	bool b;

	(void)state;
	assert_true(conf_bool("yes", &b) && b);
	assert_true(conf_bool("ON", &b) && b);
	assert_true(conf_bool("true", &b) && b);
	assert_true(conf_bool("no", &b) && !b);
	assert_true(conf_bool("Off", &b) && !b);
	assert_true(conf_bool("false", &b) && !b);
	assert_false(conf_bool("1", &b));
	assert_false(conf_bool("", &b));
	assert_true(conf_uint("0", &v) && v == 0);
	assert_true(conf_uint("18446744073709551615", &v) && v == UINT64_MAX);
	assert_false(conf_uint("18446744073709551616", &v));
	assert_false(conf_uint("-1", &v));
	assert_false(conf_uint("1k", &v));
	assert_false(conf_uint("", &v));
	assert_true(conf_size("35m", &v) && v == 35u * 1024 * 1024);
	assert_true(conf_size("35MiB", &v) && v == 35u * 1024 * 1024);
	assert_true(conf_size("2k", &v) && v == 2048);
	assert_true(conf_size("1G", &v) && v == 1024u * 1024 * 1024);
	assert_true(conf_size("100", &v) && v == 100);
	assert_true(conf_size("100b", &v) && v == 100);
	assert_false(conf_size("1t", &v));
	assert_false(conf_size("m", &v));
	assert_false(conf_size("1.5m", &v));
	assert_false(conf_size("18446744073709551615k", &v));
	assert_true(conf_time("300", &v) && v == 300000);
	assert_true(conf_time("300s", &v) && v == 300000);
	assert_true(conf_time("5min", &v) && v == 300000);
	assert_true(conf_time("2h", &v) && v == 7200000);
	assert_true(conf_time("1d", &v) && v == 86400000);
	assert_true(conf_time("250ms", &v) && v == 250);
	assert_false(conf_time("5m", &v));
	assert_false(conf_time("5 s", &v));
	assert_false(conf_time("s", &v));
}

/* ---- defaults ----------------------------------------------------------- */

static void
test_defaults(void **state)
{
	struct gw_config c;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char host[256];
	size_t i;

	(void)state;
	assert_int_equal(gw_config_defaults(&c), MAILSEC_OK);
	assert_string_equal(c.source, "(defaults)");
	assert_string_equal(c.state_dir, "./var");
	assert_null(c.user);
	assert_null(c.group);
	assert_int_equal(c.workers, cpus > 0 ? (unsigned)cpus : 1);
	assert_int_equal(c.log, GW_LOG_STDERR);
	assert_int_equal(c.log_level, GW_LOG_INFO);
	for (i = 0; i < GW_LISTEN_COUNT; i++) {
		assert_true(c.listen[i].enabled);
		assert_int_equal(c.listen[i].address.n, 1);
		assert_string_equal(c.listen[i].address.v[0], "127.0.0.1");
	}
	assert_int_equal(c.listen[GW_LISTEN_MX].port, 2525);
	assert_true(c.listen[GW_LISTEN_MX].starttls);
	assert_false(c.listen[GW_LISTEN_MX].auth);
	assert_false(c.listen[GW_LISTEN_MX].implicit_tls);
	assert_int_equal(c.listen[GW_LISTEN_SUBMISSION].port, 2587);
	assert_true(c.listen[GW_LISTEN_SUBMISSION].starttls);
	assert_true(c.listen[GW_LISTEN_SUBMISSION].auth);
	assert_int_equal(c.listen[GW_LISTEN_SUBMISSIONS].port, 2465);
	assert_true(c.listen[GW_LISTEN_SUBMISSIONS].implicit_tls);
	assert_true(c.listen[GW_LISTEN_SUBMISSIONS].auth);
	assert_string_equal(c.tls.cert, "./var/tls/cert.pem");
	assert_string_equal(c.tls.key, "./var/tls/key.pem");
	assert_true(c.tls.generate);
	assert_int_equal(c.tls.min_version, GW_TLS_1_2);
	assert_null(c.tls.ciphers);
	assert_null(c.tls.ciphersuites);
	assert_int_equal(c.dns.mode, GW_DNS_EMBEDDED);
	assert_int_equal(c.dns.forwarders.n, 0);
	assert_null(c.dns.zone);
	assert_int_equal(c.dns.timeout_ms, 5000);
	assert_int_equal(c.local.domains.n, 1);
	assert_string_equal(c.local.domains.v[0], "localhost");
	assert_string_equal(c.local.maildir, "./var/mail");
	assert_int_equal(c.local.recipients, GW_RCPT_ANY);
	assert_int_equal(c.local.users.n, 0);
	assert_string_equal(c.auth.password_file, "./var/passwd");
	assert_int_equal(c.auth.throttle, 5);
	assert_true(c.auth.send_as_login);
	assert_int_equal(c.auth.nusers, 0);
	assert_true(c.dkim.generate);
	assert_int_equal(c.dkim.headers.n, 12);
	assert_string_equal(c.dkim.headers.v[0], "from");
	assert_int_equal(c.dkim.expire, 0);
	assert_int_equal(c.dkim.ndomains, 1);
	assert_string_equal(c.dkim.domains[0].domain, "localhost");
	assert_true(c.dkim.domains[0].derived);
	assert_int_equal(c.dkim.domains[0].nkeys, 1);
	assert_string_equal(c.dkim.domains[0].keys[0].selector, "mailsec");
	assert_string_equal(c.dkim.domains[0].keys[0].file,
	    "./var/dkim/mailsec.localhost.private");
	assert_int_equal(c.dkim.domains[0].keys[0].algorithm,
	    GW_DKIM_RSA_SHA256);
	assert_true(c.dkim.domains[0].keys[0].generate);
	/* authserv-id: the host name, or localhost */
	assert_int_equal(gethostname(host, sizeof host), 0);
	assert_non_null(c.policy.authserv_id);
	assert_true(strcmp(c.policy.authserv_id, "localhost") == 0 ||
	    strcasecmp(c.policy.authserv_id, host) == 0);
	assert_int_equal(c.policy.dmarc_mode, GW_DMARC_RFC9989);
	assert_int_equal(c.policy.dmarc_reject, GW_ACT_REJECT);
	assert_int_equal(c.policy.dmarc_quarantine, GW_ACT_QUARANTINE);
	assert_int_equal(c.policy.dmarc_none, GW_ACT_ACCEPT);
	assert_int_equal(c.policy.dmarc_temperror, GW_ACT_ACCEPT);
	assert_int_equal(c.policy.spf_fail, GW_ACT_ACCEPT);
	assert_int_equal(c.policy.quarantine, GW_QUARANTINE_MAILDIR);
	assert_string_equal(c.policy.quarantine_dir, "./var/quarantine");
	assert_int_equal(c.policy.trusted_forwarders.n, 0);
	assert_int_equal(c.policy.arc_sealers.n, 0);
	assert_int_equal(c.limits.message_size, 35 * 1024 * 1024);
	assert_int_equal(c.limits.recipients, 100);
	assert_int_equal(c.limits.line_length, 2048);
	assert_int_equal(c.limits.timeout_command, 300);
	assert_int_equal(c.limits.timeout_data, 180);
	assert_int_equal(c.limits.timeout_tls, 60);
	assert_int_equal(c.limits.connections, 1000);
	assert_int_equal(c.limits.connections_per_ip, 20);
	assert_int_equal(c.limits.auth_failures, 3);
	assert_int_equal(c.limits.errors, 10);
	gw_config_free(&c);
	gw_config_free(&c);	/* zeroed: freeing again is harmless */
	gw_config_free(NULL);
}

static void
test_empty_file_is_defaults(void **state)
{
	struct gw_config d, c;
	char err[GW_CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(gw_config_defaults(&d), MAILSEC_OK);
	assert_int_equal(load("# nothing\n", &c, err), MAILSEC_OK);
	assert_string_equal(c.source, "t.conf");
	assert_same_config(&d, &c);
}

/* The example file sets every option to its default. */
static void
test_example_file(void **state)
{
	struct gw_config d, c;
	char err[GW_CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(gw_config_load(MAILSEC_SOURCE_DIR
	    "/examples/mailsec.conf", &c, err, sizeof err), MAILSEC_OK);
	assert_string_equal(err, "");
	assert_int_equal(gw_config_defaults(&d), MAILSEC_OK);
	assert_same_config(&d, &c);
}

/* ---- every option ------------------------------------------------------- */

static const char full_conf[] =
    "state_dir /srv/mailsec;\n"
    "user mailsec;\n"
    "group mail;\n"
    "workers 3;\n"
    "log syslog;\n"
    "log_level debug;\n"
    "listen {\n"
    "  mx { enabled yes; address [0.0.0.0, \"::\"]; port 25;"
    " starttls no; }\n"
    "  submission { enabled no; address ::1; port 587; }\n"
    "  submissions = { address [192.0.2.1]; port 465; }\n"
    "}\n"
    "tls {\n"
    "  cert /etc/tls/chain.pem;\n"
    "  key = \"/etc/tls/key.pem\";\n"
    "  min_version 1.3;\n"
    "  ciphers \"ECDHE+AESGCM\";\n"
    "  ciphersuites TLS_AES_256_GCM_SHA384;\n"
    "}\n"
    "dns { forwarders [192.0.2.53, \"2001:db8::53@5353\"]; timeout 1500ms; }\n"
    "local {\n"
    "  domains [Example.ORG., \"b\xc3\xbc" "cher.example\"];\n"
    "  maildir /srv/mail;\n"
    "  recipients listed;\n"
    "  users [Alice, bob@EXAMPLE.org];\n"
    "}\n"
    "auth {\n"
    "  password_file /etc/mailsec/passwd;\n"
    "  throttle 10;\n"
    "  send_as_login off;\n"
    "  user \"alice\" { send_as [Alice@Example.org, \"@example.NET\"]; }\n"
    "  user bob { send_as bob@example.org; }\n"
    "}\n"
    "dkim {\n"
    "  generate no;\n"
    "  headers [From, Subject, Date];\n"
    "  expire 7d;\n"
    "  domain \"example.org\" {\n"
    "    key s1 { file /k/s1.pem; }\n"
    "    key \"e1\" { file /k/e1.key; algorithm ed25519-sha256;"
    " generate yes; }\n"
    "  }\n"
    "}\n"
    "policy {\n"
    "  authserv_id MX.example.org;\n"
    "  dmarc_mode rfc7489;\n"
    "  dmarc_reject quarantine;\n"
    "  dmarc_quarantine accept;\n"
    "  dmarc_none reject;\n"
    "  dmarc_temperror tempfail;\n"
    "  spf_fail reject;\n"
    "  quarantine header;\n"
    "  quarantine_dir /srv/q;\n"
    "  trusted_forwarders [lists.example.com];\n"
    "  arc_sealers [google.com, outlook.com];\n"
    "}\n"
    "limits {\n"
    "  message_size 10m;\n"
    "  recipients 50;\n"
    "  line_length 1000;\n"
    "  timeout_command 10min;\n"
    "  timeout_data 2min;\n"
    "  timeout_tls 20s;\n"
    "  connections 500;\n"
    "  connections_per_ip 5;\n"
    "  auth_failures 2;\n"
    "  errors 7;\n"
    "}\n"
    "delivery {\n"
    "  enabled no;\n"
    "  helo Out.Example.ORG;\n"
    "  port 2526;\n"
    "  threads 8;\n"
    "  per_destination 2;\n"
    "  lifetime 3d;\n"
    "  delay_warning 0;\n"
    "  bounce no;\n"
    "  connect_timeout 10s;\n"
    "  command_timeout 2min;\n"
    "  data_timeout 15min;\n"
    "  require_tls yes;\n"
    "  relay {\n"
    "    host smtp.example.net;\n"
    "    port 465;\n"
    "    implicit_tls yes;\n"
    "    user \"out@example.org\";\n"
    "    password_file \"/etc/mailsec/relay pw\";\n"
    "  }\n"
    "  tls { mta_sts no; dane no; tlsrpt no; ca_file /etc/ca.pem;"
    " https_port 8443; }\n"
    "}\n";

static void
check_full(const struct gw_config *c)
{
	assert_string_equal(c->state_dir, "/srv/mailsec");
	assert_string_equal(c->user, "mailsec");
	assert_string_equal(c->group, "mail");
	assert_int_equal(c->workers, 3);
	assert_int_equal(c->log, GW_LOG_SYSLOG);
	assert_int_equal(c->log_level, GW_LOG_DEBUG);
	assert_true(c->listen[GW_LISTEN_MX].enabled);
	assert_int_equal(c->listen[GW_LISTEN_MX].address.n, 2);
	assert_string_equal(c->listen[GW_LISTEN_MX].address.v[0], "0.0.0.0");
	assert_string_equal(c->listen[GW_LISTEN_MX].address.v[1], "::");
	assert_int_equal(c->listen[GW_LISTEN_MX].port, 25);
	assert_false(c->listen[GW_LISTEN_MX].starttls);
	assert_false(c->listen[GW_LISTEN_SUBMISSION].enabled);
	assert_string_equal(c->listen[GW_LISTEN_SUBMISSION].address.v[0],
	    "::1");
	assert_int_equal(c->listen[GW_LISTEN_SUBMISSION].port, 587);
	assert_true(c->listen[GW_LISTEN_SUBMISSIONS].enabled);
	assert_int_equal(c->listen[GW_LISTEN_SUBMISSIONS].port, 465);
	assert_string_equal(c->tls.cert, "/etc/tls/chain.pem");
	assert_string_equal(c->tls.key, "/etc/tls/key.pem");
	assert_false(c->tls.generate);
	assert_int_equal(c->tls.min_version, GW_TLS_1_3);
	assert_string_equal(c->tls.ciphers, "ECDHE+AESGCM");
	assert_string_equal(c->tls.ciphersuites, "TLS_AES_256_GCM_SHA384");
	assert_int_equal(c->dns.mode, GW_DNS_FORWARD);
	assert_int_equal(c->dns.forwarders.n, 2);
	assert_string_equal(c->dns.forwarders.v[1], "2001:db8::53@5353");
	assert_int_equal(c->dns.timeout_ms, 1500);
	assert_int_equal(c->local.domains.n, 2);
	assert_string_equal(c->local.domains.v[0], "example.org");
	assert_string_equal(c->local.domains.v[1], "xn--bcher-kva.example");
	assert_string_equal(c->local.maildir, "/srv/mail");
	assert_int_equal(c->local.recipients, GW_RCPT_LISTED);
	assert_string_equal(c->local.users.v[0], "alice");
	assert_string_equal(c->local.users.v[1], "bob@example.org");
	assert_string_equal(c->auth.password_file, "/etc/mailsec/passwd");
	assert_int_equal(c->auth.throttle, 10);
	assert_false(c->auth.send_as_login);
	assert_int_equal(c->auth.nusers, 2);
	assert_string_equal(c->auth.users[0].name, "alice");
	assert_int_equal(c->auth.users[0].send_as.n, 2);
	assert_string_equal(c->auth.users[0].send_as.v[0],
	    "alice@example.org");
	assert_string_equal(c->auth.users[0].send_as.v[1], "@example.net");
	assert_string_equal(c->auth.users[1].name, "bob");
	assert_string_equal(c->auth.users[1].send_as.v[0], "bob@example.org");
	assert_false(c->dkim.generate);
	assert_int_equal(c->dkim.headers.n, 3);
	assert_string_equal(c->dkim.headers.v[1], "subject");
	assert_int_equal(c->dkim.expire, 7 * 86400);
	assert_int_equal(c->dkim.ndomains, 1);	/* generate no: no derived */
	assert_string_equal(c->dkim.domains[0].domain, "example.org");
	assert_false(c->dkim.domains[0].derived);
	assert_int_equal(c->dkim.domains[0].nkeys, 2);
	assert_string_equal(c->dkim.domains[0].keys[0].selector, "s1");
	assert_string_equal(c->dkim.domains[0].keys[0].file, "/k/s1.pem");
	assert_int_equal(c->dkim.domains[0].keys[0].algorithm,
	    GW_DKIM_RSA_SHA256);
	assert_false(c->dkim.domains[0].keys[0].generate);
	assert_string_equal(c->dkim.domains[0].keys[1].selector, "e1");
	assert_int_equal(c->dkim.domains[0].keys[1].algorithm,
	    GW_DKIM_ED25519_SHA256);
	assert_true(c->dkim.domains[0].keys[1].generate);
	assert_string_equal(c->policy.authserv_id, "mx.example.org");
	assert_int_equal(c->policy.dmarc_mode, GW_DMARC_RFC7489);
	assert_int_equal(c->policy.dmarc_reject, GW_ACT_QUARANTINE);
	assert_int_equal(c->policy.dmarc_quarantine, GW_ACT_ACCEPT);
	assert_int_equal(c->policy.dmarc_none, GW_ACT_REJECT);
	assert_int_equal(c->policy.dmarc_temperror, GW_ACT_TEMPFAIL);
	assert_int_equal(c->policy.spf_fail, GW_ACT_REJECT);
	assert_int_equal(c->policy.quarantine, GW_QUARANTINE_HEADER);
	assert_string_equal(c->policy.quarantine_dir, "/srv/q");
	assert_string_equal(c->policy.trusted_forwarders.v[0],
	    "lists.example.com");
	assert_int_equal(c->policy.arc_sealers.n, 2);
	assert_int_equal(c->limits.message_size, 10 * 1024 * 1024);
	assert_int_equal(c->limits.recipients, 50);
	assert_int_equal(c->limits.line_length, 1000);
	assert_int_equal(c->limits.timeout_command, 600);
	assert_int_equal(c->limits.timeout_data, 120);
	assert_int_equal(c->limits.timeout_tls, 20);
	assert_int_equal(c->limits.connections, 500);
	assert_int_equal(c->limits.connections_per_ip, 5);
	assert_int_equal(c->limits.auth_failures, 2);
	assert_int_equal(c->limits.errors, 7);
	assert_false(c->delivery.enabled);
	assert_string_equal(c->delivery.helo, "out.example.org");
	assert_int_equal(c->delivery.port, 2526);
	assert_int_equal(c->delivery.threads, 8);
	assert_int_equal(c->delivery.per_destination, 2);
	assert_int_equal(c->delivery.lifetime, 3 * 86400);
	assert_int_equal(c->delivery.delay_warning, 0);
	assert_false(c->delivery.bounce);
	assert_int_equal(c->delivery.connect_timeout, 10);
	assert_int_equal(c->delivery.command_timeout, 120);
	assert_int_equal(c->delivery.data_timeout, 900);
	assert_true(c->delivery.require_tls);
	assert_string_equal(c->delivery.relay.host, "smtp.example.net");
	assert_int_equal(c->delivery.relay.port, 465);
	assert_true(c->delivery.relay.implicit_tls);
	assert_string_equal(c->delivery.relay.user, "out@example.org");
	assert_string_equal(c->delivery.relay.password_file,
	    "/etc/mailsec/relay pw");
	assert_false(c->delivery.tls.mta_sts);
	assert_false(c->delivery.tls.dane);
	assert_false(c->delivery.tls.tlsrpt);
	assert_string_equal(c->delivery.tls.ca_file, "/etc/ca.pem");
	assert_int_equal(c->delivery.tls.https_port, 8443);
}

/* The delivery defaults: on, port 25, 5 days, a delay DSN after 4 h. */
static void
test_delivery_defaults(void **state)
{
	struct gw_config c;
	char err[GW_CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(load("delivery { relay { host 192.0.2.25; } }\n", &c,
	    err), MAILSEC_OK);
	assert_true(c.delivery.enabled);
	assert_non_null(c.delivery.helo);
	assert_string_equal(c.delivery.helo, c.policy.authserv_id);
	assert_int_equal(c.delivery.port, 25);
	assert_int_equal(c.delivery.threads, 4);
	assert_int_equal(c.delivery.per_destination, 4);
	assert_int_equal(c.delivery.lifetime, 5 * 86400);
	assert_int_equal(c.delivery.delay_warning, 4 * 3600);
	assert_true(c.delivery.bounce);
	assert_int_equal(c.delivery.connect_timeout, 30);
	assert_int_equal(c.delivery.command_timeout, 300);
	assert_int_equal(c.delivery.data_timeout, 600);
	assert_false(c.delivery.require_tls);
	assert_string_equal(c.delivery.relay.host, "192.0.2.25");
	assert_int_equal(c.delivery.relay.port, 587);
	assert_false(c.delivery.relay.implicit_tls);
	assert_null(c.delivery.relay.user);
	assert_true(c.delivery.tls.mta_sts);
	assert_true(c.delivery.tls.dane);
	assert_true(c.delivery.tls.tlsrpt);
	assert_null(c.delivery.tls.ca_file);
	assert_int_equal(c.delivery.tls.https_port, 443);
	gw_config_free(&c);
}

static void
test_every_option(void **state)
{
	struct gw_config c;
	char err[GW_CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(load(full_conf, &c, err), MAILSEC_OK);
	check_full(&c);
	gw_config_free(&c);
}

/* dump -> load gives the same configuration, for the full file too. */
static void
test_dump_round_trip(void **state)
{
	struct gw_config c, c2;
	char err[GW_CONFIG_ERR_MAX], *a;

	(void)state;
	assert_int_equal(load(full_conf, &c, err), MAILSEC_OK);
	a = dump_body(&c);
	assert_int_equal(load(a, &c2, err), MAILSEC_OK);
	check_full(&c2);
	free(a);
	assert_same_config(&c, &c2);

	/* zone mode and derived DKIM keys for two local domains */
	assert_int_equal(load("dns { zone \"/tmp/my zone\"; }\n"
	    "local { domains [a.example, b.example]; }\n", &c, err),
	    MAILSEC_OK);
	assert_int_equal(c.dns.mode, GW_DNS_ZONE);
	assert_int_equal(c.dkim.ndomains, 2);
	assert_string_equal(c.dkim.domains[1].keys[0].file,
	    "./var/dkim/mailsec.b.example.private");
	a = dump_body(&c);
	assert_int_equal(load(a, &c2, err), MAILSEC_OK);
	assert_string_equal(c2.dns.zone, "/tmp/my zone");
	assert_int_equal(c2.dkim.ndomains, 2);
	assert_true(c2.dkim.domains[0].derived);
	free(a);
	assert_same_config(&c, &c2);
}

/* ---- every validation error --------------------------------------------- */

struct err_case {
	const char *in;
	const char *text;
};

static const struct err_case err_cases[] = {
	/* the brief's example */
	{ "\n\nlisten {\n mx {\n  port 70000;\n }\n}\n",
	  "t.conf:5: listen.mx.port: 70000 is not a port (1-65535)" },
	{ "listen { mx { port 0; } }",
	  "t.conf:1: listen.mx.port: 0 is not a port (1-65535)" },
	/* delivery */
	{ "delivery { lifetime 5m; }",
	  "t.conf:1: delivery.lifetime: '5m' is not a duration (a number "
	  "with ms, s, min, h or d: 300s); for minutes write min" },
	{ "delivery { lifetime 0; }",
	  "t.conf:1: delivery.lifetime: '0' is out of range (1s to 60d)" },
	{ "delivery { delay_warning 61d; }",
	  "t.conf:1: delivery.delay_warning: '61d' is out of range (0s to "
	  "60d)" },
	{ "delivery { threads 0; }",
	  "t.conf:1: delivery.threads: '0' is not a whole number from 1 to "
	  "256" },
	{ "delivery { helo \"a b\"; }",
	  "t.conf:1: delivery.helo: 'a b' is not a domain name (example: "
	  "example.org)" },
	{ "delivery { relay { host \"smtp host\"; } }",
	  "t.conf:1: delivery.relay.host: 'smtp host' is not a host name or "
	  "IP address (example: smtp.example.org)" },
	{ "delivery { relay { user \"a b\"; } }",
	  "t.conf:1: delivery.relay.user: 'a b' holds a space or a control "
	  "character" },
	{ "delivery {\nrelay { host h.example; user u; } }",
	  "t.conf:2: delivery.relay.user: set without "
	  "delivery.relay.password_file; set both for AUTH" },
	{ "delivery { relay {\npassword_file /p; } }",
	  "t.conf:2: delivery.relay.password_file: set without "
	  "delivery.relay.user; set both for AUTH" },
	{ "delivery { relay { user u;\npassword_file /p; } }",
	  "t.conf:1: delivery.relay.user: set without delivery.relay.host; "
	  "name the smarthost" },
	{ "delivery { tls { https_port 0; } }",
	  "t.conf:1: delivery.tls.https_port: '0' is not a whole number from "
	  "1 to 65535" },
	{ "delivery { relay { prot 25; } }",
	  "t.conf:1: delivery.relay.prot: unknown option; did you mean "
	  "'port'?" },
	{ "listen { submissions { port x; } }",
	  "t.conf:1: listen.submissions.port: x is not a port (1-65535)" },
	/* unknown options, suggestions */
	{ "listen { mx { prot 25; } }",
	  "t.conf:1: listen.mx.prot: unknown option; did you mean 'port'?" },
	{ "stat_dir /x;",
	  "t.conf:1: stat_dir: unknown option; did you mean 'state_dir'?" },
	{ "port 25;",
	  "t.conf:1: port: unknown option here; did you mean "
	  "'listen.mx.port'?" },
	{ "auth { colour x; }",
	  "t.conf:1: auth.colour: unknown option (see "
	  "docs/configuration.md)" },
	{ "auth { selector x; }",
	  "t.conf:1: auth.selector: unknown option here; did you mean "
	  "'arc.selector'?" },
	{ "dkim { domain \"a.example\" { key s { file f; algo rsa-sha256; }"
	  " } }",
	  "t.conf:1: dkim.domain[a.example].key[s].algo: unknown option; "
	  "did you mean 'algorithm'?" },
	{ "file x;",
	  "t.conf:1: file: unknown option here; did you mean "
	  "'dkim.domain[NAME].key[NAME].file'?" },
	{ "frobnicate yes;",
	  "t.conf:1: frobnicate: unknown option (see docs/configuration.md)" },
	/* shapes */
	{ "log_level\n[info];",
	  "t.conf:1: log_level: takes one value, not a list" },
	{ "workers [1];", "t.conf:1: workers: takes one value: auto or a "
	  "number" },
	{ "log { x y; }", "t.conf:1: log: takes a value, not a section: "
	  "write log VALUE;" },
	{ "tls yes;", "t.conf:1: tls: is a section: write tls { ... }" },
	{ "tls \"x\" { }",
	  "t.conf:1: tls: takes no name (write: tls { ... })" },
	{ "local { domains { a b; } }", "t.conf:1: local.domains: is a list, "
	  "not a section: write domains [a, b];" },
	{ "auth { user { } }", "t.conf:1: auth.user: needs a name: user "
	  "\"NAME\" { ... }" },
	{ "auth { user = a; }", "t.conf:1: auth.user: needs a name: user "
	  "\"NAME\" { ... }" },
	/* duplicates */
	{ "log stderr;\nlog syslog;",
	  "t.conf:2: log: set twice (first on line 1); keep one" },
	{ "listen { mx { } }\nlisten { }",
	  "t.conf:2: listen: set twice (first on line 1); keep one" },
	{ "local { domains [a.example, A.example.]; }",
	  "t.conf:1: local.domains: 'A.example.' is listed twice" },
	{ "auth { user a { }\nuser a { } }",
	  "t.conf:2: auth.user[a]: is configured twice; merge the two "
	  "sections" },
	{ "dkim { domain a.example { key s { file f; } }\n"
	  "domain A.EXAMPLE { key s { file f; } } }",
	  "t.conf:2: dkim.domain[A.EXAMPLE]: is configured twice; merge the "
	  "two sections" },
	{ "dkim { domain a.example { key s { file f; }\nkey S { file g; } } }",
	  "t.conf:2: dkim.domain[a.example].key[S]: is configured twice for "
	  "this domain" },
	/* values */
	{ "state_dir \"\";",
	  "t.conf:1: state_dir: '' is empty; give a file or directory name" },
	{ "state_dir \"a\\nb\";",
	  "t.conf:1: state_dir: 'a?b' holds a control character" },
	{ "user \"-x\";",
	  "t.conf:1: user: '-x' is not a user or group name (up to 32 "
	  "letters, digits, '.', '_' or '-', not starting with '-')" },
	{ "group \"a b\";",
	  "t.conf:1: group: 'a b' is not a user or group name (up to 32 "
	  "letters, digits, '.', '_' or '-', not starting with '-')" },
	{ "workers 0;",
	  "t.conf:1: workers: '0' is not auto or a number from 1 to 1024" },
	{ "workers many;",
	  "t.conf:1: workers: 'many' is not auto or a number from 1 to 1024" },
	{ "log file;", "t.conf:1: log: 'file' is not one of: stderr, syslog" },
	{ "log_level verbose;", "t.conf:1: log_level: 'verbose' is not one "
	  "of: error, warning, notice, info, debug" },
	{ "listen { mx { enabled maybe; } }",
	  "t.conf:1: listen.mx.enabled: 'maybe' is not yes or no (yes/no, "
	  "true/false, on/off)" },
	{ "listen { mx { address [localhost]; } }",
	  "t.conf:1: listen.mx.address: 'localhost' is not an IP address "
	  "(write 127.0.0.1 or ::1, or 0.0.0.0 or :: for every address)" },
	{ "listen { mx { address [127.0.0.1, 127.0.0.1]; } }",
	  "t.conf:1: listen.mx.address: '127.0.0.1' is listed twice" },
	{ "listen { submission { starttls no; } }",
	  "t.conf:1: listen.submission.starttls: unknown option here; did you "
	  "mean 'listen.mx.starttls'?" },
	{ "tls { min_version 1.1; }", "t.conf:1: tls.min_version: '1.1' is "
	  "not one of: 1.2, 1.3" },
	{ "tls { ciphers NOPE; }", "t.conf:1: tls.ciphers: 'NOPE' names no "
	  "cipher OpenSSL knows (see 'openssl ciphers -v'; example: "
	  "ECDHE+AESGCM:ECDHE+CHACHA20)" },
	{ "tls { ciphersuites TLS_NOPE; }", "t.conf:1: tls.ciphersuites: "
	  "'TLS_NOPE' is not a TLS 1.3 suite list (example: "
	  "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256)" },
	{ "dns { forwarders [dns.example]; }", "t.conf:1: dns.forwarders: "
	  "'dns.example' is not a server address: write IP or IP@PORT "
	  "(192.0.2.53, 2001:db8::53@5353); names are not allowed" },
	{ "dns { forwarders [\"192.0.2.1@70000\"]; }", "t.conf:1: "
	  "dns.forwarders: '192.0.2.1@70000' has a bad port after '@' "
	  "(1-65535)" },
	{ "dns { timeout 5m; }", "t.conf:1: dns.timeout: '5m' is not a "
	  "duration (a number with ms, s, min, h or d: 300s); for minutes "
	  "write min" },
	{ "dns { timeout 10ms; }", "t.conf:1: dns.timeout: '10ms' is out of "
	  "range (100ms to 1min)" },
	{ "dns { timeout 2min; }", "t.conf:1: dns.timeout: '2min' is out of "
	  "range (100ms to 1min)" },
	{ "local { domains [\"a..b\"]; }", "t.conf:1: local.domains: 'a..b' "
	  "is not a domain name (example: example.org)" },
	{ "local { recipients some; }", "t.conf:1: local.recipients: 'some' "
	  "is not one of: any, listed" },
	{ "local { users [\"../etc\"]; }", "t.conf:1: local.users: '../etc' "
	  "is not a mailbox name (write alice or alice@example.org; no "
	  "spaces, '/', control bytes or leading '.')" },
	{ "local { users [\"a/b@x.example\"]; }", "t.conf:1: local.users: "
	  "'a/b@x.example' has a local part that cannot be a mailbox name "
	  "(no spaces, '/', '\\', control bytes or leading '.')" },
	{ "local { users [\"@x.example\"]; }", "t.conf:1: local.users: "
	  "'@x.example' has no local part before '@'" },
	{ "auth { throttle 0; }", "t.conf:1: auth.throttle: '0' is not a "
	  "whole number from 1 to 100000" },
	{ "auth { user \"a:b\" { } }", "t.conf:1: auth.user[a:b]: is not a "
	  "login name (not empty, no ':')" },
	{ "auth { user a { send_as [bob]; } }", "t.conf:1: "
	  "auth.user[a].send_as: 'bob' is not an address: write "
	  "user@example.org, or @example.org for every address of the "
	  "domain" },
	{ "auth { user a { send_as [\"b@-x\"]; } }", "t.conf:1: "
	  "auth.user[a].send_as: 'b@-x' has no valid domain after '@'" },
	{ "dkim { headers [\"x y\"]; }", "t.conf:1: dkim.headers: 'x y' is "
	  "not a header field name (printable ASCII, no ':' or spaces; "
	  "example: subject)" },
	{ "dkim { headers [to, subject]; }", "t.conf:1: dkim.headers: must "
	  "include from (RFC 6376 5.4)" },
	{ "dkim { expire 1.5h; }", "t.conf:1: dkim.expire: '1.5h' is not a "
	  "duration (a number with ms, s, min, h or d: 300s)" },
	{ "dkim { expire 400d; }", "t.conf:1: dkim.expire: '400d' is out of "
	  "range (0s to 366d)" },
	{ "dkim { expire 1500ms; }", "t.conf:1: dkim.expire: '1500ms' is out "
	  "of range (0s to 366d, whole seconds)" },
	{ "dkim { domain \"-bad\" { } }", "t.conf:1: dkim.domain[-bad]: "
	  "'-bad' is not a domain name (example: example.org)" },
	{ "dkim { domain a.example { } }", "t.conf:1: dkim.domain[a.example]: "
	  "has no key; add key \"SELECTOR\" { file \"...\"; }" },
	{ "dkim { domain a.example { key \"s 1\" { file f; } } }",
	  "t.conf:1: dkim.domain[a.example].key[s 1]: 's 1' is not a "
	  "selector (DNS labels: s2024, mail.eu)" },
	{ "dkim { domain a.example {\n key s { algorithm rsa-sha256; } } }",
	  "t.conf:2: dkim.domain[a.example].key[s]: has no file; add file "
	  "\"/path/to/s.a.example.private\";" },
	{ "dkim { domain a.example { key s { file f; algorithm rsa-sha1; }"
	  " } }", "t.conf:1: dkim.domain[a.example].key[s].algorithm: "
	  "'rsa-sha1' is not one of: rsa-sha256, ed25519-sha256" },
	{ "policy { authserv_id \"a b\"; }", "t.conf:1: policy.authserv_id: "
	  "'a b' is not a domain name (example: example.org)" },
	{ "policy { dmarc_mode rfc9999; }", "t.conf:1: policy.dmarc_mode: "
	  "'rfc9999' is not one of: rfc9989, rfc7489" },
	{ "policy { dmarc_reject drop; }", "t.conf:1: policy.dmarc_reject: "
	  "'drop' is not one of: reject, quarantine, accept" },
	{ "policy { dmarc_temperror reject; }", "t.conf:1: "
	  "policy.dmarc_temperror: 'reject' is not one of: accept, tempfail" },
	{ "policy { spf_fail softfail; }", "t.conf:1: policy.spf_fail: "
	  "'softfail' is not one of: reject, quarantine, accept" },
	{ "policy { quarantine folder; }", "t.conf:1: policy.quarantine: "
	  "'folder' is not one of: maildir, header" },
	{ "policy { arc_sealers [\"x_y..\"]; }", "t.conf:1: "
	  "policy.arc_sealers: 'x_y..' is not a domain name (example: "
	  "example.org)" },
	{ "limits { message_size 35q; }", "t.conf:1: limits.message_size: "
	  "'35q' is not a size from 1k to 4g (bytes, or a number with k, m "
	  "or g: 35m)" },
	{ "limits { message_size 5g; }", "t.conf:1: limits.message_size: "
	  "'5g' is not a size from 1k to 4g (bytes, or a number with k, m or "
	  "g: 35m)" },
	{ "limits { recipients 0; }", "t.conf:1: limits.recipients: '0' is "
	  "not a whole number from 1 to 100000" },
	{ "limits { line_length 511; }", "t.conf:1: limits.line_length: "
	  "'511' is not a whole number from 512 to 65536" },
	{ "limits { timeout_command 0; }", "t.conf:1: "
	  "limits.timeout_command: '0' is out of range (1s to 1h)" },
	{ "limits { timeout_data 2h; }", "t.conf:1: limits.timeout_data: "
	  "'2h' is out of range (1s to 1h)" },
	{ "limits { timeout_tls 11min; }", "t.conf:1: limits.timeout_tls: "
	  "'11min' is out of range (1s to 10min)" },
	{ "limits { connections -1; }", "t.conf:1: limits.connections: '-1' "
	  "is not a whole number from 1 to 1000000" },
	{ "limits { connections_per_ip 1.5; }", "t.conf:1: "
	  "limits.connections_per_ip: '1.5' is not a whole number from 1 to "
	  "1000000" },
	{ "limits { auth_failures 1001; }", "t.conf:1: limits.auth_failures: "
	  "'1001' is not a whole number from 1 to 1000" },
	{ "limits { errors 0; }", "t.conf:1: limits.errors: '0' is not a "
	  "whole number from 1 to 100000" },
	/* across options */
	{ "tls {\n cert /c.pem;\n}", "t.conf:2: tls.cert: set without "
	  "tls.key; set both, or neither for a generated self-signed "
	  "certificate" },
	{ "tls { key /k.pem; }", "t.conf:1: tls.key: set without tls.cert; "
	  "set both, or neither for a generated self-signed certificate" },
	{ "dns {\n forwarders [192.0.2.1];\n zone z;\n}", "t.conf:3: "
	  "dns.zone: and dns.forwarders exclude each other; keep one" },
	{ "local {\n domains [];\n}", "t.conf:2: local.domains: is empty; "
	  "list at least one domain (localhost)" },
	{ "listen {\n submission {\n  port 2525;\n }\n}", "t.conf:3: "
	  "listen.submission.port: 2525 on 127.0.0.1 is already "
	  "listen.mx's; choose another port" },
	{ "listen { mx { address [0.0.0.0]; } submissions {\n port 2525; } }",
	  "t.conf:2: listen.submissions.port: 2525 on 127.0.0.1 is already "
	  "listen.mx's; choose another port" },
	{ "listen { mx { address []; } }", "t.conf:1: listen.mx.address: is "
	  "empty; give an address or set enabled no" },
	{ "listen { mx { enabled no; } submission { enabled no; }\n"
	  "submissions { enabled no; } }", "t.conf:1: listen: every listener "
	  "is disabled; enable at least one" },
	/* syntax errors come with a column */
	{ "listen {\n  mx { port 25 }\n}",
	  "t.conf:2:16: missing ';' after the value of 'port' (found '}')" },
};

static void
test_errors(void **state)
{
	struct gw_config c;
	char err[GW_CONFIG_ERR_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++) {
		memset(&c, 0x5a, sizeof c);
		if (load(err_cases[i].in, &c, err) == MAILSEC_OK)
			fail_msg("case %zu loaded: %s", i, err_cases[i].in);
		if (strcmp(err, err_cases[i].text) != 0)
			fail_msg("case %zu: %s\n got: %s\nwant: %s", i,
			    err_cases[i].in, err, err_cases[i].text);
		/* a failed load leaves cfg empty and freeable */
		assert_null(c.state_dir);
		gw_config_free(&c);
	}
}

/* Listeners on distinct addresses may share a port; v4 and v6 too. */
static void
test_listener_overlap_ok(void **state)
{
	struct gw_config c;
	char err[GW_CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(load("listen { mx { address [127.0.0.1]; port 25; }"
	    " submission { address [127.0.0.2]; port 25; }"
	    " submissions { address [\"::\"]; port 25; } }", &c, err),
	    MAILSEC_OK);
	gw_config_free(&c);
	/* a disabled listener does not conflict */
	assert_int_equal(load("listen { submission { enabled no; port 2525; }"
	    " }", &c, err), MAILSEC_OK);
	gw_config_free(&c);
}

static void
test_load_file_errors(void **state)
{
	struct gw_config c;
	char err[GW_CONFIG_ERR_MAX], path[] = "/tmp/gwconfXXXXXX";
	int fd;

	(void)state;
	assert_int_equal(gw_config_load("/nonexistent/mailsec.conf", &c, err,
	    sizeof err), MAILSEC_EIO);
	assert_string_equal(err, "/nonexistent/mailsec.conf: No such file or "
	    "directory");
	assert_int_equal(gw_config_load("/tmp", &c, err, sizeof err),
	    MAILSEC_EIO);
	assert_string_equal(err, "/tmp: not a regular file");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "limits {\n recipients 0;\n}\n", 26), 26);
	close(fd);
	assert_int_equal(gw_config_load(path, &c, err, sizeof err),
	    MAILSEC_ESYNTAX);
	assert_non_null(strstr(err, ":2: limits.recipients: '0' is not"));
	assert_memory_equal(err, path, strlen(path));
	unlink(path);
	/* a tiny error buffer is cut, never overrun */
	assert_int_equal(gw_config_load_mem("x 1;", 4, "t", &c, err, 8),
	    MAILSEC_ESYNTAX);
	assert_string_equal(err, "t:1: x:");
}

/* ---- questions ---------------------------------------------------------- */

static void
test_state_dir(void **state)
{
	struct gw_config c;
	char err[GW_CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(load("state_dir /s;\ntls { cert /c; key /k; }\n"
	    "auth { password_file /p; }\n", &c, err), MAILSEC_OK);
	assert_string_equal(c.local.maildir, "/s/mail");
	assert_string_equal(c.auth.password_file, "/p");
	assert_int_equal(gw_config_set_state_dir(&c, "/other/"), MAILSEC_OK);
	assert_string_equal(c.state_dir, "/other/");
	assert_string_equal(c.local.maildir, "/other/mail");
	assert_string_equal(c.policy.quarantine_dir, "/other/quarantine");
	assert_string_equal(c.dkim.domains[0].keys[0].file,
	    "/other/dkim/mailsec.localhost.private");
	assert_string_equal(c.tls.cert, "/c");	/* set by the file */
	assert_string_equal(c.auth.password_file, "/p");
	assert_int_equal(c.dkim.ndomains, 1);
	assert_int_equal(gw_config_set_state_dir(&c, ""), MAILSEC_EINVAL);
	gw_config_free(&c);
}

static void
test_questions(void **state)
{
	struct gw_config c;
	char err[GW_CONFIG_ERR_MAX], out[256];

	(void)state;
	assert_int_equal(load("local { domains [example.org, localhost];"
	    " maildir /m; }\n"
	    "auth { user alice { send_as [alice@example.org, "
	    "\"@example.net\"]; } }\n", &c, err), MAILSEC_OK);
	assert_true(gw_config_is_local(&c, "Example.ORG.", 12));
	assert_true(gw_config_is_local(&c, "localhost", 9));
	assert_false(gw_config_is_local(&c, "example.com", 11));
	assert_false(gw_config_is_local(&c, "", 0));

	assert_int_equal(gw_config_mailbox_path(&c, "Bob", 3, "EXAMPLE.org",
	    11, out, sizeof out), MAILSEC_OK);
	assert_string_equal(out, "/m/example.org/bob");
	assert_int_equal(gw_config_mailbox_path(&c, "..", 2, "example.org",
	    11, out, sizeof out), MAILSEC_EINVAL);
	assert_string_equal(out, "");
	assert_int_equal(gw_config_mailbox_path(&c, ".x", 2, "example.org",
	    11, out, sizeof out), MAILSEC_EINVAL);
	assert_int_equal(gw_config_mailbox_path(&c, "a/b", 3, "example.org",
	    11, out, sizeof out), MAILSEC_EINVAL);
	assert_int_equal(gw_config_mailbox_path(&c, "a\0b", 3, "example.org",
	    11, out, sizeof out), MAILSEC_EINVAL);
	assert_int_equal(gw_config_mailbox_path(&c, "", 0, "example.org",
	    11, out, sizeof out), MAILSEC_EINVAL);
	assert_int_equal(gw_config_mailbox_path(&c, "a", 1, "example.com",
	    11, out, sizeof out), MAILSEC_ENOTFOUND);
	assert_int_equal(gw_config_mailbox_path(&c, "a", 1, "../x", 4,
	    out, sizeof out), MAILSEC_ENOTFOUND);
	assert_int_equal(gw_config_mailbox_path(&c, "bob", 3, "example.org",
	    11, out, 18), MAILSEC_ELIMIT);
	assert_int_equal(gw_config_mailbox_path(&c, "bob", 3, "example.org",
	    11, out, 19), MAILSEC_OK);

	/* configured addresses and domains */
	assert_true(gw_config_sender_allowed(&c, "alice",
	    "alice@example.org", 17));
	assert_true(gw_config_sender_allowed(&c, "alice",
	    "ALICE@Example.Org.", 18));
	assert_true(gw_config_sender_allowed(&c, "alice", "x@example.net",
	    13));
	assert_false(gw_config_sender_allowed(&c, "alice", "bob@example.org",
	    15));
	assert_false(gw_config_sender_allowed(&c, "alice",
	    "x@sub.example.net", 17));
	assert_false(gw_config_sender_allowed(&c, "alice", "alice", 5));
	assert_false(gw_config_sender_allowed(&c, "alice", "", 0));
	/* unknown users: only their own address (send_as_login) */
	assert_false(gw_config_sender_allowed(&c, "bob", "bob@example.org",
	    15));
	assert_true(gw_config_sender_allowed(&c, "bob@example.org",
	    "Bob@example.org", 15));
	assert_false(gw_config_sender_allowed(&c, "bob@example.org",
	    "bob@example.net", 15));
	/* a NUL inside the address never matches */
	assert_false(gw_config_sender_allowed(&c, "bob@example.org",
	    "bob\0x@example.org", 17));
	assert_false(gw_config_sender_allowed(&c, NULL, "a@b", 3));
	gw_config_free(&c);

	assert_int_equal(load("auth { send_as_login no; }", &c, err),
	    MAILSEC_OK);
	assert_false(gw_config_sender_allowed(&c, "bob@example.org",
	    "bob@example.org", 15));
	gw_config_free(&c);

	assert_string_equal(gw_action_name(GW_ACT_REJECT), "reject");
	assert_string_equal(gw_action_name(GW_ACT_TEMPFAIL), "tempfail");
}

/* One gw_config_recipient() question: (user, ulen)@(domain, dlen), with
 * the password file or without, and its answer. */
struct rcpt_case {
	bool with_pw;
	const char *user;
	size_t ulen;
	const char *domain;	/* NULL: no domain */
	size_t dlen;
	enum gw_rcpt_verdict want;
};

#define RCPT(pw, u, d, want) { pw, u, sizeof(u) - 1, d, sizeof(d) - 1, want }
#define RCPT_NODOM(u, want) { false, u, sizeof(u) - 1, NULL, 0, want }

static const struct rcpt_case rcpt_any[] = {
	RCPT(false, "anyone", "LOCALHOST", GW_RCPT_OK),
	RCPT(false, "anyone", "example.org", GW_RCPT_NOT_LOCAL),
	RCPT(false, "../x", "localhost", GW_RCPT_BAD_MAILBOX),
	RCPT_NODOM("PostMaster", GW_RCPT_OK),
	RCPT_NODOM("alice", GW_RCPT_NOT_LOCAL),
};

static const struct rcpt_case rcpt_listed[] = {
	RCPT(true, "Alice", "example.net", GW_RCPT_OK),
	RCPT(true, "bob", "Example.org", GW_RCPT_OK),
	RCPT(true, "bob", "example.net", GW_RCPT_NO_SUCH_USER),
	RCPT(true, "carol", "example.net", GW_RCPT_OK),
	RCPT(true, "dave", "example.net", GW_RCPT_OK),
	RCPT(true, "dave", "example.org", GW_RCPT_NO_SUCH_USER),
	RCPT(false, "carol", "example.net", GW_RCPT_NO_SUCH_USER),
	RCPT(true, "postmaster", "example.org", GW_RCPT_OK),
	RCPT(true, "eve", "example.org", GW_RCPT_NO_SUCH_USER),
	RCPT(true, "al\0ice", "example.org", GW_RCPT_BAD_MAILBOX),
};

static void
check_rcpts(const struct gw_config *c, const struct gw_passwd *pw,
    const struct rcpt_case *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		print_message("recipient %zu: %s@%s\n", i, t[i].user,
		    t[i].domain != NULL ? t[i].domain : "(none)");
		assert_int_equal(gw_config_recipient(c, t[i].with_pw ? pw :
		    NULL, t[i].user, t[i].ulen, t[i].domain, t[i].dlen),
		    t[i].want);
	}
}

static void
test_recipients(void **state)
{
	struct gw_config c;
	struct gw_passwd *pw;
	char err[GW_CONFIG_ERR_MAX], text[512];
	static const char hash[] =
	    "$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA";

	(void)state;
	assert_int_equal(gw_config_defaults(&c), MAILSEC_OK);
	/* recipients any */
	check_rcpts(&c, NULL, rcpt_any, sizeof rcpt_any / sizeof rcpt_any[0]);
	gw_config_free(&c);

	/* recipients listed: users, logins, postmaster */
	assert_int_equal(load("local { domains [example.org, example.net];"
	    " recipients listed; users [alice, \"bob@example.org\"]; }",
	    &c, err), MAILSEC_OK);
	snprintf(text, sizeof text, "carol:%s\ndave@example.net:%s\n", hash,
	    hash);
	assert_int_equal(gw_passwd_parse(text, strlen(text), "pw", &pw, err,
	    sizeof err), MAILSEC_OK);
	check_rcpts(&c, pw, rcpt_listed,
	    sizeof rcpt_listed / sizeof rcpt_listed[0]);
	gw_passwd_free(pw);
	gw_config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_tree),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_file_is_defaults),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_dump_round_trip),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_listener_overlap_ok),
		cmocka_unit_test(test_load_file_errors),
		cmocka_unit_test(test_state_dir),
		cmocka_unit_test(test_questions),
		cmocka_unit_test(test_recipients),
		cmocka_unit_test(test_delivery_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
