/*
 * mailsec/str.h - borrowed byte strings.
 */
#ifndef MAILSEC_STR_H
#define MAILSEC_STR_H

#include <stddef.h>

/*
 * A view of bytes owned by someone else; never NUL-terminated by contract
 * (it may happen to be). Lifetime: that of the object it was taken from.
 */
struct mailsec_str {
	const char *ptr;
	size_t len;
};

#endif /* MAILSEC_STR_H */
