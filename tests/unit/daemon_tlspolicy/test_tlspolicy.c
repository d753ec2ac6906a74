/*
 * tests/unit/daemon_tlspolicy/test_tlspolicy.c - the outbound TLS policy:
 * the MTA-STS parsers and MX matching (lib/record/mtasts.c), policies
 * looked up from zone text and fetched over HTTPS from a local server
 * (sts_server.py: a certificate made here, ca_file pointing at it), the
 * cache (id change, max_age, a failed refresh, persistence across
 * tlsp_new), DANE lookups from $SECURE / $BOGUS zone text and real
 * handshakes over a socketpair with matching and mismatching TLSA
 * records, the MTA-STS certificate checks, and TLS-RPT (counts, the log
 * surviving a restart, the gzip'd JSON report, the https rua POST).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include <mailsec/dns.h>
#include <mailsec/mtasts.h>

#include "tlspolicy.h"
#include "tlsp_test.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fixtures ----------------------------------------------------------- */

static char tmpdir[256];
static char certfile[300], keyfile[300], otherfile[300];
static EVP_PKEY *srv_key;
static X509 *srv_cert;
static unsigned char srv_spki_sha256[32];
static void
rm_rf(const char *path)
{
	char cmd[600];

	if (snprintf(cmd, sizeof cmd, "rm -rf '%s'", path) < (int)sizeof cmd &&
	    system(cmd) != 0)
		print_message("could not remove %s\n", path);
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* A self-signed certificate for the names (CA:TRUE, so it is its own
 * trust anchor) with a new P-256 key. */
static void
make_cert(const char *cn, const char *san, EVP_PKEY **keyp, X509 **certp)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	EVP_PKEY *key;
	X509 *crt;
	X509_NAME *nm;

	key = EVP_EC_gen("P-256");
	assert_non_null(key);
	crt = X509_new();
	assert_non_null(crt);
	assert_int_equal(X509_set_version(crt, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(crt), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(crt), -3600);
	X509_gmtime_adj(X509_getm_notAfter(crt), 86400L * 30);
	assert_int_equal(X509_set_pubkey(crt, key), 1);
	nm = X509_get_subject_name(crt);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	assert_int_equal(X509_set_issuer_name(crt, nm), 1);
	X509V3_set_ctx(&v3, crt, crt, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	assert_non_null(ext);
	X509_add_ext(crt, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    "critical,CA:TRUE");
	X509_add_ext(crt, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_key_identifier,
	    "hash");
	X509_add_ext(crt, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(crt, key, EVP_sha256()) > 0);
	*keyp = key;
	*certp = crt;
}

static void
write_pem(const char *path, EVP_PKEY *key, X509 *crt)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	if (key != NULL)
		assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0,
		    NULL, NULL), 1);
	if (crt != NULL)
		assert_int_equal(PEM_write_X509(f, crt), 1);
	assert_int_equal(fclose(f), 0);
}

