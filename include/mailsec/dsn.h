/*
 * mailsec/dsn.h - delivery status notifications: which recipients are
 * owed one (RFC 3461 4.1, 5.2.5, 5.2.6) and the DSN message itself, a
 * multipart/report (RFC 6522) with a message/delivery-status part
 * (RFC 3464) and the original message or its header (RFC 3461 6.2).
 *
 * Pure: no I/O. The caller supplies the envelope facts and a callback
 * that reads the original message; the result is a complete message in
 * CRLF form for the queue to send from the null reverse-path.
 */
#ifndef MAILSEC_DSN_H
#define MAILSEC_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 3464 2.3.3 action-value. */
enum mailsec_dsn_action {
	MAILSEC_DSN_FAILED,
	MAILSEC_DSN_DELAYED,
	MAILSEC_DSN_DELIVERED,
	MAILSEC_DSN_RELAYED,
	MAILSEC_DSN_EXPANDED
};

/*
 * The longest header block returned as text/rfc822-headers. A longer
 * header is cut at a field boundary and the human part says so.
 */
#define MAILSEC_DSN_HEADERS_MAX	(256u * 1024u)

/*
 * One recipient's group of per-recipient fields (RFC 3464 2.3).
 *
 * Strings that end up in header-like fields (everything but diagnostic)
 * must be printable US-ASCII (0x20..0x7e): a CR, LF, other control byte
 * or 8-bit byte makes mailsec_dsn_compose() fail with MAILSEC_EINVAL, so
 * an envelope value can never inject a field. Addresses are reported
 * exactly as given (RFC 3464 2.3.2: case and spelling preserved).
 */
struct mailsec_dsn_rcpt {
	const char *final_recipient;	/* the address we tried; written as
					   "rfc822;" + address */
	const char *orcpt;		/* ORCPT= decoded from xtext, as
					   struct mailsec_smtp_params and the
					   queue hold it: "type;address"
					   (RFC 3461 4.2), or NULL */
	enum mailsec_dsn_action action;
	const char *status;		/* RFC 3463 code "5.1.1": class 2 for
					   delivered/relayed/expanded, 4 for
					   delayed, 4 or 5 for failed */
	const char *remote_mta;		/* host name or NULL */
	const char *diagnostic;		/* "550 5.1.1 no such user" or NULL;
					   lines of a multi-line reply
					   separated by "\n" (RFC 3461 9.2).
					   Free text from the peer: bytes
					   outside printable ASCII are written
					   as "\xHH", never refused. Written
					   as "smtp; " when it starts with a
					   reply code, else "X-mailsec; " */
	int64_t last_attempt;		/* Unix time, 0: omit */
	int64_t will_retry_until;	/* delayed only (RFC 3464 2.3.9: MUST
					   NOT appear otherwise; ignored for
					   other actions), 0: omit */
};

/* One DSN: the per-message fields and the recipients it reports on. */
struct mailsec_dsn {
	const char *reporting_mta;	/* our host name ("dns; " added) */
	const char *postmaster;		/* From: of the DSN,
					   "MAILER-DAEMON@host" */
	const char *to;			/* the original MAIL FROM, never ""
					   (no '<' or '>') */
	const char *envid;		/* ENVID= decoded from xtext (RFC 3461
					   6.3 (a)), or NULL */
	const char *ret;		/* "FULL", "HDRS" (any case) or NULL
					   (NULL: headers only) */
	const char *received_from_mta;	/* client HELO/IP or NULL */
	int64_t arrival;		/* Unix time the message arrived,
					   0: omit Arrival-Date */
	int64_t now;			/* Date: of the DSN */
	const struct mailsec_dsn_rcpt *rcpts;	/* at least one */
	size_t nrcpts;
	const char *message_id_domain;	/* for Message-ID; NULL: the
					   reporting_mta */
};

/*
 * Whether a DSN with action a is owed to a recipient whose RCPT carried
 * NOTIFY=notify (RFC 3461 4.1, 5.2.5, 5.2.6), keywords in any case:
 * "NEVER" never; otherwise SUCCESS asks for delivered, relayed and
 * expanded, FAILURE for failed, DELAY for delayed. NULL or "" (no
 * NOTIFY) means FAILURE,DELAY: failures and delays, never success. A
 * malformed value (unknown keyword, NEVER combined with another) is
 * treated as absent.
 */
MAILSEC_API bool mailsec_dsn_wanted(const char *notify,
    enum mailsec_dsn_action a);

/*
 * Reads the original message: fills buf (bufsz bytes) and sets *got;
 * *got == 0 means the end. Any error ends the compose with that error.
 */
typedef mailsec_err mailsec_dsn_read_fn(void *arg, char *buf, size_t bufsz,
    size_t *got);

/*
 * Composes the whole DSN message into *out (malloc'd, NUL-terminated,
 * CRLF lines; *outlen bytes without the NUL; the caller frees it):
 *   Date, From, To, Subject ("Undelivered Mail Returned to Sender" when
 *   a recipient failed, else "Delayed Mail (still being retried)" when
 *   one is delayed, else "Successful Mail Delivery Report"), Message-ID,
 *   MIME-Version, Auto-Submitted: auto-replied (RFC 3834 5), and
 *   Content-Type: multipart/report; report-type=delivery-status, with
 *   a boundary that occurs nowhere in the content;
 *   1. text/plain: what happened to each recipient, in plain words;
 *   2. message/delivery-status (RFC 3464 2.2, 2.3);
 *   3. the original, read through read(arg, ...):
 *      message/rfc822 with the whole message when ret is FULL, a
 *      recipient failed (RFC 3461 4.3: RET concerns failure DSNs) and
 *      the message is at most orig_max bytes, 7-bit, without NUL or bare
 *      CR and with lines of at most 998 octets (RFC 6522 3: else only
 *      the header; RFC 6533 global DSNs are not produced);
 *      text/rfc822-headers with the header block otherwise (7bit, or
 *      quoted-printable when the header has 8-bit or control bytes or
 *      over-long lines: RFC 6522 4). The human part says when the whole
 *      message was asked for but only the header is returned, and why.
 *      read NULL: the original is not at hand and the third part is
 *      left out (RFC 3464 2 (d) makes it optional).
 * orig_max 0 never returns the whole message. At most orig_max + 64 KiB
 * (full) or MAILSEC_DSN_HEADERS_MAX + 64 KiB (header only) of the
 * original is read and held.
 * Every line of the result ends in CRLF and is at most 998 octets; header
 * fields are folded at 78 where there is white space to fold at.
 * Returns:
 *   MAILSEC_EINVAL  d, rcpts (nrcpts 0), out or outlen NULL; d->to NULL
 *                   or "" (never a bounce to the null sender); a required
 *                   string missing; an envelope string with bytes outside
 *                   printable ASCII; a bad status code or one that does
 *                   not fit the action; an unknown action or ret; a date
 *                   that cannot be represented. diag says which field.
 *   MAILSEC_ELIMIT  a value too long to fit a 998-octet line
 *   MAILSEC_ENOMEM
 *   or the error the read callback returned.
 * On error *out is untouched.
 */
MAILSEC_API mailsec_err mailsec_dsn_compose(const struct mailsec_dsn *d,
    mailsec_dsn_read_fn *read, void *arg, uint64_t orig_max, char **out,
    size_t *outlen, struct mailsec_diag *diag);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_DSN_H */
