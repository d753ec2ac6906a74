/*
 * mailsec/str.h - borrowed byte strings.
 */
#ifndef MAILSEC_STR_H
#define MAILSEC_STR_H

#include <stddef.h>

#include <mailsec/err.h>

/*
 * A view of bytes owned by someone else; never NUL-terminated by contract
 * (it may happen to be). Lifetime: that of the object it was taken from.
 */
struct mailsec_str {
	const char *ptr;
	size_t len;
};

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Length of the character at p[0..n): 1 for an ASCII byte, 2 to 4 for a
 * well-formed UTF-8 sequence (RFC 3629 section 4: no overlong forms, no
 * surrogates, nothing above U+10FFFF), 0 when n is 0 or the bytes are not
 * UTF-8.
 */
MAILSEC_API size_t mailsec_utf8_len(const char *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_STR_H */
