/*
 * fuzz/fuzz_queue_env.c - libFuzzer target for the texts the daemon reads
 * back: a queue file's envelope block and state file
 * (queue_entry_parse(), docs/queue.md) and the control socket's answers
 * (control_parse()). The input is "ENVELOPE \0 STATE"; the whole input is
 * also parsed as a control answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static void
check_entry(const char *p, size_t len)
{
	struct queue_entry e;
	struct mailsec_diag diag = { 0 };
	const char *nul = memchr(p, '\0', len);
	size_t envlen = nul ? (size_t)(nul - p) : len;
	const char *state = nul ? nul + 1 : "";
	size_t statelen = nul ? len - envlen - 1 : 0;
	mailsec_err err;
	size_t i;

	memset(&e, 0, sizeof(e));
	err = queue_entry_parse(&e, "0123456789abcdef", (uint64_t)len, p,
	    envlen, state, statelen, &diag);
	if (err == MAILSEC_OK) {
		/* a parsed envelope has what the format requires */
		CHECK(e.env.mail_from != NULL);
		CHECK(e.env.nrcpt >= 1);
		for (i = 0; i < e.env.nrcpt; i++)
			CHECK(e.env.rcpt[i].addr != NULL);
		queue_entry_cleanup(&e);
	}
}

static void
check_answer(const char *p, size_t len)
{
	struct queue_entry *entries = NULL;
	struct mailsec_diag diag = { 0 };
	char *hdr = NULL;
	size_t n = 0, hdrlen = 0;

	(void)control_parse(p, len, &entries, &n, &hdr, &hdrlen, &diag);
	queue_entries_free(entries, n);
	free(hdr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size + 1);

	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	p[size] = '\0';
	check_entry(p, size);
	check_answer(p, size);
	free(p);
	return 0;
}
