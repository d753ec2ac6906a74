/*
 * mailsec/smtp.h - the SMTP server protocol without I/O: command lines,
 * commands, DATA and BDAT streams, replies, SASL PLAIN/LOGIN and the
 * session's command sequencing.
 *
 * RFC 5321 (SMTP), 1870 (SIZE), 1652 (8BITMIME), 2920 (PIPELINING), 3030
 * (CHUNKING, BINARYMIME), 3207 (STARTTLS), 3461 (DSN), 6531 (SMTPUTF8),
 * 2034/3463 (enhanced status codes), 4954 (AUTH), 4616 (PLAIN).
 *
 * The daemon reads bytes from a socket and hands them to these pure state
 * machines; nothing here allocates except where a function says so, and
 * every structure can live inside the daemon's session object. Errors that
 * the client must hear come as a ready reply (code, enhanced status code,
 * text): struct mailsec_smtp_reply.
 */
#ifndef MAILSEC_SMTP_H
#define MAILSEC_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mailsec/err.h>
#include <mailsec/str.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits ------------------------------------------------------------ */

/* RFC 5321 4.5.3.1.4: a command line, verb and CRLF included. */
#define MAILSEC_SMTP_CMD_LINE_MAX	512
/* What extensions add to a MAIL line: SIZE 26 (RFC 1870), BODY=BINARYMIME
 * 16 (RFC 3030), SMTPUTF8 10 (RFC 6531), " RET=HDRS" and " ENVID=" with
 * 100 characters (RFC 3461 4.4), " AUTH=" with 500 (RFC 4954 5). */
#define MAILSEC_SMTP_MAIL_ALLOWANCE	(26 + 16 + 10 + 9 + 107 + 506)
/* What DSN adds to a RCPT line: " NOTIFY=SUCCESS,FAILURE,DELAY" and
 * " ORCPT=" with 500 characters (RFC 3461 4.1, 4.2). */
#define MAILSEC_SMTP_RCPT_ALLOWANCE	(29 + 507)
/* Default line limit of the splitter: the longest MAIL line. */
#define MAILSEC_SMTP_LINE_MAX_DEFAULT \
	(MAILSEC_SMTP_CMD_LINE_MAX + MAILSEC_SMTP_MAIL_ALLOWANCE)
/* RFC 4954 4: an AUTH command with an initial response, and each SASL
 * response line, may be up to 12288 octets with the CRLF. */
#define MAILSEC_SMTP_AUTH_LINE_MAX	12288
/* RFC 5321 4.5.3.1.1-3. */
#define MAILSEC_SMTP_LOCAL_MAX		64
#define MAILSEC_SMTP_DOMAIN_MAX		255
#define MAILSEC_SMTP_PATH_MAX		256
/* RFC 3461 4.4 and 4.2 (length of the decoded values). */
#define MAILSEC_SMTP_ENVID_MAX		100
#define MAILSEC_SMTP_ORCPT_MAX		500
/* RFC 4954 5: the AUTH= mailbox (decoded). */
#define MAILSEC_SMTP_AUTH_PARAM_MAX	500
/* RFC 5321 4.5.3.1.6: a text line in DATA, CRLF included. */
#define MAILSEC_SMTP_TEXT_LINE_MAX	1000
/* RFC 5321 4.5.3.1.5: one reply line, CRLF included. */
#define MAILSEC_SMTP_REPLY_LINE_MAX	512
/* RFC 4616 2: authzid, authcid and passwd are at most 255 octets each. */
#define MAILSEC_SMTP_SASL_FIELD_MAX	255

/* ---- replies ----------------------------------------------------------- */

/* A reply to send: "code status text". status is an RFC 3463 enhanced
 * status code ("5.5.4") or "" where none applies. text is one line (no CR
 * or LF) unless the builder is told otherwise. */
struct mailsec_smtp_reply {
	unsigned code;		/* 250, 501, ...; 0: no reply set */
	char status[12];	/* "5.5.4" or "" */
	char text[200];		/* NUL-terminated, printable ASCII */
};

