set(MAILSEC_SPF_SOURCES spf/record.c spf/macro.c spf/spf.c spf/header.c
	spf/cache.c)
