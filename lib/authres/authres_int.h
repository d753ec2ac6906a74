/*
 * lib/authres/authres_int.h - character classes shared by the
 * Authentication-Results parser and generator (RFC 8601 2.2 and the
 * grammars it borrows: RFC 2045 5.1 token, RFC 5322 3.2 atext, qtext,
 * ctext, RFC 5321 4.1.2 Keyword, RFC 6376 3.5 domain-name).
 */
#ifndef MS_AUTHRES_INT_H
#define MS_AUTHRES_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <mailsec/authres.h>

#include "core/core.h"

/* tspecials of RFC 2045 5.1. */
static inline bool
ms_ar_tspecial(int c)
{
	switch (c) {
	case '(': case ')': case '<': case '>': case '@': case ',':
	case ';': case ':': case '\\': case '"': case '/': case '[':
	case ']': case '?': case '=':
		return true;
	}
	return false;
}

/* A MIME token character: US-ASCII graphic, not a tspecial. */
static inline bool
ms_ar_tokenc(int c)
{
	return c > 0x20 && c < 0x7f && !ms_ar_tspecial(c);
}

/* What an unquoted value may hold in the lenient parser: token, atext,
 * '@' and '.' (so "Qgi/FoC0", "user@example.org", "1.2.3.4"). */
static inline bool
ms_ar_ptext(int c)
{
	return ms_ar_tokenc(c) || ms_isatext(c) || c == '@' || c == '.';
}

/* qtext of RFC 5322 3.2.4 (ASCII part). */
static inline bool
ms_ar_qtext(int c)
{
	return c == 33 || (c >= 35 && c <= 91) || (c >= 93 && c <= 126);
}

/* ctext of RFC 5322 3.2.2 (ASCII part). */
static inline bool
ms_ar_ctext(int c)
{
	return (c >= 33 && c <= 39) || (c >= 42 && c <= 91) ||
	    (c >= 93 && c <= 126);
}

/* A Keyword character (RFC 5321 4.1.2 Ldh-str). */
static inline bool
ms_ar_keyc(int c)
{
	return ms_isalnum(c) || c == '-';
}

bool ms_ar_is_keyword(const char *p, size_t n);
bool ms_ar_is_token(const char *p, size_t n);
bool ms_ar_is_domain(const char *p, size_t n);
bool ms_ar_is_quoted(const char *p, size_t n);
bool ms_ar_is_addr_value(const char *p, size_t n);

#endif /* MS_AUTHRES_INT_H */
