/*
 * cli/cmd_dmarc.c - `mailsec dmarc DOMAIN`: the DMARC policy in force for
 * a domain (RFC 9989 4.10.1 policy discovery, or RFC 7489 6.6.3 with
 * --rfc7489), where it was found, the Organizational Domain, and the
 * record's problems tag by tag. The other mode's answer is shown where
 * it differs.
 */
#include <stdlib.h>
#include <string.h>

#include <mailsec/dmarc.h>

#include "cli.h"

int cmd_dmarc(int argc, char **argv);

static const char *
nz(const char *s)
{
	return s != NULL ? s : "(none)";
}

static const char *
exists_name(int e)
{
	return e == 1 ? "yes" : e == 0 ? "no" : "not checked";
}

/* Do two discoveries give different answers? */
static bool
differ(const struct mailsec_dmarc_domain *a,
    const struct mailsec_dmarc_domain *b)
{
	if (a->policy != b->policy)
		return true;
	if ((a->policy_domain == NULL) != (b->policy_domain == NULL))
		return true;
	if (a->policy_domain != NULL &&
	    strcmp(a->policy_domain, b->policy_domain) != 0)
		return true;
	if ((a->org_domain == NULL) != (b->org_domain == NULL))
		return true;
	return a->org_domain != NULL &&
	    strcmp(a->org_domain, b->org_domain) != 0;
}

static void
json_uris(const char *key, const struct mailsec_dmarc_uri *v, size_t n)
{
	size_t i;

	printf(", \"%s\": [", key);
	for (i = 0; i < n; i++) {
		printf("%s{\"uri\": ", i ? ", " : "");
		json_strz(stdout, v[i].uri);
		json_member(stdout, "address", v[i].address);
		printf(", \"valid\": %s", v[i].valid ? "true" : "false");
		if (v[i].has_limit)
			printf(", \"limit\": %llu",
			    (unsigned long long)v[i].limit);
		printf("}");
	}
	printf("]");
}

static void
json_domain(const struct mailsec_dmarc_outcome *o)
{
	const struct mailsec_dmarc_domain *d = &o->domains[0];
	const struct mailsec_dmarc_record *rec = d->record;
	size_t i;

	printf("{\"mode\": \"%s\", \"result\": \"%s\", \"policy\": ",
	    mailsec_dmarc_mode_name(o->mode),
	    mailsec_dmarc_result_name(d->result));
	json_strz(stdout, mailsec_dmarc_policy_name(d->policy));
	json_member(stdout, "policy_tag", d->policy_tag);
	json_member(stdout, "policy_domain", d->policy_domain);
	json_member(stdout, "queried_name", d->queried_name);
	json_member(stdout, "org_domain", d->org_domain);
	json_member(stdout, "psd_domain", d->psd_domain);
	printf(", \"exists\": %s", d->exists == 1 ? "true" : d->exists == 0 ?
	    "false" : "null");
	json_member(stdout, "record_text", d->record_text);
	json_member(stdout, "problem", d->problem);
	printf(", \"record\": ");
	if (rec == NULL) {
		printf("null");
	} else {
		printf("{\"usable\": %s, \"p\": ", rec->usable ? "true" :
		    "false");
		json_strz(stdout, mailsec_dmarc_policy_name(rec->p));
		json_member(stdout, "sp", mailsec_dmarc_policy_name(rec->sp));
		json_member(stdout, "np", mailsec_dmarc_policy_name(rec->np));
		printf(", \"psd\": \"%s\", \"t\": \"%s\", \"adkim\": \"%s\", "
		    "\"aspf\": \"%s\", \"pct\": %u, \"fo\": %u",
		    rec->psd == MAILSEC_DMARC_PSD_Y ? "y" :
		    rec->psd == MAILSEC_DMARC_PSD_N ? "n" : "u",
		    rec->testing ? "y" : "n",
		    rec->adkim == MAILSEC_DMARC_STRICT ? "s" : "r",
		    rec->aspf == MAILSEC_DMARC_STRICT ? "s" : "r", rec->pct,
		    rec->fo);
		json_uris("rua", rec->rua, rec->nrua);
		json_uris("ruf", rec->ruf, rec->nruf);
		printf(", \"problems\": [");
		for (i = 0; i < rec->nproblems; i++) {
			const struct mailsec_dmarc_problem *p =
			    &rec->problems[i];

			printf("%s{\"severity\": \"%s\", \"tag\": ", i ? ", " :
			    "", p->severity == MAILSEC_DMARC_ERROR ? "error" :
			    "warning");
			json_strz(stdout, p->tag);
			printf(", \"offset\": %zu", p->offset);
			json_member(stdout, "text", p->text);
			printf("}");
		}
		printf("]}");
	}
	printf(", \"reasons\": [");
	for (i = 0; i < o->nreasons; i++) {
		printf("%s", i ? ", " : "");
		json_strz(stdout, o->reasons[i]);
	}
	printf("], \"queries\": %u}", o->queries);
}

