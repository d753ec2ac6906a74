/*
 * mailsec/msg.h - the message model: an RFC 5322 message as header fields
 * (name, raw bytes with folding, unfolded value) and a body offset.
 *
 * Internal form (DESIGN.md, principle 3): CRLF line endings. Input that is
 * already CRLF is not copied: the message borrows it. Input with bare LF
 * line endings (files on disk) is converted into a copy the message owns;
 * so is a bare CR in the body (RFC 5322 2.3 allows CR only in CRLF; a
 * file's stray CR is taken as a line break). A bare CR in the header block
 * is always refused.
 *
 * Bytes in field bodies: 8-bit bytes are kept as they are (RFC 6532 allows
 * UTF-8; the model does not judge encodings), and so are control bytes
 * other than CR, LF and NUL (obs-utext, RFC 5322 4.1). NUL anywhere in the
 * header block is refused. Field names are printable US-ASCII except ':'.
 */
#ifndef MAILSEC_MSG_H
#define MAILSEC_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include <mailsec/err.h>
#include <mailsec/str.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One header field. All three views point into the message's CRLF data
 * (value into a message-owned copy when unfolding changed it) and live as
 * long as the message. */
struct mailsec_header {
	struct mailsec_str name;	/* field name as written, no colon, no
					   WSP before the colon ("From : x",
					   RFC 5322 4.5, is "From") */
	struct mailsec_str raw;		/* the whole field: name, colon, value,
					   folding, through its final CRLF
					   (none only when the input ends
					   inside the last field) */
	struct mailsec_str value;	/* after the colon, unfolded (CRLF
					   before WSP removed, RFC 5322 2.2.3),
					   leading and trailing WSP trimmed */
};

/* Hard limits; a zero field takes the default shown. Lengths count the
 * CRLF form, so LF and CRLF input of the same message meet the same
 * limits. */
struct mailsec_msg_limits {
	size_t max_fields;	/* header fields (default 1000) */
	size_t max_field_len;	/* one field's raw bytes (default 65536) */
	size_t max_header_len;	/* the whole header block, blank line
				   excluded (default 1 MiB) */
};

/* Flags for mailsec_msg_parse(). */
#define MAILSEC_MSG_REQUIRE_CRLF 0x1u	/* refuse bare LF or bare CR
					   instead of converting (wire) */

struct mailsec_msg;

/*
 * Parses the header block of the message in (p, len) and finds the body.
 * When p is already CRLF the message retains p (the caller keeps it alive
 * and unchanged until mailsec_msg_free); otherwise it converts into its
 * own copy. A bare CR (not before LF) in the header block is refused: it
 * has no safe meaning there; in the body it is converted like a bare LF.
 * With MAILSEC_MSG_REQUIRE_CRLF every bare LF or bare CR is refused.
 * lim may be NULL (defaults). On error *out is untouched and diag (if
 * non-NULL) says what, at which byte offset of (p, len) and line, and why:
 *   MAILSEC_ESYNTAX  a line in the header block is not a field (no colon,
 *                    invalid name characters, continuation before any
 *                    field, NUL byte, bare CR; a leading mbox "From "
 *                    line), or a bare LF/CR under REQUIRE_CRLF
 *   MAILSEC_ELIMIT   a limit of lim was exceeded
 *   MAILSEC_EINVAL   out is NULL, or p is NULL with len > 0
 * A message without a blank line is all header (the body is empty); one
 * that starts with the blank line has no fields.
 */
MAILSEC_API mailsec_err mailsec_msg_parse(const char *p, size_t len,
    const struct mailsec_msg_limits *lim, unsigned flags,
    struct mailsec_msg **out, struct mailsec_diag *diag);

/* Frees msg; NULL is a no-op. */
MAILSEC_API void mailsec_msg_free(struct mailsec_msg *msg);

/* Number of header fields, in message order (top first). */
MAILSEC_API size_t mailsec_msg_field_count(const struct mailsec_msg *msg);

/* Field i (0 = topmost), or NULL when i is out of range. */
MAILSEC_API const struct mailsec_header *mailsec_msg_field(
    const struct mailsec_msg *msg, size_t i);

/*
 * Index of the first field at or after start whose name equals name
 * (ASCII case-insensitive), or (size_t)-1 when none. Iterate with
 * `for (i = find(m, n, 0); i != (size_t)-1; i = find(m, n, i + 1))`.
 */
MAILSEC_API size_t mailsec_msg_find(const struct mailsec_msg *msg,
    const char *name, size_t start);

/* Number of fields named name. */
MAILSEC_API size_t mailsec_msg_count(const struct mailsec_msg *msg,
    const char *name);

/* The whole message in CRLF form. */
MAILSEC_API struct mailsec_str mailsec_msg_data(const struct mailsec_msg *msg);

/* The header block: every field, without the blank line. */
MAILSEC_API struct mailsec_str mailsec_msg_header_block(
    const struct mailsec_msg *msg);

/* The body: bytes after the blank line (CRLF form); empty if none. */
MAILSEC_API struct mailsec_str mailsec_msg_body(const struct mailsec_msg *msg);

/* True when the input had bare LF (or a bare CR in the body) and was
 * converted into a message-owned CRLF copy; false when it is borrowed. */
MAILSEC_API bool mailsec_msg_converted(const struct mailsec_msg *msg);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_MSG_H */
