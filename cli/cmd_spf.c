/*
 * cli/cmd_spf.c - `mailsec spf`: check_host() (RFC 7208) for a client
 * address and a MAIL FROM (or HELO) identity, with the Received-SPF and
 * Authentication-Results text and, on request, the evaluation trace.
 */
#include <stdlib.h>
#include <string.h>

#include <mailsec/spf.h>

#include "cli.h"

int cmd_spf(int argc, char **argv);

static const char *const kind_names[] = {
	"record", "term", "query", "answer", "result", "note"
};

static void
print_trace_text(const struct mailsec_spf_outcome *o)
{
	size_t i;

	for (i = 0; i < o->ntrace; i++) {
		const struct mailsec_spf_event *e = &o->trace[i];
		const char *mark = "  ";

		switch (e->kind) {
		case MAILSEC_SPF_EV_RECORD: mark = "= "; break;
		case MAILSEC_SPF_EV_TERM: mark = "> "; break;
		case MAILSEC_SPF_EV_QUERY: mark = "? "; break;
		case MAILSEC_SPF_EV_ANSWER: mark = "! "; break;
		case MAILSEC_SPF_EV_RESULT: mark = "< "; break;
		case MAILSEC_SPF_EV_NOTE: mark = "  "; break;
		}
		printf("%*s%s%s\n", (int)e->depth * 2, "", mark, e->text);
	}
}

static void
print_json(const struct mailsec_spf_outcome *o, const char *received,
    const char *authres, bool trace)
{
	size_t i;

	printf("{\"result\": \"%s\", \"identity\": \"%s\", \"domain\": ",
	    mailsec_spf_result_name(o->result),
	    o->identity == MAILSEC_SPF_ID_HELO ? "helo" : "mailfrom");
	json_strz(stdout, o->domain);
	json_member(stdout, "sender", o->sender);
	json_member(stdout, "mechanism", o->mechanism);
	json_member(stdout, "explanation", o->explanation);
	json_member(stdout, "problem", o->problem);
	printf(", \"lookups\": %u, \"void_lookups\": %u, \"queries\": %u",
	    o->lookups, o->void_lookups, o->queries);
	json_member(stdout, "received_spf", received);
	json_member(stdout, "authentication_results", authres);
	if (trace) {
		printf(", \"trace\": [");
		for (i = 0; i < o->ntrace; i++) {
			printf("%s{\"depth\": %u, \"kind\": \"%s\", "
			    "\"text\": ", i ? ", " : "", o->trace[i].depth,
			    kind_names[o->trace[i].kind]);
			json_strz(stdout, o->trace[i].text);
			printf("}");
		}
		printf("]");
	}
	printf("}\n");
}

static void
print_text(const struct mailsec_spf_outcome *o, const char *received,
    const char *authres, const char *receiver)
{
	printf("spf: %s (identity %s, domain %s)\n",
	    mailsec_spf_result_name(o->result),
	    o->identity == MAILSEC_SPF_ID_HELO ? "helo" : "mailfrom",
	    o->domain);
	printf("mechanism: %s\n", o->mechanism ? o->mechanism :
	    "(none matched: default)");
	if (o->explanation != NULL)
		printf("explanation: %s%s\n", o->explanation,
		    o->explanation_default ? " (default)" : "");
	if (o->problem != NULL)
		printf("problem: %s\n", o->problem);
	printf("lookups: %u of %d (void %u of %d), DNS queries: %u\n",
	    o->lookups, MAILSEC_SPF_LOOKUP_MAX, o->void_lookups,
	    MAILSEC_SPF_VOID_MAX, o->queries);
	printf("Received-SPF: %s\n", received);
	/* RFC 8601 2.5: the authserv-id names the evaluating host; it is
	 * the --receiver name, "unknown" like Received-SPF's without one */
	printf("Authentication-Results: %s; %s\n",
	    receiver != NULL ? receiver : "unknown", authres);
}

int
cmd_spf(int argc, char **argv)
{
	struct cli_dns_opts dns = { 0 };
	struct mailsec_spf_request req = { 0 };
	struct mailsec_resolver *r = NULL;
	struct mailsec_spf_outcome *o = NULL;
	struct mailsec_diag diag = { 0 };
	char *received = NULL, *authres = NULL;
	bool json = false, trace = false, have_from = false;
	mailsec_err err;
	int i, n, rc;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((n = cli_dns_opt("spf", argc, argv, &i, &dns)) != 0) {
			if (n < 0)
				return CLI_USAGE;
		} else if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--trace") == 0) {
			trace = true;
		} else if (strcmp(a, "--helo-identity") == 0) {
			req.identity = MAILSEC_SPF_ID_HELO;
		} else if (strcmp(a, "--ip") == 0 ||
		    strcmp(a, "--mail-from") == 0 ||
		    strcmp(a, "--helo") == 0 ||
		    strcmp(a, "--receiver") == 0) {
			if (i + 1 >= argc)
				return cli_usage("spf", "%s needs a value", a);
			i++;
			if (strcmp(a, "--ip") == 0) {
				req.ip = argv[i];
			} else if (strcmp(a, "--mail-from") == 0) {
				req.mail_from = argv[i];
				have_from = true;
			} else if (strcmp(a, "--helo") == 0) {
				req.helo = argv[i];
			} else {
				req.receiver = argv[i];
			}
		} else {
			return cli_usage("spf", "unknown argument '%s'", a);
		}
	}
	if (req.ip == NULL)
		return cli_usage("spf", "--ip is required");
	if (!have_from && req.identity != MAILSEC_SPF_ID_HELO)
		return cli_usage("spf", "--mail-from is required ('' for the "
		    "null reverse-path, which checks --helo)");
	if (req.identity == MAILSEC_SPF_ID_HELO && req.helo == NULL)
		return cli_usage("spf", "--helo-identity needs --helo");
	if ((rc = cli_dns_resolver(&dns, &r)) != CLI_OK)
		return rc;
	err = mailsec_spf_check(r, &req, trace, &o, &diag);
	if (err != MAILSEC_OK) {
		mailsec_resolver_free(r);
		return cli_fail(CLI_ERR, "%s", diag.set ? diag.text :
		    mailsec_strerror(err));
	}
	if (mailsec_spf_received_spf(o, &req, &received) != MAILSEC_OK ||
	    mailsec_spf_authres(o, &authres) != MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "out of memory");
		goto out;
	}
	if (json) {
		print_json(o, received, authres, trace);
	} else {
		if (trace)
			print_trace_text(o);
		print_text(o, received, authres, req.receiver);
	}
	rc = CLI_OK;
out:
	free(received);
	free(authres);
	mailsec_spf_outcome_free(o);
	mailsec_resolver_free(r);
	return rc;
}
