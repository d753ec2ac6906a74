/*
 * tests/unit/report/report_sample.h - the shared report samples
 * ($MAILSEC_TESTSUITES/reports, default ../shared/testsuites beside the
 * source tree) for test_report_parse.c and test_report_extract.c.
 */
#ifndef MAILSEC_TEST_REPORT_SAMPLE_H
#define MAILSEC_TEST_REPORT_SAMPLE_H

#include <stddef.h>

/*
 * Reads $suite/reports/<rel> whole into a malloc'd buffer with a NUL
 * after its *len bytes; NULL (and a loud SKIPPED line) when the file is
 * absent. A read error fails the test (cmocka).
 */
char *report_sample_read(const char *rel, size_t *len);

#endif /* MAILSEC_TEST_REPORT_SAMPLE_H */
