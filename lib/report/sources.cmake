# DMARC reports (include/mailsec/report.h): the model, the reader
# (XML, gzip, zip, report e-mails), the writer.
set(MAILSEC_REPORT_SOURCES report/model.c report/parse.c report/extract.c
	report/zip.c)
# The writer: XML, gzip, file name, report e-mail, failure reports,
# external destination check.
list(APPEND MAILSEC_REPORT_SOURCES report/write.c report/mail.c
	report/failure.c report/dest.c)
