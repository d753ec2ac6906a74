set(MAILSEC_DKIM_SOURCES dkim/canon.c dkim/sig.c dkim/key.c dkim/keycache.c
	dkim/keyq.c dkim/hdata.c dkim/verify.c dkim/sign.c dkim/report.c)
