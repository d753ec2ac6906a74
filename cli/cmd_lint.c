/*
 * cli/cmd_lint.c - `mailsec lint RECORD`: explains every error and
 * warning of an SPF, DMARC, DKIM key, MTA-STS (TXT or policy file) or
 * TLS-RPT record, each with its fix. Exit status 1 when there is an
 * error, 0 when only warnings or nothing, 2 for a usage error.
 */
#include <stdlib.h>
#include <string.h>

#include <mailsec/record.h>

#include "cli.h"

int cmd_lint(int argc, char **argv);

static void
print_json_list(const struct mailsec_lint *l, enum mailsec_severity s)
{
	size_t i;
	bool first = true;

	printf("[");
	for (i = 0; i < l->nfindings; i++) {
		const struct mailsec_finding *f = &l->findings[i];

		if (f->severity != s)
			continue;
		printf("%s\n  {\"code\": ", first ? "" : ",");
		first = false;
		json_strz(stdout, f->code);
		json_member(stdout, "message", f->what);
		json_member(stdout, "fix", f->fix);
		if (f->has_offset)
			printf(", \"offset\": %zu", f->offset);
		else
			printf(", \"offset\": null");
		printf("}");
	}
	printf("]");
}

static void
print_json(const struct mailsec_lint *l)
{
	size_t i;

	printf("{\"type\": \"%s\", \"detected\": %s",
	    mailsec_record_type_name(l->type), l->detected ? "true" :
	    "false");
	if (l->type == MAILSEC_RECORD_SPF) {
		printf(", \"lookups\": %u, \"resolved\": %s", l->lookups,
		    l->resolved ? "true" : "false");
		if (l->resolved) {
			printf(", \"void_lookups\": %u, \"flat\": [",
			    l->void_lookups);
			for (i = 0; i < l->nflat; i++) {
				if (i > 0)
					printf(", ");
				json_strz(stdout, l->flat[i]);
			}
			printf("]");
		}
	}
	printf(",\n \"errors\": ");
	print_json_list(l, MAILSEC_SEV_ERROR);
	printf(",\n \"warnings\": ");
	print_json_list(l, MAILSEC_SEV_WARNING);
	printf(",\n \"info\": ");
	print_json_list(l, MAILSEC_SEV_INFO);
	printf("}\n");
}

/* The record's line around offset with a caret under it. */
static void
print_caret(const char *p, size_t len, size_t off)
{
	size_t s = off, e = off, i;

	if (off > len)
		return;
	while (s > 0 && p[s - 1] != '\n' && off - s < 60)
		s--;
	while (e < len && p[e] != '\n' && p[e] != '\r' && e - off < 60)
		e++;
	printf("      ");
	for (i = s; i < e; i++)
		putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?');
	printf("\n      %*s^\n", (int)(off - s), "");
}

static void
print_text(const struct mailsec_lint *l, const char *p, size_t len)
{
	size_t i, ne = mailsec_lint_count(l, MAILSEC_SEV_ERROR),
	    nw = mailsec_lint_count(l, MAILSEC_SEV_WARNING);

	printf("%s record%s: %zu error%s, %zu warning%s",
	    mailsec_record_type_name(l->type), l->detected ? " (detected)" :
	    "", ne, ne == 1 ? "" : "s", nw, nw == 1 ? "" : "s");
	if (l->type == MAILSEC_RECORD_SPF)
		printf(", %u DNS-querying term%s%s", l->lookups,
		    l->lookups == 1 ? "" : "s", l->resolved ?
		    " in the include tree" : "");
	printf("\n");
	for (i = 0; i < l->nfindings; i++) {
		const struct mailsec_finding *f = &l->findings[i];

		printf("  %s %s", mailsec_severity_name(f->severity), f->code);
		if (f->has_offset)
			printf(" (at %zu)", f->offset);
		printf(": %s\n", f->what);
		if (f->has_offset && len < 4096)
			print_caret(p, len, f->offset);
		if (f->fix[0] != '\0')
			printf("    fix: %s\n", f->fix);
	}
	if (l->resolved && l->nflat > 0) {
		printf("  flattened ip4/ip6 terms:");
		for (i = 0; i < l->nflat; i++)
			printf(" %s", l->flat[i]);
		printf("\n");
	}
}

int
cmd_lint(int argc, char **argv)
{
	struct cli_dns_opts dns = { 0 };
	struct mailsec_lint_opts o = { 0 };
	struct mailsec_resolver *r = NULL;
	struct mailsec_lint *l = NULL;
	struct mailsec_diag d = { 0 };
	const char *record = NULL, *file = NULL;
	char *data = NULL;
	size_t len = 0;
	bool json = false, resolve = false;
	int i, k, rc = CLI_ERR;
	mailsec_err err;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((k = cli_dns_opt("lint", argc, argv, &i, &dns)) < 0)
			return CLI_USAGE;
		if (k > 0) {
			resolve = true;
			continue;
		}
		if (strcmp(a, "--json") == 0)
			json = true;
		else if (strcmp(a, "--resolve") == 0)
			resolve = true;
		else if (strcmp(a, "--type") == 0 && i + 1 < argc) {
			o.type = mailsec_record_type_parse(argv[++i]);
			if (o.type == MAILSEC_RECORD_UNKNOWN)
				return cli_usage("lint", "--type: spf, dmarc, "
				    "dkim, mta-sts, mta-sts-policy or tlsrpt");
		} else if (strcmp(a, "--domain") == 0 && i + 1 < argc)
			o.domain = argv[++i];
		else if (strcmp(a, "--selector") == 0 && i + 1 < argc)
			o.selector = argv[++i];
		else if (strcmp(a, "--file") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (strcmp(a, "--") == 0 && i + 1 < argc &&
		    record == NULL)
			record = argv[++i];
		else if (a[0] == '-' && a[1] == '-')
			return cli_usage("lint", "unknown option '%s'", a);
		else if (record == NULL)
			record = a;
		else
			return cli_usage("lint", "one record at a time (quote "
			    "it: mailsec lint 'v=spf1 ...')");
	}
	if ((record == NULL) == (file == NULL))
		return cli_usage("lint", "give the record, or --file FILE "
		    "('-' for standard input)");
	if (file != NULL) {
		if (cli_read_file(file, MAILSEC_LINT_INPUT_MAX, &data, &len) !=
		    CLI_OK)
			return CLI_ERR;
		/* a TXT record from a file: one trailing newline is not
		 * part of it */
		if (o.type != MAILSEC_RECORD_MTASTS_POLICY &&
		    mailsec_record_detect(data, len) !=
		    MAILSEC_RECORD_MTASTS_POLICY)
			while (len > 0 && (data[len - 1] == '\n' ||
			    data[len - 1] == '\r'))
				len--;
	} else {
		len = strlen(record);
	}
	if (resolve) {
		if (cli_dns_resolver(&dns, &r) != CLI_OK)
			goto done;
		o.resolver = r;
	}
	err = mailsec_lint_record(file != NULL ? data : record, len, &o, &l,
	    &d);
	if (err != MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "lint: %s", d.set ? d.text :
		    mailsec_strerror(err));
		goto done;
	}
	if (json)
		print_json(l);
	else
		print_text(l, file != NULL ? data : record, len);
	rc = mailsec_lint_count(l, MAILSEC_SEV_ERROR) > 0 ? CLI_ERR : CLI_OK;
done:
	mailsec_lint_free(l);
	mailsec_resolver_free(r);
	free(data);
	return rc;
}
