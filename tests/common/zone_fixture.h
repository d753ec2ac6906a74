/*
 * tests/common/zone_fixture.h: a resolver over zone-file text, for cmocka
 * tests (include after <cmocka.h>). A zone that does not load fails the
 * test with the loader's message.
 */
#ifndef MAILSEC_TESTS_ZONE_FIXTURE_H
#define MAILSEC_TESTS_ZONE_FIXTURE_H

#include <stddef.h>

#include <mailsec/dns.h>
#include <mailsec/err.h>

static inline struct mailsec_resolver *
zone_fixture(const char *text, size_t len)
{
	struct mailsec_resolver *r = NULL;
	struct mailsec_diag diag = { 0 };

	if (mailsec_resolver_new_zone_mem(text, len, NULL, &r, &diag) !=
	    MAILSEC_OK)
		fail_msg("zone: %s", diag.text);
	return r;
}

#endif
