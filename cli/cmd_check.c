/*
 * cli/cmd_check.c - `mailsec check`: what a receiving MTA would decide for
 * one message: SPF (RFC 7208) for the client address and MAIL FROM (or
 * HELO), every DKIM signature (RFC 6376), the ARC chain (RFC 8617), DMARC
 * (RFC 9989, or RFC 7489 with --rfc7489; a chain sealed by a domain given
 * with --trusted-arc can override a DMARC fail), and the
 * Authentication-Results field (RFC 8601) that records them, with a
 * readable verdict and its reasons.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mailsec/arc.h>
#include <mailsec/authres.h>
#include <mailsec/dmarc.h>

#include "cli.h"

int cmd_check(int argc, char **argv);

/* header.b prefix reported (RFC 6008 4; OpenDKIM's length). */
#define CHECK_B_PREFIX 8
/* --trusted-arc domains. */
#define CHECK_TRUSTED_MAX 16

struct check {
	const char *file;
	struct mailsec_spf_request spf_req;
	bool have_from;
	const char *authserv_id;
	char hostname[256];
	bool json;
	bool rfc7489;
	const char *psl_path;
	const char *trusted[CHECK_TRUSTED_MAX];
	size_t ntrusted;
	struct cli_dns_opts dns;

	char *data;
	struct mailsec_msg *msg;
	struct mailsec_resolver *r;
	struct mailsec_dmarc_psl *psl;
	struct mailsec_spf_outcome *spf;
	struct mailsec_dkim_verify *dkim;
	struct mailsec_arc_verify *arc;
	char *arc_comment;	/* for a trusted-chain override */
	struct mailsec_author *author;
	struct mailsec_dmarc_outcome *dmarc;
	struct mailsec_authres *ar;
	char *ar_text;		/* folded, for the text output */
	char *ar_line;		/* on one line, for --json */
};

static void
check_free(struct check *c)
{
	free(c->ar_text);
	free(c->ar_line);
	mailsec_authres_free(c->ar);
	mailsec_dmarc_outcome_free(c->dmarc);
	mailsec_author_free(c->author);
	free(c->arc_comment);
	mailsec_arc_verify_free(c->arc);
	mailsec_dkim_verify_free(c->dkim);
	mailsec_spf_outcome_free(c->spf);
	mailsec_dmarc_psl_free(c->psl);
	mailsec_resolver_free(c->r);
	mailsec_msg_free(c->msg);
	free(c->data);
}

/* The spf, dkim and dmarc results as one Authentication-Results model. */
static mailsec_err
build_authres(struct check *c)
{
	const struct mailsec_dmarc_outcome *d = c->dmarc;
	mailsec_err err;

	if ((err = mailsec_authres_new(c->authserv_id, &c->ar)) != MAILSEC_OK)
		return err;
	err = mailsec_authres_add_result(c->ar, "spf",
	    mailsec_spf_result_name(c->spf->result));
	if (err == MAILSEC_OK && c->spf->identity == MAILSEC_SPF_ID_HELO)
		err = mailsec_authres_add_prop(c->ar, "smtp", "helo",
		    c->spf->domain, NULL);
	else if (err == MAILSEC_OK)
		err = mailsec_authres_add_prop(c->ar, "smtp", "mailfrom",
		    c->spf->sender != NULL ? c->spf->sender : c->spf->domain,
		    NULL);
	if (err == MAILSEC_OK)
		err = mailsec_dkim_authres_add(c->ar, c->dkim);
	if (err == MAILSEC_OK)
		err = mailsec_arc_authres_add(c->ar, c->arc, c->spf_req.ip);
	if (err != MAILSEC_OK)
		return err;
	err = mailsec_authres_add_result(c->ar, "dmarc",
	    mailsec_dmarc_result_name(d->result));
	if (err == MAILSEC_OK && d->disposition != MAILSEC_DMARC_DISP_UNSET) {
		char comment[64];

		snprintf(comment, sizeof(comment), "%s dis=%s",
		    mailsec_dmarc_mode_name(d->mode),
		    mailsec_dmarc_disposition_name(d->disposition));
		err = mailsec_authres_set_comment(c->ar, comment);
	}
	if (err == MAILSEC_OK && d->from_domain != NULL)
		err = mailsec_authres_add_prop(c->ar, "header", "from",
		    d->from_domain, NULL);
	if (err == MAILSEC_OK && d->policy != MAILSEC_DMARC_POLICY_UNSET)
		err = mailsec_authres_add_prop(c->ar, "policy", "dmarc",
		    mailsec_dmarc_policy_name(d->policy), NULL);
	return err;
}

