/*
 * lib/smtp/smtp_int.h - internals shared by the SMTP files.
 */
#ifndef MS_SMTP_INT_H
#define MS_SMTP_INT_H

#include <mailsec/smtp.h>

#include "core/core.h"

/* RFC 5322 3.2.3 atext (the ASCII part). */
bool ms_smtp_isatext(int c);

/* Strict base64 (RFC 4648 4): decoded length, or (size_t)-1 when invalid
 * or longer than outsz. */
size_t ms_smtp_b64_decode_strict(const char *p, size_t len,
    unsigned char *out, size_t outsz);

#endif /* MS_SMTP_INT_H */