static int
setup_all(void **state)
{
	EVP_PKEY *ok;
	X509 *oc;
	unsigned char *der = NULL;
	int n;

	(void)state;
	(void)snprintf(tmpdir, sizeof tmpdir, "/tmp/test-tlsp.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	(void)snprintf(certfile, sizeof certfile, "%s/cert.pem", tmpdir);
	(void)snprintf(keyfile, sizeof keyfile, "%s/key.pem", tmpdir);
	(void)snprintf(otherfile, sizeof otherfile, "%s/other.pem", tmpdir);
	make_cert("mta-sts.sts.test", "DNS:mta-sts.sts.test,DNS:mx.sts.test,"
	    "DNS:*.mx.sts.test,DNS:mta-sts.rpt.test", &srv_key, &srv_cert);
	write_pem(certfile, NULL, srv_cert);
	write_pem(keyfile, srv_key, NULL);
	/* another CA, trusted by nobody's server */
	make_cert("other", "DNS:other.test", &ok, &oc);
	write_pem(otherfile, NULL, oc);
	EVP_PKEY_free(ok);
	X509_free(oc);
	/* RFC 6698 2.1.2 selector 1: the DER SubjectPublicKeyInfo */
	n = i2d_PUBKEY(srv_key, &der);
	if (n <= 0)
		return -1;
	SHA256(der, (size_t)n, srv_spki_sha256);
	OPENSSL_free(der);
	return 0;
}

static int
teardown_all(void **state)
{
	(void)state;
	EVP_PKEY_free(srv_key);
	X509_free(srv_cert);
	rm_rf(tmpdir);
	return 0;
}

/* The HTTPS server: python3 sts_server.py serving root. */
struct server {
	pid_t pid;
	unsigned port;
	char root[300];
};

static void
server_start(struct server *s)
{
	char portfile[320], script[600], buf[16];
	int i, fd;
	ssize_t r;

	(void)snprintf(s->root, sizeof s->root, "%s/www", tmpdir);
	(void)snprintf(portfile, sizeof portfile, "%s/port", tmpdir);
	(void)snprintf(script, sizeof script,
	    "%s/tests/unit/daemon_tlspolicy/sts_server.py", MAILSEC_SOURCE_DIR);
	(void)unlink(portfile);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		execlp("python3", "python3", script, certfile, keyfile, s->root,
		    portfile, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		if ((fd = open(portfile, O_RDONLY)) != -1) {
			r = read(fd, buf, sizeof buf - 1);
			close(fd);
			assert_true(r > 0);
			buf[r] = '\0';
			s->port = (unsigned)strtoul(buf, NULL, 10);
			return;
		}
		usleep(50000);
	}
	fail_msg("the HTTPS test server did not start");
}

static void
server_stop(struct server *s)
{
	if (s->pid <= 0)
		return;
	(void)kill(s->pid, SIGTERM);
	(void)waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

static void
policy_file(const struct server *s, const char *text)
{
	char path[400];

	(void)snprintf(path, sizeof path, "%s/.well-known", s->root);
	(void)mkdir(s->root, 0700);
	(void)mkdir(path, 0700);
	(void)snprintf(path, sizeof path, "%s/.well-known/mta-sts.txt",
	    s->root);
	write_text(path, text);
}

static struct tlsp_ctx *
ctx_new(const char *cache, const char *ca, unsigned port)
{
	struct tlsp_cfg cfg;
	struct tlsp_ctx *t = NULL;

	memset(&cfg, 0, sizeof cfg);
	cfg.mta_sts = cfg.dane = cfg.tlsrpt = true;
	cfg.cache_dir = cache;
	cfg.ca_file = ca;
	cfg.https_port = (uint16_t)port;
	cfg.reporting_org = "Test Org";
	cfg.reporting_contact = "tlsrpt@sender.test";
	assert_int_equal(tlsp_new(&t, &cfg), MAILSEC_OK);
	tlsp_set_clock(t, test_clock, NULL);
	return t;
}

/* ---- the parsers -------------------------------------------------------- */

struct pol_case {
	const char *text;
	mailsec_err err;
	enum mailsec_mtasts_mode mode;
	uint32_t max_age;
	size_t nmx;
	const char *mx0;
};

static const struct pol_case pol_cases[] = {
	{ "version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\n"
	    "max_age: 86400\r\n", MAILSEC_OK, MAILSEC_MTASTS_ENFORCE, 86400,
	    1, "mail.example.org" },
	/* bare LF, no final line end, blanks around values, wildcard */
	{ "version: STSv1\nmode:testing\nmx:   *.Example.NET.  \nmx: a.b\n"
	    "max_age: 0", MAILSEC_OK, MAILSEC_MTASTS_TESTING, 0, 2,
	    "*.example.net" },
	/* mode none needs no mx */
	{ "version: STSv1\nmode: none\nmax_age: 31557600\n", MAILSEC_OK,
	    MAILSEC_MTASTS_NONE, 31557600, 0, NULL },
	/* unknown keys are ignored; empty lines skipped */
	{ "version: STSv1\n\nmode: enforce\nfoo_bar.x: anything at all\n"
	    "mx: m.example\nmax_age: 5\n", MAILSEC_OK, MAILSEC_MTASTS_ENFORCE,
	    5, 1, "m.example" },
	/* max_age bounds */
	{ "version: STSv1\nmode: enforce\nmx: m.example\nmax_age: 31557601\n",
	    MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: m.example\nmax_age: "
	    "00000000001\n", MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: m.example\nmax_age: -1\n",
	    MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: m.example\nmax_age: 1d\n",
	    MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	/* each required key missing */
	{ "mode: enforce\nmx: m.example\nmax_age: 5\n", MAILSEC_ESYNTAX, 0,
	    0, 0, NULL },
	{ "version: STSv1\nmx: m.example\nmax_age: 5\n", MAILSEC_ESYNTAX, 0,
	    0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: m.example\n", MAILSEC_ESYNTAX,
	    0, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmax_age: 5\n", MAILSEC_ESYNTAX, 0,
	    0, 0, NULL },
	/* bad values */
	{ "version: STSv2\nmode: enforce\nmx: m.example\nmax_age: 5\n",
	    MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	{ "version: stsv1\nmode: enforce\nmx: m.example\nmax_age: 5\n",
	    MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	{ "version: STSv1\nmode: Enforce\nmx: m.example\nmax_age: 5\n",
	    MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 5\n",
	    MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: m*.example\nmax_age: 5\n",
	    MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: *\nmax_age: 5\n",
	    MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	/* duplicates, keys case-sensitive, not key: value */
	{ "version: STSv1\nmode: enforce\nmode: testing\nmx: m.example\n"
	    "max_age: 5\n", MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	{ "Version: STSv1\nmode: enforce\nmx: m.example\nmax_age: 5\n",
	    MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	{ "version STSv1\nmode: enforce\nmx: m.example\nmax_age: 5\n",
	    MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	{ ": x\nversion: STSv1\nmode: enforce\nmx: m.example\nmax_age: 5\n",
	    MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	{ " version: STSv1\nmode: enforce\nmx: m.example\nmax_age: 5\n",
	    MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx: m.example\nmax_age: 5\nx: \x01"
	    "\n", MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	{ "version: STSv1\nmode: enforce\nmx:\nmax_age: 5\n",
	    MAILSEC_ESYNTAX, 0, 0, 0, NULL },
	{ "", MAILSEC_ESYNTAX, 0, 0, 0, NULL },
};

static void
test_policy_parse(void **state)
{
	struct mailsec_mtasts_policy *p;
	struct mailsec_diag d;
	const struct pol_case *c;
	mailsec_err err;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(pol_cases); i++) {
		c = &pol_cases[i];
		p = NULL;
		memset(&d, 0, sizeof d);
		err = mailsec_mtasts_policy_parse(c->text, strlen(c->text), &p,
		    &d);
		if (err != c->err)
			fail_msg("case %zu: %s (%s)", i, mailsec_errname(err),
			    d.text);
		if (err != MAILSEC_OK) {
			assert_null(p);
			assert_true(d.set);
			continue;
		}
		assert_string_equal(p->version, "STSv1");
		assert_int_equal(p->mode, c->mode);
		assert_int_equal(p->max_age, c->max_age);
		assert_int_equal(p->nmx, c->nmx);
		if (c->mx0 != NULL)
			assert_string_equal(p->mx[0], c->mx0);
		mailsec_mtasts_policy_free(p);
	}
}

static void
test_policy_limits(void **state)
{
	struct mailsec_mtasts_policy *p = NULL;
	char *big;
	size_t n = MAILSEC_MTASTS_POLICY_MAX + 1, off, i;

	(void)state;
	big = malloc(n);
	assert_non_null(big);
	memset(big, 'a', n);
	assert_int_equal(mailsec_mtasts_policy_parse(big, n, &p, NULL),
	    MAILSEC_ELIMIT);
	/* too many mx lines, within the size */
	off = (size_t)snprintf(big, n, "version: STSv1\nmode: enforce\n"
	    "max_age: 5\n");
	for (i = 0; i <= MAILSEC_MTASTS_POLICY_MX_MAX; i++)
		off += (size_t)snprintf(big + off, n - off, "mx: m%zu.e\n", i);
	assert_true(off < n);
	assert_int_equal(mailsec_mtasts_policy_parse(big, off, &p, NULL),
	    MAILSEC_ELIMIT);
	assert_null(p);
	free(big);
	mailsec_mtasts_policy_free(NULL);
}

static void
test_txt_parse(void **state)
{
	static const struct {
		const char *text;
		mailsec_err err;
		const char *id;
	} cases[] = {
		{ "v=STSv1; id=20160831085700Z;", MAILSEC_OK,
		    "20160831085700Z" },
		{ "v=STSv1;id=1", MAILSEC_OK, "1" },
		{ "v=STSv1; id=abc; ext.x=val", MAILSEC_OK, "abc" },
		{ "v=STSv1; id=12345678901234567890123456789012", MAILSEC_OK,
		    "12345678901234567890123456789012" },
		{ "v=STSv1; id=123456789012345678901234567890123",
		    MAILSEC_ESYNTAX, NULL },
		{ "v=STSv1; id=a-b", MAILSEC_ESYNTAX, NULL },
		{ "v=STSv1; id=", MAILSEC_ESYNTAX, NULL },
		{ "v=STSv1", MAILSEC_ESYNTAX, NULL },
		{ "id=1; v=STSv1", MAILSEC_ESYNTAX, NULL },
		{ "v=stsv1; id=1", MAILSEC_ESYNTAX, NULL },
		{ "v=STSv1; id=1; id=2", MAILSEC_ESYNTAX, NULL },
		{ "v=STSv1; id=1; v=STSv1", MAILSEC_ESYNTAX, NULL },
		{ "v=STSv1;; id=1", MAILSEC_ESYNTAX, NULL },
		{ "v=STSv1; id=1; x=a b", MAILSEC_ESYNTAX, NULL },
		{ "v=STSv1; id=1; -x=1", MAILSEC_ESYNTAX, NULL },
		{ "v=STSv1; id = 1", MAILSEC_ESYNTAX, NULL },
		{ "  v=STSv1 ;\tid=7 ; ", MAILSEC_OK, "7" },
		{ "", MAILSEC_ESYNTAX, NULL },
	};
	struct mailsec_mtasts_txt t;
	mailsec_err err;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		err = mailsec_mtasts_txt_parse(cases[i].text,
		    strlen(cases[i].text), &t, NULL);
		if (err != cases[i].err)
			fail_msg("'%s': %s", cases[i].text,
			    mailsec_errname(err));
		if (err == MAILSEC_OK)
			assert_string_equal(t.id, cases[i].id);
	}
}

static void
test_tlsrpt_txt_parse(void **state)
{
	char **rua = NULL;
	size_t n = 0;
	const char *rec;

	(void)state;
	rec = "v=TLSRPTv1; rua=mailto:r@example.org, https://r.example/x";
	assert_int_equal(mailsec_tlsrpt_txt_parse(rec, strlen(rec), &rua, &n,
	    NULL), MAILSEC_OK);
	assert_int_equal(n, 2);
	assert_string_equal(rua[0], "mailto:r@example.org");
	assert_string_equal(rua[1], "https://r.example/x");
	mailsec_tlsrpt_rua_free(rua, n);
	/* unknown schemes dropped; none left is an error */
	rec = "v=TLSRPTv1; rua=ftp://x,mailto:a@b.example";
	assert_int_equal(mailsec_tlsrpt_txt_parse(rec, strlen(rec), &rua, &n,
	    NULL), MAILSEC_OK);
	assert_int_equal(n, 1);
	mailsec_tlsrpt_rua_free(rua, n);
	rec = "v=TLSRPTv1; rua=ftp://x";
	assert_int_equal(mailsec_tlsrpt_txt_parse(rec, strlen(rec), &rua, &n,
	    NULL), MAILSEC_ESYNTAX);
	rec = "v=TLSRPTv1";
	assert_int_equal(mailsec_tlsrpt_txt_parse(rec, strlen(rec), &rua, &n,
	    NULL), MAILSEC_ESYNTAX);
	rec = "v=TLSRPTv2; rua=mailto:a@b.example";
	assert_int_equal(mailsec_tlsrpt_txt_parse(rec, strlen(rec), &rua, &n,
	    NULL), MAILSEC_ESYNTAX);
	assert_null(rua);
	assert_int_equal(n, 0);
}

static void
test_mx_match(void **state)
{
	static const struct {
		const char *pattern, *host;
		bool match;
	} cases[] = {
		{ "mail.example.com", "mail.example.com", true },
		{ "mail.example.com", "MAIL.Example.COM.", true },
		{ "mail.example.com.", "mail.example.com", true },
		{ "mail.example.com", "mail2.example.com", false },
		{ "mail.example.com", "a.mail.example.com", false },
		/* RFC 8461 4.1: "*." is exactly one leftmost label */
		{ "*.example.com", "mx1.example.com", true },
		{ "*.example.com", "MX1.EXAMPLE.COM", true },
		{ "*.example.com", "example.com", false },
		{ "*.example.com", "a.b.example.com", false },
		{ "*.example.com", ".example.com", false },
		{ "*.example.com", "mx1.example.co", false },
		{ "*.example.com", "mx1example.com", false },
		{ "*.mail.example.com", "mail.example.com", false },
		{ "*example.com", "mx.example.com", false },
		{ "", "", false },
	};
	struct tlsp_domain d;
	char *pats[] = { "mx1.dom.test", "*.pool.dom.test" };
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++)
		if (mailsec_mtasts_mx_match(cases[i].pattern, cases[i].host) !=
		    cases[i].match)
			fail_msg("'%s' vs '%s'", cases[i].pattern,
			    cases[i].host);
	memset(&d, 0, sizeof d);
	assert_true(tlsp_mx_allowed(&d, "anything.test"));
	d.sts = TLSP_STS_ENFORCE;
	d.mx_patterns = pats;
	d.nmx = NELEM(pats);
	assert_true(tlsp_mx_allowed(&d, "mx1.dom.test"));
	assert_true(tlsp_mx_allowed(&d, "a.pool.dom.test"));
	assert_false(tlsp_mx_allowed(&d, "a.b.pool.dom.test"));
	assert_false(tlsp_mx_allowed(&d, "mx2.dom.test"));
}

/* ---- MTA-STS lookups, fetch and cache ----------------------------------- */

static const char pol_enforce[] =
    "version: STSv1\r\nmode: enforce\r\nmx: mx.sts.test\r\n"
    "mx: *.mx.sts.test\r\nmax_age: 86400\r\n";
static const char pol_testing[] =
    "version: STSv1\r\nmode: testing\r\nmx: mx.sts.test\r\n"
    "max_age: 604800\r\n";

static struct mailsec_resolver *
sts_zone(const char *id)
{
	char text[1024];

	(void)snprintf(text, sizeof text,
	    "$ORIGIN test.\n"
	    "mta-sts.sts      A    127.0.0.1\n"
	    "_mta-sts.sts     TXT  \"v=STSv1; id=%s;\"\n"
	    "_mta-sts.sts     TXT  \"some other record\"\n"
	    "_smtp._tls.sts   TXT  \"v=TLSRPTv1; rua=mailto:tls@sts.test\"\n"
	    "nosts            MX   10 mx.nosts.test.\n"
	    "_mta-sts.two     TXT  \"v=STSv1; id=1\"\n"
	    "_mta-sts.two     TXT  \"v=STSv1; id=2\"\n"
	    "_mta-sts.badid   TXT  \"v=STSv1; id=no-dashes\"\n"
	    "$SERVFAIL _mta-sts.broken\n", id);
	return zone(text);
}

static void
expect_policy(struct tlsp_ctx *t, struct mailsec_resolver *r,
    const char *domain, enum tlsp_sts sts, const char *id, size_t nmx)
{
	struct tlsp_domain d;
	char err[320];

	assert_int_equal(tlsp_domain_policy(t, r, domain, &d, err,
	    sizeof err), MAILSEC_OK);
	if (d.sts != sts)
		fail_msg("%s: sts %d, want %d (%s)", domain, d.sts, sts, err);
	if (id != NULL) {
		assert_non_null(d.policy_id);
		assert_string_equal(d.policy_id, id);
	} else {
		assert_null(d.policy_id);
	}
	assert_int_equal(d.nmx, nmx);
	tlsp_domain_free(&d);
}

static void
test_sts_fetch_and_cache(void **state)
{
	struct server s = { 0 };
	struct mailsec_resolver *r;
	struct tlsp_ctx *t;
	struct tlsp_domain d;
	char cache[300], err[320], path[400];
	struct stat st;

	(void)state;
	(void)snprintf(cache, sizeof cache, "%s/cache-sts", tmpdir);
	server_start(&s);
	policy_file(&s, pol_enforce);
	clock_now = DAY0;
	t = ctx_new(cache, certfile, s.port);
	r = sts_zone("1");

	/* fetched: enforce, the patterns, the TXT id, the domain's rua */
	assert_int_equal(tlsp_domain_policy(t, r, "STS.test.", &d, err,
	    sizeof err), MAILSEC_OK);
	assert_int_equal(d.sts, TLSP_STS_ENFORCE);
	assert_string_equal(d.policy_id, "1");
	assert_int_equal(d.nmx, 2);
	assert_string_equal(d.mx_patterns[1], "*.mx.sts.test");
	assert_int_equal(d.max_age, 86400);
	assert_non_null(d.rua);
	assert_string_equal(d.rua, "mailto:tls@sts.test");
	assert_true(tlsp_mx_allowed(&d, "a.mx.sts.test"));
	assert_false(tlsp_mx_allowed(&d, "evil.test"));
	tlsp_domain_free(&d);
	(void)snprintf(path, sizeof path, "%s/mta-sts/sts.test", cache);
	assert_int_equal(stat(path, &st), 0);

	/* no TXT, two TXT, a bad id: no policy; a failing TXT lookup
	 * without a cached policy: none either */
	expect_policy(t, r, "nosts.test", TLSP_STS_NONE, NULL, 0);
	expect_policy(t, r, "two.test", TLSP_STS_NONE, NULL, 0);
	expect_policy(t, r, "badid.test", TLSP_STS_NONE, NULL, 0);
	expect_policy(t, r, "broken.test", TLSP_STS_NONE, NULL, 0);
	assert_int_equal(tlsp_domain_policy(t, r, "not a domain", &d, err,
	    sizeof err), MAILSEC_EINVAL);

	/* same id: the cache answers, the changed file is not fetched */
	policy_file(&s, pol_testing);
	expect_policy(t, r, "sts.test", TLSP_STS_ENFORCE, "1", 2);

	/* a new id: fetched again */
	mailsec_resolver_free(r);
	r = sts_zone("2");
	expect_policy(t, r, "sts.test", TLSP_STS_TESTING, "2", 1);

	/* a new id and the server gone: the unexpired policy stays
	 * (RFC 8461 5.1) and err says why the refresh failed */
	server_stop(&s);
	mailsec_resolver_free(r);
	r = sts_zone("3");
	assert_int_equal(tlsp_domain_policy(t, r, "sts.test", &d, err,
	    sizeof err), MAILSEC_OK);
	assert_int_equal(d.sts, TLSP_STS_TESTING);
	assert_string_equal(d.policy_id, "2");
	assert_true(err[0] != '\0');
	tlsp_domain_free(&d);

	/* a restart: the persisted policy holds while the server is down;
	 * with the TXT gone too, the cached policy still holds */
	tlsp_free(t);
	t = ctx_new(cache, certfile, s.port);
	expect_policy(t, r, "sts.test", TLSP_STS_TESTING, "2", 1);
	mailsec_resolver_free(r);
	r = zone("mta-sts.sts.test. A 127.0.0.1\n");
	expect_policy(t, r, "sts.test", TLSP_STS_TESTING, "2", 1);

	/* max_age (a week) passed: expired, and the refresh fails: none */
	mailsec_resolver_free(r);
	r = sts_zone("2");
	clock_now = DAY0 + 604800 + 1;
	expect_policy(t, r, "sts.test", TLSP_STS_NONE, NULL, 0);

	/* the server back: fetched again; mode none: no policy */
	server_start(&s);
	policy_file(&s, "version: STSv1\nmode: none\nmax_age: 86400\n");
	tlsp_free(t);
	t = ctx_new(cache, certfile, s.port);
	expect_policy(t, r, "sts.test", TLSP_STS_NONE, NULL, 0);

	/* a certificate the CA file does not vouch for: no policy */
	tlsp_free(t);
	(void)snprintf(cache, sizeof cache, "%s/cache-sts2", tmpdir);
	t = ctx_new(cache, otherfile, s.port);
	policy_file(&s, pol_enforce);
	assert_int_equal(tlsp_domain_policy(t, r, "sts.test", &d, err,
	    sizeof err), MAILSEC_OK);
	assert_int_equal(d.sts, TLSP_STS_NONE);
	assert_true(err[0] != '\0');
	tlsp_domain_free(&d);

	server_stop(&s);
	tlsp_free(t);
	mailsec_resolver_free(r);
	clock_now = DAY0 + 3600;
}

/* mta_sts off: nothing looked up */
static void
test_sts_off(void **state)
{
	struct tlsp_cfg cfg;
	struct tlsp_ctx *t = NULL;
	struct mailsec_resolver *r;
	struct tlsp_domain d;

	(void)state;
	memset(&cfg, 0, sizeof cfg);
	assert_int_equal(tlsp_new(&t, &cfg), MAILSEC_OK);
	r = sts_zone("1");
	assert_int_equal(tlsp_domain_policy(t, r, "sts.test", &d, NULL, 0),
	    MAILSEC_OK);
	assert_int_equal(d.sts, TLSP_STS_NONE);
	assert_null(d.rua);
	assert_int_equal(mailsec_resolver_query_count(r), 0);
	tlsp_domain_free(&d);
	tlsp_domain_free(NULL);
	mailsec_resolver_free(r);
	tlsp_free(t);
	tlsp_free(NULL);
}

/* ---- DANE --------------------------------------------------------------- */

static void
hex(const unsigned char *p, size_t n, char *out)
{
	static const char h[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = h[p[i] >> 4];
		out[2 * i + 1] = h[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static struct mailsec_resolver *
dane_zone(void)
{
	char text[2048], good[65], bad[65];
	unsigned char other[32];

	hex(srv_spki_sha256, 32, good);
	memcpy(other, srv_spki_sha256, 32);
	other[0] ^= 0xff;
	hex(other, 32, bad);
	(void)snprintf(text, sizeof text,
	    "$ORIGIN test.\n"
	    "insecure.dane          A    192.0.2.1\n"
	    "_25._tcp.insecure.dane TLSA 3 1 1 %s\n"
	    "$SECURE on\n"
	    "good.dane              A    192.0.2.2\n"
	    "_25._tcp.good.dane     TLSA 3 1 1 %s\n"
	    "_25._tcp.good.dane     TLSA 0 0 1 %s\n"
	    "bad.dane               A    192.0.2.3\n"
	    "_25._tcp.bad.dane      TLSA 3 1 1 %s\n"
	    "pkix.dane              A    192.0.2.4\n"
	    "_25._tcp.pkix.dane     TLSA 1 1 1 %s\n"
	    "_25._tcp.pkix.dane     TLSA 3 1 1 0011\n"
	    "_25._tcp.pkix.dane     TLSA 3 2 1 %s\n"
	    "none.dane              A    192.0.2.5\n"
	    "_587._tcp.good.dane    TLSA 2 0 2 %s%s\n"
	    "$BOGUS _25._tcp.bogus.dane TLSA\n"
	    "bogus.dane             A    192.0.2.6\n"
	    "$SERVFAIL _25._tcp.fail.dane\n"
	    "fail.dane              A    192.0.2.7\n",
	    good, good, good, bad, good, good, good, good);
	return zone(text);
}

static void
test_dane_lookup(void **state)
{
	static const struct {
		const char *host;
		uint16_t port;
		mailsec_err err;
		bool secure, usable, bogus;
		size_t n;
	} cases[] = {
		{ "good.dane.test", 25, MAILSEC_OK, true, true, false, 2 },
		{ "GOOD.dane.test.", 0, MAILSEC_OK, true, true, false, 2 },
		{ "bad.dane.test", 25, MAILSEC_OK, true, true, false, 1 },
		/* not secure: no DANE at all */
		{ "insecure.dane.test", 25, MAILSEC_OK, false, false, false,
		    0 },
		/* PKIX usages, a short digest, selector 2: none usable, but
		 * a secure RRset still means TLS (RFC 7672 2.2) */
		{ "pkix.dane.test", 25, MAILSEC_OK, true, false, false, 3 },
		/* a secure denial: no DANE */
		{ "none.dane.test", 25, MAILSEC_OK, false, false, false, 0 },
		{ "good.dane.test", 587, MAILSEC_OK, true, true, false, 1 },
		{ "bogus.dane.test", 25, MAILSEC_OK, false, false, true, 0 },
		{ "fail.dane.test", 25, MAILSEC_EDNS, false, false, false, 0 },
	};
	struct mailsec_resolver *r = dane_zone();
	struct tlsp_ctx *t = ctx_new(NULL, NULL, 0);
	struct tlsp_dane dn;
	mailsec_err err;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		err = tlsp_dane_lookup(t, r, cases[i].host, cases[i].port,
		    &dn);
		if (err != cases[i].err || dn.secure != cases[i].secure ||
		    dn.usable != cases[i].usable ||
		    dn.bogus != cases[i].bogus || dn.n != cases[i].n)
			fail_msg("%s:%u: %s secure=%d usable=%d bogus=%d "
			    "n=%zu", cases[i].host, cases[i].port,
			    mailsec_errname(err), dn.secure, dn.usable,
			    dn.bogus, dn.n);
		tlsp_dane_free(&dn);
	}
	assert_int_equal(tlsp_dane_lookup(t, r, "bad name", 25, &dn),
	    MAILSEC_EINVAL);
	tlsp_dane_free(NULL);
	tlsp_free(t);
	mailsec_resolver_free(r);
}

/* ---- handshakes --------------------------------------------------------- */

struct srv_arg {
	SSL_CTX *ctx;
	int fd;
};

static void *
server_thread(void *p)
{
	struct srv_arg *a = p;
	SSL *ssl = SSL_new(a->ctx);

	if (ssl != NULL) {
		SSL_set_fd(ssl, a->fd);
		(void)SSL_accept(ssl);
		SSL_free(ssl);
	}
	close(a->fd);
	return NULL;
}

/*
 * One handshake against the test certificate over a socketpair, the
 * client prepared for mx_host under (d, dane). Returns what
 * tlsp_ssl_check() says; *rt and err its words.
 */
static mailsec_err
handshake(struct tlsp_ctx *t, const char *mx_host,
    const struct tlsp_domain *d, const struct tlsp_dane *dane, bool *up,
    const char **rt, char *err, size_t errlen)
{
	SSL_CTX *sctx, *cctx;
	struct srv_arg a;
	pthread_t th;
	SSL *ssl;
	int sv[2];
	mailsec_err e;

	sctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(sctx);
	assert_int_equal(SSL_CTX_use_certificate(sctx, srv_cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(sctx, srv_key), 1);
	cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(cctx);
	assert_int_equal(tlsp_ssl_ctx_init(cctx), MAILSEC_OK);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	a.ctx = sctx;
	a.fd = sv[1];
	assert_int_equal(pthread_create(&th, NULL, server_thread, &a), 0);
	ssl = SSL_new(cctx);
	assert_non_null(ssl);
	assert_int_equal(tlsp_ssl_prepare(t, ssl, mx_host, d, dane),
	    MAILSEC_OK);
	SSL_set_fd(ssl, sv[0]);
	*up = SSL_connect(ssl) == 1;
	e = tlsp_ssl_check(ssl, d, dane, rt, err, errlen);
	SSL_free(ssl);
	close(sv[0]);
	pthread_join(th, NULL);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	return e;
}

static void
test_dane_handshake(void **state)
{
	struct mailsec_resolver *r = dane_zone();
	struct tlsp_ctx *t = ctx_new(NULL, NULL, 0);
	struct tlsp_dane dn;
	const char *rt;
	char err[256];
	bool up;
	SSL_CTX *plain;
	SSL *ssl;

	(void)state;
	/* the matching 3 1 1: verified, whatever the name */
	assert_int_equal(tlsp_dane_lookup(t, r, "good.dane.test", 25, &dn),
	    MAILSEC_OK);
	assert_true(dn.usable);
	assert_int_equal(handshake(t, "good.dane.test", NULL, &dn, &up, &rt,
	    err, sizeof err), MAILSEC_OK);
	assert_true(up);
	assert_null(rt);
	tlsp_dane_free(&dn);

	/* a mismatching 3 1 1: the handshake stops, the check says why */
	assert_int_equal(tlsp_dane_lookup(t, r, "bad.dane.test", 25, &dn),
	    MAILSEC_OK);
	assert_true(dn.usable);
	assert_int_equal(handshake(t, "bad.dane.test", NULL, &dn, &up, &rt,
	    err, sizeof err), MAILSEC_EIO);
	assert_false(up);
	assert_non_null(rt);
	if (strcmp(rt, "tlsa-invalid") != 0)
		fail_msg("result type %s (%s)", rt, err);
	assert_non_null(strstr(err, "no TLSA record matched"));
	tlsp_dane_free(&dn);

	/* a secure RRset without a usable record: TLS without
	 * authentication (the caller makes it mandatory), no TLSA check */
	assert_int_equal(tlsp_dane_lookup(t, r, "pkix.dane.test", 25, &dn),
	    MAILSEC_OK);
	assert_true(dn.secure);
	assert_false(dn.usable);
	assert_int_equal(handshake(t, "pkix.dane.test", NULL, &dn, &up, &rt,
	    err, sizeof err), MAILSEC_OK);
	assert_true(up);
	assert_null(rt);
	tlsp_dane_free(&dn);

	/* DANE on an SSL_CTX that skipped tlsp_ssl_ctx_init: refused */
	assert_int_equal(tlsp_dane_lookup(t, r, "good.dane.test", 25, &dn),
	    MAILSEC_OK);
	plain = SSL_CTX_new(TLS_client_method());
	ssl = SSL_new(plain);
	assert_int_equal(tlsp_ssl_prepare(t, ssl, "good.dane.test", NULL, &dn),
	    MAILSEC_EINVAL);
	SSL_free(ssl);
	SSL_CTX_free(plain);
	tlsp_dane_free(&dn);
	tlsp_free(t);
	mailsec_resolver_free(r);
}

static void
test_sts_handshake(void **state)
{
	struct tlsp_ctx *t = ctx_new(NULL, certfile, 0), *u;
	struct tlsp_domain d;
	char *pats[] = { "mx.sts.test" };
	const char *rt;
	char err[256];
	bool up;

	(void)state;
	memset(&d, 0, sizeof d);
	d.mx_patterns = pats;
	d.nmx = 1;

	/* no policy: anything goes */
	assert_int_equal(handshake(t, "whatever.test", &d, NULL, &up, &rt,
	    err, sizeof err), MAILSEC_OK);
	assert_true(up);

	/* enforce: trusted chain and the MX name */
	d.sts = TLSP_STS_ENFORCE;
	assert_int_equal(handshake(t, "mx.sts.test", &d, NULL, &up, &rt, err,
	    sizeof err), MAILSEC_OK);
	assert_true(up);
	assert_int_equal(handshake(t, "a.mx.sts.test", &d, NULL, &up, &rt,
	    err, sizeof err), MAILSEC_OK);
	/* another name: the handshake stops, host mismatch */
	assert_int_equal(handshake(t, "mail.other.test", &d, NULL, &up, &rt,
	    err, sizeof err), MAILSEC_EIO);
	assert_false(up);
	if (strcmp(rt, "certificate-host-mismatch") != 0)
		fail_msg("%s: %s", rt, err);
	assert_non_null(strstr(err, "certificate verify failed"));
	/* "*." covers one label only */
	assert_int_equal(handshake(t, "a.b.mx.sts.test", &d, NULL, &up, &rt,
	    err, sizeof err), MAILSEC_EIO);
	assert_string_equal(rt, "certificate-host-mismatch");

	/* testing: the handshake goes on, the check still reports */
	d.sts = TLSP_STS_TESTING;
	assert_int_equal(handshake(t, "mail.other.test", &d, NULL, &up, &rt,
	    err, sizeof err), MAILSEC_EIO);
	assert_true(up);
	assert_string_equal(rt, "certificate-host-mismatch");

	/* trust anchors that do not include the server's CA */
	u = ctx_new(NULL, otherfile, 0);
	d.sts = TLSP_STS_ENFORCE;
	assert_int_equal(handshake(u, "mx.sts.test", &d, NULL, &up, &rt, err,
	    sizeof err), MAILSEC_EIO);
	assert_false(up);
	assert_string_equal(rt, "certificate-not-trusted");
	tlsp_free(u);
	tlsp_free(t);
}

/* ---- TLS-RPT ------------------------------------------------------------ */

struct sent {
	int calls;
	char domain[64], rua[128], fname[512];
	unsigned char *gz;
	size_t len;
};

static mailsec_err
capture(void *arg, const char *domain, const char *rua, const char *fname,
    const void *gz, size_t len)
{
	struct sent *s = arg;

	s->calls++;
	(void)snprintf(s->domain, sizeof s->domain, "%s", domain);
	(void)snprintf(s->rua, sizeof s->rua, "%s", rua);
	(void)snprintf(s->fname, sizeof s->fname, "%s", fname);
	free(s->gz);
	s->gz = malloc(len);
	assert_non_null(s->gz);
	memcpy(s->gz, gz, len);
	s->len = len;
	return MAILSEC_OK;
}

static void
gunzip(const unsigned char *p, size_t n, char *out, size_t outsz)
{
	z_stream zs;

	memset(&zs, 0, sizeof zs);
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)n;
	zs.next_out = (Bytef *)out;
	zs.avail_out = (uInt)(outsz - 1);
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	out[zs.total_out] = '\0';
	inflateEnd(&zs);
}

static const char rpt_zone_text[] =
    "$ORIGIN test.\n"
    "_smtp._tls.rpt      TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@rpt.test\"\n"
    "mta-sts.rpt         A   127.0.0.1\n"
    "_smtp._tls.norua    TXT \"v=spf1 -all\"\n";

static void
record_day(struct tlsp_ctx *t)
{
	char *pats[] = { "mx1.rpt.test", "*.mx.rpt.test" };
	unsigned char data[32];
	struct tlsp_tlsa x;
	struct tlsp_domain d;
	struct tlsp_dane dn;
	int i;

	memset(&d, 0, sizeof d);
	d.sts = TLSP_STS_ENFORCE;
	d.mx_patterns = pats;
	d.nmx = 2;
	d.max_age = 86400;
	for (i = 0; i < 3; i++)
		tlsp_report_result(t, "rpt.test", &d, NULL, "mx1.rpt.test",
		    "192.0.2.9", true, NULL);
	for (i = 0; i < 2; i++)
		tlsp_report_result(t, "RPT.test.", &d, NULL, "mx1.rpt.test",
		    "192.0.2.9", false, "certificate-host-mismatch");
	memset(data, 0xab, sizeof data);
	x.usage = 3;
	x.selector = 1;
	x.mtype = 1;
	x.data = data;
	x.len = sizeof data;
	memset(&dn, 0, sizeof dn);
	dn.usable = true;
	dn.tlsa = &x;
	dn.n = 1;
	tlsp_report_result(t, "rpt.test", NULL, &dn, "mx2.rpt.test",
	    "192.0.2.10", false, "tlsa-invalid");
	tlsp_report_result(t, "rpt.test", NULL, NULL, "mx3.rpt.test",
	    "192.0.2.11", true, NULL);
	/* a domain without a TLS-RPT record: nothing to send */
	tlsp_report_result(t, "norua.test", NULL, NULL, "mx.norua.test",
	    "192.0.2.12", true, NULL);
}

static void
test_tlsrpt(void **state)
{
	struct mailsec_resolver *r = zone(rpt_zone_text);
	struct sent s = { 0 };
	struct tlsp_ctx *t;
	char cache[300], path[400], json[65536];
	const char *out;
	struct stat st;
	FILE *f;

	(void)state;
	(void)snprintf(cache, sizeof cache, "%s/cache-rpt", tmpdir);
	clock_now = DAY0 + 3600;
	t = ctx_new(cache, NULL, 0);
	record_day(t);
	(void)snprintf(path, sizeof path, "%s/tlsrpt/%lld.log", cache,
	    DAY0 / 86400);
	assert_int_equal(stat(path, &st), 0);

	/* the day is not over: nothing yet */
	assert_int_equal(tlsp_reports_run(t, r, DAY0 + 7200, capture, &s),
	    MAILSEC_OK);
	assert_int_equal(s.calls, 0);

	/* a restart keeps the day's results */
	tlsp_free(t);
	t = ctx_new(cache, NULL, 0);
	assert_int_equal(tlsp_reports_run(t, r, DAY0 + 86400 + 60, capture,
	    &s), MAILSEC_OK);
	assert_int_equal(s.calls, 1);
	assert_string_equal(s.domain, "rpt.test");
	assert_string_equal(s.rua, "mailto:tlsrpt@rpt.test");
	/* RFC 8460 5.3: sender!policy-domain!begin!end!id.json.gz */
	if (strncmp(s.fname, "sender.test!rpt.test!1709251200!1709337599!",
	    43) != 0 || strstr(s.fname, ".json.gz") == NULL)
		fail_msg("file name %s", s.fname);
	gunzip(s.gz, s.len, json, sizeof json);
	assert_non_null(strstr(json, "\"organization-name\":\"Test Org\""));
	assert_non_null(strstr(json, "\"policy-type\":\"sts\""));
	/* for the Python check (check_tlsrpt.py) */
	out = getenv("TLSP_REPORT_OUT");
	if (out != NULL && out[0] != '\0') {
		f = fopen(out, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(s.gz, 1, s.len, f), s.len);
		assert_int_equal(fclose(f), 0);
	}

	/* sent: not again, and the log is gone, also after a restart */
	assert_int_equal(tlsp_reports_run(t, r, DAY0 + 86400 + 120, capture,
	    &s), MAILSEC_OK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(stat(path, &st), -1);
	tlsp_free(t);
	t = ctx_new(cache, NULL, 0);
	assert_int_equal(tlsp_reports_run(t, r, DAY0 + 86400 + 180, capture,
	    &s), MAILSEC_OK);
	assert_int_equal(s.calls, 1);
	tlsp_free(t);
	free(s.gz);
	mailsec_resolver_free(r);
}

/* A restart between the send of one domain's report and another's
 * keeps the "sent" mark: replayed from the log's S line. */
static void
test_tlsrpt_sent_mark_survives(void **state)
{
	struct mailsec_resolver *r;
	struct sent s = { 0 };
	struct tlsp_ctx *t;
	char cache[300];

	(void)state;
	(void)snprintf(cache, sizeof cache, "%s/cache-rpt2", tmpdir);
	clock_now = DAY0 + 3600;
	t = ctx_new(cache, NULL, 0);
	record_day(t);
	/* the rua lookup fails for norua.test: its day stays open */
	r = zone("$ORIGIN test.\n"
	    "_smtp._tls.rpt TXT \"v=TLSRPTv1; rua=mailto:a@rpt.test\"\n"
	    "$SERVFAIL _smtp._tls.norua\n");
	assert_int_equal(tlsp_reports_run(t, r, DAY0 + 86400 + 60, capture,
	    &s), MAILSEC_OK);
	assert_int_equal(s.calls, 1);
	tlsp_free(t);
	t = ctx_new(cache, NULL, 0);
	mailsec_resolver_free(r);
	r = zone(rpt_zone_text);
	assert_int_equal(tlsp_reports_run(t, r, DAY0 + 86400 + 120, capture,
	    &s), MAILSEC_OK);
	/* rpt.test not again; norua.test has nobody to send to */
	assert_int_equal(s.calls, 1);
	tlsp_free(t);
	free(s.gz);
	mailsec_resolver_free(r);
}

/* send NULL: an https rua is POSTed as application/tlsrpt+gzip. */
static void
test_tlsrpt_https_post(void **state)
{
	struct server s = { 0 };
	struct mailsec_resolver *r;
	struct tlsp_ctx *t;
	char cache[300], path[400], text[512], ct[128], json[65536];
	unsigned char gz[65536];
	size_t n;
	FILE *f;

	(void)state;
	(void)snprintf(cache, sizeof cache, "%s/cache-rpt3", tmpdir);
	server_start(&s);
	policy_file(&s, pol_enforce);
	(void)snprintf(text, sizeof text,
	    "$ORIGIN test.\n"
	    "mta-sts.rpt    A   127.0.0.1\n"
	    "_smtp._tls.rpt TXT \"v=TLSRPTv1; rua=https://mta-sts.rpt.test:%u"
	    "/report\"\n", s.port);
	r = zone(text);
	clock_now = DAY0 + 3600;
	t = ctx_new(cache, certfile, s.port);
	record_day(t);
	assert_int_equal(tlsp_reports_run(t, r, DAY0 + 86400 + 60, NULL, NULL),
	    MAILSEC_OK);
	(void)snprintf(path, sizeof path, "%s/posted.ct", s.root);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(ct, 1, sizeof ct - 1, f);
	ct[n] = '\0';
	fclose(f);
	assert_string_equal(ct, "application/tlsrpt+gzip");
	(void)snprintf(path, sizeof path, "%s/posted.bin", s.root);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(gz, 1, sizeof gz, f);
	fclose(f);
	gunzip(gz, n, json, sizeof json);
	assert_non_null(strstr(json, "\"policy-domain\":\"rpt.test\""));
	server_stop(&s);
	tlsp_free(t);
	mailsec_resolver_free(r);
}

/* Several delivery threads on one context, each with its own
 * resolver: every result is counted once. */
#define THREADS 4
#define PER_THREAD 100

static void *
record_thread(void *p)
{
	struct tlsp_ctx *t = p;
	struct mailsec_resolver *r;
	struct tlsp_domain d;
	int i;

	r = zone("_smtp._tls.thr.test. TXT \"v=TLSRPTv1; "
	    "rua=mailto:r@thr.test\"\n");
	for (i = 0; i < PER_THREAD; i++) {
		if (tlsp_domain_policy(t, r, "thr.test", &d, NULL, 0) !=
		    MAILSEC_OK)
			abort();
		tlsp_report_result(t, "thr.test", &d, NULL, "mx.thr.test",
		    "192.0.2.1", i % 10 != 0, i % 10 != 0 ? NULL :
		    "starttls-not-supported");
		tlsp_domain_free(&d);
	}
	mailsec_resolver_free(r);
	return NULL;
}

static void
test_tlsrpt_threads(void **state)
{
	struct mailsec_resolver *r;
	struct sent s = { 0 };
	struct tlsp_ctx *t;
	pthread_t th[THREADS];
	char cache[300], json[65536];
	int i;

	(void)state;
	(void)snprintf(cache, sizeof cache, "%s/cache-thr", tmpdir);
	clock_now = DAY0 + 3600;
	t = ctx_new(cache, NULL, 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, record_thread, t),
		    0);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	/* counted from the log after a restart, too */
	tlsp_free(t);
	t = ctx_new(cache, NULL, 0);
	r = zone("_smtp._tls.thr.test. TXT \"v=TLSRPTv1; "
	    "rua=mailto:r@thr.test\"\n");
	assert_int_equal(tlsp_reports_run(t, r, DAY0 + 86400 + 60, capture,
	    &s), MAILSEC_OK);
	assert_int_equal(s.calls, 1);
	gunzip(s.gz, s.len, json, sizeof json);
	assert_non_null(strstr(json, "\"total-successful-session-count\":360,"
	    "\"total-failure-session-count\":40"));
	assert_non_null(strstr(json, "\"result-type\":\"starttls-not-supported"
	    "\""));
	assert_non_null(strstr(json, "\"failed-session-count\":40"));
	tlsp_free(t);
	free(s.gz);
	mailsec_resolver_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_parse),
		cmocka_unit_test(test_policy_limits),
		cmocka_unit_test(test_txt_parse),
		cmocka_unit_test(test_tlsrpt_txt_parse),
		cmocka_unit_test(test_mx_match),
		cmocka_unit_test(test_sts_fetch_and_cache),
		cmocka_unit_test(test_sts_off),
		cmocka_unit_test(test_dane_lookup),
		cmocka_unit_test(test_dane_handshake),
		cmocka_unit_test(test_sts_handshake),
		cmocka_unit_test(test_tlsrpt),
		cmocka_unit_test(test_tlsrpt_sent_mark_survives),
		cmocka_unit_test(test_tlsrpt_https_post),
		cmocka_unit_test(test_tlsrpt_threads),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
