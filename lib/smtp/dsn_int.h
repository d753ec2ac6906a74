/*
 * lib/smtp/dsn_int.h - library-internal hooks of lib/smtp/dsn.c.
 */
#ifndef MS_DSN_INT_H
#define MS_DSN_INT_H

#include <stddef.h>
#include <stdint.h>

#include <mailsec/dsn.h>

/* Fills buf with n unpredictable bytes (the MIME boundary, Message-ID). */
typedef void ms_dsn_random_fn(unsigned char *buf, size_t n);

/*
 * mailsec_dsn_compose() with its random source given (NULL:
 * getrandom(2)), for tests that force boundary collisions and for the
 * fuzz target's reproducible output.
 */
mailsec_err ms_dsn_compose_rnd(const struct mailsec_dsn *d,
    mailsec_dsn_read_fn *read, void *arg, uint64_t orig_max, char **out,
    size_t *outlen, struct mailsec_diag *diag, ms_dsn_random_fn *rnd);

#endif /* MS_DSN_INT_H */
