set(MAILSEC_SMTP_SOURCES smtp/line.c smtp/cmd.c smtp/data.c smtp/reply.c
	smtp/sasl.c smtp/session.c
	smtp/client.c)
list(APPEND MAILSEC_SMTP_SOURCES smtp/dsn.c)
