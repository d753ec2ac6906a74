/*
 * cli/cmd_dkim.c - `mailsec dkim verify|sign|keygen|record`: DKIM
 * (RFC 6376, RFC 8301, RFC 8463) from the command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mailsec/dkim.h>

#include "cli.h"

int cmd_dkim(int argc, char **argv);

#define KEYFILE_MAX ((size_t)64 * 1024)
#define MAX_SIGNERS 16

/* ---- verify ------------------------------------------------------------ */

static void
print_sig_json(const struct mailsec_dkim_sig_info *s, bool trace)
{
	printf("  {\"domain\": ");
	json_str(stdout, s->domain.ptr, s->domain.len);
	printf(", \"selector\": ");
	json_str(stdout, s->selector.ptr, s->selector.len);
	printf(", \"algorithm\": ");
	json_str(stdout, s->algorithm_text.ptr, s->algorithm_text.len);
	printf(", \"result\": \"%s\", \"reason\": ",
	    mailsec_dkim_result_name(s->result));
	json_strz(stdout, s->reason_text);
	printf(", \"reason_code\": \"%s\",\n   \"identity\": ",
	    mailsec_dkim_reason_name(s->reason));
	if (s->identity.len > 0)
		json_str(stdout, s->identity.ptr, s->identity.len);
	else
		printf("null");
	printf(", \"canonicalization\": \"%s/%s\", \"field_index\": %zu",
	    mailsec_dkim_canon_name(s->header_canon),
	    mailsec_dkim_canon_name(s->body_canon), s->field_index);
	printf(", \"timestamp\": ");
	s->timestamp >= 0 ? printf("%lld", (long long)s->timestamp) :
	    printf("null");
	printf(", \"expiration\": ");
	s->expiration >= 0 ? printf("%lld", (long long)s->expiration) :
	    printf("null");
	printf(",\n   \"length\": ");
	s->has_length ? printf("%llu", (unsigned long long)s->length) :
	    printf("null");
	printf(", \"body_canon_length\": %llu, \"unsigned_body_bytes\": %llu",
	    (unsigned long long)s->body_canon_len,
	    (unsigned long long)(s->has_length &&
	    s->body_canon_len > s->length ? s->body_canon_len - s->length :
	    0));
	printf(", \"key_bits\": %u, \"key_testing\": %s,\n   \"body_hash\": "
	    "{\"claimed\": ", s->key_bits, s->key_testing ? "true" : "false");
	json_strz(stdout, s->body_hash_claimed);
	printf(", \"computed\": ");
	json_strz(stdout, s->body_hash_computed[0] ?
	    s->body_hash_computed : NULL);
	printf("}");
	if (trace) {
		printf(",\n   \"canonicalized_headers\": ");
		json_str(stdout, s->canon_headers.ptr, s->canon_headers.len);
	}
	printf("}");
}

