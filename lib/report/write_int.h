/*
 * lib/report/write_int.h - what the report writers share: RFC 5322
 * header fields (folded, refusing anything that could start a new
 * field), dates, base64 bodies, MIME boundaries and Message-IDs, the
 * start of a report message.
 */
#ifndef MS_REPORT_WRITE_INT_H
#define MS_REPORT_WRITE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/report.h>

#include "core/core.h"

/* Largest report message composed: the gzip'd report base64-encoded
 * (4/3, plus line ends) and the header. */
#define MS_RW_MAIL_MAX		((size_t)96 * 1024 * 1024)
/* Longest header field value accepted from a caller (before folding). */
#define MS_RW_VALUE_MAX		4096
/* Fold header lines at this width where white space allows (RFC 5322
 * 2.1.1: SHOULD 78, MUST 998). */
#define MS_RW_FOLD		78
#define MS_RW_LINE_MAX		998

/*
 * Is s usable inside a header field: printable ASCII and space only
 * (no CR, LF or other control, no 8-bit byte), 1..MS_RW_VALUE_MAX bytes?
 */
bool ms_rw_value_ok(const char *s);

/* Is s an addr-spec we can put in From:/To: (local@domain, dot-atom or
 * quoted local part, domain LDH or literal, printable ASCII)? */
bool ms_rw_addr_ok(const char *s);

/* Is d a host name of LDH labels (ms_domain_ldh_ok()), a final dot
 * allowed? */
bool ms_rw_domain_ok(const char *d);

/* Drops a leading "mailto:" (any case) from a report URI. */
const char *ms_rw_strip_mailto(const char *s);

/*
 * Appends "Name: value\r\n", folded at spaces to MS_RW_FOLD columns
 * where possible. value must have passed ms_rw_value_ok() (or be built
 * by us); a word longer than MS_RW_LINE_MAX is MAILSEC_EINVAL.
 */
mailsec_err ms_rw_header(struct ms_buf *b, const char *name,
    const char *value);

/* RFC 5322 3.3 date-time of t in UTC ("Mon, 02 Jan 2006 15:04:05
 * +0000"), locale-free. buf: at least MS_RW_DATE_LEN bytes. false when t
 * is out of range. */
#define MS_RW_DATE_LEN		40
bool ms_rw_date(int64_t t, char *buf, size_t bufsz);

/* Appends base64 of (p, n) in lines of 76 characters, each ending in
 * CRLF (RFC 2045 6.8). */
mailsec_err ms_rw_base64(struct ms_buf *b, const void *p, size_t n);

/* What a report message starts with (ms_rw_mail_begin()). */
struct ms_rw_mail {
	const char *from;		/* addr-specs (ms_rw_addr_ok()) */
	const char *to;
	const char *subject;
	const char *date;		/* ms_rw_date() */
	const char *message_id;		/* "<...>" */
	const char *content_type;	/* "multipart/x" and any parameters */
	const char *boundary;		/* ms_rw_boundary() */
	const char *text;		/* the first part, 7-bit text */
	size_t textlen;
};

/*
 * Appends a report message's header section (From, To, Subject, Date,
 * Message-ID, Auto-Submitted: auto-generated, MIME-Version: 1.0 and
 * the multipart Content-Type with its boundary), the preamble and the
 * first part, text/plain in US-ASCII; the caller goes on with the CRLF
 * and delimiter of the next part.
 */
mailsec_err ms_rw_mail_begin(struct ms_buf *b, const struct ms_rw_mail *m);

/* The first 2 * nbytes hex digits of SHA-256 over the given pieces
 * (NULL-terminated list of (ptr, len) pairs is awkward in C: two). */
void ms_rw_sha256_hex(const void *a, size_t alen, const void *b2,
    size_t blen, char *hex, size_t nbytes);

/*
 * A MIME boundary (RFC 2046 5.1.1) that occurs in none of the parts:
 * "=_mailsec_" and hex from seed; re-derived while any part holds it.
 * parts: nparts pointers/lengths. buf: at least MS_RW_BOUNDARY_LEN.
 */
#define MS_RW_BOUNDARY_LEN	48
void ms_rw_boundary(const void *seed, size_t seedlen,
    const char *const *parts, const size_t *lens, size_t nparts, char *buf,
    size_t bufsz);

#endif /* MS_REPORT_WRITE_INT_H */
