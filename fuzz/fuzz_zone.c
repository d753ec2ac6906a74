/*
 * fuzz/fuzz_zone.c - the zone-file parser and the answers built from it
 * (lib/dns/zone.c, zone_parse.c). When the input parses, the names from
 * its first items and a few fixed ones are looked up with several types,
 * synchronously and through the asynchronous path with a cancel.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailsec/dns.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t types[] = {
	MAILSEC_DNS_A, MAILSEC_DNS_AAAA, MAILSEC_DNS_MX, MAILSEC_DNS_TXT,
	MAILSEC_DNS_CNAME, MAILSEC_DNS_TLSA, MAILSEC_DNS_PTR, MAILSEC_DNS_SPF,
	6, 65280
};

static const char *const fixed[] = {
	"fuzz.example", "www.fuzz.example", "a.b.fuzz.example",
	"*.fuzz.example", "example.org", "", "x",
};

static void
check(const struct mailsec_dns_result *res)
{
	size_t i;

	if (res->status != MAILSEC_DNS_ANSWER && res->count != 0)
		abort();
	if (res->status == MAILSEC_DNS_ANSWER && res->count == 0)
		abort();
	for (i = 0; i < res->count; i++) {
		const struct mailsec_dns_rr *rr = &res->rrs[i];

		if (rr->type != res->qtype)
			abort();
		if ((rr->type == MAILSEC_DNS_TXT ||
		    rr->type == MAILSEC_DNS_SPF) &&
		    rr->u.txt.data[rr->u.txt.len] != '\0')
			abort();
	}
	if (strlen(res->why) >= sizeof res->why)
		abort();
}

static void
ask(struct mailsec_resolver *r, const char *name)
{
	struct mailsec_dns_result *res;
	size_t i;

	for (i = 0; i < sizeof types / sizeof types[0]; i++) {
		res = NULL;
		if (mailsec_dns_lookup(r, name, types[i], &res) != MAILSEC_OK)
			continue;
		check(res);
		mailsec_dns_result_free(res);
	}
}

static void
on_result(void *arg, struct mailsec_dns_result *res)
{
	(*(unsigned *)arg)++;
	check(res);
	mailsec_dns_result_free(res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag diag;
	const char *p = (const char *)data, *end = p + size, *s;
	char name[300];
	unsigned calls = 0, started = 0;
	uint64_t id;
	size_t i, n, k = 0;

	memset(&diag, 0, sizeof diag);
	if (mailsec_resolver_new_zone_mem(p, size, "fuzz.example", &r,
	    &diag) != MAILSEC_OK) {
		if (r != NULL || diag.set != 1 ||
		    strlen(diag.text) >= sizeof diag.text)
			abort();
		return 0;
	}
	for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		ask(r, fixed[i]);
	/* the first few items of the input, as names, then with the origin */
	while (p < end && k < 6) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
		    *p == '(' || *p == ')' || *p == '"' || *p == ';'))
			p++;
		for (s = p; p < end && *p != ' ' && *p != '\t' && *p != '\n' &&
		    *p != '(' && *p != ')' && *p != '"' && *p != ';'; p++)
			continue;
		n = (size_t)(p - s);
		if (n == 0 || n >= sizeof name - 16)
			continue;
		memcpy(name, s, n);
		name[n] = '\0';
		ask(r, name);
		if (name[n - 1] != '.') {
			memcpy(name + n, ".fuzz.example", 14);
			ask(r, name);
			name[n] = '\0';
		}
		if (mailsec_resolver_query(r, name, MAILSEC_DNS_TXT, on_result,
		    &calls, &id) == MAILSEC_OK) {
			started++;
			if (k % 2 == 1) {
				mailsec_resolver_cancel(r, id);
				started--;
			}
		}
		k++;
	}
	mailsec_resolver_process(r);
	if (calls != started || mailsec_resolver_pending(r) != 0)
		abort();
	/* freed with one query pending */
	mailsec_resolver_query(r, "fuzz.example", MAILSEC_DNS_A, on_result,
	    &calls, NULL);
	mailsec_resolver_free(r);
	return 0;
}
