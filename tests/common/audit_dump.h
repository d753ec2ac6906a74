/*
 * tests/common/audit_dump.h: prints an audit's grade and findings, for the
 * audit tests (tests/integration/audit, tests/unit/record). cmocka tests:
 * include after <cmocka.h>.
 */
#ifndef MAILSEC_TESTS_AUDIT_DUMP_H
#define MAILSEC_TESTS_AUDIT_DUMP_H

#include <stddef.h>

#include <mailsec/record.h>

static inline void
audit_dump(const struct mailsec_audit *a)
{
	size_t i;

	print_message("audit %s: grade %c (%u)\n", a->domain, a->grade,
	    a->score);
	for (i = 0; i < a->nfindings; i++)
		print_message("  %s %s %s: %s | %s\n", a->findings[i].area,
		    mailsec_severity_name(a->findings[i].severity),
		    a->findings[i].code, a->findings[i].what,
		    a->findings[i].fix);
}

#endif
