/*
 * tests/unit/report/report_sample.c - the shared report samples
 * (report_sample.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "report_sample.h"

static const char *
suite_dir(void)
{
	const char *d = getenv("MAILSEC_TESTSUITES");

	return d != NULL ? d : MAILSEC_SOURCE_DIR "/../shared/testsuites";
}

char *
report_sample_read(const char *rel, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof path, "%s/reports/%s", suite_dir(), rel);
	if ((f = fopen(path, "rb")) == NULL) {
		printf("SKIPPED: %s not found (set MAILSEC_TESTSUITES)\n",
		    path);
		return NULL;
	}
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}
