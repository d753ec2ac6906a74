/*
 * cli/cmd_arc.c - `mailsec arc verify | seal`: validates the ARC chain
 * of a message (RFC 8617 5.2) and adds an ARC set to it (5.1). The new
 * ARC-Authentication-Results copies the message's Authentication-Results
 * of our authserv-id (a forwarder's assessment at arrival); without one,
 * --ip/--mail-from/--helo make the command assess the message itself:
 * SPF, DKIM, DMARC and ARC, as `mailsec check` does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/arc.h>
#include <mailsec/authres.h>
#include <mailsec/dmarc.h>

#include "cli.h"

int cmd_arc(int argc, char **argv);

#define ARC_KEYFILE_MAX	((size_t)64 * 1024)

static int
parse_time(const char *opt, const char *s, time_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v <= 0 ||
	    v > 999999999999LL)
		return cli_usage("arc", "%s: '%s' is not a Unix time", opt, s);
	*out = (time_t)v;
	return CLI_OK;
}

/* ---- verify ------------------------------------------------------------ */

static void
json_view(const char *key, struct mailsec_str s)
{
	printf(", \"%s\": ", key);
	if (s.len == 0)
		printf("null");
	else
		json_str(stdout, s.ptr, s.len);
}

static void
print_json(const struct mailsec_arc_outcome *o, const char *ar)
{
	size_t i;

	printf("{\"result\": \"%s\", \"instances\": %u, \"oldest_pass\": ",
	    mailsec_arc_result_name(o->result), o->instances);
	if (o->oldest_pass >= 0)
		printf("%d", o->oldest_pass);
	else
		printf("null");
	json_member(stdout, "reason", o->reason_text);
	json_member(stdout, "reason_code", mailsec_arc_reason_name(o->reason));
	printf(", \"fail_instance\": ");
	if (o->fail_instance > 0)
		printf("%u", o->fail_instance);
	else
		printf("null");
	printf(",\n \"sets\": [");
	for (i = 0; i < o->nsets; i++) {
		const struct mailsec_arc_set_info *s = &o->sets[i];

		printf("%s\n  {\"instance\": %u, \"cv\": \"%s\"", i ? "," : "",
		    s->instance, mailsec_arc_result_name(s->cv));
		printf(", \"seal\": {\"result\": \"%s\"",
		    mailsec_arc_check_name(s->seal));
		json_view("domain", s->seal_domain);
		json_view("selector", s->seal_selector);
		json_member(stdout, "reason", s->seal_text[0] ? s->seal_text :
		    NULL);
		printf("}, \"ams\": {\"result\": \"%s\"",
		    mailsec_arc_check_name(s->ams));
		json_view("domain", s->ams_domain);
		json_view("selector", s->ams_selector);
		json_member(stdout, "reason", s->ams_text[0] ? s->ams_text :
		    NULL);
		printf("}");
		json_view("aar", s->aar);
		printf("}");
	}
	printf("]");
	json_member(stdout, "authentication_results", ar);
	printf("}\n");
}

static void
print_text(const struct mailsec_arc_outcome *o, const char *ar)
{
	size_t i;

	printf("arc: %s (%u set%s", mailsec_arc_result_name(o->result),
	    o->instances, o->instances == 1 ? "" : "s");
	if (o->oldest_pass >= 0)
		printf(", oldest-pass %d", o->oldest_pass);
	printf("): %s\n", o->reason_text);
	for (i = o->nsets; i > 0; i--) {
		const struct mailsec_arc_set_info *s = &o->sets[i - 1];

		printf("  i=%u cv=%s  AS d=%.*s s=%.*s: %s%s%s\n", s->instance,
		    mailsec_arc_result_name(s->cv),
		    (int)s->seal_domain.len, s->seal_domain.ptr,
		    (int)s->seal_selector.len, s->seal_selector.ptr,
		    mailsec_arc_check_name(s->seal),
		    s->seal_text[0] ? ", " : "", s->seal_text);
		printf("        AMS d=%.*s s=%.*s: %s%s%s\n",
		    (int)s->ams_domain.len, s->ams_domain.ptr,
		    (int)s->ams_selector.len, s->ams_selector.ptr,
		    mailsec_arc_check_name(s->ams),
		    s->ams_text[0] ? ", " : "", s->ams_text);
	}
	if (ar != NULL)
		printf("Authentication-Results: %s\n", ar);
}

