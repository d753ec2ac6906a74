set(MAILSEC_MIME_SOURCES mime/msg.c mime/addr.c mime/domain.c)
