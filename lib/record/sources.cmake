set(MAILSEC_RECORD_SOURCES record/lint.c record/lint_spf.c record/lint_tags.c
	record/build.c record/audit.c record/mtasts.c)
