# DMARC reports (include/mailsec/report.h). The writer: XML, gzip, file
# name, report e-mail, failure reports, external destination check.
set(MAILSEC_REPORT_SOURCES)
list(APPEND MAILSEC_REPORT_SOURCES report/write.c report/mail.c
	report/failure.c report/dest.c)
