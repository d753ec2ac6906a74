/*
 * mailsec/smtp_client.h - the SMTP client protocol without I/O: reading
 * replies, what an EHLO reply offers, building MAIL and RCPT commands,
 * AUTH PLAIN/LOGIN responses and dot-stuffing the message for DATA.
 *
 * RFC 5321 4.2 (replies), 4.5.2 (transparency), 2.3.8 (line ends); RFC
 * 2034 and 3463 (enhanced status codes); RFC 1870 (SIZE), 1652
 * (8BITMIME), 3030 (CHUNKING, BINARYMIME), 6531 (SMTPUTF8), 3461 (DSN:
 * RET, ENVID, NOTIFY, ORCPT, xtext), 4954 and 4616 (AUTH PLAIN).
 *
 * The delivery code owns the socket and the TLS session; it hands the
 * bytes it reads to the reply reader and writes the commands built here.
 * Nothing here allocates; every structure can live in the caller's
 * connection object.
 */
#ifndef MAILSEC_SMTP_CLIENT_H
#define MAILSEC_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/err.h>
#include <mailsec/smtp.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits ------------------------------------------------------------ */

/* Reply text kept, NUL included (longer replies are cut). */
#define MAILSEC_SMTP_CREPLY_TEXT_MAX	8192
/* One reply line, line end included. RFC 5321 4.5.3.1.5 allows 512; we
 * tolerate four times that from servers that do not keep it. */
#define MAILSEC_SMTP_CREPLY_LINE_MAX	2048
/* Lines of one reply: RFC 5321 sets no limit; a server going on longer
 * is broken or hostile. */
#define MAILSEC_SMTP_CREPLY_LINES_MAX	100
/* A MAIL or RCPT line we build, CRLF included: what our own server takes
 * (RFC 5321 4.5.3.1.4 plus what the extensions add). */
#define MAILSEC_SMTP_CCMD_LINE_MAX	MAILSEC_SMTP_LINE_MAX_DEFAULT

/* ---- replies ----------------------------------------------------------- */

/* One reply, possibly multi-line ("250-..." ... "250 ..."). */
struct mailsec_smtp_creply {
	int code;			/* 200..599 */
	char enhanced[16];		/* "5.1.1" (RFC 3463) or "" */
	char text[MAILSEC_SMTP_CREPLY_TEXT_MAX]; /* lines joined by "\n",
					 * enhanced code stripped, cut at
					 * the limit; TAB becomes SP, other
					 * bytes outside printable ASCII
					 * '?': never NUL, CR or LF inside
					 * a line */
	size_t nlines;			/* lines the reply had (1..100) */
	bool cut;			/* text was cut at the limit */
};

/*
 * Incremental reply reader. Lines end with CRLF or a bare LF. A line is
 * "ddd" alone, "ddd SP text" (last line) or "ddd-text" (more follow),
 * ddd in 200..599, the same on every line. An enhanced status code
 * (class.subject.detail, RFC 3463 2, its class the reply code's first
 * digit) at the start of a line's text is removed from the text; the
 * first one found goes to .enhanced.
 */
struct mailsec_smtp_creader {
	struct mailsec_smtp_creply cur;	/* the reply being read */
	size_t textlen;			/* bytes in cur.text */
	size_t linelen;			/* bytes in line */
	uint64_t offset;		/* bytes consumed since init */
	uint64_t line_start;		/* offset of line[0] */
	mailsec_err err;		/* sticky after a failure */
	char line[MAILSEC_SMTP_CREPLY_LINE_MAX]; /* the line being read */
};

MAILSEC_API void mailsec_smtp_creader_init(struct mailsec_smtp_creader *r);

/*
 * Consumes bytes from (p, len); *used gets the bytes consumed.
 * MAILSEC_OK: *out holds one complete reply; the bytes after it are not
 * consumed (call again with the rest: pipelined replies).
 * MAILSEC_EAGAIN: need more bytes (all consumed).
 * MAILSEC_ESYNTAX: malformed reply (code not three digits in 200..599,
 * no SP or "-" after the code, codes differing between lines, a line
 * over MAILSEC_SMTP_CREPLY_LINE_MAX, more than
 * MAILSEC_SMTP_CREPLY_LINES_MAX lines); diag (optional) gets the reason,
 * the offset in the byte stream since init and the line of the reply.
 * The connection is out of step: the reader then returns MAILSEC_ESTATE
 * (nothing consumed) until it is initialised again.
 * MAILSEC_EINVAL: r, used or out NULL, or p NULL with len > 0.
 */
