/*
 * tests/common/zone_text.h: writing zone-file text from test data, for the
 * suite runners that build a zone for the zone backend
 * (tests/conformance/{spf,arc}).
 */
#ifndef MAILSEC_TESTS_ZONE_TEXT_H
#define MAILSEC_TESTS_ZONE_TEXT_H

#include <stddef.h>

#include <mailsec/err.h>

#include "core/core.h"

/*
 * Appends " \"...\"": the N octets at P as TXT character-strings (split
 * every 255 octets), '"' and '\\' escaped, octets outside 0x20..0x7e as
 * \DDD.
 */
mailsec_err	put_txt(struct ms_buf *b, const char *p, size_t n);

#endif