/* What a receiver does with the message, in a word. */
static const char *
verdict(const struct mailsec_dmarc_outcome *d)
{
	if (d->result == MAILSEC_DMARC_TEMPERROR)
		return "defer";
	switch (d->disposition) {
	case MAILSEC_DMARC_DISP_REJECT:
		return "reject";
	case MAILSEC_DMARC_DISP_QUARANTINE:
		return "quarantine";
	default:
		return "accept";
	}
}

static void
print_json(const struct check *c)
{
	const struct mailsec_spf_outcome *o = c->spf;
	const struct mailsec_arc_outcome *a =
	    mailsec_arc_verify_outcome(c->arc);
	const struct mailsec_dmarc_outcome *d = c->dmarc;
	size_t i, n = mailsec_dkim_verify_count(c->dkim);

	printf("{\"spf\": {\"result\": \"%s\", \"identity\": \"%s\", "
	    "\"domain\": ", mailsec_spf_result_name(o->result),
	    o->identity == MAILSEC_SPF_ID_HELO ? "helo" : "mailfrom");
	json_strz(stdout, o->domain);
	json_member(stdout, "mechanism", o->mechanism);
	json_member(stdout, "explanation", o->explanation);
	json_member(stdout, "problem", o->problem);
	printf("},\n \"dkim\": [");
	for (i = 0; i < n; i++) {
		const struct mailsec_dkim_sig_info *s =
		    mailsec_dkim_verify_sig(c->dkim, i);

		printf("%s{\"domain\": ", i ? ", " : "");
		json_str(stdout, s->domain.ptr, s->domain.len);
		printf(", \"selector\": ");
		json_str(stdout, s->selector.ptr, s->selector.len);
		printf(", \"algorithm\": ");
		json_str(stdout, s->algorithm_text.ptr,
		    s->algorithm_text.len);
		json_member(stdout, "result",
		    mailsec_dkim_result_name(s->result));
		json_member(stdout, "reason",
		    mailsec_dkim_reason_name(s->reason));
		json_member(stdout, "reason_text", s->reason_text);
		printf("}");
	}
	printf("],\n \"arc\": {\"result\": \"%s\", \"instances\": %u, "
	    "\"oldest_pass\": ", mailsec_arc_result_name(a->result),
	    a->instances);
	if (a->oldest_pass < 0)
		printf("null");
	else
		printf("%d", a->oldest_pass);
	json_member(stdout, "reason", a->reason_text);
	printf("},\n \"dmarc\": {\"result\": \"%s\", \"from_domain\": ",
	    mailsec_dmarc_result_name(d->result));
	json_strz(stdout, d->from_domain);
	json_member(stdout, "author", mailsec_author_status_name(
	    d->author_status));
	json_member(stdout, "policy_domain", d->policy_domain);
	json_member(stdout, "org_domain", d->org_domain);
	json_member(stdout, "policy", mailsec_dmarc_policy_name(d->policy));
	json_member(stdout, "policy_tag", d->policy_tag);
	/* null without a policy, even when a broken From makes the
	 * receiver reject (the verdict says so) */
	json_member(stdout, "disposition",
	    d->policy == MAILSEC_DMARC_POLICY_UNSET ? NULL :
	    mailsec_dmarc_disposition_name(d->disposition));
	printf(", \"spf_aligned\": %s, \"dkim_aligned\": %s",
	    d->spf_aligned ? "true" : "false",
	    d->dkim_aligned ? "true" : "false");
	json_member(stdout, "dkim_domain", d->dkim_domain);
	printf(", \"testing\": %s", d->testing ? "true" : "false");
	printf(", \"overrides\": [");
	for (i = 0; i < d->noverrides; i++) {
		printf("%s{\"type\": \"%s\", \"comment\": ", i ? ", " : "",
		    mailsec_dmarc_override_name(d->overrides[i].type));
		json_strz(stdout, d->overrides[i].comment);
		printf("}");
	}
	printf("], \"reasons\": [");
	for (i = 0; i < d->nreasons; i++) {
		printf("%s", i ? ", " : "");
		json_strz(stdout, d->reasons[i]);
	}
	printf("], \"queries\": %u},\n \"mode\": \"%s\", \"verdict\": "
	    "\"%s\"", d->queries, mailsec_dmarc_mode_name(d->mode),
	    verdict(d));
	json_member(stdout, "authentication_results", c->ar_line);
	printf("}\n");
}

