set(MAILSEC_CORE_SOURCES core/core.c core/tagvalue.c)
