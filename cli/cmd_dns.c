/*
 * cli/cmd_dns.c - `mailsec dns NAME [TYPE]`: one lookup through the DNS
 * layer, printed as the protocol checks see it.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_dns(int argc, char **argv);

/* Writes rr's data in zone-file presentation form to f (TXT unquoted:
 * callers quote it as their format needs). */
static void
rr_print(FILE *f, const struct mailsec_dns_rr *rr, bool json)
{
	char ip[INET6_ADDRSTRLEN];
	size_t i;

	switch (rr->type) {
	case MAILSEC_DNS_A:
		inet_ntop(AF_INET, rr->u.a, ip, sizeof ip);
		json ? json_strz(f, ip) : (void)fputs(ip, f);
		break;
	case MAILSEC_DNS_AAAA:
		inet_ntop(AF_INET6, rr->u.aaaa, ip, sizeof ip);
		json ? json_strz(f, ip) : (void)fputs(ip, f);
		break;
	case MAILSEC_DNS_MX:
		if (json)
			fprintf(f, "{\"preference\": %u, \"exchange\": ",
			    rr->u.mx.preference);
		else
			fprintf(f, "%u ", rr->u.mx.preference);
		if (json) {
			json_strz(f, rr->u.mx.exchange);
			fputc('}', f);
		} else {
			fprintf(f, "%s.", rr->u.mx.exchange);
		}
		break;
	case MAILSEC_DNS_NS:
	case MAILSEC_DNS_CNAME:
	case MAILSEC_DNS_PTR:
		if (json)
			json_strz(f, rr->u.name);
		else
			fprintf(f, "%s.", rr->u.name);
		break;
	case MAILSEC_DNS_TXT:
	case MAILSEC_DNS_SPF:
		json_str(f, rr->u.txt.data, rr->u.txt.len);
		if (!json && rr->u.txt.nstrings > 1)
			fprintf(f, "  (%zu strings joined)",
			    rr->u.txt.nstrings);
		break;
	case MAILSEC_DNS_TLSA:
		if (json)
			fprintf(f, "{\"usage\": %u, \"selector\": %u, "
			    "\"matching_type\": %u, \"data\": \"",
			    rr->u.tlsa.usage, rr->u.tlsa.selector,
			    rr->u.tlsa.mtype);
		else
			fprintf(f, "%u %u %u ", rr->u.tlsa.usage,
			    rr->u.tlsa.selector, rr->u.tlsa.mtype);
		for (i = 0; i < rr->u.tlsa.len; i++)
			fprintf(f, "%02x", rr->u.tlsa.data[i]);
		if (json)
			fputs("\"}", f);
		break;
	default:
		fputs(json ? "null" : "(not decoded)", f);
		break;
	}
}

static const char *
type_text(uint16_t type, char *buf, size_t bufsz)
{
	const char *n = mailsec_dns_type_name(type);

	if (n != NULL)
		return n;
	snprintf(buf, bufsz, "TYPE%u", type);
	return buf;
}

static void
print_json(const struct mailsec_dns_result *res)
{
	char tb[16];
	size_t i;

	printf("{\"name\": ");
	json_strz(stdout, res->qname);
	json_member(stdout, "type", type_text(res->qtype, tb, sizeof tb));
	printf(", \"status\": \"%s\", \"temporary\": %s, \"secure\": %s",
	    mailsec_dns_status_name(res->status),
	    mailsec_dns_status_is_temporary(res->status) ? "true" : "false",
	    res->secure ? "true" : "false");
	json_member(stdout, "canonical", res->canonical);
	printf(", \"records\": [");
	for (i = 0; i < res->count; i++) {
		printf("%s{\"type\": ", i ? ", " : "");
		json_strz(stdout, type_text(res->rrs[i].type, tb, sizeof tb));
		printf(", \"ttl\": %u, \"data\": ", res->rrs[i].ttl);
		rr_print(stdout, &res->rrs[i], true);
		printf("}");
	}
	printf("], \"why\": ");
	json_strz(stdout, res->why[0] ? res->why : NULL);
	printf("}\n");
}

static void
print_text(const struct mailsec_dns_result *res)
{
	char tb[16];
	size_t i;

	printf("%s %s: %s", res->qname, type_text(res->qtype, tb, sizeof tb),
	    mailsec_dns_status_name(res->status));
	if (res->status == MAILSEC_DNS_ANSWER)
		printf(" (%zu record%s, %s)", res->count,
		    res->count == 1 ? "" : "s",
		    res->secure ? "DNSSEC-validated" : "not DNSSEC-validated");
	else if (mailsec_dns_status_is_temporary(res->status))
		printf(" (temporary failure%s%s)", res->why[0] ? ": " : "",
		    res->why);
	printf("\n");
	if (res->canonical != NULL && strcmp(res->canonical, res->qname) != 0)
		printf("  via CNAME to %s\n", res->canonical);
	for (i = 0; i < res->count; i++) {
		printf("  %u %s ", res->rrs[i].ttl,
		    type_text(res->rrs[i].type, tb, sizeof tb));
		rr_print(stdout, &res->rrs[i], false);
		printf("\n");
	}
}

int
cmd_dns(int argc, char **argv)
{
	struct cli_dns_opts dns = { 0 };
	struct mailsec_resolver *r = NULL;
	struct mailsec_dns_result *res = NULL;
	const char *name = NULL, *tname = "TXT";
	bool json = false, have_type = false;
	uint16_t type;
	mailsec_err err;
	int i, n, rc;

	for (i = 1; i < argc; i++) {
		if ((n = cli_dns_opt("dns", argc, argv, &i, &dns)) != 0) {
			if (n < 0)
				return CLI_USAGE;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			return cli_usage("dns", "unknown option '%s'", argv[i]);
		} else if (name == NULL) {
			name = argv[i];
		} else if (!have_type) {
			tname = argv[i];
			have_type = true;
		} else {
			return cli_usage("dns", "unexpected argument '%s'",
			    argv[i]);
		}
	}
	if (name == NULL)
		return cli_usage("dns", "a NAME to look up is required");
	type = mailsec_dns_type_parse(tname);
	if (type == 0)
		return cli_usage("dns", "unknown record type '%s'", tname);
	if ((rc = cli_dns_resolver(&dns, &r)) != CLI_OK)
		return rc;
	err = mailsec_dns_lookup(r, name, type, &res);
	if (err == MAILSEC_EINVAL) {
		mailsec_resolver_free(r);
		return cli_fail(CLI_ERR, "'%s' is not a valid DNS name "
		    "(empty label, label over 63 or name over 253 octets)",
		    name);
	}
	if (err != MAILSEC_OK) {
		mailsec_resolver_free(r);
		return cli_fail(CLI_ERR, "lookup of %s failed: %s", name,
		    mailsec_strerror(err));
	}
	if (json)
		print_json(res);
	else
		print_text(res);
	mailsec_dns_result_free(res);
	mailsec_resolver_free(r);
	return CLI_OK;
}
