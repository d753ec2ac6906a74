/*
 * cli/main.c - `mailsec <command> [options]`: dispatch, help, version,
 * and the helpers every subcommand shares.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_message(int argc, char **argv);
int cmd_dns(int argc, char **argv);
int cmd_dkim(int argc, char **argv);
int cmd_spf(int argc, char **argv);
int cmd_passwd(int argc, char **argv);
int cmd_dmarc(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_arc(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_audit(int argc, char **argv);
static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

#define DNS_USAGE \
	"  --dns SERVER[@PORT][,...]  forward queries to these servers\n" \
	"                             (default: built-in recursive resolver\n" \
	"                             with DNSSEC validation)\n" \
	"  --dns-zone FILE            answer from an RFC 1035 zone file\n" \
	"  --dns-timeout MS           per-query timeout (default 5000)\n"

const struct cli_cmd cli_cmds[] = {
	{ "message", "parse a message: header fields, author (From) domains",
	  "usage: mailsec message [FILE] [--json] [--headers]\n"
	  "\n"
	  "Parses an RFC 5322 message (FILE or standard input; bare LF line\n"
	  "endings are accepted and converted) and reports its header fields\n"
	  "and what DMARC needs from From: the author addresses and domains,\n"
	  "or why there is no single author (no From, several From fields,\n"
	  "several addresses, unparseable).\n"
	  "\n"
	  "  --json     one JSON object on standard output\n"
	  "  --headers  list every header field with its unfolded value\n",
	  cmd_message },
	{ "dns", "look up DNS records the way mailsec's checks see them",
	  "usage: mailsec dns NAME [TYPE] [--json] [--dns ... | --dns-zone FILE]\n"
	  "\n"
	  "Resolves NAME (TYPE defaults to TXT; A AAAA MX TXT PTR CNAME NS\n"
	  "TLSA SPF) and prints the outcome as the protocol checks see it:\n"
	  "answer, nxdomain, nodata, timeout or servfail, and whether the\n"
	  "answer was DNSSEC-validated.\n"
	  "\n"
	  "  --json     one JSON object on standard output\n"
	  DNS_USAGE,
	  cmd_dns },
	{ "dkim", "DKIM: verify, sign, generate keys, check key records",
	  "usage: mailsec dkim verify [FILE] [--json] [--trace]\n"
	  "           [--clock-skew SECS] [--max-signatures N] [--now TIME]\n"
	  "           [--dns ... | --dns-zone FILE]\n"
	  "       mailsec dkim sign --domain D --selector S --key KEYFILE\n"
	  "           [--algorithm rsa-sha256|ed25519-sha256]\n"
	  "           [--canon relaxed/relaxed] [--headers LIST] [--expire SECS]\n"
	  "           [--identity I] [--body-length] [--time T] [FILE]\n"
	  "       mailsec dkim keygen --domain D --selector S [--type rsa|ed25519]\n"
	  "           [--bits 2048] [--out DIR]\n"
	  "       mailsec dkim record --domain D --selector S [--json]\n"
	  "           [--dns ... | --dns-zone FILE]\n"
	  "\n"
	  "verify: one result per DKIM-Signature (pass, fail, neutral,\n"
	  "temperror, permerror, policy) with the reason; --trace shows the\n"
	  "canonicalized headers and the claimed and computed body hashes.\n"
	  "sign: prints the message with DKIM-Signature fields prepended;\n"
	  "--key/--domain/--selector repeat (in order) for several signatures.\n"
	  "Keys are PEM (PKCS#8 or traditional RSA) or a base64 Ed25519 seed.\n"
	  "keygen: writes DIR/S.D.private (mode 0600), prints the TXT record.\n"
	  "record: fetches and checks a published key record.\n"
	  "See docs/dkim.md.\n"
	  DNS_USAGE,
	  cmd_dkim },
	{ "spf", "SPF: check a client address against a domain's policy",
	  "usage: mailsec spf --ip IP --mail-from ADDR [--helo NAME]\n"
	  "           [--receiver NAME] [--helo-identity] [--json] [--trace]\n"
	  "           [--dns ... | --dns-zone FILE]\n"
	  "\n"
	  "Runs RFC 7208 check_host() for the client IP and the MAIL FROM\n"
	  "address (--mail-from '' is the null reverse-path: the HELO name\n"
	  "is checked as postmaster@HELO). --helo-identity checks the HELO\n"
	  "name alone. Prints the result (none, neutral, pass, fail,\n"
	  "softfail, temperror, permerror), the mechanism that matched, the\n"
	  "explanation, the DNS lookups used, and the Received-SPF and\n"
	  "Authentication-Results text. --trace shows every term and DNS\n"
	  "query with its answer. See docs/spf.md.\n"
	  DNS_USAGE,
	  cmd_spf },
	{ "dmarc", "DMARC: the policy in force for a domain and where it is",
	  "usage: mailsec dmarc DOMAIN [--rfc7489] [--psl FILE] [--json]\n"
	  "           [--dns ... | --dns-zone FILE]\n"
	  "\n"
	  "Finds the DMARC policy that applies to mail from DOMAIN: the RFC\n"
	  "9989 DNS Tree Walk (psd=, np=), or with --rfc7489 the RFC 7489\n"
	  "lookup with the Public Suffix List (--psl FILE, default Debian's\n"
	  "publicsuffix data). Prints the policy (p, sp or np), the record\n"
	  "and where it was found, the Organizational Domain, the record's\n"
	  "problems tag by tag, and the other mode's answer where it differs.\n"
	  "See docs/dmarc.md.\n"
	  "\n"
	  "  --json     one JSON object on standard output\n"
	  DNS_USAGE,
	  cmd_dmarc },
	{ "check", "SPF, DKIM and DMARC on one message, as a receiver would",
	  "usage: mailsec check [FILE] --ip IP --mail-from ADDR [--helo NAME]\n"
	  "           [--authserv-id ID] [--trusted-arc DOMAIN ...]\n"
	  "           [--rfc7489 [--psl FILE]] [--json]\n"
	  "           [--dns ... | --dns-zone FILE]\n"
	  "\n"
	  "Checks the message in FILE (default: standard input) as the MTA\n"
	  "that received it from IP would: SPF for the MAIL FROM address (or\n"
	  "for --helo when --mail-from is ''), every DKIM signature, the ARC\n"
	  "chain, then DMARC (RFC 9989; RFC 7489 with --rfc7489) for the From\n"
	  "domain; a chain that passes and was sealed by a --trusted-arc\n"
	  "domain overrides a DMARC fail (recorded as local_policy).\n"
	  "Prints the Authentication-Results field (RFC 8601) it would add,\n"
	  "the verdict (accept, quarantine, reject or defer) and the reasons.\n"
	  "See docs/dmarc.md.\n"
	  "\n"
	  "  --authserv-id ID  the receiver's name in Authentication-Results\n"
	  "                    (default: this host's name)\n"
	  "  --json            one JSON object on standard output\n"
	  DNS_USAGE,
	  cmd_check },
	{ "arc", "ARC: validate a message's chain, or seal it when forwarding",
	  "usage: mailsec arc verify [FILE] [--json] [--now TIME]\n"
	  "           [--authserv-id ID] [--dns ... | --dns-zone FILE]\n"
	  "       mailsec arc seal --domain D --selector S --key KEYFILE\n"
	  "           --authserv-id ID\n"
	  "           [--algorithm rsa-sha256|ed25519-sha256]\n"
	  "           [--headers LIST] [--time T] [--sorted]\n"
	  "           [--ip IP --mail-from ADDR [--helo NAME]]\n"
	  "           [--dns ... | --dns-zone FILE] [FILE]\n"
	  "\n"
	  "verify: validates the Authenticated Received Chain (RFC 8617 5.2):\n"
	  "pass, fail or none, the number of ARC sets, the oldest AMS that\n"
	  "still verifies (oldest-pass), the reason for a failure, and each\n"
	  "set's seal and message signature; --json prints one object.\n"
	  "seal: prints the message with a new ARC set on top (RFC 8617 5.1).\n"
	  "Its ARC-Authentication-Results copies the message's\n"
	  "Authentication-Results fields of ID; without one, --ip and\n"
	  "--mail-from make mailsec assess the message itself (SPF, DKIM,\n"
	  "DMARC, ARC). cv= is the chain's status as validated here. --sorted\n"
	  "writes the tags in alphabetical order (the ARC test suite's form).\n"
	  "See docs/arc.md.\n"
	  DNS_USAGE,
	  cmd_arc },
	{ "passwd", "manage the gateway's password file (AUTH logins)",
	  "usage: mailsec passwd [--file FILE | --config CONF | --state-dir DIR]\n"
	  "           [--stdin] USER\n"
	  "       mailsec passwd [--file FILE ...] --delete USER\n"
	  "       mailsec passwd [--file FILE ...] --list\n"
	  "\n"
	  "Adds USER or changes its password: read twice from the terminal\n"
	  "without echo, or once (one line) from standard input with --stdin.\n"
	  "The hash is scrypt (ln=15, r=8, p=1, random 16-byte salt); the file\n"
	  "is rewritten atomically with mode 0600. The file is --file, else\n"
	  "auth.password_file of --config (or of --state-dir DIR: DIR/passwd),\n"
	  "else ./var/passwd. See docs/configuration.md.\n",
	  cmd_passwd },
	{ "queue", "the gateway's queue: list, show, delete, flush",
	  "usage: mailsec queue [--state-dir DIR] list [--json]\n"
	  "       mailsec queue [--state-dir DIR] show ID [--json]\n"
	  "       mailsec queue [--state-dir DIR] delete ID\n"
	  "       mailsec queue [--state-dir DIR] flush\n"
	  "\n"
	  "Talks to the running daemon over DIR/control (default ./var);\n"
	  "with no daemon, list, show and delete work on DIR/queue directly\n"
	  "and flush fails. list: ID, size, age, sender, state, and each\n"
	  "recipient's status (pending, done, deferred, failed). show: the\n"
	  "envelope and the header section. delete: removes a message (not\n"
	  "while it is being delivered). flush: retry everything now.\n"
	  "See docs/queue.md.\n",
	  cmd_queue },
	{ "report", "DMARC aggregate reports: import, summary, send",
	  "usage: mailsec report [--state-dir DIR] import FILE|DIR|- ...\n"
	  "       mailsec report [--state-dir DIR] summary [--domain D]\n"
	  "           [--since YYYY-MM-DD] [--json|--csv]\n"
	  "       mailsec report [--state-dir DIR] send [--now] [--dry-run]\n"
	  "           [--receiver DOMAIN] [--from ADDR] [--org NAME] [--rfc7489]\n"
	  "           [--dns ... | --dns-zone FILE]\n"
	  "\n"
	  "The report store is DIR/reports.db (default ./var, as for serve).\n"
	  "import: stores the aggregate reports in each FILE (XML, .gz, .zip\n"
	  "or a whole report e-mail), every file below DIR, or standard input;\n"
	  "one already stored (same reporter, report ID and domain) is not\n"
	  "stored again. Exit status 1 when an input could not be parsed\n"
	  "(the others are still stored).\n"
	  "summary: per source IP the messages and how many passed SPF, DKIM\n"
	  "and DMARC (aligned, as policy_evaluated says), and who sends as the\n"
	  "domain and fails; --domain and --since (report end) filter;\n"
	  "--json: {\"reports\", \"messages\", \"sources\": [...], ...}.\n"
	  "send: builds the reports of the gateway's DMARC evaluations for\n"
	  "every day that ended (--now: also today so far), checks external\n"
	  "destinations (_report._dmarc), and writes each report mail to\n"
	  "DIR/reports/outbox/; --dry-run only says what it would send.\n"
	  "--rfc7489 writes the RFC 7489 format. See docs/reports.md.\n"
	  DNS_USAGE,
	  cmd_report },
	{ "record", "write SPF, DMARC, MTA-STS and TLS-RPT records",
	  "usage: mailsec record spf [--ip4 NET]... [--ip6 NET]...\n"
	  "           [--include DOMAIN]... [--a] [--mx]\n"
	  "           [--policy fail|softfail|neutral | --redirect DOMAIN]\n"
	  "       mailsec record dmarc [--policy none|quarantine|reject]\n"
	  "           [--sp P] [--np P] [--rua URI]... [--ruf URI]...\n"
	  "           [--adkim r|s] [--aspf r|s] [--fo OPTS] [--testing]\n"
	  "       mailsec record mta-sts --mx HOST...\n"
	  "           [--mode enforce|testing|none] [--max-age SECS] [--id ID]\n"
	  "       mailsec record tlsrpt --rua URI...\n"
	  "  each also: [--domain D] [--ttl SECS] [--json]\n"
	  "\n"
	  "Prints the record as a zone-file line (owner relative to the zone\n"
	  "without --domain) and as the one line DNS web panels want; for\n"
	  "mta-sts also the policy file to serve. Input that would make a\n"
	  "broken record is refused with the linter's finding. A bare address\n"
	  "in --rua/--ruf gets mailto:. See docs/records.md.\n",
	  cmd_record },
	{ "lint", "explain what is wrong with a record, and the fix",
	  "usage: mailsec lint RECORD [--type T] [--resolve] [--json]\n"
	  "           [--domain D] [--selector S] [--file FILE]\n"
	  "           [--dns ... | --dns-zone FILE]\n"
	  "\n"
	  "Lints an SPF, DMARC, DKIM key, MTA-STS (TXT or policy file,\n"
	  "--file) or TLS-RPT record; the type is detected, --type forces it\n"
	  "(spf dmarc dkim mta-sts mta-sts-policy tlsrpt). Every error and\n"
	  "warning comes with its fix. --resolve follows SPF includes and\n"
	  "counts their lookups and void lookups; with --domain it also\n"
	  "counts the records published there and checks DMARC report\n"
	  "authorization. Exit status 1 when there is an error, else 0.\n"
	  "\n"
	  "  --json     {\"type\", \"errors\": [...], \"warnings\": [...]}\n"
	  DNS_USAGE,
	  cmd_lint },
	{ "audit", "grade a domain's mail setup: MX, SPF, DKIM, DMARC, ...",
	  "usage: mailsec audit DOMAIN [--selector S]...\n"
	  "           [--no-common-selectors] [--no-fetch] [--ca-file FILE]\n"
	  "           [--json] [--dns ... | --dns-zone FILE]\n"
	  "\n"
	  "Audits DOMAIN: MX hosts, SPF (include tree flattened, lookups\n"
	  "counted), DKIM keys at the given and common selectors, DMARC (with\n"
	  "inheritance from a parent domain), MTA-STS, TLS-RPT, DANE TLSA on\n"
	  "the MX hosts, BIMI. Prints a grade (A-F) and every finding with its\n"
	  "fix. The MTA-STS policy file is fetched over HTTPS (RFC 8461 3.3:\n"
	  "verified certificate, no redirects; --ca-file FILE trusts that CA\n"
	  "instead of the system's; --no-fetch skips it).\n"
	  DNS_USAGE,
	  cmd_audit },
	{ "serve", "run the gateway: receive, verify, queue and deliver mail",
	  "usage: mailsec serve [--config FILE] [--state-dir DIR]\n"
	  "           [--dns SERVER[@PORT][,...] | --dns-zone FILE]\n"
	  "           [--check-config [-v]] [--foreground] [--workers N]\n"
	  "           [--greet-pause MS]\n"
	  "\n"
	  "Runs the SMTP gateway: MX (STARTTLS), submission (STARTTLS, then\n"
	  "AUTH) and submissions (implicit TLS, AUTH) listeners, SPF, DKIM and\n"
	  "DMARC on every message, the durable queue and Maildir delivery for\n"
	  "local domains. With no --config it listens on 127.0.0.1 ports 2525,\n"
	  "2587 and 2465, keeps its state in ./var (or --state-dir), generates\n"
	  "a self-signed certificate and a DKIM key there, and accepts mail for\n"
	  "localhost. --check-config validates and exits (-v prints the\n"
	  "effective configuration). --foreground stays attached and logs to\n"
	  "stderr. --workers overrides the process count; --greet-pause MS\n"
	  "waits before the greeting and refuses clients that talk first.\n"
	  "SIGHUP reloads, SIGTERM drains. See docs/gateway.md.\n",
	  cmd_serve },
	{ "help", "show help for a command",
	  "usage: mailsec help [COMMAND]\n", cmd_help },
	{ "version", "print the version",
	  "usage: mailsec version\n", cmd_version },
	{ NULL, NULL, NULL, NULL }
};

static const struct cli_cmd *
find_cmd(const char *name)
{
	const struct cli_cmd *c;

	for (c = cli_cmds; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static void
print_overview(FILE *f)
{
	const struct cli_cmd *c;

	fprintf(f, "usage: mailsec <command> [options]\n\n"
	    "Email authentication (SPF, DKIM, DMARC, ARC) and secure SMTP.\n\n"
	    "commands:\n");
	for (c = cli_cmds; c->name != NULL; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\n'mailsec help COMMAND' or 'mailsec COMMAND --help' "
	    "for a command's options.\n"
	    "Exit status: 0 done (whatever the verdict), 1 error, "
	    "2 usage error.\n");
}

static int
cmd_help(int argc, char **argv)
{
	const struct cli_cmd *c;

	if (argc < 2) {
		print_overview(stdout);
		return CLI_OK;
	}
	c = find_cmd(argv[1]);
	if (c == NULL)
		return cli_usage("help", "unknown command '%s'", argv[1]);
	fputs(c->usage, stdout);
	return CLI_OK;
}

static int
cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("mailsec %s\n", mailsec_version());
	return CLI_OK;
}

int
cli_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("mailsec: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int
cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mailsec %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry 'mailsec help %s'\n", cmd);
	return CLI_USAGE;
}

int
cli_read_file(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = stdin;
	char *buf = NULL, *nb;
	size_t n = 0, cap = 0, got;
	const char *shown = path;

	if (path != NULL && strcmp(path, "-") != 0) {
		f = fopen(path, "rb");
		if (f == NULL)
			return cli_fail(CLI_ERR, "%s: %s", path,
			    strerror(errno));
	} else {
		shown = "standard input";
	}
	for (;;) {
		if (n == cap) {
			if (cap >= max + 1)
				break;
			cap = cap ? cap * 2 : 65536;
			if (cap > max + 1)
				cap = max + 1;
			nb = realloc(buf, cap + 1);
			if (nb == NULL) {
				free(buf);
				if (f != stdin)
					fclose(f);
				return cli_fail(CLI_ERR, "%s: out of memory",
				    shown);
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		if (f != stdin)
			fclose(f);
		return cli_fail(CLI_ERR, "%s: read error", shown);
	}
	if (f != stdin)
		fclose(f);
	if (n > max) {
		free(buf);
		return cli_fail(CLI_ERR, "%s: larger than %zu bytes", shown,
		    max);
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return cli_fail(CLI_ERR, "%s: out of memory", shown);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return CLI_OK;
}

int
cli_read_msg(const char *path, char **data, struct mailsec_msg **msg)
{
	struct mailsec_diag diag = { 0 };
	size_t len;
	mailsec_err err;

	*data = NULL;
	*msg = NULL;
	if (cli_read_file(path, CLI_MESSAGE_MAX, data, &len) != CLI_OK)
		return CLI_ERR;
	err = mailsec_msg_parse(*data, len, NULL, 0, msg, &diag);
	if (err != MAILSEC_OK) {
		free(*data);
		*data = NULL;
		return cli_fail(CLI_ERR, "%s: not a message: %s",
		    path != NULL ? path : "standard input", diag.set ? diag.text : mailsec_strerror(err));
	}
	return CLI_OK;
}

int
cli_dns_opt(const char *cmd, int argc, char **argv, int *i,
    struct cli_dns_opts *o)
{
	const char *a = argv[*i];
	char *end;
	unsigned long v;

	if (strcmp(a, "--dns") != 0 && strcmp(a, "--dns-zone") != 0 &&
	    strcmp(a, "--dns-timeout") != 0)
		return 0;
	if (*i + 1 >= argc) {
		cli_usage(cmd, "%s needs a value", a);
		return -1;
	}
	(*i)++;
	if (strcmp(a, "--dns") == 0) {
		o->server = argv[*i];
	} else if (strcmp(a, "--dns-zone") == 0) {
		o->zone = argv[*i];
	} else {
		errno = 0;
		v = strtoul(argv[*i], &end, 10);
		if (errno != 0 || *end != '\0' || v == 0 || v > 600000) {
			cli_usage(cmd, "--dns-timeout: '%s' is not a number "
			    "of milliseconds from 1 to 600000", argv[*i]);
			return -1;
		}
		o->timeout_ms = (unsigned)v;
	}
	return 1;
}

int
cli_dns_resolver(const struct cli_dns_opts *o, struct mailsec_resolver **out)
{
	struct mailsec_diag diag = { 0 };
	mailsec_err err;

	err = mailsec_resolver_new_from_args(o->server, o->zone, out, &diag);
	if (err != MAILSEC_OK) {
		/* the zone parser's text names the line itself */
		if (o->zone != NULL && diag.set)
			return cli_fail(CLI_ERR, "%s: %s", o->zone, diag.text);
		return cli_fail(CLI_ERR, "DNS resolver: %s",
		    diag.set ? diag.text : mailsec_strerror(err));
	}
	if (o->timeout_ms != 0)
		mailsec_resolver_set_timeout(*out, o->timeout_ms);
	return CLI_OK;
}

