/*
 * mailsec/version.h - library version.
 */
#ifndef MAILSEC_VERSION_H
#define MAILSEC_VERSION_H

#include <mailsec/err.h>

#define MAILSEC_VERSION_STRING "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns the version of the library actually linked ("0.1.0"). */
MAILSEC_API const char *mailsec_version(void);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_VERSION_H */