static void
text_domain(const struct mailsec_dmarc_outcome *o, bool full,
    const char *pre)
{
	const struct mailsec_dmarc_domain *d = &o->domains[0];
	const struct mailsec_dmarc_record *rec = d->record;
	size_t i;

	if (d->result == MAILSEC_DMARC_TEMPERROR)
		printf("%spolicy: temperror (%s)\n", pre, nz(d->problem));
	else if (d->policy == MAILSEC_DMARC_POLICY_UNSET)
		printf("%spolicy: none applies (%s)\n", pre, nz(d->problem));
	else
		printf("%spolicy: %s (%s=) from %s%s\n", pre,
		    mailsec_dmarc_policy_name(d->policy), d->policy_tag,
		    d->queried_name, d->from_psd ? " (public suffix domain)" :
		    "");
	printf("%sorganizational domain: %s\n", pre, nz(d->org_domain));
	if (!full)
		return;
	if (d->psd_domain != NULL)
		printf("public suffix domain: %s\n", d->psd_domain);
	if (d->exists >= 0)
		printf("domain exists: %s\n", exists_name(d->exists));
	if (d->record_text != NULL)
		printf("record: %s\n", d->record_text);
	if (rec != NULL) {
		printf("alignment: adkim=%s aspf=%s\n",
		    rec->adkim == MAILSEC_DMARC_STRICT ? "s" : "r",
		    rec->aspf == MAILSEC_DMARC_STRICT ? "s" : "r");
		if (rec->testing)
			printf("testing: t=y (the policy is applied one "
			    "level lower)\n");
		if (o->mode == MAILSEC_DMARC_RFC7489 && rec->has_pct)
			printf("pct: %u\n", rec->pct);
		for (i = 0; i < rec->nrua; i++)
			printf("rua: %s\n", rec->rua[i].uri);
		for (i = 0; i < rec->nruf; i++)
			printf("ruf: %s\n", rec->ruf[i].uri);
		for (i = 0; i < rec->nproblems; i++) {
			const struct mailsec_dmarc_problem *p =
			    &rec->problems[i];

			printf("%s: %s%sat offset %zu: %s\n",
			    p->severity == MAILSEC_DMARC_ERROR ? "error" :
			    "warning", p->tag, p->tag[0] ? "= " : "",
			    p->offset, p->text);
		}
	}
	printf("DNS queries: %u\n", o->queries);
}

int
cmd_dmarc(int argc, char **argv)
{
	struct cli_dns_opts dns = { 0 };
	struct mailsec_dmarc_opts opts[2];
	struct mailsec_dmarc_outcome *o[2] = { NULL, NULL };
	struct mailsec_dmarc_psl *psl = NULL;
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag diag = { 0 };
	const char *domain = NULL, *psl_file = NULL;
	bool json = false, compat = false, other_ok;
	mailsec_err err;
	int i, n, rc;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((n = cli_dns_opt("dmarc", argc, argv, &i, &dns)) != 0) {
			if (n < 0)
				return CLI_USAGE;
		} else if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--rfc7489") == 0) {
			compat = true;
		} else if (strcmp(a, "--psl") == 0) {
			if (i + 1 >= argc)
				return cli_usage("dmarc", "--psl needs a file");
			psl_file = argv[++i];
		} else if (a[0] == '-' && a[1] != '\0') {
			return cli_usage("dmarc", "unknown argument '%s'", a);
		} else if (domain == NULL) {
			domain = a;
		} else {
			return cli_usage("dmarc", "one DOMAIN only");
		}
	}
	if (domain == NULL)
		return cli_usage("dmarc", "DOMAIN is required");
	/* The PSL serves RFC 7489 mode: required with --rfc7489, else only
	 * for the comparison (skipped if it cannot be loaded). */
	err = mailsec_dmarc_psl_load(psl_file, &psl, &diag);
	if (err != MAILSEC_OK && (compat || psl_file != NULL))
		return cli_fail(CLI_ERR, "%s", diag.text);
	if ((rc = cli_dns_resolver(&dns, &r)) != CLI_OK)
		goto out;
	memset(opts, 0, sizeof opts);
	opts[0].mode = compat ? MAILSEC_DMARC_RFC7489 : MAILSEC_DMARC_RFC9989;
	opts[1].mode = compat ? MAILSEC_DMARC_RFC9989 : MAILSEC_DMARC_RFC7489;
	opts[0].psl = opts[1].psl = psl;
	memset(&diag, 0, sizeof diag);
	err = mailsec_dmarc_discover(r, domain, &opts[0], &o[0], &diag);
	if (err != MAILSEC_OK) {
		rc = cli_fail(err == MAILSEC_EINVAL ? CLI_USAGE : CLI_ERR,
		    "%s", diag.set ? diag.text : mailsec_strerror(err));
		goto out;
	}
	other_ok = (psl != NULL || compat) && mailsec_dmarc_discover(r,
	    domain, &opts[1], &o[1], NULL) == MAILSEC_OK;
	if (json) {
		printf("{\"domain\": ");
		json_strz(stdout, o[0]->domains[0].domain);
		printf(", \"answer\": ");
		json_domain(o[0]);
		if (other_ok) {
			printf(", \"differs\": %s, \"%s\": ",
			    differ(&o[0]->domains[0], &o[1]->domains[0]) ?
			    "true" : "false",
			    mailsec_dmarc_mode_name(opts[1].mode));
			json_domain(o[1]);
		}
		printf("}\n");
	} else {
		printf("domain: %s\nmode: %s\n", o[0]->domains[0].domain,
		    mailsec_dmarc_mode_name(opts[0].mode));
		text_domain(o[0], true, "");
		if (other_ok && differ(&o[0]->domains[0], &o[1]->domains[0])) {
			printf("%s differs:\n", mailsec_dmarc_mode_name(
			    opts[1].mode));
			text_domain(o[1], false, "  ");
		} else if (other_ok) {
			printf("%s: same answer\n", mailsec_dmarc_mode_name(
			    opts[1].mode));
		}
	}
	rc = CLI_OK;
out:
	mailsec_dmarc_outcome_free(o[0]);
	mailsec_dmarc_outcome_free(o[1]);
	mailsec_resolver_free(r);
	mailsec_dmarc_psl_free(psl);
	return rc;
}