static void
print_trace_text(const struct mailsec_dkim_sig_info *s)
{
	size_t i;

	printf("  canonicalized headers (%zu bytes; each line ends CRLF, "
	    "shown as \\r\\n):\n    ", s->canon_headers.len);
	for (i = 0; i < s->canon_headers.len; i++) {
		char c = s->canon_headers.ptr[i];

		if (c == '\r')
			fputs("\\r", stdout);
		else if (c == '\n')
			fputs("\\n\n    ", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else
			putchar(c);
	}
	printf("\n  body hash claimed  (bh=): %s\n", s->body_hash_claimed);
	printf("  body hash computed:       %s\n",
	    s->body_hash_computed[0] ? s->body_hash_computed :
	    "(not computed)");
	printf("  canonical body length: %llu%s\n",
	    (unsigned long long)s->body_canon_len, s->has_length ?
	    " (l= present: bytes past l= are unsigned)" : "");
}

static int
dkim_verify(int argc, char **argv)
{
	struct cli_dns_opts dns = { 0 };
	struct mailsec_dkim_verify_opts vo = { 0 };
	struct mailsec_resolver *r = NULL;
	struct mailsec_dkim_verify *ctx = NULL;
	struct mailsec_msg *msg = NULL;
	const struct mailsec_dkim_sig_info *s;
	const char *file = NULL;
	char *data = NULL;
	bool json = false, trace = false;
	long v = 0;
	int i, rc, k;
	size_t n;
	mailsec_err err;

	for (i = 1; i < argc; i++) {
		if ((k = cli_dns_json_opt("dkim", argc, argv, &i, &dns,
		    &json)) < 0)
			return CLI_USAGE;
		if (k > 0)
			continue;
		if (strcmp(argv[i], "--trace") == 0) {
			trace = true;
		} else if (strcmp(argv[i], "--clock-skew") == 0 ||
		    strcmp(argv[i], "--max-signatures") == 0 ||
		    strcmp(argv[i], "--now") == 0) {
			if (cli_need_value("dkim", argc, argv, i) != CLI_OK)
				return CLI_USAGE;
			if (cli_number("dkim", argv[i], argv[i + 1], 0,
			    argv[i][2] == 'n' ? 999999999999L : 1000000,
			    &v) != CLI_OK)
				return CLI_USAGE;
			if (argv[i][2] == 'c')
				vo.clock_skew = v == 0 ? -1 : v;
			else if (argv[i][2] == 'm')
				vo.max_signatures = v == 0 ? 1 : (size_t)v;
			else
				vo.now = (time_t)v;
			i++;
		} else if (cli_operand("dkim", argv[i], &file) != CLI_OK)
			return CLI_USAGE;
	}
	vo.keep_trace = trace;
	if (cli_read_msg(file, &data, &msg) != CLI_OK)
		return CLI_ERR;
	if (cli_dns_resolver(&dns, &r) != CLI_OK) {
		rc = CLI_ERR;
		goto done;
	}
	err = mailsec_dkim_verify_msg(r, &vo, msg, &ctx);
	if (err != MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "dkim verify: %s",
		    mailsec_strerror(err));
		goto done;
	}
	n = mailsec_dkim_verify_count(ctx);
	if (json) {
		printf("{\"signatures\": [");
		for (i = 0; (size_t)i < n; i++) {
			printf("%s\n", i ? "," : "");
			print_sig_json(mailsec_dkim_verify_sig(ctx,
			    (size_t)i), trace);
		}
		printf("%s]}\n", n ? "\n" : "");
	} else {
		if (n == 0)
			printf("no DKIM-Signature fields\n");
		for (i = 0; (size_t)i < n; i++) {
			s = mailsec_dkim_verify_sig(ctx, (size_t)i);
			printf("signature %d: d=%.*s s=%.*s a=%.*s: %s (%s)\n",
			    i + 1, (int)s->domain.len, s->domain.ptr,
			    (int)s->selector.len, s->selector.ptr,
			    (int)s->algorithm_text.len,
			    s->algorithm_text.ptr,
			    mailsec_dkim_result_name(s->result),
			    s->reason_text);
			if (trace)
				print_trace_text(s);
		}
	}
	rc = CLI_OK;
done:
	mailsec_dkim_verify_free(ctx);
	mailsec_resolver_free(r);
	mailsec_msg_free(msg);
	free(data);
	return rc;
}

/* ---- sign -------------------------------------------------------------- */

static int
parse_alg(const char *s, enum mailsec_dkim_algorithm *a)
{
	if (strcmp(s, "rsa-sha256") == 0)
		*a = MAILSEC_DKIM_RSA_SHA256;
	else if (strcmp(s, "ed25519-sha256") == 0)
		*a = MAILSEC_DKIM_ED25519_SHA256;
	else
		return cli_usage("dkim", "--algorithm: rsa-sha256 or "
		    "ed25519-sha256, not '%s'", s);
	return CLI_OK;
}