void
json_str(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	fputc('"', f);
	while (i < len) {
		unsigned char c = p[i];

		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				fprintf(f, "\\u%04x", c);
			} else if (c >= 0x80) {
				n = mailsec_utf8_len(s + i, len - i);
				if (n == 0) {
					fputs("\\ufffd", f);
					break;
				}
				fwrite(p + i, 1, n, f);
				i += n;
				continue;
			} else {
				fputc(c, f);
			}
		}
		i++;
	}
	fputc('"', f);
}

void
json_strz(FILE *f, const char *s)
{
	if (s == NULL)
		fputs("null", f);
	else
		json_str(f, s, strlen(s));
}

void
json_member(FILE *f, const char *key, const char *s)
{
	fprintf(f, ", \"%s\": ", key);
	json_strz(f, s);
}

int
main(int argc, char **argv)
{
	const struct cli_cmd *c;
	int i;

	if (argc < 2) {
		print_overview(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		return cmd_version(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_overview(stdout);
		return CLI_OK;
	}
	c = find_cmd(argv[1]);
	if (c == NULL) {
		fprintf(stderr, "mailsec: unknown command '%s'\n", argv[1]);
		print_overview(stderr);
		return CLI_USAGE;
	}
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(c->usage, stdout);
			return CLI_OK;
		}
	}
	return c->run(argc - 1, argv + 1);
}
