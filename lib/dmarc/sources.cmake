set(MAILSEC_DMARC_SOURCES dmarc/record.c dmarc/psl.c dmarc/dmarc.c)
