/*
 * cli/cmd_audit.c - `mailsec audit DOMAIN`: MX, SPF (include tree
 * flattened, lookups counted), DKIM (given and common selectors), DMARC
 * (with inheritance), MTA-STS, TLS-RPT, DANE TLSA, BIMI: a graded report
 * in which every finding has its fix.
 *
 * The MTA-STS policy file is fetched over HTTPS (daemon/https.c, libcurl;
 * RFC 8461 3.3) unless --no-fetch; --ca-file trusts one CA file instead
 * of the system store. With --dns/--dns-zone the policy host is
 * resolved through the same DNS source as the rest of the audit.
 */
#include <stdlib.h>
#include <string.h>

#include <mailsec/record.h>

#include "cli.h"
#include "https.h"

int cmd_audit(int argc, char **argv);

static const char *const areas[] = {
	"mx", "spf", "dkim", "dmarc", "mta-sts", "tlsrpt", "dane", "bimi",
};

static void
print_json(const struct mailsec_audit *a)
{
	size_t i;

	printf("{\"domain\": ");
	json_strz(stdout, a->domain);
	printf(", \"grade\": \"%c\", \"score\": %u,\n \"mx\": [", a->grade,
	    a->score);
	for (i = 0; i < a->nmx; i++) {
		printf("%s", i ? ", " : "");
		json_strz(stdout, a->mx[i]);
	}
	printf("], \"null_mx\": %s", a->null_mx ? "true" : "false");
	json_member(stdout, "spf", a->spf);
	printf(", \"spf_lookups\": %u, \"spf_void_lookups\": %u, "
	    "\"spf_flat\": [", a->spf_lookups, a->spf_void_lookups);
	for (i = 0; i < a->nspf_flat; i++) {
		printf("%s", i ? ", " : "");
		json_strz(stdout, a->spf_flat[i]);
	}
	printf("],\n \"dkim\": [");
	for (i = 0; i < a->ndkim; i++) {
		printf("%s{\"selector\": ", i ? ", " : "");
		json_strz(stdout, a->dkim[i].selector);
		printf(", \"key_bits\": %u, \"testing\": %s}",
		    a->dkim[i].key_bits, a->dkim[i].testing ? "true" :
		    "false");
	}
	printf("]");
	json_member(stdout, "dmarc", a->dmarc);
	json_member(stdout, "dmarc_domain", a->dmarc_domain);
	printf(", \"dmarc_inherited\": %s", a->dmarc_inherited ? "true" :
	    "false");
	json_member(stdout, "mta_sts", a->mtasts);
	json_member(stdout, "mta_sts_policy", a->mtasts_policy);
	json_member(stdout, "tlsrpt", a->tlsrpt);
	printf(", \"dane_hosts\": %zu", a->ndane);
	json_member(stdout, "bimi", a->bimi);
	printf(",\n \"findings\": [");
	for (i = 0; i < a->nfindings; i++) {
		const struct mailsec_finding *f = &a->findings[i];

		printf("%s\n  {\"area\": ", i ? "," : "");
		json_strz(stdout, f->area);
		json_member(stdout, "severity",
		    mailsec_severity_name(f->severity));
		json_member(stdout, "code", f->code);
		json_member(stdout, "message", f->what);
		json_member(stdout, "fix", f->fix);
		printf("}");
	}
	printf("]}\n");
}

