/*
 * cli/cmd_message.c - `mailsec message [FILE]`: the message model and the
 * author (From) analysis DMARC starts from.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_message(int argc, char **argv);

static void
print_addr_json(const struct mailsec_addr *a)
{
	printf("{\"local\": ");
	json_strz(stdout, a->local);
	json_member(stdout, "domain", a->domain);
	json_member(stdout, "domain_norm", a->domain_norm);
	json_member(stdout, "display", a->display);
	json_member(stdout, "group", a->group);
	printf("}");
}

static void
print_json(const struct mailsec_msg *m, const struct mailsec_author *au,
    bool headers)
{
	const struct mailsec_header *h;
	size_t i;

	printf("{\"fields\": %zu, \"header_bytes\": %zu, \"body_bytes\": %zu, "
	    "\"converted_from_lf\": %s,\n",
	    mailsec_msg_field_count(m), mailsec_msg_header_block(m).len,
	    mailsec_msg_body(m).len,
	    mailsec_msg_converted(m) ? "true" : "false");
	printf(" \"author\": {\"status\": \"%s\", \"from_fields\": %zu, "
	    "\"addresses\": [", mailsec_author_status_name(au->status),
	    au->from_fields);
	for (i = 0; i < au->addrs->count; i++) {
		if (i > 0)
			printf(", ");
		print_addr_json(&au->addrs->addrs[i]);
	}
	printf("], \"domains\": [");
	for (i = 0; i < au->ndomains; i++) {
		if (i > 0)
			printf(", ");
		json_strz(stdout, au->domains[i]);
	}
	printf("], \"reason\": ");
	json_strz(stdout, au->diag.set ? au->diag.text : NULL);
	printf("}");
	if (headers) {
		printf(",\n \"headers\": [");
		for (i = 0; (h = mailsec_msg_field(m, i)) != NULL; i++) {
			printf("%s\n  {\"name\": ", i ? "," : "");
			json_str(stdout, h->name.ptr, h->name.len);
			printf(", \"value\": ");
			json_str(stdout, h->value.ptr, h->value.len);
			printf("}");
		}
		printf("]");
	}
	printf("}\n");
}

static const char *
author_explain(enum mailsec_author_status s)
{
	switch (s) {
	case MAILSEC_AUTHOR_OK:
		return "one author domain";
	case MAILSEC_AUTHOR_NO_FROM:
		return "no From field: DMARC has no Author Domain";
	case MAILSEC_AUTHOR_MULTIPLE_FROM:
		return "several From fields: RFC 5322 allows one";
	case MAILSEC_AUTHOR_MULTIPLE_ADDRS:
		return "several authors in From: each domain is evaluated";
	case MAILSEC_AUTHOR_UNPARSEABLE:
		return "From has no usable address";
	}
	return "";
}

static void
print_text(const struct mailsec_msg *m, const struct mailsec_author *au,
    bool headers)
{
	const struct mailsec_header *h;
	const struct mailsec_addr *a;
	size_t i;

	printf("message: %zu header fields, %zu header bytes, %zu body bytes%s\n",
	    mailsec_msg_field_count(m), mailsec_msg_header_block(m).len,
	    mailsec_msg_body(m).len, mailsec_msg_converted(m) ?
	    " (LF line endings converted to CRLF)" : "");
	printf("author: %s (%s; %zu From field%s)\n",
	    mailsec_author_status_name(au->status),
	    author_explain(au->status), au->from_fields,
	    au->from_fields == 1 ? "" : "s");
	if (au->diag.set)
		printf("  reason: %s\n", au->diag.text);
	for (i = 0; i < au->addrs->count; i++) {
		a = &au->addrs->addrs[i];
		printf("  address: %s@%s", a->local, a->domain);
		if (a->domain_norm != NULL &&
		    strcmp(a->domain_norm, a->domain) != 0)
			printf("  (domain %s)", a->domain_norm);
		else if (a->domain_norm == NULL)
			printf("  (not a usable domain)");
		printf("\n");
	}
	for (i = 0; i < au->ndomains; i++)
		printf("  author domain: %s\n", au->domains[i]);
	if (!headers)
		return;
	printf("headers:\n");
	for (i = 0; (h = mailsec_msg_field(m, i)) != NULL; i++)
		printf("  %.*s: %.*s\n", (int)h->name.len, h->name.ptr,
		    (int)h->value.len, h->value.ptr);
}

int
cmd_message(int argc, char **argv)
{
	struct mailsec_msg *m = NULL;
	struct mailsec_author *au = NULL;
	const char *path = NULL;
	bool json = false, headers = false;
	char *data = NULL;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--headers") == 0)
			headers = true;
		else if (cli_operand("message", argv[i], &path) != CLI_OK)
			return CLI_USAGE;
	}
	if ((rc = cli_read_msg(path, &data, &m)) != CLI_OK)
		return rc;
	if (mailsec_msg_author(m, &au) != MAILSEC_OK) {
		rc = cli_fail(CLI_ERR, "out of memory");
		goto out;
	}
	if (json)
		print_json(m, au, headers);
	else
		print_text(m, au, headers);
	rc = CLI_OK;
out:
	mailsec_author_free(au);
	mailsec_msg_free(m);
	free(data);
	return rc;
}