static void
print_text(const struct check *c)
{
	const struct mailsec_spf_outcome *o = c->spf;
	const struct mailsec_arc_outcome *a =
	    mailsec_arc_verify_outcome(c->arc);
	const struct mailsec_dmarc_outcome *d = c->dmarc;
	size_t i, n = mailsec_dkim_verify_count(c->dkim);

	printf("Authentication-Results: %s\n\n", c->ar_text);
	printf("verdict: %s\n", verdict(d));
	printf("spf:   %s (%s %s", mailsec_spf_result_name(o->result),
	    o->identity == MAILSEC_SPF_ID_HELO ? "helo" : "mailfrom",
	    o->domain != NULL ? o->domain : "");
	if (o->mechanism != NULL)
		printf(", matched %s", o->mechanism);
	if (o->problem != NULL)
		printf(", %s", o->problem);
	printf(")\n");
	if (n == 0)
		printf("dkim:  none (no DKIM-Signature field)\n");
	for (i = 0; i < n; i++) {
		const struct mailsec_dkim_sig_info *s =
		    mailsec_dkim_verify_sig(c->dkim, i);

		printf("dkim:  %s d=%.*s s=%.*s a=%.*s (%s)\n",
		    mailsec_dkim_result_name(s->result),
		    (int)s->domain.len, s->domain.ptr,
		    (int)s->selector.len, s->selector.ptr,
		    (int)s->algorithm_text.len, s->algorithm_text.ptr,
		    s->reason_text);
	}
	printf("arc:   %s (%u set%s)%s%s\n", mailsec_arc_result_name(a->result),
	    a->instances, a->instances == 1 ? "" : "s",
	    a->reason_text != NULL && a->reason_text[0] != '\0' ? ": " : "",
	    a->reason_text != NULL ? a->reason_text : "");
	printf("dmarc: %s (%s) from %s", mailsec_dmarc_result_name(d->result),
	    mailsec_dmarc_mode_name(d->mode),
	    d->from_domain != NULL ? d->from_domain : "(no usable From)");
	if (d->policy != MAILSEC_DMARC_POLICY_UNSET)
		printf(", policy %s=%s at _dmarc.%s%s, disposition %s",
		    d->policy_tag != NULL ? d->policy_tag : "p",
		    mailsec_dmarc_policy_name(d->policy), d->policy_domain,
		    d->testing ? " (t=y: testing)" : "",
		    mailsec_dmarc_disposition_name(d->disposition));
	printf("; spf %saligned, dkim %saligned\n",
	    d->spf_aligned ? "" : "not ", d->dkim_aligned ? "" : "not ");
	for (i = 0; i < d->noverrides; i++)
		printf("override: %s%s%s\n",
		    mailsec_dmarc_override_name(d->overrides[i].type),
		    d->overrides[i].comment ? ": " : "",
		    d->overrides[i].comment ? d->overrides[i].comment : "");
	for (i = 0; i < d->nreasons; i++)
		printf("  - %s\n", d->reasons[i]);
}

static int
parse_args(struct check *c, int argc, char **argv)
{
	int i, n;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((n = cli_dns_opt("check", argc, argv, &i, &c->dns)) != 0) {
			if (n < 0)
				return CLI_USAGE;
		} else if (strcmp(a, "--json") == 0) {
			c->json = true;
		} else if (strcmp(a, "--rfc7489") == 0) {
			c->rfc7489 = true;
		} else if (strcmp(a, "--ip") == 0 ||
		    strcmp(a, "--mail-from") == 0 ||
		    strcmp(a, "--helo") == 0 ||
		    strcmp(a, "--authserv-id") == 0 ||
		    strcmp(a, "--trusted-arc") == 0 ||
		    strcmp(a, "--psl") == 0) {
			if (cli_need_value("check", argc, argv, i) != CLI_OK)
				return CLI_USAGE;
			i++;
			if (strcmp(a, "--ip") == 0) {
				c->spf_req.ip = argv[i];
			} else if (strcmp(a, "--mail-from") == 0) {
				c->spf_req.mail_from = argv[i];
				c->have_from = true;
			} else if (strcmp(a, "--helo") == 0) {
				c->spf_req.helo = argv[i];
			} else if (strcmp(a, "--authserv-id") == 0) {
				c->authserv_id = argv[i];
			} else if (strcmp(a, "--trusted-arc") == 0) {
				if (c->ntrusted == CHECK_TRUSTED_MAX)
					return cli_usage("check", "at most %d "
					    "--trusted-arc", CHECK_TRUSTED_MAX);
				c->trusted[c->ntrusted++] = argv[i];
			} else {
				c->psl_path = argv[i];
			}
		} else if (cli_operand("check", a, &c->file) != CLI_OK)
			return CLI_USAGE;
	}
	if (c->spf_req.ip == NULL)
		return cli_usage("check", "--ip is required (the SMTP "
		    "client's address)");
	if (!c->have_from)
		return cli_usage("check", "--mail-from is required ('' for "
		    "the null reverse-path, which checks --helo)");
	if (c->spf_req.mail_from[0] == '\0' && c->spf_req.helo == NULL)
		return cli_usage("check", "a null --mail-from needs --helo");
	if (c->psl_path != NULL && !c->rfc7489)
		return cli_usage("check", "--psl is for --rfc7489 (RFC 9989 "
		    "walks the DNS tree instead)");
	if (c->authserv_id == NULL) {
		if (gethostname(c->hostname, sizeof(c->hostname) - 1) != 0 ||
		    c->hostname[0] == '\0')
			snprintf(c->hostname, sizeof(c->hostname),
			    "localhost");
		c->authserv_id = c->hostname;
	}
	c->spf_req.receiver = c->authserv_id;
	return CLI_OK;
}

