/*
 * fuzz/fuzz_addr.c - mailsec_addr_parse_list() on arbitrary bytes, then
 * the same bytes as the value of a From field through mailsec_msg_parse()
 * and mailsec_msg_author(), checking the contracts of mailsec/addr.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/addr.h>
#include <mailsec/domain.h>
#include <mailsec/msg.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input bytes used for the message (the list parser sees them all). */
#define FUZZ_ADDR_MSG_MAX 65536

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void
check_list(const struct mailsec_addr_list *l)
{
	const struct mailsec_addr *a;
	size_t i;

	CHECK(l != NULL);
	CHECK(l->count <= MAILSEC_ADDR_MAX);
	CHECK(l->count == 0 || l->addrs != NULL);
	for (i = 0; i < l->count; i++) {
		a = &l->addrs[i];
		CHECK(a->local != NULL);
		CHECK(a->domain != NULL && a->domain[0] != '\0');
		if (a->domain_norm != NULL) {
			CHECK(a->domain_norm[0] != '\0');
			CHECK(strlen(a->domain_norm) < MAILSEC_DOMAIN_MAX);
			CHECK(a->domain[0] != '[');
		}
		if (a->display != NULL)
			CHECK(a->display[0] != '\0');
		if (a->group != NULL)
			CHECK(a->group[0] != '\0');
	}
}

static void
check_author(const struct mailsec_msg *m)
{
	struct mailsec_author *au = NULL;
	size_t i, j;

	if (mailsec_msg_author(m, &au) != MAILSEC_OK)
		return;		/* ENOMEM only */
	CHECK(au != NULL && au->addrs != NULL);
	check_list(au->addrs);
	CHECK(au->from_fields == mailsec_msg_count(m, "From"));
	CHECK(au->ndomains <= au->addrs->count);
	for (i = 0; i < au->ndomains; i++)
		for (j = i + 1; j < au->ndomains; j++)
			CHECK(strcmp(au->domains[i], au->domains[j]) != 0);
	switch (au->status) {
	case MAILSEC_AUTHOR_OK:
		CHECK(au->from_fields == 1 && au->addrs->count == 1);
		CHECK(au->ndomains == 1 && !au->diag.set);
		CHECK(au->addrs->addrs[0].domain_norm != NULL);
		break;
	case MAILSEC_AUTHOR_NO_FROM:
		CHECK(au->from_fields == 0 && au->addrs->count == 0);
		break;
	case MAILSEC_AUTHOR_MULTIPLE_FROM:
		CHECK(au->from_fields > 1);
		break;
	case MAILSEC_AUTHOR_MULTIPLE_ADDRS:
		CHECK(au->from_fields == 1 && au->addrs->count > 1);
		CHECK(au->ndomains >= 1);
		for (i = 0; i < au->addrs->count; i++)
			CHECK(au->addrs->addrs[i].domain_norm != NULL);
		break;
	case MAILSEC_AUTHOR_UNPARSEABLE:
		CHECK(au->from_fields == 1 && au->diag.set);
		break;
	default:
		CHECK(0);
	}
	CHECK(strcmp(mailsec_author_status_name(au->status), "unknown") != 0);
	mailsec_author_free(au);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mailsec_addr_list untouched;
	struct mailsec_addr_list *l;
	struct mailsec_diag diag;
	struct mailsec_msg *m = NULL;
	mailsec_err err;
	size_t n;
	char *buf;

	l = &untouched;
	memset(&diag, 0, sizeof diag);
	err = mailsec_addr_parse_list((const char *)data, size, &l, &diag);
	if (err == MAILSEC_OK) {
		check_list(l);
		mailsec_addr_list_free(l);
	} else {
		CHECK(l == &untouched);
		CHECK(err == MAILSEC_ESYNTAX || err == MAILSEC_ELIMIT ||
		    err == MAILSEC_ENOMEM);
		if (err != MAILSEC_ENOMEM) {
			CHECK(diag.set && diag.text[0] != '\0');
			CHECK(diag.offset <= size);
		}
	}

	n = size < FUZZ_ADDR_MSG_MAX ? size : FUZZ_ADDR_MSG_MAX;
	buf = malloc(n + 10);
	if (buf == NULL)
		return 0;
	memcpy(buf, "From: ", 6);
	if (n > 0)
		memcpy(buf + 6, data, n);
	memcpy(buf + 6 + n, "\r\n\r\n", 4);
	if (mailsec_msg_parse(buf, n + 10, NULL, 0, &m, NULL) == MAILSEC_OK) {
		check_author(m);
		mailsec_msg_free(m);
	}
	free(buf);
	return 0;
}
