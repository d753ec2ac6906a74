/*
 * lib/smtp/dsn_int.h - library-internal hooks of lib/smtp/dsn.c.
 */
#ifndef MS_DSN_INT_H
#define MS_DSN_INT_H

#include <stddef.h>

/* Fills buf with n unpredictable bytes (the MIME boundary, Message-ID). */
typedef void ms_dsn_random_fn(unsigned char *buf, size_t n);

/*
 * Replaces the random source (NULL: getrandom(2) again). For tests only:
 * not thread-safe, set it before composing.
 */
void ms_dsn_set_random(ms_dsn_random_fn *fn);

#endif /* MS_DSN_INT_H */