/*
 * Appends one reply line "code[-| ][status ]text\r\n" to buf (capacity
 * bufsz, *len bytes used so far; NUL-terminated after the call when there
 * is room). last says whether this is the final line ("250 ") or not
 * ("250-"). Bytes of text that are not printable ASCII are written as '?'
 * so peer-supplied text (an EHLO name) cannot break the reply. status may
 * be NULL or "" (none). Returns MAILSEC_ELIMIT, buf unchanged, when the
 * line would exceed MAILSEC_SMTP_REPLY_LINE_MAX or buf; MAILSEC_EINVAL
 * for a code outside 200..599.
 */
MAILSEC_API mailsec_err mailsec_smtp_reply_line(char *buf, size_t bufsz,
    size_t *len, unsigned code, const char *status, const char *text,
    size_t textlen, bool last);

/*
 * Writes reply r: a text holding '\n' becomes a multi-line reply, every
 * line carrying the code and (when enhanced is true and r->status is set)
 * the status code (RFC 2034 3). Same errors as mailsec_smtp_reply_line().
 */
MAILSEC_API mailsec_err mailsec_smtp_reply_write(char *buf, size_t bufsz,
    size_t *len, const struct mailsec_smtp_reply *r, bool enhanced);

/* Fills r (printf-style text, truncated to fit) and returns r->code. */
MAILSEC_API unsigned mailsec_smtp_reply_set(struct mailsec_smtp_reply *r,
    unsigned code, const char *status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* ---- capabilities (EHLO) ----------------------------------------------- */

#define MAILSEC_SMTP_CAP_PIPELINING	0x0001u	/* RFC 2920 */
#define MAILSEC_SMTP_CAP_8BITMIME	0x0002u	/* RFC 1652 */
#define MAILSEC_SMTP_CAP_SMTPUTF8	0x0004u	/* RFC 6531 */
#define MAILSEC_SMTP_CAP_SIZE		0x0008u	/* RFC 1870 */
#define MAILSEC_SMTP_CAP_ENHANCED	0x0010u	/* RFC 2034 */
#define MAILSEC_SMTP_CAP_CHUNKING	0x0020u	/* RFC 3030 */
#define MAILSEC_SMTP_CAP_BINARYMIME	0x0040u	/* RFC 3030 (needs CHUNKING) */
#define MAILSEC_SMTP_CAP_DSN		0x0080u	/* RFC 3461 */
#define MAILSEC_SMTP_CAP_STARTTLS	0x0100u	/* RFC 3207 */
#define MAILSEC_SMTP_CAP_AUTH_PLAIN	0x0200u	/* RFC 4954, 4616 */
#define MAILSEC_SMTP_CAP_AUTH_LOGIN	0x0400u	/* draft-murchison-sasl-login */
#define MAILSEC_SMTP_CAP_AUTH \
	(MAILSEC_SMTP_CAP_AUTH_PLAIN | MAILSEC_SMTP_CAP_AUTH_LOGIN)

struct mailsec_smtp_caps {
	unsigned flags;		/* MAILSEC_SMTP_CAP_* */
	uint64_t size_max;	/* SIZE value; 0 advertises "SIZE" alone */
};

/*
 * Writes the EHLO reply: "250-host greeting" then one line per capability
 * in caps->flags, in a fixed order, the last with "250 ". host must be a
 * domain or address literal; greeting may be NULL. No enhanced status
 * codes: RFC 2034 3 exempts the EHLO reply. Errors as
 * mailsec_smtp_reply_line().
 */
MAILSEC_API mailsec_err mailsec_smtp_ehlo_reply(char *buf, size_t bufsz,
    size_t *len, const char *host, const char *greeting,
    const struct mailsec_smtp_caps *caps);

/* ---- command lines ----------------------------------------------------- */

enum mailsec_smtp_line_status {
	MAILSEC_SMTP_LINE_OK = 0,	/* *line is one command line */
	MAILSEC_SMTP_LINE_NEED_MORE,	/* no complete line yet */
	MAILSEC_SMTP_LINE_TOO_LONG,	/* a line over the limit ended */
	MAILSEC_SMTP_LINE_BARE_LF,	/* a line ended by LF without CR */
	MAILSEC_SMTP_LINE_BARE_CR	/* a line holding a CR not before LF */
};

/*
 * Finds command lines in the bytes the daemon has read. A line ends at
 * the first LF; it is good only when that LF follows a CR and no other CR
 * is in it (RFC 5321 2.3.8: servers MUST NOT take bare CR or LF as line
 * ends). The splitter never needs more than max bytes buffered: a line
 * that grows past max is consumed as it arrives ("too long; discarding
 * until the next LF") and reported once, when its LF comes, so replies
 * stay in step with pipelined commands.
 */
struct mailsec_smtp_lines {
	size_t max;		/* line limit, CRLF included */
	size_t auth_max;	/* limit for a line starting "AUTH " */
	bool discarding;	/* inside a line over the limit */
	uint64_t lines;		/* lines returned (any status but NEED_MORE) */
};

/* max 0 takes MAILSEC_SMTP_LINE_MAX_DEFAULT; auth_max 0 takes
 * MAILSEC_SMTP_AUTH_LINE_MAX (max, if larger). While waiting for SASL
 * responses the daemon sets ls->max to MAILSEC_SMTP_AUTH_LINE_MAX. */
MAILSEC_API void mailsec_smtp_lines_init(struct mailsec_smtp_lines *ls,
    size_t max, size_t auth_max);

/*
 * Looks at the unconsumed input buf[0..len). Always sets *consumed: the
 * bytes the caller must drop from the front of its buffer (also with
 * NEED_MORE, while discarding an over-long line).
 * OK: *line is the line without its CRLF (pointing into buf).
 * BARE_LF, BARE_CR, TOO_LONG: *line is what the line held (for TOO_LONG,
 * only what was still in buf: possibly nothing); the daemon replies
 * (mailsec_smtp_line_reply()) and goes on with the next line.
 * NEED_MORE: keep buf[*consumed..len) and read more; the kept bytes are
 * fewer than the limit in force.
 */
MAILSEC_API enum mailsec_smtp_line_status mailsec_smtp_line_next(
    struct mailsec_smtp_lines *ls, const char *buf, size_t len,
    size_t *consumed, struct mailsec_str *line);

/* The reply for a refused line: 500 5.5.2 (too long: "Line too long";
 * bare CR/LF: "Bare CR or LF not allowed", RFC 5321 2.3.8). Returns
 * false, r untouched, for OK and NEED_MORE. */
MAILSEC_API bool mailsec_smtp_line_reply(enum mailsec_smtp_line_status st,
    struct mailsec_smtp_reply *r);

/* ---- commands ---------------------------------------------------------- */

enum mailsec_smtp_verb {
	MAILSEC_SMTP_UNKNOWN = 0,
	MAILSEC_SMTP_HELO,
	MAILSEC_SMTP_EHLO,
	MAILSEC_SMTP_MAIL,
	MAILSEC_SMTP_RCPT,
	MAILSEC_SMTP_DATA,
	MAILSEC_SMTP_BDAT,
	MAILSEC_SMTP_RSET,
	MAILSEC_SMTP_NOOP,
	MAILSEC_SMTP_QUIT,
	MAILSEC_SMTP_VRFY,
	MAILSEC_SMTP_EXPN,
	MAILSEC_SMTP_HELP,
	MAILSEC_SMTP_STARTTLS,
	MAILSEC_SMTP_AUTH,
	MAILSEC_SMTP_VERB_COUNT
};

/* "EHLO", ...; "UNKNOWN" for MAILSEC_SMTP_UNKNOWN or out of range. */
MAILSEC_API const char *mailsec_smtp_verb_name(enum mailsec_smtp_verb v);

/* What follows "@" in a path, or the EHLO/HELO argument. */
enum mailsec_smtp_host {
	MAILSEC_SMTP_HOST_NONE = 0,	/* <> or <Postmaster> */
	MAILSEC_SMTP_HOST_DOMAIN,	/* LDH labels (U-labels with UTF-8) */
	MAILSEC_SMTP_HOST_IPV4,		/* [192.0.2.1] */
	MAILSEC_SMTP_HOST_IPV6,		/* [IPv6:2001:db8::1] */
	MAILSEC_SMTP_HOST_GENERAL	/* [tag:content], RFC 5321 4.1.3 */
};

/* A reverse-path or forward-path (RFC 5321 4.1.2); a source route
 * ("<@a,@b:u@c>") is accepted and dropped (RFC 5321 C). */
struct mailsec_smtp_path {
	bool null;		/* "<>" (reverse-path only) */
	bool postmaster;	/* "<Postmaster>", no domain (RCPT only,
				   RFC 5321 4.1.1.3; any case) */
	bool quoted;		/* local part was a Quoted-string */
	bool utf8;		/* non-ASCII bytes in local part or domain */
	enum mailsec_smtp_host host;
	size_t local_len;
	char local[MAILSEC_SMTP_LOCAL_MAX + 1];	  /* quoting removed:
						     "a\"b c" -> a"b c */
	size_t domain_len;
	char domain[MAILSEC_SMTP_DOMAIN_MAX + 1]; /* as written; literals
						     keep their brackets */
};

/* BODY= (RFC 1652, RFC 3030). */
enum mailsec_smtp_body {
	MAILSEC_SMTP_BODY_NONE = 0,
	MAILSEC_SMTP_BODY_7BIT,
	MAILSEC_SMTP_BODY_8BITMIME,
	MAILSEC_SMTP_BODY_BINARYMIME
};

/* RET= (RFC 3461 4.3). */
enum mailsec_smtp_ret {
	MAILSEC_SMTP_RET_NONE = 0,
	MAILSEC_SMTP_RET_FULL,
	MAILSEC_SMTP_RET_HDRS
};

/* NOTIFY= bits (RFC 3461 4.1). */
#define MAILSEC_SMTP_NOTIFY_NEVER	0x1u
#define MAILSEC_SMTP_NOTIFY_SUCCESS	0x2u
#define MAILSEC_SMTP_NOTIFY_FAILURE	0x4u
#define MAILSEC_SMTP_NOTIFY_DELAY	0x8u

/* Which parameters a command carried (params.present). */
#define MAILSEC_SMTP_P_SIZE	0x01u
#define MAILSEC_SMTP_P_BODY	0x02u
#define MAILSEC_SMTP_P_SMTPUTF8	0x04u
#define MAILSEC_SMTP_P_RET	0x08u
#define MAILSEC_SMTP_P_ENVID	0x10u
#define MAILSEC_SMTP_P_NOTIFY	0x20u
#define MAILSEC_SMTP_P_ORCPT	0x40u
#define MAILSEC_SMTP_P_AUTH	0x80u

/* ESMTP parameters of MAIL and RCPT, xtext values decoded (RFC 3461 4). */
struct mailsec_smtp_params {
	unsigned present;		/* MAILSEC_SMTP_P_* */
	uint64_t size;			/* SIZE= (UINT64_MAX if larger) */
	enum mailsec_smtp_body body;	/* BODY= */
	enum mailsec_smtp_ret ret;	/* RET= */
	unsigned notify;		/* NOTIFY= bits */
	size_t envid_len;
	char envid[MAILSEC_SMTP_ENVID_MAX + 1];		/* ENVID= */
	size_t orcpt_type_len;
	char orcpt_type[32];				/* "rfc822" */
	size_t orcpt_len;
	char orcpt[MAILSEC_SMTP_ORCPT_MAX + 1];		/* ORCPT= address */
	size_t auth_len;
	char auth[MAILSEC_SMTP_AUTH_PARAM_MAX + 1];	/* AUTH= mailbox,
							   "<>" kept */
};

/* SASL mechanisms (AUTH command). */
enum mailsec_smtp_sasl_mech {
	MAILSEC_SMTP_SASL_OTHER = 0,
	MAILSEC_SMTP_SASL_PLAIN,
	MAILSEC_SMTP_SASL_LOGIN
};

/* One parsed command. Views point into the line given to the parser. */
struct mailsec_smtp_cmd {
	enum mailsec_smtp_verb verb;
	struct mailsec_str verb_text;	/* as written */
	struct mailsec_str arg;		/* after the verb and one SP, trailing
					   WSP removed; empty if none */
	/* EHLO, HELO */
	enum mailsec_smtp_host helo_host;
	/* MAIL, RCPT */
	struct mailsec_smtp_path path;
	struct mailsec_smtp_params params;
	/* BDAT */
	uint64_t bdat_size;
	bool bdat_last;
	/* AUTH */
	enum mailsec_smtp_sasl_mech auth_mech;
	struct mailsec_str auth_mech_text;
	bool auth_has_ir;		/* an initial response was given */
	struct mailsec_str auth_ir;	/* as written ("=" for empty) */
	/* set when parsing failed */
	struct mailsec_smtp_reply reply;
};

/* What the parser needs to know about the session. */
struct mailsec_smtp_parse_opts {
	unsigned caps;		/* advertised MAILSEC_SMTP_CAP_*: a parameter
				   of an extension not advertised is
				   refused (555 5.5.4); 0 after HELO */
	uint64_t size_max;	/* MAIL SIZE= above it: 552 5.3.4; 0: none */
	bool smtputf8;		/* RCPT: the MAIL command had SMTPUTF8 */
};

/*
 * Parses one command line (without CRLF). NULL opts means no extensions.
 * On success (MAILSEC_OK) *cmd describes the command; an unknown verb is
 * not an error of this call: verb is MAILSEC_SMTP_UNKNOWN and cmd->reply
 * is 500 5.5.2. Otherwise returns MAILSEC_ESYNTAX (501 5.5.4 argument
 * syntax, 500 5.5.2 control bytes or 8-bit bytes outside paths, 553 5.1.7
 * / 5.1.3 bad sender / recipient, 550 / 553 5.6.7 UTF-8 address without
 * SMTPUTF8, 504 5.5.4 unknown AUTH mechanism), MAILSEC_EUNSUPPORTED (555
 * 5.5.4 unknown or unadvertised parameter), MAILSEC_ELIMIT (501 5.5.4 /
 * 553 over-long part, 552 5.3.4 SIZE too large); cmd->verb is still set
 * and cmd->reply holds what to send. diag (optional) gets the byte
 * offset and reason. MAILSEC_EINVAL: line NULL with len > 0, or cmd NULL.
 */
MAILSEC_API mailsec_err mailsec_smtp_cmd_parse(const char *line, size_t len,
    const struct mailsec_smtp_parse_opts *opts, struct mailsec_smtp_cmd *cmd,
    struct mailsec_diag *diag);

/*
 * Parses a path "<...>" alone (RFC 5321 4.1.2; MAIL and RCPT call it).
 * allow_null admits "<>", allow_postmaster "<Postmaster>", allow_utf8
 * non-ASCII (RFC 6531 3.3; without it non-ASCII is ESYNTAX). Errors:
 * MAILSEC_ESYNTAX, MAILSEC_ELIMIT (RFC 5321 4.5.3.1 lengths).
 */
MAILSEC_API mailsec_err mailsec_smtp_path_parse(const char *p, size_t len,
    bool allow_null, bool allow_postmaster, bool allow_utf8,
    struct mailsec_smtp_path *out, struct mailsec_diag *diag);

/*
 * Decodes xtext (RFC 3461 4): xchar is '!'..'~' but '+' and '=', and
 * "+XX" with two upper-case hex digits is one octet. Writes at most
 * outsz - 1 bytes and a NUL; *outlen gets the decoded length. ESYNTAX on
 * a bad byte or hexchar, ELIMIT when out is too small.
 */
MAILSEC_API mailsec_err mailsec_smtp_xtext_decode(const char *p, size_t len,
    char *out, size_t outsz, size_t *outlen);

/* ---- DATA and BDAT streams --------------------------------------------- */

/*
 * Receives the unstuffed message bytes. Returning anything but MAILSEC_OK
 * stops further calls for this message (the stream is still drained to
 * its end) and the error is kept in the decoder.
 */
typedef mailsec_err (*mailsec_smtp_sink)(void *arg, const char *p,
    size_t len);

/* Findings (mailsec_smtp_data.flags). */
#define MAILSEC_SMTP_DATA_BARE_LF	0x01u	/* LF not after CR */
#define MAILSEC_SMTP_DATA_BARE_CR	0x02u	/* CR not before LF */
#define MAILSEC_SMTP_DATA_TOO_BIG	0x04u	/* over size_max */
#define MAILSEC_SMTP_DATA_LONG_LINE	0x08u	/* a line over line_max */
#define MAILSEC_SMTP_DATA_8BIT		0x10u	/* a byte >= 0x80 */
#define MAILSEC_SMTP_DATA_NUL		0x20u	/* a NUL byte */
#define MAILSEC_SMTP_DATA_SINK_ERR	0x40u	/* the sink failed */
#define MAILSEC_SMTP_DATA_NO_FINAL_CRLF	0x80u	/* BDAT: the message does
						   not end with CRLF */

enum mailsec_smtp_data_mode {
	MAILSEC_SMTP_MODE_DATA = 0,	/* after "354": dot-stuffed, ends at
					   CRLF "." CRLF */
	MAILSEC_SMTP_MODE_BDAT,		/* RFC 3030 chunks, exact sizes */
	MAILSEC_SMTP_MODE_BDAT_BINARY	/* BODY=BINARYMIME: bare CR and LF
					   are data, not errors */
};

struct mailsec_smtp_data_opts {
	enum mailsec_smtp_data_mode mode;
	uint64_t size_max;	/* message bytes; 0: no limit */
	size_t line_max;	/* CRLF included; 0: TEXT_LINE_MAX */
	mailsec_smtp_sink sink;	/* may be NULL (bytes are counted only) */
	void *sink_arg;
};

/* The decoder; fields below "read-only" are for the caller to read. */
struct mailsec_smtp_data {
	struct mailsec_smtp_data_opts opts;
	int state;		/* private */
	/* read-only */
	bool done;		/* DATA: end seen; BDAT: LAST chunk complete */
	unsigned flags;		/* MAILSEC_SMTP_DATA_* */
	uint64_t size;		/* message bytes (unstuffed, end marker not
				   counted), also beyond size_max */
	uint64_t wire;		/* bytes consumed from the stream */
	uint64_t bad_offset;	/* wire offset of the first bare CR/LF */
	size_t line_len;	/* current line (private) */
	size_t longest_line;	/* longest line seen, CRLF excluded */
	mailsec_err sink_err;	/* what the sink returned */
	/* BDAT */
	uint64_t chunk_left;	/* bytes still due in this chunk */
	uint64_t chunks;	/* BDAT commands taken */
	bool last;		/* the LAST chunk was announced */
};

/* Starts a message. NULL opts: DATA mode, no size limit, no sink. */
MAILSEC_API void mailsec_smtp_data_init(struct mailsec_smtp_data *d,
    const struct mailsec_smtp_data_opts *opts);

/*
 * Feeds stream bytes. DATA mode: consumes up to and including the
 * terminating CRLF "." CRLF (bytes after it are the next commands and are
 * left: *consumed < len) and sets d->done. A bare CR or LF anywhere makes
 * the message invalid but never ends it: only CRLF "." CRLF does (RFC 5321
 * 4.1.1.4; the SMTP smuggling family, CVE-2023-51764). BDAT modes: consumes
 * at most d->chunk_left bytes. Once the message is refused (bare CR/LF in
 * a text mode, over size_max, the sink failed) the sink is no longer
 * called but bytes are still consumed and counted. Returns MAILSEC_OK, or
 * MAILSEC_ESTATE when done already (DATA) or no chunk is open (BDAT);
 * MAILSEC_EINVAL for NULL arguments.
 */
MAILSEC_API mailsec_err mailsec_smtp_data_feed(struct mailsec_smtp_data *d,
    const char *p, size_t len, size_t *consumed);

/*
 * BDAT modes: opens the next chunk of size octets (the BDAT command's
 * argument). ESTATE if the previous chunk is not complete, LAST was seen,
 * or the mode is DATA. A chunk of size 0 completes at once (with last,
 * the message is done).
 */
MAILSEC_API mailsec_err mailsec_smtp_bdat_chunk(struct mailsec_smtp_data *d,
    uint64_t size, bool last);

/*
 * The verdict so far (DATA: call once d->done; BDAT: after each chunk).
 * Returns true when the message may be accepted; false with r filled:
 * bare CR/LF 554 5.6.0 (text names the offending byte), too big 552
 * 5.3.4, sink failure 451 4.3.0. Long lines, 8-bit and NUL bytes are only
 * reported in d->flags (the caller's policy).
 */
MAILSEC_API bool mailsec_smtp_data_verdict(const struct mailsec_smtp_data *d,
    struct mailsec_smtp_reply *r);

/* ---- SASL (AUTH PLAIN, AUTH LOGIN) ------------------------------------- */

/* Credentials as decoded; NUL-terminated copies. Wipe with
 * mailsec_smtp_sasl_clear(). */
struct mailsec_smtp_sasl_creds {
	size_t authzid_len;	/* 0: act as authcid (RFC 4616 2) */
	char authzid[MAILSEC_SMTP_SASL_FIELD_MAX + 1];
	size_t authcid_len;
	char authcid[MAILSEC_SMTP_SASL_FIELD_MAX + 1];
	size_t passwd_len;
	char passwd[MAILSEC_SMTP_SASL_FIELD_MAX + 1];
};

enum mailsec_smtp_sasl_status {
	MAILSEC_SMTP_SASL_CONTINUE = 0,	/* send "334 " + *challenge */
	MAILSEC_SMTP_SASL_DONE,		/* creds complete: verify them */
	MAILSEC_SMTP_SASL_FAILED,	/* send *reply (501 ...) */
	MAILSEC_SMTP_SASL_CANCELLED	/* "*": send *reply (501 5.7.0) */
};

struct mailsec_smtp_sasl {
	enum mailsec_smtp_sasl_mech mech;
	int step;			/* private */
	struct mailsec_smtp_sasl_creds creds;
};

/*
 * Starts an exchange for mech (PLAIN or LOGIN; OTHER fails with 504
 * 5.5.4). ir is the initial response of the AUTH command when has_ir
 * ("=" means empty, RFC 4954 4). *challenge receives the base64 text to
 * send after "334 " (static storage) when CONTINUE. r receives the reply
 * for FAILED and CANCELLED.
 */
MAILSEC_API enum mailsec_smtp_sasl_status mailsec_smtp_sasl_start(
    struct mailsec_smtp_sasl *s, enum mailsec_smtp_sasl_mech mech,
    const char *ir, size_t irlen, bool has_ir, const char **challenge,
    struct mailsec_smtp_reply *r);

/* Takes one client response line (without CRLF). */
MAILSEC_API enum mailsec_smtp_sasl_status mailsec_smtp_sasl_step(
    struct mailsec_smtp_sasl *s, const char *line, size_t len,
    const char **challenge, struct mailsec_smtp_reply *r);

/*
 * Decodes an RFC 4616 PLAIN message (base64 of authzid NUL authcid NUL
 * passwd) into creds. Strict base64 (RFC 4954 4: no whitespace, padding
 * only at the end); authcid and passwd 1..255 octets, authzid 0..255, each
 * UTF-8 without NUL. ESYNTAX with r set (501 5.5.2 base64, 501 5.5.4
 * message form) on failure; creds wiped.
 */
MAILSEC_API mailsec_err mailsec_smtp_sasl_plain_decode(const char *b64,
    size_t len, struct mailsec_smtp_sasl_creds *creds,
    struct mailsec_smtp_reply *r);

/* Wipes the credentials (explicit_bzero). */
MAILSEC_API void mailsec_smtp_sasl_clear(struct mailsec_smtp_sasl *s);

/* ---- session sequencing ------------------------------------------------ */

enum mailsec_smtp_state {
	MAILSEC_SMTP_ST_GREETING = 0,	/* connected, no EHLO/HELO yet */
	MAILSEC_SMTP_ST_READY,		/* EHLO/HELO done, no transaction */
	MAILSEC_SMTP_ST_MAIL,		/* MAIL accepted */
	MAILSEC_SMTP_ST_RCPT,		/* one or more RCPT accepted */
	MAILSEC_SMTP_ST_DATA,		/* after 354, reading DATA */
	MAILSEC_SMTP_ST_BDAT,		/* between BDAT chunks */
	MAILSEC_SMTP_ST_QUIT		/* QUIT accepted, closing */
};

/* "greeting", "ready", "mail", "rcpt", "data", "bdat", "quit". */
MAILSEC_API const char *mailsec_smtp_state_name(enum mailsec_smtp_state st);

/* Session flags. */
#define MAILSEC_SMTP_S_TLS		0x01u	/* TLS is active */
#define MAILSEC_SMTP_S_AUTH		0x02u	/* authenticated */
#define MAILSEC_SMTP_S_EHLO		0x04u	/* EHLO (not HELO) was used */
#define MAILSEC_SMTP_S_TLS_REQUIRED	0x08u	/* MAIL and AUTH only in TLS
						   (submission, RFC 8314) */
#define MAILSEC_SMTP_S_AUTH_REQUIRED	0x10u	/* MAIL only after AUTH */
#define MAILSEC_SMTP_S_BDAT_FAILED	0x20u	/* a BDAT chunk was refused:
						   drain BDATs until RSET */
#define MAILSEC_SMTP_S_SMTPUTF8		0x40u	/* MAIL had SMTPUTF8 */

struct mailsec_smtp_session {
	enum mailsec_smtp_state state;
	unsigned flags;		/* MAILSEC_SMTP_S_* */
	unsigned caps;		/* what the daemon may offer, before
				   mailsec_smtp_session_caps() trims it */
	uint64_t size_max;
	uint64_t nrcpt;		/* RCPTs accepted in this transaction */
	uint64_t rcpt_max;	/* 0: no limit */
	bool bdat_last;		/* BDAT LAST seen in this transaction */
};

/* Starts a session in GREETING with the capabilities the listener may
 * offer and the flags in force (TLS for implicit TLS, *_REQUIRED). */
MAILSEC_API void mailsec_smtp_session_init(struct mailsec_smtp_session *s,
    unsigned caps, unsigned flags, uint64_t size_max, uint64_t rcpt_max);

/* The capabilities to advertise now: STARTTLS only before TLS, AUTH only
 * when TLS is active or not required and not yet authenticated. */
MAILSEC_API unsigned mailsec_smtp_session_caps(
    const struct mailsec_smtp_session *s);

/* Options for mailsec_smtp_cmd_parse() in the session's current state. */
MAILSEC_API void mailsec_smtp_session_parse_opts(
    const struct mailsec_smtp_session *s,
    struct mailsec_smtp_parse_opts *opts);

/*
 * Says whether cmd (parsed successfully) is allowed now. Returns true, or
 * false with r set: 503 5.5.1 bad sequence (MAIL before EHLO, nested MAIL,
 * RCPT before MAIL, DATA before RCPT, DATA after BDAT, BDAT after LAST,
 * AUTH twice or inside a transaction, STARTTLS under TLS), 502 5.5.1 for
 * an extension not offered (STARTTLS, AUTH, BDAT), 530 5.7.0 STARTTLS or
 * AUTH required, 538 5.7.11 AUTH needs TLS, 452 4.5.3 too many
 * recipients, 554 5.5.1 BDAT after a failed chunk (drain it).
 */
MAILSEC_API bool mailsec_smtp_session_check(
    const struct mailsec_smtp_session *s, const struct mailsec_smtp_cmd *cmd,
    struct mailsec_smtp_reply *r);

/*
 * Records that the daemon accepted cmd (replied 2xx/3xx; for DATA, after
 * the 354; for BDAT, once the chunk's data was taken). EHLO/HELO and
 * RSET end the transaction; MAIL starts one; RCPT counts; DATA enters
 * ST_DATA; BDAT enters ST_BDAT or, after LAST, ends the transaction;
 * QUIT enters ST_QUIT.
 */
MAILSEC_API void mailsec_smtp_session_accept(struct mailsec_smtp_session *s,
    const struct mailsec_smtp_cmd *cmd);

/* The message ended (DATA end seen or BDAT LAST taken), whatever the
 * verdict: back to READY with the transaction cleared. */
MAILSEC_API void mailsec_smtp_session_end_message(
    struct mailsec_smtp_session *s);

/*
 * TLS came up after "220 Ready to start TLS" (RFC 3207 4.2): the session
 * returns to GREETING with EHLO and AUTH forgotten, TLS set. Returns true
 * when the caller must discard the buffered_after bytes it already read
 * after the STARTTLS line (they came in clear text: CVE-2011-0411 class);
 * the caller should log it.
 */
MAILSEC_API bool mailsec_smtp_session_starttls(
    struct mailsec_smtp_session *s, size_t buffered_after);

/*
 * RFC 2920 3.1: EHLO, DATA, VRFY, EXPN, NOOP, QUIT, STARTTLS and AUTH
 * must end a pipelined group; without PIPELINING (HELO session) every
 * command must. Returns true when buffered_after bytes already waiting
 * after cmd's line violate that (pipelining or early talking); the daemon
 * decides between logging and refusing.
 */
MAILSEC_API bool mailsec_smtp_session_sync_error(
    const struct mailsec_smtp_session *s, const struct mailsec_smtp_cmd *cmd,
    size_t buffered_after);

#ifdef __cplusplus
}
#endif
#endif /* MAILSEC_SMTP_H */
