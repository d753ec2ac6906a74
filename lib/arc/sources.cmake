set(MAILSEC_ARC_SOURCES arc/chain.c arc/verify.c arc/seal.c arc/report.c)
