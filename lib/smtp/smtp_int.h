/*
 * lib/smtp/smtp_int.h - internals shared by the SMTP files.
 */
#ifndef MS_SMTP_INT_H
#define MS_SMTP_INT_H

#include <mailsec/smtp.h>

#include "core/core.h"

/* NOTIFY= value (RFC 3461 4.1): MAILSEC_SMTP_NOTIFY_* bits, 0 when
 * malformed (empty, unknown or repeated keyword, NEVER with another). */
unsigned ms_smtp_notify_parse(const char *v, size_t n);

#endif /* MS_SMTP_INT_H */
