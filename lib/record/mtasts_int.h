/*
 * lib/record/mtasts_int.h - the MTA-STS rules shared by the sender's
 * parsers (mtasts.c) and the linter (lint_tags.c): the policy file's
 * lines, the id, max_age and mx pattern forms (RFC 8461 3.1, 3.2).
 */
#ifndef MS_MTASTS_INT_H
#define MS_MTASTS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/mtasts.h>

/* One line of a policy file. */
struct ms_mtasts_line {
	size_t off;		/* where the line starts */
	size_t len;		/* its length without CR/LF */
	bool lf;		/* ended by a bare LF (not CRLF) */
	bool kv;		/* "key: value" with a non-empty key */
	const char *key;	/* kv: the key (no white space trimmed) */
	size_t klen;
	const char *val;	/* kv: the value, white space trimmed */
	size_t vlen;
	size_t voff;		/* offset of the value */
};

/*
 * Reads the line at *pos of (p, len) into l and moves *pos past its end.
 * Returns false at the end of the input. Empty lines are returned too
 * (l->len 0): callers skip them.
 */
bool ms_mtasts_line_next(const char *p, size_t len, size_t *pos,
    struct ms_mtasts_line *l);

/* RFC 8461 3.2: max_age is 1*10DIGIT up to MAILSEC_MTASTS_MAX_AGE_MAX;
 * false otherwise. */
bool ms_mtasts_max_age(const char *p, size_t n, uint32_t *out);

/* RFC 8461 3.2: an mx value is ["*."] a host name (LDH labels). */
bool ms_mtasts_mx_pattern_ok(const char *p, size_t n);

/* "enforce", "testing", "none" (case-sensitive) into *mode; false for
 * anything else. */
bool ms_mtasts_mode_parse(const char *p, size_t n,
    enum mailsec_mtasts_mode *mode);

#endif /* MS_MTASTS_INT_H */