static int
parse_canon(const char *s, struct mailsec_dkim_sign_opts *o)
{
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	const char *b = slash ? slash + 1 : "simple";

	o->canon_set = true;
	if (hl == 6 && strncmp(s, "simple", 6) == 0)
		o->header_canon = MAILSEC_DKIM_SIMPLE;
	else if (hl == 7 && strncmp(s, "relaxed", 7) == 0)
		o->header_canon = MAILSEC_DKIM_RELAXED;
	else
		return cli_usage("dkim", "--canon: '%s' is not "
		    "simple|relaxed[/simple|relaxed]", s);
	if (strcmp(b, "simple") == 0)
		o->body_canon = MAILSEC_DKIM_SIMPLE;
	else if (strcmp(b, "relaxed") == 0)
		o->body_canon = MAILSEC_DKIM_RELAXED;
	else
		return cli_usage("dkim", "--canon: '%s' is not "
		    "simple|relaxed[/simple|relaxed]", s);
	return CLI_OK;
}

/* Writes s with CRLF turned into LF when lf is set. */
static void
put_lines(const char *s, size_t len, bool lf)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (lf && s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			continue;
		putchar(s[i]);
	}
}

static int
dkim_sign(int argc, char **argv)
{
	const char *keys[MAX_SIGNERS], *doms[MAX_SIGNERS],
	    *sels[MAX_SIGNERS], *algs[MAX_SIGNERS];
	size_t nk = 0, nd = 0, ns = 0, na = 0, j;
	struct mailsec_dkim_sign_opts o = { 0 };
	struct mailsec_dkim_key *key[MAX_SIGNERS] = { 0 };
	struct mailsec_msg *msg = NULL;
	struct mailsec_diag diag = { 0 };
	char *data = NULL, *pem, *sigs[MAX_SIGNERS] = { 0 };
	size_t siglen[MAX_SIGNERS] = { 0 }, pemlen;
	const char *file = NULL;
	struct mailsec_str all;
	long v = 0;
	int i, rc = CLI_ERR;
	mailsec_err err;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		size_t *cnt = NULL;

		if (strcmp(a, "--key") == 0) {
			dst = keys;
			cnt = &nk;
		} else if (strcmp(a, "--domain") == 0) {
			dst = doms;
			cnt = &nd;
		} else if (strcmp(a, "--selector") == 0) {
			dst = sels;
			cnt = &ns;
		} else if (strcmp(a, "--algorithm") == 0) {
			dst = algs;
			cnt = &na;
		}
		if (dst != NULL) {
			if (cli_need_value("dkim", argc, argv, i) != CLI_OK)
				return CLI_USAGE;
			if (*cnt >= MAX_SIGNERS)
				return cli_usage("dkim", "at most %d "
				    "signatures", MAX_SIGNERS);
			dst[(*cnt)++] = argv[++i];
			continue;
		}
		if (strcmp(a, "--canon") == 0 || strcmp(a, "--headers") == 0 ||
		    strcmp(a, "--expire") == 0 || strcmp(a, "--time") == 0 ||
		    strcmp(a, "--identity") == 0) {
			if (cli_need_value("dkim", argc, argv, i) != CLI_OK)
				return CLI_USAGE;
			i++;
			if (strcmp(a, "--canon") == 0) {
				if (parse_canon(argv[i], &o) != CLI_OK)
					return CLI_USAGE;
			} else if (strcmp(a, "--headers") == 0) {
				o.headers = argv[i];
			} else if (strcmp(a, "--identity") == 0) {
				o.identity = argv[i];
			} else {
				if (cli_number("dkim", a, argv[i], 1,
				    999999999999L, &v) != CLI_OK)
					return CLI_USAGE;
				if (a[2] == 'e')
					o.expire_after = v;
				else
					o.timestamp = (time_t)v;
			}
		} else if (strcmp(a, "--body-length") == 0) {
			o.body_length = true;
		} else if (cli_operand("dkim", a, &file) != CLI_OK)
			return CLI_USAGE;
	}
	if (nk == 0 || nd == 0 || ns == 0)
		return cli_usage("dkim", "sign needs --key, --domain and "
		    "--selector");
	if ((nd != 1 && nd != nk) || (ns != 1 && ns != nk) ||
	    (na > 1 && na != nk))
		return cli_usage("dkim", "give --domain, --selector (and "
		    "--algorithm) once, or once per --key");
	/* One signing time for every signature of this message. */
	if (o.timestamp == 0)
		o.timestamp = time(NULL);
	for (j = 0; j < nk; j++) {
		if (cli_read_file(keys[j], KEYFILE_MAX, &pem, &pemlen) !=
		    CLI_OK)
			goto done;
		err = mailsec_dkim_key_load(pem, pemlen, &key[j], &diag);
		free(pem);
		if (err != MAILSEC_OK) {
			rc = cli_fail(CLI_ERR, "%s: %s", keys[j],
			    diag.set ? diag.text : mailsec_strerror(err));
			goto done;
		}
	}
	if (cli_read_msg(file, &data, &msg) != CLI_OK)
		goto done;
	for (j = 0; j < nk; j++) {
		o.key = key[j];
		o.domain = doms[nd == 1 ? 0 : j];
		o.selector = sels[ns == 1 ? 0 : j];
		o.algorithm = 0;
		if (na > 0 && parse_alg(algs[na == 1 ? 0 : j], &o.algorithm) !=
		    CLI_OK) {
			rc = CLI_USAGE;
			goto done;
		}
		diag.set = 0;
		err = mailsec_dkim_sign_msg(&o, msg, &sigs[j], &siglen[j],
		    &diag);
		if (err != MAILSEC_OK) {
			rc = cli_fail(CLI_ERR, "sign (d=%s s=%s): %s", o.domain,
			    o.selector, diag.set ? diag.text :
			    mailsec_strerror(err));
			goto done;
		}
	}
	/* The first signature given ends up on top. */
	for (j = 0; j < nk; j++)
		put_lines(sigs[j], siglen[j], mailsec_msg_converted(msg));
	if (mailsec_msg_converted(msg)) {
		fputs(data, stdout);
	} else {
		all = mailsec_msg_data(msg);
		fwrite(all.ptr, 1, all.len, stdout);
	}
	rc = fflush(stdout) == 0 ? CLI_OK : cli_fail(CLI_ERR, "write error");
