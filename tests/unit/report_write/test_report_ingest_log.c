/*
 * tests/unit/report_write/test_report_ingest_log.c - a report mailed in
 * (daemon/report_sched.c report_ingest_message) that is stored with
 * records the reader left out logs the reader's warnings: one warning
 * line each, with the report ID, peer text escaped; nothing when every
 * record was read or when the report was already stored.
 *
 * The log goes to stderr, which the test points at a scratch file.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>

#include <mailsec/report.h>

#include "config.h"
#include "log.h"
#include "report_sched.h"
#include "testdir.h"

/* Three records: the second's count is over the reader's bound, the
 * third's source_ip is no address (with a space and a newline, which
 * the log line must not carry as they are). */
static const char mail_skips[] =
    "From: dmarc@reporter.example\r\n"
    "To: rua@reports.test\r\n"
    "Subject: Report Domain: example.com\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/xml\r\n"
    "\r\n"
    "<?xml version=\"1.0\"?>\n"
    "<feedback>\n"
    " <report_metadata><org_name>Reporter</org_name>\n"
    "  <email>dmarc@reporter.example</email>\n"
    "  <report_id>rid-skips 1</report_id>\n"
    "  <date_range><begin>1700000000</begin><end>1700086399</end>"
    "</date_range>\n"
    " </report_metadata>\n"
    " <policy_published><domain>example.com</domain><p>none</p>"
    "</policy_published>\n"
    " <record><row><source_ip>192.0.2.1</source_ip><count>3</count>"
    "<policy_evaluated><disposition>none</disposition><dkim>pass</dkim>"
    "<spf>pass</spf></policy_evaluated></row>"
    "<identifiers><header_from>example.com</header_from></identifiers>"
    "<auth_results><spf><domain>example.com</domain><result>pass"
    "</result></spf></auth_results></record>\n"
    " <record><row><source_ip>192.0.2.2</source_ip>"
    "<count>1000000000001</count>"
    "<policy_evaluated><disposition>none</disposition><dkim>fail</dkim>"
    "<spf>fail</spf></policy_evaluated></row>"
    "<identifiers><header_from>example.com</header_from></identifiers>"
    "<auth_results><spf><domain>example.com</domain><result>fail"
    "</result></spf></auth_results></record>\n"
    " <record><row><source_ip>bogus\n  host</source_ip><count>1</count>"
    "<policy_evaluated><disposition>none</disposition><dkim>fail</dkim>"
    "<spf>fail</spf></policy_evaluated></row>"
    "<identifiers><header_from>example.com</header_from></identifiers>"
    "</record>\n"
    "</feedback>\n";

/* One record, read. */
static const char mail_clean[] =
    "From: dmarc@reporter.example\r\n"
    "To: rua@reports.test\r\n"
    "Subject: Report Domain: example.org\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/xml\r\n"
    "\r\n"
    "<?xml version=\"1.0\"?>\n"
    "<feedback>\n"
    " <report_metadata><org_name>Reporter</org_name>\n"
    "  <email>dmarc@reporter.example</email>\n"
    "  <report_id>rid-clean</report_id>\n"
    "  <date_range><begin>1700000000</begin><end>1700086399</end>"
    "</date_range>\n"
    " </report_metadata>\n"
    " <policy_published><domain>example.org</domain><p>none</p>"
    "</policy_published>\n"
    " <record><row><source_ip>192.0.2.9</source_ip><count>2</count>"
    "<policy_evaluated><disposition>none</disposition><dkim>pass</dkim>"
    "<spf>pass</spf></policy_evaluated></row>"
    "<identifiers><header_from>example.org</header_from></identifiers>"
    "<auth_results><spf><domain>example.org</domain><result>pass"
    "</result></spf></auth_results></record>\n"
    "</feedback>\n";

struct fixture {
	char dir[64];
	char logpath[128];
	int saved_stderr;
};

static char *read_log(const struct fixture *f);

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	int fd;

	assert_non_null(f);
	assert_int_equal(testdir_new(f->dir, sizeof f->dir,
	    "/tmp/msril-test-XXXXXX"), 0);
	snprintf(f->logpath, sizeof f->logpath, "%s/log", f->dir);
	fd = open(f->logpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	f->saved_stderr = dup(STDERR_FILENO);
	assert_true(f->saved_stderr >= 0);
	assert_true(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
	close(fd);
	log_init(GW_LOG_STDERR, GW_LOG_INFO, "test");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char *log;

	fflush(stderr);
	dup2(f->saved_stderr, STDERR_FILENO);
	close(f->saved_stderr);
	/* what was captured (cmocka's failure messages too) */
	log = read_log(f);
	fputs(log, stderr);
	free(log);
	testdir_remove(f->dir);
	free(f);
	return 0;
}

/* The log written so far (malloc'd, NUL-terminated). */
static char *
read_log(const struct fixture *f)
{
	FILE *fp = fopen(f->logpath, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	assert_non_null(fp);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static size_t
count_lines_with(const char *log, const char *needle)
{
	const char *p = log, *nl;
	size_t k = 0;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (memmem(p, (size_t)(nl - p), needle, strlen(needle)) !=
		    NULL)
			k++;
		p = *nl == '\n' ? nl + 1 : nl;
	}
	return k;
}

/* Ingests text (after a 6-byte prefix, as the queue file has one). */
static mailsec_err
ingest(const struct fixture *f, const char *name, const char *text)
{
	char path[160], err[256];
	size_t len = strlen(text);
	mailsec_err e;
	int fd;

	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "PREFIX", 6), 6);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	e = report_ingest_message(f->dir, fd, 6, len, err, sizeof err);
	close(fd);
	return e;
}

static void
test_ingest_logs_skipped(void **state)
{
	struct fixture *f = *state;
	char *log;

	assert_int_equal(ingest(f, "m1", mail_skips), MAILSEC_OK);
	log = read_log(f);
	/* one warning line per skipped record, with the report ID (its
	 * space escaped) */
	assert_int_equal(count_lines_with(log, "reports: ingest "), 2);
	assert_int_equal(count_lines_with(log, "warning: reports: ingest "
	    "report_id=rid-skips\\x201 skipped="), 2);
	assert_int_equal(count_lines_with(log, "skipped=record\\x202\\x20"),
	    1);
	assert_int_equal(count_lines_with(log, "1000000000001"), 1);
	assert_int_equal(count_lines_with(log, "skipped=record\\x203\\x20"),
	    1);
	/* the newline from the report is not a line of the log */
	assert_int_equal(count_lines_with(log, "bogus\\x0a"), 1);
	assert_null(strstr(log, "\n  host"));
	free(log);

	/* again: already stored, nothing new logged */
	assert_int_equal(ingest(f, "m2", mail_skips), MAILSEC_OK);
	log = read_log(f);
	assert_int_equal(count_lines_with(log, "reports: ingest "), 2);
	free(log);

	/* every record read: no line */
	assert_int_equal(ingest(f, "m3", mail_clean), MAILSEC_OK);
	log = read_log(f);
	assert_int_equal(count_lines_with(log, "reports: ingest "), 2);
	assert_null(strstr(log, "rid-clean"));
	free(log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ingest_logs_skipped,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
