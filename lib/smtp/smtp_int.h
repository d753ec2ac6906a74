/*
 * lib/smtp/smtp_int.h - internals shared by the SMTP files.
 */
#ifndef MS_SMTP_INT_H
#define MS_SMTP_INT_H

#include <mailsec/smtp.h>

#include "core/core.h"

#endif /* MS_SMTP_INT_H */