done:
	for (j = 0; j < MAX_SIGNERS; j++) {
		mailsec_dkim_key_free(key[j]);
		free(sigs[j]);
	}
	mailsec_msg_free(msg);
	free(data);
	return rc;
}

/* ---- keygen ------------------------------------------------------------ */

/* The record as zone-file character-strings of at most 255 bytes. */
static void
print_zone_record(const char *sel, const char *dom, const char *rec)
{
	size_t len = strlen(rec), i, k;

	printf("%s._domainkey.%s. IN TXT (", sel, dom);
	for (i = 0; i < len; i += k) {
		k = len - i > 255 ? 255 : len - i;
		printf("\n  \"%.*s\"", (int)k, rec + i);
	}
	printf(" )\n");
}

static int
dkim_keygen(int argc, char **argv)
{
	const char *dom = NULL, *sel = NULL, *type = "rsa", *dir = ".";
	struct mailsec_dkim_key *key = NULL;
	enum mailsec_dkim_algorithm alg;
	char *pem = NULL, *rec = NULL, path[4096];
	size_t pemlen;
	long bits = 2048;
	int i, fd, rc = CLI_ERR, n;
	mailsec_err err;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (i + 1 >= argc)
			return cli_usage("dkim", "%s: unknown option or "
			    "missing value", a);
		if (strcmp(a, "--domain") == 0)
			dom = argv[++i];
		else if (strcmp(a, "--selector") == 0)
			sel = argv[++i];
		else if (strcmp(a, "--type") == 0)
			type = argv[++i];
		else if (strcmp(a, "--out") == 0)
			dir = argv[++i];
		else if (strcmp(a, "--bits") == 0) {
			if (cli_number("dkim", a, argv[++i], 1024, 8192,
			    &bits) != CLI_OK)
				return CLI_USAGE;
		} else
			return cli_usage("dkim", "unknown option '%s'", a);
	}
	if (dom == NULL || sel == NULL)
		return cli_usage("dkim", "keygen needs --domain and --selector");
	if (strchr(sel, '/') != NULL || sel[0] == '.')
		return cli_usage("dkim", "selector '%s' is not a file name", sel);
	if (strcmp(type, "rsa") == 0)
		alg = MAILSEC_DKIM_RSA_SHA256;
	else if (strcmp(type, "ed25519") == 0)
		alg = MAILSEC_DKIM_ED25519_SHA256;
	else
		return cli_usage("dkim", "--type: rsa or ed25519");
	if ((err = mailsec_dkim_key_generate(alg, (unsigned)bits, &key)) !=
	    MAILSEC_OK)
		return cli_fail(CLI_ERR, "keygen: %s", mailsec_strerror(err));
	if ((err = mailsec_dkim_key_pem(key, &pem, &pemlen)) != MAILSEC_OK ||
	    (err = mailsec_dkim_key_record(key, &rec, NULL)) != MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "keygen: %s", mailsec_strerror(err));
		goto done;
	}
	n = snprintf(path, sizeof path, "%s/%s.%s.private", dir, sel, dom);
	if (n < 0 || (size_t)n >= sizeof path) {
		rc = cli_fail(CLI_ERR, "keygen: path too long");
		goto done;
	}
	/* Never world-readable, never over an existing key. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		rc = cli_fail(CLI_ERR, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (write(fd, pem, pemlen) != (ssize_t)pemlen || close(fd) != 0) {
		rc = cli_fail(CLI_ERR, "%s: write failed", path);
		goto done;
	}
	printf("; private key written to %s (mode 0600)\n", path);
	printf("; zone file:\n");
	print_zone_record(sel, dom, rec);
	printf("; one line (DNS web panels), name %s._domainkey.%s:\n%s\n",
	    sel, dom, rec);
	rc = CLI_OK;
done:
	free(pem);
	free(rec);
	mailsec_dkim_key_free(key);
	return rc;
}

/* ---- record ------------------------------------------------------------ */