/* "arc=..." as an Authentication-Results value, on one line. */
static char *
arc_authres(const struct mailsec_arc_verify *v, const char *id)
{
	struct mailsec_authres_gen gen = MAILSEC_AUTHRES_GEN_DEFAULTS;
	struct mailsec_authres *ar = NULL;
	char *text = NULL;

	gen.flags |= MAILSEC_AUTHRES_GEN_ONELINE;
	if (mailsec_authres_new(id, &ar) == MAILSEC_OK &&
	    mailsec_arc_authres_add(ar, v, NULL) == MAILSEC_OK)
		(void)mailsec_authres_generate(ar, &gen, &text, NULL, NULL);
	mailsec_authres_free(ar);
	return text;
}

static int
arc_verify(int argc, char **argv)
{
	struct cli_dns_opts dns = { 0 };
	struct mailsec_arc_verify_opts vo = { 0 };
	struct mailsec_resolver *r = NULL;
	struct mailsec_arc_verify *v = NULL;
	struct mailsec_msg *msg = NULL;
	const char *file = NULL, *id = "localhost";
	char *data = NULL, *ar = NULL;
	bool json = false;
	int i, k, rc;
	mailsec_err err;

	for (i = 1; i < argc; i++) {
		if ((k = cli_dns_json_opt("arc", argc, argv, &i, &dns,
		    &json)) < 0)
			return CLI_USAGE;
		if (k > 0)
			continue;
		if (strcmp(argv[i], "--now") == 0 ||
		    strcmp(argv[i], "--authserv-id") == 0) {
			if (cli_need_value("arc", argc, argv, i) != CLI_OK)
				return CLI_USAGE;
			if (argv[i][2] == 'a')
				id = argv[i + 1];
			else if (parse_time(argv[i], argv[i + 1], &vo.now) !=
			    CLI_OK)
				return CLI_USAGE;
			i++;
		} else if (cli_operand("arc", argv[i], &file) != CLI_OK)
			return CLI_USAGE;
	}
	if ((rc = cli_read_msg(file, &data, &msg)) != CLI_OK)
		return rc;
	if ((rc = cli_dns_resolver(&dns, &r)) != CLI_OK)
		goto done;
	if ((err = mailsec_arc_verify_msg(r, &vo, msg, &v)) != MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "arc: %s", mailsec_strerror(err));
		goto done;
	}
	ar = arc_authres(v, id);
	if (json)
		print_json(mailsec_arc_verify_outcome(v), ar);
	else
		print_text(mailsec_arc_verify_outcome(v), ar);
	rc = fflush(stdout) == 0 ? CLI_OK : cli_fail(CLI_ERR, "write error");
done:
	free(ar);
	mailsec_arc_verify_free(v);
	mailsec_resolver_free(r);
	mailsec_msg_free(msg);
	free(data);
	return rc;
}

/* ---- seal -------------------------------------------------------------- */

struct seal_args {
	const char *file, *domain, *selector, *keyfile, *id, *headers;
	struct mailsec_spf_request spf;
	bool have_from;
	struct mailsec_arc_seal_opts o;
	struct cli_dns_opts dns;
	time_t now;
};

/*
 * Our own assessment of the message, as the AAR of a forwarder that
 * evaluates it on arrival: SPF, DKIM, DMARC (RFC 9989) and ARC.
 */
static int
assess(const struct seal_args *a, struct mailsec_resolver *r,
    const struct mailsec_msg *msg, const struct mailsec_arc_verify *v,
    struct mailsec_authres **out)
{
	struct mailsec_spf_outcome *spf = NULL;
	struct mailsec_dkim_verify *dkim = NULL;
	struct mailsec_author *author = NULL;
	struct mailsec_dmarc_outcome *dmarc = NULL;
	struct mailsec_dmarc_request req = { 0 };
	struct mailsec_authres *ar = NULL;
	struct mailsec_diag diag = { 0 };
	mailsec_err err;
	int rc = CLI_ERR;

