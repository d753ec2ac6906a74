/*
 * mailsec/err.h - error codes and parser diagnostics.
 *
 * Every library call returns a mailsec_err; 0 (MAILSEC_OK) is success and
 * results travel in out-parameters. Verdicts (an SPF "fail", a DNS
 * NXDOMAIN) are never errors: they are data in result structures.
 */
#ifndef MAILSEC_ERR_H
#define MAILSEC_ERR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MAILSEC_API __attribute__((visibility("default")))
#else
#define MAILSEC_API
#endif

/* X(name, text): one table for the enum and mailsec_strerror(). */
#define MAILSEC_ERR_MAP(X)                                               \
	X(OK, "success")                                                 \
	X(ENOMEM, "out of memory")                                       \
	X(EINVAL, "invalid argument")                                    \
	X(ELIMIT, "limit exceeded")                                      \
	X(ESYNTAX, "syntax error")                                       \
	X(ENOTFOUND, "not found")                                        \
	X(EIO, "input/output error")                                     \
	X(EDNS, "DNS resolver failure")                                  \
	X(ETIMEOUT, "timed out")                                         \
	X(EUNSUPPORTED, "not supported")                                 \
	X(ESTATE, "call not valid in this state")                        \
	X(EAGAIN, "need more input")

typedef enum mailsec_err {
#define MAILSEC_ERR_ENUM(name, text) MAILSEC_##name,
	MAILSEC_ERR_MAP(MAILSEC_ERR_ENUM)
#undef MAILSEC_ERR_ENUM
	MAILSEC_ERR_COUNT
} mailsec_err;

/* Returns a static, human-readable text for err (never NULL). */
MAILSEC_API const char *mailsec_strerror(mailsec_err err);

/* Returns the symbolic name ("ESYNTAX") for err (never NULL). */
MAILSEC_API const char *mailsec_errname(mailsec_err err);

/*
 * Where and why a parser refused its input. Callers that want the detail
 * pass a pointer to one (zeroed or not); NULL means "don't care".
 * offset is the byte offset into the input the parser was given; line is
 * 1-based where the input has lines (zone files, messages), else 0.
 */
struct mailsec_diag {
	int set;		/* 1 once a parser filled it in */
	size_t offset;		/* byte offset of the problem */
	size_t line;		/* 1-based line number, 0 if not meaningful */
	char text[256];		/* "what and why", NUL-terminated */
};

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_ERR_H */
