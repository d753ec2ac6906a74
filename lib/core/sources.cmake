set(MAILSEC_CORE_SOURCES core/core.c core/base64.c core/tagvalue.c)
