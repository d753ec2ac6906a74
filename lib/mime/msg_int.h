/*
 * lib/mime/msg_int.h - message model internals (lib/mime/msg.c): the
 * vector levels of the check that a body is CRLF throughout, and a parse
 * at a given level, for the tests and fuzzers that force each one.
 */
#ifndef MS_MSG_INT_H
#define MS_MSG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <mailsec/msg.h>

/* Vector levels of the CRLF check. */
#define MS_MSG_SIMD_SCALAR	0
#define MS_MSG_SIMD_SSE2	1	/* x86-64 baseline */
#define MS_MSG_SIMD_AVX2	2	/* when the CPU has it */

/* The level that asking for level gives: level capped by what the CPU
 * has; -1 for the best. Keeps no state. */
int ms_msg_simd_level(int level);

/* Is p[0, n) CRLF form throughout (every CR before LF, every LF after a
 * CR), checked at vector level (as ms_msg_simd_level() caps it)? */
bool ms_msg_crlf_only(int level, const char *p, size_t n);

/* mailsec_msg_parse() with the CRLF check at vector level (capped as
 * ms_msg_simd_level() does; mailsec_msg_parse() uses the best). */
mailsec_err ms_msg_parse_simd(const char *p, size_t len,
    const struct mailsec_msg_limits *lim, unsigned flags, int level,
    struct mailsec_msg **out, struct mailsec_diag *diag);

#endif /* MS_MSG_INT_H */