static void
print_text(const struct mailsec_audit *a)
{
	size_t i, k, n[3] = { 0, 0, 0 };

	for (i = 0; i < a->nfindings; i++)
		n[a->findings[i].severity]++;
	printf("%s: grade %c (%u/100), %zu error%s, %zu warning%s\n",
	    a->domain, a->grade, a->score, n[MAILSEC_SEV_ERROR],
	    n[MAILSEC_SEV_ERROR] == 1 ? "" : "s", n[MAILSEC_SEV_WARNING],
	    n[MAILSEC_SEV_WARNING] == 1 ? "" : "s");
	printf("  MX:      ");
	for (i = 0; i < a->nmx; i++)
		printf("%s%s", i ? ", " : "", a->mx[i]);
	printf("%s\n", a->null_mx ? " (null MX)" : a->nmx ? "" : "none");
	printf("  SPF:     %s\n", a->spf ? a->spf : "none");
	if (a->spf)
		printf("           %u DNS-querying terms in the include tree, "
		    "%u void; flattened: %zu ip4/ip6 terms\n", a->spf_lookups,
		    a->spf_void_lookups, a->nspf_flat);
	printf("  DKIM:    ");
	for (i = 0; i < a->ndkim; i++)
		printf("%s%s (%u bits)", i ? ", " : "", a->dkim[i].selector,
		    a->dkim[i].key_bits);
	printf("%s\n", a->ndkim ? "" : "no key at the selectors tried");
	printf("  DMARC:   %s", a->dmarc ? a->dmarc : "none");
	if (a->dmarc_inherited)
		printf(" (from %s)", a->dmarc_domain);
	printf("\n  MTA-STS: %s\n", a->mtasts ? a->mtasts : "none");
	printf("  TLS-RPT: %s\n", a->tlsrpt ? a->tlsrpt : "none");
	printf("  DANE:    %zu of %zu MX hosts with TLSA\n", a->ndane, a->nmx);
	printf("  BIMI:    %s\n", a->bimi ? a->bimi : "none");
	for (k = 0; k < sizeof areas / sizeof areas[0]; k++) {
		bool head = false;

		for (i = 0; i < a->nfindings; i++) {
			const struct mailsec_finding *f = &a->findings[i];

			if (strcmp(f->area, areas[k]) != 0)
				continue;
			if (!head)
				printf("\n[%s]\n", areas[k]);
			head = true;
			printf("  %s %s: %s\n", mailsec_severity_name(
			    f->severity), f->code, f->what);
			if (f->fix[0] != '\0')
				printf("    fix: %s\n", f->fix);
		}
	}
}

int
cmd_audit(int argc, char **argv)
{
	const char *sel[MAILSEC_AUDIT_SELECTOR_MAX];
	struct cli_dns_opts dns = { 0 };
	struct mailsec_audit_opts o = { 0 };
	struct gw_https_opts ho = { 0 };
	struct mailsec_https_client hc = { NULL, NULL };
	struct mailsec_resolver *r = NULL;
	struct gw_https *h = NULL;
	struct mailsec_audit *a = NULL;
	struct mailsec_diag d = { 0 };
	const char *domain = NULL;
	bool json = false, fetch = true;
	char why[256];
	int i, k, rc = CLI_ERR;
	mailsec_err err;

	for (i = 1; i < argc; i++) {
		const char *x = argv[i];

		if ((k = cli_dns_json_opt("audit", argc, argv, &i, &dns,
		    &json)) < 0)
			return CLI_USAGE;
		if (k > 0)
			continue;
		if (strcmp(x, "--no-common-selectors") == 0)
			o.no_common_selectors = true;
		else if (strcmp(x, "--no-fetch") == 0)
			fetch = false;
		else if (strcmp(x, "--ca-file") == 0 && i + 1 < argc)
			ho.ca_file = argv[++i];
		else if (strcmp(x, "--selector") == 0 && i + 1 < argc) {
			if (o.nselectors == MAILSEC_AUDIT_SELECTOR_MAX)
				return cli_usage("audit", "at most %d "
				    "selectors", MAILSEC_AUDIT_SELECTOR_MAX);
			sel[o.nselectors++] = argv[++i];
		} else if (x[0] == '-')
			return cli_usage("audit", "unknown option '%s'", x);
		else if (domain == NULL)
			domain = x;
		else
			return cli_usage("audit", "one domain at a time");
	}
	if (domain == NULL)
		return cli_usage("audit", "which domain?");
	o.selectors = sel;
	if (cli_dns_resolver(&dns, &r) != CLI_OK)
		return CLI_ERR;
	if (fetch) {
		/* the policy host from the audit's own DNS source when the
		 * user chose one (an offline zone works end to end) */
		if (dns.server != NULL || dns.zone != NULL)
			ho.resolver = r;
		why[0] = '\0';
		if ((err = gw_https_new(&ho, &h, why, sizeof why)) !=
		    MAILSEC_OK) {
			rc = cli_fail(CLI_ERR, "audit: HTTPS client: %s",
			    why[0] != '\0' ? why : mailsec_strerror(err));
			goto done;
		}
		gw_https_client(h, &hc);
		o.https = &hc;
	}
	err = mailsec_audit_run(r, domain, &o, &a, &d);
	if (err == MAILSEC_EINVAL) {
		rc = cli_usage("audit", "%s", d.set ? d.text : "bad domain");
		goto done;
	}
	if (err != MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "audit: %s", d.set ? d.text :
		    mailsec_strerror(err));
		goto done;
	}
	if (json)
		print_json(a);
	else
		print_text(a);
	rc = CLI_OK;
done:
	mailsec_audit_free(a);
	gw_https_free(h);
	mailsec_resolver_free(r);
	return rc;
}
