/*
 * tests/unit/daemon_tlspolicy/tlsp_test.c - what the TLS policy tests
 * share (tlsp_test.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tlsp_test.h"

int64_t clock_now = DAY0 + 3600;

int64_t
test_clock(void *arg)
{
	(void)arg;
	return clock_now;
}

struct mailsec_resolver *
zone(const char *text)
{
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag d = { 0 };

	if (mailsec_resolver_new_zone_mem(text, strlen(text), NULL, &r, &d) !=
	    MAILSEC_OK)
		fail_msg("zone refused: %s", d.text);
	return r;
}
