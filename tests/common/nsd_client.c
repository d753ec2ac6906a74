/* tests/common/nsd_client.c: see nsd_client.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <time.h>
#include <unistd.h>

#include "nsd_client.h"

#define NSD_WAIT_MS		5000u
#define NSD_TRY_TIMEOUT_MS	500
#define NSD_RETRY_US		(100 * 1000)

static uint64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct mailsec_resolver *
nsd_resolver_for(const char *spec)
{
	struct mailsec_unbound_opts o = { NULL, false, NULL };
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag diag = { 0 };

	o.forward = spec;
	if (mailsec_resolver_new_unbound(&o, &r, &diag) != MAILSEC_OK)
		fail_msg("resolver for '%s': %s", spec, diag.text);
	return r;
}

bool
nsd_wait_answer(const char *spec, const char *name)
{
	struct mailsec_resolver *r;
	struct mailsec_dns_result *res;
	uint64_t end = monotonic_ms() + NSD_WAIT_MS;
	bool ok = false;

	while (!ok && monotonic_ms() < end) {
		r = nsd_resolver_for(spec);
		mailsec_resolver_set_timeout(r, NSD_TRY_TIMEOUT_MS);
		res = NULL;
		if (mailsec_dns_lookup(r, name, MAILSEC_DNS_A, &res) ==
		    MAILSEC_OK && res->status == MAILSEC_DNS_ANSWER)
			ok = true;
		mailsec_dns_result_free(res);
		mailsec_resolver_free(r);
		if (!ok)
			usleep(NSD_RETRY_US);
	}
	return ok;
}