static int
dkim_record(int argc, char **argv)
{
	struct cli_dns_opts dns = { 0 };
	struct mailsec_resolver *r = NULL;
	struct mailsec_dns_result *res = NULL;
	struct mailsec_dkim_record rec;
	struct mailsec_diag diag = { 0 };
	const char *dom = NULL, *sel = NULL;
	char name[600];
	int i, k, rc = CLI_ERR, problems = 0;
	bool json = false;
	mailsec_err err;

	for (i = 1; i < argc; i++) {
		if ((k = cli_dns_json_opt("dkim", argc, argv, &i, &dns,
		    &json)) < 0)
			return CLI_USAGE;
		if (k > 0)
			continue;
		if (strcmp(argv[i], "--domain") == 0 && i + 1 < argc)
			dom = argv[++i];
		else if (strcmp(argv[i], "--selector") == 0 && i + 1 < argc)
			sel = argv[++i];
		else
			return cli_usage("dkim", "unknown option '%s'",
			    argv[i]);
	}
	if (dom == NULL || sel == NULL)
		return cli_usage("dkim", "record needs --domain and --selector");
	k = snprintf(name, sizeof name, "%s._domainkey.%s", sel, dom);
	if (k < 0 || (size_t)k >= sizeof name)
		return cli_usage("dkim", "name too long");
	if (cli_dns_resolver(&dns, &r) != CLI_OK)
		return CLI_ERR;
	if ((err = mailsec_dns_lookup(r, name, MAILSEC_DNS_TXT, &res)) !=
	    MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "%s: %s", name, mailsec_strerror(err));
		goto done;
	}
	if (json)
		printf("{\"name\": ");
	if (json)
		json_strz(stdout, name);
	if (res->status != MAILSEC_DNS_ANSWER || res->count == 0) {
		if (json)
			printf(", \"dns\": \"%s\", \"ok\": false}\n",
			    mailsec_dns_status_name(res->status));
		else
			printf("%s: no key record (%s)\n", name,
			    mailsec_dns_status_name(res->status));
		rc = CLI_OK;
		goto done;
	}
	err = mailsec_dkim_record_parse(res->rrs[0].u.txt.data,
	    res->rrs[0].u.txt.len, &rec, &diag);
	if (json) {
		printf(", \"dns\": \"answer\", \"record\": ");
		json_str(stdout, res->rrs[0].u.txt.data,
		    res->rrs[0].u.txt.len);
		printf(", \"records\": %zu", res->count);
	} else {
		printf("%s: %s\n", name, res->rrs[0].u.txt.data);
		if (res->count > 1) {
			printf("  problem: %zu TXT records; verifiers may "
			    "pick any\n", res->count);
			problems++;
		}
	}
	if (err != MAILSEC_OK) {
		if (json) {
			printf(", \"ok\": false, \"error\": ");
			json_strz(stdout, diag.set ? diag.text :
			    mailsec_strerror(err));
			printf("}\n");
		} else {
			printf("  problem: %s\n", diag.set ? diag.text :
			    mailsec_strerror(err));
		}
		rc = CLI_OK;
		goto done;
	}
	if (json) {
		printf(", \"key_type\": ");
		json_str(stdout, rec.key_type_text.ptr, rec.key_type_text.len);
		printf(", \"key_bits\": %u, \"revoked\": %s, \"testing\": %s,"
		    " \"strict\": %s, \"sha256_allowed\": %s, "
		    "\"email_service\": %s, \"ok\": %s}\n", rec.key_bits,
		    rec.revoked ? "true" : "false",
		    rec.testing ? "true" : "false",
		    rec.strict ? "true" : "false",
		    rec.sha256_allowed ? "true" : "false",
		    rec.email_service ? "true" : "false",
		    !rec.revoked && rec.sha256_allowed && rec.email_service &&
		    rec.key_type != MAILSEC_DKIM_ALG_UNKNOWN &&
		    !(rec.key_type == MAILSEC_DKIM_RSA_SHA256 &&
		    rec.key_bits < 1024) ? "true" : "false");
		rc = CLI_OK;
		goto done;
	}
	printf("  key: %.*s, %u bits%s\n", (int)rec.key_type_text.len,
	    rec.key_type_text.ptr, rec.key_bits, rec.revoked ?
	    " (revoked: empty p=)" : "");
	if (rec.key_type == MAILSEC_DKIM_ALG_UNKNOWN && ++problems)
		printf("  problem: unknown key type\n");
	if (rec.key_type == MAILSEC_DKIM_RSA_SHA256 && !rec.revoked) {
		if (rec.key_bits < 1024 && ++problems)
			printf("  problem: RSA under 1024 bits is refused by "
			    "verifiers (RFC 8301)\n");
		else if (rec.key_bits < 2048)
			printf("  warning: RSA under 2048 bits is weak\n");
	}
	if (!rec.sha256_allowed && ++problems)
		printf("  problem: h= does not allow sha256\n");
	if (!rec.email_service && ++problems)
		printf("  problem: s= does not include email\n");
	if (rec.testing)
		printf("  warning: t=y (testing) is still on\n");
	if (!rec.has_version)
		printf("  note: no v=DKIM1 (allowed, but usual)\n");
	printf("  %s\n", problems || rec.revoked ? "NOT usable for signing" :
	    "usable");
	rc = CLI_OK;
done:
	mailsec_dns_result_free(res);
	mailsec_resolver_free(r);
	return rc;
}

int
cmd_dkim(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage("dkim", "verify, sign, keygen, record or "
		    "rotate?");
	if (strcmp(argv[1], "verify") == 0)
		return dkim_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "sign") == 0)
		return dkim_sign(argc - 1, argv + 1);
	if (strcmp(argv[1], "keygen") == 0)
		return dkim_keygen(argc - 1, argv + 1);
	if (strcmp(argv[1], "record") == 0)
		return dkim_record(argc - 1, argv + 1);
	if (strcmp(argv[1], "rotate") == 0)
		return cli_dkim_rotate(argc - 1, argv + 1);
	return cli_usage("dkim", "unknown subcommand '%s'", argv[1]);
}