MAILSEC_API mailsec_err mailsec_smtp_creader_feed(
    struct mailsec_smtp_creader *r, const char *p, size_t len, size_t *used,
    struct mailsec_smtp_creply *out, struct mailsec_diag *diag);

/* Whether a reply code is 2xx/4xx/5xx; maps to per-recipient outcome. */
enum mailsec_smtp_class {
	MAILSEC_SMTP_OK,		/* 2yz */
	MAILSEC_SMTP_TEMP,		/* 4yz, and anything unexpected */
	MAILSEC_SMTP_PERM		/* 5yz */
};

/* 2yz OK, 5yz PERM, everything else TEMP: a 3yz where a final reply was
 * due (the caller checks for 354 after DATA itself) or a code out of
 * range is a protocol error worth a retry, never a bounce. */
MAILSEC_API enum mailsec_smtp_class mailsec_smtp_reply_class(int code);

/* ---- EHLO -------------------------------------------------------------- */

/* What the server's EHLO reply offers. */
struct mailsec_smtp_ehlo {
	bool pipelining, starttls, eightbitmime, smtputf8, dsn, chunking,
	    binarymime, enhancedstatuscodes, size;
	uint64_t size_max;		/* SIZE n (0: no limit given;
					   UINT64_MAX if larger) */
	bool auth_plain, auth_login;	/* AUTH mechanisms we can use */
	bool auth;			/* AUTH offered at all */
};

/*
 * Fills out from an EHLO reply: its first line is the greeting, each
 * further line "keyword [params]" (RFC 5321 4.1.1.1), keywords and AUTH
 * mechanisms in any case; "AUTH=PLAIN LOGIN" (pre-RFC 2554 servers)
 * counts as AUTH. A reply other than 250 offers nothing.
 */
MAILSEC_API void mailsec_smtp_ehlo_parse(const struct mailsec_smtp_creply *r,
    struct mailsec_smtp_ehlo *out);

/* ---- MAIL, RCPT -------------------------------------------------------- */

/* Envelope parameters for MAIL FROM. */
struct mailsec_smtp_mailparams {
	uint64_t size;			/* 0: omit */
	const char *body;		/* "8BITMIME", "BINARYMIME",
					   NULL/"7BIT": omit */
	bool smtputf8;
	const char *ret;		/* "FULL"/"HDRS" or NULL (only sent
					   if server has DSN) */
	const char *envid;		/* raw value, xtext-encoded here, or
					   NULL (only sent with DSN) */
};

/* What a message needs that the server lacks (mailsec_smtp_needs()). */
#define MAILSEC_SMTP_NEED_8BITMIME	0x01u	/* 8-bit body, no 8BITMIME */
#define MAILSEC_SMTP_NEED_BINARYMIME	0x02u	/* no BINARYMIME+CHUNKING */
#define MAILSEC_SMTP_NEED_SMTPUTF8	0x04u	/* UTF-8 envelope/headers */
#define MAILSEC_SMTP_NEED_SIZE		0x08u	/* over the SIZE limit */

/*
 * What the message described by from (the reverse-path, may be NULL) and
 * mp needs that the server behind eh does not offer: MAILSEC_SMTP_NEED_*
 * bits, 0 when it can be sent as it is. NEED_8BITMIME is the caller's
 * decision: RFC 1652 3 allows converting to 7bit MIME or a permanent
 * failure (the caller knows whether the body really holds 8-bit
 * octets); mailsec_smtp_cmd_mail() refuses the other three.
 * SMTPUTF8 is needed when mp->smtputf8 is set or from holds a byte over
 * 0x7f.
 */
MAILSEC_API unsigned mailsec_smtp_needs(const char *from,
    const struct mailsec_smtp_mailparams *mp,
    const struct mailsec_smtp_ehlo *eh);

/*
 * Writes "MAIL FROM:<from> SIZE=.. BODY=.. SMTPUTF8 RET=.. ENVID=..\r\n"
 * into buf (NUL-terminated; *len excludes the NUL), with only the
 * parameters the server offers: SIZE= (mp->size > 0 and SIZE), BODY=
 * (8BITMIME or BINARYMIME offered), SMTPUTF8, RET= and ENVID= (DSN).
 * from is the address without brackets ("" for the null reverse-path).
 * Returns MAILSEC_EINVAL when the message needs an extension the server
 * lacks (SMTPUTF8, BINARYMIME, a size over the SIZE limit: see
 * mailsec_smtp_needs(); an 8-bit body to a server without 8BITMIME is
 * the caller's decision and BODY= is left out), for a bad argument
 * (control bytes in from, RET other than FULL/HDRS, BODY unknown);
 * MAILSEC_ELIMIT when the line exceeds bufsz or
 * MAILSEC_SMTP_CCMD_LINE_MAX, or the ENVID is over 100 octets (RFC 3461
 * 4.4).
 */