static int
run_dmarc(struct check *c)
{
	struct mailsec_dmarc_request req = { 0 };
	struct mailsec_dmarc_opts opts = { 0 };
	struct mailsec_diag diag = { 0 };
	mailsec_err err;
	int rc = CLI_OK;

	req.author = c->author;
	req.spf_result = c->spf->result;
	req.spf_domain = c->spf->domain;
	req.spf_identity = c->spf->identity;
	req.mail_from = c->spf_req.mail_from;
	req.dkim_verify = c->dkim;
	if (c->rfc7489) {
		opts.mode = MAILSEC_DMARC_RFC7489;
		err = mailsec_dmarc_psl_load(c->psl_path, &c->psl, &diag);
		if (err != MAILSEC_OK) {
			rc = cli_fail(CLI_ERR, "public suffix list: %s",
			    diag.set ? diag.text : mailsec_strerror(err));
			goto out;
		}
		opts.psl = c->psl;
	}
	if (c->ntrusted > 0 &&
	    mailsec_arc_trusted(c->arc, c->trusted, c->ntrusted)) {
		opts.local |= MAILSEC_DMARC_LOCAL_TRUSTED_ARC;
		if (mailsec_arc_dmarc_comment(c->arc, &c->arc_comment) !=
		    MAILSEC_OK) {
			rc = cli_fail(CLI_ERR, "out of memory");
			goto out;
		}
		opts.local_comment = c->arc_comment;
	}
	err = mailsec_dmarc_evaluate(c->r, &req, &opts, &c->dmarc, &diag);
	if (err != MAILSEC_OK)
		rc = cli_fail(CLI_ERR, "dmarc: %s", diag.set ? diag.text :
		    mailsec_strerror(err));
out:
	return rc;
}

int
cmd_check(int argc, char **argv)
{
	struct check c;
	struct mailsec_authres_gen gen = MAILSEC_AUTHRES_GEN_DEFAULTS;
	struct mailsec_diag diag = { 0 };
	mailsec_err err;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = parse_args(&c, argc, argv)) != CLI_OK)
		return rc;
	if ((rc = cli_read_msg(c.file, &c.data, &c.msg)) != CLI_OK)
		return rc;
	if ((rc = cli_dns_resolver(&c.dns, &c.r)) != CLI_OK)
		goto out;
	err = mailsec_spf_check(c.r, &c.spf_req, false, &c.spf, &diag);
	if (err != MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "spf: %s", diag.set ? diag.text :
		    mailsec_strerror(err));
		goto out;
	}
	err = mailsec_dkim_verify_msg(c.r, NULL, c.msg, &c.dkim);
	if (err != MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "dkim: %s", mailsec_strerror(err));
		goto out;
	}
	err = mailsec_arc_verify_msg(c.r, NULL, c.msg, &c.arc);
	if (err != MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "arc: %s", mailsec_strerror(err));
		goto out;
	}
	if (mailsec_msg_author(c.msg, &c.author) != MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "out of memory");
		goto out;
	}
	if ((rc = run_dmarc(&c)) != CLI_OK)
		goto out;
	if ((err = build_authres(&c)) != MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "Authentication-Results: %s",
		    mailsec_strerror(err));
		goto out;
	}
	gen.eol = "\n";
	gen.b_prefix = CHECK_B_PREFIX;
	err = mailsec_authres_generate(c.ar, &gen, &c.ar_text, NULL, &diag);
	if (err == MAILSEC_OK) {
		gen.flags |= MAILSEC_AUTHRES_GEN_ONELINE;
		err = mailsec_authres_generate(c.ar, &gen, &c.ar_line, NULL,
		    &diag);
	}
	if (err != MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "Authentication-Results: %s",
		    diag.set ? diag.text : mailsec_strerror(err));
		goto out;
	}
	if (c.json)
		print_json(&c);
	else
		print_text(&c);
	rc = CLI_OK;
out:
	check_free(&c);
	return rc;
}