	if ((err = mailsec_spf_check(r, &a->spf, false, &spf, &diag)) !=
	    MAILSEC_OK) {
		cli_fail(CLI_ERR, "spf: %s", diag.set ? diag.text :
		    mailsec_strerror(err));
		goto done;
	}
	if ((err = mailsec_dkim_verify_msg(r, NULL, msg, &dkim)) !=
	    MAILSEC_OK || (err = mailsec_msg_author(msg, &author)) !=
	    MAILSEC_OK) {
		cli_fail(CLI_ERR, "dkim: %s", mailsec_strerror(err));
		goto done;
	}
	req.author = author;
	req.spf_result = spf->result;
	req.spf_domain = spf->domain;
	req.spf_identity = spf->identity;
	req.mail_from = a->spf.mail_from;
	req.dkim_verify = dkim;
	if ((err = mailsec_dmarc_evaluate(r, &req, NULL, &dmarc, &diag)) !=
	    MAILSEC_OK) {
		cli_fail(CLI_ERR, "dmarc: %s", diag.set ? diag.text :
		    mailsec_strerror(err));
		goto done;
	}
	if ((err = mailsec_authres_new(a->id, &ar)) != MAILSEC_OK)
		goto oom;
	err = mailsec_arc_authres_add(ar, v, a->spf.ip);
	if (err == MAILSEC_OK)
		err = mailsec_authres_add_result(ar, "spf",
		    mailsec_spf_result_name(spf->result));
	if (err == MAILSEC_OK)
		err = spf->identity == MAILSEC_SPF_ID_HELO ?
		    mailsec_authres_add_prop(ar, "smtp", "helo", spf->domain,
		    NULL) : mailsec_authres_add_prop(ar, "smtp", "mailfrom",
		    spf->sender != NULL ? spf->sender : spf->domain, NULL);
	if (err == MAILSEC_OK)
		err = mailsec_dkim_authres_add(ar, dkim);
	if (err == MAILSEC_OK)
		err = mailsec_authres_add_result(ar, "dmarc",
		    mailsec_dmarc_result_name(dmarc->result));
	if (err == MAILSEC_OK && dmarc->from_domain != NULL)
		err = mailsec_authres_add_prop(ar, "header", "from",
		    dmarc->from_domain, NULL);
	if (err != MAILSEC_OK)
		goto oom;
	*out = ar;
	ar = NULL;
	rc = CLI_OK;
	goto done;
oom:
	cli_fail(CLI_ERR, "Authentication-Results: %s", mailsec_strerror(err));
done:
	mailsec_authres_free(ar);
	mailsec_dmarc_outcome_free(dmarc);
	mailsec_author_free(author);
	mailsec_dkim_verify_free(dkim);
	mailsec_spf_outcome_free(spf);
	return rc;
}

static int
parse_seal_args(struct seal_args *a, int argc, char **argv)
{
	int i, k;

	for (i = 1; i < argc; i++) {
		const char *o = argv[i];

		if ((k = cli_dns_opt("arc", argc, argv, &i, &a->dns)) < 0)
			return CLI_USAGE;
		if (k > 0)
			continue;
		if (strcmp(o, "--sorted") == 0) {
			a->o.flags |= MAILSEC_ARC_SEAL_SORTED;
			continue;
		}
		if (o[0] != '-' || o[1] == '\0') {
			if (a->file != NULL)
				return cli_usage("arc", "only one FILE");
			a->file = o;
			continue;
		}
		if (i + 1 >= argc)
			return cli_usage("arc", "unknown option or missing "
			    "value: '%s'", o);
		if (strcmp(o, "--domain") == 0) {
			a->domain = argv[++i];
		} else if (strcmp(o, "--selector") == 0) {
			a->selector = argv[++i];
		} else if (strcmp(o, "--key") == 0) {
			a->keyfile = argv[++i];
		} else if (strcmp(o, "--authserv-id") == 0) {
			a->id = argv[++i];
		} else if (strcmp(o, "--headers") == 0) {
			a->o.headers = argv[++i];
		} else if (strcmp(o, "--ip") == 0) {
			a->spf.ip = argv[++i];
		} else if (strcmp(o, "--mail-from") == 0) {
			a->spf.mail_from = argv[++i];
			a->have_from = true;
		} else if (strcmp(o, "--helo") == 0) {
			a->spf.helo = argv[++i];
		} else if (strcmp(o, "--algorithm") == 0) {
			i++;
			if (strcmp(argv[i], "rsa-sha256") == 0)
				a->o.algorithm = MAILSEC_DKIM_RSA_SHA256;
			else if (strcmp(argv[i], "ed25519-sha256") == 0)
				a->o.algorithm = MAILSEC_DKIM_ED25519_SHA256;
			else
				return cli_usage("arc", "--algorithm: "
				    "rsa-sha256 or ed25519-sha256, not '%s'",
				    argv[i]);
		} else if (strcmp(o, "--time") == 0 ||
		    strcmp(o, "--now") == 0) {
			if (parse_time(o, argv[i + 1], o[2] == 't' ?
			    &a->o.timestamp : &a->now) != CLI_OK)
				return CLI_USAGE;
			i++;
		} else {
			return cli_usage("arc", "unknown option '%s'", o);
		}
	}
	if (a->domain == NULL || a->selector == NULL || a->keyfile == NULL ||
	    a->id == NULL)
		return cli_usage("arc", "seal needs --domain, --selector, "
		    "--key and --authserv-id");
	if (a->spf.ip != NULL && !a->have_from)
		return cli_usage("arc", "--ip needs --mail-from ('' for the "
		    "null reverse-path, which checks --helo)");
	if (a->have_from && a->spf.ip == NULL)
		return cli_usage("arc", "--mail-from needs --ip");
	if (a->have_from && a->spf.mail_from[0] == '\0' &&
	    a->spf.helo == NULL)
		return cli_usage("arc", "a null --mail-from needs --helo");
	a->spf.receiver = a->id;
	return CLI_OK;
}