MAILSEC_API mailsec_err mailsec_smtp_cmd_mail(char *buf, size_t bufsz,
    size_t *len, const char *from, const struct mailsec_smtp_mailparams *mp,
    const struct mailsec_smtp_ehlo *eh);

/*
 * "RCPT TO:<to> NOTIFY=.. ORCPT=..\r\n"; DSN parameters only if eh->dsn.
 * notify (NULL: omit) is "NEVER" or a comma list of SUCCESS, FAILURE,
 * DELAY in any case (RFC 3461 4.1), sent as given. orcpt (NULL: omit):
 * a value already in the wire form "addr-type;xtext" (as the queue keeps
 * it from the ORCPT= it received: addr-type an atom, the rest valid
 * xtext) is sent as it is; anything else is taken as a plain address
 * and sent as "rfc822;" + its xtext encoding. An ORCPT value over 500
 * characters (RFC 3461 4.2) is MAILSEC_ELIMIT. Other errors as
 * mailsec_smtp_cmd_mail() (a byte over 0x7f in to without SMTPUTF8 is
 * EINVAL).
 */
MAILSEC_API mailsec_err mailsec_smtp_cmd_rcpt(char *buf, size_t bufsz,
    size_t *len, const char *to, const char *notify, const char *orcpt,
    const struct mailsec_smtp_ehlo *eh);

/*
 * RFC 3461 4 xtext encoding: '!'..'~' except '+' and '=' as themselves,
 * every other octet as "+XX". Writes a NUL after the text; *outlen (may
 * be NULL) excludes it. MAILSEC_ELIMIT when out is too small,
 * MAILSEC_EINVAL for NULL pointers.
 */
MAILSEC_API mailsec_err mailsec_smtp_xtext_encode(const char *in,
    size_t inlen, char *out, size_t outsz, size_t *outlen);

/* ---- AUTH -------------------------------------------------------------- */

/*
 * AUTH PLAIN initial response (RFC 4616 2, RFC 4954 4): the base64 of
 * "\0user\0pass" (empty authzid), NUL-terminated in buf; the caller
 * sends "AUTH PLAIN " buf CRLF. user and pass are 1..255 octets
 * (MAILSEC_EINVAL when empty, MAILSEC_ELIMIT when longer or when buf is
 * too small). The plain text is wiped from the stack; buf holds a
 * password equivalent: wipe it after use.
 */
MAILSEC_API mailsec_err mailsec_smtp_auth_plain(const char *user,
    const char *pass, char *buf, size_t bufsz, size_t *len);

/* One AUTH LOGIN step: the base64 of s (the user name after the first
 * "334", the password after the second). Same limits and errors. */
MAILSEC_API mailsec_err mailsec_smtp_auth_login(const char *s, char *buf,
    size_t bufsz, size_t *len);

/* ---- DATA -------------------------------------------------------------- */

/*
 * Streaming dot-stuffer for DATA (RFC 5321 4.5.2): feed message bytes,
 * get wire bytes. A CR LF, a bare LF and a bare CR each end a line and
 * go out as CR LF (RFC 5321 2.3.8: a client never sends bare CR or LF;
 * this also keeps "\n.\r\n" smuggling off the wire); a line starting
 * with "." gets another one. The output does not depend on how the
 * input is cut into calls.
 */
struct mailsec_smtp_dotstuff {
	bool bol;		/* at the start of a line */
	bool cr;		/* the last input byte was CR (its CR LF is
				   out: swallow one LF) */
	uint64_t in, out;	/* bytes fed, bytes written */
};

MAILSEC_API void mailsec_smtp_dotstuff_init(struct mailsec_smtp_dotstuff *d);

/* The most output inlen input can give (2 * inlen; SIZE_MAX on
 * overflow). */
MAILSEC_API size_t mailsec_smtp_dotstuff_bound(size_t inlen);

/* Writes the wire form of (in, inlen) to out, which must have room for
 * mailsec_smtp_dotstuff_bound(inlen) bytes; returns the bytes written. */
MAILSEC_API size_t mailsec_smtp_dotstuff(struct mailsec_smtp_dotstuff *d,
    const char *in, size_t inlen, char *out);

/* Ends the message: CR LF if the last line had none, then ".\r\n" (at
 * most 5 bytes). The stuffer must be initialised again for the next
 * message. */
MAILSEC_API size_t mailsec_smtp_dotstuff_finish(
    struct mailsec_smtp_dotstuff *d, char *out);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_SMTP_CLIENT_H */
