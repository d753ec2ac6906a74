set(MAILSEC_AUTHRES_SOURCES authres/model.c authres/parse.c authres/gen.c)