/* Writes s, with LF line endings when the input had them. */
static void
put_lines(const char *s, size_t len, bool lf)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!(lf && s[i] == '\r' && i + 1 < len && s[i + 1] == '\n'))
			putchar(s[i]);
}

static int
arc_seal(int argc, char **argv)
{
	struct seal_args a;
	struct mailsec_arc_verify_opts vo = { 0 };
	struct mailsec_resolver *r = NULL;
	struct mailsec_arc_verify *v = NULL;
	struct mailsec_msg *msg = NULL;
	struct mailsec_dkim_key *key = NULL;
	struct mailsec_authres *aar = NULL;
	struct mailsec_diag diag = { 0 };
	const struct mailsec_arc_outcome *o;
	struct mailsec_str all;
	char *data = NULL, *pem = NULL, *set = NULL;
	size_t pemlen, setlen = 0;
	mailsec_err err;
	int rc;

	memset(&a, 0, sizeof a);
	if ((rc = parse_seal_args(&a, argc, argv)) != CLI_OK)
		return rc;
	if ((rc = cli_read_file(a.keyfile, ARC_KEYFILE_MAX, &pem, &pemlen)) !=
	    CLI_OK)
		return rc;
	err = mailsec_dkim_key_load(pem, pemlen, &key, &diag);
	free(pem);
	if (err != MAILSEC_OK)
		return cli_fail(CLI_ERR, "%s: %s", a.keyfile, diag.set ?
		    diag.text : mailsec_strerror(err));
	if ((rc = cli_read_msg(a.file, &data, &msg)) != CLI_OK)
		goto done;
	if ((rc = cli_dns_resolver(&a.dns, &r)) != CLI_OK)
		goto done;
	/* The chain as it arrived: its status is the new cv= (5.1). */
	vo.now = a.now;
	if ((err = mailsec_arc_verify_msg(r, &vo, msg, &v)) != MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "arc: %s", mailsec_strerror(err));
		goto done;
	}
	o = mailsec_arc_verify_outcome(v);
	err = mailsec_arc_aar_collect(msg, a.id, &aar, &diag);
	if (err == MAILSEC_ENOTFOUND && a.spf.ip == NULL) {
		rc = cli_fail(CLI_ERR, "%s; give --ip and --mail-from to "
		    "assess the message here", diag.text);
		goto done;
	} else if (err == MAILSEC_ENOTFOUND) {
		if ((rc = assess(&a, r, msg, v, &aar)) != CLI_OK)
			goto done;
	} else if (err != MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "%s", mailsec_strerror(err));
		goto done;
	}
	a.o.key = key;
	a.o.domain = a.domain;
	a.o.selector = a.selector;
	diag.set = 0;
	err = mailsec_arc_seal_msg(&a.o, msg, o->result, aar, &set, &setlen,
	    &diag);
	if (err != MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "seal: %s", diag.set ? diag.text :
		    mailsec_strerror(err));
		goto done;
	}
	if (set == NULL)
		fprintf(stderr, "mailsec: not sealed: the chain already "
		    "failed (%s; RFC 8617 5.1 step 2)\n", o->reason_text);
	else
		put_lines(set, setlen, mailsec_msg_converted(msg));
	if (mailsec_msg_converted(msg)) {
		fputs(data, stdout);
	} else {
		all = mailsec_msg_data(msg);
		fwrite(all.ptr, 1, all.len, stdout);
	}
	rc = fflush(stdout) == 0 ? CLI_OK : cli_fail(CLI_ERR, "write error");
done:
	free(set);
	mailsec_authres_free(aar);
	mailsec_arc_verify_free(v);
	mailsec_resolver_free(r);
	mailsec_msg_free(msg);
	mailsec_dkim_key_free(key);
	free(data);
	return rc;
}

int
cmd_arc(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage("arc", "verify or seal?");
	if (strcmp(argv[1], "verify") == 0)
		return arc_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "seal") == 0)
		return arc_seal(argc - 1, argv + 1);
	return cli_usage("arc", "unknown subcommand '%s'", argv[1]);
}
